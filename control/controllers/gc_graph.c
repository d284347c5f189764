/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc_graph: the garbage collector's dependency graph (graph.go, graph_builder.go's
 * processGraphChanges). Each watched object is a node keyed by uid, holding its
 * ownerReferences; each owner node lists its dependents. An owner referenced before any
 * informer showed it gets a "virtual" node, queued for attemptToDelete so that the API says
 * whether it exists. The transitions that matter are queued: an object whose deletion starts
 * with the orphan finalizer (attemptToOrphan), one whose deletion starts with the
 * foregroundDeletion finalizer (it and its dependents: attemptToDelete), an object deleted
 * (its dependents, which may now be dangling, and its owners waiting for their dependents),
 * a blocking reference removed or unblocked (the owner).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_int.h"
#include "log.h"

#define COMP	   "garbage-collector-controller"
/* the absent-owner cache is an LRU of this many in kube; here it is emptied when full */
#define ABSENT_MAX 500

static char *sdup(const char *s)
{
	return strdup(s ? s : "");
}

static bool seq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* ---- identities and references ---- */

void gc_ident_free(struct gc_ident *id)
{
	free(id->api_version);
	free(id->kind);
	free(id->ns);
	free(id->name);
	free(id->uid);
	memset(id, 0, sizeof(*id));
}

static int ident_set(struct gc_ident *id, const char *av, const char *kind, const char *ns,
		     const char *name, const char *uid)
{
	struct gc_ident n = {sdup(av), sdup(kind), sdup(ns), sdup(name), sdup(uid)};

	if (!n.api_version || !n.kind || !n.ns || !n.name || !n.uid) {
		gc_ident_free(&n);
		return -ENOMEM;
	}
	gc_ident_free(id);
	*id = n;
	return 0;
}

int gc_ident_copy(struct gc_ident *dst, const struct gc_ident *src)
{
	memset(dst, 0, sizeof(*dst));
	return ident_set(dst, src->api_version, src->kind, src->ns, src->name, src->uid);
}

static bool ident_eq(const struct gc_ident *a, const struct gc_ident *b)
{
	return seq(a->api_version, b->api_version) && seq(a->kind, b->kind) && seq(a->ns, b->ns) &&
	       seq(a->name, b->name) && seq(a->uid, b->uid);
}

void gc_refs_free(struct gc_ref *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].api_version);
		free(r[i].kind);
		free(r[i].name);
		free(r[i].uid);
	}
	free(r);
}

int gc_refs_of(const struct jv *obj, struct gc_ref **out, size_t *n)
{
	const struct jv *refs = jv_path(obj, "metadata.ownerReferences");
	size_t cnt = jv_count(refs), i = 0;
	struct gc_ref *r = calloc(cnt ? cnt : 1, sizeof(*r));

	*out = NULL;
	*n = 0;
	if (!r)
		return -ENOMEM;
	for (const struct jv *it = jv_first(refs); it && i < cnt; it = it->next) {
		const char *uid = jv_path_str(it, "uid");
		const struct jv *b = jv_get(it, "blockOwnerDeletion");

		if (!uid || !uid[0])
			continue;
		r[i].api_version = sdup(jv_path_str(it, "apiVersion"));
		r[i].kind = sdup(jv_path_str(it, "kind"));
		r[i].name = sdup(jv_path_str(it, "name"));
		r[i].uid = sdup(uid);
		r[i].block = b && b->type == JV_TRUE;
		if (!r[i].api_version || !r[i].kind || !r[i].name || !r[i].uid) {
			gc_refs_free(r, i + 1);
			return -ENOMEM;
		}
		i++;
	}
	*out = r;
	*n = i;
	return 0;
}

static bool ref_eq(const struct gc_ref *a, const struct gc_ref *b)
{
	return seq(a->api_version, b->api_version) && seq(a->kind, b->kind) &&
	       seq(a->name, b->name) && seq(a->uid, b->uid) && a->block == b->block;
}

