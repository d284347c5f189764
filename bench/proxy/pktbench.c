/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktbench: per-packet cost of drover's tc and XDP programs with BPF_PROG_TEST_RUN, over the
 * BPF test fixture (tests/bpf/lb/fixture.h: private network namespace, dataplane loaded
 * against a pin root of its own, removed at exit).
 *
 *   pktbench [--services S] [--runs N] [--repeat R]
 *
 * S ClusterIP frontends (3 backends each) and one NodePort are programmed through lbmap, as
 * the proxy does. Then, each path on its own (one JSON object per line):
 *
 *   hit paths: a fresh copy of the packet on every run (repeat = 1), N runs, the kernel's
 *     per-run duration collected; median/p90/p99. A repeat loop would translate the packet
 *     on its first pass and then measure the miss path, so it is never used for a hit.
 *       tc_new_flow   SYN to the VIP from a new source port each run (lookup, backend
 *                     choice, conntrack entry created, DNAT, fib redirect)
 *       tc_est_flow   ACK of an existing flow (conntrack hit, DNAT, fib redirect)
 *       tc_reply      the backend's reply of that flow (reverse NAT)
 *       xdp_new_flow  SYN to the NodePort from a new source port (Maglev, SNAT, redirect)
 *       xdp_est_flow  ACK of an existing NodePort flow
 *   miss paths: tc_miss / xdp_miss, a packet to no service, fresh copy each run; and
 *     tc_repeat_loop / xdp_repeat_loop, one packet with repeat = R (what a repeat loop really
 *     measures: one hit, then R-1 misses on the rewritten packet).
 *   empty_tc / empty_xdp: a program that only returns, measured the same way: the cost of
 *     the test-run timer itself, which every figure above includes. "net_ns" subtracts it.
 *
 * And the map layer alone (lbmap, the proxy's writer of the maps), timed in-process, both
 * wall clock and this thread's CPU time, so that a busy machine's scheduling delays show up
 * as the difference: program_all (S frontends from scratch, one transaction), then --cycles
 * times add one frontend / change its backends / delete it, each its own transaction.
 */
#define _GNU_SOURCE
#include "fixture.h"

#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <signal.h>
#include <time.h>

#define FILLER_BACKEND_BASE 0x0af41001u /* 10.244.16.1 host order: paper-only endpoints */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double p50, p90, p99, mean;
	int retval;
	long errors;
	long wrong; /* runs whose verdict was not the path's: they measured another path */
};

/* The verdict a path's every run must return; ANY for the empty programs. */
#define ANY (-1)

typedef void (*pkt_fn)(struct pkt *p, long i, void *ud);

/* N runs with repeat = 1, a fresh packet from make() each run. */
static int measure(int prog, bool xdp, int ifindex, long n, pkt_fn make, void *ud, int want,
		   struct result *r)
{
	uint32_t *d = calloc((size_t)n, sizeof(*d));
	struct pkt in, out;
	double sum = 0;
	long got = 0;

	if (!d)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	for (long i = 0; i < n; i++) {
		struct __sk_buff sctx = {.ifindex = (__u32)ifindex,
					 .ingress_ifindex = (__u32)ifindex};
		struct xdp_md xctx = {.ingress_ifindex = (__u32)ifindex};
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_out = out.data,
			    .data_size_out = sizeof(out.data), .repeat = 1);

		make(&in, i, ud);
		o.data_in = in.data;
		o.data_size_in = in.len;
		if (xdp) {
			xctx.data_end = in.len;
			o.ctx_in = &xctx;
			o.ctx_size_in = sizeof(xctx);
		} else {
			o.ctx_in = &sctx;
			o.ctx_size_in = sizeof(sctx);
		}
		if (bpf_prog_test_run_opts(prog, &o)) {
			r->errors++;
			continue;
		}
		r->retval = (int)o.retval;
		if (want != ANY && (int)o.retval != want)
			r->wrong++;
		d[got++] = o.duration;
		sum += o.duration;
	}
	if (!got) {
		free(d);
		return -EIO;
	}
	qsort(d, (size_t)got, sizeof(*d), cmp_u32);
	r->p50 = d[got / 2];
	r->p90 = d[(size_t)((double)(got - 1) * 0.90)];
	r->p99 = d[(size_t)((double)(got - 1) * 0.99)];
	r->mean = sum / (double)got;
	free(d);
	return 0;
}

