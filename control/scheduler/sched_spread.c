/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_spread: PodTopologySpread, kube-scheduler's plugin, over the index's classes: a
 * constraint's pods (its namespace, its selector with matchLabelKeys, no terminating pod)
 * are a class counted per node and per domain of the topology key, so the per-domain counts
 * kube's PreFilter/PreScore gather by scanning every pod are read, not recomputed.
 *
 * Which nodes count: kube counts only "eligible" nodes: those with every constraint's key
 * (filter; score when constraints are explicit), and per constraint those matching the pod's
 * node affinity (nodeAffinityPolicy Honor, the default) and tolerating its taints
 * (nodeTaintsPolicy Honor). When no policy excludes anything and every live node has the
 * keys, the class's domain counts are exactly the answer: O(domains). Otherwise one pass
 * over the nodes sums the class's per-node counts: O(nodes), as kube's own pass but without
 * touching pods.
 *
 * Filter (DoNotSchedule): skew = matching pods in the node's domain + (1 if the pod matches
 * its own selector) - the global minimum (0 while fewer domains than minDomains) must not
 * exceed maxSkew; a node without a key fails "(missing required label)".
 * Score (ScheduleAnyway): per constraint count x log(domains + 2) + maxSkew - 1, hostname
 * counted per node, nodes without every key ignored, then kube's reversed normalization.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sched_int.h"

static int32_t dom_of(const struct sched_node *n, int slot)
{
	return (uint32_t)slot < n->ndom ? n->dom[slot] : -1;
}

static int state_init(struct sched *s, struct sched_cycle *cy, const struct sched_spread *c,
		      struct sched_spread_state *st)
{
	struct sched_index *ix = s->cache.ix;

	memset(st, 0, sizeof(*st));
	st->c = c;
	st->slot = sched_topo_slot(s->cache.topo, c->topo);
	if (st->slot < 0)
		return -ENOMEM;
	st->hostname = c->topo == s->id_hostname;
	if (!c->counts_nothing) {
		st->cls =
		    sched_class_get(ix, &c->m, 1, SCHED_CLASS_SKIP_TERMINATING, c->key, c->klen);
		if (!st->cls || sched_class_track(ix, st->cls, st->slot) < 0)
			return -ENOMEM;
	}
	st->ndom = sched_topo_ndom(s->cache.topo, st->slot);
	/* one more domain: nodes without the label (score without require-all) */
	st->cnt = sched_cycle_alloc(cy, (st->ndom + 1) * sizeof(*st->cnt));
	st->present = sched_cycle_alloc(cy, st->ndom + 1);
	if (!st->cnt || !st->present)
		return -ENOMEM;
	return 0;
}

/* matchNodeInclusionPolicies */
static bool included(struct sched *s, const struct sched_cycle *cy, const struct sched_spread *c,
		     const struct sched_node *n, int *aff)
{
	if (c->honor_affinity && cy->naff_any) {
		if (*aff < 0)
			*aff = sched_node_affinity_match(s->strings, cy->p, n->spec);
		if (!*aff)
			return false;
	}
	return !c->honor_taints || !sched_untolerated(cy->p, n->spec);
}

static bool has_all_keys(const struct sched_spread_state *sts, uint32_t n,
			 const struct sched_node *nd)
{
	for (uint32_t i = 0; i < n; i++)
		if (dom_of(nd, sts[i].slot) < 0)
			return false;
	return true;
}

/* No inclusion policy excludes a node. */
static bool no_policy(const struct sched_cycle *cy, const struct sched_spread_state *sts,
		      uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if ((sts[i].c->honor_affinity && cy->naff_any) || sts[i].c->honor_taints)
			return false;
	return true;
}

/* Every live node eligible for every constraint: the class counts answer directly. */
static bool fast_path(struct sched *s, const struct sched_cycle *cy,
		      const struct sched_spread_state *sts, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if ((sts[i].c->honor_affinity && cy->naff_any) || sts[i].c->honor_taints)
			return false;
		if (sched_topo_nodes_with_key(s->cache.topo, sts[i].slot) != s->cache.nlive)
			return false;
	}
	return true;
}

