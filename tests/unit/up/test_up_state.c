/* SPDX-License-Identifier: Apache-2.0 */
/* up_state: the state file `drover down` trusts (written, read back, refused when it is not
 * ours or when one exists), the start time recorded with a pid (a reused pid is not ours),
 * the names derived from a cluster ID (interface names within IFNAMSIZ up to the largest ID). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"
#include "up.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/unit-up-state.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_state(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" UP_STATE_FILE, dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm_state(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/" UP_STATE_FILE, dir);
	unlink(path);
}

static void test_roundtrip(void **state)
{
	struct up_state st;

	(void)state;
	rm_state();
	assert_int_equal(up_state_read(dir, &st), -ENOENT);
	assert_int_equal(up_state_begin(dir, 7, 3), 0);
	/* a second begin never overwrites a recorded cluster */
	assert_int_equal(up_state_begin(dir, 8, 1), -EEXIST);
	assert_int_equal(up_state_pid(dir, getpid(), "server"), 0);
	assert_int_equal(up_state_read(dir, &st), 0);
	assert_int_equal(st.id, 7);
	assert_int_equal(st.nodes, 3);
	assert_int_equal(st.npids, 1);
	assert_int_equal(st.pids[0].pid, getpid());
	assert_string_equal(st.pids[0].what, "server");
	/* the start time recorded is this process's */
	assert_true(st.pids[0].start > 0);
	assert_true(st.pids[0].start == rt_pid_starttime(getpid()));
	rm_state();
}

static void test_not_ours(void **state)
{
	struct up_state st;

	(void)state;
	/* no magic line */
	write_state("cluster 1 2\npid 123 456 server\n");
	assert_int_equal(up_state_read(dir, &st), -EINVAL);
	/* magic, but no cluster */
	write_state("drover-up 1\npid 123 456 server\n");
	assert_int_equal(up_state_read(dir, &st), -EINVAL);
	/* an ID or a node count out of range is not taken */
	write_state("drover-up 1\ncluster 251 2\n");
	assert_int_equal(up_state_read(dir, &st), -EINVAL);
	write_state("drover-up 1\ncluster 0 2\n");
	assert_int_equal(up_state_read(dir, &st), -EINVAL);
	write_state("drover-up 1\ncluster 3 51\n");
	assert_int_equal(up_state_read(dir, &st), -EINVAL);
	/* pid 0 and 1 are never ours to kill; garbage lines are skipped */
	write_state(
	    "drover-up 1\ncluster 3 2\npid 1 5 init\npid 0 5 x\nnonsense\npid 42 9 agent-node-1\n");
	assert_int_equal(up_state_read(dir, &st), 0);
	assert_int_equal(st.npids, 1);
	assert_int_equal(st.pids[0].pid, 42);
	assert_string_equal(st.pids[0].what, "agent-node-1");
	rm_state();
}

static void test_names(void **state)
{
	char b[64];

	(void)state;
	up_host_link(UP_MAX_ID, b, sizeof(b));
	assert_string_equal(b, "drvup250");
	assert_true(strlen(b) < IF_NAMESIZE);
	up_fabric_netns(3, b, sizeof(b));
	assert_string_equal(b, "drover-up3-fabric");
	up_node_netns(3, 2, b, sizeof(b));
	assert_string_equal(b, "drover-up3-node-2");
	up_cgroup(3, b, sizeof(b));
	assert_string_equal(b, "drover-up3");
	up_node_name(12, b, sizeof(b));
	assert_string_equal(b, "node-12");
	up_addr(3, UP_NODE_IP_BASE + UP_MAX_NODES, b, sizeof(b));
	assert_string_equal(b, "198.19.3.60");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_not_ours),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
