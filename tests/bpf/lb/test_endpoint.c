/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BPF_PROG_TEST_RUN fixtures for local delivery through drv_ep1: a packet for a pod of this
 * node registered there leaves drv_tc_pod/drv_tc_node by bpf_redirect_peer() (TC_ACT_REDIRECT,
 * the pod's MACs, TTL - 1, counted as redirect-peer); anything else goes on as before.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drover_abi.h"
#include "fixture.h"
#include "stats.h"

#define VIP	      "10.96.0.20"
#define TC_ACT_OK_    0
#define TC_ACT_REDIR_ 7
#define POD_MAC	      "\x02\xee\x00\x00\x00\x11"
#define HOST_MAC      "\x02\xee\x00\x00\x00\x01"
#define ICMP_PROTO    1

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

/* Register addr as a local pod behind the host-side device ifindex, as drover-cni does: the
 * entry, then a new L2 epoch (remembered next hops, of flows and of backends' new flows, are
 * looked up again). */
static void ep_add(const char *addr, int ifindex, uint32_t flags)
{
	struct drv_endpoint ep = {.ifindex = (uint32_t)ifindex, .flags = flags};
	uint32_t key = ip4(addr);

	memcpy(ep.mac, POD_MAC, 6);
	memcpy(ep.host_mac, HOST_MAC, 6);
	assert_int_equal(bpf_map_update_elem(dp_map_fd(F.dp, DP_MAP_ENDPOINT), &key, &ep, BPF_ANY),
			 0);
	epoch_bump();
}

/* The entry gone, its DEL not done yet (no new epoch). */
static void ep_del_raw(const char *addr)
{
	uint32_t key = ip4(addr);

	bpf_map_delete_elem(dp_map_fd(F.dp, DP_MAP_ENDPOINT), &key);
}

/* ... and its DEL done. */
static void ep_del(const char *addr)
{
	ep_del_raw(addr);
	epoch_bump();
}

static void expect_peer(struct pkt *out, uint8_t ttl)
{
	assert_memory_equal(out->data, POD_MAC, 6);
	assert_memory_equal(out->data + 6, HOST_MAC, 6);
	assert_int_equal(pkt_ip(out)->ttl, ttl);
	assert_int_equal(ip_csum_verify(pkt_ip(out)), 0);
}

/* Pod to pod, no service: redirected to the registered pod; unknown pods pass untouched. */
static void test_ep_pod_to_pod(void **state)
{
	struct pkt in, out;
	uint64_t r0 = stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER);

	(void)state;
	ct_flush();
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40000, "10.244.1.11", 8080, TCP_SYN, 10);
	/* not registered: passes as before, not rewritten, not counted */
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_OK_);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.data, in.data, in.len);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0);

	ep_add("10.244.1.11", F.ifindex_ext, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	assert_true(pkt_csums_ok(&out));
	assert_int_equal(pkt_ip(&out)->daddr, ip4("10.244.1.11"));
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);

	/* another pod's address is still not ours */
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40000, "10.244.1.12", 8080, TCP_SYN, 10);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_OK_);
	assert_memory_equal(out.data, in.data, in.len);

	/* removed: back to the stack */
	ep_del("10.244.1.11");
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40000, "10.244.1.11", 8080, TCP_SYN, 10);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_OK_);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);
}

/* ICMP (ping) is redirected too: the decision is by destination address alone. */
static void test_ep_icmp(void **state)
{
	struct pkt in, out;
	struct iphdr *ip;

	(void)state;
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 0, "10.244.1.11", 0, 0, 8);
	ip = pkt_ip(&in);
	ip->protocol = ICMP_PROTO;
	ip->check = 0;
	ip->check = htons(csum_fold32(csum_add_buf(0, ip, sizeof(*ip))));
	ep_add("10.244.1.11", F.ifindex_ext, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	ep_del("10.244.1.11");
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_OK_);
}

/* A ClusterIP whose backend is a local pod: DNAT, then bpf_redirect_peer with the pod's MACs
 * instead of the FIB's neighbour; counted both as forwarded and as redirect-peer. */
static void test_ep_service_backend(void **state)
{
	struct pkt in, out;
	uint64_t r0 = stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER),
		 f0 = stat_count(0, DRV_PATH_TC, DRV_STAT_FWD);

	(void)state;
	ct_flush();
	assert_int_equal(fe_program(VIP, 80, DRV_PROTO_TCP, DRV_SVC_F_CLUSTERIP, 1, 8080, 0), 0);
	ep_add("10.244.1.10", F.ifindex_ext, 0);
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	assert_true(pkt_csums_ok(&out));
	assert_int_equal(pkt_ip(&out)->daddr, ip4("10.244.1.10"));
	assert_int_equal(ntohs(((struct tcphdr *)pkt_l4(&out))->dest), 8080);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_FWD), f0 + 1);

	/* unregistered, the same service goes by the FIB's neighbour (02:00:00:00:01:10) */
	ep_del("10.244.1.10");
	ct_flush();
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	assert_int_equal(out.data[5], 0x10);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);
}

/* A flow's local-pod next hop is cached in its conntrack entry (no drv_ep1 lookup per
 * packet) until the L2 epoch changes: drover-cni bumps it on every ADD and DEL, so a pod
 * gone from drv_ep1 is no longer redirected to once its DEL is done. */