int sched_prefilter_spread(struct sched *s, struct sched_cycle *cy)
{
	const struct sched_pod_ext *x = cy->p->x;
	uint32_t k = 0;

	cy->nfs = 0;
	for (uint32_t i = 0; x && i < x->nspread; i++)
		k += x->spread[i].do_not_schedule;
	if (!k)
		return 0;
	cy->fs = sched_cycle_alloc(cy, k * sizeof(*cy->fs));
	if (!cy->fs)
		return -ENOMEM;
	for (uint32_t i = 0; i < x->nspread; i++)
		if (x->spread[i].do_not_schedule &&
		    state_init(s, cy, &x->spread[i], &cy->fs[cy->nfs++]) < 0)
			return -ENOMEM;
	if (fast_path(s, cy, cy->fs, cy->nfs)) {
		for (uint32_t i = 0; i < cy->nfs; i++) {
			struct sched_spread_state *st = &cy->fs[i];

			for (uint32_t d = 0; d < st->ndom; d++) {
				if (sched_topo_dom_nodes(s->cache.topo, st->slot, d) <= 0)
					continue;
				st->present[d] = 1;
				st->cnt[d] =
				    st->cls ? sched_class_dom(st->cls, st->slot, (int32_t)d) : 0;
			}
		}
	} else {
		struct sched_node **nodes;
		uint32_t nn;

		if (sched_cache_order(&s->cache, &nodes, &nn) < 0)
			return -ENOMEM;
		for (uint32_t j = 0; j < nn; j++) {
			const struct sched_node *nd = nodes[j];
			int aff = -1;

			if (!has_all_keys(cy->fs, cy->nfs, nd))
				continue;
			for (uint32_t i = 0; i < cy->nfs; i++) {
				struct sched_spread_state *st = &cy->fs[i];
				int32_t d = dom_of(nd, st->slot);

				if (!included(s, cy, st->c, nd, &aff))
					continue;
				st->present[d] = 1;
				if (st->cls)
					st->cnt[d] += sched_class_node(st->cls, nd->slot);
			}
		}
	}
	for (uint32_t i = 0; i < cy->nfs; i++) {
		struct sched_spread_state *st = &cy->fs[i];

		st->min = INT32_MAX; /* criticalPaths start at MaxInt32 */
		for (uint32_t d = 0; d < st->ndom; d++)
			if (st->present[d]) {
				st->ndomains++;
				if (st->cnt[d] < st->min)
					st->min = st->cnt[d];
			}
	}
	return 0;
}

bool sched_filter_spread(struct sched *s, const struct sched_cycle *cy, const struct sched_node *n,
			 struct sched_status *st)
{
	for (uint32_t i = 0; i < cy->nfs; i++) {
		const struct sched_spread_state *c = &cy->fs[i];
		int32_t d = dom_of(n, c->slot);
		int64_t min, match;

		if (d < 0) {
			st->plugin = SCHED_PL_SPREAD;
			st->n = 1;
			st->reasons[0] = SCHED_R_SPREAD_LABEL;
			return false;
		}
		min = c->ndomains < (uint32_t)c->c->min_domains ? 0 : c->min;
		match = (uint32_t)d < c->ndom && c->present[d] ? c->cnt[d] : 0;
		if (match + (c->c->self_match ? 1 : 0) - min > c->c->max_skew) {
			st->plugin = SCHED_PL_SPREAD;
			st->n = 1;
			st->reasons[0] = SCHED_R_SPREAD;
			return false;
		}
	}
	return true;
}

