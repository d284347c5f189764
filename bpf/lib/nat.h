/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat.h: the per-packet load-balancing decision of the tc and XDP paths, independent of
 * how the packet is rewritten. For one packet it answers: pass it, translate it (and to
 * what), or reject it (a frontend without backends).
 *
 * Connection tracking (drv_ct5, LRU): a new flow to a frontend creates two entries, the
 * reply entry first (so a reply can never beat its translation), then the forward one; one
 * lookup per packet finds either (see drover_abi.h).
 * Draining, as kube-proxy's conntrack: a TCP flow keeps its translation until it ends, also
 * after its endpoint is removed or terminating; a UDP flow keeps it while its endpoint
 * serves (in drv_be4 under the same id, or terminating in drv_drain1) and is balanced anew
 * once it does not, unless the frontend has no endpoint left (or is gone).
 * Masquerade (SNAT) is used when the reply would not otherwise come back through this node:
 * NodePort/external traffic with externalTrafficPolicy Cluster, and ClusterIP traffic that
 * entered from a node device towards a backend on another node.
 */
#ifndef DRV_BPF_NAT_H
#define DRV_BPF_NAT_H

#include "maps.h"
#include "lb.h"
#include "pkt.h"
#include "stats.h"

enum drv_verdict {
	DRV_V_PASS = 0,	  /* not a service packet */
	DRV_V_FWD = 1,	  /* translate towards a backend */
	DRV_V_REPLY = 2,  /* translate a reply back */
	DRV_V_REJECT = 3, /* frontend has no backend: answer with ICMP port unreachable */
};

struct drv_xlate {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u16 rev_nat;
	__u8 flags; /* DRV_CT_F_SNAT | DRV_CT_F_DNAT */
	__u8 pad;
	struct drv_ct_val *ct; /* the flow's entry: its L2 cache is read and filled by callers */
};

static __always_inline __u32 drv_l2_epoch(void)
{
	__u32 zero = 0, *e = bpf_map_lookup_elem(&drv_epoch1, &zero);

	return e ? *e : 0;
}

/* The cached next hop of a flow, if it is current. */
static __always_inline bool drv_l2_cached(const struct drv_ct_val *ct)
{
	return ct && (ct->flags & DRV_CT_F_L2) && ct->l2_epoch == drv_l2_epoch();
}

/* Remember a FIB answer for the rest of the flow (racing writers store the same answer). */
static __always_inline void drv_l2_store(struct drv_ct_val *ct, __u32 ifindex, const __u8 *dmac,
					 const __u8 *smac)
{
	if (!ct)
		return;
	ct->ifindex = ifindex;
	__builtin_memcpy(ct->dmac, dmac, ETH_ALEN);
	__builtin_memcpy(ct->smac, smac, ETH_ALEN);
	ct->l2_epoch = drv_l2_epoch();
	ct->flags |= DRV_CT_F_L2;
}

#define DRV_SNAT_TRIES 8

static __always_inline __u64 drv_ct_timeout_ns(const struct drv_ct_val *ct, __u8 proto)
{
	if (ct->flags & DRV_CT_F_SEEN_FIN)
		return 10 * NSEC_PER_SEC;
	if (proto == DRV_PROTO_TCP)
		return (__u64)drv_cfg.ct_tcp_timeout_s * NSEC_PER_SEC;
	return (__u64)drv_cfg.ct_other_timeout_s * NSEC_PER_SEC;
}

static __always_inline bool drv_ct_alive(const struct drv_ct_val *ct, __u8 proto, __u64 now)
{
	return now - ct->last_seen_ns < drv_ct_timeout_ns(ct, proto);
}

static __always_inline void drv_ct_touch(struct drv_ct_val *ct, const struct drv_flow *f, __u64 now,
					 __u32 bytes)
{
	ct->last_seen_ns = now;
	ct->packets++;
	ct->bytes += bytes;
	if (f->tcp_flags & (DRV_TCP_FIN | DRV_TCP_RST))
		ct->flags |= DRV_CT_F_SEEN_FIN;
}

static __always_inline void drv_xlate_from_ct(struct drv_xlate *x, const struct drv_ct_val *ct)
{
	x->saddr = ct->nat_saddr;
	x->daddr = ct->nat_daddr;
	x->sport = ct->nat_sport;
	x->dport = ct->nat_dport;
	x->flags = ct->flags & (DRV_CT_F_SNAT | DRV_CT_F_DNAT);
	x->rev_nat = ct->rev_nat;
}

/* A forward entry's backend still exists and is what the entry translates to: backend ids
 * are reused, so an id alone may name another address:port by now. */
