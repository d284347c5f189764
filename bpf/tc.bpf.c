// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tc.bpf.c: per-packet service load balancing at tc ingress (clsact), for traffic the
 * socket hooks do not see: packets from pods whose sockets are not in the proxy's cgroup
 * (or with the socket LB off), packets arriving from other hosts, NodePort where XDP cannot
 * attach, and the replies of every flow translated here or by XDP.
 *
 *   drv_tc_pod   on the host side of pod veths (traffic leaving a local pod)
 *   drv_tc_node  on the node's own devices (traffic entering the node)
 *
 * Rewrites adjust the checksums incrementally (csum.h; for CHECKSUM_PARTIAL packets from local
 * sockets only the pseudo-header part) and store the headers with bpf_skb_store_bytes. Translated packets are sent on with bpf_fib_lookup + bpf_redirect (or
 * bpf_redirect_neigh when the neighbour is not resolved yet); where the FIB has no answer
 * the kernel's own routing takes the packet (TC_ACT_OK). The answer is remembered in the
 * flow's conntrack entry, and for a backend's next new flows in drv_nh1 (drover_abi.h), both
 * until the L2 epoch changes.
 *
 * A translated packet too big for its egress device or route (bpf_check_mtu, the FIB's MTU)
 * is not redirected to be dropped there: with DF it is answered with ICMP
 * fragmentation-needed as a router would, else the stack fragments it. ICMP errors about
 * translated flows, and the fragments of their datagrams, are translated too (see the
 * section "ICMP errors and fragments" below).
 *
 * A packet whose destination (after translation) is a pod of this node registered in drv_ep1
 * goes to that pod with bpf_redirect_peer() on the host side of its veth: it enters the pod's
 * namespace directly, without the host's IP stack and the veth backlog queue. That holds for
 * service traffic and for plain pod-to-pod traffic (any IPv4 protocol, ICMP included).
 */
#include "common.h"
#include "maps.h"
#include "stats.h"
#include "lb.h"
#include "pkt.h"
#include "nat.h"
#include "icmp.h"
#include "csum.h"

#define TC_PULL_LEN (ETH_HLEN + 60 + 20)

/* The host-side ifindex of the local pod with address daddr, with l2 = the pod's MAC then
 * the host side's; 0 when daddr is no local pod, the entry asks for the host stack, or the
 * pod is the sender itself (a hairpin: the stack handles it as before). */
static __always_inline __u32 tc_endpoint(struct __sk_buff *skb, __be32 daddr, __u8 *l2)
{
	struct drv_endpoint *ep = bpf_map_lookup_elem(&drv_ep1, &daddr);

	if (!ep || (ep->flags & DRV_EP_F_NO_REDIRECT) || !ep->ifindex ||
	    ep->ifindex == skb->ingress_ifindex)
		return 0;
	__builtin_memcpy(l2, ep->mac, ETH_ALEN);
	__builtin_memcpy(l2 + ETH_ALEN, ep->host_mac, ETH_ALEN);
	return ep->ifindex;
}

/* ifindex when the packet fits its MTU (a GSO packet: each segment), else 0 with *too_big =
 * the MTU. Redirected, a bigger packet would be dropped by the device, unseen. *dev_mtu gets
 * the device's MTU (0 when the helper could not tell). */
static __always_inline __u32 tc_fits(struct __sk_buff *skb, __u32 ifindex, __u32 *too_big,
				     __u32 *dev_mtu)
{
	__u32 mtu = 0;
	long rc = bpf_check_mtu(skb, ifindex, &mtu, 0, BPF_MTU_CHK_SEGS);

	*dev_mtu = rc < 0 ? 0 : mtu;
	if (rc != BPF_MTU_CHK_RET_FRAG_NEEDED && rc != BPF_MTU_CHK_RET_SEGS_TOOBIG)
		return ifindex;
	*too_big = mtu ? mtu : 68;
	return 0;
}

/* Where a translated packet goes: the flow's cached next hop; for a flow towards a backend
 * without one (its first packet, or a new epoch), its backend's (drv_nh1) as the flow's
 * earlier siblings found it; else the endpoint map, then a FIB lookup (cached in both).
 * Returns the egress ifindex with l2 = destination then source MAC; 0 when the kernel
 * should route the packet itself (local destination, no route, MTU exceeded, TTL expiring,
 * or forwarding switched off); *neigh set when the neighbour is unresolved (the kernel
 * resolves it through bpf_redirect_neigh towards *nh); *too_big set to the MTU the packet
 * exceeds (the route's or the egress device's). A local pod (bpf_redirect_peer) takes any
 * size: the packet enters its namespace without a transmit. */
static __always_inline __u32 tc_next_hop(struct __sk_buff *skb, const struct drv_pkt *p,
					 const struct drv_xlate *x, __u8 *l2, bool *neigh,
					 __be32 *nh, bool *peer, __u32 *too_big)
{
	struct drv_ct_val *ct = x->ct;
	struct bpf_fib_lookup *fib;
	struct drv_scratch *scr;
	const __u8 *dmac, *smac;
	long rc;
	__u32 ep_if, mtu, epoch;
	__u8 l2_flags;
	__be32 daddr = (x->flags & DRV_CT_F_DNAT) ? x->daddr : p->f.daddr;
	struct drv_scratch *s = drv_scratch_get();
	__u8 state;
	bool remember;

	*neigh = false;
	*peer = false;
	*too_big = 0;
	if (!s)
		return 0; /* never: entry 0 of an array */
	/* What drv_lb_decide found for a new flow (for this packet only) */
	state = s->nh_state;
	s->nh_state = DRV_NH_NONE;
	/* a new flow's first packet that found no next hop in drv_nh1: remember this one */
	remember = state != DRV_NH_NONE;
	if (p->ttl <= 1)
		return 0;
	/* The flow's next hop as its first packet found it: no endpoint lookup, no FIB.
	 * ~60 ns of an established flow's ~220 (pktbench). */
	if (drv_l2_cached(ct)) {
		ep_if = ct->ifindex;
		dmac = ct->dmac;
		smac = ct->smac;
		mtu = ct->mtu;
		l2_flags = ct->l2_flags;
		goto known;
	}
	/* A new flow's from drv_nh1, already in its entry (x->ct not read back). When it is no
	 * good for this packet (an older epoch, or too long for its MTU), resolved below, into
	 * the entry read back now (its key: the packet's tuple, as it arrived). */
	if (state == DRV_NH_HIT) {
		if (drv_nh_valid(&s->hop, skb->gso_size ? ~0U : p->len)) {
			ep_if = s->hop.ifindex;
			dmac = s->hop.dmac;
			smac = s->hop.smac;
			mtu = s->hop.mtu;
			l2_flags = s->hop.l2_flags;
			goto known;
		}
		s->ct_key.saddr = p->f.saddr;
		s->ct_key.daddr = p->f.daddr;
		s->ct_key.sport = p->f.sport;
		s->ct_key.dport = p->f.dport;
		s->ct_key.proto = p->f.proto;
		__builtin_memset(s->ct_key.pad, 0, sizeof(s->ct_key.pad));
		ct = bpf_map_lookup_elem(&drv_ct6, &s->ct_key);
	}
	/* Read before resolving: a bump meanwhile leaves what is stored stale, and so marked. */
	epoch = drv_l2_epoch();
	ep_if = tc_endpoint(skb, daddr, l2);
	if (ep_if) {
		*peer = true;
		drv_l2_store(ct, ep_if, l2, l2 + ETH_ALEN, 0, DRV_CT_L2_PEER);
		if (remember)
			drv_nh_store(daddr, skb->ingress_ifindex, epoch, ep_if, l2, l2 + ETH_ALEN,
				     0, DRV_CT_L2_PEER);
		return ep_if;
	}
	if (!drv_cfg.enable_fib_redirect)
		return 0;
	scr = drv_scratch_get();
	if (!scr)
		return 0;
	fib = &scr->fib; /* off the stack */
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->l4_protocol = p->f.proto;
	/* The IP length makes the FIB check the route's MTU; a GSO packet (GRO) carries the
	 * sum of its segments there, so it is checked per segment by tc_fits instead. */
	fib->tot_len = skb->gso_size ? 0 : p->len;
	fib->ifindex = skb->ingress_ifindex;
	fib->ipv4_src = (x->flags & DRV_CT_F_SNAT) ? x->saddr : p->f.saddr;
	fib->ipv4_dst = daddr;
	rc = bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		*neigh = true;
		*nh = fib->ipv4_dst;
		return tc_fits(skb, fib->ifindex, too_big, &mtu);
	}
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		*too_big = fib->mtu_result;
		return 0;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	__builtin_memcpy(l2, fib->dmac, ETH_ALEN);
	__builtin_memcpy(l2 + ETH_ALEN, fib->smac, ETH_ALEN);
	ep_if = tc_fits(skb, fib->ifindex, too_big, &mtu);
	drv_l2_store(ct, fib->ifindex, fib->dmac, fib->smac, mtu, 0);
	/* For the backend's next flows: the smaller of the route's MTU (the FIB's answer to a
	 * packet with its length, not GSO) and the device's, so that a first packet the cache
	 * lets through passed both checks. */
	if (remember && ep_if && mtu && !skb->gso_size)
		drv_nh_store(daddr, skb->ingress_ifindex, epoch, fib->ifindex, fib->dmac, fib->smac,
			     fib->mtu_result && fib->mtu_result < mtu ? fib->mtu_result : mtu, 0);
	return ep_if;
known:
	/* No MTU helper for a packet within the cached MTU (a GSO packet is checked per segment
	 * by the helper). */
	__builtin_memcpy(l2, dmac, ETH_ALEN);
	__builtin_memcpy(l2 + ETH_ALEN, smac, ETH_ALEN);
	if (l2_flags & DRV_CT_L2_PEER) {
		*peer = true;
		return ep_if;
	}
	if (!skb->gso_size && p->len <= mtu)
		return ep_if;
	return tc_fits(skb, ep_if, too_big, &mtu);
}

