/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.c on fake trees: a temp directory plays /sys/fs/cgroup and a written mountinfo says
 * which of its directories are cgroup (v1) or cgroup2 mounts. Layout detection for pure v2,
 * hybrid and v1 (co-mounted cpu,cpuacct), bad paths, the files cg_set_limits writes and
 * cg_read_usage reads, and kubelet's millicores conversions.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"

struct fx {
	char dir[64];
	char mountinfo[128];
};

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/drvcg-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->mountinfo, sizeof(fx->mountinfo), "%s/mountinfo", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* mountinfo lines for the fake root: each "name fstype superopts" becomes a mount of
 * <dir>/root/<name> ("." for the root itself). Unrelated mounts are always there. */
static void write_mountinfo(struct fx *fx, const char *const *mounts)
{
	FILE *f = fopen(fx->mountinfo, "w");
	int id = 30;

	assert_non_null(f);
	fprintf(f, "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n");
	/* A cgroup mount outside the root is not ours. */
	fprintf(f, "23 22 0:30 / /elsewhere/memory rw - cgroup cgroup rw,memory\n");
	for (; *mounts; mounts += 3, id++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/root%s%s", fx->dir,
			 strcmp(mounts[0], ".") ? "/" : "",
			 strcmp(mounts[0], ".") ? mounts[0] : "");
		mkdir(path, 0755);
		/* Optional fields (shared:N master:N) sit between the options and "-". */
		fprintf(f, "%d 22 0:%d / %s rw,nosuid shared:%d master:1 - %s %s %s\n", id, id,
			path, id, mounts[1], mounts[1], mounts[2]);
	}
	fclose(f);
}

static char *rootdir(struct fx *fx)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s/root", fx->dir);
	mkdir(buf, 0755);
	return buf;
}

/* The layout of the fake root with these mounts; controllers, when not NULL, is the
 * cgroup.controllers of the v2 tree at <root><v2dir>. */
static struct cg_layout *detect(struct fx *fx, const char *const *mounts, const char *v2dir,
				const char *controllers)
{
	char path[256];

	rootdir(fx);
	write_mountinfo(fx, mounts);
	if (controllers) {
		snprintf(path, sizeof(path), "%s/root%s/cgroup.controllers", fx->dir, v2dir);
		put(path, controllers);
	}
	return cg_layout_detect(fx->mountinfo, rootdir(fx));
}

static void test_hybrid(void **state)
{
	struct fx *fx = *state;
	const char *m[] = {
	    "cpu",	  "cgroup",  "rw,cpu",	      "cpuacct",   "cgroup",
	    "rw,cpuacct", "memory",  "cgroup",	      "rw,memory", "pids",
	    "cgroup",	  "rw,pids", "systemd",	      "cgroup",	   "rw,xattr,name=systemd",
	    "unified",	  "cgroup2", "rw,nsdelegate", NULL};
	char want[256];
	struct cg_layout *l = detect(fx, m, "/unified", "hugetlb\n");

	assert_non_null(l);
	assert_int_equal(l->mode, CG_MODE_HYBRID);
	snprintf(want, sizeof(want), "%s/root/memory", fx->dir);
	assert_string_equal(l->v1[CG_MEMORY], want);
	snprintf(want, sizeof(want), "%s/root/cpuacct", fx->dir);
	assert_string_equal(l->v1[CG_CPUACCT], want);
	snprintf(want, sizeof(want), "%s/root/unified", fx->dir);
	assert_string_equal(l->unified, want);
	assert_false(l->v2_ctrl[CG_MEMORY]);
	assert_false(l->v2_ctrl[CG_PIDS]);
	cg_layout_free(l);
}

static void test_pure_v2(void **state)
{
	struct fx *fx = *state;
	const char *m[] = {".", "cgroup2", "rw,nsdelegate,memory_recursiveprot", NULL};
	struct cg_layout *l = detect(fx, m, "", "cpuset cpu io memory hugetlb pids rdma misc\n");

	assert_non_null(l);
	assert_int_equal(l->mode, CG_MODE_V2);
	assert_string_equal(l->unified, rootdir(fx));
	assert_true(l->v2_ctrl[CG_CPU]);
	assert_true(l->v2_ctrl[CG_MEMORY]);
	assert_true(l->v2_ctrl[CG_PIDS]);
	for (int c = 0; c < CG_CTRL_N; c++)
		assert_null(l->v1[c]);
	cg_layout_free(l);

	/* "cpuset" contains "cpu" as a prefix only: without "cpu" there is no cpu controller. */
	l = detect(fx, m, "", "cpuset io memory pids\n");
	assert_non_null(l);
	assert_false(l->v2_ctrl[CG_CPU]);
	assert_true(l->v2_ctrl[CG_MEMORY]);
	cg_layout_free(l);
}

