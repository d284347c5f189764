/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc: kube-controller-manager's garbage collector (pkg/controller/garbagecollector), the
 * workers over the dependency graph of gc_graph.c.
 *
 * What it watches: every kind the server serves (discovery.c: the schema's listable
 * resource kinds that the server answers a list of, the preferred version of each), except
 * Events (kube's default ignored resources: core and events.k8s.io events). In drover that
 * is pods, services, endpoints, endpointslices, configmaps, secrets, serviceaccounts,
 * deployments, replicasets, statefulsets, daemonsets, controllerrevisions, jobs, cronjobs,
 * horizontalpodautoscalers, leases, ingresses, networkpolicies, poddisruptionbudgets,
 * (cluster)roles, (cluster)rolebindings, resourcequotas, persistentvolumeclaims, namespaces
 * and nodes: any of them may carry ownerReferences or be an owner.
 *
 * attemptToDelete (a uid): an object whose owners are all gone is deleted (with the policy
 * its own orphan/foregroundDeletion finalizer asks, else Background); one whose owners are
 * partly gone loses the references to those; one whose owner waits for its dependents
 * (foreground) is deleted (in the foreground itself when it has dependents); an owner
 * waiting for its dependents loses its foregroundDeletion finalizer once no dependent
 * blocks it (blockOwnerDeletion). Owners are looked up through the API (a GET): a 404 or
 * another uid means gone (a dangling reference), remembered in the absent-owner cache.
 * attemptToOrphan: the owner's uid leaves its dependents' ownerReferences, then the owner
 * loses its orphan finalizer. Writes carry the resourceVersion they were computed from; a
 * conflict is retried through the queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_int.h"
#include "log.h"

#define COMP	"garbage-collector-controller"
#define RETRIES 5 /* a write's conflicts retried in place (retry.RetryOnConflict) */

/* What an error of the API path means for the item. */
#define E_MAPPING    (-ESRCH) /* an ownerReference to a kind the server does not serve */
#define E_CLUSTER_NS (-EXDEV) /* a cluster-scoped object with a namespaced owner */

/* ---- the API side ---- */

static const struct k8s_kind *kind_of(struct gc *g, const char *api_version, const char *kind)
{
	return ctrl_kind_served((const struct k8s_kind *const *)g->served, g->nserved, api_version,
				kind);
}

/* The object now: 0 with *out (parsed into d), -ENOENT, E_MAPPING, or the API's error. */
static int get_object(struct gc *g, const char *api_version, const char *kind, const char *ns,
		      const char *name, struct jv_doc *d, struct jv **out)
{
	const struct k8s_kind *k = kind_of(g, api_version, kind);
	struct kc_obj *o = NULL;
	struct kc_status st;
	int err;

	*out = NULL;
	if (!k)
		return E_MAPPING;
	if (!k->cluster_scoped && (!ns || !ns[0]))
		return E_CLUSTER_NS;
	err = kc_get(g->c->kc, k, k->cluster_scoped ? NULL : ns, name, &o, &st);
	if (err)
		return err;
	*out = kc_obj_parse(o, d);
	kc_obj_put(o);
	return *out ? 0 : -ENOMEM;
}

static int get_ident(struct gc *g, const struct gc_ident *id, struct jv_doc *d, struct jv **out)
{
	return get_object(g, id->api_version, id->kind, id->ns, id->name, d, out);
}

/* A JSON merge patch of obj's metadata: key set to val (NULL: null), with obj's
 * resourceVersion as the precondition. */
static int patch_meta(struct gc *g, const struct gc_ident *id, const struct jv *obj,
		      const char *key, const struct jv *val)
{
	const struct k8s_kind *k = kind_of(g, id->api_version, id->kind);
	struct jv_doc *d = jv_doc_new();
	struct jv *p = d ? jv_new(d, JV_OBJECT) : NULL, *md;
	struct kc_status st;
	char *json;
	size_t len;
	int err;

	if (!k || !p) {
		jv_doc_free(d);
		return k ? -ENOMEM : E_MAPPING;
	}
	md = jv_obj_at(d, p, "metadata");
	jv_set(d, md, key, val ? jv_copy(d, val) : jv_new(d, JV_NULL));
	jv_set(d, md, "resourceVersion",
	       jv_new_strz(d, jv_path_str(obj, "metadata.resourceVersion") ?: ""));
	json = jv_to_json(p, &len);
	jv_doc_free(d);
	if (!json)
		return -ENOMEM;
	err = kc_patch(g->c->kc, k, k->cluster_scoped ? NULL : id->ns, id->name, NULL,
		       KC_PATCH_MERGE, json, len, NULL, NULL, &st);
	free(json);
	return err;
}

/* obj's ownerReferences without those whose uid is listed (NULL when none is left). */
static struct jv *refs_without(struct jv_doc *d, const struct jv *obj, const char *const *uids,
			       size_t n)
{
	struct jv *out = jv_new(d, JV_ARRAY);

	for (const struct jv *r = jv_first(jv_path(obj, "metadata.ownerReferences")); r;
	     r = r->next) {
		bool skip = false;

		for (size_t i = 0; i < n && !skip; i++)
			skip = jv_is_str(jv_get(r, "uid"), uids[i]);
		if (!skip)
			jv_push(out, jv_copy(d, r));
	}
	return jv_count(out) ? out : NULL;
}

/* Remove the references to uids from the object (deleteOwnerRefJSONMergePatch). */
static int drop_refs(struct gc *g, const struct gc_ident *id, const struct jv *latest,
		     const char *const *uids, size_t n)
{
	struct jv_doc *d = jv_doc_new();
	int err = d ? patch_meta(g, id, latest, "ownerReferences", refs_without(d, latest, uids, n))
		    : -ENOMEM;

	jv_doc_free(d);
	return err;
}

/* Make every reference of the object non-blocking (unblockOwnerReferences). */
static int unblock_refs(struct gc *g, const struct gc_ident *id, const struct jv *latest)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *refs = d ? jv_copy(d, jv_path(latest, "metadata.ownerReferences")) : NULL;
	int err;

	if (!refs) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	for (struct jv *r = jv_first(refs); r; r = r->next) {
		const struct jv *b = jv_get(r, "blockOwnerDeletion");

		if (b && b->type == JV_TRUE)
			jv_set(d, r, "blockOwnerDeletion", jv_new_bool(d, false));
	}
	err = patch_meta(g, id, latest, "ownerReferences", refs);
	jv_doc_free(d);
	return err;
}

