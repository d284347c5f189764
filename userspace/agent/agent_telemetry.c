/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_telemetry: the node's telemetry exporter (userspace/telemetry/tl_flows.h) behind the
 * kubelet endpoint's /metrics and /flows, over the maps the agent's proxy pins under
 * --pin-root. Addresses become pods through an informer of every pod (the Node authorizer
 * lets a node list and watch them all) indexed by status.podIPs; host-network pods are left
 * out, their address being the node's. A deleted pod's addresses keep its name for GONE_KEEP_S
 * (unless a live pod holds them by then): a short-lived client (a Job's, a `kubectl run`'s)
 * is often gone before the next scrape, and its series would read "unknown".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_int.h"
#include "hmap.h"
#include "informer.h"
#include "tl_flows.h"

#define IDX_POD_IP  "podIP"
#define CACHE_MAX   65536 /* addresses remembered (they come from traffic: bounded) */
#define GONE_KEEP_S 600	  /* twice Prometheus' staleness window (5 minutes) */

/* What an address resolved to, while the pod cache stays at one resourceVersion: a scrape
 * asks for the same few addresses once per series, a pod's JSON is parsed once. */
struct ident_entry {
	int rc;
	struct tl_pod_ident id;
};

/* A deleted pod, by address. */
struct gone_entry {
	time_t at; /* CLOCK_MONOTONIC seconds of the delete event */
	struct tl_pod_ident id;
};

struct agent_telemetry {
	struct kc_informer *pods;
	struct tl_exporter *ex;
	pthread_mutex_t mu; /* the cache */
	struct hmap *cache; /* addr (4 bytes) -> struct ident_entry */
	uint64_t cache_rv;
	/* Taken alone, or inside mu; never held while calling the informer (its delete handler
	 * takes it on the informer's thread). */
	pthread_mutex_t gone_mu;
	struct hmap *gone; /* addr (4 bytes) -> struct gone_entry */
};

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void gone_free(struct hmap *h)
{
	for (struct hmap_entry *e = h ? hmap_first(h) : NULL; e; e = hmap_next(h, e))
		free(hmap_entry_val(e));
	hmap_free(h);
}

/* The pod that held addr until it was deleted at most GONE_KEEP_S ago: 0 or -ENOENT. */
static int gone_lookup(struct agent_telemetry *t, uint32_t addr, struct tl_pod_ident *out)
{
	struct gone_entry *g;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->gone_mu);
	g = t->gone ? hmap_get(t->gone, &addr, sizeof(addr)) : NULL;
	if (g && mono_s() - g->at <= GONE_KEEP_S) {
		*out = g->id;
		rc = 0;
	}
	pthread_mutex_unlock(&t->gone_mu);
	return rc;
}

/* The informer's delete handler: remember the pod's addresses. A full table is emptied of
 * what has expired first; past that the pod is not remembered (bounded). */
static void on_pod_delete(void *arg, const struct kc_obj *o, const struct jv *tree)
{
	struct agent_telemetry *t = arg;
	struct jv_doc *d = NULL;
	const struct jv *pod = tree, *hn;
	struct tl_pod_ident id;
	time_t now = mono_s();

	if (!pod && (d = jv_doc_new()))
		pod = kc_obj_parse(o, d);
	hn = pod ? jv_path(pod, "spec.hostNetwork") : NULL;
	if (!pod || (hn && hn->type == JV_TRUE))
		goto out;
	tl_pod_ident_of(pod, &id);
	pthread_mutex_lock(&t->gone_mu);
	if (!t->gone)
		t->gone = hmap_new();
	if (t->gone && hmap_size(t->gone) >= CACHE_MAX) {
		struct hmap *keep = hmap_new();

		for (struct hmap_entry *e = keep ? hmap_first(t->gone) : NULL; e;
		     e = hmap_next(t->gone, e)) {
			struct gone_entry *g = hmap_entry_val(e);
			size_t klen;
			const void *k = hmap_entry_key(e, &klen);

			if (now - g->at > GONE_KEEP_S || hmap_put(keep, k, klen, g, NULL))
				free(g); /* expired, or no room: forgotten */
		}
		if (keep) {
			hmap_free(t->gone); /* its values were moved or freed above */
			t->gone = keep;
		}
	}
	for (const struct jv *ip = jv_first(jv_path(pod, "status.podIPs")); ip; ip = ip->next) {
		const char *s = jv_path_str(ip, "ip");
		struct gone_entry *g, *old = NULL;
		uint32_t addr;

		if (!s || inet_pton(AF_INET, s, &addr) != 1 || !t->gone ||
		    hmap_size(t->gone) >= CACHE_MAX || !(g = malloc(sizeof(*g))))
			continue;
		g->at = now;
		g->id = id;
		if (hmap_put(t->gone, &addr, sizeof(addr), g, (void **)&old))
			free(g);
		free(old);
	}
	pthread_mutex_unlock(&t->gone_mu);
out:
	jv_doc_free(d);
}

