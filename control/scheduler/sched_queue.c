/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_queue: kube-scheduler's PriorityQueue. Every pod waiting for a node is in exactly one
 * place, found by uid (hmap):
 *   activeQ        a binary heap: higher spec.priority first, then older creationTimestamp,
 *                  then arrival order (a sequence number); pop is O(log n);
 *   backoffQ       a binary heap by back-off expiry: after a failed attempt a pod waits
 *                  initial x 2^(attempts-1), capped (1 s doubling to 10 s);
 *   unschedulable  parked until a cluster event may help: one list per set of plugins that
 *                  rejected it (8 plugins: 256 lists), so an event moves whole lists whose
 *                  plugins care about it (kube's EventsToRegister), O(lists + moved), back
 *                  through backoffQ if still backing off; and after 5 minutes regardless
 *                  (flushUnschedulablePodsLeftover, checked every 30 s);
 *   gated          pods with schedulingGates, until an update removes them;
 *   in flight      popped and being scheduled/bound: updates and deletes are recorded, and
 *                  events that arrive meanwhile are remembered, so a pod whose attempt fails
 *                  after an event that may have helped goes to backoffQ, not to sleep (kube's
 *                  in-flight events / moveRequestCycle).
 * An assigned pod added, or whose labels changed, moves only the pods it can help (kube's
 * getUnschedulablePodsWithCrossTopologyTerm): those rejected by PodTopologySpread in its
 * namespace and those with a required affinity term it matches.
 *
 * Order differs from kube-scheduler in one point: kube re-stamps a pod's queue time when it
 * comes back after a failure (it goes behind pods of its priority that arrived meanwhile);
 * here the order is creationTimestamp throughout (the order the issue asks for: priority,
 * then age). Back-off keeps a failing pod from monopolising the head either way.
 *
 * Threads: one mutex; pop blocks on a condition variable (CLOCK_MONOTONIC) until a pod is
 * active, a back-off expires or the timeout passes. Called with the cache lock held or not;
 * it takes no other lock (lock order: cache, then queue).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched_int.h"

enum { Q_ACTIVE = 1, Q_BACKOFF, Q_UNSCHED, Q_GATED, Q_FLIGHT };

#define LEFTOVER_PERIOD_NS (30ull * 1000000000ull)

struct qent {
	struct sched_pod *p;
	uint8_t where;
	bool deleted, updated; /* while in flight */
	uint32_t attempts;
	int32_t prio;
	int64_t ts; /* creationTimestamp */
	uint64_t seq;
	uint64_t since; /* last failure / parked since (queue clock) */
	uint32_t rejectors;
	uint64_t flight_seq; /* q->ev_seq when it was popped */
	uint32_t hidx;
	struct qent *next, *prev;
};

struct heap {
	struct qent **v;
	uint32_t n, cap;
	bool (*less)(const struct sched_queue *q, const struct qent *a, const struct qent *b);
};

struct list {
	struct qent *head;
	uint32_t n;
};

struct sched_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sched *s;
	struct hmap *all; /* uid -> qent */
	struct heap active, backoff;
	struct list unsched[256], gated, flying;
	uint32_t nunsched, nflight;
	uint64_t seq;
	/* events while pods are in flight, without walking them: ev_seq counts events, and
	 * bit_seq[k] is the last one that carried interest bit k; an entry popped at
	 * flight_seq missed bit k if bit_seq[k] > flight_seq (kube keeps a list of in-flight
	 * events for the same purpose) */
	uint64_t ev_seq, bit_seq[32];
	uint64_t last_leftover;
	bool closed;
};

/* ---- back-off ---- */

static uint64_t backoff_ns(const struct sched_queue *q, const struct qent *e)
{
	uint64_t d = q->s->o.backoff_initial_ns, max = q->s->o.backoff_max_ns;

	if (e->attempts == 0)
		return 0;
	for (uint32_t i = 1; i < e->attempts; i++) {
		if (d > max - d)
			return max;
		d += d;
	}
	return d;
}

static uint64_t expiry(const struct sched_queue *q, const struct qent *e)
{
	return e->since + backoff_ns(q, e);
}

/* ---- heaps ---- */

static bool active_less(const struct sched_queue *q, const struct qent *a, const struct qent *b)
{
	if (a->prio != b->prio)
		return a->prio > b->prio;
	if (a->ts != b->ts)
		return a->ts < b->ts;
	return a->seq < b->seq;
}

static bool backoff_less(const struct sched_queue *q, const struct qent *a, const struct qent *b)
{
	uint64_t x = expiry(q, a), y = expiry(q, b);

	return x != y ? x < y : a->seq < b->seq;
}

