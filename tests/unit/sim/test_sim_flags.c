/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sim_flags: `drover sim`'s command line: the defaults, every flag taken, and every bad
 * value refused with one line that names the flag (the command exits 2 with it): unknown
 * flags, missing values, numbers out of range, quantities, label and taint syntax, node
 * names, and the ranges (N nodes that do not fit the cluster CIDR, --pods that do not fit a
 * node's range).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "sim_cidr.h"

#define MAX_ARGS 64

/* Parse "sim" + the NULL-terminated arguments. */
static int parse(struct sim_config *c, char *err, size_t errlen, ...)
{
	char *argv[MAX_ARGS] = {"sim"};
	int argc = 1;
	va_list ap;

	va_start(ap, errlen);
	for (char *a; (a = va_arg(ap, char *)) && argc < MAX_ARGS - 1;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return sim_config_parse(c, argc, argv, err, errlen);
}

static void test_defaults(void **state)
{
	struct sim_config c;
	char err[512], name[64], buf[20];

	(void)state;
	assert_int_equal(parse(&c, err, sizeof(err), "--nodes", "3", NULL), 0);
	assert_int_equal(c.nodes, 3);
	assert_null(c.name);
	assert_string_equal(c.name_prefix, "sim-");
	assert_string_equal(c.cpu, "8");
	assert_string_equal(c.memory, "32Gi");
	assert_string_equal(c.pods, "110");
	assert_string_equal(c.ephemeral_storage, "100Gi");
	assert_int_equal(c.zones, 0);
	assert_string_equal(sim_net_str(&c.cluster_cidr, buf), "10.244.0.0/16");
	assert_int_equal(c.node_mask, 24);
	assert_string_equal(sim_net_str(&c.node_ips, buf), "172.16.0.0/12");
	assert_true(c.lease_renew_s == 2.5);
	assert_true(c.job_seconds == 1);
	assert_int_equal(c.max_grace_s, -1);
	assert_null(c.kubeconfig);
	assert_int_equal(c.workers, 32);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_false(c.delete_on_exit);
	sim_node_name(&c, 2, name, sizeof(name));
	assert_string_equal(name, "sim-2");
	sim_config_free(&c);
}

static void test_all_flags(void **state)
{
	struct sim_config c;
	char err[512], name[64], buf[20];

	(void)state;
	assert_int_equal(
	    parse(&c, err, sizeof(err), "--nodes=1000", "--name-prefix", "kw-", "--cpu", "500m",
		  "--memory", "1.5Gi", "--pods", "60", "--ephemeral-storage", "10G", "--zones", "3",
		  "--labels", "a=b,example.com/tier=web,empty=", "--taints",
		  "dedicated=gpu:NoSchedule,spot:PreferNoSchedule", "--cluster-cidr", "10.0.0.0/8",
		  "--node-cidr-mask-size", "26", "--node-ip-base", "192.168.0.0/16",
		  "--lease-renew", "0.5", "--job-seconds", "0", "--max-grace", "2", "--kubeconfig",
		  "/tmp/kc", "--workers", "4", "--log-level", "debug", "--delete-on-exit", NULL),
	    0);
	assert_int_equal(c.nodes, 1000);
	sim_node_name(&c, 999, name, sizeof(name));
	assert_string_equal(name, "kw-999");
	assert_string_equal(c.cpu, "500m");
	assert_string_equal(c.memory, "1.5Gi");
	assert_string_equal(c.pods, "60");
	assert_string_equal(c.ephemeral_storage, "10G");
	assert_int_equal(c.zones, 3);
	assert_int_equal(c.nlabels, 3);
	assert_string_equal(c.labels[1].key, "example.com/tier");
	assert_string_equal(c.labels[1].value, "web");
	assert_string_equal(c.labels[2].value, "");
	assert_int_equal(c.ntaints, 2);
	assert_string_equal(c.taints[0].key, "dedicated");
	assert_string_equal(c.taints[0].value, "gpu");
	assert_string_equal(c.taints[0].effect, "NoSchedule");
	assert_string_equal(c.taints[1].key, "spot");
	assert_string_equal(c.taints[1].value, "");
	assert_string_equal(c.taints[1].effect, "PreferNoSchedule");
	assert_string_equal(sim_net_str(&c.cluster_cidr, buf), "10.0.0.0/8");
	assert_int_equal(c.node_mask, 26);
	assert_string_equal(sim_net_str(&c.node_ips, buf), "192.168.0.0/16");
	assert_true(c.lease_renew_s == 0.5);
	assert_true(c.job_seconds == 0);
	assert_int_equal(c.max_grace_s, 2);
	assert_string_equal(c.kubeconfig, "/tmp/kc");
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_true(c.delete_on_exit);
	sim_config_free(&c);

	assert_int_equal(parse(&c, err, sizeof(err), "--name", "edge-1.example", NULL), 0);
	assert_int_equal(c.nodes, 1);
	sim_node_name(&c, 0, name, sizeof(name));
	assert_string_equal(name, "edge-1.example");
	sim_config_free(&c);

	/* --nodes 1 beside --name is no conflict */
	assert_int_equal(parse(&c, err, sizeof(err), "--nodes", "1", "--name", "x", NULL), 0);
	sim_config_free(&c);
	assert_int_equal(parse(&c, err, sizeof(err), "--help", NULL), SIM_HELP);
	sim_config_free(&c);
}

/* Each bad command line is refused with a message that holds want. */
static void bad(const char *want, ...)
{
	char *argv[MAX_ARGS] = {"sim"};
	struct sim_config c;
	char err[512];
	int argc = 1, rc;
	va_list ap;

	va_start(ap, want);
	for (char *a; (a = va_arg(ap, char *)) && argc < MAX_ARGS - 1;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	rc = sim_config_parse(&c, argc, argv, err, sizeof(err));
	sim_config_free(&c);
	if (rc != -EINVAL)
		fail_msg("%s ...: rc %d, expected -EINVAL", argv[1], rc);
	if (!strstr(err, want))
		fail_msg("%s ...: \"%s\" lacks \"%s\"", argv[1], err, want);
	if (strchr(err, '\n'))
		fail_msg("more than one line: \"%s\"", err);
}

static void test_bad(void **state)
{
	(void)state;
	bad("--nodes N or --name NAME is required", NULL);
	bad("unknown flag --bogus", "--nodes", "1", "--bogus", NULL);
	bad("flag --nodes needs a value", "--nodes", NULL);
	bad("unexpected argument \"extra\"", "--nodes", "1", "extra", NULL);
	bad("--nodes: \"0\"", "--nodes", "0", NULL);
	bad("--nodes: \"-3\"", "--nodes", "-3", NULL);
	bad("--nodes: \"3x\"", "--nodes", "3x", NULL);
	bad("--nodes: \"100001\"", "--nodes", "100001", NULL);
	bad("--name runs one node", "--nodes", "2", "--name", "a", NULL);
	bad("--name: \"Upper\"", "--name", "Upper", NULL);
	bad("--name: \"a..b\"", "--name", "a..b", NULL);
	bad("--name: \"-a\"", "--name", "-a", NULL);
	bad("node name \"Sim-0\"", "--nodes", "2", "--name-prefix", "Sim-", NULL);
	bad("--cpu: \"abc\"", "--nodes", "1", "--cpu", "abc", NULL);
	bad("--cpu: \"-1\"", "--nodes", "1", "--cpu", "-1", NULL);
	bad("--cpu: \"0\"", "--nodes", "1", "--cpu", "0", NULL);
	bad("--memory: \"32GB\"", "--nodes", "1", "--memory", "32GB", NULL);
	bad("--ephemeral-storage: \"x\"", "--nodes", "1", "--ephemeral-storage", "x", NULL);
	bad("--pods: \"1.5\"", "--nodes", "1", "--pods", "1.5", NULL);
	bad("--pods: \"0\"", "--nodes", "1", "--pods", "0", NULL);
	bad("--zones: \"many\"", "--nodes", "1", "--zones", "many", NULL);
	bad("--labels: \"novalue\" is not key=value", "--nodes", "1", "--labels", "novalue", NULL);
	bad("--labels: \"-x\" is not a valid label key", "--nodes", "1", "--labels", "a=b,-x=y",
	    NULL);
	bad("--labels: \"Bad_Prefix.com/x\" is not a valid label key", "--nodes", "1", "--labels",
	    "Bad_Prefix.com/x=1", NULL);
	bad("--labels: \"a b\" is not a valid label value", "--nodes", "1", "--labels", "k=a b",
	    NULL);
	bad("--labels: \"" /* 64 characters */
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not a valid "
	    "label value",
	    "--nodes", "1", "--labels",
	    "k=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL);
	bad("--taints: \"k=v\" is not key[=value]:Effect", "--nodes", "1", "--taints", "k=v", NULL);
	bad("--taints: effect \"Bad\"", "--nodes", "1", "--taints", "k=v:Bad", NULL);
	bad("--taints: \"k k\" is not a valid taint key", "--nodes", "1", "--taints",
	    "k k:NoSchedule", NULL);
	bad("--cluster-cidr: \"10.0.0.0\"", "--nodes", "1", "--cluster-cidr", "10.0.0.0", NULL);
	bad("--node-cidr-mask-size: \"31\"", "--nodes", "1", "--node-cidr-mask-size", "31", NULL);
	bad("--node-cidr-mask-size 8: must be from the cluster CIDR's prefix (/16)", "--nodes", "1",
	    "--node-cidr-mask-size", "8", NULL);
	bad("300 nodes do not fit --cluster-cidr 10.244.0.0/16: it holds 256 /24 node ranges",
	    "--nodes", "300", NULL);
	bad("5000 nodes do not fit --cluster-cidr 10.244.0.0/16", "--nodes", "5000", NULL);
	bad("--pods 110 does not fit a /26 podCIDR (61 pod addresses)", "--nodes", "1",
	    "--node-cidr-mask-size", "26", NULL);
	bad("--node-ip-base 10.0.0.0/30: 3 nodes need", "--nodes", "3", "--node-ip-base",
	    "10.0.0.0/30", NULL);
	bad("--node-ip-base: \"x\"", "--nodes", "1", "--node-ip-base", "x", NULL);
	bad("--lease-renew: \"0\"", "--nodes", "1", "--lease-renew", "0", NULL);
	bad("--lease-renew: 40 is not under the Lease's duration", "--nodes", "1", "--lease-renew",
	    "40", NULL);
	bad("--lease-renew: \"nan\"", "--nodes", "1", "--lease-renew", "nan", NULL);
	bad("--job-seconds: \"-1\"", "--nodes", "1", "--job-seconds", "-1", NULL);
	bad("--max-grace: \"-1\"", "--nodes", "1", "--max-grace", "-1", NULL);
	bad("--workers: \"33\"", "--nodes", "1", "--workers", "33", NULL);
	bad("--workers: \"0\"", "--nodes", "1", "--workers", "0", NULL);
	bad("--log-level: \"loud\"", "--nodes", "1", "--log-level", "loud", NULL);
}

/* The boundaries that just fit. */
static void test_fits(void **state)
{
	struct sim_config c;
	char err[512];

	(void)state;
	assert_int_equal(parse(&c, err, sizeof(err), "--nodes", "256", NULL), 0);
	sim_config_free(&c);
	assert_int_equal(
	    parse(&c, err, sizeof(err), "--nodes", "5000", "--cluster-cidr", "10.0.0.0/11", NULL),
	    0);
	sim_config_free(&c);
	/* a /25 has 125 pod addresses */
	assert_int_equal(parse(&c, err, sizeof(err), "--nodes", "1", "--node-cidr-mask-size", "25",
			       "--pods", "125", NULL),
			 0);
	sim_config_free(&c);
	assert_int_equal(parse(&c, err, sizeof(err), "--nodes", "1", "--node-cidr-mask-size", "25",
			       "--pods", "126", NULL),
			 -EINVAL);
	sim_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_flags),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
