/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemonset: kube-controller-manager's DaemonSet controller (pkg/controller/daemon, 1.32):
 * one pod per node that should run it (daemonset_update.c decides), created with a required
 * node affinity on the node's metadata.name so the scheduler places it, the daemon
 * tolerations, and the current revision's controller-revision-hash label; pods on nodes
 * that should not run it, failed pods, and extra pods deleted; then the RollingUpdate (or
 * nothing for OnDelete), the history cleanup and the status kubectl reads
 * (desired/current/ready/up-to-date/available/misscheduled).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemonset_int.h"
#include "log.h"
#include "podctl.h"
#include "workload.h"

#define COMP "daemonset-controller"

/* ---- handlers ---- */

static void enqueue(struct ds_ctrl *dc, const char *ns, const char *name)
{
	char key[512];

	snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
	kc_queue_add(dc->q, key);
}

static void ds_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	enqueue(arg, jv_path_str(t, "metadata.namespace"), jv_path_str(t, "metadata.name"));
}

static void ds_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	ds_add(arg, cur, cur_t);
}

static void enqueue_all(struct ds_ctrl *dc)
{
	struct kc_obj **objs = NULL;
	size_t n = 0;
	struct jv_doc *d = jv_doc_new();

	if (d && kc_informer_list(dc->dss, NULL, NULL, &objs, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			struct jv *t = kc_obj_parse(objs[i], d);

			if (t)
				ds_add(dc, objs[i], t);
		}
	kc_objs_free(objs, n);
	jv_doc_free(d);
}

static void node_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	(void)t;
	enqueue_all(arg);
}

/* Only what placement reads: labels, taints, the name. */
static void node_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)cur;
	if (old_t &&
	    jv_equal(jv_path(old_t, "metadata.labels"), jv_path(cur_t, "metadata.labels")) &&
	    jv_equal(jv_path(old_t, "spec.taints"), jv_path(cur_t, "spec.taints")))
		return;
	enqueue_all(arg);
}

static bool pod_ds(const struct jv *pod, char *key)
{
	const struct jv *r = ctrl_controller_ref(pod);

	if (!r || !jv_is_str(jv_get(r, "kind"), "DaemonSet"))
		return false;
	snprintf(key, 512, "%s/%s", jv_path_str(pod, "metadata.namespace") ?: "",
		 jv_path_str(r, "name") ?: "");
	return true;
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ds_ctrl *dc = arg;
	char key[512];

	(void)o;
	if (!pod_ds(t, key)) {
		/* an orphan: the DaemonSets that select it may adopt it */
		if (!ctrl_controller_ref(t) && !jv_path(t, "metadata.deletionTimestamp"))
			ctrl_enqueue_selecting(dc->dss, dc->q, t);
		return;
	}
	if (jv_path(t, "metadata.deletionTimestamp"))
		ctrl_expect_observe(dc->exp, key, 0, 1);
	else
		ctrl_expect_observe(dc->exp, key, 1, 0);
	kc_queue_add(dc->q, key);
}

static void pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	struct ds_ctrl *dc = arg;
	char key[512];

	(void)old;
	(void)cur;
	if (!pod_ds(cur_t, key)) {
		if (!ctrl_controller_ref(cur_t) && (!old_t || ctrl_controller_ref(old_t) ||
						    !jv_equal(jv_path(old_t, "metadata.labels"),
							      jv_path(cur_t, "metadata.labels"))))
			ctrl_enqueue_selecting(dc->dss, dc->q, cur_t);
		return;
	}
	if (jv_path(cur_t, "metadata.deletionTimestamp") &&
	    !(old_t && jv_path(old_t, "metadata.deletionTimestamp")))
		ctrl_expect_observe(dc->exp, key, 0, 1);
	kc_queue_add(dc->q, key);
}

