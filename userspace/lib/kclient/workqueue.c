/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workqueue: client-go's work queue (k8s.io/client-go/util/workqueue) in C. Under one mutex:
 * a FIFO of keys, the dirty set (keys queued or waiting to be queued again) and the
 * processing set (keys a worker holds), as queue.go has them; the delaying queue's waiting
 * items as a min-heap by ready time with a key → heap slot map (an item already waiting
 * keeps the earlier time, as delaying_queue.go does); the per-item exponential failure rate
 * limiter (5 ms · 2^failures, at most 1000 s). No timer thread: a getter waits on the
 * condition variable until the earliest ready time and moves due items to the FIFO itself.
 * Also the worker threads helper a controller runs its sync function on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "log.h"
#include "workqueue.h"

#define COMP	      "workqueue"
#define BASE_DELAY_MS 5ull
#define MAX_DELAY_MS  1000000ull

struct waiting {
	uint64_t at, seq; /* ready time (ms, monotonic); insertion order among equals */
	char *key;
};

struct kc_queue {
	char *name;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	char **fifo; /* ring */
	size_t head, count, cap;
	struct hmap *dirty, *processing;
	struct waiting *heap;
	size_t nheap, capheap;
	struct hmap *slot;     /* key → heap index + 1 */
	struct hmap *failures; /* key → count */
	uint64_t seq;
	bool shutdown;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct kc_queue *kc_queue_new(const char *name)
{
	struct kc_queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (!q)
		return NULL;
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	q->name = strdup(name ? name : "queue");
	q->dirty = hmap_new();
	q->processing = hmap_new();
	q->slot = hmap_new();
	q->failures = hmap_new();
	if (!q->name || !q->dirty || !q->processing || !q->slot || !q->failures) {
		kc_queue_free(q);
		errno = ENOMEM;
		return NULL;
	}
	return q;
}

void kc_queue_free(struct kc_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cond);
	for (size_t i = 0; i < q->count; i++)
		free(q->fifo[(q->head + i) % q->cap]);
	free(q->fifo);
	for (size_t i = 0; i < q->nheap; i++)
		free(q->heap[i].key);
	free(q->heap);
	hmap_free(q->dirty);
	hmap_free(q->processing);
	hmap_free(q->slot);
	hmap_free(q->failures);
	free(q->name);
	free(q);
}

