/* SPDX-License-Identifier: Apache-2.0 */
/*
 * patch: JSON patch (RFC 6902: add, remove, replace, move, copy, test over JSON pointers)
 * and JSON merge patch (RFC 7386) over object trees; the patch type of a Content-Type.
 * Both work on a copy: the object given is never changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_patch.h"

int api_patch_type_of(const char *ctype, enum api_patch_type *out)
{
	static const struct {
		const char *name;
		enum api_patch_type t;
	} types[] = {
	    {"application/json-patch+json", API_PATCH_JSON},
	    {"application/merge-patch+json", API_PATCH_MERGE},
	    {"application/strategic-merge-patch+json", API_PATCH_STRATEGIC},
	    {"application/apply-patch+yaml", API_PATCH_APPLY},
	};

	for (size_t i = 0; ctype && i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i].name);

		if (strncasecmp(ctype, types[i].name, n) == 0 &&
		    (ctype[n] == 0 || ctype[n] == ';' || ctype[n] == ' ')) {
			*out = types[i].t;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- merge patch ---- */

static struct jv *merge(struct jv_doc *d, struct jv *target, const struct jv *patch)
{
	if (patch->type != JV_OBJECT)
		return jv_copy(d, patch);
	if (!target || target->type != JV_OBJECT)
		target = jv_new(d, JV_OBJECT);
	if (!target)
		return NULL;
	for (const struct jv *m = patch->head; m; m = m->next) {
		struct jv *cur, *n;

		if (m->type == JV_NULL) {
			jv_deln(target, m->key, m->klen);
			continue;
		}
		cur = jv_getn(target, m->key, m->klen);
		if (cur)
			jv_deln(target, m->key, m->klen); /* re-linked below, at the end */
		n = merge(d, cur, m);
		if (!n || jv_setn(d, target, m->key, m->klen, n) != 0)
			return NULL;
	}
	return target;
}

struct jv *api_merge_patch(struct jv_doc *d, const struct jv *obj, const struct jv *patch)
{
	struct jv *t = jv_copy(d, obj);

	return t ? merge(d, t, patch) : NULL;
}

/* ---- JSON patch ---- */

struct ptr {
	char *segs[64];
	size_t n;
};

/* Split a JSON pointer ("/a/b~1c") into unescaped segments (in d). */
static int ptr_parse(struct jv_doc *d, const char *p, struct ptr *out)
{
	out->n = 0;
	if (!p)
		return -EINVAL;
	if (!*p)
		return 0;
	if (*p != '/')
		return -EINVAL;
	while (*p == '/') {
		const char *e = strchr(p + 1, '/');
		size_t len = e ? (size_t)(e - p - 1) : strlen(p + 1);
		char *s = jv_alloc(d, len + 1), *w = s;

		if (!s || out->n == 64)
			return -EINVAL;
		for (size_t i = 0; i < len; i++) {
			char c = p[1 + i];

			if (c == '~' && i + 1 < len && (p[2 + i] == '0' || p[2 + i] == '1')) {
				c = p[2 + i] == '0' ? '~' : '/';
				i++;
			}
			*w++ = c;
		}
		*w = 0;
		out->segs[out->n++] = s;
		p += 1 + len;
	}
	return 0;
}

/* An array index segment: 0 and *i, or -EINVAL. "-" gives len when allow_end. */
static int index_of(const char *seg, size_t len, bool allow_end, size_t *i)
{
	char *end;
	unsigned long v;

	if (allow_end && strcmp(seg, "-") == 0) {
		*i = len;
		return 0;
	}
	if (!seg[0] || (seg[0] == '0' && seg[1]) || seg[0] < '0' || seg[0] > '9')
		return -EINVAL;
	v = strtoul(seg, &end, 10);
	if (*end || v > len || (!allow_end && v >= len))
		return -EINVAL;
	*i = v;
	return 0;
}

static struct jv *walk(struct jv *root, const struct ptr *p, size_t upto)
{
	struct jv *v = root;

	for (size_t k = 0; k < upto && v; k++) {
		if (v->type == JV_OBJECT) {
			v = jv_get(v, p->segs[k]);
		} else if (v->type == JV_ARRAY) {
			size_t i;

			if (index_of(p->segs[k], v->len, false, &i) != 0)
				return NULL;
			v = jv_at(v, i);
		} else {
			return NULL;
		}
	}
	return v;
}

/* Remove and return the value at p (not the root); NULL if absent. */
static struct jv *take(struct jv *root, const struct ptr *p)
{
	struct jv *parent = walk(root, p, p->n - 1), *prev = NULL, *c;
	const char *last = p->segs[p->n - 1];
	size_t i;

