/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_workqueue: client-go's work queue semantics: de-duplication, a key re-added while a
 * worker holds it comes back only after kc_queue_done, no key ever held by two workers
 * (threads hammering one queue), delayed adds in ready-time order (an item waiting keeps
 * its earlier time), per-key exponential back-off counted by kc_queue_requeues and reset by
 * kc_queue_forget (observed through order, not durations), shutdown that drains and wakes
 * getters, and the worker threads helper retrying until sync succeeds.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workqueue.h"

#define LONG_MS 30000

static void expect_key(struct kc_queue *q, const char *want)
{
	char *k = NULL;
	int err = kc_queue_get(q, &k, LONG_MS);

	if (err)
		fail_msg("get: %s, expected %s", strerror(-err), want);
	assert_string_equal(k, want);
	kc_queue_done(q, k);
	free(k);
}

static void test_dedup(void **state)
{
	struct kc_queue *q = kc_queue_new("dedup");
	char *k;

	(void)state;
	kc_queue_add(q, "ns/a");
	kc_queue_add(q, "ns/b");
	kc_queue_add(q, "ns/a");
	kc_queue_add(q, "ns/a");
	assert_int_equal(kc_queue_len(q), 2);
	expect_key(q, "ns/a");
	expect_key(q, "ns/b");
	assert_int_equal(kc_queue_len(q), 0);
	assert_int_equal(kc_queue_get(q, &k, 0), -ETIMEDOUT);
	assert_null(k);
	kc_queue_shutdown(q);
	kc_queue_free(q);
	kc_queue_free(NULL);
	kc_queue_shutdown(NULL);
}

static void test_readd_while_processing(void **state)
{
	struct kc_queue *q = kc_queue_new("readd");
	char *k, *k2;

	(void)state;
	kc_queue_add(q, "a");
	assert_int_equal(kc_queue_get(q, &k, LONG_MS), 0);
	assert_string_equal(k, "a");
	/* held: added again, but not handed to anyone until done */
	kc_queue_add(q, "a");
	kc_queue_add(q, "a");
	assert_int_equal(kc_queue_len(q), 0);
	assert_int_equal(kc_queue_get(q, &k2, 0), -ETIMEDOUT);
	kc_queue_done(q, k);
	free(k);
	assert_int_equal(kc_queue_len(q), 1);
	expect_key(q, "a");
	assert_int_equal(kc_queue_len(q), 0);
	kc_queue_free(q);
}

/* ---- many workers, few keys ---- */

#define NKEYS	 16
#define NWORKERS 8

struct stress {
	struct kc_queue *q;
	atomic_int held[NKEYS];
	atomic_int done[NKEYS];
	atomic_int overlaps, total;
};

static void *stress_worker(void *arg)
{
	struct stress *s = arg;
	char *k;
	unsigned seed = (unsigned)(uintptr_t)&k;

	while (kc_queue_get(s->q, &k, -1) == 0) {
		int i = atoi(k + 1);

		if (atomic_fetch_add(&s->held[i], 1) != 0)
			atomic_fetch_add(&s->overlaps, 1);
		/* while holding it, the key (and others) are added again */
		kc_queue_add(s->q, k);
		for (int j = 0; j < 3; j++)
			sched_yield();
		atomic_fetch_sub(&s->held[i], 1);
		atomic_fetch_add(&s->done[i], 1);
		if (atomic_fetch_add(&s->total, 1) < 20000) {
			char other[16];

			snprintf(other, sizeof(other), "k%d", rand_r(&seed) % NKEYS);
			kc_queue_add(s->q, other);
		}
		kc_queue_done(s->q, k);
		free(k);
	}
	return NULL;
}

static void test_never_two_workers(void **state)
{
	static struct stress s;
	pthread_t th[NWORKERS];
	char key[16];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.q = kc_queue_new("stress");
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stress_worker, &s), 0);
	for (int i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		kc_queue_add(s.q, key);
	}
	/* every worker re-adds what it holds: the queue never empties by itself */
	for (int i = 0; i < 60000 && atomic_load(&s.total) < 20000; i++)
		usleep(1000);
	assert_true(atomic_load(&s.total) >= 20000);
	kc_queue_shutdown(s.q);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&s.overlaps), 0);
	for (int i = 0; i < NKEYS; i++)
		assert_true(atomic_load(&s.done[i]) > 0);
	kc_queue_free(s.q);
}

static void test_add_after_order(void **state)
{
	struct kc_queue *q = kc_queue_new("after");
	char *k;

	(void)state;
	kc_queue_add_after(q, "c", 300);
	kc_queue_add_after(q, "a", 100);
	kc_queue_add_after(q, "b", 200);
	/* waiting with an earlier time: the later add does not move it */
	kc_queue_add_after(q, "a", 250);
	/* an earlier time does */
	kc_queue_add_after(q, "c", 150);
	kc_queue_add_after(q, "now", 0);
	assert_int_equal(kc_queue_len(q), 1);
	expect_key(q, "now");
	expect_key(q, "a");
	expect_key(q, "c");
	expect_key(q, "b");
	/* not due: a short get times out, the key stays */
	kc_queue_add_after(q, "late", 3600 * 1000);
	assert_int_equal(kc_queue_get(q, &k, 0), -ETIMEDOUT);
	/* a plain add of a waiting key hands it out now */
	kc_queue_add(q, "late");
	expect_key(q, "late");
	kc_queue_free(q);
}