/* deleteObject: uid and resourceVersion preconditions; a resourceVersion conflict with the
 * same ownerReferences is retried without it. */
static int delete_object(struct gc *g, const struct gc_ident *id, const struct jv *latest,
			 const char *policy)
{
	const struct k8s_kind *k = kind_of(g, id->api_version, id->kind);
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	struct jv_doc *d;
	struct jv *live;
	int err;

	if (!k)
		return E_MAPPING;
	o.propagation = policy;
	o.precondition_uid = id->uid;
	o.precondition_rv = jv_path_str(latest, "metadata.resourceVersion");
	log_debug(COMP, "deleting %s %s/%s (%s)", id->kind, id->ns, id->name, policy);
	err = kc_delete(g->c->kc, k, k->cluster_scoped ? NULL : id->ns, id->name, &o, NULL, &st);
	if (err != -KC_ECONFLICT || !o.precondition_rv)
		return err;
	d = jv_doc_new();
	if (!d)
		return -ENOMEM;
	err = get_ident(g, id, d, &live);
	if (!err && !jv_is_str(jv_path(live, "metadata.uid"), id->uid))
		err = -ENOENT;
	if (!err && jv_equal(jv_path(live, "metadata.ownerReferences"),
			     jv_path(latest, "metadata.ownerReferences"))) {
		o.precondition_rv = NULL;
		err = kc_delete(g->c->kc, k, k->cluster_scoped ? NULL : id->ns, id->name, &o, NULL,
				&st);
	} else if (!err) {
		err = -KC_ECONFLICT; /* its owners changed: look again */
	}
	jv_doc_free(d);
	return err;
}

