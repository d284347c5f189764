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
 * the kernel's own routing takes the packet (TC_ACT_OK).
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

/* Where a translated packet goes: the flow's cached next hop, or a FIB lookup (then cached).
 * Returns the egress ifindex with l2 = destination then source MAC; 0 when the kernel
 * should route the packet itself (local destination, no route, MTU exceeded, TTL expiring,
 * or forwarding switched off); *neigh set when the neighbour is unresolved (the kernel
 * resolves it through bpf_redirect_neigh towards *nh). */
static __always_inline __u32 tc_next_hop(struct __sk_buff *skb, const struct drv_pkt *p,
					 const struct drv_xlate *x, __u8 *l2, bool *neigh,
					 __be32 *nh, bool *peer)
{
	struct bpf_fib_lookup fib = {};
	long rc;
	__u32 ep_if;

	*neigh = false;
	*peer = false;
	if (p->ttl <= 1)
		return 0;
	ep_if = tc_endpoint(skb, (x->flags & DRV_CT_F_DNAT) ? x->daddr : p->f.daddr, l2);
	if (ep_if) {
		*peer = true;
		return ep_if;
	}
	if (!drv_cfg.enable_fib_redirect)
		return 0;
	if (drv_l2_cached(x->ct)) {
		__builtin_memcpy(l2, x->ct->dmac, ETH_ALEN);
		__builtin_memcpy(l2 + ETH_ALEN, x->ct->smac, ETH_ALEN);
		return x->ct->ifindex;
	}
	fib.family = AF_INET;
	fib.l4_protocol = p->f.proto;
	fib.tot_len = p->len;
	fib.ifindex = skb->ingress_ifindex;
	fib.ipv4_src = (x->flags & DRV_CT_F_SNAT) ? x->saddr : p->f.saddr;
	fib.ipv4_dst = (x->flags & DRV_CT_F_DNAT) ? x->daddr : p->f.daddr;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		*neigh = true;
		*nh = fib.ipv4_dst;
		return fib.ifindex;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	drv_l2_store(x->ct, fib.ifindex, fib.dmac, fib.smac);
	__builtin_memcpy(l2, fib.dmac, ETH_ALEN);
	__builtin_memcpy(l2 + ETH_ALEN, fib.smac, ETH_ALEN);
	return fib.ifindex;
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

/* The bytes tc_xlate rewrites: IP header bytes 8..19 (TTL, protocol, checksum, addresses)
 * and the L4 header up to its checksum (TCP 18 bytes, UDP 8), each stored with one
 * bpf_skb_store_bytes. Helpers, not direct packet writes: a program that writes packets
 * directly makes the kernel un-clone every skb it sees before it runs, and the TCP segments
 * of local sockets are all clones. */
struct tc_ip_tail {
	__u8 ttl;
	__u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
};

/* Translate and send on. Returns a tc verdict, or a negative drop reason. */
static __always_inline int tc_xlate(struct __sk_buff *skb, const struct drv_pkt *p,
				    const struct drv_xlate *x, bool *peer)
{
	bool udp = p->f.proto == DRV_PROTO_UDP;
	__u32 l4len = udp ? 8 : 18;
	__u64 addr_diff = 0, port_diff = 0;
	struct tc_ip_tail iph;
	__u8 l4[18];
	__be16 *ports = (__be16 *)l4;
	__sum16 *l4check = (__sum16 *)(l4 + (udp ? 6 : 16));
	__u8 l2[2 * ETH_ALEN];
	bool neigh;
	__be32 nh = 0;
	__u32 ifindex;

	ifindex = tc_next_hop(skb, p, x, l2, &neigh, &nh, peer);
	if (bpf_skb_load_bytes(skb, p->l3off + 8, &iph, sizeof(iph)) ||
	    bpf_skb_load_bytes(skb, p->l4off, l4, l4len))
		return -DRV_DROP_MALFORMED;

	if ((x->flags & DRV_CT_F_SNAT) && x->saddr != iph.saddr) {
		csum_diff4(&addr_diff, iph.saddr, x->saddr);
		drv_csum_replace4(&iph.check, iph.saddr, x->saddr);
		iph.saddr = x->saddr;
	}
	if ((x->flags & DRV_CT_F_DNAT) && x->daddr != iph.daddr) {
		csum_diff4(&addr_diff, iph.daddr, x->daddr);
		drv_csum_replace4(&iph.check, iph.daddr, x->daddr);
		iph.daddr = x->daddr;
	}
	if ((x->flags & DRV_CT_F_SNAT) && x->sport != ports[0]) {
		port_diff += (__u16)~ports[0] + x->sport;
		ports[0] = x->sport;
	}
	if ((x->flags & DRV_CT_F_DNAT) && x->dport != ports[1]) {
		port_diff += (__u16)~ports[1] + x->dport;
		ports[1] = x->dport;
	}
	if (ifindex) {
		/* Forwarded by us, as the kernel's forward path would: TTL (one 16-bit word with
		 * the protocol in the header checksum), then MACs. */
		__u8 ow[2] = {iph.ttl, iph.protocol}, nw[2] = {iph.ttl - 1, iph.protocol};
		__be16 o16, n16;

		__builtin_memcpy(&o16, ow, 2);
		__builtin_memcpy(&n16, nw, 2);
		iph.ttl--;
		drv_csum_replace2(&iph.check, o16, n16);
	}
	if (addr_diff || port_diff)
		*l4check = tc_l4_csum(skb, *l4check, udp, addr_diff, port_diff);

	if (bpf_skb_store_bytes(skb, p->l3off + 8, &iph, sizeof(iph), 0) ||
	    ((addr_diff || port_diff) && bpf_skb_store_bytes(skb, p->l4off, l4, l4len, 0)))
		return -DRV_DROP_CSUM;
	if (!ifindex)
		return TC_ACT_OK;
	if (neigh) {
		struct bpf_redir_neigh rn = {.nh_family = AF_INET, .ipv4_nh = nh};

		return bpf_redirect_neigh(ifindex, &rn, sizeof(rn), 0);
	}
	if (bpf_skb_store_bytes(skb, 0, l2, sizeof(l2), 0))
		return -DRV_DROP_CSUM;
	if (*peer)
		return bpf_redirect_peer(ifindex, 0);
	return bpf_redirect(ifindex, 0);
}

/* A packet no service translates: to a local pod by bpf_redirect_peer (routed as the kernel
 * would: TTL - 1, the pod's MAC), anything else to the stack. *peer says which. */
static __always_inline int tc_local(struct __sk_buff *skb, bool *peer)
{
	struct tc_ip_tail iph;
	__u8 l2[2 * ETH_ALEN];
	__u8 vhl, ow[2], nw[2];
	__be16 o16, n16;
	__u32 ifindex;

	*peer = false;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &vhl, 1) || (vhl >> 4) != 4 ||
	    bpf_skb_load_bytes(skb, ETH_HLEN + 8, &iph, sizeof(iph)) || iph.ttl <= 1)
		return TC_ACT_OK;
	ifindex = tc_endpoint(skb, iph.daddr, l2);
	if (!ifindex)
		return TC_ACT_OK;
	ow[0] = iph.ttl;
	ow[1] = iph.protocol;
	nw[0] = iph.ttl - 1;
	nw[1] = iph.protocol;
	__builtin_memcpy(&o16, ow, 2);
	__builtin_memcpy(&n16, nw, 2);
	iph.ttl--;
	drv_csum_replace2(&iph.check, o16, n16);
	if (bpf_skb_store_bytes(skb, ETH_HLEN + 8, &iph, 4, 0) ||
	    bpf_skb_store_bytes(skb, 0, l2, sizeof(l2), 0))
		return -DRV_DROP_CSUM;
	*peer = true;
	return bpf_redirect_peer(ifindex, 0);
}