/* One run with repeat = R over one packet: the kernel's average per pass. */
static int measure_repeat(int prog, bool xdp, int ifindex, struct pkt *in, int repeat,
			  struct result *r)
{
	struct __sk_buff sctx = {.ifindex = (__u32)ifindex, .ingress_ifindex = (__u32)ifindex};
	struct xdp_md xctx = {.data_end = in->len, .ingress_ifindex = (__u32)ifindex};
	struct pkt out;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out.data, .data_size_out = sizeof(out.data), .repeat = repeat);

	memset(r, 0, sizeof(*r));
	o.ctx_in = xdp ? (void *)&xctx : (void *)&sctx;
	o.ctx_size_in = xdp ? sizeof(xctx) : sizeof(sctx);
	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	r->p50 = r->p90 = r->p99 = r->mean = o.duration;
	r->retval = (int)o.retval;
	return 0;
}

static int empty_prog(enum bpf_prog_type type)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};

	return bpf_prog_load(type, "drv_bench_nop", "GPL", insns, 2, NULL);
}

/* ---------- packet makers ---------- */

static void mk_tc_new(struct pkt *p, long i, void *ud)
{
	(void)ud;
	pkt_build(p, IPPROTO_TCP, "10.244.1.5", (uint16_t)(1024 + i % 60000), "10.96.0.10", 80,
		  TCP_SYN, 0);
}

static void mk_tc_est(struct pkt *p, long i, void *ud)
{
	(void)i;
	(void)ud;
	pkt_build(p, IPPROTO_TCP, "10.244.1.6", 40000, "10.96.0.10", 80, TCP_ACK, 64);
}

static void mk_tc_reply(struct pkt *p, long i, void *ud)
{
	uint32_t backend = *(uint32_t *)ud;

	(void)i;
	pkt_build(p, IPPROTO_TCP, "10.244.1.10", 8080, "10.244.1.6", 40000, TCP_ACK, 64);
	pkt_ip(p)->saddr = backend;
	pkt_fill_csums(p);
}

static void mk_tc_miss(struct pkt *p, long i, void *ud)
{
	(void)i;
	(void)ud;
	pkt_build(p, IPPROTO_TCP, "10.244.1.5", 40001, "10.244.1.11", 8080, TCP_ACK, 64);
}

static void mk_xdp_new(struct pkt *p, long i, void *ud)
{
	(void)ud;
	pkt_build(p, IPPROTO_TCP, "192.168.50.2", (uint16_t)(1024 + i % 60000), "192.168.50.1",
		  30080, TCP_SYN, 0);
}

static void mk_xdp_est(struct pkt *p, long i, void *ud)
{
	(void)i;
	(void)ud;
	pkt_build(p, IPPROTO_TCP, "192.168.50.2", 45000, "192.168.50.1", 30080, TCP_ACK, 64);
}

static void mk_xdp_miss(struct pkt *p, long i, void *ud)
{
	(void)i;
	(void)ud;
	pkt_build(p, IPPROTO_TCP, "192.168.50.2", 45001, "192.168.50.1", 22, TCP_ACK, 64);
}

/* ---------- frontends ---------- */

static int program_fillers(long count)
{
	struct lb_frontend fe;
	struct lb_backend bes[3];
	int rc;

	lbmap_begin(F.lb);
	for (long i = 0; i < count; i++) {
		memset(&fe, 0, sizeof(fe));
		fe.key.addr = htonl(0x0a600100u + (uint32_t)i); /* 10.96.1.0 + i */
		fe.key.port = htons(80);
		fe.key.proto = DRV_PROTO_TCP;
		fe.flags = DRV_SVC_F_CLUSTERIP;
		snprintf(fe.name, sizeof(fe.name), "fill/svc-%ld:http", i);
		for (int j = 0; j < 3; j++) {
			uint32_t k = (uint32_t)(3 * i + j);

			bes[j].addr = htonl(FILLER_BACKEND_BASE + (k / 250) * 256 + k % 250);
			bes[j].port = htons(8080);
			bes[j].proto = DRV_PROTO_TCP;
			bes[j].flags = 0;
		}
		fe.backends = bes;
		fe.nbackends = 3;
		rc = lbmap_upsert(F.lb, &fe);
		if (rc)
			return rc;
	}
	return lbmap_commit(F.lb);
}

