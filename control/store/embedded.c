/* SPDX-License-Identifier: Apache-2.0 */
/*
 * embedded: the default store backend. An in-memory ordered index (index.c) of every kept
 * version, a bounded ring of recent events for watches, a write-ahead log with group commit
 * (commit.c: one fdatasync per batch, through store_io: io_uring in production), and zlib
 * snapshots after which the log is cut (snapshot.c). Recovery: recovery.c. This file: reads,
 * watches, open and close.
 *
 * Threads and locks (the only ones; always taken in this order: lock -> wlock -> w->lock):
 *   lock  (rwlock, writer-preferring)  the index, rev, compact_rev, the event ring.
 *         Readers (get/list/watch_open) take it shared; the committer takes it exclusively
 *         only to apply a batch that is already durable, so reads never wait for a sync.
 *   wlock (mutex)  the watcher array. The committer takes it before releasing `lock`, so a
 *         watch that opens sees every event exactly once: either in the ring or pushed.
 *   qtop (atomic)  writers push their request on a lock-free stack; the committer takes the
 *         whole stack at once. A writer waits on its request's own futex (done), so an
 *         acknowledgement takes no lock; 256 writers do not convoy on a mutex.
 *   qlock (mutex)  only to put the idle committer to sleep (qcond) and wake it; a writer takes
 *         it only when its push found the stack empty.
 *   committer thread, without a lock: the log file and offsets, the batch buffer; it is the
 *         only thread that mutates the index, so it reads the index without taking `lock`.
 *   snap_lock  hands a snapshot job to the snapshot thread (snapshot.c).
 *   write_err  is atomic: sticky once a sync failed (or the file system is read-only).
 */
#include "embedded.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct emb *EMB(struct store *s)
{
	return (struct emb *)s;
}

/* ---- reads ---- */

static int emb_get(struct store *s, const void *key, size_t key_len, uint64_t rev,
		   struct store_kv *out)
{
	struct emb *e = EMB(s);
	struct kentry *k;
	struct srec *r = NULL;
	int err = -ENOENT;

	pthread_rwlock_rdlock(&e->lock);
	if (rev && rev < e->compact_rev) {
		err = -STORE_ECOMPACTED;
		goto out;
	}
	if (rev > e->rev) {
		err = -ERANGE;
		goto out;
	}
	k = idx_find(&e->idx, key, key_len);
	if (k)
		r = rev ? kentry_at(k, rev) : kentry_latest(k);
	if (r && r->type == SREC_PUT) {
		srec_to_kv(r, out);
		err = 0;
	}
out:
	pthread_rwlock_unlock(&e->lock);
	return err;
}

static int list_grow(struct store_list *l, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	struct store_kv *items = realloc(l->items, ncap * sizeof(*items));

	if (!items)
		return -ENOMEM;
	l->items = items;
	*cap = ncap;
	return 0;
}

static bool has_prefix(const struct srec *r, const struct store_list_opts *o)
{
	return !o->prefix_len ||
	       (r->key_len >= o->prefix_len && !memcmp(srec_key(r), o->prefix, o->prefix_len));
}

/* Put r on the page (out->rev its revision): 0, 1 when the page is full (r follows it: the
 * page ends with a token after *last), or -ENOMEM. */
static int list_push(const struct store_list_opts *o, struct srec *r, struct srec **last,
		     size_t *cap, struct store_list *out)
{
	if (o->limit && out->count == o->limit) {
		out->next = store_token_encode(out->rev, srec_key(*last), (*last)->key_len);
		return out->next ? 1 : -ENOMEM;
	}
	if (out->count == *cap && list_grow(out, cap))
		return -ENOMEM;
	srec_to_kv(r, &out->items[out->count++]);
	*last = r;
	return 0;
}

/* The tagged list at the current revision, from the index: the keys of the tag under the
 * prefix, after `after` (a continue token's key) if given. Caller holds lock shared. */
