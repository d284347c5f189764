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

#include <pthread.h>
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
	/* the ServiceAccount admission plugin on pod creates (strategy/saadmit.c) */
	bool sa_admission;
	/* the StorageObjectInUseProtection admission plugin (strategy/storage.c) */
	bool storage_protection;
	/* the PodSecurity admission plugin off (strategy/podsecurity.c; on by default, as in
	 * kube-apiserver) */
	bool no_pod_security;
	/* Events a watch may have queued and not taken; a watch further behind is ended (as
	 * the store ends a store watch). 0: 10,000. */
	size_t watch_queue_max;
};

struct reg_hubs;
struct reg_crds;
struct reg_cache;
struct reg_req;

/* The authorizer and the RBAC rule resolver of the server the registry serves, which the
 * RBAC kinds' escalation check asks (kube-apiserver hands its RBAC storage the same two:
 * pkg/registry/rbac/rest/storage_rbac.go). Set by the server before it serves; all NULL
 * for a server that authorizes no one (plain HTTP on loopback), which checks nothing. */
struct reg_authz {
	/* authorizer.Authorize: may rq's user do verb on group/resource name (NULL: none) in ns
	 * (NULL: cluster scope)? */
	bool (*allows)(void *arg, const struct reg_req *rq, const char *verb, const char *group,
		       const char *resource, const char *ns, const char *name);
	/* RulesFor(user, ns): the rules RBAC grants rq's user there (ns NULL: the cluster-wide
	 * ones only), appended to out (an array of d); the errors met resolving them counted
	 * and joined with ", " in errs (as the registry words them: `roles.rbac.authorization
	 * .k8s.io "x" not found`). Returns how many errors. */
	unsigned (*rules_for)(void *arg, const struct reg_req *rq, const char *ns, struct jv_doc *d,
			      struct jv *out, struct k8s_buf *errs);
	/* GetRoleReferenceRules: the rules of the Role ns/name, or of the ClusterRole name
	 * (cluster set; an aggregated one's: those of the roles it selects), appended to out;
	 * false when there is no such role. */
	bool (*role_rules)(void *arg, bool cluster, const char *ns, const char *name,
			   struct jv_doc *d, struct jv *out);
	void *arg;
};

/* A control-plane component that runs beside the server, as ComponentStatus reports it
 * (strategy/componentstatus.c). */
#define REG_MAX_COMPONENTS 4
struct reg_component {
	char name[32];
	bool healthy;
	char error[160]; /* why not healthy */
};

struct registry {
	struct registry_config cfg;
	char *service_cidr;
	struct store *store;
	struct api_alloc *alloc; /* strategy/api_alloc.h */
	struct reg_hubs *hubs;	 /* the watch hubs (reg_hub.c), made with the first watch */
	/* the store's index of pods by spec.nodeName (NULL: the backend has none), so that a
	 * kubelet's list of its pods reads those pods only */
	struct store_index *pods_by_node;
	/* the components that reported their health (registry_set_component) */
	pthread_mutex_t comp_lock;
	struct reg_component comps[REG_MAX_COMPONENTS];
	size_t ncomps;
	/* the custom resources its Established CRDs define (crd_table.c) */
	struct reg_crds *crds;
	/* the admission webhooks (reg_webhook.c): their configurations read once per change,
	 * which webhook_gen counts (the configurations' strategy bumps it on every write) */
	struct reg_webhooks *webhooks;
	uint64_t webhook_gen; /* __atomic */
	/* what admission and the authorizer read on every request (reg_cache.c) */
	struct reg_cache *cache;
	struct reg_authz authz;
};

/* A registry over an open store (borrowed: it outlives the registry). 0 or -errno. Close every
 * watch before registry_free. */
int registry_new(struct store *store, const struct registry_config *cfg, struct registry **out);
void registry_free(struct registry *reg);
/* The health of a component that runs beside the server ("scheduler",
 * "controller-manager"): what `kubectl get componentstatuses` shows for it. One never set is
 * reported Unhealthy, not run by this server. */
void registry_set_component(struct registry *reg, const char *name, bool healthy,
			    const char *error);
/* A copy of the components set so far; returns how many (at most max). */
size_t registry_components(struct registry *reg, struct reg_component *out, size_t max);
/* What a new cluster holds: the default namespaces and the kubernetes Service (each created
 * unless it exists), the Service's targetPort the port the server serves on (0: 6443; a
 * Service from an earlier start on another port is corrected, as kube-apiserver's
 * kubernetesservice controller reconciles it). 0 or -EIO (logged). */
