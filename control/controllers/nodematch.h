/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodematch: does a pod fit a node by its nodeSelector and required node affinity, and does
 * it tolerate a taint — component-helpers' nodeaffinity and v1helper's toleration matching,
 * on jv trees, for controllers that decide placement themselves (the DaemonSet controller).
 */
#ifndef DROVER_CTRL_NODEMATCH_H
#define DROVER_CTRL_NODEMATCH_H

#include <stdbool.h>

#include "k8s_jv.h"

/* One NodeSelectorTerm (matchExpressions on labels with In, NotIn, Exists, DoesNotExist, Gt,
 * Lt; matchFields on metadata.name); an empty term matches nothing. */
bool ctrl_node_term_matches(const struct jv *term, const struct jv *node);
/* GetRequiredNodeAffinity(pod).Match(node): spec.nodeSelector and the required terms. */
bool ctrl_node_affinity_fits(const struct jv *podspec, const struct jv *node);
/* Toleration.ToleratesTaint */
bool ctrl_tolerates(const struct jv *toleration, const struct jv *taint);
/* Is a taint with one of the effects (bit 0 NoSchedule, 1 PreferNoSchedule, 2 NoExecute)
 * left untolerated by tolerations? */
bool ctrl_untolerated(const struct jv *taints, const struct jv *tolerations, unsigned effects);

#endif
