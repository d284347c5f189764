/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_decide: one scheduling decision, as kube-scheduler's schedulePod does it, under the
 * cache lock:
 *   PreFilter  NodeAffinity (matchFields metadata.name pins the candidate nodes; terms that
 *              cannot meet: "pod affinity terms conflict"), PodTopologySpread and
 *              InterPodAffinity state (sched_spread.c, sched_affinity.c);
 *   Filter     nodes in NodeTree order from where the last search stopped, every filter in
 *              the profile's order, until numFeasibleNodesToFind nodes fit (the adaptive
 *              percentageOfNodesToScore: 50 - nodes/125 %, at least 5 % and 100 nodes);
 *   Score      with one feasible node it is taken unscored (as kube); otherwise every score
 *              plugin with its weight (TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1,
 *              PodTopologySpread 2, InterPodAffinity 2, BalancedAllocation 1), and the host
 *              drawn uniformly among the top totals (selectHost's reservoir sampling);
 *   Failure    the FitError message: "0/N nodes are available: " + "<count> <reason>"
 *              strings sorted as Go's sort.Strings sorts them (byte order, so "10 ..." comes
 *              before "2 ..."), joined by ", ", then ".".
 *   PostFilter DefaultPreemption (sched_preempt.c, run by sched_schedule after a failure)
 *              appends its verdict (" preemption: 0/N nodes are available: ...") unless it
 *              nominated a node. Filters count the room of pods nominated to a node first
 *              (sched_filter_nominated). ImageLocality (weight 1) is left out: drover's nodes report no images, where it scores
 * every node 0 anyway; the volume plugins have no volumes to judge.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* ---- scratch ---- */

struct sched_scratch {
	struct sched_scratch *next;
	size_t cap, used;
	_Alignas(16) char data[];
};

void *sched_cycle_alloc(struct sched_cycle *cy, size_t size)
{
	struct sched_scratch *c;

	size = (size + 15) & ~(size_t)15;
	for (c = cy->scratch; c; c = c->next)
		if (c->cap - c->used >= size)
			break;
	if (!c) {
		size_t cap = size > 65536 ? size : 65536;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = cy->scratch;
		cy->scratch = c;
	}
	void *p = c->data + c->used;

	c->used += size;
	memset(p, 0, size);
	return p;
}

void sched_cycle_reset(struct sched_cycle *cy)
{
	struct sched_scratch *sc = cy->scratch;

	sched_arena_free(&cy->arena);
	for (struct sched_scratch *c = sc; c; c = c->next)
		c->used = 0;
	memset(cy, 0, sizeof(*cy));
	cy->scratch = sc;
}

