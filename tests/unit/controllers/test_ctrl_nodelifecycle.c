/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_nodelifecycle: the node lifecycle and taint eviction controllers with a grace
 * of 2 s. A node whose Lease stops goes Unknown and is tainted unreachable; a pod that does
 * not tolerate it is evicted at once, one tolerating it 2 s after, one tolerating it for an
 * hour stays and is simply there when the Lease resumes and the taints go (seed 003's
 * forgiveness); admission's default toleration evicts after its seconds; a node that says
 * it is not Ready is tainted not-ready; when every node is down nothing is evicted (master
 * disruption mode); two nodes of a zone are tainted no faster than the eviction rate; and
 * the zone states, the bucket and the timed queue on their own. The test plays the
 * kubelets: a thread renews the Leases of the nodes it keeps alive and posts their status.
 * Orders are asserted from a pods watch and from the times the objects carry, never from
 * the test's own clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl_helpers.h"
#include "nodelifecycle_int.h"

#define NS   "default"
#define MAXN 8

/* ---- the kubelets ---- */

struct kubelets {
	struct cenv *e;
	pthread_t thread;
	pthread_mutex_t mu;
	bool stop;
	size_t n;
	struct {
		char name[32];
		bool alive;
		char ready[8]; /* the Ready status it reports */
	} node[MAXN];
};

static void *kubelet_loop(void *arg)
{
	struct kubelets *k = arg;

	for (;;) {
		pthread_mutex_lock(&k->mu);
		if (k->stop) {
			pthread_mutex_unlock(&k->mu);
			return NULL;
		}
		for (size_t i = 0; i < k->n; i++) {
			struct jv_doc *d;
			struct jv *node;
			char name[32], ready[8];

			if (!k->node[i].alive)
				continue;
			snprintf(name, sizeof(name), "%s", k->node[i].name);
			snprintf(ready, sizeof(ready), "%s", k->node[i].ready);
			pthread_mutex_unlock(&k->mu);
			cenv_lease_renew(k->e, name);
			/* a status not as the kubelet sees it (set Unknown meanwhile): posted */
			d = jv_doc_new();
			node = cenv_get(k->e, d, k8s_kind_find("v1", "Node"), NULL, name);
			if (node &&
			    !jv_is_str(jv_get(ctrl_condition(node, "Ready"), "status"), ready))
				cenv_node_status(k->e, name, ready);
			jv_doc_free(d);
			pthread_mutex_lock(&k->mu);
		}
		pthread_mutex_unlock(&k->mu);
		usleep(100 * 1000);
	}
}

static void kubelets_start(struct kubelets *k, struct cenv *e)
{
	memset(k, 0, sizeof(*k));
	k->e = e;
	pthread_mutex_init(&k->mu, NULL);
	assert_int_equal(pthread_create(&k->thread, NULL, kubelet_loop, k), 0);
}

static void kubelet_set(struct kubelets *k, const char *node, bool alive, const char *ready)
{
	size_t i;

	pthread_mutex_lock(&k->mu);
	for (i = 0; i < k->n && strcmp(k->node[i].name, node) != 0; i++)
		;
	if (i == k->n && k->n < MAXN)
		snprintf(k->node[k->n++].name, sizeof(k->node[0].name), "%s", node);
	k->node[i].alive = alive;
	snprintf(k->node[i].ready, sizeof(k->node[i].ready), "%s", ready);
	pthread_mutex_unlock(&k->mu);
}

static void kubelets_stop(struct kubelets *k)
{
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	pthread_mutex_destroy(&k->mu);
}

/* A node with a kubelet: Ready, its Lease renewed. */
static void node_up(struct cenv *e, struct kubelets *k, const char *name, const char *zone)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "{\"kubernetes.io/hostname\":\"%s\"%s%s%s}", name,
		 zone ? ",\"topology.kubernetes.io/zone\":\"" : "", zone ? zone : "",
		 zone ? "\"" : "");
	cenv_node(e, name, 8, 110, labels);
	assert_int_equal(cenv_lease_renew(e, name), 0);
	kubelet_set(k, name, true, "True");
}

