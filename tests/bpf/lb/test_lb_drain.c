/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection draining on the tc and XDP paths (issue 11, defect 1), with BPF_PROG_TEST_RUN
 * and the real model: a Service and its EndpointSlice go through model_commit into the
 * maps, then an endpoint becomes terminating (still serving) or leaves the slice while a
 * flow to it is open. Established TCP keeps its backend and translation until it ends, as
 * kube-proxy's conntrack keeps it; new connections (and session affinity) go to the
 * endpoints that remain; a UDP flow stays with a terminating endpoint (it still serves) and
 * moves to a live one once its endpoint is gone, as kube-proxy's conntrack cleanup does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drover_abi.h"
#include "failalloc.h"
#include "fixture.h"
#include "model_int.h"

#define VIP	 "10.96.0.30"
#define VIP_AFF	 "10.96.0.31"
#define NODE	 "192.168.50.1"
#define NODEPORT 30200
#define NBE	 3 /* endpoints 10.244.1.10-12 */

enum ep_state { EP_READY, EP_TERMINATING, EP_GONE };

static struct proxy_model *M;

static int setup(void **state)
{
	struct model_opts o = {.node_name = "n1"};

	(void)state;
	if (fixture_setup(NULL))
		return -1;
	M = model_new(&o, F.lb);
	if (!M)
		return -1;
	model_set_drain_fd(M, dp_map_fd(F.dp, DP_MAP_DRAIN));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	model_free(M);
	M = NULL;
	fixture_cleanup();
	return 0;
}

static uint32_t be_addr(int i)
{
	return htonl(ntohl(ip4("10.244.1.10")) + (uint32_t)i);
}

static int be_index(uint32_t addr)
{
	int i = (int)(ntohl(addr) - ntohl(be_addr(0)));

	return i >= 0 && i < NBE ? i : -1;
}

/* Service drain/<name>: clusterIP vip, port http 80/TCP (NodePort 30200 unless affinity)
 * and dns 53/UDP; affinity: sessionAffinity ClientIP. */
static void set_service(const char *name, const char *vip, bool affinity)
{
	struct k8s_service *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	snprintf(s->ns, sizeof(s->ns), "drain");
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->cluster_ips[0] = ip4(vip);
	s->ncluster_ips = 1;
	s->node_ports = !affinity;
	s->affinity = affinity;
	s->affinity_timeout = 10800;
	s->ports = calloc(2, sizeof(*s->ports));
	assert_non_null(s->ports);
	s->nports = 2;
	snprintf(s->ports[0].name, sizeof(s->ports[0].name), "http");
	s->ports[0].proto = DRV_PROTO_TCP;
	s->ports[0].port = 80;
	s->ports[0].node_port = affinity ? 0 : NODEPORT;
	snprintf(s->ports[1].name, sizeof(s->ports[1].name), "dns");
	s->ports[1].proto = DRV_PROTO_UDP;
	s->ports[1].port = 53;
	assert_int_equal(model_set_service(M, s), 0);
}

/* The service's EndpointSlice with endpoint i in state st[i] (http 8080, dns 5353), and the
 * change committed to the maps. */
static void set_endpoints(const char *service, const enum ep_state st[NBE])
{
	struct k8s_slice *sl = calloc(1, sizeof(*sl));

	assert_non_null(sl);
	snprintf(sl->ns, sizeof(sl->ns), "drain");
	snprintf(sl->name, sizeof(sl->name), "%s-abc", service);
	snprintf(sl->service, sizeof(sl->service), "%s", service);
	sl->ipv4 = true;
	sl->ports = calloc(2, sizeof(*sl->ports));
	sl->eps = calloc(NBE, sizeof(*sl->eps));
	assert_true(sl->ports && sl->eps);
	sl->nports = 2;
	snprintf(sl->ports[0].name, sizeof(sl->ports[0].name), "http");
	sl->ports[0].proto = DRV_PROTO_TCP;
	sl->ports[0].port = 8080;
	snprintf(sl->ports[1].name, sizeof(sl->ports[1].name), "dns");
	sl->ports[1].proto = DRV_PROTO_UDP;
	sl->ports[1].port = 5353;
	for (int i = 0; i < NBE; i++) {
		struct slice_endpoint *ep = &sl->eps[sl->neps];

		if (st[i] == EP_GONE)
			continue;
		ep->addr = be_addr(i);
		ep->ready = st[i] == EP_READY;
		ep->serving = true;
		ep->terminating = st[i] == EP_TERMINATING;
		snprintf(ep->node, sizeof(ep->node), "n1");
		sl->neps++;
	}
	assert_int_equal(model_set_slice(M, sl), 0);
	assert_int_equal(model_commit(M, false, NULL), 0);
}

