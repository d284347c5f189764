/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tainteviction: kube-controller-manager's taint eviction controller
 * (pkg/controller/tainteviction). A pod on a node with NoExecute taints it does not all
 * tolerate is deleted at once; one that tolerates them for a while is deleted when the
 * shortest tolerationSeconds of the tolerations it uses has passed since the controller saw
 * the taint; one that tolerates them forever stays — seed 003's "forgiveness": a pod
 * tolerating unreachable for an hour stays bound and simply runs again when its node
 * returns. The taints gone (the node back), pending deletions are cancelled. Deletion is
 * graceful (a pod on an unreachable node stays Terminating, as in Kubernetes) after the
 * DisruptionTarget condition; Events TaintManagerEviction say both.
 *
 * Node and pod changes go through one queue ("n/<node>", "p/<ns>/<name>"); the deletions
 * waiting for their time are TimedWorkers: a map of pod -> (created, fire time) and a
 * delayed queue that fires them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hmap.h"
#include "log.h"
#include "nodelifecycle_int.h"

#define COMP	       "taint-eviction-controller"
#define DELETE_RETRIES 5

struct work {
	int64_t created_ms, fire_ms;
	bool done; /* fired and succeeded: kept so that it is not added again (TimedWorkerQueue) */
};

struct tainted {
	struct jv_doc *d;
	struct jv *taints;
};

static void tainted_free(struct tainted *t)
{
	if (!t)
		return;
	jv_doc_free(t->d);
	free(t);
}

struct te_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *pods, *nodes;
	struct kc_queue *q, *evq;
	struct kc_workers *w, *evw;
	pthread_mutex_t lock;
	struct hmap *tainted; /* node -> struct tainted: its NoExecute taints (taintedNodes) */
	struct hmap *work;    /* "ns/name" -> struct work */
};

/* ---- tolerations ---- */

/* Toleration.ToleratesTaint */
static bool tolerates(const struct jv *tol, const struct jv *taint)
{
	const char *effect = jv_path_str(tol, "effect"), *key = jv_path_str(tol, "key");
	const char *op = jv_path_str(tol, "operator");

	if (effect && effect[0] && !jv_equal(jv_get(tol, "effect"), jv_get(taint, "effect")))
		return false;
	if (key && key[0] && !jv_equal(jv_get(tol, "key"), jv_get(taint, "key")))
		return false;
	if (!op || !op[0] || strcmp(op, "Equal") == 0)
		return strcmp(jv_path_str(tol, "value") ?: "", jv_path_str(taint, "value") ?: "") ==
		       0;
	return strcmp(op, "Exists") == 0;
}

/* GetMatchingTolerations, then getMinTolerationTime: -2 if a taint is not tolerated,
 * -1 if tolerated forever, else the shortest tolerationSeconds in ms (0 for none or <= 0). */
static int64_t toleration_ms(const struct jv *tolerations, const struct jv *taints)
{
	int64_t min = -1;
	bool any_used = false;

	for (const struct jv *t = jv_first(taints); t; t = t->next) {
		const struct jv *used = NULL;
		int64_t secs;

		for (const struct jv *tol = jv_first(tolerations); tol && !used; tol = tol->next)
			if (tolerates(tol, t))
				used = tol;
		if (!used)
			return -2;
		any_used = true;
		if (jv_path_int(used, "tolerationSeconds", &secs) != 0)
			continue;
		if (secs <= 0)
			return 0;
		if (min < 0 || secs * 1000 < min)
			min = secs * 1000;
	}
	return any_used ? min : 0;
}

/* ---- the timed deletions ---- */

static void emit(struct te_ctrl *s, const char *key, const char *what)
{
	char buf[512], *ns, *name;
	struct jv_doc *d = jv_doc_new();
	struct jv *ref;

	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	/* an ObjectReference of the pod by name only, as the controller's */
	ref = d && ns ? ctrl_obj_ref(d, "v1", "Pod", ns, name, NULL) : NULL;
	if (ref)
		kc_event(s->c->rec, ref, "Normal", "TaintManagerEviction", "%s Pod %s", what, key);
	jv_doc_free(d);
}

