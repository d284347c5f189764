/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_score: the node-local scores worked by hand (LeastAllocated with non-zero
 * defaults, BalancedAllocation on actual requests, PreferNoSchedule taints reversed,
 * preferred node affinity), their weighted sum picking the node, ties drawn uniformly,
 * percentageOfNodesToScore and where the next search starts, NodeTree's zone order.
 */
#include "helpers.h"

static struct sched_pod *pod(struct sched *s, const char *cpu, const char *mem, const char *spec)
{
	char buf[4096];

	return t_parse(s, "%s", t_pod_json(buf, sizeof(buf), "new", "", cpu, mem, spec, ""));
}

static void test_least_allocated(void **state)
{
	static const char *const nodes[] = {"a", "b", NULL};
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	int64_t v[2];

	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	t_add_node(s, "b", "4", "8Gi", 110, "", "");
	t_add_pod(s, "x", "", "1", "2Gi", "", "a");
	p = pod(s, "1", "2Gi", "");
	t_scores(s, p, T_FIT, nodes, v);
	assert_int_equal(v[0], 50); /* (4000 - 2000) x 100 / 4000, the same for memory */
	assert_int_equal(v[1], 75);
	sched_pod_unref(p);
	/* no requests: scored as 100m and 200Mi: (4000 - 100) / 4000 = 97.5, 7992/8192 = 97.5 */
	p = pod(s, "", "", "");
	t_scores(s, p, T_FIT, nodes, v);
	assert_int_equal(v[1], 97);
	sched_pod_unref(p);
	/* a pod without requests on a counts 100m/200Mi there too */
	t_add_pod(s, "y", "", "", "", "", "b");
	p = pod(s, "1", "2Gi", "");
	t_scores(s, p, T_FIT, nodes, v);
	assert_int_equal(v[1], 72); /* cpu (4000 - 1100)/40 = 72.5, mem (8192-2248)/81.92 = 72.5 */
	sched_pod_unref(p);
	sched_free(s);
}

static void test_balanced(void **state)
{
	static const char *const nodes[] = {"a", "b", NULL};
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	int64_t v[2];

	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	t_add_node(s, "b", "4", "8Gi", 110, "", "");
	t_add_pod(s, "x", "", "2", "1Gi", "", "a");
	/* actual requests (no defaults): cpu 0.5, memory 0.125: 1 - 0.1875 = 81.25 */
	p = pod(s, "", "", "");
	t_scores(s, p, T_BALANCED, nodes, v);
	assert_int_equal(v[0], 81);
	assert_int_equal(v[1], 100);
	sched_pod_unref(p);
	/* fractions capped at 1 */
	p = pod(s, "8", "", "");
	t_scores(s, p, T_BALANCED, nodes, v);
	assert_int_equal(v[0], 56); /* cpu 1, memory 0.125: 1 - 0.4375 */
	assert_int_equal(v[1], 50);
	sched_pod_unref(p);
	sched_free(s);
}

static void test_taint_and_node_affinity_scores(void **state)
{
	static const char *const nodes[] = {"a", "b", "c", NULL};
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	int64_t v[3];

	t_add_node(s, "a", "4", "8Gi", 110, "\"zone\":\"z1\",\"ssd\":\"y\"",
		   "\"spec\":{\"taints\":[{\"key\":\"x\",\"effect\":\"PreferNoSchedule\"}]}");
	t_add_node(s, "b", "4", "8Gi", 110, "\"zone\":\"z1\"",
		   "\"spec\":{\"taints\":[{\"key\":\"x\",\"effect\":\"PreferNoSchedule\"},"
		   "{\"key\":\"y\",\"value\":\"1\",\"effect\":\"PreferNoSchedule\"}]}");
	t_add_node(s, "c", "4", "8Gi", 110, "", "");
	p = pod(s, "", "", "");
	t_scores(s, p, T_TAINT, nodes, v);
	assert_int_equal(v[0], 50);
	assert_int_equal(v[1], 0);
	assert_int_equal(v[2], 100);
	sched_pod_unref(p);
	/* tolerating x (effect empty = every effect) leaves b's y */
	p = pod(s, "", "", "\"tolerations\":[{\"key\":\"x\",\"operator\":\"Exists\"}]");
	t_scores(s, p, T_TAINT, nodes, v);
	assert_int_equal(v[0], 100);
	assert_int_equal(v[1], 0);
	assert_int_equal(v[2], 100);
	sched_pod_unref(p);
	p = pod(
	    s, "", "",
	    "\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":"
	    "[{\"weight\":20,\"preference\":{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":"
	    "\"In\",\"values\":[\"z1\"]}]}},{\"weight\":60,\"preference\":{\"matchExpressions\":"
	    "[{\"key\":\"ssd\",\"operator\":\"Exists\"}]}}]}}");
	t_scores(s, p, T_NODEAFF, nodes, v);
	assert_int_equal(v[0], 100);
	assert_int_equal(v[1], 25);
	assert_int_equal(v[2], 0);
	sched_pod_unref(p);
	sched_free(s);
}

