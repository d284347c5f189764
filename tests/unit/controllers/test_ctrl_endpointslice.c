/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_endpointslice: the EndpointSlice and Endpoints controllers: slices follow their
 * pods' readiness and deletion (terminating endpoints stay serving), named ports resolve per
 * pod into slices of their own, 250 pods make 3 slices of at most 100 and a change to one
 * pod rewrites only its slice, Services without a selector are left alone, the `kubernetes`
 * Service carries the server's address, and a pod on an unknown node leaves an Event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "ctrl_helpers.h"

#define NS "default"

static const struct k8s_kind *k_slice(void)
{
	return k8s_kind_find("discovery.k8s.io/v1", "EndpointSlice");
}

static const struct k8s_kind *k_svc(void)
{
	return k8s_kind_find("v1", "Service");
}

static const struct k8s_kind *k_ep(void)
{
	return k8s_kind_find("v1", "Endpoints");
}

/* A pod with one container whose named ports are ports_json. */
static void pod_make(struct cenv *e, const char *name, const char *app, const char *ports_json)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}},\"spec\":{"
		 "\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"ports\":%s}]}}",
		 name, app, ports_json ? ports_json : "[]");
	cenv_create(e, kind_pod(), NS, json);
}

/* The kubelet's part with an IP of our choosing: bound to node, Running, Ready or not. */
static void pod_up(struct cenv *e, const char *name, const char *node, const char *ip, bool ready)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = cenv_get(e, d, kind_pod(), NS, name);
	struct kc_status st;
	char patch[1024], now[32];
	time_t t = time(NULL);
	struct tm tm;
	int err;

	assert_non_null(pod);
	if (!jv_path_str(pod, "spec.nodeName"))
		assert_int_equal(kc_bind(e->k.c, NS, name, NULL, node, &st), 0);
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"phase\":\"Running\",\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}],"
		 "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":"
		 "\"%s\"}]}}",
		 ip, ip, ready ? "True" : "False", now);
	err = kc_patch(e->k.c, kind_pod(), NS, name, "status", KC_PATCH_MERGE, patch, strlen(patch),
		       NULL, NULL, &st);
	if (err)
		fail_msg("pod %s status: %s", name, st.message);
	jv_doc_free(d);
}

static void svc_make(struct cenv *e, const char *name, const char *spec_json)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"tier\":\"web\"}},"
		 "\"spec\":%s}",
		 name, spec_json);
	cenv_create(e, k_svc(), NS, json);
}

static struct jv **slices_of(struct cenv *e, struct jv_doc *d, const char *svc, size_t *n)
{
	char sel[128];

	snprintf(sel, sizeof(sel), "kubernetes.io/service-name=%s", svc);
	return cenv_list(e, d, k_slice(), NS, sel, n);
}

/* The endpoint of pod in any slice of svc (its slice in *slice), or NULL. */
static struct jv *endpoint_of(struct jv **slices, size_t n, const char *pod, struct jv **slice)
{
	for (size_t i = 0; i < n; i++)
		for (struct jv *ep = jv_first(jv_get(slices[i], "endpoints")); ep; ep = ep->next)
			if (jv_is_str(jv_path(ep, "targetRef.name"), pod)) {
				if (slice)
					*slice = slices[i];
				return ep;
			}
	return NULL;
}

static size_t endpoints_total(struct jv **slices, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += jv_count(jv_get(slices[i], "endpoints"));
	return total;
}

static int64_t ival(const struct jv *v, const char *path)
{
	int64_t n = -1;

	return jv_path_int(v, path, &n) == 0 ? n : -1;
}

static bool cond_is(const struct jv *ep, const char *cond, bool want)
{
	const struct jv *c = jv_path(ep, cond);

	return c && c->type == (want ? JV_TRUE : JV_FALSE);
}

/* The endpoint of pod in svc's slices has these conditions (-1: no such endpoint). */
static bool ep_state(struct cenv *e, const char *svc, const char *pod, int ready, int serving,
		     int terminating)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **s = slices_of(e, d, svc, &n);
	struct jv *ep = endpoint_of(s, n, pod, NULL);
	bool ok = ready < 0 ? ep == NULL
			    : ep && cond_is(ep, "conditions.ready", ready) &&
				  cond_is(ep, "conditions.serving", serving) &&
				  cond_is(ep, "conditions.terminating", terminating);

	jv_doc_free(d);
	return ok;
}

