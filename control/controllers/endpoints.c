/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoints: kube-controller-manager's Endpoints controller (pkg/controller/endpoint): the
 * legacy core/v1 Endpoints object of every Service with a selector, named as the Service:
 * ready pods under addresses, not-ready ones under notReadyAddresses (terminating pods left
 * out unless publishNotReadyAddresses), ports resolved per pod, packed into subsets as
 * RepackSubsets does, at most 1000 addresses (endpoints.kubernetes.io/over-capacity:
 * truncated). It is written only when it changed; its Service gone, it is deleted. The
 * `kubernetes` Service's Endpoints carry the API server's address, as the apiserver's
 * endpoint reconciler writes them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ep_util.h"
#include "log.h"

#define COMP		  "endpoint-controller"
#define MAX_CAPACITY	  1000
#define MAX_RETRIES	  15
#define ANN_OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"
#define ANN_TRIGGER_TIME  "endpoints.kubernetes.io/last-change-trigger-time"
#define LABEL_HEADLESS	  "service.kubernetes.io/headless"
#define LABEL_SKIP_MIRROR "endpointslice.kubernetes.io/skip-mirror"
#define ANN_LEADER	  "control-plane.alpha.kubernetes.io/leader"

struct ep_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *eps;
	struct kc_queue *q;
	struct kc_workers *w;
	struct ep_trigger *trig;
	pthread_mutex_t lock;
	struct hmap *stale; /* "ns/name" -> (uintptr_t) resourceVersion replaced by a write */
	struct ep_feed feed;
};

/* ---- subsets ---- */

/* One address under one port as the controller found it. */
struct entry {
	struct jv *addr;
	const char *addr_key; /* ip + uid */
	const char *port_key; /* "" for no port (a headless Service without ports) */
	struct jv *port;
	bool ready;
};