/* ownerReferenceMatchesCoordinates */
static bool ref_matches(const struct gc_ref *r, const struct gc_ident *id)
{
	return seq(r->uid, id->uid) && seq(r->name, id->name) && seq(r->kind, id->kind) &&
	       seq(r->api_version, id->api_version);
}

static const struct gc_ref *ref_find(const struct gc_ref *refs, size_t n, const char *uid)
{
	for (size_t i = 0; i < n; i++)
		if (seq(refs[i].uid, uid))
			return &refs[i];
	return NULL;
}

/* objectReference.String() */
static const char *ref_string(const struct gc_ref *r, const char *ns, char *buf, size_t size)
{
	snprintf(buf, size, "[%s/%s, namespace: %s, name: %s, uid: %s]", r->api_version, r->kind,
		 ns, r->name, r->uid);
	return buf;
}

/* ---- the absent-owner cache ---- */

static void absent_key(const struct gc_ref *r, const char *ns, char *buf, size_t size)
{
	snprintf(buf, size, "%s\x1f%s\x1f%s\x1f%s\x1f%s", r->api_version, r->kind, ns ? ns : "",
		 r->name, r->uid);
}

static void absent_clear(struct gc *g)
{
	hmap_free(g->absent);
	g->absent = hmap_new();
}

bool gc_absent_has(struct gc *g, const struct gc_ref *r, const char *ns)
{
	char key[1024];
	bool has;

	absent_key(r, ns, key, sizeof(key));
	pthread_mutex_lock(&g->lock);
	has = g->absent && hmap_sget(g->absent, key);
	pthread_mutex_unlock(&g->lock);
	return has;
}

static void absent_add_locked(struct gc *g, const struct gc_ref *r, const char *ns)
{
	char key[1024];

	absent_key(r, ns, key, sizeof(key));
	if (!g->absent || hmap_sget(g->absent, key))
		return;
	if (hmap_size(g->absent) >= ABSENT_MAX)
		absent_clear(g);
	if (g->absent)
		hmap_sput(g->absent, key, (void *)1, NULL); /* ENOMEM: the API is asked again */
}

void gc_absent_add(struct gc *g, const struct gc_ref *r, const char *ns)
{
	pthread_mutex_lock(&g->lock);
	absent_add_locked(g, r, ns);
	pthread_mutex_unlock(&g->lock);
}

static void absent_add_ident(struct gc *g, const struct gc_ident *id)
{
	struct gc_ref r = {id->api_version, id->kind, id->name, id->uid, false};

	absent_add_locked(g, &r, id->ns);
}

/* ---- nodes ---- */

static struct gc_node *node_new(const struct gc_ident *id)
{
	struct gc_node *n = calloc(1, sizeof(*n));

	if (n && gc_ident_copy(&n->id, id) != 0) {
		free(n);
		n = NULL;
	}
	return n;
}

static void node_free(struct gc_node *n)
{
	gc_ident_free(&n->id);
	gc_refs_free(n->owners, n->nowners);
	free(n->deps);
	free(n);
}

static void add_dep(struct gc_node *owner, struct gc_node *dep)
{
	struct gc_node **d;

	for (size_t i = 0; i < owner->ndeps; i++)
		if (owner->deps[i] == dep)
			return;
	if (owner->ndeps == owner->cap) {
		size_t cap = owner->cap ? owner->cap * 2 : 4;

		d = realloc(owner->deps, cap * sizeof(*d));
		if (!d)
			return; /* ENOMEM: the dependent is found again by the next resync */
		owner->deps = d;
		owner->cap = cap;
	}
	owner->deps[owner->ndeps++] = dep;
}

static void del_dep(struct gc_node *owner, struct gc_node *dep)
{
	for (size_t i = 0; i < owner->ndeps; i++)
		if (owner->deps[i] == dep) {
			owner->deps[i] = owner->deps[--owner->ndeps];
			return;
		}
}

