/* SPDX-License-Identifier: Apache-2.0 */
/*
 * informer: client-go's reflector + shared informer over kclient. The reflector lists, then
 * watches from the list's resourceVersion with bookmarks; when a stream breaks it resumes
 * from the last resourceVersion it saw; on 410 Gone it re-lists and delivers the difference
 * to the cache as adds, updates and deletes (objects missing from the new list are deleted
 * with their last known state). Retries back off (0.8 s doubling to 30 s, jittered), never a
 * hot loop. The cache maps ns/name to the latest kc_obj; indexes (by namespace built in, any
 * other by an index function: labels, owner uid, spec.nodeName) map a value to the keys of
 * the objects that have it.
 *
 * Handlers: any number, added before kc_informer_start; called on the informer's thread in
 * event order, after the cache was updated, with the object and its parsed tree (both
 * borrowed for the call). An optional resync re-delivers every cached object as an update
 * (old == cur) every resync_s seconds, as client-go's resync does.
 *
 * Threads: one thread per informer runs the reflector and the handlers; every lookup may be
 * called from any thread (a read lock).
 */
#ifndef DROVER_KC_INFORMER_H
#define DROVER_KC_INFORMER_H

#include "kclient.h"

struct kc_informer;

struct kc_informer_opts {
	const struct k8s_kind *kind;
	const char *ns;				     /* NULL: every namespace */
	const char *label_selector, *field_selector; /* NULL: every object */
	unsigned resync_s;			     /* 0: no resync */
	size_t page_size;			     /* list page size (0: 500) */
	/* timeoutSeconds of each watch (0: 300-600 s at random, as client-go's reflector);
	 * the reflector resumes from the last resourceVersion when a watch times out */
	unsigned watch_timeout_s;
};

struct kc_handlers {
	void (*add)(void *arg, const struct kc_obj *o, const struct jv *tree);
	/* old may be NULL after a re-list (the cache had no previous state) */
	void (*update)(void *arg, const struct kc_obj *old, const struct jv *old_tree,
		       const struct kc_obj *cur, const struct jv *cur_tree);
	/* the last state known */
	void (*del)(void *arg, const struct kc_obj *o, const struct jv *tree);
	void *arg;
};

/* An index function: emit each value of obj for this index (0..n calls of emit). */
typedef void (*kc_index_fn)(const struct jv *obj, void (*emit)(void *ctx, const char *value),
			    void *ctx);

struct kc_informer *kc_informer_new(struct kclient *c, const struct kc_informer_opts *o);
/* Before start: 0 or -ENOMEM / -EBUSY (started). */
int kc_informer_add_handlers(struct kc_informer *inf, const struct kc_handlers *h);
int kc_informer_add_index(struct kc_informer *inf, const char *name, kc_index_fn fn);
int kc_informer_start(struct kc_informer *inf);
/* Stop the thread: handlers are not called after it returns; the cache stays readable
 * (a controller manager stops every informer, then its controllers, then frees them).
 * NULL-tolerant; a second call does nothing. */
void kc_informer_stop(struct kc_informer *inf);
/* Stop the thread (as kc_informer_stop) and free; NULL-tolerant. */
void kc_informer_free(struct kc_informer *inf);

/* The first list was delivered to the cache and the handlers. */
bool kc_informer_synced(struct kc_informer *inf);
/* Wait up to timeout_ms (-1: forever): true once synced. */
bool kc_informer_wait_synced(struct kc_informer *inf, int timeout_ms);

/* A reference to the cached object ns/name (ns NULL for cluster scope), or NULL. */
struct kc_obj *kc_informer_get(struct kc_informer *inf, const char *ns, const char *name);
/* References to every cached object (index NULL) or those with value in index ("namespace"
 * is built in). *out is malloc'd; release with kc_objs_free. 0 or -ENOENT (no such index),
 * -ENOMEM. */
int kc_informer_list(struct kc_informer *inf, const char *index, const char *value,
		     struct kc_obj ***out, size_t *n);
void kc_objs_free(struct kc_obj **objs, size_t n);
size_t kc_informer_count(struct kc_informer *inf);
/* The resourceVersion the cache reflects. */
uint64_t kc_informer_rv(struct kc_informer *inf);

/* What the reflector did (for metrics and tests). */
struct kc_informer_stats {
	uint64_t lists;	      /* full lists attempted (pages not counted) */
	uint64_t list_errors; /* ... of which failed */
	uint64_t relists;     /* lists that replaced a synced cache (after 410 or an error) */
	uint64_t watches;     /* watches attempted */
	uint64_t events;      /* watch events applied (bookmarks included) */
};
void kc_informer_stats(struct kc_informer *inf, struct kc_informer_stats *out);

/* For tests: hold (true) stops the reflector's watch and keeps it from listing or watching
 * until released (false); returns once the watch is stopped. Events already received are
 * still applied. */
void kc_informer_hold(struct kc_informer *inf, bool hold);

/* Ready-made index functions. */
void kc_index_owner_uid(const struct jv *obj, void (*emit)(void *, const char *), void *ctx);
void kc_index_node_name(const struct jv *obj, void (*emit)(void *, const char *), void *ctx);
/* "key=value" for each label */
void kc_index_labels(const struct jv *obj, void (*emit)(void *, const char *), void *ctx);

/* "ns/name" or "name": the key of an object (buf of 512 bytes); NULL if it has no name. */
const char *kc_key_of(const struct jv *obj, char *buf, size_t size);
/* Split a key in place: *ns NULL for cluster scope. */
void kc_key_split(char *key, char **ns, char **name);

#endif
