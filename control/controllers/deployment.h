/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deployment: what the Deployment controller's files share (internal): one sync's state (the
 * Deployment and its ReplicaSets, parsed into one jv_doc), the writes every step makes
 * (ReplicaSet scale with its Event, Deployment status), and kube's deploymentutil:
 * pod-template-hash, the maxSurge/maxUnavailable fenceposts, revision and replica
 * annotations, conditions, orderings.
 *
 *   deployment.c          informers, the sync dispatcher, claiming ReplicaSets, the new
 *                         ReplicaSet (getNewReplicaSet), writes
 *   deployment_rollout.c  rolling update, recreate, proportional scaling, cleanup, status
 *   deployment_util.c     kube's deploymentutil
 */
#ifndef DROVER_CTRL_DEPLOYMENT_H
#define DROVER_CTRL_DEPLOYMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "workload.h"

#define DP_REVISION		 "deployment.kubernetes.io/revision"
#define DP_REVISION_HISTORY	 "deployment.kubernetes.io/revision-history"
#define DP_DESIRED		 "deployment.kubernetes.io/desired-replicas"
#define DP_MAX			 "deployment.kubernetes.io/max-replicas"
#define DP_HASH_LABEL		 "pod-template-hash"
#define DP_MAX_REV_HISTORY_CHARS 2000

/* Condition reasons (deploymentutil) */
#define DP_R_NEW_RS	      "NewReplicaSetCreated"
#define DP_R_FOUND_NEW_RS     "FoundNewReplicaSet"
#define DP_R_RS_UPDATED	      "ReplicaSetUpdated"
#define DP_R_NEW_RS_AVAILABLE "NewReplicaSetAvailable"
#define DP_R_TIMED_OUT	      "ProgressDeadlineExceeded"
#define DP_R_PAUSED	      "DeploymentPaused"
#define DP_R_RESUMED	      "DeploymentResumed"
#define DP_R_FAILED_RS_CREATE "ReplicaSetCreateError"
#define DP_R_MIN_AVAILABLE    "MinimumReplicasAvailable"
#define DP_R_MIN_UNAVAILABLE  "MinimumReplicasUnavailable"

struct dp_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *dps, *rss, *pods;
	struct kc_queue *q;
	struct kc_workers *w;
};

/* A ReplicaSet of the Deployment, as this sync knows it. */
struct dp_rs {
	struct jv *t; /* the tree, in the sync's doc (replaced after each write) */
	const char *name, *uid;
	int64_t replicas; /* spec.replicas */
	int64_t st_replicas, st_ready, st_avail;
	int64_t created; /* creationTimestamp, seconds */
	bool deleting;
};

struct dp_sync {
	struct dp_ctrl *s;
	const char *key, *ns;
	struct jv_doc *d;
	struct jv *dep;	  /* the Deployment; status edited in place, resourceVersion kept current */
	int64_t replicas; /* spec.replicas */
	struct dp_rs **rss; /* its ReplicaSets after claiming */
	size_t nrss;
	struct dp_rs *new_rs; /* the one whose template is the Deployment's, or NULL */
	struct dp_rs **old;   /* every other */
	size_t nold;
};

/* ---- deployment.c ---- */

/* kube's getAllReplicaSetsAndSyncRevision: find (or, create true, make) the new ReplicaSet,
 * sync its annotations and the Deployment's revision; sets y->new_rs and y->old. */
int dp_sync_revision(struct dp_sync *y, bool create);
/* Scale rs to n (and refresh its replica annotations), with kube's ScalingReplicaSet Event
 * when the size changed: *scaled (may be NULL) tells. */
int dp_scale_rs(struct dp_sync *y, struct dp_rs *rs, int64_t n, bool *scaled);
/* The same with the Event's operation given ("up", "down"; proportional scaling's). */
int dp_scale_rs_op(struct dp_sync *y, struct dp_rs *rs, int64_t n, const char *op, bool *scaled);
/* Write the Deployment's status as it is in y->dep (the status subresource). */
int dp_write_status(struct dp_sync *y);
/* Set a ReplicaSet from a tree (its cached fields). */
void dp_rs_load(struct dp_rs *r, struct jv *t);