static size_t total_of(struct cenv *e, const char *svc)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, total;
	struct jv **s = slices_of(e, d, svc, &n);

	total = endpoints_total(s, n);
	jv_doc_free(d);
	return total;
}

/* The Endpoints object of svc has these addresses (comma-separated names of ready and
 * not-ready pods, in the controller's order). */
static bool endpoints_are(struct cenv *e, const char *svc, const char *ready, const char *notready)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *ep = cenv_get(e, d, k_ep(), NS, svc);
	char r[512] = "", nr[512] = "";
	bool ok;

	for (const struct jv *ss = jv_first(jv_get(ep, "subsets")); ss; ss = ss->next) {
		for (const struct jv *a = jv_first(jv_get(ss, "addresses")); a; a = a->next)
			snprintf(r + strlen(r), sizeof(r) - strlen(r), "%s%s", r[0] ? "," : "",
				 jv_path_str(a, "targetRef.name"));
		for (const struct jv *a = jv_first(jv_get(ss, "notReadyAddresses")); a; a = a->next)
			snprintf(nr + strlen(nr), sizeof(nr) - strlen(nr), "%s%s", nr[0] ? "," : "",
				 jv_path_str(a, "targetRef.name"));
	}
	ok = ep && strcmp(r, ready) == 0 && strcmp(nr, notready) == 0;
	jv_doc_free(d);
	return ok;
}

static void set_ready(struct cenv *e, const char *pod, bool ready)
{
	char patch[256];
	struct kc_status st;

	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
		 ready ? "True" : "False");
	assert_int_equal(kc_patch(e->k.c, kind_pod(), NS, pod, "status", KC_PATCH_MERGE, patch,
				  strlen(patch), NULL, NULL, &st),
			 0);
}

/* The server a test starts, stopped by the teardown whether the test passed or not. */
struct fx {
	struct cenv e;
	bool up;
};

static int fx_setup(void **state)
{
	*state = calloc(1, sizeof(struct fx));
	return *state ? 0 : -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->up)
		cenv_stop(&f->e);
	free(f);
	return 0;
}

static struct cenv *fx_start(void **state, const char *controllers, const struct ctrl_config *cfg)
{
	struct fx *f = *state;

	cenv_start(&f->e, controllers, NULL, cfg);
	f->up = true;
	return &f->e;
}

