/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ep_util: the pod and Service helpers the Endpoints and EndpointSlice controllers share
 * (ep_util.h), after k8s.io/endpointslice/util, pkg/api/v1/pod and the trigger time tracker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"

/* Does a Service's spec.selector (a map; absent selects nothing, {} everything) select
 * these labels? */
static bool selector_matches(const struct jv *selector, const struct jv *labels)
{
	if (!selector || selector->type != JV_OBJECT)
		return false;
	for (const struct jv *s = jv_first(selector); s; s = s->next) {
		const struct jv *l = jv_get(labels, s->key);

		if (!l || l->type != JV_STRING || s->type != JV_STRING || l->len != s->len ||
		    memcmp(l->s, s->s, s->len) != 0)
			return false;
	}
	return true;
}

/* The Services of the pod's namespace whose selector matches labels: fn(arg, "ns/name")
 * for each (services from the informer's cache). */
static void services_for_labels(struct kc_informer *svcs, const char *ns, const struct jv *labels,
				void (*fn)(void *arg, const char *key), void *arg)
{
	struct kc_obj **objs = NULL;
	size_t n = 0;
	struct jv_doc *d;

	if (!ns || kc_informer_list(svcs, "namespace", ns, &objs, &n) != 0)
		return;
	d = jv_doc_new();
	for (size_t i = 0; d && i < n; i++) {
		struct jv *svc = kc_obj_parse(objs[i], d);
		char key[512];

		if (svc && selector_matches(jv_path(svc, "spec.selector"), labels) &&
		    kc_key_of(svc, key, sizeof(key)))
			fn(arg, key);
	}
	jv_doc_free(d);
	kc_objs_free(objs, n);
}

/* ---- pod changes ---- */

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool labels_equal(const struct jv *a, const struct jv *b)
{
	if (jv_count(a) == 0 && jv_count(b) == 0)
		return true;
	return a && b && jv_equal(a, b);
}

static bool pod_ips_equal(const struct jv *a, const struct jv *b)
{
	const struct jv *x = jv_first(jv_path(a, "status.podIPs"));
	const struct jv *y = jv_first(jv_path(b, "status.podIPs"));

	if (!x && !y)
		return str_eq(jv_path_str(a, "status.podIP"), jv_path_str(b, "status.podIP"));
	for (; x && y; x = x->next, y = y->next)
		if (!str_eq(jv_path_str(x, "ip"), jv_path_str(y, "ip")))
			return false;
	return !x && !y;
}

/* podEndpointsChanged: *pod_changed when what endpoints show changed, *labels_changed
 * when which Services select the pod may have. */
static void pod_endpoints_changed(const struct jv *old, const struct jv *cur, bool *pod_changed,
				  bool *labels_changed)
{
	*labels_changed =
	    !labels_equal(jv_path(old, "metadata.labels"), jv_path(cur, "metadata.labels")) ||
	    !str_eq(jv_path_str(old, "spec.hostname"), jv_path_str(cur, "spec.hostname")) ||
	    !str_eq(jv_path_str(old, "spec.subdomain"), jv_path_str(cur, "spec.subdomain"));
	*pod_changed = !str_eq(jv_path_str(old, "metadata.deletionTimestamp"),
			       jv_path_str(cur, "metadata.deletionTimestamp")) ||
		       ctrl_pod_ready(old) != ctrl_pod_ready(cur) || !pod_ips_equal(old, cur);
}

static void collect(void *arg, const char *key)
{
	struct hmap *set = arg;
	char *k;

	if (hmap_sget(set, key))
		return;
	k = strdup(key);
	if (k && hmap_sput(set, key, k, NULL) < 0)
		free(k);
}

static void set_free(struct hmap *set)
{
	for (struct hmap_entry *it = hmap_first(set); it; it = hmap_next(set, it))
		free(hmap_entry_val(it));
	hmap_free(set);
}

/* The Services a pod event concerns (GetServicesToUpdateOnPodChange): an add or a delete
 * (old or cur NULL) all the pod's; an update only when it changed what endpoints show
 * (readiness, deletion, IPs) or which Services select it (labels, hostname, subdomain). */