/* ---- what the test watches ---- */

#define MAXEV 4096

/* Every pod event in order: which pod, and whether it was being deleted. */
struct podlog {
	pthread_mutex_t mu;
	size_t n;
	struct {
		char name[32];
		bool deleting;
	} ev[MAXEV];
	struct kc_watch *w;
};

static void podlog_event(void *arg, enum kc_event_type type, struct kc_obj *obj)
{
	struct podlog *l = arg;
	struct jv_doc *d;
	struct jv *pod;

	if (type == KC_BOOKMARK)
		return;
	d = jv_doc_new();
	pod = kc_obj_parse(obj, d);
	pthread_mutex_lock(&l->mu);
	if (pod && l->n < MAXEV) {
		snprintf(l->ev[l->n].name, sizeof(l->ev[0].name), "%s",
			 jv_path_str(pod, "metadata.name"));
		l->ev[l->n++].deleting = jv_path(pod, "metadata.deletionTimestamp") != NULL;
	}
	pthread_mutex_unlock(&l->mu);
	jv_doc_free(d);
}

static void podlog_end(void *arg, int err)
{
	(void)arg;
	(void)err;
}

static void podlog_start(struct podlog *l, struct cenv *e)
{
	struct kc_watch_cb cb = {.event = podlog_event, .end = podlog_end};
	struct kc_watch_opts o = {.resource_version = "", .timeout_s = 3600};
	struct kc_status st;

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	assert_int_equal(kc_watch(e->k.c, kind_pod(), NS, &o, &cb, l, &l->w, &st), 0);
}

static void podlog_stop(struct podlog *l)
{
	kc_watch_stop(l->w);
	pthread_mutex_destroy(&l->mu);
}

/* The index of the first event that shows pod being deleted, or -1. */
static long first_deleting(struct podlog *l, const char *pod)
{
	long at = -1;

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n && at < 0; i++)
		if (l->ev[i].deleting && strcmp(l->ev[i].name, pod) == 0)
			at = (long)i;
	pthread_mutex_unlock(&l->mu);
	return at;
}

/* ---- objects ---- */

static void pod_on(struct cenv *e, const char *name, const char *node, const char *tolerations)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"nodeName\":\"%s\",\"containers\":[{"
		 "\"name\":\"c\",\"image\":\"x\"}]%s%s}}",
		 name, node, tolerations ? ",\"tolerations\":" : "",
		 tolerations ? tolerations : "");
	cenv_create(e, kind_pod(), NS, json);
	cenv_pod_run(e, NS, name, node, true);
}

#define TOLERATE(secs)                                                                     \
	"[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":" \
	"\"NoExecute\"" secs "}]"

static struct jv *get_node(struct cenv *e, struct jv_doc *d, const char *name)
{
	return cenv_get(e, d, k8s_kind_find("v1", "Node"), NULL, name);
}

static struct jv *taint_of(const struct jv *node, const char *key, const char *effect)
{
	for (struct jv *t = jv_first(jv_path(node, "spec.taints")); t; t = t->next)
		if (jv_is_str(jv_get(t, "key"), key) && jv_is_str(jv_get(t, "effect"), effect))
			return t;
	return NULL;
}

static bool node_has(struct cenv *e, const char *name, const char *key, const char *effect)
{
	struct jv_doc *d = jv_doc_new();
	bool has = taint_of(get_node(e, d, name), key, effect) != NULL;

	jv_doc_free(d);
	return has;
}

static bool node_untainted(struct cenv *e, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *n = get_node(e, d, name);
	bool ok = n && !taint_of(n, NL_TAINT_UNREACHABLE, "NoExecute") &&
		  !taint_of(n, NL_TAINT_UNREACHABLE, "NoSchedule") &&
		  !taint_of(n, NL_TAINT_NOT_READY, "NoExecute") &&
		  !taint_of(n, NL_TAINT_NOT_READY, "NoSchedule") &&
		  jv_is_str(jv_get(ctrl_condition(n, "Ready"), "status"), "True");

	jv_doc_free(d);
	return ok;
}

