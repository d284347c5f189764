/* SPDX-License-Identifier: Apache-2.0 */
/*
 * controllers: drover's controller manager, kube-controller-manager's job inside `drover
 * server`: the controllers that drive actual state to desired state (ReplicaSet,
 * ReplicationController, Deployment, DaemonSet, Job, CronJob, StatefulSet, EndpointSlice,
 * node lifecycle, garbage collector, namespace, ServiceAccount, PodDisruptionBudget,
 * ResourceQuota), each a client of the API through kclient only — list+watch through shared
 * informers, writes through the API with its admission and optimistic concurrency — so that
 * the same code runs over the in-process transport or over HTTPS against any server.
 */
#ifndef DROVER_CONTROLLERS_H
#define DROVER_CONTROLLERS_H

#include <stdint.h>
#include <stdio.h>

#include "kclient.h"

struct ctrl_manager;
struct kc_informer;

struct ctrl_config {
	/* which controllers run, as kube-controller-manager's --controllers: a comma-separated
	 * list of names, "*" for every one on by default, "-name" to leave one out; NULL: "*" */
	const char *controllers;
	unsigned workers; /* worker threads per controller (0: 2) */
	/* node lifecycle: no Lease renewal for this long makes a node's Ready Unknown and taints
	 * it unreachable (0: 10 s; Kubernetes uses 40-50 s) */
	unsigned node_grace_s;
	/* node lifecycle's eviction rate limits, as kube-controller-manager's flags: NoExecute
	 * taints added per second per zone (--node-eviction-rate, 0: 0.1), in a partially
	 * disrupted zone of more than large_cluster_size nodes (--secondary-node-eviction-rate,
	 * 0: 0.01; 0 below it), the share of not-Ready nodes that makes a zone partially
	 * disrupted (--unhealthy-zone-threshold, 0: 0.55), and that size
	 * (--large-cluster-size-threshold, 0: 50) */
	double node_eviction_rate, secondary_node_eviction_rate, unhealthy_zone_threshold;
	unsigned large_cluster_size;
	/* the API server's own address, the endpoints of the `kubernetes` Service in
	 * "default" (NULL: they are not written) */
	const char *apiserver_ip;
	unsigned apiserver_port;
	/* the cluster CA the csrsigning controller signs kubelet client certificates with
	 * (--cluster-signing-cert-file/--cluster-signing-key-file, PEM); NULL: it signs none */
	const char *signing_cert_file, *signing_key_file;
	/* the root CA published as ConfigMap kube-root-ca.crt in every namespace (--root-ca-file,
	 * PEM); NULL: the publisher does nothing */
	const char *root_ca_file;
	/* nodeipam: the cluster's pod range (--cluster-cidr, IPv4; NULL: no podCIDRs given) and
	 * the prefix length of each node's part (--node-cidr-mask-size, 0: 24) */
	const char *cluster_cidr;
	unsigned node_cidr_mask;
	/* kubedns: keep the kube-dns Service's EndpointSlice listing every node's address,
	 * where its agent answers DNS (false: k3s's --disable coredns) */
	bool kube_dns_nodes;
	/* the local-path provisioner (rancher.io/local-path, localpath.c): the directory its
	 * volumes are made under on their node (k3s's --default-local-storage-path; NULL: the
	 * provisioner is off) and the image of its helper pods (NULL: busybox:latest) */
	const char *local_path_dir, *local_path_helper_image;
	/* the component name Events carry as their source ("drover-controller-manager") */
	const char *component;

	/* Test seams (zero in production). The Job controller's back-off of failed pods starts
	 * at job_backoff_ms (0: 10 s, as Kubernetes) and doubles up to 10 min. The CronJob
	 * controller reads the time from clock(clock_arg) (NULL: the wall clock); a clock a
	 * test moves by hand wakes no delayed queue, so with one set the controller also looks
	 * again every cronjob_poll_ms (0: 100 ms). */
	unsigned job_backoff_ms;
	int64_t (*clock)(void *arg);
	void *clock_arg;
	unsigned cronjob_poll_ms;
};

/* Start the controllers cfg names over kc (borrowed: it outlives the manager): their shared
 * informers are listed and synced, then their workers run. 0, or -EINVAL (an unknown
 * controller name, logged) / -errno. */
int ctrl_manager_start(struct kclient *kc, const struct ctrl_config *cfg,
		       struct ctrl_manager **out);
/* Stop every controller and informer; NULL-tolerant. */
void ctrl_manager_stop(struct ctrl_manager *m);
/* The manager's shared informer of kind k, or NULL: for tests, which hold it
 * (kc_informer_hold) to play a slow watch. */
struct kc_informer *ctrl_manager_informer(struct ctrl_manager *m, const struct k8s_kind *k);
/* 0 if every name of a --controllers list is a controller's (or "*", "-name"); else
 * -EINVAL with the first unknown one in bad. */
int ctrl_check_names(const char *list, char *bad, size_t size);
/* The controllers' names, one per line, "(off by default)" marked. */
void ctrl_list(FILE *out);

#endif
