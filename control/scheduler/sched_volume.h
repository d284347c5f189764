/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_volume: what the scheduler does about a pod's PersistentVolumeClaims (kube-scheduler's
 * VolumeBinding plugin, minimal case): sched_volume.c.
 */
#ifndef DROVER_SCHED_VOLUME_H
#define DROVER_SCHED_VOLUME_H

#include <stdbool.h>

#include "kclient.h"

/* Does the pod have a persistentVolumeClaim volume? */
bool sched_volume_has_claims(const struct jv *pod);
/* The pod as the core should filter it: an unscheduled pod's tree with the required node
 * affinity of each bound claim's volume ANDed into its own (a copy in d), or pod itself. */
struct jv *sched_volume_pod(struct kclient *kc, struct jv_doc *d, const struct jv *pod);
/* Before the pod is bound to node: its unbound WaitForFirstConsumer claims get
 * volume.kubernetes.io/selected-node = node. */
void sched_volume_prebind(struct kclient *kc, const struct jv *pod, const char *node);

#endif