static bool condition_is(struct cenv *e, const char *node, const char *type, const char *status,
			 const char *reason)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *c = ctrl_condition(get_node(e, d, node), type);
	bool ok = c && jv_is_str(jv_get(c, "status"), status) &&
		  (!reason || jv_is_str(jv_get(c, "reason"), reason));

	jv_doc_free(d);
	return ok;
}

static bool pod_deleting(struct cenv *e, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	bool del = jv_path(cenv_get(e, d, kind_pod(), NS, name), "metadata.deletionTimestamp");

	jv_doc_free(d);
	return del;
}

static bool pod_ready_is(struct cenv *e, const char *name, const char *status)
{
	struct jv_doc *d = jv_doc_new();
	bool ok = jv_is_str(
	    jv_get(ctrl_condition(cenv_get(e, d, kind_pod(), NS, name), "Ready"), "status"),
	    status);

	jv_doc_free(d);
	return ok;
}

/* When the pod's deletion was asked for: deletionTimestamp is that time plus the grace. */
static int64_t deleted_at(struct cenv *e, const char *pod)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *p = cenv_get(e, d, kind_pod(), NS, pod);
	int64_t grace = -1, at = ctrl_parse_time(jv_path_str(p, "metadata.deletionTimestamp"));

	if (jv_path_int(p, "metadata.deletionGracePeriodSeconds", &grace) != 0 || at < 0)
		fail_msg("pod %s is not being deleted", pod);
	jv_doc_free(d);
	return at - grace;
}

static int64_t taint_time(struct cenv *e, const char *node, const char *key)
{
	struct jv_doc *d = jv_doc_new();
	int64_t t = ctrl_parse_time(
	    jv_path_str(taint_of(get_node(e, d, node), key, "NoExecute"), "timeAdded"));

	jv_doc_free(d);
	return t;
}

/* An Event from source with this reason and message, recorded at least count times. */
static bool has_event_n(struct cenv *e, const char *source, const char *reason, const char *message,
			int64_t count)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **ev = cenv_list(e, d, k8s_kind_find("v1", "Event"), NS, NULL, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++) {
		int64_t c = 0;

		found = jv_is_str(jv_get(ev[i], "reason"), reason) &&
			jv_is_str(jv_get(ev[i], "message"), message) &&
			jv_is_str(jv_path(ev[i], "source.component"), source) &&
			jv_path_int(ev[i], "count", &c) == 0 && c >= count;
	}
	jv_doc_free(d);
	return found;
}

static bool has_event(struct cenv *e, const char *source, const char *reason, const char *message)
{
	return has_event_n(e, source, reason, message, 1);
}

/* Every taint any node ever had ("node key:effect"), from a watch of nodes. */
struct nodelog {
	pthread_mutex_t mu;
	char seen[32][128];
	size_t n;
	struct kc_watch *w;
};

static void nodelog_event(void *arg, enum kc_event_type type, struct kc_obj *obj)
{
	struct nodelog *l = arg;
	struct jv_doc *d = jv_doc_new();
	struct jv *n = type == KC_BOOKMARK ? NULL : kc_obj_parse(obj, d);

	pthread_mutex_lock(&l->mu);
	for (const struct jv *t = jv_first(jv_path(n, "spec.taints")); t; t = t->next) {
		char what[128];
		bool known = false;

		snprintf(what, sizeof(what), "%s %s:%s", jv_path_str(n, "metadata.name"),
			 jv_path_str(t, "key"), jv_path_str(t, "effect"));
		for (size_t i = 0; i < l->n && !known; i++)
			known = strcmp(l->seen[i], what) == 0;
		if (!known && l->n < 32)
			snprintf(l->seen[l->n++], sizeof(l->seen[0]), "%s", what);
	}
	pthread_mutex_unlock(&l->mu);
	jv_doc_free(d);
}