int sched_prescore_spread(struct sched *s, struct sched_cycle *cy, struct sched_node **feasible,
			  uint32_t n)
{
	const struct sched_pod_ext *x = cy->p->x;
	const struct sched_spread *list = NULL;
	uint32_t nlist = 0, k = 0, ignored = 0;

	cy->nss = 0;
	if (x && x->nspread) {
		list = x->spread;
		nlist = x->nspread;
		cy->ss_require_all = true;
	} else if (cy->sys_spread) {
		list = cy->sys_spread;
		nlist = cy->nsys_spread;
		cy->ss_require_all = false;
	}
	for (uint32_t i = 0; i < nlist; i++)
		k += !list[i].do_not_schedule;
	if (!k || !n)
		return 0;
	cy->ss = sched_cycle_alloc(cy, k * sizeof(*cy->ss));
	cy->ss_ignored = sched_cycle_alloc(cy, n);
	if (!cy->ss || !cy->ss_ignored)
		return -ENOMEM;
	for (uint32_t i = 0; i < nlist; i++)
		if (!list[i].do_not_schedule && state_init(s, cy, &list[i], &cy->ss[cy->nss++]) < 0)
			return -ENOMEM;
	/* the domains of the scored nodes, and the nodes to ignore */
	for (uint32_t j = 0; j < n; j++) {
		if (cy->ss_require_all && !has_all_keys(cy->ss, cy->nss, feasible[j])) {
			cy->ss_ignored[j] = 1;
			ignored++;
			continue;
		}
		for (uint32_t i = 0; i < cy->nss; i++) {
			struct sched_spread_state *st = &cy->ss[i];
			int32_t d = dom_of(feasible[j], st->slot);

			if (st->hostname)
				continue;
			d = d < 0 ? (int32_t)st->ndom : d;
			if (!st->present[d]) {
				st->present[d] = 1;
				st->ndomains++;
			}
		}
	}
	for (uint32_t i = 0; i < cy->nss; i++) {
		struct sched_spread_state *st = &cy->ss[i];
		uint32_t size = st->hostname ? n - ignored : st->ndomains;

		st->weight = log((double)size + 2);
	}
	/* counts of the pairs the scored nodes are in, over every eligible node */
	if (cy->ss_require_all ? fast_path(s, cy, cy->ss, cy->nss)
			       : no_policy(cy, cy->ss, cy->nss)) {
		for (uint32_t i = 0; i < cy->nss; i++) {
			struct sched_spread_state *st = &cy->ss[i];

			for (uint32_t d = 0; !st->hostname && st->cls && d < st->ndom; d++)
				if (st->present[d])
					st->cnt[d] = sched_class_dom(st->cls, st->slot, (int32_t)d);
			/* the nodes without the key (kept when not every key is required) */
			if (!st->hostname && st->cls && st->present[st->ndom])
				st->cnt[st->ndom] = sched_class_members(st->cls) -
						    sched_class_slot_total(st->cls, st->slot);
		}
		return 0;
	}
	struct sched_node **nodes;
	uint32_t nn;

	if (sched_cache_order(&s->cache, &nodes, &nn) < 0)
		return -ENOMEM;
	for (uint32_t j = 0; j < nn; j++) {
		const struct sched_node *nd = nodes[j];
		int aff = -1;

		if (cy->ss_require_all && !has_all_keys(cy->ss, cy->nss, nd))
			continue;
		for (uint32_t i = 0; i < cy->nss; i++) {
			struct sched_spread_state *st = &cy->ss[i];
			int32_t d = dom_of(nd, st->slot);

			if (st->hostname || !st->cls || !included(s, cy, st->c, nd, &aff))
				continue;
			d = d < 0 ? (int32_t)st->ndom : d;
			if (st->present[d])
				st->cnt[d] += sched_class_node(st->cls, nd->slot);
		}
	}
	return 0;
}

void sched_score_spread(const struct sched_cycle *cy, struct sched_node **nodes, uint32_t n,
			int64_t *out)
{
	int64_t min = INT64_MAX, max = 0;

	if (!cy->nss) {
		memset(out, 0, n * sizeof(*out));
		return;
	}
	for (uint32_t j = 0; j < n; j++) {
		double score = 0;

		if (cy->ss_ignored[j]) {
			out[j] = 0;
			continue;
		}
		for (uint32_t i = 0; i < cy->nss; i++) {
			const struct sched_spread_state *st = &cy->ss[i];
			int32_t d = dom_of(nodes[j], st->slot);
			int64_t cnt;

			if (d < 0)
				continue;
			if (st->hostname)
				cnt = st->cls ? sched_class_node(st->cls, nodes[j]->slot) : 0;
			else
				cnt = st->cnt[d];
			score += (double)cnt * st->weight + (double)(st->c->max_skew - 1);
		}
		out[j] = (int64_t)round(score);
		if (out[j] < min)
			min = out[j];
		if (out[j] > max)
			max = out[j];
	}
	for (uint32_t j = 0; j < n; j++) {
		if (cy->ss_ignored[j])
			out[j] = 0;
		else if (max == 0)
			out[j] = SCHED_MAX_NODE_SCORE;
		else
			out[j] = SCHED_MAX_NODE_SCORE * (max + min - out[j]) / max;
	}
}