/* CancelWork (with its Event, if there was work, done or not). Locked. */
static void cancel(struct te_ctrl *s, const char *key)
{
	struct work *w = hmap_sdel(s->work, key);

	if (!w)
		return;
	free(w);
	emit(s, key, "Cancelling deletion of");
}

/* AddWork: nothing if there is work for the pod already. Locked. */
static void add_work(struct te_ctrl *s, const char *key, int64_t created, int64_t fire)
{
	struct work *w;
	int64_t now = nl_mono_ms();

	if (hmap_sget(s->work, key))
		return;
	w = calloc(1, sizeof(*w));
	if (!w || hmap_sput(s->work, key, w, NULL) < 0) {
		free(w);
		return;
	}
	w->created_ms = created;
	w->fire_ms = fire;
	kc_queue_add_after(s->evq, key, fire > now ? (uint64_t)(fire - now) : 0);
}

/* processPodOnNode. Locked. */
static void process_pod(struct te_ctrl *s, const char *key, const struct jv *tolerations,
			const struct jv *taints, int64_t now)
{
	int64_t min = toleration_ms(tolerations, taints);
	struct work *w;
	int64_t start = now;

	if (!jv_count(taints)) {
		cancel(s, key);
		return;
	}
	if (min == -2) {
		/* a taint it does not tolerate: now */
		cancel(s, key);
		add_work(s, key, now, now);
		return;
	}
	if (min < 0) {
		cancel(s, key);
		return;
	}
	w = hmap_sget(s->work, key);
	if (w && !w->done) {
		/* scheduled already from an earlier time: kept */
		start = w->created_ms;
		if (start + min < now + min)
			return;
		cancel(s, key);
	}
	add_work(s, key, start, start + min);
}

/* addConditionAndDeletePod: DisruptionTarget, then a graceful delete. */
static int evict(struct te_ctrl *s, const char *ns, const char *name)
{
	struct kc_status st;
	struct kc_obj *o = NULL;
	struct jv_doc *d;
	struct jv *pod;
	int err = kc_get(s->c->kc, ctrl_k_pod, ns, name, &o, &st);

	if (err)
		return err;
	d = jv_doc_new();
	pod = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	if (!pod) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	if (ctrl_set_condition(d, pod, "DisruptionTarget", "True", "DeletionByTaintManager",
			       "Taint manager: deleting due to NoExecute taint")) {
		err = kc_update(s->c->kc, ctrl_k_pod, ns, "status", pod, NULL, NULL, &st);
		if (err) {
			jv_doc_free(d);
			return err;
		}
	}
	/* being deleted already (evicted before, the taints changed since): Kubernetes'
	 * API would leave the pending graceful deletion as it is; a server that forces it
	 * instead would end a pod its node may still run */
	if (jv_path(pod, "metadata.deletionTimestamp")) {
		jv_doc_free(d);
		return 0;
	}
	jv_doc_free(d);
	return kc_delete(s->c->kc, ctrl_k_pod, ns, name, NULL, NULL, &st);
}