static void enqueue_delete(struct gc *g, const struct gc_node *n)
{
	kc_queue_add(g->del_q, n->id.uid);
}

/* The dependent's tree for an Event about it. */
static void invalid_ns_event(struct gc *g, const struct gc_node *n, const struct gc_ref *r)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o =
	    d ? ctrl_obj_ref(d, n->id.api_version, n->id.kind, n->id.ns, n->id.name, n->id.uid)
	      : NULL;
	char ref[1024];

	if (o)
		kc_event(g->c->rec, o, "Warning", "OwnerRefInvalidNamespace",
			 "ownerRef %s does not exist in namespace \"%s\"",
			 ref_string(r, n->id.ns, ref, sizeof(ref)), n->id.ns);
	jv_doc_free(d);
}

/* addDependentToOwners: n is a dependent of each of refs; owners not in the graph get a
 * virtual node (queued, so the API tells whether they exist); a reference that cannot be
 * right (a namespaced owner of another namespace, coordinates other than the owner's)
 * queues n. */
static void add_to_owners(struct gc *g, struct gc_node *n, const struct gc_ref *refs, size_t nr)
{
	bool invalid = false;

	for (size_t i = 0; i < nr; i++) {
		struct gc_node *owner = hmap_sget(g->nodes, refs[i].uid);
		bool created = false;

		if (!owner) {
			struct gc_ident vid = {refs[i].api_version, refs[i].kind, n->id.ns,
					       refs[i].name, refs[i].uid};

			owner = node_new(&vid);
			if (!owner || hmap_sput(g->nodes, refs[i].uid, owner, NULL) < 0) {
				if (owner)
					node_free(owner);
				continue;
			}
			owner->is_virtual = true;
			created = true;
		}
		add_dep(owner, n);
		if (created) {
			enqueue_delete(g, owner);
		} else if (!invalid) {
			bool namespaced = owner->id.ns[0] != 0;

			if (namespaced && !seq(owner->id.ns, n->id.ns)) {
				if (owner->observed)
					invalid_ns_event(g, n, &refs[i]);
				invalid = true;
			} else if (!ref_matches(&refs[i], &owner->id)) {
				invalid = true;
			} else if (!namespaced && !seq(owner->id.ns, n->id.ns) &&
				   !owner->observed) {
				invalid = true;
			}
		}
	}
	if (invalid)
		enqueue_delete(g, n);
}

static void remove_from_owners(struct gc *g, struct gc_node *n, const struct gc_ref *refs,
			       size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		struct gc_node *owner = hmap_sget(g->nodes, refs[i].uid);

		if (owner)
			del_dep(owner, n);
	}
}

bool gc_has_finalizer(const struct jv *obj, const char *f)
{
	for (const struct jv *i = jv_first(jv_path(obj, "metadata.finalizers")); i; i = i->next)
		if (jv_is_str(i, f))
			return true;
	return false;
}

static bool being_deleted(const struct jv *obj)
{
	return obj && jv_path(obj, "metadata.deletionTimestamp");
}

/* deletionStartsWithFinalizer */
static bool starts_with(const struct jv *old, const struct jv *cur, const char *f)
{
	if (!being_deleted(cur) || !gc_has_finalizer(cur, f))
		return false;
	return !old || !being_deleted(old) || !gc_has_finalizer(old, f);
}

static void transitions(struct gc *g, const struct jv *old, const struct jv *cur, struct gc_node *n)
{
	if (starts_with(old, cur, "orphan")) {
		kc_queue_add(g->orphan_q, n->id.uid);
		return;
	}
	if (starts_with(old, cur, "foregroundDeletion")) {
		n->deleting_deps = true;
		for (size_t i = 0; i < n->ndeps; i++)
			enqueue_delete(g, n->deps[i]);
		enqueue_delete(g, n);
	}
}

/* partitionDependents: does dep refer to id with its coordinates (match) or with others
 * (mismatch)? Both may hold. */
