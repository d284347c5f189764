/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ep_util: what the Endpoints and EndpointSlice controllers share (internal to
 * control/controllers), as k8s.io/endpointslice/util and pkg/api/v1/pod give it to both in
 * Kubernetes: the Service and pod events that queue a Service, what a sync of a Service
 * starts from (the Service, the pods it selects), whether a pod belongs in endpoints at all,
 * its addresses, a Service port resolved against a pod's named container ports, an
 * endpoint's port and targetRef, the last-change trigger time, and the apiserver's own
 * endpoints for the `kubernetes` Service.
 */
#ifndef DROVER_CTRL_EP_UTIL_H
#define DROVER_CTRL_EP_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctrl.h"
#include "hmap.h"

static inline bool ep_is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

/* What both controllers watch and read the same way: a Service event queues the Service's
 * key, a pod event the keys of the Services it concerns (GetServicesToUpdateOnPodChange: an
 * add or a delete all the pod's; an update only when it changed what endpoints show, or
 * which Services select it). Set every field, then ep_feed_watch() adds the handlers (arg:
 * the feed, which must outlive the informers). */
struct ep_feed {
	struct kc_queue *q;
	struct kc_informer *svcs, *pods;
	const struct ctrl_config *cfg;
};
int ep_feed_watch(struct ep_feed *f);
/* Queue the "ns/name" of an object. */
void ep_feed_queue_obj(struct ep_feed *f, const struct jv *t);

/* What a sync of the Service ns/name has to do, as both controllers' syncService start. */
enum ep_service {
	EP_SERVICE_GONE,      /* not in the cache */
	EP_SERVICE_APISERVER, /* the `kubernetes` Service (ep_is_apiserver_service) */
	EP_SERVICE_OTHERS,    /* ExternalName, or no selector: its endpoints are not made here */
	EP_SERVICE_PODS,      /* made of the pods its spec.selector (a map) selects */
};
/* The Service ns/name from the cache (*svc) and, for EP_SERVICE_PODS, the pods of its
 * namespace it selects (*pods, *npods), parsed into a new *d, which the caller frees (NULL
 * when the Service is gone). The case, or -errno. */
int ep_service_load(const struct ep_feed *f, const char *ns, const char *name, struct jv_doc **d,
		    struct jv **svc, struct jv ***pods, size_t *npods);

/* ShouldPodBeInEndpoints: not terminal, has an IP, and (unless include_terminating) not
 * being deleted. */
bool ep_pod_in_endpoints(const struct jv *pod, bool include_terminating);
/* The pod's IPs (status.podIPs, else status.podIP) of a family (6: IPv6, 4: IPv4):
 * fn(arg, ip) in their order. Returns how many. */
size_t ep_pod_ips(const struct jv *pod, int family, void (*fn)(void *arg, const char *ip),
		  void *arg);
/* The first IP of that family, or NULL. */
const char *ep_pod_ip(const struct jv *pod, int family);
/* FindPort: a Service port's targetPort resolved for a pod (a number as is, a name through
 * the pod's containers' and restartable init containers' named ports of the same
 * protocol). The port, or -1 when the pod has no such port. */
int ep_find_port(const struct jv *pod, const struct jv *svc_port);
/* ShouldSetHostname: the pod has a hostname and its subdomain is the Service's name. */
bool ep_should_set_hostname(const struct jv *pod, const struct jv *svc);
/* IsServiceIPSet: a clusterIP other than "None". */
bool ep_service_ip_set(const struct jv *svc);
/* 6 if ip is IPv6, else 4. */
int ep_ip_family(const char *ip);
/* An endpoint's port (core/v1 EndpointPort and discovery/v1 alike): a Service port's name,
 * protocol and appProtocol with the port it resolved to. NULL on ENOMEM. */
struct jv *ep_endpoint_port(struct jv_doc *d, const struct jv *svc_port, int port);
/* An endpoint's targetRef to the pod. NULL on ENOMEM. */
struct jv *ep_pod_ref(struct jv_doc *d, const struct jv *pod);

/* ---- the last-change trigger time (endpointslice/util's TriggerTimeTracker) ---- */

/* Per Service, the pods' Ready transition times seen at the last sync: a sync exports the
 * earliest change not yet exported (the Service's creation for a new Service) as the
 * endpoints.kubernetes.io/last-change-trigger-time annotation. Thread-safe. */
struct ep_trigger;
struct ep_trigger *ep_trigger_new(void);
void ep_trigger_free(struct ep_trigger *t);
/* Seconds since the epoch, or -1 when nothing changed. */
int64_t ep_trigger_compute(struct ep_trigger *t, const char *key, const struct jv *svc,
			   struct jv **pods, size_t npods);
void ep_trigger_delete(struct ep_trigger *t, const char *key);

/* ---- the apiserver's endpoints ---- */

#define EP_APISERVER_NS	 "default"
#define EP_APISERVER_SVC "kubernetes"
/* The `kubernetes` Service is the apiserver's: its endpoints are the server's own address
 * (ctrl_config.apiserver_ip/port), written by the apiserver's endpoint reconciler in
 * Kubernetes; here by these controllers when the config names the address. */
bool ep_is_apiserver_service(const struct ctrl_config *cfg, const char *ns, const char *name);

#endif
