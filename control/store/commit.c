/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commit: the embedded store's write path. Writers push requests on a lock-free stack and
 * sleep on their own futex; the committer thread takes everything pushed, decides each request
 * against the index plus the batch so far, encodes the records once, writes them with one
 * fdatasync (group commit), and only then applies them (index, event ring, watchers) and
 * wakes the writers. The lock rules are at the top of embedded.c.
 */
#include "embedded.h"
#include "hmap.h"

#include "log.h"

#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct emb *EMB(struct store *s)
{
	return (struct emb *)s;
}

/* ---- events ---- */

static void sevent_free(struct store_ref *ref)
{
	struct sevent *ev = (struct sevent *)((char *)ref - offsetof(struct sevent, ref));

	sref_put(&ev->rec->ref);
	if (ev->prev)
		sref_put(&ev->prev->ref);
	free(ev);
}

/* The one event of one change: built once, shared by the ring and every watcher. */
static struct sevent *sevent_new(struct srec *rec, struct srec *prev, uint64_t now)
{
	struct sevent *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	sref_init(&ev->ref, sevent_free);
	ev->rec = rec;
	sref_get(&rec->ref);
	ev->pub.kv.key = srec_key(rec);
	ev->pub.kv.key_len = rec->key_len;
	ev->pub.kv.value = srec_value(rec);
	ev->pub.kv.value_len = rec->type == SREC_PUT ? rec->value_len : 0;
	ev->pub.kv.create_rev = rec->create_rev;
	ev->pub.kv.mod_rev = rec->rev;
	if (prev && prev->type == SREC_PUT) {
		ev->prev = prev;
		sref_get(&prev->ref);
		ev->pub.prev.key = srec_key(prev);
		ev->pub.prev.key_len = prev->key_len;
		ev->pub.prev.value = srec_value(prev);
		ev->pub.prev.value_len = prev->value_len;
		ev->pub.prev.create_rev = prev->create_rev;
		ev->pub.prev.mod_rev = prev->rev;
	}
	if (rec->type == SREC_DEL)
		ev->pub.type = STORE_EVENT_DELETE;
	else if (rec->create_rev == rec->rev)
		ev->pub.type = STORE_EVENT_CREATE;
	else
		ev->pub.type = STORE_EVENT_UPDATE;
	ev->pub.commit_ns = now;
	ev->pub._ref = &ev->ref;
	return ev;
}

void store_event_value(const struct store_event *ev, const struct store_kv *kv,
		       struct store_kv *out)
{
	const struct sevent *se = (const struct sevent *)ev; /* pub is its first member */
	struct srec *r = NULL;

	*out = *kv;
	out->_ref = NULL;
	if (se->rec && kv->value == ev->kv.value)
		r = se->rec;
	else if (se->prev && kv->value == ev->prev.value)
		r = se->prev;
	if (r) {
		sref_get(&r->ref);
		out->_ref = &r->ref;
	}
}

/* ---- applying records (committer and recovery); caller holds `lock` exclusively ---- */

static void ring_push(struct emb *e, struct sevent *ev)
{
	uint64_t rev = ev->pub.kv.mod_rev;
	size_t slot = (size_t)(rev % e->ring_cap);

	if (rev - e->ring_lo >= e->ring_cap) {
		/* Full: the slot holds rev - cap, the oldest. */
		sref_put(&e->ring[slot]->ref);
		e->ring_lo++;
	}
	e->ring[slot] = ev;
}

/* Refile rec's key in every secondary index. */
static void index_apply(struct emb *e, const struct srec *rec, const struct tix_pre *pre)
{
	for (struct store_index *ix = e->indexes; ix; ix = ix->next)
		if (!ix->broken && tix_update(ix, srec_key(rec), rec->key_len, srec_value(rec),
					      rec->value_len, rec->type == SREC_PUT, pre) != 0) {
			ix->broken = true;
			log_error("store",
				  "a secondary index ran out of memory: its lists now read "
				  "every key under its prefix");
		}
}