/* All ready but endpoint i, which is in state s. */
static void set_one(const char *service, int i, enum ep_state s)
{
	enum ep_state st[NBE] = {EP_READY, EP_READY, EP_READY};

	st[i] = s;
	set_endpoints(service, st);
}

/* Whether drv_be4 still has a backend addr:port (so that the test knows the datapath can no
 * longer find the endpoint by its id). */
static bool be_in_map(uint32_t addr, uint16_t port)
{
	int fd = dp_map_fd(F.dp, DP_MAP_BACKEND);
	struct drv_backend be;
	__u32 k, next;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &k, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &be) == 0 && be.addr == addr &&
		    be.port == htons(port))
			return true;
		k = next;
		first = false;
	}
	return false;
}

static uint16_t dport_of(struct pkt *p)
{
	return ntohs(((struct tcphdr *)pkt_l4(p))->dest); /* UDP's dest is at the same place */
}

static uint16_t sport_of(struct pkt *p)
{
	return ntohs(((struct tcphdr *)pkt_l4(p))->source);
}

/* The backend be (its port bport) answers dst:dport from bport; the reply must leave from
 * want_src:want_sport towards want_dst:want_dport. */
static void check_reply(uint32_t be, uint8_t proto, uint16_t bport, const char *dst, uint16_t dport,
			const char *want_src, uint16_t want_sport, const char *want_dst,
			uint16_t want_dport)
{
	struct pkt reply, out;

	pkt_build(&reply, proto, "10.244.1.10", bport, dst, dport,
		  proto == IPPROTO_TCP ? TCP_ACK : 0, 10);
	pkt_ip(&reply)->saddr = be;
	pkt_fill_csums(&reply);
	assert_int_equal(run_tc(F.tc_pod, &reply, &out, F.ifindex_pod), 7 /* TC_ACT_REDIRECT */);
	assert_int_equal(pkt_ip(&out)->saddr, ip4(want_src));
	assert_int_equal(sport_of(&out), want_sport);
	assert_int_equal(pkt_ip(&out)->daddr, ip4(want_dst));
	assert_int_equal(dport_of(&out), want_dport);
	assert_true(pkt_csums_ok(&out));
}

/* A packet from a pod through drv_tc_pod; returns where it was sent. */
static uint32_t tc_send(uint8_t proto, const char *src, uint16_t sport, const char *vip,
			uint16_t vport, uint8_t flags, uint16_t want_bport)
{
	struct pkt in, out;

	pkt_build(&in, proto, src, sport, vip, vport, flags, 20);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&out)->protocol, proto);
	assert_int_equal(pkt_ip(&out)->saddr, ip4(src));
	assert_int_equal(sport_of(&out), sport);
	assert_int_equal(dport_of(&out), want_bport);
	assert_true(pkt_csums_ok(&out));
	assert_true(be_index(pkt_ip(&out)->daddr) >= 0);
	return pkt_ip(&out)->daddr;
}

/* New connections from another client all avoid backend gone. */
static void new_flows_avoid(uint32_t gone, uint16_t port0)
{
	for (uint16_t i = 0; i < 32; i++)
		assert_int_not_equal(
		    tc_send(IPPROTO_TCP, "10.244.1.6", port0 + i, VIP, 80, TCP_SYN, 8080), gone);
}

/* ClusterIP through drv_tc_pod: an open connection stays with its endpoint while the
 * endpoint is terminating and after it left the slice; it ends with FIN, and the same
 * source port's next SYN is a new connection to a remaining endpoint. */
