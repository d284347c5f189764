/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_index: what makes inter-pod affinity and topology spread cost O(terms) per decision
 * instead of kube-scheduler's O(all pods) PreFilter/PreScore scans. Guarded by the cache lock.
 *
 * Domains: every topology key a term or constraint names is a slot of sched_topo.c, each of
 * its values a dense domain index, and each node knows its domain per slot.
 *
 * Classes. The "who" of a term (namespaces or a namespace selector, and a label selector;
 * for "matches every required affinity term" the conjunction of the terms' "who") is a
 * class, keyed by a canonical byte form so that the thousand replicas of a Deployment share
 * one. A class counts the cached (bound or assumed) pods it matches: in all, per node slot
 * and, for each topology slot it is asked about, per domain (kube's topologyToMatchedTerm-
 * Count, kept current instead of recomputed). A new class is counted once over every cached
 * pod, O(pods); after that, a pod added or removed updates only the classes its labels can
 * match: classes are anchored on one positive requirement of their selector (key=value of an
 * In, else the key of an Exists, else "always"), so a pod with L labels looks at 2L anchor
 * lists: O(L + matching classes) per pod event. Flags: SKIP_TERMINATING (spread counts no
 * terminating pod, countPodsMatchSelector).
 *
 * Holders. The symmetric side (seed 003): each cached pod's own terms are counted per
 * (class, topology slot, kind) and domain: required anti-affinity (a pod of the class may not
 * join the domain), required affinity (hardPodAffinityWeight towards the domain), preferred
 * (anti-)affinity (+/- weight). An incoming pod checks each class that has holders once
 * (O(distinct classes held), not O(pods with affinity)) and then reads counts per domain.
 *
 * Costs (N nodes, P cached pods, D domains of a slot, C classes): memory O(C x (N + D)) for
 * the class vectors (dense int32; 40 KB a class at 5,000 nodes with hostname tracked) plus
 * O(holders x D); a pod event O(labels + matching classes + its terms); a decision O(terms +
 * held classes) plus O(D) reads per node filtered/scored.
 *
 * Namespaces: their labels are kept here (namespaceSelector); a label change recounts the
 * classes that select namespaces by label. Classes nobody references any more stay for later
 * decisions and are collected after SCHED_IDLE_GENERATIONS decisions without use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

#define SCHED_IDLE_GENERATIONS 4096

struct class_slot {
	int32_t *cnt;
	uint32_t cap;
	int64_t total;
	bool tracked;
};

struct sched_holder {
	struct sched_holder *next;
	struct sched_class *c;
	int slot;
	uint8_t kind;
	int64_t *val;
	uint32_t cap;
	int64_t refs; /* pod terms counted in it */
};

struct anchor_list {
	struct sched_class **v;
	uint32_t n, cap;
};

struct sched_class {
	struct sched_arena arena;
	char *key;
	uint32_t klen;
	uint32_t nconj;
	struct sched_match *conj;
	uint8_t flags;
	bool has_nssel;
	uint32_t refs;
	uint64_t last_used;
	int64_t members;
	int32_t *node_cnt;
	uint32_t node_cap;
	struct class_slot *slots;
	uint32_t nslots;
	struct sched_holder *holders;
	int64_t holder_refs;
	struct sched_class *hnext, *hprev; /* classes with holder_refs > 0 */
	struct sched_class *next, *prev;   /* every class */
	/* anchor: 0 never matches, 1 always, 2 key, 3 key=value for each value */
	uint8_t anchor;
	uint32_t anchor_key, nanchor_vals;
	uint32_t *anchor_vals;
};

struct ns_entry {
	struct sched_arena arena;
	struct sched_labels labels;
};

struct sched_index {
	struct sched *s;
	struct sched_topo *topo;
	struct hmap *classes; /* key -> class */
	struct sched_class *all, *held;
	size_t nclasses;
	struct hmap *anchors; /* 'K'key / 'V'key value -> anchor_list */
	struct anchor_list always;
	struct hmap *ns; /* ns id -> ns_entry */
	uint64_t last_gc;
};

static const struct sched_labels no_labels;

/* ---- growth helpers ---- */

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, (size_t)n * elem);

	if (!q)
		return -ENOMEM;
	memset((char *)q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*p = q;
	*cap = n;
	return 0;
}

/* ---- index ---- */

