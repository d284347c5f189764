/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smp: strategic merge patch, as k8s.io/apimachinery/pkg/util/strategicpatch applies it,
 * driven by the schema's patch strategies and merge keys: maps merge key by key (null
 * deletes); lists with the merge strategy merge their items by merge key (objects) or by
 * value (primitives), others are replaced; directives: $patch: replace|delete|merge (on a
 * map or a list item), $setElementOrder/<list>, $deleteFromPrimitiveList/<list>, $retainKeys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_patch.h"

struct sctx {
	struct jv_doc *d;
	char *msg;
	size_t msglen;
	bool failed;
};

static const char SET_ORDER[] = "$setElementOrder/";
static const char DEL_PRIM[] = "$deleteFromPrimitiveList/";

static void fail(struct sctx *c, const char *what, const char *key)
{
	if (c->failed)
		return;
	c->failed = true;
	snprintf(c->msg, c->msglen, "%s%s", what, key ? key : "");
}

static bool has_prefix(const struct jv *m, const char *p)
{
	size_t n = strlen(p);

	return m->klen > n && memcmp(m->key, p, n) == 0;
}

static struct jv *merge_value(struct sctx *c, struct jv *orig, const struct jv *patch,
			      const struct k8s_field *f, const struct k8s_value *t, int depth);

/* The value type of a field or a map element. */
static const struct k8s_value *elem_of(const struct k8s_value *t)
{
	return t && (t->kind == K8S_V_ARRAY || t->kind == K8S_V_MAP) ? t->elem : NULL;
}

static const struct k8s_field *field_of(const struct k8s_value *t, const char *key, size_t klen)
{
	return t && t->kind == K8S_V_STRUCT ? k8s_field_findn(t->type, key, klen) : NULL;
}

/* ---- lists ---- */

static struct jv *find_by_key(const struct jv *list, const char *mk, const struct jv *keyval)
{
	for (struct jv *i = jv_first(list); i; i = i->next)
		if (i->type == JV_OBJECT && jv_equal(jv_get(i, mk), keyval))
			return i;
	return NULL;
}

static struct jv *find_value(const struct jv *list, const struct jv *v)
{
	for (struct jv *i = jv_first(list); i; i = i->next)
		if (jv_equal(i, v))
			return i;
	return NULL;
}

static void remove_item(struct jv *list, struct jv *item)
{
	struct jv *prev = NULL;

	for (struct jv *i = list->head; i; prev = i, i = i->next)
		if (i == item) {
			jv_unlink(list, prev, i);
			return;
		}
}

/* Reorder list by order (values for primitives, merge keys' values for objects): the items
 * the order names first, in its order, then the rest in their order. */