static int cmp_addr(const void *a, const void *b)
{
	const struct jv *x = *(struct jv *const *)a, *y = *(struct jv *const *)b;
	int c = strcmp(jv_path_str(x, "ip") ?: "", jv_path_str(y, "ip") ?: "");

	return c ? c
		 : strcmp(jv_path_str(x, "targetRef.uid") ?: "",
			  jv_path_str(y, "targetRef.uid") ?: "");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* RepackSubsets: every port maps to the set of addresses offering it (not ready wins over
 * ready); ports offered by the same addresses share a subset. Addresses sorted by IP then
 * UID, ports and subsets in a stable order. */
static struct jv *repack(struct jv_doc *d, struct entry *e, size_t n)
{
	struct jv *subsets = jv_new(d, JV_ARRAY);
	const char **ports = jv_alloc(d, (n + 1) * sizeof(*ports));
	const char **sig = jv_alloc(d, (n + 1) * sizeof(*sig));
	size_t nports = 0;

	if (!subsets || !ports || !sig)
		return NULL;
	/* the distinct ports, sorted */
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t k = 0; k < nports && !seen; k++)
			seen = strcmp(ports[k], e[i].port_key) == 0;
		if (!seen)
			ports[nports++] = e[i].port_key;
	}
	qsort(ports, nports, sizeof(*ports), cmp_str);
	/* each port's address set, as a signature: sorted "addr_key=ready" */
	for (size_t k = 0; k < nports; k++) {
		const char **items = jv_alloc(d, (n + 1) * sizeof(*items));
		size_t m = 0, len = 1;
		struct jv *item;
		char *p;

		if (!items)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			bool ready = e[i].ready, dup = false;

			if (strcmp(e[i].port_key, ports[k]) != 0)
				continue;
			for (size_t j = 0; j < n; j++)
				if (j != i && strcmp(e[j].port_key, ports[k]) == 0 &&
				    strcmp(e[j].addr_key, e[i].addr_key) == 0) {
					if (j < i)
						dup = true;
					ready = ready && e[j].ready;
				}
			if (dup)
				continue;
			item = jv_new_strf(d, "%s=%d", e[i].addr_key, ready);
			if (!item)
				return NULL;
			items[m++] = item->s;
			len += item->len + 1;
		}
		qsort(items, m, sizeof(*items), cmp_str);
		p = jv_alloc(d, len);
		if (!p)
			return NULL;
		sig[k] = p;
		for (size_t i = 0; i < m; i++)
			p += sprintf(p, "%s;", items[i]);
	}
	/* ports with the same signature make one subset, in the order of their first port */
	for (size_t k = 0; k < nports; k++) {
		struct jv *ss, *addrs, *notready, *pl, **av;
		size_t na = 0;
		bool first = true;

		for (size_t j = 0; j < k && first; j++)
			first = strcmp(sig[j], sig[k]) != 0;
		if (!first)
			continue;
		ss = jv_new(d, JV_OBJECT);
		addrs = jv_new(d, JV_ARRAY);
		notready = jv_new(d, JV_ARRAY);
		pl = jv_new(d, JV_ARRAY);
		av = jv_alloc(d, (n + 1) * sizeof(*av));
		if (!ss || !addrs || !notready || !pl || !av)
			return NULL;
		/* the addresses of the first port (they are the same for every port here) */
		for (size_t i = 0; i < n; i++) {
			bool dup = false;

			if (strcmp(e[i].port_key, ports[k]) != 0)
				continue;
			for (size_t j = 0; j < na && !dup; j++)
				dup = av[j] == e[i].addr;
			for (size_t j = 0; j < i && !dup; j++)
				dup = strcmp(e[j].port_key, ports[k]) == 0 &&
				      strcmp(e[j].addr_key, e[i].addr_key) == 0;
			if (!dup)
				av[na++] = e[i].addr;
		}
		qsort(av, na, sizeof(*av), cmp_addr);
		for (size_t i = 0; i < na; i++) {
			const char *ak = NULL;
			bool ready = true;

			for (size_t j = 0; j < n; j++)
				if (e[j].addr == av[i])
					ak = e[j].addr_key;
			for (size_t j = 0; j < n; j++)
				if (strcmp(e[j].port_key, ports[k]) == 0 &&
				    strcmp(e[j].addr_key, ak) == 0)
					ready = ready && e[j].ready;
			jv_push(ready ? addrs : notready, jv_copy(d, av[i]));
		}
		for (size_t j = k; j < nports; j++) {
			if (strcmp(sig[j], sig[k]) != 0 || !ports[j][0])
				continue;
			for (size_t i = 0; i < n; i++)
				if (strcmp(e[i].port_key, ports[j]) == 0) {
					jv_push(pl, jv_copy(d, e[i].port));
					break;
				}
		}
		if (addrs->len)
			jv_set(d, ss, "addresses", addrs);
		if (notready->len)
			jv_set(d, ss, "notReadyAddresses", notready);
		if (pl->len)
			jv_set(d, ss, "ports", pl);
		jv_push(subsets, ss);
	}
	return subsets;
}

/* truncateEndpoints: at most 1000 addresses, ready ones first, each subset keeping its
 * share. True if it cut. */
static bool truncate_endpoints(struct jv *subsets)
{
	size_t ready = 0, notready = 0, max, total, can;
	bool cut_ready;

	for (const struct jv *ss = jv_first(subsets); ss; ss = ss->next) {
		ready += jv_count(jv_get(ss, "addresses"));
		notready += jv_count(jv_get(ss, "notReadyAddresses"));
	}
	if (ready + notready <= MAX_CAPACITY)
		return false;
	cut_ready = ready > MAX_CAPACITY;
	max = cut_ready ? MAX_CAPACITY : MAX_CAPACITY - ready;
	total = cut_ready ? ready : notready;
	can = max;
	for (struct jv *ss = jv_first(subsets); ss; ss = ss->next) {
		struct jv *a = jv_get(ss, cut_ready ? "addresses" : "notReadyAddresses");
		size_t in = jv_count(a);
		size_t take = (size_t)ceil((double)in / (double)total * (double)max);
		size_t i = 0;
		struct jv *prev = NULL;

		if (take > can)
			take = can;
		for (struct jv *x = jv_first(a), *next; x; x = next, i++) {
			next = x->next;
			if (i >= take)
				jv_unlink(a, prev, x);
			else
				prev = x;
		}
		if (cut_ready) {
			struct jv *nr = jv_get(ss, "notReadyAddresses");

			if (nr)
				jv_clear(nr);
		}
		can -= jv_count(a);
	}
	return true;
}

