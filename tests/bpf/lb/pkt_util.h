/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkt_util: crafted packets for BPF_PROG_TEST_RUN fixtures, and checksum verification by
 * full recomputation (never by trusting the incremental update under test).
 */
#ifndef DROVER_TEST_PKT_UTIL_H
#define DROVER_TEST_PKT_UTIL_H

#include <net/if.h> /* before any linux/ header that pulls linux/if.h */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX 256

/* data starts 2 bytes into a 4-aligned struct so that the IP header (14 bytes in) is 4-byte
 * aligned, as in a NIC's receive buffer (NET_IP_ALIGN): the headers can be used as structs. */
struct pkt {
	uint16_t align_pad;
	uint8_t data[PKT_MAX];
	uint32_t len;
} __attribute__((aligned(4)));

static inline uint32_t ip4(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static inline uint16_t csum_fold32(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint32_t csum_add_buf(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

/* Host-order result of the ones'-complement sum; 0 means "verifies". */
static inline uint16_t ip_csum_verify(const struct iphdr *ip)
{
	return csum_fold32(csum_add_buf(0, ip, ip->ihl * 4u));
}

static inline uint16_t l4_csum_verify(const struct iphdr *ip, const void *l4, size_t l4len)
{
	uint32_t sum = 0;
	uint8_t ph[12];

	memcpy(ph, &ip->saddr, 4);
	memcpy(ph + 4, &ip->daddr, 4);
	ph[8] = 0;
	ph[9] = ip->protocol;
	ph[10] = (uint8_t)(l4len >> 8);
	ph[11] = (uint8_t)l4len;
	sum = csum_add_buf(sum, ph, sizeof(ph));
	sum = csum_add_buf(sum, l4, l4len);
	return csum_fold32(sum);
}

static inline struct iphdr *pkt_ip(struct pkt *p)
{
	return (struct iphdr *)(p->data + sizeof(struct ethhdr));
}

static inline void *pkt_l4(struct pkt *p)
{
	struct iphdr *ip = pkt_ip(p);

	return (uint8_t *)ip + ip->ihl * 4;
}

static inline size_t pkt_l4_len(struct pkt *p)
{
	struct iphdr *ip = pkt_ip(p);

	return ntohs(ip->tot_len) - ip->ihl * 4u;
}

/* Recompute and check both checksums. */
static inline bool pkt_csums_ok(struct pkt *p)
{
	struct iphdr *ip = pkt_ip(p);

	if (ip_csum_verify(ip) != 0)
		return false;
	if (ip->protocol == IPPROTO_UDP && ((struct udphdr *)pkt_l4(p))->check == 0)
		return true;
	return l4_csum_verify(ip, pkt_l4(p), pkt_l4_len(p)) == 0;
}

static inline void pkt_fill_csums(struct pkt *p)
{
	struct iphdr *ip = pkt_ip(p);
	size_t l4len = pkt_l4_len(p);

	/* csum_fold32 returns ~sum in host order; the field is stored big-endian. */
	ip->check = 0;
	ip->check = htons(csum_fold32(csum_add_buf(0, ip, ip->ihl * 4u)));
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *th = pkt_l4(p);

		th->check = 0;
		th->check = htons(l4_csum_verify(ip, th, l4len));
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *uh = pkt_l4(p);

		uh->check = 0;
		uh->check = htons(l4_csum_verify(ip, uh, l4len));
		if (uh->check == 0)
			uh->check = 0xffff;
	}
}

/* A TCP (flags) or UDP packet with `payload` bytes of data. */
static inline void pkt_build(struct pkt *p, uint8_t proto, const char *saddr, uint16_t sport,
			     const char *daddr, uint16_t dport, uint8_t tcp_flags, size_t payload)
{
	struct ethhdr *eth = (struct ethhdr *)p->data;
	struct iphdr *ip;
	size_t l4 = proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);

	memset(p, 0, sizeof(*p));
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", 6);
	eth->h_proto = htons(ETH_P_IP);
	ip = pkt_ip(p);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->saddr = ip4(saddr);
	ip->daddr = ip4(daddr);
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + l4 + payload));
	ip->id = htons(0x1234);
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = pkt_l4(p);

		th->source = htons(sport);
		th->dest = htons(dport);
		th->seq = htonl(0x01020304);
		th->doff = 5;
		((uint8_t *)th)[13] = tcp_flags;
		th->window = htons(64240);
	} else {
		struct udphdr *uh = pkt_l4(p);

		uh->source = htons(sport);
		uh->dest = htons(dport);
		uh->len = htons((uint16_t)(sizeof(*uh) + payload));
	}
	for (size_t i = 0; i < payload; i++)
		((uint8_t *)pkt_l4(p))[l4 + i] = (uint8_t)('a' + i % 26);
	p->len = (uint32_t)(sizeof(*eth) + sizeof(*ip) + l4 + payload);
	pkt_fill_csums(p);
}

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_FIN 0x01

#endif
