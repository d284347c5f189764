/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statefulset_int: what the StatefulSet controller's files share (statefulset.c: informers,
 * revisions, status and history; statefulset_pods.c: the pods and claims of each ordinal and
 * the OrderedReady / Parallel / rolling update rules of stateful_set_control.go).
 */
#ifndef DROVER_CTRL_STATEFULSET_INT_H
#define DROVER_CTRL_STATEFULSET_INT_H

#include "ctrl.h"

struct sts_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *sets, *pods, *revs, *pvcs;
	struct kc_queue *q;
	struct kc_workers *w;
};

/* One replica slot: the pod the cache has (created) or the one to make. */
struct sts_replica {
	struct jv *pod;
	bool created;
	int64_t ordinal;
};

struct sts_sync {
	struct sts_ctrl *sc;
	struct jv_doc *d;
	const char *key;
	struct jv *set;
	struct jv *cur_rev, *upd_rev; /* ControllerRevisions */
	struct jv *cur_set, *upd_set; /* the set with each revision's template */
	int64_t collision;
	struct sts_replica *replicas; /* [replicas]: ordinals start..start+replicas-1 */
	size_t nreplicas;
	struct jv **condemned; /* pods past the range, highest ordinal first */
	size_t ncondemned;
	/* status counts */
	int64_t st_replicas, st_ready, st_avail, st_current, st_updated;
};

/* statefulset_pods.c */
int64_t sts_ordinal(const struct jv *set, const struct jv *pod);
const char *sts_pod_revision(const struct jv *pod);
/* The pod of ordinal (in s->d) from the current or update revision's set. */
struct jv *sts_new_pod(struct sts_sync *s, int64_t ordinal);
/* updateStatefulSet's pod work; 0 or -errno (status counts are left in s). */
int sts_update_pods(struct sts_sync *s);
void sts_count(struct sts_sync *s);

#endif