static void services_for_pod_change(struct kc_informer *svcs, const struct kc_obj *old_o,
				    const struct jv *old_t, const struct kc_obj *cur_o,
				    const struct jv *cur_t, void (*fn)(void *arg, const char *key),
				    void *arg)
{
	struct hmap *now, *before;
	bool pod_changed, labels_changed;
	const char *ns;

	if (!old_t || !cur_t) {
		const struct jv *p = cur_t ? cur_t : old_t;

		services_for_labels(svcs, jv_path_str(p, "metadata.namespace"),
				    jv_path(p, "metadata.labels"), fn, arg);
		return;
	}
	/* a resync delivers the same version: the Services' own resync covers it */
	if (old_o && cur_o && old_o->rv == cur_o->rv)
		return;
	pod_endpoints_changed(old_t, cur_t, &pod_changed, &labels_changed);
	ns = jv_path_str(cur_t, "metadata.namespace");
	if (!labels_changed) {
		if (pod_changed)
			services_for_labels(svcs, ns, jv_path(cur_t, "metadata.labels"), fn, arg);
		return;
	}
	now = hmap_new();
	before = hmap_new();
	if (!now || !before) {
		hmap_free(now);
		hmap_free(before);
		return;
	}
	services_for_labels(svcs, ns, jv_path(cur_t, "metadata.labels"), collect, now);
	services_for_labels(svcs, ns, jv_path(old_t, "metadata.labels"), collect, before);
	/* both changed: the union; only the labels: the Services that gained or lost it */
	for (struct hmap_entry *it = hmap_first(now); it; it = hmap_next(now, it))
		if (pod_changed || !hmap_sget(before, hmap_entry_val(it)))
			fn(arg, hmap_entry_val(it));
	for (struct hmap_entry *it = hmap_first(before); it; it = hmap_next(before, it))
		if (!hmap_sget(now, hmap_entry_val(it)))
			fn(arg, hmap_entry_val(it));
	set_free(now);
	set_free(before);
}

/* ---- pods ---- */

bool ep_pod_in_endpoints(const struct jv *pod, bool include_terminating)
{
	const char *phase = jv_path_str(pod, "status.phase");

	if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
		return false;
	if (!jv_first(jv_path(pod, "status.podIPs")) &&
	    !(jv_path_str(pod, "status.podIP") && jv_path_str(pod, "status.podIP")[0]))
		return false;
	return include_terminating || !jv_path(pod, "metadata.deletionTimestamp");
}

int ep_ip_family(const char *ip)
{
	return ip && strchr(ip, ':') ? 6 : 4;
}

/* fn(arg, ip) if ip is of the family: 1 if it was, else 0. */
static size_t ip_of_family(const char *ip, int family, void (*fn)(void *arg, const char *ip),
			   void *arg)
{
	if (!ip || !ip[0] || ep_ip_family(ip) != family)
		return 0;
	fn(arg, ip);
	return 1;
}

size_t ep_pod_ips(const struct jv *pod, int family, void (*fn)(void *arg, const char *ip),
		  void *arg)
{
	const struct jv *ips = jv_path(pod, "status.podIPs");
	size_t n = 0;

	/* the API's conversion fills podIPs from podIP; a server that does not is read the
	 * same way */
	if (!jv_first(ips))
		return ip_of_family(jv_path_str(pod, "status.podIP"), family, fn, arg);
	for (const struct jv *i = jv_first(ips); i; i = i->next)
		n += ip_of_family(jv_path_str(i, "ip"), family, fn, arg);
	return n;
}

static void first_ip(void *arg, const char *ip)
{
	const char **out = arg;

	if (!*out)
		*out = ip;
}

const char *ep_pod_ip(const struct jv *pod, int family)
{
	const char *ip = NULL;

	ep_pod_ips(pod, family, first_ip, &ip);
	return ip;
}

static int port_in(const struct jv *containers, const char *name, const char *proto,
		   bool sidecars_only)
{
	for (const struct jv *c = jv_first(containers); c; c = c->next) {
		if (sidecars_only && !jv_is_str(jv_get(c, "restartPolicy"), "Always"))
			continue;
		for (const struct jv *p = jv_first(jv_get(c, "ports")); p; p = p->next) {
			int64_t port;

			if (jv_is_str(jv_get(p, "name"), name) &&
			    str_eq(jv_path_str(p, "protocol") ?: "TCP", proto) &&
			    jv_path_int(p, "containerPort", &port) == 0)
				return (int)port;
		}
	}
	return -1;
}

int ep_find_port(const struct jv *pod, const struct jv *svc_port)
{
	const struct jv *tp = jv_get(svc_port, "targetPort");
	const char *proto = jv_path_str(svc_port, "protocol") ?: "TCP";
	int64_t n;
	int port;

	if (tp && tp->type == JV_STRING) {
		port = port_in(jv_path(pod, "spec.containers"), tp->s, proto, false);
		if (port < 0)
			port = port_in(jv_path(pod, "spec.initContainers"), tp->s, proto, true);
		return port;
	}
	/* a number (the API defaults an absent targetPort to the port) */
	if (tp && jv_int(tp, &n) == 0)
		return (int)n;
	if (!tp && jv_path_int(svc_port, "port", &n) == 0)
		return (int)n;
	return -1;
}