static void test_slices_follow_pods(void **state)
{
	struct cenv *e;
	struct jv_doc *d;
	struct jv **s, *ep, *svc, *slice;
	struct kc_delete_opts del = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	size_t n;
	char prefix[8];

	e = fx_start(state, "endpointslice,endpoint", NULL);
	cenv_node(e, "n1", 8, 110, "{\"topology.kubernetes.io/zone\":\"z1\"}");
	svc_make(e, "web",
		 "{\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,"
		 "\"targetPort\":\"http\"}]}");
	pod_make(e, "web-1", "web", "[{\"name\":\"http\",\"containerPort\":8080}]");
	pod_make(e, "web-2", "web", "[{\"name\":\"http\",\"containerPort\":8080}]");
	pod_up(e, "web-1", "n1", "10.1.0.1", true);
	pod_up(e, "web-2", "n1", "10.1.0.2", true);
	assert_true(
	    WAIT_UNTIL(ep_state(e, "web", "web-1", 1, 1, 0) && ep_state(e, "web", "web-2", 1, 1, 0),
		       KC_WAIT_MS));

	/* what the slice is, as the controller names, labels and fills it */
	d = jv_doc_new();
	svc = cenv_get(e, d, k_svc(), NS, "web");
	s = slices_of(e, d, "web", &n);
	assert_int_equal(n, 1);
	snprintf(prefix, sizeof(prefix), "%.4s", jv_path_str(s[0], "metadata.name"));
	assert_string_equal(prefix, "web-");
	assert_string_equal(jv_path_str(s[0], "metadata.generateName"), "web-");
	assert_string_equal(
	    jv_path_str(s[0], "metadata.labels[endpointslice.kubernetes.io/managed-by]"),
	    "endpointslice-controller.k8s.io");
	assert_string_equal(jv_path_str(s[0], "metadata.labels[tier]"), "web");
	assert_string_equal(jv_path_str(s[0], "metadata.ownerReferences[0].kind"), "Service");
	assert_string_equal(jv_path_str(s[0], "metadata.ownerReferences[0].uid"),
			    jv_path_str(svc, "metadata.uid"));
	assert_true(jv_path(s[0], "metadata.ownerReferences[0].controller")->type == JV_TRUE);
	assert_string_equal(jv_path_str(s[0], "addressType"), "IPv4");
	assert_string_equal(jv_path_str(s[0], "ports[0].name"), "http");
	assert_string_equal(jv_path_str(s[0], "ports[0].protocol"), "TCP");
	assert_int_equal(ival(s[0], "ports[0].port"), 8080);
	ep = endpoint_of(s, n, "web-1", NULL);
	assert_string_equal(jv_path_str(ep, "addresses[0]"), "10.1.0.1");
	assert_string_equal(jv_path_str(ep, "nodeName"), "n1");
	assert_string_equal(jv_path_str(ep, "zone"), "z1");
	assert_string_equal(jv_path_str(ep, "targetRef.kind"), "Pod");
	assert_non_null(jv_path_str(ep, "targetRef.uid"));
	assert_non_null(jv_path_str(s[0], "metadata.annotations[endpoints.kubernetes.io/"
					  "last-change-trigger-time]"));
	jv_doc_free(d);
	/* the legacy Endpoints object, as the endpoints controller writes it */
	assert_true(WAIT_UNTIL(endpoints_are(e, "web", "web-1,web-2", ""), KC_WAIT_MS));

	/* readiness: not ready is neither ready nor serving */
	set_ready(e, "web-2", false);
	assert_true(WAIT_UNTIL(ep_state(e, "web", "web-2", 0, 0, 0), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(endpoints_are(e, "web", "web-1", "web-2"), KC_WAIT_MS));

	/* deletion: a terminating pod is not ready, still serving, terminating; the legacy
	 * Endpoints drop it */
	assert_int_equal(kc_delete(e->k.c, kind_pod(), NS, "web-1", NULL, NULL, &st), 0);
	assert_true(WAIT_UNTIL(ep_state(e, "web", "web-1", 0, 1, 1), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(endpoints_are(e, "web", "", "web-2"), KC_WAIT_MS));
	/* gone for good: so is its endpoint */
	del.grace_seconds = 0;
	assert_int_equal(kc_delete(e->k.c, kind_pod(), NS, "web-1", &del, NULL, &st), 0);
	assert_true(WAIT_UNTIL(ep_state(e, "web", "web-1", -1, 0, 0), KC_WAIT_MS));

	/* a named port resolves per pod: another number is another slice */
	pod_make(e, "web-3", "web", "[{\"name\":\"http\",\"containerPort\":9090}]");
	pod_up(e, "web-3", "n1", "10.1.0.3", true);
	assert_true(WAIT_UNTIL(ep_state(e, "web", "web-3", 1, 1, 0), KC_WAIT_MS));
	d = jv_doc_new();
	s = slices_of(e, d, "web", &n);
	assert_int_equal(n, 2);
	assert_non_null(endpoint_of(s, n, "web-3", &slice));
	assert_int_equal(ival(slice, "ports[0].port"), 9090);
	assert_int_equal(jv_count(jv_get(slice, "endpoints")), 1);
	assert_non_null(endpoint_of(s, n, "web-2", &slice));
	assert_int_equal(ival(slice, "ports[0].port"), 8080);
	jv_doc_free(d);
	assert_true(WAIT_UNTIL(endpoints_are(e, "web", "web-3", "web-2"), KC_WAIT_MS));

	/* publishNotReadyAddresses: not ready, yet ready for the Service */
	svc_make(e, "pub",
		 "{\"selector\":{\"app\":\"web\"},\"publishNotReadyAddresses\":true,\"ports\":"
		 "[{\"port\":80,\"targetPort\":8080}]}");
	assert_true(WAIT_UNTIL(ep_state(e, "pub", "web-2", 1, 0, 0), KC_WAIT_MS));
}

static bool slices_shape(struct cenv *e, const char *svc, size_t want_n, size_t want_total)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **s = slices_of(e, d, svc, &n);
	bool ok = n == want_n && endpoints_total(s, n) == want_total;

	for (size_t i = 0; i < n; i++)
		ok = ok && jv_count(jv_get(s[i], "endpoints")) <= 100;
	jv_doc_free(d);
	return ok;
}

static bool endpoints_count(struct cenv *e, const char *svc, size_t want)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *ep = cenv_get(e, d, k_ep(), NS, svc);
	size_t n = 0;

	for (const struct jv *ss = jv_first(jv_get(ep, "subsets")); ss; ss = ss->next)
		n += jv_count(jv_get(ss, "addresses")) + jv_count(jv_get(ss, "notReadyAddresses"));
	jv_doc_free(d);
	return n == want;
}

