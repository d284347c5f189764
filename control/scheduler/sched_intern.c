/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_intern: the scheduler's vocabulary. Strings (label keys and values, namespaces, node
 * names, topology keys) are interned to 32-bit ids once, when an object is read, so that every
 * label comparison of a decision is an integer compare; label sets are arrays sorted by key
 * id (lookup O(log labels)); selectors are compiled from their trees into requirement arrays
 * with sorted value ids (labels.Selector and the node selector of k8s.io/component-helpers,
 * with Gt/Lt and matchFields), matched in O(requirements x log labels). Also the arena that
 * parsed objects allocate from.
 *
 * The intern table: an hmap from string to id (under a mutex: informer threads parse
 * concurrently) and an id -> string table of fixed-size chunks that readers use without the
 * lock (a chunk is in place before any id in it is handed out).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* ---- arena ---- */

struct sched_arena_blk {
	struct sched_arena_blk *next;
	size_t cap;
	_Alignas(8) char data[];
};

void *sched_arena_alloc(struct sched_arena *a, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	if (!a->blk || a->used + size > a->cap) {
		size_t cap = a->blk ? a->cap * 2 : 192;

		if (cap > 4096)
			cap = 4096;
		if (cap < size)
			cap = size;
		struct sched_arena_blk *b = malloc(sizeof(*b) + cap);

		if (!b)
			return NULL;
		b->next = a->blk;
		b->cap = cap;
		a->blk = b;
		a->cap = cap;
		a->used = 0;
	}
	void *p = a->blk->data + a->used;

	a->used += size;
	memset(p, 0, size);
	return p;
}

char *sched_arena_strndup(struct sched_arena *a, const char *s, size_t len)
{
	char *p = sched_arena_alloc(a, len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = 0;
	}
	return p;
}

void sched_arena_free(struct sched_arena *a)
{
	struct sched_arena_blk *b = a->blk;

	while (b) {
		struct sched_arena_blk *next = b->next;

		free(b);
		b = next;
	}
	a->blk = NULL;
	a->used = a->cap = 0;
}

/* ---- intern ---- */

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define NCHUNKS	   (1u << 16) /* 268M strings */

struct sched_intern {
	pthread_mutex_t mu;
	struct hmap *ids; /* string -> id + 1 */
	const char **chunks[NCHUNKS];
	uint32_t n;
	struct sched_arena store;
};

struct sched_intern *sched_intern_new(void)
{
	struct sched_intern *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	t->ids = hmap_new();
	if (!t->ids || sched_intern(t, "", 0) != 0) {
		sched_intern_free(t);
		return NULL;
	}
	return t;
}

