/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodelifecycle_int: the node lifecycle controller's parts (internal). nodelifecycle_node.c:
 * what it reads and writes of a node (taints swapped under optimistic concurrency, its
 * Lease, its zone, the NoSchedule taints its conditions call for, its beta labels).
 * nodelifecycle_zone.c: what decides how fast nodes are tainted, apart so that it can be
 * tested alone:
 * the token bucket of client-go's flowcontrol, the node controller's RateLimitedTimedQueue
 * (one per zone: each node at most once, taken in order as fast as the bucket allows), and
 * the zone states: a zone with no Ready node is fully disrupted, one with more than two
 * not-Ready nodes making at least --unhealthy-zone-threshold of it partially disrupted.
 * Times are milliseconds of a monotonic clock the caller passes.
 */
#ifndef DROVER_CTRL_NODELIFECYCLE_INT_H
#define DROVER_CTRL_NODELIFECYCLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "ctrl.h"
#include "hmap.h"

/* ---- nodes (nodelifecycle_node.c) ---- */

#define NL_TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define NL_TAINT_NOT_READY   "node.kubernetes.io/not-ready"
#define NL_LEASE_NS	     "kube-node-lease"
/* the pods' informer index by spec.nodeName */
#define NL_IDX_NODE	     "spec.nodeName"

/* The client and caches the node lifecycle controller reads nodes through. */
struct nl_node {
	struct kclient *kc;
	struct kc_informer *nodes, *pods, *leases;
};

struct nl_taint {
	const char *key, *effect;
};

/* nodetopology.GetZoneKey: "region:\0:zone" of the (beta or GA) topology labels, "" if
 * neither is set. */
void nl_zone_key(const struct jv *node, char *buf, size_t size);
bool nl_has_taint(const struct jv *node, const char *key, const char *effect);
/* SwapNodeControllerTaint: add taints (timeAdded now; one of the same key and effect is
 * replaced) and remove others, in one patch of spec.taints with the node's
 * resourceVersion as precondition; on a conflict the node is read again (up to 5 times).
 * node may be the cache's copy. 0 or -errno. */
int nl_swap_taints(struct nl_node *nn, const struct jv *node, const struct nl_taint *add,
		   size_t nadd, const struct nl_taint *rm, size_t nrm);
/* The renewTime of the node's Lease in kube-node-lease, in µs; -1 if none. */
int64_t nl_lease_renew_us(struct nl_node *nn, const char *node);
/* doNoScheduleTaintingPass: the NoSchedule taints of the node's conditions (Ready False:
 * not-ready, Unknown: unreachable, the pressures, NetworkUnavailable) and of
 * spec.unschedulable, added and removed to match. 0 or -errno. */
int nl_noschedule_pass(struct nl_node *nn, const char *node);
/* reconcileNodeLabels: beta.kubernetes.io/os and /arch follow kubernetes.io/os, /arch. */
int nl_reconcile_labels(struct nl_node *nn, const char *node);

/* ---- tainting rate (nodelifecycle_zone.c) ---- */

/* scheduler.EvictionRateLimiterBurst */
#define NL_EVICTION_BURST 1

/* A token bucket: qps tokens a second up to the burst, full at start; qps <= 0 never
 * accepts (flowcontrol's FakeNeverRateLimiter). */
struct nl_limiter {
	double qps, tokens;
	uint64_t last_ms;
};

void nl_limiter_init(struct nl_limiter *l, double qps, uint64_t now_ms);
bool nl_limiter_try(struct nl_limiter *l, uint64_t now_ms);

struct nl_tq_item {
	char *name;
	uint64_t process_ms, seq;
	bool queued; /* false: done, but still in the set until removed */
};

/* RateLimitedTimedQueue over a UniqueQueue: a node added once stays in the set until
 * nl_tq_remove, whether processed or not. */
struct nl_tq {
	struct nl_limiter lim;
	struct nl_tq_item *v;
	size_t n, cap;
	uint64_t seq;
};

void nl_tq_init(struct nl_tq *q, double qps, uint64_t now_ms);
void nl_tq_release(struct nl_tq *q);
/* Add a node: false if it is in the set already (or on ENOMEM). */
bool nl_tq_add(struct nl_tq *q, const char *name, uint64_t now_ms);
/* Remove from queue and set: true if it was there. */
bool nl_tq_remove(struct nl_tq *q, const char *name);
/* Take queued nodes in order while the bucket allows and they are due: fn returns true
 * when done (the node leaves the queue, stays in the set), false to be retried after
 * *retry_ms. */
typedef bool (*nl_tq_fn)(void *arg, const char *name, uint64_t *retry_ms);
void nl_tq_try(struct nl_tq *q, uint64_t now_ms, nl_tq_fn fn, void *arg);
/* SwapLimiter: a new bucket at qps (<= 0: never), drained if the old one was. */
void nl_tq_swap_limiter(struct nl_tq *q, double qps, uint64_t now_ms);
size_t nl_tq_queued(const struct nl_tq *q);