/* The weighted sum decides: TaintToleration (weight 3) against NodeAffinity (weight 2). */
static void test_weighted_choice(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;

	t_add_node(s, "a", "4", "8Gi", 110, "\"ssd\":\"y\"",
		   "\"spec\":{\"taints\":[{\"key\":\"x\",\"effect\":\"PreferNoSchedule\"}]}");
	t_add_node(s, "b", "4", "8Gi", 110, "", "");
	/* a: taint 0 (3 x 0), affinity 100 (2 x 100) = 200 + fit/balanced equal;
	 * b: taint 100 (300), affinity 0: b wins by 100 */
	t_schedule(
	    s, &r, "p", "", "", "",
	    "\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuring"
	    "Execution\":[{\"weight\":5,\"preference\":{\"matchExpressions\":[{\"key\":\"ssd\","
	    "\"operator\":\"Exists\"}]}}]}}");
	assert_true(r.scheduled);
	assert_string_equal(r.node, "b");
	sched_result_clear(&r);
	/* with the taint tolerated, a wins */
	t_schedule(
	    s, &r, "q", "", "", "",
	    "\"tolerations\":[{\"operator\":\"Exists\"}],\"affinity\":{\"nodeAffinity\":{"
	    "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":5,\"preference\":"
	    "{\"matchExpressions\":[{\"key\":\"ssd\",\"operator\":\"Exists\"}]}}]}}");
	assert_true(r.scheduled);
	assert_string_equal(r.node, "a");
	sched_result_clear(&r);
	sched_free(s);
}

/* Equal top scores: each is drawn about as often (reservoir sampling). */
static void test_ties_are_random(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	int hits[3] = {0};

	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	t_add_node(s, "b", "4", "8Gi", 110, "", "");
	t_add_node(s, "c", "4", "8Gi", 110, "", "");
	p = pod(s, "", "", "");
	for (int i = 0; i < 600; i++) {
		struct sched_result r = {0};
		struct sched_node *chosen;
		uint32_t rej;

		pthread_mutex_lock(&s->cache.mu);
		assert_int_equal(sched_decide(s, p, &r, &rej, &chosen), 0);
		pthread_mutex_unlock(&s->cache.mu);
		assert_true(r.scheduled);
		hits[r.node[0] - 'a']++;
		sched_result_clear(&r);
	}
	for (int i = 0; i < 3; i++)
		if (hits[i] < 150)
			fail_msg("node %c chosen %d times of 600", 'a' + i, hits[i]);
	sched_pod_unref(p);
	sched_free(s);
}

static void test_nodes_to_find(void **state)
{
	assert_int_equal(sched_nodes_to_find(0, 0), 0);
	assert_int_equal(sched_nodes_to_find(0, 50), 50);
	assert_int_equal(sched_nodes_to_find(0, 99), 99);
	assert_int_equal(sched_nodes_to_find(0, 100), 100); /* 49 % of 100 -> at least 100 */
	assert_int_equal(sched_nodes_to_find(0, 1000), 420);
	assert_int_equal(sched_nodes_to_find(0, 2000), 680);
	assert_int_equal(sched_nodes_to_find(0, 5000), 500);
	assert_int_equal(sched_nodes_to_find(0, 6000), 300); /* 50 - 48 < 5: 5 % */
	assert_int_equal(sched_nodes_to_find(0, 15000), 750);
	assert_int_equal(sched_nodes_to_find(10, 500), 100);
	assert_int_equal(sched_nodes_to_find(100, 5000), 5000);
	assert_int_equal(sched_nodes_to_find(30, 5000), 1500);
}

