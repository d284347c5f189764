/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_cache: kube-scheduler's cache. Nodes by name (hmap), each with the pods bound or
 * assumed on it, their summed requests (as NodeResourcesFit counts them, and the non-zero
 * sums the scores use), their host ports (counted per ip/protocol/port) and its domains in
 * the index; pods by uid (hmap), each bound, or assumed between a decision and its watch
 * event: assume (placed before the API knows), finish binding (the bind call returned; with
 * a TTL the pod expires if its event never comes), confirm (the bound pod's add event
 * arrives; if it landed elsewhere it moves), forget (the bind failed). Every operation is
 * O(1) plus the index's per-pod work (sched_index.c).
 *
 * A node deleted while pods still point at it stays as a "ghost" (not live, not counted,
 * kube's NodeInfo without a Node) until its last pod goes; a pod whose node is unknown makes
 * a ghost too. Pods on ghosts are not indexed (kube's snapshot leaves them out).
 *
 * Node order. kube-scheduler walks nodes in NodeTree order (zones interleaved: the first node
 * of each zone, then the second of each...), starting each search where the last one stopped;
 * with percentageOfNodesToScore that spreads the examined subset over zones. The order is
 * rebuilt (O(nodes)) only when nodes come, go or change zone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

struct sched_zone {
	uint32_t key;
	struct sched_node **nodes;
	uint32_t n, cap;
};

int sched_grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, (size_t)n * elem);

	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

int sched_cache_init(struct sched_cache *c, struct sched *s)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	pthread_mutex_init(&c->mu, NULL);
	c->nodes = hmap_new();
	c->pods = hmap_new();
	c->topo = sched_topo_new(s);
	c->ix = c->topo ? sched_index_new(s) : NULL;
	c->defaults = sched_defaults_new(s);
	if (!c->nodes || !c->pods || !c->ix || !c->defaults) {
		sched_cache_destroy(c);
		return -ENOMEM;
	}
	return 0;
}

static void node_free(struct sched_node *n)
{
	sched_node_spec_free(n->spec);
	free(n->requested.scalar);
	free(n->pods);
	free(n->ports);
	free(n->dom);
	free(n);
}

void sched_cache_destroy(struct sched_cache *c)
{
	if (c->pods)
		for (struct hmap_entry *e = hmap_first(c->pods); e; e = hmap_next(c->pods, e)) {
			struct cache_pod *cp = hmap_entry_val(e);

			free(cp->term_cls);
			sched_pod_unref(cp->p);
			free(cp);
		}
	for (uint32_t i = 0; i < c->nslots; i++)
		if (c->slots[i])
			node_free(c->slots[i]);
	for (uint32_t i = 0; i < c->nzones; i++)
		free(c->zones[i].nodes);
	free(c->zones);
	free(c->slots);
	free(c->order);
	free(c->free_slots);
	sched_index_free(c->ix);
	sched_topo_free(c->topo);
	sched_defaults_free(c->defaults);
	hmap_free(c->nodes);
	hmap_free(c->pods);
	pthread_mutex_destroy(&c->mu);
	memset(c, 0, sizeof(*c));
}

/* ---- node tree ---- */

static int zone_add(struct sched_cache *c, struct sched_node *n)
{
	uint32_t z;

	for (z = 0; z < c->nzones; z++)
		if (c->zones[z].key == n->spec->zone)
			break;
	if (z == c->nzones) {
		if (sched_grow((void **)&c->zones, &c->cazones, c->nzones + 1, sizeof(*c->zones)) <
		    0)
			return -ENOMEM;
		memset(&c->zones[z], 0, sizeof(c->zones[z]));
		c->zones[z].key = n->spec->zone;
		c->nzones++;
	}
	struct sched_zone *zn = &c->zones[z];

	if (sched_grow((void **)&zn->nodes, &zn->cap, zn->n + 1, sizeof(*zn->nodes)) < 0)
		return -ENOMEM;
	zn->nodes[zn->n++] = n;
	n->zone_idx = z;
	c->order_dirty = true;
	return 0;
}

