/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_jv_schema: a JSON tree (k8s_jv.h) against the schema tables: the decode check and
 * normalization Kubernetes applies to a request body (same checks and messages as the
 * libfyaml walker in k8s_validate.c, through the shared k8s_v* functions), and the writer
 * that orders an object as Kubernetes serializes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"
#include "k8s_jv.h"

static void d_value(struct k8s_vctx *c, struct jv *n, const struct k8s_value *v, int depth);

static struct k8s_vnode vnode_of(const struct jv *n)
{
	struct k8s_vnode vn = {.shape = 's'};

	if (n->type == JV_OBJECT)
		vn.shape = 'm';
	else if (n->type == JV_ARRAY)
		vn.shape = 'a';
	else if (n->type == JV_NUMBER)
		vn.raw = n->s;
	return vn;
}

static enum k8s_shape shape_of(const struct jv *n)
{
	switch (n->type) {
	case JV_OBJECT:
		return K8S_SHAPE_OBJECT;
	case JV_ARRAY:
		return K8S_SHAPE_ARRAY;
	case JV_TRUE:
	case JV_FALSE:
		return K8S_SHAPE_BOOL;
	default:
		return K8S_SHAPE_OTHER;
	}
}

static void scalar_of(const struct jv *n, struct k8s_scalar *s)
{
	memset(s, 0, sizeof(*s));
	switch (n->type) {
	case JV_FALSE:
	case JV_TRUE:
		s->type = K8S_SCALAR_BOOL;
		s->b = n->type == JV_TRUE;
		break;
	case JV_NUMBER:
		if (k8s_scalar_resolve_json(n->s, n->len, s) != 0)
			s->type = K8S_SCALAR_STRING; /* cannot happen for parsed numbers */
		break;
	case JV_STRING:
		s->type = K8S_SCALAR_STRING;
		s->str = n->s;
		s->len = n->len;
		break;
	default:
		s->type = K8S_SCALAR_NULL;
	}
}

/* ---- duplicate keys ---- */

struct mref {
	struct jv *m;
	uint32_t pos;
};

static int mref_cmp(const void *a, const void *b)
{
	const struct mref *x = a, *y = b;
	size_t n = x->m->klen < y->m->klen ? x->m->klen : y->m->klen;
	int r = memcmp(x->m->key, y->m->key, n);

	if (r)
		return r;
	if (x->m->klen != y->m->klen)
		return x->m->klen < y->m->klen ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* For each member (by position): dup[i] = an earlier member has its key; keep[i] = the node
 * whose value stands at position i after collapsing (the last with that key), NULL if dup. */
static int find_dups(struct jv *o, bool *dup, struct jv **keep)
{
	size_t n = o->len, i = 0;
	struct jv *m;

	for (m = o->head; m; m = m->next, i++) {
		dup[i] = false;
		keep[i] = m;
	}
	if (n <= 16) {
		struct jv *mi, *mj;
		size_t a, b;

		for (a = 0, mi = o->head; mi; mi = mi->next, a++) {
			if (dup[a])
				continue;
			for (b = a + 1, mj = mi->next; mj; mj = mj->next, b++) {
				if (mj->klen == mi->klen &&
				    memcmp(mj->key, mi->key, mi->klen) == 0) {
					dup[b] = true;
					keep[b] = NULL;
					keep[a] = mj;
				}
			}
		}
		return 0;
	}
	struct mref *refs = malloc(n * sizeof(*refs));

	if (!refs)
		return -ENOMEM;
	for (i = 0, m = o->head; m; m = m->next, i++)
		refs[i] = (struct mref){m, (uint32_t)i};
	qsort(refs, n, sizeof(*refs), mref_cmp);
	for (i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && refs[j].m->klen == refs[i].m->klen &&
		       memcmp(refs[j].m->key, refs[i].m->key, refs[i].m->klen) == 0) {
			dup[refs[j].pos] = true;
			keep[refs[j].pos] = NULL;
			j++;
		}
		keep[refs[i].pos] = refs[j - 1].m;
		i = j;
	}
	free(refs);
	return 0;
}