/* The resourceVersion of each slice of svc, by name. */
struct rvs {
	char name[8][128];
	char rv[8][32];
	size_t n;
};

static void rvs_of(struct cenv *e, const char *svc, struct rvs *out)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **s = slices_of(e, d, svc, &n);

	assert_true(n <= 8);
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(out->name[i], sizeof(out->name[i]), "%s",
			 jv_path_str(s[i], "metadata.name"));
		snprintf(out->rv[i], sizeof(out->rv[i]), "%s",
			 jv_path_str(s[i], "metadata.resourceVersion"));
	}
	jv_doc_free(d);
}

static const char *rv_of(const struct rvs *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->name[i], name) == 0)
			return r->rv[i];
	return "(none)";
}

static void test_250_pods_three_slices(void **state)
{
	struct cenv *e;
	struct jv_doc *d;
	struct jv **s, *slice = NULL;
	struct rvs before, after;
	char name[32], ip[32], changed[128], second[64] = "";
	size_t n;

	e = fx_start(state, "endpointslice,endpoint", NULL);
	cenv_node(e, "n1", 64, 300, NULL);
	for (int i = 0; i < 250; i++) {
		snprintf(name, sizeof(name), "big-%d", i);
		snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 200, i % 200 + 1);
		pod_make(e, name, "big", "[{\"name\":\"http\",\"containerPort\":8080}]");
		pod_up(e, name, "n1", ip, true);
	}
	/* a first Service over the same pods: once its slices hold all 250, the controller's
	 * cache has every pod, so the next Service's first sync sees them all */
	svc_make(e, "probe", "{\"selector\":{\"app\":\"big\"},\"ports\":[{\"port\":80}]}");
	assert_true(WAIT_UNTIL(total_of(e, "probe") == 250, KC_WAIT_MS));
	svc_make(e, "big",
		 "{\"selector\":{\"app\":\"big\"},\"ports\":[{\"name\":\"http\",\"port\":80,"
		 "\"targetPort\":\"http\"}]}");
	assert_true(WAIT_UNTIL(slices_shape(e, "big", 3, 250), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(endpoints_count(e, "big", 250), KC_WAIT_MS));

	/* one pod changes: only its slice is written */
	rvs_of(e, "big", &before);
	d = jv_doc_new();
	s = slices_of(e, d, "big", &n);
	assert_non_null(endpoint_of(s, n, "big-7", &slice));
	snprintf(changed, sizeof(changed), "%s", jv_path_str(slice, "metadata.name"));
	/* another pod of the same slice, for the second change */
	for (struct jv *ep = jv_first(jv_get(slice, "endpoints")); ep && !second[0]; ep = ep->next)
		if (!jv_is_str(jv_path(ep, "targetRef.name"), "big-7"))
			snprintf(second, sizeof(second), "%s", jv_path_str(ep, "targetRef.name"));
	jv_doc_free(d);
	set_ready(e, "big-7", false);
	assert_true(WAIT_UNTIL(ep_state(e, "big", "big-7", 0, 0, 0), KC_WAIT_MS));
	/* a second change to the same Service: when it shows, the first sync is over (one
	 * Service is never synced twice at once) */
	set_ready(e, second, false);
	assert_true(WAIT_UNTIL(ep_state(e, "big", second, 0, 0, 0), KC_WAIT_MS));
	rvs_of(e, "big", &after);
	assert_int_equal(after.n, 3);
	for (size_t i = 0; i < before.n; i++) {
		if (strcmp(before.name[i], changed) == 0)
			assert_string_not_equal(rv_of(&after, before.name[i]), before.rv[i]);
		else
			assert_string_equal(rv_of(&after, before.name[i]), before.rv[i]);
	}
	assert_true(slices_shape(e, "big", 3, 250));
}

