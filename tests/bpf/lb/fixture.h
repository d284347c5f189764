/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture: a private network namespace with two veth pairs (so that bpf_fib_lookup has
 * routes and static neighbours to answer with), the dataplane loaded against a pin root of
 * its own, and lbmap over its maps. Everything is torn down at exit, also on failure: the
 * namespace dies with the process, the pins are removed by dp_uninstall().
 *
 *   tpod (10.244.1.1/24, node side of the pods)   clients 10.244.1.5-6, backends .10-.19
 *   text (192.168.50.1/24, the node's external device)   external client 192.168.50.2
 *   tsml (10.244.3.1/24, MTU 160: a path smaller than the packets)   backends .10-.12
 */
#ifndef DROVER_TEST_FIXTURE_H
#define DROVER_TEST_FIXTURE_H

#include "dataplane.h"
#include "lbmap.h"
#include "pkt_util.h"
#include "stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The masquerade ports the dataplane is given: not drv_cfg's defaults, so that a program
 * that ignored its configuration shows. */
#define FIXTURE_SNAT_MIN 51000
#define FIXTURE_SNAT_MAX 52999

struct fixture {
	/* Masquerade port range for the next fixture_setup(); 0 = FIXTURE_SNAT_MIN/MAX. */
	uint16_t snat_min, snat_max;
	char pin_root[128];
	struct dataplane *dp;
	struct lbmap *lb;
	int tc_pod, tc_node, xdp;
	int ifindex_pod, ifindex_ext, ifindex_sml;
};

static struct fixture F;

static inline int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "fixture: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static inline void fixture_cleanup(void)
{
	lbmap_free(F.lb);
	F.lb = NULL;
	dp_close(F.dp);
	F.dp = NULL;
	if (F.pin_root[0])
		dp_uninstall(F.pin_root);
	F.pin_root[0] = '\0';
}

/* sizes: NULL for defaults. */
static inline int fixture_setup(const struct dp_map_sizes *sizes)
{
	struct dp_opts o = {0};
	struct lbmap_fds fds;
	uint32_t node_ip = ip4("192.168.50.1"), one = 1;
	static bool netns_done;

	if (!netns_done) {
		if (unshare(CLONE_NEWNET)) {
			perror("unshare(CLONE_NEWNET)");
			return -1;
		}
		if (sh("ip link set lo up") || sh("ip link add tpod type veth peer name tpodp") ||
		    sh("ip link add text type veth peer name textp") ||
		    sh("ip link add tsml mtu 160 type veth peer name tsmlp mtu 160") ||
		    sh("ip link set tsml up && ip link set tsmlp up && "
		       "ip addr add 10.244.3.1/24 dev tsml") ||
		    sh("for i in 10 11 12; do ip neigh add 10.244.3.$i lladdr 02:00:00:00:03:$i "
		       "dev tsml nud permanent; done") ||
		    sh("ip link set tpod up && ip link set tpodp up && ip link set text up && "
		       "ip link set textp up") ||
		    sh("ip addr add 10.244.1.1/24 dev tpod && ip addr add 192.168.50.1/24 dev "
		       "text") ||
		    sh("for i in 5 6 10 11 12 13 14 15 16 17 18 19; do "
		       "ip neigh add 10.244.1.$i lladdr 02:00:00:00:01:$i dev tpod nud permanent; "
		       "done") ||
		    sh("ip neigh add 192.168.50.2 lladdr 02:00:00:00:02:02 dev text nud "
		       "permanent") ||
		    sh("echo 1 > /proc/sys/net/ipv4/ip_forward"))
			return -1;
		netns_done = true;
		atexit(fixture_cleanup);
	}
	F.ifindex_pod = (int)if_nametoindex("tpod");
	F.ifindex_ext = (int)if_nametoindex("text");
	F.ifindex_sml = (int)if_nametoindex("tsml");
	snprintf(F.pin_root, sizeof(F.pin_root), "/sys/fs/bpf/drover-test-%d", getpid());
	dp_uninstall(F.pin_root);
	o.pin_root = F.pin_root;
	o.sock_lb = false;
	o.cfg.snat_port_min = F.snat_min ? F.snat_min : FIXTURE_SNAT_MIN;
	o.cfg.snat_port_max = F.snat_max ? F.snat_max : FIXTURE_SNAT_MAX;
	o.cfg.ct_tcp_timeout_s = 21600;
	o.cfg.ct_other_timeout_s = 60;
	o.cfg.enable_fib_redirect = 1;
	o.cfg.snat_addr = node_ip;
	if (sizes)
		o.sizes = *sizes;
	if (dp_open(&F.dp, &o))
		return -1;
	dp_lbmap_fds(F.dp, &fds);
	F.lb = lbmap_new(&fds, NULL);
	if (!F.lb)
		return -1;
	bpf_map_update_elem(dp_map_fd(F.dp, DP_MAP_NODEIP), &node_ip, &one, BPF_ANY);
	F.tc_pod = dp_prog_fd(F.dp, "drv_tc_pod");
	F.tc_node = dp_prog_fd(F.dp, "drv_tc_node");
	F.xdp = dp_prog_fd(F.dp, "drv_xdp_lb");
	return F.tc_pod >= 0 && F.tc_node >= 0 && F.xdp >= 0 ? 0 : -1;
}

/* Run prog over in; out gets the resulting packet. Returns the program's verdict, or -1. */
static inline int run_tc(int prog, struct pkt *in, struct pkt *out, int ifindex)
{
	struct __sk_buff ctx = {.ifindex = (__u32)ifindex, .ingress_ifindex = (__u32)ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	memset(out, 0, sizeof(*out));
	if (bpf_prog_test_run_opts(prog, &o))
		return -1;
	out->len = o.data_size_out;
	return (int)o.retval;
}

static inline int run_xdp(int prog, struct pkt *in, struct pkt *out, int ifindex)
{
	struct xdp_md ctx = {.data = 0, .data_end = in->len, .ingress_ifindex = (__u32)ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	memset(out, 0, sizeof(*out));
	if (bpf_prog_test_run_opts(prog, &o))
		return -1;
	out->len = o.data_size_out;
	return (int)o.retval;
}

/* Program one frontend with n backends <be_net>(10+i):be_port (be_net "10.244.1."). */
static inline int fe_program_net(const char *vip, uint16_t port, uint8_t proto, uint16_t flags,
				 int n, const char *be_net, uint16_t be_port, uint32_t affinity)
{
	struct lb_frontend fe = {0};
	struct lb_backend bes[16];
	char a[32];

	fe.key.addr = vip ? ip4(vip) : 0;
	fe.key.port = htons(port);
	fe.key.proto = proto;
	fe.flags = flags;
	fe.affinity_timeout = affinity;
	snprintf(fe.name, sizeof(fe.name), "test/%s:%u", vip ? vip : "nodeport", port);
	for (int i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "%s%d", be_net, 10 + i);
		bes[i].addr = ip4(a);
		bes[i].port = htons(be_port);
		bes[i].proto = proto;
		bes[i].flags = 1; /* local */
	}
	fe.backends = bes;
	fe.nbackends = (size_t)n;
	lbmap_begin(F.lb);
	if (lbmap_upsert(F.lb, &fe))
		return -1;
	return lbmap_commit(F.lb);
}

/* Program one frontend with n backends 10.244.1.(10+i):8080 (or the given port). */
static inline int fe_program(const char *vip, uint16_t port, uint8_t proto, uint16_t flags, int n,
			     uint16_t be_port, uint32_t affinity)
{
	return fe_program_net(vip, port, proto, flags, n, "10.244.1.", be_port, affinity);
}

/* Which of fe_program's backends 10.244.1.(10+i) addr is (i), or -1. */
static inline int backend_index(uint32_t addr)
{
	uint32_t h = ntohl(addr);

	if ((h & 0xffffff00) != (ntohl(ip4("10.244.1.0"))))
		return -1;
	return (int)(h & 0xff) - 10;
}

/* For the cmocka tests (pktbench includes this file without cmocka): a check that fails
 * fails the test that calls it. */
#ifdef assert_int_equal
/* A counter of one path and kind, as stats_collect (`drover bpf stats`) sums it: of the
 * frontend with that rev-NAT id, or of every frontend (rev_nat 0). */
static inline uint64_t stat_count(uint16_t rev_nat, uint8_t path, uint8_t kind)
{
	struct stats_row *rows;
	uint64_t total = 0;
	size_t n;

	assert_int_equal(stats_collect(dp_map_fd(F.dp, DP_MAP_STATS), dp_map_fd(F.dp, DP_MAP_PKTS),
				       dp_map_fd(F.dp, DP_MAP_REVNAT), &rows, &n),
			 0);
	for (size_t i = 0; i < n; i++) {
		if ((!rev_nat || rows[i].rev_nat == rev_nat) && rows[i].path == path &&
		    rows[i].kind == kind)
			total += rows[i].packets;
	}
	free(rows);
	return total;
}
#endif

/* A new L2 epoch, as the proxy and drover-cni make one: every remembered next hop (of flows,
 * drv_ct6, and of backends' new flows, drv_nh1) is looked up again. Returns the new epoch. */
static inline uint32_t epoch_bump(void)
{
	uint32_t zero = 0, e = 0;
	int fd = dp_map_fd(F.dp, DP_MAP_EPOCH);

	if (bpf_map_lookup_elem(fd, &zero, &e) == 0) {
		e++;
		bpf_map_update_elem(fd, &zero, &e, BPF_ANY);
	}
	return e;
}

static inline void ct_flush(void)
{
	int fd = dp_map_fd(F.dp, DP_MAP_CT);
	struct drv_ct_key k;

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
}

#endif