/* removeFinalizer: re-read, drop f, merge-patch with the resourceVersion; conflicts retried. */
static int remove_finalizer(struct gc *g, const struct gc_ident *id, const char *f)
{
	int err = -KC_ECONFLICT;

	for (int i = 0; i < RETRIES && err == -KC_ECONFLICT; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *obj, *keep;

		if (!d)
			return -ENOMEM;
		err = get_ident(g, id, d, &obj);
		if (!err && !jv_is_str(jv_path(obj, "metadata.uid"), id->uid))
			err = -ENOENT;
		if (!err && gc_has_finalizer(obj, f)) {
			keep = jv_new(d, JV_ARRAY);
			for (const struct jv *it = jv_first(jv_path(obj, "metadata.finalizers"));
			     it; it = it->next)
				if (!jv_is_str(it, f))
					jv_push(keep, jv_copy(d, it));
			log_debug(COMP, "removing %s from %s %s/%s", f, id->kind, id->ns, id->name);
			err = patch_meta(g, id, obj, "finalizers", jv_count(keep) ? keep : NULL);
		}
		jv_doc_free(d);
	}
	return err == -ENOENT ? 0 : err;
}

/* ---- attemptToDelete ---- */

struct classified {
	const char **dangling, **waiting; /* uids (borrowed from the refs) */
	size_t ndangling, nwaiting, nsolid;
};

/* isDangling: is the owner of r gone (by the absent cache, or the API)? */
static int is_dangling(struct gc *g, const struct gc_ref *r, const struct gc_ident *item,
		       struct jv_doc *d, bool *dangling, struct jv **owner)
{
	const struct k8s_kind *k;
	const char *ns;
	int err;

	*dangling = false;
	*owner = NULL;
	if (gc_absent_has(g, r, "") || gc_absent_has(g, r, item->ns)) {
		*dangling = true;
		return 0;
	}
	k = kind_of(g, r->api_version, r->kind);
	if (!k)
		return E_MAPPING;
	if (!item->ns[0] && !k->cluster_scoped)
		return E_CLUSTER_NS;
	ns = k->cluster_scoped ? "" : item->ns;
	err = get_object(g, r->api_version, r->kind, ns, r->name, d, owner);
	if (err == -ENOENT || (!err && !jv_is_str(jv_path(*owner, "metadata.uid"), r->uid))) {
		gc_absent_add(g, r, ns);
		*dangling = true;
		*owner = NULL;
		return 0;
	}
	return err;
}

static int classify(struct gc *g, const struct gc_ident *item, const struct gc_ref *refs, size_t n,
		    struct classified *c)
{
	struct jv_doc *d = jv_doc_new();
	int err = 0;

	c->dangling = calloc(n + 1, sizeof(*c->dangling));
	c->waiting = calloc(n + 1, sizeof(*c->waiting));
	if (!d || !c->dangling || !c->waiting) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct jv *owner;
		bool dangling;

		err = is_dangling(g, &refs[i], item, d, &dangling, &owner);
		if (err)
			break;
		if (dangling)
			c->dangling[c->ndangling++] = refs[i].uid;
		else if (jv_path(owner, "metadata.deletionTimestamp") &&
			 gc_has_finalizer(owner, "foregroundDeletion"))
			c->waiting[c->nwaiting++] = refs[i].uid;
		else
			c->nsolid++;
	}
	jv_doc_free(d);
	return err;
}

/* processDeletingDependentsItem: an owner deleted in the foreground. */
static int deleting_dependents(struct gc *g, const struct gc_snap *s)
{
	size_t blocking = 0;

	for (size_t i = 0; i < s->ndeps; i++) {
		if (!s->deps[i].blocking)
			continue;
		blocking++;
		if (!s->deps[i].deleting_deps)
			kc_queue_add(g->del_q, s->deps[i].id.uid);
	}
	return blocking ? 0 : remove_finalizer(g, &s->id, "foregroundDeletion");
}

