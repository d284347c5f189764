/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scheduler: drover's scheduler core, kube-scheduler's default profile (v1.32) as a library with
 * no API client in it. It is fed Kubernetes objects as jv trees (pods, nodes, namespaces) by
 * whoever watches the API, keeps a cache of nodes and the pods bound or assumed on them, a
 * scheduling queue of pods waiting for a node, and decides where each pod goes: filter, then
 * score, then pick, as kube-scheduler does, with its reasons, weights and messages.
 *
 * The glue on top (informers, pods/binding, PodScheduled status, Events) is meant to be thin:
 *
 *   informer handlers            ->  sched_node_upsert / sched_node_delete
 *                                    sched_pod_upsert / sched_pod_delete
 *                                    sched_namespace_upsert / sched_namespace_delete
 *                                    sched_service_* / sched_controller_* (default spread)
 *   scheduling thread:
 *     p = sched_pop(s, 1000)                  next pod by priority, then age (blocks)
 *     sched_schedule(s, p, &r)                filter + score; on success the pod is assumed
 *     if (r.scheduled)                        on r.node (counted before its watch event);
 *         err = bind(p, r.node)               POST pods/binding
 *         sched_bind_done(s, p, err)          0: binding finished; else forget + back-off
 *     else                                    the pod is already parked in the queue; write
 *         status/Event with r.message         PodScheduled=False reason Unschedulable
 *     sched_result_clear(&r); sched_pod_unref(p)
 *
 * Threads: every function may be called from any thread. Informer handlers and the scheduling
 * thread serialise on the cache; sched_pop blocks only its caller. Objects passed in are read
 * during the call and never kept (what the scheduler needs is extracted once per object).
 */
#ifndef DROVER_SCHEDULER_H
#define DROVER_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_jv.h"

struct sched;
/* A pod as the scheduler read it: immutable, reference-counted. */
struct sched_pod;

struct sched_opts {
	/* Pods whose spec.schedulerName is this one are scheduled ("default-scheduler"). */
	const char *scheduler_name;
	/* percentageOfNodesToScore: 0 = kube-scheduler's adaptive default (50 - nodes/125 %, at
	 * least 5 %, at least 100 nodes); 1..100 a fixed share. */
	int percentage_of_nodes_to_score;
	/* Assumed pods whose binding finished but whose bound pod never arrived are dropped after
	 * this long; 0 = never (kube-scheduler 1.32's durationToExpireAssumedPod = 0). */
	uint64_t assumed_ttl_ns;
	/* Per-pod back-off: initial doubling up to max (1 s, 10 s). */
	uint64_t backoff_initial_ns, backoff_max_ns;
	/* Unschedulable pods parked longer than this are retried anyway (5 min). */
	uint64_t unschedulable_max_ns;
	/* Threads that evaluate nodes of one decision (0 or 1 = the caller alone, the default:
	 * on 2 cores a second thread loses, see sched_pool.c). */
	int parallelism;
	/* Seed of the tie-break among equal top scores (0: from the clock). */
	uint64_t seed;
	/* Monotonic clock in ns (tests inject one); NULL = CLOCK_MONOTONIC. */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
};

/* NULL with errno (ENOMEM, EINVAL) on failure. o may be NULL (defaults). */
struct sched *sched_new(const struct sched_opts *o);
/* Wakes sched_pop callers (they get NULL) and frees everything; NULL-tolerant. Popped pods
 * still referenced by the caller stay valid until unref'd. */
void sched_free(struct sched *s);
/* Make every sched_pop return NULL from now on (before stopping the scheduling thread). */
void sched_close(struct sched *s);

/* ---- informer handlers: 0, -EINVAL (the object is not one: no name/uid), -ENOMEM ---- */

/* A node added or updated. */
int sched_node_upsert(struct sched *s, const struct jv *node);
int sched_node_delete(struct sched *s, const char *name);
/* Namespaces: their labels are what namespaceSelector of affinity terms match. */
int sched_namespace_upsert(struct sched *s, const struct jv *ns);
int sched_namespace_delete(struct sched *s, const char *name);
/* A pod added or updated, routed as kube-scheduler's two pod informers route it: one with
 * spec.nodeName goes to the cache (confirming an assumed pod), one without it and with this
 * scheduler's name to the queue (updated in place if queued); a Succeeded/Failed pod is
 * deleted (kube-scheduler's informer excludes them by field selector). */
int sched_pod_upsert(struct sched *s, const struct jv *pod);
/* A pod deleted (its last state). */
int sched_pod_delete(struct sched *s, const struct jv *pod);