static void pod_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ds_ctrl *dc = arg;
	char key[512];

	(void)o;
	if (!pod_ds(t, key))
		return;
	/* observed again if its deletionTimestamp was (as client-go's controllers do): an
	 * immediate delete may carry one too */
	ctrl_expect_observe(dc->exp, key, 0, 1);
	kc_queue_add(dc->q, key);
}

/* ---- the pods of each node ---- */

static int by_age(const void *a, const void *b)
{
	const struct jv *x = *(const struct jv *const *)a, *y = *(const struct jv *const *)b;
	const char *cx = jv_path_str(x, "metadata.creationTimestamp") ?: "";
	const char *cy = jv_path_str(y, "metadata.creationTimestamp") ?: "";
	int c = strcmp(cx, cy);

	return c ? c
		 : strcmp(jv_path_str(x, "metadata.name") ?: "",
			  jv_path_str(y, "metadata.name") ?: "");
}

static struct ds_node *node_of(struct ds_sync *s, const char *name)
{
	for (size_t i = 0; i < s->nnodes; i++)
		if (!strcmp(s->nodes[i].name, name))
			return &s->nodes[i];
	return NULL;
}

/* getNodesToDaemonPods: every node (with should_run), the DaemonSet's pods by node (terminal
 * pods being deleted left out), nodes the cache lacks appended. */
static int group_pods(struct ds_sync *s)
{
	struct kc_obj **objs = NULL;
	size_t nn = 0, np;
	int err;
	/* getDaemonPods: its pods after adopting orphans it selects and releasing the others */
	struct jv **pods = ctrl_claim(s->dc->c, s->dc->pods, ctrl_k_pod, s->ds, ctrl_k_daemonset,
				      NULL, s->d, &np, &err);

	if (err)
		return err;
	if (kc_informer_list(s->dc->nodes, NULL, NULL, &objs, &nn) != 0)
		return -ENOMEM;
	s->nodes = jv_alloc(s->d, (nn + np + 1) * sizeof(*s->nodes));
	if (!s->nodes) {
		kc_objs_free(objs, nn);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nn; i++) {
		struct ds_node *n = &s->nodes[s->nnodes];

		n->node = kc_obj_parse(objs[i], s->d);
		n->name = jv_path_str(n->node, "metadata.name");
		if (!n->name)
			continue;
		ds_node_should_run(s->ds, n->node, &n->should_run, &n->should_continue);
		s->nnodes++;
	}
	kc_objs_free(objs, nn);
	for (size_t i = 0; i < np; i++) {
		const char *ph = jv_path_str(pods[i], "status.phase");
		const char *target = ds_pod_target_node(pods[i]);
		struct ds_node *n;

		if (!target)
			continue;
		if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")) &&
		    jv_path(pods[i], "metadata.deletionTimestamp"))
			continue;
		n = node_of(s, target);
		if (!n) {
			n = &s->nodes[s->nnodes++];
			n->name = target;
		}
		if (!n->pods) {
			n->pods = jv_alloc(s->d, (np + 1) * sizeof(*n->pods));
			if (!n->pods)
				return -ENOMEM;
		}
		n->pods[n->npods++] = pods[i];
	}
	for (size_t i = 0; i < s->nnodes; i++)
		if (s->nodes[i].npods > 1)
			qsort(s->nodes[i].pods, s->nodes[i].npods, sizeof(struct jv *), by_age);
	return 0;
}

/* ---- creating and deleting ---- */

/* The nodes one sync creates daemon pods on. */
struct ds_creates {
	struct ds_sync *s;
	const char **nodes;
};