static void partition(const struct gc_node *dep, const struct gc_ident *id, bool *match,
		      bool *mismatch)
{
	*match = *mismatch = false;
	if (id->ns[0] && !seq(id->ns, dep->id.ns)) {
		*mismatch = true;
		return;
	}
	for (size_t i = 0; i < dep->nowners; i++) {
		if (!seq(dep->owners[i].uid, id->uid))
			continue;
		if (ref_matches(&dep->owners[i], id))
			*match = true;
		else
			*mismatch = true;
	}
}

/* The node is gone: out of the graph; its dependents may now be garbage; its owners waiting
 * for their dependents may be done. */
static void remove_node(struct gc *g, struct gc_node *n, const struct gc_ident *deleted)
{
	hmap_sdel(g->nodes, n->id.uid);
	remove_from_owners(g, n, n->owners, n->nowners);
	if (n->ndeps)
		absent_add_ident(g, deleted);
	for (size_t i = 0; i < n->ndeps; i++)
		enqueue_delete(g, n->deps[i]);
	for (size_t i = 0; i < n->nowners; i++) {
		struct gc_node *owner = hmap_sget(g->nodes, n->owners[i].uid);

		if (owner && owner->deleting_deps)
			enqueue_delete(g, owner);
	}
	node_free(n);
}

/* referenceLessThan: kind, apiVersion, namespace, name, uid. */
static int ident_cmp(const struct gc_ident *a, const struct gc_ident *b)
{
	int r;

	if ((r = strcmp(a->kind, b->kind)) || (r = strcmp(a->api_version, b->api_version)) ||
	    (r = strcmp(a->ns, b->ns)) || (r = strcmp(a->name, b->name)))
		return r;
	return strcmp(a->uid, b->uid);
}

/* getAlternateOwnerIdentity: the identity the dependents that disagree refer to the owner
 * by, the first following the one verified absent (else the first). 0 with *out set, or
 * -ENOENT. */
static int alternate(const struct gc_node *n, const struct gc_ident *absent, struct gc_ident *out)
{
	bool cluster = absent->ns[0] == 0, have_first = false, have_next = false;
	struct gc_ident first = {0}, next = {0};

	for (size_t i = 0; i < n->ndeps; i++) {
		const struct gc_node *dep = n->deps[i];

		for (size_t j = 0; j < dep->nowners; j++) {
			const struct gc_ref *r = &dep->owners[j];
			struct gc_ident cand = {r->api_version, r->kind, dep->id.ns, r->name,
						r->uid};

			if (!seq(r->uid, absent->uid))
				continue;
			if (ref_matches(r, absent) && (cluster || seq(absent->ns, dep->id.ns)))
				continue;
			if (cluster && seq(r->api_version, absent->api_version) &&
			    seq(r->kind, absent->kind))
				cand.ns = "";
			if (ident_eq(&cand, absent))
				continue;
			if (!have_first || ident_cmp(&cand, &first) < 0) {
				first = cand;
				have_first = true;
			}
			if (ident_cmp(absent, &cand) < 0 &&
			    (!have_next || ident_cmp(&cand, &next) < 0)) {
				next = cand;
				have_next = true;
			}
		}
	}
	if (!have_first)
		return -ENOENT;
	return gc_ident_copy(out, have_next ? &next : &first);
}

