/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat.h: the per-packet load-balancing decision of the tc and XDP paths, independent of
 * how the packet is rewritten. For one packet it answers: pass it, translate it (and to
 * what), or reject it (a frontend without backends).
 *
 * Connection tracking (drv_ct6, LRU): a new flow to a frontend creates two entries, the
 * reply entry first (so a reply can never beat its translation), then the forward one; one
 * lookup per packet finds either (see drover_abi.h).
 * Draining, as kube-proxy's conntrack: a TCP flow keeps its translation until it ends, also
 * after its endpoint is removed or terminating; a UDP flow keeps it while its endpoint
 * serves (in drv_be4 under the same id, or terminating in drv_drain1) and is balanced anew
 * once it does not, unless the frontend has no endpoint left (or is gone).
 * Masquerade (SNAT) is used when the reply would not otherwise come back through this node:
 * NodePort/external traffic with externalTrafficPolicy Cluster, and ClusterIP traffic (or
 * traffic of a Local frontend's internal scope, see drv_lb_scope) that entered from a node
 * device towards a backend on another node. Its source ports: see
 * drv_snat_reserve; a TCP flow's close is followed (drv_ct_track_close) so that its port is
 * free again when the flow ends, not when its entries are collected.
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
	/* In, for drv_lb_decide: the ingress device, for a new flow's next hop from drv_nh1
	 * (0: not wanted) */
	__u32 nh_iif;
};

/* How drv_lb_decide found a new flow's next hop (drv_nh1), when its caller asks (nh_iif), in
 * drv_scratch's nh_state for the caller's next-hop choice to read (and reset) at once. */