static __always_inline bool drv_ct_backend_live(const struct drv_ct_val *ct)
{
	struct drv_backend *be = drv_lookup_backend(ct->backend_id);

	return be && be->addr == ct->nat_daddr && be->port == ct->nat_dport;
}

/* ... or the entry's endpoint is terminating but still serving (drv_drain1): kube-proxy
 * keeps UDP flows to serving endpoints. */
static __always_inline bool drv_ct_backend_serves(const struct drv_ct_val *ct, __u8 proto)
{
	struct drv_drain_key k = {.addr = ct->nat_daddr, .port = ct->nat_dport, .proto = proto};

	return drv_ct_backend_live(ct) || bpf_map_lookup_elem(&drv_drain1, &k);
}

/* A packet of the tracked flow ct, translated as the entry says. */
static __always_inline int drv_ct_forward(struct drv_ct_val *ct, const struct drv_flow *f,
					  __u64 now, __u32 len, struct drv_xlate *x)
{
	drv_ct_touch(ct, f, now, len);
	drv_xlate_from_ct(x, ct);
	x->ct = ct;
	return DRV_V_FWD;
}

/* Reserve a masquerade source port for a flow to backend be by inserting its reply entry.
 * Returns the port (network order) or 0 when every try collided. */
static __always_inline __be16 drv_snat_reserve(struct drv_ct_key *rkey, struct drv_ct_val *rval)
{
	__u32 span = (__u32)drv_cfg.snat_port_max - drv_cfg.snat_port_min + 1;

#pragma unroll
	for (int i = 0; i < DRV_SNAT_TRIES; i++) {
		__u16 port = drv_cfg.snat_port_min + (bpf_get_prandom_u32() % span);

		rkey->dport = bpf_htons(port);
		if (bpf_map_update_elem(&drv_ct5, rkey, rval, BPF_NOEXIST) == 0)
			return rkey->dport;
	}
	return 0;
}

/*
 * Decide what to do with packet f arriving on this hook. from_node: the packet entered
 * through a node device (not a local pod). len: bytes, for counters.
 * Returns a drv_verdict, or a negative DRV_DROP_* reason; x is filled for FWD/REPLY
 * (x->rev_nat also for REJECT and drops, when the frontend is known).
 */
static __always_inline int drv_lb_decide(const struct drv_flow *f, bool from_node, __u32 len,
					 struct drv_xlate *x, __u8 created_by)
{
	struct drv_ct_key key = {
	    .saddr = f->saddr,
	    .daddr = f->daddr,
	    .sport = f->sport,
	    .dport = f->dport,
	    .proto = f->proto,
	};
	struct drv_ct_val *ct, *stale = NULL, fwd = {}, rev = {};
	struct drv_ct_key rkey = {};
	struct drv_svc_key skey;
	struct drv_svc_val *svc;
	struct drv_backend *be;
	__u64 now;
	__be32 snat_addr;
	bool snat, external;
	int reason = 0;
	__u32 id;

	x->rev_nat = 0;
	x->ct = NULL;
	if (!f->frag) {
		/* 1. A packet of a translated flow, either way? One lookup answers both. */
		ct = bpf_map_lookup_elem(&drv_ct5, &key);
		/* The coarse clock (a tick's resolution) is plenty for idle timeouts of seconds
		 * and costs a fraction of a precise read. */
		now = ct ? bpf_ktime_get_coarse_ns() : 0;
		if (ct && drv_ct_alive(ct, f->proto, now)) {
			if (ct->dir == DRV_CT_REPLY) {
				drv_ct_touch(ct, f, now, len);
				drv_xlate_from_ct(x, ct);
				x->ct = ct;
				return DRV_V_REPLY;
			}
			/* Forward. TCP keeps its translation (the entry holds it) when its
			 * backend is removed or terminating, until the flow ends: connection
			 * draining, as kube-proxy's conntrack keeps established flows. A SYN
			 * (no ACK) starts a new flow after a FIN/RST (a reused source port), and
			 * when its endpoint no longer serves (a reused port of a flow whose end
			 * was not seen, or a handshake not done yet: a live endpoint answers). */
			bool syn = (f->tcp_flags & (DRV_TCP_SYN | DRV_TCP_ACK)) == DRV_TCP_SYN;

			if (!(syn && (ct->flags & DRV_CT_F_SEEN_FIN))) {
				if ((f->proto == DRV_PROTO_TCP && !syn) ||
				    drv_ct_backend_serves(ct, f->proto))
					return drv_ct_forward(ct, f, now, len, x);
				/* Other protocols (UDP) to an endpoint that no longer serves:
				 * chosen anew below, as kube-proxy clears their conntrack
				 * entries. */
				if (f->proto != DRV_PROTO_TCP)
					stale = ct;
			}
		}
	}

