/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BPF_PROG_TEST_RUN fixtures for ICMP errors, MTU and fragments on the tc/XDP paths
 * (drv_tc_pod, drv_tc_node, drv_xdp_lb): errors about translated flows come out translated,
 * packets too big for the path are answered with fragmentation-needed, fragmented datagrams
 * of translated flows are translated fragment by fragment; every checksum verified by full
 * recomputation.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drover_abi.h"
#include "fixture.h"
#include "stats.h"

#define VIP "10.96.0.10"

static int setup(void **state)
{
	(void)state;
	return fixture_setup(NULL);
}

static int teardown(void **state)
{
	(void)state;
	fixture_cleanup();
	return 0;
}

/* The rev-NAT id (the counters' key) of a programmed frontend. */
static uint16_t rev_nat_of(const char *vip, uint16_t port, uint8_t proto)
{
	struct drv_svc_key k = {.addr = vip ? ip4(vip) : 0, .dport = htons(port), .proto = proto};
	struct drv_svc_val v;

	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);
	assert_true(v.rev_nat != 0);
	return v.rev_nat;
}

/* An ICMP error from src to dst (type, code, the 4 bytes after the checksum) quoting the first
 * qlen bytes of q's IP packet, as a router or host sends it. */
static void icmp_build(struct pkt *p, uint32_t src, uint32_t dst, uint8_t type, uint8_t code,
		       uint32_t rest, struct pkt *q, size_t qlen)
{
	struct iphdr *ip;
	struct icmphdr *ic;

	pkt_build(p, IPPROTO_UDP, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0);
	ip = pkt_ip(p);
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = src;
	ip->daddr = dst;
	ip->tot_len = htons((uint16_t)(20 + 8 + qlen));
	ip->check = 0;
	ip->check = htons(csum_fold32(csum_add_buf(0, ip, 20)));
	ic = (struct icmphdr *)(ip + 1);
	memset(ic, 0, 8);
	ic->type = type;
	ic->code = code;
	ic->un.gateway = rest;
	memcpy(ic + 1, pkt_ip(q), qlen);
	ic->checksum = htons(csum_fold32(csum_add_buf(0, ic, 8 + qlen)));
	p->len = (uint32_t)(14 + 20 + 8 + qlen);
}

/* Every checksum of an ICMP error, each recomputed in full: the outer IP header's, the ICMP
 * message's, the quoted IP header's. Returns the quoted IP header. */
static struct iphdr *icmp_checked(struct pkt *p)
{
	struct iphdr *ip = pkt_ip(p);
	struct icmphdr *ic = (struct icmphdr *)(ip + 1);

	assert_int_equal(ip->protocol, IPPROTO_ICMP);
	assert_int_equal(ip_csum_verify(ip), 0);
	assert_int_equal(csum_fold32(csum_add_buf(0, ic, ntohs(ip->tot_len) - 20u)), 0);
	assert_int_equal(ip_csum_verify((struct iphdr *)(ic + 1)), 0);
	return (struct iphdr *)(ic + 1);
}

/* NodePort (masqueraded): a fragmentation-needed from the backend's side about a packet the
 * node sent it (nodeIP:snatPort -> backend) reaches the client from the node address,
 * quoting the client's own packet (nodeIP:nodePort), its TCP checksum as the client wrote it;
 * quoted with 8 bytes of TCP, the ports are restored and nothing past them touched. */
