/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodelifecycle_zone: how fast the node lifecycle controller taints nodes
 * (nodelifecycle_int.h): flowcontrol's token bucket, scheduler.RateLimitedTimedQueue,
 * ComputeZoneState with the rates each zone state gets, and the controller's use of them:
 * nodes queued for the NoExecute taint per zone, tainted by the tainting pass, untainted
 * when Ready again, and handleDisruption's zone states.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodelifecycle_int.h"

#define COMP "node-lifecycle-controller"

/* ---- the bucket ---- */

void nl_limiter_init(struct nl_limiter *l, double qps, uint64_t now_ms)
{
	l->qps = qps;
	l->tokens = NL_EVICTION_BURST;
	l->last_ms = now_ms;
}

bool nl_limiter_try(struct nl_limiter *l, uint64_t now_ms)
{
	if (l->qps <= 0)
		return false;
	if (now_ms > l->last_ms) {
		l->tokens += (double)(now_ms - l->last_ms) / 1000.0 * l->qps;
		if (l->tokens > NL_EVICTION_BURST)
			l->tokens = NL_EVICTION_BURST;
		l->last_ms = now_ms;
	}
	if (l->tokens < 1.0)
		return false;
	l->tokens -= 1.0;
	return true;
}

/* ---- the queue ---- */

void nl_tq_init(struct nl_tq *q, double qps, uint64_t now_ms)
{
	memset(q, 0, sizeof(*q));
	nl_limiter_init(&q->lim, qps, now_ms);
}

void nl_tq_release(struct nl_tq *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->v[i].name);
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

static struct nl_tq_item *find(struct nl_tq *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->v[i].name, name) == 0)
			return &q->v[i];
	return NULL;
}

bool nl_tq_add(struct nl_tq *q, const char *name, uint64_t now_ms)
{
	struct nl_tq_item *it;

	if (find(q, name))
		return false;
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 8;
		struct nl_tq_item *nv = realloc(q->v, ncap * sizeof(*nv));

		if (!nv)
			return false;
		q->v = nv;
		q->cap = ncap;
	}
	it = &q->v[q->n];
	*it = (struct nl_tq_item){
	    .name = strdup(name), .process_ms = now_ms, .seq = q->seq++, .queued = true};
	if (!it->name)
		return false;
	q->n++;
	return true;
}

bool nl_tq_remove(struct nl_tq *q, const char *name)
{
	struct nl_tq_item *it = find(q, name);
	size_t i;

	if (!it)
		return false;
	i = (size_t)(it - q->v);
	free(it->name);
	memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof(*q->v));
	q->n--;
	return true;
}

/* The queued item due first (processAt, then the order added), or NULL. */
static struct nl_tq_item *head(struct nl_tq *q)
{
	struct nl_tq_item *h = NULL;

	for (size_t i = 0; i < q->n; i++) {
		struct nl_tq_item *it = &q->v[i];

		if (it->queued && (!h || it->process_ms < h->process_ms ||
				   (it->process_ms == h->process_ms && it->seq < h->seq)))
			h = it;
	}
	return h;
}

void nl_tq_try(struct nl_tq *q, uint64_t now_ms, nl_tq_fn fn, void *arg)
{
	struct nl_tq_item *h;

	/* as RateLimitedTimedQueue.Try: a token is taken before the head is looked at */
	while ((h = head(q)) != NULL) {
		uint64_t retry = 0;
		char *name;
		bool done;

		if (!nl_limiter_try(&q->lim, now_ms))
			break;
		if (now_ms < h->process_ms)
			break;
		/* fn may not touch the queue; the strings stay valid for the call */
		name = h->name;
		done = fn(arg, name, &retry);
		h = find(q, name);
		if (!h)
			break;
		if (done)
			h->queued = false;
		else
			h->process_ms = now_ms + retry + 1;
	}
}

void nl_tq_swap_limiter(struct nl_tq *q, double qps, uint64_t now_ms)
{
	bool drained;

	if (q->lim.qps == qps || (q->lim.qps <= 0 && qps <= 0))
		return;
	drained = !nl_limiter_try(&q->lim, now_ms);
	nl_limiter_init(&q->lim, qps <= 0 ? 0 : qps, now_ms);
	/* the old bucket was empty: so is the new one (right for a burst of 1) */
	if (qps > 0 && drained)
		nl_limiter_try(&q->lim, now_ms);
}