/* Add the change of one 32-bit field to a ones'-complement difference. */
static __always_inline void csum_diff4(__u64 *diff, __be32 from, __be32 to)
{
	*diff += (__u16) ~(from & 0xffff) + (__u16) ~(from >> 16) + (to & 0xffff) + (to >> 16);
}

static __always_inline __u32 csum_fold_wsum(__u64 diff)
{
	diff = (diff & 0xffffffff) + (diff >> 32);
	diff = (diff & 0xffffffff) + (diff >> 32);
	return (__u32)diff;
}

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

#define CHECKSUM_PARTIAL_  3
#define CHECKSUM_COMPLETE_ 2

/* The L4 checksum after the address (pseudo-header) and port changes. How depends on the
 * skb's checksum state, which the kernel context tells (a kfunc, no helper call): a
 * CHECKSUM_PARTIAL packet of a local socket carries only the pseudo-header sum (the device
 * sums the rest), so only the address change applies, not inverted; otherwise the whole
 * change applies (RFC 1624), and a CHECKSUM_COMPLETE skb's sum follows the field (ports and
 * field cancel out; the pseudo-header change does not). */
static __always_inline __sum16 tc_l4_csum(struct __sk_buff *skb, __sum16 check, bool udp,
					  __u64 addr_diff, __u64 port_diff)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	__u8 summed = BPF_CORE_READ_BITFIELD(kskb, ip_summed);

	if (summed == CHECKSUM_PARTIAL_)
		return addr_diff ? (__sum16)~drv_csum_fold((__u16)check + addr_diff) : check;
	if (udp && check == 0)
		return 0; /* no UDP checksum: stays none */
	check = drv_csum_fold((__u16)~check + addr_diff + port_diff);
	if (udp && check == 0)
		check = 0xffff;
	if (summed == CHECKSUM_COMPLETE_ && addr_diff)
		bpf_csum_update(skb, ~csum_fold_wsum(addr_diff));
	return check;
}

