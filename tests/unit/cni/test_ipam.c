/* SPDX-License-Identifier: Apache-2.0 */
/* drover-cni's IPAM allocator: allocation order and gateway, idempotence per (container,
 * ifname), release and round-robin reuse, exhaustion, restart from the state file, a state
 * file for another subnet, corrupt state files (a clear error naming the line, the file left
 * as it was), and allocations from concurrent processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipam.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/drover-ipam-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static uint32_t A(const char *s)
{
	uint32_t net;
	int plen;
	char buf[32];

	snprintf(buf, sizeof(buf), "%s/32", s);
	assert_int_equal(ipam_parse_cidr(buf, &net, &plen), 0);
	return net;
}

static struct ipam *open24(void)
{
	char err[256] = "";
	struct ipam *p = ipam_open(dir, A("10.1.2.0"), 24, err, sizeof(err));

	if (!p)
		fail_msg("ipam_open: %s", err);
	return p;
}

static void write_state(const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_state(void)
{
	static char buf[65536];
	char path[300];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_parse_cidr(void **state)
{
	uint32_t net;
	int plen;

	(void)state;
	assert_int_equal(ipam_parse_cidr("10.244.1.0/24", &net, &plen), 0);
	assert_int_equal(net, 0x0af40100);
	assert_int_equal(plen, 24);
	assert_int_equal(ipam_parse_cidr("10.244.1.1/24", &net, &plen), -EINVAL); /* host bits */
	assert_int_equal(ipam_parse_cidr("10.244.1.0", &net, &plen), -EINVAL);
	assert_int_equal(ipam_parse_cidr("10.244.1.0/33", &net, &plen), -EINVAL);
	assert_int_equal(ipam_parse_cidr("10.244.1.0/", &net, &plen), -EINVAL);
	assert_int_equal(ipam_parse_cidr("10.244.1.0/2x", &net, &plen), -EINVAL);
	assert_int_equal(ipam_parse_cidr("fd00::/64", &net, &plen), -EINVAL);
	/* an interface address keeps its host bits */
	assert_int_equal(ipam_parse_prefix("10.244.1.7/24", &net, &plen), 0);
	assert_int_equal(net, 0x0af40107);
	assert_int_equal(plen, 24);
	assert_int_equal(ipam_parse_prefix("10.244.1.7", &net, &plen), -EINVAL);
	assert_int_equal(ipam_parse_prefix("10.244.1.7/-1", &net, &plen), -EINVAL);
	assert_int_equal(ipam_parse_prefix("10.244.1.7/99999999999999999999", &net, &plen),
			 -EINVAL);
}

static void test_bad_subnet(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(ipam_open(dir, A("10.1.2.0"), 31, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "/30"));
}

static void test_alloc_release(void **state)
{
	struct ipam *p = open24();
	uint32_t a, b, c;
	bool fresh;

	(void)state;
	assert_int_equal(ipam_gateway(p), A("10.1.2.1"));
	assert_int_equal(ipam_alloc(p, "c1", "eth0", &a, &fresh), 0);
	assert_true(fresh);
	assert_int_equal(a, A("10.1.2.2")); /* .0 network, .1 gateway */
	assert_int_equal(ipam_alloc(p, "c2", "eth0", &b, &fresh), 0);
	assert_int_equal(b, A("10.1.2.3"));
	/* the same (container, ifname) gets its address again, not a new one */
	assert_int_equal(ipam_alloc(p, "c1", "eth0", &c, &fresh), 0);
	assert_false(fresh);
	assert_int_equal(c, a);
	/* another interface of the same container is another attachment */
	assert_int_equal(ipam_alloc(p, "c1", "net1", &c, &fresh), 0);
	assert_true(fresh);
	assert_int_equal(c, A("10.1.2.4"));
	assert_int_equal(ipam_release(p, "c1", "eth0"), 1);
	assert_int_equal(ipam_release(p, "c1", "eth0"), 0); /* idempotent */
	assert_int_equal(ipam_lookup(p, "c1", "eth0", &c), -ENOENT);
	assert_int_equal(ipam_lookup(p, "c2", "eth0", &c), 0);
	assert_int_equal(c, b);
	/* round robin: the released .2 is not handed out at once */
	assert_int_equal(ipam_alloc(p, "c3", "eth0", &c, &fresh), 0);
	assert_int_equal(c, A("10.1.2.5"));
	assert_int_equal(ipam_alloc(p, "bad id", "eth0", &c, &fresh), -EINVAL);
	assert_int_equal(ipam_alloc(p, "c4", "", &c, &fresh), -EINVAL);
	assert_int_equal(ipam_free_count(p), 253 - 3);
	assert_int_equal(ipam_close(p), 0);
}

static void test_exhaustion(void **state)
{
	char err[256] = "", id[16];
	struct ipam *p = ipam_open(dir, A("10.9.0.0"), 28, err, sizeof(err));
	uint32_t a, seen[16] = {0};
	bool fresh;

	(void)state;
	assert_non_null(p);
	/* a /28: .2 to .14 */
	for (int i = 0; i < 13; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(ipam_alloc(p, id, "eth0", &a, &fresh), 0);
		assert_true(a >= A("10.9.0.2") && a <= A("10.9.0.14"));
		assert_int_equal(seen[a & 15], 0);
		seen[a & 15] = 1;
	}
	assert_int_equal(ipam_free_count(p), 0);
	assert_int_equal(ipam_alloc(p, "one-more", "eth0", &a, &fresh), -ENOSPC);
	/* a release makes room, and wrap-around finds it */
	assert_int_equal(ipam_release(p, "c5", "eth0"), 1);
	assert_int_equal(ipam_alloc(p, "one-more", "eth0", &a, &fresh), 0);
	assert_int_equal(a, A("10.9.0.7"));
	ipam_abort(p);
}