/* The tag of r's record in the first index that covers its key (caller holds lock shared). */
static void pre_tag(struct emb *e, struct wreq *r)
{
	const struct srec *rec = r->rec;

	r->tag.ix = NULL;
	if (!rec || rec->type != SREC_PUT)
		return;
	for (struct store_index *ix = e->indexes; ix; ix = ix->next)
		if (tix_covers(ix, srec_key(rec), rec->key_len)) {
			r->tag.len = tix_tag(ix, srec_key(rec), rec->key_len, srec_value(rec),
					     rec->value_len, r->tag.tag);
			r->tag.ix = ix;
			return;
		}
}

int emb_apply(struct emb *e, struct srec *rec, const struct tix_pre *pre, uint64_t now,
	      struct sevent **ev_out)
{
	struct kentry *k = idx_find(&e->idx, srec_key(rec), rec->key_len);
	struct sevent *ev = sevent_new(rec, k ? kentry_latest(k) : NULL, now);
	int err;

	if (!ev)
		return -ENOMEM;
	sref_get(&rec->ref); /* the index's own */
	err = idx_add(&e->idx, rec);
	if (err) {
		sref_put(&rec->ref);
		sref_put(&ev->ref);
		return err;
	}
	e->rev = rec->rev;
	ring_push(e, ev);
	index_apply(e, rec, pre);
	if (ev_out) {
		sref_get(&ev->ref);
		*ev_out = ev;
	}
	return 0;
}

/* Drops the index versions not needed to read at rev or later. */
void emb_compact_locked(struct emb *e, uint64_t rev)
{
	if (rev <= e->compact_rev)
		return;
	idx_compact(&e->idx, rev);
	e->compact_rev = rev;
}

/* ---- the committer: group commit ---- */

/* The batch's view of keys it already changed: open addressing, reset per batch. */
static struct srec **overlay_slot(struct emb *e, const uint8_t *key, size_t key_len)
{
	size_t mask = e->ov_cap - 1, i = (size_t)hmap_hash(key, key_len) & mask;

	for (;; i = (i + 1) & mask) {
		struct srec *r = e->ov[i];

		if (!r || (r->key_len == key_len && !memcmp(srec_key(r), key, key_len)))
			return &e->ov[i];
	}
}

/* Decides one request against the index plus the batch so far; builds its record. *slot is
 * where the batch's view of the key goes once the record is in the batch. */
static int prepare(struct emb *e, struct wreq *r, uint64_t rev, struct srec ***slot)
{
	const struct store_write *w = r->w;
	struct srec *cur;
	struct kentry *k;
	bool exists;

	*slot = overlay_slot(e, w->key, w->key_len);
	cur = **slot;
	if (!cur) {
		k = idx_find(&e->idx, w->key, w->key_len);
		cur = k ? kentry_latest(k) : NULL;
	}
	exists = cur && cur->type == SREC_PUT;
	r->cur = exists ? cur : NULL;
	switch (w->op) {
	case STORE_CREATE:
		if (exists)
			return -EEXIST;
		r->rec = srec_new(SREC_PUT, rev, rev, w->key, w->key_len, w->value, w->value_len);
		break;
	case STORE_UPDATE:
	case STORE_DELETE:
		if (!exists)
			return -ENOENT;
		if (w->expect_rev && w->expect_rev != cur->rev)
			return -STORE_ECONFLICT;
		r->rec = srec_new(w->op == STORE_UPDATE ? SREC_PUT : SREC_DEL, rev, cur->create_rev,
				  w->key, w->key_len, w->op == STORE_UPDATE ? w->value : NULL,
				  w->op == STORE_UPDATE ? w->value_len : 0);
		break;
	default:
		return -EINVAL;
	}
	return r->rec ? 0 : -ENOMEM;
}

static int buf_append(struct emb *e, const uint8_t *p, size_t n)
{
	if (e->buf_len + n > e->buf_cap) {
		size_t cap = e->buf_cap ? e->buf_cap : 1 << 16;
		uint8_t *b;

		while (cap < e->buf_len + n)
			cap *= 2;
		b = realloc(e->buf, cap);
		if (!b)
			return -ENOMEM;
		e->buf = b;
		e->buf_cap = cap;
	}
	memcpy(e->buf + e->buf_len, p, n);
	e->buf_len += n;
	return 0;
}