static int list_tagged(struct emb *e, const struct store_list_opts *o, const uint8_t *after,
		       size_t after_len, struct store_list *out)
{
	const struct tix_set *set = tix_find(o->index, o->tag, o->tag_len);
	size_t cap = 0, i = 0;
	struct srec *last = NULL;
	int err = 0;

	if (!set)
		return 0;
	if (after)
		i = tix_seek(set, after, after_len, true);
	for (; i < set->n; i++) {
		const struct tix_key *tk = &set->keys[i];
		struct kentry *k;
		struct srec *r;

		if (tk->len < o->prefix_len || memcmp(tk->key, o->prefix, o->prefix_len))
			continue;
		k = idx_find(&e->idx, tk->key, tk->len);
		r = k ? kentry_latest(k) : NULL;
		atomic_fetch_add_explicit(&e->st_visited, 1, memory_order_relaxed);
		if (!r || r->type != SREC_PUT)
			continue;
		err = list_push(o, r, &last, &cap, out);
		if (err)
			break;
	}
	return err > 0 ? 0 : err;
}

/* Does the value of r have o's tag? (A tagged list read at another than the current
 * revision, or over an index that failed.) */
static bool tag_matches(const struct store_list_opts *o, const struct srec *r)
{
	char tag[STORE_TAG_MAX];
	size_t want = o->tag_len > STORE_TAG_MAX ? STORE_TAG_MAX : o->tag_len;
	size_t n = tix_tag(o->index, srec_key(r), r->key_len, srec_value(r), r->value_len, tag);

	return n == want && !memcmp(tag, o->tag, n);
}

static int emb_list(struct store *s, const struct store_list_opts *o, struct store_list *out)
{
	struct emb *e = EMB(s);
	uint8_t *after = NULL;
	size_t after_len = 0, cap = 0;
	uint64_t rev = o->rev;
	struct kentry *k;
	struct srec *last = NULL;
	int err = 0;

	if (o->continue_token) {
		err = store_token_decode(o->continue_token, &rev, &after, &after_len);
		if (err)
			return err;
		if (after_len < o->prefix_len ||
		    (o->prefix_len && memcmp(after, o->prefix, o->prefix_len))) {
			free(after);
			return -EINVAL;
		}
	}
	pthread_rwlock_rdlock(&e->lock);
	if (!rev)
		rev = e->rev;
	if (rev < e->compact_rev) {
		err = -STORE_ECOMPACTED;
		goto out;
	}
	if (rev > e->rev) {
		err = -ERANGE;
		goto out;
	}
	out->rev = rev;
	if (o->index && rev == e->rev && !o->index->broken &&
	    o->prefix_len >= o->index->prefix_len &&
	    !memcmp(o->prefix, o->index->prefix, o->index->prefix_len)) {
		err = list_tagged(e, o, after, after_len, out);
		goto out;
	}
	k = after ? idx_seek(&e->idx, after, after_len, true)
		  : idx_seek(&e->idx, o->prefix, o->prefix_len, false);
	for (; k && has_prefix(k->ver[0], o); k = idx_next(k)) {
		struct srec *r = rev == e->rev ? kentry_latest(k) : kentry_at(k, rev);

		atomic_fetch_add_explicit(&e->st_visited, 1, memory_order_relaxed);
		if (!r || r->type != SREC_PUT || (o->index && !tag_matches(o, r)))
			continue;
		err = list_push(o, r, &last, &cap, out);
		if (err)
			break;
	}
	if (err > 0)
		err = 0;
out:
	pthread_rwlock_unlock(&e->lock);
	free(after);
	if (err)
		store_list_free(out);
	return err;
}

static uint64_t emb_revision(struct store *s)
{
	struct emb *e = EMB(s);
	uint64_t rev;

	pthread_rwlock_rdlock(&e->lock);
	rev = e->rev;
	pthread_rwlock_unlock(&e->lock);
	return rev;
}

static uint64_t emb_compacted_revision(struct store *s)
{
	struct emb *e = EMB(s);
	uint64_t rev;

	pthread_rwlock_rdlock(&e->lock);
	rev = e->compact_rev;
	pthread_rwlock_unlock(&e->lock);
	return rev;
}

/* ---- watches ---- */

static void emb_watch_detach(struct store_watch *w)
{
	struct emb *e = w->backend;

	if (!e)
		return;
	pthread_mutex_lock(&e->wlock);
	if (w->owner) {
		e->watchers[w->owner_idx] = e->watchers[--e->nwatch];
		e->watchers[w->owner_idx]->owner_idx = w->owner_idx;
		w->owner = NULL;
	}
	pthread_mutex_unlock(&e->wlock);
}