/* ---- decode ---- */

static bool is_empty_collection(const struct jv *v)
{
	return (v->type == JV_ARRAY || v->type == JV_OBJECT) && v->len == 0;
}

/* Members checked by check(), then the object rebuilt from what survives. */
static void d_object(struct k8s_vctx *c, struct jv *o, const struct k8s_type *t,
		     const struct k8s_value *elem, int depth)
{
	size_t n = o->len, i;
	bool small_dup[16];
	struct jv *small_keep[16];
	bool *dup = n <= 16 ? small_dup : malloc(n * sizeof(*dup));
	struct jv **keep = n <= 16 ? small_keep : malloc(n * sizeof(*keep));
	struct jv *m;

	if (!dup || !keep || find_dups(o, dup, keep) != 0) {
		c->err = -ENOMEM;
		goto out;
	}
	for (i = 0, m = o->head; m && !c->err; m = m->next, i++) {
		const struct k8s_field *f = t ? k8s_field_lookup(t, m->key, m->klen, NULL) : NULL;
		size_t at = t ? k8s_path_field(&c->path, m->key, m->klen)
			      : k8s_path_key(&c->path, m->key, m->klen);
		struct k8s_vnode vn = {.shape = 's'};

		if (t && (!f || !f->json)) {
			k8s_vstrictness(c, &vn, K8S_REASON_UNKNOWN, "unknown");
			d_value(c, m, NULL, depth + 1);
			keep[i] = NULL; /* dropped, as decoding into the struct drops it */
		} else {
			if (dup[i])
				k8s_vstrictness(c, &vn, K8S_REASON_DUPLICATE, "duplicate");
			d_value(c, m, t ? f->value : elem, depth + 1);
		}
		k8s_path_pop(&c->path, at);
	}
	if (t && c->fv == K8S_FV_STRICT && !(c->checks & K8S_CHECK_NO_REQUIRED)) {
		for (size_t fi = 0; fi < t->nfields; fi++) {
			const struct k8s_field *f = &t->fields[fi];

			if (!(f->flags & K8S_F_REQUIRED) || !f->json || !f->json[0] ||
			    jv_get(o, f->json))
				continue;
			size_t at = k8s_path_field(&c->path, f->json, strlen(f->json));
			struct k8s_vnode vn = {.shape = 'm'};

			k8s_vcause(c, &vn, K8S_REASON_REQUIRED, "Required value");
			k8s_path_pop(&c->path, at);
		}
	}
	if (c->err)
		goto out;
	/* rebuild: first position, last value; nulls and empty omitempty collections of a
	 * struct dropped */
	/* keep[] says which node stands at each position (a later duplicate has the same
	 * key): relinking by position never follows the nodes' links, which change here */
	jv_clear(o);
	for (i = 0; i < n; i++) {
		struct jv *k = keep[i];

		if (!k)
			continue;
		if (t) {
			const struct k8s_field *f = k8s_field_lookup(t, k->key, k->klen, NULL);

			if (k->type == JV_NULL)
				continue;
			if (f && (f->flags & K8S_F_OMITEMPTY) && is_empty_collection(k) &&
			    (f->value->kind == K8S_V_ARRAY || f->value->kind == K8S_V_MAP))
				continue;
		}
		jv_push(o, k);
	}
out:
	if (dup != small_dup)
		free(dup);
	if (keep != small_keep)
		free(keep);
}

