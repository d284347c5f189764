/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_cache: the collections admission plugins and the authorizer read on every request
 * (PriorityClasses for Priority, LimitRanges for LimitRanger, RBAC roles and bindings), as
 * kube-apiserver's plugins read them from informers' listers — but never stale: one parsed
 * snapshot per resource and namespace, thrown away when the store watch on the resource's
 * keys has an event queued. The embedded store queues a write's event to every watch before
 * it answers the writer (commit.c: visible, then watchers, then writers), so a write
 * acknowledged before a lookup is always in what the lookup reads: the answer a list of the
 * store would give, without the list and the parse. (Kubernetes' RBAC and admission caches
 * are eventually consistent; drover keeps the immediate effect its tests and users rely on.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "hmap.h"
#include "log.h"
#include "reg_int.h"

#define COMP "registry"

/* Shared by every request that holds it: its trees are only read (a jv read allocates and
 * writes nothing), never changed; the last reference frees it. */
struct reg_snap {
	atomic_uint refs;
	struct jv_doc *d;
	struct jv *items;
};

/* One resource's snapshots and the watch that invalidates them. */
struct cres {
	const struct api_resource *res;
	struct store_watch *w;
	struct hmap *by_ns; /* namespace ("" for all, or cluster scope) -> struct reg_snap */
	struct cres *next;
};

struct reg_cache {
	pthread_mutex_t lock;
	struct cres *list;
};

const struct jv *reg_snap_items(const struct reg_snap *s)
{
	return s->items;
}

void reg_snap_put(struct reg_snap *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	jv_doc_free(s->d);
	free(s);
}

static void drop_snaps(struct cres *c)
{
	if (c->by_ns) {
		for (struct hmap_entry *e = hmap_first(c->by_ns); e; e = hmap_next(c->by_ns, e))
			reg_snap_put(hmap_entry_val(e));
		hmap_free(c->by_ns);
	}
	c->by_ns = hmap_new(); /* NULL: nothing is kept */
}

static int open_watch(struct registry *reg, struct cres *c)
{
	char prefix[512];
	int n = api_key(c->res, NULL, NULL, prefix, sizeof(prefix));
	struct store_watch_opts o = {.prefix = prefix};

	if (n < 0)
		return n;
	o.prefix_len = (size_t)n;
	return store_watch_open(reg->store, &o, &c->w);
}

/* Has anything under the resource's keys changed since the last call? (A cancelled watch
 * is reopened, and counts as a change.) */
static bool changed(struct registry *reg, struct cres *c)
{
	struct store_event *ev;
	bool any = false;
	int rc;

	if (!c->w) {
		open_watch(reg, c); /* failed: nothing is kept (reg_cache_get) */
		return true;
	}
	while ((rc = store_watch_next(c->w, &ev, 0)) == 1) {
		store_event_put(ev);
		any = true;
	}
	if (rc < 0) {
		store_watch_close(c->w);
		c->w = NULL;
		if (open_watch(reg, c) != 0)
			log_warn(COMP, "%s: no watch for the admission cache: every lookup lists",
				 c->res->key);
		any = true;
	}
	return any;
}

static struct reg_snap *build(struct registry *reg, const struct api_resource *res, const char *ns)
{
	struct reg_snap *s = calloc(1, sizeof(*s));
	struct store_list l = {0};

	if (!s || !(s->d = jv_doc_new()) || !(s->items = jv_new(s->d, JV_ARRAY)) ||
	    api_list_all(reg->store, res, ns, 0, &l) != 0) {
		if (s)
			jv_doc_free(s->d);
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < l.count; i++) {
		struct jv *o = api_load_object(s->d, l.items[i].value, l.items[i].value_len,
					       l.items[i].mod_rev);

		if (o)
			jv_push(s->items, o);
	}
	store_list_free(&l);
	atomic_init(&s->refs, 1);
	return s;
}

struct reg_snap *reg_cache_get(struct registry *reg, const struct api_resource *res, const char *ns)
{
	struct reg_cache *rc = reg->cache;
	struct reg_snap *s = NULL;
	struct cres *c;

	if (!rc || !res)
		return NULL;
	pthread_mutex_lock(&rc->lock);
	for (c = rc->list; c && c->res != res; c = c->next)
		;
	if (!c && (c = calloc(1, sizeof(*c))) != NULL) {
		c->res = res;
		c->next = rc->list;
		rc->list = c;
	}
	if (!c)
		goto out;
	/* the watch first, so that a write after the list below is seen next time */
	if (changed(reg, c))
		drop_snaps(c);
	s = c->by_ns ? hmap_sget(c->by_ns, ns ? ns : "") : NULL;
	if (!s) {
		s = build(reg, res, ns);
		/* without a watch nothing would say it went stale: kept only with one */
		if (s && c->w && c->by_ns && hmap_sput(c->by_ns, ns ? ns : "", s, NULL) == 0)
			atomic_fetch_add(&s->refs, 1);
	} else {
		atomic_fetch_add(&s->refs, 1);
	}
out:
	pthread_mutex_unlock(&rc->lock);
	return s;
}

int reg_cache_new(struct registry *reg)
{
	reg->cache = calloc(1, sizeof(*reg->cache));
	if (!reg->cache)
		return -ENOMEM;
	pthread_mutex_init(&reg->cache->lock, NULL);
	return 0;
}

void reg_cache_free(struct registry *reg)
{
	struct reg_cache *rc = reg->cache;

	if (!rc)
		return;
	for (struct cres *c = rc->list, *next; c; c = next) {
		next = c->next;
		drop_snaps(c);
		hmap_free(c->by_ns);
		store_watch_close(c->w);
		free(c);
	}
	pthread_mutex_destroy(&rc->lock);
	free(rc);
	reg->cache = NULL;
}
