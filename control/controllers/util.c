/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the helpers every controller uses the same way (ctrl.h): owner references, label
 * selectors, pod conditions, times, status conditions, and expectations.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_obj.h"
#include "api_selector.h"
#include "ctrl.h"
#include "hmap.h"

const struct k8s_kind *ctrl_k_pod, *ctrl_k_node, *ctrl_k_namespace, *ctrl_k_service, *ctrl_k_event,
    *ctrl_k_replicaset, *ctrl_k_deployment, *ctrl_k_daemonset, *ctrl_k_statefulset,
    *ctrl_k_controllerrevision, *ctrl_k_job, *ctrl_k_cronjob, *ctrl_k_endpointslice,
    *ctrl_k_endpoints, *ctrl_k_lease, *ctrl_k_serviceaccount, *ctrl_k_pdb, *ctrl_k_resourcequota,
    *ctrl_k_pvc, *ctrl_k_replicationcontroller, *ctrl_k_pv;

/* The kinds, looked up once (the schema tables are static data). */
__attribute__((constructor)) static void ctrl_kinds_init(void)
{
	ctrl_k_pod = k8s_kind_find("v1", "Pod");
	ctrl_k_node = k8s_kind_find("v1", "Node");
	ctrl_k_namespace = k8s_kind_find("v1", "Namespace");
	ctrl_k_service = k8s_kind_find("v1", "Service");
	ctrl_k_event = k8s_kind_find("v1", "Event");
	ctrl_k_endpoints = k8s_kind_find("v1", "Endpoints");
	ctrl_k_serviceaccount = k8s_kind_find("v1", "ServiceAccount");
	ctrl_k_resourcequota = k8s_kind_find("v1", "ResourceQuota");
	ctrl_k_pvc = k8s_kind_find("v1", "PersistentVolumeClaim");
	ctrl_k_replicationcontroller = k8s_kind_find("v1", "ReplicationController");
	ctrl_k_pv = k8s_kind_find("v1", "PersistentVolume");
	ctrl_k_replicaset = k8s_kind_find("apps/v1", "ReplicaSet");
	ctrl_k_deployment = k8s_kind_find("apps/v1", "Deployment");
	ctrl_k_daemonset = k8s_kind_find("apps/v1", "DaemonSet");
	ctrl_k_statefulset = k8s_kind_find("apps/v1", "StatefulSet");
	ctrl_k_controllerrevision = k8s_kind_find("apps/v1", "ControllerRevision");
	ctrl_k_job = k8s_kind_find("batch/v1", "Job");
	ctrl_k_cronjob = k8s_kind_find("batch/v1", "CronJob");
	ctrl_k_endpointslice = k8s_kind_find("discovery.k8s.io/v1", "EndpointSlice");
	ctrl_k_lease = k8s_kind_find("coordination.k8s.io/v1", "Lease");
	ctrl_k_pdb = k8s_kind_find("policy/v1", "PodDisruptionBudget");
}

/* ---- owners and selectors ---- */

const struct jv *ctrl_controller_ref(const struct jv *obj)
{
	for (const struct jv *r = jv_first(jv_path(obj, "metadata.ownerReferences")); r;
	     r = r->next)
		if (jv_get(r, "controller") && jv_get(r, "controller")->type == JV_TRUE)
			return r;
	return NULL;
}

bool ctrl_controlled_by(const struct jv *obj, const char *uid)
{
	const struct jv *r = ctrl_controller_ref(obj);

	return r && uid && jv_is_str(jv_get(r, "uid"), uid);
}

struct jv *ctrl_owner_ref(struct jv_doc *d, const struct jv *owner, const struct k8s_kind *k)
{
	struct jv *r = jv_new(d, JV_OBJECT);

	if (!r)
		return NULL;
	jv_set(d, r, "apiVersion", jv_new_strz(d, k->api_version));
	jv_set(d, r, "kind", jv_new_strz(d, k->kind));
	jv_set(d, r, "name", jv_new_strz(d, jv_path_str(owner, "metadata.name") ?: ""));
	jv_set(d, r, "uid", jv_new_strz(d, jv_path_str(owner, "metadata.uid") ?: ""));
	jv_set(d, r, "controller", jv_new_bool(d, true));
	jv_set(d, r, "blockOwnerDeletion", jv_new_bool(d, true));
	return r;
}

