/* SPDX-License-Identifier: Apache-2.0 */
/*
 * informer_cache: the informer's cache (ns/name → kc_obj with the object's index values)
 * and its indexes (value → the set of keys that have it), kept together under the
 * informer's rwlock so a lookup from any thread sees both agree; the handler calls that
 * follow each change (after the lock is released); the keys and ready-made index functions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "informer_int.h"
#include "log.h"

#define COMP "informer"

/* ---- keys and index functions ---- */

const char *kc_key_of(const struct jv *obj, char *buf, size_t size)
{
	const char *ns = jv_path_str(obj, "metadata.namespace");
	const char *name = jv_path_str(obj, "metadata.name");
	int n;

	if (!name || !name[0])
		return NULL;
	n = ns && ns[0] ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
	return n > 0 && (size_t)n < size ? buf : NULL;
}

void kc_key_split(char *key, char **ns, char **name)
{
	char *slash = strchr(key, '/');

	if (!slash) {
		*ns = NULL;
		*name = key;
		return;
	}
	*slash = 0;
	*ns = key;
	*name = slash + 1;
}

void inf_index_namespace(const struct jv *obj, void (*emit)(void *, const char *), void *ctx)
{
	const char *ns = jv_path_str(obj, "metadata.namespace");

	if (ns && ns[0])
		emit(ctx, ns);
}

void kc_index_owner_uid(const struct jv *obj, void (*emit)(void *, const char *), void *ctx)
{
	for (const struct jv *r = jv_first(jv_path(obj, "metadata.ownerReferences")); r;
	     r = r->next) {
		const char *uid = jv_path_str(r, "uid");

		if (uid && uid[0])
			emit(ctx, uid);
	}
}

void kc_index_node_name(const struct jv *obj, void (*emit)(void *, const char *), void *ctx)
{
	const char *node = jv_path_str(obj, "spec.nodeName");

	if (node && node[0])
		emit(ctx, node);
}

void kc_index_labels(const struct jv *obj, void (*emit)(void *, const char *), void *ctx)
{
	char buf[KEY_MAX + 64];

	for (const struct jv *l = jv_first(jv_path(obj, "metadata.labels")); l; l = l->next) {
		int n;

		if (l->type != JV_STRING)
			continue;
		n = snprintf(buf, sizeof(buf), "%s=%s", l->key, l->s);
		if (n > 0 && (size_t)n < sizeof(buf))
			emit(ctx, buf);
	}
}

/* ---- index values ---- */

struct emit_ctx {
	struct ival *iv;
	size_t n, cap;
	unsigned idx;
	bool oom;
};

static void emit_value(void *arg, const char *value)
{
	struct emit_ctx *e = arg;
	char *v;

	if (e->oom)
		return;
	for (size_t i = 0; i < e->n; i++) /* once per value and index */
		if (e->iv[i].idx == e->idx && !strcmp(e->iv[i].val, value))
			return;
	if (e->n == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 8;
		struct ival *n = realloc(e->iv, ncap * sizeof(*n));

		if (!n) {
			e->oom = true;
			return;
		}
		e->iv = n;
		e->cap = ncap;
	}
	v = strdup(value);
	if (!v) {
		e->oom = true;
		return;
	}
	e->iv[e->n].idx = e->idx;
	e->iv[e->n++].val = v;
}

static void ivals_free(struct ival *iv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(iv[i].val);
	free(iv);
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	kc_obj_put(e->o);
	ivals_free(e->iv, e->niv);
	free(e);
}

/* A cache entry for o (a reference taken) with its index values. */
static struct entry *entry_new(struct kc_informer *inf, struct kc_obj *o, const struct jv *tree)
{
	struct entry *e = calloc(1, sizeof(*e));
	struct emit_ctx ctx = {0};

	if (!e)
		return NULL;
	for (unsigned i = 0; i < inf->nidx; i++) {
		ctx.idx = i;
		inf->idx[i].fn(tree, emit_value, &ctx);
	}
	if (ctx.oom) {
		ivals_free(ctx.iv, ctx.n);
		free(e);
		return NULL;
	}
	e->o = kc_obj_get(o);
	e->iv = ctx.iv;
	e->niv = ctx.n;
	return e;
}