/* ---- the Endpoints of one Service ---- */

static int service_family(const struct jv *svc, const struct jv *pod)
{
	const struct jv *f = jv_first(jv_path(svc, "spec.ipFamilies"));
	const char *cip = jv_path_str(svc, "spec.clusterIP");

	if (f)
		return jv_is_str(f, "IPv6") ? 6 : 4;
	if (ep_service_ip_set(svc))
		return ep_ip_family(cip);
	return ep_ip_family(jv_path_str(pod, "status.podIP"));
}

static struct jv *pod_address(struct jv_doc *d, const struct jv *svc, const struct jv *pod)
{
	const char *ip = ep_pod_ip(pod, service_family(svc, pod));
	struct jv *a, *ref;

	if (!ip)
		return NULL;
	a = jv_new(d, JV_OBJECT);
	ref = ep_pod_ref(d, pod);
	if (!a || !ref)
		return NULL;
	jv_set(d, a, "ip", jv_new_strz(d, ip));
	if (ep_should_set_hostname(pod, svc))
		jv_set(d, a, "hostname", jv_new_strz(d, jv_path_str(pod, "spec.hostname")));
	jv_set(d, a, "nodeName", jv_new_strz(d, jv_path_str(pod, "spec.nodeName") ?: ""));
	jv_set(d, a, "targetRef", ref);
	return a;
}

/* The subsets of a Service: every pod it selects, under each port it resolves. */
static struct jv *service_subsets(struct jv_doc *d, const struct jv *svc, struct jv **pods,
				  size_t npods)
{
	bool publish = ep_is_true(jv_path(svc, "spec.publishNotReadyAddresses"));
	size_t nports = jv_count(jv_path(svc, "spec.ports")), n = 0;
	struct entry *e = jv_alloc(d, (npods * (nports + 1) + 1) * sizeof(*e));

	if (!e)
		return NULL;
	for (size_t i = 0; i < npods; i++) {
		struct jv *addr, *ak;
		bool ready = publish || ctrl_pod_ready(pods[i]);

		if (!ep_pod_in_endpoints(pods[i], publish))
			continue;
		addr = pod_address(d, svc, pods[i]);
		if (!addr)
			continue;
		ak = jv_new_strf(d, "%s/%s", jv_path_str(addr, "ip"),
				 jv_path_str(addr, "targetRef.uid"));
		if (!ak)
			return NULL;
		if (!nports) {
			/* a headless Service may have no ports; any other gets no address */
			if (jv_is_str(jv_path(svc, "spec.clusterIP"), "None"))
				e[n++] = (struct entry){.addr = addr,
							.addr_key = ak->s,
							.port_key = "",
							.ready = ready};
			continue;
		}
		for (const struct jv *sp = jv_first(jv_path(svc, "spec.ports")); sp;
		     sp = sp->next) {
			int port = ep_find_port(pods[i], sp);
			struct jv *p, *pk;

			if (port < 0)
				continue;
			p = ep_endpoint_port(d, sp, port);
			pk = p ? jv_new_strf(d, "%s/%s/%d/%s", jv_path_str(p, "name"),
					     jv_path_str(p, "protocol"), port,
					     jv_path_str(p, "appProtocol") ?: "")
			       : NULL;
			if (!pk)
				return NULL;
			e[n++] = (struct entry){.addr = addr,
						.addr_key = ak->s,
						.port_key = pk->s,
						.port = p,
						.ready = ready};
		}
	}
	return repack(d, e, n);
}