struct jv *ctrl_obj_ref(struct jv_doc *d, const char *api_version, const char *kind, const char *ns,
			const char *name, const char *uid)
{
	struct jv *o = jv_new(d, JV_OBJECT), *md = o ? jv_obj_at(d, o, "metadata") : NULL;

	if (!md)
		return NULL;
	jv_set(d, o, "apiVersion", jv_new_strz(d, api_version));
	jv_set(d, o, "kind", jv_new_strz(d, kind));
	if (ns)
		jv_set(d, md, "namespace", jv_new_strz(d, ns));
	jv_set(d, md, "name", jv_new_strz(d, name));
	if (uid)
		jv_set(d, md, "uid", jv_new_strz(d, uid));
	return o;
}

bool ctrl_selector_matches(const struct jv *selector, const struct jv *labels)
{
	if (!selector || selector->type != JV_OBJECT)
		return false;
	return api_label_selector_matches(selector, labels);
}

/* ---- pods ---- */

struct jv *ctrl_condition(const struct jv *obj, const char *type)
{
	for (struct jv *c = jv_first(jv_path(obj, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			return c;
	return NULL;
}

bool ctrl_pod_ready(const struct jv *pod)
{
	return jv_is_str(jv_get(ctrl_condition(pod, "Ready"), "status"), "True");
}

bool ctrl_pod_active(const struct jv *pod)
{
	const char *phase = jv_path_str(pod, "status.phase");

	return !jv_path(pod, "metadata.deletionTimestamp") &&
	       !(phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
}

int64_t ctrl_pod_ready_since(const struct jv *pod)
{
	const struct jv *c = ctrl_condition(pod, "Ready");

	if (!jv_is_str(jv_get(c, "status"), "True"))
		return -1;
	return ctrl_parse_time(jv_path_str(c, "lastTransitionTime"));
}

bool ctrl_pod_available(const struct jv *pod, int64_t min_ready_s, int64_t now)
{
	int64_t since = ctrl_pod_ready_since(pod);

	if (since < 0 && !ctrl_pod_ready(pod))
		return false;
	/* a Ready condition without a time counts as ready long enough */
	return min_ready_s <= 0 || since < 0 || since + min_ready_s <= now;
}

/* ---- times ---- */

int64_t ctrl_now(void)
{
	return (int64_t)time(NULL);
}

const char *ctrl_time(int64_t t, char *buf)
{
	return api_time_rfc3339(t, buf);
}

int64_t ctrl_parse_time(const char *s)
{
	return s ? api_parse_time(s) : -1;
}

bool ctrl_set_condition(struct jv_doc *d, struct jv *obj, const char *type, const char *status,
			const char *reason, const char *message)
{
	struct jv *st = jv_obj_at(d, obj, "status"), *conds, *c;
	char now[32];
	bool changed = false;

	if (!st)
		return false;
	conds = jv_get(st, "conditions");
	if (!conds || conds->type != JV_ARRAY) {
		conds = jv_new(d, JV_ARRAY);
		jv_set(d, st, "conditions", conds);
	}
	c = ctrl_condition(obj, type);
	if (!c) {
		c = jv_new(d, JV_OBJECT);
		jv_set(d, c, "type", jv_new_strz(d, type));
		jv_push(conds, c);
		changed = true;
	}
	ctrl_time(ctrl_now(), now);
	if (!jv_is_str(jv_get(c, "status"), status)) {
		jv_set(d, c, "status", jv_new_strz(d, status));
		jv_set(d, c, "lastTransitionTime", jv_new_strz(d, now));
		changed = true;
	}
	if (reason && !jv_is_str(jv_get(c, "reason"), reason)) {
		jv_set(d, c, "reason", jv_new_strz(d, reason));
		changed = true;
	}
	if (message && !jv_is_str(jv_get(c, "message"), message)) {
		jv_set(d, c, "message", jv_new_strz(d, message));
		changed = true;
	}
	return changed;
}

/* ---- expectations ---- */

#define EXPECT_TTL_S 300 /* client-go's ExpectationsTimeout */

struct expect_rec {
	int adds, dels;
	int64_t at;
};

struct ctrl_expect {
	pthread_mutex_t lock;
	struct hmap *m; /* key -> struct expect_rec */
};

struct ctrl_expect *ctrl_expect_new(void)
{
	struct ctrl_expect *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	e->m = hmap_new();
	if (!e->m) {
		free(e);
		return NULL;
	}
	return e;
}

void ctrl_expect_free(struct ctrl_expect *e)
{
	if (!e)
		return;
	for (struct hmap_entry *it = hmap_first(e->m); it; it = hmap_next(e->m, it))
		free(hmap_entry_val(it));
	hmap_free(e->m);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void ctrl_expect_set(struct ctrl_expect *e, const char *key, int adds, int dels)
{
	struct expect_rec *r;

	pthread_mutex_lock(&e->lock);
	r = hmap_sget(e->m, key);
	if (!r && (r = calloc(1, sizeof(*r))) && hmap_sput(e->m, key, r, NULL) < 0) {
		free(r);
		r = NULL;
	}
	if (r) {
		r->adds = adds;
		r->dels = dels;
		r->at = ctrl_now();
	}
	pthread_mutex_unlock(&e->lock);
}

void ctrl_expect_observe(struct ctrl_expect *e, const char *key, int adds, int dels)
{
	struct expect_rec *r;

	pthread_mutex_lock(&e->lock);
	r = hmap_sget(e->m, key);
	if (r) {
		r->adds -= adds;
		r->dels -= dels;
	}
	pthread_mutex_unlock(&e->lock);
}

bool ctrl_expect_satisfied(struct ctrl_expect *e, const char *key)
{
	struct expect_rec *r;
	bool ok;

	pthread_mutex_lock(&e->lock);
	r = hmap_sget(e->m, key);
	/* none recorded (a new controller key) counts as satisfied, as client-go's does */
	ok = !r || (r->adds <= 0 && r->dels <= 0) || ctrl_now() - r->at > EXPECT_TTL_S;
	pthread_mutex_unlock(&e->lock);
	return ok;
}

void ctrl_expect_delete(struct ctrl_expect *e, const char *key)
{
	pthread_mutex_lock(&e->lock);
	free(hmap_sdel(e->m, key));
	pthread_mutex_unlock(&e->lock);
}

void ctrl_queue_quiesce(struct kc_workers **w, struct kc_queue *q)
{
	if (*w)
		kc_workers_stop(*w);
	else if (q)
		kc_queue_shutdown(q);
	*w = NULL;
}

void ctrl_queue_close(struct kc_workers *w, struct kc_queue *q)
{
	ctrl_queue_quiesce(&w, q);
	if (q)
		kc_queue_free(q);
}

bool ctrl_ns_terminating(int err, const struct kc_status *st)
{
	return err == -EACCES && st && strstr(st->message, "because it is being terminated");
}

void ctrl_queue_ns_add(void *q, const struct kc_obj *o, const struct jv *t)
{
	const char *name = jv_path_str(t, "metadata.name");

	(void)o;
	if (name)
		kc_queue_add(q, name);
}

void ctrl_queue_ns_update(void *q, const struct kc_obj *old, const struct jv *old_t,
			  const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	ctrl_queue_ns_add(q, cur, cur_t);
}

int ctrl_ns_active(struct kc_informer *nsi, const char *ns, struct jv_doc *d)
{
	struct kc_obj *nso = kc_informer_get(nsi, NULL, ns);
	struct jv *nst;

	if (!nso)
		return 0; /* gone */
	nst = d ? kc_obj_parse(nso, d) : NULL;
	kc_obj_put(nso);
	if (!nst)
		return -ENOMEM;
	return jv_path(nst, "metadata.deletionTimestamp") ? 0 : 1;
}
