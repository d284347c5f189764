/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replicaset: kube-controller-manager's ReplicaSet controller (pkg/controller/replicaset).
 * A ReplicaSet keeps spec.replicas active pods made from its template: it creates the
 * missing ones (generateName "<rs>-", a controller ownerReference; in slow-start batches of
 * 1, 2, 4 ..., at most 500 per sync) and deletes the extra ones in kube's order (unassigned,
 * pending, not ready, cheaper, doubled up, ready for less time, more restarts, newer first);
 * it adopts orphans its selector matches and releases pods it no longer matches; it writes
 * status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas with
 * minReadySeconds, observedGeneration, the ReplicaFailure condition) and Events
 * (SuccessfulCreate, SuccessfulDelete, FailedCreate, FailedDelete). Expectations keep a slow
 * pod watch from making it create or delete twice.
 *
 * The same code runs kube's ReplicationManager (pkg/controller/replication): as there, a
 * ReplicationController is handled "as if it were an older API version of ReplicaSet" — its
 * tree converted on the way in (a map selector becomes matchLabels) and back before it is
 * written — with its own kind, queue and Events' component ("replication-controller").
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "log.h"
#include "workload.h"

#define COMP	       "replicaset-controller"
#define BURST_REPLICAS 500 /* kube's BurstReplicas */

/* What tells the two controllers apart: kube's NewBaseController arguments (the owner's
 * kind, the queue's name) and the conversion adapters of pkg/controller/replication. */
struct rs_flavor {
	const struct k8s_kind *const *kind; /* the owners' kind (set at load time) */
	const char *queue;
	/* the owner's tree as a ReplicaSet's, in place, and back (NULL: it is one); 0/-ENOMEM */
	int (*to_rs)(struct jv_doc *d, struct jv *obj);
	int (*from_rs)(struct jv_doc *d, struct jv *obj);
};

struct rs_ctrl {
	struct ctrl_ctx *c;
	const struct rs_flavor *f;
	struct kc_informer *pods, *rss;
	struct kc_queue *q;
	struct kc_workers *w;
	struct ctrl_uexpect *exp;
};

/* ---- event handlers ---- */

static void key_of(const char *ns, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", ns, name);
}

/* The ReplicaSet a controller reference names, if it exists with that uid: its key into buf
 * and its minReadySeconds. */
static bool resolve_ref(struct rs_ctrl *s, const char *ns, const struct jv *ref, char *buf,
			size_t size, int64_t *min_ready)
{
	struct jv_doc *d = jv_doc_new();
	const struct jv *t = d ? ctrl_resolve_ref(s->rss, ns, ref, (*s->f->kind)->kind, d) : NULL;

	if (t) {
		key_of(ns, jv_path_str(t, "metadata.name"), buf, size);
		if (min_ready && jv_path_int(t, "spec.minReadySeconds", min_ready) != 0)
			*min_ready = 0;
	}
	jv_doc_free(d);
	return t != NULL;
}

static void pod_deleted(struct rs_ctrl *s, const struct jv *pod)
{
	const char *ns = jv_path_str(pod, "metadata.namespace");
	const struct jv *ref = ctrl_controller_ref(pod);
	char key[512], pkey[512];

	if (!ref || !resolve_ref(s, ns, ref, key, sizeof(key), NULL))
		return;
	key_of(ns, jv_path_str(pod, "metadata.name"), pkey, sizeof(pkey));
	ctrl_uexpect_deletion_observed(s->exp, key, pkey);
	kc_queue_add(s->q, key);
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *pod)
{
	struct rs_ctrl *s = arg;
	const struct jv *ref = ctrl_controller_ref(pod);
	char key[512];

	(void)o;
	if (jv_path(pod, "metadata.deletionTimestamp")) {
		/* made already being deleted (a restarted controller): a deletion */
		pod_deleted(s, pod);
		return;
	}
	if (ref) {
		if (!resolve_ref(s, jv_path_str(pod, "metadata.namespace"), ref, key, sizeof(key),
				 NULL))
			return;
		ctrl_uexpect_creation_observed(s->exp, key);
		kc_queue_add(s->q, key);
		return;
	}
	ctrl_enqueue_selecting_conv(s->rss, s->q, pod, s->f->to_rs);
}