/* IP header bytes 8..19 (TTL, protocol, checksum, addresses). */
struct tc_ip_tail {
	__u8 ttl;
	__u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
};

/* The bytes tc_xlate rewrites, as they lie in the packet: the MACs, the IP header's bytes
 * 8..19 and the L4 header up to its checksum (TCP 18 bytes, UDP 8). Without IP options they
 * are one run of bytes from offset 0, read with one bpf_skb_load_bytes and written back with
 * one bpf_skb_store_bytes (each helper call costs ~25 ns here, more than the bytes; unchanged
 * bytes are written back as they were); with options the L4 header is read and written on
 * its own. Helpers, not direct packet writes: a program that writes packets directly makes
 * the kernel un-clone every skb it sees before it runs, and the TCP segments of local
 * sockets are all clones. pad puts the packet's 4-byte fields on 4-byte stack offsets. */
struct tc_hdr {
	__u8 pad[2];
	__u8 l2[2 * ETH_ALEN];
	__be16 eth_proto;
	__u8 ip_head[8];
	struct tc_ip_tail ip;
	__u8 l4[20];
} __attribute__((aligned(8)));

#define TC_HDR_IP_END (ETH_HLEN + 20) /* packet offset where the L4 header starts, no options */
#define TC_HDR_RUN    (TC_HDR_IP_END + 18) /* the longest run read: MACs to the TCP checksum */

/* The packet's first len bytes (len <= TC_HDR_RUN) into h from h->l2 on. Read straight from
 * the linear part when TC_HDR_RUN bytes are there (always, but for a packet the stack built
 * in pieces or a minimal UDP one), with a few aligned stack writes (h's layout: packet offset
 * k is h's k + 2); else with bpf_skb_load_bytes, a helper call that costs more than these
 * reads. Direct reads, unlike direct writes, add no un-clone prologue to the program. */
