/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry: the API's operations over the store, with no transport in them: get, list,
 * watch, create, update, patch, apply, delete, deletecollection and the subresources that
 * write (status, finalize, scale, binding, eviction). Each runs the whole of what
 * kube-apiserver's generic registry does for a write — identity checks, system metadata
 * (uid, creationTimestamp, generation, managedFields), the resource's strategy (defaults,
 * admission, validation, allocation, deletion rules: strategy/api_strategy.h, reached
 * through the generated resource table), optimistic concurrency, finalizers and graceful
 * deletion, dryRun — and reports the outcome as an api_result (api_result.h).
 *
 * Callers: the HTTP verbs (http/verbs.c) decode a request into these calls and encode the
 * result; the in-process client (kclient_local.c) calls them directly. The registry never
 * calls back up: the controllers that used to run inline (namespace lifecycle, default
 * ServiceAccounts, garbage collection) are clients of it (control/controllers/).
 *
 * Objects handed in are trees decoded in the caller's doc (struct reg_req.d); results are
 * built in the same doc. A version served by conversion (autoscaling/v1 HPA) is named by
 * req->res: the registry converts in and out.
 *
 * Threads: every call may run on any thread; a registry is shared by all of them.
 */
#ifndef DROVER_REGISTRY_H
#define DROVER_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "api_patch.h"
#include "api_resources.h"
#include "api_result.h"
#include "k8s.h"
#include "k8s_jv.h"
#include "store.h"

struct api_alloc;
struct api_selector;

/* Attempts of a read-modify-write before it answers 409 Conflict (a concurrent writer won
 * every time). */
#define REG_WRITE_RETRIES 16

struct registry_config {
	const char *service_cidr;	     /* ClusterIP range (default 10.96.0.0/16) */
	uint16_t nodeport_min, nodeport_max; /* default 30000-32767 */
	size_t max_body;		     /* largest YAML body the decoder takes (3 MiB) */
	/* DefaultTolerationSeconds admission: the tolerationSeconds of the not-ready and
	 * unreachable NoExecute tolerations added to pods that have none (0: 30 s — Kubernetes
	 * uses 300 — so a lost node's pods move within a minute; -1: add none) */
	int64_t default_toleration_s;
};

struct registry {
	struct registry_config cfg;
	char *service_cidr;
	struct store *store;
	struct api_alloc *alloc; /* strategy/api_alloc.h */
};

/* A registry over an open store (borrowed: it outlives the registry). 0 or -errno. */
int registry_new(struct store *store, const struct registry_config *cfg, struct registry **out);
void registry_free(struct registry *reg);
/* What a new cluster holds: the default namespaces and the kubernetes Service (each created
 * unless it exists), the Service's targetPort the port the server serves on (0: 6443; a
 * Service from an earlier start on another port is corrected, as kube-apiserver's
 * kubernetesservice controller reconciles it). 0 or -EIO (logged). */
int reg_bootstrap(struct registry *reg, uint16_t port);

/* What one call names and asks. */
struct reg_req {
	const struct api_resource *res; /* as requested (a version served by conversion too) */
	const char *ns;			/* NULL: cluster scope, or every namespace (lists) */
	const char *name;		/* NULL for collections and creates */
	const char *sub;	      /* "status", "finalize", "scale", ...; NULL for the object */
	const char *manager;	      /* field manager ("" or NULL: "unknown") */
	bool dry_run;		      /* dryRun=All */
	enum k8s_field_validation fv; /* of decodes the call makes (patches) */
	bool force;		      /* server-side apply: take conflicting fields */
	struct jv_doc *d;	      /* where objects handed in live and results are built */
};

/* The stored object: out->kv holds it as stored; out->obj is set as well when the request
 * names a version served by conversion or tree is true. */
int reg_get(struct registry *reg, const struct reg_req *rq, bool tree, struct api_result *out);

/* Create obj (decoded, of req->res's kind); operation "Update" or "Apply" for managedFields. */
int reg_create(struct registry *reg, const struct reg_req *rq, struct jv *obj,
	       struct api_result *out);
/* Replace (rq->sub NULL, "status" or "finalize") with obj; a resourceVersion in obj is a
 * precondition. A resource with API_RES_CREATE_ON_UPDATE creates an absent object. */
int reg_update(struct registry *reg, const struct reg_req *rq, struct jv *obj,
	       struct api_result *out);
/* JSON, merge and strategic merge patches of the object (or its status/finalize part). */
int reg_patch(struct registry *reg, const struct reg_req *rq, enum api_patch_type t,
	      const char *patch, size_t len, struct api_result *out);
/* Server-side apply of cfg (decoded, apiVersion and kind checked) by rq->manager. */
int reg_apply(struct registry *reg, const struct reg_req *rq, struct jv *cfg,
	      struct api_result *out);