struct jv *ep_endpoint_port(struct jv_doc *d, const struct jv *svc_port, int port)
{
	const char *app = jv_path_str(svc_port, "appProtocol");
	struct jv *p = jv_new(d, JV_OBJECT);

	if (!p)
		return NULL;
	jv_set(d, p, "name", jv_new_strz(d, jv_path_str(svc_port, "name") ?: ""));
	jv_set(d, p, "protocol", jv_new_strz(d, jv_path_str(svc_port, "protocol") ?: "TCP"));
	jv_set(d, p, "port", jv_new_int(d, port));
	if (app)
		jv_set(d, p, "appProtocol", jv_new_strz(d, app));
	return p;
}

struct jv *ep_pod_ref(struct jv_doc *d, const struct jv *pod)
{
	struct jv *ref = jv_new(d, JV_OBJECT);

	if (!ref)
		return NULL;
	jv_set(d, ref, "kind", jv_new_strz(d, "Pod"));
	jv_set(d, ref, "namespace", jv_new_strz(d, jv_path_str(pod, "metadata.namespace") ?: ""));
	jv_set(d, ref, "name", jv_new_strz(d, jv_path_str(pod, "metadata.name") ?: ""));
	jv_set(d, ref, "uid", jv_new_strz(d, jv_path_str(pod, "metadata.uid") ?: ""));
	return ref;
}

bool ep_should_set_hostname(const struct jv *pod, const struct jv *svc)
{
	const char *h = jv_path_str(pod, "spec.hostname");

	return h && h[0] &&
	       str_eq(jv_path_str(pod, "spec.subdomain"), jv_path_str(svc, "metadata.name")) &&
	       str_eq(jv_path_str(pod, "metadata.namespace"),
		      jv_path_str(svc, "metadata.namespace"));
}

bool ep_service_ip_set(const struct jv *svc)
{
	const char *ip = jv_path_str(svc, "spec.clusterIP");

	return ip && ip[0] && strcmp(ip, "None") != 0;
}

/* The pods of the Service's namespace its selector matches, from the pods' informer,
 * parsed into d (*out allocated in d). 0 or -errno. */
static int pods_for_service(struct kc_informer *pods, struct jv_doc *d, const struct jv *svc,
			    struct jv ***out, size_t *n)
{
	const struct jv *sel = jv_path(svc, "spec.selector");
	struct kc_obj **objs = NULL;
	size_t count = 0, k = 0;
	int err;

	*out = NULL;
	*n = 0;
	err = kc_informer_list(pods, "namespace", jv_path_str(svc, "metadata.namespace"), &objs,
			       &count);
	if (err)
		return err;
	*out = jv_alloc(d, (count + 1) * sizeof(**out));
	if (!*out) {
		kc_objs_free(objs, count);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		struct jv *p = kc_obj_parse(objs[i], d);

		if (!p) {
			kc_objs_free(objs, count);
			return -ENOMEM;
		}
		if (selector_matches(sel, jv_path(p, "metadata.labels")))
			(*out)[k++] = p;
	}
	kc_objs_free(objs, count);
	*n = k;
	return 0;
}

int ep_service_load(const struct ep_feed *f, const char *ns, const char *name, struct jv_doc **d,
		    struct jv **svc, struct jv ***pods, size_t *npods)
{
	struct kc_obj *o = kc_informer_get(f->svcs, ns, name);
	const struct jv *sel;
	int err;

	*d = NULL;
	*pods = NULL;
	*npods = 0;
	if (!o)
		return EP_SERVICE_GONE;
	*d = jv_doc_new();
	*svc = *d ? kc_obj_parse(o, *d) : NULL;
	kc_obj_put(o);
	if (!*svc)
		return -ENOMEM;
	if (ep_is_apiserver_service(f->cfg, ns, name))
		return EP_SERVICE_APISERVER;
	sel = jv_path(*svc, "spec.selector");
	if (jv_is_str(jv_path(*svc, "spec.type"), "ExternalName") || !sel || sel->type != JV_OBJECT)
		return EP_SERVICE_OTHERS;
	err = pods_for_service(f->pods, *d, *svc, pods, npods);
	return err ? err : EP_SERVICE_PODS;
}

/* ---- trigger times ---- */

struct trig_state {
	struct hmap *pods; /* pod name -> (int64_t)time of its Ready transition */
	int64_t svc_time;
};

struct ep_trigger {
	pthread_mutex_t lock;
	struct hmap *svcs; /* "ns/name" -> struct trig_state */
};

