/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubelet_objects: the documents a kubelet writes, shared by `drover agent` (a real node) and
 * `drover sim` (simulated ones): the Node it registers, its status (conditions keep their lastTransitionTime while their status holds),
 * the node's Lease, and the pod status patches (Running and Ready; Succeeded for a Job's
 * pod). Pure functions of their inputs (the time is an argument), so unit tests pin them.
 * Objects the client sends as trees (create, update) are built in the caller's jv_doc;
 * patches are malloc'd JSON text (NULL with errno ENOMEM).
 */
#ifndef DROVER_KUBELET_OBJECTS_H
#define DROVER_KUBELET_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "k8s_jv.h"

struct kclient;
struct kc_status;
struct k8s_kind;

#define KUBELET_VERSION		"v1.32.4"
#define KUBELET_LEASE_NAMESPACE "kube-node-lease"
#define KUBELET_LEASE_SECONDS	40 /* kubelet's nodeLeaseDurationSeconds */
#define KUBELET_PORT		10250

struct kubelet_kv {
	char *key, *value;
};

struct kubelet_taint {
	char *key, *value, *effect;
};

/* What every node of one kind shares: capacity quantities, extra labels and taints, and what
 * nodeInfo says (defaults when NULL). */
struct kubelet_node_config {
	const char *cpu, *memory, *pods, *ephemeral_storage;
	const struct kubelet_kv *labels;
	size_t nlabels;
	const struct kubelet_taint *taints;
	size_t ntaints;
	const char *marker_label; /* a label set to "true" (sim's drover.dev/sim), or NULL */
	const char *kernel_version, *os_image, *architecture, *runtime_version;
};

/* What makes one node itself. */
struct kubelet_node_info {
	const char *name;
	const char *pod_cidr;	   /* "10.244.3.0/24"; NULL: the server allocates it */
	const char *internal_ip;   /* "172.16.0.4" */
	const char *zone, *region; /* topology labels, or NULL */
	int kubelet_port;	   /* daemonEndpoints.kubeletEndpoint.Port; 0: KUBELET_PORT */
};

/* metav1.Time ("2006-01-02T15:04:05Z") and metav1.MicroTime
 * ("2006-01-02T15:04:05.000000Z") of a wall-clock time, into buf (32 bytes). */
const char *kubelet_time_str(time_t t, char *buf);
const char *kubelet_microtime_str(const struct timespec *ts, char *buf);
/* Seconds since the epoch of a metav1.Time, or -1. */
time_t kubelet_time_parse(const char *s);

/* The Node to create (metadata, spec with podCIDR(s) and taints, status), a tree in d; NULL
 * on ENOMEM. */
struct jv *kubelet_node_obj(struct jv_doc *d, const struct kubelet_node_config *c,
			    const struct kubelet_node_info *n, const char *now);
/* A strategic merge patch of metadata.labels (ours) and, when the node has none, spec.podCIDR
 * and spec.podCIDRs: what a kubelet reconciles on a node that already exists. */
char *kubelet_node_reconcile_patch(const struct kubelet_node_config *c,
				   const struct kubelet_node_info *n, const struct jv *cur,
				   size_t *len);
/* A strategic merge patch of nodes/status. full: capacity, allocatable, conditions,
 * addresses, daemonEndpoints and nodeInfo (a kubelet's first post); else the conditions
 * only (the kubelet's periodic report, and its answer to a node controller that marked the
 * node Unknown). cur: the node as the server has it (NULL: none), whose conditions keep
 * their lastTransitionTime when their status stays. */
char *kubelet_node_status_patch(const struct kubelet_node_config *c,
				const struct kubelet_node_info *n, const struct jv *cur,
				const char *now, bool full, size_t *len);
/* Ready condition status of a node ("True", "False", "Unknown"), or NULL. */
const char *kubelet_node_ready(const struct jv *node);

/* The node's Lease (coordination.k8s.io/v1) with renewTime now_micro, a tree in d; rv NULL
 * or "" for a create, else the resourceVersion the update is conditional on; node_uid NULL:
 * no ownerReference. NULL on ENOMEM. */
struct jv *kubelet_lease_obj(struct jv_doc *d, const char *node, const char *node_uid,
			     const char *rv, const char *now_micro);

/* Docker's reference normalisation as containerd reports a container's image:
 * "nginx" -> "docker.io/library/nginx:latest", "quay.io/a/b@sha256:.." kept. */
void kubelet_image_normalize(const char *image, char *buf, size_t size);

/* True when the pod is owned by a Job (an ownerReference of kind Job). */
bool kubelet_pod_is_job(const struct jv *pod);

