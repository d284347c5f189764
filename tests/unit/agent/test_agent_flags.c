/* SPDX-License-Identifier: Apache-2.0 */
/* test_agent_flags: `drover agent`'s command line: defaults, every flag, and bad input (one
 * message, nothing kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "drover_abi.h"

static int parse(struct agent_config *c, char *err, const char *const *args)
{
	char *argv[32];
	int n = 0;

	argv[n++] = (char *)"agent";
	while (*args)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	return agent_config_parse(n, argv, c, err, 256);
}

static void test_defaults(void **state)
{
	struct agent_config c;
	char err[256] = "";
	const char *args[] = {"--kubeconfig", "k", "--node", "n-1", NULL};

	(void)state;
	assert_int_equal(parse(&c, err, args), 0);
	assert_string_equal(c.kubeconfig, "k");
	assert_string_equal(c.node, "n-1");
	assert_string_equal(c.root, AGENT_ROOT);
	assert_string_equal(c.cgroup_parent, "drover/n-1");
	assert_null(c.image_root);
	assert_null(c.cni_conf);
	assert_null(c.node_ip);
	assert_int_equal(c.port, 10250);
	assert_string_equal(c.pin_root, "/sys/fs/bpf/drover"); /* the proxy's default */
	assert_false(c.no_proxy);
	assert_false(c.no_telemetry);
	assert_int_equal(c.tl_max_series, DRV_TL_SERIES_MAP_SIZE_DEFAULT);
	assert_int_equal(c.tl_ringbuf_bytes, DRV_TL_RINGBUF_SIZE_DEFAULT);
	assert_int_equal(c.start_workers, AGENT_START_WORKERS);
	assert_int_equal(c.nlabels, 0);
	assert_string_equal(c.cluster_domain, "cluster.local");
	assert_string_equal(c.cluster_dns, "10.96.0.10");
	assert_false(c.no_dns);
	agent_config_free(&c);
}

/* The cluster DNS's flags (the kubelet's --cluster-domain and --cluster-dns). */
static void test_dns(void **state)
{
	struct agent_config c;
	char err[256] = "";
	const char *args[] = {"--kubeconfig",	  "k",	      "--node",	       "n",
			      "--cluster-domain", "corp.lan", "--cluster-dns", "10.0.0.10",
			      "--no-dns",	  NULL};

	(void)state;
	assert_int_equal(parse(&c, err, args), 0);
	assert_string_equal(c.cluster_domain, "corp.lan");
	assert_string_equal(c.cluster_dns, "10.0.0.10");
	assert_true(c.no_dns);
	assert_int_equal(c.n_dns_upstreams, 0); /* the node's resolv.conf */
	agent_config_free(&c);
	/* --dns-upstream: repeatable, in order; none alone */
	{
		const char *up[] = {"--kubeconfig",
				    "k",
				    "--node",
				    "n",
				    "--dns-upstream",
				    "1.1.1.1",
				    "--dns-upstream",
				    "127.0.0.2:5353",
				    NULL};
		const char *none[] = {"--kubeconfig",	"k",	"--node", "n",
				      "--dns-upstream", "none", NULL};

		assert_int_equal(parse(&c, err, up), 0);
		assert_int_equal(c.n_dns_upstreams, 2);
		assert_string_equal(c.dns_upstreams[0], "1.1.1.1");
		assert_string_equal(c.dns_upstreams[1], "127.0.0.2:5353");
		agent_config_free(&c);
		assert_int_equal(parse(&c, err, none), 0);
		assert_int_equal(c.n_dns_upstreams, 1);
		assert_string_equal(c.dns_upstreams[0], "none");
		agent_config_free(&c);
	}
}