static bool labels_equal(const struct jv *a, const struct jv *b)
{
	size_t na = 0, nb = jv_count(b);

	for (const struct jv *l = jv_first(a); l; l = l->next) {
		if (strcmp(l->key, LABEL_HEADLESS) == 0)
			continue;
		na++;
		if (!jv_get(b, l->key) || !jv_equal(jv_get(b, l->key), l))
			return false;
	}
	return na == nb;
}

static bool is_stale(struct ep_ctrl *s, const char *key, uint64_t rv)
{
	bool stale;

	pthread_mutex_lock(&s->lock);
	stale = (uint64_t)(uintptr_t)hmap_sget(s->stale, key) == rv;
	pthread_mutex_unlock(&s->lock);
	return stale;
}

static void set_stale(struct ep_ctrl *s, const char *key, uint64_t rv)
{
	pthread_mutex_lock(&s->lock);
	if (rv)
		hmap_sput(s->stale, key, (void *)(uintptr_t)rv, NULL);
	else
		hmap_sdel(s->stale, key);
	pthread_mutex_unlock(&s->lock);
}

/* Create or update cur (NULL: create want) to want. */
static int write_endpoints(struct ep_ctrl *s, const char *key, struct jv *obj, bool create,
			   uint64_t old_rv)
{
	const char *ns = jv_path_str(obj, "metadata.namespace");
	const char *name = jv_path_str(obj, "metadata.name");
	struct kc_obj *out = NULL;
	struct kc_status st;
	int err;

	if (create)
		err = kc_create(s->c->kc, ctrl_k_endpoints, ns, obj, NULL, &out, &st);
	else
		err = kc_update(s->c->kc, ctrl_k_endpoints, ns, NULL, obj, NULL, &out, &st);
	if (err) {
		/* creates in a namespace being deleted keep failing: drop the Service */
		if (create && ctrl_ns_terminating(err, &st))
			return 0;
		if (create)
			kc_event(s->c->rec, obj, "Warning", "FailedToCreateEndpoint",
				 "Failed to create endpoint for service %s/%s: %s", ns, name,
				 st.message[0] ? st.message : kc_strerror(err));
		else
			kc_event(s->c->rec, obj, "Warning", "FailedToUpdateEndpoint",
				 "Failed to update endpoint %s/%s: %s", ns, name,
				 st.message[0] ? st.message : kc_strerror(err));
		return -EAGAIN;
	}
	/* the cache may still hold the version replaced: retry if a sync sees it */
	if (!create && out && out->rv != old_rv)
		set_stale(s, key, old_rv);
	kc_obj_put(out);
	return 0;
}

/* The apiserver's Endpoints (EndpointsAdapter.updateEndpoints). */
static int sync_apiserver(struct ep_ctrl *s, struct jv_doc *d)
{
	const struct ctrl_config *cfg = s->c->cfg;
	struct kc_obj *o = kc_informer_get(s->eps, EP_APISERVER_NS, EP_APISERVER_SVC);
	struct jv *cur = o ? kc_obj_parse(o, d) : NULL, *want;
	uint64_t rv = o ? o->rv : 0;
	char body[1024];

	kc_obj_put(o);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":"
		 "\"" EP_APISERVER_SVC "\",\"namespace\":\"" EP_APISERVER_NS "\",\"labels\":{"
		 "\"" LABEL_SKIP_MIRROR "\":\"true\"}},\"subsets\":[{\"addresses\":[{\"ip\":"
		 "\"%s\"}],\"ports\":[{\"name\":\"https\",\"port\":%u,\"protocol\":\"TCP\"}]}]}",
		 cfg->apiserver_ip, cfg->apiserver_port);
	want = jv_parse(d, body, strlen(body), NULL);
	if (!want)
		return -ENOMEM;
	if (!cur)
		return write_endpoints(s, EP_APISERVER_NS "/" EP_APISERVER_SVC, want, true, 0);
	if (jv_equal(jv_get(cur, "subsets"), jv_get(want, "subsets")) &&
	    jv_equal(jv_path(cur, "metadata.labels"), jv_path(want, "metadata.labels")))
		return 0;
	log_warn(COMP, "resetting endpoints for master service %s/%s", EP_APISERVER_NS,
		 EP_APISERVER_SVC);
	jv_set(d, jv_get(cur, "metadata"), "labels", jv_copy(d, jv_path(want, "metadata.labels")));
	jv_set(d, cur, "subsets", jv_copy(d, jv_get(want, "subsets")));
	return write_endpoints(s, EP_APISERVER_NS "/" EP_APISERVER_SVC, cur, false, rv);
}