/* The pods/status strategic merge patch the kubelet writes when the pod's containers run:
 * phase Running, hostIP(s), podIP(s), startTime, the kubelet's conditions in its order
 * (PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled) and the
 * container statuses (init containers Completed, sidecars and containers running, ready,
 * started). metadata.uid makes the patch conditional on the pod being the one seen. */
char *kubelet_pod_running_patch(const struct jv *pod, const char *host_ip, const char *pod_ip,
				const char *now, size_t *len);
/* Phase Succeeded: containers terminated (exit code 0, reason Completed, startedAt started),
 * Ready and ContainersReady False with reason PodCompleted. */
char *kubelet_pod_succeeded_patch(const struct jv *pod, const char *host_ip, const char *pod_ip,
				  const char *started, const char *now, size_t *len);

/* ---- a real node's pod status (drover agent) ---- */

enum kubelet_ctr_state {
	KUBELET_CTR_WAITING = 0,
	KUBELET_CTR_RUNNING,
	KUBELET_CTR_TERMINATED,
};

/* One container's state (v1.ContainerState): waiting (reason/message), running (started_at),
 * terminated (exit_code, reason, message, started_at, finished_at, container_id). */
struct kubelet_ctr_state_info {
	enum kubelet_ctr_state state;
	const char *reason, *message;
	int exit_code;
	const char *started_at, *finished_at;
	const char *container_id;
};

/* One container's status as the kubelet reports it. */
struct kubelet_ctr_status {
	const char *name;
	const char *image;	  /* normalised name (docker.io/library/busybox:latest) */
	const char *image_id;	  /* "" while the image is not resolved */
	const char *container_id; /* "drover://HEX", or NULL when none was created */
	struct kubelet_ctr_state_info cur;
	bool has_last; /* lastState.terminated of the previous run */
	struct kubelet_ctr_state_info last;
	bool ready, started;
	bool sidecar; /* an init container with restartPolicy Always */
	int restart_count;
};

struct kubelet_pod_status {
	const char *phase; /* Pending, Running, Succeeded, Failed */
	const char *host_ip;
	const char *pod_ip;	/* NULL: none yet */
	const char *start_time; /* NULL: not set yet */
	bool sandbox_ready;	/* PodReadyToStartContainers */
	const struct kubelet_ctr_status *ctrs;
	size_t n_ctrs;
	const struct kubelet_ctr_status *init_ctrs; /* initContainerStatuses, spec order */
	size_t n_init;
	const struct kubelet_ctr_status *eph_ctrs; /* ephemeralContainerStatuses, spec order */
	size_t n_eph;
};

/* The pods/status strategic merge patch of a real pod's state, with the kubelet's conditions in
 * its order (PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled;
 * ContainersNotReady with "containers with unready status: [a b]", ContainersNotInitialized
 * with "containers with incomplete status: [a b]" until the init containers succeeded or a
 * container started, PodCompleted / PodFailed in a terminal phase), lastTransitionTime kept
 * while a condition's status holds (old: pod's status.conditions), initContainerStatuses
 * when the pod has init containers. metadata.uid makes it conditional on the pod seen. */
char *kubelet_pod_status_patch(const struct jv *pod, const struct kubelet_pod_status *s,
			       const char *now, size_t *len);

/* Syntax of names and labels (k8s.io/apimachinery validation): a DNS-1123 subdomain; a label
 * value of n bytes (empty allowed when empty_ok); a qualified label key. */
bool kubelet_dns_subdomain(const char *s);
bool kubelet_label_value(const char *s, size_t n, bool empty_ok);
bool kubelet_label_key(const char *s);
/* "k=v,k2=v2" (--labels) appended to *labels (malloc'd keys and values). 0, or -EINVAL /
 * -ENOMEM with one line in err. */
int kubelet_parse_labels(const char *arg, struct kubelet_kv **labels, size_t *nlabels, char *err,
			 size_t errlen);

/* nodeInfo from the host: PRETTY_NAME of /etc/os-release into buf ("" when unknown), and Go's
 * GOARCH for uname's machine ("x86_64" -> "amd64"). */
void kubelet_os_image(char *buf, size_t size);
const char *kubelet_goarch(const char *machine);

/* One renewal of node's Lease in kube-node-lease: an update on rv (the Lease's last
 * resourceVersion, "" when unknown: create); a conflict or an existing Lease is read again
 * and updated on its version, a Lease deleted under us is created again (the kubelet's
 * ensureLease), three attempts. rv (rvlen bytes) holds the new version after; 0 or -errno
 * with st the server's answer. */
int kubelet_lease_renew(struct kclient *kc, const struct k8s_kind *k_lease, const char *node,
			const char *node_uid, char *rv, size_t rvlen, struct kc_status *st);

#endif
