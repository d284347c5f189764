/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_pod_terms: the parts of a pod only some pods have (struct sched_pod_ext), read as
 * kube-scheduler reads them: nodeSelector and node affinity (terms with errors or without
 * requirements dropped, as the lazy-error node selector does; the node names matchFields
 * pins, for NodeAffinity's PreFilter), tolerations, pod (anti-)affinity terms (namespaces
 * resolved: none and no namespaceSelector = the pod's own; matchLabelKeys and
 * mismatchLabelKeys merged into the selector, as the API server does on create) with the
 * canonical class key of each, and topology spread constraints with their defaults
 * (minDomains 1, nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore) and matchLabelKeys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* ---- affinity ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int sched_match_key(struct sched_arena *a, const struct sched_match *m, uint8_t flags, char **key,
		    uint32_t *klen)
{
	struct k8s_buf b = {0};

	k8s_buf_putc(&b, (char)('A' + flags));
	k8s_buf_put(&b, (const char *)&m->nns, sizeof(m->nns));
	if (m->nns)
		k8s_buf_put(&b, (const char *)m->ns, m->nns * sizeof(uint32_t));
	k8s_buf_putc(&b, m->has_nssel ? 'S' : '-');
	if (m->has_nssel)
		sched_sel_key(&m->nssel, &b);
	sched_sel_key(&m->sel, &b);
	if (b.oom) {
		k8s_buf_free(&b);
		return -ENOMEM;
	}
	*key = sched_arena_alloc(a, b.len);
	if (!*key) {
		k8s_buf_free(&b);
		return -ENOMEM;
	}
	memcpy(*key, b.p, b.len);
	*klen = (uint32_t)b.len;
	k8s_buf_free(&b);
	return 0;
}

/* matchLabelKeys (In) / mismatchLabelKeys (NotIn) of the pod's own labels, as the API server
 * merges them into the selector; an empty selector with them becomes just them. */
static int label_keys(struct sched *s, struct sched_pod *p, const struct jv *keys, bool in,
		      struct sched_sel *sel)
{
	uint32_t n = 0;
	struct sched_req *reqs;

	if (!jv_count(keys) || sel->kind == SCHED_SEL_NOTHING)
		return 0;
	reqs = sched_arena_alloc(&p->arena, (sel->nreq + jv_count(keys)) * sizeof(*reqs));
	if (!reqs)
		return -ENOMEM;
	for (const struct jv *k = jv_first(keys); k; k = k->next) {
		if (k->type != JV_STRING)
			continue;
		uint32_t key = sched_intern_find(s->strings, k->s, k->len);
		uint32_t v = key == SCHED_NOID ? SCHED_NOID : sched_labels_get(&p->labels, key);

		if (v == SCHED_NOID)
			continue;
		struct sched_req *r = &reqs[n++];

		r->key = key;
		r->op = in ? SCHED_OP_IN : SCHED_OP_NOTIN;
		r->nvals = 1;
		r->vals = sched_arena_alloc(&p->arena, sizeof(uint32_t));
		if (!r->vals)
			return -ENOMEM;
		r->vals[0] = v;
	}
	if (!n)
		return 0;
	if (sel->nreq)
		memcpy(reqs + n, sel->reqs, sel->nreq * sizeof(*reqs));
	sel->reqs = reqs;
	sel->nreq += n;
	sel->kind = SCHED_SEL_REQS;
	sched_sel_sort(sel);
	return 0;
}

static int parse_pterm(struct sched *s, struct sched_pod *p, const struct jv *t, int32_t weight,
		       struct sched_pterm *out)
{
	const struct jv *nss = jv_get(t, "namespaces"), *nssel = jv_get(t, "namespaceSelector");
	const char *topo = jv_path_str(t, "topologyKey");
	char err[192] = "";
	int rc;

