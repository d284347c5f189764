/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_quota: what ResourceQuota counts, shared by the API's quota admission (registry/
 * quota.c) and the resourcequota controller (control/controllers/resourcequota.c), as both
 * share pkg/quota/v1 in Kubernetes: resource lists of quantities (added, masked, compared,
 * printed as resource.Quantity prints them), the usage of one object (its evaluator: pods'
 * compute requests and limits, services' node ports and load balancers, claims' storage (the
 * larger of request and allocation, in whole bytes), and count/<resource> for every kind),
 * which quota resource names an evaluator tracks, which evaluators handle updates, the quota
 * scopes (Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass,
 * CrossNamespacePodAffinity) and the pod constraints (a container must state what a quota
 * on cpu or memory limits).
 *
 * Quantities are kept in milli-units (k8s_quantity_parse's MilliValue, int64, saturating);
 * each remembers whether it was written in binary suffixes (Ki, Mi, ...), as a Quantity's
 * format, so sums print as Kubernetes prints them ("1536Mi", "1500m", "2k").
 */
#ifndef DROVER_API_QUOTA_H
#define DROVER_API_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_jv.h"

#define API_RLIST_MAX 64 /* resources of one list (a quota's hard, an object's usage) */

struct api_rq {
	char name[128];
	int64_t milli;
	bool binary; /* printed with binary suffixes (BinarySI) */
};

/* A ResourceList: names are unique; order is insertion (printing sorts). */
struct api_rlist {
	size_t n;
	struct api_rq it[API_RLIST_MAX];
};

/* Parse an object of quantity strings (spec.hard, status.used): 0, or -EINVAL (a value that
 * is not a quantity, or more than API_RLIST_MAX names). Absent or null: an empty list. */
int api_rlist_parse(const struct jv *obj, struct api_rlist *out);
const struct api_rq *api_rlist_get(const struct api_rlist *l, const char *name);
/* Add milli to name (made if absent; a sum keeps the format of its first non-zero term).
 * 0 or -ENOSPC. */
int api_rlist_add(struct api_rlist *l, const char *name, int64_t milli, bool binary);
/* Set name to the larger of its value and milli (maxResourceList). */
int api_rlist_max(struct api_rlist *l, const char *name, int64_t milli, bool binary);
/* Add every item of b to a. */
int api_rlist_sum(struct api_rlist *a, const struct api_rlist *b);
/* a - b, each item at least 0 (quota.SubtractWithNonNegativeResult; names only b has are
 * left out: they would be zeros). */
void api_rlist_sub_floor(struct api_rlist *a, const struct api_rlist *b);
/* Keep only the names mask has (quota.Mask). */
void api_rlist_mask(struct api_rlist *l, const struct api_rlist *mask);
/* Drop the zero items (quota.RemoveZeros). */
void api_rlist_remove_zeros(struct api_rlist *l);
bool api_rlist_equal(const struct api_rlist *a, const struct api_rlist *b);
/* As a JSON object, keys sorted (as Go encodes a map). NULL on ENOMEM. */
struct jv *api_rlist_jv(struct jv_doc *d, const struct api_rlist *l);
/* prettyPrint: "requests.cpu=1,requests.memory=1Gi" (sorted). */
const char *api_rlist_pretty(const struct api_rlist *l, char *buf, size_t size);
/* prettyPrintResourceNames: "limits.cpu,pods" (sorted). */
const char *api_rlist_names(const struct api_rlist *l, char *buf, size_t size);
/* The requests or limits ("requests", "limits") of a pod as PodRequests/PodLimits count
 * them (containers summed, init containers at their peak beside the sidecars), with
 * spec.overhead when overhead_too (LimitRanger's podRequests/podLimits leave it out).
 * 0 or -ENOSPC/-EINVAL. */
int api_pod_totals(const struct jv *pod, const char *which, bool overhead_too,
		   struct api_rlist *out);
/* A quantity as resource.Quantity.String() writes it, into buf. */
const char *api_quantity_string(int64_t milli, bool binary, char *buf, size_t size);

/* ---- evaluators: group and resource name the kind ("" and "pods") ---- */

/* Resources quota never counts (kube's ignored resources: Events). */
bool api_quota_ignored(const char *group, const char *resource);
/* Does the evaluator of group/resource handle an update of the object itself (Handles)?
 * Services (their type) and PersistentVolumeClaims (their storage request) do. */
bool api_quota_handles_update(const char *group, const char *resource);
/* count/<resource> (core) or count/<resource>.<group>, into buf. */
const char *api_quota_count_name(const char *group, const char *resource, char *buf, size_t size);
/* Does the evaluator of group/resource track this quota resource name (MatchingResources)? */
bool api_quota_tracks(const char *group, const char *resource, const char *name);
/* The usage of one object (Usage); now (seconds) decides whether a pod past its deletion
 * grace still counts. 0, or -ENOSPC/-EINVAL. */
int api_quota_usage(const char *group, const char *resource, const struct jv *obj, int64_t now,
		    struct api_rlist *out);
/* Do the quota's scopes (spec.scopes, spec.scopeSelector) select obj? A quota without
 * scopes selects everything; scopes select only pods. */
bool api_quota_scopes_match(const struct jv *quota, const char *group, const char *resource,
			    const struct jv *obj);
/* Pods: every container states what the quota's required resources ask (Constraints). 0, or
 * -EINVAL with "must specify limits.cpu for: c1,c2; ..." in msg. */
int api_quota_pod_constraints(const struct api_rlist *required, const struct jv *pod, char *msg,
			      size_t size);

#endif