static __always_inline int tc_read_head(struct __sk_buff *skb, struct tc_hdr *h, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *d = (__u8 *)h;

	if (data + TC_HDR_RUN > data_end)
		return bpf_skb_load_bytes(skb, 0, h->l2, len);
	*(__u16 *)(d + 2) = *(__u16 *)data;
	*(__u32 *)(d + 4) = *(__u32 *)(data + 2);
	*(__u64 *)(d + 8) = *(__u64 *)(data + 6);
	*(__u64 *)(d + 16) = *(__u64 *)(data + 14);
	*(__u64 *)(d + 24) = *(__u64 *)(data + 22);
	*(__u64 *)(d + 32) = *(__u64 *)(data + 30);
	*(__u64 *)(d + 40) = *(__u64 *)(data + 38);
	*(__u32 *)(d + 48) = *(__u32 *)(data + 46);
	*(__u16 *)(d + 52) = *(__u16 *)(data + 50);
	return 0;
}

static __always_inline int tc_icmp_reply(struct __sk_buff *skb, const struct drv_pkt *p,
					 __be32 from, __u8 code, __u32 mtu);

/* Translate and send on: addresses, and with ports also the L4 header (not for a later
 * fragment or an ICMP error, whose outer header is all that is rewritten here). A packet
 * with DF too big for where it goes is answered with fragmentation-needed instead
 * (*answered); without DF the stack fragments it. Returns a tc verdict, or a negative drop
 * reason. */
static __always_inline int tc_xlate(struct __sk_buff *skb, const struct drv_pkt *p,
				    const struct drv_xlate *x, bool ports, bool *peer,
				    bool *answered)
{
	bool udp = p->f.proto == DRV_PROTO_UDP;
	bool l4_apart = ports && p->l4off != TC_HDR_IP_END; /* IP options */
	__u32 l4len = udp ? 8 : 18, len = TC_HDR_IP_END;
	__u64 addr_diff = 0, port_diff = 0;
	struct tc_hdr h = {};
	struct tc_ip_tail *iph = &h.ip;
	__u8 *l4 = h.l4;
	__be16 *l4ports = (__be16 *)l4;
	__sum16 *l4check = (__sum16 *)(l4 + (udp ? 6 : 16));
	__u8 l2[2 * ETH_ALEN];
	bool neigh;
	__be32 nh = 0;
	__u32 ifindex, too_big;

	*answered = false;
	ifindex = tc_next_hop(skb, p, x, l2, &neigh, &nh, peer, &too_big);
	if (too_big && ports && p->df) {
		/* From the address the packet was sent to (the frontend, or the node for a
		 * masqueraded reply), as Linux's NAT has it; a reply to an unmasqueraded client
		 * is not the client's to answer for: from the node, as a router. */
		__be32 from = p->f.daddr;

		if ((x->flags & (DRV_CT_F_SNAT | DRV_CT_F_DNAT)) == DRV_CT_F_SNAT &&
		    drv_cfg.snat_addr)
			from = drv_cfg.snat_addr;
		*answered = true;
		return tc_icmp_reply(skb, p, from, ICMP_FRAG_NEEDED, too_big);
	}
	if (ports && !l4_apart)
		len += l4len;
	if (tc_read_head(skb, &h, len) ||
	    (l4_apart && bpf_skb_load_bytes(skb, p->l4off, l4, l4len)))
		return -DRV_DROP_MALFORMED;

	if ((x->flags & DRV_CT_F_SNAT) && x->saddr != iph->saddr) {
		csum_diff4(&addr_diff, iph->saddr, x->saddr);
		drv_csum_replace4(&iph->check, iph->saddr, x->saddr);
		iph->saddr = x->saddr;
	}
	if ((x->flags & DRV_CT_F_DNAT) && x->daddr != iph->daddr) {
		csum_diff4(&addr_diff, iph->daddr, x->daddr);
		drv_csum_replace4(&iph->check, iph->daddr, x->daddr);
		iph->daddr = x->daddr;
	}
	if (ports && (x->flags & DRV_CT_F_SNAT) && x->sport != l4ports[0]) {
		port_diff += (__u16)~l4ports[0] + x->sport;
		l4ports[0] = x->sport;
	}
	if (ports && (x->flags & DRV_CT_F_DNAT) && x->dport != l4ports[1]) {
		port_diff += (__u16)~l4ports[1] + x->dport;
		l4ports[1] = x->dport;
	}
	if (ifindex) {
		/* Forwarded by us, as the kernel's forward path would: TTL (one 16-bit word with
		 * the protocol in the header checksum), then MACs (bpf_redirect_neigh writes its
		 * own). */
		__u8 ow[2] = {iph->ttl, iph->protocol}, nw[2] = {iph->ttl - 1, iph->protocol};
		__be16 o16, n16;

		__builtin_memcpy(&o16, ow, 2);
		__builtin_memcpy(&n16, nw, 2);
		iph->ttl--;
		drv_csum_replace2(&iph->check, o16, n16);
		if (!neigh)
			__builtin_memcpy(h.l2, l2, sizeof(l2));
	}
	if (ports && (addr_diff || port_diff))
		*l4check = tc_l4_csum(skb, *l4check, udp, addr_diff, port_diff);

	if (bpf_skb_store_bytes(skb, 0, h.l2, len, 0) ||
	    (l4_apart && (addr_diff || port_diff) &&
	     bpf_skb_store_bytes(skb, p->l4off, l4, l4len, 0)))
		return -DRV_DROP_CSUM;
	if (!ifindex)
		return TC_ACT_OK;
	if (neigh) {
		struct bpf_redir_neigh rn = {.nh_family = AF_INET, .ipv4_nh = nh};

		return bpf_redirect_neigh(ifindex, &rn, sizeof(rn), 0);
	}
	if (*peer)
		return bpf_redirect_peer(ifindex, 0);
	return bpf_redirect(ifindex, 0);
}