/* attemptToDeleteItem for the node the graph holds (its latest state read from the API). */
static int attempt(struct gc *g, const struct gc_snap *s, const struct jv *latest)
{
	struct classified c = {0};
	struct gc_ref *refs = NULL;
	size_t n = 0;
	int err;

	if (s->deleting_deps)
		return deleting_dependents(g, s);
	err = gc_refs_of(latest, &refs, &n);
	if (err || n == 0)
		goto out; /* no owner: not garbage */
	err = classify(g, &s->id, refs, n, &c);
	if (err)
		goto out;
	if (c.nsolid) {
		/* an owner is there: only the references to the others go */
		const char **uids;

		if (!c.ndangling && !c.nwaiting)
			goto out;
		uids = calloc(c.ndangling + c.nwaiting + 1, sizeof(*uids));
		if (!uids) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(uids, c.dangling, c.ndangling * sizeof(*uids));
		memcpy(uids + c.ndangling, c.waiting, c.nwaiting * sizeof(*uids));
		err = drop_refs(g, &s->id, latest, uids, c.ndangling + c.nwaiting);
		free(uids);
	} else if (c.nwaiting && s->ndeps) {
		/* an owner waits for its dependents and this has its own: it goes in the
		 * foreground too (a dependent also waiting would make a cycle: unblock first) */
		for (size_t i = 0; i < s->ndeps; i++) {
			if (!s->deps[i].deleting_deps)
				continue;
			err = unblock_refs(g, &s->id, latest);
			break;
		}
		if (!err)
			err = delete_object(g, &s->id, latest, "Foreground");
	} else {
		/* garbage: deleted with the policy its own finalizers ask, else Background */
		const char *policy = gc_has_finalizer(latest, "orphan") ? "Orphan"
				     : gc_has_finalizer(latest, "foregroundDeletion")
					 ? "Foreground"
					 : "Background";

		err = delete_object(g, &s->id, latest, policy);
	}
	if (err == -ENOENT) {
		gc_virtual_delete(g, &s->id);
		err = 0;
	}
out:
	free(c.dangling);
	free(c.waiting);
	gc_refs_free(refs, n);
	return err;
}

static int attempt_to_delete(void *arg, const char *uid)
{
	struct gc *g = arg;
	struct gc_snap s;
	struct jv_doc *d;
	struct jv *latest;
	int err = gc_snapshot(g, uid, &s);

	if (err)
		return err == -ENOENT ? 0 : err; /* no longer in the graph */
	/* being deleted is a one-way trip: its dependents are looked at when it is gone */
	if (s.being_deleted && !s.deleting_deps) {
		gc_snap_free(&s);
		return 0;
	}
	d = jv_doc_new();
	err = d ? get_ident(g, &s.id, d, &latest) : -ENOMEM;
	if (err == -ENOENT || (!err && !jv_is_str(jv_path(latest, "metadata.uid"), uid))) {
		/* not there (a virtual node's owner that never was, or one gone) */
		gc_virtual_delete(g, &s.id);
		err = 0;
		goto out;
	}
	if (!err)
		err = attempt(g, &s, latest);
	if (err == E_CLUSTER_NS) {
		/* will not resolve by retrying */
		log_info(COMP, "%s %s: cluster-scoped, but refers to a namespaced owner", s.id.kind,
			 s.id.name);
		err = 0;
	} else if (err == E_MAPPING) {
		log_warn(COMP, "%s %s/%s: an owner of a kind the server does not serve", s.id.kind,
			 s.id.ns, s.id.name);
		err = -EIO;
	} else if (!err && !s.observed) {
		/* a virtual node: until an informer shows it or the API says it is gone */
		err = -EAGAIN;
	}
out:
	jv_doc_free(d);
	gc_snap_free(&s);
	return err;
}

/* ---- attemptToOrphan ---- */

/* The owner's uid leaves the dependent's ownerReferences. */
static int orphan_one(struct gc *g, const struct gc_ident *dep, const char *owner_uid)
{
	int err = -KC_ECONFLICT;

	for (int i = 0; i < RETRIES && err == -KC_ECONFLICT; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *obj;
		bool refers = false;

		if (!d)
			return -ENOMEM;
		err = get_ident(g, dep, d, &obj);
		if (!err && !jv_is_str(jv_path(obj, "metadata.uid"), dep->uid))
			err = -ENOENT;
		for (const struct jv *r = jv_first(jv_path(obj, "metadata.ownerReferences"));
		     !err && r; r = r->next)
			refers |= jv_is_str(jv_get(r, "uid"), owner_uid);
		if (!err && refers)
			err = drop_refs(g, dep, obj, &owner_uid, 1);
		jv_doc_free(d);
	}
	return err == -ENOENT ? 0 : err;
}