static void cache_clear(struct agent_telemetry *t)
{
	for (struct hmap_entry *e = t->cache ? hmap_first(t->cache) : NULL; e;
	     e = hmap_next(t->cache, e))
		free(hmap_entry_val(e));
	hmap_free(t->cache);
	t->cache = hmap_new();
}

static void index_pod_ip(const struct jv *pod, void (*emit)(void *, const char *), void *ctx)
{
	const struct jv *hn = jv_path(pod, "spec.hostNetwork");

	if (hn && hn->type == JV_TRUE)
		return;
	for (const struct jv *ip = jv_first(jv_path(pod, "status.podIPs")); ip; ip = ip->next)
		if (jv_path_str(ip, "ip"))
			emit(ctx, jv_path_str(ip, "ip"));
}

static int lookup(struct agent_telemetry *t, uint32_t addr, struct tl_pod_ident *out)
{
	struct kc_obj **objs = NULL;
	struct jv_doc *d;
	struct jv *pod;
	char ip[INET_ADDRSTRLEN];
	size_t n = 0;
	int rc = -ENOENT;

	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	if (kc_informer_list(t->pods, IDX_POD_IP, ip, &objs, &n) || !n)
		goto out;
	d = jv_doc_new();
	/* two pods with one address: one is gone (not yet deleted), the running one wins */
	for (size_t i = 0; d && i < n && rc; i++) {
		pod = kc_obj_parse(objs[i], d);
		if (pod && (i == n - 1 || jv_is_str(jv_path(pod, "status.phase"), "Running"))) {
			tl_pod_ident_of(pod, out);
			rc = 0;
		}
	}
	jv_doc_free(d);
out:
	kc_objs_free(objs, n);
	return rc ? gone_lookup(t, addr, out) : rc;
}

static int pod_by_ip(void *arg, uint32_t addr, struct tl_pod_ident *out)
{
	struct agent_telemetry *t = arg;
	uint64_t rv = kc_informer_rv(t->pods);
	struct ident_entry *e;
	int rc;

	pthread_mutex_lock(&t->mu);
	if (!t->cache || rv != t->cache_rv || hmap_size(t->cache) >= CACHE_MAX) {
		cache_clear(t);
		t->cache_rv = rv;
	}
	e = t->cache ? hmap_get(t->cache, &addr, sizeof(addr)) : NULL;
	if (!e && (e = malloc(sizeof(*e)))) {
		e->rc = lookup(t, addr, &e->id);
		if (!t->cache || hmap_put(t->cache, &addr, sizeof(addr), e, NULL)) {
			*out = e->id; /* not kept: out of memory */
			rc = e->rc;
			free(e);
			pthread_mutex_unlock(&t->mu);
			return rc;
		}
	}
	rc = e ? e->rc : lookup(t, addr, out);
	if (e && !rc)
		*out = e->id;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int agent_telemetry_start(struct agent *a)
{
	struct agent_telemetry *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->gone_mu, NULL);
	a->tl = t;
	t->pods = kc_informer_new(a->kc, &(struct kc_informer_opts){.kind = a->k_pod});
	if (!t->pods)
		return -ENOMEM;
	rc = kc_informer_add_index(t->pods, IDX_POD_IP, index_pod_ip);
	if (!rc)
		rc = kc_informer_add_handlers(
		    t->pods, &(struct kc_handlers){.del = on_pod_delete, .arg = t});
	if (!rc)
		rc = kc_informer_start(t->pods);
	if (rc)
		return rc;
	t->ex = tl_exporter_new(&(struct tl_exporter_config){
	    .pin_root = a->cfg->pin_root,
	    .node = a->cfg->node,
	    .res = {.pod_by_ip = pod_by_ip, .arg = t},
	});
	return t->ex ? 0 : -errno;
}

struct tl_exporter *agent_telemetry_exporter(struct agent *a)
{
	return a->tl ? a->tl->ex : NULL;
}

void agent_telemetry_shutdown(struct agent *a)
{
	if (a->tl)
		tl_exporter_shutdown(a->tl->ex);
}

void agent_telemetry_stop(struct agent *a)
{
	struct agent_telemetry *t = a->tl;

	if (!t)
		return;
	tl_exporter_free(t->ex);
	kc_informer_free(t->pods);
	cache_clear(t);
	hmap_free(t->cache);
	gone_free(t->gone);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->gone_mu);
	free(t);
	a->tl = NULL;
}