void kc_queue_shutdown(struct kc_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

/* ---- the FIFO and its sets (mu held) ---- */

static bool fifo_push(struct kc_queue *q, const char *key)
{
	char *k = strdup(key);

	if (!k)
		return false;
	if (q->count == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 64;
		char **n = malloc(ncap * sizeof(*n));

		if (!n) {
			free(k);
			return false;
		}
		for (size_t i = 0; i < q->count; i++)
			n[i] = q->fifo[(q->head + i) % q->cap];
		free(q->fifo);
		q->fifo = n;
		q->cap = ncap;
		q->head = 0;
	}
	q->fifo[(q->head + q->count) % q->cap] = k;
	q->count++;
	return true;
}

static void add_locked(struct kc_queue *q, const char *key)
{
	if (q->shutdown || hmap_sget(q->dirty, key))
		return;
	if (hmap_sput(q->dirty, key, (void *)1, NULL) < 0) {
		log_error(COMP, "%s: out of memory adding %s", q->name, key);
		return;
	}
	/* held by a worker: queued again by kc_queue_done */
	if (hmap_sget(q->processing, key))
		return;
	if (!fifo_push(q, key)) {
		hmap_sdel(q->dirty, key);
		log_error(COMP, "%s: out of memory adding %s", q->name, key);
		return;
	}
	pthread_cond_signal(&q->cond);
}

/* ---- the waiting heap (mu held) ---- */

static bool before(const struct waiting *a, const struct waiting *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_set(struct kc_queue *q, size_t i, struct waiting w)
{
	q->heap[i] = w;
	hmap_sput(q->slot, w.key, (void *)(uintptr_t)(i + 1), NULL);
}

static void sift_up(struct kc_queue *q, size_t i)
{
	struct waiting w = q->heap[i];

	while (i > 0 && before(&w, &q->heap[(i - 1) / 2])) {
		heap_set(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(q, i, w);
}

static void sift_down(struct kc_queue *q, size_t i)
{
	struct waiting w = q->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!before(&q->heap[c], &w))
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, w);
}

static void add_after_locked(struct kc_queue *q, const char *key, uint64_t at)
{
	uintptr_t slot = (uintptr_t)hmap_sget(q->slot, key);
	struct waiting w;

	if (slot) {
		/* already waiting: only an earlier time changes it */
		if (at < q->heap[slot - 1].at) {
			q->heap[slot - 1].at = at;
			sift_up(q, slot - 1);
			pthread_cond_broadcast(&q->cond);
		}
		return;
	}
	if (q->nheap == q->capheap) {
		size_t ncap = q->capheap ? q->capheap * 2 : 16;
		struct waiting *n = realloc(q->heap, ncap * sizeof(*n));

		if (!n)
			goto oom;
		q->heap = n;
		q->capheap = ncap;
	}
	w.at = at;
	w.seq = q->seq++;
	w.key = strdup(key);
	if (!w.key || hmap_sput(q->slot, key, (void *)(uintptr_t)(q->nheap + 1), NULL) < 0) {
		free(w.key);
		goto oom;
	}
	q->heap[q->nheap++] = w;
	sift_up(q, q->nheap - 1);
	/* a getter may be sleeping until a later time */
	pthread_cond_broadcast(&q->cond);
	return;
oom:
	log_error(COMP, "%s: out of memory delaying %s", q->name, key);
}

/* Move every waiting item that is due into the FIFO. */
static void promote(struct kc_queue *q, uint64_t now)
{
	while (q->nheap && q->heap[0].at <= now) {
		struct waiting w = q->heap[0];

		hmap_sdel(q->slot, w.key);
		q->nheap--;
		if (q->nheap) {
			q->heap[0] = q->heap[q->nheap];
			sift_down(q, 0);
		}
		add_locked(q, w.key);
		free(w.key);
	}
}

/* ---- the interface ---- */

void kc_queue_add(struct kc_queue *q, const char *key)
{
	if (!q || !key)
		return;
	pthread_mutex_lock(&q->mu);
	add_locked(q, key);
	pthread_mutex_unlock(&q->mu);
}

void kc_queue_add_after(struct kc_queue *q, const char *key, uint64_t delay_ms)
{
	if (!q || !key)
		return;
	pthread_mutex_lock(&q->mu);
	if (q->shutdown)
		;
	else if (!delay_ms)
		add_locked(q, key);
	else
		add_after_locked(q, key, now_ms() + delay_ms);
	pthread_mutex_unlock(&q->mu);
}

void kc_queue_add_rate_limited(struct kc_queue *q, const char *key)
{
	uintptr_t n;
	uint64_t delay = BASE_DELAY_MS;

	if (!q || !key)
		return;
	pthread_mutex_lock(&q->mu);
	n = (uintptr_t)hmap_sget(q->failures, key);
	if (hmap_sput(q->failures, key, (void *)(n + 1), NULL) < 0)
		log_error(COMP, "%s: out of memory counting %s", q->name, key);
	/* 5 ms · 2^n, capped (and no shift past the cap) */
	for (uintptr_t i = 0; i < n && delay < MAX_DELAY_MS; i++)
		delay *= 2;
	if (delay > MAX_DELAY_MS)
		delay = MAX_DELAY_MS;
	if (!q->shutdown)
		add_after_locked(q, key, now_ms() + delay);
	pthread_mutex_unlock(&q->mu);
}

void kc_queue_forget(struct kc_queue *q, const char *key)
{
	if (!q || !key)
		return;
	pthread_mutex_lock(&q->mu);
	hmap_sdel(q->failures, key);
	pthread_mutex_unlock(&q->mu);
}

unsigned kc_queue_requeues(struct kc_queue *q, const char *key)
{
	unsigned n;

	if (!q || !key)
		return 0;
	pthread_mutex_lock(&q->mu);
	n = (unsigned)(uintptr_t)hmap_sget(q->failures, key);
	pthread_mutex_unlock(&q->mu);
	return n;
}

int kc_queue_get(struct kc_queue *q, char **key, int timeout_ms)
{
	uint64_t deadline = timeout_ms >= 0 ? now_ms() + (uint64_t)timeout_ms : UINT64_MAX;
	int err = 0;

	*key = NULL;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		uint64_t now = now_ms(), until;

		promote(q, now);
		if (q->count) {
			char *k = q->fifo[q->head];

			q->head = (q->head + 1) % q->cap;
			q->count--;
			hmap_sdel(q->dirty, k);
			if (hmap_sput(q->processing, k, (void *)1, NULL) < 0)
				log_error(COMP, "%s: out of memory holding %s", q->name, k);
			*key = k;
			break;
		}
		/* shut down and drained; waiting items are dropped as client-go drops them */
		if (q->shutdown) {
			err = -ESHUTDOWN;
			break;
		}
		if (now >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		until = deadline;
		if (q->nheap && q->heap[0].at < until)
			until = q->heap[0].at;
		if (until == UINT64_MAX) {
			pthread_cond_wait(&q->cond, &q->mu);
		} else {
			struct timespec ts = {.tv_sec = (time_t)(until / 1000),
					      .tv_nsec = (long)(until % 1000) * 1000000};

			pthread_cond_timedwait(&q->cond, &q->mu, &ts);
		}
	}
	pthread_mutex_unlock(&q->mu);
	return err;
}

void kc_queue_done(struct kc_queue *q, const char *key)
{
	if (!q || !key)
		return;
	pthread_mutex_lock(&q->mu);
	hmap_sdel(q->processing, key);
	/* added again while it was processed: its turn now (also after shutdown, as
	 * client-go's Done does, so a drain includes it) */
	if (hmap_sget(q->dirty, key)) {
		if (fifo_push(q, key))
			pthread_cond_signal(&q->cond);
		else
			hmap_sdel(q->dirty, key);
	}
	pthread_mutex_unlock(&q->mu);
}

size_t kc_queue_len(struct kc_queue *q)
{
	size_t n;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->mu);
	promote(q, now_ms());
	n = q->count;
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* ---- workers ---- */

struct kc_workers {
	struct kc_queue *q;
	int (*sync)(void *arg, const char *key);
	void *arg;
	char name[64];
	unsigned n;
	pthread_t *threads;
};

static void *worker_main(void *arg)
{
	struct kc_workers *w = arg;
	char *key;

	while (kc_queue_get(w->q, &key, -1) == 0) {
		int rc = w->sync(w->arg, key);

		if (rc == 0) {
			kc_queue_forget(w->q, key);
		} else {
			if (rc != -EAGAIN)
				log_warn(COMP, "%s: syncing %s: %s (retried)", w->name, key,
					 strerror(-rc));
			kc_queue_add_rate_limited(w->q, key);
		}
		kc_queue_done(w->q, key);
		free(key);
	}
	return NULL;
}

struct kc_workers *kc_workers_start(struct kc_queue *q, unsigned n,
				    int (*sync)(void *arg, const char *key), void *arg,
				    const char *name)
{
	struct kc_workers *w;

	if (!q || !n || !sync) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->threads = calloc(n, sizeof(*w->threads)))) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->q = q;
	w->sync = sync;
	w->arg = arg;
	snprintf(w->name, sizeof(w->name), "%s", name ? name : q->name);
	for (; w->n < n; w->n++) {
		int err = pthread_create(&w->threads[w->n], NULL, worker_main, w);

		if (err) {
			log_error(COMP, "%s: starting worker %u: %s", w->name, w->n, strerror(err));
			kc_workers_stop(w);
			errno = err;
			return NULL;
		}
	}
	return w;
}

void kc_workers_stop(struct kc_workers *w)
{
	if (!w)
		return;
	kc_queue_shutdown(w->q);
	for (unsigned i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	free(w->threads);
	free(w);
}
