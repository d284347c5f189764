/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lb.h: service lookup and backend selection, shared by the socket, tc and XDP programs.
 * Selection order: session affinity (if the frontend asks for it and the remembered
 * backend still exists), then Maglev (frontends reached from outside the node, so that
 * every node picks the same backend for a flow), then a uniformly random slot.
 */
#ifndef DRV_BPF_LB_H
#define DRV_BPF_LB_H

#include "maps.h"

static __always_inline bool drv_is_node_addr(__be32 addr)
{
	return bpf_map_lookup_elem(&drv_nodeip4, &addr) != NULL;
}

/* Find the master entry of the frontend addr:port/proto. NodePort frontends are stored
 * with address 0 and match any address of this node. */
static __always_inline struct drv_svc_val *drv_lookup_service(struct drv_svc_key *key, __be32 addr,
							      __be16 port, __u8 proto)
{
	struct drv_svc_val *svc;

	key->addr = addr;
	key->dport = port;
	key->slot = 0;
	key->proto = proto;
	key->scope = DRV_SCOPE_EXT;
	key->pad[0] = key->pad[1] = 0;
	svc = bpf_map_lookup_elem(&drv_svc4, key);
	if (svc)
		return svc;
	if (!drv_is_node_addr(addr))
		return NULL;
	key->addr = 0;
	svc = bpf_map_lookup_elem(&drv_svc4, key);
	if (svc && (svc->flags & DRV_SVC_F_NODEPORT))
		return svc;
	return NULL;
}

/* The master to use for the node's own processes and its pods (drover_abi.h, enum
 * drv_svc_scope): the internal scope of a two-scope frontend, with key moved to it; svc
 * itself (key unchanged) when the frontend has one scope, or its internal master is not
 * written yet. */
static __always_inline struct drv_svc_val *drv_lookup_internal(struct drv_svc_key *key,
							       struct drv_svc_val *svc)
{
	struct drv_svc_val *in;

	if (!(svc->flags & DRV_SVC_F_TWO_SCOPES))
		return svc;
	key->scope = DRV_SCOPE_INT;
	in = bpf_map_lookup_elem(&drv_svc4, key);
	if (in)
		return in;
	key->scope = DRV_SCOPE_EXT;
	return svc;
}

static __always_inline struct drv_backend *drv_lookup_backend(__u32 id)
{
	return bpf_map_lookup_elem(&drv_be4, &id);
}

static __always_inline __u32 drv_now_s(void)
{
	return (__u32)(drv_now_coarse() / NSEC_PER_SEC);
}

/* The client's remembered choice, or NULL when there is none or it has idled out. */
static __always_inline struct drv_affinity_val *drv_affinity_get(const struct drv_svc_val *svc,
								 __u64 client, bool netns)
{
	struct drv_affinity_key key = {.client = client, .rev_nat = svc->rev_nat, .netns = netns};
	struct drv_affinity_val *v = bpf_map_lookup_elem(&drv_aff4, &key);
	__u32 now = drv_now_s();

	/* a use on another CPU since now was read is no idle time */
	if (!v || (v->last_used_s < now && now - v->last_used_s > svc->affinity_timeout))
		return NULL;
	return v;
}

static __always_inline void drv_affinity_put(const struct drv_svc_val *svc, __u64 client,
					     bool netns, __u32 backend_id)
{
	struct drv_affinity_key key = {.client = client, .rev_nat = svc->rev_nat, .netns = netns};
	struct drv_affinity_val v = {.backend_id = backend_id, .last_used_s = drv_now_s()};

	bpf_map_update_elem(&drv_aff4, &key, &v, BPF_ANY);
}

/* 32-bit mix of a flow's addresses and ports (Jenkins' final mix); the same on every node,
 * which is what Maglev needs to send a flow to the same backend wherever it lands. */