/* v NULL: any JSON (still checked for duplicate keys). */
static void d_value(struct k8s_vctx *c, struct jv *n, const struct k8s_value *v, int depth)
{
	struct k8s_vnode vn = vnode_of(n);
	struct k8s_scalar s;

	if (c->err)
		return;
	if (depth > K8S_MAX_DEPTH) {
		k8s_vcause(c, &vn, K8S_REASON_INVALID,
			   "Invalid value: nested deeper than %d levels", K8S_MAX_DEPTH);
		return;
	}
	if (v && k8s_vkind_any_json(v->kind))
		v = NULL;
	if (v && k8s_vkind_is_union(v->kind)) {
		const struct k8s_value *alt = k8s_value_union_alt(v, shape_of(n));

		if (!alt) {
			/* read as empty: null, which the object it is in drops */
			if (n->type != JV_NULL && k8s_vunion_other(c, &vn, v)) {
				/* only scalars get here (every union takes objects and arrays) */
				n->type = JV_NULL;
				n->s = NULL;
				n->len = 0;
				n->flags = 0;
			}
			return;
		}
		v = alt;
	}
	switch (n->type) {
	case JV_ARRAY: {
		size_t i = 0;

		if (v && v->kind != K8S_V_ARRAY) {
			k8s_vtype_invalid(c, &vn, NULL, v);
			return;
		}
		for (struct jv *it = n->head; it && !c->err; it = it->next) {
			size_t at = k8s_path_index(&c->path, i++);

			d_value(c, it, v ? v->elem : NULL, depth + 1);
			k8s_path_pop(&c->path, at);
		}
		return;
	}
	case JV_OBJECT:
		if (!v)
			d_object(c, n, NULL, NULL, depth);
		else if (v->kind == K8S_V_STRUCT)
			d_object(c, n, v->type, NULL, depth);
		else if (v->kind == K8S_V_MAP)
			d_object(c, n, NULL, v->elem, depth);
		else
			k8s_vtype_invalid(c, &vn, NULL, v);
		return;
	default:
		/* null decodes into anything (Go leaves the zero value) */
		scalar_of(n, &s);
		if (v && s.type != K8S_SCALAR_NULL)
			k8s_vscalar(c, &vn, &s, v);
	}
}

int k8s_jv_decode(struct jv *v, const struct k8s_type *t, const struct k8s_validate_opts *o,
		  struct k8s_errors *errs)
{
	struct k8s_vctx c = {
	    .fv = o ? o->validation : K8S_FV_STRICT, .checks = o ? o->checks : 0, .errs = errs};
	struct k8s_value tv = {.kind = t ? t->kind : K8S_V_ANY, .type = t};

	if (!v)
		return -EINVAL;
	if (o && o->path)
		k8s_buf_put(&c.path, o->path, strlen(o->path));
	d_value(&c, v, t ? &tv : NULL, 0);
	if (c.path.oom && !c.err)
		c.err = -ENOMEM;
	free(c.path.p);
	if (c.err)
		return c.err;
	return c.ncauses ? -EINVAL : 0;
}

/* ---- writer ---- */

static void w_value(struct k8s_buf *b, const struct jv *v, const struct k8s_value *t, int depth);

static void w_member(struct k8s_buf *b, bool *first, const struct jv *m, const struct k8s_value *t,
		     int depth)
{
	if (!*first)
		k8s_buf_putc(b, ',');
	*first = false;
	k8s_buf_json_string(b, m->key, m->klen);
	k8s_buf_putc(b, ':');
	w_value(b, m, t, depth + 1);
}

struct ordm {
	const struct jv *m;
	const struct k8s_value *v;
	uint32_t order;
};

static int ordm_cmp(const void *a, const void *b)
{
	const struct ordm *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->m < y->m ? -1 : x->m > y->m; /* stable enough: equal orders are duplicates */
}

/* Struct members in the schema's order (inline structs flattened), unknown ones after the
 * known ones in their order; of duplicate keys the last one is written. */
