/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fieldset: sets of field paths as structured-merge-diff keeps them for managedFields: a
 * tree whose nodes are path elements in their fieldsV1 spelling ("f:spec", the key of a
 * keyed list item "k:{\"name\":\"web\"}", a set value "v:\"x\"", an index "i:0"); a node
 * is in the set itself when marked (fieldsV1's "."). Built from objects by the schema
 * (which lists are keyed, sets or atomic; which maps and structs are atomic), compared,
 * combined, and read from and written to fieldsV1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_managed.h"
#include "k8s_buf.h"

struct fnode {
	char *name; /* NULL for the root */
	bool member;
	struct fnode **kids; /* sorted by name */
	size_t n, cap;
};

/* Nodes, names and child arrays live in the set's arena (one free for the whole set: a pod
 * has a hundred paths); nodes taken out are just unlinked. */
struct fset {
	struct fnode root;
	struct jv_doc *arena;
	bool oom;
};

struct fset *fset_new(void)
{
	struct fset *s = calloc(1, sizeof(struct fset));

	if (s && !(s->arena = jv_doc_new())) {
		free(s);
		return NULL;
	}
	return s;
}

void fset_free(struct fset *s)
{
	if (!s)
		return;
	jv_doc_free(s->arena);
	free(s);
}

bool fset_empty(const struct fset *s)
{
	return !s || (!s->root.member && s->root.n == 0);
}

/* Binary search: index of name in n's children, or -(insertion point) - 1. */
static long find(const struct fnode *n, const char *name)
{
	long lo = 0, hi = (long)n->n - 1;

	while (lo <= hi) {
		long mid = (lo + hi) / 2;
		int c = strcmp(n->kids[mid]->name, name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

static struct fnode *child(struct fset *s, struct fnode *n, const char *name)
{
	long at = find(n, name);
	struct fnode *c;

	if (at >= 0)
		return n->kids[at];
	at = -at - 1;
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4;
		struct fnode **k = jv_alloc(s->arena, cap * sizeof(*k));

		if (!k) {
			s->oom = true;
			return NULL;
		}
		if (n->n)
			memcpy(k, n->kids, n->n * sizeof(*k));
		n->kids = k;
		n->cap = cap;
	}
	c = jv_alloc(s->arena, sizeof(*c));
	if (!c || !(c->name = jv_strndup(s->arena, name, strlen(name)))) {
		s->oom = true;
		return NULL;
	}
	memmove(n->kids + at + 1, n->kids + at, (n->n - (size_t)at) * sizeof(*n->kids));
	n->kids[at] = c;
	n->n++;
	return c;
}

static struct fnode *lookup(const struct fnode *n, const char *name)
{
	long at = find(n, name);

	return at >= 0 ? n->kids[at] : NULL;
}

/* ---- path elements ---- */

/* "f:<name>" into buf (size FIELD_NAME_MAX) when it fits, else malloc'd; NULL on -ENOMEM. */
#define FIELD_NAME_MAX 256

static char *elem_field(char *buf, const char *name, size_t len)
{
	char *s = len + 3 <= FIELD_NAME_MAX ? buf : malloc(len + 3);

	if (s) {
		memcpy(s, "f:", 2);
		memcpy(s + 2, name, len);
		s[len + 2] = 0;
	}
	return s;
}

static void elem_field_done(char *buf, char *name)
{
	if (name != buf)
		free(name);
}

/* k:{"key":value,...}: the item's key fields, sorted by name (as structured-merge-diff). */
static char *elem_key(const struct jv *item, const char *const *keys, const char *one)
{
	const char *names[8];
	size_t n = 0;
	struct k8s_buf b = {0};

	if (keys)
		for (; keys[n] && n < 8; n++)
			names[n] = keys[n];
	else
		names[n++] = one;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	k8s_buf_puts(&b, "k:{");
	for (size_t i = 0, w = 0; i < n; i++) {
		const struct jv *v = jv_get(item, names[i]);

		if (!v)
			continue;
		if (w++)
			k8s_buf_putc(&b, ',');
		k8s_buf_json_string(&b, names[i], strlen(names[i]));
		k8s_buf_putc(&b, ':');
		jv_write(&b, v);
	}
	k8s_buf_putc(&b, '}');
	return k8s_buf_take(&b, NULL);
}

static char *elem_value(const struct jv *v)
{
	struct k8s_buf b = {0};

	k8s_buf_puts(&b, "v:");
	jv_write(&b, v);
	return k8s_buf_take(&b, NULL);
}

/* ---- the schema's view of a value ---- */

enum shape {
	SHAPE_LEAF,
	SHAPE_STRUCT,
	SHAPE_MAP,
	SHAPE_LIST_MAP,
	SHAPE_LIST_SET,
};

/* How a field's value is tracked: as one leaf, or element by element. */
static enum shape shape_of(const struct k8s_field *f, const struct k8s_value *t, const struct jv *v)
{
	if (!v || !t)
		return SHAPE_LEAF;
	if (v->type == JV_OBJECT) {
		if (f && (f->map_type == K8S_MAP_ATOMIC || f->struct_type == K8S_STRUCT_ATOMIC))
			return SHAPE_LEAF;
		if (t->kind == K8S_V_STRUCT && t->type->struct_type != K8S_STRUCT_ATOMIC)
			return v->len ? SHAPE_STRUCT : SHAPE_LEAF;
		if (t->kind == K8S_V_MAP)
			return v->len ? SHAPE_MAP : SHAPE_LEAF;
		return SHAPE_LEAF;
	}
	if (v->type == JV_ARRAY && t->kind == K8S_V_ARRAY && f) {
		bool objects = t->elem->kind == K8S_V_STRUCT;

		if (f->list_type == K8S_LIST_ATOMIC)
			return SHAPE_LEAF;
		if (objects && (f->list_type == K8S_LIST_MAP || f->patch_merge_key))
			return SHAPE_LIST_MAP;
		if (!objects && (f->list_type == K8S_LIST_SET || (f->patch & K8S_PATCH_MERGE)))
			return SHAPE_LIST_SET;
	}
	return SHAPE_LEAF;
}

int fset_add_path(struct fset *s, const char *const *elems, size_t n)
{
	struct fnode *node = &s->root;

	for (size_t i = 0; i < n && node; i++)
		node = child(s, node, elems[i]);
	if (node)
		node->member = true;
	return s->oom ? -ENOMEM : 0;
}

/* ---- building ---- */

static bool node_empty(const struct fnode *n);
static void drop_child(struct fnode *n, size_t i);

static void add_value(struct fset *s, struct fnode *n, const struct jv *v,
		      const struct k8s_field *f, const struct k8s_value *t, int depth);

const struct k8s_value api_deduced_value = {
    .kind = K8S_V_MAP, .name = "deduced", .elem = &api_deduced_value};
/* A custom resource itself: deduced, but for its metadata, an ObjectMeta as every object's */
static const struct k8s_value deduced_root = {
    .kind = K8S_V_MAP, .name = "deduced", .elem = &api_deduced_value};
static const struct k8s_value object_meta = {.kind = K8S_V_STRUCT,
					     .type = &k8s_schema_types[K8S_T_meta_v1_ObjectMeta]};

/* The field of member m of a value of t (NULL when t is no struct, or has none), and the
 * member's value. */
static const struct k8s_value *member_value(const struct k8s_value *t, const struct jv *m,
					    const struct k8s_field **f)
{
	*f = t && t->kind == K8S_V_STRUCT ? k8s_field_findn(t->type, m->key, m->klen) : NULL;
	if (*f)
		return (*f)->value;
	if (t == &deduced_root && m->klen == 8 && memcmp(m->key, "metadata", 8) == 0)
		return &object_meta;
	return t && t->kind == K8S_V_MAP ? t->elem : NULL;
}

static void add_members(struct fset *s, struct fnode *n, const struct jv *o,
			const struct k8s_value *t, int depth)
{
	/* an item of a keyed list that is no object (a body the schema did not check: a custom
	 * resource's, or a fuzzer's) has no members: only the item itself is owned */
	if (!o || o->type != JV_OBJECT)
		return;
	for (const struct jv *m = o->head; m && !s->oom; m = m->next) {
		const struct k8s_field *f;
		const struct k8s_value *ft = member_value(t, m, &f);
		char *name, buf[FIELD_NAME_MAX];
		struct fnode *c;

		if (m->type == JV_NULL || (t && t->kind == K8S_V_STRUCT && (!f || !f->json)))
			continue;
		name = elem_field(buf, m->key, m->klen);
		c = name ? child(s, n, name) : NULL;
		elem_field_done(buf, name);
		if (!c) {
			s->oom = true;
			return;
		}
		add_value(s, c, m, f, ft, depth + 1);
		/* an empty keyed list or set adds no path (structured-merge-diff's sets have no
		 * empty nodes; its fieldsV1 "{}" would read back as a leaf the manager owns) */
		if (node_empty(c)) {
			long at = find(n, c->name);

			if (at >= 0)
				drop_child(n, (size_t)at);
		}
	}
}

static void add_value(struct fset *s, struct fnode *n, const struct jv *v,
		      const struct k8s_field *f, const struct k8s_value *t, int depth)
{
	if (depth > K8S_MAX_DEPTH)
		return;
	switch (shape_of(f, t, v)) {
	case SHAPE_LEAF:
		n->member = true;
		return;
	case SHAPE_STRUCT:
		add_members(s, n, v, t, depth);
		return;
	case SHAPE_MAP:
		n->member = true;
		add_members(s, n, v, t, depth);
		return;
	case SHAPE_LIST_MAP:
		for (const struct jv *i = v->head; i && !s->oom; i = i->next) {
			char *name = elem_key(i, f->list_map_keys, f->patch_merge_key);
			struct fnode *c = name ? child(s, n, name) : NULL;

			free(name);
			if (!c) {
				s->oom = true;
				return;
			}
			c->member = true;
			if (i->type == JV_OBJECT)
				add_members(s, c, i, t->elem, depth + 1);
		}
		return;
	case SHAPE_LIST_SET:
		for (const struct jv *i = v->head; i && !s->oom; i = i->next) {
			char *name = elem_value(i);
			struct fnode *c = name ? child(s, n, name) : NULL;

			free(name);
			if (!c) {
				s->oom = true;
				return;
			}
			c->member = true;
		}
		return;
	}
}

int fset_of_object(struct fset *s, const struct jv *v, const struct k8s_type *t)
{
	struct k8s_value tv = {.kind = K8S_V_STRUCT, .type = t};

	if (v && v->type == JV_OBJECT)
		add_members(s, &s->root, v, t ? &tv : &deduced_root, 0);
	return s->oom ? -ENOMEM : 0;
}

/* ---- differences ---- */

/* The subtree rooted at a member of one side only: every path of it. */
static void add_all(struct fset *s, struct fnode *n, const struct jv *v, const struct k8s_field *f,
		    const struct k8s_value *t, int depth)
{
	add_value(s, n, v, f, t, depth);
}

static void diff_value(struct fset *s, struct fnode *n, const struct jv *a, const struct jv *b,
		       const struct k8s_field *f, const struct k8s_value *t, int depth);

static void diff_members(struct fset *s, struct fnode *n, const struct jv *a, const struct jv *b,
			 const struct k8s_value *t, int depth)
{
	for (int side = 0; side < 2 && !s->oom; side++) {
		const struct jv *x = side ? b : a, *y = side ? a : b;

		for (const struct jv *m = jv_first(x); m; m = m->next) {
			const struct jv *other = jv_getn(y, m->key, m->klen);
			const struct k8s_field *f;
			const struct k8s_value *ft = member_value(t, m, &f);
			char *name, buf[FIELD_NAME_MAX];
			struct fnode *c;

			if (side && other)
				continue; /* compared from the first side */
			if (t && t->kind == K8S_V_STRUCT && (!f || !f->json))
				continue;
			if (other && jv_equal(m, other))
				continue;
			name = elem_field(buf, m->key, m->klen);
			c = name ? child(s, n, name) : NULL;
			elem_field_done(buf, name);
			if (!c) {
				s->oom = true;
				return;
			}
			if (!other)
				add_all(s, c, m, f, ft, depth + 1);
			else
				diff_value(s, c, side ? other : m, side ? m : other, f, ft,
					   depth + 1);
		}
	}
}

static const struct jv *item_by_name(const struct jv *list, const char *name,
				     const struct k8s_field *f, bool set)
{
	for (const struct jv *i = jv_first(list); i; i = i->next) {
		char *n = set ? elem_value(i) : elem_key(i, f->list_map_keys, f->patch_merge_key);
		bool hit = n && strcmp(n, name) == 0;

		free(n);
		if (hit)
			return i;
	}
	return NULL;
}

static void diff_value(struct fset *s, struct fnode *n, const struct jv *a, const struct jv *b,
		       const struct k8s_field *f, const struct k8s_value *t, int depth)
{
	enum shape sa = shape_of(f, t, a), sb = shape_of(f, t, b);

	if (depth > K8S_MAX_DEPTH || jv_equal(a, b))
		return;
	if (sa != sb || sa == SHAPE_LEAF) {
		n->member = true;
		/* what goes away with the old shape's children is a change too */
		if (sa != SHAPE_LEAF)
			add_all(s, n, a, f, t, depth);
		if (sb != SHAPE_LEAF)
			add_all(s, n, b, f, t, depth);
		return;
	}
	if (sa == SHAPE_STRUCT || sa == SHAPE_MAP) {
		diff_members(s, n, a, b, t, depth);
		return;
	}
	for (int side = 0; side < 2; side++) {
		const struct jv *x = side ? b : a, *y = side ? a : b;

		for (const struct jv *i = x->head; i && !s->oom; i = i->next) {
			bool set = sa == SHAPE_LIST_SET;
			char *name =
			    set ? elem_value(i) : elem_key(i, f->list_map_keys, f->patch_merge_key);
			const struct jv *other = name ? item_by_name(y, name, f, set) : NULL;
			struct fnode *c;

			if (!name || (side && other) || (other && jv_equal(i, other))) {
				free(name);
				continue;
			}
			c = child(s, n, name);
			free(name);
			if (!c)
				return;
			/* structured-merge-diff's compare: an item only one side has is Added or
			 * Removed itself; an item both have that differs is not, only its leaves
			 * are Modified (so a conflict names .containers[name="x"].image alone) */
			if (!other)
				c->member = true;
			if (set)
				continue;
			if (!other)
				add_members(s, c, i, t->elem, depth + 1);
			else
				diff_members(s, c, side ? other : i, side ? i : other, t->elem,
					     depth + 1);
		}
	}
}

int fset_diff(struct fset *s, const struct jv *a, const struct jv *b, const struct k8s_type *t)
{
	struct k8s_value tv = {.kind = K8S_V_STRUCT, .type = t};

	diff_members(s, &s->root, a, b, t ? &tv : &deduced_root, 0);
	return s->oom ? -ENOMEM : 0;
}

/* ---- set algebra ---- */

static bool node_empty(const struct fnode *n)
{
	return !n->member && n->n == 0;
}

/* Remove child i of n (its memory stays in the arena). */
static void drop_child(struct fnode *n, size_t i)
{
	memmove(n->kids + i, n->kids + i + 1, (n->n - i - 1) * sizeof(*n->kids));
	n->n--;
}

/* a -= b */
static void node_remove(struct fnode *a, const struct fnode *b)
{
	if (b->member)
		a->member = false;
	for (size_t i = 0; i < a->n;) {
		struct fnode *bc = (struct fnode *)lookup(b, a->kids[i]->name);

		if (bc) {
			node_remove(a->kids[i], bc);
			if (node_empty(a->kids[i])) {
				drop_child(a, i);
				continue;
			}
		}
		i++;
	}
}

void fset_remove(struct fset *a, const struct fset *b)
{
	if (a && b)
		node_remove(&a->root, &b->root);
}

static void node_union(struct fset *s, struct fnode *a, const struct fnode *b)
{
	a->member |= b->member;
	for (size_t i = 0; i < b->n && !s->oom; i++) {
		struct fnode *c = child(s, a, b->kids[i]->name);

		if (c)
			node_union(s, c, b->kids[i]);
	}
}

int fset_union(struct fset *a, const struct fset *b)
{
	node_union(a, &a->root, &b->root);
	return a->oom ? -ENOMEM : 0;
}

static void node_intersect(struct fset *s, struct fnode *out, const struct fnode *a,
			   const struct fnode *b)
{
	out->member = a->member && b->member;
	for (size_t i = 0; i < a->n && !s->oom; i++) {
		const struct fnode *bc = lookup(b, a->kids[i]->name);
		struct fnode *c;

		if (!bc)
			continue;
		c = child(s, out, a->kids[i]->name);
		if (!c)
			return;
		node_intersect(s, c, a->kids[i], bc);
	}
	/* drop children that came out empty */
	for (size_t i = 0; i < out->n;) {
		if (node_empty(out->kids[i])) {
			drop_child(out, i);
			continue;
		}
		i++;
	}
}

int fset_intersect(struct fset *out, const struct fset *a, const struct fset *b)
{
	node_intersect(out, &out->root, &a->root, &b->root);
	return out->oom ? -ENOMEM : 0;
}

void fset_drop_top(struct fset *s, const char *field, bool keep_only)
{
	char name[256];

	snprintf(name, sizeof(name), "f:%s", field);
	for (size_t i = 0; i < s->root.n;) {
		bool match = strcmp(s->root.kids[i]->name, name) == 0;

		if (match != keep_only) {
			drop_child(&s->root, i);
			continue;
		}
		i++;
	}
	if (!keep_only)
		return;
	s->root.member = false;
}

/* ---- fieldsV1 ---- */

static void node_from(struct fset *s, struct fnode *n, const struct jv *o, int depth)
{
	if (depth > K8S_MAX_DEPTH || !o || o->type != JV_OBJECT)
		return;
	for (const struct jv *m = o->head; m && !s->oom; m = m->next) {
		struct fnode *c;

		if (m->klen == 1 && m->key[0] == '.') {
			n->member = true;
			continue;
		}
		c = child(s, n, m->key);
		if (!c)
			return;
		if (m->type == JV_OBJECT && m->len == 0)
			c->member = true; /* a leaf: {} */
		else
			node_from(s, c, m, depth + 1);
	}
}

int fset_from_fieldsv1(struct fset *s, const struct jv *f)
{
	node_from(s, &s->root, f, 0);
	return s->oom ? -ENOMEM : 0;
}

static struct jv *node_to(struct jv_doc *d, const struct fnode *n, bool top)
{
	struct jv *o = jv_new(d, JV_OBJECT);

	if (!o)
		return NULL;
	/* a member with children carries "."; a member without is just {} */
	if (n->member && n->n && !top)
		jv_set(d, o, ".", jv_new(d, JV_OBJECT));
	for (size_t i = 0; i < n->n; i++) {
		struct jv *c;

		if (node_empty(n->kids[i]))
			continue; /* no path: "{}" would read back as a leaf */
		c = node_to(d, n->kids[i], false);
		if (!c || jv_set(d, o, n->kids[i]->name, c) != 0)
			return NULL;
	}
	return o;
}

struct jv *fset_to_fieldsv1(struct jv_doc *d, const struct fset *s)
{
	return node_to(d, &s->root, true);
}

/* ---- printing paths as Kubernetes prints them ---- */

static void print_elem(struct k8s_buf *b, const char *name)
{
	struct jv_doc *d;
	struct jv *v;

	if (name[0] == 'f') {
		k8s_buf_putc(b, '.');
		k8s_buf_puts(b, name + 2);
		return;
	}
	if (name[0] == 'i') {
		k8s_buf_printf(b, "[%s]", name + 2);
		return;
	}
	d = jv_doc_new();
	v = d ? jv_parse(d, name + 2, strlen(name + 2), NULL) : NULL;
	k8s_buf_putc(b, '[');
	if (name[0] == 'v') {
		k8s_buf_putc(b, '=');
		k8s_buf_puts(b, name + 2);
	} else {
		for (const struct jv *m = v && v->type == JV_OBJECT ? v->head : NULL; m;
		     m = m->next) {
			if (m != v->head)
				k8s_buf_putc(b, ',');
			k8s_buf_printf(b, "%s=", m->key);
			jv_write(b, m);
		}
	}
	k8s_buf_putc(b, ']');
	jv_doc_free(d);
}

static void each(const struct fnode *n, struct k8s_buf *path,
		 void (*cb)(const char *path, void *ud), void *ud)
{
	for (size_t i = 0; i < n->n; i++) {
		size_t at = path->len;

		print_elem(path, n->kids[i]->name);
		if (n->kids[i]->member)
			cb(path->p ? path->p : "", ud);
		each(n->kids[i], path, cb, ud);
		path->len = at;
		if (path->p)
			path->p[at] = 0;
	}
}

void fset_each_path(const struct fset *s, void (*cb)(const char *path, void *ud), void *ud)
{
	struct k8s_buf path = {0};

	each(&s->root, &path, cb, ud);
	k8s_buf_free(&path);
}

/* ---- deleting paths from an object ---- */

static void delete_in(struct jv *v, const struct fnode *n, const struct k8s_field *f,
		      const struct k8s_value *t, int depth);

static void delete_members(struct jv *o, const struct fnode *n, const struct k8s_value *t,
			   int depth)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct fnode *c = n->kids[i];
		const char *key = c->name + 2;
		const struct k8s_field *f;
		struct jv *m;

		if (c->name[0] != 'f')
			continue;
		m = jv_get(o, key);
		if (!m)
			continue;
		if (c->member) {
			jv_del(o, key);
			continue;
		}
		f = t && t->kind == K8S_V_STRUCT ? k8s_field_find(t->type, key) : NULL;
		delete_in(m, c, f,
			  f			      ? f->value
			  : t && t->kind == K8S_V_MAP ? t->elem
						      : NULL,
			  depth + 1);
	}
}

static void delete_in(struct jv *v, const struct fnode *n, const struct k8s_field *f,
		      const struct k8s_value *t, int depth)
{
	if (depth > K8S_MAX_DEPTH)
		return;
	if (v->type == JV_OBJECT) {
		delete_members(v, n, t, depth);
		return;
	}
	if (v->type != JV_ARRAY || !f)
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct fnode *c = n->kids[i];
		bool set = c->name[0] == 'v';
		struct jv *prev = NULL;

		if (c->name[0] != 'k' && !set)
			continue;
		for (struct jv *it = v->head; it; prev = it, it = it->next) {
			char *name = set ? elem_value(it)
					 : elem_key(it, f->list_map_keys, f->patch_merge_key);
			bool hit = name && strcmp(name, c->name) == 0;

			free(name);
			if (!hit)
				continue;
			if (c->member)
				jv_unlink(v, prev, it);
			else if (!set)
				delete_members(it, c, t ? t->elem : NULL, depth + 1);
			break;
		}
	}
}

void fset_delete_from(struct jv *obj, const struct fset *s, const struct k8s_type *t)
{
	struct k8s_value tv = {.kind = K8S_V_STRUCT, .type = t};

	if (obj && obj->type == JV_OBJECT)
		delete_members(obj, &s->root, t ? &tv : NULL, 0);
}