static bool same_ref(const struct jv *a, const struct jv *b)
{
	if (!a || !b)
		return a == b;
	return jv_equal(jv_get(a, "uid"), jv_get(b, "uid"));
}

static void pod_update(void *arg, const struct kc_obj *oo, const struct jv *old,
		       const struct kc_obj *co, const struct jv *cur)
{
	struct rs_ctrl *s = arg;
	const struct jv *cref = ctrl_controller_ref(cur),
			*oref = old ? ctrl_controller_ref(old) : NULL;
	const char *ns = jv_path_str(cur, "metadata.namespace");
	bool labels_changed;
	int64_t min_ready = 0;
	char key[512];

	if (oo && co && oo->rv == co->rv)
		return; /* a resync: nothing changed */
	if (!old) {
		pod_add(arg, co, cur);
		return;
	}
	labels_changed =
	    !jv_equal(jv_path(old, "metadata.labels"), jv_path(cur, "metadata.labels"));
	if (jv_path(cur, "metadata.deletionTimestamp")) {
		/* graceful deletion: the pod is going, count it as deleted now (its labels may
		 * have changed too: the old owner hears of it) */
		pod_deleted(s, cur);
		if (labels_changed)
			pod_deleted(s, old);
		return;
	}
	if (!same_ref(cref, oref) && oref &&
	    resolve_ref(s, jv_path_str(old, "metadata.namespace"), oref, key, sizeof(key), NULL))
		kc_queue_add(s->q, key);
	if (cref) {
		if (!resolve_ref(s, ns, cref, key, sizeof(key), &min_ready))
			return;
		kc_queue_add(s->q, key);
		/* ready now: available after minReadySeconds, look again then */
		if (!ctrl_pod_ready(old) && ctrl_pod_ready(cur) && min_ready > 0)
			kc_queue_add_after(s->q, key, (uint64_t)(min_ready + 1) * 1000);
		return;
	}
	if (labels_changed || !same_ref(cref, oref))
		ctrl_enqueue_selecting_conv(s->rss, s->q, cur, s->f->to_rs);
}

static void pod_del(void *arg, const struct kc_obj *o, const struct jv *pod)
{
	(void)o;
	pod_deleted(arg, pod);
}

static void rs_add(void *arg, const struct kc_obj *o, const struct jv *rs)
{
	struct rs_ctrl *s = arg;
	char key[512];

	(void)o;
	if (kc_key_of(rs, key, sizeof(key)))
		kc_queue_add(s->q, key);
}

static void rs_update(void *arg, const struct kc_obj *oo, const struct jv *old,
		      const struct kc_obj *co, const struct jv *cur)
{
	struct rs_ctrl *s = arg;
	char key[512];

	(void)oo;
	(void)co;
	/* the same name with another uid: the old one was deleted and its expectations go */
	if (old && !jv_equal(jv_path(old, "metadata.uid"), jv_path(cur, "metadata.uid")) &&
	    kc_key_of(old, key, sizeof(key)))
		ctrl_uexpect_forget(s->exp, key);
	rs_add(arg, co, cur);
}

static void rs_del(void *arg, const struct kc_obj *o, const struct jv *rs)
{
	struct rs_ctrl *s = arg;
	char key[512];

	(void)o;
	if (!kc_key_of(rs, key, sizeof(key)))
		return;
	ctrl_uexpect_forget(s->exp, key);
	kc_queue_add(s->q, key);
}

/* ---- sync ---- */

struct rs_sync {
	struct rs_ctrl *s;
	const char *key, *ns;
	struct jv_doc *d;
	struct jv *rs;
	struct jv **pods; /* the active pods it owns after claiming */
	size_t npods;
	char errmsg[1024]; /* the error manage_replicas met, for ReplicaFailure */
};

static bool pod_active(const struct jv *rs, const struct jv *pod)
{
	(void)rs;
	return ctrl_pod_active(pod);
}

/* The active pods that are the ReplicaSet's after adopting and releasing, as kube's
 * FilterActivePods + claimPods (a pod controlled by another object is never claimed). */
static int claim_pods(struct rs_sync *y)
{
	int err;

	y->pods = ctrl_claim(y->s->c, y->s->pods, ctrl_k_pod, y->rs, *y->s->f->kind, pod_active,
			     y->d, &y->npods, &err);
	return err;
}

