/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubedns: the endpoints of the cluster DNS. In Kubernetes the kube-dns Service selects
 * CoreDNS pods; in drover every agent answers DNS on its node's address (agent_dns_srv.c),
 * so the Service has no selector and this controller keeps its one EndpointSlice,
 * kube-system/kube-dns-nodes, listing each Node's InternalIP on ports dns (53/UDP) and
 * dns-tcp (53/TCP), ready while the Node is Ready. The node's eBPF proxy then sends a pod's
 * query for 10.96.0.10:53 to an agent like to any Service's backend. drover-specific: the
 * slice is managed by "drover-kubedns", which the EndpointSlice controller leaves alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"

#define KD_NS	     "kube-system"
#define KD_SVC	     "kube-dns"
#define KD_SLICE     "kube-dns-nodes"
#define KD_MANAGER   "drover-kubedns"
#define KD_QUEUE_KEY KD_NS "/" KD_SLICE

struct kd_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *nodes;
	struct kc_queue *q;
	struct kc_workers *w;
};

static void kd_queue(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct kd_ctrl *kd = arg;

	(void)o;
	(void)t;
	kc_queue_add(kd->q, KD_QUEUE_KEY);
}

static void kd_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	kd_queue(arg, cur, cur_t);
}

static const char *internal_ip(const struct jv *node)
{
	for (const struct jv *a = jv_first(jv_path(node, "status.addresses")); a; a = a->next)
		if (jv_is_str(jv_get(a, "type"), "InternalIP") && jv_path_str(a, "address") &&
		    !strchr(jv_path_str(a, "address"), ':'))
			return jv_path_str(a, "address");
	return NULL;
}

/* The slice as it should be, nodes in the informer's order (sorted by name). */
static struct jv *kd_desired(struct kd_ctrl *kd, struct jv_doc *d)
{
	static const char body[] =
	    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
	    "\"name\":\"" KD_SLICE "\",\"namespace\":\"" KD_NS "\",\"labels\":{"
	    "\"kubernetes.io/service-name\":\"" KD_SVC "\","
	    "\"endpointslice.kubernetes.io/managed-by\":\"" KD_MANAGER "\"}},"
	    "\"addressType\":\"IPv4\",\"endpoints\":[],\"ports\":["
	    "{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53},"
	    "{\"name\":\"dns-tcp\",\"protocol\":\"TCP\",\"port\":53}]}";
	struct jv *slice = jv_parse(d, body, sizeof(body) - 1, NULL), *eps;
	struct kc_obj **all = NULL;
	size_t n = 0;

	if (!slice || kc_informer_list(kd->nodes, NULL, NULL, &all, &n))
		return NULL;
	eps = jv_get(slice, "endpoints");
	for (size_t i = 0; i < n; i++) {
		const struct jv *node = kc_obj_parse(all[i], d), *ready;
		const char *ip = node ? internal_ip(node) : NULL;
		char ep[512];
		struct jv *e;

		if (!ip || jv_path(node, "metadata.deletionTimestamp"))
			continue;
		ready = ctrl_condition(node, "Ready");
		snprintf(
		    ep, sizeof(ep),
		    "{\"addresses\":[\"%s\"],\"conditions\":{\"ready\":%s},\"nodeName\":\"%s\"}",
		    ip, jv_is_str(jv_get(ready, "status"), "True") ? "true" : "false",
		    jv_path_str(node, "metadata.name"));
		if ((e = jv_parse(d, ep, strlen(ep), NULL)))
			jv_push(eps, e);
	}
	kc_objs_free(all, n);
	return slice;
}

static int kd_sync(void *arg, const char *key)
{
	struct kd_ctrl *kd = arg;
	struct jv_doc *d = jv_doc_new();
	struct kc_status st = {0};
	struct kc_obj *cur = NULL;
	struct jv *want, *have;
	int err;

	(void)key;
	if (!d)
		return -ENOMEM;
	want = kd_desired(kd, d);
	if (!want) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	err = kc_get(kd->c->kc, ctrl_k_endpointslice, KD_NS, KD_SLICE, &cur, &st);
	if (err == -ENOENT) {
		err = kc_create(kd->c->kc, ctrl_k_endpointslice, KD_NS, want, NULL, NULL, &st);
	} else if (!err && (have = kc_obj_parse(cur, d)) &&
		   !jv_equal(jv_get(have, "endpoints"), jv_get(want, "endpoints"))) {
		jv_set(d, jv_get(want, "metadata"), "resourceVersion",
		       jv_copy(d, jv_path(have, "metadata.resourceVersion")));
		err =
		    kc_update(kd->c->kc, ctrl_k_endpointslice, KD_NS, NULL, want, NULL, NULL, &st);
	}
	if (err && err != -EEXIST && err != -KC_ECONFLICT)
		log_warn(kd->c->name, "EndpointSlice %s/%s: %s", KD_NS, KD_SLICE,
			 st.message[0] ? st.message : strerror(-err));
	kc_obj_put(cur);
	jv_doc_free(d);
	return err;
}

static int kd_init(struct ctrl_ctx *c, void **state)
{
	struct kd_ctrl *kd = calloc(1, sizeof(*kd));
	struct kc_handlers h = {.add = kd_queue, .update = kd_update, .del = kd_queue};

	*state = kd;
	if (!kd)
		return -ENOMEM;
	kd->c = c;
	if (!c->cfg->kube_dns_nodes)
		return 0;
	kd->q = kc_queue_new(c->name);
	kd->nodes = ctrl_informer(c, ctrl_k_node);
	if (!kd->q || !kd->nodes)
		return -ENOMEM;
	h.arg = kd;
	return kc_informer_add_handlers(kd->nodes, &h);
}

static int kd_run(void *state)
{
	struct kd_ctrl *kd = state;

	if (!kd->q)
		return 0;
	kc_queue_add(kd->q, KD_QUEUE_KEY); /* also with no node yet: the slice exists */
	kd->w = kc_workers_start(kd->q, 1, kd_sync, kd, kd->c->name);
	return kd->w ? 0 : -ENOMEM;
}

static void kd_quiesce(void *state)
{
	struct kd_ctrl *kd = state;

	if (kd)
		ctrl_queue_quiesce(&kd->w, kd->q);
}

static void kd_stop(void *state)
{
	struct kd_ctrl *kd = state;

	if (!kd)
		return;
	kd_quiesce(kd);
	kc_queue_free(kd->q);
	free(kd);
}

const struct ctrl_desc ctrl_kubedns = {
    .name = "kubedns",
    .component = "kubedns-controller",
    .init = kd_init,
    .run = kd_run,
    .stop = kd_stop,
    .quiesce = kd_quiesce,
};