/* With 200 nodes a search stops at 100 feasible ones; the next starts where it stopped. */
static void test_round_robin(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;

	for (int i = 0; i < 200; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%03d", i);
		/* every fourth node is too small; n150 is the one the pods prefer */
		t_add_node(s, name, i % 4 == 3 ? "100m" : "4", "8Gi", 110,
			   i == 150 ? "\"best\":\"yes\"" : "", "");
	}
	const char *prefer =
	    "\"affinity\":{\"nodeAffinity\":{\"preferredDuringScheduling"
	    "IgnoredDuringExecution\":[{\"weight\":100,\"preference\":{"
	    "\"matchExpressions\":[{\"key\":\"best\",\"operator\":\"Exists\"}]}}]}}";

	t_schedule(s, &r, "p1", "", "1", "", prefer);
	assert_true(r.scheduled);
	/* n150 is not among the nodes this search examined */
	assert_string_not_equal(r.node, "n150");
	/* 100 feasible found among the first 133 (33 small ones rejected) */
	assert_int_equal(r.nodes_feasible, 100);
	assert_int_equal(r.nodes_evaluated, 133);
	assert_int_equal(s->cache.next_start, 133);
	sched_result_clear(&r);
	t_schedule(s, &r, "p2", "", "1", "", prefer);
	assert_int_equal(r.nodes_evaluated, 133);
	/* this one starts at n133 and finds it */
	assert_string_equal(r.node, "n150");
	assert_int_equal(s->cache.next_start, 66); /* (133 + 133) % 200 */
	sched_result_clear(&r);
	/* a pod nothing fits: every node evaluated, the start moves all the way round */
	t_schedule(s, &r, "p3", "", "64", "", "");
	assert_false(r.scheduled);
	assert_int_equal(r.nodes_evaluated, 200);
	assert_int_equal(s->cache.next_start, 66);
	assert_string_equal(r.message, "0/200 nodes are available: 200 Insufficient cpu. "
				       "preemption: 0/200 nodes are available: 200 No preemption "
				       "victims found for incoming pod..");
	sched_result_clear(&r);
	sched_free(s);
}

/* NodeTree: zones interleaved, in the order their first node came. */
static void test_zone_order(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_node **v;
	uint32_t n;
	char got[64] = "";

	t_add_node(s, "a1", "1", "1Gi", 10, "\"topology.kubernetes.io/zone\":\"za\"", "");
	t_add_node(s, "a2", "1", "1Gi", 10, "\"topology.kubernetes.io/zone\":\"za\"", "");
	t_add_node(s, "b1", "1", "1Gi", 10, "\"topology.kubernetes.io/zone\":\"zb\"", "");
	t_add_node(s, "a3", "1", "1Gi", 10, "\"topology.kubernetes.io/zone\":\"za\"", "");
	t_add_node(s, "x1", "1", "1Gi", 10, "", "");
	pthread_mutex_lock(&s->cache.mu);
	assert_int_equal(sched_cache_order(&s->cache, &v, &n), 0);
	for (uint32_t i = 0; i < n; i++)
		strcat(got, v[i]->spec->name);
	pthread_mutex_unlock(&s->cache.mu);
	assert_string_equal(got, "a1b1x1a2a3");
	/* a node moving zone goes to the end of its new zone */
	t_add_node(s, "a1", "1", "1Gi", 10, "\"topology.kubernetes.io/zone\":\"zb\"", "");
	got[0] = 0;
	pthread_mutex_lock(&s->cache.mu);
	assert_int_equal(sched_cache_order(&s->cache, &v, &n), 0);
	for (uint32_t i = 0; i < n; i++)
		strcat(got, v[i]->spec->name);
	pthread_mutex_unlock(&s->cache.mu);
	assert_string_equal(got, "a2b1x1a3a1");
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_least_allocated),
	    cmocka_unit_test(test_balanced),
	    cmocka_unit_test(test_taint_and_node_affinity_scores),
	    cmocka_unit_test(test_weighted_choice),
	    cmocka_unit_test(test_ties_are_random),
	    cmocka_unit_test(test_nodes_to_find),
	    cmocka_unit_test(test_round_robin),
	    cmocka_unit_test(test_zone_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