static double clk_us(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

struct lbtime {
	double wall0, cpu0;
};

static void lb_start(struct lbtime *t)
{
	t->wall0 = clk_us(CLOCK_MONOTONIC);
	t->cpu0 = clk_us(CLOCK_THREAD_CPUTIME_ID);
}

static void lb_print(const char *op, long services, const struct lbtime *t, int rc)
{
	printf("{\"lbmap\": \"%s\", \"services\": %ld, \"rc\": %d, \"wall_us\": %.1f, "
	       "\"cpu_us\": %.1f}\n",
	       op, services, rc, clk_us(CLOCK_MONOTONIC) - t->wall0,
	       clk_us(CLOCK_THREAD_CPUTIME_ID) - t->cpu0);
	fflush(stdout);
}

/* add / change / delete of one frontend among the programmed ones, `cycles` times. */
static void lbmap_churn(long services, int cycles)
{
	struct lb_frontend fe = {0};
	struct lb_backend bes[3];
	struct lbtime t;
	int rc;

	fe.key.addr = htonl(0x0a600014u); /* 10.96.0.20 */
	fe.key.port = htons(80);
	fe.key.proto = DRV_PROTO_TCP;
	fe.flags = DRV_SVC_F_CLUSTERIP;
	snprintf(fe.name, sizeof(fe.name), "bench/churn:http");
	fe.backends = bes;
	fe.nbackends = 3;
	for (int c = 0; c < cycles; c++) {
		for (int j = 0; j < 3; j++) {
			bes[j].addr = htonl(0x0af4010bu + (uint32_t)j); /* 10.244.1.11-13 */
			bes[j].port = htons(8080);
			bes[j].proto = DRV_PROTO_TCP;
			bes[j].flags = 1;
		}
		lb_start(&t);
		lbmap_begin(F.lb);
		rc = lbmap_upsert(F.lb, &fe);
		rc = rc ?: lbmap_commit(F.lb);
		lb_print("add", services, &t, rc);
		bes[2].addr = htonl(0x0af4010eu); /* 10.244.1.14 replaces .13 */
		lb_start(&t);
		lbmap_begin(F.lb);
		rc = lbmap_upsert(F.lb, &fe);
		rc = rc ?: lbmap_commit(F.lb);
		lb_print("change", services, &t, rc);
		lb_start(&t);
		lbmap_begin(F.lb);
		rc = lbmap_delete(F.lb, &fe.key);
		rc = rc ?: lbmap_commit(F.lb);
		lb_print("delete", services, &t, rc);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	exit(130); /* atexit: fixture_cleanup removes the pins */
}

static long wrong_paths; /* paths with a run that returned another verdict: exit 3 */

static void print(const char *name, const struct result *r, const struct result *base, long n,
		  int repeat)
{
	if (r->wrong) {
		wrong_paths++;
		fprintf(stderr,
			"pktbench: %s: %ld of %ld runs returned verdict %d, not the path's\n", name,
			r->wrong, n, r->retval);
	}
	printf("{\"path\": \"%s\", \"runs\": %ld, \"repeat\": %d, \"retval\": %d, \"errors\": %ld, "
	       "\"wrong_verdict\": %ld, \"p50_ns\": %.0f, \"p90_ns\": %.0f, \"p99_ns\": %.0f, "
	       "\"mean_ns\": %.1f, \"net_ns\": %.0f}\n",
	       name, n, repeat, r->retval, r->errors, r->wrong, r->p50, r->p90, r->p99, r->mean,
	       base ? r->p50 - base->p50 : r->p50);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"services", required_argument, 0, 's'},
	    {"runs", required_argument, 0, 'n'},
	    {"repeat", required_argument, 0, 'r'},
	    {"cycles", required_argument, 0, 'c'},
	    {0, 0, 0, 0},
	};
	long services = 1, runs = 20000;
	int repeat = 1000, cycles = 5, o, etc, exdp, rc;
	struct lbtime lt;
	struct result rt, rx, r;
	struct pkt est_in, est_out, p;
	uint32_t backend;

	while ((o = getopt_long(argc, argv, "s:n:r:c:", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			services = atol(optarg);
			break;
		case 'n':
			runs = atol(optarg);
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'c':
			cycles = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: pktbench [--services S] [--runs N] [--repeat R] "
					"[--cycles C]\n");
			return 2;
		}
	}
	if (services < 1 || services > 60000 || runs < 100 || repeat < 1) {
		fprintf(stderr, "pktbench: invalid arguments\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* xdp_new_flow masquerades every run's new flow: the whole unprivileged range, so that
	 * runs (one source port each, at most 60000 distinct) never exhaust it and measure the
	 * exhaustion path instead (the fixture's 2000 ports did, from 2026-12-07 on). */
	F.snat_min = 1024;
	F.snat_max = 65535;
	if (fixture_setup(NULL)) {
		fprintf(stderr, "pktbench: fixture setup failed (root, bpffs?)\n");
		return 1;
	}
	rc = fe_program("10.96.0.10", 80, DRV_PROTO_TCP, DRV_SVC_F_CLUSTERIP, 3, 8080, 0);
	rc = rc ?: fe_program(NULL, 30080, DRV_PROTO_TCP, DRV_SVC_F_NODEPORT, 3, 8080, 0);
	lb_start(&lt);
	rc = rc ?: (services > 1 ? program_fillers(services - 1) : 0);
	lb_print("program_all", services, &lt, rc);
	if (rc) {
		fprintf(stderr, "pktbench: programming %ld frontends failed: %d\n", services, rc);
		return 1;
	}
	etc = empty_prog(BPF_PROG_TYPE_SCHED_CLS);
	exdp = empty_prog(BPF_PROG_TYPE_XDP);
	if (etc < 0 || exdp < 0) {
		fprintf(stderr, "pktbench: loading the empty programs failed\n");
		return 1;
	}
	printf("{\"services\": %ld}\n", services);
	lbmap_churn(services, cycles);

	measure(etc, false, F.ifindex_pod, runs, mk_tc_est, NULL, ANY, &rt);
	print("empty_tc", &rt, NULL, runs, 1);
	measure(exdp, true, F.ifindex_ext, runs, mk_xdp_est, NULL, ANY, &rx);
	print("empty_xdp", &rx, NULL, runs, 1);

	ct_flush();
	if (measure(F.tc_pod, false, F.ifindex_pod, runs, mk_tc_new, NULL, TC_ACT_REDIRECT, &r) ==
	    0)
		print("tc_new_flow", &r, &rt, runs, 1);
	/* Establish the flow the next two paths use, and learn its backend. */
	mk_tc_est(&est_in, 0, NULL);
	if (run_tc(F.tc_pod, &est_in, &est_out, F.ifindex_pod) < 0)
		return 1;
	backend = pkt_ip(&est_out)->daddr;
	if (measure(F.tc_pod, false, F.ifindex_pod, runs, mk_tc_est, NULL, TC_ACT_REDIRECT, &r) ==
	    0)
		print("tc_est_flow", &r, &rt, runs, 1);
	if (measure(F.tc_pod, false, F.ifindex_pod, runs, mk_tc_reply, &backend, TC_ACT_REDIRECT,
		    &r) == 0)
		print("tc_reply", &r, &rt, runs, 1);
	if (measure(F.tc_pod, false, F.ifindex_pod, runs, mk_tc_miss, NULL, TC_ACT_OK, &r) == 0)
		print("tc_miss", &r, &rt, runs, 1);
	mk_tc_new(&p, 70000, NULL);
	if (measure_repeat(F.tc_pod, false, F.ifindex_pod, &p, repeat, &r) == 0)
		print("tc_repeat_loop", &r, &rt, 1, repeat);

	ct_flush();
	if (measure(F.xdp, true, F.ifindex_ext, runs, mk_xdp_new, NULL, XDP_REDIRECT, &r) == 0)
		print("xdp_new_flow", &r, &rx, runs, 1);
	mk_xdp_est(&est_in, 0, NULL);
	run_xdp(F.xdp, &est_in, &est_out, F.ifindex_ext);
	if (measure(F.xdp, true, F.ifindex_ext, runs, mk_xdp_est, NULL, XDP_REDIRECT, &r) == 0)
		print("xdp_est_flow", &r, &rx, runs, 1);
	if (measure(F.xdp, true, F.ifindex_ext, runs, mk_xdp_miss, NULL, XDP_PASS, &r) == 0)
		print("xdp_miss", &r, &rx, runs, 1);
	mk_xdp_new(&p, 70000, NULL);
	if (measure_repeat(F.xdp, true, F.ifindex_ext, &p, repeat, &r) == 0)
		print("xdp_repeat_loop", &r, &rx, 1, repeat);
	close(etc);
	close(exdp);
	return wrong_paths ? 3 : 0;
}
