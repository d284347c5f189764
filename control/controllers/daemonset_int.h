/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemonset_int: what the DaemonSet controller's files share (daemonset.c: informers, the
 * sync, pods per node, status; daemonset_update.c: which nodes should run a daemon pod, the
 * ControllerRevision history and the rolling update).
 */
#ifndef DROVER_CTRL_DAEMONSET_INT_H
#define DROVER_CTRL_DAEMONSET_INT_H

#include <pthread.h>

#include "ctrl.h"
#include "hmap.h"

struct ds_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *dss, *pods, *nodes, *revs;
	struct kc_queue *q;
	struct kc_workers *w;
	struct ctrl_expect *exp;
	/* failedPodsBackoff: per DaemonSet, generation and node, 1 s doubling to 15 min */
	pthread_mutex_t lock;
	struct hmap *backoff; /* key -> struct ds_backoff */
};

struct ds_backoff {
	int64_t delay_ms, last_ms;
};

/* The daemon pods of one node (node NULL: pods whose node is not in the cache). */
struct ds_node {
	const struct jv *node;
	const char *name;
	struct jv **pods; /* sorted oldest first */
	size_t npods;
	bool should_run, should_continue;
};

/* One sync's view of a DaemonSet. */
struct ds_sync {
	struct ds_ctrl *dc;
	struct jv_doc *d;
	const char *key;
	struct jv *ds;
	char hash[64];	       /* the current revision's controller-revision-hash */
	struct ds_node *nodes; /* every node, then the pods' nodes that are gone */
	size_t nnodes;
	struct jv **old_revs; /* revisions not matching the template */
	size_t nold;
};

/* daemonset_update.c */

/* NodeShouldRunDaemonPod: the template (with the daemon tolerations) fits the node by
 * nodeName, nodeSelector, required node affinity and NoSchedule/NoExecute taints; should
 * continue: a pod there may stay (no untolerated NoExecute taint). */
void ds_node_should_run(const struct jv *ds, const struct jv *node, bool *run, bool *cont);
/* The tolerations every daemon pod gets (AddOrUpdateDaemonPodTolerations). */
void ds_add_tolerations(struct jv_doc *d, struct jv *podspec);
/* The pod's node: spec.nodeName, else its matchFields metadata.name affinity. */
const char *ds_pod_target_node(const struct jv *pod);
/* constructHistory: the current revision (made if missing) into s->hash, the others into
 * s->old_revs. 0, -EAGAIN (a collision or a stale cache: later), -errno. */
int ds_history(struct ds_sync *s);
/* cleanupHistory: old revisions past revisionHistoryLimit no live pod uses. */
void ds_history_cleanup(struct ds_sync *s);
/* IsPodUpdated */
bool ds_pod_updated(const struct ds_sync *s, const struct jv *pod);
/* rollingUpdate: pods to delete (*del) and nodes to create on (*create), arrays in s->d. */
void ds_rolling_update(struct ds_sync *s, const char ***del, size_t *ndel, const char ***create,
		       size_t *ncreate);
/* An intstr (number or "N%") scaled against total, rounded up. */
int64_t ds_scaled(const struct jv *v, int64_t total, int64_t dflt);

#endif
