/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_objects: the documents `drover sim` writes, as the kubelet writes them: the Node it
 * registers, its status (conditions keep their lastTransitionTime while their status holds),
 * the node's Lease, and the pod status patches (Running and Ready; Succeeded for a Job's
 * pod). Pure functions of their inputs (the time is an argument), so unit tests pin them.
 * Objects the client sends as trees (create, update) are built in the caller's jv_doc;
 * patches are malloc'd JSON text (NULL with errno ENOMEM).
 */
#ifndef DROVER_SIM_OBJECTS_H
#define DROVER_SIM_OBJECTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "k8s_jv.h"
#include "sim.h"

#define SIM_KUBELET_VERSION "v1.32.4"
#define SIM_LEASE_NAMESPACE "kube-node-lease"
#define SIM_LEASE_SECONDS   40 /* kubelet's nodeLeaseDurationSeconds */
#define SIM_KUBELET_PORT    10250

/* What makes one node itself. */
struct sim_node_info {
	const char *name;
	const char *pod_cidr;	   /* "10.244.3.0/24" */
	const char *internal_ip;   /* "172.16.0.4" */
	const char *zone, *region; /* topology labels, or NULL */
};

/* metav1.Time ("2006-01-02T15:04:05Z") and metav1.MicroTime
 * ("2006-01-02T15:04:05.000000Z") of a wall-clock time, into buf (32 bytes). */
const char *sim_time_str(time_t t, char *buf);
const char *sim_microtime_str(const struct timespec *ts, char *buf);
/* Seconds since the epoch of a metav1.Time, or -1. */
time_t sim_time_parse(const char *s);

/* The zone and region of node i over cfg->zones zones ("zone-<i % Z>", "region"); NULL
 * without --zones. */
const char *sim_zone_of(const struct sim_config *c, unsigned i, char *buf, size_t size);

/* The Node to create (metadata, spec with podCIDR(s) and taints, status), a tree in d; NULL
 * on ENOMEM. */
struct jv *sim_node_obj(struct jv_doc *d, const struct sim_config *c, const struct sim_node_info *n,
			const char *now);
/* A strategic merge patch of metadata.labels (ours) and, when the node has none, spec.podCIDR
 * and spec.podCIDRs: what a kubelet reconciles on a node that already exists. */
char *sim_node_reconcile_patch(const struct sim_config *c, const struct sim_node_info *n,
			       const struct jv *cur, size_t *len);
/* A strategic merge patch of nodes/status. full: capacity, allocatable, conditions,
 * addresses, daemonEndpoints and nodeInfo (a kubelet's first post); else the conditions
 * only (the kubelet's periodic report, and its answer to a node controller that marked the
 * node Unknown). cur: the node as the server has it (NULL: none), whose conditions keep
 * their lastTransitionTime when their status stays. */
char *sim_node_status_patch(const struct sim_config *c, const struct sim_node_info *n,
			    const struct jv *cur, const char *now, bool full, size_t *len);
/* Ready condition status of a node ("True", "False", "Unknown"), or NULL. */
const char *sim_node_ready(const struct jv *node);

/* The node's Lease (coordination.k8s.io/v1) with renewTime now_micro, a tree in d; rv NULL
 * or "" for a create, else the resourceVersion the update is conditional on; node_uid NULL:
 * no ownerReference. NULL on ENOMEM. */
struct jv *sim_lease_obj(struct jv_doc *d, const char *node, const char *node_uid, const char *rv,
			 const char *now_micro);

/* Docker's reference normalisation as containerd reports a container's image:
 * "nginx" -> "docker.io/library/nginx:latest", "quay.io/a/b@sha256:.." kept. */
void sim_image_normalize(const char *image, char *buf, size_t size);

/* True when the pod is owned by a Job (an ownerReference of kind Job). */
bool sim_pod_is_job(const struct jv *pod);

/* The pods/status strategic merge patch the kubelet writes when the pod's containers run:
 * phase Running, hostIP(s), podIP(s), startTime, the kubelet's conditions in its order
 * (PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled) and the
 * container statuses (init containers Completed, sidecars and containers running, ready,
 * started). metadata.uid makes the patch conditional on the pod being the one seen. */
char *sim_pod_running_patch(const struct jv *pod, const char *host_ip, const char *pod_ip,
			    const char *now, size_t *len);
/* Phase Succeeded: containers terminated (exit code 0, reason Completed, startedAt started),
 * Ready and ContainersReady False with reason PodCompleted. */
char *sim_pod_succeeded_patch(const struct jv *pod, const char *host_ip, const char *pod_ip,
			      const char *started, const char *now, size_t *len);

#endif