/* ---- deployment_rollout.c ---- */

int dp_rollout_rolling(struct dp_sync *y);
int dp_rollout_recreate(struct dp_sync *y);
/* kube's sync: scaling events and paused Deployments. */
int dp_sync_scale(struct dp_sync *y);
/* Only the status (a Deployment being deleted). */
int dp_sync_status_only(struct dp_sync *y);

/* ---- deployment_util.c ---- */

/* kube's ComputeHash rendered with SafeEncodeString, into out (16 bytes): FNV-32a of the
 * template (see deployment_util.c for how its bytes differ from Go's deep-hash printing),
 * then the collision count (if any) as 8 little-endian bytes. */
void dp_template_hash(const struct jv *tmpl, const int64_t *collision, char *out);
/* intstr.GetScaledValueFromIntOrPercent: 0, or -EINVAL for a string not a percentage. */
int dp_scaled_value(const struct jv *v, int64_t total, bool round_up, int64_t *out);
bool dp_is_rolling(const struct jv *dep);
int64_t dp_max_surge(const struct jv *dep);
int64_t dp_max_unavailable(const struct jv *dep);
/* progressDeadlineSeconds is set (and not MaxInt32): its value into *secs. */
bool dp_progress_deadline(const struct jv *dep, int64_t *secs);
/* Templates equal once the pod-template-hash label is left out of both. */
bool dp_equal_ignore_hash(const struct jv *a, const struct jv *b);
/* An annotation's value, or NULL. */
const char *dp_annotation(const struct jv *obj, const char *key);
/* The revision annotation as a number (0 when absent or not a number). */
int64_t dp_revision(const struct jv *rs);
void dp_set_annotation(struct jv_doc *d, struct jv *obj, const char *key, const char *val);

/* kube's SetReplicasAnnotations / ReplicasAnnotationsNeedUpdate. */
bool dp_set_replicas_annotations(struct jv_doc *d, struct jv *rs, int64_t desired, int64_t max);
bool dp_replicas_annotations_need_update(const struct jv *rs, int64_t desired, int64_t max);
/* kube's SetNewReplicaSetAnnotations: true if rs's annotations changed. */
bool dp_set_new_rs_annotations(struct jv_doc *d, const struct jv *dep, struct jv *rs,
			       const char *new_revision, bool exists);

/* Orderings (controller.ReplicaSetsByCreationTimestamp and friends). */
void dp_sort_created(struct dp_rs **v, size_t n, bool newest_first);
void dp_sort_revision(struct dp_rs **v, size_t n);
/* Larger first; of equal size the newer (newer true) or the older first. */
void dp_sort_size(struct dp_rs **v, size_t n, bool newer);

/* Sums over ReplicaSets (NULL entries skipped). */
int64_t dp_sum_spec(struct dp_rs *const *v, size_t n);
int64_t dp_sum_actual(struct dp_rs *const *v, size_t n);
int64_t dp_sum_ready(struct dp_rs *const *v, size_t n);
int64_t dp_sum_avail(struct dp_rs *const *v, size_t n);
/* The pods that are or will be: per ReplicaSet the larger of spec.replicas and
 * status.replicas. kube's NewRSNewReplicas counts spec.replicas only, so the new pods of a
 * surge may be made before the old ones a scale-down removes are deleted, and for a moment
 * more than replicas + maxSurge pods run; counting an old ReplicaSet's pods until its
 * controller has seen them go keeps that bound at every moment (the rollout's states and
 * end are kube's; it only waits for each deletion to be seen). */
int64_t dp_sum_pods(struct dp_rs *const *v, size_t n);

/* Deployment conditions, kube's way: set (nothing if status and reason are the same; the
 * transition time kept if the status is), remove. st is the status object. */
struct jv *dp_condition(const struct jv *st, const char *type);
void dp_set_condition(struct jv_doc *d, struct jv *st, const char *type, const char *status,
		      const char *reason, const char *msg);
void dp_remove_condition(struct jv *st, const char *type);

#endif
