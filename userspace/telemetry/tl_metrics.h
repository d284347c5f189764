/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tl_metrics: the telemetry maps the dataplane pins (drover_abi.h's telemetry section, and
 * drv_stats1's drop reasons) read, summed over CPUs, labelled and written as Prometheus text
 * (tl_expo.h) for /metrics.
 *
 * Labels are Istio's standard ones: reporter ("source": the client side counted it;
 * "destination": the server side), source_workload/namespace/pod, destination_service
 * ("name.namespace.svc.<cluster domain>", from drv_names1 by the series' rev-NAT id),
 * destination_namespace/workload/pod, and for HTTP method and code. An address no pod
 * owns gets "unknown" in each of its labels, as Istio writes it: no address is ever a label
 * value, so the label sets are bounded by the series maps' (bounded) keys. Series whose
 * labels resolve alike are summed into one.
 */
#ifndef DROVER_TL_METRICS_H
#define DROVER_TL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover_abi.h"
#include "k8s_buf.h"
#include "k8s_jv.h"

#define TL_UNKNOWN "unknown"

struct tl_pod_ident {
	char ns[64];
	char pod[254];
	char workload[254];
};

/* Who owns an address: the agent's pod cache (agent_telemetry.c); any member may be NULL. */
struct tl_resolver {
	/* The pod whose IPv4 address (network order) this is: 0, or -ENOENT. */
	int (*pod_by_ip)(void *arg, uint32_t addr, struct tl_pod_ident *out);
	void *arg;
	const char *cluster_domain; /* NULL: "cluster.local" */
};

/* The pinned maps read (-1: not there, e.g. a dataplane without telemetry). */
struct tl_maps {
	int tcp, http, ctr, stats, names, ev;
	int svc, be; /* the proxy's drv_svc4 and drv_be4: the server side's service */
};

/* Counts kept in userspace (the agent's event ring, tl_flows.h). */
struct tl_extra {
	uint64_t ring_lost; /* events a follower missed: the ring went past it */
};

void tl_maps_init(struct tl_maps *m);
/* Open the pins under pin_root that are not open yet; the number open. */
int tl_maps_open(struct tl_maps *m, const char *pin_root);
void tl_maps_close(struct tl_maps *m);

/* Every family into out. 0, or -ENOMEM. */
int tl_metrics_write(const struct tl_maps *m, const struct tl_resolver *r, const struct tl_extra *x,
		     struct k8s_buf *out);

/* ---- labels (tl_labels.c) ---- */

/* A pod's workload, from its controller's ownerReference as Istio's GetDeployMetaFromPod
 * names it: a ReplicaSet "<deployment>-<pod-template-hash>" is the Deployment, a Job
 * "<cronjob>-<scheduled minutes>" the CronJob, another owner itself, no owner the pod. The
 * owners' own ownerReferences are not read: under the Node authorizer an agent may read
 * pods but not ReplicaSets or Jobs. */
void tl_workload_of(const struct jv *pod, char *out, size_t size);
/* The pod's identity (namespace, name, workload). */
void tl_pod_ident_of(const struct jv *pod, struct tl_pod_ident *out);
/* A drv_names1 entry ("namespace/name:port/proto") as the service's host name
 * ("name.namespace.svc.<domain>") and namespace; false if it is not of that form. */
bool tl_service_of(const char *entry, const char *domain, char *host, size_t hsize, char *ns,
		   size_t nsize);
/* The name of a drop reason (enum drv_stat_kind >= DRV_STAT_DROP_FIRST), or NULL. */
const char *tl_drop_reason(unsigned kind);
const char *tl_method_name(unsigned method);

#endif
