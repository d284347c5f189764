/* SPDX-License-Identifier: Apache-2.0 */
/* model_int.h: the model's state, shared by model.c (services, slices, frontends, commits)
 * and model_lb.c (what LoadBalancer services add: health checks, source ranges). */
#ifndef DROVER_MODEL_INT_H
#define DROVER_MODEL_INT_H

#include "drover_abi.h"
#include "hmap.h"
#include "model.h"

struct svc_entry {
	struct k8s_service *svc; /* NULL: deleted, pending commit */
	struct k8s_slice **slices;
	size_t nslices, capslices, reserved; /* reserved: slots promised by model_reserve_slice */
	struct lb_fe_key *fes;		     /* frontends this service owns in the maps */
	size_t nfes;
	bool dirty;
	/* Links of the pending list and of a commit's work list: marking a service never
	 * allocates, so no change is ever lost to a failed allocation. */
	struct svc_entry *dirty_next, *work_next;
	bool had_src; /* its service filtered by source ranges at the last commit */
	bool waiting; /* a frontend it wants is another service's: retried when one is freed */
	struct drv_drain_key *drain; /* its terminating endpoints counted in m->drain */
	size_t ndrain;
	char key[64 + MODEL_NAME_MAX + 2];
};

struct proxy_model {
	char node[MODEL_NAME_MAX];
	struct lbmap *lb;
	int srcr_fd;	     /* drv_srcr1, -1: none */
	bool srcr_dirty;     /* a commit may have left drv_srcr1 entries nothing needs */
	struct hmap *svcs;   /* "ns/name" -> svc_entry */
	struct hmap *slices; /* "ns/name" -> k8s_slice */
	struct hmap *owner;  /* lb_fe_key -> svc_entry */
	/* svc_entry pointer -> svc_entry: the services with a health check port (an
	 * externalTrafficPolicy Local LoadBalancer's), so each commit's health check sync
	 * reads those, not every service; hc_walk: one could not be added, walk them all */
	struct hmap *hcs;
	bool hc_walk;
	struct svc_entry *dirty, **dirty_tail; /* pending, in the order marked */
	bool waiters;			       /* some entry is waiting */
	int drain_fd;			       /* drv_drain1, -1: none */
	struct hmap *drain; /* drv_drain_key -> how many services list it (model_drain.c) */
};

/* model.c: the port an EndpointSlice gives service port sp (0: none) */
uint16_t slice_port_for(const struct k8s_slice *sl, const struct svc_port *sp);

/* model_lb.c */
/* The service gets kube-proxy's health check server (model_health_checks). */
bool model_hc_wanted(const struct k8s_service *svc);
/* Before a commit: the drv_srcr1 entries of se's LoadBalancer frontends (0 or -errno; a
 * full trie is logged). */
int model_srcr_add(struct proxy_model *m, const struct svc_entry *se);
/* After a commit: entries no frontend of the maps needs any more go. */
void model_srcr_sweep(struct proxy_model *m);

/* model_drain.c */
/* Before a commit: drv_drain1 lists se's terminating endpoints that still serve, and no
 * longer those it listed before (0 or -ENOMEM, nothing changed then). */
int model_drain_update(struct proxy_model *m, struct svc_entry *se);
/* After a full resync: pinned entries no service lists go. */
void model_drain_sweep(struct proxy_model *m);

#endif