static void test_icmp_frag_needed_from_backend(void **state)
{
	struct pkt in, out, err, eout;
	struct iphdr *q;
	uint16_t rev;
	uint64_t n0;
	int v;

	(void)state;
	ct_flush();
	assert_int_equal(fe_program(NULL, 30121, DRV_PROTO_TCP, DRV_SVC_F_NODEPORT, 3, 8080, 0), 0);
	rev = rev_nat_of(NULL, 30121, DRV_PROTO_TCP);
	pkt_build(&in, IPPROTO_TCP, "192.168.50.2", 46000, "192.168.50.1", 30121, TCP_ACK, 40);
	assert_int_equal(run_xdp(F.xdp, &in, &out, F.ifindex_ext), XDP_REDIRECT);
	assert_int_equal(pkt_ip(&out)->saddr, ip4("192.168.50.1"));

	n0 = stat_count(rev, DRV_PATH_TC, DRV_STAT_ICMP_ERROR);
	icmp_build(&err, pkt_ip(&out)->daddr, ip4("192.168.50.1"), ICMP_DEST_UNREACH,
		   ICMP_FRAG_NEEDED, htonl(120), &out, 40);
	v = run_tc(F.tc_pod, &err, &eout, F.ifindex_pod);
	assert_int_equal(v, 7 /* redirected towards the client */);
	assert_int_equal(pkt_ip(&eout)->saddr, ip4("192.168.50.1"));
	assert_int_equal(pkt_ip(&eout)->daddr, ip4("192.168.50.2"));
	assert_int_equal(eout.data[5], 0x02); /* the client's MAC 02:00:00:00:02:02 */
	assert_int_equal(eout.data[4], 0x02);
	q = icmp_checked(&eout);
	/* type, code, MTU as sent (the checksum between them changes) */
	assert_memory_equal(pkt_ip(&eout) + 1, pkt_ip(&err) + 1, 2);
	assert_memory_equal((uint8_t *)(pkt_ip(&eout) + 1) + 4, (uint8_t *)(pkt_ip(&err) + 1) + 4,
			    4);
	assert_int_equal(q->saddr, ip4("192.168.50.2"));
	assert_int_equal(q->daddr, ip4("192.168.50.1"));
	assert_memory_equal(q + 1, pkt_l4(&in), 20); /* the client's TCP header, checksum too */
	assert_int_equal(stat_count(rev, DRV_PATH_TC, DRV_STAT_ICMP_ERROR), n0 + 1);

	/* RFC 792's minimum quote: 8 bytes of TCP */
	icmp_build(&err, pkt_ip(&out)->daddr, ip4("192.168.50.1"), ICMP_DEST_UNREACH,
		   ICMP_FRAG_NEEDED, htonl(120), &out, 28);
	assert_int_equal(run_tc(F.tc_pod, &err, &eout, F.ifindex_pod), 7);
	q = icmp_checked(&eout);
	assert_int_equal(ntohs(pkt_ip(&eout)->tot_len), 20 + 8 + 28);
	assert_memory_equal(q + 1, pkt_l4(&in), 8);

	/* Time exceeded from a router on the way (not the backend) likewise. */
	icmp_build(&err, ip4("10.244.1.1"), ip4("192.168.50.1"), ICMP_TIME_EXCEEDED, 0, 0, &out,
		   28);
	assert_int_equal(run_tc(F.tc_pod, &err, &eout, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&eout)->saddr, ip4("192.168.50.1"));
	assert_int_equal(pkt_ip(&eout)->daddr, ip4("192.168.50.2"));
	assert_memory_equal(icmp_checked(&eout) + 1, pkt_l4(&in), 8);

	/* An error about a flow nobody translated passes untouched. */
	pkt_ip(&out)->daddr = ip4("10.244.1.19");
	icmp_build(&err, ip4("10.244.1.19"), ip4("192.168.50.1"), ICMP_DEST_UNREACH,
		   ICMP_FRAG_NEEDED, htonl(120), &out, 28);
	assert_int_equal(run_tc(F.tc_pod, &err, &eout, F.ifindex_pod), 0 /* TC_ACT_OK */);
	assert_memory_equal(eout.data, err.data, err.len);
}

/* UDP NodePort: the backend's port unreachable reaches the client (so its connected socket
 * gets ECONNREFUSED) quoting its own datagram, UDP checksum as it wrote it; the client's port
 * unreachable about a reply reaches the backend from the masquerade address, quoting the
 * backend's reply. */