static void test_ep_cached_until_epoch(void **state)
{
	struct pkt in, out;
	struct drv_ct_key k = {.saddr = ip4("10.244.1.5"),
			       .daddr = ip4(VIP),
			       .sport = htons(40200),
			       .dport = htons(81),
			       .proto = DRV_PROTO_TCP};
	struct drv_ct_val v;
	uint64_t r0;

	(void)state;
	ct_flush();
	assert_int_equal(fe_program(VIP, 81, DRV_PROTO_TCP, DRV_SVC_F_CLUSTERIP, 1, 8080, 0), 0);
	ep_add("10.244.1.10", F.ifindex_ext, 0);
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40200, VIP, 81, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_CT), &k, &v), 0);
	assert_true(v.flags & DRV_CT_F_L2);
	assert_int_equal(v.l2_flags, DRV_CT_L2_PEER);
	assert_int_equal(v.ifindex, F.ifindex_ext);

	/* the cached answer, without drv_ep1 */
	ep_del_raw("10.244.1.10");
	r0 = stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER);
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40200, VIP, 81, TCP_ACK, 10);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);

	/* a new epoch: the FIB's neighbour (02:00:00:00:01:10), cached as such */
	epoch_bump();
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	assert_int_equal(out.data[5], 0x10);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_CT), &k, &v), 0);
	assert_int_equal(v.l2_flags, 0);
	assert_int_not_equal(v.mtu, 0);
}

/* A new flow to a backend takes the next hop its earlier new flows found (drv_nh1), without
 * the endpoint map or the FIB, for as long as the L2 epoch lasts: a pod's DEL (its new epoch)
 * sends the backend's next new flow by the FIB. */
static void test_ep_backend_hop_until_epoch(void **state)
{
	struct drv_nh_key nk = {.daddr = ip4("10.244.1.10"), .iif = (uint32_t)F.ifindex_pod};
	struct drv_nh_val nv;
	struct pkt in, out;
	uint64_t r0;

	(void)state;
	ct_flush();
	assert_int_equal(fe_program(VIP, 82, DRV_PROTO_TCP, DRV_SVC_F_CLUSTERIP, 1, 8080, 0), 0);
	ep_add("10.244.1.10", F.ifindex_ext, 0);
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40300, VIP, 82, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_NEXTHOP), &nk, &nv), 0);
	assert_int_equal(nv.l2_flags, DRV_CT_L2_PEER);
	assert_int_equal(nv.ifindex, F.ifindex_ext);

	/* gone from drv_ep1 but its DEL not done (same epoch): still the pod, from drv_nh1 */
	ep_del_raw("10.244.1.10");
	r0 = stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER);
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40301, VIP, 82, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);

	/* the DEL's new epoch: the next new flow goes by the FIB's neighbour, and that is
	 * what the backend's flows take from now on */
	epoch_bump();
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40302, VIP, 82, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	assert_int_equal(out.data[5], 0x10);
	assert_int_equal(pkt_ip(&out)->ttl, 63);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_NEXTHOP), &nk, &nv), 0);
	assert_int_equal(nv.l2_flags, 0);
	assert_int_equal(nv.ifindex, F.ifindex_pod);
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40303, VIP, 82, TCP_SYN, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_REDIR_);
	assert_int_equal(out.data[5], 0x10);
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0 + 1);
}

/* From a node device as well (traffic entering the node for a local pod). */
static void test_ep_from_node(void **state)
{
	struct pkt in, out;

	(void)state;
	ep_add("10.244.1.11", F.ifindex_pod, 0);
	pkt_build(&in, IPPROTO_UDP, "192.168.50.2", 5353, "10.244.1.11", 53, 0, 4);
	assert_int_equal(run_tc(F.tc_node, &in, &out, F.ifindex_ext), TC_ACT_REDIR_);
	expect_peer(&out, 63);
	assert_true(pkt_csums_ok(&out));
	ep_del("10.244.1.11");
}

/* Cases that stay with the stack: the sender itself (hairpin), an entry asking for the host
 * stack, a TTL about to expire (the stack answers with ICMP time exceeded). */
static void test_ep_not_redirected(void **state)
{
	struct pkt in, out;
	uint64_t r0 = stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER);

	(void)state;
	pkt_build(&in, IPPROTO_TCP, "10.244.1.5", 40000, "10.244.1.11", 8080, TCP_SYN, 0);
	ep_add("10.244.1.11", F.ifindex_pod, 0);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_OK_);
	ep_add("10.244.1.11", F.ifindex_ext, DRV_EP_F_NO_REDIRECT);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_OK_);
	ep_add("10.244.1.11", F.ifindex_ext, 0);
	pkt_ip(&in)->ttl = 1;
	pkt_fill_csums(&in);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), TC_ACT_OK_);
	assert_memory_equal(out.data, in.data, in.len);
	ep_del("10.244.1.11");
	assert_int_equal(stat_count(0, DRV_PATH_TC, DRV_STAT_REDIRECT_PEER), r0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ep_pod_to_pod),
	    cmocka_unit_test(test_ep_icmp),
	    cmocka_unit_test(test_ep_service_backend),
	    cmocka_unit_test(test_ep_from_node),
	    cmocka_unit_test(test_ep_not_redirected),
	    cmocka_unit_test(test_ep_cached_until_epoch),
	    cmocka_unit_test(test_ep_backend_hop_until_epoch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
