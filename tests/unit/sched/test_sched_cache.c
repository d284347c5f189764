/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_cache: assume / forget / confirm (also on another node) / expiry of assumed pods
 * whose binding finished, stale events of a pod just bound, pods on nodes not (or no longer)
 * known, and the whole loop through the public API.
 */
#include "helpers.h"

static struct sched_pod *pod(struct sched *s, const char *name, const char *cpu)
{
	char buf[4096];

	return t_parse(s, "%s", t_pod_json(buf, sizeof(buf), name, "", cpu, "", "", ""));
}

static int64_t used_cpu(struct sched *s, const char *node)
{
	int64_t v;

	pthread_mutex_lock(&s->cache.mu);
	v = sched_cache_node(&s->cache, node)->requested.cpu;
	pthread_mutex_unlock(&s->cache.mu);
	return v;
}

static void test_assume_forget(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p1 = pod(s, "p1", "3"), *p2 = pod(s, "p2", "3");
	struct sched_result r;

	t_add_node(s, "n", "4", "8Gi", 110, "", "");
	assert_int_equal(sched_schedule(s, p1, &r), 0);
	assert_true(r.scheduled);
	sched_result_clear(&r);
	/* assumed: counted before any event */
	assert_int_equal(used_cpu(s, "n"), 3000);
	assert_int_equal(sched_schedule(s, p2, &r), 0);
	assert_false(r.scheduled);
	assert_string_equal(r.message, "0/1 nodes are available: 1 Insufficient cpu. preemption: "
				       "0/1 nodes are available: 1 No preemption victims found for "
				       "incoming pod..");
	sched_result_clear(&r);
	/* the bind failed: forgotten, room again */
	sched_bind_done(s, p1, -EIO);
	assert_int_equal(used_cpu(s, "n"), 0);
	assert_int_equal(sched_schedule(s, p2, &r), 0);
	assert_true(r.scheduled);
	sched_result_clear(&r);
	sched_pod_unref(p1);
	sched_pod_unref(p2);
	sched_free(s);
}

static void test_confirm(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p = pod(s, "p", "1");
	struct sched_result r;
	struct sched_stats st;

	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	assert_int_equal(sched_schedule(s, p, &r), 0);
	assert_string_equal(r.node, "a");
	sched_result_clear(&r);
	sched_bind_done(s, p, 0);
	sched_get_stats(s, &st);
	assert_int_equal(st.assumed, 1);
	/* a stale event of the unassigned pod changes nothing (it is not queued again) */
	t_add_pod(s, "p", "", "1", "", "", "");
	sched_get_stats(s, &st);
	assert_int_equal(st.active, 0);
	/* the bound pod's event confirms it: counted once */
	t_add_pod(s, "p", "", "1", "", "", "a");
	sched_get_stats(s, &st);
	assert_int_equal(st.assumed, 0);
	assert_int_equal(st.pods, 1);
	assert_int_equal(used_cpu(s, "a"), 1000);
	/* updates of the bound pod replace it */
	t_add_pod(s, "p", "", "2", "", "", "a");
	assert_int_equal(used_cpu(s, "a"), 2000);
	t_pod_delete(s, "uid-p");
	assert_int_equal(used_cpu(s, "a"), 0);
	sched_pod_unref(p);
	sched_free(s);
}

/* Assumed on a, bound (by whatever means) on b: the event moves it. */
static void test_confirm_elsewhere(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p = pod(s, "p", "1");
	struct sched_result r;

	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	t_add_node(s, "b", "4", "8Gi", 110, "\"x\":\"y\"", "");
	t_add_node(s, "a", "4", "8Gi", 110, "", "\"spec\":{\"unschedulable\":true}");
	assert_int_equal(sched_schedule(s, p, &r), 0);
	assert_string_equal(r.node, "b");
	sched_result_clear(&r);
	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	t_add_pod(s, "p", "", "1", "", "", "a");
	assert_int_equal(used_cpu(s, "a"), 1000);
	assert_int_equal(used_cpu(s, "b"), 0);
	sched_pod_unref(p);
	sched_free(s);
}

