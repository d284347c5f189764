/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_json: canonical JSON of a libfyaml tree, as Kubernetes would see it after converting
 * YAML to JSON: scalars typed by their resolution, strings and numbers written as Go's
 * encoding/json writes them. Keys keep document order, or (K8S_JSON_SCHEMA_ORDER) the order
 * Kubernetes re-serializes a decoded object in. Also the growable buffer the library writes
 * into. Returns malloc'd strings the caller frees.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"

size_t k8s_utf8_decode(const unsigned char *s, size_t len, unsigned *cp)
{
	unsigned c = s[0], min;
	size_t n;

	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (n > len)
		return 0;
	*cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

void k8s_buf_json_string(struct k8s_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, start = 0;

	/* bytes that need no escaping: printable ASCII but " \\ < > & */
	static const unsigned char plain[256] = {[0x20 ... 0x21] = 1, [0x23 ... 0x25] = 1,
						 [0x27 ... 0x3b] = 1, [0x3d] = 1,
						 [0x3f ... 0x5b] = 1, [0x5d ... 0x7f] = 1};

	k8s_buf_reserve(b, len + 2);
	k8s_buf_putc(b, '"');
	while (i < len) {
		unsigned c = s[i], cp = 0;
		size_t n = 0;
		char esc[8];

		if (plain[c]) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			n = k8s_utf8_decode(s + i, len - i, &cp);
			if (n && cp != 0x2028 && cp != 0x2029) {
				i += n;
				continue;
			}
		}
		k8s_buf_put(b, str + start, i - start);
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			k8s_buf_put(b, esc, 2);
			i++;
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
			esc[0] = '\\';
			esc[1] = "btn?fr"[c - '\b']; /* \b \t \n \f \r (0x08-0x0d, no \v) */
			k8s_buf_put(b, esc, 2);
			i++;
		} else if (c < 0x80) {
			/* control characters, and <, >, & (Go escapes them for HTML safety) */
			k8s_buf_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
			i++;
		} else if (n) {
			k8s_buf_printf(b, "\\u%04x", cp); /* U+2028, U+2029 */
			i += n;
		} else {
			k8s_buf_put(b, "\\ufffd", 6); /* invalid UTF-8, one byte at a time */
			i++;
		}
		start = i;
	}
	k8s_buf_put(b, str + start, i - start);
	k8s_buf_putc(b, '"');
}

int k8s_buf_json_scalar(struct k8s_buf *b, const struct k8s_scalar *s)
{
	char tmp[64];

	switch (s->type) {
	case K8S_SCALAR_NULL:
		k8s_buf_put(b, "null", 4);
		return 0;
	case K8S_SCALAR_BOOL:
		k8s_buf_put(b, s->b ? "true" : "false", s->b ? 4 : 5);
		return 0;
	case K8S_SCALAR_INT:
		k8s_buf_printf(b, "%" PRId64, s->i);
		return 0;
	case K8S_SCALAR_UINT:
		k8s_buf_printf(b, "%" PRIu64, s->u);
		return 0;
	case K8S_SCALAR_FLOAT:
		if (isnan(s->f) || isinf(s->f))
			return -EINVAL; /* json: unsupported value: NaN */
		k8s_buf_put(b, tmp, k8s_fmt_float_json(s->f, tmp, sizeof(tmp)));
		return 0;
	case K8S_SCALAR_STRING:
		k8s_buf_json_string(b, s->str, s->len);
		return 0;
	}
	return -EINVAL;
}

/* ---- emitter ---- */

struct jctx {
	struct k8s_buf b;
	bool schema;
	int err;
};

static void emit(struct jctx *c, struct fy_node *n, const struct k8s_value *v, int depth);

static void emit_pair(struct jctx *c, bool *first, struct k8s_mpair *p, const struct k8s_value *v,
		      int depth)
{
	if (!*first)
		k8s_buf_putc(&c->b, ',');
	*first = false;
	k8s_buf_json_string(&c->b, p->key, p->klen);
	k8s_buf_putc(&c->b, ':');
	emit(c, p->value, v, depth + 1);
}