int reg_bootstrap(struct registry *reg, uint16_t port);

/* ---- the admission cache (reg_cache.c) ----
 *
 * The stored objects of a resource that admission plugins and the authorizer read on every
 * request (PriorityClasses, LimitRanges, RBAC), parsed once per resource and namespace and
 * thrown away when the store watch on the resource's keys has an event: a write
 * acknowledged before a lookup is always in it (the store queues a write's event to its
 * watches before it answers the writer), so lookups answer as a list of the store would. */
struct reg_snap;
/* The objects of res in ns (NULL: every namespace, or cluster scope) as a snapshot to hold
 * while its items are read, or NULL (out of memory, the store failed). */
struct reg_snap *reg_cache_get(struct registry *reg, const struct api_resource *res,
			       const char *ns);
/* The snapshot's objects: a JSON array, read-only, valid until reg_snap_put. */
const struct jv *reg_snap_items(const struct reg_snap *s);
void reg_snap_put(struct reg_snap *s); /* NULL-tolerant */

/* ---- the served resources: the generated table and the custom ones (crd_table.c) ----
 *
 * A custom resource's api_resource stays valid as long as the registry (a request may keep
 * it while its CRD changes or goes); lookups see only the resources served now. */

/* The resource served as group/version/plural (built-in first), or NULL. */
const struct api_resource *reg_resource_find(struct registry *reg, const char *group,
					     const char *version, const char *resource);
/* Every served resource, the generated table's first: a malloc'd array (free it) in *out and
 * its length (0 with *out NULL when out of memory). */
size_t reg_resources(struct registry *reg, const struct api_resource ***out);
/* Some resource of group (and version, unless NULL) is served. */
bool reg_group_version_served(struct registry *reg, const char *group, const char *version);
/* crd as written (deleted: gone): its served versions are served while it is Established,
 * with its accepted names, and no more once it changes them or goes. 0 or -ENOMEM. */
int reg_crd_serve(struct registry *reg, const struct jv *crd, bool deleted);
/* The openAPIV3Schema of a custom resource's version (NULL: none, or not a custom resource):
 * as long-lived as the resource. */
const struct jv *reg_crd_schema(const struct api_resource *res);
/* Changes whenever a CRD is served anew (written or deleted); unique across registries. */
uint64_t reg_crds_generation(struct registry *reg);
/* A custom resource's scale subresource: the paths (no leading dot) of its spec and status
 * replicas and of its label selector string (each NULL when the CRD names none); false for
 * a built-in resource. */
bool reg_crd_scale_paths(const struct api_resource *res, const char **spec_replicas,
			 const char **status_replicas, const char **selector);
/* A decoded custom resource's fields its schema does not name (pruning would drop them),
 * reported as the decoder reports a built-in kind's unknown fields: with fv Strict -EINVAL
 * and out set to the 400, with Warn warnings in out; 0 otherwise. */
int reg_crd_check_fields(const struct api_resource *res, struct jv *obj,
			 enum k8s_field_validation fv, struct api_result *out);
/* Delete every stored object of crd's custom resources (the CRD went). 0 or the store's error. */
int reg_crd_purge(struct registry *reg, const struct jv *crd);

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
	/* who asks, as admission webhooks' userInfo sees it (user NULL: the server itself) */
	const char *user;
	const char (*groups)[128];
	unsigned ngroups;
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
	/* the kubelet's spec.nodeName=X as the stored JSON spells it ("nodeName":"X"): an
	 * item without it cannot match and is skipped unparsed */
	char raw_eq[300];
	size_t raw_eq_len;
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

/* ---- watches ----
 *
 * A watch of a collection (reg_watch.c) is served by its resource's watch hub (reg_hub.c),
 * as kube-apiserver's watch cache serves it: one store watch per resource, a ring of its
 * recent events, the watchers indexed by namespace (pods' also by the spec.nodeName a field
 * selector requires, as the kubelet's watch does), each event matched once per watcher from
 * one parse of its states, and its JSON line encoded once and shared by every watcher that
 * gets it. A watch from a resourceVersion older than the hub's ring reads its own store
 * watch instead (or fails 410 Expired when the store no longer has it either).
 *
 * Consumers wait on a watch set: one fd for any number of watches; the set hands out the
 * watches that have events (or ended) since they were last drained. */