static void test_icmp_port_unreach_udp(void **state)
{
	struct pkt in, out, reply, rout, err, eout;
	struct iphdr *q;
	uint32_t be;
	uint16_t snat;
	int v;

	(void)state;
	ct_flush();
	assert_int_equal(fe_program(NULL, 30122, DRV_PROTO_UDP, DRV_SVC_F_NODEPORT, 3, 8080, 0), 0);
	pkt_build(&in, IPPROTO_UDP, "192.168.50.2", 46200, "192.168.50.1", 30122, 0, 10);
	assert_int_equal(run_xdp(F.xdp, &in, &out, F.ifindex_ext), XDP_REDIRECT);
	be = pkt_ip(&out)->daddr;
	snat = ntohs(((struct udphdr *)pkt_l4(&out))->source);

	icmp_build(&err, be, ip4("192.168.50.1"), ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &out,
		   28);
	v = run_tc(F.tc_pod, &err, &eout, F.ifindex_pod);
	assert_int_equal(v, 7);
	assert_int_equal(pkt_ip(&eout)->saddr, ip4("192.168.50.1"));
	assert_int_equal(pkt_ip(&eout)->daddr, ip4("192.168.50.2"));
	q = icmp_checked(&eout);
	assert_int_equal(((struct icmphdr *)(pkt_ip(&eout) + 1))->code, ICMP_PORT_UNREACH);
	assert_int_equal(q->saddr, ip4("192.168.50.2"));
	assert_int_equal(q->daddr, ip4("192.168.50.1"));
	assert_memory_equal(q + 1, pkt_l4(&in), 8);

	/* the other way */
	pkt_build(&reply, IPPROTO_UDP, "10.244.1.10", 8080, "192.168.50.1", snat, 0, 12);
	pkt_ip(&reply)->saddr = be;
	pkt_fill_csums(&reply);
	assert_int_equal(run_tc(F.tc_pod, &reply, &rout, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&rout)->saddr, ip4("192.168.50.1"));
	icmp_build(&err, ip4("192.168.50.2"), ip4("192.168.50.1"), ICMP_DEST_UNREACH,
		   ICMP_PORT_UNREACH, 0, &rout, 28);
	assert_int_equal(run_tc(F.tc_node, &err, &eout, F.ifindex_ext), 7);
	assert_int_equal(pkt_ip(&eout)->saddr, ip4("192.168.50.1"));
	assert_int_equal(pkt_ip(&eout)->daddr, be);
	q = icmp_checked(&eout);
	assert_int_equal(q->saddr, be);
	assert_int_equal(q->daddr, ip4("192.168.50.1"));
	assert_memory_equal(q + 1, pkt_l4(&reply), 8);

	/* ClusterIP from a pod (no masquerade): the quote's destination becomes the VIP again,
	 * and the error comes from the VIP, as Linux's NAT sends it. */
	assert_int_equal(fe_program(VIP, 5300, DRV_PROTO_UDP, DRV_SVC_F_CLUSTERIP, 1, 8080, 0), 0);
	pkt_build(&in, IPPROTO_UDP, "10.244.1.5", 46201, VIP, 5300, 0, 10);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	icmp_build(&err, ip4("10.244.1.10"), ip4("10.244.1.5"), ICMP_DEST_UNREACH,
		   ICMP_PORT_UNREACH, 0, &out, 28);
	assert_int_equal(run_tc(F.tc_pod, &err, &eout, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&eout)->saddr, ip4(VIP));
	assert_int_equal(pkt_ip(&eout)->daddr, ip4("10.244.1.5"));
	q = icmp_checked(&eout);
	assert_memory_equal(q + 1, pkt_l4(&in), 8);
	assert_int_equal(q->daddr, ip4(VIP));
}

/* A packet with DF too big for the backend's path (tsml, MTU 160) after translation is
 * answered with fragmentation-needed from the frontend address, naming that MTU, quoting
 * the client's packet; it is not counted as forwarded. Both for a flow's first packet (the
 * FIB checks the route) and a later one (the cached next hop: the device's MTU), on tc and
 * on XDP (which leaves it to tc). Without DF the stack gets it translated, to fragment it. */
static void check_frag_needed(struct pkt *in, struct pkt *out, uint16_t mtu)
{
	struct iphdr *ip = pkt_ip(out);
	struct icmphdr *ic = (struct icmphdr *)(ip + 1);

	assert_int_equal(out->len, 14 + 20 + 8 + 28);
	assert_int_equal(ip->saddr, pkt_ip(in)->daddr);
	assert_int_equal(ip->daddr, pkt_ip(in)->saddr);
	assert_int_equal(ic->type, ICMP_DEST_UNREACH);
	assert_int_equal(ic->code, ICMP_FRAG_NEEDED);
	assert_int_equal(ntohs(ic->un.frag.mtu), mtu);
	assert_memory_equal(icmp_checked(out), pkt_ip(in), 28);
	assert_memory_equal(out->data, in->data + 6, 6); /* back to the sender */
}