/* Struct fields in the schema's order, inline structs flattened where they are embedded. */
static void emit_struct_fields(struct jctx *c, struct k8s_mindex *ix, const struct k8s_type *t,
			       bool *first, bool *done, int depth, int inl)
{
	for (size_t i = 0; i < t->nfields && !c->err; i++) {
		const struct k8s_field *f = &t->fields[i];
		const struct k8s_mpair *p;
		size_t at;

		if ((f->flags & K8S_F_INLINE) && f->value->kind == K8S_V_STRUCT && inl < 8) {
			emit_struct_fields(c, ix, f->value->type, first, done, depth, inl + 1);
			continue;
		}
		if (!f->json || !f->json[0])
			continue;
		p = k8s_mindex_find(ix, f->json, strlen(f->json));
		if (!p)
			continue;
		at = (size_t)(p - ix->pairs);
		if (done[at])
			continue; /* a name an outer field already took */
		done[at] = true;
		emit_pair(c, first, &ix->pairs[at], f->value, depth);
	}
}

static void emit_mapping(struct jctx *c, struct fy_node *n, const struct k8s_value *v, int depth)
{
	struct k8s_mindex ix;
	struct fy_node *bad;
	bool first = true;
	bool small_done[16] = {false};
	bool *done = small_done;

	if (k8s_mindex_build(n, &ix, &bad) != 0) {
		c->err = -EINVAL;
		return;
	}
	k8s_buf_putc(&c->b, '{');
	if (!c->schema) {
		for (size_t i = 0; i < ix.n; i++)
			if (!ix.pairs[i].dup)
				emit_pair(c, &first, &ix.pairs[ix.pairs[i].last], NULL, depth);
	} else if (v && v->kind == K8S_V_STRUCT) {
		if (ix.n > 16)
			done = calloc(ix.n, sizeof(*done));
		if (!done)
			c->err = -ENOMEM;
		else
			emit_struct_fields(c, &ix, v->type, &first, done, depth, 0);
		if (done != small_done)
			free(done);
	} else {
		/* maps and schema-less objects: sorted keys, as Go marshals a map */
		const struct k8s_value *ev = v && v->kind == K8S_V_MAP ? v->elem : NULL;

		for (size_t i = 0; i < ix.n; i++) {
			struct k8s_mpair *p = &ix.pairs[ix.sorted[i]];

			if (!p->dup)
				emit_pair(c, &first, &ix.pairs[p->last], ev, depth);
		}
	}
	k8s_buf_putc(&c->b, '}');
	k8s_mindex_free(&ix);
}

static void emit(struct jctx *c, struct fy_node *n, const struct k8s_value *v, int depth)
{
	struct k8s_scalar s;

	if (c->err)
		return;
	n = k8s_deref(n);
	if (!n || depth > K8S_MAX_DEPTH) {
		c->err = -EINVAL;
		return;
	}
	if (v && k8s_vkind_is_union(v->kind)) /* the alternative of the node's shape */
		v = k8s_value_union_alt(v, fy_node_is_mapping(n)    ? K8S_SHAPE_OBJECT
					   : fy_node_is_sequence(n) ? K8S_SHAPE_ARRAY
								    : K8S_SHAPE_OTHER);
	if (fy_node_is_scalar(n)) {
		if (k8s_scalar_resolve(n, &s) != 0 || k8s_buf_json_scalar(&c->b, &s) != 0)
			c->err = -EINVAL;
	} else if (fy_node_is_sequence(n)) {
		const struct k8s_value *ev = v && v->kind == K8S_V_ARRAY ? v->elem : NULL;
		struct fy_node *item;
		void *it = NULL;
		bool first = true;

		k8s_buf_putc(&c->b, '[');
		while ((item = fy_node_sequence_iterate(n, &it)) && !c->err) {
			if (!first)
				k8s_buf_putc(&c->b, ',');
			first = false;
			emit(c, item, ev, depth + 1);
		}
		k8s_buf_putc(&c->b, ']');
	} else {
		emit_mapping(c, n, v, depth);
	}
}

char *k8s_node_to_json_ex(struct fy_node *n, const struct k8s_type *t, unsigned flags)
{
	struct jctx c = {.schema = (flags & K8S_JSON_SCHEMA_ORDER) != 0};
	struct k8s_value tv = {.kind = t ? t->kind : K8S_V_ANY, .type = t};

	if (!n) {
		errno = EINVAL;
		return NULL;
	}
	emit(&c, n, t ? &tv : NULL, 0);
	if (c.b.oom && !c.err)
		c.err = -ENOMEM;
	if (c.err) {
		free(c.b.p);
		errno = -c.err;
		return NULL;
	}
	return c.b.p;
}

char *k8s_node_to_json(struct fy_node *n)
{
	return k8s_node_to_json_ex(n, NULL, 0);
}
