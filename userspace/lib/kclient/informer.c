/* SPDX-License-Identifier: Apache-2.0 */
/*
 * informer: client-go's reflector and shared informer over kclient. One thread per informer
 * lists (in pages), watches from the list's resourceVersion with bookmarks, applies each event
 * to the cache (ns/name → kc_obj, plus indexes value → keys) and then calls the handlers.
 * The transport's watch thread only queues events here (handlers never run on it, so one
 * slow informer cannot stall the thousands of watches a client may carry).
 *
 * Recovery, as reflector.go does it: a watch that times out or ends is resumed from the
 * last resourceVersion seen (events and bookmarks); a 410 re-lists and the new list is
 * delivered as its difference to the cache (adds, updates of objects whose resourceVersion
 * changed, deletes of objects it no longer has, with their last known state); an expired
 * continue token falls back to one unpaged list. Every failure waits a back-off of
 * d + rand·d (client-go's jitter factor 1.0) where d starts at 0.8 s and doubles to 30 s,
 * reset by a successful list or a watch that delivered; a watch that ends in under a second
 * with nothing counts as a failure. So nothing loops hot however the server misbehaves.
 *
 * Locks: lock (rwlock) guards the cache and indexes, for lookups from any thread; mu guards
 * the event queue and the thread's control flags. Handlers run with neither held. The cache
 * and its indexes: informer_cache.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "informer_int.h"
#include "log.h"

#define COMP	       "informer"
#define BACKOFF_MIN_MS 800u
#define BACKOFF_MAX_MS 30000u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t rnd(struct kc_informer *inf)
{
	/* xorshift64*: jitter only, no need for more */
	inf->seed ^= inf->seed >> 12;
	inf->seed ^= inf->seed << 25;
	inf->seed ^= inf->seed >> 27;
	return inf->seed * 2685821657736338717ull;
}

/* One event from the watch. */
static int apply_event(struct kc_informer *inf, enum kc_event_type type, struct kc_obj *o)
{
	struct jv_doc *d;
	struct jv *t;
	char key[KEY_MAX];
	int rc = 0;

	atomic_fetch_add(&inf->n_events, 1);
	inf->watch_got = true;
	if (o->rv)
		atomic_store(&inf->rv, o->rv);
	if (type == KC_BOOKMARK)
		return 0;
	d = jv_doc_new();
	t = d ? kc_obj_parse(o, d) : NULL;
	if (!t || !kc_key_of(t, key, sizeof(key))) {
		/* as client-go's reflector when it cannot decode an event: the watch ends and the
		 * cache is listed again (also what an allocation failure here needs) */
		log_warn(COMP, "%s: an event without a usable object (rv %" PRIu64 ")",
			 inf->kind->resource, o->rv);
		jv_doc_free(d);
		return -EINVAL;
	}
	if (type == KC_DELETED)
		inf_remove(inf, key, o, d, t);
	else if (inf_upsert(inf, o, d, t, key, false) < 0)
		rc = -ENOMEM;
	jv_doc_free(d);
	return rc;
}

/* ---- the reflector: list ---- */

struct objs {
	struct kc_obj **v;
	size_t n, cap;
};