static void test_frag_needed_on_small_mtu(void **state)
{
	struct pkt in, out;
	uint16_t rev;
	uint64_t fwd, xfwd, fn;

	(void)state;
	ct_flush();
	assert_int_equal(
	    fe_program_net(NULL, 30123, DRV_PROTO_TCP, DRV_SVC_F_NODEPORT, 1, "10.244.3.", 8080, 0),
	    0);
	rev = rev_nat_of(NULL, 30123, DRV_PROTO_TCP);
	pkt_build(&in, IPPROTO_TCP, "192.168.50.2", 46300, "192.168.50.1", 30123, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_node, &in, &out, F.ifindex_ext), 7);
	assert_int_equal(pkt_ip(&out)->daddr, ip4("10.244.3.10"));

	/* a later packet, 220 bytes with DF: the cached next hop's device is too small */
	fwd = stat_count(rev, DRV_PATH_TC, DRV_STAT_FWD);
	xfwd = stat_count(rev, DRV_PATH_XDP, DRV_STAT_FWD);
	fn = stat_count(rev, DRV_PATH_TC, DRV_STAT_FRAG_NEEDED);
	pkt_build(&in, IPPROTO_TCP, "192.168.50.2", 46300, "192.168.50.1", 30123, TCP_ACK, 180);
	pkt_ip(&in)->frag_off = htons(0x4000);
	pkt_fill_csums(&in);
	assert_int_equal(run_tc(F.tc_node, &in, &out, F.ifindex_ext), 7);
	check_frag_needed(&in, &out, 160);
	assert_int_equal(run_xdp(F.xdp, &in, &out, F.ifindex_ext), XDP_PASS);
	assert_memory_equal(out.data, in.data, in.len);
	assert_int_equal(stat_count(rev, DRV_PATH_TC, DRV_STAT_FWD), fwd);
	assert_int_equal(stat_count(rev, DRV_PATH_XDP, DRV_STAT_FWD), xfwd);
	assert_int_equal(stat_count(rev, DRV_PATH_TC, DRV_STAT_FRAG_NEEDED), fn + 1);

	/* without DF: translated, for the stack to fragment */
	pkt_ip(&in)->frag_off = 0;
	pkt_fill_csums(&in);
	assert_int_equal(run_tc(F.tc_node, &in, &out, F.ifindex_ext), 0 /* TC_ACT_OK */);
	assert_int_equal(pkt_ip(&out)->daddr, ip4("10.244.3.10"));
	assert_true(pkt_csums_ok(&out));
	assert_int_equal(stat_count(rev, DRV_PATH_TC, DRV_STAT_FWD), fwd + 1);

	/* a new flow's first packet too big: the FIB's answer */
	pkt_build(&in, IPPROTO_TCP, "192.168.50.2", 46301, "192.168.50.1", 30123, TCP_SYN, 180);
	pkt_ip(&in)->frag_off = htons(0x4000);
	pkt_fill_csums(&in);
	assert_int_equal(run_tc(F.tc_node, &in, &out, F.ifindex_ext), 7);
	check_frag_needed(&in, &out, 160);
	assert_int_equal(stat_count(rev, DRV_PATH_TC, DRV_STAT_FRAG_NEEDED), fn + 2);

	/* A backend's reply too big for its client's path (a ClusterIP client behind tsml):
	 * the backend hears it from the node (192.168.50.1 here), quoting its own packet. */
	assert_int_equal(fe_program(VIP, 8125, DRV_PROTO_TCP, DRV_SVC_F_CLUSTERIP, 1, 8080, 0), 0);
	pkt_build(&in, IPPROTO_TCP, "10.244.3.11", 46302, VIP, 8125, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_sml), 7);
	pkt_build(&in, IPPROTO_TCP, "10.244.1.10", 8080, "10.244.3.11", 46302, TCP_ACK, 180);
	pkt_ip(&in)->frag_off = htons(0x4000);
	pkt_fill_csums(&in);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&out)->saddr, ip4("192.168.50.1"));
	assert_int_equal(pkt_ip(&out)->daddr, ip4("10.244.1.10"));
	assert_int_equal(((struct icmphdr *)(pkt_ip(&out) + 1))->code, ICMP_FRAG_NEEDED);
	assert_int_equal(ntohs(((struct icmphdr *)(pkt_ip(&out) + 1))->un.frag.mtu), 160);
	assert_memory_equal(icmp_checked(&out), pkt_ip(&in), 28);
}

