/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workqueue: client-go's rate-limited work queue of keys ("ns/name"). A key added while it
 * waits is queued once (de-duplication); a key added while a worker processes it is queued
 * again only after kc_queue_done, so no two workers ever hold the same key. Delayed adds
 * (kc_queue_add_after) and per-key exponential back-off (kc_queue_add_rate_limited: 5 ms
 * doubling to 1000 s, reset by kc_queue_forget), as client-go's default controller rate
 * limiter does per item.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef DROVER_KC_WORKQUEUE_H
#define DROVER_KC_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kc_queue;

struct kc_queue *kc_queue_new(const char *name);
/* Shut down (kc_queue_get returns -ESHUTDOWN once drained) and free after every worker has
 * returned; NULL-tolerant. */
void kc_queue_shutdown(struct kc_queue *q);
void kc_queue_free(struct kc_queue *q);

void kc_queue_add(struct kc_queue *q, const char *key);
void kc_queue_add_after(struct kc_queue *q, const char *key, uint64_t delay_ms);
void kc_queue_add_rate_limited(struct kc_queue *q, const char *key);
/* Forget the key's failures (its back-off restarts at the base delay). */
void kc_queue_forget(struct kc_queue *q, const char *key);
unsigned kc_queue_requeues(struct kc_queue *q, const char *key);

/* Wait up to timeout_ms (-1: forever) for a key: 0 and *key (malloc'd; pass it to
 * kc_queue_done and free it), -ETIMEDOUT, or -ESHUTDOWN. */
int kc_queue_get(struct kc_queue *q, char **key, int timeout_ms);
void kc_queue_done(struct kc_queue *q, const char *key);
size_t kc_queue_len(struct kc_queue *q);

/* Worker threads: kc_workers_start runs n threads that take keys and call sync(arg, key):
 * 0 = done (the key's failures are forgotten), -EAGAIN = retry with back-off, other < 0 =
 * retry with back-off and log. kc_workers_stop shuts the queue down, lets the workers drain
 * what is queued, joins them and frees them (the queue stays the caller's to free). */
struct kc_workers;
struct kc_workers *kc_workers_start(struct kc_queue *q, unsigned n,
				    int (*sync)(void *arg, const char *key), void *arg,
				    const char *name);
/* Shut the queue down, join the workers, free them; NULL-tolerant. */
void kc_workers_stop(struct kc_workers *w);

#endif
