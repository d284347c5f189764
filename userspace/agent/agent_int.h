/* SPDX-License-Identifier: Apache-2.0 */
/* agent_int: the agent's state shared by agent.c (node, lease) and agent_pods.c (pods). */
#ifndef DROVER_AGENT_INT_H
#define DROVER_AGENT_INT_H

#include <limits.h>
#include <stdatomic.h>

#include "agent.h"
#include "kclient.h"

#define AGENT_COMP "agent"

struct agent_pods;
struct cg_layout;
struct agent_http;
struct agent_proxy;
struct agent_routes;
struct agent_telemetry;
struct agent_dns;
struct kc_informer;
struct tl_exporter;

struct agent {
	const struct agent_config *cfg;
	struct kclient *kc;
	const struct k8s_kind *k_node, *k_pod, *k_lease;
	struct kubelet_node_config kcfg;
	char node_uid[64];
	char lease_rv[32];
	char node_ip[64];
	char pod_cidr[64];
	char cni_conf[PATH_MAX + 64]; /* the network configuration file the pods are wired with */
	char cni_bin_dir[4096];
	char cpu[24], memory[32], pods[8], storage[32];
	char os_image[128], kernel[128], runtime_version[64];
	struct cg_layout *cg_layout; /* the host's cgroups, read once at start */
	struct agent_pods *ps;
	struct agent_http *http;
	struct agent_proxy *px; /* NULL with --no-proxy */
	struct agent_routes *routes;
	struct agent_telemetry *tl;  /* /metrics and /flows (agent_telemetry.c) */
	struct kc_informer *svc_inf; /* every Service: the containers' service variables, DNS */
	struct agent_dns *dns;	     /* the cluster DNS (agent_dns_srv.c); NULL with --no-dns */
};

/* Pod sync (agent_pods.c): start after the node has its podCIDR; stop leaves pods running. */
int agent_pods_start(struct agent *a);
void agent_pods_stop(struct agent *a);

/* The kubelet endpoint (agent_http.c): start serving, stop. */
int agent_http_start(struct agent *a);
void agent_http_stop(struct agent *a);
/* The service proxy (agent_proxy.c), started once the node IP is known; stop leaves the
 * dataplane in place. state: 1 ready (or --no-proxy), 0 not yet synced (pods wait), -errno:
 * the proxy failed. pin_root: the pins drover-cni attaches pods with, NULL with --no-proxy. */
int agent_proxy_start(struct agent *a);
int agent_proxy_state(struct agent *a);
const char *agent_proxy_pin_root(const struct agent *a);
void agent_proxy_stop(struct agent *a);
/* Telemetry (agent_telemetry.c): the exporter of --pin-root's telemetry maps and flow events,
 * and the pod cache that labels them. shutdown ends /flows followers (before the HTTP
 * daemon stops); stop frees. exporter: NULL before start. */
int agent_telemetry_start(struct agent *a);
struct tl_exporter *agent_telemetry_exporter(struct agent *a);
void agent_telemetry_shutdown(struct agent *a);
void agent_telemetry_stop(struct agent *a);
/* TLS bootstrap (agent_join.c): with --bootstrap-kubeconfig and no usable certificate in
 * --kubeconfig, get one through a CertificateSigningRequest and write --kubeconfig. 0 (also
 * when there is nothing to do) or -errno after a logged error. */
int agent_join(const struct agent_config *cfg, bool (*stopping)(void));

/* Routes to the other nodes' podCIDRs (agent_routes.c); stop leaves the routes in place. */
int agent_routes_start(struct agent *a);
void agent_routes_stop(struct agent *a);
/* The services' environment variables (agent_svcenv.c): start/stop the Service informer;
 * agent_service_env appends a pod's (namespace ns, spec.enableServiceLinks links) to out,
 * -EINVAL with the kubelet's message in err before the services were listed once. */
struct env_list;
int agent_svcenv_start(struct agent *a);
void agent_svcenv_stop(struct agent *a);
int agent_service_env(struct agent *a, const char *ns, bool links, struct env_list *out, char *err,
		      size_t errlen);

/* The Service informer's index of cluster IPs ("10.96.0.10"): PTR records. */
#define AGENT_SVC_IP_INDEX "clusterIP"

/* The cluster DNS (agent_dns_srv.c) on the node's address, port 53, from svc_inf and an
 * EndpointSlice informer of its own: start after agent_svcenv_start (0 at once with
 * --no-dns); stop (NULL-tolerant) before agent_svcenv_stop. */
int agent_dns_start(struct agent *a);
void agent_dns_stop(struct agent *a);
/* The pod's /etc/resolv.conf as the kubelet writes it for its dnsPolicy and dnsConfig
 * (agent_resolv.c), into path. 0, or -errno with the reason in err. */
int agent_resolv_write(const struct agent *a, const struct jv *pod, const char *path, char *err,
		       size_t errlen);

#endif
