/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_affinity: InterPodAffinity, kube-scheduler's plugin, over the index's classes and
 * holders (sched_index.c) instead of a scan of every pod per decision.
 *
 * PreFilter resolves the pod's terms to classes tracked on their topology keys: "matches
 * every required affinity term" (kube's affinityCounts), each required anti-affinity term
 * (antiAffinityCounts), each preferred term; and collects the holders of existing pods whose
 * terms match the pod: required anti-affinity (existingAntiAffinityCounts, seed 003's
 * symmetry: pods already placed keep a pod they are anti-affine to out of their domain) and,
 * for the score, required affinity (hardPodAffinityWeight: the reverse of a hard affinity is
 * soft) and preferred (anti-)affinity. O(terms + classes with holders).
 *
 * Filter, per node, in kube's order and words: the pod's affinity (every term's topology
 * label present and a matching pod in the domain, or no matching pod anywhere and the pod
 * matching its own terms: the first of a group), its anti-affinity, then the existing pods'
 * anti-affinity. O(terms + matching holders) reads.
 *
 * Score: the sum over the node's domains of +/- weights (preferred terms x matching pods,
 * holders' weights), min-max normalized over the scored nodes as kube's NormalizeScore.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sched_int.h"

static int term_states(struct sched *s, struct sched_cycle *cy, const struct sched_pterm *t,
		       uint32_t n, int sign, struct sched_term_state *out)
{
	struct sched_index *ix = s->cache.ix;

	for (uint32_t i = 0; i < n; i++) {
		struct sched_class *c = sched_class_get(ix, &t[i].m, 1, 0, t[i].key, t[i].klen);
		int slot = sched_topo_slot(s->cache.topo, t[i].topo);

		if (!c || slot < 0 || sched_class_track(ix, c, slot) < 0)
			return -ENOMEM;
		out[i] =
		    (struct sched_term_state){.t = &t[i], .cls = c, .slot = slot, .sign = sign};
	}
	return 0;
}

int sched_prefilter_interpod(struct sched *s, struct sched_cycle *cy)
{
	const struct sched_pod *p = cy->p;
	const struct sched_pod_ext *x = p->x;
	struct sched_index *ix = s->cache.ix;
	uint32_t nh = 0;

	cy->naff = cy->nanti = cy->npref = cy->nex_anti = cy->nex_score = 0;
	cy->aff_all = NULL;
	cy->ipa_score = false;
	if (x && x->naff) {
		struct sched_match *conj = sched_cycle_alloc(cy, x->naff * sizeof(*conj));

		cy->aff = sched_cycle_alloc(cy, x->naff * sizeof(*cy->aff));
		if (!conj || !cy->aff)
			return -ENOMEM;
		for (uint32_t i = 0; i < x->naff; i++)
			conj[i] = x->aff[i].m;
		cy->aff_all =
		    sched_class_get(ix, conj, x->naff, 0, x->aff_all_key, x->aff_all_klen);
		if (!cy->aff_all)
			return -ENOMEM;
		cy->aff_counts_empty = true;
		for (uint32_t i = 0; i < x->naff; i++) {
			int slot = sched_topo_slot(s->cache.topo, x->aff[i].topo);

			if (slot < 0 || sched_class_track(ix, cy->aff_all, slot) < 0)
				return -ENOMEM;
			cy->aff[i] = (struct sched_term_state){
			    .t = &x->aff[i], .cls = cy->aff_all, .slot = slot, .sign = 1};
			if (sched_class_slot_total(cy->aff_all, slot) > 0)
				cy->aff_counts_empty = false;
		}
		cy->naff = x->naff;
		cy->aff_self_match = sched_class_matches(ix, cy->aff_all, p);
	}
	if (x && x->nanti) {
		cy->anti = sched_cycle_alloc(cy, x->nanti * sizeof(*cy->anti));
		if (!cy->anti || term_states(s, cy, x->anti, x->nanti, 1, cy->anti) < 0)
			return -ENOMEM;
		cy->nanti = x->nanti;
	}
	if (x && (x->npaff || x->npanti)) {
		cy->pref = sched_cycle_alloc(cy, (x->npaff + x->npanti) * sizeof(*cy->pref));
		if (!cy->pref || term_states(s, cy, x->paff, x->npaff, 1, cy->pref) < 0 ||
		    term_states(s, cy, x->panti, x->npanti, -1, cy->pref + x->npaff) < 0)
			return -ENOMEM;
		cy->npref = x->npaff + x->npanti;
		cy->ipa_score = true;
	}
	/* the symmetric side: existing pods' terms that match this pod */
	for (struct sched_class *c = sched_index_holder_classes(ix); c;
	     c = sched_class_next_holder_class(c))
		for (struct sched_holder *h = sched_class_holders(c); h; h = sched_holder_next(h))
			nh++;
	if (!nh)
		return 0;
	cy->ex_anti = sched_cycle_alloc(cy, nh * sizeof(*cy->ex_anti));
	cy->ex_score = sched_cycle_alloc(cy, nh * sizeof(*cy->ex_score));
	if (!cy->ex_anti || !cy->ex_score)
		return -ENOMEM;
	for (struct sched_class *c = sched_index_holder_classes(ix); c;
	     c = sched_class_next_holder_class(c)) {
		if (!sched_class_matches(ix, c, p))
			continue;
		for (struct sched_holder *h = sched_class_holders(c); h; h = sched_holder_next(h)) {
			if (sched_holder_empty(h))
				continue;
			if (sched_holder_kind(h) == SCHED_HOLD_REQ_ANTI) {
				cy->ex_anti[cy->nex_anti++] = h;
			} else {
				cy->ex_score[cy->nex_score++] = h;
				cy->ipa_score = true;
			}
		}
	}
	return 0;
}

