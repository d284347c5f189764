/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_spread: PodTopologySpread: DoNotSchedule skew, minDomains, a missing topology
 * label, nodeAffinityPolicy and nodeTaintsPolicy, terminating pods, self-match, the empty
 * selector, matchLabelKeys; ScheduleAnyway scores worked by hand.
 */
#include "helpers.h"

#define ZONE "topology.kubernetes.io/zone"
#define HOST "kubernetes.io/hostname"

/* a, b in z1; c in z2; d in z3 */
static struct sched *cluster(void)
{
	struct sched *s = t_sched(NULL);

	t_add_node(s, "a", "8", "16Gi", 110, "\"" ZONE "\":\"z1\"", "");
	t_add_node(s, "b", "8", "16Gi", 110, "\"" ZONE "\":\"z1\"", "");
	t_add_node(s, "c", "8", "16Gi", 110, "\"" ZONE "\":\"z2\"", "");
	t_add_node(s, "d", "8", "16Gi", 110, "\"" ZONE "\":\"z3\",\"ssd\":\"yes\"", "");
	return s;
}

static const char *constraint(char *buf, size_t size, const char *topo, int skew, const char *when,
			      const char *extra)
{
	snprintf(buf, size,
		 "\"topologySpreadConstraints\":[{\"maxSkew\":%d,\"topologyKey\":\"%s\","
		 "\"whenUnsatisfiable\":\"%s\",\"labelSelector\":{\"matchLabels\":{\"app\":"
		 "\"web\"}}%s}]",
		 skew, topo, when, extra);
	return buf;
}

static struct sched_pod *pod(struct sched *s, const char *labels, const char *spec)
{
	char buf[4096];

	return t_parse(s, "%s", t_pod_json(buf, sizeof(buf), "new", labels, "", "", spec, ""));
}

static void web_on(struct sched *s, const char *name, const char *node)
{
	t_add_pod(s, name, "\"app\":\"web\"", "", "", "", node);
}