struct sched_index *sched_index_new(struct sched *s)
{
	struct sched_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return NULL;
	ix->s = s;
	ix->topo = s->cache.topo;
	ix->classes = hmap_new();
	ix->anchors = hmap_new();
	ix->ns = hmap_new();
	if (!ix->classes || !ix->anchors || !ix->ns) {
		sched_index_free(ix);
		return NULL;
	}
	return ix;
}

static void class_destroy(struct sched_class *c)
{
	for (struct sched_holder *h = c->holders, *next; h; h = next) {
		next = h->next;
		free(h->val);
		free(h);
	}
	for (uint32_t i = 0; i < c->nslots; i++)
		free(c->slots[i].cnt);
	free(c->slots);
	free(c->node_cnt);
	struct sched_arena a = c->arena;

	sched_arena_free(&a);
}

void sched_index_free(struct sched_index *ix)
{
	if (!ix)
		return;
	for (struct sched_class *c = ix->all, *next; c; c = next) {
		next = c->next;
		class_destroy(c);
	}
	if (ix->anchors)
		for (struct hmap_entry *e = hmap_first(ix->anchors); e;
		     e = hmap_next(ix->anchors, e)) {
			struct anchor_list *l = hmap_entry_val(e);

			free(l->v);
			free(l);
		}
	free(ix->always.v);
	if (ix->ns)
		for (struct hmap_entry *e = hmap_first(ix->ns); e; e = hmap_next(ix->ns, e)) {
			struct ns_entry *n = hmap_entry_val(e);
			struct sched_arena a = n->arena;

			free(n);
			sched_arena_free(&a);
		}
	hmap_free(ix->classes);
	hmap_free(ix->anchors);
	hmap_free(ix->ns);
	free(ix);
}

size_t sched_index_nclasses(const struct sched_index *ix)
{
	return ix->nclasses;
}

/* ---- namespaces ---- */

const struct sched_labels *sched_index_ns_labels(const struct sched_index *ix, uint32_t ns_id)
{
	struct ns_entry *n = hmap_get(ix->ns, &ns_id, sizeof(ns_id));

	return n ? &n->labels : &no_labels;
}

/* ---- matching ---- */

static bool has_ns(const struct sched_match *m, uint32_t ns)
{
	for (uint32_t i = 0; i < m->nns; i++)
		if (m->ns[i] == ns)
			return true;
	return false;
}

bool sched_match_pod(const struct sched_index *ix, const struct sched_match *m,
		     const struct sched_pod *p)
{
	const struct sched_intern *t = ix->s->strings;

	if (!has_ns(m, p->ns_id) &&
	    !(m->has_nssel && sched_sel_match(t, &m->nssel, sched_index_ns_labels(ix, p->ns_id))))
		return false;
	return sched_sel_match(t, &m->sel, &p->labels);
}

bool sched_class_matches(const struct sched_index *ix, const struct sched_class *c,
			 const struct sched_pod *p)
{
	if ((c->flags & SCHED_CLASS_SKIP_TERMINATING) && p->terminating)
		return false;
	for (uint32_t i = 0; i < c->nconj; i++)
		if (!sched_match_pod(ix, &c->conj[i], p))
			return false;
	return true;
}

/* ---- class counts ---- */

static int class_count(struct sched_class *c, const struct sched_node *n, int delta)
{
	if (n->slot >= c->node_cap &&
	    grow((void **)&c->node_cnt, &c->node_cap, n->slot + 1, sizeof(int32_t)) < 0)
		return -ENOMEM;
	c->members += delta;
	c->node_cnt[n->slot] += delta;
	for (uint32_t i = 0; i < c->nslots && i < n->ndom; i++) {
		struct class_slot *cs = &c->slots[i];
		int32_t d = n->dom[i];

		if (!cs->tracked || d < 0)
			continue;
		if ((uint32_t)d >= cs->cap &&
		    grow((void **)&cs->cnt, &cs->cap, (uint32_t)d + 1, sizeof(int32_t)) < 0)
			return -ENOMEM;
		cs->cnt[d] += delta;
		cs->total += delta;
	}
	return 0;
}

int64_t sched_class_dom(const struct sched_class *c, int slot, int32_t d)
{
	if (d < 0 || (uint32_t)slot >= c->nslots || (uint32_t)d >= c->slots[slot].cap)
		return 0;
	return c->slots[slot].cnt[d];
}

int64_t sched_class_slot_total(const struct sched_class *c, int slot)
{
	return (uint32_t)slot < c->nslots ? c->slots[slot].total : 0;
}