static int create_on(void *arg, int i)
{
	const struct ds_creates *c = arg;
	struct ds_sync *s = c->s;
	const char *node = c->nodes[i];
	struct jv_doc *d = jv_doc_new();
	struct jv *pod, *spec, *labels, *aff, *req;
	const char *name = jv_path_str(s->ds, "metadata.name");
	const char *gen =
	    jv_path_str(s->ds, "metadata.annotations[deprecated.daemonset.template.generation]");
	char prefix[300];
	char json[600];
	int err;

	if (!d)
		return -ENOMEM;
	snprintf(prefix, sizeof(prefix), "%s-", name);
	pod = ctrl_pod_from_template(d, jv_path(s->ds, "spec.template"), s->ds, ctrl_k_daemonset,
				     prefix);
	if (!pod) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	labels = jv_obj_at(d, jv_get(pod, "metadata"), "labels");
	jv_set(d, labels, "controller-revision-hash", jv_new_strz(d, s->hash));
	if (gen)
		jv_set(d, labels, "pod-template-generation", jv_new_strz(d, gen));
	spec = jv_get(pod, "spec");
	ds_add_tolerations(d, spec);
	/* ReplaceDaemonSetPodNodeNameNodeAffinity: the one required term names the node */
	aff = jv_obj_at(d, jv_obj_at(d, spec, "affinity"), "nodeAffinity");
	snprintf(json, sizeof(json),
		 "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\","
		 "\"operator\":\"In\",\"values\":[\"%s\"]}]}]}",
		 node);
	req = jv_parse(d, json, strlen(json), NULL);
	if (!req) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	jv_set(d, aff, "requiredDuringSchedulingIgnoredDuringExecution", req);
	err = ctrl_pod_create(s->dc->c, jv_path_str(s->ds, "metadata.namespace"), pod, s->ds, NULL);
	jv_doc_free(d);
	return err;
}

/* syncNodes: delete, then create (slow start: 1, 2, 4 ... stop at a failing batch). */
static int sync_nodes(struct ds_sync *s, const char **del, size_t ndel, const char **create,
		      size_t ncreate)
{
	const char *ns = jv_path_str(s->ds, "metadata.namespace");
	int rerr = 0;

	if (!ndel && !ncreate)
		return 0;
	ctrl_expect_set(s->dc->exp, s->key, (int)ncreate, (int)ndel);
	for (size_t i = 0; i < ndel; i++) {
		int err = ctrl_pod_delete(s->dc->c, ns, del[i], s->ds, NULL);

		if (err) {
			ctrl_expect_observe(s->dc->exp, s->key, 0, 1);
			if (err != -ENOENT)
				rerr = err;
		}
	}
	if (ncreate) {
		struct ds_creates c = {s, create};
		int err, done = ctrl_slow_start((int)ncreate, create_on, &c, &err);

		if (err)
			rerr = err;
		/* the pods not made will not be observed */
		ctrl_expect_observe(s->dc->exp, s->key, (int)ncreate - done, 0);
	}
	return rerr;
}

/* ---- the back-off of failed pods (a kubelet that keeps rejecting them) ---- */

static int64_t mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In back-off: the ms left; else 0, and the back-off grows (flowcontrol.Backoff.Next). */
static int64_t failed_backoff(struct ds_sync *s, const char *node)
{
	struct ds_ctrl *dc = s->dc;
	int64_t gen = 0, now = mono_now_ms(), left = 0;
	struct ds_backoff *b;
	char key[600];

	jv_path_int(s->ds, "status.observedGeneration", &gen);
	snprintf(key, sizeof(key), "%s/%lld/%s", jv_path_str(s->ds, "metadata.uid") ?: "",
		 (long long)gen, node);
	pthread_mutex_lock(&dc->lock);
	b = hmap_sget(dc->backoff, key);
	if (b && now - b->last_ms < b->delay_ms) {
		left = b->delay_ms - (now - b->last_ms);
	} else {
		if (!b && (b = calloc(1, sizeof(*b))) && hmap_sput(dc->backoff, key, b, NULL) < 0) {
			free(b);
			b = NULL;
		}
		if (b) {
			/* an entry unused for twice the maximum starts over */
			if (!b->delay_ms || now - b->last_ms > 2 * 900000)
				b->delay_ms = 1000;
			else if ((b->delay_ms *= 2) > 900000)
				b->delay_ms = 900000;
			b->last_ms = now;
		}
	}
	pthread_mutex_unlock(&dc->lock);
	return left;
}