static void w_struct(struct k8s_buf *b, const struct jv *o, const struct k8s_type *t, int depth)
{
	struct ordm small[32];
	struct ordm *arr = o->len <= 32 ? small : malloc(o->len * sizeof(*arr));
	uint32_t pos = 0;
	size_t n = 0;
	bool first = true;

	if (!arr) {
		b->oom = true;
		return;
	}
	for (const struct jv *m = o->head; m; m = m->next, pos++) {
		uint32_t order = 0;
		const struct k8s_field *f = k8s_field_lookup(t, m->key, m->klen, &order);

		arr[n++] = (struct ordm){m, f ? f->value : NULL, f ? order : 0x80000000u + pos};
	}
	/* already ordered (every stored object is): no sort */
	for (size_t i = 1; i < n; i++) {
		if (arr[i].order <= arr[i - 1].order) {
			qsort(arr, n, sizeof(*arr), ordm_cmp);
			break;
		}
	}
	k8s_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && arr[i + 1].order == arr[i].order && arr[i].order < 0x80000000u)
			continue; /* a duplicate: the later one wins */
		w_member(b, &first, arr[i].m, arr[i].v, depth);
	}
	k8s_buf_putc(b, '}');
	if (arr != small)
		free(arr);
}

static int key_cmp(const void *a, const void *b)
{
	const struct jv *x = *(const struct jv *const *)a, *y = *(const struct jv *const *)b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int r = memcmp(x->key, y->key, n);

	if (r)
		return r;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static void w_object(struct k8s_buf *b, const struct jv *o, const struct k8s_value *t, int depth)
{
	const struct jv *small[32];
	const struct jv **arr = o->len <= 32 ? small : malloc(o->len * sizeof(*arr));
	bool first = true;
	size_t n = 0;

	if (!arr) {
		b->oom = true;
		return;
	}
	/* maps and schema-less objects: sorted keys, as Go marshals a map */
	const struct k8s_value *ev = t && t->kind == K8S_V_MAP ? t->elem : NULL;
	bool sorted = true;

	for (const struct jv *m = o->head; m; m = m->next) {
		arr[n] = m;
		if (n && key_cmp(&arr[n - 1], &arr[n]) >= 0)
			sorted = false;
		n++;
	}
	if (!sorted)
		qsort(arr, n, sizeof(*arr), key_cmp);
	k8s_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && key_cmp(&arr[i], &arr[i + 1]) == 0)
			continue; /* a duplicate key: the later one wins (qsort is not stable) */
		w_member(b, &first, arr[i], ev, depth);
	}
	k8s_buf_putc(b, '}');
	if (arr != small)
		free(arr);
}

static void w_value(struct k8s_buf *b, const struct jv *v, const struct k8s_value *t, int depth)
{
	if (t && k8s_vkind_is_union(t->kind))
		t = k8s_value_union_alt(t, shape_of(v)); /* NULL: not one of its shapes */
	if (!t || k8s_vkind_any_json(t->kind)) {
		jv_write(b, v); /* kept as written */
		return;
	}
	if (depth > K8S_MAX_DEPTH + 2) {
		b->oom = true; /* cannot happen for a decoded tree */
		return;
	}
	if (v->type == JV_OBJECT && t && t->kind == K8S_V_STRUCT) {
		w_struct(b, v, t->type, depth);
	} else if (v->type == JV_OBJECT) {
		w_object(b, v, t, depth);
	} else if (v->type == JV_ARRAY) {
		const struct k8s_value *ev = t && t->kind == K8S_V_ARRAY ? t->elem : NULL;

		k8s_buf_putc(b, '[');
		for (const struct jv *c = v->head; c; c = c->next) {
			if (c != v->head)
				k8s_buf_putc(b, ',');
			w_value(b, c, ev, depth + 1);
		}
		k8s_buf_putc(b, ']');
	} else {
		jv_write(b, v);
	}
}

void k8s_jv_write_schema(struct k8s_buf *b, const struct jv *v, const struct k8s_type *t)
{
	struct k8s_value tv = {.kind = t ? t->kind : K8S_V_ANY, .type = t};

	w_value(b, v, t ? &tv : NULL, 0);
}

struct jv *k8s_jv_from_node(struct jv_doc *d, struct fy_node *n)
{
	size_t len;
	char *json = k8s_node_to_json(n);
	struct jv *v;

	if (!json)
		return NULL;
	len = strlen(json);
	v = jv_parse(d, json, len, NULL);
	free(json);
	return v;
}
