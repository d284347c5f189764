/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_defaults: PodTopologySpread's system default constraints (defaultingType System, the
 * default profile's): a pod without topologySpreadConstraints is scored as if it had
 *   {maxSkew 3, kubernetes.io/hostname, ScheduleAnyway}, {maxSkew 5, topology.kubernetes.io/
 *   zone, ScheduleAnyway}
 * over the pods selected by helper.DefaultSelector: the union of the selectors of the
 * Services in its namespace that select it, plus its controller's selector (ReplicaSet or
 * StatefulSet: their requirements; ReplicationController: its map); no selector, no
 * constraints. Nodes without a key are not ignored for these (requireAllTopologies false).
 *
 * Kept here under the cache lock: services per namespace (ns id -> list) and controllers by
 * kind/namespace/name, each with its selector compiled once. A decision looks at the services
 * of the pod's namespace and one controller: O(services in the namespace + requirements).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

struct def_entry {
	struct sched_arena arena;
	uint32_t ns_id;
	struct sched_labels map; /* Service / ReplicationController: spec.selector map */
	struct sched_sel sel;	 /* ReplicaSet / StatefulSet: spec.selector */
	bool has_map;
	uint32_t pos; /* in its namespace's service list */
};

struct svc_list {
	struct def_entry **v;
	uint32_t n, cap;
};

struct sched_defaults {
	struct hmap *svc;	/* "ns\0name" -> def_entry */
	struct hmap *svc_by_ns; /* ns id -> svc_list */
	struct hmap *ctrl;	/* kind letter, "ns\0name" -> def_entry */
	uint32_t id_zone;
};

struct sched_defaults *sched_defaults_new(struct sched *s)
{
	struct sched_defaults *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->svc = hmap_new();
	d->svc_by_ns = hmap_new();
	d->ctrl = hmap_new();
	d->id_zone = sched_intern(s->strings, "topology.kubernetes.io/zone", 27);
	if (!d->svc || !d->svc_by_ns || !d->ctrl || d->id_zone == SCHED_NOID) {
		sched_defaults_free(d);
		return NULL;
	}
	return d;
}

static void entry_free(struct def_entry *e)
{
	if (e) {
		struct sched_arena a = e->arena;

		sched_arena_free(&a);
	}
}

void sched_defaults_free(struct sched_defaults *d)
{
	if (!d)
		return;
	struct hmap *maps[] = {d->svc, d->ctrl};

	for (int i = 0; i < 2; i++)
		for (struct hmap_entry *e = maps[i] ? hmap_first(maps[i]) : NULL; e;
		     e = hmap_next(maps[i], e))
			entry_free(hmap_entry_val(e));
	if (d->svc_by_ns)
		for (struct hmap_entry *e = hmap_first(d->svc_by_ns); e;
		     e = hmap_next(d->svc_by_ns, e)) {
			struct svc_list *l = hmap_entry_val(e);

			free(l->v);
			free(l);
		}
	hmap_free(d->svc);
	hmap_free(d->svc_by_ns);
	hmap_free(d->ctrl);
	free(d);
}

/* "<tag>ns\0name" */
static size_t obj_key(char tag, const char *ns, const char *name, char *buf, size_t size)
{
	size_t nl = strlen(ns), ml = strlen(name);

	if (nl + ml + 3 > size)
		return 0;
	buf[0] = tag;
	memcpy(buf + 1, ns, nl + 1);
	memcpy(buf + 2 + nl, name, ml);
	return nl + ml + 2;
}

/* The tag of a controller kind kube-scheduler's DefaultSelector knows, or 0. */
char sched_controller_tag(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return 0;
	if (strcmp(api_version, "v1") == 0 && strcmp(kind, "ReplicationController") == 0)
		return 'C';
	if (strcmp(api_version, "apps/v1") == 0 && strcmp(kind, "ReplicaSet") == 0)
		return 'R';
	if (strcmp(api_version, "apps/v1") == 0 && strcmp(kind, "StatefulSet") == 0)
		return 'S';
	return 0;
}

