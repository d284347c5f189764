/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpointslice_int: the EndpointSlice controller's parts (internal): the controller
 * (endpointslice.c: handlers, the sync of one Service, the slice tracker) and the
 * reconciler that turns a Service's pods into the slices to create, update and delete with
 * as little churn as k8s.io/endpointslice's Reconciler (endpointslice_reconcile.c).
 */
#ifndef DROVER_CTRL_ENDPOINTSLICE_INT_H
#define DROVER_CTRL_ENDPOINTSLICE_INT_H

#include "ep_util.h"

#define EPS_MANAGED_BY	  "endpointslice.kubernetes.io/managed-by"
#define EPS_SERVICE_NAME  "kubernetes.io/service-name"
#define EPS_HEADLESS	  "service.kubernetes.io/headless"
#define EPS_CONTROLLER	  "endpointslice-controller.k8s.io"
#define EPS_TRIGGER_TIME  "endpoints.kubernetes.io/last-change-trigger-time"
/* maxEndpointsPerSlice: kube-controller-manager's --max-endpoints-per-slice default */
#define EPS_MAX_ENDPOINTS 100

/* endpointslice/util's EndpointSliceTracker: per Service, the resourceVersion of each
 * slice (by uid) as this controller last wrote it, or that it expects it deleted; so a
 * sync on a cache that has not caught up with its own writes is retried, and a slice event
 * that is only the echo of its own write triggers nothing. Thread-safe. */
struct eps_tracker;

struct eps_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *nodes, *slices; /* the Services and pods: the feed's */
	struct kc_queue *q;
	struct kc_workers *w;
	struct eps_tracker *tracker;
	struct ep_trigger *trig;
	unsigned max_per_slice;
	struct ep_feed feed;
};

void eps_tracker_update(struct eps_tracker *t, const char *svc, const char *uid, uint64_t rv);
void eps_tracker_expect_deletion(struct eps_tracker *t, const char *svc, const char *uid);

/* ---- what a slice holds (endpointslice_endpoint.c; trees in d) ---- */

/* hashEndpoint: what identifies an endpoint across syncs (addresses, hostname, the
 * target's namespace/name), so that a change of its conditions, node or zone rewrites it
 * in place. NULL on ENOMEM. */
const char *eps_endpoint_hash(struct jv_doc *d, const struct jv *ep);
/* EndpointsEqualBeyondHash: the same node, zone, conditions and target. */
bool eps_endpoints_equal_beyond_hash(const struct jv *a, const struct jv *b);
/* podToEndpoint for an address family (4, 6); node may be NULL. */
struct jv *eps_pod_endpoint(struct jv_doc *d, const struct jv *pod, const struct jv *node,
			    const struct jv *svc, int family);
/* NewPortMapKey: the same ports in any order make the same key. */
const char *eps_port_map_key(struct jv_doc *d, const struct jv *ports);
/* getEndpointPorts: the Service's ports resolved for the pod; those it lacks left out. */
struct jv *eps_endpoint_ports(struct jv_doc *d, const struct jv *svc, const struct jv *pod);
/* setEndpointSliceLabels: the Service's labels and the reserved ones; *changed when the
 * slice's own (reserved ones aside) differ from the Service's. */
struct jv *eps_slice_labels(struct jv_doc *d, const struct jv *slice, const struct jv *svc,
			    bool *changed);
/* newEndpointSlice: generateName "<service>-", the labels, a controller ownerReference to
 * the Service, no endpoints; ports NULL: none. */
struct jv *eps_new_slice(struct jv_doc *d, const struct jv *svc, const struct jv *ports,
			 const char *addr_type);
/* ownedBy: an ownerReference to this Service (by uid). */
bool eps_owned_by(const struct jv *slice, const struct jv *svc);

/* Reconcile a Service's slices (existing: its managed slices not being deleted, parsed in
 * d) with its pods: create, update and delete through the client. trigger: the
 * last-change trigger time (-1: none). 0, or -EAGAIN with the reason in err (a write
 * failed, or a pod's node is not known yet). */
int eps_reconcile(struct eps_ctrl *s, struct jv_doc *d, const struct jv *svc, struct jv **pods,
		  size_t npods, struct jv **existing, size_t nexisting, int64_t trigger, char *err,
		  size_t errlen);

#endif
