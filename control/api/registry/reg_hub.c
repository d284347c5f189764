/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_hub: the watch fan-out, as kube-apiserver's watch cache does it
 * (k8s.io/apiserver/pkg/storage/cacher). One hub per watched resource holds the one store
 * watch of its whole collection and a ring of its last events; one thread (per registry)
 * drains the hubs' store watches and dispatches each event to the watchers that may get it,
 * found by an index instead of testing every watcher: a pods watch whose field selector
 * requires spec.nodeName=X (the kubelet's) is filed under X and gets only the events whose
 * new or previous state is on X; any other watch under its namespace (or under "every
 * namespace"). Each event's states are parsed at most once, only when a candidate has a
 * selector, and the event goes by reference into each watcher's bounded queue (a watcher
 * further behind than the bound is ended, as a store watch is); its stream line is encoded
 * once per variant by whichever consumer needs it first (reg_hev_line).
 *
 * A watch from a resourceVersion older than what the ring holds gets a store watch of its
 * own (the store replays its history, or answers 410); the hub thread only forwards its
 * readiness, its consumer reads and filters it (reg_watch.c). The hub's own store watch may
 * fall behind (the store ends it): the hub resumes from the last event it dispatched while
 * the store still has it, else ends its watchers, which start over.
 *
 * Locks: reg_hub.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "api_selector.h"
#include "hmap.h"
#include "log.h"
#include "reg_hub.h"

#define COMP "watch-hub"

/* Events a hub keeps for watches that start in the recent past. */
#define HUB_RING	4096
/* Events of one store watch per round of the hub thread (then the others get theirs). */
#define HUB_ROUND	1024
/* The default bound of a watcher's queue. */
#define WATCH_QUEUE_MAX 10000

/* Watchers filed under one key of an index. */
struct bucket {
	struct reg_watch **w;
	size_t n, cap;
	struct hmap *map; /* the index it is in (NULL: a hub's "all") */
	const char *key;  /* its key there (allocated with it) */
	size_t klen;
};

struct hub {
	const struct api_resource *res;
	char prefix[256];
	size_t prefix_len;
	const char *trigger; /* the field watchers are indexed by (pods: spec.nodeName) */
	struct store_watch *sw;
	uint64_t floor;		     /* it has every event after this revision */
	_Atomic uint64_t dispatched; /* every event up to this one is queued */
	struct reg_hev **ring;	     /* the last events, oldest first from ring_head */
	size_t ring_head, ring_len;
	struct bucket all;   /* watchers of every namespace, no trigger */
	struct hmap *byns;   /* namespace -> bucket */
	struct hmap *bytrig; /* trigger value -> bucket */
	size_t nwatchers;
	bool undrained; /* its store watch has more (handed out, so not signalled again) */
};

struct reg_hubs {
	pthread_mutex_t lock;
	struct registry *reg;
	struct hub **hubs;
	size_t n;
	struct store_watch_set *sset; /* the hubs' store watches and the fallbacks' */
	struct hmap *fallbacks;	      /* struct store_watch * -> struct reg_watch */
	struct reg_watch *touched;    /* watchers given events this round */
	int stopfd;
	pthread_t thread;
	bool running, stopping;
};

/* w has work: put it on its set's ready list unless it is there or handed out already. */
static void notify(struct reg_watch *w)
{
	pthread_mutex_lock(&w->lock);
	/* not put on the list (out of memory): still not notified, so the next event tries again
	 * and the consumer's periodic reg_watch_pending finds it meanwhile */
	if (!w->notified && (w->len || w->err || w->sw) && reg_set_add(w->set, w) == 0)
		w->notified = true;
	pthread_mutex_unlock(&w->lock);
}

void reg_hub_unnotify(struct reg_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->notified = false;
	pthread_mutex_unlock(&w->lock);
}

/* ---- a watcher's queue ---- */

/* Caller holds w->lock. */
static void drop_queue(struct reg_watch *w)
{
	while (w->len) {
		reg_hev_put(w->q[w->head].h);
		w->head = (w->head + 1) % w->cap;
		w->len--;
	}
	free(w->q);
	w->q = NULL;
	w->cap = w->head = 0;
}

static void touch(struct reg_hubs *hs, struct reg_watch *w)
{
	if (!w->touched) {
		w->touched = true;
		w->touched_next = hs->touched;
		hs->touched = w;
	}
}

/* End w with err (the first reason stays). Caller holds reg_hubs.lock. */
static void cancel(struct reg_hubs *hs, struct reg_watch *w, int err)
{
	pthread_mutex_lock(&w->lock);
	if (!w->err) {
		w->err = err;
		drop_queue(w);
	}
	pthread_mutex_unlock(&w->lock);
	touch(hs, w);
}

/* Queue a reference to h for w. Caller holds reg_hubs.lock. */
static void push(struct reg_hubs *hs, struct reg_watch *w, struct reg_hev *h, int v)
{
	int err = 0;

	pthread_mutex_lock(&w->lock);
	if (w->err)
		goto out;
	if (w->len + 1 > w->limit) {
		err = -STORE_ESLOW;
		goto out;
	}
	if (w->len == w->cap) {
		/* len < limit here: the new capacity holds one more */
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct hq *q;

		if (cap > w->limit)
			cap = w->limit;
		q = malloc(cap * sizeof(*q));
		if (!q) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < w->len; i++)
			q[i] = w->q[(w->head + i) % w->cap];
		free(w->q);
		w->q = q;
		w->cap = cap;
		w->head = 0;
	}
	reg_hev_get(h);
	w->q[(w->head + w->len) % w->cap].h = h;
	w->q[(w->head + w->len) % w->cap].v = v;
	w->len++;
out:
	pthread_mutex_unlock(&w->lock);
	if (err) {
		if (err == -STORE_ESLOW)
			log_debug(COMP, "a watch of %s fell behind by %zu events: ended",
				  w->res->key, w->limit);
		cancel(hs, w, err);
		return;
	}
	touch(hs, w);
}