static int64_t spec_replicas(const struct jv *obj)
{
	int64_t r;

	return jv_path_int(obj, "spec.replicas", &r) == 0 ? r : 1;
}

/* One pod from the template (generateName "<rs>-"); a namespace being terminated counts as
 * done, as kube's (every create there fails the same way). */
static int create_one(void *arg, int i)
{
	struct rs_sync *y = arg;
	struct jv_doc *d = jv_doc_new();
	struct kc_status st = {0};
	struct jv *pod;
	char gen[300];
	int e;

	(void)i;
	snprintf(gen, sizeof(gen), "%s-", jv_path_str(y->rs, "metadata.name") ?: "");
	pod = d ? ctrl_pod_from_template(d, jv_path(y->rs, "spec.template"), y->rs, *y->s->f->kind,
					 gen)
		: NULL;
	if (!pod) {
		jv_doc_free(d);
		kc_event(y->s->c->rec, y->rs, "Warning", "FailedCreate",
			 "Error creating: out of memory");
		snprintf(y->errmsg, sizeof(y->errmsg), "out of memory");
		return -ENOMEM;
	}
	e = ctrl_pod_create(y->s->c, y->ns, pod, y->rs, &st);
	jv_doc_free(d);
	if (ctrl_ns_terminating(e, &st))
		return 0;
	if (e)
		snprintf(y->errmsg, sizeof(y->errmsg), "%s",
			 st.message[0] ? st.message : kc_strerror(e));
	return e;
}

static int create_pods(struct rs_sync *y, int diff)
{
	int err, done;

	ctrl_uexpect_creations(y->s->exp, y->key, diff);
	done = ctrl_slow_start(diff, create_one, y, &err);
	/* the pods never attempted (or failed) will not be observed */
	for (int i = done; i < diff; i++)
		ctrl_uexpect_creation_observed(y->s->exp, y->key);
	return err;
}

/* Active pods of the ReplicaSets with the same controller (or of this one), per node: kube's
 * getIndirectlyRelatedPods ranks a pod by how many related pods share its node (counted
 * once per node, so a scale-down of n pods costs O(n), not O(n * related)). */
static void rank_pods(struct rs_sync *y, struct ctrl_pod_rank *rk)
{
	const struct jv *ref = ctrl_controller_ref(y->rs);
	struct hmap *on_node = hmap_new();
	struct kc_obj **rss = NULL;
	struct jv **related = NULL;
	size_t nrss = 0, nrel = 0;

	if (ref && kc_informer_list(y->s->rss, CTRL_IDX_OWNER, jv_path_str(ref, "uid"), &rss,
				    &nrss) == 0) {
		for (size_t i = 0; i < nrss; i++) {
			struct jv *t = kc_obj_parse(rss[i], y->d);
			const char *uid = jv_path_str(t, "metadata.uid");

			if (t && uid && ctrl_controlled_by(t, jv_path_str(ref, "uid")))
				ctrl_index_trees(y->s->pods, CTRL_IDX_OWNER, uid, ctrl_k_pod, y->d,
						 &related, &nrel);
		}
		kc_objs_free(rss, nrss);
	} else {
		ctrl_index_trees(y->s->pods, CTRL_IDX_OWNER, jv_path_str(y->rs, "metadata.uid"),
				 ctrl_k_pod, y->d, &related, &nrel);
	}
	/* the count per node rides in the map's value pointer */
	for (size_t j = 0; on_node && j < nrel; j++)
		if (ctrl_pod_active(related[j])) {
			const char *node = jv_path_str(related[j], "spec.nodeName") ?: "";

			hmap_sput(on_node, node, (void *)((uintptr_t)hmap_sget(on_node, node) + 1),
				  NULL);
		}
	for (size_t i = 0; i < y->npods; i++) {
		const char *node = jv_path_str(y->pods[i], "spec.nodeName") ?: "";

		rk[i].pod = y->pods[i];
		rk[i].rank = on_node ? (int)(uintptr_t)hmap_sget(on_node, node) : 0;
	}
	hmap_free(on_node);
}

