/* SPDX-License-Identifier: Apache-2.0 */
/* nl against the kernel: in two network namespaces of the test's own (unshare; they vanish
 * with the process), a veth pair with its peer created in the other namespace, up, addresses,
 * routes, deletion, look-ups, errors, and nl_in_netns returning to where it was. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nl.h"

static int ns_a = -1, ns_b = -1; /* the test's two namespaces; A is current */

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	if (unshare(CLONE_NEWNET))
		return -1;
	ns_a = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNET))
		return -1;
	ns_b = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return ns_a >= 0 && ns_b >= 0 && !setns(ns_a, CLONE_NEWNET) ? 0 : -1;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static ino_t cur_ns(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

struct peer_check {
	const char *name;
	int found;
	struct nl_link l;
};

static int look_in_b(void *arg)
{
	struct peer_check *p = arg;
	struct nl nl;
	int r;

	if (nl_open(&nl))
		return -100;
	r = nl_link_by_name(&nl, p->name, &p->l);
	p->found = r == 0;
	nl_close(&nl);
	return 42;
}

static void test_veth_lifecycle(void **state)
{
	struct peer_check pc = {.name = "eth0"};
	struct nl_link l, l2;
	struct nl nl;
	ino_t before;

	(void)state;
	if (ns_a < 0)
		skip();
	assert_int_equal(nl_open(&nl), 0);
	assert_int_equal(nl_veth_add(&nl, "host0", "eth0", ns_b, 1400), 0);
	assert_int_equal(nl_veth_add(&nl, "host0", "eth9", ns_b, 0), -EEXIST);
	assert_int_equal(nl_veth_add(&nl, "a-name-too-long-for-linux", "x", ns_b, 0),
			 -ENAMETOOLONG);
	assert_int_equal(nl_link_by_name(&nl, "host0", &l), 0);
	assert_string_equal(l.name, "host0");
	assert_int_equal(l.mtu, 1400);
	assert_false(l.flags & 1);
	assert_int_equal(nl_link_by_name(&nl, "eth0", &l2), -ENODEV); /* not here: in B */

	before = cur_ns();
	assert_int_equal(nl_in_netns(ns_b, look_in_b, &pc), 42);
	assert_int_equal(cur_ns(), before);
	assert_true(pc.found);
	assert_int_equal(pc.l.mtu, 1400);

	/* up, down, up (looked up by index) */
	assert_int_equal(nl_link_by_index(&nl, l.ifindex, &l2), 0);
	assert_string_equal(l2.name, "host0");
	assert_int_equal(nl_link_set_up(&nl, l.ifindex, 1), 0);
	assert_int_equal(nl_link_by_index(&nl, l.ifindex, &l2), 0);
	assert_true(l2.flags & 1);
	assert_int_equal(nl_link_set_up(&nl, l.ifindex, 0), 0);
	assert_int_equal(nl_link_by_index(&nl, l.ifindex, &l2), 0);
	assert_false(l2.flags & 1);
	assert_int_equal(nl_link_set_up(&nl, l.ifindex, 1), 0);

	/* addresses */
	assert_int_equal(nl_addr4_has(&nl, l.ifindex, ip("10.9.0.1"), 32), 0);
	assert_int_equal(nl_addr4_add(&nl, l.ifindex, ip("10.9.0.1"), 32), 0);
	assert_int_equal(nl_addr4_add(&nl, l.ifindex, ip("10.9.0.1"), 32), -EEXIST);
	assert_int_equal(nl_addr4_has(&nl, l.ifindex, ip("10.9.0.1"), 32), 1);
	assert_int_equal(nl_addr4_has(&nl, l.ifindex, ip("10.9.0.1"), 24), 0);
	assert_int_equal(nl_addr4_has(&nl, l.ifindex, ip("10.9.0.2"), 32), 0);
	assert_int_equal(nl_addr4_add(&nl, l.ifindex, ip("10.9.0.1"), 33), -EINVAL);

	/* routes: a link route, one via a gateway, duplicates */
	assert_int_equal(nl_route4_add(&nl, ip("10.9.0.5"), 32, ip("0.0.0.0"), l.ifindex), 0);
	assert_int_equal(nl_route4_add(&nl, ip("10.9.0.5"), 32, ip("0.0.0.0"), l.ifindex), -EEXIST);
	assert_int_equal(nl_route4_add(&nl, ip("10.10.0.0"), 16, ip("10.9.0.5"), l.ifindex), 0);
	assert_int_equal(nl_route4_add(&nl, ip("10.10.0.0"), 16, ip("10.9.0.5"), l.ifindex),
			 -EEXIST);

	/* delete: the peer in B goes with it */
	assert_int_equal(nl_link_del(&nl, l.ifindex), 0);
	assert_int_equal(nl_link_by_index(&nl, l.ifindex, &l2), -ENODEV);
	assert_int_equal(nl_link_del(&nl, l.ifindex), -ENODEV);
	assert_int_equal(nl_in_netns(ns_b, look_in_b, &pc), 42);
	assert_false(pc.found);
	nl_close(&nl);
}

struct routes_seen {
	int n;
	struct in_addr dst, gw;
	int len;
};

static int route_seen(struct in_addr dst, int dst_len, struct in_addr gw, void *arg)
{
	struct routes_seen *r = arg;

	r->n++;
	r->dst = dst;
	r->gw = gw;
	r->len = dst_len;
	return 0;
}

/* a bridge with a veth enslaved; routes marked with a protocol of their own: set (replace),
 * listed by protocol, deleted */
static void test_bridge_routes(void **state)
{
	struct nl nl;
	struct nl_link br, l, l2;
	struct routes_seen rs = {0};

	(void)state;
	if (ns_a < 0)
		skip();
	assert_int_equal(nl_open(&nl), 0);
	assert_int_equal(nl_bridge_add(&nl, "tbr0"), 0);
	assert_int_equal(nl_bridge_add(&nl, "tbr0"), -EEXIST);
	assert_int_equal(nl_link_by_name(&nl, "tbr0", &br), 0);
	assert_int_equal(nl_veth_add(&nl, "tport0", "tpeer0", -1, 0), 0);
	assert_int_equal(nl_link_by_name(&nl, "tport0", &l), 0);
	assert_int_equal(nl_link_set_master(&nl, l.ifindex, br.ifindex), 0);
	/* no such master: the kernel says EINVAL */
	assert_int_equal(nl_link_set_master(&nl, l.ifindex, 999999), -EINVAL);
	assert_int_equal(nl_link_set_up(&nl, br.ifindex, 1), 0);
	assert_int_equal(nl_addr4_add(&nl, br.ifindex, ip("10.20.0.1"), 24), 0);

	assert_int_equal(nl_route4_set(&nl, ip("10.30.0.0"), 24, ip("10.20.0.2"), 0, 77), 0);
	/* replace: the same destination, a new gateway, still one route */
	assert_int_equal(nl_route4_set(&nl, ip("10.30.0.0"), 24, ip("10.20.0.3"), 0, 77), 0);
	assert_int_equal(nl_route4_list(&nl, 77, route_seen, &rs), 0);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.len, 24);
	assert_int_equal(rs.dst.s_addr, ip("10.30.0.0").s_addr);
	assert_int_equal(rs.gw.s_addr, ip("10.20.0.3").s_addr);
	/* a gateway that is not on a link: refused */
	assert_int_equal(nl_route4_set(&nl, ip("10.31.0.0"), 24, ip("10.99.0.1"), 0, 77),
			 -ENETUNREACH);
	/* other protocols are not listed */
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(nl_route4_list(&nl, 78, route_seen, &rs), 0);
	assert_int_equal(rs.n, 0);
	assert_int_equal(nl_route4_del(&nl, ip("10.30.0.0"), 24), 0);
	assert_int_equal(nl_route4_del(&nl, ip("10.30.0.0"), 24), -ESRCH);
	assert_int_equal(nl_route4_list(&nl, 77, route_seen, &rs), 0);
	assert_int_equal(rs.n, 0);

	assert_int_equal(nl_link_del(&nl, l.ifindex), 0);
	assert_int_equal(nl_link_del(&nl, br.ifindex), 0);
	assert_int_equal(nl_link_by_name(&nl, "tbr0", &l2), -ENODEV);
	nl_close(&nl);
}

