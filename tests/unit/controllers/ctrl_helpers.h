/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctrl_helpers: what the controller tests share: an in-process API server with the
 * controller manager running the controllers a test names (over the in-process client, or
 * over HTTP with CTRL_TRANSPORT=http), a client for the test itself, objects from JSON, a
 * kubelet stand-in (a pod marked Running and Ready, or finished), and waits for conditions
 * with a generous deadline (never a fixed sleep).
 */
#ifndef DROVER_TEST_CTRL_HELPERS_H
#define DROVER_TEST_CTRL_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "controllers.h"
#include "kc_helpers.h"

struct cenv {
	struct ksrv k;		/* the server and the test's own client (k.c) */
	struct kclient *ctrl_c; /* the controllers' client */
	struct ctrl_manager *m;
	struct ctrl_config cfg;
};

/* Start a server and the controllers listed (kube-controller-manager's --controllers
 * syntax); cfg may be NULL. Asserts. */
void cenv_start(struct cenv *e, const char *controllers, const struct api_config *acfg,
		const struct ctrl_config *cfg);
void cenv_stop(struct cenv *e);

/* Objects: create (asserts success), get (NULL if absent; parsed into d). */
void cenv_create(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *json);
struct jv *cenv_get(struct cenv *e, struct jv_doc *d, const struct k8s_kind *k, const char *ns,
		    const char *name);
/* Objects of kind k in ns (NULL: all) into d, as an array of trees; *n their count. */
struct jv **cenv_list(struct cenv *e, struct jv_doc *d, const struct k8s_kind *k, const char *ns,
		      const char *label_selector, size_t *n);
size_t cenv_count(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *sel);
/* The controller reference of ns/name as "Kind/name/uid", " block" appended when it sets
 * blockOwnerDeletion, into buf ("" if none, or if the object is missing); buf. */
const char *cenv_controller(struct cenv *e, const struct k8s_kind *k, const char *ns,
			    const char *name, char *buf, size_t len);
/* cenv_controller of ns/name reads want. */
bool cenv_controlled_by(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
			const char *want);

/* The kubelet's part: bind the pod to node (when not bound) and report it Running and Ready
 * (ready false: Running, not Ready). phase "Succeeded"/"Failed": finished with that phase. */
void cenv_pod_run(struct cenv *e, const char *ns, const char *name, const char *node, bool ready);
void cenv_pod_finish(struct cenv *e, const char *ns, const char *name, const char *phase);
/* Every pod in ns matching sel that is not Ready: made Running and Ready on node. Returns
 * how many it changed. */
size_t cenv_pods_run_all(struct cenv *e, const char *ns, const char *sel, const char *node);
/* A Ready node with this capacity (cpu cores, pods) and labels JSON (may be NULL). */
void cenv_node(struct cenv *e, const char *name, int cpu, int pods, const char *labels_json);

/* The kubelet's heartbeat: create or renew the node's Lease in kube-node-lease
 * (holderIdentity the node, renewTime now to the microsecond). 0 or -errno; no assertion,
 * so that a kubelet thread may call it. */
int cenv_lease_renew(struct cenv *e, const char *node);
/* The kubelet's node status: Ready is status ("True", "False") with a fresh heartbeat,
 * the pressure conditions False. 0 or -errno, as above. */
int cenv_node_status(struct cenv *e, const char *node, const char *status);

#endif
