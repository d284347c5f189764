/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrl_helpers.h"
#include "kclient_local.h"

void cenv_start(struct cenv *e, const char *controllers, const struct api_config *acfg,
		const struct ctrl_config *cfg)
{
	const char *t = getenv("CTRL_TRANSPORT");
	struct api_config a = acfg ? *acfg : (struct api_config){0};
	int err;

	memset(e, 0, sizeof(*e));
	if (!a.bookmark_interval_s)
		a.bookmark_interval_s = 1;
	ksrv_start(&e->k, &a);
	if (t && strcmp(t, "http") == 0)
		e->ctrl_c = kc_plain_client(e->k.t.base);
	else
		e->ctrl_c =
		    kclient_local_new(api_server_registry(e->k.t.s),
				      &(struct kclient_local_opts){.bookmark_interval_s = 1});
	assert_non_null(e->ctrl_c);
	kclient_set_field_manager(e->ctrl_c, "kube-controller-manager");
	if (cfg)
		e->cfg = *cfg;
	/* as drover server does: the controllers know the server's own address */
	if (!e->cfg.apiserver_ip) {
		e->cfg.apiserver_ip = "127.0.0.1";
		e->cfg.apiserver_port = api_server_port(e->k.t.s);
	}
	e->cfg.controllers = controllers;
	if (!e->cfg.component)
		e->cfg.component = "drover-controller-manager";
	err = ctrl_manager_start(e->ctrl_c, &e->cfg, &e->m);
	assert_int_equal(err, 0);
}

void cenv_stop(struct cenv *e)
{
	ctrl_manager_stop(e->m);
	kclient_free(e->ctrl_c);
	ksrv_stop(&e->k);
}

void cenv_create(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *json)
{
	kc_make(e->k.c, k, ns, json);
}

struct jv *cenv_get(struct cenv *e, struct jv_doc *d, const struct k8s_kind *k, const char *ns,
		    const char *name)
{
	struct kc_obj *o = NULL;
	struct kc_status st;
	struct jv *t;

	if (kc_get(e->k.c, k, ns, name, &o, &st) != 0)
		return NULL;
	t = kc_obj_parse(o, d);
	kc_obj_put(o);
	return t;
}

struct jv **cenv_list(struct cenv *e, struct jv_doc *d, const struct k8s_kind *k, const char *ns,
		      const char *label_selector, size_t *n)
{
	struct kc_list_opts o = {.label_selector = label_selector};
	struct kc_list l;
	struct kc_status st;
	struct jv **out;
	int err = kc_list(e->k.c, k, ns, &o, &l, &st);

	if (err)
		fail_msg("list %s: %s: %s", k->resource, kc_strerror(err), st.message);
	out = jv_alloc(d, (l.count + 1) * sizeof(*out));
	assert_non_null(out);
	for (size_t i = 0; i < l.count; i++)
		out[i] = kc_obj_parse(l.items[i], d);
	*n = l.count;
	kc_list_free(&l);
	return out;
}

size_t cenv_count(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *sel)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;

	cenv_list(e, d, k, ns, sel, &n);
	jv_doc_free(d);
	return n;
}

const char *cenv_controller(struct cenv *e, const struct k8s_kind *k, const char *ns,
			    const char *name, char *buf, size_t len)
{
	struct jv_doc *d = jv_doc_new();
	const struct jv *refs = jv_path(cenv_get(e, d, k, ns, name), "metadata.ownerReferences");

	buf[0] = 0;
	for (const struct jv *r = jv_first(refs); r; r = r->next)
		if (jv_get(r, "controller") && jv_get(r, "controller")->type == JV_TRUE)
			snprintf(buf, len, "%s/%s/%s%s", jv_path_str(r, "kind") ?: "",
				 jv_path_str(r, "name") ?: "", jv_path_str(r, "uid") ?: "",
				 jv_get(r, "blockOwnerDeletion") &&
					 jv_get(r, "blockOwnerDeletion")->type == JV_TRUE
				     ? " block"
				     : "");
	jv_doc_free(d);
	return buf;
}

bool cenv_controlled_by(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
			const char *want)
{
	char buf[512];

	return strcmp(cenv_controller(e, k, ns, name, buf, sizeof(buf)), want) == 0;
}

static void status_patch(struct cenv *e, const char *ns, const char *name, const char *patch)
{
	struct kc_status st;
	int err = kc_patch(e->k.c, kind_pod(), ns, name, "status", KC_PATCH_MERGE, patch,
			   strlen(patch), NULL, NULL, &st);

	if (err)
		fail_msg("pod %s/%s status: %s: %s", ns, name, kc_strerror(err), st.message);
}