static void test_all(void **state)
{
	struct agent_config c;
	char err[256] = "";
	const char *args[] = {"--kubeconfig",
			      "k",
			      "--node",
			      "n",
			      "--root",
			      "/r",
			      "--image-root",
			      "/i",
			      "--cni-bin-dir",
			      "/b",
			      "--cni-conf",
			      "/c.conf",
			      "--cgroup-parent",
			      "x/y",
			      "--node-ip",
			      "10.1.2.3",
			      "--labels",
			      "a=1,example.com/b=",
			      "--port",
			      "10351",
			      "--pin-root",
			      "/sys/fs/bpf/n1",
			      "--no-proxy",
			      "--no-telemetry",
			      "--telemetry-max-series",
			      "2",
			      "--telemetry-ringbuf-bytes",
			      "8192",
			      "--pod-start-workers",
			      "64",
			      NULL};

	(void)state;
	assert_int_equal(parse(&c, err, args), 0);
	assert_string_equal(c.root, "/r");
	assert_string_equal(c.image_root, "/i");
	assert_string_equal(c.cni_bin_dir, "/b");
	assert_string_equal(c.cni_conf, "/c.conf");
	assert_string_equal(c.cgroup_parent, "x/y");
	assert_string_equal(c.node_ip, "10.1.2.3");
	assert_int_equal(c.port, 10351);
	assert_string_equal(c.pin_root, "/sys/fs/bpf/n1");
	assert_true(c.no_proxy);
	assert_true(c.no_telemetry);
	assert_int_equal(c.tl_max_series, 2);
	assert_int_equal(c.tl_ringbuf_bytes, 8192);
	assert_int_equal(c.start_workers, 64);
	assert_int_equal(c.nlabels, 2);
	assert_string_equal(c.labels[1].key, "example.com/b");
	assert_string_equal(c.labels[1].value, "");
	agent_config_free(&c);
}

/* drover-cni's drover.pinRoot takes at most 200 bytes */
#define LONG_PIN_ROOT                                                                            \
	"/sys/fs/bpf/"                                                                           \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxx"

static void test_bad(void **state)
{
	static const char *const bad[][10] = {
	    {NULL},
	    {"--node", "n", NULL},
	    {"--kubeconfig", "k", NULL},
	    {"--kubeconfig", "k", "--node", "Bad_Name", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--node-ip", "1.2.3", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--labels", "novalue", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--labels", "-a=b", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--cgroup-parent", "/abs", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--cgroup-parent", "a/../b", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--log-level", "loud", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--bogus", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--port", "0", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--port", "65536", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--port", "10250x", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--port", "", NULL},
	    {"--kubeconfig", "k", "--node", "n", "extra", NULL},
	    {"--kubeconfig", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pin-root", "rel/dir", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pin-root", "", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pin-root", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pin-root", LONG_PIN_ROOT, NULL},
	    {"--kubeconfig", "k", "--node", "n", "--no-proxy=yes", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry-max-series", "0", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry-max-series", "16777217", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry-max-series", "-1", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry-ringbuf-bytes", "5000", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry-ringbuf-bytes", "1024", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry-ringbuf-bytes", "2147483648", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry-ringbuf-bytes", "8k", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--telemetry=no", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--cluster-domain", "Bad_Domain", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--cluster-domain", "", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--cluster-dns", "10.96.0", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--cluster-dns", "fd00::a", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pod-start-workers", "0", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pod-start-workers", "65", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pod-start-workers", "2x", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--pod-start-workers", "", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--dns-upstream", "8.8.8", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--dns-upstream", "8.8.8.8:0", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--dns-upstream", "fd00::1", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--dns-upstream", "", NULL},
	    {"--kubeconfig", "k", "--node", "n", "--dns-upstream", "none", "--dns-upstream",
	     "1.1.1.1", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct agent_config c;
		char err[256] = "";

		if (parse(&c, err, bad[i]) != -EINVAL)
			fail_msg("case %zu: accepted", i);
		if (!err[0] || strchr(err, '\n'))
			fail_msg("case %zu: message \"%s\"", i, err);
		agent_config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_dns),
	    cmocka_unit_test(test_all),
	    cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