static void test_rate_limited_backoff(void **state)
{
	struct kc_queue *q = kc_queue_new("rl");
	char *k;

	(void)state;
	/* failures of "slow" grow its delay: 5 ms · 2^n */
	for (unsigned i = 1; i <= 18; i++) {
		kc_queue_add_rate_limited(q, "slow");
		assert_int_equal(kc_queue_requeues(q, "slow"), i);
	}
	/* the first add was due after 5 ms: it comes */
	expect_key(q, "slow");
	/* the next one waits 5 ms · 2^18 (over 20 minutes): a new key with one failure (5 ms)
	 * comes first, "slow" not within the wait */
	kc_queue_add_rate_limited(q, "slow");
	assert_int_equal(kc_queue_requeues(q, "slow"), 19);
	kc_queue_add_rate_limited(q, "fast");
	assert_int_equal(kc_queue_requeues(q, "fast"), 1);
	expect_key(q, "fast");
	assert_int_equal(kc_queue_get(q, &k, 200), -ETIMEDOUT);
	/* forget resets it to the base delay: now "slow" comes at once */
	kc_queue_forget(q, "slow");
	assert_int_equal(kc_queue_requeues(q, "slow"), 0);
	kc_queue_add_rate_limited(q, "slow");
	assert_int_equal(kc_queue_requeues(q, "slow"), 1);
	expect_key(q, "slow");
	/* the count keeps growing past the cap of the delay (no overflow of the shift) */
	for (int i = 0; i < 70; i++)
		kc_queue_add_rate_limited(q, "capped");
	assert_int_equal(kc_queue_requeues(q, "capped"), 70);
	assert_int_equal(kc_queue_get(q, &k, 0), -ETIMEDOUT);
	kc_queue_free(q);
}

struct getter {
	struct kc_queue *q;
	int rc;
	char *key;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;

	g->rc = kc_queue_get(g->q, &g->key, -1);
	return NULL;
}

static void test_shutdown(void **state)
{
	struct kc_queue *q = kc_queue_new("down");
	struct getter g[3];
	pthread_t th[3];
	char *k;

	(void)state;
	for (int i = 0; i < 3; i++) {
		g[i] = (struct getter){.q = q};
		assert_int_equal(pthread_create(&th[i], NULL, getter_main, &g[i]), 0);
	}
	/* getters blocked forever are woken by shutdown */
	kc_queue_shutdown(q);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(g[i].rc, -ESHUTDOWN);
		assert_null(g[i].key);
	}
	kc_queue_free(q);

	/* what was queued before is drained first; adds after are ignored */
	q = kc_queue_new("drain");
	kc_queue_add(q, "a");
	kc_queue_add(q, "b");
	kc_queue_add_after(q, "w", 3600 * 1000);
	assert_int_equal(kc_queue_get(q, &k, LONG_MS), 0);
	kc_queue_add(q, "a"); /* while held */
	kc_queue_shutdown(q);
	kc_queue_add(q, "c");
	kc_queue_add_rate_limited(q, "d");
	kc_queue_done(q, k); /* its re-add is still delivered */
	free(k);
	expect_key(q, "b");
	expect_key(q, "a");
	assert_int_equal(kc_queue_get(q, &k, LONG_MS), -ESHUTDOWN);
	kc_queue_free(q);
}

/* ---- workers ---- */

struct syncer {
	atomic_int calls[4];
};

static int sync_fn(void *arg, const char *key)
{
	struct syncer *s = arg;
	int i = key[0] - 'a';
	int n = atomic_fetch_add(&s->calls[i], 1) + 1;
	/* fail twice (once quietly, once with an error to log), then succeed */
	if (n == 1)
		return -EAGAIN;
	if (n == 2)
		return -EIO;
	return 0;
}

static void test_workers(void **state)
{
	struct kc_queue *q = kc_queue_new("workers");
	struct syncer s;
	struct kc_workers *w;

	(void)state;
	memset(&s, 0, sizeof(s));
	w = kc_workers_start(q, 3, sync_fn, &s, "test");
	assert_non_null(w);
	kc_queue_add(q, "a");
	kc_queue_add(q, "b");
	kc_queue_add(q, "c");
	for (int tries = 0; tries < 3000; tries++) {
		if (atomic_load(&s.calls[0]) >= 3 && atomic_load(&s.calls[1]) >= 3 &&
		    atomic_load(&s.calls[2]) >= 3)
			break;
		usleep(10000);
	}
	/* the success forgot the failures */
	for (int tries = 0;
	     tries < 3000 &&
	     (kc_queue_requeues(q, "a") || kc_queue_requeues(q, "b") || kc_queue_requeues(q, "c"));
	     tries++)
		usleep(10000);
	kc_workers_stop(w);
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&s.calls[i]), 3);
	assert_int_equal(kc_queue_requeues(q, "a"), 0);
	assert_int_equal(kc_queue_requeues(q, "b"), 0);
	assert_null(kc_workers_start(q, 0, sync_fn, &s, "x"));
	kc_workers_stop(NULL);
	kc_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dedup),
	    cmocka_unit_test(test_readd_while_processing),
	    cmocka_unit_test(test_never_two_workers),
	    cmocka_unit_test(test_add_after_order),
	    cmocka_unit_test(test_rate_limited_backoff),
	    cmocka_unit_test(test_shutdown),
	    cmocka_unit_test(test_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