struct reg_delete_opts {
	int64_t grace;		 /* gracePeriodSeconds; -1 = unset */
	const char *propagation; /* "Orphan", "Background", "Foreground" or NULL */
	const char *uid, *rv;	 /* preconditions, or NULL */
};
#define REG_DELETE_OPTS_INIT \
	{                    \
		.grace = -1  \
	}

int reg_delete(struct registry *reg, const struct reg_req *rq, const struct reg_delete_opts *o,
	       struct api_result *out);
/* Delete every object of the collection that sel matches (NULL: all). */
int reg_deletecollection(struct registry *reg, const struct reg_req *rq,
			 const struct api_selector *sel, const struct reg_delete_opts *o,
			 struct api_result *out);

/* The scale subresource: get (scale NULL and t ignored), update (scale: a Scale tree) or
 * patch (patch text of type t). The answer is the Scale. */
enum reg_scale_op { REG_SCALE_GET, REG_SCALE_UPDATE, REG_SCALE_PATCH };
int reg_scale(struct registry *reg, const struct reg_req *rq, enum reg_scale_op op,
	      struct jv *scale, enum api_patch_type t, const char *patch, size_t len,
	      struct api_result *out);
/* pods/binding (and POST bindings): binding is a decoded v1 Binding. */
int reg_bind(struct registry *reg, const struct reg_req *rq, struct jv *binding,
	     struct api_result *out);
/* pods/eviction: eviction is a decoded policy/v1 Eviction. */
int reg_evict(struct registry *reg, const struct reg_req *rq, struct jv *eviction,
	      struct api_result *out);

/* ---- lists ---- */

struct reg_list_opts {
	const struct api_selector *sel; /* borrowed; NULL: everything */
	size_t limit;
	const char *cont;  /* continue token */
	const char *rv;	   /* resourceVersion argument */
	const char *match; /* resourceVersionMatch */
};

struct reg_list {
	const struct api_resource *res;	 /* the stored resource */
	const struct api_resource *wire; /* the requested version when served by conversion */
	const struct api_selector *sel;
	struct store_list l; /* l.rev, l.next: the page's revision and continue token */
	size_t pin_len;	     /* a pinned name's key length, or 0 */
	size_t next;
};

/* A page of the collection. 0, or an error with out set (400 bad arguments, 410 expired
 * continue token or resourceVersion, 504 too new). */
int reg_list(struct registry *reg, const struct reg_req *rq, const struct reg_list_opts *o,
	     struct reg_list *l, struct api_result *out);
/* The next item of the page that the selector matches: 1 with *kv (borrowed from the list)
 * and, when tree is true or the list needs one (a selector, a conversion), *obj parsed into d
 * (converted to the requested version); 0 at the end. */
int reg_list_next(struct reg_list *l, struct jv_doc *d, bool tree, const struct store_kv **kv,
		  struct jv **obj);
size_t reg_list_remaining(const struct reg_list *l);
void reg_list_free(struct reg_list *l);

/* ---- watches ---- */

struct reg_watch;

struct reg_watch_opts {
	struct api_selector *sel; /* taken over by the watch; NULL: everything */
	const char *rv;		  /* "", "0" or absent: the current state first; "N": after N */
	bool tree;		  /* every event needs the object tree (Tables) */
	/* join this set instead of owning an fd (store.h) */
	struct store_watch_set *set;
};

enum reg_event_type { REG_ADDED = 1, REG_MODIFIED, REG_DELETED };

struct reg_event {
	enum reg_event_type type;
	/* the object as stored (borrowed until the next reg_watch_next); for DELETED its last
	 * state, with kv->mod_rev the revision of the deletion */
	struct store_kv kv;
	/* the tree, parsed into the caller's doc, when the watch needs trees (selector,
	 * conversion, opts.tree); converted to the requested version */
	struct jv *obj;
	struct store_event *_held; /* what kv borrows (reg_event_put releases it) */
};

/* Open a watch. 0; -STORE_ECOMPACTED with out set to 410 Expired (the resourceVersion is
 * older than the kept history); another error with out set. */
int reg_watch_open(struct registry *reg, const struct reg_req *rq, struct reg_watch_opts *o,
		   struct reg_watch **w, struct api_result *out);
/* The next event: 1 (*ev filled; release with reg_event_put), 0 (none pending now), or the
 * end: -STORE_ESLOW (fell behind), -STORE_ECLOSED. d: a doc for the event's tree. */
int reg_watch_next(struct reg_watch *w, struct jv_doc *d, struct reg_event *ev);
void reg_event_put(struct reg_event *ev);
/* Initial events remain to be delivered (they are not signalled by the store watch). */
bool reg_watch_has_initial(const struct reg_watch *w);
/* The latest revision delivered (bookmarks carry it). */
uint64_t reg_watch_rev(const struct reg_watch *w);
/* The store watch under it (for a watch set), and its fd when it has its own. */
struct store_watch *reg_watch_store(const struct reg_watch *w);
void reg_watch_close(struct reg_watch *w);

#endif