struct reg_watch;
struct reg_watch_set;
struct reg_hev; /* one change, shared by the watchers that get it */

int reg_watch_set_new(struct reg_watch_set **out);
/* Close its watches first. NULL-tolerant. */
void reg_watch_set_free(struct reg_watch_set *set);
/* Readable while reg_watch_set_ready() would hand out watches. */
int reg_watch_set_fd(const struct reg_watch_set *set);
/* Up to max watches with work (events, or the end) since they were last drained: the caller
 * drains each one (reg_watch_next until it returns 0 or an error), or calls it again later
 * (a watch not drained is not handed out again). Does not wait. */
size_t reg_watch_set_ready(struct reg_watch_set *set, struct reg_watch **out, size_t max);

struct reg_watch_opts {
	struct api_selector *sel;  /* taken over by the watch; NULL: everything */
	const char *rv;		   /* "", "0" or absent: the current state first; "N": after N */
	bool tree;		   /* every event needs the object tree (Tables) */
	struct reg_watch_set *set; /* required: where the watch signals */
};

enum reg_event_type { REG_ADDED = 1, REG_MODIFIED, REG_DELETED };

struct reg_event {
	enum reg_event_type type;
	/* the object as stored (borrowed until reg_event_put); for DELETED its last state (or
	 * the new one when an update moved it out of the selection), with kv.mod_rev the
	 * revision of the event */
	struct store_kv kv;
	/* the tree, parsed into the caller's doc, when the watch needs trees (conversion,
	 * opts.tree); converted to the requested version */
	struct jv *obj;
	/* private */
	struct reg_watch *_w;
	struct reg_hev *_hev; /* what kv borrows (NULL: the watch's initial list) */
	int _variant;
};

/* Open a watch. 0; -STORE_ECOMPACTED with out set to 410 Expired (the resourceVersion is
 * older than the kept history); another error with out set. */
int reg_watch_open(struct registry *reg, const struct reg_req *rq, struct reg_watch_opts *o,
		   struct reg_watch **w, struct api_result *out);
/* The next event: 1 (*ev filled; release with reg_event_put), 0 (none pending now: the
 * watch is drained, its set signals the next one), or the end: -STORE_ESLOW (fell behind),
 * -STORE_ECLOSED. d: a doc for the event's tree, or NULL when the watch needs none. */
int reg_watch_next(struct reg_watch *w, struct jv_doc *d, struct reg_event *ev);
/* The event as a watch stream line: {"type":"...","object":{...}}\n with the object as
 * stored (its resourceVersion spliced in). Encoded once per event and shared by every watch
 * that gets it (an initial event's is the watch's own). Borrowed until reg_event_put; NULL
 * when out of memory. */
const char *reg_event_line(struct reg_event *ev, size_t *len);
void reg_event_put(struct reg_event *ev);
/* What ev->kv borrows, kept after reg_event_put (release with reg_hev_put): NULL when kv
 * borrows the watch's initial list (its kv carries the list's reference: store_kv_dup it
 * instead). ev then holds nothing. */
struct reg_hev *reg_event_take(struct reg_event *ev);
/* ev->kv with a reference to its value alone (not to the event, its previous value or its
 * encodings): what a cache that keeps the object for long should hold. Release out; 0, or
 * -ENOENT when kv holds no value of the event's (then keep the event: reg_event_take). */
int reg_event_value(struct reg_event *ev, struct store_kv *out);
void reg_hev_put(struct reg_hev *h);
/* Initial events remain to be delivered (they are not signalled by the set). */
bool reg_watch_has_initial(const struct reg_watch *w);
/* The watch has work (events, initial ones, or its end) whether or not its set said so: the
 * consumer calls it for each of its watches now and then (twice a second), for the wake-up
 * an allocation failure kept off the set's ready list. */
bool reg_watch_pending(struct reg_watch *w);
/* The revision the watch has reached (bookmarks carry it): the latest event delivered or,
 * once drained, the latest its source has passed on to it. */
uint64_t reg_watch_rev(const struct reg_watch *w);
/* Close the watch (it leaves its set's ready list). */
void reg_watch_close(struct reg_watch *w);

#endif