void gc_virtual_delete(struct gc *g, const struct gc_ident *id)
{
	struct gc_node *n;
	bool remove = true;

	pthread_mutex_lock(&g->lock);
	n = hmap_sget(g->nodes, id->uid);
	if (!n)
		goto out;
	if (n->is_virtual || !ident_eq(&n->id, id)) {
		bool any_match = false, any_mismatch = false, m, mm;

		for (size_t i = 0; i < n->ndeps; i++) {
			partition(n->deps[i], id, &m, &mm);
			any_match |= m;
			any_mismatch |= mm;
		}
		/* a real node is never removed on another identity's word; a virtual one stays
		 * while some dependents name it otherwise */
		if (!n->is_virtual || any_mismatch) {
			remove = false;
			if (any_match) {
				absent_add_ident(g, id);
				for (size_t i = 0; i < n->ndeps; i++) {
					partition(n->deps[i], id, &m, &mm);
					if (m)
						enqueue_delete(g, n->deps[i]);
				}
			}
			if (n->is_virtual && ident_eq(&n->id, id)) {
				struct gc_ident alt = {0};

				if (alternate(n, id, &alt) == 0) {
					gc_ident_free(&n->id);
					n->id = alt;
					kc_queue_add_rate_limited(g->del_q, n->id.uid);
				}
			}
		}
	}
	if (remove)
		remove_node(g, n, id);
out:
	pthread_mutex_unlock(&g->lock);
}

/* An informer's add or update (processGraphChanges' first two cases). */
static void observe_upsert(struct gc *g, const struct k8s_kind *k, const struct jv *old,
			   const struct jv *obj)
{
	const char *uid = jv_path_str(obj, "metadata.uid");
	struct gc_ident seen = {0};
	struct gc_ref *refs = NULL;
	struct gc_node *n;
	size_t nr = 0;

	if (!uid || !uid[0])
		return;
	if (ident_set(&seen, k->api_version, k->kind,
		      k->cluster_scoped ? "" : jv_path_str(obj, "metadata.namespace"),
		      jv_path_str(obj, "metadata.name"), uid) != 0 ||
	    gc_refs_of(obj, &refs, &nr) != 0) {
		gc_ident_free(&seen);
		log_warn(COMP, "out of memory: %s %s left out of the graph", k->kind, uid);
		return;
	}
	n = hmap_sget(g->nodes, uid);
	if (n && !n->observed) {
		/* a virtual node seen for real: dependents that named it otherwise are checked */
		if (!ident_eq(&n->id, &seen)) {
			for (size_t i = 0; i < n->ndeps; i++) {
				bool m, mm;

				partition(n->deps[i], &seen, &m, &mm);
				if (!mm)
					continue;
				if (seen.ns[0] && !seq(n->deps[i]->id.ns, seen.ns)) {
					const struct gc_ref *r =
					    ref_find(n->deps[i]->owners, n->deps[i]->nowners, uid);

					if (r)
						invalid_ns_event(g, n->deps[i], r);
				}
				enqueue_delete(g, n->deps[i]);
			}
			ident_set(&n->id, seen.api_version, seen.kind, seen.ns, seen.name,
				  seen.uid);
		}
		n->observed = true;
	}
	if (!n) {
		n = node_new(&seen);
		if (!n || hmap_sput(g->nodes, uid, n, NULL) < 0) {
			if (n)
				node_free(n);
			gc_refs_free(refs, nr);
			gc_ident_free(&seen);
			return;
		}
		n->owners = refs;
		n->nowners = nr;
		n->observed = true;
		n->being_deleted = being_deleted(obj);
		n->deleting_deps = n->being_deleted && gc_has_finalizer(obj, "foregroundDeletion");
		add_to_owners(g, n, refs, nr);
		transitions(g, old, obj, n);
		gc_ident_free(&seen);
		return;
	}
	/* the kind it is served as may have changed (another version) */
	if (!seq(n->id.api_version, seen.api_version) || !seq(n->id.kind, seen.kind))
		ident_set(&n->id, seen.api_version, seen.kind, n->id.ns, n->id.name, n->id.uid);
	/* referencesDiffs */
	{
		bool changed = nr != n->nowners;

		for (size_t i = 0; i < nr && !changed; i++) {
			const struct gc_ref *o = ref_find(n->owners, n->nowners, refs[i].uid);

			changed = !o || !ref_eq(o, &refs[i]);
		}
		if (changed) {
			struct gc_ref *old_refs = n->owners;
			size_t nold = n->nowners;

			/* owners a blocking reference let go of may be done waiting */
			for (size_t i = 0; i < nold; i++) {
				const struct gc_ref *now = ref_find(refs, nr, old_refs[i].uid);
				struct gc_node *owner;

				if (!old_refs[i].block || (now && now->block))
					continue;
				owner = hmap_sget(g->nodes, old_refs[i].uid);
				if (owner)
					enqueue_delete(g, owner);
			}
			n->owners = refs;
			n->nowners = nr;
			refs = NULL;
			for (size_t i = 0; i < n->nowners; i++)
				if (!ref_find(old_refs, nold, n->owners[i].uid))
					add_to_owners(g, n, &n->owners[i], 1);
			for (size_t i = 0; i < nold; i++)
				if (!ref_find(n->owners, n->nowners, old_refs[i].uid))
					remove_from_owners(g, n, &old_refs[i], 1);
			gc_refs_free(old_refs, nold);
		}
	}
	if (being_deleted(obj))
		n->being_deleted = true;
	transitions(g, old, obj, n);
	gc_refs_free(refs, refs ? nr : 0);
	gc_ident_free(&seen);
}