static void test_tc_tcp_drains(void **state)
{
	static const enum ep_state steps[] = {EP_TERMINATING, EP_GONE};
	uint32_t b;
	int bi;

	(void)state;
	ct_flush();
	set_service("web", VIP, false);
	set_endpoints("web", (enum ep_state[NBE]){EP_READY, EP_READY, EP_READY});
	b = tc_send(IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_SYN, 8080);
	bi = be_index(b);
	check_reply(b, IPPROTO_TCP, 8080, "10.244.1.5", 40100, VIP, 80, "10.244.1.5", 40100);

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		set_one("web", bi, steps[s]);
		/* The datapath cannot find the endpoint any more: nothing but the flow's own
		 * entry knows where it goes. */
		assert_false(be_in_map(b, 8080));
		for (int k = 0; k < 4; k++)
			assert_int_equal(
			    tc_send(IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_ACK, 8080), b);
		check_reply(b, IPPROTO_TCP, 8080, "10.244.1.5", 40100, VIP, 80, "10.244.1.5",
			    40100);
		new_flows_avoid(b, (uint16_t)(41000 + 100 * s));
	}
	/* A SYN of the flow (no ACK: its port reused without the end seen) goes to an endpoint
	 * that serves; the flow goes on with it. */
	assert_int_not_equal(tc_send(IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_SYN, 8080), b);
	b = tc_send(IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_ACK, 8080);
	bi = be_index(b);
	set_one("web", bi, EP_TERMINATING);
	/* ... while a terminating (serving) endpoint keeps even a SYN of its flow */
	assert_int_equal(tc_send(IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_SYN, 8080), b);
	/* The client closes: its FIN still reaches the endpoint, a new SYN does not. */
	assert_int_equal(
	    tc_send(IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_FIN | TCP_ACK, 8080), b);
	assert_int_not_equal(tc_send(IPPROTO_TCP, "10.244.1.5", 40100, VIP, 80, TCP_SYN, 8080), b);
}

/* One packet of the external client's connection through prog (XDP or the tc fallback on
 * the node device): DNATed to the backend, SNATed to the node. */
static void np_send(bool xdp, uint16_t sport, uint8_t flags, uint32_t *be, uint16_t *snat)
{
	struct pkt in, out;

	pkt_build(&in, IPPROTO_TCP, "192.168.50.2", sport, NODE, NODEPORT, flags, 20);
	if (xdp)
		assert_int_equal(run_xdp(F.xdp, &in, &out, F.ifindex_ext), XDP_REDIRECT);
	else
		assert_int_equal(run_tc(F.tc_node, &in, &out, F.ifindex_ext), 7);
	assert_true(be_index(pkt_ip(&out)->daddr) >= 0);
	assert_int_equal(dport_of(&out), 8080);
	assert_int_equal(pkt_ip(&out)->saddr, ip4(NODE));
	assert_in_range(sport_of(&out), FIXTURE_SNAT_MIN, FIXTURE_SNAT_MAX);
	assert_true(pkt_csums_ok(&out));
	*be = pkt_ip(&out)->daddr;
	*snat = sport_of(&out);
}

/* NodePort through XDP (and drv_tc_node, its fallback): the masqueraded connection keeps
 * its endpoint and its source port while the endpoint is terminating and after it left;
 * the endpoint's replies still go back to the client from the NodePort. */
static void test_xdp_nodeport_tcp_drains(void **state)
{
	static const enum ep_state steps[] = {EP_TERMINATING, EP_GONE};
	uint32_t b, now_be;
	uint16_t snat, now_snat;

	(void)state;
	ct_flush();
	set_service("web", VIP, false);
	set_endpoints("web", (enum ep_state[NBE]){EP_READY, EP_READY, EP_READY});
	np_send(true, 45100, TCP_SYN, &b, &snat);
	check_reply(b, IPPROTO_TCP, 8080, NODE, snat, NODE, NODEPORT, "192.168.50.2", 45100);

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		set_one("web", be_index(b), steps[s]);
		assert_false(be_in_map(b, 8080));
		for (int k = 0; k < 4; k++) {
			np_send(k & 1, 45100, TCP_ACK, &now_be, &now_snat);
			assert_int_equal(now_be, b);
			assert_int_equal(now_snat, snat);
		}
		check_reply(b, IPPROTO_TCP, 8080, NODE, snat, NODE, NODEPORT, "192.168.50.2",
			    45100);
		for (uint16_t i = 0; i < 32; i++) {
			np_send(true, (uint16_t)(46000 + 100 * s + i), TCP_SYN, &now_be, &now_snat);
			assert_int_not_equal(now_be, b);
		}
	}
}

