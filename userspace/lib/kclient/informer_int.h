/* SPDX-License-Identifier: Apache-2.0 */
/*
 * informer_int: the informer's state, shared by its two files: informer.c (the reflector:
 * its thread, list, watch, recovery) and informer_cache.c (the cache, its indexes, the
 * handler calls that follow each change, and the lookups).
 */
#ifndef DROVER_KC_INFORMER_INT_H
#define DROVER_KC_INFORMER_INT_H

#include <pthread.h>

#include "hmap.h"
#include "informer.h"

#define KEY_MAX 512

struct ival {
	unsigned idx;
	char *val;
};

struct entry {
	struct kc_obj *o;
	struct ival *iv;
	size_t niv;
};

struct index {
	char *name;
	kc_index_fn fn;
	struct hmap *vals; /* value → struct hmap * (a set of keys) */
};

/* A watch event handed over by the transport's thread; t 0 = the watch ended. */
struct qev {
	struct qev *next;
	enum kc_event_type t;
	int err;
	struct kc_obj *o;
};

struct kc_informer {
	struct kclient *c;
	const struct k8s_kind *kind;
	char *ns, *lsel, *fsel;
	unsigned resync_s, watch_timeout_s;
	size_t page_size;
	struct kc_handlers *hs;
	size_t nhs;
	struct index *idx;
	size_t nidx;

	pthread_rwlock_t lock;
	struct hmap *cache; /* key → struct entry */
	_Atomic uint64_t rv;
	_Atomic uint64_t n_lists, n_list_errors, n_relists, n_watches, n_events;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct qev *qhead, *qtail;
	bool stop, hold, held, started, synced;
	bool joined; /* kc_informer_stop joined the thread */
	bool lost;   /* an event could not be queued: the cache must be listed again */
	pthread_t thread;

	/* the thread's own */
	struct kc_watch *w;
	uint64_t watch_start_ms;
	bool watch_got, need_list;
	uint64_t backoff_ms, retry_at_ms, resync_at_ms;
	uint64_t seed;
};

/* ---- informer_cache.c (lock: the cache and indexes; handlers run without it) ---- */

/* o (tree t of doc d, key) is the current state: cache it, then call add or update. With
 * same_quiet an object whose resourceVersion the cache already has is left alone. 0, or
 * -ENOMEM: not cached (the caller lists again). */
int inf_upsert(struct kc_informer *inf, struct kc_obj *o, struct jv_doc *d, const struct jv *t,
	       const char *key, bool same_quiet);
/* key is gone: uncache it and call del with o (tree t), or, o NULL, with the cached state. */
void inf_remove(struct kc_informer *inf, const char *key, struct kc_obj *o, struct jv_doc *d,
		const struct jv *t);
void inf_call_update(struct kc_informer *inf, const struct kc_obj *old, const struct jv *old_t,
		     const struct kc_obj *cur, const struct jv *cur_t);
/* The built-in "namespace" index. */
void inf_index_namespace(const struct jv *obj, void (*emit)(void *, const char *), void *ctx);
/* Free the cached objects and the indexes. */
void inf_cache_free(struct kc_informer *inf);

#endif