enum drv_nh_state {
	DRV_NH_NONE = 0, /* not asked (XDP), or not a new flow */
	DRV_NH_HIT = 1,	 /* drv_scratch's hop, and the flow's entry was written with it */
	DRV_NH_MISS = 2, /* none valid: the caller resolves it and remembers it (drv_nh_store) */
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

/* Remember a next hop for the rest of the flow (racing writers store the same answer): a FIB
 * answer with its device's MTU (0: unknown, checked per packet), or a local pod (l2_flags
 * DRV_CT_L2_PEER). Until the epoch changes: the proxy's conntrack GC bumps it every period
 * (a changed neighbour is followed within one), the proxy on link, route and rule events,
 * drover-cni on every pod ADD and DEL (drv_ep1 changed). */
static __always_inline void drv_l2_store(struct drv_ct_val *ct, __u32 ifindex, const __u8 *dmac,
					 const __u8 *smac, __u32 mtu, __u8 l2_flags)
{
	if (!ct)
		return;
	ct->ifindex = ifindex;
	__builtin_memcpy(ct->dmac, dmac, ETH_ALEN);
	__builtin_memcpy(ct->smac, smac, ETH_ALEN);
	ct->mtu = mtu <= 0xffff ? (__u16)mtu : 0;
	ct->l2_flags = l2_flags;
	ct->l2_epoch = drv_l2_epoch();
	ct->flags |= DRV_CT_F_L2;
}

/* The next hop remembered for translated packets to daddr that entered through iif
 * (drv_nh1), whatever its epoch and MTU: the caller checks those (drv_nh_valid) where a
 * branch costs the verifier less. */
static __always_inline struct drv_nh_val *drv_nh_get(__be32 daddr, __u32 iif)
{
	struct drv_scratch *s = drv_scratch_get();

	if (!s)
		return NULL;
	s->nh_key.daddr = daddr;
	s->nh_key.iif = iif;
	return bpf_map_lookup_elem(&drv_nh1, &s->nh_key);
}

/* nh is good for a packet of len bytes (IP; ~0 for GSO: never) now. */
static __always_inline bool drv_nh_valid(const struct drv_nh_val *nh, __u32 len)
{
	return nh->epoch == drv_l2_epoch() && ((nh->l2_flags & DRV_CT_L2_PEER) || len <= nh->mtu);
}

/* Remember a next hop resolved for daddr from iif, as of epoch (read before resolving: a bump
 * during the lookup leaves the answer stale, and the entry says so). */
static __always_inline void drv_nh_store(__be32 daddr, __u32 iif, __u32 epoch, __u32 ifindex,
					 const __u8 *dmac, const __u8 *smac, __u32 mtu,
					 __u8 l2_flags)
{
	struct drv_scratch *s = drv_scratch_get();

	if (!s)
		return;
	s->nh_key.daddr = daddr;
	s->nh_key.iif = iif;
	s->nh.ifindex = ifindex;
	__builtin_memcpy(s->nh.dmac, dmac, ETH_ALEN);
	__builtin_memcpy(s->nh.smac, smac, ETH_ALEN);
	s->nh.epoch = epoch;
	s->nh.mtu = mtu <= 0xffff ? (__u16)mtu : 0;
	s->nh.l2_flags = l2_flags;
	s->nh.pad = 0;
	bpf_map_update_elem(&drv_nh1, &s->nh_key, &s->nh, BPF_ANY);
}

/* Ports tried per new masqueraded flow, each at random in the range: at 90 % of the range in
 * use by live flows one allocation in a thousand fails (0.9^64). Bounded, so a full range
 * costs a new flow 64 lookups, never a long loop. */
#define DRV_SNAT_PROBES 64

static __always_inline __u64 drv_ct_timeout_ns(const struct drv_ct_val *ct, __u8 proto)
{
	if (ct->flags & DRV_CT_F_SEEN_FIN)
		return 10 * NSEC_PER_SEC;
	if (proto == DRV_PROTO_TCP)
		return (__u64)drv_cfg.ct_tcp_timeout_s * NSEC_PER_SEC;
	return (__u64)drv_cfg.ct_other_timeout_s * NSEC_PER_SEC;
}

/* A packet on another CPU since now was read (its clock read later) is no idle time. */
static __always_inline bool drv_ct_alive(const struct drv_ct_val *ct, __u8 proto, __u64 now)
{
	return ct->last_seen_ns > now || now - ct->last_seen_ns < drv_ct_timeout_ns(ct, proto);
}

/* A flow's entry another flow may take over (its SNAT port): closed, or idle past its
 * timeout and not collected yet. */
static __always_inline bool drv_ct_reusable(const struct drv_ct_val *ct, __u8 proto, __u64 now)
{
	if (ct->last_seen_ns > now)
		return false; /* a packet on another CPU since now was read: alive */
	return (ct->flags & DRV_CT_F_CLOSED) || !drv_ct_alive(ct, proto, now);
}

/* The key of the other direction's entry of the flow whose entry ct has key k: the reply as
 * the backend sends it, or the client's packet before translation (drover_abi.h). */
static __always_inline void drv_ct_peer_key(struct drv_ct_key *pk, const struct drv_ct_val *ct,
					    const struct drv_ct_key *k)
{
	bool xl;

	pk->proto = k->proto;
	if (ct->dir == DRV_CT_REPLY) {
		xl = ct->flags & DRV_CT_F_DNAT; /* masqueraded: the client is in the entry */
		pk->saddr = xl ? ct->nat_daddr : k->daddr;
		pk->sport = xl ? ct->nat_dport : k->dport;
		pk->daddr = ct->nat_saddr;
		pk->dport = ct->nat_sport;
	} else {
		xl = ct->flags & DRV_CT_F_SNAT;
		pk->saddr = ct->nat_daddr;
		pk->sport = ct->nat_dport;
		pk->daddr = xl ? ct->nat_saddr : k->saddr;
		pk->dport = xl ? ct->nat_sport : k->sport;
	}
}

/* The other direction's entry, if it still belongs to this flow (a client that reused its
 * tuple, or a port taken over, leaves an entry that names another flow). */
static __always_inline struct drv_ct_val *
drv_ct_peer(const struct drv_ct_val *ct, const struct drv_ct_key *k, struct drv_ct_key *pk)
{
	struct drv_ct_key back = {};
	struct drv_ct_val *p;

	drv_ct_peer_key(pk, ct, k);
	p = bpf_map_lookup_elem(&drv_ct6, pk);
	if (!p || p->dir == ct->dir)
		return NULL;
	drv_ct_peer_key(&back, p, pk);
	if (back.saddr != k->saddr || back.daddr != k->daddr || back.sport != k->sport ||
	    back.dport != k->dport)
		return NULL;
	return p;
}

/* Remove the other direction's entry of a flow that is being replaced. */
static __always_inline void drv_ct_forget_peer(const struct drv_ct_val *ct,
					       const struct drv_ct_key *k)
{
	struct drv_ct_key pk = {};

	if (drv_ct_peer(ct, k, &pk))
		bpf_map_delete_elem(&drv_ct6, &pk);
}

/* A client reuses the tuple of its flow ct that has ended (a new SYN after a FIN/RST): the
 * old flow's reply entry stays, closed, and keeps its masquerade port. The backend holds that
 * tuple in TIME_WAIT and takes a new SYN on it only when its sequence number or timestamp is
 * newer; else it answers with the old flow's ACK, the client resets and retries a second
 * later. The client's own numbers grow per tuple (Linux: a hash of the tuple plus a clock),
 * not across tuples: so the port goes back to the new flow of the same client tuple
 * (drv_lb_decide), or else to another flow only as a closed one's does (drv_snat_reserve:
 * when every probe is in use). Its peer is the new flow now, which drv_ct_peer tells apart.
 * Returns true with *pk = the kept entry's key; other replaced flows' reply entries go. */
static __always_inline bool drv_ct_retire_peer(const struct drv_ct_val *ct,
					       const struct drv_ct_key *k, struct drv_ct_key *pk)
{
	struct drv_ct_val *p = drv_ct_peer(ct, k, pk);

	if (!p)
		return false;
	if (k->proto == DRV_PROTO_TCP && (ct->flags & DRV_CT_F_SEEN_FIN) &&
	    (p->flags & DRV_CT_F_DNAT)) { /* masqueraded: a port of the range */
		p->flags |= DRV_CT_F_SEEN_FIN | DRV_CT_F_CLOSED;
		return true;
	}
	bpf_map_delete_elem(&drv_ct6, pk);
	return false;
}

/* TCP close as conntrack follows it, from the flags: a RST ends the flow; a FIN marks its
 * direction (DRV_CT_F_SEEN_FIN); once both directions sent one (DRV_CT_F_FIN_BOTH), the next
 * ACK without FIN (the last FIN's) ends it. Ended: DRV_CT_F_CLOSED on both entries, and the
 * SNAT port may go to a new flow. Only FIN/RST packets and the ACKs of a closing flow get
 * here, so the other entry's lookup costs the packets of an open flow nothing. */
static __always_inline void drv_ct_track_close(struct drv_ct_val *ct, const struct drv_flow *f)
{
	struct drv_ct_key k = {
	    .saddr = f->saddr,
	    .daddr = f->daddr,
	    .sport = f->sport,
	    .dport = f->dport,
	    .proto = f->proto,
	};
	struct drv_ct_key pk = {};
	struct drv_ct_val *p;
	__u8 tf = f->tcp_flags, set;

	if (tf & DRV_TCP_RST)
		set = DRV_CT_F_SEEN_FIN | DRV_CT_F_CLOSED;
	else if (tf & DRV_TCP_FIN)
		set = DRV_CT_F_SEEN_FIN;
	else if ((ct->flags & DRV_CT_F_FIN_BOTH) && (tf & DRV_TCP_ACK))
		set = DRV_CT_F_CLOSED;
	else
		return;
	ct->flags |= set;
	p = drv_ct_peer(ct, &k, &pk);
	if (!p)
		return;
	if (set == DRV_CT_F_SEEN_FIN) {
		if (!(p->flags & DRV_CT_F_SEEN_FIN))
			return;
		set = DRV_CT_F_FIN_BOTH;
		ct->flags |= set;
	}
	p->flags |= set;
}

static __always_inline void drv_ct_touch(struct drv_ct_val *ct, const struct drv_flow *f, __u64 now,
					 __u32 bytes)
{
	ct->last_seen_ns = now;
	ct->packets++;
	ct->bytes += bytes;
	if ((f->tcp_flags & (DRV_TCP_FIN | DRV_TCP_RST)) ||
	    ((ct->flags & (DRV_CT_F_FIN_BOTH | DRV_CT_F_CLOSED)) == DRV_CT_F_FIN_BOTH &&
	     f->tcp_flags))
		drv_ct_track_close(ct, f);
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

/* Reserve a masquerade source port for a flow to a backend by inserting its reply entry
 * rkey/rval (rkey->dport is the port): as Linux NAT, a port is unique per (SNAT address,
 * backend address and port, protocol), so every backend has the whole range. Free ports
 * first, each probe at random in drv_cfg's range; when all DRV_SNAT_PROBES were in use, the
 * one whose flow is over (closed, or idle past its timeout) and quiet the longest is taken
 * over, as conntrack's NAT reuses a TIME_WAIT tuple, and the old flow's other entry goes
 * with it. A flow ended by a RST first: the backend keeps no TIME_WAIT for it. Else the
 * longest quiet: the backend may hold the old connection in TIME_WAIT, and takes a new SYN
 * on its tuple only with a newer sequence number or TCP timestamp (random per connection
 * on Linux; otherwise it answers with its old ACK, and the client retries a second later).
 * Returns the port (network order), or 0 when every probe found a live flow. */
static __always_inline __be16 drv_snat_reserve(struct drv_ct_key *rkey, struct drv_ct_val *rval)
{
	__u32 min = drv_cfg.snat_port_min;
	__u32 span = (__u32)drv_cfg.snat_port_max - min + 1;
	__u64 now = rval->last_seen_ns, reuse_seen = ~0ULL;
	struct drv_ct_val *old;
	__u32 reuse = 0;
	bool reuse_rst = false;

	for (int i = 0; i < DRV_SNAT_PROBES; i++) {
		__u32 port = min + bpf_get_prandom_u32() % span;

		rkey->dport = bpf_htons(port);
		old = bpf_map_lookup_elem(&drv_ct6, rkey);
		if (!old) {
			if (bpf_map_update_elem(&drv_ct6, rkey, rval, BPF_NOEXIST) == 0)
				return rkey->dport;
			continue; /* another CPU took it just now */
		}
		/* ended by a RST: closed without both FINs */
		bool rst = (old->flags & (DRV_CT_F_CLOSED | DRV_CT_F_FIN_BOTH)) == DRV_CT_F_CLOSED;

		if ((rst > reuse_rst || (rst == reuse_rst && old->last_seen_ns < reuse_seen)) &&
		    drv_ct_reusable(old, rkey->proto, now)) {
			reuse = port;
			reuse_seen = old->last_seen_ns;
			reuse_rst = rst;
		}
	}
	if (!reuse)
		return 0;
	rkey->dport = bpf_htons(reuse);
	old = bpf_map_lookup_elem(&drv_ct6, rkey);
	if (!old || !drv_ct_reusable(old, rkey->proto, now))
		return 0; /* taken over by another CPU meanwhile */
	drv_ct_forget_peer(old, rkey);
	if (bpf_map_update_elem(&drv_ct6, rkey, rval, BPF_ANY) != 0)
		return 0;
	return rkey->dport;
}

/* The scope of a new flow to an external frontend (drover_abi.h, enum drv_svc_scope), as
 * kube-proxy's KUBE-EXT-X chain with externalTrafficPolicy Local: the node's pods (every
 * packet of drv_tc_pod, or a registered local pod's address) and the node itself (a source
 * that is a node address) go to every endpoint, the internal scope; traffic from outside
 * keeps to this node's endpoints and, with none here while the cluster has some, is dropped
 * ("has no local endpoints"), not rejected. Returns the master to use (key moved to it), or
 * NULL with *reason set. */
static __always_inline struct drv_svc_val *drv_lb_scope(struct drv_svc_key *key,
							struct drv_svc_val *svc,
							const struct drv_flow *f, bool from_node,
							int *reason)
{
	struct drv_svc_val *in;

	if (!(svc->flags & DRV_SVC_F_TWO_SCOPES))
		return svc;
	if (!from_node || drv_is_node_addr(f->saddr) || bpf_map_lookup_elem(&drv_ep1, &f->saddr))
		return drv_lookup_internal(key, svc);
	if (svc->count)
		return svc;
	in = drv_lookup_internal(key, svc);
	key->scope = DRV_SCOPE_EXT;
	if (in != svc && in->count) {
		*reason = DRV_DROP_NO_LOCAL;
		return NULL;
	}
	return svc; /* no endpoint anywhere: rejected */
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
	struct drv_ct_val *ct = NULL, *stale = NULL, e = {};
	struct drv_scratch *scratch;
	struct drv_ct_key rkey = {}, old_rkey = {};
	struct drv_svc_key skey;
	struct drv_svc_val *svc;
	struct drv_backend *be;
	__u64 now;
	__be32 snat_addr = 0;
	__be16 nat_sport = 0;
	__u8 fwd_flags;
	bool snat, external, internal, kept = false;
	int reason = 0;
	__u32 id;

	x->rev_nat = 0;
	x->ct = NULL;
	if (!f->frag) {
		/* 1. A packet of a translated flow, either way? One lookup answers both. */
		ct = bpf_map_lookup_elem(&drv_ct6, &key);
		/* The coarse clock (a tick's resolution) is plenty for idle timeouts of seconds
		 * and costs a fraction of a precise read. */
		now = ct ? drv_now_coarse() : 0;
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
	external = svc->flags & (DRV_SVC_F_NODEPORT | DRV_SVC_F_EXTERNAL);
	svc = drv_lb_scope(&skey, svc, f, from_node, &reason);
	if (!svc)
		return -reason;
	x->rev_nat = svc->rev_nat;
	internal = skey.scope == DRV_SCOPE_INT;
	if (svc->count == 0) {
		/* ... and only of services with endpoints: a stale flow keeps its backend */
		if (stale)
			return drv_ct_forward(stale, f, now, len, x);
		if (svc->flags & DRV_SVC_F_NO_LOCAL)
			return -DRV_DROP_NO_LOCAL;
		return DRV_V_REJECT;
	}
	now = drv_now_coarse();
	id = drv_select_backend(&skey, svc, f->saddr, false,
				drv_flow_hash(f->saddr, f->daddr, f->sport, f->dport, f->proto),
				external, &be, &reason);
	if (!id)
		return -reason;

	if (external && !internal)
		snat = !(svc->flags & DRV_SVC_F_LOCAL);
	else /* masqueraded when the reply would not come back through this node */
		snat = from_node && !(be->flags & DRV_BE_F_LOCAL);
	/* Hairpin: a pod reaching itself through its service would get its own address as
	 * the source (a martian it drops); kube-proxy masquerades it (KUBE-SEP's -s EP). */
	if (be->addr == f->saddr)
		snat = true;
	if (snat) { /* the node-address lookup only for a flow that is masqueraded */
		snat_addr = drv_is_node_addr(f->daddr) ? f->daddr : drv_cfg.snat_addr;
		if (!snat_addr)
			snat = false;
	}

	/* The reply entry first (its insert reserves the masquerade port), then the forward one,
	 * built in the same buffer: the tc program's stack has no room for two entries. */
	fwd_flags = DRV_CT_F_DNAT | (external ? DRV_CT_F_NODEPORT : 0) | created_by;
	rkey.saddr = be->addr;
	rkey.sport = be->port;
	rkey.proto = f->proto;
	e.nat_saddr = f->daddr;
	e.nat_sport = f->dport;
	e.rev_nat = svc->rev_nat;
	e.backend_id = id;
	e.dir = DRV_CT_REPLY;
	e.last_seen_ns = now;
	/* A new flow on the tuple of an old one (a new SYN after its close, or its backend
	 * gone): the old reply entry goes now, or is kept closed (drv_ct_retire_peer). */
	if (ct && ct->dir == DRV_CT_SVC)
		kept = drv_ct_retire_peer(ct, &key, &old_rkey);
	if (snat) {
		rkey.daddr = snat_addr;
		e.nat_daddr = f->saddr;
		e.nat_dport = f->sport;
		e.flags = DRV_CT_F_SNAT | DRV_CT_F_DNAT | created_by;
		if (kept && old_rkey.saddr == rkey.saddr && old_rkey.sport == rkey.sport &&
		    old_rkey.daddr == rkey.daddr &&
		    bpf_ntohs(old_rkey.dport) >= drv_cfg.snat_port_min &&
		    bpf_ntohs(old_rkey.dport) <= drv_cfg.snat_port_max) {
			/* the same client tuple to the same backend: its old port */
			rkey.dport = old_rkey.dport;
			nat_sport =
			    bpf_map_update_elem(&drv_ct6, &rkey, &e, BPF_ANY) ? 0 : rkey.dport;
		} else {
			nat_sport = drv_snat_reserve(&rkey, &e);
		}
		if (!nat_sport)
			return -DRV_DROP_NAT_EXHAUSTED;
		fwd_flags |= DRV_CT_F_SNAT;
	} else {
		rkey.daddr = f->saddr;
		rkey.dport = f->sport;
		e.flags = DRV_CT_F_SNAT | created_by;
		if (bpf_map_update_elem(&drv_ct6, &rkey, &e, BPF_ANY) != 0)
			return -DRV_DROP_CT_FULL;
	}
	__builtin_memset(&e, 0, sizeof(e));
	e.nat_daddr = be->addr;
	e.nat_dport = be->port;
	e.backend_id = id;
	e.rev_nat = svc->rev_nat;
	e.flags = fwd_flags;
	e.dir = DRV_CT_SVC;
	e.last_seen_ns = now;
	if (fwd_flags & DRV_CT_F_SNAT) {
		e.nat_saddr = snat_addr;
		e.nat_sport = nat_sport;
	}
	e.packets = 1;
	e.bytes = len;
	/* The next hop of the backend's earlier new flows (drv_nh1), written with the entry: no
	 * endpoint lookup, FIB lookup, MTU check or re-read of the entry for this packet. Its
	 * epoch and MTU are checked by the caller (a stale one in the entry is a miss there
	 * too); no branch more here, where the verifier walks every masquerade probe's path. */
	if (x->nh_iif) {
		struct drv_nh_val *nh = drv_nh_get(be->addr, x->nh_iif);

		scratch = drv_scratch_get();
		if (nh && scratch) {
			__builtin_memcpy(&scratch->hop, nh, sizeof(scratch->hop));
			e.ifindex = scratch->hop.ifindex;
			__builtin_memcpy(e.dmac, scratch->hop.dmac, ETH_ALEN);
			__builtin_memcpy(e.smac, scratch->hop.smac, ETH_ALEN);
			e.mtu = scratch->hop.mtu;
			e.l2_flags = scratch->hop.l2_flags;
			e.l2_epoch = scratch->hop.epoch;
			e.flags |= DRV_CT_F_L2;
		}
	}
	if (bpf_map_update_elem(&drv_ct6, &key, &e, BPF_ANY) != 0) {
		bpf_map_delete_elem(&drv_ct6, &rkey);
		return -DRV_DROP_CT_FULL;
	}
	x->saddr = e.nat_saddr;
	x->daddr = e.nat_daddr;
	x->sport = e.nat_sport;
	x->dport = e.nat_dport;
	x->flags = e.flags & (DRV_CT_F_SNAT | DRV_CT_F_DNAT);
	/* For the caller's next-hop choice, this packet only (set once the flow exists) */
	scratch = x->nh_iif ? drv_scratch_get() : NULL;
	if (scratch)
		scratch->nh_state = (e.flags & DRV_CT_F_L2) ? DRV_NH_HIT : DRV_NH_MISS;
	/* The entry just written, so that the first packet's FIB answer is cached in it. */
	if (!(e.flags & DRV_CT_F_L2))
		x->ct = bpf_map_lookup_elem(&drv_ct6, &key);
	return DRV_V_FWD;
}

#endif