static void test_v1_comounted(void **state)
{
	struct fx *fx = *state;
	const char *m[] = {"cpu,cpuacct", "cgroup", "rw,cpu,cpuacct", "memory",	 "cgroup",
			   "rw,memory",	  "pids",   "cgroup",	      "rw,pids", NULL};
	struct cg_layout *l = detect(fx, m, NULL, NULL);

	assert_non_null(l);
	assert_int_equal(l->mode, CG_MODE_V1);
	assert_null(l->unified);
	assert_non_null(l->v1[CG_CPU]);
	assert_string_equal(l->v1[CG_CPU], l->v1[CG_CPUACCT]);

	/* One directory per distinct hierarchy: cpu and cpuacct share one. */
	struct cg *cg = cg_open(l, "drover/n1/pods/u1/c1");
	assert_non_null(cg);
	assert_int_equal(cg->n, 3);
	assert_int_equal(cg->ctrl_dir[CG_CPU], cg->ctrl_dir[CG_CPUACCT]);
	assert_int_equal(cg->unified_dir, -1);
	cg_free(cg);
	cg_layout_free(l);
}

static void test_escaped_and_missing(void **state)
{
	struct fx *fx = *state;
	char path[256];
	struct cg_layout *l;

	snprintf(path, sizeof(path), "%s/root/with space", fx->dir);
	mkdir(rootdir(fx), 0755);
	mkdir(path, 0755);
	FILE *f = fopen(fx->mountinfo, "w");
	fprintf(f, "30 22 0:30 / %s/root/with\\040space rw - cgroup cgroup rw,memory\n", fx->dir);
	fclose(f);
	l = cg_layout_detect(fx->mountinfo, rootdir(fx));
	assert_non_null(l);
	assert_string_equal(l->v1[CG_MEMORY], path);
	cg_layout_free(l);

	/* No cgroup mount under the root at all. */
	const char *none[] = {NULL};
	write_mountinfo(fx, none);
	errno = 0;
	assert_null(cg_layout_detect(fx->mountinfo, rootdir(fx)));
	assert_int_equal(errno, ENOENT);
	/* No mountinfo. */
	errno = 0;
	assert_null(cg_layout_detect("/nonexistent/mountinfo", rootdir(fx)));
	assert_int_equal(errno, ENOENT);
}

static struct cg_layout *hybrid_layout(struct fx *fx)
{
	const char *m[] = {"cpu",     "cgroup",	 "rw,cpu",    "cpuacct", "cgroup", "rw,cpuacct",
			   "memory",  "cgroup",	 "rw,memory", "pids",	 "cgroup", "rw,pids",
			   "unified", "cgroup2", "rw",	      NULL};

	return detect(fx, m, NULL, NULL);
}

