/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodelifecycle: kube-controller-manager's node lifecycle controller
 * (pkg/controller/nodelifecycle). Every node renews its Lease in kube-node-lease (and posts
 * its status); a node heard from neither for --node-grace gets its Ready, MemoryPressure,
 * DiskPressure and PIDPressure conditions set Unknown ("Kubelet stopped posting node
 * status."), its pods marked not Ready, and — as fast as its zone's rate limit allows — the
 * taint node.kubernetes.io/unreachable:NoExecute (not-ready when the node itself reports
 * Ready=False); the taint eviction controller (tainteviction.c) then evicts the pods that
 * do not tolerate it. Conditions also map to NoSchedule taints (TaintNodesByCondition).
 * A node Ready again loses the taints. When every zone has no Ready node at all the
 * controller assumes its own connectivity failed: it removes the NoExecute taints and
 * taints nothing ("master disruption mode"); a zone mostly down (partial disruption) is
 * tainted slower, or not at all when small (nodelifecycle_zone.c).
 *
 * One thread runs the health monitor (every grace/8, 100 ms to 5 s, as 5 s is to 40 s in
 * Kubernetes) and, every 100 ms, the tainting pass; queues handle node updates (NoSchedule
 * taints, beta labels) and newly bound pods.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "nodelifecycle_int.h"

#define COMP		    "node-lifecycle-controller"
#define EVICTION_PERIOD_MS  100 /* scheduler.NodeEvictionPeriod */
#define HEALTH_UPDATE_RETRY 5	/* scheduler.NodeHealthUpdateRetry */
#define LABEL_EXCLUDE	    "node.kubernetes.io/exclude-disruption"

static void node_event(struct nl_ctrl *s, const char *name, const char *uid, const char *reason,
		       const char *fmt, const char *what)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *ref = d ? ctrl_obj_ref(d, "v1", "Node", NULL, name, uid ?: "") : NULL;

	if (ref)
		kc_event(s->c->rec, ref, "Normal", reason, fmt, name, what);
	jv_doc_free(d);
}

/* classifyNodes: nodes new to the controller are registered (and start untainted),
 * nodes gone are forgotten; a known node in a zone not seen yet makes the zone. */
static void classify(struct nl_ctrl *s, struct jv **nodes, size_t n)
{
	struct hmap *seen = hmap_new();
	char **gone = NULL;
	size_t ngone = 0;

	if (!seen)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *name = jv_path_str(nodes[i], "metadata.name");
		const char *uid = jv_path_str(nodes[i], "metadata.uid");
		char msg[600];
		bool removed;

		if (!name)
			continue;
		hmap_sput(seen, name, (void *)1, NULL);
		nl_zone_of(s, nodes[i], true);
		if (hmap_sget(s->known, name))
			continue;
		snprintf(msg, sizeof(msg), "Registered Node %s in Controller", name);
		node_event(s, name, uid, "RegisteredNode", "Node %s event: %s", msg);
		hmap_sput(s->known, name, strdup(uid ? uid : ""), NULL);
		nl_mark_reachable(s, nodes[i], &removed);
	}
	gone = calloc(hmap_size(s->known) + 1, sizeof(*gone));
	for (struct hmap_entry *it = hmap_first(s->known); gone && it;
	     it = hmap_next(s->known, it)) {
		size_t klen;
		const char *k = hmap_entry_key(it, &klen);

		if (!hmap_get(seen, k, klen))
			gone[ngone++] = strndup(k, klen);
	}
	for (size_t i = 0; i < ngone; i++) {
		char msg[600], *uid;

		if (!gone[i])
			continue;
		uid = hmap_sdel(s->known, gone[i]);
		snprintf(msg, sizeof(msg), "Removing Node %s from Controller", gone[i]);
		node_event(s, gone[i], uid, "RemovingNode", "Node %s event: %s", msg);
		free(uid);
		free(gone[i]);
	}
	free(gone);
	hmap_free(seen);
}

static bool retry_has(struct nl_ctrl *s, const char *name)
{
	bool has;

	pthread_mutex_lock(&s->lock);
	has = hmap_sget(s->retry, name) != NULL;
	pthread_mutex_unlock(&s->lock);
	return has;
}

static void retry_set(struct nl_ctrl *s, const char *name, bool on)
{
	pthread_mutex_lock(&s->lock);
	if (on)
		hmap_sput(s->retry, name, (void *)1, NULL);
	else
		hmap_sdel(s->retry, name);
	pthread_mutex_unlock(&s->lock);
}

