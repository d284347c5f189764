/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_queue: the scheduling queue: priority, then age, then arrival; updates in
 * place; deletes; back-off doubling to its cap; unschedulable pods moved only by events
 * their rejecting plugins care about (and assigned pods only for the pods they can help);
 * the 5-minute flush; events during an attempt; scheduling gates; a blocking pop woken by an
 * add and by close. The queue runs on the fake clock: no test sleeps.
 */
#include <pthread.h>

#include "helpers.h"

static struct sched_pod *qpod(struct sched *s, const char *name, int prio, const char *created,
			      const char *extra)
{
	return t_parse(
	    s,
	    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\","
	    "\"creationTimestamp\":\"%s\",\"labels\":{\"app\":\"%s\"}},\"spec\":{"
	    "\"priority\":%d,\"containers\":[{\"name\":\"c\"}]%s}}",
	    name, name, created, name, prio, extra);
}

static void add(struct sched *s, const char *name, int prio, const char *created, const char *extra)
{
	struct sched_pod *p = qpod(s, name, prio, created, extra);

	assert_int_equal(sched_queue_upsert(s->queue, p), 0);
	sched_pod_unref(p);
}

/* Pop without waiting; NULL-safe name. */
static const char *pop(struct sched *s, char *buf)
{
	struct sched_pod *p = sched_pop(s, 0);

	if (!p)
		return "-";
	strcpy(buf, sched_pod_name(p));
	sched_pod_unref(p);
	return buf;
}

#define T0 "2024-01-01T00:00:00Z"
#define T1 "2024-01-01T00:00:01Z"
#define T2 "2024-01-01T00:00:02.5Z"

static void test_order(void **state)
{
	struct sched *s = t_sched(NULL);
	char b[64];

	add(s, "low", 0, T1, "");
	add(s, "high", 10, T2, "");
	add(s, "old", 0, T0, "");
	add(s, "same", 0, T1, "");
	add(s, "neg", -5, T0, "");
	assert_string_equal(pop(s, b), "high");
	assert_string_equal(pop(s, b), "old");
	assert_string_equal(pop(s, b), "low");
	assert_string_equal(pop(s, b), "same");
	assert_string_equal(pop(s, b), "neg");
	assert_string_equal(pop(s, b), "-");
	sched_free(s);
}

static void test_update_and_delete(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_stats st;
	char b[64];

	add(s, "a", 0, T0, "");
	add(s, "b", 0, T1, "");
	add(s, "c", 0, T2, "");
	/* updated in place: c's priority rises above the rest */
	add(s, "c", 100, T2, "");
	sched_get_stats(s, &st);
	assert_int_equal(st.active, 3);
	t_pod_delete(s, "uid-b");
	sched_get_stats(s, &st);
	assert_int_equal(st.active, 2);
	assert_string_equal(pop(s, b), "c");
	assert_string_equal(pop(s, b), "a");
	assert_string_equal(pop(s, b), "-");
	sched_free(s);
}

static void test_backoff(void **state)
{
	/* after attempt n the pod waits 1 s x 2^(n-1), at most 10 s */
	static const uint64_t want[] = {1, 2, 4, 8, 10, 10};
	struct sched *s = t_sched(NULL);
	struct sched_stats st;
	char b[64];

	add(s, "p", 0, T0, "");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(pop(s, b), "p"); /* attempt i + 1 */
		sched_queue_error(s->queue, "uid-p");
		t_clock += want[i] * T_SEC - 1;
		assert_string_equal(pop(s, b), "-");
		t_clock += 1;
		sched_queue_flush(s->queue);
		sched_get_stats(s, &st);
		if (st.active != 1)
			fail_msg("attempt %zu: back-off is not %llu s", i + 1,
				 (unsigned long long)want[i]);
	}
	sched_free(s);
}