int64_t sched_class_node(const struct sched_class *c, uint32_t node_slot)
{
	return node_slot < c->node_cap ? c->node_cnt[node_slot] : 0;
}

int64_t sched_class_members(const struct sched_class *c)
{
	return c->members;
}

int sched_class_track(struct sched_index *ix, struct sched_class *c, int slot)
{
	struct sched_cache *cache = &ix->s->cache;

	uint32_t nslots = sched_topo_nslots(ix->topo);

	if ((uint32_t)slot >= c->nslots) {
		struct class_slot *s = realloc(c->slots, nslots * sizeof(*s));

		if (!s)
			return -ENOMEM;
		memset(s + c->nslots, 0, (nslots - c->nslots) * sizeof(*s));
		c->slots = s;
		c->nslots = nslots;
	}
	struct class_slot *cs = &c->slots[slot];

	if (cs->tracked)
		return 0;
	if (grow((void **)&cs->cnt, &cs->cap, sched_topo_ndom(ix->topo, slot) + 1,
		 sizeof(int32_t)) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->node_cap && i < cache->nslots; i++) {
		struct sched_node *n = cache->slots[i];
		int32_t d;

		if (!c->node_cnt[i] || !n || (uint32_t)slot >= n->ndom || (d = n->dom[slot]) < 0)
			continue;
		if ((uint32_t)d >= cs->cap &&
		    grow((void **)&cs->cnt, &cs->cap, (uint32_t)d + 1, sizeof(int32_t)) < 0)
			return -ENOMEM;
		cs->cnt[d] += c->node_cnt[i];
		cs->total += c->node_cnt[i];
	}
	cs->tracked = true;
	return 0;
}

/* ---- anchors ---- */

static int anchor_key(uint8_t tag, uint32_t key, uint32_t val, char *buf)
{
	buf[0] = (char)tag;
	memcpy(buf + 1, &key, 4);
	if (tag == 'K')
		return 5;
	memcpy(buf + 5, &val, 4);
	return 9;
}

