/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_int: what backends share and nothing above the store sees: the ops table every
 * backend implements, the reference counts behind zero-copy views, and the generic watch
 * queue (watch.c) that a backend feeds with events.
 */
#ifndef DROVER_STORE_INT_H
#define DROVER_STORE_INT_H

#include "store.h"

#include <pthread.h>
#include <stdatomic.h>

struct store_ref {
	atomic_uint refs;
	void (*free)(struct store_ref *ref);
};

static inline void sref_init(struct store_ref *r, void (*free_fn)(struct store_ref *))
{
	atomic_init(&r->refs, 1);
	r->free = free_fn;
}

static inline void sref_get(struct store_ref *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

static inline void sref_put(struct store_ref *r)
{
	if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		r->free(r);
}

/* Every backend implements these; store.c validates arguments before calling them. */
struct store_ops {
	const char *name;
	int (*write)(struct store *s, const struct store_write *w, struct store_write_result *res);
	int (*get)(struct store *s, const void *key, size_t key_len, uint64_t rev,
		   struct store_kv *out);
	int (*list)(struct store *s, const struct store_list_opts *o, struct store_list *out);
	int (*watch_open)(struct store *s, const struct store_watch_opts *o,
			  struct store_watch **out);
	int (*compact)(struct store *s, uint64_t rev);
	uint64_t (*revision)(struct store *s);
	uint64_t (*compacted_revision)(struct store *s);
	int (*stats)(struct store *s, struct store_stats *st);
	/* NULL: the backend has no secondary indexes */
	int (*index_add)(struct store *s, const void *prefix, size_t prefix_len, store_tag_fn fn,
			 struct store_index **out);
	void (*close)(struct store *s);
};

struct store {
	const struct store_ops *ops;
};

/* ---- generic watch queue (watch.c) ----
 * Lock: w->lock guards queue, err and owner; the backend pushes from its thread, the
 * consumer pops from its own. The eventfd is readable exactly while the queue is non-empty or
 * err is set (both changed only under w->lock). */
struct store_watch {
	pthread_mutex_t lock;
	int efd;
	bool efd_set;
	struct store_event **q; /* ring of references */
	size_t head, len, cap;
	size_t limit; /* cancel with -STORE_ESLOW when a push would exceed it */
	int err;      /* sticky cancellation reason, 0 while live */
	uint8_t *prefix;
	size_t prefix_len;
	/* Backend hook: unregister from the backend (called by store_watch_close once). */
	void (*detach)(struct store_watch *w);
	void *backend;		     /* set by the backend; NULL once the store let go of it */
	void *owner;		     /* non-NULL while registered for events (backend's wlock) */
	size_t owner_idx;	     /* position in the backend's watcher array */
	uint64_t start_rev;	     /* deliver only events at or above this revision */
	struct store_watch_set *set; /* signal this set instead of efd */
	bool in_set_ready;	     /* on the set's ready list or handed out, not drained */
};

struct store_watch *watch_new(const void *prefix, size_t prefix_len, size_t limit, bool in_set);
bool watch_matches(const struct store_watch *w, const uint8_t *key, size_t key_len);
/* Queues ev (taking a reference) unless cancelled; returns -STORE_ESLOW if this push
 * cancelled the watch for being too far behind. Caller does not hold w->lock. */
int watch_push(struct store_watch *w, struct store_event *ev);
/* Queues n events at once under one lock (the backend's fan-out of one batch). */
int watch_push_many(struct store_watch *w, struct store_event **evs, size_t n);
/* Cancels with reason err (first reason wins); drops queued events. */
void watch_cancel(struct store_watch *w, int err);
void watch_free(struct store_watch *w);

/* Validation shared by every backend (store.c). */
int store_check_key(const void *key, size_t key_len);

/* Continue tokens: "<rev>.<hex of the last key returned>" (store.c). */
char *store_token_encode(uint64_t rev, const uint8_t *key, size_t key_len);
int store_token_decode(const char *tok, uint64_t *rev, uint8_t **key, size_t *key_len);

uint64_t store_now_ns(void);

#endif