/* A timed deletion is due (or was moved, or cancelled). */
static int fire(void *arg, const char *key)
{
	struct te_ctrl *s = arg;
	char buf[512], *ns, *name;
	int64_t now = nl_mono_ms();
	struct work *w;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	w = hmap_sget(s->work, key);
	if (!w || w->done) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (w->fire_ms > now) {
		kc_queue_add_after(s->evq, key, (uint64_t)(w->fire_ms - now));
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	w->done = true;
	pthread_mutex_unlock(&s->lock);
	log_info(COMP, "deleting pod %s", key);
	emit(s, key, "Marking for deletion");
	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	for (int i = 0; i < DELETE_RETRIES; i++) {
		err = evict(s, ns, name);
		if (!err || err == -ENOENT)
			break;
		usleep(10000);
	}
	if (err && err != -ENOENT) {
		log_warn(COMP, "deleting pod %s: %s", key, kc_strerror(err));
		/* failed: forgotten, so that the next change schedules it again */
		pthread_mutex_lock(&s->lock);
		free(hmap_sdel(s->work, key));
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

/* ---- node and pod changes ---- */

/* The node's NoExecute taints, into d. */
static struct jv *noexecute(struct jv_doc *d, const struct jv *node)
{
	struct jv *out = jv_new(d, JV_ARRAY);

	for (const struct jv *t = jv_first(jv_path(node, "spec.taints")); out && t; t = t->next)
		if (jv_is_str(jv_get(t, "effect"), "NoExecute"))
			jv_push(out, jv_copy(d, t));
	return out;
}

static int handle_node(struct te_ctrl *s, const char *name)
{
	struct kc_obj *o = kc_informer_get(s->nodes, NULL, name), **pods = NULL;
	struct tainted *t = calloc(1, sizeof(*t));
	struct jv_doc *d = jv_doc_new();
	size_t n = 0;
	int64_t now = nl_mono_ms();
	bool any;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (!o) {
		/* deleted */
		tainted_free(hmap_sdel(s->tainted, name));
		goto out;
	}
	if (!t || !d) {
		err = -ENOMEM;
		goto out;
	}
	t->d = jv_doc_new();
	t->taints = t->d ? noexecute(t->d, kc_obj_parse(o, t->d)) : NULL;
	if (!t->taints) {
		err = -ENOMEM;
		goto out;
	}
	/* the taints are known before the pods are read: a pod event after this sees them */
	tainted_free(hmap_sdel(s->tainted, name));
	any = t->taints->len > 0;
	if (any) {
		if (hmap_sput(s->tainted, name, t, NULL) < 0) {
			err = -ENOMEM;
			goto out;
		}
		t = NULL;
	}
	if (kc_informer_list(s->pods, NL_IDX_NODE, name, &pods, &n) != 0) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct jv *pod = kc_obj_parse(pods[i], d);
		struct tainted *cur = any ? hmap_sget(s->tainted, name) : NULL;
		char key[512];

		if (!pod || !kc_key_of(pod, key, sizeof(key)))
			continue;
		if (cur)
			process_pod(s, key, jv_path(pod, "spec.tolerations"), cur->taints, now);
		else
			cancel(s, key); /* every taint gone: every eviction cancelled */
	}
out:
	pthread_mutex_unlock(&s->lock);
	kc_obj_put(o);
	kc_objs_free(pods, n);
	tainted_free(t);
	jv_doc_free(d);
	return err;
}

static int handle_pod(struct te_ctrl *s, const char *key)
{
	char buf[512], *ns, *name;
	struct kc_obj *o;
	struct jv_doc *d = jv_doc_new();
	struct tainted *t;
	struct jv *pod;
	const char *node;

	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	o = kc_informer_get(s->pods, ns, name);
	pthread_mutex_lock(&s->lock);
	if (!o) {
		cancel(s, key); /* deleted */
		pthread_mutex_unlock(&s->lock);
		jv_doc_free(d);
		return 0;
	}
	pod = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	node = jv_path_str(pod, "spec.nodeName");
	/* no taints known: nothing scheduled, or cancelled with them */
	t = node && node[0] ? hmap_sget(s->tainted, node) : NULL;
	if (t)
		process_pod(s, key, jv_path(pod, "spec.tolerations"), t->taints, nl_mono_ms());
	pthread_mutex_unlock(&s->lock);
	jv_doc_free(d);
	return pod ? 0 : -ENOMEM;
}

static int sync_key(void *arg, const char *key)
{
	struct te_ctrl *s = arg;

	if (strncmp(key, "n/", 2) == 0)
		return handle_node(s, key + 2);
	return handle_pod(s, key + 2);
}

static void node_changed(struct te_ctrl *s, const struct jv *old, const struct jv *cur)
{
	const struct jv *n = cur ? cur : old;
	char key[512];

	/* only a change of its NoExecute taints matters */
	if (old && cur) {
		struct jv_doc *d = jv_doc_new();
		bool same = d && jv_equal(noexecute(d, old), noexecute(d, cur));

		jv_doc_free(d);
		if (same)
			return;
	}
	snprintf(key, sizeof(key), "n/%s", jv_path_str(n, "metadata.name") ?: "");
	kc_queue_add(s->q, key);
}

static void node_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	node_changed(arg, NULL, t);
}

static void node_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)cur;
	node_changed(arg, old_t, cur_t);
}

