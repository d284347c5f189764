/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_topo: topology domains, under the cache lock. Every topology key a term or a spread
 * constraint names (kubernetes.io/hostname, topology.kubernetes.io/zone, a rack label: any
 * node label) gets a slot; each value of it a dense domain index; each node keeps its domain
 * per slot (node->dom[slot], -1 without the label), and each domain the number of live nodes
 * in it (spread's domains), each slot the number of live nodes with the key. Registering a
 * slot costs O(nodes) once; a node's domains are recomputed when its labels change (O(slots)).
 * The index (sched_index.c) keeps its per-domain counts in arrays indexed by these domains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

struct topo_slot {
	uint32_t key;
	struct hmap *val2dom; /* value id -> domain + 1 */
	uint32_t ndom, cadom;
	uint32_t *dom_val;
	int32_t *dom_nodes;
	uint32_t nodes_with_key;
};

struct sched_topo {
	struct sched *s;
	struct topo_slot *slots;
	uint32_t nslots, caslots;
	struct hmap *slot_of; /* key id -> slot + 1 */
};

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

struct sched_topo *sched_topo_new(struct sched *s)
{
	struct sched_topo *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->s = s;
	t->slot_of = hmap_new();
	if (!t->slot_of) {
		free(t);
		return NULL;
	}
	return t;
}

void sched_topo_free(struct sched_topo *tp)
{
	if (!tp)
		return;
	for (uint32_t i = 0; i < tp->nslots; i++) {
		hmap_free(tp->slots[i].val2dom);
		free(tp->slots[i].dom_val);
		free(tp->slots[i].dom_nodes);
	}
	free(tp->slots);
	hmap_free(tp->slot_of);
	free(tp);
}

int sched_topo_find(const struct sched_topo *tp, uint32_t key)
{
	void *v = hmap_get(tp->slot_of, &key, sizeof(key));

	return v ? (int)((uintptr_t)v - 1) : -1;
}

uint32_t sched_topo_nslots(const struct sched_topo *tp)
{
	return tp->nslots;
}

uint32_t sched_topo_ndom(const struct sched_topo *tp, int slot)
{
	return tp->slots[slot].ndom;
}

int32_t sched_topo_dom_nodes(const struct sched_topo *tp, int slot, uint32_t d)
{
	return d < tp->slots[slot].ndom ? tp->slots[slot].dom_nodes[d] : 0;
}

uint32_t sched_topo_nodes_with_key(const struct sched_topo *tp, int slot)
{
	return tp->slots[slot].nodes_with_key;
}

/* The domain of value val in slot (created if new); -1 on ENOMEM. */
static int32_t topo_dom(struct topo_slot *t, uint32_t val)
{
	void *v = hmap_get(t->val2dom, &val, sizeof(val));

	if (v)
		return (int32_t)((uintptr_t)v - 1);
	uint32_t cap = t->cadom;

	if (grow((void **)&t->dom_val, &cap, t->ndom + 1, sizeof(uint32_t)) < 0)
		return -1;
	cap = t->cadom;
	if (grow((void **)&t->dom_nodes, &cap, t->ndom + 1, sizeof(int32_t)) < 0)
		return -1;
	t->cadom = cap;
	if (hmap_put(t->val2dom, &val, sizeof(val), (void *)(uintptr_t)(t->ndom + 1), NULL) < 0)
		return -1;
	t->dom_val[t->ndom] = val;
	return (int32_t)t->ndom++;
}

static void node_count_doms(struct sched_topo *tp, struct sched_node *n, int delta)
{
	for (uint32_t i = 0; i < n->ndom && i < tp->nslots; i++)
		if (n->dom[i] >= 0) {
			tp->slots[i].dom_nodes[n->dom[i]] += delta;
			tp->slots[i].nodes_with_key += delta;
		}
}

/* Set node n's domain for slot i from its labels. */
static int node_dom(struct sched_topo *tp, struct sched_node *n, uint32_t i)
{
	uint32_t v = sched_labels_get(&n->spec->labels, tp->slots[i].key);
	int32_t d = -1;

	if (v != SCHED_NOID) {
		d = topo_dom(&tp->slots[i], v);
		if (d < 0)
			return -ENOMEM;
	}
	n->dom[i] = d;
	return 0;
}

static bool node_counted(const struct sched_node *n)
{
	return n->live;
}

int sched_topo_node_doms(struct sched_topo *tp, struct sched_node *n, bool live)
{
	uint32_t cap = n->ndom;

	if (n->live)
		node_count_doms(tp, n, -1);
	if (tp->nslots > n->ndom) {
		int32_t *d = realloc(n->dom, tp->nslots * sizeof(*d));

		if (!d)
			return -ENOMEM;
		n->dom = d;
		cap = tp->nslots;
	}
	n->ndom = cap;
	for (uint32_t i = 0; i < tp->nslots; i++)
		if (node_dom(tp, n, i) < 0)
			return -ENOMEM;
	n->live = live;
	if (live)
		node_count_doms(tp, n, +1);
	return 0;
}

void sched_topo_node_gone(struct sched_topo *tp, struct sched_node *n)
{
	if (n->live)
		node_count_doms(tp, n, -1);
	n->live = false;
}

int sched_topo_slot(struct sched_topo *tp, uint32_t key)
{
	int slot = sched_topo_find(tp, key);
	struct sched_cache *c = &tp->s->cache;

	if (slot >= 0)
		return slot;
	if (grow((void **)&tp->slots, &tp->caslots, tp->nslots + 1, sizeof(*tp->slots)) < 0)
		return -1;
	struct topo_slot *t = &tp->slots[tp->nslots];

	memset(t, 0, sizeof(*t));
	t->key = key;
	t->val2dom = hmap_new();
	if (!t->val2dom)
		return -1;
	slot = (int)tp->nslots;
	if (hmap_put(tp->slot_of, &key, sizeof(key), (void *)(uintptr_t)(slot + 1), NULL) < 0) {
		hmap_free(t->val2dom);
		return -1;
	}
	tp->nslots++;
	for (uint32_t i = 0; i < c->nslots; i++) {
		struct sched_node *n = c->slots[i];

		if (!n)
			continue;
		int32_t *d = realloc(n->dom, tp->nslots * sizeof(*d));

		if (!d)
			return -1;
		n->dom = d;
		n->ndom = tp->nslots;
		if (node_dom(tp, n, (uint32_t)slot) < 0)
			return -1;
		if (node_counted(n) && n->dom[slot] >= 0) {
			t->dom_nodes[n->dom[slot]]++;
			t->nodes_with_key++;
		}
	}
	return slot;
}