static int objs_take(struct objs *a, struct kc_list *l)
{
	if (!l->count)
		return 0; /* an empty page: a->v may still be NULL, nothing to copy */
	if (a->n + l->count > a->cap) {
		size_t ncap = (a->n + l->count) * 2;
		struct kc_obj **n = realloc(a->v, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->v = n;
		a->cap = ncap;
	}
	memcpy(a->v + a->n, l->items, l->count * sizeof(*l->items));
	a->n += l->count;
	l->count = 0; /* the references moved */
	return 0;
}

static void objs_free(struct objs *a)
{
	for (size_t i = 0; i < a->n; i++)
		kc_obj_put(a->v[i]);
	free(a->v);
}

/* Every object, in pages; an expired continue token falls back to one unpaged list. */
static int list_all(struct kc_informer *inf, struct objs *all, uint64_t *rv)
{
	struct kc_list_opts lo = {
	    .label_selector = inf->lsel, .field_selector = inf->fsel, .limit = inf->page_size};
	struct kc_list page;
	struct kc_status st;
	char *next = NULL;
	int err;

	for (bool first = true;; first = false) {
		lo.continue_token = next;
		err = kc_list(inf->c, inf->kind, inf->ns, &lo, &page, &st);
		if (err == -KC_EGONE && !first) {
			log_info(COMP, "%s: continue token expired; listing without pages",
				 inf->kind->resource);
			objs_free(all);
			memset(all, 0, sizeof(*all));
			lo.limit = 0;
			lo.continue_token = NULL;
			first = true;
			err = kc_list(inf->c, inf->kind, inf->ns, &lo, &page, &st);
		}
		if (err) {
			log_warn(COMP, "%s: list: %s%s%s", inf->kind->resource, kc_strerror(err),
				 st.message[0] ? ": " : "", st.message);
			break;
		}
		if (first)
			*rv = page.rv;
		err = objs_take(all, &page);
		free(next);
		next = page.next;
		page.next = NULL;
		kc_list_free(&page);
		if (err || !next)
			break;
	}
	free(next);
	return err;
}

/* List and deliver the difference to the cache. */
static int relist(struct kc_informer *inf)
{
	struct objs all = {0};
	struct hmap *seen = hmap_new();
	struct kc_obj **gone = NULL;
	char **gone_keys = NULL;
	size_t ngone = 0;
	uint64_t rv = 0;
	bool was_synced, seen_oom = false;
	int err;

	atomic_fetch_add(&inf->n_lists, 1);
	err = seen ? list_all(inf, &all, &rv) : -ENOMEM;
	if (err)
		goto out;
	for (size_t i = 0; i < all.n; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *t = d ? kc_obj_parse(all.v[i], d) : NULL;
		char key[KEY_MAX];

		if (t && kc_key_of(t, key, sizeof(key))) {
			if (hmap_sput(seen, key, (void *)1, NULL) < 0 ||
			    inf_upsert(inf, all.v[i], d, t, key, true) < 0)
				seen_oom = true;
		} else {
			seen_oom = true; /* not seen: it would be taken for deleted */
		}
		jv_doc_free(d);
	}
	/* what the cache has and the list has not was deleted meanwhile (not knowing the
	 * whole list, delete nothing: the next list will) */
	if (seen_oom) {
		err = -ENOMEM;
		goto out;
	}
	pthread_rwlock_rdlock(&inf->lock);
	gone = calloc(hmap_size(inf->cache) + 1, sizeof(*gone));
	gone_keys = calloc(hmap_size(inf->cache) + 1, sizeof(*gone_keys));
	for (struct hmap_entry *he = gone && gone_keys ? hmap_first(inf->cache) : NULL; he;
	     he = hmap_next(inf->cache, he)) {
		size_t klen;
		const char *k = hmap_entry_key(he, &klen);

		if (hmap_get(seen, k, klen))
			continue;
		gone_keys[ngone] = strndup(k, klen);
		if (!gone_keys[ngone]) {
			err = -ENOMEM;
			break;
		}
		gone[ngone++] = kc_obj_get(((struct entry *)hmap_entry_val(he))->o);
	}
	pthread_rwlock_unlock(&inf->lock);
	if (!gone || !gone_keys)
		err = -ENOMEM;
	for (size_t i = 0; i < ngone; i++) {
		struct jv_doc *d = jv_doc_new();

		inf_remove(inf, gone_keys[i], NULL, d, NULL);
		kc_obj_put(gone[i]);
		free(gone_keys[i]);
		jv_doc_free(d);
	}
	if (err)
		goto out; /* not every deleted object found: not synced at rv, list again */
	atomic_store(&inf->rv, rv);
	pthread_mutex_lock(&inf->mu);
	was_synced = inf->synced;
	inf->synced = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->mu);
	if (was_synced)
		atomic_fetch_add(&inf->n_relists, 1);
out:
	if (err)
		atomic_fetch_add(&inf->n_list_errors, 1);
	free(gone);
	free(gone_keys);
	hmap_free(seen);
	objs_free(&all);
	return err;
}

/* ---- the reflector: watch ---- */

static void push(struct kc_informer *inf, struct qev *e)
{
	pthread_mutex_lock(&inf->mu);
	if (inf->qtail)
		inf->qtail->next = e;
	else
		inf->qhead = e;
	inf->qtail = e;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->mu);
}