static void heap_swap(struct heap *h, uint32_t i, uint32_t j)
{
	struct qent *t = h->v[i];

	h->v[i] = h->v[j];
	h->v[j] = t;
	h->v[i]->hidx = i;
	h->v[j]->hidx = j;
}

static void heap_up(const struct sched_queue *q, struct heap *h, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!h->less(q, h->v[i], h->v[parent]))
			break;
		heap_swap(h, i, parent);
		i = parent;
	}
}

static void heap_down(const struct sched_queue *q, struct heap *h, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->n && h->less(q, h->v[l], h->v[m]))
			m = l;
		if (r < h->n && h->less(q, h->v[r], h->v[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

static int heap_push(const struct sched_queue *q, struct heap *h, struct qent *e)
{
	if (h->n == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 64;
		struct qent **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	e->hidx = h->n;
	h->v[h->n++] = e;
	heap_up(q, h, e->hidx);
	return 0;
}

static void heap_remove(const struct sched_queue *q, struct heap *h, struct qent *e)
{
	uint32_t i = e->hidx;

	if (i != h->n - 1) {
		heap_swap(h, i, h->n - 1);
		h->n--;
		heap_down(q, h, i);
		heap_up(q, h, i);
	} else {
		h->n--;
	}
}

/* ---- lists ---- */

static void list_add(struct list *l, struct qent *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	l->head = e;
	l->n++;
}

static void list_del(struct list *l, struct qent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	e->next = e->prev = NULL;
	l->n--;
}

/* ---- placement ---- */

static uint64_t now(const struct sched_queue *q)
{
	return sched_now(q->s);
}

/* Take e out of wherever it is (not in flight). */
static void unplace(struct sched_queue *q, struct qent *e)
{
	switch (e->where) {
	case Q_ACTIVE:
		heap_remove(q, &q->active, e);
		break;
	case Q_BACKOFF:
		heap_remove(q, &q->backoff, e);
		break;
	case Q_UNSCHED:
		list_del(&q->unsched[e->rejectors & 0xff], e);
		q->nunsched--;
		break;
	case Q_GATED:
		list_del(&q->gated, e);
		break;
	case Q_FLIGHT:
		list_del(&q->flying, e);
		q->nflight--;
		break;
	}
	e->where = 0;
}

static void to_active(struct sched_queue *q, struct qent *e)
{
	if (e->p->gated) {
		list_add(&q->gated, e);
		e->where = Q_GATED;
		return;
	}
	if (heap_push(q, &q->active, e) < 0) {
		/* no memory for the heap: keep it parked, a later event retries */
		list_add(&q->unsched[e->rejectors & 0xff], e);
		e->where = Q_UNSCHED;
		q->nunsched++;
		return;
	}
	e->where = Q_ACTIVE;
	pthread_cond_broadcast(&q->cv);
}

static void to_backoff(struct sched_queue *q, struct qent *e)
{
	if (e->p->gated) {
		list_add(&q->gated, e);
		e->where = Q_GATED;
		return;
	}
	if (heap_push(q, &q->backoff, e) < 0) {
		to_active(q, e);
		return;
	}
	e->where = Q_BACKOFF;
	pthread_cond_broadcast(&q->cv); /* a new earliest expiry for a waiting pop */
}

/* requeue: back-off if still backing off, else active */
static void requeue(struct sched_queue *q, struct qent *e)
{
	unplace(q, e);
	if (expiry(q, e) > now(q))
		to_backoff(q, e);
	else
		to_active(q, e);
}

static void ent_free(struct qent *e)
{
	sched_pod_unref(e->p);
	free(e);
}

static void drop(struct sched_queue *q, struct qent *e)
{
	unplace(q, e);
	hmap_sdel(q->all, e->p->uid);
	ent_free(e);
}

/* ---- life ---- */

struct sched_queue *sched_queue_new(struct sched *s)
{
	struct sched_queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (!q)
		return NULL;
	q->s = s;
	q->all = hmap_new();
	if (!q->all) {
		free(q);
		return NULL;
	}
	q->active.less = active_less;
	q->backoff.less = backoff_less;
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	q->last_leftover = now(q);
	return q;
}

void sched_queue_close(struct sched_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void sched_queue_free(struct sched_queue *q)
{
	if (!q)
		return;
	for (struct hmap_entry *e = hmap_first(q->all); e; e = hmap_next(q->all, e))
		ent_free(hmap_entry_val(e));
	hmap_free(q->all);
	free(q->active.v);
	free(q->backoff.v);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

/* ---- informer side ---- */

int sched_queue_upsert(struct sched_queue *q, struct sched_pod *p)
{
	struct qent *e;
	int rc = 0;

	pthread_mutex_lock(&q->mu);
	e = hmap_sget(q->all, p->uid);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || hmap_sput(q->all, p->uid, e, NULL) < 0) {
			free(e);
			rc = -ENOMEM;
			goto out;
		}
		e->p = sched_pod_ref(p);
		e->seq = ++q->seq;
		e->prio = p->priority;
		e->ts = p->created_ns;
		to_active(q, e);
		goto out;
	}
	bool updated = e->p->fingerprint != p->fingerprint;
	bool was_gated = e->p->gated;

	sched_pod_unref(e->p);
	e->p = sched_pod_ref(p);
	if (e->where == Q_ACTIVE && e->prio != p->priority) {
		heap_remove(q, &q->active, e);
		e->prio = p->priority;
		heap_push(q, &q->active, e); /* the slot it left is still there */
	}
	e->prio = p->priority;
	switch (e->where) {
	case Q_FLIGHT:
		e->updated |= updated;
		break;
	case Q_UNSCHED:
		if (updated)
			requeue(q, e);
		break;
	case Q_GATED:
		if (was_gated && !p->gated) {
			unplace(q, e);
			to_active(q, e);
		}
		break;
	}
out:
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void sched_queue_delete(struct sched_queue *q, const char *uid)
{
	struct qent *e;

	pthread_mutex_lock(&q->mu);
	e = hmap_sget(q->all, uid);
	if (e && e->where == Q_FLIGHT)
		e->deleted = true;
	else if (e)
		drop(q, e);
	pthread_mutex_unlock(&q->mu);
}

/* The plugins an event may help (EventsToRegister of each plugin). */
static uint32_t interest(unsigned ev)
{
	uint32_t m = 0;

	if (ev & SCHED_EV_NODE_ADD)
		m |= 0xff;
	if (ev & SCHED_EV_NODE_DELETE)
		m |= SCHED_PL_SPREAD;
	if (ev & SCHED_EV_NODE_ALLOC)
		m |= SCHED_PL_FIT;
	if (ev & SCHED_EV_NODE_LABEL)
		m |= SCHED_PL_NODEAFFINITY | SCHED_PL_SPREAD | SCHED_PL_INTERPOD;
	if (ev & SCHED_EV_NODE_TAINT)
		m |= SCHED_PL_UNSCHEDULABLE | SCHED_PL_TAINT | SCHED_PL_SPREAD;
	if (ev & SCHED_EV_POD_DELETE)
		m |= SCHED_PL_FIT | SCHED_PL_PORTS | SCHED_PL_SPREAD | SCHED_PL_INTERPOD;
	if (ev & SCHED_EV_POD_SCALEDOWN)
		m |= SCHED_PL_FIT;
	return m;
}

/* Can the assigned pod p help e (rejected before)? */
static bool pod_helps(struct sched_queue *q, const struct qent *e, const struct sched_pod *p)
{
	const struct sched_pod_ext *x = e->p->x;

	if ((e->rejectors & SCHED_PL_SPREAD) && e->p->ns_id == p->ns_id)
		return true;
	for (uint32_t i = 0; x && i < x->naff; i++)
		if (sched_match_pod(q->s->cache.ix, &x->aff[i].m, p))
			return true;
	return false;
}

void sched_queue_event(struct sched_queue *q, unsigned ev, const struct sched_pod *pod)
{
	uint32_t m = interest(ev);

	uint32_t fm = m | ((ev & SCHED_EV_POD_ADD) ? SCHED_PL_SPREAD | SCHED_PL_INTERPOD : 0);

	pthread_mutex_lock(&q->mu);
	if (fm) {
		q->ev_seq++;
		for (uint32_t bits = fm; bits; bits &= bits - 1)
			q->bit_seq[__builtin_ctz(bits)] = q->ev_seq;
	}
	for (uint32_t b = 0; m && b < 256; b++) {
		if (b && !(b & m))
			continue;
		while (q->unsched[b].head)
			requeue(q, q->unsched[b].head);
	}
	if ((ev & SCHED_EV_POD_ADD) && pod && q->nunsched)
		for (uint32_t b = 0; b < 256; b++)
			for (struct qent *e = q->unsched[b].head, *next; e; e = next) {
				next = e->next;
				if (pod_helps(q, e, pod))
					requeue(q, e);
			}
	pthread_mutex_unlock(&q->mu);
}

/* ---- scheduling side ---- */

static void flush_locked(struct sched_queue *q, uint64_t t)
{
	while (q->backoff.n && expiry(q, q->backoff.v[0]) <= t) {
		struct qent *e = q->backoff.v[0];

		unplace(q, e);
		to_active(q, e);
	}
	if (t - q->last_leftover < LEFTOVER_PERIOD_NS)
		return;
	q->last_leftover = t;
	for (uint32_t b = 0; q->nunsched && b < 256; b++)
		for (struct qent *e = q->unsched[b].head, *next; e; e = next) {
			next = e->next;
			if (t - e->since > q->s->o.unschedulable_max_ns)
				requeue(q, e);
		}
}

void sched_queue_flush(struct sched_queue *q)
{
	pthread_mutex_lock(&q->mu);
	flush_locked(q, now(q));
	pthread_mutex_unlock(&q->mu);
}

static uint64_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct sched_pod *sched_queue_pop(struct sched_queue *q, int timeout_ms)
{
	uint64_t deadline =
	    timeout_ms < 0 ? UINT64_MAX : real_now() + (uint64_t)timeout_ms * 1000000ull;
	struct sched_pod *p = NULL;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		uint64_t t = now(q), wake, rt;

		flush_locked(q, t);
		if (q->active.n) {
			struct qent *e = q->active.v[0];

			unplace(q, e);
			e->where = Q_FLIGHT;
			list_add(&q->flying, e);
			q->nflight++;
			e->attempts++;
			e->flight_seq = q->ev_seq;
			e->updated = e->deleted = false;
			p = sched_pod_ref(e->p);
			break;
		}
		rt = real_now();
		if (q->closed || rt >= deadline)
			break;
		/* sleep until the timeout, the next back-off expiry or leftover check */
		wake = deadline;
		if (q->backoff.n) {
			uint64_t x = expiry(q, q->backoff.v[0]);

			if (x > t && rt + (x - t) < wake)
				wake = rt + (x - t);
		}
		if (q->nunsched && rt + (q->last_leftover + LEFTOVER_PERIOD_NS - t) < wake)
			wake = rt + (q->last_leftover + LEFTOVER_PERIOD_NS - t);
		if (wake == UINT64_MAX) {
			pthread_cond_wait(&q->cv, &q->mu);
		} else {
			struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000ull),
					      .tv_nsec = (long)(wake % 1000000000ull)};

			pthread_cond_timedwait(&q->cv, &q->mu, &ts);
		}
	}
	pthread_mutex_unlock(&q->mu);
	return p;
}

/* The interest bits of the events that came while e was in flight. */
static uint32_t missed_events(const struct sched_queue *q, const struct qent *e)
{
	uint32_t mask = 0;

	if (q->ev_seq == e->flight_seq)
		return 0;
	for (uint32_t k = 0; k < 32; k++)
		if (q->bit_seq[k] > e->flight_seq)
			mask |= 1u << k;
	return mask;
}

/* An in-flight entry by uid, or NULL (unknown, or not in flight). */
static struct qent *flight(struct sched_queue *q, const char *uid)
{
	struct qent *e = hmap_sget(q->all, uid);

	return e && e->where == Q_FLIGHT ? e : NULL;
}

void sched_queue_unschedulable(struct sched_queue *q, const char *uid, uint32_t rejectors)
{
	struct qent *e;

	pthread_mutex_lock(&q->mu);
	e = flight(q, uid);
	if (e && e->deleted) {
		drop(q, e);
	} else if (e) {
		uint32_t evm = missed_events(q, e);
		bool missed = e->updated || (evm & rejectors) || (!rejectors && evm);

		unplace(q, e);
		e->since = now(q);
		e->rejectors = rejectors;
		if (missed) {
			to_backoff(q, e);
		} else if (e->p->gated) {
			to_active(q, e); /* to the gated list */
		} else {
			list_add(&q->unsched[rejectors & 0xff], e);
			e->where = Q_UNSCHED;
			q->nunsched++;
		}
	}
	pthread_mutex_unlock(&q->mu);
}

void sched_queue_error(struct sched_queue *q, const char *uid)
{
	struct qent *e;

	pthread_mutex_lock(&q->mu);
	e = flight(q, uid);
	if (e && e->deleted) {
		drop(q, e);
	} else if (e) {
		unplace(q, e);
		e->since = now(q);
		to_backoff(q, e);
	}
	pthread_mutex_unlock(&q->mu);
}

void sched_queue_done(struct sched_queue *q, const char *uid)
{
	struct qent *e;

	pthread_mutex_lock(&q->mu);
	e = flight(q, uid);
	if (e)
		drop(q, e);
	pthread_mutex_unlock(&q->mu);
}

void sched_queue_stats(struct sched_queue *q, struct sched_stats *st)
{
	pthread_mutex_lock(&q->mu);
	st->active = q->active.n;
	st->backoff = q->backoff.n;
	st->unschedulable = q->nunsched;
	st->gated = q->gated.n;
	st->in_flight = q->nflight;
	pthread_mutex_unlock(&q->mu);
}