static void svc_unlist(struct sched_defaults *d, struct def_entry *e)
{
	struct svc_list *l = hmap_get(d->svc_by_ns, &e->ns_id, sizeof(e->ns_id));

	if (!l || e->pos >= l->n || l->v[e->pos] != e)
		return;
	l->v[e->pos] = l->v[--l->n];
	l->v[e->pos]->pos = e->pos;
}

static int svc_list(struct sched_defaults *d, struct def_entry *e)
{
	struct svc_list *l = hmap_get(d->svc_by_ns, &e->ns_id, sizeof(e->ns_id));

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || hmap_put(d->svc_by_ns, &e->ns_id, sizeof(e->ns_id), l, NULL) < 0) {
			free(l);
			return -ENOMEM;
		}
	}
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		struct def_entry **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	e->pos = l->n;
	l->v[l->n++] = e;
	return 0;
}

/* Store (or with del, drop) the selector of a Service or a controller. */
static int put(struct sched *s, const struct jv *obj, bool service, bool del)
{
	struct sched_defaults *d = s->cache.defaults;
	const char *ns = jv_path_str(obj, "metadata.namespace");
	const char *name = jv_path_str(obj, "metadata.name");
	const struct jv *sel = jv_path(obj, "spec.selector");
	char tag = service ? 'V'
			   : sched_controller_tag(jv_path_str(obj, "apiVersion"),
						  jv_path_str(obj, "kind"));
	struct def_entry *e = NULL, *old;
	char key[600], err[192];
	size_t klen;
	int rc = 0;

	if (!tag || !name || !*name || !(klen = obj_key(tag, ns ? ns : "", name, key, sizeof(key))))
		return -EINVAL;
	if (!del) {
		struct sched_arena a = {0};

		e = sched_arena_alloc(&a, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->arena = a;
		e->ns_id = sched_intern(s->strings, ns ? ns : "", ns ? strlen(ns) : 0);
		if (e->ns_id == SCHED_NOID)
			rc = -ENOMEM;
		else if (tag == 'V' || tag == 'C') {
			/* a map; a Service without one selects nothing (skipped when listed) */
			e->has_map = sel && sel->type == JV_OBJECT;
			rc = sched_labels_from(s, &e->arena, sel, &e->map);
		} else {
			rc = sched_sel_compile(s, &e->arena, sel, NULL, &e->sel, err, sizeof(err));
		}
		if (rc == -EINVAL) {
			e->sel.kind = SCHED_SEL_NOTHING; /* LabelSelectorAsSelector failed */
			rc = 0;
		}
		if (rc < 0) {
			entry_free(e);
			return rc;
		}
	}
	pthread_mutex_lock(&s->cache.mu);
	struct hmap *m = service ? d->svc : d->ctrl;

	old = hmap_get(m, key, klen);
	if (old) {
		if (service)
			svc_unlist(d, old);
		hmap_del(m, key, klen);
		entry_free(old);
	}
	if (e) {
		if (hmap_put(m, key, klen, e, NULL) < 0) {
			rc = -ENOMEM;
		} else if (service && (rc = svc_list(d, e)) < 0) {
			hmap_del(m, key, klen);
		}
		if (rc < 0)
			entry_free(e);
	}
	pthread_mutex_unlock(&s->cache.mu);
	return rc;
}

int sched_service_upsert(struct sched *s, const struct jv *svc)
{
	return put(s, svc, true, false);
}

int sched_service_delete(struct sched *s, const struct jv *svc)
{
	return put(s, svc, true, true);
}

int sched_controller_upsert(struct sched *s, const struct jv *obj)
{
	return put(s, obj, false, false);
}

int sched_controller_delete(struct sched *s, const struct jv *obj)
{
	return put(s, obj, false, true);
}

/* ---- DefaultSelector, per decision ---- */

static bool map_matches(const struct sched_labels *sel, const struct sched_labels *l)
{
	for (uint32_t i = 0; i < sel->n; i++)
		if (sched_labels_get(l, sel->v[i].key) != sel->v[i].val)
			return false;
	return true;
}

/* Add map to the set (a label set: one value per key, the first kept). */
static void merge(struct sched_label *set, uint32_t *n, const struct sched_labels *map)
{
	for (uint32_t i = 0; i < map->n; i++) {
		bool have = false;

		for (uint32_t k = 0; k < *n && !have; k++)
			have = set[k].key == map->v[i].key;
		if (!have)
			set[(*n)++] = map->v[i];
	}
}

int sched_defaults_spread(struct sched *s, struct sched_cycle *cy)
{
	struct sched_defaults *d = s->cache.defaults;
	const struct sched_pod *p = cy->p;
	const struct svc_list *l = hmap_get(d->svc_by_ns, &p->ns_id, sizeof(p->ns_id));
	const struct def_entry *owner = NULL;
	const struct sched_sel *extra = NULL;
	uint32_t cap = 0, n = 0;
	struct sched_label *set;

	cy->sys_spread = NULL;
	cy->nsys_spread = 0;
	if (p->x && p->x->nspread)
		return 0;
	if (p->owner_tag) {
		char key[600];
		size_t klen = obj_key(p->owner_tag, p->ns, p->owner_name, key, sizeof(key));

		owner = klen ? hmap_get(d->ctrl, key, klen) : NULL;
	}
	for (uint32_t i = 0; l && i < l->n; i++)
		cap += l->v[i]->map.n;
	if (owner && owner->has_map)
		cap += owner->map.n;
	if (owner && !owner->has_map && owner->sel.kind == SCHED_SEL_REQS)
		extra = &owner->sel;
	if (!cap && !extra)
		return 0;
	set = sched_cycle_alloc(cy, (cap ? cap : 1) * sizeof(*set));
	if (!set)
		return -ENOMEM;
	for (uint32_t i = 0; l && i < l->n; i++)
		if (l->v[i]->has_map && map_matches(&l->v[i]->map, &p->labels))
			merge(set, &n, &l->v[i]->map);
	if (owner && owner->has_map)
		merge(set, &n, &owner->map);
	uint32_t nreq = n + (extra ? extra->nreq : 0);

	if (!nreq)
		return 0; /* selector.Empty(): no default constraints */
	struct sched_spread *c = sched_cycle_alloc(cy, 2 * sizeof(*c));
	struct sched_req *reqs = sched_cycle_alloc(cy, nreq * sizeof(*reqs));
	uint32_t *ns = sched_cycle_alloc(cy, sizeof(*ns));

	if (!c || !reqs || !ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		reqs[i] = (struct sched_req){
		    .key = set[i].key, .op = SCHED_OP_IN, .nvals = 1, .vals = &set[i].val};
	}
	if (extra)
		memcpy(reqs + n, extra->reqs, extra->nreq * sizeof(*reqs));
	*ns = p->ns_id;
	c[0] = (struct sched_spread){
	    .m = {.nns = 1, .ns = ns, .sel = {.kind = SCHED_SEL_REQS, .nreq = nreq, .reqs = reqs}},
	    .topo = s->id_hostname,
	    .max_skew = 3,
	    .min_domains = 1,
	    .honor_affinity = true,
	};
	sched_sel_sort(&c[0].m.sel);
	c[0].self_match = sched_sel_match(s->strings, &c[0].m.sel, &p->labels);
	if (sched_match_key(&cy->arena, &c[0].m, SCHED_CLASS_SKIP_TERMINATING, &c[0].key,
			    &c[0].klen) < 0)
		return -ENOMEM;
	c[1] = c[0];
	c[1].topo = d->id_zone;
	c[1].max_skew = 5;
	cy->sys_spread = c;
	cy->nsys_spread = 2;
	return 0;
}