static void test_unschedulable_moves(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_stats st;
	char b[64];

	add(s, "fit", 0, T0, "");
	add(s, "taint", 0, T1, "");
	assert_string_equal(pop(s, b), "fit");
	sched_queue_unschedulable(s->queue, "uid-fit", SCHED_PL_FIT);
	assert_string_equal(pop(s, b), "taint");
	sched_queue_unschedulable(s->queue, "uid-taint", SCHED_PL_TAINT);
	t_clock += 60 * T_SEC; /* long past any back-off */
	assert_string_equal(pop(s, b), "-");
	/* a label change helps neither */
	sched_queue_event(s->queue, SCHED_EV_NODE_LABEL, NULL);
	assert_string_equal(pop(s, b), "-");
	/* allocatable helps fit */
	sched_queue_event(s->queue, SCHED_EV_NODE_ALLOC, NULL);
	assert_string_equal(pop(s, b), "fit");
	assert_string_equal(pop(s, b), "-");
	/* a deleted pod frees resources, not taints */
	sched_queue_unschedulable(s->queue, "uid-fit", SCHED_PL_FIT);
	sched_queue_event(s->queue, SCHED_EV_POD_DELETE, NULL);
	/* moved, but still backing off (second attempt: 2 s): through backoffQ */
	sched_get_stats(s, &st);
	assert_int_equal(st.backoff, 1);
	assert_int_equal(st.unschedulable, 1);
	t_clock += 2 * T_SEC;
	assert_string_equal(pop(s, b), "fit");
	/* a new node helps everyone */
	sched_queue_event(s->queue, SCHED_EV_NODE_ADD, NULL);
	assert_string_equal(pop(s, b), "taint");
	sched_free(s);
}

/* An assigned pod moves only the pods it can help. */
static void test_assigned_pod_events(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *other, *cache, *elsewhere;
	char b[64];

	add(s, "aff", 0, T0,
	    ",\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
	    "\"labelSelector\":{\"matchLabels\":{\"app\":\"cache\"}},\"topologyKey\":\"zone\"}]}}");
	add(s, "spread", 0, T1, "");
	add(s, "anti", 0, T2, "");
	pop(s, b);
	sched_queue_unschedulable(s->queue, "uid-aff", SCHED_PL_INTERPOD);
	pop(s, b);
	sched_queue_unschedulable(s->queue, "uid-spread", SCHED_PL_SPREAD);
	pop(s, b);
	sched_queue_unschedulable(s->queue, "uid-anti", SCHED_PL_INTERPOD);
	t_clock += 60 * T_SEC;
	other = t_parse(
	    s, "%s", t_pod_json((char[2048]){0}, 2048, "o", "\"app\":\"other\"", "", "", "", "n"));
	cache = t_parse(
	    s, "%s", t_pod_json((char[2048]){0}, 2048, "c", "\"app\":\"cache\"", "", "", "", "n"));
	elsewhere = t_parse(
	    s, "%s", t_pod_json((char[2048]){0}, 2048, "else/x", "\"app\":\"x\"", "", "", "", "n"));
	pthread_mutex_lock(&s->cache.mu);
	sched_queue_event(s->queue, SCHED_EV_POD_ADD, elsewhere);
	pthread_mutex_unlock(&s->cache.mu);
	assert_string_equal(pop(s, b), "-");
	/* same namespace: the spread-rejected pod may fit now */
	pthread_mutex_lock(&s->cache.mu);
	sched_queue_event(s->queue, SCHED_EV_POD_ADD, other);
	pthread_mutex_unlock(&s->cache.mu);
	assert_string_equal(pop(s, b), "spread");
	assert_string_equal(pop(s, b), "-");
	/* the pod its affinity wants */
	pthread_mutex_lock(&s->cache.mu);
	sched_queue_event(s->queue, SCHED_EV_POD_ADD, cache);
	pthread_mutex_unlock(&s->cache.mu);
	assert_string_equal(pop(s, b), "aff");
	/* anti-affinity is helped by deletes only */
	assert_string_equal(pop(s, b), "-");
	sched_queue_event(s->queue, SCHED_EV_POD_DELETE, NULL);
	assert_string_equal(pop(s, b), "anti");
	sched_pod_unref(other);
	sched_pod_unref(cache);
	sched_pod_unref(elsewhere);
	sched_free(s);
}

static void test_flush_leftover(void **state)
{
	struct sched *s = t_sched(NULL);
	char b[64];

	add(s, "p", 0, T0, "");
	pop(s, b);
	sched_queue_unschedulable(s->queue, "uid-p", SCHED_PL_TAINT);
	t_clock += 4 * 60 * T_SEC;
	assert_string_equal(pop(s, b), "-");
	t_clock += 61 * T_SEC; /* past 5 minutes, and a 30 s check has come */
	assert_string_equal(pop(s, b), "p");
	sched_free(s);
}

