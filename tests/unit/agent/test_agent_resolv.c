/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod's resolv.conf as the kubelet makes it (agent_resolv.h): each dnsPolicy, the host
 * network's fallback to the node's file, spec.dnsConfig merged (appendDNSConfig: servers and
 * searches appended without duplicates, options by name overriding).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent_resolv.h"
#include "k8s_jv.h"

static const char host[] = "# the node's\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"
			   "search corp.example. lab.example\noptions timeout:2 attempts:3\n";

static void check(const char *spec, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	char body[1024], out[4096];
	struct jv *pod;
	struct resolv_in in = {.ns = "team",
			       .cluster_domain = "cluster.local",
			       .cluster_dns = "10.96.0.10",
			       .host_conf = host};

	snprintf(body, sizeof(body), "{\"spec\":%s}", spec);
	pod = jv_parse(d, body, strlen(body), NULL);
	assert_non_null(pod);
	in.pod = pod;
	assert_int_equal(resolv_build(&in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	jv_doc_free(d);
}

static const char cluster[] = "search team.svc.cluster.local svc.cluster.local cluster.local "
			      "corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n";
static const char node[] = "search corp.example lab.example\nnameserver 192.0.2.53\n"
			   "nameserver 192.0.2.54\noptions timeout:2 attempts:3\n";

static void test_policies(void **state)
{
	(void)state;
	check("{}", cluster); /* ClusterFirst by default */
	check("{\"dnsPolicy\":\"ClusterFirst\"}", cluster);
	check("{\"dnsPolicy\":\"Default\"}", node);
	/* on the host network ClusterFirst is Default; ClusterFirstWithHostNet is not */
	check("{\"dnsPolicy\":\"ClusterFirst\",\"hostNetwork\":true}", node);
	check("{\"dnsPolicy\":\"ClusterFirstWithHostNet\",\"hostNetwork\":true}", cluster);
	check("{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"1.2.3.4\"]}}",
	      "nameserver 1.2.3.4\n");
}

static void test_dns_config(void **state)
{
	(void)state;
	check("{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"1.2.3.4\"],"
	      "\"searches\":[\"a.example\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},"
	      "{\"name\":\"edns0\"}]}}",
	      "search a.example\nnameserver 1.2.3.4\noptions ndots:2 edns0\n");
	/* merged into ClusterFirst: appended, duplicates once, ndots overridden in place */
	check("{\"dnsConfig\":{\"nameservers\":[\"10.96.0.10\",\"1.2.3.4\"],"
	      "\"searches\":[\"svc.cluster.local\",\"x.example\"],"
	      "\"options\":[{\"name\":\"ndots\",\"value\":\"1\"},{\"name\":\"single-request\"}]}}",
	      "search team.svc.cluster.local svc.cluster.local cluster.local corp.example "
	      "lab.example x.example\nnameserver 10.96.0.10\nnameserver 1.2.3.4\n"
	      "options ndots:1 single-request\n");
	/* at most 3 nameservers (the kubelet's limit) */
	check("{\"dnsPolicy\":\"Default\",\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\","
	      "\"2.2.2.2\"]}}",
	      "search corp.example lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"
	      "nameserver 1.1.1.1\noptions timeout:2 attempts:3\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policies),
	    cmocka_unit_test(test_dns_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