static int delete_pods(struct rs_sync *y, int diff)
{
	struct rs_ctrl *s = y->s;
	struct ctrl_pod_rank *rk = calloc(y->npods, sizeof(*rk));
	const char **keys = calloc(diff, sizeof(*keys));
	int err = 0;

	if (!rk || !keys) {
		free(rk);
		free(keys);
		return -ENOMEM;
	}
	rank_pods(y, rk);
	if ((size_t)diff < y->npods)
		ctrl_pods_rank_sort(rk, y->npods, ctrl_now_ns());
	for (int i = 0; i < diff; i++) {
		struct jv *kv = jv_new_strf(y->d, "%s/%s", y->ns,
					    jv_path_str(rk[i].pod, "metadata.name") ?: "");

		keys[i] = kv ? kv->s : "";
	}
	ctrl_uexpect_deletions(s->exp, y->key, keys, diff);
	for (int i = 0; i < diff; i++) {
		struct kc_status st;
		int e = ctrl_pod_delete(s->c, y->ns, jv_path_str(rk[i].pod, "metadata.name"), y->rs,
					&st);

		if (e == 0)
			continue;
		/* this deletion will not be observed */
		ctrl_uexpect_deletion_observed(s->exp, y->key, keys[i]);
		if (e != -ENOENT) {
			snprintf(y->errmsg, sizeof(y->errmsg), "%s",
				 st.message[0] ? st.message : kc_strerror(e));
			err = err ?: e;
		}
	}
	free(rk);
	free(keys);
	return err;
}

static int manage_replicas(struct rs_sync *y)
{
	int64_t diff = (int64_t)y->npods - spec_replicas(y->rs);

	if (diff < 0) {
		diff = -diff;
		if (diff > BURST_REPLICAS)
			diff = BURST_REPLICAS;
		return create_pods(y, (int)diff);
	}
	if (diff > 0) {
		if (diff > BURST_REPLICAS)
			diff = BURST_REPLICAS;
		return delete_pods(y, (int)diff);
	}
	return 0;
}

static void set_int(struct jv_doc *d, struct jv *o, const char *key, int64_t v, bool omitempty)
{
	if (v || !omitempty)
		jv_set(d, o, key, jv_new_int(d, v));
}

/* The status write of owner (a converted tree: converted back first). */
static int write_status(struct rs_sync *y, struct jv *owner, struct kc_status *kst)
{
	const struct rs_flavor *f = y->s->f;
	struct jv *w = owner;

	if (f->from_rs && (!(w = jv_copy(y->d, owner)) || f->from_rs(y->d, w) != 0))
		return -ENOMEM;
	return kc_update(y->s->c->kc, *f->kind, y->ns, "status", w, NULL, NULL, kst);
}