/* One node's pass of monitorNodeHealth. */
static void check_node(struct nl_ctrl *s, struct jv_doc *d, struct jv *node, struct hmap *counts)
{
	const char *name = jv_path_str(node, "metadata.name");
	struct jv *observed = NULL, *current = NULL;
	bool ok = false, mark = false;

	for (int attempt = 0; attempt < HEALTH_UPDATE_RETRY && node; attempt++) {
		struct kc_obj *fresh = NULL;
		struct kc_status st;

		if (nl_try_update_health(s, d, node, &observed, &current) == 0) {
			ok = true;
			break;
		}
		/* stale: the server's version */
		node = NULL;
		if (kc_get(s->c->kc, ctrl_k_node, NULL, name, &fresh, &st) == 0)
			node = kc_obj_parse(fresh, d);
		kc_obj_put(fresh);
	}
	if (!ok) {
		log_error(COMP,
			  "update health of node %s from controller error, skipping - no pods "
			  "will be evicted",
			  name);
		return;
	}
	if (!jv_path(node, "metadata.labels[" LABEL_EXCLUDE "]"))
		nl_count_zone(counts, node, current);
	if (!current)
		return;
	nl_taint_based_eviction(s, node, observed);
	if (!jv_is_str(jv_get(current, "status"), "True") &&
	    jv_is_str(jv_get(observed, "status"), "True")) {
		/* once, when the status changes */
		node_event(s, name, jv_path_str(node, "metadata.uid"), "NodeNotReady",
			   "Node %s status is now: %s", "NodeNotReady");
		mark = true;
	} else if (retry_has(s, name) && !jv_is_str(jv_get(observed, "status"), "True")) {
		mark = true;
	}
	if (mark && nl_mark_pods_not_ready(s, name) != 0) {
		log_info(COMP, "unable to mark all pods NotReady on node %s; queuing for retry",
			 name);
		retry_set(s, name, true);
		return;
	}
	retry_set(s, name, false);
}

/* monitorNodeHealth */
static void monitor(struct nl_ctrl *s)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_obj **objs = NULL;
	struct jv **nodes = NULL;
	struct hmap *counts = hmap_new();
	size_t n = 0;

	if (!d || !counts || kc_informer_list(s->nn.nodes, NULL, NULL, &objs, &n) != 0)
		goto out;
	nodes = jv_alloc(d, (n + 1) * sizeof(*nodes));
	for (size_t i = 0; nodes && i < n; i++)
		if (!(nodes[i] = kc_obj_parse(objs[i], d)))
			goto out;
	if (!nodes)
		goto out;
	classify(s, nodes, n);
	for (size_t i = 0; i < n; i++)
		check_node(s, d, nodes[i], counts);
	nl_handle_disruption(s, counts, nodes, n);
out:
	for (struct hmap_entry *it = counts ? hmap_first(counts) : NULL; it;
	     it = hmap_next(counts, it))
		free(hmap_entry_val(it));
	hmap_free(counts);
	kc_objs_free(objs, n);
	jv_doc_free(d);
}

static void *run_loop(void *arg)
{
	struct nl_ctrl *s = arg;
	int64_t next = 0;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		struct timespec until;

		pthread_mutex_unlock(&s->lock);
		if (nl_mono_ms() >= next) {
			monitor(s);
			next = nl_mono_ms() + s->period_ms;
		}
		nl_tainting_pass(s);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += EVICTION_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->lock);
		if (!s->stop)
			pthread_cond_timedwait(&s->cond, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- queues ---- */

/* A node update: its NoSchedule taints and labels (errors are logged; the next update or
 * resync tries again, as in Kubernetes). */
static int sync_node(void *arg, const char *name)
{
	struct nl_ctrl *s = arg;

	nl_noschedule_pass(&s->nn, name);
	nl_reconcile_labels(&s->nn, name);
	return 0;
}

/* processPod: a pod newly bound to a node that is not Ready is marked not Ready. */
static int sync_pod(void *arg, const char *key)
{
	struct nl_ctrl *s = arg;
	char buf[512], *ns, *name;
	struct kc_obj *o, *no;
	struct jv_doc *d;
	struct jv *pod;
	struct nl_health h;
	const char *node;
	int err = 0;

	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	o = kc_informer_get(s->nn.pods, ns, name);
	if (!o)
		return 0;
	d = jv_doc_new();
	pod = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	node = jv_path_str(pod, "spec.nodeName");
	if (!pod || !node || !nl_health_get(s, node, &h))
		goto out; /* not gathered yet, or removed */
	no = kc_informer_get(s->nn.nodes, NULL, node);
	if (!no) {
		err = -EAGAIN;
		goto out;
	}
	kc_obj_put(no);
	if (h.has_ready && strcmp(h.status, "True") != 0 && nl_mark_pod_not_ready(s, d, pod) != 0)
		err = -EAGAIN;
out:
	jv_doc_free(d);
	return pod || !d ? err : -ENOMEM;
}

static void node_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct nl_ctrl *s = arg;
	const char *name = jv_path_str(t, "metadata.name");

	(void)o;
	if (name)
		kc_queue_add(s->nodeq, name);
}

