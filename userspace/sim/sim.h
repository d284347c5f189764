/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim: `drover sim`, simulated nodes in the spirit of KWOK. One process plays N kubelets
 * against any Kubernetes-compatible API server, through kclient only: it registers N Node
 * objects as a kubelet registers its own (labels, podCIDR, capacity, conditions, nodeInfo),
 * renews each node's Lease in kube-node-lease, holds one pods watch per node with
 * fieldSelector=spec.nodeName=<node>, and writes each bound pod's status as the kubelet
 * writes it (Running and Ready with an IP from the node's podCIDR; Succeeded for pods of a
 * Job; finalized with a grace-0 delete after a deletion's grace period).
 *
 * Files: sim_flags.c (the command line into struct sim_config), sim_cidr.c (IPv4 ranges:
 * podCIDRs, node IPs, pod IPs), sim_objects.c (the Node, Lease and pod status documents,
 * pure functions of their inputs), sim.c (the runtime: queues, workers, nodes and leases),
 * sim_pods.c (the pods watches and the pod state machine).
 */
#ifndef DROVER_SIM_H
#define DROVER_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kclient.h"
#include "kubelet_objects.h"
#include "log.h"

/* The label every simulated node carries (value "true"), as KWOK marks its nodes with
 * type=kwok: a pod can select simulated nodes, and each sim watches the nodes with it. */
#define SIM_LABEL "drover.dev/sim"

/* An IPv4 network: address (host order) and prefix length. */
struct sim_net {
	uint32_t addr;
	unsigned prefix;
};

struct sim_config {
	unsigned nodes;	   /* --nodes N (1 with --name) */
	char *name;	   /* --name NAME: one node called NAME, or NULL */
	char *name_prefix; /* --name-prefix (default "sim-"): nodes PREFIX0..PREFIX<N-1> */
	char *cpu, *memory, *pods, *ephemeral_storage; /* capacity quantities */
	unsigned zones;		   /* --zones Z: topology zone labels over Z zones (0: none) */
	struct kubelet_kv *labels; /* --labels k=v,... */
	size_t nlabels;
	struct kubelet_taint *taints; /* --taints k=v:Effect,... */
	size_t ntaints;
	struct sim_net cluster_cidr; /* --cluster-cidr (default 10.244.0.0/16) */
	unsigned node_mask;	     /* --node-cidr-mask-size (default 24) */
	struct sim_net node_ips;     /* --node-ip-base (default 172.16.0.0/12) */
	double lease_renew_s;	     /* --lease-renew (default 2.5) */
	double job_seconds;	     /* --job-seconds (default 1) */
	int64_t max_grace_s;	     /* --max-grace (default -1: the pod's own) */
	char *kubeconfig;	     /* --kubeconfig, or NULL ($KUBECONFIG) */
	unsigned workers;	     /* --workers per queue (default 32) */
	enum log_level log_level;    /* --log-level (default info) */
	bool delete_on_exit;	     /* --delete-on-exit */

	/* what nodeInfo says (filled by the caller from the host; defaults when NULL) */
	const char *kernel_version, *os_image, *architecture, *runtime_version;
};

/* The zone and region of node i over cfg->zones zones ("zone-<i % Z>", "region"); NULL
 * without --zones. */
const char *sim_zone_of(const struct sim_config *c, unsigned i, char *buf, size_t size);

/* What the shared kubelet documents (kubelet_objects.h) need of c; out borrows c's strings. */
void sim_kubelet_config(const struct sim_config *c, struct kubelet_node_config *out);

/* Parse the arguments after "sim" (argv[0] is "sim") into c, with defaults for what they do
 * not name. 0, SIM_HELP (--help was given), or -EINVAL with one line in err. c is filled even
 * on error: release it with sim_config_free. */
#define SIM_HELP 1
int sim_config_parse(struct sim_config *c, int argc, char **argv, char *err, size_t errlen);
void sim_config_free(struct sim_config *c);
void sim_usage(FILE *out);
/* The name of node i (0-based) into buf. */
void sim_node_name(const struct sim_config *c, unsigned i, char *buf, size_t size);

struct sim;

/* Start simulating cfg's nodes through kc (borrowed; it outlives the sim): lists the nodes
 * that exist (their podCIDRs and IPs are taken), assigns each new node its ranges, then
 * registers the nodes and starts their Leases and pods watches on the workers. 0, or
 * -ENOSPC (the nodes do not fit the cluster CIDR; err says so), -errno. */
int sim_start(struct kclient *kc, const struct sim_config *cfg, struct sim **out, char *err,
	      size_t errlen);
/* Stop: no Lease is renewed after it returns; with delete_nodes the nodes and Leases are
 * deleted first. Frees the sim; NULL-tolerant. */
void sim_stop(struct sim *s, bool delete_nodes);

struct sim_stats {
	unsigned nodes, registered, leases, watching; /* nodes that got there */
	uint64_t lease_renewals, lease_errors;
	uint64_t pods_running, pods_succeeded, pods_deleted, status_errors;
	uint64_t node_reposts; /* Ready re-posted after the node was found not Ready */
	/* pods watches that ended (timeout or error), of which 410 Gone; nodes' pods listed
	 * again */
	uint64_t watch_ends, watch_gone, relists;
	double register_s; /* from start until every node was registered (0: not yet) */
	bool failed;	   /* an error no retry can mend; message in fail_msg */
	char fail_msg[512];
};
void sim_stats(struct sim *s, struct sim_stats *out);

#endif