static void test_restart(void **state)
{
	struct ipam *p = open24();
	uint32_t a;
	bool fresh;

	(void)state;
	assert_int_equal(ipam_alloc(p, "c1", "eth0", &a, &fresh), 0);
	assert_int_equal(ipam_alloc(p, "c2", "eth0", &a, &fresh), 0);
	assert_int_equal(ipam_close(p), 0);
	assert_non_null(strstr(read_state(), "10.1.2.3 c2 eth0\n"));
	/* a new process (open) sees both, and continues after the last one given */
	p = open24();
	assert_int_equal(ipam_lookup(p, "c1", "eth0", &a), 0);
	assert_int_equal(a, A("10.1.2.2"));
	assert_int_equal(ipam_release(p, "c1", "eth0"), 1);
	assert_int_equal(ipam_alloc(p, "c3", "eth0", &a, &fresh), 0);
	assert_int_equal(a, A("10.1.2.4"));
	assert_int_equal(ipam_close(p), 0);
	p = open24();
	assert_int_equal(ipam_lookup(p, "c1", "eth0", &a), -ENOENT);
	assert_int_equal(ipam_lookup(p, "c3", "eth0", &a), 0);
	assert_int_equal(ipam_alloc(p, "c4", "eth0", &a, &fresh), 0);
	assert_int_equal(a, A("10.1.2.5"));
	/* ipam_abort writes nothing */
	ipam_abort(p);
	p = open24();
	assert_int_equal(ipam_lookup(p, "c4", "eth0", &a), -ENOENT);
	ipam_abort(p);
}

static void expect_corrupt(const char *text, const char *want, int err_no)
{
	char err[256] = "";
	struct ipam *p;

	write_state(text);
	p = ipam_open(dir, A("10.1.2.0"), 24, err, sizeof(err));
	if (p)
		fail_msg("opened a corrupt state: %s", text);
	assert_int_equal(errno, err_no);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_string_equal(read_state(), text); /* left as it was */
}

static void test_corrupt(void **state)
{
	(void)state;
	expect_corrupt("garbage\n", "line 1", EBADMSG);
	expect_corrupt("drover-cni-ipam 2 10.1.2.0/24 last=10.1.2.1\n", "line 1", EBADMSG);
	expect_corrupt("drover-cni-ipam 1 10.1.2.0/24 last=10.1.2.1\n10.1.2.2 c1\n", "line 2",
		       EBADMSG);
	expect_corrupt("drover-cni-ipam 1 10.1.2.0/24 last=10.1.2.1\n10.1.2.2 c1 eth0 x\n",
		       "line 2", EBADMSG);
	expect_corrupt("drover-cni-ipam 1 10.1.2.0/24 last=10.1.2.1\n10.1.2.2 c1 eth0\n"
		       "10.1.2.2 c2 eth0\n",
		       "line 3: 10.1.2.2 allocated twice", EBADMSG);
	expect_corrupt("drover-cni-ipam 1 10.1.2.0/24 last=10.1.2.1\n10.1.3.2 c1 eth0\n",
		       "not a pod address", EBADMSG);
	expect_corrupt("drover-cni-ipam 1 10.1.2.0/24 last=10.1.2.1\n10.1.2.1 c1 eth0\n",
		       "not a pod address", EBADMSG); /* the gateway */
	expect_corrupt("drover-cni-ipam 1 10.1.2.0/24 last=10.1.2.1\n10.1.2.2 c1 eth0",
		       "line 2: truncated", EBADMSG);
	expect_corrupt("drover-cni-ipam 1 10.7.0.0/16 last=10.7.0.1\n", "is for subnet 10.7.0.0/16",
		       ESTALE);
}

/* Processes allocating at once, each through its own open/alloc/close, get distinct
 * addresses and none is lost (the flock serializes the read-modify-write). */
static void test_concurrent_processes(void **state)
{
	enum { NPROC = 20, PER = 5 };
	struct ipam *p;
	pid_t pids[NPROC];
	uint32_t a;

	(void)state;
	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			for (int k = 0; k < PER; k++) {
				char err[256], id[32];
				struct ipam *q =
				    ipam_open(dir, A("10.1.2.0"), 24, err, sizeof(err));
				bool fresh;

				snprintf(id, sizeof(id), "p%d-%d", i, k);
				if (!q || ipam_alloc(q, id, "eth0", &a, &fresh) || ipam_close(q))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < NPROC; i++) {
		int st;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	p = open24();
	assert_int_equal(p->n, NPROC * PER);
	for (size_t i = 0; i < p->n; i++)
		for (size_t j = i + 1; j < p->n; j++)
			assert_int_not_equal(p->e[i].addr, p->e[j].addr);
	ipam_abort(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_cidr),
	    cmocka_unit_test_setup_teardown(test_bad_subnet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alloc_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