void gc_observe(struct gc *g, const struct k8s_kind *k, enum gc_event ev, const struct jv *old,
		const struct jv *obj)
{
	pthread_mutex_lock(&g->lock);
	if (ev == GC_DELETE) {
		const char *uid = jv_path_str(obj, "metadata.uid");
		struct gc_node *n = uid ? hmap_sget(g->nodes, uid) : NULL;
		struct gc_ident seen = {0};

		if (n && ident_set(&seen, k->api_version, k->kind,
				   k->cluster_scoped ? "" : jv_path_str(obj, "metadata.namespace"),
				   jv_path_str(obj, "metadata.name"), uid) == 0)
			remove_node(g, n, &seen);
		gc_ident_free(&seen);
	} else {
		observe_upsert(g, k, old, obj);
	}
	pthread_mutex_unlock(&g->lock);
}

int gc_snapshot(struct gc *g, const char *uid, struct gc_snap *out)
{
	struct gc_node *n;
	int err = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&g->lock);
	n = hmap_sget(g->nodes, uid);
	if (!n) {
		err = -ENOENT;
		goto out;
	}
	out->observed = n->observed;
	out->being_deleted = n->being_deleted;
	out->deleting_deps = n->deleting_deps;
	out->deps = calloc(n->ndeps ? n->ndeps : 1, sizeof(*out->deps));
	if (!out->deps || gc_ident_copy(&out->id, &n->id) != 0) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n->ndeps; i++) {
		const struct gc_node *d = n->deps[i];
		const struct gc_ref *r = ref_find(d->owners, d->nowners, uid);

		if (gc_ident_copy(&out->deps[i].id, &d->id) != 0) {
			err = -ENOMEM;
			goto out;
		}
		out->deps[i].deleting_deps = d->deleting_deps;
		out->deps[i].blocking = r && r->block;
		out->ndeps++;
	}
out:
	pthread_mutex_unlock(&g->lock);
	if (err && err != -ENOENT)
		gc_snap_free(out);
	return err;
}

void gc_snap_free(struct gc_snap *s)
{
	gc_ident_free(&s->id);
	for (size_t i = 0; i < s->ndeps; i++)
		gc_ident_free(&s->deps[i].id);
	free(s->deps);
	memset(s, 0, sizeof(*s));
}

int gc_graph_init(struct gc *g)
{
	pthread_mutex_init(&g->lock, NULL);
	g->nodes = hmap_new();
	g->absent = hmap_new();
	return g->nodes && g->absent ? 0 : -ENOMEM;
}

void gc_graph_free(struct gc *g)
{
	if (g->nodes) {
		for (struct hmap_entry *it = hmap_first(g->nodes); it; it = hmap_next(g->nodes, it))
			node_free(hmap_entry_val(it));
		hmap_free(g->nodes);
	}
	hmap_free(g->absent);
	pthread_mutex_destroy(&g->lock);
}
