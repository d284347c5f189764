/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctrl: what every controller shares (internal to control/controllers): its context (the
 * client, the shared informers, its event recorder), the controller descriptor the manager
 * runs, and the helpers every controller needs the same way: owner references, pod
 * conditions, label selectors, times, and controller-runtime's "expectations" (so that a
 * slow watch never makes a controller create or delete twice).
 */
#ifndef DROVER_CTRL_H
#define DROVER_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "controllers.h"
#include "informer.h"
#include "kclient.h"
#include "recorder.h"
#include "workqueue.h"

/* What one controller is given: its own context (its Events' component), the manager's
 * client and shared informers. */
struct ctrl_ctx {
	struct kclient *kc;
	const struct ctrl_config *cfg;
	struct ctrl_manager *m;
	struct kc_recorder *rec; /* kc_event(c->rec, obj, "Normal", "Reason", "...") */
	const char *name;	 /* the controller's name */
};

/* A controller as the manager runs it. init (before informers start): ask for informers,
 * add handlers and indexes, make queues, set *state (leave it NULL on failure); run (after
 * every informer synced): start workers; stop (after init, whether run ran or not; state may
 * be NULL): stop workers and free (informers are the manager's). */
struct ctrl_desc {
	const char *name;      /* kube-controller-manager's name: "replicaset", "deployment", ... */
	const char *component; /* its Events' source: "replicaset-controller" */
	bool off_by_default;
	int (*init)(struct ctrl_ctx *c, void **state);
	int (*run)(void *state);
	void (*stop)(void *state);
	/* optional: stop the workers only (no sync reads an informer after it returns); the
	 * state stays valid for the informers' handlers, which may still run until the manager
	 * has freed the informers; stop frees it then */
	void (*quiesce)(void *state);
};

/* ---- shared informers (manager.c) ---- */

/* The index of objects by the uid of each of their owners (kc_index_owner_uid): one name,
 * so that controllers asking for it on a shared informer share one index. */
#define CTRL_IDX_OWNER "owner-uid"

/* The one informer of kind k every controller shares (cluster-wide, no selectors), made on
 * first ask. Only during init. NULL on ENOMEM. */
struct kc_informer *ctrl_informer(struct ctrl_ctx *c, const struct k8s_kind *k);
/* A controller's stop: its workers stopped (or, if they never started, its queue shut
 * down), then the queue freed. Both may be NULL. */
void ctrl_queue_close(struct kc_workers *w, struct kc_queue *q);
/* A controller's quiesce: its workers stopped (or its queue shut down if they never
 * started) and *w NULL; the queue stays for stop to free (handlers may still add to it). */
void ctrl_queue_quiesce(struct kc_workers **w, struct kc_queue *q);
/* Add an index to k's shared informer unless one of that name is there. 0 or -errno. */
int ctrl_informer_index(struct ctrl_ctx *c, const struct k8s_kind *k, const char *name,
			kc_index_fn fn);

/* ---- per-namespace controllers (serviceaccount, root CA publisher) ---- */

/* Namespace handlers that queue the namespace's name on the kc_queue given as their arg. */
void ctrl_queue_ns_add(void *q, const struct kc_obj *o, const struct jv *t);
void ctrl_queue_ns_update(void *q, const struct kc_obj *old, const struct jv *old_t,
			  const struct kc_obj *cur, const struct jv *cur_t);
/* 1 if namespace ns (of the namespace informer nsi) is there and not being deleted, 0 if
 * not, -ENOMEM. */
int ctrl_ns_active(struct kc_informer *nsi, const char *ns, struct jv_doc *d);

/* ---- kinds ---- */

extern const struct k8s_kind *ctrl_k_pod, *ctrl_k_node, *ctrl_k_namespace, *ctrl_k_service,
    *ctrl_k_event, *ctrl_k_replicaset, *ctrl_k_deployment, *ctrl_k_daemonset, *ctrl_k_statefulset,
    *ctrl_k_controllerrevision, *ctrl_k_job, *ctrl_k_cronjob, *ctrl_k_endpointslice,
    *ctrl_k_endpoints, *ctrl_k_lease, *ctrl_k_serviceaccount, *ctrl_k_pdb, *ctrl_k_resourcequota,
    *ctrl_k_pvc, *ctrl_k_replicationcontroller, *ctrl_k_pv;