void sched_intern_free(struct sched_intern *t)
{
	if (!t)
		return;
	hmap_free(t->ids);
	for (uint32_t i = 0; i < NCHUNKS && t->chunks[i]; i++)
		free(t->chunks[i]);
	sched_arena_free(&t->store);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

uint32_t sched_intern(struct sched_intern *t, const char *s, size_t len)
{
	uint32_t id = SCHED_NOID;

	pthread_mutex_lock(&t->mu);
	void *v = hmap_get(t->ids, s, len);

	if (v) {
		id = (uint32_t)((uintptr_t)v - 1);
		goto out;
	}
	uint32_t c = t->n >> CHUNK_BITS;

	if (c >= NCHUNKS)
		goto out;
	if (!t->chunks[c]) {
		t->chunks[c] = calloc(CHUNK_SIZE, sizeof(char *));
		if (!t->chunks[c])
			goto out;
	}
	char *copy = sched_arena_strndup(&t->store, s, len);

	if (!copy || hmap_put(t->ids, s, len, (void *)(uintptr_t)(t->n + 1), NULL) < 0)
		goto out;
	t->chunks[c][t->n & (CHUNK_SIZE - 1)] = copy;
	id = t->n;
	/* publish the string before the count that makes its id valid */
	atomic_thread_fence(memory_order_release);
	t->n++;
out:
	pthread_mutex_unlock(&t->mu);
	return id;
}

uint32_t sched_intern_find(struct sched_intern *t, const char *s, size_t len)
{
	pthread_mutex_lock(&t->mu);
	void *v = hmap_get(t->ids, s, len);

	pthread_mutex_unlock(&t->mu);
	return v ? (uint32_t)((uintptr_t)v - 1) : SCHED_NOID;
}

const char *sched_intern_str(const struct sched_intern *t, uint32_t id)
{
	const char **c = t->chunks[id >> CHUNK_BITS];

	return c ? c[id & (CHUNK_SIZE - 1)] : "";
}

size_t sched_intern_count(const struct sched_intern *t)
{
	return t->n;
}

/* ---- labels ---- */

uint32_t sched_labels_get(const struct sched_labels *l, uint32_t key)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (l->v[mid].key == key)
			return l->v[mid].val;
		if (l->v[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SCHED_NOID;
}

bool sched_labels_equal(const struct sched_labels *a, const struct sched_labels *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

/* ---- selectors ---- */

static bool has_val(const struct sched_req *r, uint32_t v)
{
	uint32_t lo = 0, hi = r->nvals;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (r->vals[mid] == v)
			return true;
		if (r->vals[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* strconv.ParseInt(s, 10, 64) */
static bool parse_int64(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, lim;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (lim - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool req_match(const struct sched_intern *t, const struct sched_req *r,
		      const struct sched_labels *l)
{
	uint32_t v = sched_labels_get(l, r->key);
	int64_t n;

	switch (r->op) {
	case SCHED_OP_IN:
		return v != SCHED_NOID && has_val(r, v);
	case SCHED_OP_NOTIN:
		return v == SCHED_NOID || !has_val(r, v);
	case SCHED_OP_EXISTS:
		return v != SCHED_NOID;
	case SCHED_OP_NOTEXISTS:
		return v == SCHED_NOID;
	case SCHED_OP_GT:
	case SCHED_OP_LT:
		if (v == SCHED_NOID || !parse_int64(sched_intern_str(t, v), &n))
			return false;
		return r->op == SCHED_OP_GT ? n > r->num : n < r->num;
	}
	return false;
}

bool sched_sel_match(const struct sched_intern *t, const struct sched_sel *sel,
		     const struct sched_labels *l)
{
	if (sel->kind != SCHED_SEL_REQS)
		return sel->kind == SCHED_SEL_EVERYTHING;
	for (uint32_t i = 0; i < sel->nreq; i++)
		if (!req_match(t, &sel->reqs[i], l))
			return false;
	return true;
}

bool sched_fields_match(const struct sched_sel *fields, uint32_t name_id)
{
	if (fields->kind != SCHED_SEL_REQS)
		return fields->kind == SCHED_SEL_EVERYTHING;
	for (uint32_t i = 0; i < fields->nreq; i++) {
		const struct sched_req *r = &fields->reqs[i];
		/* a node's only field is metadata.name (key id); any other reads as "" (id 0) */
		uint32_t v = r->num ? name_id : 0;
		bool eq = r->vals[0] == v;

		if (r->op == SCHED_OP_IN ? !eq : eq)
			return false;
	}
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_req(const void *a, const void *b)
{
	const struct sched_req *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	if (x->nvals != y->nvals)
		return x->nvals < y->nvals ? -1 : 1;
	for (uint32_t i = 0; i < x->nvals; i++)
		if (x->vals[i] != y->vals[i])
			return x->vals[i] < y->vals[i] ? -1 : 1;
	return x->num < y->num ? -1 : x->num > y->num;
}

static int str_of(const struct jv *v, const char **s, size_t *len)
{
	if (!v || v->type != JV_STRING)
		return -EINVAL;
	*s = v->s;
	*len = v->len;
	return 0;
}

/* Values of a requirement: interned, sorted, deduplicated. */
static int req_values(struct sched *s, struct sched_arena *a, const struct jv *vals,
		      struct sched_req *r)
{
	size_t n = jv_count(vals);

	r->nvals = 0;
	if (!n)
		return 0;
	r->vals = sched_arena_alloc(a, n * sizeof(uint32_t));
	if (!r->vals)
		return -ENOMEM;
	for (const struct jv *v = jv_first(vals); v; v = v->next) {
		const char *str;
		size_t len;

		if (str_of(v, &str, &len) < 0)
			return -EINVAL;
		uint32_t id = sched_intern(s->strings, str, len);

		if (id == SCHED_NOID)
			return -ENOMEM;
		r->vals[r->nvals++] = id;
	}
	qsort(r->vals, r->nvals, sizeof(uint32_t), cmp_u32);
	uint32_t k = 0;

	for (uint32_t i = 0; i < r->nvals; i++)
		if (k == 0 || r->vals[k - 1] != r->vals[i])
			r->vals[k++] = r->vals[i];
	r->nvals = k;
	return 0;
}

static int parse_op(const char *op, bool node)
{
	static const char *const names[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"};

	for (int i = 0; i < (node ? 6 : 4); i++)
		if (op && strcmp(op, names[i]) == 0)
			return i;
	return -1;
}

int sched_sel_compile(struct sched *s, struct sched_arena *a, const struct jv *sel,
		      const struct sched_labels *extra, struct sched_sel *out, char *err,
		      size_t errlen)
{
	const struct jv *ml = jv_get(sel, "matchLabels"), *me = jv_get(sel, "matchExpressions");
	size_t n = jv_count(ml) + jv_count(me) + (extra ? extra->n : 0);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sel || sel->type != JV_OBJECT) {
		/* nil: Nothing, and mergeLabelSetWithSelector leaves Nothing alone */
		out->kind = SCHED_SEL_NOTHING;
		return 0;
	}
	if (n == 0) {
		out->kind = SCHED_SEL_EVERYTHING;
		return 0;
	}
	out->kind = SCHED_SEL_REQS;
	out->reqs = sched_arena_alloc(a, n * sizeof(*out->reqs));
	if (!out->reqs)
		return -ENOMEM;
	for (const struct jv *m = jv_first(ml); m; m = m->next) {
		struct sched_req *r = &out->reqs[out->nreq++];
		const char *v;
		size_t vlen;

		if (str_of(m, &v, &vlen) < 0) {
			snprintf(err, errlen, "matchLabels %s: not a string", m->key);
			return -EINVAL;
		}
		r->key = sched_intern(s->strings, m->key, m->klen);
		r->op = SCHED_OP_IN;
		r->nvals = 1;
		r->vals = sched_arena_alloc(a, sizeof(uint32_t));
		if (!r->vals || r->key == SCHED_NOID)
			return -ENOMEM;
		r->vals[0] = sched_intern(s->strings, v, vlen);
		if (r->vals[0] == SCHED_NOID)
			return -ENOMEM;
	}
	for (const struct jv *e = jv_first(me); e; e = e->next) {
		struct sched_req *r = &out->reqs[out->nreq++];
		const char *key = jv_path_str(e, "key"), *op = jv_path_str(e, "operator");
		int o = parse_op(op, false);

		if (o < 0) {
			snprintf(err, errlen, "\"%s\" is not a valid label selector operator",
				 op ? op : "");
			return -EINVAL;
		}
		r->key = sched_intern(s->strings, key ? key : "", key ? strlen(key) : 0);
		r->op = (uint8_t)o;
		if (r->key == SCHED_NOID)
			return -ENOMEM;
		rc = req_values(s, a, jv_get(e, "values"), r);
		if (rc < 0) {
			snprintf(err, errlen, "values: Invalid value: not a list of strings");
			return rc;
		}
		if ((o == SCHED_OP_IN || o == SCHED_OP_NOTIN) && r->nvals == 0) {
			snprintf(err, errlen,
				 "values: Invalid value: []string{}: for 'in', 'notin' operators, "
				 "values set can't be empty");
			return -EINVAL;
		}
		if ((o == SCHED_OP_EXISTS || o == SCHED_OP_NOTEXISTS) && r->nvals) {
			snprintf(err, errlen,
				 "values: Invalid value: values set must be empty for exists and "
				 "does not exist");
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; extra && i < extra->n; i++) {
		struct sched_req *r = &out->reqs[out->nreq++];

		r->key = extra->v[i].key;
		r->op = SCHED_OP_IN;
		r->nvals = 1;
		r->vals = sched_arena_alloc(a, sizeof(uint32_t));
		if (!r->vals)
			return -ENOMEM;
		r->vals[0] = extra->v[i].val;
	}
	qsort(out->reqs, out->nreq, sizeof(*out->reqs), cmp_req);
	return 0;
}

int sched_nsel_compile(struct sched *s, struct sched_arena *a, const struct jv *term,
		       struct sched_sel *exprs, struct sched_sel *fields)
{
	const struct jv *me = jv_get(term, "matchExpressions"), *mf = jv_get(term, "matchFields");
	int rc;

	memset(exprs, 0, sizeof(*exprs));
	memset(fields, 0, sizeof(*fields));
	/* a part the term does not have does not constrain (nodeSelectorTerm.match) */
	exprs->kind = SCHED_SEL_EVERYTHING;
	fields->kind = SCHED_SEL_EVERYTHING;
	if (jv_count(me) == 0 && jv_count(mf) == 0)
		return -EINVAL; /* an empty term selects nothing: dropped */
	if (jv_count(me)) {
		exprs->kind = SCHED_SEL_REQS;
		exprs->reqs = sched_arena_alloc(a, jv_count(me) * sizeof(*exprs->reqs));
		if (!exprs->reqs)
			return -ENOMEM;
		for (const struct jv *e = jv_first(me); e; e = e->next) {
			struct sched_req *r = &exprs->reqs[exprs->nreq++];
			const char *key = jv_path_str(e, "key");
			int o = parse_op(jv_path_str(e, "operator"), true);

			if (o < 0)
				return -EINVAL;
			r->key = sched_intern(s->strings, key ? key : "", key ? strlen(key) : 0);
			if (r->key == SCHED_NOID)
				return -ENOMEM;
			r->op = (uint8_t)o;
			rc = req_values(s, a, jv_get(e, "values"), r);
			if (rc < 0)
				return rc;
			switch (o) {
			case SCHED_OP_IN:
			case SCHED_OP_NOTIN:
				if (r->nvals == 0)
					return -EINVAL;
				break;
			case SCHED_OP_EXISTS:
			case SCHED_OP_NOTEXISTS:
				if (r->nvals)
					return -EINVAL;
				break;
			default: /* Gt, Lt: exactly one integer */
				if (r->nvals != 1 ||
				    !parse_int64(sched_intern_str(s->strings, r->vals[0]), &r->num))
					return -EINVAL;
			}
		}
		qsort(exprs->reqs, exprs->nreq, sizeof(*exprs->reqs), cmp_req);
	}
	if (jv_count(mf)) {
		fields->kind = SCHED_SEL_REQS;
		fields->reqs = sched_arena_alloc(a, jv_count(mf) * sizeof(*fields->reqs));
		if (!fields->reqs)
			return -ENOMEM;
		for (const struct jv *e = jv_first(mf); e; e = e->next) {
			struct sched_req *r = &fields->reqs[fields->nreq++];
			const char *key = jv_path_str(e, "key");
			int o = parse_op(jv_path_str(e, "operator"), true);

			if (o != SCHED_OP_IN && o != SCHED_OP_NOTIN)
				return -EINVAL;
			r->op = (uint8_t)o;
			r->key = 0;
			r->num = key && strcmp(key, "metadata.name") == 0;
			rc = req_values(s, a, jv_get(e, "values"), r);
			if (rc < 0)
				return rc;
			/* exactly one value; duplicates would have collapsed above */
			if (r->nvals != 1 || jv_count(jv_get(e, "values")) != 1)
				return -EINVAL;
		}
	}
	return 0;
}

void sched_sel_sort(struct sched_sel *sel)
{
	if (sel->nreq > 1)
		qsort(sel->reqs, sel->nreq, sizeof(*sel->reqs), cmp_req);
}

void sched_sel_key(const struct sched_sel *sel, struct k8s_buf *b)
{
	k8s_buf_putc(b, (char)('0' + sel->kind));
	for (uint32_t i = 0; i < sel->nreq; i++) {
		const struct sched_req *r = &sel->reqs[i];

		k8s_buf_put(b, (const char *)&r->key, sizeof(r->key));
		k8s_buf_put(b, (const char *)&r->op, sizeof(r->op));
		k8s_buf_put(b, (const char *)&r->nvals, sizeof(r->nvals));
		if (r->nvals)
			k8s_buf_put(b, (const char *)r->vals, r->nvals * sizeof(uint32_t));
		k8s_buf_put(b, (const char *)&r->num, sizeof(r->num));
	}
	k8s_buf_putc(b, ';');
}