/* Services and pod controllers (apps/v1 ReplicaSet and StatefulSet, v1 ReplicationController):
 * their selectors are what PodTopologySpread's system default constraints spread a pod's
 * siblings by (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway, for pods without
 * constraints of their own), as kube-scheduler's informers on them feed DefaultSelector.
 * Optional: without them no pod gets default constraints. -EINVAL for another kind. */
int sched_service_upsert(struct sched *s, const struct jv *svc);
int sched_service_delete(struct sched *s, const struct jv *svc);
int sched_controller_upsert(struct sched *s, const struct jv *obj);
int sched_controller_delete(struct sched *s, const struct jv *obj);

/* policy/v1 PodDisruptionBudgets: what preemption's victim choice honours (selector,
 * status.disruptionsAllowed, status.disruptedPods), as kube-scheduler's PDB lister. */
int sched_pdb_upsert(struct sched *s, const struct jv *pdb);
int sched_pdb_delete(struct sched *s, const struct jv *pdb);

/* ---- the scheduling loop ---- */

/* The next pod to schedule (a reference for the caller), waiting up to timeout_ms (-1:
 * forever); NULL on timeout or after sched_close. */
struct sched_pod *sched_pop(struct sched *s, int timeout_ms);

struct sched_reason {
	const char *reason; /* "Insufficient cpu", "node(s) had untolerated taint {k: v}" */
	int nodes;
};

struct sched_result {
	bool scheduled;
	char node[254]; /* the chosen node (a DNS subdomain: at most 253 bytes) */
	/* Failure: the message kube-scheduler writes into PodScheduled=False/Unschedulable and
	 * the FailedScheduling Event ("0/5 nodes are available: 2 node(s) didn't match pod
	 * anti-affinity rules, 3 Insufficient cpu."); malloc'd, freed by sched_result_clear. */
	char *message;
	struct sched_reason *reasons; /* the histogram behind it, sorted as in the message */
	size_t nreasons;
	int nodes_all;	      /* nodes in the cache */
	int nodes_evaluated;  /* nodes filtered */
	int nodes_feasible;   /* of those, nodes that passed every filter */
	uint64_t decision_ns; /* time spent deciding (clock of the opts) */
	/* Failure: what the PostFilter (DefaultPreemption) decided. The caller, as
	 * kube-scheduler's prepareCandidate and handleSchedulingFailure: preempts each victim
	 * not terminating yet (DisruptionTarget condition, delete, a Preempted Event), clears
	 * the nomination of each pod in denominate, then writes the pod's status with
	 * nominatedNodeName when nominate is set ("" = clear it). */
	bool nominate;
	char nominated_node[254];
	struct sched_pod **victims; /* references, most important first */
	size_t nvictims;
	struct sched_pod **denominate; /* lower priority pods nominated to that node */
	size_t ndenominate;
};

/* Decide where p goes. 0 with r filled (r->scheduled tells the outcome), -EEXIST if p is in
 * the cache already (assumed or bound), or -ENOMEM; r is empty after an error. On
 * success p is assumed on r->node; on failure a pod that came from sched_pop is parked in
 * the queue until an event may make it schedulable. */
int sched_schedule(struct sched *s, struct sched_pod *p, struct sched_result *r);
/* After a successful sched_schedule: the outcome of binding. err 0 = bound (the assumed pod
 * now waits for its watch event); else the pod is forgotten and retried after back-off. */
void sched_bind_done(struct sched *s, struct sched_pod *p, int err);
void sched_result_clear(struct sched_result *r);

void sched_pod_unref(struct sched_pod *p);
const char *sched_pod_namespace(const struct sched_pod *p);
const char *sched_pod_name(const struct sched_pod *p);
const char *sched_pod_uid(const struct sched_pod *p);
bool sched_pod_terminating(const struct sched_pod *p); /* metadata.deletionTimestamp set */
/* status.nominatedNodeName as the informer last showed it ("" = none). */
const char *sched_pod_nominated(const struct sched *s, const struct sched_pod *p);

/* ---- figures ---- */

struct sched_stats {
	size_t nodes, pods, assumed;
	size_t active, backoff, unschedulable, gated, in_flight;
	uint64_t attempts, scheduled, unschedulable_attempts;
	size_t classes; /* selector classes indexed (sched_index.c) */
	size_t nominated, pdbs;
	uint64_t preemptions; /* PostFilter runs that nominated a node */
};
void sched_get_stats(struct sched *s, struct sched_stats *st);

#endif
