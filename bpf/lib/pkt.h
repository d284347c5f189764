/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.h: IPv4 TCP/UDP header parsing shared by tc and XDP (both give data/data_end).
 * Anything that is not IPv4 TCP/UDP is not a service packet and is passed untouched; ICMP and
 * the later fragments of TCP/UDP datagrams are told apart for tc, which translates the ICMP
 * errors and fragments of tracked flows (XDP passes them to it).
 */
#ifndef DRV_BPF_PKT_H
#define DRV_BPF_PKT_H

#include "common.h"

#define DRV_TCP_FIN 0x01
#define DRV_TCP_SYN 0x02
#define DRV_TCP_RST 0x04
#define DRV_TCP_ACK 0x10

struct drv_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 frag; /* a fragment: DRV_FRAG_FIRST (ports known) or DRV_FRAG_LATER (none) */
	__u8 pad;
};

#define DRV_FRAG_FIRST 1
#define DRV_FRAG_LATER 2

struct drv_pkt {
	__u32 l3off;
	__u32 l4off;
	__u32 len; /* IP total length */
	__u8 ttl;
	__u8 df;   /* Don't Fragment set */
	__be16 id; /* IP identification */
	struct drv_flow f;
};

enum drv_parse_result {
	DRV_PARSE_OK = 0,
	DRV_PARSE_NOT_OURS = 1, /* not IPv4 TCP/UDP/ICMP: pass */
	DRV_PARSE_ICMP = 2,	/* unfragmented ICMP: all but the ports and flags filled in */
	DRV_PARSE_FRAG = 3,	/* later fragment of TCP/UDP: likewise */
};

/* Returns a drv_parse_result, or -DRV_DROP_MALFORMED. */
static __always_inline int drv_parse(void *data, void *data_end, struct drv_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl;

	if ((void *)(eth + 1) > data_end)
		return DRV_PARSE_NOT_OURS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return DRV_PARSE_NOT_OURS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return -DRV_DROP_MALFORMED;
	if (ip->protocol != DRV_PROTO_TCP && ip->protocol != DRV_PROTO_UDP &&
	    ip->protocol != IPPROTO_ICMP_)
		return DRV_PARSE_NOT_OURS;
	ihl = ip->ihl & 0xf;
	if (ihl < 5)
		return -DRV_DROP_MALFORMED;
	p->l3off = ETH_HLEN;
	p->l4off = ETH_HLEN + ihl * 4;
	p->len = bpf_ntohs(ip->tot_len);
	p->ttl = ip->ttl;
	p->df = !!(ip->frag_off & bpf_htons(IP_DF));
	p->id = ip->id;
	p->f.saddr = ip->saddr;
	p->f.daddr = ip->daddr;
	p->f.proto = ip->protocol;
	p->f.tcp_flags = 0;
	p->f.frag = 0;
	p->f.pad = 0;
	p->f.sport = 0;
	p->f.dport = 0;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		/* Fragments cannot be load-balanced (later ones carry no ports). A first
		 * fragment still names its ports: tc translates it when its flow is tracked,
		 * else the caller drops it, counted, if it is for a frontend. Later fragments
		 * get what their first fragment got (tc's drv_frag1), or pass. */
		if (ip->protocol == IPPROTO_ICMP_)
			return DRV_PARSE_NOT_OURS;
		p->f.frag = DRV_FRAG_FIRST;
		if (ip->frag_off & bpf_htons(IP_OFFSET)) {
			p->f.frag = DRV_FRAG_LATER;
			return DRV_PARSE_FRAG;
		}
	}
	if (ip->protocol == IPPROTO_ICMP_)
		return DRV_PARSE_ICMP;
	if (ip->protocol == DRV_PROTO_TCP) {
		struct tcphdr *th = data + p->l4off;

		if ((void *)(th + 1) > data_end)
			return -DRV_DROP_MALFORMED;
		p->f.sport = th->source;
		p->f.dport = th->dest;
		p->f.tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh = data + p->l4off;

		if ((void *)(uh + 1) > data_end)
			return -DRV_DROP_MALFORMED;
		p->f.sport = uh->source;
		p->f.dport = uh->dest;
	}
	return DRV_PARSE_OK;
}

#endif