static int32_t dom_of(const struct sched_node *n, int slot)
{
	return (uint32_t)slot < n->ndom ? n->dom[slot] : -1;
}

/* satisfyPodAffinity */
static bool pod_affinity(const struct sched_cycle *cy, const struct sched_node *n)
{
	bool exist = true;

	for (uint32_t i = 0; i < cy->naff; i++) {
		int32_t d = dom_of(n, cy->aff[i].slot);

		if (d < 0)
			return false; /* every topology label must be on the node */
		if (sched_class_dom(cy->aff[i].cls, cy->aff[i].slot, d) <= 0)
			exist = false;
	}
	/* the first pod of a group with affinity to itself may go anywhere labelled */
	return exist || (cy->aff_counts_empty && cy->aff_self_match);
}

/* satisfyPodAntiAffinity */
static bool pod_anti_affinity(const struct sched_cycle *cy, const struct sched_node *n)
{
	for (uint32_t i = 0; i < cy->nanti; i++) {
		int32_t d = dom_of(n, cy->anti[i].slot);

		if (d >= 0 && sched_class_dom(cy->anti[i].cls, cy->anti[i].slot, d) > 0)
			return false;
	}
	return true;
}

/* satisfyExistingPodsAntiAffinity */
static bool existing_anti_affinity(const struct sched_cycle *cy, const struct sched_node *n)
{
	for (uint32_t i = 0; i < cy->nex_anti; i++) {
		const struct sched_holder *h = cy->ex_anti[i];

		if (sched_holder_dom(h, dom_of(n, sched_holder_slot(h))) > 0)
			return false;
	}
	return true;
}

bool sched_filter_interpod(struct sched *s, const struct sched_cycle *cy,
			   const struct sched_node *n, struct sched_status *st)
{
	const char *why = NULL;

	if (!pod_affinity(cy, n))
		why = SCHED_R_AFFINITY;
	else if (!pod_anti_affinity(cy, n))
		why = SCHED_R_ANTI_AFFINITY;
	else if (!existing_anti_affinity(cy, n))
		why = SCHED_R_EXISTING_ANTI;
	if (!why)
		return true;
	st->plugin = SCHED_PL_INTERPOD;
	st->n = 1;
	st->reasons[0] = why;
	return false;
}

void sched_score_interpod(const struct sched_cycle *cy, struct sched_node **nodes, uint32_t n,
			  int64_t *out)
{
	int64_t min = INT64_MAX, max = INT64_MIN;

	for (uint32_t i = 0; i < n; i++) {
		const struct sched_node *nd = nodes[i];
		int64_t score = 0;

		for (uint32_t k = 0; cy->ipa_score && k < cy->npref; k++) {
			const struct sched_term_state *t = &cy->pref[k];

			score += (int64_t)t->sign * t->t->weight *
				 sched_class_dom(t->cls, t->slot, dom_of(nd, t->slot));
		}
		for (uint32_t k = 0; cy->ipa_score && k < cy->nex_score; k++) {
			const struct sched_holder *h = cy->ex_score[k];
			int64_t v = sched_holder_dom(h, dom_of(nd, sched_holder_slot(h)));

			if (sched_holder_kind(h) == SCHED_HOLD_REQ_AFF)
				v *= SCHED_HARD_POD_AFFINITY_WEIGHT;
			score += v;
		}
		out[i] = score;
		if (score > max)
			max = score;
		if (score < min)
			min = score;
	}
	int64_t diff = max - min;

	for (uint32_t i = 0; i < n; i++) {
		double f = 0;

		if (diff > 0)
			f = (double)SCHED_MAX_NODE_SCORE * ((double)(out[i] - min) / (double)diff);
		out[i] = (int64_t)f;
	}
}