static void set_order(struct jv *list, const struct jv *order, const char *mk)
{
	struct jv *items[1024];
	size_t n = 0, k = 0;
	bool used[1024] = {false};

	for (struct jv *i = list->head; i && n < 1024; i = i->next)
		items[n++] = i;
	if (n == 1024)
		return;
	jv_clear(list);
	for (const struct jv *o = order->head; o; o = o->next) {
		for (size_t i = 0; i < n; i++) {
			const struct jv *key = mk ? jv_get(items[i], mk) : items[i];
			const struct jv *want = mk ? jv_get(o, mk) : o;

			if (!used[i] && key && want && jv_equal(key, want)) {
				used[i] = true;
				jv_push(list, items[i]);
				k++;
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!used[i])
			jv_push(list, items[i]);
	(void)k;
}

static struct jv *merge_list(struct sctx *c, struct jv *orig, const struct jv *patch,
			     const struct k8s_field *f, const struct k8s_value *t, int depth)
{
	const char *mk = f ? f->patch_merge_key : NULL;
	const struct k8s_value *et = elem_of(t);
	struct jv *out;

	if (!f || !(f->patch & K8S_PATCH_MERGE) || (orig && orig->type != JV_ARRAY))
		return merge_value(c, NULL, patch, NULL, t, depth);
	/* a {"$patch": "replace"} item replaces the whole list with the other items */
	for (const struct jv *p = patch->head; p; p = p->next)
		if (p->type == JV_OBJECT && jv_is_str(jv_get(p, "$patch"), "replace")) {
			out = jv_new(c->d, JV_ARRAY);
			for (const struct jv *q = patch->head; q && out; q = q->next) {
				struct jv *n =
				    q != p ? merge_value(c, NULL, q, NULL, et, depth + 1) : NULL;

				/* an item that merges to nothing ({"$patch": "delete"}) drops */
				if (n)
					jv_push(out, n);
			}
			return out;
		}
	out = orig ? jv_copy(c->d, orig) : jv_new(c->d, JV_ARRAY);
	if (!out)
		return NULL;
	for (const struct jv *p = patch->head; p && !c->failed; p = p->next) {
		if (p->type != JV_OBJECT || !mk) {
			/* primitives merge as a set */
			if (!find_value(out, p))
				jv_push(out, jv_copy(c->d, p));
			continue;
		}
		const struct jv *dir = jv_get(p, "$patch");
		const struct jv *kv = jv_get(p, mk);
		struct jv *match = kv ? find_by_key(out, mk, kv) : NULL;

		if (dir && jv_is_str(dir, "delete")) {
			if (match)
				remove_item(out, match);
			continue;
		}
		if (dir && !jv_is_str(dir, "merge")) {
			fail(c, "Unknown patch directive in list: ",
			     dir->type == JV_STRING ? dir->s : "?");
			return NULL;
		}
		if (!kv) {
			fail(c, "map: missing the merge key ", mk);
			return NULL;
		}
		if (match) {
			struct jv *merged = merge_value(c, match, p, NULL, et, depth + 1);
			struct jv *prev = NULL;

			if (!merged)
				return NULL;
			/* put the merged item where the old one was */
			for (struct jv *i = out->head; i; prev = i, i = i->next)
				if (i == match)
					break;
			merged->next = match->next;
			if (prev)
				prev->next = merged;
			else
				out->head = merged;
			if (out->tail == match)
				out->tail = merged;
		} else {
			struct jv *n = merge_value(c, NULL, p, NULL, et, depth + 1);

			if (!n)
				return NULL;
			jv_push(out, n);
		}
	}
	return out;
}

/* ---- maps and structs ---- */

static void strip_directives(struct jv *o)
{
	struct jv *m = o->head, *next;

	for (; m; m = next) {
		next = m->next;
		if (m->klen && m->key[0] == '$')
			jv_deln(o, m->key, m->klen);
	}
}

static struct jv *merge_map(struct sctx *c, struct jv *orig, const struct jv *patch,
			    const struct k8s_value *t, int depth)
{
	const struct jv *dir = jv_get(patch, "$patch"), *retain = jv_get(patch, "$retainKeys");
	struct jv *out;

	if (dir) {
		if (jv_is_str(dir, "replace")) {
			out = jv_copy(c->d, patch);
			if (out)
				strip_directives(out);
			return out;
		}
		if (jv_is_str(dir, "delete"))
			return NULL; /* the caller removes the key */
		if (!jv_is_str(dir, "merge")) {
			fail(c, "Unknown patch directive in map: ",
			     dir->type == JV_STRING ? dir->s : "?");
			return NULL;
		}
	}
	out = orig && orig->type == JV_OBJECT ? jv_copy(c->d, orig) : jv_new(c->d, JV_OBJECT);
	if (!out)
		return NULL;
	for (const struct jv *p = patch->head; p && !c->failed; p = p->next) {
		const struct k8s_field *f;
		struct jv *cur, *n;

		if (p->klen && p->key[0] == '$') {
			if (strcmp(p->key, "$patch") == 0 || strcmp(p->key, "$retainKeys") == 0 ||
			    has_prefix(p, SET_ORDER) || has_prefix(p, DEL_PRIM))
				continue; /* handled around the merge */
			fail(c, "Unknown patch directive: ", p->key);
			return NULL;
		}
		cur = jv_getn(out, p->key, p->klen);
		if (p->type == JV_NULL) {
			jv_deln(out, p->key, p->klen);
			continue;
		}
		f = field_of(t, p->key, p->klen);
		if (p->type == JV_OBJECT && jv_is_str(jv_get(p, "$patch"), "delete")) {
			jv_deln(out, p->key, p->klen);
			continue;
		}
		if (p->type == JV_ARRAY && (!cur || cur->type == JV_ARRAY))
			n = merge_list(c, cur, p, f, f ? f->value : elem_of(t), depth + 1);
		else
			n = merge_value(c, cur, p, f, f ? f->value : elem_of(t), depth + 1);
		if (c->failed)
			return NULL;
		if (n)
			jv_setn(c->d, out, p->key, p->klen, n);
	}
	/* directives that act on the merged lists */
	for (const struct jv *p = patch->head; p && !c->failed; p = p->next) {
		const char *field;
		const struct k8s_field *f;
		struct jv *list;

		if (has_prefix(p, DEL_PRIM)) {
			field = p->key + strlen(DEL_PRIM);
			list = jv_get(out, field);
			for (const struct jv *v = jv_first(p); list && v; v = v->next) {
				struct jv *hit;

				while ((hit = find_value(list, v)))
					remove_item(list, hit);
			}
		} else if (has_prefix(p, SET_ORDER) && p->type == JV_ARRAY) {
			field = p->key + strlen(SET_ORDER);
			list = jv_get(out, field);
			f = field_of(t, field, strlen(field));
			if (list && list->type == JV_ARRAY)
				set_order(list, p, f ? f->patch_merge_key : NULL);
		}
	}
	if (retain && retain->type == JV_ARRAY) {
		struct jv *m = out->head, *next;

		for (; m; m = next) {
			next = m->next;
			if (!find_value(
				retain,
				&(struct jv){.type = JV_STRING, .s = m->key, .len = m->klen}))
				jv_deln(out, m->key, m->klen);
		}
	}
	return out;
}

static struct jv *merge_value(struct sctx *c, struct jv *orig, const struct jv *patch,
			      const struct k8s_field *f, const struct k8s_value *t, int depth)
{
	if (depth > K8S_MAX_DEPTH) {
		fail(c, "patch nested too deep", NULL);
		return NULL;
	}
	if (patch->type == JV_OBJECT) {
		/* a map that is atomic or of a type without structure is replaced... unless the
		 * original is a map too: strategic merge merges every map */
		return merge_map(c, orig, patch,
				 t && (t->kind == K8S_V_STRUCT || t->kind == K8S_V_MAP) ? t : NULL,
				 depth);
	}
	if (patch->type == JV_ARRAY) {
		struct jv *out = jv_new(c->d, JV_ARRAY);

		if (f && (f->patch & K8S_PATCH_MERGE))
			return merge_list(c, orig, patch, f, t, depth);
		/* a replaced list: its items may still carry directives to drop */
		for (const struct jv *i = patch->head; i && out; i = i->next) {
			struct jv *n = i->type == JV_OBJECT
					   ? merge_map(c, NULL, i, elem_of(t), depth + 1)
					   : jv_copy(c->d, i);

			if (n)
				jv_push(out, n);
		}
		return out;
	}
	return jv_copy(c->d, patch);
}

struct jv *api_strategic_patch(struct jv_doc *d, const struct jv *obj, const struct jv *patch,
			       const struct k8s_type *type, char *msg, size_t msglen)
{
	struct sctx c = {.d = d, .msg = msg, .msglen = msglen};
	struct k8s_value tv = {.kind = type ? K8S_V_STRUCT : K8S_V_ANY, .type = type};
	struct jv *out;

	if (patch->type != JV_OBJECT) {
		snprintf(msg, msglen, "a strategic merge patch must be a JSON object");
		return NULL;
	}
	out = merge_map(&c, (struct jv *)obj, patch, type ? &tv : NULL, 0);
	if (c.failed)
		return NULL;
	if (!out) {
		snprintf(msg, msglen, "the patch deletes the whole object");
		return NULL;
	}
	return out;
}