static void test_bad_paths(void **state)
{
	struct fx *fx = *state;
	struct cg_layout *l = hybrid_layout(fx);
	const char *bad[] = {"", "/drover", "../x", "a/../b", "a//b", "a/./b", "a/", ".", ".."};

	assert_non_null(l);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(cg_create(l, bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	cg_layout_free(l);
}

static void test_v1_limits_and_usage(void **state)
{
	struct fx *fx = *state;
	struct cg_layout *l = hybrid_layout(fx);
	struct cg_limits lim = {.cpu_request_milli = 250,
				.cpu_limit_milli = 500,
				.memory_bytes = 64 << 20,
				.pids_max = 50};
	const char *files[][2] = {{"cpu", "cpu.shares"},
				  {"cpu", "cpu.cfs_period_us"},
				  {"cpu", "cpu.cfs_quota_us"},
				  {"memory", "memory.limit_in_bytes"},
				  {"pids", "pids.max"}};
	const char *want[] = {"256", "100000", "50000", "67108864", "50"};
	char path[512];
	struct cg_usage u;
	struct cg *cg;

	assert_non_null(l);
	cg = cg_create(l, "drover/n1/pods/u1/c1");
	assert_non_null(cg);
	assert_int_equal(cg->n, 5);
	for (int i = 0; i < cg->n; i++) {
		struct stat st;

		assert_int_equal(stat(cg->dir[i], &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	/* A fake tree has no control files until the test makes them. */
	assert_int_equal(cg_set_limits(cg, &lim), -ENOENT);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/root/%s/drover/n1/pods/u1/c1/%s", fx->dir,
			 files[i][0], files[i][1]);
		put(path, "");
	}
	assert_int_equal(cg_set_limits(cg, &lim), 0);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/root/%s/drover/n1/pods/u1/c1/%s", fx->dir,
			 files[i][0], files[i][1]);
		assert_string_equal(slurp(path), want[i]);
	}
	/* No limits: the "unlimited" values are written back (an in-place update). */
	struct cg_limits none = CG_LIMITS_NONE;
	assert_int_equal(cg_set_limits(cg, &none), 0);
	snprintf(path, sizeof(path), "%s/root/cpu/drover/n1/pods/u1/c1/cpu.cfs_quota_us", fx->dir);
	assert_string_equal(slurp(path), "-1");
	snprintf(path, sizeof(path), "%s/root/memory/drover/n1/pods/u1/c1/memory.limit_in_bytes",
		 fx->dir);
	assert_string_equal(slurp(path), "-1");
	snprintf(path, sizeof(path), "%s/root/pids/drover/n1/pods/u1/c1/pids.max", fx->dir);
	assert_string_equal(slurp(path), "max");

	snprintf(path, sizeof(path), "%s/root/memory/drover/n1/pods/u1/c1/memory.usage_in_bytes",
		 fx->dir);
	put(path, "1234\n");
	snprintf(path, sizeof(path), "%s/root/cpuacct/drover/n1/pods/u1/c1/cpuacct.usage", fx->dir);
	put(path, "5000000\n");
	assert_int_equal(cg_read_usage(cg, &u), 0);
	assert_int_equal(u.memory_bytes, 1234);
	assert_int_equal(u.cpu_usec, 5000);
	/* OOM kills: v1's memory.oom_control counter (none: 0) */
	assert_int_equal(cg_oom_kills(cg), 0);
	snprintf(path, sizeof(path), "%s/root/memory/drover/n1/pods/u1/c1/memory.oom_control",
		 fx->dir);
	put(path, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	assert_int_equal(cg_oom_kills(cg), 2);
	cg_free(cg);
	cg_layout_free(l);
}

static void test_v2_limits_and_usage(void **state)
{
	struct fx *fx = *state;
	const char *m[] = {".", "cgroup2", "rw", NULL};
	struct cg_limits lim = {.cpu_request_milli = 1000,
				.cpu_limit_milli = 1500,
				.memory_bytes = 1 << 30,
				.pids_max = 100};
	const char *names[] = {"cpu.weight", "cpu.max", "memory.max", "pids.max"};
	const char *want[] = {"39", "150000 100000", "1073741824", "100"};
	const char *ancestors[] = {"", "/drover", "/drover/n1"};
	char path[512], base[256];
	struct cg_layout *l;
	struct cg_usage u;
	struct cg *cg;

	l = detect(fx, m, "", "cpu memory pids\n");
	assert_non_null(l);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/root%s", fx->dir, ancestors[i]);
		mkdir(path, 0755);
		strcat(path, "/cgroup.subtree_control");
		put(path, "");
	}
	cg = cg_create(l, "drover/n1/c1");
	assert_non_null(cg);
	assert_int_equal(cg->n, 1);
	/* Every ancestor enables the controllers for its children, the leaf does not. */
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/root%s/cgroup.subtree_control", fx->dir,
			 ancestors[i]);
		assert_string_equal(slurp(path), "+cpu +memory +pids");
	}
	snprintf(path, sizeof(path), "%s/root/drover/n1/c1/cgroup.subtree_control", fx->dir);
	assert_null(slurp(path));
	snprintf(base, sizeof(base), "%s/root/drover/n1/c1", fx->dir);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", base, names[i]);
		put(path, "");
	}
	assert_int_equal(cg_set_limits(cg, &lim), 0);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", base, names[i]);
		assert_string_equal(slurp(path), want[i]);
	}
	lim.cpu_limit_milli = 0;
	lim.memory_bytes = 0;
	assert_int_equal(cg_set_limits(cg, &lim), 0);
	snprintf(path, sizeof(path), "%s/cpu.max", base);
	assert_string_equal(slurp(path), "max 100000");
	snprintf(path, sizeof(path), "%s/memory.max", base);
	assert_string_equal(slurp(path), "max");

	snprintf(path, sizeof(path), "%s/memory.current", base);
	put(path, "4096\n");
	snprintf(path, sizeof(path), "%s/cpu.stat", base);
	put(path, "usage_usec 42\nuser_usec 40\nsystem_usec 2\n");
	assert_int_equal(cg_read_usage(cg, &u), 0);
	assert_int_equal(u.memory_bytes, 4096);
	assert_int_equal(u.cpu_usec, 42);
	/* OOM kills: v2's memory.events counter, not oom or oom_group_kill */
	snprintf(path, sizeof(path), "%s/memory.events", base);
	put(path, "low 0\nhigh 0\nmax 9\noom 4\noom_kill 3\noom_group_kill 0\n");
	assert_int_equal(cg_oom_kills(cg), 3);
	cg_free(cg);

	/* Without a pids controller, a pids limit is refused rather than silently dropped. */
	cg_layout_free(l);
	l = detect(fx, m, "", "cpu memory\n");
	cg = cg_open(l, "drover/n1/c1");
	assert_non_null(cg);
	lim.pids_max = 10;
	assert_int_equal(cg_set_limits(cg, &lim), -EOPNOTSUPP);
	cg_free(cg);
	cg_layout_free(l);
}