/* A route whose MTU is smaller than its device's (200 on tpod's 1500): a new flow's first
 * packet too big for the route is answered from the route's MTU also when the backend's next
 * hop is remembered from an earlier new flow (drv_nh1 keeps the smaller of the two MTUs, and
 * a first packet over it is resolved by the FIB). */
static void test_frag_needed_route_mtu_new_flows(void **state)
{
	struct pkt in, out;

	(void)state;
	ct_flush();
	assert_int_equal(fe_program(VIP, 8126, DRV_PROTO_TCP, DRV_SVC_F_CLUSTERIP, 1, 8080, 0), 0);
	assert_int_equal(sh("ip route add 10.244.1.10/32 dev tpod mtu lock 200"), 0);
	epoch_bump(); /* the proxy's, on the route change */
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 46400, VIP, 8126, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&out)->daddr, ip4("10.244.1.10"));

	/* the next new flow's first packet: 220 bytes with DF */
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 46401, VIP, 8126, TCP_SYN, 180);
	pkt_ip(&in)->frag_off = htons(0x4000);
	pkt_fill_csums(&in);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	check_frag_needed(&in, &out, 200);

	/* within the route's MTU: sent on as remembered */
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 46402, VIP, 8126, TCP_SYN, 120);
	pkt_ip(&in)->frag_off = htons(0x4000);
	pkt_fill_csums(&in);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&out)->daddr, ip4("10.244.1.10"));
	assert_true(pkt_csums_ok(&out));
	assert_int_equal(sh("ip route del 10.244.1.10/32 dev tpod"), 0);
	epoch_bump();
}

/* A fragmented UDP reply: every fragment leaves with the service address (the first
 * translated by its ports, the later ones by the first's IP id), and the datagram they
 * reassemble to has a valid checksum. For a ClusterIP client pod and for a masqueraded
 * NodePort client, whose own fragmented datagram reaches the backend the same way. A later
 * fragment nobody announced passes untouched. */
static void frag_split(struct pkt *full, struct pkt *f1, struct pkt *f2, uint16_t id)
{
	size_t first = 32; /* L4 bytes in the first fragment (a multiple of 8) */
	size_t l4len = pkt_l4_len(full);
	struct iphdr *ip;

	*f1 = *full;
	ip = pkt_ip(f1);
	ip->id = htons(id);
	ip->frag_off = htons(0x2000);
	ip->tot_len = htons((uint16_t)(20 + first));
	ip->check = 0;
	ip->check = htons(csum_fold32(csum_add_buf(0, ip, 20)));
	f1->len = (uint32_t)(14 + 20 + first);

	*f2 = *f1;
	ip = pkt_ip(f2);
	ip->frag_off = htons((uint16_t)(first / 8));
	ip->tot_len = htons((uint16_t)(20 + l4len - first));
	ip->check = 0;
	ip->check = htons(csum_fold32(csum_add_buf(0, ip, 20)));
	memcpy(pkt_l4(f2), (uint8_t *)pkt_l4(full) + first, l4len - first);
	f2->len = (uint32_t)(14 + 20 + l4len - first);
}

/* Through tc program prog on device ifindex; mac5: the last byte of the receiver's MAC, where
 * both fragments must go */
