/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodeipam: kube-controller-manager's node IPAM controller with its range allocator
 * (pkg/controller/nodeipam/ipam/range_allocator.go, cidrset/cidr_set.go), IPv4: the cluster
 * CIDR (--cluster-cidr) cut into subnets of --node-cidr-mask-size bits (24 by default); a
 * Node without spec.podCIDR gets the next free one (the search starts after the last one
 * given and wraps around, as cidr_set's AllocateNext) in spec.podCIDR and spec.podCIDRs
 * (one patch); the subnets of Nodes that have one are taken before any is given (at start,
 * from the informer's list); a deleted Node's subnet is free again and the Nodes still
 * waiting are looked at again. No subnet left: an Event CIDRNotAvailable on the Node
 * ("Node NAME status is now: CIDRNotAvailable"), as RecordNodeStatusChange. Without a
 * cluster CIDR it does nothing (kube runs it only with --allocate-node-cidrs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"
#include "podctl.h"

#define MAX_SUBNETS (1u << 20)

struct ipam_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *nodes;
	struct kc_queue *q;
	struct kc_workers *w;
	pthread_mutex_t lock;
	uint32_t base; /* the cluster CIDR's first address (host order) */
	unsigned prefix, mask;
	uint32_t n, next, used_count;
	uint8_t *used; /* one byte per subnet */
};

/* "a.b.c.d/p" into addr/prefix: 0 or -EINVAL */
static int parse_cidr(const char *s, uint32_t *addr, unsigned *prefix)
{
	char buf[64], *slash, *end;
	struct in_addr a;
	unsigned long p;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	p = strtoul(slash + 1, &end, 10);
	if (*end || slash[1] == 0 || p > 32 || inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*addr = ntohl(a.s_addr);
	*prefix = (unsigned)p;
	return 0;
}

/* The subnet index of a podCIDR, or -1 if it is not one of ours. */
static int64_t index_of(const struct ipam_ctrl *ic, const char *cidr)
{
	uint32_t a;
	unsigned p;

	if (parse_cidr(cidr, &a, &p) != 0 || p != ic->mask)
		return -1;
	if (ic->prefix && (a ^ ic->base) >> (32 - ic->prefix))
		return -1;
	return (int64_t)((a - ic->base) >> (32 - ic->mask));
}

static void occupy(struct ipam_ctrl *ic, const char *cidr, bool take)
{
	int64_t i = index_of(ic, cidr);

	if (i < 0 || (uint64_t)i >= ic->n)
		return;
	pthread_mutex_lock(&ic->lock);
	if (take && !ic->used[i]) {
		ic->used[i] = 1;
		ic->used_count++;
	} else if (!take && ic->used[i]) {
		ic->used[i] = 0;
		ic->used_count--;
	}
	pthread_mutex_unlock(&ic->lock);
}

/* cidr_set.AllocateNext: the index taken, or -1 when none is left. */
static int64_t allocate_next(struct ipam_ctrl *ic)
{
	int64_t got = -1;

	pthread_mutex_lock(&ic->lock);
	if (ic->used_count < ic->n) {
		uint32_t cand = ic->next;

		for (uint32_t i = 0; i < ic->n; i++) {
			if (!ic->used[cand])
				break;
			cand = (cand + 1) % ic->n;
		}
		ic->next = (cand + 1) % ic->n;
		ic->used[cand] = 1;
		ic->used_count++;
		got = cand;
	}
	pthread_mutex_unlock(&ic->lock);
	return got;
}

static void subnet_str(const struct ipam_ctrl *ic, uint32_t i, char *buf, size_t size)
{
	struct in_addr a = {.s_addr = htonl(ic->base + (i << (32 - ic->mask)))};
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(buf, size, "%s/%u", ip, ic->mask);
}

/* ---- handlers ---- */

static void node_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ipam_ctrl *ic = arg;
	const char *cidr = jv_path_str(t, "spec.podCIDR");

	(void)o;
	if (cidr) {
		occupy(ic, cidr, true);
		for (const struct jv *x = jv_first(jv_path(t, "spec.podCIDRs")); x; x = x->next)
			if (x->type == JV_STRING && strcmp(x->s, cidr) != 0)
				occupy(ic, x->s, true);
	} else if (jv_path_str(t, "metadata.name")) {
		kc_queue_add(ic->q, jv_path_str(t, "metadata.name"));
	}
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
	struct ipam_ctrl *ic = arg;
	struct kc_obj **all = NULL;
	size_t n = 0;
	bool freed = false;

	(void)o;
	for (const struct jv *x = jv_first(jv_path(t, "spec.podCIDRs")); x; x = x->next)
		if (x->type == JV_STRING) {
			occupy(ic, x->s, false);
			freed = true;
		}
	if (!freed && jv_path_str(t, "spec.podCIDR")) {
		occupy(ic, jv_path_str(t, "spec.podCIDR"), false);
		freed = true;
	}
	if (!freed || kc_informer_list(ic->nodes, NULL, NULL, &all, &n) != 0)
		return;
	/* the nodes still waiting for a subnet may have one now */
	for (size_t i = 0; i < n; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *node = d ? kc_obj_parse(all[i], d) : NULL;

		if (node && !jv_path_str(node, "spec.podCIDR") &&
		    jv_path_str(node, "metadata.name"))
			kc_queue_add(ic->q, jv_path_str(node, "metadata.name"));
		jv_doc_free(d);
	}
	kc_objs_free(all, n);
}

/* ---- sync ---- */

static int sync_node(void *arg, const char *name)
{
	struct ipam_ctrl *ic = arg;
	struct jv_doc *d = jv_doc_new();
	struct kc_status st = {0};
	struct kc_obj *fresh = NULL;
	struct jv *node;
	char cidr[64], patch[256];
	int64_t i;
	int err = 0;

	if (!d)
		return -ENOMEM;
	node = ctrl_cached(ic->nodes, NULL, name, d);
	if (!node || jv_path_str(node, "spec.podCIDR") ||
	    jv_path(node, "metadata.deletionTimestamp"))
		goto out;
	/* the cache may not have seen a subnet given a moment ago: ask the server */
	err = kc_get(ic->c->kc, ctrl_k_node, NULL, name, &fresh, &st);
	if (err) {
		err = err == -ENOENT ? 0 : err;
		goto out;
	}
	node = kc_obj_parse(fresh, d);
	if (!node || jv_path_str(node, "spec.podCIDR")) {
		if (node)
			node_add(ic, fresh, node); /* taken: mark it */
		goto out;
	}
	i = allocate_next(ic);
	if (i < 0) {
		struct jv *ref =
		    ctrl_obj_ref(d, "v1", "Node", NULL, name, jv_path_str(node, "metadata.uid"));

		if (ref)
			kc_event(ic->c->rec, ref, "Normal", "CIDRNotAvailable",
				 "Node %s status is now: CIDRNotAvailable", name);
		log_warn(ic->c->name, "node %s: no CIDR left in the cluster CIDR", name);
		goto out;
	}
	subnet_str(ic, (uint32_t)i, cidr, sizeof(cidr));
	snprintf(patch, sizeof(patch), "{\"spec\":{\"podCIDR\":\"%s\",\"podCIDRs\":[\"%s\"]}}",
		 cidr, cidr);
	err = kc_patch(ic->c->kc, ctrl_k_node, NULL, name, NULL, KC_PATCH_STRATEGIC, patch,
		       strlen(patch), NULL, NULL, &st);
	if (err) {
		occupy(ic, cidr, false); /* not given: free again */
		if (err == -ENOENT)
			err = 0;
		else
			log_warn(ic->c->name, "node %s: podCIDR %s: %s", name, cidr, st.message);
	} else {
		log_info(ic->c->name, "node %s: podCIDR %s", name, cidr);
	}
out:
	kc_obj_put(fresh);
	jv_doc_free(d);
	return err;
}

/* ---- the controller ---- */

static int ipam_init(struct ctrl_ctx *c, void **state)
{
	struct ipam_ctrl *ic = calloc(1, sizeof(*ic));
	struct kc_handlers h = {.add = node_add, .update = node_update, .del = node_del};

	*state = ic;
	if (!ic)
		return -ENOMEM;
	ic->c = c;
	pthread_mutex_init(&ic->lock, NULL);
	if (!c->cfg->cluster_cidr) {
		log_info(c->name, "no cluster CIDR: allocating no pod CIDRs");
		return 0;
	}
	ic->mask = c->cfg->node_cidr_mask ? c->cfg->node_cidr_mask : 24;
	if (parse_cidr(c->cfg->cluster_cidr, &ic->base, &ic->prefix) != 0 || ic->mask > 32 ||
	    ic->mask < ic->prefix || ic->mask - ic->prefix > 20) {
		log_error(c->name, "cluster CIDR %s with node mask /%u: not a range to cut",
			  c->cfg->cluster_cidr, ic->mask);
		return -EINVAL;
	}
	if (ic->prefix)
		ic->base &= ~0u << (32 - ic->prefix);
	else
		ic->base = 0;
	ic->n = 1u << (ic->mask - ic->prefix);
	ic->used = calloc(ic->n, 1);
	ic->q = kc_queue_new(c->name);
	ic->nodes = ctrl_informer(c, ctrl_k_node);
	if (!ic->used || !ic->q || !ic->nodes)
		return -ENOMEM;
	h.arg = ic;
	return kc_informer_add_handlers(ic->nodes, &h);
}

static int ipam_run(void *state)
{
	struct ipam_ctrl *ic = state;

	if (!ic->q)
		return 0;
	ic->w = kc_workers_start(ic->q, 1, sync_node, ic, ic->c->name);
	return ic->w ? 0 : -ENOMEM;
}

static void ipam_quiesce(void *state)
{
	struct ipam_ctrl *ic = state;

	if (!ic)
		return;
	ctrl_queue_quiesce(&ic->w, ic->q);
}

static void ipam_stop(void *state)
{
	struct ipam_ctrl *ic = state;

	if (!ic)
		return;
	ipam_quiesce(ic);
	kc_queue_free(ic->q);
	pthread_mutex_destroy(&ic->lock);
	free(ic->used);
	free(ic);
}

const struct ctrl_desc ctrl_nodeipam = {
    .name = "nodeipam",
    .component = "node-ipam-controller",
    .init = ipam_init,
    .run = ipam_run,
    .stop = ipam_stop,
    .quiesce = ipam_quiesce,
};