static __always_inline __u32 drv_flow_hash(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport,
					   __u8 proto)
{
	__u32 a = saddr, b = daddr, c = ((__u32)sport << 16 | dport) ^ proto;

	c ^= b;
	c -= (b << 14) | (b >> 18);
	a ^= c;
	a -= (c << 11) | (c >> 21);
	b ^= a;
	b -= (a << 25) | (a >> 7);
	c ^= b;
	c -= (b << 16) | (b >> 16);
	a ^= c;
	a -= (c << 4) | (c >> 28);
	b ^= a;
	b -= (a << 14) | (a >> 18);
	c ^= b;
	c -= (b << 24) | (b >> 8);
	return c;
}

/* A Maglev table is an inner array [M, b0, b1, ... b(M-1)]: its size travels with it, so a
 * table swapped in with a different size is never indexed with the old one. */
static __always_inline __u32 drv_maglev_pick(const struct drv_svc_val *svc, __u32 hash)
{
	__u32 key = svc->rev_nat, idx = 0;
	__u32 *m, *id;
	void *table;

	table = bpf_map_lookup_elem(&drv_mag4, &key);
	if (!table)
		return 0;
	m = bpf_map_lookup_elem(table, &idx);
	if (!m || !*m)
		return 0;
	idx = hash % *m + 1;
	id = bpf_map_lookup_elem(table, &idx);
	return id ? *id : 0;
}

/* One random slot of the frontend whose master key is key, with *be its backend. The map may
 * change under us: userspace shrinks a frontend by lowering the master's count before it
 * deletes the surplus slots, and removes a backend only after no slot names it. A lookup
 * racing with that can still miss, so a miss re-reads the master and tries once more (the
 * second read sees the new count). */
static __always_inline __u32 drv_pick_slot(struct drv_svc_key *key, const struct drv_svc_val *svc,
					   struct drv_backend **be)
{
	struct drv_svc_val *slot, *master;
	__u32 count = svc->count;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!count)
			return 0;
		key->slot = (bpf_get_prandom_u32() % count) + 1;
		slot = bpf_map_lookup_elem(&drv_svc4, key);
		key->slot = 0;
		if (slot && (*be = drv_lookup_backend(slot->backend_id)))
			return slot->backend_id;
		master = bpf_map_lookup_elem(&drv_svc4, key);
		if (!master)
			return 0;
		count = master->count;
	}
	return 0;
}

/* Pick a backend for a new flow. Returns the backend id with *be its entry (every choice
 * is checked against drv_be4 anyway: the caller need not look it up again), or 0 (with
 * *reason set) when none can be used. key is the master key of the frontend (slot 0) and is
 * reused for slots. */
static __always_inline __u32 drv_select_backend(struct drv_svc_key *key,
						const struct drv_svc_val *svc, __u64 aff_client,
						bool aff_netns, __u32 flow_hash, bool use_maglev,
						struct drv_backend **be, int *reason)
{
	__u32 id = 0;

	*be = NULL;
	if (svc->flags & DRV_SVC_F_AFFINITY) {
		struct drv_affinity_val *aff = drv_affinity_get(svc, aff_client, aff_netns);

		if (aff && (*be = drv_lookup_backend(aff->backend_id))) {
			/* kube-proxy's `recent --set` on every new connection: the timeout counts
			 * from the client's last connection, not its first */
			aff->last_used_s = drv_now_s();
			return aff->backend_id;
		}
	}
	if (use_maglev && (svc->flags & DRV_SVC_F_MAGLEV)) {
		id = drv_maglev_pick(svc, flow_hash);
		if (!id) {
			*reason = DRV_DROP_MAGLEV;
			return 0;
		}
		*be = drv_lookup_backend(id);
		if (!*be) {
			/* The table is being replaced: fall back to a slot. */
			id = drv_pick_slot(key, svc, be);
		}
	} else {
		id = drv_pick_slot(key, svc, be);
	}
	if (!id || !*be) {
		*reason = DRV_DROP_BACKEND_GONE;
		return 0;
	}
	if (svc->flags & DRV_SVC_F_AFFINITY)
		drv_affinity_put(svc, aff_client, aff_netns, id);
	return id;
}

#endif