static void nodelog_start(struct nodelog *l, struct cenv *e)
{
	struct kc_watch_cb cb = {.event = nodelog_event, .end = podlog_end};
	struct kc_watch_opts o = {.resource_version = "", .timeout_s = 3600};
	struct kc_status st;

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	assert_int_equal(
	    kc_watch(e->k.c, k8s_kind_find("v1", "Node"), NULL, &o, &cb, l, &l->w, &st), 0);
}

static void nodelog_stop(struct nodelog *l)
{
	kc_watch_stop(l->w);
	pthread_mutex_destroy(&l->mu);
}

/* Did node ever have a taint with this effect (and key, unless NULL)? */
static bool ever_tainted(struct nodelog *l, const char *node, const char *key, const char *effect)
{
	char prefix[128], suffix[32];
	bool found = false;

	snprintf(prefix, sizeof(prefix), "%s %s", node, key ? key : "");
	snprintf(suffix, sizeof(suffix), ":%s", effect);
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n && !found; i++)
		found = strncmp(l->seen[i], prefix, strlen(prefix)) == 0 &&
			strlen(l->seen[i]) > strlen(suffix) &&
			strcmp(l->seen[i] + strlen(l->seen[i]) - strlen(suffix), suffix) == 0;
	pthread_mutex_unlock(&l->mu);
	return found;
}

/* What a test starts, stopped by the teardown whether the test passed or not. */
struct fx {
	struct cenv e;
	struct kubelets k;
	struct podlog plog;
	struct nodelog nlog;
	bool e_up, k_up, plog_up, nlog_up;
};

static int fx_setup(void **state)
{
	*state = calloc(1, sizeof(struct fx));
	return *state ? 0 : -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->k_up)
		kubelets_stop(&f->k);
	if (f->plog_up)
		podlog_stop(&f->plog);
	if (f->nlog_up)
		nodelog_stop(&f->nlog);
	if (f->e_up)
		cenv_stop(&f->e);
	free(f);
	return 0;
}

static struct podlog *fx_podlog(struct fx *f)
{
	podlog_start(&f->plog, &f->e);
	f->plog_up = true;
	return &f->plog;
}

static struct nodelog *fx_nodelog(struct fx *f)
{
	nodelog_start(&f->nlog, &f->e);
	f->nlog_up = true;
	return &f->nlog;
}

#define GRACE_S 2

static void start(struct fx *f, int64_t default_toleration, double rate)
{
	struct api_config acfg = {.default_toleration_s = default_toleration};
	struct ctrl_config cfg = {.node_grace_s = GRACE_S, .node_eviction_rate = rate};

	cenv_start(&f->e, "nodelifecycle,taint-eviction-controller", &acfg, &cfg);
	f->e_up = true;
	kubelets_start(&f->k, &f->e);
	f->k_up = true;
}