static void on_event(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct kc_informer *inf = arg;
	struct qev *e = calloc(1, sizeof(*e));

	if (!e) {
		/* a lost event would leave the cache wrong: the thread lists again */
		log_error(COMP, "%s: out of memory queueing an event", inf->kind->resource);
		pthread_mutex_lock(&inf->mu);
		inf->lost = true;
		pthread_cond_broadcast(&inf->cond);
		pthread_mutex_unlock(&inf->mu);
		return;
	}
	e->t = t;
	e->o = kc_obj_get(o);
	push(inf, e);
}

static void on_end(void *arg, int err)
{
	struct kc_informer *inf = arg;
	struct qev *e = calloc(1, sizeof(*e));

	if (!e) {
		log_error(COMP, "%s: out of memory ending a watch", inf->kind->resource);
		pthread_mutex_lock(&inf->mu);
		inf->lost = true;
		pthread_cond_broadcast(&inf->cond);
		pthread_mutex_unlock(&inf->mu);
		return;
	}
	e->err = err;
	push(inf, e);
}

static void fail_backoff(struct kc_informer *inf)
{
	uint64_t d = inf->backoff_ms;

	inf->retry_at_ms = now_ms() + d + rnd(inf) % (d + 1);
	inf->backoff_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
}

static bool transport_error(int err)
{
	return err == -ECONNREFUSED || err == -ETIMEDOUT || err == -EIO || err == -ENOMEM;
}

static int start_watch(struct kc_informer *inf)
{
	static const struct kc_watch_cb cb = {.event = on_event, .end = on_end};
	struct kc_watch_opts wo = {
	    .label_selector = inf->lsel, .field_selector = inf->fsel, .bookmarks = true};
	struct kc_status st;
	char rv[32];
	int err;

	snprintf(rv, sizeof(rv), "%" PRIu64, atomic_load(&inf->rv));
	wo.resource_version = rv;
	wo.timeout_s =
	    inf->watch_timeout_s ? (long)inf->watch_timeout_s : 300 + (long)(rnd(inf) % 300);
	atomic_fetch_add(&inf->n_watches, 1);
	err = kc_watch(inf->c, inf->kind, inf->ns, &wo, &cb, inf, &inf->w, &st);
	if (err) {
		log_warn(COMP, "%s: watch from %s: %s%s%s", inf->kind->resource, rv,
			 kc_strerror(err), st.message[0] ? ": " : "", st.message);
		inf->w = NULL;
		return err;
	}
	inf->watch_start_ms = now_ms();
	inf->watch_got = false;
	return 0;
}

/* The watch ended with err (its end event). */
static void watch_ended(struct kc_informer *inf, int err)
{
	bool short_empty = !inf->watch_got && now_ms() - inf->watch_start_ms < 1000;

	kc_watch_stop(inf->w);
	inf->w = NULL;
	if (err == -KC_EGONE) {
		log_info(COMP, "%s: resourceVersion %" PRIu64 " is too old; listing again",
			 inf->kind->resource, atomic_load(&inf->rv));
		inf->need_list = true;
		fail_backoff(inf);
	} else if (err || short_empty) {
		log_debug(COMP, "%s: watch ended: %s", inf->kind->resource,
			  err ? kc_strerror(err) : "at once, with nothing");
		fail_backoff(inf);
	} else {
		/* timed out or closed after doing its work: resume at once */
		inf->backoff_ms = BACKOFF_MIN_MS;
		inf->retry_at_ms = 0;
	}
}