int reg_hub_pop(struct reg_watch *w, struct reg_hev **h, int *v)
{
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	if (w->len) {
		*h = w->q[w->head].h;
		*v = w->q[w->head].v;
		w->head = (w->head + 1) % w->cap;
		w->len--;
		rc = 1;
	} else if (w->err) {
		rc = w->err;
	} else {
		w->notified = false; /* drained: the next event puts it on the ready list */
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

bool reg_watch_pending(struct reg_watch *w)
{
	bool pending;

	pthread_mutex_lock(&w->lock);
	pending = w->len || w->err;
	pthread_mutex_unlock(&w->lock);
	return pending || (w->sw && store_watch_pending(w->sw) > 0) || reg_watch_has_initial(w);
}

uint64_t reg_hub_progress(const struct reg_watch *w)
{
	return w->hub ? atomic_load_explicit(&w->hub->dispatched, memory_order_acquire) : 0;
}

/* Tell the consumers of the watchers given events (or ended) this round. */
static void notify_touched(struct reg_hubs *hs)
{
	while (hs->touched) {
		struct reg_watch *w = hs->touched;

		hs->touched = w->touched_next;
		w->touched = false;
		w->touched_next = NULL;
		notify(w);
	}
}

/* ---- the index ---- */

static struct bucket *bucket_at(struct hmap *m, const char *key, size_t len, bool make)
{
	struct bucket *b = hmap_get(m, key, len);

	if (b || !make)
		return b;
	b = calloc(1, sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	b->map = m;
	b->key = memcpy((char *)(b + 1), key, len);
	b->klen = len;
	if (hmap_put(m, key, len, b, NULL) < 0) {
		free(b);
		b = NULL;
	}
	return b;
}

static int bucket_add(struct bucket *b, struct reg_watch *w)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct reg_watch **nw = realloc(b->w, cap * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		b->w = nw;
		b->cap = cap;
	}
	w->bucket = b;
	w->bidx = b->n;
	b->w[b->n++] = w;
	return 0;
}

/* The namespace part of a key under the hub's prefix ("<ns>/<name>"), or length 0 for a
 * cluster-scoped key. */
static size_t key_ns(const struct hub *hb, const uint8_t *key, size_t len, const char **ns)
{
	const uint8_t *p = key + hb->prefix_len, *slash;

	*ns = NULL;
	if (len <= hb->prefix_len)
		return 0;
	slash = memchr(p, '/', len - hb->prefix_len);
	if (!slash)
		return 0;
	*ns = (const char *)p;
	return (size_t)(slash - p);
}

/* Where w is filed: under the trigger value its selector requires, else its namespace,
 * else every namespace. */
static struct bucket *bucket_of(struct hub *hb, struct reg_watch *w)
{
	const char *tv = hb->trigger ? api_selector_field_eq(w->sel, hb->trigger) : NULL;
	const char *ns;
	size_t len;

	if (tv)
		return bucket_at(hb->bytrig, tv, strlen(tv), true);
	len = w->prefix_len > hb->prefix_len
		  ? key_ns(hb, (const uint8_t *)w->prefix, w->prefix_len, &ns)
		  : 0;
	if (len)
		return bucket_at(hb->byns, ns, len, true);
	return &hb->all;
}

static void bucket_remove(struct reg_watch *w)
{
	struct bucket *b = w->bucket;

	if (!b)
		return;
	b->w[w->bidx] = b->w[--b->n];
	b->w[w->bidx]->bidx = w->bidx;
	w->bucket = NULL;
	if (!b->n && b->map) {
		hmap_del(b->map, b->key, b->klen);
		free(b->w);
		free(b);
	}
}

/* ---- dispatch ---- */

static void offer(struct reg_hubs *hs, struct bucket *b, struct reg_hev *h, struct hev_trees *t)
{
	uint64_t rev = h->se->kv.mod_rev;

	for (size_t i = 0; b && i < b->n; i++) {
		struct reg_watch *w = b->w[i];
		int v;

		if (rev <= w->after)
			continue;
		v = reg_hev_variant(w, t);
		if (v != HV_NONE)
			push(hs, w, h, v);
	}
}

/* The value of the hub's trigger field in a state ("" when absent, as field selectors see
 * it), or NULL (no state). */
static const char *trigger_value(const struct hub *hb, const struct jv *o)
{
	const char *v;

	if (!o)
		return NULL;
	v = jv_path_str(o, hb->trigger);
	return v ? v : "";
}

static void dispatch(struct reg_hubs *hs, struct hub *hb, struct reg_hev *h)
{
	struct hev_trees t = {.se = h->se};
	const struct store_event *se = h->se;
	const char *ns;
	size_t nslen = key_ns(hb, se->kv.key, se->kv.key_len, &ns);

	if (!hb->nwatchers)
		return;
	offer(hs, &hb->all, h, &t);
	if (nslen)
		offer(hs, hmap_get(hb->byns, ns, nslen), h, &t);
	if (hb->trigger && hmap_size(hb->bytrig)) {
		const char *c =
		    se->type != STORE_EVENT_DELETE ? trigger_value(hb, hev_cur(&t)) : NULL;
		const char *p =
		    se->type != STORE_EVENT_CREATE ? trigger_value(hb, hev_prev(&t)) : NULL;

		if (c)
			offer(hs, hmap_get(hb->bytrig, c, strlen(c)), h, &t);
		if (p && (!c || strcmp(p, c) != 0))
			offer(hs, hmap_get(hb->bytrig, p, strlen(p)), h, &t);
	}
	hev_trees_done(&t);
}

static void ring_push(struct hub *hb, struct reg_hev *h)
{
	if (hb->ring_len == HUB_RING) {
		struct reg_hev *old = hb->ring[hb->ring_head];

		hb->floor = old->se->kv.mod_rev;
		reg_hev_put(old);
		hb->ring_head = (hb->ring_head + 1) % HUB_RING;
		hb->ring_len--;
	}
	hb->ring[(hb->ring_head + hb->ring_len) % HUB_RING] = h;
	hb->ring_len++;
}

static void ring_clear(struct hub *hb)
{
	while (hb->ring_len) {
		reg_hev_put(hb->ring[hb->ring_head]);
		hb->ring_head = (hb->ring_head + 1) % HUB_RING;
		hb->ring_len--;
	}
	hb->ring_head = 0;
}

static int hub_open(struct reg_hubs *hs, struct hub *hb, uint64_t from)
{
	struct store_watch_opts wo = {
	    .prefix = hb->prefix, .prefix_len = hb->prefix_len, .set = hs->sset, .from_rev = from};

	return store_watch_open(hs->reg->store, &wo, &hb->sw);
}

/* fn for every watcher of hb (only: those of that resource, stored or requested; NULL: all) */
static void each_watcher(struct hub *hb, void (*fn)(struct reg_hubs *, struct reg_watch *, int),
			 struct reg_hubs *hs, int err, const struct api_resource *only)
{
	struct hmap *maps[] = {hb->byns, hb->bytrig};

#define EACH_FN(w)                                                  \
	do {                                                        \
		if (!only || (w)->res == only || (w)->wire == only) \
			fn(hs, (w), err);                           \
	} while (0)
	for (size_t i = 0; i < hb->all.n; i++)
		EACH_FN(hb->all.w[i]);
	for (size_t m = 0; m < 2; m++)
		for (struct hmap_entry *e = hmap_first(maps[m]); e; e = hmap_next(maps[m], e)) {
			struct bucket *b = hmap_entry_val(e);

			for (size_t i = 0; i < b->n; i++)
				EACH_FN(b->w[i]);
		}
#undef EACH_FN
}

/* End w once the consumer has taken what is queued (no more is queued after this). */
static void finish(struct reg_hubs *hs, struct reg_watch *w, int err)
{
	pthread_mutex_lock(&w->lock);
	if (!w->err)
		w->err = err;
	pthread_mutex_unlock(&w->lock);
	touch(hs, w);
}

/* A hub of res's objects (every version of a custom resource is stored under one key) has
 * not passed on every event up to rev. */
static bool hub_behind(struct reg_hubs *hs, const struct api_resource *res, uint64_t rev)
{
	bool behind = false;

	pthread_mutex_lock(&hs->lock);
	for (size_t k = 0; k < hs->n && !behind; k++)
		behind = strcmp(hs->hubs[k]->res->key, res->key) == 0 && hs->hubs[k]->sw &&
			 atomic_load(&hs->hubs[k]->dispatched) < rev;
	pthread_mutex_unlock(&hs->lock);
	return behind;
}

void reg_hub_end_resource(struct registry *reg, const struct api_resource *res)
{
	struct reg_hubs *hs = reg->hubs;
	uint64_t rev = store_revision(reg->store);

	if (!hs)
		return;
	/* the events written so far (a deleted CRD's objects' deletions) reach the watchers
	 * first: up to 2 s for the hub thread to pass them on */
	for (int i = 0; i < 200 && hub_behind(hs, res, rev); i++)
		usleep(10000);
	pthread_mutex_lock(&hs->lock);
	for (size_t k = 0; k < hs->n; k++)
		each_watcher(hs->hubs[k], finish, hs, -STORE_ECLOSED, res);
	for (struct hmap_entry *e = hmap_first(hs->fallbacks); e; e = hmap_next(hs->fallbacks, e)) {
		struct reg_watch *w = hmap_entry_val(e);

		if (w->res == res || w->wire == res)
			cancel(hs, w, -STORE_ECLOSED);
	}
	notify_touched(hs);
	pthread_mutex_unlock(&hs->lock);
}

/* The hub's store watch ended (err): resume after the last event dispatched, or end the
 * watchers (they start over: a new list, or 410) and start afresh. */
static void hub_restart(struct reg_hubs *hs, struct hub *hb, int err)
{
	uint64_t last = atomic_load(&hb->dispatched);

	store_watch_close(hb->sw);
	hb->sw = NULL;
	if (err == -STORE_ESLOW && hub_open(hs, hb, last + 1) == 0) {
		log_info(COMP, "%s: the hub fell behind the store; resumed at %" PRIu64,
			 hb->res->key, last + 1);
		return;
	}
	each_watcher(hb, cancel, hs, err == -STORE_ECLOSED ? err : -STORE_ESLOW, NULL);
	ring_clear(hb);
	if (err == -STORE_ECLOSED)
		return;
	hb->floor = store_revision(hs->reg->store);
	atomic_store(&hb->dispatched, hb->floor);
	err = hub_open(hs, hb, hb->floor + 1);
	if (err) {
		log_warn(COMP, "%s: cannot watch the store: %s", hb->res->key, store_strerror(err));
		hb->sw = NULL;
	}
}

/* Dispatch up to HUB_ROUND events of the hub: 1 if more remain. */
static int hub_drain(struct reg_hubs *hs, struct hub *hb)
{
	for (int n = 0; n < HUB_ROUND; n++) {
		struct store_event *se;
		struct reg_hev *h;
		int rc = hb->sw ? store_watch_next(hb->sw, &se, 0) : 0;

		if (rc == 0)
			return 0;
		if (rc < 0) {
			hub_restart(hs, hb, rc);
			return 0;
		}
		h = reg_hev_new(se);
		if (!h) {
			hub_restart(hs, hb, -STORE_ESLOW); /* an event lost: as if behind */
			return 0;
		}
		ring_push(hb, h);
		dispatch(hs, hb, h);
		atomic_store_explicit(&hb->dispatched, se->kv.mod_rev, memory_order_release);
	}
	return 1;
}

/* ---- hubs ---- */

static struct hub *hub_find(struct reg_hubs *hs, const struct api_resource *res)
{
	for (size_t i = 0; i < hs->n; i++)
		if (hs->hubs[i]->res == res)
			return hs->hubs[i];
	return NULL;
}

static void hub_free(struct hub *hb)
{
	struct hmap *maps[2];

	if (!hb)
		return;
	maps[0] = hb->byns;
	maps[1] = hb->bytrig;
	store_watch_close(hb->sw);
	if (hb->ring)
		ring_clear(hb);
	free(hb->ring);
	for (size_t m = 0; m < 2; m++) {
		for (struct hmap_entry *e = maps[m] ? hmap_first(maps[m]) : NULL; e;
		     e = hmap_next(maps[m], e)) {
			struct bucket *b = hmap_entry_val(e);

			free(b->w);
			free(b);
		}
		hmap_free(maps[m]);
	}
	free(hb->all.w);
	free(hb);
}

static void *hub_thread(void *arg);

/* The hub of res, made (with the thread) if needed. Caller holds hs->lock. */
static int hub_get(struct reg_hubs *hs, const struct api_resource *res, struct hub **out)
{
	struct hub *hb = hub_find(hs, res), **hubs;
	int n, err;

	*out = hb;
	if (hb && !hb->sw) {
		/* its store watch failed: start afresh (its watchers were ended) */
		hb->floor = store_revision(hs->reg->store);
		atomic_store(&hb->dispatched, hb->floor);
		return hub_open(hs, hb, hb->floor + 1);
	}
	if (hb)
		return 0;
	if (!hs->running) {
		err = pthread_create(&hs->thread, NULL, hub_thread, hs);
		if (err)
			return -err;
		hs->running = true;
	}
	/* the array first: realloc frees the old one when it moves it */
	hubs = realloc(hs->hubs, (hs->n + 1) * sizeof(*hubs));
	if (!hubs)
		return -ENOMEM;
	hs->hubs = hubs;
	hb = calloc(1, sizeof(*hb));
	if (!hb)
		return -ENOMEM;
	hb->res = res;
	n = api_key(res, NULL, NULL, hb->prefix, sizeof(hb->prefix));
	hb->prefix_len = n > 0 ? (size_t)n : 0;
	hb->trigger = strcmp(res->key, "pods") == 0 ? "spec.nodeName" : NULL;
	hb->ring = calloc(HUB_RING, sizeof(*hb->ring));
	hb->byns = hmap_new();
	hb->bytrig = hmap_new();
	if (n < 0 || !hb->ring || !hb->byns || !hb->bytrig) {
		hub_free(hb);
		return n < 0 ? n : -ENOMEM;
	}
	/* every event after the current revision (one committed meanwhile is replayed) */
	hb->floor = store_revision(hs->reg->store);
	atomic_init(&hb->dispatched, hb->floor);
	err = hub_open(hs, hb, hb->floor + 1);
	if (err) {
		hub_free(hb);
		return err;
	}
	hs->hubs[hs->n++] = hb;
	*out = hb;
	return 0;
}

int reg_hub_prepare(struct registry *reg, const struct api_resource *res)
{
	struct reg_hubs *hs = reg->hubs;
	struct hub *hb;
	int err;

	pthread_mutex_lock(&hs->lock);
	err = hub_get(hs, res, &hb);
	pthread_mutex_unlock(&hs->lock);
	return err;
}

/* A store watch of w's own, from w->after. Caller holds hs->lock. */
static int join_store(struct reg_hubs *hs, struct reg_watch *w)
{
	struct store_watch_opts wo = {.prefix = w->prefix,
				      .prefix_len = w->prefix_len,
				      .set = hs->sset,
				      .from_rev = w->after + 1};
	int err = store_watch_open(hs->reg->store, &wo, &w->sw);

	if (err)
		return err;
	if (hmap_put(hs->fallbacks, &w->sw, sizeof(w->sw), w, NULL) < 0) {
		store_watch_close(w->sw);
		w->sw = NULL;
		return -ENOMEM;
	}
	/* the store's replay is signalled to the hub thread, which forwards it */
	return 0;
}

int reg_hub_join(struct reg_watch *w)
{
	struct reg_hubs *hs = w->reg->hubs;
	struct bucket *b;
	struct hub *hb;
	size_t replay = 0;
	int err;

	w->limit = w->reg->cfg.watch_queue_max ? w->reg->cfg.watch_queue_max : WATCH_QUEUE_MAX;
	pthread_mutex_lock(&hs->lock);
	err = hub_get(hs, w->res, &hb);
	/* older than the ring, or than what the store keeps (the ring may hold more than
	 * compaction left, but a version compacted away is gone for every watcher alike, as
	 * Kubernetes' answers depend on the history kept, not on which server serves it): the
	 * store's history serves it, or answers 410 */
	if (err || w->after < hb->floor ||
	    w->after + 1 < store_compacted_revision(hs->reg->store)) {
		err = join_store(hs, w);
		pthread_mutex_unlock(&hs->lock);
		return err;
	}
	for (size_t i = 0; i < hb->ring_len; i++)
		replay += hb->ring[(hb->ring_head + i) % HUB_RING]->se->kv.mod_rev > w->after;
	/* as a store watch: the bound covers the backlog it starts with */
	if (replay > w->limit)
		w->limit = replay;
	b = bucket_of(hb, w);
	err = b ? bucket_add(b, w) : -ENOMEM;
	if (err) {
		pthread_mutex_unlock(&hs->lock);
		return err;
	}
	w->hub = hb;
	hb->nwatchers++;
	for (size_t i = 0; replay && i < hb->ring_len; i++) {
		struct reg_hev *h = hb->ring[(hb->ring_head + i) % HUB_RING];
		struct hev_trees t = {.se = h->se};
		int v;

		if (h->se->kv.mod_rev <= w->after)
			continue;
		v = reg_hev_variant(w, &t);
		hev_trees_done(&t);
		if (v != HV_NONE)
			push(hs, w, h, v);
	}
	notify_touched(hs);
	pthread_mutex_unlock(&hs->lock);
	return 0;
}

void reg_hub_leave(struct reg_watch *w)
{
	struct reg_hubs *hs = w->reg->hubs;

	pthread_mutex_lock(&hs->lock);
	if (w->hub) {
		bucket_remove(w);
		w->hub->nwatchers--;
		w->hub = NULL;
	}
	if (w->sw) {
		hmap_del(hs->fallbacks, &w->sw, sizeof(w->sw));
		store_watch_close(w->sw);
		w->sw = NULL;
	}
	if (w->touched) {
		/* out of this round's list (the thread does not hold it between rounds) */
		for (struct reg_watch **p = &hs->touched; *p; p = &(*p)->touched_next)
			if (*p == w) {
				*p = w->touched_next;
				break;
			}
		w->touched = false;
	}
	pthread_mutex_unlock(&hs->lock);
	if (w->set)
		reg_set_remove(w->set, w);
	pthread_mutex_lock(&w->lock);
	drop_queue(w);
	pthread_mutex_unlock(&w->lock);
}

/* ---- the thread ---- */

/* Every store watch with events whether or not the set said so: the wake-up of a store
 * watch that could not be put on the set's ready list (out of memory) is not lost. Caller
 * holds hs->lock. */
static void sweep(struct reg_hubs *hs)
{
	for (size_t k = 0; k < hs->n; k++)
		if (hs->hubs[k]->sw && store_watch_pending(hs->hubs[k]->sw) > 0)
			hs->hubs[k]->undrained = true;
	for (struct hmap_entry *e = hmap_first(hs->fallbacks); e; e = hmap_next(hs->fallbacks, e)) {
		struct reg_watch *w = hmap_entry_val(e);

		if (store_watch_pending(w->sw) > 0)
			touch(hs, w);
	}
}

/* One round: every store watch with events, up to HUB_ROUND events each (with a sweep, every
 * one that has some). 1 if some have more (the round runs again at once). Caller holds
 * hs->lock. */
static int round_once(struct reg_hubs *hs, bool swept)
{
	struct store_watch *ready[64];
	int more = 0;
	size_t n;

	if (swept)
		sweep(hs);

	while ((n = store_watch_set_ready(hs->sset, ready, 64, 0)) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct reg_watch *w = hmap_get(hs->fallbacks, &ready[i], sizeof(ready[i]));

			if (w) {
				/* its consumer drains it (the store re-arms it then) */
				touch(hs, w);
				continue;
			}
			for (size_t k = 0; k < hs->n; k++)
				if (hs->hubs[k]->sw == ready[i])
					hs->hubs[k]->undrained = true;
		}
	}
	/* a store watch handed out is not signalled again until it is drained */
	for (size_t k = 0; k < hs->n; k++) {
		struct hub *hb = hs->hubs[k];

		if (hb->undrained)
			hb->undrained = hub_drain(hs, hb);
		more |= hb->undrained;
	}
	notify_touched(hs);
	return more;
}

static void *hub_thread(void *arg)
{
	struct reg_hubs *hs = arg;
	struct pollfd pfd[2] = {{.fd = store_watch_set_fd(hs->sset), .events = POLLIN},
				{.fd = hs->stopfd, .events = POLLIN}};
	struct timespec ts;
	uint64_t last_sweep = 0, now;
	bool swept;
	int more = 0;

	pthread_setname_np(pthread_self(), "watch-hub");
	for (;;) {
		if (!more && poll(pfd, 2, 1000) < 0 && errno != EINTR) {
			log_error(COMP, "poll: %s", strerror(errno));
			return NULL;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
		pthread_mutex_lock(&hs->lock);
		if (hs->stopping) {
			pthread_mutex_unlock(&hs->lock);
			return NULL;
		}
		swept = now - last_sweep >= 1000;
		if (swept)
			last_sweep = now;
		more = round_once(hs, swept);
		pthread_mutex_unlock(&hs->lock);
	}
}

int reg_hubs_new(struct registry *reg)
{
	struct reg_hubs *hs = calloc(1, sizeof(*hs));

	if (!hs)
		return -ENOMEM;
	reg->hubs = hs;
	hs->reg = reg;
	pthread_mutex_init(&hs->lock, NULL);
	hs->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	hs->fallbacks = hmap_new();
	if (hs->stopfd < 0 || !hs->fallbacks || store_watch_set_new(&hs->sset) != 0)
		return -ENOMEM;
	return 0;
}

void reg_hubs_free(struct registry *reg)
{
	struct reg_hubs *hs = reg ? reg->hubs : NULL;
	uint64_t one = 1;

	if (!hs)
		return;
	pthread_mutex_lock(&hs->lock);
	hs->stopping = true;
	pthread_mutex_unlock(&hs->lock);
	if (hs->running) {
		if (write(hs->stopfd, &one, sizeof(one)) < 0)
			log_warn(COMP, "stop: %s", strerror(errno));
		pthread_join(hs->thread, NULL);
	}
	for (size_t i = 0; i < hs->n; i++) {
		if (hs->hubs[i]->nwatchers)
			log_warn(COMP, "%s: %zu watches still open", hs->hubs[i]->res->key,
				 hs->hubs[i]->nwatchers);
		hub_free(hs->hubs[i]);
	}
	free(hs->hubs);
	hmap_free(hs->fallbacks);
	store_watch_set_free(hs->sset);
	if (hs->stopfd >= 0)
		close(hs->stopfd);
	pthread_mutex_destroy(&hs->lock);
	free(hs);
	reg->hubs = NULL;
}
