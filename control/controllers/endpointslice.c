/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpointslice: kube-controller-manager's EndpointSlice controller
 * (pkg/controller/endpointslice). Every Service with a selector gets EndpointSlices of its
 * pods (endpointslice_reconcile.c places them); a pod or Service event queues the Service,
 * a slice event only when it is not the echo of the controller's own write (the tracker).
 * Services without a selector are left to whoever writes their slices, except the
 * `kubernetes` Service, whose slice carries the API server's own address as the
 * apiserver's endpoint reconciler writes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpointslice_int.h"
#include "log.h"

#define COMP		      "endpointslice-controller"
/* the Service's slices: "ns/service" of the slices this controller manages */
#define IDX_SERVICE	      "endpointslice.service"
/* endpointSliceChangeMinSyncDelay: slice events are batched for a second */
#define SLICE_CHANGE_DELAY_MS 1000
/* maxRetries of a Service before it is dropped until its next event */
#define MAX_RETRIES	      15
#define DELETION_EXPECTED     UINT64_MAX

/* ---- the tracker ---- */

struct eps_tracker {
	pthread_mutex_t lock;
	struct hmap *svcs; /* "ns/name" -> hmap uid -> (uintptr_t) rv or DELETION_EXPECTED */
};

static struct eps_tracker *tracker_new(void)
{
	struct eps_tracker *t = calloc(1, sizeof(*t));