/* A packet no service translates, to daddr with TTL ttl: to a local pod by
 * bpf_redirect_peer (routed as the kernel would: TTL - 1, the pod's MAC), anything else to
 * the stack. *peer says which. The header is read only for a redirect: a packet for the stack
 * (a socket-LB flow's, on a node without drover-cni) costs one endpoint lookup here. */
static __always_inline int tc_local_to(struct __sk_buff *skb, __be32 daddr, __u8 ttl, bool *peer)
{
	/* the MACs and the IP header up to its checksum: one load, one store (tc_hdr) */
	const __u32 len = ETH_HLEN + 12;
	struct tc_hdr h = {};
	__u8 l2[2 * ETH_ALEN];
	__u8 ow[2], nw[2];
	__be16 o16, n16;
	__u32 ifindex;

	*peer = false;
	if (ttl <= 1)
		return TC_ACT_OK;
	ifindex = tc_endpoint(skb, daddr, l2);
	if (!ifindex || tc_read_head(skb, &h, len))
		return TC_ACT_OK;
	ow[0] = h.ip.ttl;
	ow[1] = h.ip.protocol;
	nw[0] = h.ip.ttl - 1;
	nw[1] = h.ip.protocol;
	__builtin_memcpy(&o16, ow, 2);
	__builtin_memcpy(&n16, nw, 2);
	h.ip.ttl--;
	drv_csum_replace2(&h.ip.check, o16, n16);
	__builtin_memcpy(h.l2, l2, sizeof(l2));
	if (bpf_skb_store_bytes(skb, 0, h.l2, len, 0))
		return -DRV_DROP_CSUM;
	*peer = true;
	return bpf_redirect_peer(ifindex, 0);
}

/* The verdict of tc_local_to, counted. */
static __always_inline int tc_pass_counted(struct __sk_buff *skb, int ret, bool peer)
{
	if (ret < 0) {
		drv_count(0, DRV_PATH_TC, -ret, skb->len);
		return TC_ACT_SHOT;
	}
	if (peer)
		drv_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER, skb->len);
	return ret;
}

/* Pass a parsed packet (drv_parse filled its address and TTL). */
static __always_inline int tc_pass(struct __sk_buff *skb, const struct drv_pkt *p)
{
	bool peer;
	int ret = tc_local_to(skb, p->f.daddr, p->ttl, &peer);

	return tc_pass_counted(skb, ret, peer);
}

/* Pass a packet drv_parse did not fill in (not IPv4, or a protocol it does not parse). */
static __always_inline int tc_pass_unparsed(struct __sk_buff *skb)
{
	struct tc_ip_tail iph;
	bool peer = false;
	__u8 vhl;
	int ret = TC_ACT_OK;

	if (!bpf_skb_load_bytes(skb, ETH_HLEN, &vhl, 1) && (vhl >> 4) == 4 &&
	    !bpf_skb_load_bytes(skb, ETH_HLEN + 8, &iph, sizeof(iph)))
		ret = tc_local_to(skb, iph.daddr, iph.ttl, &peer);
	return tc_pass_counted(skb, ret, peer);
}

/* Answer packet p with ICMP destination unreachable (code; mtu for fragmentation-needed)
 * from address `from`, quoting it as it arrived. */