static void check_frag_xlate(int prog, int ifindex, struct pkt *full, uint16_t id, uint8_t mac5,
			     uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct pkt f1, f2, o1, o2, re;
	struct udphdr *uh;

	frag_split(full, &f1, &f2, id);
	assert_int_equal(run_tc(prog, &f1, &o1, ifindex), 7);
	assert_int_equal(run_tc(prog, &f2, &o2, ifindex), 7);
	for (int i = 0; i < 2; i++) {
		struct iphdr *ip = pkt_ip(i ? &o2 : &o1);

		assert_int_equal(ip->saddr, src);
		assert_int_equal(ip->daddr, dst);
		assert_int_equal(ip->id, htons(id));
		assert_int_equal(ip_csum_verify(ip), 0);
		assert_int_equal((i ? &o2 : &o1)->data[5], mac5);
	}
	assert_memory_equal(pkt_l4(&o2), pkt_l4(&f2), pkt_l4_len(&f2));
	/* reassembled */
	re = *full;
	pkt_ip(&re)->saddr = src;
	pkt_ip(&re)->daddr = dst;
	memcpy(pkt_l4(&re), pkt_l4(&o1), 32);
	memcpy((uint8_t *)pkt_l4(&re) + 32, pkt_l4(&o2), pkt_l4_len(&o2));
	uh = pkt_l4(&re);
	assert_int_equal(ntohs(uh->source), sport);
	assert_int_equal(ntohs(uh->dest), dport);
	assert_int_equal(l4_csum_verify(pkt_ip(&re), uh, pkt_l4_len(&re)), 0);
}

static void test_tc_fragmented_udp_reply(void **state)
{
	struct pkt in, out, full, f1, f2, o;
	uint32_t be;
	uint16_t snat;

	(void)state;
	ct_flush();
	assert_int_equal(fe_program(VIP, 54, DRV_PROTO_UDP, DRV_SVC_F_CLUSTERIP, 2, 5353, 0), 0);
	pkt_build(&in, IPPROTO_UDP, "10.244.1.5", 5200, VIP, 54, 0, 10);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	be = pkt_ip(&out)->daddr;
	pkt_build(&full, IPPROTO_UDP, "10.244.1.10", 5353, "10.244.1.5", 5200, 0, 64);
	pkt_ip(&full)->saddr = be;
	pkt_fill_csums(&full);
	check_frag_xlate(F.tc_pod, F.ifindex_pod, &full, 0x4321, 0x05, ip4(VIP), 54,
			 ip4("10.244.1.5"), 5200);

	/* NodePort, masqueraded */
	assert_int_equal(fe_program(NULL, 30124, DRV_PROTO_UDP, DRV_SVC_F_NODEPORT, 2, 5353, 0), 0);
	pkt_build(&in, IPPROTO_UDP, "192.168.50.2", 46400, "192.168.50.1", 30124, 0, 10);
	assert_int_equal(run_xdp(F.xdp, &in, &out, F.ifindex_ext), XDP_REDIRECT);
	be = pkt_ip(&out)->daddr;
	snat = ntohs(((struct udphdr *)pkt_l4(&out))->source);
	pkt_build(&full, IPPROTO_UDP, "10.244.1.10", 5353, "192.168.50.1", snat, 0, 64);
	pkt_ip(&full)->saddr = be;
	pkt_fill_csums(&full);
	check_frag_xlate(F.tc_pod, F.ifindex_pod, &full, 0x4322, 0x02, ip4("192.168.50.1"), 30124,
			 ip4("192.168.50.2"), 46400);

	/* and the client's fragmented datagram on the same flow reaches the backend (XDP
	 * leaves fragments to tc) */
	pkt_build(&full, IPPROTO_UDP, "192.168.50.2", 46400, "192.168.50.1", 30124, 0, 64);
	frag_split(&full, &f1, &f2, 0x4324);
	assert_int_equal(run_xdp(F.xdp, &f1, &o, F.ifindex_ext), XDP_PASS);
	check_frag_xlate(F.tc_node, F.ifindex_ext, &full, 0x4324, 0x10 + backend_index(be),
			 ip4("192.168.50.1"), snat, be, 5353);

	/* a later fragment of a datagram whose first fragment was never seen */
	frag_split(&full, &f1, &f2, 0x4323);
	assert_int_equal(run_tc(F.tc_pod, &f2, &o, F.ifindex_pod), 0);
	assert_memory_equal(o.data, f2.data, f2.len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_icmp_frag_needed_from_backend),
	    cmocka_unit_test(test_icmp_port_unreach_udp),
	    cmocka_unit_test(test_frag_needed_on_small_mtu),
	    cmocka_unit_test(test_frag_needed_route_mtu_new_flows),
	    cmocka_unit_test(test_tc_fragmented_udp_reply),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