static void test_services_without_selector(void **state)
{
	struct cenv *e;
	struct ctrl_config cfg = {.workers = 1}; /* one key at a time: a queue-order barrier */
	struct jv_doc *d;
	struct jv **s, *ep;
	size_t n;
	uint64_t slice_rv, ep_rv;

	e = fx_start(state, "endpointslice,endpoint", &cfg);
	cenv_node(e, "n1", 8, 110, NULL);
	pod_make(e, "m-1", "m", "[]");
	pod_up(e, "m-1", "n1", "10.3.0.1", true);
	/* a Service without a selector, with its endpoints written by hand */
	svc_make(e, "manual", "{\"ports\":[{\"port\":80}]}");
	slice_rv = kc_make(e->k.c, k_slice(), NS,
			   "{\"metadata\":{\"name\":\"manual-1\",\"labels\":{\"kubernetes.io/"
			   "service-name\":\"manual\"}},\"addressType\":\"IPv4\",\"endpoints\":[{"
			   "\"addresses\":[\"192.0.2.1\"]}],\"ports\":[{\"port\":80}]}");
	ep_rv = kc_make(e->k.c, k_ep(), NS,
			"{\"metadata\":{\"name\":\"manual\"},\"subsets\":[{\"addresses\":[{\"ip\":"
			"\"192.0.2.1\"}],\"ports\":[{\"port\":80}]}]}");
	/* ExternalName: no endpoints either */
	svc_make(e, "ext",
		 "{\"type\":\"ExternalName\",\"externalName\":\"example.com\","
		 "\"selector\":{\"app\":\"m\"}}");
	/* queued after both: when its endpoints show, both were synced */
	svc_make(e, "after", "{\"selector\":{\"app\":\"m\"},\"ports\":[{\"port\":80}]}");
	assert_true(WAIT_UNTIL(ep_state(e, "after", "m-1", 1, 1, 0), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(endpoints_are(e, "after", "m-1", ""), KC_WAIT_MS));
	d = jv_doc_new();
	s = slices_of(e, d, "manual", &n);
	assert_int_equal(n, 1);
	assert_string_equal(jv_path_str(s[0], "metadata.name"), "manual-1");
	assert_int_equal(strtoull(jv_path_str(s[0], "metadata.resourceVersion"), NULL, 10),
			 slice_rv);
	ep = cenv_get(e, d, k_ep(), NS, "manual");
	assert_int_equal(strtoull(jv_path_str(ep, "metadata.resourceVersion"), NULL, 10), ep_rv);
	slices_of(e, d, "ext", &n);
	assert_int_equal(n, 0);
	assert_null(cenv_get(e, d, k_ep(), NS, "ext"));
	jv_doc_free(d);

	/* a Service that selects nothing has one empty placeholder slice */
	svc_make(e, "empty", "{\"selector\":{\"app\":\"none\"},\"ports\":[{\"port\":80}]}");
	assert_true(WAIT_UNTIL(slices_shape(e, "empty", 1, 0), KC_WAIT_MS));
}

static bool apiserver_slice_ok(struct cenv *e, unsigned port)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *s = cenv_get(e, d, k_slice(), NS, "kubernetes");
	bool ok;

	ok = s &&
	     jv_is_str(jv_path(s, "metadata.labels[kubernetes.io/service-name]"), "kubernetes") &&
	     !jv_path(s, "metadata.labels[endpointslice.kubernetes.io/managed-by]") &&
	     jv_is_str(jv_path(s, "addressType"), "IPv4") &&
	     jv_is_str(jv_path(s, "endpoints[0].addresses[0]"), "127.0.0.1") &&
	     jv_path(s, "endpoints[0].conditions.ready") &&
	     jv_path(s, "endpoints[0].conditions.ready")->type == JV_TRUE &&
	     jv_is_str(jv_path(s, "ports[0].name"), "https") &&
	     jv_is_str(jv_path(s, "ports[0].protocol"), "TCP") &&
	     ival(s, "ports[0].port") == (int64_t)port;
	jv_doc_free(d);
	return ok;
}

