// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp.bpf.c: NodePort, externalIPs and LoadBalancer IPs on the node's external device,
 * before the kernel allocates an skb. Backends are picked with Maglev (every node picks the
 * same backend for a flow) and the flow is masqueraded (SNAT to the node address) unless the
 * service's externalTrafficPolicy is Local, so replies come back through this node, where
 * the tc program on the backend's veth translates them back.
 *
 * A translated packet leaves with XDP_TX (same device) or XDP_REDIRECT after a FIB lookup.
 * When the FIB cannot resolve the next hop (no neighbour yet, local destination) or the
 * packet is too big for the egress device, it is passed untranslated: the tc program on the
 * same device finds the flow in conntrack and translates it there (or answers with ICMP
 * fragmentation-needed), so nothing is lost, only slower. ICMP errors and fragments are
 * left to tc too.
 */
#include "common.h"
#include "maps.h"
#include "stats.h"
#include "lb.h"
#include "pkt.h"
#include "nat.h"
#include "icmp.h"
#include "csum.h"

static __always_inline int xdp_rewrite(struct xdp_md *ctx, const struct drv_flow *f,
				       const struct drv_xlate *x, const struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	__sum16 *l4check;
	__be16 *ports;
	bool udp = f->proto == DRV_PROTO_UDP;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end)
		return -DRV_DROP_MALFORMED;
	ihl = (ip->ihl & 0xf) * 4;
	if (ihl < sizeof(*ip))
		return -DRV_DROP_MALFORMED;
	ports = (void *)ip + ihl;
	if ((void *)ports + (udp ? sizeof(struct udphdr) : sizeof(struct tcphdr)) > data_end)
		return -DRV_DROP_MALFORMED;
	l4check = udp ? &((struct udphdr *)ports)->check : &((struct tcphdr *)ports)->check;
	if ((void *)(l4check + 1) > data_end)
		return -DRV_DROP_MALFORMED;
	/* A UDP checksum of 0 means "none": leave it so. */
	if (udp && *l4check == 0)
		l4check = NULL;

	if ((x->flags & DRV_CT_F_SNAT) && x->saddr != ip->saddr) {
		if (l4check)
			drv_csum_replace4(l4check, ip->saddr, x->saddr);
		drv_csum_replace4(&ip->check, ip->saddr, x->saddr);
		ip->saddr = x->saddr;
	}
	if ((x->flags & DRV_CT_F_SNAT) && x->sport != ports[0]) {
		if (l4check)
			drv_csum_replace2(l4check, ports[0], x->sport);
		ports[0] = x->sport;
	}
	if ((x->flags & DRV_CT_F_DNAT) && x->daddr != ip->daddr) {
		if (l4check)
			drv_csum_replace4(l4check, ip->daddr, x->daddr);
		drv_csum_replace4(&ip->check, ip->daddr, x->daddr);
		ip->daddr = x->daddr;
	}
	if ((x->flags & DRV_CT_F_DNAT) && x->dport != ports[1]) {
		if (l4check)
			drv_csum_replace2(l4check, ports[1], x->dport);
		ports[1] = x->dport;
	}
	if (l4check && udp && *l4check == 0)
		*l4check = 0xffff;

	/* Forwarding: TTL and MACs, as the kernel's forward path would. */
	{
		/* TTL and protocol form one 16-bit word of the header checksum. */
		__u8 old[2] = {ip->ttl, ip->protocol}, nw[2] = {ip->ttl - 1, ip->protocol};
		__be16 ow, nww;

		__builtin_memcpy(&ow, old, 2);
		__builtin_memcpy(&nww, nw, 2);
		ip->ttl--;
		drv_csum_replace2(&ip->check, ow, nww);
	}
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	return 0;
}