/* manage: podsShouldBeOnNode for every node. *acted: it created or deleted. */
static int manage(struct ds_sync *s, bool *acted)
{
	const char **del = jv_alloc(s->d, (s->nnodes * 4 + 64) * sizeof(*del));
	const char **create = jv_alloc(s->d, (s->nnodes + 1) * sizeof(*create));
	size_t ndel = 0, ncreate = 0, cap = s->nnodes * 4 + 64;
	const char *ns = jv_path_str(s->ds, "metadata.namespace");

	if (!del || !create)
		return -ENOMEM;
	for (size_t i = 0; i < s->nnodes; i++) {
		struct ds_node *n = &s->nodes[i];
		struct jv **running = jv_alloc(s->d, (n->npods + 1) * sizeof(*running));
		size_t nrun = 0;

		if (!running)
			return -ENOMEM;
		if (!n->node) {
			/* the node is gone: its unscheduled pods go (PodGC takes bound ones) */
			for (size_t p = 0; p < n->npods && ndel < cap; p++)
				if (!jv_path_str(n->pods[p], "spec.nodeName") &&
				    !jv_path(n->pods[p], "metadata.deletionTimestamp"))
					del[ndel++] = jv_path_str(n->pods[p], "metadata.name");
			continue;
		}
		if (n->should_run && !n->npods) {
			create[ncreate++] = n->name;
			continue;
		}
		if (!n->should_continue) {
			for (size_t p = 0; p < n->npods && ndel < cap; p++)
				if (!jv_path(n->pods[p], "metadata.deletionTimestamp"))
					del[ndel++] = jv_path_str(n->pods[p], "metadata.name");
			continue;
		}
		for (size_t p = 0; p < n->npods; p++) {
			const struct jv *pod = n->pods[p];
			const char *ph = jv_path_str(pod, "status.phase");

			if (jv_path(pod, "metadata.deletionTimestamp"))
				continue;
			if (ph && !strcmp(ph, "Failed")) {
				int64_t left = failed_backoff(s, n->name);

				if (left > 0) {
					kc_queue_add_after(s->dc->q, s->key, (uint64_t)left);
					continue;
				}
				kc_event(
				    s->dc->c->rec, s->ds, "Warning", "FailedDaemonPod",
				    "Found failed daemon pod %s/%s on node %s, will try to kill "
				    "it",
				    ns, jv_path_str(pod, "metadata.name"), n->name);
				if (ndel < cap)
					del[ndel++] = jv_path_str(pod, "metadata.name");
			} else if (ph && !strcmp(ph, "Succeeded")) {
				if (ndel < cap)
					del[ndel++] = jv_path_str(pod, "metadata.name");
			} else {
				running[nrun++] = n->pods[p];
			}
		}
		if (nrun <= 1)
			continue;
		if (ds_scaled(jv_path(s->ds, "spec.updateStrategy.rollingUpdate.maxSurge"), 1, 0) ==
		    0) {
			/* no surge: the oldest stays */
			for (size_t p = 1; p < nrun && ndel < cap; p++)
				del[ndel++] = jv_path_str(running[p], "metadata.name");
		} else {
			/* surge: the oldest new pod and the oldest old one may stay together while
			 * the new one is not available yet and the old one is ready */
			struct jv *newest = NULL, *oldest = NULL;
			int64_t mr = 0;

			jv_path_int(s->ds, "spec.minReadySeconds", &mr);
			for (size_t p = 0; p < nrun; p++) {
				bool upd = ds_pod_updated(s, running[p]);

				if (upd && !newest)
					newest = running[p];
				else if (!upd && !oldest)
					oldest = running[p];
				else if (ndel < cap)
					del[ndel++] = jv_path_str(running[p], "metadata.name");
			}
			if (newest && oldest && ndel < cap &&
			    (!ctrl_pod_ready(oldest) || ctrl_pod_available(newest, mr, ctrl_now())))
				del[ndel++] = jv_path_str(oldest, "metadata.name");
		}
	}
	*acted = ndel || ncreate;
	return sync_nodes(s, del, ndel, create, ncreate);
}