size_t nl_tq_queued(const struct nl_tq *q)
{
	size_t n = 0;

	for (size_t i = 0; i < q->n; i++)
		n += q->v[i].queued;
	return n;
}

/* ---- zones ---- */

const char *nl_zone_state_name(enum nl_zone_state s)
{
	switch (s) {
	case NL_ZONE_INITIAL:
		return "Initial";
	case NL_ZONE_NORMAL:
		return "Normal";
	case NL_ZONE_FULL_DISRUPTION:
		return "FullDisruption";
	case NL_ZONE_PARTIAL_DISRUPTION:
		return "PartialDisruption";
	}
	return "";
}

enum nl_zone_state nl_zone_state_of(unsigned ready, unsigned not_ready, double threshold)
{
	if (ready == 0 && not_ready > 0)
		return NL_ZONE_FULL_DISRUPTION;
	if (not_ready > 2 && (double)not_ready / (double)(not_ready + ready) >= threshold)
		return NL_ZONE_PARTIAL_DISRUPTION;
	return NL_ZONE_NORMAL;
}

double nl_zone_qps(enum nl_zone_state s, unsigned zone_size, const struct nl_rates *r)
{
	switch (s) {
	case NL_ZONE_NORMAL:
		return r->eviction;
	case NL_ZONE_PARTIAL_DISRUPTION:
		/* ReducedQPSFunc: a large zone slows down, a small one stops */
		return zone_size > r->large_cluster ? r->secondary : 0;
	case NL_ZONE_FULL_DISRUPTION:
		/* HealthyQPSFunc: unless every zone is down (handled by the caller) */
		return r->eviction;
	case NL_ZONE_INITIAL:
		break;
	}
	return -1;
}

/* ---- the controller's zones ---- */

struct nl_zone *nl_zone_of(struct nl_ctrl *s, const struct jv *node, bool create)
{
	char key[512];
	struct nl_zone *z;

	nl_zone_key(node, key, sizeof(key));
	z = hmap_sget(s->zones, key);
	if (z || !create)
		return z;
	z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	nl_tq_init(&z->tq, s->rates.eviction, (uint64_t)nl_mono_ms());
	z->state = NL_ZONE_INITIAL;
	z->has_state = true;
	if (hmap_sput(s->zones, key, z, NULL) < 0) {
		free(z);
		return NULL;
	}
	log_info(COMP, "initializing eviction metric for zone \"%s\"", key);
	return z;
}

/* markNodeForTainting */
static bool nl_mark_for_tainting(struct nl_ctrl *s, const struct jv *node, const char *status)
{
	struct nl_zone *z = nl_zone_of(s, node, true);
	const char *name = jv_path_str(node, "metadata.name");

	if (!z)
		return false;
	/* a node tainted once, whose taint has gone since, may be queued again */
	if (strcmp(status, "False") == 0 && !nl_has_taint(node, NL_TAINT_NOT_READY, "NoExecute"))
		nl_tq_remove(&z->tq, name);
	if (strcmp(status, "Unknown") == 0 &&
	    !nl_has_taint(node, NL_TAINT_UNREACHABLE, "NoExecute"))
		nl_tq_remove(&z->tq, name);
	return nl_tq_add(&z->tq, name, (uint64_t)nl_mono_ms());
}

/* markNodeAsReachable: no NoExecute taint of the node controller's, nothing queued. */
int nl_mark_reachable(struct nl_ctrl *s, const struct jv *node, bool *removed)
{
	static const struct nl_taint rm[] = {{NL_TAINT_UNREACHABLE, "NoExecute"},
					     {NL_TAINT_NOT_READY, "NoExecute"}};
	struct nl_zone *z;
	int err = nl_swap_taints(&s->nn, node, NULL, 0, rm, 2);

	*removed = false;
	if (err) {
		log_error(COMP, "failed to remove taints from node %s",
			  jv_path_str(node, "metadata.name"));
		return err;
	}
	z = nl_zone_of(s, node, false);
	if (z)
		*removed = nl_tq_remove(&z->tq, jv_path_str(node, "metadata.name"));
	return 0;
}