static int emb_watch_open(struct store *s, const struct store_watch_opts *o,
			  struct store_watch **out)
{
	struct emb *e = EMB(s);
	struct store_watch *w = NULL;
	uint64_t from = o->from_rev;
	size_t backlog = 0;
	int err = 0;

	pthread_rwlock_rdlock(&e->lock);
	if (!from)
		from = e->rev + 1;
	if (from <= e->rev && (from < e->ring_lo || from < e->compact_rev)) {
		err = -STORE_ECOMPACTED;
		goto out;
	}
	if (from <= e->rev)
		backlog = (size_t)(e->rev - from + 1);
	w = watch_new(o->prefix, o->prefix_len,
		      backlog > e->opts.watch_queue_max ? backlog : e->opts.watch_queue_max,
		      o->set != NULL);
	if (!w) {
		err = -ENOMEM;
		goto out;
	}
	w->start_rev = from;
	w->set = o->set;
	w->backend = e;
	w->detach = emb_watch_detach;
	for (uint64_t rev = from; rev <= e->rev; rev++) {
		struct sevent *ev = emb_ring_get(e, rev);

		if (watch_matches(w, ev->pub.kv.key, ev->pub.kv.key_len))
			watch_push(w, &ev->pub);
	}
	pthread_mutex_lock(&e->wlock);
	if (e->nwatch == e->capwatch) {
		size_t cap = e->capwatch ? e->capwatch * 2 : 64;
		struct store_watch **ws = realloc(e->watchers, cap * sizeof(*ws));

		if (!ws) {
			pthread_mutex_unlock(&e->wlock);
			watch_free(w);
			w = NULL;
			err = -ENOMEM;
			goto out;
		}
		e->watchers = ws;
		e->capwatch = cap;
	}
	w->owner = e;
	w->owner_idx = e->nwatch;
	e->watchers[e->nwatch++] = w;
	pthread_mutex_unlock(&e->wlock);
out:
	pthread_rwlock_unlock(&e->lock);
	*out = w;
	return err;
}

static int emb_stats(struct store *s, struct store_stats *st)
{
	struct emb *e = EMB(s);

	pthread_rwlock_rdlock(&e->lock);
	st->rev = e->rev;
	st->compact_rev = e->compact_rev;
	st->keys = e->idx.nlive;
	st->versions = e->idx.nversions;
	pthread_rwlock_unlock(&e->lock);
	pthread_mutex_lock(&e->wlock);
	st->watchers = e->nwatch;
	pthread_mutex_unlock(&e->wlock);
	st->writes = atomic_load(&e->st_writes);
	st->batches = atomic_load(&e->st_batches);
	st->watch_slow_cancels = atomic_load(&e->st_slow);
	st->snapshots = atomic_load(&e->st_snapshots);
	st->recovered_records = e->st_recovered;
	st->recovery_truncated_bytes = e->st_truncated;
	st->list_visited = atomic_load(&e->st_visited);
	st->write_error = atomic_load(&e->write_err);
	return 0;
}

/* ---- lifecycle ---- */

static void emb_free(struct emb *e)
{
	if (e->ring) {
		for (uint64_t rev = e->ring_lo; rev <= e->rev && rev >= e->ring_lo; rev++)
			sref_put(&emb_ring_get(e, rev)->ref);
		free(e->ring);
	}
	idx_destroy(&e->idx);
	if (e->wal_fd >= 0)
		e->io->ops->close(e->io, e->wal_fd);
	if (e->own_io)
		store_io_destroy(e->io);
	free(e->watchers);
	free(e->buf);
	free(e->ov);
	free(e->ov_used);
	free(e->evs);
	free(e->fan);
	free(e->batch);
	while (e->indexes) {
		struct store_index *next = e->indexes->next;

		tix_free(e->indexes);
		e->indexes = next;
	}
	pthread_rwlock_destroy(&e->lock);
	pthread_mutex_destroy(&e->wlock);
	pthread_mutex_destroy(&e->qlock);
	pthread_cond_destroy(&e->qcond);
	free(e);
}