static void zone_del(struct sched_cache *c, struct sched_node *n)
{
	struct sched_zone *zn = &c->zones[n->zone_idx];

	for (uint32_t i = 0; i < zn->n; i++)
		if (zn->nodes[i] == n) {
			memmove(&zn->nodes[i], &zn->nodes[i + 1], (zn->n - i - 1) * sizeof(n));
			zn->n--;
			break;
		}
	if (zn->n == 0) {
		uint32_t z = n->zone_idx;

		free(zn->nodes);
		memmove(&c->zones[z], &c->zones[z + 1], (c->nzones - z - 1) * sizeof(*zn));
		c->nzones--;
		for (uint32_t i = z; i < c->nzones; i++)
			for (uint32_t k = 0; k < c->zones[i].n; k++)
				c->zones[i].nodes[k]->zone_idx = i;
	}
	c->order_dirty = true;
}

int sched_cache_order(struct sched_cache *c, struct sched_node ***nodes, uint32_t *n)
{
	if (c->order_dirty) {
		uint32_t k = 0;

		if (sched_grow((void **)&c->order, &c->caorder, c->nlive + 1, sizeof(*c->order)) <
		    0)
			return -ENOMEM;
		for (uint32_t i = 0; k < c->nlive; i++) {
			bool any = false;

			for (uint32_t z = 0; z < c->nzones; z++)
				if (i < c->zones[z].n) {
					c->order[k++] = c->zones[z].nodes[i];
					any = true;
				}
			if (!any)
				break;
		}
		c->norder = k;
		c->order_dirty = false;
	}
	*nodes = c->order;
	*n = c->norder;
	return 0;
}

struct sched_node *sched_cache_node(struct sched_cache *c, const char *name)
{
	struct sched_node *n = hmap_sget(c->nodes, name);

	return n && n->live ? n : NULL;
}

/* ---- per-node sums ---- */

static void res_add(struct sched_res *r, const struct sched_res *d, int sign, uint32_t room_cap)
{
	r->cpu += sign * d->cpu;
	r->mem += sign * d->mem;
	r->eph += sign * d->eph;
	for (uint32_t i = 0; i < d->nscalar; i++) {
		uint32_t k;

		for (k = 0; k < r->nscalar; k++)
			if (r->scalar[k].name == d->scalar[i].name)
				break;
		if (k == r->nscalar) {
			if (k >= room_cap)
				continue;
			r->scalar[k] = (struct sched_scalar){.name = d->scalar[i].name};
			r->nscalar++;
		}
		r->scalar[k].v += sign * d->scalar[i].v;
	}
}

/* Requested scalars live in a fixed array per node (extended resources are few). */
#define NODE_SCALARS SCHED_NODE_SCALARS

static int ports_add(struct sched_node *n, const struct sched_pod *p, int sign)
{
	for (uint32_t i = 0; i < p->nports; i++) {
		const struct sched_port *pt = &p->ports[i];
		uint32_t k;

		for (k = 0; k < n->nports; k++)
			if (n->ports[k].ip == pt->ip && n->ports[k].port == pt->port &&
			    n->ports[k].proto == pt->proto)
				break;
		if (sign > 0) {
			if (k == n->nports) {
				if (sched_grow((void **)&n->ports, &n->caports, n->nports + 1,
					       sizeof(*n->ports)) < 0)
					return -ENOMEM;
				n->ports[k] = (struct sched_used_port){
				    .ip = pt->ip, .port = pt->port, .proto = pt->proto};
				n->nports++;
			}
			n->ports[k].count++;
		} else if (k < n->nports && --n->ports[k].count == 0) {
			n->ports[k] = n->ports[--n->nports];
		}
	}
	return 0;
}

static int node_add_pod(struct sched_node *n, struct cache_pod *cp)
{
	const struct sched_pod *p = cp->p;

	if (sched_grow((void **)&n->pods, &n->capods, n->npods + 1, sizeof(*n->pods)) < 0)
		return -ENOMEM;
	if (p->req.nscalar && !n->requested.scalar) {
		n->requested.scalar = calloc(NODE_SCALARS, sizeof(struct sched_scalar));
		if (!n->requested.scalar)
			return -ENOMEM;
	}
	if (ports_add(n, p, +1) < 0)
		return -ENOMEM;
	cp->pos = n->npods;
	n->pods[n->npods++] = cp;
	res_add(&n->requested, &p->req, +1, NODE_SCALARS);
	n->nz_cpu += p->nz_cpu;
	n->nz_mem += p->nz_mem;
	return 0;
}

static void node_del_pod(struct sched_node *n, struct cache_pod *cp)
{
	const struct sched_pod *p = cp->p;

	n->pods[cp->pos] = n->pods[--n->npods];
	n->pods[cp->pos]->pos = cp->pos;
	res_add(&n->requested, &p->req, -1, NODE_SCALARS);
	n->nz_cpu -= p->nz_cpu;
	n->nz_mem -= p->nz_mem;
	ports_add(n, p, -1);
}

