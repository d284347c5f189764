/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sim_cidr: `drover sim`'s address arithmetic: IPv4 and CIDR parsing as Go's net
 * package accepts them (host bits masked, no leading zeros), podCIDRs cut from the cluster
 * CIDR at the node mask, pod IPs from .2 to the last but one address of a node's range,
 * next-fit (a released address is the last to come back), taken addresses never handed out,
 * and a clear end (-ENOSPC) when a range is full.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim_cidr.h"

static uint32_t ip(const char *s)
{
	uint32_t v = 0;

	assert_int_equal(sim_ip_parse(s, &v), 0);
	return v;
}

static void test_parse(void **state)
{
	struct sim_net n;
	char buf[20];
	uint32_t v;

	(void)state;
	assert_int_equal(sim_net_parse("10.244.0.0/16", &n), 0);
	assert_int_equal(n.addr, 0x0af40000u);
	assert_int_equal(n.prefix, 16);
	/* host bits are masked, as net.ParseCIDR does */
	assert_int_equal(sim_net_parse("10.244.7.9/16", &n), 0);
	assert_string_equal(sim_net_str(&n, buf), "10.244.0.0/16");
	assert_int_equal(sim_net_parse("0.0.0.0/0", &n), 0);
	assert_int_equal(sim_net_parse("1.2.3.4/32", &n), 0);
	assert_string_equal(sim_net_str(&n, buf), "1.2.3.4/32");
	assert_true(sim_net_contains(&n, ip("1.2.3.4")));
	assert_false(sim_net_contains(&n, ip("1.2.3.5")));

	static const char *const bad[] = {
	    "",
	    "10.244.0.0",
	    "10.244.0.0/",
	    "10.244.0.0/33",
	    "10.244.0/16",
	    "10.244.0.0.0/16",
	    "256.0.0.0/8",
	    "10.01.0.0/16",
	    "10.244.0.0/016",
	    "a.b.c.d/8",
	    "10.244.0.0/-1",
	    "10.244.0.0/1x",
	    " 10.0.0.0/8",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sim_net_parse(bad[i], &n) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
	assert_int_equal(sim_ip_parse("1.2.3", &v), -EINVAL);
	assert_int_equal(sim_ip_parse("1.2.3.4 ", &v), -EINVAL);
	assert_int_equal(sim_ip_parse("0.0.0.0", &v), 0);
	assert_int_equal(v, 0);
	assert_string_equal(sim_ip_str(ip("255.255.255.255"), buf), "255.255.255.255");
}

static void test_pod_cidrs(void **state)
{
	struct sim_net cluster;
	struct sim_ranges r;
	uint32_t a;
	char buf[20];

	(void)state;
	assert_int_equal(sim_net_parse("10.244.0.0/16", &cluster), 0);
	assert_int_equal(sim_ranges_init(&r, &cluster, 24, 0, 0), 0);
	assert_int_equal(sim_ranges_size(&r), 256);
	/* a range another node holds is skipped */
	assert_int_equal(sim_ranges_take(&r, ip("10.244.1.0")), 0);
	assert_int_equal(sim_ranges_take(&r, ip("10.244.1.77")), -EEXIST);
	assert_int_equal(sim_ranges_take(&r, ip("10.245.0.0")), -ERANGE);
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_string_equal(sim_ip_str(a, buf), "10.244.0.0");
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_string_equal(sim_ip_str(a, buf), "10.244.2.0");
	assert_int_equal(sim_ranges_free_count(&r), 253);
	for (int i = 0; i < 253; i++)
		assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_int_equal(sim_ranges_alloc(&r, &a), -ENOSPC);
	assert_int_equal(sim_ranges_free_count(&r), 0);
	sim_ranges_release(&r, ip("10.244.200.0"));
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_string_equal(sim_ip_str(a, buf), "10.244.200.0");
	sim_ranges_free(&r);

	/* a block longer than 24 bits past the network is refused */
	assert_int_equal(sim_net_parse("10.0.0.0/8", &cluster), 0);
	assert_int_equal(sim_ranges_init(&r, &cluster, 32, 0, 0), 0);
	sim_ranges_free(&r);
	assert_int_equal(sim_net_parse("0.0.0.0/0", &cluster), 0);
	assert_int_equal(sim_ranges_init(&r, &cluster, 32, 0, 0), -EINVAL);
	assert_int_equal(sim_ranges_init(&r, &cluster, 0, 0, 0), -EINVAL);
}

static void test_pod_ips(void **state)
{
	struct sim_net node;
	struct sim_ranges r;
	uint32_t a, first;
	char buf[20];
	bool seen[256] = {0};

	(void)state;
	assert_int_equal(sim_net_parse("10.244.3.0/24", &node), 0);
	/* .0 the network, .1 the node's bridge, .255 the broadcast */
	assert_int_equal(sim_ranges_init(&r, &node, 32, 2, 1), 0);
	assert_int_equal(sim_ranges_size(&r), 253);
	assert_int_equal(sim_ranges_take(&r, ip("10.244.3.1")), -ERANGE);
	assert_int_equal(sim_ranges_take(&r, ip("10.244.3.255")), -ERANGE);
	assert_int_equal(sim_ranges_alloc(&r, &first), 0);
	assert_string_equal(sim_ip_str(first, buf), "10.244.3.2");
	/* a pod already running with .5 keeps it: it is never handed out */
	assert_int_equal(sim_ranges_take(&r, ip("10.244.3.5")), 0);
	for (int i = 0; i < 251; i++) {
		assert_int_equal(sim_ranges_alloc(&r, &a), 0);
		assert_true(sim_net_contains(&node, a));
		assert_int_not_equal(a & 255, 5);
		assert_false(seen[a & 255]);
		seen[a & 255] = true;
	}
	assert_int_equal(sim_ranges_alloc(&r, &a), -ENOSPC);
	/* next-fit: what is released comes back only after the rest */
	sim_ranges_release(&r, ip("10.244.3.9"));
	sim_ranges_release(&r, ip("10.244.3.200"));
	assert_false(sim_ranges_taken(&r, ip("10.244.3.9")));
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_string_equal(sim_ip_str(a, buf), "10.244.3.9");
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_string_equal(sim_ip_str(a, buf), "10.244.3.200");
	sim_ranges_free(&r);

	/* release then alloc in a range with room: the cursor moves on first */
	assert_int_equal(sim_ranges_init(&r, &node, 32, 2, 1), 0);
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_string_equal(sim_ip_str(a, buf), "10.244.3.3");
	sim_ranges_release(&r, ip("10.244.3.2"));
	sim_ranges_release(&r, ip("10.244.3.2")); /* twice: no underflow */
	assert_int_equal(sim_ranges_free_count(&r), 252);
	assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_string_equal(sim_ip_str(a, buf), "10.244.3.4");
	sim_ranges_free(&r);
}

/* A big range: whole words of taken blocks are skipped, the count stays exact. */
static void test_large(void **state)
{
	struct sim_net net;
	struct sim_ranges r;
	uint32_t a = 0;

	(void)state;
	assert_int_equal(sim_net_parse("172.16.0.0/12", &net), 0);
	assert_int_equal(sim_ranges_init(&r, &net, 32, 1, 1), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(sim_ranges_alloc(&r, &a), 0);
	assert_int_equal(a, ip("172.16.19.136")); /* the 5000th address after .0 */
	assert_int_equal(sim_ranges_free_count(&r), (1u << 20) - 2 - 5000);
	sim_ranges_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_pod_cidrs),
	    cmocka_unit_test(test_pod_ips),
	    cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
