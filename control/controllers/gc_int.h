/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc_int: what the garbage collector's two files share (pkg/controller/garbagecollector):
 * gc_graph.c keeps the dependency graph (graph.go, graph_builder.go) — a node per object uid
 * with its owners as its ownerReferences say and its dependents, "virtual" nodes for owners
 * not seen yet — fed by every watched kind's informer, and decides what to look at (the
 * attemptToDelete and attemptToOrphan queues, keyed by uid); gc.c looks at it through the API
 * (garbagecollector.go, operations.go): deletes dependents whose owners are all gone, deletes
 * dependents of owners deleted in the foreground and then releases the owner, orphans
 * dependents of owners deleted with the orphan finalizer.
 *
 * Locking: one mutex (struct gc.lock) guards the graph and the absent-owner cache; informer
 * threads update the graph under it, workers copy what they need under it (gc_snap) and call
 * the API without it.
 */
#ifndef DROVER_GC_INT_H
#define DROVER_GC_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "ctrl.h"
#include "hmap.h"

/* Who an object is: an ownerReference's coordinates and the namespace ("" cluster-wide). */
struct gc_ident {
	char *api_version, *kind, *ns, *name, *uid;
};

/* One ownerReference. */
struct gc_ref {
	char *api_version, *kind, *name, *uid;
	bool block; /* blockOwnerDeletion */
};

struct gc_node {
	struct gc_ident id;
	struct gc_ref *owners;
	size_t nowners;
	struct gc_node **deps;
	size_t ndeps, cap;
	bool is_virtual;    /* made for an owner nothing has shown yet */
	bool observed;	    /* an informer showed it */
	bool being_deleted; /* it has a deletionTimestamp */
	bool deleting_deps; /* ... and the foregroundDeletion finalizer */
};

/* A watched kind: its informer's handlers feed the graph. */
struct gc_monitor {
	struct gc *g;
	const struct k8s_kind *kind;
};

struct gc {
	struct ctrl_ctx *c;
	pthread_mutex_t lock;
	struct hmap *nodes;  /* uid -> struct gc_node */
	struct hmap *absent; /* coordinates of owners the API said are gone */
	struct kc_queue *del_q, *orphan_q;
	struct kc_workers *del_w, *orphan_w;
	const struct k8s_kind **served; /* every kind served (for ownerReferences' kinds) */
	size_t nserved;
	struct gc_monitor *mon; /* the kinds watched */
	size_t nmon;
};

/* A worker's copy of a node and its dependents. */
struct gc_dep {
	struct gc_ident id;
	bool deleting_deps;
	bool blocking; /* its reference to the node has blockOwnerDeletion */
};

struct gc_snap {
	struct gc_ident id;
	bool observed, being_deleted, deleting_deps;
	struct gc_dep *deps;
	size_t ndeps;
};

/* ---- gc_graph.c ---- */

enum gc_event { GC_ADD = 1, GC_UPDATE, GC_DELETE };

int gc_graph_init(struct gc *g);
void gc_graph_free(struct gc *g);
/* An informer's event of an object of kind k (old: its previous state, may be NULL). */
void gc_observe(struct gc *g, const struct k8s_kind *k, enum gc_event ev, const struct jv *old,
		const struct jv *obj);
/* The API says the object of this identity does not exist (enqueueVirtualDeleteEvent). */
void gc_virtual_delete(struct gc *g, const struct gc_ident *id);
/* A copy of the node of uid: 0, or -ENOENT (not in the graph) / -ENOMEM. */
int gc_snapshot(struct gc *g, const char *uid, struct gc_snap *out);
void gc_snap_free(struct gc_snap *s);
/* The absent-owner cache (absent_owner_cache.go): coordinates with namespace. */
bool gc_absent_has(struct gc *g, const struct gc_ref *r, const char *ns);
void gc_absent_add(struct gc *g, const struct gc_ref *r, const char *ns);
/* The ownerReferences of obj (malloc'd; free with gc_refs_free). */
int gc_refs_of(const struct jv *obj, struct gc_ref **out, size_t *n);
/* Does metadata.finalizers hold f? */
bool gc_has_finalizer(const struct jv *obj, const char *f);
void gc_refs_free(struct gc_ref *r, size_t n);
void gc_ident_free(struct gc_ident *id);
int gc_ident_copy(struct gc_ident *dst, const struct gc_ident *src);

#endif
