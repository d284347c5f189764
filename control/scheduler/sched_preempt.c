/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_preempt: kube-scheduler 1.32's DefaultPreemption PostFilter
 * (pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go and
 * pkg/scheduler/framework/preemption/preemption.go), the nominator it relies on and the
 * PodDisruptionBudgets it honours. It runs only after a pod fit nowhere, under the cache lock,
 * with the failed decision's cycle state still in s->cy.
 *
 *   Preempt            PodEligibleToPreemptOthers (preemptionPolicy Never; a lower priority
 *                      pod the scheduler's preemption is terminating on the nominated node);
 *                      findCandidates: the nodes whose status is Unschedulable (resolvable by
 *                      removing pods: not NodeUnschedulable, NodeName, TaintToleration,
 *                      NodeAffinity, a missing spread label, unmet pod affinity), GetOffsetAndNumCandidates (a random offset,
 *                      max(10 % of them, 100) candidates), DryRunPreemption in that order
 *                      until a PDB-respecting candidate is among enough; SelectCandidate by
 *                      pickOneNodeForPreemption; the result names the victims, and the lower
 *                      priority pods nominated to the node lose their nomination.
 *   SelectVictimsOnNode  every lower priority pod off a copy of the node; the pod must fit;
 *                      then victims reprieved most important first (PDB-violating ones
 *                      before the others) while the pod still fits.
 *   RunFilterPluginsWithNominatedPods  pods nominated to a node with priority >= the pod's
 *                      take their room first (sched_filter_nominated, used by every filter
 *                      pass of a decision).
 *
 * Simplifications, said plainly: the dry run removes victims from the node's resources,
 * pod count and host ports (NodeResourcesFit, NodePorts); PodTopologySpread and
 * InterPodAffinity keep counting them (kube's RemovePod PreFilter extensions are not
 * mirrored), so a node rejected by those stays rejected and no victim is chosen for them:
 * drover may decline a preemption kube would make, never the reverse. The same holds for
 * nominated pods, which reserve resources, pods and ports only. The dry run is sequential
 * (kube's is parallel: the set of candidates it stops at is the same, their order is the
 * node order from the offset); pickOneNodeForPreemption's last tie-break is the first
 * candidate in that order (kube's is Go's map order). The preemption is synchronous, as
 * kube 1.32's default (SchedulerAsyncPreemption off).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

#define R_NO_VICTIMS  "No preemption victims found for incoming pod"
#define R_NOT_HELPFUL "Preemption is not helpful for scheduling"

struct sched_nominee {
	struct sched_pod *p;
	uint32_t node; /* interned node name */
	bool from_status;
};

struct sched_pdb {
	struct sched_arena arena;
	char *ns_name; /* "ns/name" */
	uint32_t ns_id;
	bool matches_nothing; /* nil, empty or invalid selector */
	struct sched_sel sel;
	int32_t allowed; /* status.disruptionsAllowed */
	uint32_t ndisrupted;
	char **disrupted; /* status.disruptedPods' names */
};

/* ---- the nominator ---- */

static struct sched_nominee *nominee_find(struct sched *s, const char *uid)
{
	for (uint32_t i = 0; i < s->nnominees; i++)
		if (strcmp(s->nominees[i].p->uid, uid) == 0)
			return &s->nominees[i];
	return NULL;
}

void sched_nominee_gone(struct sched *s, const char *uid)
{
	struct sched_nominee *e = nominee_find(s, uid);

	if (!e)
		return;
	sched_pod_unref(e->p);
	*e = s->nominees[--s->nnominees];
}

int sched_nominate(struct sched *s, struct sched_pod *p, uint32_t node, bool from_status)
{
	struct sched_nominee *e = nominee_find(s, p->uid);

	if (!node) {
		sched_nominee_gone(s, p->uid);
		return 0;
	}
	if (!e) {
		if (sched_grow((void **)&s->nominees, &s->canominees, s->nnominees + 1,
			       sizeof(*s->nominees)) < 0)
			return -ENOMEM;
		e = &s->nominees[s->nnominees++];
	} else {
		sched_pod_unref(e->p);
	}
	*e =
	    (struct sched_nominee){.p = sched_pod_ref(p), .node = node, .from_status = from_status};
	return 0;
}

/* kube's nominator on a pod add/update: the status' nomination wins; a status without one
 * keeps an in-memory nomination (the update may predate our status write) but clears one
 * that came from a status. */
int sched_nominee_seen(struct sched *s, struct sched_pod *p)
{
	struct sched_nominee *e = nominee_find(s, p->uid);

	if (p->nominated_id)
		return sched_nominate(s, p, p->nominated_id, true);
	if (e && e->from_status) {
		sched_nominee_gone(s, p->uid);
	} else if (e) {
		sched_pod_unref(e->p);
		e->p = sched_pod_ref(p);
	}
	return 0;
}

static uint32_t nominated_node(struct sched *s, const struct sched_pod *p)
{
	struct sched_nominee *e = nominee_find(s, p->uid);

	return e ? e->node : p->nominated_id;
}

/* addGENominatedPods: 1 if any was added to sim, 0 if none, -ENOMEM */
static int add_nominated(struct sched *s, const struct sched_pod *p, const struct sched_node *n,
			 struct sched_node_sim *sim)
{
	int added = 0;

	for (uint32_t i = 0; i < s->nnominees; i++) {
		const struct sched_nominee *e = &s->nominees[i];

		if (e->node != n->spec->name_id || e->p->priority < p->priority || e->p == p ||
		    strcmp(e->p->uid, p->uid) == 0)
			continue;
		if (!added && sched_node_sim_init(sim, n) < 0)
			return -ENOMEM;
		if (sched_node_sim_pod(sim, e->p, +1) < 0) {
			sched_node_sim_free(sim);
			return -ENOMEM;
		}
		added = 1;
	}
	return added;
}

bool sched_filter_nominated(struct sched *s, const struct sched_cycle *cy,
			    const struct sched_node *n, struct sched_status *st)
{
	struct sched_node_sim sim;
	bool ok;
	int added;

	if (!s->nnominees)
		return sched_filter_all(s, cy, n, st);
	added = add_nominated(s, cy->p, n, &sim);
	if (added <= 0) /* without memory for the copy, as if none were nominated */
		return sched_filter_all(s, cy, n, st);
	/* the second pass without them (kube's) can only differ for the index-backed filters,
	 * which the copy does not change */
	ok = sched_filter_all(s, cy, &sim.n, st);
	sched_node_sim_free(&sim);
	return ok;
}

/* ---- PodDisruptionBudgets ---- */

static int pdb_key(const struct jv *pdb, char *buf, size_t len)
{
	const char *ns = jv_path_str(pdb, "metadata.namespace"),
		   *name = jv_path_str(pdb, "metadata.name");

	if (!ns || !name)
		return -EINVAL;
	snprintf(buf, len, "%s/%s", ns, name);
	return 0;
}

static void pdb_drop(struct sched *s, const char *key)
{
	for (uint32_t i = 0; i < s->npdbs; i++)
		if (strcmp(s->pdbs[i].ns_name, key) == 0) {
			sched_arena_free(&s->pdbs[i].arena);
			s->pdbs[i] = s->pdbs[--s->npdbs];
			return;
		}
}

int sched_pdb_upsert(struct sched *s, const struct jv *pdb)
{
	struct sched_pdb b = {0};
	const char *ns = jv_path_str(pdb, "metadata.namespace");
	const struct jv *sel = jv_path(pdb, "spec.selector");
	char key[512], err[256];
	int64_t allowed = 0;
	uint32_t n = 0;

	if (pdb_key(pdb, key, sizeof(key)) < 0)
		return -EINVAL;
	b.ns_name = sched_arena_strndup(&b.arena, key, strlen(key));
	b.ns_id = sched_intern(s->strings, ns, strlen(ns));
	if (!b.ns_name || b.ns_id == SCHED_NOID)
		goto oom;
	jv_path_int(pdb, "status.disruptionsAllowed", &allowed);
	b.allowed = (int32_t)allowed;
	/* LabelSelectorAsSelector; "A PDB with a nil or empty selector matches nothing" */
	if (sel && sel->type == JV_OBJECT &&
	    sched_sel_compile(s, &b.arena, sel, NULL, &b.sel, err, sizeof(err)) == 0)
		b.matches_nothing = b.sel.kind != SCHED_SEL_REQS;
	else
		b.matches_nothing = true;
	const struct jv *dp = jv_path(pdb, "status.disruptedPods");

	for (const struct jv *m = jv_first(dp); m; m = m->next)
		n++;
	if (n && !(b.disrupted = sched_arena_alloc(&b.arena, n * sizeof(char *))))
		goto oom;
	for (const struct jv *m = jv_first(dp); m; m = m->next) {
		if (!m->key)
			continue;
		if (!(b.disrupted[b.ndisrupted++] =
			  sched_arena_strndup(&b.arena, m->key, strlen(m->key))))
			goto oom;
	}
	pthread_mutex_lock(&s->cache.mu);
	pdb_drop(s, key);
	if (sched_grow((void **)&s->pdbs, &s->capdbs, s->npdbs + 1, sizeof(*s->pdbs)) < 0) {
		pthread_mutex_unlock(&s->cache.mu);
		goto oom;
	}
	s->pdbs[s->npdbs++] = b;
	pthread_mutex_unlock(&s->cache.mu);
	return 0;
oom:
	sched_arena_free(&b.arena);
	return -ENOMEM;
}

int sched_pdb_delete(struct sched *s, const struct jv *pdb)
{
	char key[512];

	if (pdb_key(pdb, key, sizeof(key)) < 0)
		return -EINVAL;
	pthread_mutex_lock(&s->cache.mu);
	pdb_drop(s, key);
	pthread_mutex_unlock(&s->cache.mu);
	return 0;
}

void sched_preempt_free(struct sched *s)
{
	for (uint32_t i = 0; i < s->nnominees; i++)
		sched_pod_unref(s->nominees[i].p);
	for (uint32_t i = 0; i < s->npdbs; i++)
		sched_arena_free(&s->pdbs[i].arena);
	free(s->nominees);
	free(s->pdbs);
	s->nominees = NULL;
	s->pdbs = NULL;
	s->nnominees = s->npdbs = 0;
}

/* filterPodsWithPDBViolation over victims in order (allowed: scratch per PDB) */
static void pdb_violations(struct sched *s, struct sched_pod **v, uint32_t n, int32_t *allowed,
			   bool *violating)
{
	for (uint32_t k = 0; k < s->npdbs; k++)
		allowed[k] = s->pdbs[k].allowed;
	for (uint32_t i = 0; i < n; i++) {
		const struct sched_pod *p = v[i];

		violating[i] = false;
		if (!p->labels.n) /* a pod with no labels matches no PDB */
			continue;
		for (uint32_t k = 0; k < s->npdbs; k++) {
			const struct sched_pdb *b = &s->pdbs[k];
			bool disrupted = false;

			if (b->ns_id != p->ns_id || b->matches_nothing ||
			    !sched_sel_match(s->strings, &b->sel, &p->labels))
				continue;
			for (uint32_t d = 0; d < b->ndisrupted; d++)
				disrupted |= strcmp(b->disrupted[d], p->name) == 0;
			if (disrupted)
				continue;
			if (--allowed[k] < 0)
				violating[i] = true;
		}
	}
}

/* ---- SelectVictimsOnNode ---- */

/* util.MoreImportantPod: higher priority, then the earlier start */
static int more_important(const void *a, const void *b)
{
	const struct sched_pod *x = *(struct sched_pod *const *)a,
			       *y = *(struct sched_pod *const *)b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

struct cand {
	struct sched_node *n;
	struct sched_pod **v; /* most important first */
	uint32_t nv;
	int64_t nviol;
};

/* 1: a candidate in c; 0: none (st says why); -ENOMEM. */
static int select_victims(struct sched *s, struct sched_cycle *cy, struct sched_node *n,
			  struct cand *c, struct sched_status *st)
{
	const struct sched_pod *p = cy->p;
	struct sched_node_sim sim;
	struct sched_pod **pv;
	bool *viol;
	int32_t *allowed;
	uint32_t npv = 0, nviolating = 0;
	int rc = -ENOMEM;

	for (uint32_t i = 0; i < n->npods; i++)
		npv += n->pods[i]->p->priority < p->priority;
	if (!npv) {
		*st = (struct sched_status){.n = 1, .reasons = {R_NO_VICTIMS}};
		return 0;
	}
	pv = sched_cycle_alloc(cy, npv * sizeof(*pv));
	c->v = sched_cycle_alloc(cy, npv * sizeof(*c->v));
	viol = sched_cycle_alloc(cy, npv * sizeof(*viol));
	allowed = sched_cycle_alloc(cy, (s->npdbs + 1) * sizeof(*allowed));
	if (!pv || !c->v || !viol || !allowed)
		return -ENOMEM;
	npv = 0;
	for (uint32_t i = 0; i < n->npods; i++)
		if (n->pods[i]->p->priority < p->priority)
			pv[npv++] = n->pods[i]->p;
	int added = add_nominated(s, p, n, &sim);

	if (added < 0)
		return -ENOMEM;
	if (!added && sched_node_sim_init(&sim, n) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < npv; i++)
		if (sched_node_sim_pod(&sim, pv[i], -1) < 0)
			goto out;
	if (!sched_filter_all(s, cy, &sim.n, st)) {
		rc = 0;
		goto out;
	}
	qsort(pv, npv, sizeof(*pv), more_important);
	pdb_violations(s, pv, npv, allowed, viol);
	c->n = n;
	c->nv = 0;
	c->nviol = 0;
	/* reprieve the PDB-violating victims first, then the others, most important first */
	for (int pass = 1; pass >= 0; pass--)
		for (uint32_t i = 0; i < npv; i++) {
			struct sched_status ignored;

			if (viol[i] != (pass == 1))
				continue;
			nviolating += pass;
			if (sched_node_sim_pod(&sim, pv[i], +1) < 0)
				goto out;
			if (sched_filter_all(s, cy, &sim.n, &ignored))
				continue;
			if (sched_node_sim_pod(&sim, pv[i], -1) < 0)
				goto out;
			c->v[c->nv++] = pv[i];
			c->nviol += pass;
		}
	if (nviolating && nviolating < npv)
		qsort(c->v, c->nv, sizeof(*c->v), more_important);
	rc = c->nv ? 1 : 0;
	if (!c->nv) /* "expected at least one victim pod on node" */
		*st = (struct sched_status){.n = 1, .reasons = {R_NO_VICTIMS}};
out:
	sched_node_sim_free(&sim);
	return rc;
}

/* ---- which nodes preemption may help ---- */

/* A failed node's status is Unschedulable (not UnschedulableAndUnresolvable): the codes
 * each plugin of the profile returns. */
static bool resolvable(const struct sched_status *st)
{
	switch (st->plugin) {
	case SCHED_PL_PORTS:
	case SCHED_PL_FIT: /* 1.32: even a request above the node's allocatable (1.34 makes
			    * that UnschedulableAndUnresolvable) */
		return true;
	case SCHED_PL_SPREAD: /* a node without the topology label */
		return strcmp(st->reasons[0], SCHED_R_SPREAD_LABEL) != 0;
	case SCHED_PL_INTERPOD: /* unmet affinity is unresolvable, anti-affinity is not */
		return strcmp(st->reasons[0], SCHED_R_AFFINITY) != 0;
	default: /* NodeUnschedulable, NodeName, TaintToleration, NodeAffinity */
		return false;
	}
}

/* ---- messages ---- */

struct hist {
	const char *reason[64]; /* distinct reasons (more are left out of the message) */
	int count[64];
	uint32_t n;
};

static void hist_add(struct hist *h, const char *reason, int count)
{
	for (uint32_t i = 0; i < h->n; i++)
		if (strcmp(h->reason[i], reason) == 0) {
			h->count[i] += count;
			return;
		}
	if (h->n < sizeof(h->reason) / sizeof(h->reason[0])) {
		h->reason[h->n] = reason;
		h->count[h->n++] = count;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* r->message += " preemption: <inner>." (PostFilter's "preemption: " + the status message,
 * FitError's " %v." separator); inner is FitError.Error() of h when h is given. */
static int post_msg(struct sched_result *r, int nall, const struct hist *h, const char *text)
{
	struct k8s_buf b = {0};
	char lines[sizeof(h->reason) / sizeof(h->reason[0])][320];
	char *sorted[sizeof(h->reason) / sizeof(h->reason[0])];

	k8s_buf_printf(&b, "%s preemption: ", r->message ? r->message : "");
	if (h) {
		k8s_buf_printf(&b, "0/%d nodes are available:", nall);
		for (uint32_t i = 0; i < h->n; i++) {
			snprintf(lines[i], sizeof(lines[i]), "%d %s", h->count[i], h->reason[i]);
			sorted[i] = lines[i];
		}
		qsort(sorted, h->n, sizeof(sorted[0]), cmp_str);
		for (uint32_t i = 0; i < h->n; i++)
			k8s_buf_printf(&b, "%s%s", i ? ", " : " ", sorted[i]);
		if (h->n)
			k8s_buf_putc(&b, '.');
	} else {
		k8s_buf_puts(&b, text);
	}
	k8s_buf_putc(&b, '.');
	char *m = k8s_buf_take(&b, NULL);

	if (!m)
		return -ENOMEM;
	free(r->message);
	r->message = m;
	return 0;
}

/* ---- pickOneNodeForPreemption ---- */

static int64_t earliest_start(const struct cand *c)
{
	int32_t maxp = c->v[0]->priority;
	int64_t t = c->v[0]->start_ns;

	for (uint32_t i = 0; i < c->nv; i++) {
		if (c->v[i]->priority == maxp && c->v[i]->start_ns < t) {
			t = c->v[i]->start_ns;
		} else if (c->v[i]->priority > maxp) {
			maxp = c->v[i]->priority;
			t = c->v[i]->start_ns;
		}
	}
	return t;
}

static int64_t cand_score(const struct cand *c, int f)
{
	int64_t sum = 0;

	switch (f) {
	case 0: /* fewest PDB violations */
		return -c->nviol;
	case 1: /* lowest highest-priority victim */
		return -(int64_t)c->v[0]->priority;
	case 2: /* smallest sum of priorities (each + MaxInt32 + 1) */
		for (uint32_t i = 0; i < c->nv; i++)
			sum += (int64_t)c->v[i]->priority + 2147483648ll;
		return -sum;
	case 3: /* fewest victims */
		return -(int64_t)c->nv;
	default: /* latest start of the highest priority victims */
		return earliest_start(c);
	}
}

static struct cand *pick_one(struct sched_cycle *cy, struct cand *c, uint32_t n)
{
	struct cand **all = sched_cycle_alloc(cy, n * sizeof(*all));
	uint32_t nall = n;

	if (!all)
		return n ? &c[0] : NULL;
	for (uint32_t i = 0; i < n; i++)
		all[i] = &c[i];
	for (int f = 0; f < 5 && nall > 1; f++) {
		int64_t best = INT64_MIN;
		uint32_t k = 0;

		for (uint32_t i = 0; i < nall; i++) {
			int64_t v = cand_score(all[i], f);

			if (v > best) {
				best = v;
				k = 0;
			}
			if (v == best)
				all[k++] = all[i];
		}
		nall = k;
	}
	return all[0];
}

/* ---- Preempt ---- */

static bool in_name_set(const struct sched_pod_ext *x, uint32_t id)
{
	for (uint32_t i = 0; i < x->nname_set; i++)
		if (x->name_set[i] == id)
			return true;
	return false;
}

/* PodEligibleToPreemptOthers; NULL or the reason it is not */
static const char *not_eligible(struct sched *s, struct sched_cycle *cy)
{
	const struct sched_pod *p = cy->p;
	uint32_t nom = nominated_node(s, p);
	struct sched_node *n;
	struct sched_status st;

	if (p->preempt_never)
		return "not eligible due to preemptionPolicy=Never.";
	if (!nom || !(n = sched_cache_node(&s->cache, sched_intern_str(s->strings, nom))))
		return NULL;
	/* a nominated node that is UnschedulableAndUnresolvable now: preempt again */
	if (!sched_filter_nominated(s, cy, n, &st) && !resolvable(&st))
		return NULL;
	for (uint32_t i = 0; i < n->npods; i++) {
		const struct sched_pod *v = n->pods[i]->p;

		if (v->priority < p->priority && v->terminating && v->preempted)
			return "not eligible due to a terminating pod on the nominated node.";
	}
	return NULL;
}

static int take_refs(struct sched_pod ***out, size_t *nout, struct sched_pod **v, uint32_t n)
{
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		(*out)[i] = sched_pod_ref(v[i]);
	*nout = n;
	return 0;
}

/* prepareCandidate's bookkeeping: the pod nominated to c's node, the lower priority pods
 * nominated there lose it (their status is cleared by the caller) */
static int nominate(struct sched *s, struct sched_pod *p, const struct cand *c,
		    struct sched_result *r)
{
	struct sched_pod **low;
	uint32_t nlow = 0;
	int rc;

	low = s->nnominees ? calloc(s->nnominees, sizeof(*low)) : NULL;
	if (s->nnominees && !low)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nnominees; i++)
		if (s->nominees[i].node == c->n->spec->name_id &&
		    s->nominees[i].p->priority < p->priority)
			low[nlow++] = s->nominees[i].p;
	rc = take_refs(&r->denominate, &r->ndenominate, low, nlow);
	free(low);
	for (size_t i = 0; rc == 0 && i < r->ndenominate; i++)
		sched_nominee_gone(s, r->denominate[i]->uid);
	if (rc == 0)
		rc = take_refs(&r->victims, &r->nvictims, c->v, c->nv);
	if (rc == 0)
		rc = sched_nominate(s, p, c->n->spec->name_id, false);
	if (rc < 0)
		return rc;
	r->nominate = true;
	snprintf(r->nominated_node, sizeof(r->nominated_node), "%s", c->n->spec->name);
	return 0;
}

/* No candidate: the FitError of the dry run, and any nomination cleared */
static int no_candidate(struct sched *s, struct sched_pod *p, struct sched_result *r, int nall,
			const struct hist *h)
{
	if (nominated_node(s, p)) {
		r->nominate = true;
		r->nominated_node[0] = 0;
	}
	sched_nominee_gone(s, p->uid);
	return post_msg(r, nall, h, NULL);
}

int sched_preempt(struct sched *s, struct sched_pod *p, struct sched_result *r)
{
	struct sched_cycle *cy = &s->cy;
	const struct sched_pod_ext *x = p->x;
	struct sched_node **all, **pot;
	struct sched_status st;
	struct hist h = {0};
	const char *why;
	uint32_t nall, npot = 0;

	if ((why = not_eligible(s, cy)))
		return post_msg(r, 0, NULL, why);
	if (sched_cache_order(&s->cache, &all, &nall) < 0)
		return -ENOMEM;
	pot = sched_cycle_alloc(cy, (nall + 1) * sizeof(*pot));
	if (!pot)
		return -ENOMEM;
	/* NodesForStatusCode(Unschedulable); a PreFilter rejection leaves every node
	 * UnschedulableAndUnresolvable */
	if (!p->parse_error && !(x && x->has_name_set && x->naff_conflict))
		for (uint32_t i = 0; i < nall; i++) {
			struct sched_node *n = all[i];

			if (x && x->has_name_set && !in_name_set(x, n->spec->name_id))
				continue;
			if (!sched_filter_nominated(s, cy, n, &st) && resolvable(&st))
				pot[npot++] = n;
		}
	if (!npot) {
		hist_add(&h, R_NOT_HELPFUL, (int)nall);
		return no_candidate(s, p, r, (int)nall, &h);
	}
	/* GetOffsetAndNumCandidates: minCandidateNodesPercentage 10, minCandidateNodesAbsolute
	 * 100 */
	uint32_t offset = (uint32_t)(sched_rnd(s) % npot), want = npot / 10;

	if (want < 100)
		want = 100;
	if (want > npot)
		want = npot;
	/* DryRunPreemption: candidates that violate no PDB, then those that do */
	struct cand *ok = sched_cycle_alloc(cy, 2 * want * sizeof(*ok));
	struct cand *bad = sched_cycle_alloc(cy, want * sizeof(*bad));
	uint32_t nok = 0, nbad = 0, nfailed = 0;

	if (!ok || !bad)
		return -ENOMEM;
	for (uint32_t i = 0; i < npot; i++) {
		struct cand c;
		int rc = select_victims(s, cy, pot[(offset + i) % npot], &c, &st);

		if (rc < 0)
			return rc;
		if (rc == 0) {
			nfailed++;
			for (uint32_t k = 0; k < st.n; k++)
				hist_add(&h, st.reasons[k], 1);
			continue;
		}
		if (c.nviol == 0 && nok < want)
			ok[nok++] = c;
		else if (c.nviol && nbad < want)
			bad[nbad++] = c;
		if (nok && nok + nbad >= want)
			break;
	}
	if (!nok && !nbad) {
		if (nall > nfailed)
			hist_add(&h, R_NOT_HELPFUL, (int)(nall - nfailed));
		return no_candidate(s, p, r, (int)nall, &h);
	}
	for (uint32_t i = 0; i < nbad; i++)
		ok[nok++] = bad[i];
	return nominate(s, p, pick_one(cy, ok, nok), r);
}