	/* 2. Addressed to a frontend? */
	svc = drv_lookup_service(&skey, f->daddr, f->dport, f->proto);
	if (!svc) {
		/* kube-proxy clears stale UDP entries only of the services it has */
		if (stale)
			return drv_ct_forward(stale, f, now, len, x);
		return DRV_V_PASS;
	}
	x->rev_nat = svc->rev_nat;
	if (f->frag)
		return -DRV_DROP_FRAGMENT;
	/* loadBalancerSourceRanges: kube-proxy's firewall chain drops the others */
	if (svc->flags & DRV_SVC_F_SRC_RANGES) {
		struct drv_srcrange_key rk = {.prefixlen = 96,
					      .fe_addr = skey.addr,
					      .fe_port = skey.dport,
					      .proto = skey.proto,
					      .saddr = f->saddr};

		if (!bpf_map_lookup_elem(&drv_srcr1, &rk))
			return -DRV_DROP_SOURCE_RANGE;
	}

	/* 3. A new flow. */
	if (svc->count == 0) {
		/* ... and only of services with endpoints: a stale flow keeps its backend */
		if (stale)
			return drv_ct_forward(stale, f, now, len, x);
		return DRV_V_REJECT;
	}
	now = bpf_ktime_get_coarse_ns();
	external = svc->flags & (DRV_SVC_F_NODEPORT | DRV_SVC_F_EXTERNAL);
	id = drv_select_backend(&skey, svc, f->saddr, false,
				drv_flow_hash(f->saddr, f->daddr, f->sport, f->dport, f->proto),
				external, &reason);
	if (!id)
		return -reason;
	be = drv_lookup_backend(id);
	if (!be)
		return -DRV_DROP_BACKEND_GONE;

	if (external)
		snat = !(svc->flags & DRV_SVC_F_LOCAL);
	else
		snat = from_node && !(be->flags & DRV_BE_F_LOCAL);
	snat_addr = drv_is_node_addr(f->daddr) ? f->daddr : drv_cfg.snat_addr;
	if (snat && !snat_addr)
		snat = false;

	fwd.nat_daddr = be->addr;
	fwd.nat_dport = be->port;
	fwd.backend_id = id;
	fwd.rev_nat = svc->rev_nat;
	fwd.flags = DRV_CT_F_DNAT | (external ? DRV_CT_F_NODEPORT : 0) | created_by;
	fwd.dir = DRV_CT_SVC;
	fwd.last_seen_ns = now;

	rkey.saddr = be->addr;
	rkey.sport = be->port;
	rkey.proto = f->proto;
	rev.nat_saddr = f->daddr;
	rev.nat_sport = f->dport;
	rev.rev_nat = svc->rev_nat;
	rev.backend_id = id;
	rev.dir = DRV_CT_REPLY;
	rev.last_seen_ns = now;
	if (snat) {
		rkey.daddr = snat_addr;
		rev.nat_daddr = f->saddr;
		rev.nat_dport = f->sport;
		rev.flags = DRV_CT_F_SNAT | DRV_CT_F_DNAT | created_by;
		fwd.nat_sport = drv_snat_reserve(&rkey, &rev);
		if (!fwd.nat_sport)
			return -DRV_DROP_NAT_EXHAUSTED;
		fwd.nat_saddr = snat_addr;
		fwd.flags |= DRV_CT_F_SNAT;
	} else {
		rkey.daddr = f->saddr;
		rkey.dport = f->sport;
		rev.flags = DRV_CT_F_SNAT | created_by;
		if (bpf_map_update_elem(&drv_ct5, &rkey, &rev, BPF_ANY) != 0)
			return -DRV_DROP_CT_FULL;
	}
	fwd.packets = 1;
	fwd.bytes = len;
	if (bpf_map_update_elem(&drv_ct5, &key, &fwd, BPF_ANY) != 0) {
		bpf_map_delete_elem(&drv_ct5, &rkey);
		return -DRV_DROP_CT_FULL;
	}
	x->saddr = fwd.nat_saddr;
	x->daddr = fwd.nat_daddr;
	x->sport = fwd.nat_sport;
	x->dport = fwd.nat_dport;
	x->flags = fwd.flags & (DRV_CT_F_SNAT | DRV_CT_F_DNAT);
	/* The entry just written, so that the first packet's FIB answer is cached in it. */
	x->ct = bpf_map_lookup_elem(&drv_ct5, &key);
	return DRV_V_FWD;
}

#endif