static int attempt_to_orphan(void *arg, const char *uid)
{
	struct gc *g = arg;
	struct gc_snap s;
	int err = gc_snapshot(g, uid, &s);

	if (err)
		return err == -ENOENT ? 0 : err;
	for (size_t i = 0; i < s.ndeps && !err; i++)
		err = orphan_one(g, &s.deps[i].id, uid);
	if (err)
		log_warn(COMP, "orphanDependents for %s %s/%s failed: %s", s.id.kind, s.id.ns,
			 s.id.name, kc_strerror(err));
	else
		err = remove_finalizer(g, &s.id, "orphan");
	gc_snap_free(&s);
	return err;
}

/* ---- informers ---- */

static void on_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct gc_monitor *m = arg;

	(void)o;
	gc_observe(m->g, m->kind, GC_ADD, NULL, t);
}

static void on_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	struct gc_monitor *m = arg;

	(void)old;
	(void)cur;
	gc_observe(m->g, m->kind, GC_UPDATE, old_t, cur_t);
}

static void on_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct gc_monitor *m = arg;

	(void)o;
	gc_observe(m->g, m->kind, GC_DELETE, NULL, t);
}

/* kube's default ignored resources: Events of both groups */
static bool ignored(const struct k8s_kind *k)
{
	return strcmp(k->resource, "events") == 0 &&
	       (strcmp(k->group, "") == 0 || strcmp(k->group, "events.k8s.io") == 0);
}

static int gc_init(struct ctrl_ctx *c, void **state)
{
	struct gc *g = calloc(1, sizeof(*g));
	int err;

	*state = g;
	if (!g)
		return -ENOMEM;
	g->c = c;
	err = gc_graph_init(g);
	if (err)
		return err;
	g->del_q = kc_queue_new("garbage_collector_attempt_to_delete");
	g->orphan_q = kc_queue_new("garbage_collector_attempt_to_orphan");
	if (!g->del_q || !g->orphan_q)
		return -ENOMEM;
	err = ctrl_served_kinds(c, &g->served, &g->nserved);
	if (err)
		return err;
	g->mon = calloc(g->nserved + 1, sizeof(*g->mon));
	if (!g->mon)
		return -ENOMEM;
	for (size_t i = 0; i < g->nserved; i++) {
		const struct k8s_kind *k = g->served[i];
		struct kc_handlers h = {.add = on_add, .update = on_update, .del = on_del};
		struct kc_informer *inf;

		if (ignored(k) ||
		    !ctrl_kind_preferred((const struct k8s_kind *const *)g->served, g->nserved, k))
			continue;
		inf = ctrl_informer(c, k);
		g->mon[g->nmon] = (struct gc_monitor){.g = g, .kind = k};
		h.arg = &g->mon[g->nmon];
		if (!inf || kc_informer_add_handlers(inf, &h) != 0)
			return -ENOMEM;
		g->nmon++;
	}
	return 0;
}

static int gc_run(void *state)
{
	struct gc *g = state;

	g->del_w =
	    kc_workers_start(g->del_q, g->c->cfg->workers, attempt_to_delete, g, "gc-delete");
	g->orphan_w =
	    kc_workers_start(g->orphan_q, g->c->cfg->workers, attempt_to_orphan, g, "gc-orphan");
	return g->del_w && g->orphan_w ? 0 : -ENOMEM;
}

static void gc_stop(void *state)
{
	struct gc *g = state;

	if (!g)
		return;
	/* the orphan workers queue nothing: the delete queue may go first */
	ctrl_queue_close(g->del_w, g->del_q);
	ctrl_queue_close(g->orphan_w, g->orphan_q);
	if (g->nodes || g->absent)
		gc_graph_free(g);
	free(g->served);
	free(g->mon);
	free(g);
}

const struct ctrl_desc ctrl_garbagecollector = {
    .name = "garbagecollector",
    .component = "garbage-collector-controller",
    .init = gc_init,
    .run = gc_run,
    .stop = gc_stop,
};