static struct anchor_list *anchor_list(struct sched_index *ix, uint8_t tag, uint32_t key,
				       uint32_t val, bool create)
{
	char k[9];
	int len = anchor_key(tag, key, val, k);
	struct anchor_list *l = hmap_get(ix->anchors, k, (size_t)len);

	if (l || !create)
		return l;
	l = calloc(1, sizeof(*l));
	if (!l || hmap_put(ix->anchors, k, (size_t)len, l, NULL) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static int anchor_add(struct anchor_list *l, struct sched_class *c)
{
	if (!l || grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

static void anchor_del(struct anchor_list *l, struct sched_class *c)
{
	for (uint32_t i = 0; l && i < l->n; i++)
		if (l->v[i] == c) {
			l->v[i] = l->v[--l->n];
			return;
		}
}

/* Pick the anchor: the In with fewest values, else an Exists, else always. */
static void choose_anchor(struct sched_class *c)
{
	const struct sched_sel *sel = &c->conj[0].sel;
	const struct sched_req *best = NULL, *exists = NULL;

	if (sel->kind == SCHED_SEL_NOTHING) {
		c->anchor = 0;
		return;
	}
	for (uint32_t i = 0; sel->kind == SCHED_SEL_REQS && i < sel->nreq; i++) {
		const struct sched_req *r = &sel->reqs[i];

		if (r->op == SCHED_OP_IN && (!best || r->nvals < best->nvals))
			best = r;
		if (r->op == SCHED_OP_EXISTS && !exists)
			exists = r;
	}
	if (best) {
		c->anchor = 3;
		c->anchor_key = best->key;
		c->anchor_vals = best->vals;
		c->nanchor_vals = best->nvals;
	} else if (exists) {
		c->anchor = 2;
		c->anchor_key = exists->key;
	} else {
		c->anchor = 1;
	}
}

static int anchor_class(struct sched_index *ix, struct sched_class *c, bool add)
{
	switch (c->anchor) {
	case 1:
		if (add)
			return anchor_add(&ix->always, c);
		anchor_del(&ix->always, c);
		return 0;
	case 2: {
		struct anchor_list *l = anchor_list(ix, 'K', c->anchor_key, 0, add);

		if (add)
			return anchor_add(l, c);
		anchor_del(l, c);
		return 0;
	}
	case 3:
		for (uint32_t i = 0; i < c->nanchor_vals; i++) {
			struct anchor_list *l =
			    anchor_list(ix, 'V', c->anchor_key, c->anchor_vals[i], add);

			if (add && anchor_add(l, c) < 0)
				return -ENOMEM;
			if (!add)
				anchor_del(l, c);
		}
		return 0;
	}
	return 0;
}

/* ---- classes ---- */

static int copy_sel(struct sched_arena *a, const struct sched_sel *src, struct sched_sel *dst)
{
	*dst = *src;
	if (!src->nreq)
		return 0;
	dst->reqs = sched_arena_alloc(a, src->nreq * sizeof(*dst->reqs));
	if (!dst->reqs)
		return -ENOMEM;
	for (uint32_t i = 0; i < src->nreq; i++) {
		dst->reqs[i] = src->reqs[i];
		if (!src->reqs[i].nvals)
			continue;
		dst->reqs[i].vals = sched_arena_alloc(a, src->reqs[i].nvals * sizeof(uint32_t));
		if (!dst->reqs[i].vals)
			return -ENOMEM;
		memcpy(dst->reqs[i].vals, src->reqs[i].vals, src->reqs[i].nvals * sizeof(uint32_t));
	}
	return 0;
}

static int copy_match(struct sched_arena *a, const struct sched_match *src, struct sched_match *dst)
{
	*dst = *src;
	if (src->nns) {
		dst->ns = sched_arena_alloc(a, src->nns * sizeof(uint32_t));
		if (!dst->ns)
			return -ENOMEM;
		memcpy(dst->ns, src->ns, src->nns * sizeof(uint32_t));
	}
	if (copy_sel(a, &src->sel, &dst->sel) < 0 || copy_sel(a, &src->nssel, &dst->nssel) < 0)
		return -ENOMEM;
	return 0;
}

/* Count the class over every indexed pod of the cache. */
static int class_scan(struct sched_index *ix, struct sched_class *c)
{
	struct hmap *pods = ix->s->cache.pods;

	for (struct hmap_entry *e = hmap_first(pods); e; e = hmap_next(pods, e)) {
		struct cache_pod *cp = hmap_entry_val(e);

		if (cp->indexed && sched_class_matches(ix, c, cp->p) &&
		    class_count(c, cp->node, +1) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void class_zero(struct sched_class *c)
{
	c->members = 0;
	if (c->node_cnt)
		memset(c->node_cnt, 0, c->node_cap * sizeof(int32_t));
	for (uint32_t i = 0; i < c->nslots; i++) {
		if (c->slots[i].cnt)
			memset(c->slots[i].cnt, 0, c->slots[i].cap * sizeof(int32_t));
		c->slots[i].total = 0;
	}
}

static void class_free(struct sched_index *ix, struct sched_class *c)
{
	anchor_class(ix, c, false);
	hmap_del(ix->classes, c->key, c->klen);
	if (c->prev)
		c->prev->next = c->next;
	else
		ix->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ix->nclasses--;
	class_destroy(c);
}

struct sched_class *sched_class_get(struct sched_index *ix, const struct sched_match *conj,
				    uint32_t nconj, uint8_t flags, const char *key, uint32_t klen)
{
	struct sched_class *c = hmap_get(ix->classes, key, klen);
	struct sched_arena a = {0};

	if (c) {
		c->last_used = ix->s->cache.generation;
		return c;
	}
	c = sched_arena_alloc(&a, sizeof(*c));
	if (!c)
		return NULL;
	c->arena = a;
	c->key = sched_arena_alloc(&c->arena, klen);
	c->conj = sched_arena_alloc(&c->arena, nconj * sizeof(*c->conj));
	if (!c->key || !c->conj)
		goto fail;
	memcpy(c->key, key, klen);
	c->klen = klen;
	c->nconj = nconj;
	c->flags = flags;
	c->last_used = ix->s->cache.generation;
	for (uint32_t i = 0; i < nconj; i++) {
		if (copy_match(&c->arena, &conj[i], &c->conj[i]) < 0)
			goto fail;
		c->has_nssel |= conj[i].has_nssel;
	}
	choose_anchor(c);
	if (class_scan(ix, c) < 0)
		goto fail;
	if (hmap_put(ix->classes, c->key, klen, c, NULL) < 0)
		goto fail;
	if (anchor_class(ix, c, true) < 0) {
		anchor_class(ix, c, false);
		hmap_del(ix->classes, c->key, klen);
		goto fail;
	}
	c->next = ix->all;
	if (ix->all)
		ix->all->prev = c;
	ix->all = c;
	ix->nclasses++;
	return c;
fail:
	class_destroy(c);
	return NULL;
}

void sched_class_ref(struct sched_class *c)
{
	c->refs++;
}

void sched_class_unref(struct sched_class *c)
{
	c->refs--;
}

void sched_index_gc(struct sched_index *ix, uint64_t gen)
{
	if (gen < ix->last_gc + SCHED_IDLE_GENERATIONS / 4)
		return;
	ix->last_gc = gen;
	for (struct sched_class *c = ix->all, *next; c; c = next) {
		next = c->next;
		if (c->refs == 0 && c->holder_refs == 0 &&
		    c->last_used + SCHED_IDLE_GENERATIONS < gen)
			class_free(ix, c);
	}
}

/* ---- holders ---- */

static struct sched_holder *holder_get(struct sched_class *c, int slot, uint8_t kind)
{
	struct sched_holder *h;

	for (h = c->holders; h; h = h->next)
		if (h->slot == slot && h->kind == kind)
			return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->c = c;
	h->slot = slot;
	h->kind = kind;
	h->next = c->holders;
	c->holders = h;
	return h;
}

static void held_link(struct sched_index *ix, struct sched_class *c, int64_t delta)
{
	bool was = c->holder_refs > 0;

	c->holder_refs += delta;
	if (!was && c->holder_refs > 0) {
		c->hprev = NULL;
		c->hnext = ix->held;
		if (ix->held)
			ix->held->hprev = c;
		ix->held = c;
	} else if (was && c->holder_refs <= 0) {
		if (c->hprev)
			c->hprev->hnext = c->hnext;
		else
			ix->held = c->hnext;
		if (c->hnext)
			c->hnext->hprev = c->hprev;
		c->hnext = c->hprev = NULL;
	}
}

static int hold(struct sched_index *ix, struct sched_class *c, const struct sched_pterm *t,
		uint8_t kind, int64_t w, const struct sched_node *n, int delta)
{
	int slot = sched_topo_slot(ix->topo, t->topo);
	struct sched_holder *h;

	if (slot < 0 || !(h = holder_get(c, slot, kind)))
		return -ENOMEM;
	int32_t d = (uint32_t)slot < n->ndom ? n->dom[slot] : -1;

	if (d >= 0) {
		if ((uint32_t)d >= h->cap &&
		    grow((void **)&h->val, &h->cap, (uint32_t)d + 1, sizeof(int64_t)) < 0)
			return -ENOMEM;
		h->val[d] += w * delta;
	}
	h->refs += delta;
	held_link(ix, c, delta);
	return 0;
}

int sched_index_attach(struct sched_index *ix, struct cache_pod *cp)
{
	const struct sched_pod_ext *x = cp->p->x;
	uint32_t n;

	if (!x)
		return 0;
	n = x->naff + x->nanti + x->npaff + x->npanti;
	if (!n)
		return 0;
	cp->term_cls = calloc(n, sizeof(*cp->term_cls));
	if (!cp->term_cls)
		return -ENOMEM;
	const struct sched_pterm *lists[4] = {x->aff, x->anti, x->paff, x->panti};
	uint32_t counts[4] = {x->naff, x->nanti, x->npaff, x->npanti};

	for (int l = 0; l < 4; l++)
		for (uint32_t i = 0; i < counts[l]; i++) {
			const struct sched_pterm *t = &lists[l][i];
			struct sched_class *c = sched_class_get(ix, &t->m, 1, 0, t->key, t->klen);

			if (!c) {
				sched_index_detach(ix, cp);
				return -ENOMEM;
			}
			sched_class_ref(c);
			cp->term_cls[cp->nterm_cls++] = c;
		}
	return 0;
}

void sched_index_detach(struct sched_index *ix, struct cache_pod *cp)
{
	for (uint32_t i = 0; i < cp->nterm_cls; i++) {
		cp->term_cls[i]->last_used = ix->s->cache.generation;
		sched_class_unref(cp->term_cls[i]);
	}
	free(cp->term_cls);
	cp->term_cls = NULL;
	cp->nterm_cls = 0;
}

static int count_classes(struct sched_index *ix, const struct sched_pod *p,
			 const struct sched_node *n, int delta, struct anchor_list *l)
{
	for (uint32_t i = 0; l && i < l->n; i++)
		if (sched_class_matches(ix, l->v[i], p) && class_count(l->v[i], n, delta) < 0)
			return -ENOMEM;
	return 0;
}

int sched_index_pod(struct sched_index *ix, struct cache_pod *cp, int delta)
{
	const struct sched_pod *p = cp->p;
	const struct sched_pod_ext *x = p->x;
	const struct sched_node *n = cp->node;
	int rc = 0;

	for (uint32_t i = 0; i < p->labels.n && rc == 0; i++) {
		rc = count_classes(
		    ix, p, n, delta,
		    anchor_list(ix, 'V', p->labels.v[i].key, p->labels.v[i].val, false));
		if (rc == 0)
			rc = count_classes(ix, p, n, delta,
					   anchor_list(ix, 'K', p->labels.v[i].key, 0, false));
	}
	if (rc == 0)
		rc = count_classes(ix, p, n, delta, &ix->always);
	if (rc < 0 || !x || !cp->nterm_cls)
		return rc;
	uint32_t k = 0;

	for (uint32_t i = 0; i < x->naff && rc == 0; i++)
		rc = hold(ix, cp->term_cls[k++], &x->aff[i], SCHED_HOLD_REQ_AFF, 1, n, delta);
	for (uint32_t i = 0; i < x->nanti && rc == 0; i++)
		rc = hold(ix, cp->term_cls[k++], &x->anti[i], SCHED_HOLD_REQ_ANTI, 1, n, delta);
	for (uint32_t i = 0; i < x->npaff && rc == 0; i++)
		rc = hold(ix, cp->term_cls[k++], &x->paff[i], SCHED_HOLD_PREF, x->paff[i].weight, n,
			  delta);
	for (uint32_t i = 0; i < x->npanti && rc == 0; i++)
		rc = hold(ix, cp->term_cls[k++], &x->panti[i], SCHED_HOLD_PREF,
			  -(int64_t)x->panti[i].weight, n, delta);
	return rc;
}

int sched_index_namespace(struct sched_index *ix, uint32_t ns_id, const struct sched_labels *l)
{
	struct ns_entry *n = hmap_get(ix->ns, &ns_id, sizeof(ns_id));
	struct sched_arena a = {0};
	struct ns_entry *nn = NULL;

	if (n && l && sched_labels_equal(&n->labels, l))
		return 0;
	if (!n && (!l || !l->n))
		return 0;
	if (l) {
		nn = calloc(1, sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		if (l->n) {
			nn->labels.v = sched_arena_alloc(&a, l->n * sizeof(*l->v));
			if (!nn->labels.v) {
				free(nn);
				return -ENOMEM;
			}
			memcpy(nn->labels.v, l->v, l->n * sizeof(*l->v));
			nn->labels.n = l->n;
		}
		nn->arena = a;
		if (hmap_put(ix->ns, &ns_id, sizeof(ns_id), nn, NULL) < 0) {
			sched_arena_free(&a);
			free(nn);
			return -ENOMEM;
		}
	} else {
		hmap_del(ix->ns, &ns_id, sizeof(ns_id));
	}
	if (n) {
		a = n->arena;
		sched_arena_free(&a);
		free(n);
	}
	/* recount what selects namespaces by label */
	for (struct sched_class *c = ix->all; c; c = c->next) {
		if (!c->has_nssel)
			continue;
		class_zero(c);
		if (class_scan(ix, c) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- iteration for the symmetric rules ---- */

struct sched_class *sched_index_holder_classes(const struct sched_index *ix)
{
	return ix->held;
}

struct sched_class *sched_class_next_holder_class(const struct sched_class *c)
{
	return c->hnext;
}

struct sched_holder *sched_class_holders(const struct sched_class *c)
{
	return c->holders;
}

struct sched_holder *sched_holder_next(const struct sched_holder *h)
{
	return h->next;
}

enum sched_holder_kind sched_holder_kind(const struct sched_holder *h)
{
	return h->kind;
}

int sched_holder_slot(const struct sched_holder *h)
{
	return h->slot;
}

int64_t sched_holder_dom(const struct sched_holder *h, int32_t d)
{
	return d >= 0 && (uint32_t)d < h->cap ? h->val[d] : 0;
}

bool sched_holder_empty(const struct sched_holder *h)
{
	return h->refs <= 0;
}
