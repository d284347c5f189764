/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodelifecycle_node: what the node lifecycle controller reads and writes of one node
 * (nodelifecycle_int.h): its taints (controller.AddOrUpdateTaintOnNode and
 * RemoveTaintOffNode, as one patch of spec.taints under the node's resourceVersion), its
 * Lease's renewTime, its zone key, the NoSchedule taints of its conditions, and the beta
 * os/arch labels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodelifecycle_int.h"

#define COMP	   "node-lifecycle-controller"
#define SWAP_TRIES 5 /* UpdateTaintBackoff's steps */

static const char *label(const struct jv *labels, const char *key, bool *set)
{
	const struct jv *v = jv_get(labels, key);

	*set = v != NULL;
	return v && v->type == JV_STRING ? v->s : "";
}

void nl_zone_key(const struct jv *node, char *buf, size_t size)
{
	const struct jv *l = jv_path(node, "metadata.labels");
	bool set;
	const char *zone = label(l, "failure-domain.beta.kubernetes.io/zone", &set);
	const char *region;

	if (!set)
		zone = label(l, "topology.kubernetes.io/zone", &set);
	region = label(l, "failure-domain.beta.kubernetes.io/region", &set);
	if (!set)
		region = label(l, "topology.kubernetes.io/region", &set);
	/* kube joins them with ":\0:"; label values cannot hold a colon, so ":" is as safe */
	if (!zone[0] && !region[0])
		snprintf(buf, size, "%s", "");
	else
		snprintf(buf, size, "%s:%s", region, zone);
}

static bool taint_is(const struct jv *t, const char *key, const char *effect)
{
	return jv_is_str(jv_get(t, "key"), key) && jv_is_str(jv_get(t, "effect"), effect);
}

bool nl_has_taint(const struct jv *node, const char *key, const char *effect)
{
	for (const struct jv *t = jv_first(jv_path(node, "spec.taints")); t; t = t->next)
		if (taint_is(t, key, effect))
			return true;
	return false;
}

static struct jv *make_taint(struct jv_doc *d, const struct nl_taint *t, const char *now)
{
	struct jv *v = jv_new(d, JV_OBJECT);

	if (!v)
		return NULL;
	jv_set(d, v, "key", jv_new_strz(d, t->key));
	jv_set(d, v, "effect", jv_new_strz(d, t->effect));
	jv_set(d, v, "timeAdded", jv_new_strz(d, now));
	return v;
}

/* The node's taints with add added and rm removed, into d; *changed if they differ from
 * the node's. A taint to add replaces one of the same key and effect in its place (a new
 * timeAdded makes them differ, as it does AddOrUpdateTaint's). */
static struct jv *new_taints(struct jv_doc *d, const struct jv *node, const struct nl_taint *add,
			     size_t nadd, const struct nl_taint *rm, size_t nrm, bool *changed)
{
	struct jv *out = jv_new(d, JV_ARRAY);
	bool used[8] = {false};
	char now[32];

	*changed = false;
	if (!out || nadd > 8)
		return NULL;
	ctrl_time(ctrl_now(), now);
	for (const struct jv *t = jv_first(jv_path(node, "spec.taints")); t; t = t->next) {
		struct jv *v = NULL;
		bool drop = false;

		for (size_t i = 0; i < nrm && !drop; i++)
			drop = taint_is(t, rm[i].key, rm[i].effect);
		for (size_t i = 0; i < nadd && !drop && !v; i++)
			if (taint_is(t, add[i].key, add[i].effect)) {
				v = make_taint(d, &add[i], now);
				used[i] = true;
			}
		if (drop || v)
			*changed = true;
		if (drop)
			continue;
		if (!v)
			v = jv_copy(d, t);
		if (!v)
			return NULL;
		jv_push(out, v);
	}
	for (size_t i = 0; i < nadd; i++) {
		struct jv *v;

		if (used[i])
			continue;
		v = make_taint(d, &add[i], now);
		if (!v)
			return NULL;
		jv_push(out, v);
		*changed = true;
	}
	return out;
}

int nl_swap_taints(struct nl_node *nn, const struct jv *node, const struct nl_taint *add,
		   size_t nadd, const struct nl_taint *rm, size_t nrm)
{
	const char *name = jv_path_str(node, "metadata.name");
	struct jv_doc *d;
	const struct jv *cur = node;
	int err = -KC_ECONFLICT;
	bool any = nadd > 0;

	/* RemoveTaintOffNode's shortcut: none of them is there */
	for (size_t i = 0; i < nrm && !any; i++)
		any = nl_has_taint(node, rm[i].key, rm[i].effect);
	if (!any || !name)
		return 0;
	d = jv_doc_new();
	if (!d)
		return -ENOMEM;
	for (int attempt = 0; attempt < SWAP_TRIES && err == -KC_ECONFLICT; attempt++) {
		struct kc_status st;
		struct jv *taints, *patch, *meta, *spec;
		bool changed;
		char *body;
		size_t len;

		if (attempt > 0) {
			struct kc_obj *o = NULL;

			/* the cache was stale: the server's version */
			err = kc_get(nn->kc, ctrl_k_node, NULL, name, &o, &st);
			cur = err ? NULL : kc_obj_parse(o, d);
			kc_obj_put(o);
			if (!cur) {
				err = err ? err : -ENOMEM;
				break;
			}
		}
		taints = new_taints(d, cur, add, nadd, rm, nrm, &changed);
		if (!taints) {
			err = -ENOMEM;
			break;
		}
		if (!changed) {
			err = 0;
			break;
		}
		patch = jv_new(d, JV_OBJECT);
		meta = jv_new(d, JV_OBJECT);
		spec = jv_new(d, JV_OBJECT);
		if (!patch || !meta || !spec) {
			err = -ENOMEM;
			break;
		}
		jv_set(d, meta, "resourceVersion",
		       jv_new_strz(d, jv_path_str(cur, "metadata.resourceVersion") ?: ""));
		jv_set(d, patch, "metadata", meta);
		jv_set(d, spec, "taints", taints->len ? taints : jv_new(d, JV_NULL));
		jv_set(d, patch, "spec", spec);
		body = jv_to_json(patch, &len);
		if (!body) {
			err = -ENOMEM;
			break;
		}
		err = kc_patch(nn->kc, ctrl_k_node, NULL, name, NULL, KC_PATCH_STRATEGIC, body, len,
			       NULL, NULL, &st);
		free(body);
		if (err && err != -KC_ECONFLICT)
			log_warn(COMP, "unable to update the taints of node %s: %s", name,
				 st.message[0] ? st.message : kc_strerror(err));
	}
	jv_doc_free(d);
	return err;
}

int64_t nl_lease_renew_us(struct nl_node *nn, const char *node)
{
	struct kc_obj *o = kc_informer_get(nn->leases, NL_LEASE_NS, node);
	struct jv_doc *d;
	const char *rt, *frac;
	int64_t s, us = 0;
	int digits = 0;

	if (!o)
		return -1;
	d = jv_doc_new();
	rt = d ? jv_path_str(kc_obj_parse(o, d), "spec.renewTime") : NULL;
	kc_obj_put(o);
	s = rt ? ctrl_parse_time(rt) : -1;
	/* a MicroTime: the fraction matters, renewals come more often than once a second */
	frac = s >= 0 && strlen(rt) > 19 && rt[19] == '.' ? rt + 20 : NULL;
	for (; frac && *frac >= '0' && *frac <= '9' && digits < 6; frac++, digits++)
		us = us * 10 + (*frac - '0');
	for (; digits < 6; digits++)
		us *= 10;
	jv_doc_free(d);
	return s < 0 ? -1 : s * 1000000 + us;
}

/* nodeConditionToTaintKeyStatusMap */
static const struct {
	const char *type, *status, *taint;
} cond_taints[] = {
    {"Ready", "False", NL_TAINT_NOT_READY},
    {"Ready", "Unknown", NL_TAINT_UNREACHABLE},
    {"MemoryPressure", "True", "node.kubernetes.io/memory-pressure"},
    {"DiskPressure", "True", "node.kubernetes.io/disk-pressure"},
    {"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"},
    {"PIDPressure", "True", "node.kubernetes.io/pid-pressure"},
};

#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"
#define NCOND		    (sizeof(cond_taints) / sizeof(cond_taints[0]))

static bool condition_taint_key(const char *key)
{
	if (strcmp(key, TAINT_UNSCHEDULABLE) == 0)
		return true;
	for (size_t i = 0; i < NCOND; i++)
		if (strcmp(cond_taints[i].taint, key) == 0)
			return true;
	return false;
}

int nl_noschedule_pass(struct nl_node *nn, const char *name)
{
	struct kc_obj *o = kc_informer_get(nn->nodes, NULL, name);
	struct nl_taint want[NCOND + 1], add[NCOND + 1], rm[NCOND + 1];
	size_t nwant = 0, nadd = 0, nrm = 0;
	struct jv_doc *d;
	struct jv *node;
	int err;

	if (!o)
		return 0; /* gone */
	d = jv_doc_new();
	node = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	if (!node) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	for (const struct jv *c = jv_first(jv_path(node, "status.conditions")); c; c = c->next)
		for (size_t i = 0; i < NCOND; i++)
			if (jv_is_str(jv_get(c, "type"), cond_taints[i].type) &&
			    jv_is_str(jv_get(c, "status"), cond_taints[i].status))
				want[nwant++] =
				    (struct nl_taint){cond_taints[i].taint, "NoSchedule"};
	if (jv_path(node, "spec.unschedulable") &&
	    jv_path(node, "spec.unschedulable")->type == JV_TRUE)
		want[nwant++] = (struct nl_taint){TAINT_UNSCHEDULABLE, "NoSchedule"};
	for (size_t i = 0; i < nwant; i++)
		if (!nl_has_taint(node, want[i].key, "NoSchedule") && nadd <= NCOND)
			add[nadd++] = want[i];
	for (const struct jv *t = jv_first(jv_path(node, "spec.taints")); t; t = t->next) {
		const char *key = jv_path_str(t, "key");
		bool wanted = false;

		if (!key || !jv_is_str(jv_get(t, "effect"), "NoSchedule") ||
		    !condition_taint_key(key))
			continue;
		for (size_t i = 0; i < nwant && !wanted; i++)
			wanted = strcmp(want[i].key, key) == 0;
		if (!wanted && nrm <= NCOND)
			rm[nrm++] = (struct nl_taint){jv_path_str(t, "key"), "NoSchedule"};
	}
	err = nadd || nrm ? nl_swap_taints(nn, node, add, nadd, rm, nrm) : 0;
	if (err)
		log_error(COMP, "failed to taint NoSchedule on node %s: %s", name,
			  kc_strerror(err));
	jv_doc_free(d);
	return err;
}

int nl_reconcile_labels(struct nl_node *nn, const char *name)
{
	static const char *const pairs[][2] = {
	    {"kubernetes.io/os", "beta.kubernetes.io/os"},
	    {"kubernetes.io/arch", "beta.kubernetes.io/arch"},
	};
	struct kc_obj *o = kc_informer_get(nn->nodes, NULL, name);
	struct jv_doc *d;
	struct jv *node, *labels, *patch;
	struct kc_status st;
	char *body;
	size_t len;
	int err = 0;

	if (!o)
		return 0;
	d = jv_doc_new();
	node = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	labels = d ? jv_new(d, JV_OBJECT) : NULL;
	if (!node || !labels) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct jv *p = jv_get(jv_path(node, "metadata.labels"), pairs[i][0]);
		const struct jv *s = jv_get(jv_path(node, "metadata.labels"), pairs[i][1]);

		if (p && (!s || !jv_equal(p, s)))
			jv_set(d, labels, pairs[i][1], jv_copy(d, p));
	}
	if (labels->len) {
		patch = jv_new(d, JV_OBJECT);
		jv_set(d, jv_obj_at(d, patch, "metadata"), "labels", labels);
		body = jv_to_json(patch, &len);
		err = body ? kc_patch(nn->kc, ctrl_k_node, NULL, name, NULL, KC_PATCH_STRATEGIC,
				      body, len, NULL, NULL, &st)
			   : -ENOMEM;
		free(body);
		if (err)
			log_error(COMP, "failed to reconcile labels for node %s: %s", name,
				  kc_strerror(err));
	}
	jv_doc_free(d);
	return err;
}