/* ---- discovery (discovery.c) ---- */

/* Every resource kind the server serves (every version of it), as discovery would tell:
 * the schema's listable resource kinds that the server answers a list of. *out is malloc'd
 * (free it). Makes one call per candidate: for init, not for every sync. 0 or -ENOMEM. */
int ctrl_served_kinds(struct ctrl_ctx *c, const struct k8s_kind ***out, size_t *n);
/* Is k the preferred version of its group and resource among kinds (GA before beta before
 * alpha, then the higher version)? */
bool ctrl_kind_preferred(const struct k8s_kind *const *kinds, size_t n, const struct k8s_kind *k);
/* The served kind of apiVersion and kind (an ownerReference's), or NULL. */
const struct k8s_kind *ctrl_kind_served(const struct k8s_kind *const *kinds, size_t n,
					const char *api_version, const char *kind);

/* ---- helpers (util.c) ---- */

/* The ownerReference with controller: true, or NULL. */
const struct jv *ctrl_controller_ref(const struct jv *obj);
/* Is obj controlled by the object with this uid? */
bool ctrl_controlled_by(const struct jv *obj, const char *uid);
/* An ownerReference to owner (of kind k) with controller and blockOwnerDeletion true. */
struct jv *ctrl_owner_ref(struct jv_doc *d, const struct jv *owner, const struct k8s_kind *k);
/* An object of that kind by its coordinates (ns and uid may be NULL: left out), for an
 * Event about an object not at hand. NULL on ENOMEM. */
struct jv *ctrl_obj_ref(struct jv_doc *d, const char *api_version, const char *kind, const char *ns,
			const char *name, const char *uid);
/* matchLabels/matchExpressions selector against a labels object (an empty selector matches
 * everything; NULL matches nothing, as metav1.LabelSelectorAsSelector). */
bool ctrl_selector_matches(const struct jv *selector, const struct jv *labels);

/* Pods: the Ready condition is True; active (not terminal, not being deleted); the time the
 * Ready condition last turned True (-1 if not ready). */
bool ctrl_pod_ready(const struct jv *pod);
bool ctrl_pod_active(const struct jv *pod);
int64_t ctrl_pod_ready_since(const struct jv *pod);
/* Available: ready for at least minReadySeconds at now. */
bool ctrl_pod_available(const struct jv *pod, int64_t min_ready_s, int64_t now);

/* Was a create refused because its namespace is being terminated (kube's
 * NamespaceTerminatingCause)? Every create there would be: not worth an Event or a retry. */
bool ctrl_ns_terminating(int err, const struct kc_status *st);

/* Seconds since the epoch (wall clock, as creationTimestamps are). */
int64_t ctrl_now(void);
/* RFC 3339 of t into buf (32 bytes). */
const char *ctrl_time(int64_t t, char *buf);
/* RFC 3339 to seconds; -1 if malformed or absent. */
int64_t ctrl_parse_time(const char *s);

/* The condition of that type in status.conditions, or NULL. */
struct jv *ctrl_condition(const struct jv *obj, const char *type);
/* Set a condition as Kubernetes' helpers do: lastTransitionTime changes only when status
 * does. Returns true if anything changed. */
bool ctrl_set_condition(struct jv_doc *d, struct jv *obj, const char *type, const char *status,
			const char *reason, const char *message);

/* ---- expectations (util.c) ---- */

/* client-go's ControllerExpectations: per controller key, how many creates and deletes it
 * made and has not yet seen through its informer. A controller syncs a key only when they
 * are met (or five minutes passed): a slow watch never makes it act twice. Thread-safe. */
struct ctrl_expect;
struct ctrl_expect *ctrl_expect_new(void);
void ctrl_expect_free(struct ctrl_expect *e);
void ctrl_expect_set(struct ctrl_expect *e, const char *key, int adds, int dels);
void ctrl_expect_observe(struct ctrl_expect *e, const char *key, int adds, int dels);
bool ctrl_expect_satisfied(struct ctrl_expect *e, const char *key);
void ctrl_expect_delete(struct ctrl_expect *e, const char *key);

#endif
