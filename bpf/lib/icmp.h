/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp.h: the reply to a packet for a frontend that has no backend: ICMP destination
 * unreachable / port unreachable, from the frontend address, quoting the original IP header
 * and first 8 bytes of L4 (RFC 792). Linux fails a connecting TCP socket with ECONNREFUSED on
 * it and reports ECONNREFUSED on a connected UDP socket: the client fails fast, as with
 * kube-proxy's REJECT rule, instead of waiting for a timeout.
 * The same block with code fragmentation-needed and the next-hop MTU (RFC 1191) answers a
 * packet with DF set that is too big for the egress device after translation, as a router
 * would (and as Linux does for kube-proxy's DNATed packets, un-NATing the quote): the
 * client's path MTU discovery learns the smaller MTU.
 *
 * Only the header block is built here; tc and XDP each resize and write the packet.
 */
#ifndef DRV_BPF_ICMP_H
#define DRV_BPF_ICMP_H

#include "common.h"

#define ICMP_FRAG_NEEDED   4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

#define DRV_ICMP_QUOTE	 28 /* original IPv4 header (no options) + 8 bytes */
#define DRV_ICMP_PKT_LEN (ETH_HLEN + sizeof(struct drv_icmp_reply))

struct drv_icmp_reply {
	struct iphdr ip;
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__u32 unused;
	__u8 quote[DRV_ICMP_QUOTE];
} __attribute__((aligned(4)));
_Static_assert(sizeof(struct drv_icmp_reply) == 56, "ICMP reply block");

static __always_inline __u16 drv_csum_fold32(__s64 csum)
{
	__u32 sum = (__u32)csum;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Fill r (quote already copied in) as a destination unreachable with code from `from` to
 * `to`; mtu is the next-hop MTU of a fragmentation-needed (else 0). */
static __always_inline void drv_icmp_build(struct drv_icmp_reply *r, __be32 from, __be32 to,
					   __u8 code, __u16 mtu)
{
	r->ip.version = 4;
	r->ip.ihl = 5;
	r->ip.tos = 0;
	r->ip.tot_len = bpf_htons(sizeof(*r));
	r->ip.id = 0;
	r->ip.frag_off = 0;
	r->ip.ttl = 64;
	r->ip.protocol = IPPROTO_ICMP_;
	r->ip.check = 0;
	r->ip.saddr = from;
	r->ip.daddr = to;
	r->ip.check = drv_csum_fold32(bpf_csum_diff(0, 0, (void *)&r->ip, sizeof(r->ip), 0));
	r->type = ICMP_DEST_UNREACH;
	r->code = code;
	r->checksum = 0;
	r->unused = bpf_htonl(mtu);
	r->checksum =
	    drv_csum_fold32(bpf_csum_diff(0, 0, (void *)&r->type, sizeof(*r) - sizeof(r->ip), 0));
}

#endif