static __u32 ct_backend_id(const char *src, uint16_t sport, const char *vip, uint16_t vport)
{
	struct drv_ct_key k = {.saddr = ip4(src),
			       .daddr = ip4(vip),
			       .sport = htons(sport),
			       .dport = htons(vport),
			       .proto = DRV_PROTO_UDP};
	struct drv_ct_val v;

	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_CT), &k, &v), 0);
	return v.backend_id;
}

/* UDP: a flow whose endpoint left moves to a live one and stays there (replies from the new
 * one come from the service); so does a flow whose backend id now names another address
 * (ids are reused); with no endpoint left at all, kube-proxy's cleanup leaves the flow
 * alone and so does drover, while new flows are refused. */
static void test_udp_flow_moves_off_removed(void **state)
{
	enum ep_state st[NBE] = {EP_READY, EP_READY, EP_READY};
	struct drv_backend other = {
	    .addr = ip4("10.244.1.13"), .port = htons(5353), .proto = DRV_PROTO_UDP};
	uint32_t b, c, d;
	struct pkt in, out;
	__u32 id;
	int fd = dp_map_fd(F.dp, DP_MAP_BACKEND);

	(void)state;
	ct_flush();
	set_service("web", VIP, false);
	set_endpoints("web", st);
	b = tc_send(IPPROTO_UDP, "10.244.1.5", 5300, VIP, 53, 0, 5353);

	/* b leaves: the next datagram goes to a live endpoint, and the flow stays there */
	st[be_index(b)] = EP_GONE;
	set_endpoints("web", st);
	c = tc_send(IPPROTO_UDP, "10.244.1.5", 5300, VIP, 53, 0, 5353);
	assert_int_not_equal(c, b);
	for (int k = 0; k < 4; k++)
		assert_int_equal(tc_send(IPPROTO_UDP, "10.244.1.5", 5300, VIP, 53, 0, 5353), c);
	check_reply(c, IPPROTO_UDP, 5353, "10.244.1.5", 5300, VIP, 53, "10.244.1.5", 5300);

	/* c leaves and its id is taken by another address at once (written by hand here: a
	 * backend of another service): the flow goes to d, the one endpoint left */
	id = ct_backend_id("10.244.1.5", 5300, VIP, 53);
	st[be_index(c)] = EP_GONE;
	set_endpoints("web", st);
	assert_int_equal(bpf_map_update_elem(fd, &id, &other, BPF_NOEXIST), 0);
	d = tc_send(IPPROTO_UDP, "10.244.1.5", 5300, VIP, 53, 0, 5353);
	assert_int_equal(bpf_map_delete_elem(fd, &id), 0);
	assert_int_not_equal(d, b);
	assert_int_not_equal(d, c);

	/* d leaves too: the flow keeps d, a new flow is refused with ICMP */
	st[be_index(d)] = EP_GONE;
	set_endpoints("web", st);
	assert_int_equal(tc_send(IPPROTO_UDP, "10.244.1.5", 5300, VIP, 53, 0, 5353), d);
	pkt_build(&in, IPPROTO_UDP, "10.244.1.5", 5301, VIP, 53, 0, 20);
	assert_int_equal(run_tc(F.tc_pod, &in, &out, F.ifindex_pod), 7);
	assert_int_equal(pkt_ip(&out)->protocol, IPPROTO_ICMP);
}

static size_t drain_entries(void)
{
	int fd = dp_map_fd(F.dp, DP_MAP_DRAIN);
	struct drv_drain_key k;
	size_t n = 0;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &k, &k) == 0) {
		first = false;
		n++;
	}
	return n;
}