static __always_inline int tc_icmp_reply(struct __sk_buff *skb, const struct drv_pkt *p,
					 __be32 from, __u8 code, __u32 mtu)
{
	int fail = code == ICMP_FRAG_NEEDED ? -DRV_DROP_TOO_BIG : -DRV_DROP_NO_BACKEND;
	struct drv_scratch *scr = drv_scratch_get();
	struct drv_icmp_reply *r;
	struct ethhdr eth;
	__u8 mac[ETH_ALEN];

	if (!scr)
		return fail;
	r = &scr->icmp; /* off the stack: the translation path has none to spare */
	if (p->l4off != ETH_HLEN + sizeof(struct iphdr))
		return fail; /* IP options: just drop */
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) ||
	    bpf_skb_load_bytes(skb, p->l3off, r->quote, DRV_ICMP_QUOTE))
		return -DRV_DROP_MALFORMED;
	if (bpf_skb_change_tail(skb, DRV_ICMP_PKT_LEN, 0))
		return fail;
	drv_icmp_build(r, from, p->f.saddr, code, mtu > 0xffff ? 0xffff : mtu);
	__builtin_memcpy(mac, eth.h_dest, ETH_ALEN);
	__builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(eth.h_source, mac, ETH_ALEN);
	if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, r, sizeof(*r), 0))
		return fail;
	/* Back out of the device the packet came in on, towards the sender. */
	return bpf_redirect(skb->ifindex, 0);
}

/* Translate, send on and count: kind (forwarded, reply, ICMP error) for frontend x->rev_nat,
 * or the ICMP answer or drop that happened instead. */
static __always_inline int tc_send(struct __sk_buff *skb, const struct drv_pkt *p,
				   const struct drv_xlate *x, bool ports, __u8 kind)
{
	__u32 len = skb->len;
	bool peer = false, answered = false;
	int ret = tc_xlate(skb, p, x, ports, &peer, &answered);

	if (ret < 0) {
		drv_count(x->rev_nat, DRV_PATH_TC, -ret, len);
		return TC_ACT_SHOT;
	}
	drv_count(x->rev_nat, DRV_PATH_TC, answered ? DRV_STAT_FRAG_NEEDED : kind, len);
	if (peer)
		drv_count(x->rev_nat, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER, len);
	return ret;
}

/* ---- ICMP errors and fragments of translated flows ----
 *
 * An ICMP error (destination unreachable, fragmentation-needed included; time exceeded;
 * parameter problem) quotes the packet it is about. When that packet belongs to a translated
 * flow, the error is translated as Linux's conntrack NAT does it for kube-proxy
 * (nf_nat_icmp_reply_translation): the quoted packet travelled the other way, so its tuple
 * reversed is the flow's conntrack key; the entry found is applied to the outer addresses as
 * to any packet of its direction, and in reverse to the quoted header, which then reads as
 * the packet the receiver sent. An error from the backend's side (the backend, or a router on
 * its path) reaches the client from the frontend address, quoting the client's own packet;
 * one from the client's side reaches the backend quoting the backend's packet. Checksums:
 * the quoted IP header's, the quoted L4 one when quoted (UDP always: it is in the first 8
 * bytes; TCP only with 20 bytes quoted, as Linux), and the ICMP one, all incrementally. */
struct tc_icmp_err {
	__u8 type;
	__u8 code;
	__sum16 check;
	__be32 rest;
	struct iphdr ip; /* quoted, no options */
	__u8 l4[20];	 /* quoted L4 header: 8 bytes, TCP 20 when there */
};

#define TC_ICMP_ERR_MIN 36 /* ICMP header, quoted IP header, 8 bytes of L4 */

/* Change a 32-bit field of the quoted IP header (an address): the quoted IP checksum, the
 * quoted L4 checksum (pseudo-header) and the ICMP checksum follow. */
static __always_inline void tc_icmp_set4(struct tc_icmp_err *e, __be32 *field, __be32 to,
					 __sum16 *l4check)
{
	__sum16 old;

	if (*field == to)
		return;
	old = e->ip.check;
	drv_csum_replace4(&e->ip.check, *field, to);
	drv_csum_replace2(&e->check, old, e->ip.check);
	if (l4check) {
		old = *l4check;
		drv_csum_replace4(l4check, *field, to);
		drv_csum_replace2(&e->check, old, *l4check);
	}
	drv_csum_replace4(&e->check, *field, to);
	*field = to;
}

/* Change a quoted port: the quoted L4 checksum and the ICMP checksum follow. */
static __always_inline void tc_icmp_set2(struct tc_icmp_err *e, __be16 *field, __be16 to,
					 __sum16 *l4check)
{
	__sum16 old;

	if (*field == to)
		return;
	if (l4check) {
		old = *l4check;
		drv_csum_replace2(l4check, *field, to);
		drv_csum_replace2(&e->check, old, *l4check);
	}
	drv_csum_replace2(&e->check, *field, to);
	*field = to;
}