static int sync_service(void *arg, const char *key)
{
	struct ep_ctrl *s = arg;
	char buf[512], *ns, *name;
	struct kc_obj *eo = NULL;
	struct jv **pods, *svc, *cur = NULL, *subsets, *obj, *meta, *ann, *labels;
	size_t npods;
	struct jv_doc *d;
	int64_t trigger;
	uint64_t rv = 0;
	bool create;
	int err = 0, what;

	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	what = ep_service_load(&s->feed, ns, name, &d, &svc, &pods, &npods);
	if (what == EP_SERVICE_GONE) {
		struct kc_status st;

		/* the Service is gone: so are its Endpoints */
		err = kc_delete(s->c->kc, ctrl_k_endpoints, ns, name, NULL, NULL, &st);
		if (err && err != -ENOENT)
			return -EAGAIN;
		ep_trigger_delete(s->trig, key);
		set_stale(s, key, 0);
		return 0;
	}
	if (what == EP_SERVICE_APISERVER)
		err = sync_apiserver(s, d);
	else if (what < 0)
		err = what;
	if (what != EP_SERVICE_PODS)
		goto out;
	trigger = ep_trigger_compute(s->trig, key, svc, pods, npods);
	subsets = service_subsets(d, svc, pods, npods);
	if (!subsets) {
		err = -ENOMEM;
		goto out;
	}
	eo = kc_informer_get(s->eps, ns, name);
	if (eo) {
		cur = kc_obj_parse(eo, d);
		rv = eo->rv;
		kc_obj_put(eo);
		if (!cur) {
			err = -ENOMEM;
			goto out;
		}
		if (is_stale(s, key, rv)) {
			log_info(COMP,
				 "endpoints informer cache is out of date, resource version %llu "
				 "already processed for endpoints %s",
				 (unsigned long long)rv, key);
			err = -EAGAIN;
			goto out;
		}
	}
	create = !cur;
	if (!create) {
		size_t total = 0;

		for (const struct jv *ss = jv_first(jv_get(cur, "subsets")); ss; ss = ss->next)
			total += jv_count(jv_get(ss, "addresses")) +
				 jv_count(jv_get(ss, "notReadyAddresses"));
		if (jv_count(jv_get(cur, "subsets")) == jv_count(subsets) &&
		    (!jv_count(subsets) || jv_equal(jv_get(cur, "subsets"), subsets)) &&
		    labels_equal(jv_path(cur, "metadata.labels"),
				 jv_path(svc, "metadata.labels")) &&
		    total <= MAX_CAPACITY &&
		    !jv_path(cur, "metadata.annotations[" ANN_OVER_CAPACITY "]"))
			goto out; /* nothing changed */
		obj = cur;
	} else {
		obj = jv_new(d, JV_OBJECT);
		jv_set(d, obj, "apiVersion", jv_new_strz(d, "v1"));
		jv_set(d, obj, "kind", jv_new_strz(d, "Endpoints"));
		meta = jv_obj_at(d, obj, "metadata");
		jv_set(d, meta, "name", jv_new_strz(d, name));
		jv_set(d, meta, "namespace", jv_new_strz(d, ns));
	}
	meta = jv_obj_at(d, obj, "metadata");
	labels = jv_copy(d, jv_path(svc, "metadata.labels"));
	if (!labels || labels->type != JV_OBJECT)
		labels = jv_new(d, JV_OBJECT);
	if (!ep_service_ip_set(svc))
		jv_set(d, labels, LABEL_HEADLESS, jv_new_strz(d, ""));
	jv_set(d, meta, "labels", labels);
	ann = jv_obj_at(d, meta, "annotations");
	if (trigger >= 0) {
		char ts[32];

		jv_set(d, ann, ANN_TRIGGER_TIME, jv_new_strz(d, ctrl_time(trigger, ts)));
	} else {
		jv_del(ann, ANN_TRIGGER_TIME);
	}
	if (truncate_endpoints(subsets))
		jv_set(d, ann, ANN_OVER_CAPACITY, jv_new_strz(d, "truncated"));
	else
		jv_del(ann, ANN_OVER_CAPACITY);
	jv_set(d, obj, "subsets", subsets);
	err = write_endpoints(s, key, obj, create, rv);
out:
	jv_doc_free(d);
	if (err && kc_queue_requeues(s->q, key) >= MAX_RETRIES) {
		log_info(COMP, "dropping service %s out of the queue", key);
		return 0;
	}
	return err;
}