void nl_taint_based_eviction(struct nl_ctrl *s, const struct jv *node, const struct jv *observed)
{
	static const struct nl_taint unreachable = {NL_TAINT_UNREACHABLE, "NoExecute"};
	static const struct nl_taint notready = {NL_TAINT_NOT_READY, "NoExecute"};
	const char *status = jv_path_str(observed, "status") ?: "";
	const char *name = jv_path_str(node, "metadata.name");
	bool removed;

	if (strcmp(status, "False") == 0) {
		/* tainted unreachable already: swap at once */
		if (nl_has_taint(node, NL_TAINT_UNREACHABLE, "NoExecute")) {
			if (nl_swap_taints(&s->nn, node, &notready, 1, &unreachable, 1) != 0)
				log_error(COMP, "failed to instantly swap UnreachableTaint to "
						"NotReadyTaint; will try again in the next cycle");
		} else if (nl_mark_for_tainting(s, node, "False")) {
			log_info(COMP, "node %s is NotReady, adding it to the taint queue", name);
		}
	} else if (strcmp(status, "Unknown") == 0) {
		if (nl_has_taint(node, NL_TAINT_NOT_READY, "NoExecute")) {
			if (nl_swap_taints(&s->nn, node, &unreachable, 1, &notready, 1) != 0)
				log_error(COMP,
					  "failed to instantly swap NotReadyTaint to "
					  "UnreachableTaint; will try again in the next cycle");
		} else if (nl_mark_for_tainting(s, node, "Unknown")) {
			log_info(COMP, "node %s is unresponsive, adding it to the taint queue",
				 name);
		}
	} else if (strcmp(status, "True") == 0) {
		if (nl_mark_reachable(s, node, &removed) == 0 && removed)
			log_info(COMP, "node %s is healthy again, removed all taints", name);
	}
}

void nl_count_zone(struct hmap *counts, const struct jv *node, const struct jv *ready)
{
	char key[512];
	struct nl_zone_count *zc;

	nl_zone_key(node, key, sizeof(key));
	zc = hmap_sget(counts, key);
	if (!zc && (zc = calloc(1, sizeof(*zc))) && hmap_sput(counts, key, zc, NULL) < 0) {
		free(zc);
		zc = NULL;
	}
	if (!zc)
		return;
	if (jv_is_str(jv_get(ready, "status"), "True"))
		zc->ready++;
	else
		zc->not_ready++;
}