static void test_expiry(void **state)
{
	struct sched_opts o = {.assumed_ttl_ns = 30 * T_SEC};
	struct sched *s = t_sched(&o);
	struct sched_pod *p1 = pod(s, "p1", "1"), *p2 = pod(s, "p2", "1"), *q = pod(s, "q", "");
	struct sched_result r;
	struct sched_stats st;

	t_add_node(s, "n", "4", "8Gi", 110, "", "");
	assert_int_equal(sched_schedule(s, p1, &r), 0);
	sched_result_clear(&r);
	assert_int_equal(sched_schedule(s, p2, &r), 0);
	sched_result_clear(&r);
	/* p1's binding finished, p2's did not: only p1 can expire */
	sched_bind_done(s, p1, 0);
	t_clock += 29 * T_SEC;
	assert_int_equal(sched_schedule(s, q, &r), 0); /* expiry runs with each decision */
	sched_result_clear(&r);
	sched_get_stats(s, &st);
	assert_int_equal(st.assumed, 3);
	t_clock += 2 * T_SEC;
	t_pod_delete(s, "uid-q");
	assert_int_equal(sched_schedule(s, q, &r), 0);
	sched_result_clear(&r);
	sched_get_stats(s, &st);
	assert_int_equal(st.assumed, 2); /* p1 gone; p2 and q stay */
	assert_int_equal(used_cpu(s, "n"), 1000);
	t_clock += 3600 * T_SEC;
	assert_int_equal(sched_schedule(s, q, &r), -EEXIST); /* q is assumed already */
	assert_false(r.scheduled);
	sched_get_stats(s, &st);
	assert_int_equal(st.assumed, 2);
	sched_pod_unref(p1);
	sched_pod_unref(p2);
	sched_pod_unref(q);
	sched_free(s);

	/* the default (kube-scheduler 1.32): assumed pods never expire */
	s = t_sched(NULL);
	p1 = pod(s, "p1", "1");
	q = pod(s, "q", "");
	t_add_node(s, "n", "4", "8Gi", 110, "", "");
	assert_int_equal(sched_schedule(s, p1, &r), 0);
	sched_result_clear(&r);
	sched_bind_done(s, p1, 0);
	t_clock += 100000 * T_SEC;
	assert_int_equal(sched_schedule(s, q, &r), 0);
	sched_result_clear(&r);
	assert_int_equal(used_cpu(s, "n"), 1000);
	sched_pod_unref(p1);
	sched_pod_unref(q);
	sched_free(s);
}

/* Pods on a node the cache does not know count nowhere until it comes; a node deleted with
 * pods stays a ghost until they go. */
static void test_ghost_nodes(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_stats st;
	char buf[64];
	struct sched_pod *p;

	t_add_pod(s, "early", "\"app\":\"web\"", "1", "", "", "late");
	sched_get_stats(s, &st);
	assert_int_equal(st.nodes, 0);
	assert_int_equal(st.pods, 1);
	t_add_node(s, "late", "4", "8Gi", 110, "", "");
	t_add_node(s, "other", "4", "8Gi", 110, "", "");
	assert_int_equal(used_cpu(s, "late"), 1000);
	p = t_parse(s, "%s",
		    t_pod_json((char[2048]){0}, 2048, "x", "", "", "",
			       "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
			       "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{"
			       "\"app\":\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}",
			       ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "other");
	assert_int_equal(sched_node_delete(s, "late"), 0);
	sched_get_stats(s, &st);
	assert_int_equal(st.nodes, 1);
	assert_int_equal(st.pods, 1);
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "other");
	t_pod_delete(s, "uid-early");
	sched_get_stats(s, &st);
	assert_int_equal(st.pods, 0);
	/* deleting what is not there is fine */
	assert_int_equal(sched_node_delete(s, "late"), 0);
	assert_int_equal(sched_node_delete(s, "never"), 0);
	t_pod_delete(s, "uid-never");
	sched_pod_unref(p);
	sched_free(s);
}

/* Updates of bound pods: a status-only one changes nothing, a label change moves the pod in
 * the affinity counts, requests follow. */