/* UDP and a terminating endpoint: kube-proxy keeps the flows to serving endpoints, so the
 * flow stays while its endpoint is terminating (though it has no slot and no drv_be4 entry
 * any more), new flows go to ready ones, and the flow moves once the endpoint is gone.
 * drv_drain1 holds exactly the terminating endpoint meanwhile; a full resync sweeps an
 * entry nothing lists (one left pinned by an earlier run). */
static void test_udp_flow_stays_on_terminating(void **state)
{
	struct drv_drain_key stale = {.addr = ip4("10.244.1.99"), .port = htons(53), .proto = 17};
	uint8_t one = 1;
	uint32_t b, c;
	int bi;

	(void)state;
	ct_flush();
	set_service("web", VIP, false);
	set_endpoints("web", (enum ep_state[NBE]){EP_READY, EP_READY, EP_READY});
	b = tc_send(IPPROTO_UDP, "10.244.1.5", 5400, VIP, 53, 0, 5353);
	bi = be_index(b);

	set_one("web", bi, EP_TERMINATING);
	assert_false(be_in_map(b, 5353));
	assert_int_equal(drain_entries(), 2); /* b's http and dns ports */
	for (int k = 0; k < 4; k++)
		assert_int_equal(tc_send(IPPROTO_UDP, "10.244.1.5", 5400, VIP, 53, 0, 5353), b);
	check_reply(b, IPPROTO_UDP, 5353, "10.244.1.5", 5400, VIP, 53, "10.244.1.5", 5400);
	for (uint16_t i = 0; i < 32; i++)
		assert_int_not_equal(
		    tc_send(IPPROTO_UDP, "10.244.1.6", (uint16_t)(5500 + i), VIP, 53, 0, 5353), b);

	set_one("web", bi, EP_GONE);
	assert_int_equal(drain_entries(), 0);
	c = tc_send(IPPROTO_UDP, "10.244.1.5", 5400, VIP, 53, 0, 5353);
	assert_int_not_equal(c, b);

	assert_int_equal(bpf_map_update_elem(dp_map_fd(F.dp, DP_MAP_DRAIN), &stale, &one, BPF_ANY),
			 0);
	set_one("web", bi, EP_TERMINATING);
	assert_int_equal(model_commit(M, true, NULL), 0);
	assert_int_equal(drain_entries(), 2);
	assert_int_not_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_DRAIN), &stale, &one), 0);
	set_one("web", bi, EP_GONE);
	assert_int_equal(drain_entries(), 0);
}

/* The slice of service web (port dns only), not committed: one ready endpoint and nterm
 * terminating ones, 10.244.2.(base + k). */
static void slice_only(int base, int nterm)
{
	struct k8s_slice *sl = calloc(1, sizeof(*sl));

	assert_non_null(sl);
	snprintf(sl->ns, sizeof(sl->ns), "drain");
	snprintf(sl->name, sizeof(sl->name), "web-abc");
	snprintf(sl->service, sizeof(sl->service), "web");
	sl->ipv4 = true;
	sl->ports = calloc(1, sizeof(*sl->ports));
	sl->eps = calloc((size_t)nterm + 1, sizeof(*sl->eps));
	assert_true(sl->ports && sl->eps);
	sl->nports = 1;
	snprintf(sl->ports[0].name, sizeof(sl->ports[0].name), "dns");
	sl->ports[0].proto = DRV_PROTO_UDP;
	sl->ports[0].port = 5353;
	for (int k = 0; k <= nterm; k++) {
		struct slice_endpoint *ep = &sl->eps[k];

		ep->addr = k ? htonl(ntohl(ip4("10.244.2.0")) + (uint32_t)(base + k)) : be_addr(0);
		ep->ready = k == 0;
		ep->serving = true;
		ep->terminating = k != 0;
		snprintf(ep->node, sizeof(ep->node), "n1");
	}
	sl->neps = (size_t)nterm + 1;
	assert_int_equal(model_set_slice(M, sl), 0);
}

