/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodelifecycle_health: one node's health as the node lifecycle controller judges it
 * (nodelifecycle_int.h): when it last heard from the node (a renewed Lease, a new
 * heartbeat in its Ready condition) by its own clock, the conditions set Unknown after the
 * grace period as Kubernetes writes them, and pods marked not Ready.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "nodelifecycle_int.h"

#define COMP "node-lifecycle-controller"

static const char *const pressure_types[] = {"Ready", "MemoryPressure", "DiskPressure",
					     "PIDPressure"};

int64_t nl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct nl_health *nl_health_get(struct nl_ctrl *s, const char *name, struct nl_health *out)
{
	struct nl_health *h;

	pthread_mutex_lock(&s->lock);
	h = hmap_sget(s->health, name);
	if (h)
		*out = *h;
	pthread_mutex_unlock(&s->lock);
	return h ? out : NULL;
}

void nl_health_set(struct nl_ctrl *s, const char *name, const struct nl_health *v)
{
	struct nl_health *h;

	pthread_mutex_lock(&s->lock);
	h = hmap_sget(s->health, name);
	if (!h && (h = malloc(sizeof(*h))) && hmap_sput(s->health, name, h, NULL) < 0) {
		free(h);
		h = NULL;
	}
	if (h)
		*h = *v;
	pthread_mutex_unlock(&s->lock);
}

static void nl_save_status(struct nl_health *h, const struct jv *ready)
{
	h->has_ready = ready != NULL;
	snprintf(h->hb, sizeof(h->hb), "%s", jv_path_str(ready, "lastHeartbeatTime") ?: "");
	snprintf(h->lt, sizeof(h->lt), "%s", jv_path_str(ready, "lastTransitionTime") ?: "");
	snprintf(h->status, sizeof(h->status), "%s", jv_path_str(ready, "status") ?: "");
}

/* ---- health ---- */

/* Set the pressure conditions and Ready Unknown: the kubelet stopped posting (or never
 * posted) its status. */
static int nl_set_unknown(struct jv_doc *d, struct jv *node)
{
	const char *created = jv_path_str(node, "metadata.creationTimestamp");
	char ts[32];

	ctrl_time(ctrl_now(), ts);
	for (size_t i = 0; i < sizeof(pressure_types) / sizeof(pressure_types[0]); i++) {
		struct jv *c = ctrl_condition(node, pressure_types[i]), *conds;

		if (c) {
			if (jv_is_str(jv_get(c, "status"), "Unknown"))
				continue;
			jv_set(d, c, "status", jv_new_strz(d, "Unknown"));
			jv_set(d, c, "reason", jv_new_strz(d, "NodeStatusUnknown"));
			jv_set(d, c, "message",
			       jv_new_strz(d, "Kubelet stopped posting node status."));
			jv_set(d, c, "lastTransitionTime", jv_new_strz(d, ts));
			continue;
		}
		conds = jv_get(jv_obj_at(d, node, "status"), "conditions");
		if (!conds || conds->type != JV_ARRAY) {
			conds = jv_new(d, JV_ARRAY);
			if (!conds || jv_set(d, jv_get(node, "status"), "conditions", conds) != 0)
				return -ENOMEM;
		}
		c = jv_new(d, JV_OBJECT);
		if (!c)
			return -ENOMEM;
		jv_set(d, c, "type", jv_new_strz(d, pressure_types[i]));
		jv_set(d, c, "status", jv_new_strz(d, "Unknown"));
		jv_set(d, c, "lastHeartbeatTime", jv_new_strz(d, created ? created : ts));
		jv_set(d, c, "lastTransitionTime", jv_new_strz(d, ts));
		jv_set(d, c, "reason", jv_new_strz(d, "NodeStatusNeverUpdated"));
		jv_set(d, c, "message", jv_new_strz(d, "Kubelet never posted node status."));
		jv_push(conds, c);
	}
	return 0;
}

/* tryUpdateNodeHealth: *observed is the node's Ready condition as it was (copied into d,
 * or a made-up Unknown when it never had one), *current as it is after this pass (in
 * node, which may be changed and written). */
int nl_try_update_health(struct nl_ctrl *s, struct jv_doc *d, struct jv *node, struct jv **observed,
			 struct jv **current)
{
	static const char unknown[] = "{\"type\":\"Ready\",\"status\":\"Unknown\"}";
	const char *name = jv_path_str(node, "metadata.name");
	struct jv *ready = ctrl_condition(node, "Ready");
	struct nl_health h = {.lease_us = -1};
	bool have = nl_health_get(s, name, &h) != NULL;
	int64_t now = nl_mono_ms(), grace, lease_us;
	int err = 0;