enum nl_zone_state {
	NL_ZONE_INITIAL,
	NL_ZONE_NORMAL,
	NL_ZONE_FULL_DISRUPTION,
	NL_ZONE_PARTIAL_DISRUPTION,
};

const char *nl_zone_state_name(enum nl_zone_state s);

struct nl_rates {
	double eviction;	    /* --node-eviction-rate */
	double secondary;	    /* --secondary-node-eviction-rate */
	double unhealthy_threshold; /* --unhealthy-zone-threshold */
	unsigned large_cluster;	    /* --large-cluster-size-threshold */
};

/* ComputeZoneState from a zone's count of Ready and not-Ready nodes. */
enum nl_zone_state nl_zone_state_of(unsigned ready, unsigned not_ready, double threshold);
/* The eviction rate a zone of zone_size nodes gets in a state (setLimiterInZone);
 * -1 for a state that does not change it. */
double nl_zone_qps(enum nl_zone_state s, unsigned zone_size, const struct nl_rates *r);

/* ---- the controller ---- */

/* What the controller last saw of a node: when it last heard from it (its clock). */
struct nl_health {
	int64_t probe_ms, transition_ms;
	bool has_ready;	     /* the saved status had a Ready condition */
	char hb[40], lt[40]; /* its lastHeartbeatTime, lastTransitionTime */
	char status[16];     /* its status */
	int64_t lease_us;    /* the Lease's renewTime seen, -1 none */
};

/* A zone: its state and its queue of nodes to taint. */
struct nl_zone {
	struct nl_tq tq;
	enum nl_zone_state state;
	bool has_state; /* zoneStates has it */
};

struct nl_ctrl {
	struct ctrl_ctx *c;
	struct nl_node nn;
	struct kc_queue *nodeq, *podq;
	struct kc_workers *nodew, *podw;
	pthread_t thread;
	bool thread_started, stop;
	pthread_mutex_t lock; /* stop, the maps below */
	pthread_cond_t cond;
	struct hmap *health; /* node -> struct nl_health */
	struct hmap *zones;  /* zone key -> struct nl_zone (monitor thread) */
	struct hmap *known;  /* node -> uid (monitor thread) */
	struct hmap *retry;  /* nodesToRetry: node -> (void *)1 */
	int64_t grace_ms, startup_grace_ms, period_ms;
	struct nl_rates rates;
};

struct nl_zone_count {
	unsigned ready, not_ready;
};

/* the monotonic clock, in ms */
int64_t nl_mono_ms(void);

/* ---- one node's health (nodelifecycle_health.c) ---- */

/* A copy of what the controller last saw of the node into out, or NULL. */
struct nl_health *nl_health_get(struct nl_ctrl *s, const char *name, struct nl_health *out);
void nl_health_set(struct nl_ctrl *s, const char *name, const struct nl_health *v);
/* tryUpdateNodeHealth: *observed is the node's Ready condition as it was (copied into d,
 * or a made-up Unknown when it never had one), *current as it is after this pass (in
 * node, which is set Unknown and written when the node was not heard from for the grace
 * period). 0 or -errno (the write failed). */
int nl_try_update_health(struct nl_ctrl *s, struct jv_doc *d, struct jv *node, struct jv **observed,
			 struct jv **current);
/* MarkPodsNotReady, of one pod (a tree in d) or of all the node's. 0 or -errno. */
int nl_mark_pod_not_ready(struct nl_ctrl *s, struct jv_doc *d, struct jv *pod);
int nl_mark_pods_not_ready(struct nl_ctrl *s, const char *node);

/* ---- zones and the NoExecute taints (nodelifecycle_zone.c, monitor thread) ---- */

/* The node's zone (made when create and new). */
struct nl_zone *nl_zone_of(struct nl_ctrl *s, const struct jv *node, bool create);
/* markNodeAsReachable: the NoExecute taints go, the node leaves its zone's queue. */
int nl_mark_reachable(struct nl_ctrl *s, const struct jv *node, bool *removed);
/* processTaintBaseEviction: by the Ready status observed, queue the node for tainting,
 * swap unreachable and not-ready, or untaint it. */
void nl_taint_based_eviction(struct nl_ctrl *s, const struct jv *node, const struct jv *observed);
/* Count a node's Ready condition (NULL: not ready) in its zone's counts. */
void nl_count_zone(struct hmap *counts, const struct jv *node, const struct jv *ready);
/* handleDisruption over this pass's zone counts. */
void nl_handle_disruption(struct nl_ctrl *s, struct hmap *counts, struct jv **nodes, size_t n);
/* doNoExecuteTaintingPass: every zone's queue, as fast as its rate allows. */
void nl_tainting_pass(struct nl_ctrl *s);

#endif