	if (!t || !(t->svcs = hmap_new())) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

static void tracker_free(struct eps_tracker *t)
{
	if (!t)
		return;
	for (struct hmap_entry *it = hmap_first(t->svcs); it; it = hmap_next(t->svcs, it))
		hmap_free(hmap_entry_val(it));
	hmap_free(t->svcs);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void tracker_set(struct eps_tracker *t, const char *svc, const char *uid, uint64_t rv)
{
	struct hmap *m;

	if (!uid || !svc)
		return;
	pthread_mutex_lock(&t->lock);
	m = hmap_sget(t->svcs, svc);
	if (!m && (m = hmap_new()) && hmap_sput(t->svcs, svc, m, NULL) < 0) {
		hmap_free(m);
		m = NULL;
	}
	if (m)
		hmap_sput(m, uid, (void *)(uintptr_t)rv, NULL);
	pthread_mutex_unlock(&t->lock);
}

void eps_tracker_update(struct eps_tracker *t, const char *svc, const char *uid, uint64_t rv)
{
	tracker_set(t, svc, uid, rv);
}

void eps_tracker_expect_deletion(struct eps_tracker *t, const char *svc, const char *uid)
{
	tracker_set(t, svc, uid, DELETION_EXPECTED);
}

/* ShouldSync: a slice not tracked, or newer than the controller's own write. */
static bool tracker_should_sync(struct eps_tracker *t, const char *svc, const char *uid,
				uint64_t rv)
{
	struct hmap *m;
	bool sync = true;
	void *v;

	pthread_mutex_lock(&t->lock);
	m = hmap_sget(t->svcs, svc);
	if (m && uid && (v = hmap_sget(m, uid)) != NULL)
		sync = (uint64_t)(uintptr_t)v != DELETION_EXPECTED && rv > (uint64_t)(uintptr_t)v;
	pthread_mutex_unlock(&t->lock);
	return sync;
}

/* HandleDeletion: forget the slice; was its deletion the controller's own (or does the
 * controller not track it at all)? */
static bool tracker_deletion_expected(struct eps_tracker *t, const char *svc, const char *uid)
{
	struct hmap *m;
	bool expected = true;
	void *v;

	pthread_mutex_lock(&t->lock);
	m = hmap_sget(t->svcs, svc);
	if (m && uid && (v = hmap_sget(m, uid)) != NULL) {
		expected = (uint64_t)(uintptr_t)v == DELETION_EXPECTED;
		hmap_sdel(m, uid);
		if (!hmap_size(m))
			hmap_free(hmap_sdel(t->svcs, svc));
	}
	pthread_mutex_unlock(&t->lock);
	return expected;
}

/* StaleSlices: the cache has not caught up with the controller's own writes: a slice older
 * than written, one expected deleted still there, or one written not there yet. */
static bool tracker_stale(struct eps_tracker *t, const char *svc, struct kc_obj **objs,
			  struct jv **slices, size_t n)
{
	struct hmap *m;
	bool stale = false;
	size_t seen = 0;

	pthread_mutex_lock(&t->lock);
	m = hmap_sget(t->svcs, svc);
	for (size_t i = 0; m && i < n && !stale; i++) {
		const char *uid = jv_path_str(slices[i], "metadata.uid");
		void *v = uid ? hmap_sget(m, uid) : NULL;

		if (!v)
			continue;
		seen++;
		stale = (uint64_t)(uintptr_t)v == DELETION_EXPECTED ||
			objs[i]->rv < (uint64_t)(uintptr_t)v;
	}
	if (m && !stale) {
		size_t tracked = 0;

		for (struct hmap_entry *it = hmap_first(m); it; it = hmap_next(m, it))
			tracked += (uint64_t)(uintptr_t)hmap_entry_val(it) != DELETION_EXPECTED;
		stale = tracked > seen;
	}
	pthread_mutex_unlock(&t->lock);
	return stale;
}

static void tracker_delete_service(struct eps_tracker *t, const char *svc)
{
	pthread_mutex_lock(&t->lock);
	hmap_free(hmap_sdel(t->svcs, svc));
	pthread_mutex_unlock(&t->lock);
}

/* ---- events ---- */

static bool managed(const struct jv *slice)
{
	return jv_is_str(jv_path(slice, "metadata.labels[" EPS_MANAGED_BY "]"), EPS_CONTROLLER);
}

/* "ns/service" of a slice (ServiceControllerKey), or NULL */
static const char *slice_service(const struct jv *slice, char *buf, size_t size)
{
	const char *svc = jv_path_str(slice, "metadata.labels[" EPS_SERVICE_NAME "]");
	const char *ns = jv_path_str(slice, "metadata.namespace");
	int n;

	if (!svc || !svc[0] || !ns)
		return NULL;
	n = snprintf(buf, size, "%s/%s", ns, svc);
	return n > 0 && (size_t)n < size ? buf : NULL;
}

static bool apiserver_slice(struct eps_ctrl *s, const struct jv *slice)
{
	return ep_is_apiserver_service(s->c->cfg, jv_path_str(slice, "metadata.namespace"),
				       jv_path_str(slice, "metadata.name"));
}

static void slice_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct eps_ctrl *s = arg;
	char key[512];

	if (apiserver_slice(s, t)) {
		kc_queue_add(s->q, EP_APISERVER_NS "/" EP_APISERVER_SVC);
		return;
	}
	if (managed(t) && slice_service(t, key, sizeof(key)) &&
	    tracker_should_sync(s->tracker, key, jv_path_str(t, "metadata.uid"), o->rv))
		kc_queue_add_after(s->q, key, SLICE_CHANGE_DELAY_MS);
}

static void slice_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			 const struct kc_obj *cur, const struct jv *cur_t)
{
	struct eps_ctrl *s = arg;
	char key[512], prev[512];

	if (apiserver_slice(s, cur_t)) {
		kc_queue_add(s->q, EP_APISERVER_NS "/" EP_APISERVER_SVC);
		return;
	}
	if (!old_t) {
		slice_add(arg, cur, cur_t);
		return;
	}
	/* a slice moved to another Service: both */
	if (slice_service(cur_t, key, sizeof(key)) && slice_service(old_t, prev, sizeof(prev)) &&
	    strcmp(key, prev) != 0) {
		kc_queue_add_after(s->q, key, SLICE_CHANGE_DELAY_MS);
		kc_queue_add_after(s->q, prev, SLICE_CHANGE_DELAY_MS);
		return;
	}
	if (!slice_service(cur_t, key, sizeof(key)))
		return;
	if (managed(old_t) != managed(cur_t) ||
	    (managed(cur_t) &&
	     tracker_should_sync(s->tracker, key, jv_path_str(cur_t, "metadata.uid"), cur->rv)))
		kc_queue_add_after(s->q, key, SLICE_CHANGE_DELAY_MS);
	(void)old;
}