/* ---- what-if copies ---- */

int sched_node_sim_init(struct sched_node_sim *sim, const struct sched_node *n)
{
	sim->n = *n;
	sim->n.pods = NULL;
	sim->n.capods = 0;
	if (n->requested.nscalar)
		memcpy(sim->scalar, n->requested.scalar,
		       n->requested.nscalar * sizeof(struct sched_scalar));
	sim->n.requested.scalar = sim->scalar;
	sim->n.ports = NULL;
	sim->n.caports = 0;
	if (n->nports) {
		sim->n.ports = malloc(n->nports * sizeof(*n->ports));
		if (!sim->n.ports)
			return -ENOMEM;
		memcpy(sim->n.ports, n->ports, n->nports * sizeof(*n->ports));
		sim->n.caports = n->nports;
	}
	return 0;
}

int sched_node_sim_pod(struct sched_node_sim *sim, const struct sched_pod *p, int sign)
{
	if (ports_add(&sim->n, p, sign) < 0)
		return -ENOMEM;
	res_add(&sim->n.requested, &p->req, sign, NODE_SCALARS);
	sim->n.nz_cpu += sign * p->nz_cpu;
	sim->n.nz_mem += sign * p->nz_mem;
	sim->n.npods += (uint32_t)sign;
	return 0;
}

void sched_node_sim_free(struct sched_node_sim *sim)
{
	free(sim->n.ports);
	sim->n.ports = NULL;
}

/* ---- nodes ---- */

static int new_slot(struct sched_cache *c, struct sched_node *n)
{
	if (c->nfree) {
		n->slot = c->free_slots[--c->nfree];
	} else {
		if (sched_grow((void **)&c->slots, &c->caslots, c->nslots + 1, sizeof(*c->slots)) <
		    0)
			return -ENOMEM;
		n->slot = c->nslots++;
	}
	c->slots[n->slot] = n;
	return 0;
}

static void release_slot(struct sched_cache *c, uint32_t slot)
{
	c->slots[slot] = NULL;
	if (sched_grow((void **)&c->free_slots, &c->cafree, c->nfree + 1, sizeof(uint32_t)) == 0)
		c->free_slots[c->nfree++] = slot;
}

static void drop_node(struct sched_cache *c, struct sched_node *n)
{
	hmap_sdel(c->nodes, n->spec->name);
	release_slot(c, n->slot);
	node_free(n);
}

static struct sched_node *node_new(struct sched_cache *c, struct sched_node_spec *spec)
{
	struct sched_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->spec = spec;
	if (new_slot(c, n) < 0) {
		free(n);
		return NULL;
	}
	if (hmap_sput(c->nodes, spec->name, n, NULL) < 0) {
		release_slot(c, n->slot);
		free(n);
		return NULL;
	}
	return n;
}

/* Index or un-index every pod of n. */
static int index_node_pods(struct sched_cache *c, struct sched_node *n, bool on)
{
	for (uint32_t i = 0; i < n->npods; i++) {
		struct cache_pod *cp = n->pods[i];

		if (cp->indexed == on)
			continue;
		if (sched_index_pod(c->ix, cp, on ? +1 : -1) < 0)
			return -ENOMEM;
		cp->indexed = on;
	}
	return 0;
}

static bool res_equal(const struct sched_res *a, const struct sched_res *b)
{
	return a->cpu == b->cpu && a->mem == b->mem && a->eph == b->eph &&
	       a->nscalar == b->nscalar &&
	       (!a->nscalar || memcmp(a->scalar, b->scalar, a->nscalar * sizeof(*a->scalar)) == 0);
}

static bool taints_equal(const struct sched_node_spec *a, const struct sched_node_spec *b)
{
	if (a->ntaints != b->ntaints || a->unschedulable != b->unschedulable)
		return false;
	for (uint32_t i = 0; i < a->ntaints; i++)
		if (a->taints[i].key != b->taints[i].key || a->taints[i].val != b->taints[i].val ||
		    a->taints[i].effect != b->taints[i].effect)
			return false;
	return true;
}