void cenv_pod_run(struct cenv *e, const char *ns, const char *name, const char *node, bool ready)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = cenv_get(e, d, kind_pod(), ns, name);
	char now[32], patch[2048];
	time_t t = time(NULL);
	struct tm tm;

	assert_non_null(pod);
	if (!jv_path_str(pod, "spec.nodeName")) {
		struct kc_status st;
		int err = kc_bind(e->k.c, ns, name, NULL, node, &st);

		if (err)
			fail_msg("bind %s/%s: %s", ns, name, st.message);
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.9\",\"startTime\":\"%s\","
		 "\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"},"
		 "{\"type\":\"Initialized\",\"status\":\"True\"},"
		 "{\"type\":\"ContainersReady\",\"status\":\"%s\"},"
		 "{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
		 now, ready ? "True" : "False", ready ? "True" : "False", now);
	status_patch(e, ns, name, patch);
	jv_doc_free(d);
}

void cenv_pod_finish(struct cenv *e, const char *ns, const char *name, const char *phase)
{
	char patch[512];

	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"phase\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
		 "\"False\",\"reason\":\"PodCompleted\"}]}}",
		 phase);
	status_patch(e, ns, name, patch);
}

size_t cenv_pods_run_all(struct cenv *e, const char *ns, const char *sel, const char *node)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, changed = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), ns, sel, &n);

	for (size_t i = 0; i < n; i++) {
		const char *phase = jv_path_str(pods[i], "status.phase");
		bool ready = false;

		for (const struct jv *c = jv_first(jv_path(pods[i], "status.conditions")); c;
		     c = c->next)
			if (jv_is_str(jv_get(c, "type"), "Ready") &&
			    jv_is_str(jv_get(c, "status"), "True"))
				ready = true;
		if (ready || jv_path(pods[i], "metadata.deletionTimestamp") ||
		    (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
			continue;
		cenv_pod_run(e, jv_path_str(pods[i], "metadata.namespace"),
			     jv_path_str(pods[i], "metadata.name"), node, true);
		changed++;
	}
	jv_doc_free(d);
	return changed;
}

void cenv_node(struct cenv *e, const char *name, int cpu, int pods, const char *labels_json)
{
	char json[2048];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"status\":{\"capacity\":{\"cpu\":"
		 "\"%d\",\"memory\":\"64Gi\",\"pods\":\"%d\"},\"allocatable\":{\"cpu\":\"%d\","
		 "\"memory\":\"64Gi\",\"pods\":\"%d\"},\"conditions\":[{\"type\":\"Ready\","
		 "\"status\":\"True\"}]}}",
		 name, labels_json ? labels_json : "{}", cpu, pods, cpu, pods);
	kc_make(e->k.c, k8s_kind_find("v1", "Node"), NULL, json);
}

int cenv_lease_renew(struct cenv *e, const char *node)
{
	const struct k8s_kind *k = k8s_kind_find("coordination.k8s.io/v1", "Lease");
	char now[40], json[1024];
	struct kc_status st;
	struct timespec ts;
	struct tm tm;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(now + strlen(now), sizeof(now) - strlen(now), ".%06ldZ", ts.tv_nsec / 1000);
	snprintf(json, sizeof(json), "{\"spec\":{\"renewTime\":\"%s\"}}", now);
	err = kc_patch(e->k.c, k, "kube-node-lease", node, NULL, KC_PATCH_MERGE, json, strlen(json),
		       NULL, NULL, &st);
	if (err != -ENOENT)
		return err;
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
		 "\"name\":\"%s\",\"namespace\":\"kube-node-lease\"},\"spec\":{\"holderIdentity\":"
		 "\"%s\",\"leaseDurationSeconds\":40,\"renewTime\":\"%s\"}}",
		 node, node, now);
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *obj = d ? jv_parse(d, json, strlen(json), NULL) : NULL;

		err = obj ? kc_create(e->k.c, k, "kube-node-lease", obj, NULL, NULL, &st) : -ENOMEM;
		jv_doc_free(d);
	}
	return err;
}

int cenv_node_status(struct cenv *e, const char *node, const char *status)
{
	char now[32], patch[2048];
	struct kc_status st;
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(
	    patch, sizeof(patch),
	    "{\"status\":{\"conditions\":["
	    "{\"type\":\"MemoryPressure\",\"status\":\"False\",\"reason\":"
	    "\"KubeletHasSufficientMemory\",\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":"
	    "\"%s\"},"
	    "{\"type\":\"DiskPressure\",\"status\":\"False\",\"reason\":"
	    "\"KubeletHasNoDiskPressure\","
	    "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\"},"
	    "{\"type\":\"PIDPressure\",\"status\":\"False\",\"reason\":\"KubeletHasSufficientPID\","
	    "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\"},"
	    "{\"type\":\"Ready\",\"status\":\"%s\",\"reason\":\"%s\",\"lastHeartbeatTime\":"
	    "\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
	    now, now, now, now, now, now, status,
	    strcmp(status, "True") == 0 ? "KubeletReady" : "KubeletNotReady", now, now);
	return kc_patch(e->k.c, k8s_kind_find("v1", "Node"), NULL, node, "status", KC_PATCH_MERGE,
			patch, strlen(patch), NULL, NULL, &st);
}