static __always_inline int xdp_reject(struct xdp_md *ctx, const struct drv_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct drv_icmp_reply r;
	struct ethhdr eth, *peth;
	int delta;

	if (p->l4off != ETH_HLEN + sizeof(struct iphdr))
		return -DRV_DROP_NO_BACKEND;
	if (data + ETH_HLEN + DRV_ICMP_QUOTE > data_end)
		return -DRV_DROP_MALFORMED;
	__builtin_memcpy(&eth, data, sizeof(eth));
	__builtin_memcpy(r.quote, data + ETH_HLEN, DRV_ICMP_QUOTE);
	delta = (int)DRV_ICMP_PKT_LEN - (int)(data_end - data);
	if (bpf_xdp_adjust_tail(ctx, delta))
		return -DRV_DROP_NO_BACKEND;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + DRV_ICMP_PKT_LEN > data_end)
		return -DRV_DROP_NO_BACKEND;
	drv_icmp_build(&r, p->f.daddr, p->f.saddr, ICMP_PORT_UNREACH, 0);
	peth = data;
	__builtin_memcpy(peth->h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(peth->h_source, eth.h_dest, ETH_ALEN);
	peth->h_proto = eth.h_proto;
	__builtin_memcpy(data + ETH_HLEN, &r, sizeof(r));
	return 0;
}

SEC("xdp")
int drv_xdp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct drv_xlate x = {};
	struct drv_pkt p;
	__u32 len = data_end - data;
	int ret, v;
	long rc;
	__u32 mtu = 0;

	ret = drv_parse(data, data_end, &p);
	if (ret != DRV_PARSE_OK)
		return XDP_PASS; /* not ours, or malformed: the stack decides; ICMP and later
				  * fragments: tc translates those of tracked flows */
	if (p.f.frag)
		return XDP_PASS; /* tc translates it with its later fragments (drv_frag1) */

	v = drv_lb_decide(&p.f, true, len, &x, DRV_CT_F_XDP);
	switch (v) {
	case DRV_V_PASS:
		return XDP_PASS;
	case DRV_V_REJECT:
		ret = xdp_reject(ctx, &p);
		if (ret < 0) {
			drv_count(x.rev_nat, DRV_PATH_XDP, -ret, len);
			return XDP_DROP;
		}
		drv_count(x.rev_nat, DRV_PATH_XDP, DRV_STAT_REJECTED, len);
		return XDP_TX;
	case DRV_V_FWD:
	case DRV_V_REPLY:
		break;
	default:
		drv_count(x.rev_nat, DRV_PATH_XDP, -v, len);
		return XDP_DROP;
	}

	if (p.ttl <= 1)
		return XDP_PASS; /* the stack sends time-exceeded */
	if (drv_l2_cached(x.ct)) {
		/* Too big for the cached egress device (the FIB checks it below): redirecting
		 * would drop it there. tc answers with fragmentation-needed or lets the stack
		 * fragment it. Within the MTU tc cached with the next hop: no helper call. */
		if (p.len > x.ct->mtu &&
		    bpf_check_mtu(ctx, x.ct->ifindex, &mtu, 0, 0) != BPF_MTU_CHK_RET_SUCCESS)
			return XDP_PASS;
		fib.ifindex = x.ct->ifindex;
		__builtin_memcpy(fib.dmac, x.ct->dmac, ETH_ALEN);
		__builtin_memcpy(fib.smac, x.ct->smac, ETH_ALEN);
	} else {
		fib.family = AF_INET;
		fib.l4_protocol = p.f.proto;
		fib.tot_len = p.len;
		fib.ifindex = ctx->ingress_ifindex;
		fib.ipv4_src = (x.flags & DRV_CT_F_SNAT) ? x.saddr : p.f.saddr;
		fib.ipv4_dst = (x.flags & DRV_CT_F_DNAT) ? x.daddr : p.f.daddr;
		rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return XDP_PASS; /* tc on this device translates it from conntrack */
		/* The device's MTU, so that the flow's later packets need no helper call (the
		 * FIB checked this one against the route's). */
		bpf_check_mtu(ctx, fib.ifindex, &mtu, 0, 0);
		drv_l2_store(x.ct, fib.ifindex, fib.dmac, fib.smac, mtu, 0);
	}
	ret = xdp_rewrite(ctx, &p.f, &x, &fib);
	if (ret < 0) {
		drv_count(x.rev_nat, DRV_PATH_XDP, -ret, len);
		return XDP_DROP;
	}
	drv_count(x.rev_nat, DRV_PATH_XDP, v == DRV_V_FWD ? DRV_STAT_FWD : DRV_STAT_REPLY, len);
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib.ifindex, 0);
}