static void resync(struct kc_informer *inf)
{
	struct kc_obj **v;
	size_t n;

	if (kc_informer_list(inf, NULL, NULL, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *t = d ? kc_obj_parse(v[i], d) : NULL;

		if (t)
			inf_call_update(inf, v[i], t, v[i], t);
		jv_doc_free(d);
	}
	kc_objs_free(v, n);
}

/* One step of the reflector when nothing is queued (mu not held). */
static void step(struct kc_informer *inf)
{
	int err;

	if (inf->need_list) {
		err = relist(inf);
		if (err) {
			fail_backoff(inf);
			return;
		}
		inf->need_list = false;
		inf->backoff_ms = BACKOFF_MIN_MS;
		if (inf->resync_s && !inf->resync_at_ms)
			inf->resync_at_ms = now_ms() + inf->resync_s * 1000ull;
	}
	err = start_watch(inf);
	if (err) {
		/* the server refused this watch (not the network): start over from a list */
		if (!transport_error(err))
			inf->need_list = true;
		fail_backoff(inf);
	}
}

static void *informer_main(void *arg)
{
	struct kc_informer *inf = arg;

	pthread_mutex_lock(&inf->mu);
	while (!inf->stop) {
		uint64_t now, until;

		if (inf->qhead) {
			struct qev *e = inf->qhead;

			inf->qhead = e->next;
			if (!inf->qhead)
				inf->qtail = NULL;
			pthread_mutex_unlock(&inf->mu);
			if (e->t && apply_event(inf, e->t, e->o) < 0) {
				/* not in the cache: start over from a list */
				pthread_mutex_lock(&inf->mu);
				inf->lost = true;
				pthread_mutex_unlock(&inf->mu);
			} else if (!e->t)
				watch_ended(inf, e->err);
			kc_obj_put(e->o);
			free(e);
			pthread_mutex_lock(&inf->mu);
			continue;
		}
		if (inf->lost) {
			struct kc_watch *w = inf->w;

			inf->lost = false;
			inf->w = NULL;
			pthread_mutex_unlock(&inf->mu);
			kc_watch_stop(w);
			inf->need_list = true;
			fail_backoff(inf);
			pthread_mutex_lock(&inf->mu);
			continue;
		}
		if (inf->hold) {
			if (inf->w) {
				struct kc_watch *w = inf->w;

				inf->w = NULL;
				pthread_mutex_unlock(&inf->mu);
				kc_watch_stop(w);
				pthread_mutex_lock(&inf->mu);
				continue; /* what it queued first */
			}
			inf->held = true;
			pthread_cond_broadcast(&inf->cond);
			pthread_cond_wait(&inf->cond, &inf->mu);
			continue;
		}
		inf->held = false;
		now = now_ms();
		if (inf->resync_at_ms && now >= inf->resync_at_ms) {
			inf->resync_at_ms = now + inf->resync_s * 1000ull;
			pthread_mutex_unlock(&inf->mu);
			resync(inf);
			pthread_mutex_lock(&inf->mu);
			continue;
		}
		if (!inf->w && now >= inf->retry_at_ms) {
			pthread_mutex_unlock(&inf->mu);
			step(inf);
			pthread_mutex_lock(&inf->mu);
			continue;
		}
		until = inf->w ? UINT64_MAX : inf->retry_at_ms;
		if (inf->resync_at_ms && inf->resync_at_ms < until)
			until = inf->resync_at_ms;
		if (until == UINT64_MAX) {
			pthread_cond_wait(&inf->cond, &inf->mu);
		} else {
			struct timespec ts = {.tv_sec = (time_t)(until / 1000),
					      .tv_nsec = (long)(until % 1000) * 1000000};

			pthread_cond_timedwait(&inf->cond, &inf->mu, &ts);
		}
	}
	pthread_mutex_unlock(&inf->mu);
	kc_watch_stop(inf->w);
	inf->w = NULL;
	return NULL;
}

/* ---- the interface ---- */

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s || !s[0])
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

struct kc_informer *kc_informer_new(struct kclient *c, const struct kc_informer_opts *o)
{
	struct kc_informer *inf;
	pthread_condattr_t ca;
	bool oom = false;