struct ep_trigger *ep_trigger_new(void)
{
	struct ep_trigger *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->svcs = hmap_new();
	if (!t->svcs) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

static void trig_state_free(struct trig_state *s)
{
	if (!s)
		return;
	hmap_free(s->pods);
	free(s);
}

void ep_trigger_free(struct ep_trigger *t)
{
	if (!t)
		return;
	for (struct hmap_entry *it = hmap_first(t->svcs); it; it = hmap_next(t->svcs, it))
		trig_state_free(hmap_entry_val(it));
	hmap_free(t->svcs);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void ep_trigger_delete(struct ep_trigger *t, const char *key)
{
	pthread_mutex_lock(&t->lock);
	trig_state_free(hmap_sdel(t->svcs, key));
	pthread_mutex_unlock(&t->lock);
}

/* getPodTriggerTime: the Ready condition's lastTransitionTime. */
static int64_t pod_trigger_time(const struct jv *pod)
{
	const struct jv *c = ctrl_condition(pod, "Ready");

	return c ? ctrl_parse_time(jv_path_str(c, "lastTransitionTime")) : -1;
}

int64_t ep_trigger_compute(struct ep_trigger *t, const char *key, const struct jv *svc,
			   struct jv **pods, size_t npods)
{
	struct trig_state *s, *prev;
	int64_t min = -1, svc_time;
	bool known;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->pods = hmap_new())) {
		free(s);
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	prev = hmap_sget(t->svcs, key);
	known = prev != NULL;
	for (size_t i = 0; i < npods; i++) {
		int64_t pt = pod_trigger_time(pods[i]);
		const char *name = jv_path_str(pods[i], "metadata.name");
		intptr_t was;

		if (pt < 0 || !name)
			continue;
		hmap_sput(s->pods, name, (void *)(intptr_t)pt, NULL);
		was = prev ? (intptr_t)hmap_sget(prev->pods, name) : 0;
		/* the pod's trigger time changed since the last sync */
		if (pt > was && (min < 0 || pt < min))
			min = pt;
	}
	svc_time = ctrl_parse_time(jv_path_str(svc, "metadata.creationTimestamp"));
	if (prev && svc_time > prev->svc_time && (min < 0 || svc_time < min))
		min = svc_time;
	s->svc_time = svc_time;
	if (hmap_sput(t->svcs, key, s, NULL) < 0)
		trig_state_free(s);
	else
		trig_state_free(prev);
	pthread_mutex_unlock(&t->lock);
	/* a new Service: its creation */
	return known ? min : svc_time;
}

/* ---- the apiserver ---- */

bool ep_is_apiserver_service(const struct ctrl_config *cfg, const char *ns, const char *name)
{
	return cfg->apiserver_ip && cfg->apiserver_ip[0] && cfg->apiserver_port &&
	       str_eq(ns, EP_APISERVER_NS) && str_eq(name, EP_APISERVER_SVC);
}

/* ---- the Service and pod handlers both controllers give their informers ---- */

void ep_feed_queue_obj(struct ep_feed *f, const struct jv *t)
{
	char key[512];

	if (kc_key_of(t, key, sizeof(key)))
		kc_queue_add(f->q, key);
}

static void feed_key(void *arg, const char *key)
{
	struct ep_feed *f = arg;

	kc_queue_add(f->q, key);
}

static void feed_svc(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	ep_feed_queue_obj(arg, t);
}

static void feed_svc_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			    const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	(void)cur;
	ep_feed_queue_obj(arg, cur_t);
}

static void feed_pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ep_feed *f = arg;

	services_for_pod_change(f->svcs, NULL, NULL, o, t, feed_key, f);
}

static void feed_pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			    const struct kc_obj *cur, const struct jv *cur_t)
{
	struct ep_feed *f = arg;

	services_for_pod_change(f->svcs, old, old_t, cur, cur_t, feed_key, f);
}

static void feed_pod_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ep_feed *f = arg;

	services_for_pod_change(f->svcs, o, t, NULL, NULL, feed_key, f);
}

int ep_feed_watch(struct ep_feed *f)
{
	struct kc_handlers svch = {
	    .add = feed_svc, .update = feed_svc_update, .del = feed_svc, .arg = f};
	struct kc_handlers podh = {
	    .add = feed_pod_add, .update = feed_pod_update, .del = feed_pod_del, .arg = f};

	if (kc_informer_add_handlers(f->svcs, &svch) != 0 ||
	    kc_informer_add_handlers(f->pods, &podh) != 0)
		return -ENOMEM;
	return 0;
}