	out->weight = weight;
	out->topo = sched_intern(s->strings, topo ? topo : "", topo ? strlen(topo) : 0);
	if (out->topo == SCHED_NOID)
		return -ENOMEM;
	rc = sched_sel_compile(s, &p->arena, jv_get(t, "labelSelector"), NULL, &out->m.sel, err,
			       sizeof(err));
	if (rc == 0)
		rc = label_keys(s, p, jv_get(t, "matchLabelKeys"), true, &out->m.sel);
	if (rc == 0)
		rc = label_keys(s, p, jv_get(t, "mismatchLabelKeys"), false, &out->m.sel);
	if (rc == 0 && nssel && nssel->type == JV_OBJECT) {
		out->m.has_nssel = true;
		rc = sched_sel_compile(s, &p->arena, nssel, NULL, &out->m.nssel, err, sizeof(err));
	}
	if (rc == -EINVAL) {
		if (!p->parse_error) {
			char msg[256];

			snprintf(msg, sizeof(msg), "parsing pod: %s", err);
			p->parse_error = sched_arena_strndup(&p->arena, msg, strlen(msg));
		}
		/* the term stays, matching nothing: the pod fails PreFilter anyway */
		out->m.sel.kind = SCHED_SEL_NOTHING;
		out->m.sel.nreq = 0;
		out->m.has_nssel = false;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	if (jv_count(nss) == 0 && !out->m.has_nssel) {
		out->m.nns = 1;
		out->m.ns = sched_arena_alloc(&p->arena, sizeof(uint32_t));
		if (!out->m.ns)
			return -ENOMEM;
		out->m.ns[0] = p->ns_id;
	} else if (jv_count(nss)) {
		out->m.ns = sched_arena_alloc(&p->arena, jv_count(nss) * sizeof(uint32_t));
		if (!out->m.ns)
			return -ENOMEM;
		for (const struct jv *n = jv_first(nss); n; n = n->next) {
			if (n->type != JV_STRING)
				continue;
			uint32_t id = sched_intern(s->strings, n->s, n->len);

			if (id == SCHED_NOID)
				return -ENOMEM;
			out->m.ns[out->m.nns++] = id;
		}
		qsort(out->m.ns, out->m.nns, sizeof(uint32_t), cmp_u32);
	}
	return sched_match_key(&p->arena, &out->m, 0, &out->key, &out->klen);
}

/* required (weighted = false) or preferred (WeightedPodAffinityTerm) terms */
static int parse_pterms(struct sched *s, struct sched_pod *p, const struct jv *list, bool weighted,
			struct sched_pterm **out, uint32_t *n)
{
	size_t cnt = jv_count(list);
	int rc;