static void node_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	node_changed(arg, t, NULL);
}

static void pod_changed(struct te_ctrl *s, const struct jv *old, const struct jv *cur)
{
	const struct jv *p = cur ? cur : old;
	char key[600], k[512];

	/* only its tolerations or its node matter */
	if (old && cur &&
	    jv_equal(jv_path(old, "spec.tolerations"), jv_path(cur, "spec.tolerations")) &&
	    jv_equal(jv_path(old, "spec.nodeName"), jv_path(cur, "spec.nodeName")))
		return;
	if (!kc_key_of(p, k, sizeof(k)))
		return;
	snprintf(key, sizeof(key), "p/%s", k);
	kc_queue_add(s->q, key);
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	pod_changed(arg, NULL, t);
}

static void pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)cur;
	pod_changed(arg, old_t, cur_t);
}

static void pod_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	pod_changed(arg, t, NULL);
}

/* ---- lifecycle ---- */

static int te_init(struct ctrl_ctx *c, void **state)
{
	struct te_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers nodeh = {.add = node_add, .update = node_update, .del = node_del};
	struct kc_handlers podh = {.add = pod_add, .update = pod_update, .del = pod_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	pthread_mutex_init(&s->lock, NULL);
	s->tainted = hmap_new();
	s->work = hmap_new();
	s->q = kc_queue_new("noexec_taint");
	s->evq = kc_queue_new("noexec_taint_eviction");
	s->pods = ctrl_informer(c, ctrl_k_pod);
	s->nodes = ctrl_informer(c, ctrl_k_node);
	if (!s->tainted || !s->work || !s->q || !s->evq || !s->pods || !s->nodes)
		return -ENOMEM;
	nodeh.arg = podh.arg = s;
	if (ctrl_informer_index(c, ctrl_k_pod, NL_IDX_NODE, kc_index_node_name) != 0 ||
	    kc_informer_add_handlers(s->nodes, &nodeh) != 0 ||
	    kc_informer_add_handlers(s->pods, &podh) != 0)
		return -ENOMEM;
	return 0;
}

static int te_run(void *state)
{
	struct te_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_key, s, "taint-eviction");
	s->evw = kc_workers_start(s->evq, 2, fire, s, "taint-eviction-work");
	return s->w && s->evw ? 0 : -ENOMEM;
}

static void te_stop(void *state)
{
	struct te_ctrl *s = state;

	if (!s)
		return;
	/* the change workers queue timed deletions: they stop first */
	ctrl_queue_close(s->w, s->q);
	ctrl_queue_close(s->evw, s->evq);
	for (struct hmap_entry *it = s->tainted ? hmap_first(s->tainted) : NULL; it;
	     it = hmap_next(s->tainted, it))
		tainted_free(hmap_entry_val(it));
	hmap_free(s->tainted);
	for (struct hmap_entry *it = s->work ? hmap_first(s->work) : NULL; it;
	     it = hmap_next(s->work, it))
		free(hmap_entry_val(it));
	hmap_free(s->work);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const struct ctrl_desc ctrl_tainteviction = {
    .name = "taint-eviction-controller",
    .component = "taint-eviction-controller",
    .init = te_init,
    .run = te_run,
    .stop = te_stop,
};