/* inside a namespace: 0 when its lo is up */
static int lo_up(void *arg)
{
	struct nl nl;
	struct nl_link lo;
	int err;

	(void)arg;
	if ((err = nl_open(&nl)) != 0)
		return err;
	err = nl_link_by_name(&nl, "lo", &lo);
	nl_close(&nl);
	return err ? err : lo.flags & IFF_UP ? 0 : -ENETDOWN;
}

static char netns_name[64];

/* the namespace is gone also when an assertion failed halfway */
static int netns_named_teardown(void **state)
{
	(void)state;
	if (netns_name[0])
		nl_netns_del(netns_name);
	return 0;
}

/* named namespaces: made (lo up, as iproute2 does), refused twice, opened, removed; bad
 * names refused */
static void test_netns_named(void **state)
{
	char *name = netns_name;
	int fd;

	(void)state;
	if (ns_a < 0)
		skip();
	snprintf(netns_name, sizeof(netns_name), "drvtest-nl-%d", (int)getpid());
	assert_int_equal(nl_netns_add(name), 0);
	assert_int_equal(nl_netns_add(name), -EEXIST);
	fd = nl_netns_open(name);
	assert_true(fd >= 0);
	assert_int_equal(nl_in_netns(fd, lo_up, NULL), 0);
	close(fd);
	assert_int_equal(nl_netns_del(name), 0);
	assert_int_equal(nl_netns_del(name), -ENOENT);
	assert_int_equal(nl_netns_open(name), -ENOENT);
	assert_int_equal(nl_netns_add("a/b"), -EINVAL);
	assert_int_equal(nl_netns_add(".."), -EINVAL);
	assert_int_equal(nl_netns_add(""), -EINVAL);
}

static void test_in_bad_netns(void **state)
{
	int fd = open("/", O_RDONLY | O_CLOEXEC);
	struct peer_check pc = {.name = "lo"};

	(void)state;
	if (ns_a < 0)
		skip();
	assert_int_equal(nl_in_netns(fd, look_in_b, &pc), -EINVAL);
	assert_false(pc.found); /* fn never ran */
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_veth_lifecycle),
	    cmocka_unit_test(test_in_bad_netns),
	    cmocka_unit_test(test_bridge_routes),
	    cmocka_unit_test_teardown(test_netns_named, netns_named_teardown),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