	if (!c || !o || !o->kind || !(o->kind->flags & K8S_KIND_RESOURCE)) {
		errno = EINVAL;
		return NULL;
	}
	inf = calloc(1, sizeof(*inf));
	if (!inf) {
		errno = ENOMEM;
		return NULL;
	}
	inf->c = c;
	inf->kind = o->kind;
	inf->ns = o->kind->cluster_scoped ? NULL : dup_or_null(o->ns, &oom);
	inf->lsel = dup_or_null(o->label_selector, &oom);
	inf->fsel = dup_or_null(o->field_selector, &oom);
	inf->resync_s = o->resync_s;
	inf->watch_timeout_s = o->watch_timeout_s;
	inf->page_size = o->page_size ? o->page_size : 500;
	inf->cache = hmap_new();
	inf->need_list = true;
	inf->backoff_ms = BACKOFF_MIN_MS;
	inf->seed = (uint64_t)(uintptr_t)inf ^ (now_ms() * 0x9e3779b97f4a7c15ull) ^ 1;
	pthread_rwlock_init(&inf->lock, NULL);
	pthread_mutex_init(&inf->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&inf->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (oom || !inf->cache ||
	    kc_informer_add_index(inf, "namespace", inf_index_namespace) != 0) {
		kc_informer_free(inf);
		errno = ENOMEM;
		return NULL;
	}
	return inf;
}

int kc_informer_add_handlers(struct kc_informer *inf, const struct kc_handlers *h)
{
	struct kc_handlers *n;

	if (!inf || !h)
		return -EINVAL;
	if (inf->started)
		return -EBUSY;
	n = realloc(inf->hs, (inf->nhs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	inf->hs = n;
	inf->hs[inf->nhs++] = *h;
	return 0;
}

int kc_informer_start(struct kc_informer *inf)
{
	int err;

	if (!inf)
		return -EINVAL;
	if (inf->started)
		return -EBUSY;
	err = pthread_create(&inf->thread, NULL, informer_main, inf);
	if (err)
		return -err;
	inf->started = true;
	return 0;
}

void kc_informer_stop(struct kc_informer *inf)
{
	if (!inf || !inf->started || inf->joined)
		return;
	pthread_mutex_lock(&inf->mu);
	inf->stop = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->mu);
	pthread_join(inf->thread, NULL);
	inf->joined = true;
}

void kc_informer_free(struct kc_informer *inf)
{
	if (!inf)
		return;
	kc_informer_stop(inf);
	while (inf->qhead) {
		struct qev *e = inf->qhead;

		inf->qhead = e->next;
		kc_obj_put(e->o);
		free(e);
	}
	inf_cache_free(inf);
	free(inf->idx);
	free(inf->hs);
	free(inf->ns);
	free(inf->lsel);
	free(inf->fsel);
	pthread_rwlock_destroy(&inf->lock);
	pthread_mutex_destroy(&inf->mu);
	pthread_cond_destroy(&inf->cond);
	free(inf);
}

bool kc_informer_synced(struct kc_informer *inf)
{
	bool s;

	pthread_mutex_lock(&inf->mu);
	s = inf->synced;
	pthread_mutex_unlock(&inf->mu);
	return s;
}

bool kc_informer_wait_synced(struct kc_informer *inf, int timeout_ms)
{
	uint64_t until = timeout_ms >= 0 ? now_ms() + (uint64_t)timeout_ms : UINT64_MAX;
	bool s;

	pthread_mutex_lock(&inf->mu);
	while (!inf->synced && !inf->stop && now_ms() < until) {
		if (until == UINT64_MAX) {
			pthread_cond_wait(&inf->cond, &inf->mu);
		} else {
			struct timespec ts = {.tv_sec = (time_t)(until / 1000),
					      .tv_nsec = (long)(until % 1000) * 1000000};

			pthread_cond_timedwait(&inf->cond, &inf->mu, &ts);
		}
	}
	s = inf->synced;
	pthread_mutex_unlock(&inf->mu);
	return s;
}

uint64_t kc_informer_rv(struct kc_informer *inf)
{
	return atomic_load(&inf->rv);
}

void kc_informer_stats(struct kc_informer *inf, struct kc_informer_stats *out)
{
	out->lists = atomic_load(&inf->n_lists);
	out->list_errors = atomic_load(&inf->n_list_errors);
	out->relists = atomic_load(&inf->n_relists);
	out->watches = atomic_load(&inf->n_watches);
	out->events = atomic_load(&inf->n_events);
}

void kc_informer_hold(struct kc_informer *inf, bool hold)
{
	pthread_mutex_lock(&inf->mu);
	inf->hold = hold;
	pthread_cond_broadcast(&inf->cond);
	while (hold && inf->started && !inf->stop && !inf->held)
		pthread_cond_wait(&inf->cond, &inf->mu);
	pthread_mutex_unlock(&inf->mu);
}