void sched_cycle_free(struct sched_cycle *cy)
{
	sched_arena_free(&cy->arena);
	for (struct sched_scratch *c = cy->scratch, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	cy->scratch = NULL;
}

/* ---- numbers ---- */

uint32_t sched_nodes_to_find(int percentage, uint32_t nall)
{
	const uint32_t min_nodes = 100, min_pct = 5;
	int64_t pct = percentage;
	uint32_t n;

	if (nall < min_nodes)
		return nall;
	if (pct <= 0) {
		pct = 50 - (int64_t)nall / 125;
		if (pct < min_pct)
			pct = min_pct;
	}
	if (pct > 100)
		pct = 100;
	n = (uint32_t)((uint64_t)nall * (uint64_t)pct / 100);
	return n < min_nodes ? min_nodes : n;
}

/* xorshift64* */
uint64_t sched_rnd(struct sched *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

/* ---- reasons ---- */

struct tally {
	const char *reason;
	int count;
};

struct diag {
	struct tally *v;
	uint32_t n, cap;
	uint32_t failed;       /* nodes with a status (NodeToStatus.Len()) */
	uint32_t rejectors;    /* plugins */
	const char *prefilter; /* PreFilter's message */
	const char *absent;    /* reason of nodes PreFilter left out */
	uint32_t absent_nodes;
};

static int tally(struct sched_cycle *cy, struct diag *d, const char *reason, int n)
{
	for (uint32_t i = 0; i < d->n; i++)
		if (d->v[i].reason == reason || strcmp(d->v[i].reason, reason) == 0) {
			d->v[i].count += n;
			return 0;
		}
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 16;
		struct tally *v = sched_cycle_alloc(cy, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (d->n)
			memcpy(v, d->v, d->n * sizeof(*v));
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = (struct tally){.reason = reason, .count = n};
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* FitError.Error() */
static int fit_error(struct sched_cycle *cy, struct diag *d, int nall, struct sched_result *r)
{
	struct k8s_buf b = {0};
	char **lines = NULL;

	k8s_buf_printf(&b, "0/%d nodes are available:", nall);
	if (d->prefilter) {
		k8s_buf_printf(&b, " %s.", d->prefilter);
	} else {
		if (d->absent && d->absent_nodes &&
		    tally(cy, d, d->absent, (int)d->absent_nodes) < 0)
			goto oom;
		lines = sched_cycle_alloc(cy, (d->n + 1) * sizeof(*lines));
		r->reasons = calloc(d->n ? d->n : 1, sizeof(*r->reasons));
		if (!lines || !r->reasons)
			goto oom;
		for (uint32_t i = 0; i < d->n; i++) {
			char num[16];
			int k = snprintf(num, sizeof(num), "%d ", d->v[i].count);
			size_t len = strlen(d->v[i].reason);

			lines[i] = sched_cycle_alloc(cy, (size_t)k + len + 1);
			if (!lines[i])
				goto oom;
			memcpy(lines[i], num, (size_t)k);
			memcpy(lines[i] + k, d->v[i].reason, len + 1);
		}
		qsort(lines, d->n, sizeof(*lines), cmp_line);
		for (uint32_t i = 0; i < d->n; i++) {
			const char *reason = strchr(lines[i], ' ') + 1;

			k8s_buf_printf(&b, "%s%s", i ? ", " : " ", lines[i]);
			/* the reason strings live as long as the scheduler (static or interned) */
			for (uint32_t k = 0; k < d->n; k++)
				if (strcmp(d->v[k].reason, reason) == 0) {
					r->reasons[i].reason = d->v[k].reason;
					r->reasons[i].nodes = d->v[k].count;
				}
		}
		r->nreasons = d->n;
		if (d->n)
			k8s_buf_putc(&b, '.');
	}
	r->message = k8s_buf_take(&b, NULL);
	if (!r->message)
		goto oom;
	return 0;
oom:
	k8s_buf_free(&b);
	return -ENOMEM;
}

/* ---- the filter pass ---- */

struct search {
	struct sched *s;
	struct sched_cycle *cy;
	struct sched_node **cand, **feasible;
	uint32_t ncand, start, tofind, nf;
	struct diag *d;
	/* parallel */
	uint8_t *ok;
	struct sched_status *st;
	atomic_uint found;
};

#define PCHUNK 32

static void filter_chunk(void *arg, uint32_t c)
{
	struct search *x = arg;
	uint32_t end = (c + 1) * PCHUNK < x->ncand ? (c + 1) * PCHUNK : x->ncand;

	for (uint32_t i = c * PCHUNK; i < end; i++) {
		x->ok[i] = sched_filter_nominated(x->s, x->cy, x->cand[(x->start + i) % x->ncand],
						  &x->st[i]);
		if (x->ok[i] && atomic_fetch_add(&x->found, 1) + 1 >= x->tofind)
			sched_pool_cancel(x->s->pool);
	}
}

/* Nodes in order from start until tofind fit: feasible ones collected, the others tallied. */
static int search(struct search *x)
{
	struct sched_status st;

	if (!x->s->pool || x->ncand < 4 * PCHUNK) {
		for (uint32_t i = 0; i < x->ncand && x->nf < x->tofind; i++) {
			struct sched_node *n = x->cand[(x->start + i) % x->ncand];

			if (sched_filter_nominated(x->s, x->cy, n, &st)) {
				x->feasible[x->nf++] = n;
				continue;
			}
			x->d->failed++;
			x->d->rejectors |= st.plugin;
			for (uint32_t k = 0; k < st.n; k++)
				if (tally(x->cy, x->d, st.reasons[k], 1) < 0)
					return -ENOMEM;
		}
		return 0;
	}
	/* parallel: chunks claimed in order; the claimed prefix is merged as a sequential
	 * search would have seen it */
	x->ok = sched_cycle_alloc(x->cy, x->ncand);
	x->st = sched_cycle_alloc(x->cy, x->ncand * sizeof(*x->st));
	if (!x->ok || !x->st)
		return -ENOMEM;
	atomic_init(&x->found, 0);
	uint32_t chunks =
	    sched_pool_run(x->s->pool, (x->ncand + PCHUNK - 1) / PCHUNK, filter_chunk, x);
	uint32_t upto = chunks * PCHUNK < x->ncand ? chunks * PCHUNK : x->ncand;

	for (uint32_t i = 0; i < upto && x->nf < x->tofind; i++) {
		if (x->ok[i]) {
			x->feasible[x->nf++] = x->cand[(x->start + i) % x->ncand];
			continue;
		}
		x->d->failed++;
		x->d->rejectors |= x->st[i].plugin;
		for (uint32_t k = 0; k < x->st[i].n; k++)
			if (tally(x->cy, x->d, x->st[i].reasons[k], 1) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* ---- the decision ---- */

static bool in_name_set(const struct sched_pod_ext *x, uint32_t id)
{
	for (uint32_t i = 0; i < x->nname_set; i++)
		if (x->name_set[i] == id)
			return true;
	return false;
}

/* Score the feasible nodes; the index of the chosen one. */
static int score(struct sched *s, struct sched_cycle *cy, struct sched_node **f, uint32_t n,
		 uint32_t *chosen)
{
	int64_t *tot = sched_cycle_alloc(cy, n * sizeof(*tot));
	int64_t *v = sched_cycle_alloc(cy, n * sizeof(*v));
	const struct sched_pod *p = cy->p;

	if (!tot || !v || sched_defaults_spread(s, cy) < 0 ||
	    sched_prescore_spread(s, cy, f, n) < 0)
		return -ENOMEM;
	sched_score_taints(p, f, n, v);
	for (uint32_t i = 0; i < n; i++)
		tot[i] = SCHED_W_TAINT * v[i];
	if (p->x && p->x->npref_naff) {
		sched_score_node_affinity(s->strings, p, f, n, v);
		for (uint32_t i = 0; i < n; i++)
			tot[i] += SCHED_W_NODEAFFINITY * v[i];
	}
	sched_score_fit(p, f, n, v);
	for (uint32_t i = 0; i < n; i++)
		tot[i] += SCHED_W_FIT * v[i];
	if (cy->nss) {
		sched_score_spread(cy, f, n, v);
		for (uint32_t i = 0; i < n; i++)
			tot[i] += SCHED_W_SPREAD * v[i];
	}
	if (cy->ipa_score) {
		sched_score_interpod(cy, f, n, v);
		for (uint32_t i = 0; i < n; i++)
			tot[i] += SCHED_W_INTERPOD * v[i];
	}
	sched_score_balanced(p, f, n, v);
	for (uint32_t i = 0; i < n; i++)
		tot[i] += SCHED_W_BALANCED * v[i];
	/* selectHost: uniform among the best (reservoir sampling) */
	uint32_t best = 0, ties = 1;

	for (uint32_t i = 1; i < n; i++) {
		if (tot[i] > tot[best]) {
			best = i;
			ties = 1;
		} else if (tot[i] == tot[best] && sched_rnd(s) % ++ties == 0) {
			best = i;
		}
	}
	*chosen = best;
	return 0;
}

int sched_decide(struct sched *s, const struct sched_pod *p, struct sched_result *r,
		 uint32_t *rejectors, struct sched_node **chosen)
{
	struct sched_cycle *cy = &s->cy;
	const struct sched_pod_ext *x = p->x;
	struct sched_node **all, **cand, **feasible;
	uint32_t nall, ncand, tofind, nf;
	struct diag d = {0};
	int rc;

	*rejectors = 0;
	*chosen = NULL;
	sched_cycle_reset(cy);
	cy->p = p;
	cy->naff_any = x && (x->node_selector.n || x->has_req_naff);
	if (sched_cache_order(&s->cache, &all, &nall) < 0)
		return -ENOMEM;
	r->nodes_all = (int)nall;
	if (!nall)
		return -ENODEV;
	/* PreFilter */
	cand = all;
	ncand = nall;
	if (p->parse_error) {
		d.prefilter = p->parse_error;
		d.rejectors = SCHED_PL_INTERPOD;
		goto fail;
	}
	if (x && x->has_name_set) {
		if (x->naff_conflict) {
			d.prefilter = SCHED_R_NODEAFF_CONFLICT;
			d.rejectors = SCHED_PL_NODEAFFINITY;
			goto fail;
		}
		cand = sched_cycle_alloc(cy, x->nname_set * sizeof(*cand));
		if (!cand)
			return -ENOMEM;
		ncand = 0;
		for (uint32_t i = 0; i < nall; i++)
			if (in_name_set(x, all[i]->spec->name_id))
				cand[ncand++] = all[i];
		d.absent = SCHED_R_NODEAFF_PREFILTER;
		d.rejectors |= SCHED_PL_NODEAFFINITY;
	}
	if (sched_prefilter_spread(s, cy) < 0 || sched_prefilter_interpod(s, cy) < 0)
		return -ENOMEM;
	/* Filter */
	tofind = sched_nodes_to_find(s->o.percentage_of_nodes_to_score, ncand);
	feasible = sched_cycle_alloc(cy, (tofind ? tofind : 1) * sizeof(*feasible));
	if (!feasible)
		return -ENOMEM;
	struct search sr = {.s = s,
			    .cy = cy,
			    .cand = cand,
			    .feasible = feasible,
			    .ncand = ncand,
			    .start = ncand ? s->cache.next_start % ncand : 0,
			    .tofind = tofind,
			    .d = &d};

	if (search(&sr) < 0)
		return -ENOMEM;
	nf = sr.nf;
	s->cache.next_start = (s->cache.next_start + nf + d.failed) % nall;
	r->nodes_evaluated = (int)(nf + d.failed);
	r->nodes_feasible = (int)nf;
	if (!nf) {
		d.absent_nodes = nall - d.failed;
		goto fail;
	}
	/* Score */
	uint32_t pick = 0;

	if (nf > 1 && (rc = score(s, cy, feasible, nf, &pick)) < 0)
		return rc;
	*chosen = feasible[pick];
	r->scheduled = true;
	snprintf(r->node, sizeof(r->node), "%s", feasible[pick]->spec->name);
	return 0;
fail:
	*rejectors = d.rejectors;
	return fit_error(cy, &d, (int)nall, r);
}