static __always_inline int tc_icmp_error(struct __sk_buff *skb, const struct drv_pkt *p)
{
	__u32 hlen = p->l4off - p->l3off;
	struct drv_ct_key key = {};
	struct drv_xlate x = {};
	struct tc_icmp_err e;
	struct drv_ct_val *ct;
	__sum16 *l4check = NULL;
	__be16 *qports;
	bool tcp_full = false;

	if (p->len < hlen + TC_ICMP_ERR_MIN ||
	    bpf_skb_load_bytes(skb, p->l4off, &e, TC_ICMP_ERR_MIN))
		return tc_pass(skb, p);
	if (e.type != ICMP_DEST_UNREACH && e.type != ICMP_TIME_EXCEEDED &&
	    e.type != ICMP_PARAMETERPROB)
		return tc_pass(skb, p);
	/* The quote: IPv4 without options, TCP or UDP with its ports, and the error goes to
	 * its sender. */
	if (e.ip.version != 4 || e.ip.ihl != 5 || (e.ip.frag_off & bpf_htons(IP_OFFSET)) ||
	    (e.ip.protocol != DRV_PROTO_TCP && e.ip.protocol != DRV_PROTO_UDP) ||
	    e.ip.saddr != p->f.daddr)
		return tc_pass(skb, p);
	qports = (__be16 *)e.l4;
	key.saddr = e.ip.daddr;
	key.daddr = e.ip.saddr;
	key.sport = qports[1];
	key.dport = qports[0];
	key.proto = e.ip.protocol;
	ct = bpf_map_lookup_elem(&drv_ct6, &key);
	if (!ct || !drv_ct_alive(ct, key.proto, drv_now_coarse()))
		return tc_pass(skb, p);

	if (e.ip.protocol == DRV_PROTO_TCP) {
		if (p->len >= hlen + TC_ICMP_ERR_MIN + 12 &&
		    !bpf_skb_load_bytes(skb, p->l4off + TC_ICMP_ERR_MIN, e.l4 + 8, 12)) {
			tcp_full = true;
			l4check = (__sum16 *)(e.l4 + 16);
		}
	} else if (*(__sum16 *)(e.l4 + 6)) {
		l4check = (__sum16 *)(e.l4 + 6); /* 0: no UDP checksum, stays so */
	}
	/* The entry's rewrite of destination applies to the quote's source, and of source to
	 * its destination. */
	if (ct->flags & DRV_CT_F_DNAT) {
		tc_icmp_set4(&e, &e.ip.saddr, ct->nat_daddr, l4check);
		tc_icmp_set2(&e, &qports[0], ct->nat_dport, l4check);
	}
	if (ct->flags & DRV_CT_F_SNAT) {
		tc_icmp_set4(&e, &e.ip.daddr, ct->nat_saddr, l4check);
		tc_icmp_set2(&e, &qports[1], ct->nat_sport, l4check);
	}
	if (l4check && e.ip.protocol == DRV_PROTO_UDP && *l4check == 0) {
		drv_csum_replace2(&e.check, 0, 0xffff);
		*l4check = 0xffff;
	}
	if (bpf_skb_store_bytes(skb, p->l4off, &e, TC_ICMP_ERR_MIN, 0) ||
	    (tcp_full && bpf_skb_store_bytes(skb, p->l4off + TC_ICMP_ERR_MIN, e.l4 + 8, 12, 0))) {
		drv_count(ct->rev_nat, DRV_PATH_TC, DRV_DROP_CSUM, skb->len);
		return TC_ACT_SHOT;
	}
	/* The outer header as any packet of the entry's direction (the ICMP checksum does not
	 * cover it), sent where the flow's packets go. */
	drv_xlate_from_ct(&x, ct);
	x.ct = ct;
	return tc_send(skb, p, &x, false, DRV_STAT_ICMP_ERROR);
}

/* The first fragment of a datagram carries the ports: a tracked flow's is translated like any
 * of its packets, and the translation is remembered for the later fragments. Returns a tc
 * verdict, or -1 when the flow is not tracked (the frontend path decides).
 * Why not let the kernel reassemble, as kube-proxy's conntrack does: tc cannot ask for it
 * (no defragmentation before tc ingress), and the stack only reassembles what is addressed
 * to the node itself, which a masqueraded reply is, to a port no socket owns. Fragments are
 * translated one by one instead, keyed by IP id as Cilium does; the cost is that a later
 * fragment arriving before its first is not recognised (Linux sends them in order). */