/* lock held for writing */
static void index_add(struct kc_informer *inf, const char *key, const struct entry *e)
{
	for (size_t i = 0; e && i < e->niv; i++) {
		struct hmap *vals = inf->idx[e->iv[i].idx].vals;
		struct hmap *set = hmap_sget(vals, e->iv[i].val);

		if (!set) {
			set = hmap_new();
			if (!set || hmap_sput(vals, e->iv[i].val, set, NULL) < 0) {
				hmap_free(set);
				log_error(COMP, "out of memory indexing %s", key);
				continue;
			}
		}
		if (hmap_sput(set, key, (void *)1, NULL) < 0)
			log_error(COMP, "out of memory indexing %s", key);
	}
}

static void index_del(struct kc_informer *inf, const char *key, const struct entry *e)
{
	for (size_t i = 0; e && i < e->niv; i++) {
		struct hmap *vals = inf->idx[e->iv[i].idx].vals;
		struct hmap *set = hmap_sget(vals, e->iv[i].val);

		if (!set)
			continue;
		hmap_sdel(set, key);
		if (!hmap_size(set)) {
			hmap_sdel(vals, e->iv[i].val);
			hmap_free(set);
		}
	}
}

/* ---- applying changes, then the handlers ---- */

static void call_add(struct kc_informer *inf, const struct kc_obj *o, const struct jv *t)
{
	for (size_t i = 0; i < inf->nhs; i++)
		if (inf->hs[i].add)
			inf->hs[i].add(inf->hs[i].arg, o, t);
}

void inf_call_update(struct kc_informer *inf, const struct kc_obj *old, const struct jv *old_t,
		     const struct kc_obj *cur, const struct jv *cur_t)
{
	for (size_t i = 0; i < inf->nhs; i++)
		if (inf->hs[i].update)
			inf->hs[i].update(inf->hs[i].arg, old, old_t, cur, cur_t);
}

static void call_del(struct kc_informer *inf, const struct kc_obj *o, const struct jv *t)
{
	for (size_t i = 0; i < inf->nhs; i++)
		if (inf->hs[i].del)
			inf->hs[i].del(inf->hs[i].arg, o, t);
}

/* o (tree t, key) is the current state: cache it, then add or update. With same_quiet an
 * object whose resourceVersion the cache already has is left alone (a re-list). 0, or
 * -ENOMEM: not cached. */
int inf_upsert(struct kc_informer *inf, struct kc_obj *o, struct jv_doc *d, const struct jv *t,
	       const char *key, bool same_quiet)
{
	struct entry *e, *old = NULL;
	struct jv *old_t;
	int rc;

	if (same_quiet) {
		bool same;

		pthread_rwlock_rdlock(&inf->lock);
		old = hmap_sget(inf->cache, key);
		same = old && old->o->rv == o->rv && o->rv;
		pthread_rwlock_unlock(&inf->lock);
		if (same)
			return 0;
	}
	e = entry_new(inf, o, t);
	if (!e) {
		log_error(COMP, "%s: out of memory caching %s", inf->kind->resource, key);
		return -ENOMEM;
	}
	pthread_rwlock_wrlock(&inf->lock);
	rc = hmap_sput(inf->cache, key, e, (void **)&old);
	if (rc < 0) {
		pthread_rwlock_unlock(&inf->lock);
		entry_free(e);
		log_error(COMP, "%s: out of memory caching %s", inf->kind->resource, key);
		return -ENOMEM;
	}
	if (rc == 0) /* a new key */
		old = NULL;
	index_del(inf, key, old);
	index_add(inf, key, e);
	pthread_rwlock_unlock(&inf->lock);
	if (!old) {
		call_add(inf, o, t);
		return 0;
	}
	old_t = kc_obj_parse(old->o, d);
	inf_call_update(inf, old->o, old_t, o, t);
	entry_free(old);
	return 0;
}

/* key is gone; o (tree t) its last state, or NULL: the cache's. */
void inf_remove(struct kc_informer *inf, const char *key, struct kc_obj *o, struct jv_doc *d,
		const struct jv *t)
{
	struct entry *old;

	pthread_rwlock_wrlock(&inf->lock);
	old = hmap_sdel(inf->cache, key);
	index_del(inf, key, old);
	pthread_rwlock_unlock(&inf->lock);
	if (!o) {
		if (!old)
			return;
		o = old->o;
		t = kc_obj_parse(o, d);
	}
	/* as client-go's informer: a delete is delivered even for a key it did not hold */
	call_del(inf, o, t);
	entry_free(old);
}