static bool apiserver_endpoints_ok(struct cenv *e, unsigned port)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *ep = cenv_get(e, d, k_ep(), NS, "kubernetes");
	bool ok;

	ok = ep &&
	     jv_is_str(jv_path(ep, "metadata.labels[endpointslice.kubernetes.io/skip-mirror]"),
		       "true") &&
	     jv_is_str(jv_path(ep, "subsets[0].addresses[0].ip"), "127.0.0.1") &&
	     jv_is_str(jv_path(ep, "subsets[0].ports[0].name"), "https") &&
	     ival(ep, "subsets[0].ports[0].port") == (int64_t)port;
	jv_doc_free(d);
	return ok;
}

static void test_kubernetes_service(void **state)
{
	struct cenv *e;
	struct kc_status st;
	unsigned port;
	const char *wrong = "{\"subsets\":[{\"addresses\":[{\"ip\":\"192.0.2.9\"}],\"ports\":[{"
			    "\"name\":\"https\",\"port\":1}]}]}";

	e = fx_start(state, "endpointslice,endpoint", NULL);
	port = api_server_port(e->k.t.s);
	assert_true(WAIT_UNTIL(apiserver_slice_ok(e, port), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(apiserver_endpoints_ok(e, port), KC_WAIT_MS));
	/* deleted or changed, they are made right again */
	assert_int_equal(kc_delete(e->k.c, k_slice(), NS, "kubernetes", NULL, NULL, &st), 0);
	assert_true(WAIT_UNTIL(apiserver_slice_ok(e, port), KC_WAIT_MS));
	assert_int_equal(kc_patch(e->k.c, k_ep(), NS, "kubernetes", NULL, KC_PATCH_MERGE, wrong,
				  strlen(wrong), NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(apiserver_endpoints_ok(e, port), KC_WAIT_MS));
}

static bool has_event(struct cenv *e, const char *reason, const char *needle)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **ev = cenv_list(e, d, k8s_kind_find("v1", "Event"), NS, NULL, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++)
		found =
		    jv_is_str(jv_get(ev[i], "reason"), reason) &&
		    strstr(jv_path_str(ev[i], "message") ?: "", needle) &&
		    jv_is_str(jv_path(ev[i], "source.component"), "endpoint-slice-controller") &&
		    jv_is_str(jv_path(ev[i], "involvedObject.kind"), "Service");
	jv_doc_free(d);
	return found;
}

static void test_unknown_node_event(void **state)
{
	struct cenv *e;

	e = fx_start(state, "endpointslice", NULL);
	cenv_node(e, "n1", 8, 110, NULL);
	svc_make(e, "lost", "{\"selector\":{\"app\":\"lost\"},\"ports\":[{\"port\":80}]}");
	pod_make(e, "lost-1", "lost", "[]");
	pod_make(e, "lost-2", "lost", "[]");
	pod_up(e, "lost-1", "n1", "10.4.0.1", true);
	pod_up(e, "lost-2", "ghost", "10.4.0.2", true);
	/* the pod on a node nobody knows is left out, and said so */
	assert_true(WAIT_UNTIL(ep_state(e, "lost", "lost-1", 1, 1, 0), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event(e, "FailedToUpdateEndpointSlices",
					 "Error updating Endpoint Slices for Service default/lost: "
					 "skipping Pod lost-2 for Service default/lost: Node ghost "
					 "Not Found"),
			       KC_WAIT_MS));
	assert_true(ep_state(e, "lost", "lost-2", -1, 0, 0));
	/* the node appears: the pod goes in */
	cenv_node(e, "ghost", 8, 110, NULL);
	assert_true(WAIT_UNTIL(ep_state(e, "lost", "lost-2", 1, 1, 0), KC_WAIT_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_slices_follow_pods, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_250_pods_three_slices, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_services_without_selector, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_kubernetes_service, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_node_event, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