static __always_inline int tc_frag_first(struct __sk_buff *skb, const struct drv_pkt *p)
{
	struct drv_ct_key key = {
	    .saddr = p->f.saddr,
	    .daddr = p->f.daddr,
	    .sport = p->f.sport,
	    .dport = p->f.dport,
	    .proto = p->f.proto,
	};
	struct drv_frag_key fk = {
	    .saddr = p->f.saddr, .daddr = p->f.daddr, .id = p->id, .proto = p->f.proto};
	struct drv_frag_val fv = {};
	struct drv_xlate x = {};
	struct drv_ct_val *ct = bpf_map_lookup_elem(&drv_ct6, &key);
	__u64 now;

	if (!ct)
		return -1;
	now = drv_now_coarse();
	if (!drv_ct_alive(ct, p->f.proto, now))
		return -1;
	drv_ct_touch(ct, &p->f, now, skb->len);
	drv_xlate_from_ct(&x, ct);
	x.ct = ct;
	fv.nat_saddr = ct->nat_saddr;
	fv.nat_daddr = ct->nat_daddr;
	fv.first_ns = now;
	fv.rev_nat = ct->rev_nat;
	fv.flags = x.flags;
	fv.dir = ct->dir;
	bpf_map_update_elem(&drv_frag1, &fk, &fv, BPF_ANY);
	return tc_send(skb, p, &x, true, ct->dir == DRV_CT_REPLY ? DRV_STAT_REPLY : DRV_STAT_FWD);
}

#define TC_FRAG_TIMEOUT_NS (30 * NSEC_PER_SEC) /* Linux's ipfrag_time */

/* A later fragment: the addresses its first fragment got, or untouched when that was not
 * translated (or came after it: such a datagram is lost, as it was before). */
static __always_inline int tc_frag_later(struct __sk_buff *skb, const struct drv_pkt *p)
{
	struct drv_frag_key fk = {
	    .saddr = p->f.saddr, .daddr = p->f.daddr, .id = p->id, .proto = p->f.proto};
	struct drv_frag_val *fv = bpf_map_lookup_elem(&drv_frag1, &fk);
	struct drv_xlate x = {};
	__u64 now = drv_now_coarse();

	if (!fv || (fv->first_ns < now && now - fv->first_ns > TC_FRAG_TIMEOUT_NS))
		return tc_pass(skb, p);
	x.saddr = fv->nat_saddr;
	x.daddr = fv->nat_daddr;
	x.flags = fv->flags;
	x.rev_nat = fv->rev_nat;
	return tc_send(skb, p, &x, false, fv->dir == DRV_CT_REPLY ? DRV_STAT_REPLY : DRV_STAT_FWD);
}

static __always_inline int tc_handle(struct __sk_buff *skb, bool from_node)
{
	struct drv_xlate x = {};
	struct drv_pkt p;
	void *data, *data_end;
	int ret, v;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ret = drv_parse(data, data_end, &p);
	if (ret == -DRV_DROP_MALFORMED && skb->len > (__u32)(data_end - data)) {
		/* Headers beyond the linear part (rare: a packet the stack built in pieces).
		 * Pulling costs a copy, so only then. */
		bpf_skb_pull_data(skb, skb->len < TC_PULL_LEN ? skb->len : TC_PULL_LEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		ret = drv_parse(data, data_end, &p);
	}
	if (ret == DRV_PARSE_ICMP)
		return tc_icmp_error(skb, &p);
	if (ret == DRV_PARSE_FRAG)
		return tc_frag_later(skb, &p);
	if (ret == DRV_PARSE_NOT_OURS)
		return tc_pass_unparsed(skb);
	if (ret < 0) {
		drv_count(0, DRV_PATH_TC, -ret, skb->len);
		return TC_ACT_OK; /* not ours to judge: the stack will drop it if it must */
	}
	if (p.f.frag) {
		ret = tc_frag_first(skb, &p);
		if (ret >= 0)
			return ret;
	}

	x.nh_iif = skb->ingress_ifindex;
	v = drv_lb_decide(&p.f, from_node, skb->len, &x, 0);
	switch (v) {
	case DRV_V_PASS:
		return tc_pass(skb, &p);
	case DRV_V_REJECT:
		drv_count(x.rev_nat, DRV_PATH_TC, DRV_STAT_REJECTED, skb->len);
		ret = tc_icmp_reply(skb, &p, p.f.daddr, ICMP_PORT_UNREACH, 0);
		if (ret < 0) {
			drv_count(x.rev_nat, DRV_PATH_TC, -ret, skb->len);
			return TC_ACT_SHOT;
		}
		return ret;
	case DRV_V_FWD:
	case DRV_V_REPLY:
		return tc_send(skb, &p, &x, true, v == DRV_V_FWD ? DRV_STAT_FWD : DRV_STAT_REPLY);
	default:
		drv_count(x.rev_nat, DRV_PATH_TC, -v, skb->len);
		return TC_ACT_SHOT;
	}
}

SEC("tc")
int drv_tc_pod(struct __sk_buff *skb)
{
	return tc_handle(skb, false);
}

SEC("tc")
int drv_tc_node(struct __sk_buff *skb)
{
	return tc_handle(skb, true);
}