	*n = 0;
	if (!cnt)
		return 0;
	*out = sched_arena_alloc(&p->arena, cnt * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (const struct jv *t = jv_first(list); t; t = t->next) {
		int64_t w = 0;

		if (weighted) {
			jv_path_int(t, "weight", &w);
			rc = parse_pterm(s, p, jv_get(t, "podAffinityTerm"), (int32_t)w,
					 &(*out)[*n]);
		} else {
			rc = parse_pterm(s, p, t, 0, &(*out)[*n]);
		}
		if (rc < 0)
			return rc;
		(*n)++;
	}
	return 0;
}

/* The class key of "matches every required affinity term": the terms' keys in order. */
static int aff_all_key(struct sched_pod_ext *x, struct sched_arena *a)
{
	size_t len = 1;
	char *k;

	for (uint32_t i = 0; i < x->naff; i++)
		len += 4 + x->aff[i].klen;
	k = sched_arena_alloc(a, len);
	if (!k)
		return -ENOMEM;
	x->aff_all_key = k;
	*k++ = '&';
	for (uint32_t i = 0; i < x->naff; i++) {
		memcpy(k, &x->aff[i].klen, 4);
		memcpy(k + 4, x->aff[i].key, x->aff[i].klen);
		k += 4 + x->aff[i].klen;
	}
	x->aff_all_klen = (uint32_t)len;
	return 0;
}

/* ---- node affinity ---- */

static int parse_nterms(struct sched *s, struct sched_pod *p, const struct jv *terms)
{
	struct sched_pod_ext *x = p->x;
	size_t n = jv_count(terms);
	bool all_named = n > 0;
	uint32_t *names = NULL, nnames = 0;

	x->has_req_naff = true;
	if (n) {
		x->req_naff = sched_arena_alloc(&p->arena, n * sizeof(*x->req_naff));
		if (!x->req_naff)
			return -ENOMEM;
	}
	for (const struct jv *t = jv_first(terms); t; t = t->next) {
		struct sched_nterm nt;
		int rc = sched_nsel_compile(s, &p->arena, t, &nt.exprs, &nt.fields);

		if (rc == -ENOMEM)
			return rc;
		if (rc == 0)
			x->req_naff[x->nreq_naff++] = nt;
		/* PreFilter: the intersection of the term's metadata.name In values */
		bool has = false;
		uint32_t id = SCHED_NOID;
		bool empty = false;

		for (const struct jv *f = jv_first(jv_get(t, "matchFields")); f; f = f->next) {
			if (!jv_is_str(jv_get(f, "key"), "metadata.name") ||
			    !jv_is_str(jv_get(f, "operator"), "In"))
				continue;
			/* sets.New(values...) intersected with what the term had so far */
			const struct jv *vals = jv_get(f, "values");
			uint32_t cur = SCHED_NOID;
			bool cur_empty = true, multi = false;

			for (const struct jv *v = jv_first(vals); v; v = v->next) {
				if (v->type != JV_STRING)
					continue;
				uint32_t vid = sched_intern(s->strings, v->s, v->len);

				if (vid == SCHED_NOID)
					return -ENOMEM;
				if (!cur_empty && vid != cur)
					multi = true;
				cur = vid;
				cur_empty = false;
			}
			if (multi) {
				/* validation allows one value; more would need real sets */
				all_named = false;
				break;
			}
			if (!has) {
				has = true;
				id = cur;
				empty = cur_empty;
			} else if (empty || cur_empty || id != cur) {
				empty = true;
			}
		}
		if (!has) {
			all_named = false; /* a term without names allows every node */
			continue;
		}
		if (!all_named || empty)
			continue;
		if (!names) {
			names = sched_arena_alloc(&p->arena, n * sizeof(uint32_t));
			if (!names)
				return -ENOMEM;
		}
		bool dup = false;

		for (uint32_t i = 0; i < nnames; i++)
			dup |= names[i] == id;
		if (!dup)
			names[nnames++] = id;
	}
	if (all_named) {
		x->has_name_set = true;
		x->name_set = names;
		x->nname_set = nnames;
		x->naff_conflict = nnames == 0;
	}
	return 0;
}

static int parse_pref_nterms(struct sched *s, struct sched_pod *p, const struct jv *terms)
{
	struct sched_pod_ext *x = p->x;
	size_t n = jv_count(terms);

	if (!n)
		return 0;
	x->pref_naff = sched_arena_alloc(&p->arena, n * sizeof(*x->pref_naff));
	if (!x->pref_naff)
		return -ENOMEM;
	for (const struct jv *t = jv_first(terms); t; t = t->next) {
		struct sched_pref_nterm *pt = &x->pref_naff[x->npref_naff];
		int64_t w = 0;
		int rc;

		jv_path_int(t, "weight", &w);
		if (w == 0)
			continue;
		rc = sched_nsel_compile(s, &p->arena, jv_get(t, "preference"), &pt->term.exprs,
					&pt->term.fields);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			continue;
		pt->weight = (int32_t)w;
		x->npref_naff++;
	}
	return 0;
}

static int parse_tolerations(struct sched *s, struct sched_pod *p, const struct jv *list)
{
	struct sched_pod_ext *x = p->x;

	x->tol = sched_arena_alloc(&p->arena, jv_count(list) * sizeof(*x->tol));
	if (!x->tol)
		return -ENOMEM;
	for (const struct jv *t = jv_first(list); t; t = t->next) {
		struct sched_toleration *o = &x->tol[x->ntol++];
		const char *key = jv_path_str(t, "key"), *val = jv_path_str(t, "value");
		const char *op = jv_path_str(t, "operator");

		o->key = sched_intern(s->strings, key ? key : "", key ? strlen(key) : 0);
		o->val = sched_intern(s->strings, val ? val : "", val ? strlen(val) : 0);
		if (o->key == SCHED_NOID || o->val == SCHED_NOID)
			return -ENOMEM;
		o->op = !op || !*op || strcmp(op, "Equal") == 0 ? 0
			: strcmp(op, "Exists") == 0		? 1
								: 2;
		o->effect = sched_effect_of(jv_path_str(t, "effect"));
	}
	return 0;
}

static int parse_spread(struct sched *s, struct sched_pod *p, const struct jv *list)
{
	struct sched_pod_ext *x = p->x;

	x->spread = sched_arena_alloc(&p->arena, jv_count(list) * sizeof(*x->spread));
	if (!x->spread)
		return -ENOMEM;
	for (const struct jv *c = jv_first(list); c; c = c->next) {
		struct sched_spread *o = &x->spread[x->nspread];
		const char *topo = jv_path_str(c, "topologyKey");
		const char *when = jv_path_str(c, "whenUnsatisfiable");
		const char *nap = jv_path_str(c, "nodeAffinityPolicy");
		const char *ntp = jv_path_str(c, "nodeTaintsPolicy");
		int64_t v = 1;
		char err[192];
		int rc;

		jv_path_int(c, "maxSkew", &v);
		o->max_skew = (int32_t)v;
		v = 1;
		if (jv_path_int(c, "minDomains", &v) < 0)
			v = 1;
		o->min_domains = (int32_t)v;
		o->topo = sched_intern(s->strings, topo ? topo : "", topo ? strlen(topo) : 0);
		if (o->topo == SCHED_NOID)
			return -ENOMEM;
		o->do_not_schedule = !when || strcmp(when, "ScheduleAnyway") != 0;
		o->honor_affinity = !nap || strcmp(nap, "Ignore") != 0;
		o->honor_taints = ntp && strcmp(ntp, "Honor") == 0;
		rc = sched_sel_compile(s, &p->arena, jv_get(c, "labelSelector"), NULL, &o->m.sel,
				       err, sizeof(err));
		if (rc == 0)
			rc = label_keys(s, p, jv_get(c, "matchLabelKeys"), true, &o->m.sel);
		if (rc == -EINVAL) {
			char msg[256];

			snprintf(msg, sizeof(msg), "parsing pod: %s", err);
			if (!p->parse_error)
				p->parse_error = sched_arena_strndup(&p->arena, msg, strlen(msg));
			continue;
		}
		if (rc < 0)
			return rc;
		o->counts_nothing = o->m.sel.kind == SCHED_SEL_EVERYTHING;
		o->self_match = sched_sel_match(s->strings, &o->m.sel, &p->labels);
		o->m.nns = 1;
		o->m.ns = sched_arena_alloc(&p->arena, sizeof(uint32_t));
		if (!o->m.ns)
			return -ENOMEM;
		o->m.ns[0] = p->ns_id;
		rc = sched_match_key(&p->arena, &o->m, SCHED_CLASS_SKIP_TERMINATING, &o->key,
				     &o->klen);
		if (rc < 0)
			return rc;
		x->nspread++;
	}
	return 0;
}

int sched_pod_parse_ext(struct sched *s, struct sched_pod *p, const struct jv *spec)
{
	const struct jv *aff = jv_get(spec, "affinity");
	const struct jv *na = jv_get(aff, "nodeAffinity"), *pa = jv_get(aff, "podAffinity");
	const struct jv *paa = jv_get(aff, "podAntiAffinity");
	const struct jv *req = jv_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
	const struct jv *tols = jv_get(spec, "tolerations");
	const struct jv *spread = jv_get(spec, "topologySpreadConstraints");
	const struct jv *nsel = jv_get(spec, "nodeSelector");
	struct sched_pod_ext *x;
	int rc;

	if (!jv_count(nsel) && !jv_count(na) && !jv_count(pa) && !jv_count(paa) &&
	    !jv_count(tols) && !jv_count(spread))
		return 0;
	x = p->x = sched_arena_alloc(&p->arena, sizeof(*x));
	if (!x)
		return -ENOMEM;
	rc = sched_labels_from(s, &p->arena, nsel, &x->node_selector);
	if (rc == 0 && req && req->type == JV_OBJECT)
		rc = parse_nterms(s, p, jv_get(req, "nodeSelectorTerms"));
	if (rc == 0)
		rc = parse_pref_nterms(
		    s, p, jv_get(na, "preferredDuringSchedulingIgnoredDuringExecution"));
	if (rc == 0 && jv_count(tols))
		rc = parse_tolerations(s, p, tols);
	if (rc == 0)
		rc =
		    parse_pterms(s, p, jv_get(pa, "requiredDuringSchedulingIgnoredDuringExecution"),
				 false, &x->aff, &x->naff);
	if (rc == 0)
		rc = parse_pterms(s, p,
				  jv_get(paa, "requiredDuringSchedulingIgnoredDuringExecution"),
				  false, &x->anti, &x->nanti);
	if (rc == 0)
		rc = parse_pterms(s, p,
				  jv_get(pa, "preferredDuringSchedulingIgnoredDuringExecution"),
				  true, &x->paff, &x->npaff);
	if (rc == 0)
		rc = parse_pterms(s, p,
				  jv_get(paa, "preferredDuringSchedulingIgnoredDuringExecution"),
				  true, &x->panti, &x->npanti);
	if (rc == 0 && x->naff)
		rc = aff_all_key(x, &p->arena);
	if (rc == 0 && jv_count(spread))
		rc = parse_spread(s, p, spread);
	return rc;
}