/* kube's calculateStatus + updateReplicaSetStatus. Returns the new status tree (in y->d). */
static int update_status(struct rs_sync *y, int manage_err, struct jv **out_status)
{
	struct jv_doc *d = y->d;
	struct jv *old = jv_get(y->rs, "status"), *st = jv_new(d, JV_OBJECT), *conds, *up;
	const struct jv *tlabels = jv_path(y->rs, "spec.template.metadata.labels");
	int64_t min_ready = 0, gen = 0, ogen = -1, full = 0, ready = 0, avail = 0, now = ctrl_now();
	struct kc_status kst;
	int err;

	jv_path_int(y->rs, "spec.minReadySeconds", &min_ready);
	jv_path_int(y->rs, "metadata.generation", &gen);
	jv_path_int(old, "observedGeneration", &ogen);
	for (size_t i = 0; i < y->npods; i++) {
		const struct jv *pl = jv_path(y->pods[i], "metadata.labels");
		bool all = true;

		/* the template's labels as a selector: every one present with its value */
		for (const struct jv *l = jv_first(tlabels); l && all; l = l->next)
			all = l->type == JV_STRING && jv_is_str(jv_get(pl, l->key), l->s);
		full += all;
		if (ctrl_pod_ready(y->pods[i])) {
			ready++;
			avail += ctrl_pod_available(y->pods[i], min_ready, now);
		}
	}
	set_int(d, st, "replicas", (int64_t)y->npods, false);
	set_int(d, st, "fullyLabeledReplicas", full, true);
	set_int(d, st, "observedGeneration", ogen > 0 ? ogen : 0, true);
	set_int(d, st, "readyReplicas", ready, true);
	set_int(d, st, "availableReplicas", avail, true);
	conds = jv_get(old, "conditions");
	if (conds)
		jv_set(d, st, "conditions", jv_copy(d, conds));
	up = jv_new(d, JV_OBJECT);
	jv_set(d, up, "status", st);
	if (manage_err && !ctrl_condition(up, "ReplicaFailure")) {
		int64_t diff = (int64_t)y->npods - spec_replicas(y->rs);

		ctrl_set_condition(d, up, "ReplicaFailure", "True",
				   diff < 0   ? "FailedCreate"
				   : diff > 0 ? "FailedDelete"
					      : "",
				   y->errmsg);
	} else if (!manage_err && ctrl_condition(up, "ReplicaFailure")) {
		struct jv *prev = NULL;

		conds = jv_get(st, "conditions");
		for (struct jv *c = jv_first(conds); c; prev = c, c = c->next)
			if (jv_is_str(jv_get(c, "type"), "ReplicaFailure")) {
				jv_unlink(conds, prev, c);
				break;
			}
		if (!jv_count(conds))
			jv_del(st, "conditions");
	}
	*out_status = st;
	if (old && jv_equal(old, st) && ogen == gen)
		return 0;
	set_int(d, st, "observedGeneration", gen, true);
	jv_set(d, y->rs, "status", st);
	err = write_status(y, y->rs, &kst);
	if (err == -KC_ECONFLICT) {
		/* as updateReplicaSetStatus does: one more try over a fresh copy (the cache
		 * lags behind the status write of the previous sync) */
		struct kc_obj *o = NULL;
		struct jv *fresh;

		if (kc_get(y->s->c->kc, *y->s->f->kind, y->ns, jv_path_str(y->rs, "metadata.name"),
			   &o, &kst) == 0 &&
		    (fresh = kc_obj_parse(o, d)) != NULL) {
			jv_set(d, fresh, "status", jv_copy(d, st));
			/* as read: not converted */
			err = kc_update(y->s->c->kc, *y->s->f->kind, y->ns, "status", fresh, NULL,
					NULL, &kst);
		}
		kc_obj_put(o);
	}
	if (err && err != -ENOENT) {
		log_info(COMP, "%s: status: %s", y->key, kst.message);
		return err;
	}
	return 0;
}

static int sync_rs(void *arg, const char *key)
{
	struct rs_ctrl *s = arg;
	struct rs_sync y = {.s = s, .key = key};
	char *k = strdup(key), *ns, *name;
	struct kc_obj *o;
	struct jv *st = NULL;
	int64_t min_ready = 0;
	int err = 0, merr = 0;
	bool need_sync;

	if (!k)
		return -ENOMEM;
	kc_key_split(k, &ns, &name);
	y.ns = ns;
	o = ns ? kc_informer_get(s->rss, ns, name) : NULL;
	if (!o) {
		ctrl_uexpect_forget(s->exp, key);
		free(k);
		return 0;
	}
	/* before reading the pods: a creation observed after this still counts */
	need_sync = ctrl_uexpect_satisfied(s->exp, key);
	y.d = jv_doc_new();
	y.rs = y.d ? ctrl_obj_tree(o, y.d, *s->f->kind) : NULL;
	kc_obj_put(o);
	if (y.rs && s->f->to_rs && s->f->to_rs(y.d, y.rs) != 0)
		y.rs = NULL;
	if (!y.rs) {
		err = -ENOMEM;
		goto out;
	}
	if (!jv_path(y.rs, "spec.selector")) {
		log_warn(COMP, "%s: no selector", key);
		goto out;
	}
	err = claim_pods(&y);
	if (err)
		goto out;
	if (need_sync && !jv_path(y.rs, "metadata.deletionTimestamp"))
		merr = manage_replicas(&y);
	err = update_status(&y, merr, &st);
	if (err)
		goto out;
	jv_path_int(y.rs, "spec.minReadySeconds", &min_ready);
	if (!merr && min_ready > 0) {
		int64_t ready = 0, avail = 0, want = spec_replicas(y.rs);

		jv_path_int(st, "readyReplicas", &ready);
		jv_path_int(st, "availableReplicas", &avail);
		if (ready == want && avail != want)
			kc_queue_add_after(s->q, key, (uint64_t)min_ready * 1000);
	}
	err = merr;
out:
	jv_doc_free(y.d);
	free(k);
	return err == -KC_ECONFLICT ? -EAGAIN : err;
}