static void test_skew(void **state)
{
	struct sched *s = cluster();
	char spec[512], buf[128];
	struct sched_pod *p;
	const char *why;

	web_on(s, "w1", "a");
	web_on(s, "w2", "b");
	web_on(s, "w3", "c");
	/* z1 = 2, z2 = 1, z3 = 0: only z3 keeps the skew within 1 */
	p = pod(s, "\"app\":\"web\"", constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "d");
	assert_false(t_fits(s, p, "c", &why));
	assert_string_equal(why, "node(s) didn't match pod topology spread constraints");
	sched_pod_unref(p);
	/* maxSkew 2 lets z2 in too */
	p = pod(s, "\"app\":\"web\"", constraint(spec, sizeof(spec), ZONE, 2, "DoNotSchedule", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c,d");
	sched_pod_unref(p);
	/* a pod that does not match its own selector adds nothing to the skew */
	p = pod(s, "\"app\":\"other\"",
		constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c,d");
	sched_pod_unref(p);
	/* hostname: a, b, c have 1, d 0 */
	p = pod(s, "\"app\":\"web\"", constraint(spec, sizeof(spec), HOST, 1, "DoNotSchedule", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "d");
	sched_pod_unref(p);
	/* ScheduleAnyway constraints do not filter */
	p = pod(s, "\"app\":\"web\"",
		constraint(spec, sizeof(spec), ZONE, 1, "ScheduleAnyway", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	/* an empty selector counts nothing (countPodsMatchSelector) */
	p = pod(s, "\"app\":\"web\"",
		"\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"" ZONE "\","
		"\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{}}]");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	sched_free(s);
}

static void test_min_domains_and_missing_label(void **state)
{
	struct sched *s = cluster();
	char spec[512], buf[128];
	struct sched_pod *p;
	const char *why;

	web_on(s, "w1", "a");
	web_on(s, "w2", "c");
	web_on(s, "w3", "d");
	/* z1 1, z2 1, z3 1: min 1, skew 1 everywhere */
	p = pod(s, "\"app\":\"web\"", constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	/* fewer domains (3) than minDomains (4): the global minimum counts as 0 */
	p = pod(s, "\"app\":\"web\"",
		constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule", ",\"minDomains\":4"));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "");
	sched_pod_unref(p);
	/* a node without the zone label: unresolvable for this pod */
	t_add_node(s, "e", "8", "16Gi", 110, "", "");
	p = pod(s, "\"app\":\"web\"", constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule", ""));
	assert_false(t_fits(s, p, "e", &why));
	assert_string_equal(
	    why, "node(s) didn't match pod topology spread constraints (missing required "
		 "label)");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	sched_free(s);
}

static void test_inclusion_policies(void **state)
{
	struct sched *s = cluster();
	char spec[1024], buf[128];
	struct sched_pod *p;

	web_on(s, "w1", "a");
	web_on(s, "w2", "b");
	web_on(s, "w3", "c");
	/* node affinity to nodes without ssd leaves z3 out of the count (Honor): min is z2's 1 */
	snprintf(
	    spec, sizeof(spec),
	    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
	    "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"ssd\",\"operator\":"
	    "\"DoesNotExist\"}]}]}}},"
	    "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"" ZONE "\","
	    "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":{"
	    "\"app\":\"web\"}}%s}]",
	    "");
	p = pod(s, "\"app\":\"web\"", spec);
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c");
	sched_pod_unref(p);
	/* Ignore: z3 counts (min 0) and the node affinity still filters d: nowhere */
	snprintf(
	    spec, sizeof(spec),
	    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
	    "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"ssd\",\"operator\":"
	    "\"DoesNotExist\"}]}]}}},"
	    "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"" ZONE "\","
	    "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":{"
	    "\"app\":\"web\"}}%s}]",
	    ",\"nodeAffinityPolicy\":\"Ignore\"");
	p = pod(s, "\"app\":\"web\"", spec);
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "");
	sched_pod_unref(p);
	/* taints: by default (Ignore) a tainted z3 still counts; with Honor it does not */
	t_add_node(s, "d", "8", "16Gi", 110, "\"" ZONE "\":\"z3\",\"ssd\":\"yes\"",
		   "\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\"}]}");
	p = pod(s, "\"app\":\"web\"", constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "");
	sched_pod_unref(p);
	p = pod(s, "\"app\":\"web\"",
		constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule",
			   ",\"nodeTaintsPolicy\":\"Honor\""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c");
	sched_pod_unref(p);
	sched_free(s);
}

static void test_terminating_and_match_label_keys(void **state)
{
	struct sched *s = cluster();
	char spec[512], buf[128];
	struct sched_pod *p;

	web_on(s, "w1", "a");
	web_on(s, "w2", "c");
	/* a terminating pod on d is not counted: z3 stays at 0, the only zone below the others
	 * (counted, z3 would be 1 like the rest and every node would do) */
	t_pod(s, "{\"metadata\":{\"name\":\"old\",\"namespace\":\"default\",\"uid\":\"uid-old\","
		 "\"labels\":{\"app\":\"web\"},\"deletionTimestamp\":\"2024-01-01T00:00:00Z\"},"
		 "\"spec\":{\"nodeName\":\"d\",\"containers\":[{\"name\":\"c\"}]}}");
	p = pod(s, "\"app\":\"web\"", constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "d");
	sched_pod_unref(p);
	/* matchLabelKeys: only pods of the same revision count (none on z1) */
	t_add_pod(s, "v2", "\"app\":\"web\",\"rev\":\"2\"", "", "", "", "c");
	p = pod(s, "\"app\":\"web\",\"rev\":\"2\"",
		constraint(spec, sizeof(spec), ZONE, 1, "DoNotSchedule",
			   ",\"matchLabelKeys\":[\"rev\"]"));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,d");
	sched_pod_unref(p);
	sched_free(s);
}

static void test_schedule_anyway_scores(void **state)
{
	static const char *const nodes[] = {"a", "b", "c", "d", NULL};
	struct sched *s = cluster();
	char spec[512];
	struct sched_pod *p;
	int64_t v[4];

	web_on(s, "w1", "a");
	web_on(s, "w2", "a");
	web_on(s, "w3", "c");
	/* zone: counts 2, 2, 1, 0 x log(3 + 2) = 3.2, 3.2, 1.6, 0 -> 3, 3, 2, 0;
	 * normalized 100 x (max + min - s) / max */
	p = pod(s, "\"app\":\"web\"",
		constraint(spec, sizeof(spec), ZONE, 1, "ScheduleAnyway", ""));
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 0);
	assert_int_equal(v[2], 33);
	assert_int_equal(v[3], 100);
	sched_pod_unref(p);
	/* hostname, maxSkew 2: per node 2, 0, 1, 0 x log(4 + 2) + 1 -> 5, 1, 3, 1 */
	p = pod(s, "\"app\":\"web\"",
		constraint(spec, sizeof(spec), HOST, 2, "ScheduleAnyway", ""));
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0], 20);
	assert_int_equal(v[1], 100);
	assert_int_equal(v[2], 60);
	assert_int_equal(v[3], 100);
	sched_pod_unref(p);
	/* a scored node without the key is ignored (0), and the others keep their order */
	t_add_node(s, "e", "8", "16Gi", 110, "", "");
	p = pod(s, "\"app\":\"web\"",
		constraint(spec, sizeof(spec), ZONE, 1, "ScheduleAnyway", ""));
	{
		static const char *const five[] = {"a", "b", "c", "d", "e", NULL};
		int64_t w[5];

		t_scores(s, p, T_SPREAD, five, w);
		assert_int_equal(w[0], 0);
		assert_int_equal(w[2], 33);
		assert_int_equal(w[3], 100);
		assert_int_equal(w[4], 0);
	}
	sched_pod_unref(p);
	sched_free(s);
}

/* PodTopologySpread's system defaults: a pod a Service or its controller selects is scored
 * by {hostname, maxSkew 3} and {zone, maxSkew 5} over its siblings. */
static void test_system_defaults(void **state)
{
	static const char *const nodes[] = {"n1", "n2", "n3", NULL};
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	int64_t v[3];

	t_add_node(s, "n1", "8", "16Gi", 110, "", "");
	t_add_node(s, "n2", "8", "16Gi", 110, "", "");
	t_add_node(s, "n3", "8", "16Gi", 110, "", "");
	web_on(s, "w1", "n1");
	web_on(s, "w2", "n1");
	web_on(s, "w3", "n2");
	p = pod(s, "\"app\":\"web\"", "");
	/* nothing selects the pod: no constraints, nothing to score */
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0] + v[1] + v[2], 0);
	/* a Service does: hostname counts 2, 1, 0 x log(3 + 2) + 2 -> 5, 4, 2; the zone
	 * constraint scores no node (none has the key) */
	t_svc(s, "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{"
		 "\"selector\":{\"app\":\"web\"}}}");
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0], 40);
	assert_int_equal(v[1], 60);
	assert_int_equal(v[2], 100);
	/* a Service in another namespace, or selecting other pods, adds nothing; one without a
	 * selector selects nothing */
	t_svc(s, "{\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"},\"spec\":{"
		 "\"selector\":{\"app\":\"db\"}}}");
	t_svc(s, "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{}}");
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0], 40);
	assert_int_equal(sched_service_delete(s, &(struct jv){.type = JV_NULL}), -EINVAL);
	sched_pod_unref(p);
	/* the service goes; the pod's ReplicaSet selects it instead */
	{
		struct jv_doc *d = jv_doc_new();
		struct jv_perr e;
		const char *svc = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"}}";

		assert_int_equal(sched_service_delete(s, jv_parse(d, svc, strlen(svc), &e)), 0);
		jv_doc_free(d);
	}
	p = pod(s, "\"app\":\"web\"", "");
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0] + v[1] + v[2], 0);
	sched_pod_unref(p);
	t_ctrl(s, "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":"
		  "\"web-1\",\"namespace\":\"default\"},\"spec\":{\"selector\":{\"matchLabels\":"
		  "{\"app\":\"web\"}}}}");
	p = t_parse(s, "{\"metadata\":{\"name\":\"new\",\"namespace\":\"default\",\"uid\":"
		       "\"u\",\"labels\":{\"app\":\"web\"},\"ownerReferences\":[{\"apiVersion\":"
		       "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-1\",\"controller\":"
		       "true}]},\"spec\":{}}");
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0], 40);
	assert_int_equal(v[1], 60);
	assert_int_equal(v[2], 100);
	sched_pod_unref(p);
	/* explicit constraints replace the defaults */
	p = t_parse(s, "{\"metadata\":{\"name\":\"new\",\"namespace\":\"default\",\"uid\":"
		       "\"u\",\"labels\":{\"app\":\"web\"},\"ownerReferences\":[{\"apiVersion\":"
		       "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-1\",\"controller\":"
		       "true}]},\"spec\":{\"topologySpreadConstraints\":[{\"maxSkew\":1,"
		       "\"topologyKey\":\"" ZONE "\",\"whenUnsatisfiable\":\"DoNotSchedule\","
		       "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}}]}}");
	t_scores(s, p, T_SPREAD, nodes, v);
	assert_int_equal(v[0] + v[1] + v[2], 0);
	sched_pod_unref(p);
	/* an unknown controller kind is refused */
	{
		struct jv_doc *d = jv_doc_new();
		struct jv_perr e;
		const char *job = "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{"
				  "\"name\":\"j\",\"namespace\":\"default\"}}";

		assert_int_equal(sched_controller_upsert(s, jv_parse(d, job, strlen(job), &e)),
				 -EINVAL);
		jv_doc_free(d);
	}
	sched_free(s);
}

/* End to end: replicas with a hostname constraint spread one per node. */
static void test_spread_places(void **state)
{
	struct sched *s = t_sched(NULL);
	char spec[512];
	struct sched_result r;

	for (int i = 1; i <= 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		t_add_node(s, name, "4", "8Gi", 110, "", "");
	}
	constraint(spec, sizeof(spec), HOST, 1, "DoNotSchedule", "");
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "web-%d", i);
		t_place(s, name, "\"app\":\"web\"", "", "", spec, NULL);
	}
	for (int i = 1; i <= 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		pthread_mutex_lock(&s->cache.mu);
		assert_int_equal(sched_cache_node(&s->cache, name)->npods, 2);
		pthread_mutex_unlock(&s->cache.mu);
	}
	(void)r;
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_skew),
	    cmocka_unit_test(test_min_domains_and_missing_label),
	    cmocka_unit_test(test_inclusion_policies),
	    cmocka_unit_test(test_terminating_and_match_label_keys),
	    cmocka_unit_test(test_schedule_anyway_scores),
	    cmocka_unit_test(test_system_defaults),
	    cmocka_unit_test(test_spread_places),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