/* ---- events ---- */

static void eps_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ep_ctrl *s = arg;

	(void)o;
	ep_feed_queue_obj(&s->feed, t);
}

/* Endpoints: a deleted one is made again; the apiserver's are kept as they should be (the
 * apiserver's reconciler checks them periodically) */
static void eps_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	struct ep_ctrl *s = arg;

	(void)old;
	(void)old_t;
	if (ep_is_apiserver_service(s->c->cfg, jv_path_str(cur_t, "metadata.namespace"),
				    jv_path_str(cur_t, "metadata.name")))
		ep_feed_queue_obj(&s->feed, cur_t);
}

/* ---- lifecycle ---- */

static int ep_init(struct ctrl_ctx *c, void **state)
{
	struct ep_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers epsh = {.update = eps_update, .del = eps_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	pthread_mutex_init(&s->lock, NULL);
	s->stale = hmap_new();
	s->q = kc_queue_new("endpoint");
	s->trig = ep_trigger_new();
	s->feed = (struct ep_feed){.q = s->q,
				   .svcs = ctrl_informer(c, ctrl_k_service),
				   .pods = ctrl_informer(c, ctrl_k_pod),
				   .cfg = c->cfg};
	s->eps = ctrl_informer(c, ctrl_k_endpoints);
	if (!s->stale || !s->q || !s->trig || !s->feed.svcs || !s->feed.pods || !s->eps)
		return -ENOMEM;
	epsh.arg = s;
	if (ep_feed_watch(&s->feed) != 0 || kc_informer_add_handlers(s->eps, &epsh) != 0)
		return -ENOMEM;
	return 0;
}

/* checkLeftoverEndpoints: Endpoints whose Service went while the controller was not
 * running are found once, at start. */
static void check_leftovers(struct ep_ctrl *s)
{
	struct kc_obj **objs = NULL;
	size_t n = 0;
	struct jv_doc *d;

	if (kc_informer_list(s->eps, NULL, NULL, &objs, &n) != 0)
		return;
	d = jv_doc_new();
	for (size_t i = 0; d && i < n; i++) {
		struct jv *t = kc_obj_parse(objs[i], d);
		char key[512];

		/* leader election's Endpoints have no Service */
		if (t && !jv_path(t, "metadata.annotations[" ANN_LEADER "]") &&
		    kc_key_of(t, key, sizeof(key)))
			kc_queue_add(s->q, key);
	}
	jv_doc_free(d);
	kc_objs_free(objs, n);
}

static int ep_run(void *state)
{
	struct ep_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_service, s, "endpoint");
	if (!s->w)
		return -ENOMEM;
	check_leftovers(s);
	return 0;
}

static void ep_stop(void *state)
{
	struct ep_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	ep_trigger_free(s->trig);
	hmap_free(s->stale);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const struct ctrl_desc ctrl_endpoints = {
    .name = "endpoint",
    .component = "endpoint-controller",
    .init = ep_init,
    .run = ep_run,
    .stop = ep_stop,
};