static void test_unreachable_node(void **state)
{
	struct fx *f = *state;
	struct cenv *e = &f->e;
	struct kubelets *k = &f->k;
	struct podlog *plog;
	struct jv_doc *d;
	struct jv *n2;
	int64_t tainted;

	start(f, -1, 0); /* no default toleration: "none" tolerates nothing */
	node_up(e, k, "n1", NULL);
	node_up(e, k, "n2", NULL);
	plog = fx_podlog(f);
	pod_on(e, "none", "n2", NULL);
	pod_on(e, "forever", "n2", TOLERATE(""));
	pod_on(e, "long", "n2", TOLERATE(",\"tolerationSeconds\":3600"));
	pod_on(e, "short", "n2", TOLERATE(",\"tolerationSeconds\":2"));
	pod_on(e, "safe", "n1", NULL);
	assert_true(WAIT_UNTIL(has_event(e, "node-controller", "RegisteredNode",
					 "Node n2 event: Registered Node n2 in Controller"),
			       KC_WAIT_MS));

	/* n2's kubelet dies: no more Lease, no more status */
	kubelet_set(k, "n2", false, "True");
	assert_true(
	    WAIT_UNTIL(condition_is(e, "n2", "Ready", "Unknown", "NodeStatusUnknown"), KC_WAIT_MS));
	d = jv_doc_new();
	n2 = get_node(e, d, "n2");
	assert_string_equal(jv_path_str(ctrl_condition(n2, "Ready"), "message"),
			    "Kubelet stopped posting node status.");
	assert_true(jv_is_str(jv_get(ctrl_condition(n2, "MemoryPressure"), "status"), "Unknown"));
	assert_true(jv_is_str(jv_get(ctrl_condition(n2, "PIDPressure"), "status"), "Unknown"));
	jv_doc_free(d);
	assert_true(WAIT_UNTIL(node_has(e, "n2", NL_TAINT_UNREACHABLE, "NoExecute") &&
				   node_has(e, "n2", NL_TAINT_UNREACHABLE, "NoSchedule"),
			       KC_WAIT_MS));
	assert_true(condition_is(e, "n1", "Ready", "True", NULL));
	assert_false(node_has(e, "n1", NL_TAINT_UNREACHABLE, "NoExecute"));
	/* its pods are not Ready any more, and the node said so */
	assert_true(WAIT_UNTIL(pod_ready_is(e, "long", "False"), KC_WAIT_MS));
	assert_true(
	    WAIT_UNTIL(has_event(e, "node-controller", "NodeNotReady",
				 "Node n2 status is now: NodeNotReady") &&
			   has_event(e, "node-controller", "NodeNotReady", "Node is not ready"),
		       KC_WAIT_MS));

	/* evictions: at once without a toleration, after 2 s with one of 2 s */
	assert_true(WAIT_UNTIL(pod_deleting(e, "none"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(pod_deleting(e, "short"), KC_WAIT_MS));
	/* the watch's log may be behind the gets above (a clean-clone ASan run read it first) */
	assert_true(WAIT_UNTIL(
	    first_deleting(plog, "none") >= 0 && first_deleting(plog, "short") >= 0, KC_WAIT_MS));
	assert_true(first_deleting(plog, "none") < first_deleting(plog, "short"));
	tainted = taint_time(e, "n2", NL_TAINT_UNREACHABLE);
	assert_true(tainted > 0);
	assert_true(deleted_at(e, "short") >= tainted + 2);
	d = jv_doc_new();
	{
		struct jv *none = cenv_get(e, d, kind_pod(), NS, "none");
		struct jv *c = ctrl_condition(none, "DisruptionTarget");

		assert_true(jv_is_str(jv_get(c, "status"), "True"));
		assert_string_equal(jv_path_str(c, "reason"), "DeletionByTaintManager");
		/* on an unreachable node it stays Terminating: no kubelet confirms */
		assert_non_null(none);
	}
	jv_doc_free(d);
	assert_true(WAIT_UNTIL(has_event(e, "taint-eviction-controller", "TaintManagerEviction",
					 "Marking for deletion Pod default/none"),
			       KC_WAIT_MS));

	/* the node returns: the taints go, the pending eviction is cancelled */
	kubelet_set(k, "n2", true, "True");
	assert_true(WAIT_UNTIL(node_untainted(e, "n2"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event(e, "taint-eviction-controller", "TaintManagerEviction",
					 "Cancelling deletion of Pod default/long"),
			       KC_WAIT_MS));
	/* forgiveness: the pods tolerating it for long were never touched, still on n2 */
	assert_int_equal(first_deleting(plog, "long"), -1);
	assert_int_equal(first_deleting(plog, "forever"), -1);
	assert_int_equal(first_deleting(plog, "safe"), -1);
	d = jv_doc_new();
	assert_string_equal(jv_path_str(cenv_get(e, d, kind_pod(), NS, "long"), "spec.nodeName"),
			    "n2");
	jv_doc_free(d);
	/* and simply running again once its kubelet says so */
	cenv_pod_run(e, NS, "long", "n2", true);
	assert_true(pod_ready_is(e, "long", "True"));
	assert_false(pod_deleting(e, "long"));
}

static void test_default_toleration(void **state)
{
	struct fx *f = *state;
	struct cenv *e = &f->e;
	struct kubelets *k = &f->k;
	struct jv_doc *d;
	struct jv *pod;
	int64_t secs = 0;
	size_t found = 0;

	start(f, 2, 0); /* DefaultTolerationSeconds admission: 2 s */
	node_up(e, k, "n1", NULL);
	node_up(e, k, "n2", NULL);
	pod_on(e, "dflt", "n2", NULL);
	pod_on(e, "long", "n2", TOLERATE(",\"tolerationSeconds\":3600"));
	d = jv_doc_new();
	pod = cenv_get(e, d, kind_pod(), NS, "dflt");
	for (const struct jv *t = jv_first(jv_path(pod, "spec.tolerations")); t; t = t->next)
		if (jv_path_int(t, "tolerationSeconds", &secs) == 0 && secs == 2)
			found++;
	assert_int_equal(found, 2); /* not-ready and unreachable */
	jv_doc_free(d);

	kubelet_set(k, "n2", false, "True");
	assert_true(WAIT_UNTIL(pod_deleting(e, "dflt"), KC_WAIT_MS));
	assert_true(deleted_at(e, "dflt") >= taint_time(e, "n2", NL_TAINT_UNREACHABLE) + 2);
	assert_false(pod_deleting(e, "long"));
	kubelet_set(k, "n2", true, "True");
	assert_true(WAIT_UNTIL(node_untainted(e, "n2"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event(e, "taint-eviction-controller", "TaintManagerEviction",
					 "Cancelling deletion of Pod default/long"),
			       KC_WAIT_MS));
	assert_false(pod_deleting(e, "long"));
}

static void test_not_ready_node(void **state)
{
	struct fx *f = *state;
	struct cenv *e = &f->e;
	struct kubelets *k = &f->k;
	struct nodelog *nl;

	start(f, -1, 0);
	node_up(e, k, "n1", NULL);
	node_up(e, k, "n2", NULL);
	pod_on(e, "none", "n2", NULL);
	nl = fx_nodelog(f);
	/* the kubelet lives (the Lease is renewed) but says the node is not Ready */
	kubelet_set(k, "n2", true, "False");
	assert_true(WAIT_UNTIL(node_has(e, "n2", NL_TAINT_NOT_READY, "NoExecute") &&
				   node_has(e, "n2", NL_TAINT_NOT_READY, "NoSchedule"),
			       KC_WAIT_MS));
	assert_true(condition_is(e, "n2", "Ready", "False", "KubeletNotReady"));
	assert_true(WAIT_UNTIL(pod_deleting(e, "none"), KC_WAIT_MS));
	/* the node was reachable all along: never tainted unreachable */
	assert_false(ever_tainted(nl, "n2", NL_TAINT_UNREACHABLE, "NoExecute"));
	assert_false(ever_tainted(nl, "n2", NL_TAINT_UNREACHABLE, "NoSchedule"));

	/* now it goes silent: not-ready is swapped for unreachable at once, and the pod,
	 * evaluated again, is evicted again — which leaves the pending graceful deletion as
	 * it is: the pod stays Terminating, nobody confirms its end */
	kubelet_set(k, "n2", false, "False");
	assert_true(WAIT_UNTIL(node_has(e, "n2", NL_TAINT_UNREACHABLE, "NoExecute") &&
				   !node_has(e, "n2", NL_TAINT_NOT_READY, "NoExecute"),
			       KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event_n(e, "taint-eviction-controller", "TaintManagerEviction",
					   "Marking for deletion Pod default/none", 2),
			       KC_WAIT_MS));
	assert_true(pod_deleting(e, "none"));

	kubelet_set(k, "n2", true, "True");
	assert_true(WAIT_UNTIL(node_untainted(e, "n2"), KC_WAIT_MS));
	assert_true(pod_deleting(e, "none"));
	assert_false(ever_tainted(nl, "n1", NULL, "NoExecute"));
}

static void test_full_disruption(void **state)
{
	struct fx *f = *state;
	struct cenv *e = &f->e;
	struct kubelets *k = &f->k;
	struct podlog *plog;
	struct nodelog *nl;

	start(f, -1, 0);
	node_up(e, k, "n1", NULL);
	nl = fx_nodelog(f);
	plog = fx_podlog(f);
	pod_on(e, "p", "n1", NULL);
	/* the only node goes: every zone is down, the controller blames itself */
	kubelet_set(k, "n1", false, "True");
	assert_true(WAIT_UNTIL(condition_is(e, "n1", "Ready", "Unknown", "NodeStatusUnknown") &&
				   node_has(e, "n1", NL_TAINT_UNREACHABLE, "NoSchedule"),
			       KC_WAIT_MS));
	/* two monitor passes later (each registers a node; these never posted a status, so
	 * the zone stays without a Ready node), the node would have been tainted */
	kc_make(e->k.c, k8s_kind_find("v1", "Node"), NULL, "{\"metadata\":{\"name\":\"b1\"}}");
	assert_true(WAIT_UNTIL(has_event(e, "node-controller", "RegisteredNode",
					 "Node b1 event: Registered Node b1 in Controller"),
			       KC_WAIT_MS));
	kc_make(e->k.c, k8s_kind_find("v1", "Node"), NULL, "{\"metadata\":{\"name\":\"b2\"}}");
	assert_true(WAIT_UNTIL(has_event(e, "node-controller", "RegisteredNode",
					 "Node b2 event: Registered Node b2 in Controller"),
			       KC_WAIT_MS));
	assert_false(ever_tainted(nl, "n1", NULL, "NoExecute"));
	assert_int_equal(first_deleting(plog, "p"), -1);
	kubelet_set(k, "n1", true, "True");
	assert_true(WAIT_UNTIL(node_untainted(e, "n1"), KC_WAIT_MS));
	assert_int_equal(first_deleting(plog, "p"), -1);
}

static void test_eviction_rate(void **state)
{
	struct fx *f = *state;
	struct cenv *e = &f->e;
	struct kubelets *k = &f->k;
	int64_t t4, t5;

	start(f, -1, 0.5); /* one NoExecute taint per 2 s per zone */
	for (int i = 1; i <= 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		node_up(e, k, name, "z1");
	}
	/* two of five down: the zone is still Normal (not more than two) */
	kubelet_set(k, "n4", false, "True");
	kubelet_set(k, "n5", false, "True");
	assert_true(WAIT_UNTIL(node_has(e, "n4", NL_TAINT_UNREACHABLE, "NoExecute") &&
				   node_has(e, "n5", NL_TAINT_UNREACHABLE, "NoExecute"),
			       KC_WAIT_MS));
	t4 = taint_time(e, "n4", NL_TAINT_UNREACHABLE);
	t5 = taint_time(e, "n5", NL_TAINT_UNREACHABLE);
	/* 2 s apart at least (1 in whole seconds) */
	assert_true(t4 - t5 >= 1 || t5 - t4 >= 1);
}

/* ---- the zone logic alone ---- */

static int taken;

static bool take(void *arg, const char *name, uint64_t *retry_ms)
{
	bool *fail = arg;

	(void)name;
	taken++;
	if (fail && *fail) {
		*retry_ms = 50;
		return false;
	}
	return true;
}

static void test_zone_logic(void **state)
{
	struct nl_rates r = {
	    .eviction = 0.5, .secondary = 0.01, .unhealthy_threshold = 0.55, .large_cluster = 50};
	struct nl_limiter l;
	struct nl_tq q;
	bool fail = false;

	(void)state;
	/* ComputeZoneState */
	assert_int_equal(nl_zone_state_of(3, 0, 0.55), NL_ZONE_NORMAL);
	assert_int_equal(nl_zone_state_of(0, 1, 0.55), NL_ZONE_FULL_DISRUPTION);
	assert_int_equal(nl_zone_state_of(1, 3, 0.55), NL_ZONE_PARTIAL_DISRUPTION);
	assert_int_equal(nl_zone_state_of(2, 3, 0.55), NL_ZONE_PARTIAL_DISRUPTION);
	assert_int_equal(nl_zone_state_of(3, 3, 0.55), NL_ZONE_NORMAL);		     /* 50% < 55% */
	assert_int_equal(nl_zone_state_of(9, 11, 0.55), NL_ZONE_PARTIAL_DISRUPTION); /* 55% */
	assert_int_equal(nl_zone_state_of(3, 2, 0.55), NL_ZONE_NORMAL); /* not more than 2 */
	/* the rates: a small zone partially down stops, a large one slows */
	assert_true(nl_zone_qps(NL_ZONE_NORMAL, 5, &r) == 0.5);
	assert_true(nl_zone_qps(NL_ZONE_PARTIAL_DISRUPTION, 10, &r) == 0);
	assert_true(nl_zone_qps(NL_ZONE_PARTIAL_DISRUPTION, 51, &r) == 0.01);
	assert_true(nl_zone_qps(NL_ZONE_FULL_DISRUPTION, 5, &r) == 0.5);

	/* the bucket: full at start, one token per 2 s */
	nl_limiter_init(&l, 0.5, 1000);
	assert_true(nl_limiter_try(&l, 1000));
	assert_false(nl_limiter_try(&l, 1000));
	assert_false(nl_limiter_try(&l, 2999));
	assert_true(nl_limiter_try(&l, 3000));
	nl_limiter_init(&l, 0, 1000);
	assert_false(nl_limiter_try(&l, 1000000));

	/* the queue: each node once, in order, as fast as the bucket */
	nl_tq_init(&q, 0.5, 0);
	assert_true(nl_tq_add(&q, "a", 0));
	assert_true(nl_tq_add(&q, "b", 0));
	assert_false(nl_tq_add(&q, "a", 0));
	taken = 0;
	nl_tq_try(&q, 0, take, NULL);
	assert_int_equal(taken, 1);
	assert_int_equal(nl_tq_queued(&q), 1);
	nl_tq_try(&q, 1999, take, NULL);
	assert_int_equal(taken, 1);
	nl_tq_try(&q, 2000, take, NULL);
	assert_int_equal(taken, 2);
	/* done, yet in the set until removed */
	assert_false(nl_tq_add(&q, "a", 2000));
	assert_true(nl_tq_remove(&q, "a"));
	assert_true(nl_tq_add(&q, "a", 2000));
	/* a stopped zone takes nothing; back to a rate, a drained bucket stays drained */
	nl_tq_swap_limiter(&q, 0, 2000);
	nl_tq_try(&q, 100000, take, NULL);
	assert_int_equal(taken, 2);
	nl_tq_swap_limiter(&q, 0.5, 100000);
	nl_tq_try(&q, 100000, take, NULL);
	assert_int_equal(taken, 2);
	nl_tq_try(&q, 102000, take, NULL);
	assert_int_equal(taken, 3);
	/* a failure is retried after its delay, with a token */
	assert_true(nl_tq_remove(&q, "a"));
	assert_true(nl_tq_add(&q, "a", 200000));
	fail = true;
	nl_tq_try(&q, 200000, take, &fail);
	assert_int_equal(taken, 4);
	fail = false;
	nl_tq_try(&q, 202000, take, &fail);
	assert_int_equal(taken, 5);
	assert_int_equal(nl_tq_queued(&q), 0);
	nl_tq_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zone_logic),
	    cmocka_unit_test_setup_teardown(test_unreachable_node, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_default_toleration, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_not_ready_node, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_full_disruption, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_eviction_rate, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