/* handleDisruption: each zone's state and rate; all zones down: taint nothing. */
void nl_handle_disruption(struct nl_ctrl *s, struct hmap *counts, struct jv **nodes, size_t n)
{
	bool all_full = true, all_were_full = true;
	uint64_t now = (uint64_t)nl_mono_ms();
	struct hmap *fresh = hmap_new();

	if (!fresh)
		return;
	for (struct hmap_entry *it = hmap_first(counts); it; it = hmap_next(counts, it)) {
		const struct nl_zone_count *zc = hmap_entry_val(it);
		size_t klen;
		const char *key = hmap_entry_key(it, &klen);
		enum nl_zone_state st =
		    nl_zone_state_of(zc->ready, zc->not_ready, s->rates.unhealthy_threshold);
		struct nl_zone *z = hmap_get(s->zones, key, klen);

		all_full = all_full && st == NL_ZONE_FULL_DISRUPTION;
		hmap_put(fresh, key, klen, (void *)(uintptr_t)(st + 1), NULL);
		if (z && !z->has_state) {
			log_error(COMP, "setting initial state for unseen zone \"%.*s\"", (int)klen,
				  key);
			z->state = NL_ZONE_INITIAL;
			z->has_state = true;
		}
	}
	for (struct hmap_entry *it = hmap_first(s->zones); it; it = hmap_next(s->zones, it)) {
		struct nl_zone *z = hmap_entry_val(it);
		size_t klen;
		const char *key = hmap_entry_key(it, &klen);

		if (!z->has_state)
			continue;
		if (!hmap_get(counts, key, klen)) {
			z->has_state = false; /* a zone with no node left */
			continue;
		}
		if (z->state != NL_ZONE_FULL_DISRUPTION)
			all_were_full = false;
	}
	if (all_full && all_were_full)
		goto out;
	if (all_full) {
		log_info(COMP, "controller detected that all Nodes are not-Ready. Entering master "
			       "disruption mode");
		for (size_t i = 0; i < n; i++) {
			bool removed;

			nl_mark_reachable(s, nodes[i], &removed);
		}
		for (struct hmap_entry *it = hmap_first(s->zones); it;
		     it = hmap_next(s->zones, it)) {
			struct nl_zone *z = hmap_entry_val(it);

			if (!z->has_state)
				continue;
			nl_tq_swap_limiter(&z->tq, 0, now);
			z->state = NL_ZONE_FULL_DISRUPTION;
		}
		goto out;
	}
	if (all_were_full) {
		log_info(COMP, "controller detected that some Nodes are Ready. Exiting master "
			       "disruption mode");
		/* heard from every node now: a fresh grace for all */
		for (size_t i = 0; i < n; i++) {
			const char *name = jv_path_str(nodes[i], "metadata.name");
			struct nl_health h;

			if (nl_health_get(s, name, &h)) {
				h.probe_ms = h.transition_ms = nl_mono_ms();
				nl_health_set(s, name, &h);
			}
		}
	}
	for (struct hmap_entry *it = hmap_first(s->zones); it; it = hmap_next(s->zones, it)) {
		struct nl_zone *z = hmap_entry_val(it);
		size_t klen;
		const char *key = hmap_entry_key(it, &klen);
		uintptr_t st1 = (uintptr_t)hmap_get(fresh, key, klen);
		const struct nl_zone_count *zc = hmap_get(counts, key, klen);
		enum nl_zone_state st;
		double qps;

		if (!z->has_state || !st1)
			continue;
		st = (enum nl_zone_state)(st1 - 1);
		if (!all_were_full && z->state == st)
			continue;
		if (!all_were_full)
			log_info(COMP, "controller detected that zone \"%.*s\" is now in state %s",
				 (int)klen, key, nl_zone_state_name(st));
		qps = nl_zone_qps(st, zc ? zc->ready + zc->not_ready : 0, &s->rates);
		if (qps >= 0)
			nl_tq_swap_limiter(&z->tq, qps, now);
		z->state = st;
	}
out:
	hmap_free(fresh);
}

/* ---- the NoExecute tainting pass ---- */

static bool nl_taint_one(void *arg, const char *name, uint64_t *retry_ms)
{
	static const struct nl_taint unreachable = {NL_TAINT_UNREACHABLE, "NoExecute"};
	static const struct nl_taint notready = {NL_TAINT_NOT_READY, "NoExecute"};
	struct nl_ctrl *s = arg;
	struct kc_obj *o = kc_informer_get(s->nn.nodes, NULL, name);
	struct jv_doc *d;
	struct jv *node, *ready;
	const struct nl_taint *add, *rm;
	bool done;

	if (!o) {
		log_info(COMP, "node %s no longer present in the cache", name);
		return true;
	}
	d = jv_doc_new();
	node = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	ready = ctrl_condition(node, "Ready");
	if (!ready) {
		jv_doc_free(d);
		*retry_ms = 50;
		return false;
	}
	/* unreachable and not-ready mirror Ready: one or the other */
	if (jv_is_str(jv_get(ready, "status"), "False")) {
		add = &notready;
		rm = &unreachable;
	} else if (jv_is_str(jv_get(ready, "status"), "Unknown")) {
		add = &unreachable;
		rm = &notready;
	} else {
		/* Ready again meanwhile: no taint */
		jv_doc_free(d);
		return true;
	}
	done = nl_swap_taints(&s->nn, node, add, 1, rm, 1) == 0;
	if (done)
		log_info(COMP, "tainted node %s %s:NoExecute", name, add->key);
	jv_doc_free(d);
	return done;
}

void nl_tainting_pass(struct nl_ctrl *s)
{
	uint64_t now = (uint64_t)nl_mono_ms();

	for (struct hmap_entry *it = hmap_first(s->zones); it; it = hmap_next(s->zones, it)) {
		struct nl_zone *z = hmap_entry_val(it);

		nl_tq_try(&z->tq, now, nl_taint_one, s);
	}
}