static void set_write_err(struct emb *e, int err, const char *what)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&e->write_err, &zero, err))
		log_error("store", "%s: %s; the store refuses writes from now on (reads go on)",
			  what, store_strerror(err));
}

/* Writes the batch's records; on failure leaves the log as it was before the batch. */
static int log_batch(struct emb *e)
{
	int err;

	if (!e->buf_len)
		return 0;
	err = e->io->ops->append_sync(e->io, e->wal_fd, e->buf, e->buf_len, e->wal_off);
	if (!err) {
		e->wal_off += e->buf_len;
		e->bytes_since_snap += e->buf_len;
		return 0;
	}
	/* Out of space before anything was durable: cut back and keep going, the next batch may
	 * fit. Any other failure (a failed fdatasync above all) leaves the log's state unknown:
	 * refuse every later write. */
	if ((err == -ENOSPC || err == -EDQUOT) &&
	    !e->io->ops->truncate(e->io, e->wal_fd, e->wal_off) &&
	    !e->io->ops->append_sync(e->io, e->wal_fd, NULL, 0, e->wal_off)) {
		log_warn("store", "log write: %s; batch of %zu bytes refused", store_strerror(err),
			 e->buf_len);
		return err;
	}
	set_write_err(e, err, "log write");
	return err;
}

/* Cuts the log back to len bytes, durably (the batch's records from there on are to be as
 * if never written); on failure the log's state is unknown and writes are refused. */
static void log_cut(struct emb *e, uint64_t len)
{
	int err = e->io->ops->truncate(e->io, e->wal_fd, len);

	if (!err)
		err = e->io->ops->append_sync(e->io, e->wal_fd, NULL, 0, len);
	if (err) {
		set_write_err(e, err, "log cut after a failed apply");
		return;
	}
	e->bytes_since_snap -= e->wal_off - len;
	e->wal_off = len;
}

static void fan_out(struct emb *e, struct sevent **evs, size_t n)
{
	struct store_event **match = e->fan;

	for (size_t i = 0; i < e->nwatch;) {
		struct store_watch *w = e->watchers[i];
		size_t m = 0;

		for (size_t j = 0; j < n; j++) {
			struct store_event *ev = &evs[j]->pub;

			if (ev->kv.mod_rev >= w->start_rev &&
			    watch_matches(w, ev->kv.key, ev->kv.key_len))
				match[m++] = ev;
		}
		if (m && watch_push_many(w, match, m)) {
			/* Cancelled (too slow): it no longer gets events. */
			e->watchers[i] = e->watchers[--e->nwatch];
			e->watchers[i]->owner_idx = i;
			w->owner = NULL;
			atomic_fetch_add(&e->st_slow, 1);
			continue;
		}
		i++;
	}
}

static void finish(struct emb *e, struct wreq *r, int err)
{
	r->err = err;
	if (!r->res)
		return;
	if (!err && r->rec)
		r->res->rev = r->rec->rev;
	if (r->cur && (err == 0 || err == -EEXIST || err == -STORE_ECONFLICT))
		srec_to_kv(r->cur, &r->res->prev);
}

