/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_telemetry: the node's telemetry exporter (userspace/telemetry/tl_flows.h) behind the
 * kubelet endpoint's /metrics and /flows, over the maps the agent's proxy pins under
 * --pin-root. Addresses become pods through an informer of every pod (the Node authorizer
 * lets a node list and watch them all) indexed by status.podIPs; host-network pods are left
 * out, their address being the node's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "hmap.h"
#include "informer.h"
#include "tl_flows.h"

#define IDX_POD_IP "podIP"
#define CACHE_MAX  65536 /* addresses remembered (they come from traffic: bounded) */

/* What an address resolved to, while the pod cache stays at one resourceVersion: a scrape
 * asks for the same few addresses once per series, a pod's JSON is parsed once. */
struct ident_entry {
	int rc;
	struct tl_pod_ident id;
};

struct agent_telemetry {
	struct kc_informer *pods;
	struct tl_exporter *ex;
	pthread_mutex_t mu; /* the cache */
	struct hmap *cache; /* addr (4 bytes) -> struct ident_entry */
	uint64_t cache_rv;
};

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
	return rc;
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
	a->tl = t;
	t->pods = kc_informer_new(a->kc, &(struct kc_informer_opts){.kind = a->k_pod});
	if (!t->pods)
		return -ENOMEM;
	rc = kc_informer_add_index(t->pods, IDX_POD_IP, index_pod_ip);
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
	pthread_mutex_destroy(&t->mu);
	free(t);
	a->tl = NULL;
}