static void slice_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct eps_ctrl *s = arg;
	char key[512];

	(void)o;
	if (apiserver_slice(s, t)) {
		kc_queue_add(s->q, EP_APISERVER_NS "/" EP_APISERVER_SVC);
		return;
	}
	/* deleted by someone else: the Service needs it back */
	if (managed(t) && slice_service(t, key, sizeof(key)) &&
	    !tracker_deletion_expected(s->tracker, key, jv_path_str(t, "metadata.uid")))
		kc_queue_add_after(s->q, key, SLICE_CHANGE_DELAY_MS);
}

static void index_service(const struct jv *obj, void (*emit)(void *, const char *), void *ctx)
{
	char key[512];

	if (managed(obj) && slice_service(obj, key, sizeof(key)))
		emit(ctx, key);
}

/* ---- the apiserver's slice ---- */

/* What the apiserver's EndpointsAdapter writes: a slice named after the Service with the
 * server's address, ready, on the port the Service calls https. */
static int sync_apiserver(struct eps_ctrl *s, struct jv_doc *d)
{
	const struct ctrl_config *cfg = s->c->cfg;
	struct kc_obj *o = kc_informer_get(s->slices, EP_APISERVER_NS, EP_APISERVER_SVC);
	struct jv *cur = o ? kc_obj_parse(o, d) : NULL, *want;
	struct kc_status st;
	char body[1024];
	int err;

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":"
		 "{\"name\":\"" EP_APISERVER_SVC "\",\"namespace\":\"" EP_APISERVER_NS "\","
		 "\"labels\":{\"" EPS_SERVICE_NAME "\":\"" EP_APISERVER_SVC "\"}},"
		 "\"addressType\":\"%s\",\"endpoints\":[{\"addresses\":[\"%s\"],\"conditions\":"
		 "{\"ready\":true}}],\"ports\":[{\"name\":\"https\",\"protocol\":\"TCP\","
		 "\"port\":%u}]}",
		 ep_ip_family(cfg->apiserver_ip) == 6 ? "IPv6" : "IPv4", cfg->apiserver_ip,
		 cfg->apiserver_port);
	kc_obj_put(o);
	want = jv_parse(d, body, strlen(body), NULL);
	if (!want)
		return -ENOMEM;
	if (!cur) {
		err = kc_create(s->c->kc, ctrl_k_endpointslice, EP_APISERVER_NS, want, NULL, NULL,
				&st);
		return err == -EEXIST ? -EAGAIN : err;
	}
	if (jv_equal(jv_get(cur, "endpoints"), jv_get(want, "endpoints")) &&
	    jv_equal(jv_get(cur, "ports"), jv_get(want, "ports")) &&
	    jv_equal(jv_get(cur, "addressType"), jv_get(want, "addressType")) &&
	    jv_equal(jv_path(cur, "metadata.labels"), jv_path(want, "metadata.labels")))
		return 0;
	log_warn(COMP, "resetting the EndpointSlice of the master service %s/%s", EP_APISERVER_NS,
		 EP_APISERVER_SVC);
	jv_set(d, jv_get(cur, "metadata"), "labels", jv_copy(d, jv_path(want, "metadata.labels")));
	jv_set(d, cur, "addressType", jv_copy(d, jv_get(want, "addressType")));
	jv_set(d, cur, "endpoints", jv_copy(d, jv_get(want, "endpoints")));
	jv_set(d, cur, "ports", jv_copy(d, jv_get(want, "ports")));
	err =
	    kc_update(s->c->kc, ctrl_k_endpointslice, EP_APISERVER_NS, NULL, cur, NULL, NULL, &st);
	return err == -KC_ECONFLICT ? -EAGAIN : err;
}

/* ---- sync ---- */