static void node_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	node_add(arg, cur, cur_t);
}

static void node_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct nl_ctrl *s = arg;

	(void)o;
	if (jv_path_str(t, "metadata.name"))
		retry_set(s, jv_path_str(t, "metadata.name"), false);
}

static void pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	struct nl_ctrl *s = arg;
	const char *node = jv_path_str(cur_t, "spec.nodeName");
	char key[512];

	(void)old;
	(void)cur;
	/* podUpdated: only a pod newly bound */
	if (!node || !node[0] || (old_t && jv_is_str(jv_path(old_t, "spec.nodeName"), node)))
		return;
	if (kc_key_of(cur_t, key, sizeof(key)))
		kc_queue_add(s->podq, key);
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	pod_update(arg, NULL, NULL, o, t);
}

/* ---- lifecycle ---- */

static int nl_init(struct ctrl_ctx *c, void **state)
{
	struct nl_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers nodeh = {.add = node_add, .update = node_update, .del = node_del};
	struct kc_handlers podh = {.add = pod_add, .update = pod_update};
	const struct ctrl_config *cfg = c->cfg;
	pthread_condattr_t ca;

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->grace_ms = (int64_t)(cfg->node_grace_s ? cfg->node_grace_s : 10) * 1000;
	/* nodeStartupGracePeriod is 60 s to the 40 s of nodeMonitorGracePeriod */
	s->startup_grace_ms = s->grace_ms * 3 / 2;
	s->period_ms = s->grace_ms / 8;
	if (s->period_ms < 100)
		s->period_ms = 100;
	if (s->period_ms > 5000)
		s->period_ms = 5000;
	s->rates = (struct nl_rates){
	    .eviction = cfg->node_eviction_rate > 0 ? cfg->node_eviction_rate : 0.1,
	    .secondary =
		cfg->secondary_node_eviction_rate > 0 ? cfg->secondary_node_eviction_rate : 0.01,
	    .unhealthy_threshold =
		cfg->unhealthy_zone_threshold > 0 ? cfg->unhealthy_zone_threshold : 0.55,
	    .large_cluster = cfg->large_cluster_size ? cfg->large_cluster_size : 50,
	};
	s->health = hmap_new();
	s->zones = hmap_new();
	s->known = hmap_new();
	s->retry = hmap_new();
	s->nodeq = kc_queue_new("node_lifecycle_controller");
	s->podq = kc_queue_new("node_lifecycle_controller_pods");
	s->nn.kc = c->kc;
	s->nn.nodes = ctrl_informer(c, ctrl_k_node);
	s->nn.pods = ctrl_informer(c, ctrl_k_pod);
	s->nn.leases = ctrl_informer(c, ctrl_k_lease);
	if (!s->health || !s->zones || !s->known || !s->retry || !s->nodeq || !s->podq ||
	    !s->nn.nodes || !s->nn.pods || !s->nn.leases)
		return -ENOMEM;
	nodeh.arg = podh.arg = s;
	if (ctrl_informer_index(c, ctrl_k_pod, NL_IDX_NODE, kc_index_node_name) != 0 ||
	    kc_informer_add_handlers(s->nn.nodes, &nodeh) != 0 ||
	    kc_informer_add_handlers(s->nn.pods, &podh) != 0)
		return -ENOMEM;
	return 0;
}

static int nl_run(void *state)
{
	struct nl_ctrl *s = state;

	s->nodew = kc_workers_start(s->nodeq, 2, sync_node, s, "nodelifecycle");
	s->podw = kc_workers_start(s->podq, 1, sync_pod, s, "nodelifecycle-pods");
	if (!s->nodew || !s->podw)
		return -ENOMEM;
	if (pthread_create(&s->thread, NULL, run_loop, s) != 0)
		return -EAGAIN;
	s->thread_started = true;
	return 0;
}

static void free_vals(struct hmap *m)
{
	for (struct hmap_entry *it = m ? hmap_first(m) : NULL; it; it = hmap_next(m, it))
		free(hmap_entry_val(it));
	hmap_free(m);
}

static void nl_stop(void *state)
{
	struct nl_ctrl *s = state;

	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	ctrl_queue_close(s->nodew, s->nodeq);
	ctrl_queue_close(s->podw, s->podq);
	for (struct hmap_entry *it = s->zones ? hmap_first(s->zones) : NULL; it;
	     it = hmap_next(s->zones, it))
		nl_tq_release(&((struct nl_zone *)hmap_entry_val(it))->tq);
	free_vals(s->zones);
	free_vals(s->health);
	free_vals(s->known);
	hmap_free(s->retry);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const struct ctrl_desc ctrl_nodelifecycle = {
    .name = "nodelifecycle",
    .component = "node-controller",
    .init = nl_init,
    .run = nl_run,
    .stop = nl_stop,
};