/* Takes spec (freed on failure too). */
int sched_cache_node_upsert(struct sched_cache *c, struct sched_node_spec *spec, unsigned *ev)
{
	struct sched_node *n = hmap_sget(c->nodes, spec->name);
	struct sched_node_spec *old;
	bool relabel;

	*ev = 0;
	if (!n) {
		n = node_new(c, spec);
		if (!n) {
			sched_node_spec_free(spec);
			return -ENOMEM;
		}
		if (sched_topo_node_doms(c->topo, n, true) < 0 || zone_add(c, n) < 0)
			return -ENOMEM;
		c->nlive++;
		*ev = SCHED_EV_NODE_ADD;
		return 0;
	}
	old = n->spec;
	relabel = !sched_labels_equal(&old->labels, &spec->labels);
	if (n->live) {
		if (!res_equal(&old->alloc, &spec->alloc) || old->alloc_pods != spec->alloc_pods)
			*ev |= SCHED_EV_NODE_ALLOC;
		if (relabel)
			*ev |= SCHED_EV_NODE_LABEL;
		if (!taints_equal(old, spec))
			*ev |= SCHED_EV_NODE_TAINT;
		if (relabel && index_node_pods(c, n, false) < 0)
			return -ENOMEM;
		if (old->zone != spec->zone)
			zone_del(c, n);
	} else {
		*ev = SCHED_EV_NODE_ADD;
		c->nlive++;
	}
	bool rezone = !n->live || old->zone != spec->zone;

	n->spec = spec;
	if (sched_topo_node_doms(c->topo, n, true) < 0 || (rezone && zone_add(c, n) < 0) ||
	    index_node_pods(c, n, true) < 0) {
		sched_node_spec_free(old);
		return -ENOMEM;
	}
	sched_node_spec_free(old);
	return 0;
}

int sched_cache_node_delete(struct sched_cache *c, const char *name, unsigned *ev)
{
	struct sched_node *n = hmap_sget(c->nodes, name);

	*ev = 0;
	if (!n || !n->live)
		return 0;
	if (index_node_pods(c, n, false) < 0)
		return -ENOMEM;
	sched_topo_node_gone(c->topo, n);
	zone_del(c, n);
	c->nlive--;
	*ev = SCHED_EV_NODE_DELETE;
	if (n->npods == 0)
		drop_node(c, n);
	return 0;
}

/* ---- pods ---- */

static struct sched_node *node_for(struct sched_cache *c, const char *name)
{
	struct sched_node *n = hmap_sget(c->nodes, name);
	struct sched_arena a = {0};
	struct sched_node_spec *spec;

	if (n)
		return n;
	/* a ghost until the node itself arrives: a name and nothing else */
	spec = sched_arena_alloc(&a, sizeof(*spec));
	if (!spec)
		return NULL;
	spec->arena = a;
	spec->name_id = sched_intern(c->s->strings, name, strlen(name));
	if (spec->name_id == SCHED_NOID) {
		sched_node_spec_free(spec);
		return NULL;
	}
	spec->name = sched_intern_str(c->s->strings, spec->name_id);
	n = node_new(c, spec);
	if (!n) {
		sched_node_spec_free(spec);
		return NULL;
	}
	if (sched_topo_node_doms(c->topo, n, false) < 0) {
		drop_node(c, n);
		return NULL;
	}
	return n;
}

static int pod_add(struct sched_cache *c, struct sched_pod *p, struct sched_node *n,
		   struct cache_pod **out)
{
	struct cache_pod *cp = calloc(1, sizeof(*cp));

	if (!cp)
		return -ENOMEM;
	cp->p = sched_pod_ref(p);
	cp->node = n;
	if (sched_index_attach(c->ix, cp) < 0)
		goto fail;
	if (hmap_sput(c->pods, p->uid, cp, NULL) < 0) {
		sched_index_detach(c->ix, cp);
		goto fail;
	}
	if (node_add_pod(n, cp) < 0) {
		hmap_sdel(c->pods, p->uid);
		sched_index_detach(c->ix, cp);
		goto fail;
	}
	if (n->live) {
		/* on failure the counts may be partial: the pod stays, uncounted */
		if (sched_index_pod(c->ix, cp, +1) < 0)
			return -ENOMEM;
		cp->indexed = true;
	}
	if (out)
		*out = cp;
	return 0;
fail:
	sched_pod_unref(cp->p);
	free(cp);
	return -ENOMEM;
}

static void assumed_unlink(struct sched_cache *c, struct cache_pod *cp)
{
	if (!cp->assumed)
		return;
	if (cp->aprev)
		cp->aprev->anext = cp->anext;
	else
		c->assumed = cp->anext;
	if (cp->anext)
		cp->anext->aprev = cp->aprev;
	cp->anext = cp->aprev = NULL;
	cp->assumed = false;
	c->nassumed--;
}