	if (!ready) {
		/* never posted: Unknown since its creation, with the startup grace */
		*observed = jv_parse(d, unknown, strlen(unknown), NULL);
		grace = s->startup_grace_ms;
		if (!have) {
			const char *created = jv_path_str(node, "metadata.creationTimestamp");
			int64_t age = created ? ctrl_now() - ctrl_parse_time(created) : 0;

			h.probe_ms = h.transition_ms = now - (age > 0 ? age * 1000 : 0);
			h.lease_us = -1;
			have = true;
		}
		nl_save_status(&h, NULL);
	} else {
		*observed = jv_copy(d, ready);
		grace = s->grace_ms;
	}
	if (!*observed)
		return -ENOMEM;
	if (!have) {
		log_info(COMP, "missing timestamp for node %s, assuming now as a timestamp", name);
		h.probe_ms = h.transition_ms = now;
		nl_save_status(&h, ready);
	} else if (!h.has_ready && ready) {
		log_info(COMP, "creating timestamp entry for newly observed node %s", name);
		h.probe_ms = h.transition_ms = now;
		nl_save_status(&h, ready);
	} else if (h.has_ready && ready &&
		   strcmp(h.hb, jv_path_str(ready, "lastHeartbeatTime") ?: "") != 0) {
		/* the kubelet posted its status: heard from it */
		if (strcmp(h.lt, jv_path_str(ready, "lastTransitionTime") ?: "") != 0)
			h.transition_ms = now;
		h.probe_ms = now;
		nl_save_status(&h, ready);
	}
	/* a renewed Lease: heard from it */
	lease_us = nl_lease_renew_us(&s->nn, name);
	if (lease_us >= 0 && (h.lease_us < 0 || h.lease_us < lease_us)) {
		h.lease_us = lease_us;
		h.probe_ms = now;
	}
	if (now > h.probe_ms + grace) {
		err = nl_set_unknown(d, node);
		ready = ctrl_condition(node, "Ready");
		if (!err && !jv_equal(ready, *observed)) {
			struct kc_status st;

			err =
			    kc_update(s->c->kc, ctrl_k_node, NULL, "status", node, NULL, NULL, &st);
			if (err) {
				log_error(COMP, "error updating node %s: %s", name, st.message);
			} else {
				nl_save_status(&h, ready);
				h.transition_ms = nl_mono_ms();
			}
		}
	}
	nl_health_set(s, name, &h);
	*current = ready;
	return err;
}

/* MarkPodsNotReady for one pod (a tree in d): its Ready condition turns False. */
int nl_mark_pod_not_ready(struct nl_ctrl *s, struct jv_doc *d, struct jv *pod)
{
	struct jv *c = ctrl_condition(pod, "Ready");
	struct kc_status st;
	char ts[32];
	int err;

	if (!c || jv_is_str(jv_get(c, "status"), "False"))
		return 0;
	jv_set(d, c, "status", jv_new_strz(d, "False"));
	jv_set(d, c, "lastTransitionTime", jv_new_strz(d, ctrl_time(ctrl_now(), ts)));
	log_info(COMP, "updating ready status of pod %s/%s to false",
		 jv_path_str(pod, "metadata.namespace"), jv_path_str(pod, "metadata.name"));
	err = kc_update(s->c->kc, ctrl_k_pod, jv_path_str(pod, "metadata.namespace"), "status", pod,
			NULL, NULL, &st);
	if (err == -ENOENT)
		return 0; /* deleted meanwhile: nothing left to do */
	if (err)
		log_info(COMP, "failed to update status for pod %s/%s: %s",
			 jv_path_str(pod, "metadata.namespace"), jv_path_str(pod, "metadata.name"),
			 st.message);
	kc_event(s->c->rec, pod, "Warning", "NodeNotReady", "Node is not ready");
	return err;
}

/* MarkPodsNotReady: every pod of the node. */
int nl_mark_pods_not_ready(struct nl_ctrl *s, const char *node)
{
	struct kc_obj **objs = NULL;
	size_t n = 0;
	struct jv_doc *d;
	int err = 0;

	if (kc_informer_list(s->nn.pods, NL_IDX_NODE, node, &objs, &n) != 0)
		return -ENOMEM;
	d = jv_doc_new();
	for (size_t i = 0; d && i < n; i++) {
		struct jv *pod = kc_obj_parse(objs[i], d);
		int e;

		if (!pod || !jv_is_str(jv_path(pod, "spec.nodeName"), node))
			continue;
		e = nl_mark_pod_not_ready(s, d, pod);
		if (e)
			err = e;
	}
	jv_doc_free(d);
	kc_objs_free(objs, n);
	return d ? err : -ENOMEM;
}
