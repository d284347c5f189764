/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent: `drover agent`, the kubelet's core on one node. It registers the node's Node (capacity
 * from the machine, labels, addresses; the podCIDR comes from the server's nodeipam), renews
 * its Lease, keeps NodeReady, and runs the pods bound to it (agent_pods.c): a network
 * namespace wired by a CNI plugin, containers started by drover's runtime over the local
 * image store, status written back as the kubelet writes it (kubelet_objects.h).
 *
 * Files: agent_flags.c (the command line), agent.c (client, Node, Lease, main loop),
 * agent_pods.c (pod sync; agent_hook.c the lifecycle hooks, agent_kill.c a container's stop,
 * agent_probe*.c the probes), agent_http.c, agent_logs.c, agent_exec.c (the kubelet endpoint:
 * logs and exec for the API server), agent_proxy.c (the eBPF service proxy on a thread of
 * its own), agent_dns.c and agent_dns_srv.c (the cluster DNS on the node's address),
 * agent_resolv.c (the pods' /etc/resolv.conf).
 */
#ifndef DROVER_AGENT_H
#define DROVER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kubelet_objects.h"
#include "log.h"

#define AGENT_ROOT		"/var/lib/drover/agent"
#define AGENT_LEASE_RENEW_S	10 /* kubelet: renewInterval = 0.25 * leaseDuration */
#define AGENT_CLUSTER_DOMAIN	"cluster.local"
/* the kube-dns Service's address: the 10th of the server's service range (10.96.0.0/16) */
#define AGENT_CLUSTER_DNS	"10.96.0.10"
/* New pods start on a few threads of their own (agent_pods.c): one per core of a small
 * node keeps both busy while a start waits on its CNI plugin or the API server. */
#define AGENT_START_WORKERS	2
#define AGENT_START_WORKERS_MAX 64

struct agent_config {
	char *kubeconfig; /* --kubeconfig (required) */
	/* --bootstrap-kubeconfig: join with it when --kubeconfig has no usable certificate */
	char *bootstrap_kubeconfig;
	char *node;	   /* --node (required) */
	char *root;	   /* --root */
	char *image_root;  /* --image-root */
	char *cni_bin_dir; /* --cni-bin-dir, or NULL: the drover binary's dir, then /usr/lib/cni */
	char *cni_conf;	   /* --cni-conf, or NULL: written from the podCIDR */
	char *cgroup_parent;	/* --cgroup-parent (default drover/NODE) */
	char *node_ip;		/* --node-ip, or NULL: the first global IPv4 address */
	int port;		/* --port: the kubelet endpoint (HTTPS), KUBELET_PORT by default */
	char *pin_root;		/* --pin-root: the proxy's bpffs pins (default the proxy's) */
	bool no_proxy;		/* --no-proxy: another proxy (kube-proxy) serves the node */
	bool no_telemetry;	/* --no-telemetry (the proxy's dp_opts.telemetry) */
	uint32_t tl_max_series; /* --telemetry-max-series */
	uint32_t tl_ringbuf_bytes; /* --telemetry-ringbuf-bytes */
	char *cluster_domain;	   /* --cluster-domain: the cluster DNS's zone (cluster.local) */
	char *cluster_dns;	   /* --cluster-dns: the pods' nameserver (the kube-dns Service) */
	bool no_dns;		   /* --no-dns: no cluster DNS on this node (pods' resolv.conf
			       * still names --cluster-dns) */
	/* --dns-upstream ADDR[:PORT] (repeatable) or none: where the cluster DNS forwards
	 * other names; none given: the node's /etc/resolv.conf */
	char **dns_upstreams;
	size_t n_dns_upstreams;
	unsigned start_workers;	   /* --pod-start-workers: new pods started side by side */
	struct kubelet_kv *labels; /* --labels k=v,... */
	size_t nlabels;
	enum log_level log_level;
	const char *version; /* drover's, for nodeInfo.containerRuntimeVersion (the caller's) */
};

/* Parse the arguments after "agent" (argv[0] is "agent"). 0, or -EINVAL with one line in
 * err; 1 for --help. */
int agent_config_parse(int argc, char **argv, struct agent_config *c, char *err, size_t errlen);
void agent_config_free(struct agent_config *c);

/* Run until *stop becomes true (polled); 0, or -errno after a fatal error (logged). */
int agent_run(const struct agent_config *c, bool (*stopping)(void));

#endif
