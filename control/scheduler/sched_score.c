/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_score: the node-local scores of kube-scheduler's default profile, with its integer
 * arithmetic and normalizations: NodeResourcesFit's LeastAllocated (cpu and memory, weight 1
 * each, on non-zero requests: 100m / 200Mi for unset ones), NodeResourcesBalancedAllocation
 * (cpu and memory fractions of allocatable on actual requests, 1 - |f_cpu - f_mem| / 2),
 * TaintToleration (untolerated PreferNoSchedule taints, normalized reversed), NodeAffinity
 * (weights of matching preferred terms, normalized). Each scores the feasible nodes in one
 * pass, O(nodes x what the pod asks).
 */
#include <math.h>

#include "sched_int.h"

void sched_normalize_default(int64_t *scores, uint32_t n, bool reverse)
{
	int64_t max = 0;

	for (uint32_t i = 0; i < n; i++)
		if (scores[i] > max)
			max = scores[i];
	if (max == 0) {
		if (reverse)
			for (uint32_t i = 0; i < n; i++)
				scores[i] = SCHED_MAX_NODE_SCORE;
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		int64_t v = SCHED_MAX_NODE_SCORE * scores[i] / max;

		scores[i] = reverse ? SCHED_MAX_NODE_SCORE - v : v;
	}
}

/* leastRequestedScore */
static int64_t least_requested(int64_t requested, int64_t capacity)
{
	if (capacity == 0 || requested > capacity)
		return 0;
	return (int64_t)(((__int128)(capacity - requested) * SCHED_MAX_NODE_SCORE) / capacity);
}

void sched_score_fit(const struct sched_pod *p, struct sched_node **nodes, uint32_t n, int64_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct sched_node *nd = nodes[i];
		int64_t score = 0, wsum = 0;

		if (nd->spec->alloc.cpu) {
			score += least_requested(nd->nz_cpu + p->nz_cpu, nd->spec->alloc.cpu);
			wsum++;
		}
		if (nd->spec->alloc.mem) {
			score += least_requested(nd->nz_mem + p->nz_mem, nd->spec->alloc.mem);
			wsum++;
		}
		out[i] = wsum ? score / wsum : 0;
	}
}

void sched_score_balanced(const struct sched_pod *p, struct sched_node **nodes, uint32_t n,
			  int64_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct sched_node *nd = nodes[i];
		double f[2];
		int k = 0;

		if (nd->spec->alloc.cpu) {
			f[k] =
			    (double)(nd->requested.cpu + p->req.cpu) / (double)nd->spec->alloc.cpu;
			if (f[k] > 1)
				f[k] = 1;
			k++;
		}
		if (nd->spec->alloc.mem) {
			f[k] =
			    (double)(nd->requested.mem + p->req.mem) / (double)nd->spec->alloc.mem;
			if (f[k] > 1)
				f[k] = 1;
			k++;
		}
		double std = k == 2 ? fabs((f[0] - f[1]) / 2) : 0.0;

		out[i] = (int64_t)((1 - std) * (double)SCHED_MAX_NODE_SCORE);
	}
}

void sched_score_taints(const struct sched_pod *p, struct sched_node **nodes, uint32_t n,
			int64_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct sched_node_spec *nd = nodes[i]->spec;
		int64_t cnt = 0;

		for (uint32_t k = 0; k < nd->ntaints; k++)
			if (nd->taints[k].effect == SCHED_EFFECT_PREFER &&
			    !sched_tolerates(p, &nd->taints[k]))
				cnt++;
		out[i] = cnt;
	}
	sched_normalize_default(out, n, true);
}

void sched_score_node_affinity(const struct sched_intern *t, const struct sched_pod *p,
			       struct sched_node **nodes, uint32_t n, int64_t *out)
{
	const struct sched_pod_ext *x = p->x;

	for (uint32_t i = 0; i < n; i++) {
		const struct sched_node_spec *nd = nodes[i]->spec;
		int64_t score = 0;

		for (uint32_t k = 0; x && k < x->npref_naff; k++) {
			const struct sched_pref_nterm *pt = &x->pref_naff[k];

			if (sched_sel_match(t, &pt->term.exprs, &nd->labels) &&
			    sched_fields_match(&pt->term.fields, nd->name_id))
				score += pt->weight;
		}
		out[i] = score;
	}
	sched_normalize_default(out, n, false);
}