/* ---- lifecycle ---- */

static int rs_init_flavor(struct ctrl_ctx *c, void **state, const struct rs_flavor *f)
{
	struct rs_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers ph = {.add = pod_add, .update = pod_update, .del = pod_del};
	struct kc_handlers rh = {.add = rs_add, .update = rs_update, .del = rs_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->f = f;
	s->q = kc_queue_new(f->queue);
	s->exp = ctrl_uexpect_new();
	s->pods = ctrl_informer(c, ctrl_k_pod);
	s->rss = ctrl_informer(c, *f->kind);
	if (!s->q || !s->exp || !s->pods || !s->rss)
		return -ENOMEM;
	if (ctrl_claim_indexes(c, ctrl_k_pod) ||
	    ctrl_informer_index(c, *f->kind, CTRL_IDX_OWNER, kc_index_owner_uid))
		return -ENOMEM;
	ph.arg = rh.arg = s;
	if (kc_informer_add_handlers(s->pods, &ph) || kc_informer_add_handlers(s->rss, &rh))
		return -ENOMEM;
	return 0;
}

static int rs_run(void *state)
{
	struct rs_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_rs, s, s->f->queue);
	return s->w ? 0 : -ENOMEM;
}

static void rs_stop(void *state)
{
	struct rs_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	ctrl_uexpect_free(s->exp);
	free(s);
}

static const struct rs_flavor rs_flavor = {.kind = &ctrl_k_replicaset, .queue = "replicaset"};

static int rs_init(struct ctrl_ctx *c, void **state)
{
	return rs_init_flavor(c, state, &rs_flavor);
}

const struct ctrl_desc ctrl_replicaset = {
    .name = "replicaset",
    .component = "replicaset-controller",
    .init = rs_init,
    .run = rs_run,
    .stop = rs_stop,
};

/* ---- ReplicationControllers (pkg/controller/replication) ---- */

/* Convert_v1_ReplicationControllerSpec_To_apps_ReplicaSetSpec: the map selector as a
 * LabelSelector's matchLabels (metav1.Convert_Map_to_LabelSelector: an empty map, an empty
 * selector — which selects every pod in claiming, none in finding an orphan's owners, as
 * kube's). */
static int rc_to_rs(struct jv_doc *d, struct jv *rc)
{
	struct jv *spec = jv_get(rc, "spec"), *sel = jv_get(spec, "selector"), *ls;

	if (!sel || sel->type != JV_OBJECT)
		return 0;
	if (!(ls = jv_new(d, JV_OBJECT)))
		return -ENOMEM;
	if (jv_count(sel) && jv_set(d, ls, "matchLabels", jv_copy(d, sel)) != 0)
		return -ENOMEM;
	return jv_set(d, spec, "selector", ls);
}

/* ...and back (Convert_apps_ReplicaSetSpec_To_v1_ReplicationControllerSpec). */
static int rc_from_rs(struct jv_doc *d, struct jv *rc)
{
	struct jv *spec = jv_get(rc, "spec"), *sel = jv_get(spec, "selector"), *m;

	if (!sel || sel->type != JV_OBJECT)
		return 0;
	m = jv_get(sel, "matchLabels");
	m = m ? jv_copy(d, m) : jv_new(d, JV_OBJECT);
	if (!m)
		return -ENOMEM;
	return jv_set(d, spec, "selector", m);
}

static const struct rs_flavor rc_flavor = {
    .kind = &ctrl_k_replicationcontroller,
    .queue = "replicationmanager",
    .to_rs = rc_to_rs,
    .from_rs = rc_from_rs,
};

static int rc_init(struct ctrl_ctx *c, void **state)
{
	return rs_init_flavor(c, state, &rc_flavor);
}

/* kube-controller-manager's "replicationcontroller" (startReplicationController) */
const struct ctrl_desc ctrl_replicationcontroller = {
    .name = "replicationcontroller",
    .component = "replication-controller",
    .init = rc_init,
    .run = rs_run,
    .stop = rs_stop,
};