static void emb_close(struct store *s)
{
	struct emb *e = EMB(s);

	pthread_mutex_lock(&e->qlock);
	atomic_store(&e->closing, true);
	pthread_cond_signal(&e->qcond);
	pthread_mutex_unlock(&e->qlock);
	if (e->committer_started)
		pthread_join(e->committer, NULL);
	emb_snapshot_stop(e);
	pthread_rwlock_wrlock(&e->lock);
	pthread_mutex_lock(&e->wlock);
	for (size_t i = 0; i < e->nwatch; i++) {
		struct store_watch *w = e->watchers[i];

		watch_cancel(w, -STORE_ECLOSED);
		w->owner = NULL;
		w->backend = NULL;
	}
	e->nwatch = 0;
	pthread_mutex_unlock(&e->wlock);
	pthread_rwlock_unlock(&e->lock);
	emb_free(e);
}

static int emb_index_add(struct store *s, const void *prefix, size_t prefix_len, store_tag_fn fn,
			 struct store_index **out)
{
	struct emb *e = EMB(s);
	struct store_index *ix;
	int err = 0;

	/* exclusive: the committer applies no batch while the index is built */
	pthread_rwlock_wrlock(&e->lock);
	for (ix = e->indexes; ix; ix = ix->next)
		if (ix->fn == fn && ix->prefix_len == prefix_len &&
		    !memcmp(ix->prefix, prefix, prefix_len))
			break;
	if (!ix) {
		ix = tix_new(&e->idx, prefix, prefix_len, fn);
		if (ix) {
			ix->next = e->indexes;
			e->indexes = ix;
		} else {
			err = -ENOMEM;
		}
	}
	pthread_rwlock_unlock(&e->lock);
	*out = ix;
	return err;
}

static const struct store_ops emb_ops = {
    .name = "embedded",
    .write = emb_write,
    .get = emb_get,
    .list = emb_list,
    .watch_open = emb_watch_open,
    .compact = emb_compact,
    .revision = emb_revision,
    .compacted_revision = emb_compacted_revision,
    .stats = emb_stats,
    .index_add = emb_index_add,
    .close = emb_close,
};

int store_open_embedded(const struct store_embedded_opts *o, struct store **out)
{
	pthread_rwlockattr_t attr;
	struct emb *e;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!o || o->sz < offsetof(struct store_embedded_opts, io) || (!o->dir && !o->io))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->base.ops = &emb_ops;
	memcpy(&e->opts, o, o->sz < sizeof(e->opts) ? o->sz : sizeof(e->opts));
	if (!e->opts.history)
		e->opts.history = 10000;
	if (!e->opts.watch_queue_max)
		e->opts.watch_queue_max = 10000;
	if (!e->opts.snapshot_bytes)
		e->opts.snapshot_bytes = 64ull << 20;
	if (!e->opts.snapshot_level)
		e->opts.snapshot_level = 1;
	e->wal_fd = -1;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&e->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&e->wlock, NULL);
	pthread_mutex_init(&e->qlock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* gather() waits on it */
		pthread_cond_init(&e->qcond, &ca);
		pthread_condattr_destroy(&ca);
	}
	e->ring_cap = e->opts.history;
	e->ov_cap = 2 * BATCH_MAX_REQS;
	e->ring = calloc(e->ring_cap, sizeof(*e->ring));
	e->ov = calloc(e->ov_cap, sizeof(*e->ov));
	e->ov_used = calloc(BATCH_MAX_REQS, sizeof(*e->ov_used));
	e->evs = calloc(BATCH_MAX_REQS, sizeof(*e->evs));
	e->fan = calloc(BATCH_MAX_REQS, sizeof(*e->fan));
	e->batch = calloc(BATCH_MAX_REQS, sizeof(*e->batch));
	err = idx_init(&e->idx);
	if (!err && (!e->ring || !e->ov || !e->ov_used || !e->evs || !e->fan || !e->batch))
		err = -ENOMEM;
	if (err)
		goto fail;
	e->ring_lo = 1;
	if (o->io) {
		e->io = o->io;
	} else {
		err = store_io_real_new(o->dir, &e->io);
		if (err) {
			log_error("store", "data directory %s: %s", o->dir, store_strerror(err));
			goto fail;
		}
		e->own_io = true;
	}
	err = emb_recover(e);
	if (err)
		goto fail;
	err = emb_snapshot_start(e);
	if (err)
		goto fail;
	err = -pthread_create(&e->committer, NULL, emb_committer_main, e);
	if (err)
		goto fail;
	e->committer_started = true;
	*out = &e->base;
	return 0;
fail:
	emb_snapshot_stop(e);
	emb_free(e);
	return err;
}