/* ---- status ---- */

static int update_status(struct ds_sync *s)
{
	int64_t desired = 0, current = 0, mis = 0, ready = 0, avail = 0, updated = 0;
	int64_t min_ready = 0, now = ctrl_now(), gen = 0;
	struct jv *st = jv_obj_at(s->d, s->ds, "status"), *old = jv_copy(s->d, st);
	struct kc_status kst;
	int err;

	jv_path_int(s->ds, "spec.minReadySeconds", &min_ready);
	jv_path_int(s->ds, "metadata.generation", &gen);
	for (size_t i = 0; i < s->nnodes; i++) {
		const struct ds_node *n = &s->nodes[i];

		if (!n->node)
			continue;
		if (!n->should_run) {
			mis += n->npods > 0;
			continue;
		}
		desired++;
		if (!n->npods)
			continue;
		current++;
		if (ctrl_pod_ready(n->pods[0])) {
			ready++;
			if (ctrl_pod_available(n->pods[0], min_ready, now))
				avail++;
		}
		if (ds_pod_updated(s, n->pods[0]))
			updated++;
	}
	jv_set(s->d, st, "currentNumberScheduled", jv_new_int(s->d, current));
	jv_set(s->d, st, "numberMisscheduled", jv_new_int(s->d, mis));
	jv_set(s->d, st, "desiredNumberScheduled", jv_new_int(s->d, desired));
	jv_set(s->d, st, "numberReady", jv_new_int(s->d, ready));
	jv_set(s->d, st, "observedGeneration", jv_new_int(s->d, gen));
	jv_set(s->d, st, "updatedNumberScheduled", jv_new_int(s->d, updated));
	jv_set(s->d, st, "numberAvailable", jv_new_int(s->d, avail));
	jv_set(s->d, st, "numberUnavailable", jv_new_int(s->d, desired - avail));
	/* zero counts are omitted, as Go's omitempty writes them */
	if (!avail)
		jv_del(st, "numberAvailable");
	if (desired - avail == 0)
		jv_del(st, "numberUnavailable");
	if (!updated)
		jv_del(st, "updatedNumberScheduled");
	if (min_ready > 0 && ready != avail)
		kc_queue_add_after(s->dc->q, s->key, (uint64_t)min_ready * 1000);
	if (jv_equal(old, st))
		return 0;
	err = kc_update(s->dc->c->kc, ctrl_k_daemonset, jv_path_str(s->ds, "metadata.namespace"),
			"status", s->ds, NULL, NULL, &kst);
	if (err == -KC_ECONFLICT)
		return -EAGAIN;
	if (err && err != -ENOENT)
		log_warn(COMP, "daemonset %s: status: %s", s->key, kst.message);
	return err == -ENOENT ? 0 : err;
}

/* ---- the sync ---- */