static void process_batch(struct emb *e, struct wreq **reqs, size_t n)
{
	struct srec **slot;
	uint64_t rev, now, batch_off, cut_at = 0;
	size_t nev = 0;
	int err, cut = 0;

	e->buf_len = 0;
	/* Forget the last batch's overlay: only the slots it used. */
	for (size_t i = 0; i < e->ov_nused; i++)
		e->ov[e->ov_used[i]] = NULL;
	e->ov_nused = 0;
	rev = e->rev + 1;
	err = atomic_load(&e->write_err);
	for (size_t i = 0; i < n && !err; i++) {
		struct wreq *r = reqs[i];

		if (r->compact_rev) {
			uint8_t rec[WAL_OVERHEAD];

			if (r->compact_rev <= e->compact_rev) {
				r->err = -STORE_ECOMPACTED;
			} else if (r->compact_rev > e->rev) {
				r->err = -EINVAL;
			} else {
				/* logged: a restart comes back compacted as far */
				wal_encode_compact(rec, rev - 1, r->compact_rev);
				r->log_at = e->buf_len;
				r->err = buf_append(e, rec, sizeof(rec));
			}
			continue;
		}
		r->err = prepare(e, r, rev, &slot);
		if (r->err)
			continue;
		r->log_at = e->buf_len;
		r->err = buf_append(e, r->rec->enc, r->rec->enc_len);
		if (r->err) {
			sref_put(&r->rec->ref);
			r->rec = NULL;
			continue;
		}
		if (!*slot)
			e->ov_used[e->ov_nused++] = (uint32_t)(slot - e->ov);
		*slot = r->rec;
		rev++;
	}
	if (!err)
		err = log_batch(e);
	if (err) {
		/* Nothing of this batch is durable: every request gets the error, also those
		 * refused against state that now never happened. */
		for (size_t i = 0; i < n; i++) {
			if (reqs[i]->rec)
				sref_put(&reqs[i]->rec->ref);
			reqs[i]->rec = NULL;
			reqs[i]->cur = NULL;
			reqs[i]->err = err;
		}
		return;
	}
	/* Durable: make it visible, then tell the watchers, then the writers. */
	now = store_now_ns();
	batch_off = e->wal_off - e->buf_len;
	/* the secondary indexes' tags before the exclusive lock: readers wait only for the
	 * refiling */
	pthread_rwlock_rdlock(&e->lock);
	for (size_t i = 0; i < n; i++)
		pre_tag(e, reqs[i]);
	pthread_rwlock_unlock(&e->lock);
	pthread_rwlock_wrlock(&e->lock);
	for (size_t i = 0; i < n; i++) {
		struct wreq *r = reqs[i];

		if (r->compact_rev && !r->err) {
			if (cut)
				r->err = cut; /* its record left the log with the cut */
			else
				emb_compact_locked(e, r->compact_rev);
		}
		if (!r->rec)
			continue;
		err = cut ? cut : emb_apply(e, r->rec, &r->tag, now, &e->evs[nev]);
		if (err) {
			/* Durable but not applied (out of memory): this record and the batch's
			 * later ones (which may depend on it) fail and leave the log, so that
			 * memory and log agree; what was applied stays. */
			if (!cut) {
				cut = err;
				cut_at = batch_off + r->log_at;
			}
			sref_put(&r->rec->ref);
			r->rec = NULL;
			r->cur = NULL;
			r->err = err;
			continue;
		}
		nev++;
	}
	pthread_mutex_lock(&e->wlock);
	pthread_rwlock_unlock(&e->lock);
	fan_out(e, e->evs, nev);
	pthread_mutex_unlock(&e->wlock);
	if (cut)
		log_cut(e, cut_at); /* before the writers hear of it */
	for (size_t i = 0; i < nev; i++)
		sref_put(&e->evs[i]->ref);
	atomic_fetch_add(&e->st_writes, nev);
	atomic_fetch_add(&e->st_batches, 1);
}