/* The verdict of tc_local, counted. */
static __always_inline int tc_pass(struct __sk_buff *skb, __u16 rev_nat)
{
	bool peer;
	int ret = tc_local(skb, &peer);

	if (ret < 0) {
		drv_count(rev_nat, DRV_PATH_TC, -ret, skb->len);
		return TC_ACT_SHOT;
	}
	if (peer)
		drv_count(rev_nat, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER, skb->len);
	return ret;
}

static __always_inline int tc_reject(struct __sk_buff *skb, const struct drv_pkt *p)
{
	struct drv_icmp_reply r;
	struct ethhdr eth;
	__u8 mac[ETH_ALEN];

	if (p->l4off != ETH_HLEN + sizeof(struct iphdr))
		return -DRV_DROP_NO_BACKEND; /* IP options: just drop */
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) ||
	    bpf_skb_load_bytes(skb, p->l3off, r.quote, DRV_ICMP_QUOTE))
		return -DRV_DROP_MALFORMED;
	if (bpf_skb_change_tail(skb, DRV_ICMP_PKT_LEN, 0))
		return -DRV_DROP_NO_BACKEND;
	drv_icmp_build(&r, p->f.daddr, p->f.saddr);
	__builtin_memcpy(mac, eth.h_dest, ETH_ALEN);
	__builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(eth.h_source, mac, ETH_ALEN);
	if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &r, sizeof(r), 0))
		return -DRV_DROP_NO_BACKEND;
	/* Back out of the device the packet came in on, towards the sender. */
	return bpf_redirect(skb->ifindex, 0);
}

static __always_inline int tc_handle(struct __sk_buff *skb, bool from_node)
{
	struct drv_xlate x = {};
	struct drv_pkt p;
	void *data, *data_end;
	bool peer = false;
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
	if (ret == DRV_PARSE_NOT_OURS)
		return tc_pass(skb, 0);
	if (ret < 0) {
		drv_count(0, DRV_PATH_TC, -ret, skb->len);
		return TC_ACT_OK; /* not ours to judge: the stack will drop it if it must */
	}

	v = drv_lb_decide(&p.f, from_node, skb->len, &x, 0);
	switch (v) {
	case DRV_V_PASS:
		return tc_pass(skb, 0);
	case DRV_V_REJECT:
		drv_count(x.rev_nat, DRV_PATH_TC, DRV_STAT_REJECTED, skb->len);
		ret = tc_reject(skb, &p);
		if (ret < 0) {
			drv_count(x.rev_nat, DRV_PATH_TC, -ret, skb->len);
			return TC_ACT_SHOT;
		}
		return ret;
	case DRV_V_FWD:
	case DRV_V_REPLY:
		ret = tc_xlate(skb, &p, &x, &peer);
		if (ret < 0) {
			drv_count(x.rev_nat, DRV_PATH_TC, -ret, skb->len);
			return TC_ACT_SHOT;
		}
		drv_count(x.rev_nat, DRV_PATH_TC, v == DRV_V_FWD ? DRV_STAT_FWD : DRV_STAT_REPLY,
			  skb->len);
		if (peer)
			drv_count(x.rev_nat, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER, skb->len);
		return ret;
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
