/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_node: a node read once from its tree into what scheduling needs (struct
 * sched_node_spec): name, labels, allocatable (cpu in millicores, memory, ephemeral-storage,
 * pods, extended resources), taints, spec.unschedulable, and NodeTree's zone key.
 *
 * Node conditions. kube-scheduler does not look at conditions: the node lifecycle
 * controller turns them into NoSchedule taints (TaintNodesByCondition: Ready=False ->
 * node.kubernetes.io/not-ready, Ready=Unknown -> node.kubernetes.io/unreachable,
 * MemoryPressure/DiskPressure/PIDPressure/NetworkUnavailable=True -> the matching key) and
 * TaintToleration filters them. drover applies the same map here, adding each taint the node
 * does not carry yet, so a node that is not Ready is filtered with the very message a real
 * cluster gives ("node(s) had untolerated taint {node.kubernetes.io/not-ready: }") even
 * before a controller wrote the taint, and a pod that tolerates it (a DaemonSet's) still
 * fits. A node without a Ready condition (just registered) is not tainted, as in Kubernetes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

void sched_node_spec_free(struct sched_node_spec *n)
{
	if (n) {
		struct sched_arena a = n->arena;

		sched_arena_free(&a);
	}
}

/* nodeConditionToTaintKeyStatusMap of the node lifecycle controller */
static const char *condition_taint(const char *type, const char *status)
{
	static const struct {
		const char *type, *status, *key;
	} map[] = {
	    {"Ready", "False", "node.kubernetes.io/not-ready"},
	    {"Ready", "Unknown", "node.kubernetes.io/unreachable"},
	    {"MemoryPressure", "True", "node.kubernetes.io/memory-pressure"},
	    {"DiskPressure", "True", "node.kubernetes.io/disk-pressure"},
	    {"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"},
	    {"PIDPressure", "True", "node.kubernetes.io/pid-pressure"},
	};

	for (size_t i = 0; type && status && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(type, map[i].type) == 0 && strcmp(status, map[i].status) == 0)
			return map[i].key;
	return NULL;
}

static int add_taint(struct sched *s, struct sched_node_spec *n, const char *key, const char *val,
		     uint8_t effect)
{
	struct sched_taint *t = &n->taints[n->ntaints];

	t->key = sched_intern(s->strings, key, strlen(key));
	t->val = sched_intern(s->strings, val, strlen(val));
	if (t->key == SCHED_NOID || t->val == SCHED_NOID)
		return -ENOMEM;
	t->key_s = sched_intern_str(s->strings, t->key);
	t->val_s = sched_intern_str(s->strings, t->val);
	t->effect = effect;
	n->ntaints++;
	return 0;
}

static int parse_taints(struct sched *s, struct sched_node_spec *n, const struct jv *node)
{
	const struct jv *taints = jv_path(node, "spec.taints");
	const struct jv *conds = jv_path(node, "status.conditions");
	size_t cap = jv_count(taints) + jv_count(conds);

	if (!cap)
		return 0;
	n->taints = sched_arena_alloc(&n->arena, cap * sizeof(*n->taints));
	if (!n->taints)
		return -ENOMEM;
	for (const struct jv *t = jv_first(taints); t; t = t->next) {
		const char *key = jv_path_str(t, "key"), *val = jv_path_str(t, "value");

		if (add_taint(s, n, key ? key : "", val ? val : "",
			      sched_effect_of(jv_path_str(t, "effect"))) < 0)
			return -ENOMEM;
	}
	for (const struct jv *c = jv_first(conds); c; c = c->next) {
		const char *key = condition_taint(jv_path_str(c, "type"), jv_path_str(c, "status"));
		bool have = false;

		if (!key)
			continue;
		for (uint32_t i = 0; i < n->ntaints; i++)
			have |= n->taints[i].effect == SCHED_EFFECT_NOSCHEDULE &&
				strcmp(n->taints[i].key_s, key) == 0;
		if (!have && add_taint(s, n, key, "", SCHED_EFFECT_NOSCHEDULE) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const char *label(const struct jv *labels, const char *key)
{
	const struct jv *v = jv_get(labels, key);

	return v && v->type == JV_STRING ? v->s : NULL;
}

/* utilnode.GetZoneKey: region + ":\x00:" + zone, the beta labels first; "" if neither. */
static int zone_key(struct sched *s, struct sched_node_spec *n, const struct jv *labels)
{
	const char *zone = label(labels, "failure-domain.beta.kubernetes.io/zone");
	const char *region = label(labels, "failure-domain.beta.kubernetes.io/region");
	char buf[600];
	size_t zl, rl;

	if (!zone)
		zone = label(labels, "topology.kubernetes.io/zone");
	if (!region)
		region = label(labels, "topology.kubernetes.io/region");
	zl = zone ? strlen(zone) : 0;
	rl = region ? strlen(region) : 0;
	n->zone = 0;
	if (!zl && !rl)
		return 0;
	if (zl + rl + 3 > sizeof(buf))
		return 0; /* not a label value */
	memcpy(buf, region ? region : "", rl);
	memcpy(buf + rl, ":\0:", 3);
	memcpy(buf + rl + 3, zone ? zone : "", zl);
	n->zone = sched_intern(s->strings, buf, rl + 3 + zl);
	return n->zone == SCHED_NOID ? -ENOMEM : 0;
}

struct sched_node_spec *sched_node_parse(struct sched *s, const struct jv *node)
{
	struct sched_arena a = {0};
	struct sched_node_spec *n = sched_arena_alloc(&a, sizeof(*n));
	const char *name = jv_path_str(node, "metadata.name");
	const struct jv *labels = jv_path(node, "metadata.labels");
	const struct jv *un = jv_path(node, "spec.unschedulable");
	int rc = -ENOMEM;

	if (!n)
		goto fail;
	n->arena = a;
	if (!name || !*name) {
		rc = -EINVAL;
		goto fail;
	}
	n->name_id = sched_intern(s->strings, name, strlen(name));
	if (n->name_id == SCHED_NOID)
		goto fail;
	n->name = sched_intern_str(s->strings, n->name_id);
	n->unschedulable = un && un->type == JV_TRUE;
	if (sched_labels_from(s, &n->arena, labels, &n->labels) < 0 ||
	    sched_res_parse(s, &n->arena, jv_path(node, "status.allocatable"), &n->alloc,
			    &n->alloc_pods) < 0 ||
	    parse_taints(s, n, node) < 0 || zone_key(s, n, labels) < 0)
		goto fail;
	return n;
fail:
	if (n)
		a = n->arena;
	sched_arena_free(&a);
	errno = -rc;
	return NULL;
}