static void test_bound_pod_updates(void **state)
{
	struct sched *s = t_sched(NULL);
	char buf[64];
	struct sched_pod *p;

	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	t_add_node(s, "b", "4", "8Gi", 110, "", "");
	t_add_pod(s, "web", "\"app\":\"web\"", "1", "", "", "a");
	p = t_parse(s, "%s",
		    t_pod_json((char[2048]){0}, 2048, "x", "", "", "",
			       "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
			       "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{"
			       "\"app\":\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}",
			       ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b");
	/* the kubelet reports it running */
	t_pod(s, "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":"
		 "\"uid-web\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\",\"labels\":{\"app\":"
		 "\"web\"}},\"spec\":{\"nodeName\":\"a\",\"containers\":[{\"name\":\"c\","
		 "\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]},\"status\":{"
		 "\"phase\":\"Running\"}}");
	assert_int_equal(used_cpu(s, "a"), 1000);
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b");
	/* relabelled: no longer what x avoids */
	t_add_pod(s, "web", "\"app\":\"api\"", "1", "", "", "a");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b");
	assert_int_equal(used_cpu(s, "a"), 1000);
	/* Succeeded: gone from the cache as kube-scheduler's informer drops it */
	t_pod(s, "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":"
		 "\"uid-web\"},\"spec\":{\"nodeName\":\"a\",\"containers\":[{\"name\":\"c\","
		 "\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]},\"status\":{\"phase\":"
		 "\"Succeeded\"}}");
	assert_int_equal(used_cpu(s, "a"), 0);
	sched_pod_unref(p);
	sched_free(s);
}

/* The loop as the glue runs it. */
static void test_loop(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	struct sched_result r;
	struct sched_stats st;

	t_add_node(s, "n", "2", "8Gi", 110, "", "");
	t_add_pod(s, "a", "", "1500m", "", "", "");
	t_add_pod(s, "b", "", "1500m", "", "", "");
	/* a pod of another scheduler and a bound one are not queued */
	t_pod(s, "{\"metadata\":{\"name\":\"o\",\"uid\":\"uid-o\"},\"spec\":{\"schedulerName\":"
		 "\"other\",\"containers\":[]}}");
	t_add_pod(s, "bound", "", "", "", "", "n");
	sched_get_stats(s, &st);
	assert_int_equal(st.active, 2);
	p = sched_pop(s, 0);
	assert_string_equal(sched_pod_name(p), "a");
	assert_string_equal(sched_pod_namespace(p), "default");
	assert_string_equal(sched_pod_uid(p), "uid-a");
	assert_int_equal(sched_schedule(s, p, &r), 0);
	assert_true(r.scheduled);
	sched_result_clear(&r);
	sched_bind_done(s, p, 0);
	sched_pod_unref(p);
	t_add_pod(s, "a", "", "1500m", "", "", "n");
	p = sched_pop(s, 0);
	assert_string_equal(sched_pod_name(p), "b");
	assert_int_equal(sched_schedule(s, p, &r), 0);
	assert_false(r.scheduled);
	sched_result_clear(&r);
	sched_pod_unref(p);
	sched_get_stats(s, &st);
	assert_int_equal(st.unschedulable, 1);
	assert_int_equal(st.attempts, 2);
	assert_int_equal(st.scheduled, 1);
	/* a is deleted: b may fit now and comes back (after its 1 s back-off) */
	t_pod_delete(s, "uid-a");
	assert_null(sched_pop(s, 0));
	t_clock += T_SEC;
	p = sched_pop(s, 0);
	assert_non_null(p);
	assert_int_equal(sched_schedule(s, p, &r), 0);
	assert_true(r.scheduled);
	sched_result_clear(&r);
	sched_pod_unref(p);
	sched_free(s);
}

static void test_bad_objects(void **state)
{
	struct sched *s = t_sched(NULL);
	struct jv_doc *d = jv_doc_new();
	struct jv_perr e;
	struct jv *v = jv_parse(d, "{\"metadata\":{}}", 15, &e);

	assert_int_equal(sched_pod_upsert(s, v), -EINVAL);
	assert_int_equal(sched_pod_delete(s, v), -EINVAL);
	assert_int_equal(sched_node_upsert(s, v), -EINVAL);
	assert_int_equal(sched_namespace_upsert(s, v), -EINVAL);
	assert_int_equal(sched_node_delete(s, NULL), -EINVAL);
	/* quantities that are not quantities read as absent, not as garbage */
	t_node(s, "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"cpu\":\"lots\","
		  "\"memory\":\"8Gi\",\"pods\":\"x\"}}}");
	pthread_mutex_lock(&s->cache.mu);
	assert_int_equal(sched_cache_node(&s->cache, "n")->spec->alloc.cpu, 0);
	assert_int_equal(sched_cache_node(&s->cache, "n")->spec->alloc_pods, 0);
	pthread_mutex_unlock(&s->cache.mu);
	jv_doc_free(d);
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_assume_forget),
	    cmocka_unit_test(test_confirm),
	    cmocka_unit_test(test_confirm_elsewhere),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_ghost_nodes),
	    cmocka_unit_test(test_bound_pod_updates),
	    cmocka_unit_test(test_loop),
	    cmocka_unit_test(test_bad_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
