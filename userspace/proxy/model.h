/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model: Kubernetes Services and EndpointSlices as the proxy needs them, and the rules that
 * turn them into load-balancer frontends (kube-proxy's semantics):
 *
 *  - frontends: each IPv4 clusterIP x port (internal); nodePort on every node address, each
 *    externalIP and LoadBalancer ingress IP x port (external); an address listed twice gives
 *    one frontend, of the first of those kinds. Headless and ExternalName services have none,
 *    nor services labelled service.kubernetes.io/service-proxy-name (another proxy's).
 *  - a service port's endpoints come from the service's EndpointSlices (label
 *    kubernetes.io/service-name), matched by port name and protocol (unnamed: ""), which is
 *    how a named targetPort arrives resolved; a slice listing no ports serves no port, as
 *    kube-proxy reads it.
 *  - only ready endpoints serve; if none is ready, serving+terminating ones do.
 *  - internalTrafficPolicy: Local limits internal frontends to endpoints on this node
 *    (--node); with none there, traffic is refused. externalTrafficPolicy: Local limits
 *    external frontends so for traffic from outside (dropped when no endpoint is local, but
 *    refused when there is none at all), while the node's processes and pods reach every
 *    endpoint through the frontend's internal scope (DRV_SCOPE_INT), as under kube-proxy.
 *  - sessionAffinity: ClientIP with its timeout (default 10800 s).
 *
 * The model keeps every object it was given and recomputes only the services whose own
 * objects changed; model_commit() hands the changed frontends to lbmap in one transaction.
 */
#ifndef DROVER_MODEL_H
#define DROVER_MODEL_H

#include "lbmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_NAME_MAX 254

struct svc_port {
	char name[64];
	uint8_t proto; /* DRV_PROTO_TCP / DRV_PROTO_UDP */
	uint16_t port;
	uint16_t node_port; /* 0: none */
	bool target_named;
	uint16_t target_port; /* when !target_named; 0 = same as port */
	char target_name[64];
};

/* Its arrays are its own: k8s_service_free frees them, service_dup (source_manifests.c)
 * copies each; a new array member goes into both. */
struct k8s_service {
	char ns[64];
	char name[MODEL_NAME_MAX];
	bool headless;		 /* clusterIP: None */
	bool other_proxy;	 /* labelled service.kubernetes.io/service-proxy-name */
	bool external_name;	 /* type: ExternalName */
	bool node_ports;	 /* type NodePort or LoadBalancer */
	uint32_t cluster_ips[2]; /* IPv4, network order */
	size_t ncluster_ips;
	struct svc_port *ports;
	size_t nports;
	uint32_t *external_ips;
	size_t nexternal_ips;
	uint32_t *lb_ips;
	size_t nlb_ips;
	bool affinity;
	uint32_t affinity_timeout;
	bool etp_local;
	bool itp_local;
	uint16_t hc_node_port; /* spec.healthCheckNodePort (LoadBalancer, Local policy) */
	bool load_balancer;    /* type LoadBalancer */
	/* spec.loadBalancerSourceRanges: any (of either family) filters the LoadBalancer IPs;
	 * the IPv4 ones, network address and prefix length */
	bool src_filtered;
	struct svc_src_range {
		uint32_t addr; /* network order, host bits cleared */
		uint8_t len;
	} * src_ranges;
	size_t nsrc_ranges;
};

struct slice_port {
	char name[64];
	uint8_t proto;
	uint16_t port; /* 0: not given */
};

struct slice_endpoint {
	uint32_t addr; /* network order */
	bool ready, serving, terminating;
	char node[MODEL_NAME_MAX];
};

struct k8s_slice {
	char ns[64];
	char name[MODEL_NAME_MAX];
	char service[MODEL_NAME_MAX]; /* label kubernetes.io/service-name */
	bool ipv4;		      /* addressType IPv4 (others are ignored) */
	struct slice_port *ports;
	size_t nports;
	struct slice_endpoint *eps;
	size_t neps;
};

void k8s_service_free(struct k8s_service *s);
void k8s_slice_free(struct k8s_slice *s);

struct model_opts {
	const char *node_name; /* this node, for the Local traffic policies */
};

struct model_stats {
	size_t services_changed;
	size_t frontends_upserted; /* handed to lbmap (it writes only what differs) */
	size_t frontends_deleted;  /* including stale ones removed by a full resync */
	size_t frontends_failed;
	uint64_t entries_written; /* map entries actually written / deleted by this commit */
	uint64_t entries_deleted;
	uint64_t map_update_ns; /* time inside lbmap (from the decoded change to maps written) */
};

struct proxy_model;

/* A service the proxy answers health checks for, as kube-proxy's service health server:
 * its healthCheckNodePort and how many ready endpoints it has on this node. */
struct model_hc {
	char ns[64];
	char name[MODEL_NAME_MAX];
	uint16_t port;
	uint32_t local_endpoints;
};

/* Every service with a healthCheckNodePort and externalTrafficPolicy Local (*out: malloc'd,
 * sorted by port; NULL when none). 0 or -ENOMEM. */
int model_health_checks(const struct proxy_model *m, struct model_hc **out, size_t *n);

/* The loadBalancerSourceRanges trie (drv_srcr1) the model keeps beside lbmap's maps:
 * entries are added before a commit announces DRV_SVC_F_SRC_RANGES and removed after it no
 * longer needs them. -1: none (the flag is then never set). */
void model_set_srcrange_fd(struct proxy_model *m, int fd);

/* drv_drain1, the terminating endpoints that still serve (their UDP flows on the tc/XDP
 * paths keep them, as kube-proxy's conntrack cleanup keeps them); -1: none. */
void model_set_drain_fd(struct proxy_model *m, int fd);

/* lb may be NULL until the maps exist (model_set_lbmap); commits need it. */
struct proxy_model *model_new(const struct model_opts *opts, struct lbmap *lb);
void model_set_lbmap(struct proxy_model *m, struct lbmap *lb);
void model_free(struct proxy_model *m);

/* Replace or add; the model takes ownership of svc/sl (also on error). On error (-ENOMEM)
 * the model is as it was. */
int model_set_service(struct proxy_model *m, struct k8s_service *svc);
int model_del_service(struct proxy_model *m, const char *ns, const char *name);
int model_set_slice(struct proxy_model *m, struct k8s_slice *sl);
int model_del_slice(struct proxy_model *m, const char *ns, const char *name);
/* The memory a later model_set_service / model_set_slice of this object needs, taken now, so
 * that the set cannot fail: a source reserves everything a reload sets before it sets
 * anything, and so applies all of it or nothing. Deletes need no memory. 0 or -ENOMEM. */
int model_reserve_service(struct proxy_model *m, const char *ns, const char *name);
int model_reserve_slice(struct proxy_model *m, const char *ns, const char *name,
			const char *service);

/* Program the changes made since the last commit. full: a full resync (frontends in the
 * maps that no service claims are removed: the reconcile after a restart). */
int model_commit(struct proxy_model *m, bool full, struct model_stats *st);

/* Whether changes are waiting for a commit (including frontends to retry). */
bool model_pending(const struct proxy_model *m);

/* Frontends of one service as the model computes them (for tests and inspection);
 * *out is malloc'd, free each backends array and the array with model_frontends_free. */
int model_service_frontends(struct proxy_model *m, const char *ns, const char *name,
			    struct lb_frontend **out, size_t *n);
void model_frontends_free(struct lb_frontend *fes, size_t n);

/* Check a whole new configuration before it is applied: duplicate objects and two services
 * claiming one frontend. Returns 0 or -EINVAL with msg filled. */
int model_check_conflicts(struct k8s_service *const *svcs, size_t n, char *msg, size_t msglen);

#endif