static void pod_remove(struct sched_cache *c, struct cache_pod *cp)
{
	struct sched_node *n = cp->node;

	if (cp->indexed)
		sched_index_pod(c->ix, cp, -1);
	node_del_pod(n, cp);
	hmap_sdel(c->pods, cp->p->uid);
	sched_index_detach(c->ix, cp);
	assumed_unlink(c, cp);
	sched_pod_unref(cp->p);
	free(cp);
	if (!n->live && n->npods == 0)
		drop_node(c, n);
}

static bool requests_down(const struct sched_pod *o, const struct sched_pod *p)
{
	if (p->req.cpu < o->req.cpu || p->req.mem < o->req.mem || p->req.eph < o->req.eph)
		return true;
	for (uint32_t i = 0; i < o->req.nscalar; i++) {
		int64_t now = 0;

		for (uint32_t k = 0; k < p->req.nscalar; k++)
			if (p->req.scalar[k].name == o->req.scalar[i].name)
				now = p->req.scalar[k].v;
		if (now < o->req.scalar[i].v)
			return true;
	}
	return false;
}

int sched_cache_pod_upsert(struct sched_cache *c, struct sched_pod *p, unsigned *ev)
{
	struct cache_pod *cp = hmap_sget(c->pods, p->uid);
	struct sched_node *n;

	*ev = 0;
	if (cp && !cp->assumed && cp->p->fingerprint == p->fingerprint &&
	    cp->p->terminating == p->terminating && cp->p->node_id == p->node_id) {
		/* nothing scheduling reads changed (a status update): keep the newer copy only */
		sched_pod_unref(cp->p);
		cp->p = sched_pod_ref(p);
		return 0;
	}
	if (cp) {
		const struct sched_pod *o = cp->p;

		if (cp->assumed) {
			/* confirmed: the informer's version replaces the assumed one */
			*ev = SCHED_EV_POD_ADD;
		} else {
			if (!sched_labels_equal(&o->labels, &p->labels))
				*ev |= SCHED_EV_POD_ADD;
			if (requests_down(o, p))
				*ev |= SCHED_EV_POD_SCALEDOWN;
		}
		pod_remove(c, cp);
	} else {
		*ev = SCHED_EV_POD_ADD;
	}
	n = node_for(c, p->node_name);
	if (!n)
		return -ENOMEM;
	return pod_add(c, p, n, NULL);
}

int sched_cache_pod_delete(struct sched_cache *c, const char *uid, unsigned *ev)
{
	struct cache_pod *cp = hmap_sget(c->pods, uid);

	*ev = 0;
	if (!cp)
		return 0;
	pod_remove(c, cp);
	*ev = SCHED_EV_POD_DELETE;
	return 0;
}

int sched_cache_assume(struct sched_cache *c, struct sched_pod *p, struct sched_node *n)
{
	struct cache_pod *cp;
	int rc;

	if (hmap_sget(c->pods, p->uid))
		return -EEXIST;
	rc = pod_add(c, p, n, &cp);
	if (rc < 0)
		return rc;
	cp->assumed = true;
	cp->anext = c->assumed;
	if (c->assumed)
		c->assumed->aprev = cp;
	c->assumed = cp;
	c->nassumed++;
	return 0;
}

int sched_cache_finish_binding(struct sched_cache *c, const char *uid, uint64_t now)
{
	struct cache_pod *cp = hmap_sget(c->pods, uid);

	if (!cp || !cp->assumed)
		return -ENOENT;
	cp->binding_finished = true;
	cp->deadline = now + c->s->o.assumed_ttl_ns;
	return 0;
}

int sched_cache_forget(struct sched_cache *c, const char *uid)
{
	struct cache_pod *cp = hmap_sget(c->pods, uid);

	if (!cp || !cp->assumed)
		return -ENOENT;
	pod_remove(c, cp);
	return 0;
}

bool sched_cache_is_assumed(struct sched_cache *c, const char *uid)
{
	struct cache_pod *cp = hmap_sget(c->pods, uid);

	return cp && cp->assumed;
}

void sched_cache_expire(struct sched_cache *c, uint64_t now)
{
	if (!c->s->o.assumed_ttl_ns)
		return;
	for (struct cache_pod *cp = c->assumed, *next; cp; cp = next) {
		next = cp->anext;
		if (cp->binding_finished && cp->deadline <= now)
			pod_remove(c, cp);
	}
}