	if (!parent)
		return NULL;
	if (parent->type == JV_OBJECT) {
		c = jv_get(parent, last);
		return c ? jv_del(parent, last) : NULL;
	}
	if (parent->type != JV_ARRAY || index_of(last, parent->len, false, &i) != 0)
		return NULL;
	for (c = parent->head; i--; c = c->next)
		prev = c;
	jv_unlink(parent, prev, c);
	return c;
}

/* Insert val at p: 0, or -ENOENT (no parent / bad index). */
static int put(struct jv_doc *d, struct jv *root, const struct ptr *p, struct jv *val, bool replace)
{
	struct jv *parent = walk(root, p, p->n - 1), *prev = NULL, *c;
	const char *last = p->segs[p->n - 1];
	size_t i;

	if (!parent)
		return -ENOENT;
	if (parent->type == JV_OBJECT) {
		if (replace && !jv_get(parent, last))
			return -ENOENT;
		return jv_set(d, parent, last, val);
	}
	if (parent->type != JV_ARRAY || index_of(last, parent->len, !replace, &i) != 0)
		return -ENOENT;
	if (replace) {
		struct jv *old = take(root, p);

		if (!old)
			return -ENOENT;
	}
	val->next = NULL;
	if (i == 0) {
		val->next = parent->head;
		parent->head = val;
		if (!parent->tail)
			parent->tail = val;
		parent->len++;
		return 0;
	}
	for (c = parent->head; --i; c = c->next)
		;
	prev = c;
	val->next = prev->next;
	prev->next = val;
	if (parent->tail == prev)
		parent->tail = val;
	parent->len++;
	return 0;
}

static bool is_prefix(const struct ptr *a, const struct ptr *b)
{
	if (a->n >= b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->segs[i], b->segs[i]) != 0)
			return false;
	return true;
}

struct jv *api_json_patch(struct jv_doc *d, const struct jv *obj, const struct jv *patch, char *msg,
			  size_t msglen)
{
	struct jv *doc = jv_copy(d, obj);
	size_t n = 0;

	if (!doc)
		return NULL;
	for (const struct jv *op = patch->head; op; op = op->next, n++) {
		const char *name = jv_path_str(op, "op"), *path = jv_path_str(op, "path");
		const char *from = jv_path_str(op, "from");
		const struct jv *value = jv_get(op, "value");
		struct ptr p, f;
		struct jv *v;

		if (op->type != JV_OBJECT || !name || !path) {
			snprintf(msg, msglen, "json patch operation %zu: missing op or path", n);
			return NULL;
		}
		if (ptr_parse(d, path, &p) != 0) {
			snprintf(msg, msglen, "json patch operation %zu: invalid path %s", n, path);
			return NULL;
		}
		if (strcmp(name, "test") == 0) {
			if (!value || !jv_equal(walk(doc, &p, p.n), value)) {
				snprintf(msg, msglen, "testing value %s failed: test failed", path);
				return NULL;
			}
			continue;
		}
		if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
			if (!value) {
				snprintf(msg, msglen, "json patch operation %zu: missing value", n);
				return NULL;
			}
			v = jv_copy(d, value);
			if (!v)
				return NULL;
			if (p.n == 0) {
				doc = v;
				continue;
			}
			if (put(d, doc, &p, v, strcmp(name, "replace") == 0) != 0) {
				snprintf(msg, msglen,
					 "%s operation does not apply: doc is missing path: "
					 "\"%s\": missing value",
					 name, path);
				return NULL;
			}
			continue;
		}
		if (strcmp(name, "remove") == 0) {
			if (p.n == 0 || !take(doc, &p)) {
				snprintf(msg, msglen,
					 "remove operation does not apply: doc is missing "
					 "path: "
					 "\"%s\": missing value",
					 path);
				return NULL;
			}
			continue;
		}
		if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
			bool move = strcmp(name, "move") == 0;

			if (!from || ptr_parse(d, from, &f) != 0 || f.n == 0 ||
			    (move && is_prefix(&f, &p))) {
				snprintf(msg, msglen, "json patch operation %zu: invalid from", n);
				return NULL;
			}
			v = move ? take(doc, &f) : jv_copy(d, walk(doc, &f, f.n));
			if (!v || p.n == 0 || put(d, doc, &p, v, false) != 0) {
				snprintf(msg, msglen,
					 "%s operation does not apply: doc is missing from "
					 "path: \"%s\"",
					 name, from);
				return NULL;
			}
			continue;
		}
		snprintf(msg, msglen, "Unexpected kind: %s", name);
		return NULL;
	}
	return doc;
}