static void futex_wait(atomic_int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Takes what writers pushed (newest first) and appends it, oldest first, to e->pending. */
static bool take_pushed(struct emb *e)
{
	struct wreq *r = atomic_exchange(&e->qtop, NULL), *fifo = NULL, **tail;

	if (!r)
		return false;
	while (r) {
		struct wreq *next = r->next;

		r->next = fifo;
		fifo = r;
		r = next;
	}
	for (tail = &e->pending; *tail; tail = &(*tail)->next)
		;
	*tail = fifo;
	return true;
}

static size_t pending_count(const struct emb *e, size_t upto)
{
	size_t n = 0;

	for (const struct wreq *r = e->pending; r && n < upto; r = r->next)
		n++;
	return n;
}

/* Group commit gathers: when the last batch had several writers, they are re-submitting right
 * now; waiting a moment for them (at most a quarter of the last batch's time, 250 us) turns
 * alternating half batches into full ones, one fdatasync for all of them. A lone writer
 * (last batch of one) never waits. */
static void gather(struct emb *e)
{
	uint64_t wait_ns, deadline;
	struct timespec ts;

	if (e->last_batch < 2 || !e->pending || pending_count(e, e->last_batch) >= e->last_batch)
		return;
	wait_ns = e->last_batch_ns / 4 < 250000 ? e->last_batch_ns / 4 : 250000;
	deadline = store_now_ns() + wait_ns;
	pthread_mutex_lock(&e->qlock);
	while (!atomic_load(&e->closing)) {
		take_pushed(e);
		if (pending_count(e, e->last_batch) >= e->last_batch || store_now_ns() >= deadline)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(deadline - store_now_ns() < 1000000 ? deadline - store_now_ns()
									 : 1000000);
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		/* Writers signal qcond when they push onto an empty stack. */
		if (!atomic_load(&e->qtop))
			pthread_cond_timedwait(&e->qcond, &e->qlock, &ts);
	}
	pthread_mutex_unlock(&e->qlock);
}

void *emb_committer_main(void *arg)
{
	struct emb *e = arg;
	struct wreq **reqs = e->batch;

	for (;;) {
		size_t n = 0, bytes = 0;
		uint64_t t0;

		take_pushed(e);
		gather(e);
		if (!e->pending) {
			if (atomic_load(&e->closing)) {
				if (!atomic_load(&e->inflight))
					break;
				sched_yield(); /* a writer between its check and its push */
				continue;
			}
			pthread_mutex_lock(&e->qlock);
			while (!atomic_load(&e->qtop) && !atomic_load(&e->closing))
				pthread_cond_wait(&e->qcond, &e->qlock);
			pthread_mutex_unlock(&e->qlock);
			continue;
		}
		while (e->pending && n < BATCH_MAX_REQS && (n == 0 || bytes < BATCH_MAX_BYTES)) {
			struct wreq *r = e->pending;

			e->pending = r->next;
			reqs[n++] = r;
			bytes += r->w ? r->w->value_len + r->w->key_len + WAL_OVERHEAD : 0;
		}

		t0 = store_now_ns();
		process_batch(e, reqs, n);
		e->last_batch = n;
		e->last_batch_ns = store_now_ns() - t0;

		for (size_t i = 0; i < n; i++) {
			struct wreq *r = reqs[i];

			finish(e, r, r->err);
			if (r->rec)
				sref_put(&r->rec->ref); /* the index and the ring hold theirs */
			/* After this store the writer may return: r is gone. */
			atomic_store_explicit(&r->done, 1, memory_order_release);
			futex_wake(&r->done);
		}

		emb_maybe_snapshot(e);
	}
	return NULL;
}

/* Queues a request and waits for the committer's verdict. */
static int submit(struct emb *e, struct wreq *r)
{
	struct wreq *top;

	atomic_fetch_add(&e->inflight, 1);
	if (atomic_load(&e->closing)) {
		atomic_fetch_sub(&e->inflight, 1);
		return -STORE_ECLOSED;
	}
	top = atomic_load(&e->qtop);
	do {
		r->next = top;
	} while (!atomic_compare_exchange_weak(&e->qtop, &top, r));
	if (!top) {
		/* The stack was empty: the committer may be asleep. */
		pthread_mutex_lock(&e->qlock);
		pthread_cond_signal(&e->qcond);
		pthread_mutex_unlock(&e->qlock);
	}
	while (!atomic_load_explicit(&r->done, memory_order_acquire))
		futex_wait(&r->done, 0);
	atomic_fetch_sub(&e->inflight, 1);
	return r->err;
}

int emb_write(struct store *s, const struct store_write *w, struct store_write_result *res)
{
	struct emb *e = EMB(s);
	struct wreq r = {.w = w, .res = res};
	int err = atomic_load(&e->write_err);

	if (err)
		return err;
	return submit(e, &r);
}

int emb_compact(struct store *s, uint64_t rev)
{
	struct wreq r = {.compact_rev = rev};

	return submit(EMB(s), &r);
}
