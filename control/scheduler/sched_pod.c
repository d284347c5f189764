/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_pod: a pod read once from its tree into what scheduling needs (struct sched_pod),
 * with kube-scheduler's interpretation of each field:
 *   - requests as resourcehelper.PodRequests computes them: the sum of containers, raised to
 *     each init container's need (a restartable "sidecar" init container also adds to the
 *     sum and to every later init container's need), plus spec.overhead; and the same with
 *     100m cpu / 200Mi memory for a container that leaves a request unset, which is what
 *     the scores count (NonZeroRequested);
 *   - host ports of containers (hostIP "" = 0.0.0.0, protocol "" = TCP);
 *   - nodeSelector and node affinity (invalid or empty terms dropped, as the lazy-error node
 *     selector does), and the node names matchFields pins (NodeAffinity's PreFilter);
 *   - pod (anti-)affinity terms with their namespaces resolved (none and no selector = the
 *     pod's own) and matchLabelKeys / mismatchLabelKeys merged into the selector;
 *   - topology spread constraints with their defaults (minDomains 1, nodeAffinityPolicy
 *     Honor, nodeTaintsPolicy Ignore) and matchLabelKeys;
 *   - tolerations, priority, creationTimestamp, deletionTimestamp, phase, schedulingGates.
 * Everything lives in the pod's arena; the pod is immutable once returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "sched_int.h"

struct sched_pod *sched_pod_ref(struct sched_pod *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void sched_pod_unref(struct sched_pod *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	struct sched_arena a = p->arena;

	sched_arena_free(&a);
}

const char *sched_pod_namespace(const struct sched_pod *p)
{
	return p->ns;
}

const char *sched_pod_name(const struct sched_pod *p)
{
	return p->name;
}

const char *sched_pod_uid(const struct sched_pod *p)
{
	return p->uid;
}

/* ---- time ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int sched_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0;
	size_t i = 19;

	if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	if (s[i] == '.') {
		int64_t scale = 100000000;

		for (i++; s[i] >= '0' && s[i] <= '9'; i++) {
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om))
			return -EINVAL;
		if (s[i] == '-') {
			oh = -oh;
			om = -om;
		}
		i += 6;
	} else {
		return -EINVAL;
	}
	if (s[i])
		return -EINVAL;
	int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		       sec - oh * 3600 - om * 60;

	*out = secs * 1000000000 + frac;
	return 0;
}

/* ---- resources ---- */

/* A resource list being summed: cpu in millicores, the rest in units. */
#define MAX_SCALARS 16
struct rlist {
	int64_t cpu, mem, eph;
	bool has_cpu, has_mem;
	uint32_t n;
	struct sched_scalar sc[MAX_SCALARS];
};

/* schedutil.IsScalarResourceName: extended, hugepages, kubernetes.io/-prefixed, attachable
 * volumes. Plain names without a '/' that are not cpu/memory/storage are not counted. */
static bool is_scalar(const char *name)
{
	if (strncmp(name, "hugepages-", 10) == 0 || strncmp(name, "attachable-volumes-", 19) == 0)
		return true;
	if (strstr(name, "kubernetes.io/"))
		return true;
	return strchr(name, '/') && strncmp(name, "requests.", 9) != 0;
}

static void rl_set_scalar(struct rlist *l, uint32_t name, int64_t v, int how)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->sc[i].name == name) {
			if (how == 0)
				l->sc[i].v += v;
			else if (v > l->sc[i].v)
				l->sc[i].v = v;
			return;
		}
	if (l->n < MAX_SCALARS)
		l->sc[l->n++] = (struct sched_scalar){.name = name, .v = v};
}

static void rl_add(struct rlist *l, const struct rlist *r)
{
	l->cpu += r->cpu;
	l->mem += r->mem;
	l->eph += r->eph;
	l->has_cpu |= r->has_cpu;
	l->has_mem |= r->has_mem;
	for (uint32_t i = 0; i < r->n; i++)
		rl_set_scalar(l, r->sc[i].name, r->sc[i].v, 0);
}

static void rl_max(struct rlist *l, const struct rlist *r)
{
	if (r->cpu > l->cpu)
		l->cpu = r->cpu;
	if (r->mem > l->mem)
		l->mem = r->mem;
	if (r->eph > l->eph)
		l->eph = r->eph;
	for (uint32_t i = 0; i < r->n; i++)
		rl_set_scalar(l, r->sc[i].name, r->sc[i].v, 1);
}

/* A ResourceList (requests, overhead); nonzero: a missing cpu/memory counts the default. */
static int rl_parse(struct sched *s, const struct jv *list, bool nonzero, struct rlist *out)
{
	memset(out, 0, sizeof(*out));
	for (const struct jv *m = jv_first(list); m; m = m->next) {
		int64_t v, milli;
		int rc = -EINVAL;

		if (m->type == JV_STRING || m->type == JV_NUMBER)
			rc = k8s_quantity_parse(m->s, m->len, &v, &milli);
		if (rc < 0)
			continue; /* not a quantity: the API server would not have stored it */
		if (strcmp(m->key, "cpu") == 0) {
			out->cpu = milli;
			out->has_cpu = true;
		} else if (strcmp(m->key, "memory") == 0) {
			out->mem = v;
			out->has_mem = true;
		} else if (strcmp(m->key, "ephemeral-storage") == 0) {
			out->eph = v;
		} else if (is_scalar(m->key)) {
			uint32_t id = sched_intern(s->strings, m->key, m->klen);

			if (id == SCHED_NOID)
				return -ENOMEM;
			rl_set_scalar(out, id, v, 0);
		}
	}
	if (nonzero) {
		if (!out->has_cpu)
			out->cpu = SCHED_DEFAULT_MILLI_CPU;
		if (!out->has_mem)
			out->mem = SCHED_DEFAULT_MEMORY;
	}
	return 0;
}

/* resourcehelper.PodRequests */
static int pod_requests(struct sched *s, const struct jv *spec, bool nonzero, struct rlist *reqs)
{
	struct rlist c, restartable, init_max, tmp;
	int rc;

	memset(reqs, 0, sizeof(*reqs));
	memset(&restartable, 0, sizeof(restartable));
	memset(&init_max, 0, sizeof(init_max));
	for (const struct jv *k = jv_first(jv_get(spec, "containers")); k; k = k->next) {
		rc = rl_parse(s, jv_path(k, "resources.requests"), nonzero, &c);
		if (rc < 0)
			return rc;
		rl_add(reqs, &c);
	}
	for (const struct jv *k = jv_first(jv_get(spec, "initContainers")); k; k = k->next) {
		rc = rl_parse(s, jv_path(k, "resources.requests"), nonzero, &c);
		if (rc < 0)
			return rc;
		if (jv_is_str(jv_get(k, "restartPolicy"), "Always")) {
			rl_add(reqs, &c);
			rl_add(&restartable, &c);
			tmp = restartable;
		} else {
			tmp = c;
			rl_add(&tmp, &restartable);
		}
		rl_max(&init_max, &tmp);
	}
	rl_max(reqs, &init_max);
	rc = rl_parse(s, jv_get(spec, "overhead"), false, &c);
	if (rc < 0)
		return rc;
	rl_add(reqs, &c);
	return 0;
}

static int cmp_scalar(const void *a, const void *b)
{
	const struct sched_scalar *x = a, *y = b;

	return x->name < y->name ? -1 : x->name > y->name;
}

static int res_from(struct sched_arena *a, const struct rlist *l, struct sched_res *out)
{
	out->cpu = l->cpu;
	out->mem = l->mem;
	out->eph = l->eph;
	out->nscalar = 0;
	out->scalar = NULL;
	if (!l->n)
		return 0;
	out->scalar = sched_arena_alloc(a, l->n * sizeof(*out->scalar));
	if (!out->scalar)
		return -ENOMEM;
	memcpy(out->scalar, l->sc, l->n * sizeof(*out->scalar));
	out->nscalar = l->n;
	qsort(out->scalar, out->nscalar, sizeof(*out->scalar), cmp_scalar);
	return 0;
}

int sched_res_parse(struct sched *s, struct sched_arena *a, const struct jv *list,
		    struct sched_res *out, int64_t *pods)
{
	struct rlist l;
	int rc = rl_parse(s, list, false, &l);

	if (rc < 0)
		return rc;
	if (pods) {
		const struct jv *v = jv_get(list, "pods");

		*pods = 0;
		if (v && (v->type == JV_STRING || v->type == JV_NUMBER))
			k8s_quantity_parse(v->s, v->len, pods, NULL);
	}
	return res_from(a, &l, out);
}

/* ---- labels ---- */

/* A string map (labels, nodeSelector) into a sorted label set; the last duplicate wins. */
int sched_labels_from(struct sched *s, struct sched_arena *a, const struct jv *map,
		      struct sched_labels *out)
{
	size_t n = jv_count(map);
	uint32_t k = 0;

	out->n = 0;
	out->v = NULL;
	if (!n || map->type != JV_OBJECT)
		return 0;
	out->v = sched_arena_alloc(a, n * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (const struct jv *m = jv_first(map); m; m = m->next) {
		if (m->type != JV_STRING)
			continue;
		struct sched_label l = {
		    .key = sched_intern(s->strings, m->key, m->klen),
		    .val = sched_intern(s->strings, m->s, m->len),
		};

		if (l.key == SCHED_NOID || l.val == SCHED_NOID)
			return -ENOMEM;
		out->v[out->n++] = l;
	}
	/* stable for equal keys: keep the last */
	for (uint32_t i = 1; i < out->n; i++)
		for (uint32_t j = i; j > 0 && out->v[j - 1].key > out->v[j].key; j--) {
			struct sched_label t = out->v[j];

			out->v[j] = out->v[j - 1];
			out->v[j - 1] = t;
		}
	for (uint32_t i = 0; i < out->n; i++) {
		if (k && out->v[k - 1].key == out->v[i].key)
			out->v[k - 1] = out->v[i];
		else
			out->v[k++] = out->v[i];
	}
	out->n = k;
	return 0;
}

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

/* ---- tolerations, ports, spread ---- */

uint8_t sched_effect_of(const char *e)
{
	if (!e || !*e)
		return SCHED_EFFECT_NONE;
	if (strcmp(e, "NoSchedule") == 0)
		return SCHED_EFFECT_NOSCHEDULE;
	if (strcmp(e, "PreferNoSchedule") == 0)
		return SCHED_EFFECT_PREFER;
	if (strcmp(e, "NoExecute") == 0)
		return SCHED_EFFECT_NOEXECUTE;
	return SCHED_EFFECT_OTHER;
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

static int parse_ports(struct sched *s, struct sched_pod *p, const struct jv *containers)
{
	size_t n = 0;

	for (const struct jv *c = jv_first(containers); c; c = c->next)
		for (const struct jv *pt = jv_first(jv_get(c, "ports")); pt; pt = pt->next) {
			int64_t hp = 0;

			if (jv_path_int(pt, "hostPort", &hp) == 0 && hp > 0)
				n++;
		}
	if (!n)
		return 0;
	p->ports = sched_arena_alloc(&p->arena, n * sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	for (const struct jv *c = jv_first(containers); c; c = c->next)
		for (const struct jv *pt = jv_first(jv_get(c, "ports")); pt; pt = pt->next) {
			int64_t hp = 0;
			const char *ip = jv_path_str(pt, "hostIP");
			const char *proto = jv_path_str(pt, "protocol");
			struct sched_port *o;

			if (jv_path_int(pt, "hostPort", &hp) < 0 || hp <= 0 || hp > 65535)
				continue;
			o = &p->ports[p->nports++];
			o->port = (uint16_t)hp;
			o->ip =
			    ip && *ip ? sched_intern(s->strings, ip, strlen(ip)) : s->id_zero_ip;
			if (o->ip == SCHED_NOID)
				return -ENOMEM;
			o->proto = !proto || !*proto || strcmp(proto, "TCP") == 0 ? 0
				   : strcmp(proto, "UDP") == 0			  ? 1
				   : strcmp(proto, "SCTP") == 0			  ? 2
										  : 3;
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

/* ---- the pod ---- */

static uint64_t fingerprint(const struct jv *pod)
{
	struct k8s_buf b = {0};
	uint64_t h;

	const struct jv *parts[] = {jv_path(pod, "metadata.labels"),
				    jv_path(pod, "metadata.annotations"), jv_get(pod, "spec")};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i])
			jv_write(&b, parts[i]);
		k8s_buf_putc(&b, 0);
	}
	h = hmap_hash(b.p ? b.p : "", b.len);
	k8s_buf_free(&b);
	return h;
}

static const char *intern_str(struct sched *s, const char *v, uint32_t *id)
{
	*id = sched_intern(s->strings, v ? v : "", v ? strlen(v) : 0);
	return *id == SCHED_NOID ? NULL : sched_intern_str(s->strings, *id);
}

static int parse_ext(struct sched *s, struct sched_pod *p, const struct jv *spec)
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

struct sched_pod *sched_pod_parse(struct sched *s, const struct jv *pod)
{
	struct sched_arena a = {0};
	struct sched_pod *p = sched_arena_alloc(&a, sizeof(*p));
	const struct jv *meta = jv_get(pod, "metadata"), *spec = jv_get(pod, "spec");
	const char *uid = jv_path_str(meta, "uid"), *name = jv_path_str(meta, "name");
	const char *ts = jv_path_str(meta, "creationTimestamp");
	const char *phase = jv_path_str(pod, "status.phase");
	const char *sn = jv_path_str(spec, "schedulerName");
	struct rlist rl;
	int64_t prio = 0;
	int rc = -ENOMEM;

	if (!p)
		goto fail;
	p->arena = a;
	atomic_init(&p->refs, 1);
	if (!uid || !name || !*uid || !*name) {
		rc = -EINVAL;
		goto fail;
	}
	p->uid = sched_arena_strndup(&p->arena, uid, strlen(uid));
	p->name = sched_arena_strndup(&p->arena, name, strlen(name));
	p->ns = intern_str(s, jv_path_str(meta, "namespace"), &p->ns_id);
	p->node_name = intern_str(s, jv_path_str(spec, "nodeName"), &p->node_id);
	p->sched_name = intern_str(s, sn && *sn ? sn : "default-scheduler", &(uint32_t){0});
	if (!p->uid || !p->name || !p->ns || !p->node_name || !p->sched_name)
		goto fail;
	if (sched_labels_from(s, &p->arena, jv_get(meta, "labels"), &p->labels) < 0)
		goto fail;
	if (jv_path_int(spec, "priority", &prio) == 0)
		p->priority = (int32_t)prio;
	if (ts)
		sched_parse_time(ts, &p->created_ns);
	p->terminating = jv_get(meta, "deletionTimestamp") != NULL &&
			 jv_get(meta, "deletionTimestamp")->type != JV_NULL;
	p->terminal = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
	p->gated = jv_count(jv_get(spec, "schedulingGates")) > 0;
	if (pod_requests(s, spec, false, &rl) < 0 || res_from(&p->arena, &rl, &p->req) < 0)
		goto fail;
	if (pod_requests(s, spec, true, &rl) < 0)
		goto fail;
	p->nz_cpu = rl.cpu;
	p->nz_mem = rl.mem;
	if (parse_ports(s, p, jv_get(spec, "containers")) < 0)
		goto fail;
	rc = parse_ext(s, p, spec);
	if (rc < 0)
		goto fail;
	p->fingerprint = fingerprint(pod);
	return p;
fail:
	if (p)
		a = p->arena;
	sched_arena_free(&a);
	errno = -rc;
	return NULL;
}