static int sync_service(void *arg, const char *key)
{
	struct eps_ctrl *s = arg;
	char buf[512], *ns, *name, errmsg[1024];
	struct kc_obj **sobjs = NULL;
	struct jv **pods, **slices = NULL, *svc;
	size_t npods, nsobjs = 0, nslices = 0;
	struct jv_doc *d;
	int64_t trigger;
	int err = 0, what;

	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	what = ep_service_load(&s->feed, ns, name, &d, &svc, &pods, &npods);
	if (what == EP_SERVICE_GONE) {
		/* gone: its slices belong to the garbage collector (ownerReferences) */
		ep_trigger_delete(s->trig, key);
		tracker_delete_service(s->tracker, key);
		return 0;
	}
	if (what == EP_SERVICE_APISERVER)
		err = sync_apiserver(s, d);
	else if (what < 0)
		err = what;
	if (what != EP_SERVICE_PODS)
		goto out;
	err = kc_informer_list(s->slices, IDX_SERVICE, key, &sobjs, &nsobjs);
	if (err)
		goto out;
	slices = jv_alloc(d, (nsobjs + 1) * sizeof(*slices));
	if (!slices) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nsobjs; i++) {
		struct jv *t = kc_obj_parse(sobjs[i], d);

		if (!t) {
			err = -ENOMEM;
			goto out;
		}
		/* slices being deleted are not the controller's to reuse */
		if (jv_path(t, "metadata.deletionTimestamp"))
			continue;
		sobjs[nslices] = sobjs[i];
		slices[nslices++] = t;
	}
	if (tracker_stale(s->tracker, key, sobjs, slices, nslices)) {
		/* its own writes have not reached the cache yet: after them */
		err = -EAGAIN;
		goto out;
	}
	trigger = ep_trigger_compute(s->trig, key, svc, pods, npods);
	err =
	    eps_reconcile(s, d, svc, pods, npods, slices, nslices, trigger, errmsg, sizeof(errmsg));
	if (err && errmsg[0]) {
		kc_event(s->c->rec, svc, "Warning", "FailedToUpdateEndpointSlices",
			 "Error updating Endpoint Slices for Service %s/%s: %s", ns, name, errmsg);
		log_info(COMP, "error syncing endpoint slices for service %s, retrying: %s", key,
			 errmsg);
	}
out:
	kc_objs_free(sobjs, nsobjs);
	jv_doc_free(d);
	if (err && kc_queue_requeues(s->q, key) >= MAX_RETRIES) {
		log_warn(COMP, "retry budget exceeded, dropping service %s out of the queue", key);
		return 0;
	}
	return err;
}

/* ---- lifecycle ---- */

static int eps_init(struct ctrl_ctx *c, void **state)
{
	struct eps_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers sliceh = {.add = slice_add, .update = slice_update, .del = slice_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->max_per_slice = EPS_MAX_ENDPOINTS;
	s->q = kc_queue_new("endpoint_slice");
	s->tracker = tracker_new();
	s->trig = ep_trigger_new();
	s->feed = (struct ep_feed){.q = s->q,
				   .svcs = ctrl_informer(c, ctrl_k_service),
				   .pods = ctrl_informer(c, ctrl_k_pod),
				   .cfg = c->cfg};
	s->nodes = ctrl_informer(c, ctrl_k_node);
	s->slices = ctrl_informer(c, ctrl_k_endpointslice);
	if (!s->q || !s->tracker || !s->trig || !s->feed.svcs || !s->feed.pods || !s->nodes ||
	    !s->slices)
		return -ENOMEM;
	sliceh.arg = s;
	if (ctrl_informer_index(c, ctrl_k_endpointslice, IDX_SERVICE, index_service) != 0 ||
	    ep_feed_watch(&s->feed) != 0 || kc_informer_add_handlers(s->slices, &sliceh) != 0)
		return -ENOMEM;
	return 0;
}

static int eps_run(void *state)
{
	struct eps_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_service, s, "endpointslice");
	return s->w ? 0 : -ENOMEM;
}

static void eps_stop(void *state)
{
	struct eps_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	tracker_free(s->tracker);
	ep_trigger_free(s->trig);
	free(s);
}

const struct ctrl_desc ctrl_endpointslice = {
    .name = "endpointslice",
    .component = "endpoint-slice-controller",
    .init = eps_init,
    .run = eps_run,
    .stop = eps_stop,
};
