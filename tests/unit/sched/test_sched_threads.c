/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_threads: the scheduler driven as the glue will drive it, from several threads at
 * once: an informer thread adds pods (some with anti-affinity), another adds and relabels
 * nodes, the scheduling thread pops, schedules, "binds" and feeds each bound pod back as the
 * watch would. At the end every pod is bound, no node is over its cpu or pod count, and no
 * two anti-affine pods share a host. Run under ASan/TSan to catch races.
 */
#include <pthread.h>
#include <stdlib.h>

#include "helpers.h"

#define NODES 40
#define PODS  400

struct run {
	struct sched *s;
	atomic_int bound;
	char node_of[PODS][256];
};

static void *nodes_thread(void *arg)
{
	struct run *r = arg;

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < NODES; i++) {
			char name[16], labels[64];

			snprintf(name, sizeof(name), "n%02d", i);
			snprintf(labels, sizeof(labels), "\"round\":\"%d\"", round);
			t_add_node(r->s, name, "2", "8Gi", 20, labels, "");
		}
	return NULL;
}

static const char *anti = "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
			  "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":"
			  "\"solo\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}";

static void pod_name(int i, char *name, size_t size)
{
	snprintf(name, size, "p%03d", i);
}

static void *pods_thread(void *arg)
{
	struct run *r = arg;

	for (int i = 0; i < PODS; i++) {
		char name[16];

		pod_name(i, name, sizeof(name));
		if (i % 20 == 0)
			t_add_pod(r->s, name, "\"app\":\"solo\"", "100m", "64Mi", anti, "");
		else
			t_add_pod(r->s, name, "\"app\":\"any\"", "100m", "64Mi", "", "");
	}
	return NULL;
}

static void *sched_thread(void *arg)
{
	struct run *r = arg;

	while (atomic_load(&r->bound) < PODS) {
		struct sched_pod *p = sched_pop(r->s, 5);
		struct sched_result res;
		char name[16];
		int i;

		if (!p) {
			/* parked pods wait for events; the nodes thread may be done: nudge time */
			t_clock += 11 * T_SEC;
			sched_queue_event(r->s->queue, SCHED_EV_NODE_ADD, NULL);
			continue;
		}
		assert_int_equal(sched_schedule(r->s, p, &res), 0);
		if (res.scheduled) {
			sched_bind_done(r->s, p, 0);
			snprintf(name, sizeof(name), "%s", sched_pod_name(p));
			i = atoi(name + 1);
			snprintf(r->node_of[i], sizeof(r->node_of[i]), "%s", res.node);
			if (i % 20 == 0)
				t_add_pod(r->s, name, "\"app\":\"solo\"", "100m", "64Mi", anti,
					  res.node);
			else
				t_add_pod(r->s, name, "\"app\":\"any\"", "100m", "64Mi", "",
					  res.node);
			atomic_fetch_add(&r->bound, 1);
		}
		sched_result_clear(&res);
		sched_pod_unref(p);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	static struct run r;
	pthread_t a, b, c;
	struct sched_stats st;

	memset(&r, 0, sizeof(r));
	r.s = t_sched(NULL);
	assert_int_equal(pthread_create(&a, NULL, nodes_thread, &r), 0);
	assert_int_equal(pthread_create(&b, NULL, pods_thread, &r), 0);
	assert_int_equal(pthread_create(&c, NULL, sched_thread, &r), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_join(c, NULL);
	sched_get_stats(r.s, &st);
	assert_int_equal(st.pods, PODS);
	assert_int_equal(st.assumed, 0);
	assert_int_equal(st.active + st.backoff + st.unschedulable + st.in_flight, 0);
	pthread_mutex_lock(&r.s->cache.mu);
	for (int i = 0; i < NODES; i++) {
		char name[16];
		struct sched_node *n;

		snprintf(name, sizeof(name), "n%02d", i);
		n = sched_cache_node(&r.s->cache, name);
		assert_non_null(n);
		assert_true(n->requested.cpu <= n->spec->alloc.cpu);
		assert_true((int64_t)n->npods <= n->spec->alloc_pods);
	}
	pthread_mutex_unlock(&r.s->cache.mu);
	for (int i = 0; i < PODS; i += 20)
		for (int k = i + 20; k < PODS; k += 20)
			if (strcmp(r.node_of[i], r.node_of[k]) == 0)
				fail_msg("p%03d and p%03d share %s", i, k, r.node_of[i]);
	sched_free(r.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
