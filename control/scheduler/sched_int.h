/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_int: the scheduler's internal types, shared by its files (and its unit tests):
 *   - strings interned to 32-bit ids, label sets, compiled selectors (sched_intern.c);
 *   - pods and nodes as extracted once from their jv trees (sched_pod.c, sched_pod_terms.c,
 *     sched_node.c);
 *   - topology domains (sched_topo.c) and the index of selector classes and of the terms of
 *     placed pods (sched_index.c); Services and controllers for default spreading
 *     (sched_defaults.c);
 *   - the cache of nodes and the pods on them (sched_cache.c);
 *   - the filters and scores (sched_filter.c, sched_score.c, sched_affinity.c,
 *     sched_spread.c), the decision (sched_decide.c, with sched_pool.c's threads), the
 *     queue (sched_queue.c) and the public face (sched.c).
 * Locking: everything below the cache (index, nodes' dynamic state, namespaces, classes) is
 * guarded by struct sched_cache's mutex; parsed pods and node specs are immutable; the intern
 * table has its own lock; the queue has its own (always taken after the cache's).
 */
#ifndef DROVER_SCHED_INT_H
#define DROVER_SCHED_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "k8s_jv.h"
#include "scheduler.h"

/* ---- strings (sched_intern.c) ---- */

/* Interned strings: id 0 is "" (so a zeroed id reads as the empty string). Ids and the
 * strings behind them live until the table is freed: label values that churn (hashes,
 * generated names) grow it; at ~40 bytes a string that is megabytes for a cluster's life. */
struct sched_intern;
struct sched_intern *sched_intern_new(void);
void sched_intern_free(struct sched_intern *t);
/* The id of s (added if new); UINT32_MAX on ENOMEM. */
uint32_t sched_intern(struct sched_intern *t, const char *s, size_t len);
/* The id of s if interned, else UINT32_MAX (never adds). */
uint32_t sched_intern_find(struct sched_intern *t, const char *s, size_t len);
/* The string of an id (stable pointer, NUL-terminated); lock-free. */
const char *sched_intern_str(const struct sched_intern *t, uint32_t id);
size_t sched_intern_count(const struct sched_intern *t);

#define SCHED_NOID UINT32_MAX

struct sched_label {
	uint32_t key, val;
};
/* A label set sorted by key id. */
struct sched_labels {
	struct sched_label *v;
	uint32_t n;
};
/* The value id of key, or SCHED_NOID when absent. */
uint32_t sched_labels_get(const struct sched_labels *l, uint32_t key);
bool sched_labels_equal(const struct sched_labels *a, const struct sched_labels *b);

/* Grow *p (of *cap elements of elem bytes) to hold need, doubling from 8. -ENOMEM. */
int sched_grow(void **p, uint32_t *cap, uint32_t need, size_t elem);

/* A bump allocator: what a parsed pod or node owns, freed at once. */
struct sched_arena {
	struct sched_arena_blk *blk;
	size_t used, cap;
};
void *sched_arena_alloc(struct sched_arena *a, size_t size); /* zeroed; NULL on ENOMEM */
char *sched_arena_strndup(struct sched_arena *a, const char *s, size_t len);
void sched_arena_free(struct sched_arena *a);

/* ---- selectors (sched_intern.c) ---- */

enum sched_op {
	SCHED_OP_IN,
	SCHED_OP_NOTIN,
	SCHED_OP_EXISTS,
	SCHED_OP_NOTEXISTS,
	SCHED_OP_GT,
	SCHED_OP_LT,
};

struct sched_req {
	uint32_t key;
	uint8_t op;
	uint32_t nvals;
	uint32_t *vals; /* sorted ids (In, NotIn) */
	int64_t num;	/* Gt, Lt */
};

enum sched_sel_kind {
	SCHED_SEL_NOTHING = 0, /* a nil selector: matches nothing */
	SCHED_SEL_EVERYTHING,  /* an empty one: matches everything */
	SCHED_SEL_REQS,	       /* requirements ANDed */
};

struct sched_sel {
	uint8_t kind;
	uint32_t nreq;
	struct sched_req *reqs; /* sorted by (key, op) */
};

struct sched;
/* metav1.LabelSelectorAsSelector of a LabelSelector tree (NULL = nil = nothing); extra
 * (may be NULL) adds matchLabels-style equality requirements (matchLabelKeys). 0, -EINVAL
 * with err set (Go's message) for an unknown operator, -ENOMEM. */
int sched_sel_compile(struct sched *s, struct sched_arena *a, const struct jv *sel,
		      const struct sched_labels *extra, struct sched_sel *out, char *err,
		      size_t errlen);
/* A NodeSelectorTerm's matchExpressions (with Gt/Lt) into out; matchFields into fields
 * (metadata.name only). -EINVAL when the term is not valid (kube drops such terms). */
int sched_nsel_compile(struct sched *s, struct sched_arena *a, const struct jv *term,
		       struct sched_sel *exprs, struct sched_sel *fields);
bool sched_sel_match(const struct sched_intern *t, const struct sched_sel *sel,
		     const struct sched_labels *l);
/* Match fields: the only field a node selector knows is metadata.name (its id). */
bool sched_fields_match(const struct sched_sel *fields, uint32_t name_id);
/* A canonical byte form of a selector (for class keys); requirements sorted first. */
void sched_sel_key(const struct sched_sel *sel, struct k8s_buf *b);
void sched_sel_sort(struct sched_sel *sel);

/* ---- pods (sched_pod.c) ---- */

struct sched_scalar {
	uint32_t name; /* interned resource name ("nvidia.com/gpu", "hugepages-2Mi") */
	int64_t v;
};

struct sched_res {
	int64_t cpu; /* millicores */
	int64_t mem, eph;
	uint32_t nscalar;
	struct sched_scalar *scalar; /* sorted by name id */
};

enum sched_effect {
	SCHED_EFFECT_NONE = 0, /* a toleration without effect: every effect */
	SCHED_EFFECT_NOSCHEDULE,
	SCHED_EFFECT_PREFER,
	SCHED_EFFECT_NOEXECUTE,
	SCHED_EFFECT_OTHER,
};

struct sched_toleration {
	uint32_t key, val; /* key 0 ("") = every key */
	uint8_t op;	   /* 0 Equal, 1 Exists, 2 unknown (tolerates nothing) */
	uint8_t effect;
};

struct sched_taint {
	uint32_t key, val;
	uint8_t effect;
	const char *key_s, *val_s;
};

struct sched_port {
	uint32_t ip; /* interned; "0.0.0.0" for every address */
	uint16_t port;
	uint8_t proto; /* 0 TCP, 1 UDP, 2 SCTP, 3 other */
};

/* A NodeSelectorTerm. */
struct sched_nterm {
	struct sched_sel exprs, fields;
};

struct sched_pref_nterm {
	int32_t weight;
	struct sched_nterm term;
};

/* Who a pod (anti-)affinity term or a spread constraint selects: pods in these namespaces or
 * in namespaces whose labels match nssel, whose labels match sel. */
struct sched_match {
	uint32_t nns;
	uint32_t *ns; /* sorted namespace ids */
	bool has_nssel;
	struct sched_sel nssel;
	struct sched_sel sel;
};

/* A pod (anti-)affinity term (weight 0 for required ones). */
struct sched_pterm {
	struct sched_match m;
	uint32_t topo; /* topologyKey id */
	int32_t weight;
	char *key; /* the canonical key of m (its class) */
	uint32_t klen;
};

struct sched_spread {
	struct sched_match m; /* ns = the pod's, sel = labelSelector + matchLabelKeys */
	char *key;
	uint32_t klen;
	uint32_t topo;
	int32_t max_skew, min_domains;
	bool do_not_schedule;
	bool honor_affinity, honor_taints; /* nodeAffinityPolicy / nodeTaintsPolicy */
	bool counts_nothing; /* an empty labelSelector: countPodsMatchSelector counts 0 */
	bool self_match;
};

/* What only some pods have. */
struct sched_pod_ext {
	struct sched_labels node_selector; /* spec.nodeSelector (equality) */
	bool has_req_naff;
	uint32_t nreq_naff;
	struct sched_nterm *req_naff; /* ORed; invalid terms dropped */
	bool naff_conflict;	      /* matchFields metadata.name sets that cannot meet */
	uint32_t nname_set;
	uint32_t *name_set; /* PreFilter's node names (matchFields In), when every term has one */
	bool has_name_set;
	uint32_t npref_naff;
	struct sched_pref_nterm *pref_naff;
	uint32_t ntol;
	struct sched_toleration *tol;
	uint32_t naff, nanti, npaff, npanti;
	struct sched_pterm *aff, *anti, *paff, *panti;
	char *aff_all_key; /* class of "matches every required affinity term" */
	uint32_t aff_all_klen;
	uint32_t nspread;
	struct sched_spread *spread;
};

struct sched_pod {
	atomic_uint refs;
	struct sched_arena arena;
	const char *uid, *name;
	const char *ns, *node_name, *sched_name; /* interned */
	uint32_t ns_id, node_id;
	struct sched_labels labels;
	int32_t priority;
	int64_t created_ns;	/* metadata.creationTimestamp, ns since the epoch */
	bool terminating;	/* metadata.deletionTimestamp */
	bool terminal;		/* status.phase Succeeded or Failed */
	bool gated;		/* spec.schedulingGates */
	struct sched_res req;	/* what NodeResourcesFit counts */
	int64_t nz_cpu, nz_mem; /* what scoring counts (100m / 200Mi for unset requests) */
	uint32_t nports;
	struct sched_port *ports; /* host ports of containers */
	struct sched_pod_ext *x;  /* NULL when the pod has none of it */
	uint64_t fingerprint;	  /* of labels, annotations and spec: "updated" test */
	const char *parse_error;  /* a term kube could not parse ("parsing pod: ...") */
	char owner_tag;		  /* its controller: 'R'eplicaSet, 'S'tatefulSet, 'C' (RC), 0 */
	const char *owner_name;
	/* preemption (sched_preempt.c) */
	bool preempt_never;    /* spec.preemptionPolicy Never */
	bool preempted;	       /* DisruptionTarget=True, reason PreemptionByScheduler */
	int64_t start_ns;      /* status.startTime (INT64_MAX when unset: GetPodStartTime's now) */
	uint32_t nominated_id; /* status.nominatedNodeName (interned; 0 = none) */
};

/* A string map (labels, nodeSelector) into a sorted label set; the last duplicate wins. */
int sched_labels_from(struct sched *s, struct sched_arena *a, const struct jv *map,
		      struct sched_labels *out);
/* A ResourceList (allocatable) into out; *pods (may be NULL) gets its "pods". */
int sched_res_parse(struct sched *s, struct sched_arena *a, const struct jv *list,
		    struct sched_res *out, int64_t *pods);
uint8_t sched_effect_of(const char *effect);

/* The pod's sched_pod_ext, if it needs one (sched_pod_terms.c). 0 or -ENOMEM. */
int sched_pod_parse_ext(struct sched *s, struct sched_pod *p, const struct jv *spec);

/* Extract a pod; NULL with errno EINVAL (no uid/name) or ENOMEM. refs = 1. */
struct sched_pod *sched_pod_parse(struct sched *s, const struct jv *pod);
struct sched_pod *sched_pod_ref(struct sched_pod *p);

/* The class key of a match (canonical bytes). */
int sched_match_key(struct sched_arena *a, const struct sched_match *m, uint8_t flags, char **key,
		    uint32_t *klen);
#define SCHED_CLASS_SKIP_TERMINATING 1u

/* Kubernetes' time format (RFC 3339) to ns since the epoch; -EINVAL. */
int sched_parse_time(const char *s, int64_t *out);

/* ---- nodes (sched_node.c) ---- */

/* A node's spec as read from its tree (immutable; replaced on update). */
struct sched_node_spec {
	struct sched_arena arena;
	const char *name; /* interned */
	uint32_t name_id;
	struct sched_labels labels;
	struct sched_res alloc;
	int64_t alloc_pods;
	uint32_t ntaints;
	struct sched_taint *taints; /* spec.taints + those of its conditions (see sched_node.c) */
	bool unschedulable;
	uint32_t zone; /* interned "region:\0:zone" (NodeTree's zone key), 0 if none */
};

struct sched_node_spec *sched_node_parse(struct sched *s, const struct jv *node);
void sched_node_spec_free(struct sched_node_spec *n);

struct sched_used_port {
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
	uint32_t count;
};

struct cache_pod;

/* A node in the cache: its spec plus what is placed on it. */
struct sched_node {
	struct sched_node_spec *spec;
	uint32_t slot; /* dense index (per-node vectors of the index) */
	bool live;     /* false: deleted, kept while pods still point at it */
	struct sched_res requested;
	int64_t nz_cpu, nz_mem; /* NonZeroRequested */
	uint32_t npods, capods;
	struct cache_pod **pods;
	uint32_t nports, caports;
	struct sched_used_port *ports;
	int32_t *dom; /* per topology slot: domain index, -1 without the label */
	uint32_t ndom;
	uint32_t zone_idx; /* its zone in the node tree */
};

/* ---- topology domains (sched_topo.c) ---- */

struct sched_topo;
struct sched_topo *sched_topo_new(struct sched *s);
void sched_topo_free(struct sched_topo *t);
/* The slot of a topology key (registered on first use; nodes get their domain). -1 ENOMEM. */
int sched_topo_slot(struct sched_topo *t, uint32_t key);
int sched_topo_find(const struct sched_topo *t, uint32_t key);
uint32_t sched_topo_nslots(const struct sched_topo *t);
uint32_t sched_topo_ndom(const struct sched_topo *t, int slot);
/* Live nodes in domain d of slot. */
int32_t sched_topo_dom_nodes(const struct sched_topo *t, int slot, uint32_t d);
/* Live nodes that have the slot's label. */
uint32_t sched_topo_nodes_with_key(const struct sched_topo *t, int slot);
/* Recompute a node's domains (after its labels changed or it was added); live: it counts. */
int sched_topo_node_doms(struct sched_topo *t, struct sched_node *n, bool live);
void sched_topo_node_gone(struct sched_topo *t, struct sched_node *n);

/* ---- the index (sched_index.c) ---- */

struct sched_class;
struct sched_holder;

enum sched_holder_kind {
	SCHED_HOLD_REQ_ANTI, /* required anti-affinity: excludes the domain (Filter) */
	SCHED_HOLD_REQ_AFF,  /* required affinity: hardPodAffinityWeight (Score) */
	SCHED_HOLD_PREF,     /* preferred (anti-)affinity: +/- weight (Score) */
};

struct sched_index;
struct sched_cache;

struct sched_index *sched_index_new(struct sched *s);
void sched_index_free(struct sched_index *ix);

/* The class of key (created and counted over every cached pod if new). NULL on ENOMEM.
 * Classes not referenced by a cached pod are kept for later decisions and collected when
 * idle too long (sched_index_gc). */
struct sched_class *sched_class_get(struct sched_index *ix, const struct sched_match *conj,
				    uint32_t nconj, uint8_t flags, const char *key, uint32_t klen);
void sched_class_ref(struct sched_class *c);
void sched_class_unref(struct sched_class *c);
/* Count the class per domain of slot from now on. -ENOMEM. */
int sched_class_track(struct sched_index *ix, struct sched_class *c, int slot);
/* Pods of the class in domain d of slot (tracked), on node slot n, in all. */
int64_t sched_class_dom(const struct sched_class *c, int slot, int32_t d);
int64_t sched_class_slot_total(const struct sched_class *c, int slot);
int64_t sched_class_node(const struct sched_class *c, uint32_t node_slot);
int64_t sched_class_members(const struct sched_class *c);
/* Does pod p (of namespace labels nsl) match the class? */
bool sched_class_matches(const struct sched_index *ix, const struct sched_class *c,
			 const struct sched_pod *p);
bool sched_match_pod(const struct sched_index *ix, const struct sched_match *m,
		     const struct sched_pod *p);

/* Resolve (and reference) the classes of a cached pod's terms, before it is in the cache's
 * pod map; release them after it left. */
int sched_index_attach(struct sched_index *ix, struct cache_pod *cp);
void sched_index_detach(struct sched_index *ix, struct cache_pod *cp);
/* Add/remove a cached pod to/from the class counts and the holders of its terms. */
int sched_index_pod(struct sched_index *ix, struct cache_pod *cp, int delta);
/* A namespace's labels changed: recount the classes that select namespaces by label. */
int sched_index_namespace(struct sched_index *ix, uint32_t ns_id, const struct sched_labels *l);
const struct sched_labels *sched_index_ns_labels(const struct sched_index *ix, uint32_t ns_id);
void sched_index_gc(struct sched_index *ix, uint64_t now_gen);
size_t sched_index_nclasses(const struct sched_index *ix);

/* Iterate classes holding existing pods' terms (for the symmetric rules). */
struct sched_class *sched_index_holder_classes(const struct sched_index *ix);
struct sched_class *sched_class_next_holder_class(const struct sched_class *c);
struct sched_holder *sched_class_holders(const struct sched_class *c);
struct sched_holder *sched_holder_next(const struct sched_holder *h);
enum sched_holder_kind sched_holder_kind(const struct sched_holder *h);
int sched_holder_slot(const struct sched_holder *h);
int64_t sched_holder_dom(const struct sched_holder *h, int32_t d);
bool sched_holder_empty(const struct sched_holder *h);

/* ---- the cache (sched_cache.c) ---- */

struct cache_pod {
	struct sched_pod *p;
	struct sched_node *node;
	uint32_t pos; /* in node->pods */
	bool assumed, binding_finished;
	bool indexed; /* counted in the index (its node is live) */
	uint64_t deadline;
	/* classes of the pod's terms (aff, anti, paff, panti, in order) while indexed */
	uint32_t nterm_cls;
	struct sched_class **term_cls;
	struct cache_pod *anext, *aprev; /* list of assumed pods */
};

enum sched_cache_event {
	SCHED_EV_NONE = 0,
	SCHED_EV_NODE_ADD = 1u << 0,
	SCHED_EV_NODE_DELETE = 1u << 1,
	SCHED_EV_NODE_ALLOC = 1u << 2,
	SCHED_EV_NODE_LABEL = 1u << 3,
	SCHED_EV_NODE_TAINT = 1u << 4,
	SCHED_EV_POD_ADD = 1u << 5,    /* an assigned pod added (or its labels changed) */
	SCHED_EV_POD_DELETE = 1u << 6, /* an assigned pod removed */
	SCHED_EV_POD_SCALEDOWN = 1u << 7,
};

struct sched_cache {
	pthread_mutex_t mu;
	struct sched *s;
	struct hmap *nodes;	   /* name -> struct sched_node */
	struct hmap *pods;	   /* uid -> struct cache_pod */
	struct sched_node **slots; /* by node slot (NULL: free) */
	uint32_t nslots, caslots;
	struct sched_node **order; /* live nodes in node-tree order (zones interleaved) */
	uint32_t norder, caorder;
	bool order_dirty;
	struct sched_zone *zones; /* NodeTree: zones in order of first node, nodes in order */
	uint32_t nzones, cazones;
	uint32_t *free_slots;
	uint32_t nfree, cafree;
	uint32_t nlive;
	struct cache_pod *assumed; /* list */
	size_t nassumed;
	struct sched_topo *topo;
	struct sched_index *ix;
	struct sched_defaults *defaults;
	uint64_t generation; /* decisions made (for the index's idle collection) */
	uint32_t next_start; /* where the next feasible-node search starts */
};

int sched_cache_init(struct sched_cache *c, struct sched *s);
void sched_cache_destroy(struct sched_cache *c);
/* All under c->mu. Each returns 0 or -errno and fills *ev (events for the queue). */
int sched_cache_node_upsert(struct sched_cache *c, struct sched_node_spec *spec, unsigned *ev);
int sched_cache_node_delete(struct sched_cache *c, const char *name, unsigned *ev);
/* A bound pod seen (add or update): confirms an assumed one. *old_labels_differ etc. */
int sched_cache_pod_upsert(struct sched_cache *c, struct sched_pod *p, unsigned *ev);
int sched_cache_pod_delete(struct sched_cache *c, const char *uid, unsigned *ev);
int sched_cache_assume(struct sched_cache *c, struct sched_pod *p, struct sched_node *n);
int sched_cache_finish_binding(struct sched_cache *c, const char *uid, uint64_t now);
int sched_cache_forget(struct sched_cache *c, const char *uid);
bool sched_cache_is_assumed(struct sched_cache *c, const char *uid);
void sched_cache_expire(struct sched_cache *c, uint64_t now);
/* The live nodes in node-tree order (rebuilt when nodes came or went). */
int sched_cache_order(struct sched_cache *c, struct sched_node ***nodes, uint32_t *n);
struct sched_node *sched_cache_node(struct sched_cache *c, const char *name);

/* A what-if copy of a node (preemption's dry runs, nominated pods reserving room): its sums
 * and host ports are the copy's own, its pods are only counted (npods; pods is NULL); the
 * index-backed state (domains, class counts) is the node's. */
#define SCHED_NODE_SCALARS 16
struct sched_node_sim {
	struct sched_node n;
	struct sched_scalar scalar[SCHED_NODE_SCALARS];
};
int sched_node_sim_init(struct sched_node_sim *sim, const struct sched_node *n);
/* Add (sign +1) or remove (-1) a pod's requests and ports. -ENOMEM. */
int sched_node_sim_pod(struct sched_node_sim *sim, const struct sched_pod *p, int sign);
void sched_node_sim_free(struct sched_node_sim *sim);

/* ---- one decision's state (sched.c and the plugins) ---- */

enum sched_plugin {
	SCHED_PL_UNSCHEDULABLE = 1u << 0,
	SCHED_PL_NODENAME = 1u << 1,
	SCHED_PL_TAINT = 1u << 2,
	SCHED_PL_NODEAFFINITY = 1u << 3,
	SCHED_PL_PORTS = 1u << 4,
	SCHED_PL_FIT = 1u << 5,
	SCHED_PL_SPREAD = 1u << 6,
	SCHED_PL_INTERPOD = 1u << 7,
};

/* Fixed reasons, in kube-scheduler's words. */
#define SCHED_R_UNSCHEDULABLE	  "node(s) were unschedulable"
#define SCHED_R_NODENAME	  "node(s) didn't match the requested node name"
#define SCHED_R_NODEAFFINITY	  "node(s) didn't match Pod's node affinity/selector"
#define SCHED_R_PORTS		  "node(s) didn't have free ports for the requested pod ports"
#define SCHED_R_CPU		  "Insufficient cpu"
#define SCHED_R_MEMORY		  "Insufficient memory"
#define SCHED_R_EPHEMERAL	  "Insufficient ephemeral-storage"
#define SCHED_R_PODS		  "Too many pods"
#define SCHED_R_AFFINITY	  "node(s) didn't match pod affinity rules"
#define SCHED_R_ANTI_AFFINITY	  "node(s) didn't match pod anti-affinity rules"
#define SCHED_R_EXISTING_ANTI	  "node(s) didn't satisfy existing pods anti-affinity rules"
#define SCHED_R_SPREAD		  "node(s) didn't match pod topology spread constraints"
#define SCHED_R_SPREAD_LABEL	  SCHED_R_SPREAD " (missing required label)"
#define SCHED_R_NODEAFF_CONFLICT  "pod affinity terms conflict"
#define SCHED_R_NODEAFF_PREFILTER "node(s) didn't satisfy plugin(s) [NodeAffinity]"

/* A filter's verdict on one node: nothing (fits) or up to SCHED_MAX_REASONS reasons. */
#define SCHED_MAX_REASONS 8
struct sched_status {
	uint32_t plugin; /* enum sched_plugin that rejected; 0 = fits */
	uint32_t n;
	const char *reasons[SCHED_MAX_REASONS]; /* static strings, or interned ones */
};

/* Per constraint of one decision (sched_spread.c). */
struct sched_spread_state {
	const struct sched_spread *c;
	struct sched_class *cls; /* NULL when counts_nothing */
	int slot;
	bool hostname;
	int64_t *cnt;	  /* per domain (+1: the "label missing" domain), eligible nodes */
	uint8_t *present; /* domain seen among eligible (filter) / scored (score) nodes */
	uint32_t ndom;
	int64_t min; /* critical path (filter) */
	uint32_t ndomains;
	double weight; /* score: log(size + 2) */
};

/* Per term of one decision (sched_affinity.c). */
struct sched_term_state {
	const struct sched_pterm *t;
	struct sched_class *cls;
	int slot;
	int sign;
};

struct sched_cycle {
	const struct sched_pod *p;
	const struct sched_labels *ns_labels;
	/* NodeAffinity */
	bool naff_any; /* pod has nodeSelector or required node affinity */
	/* InterPodAffinity */
	struct sched_class *aff_all;
	struct sched_term_state *aff, *anti, *pref;
	uint32_t naff, nanti, npref;
	bool aff_counts_empty, aff_self_match;
	struct sched_holder **ex_anti; /* existing pods' required anti-affinity matching p */
	uint32_t nex_anti;
	struct sched_holder **ex_score; /* existing pods' required affinity / preferred terms */
	uint32_t nex_score;
	bool ipa_score; /* any term or holder contributes to scores */
	/* PodTopologySpread */
	struct sched_spread_state *fs, *ss; /* filter (DoNotSchedule) / score (ScheduleAnyway) */
	uint32_t nfs, nss;
	bool ss_require_all;
	uint8_t *ss_ignored;		       /* per scored node: lacks a constraint's key */
	const struct sched_spread *sys_spread; /* system default constraints (sched_defaults.c) */
	uint32_t nsys_spread;
	/* scratch memory of the decision, reused across decisions */
	struct sched_scratch *scratch;
	struct sched_arena arena; /* for class keys built per decision */
};

void *sched_cycle_alloc(struct sched_cycle *cy, size_t size); /* zeroed; NULL on ENOMEM */
void sched_cycle_reset(struct sched_cycle *cy);
void sched_cycle_free(struct sched_cycle *cy);

/* Filters, each as kube-scheduler's plugin of the same name: true if the node fits,
 * otherwise st gets the plugin and its reasons. */
typedef bool (*sched_filter_fn)(struct sched *s, const struct sched_cycle *cy,
				const struct sched_node *n, struct sched_status *st);
bool sched_filter_unschedulable(struct sched *s, const struct sched_cycle *cy,
				const struct sched_node *n, struct sched_status *st);
bool sched_filter_node_name(struct sched *s, const struct sched_cycle *cy,
			    const struct sched_node *n, struct sched_status *st);
bool sched_filter_taints(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
			 struct sched_status *st);
bool sched_filter_node_affinity(struct sched *s, const struct sched_cycle *cy,
				const struct sched_node *n, struct sched_status *st);
bool sched_filter_ports(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
			struct sched_status *st);
bool sched_filter_fit(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
		      struct sched_status *st);
bool sched_filter_spread(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
			 struct sched_status *st);
bool sched_filter_interpod(struct sched *s, const struct sched_cycle *cy,
			   const struct sched_node *n, struct sched_status *st);
/* Every filter in kube-scheduler's order; the first that rejects decides (RunFilterPlugins). */
bool sched_filter_all(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
		      struct sched_status *st);

/* Helpers the filters share. */
bool sched_node_affinity_match(const struct sched_intern *t, const struct sched_pod *p,
			       const struct sched_node_spec *n);
bool sched_tolerates(const struct sched_pod *p, const struct sched_taint *taint);
/* The first NoSchedule/NoExecute taint of n that p does not tolerate, or NULL. */
const struct sched_taint *sched_untolerated(const struct sched_pod *p,
					    const struct sched_node_spec *n);

/* PreFilter / PreScore. 0, -ENOMEM; prefilter may set a PreFilter failure in *msg. */
int sched_prefilter_interpod(struct sched *s, struct sched_cycle *cy);
int sched_prefilter_spread(struct sched *s, struct sched_cycle *cy);
int sched_prescore_spread(struct sched *s, struct sched_cycle *cy, struct sched_node **feasible,
			  uint32_t n);

/* Scores: raw per plugin into out[i] for feasible[i], then normalized as kube does. */
#define SCHED_MAX_NODE_SCORE 100
void sched_score_fit(const struct sched_pod *p, struct sched_node **nodes, uint32_t n,
		     int64_t *out);
void sched_score_balanced(const struct sched_pod *p, struct sched_node **nodes, uint32_t n,
			  int64_t *out);
void sched_score_taints(const struct sched_pod *p, struct sched_node **nodes, uint32_t n,
			int64_t *out);
void sched_score_node_affinity(const struct sched_intern *t, const struct sched_pod *p,
			       struct sched_node **nodes, uint32_t n, int64_t *out);
void sched_score_spread(const struct sched_cycle *cy, struct sched_node **nodes, uint32_t n,
			int64_t *out);
void sched_score_interpod(const struct sched_cycle *cy, struct sched_node **nodes, uint32_t n,
			  int64_t *out);
/* helper.DefaultNormalizeScore */
void sched_normalize_default(int64_t *scores, uint32_t n, bool reverse);

/* Default weights of kube-scheduler 1.32's profile. */
#define SCHED_W_TAINT		       3
#define SCHED_W_NODEAFFINITY	       2
#define SCHED_W_FIT		       1
#define SCHED_W_SPREAD		       2
#define SCHED_W_INTERPOD	       2
#define SCHED_W_BALANCED	       1
#define SCHED_HARD_POD_AFFINITY_WEIGHT 1

/* kube-scheduler's defaults for requests a container leaves unset (scoring only). */
#define SCHED_DEFAULT_MILLI_CPU 100
#define SCHED_DEFAULT_MEMORY	(200ll * 1024 * 1024)

/* ---- the queue (sched_queue.c) ---- */

struct sched_queue;
struct sched_queue *sched_queue_new(struct sched *s);
void sched_queue_free(struct sched_queue *q);
void sched_queue_close(struct sched_queue *q);
/* An unassigned pod added or updated (takes a reference). */
int sched_queue_upsert(struct sched_queue *q, struct sched_pod *p);
void sched_queue_delete(struct sched_queue *q, const char *uid);
struct sched_pod *sched_queue_pop(struct sched_queue *q, int timeout_ms);
/* The attempt of an in-flight pod failed: park it (rejectors: enum sched_plugin mask). */
void sched_queue_unschedulable(struct sched_queue *q, const char *uid, uint32_t rejectors);
/* An in-flight pod: bound (done) or failed with an error (back-off). */
void sched_queue_done(struct sched_queue *q, const char *uid);
void sched_queue_error(struct sched_queue *q, const char *uid);
/* A cluster event (enum sched_cache_event); pod: the assigned pod it is about (POD_ADD). */
void sched_queue_event(struct sched_queue *q, unsigned ev, const struct sched_pod *pod);
/* Move back-off-complete and long-parked pods (done by pop too). */
void sched_queue_flush(struct sched_queue *q);
void sched_queue_stats(struct sched_queue *q, struct sched_stats *st);

/* ---- default spreading (sched_defaults.c) ---- */

struct sched_defaults;
struct sched_defaults *sched_defaults_new(struct sched *s);
void sched_defaults_free(struct sched_defaults *d);
/* The tag of a controller DefaultSelector knows ('R', 'S', 'C'), or 0. */
char sched_controller_tag(const char *api_version, const char *kind);
/* cy->sys_spread for cy->p: the system default constraints, if it gets any. -ENOMEM. */
int sched_defaults_spread(struct sched *s, struct sched_cycle *cy);

/* ---- parallel evaluation (sched_pool.c) ---- */

struct sched_pool;
/* threads workers besides the caller; NULL on failure */
struct sched_pool *sched_pool_new(int threads);
void sched_pool_free(struct sched_pool *p);
/* Run fn over chunks 0..n-1 on the caller and the workers; returns how many chunks were
 * claimed (all completed: a prefix) before a cancel stopped further claims. */
uint32_t sched_pool_run(struct sched_pool *p, uint32_t nchunks,
			void (*fn)(void *arg, uint32_t chunk), void *arg);
void sched_pool_cancel(struct sched_pool *p);

/* ---- the scheduler ---- */

struct sched_reason_tab; /* dynamic reason strings (sched.c) */

struct sched {
	struct sched_opts o;
	char *scheduler_name;
	struct sched_intern *strings;
	struct sched_cache cache;
	struct sched_queue *queue;
	struct sched_cycle cy;
	/* ids looked up on every pod/node */
	uint32_t id_hostname, id_zero_ip, id_unschedulable;
	pthread_mutex_t reasons_mu;
	uint64_t rng;
	struct hmap *reasons; /* dynamic reason text -> interned string (under cache.mu) */
	struct sched_arena reason_arena;
	/* figures */
	_Atomic uint64_t attempts, scheduled, unschedulable, preemptions;
	/* parallel filtering */
	struct sched_pool *pool;
	/* preemption (sched_preempt.c), under cache.mu: the nominator's pods and the PDBs */
	struct sched_nominee *nominees;
	uint32_t nnominees, canominees;
	struct sched_pdb *pdbs;
	uint32_t npdbs, capdbs;
};

uint64_t sched_now(const struct sched *s);
/* The decision's random source (xorshift64*, seeded by the opts), under cache.mu. */
uint64_t sched_rnd(struct sched *s);
/* A reason string made once per distinct text ("node(s) had untolerated taint {k: v}"). */
const char *sched_reason(struct sched *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The decision, under cache.mu: fills r; *rejectors gets the plugins that rejected nodes,
 * *chosen the node picked. -ENOMEM; -ENODEV when the cache has no node at all (kube's
 * ErrNoNodesAvailable: no FitError, no message of its own). */
int sched_decide(struct sched *s, const struct sched_pod *p, struct sched_result *r,
		 uint32_t *rejectors, struct sched_node **chosen);
/* ---- preemption (sched_preempt.c), all under cache.mu ---- */

/* RunFilterPluginsWithNominatedPods: the filters with the pods nominated to n of priority
 * at least p's (p excepted) taking their room first. */
bool sched_filter_nominated(struct sched *s, const struct sched_cycle *cy,
			    const struct sched_node *n, struct sched_status *st);
/* The nominator: p nominated to node (an interned id; 0 = none: removed); from_status: the
 * nomination was read from the pod's status (so a status without one clears it). */
int sched_nominate(struct sched *s, struct sched_pod *p, uint32_t node, bool from_status);
/* An unassigned pod seen by the informer: its status' nomination, as kube's nominator. */
int sched_nominee_seen(struct sched *s, struct sched_pod *p);
void sched_nominee_gone(struct sched *s, const char *uid);
void sched_preempt_free(struct sched *s);
/* DefaultPreemption's PostFilter after sched_decide failed for p (s->cy still p's): on
 * success r gets the nomination and the victims; the message gets what kube appends. */
int sched_preempt(struct sched *s, struct sched_pod *p, struct sched_result *r);

/* numFeasibleNodesToFind */
uint32_t sched_nodes_to_find(int percentage, uint32_t nall);

#endif
