/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_hev: what the watch hubs hand their watchers: watch sets (one fd for any number of
 * watches, a ready list of those with work), the shared events (struct reg_hev: a store event
 * with its stream lines, encoded once per variant on first use) and the one decision every
 * watcher makes of an event (reg_hev_variant: does it get it, and as what).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "log.h"
#include "reg_hub.h"

#define COMP "watch-hub"

/* ---- sets ---- */

int reg_watch_set_new(struct reg_watch_set **out)
{
	struct reg_watch_set *set = calloc(1, sizeof(*set));
	int err;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	err = store_ready_init(&set->r);
	if (err) {
		free(set);
		return err;
	}
	*out = set;
	return 0;
}

void reg_watch_set_free(struct reg_watch_set *set)
{
	if (!set)
		return;
	store_ready_destroy(&set->r);
	free(set);
}

int reg_watch_set_fd(const struct reg_watch_set *set)
{
	return set ? set->r.efd : -EINVAL;
}

size_t reg_watch_set_ready(struct reg_watch_set *set, struct reg_watch **out, size_t max)
{
	return set && out && max ? store_ready_take(&set->r, out, max) : 0;
}

/* Caller holds w->lock. */
int reg_set_add(struct reg_watch_set *set, struct reg_watch *w)
{
	if (store_ready_add(&set->r, w) == 0)
		return 0;
	/* not lost: the consumers look at every watch twice a second (reg_watch_pending) */
	log_warn(COMP, "out of memory: a watch's wake-up is late");
	return -ENOMEM;
}

void reg_set_remove(struct reg_watch_set *set, struct reg_watch *w)
{
	store_ready_remove(&set->r, w);
}

/* ---- shared events ---- */

struct reg_hev *reg_hev_new(struct store_event *se)
{
	struct reg_hev *h = calloc(1, sizeof(*h));

	if (!h) {
		store_event_put(se);
		return NULL;
	}
	atomic_init(&h->refs, 1);
	h->se = se;
	return h;
}

void reg_hev_get(struct reg_hev *h)
{
	atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
}

void reg_hev_put(struct reg_hev *h)
{
	if (!h || atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (int v = 0; v < HV_N; v++) {
		struct hline *l = atomic_load_explicit(&h->line[v], memory_order_relaxed);

		if (l) {
			free(l->p);
			free(l);
		}
	}
	store_event_put(h->se);
	free(h);
}

const struct hline *reg_hev_line(struct reg_hev *h, int v)
{
	static const char *const types[] = {[HV_ADDED] = "ADDED",
					    [HV_MODIFIED] = "MODIFIED",
					    [HV_MOVED_OUT] = "DELETED",
					    [HV_DELETED] = "DELETED"};
	struct hline *l = atomic_load_explicit(&h->line[v], memory_order_acquire), *none = NULL;
	const struct store_kv *kv = v == HV_DELETED ? &h->se->prev : &h->se->kv;
	struct k8s_buf b = {0};

	if (l)
		return l;
	k8s_buf_reserve(&b, kv->value_len + 80);
	k8s_buf_printf(&b, "{\"type\":\"%s\",\"object\":", types[v]);
	api_emit_object(&b, kv->value, kv->value_len, h->se->kv.mod_rev);
	k8s_buf_puts(&b, "}\n");
	l = b.oom ? NULL : malloc(sizeof(*l));
	if (!l) {
		k8s_buf_free(&b);
		return NULL;
	}
	l->p = k8s_buf_take(&b, &l->len);
	/* another consumer may have encoded it meanwhile: the first one stays */
	if (!atomic_compare_exchange_strong_explicit(&h->line[v], &none, l, memory_order_acq_rel,
						     memory_order_acquire)) {
		free(l->p);
		free(l);
		l = none;
	}
	return l;
}

static struct jv *tree_of(struct hev_trees *t, const struct store_kv *kv)
{
	if (!kv->value_len)
		return NULL;
	if (!t->d)
		t->d = jv_doc_new();
	return t->d ? jv_parse(t->d, (const char *)kv->value, kv->value_len, NULL) : NULL;
}

struct jv *hev_cur(struct hev_trees *t)
{
	if (!t->cur_done) {
		t->cur_done = true;
		t->cur = tree_of(t, &t->se->kv);
	}
	return t->cur;
}

struct jv *hev_prev(struct hev_trees *t)
{
	if (!t->prev_done) {
		t->prev_done = true;
		t->prev = tree_of(t, &t->se->prev);
	}
	return t->prev;
}

void hev_trees_done(struct hev_trees *t)
{
	jv_doc_free(t->d);
	t->d = NULL;
}

int reg_hev_variant(const struct reg_watch *w, struct hev_trees *t)
{
	const struct store_event *se = t->se;
	bool cur_ok = false, prev_ok = false;

	if (se->kv.key_len < w->prefix_len || memcmp(se->kv.key, w->prefix, w->prefix_len))
		return HV_NONE;
	if (!w->sel)
		return se->type == STORE_EVENT_CREATE	? HV_ADDED
		       : se->type == STORE_EVENT_UPDATE ? HV_MODIFIED
							: HV_DELETED;
	if (se->type != STORE_EVENT_DELETE)
		cur_ok = hev_cur(t) && api_selector_match(w->sel, t->cur);
	if (se->type != STORE_EVENT_CREATE)
		prev_ok = hev_prev(t) && api_selector_match(w->sel, t->prev);
	switch (se->type) {
	case STORE_EVENT_CREATE:
		return cur_ok ? HV_ADDED : HV_NONE;
	case STORE_EVENT_DELETE:
		return prev_ok ? HV_DELETED : HV_NONE;
	case STORE_EVENT_UPDATE:
		if (cur_ok)
			return prev_ok ? HV_MODIFIED : HV_ADDED;
		return prev_ok ? HV_MOVED_OUT : HV_NONE;
	}
	return HV_NONE;
}