/* A failed create leaves nothing behind: a file where a directory must go. */
static void test_create_rollback(void **state)
{
	struct fx *fx = *state;
	struct cg_layout *l = hybrid_layout(fx);
	char path[256];
	struct stat st;

	assert_non_null(l);
	snprintf(path, sizeof(path), "%s/root/pids/drover", fx->dir);
	put(path, "not a directory");
	errno = 0;
	assert_null(cg_create(l, "drover/n1/c1"));
	assert_int_equal(errno, ENOTDIR);
	snprintf(path, sizeof(path), "%s/root/cpu/drover", fx->dir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/root/memory/drover", fx->dir);
	assert_int_equal(stat(path, &st), -1);
	cg_layout_free(l);
}

/* pkg/kubelet/cm/helpers_linux.go: MilliCPUToShares, MilliCPUToQuota; CpuSharesToCpuWeight. */
static void test_millicores(void **state)
{
	(void)state;
	assert_int_equal(cg_millicpu_to_shares(0), 2);
	assert_int_equal(cg_millicpu_to_shares(1), 2);
	assert_int_equal(cg_millicpu_to_shares(2), 2);
	assert_int_equal(cg_millicpu_to_shares(100), 102);
	assert_int_equal(cg_millicpu_to_shares(250), 256);
	assert_int_equal(cg_millicpu_to_shares(500), 512);
	assert_int_equal(cg_millicpu_to_shares(1000), 1024);
	assert_int_equal(cg_millicpu_to_shares(256000), 262144);
	assert_int_equal(cg_millicpu_to_shares(300000), 262144);
	assert_int_equal(cg_millicpu_to_shares(INT64_MAX), 262144);

	assert_int_equal(cg_millicpu_to_quota(0, 100000), 0);
	assert_int_equal(cg_millicpu_to_quota(1, 100000), 1000); /* at least MinQuotaPeriod */
	assert_int_equal(cg_millicpu_to_quota(10, 100000), 1000);
	assert_int_equal(cg_millicpu_to_quota(11, 100000), 1100);
	assert_int_equal(cg_millicpu_to_quota(500, 100000), 50000);
	assert_int_equal(cg_millicpu_to_quota(1500, 100000), 150000);
	assert_int_equal(cg_millicpu_to_quota(250, 50000), 12500);
	assert_true(cg_millicpu_to_quota(INT64_MAX, 100000) > 0);

	assert_int_equal(cg_shares_to_weight(2), 1);
	assert_int_equal(cg_shares_to_weight(1024), 39);
	assert_int_equal(cg_shares_to_weight(512), 20);
	assert_int_equal(cg_shares_to_weight(262144), 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hybrid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pure_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_comounted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaped_and_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_limits_and_usage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_limits_and_usage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_rollback, setup, teardown),
	    cmocka_unit_test(test_millicores),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