/* An event while the pod was being scheduled: its failure goes to back-off, not to sleep. */
static void test_event_in_flight(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_stats st;
	char b[64];

	add(s, "p", 0, T0, "");
	add(s, "q", 0, T1, "");
	struct sched_pod *p = sched_pop(s, 0);

	sched_queue_event(s->queue, SCHED_EV_NODE_ALLOC, NULL);
	sched_queue_unschedulable(s->queue, "uid-p", SCHED_PL_FIT);
	sched_get_stats(s, &st);
	assert_int_equal(st.backoff, 1);
	assert_int_equal(st.unschedulable, 0);
	sched_pod_unref(p);
	/* an event irrelevant to the rejecting plugin does not count */
	p = sched_pop(s, 0);
	assert_string_equal(sched_pod_name(p), "q");
	sched_queue_event(s->queue, SCHED_EV_NODE_LABEL, NULL);
	sched_queue_unschedulable(s->queue, "uid-q", SCHED_PL_FIT);
	sched_get_stats(s, &st);
	assert_int_equal(st.unschedulable, 1);
	sched_pod_unref(p);
	/* updated while in flight: back-off too; deleted while in flight: gone */
	t_clock += 10 * T_SEC;
	assert_string_equal(pop(s, b), "p");
	add(s, "p", 0, T0, ",\"nodeSelector\":{\"x\":\"y\"}");
	sched_queue_unschedulable(s->queue, "uid-p", SCHED_PL_FIT);
	sched_get_stats(s, &st);
	assert_int_equal(st.backoff, 1);
	t_clock += 10 * T_SEC;
	assert_string_equal(pop(s, b), "p");
	t_pod_delete(s, "uid-p");
	sched_queue_unschedulable(s->queue, "uid-p", SCHED_PL_FIT);
	sched_get_stats(s, &st);
	assert_int_equal(st.backoff + st.active + st.in_flight, 0);
	sched_free(s);
}

/* Parked pods: a real change of the pod moves it, a status-only update does not. */
static void test_update_while_parked(void **state)
{
	struct sched *s = t_sched(NULL);
	char b[64];

	add(s, "p", 0, T0, "");
	pop(s, b);
	sched_queue_unschedulable(s->queue, "uid-p", SCHED_PL_NODEAFFINITY);
	t_clock += 60 * T_SEC;
	t_pod(s, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"uid-p\","
		 "\"creationTimestamp\":\"" T0 "\",\"labels\":{\"app\":\"p\"}},\"spec\":{"
		 "\"priority\":0,\"containers\":[{\"name\":\"c\"}]},\"status\":{\"conditions\":[{"
		 "\"type\":\"PodScheduled\",\"status\":\"False\"}]}}");
	assert_string_equal(pop(s, b), "-");
	add(s, "p", 0, T0, ",\"tolerations\":[{\"operator\":\"Exists\"}]");
	assert_string_equal(pop(s, b), "p");
	sched_free(s);
}

static void test_gates(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_stats st;
	char b[64];

	add(s, "g", 0, T0, ",\"schedulingGates\":[{\"name\":\"wait\"}]");
	sched_get_stats(s, &st);
	assert_int_equal(st.gated, 1);
	sched_queue_event(s->queue, SCHED_EV_NODE_ADD, NULL);
	t_clock += 600 * T_SEC;
	assert_string_equal(pop(s, b), "-");
	add(s, "g", 0, T0, "");
	assert_string_equal(pop(s, b), "g");
	sched_free(s);
}

struct popper {
	struct sched *s;
	struct sched_pod *got;
};

static void *popper(void *arg)
{
	struct popper *pp = arg;

	pp->got = sched_pop(pp->s, -1);
	return NULL;
}

static void test_blocking_pop(void **state)
{
	struct sched *s = t_sched(NULL);
	struct popper pp = {.s = s};
	pthread_t th;

	/* a timed pop with nothing queued returns NULL */
	assert_null(sched_pop(s, 20));
	/* a pop waiting forever is woken by an add */
	assert_int_equal(pthread_create(&th, NULL, popper, &pp), 0);
	add(s, "p", 0, T0, "");
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_non_null(pp.got);
	assert_string_equal(sched_pod_name(pp.got), "p");
	sched_pod_unref(pp.got);
	/* and by close */
	pp.got = (void *)1;
	assert_int_equal(pthread_create(&th, NULL, popper, &pp), 0);
	sched_close(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(pp.got);
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_update_and_delete),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_unschedulable_moves),
	    cmocka_unit_test(test_assigned_pod_events),
	    cmocka_unit_test(test_flush_leftover),
	    cmocka_unit_test(test_event_in_flight),
	    cmocka_unit_test(test_update_while_parked),
	    cmocka_unit_test(test_gates),
	    cmocka_unit_test(test_blocking_pop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