/* Out of memory while the model lists terminating endpoints, at every allocation in turn
 * (the list, the count table growing midway: 16 and then 16 others): -ENOMEM with
 * drv_drain1 and the service's list as they were, the references taken given back; the
 * commit that follows lists them; all ready again, nothing is left, in the map or counted. */
static void test_drain_list_nomem(void **state)
{
	static const int bases[][2] = {{0, 0}, {0, 100}}; /* from (none, then .1-16), to */
	struct svc_entry *se;
	unsigned long n;
	int rc;

	(void)state;
	set_service("web", VIP, false);
	set_endpoints("web", (enum ep_state[NBE]){EP_READY, EP_READY, EP_READY});
	se = hmap_sget(M->svcs, "drain/web");
	assert_non_null(se);
	for (size_t t = 0; t < 2; t++) {
		size_t before = t ? 16 : 0;

		for (n = 1; n < 200; n++) {
			/* a count table of its first size, so that it grows in the attempt */
			slice_only(0, 0);
			assert_int_equal(model_commit(M, false, NULL), 0);
			assert_int_equal(hmap_size(M->drain), 0);
			hmap_free(M->drain);
			M->drain = NULL;
			slice_only(bases[t][0], (int)before);
			assert_int_equal(model_commit(M, false, NULL), 0);
			assert_int_equal(drain_entries(), before);
			slice_only(bases[t][1], 16);
			failalloc_arm(n, FAILALLOC_THIS_THREAD);
			rc = model_drain_update(M, se);
			failalloc_disarm();
			if (!failalloc_fired()) {
				assert_int_equal(rc, 0);
				break;
			}
			assert_int_equal(rc, -ENOMEM);
			assert_int_equal(drain_entries(), before);
			assert_int_equal(se->ndrain, before);
			assert_int_equal(hmap_size(M->drain), before);
			assert_int_equal(model_commit(M, false, NULL), 0);
			assert_int_equal(drain_entries(), 16);
		}
		assert_true(n > 3 && n < 200);
	}
	slice_only(0, 0);
	assert_int_equal(model_commit(M, false, NULL), 0);
	assert_int_equal(drain_entries(), 0);
	assert_int_equal(hmap_size(M->drain), 0);
}

/* sessionAffinity ClientIP: once the client's endpoint is terminating or gone, the
 * client's open connection stays with it but its new connections go elsewhere. */
static void test_affinity_not_pinned_to_removed(void **state)
{
	static const enum ep_state steps[] = {EP_TERMINATING, EP_GONE};

	(void)state;
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		uint32_t b, n;

		ct_flush();
		set_service("sticky", VIP_AFF, true);
		set_endpoints("sticky", (enum ep_state[NBE]){EP_READY, EP_READY, EP_READY});
		b = tc_send(IPPROTO_TCP, "10.244.1.7", 40200, VIP_AFF, 80, TCP_SYN, 8080);
		/* pinned: the client's next connections go to b */
		for (uint16_t i = 1; i < 8; i++)
			assert_int_equal(tc_send(IPPROTO_TCP, "10.244.1.7", 40200 + i, VIP_AFF, 80,
						 TCP_SYN, 8080),
					 b);
		set_one("sticky", be_index(b), steps[s]);
		assert_int_equal(
		    tc_send(IPPROTO_TCP, "10.244.1.7", 40200, VIP_AFF, 80, TCP_ACK, 8080), b);
		n = tc_send(IPPROTO_TCP, "10.244.1.7", 40300, VIP_AFF, 80, TCP_SYN, 8080);
		assert_int_not_equal(n, b);
		/* and the new choice is the client's new pin */
		for (uint16_t i = 1; i < 8; i++)
			assert_int_equal(tc_send(IPPROTO_TCP, "10.244.1.7", 40300 + i, VIP_AFF, 80,
						 TCP_SYN, 8080),
					 n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tc_tcp_drains),
	    cmocka_unit_test(test_xdp_nodeport_tcp_drains),
	    cmocka_unit_test(test_udp_flow_moves_off_removed),
	    cmocka_unit_test(test_udp_flow_stays_on_terminating),
	    cmocka_unit_test(test_drain_list_nomem),
	    cmocka_unit_test(test_affinity_not_pinned_to_removed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
