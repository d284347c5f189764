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
 * Rewrites use the skb checksum helpers (correct for CHECKSUM_PARTIAL packets from local
 * sockets). Translated packets are sent on with bpf_fib_lookup + bpf_redirect (or
 * bpf_redirect_neigh when the neighbour is not resolved yet); where the FIB has no answer
 * the kernel's own routing takes the packet (TC_ACT_OK).
 */
#include "common.h"
#include "maps.h"
#include "stats.h"
#include "lb.h"
#include "pkt.h"
#include "nat.h"
#include "icmp.h"

#define TC_PULL_LEN (ETH_HLEN + 60 + 20)

static __always_inline int tc_rewrite(struct __sk_buff *skb, const struct drv_pkt *p,
				      const struct drv_xlate *x)
{
	__u32 csum_off = p->l4off + (p->f.proto == DRV_PROTO_TCP ? 16 : 6);
	__u64 l4f = p->f.proto == DRV_PROTO_UDP ? BPF_F_MARK_MANGLED_0_ : 0;

	if ((x->flags & DRV_CT_F_SNAT) && x->saddr != p->f.saddr) {
		if (bpf_l4_csum_replace(skb, csum_off, p->f.saddr, x->saddr,
					BPF_F_PSEUDO_HDR_ | l4f | 4) ||
		    bpf_l3_csum_replace(skb, p->l3off + 10, p->f.saddr, x->saddr, 4) ||
		    bpf_skb_store_bytes(skb, p->l3off + 12, &x->saddr, 4, 0))
			return -DRV_DROP_CSUM;
	}
	if ((x->flags & DRV_CT_F_SNAT) && x->sport != p->f.sport) {
		if (bpf_l4_csum_replace(skb, csum_off, p->f.sport, x->sport, l4f | 2) ||
		    bpf_skb_store_bytes(skb, p->l4off, &x->sport, 2, 0))
			return -DRV_DROP_CSUM;
	}
	if ((x->flags & DRV_CT_F_DNAT) && x->daddr != p->f.daddr) {
		if (bpf_l4_csum_replace(skb, csum_off, p->f.daddr, x->daddr,
					BPF_F_PSEUDO_HDR_ | l4f | 4) ||
		    bpf_l3_csum_replace(skb, p->l3off + 10, p->f.daddr, x->daddr, 4) ||
		    bpf_skb_store_bytes(skb, p->l3off + 16, &x->daddr, 4, 0))
			return -DRV_DROP_CSUM;
	}
	if ((x->flags & DRV_CT_F_DNAT) && x->dport != p->f.dport) {
		if (bpf_l4_csum_replace(skb, csum_off, p->f.dport, x->dport, l4f | 2) ||
		    bpf_skb_store_bytes(skb, p->l4off + 2, &x->dport, 2, 0))
			return -DRV_DROP_CSUM;
	}
	return 0;
}

/* Forward a translated packet: TTL, MACs, redirect. The next hop comes from the flow's
 * cached FIB answer, or from bpf_fib_lookup (then cached). TC_ACT_OK when the kernel should
 * route it itself (local destination, no route, MTU exceeded, TTL expiring). */
static __always_inline int tc_forward(struct __sk_buff *skb, const struct drv_pkt *p,
				      const struct drv_xlate *x)
{
	struct bpf_fib_lookup fib = {};
	__u8 l2[2 * ETH_ALEN];
	__u16 old_word, new_word;
	__u32 ifindex;
	long rc = BPF_FIB_LKUP_RET_SUCCESS;

	if (!drv_cfg.enable_fib_redirect || p->ttl <= 1)
		return TC_ACT_OK;
	if (drv_l2_cached(x->ct)) {
		ifindex = x->ct->ifindex;
		__builtin_memcpy(l2, x->ct->dmac, ETH_ALEN);
		__builtin_memcpy(l2 + ETH_ALEN, x->ct->smac, ETH_ALEN);
	} else {
		fib.family = AF_INET;
		fib.l4_protocol = p->f.proto;
		fib.tot_len = p->len;
		fib.ifindex = skb->ingress_ifindex;
		fib.ipv4_src = (x->flags & DRV_CT_F_SNAT) ? x->saddr : p->f.saddr;
		fib.ipv4_dst = (x->flags & DRV_CT_F_DNAT) ? x->daddr : p->f.daddr;
		rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
			return TC_ACT_OK;
		ifindex = fib.ifindex;
		if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
			drv_l2_store(x->ct, fib.ifindex, fib.dmac, fib.smac);
			__builtin_memcpy(l2, fib.dmac, ETH_ALEN);
			__builtin_memcpy(l2 + ETH_ALEN, fib.smac, ETH_ALEN);
		}
	}

	/* TTL and protocol are one 16-bit word of the IP header checksum. */
	{
		__u8 ow[2] = {p->ttl, p->f.proto}, nw[2] = {p->ttl - 1, p->f.proto};

		__builtin_memcpy(&old_word, ow, 2);
		__builtin_memcpy(&new_word, nw, 2);
	}
	if (bpf_l3_csum_replace(skb, p->l3off + 10, old_word, new_word, 2) ||
	    bpf_skb_store_bytes(skb, p->l3off + 8, &new_word, 2, 0))
		return TC_ACT_OK;

	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = {.nh_family = AF_INET, .ipv4_nh = fib.ipv4_dst};

		return bpf_redirect_neigh(ifindex, &nh, sizeof(nh), 0);
	}
	if (bpf_skb_store_bytes(skb, 0, l2, sizeof(l2), 0))
		return TC_ACT_OK;
	return bpf_redirect(ifindex, 0);
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
	int ret, v;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + TC_PULL_LEN > data_end) {
		bpf_skb_pull_data(skb, skb->len < TC_PULL_LEN ? skb->len : TC_PULL_LEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	ret = drv_parse(data, data_end, &p);
	if (ret == DRV_PARSE_NOT_OURS)
		return TC_ACT_OK;
	if (ret < 0) {
		drv_count(0, DRV_PATH_TC, -ret, skb->len);
		return TC_ACT_OK; /* not ours to judge: the stack will drop it if it must */
	}

	v = drv_lb_decide(&p.f, from_node, skb->len, &x, 0);
	switch (v) {
	case DRV_V_PASS:
		return TC_ACT_OK;
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
		ret = tc_rewrite(skb, &p, &x);
		if (ret < 0) {
			drv_count(x.rev_nat, DRV_PATH_TC, -ret, skb->len);
			return TC_ACT_SHOT;
		}
		drv_count(x.rev_nat, DRV_PATH_TC, v == DRV_V_FWD ? DRV_STAT_FWD : DRV_STAT_REPLY,
			  skb->len);
		return tc_forward(skb, &p, &x);
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
