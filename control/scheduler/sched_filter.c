/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_filter: the node-local filters of kube-scheduler's default profile, each as the
 * plugin of the same name decides and words it: NodeUnschedulable, NodeName,
 * TaintToleration, NodeAffinity (nodeSelector + required node affinity), NodePorts,
 * NodeResourcesFit. PodTopologySpread and InterPodAffinity need the decision's precomputed
 * state and live in sched_spread.c and sched_affinity.c. sched_filter_all runs them in the
 * profile's order and stops at the first rejection, as RunFilterPlugins does: which plugin
 * rejects a node first decides the reason the message counts for it.
 * Every filter is O(what the pod asks for x what the node has of it); none allocates.
 */
#include <string.h>

#include "sched_int.h"

static bool reject(struct sched_status *st, uint32_t plugin, const char *reason)
{
	st->plugin = plugin;
	st->n = 1;
	st->reasons[0] = reason;
	return false;
}

/* v1helper.ToleratesTaint over the pod's tolerations */
bool sched_tolerates(const struct sched_pod *p, const struct sched_taint *taint)
{
	const struct sched_pod_ext *x = p->x;

	for (uint32_t i = 0; x && i < x->ntol; i++) {
		const struct sched_toleration *t = &x->tol[i];

		if (t->effect != SCHED_EFFECT_NONE && t->effect != taint->effect)
			continue;
		if (t->key != 0 && t->key != taint->key)
			continue;
		if (t->op == 1 || (t->op == 0 && t->val == taint->val))
			return true;
	}
	return false;
}

/* FindMatchingUntoleratedTaint with DoNotScheduleTaintsFilterFunc */
const struct sched_taint *sched_untolerated(const struct sched_pod *p,
					    const struct sched_node_spec *n)
{
	for (uint32_t i = 0; i < n->ntaints; i++) {
		const struct sched_taint *t = &n->taints[i];

		if (t->effect != SCHED_EFFECT_NOSCHEDULE && t->effect != SCHED_EFFECT_NOEXECUTE)
			continue;
		if (!sched_tolerates(p, t))
			return t;
	}
	return NULL;
}

bool sched_filter_unschedulable(struct sched *s, const struct sched_cycle *cy,
				const struct sched_node *n, struct sched_status *st)
{
	/* a pod tolerating the unschedulable taint tolerates spec.unschedulable too */
	struct sched_taint t = {.key = s->id_unschedulable, .effect = SCHED_EFFECT_NOSCHEDULE};

	if (!n->spec->unschedulable || sched_tolerates(cy->p, &t))
		return true;
	return reject(st, SCHED_PL_UNSCHEDULABLE, SCHED_R_UNSCHEDULABLE);
}

bool sched_filter_node_name(struct sched *s, const struct sched_cycle *cy,
			    const struct sched_node *n, struct sched_status *st)
{
	const struct sched_pod *p = cy->p;

	if (!p->node_name[0] || p->node_id == n->spec->name_id)
		return true;
	return reject(st, SCHED_PL_NODENAME, SCHED_R_NODENAME);
}

bool sched_filter_taints(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
			 struct sched_status *st)
{
	const struct sched_taint *t = sched_untolerated(cy->p, n->spec);

	if (!t)
		return true;
	return reject(
	    st, SCHED_PL_TAINT,
	    sched_reason(s, "node(s) had untolerated taint {%s: %s}", t->key_s, t->val_s));
}

/* RequiredNodeAffinity.Match: nodeSelector, then the terms (ORed) */
bool sched_node_affinity_match(const struct sched_intern *t, const struct sched_pod *p,
			       const struct sched_node_spec *n)
{
	const struct sched_pod_ext *x = p->x;

	if (!x)
		return true;
	for (uint32_t i = 0; i < x->node_selector.n; i++)
		if (sched_labels_get(&n->labels, x->node_selector.v[i].key) !=
		    x->node_selector.v[i].val)
			return false;
	if (!x->has_req_naff)
		return true;
	for (uint32_t i = 0; i < x->nreq_naff; i++)
		if (sched_sel_match(t, &x->req_naff[i].exprs, &n->labels) &&
		    sched_fields_match(&x->req_naff[i].fields, n->name_id))
			return true;
	return false;
}

bool sched_filter_node_affinity(struct sched *s, const struct sched_cycle *cy,
				const struct sched_node *n, struct sched_status *st)
{
	if (sched_node_affinity_match(s->strings, cy->p, n->spec))
		return true;
	return reject(st, SCHED_PL_NODEAFFINITY, SCHED_R_NODEAFFINITY);
}

/* HostPortInfo.CheckConflict: 0.0.0.0 conflicts with every address of the port */
bool sched_filter_ports(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
			struct sched_status *st)
{
	const struct sched_pod *p = cy->p;

	for (uint32_t i = 0; i < p->nports; i++) {
		const struct sched_port *want = &p->ports[i];

		for (uint32_t k = 0; k < n->nports; k++) {
			const struct sched_used_port *u = &n->ports[k];

			if (u->port != want->port || u->proto != want->proto)
				continue;
			if (want->ip == s->id_zero_ip || u->ip == s->id_zero_ip ||
			    u->ip == want->ip)
				return reject(st, SCHED_PL_PORTS, SCHED_R_PORTS);
		}
	}
	return true;
}

static int64_t scalar_of(const struct sched_res *r, uint32_t name)
{
	for (uint32_t i = 0; i < r->nscalar; i++)
		if (r->scalar[i].name == name)
			return r->scalar[i].v;
	return 0;
}

/* fitsRequest: every insufficient resource is a reason of its own */
bool sched_filter_fit(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
		      struct sched_status *st)
{
	const struct sched_pod *p = cy->p;
	const struct sched_res *req = &p->req, *alloc = &n->spec->alloc, *used = &n->requested;

	st->n = 0;
	if ((int64_t)n->npods + 1 > n->spec->alloc_pods)
		st->reasons[st->n++] = SCHED_R_PODS;
	if (req->cpu || req->mem || req->eph || req->nscalar) {
		if (req->cpu > 0 && req->cpu > alloc->cpu - used->cpu)
			st->reasons[st->n++] = SCHED_R_CPU;
		if (req->mem > 0 && req->mem > alloc->mem - used->mem)
			st->reasons[st->n++] = SCHED_R_MEMORY;
		if (req->eph > 0 && req->eph > alloc->eph - used->eph)
			st->reasons[st->n++] = SCHED_R_EPHEMERAL;
		for (uint32_t i = 0; i < req->nscalar && st->n < SCHED_MAX_REASONS; i++) {
			uint32_t name = req->scalar[i].name;

			if (req->scalar[i].v == 0 ||
			    req->scalar[i].v <= scalar_of(alloc, name) - scalar_of(used, name))
				continue;
			st->reasons[st->n++] =
			    sched_reason(s, "Insufficient %s", sched_intern_str(s->strings, name));
		}
	}
	if (!st->n)
		return true;
	st->plugin = SCHED_PL_FIT;
	return false;
}

bool sched_filter_all(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
		      struct sched_status *st)
{
	static const sched_filter_fn order[] = {
	    sched_filter_unschedulable, sched_filter_node_name, sched_filter_taints,
	    sched_filter_node_affinity, sched_filter_ports,	sched_filter_fit,
	    sched_filter_spread,	sched_filter_interpod,
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!order[i](s, cy, n, st))
			return false;
	return true;
}