static int sync_ds(void *arg, const char *key)
{
	struct ds_ctrl *dc = arg;
	struct ds_sync s = {.dc = dc, .key = key};
	char kbuf[512], *ns, *name;
	int err = 0, serr;

	snprintf(kbuf, sizeof(kbuf), "%s", key);
	kc_key_split(kbuf, &ns, &name);
	s.d = jv_doc_new();
	if (!s.d)
		return -ENOMEM;
	s.ds = ctrl_cached(dc->dss, ns, name, s.d);
	if (!s.ds) {
		ctrl_expect_delete(dc->exp, key);
		goto out;
	}
	if (jv_path(s.ds, "metadata.deletionTimestamp"))
		goto out;
	err = ds_history(&s);
	if (err)
		goto out;
	err = group_pods(&s);
	if (err)
		goto out;
	if (ctrl_expect_satisfied(dc->exp, key)) {
		bool acted = false;

		err = manage(&s, &acted);
		/* the rolling update works on this view only if manage left it as it was */
		if (!acted && ctrl_expect_satisfied(dc->exp, key) &&
		    jv_is_str(jv_path(s.ds, "spec.updateStrategy.type"), "RollingUpdate")) {
			const char **del, **create;
			size_t ndel, ncreate;
			int uerr;

			ds_rolling_update(&s, &del, &ndel, &create, &ncreate);
			uerr = sync_nodes(&s, del, ndel, create, ncreate);
			err = err ? err : uerr;
		}
		ds_history_cleanup(&s);
	}
	serr = update_status(&s);
	err = err ? err : serr;
out:
	jv_doc_free(s.d);
	return err;
}

/* ---- lifecycle ---- */

static int ds_init(struct ctrl_ctx *c, void **state)
{
	struct ds_ctrl *dc = calloc(1, sizeof(*dc));
	struct kc_handlers dh = {.add = ds_add, .update = ds_update, .del = ds_add};
	struct kc_handlers nh = {.add = node_add, .update = node_update, .del = node_add};
	struct kc_handlers ph = {.add = pod_add, .update = pod_update, .del = pod_del};

	*state = dc;
	if (!dc)
		return -ENOMEM;
	dc->c = c;
	dc->q = kc_queue_new("daemonset");
	dc->exp = ctrl_expect_new();
	pthread_mutex_init(&dc->lock, NULL);
	dc->backoff = hmap_new();
	dc->dss = ctrl_informer(c, ctrl_k_daemonset);
	dc->pods = ctrl_informer(c, ctrl_k_pod);
	dc->nodes = ctrl_informer(c, ctrl_k_node);
	dc->revs = ctrl_informer(c, ctrl_k_controllerrevision);
	if (!dc->q || !dc->exp || !dc->backoff || !dc->dss || !dc->pods || !dc->nodes || !dc->revs)
		return -ENOMEM;
	if (ctrl_claim_indexes(c, ctrl_k_pod) || ctrl_owner_index(c, ctrl_k_controllerrevision))
		return -ENOMEM;
	dh.arg = nh.arg = ph.arg = dc;
	if (kc_informer_add_handlers(dc->dss, &dh) || kc_informer_add_handlers(dc->nodes, &nh) ||
	    kc_informer_add_handlers(dc->pods, &ph))
		return -ENOMEM;
	return 0;
}

static int ds_run(void *state)
{
	struct ds_ctrl *dc = state;

	dc->w = kc_workers_start(dc->q, dc->c->cfg->workers, sync_ds, dc, "daemonset");
	return dc->w ? 0 : -ENOMEM;
}

/* The workers stop (no sync runs after it); handlers may still add to the shut queue. */
static void ds_quiesce(void *state)
{
	struct ds_ctrl *dc = state;

	if (!dc)
		return;
	ctrl_queue_quiesce(&dc->w, dc->q);
}

static void ds_stop(void *state)
{
	struct ds_ctrl *dc = state;

	if (!dc)
		return;
	ds_quiesce(dc);
	kc_queue_free(dc->q);
	ctrl_expect_free(dc->exp);
	if (dc->backoff) {
		for (struct hmap_entry *it = hmap_first(dc->backoff); it;
		     it = hmap_next(dc->backoff, it))
			free(hmap_entry_val(it));
		hmap_free(dc->backoff);
	}
	pthread_mutex_destroy(&dc->lock);
	free(dc);
}

const struct ctrl_desc ctrl_daemonset = {
    .name = "daemonset",
    .component = "daemonset-controller",
    .init = ds_init,
    .run = ds_run,
    .stop = ds_stop,
    .quiesce = ds_quiesce,
};