struct kc_obj *kc_informer_get(struct kc_informer *inf, const char *ns, const char *name)
{
	char key[KEY_MAX];
	struct entry *e;
	struct kc_obj *o = NULL;
	int n;

	if (!inf || !name)
		return NULL;
	n = ns && ns[0] ? snprintf(key, sizeof(key), "%s/%s", ns, name)
			: snprintf(key, sizeof(key), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	pthread_rwlock_rdlock(&inf->lock);
	e = hmap_sget(inf->cache, key);
	if (e)
		o = kc_obj_get(e->o);
	pthread_rwlock_unlock(&inf->lock);
	return o;
}

int kc_informer_list(struct kc_informer *inf, const char *index, const char *value,
		     struct kc_obj ***out, size_t *n)
{
	struct hmap *set = NULL;
	struct kc_obj **v;
	size_t i = 0, cap;
	int idx = -1;

	*out = NULL;
	*n = 0;
	if (index) {
		for (size_t j = 0; j < inf->nidx; j++)
			if (!strcmp(inf->idx[j].name, index))
				idx = (int)j;
		if (idx < 0)
			return -ENOENT;
	}
	pthread_rwlock_rdlock(&inf->lock);
	if (idx >= 0) {
		set = value ? hmap_sget(inf->idx[idx].vals, value) : NULL;
		cap = set ? hmap_size(set) : 0;
	} else {
		cap = hmap_size(inf->cache);
	}
	v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v) {
		pthread_rwlock_unlock(&inf->lock);
		return -ENOMEM;
	}
	if (idx < 0) {
		for (struct hmap_entry *e = hmap_first(inf->cache); e; e = hmap_next(inf->cache, e))
			v[i++] = kc_obj_get(((struct entry *)hmap_entry_val(e))->o);
	} else if (set) {
		for (struct hmap_entry *e = hmap_first(set); e; e = hmap_next(set, e)) {
			size_t klen;
			const char *k = hmap_entry_key(e, &klen);
			struct entry *ce = hmap_get(inf->cache, k, klen);

			if (ce)
				v[i++] = kc_obj_get(ce->o);
		}
	}
	pthread_rwlock_unlock(&inf->lock);
	*out = v;
	*n = i;
	return 0;
}

void kc_objs_free(struct kc_obj **objs, size_t n)
{
	for (size_t i = 0; objs && i < n; i++)
		kc_obj_put(objs[i]);
	free(objs);
}

size_t kc_informer_count(struct kc_informer *inf)
{
	size_t n;

	pthread_rwlock_rdlock(&inf->lock);
	n = hmap_size(inf->cache);
	pthread_rwlock_unlock(&inf->lock);
	return n;
}

int kc_informer_add_index(struct kc_informer *inf, const char *name, kc_index_fn fn)
{
	struct index *n;

	if (!inf || !name || !fn)
		return -EINVAL;
	if (inf->started)
		return -EBUSY;
	for (size_t i = 0; i < inf->nidx; i++)
		if (!strcmp(inf->idx[i].name, name))
			return -EEXIST;
	n = realloc(inf->idx, (inf->nidx + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	inf->idx = n;
	n[inf->nidx].name = strdup(name);
	n[inf->nidx].fn = fn;
	n[inf->nidx].vals = hmap_new();
	if (!n[inf->nidx].name || !n[inf->nidx].vals) {
		free(n[inf->nidx].name);
		hmap_free(n[inf->nidx].vals);
		return -ENOMEM;
	}
	inf->nidx++;
	return 0;
}

void inf_cache_free(struct kc_informer *inf)
{
	if (inf->cache) {
		for (struct hmap_entry *e = hmap_first(inf->cache); e; e = hmap_next(inf->cache, e))
			entry_free(hmap_entry_val(e));
		hmap_free(inf->cache);
	}
	for (size_t i = 0; i < inf->nidx; i++) {
		for (struct hmap_entry *e = hmap_first(inf->idx[i].vals); e;
		     e = hmap_next(inf->idx[i].vals, e))
			hmap_free(hmap_entry_val(e));
		hmap_free(inf->idx[i].vals);
		free(inf->idx[i].name);
	}
}
