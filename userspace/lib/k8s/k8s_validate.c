/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_validate: a libfyaml tree checked against a schema type the way Kubernetes decodes a
 * request: YAML scalars resolved first (k8s_scalar.c), then a strict JSON decode into the
 * typed struct. Type errors are always errors; unknown and duplicate fields are errors, warnings
 * or nothing by the field validation level, at every depth; Strict also checks enum values and
 * +required fields. Causes carry Kubernetes' field paths ("spec.ports[0].port"). Owns nothing
 * beyond one call.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"

#define vctx k8s_vctx

static void v_value(struct vctx *c, struct fy_node *n, const struct k8s_value *v, int depth);

/* What a cause says of a libfyaml node: its position, shape and text. */
static struct k8s_vnode vnode_of(struct fy_node *n)
{
	struct k8s_vnode vn = {.shape = 's'};

	k8s_node_pos(n, &vn.line, &vn.column);
	if (n && fy_node_is_mapping(n))
		vn.shape = 'm';
	else if (n && fy_node_is_sequence(n))
		vn.shape = 'a';
	else if (n)
		vn.raw = fy_node_get_scalar0(n);
	return vn;
}

static void vcause_v(struct vctx *c, const struct k8s_vnode *n, const char *reason, const char *fmt,
		     va_list ap)
{
	struct k8s_buf b = {0};
	va_list aq;
	int n2;

	c->ncauses++;
	va_copy(aq, ap);
	n2 = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n2 < 0)
		return;
	b.p = malloc((size_t)n2 + 1);
	if (!b.p) {
		c->err = -ENOMEM;
		return;
	}
	vsnprintf(b.p, (size_t)n2 + 1, fmt, ap);
	if (c->path.oom || k8s_errors_add(c->errs, k8s_path_str(&c->path), reason, n ? n->line : 0,
					  n ? n->column : 0, "%s", b.p) != 0)
		c->err = -ENOMEM;
	free(b.p);
}

void k8s_vcause(struct vctx *c, const struct k8s_vnode *n, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcause_v(c, n, reason, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void cause(struct vctx *c, struct fy_node *n,
							const char *reason, const char *fmt, ...)
{
	struct k8s_vnode vn = vnode_of(n);
	va_list ap;

	va_start(ap, fmt);
	vcause_v(c, &vn, reason, fmt, ap);
	va_end(ap);
}

/* Unknown and duplicate fields: by the field validation level. */
void k8s_vstrictness(struct vctx *c, const struct k8s_vnode *n, const char *reason,
		     const char *what)
{
	if (c->fv == K8S_FV_STRICT)
		k8s_vcause(c, n, reason, "%s field \"%s\"", what, k8s_path_str(&c->path));
	else if (c->fv == K8S_FV_WARN &&
		 k8s_errors_warn(c->errs, "%s field \"%s\"", what, k8s_path_str(&c->path)) != 0)
		c->err = -ENOMEM;
}

static void strictness(struct vctx *c, struct fy_node *n, const char *reason, const char *what)
{
	struct k8s_vnode vn = vnode_of(n);

	k8s_vstrictness(c, &vn, reason, what);
}

/* The value as a message shows it: 80, true, "text" (cut at 64 bytes), "object", "array". */
static const char *render(const struct k8s_vnode *n, const struct k8s_scalar *s, char *buf,
			  size_t size)
{
	struct k8s_buf b = {0};

	if (n->shape != 's')
		return n->shape == 'm' ? "\"object\"" : "\"array\"";
	if (s->type == K8S_SCALAR_FLOAT && isnan(s->f))
		return ".nan";
	if (s->type == K8S_SCALAR_FLOAT && isinf(s->f))
		return s->f < 0 ? "-.inf" : ".inf";
	if (s->type == K8S_SCALAR_FLOAT && s->json_float) {
		/* a JSON number as written (Go's decoder quotes it so: "number 80.0") */
		snprintf(buf, size, "%.40s", n->raw ? n->raw : "?");
		return buf;
	}
	if (s->type == K8S_SCALAR_STRING && s->len > 64) {
		struct k8s_scalar cut = *s;

		cut.len = 64;
		k8s_buf_json_scalar(&b, &cut);
		if (b.len)
			b.p[b.len - 1] = 0; /* drop the closing quote */
		snprintf(buf, size, "%s...\"", b.p ? b.p : "\"");
	} else {
		k8s_buf_json_scalar(&b, s);
		snprintf(buf, size, "%s", b.p ? b.p : "?");
	}
	free(b.p);
	return buf;
}

void k8s_vtype_invalid(struct vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		       const struct k8s_value *v)
{
	char tmp[96];

	k8s_vcause(c, n, K8S_REASON_TYPE_INVALID, "Invalid value: %s: must be of type %s",
		   render(n, s, tmp, sizeof(tmp)), k8s_vkind_name(v->kind));
}

static void type_invalid(struct vctx *c, struct fy_node *n, const struct k8s_scalar *s,
			 const struct k8s_value *v)
{
	struct k8s_vnode vn = vnode_of(n);

	k8s_vtype_invalid(c, &vn, s, v);
}

void k8s_vinvalid(struct vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		  const char *detail)
{
	char tmp[96];

	k8s_vcause(c, n, K8S_REASON_INVALID, "Invalid value: %s: %s",
		   render(n, s, tmp, sizeof(tmp)), detail);
}

static void invalid(struct vctx *c, struct fy_node *n, const struct k8s_scalar *s,
		    const char *detail)
{
	struct k8s_vnode vn = vnode_of(n);

	k8s_vinvalid(c, &vn, s, detail);
}

/* An integer as Go's JSON decoder sees it: 1 if *out is set, 0 if not an integer, -ERANGE
 * beyond int64. A YAML float that Go writes back without fraction or exponent (1.0, 1e3)
 * is an integer; a JSON 1.0 is not. */
static int integer_of(const struct k8s_scalar *s, int64_t *out)
{
	if (s->type == K8S_SCALAR_INT) {
		*out = s->i;
		return 1;
	}
	if (s->type == K8S_SCALAR_UINT)
		return -ERANGE;
	if (s->type == K8S_SCALAR_FLOAT && !s->json_float && isfinite(s->f) &&
	    s->f == trunc(s->f) && fabs(s->f) < 1e21) {
		if (s->f < -9223372036854775808.0 || s->f >= 9223372036854775808.0)
			return -ERANGE;
		*out = (int64_t)s->f;
		return 1;
	}
	return 0;
}

static void v_int(struct vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		  const struct k8s_value *v)
{
	int64_t i = 0;
	int r = integer_of(s, &i);

	if (r == 0 || (s->type == K8S_SCALAR_FLOAT && s->json_float)) {
		k8s_vtype_invalid(c, n, s, v);
		return;
	}
	if (r < 0 || (v->kind != K8S_V_INT64 && (i < INT32_MIN || i > INT32_MAX)))
		k8s_vinvalid(c, n, s,
			     v->kind == K8S_V_INT64 ? "out of range for int64"
						    : "out of range for int32");
}

static void v_enum(struct vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		   const struct k8s_enum *e)
{
	struct k8s_buf b = {0};

	/* "" is "unset" (defaulted later). Kubernetes accepts unknown values of some enums, so
	 * this is a Strict-only check; the API server may relax it per kind (K8S_CHECK_NO_ENUMS). */
	if (!e || e->open || s->len == 0 || c->fv != K8S_FV_STRICT ||
	    (c->checks & K8S_CHECK_NO_ENUMS) || k8s_enum_has(e, s->str, s->len))
		return;
	for (size_t i = 0; i < e->nvalues; i++) {
		if (i)
			k8s_buf_put(&b, ", ", 2);
		k8s_buf_json_string(&b, e->values[i], strlen(e->values[i]));
	}
	k8s_vcause(c, n, K8S_REASON_NOT_SUPPORTED,
		   "Unsupported value: \"%.*s\": supported values: %s",
		   (int)(s->len > 64 ? 64 : s->len), s->str, b.p ? b.p : "");
	free(b.p);
}

void k8s_vscalar(struct vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		 const struct k8s_value *v)
{
	bool str = s->type == K8S_SCALAR_STRING;
	bool num =
	    s->type == K8S_SCALAR_INT || s->type == K8S_SCALAR_UINT || s->type == K8S_SCALAR_FLOAT;

	switch (v->kind) {
	case K8S_V_STRING:
		if (!str)
			k8s_vtype_invalid(c, n, s, v);
		break;
	case K8S_V_ENUM:
		if (!str)
			k8s_vtype_invalid(c, n, s, v);
		else
			v_enum(c, n, s, v->enm);
		break;
	case K8S_V_INT32:
	case K8S_V_INT64:
		v_int(c, n, s, v);
		break;
	case K8S_V_BOOL:
		if (s->type != K8S_SCALAR_BOOL)
			k8s_vtype_invalid(c, n, s, v);
		break;
	case K8S_V_FLOAT64:
		if (!num)
			k8s_vtype_invalid(c, n, s, v);
		break;
	case K8S_V_BYTES:
		if (!str)
			k8s_vtype_invalid(c, n, s, v);
		else if (!k8s_base64_valid(s->str, s->len))
			k8s_vinvalid(c, n, s, "must be base64 (standard encoding, padded)");
		break;
	case K8S_V_QUANTITY:
		/* a number is taken as the quantity its JSON text spells */
		if (!str && !num)
			k8s_vtype_invalid(c, n, s, v);
		else if (str && !k8s_quantity_valid(s->str, s->len))
			k8s_vinvalid(c, n, s,
				     "quantities must match the regular expression "
				     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
		break;
	case K8S_V_INT_OR_STRING:
		if (!str && !num)
			k8s_vtype_invalid(c, n, s, v);
		else if (num)
			v_int(c, n, s, &(struct k8s_value){.kind = K8S_V_INT32});
		break;
	case K8S_V_TIME:
	case K8S_V_MICROTIME:
		if (!str)
			k8s_vtype_invalid(c, n, s, v);
		else if (!k8s_rfc3339_valid(s->str, s->len, v->kind == K8S_V_MICROTIME))
			k8s_vinvalid(
			    c, n, s,
			    v->kind == K8S_V_TIME
				? "must be an RFC 3339 date-time (2006-01-02T15:04:05Z07:00)"
				: "must be an RFC 3339 date-time with microseconds "
				  "(2006-01-02T15:04:05.000000Z07:00)");
		break;
	case K8S_V_DURATION:
		if (!str)
			k8s_vtype_invalid(c, n, s, v);
		else if (!k8s_duration_valid(s->str, s->len))
			k8s_vinvalid(c, n, s, "must be a duration (e.g. 300ms, 1.5h, 2h45m)");
		break;
	case K8S_V_STRUCT:
	case K8S_V_ARRAY:
	case K8S_V_MAP:
		k8s_vtype_invalid(c, n, s, v);
		break;
	case K8S_V_SCHEMA_OR_ARRAY:
	case K8S_V_SCHEMA_OR_BOOL:
	case K8S_V_SCHEMA_OR_STRINGS: {
		const struct k8s_value *alt = k8s_value_union_alt(
		    v, s->type == K8S_SCALAR_BOOL ? K8S_SHAPE_BOOL : K8S_SHAPE_OTHER);

		if (alt)
			k8s_vscalar(c, n, s, alt);
		else
			k8s_vunion_other(c, n, v);
		break;
	}
	case K8S_V_RAW_EXTENSION:
	case K8S_V_FIELDS_V1:
	case K8S_V_JSON:
	case K8S_V_ANY:
		break;
	}
}

bool k8s_vunion_other(struct vctx *c, const struct k8s_vnode *n, const struct k8s_value *v)
{
	/* apiextensions/v1 marshal.go: JSONSchemaPropsOrBool.UnmarshalJSON returns this error;
	 * the OrArray and OrStringArray ones leave the value empty */
	if (v->kind == K8S_V_SCHEMA_OR_BOOL) {
		k8s_vcause(c, n, K8S_REASON_TYPE_INVALID, "boolean or JSON schema expected");
		return false;
	}
	return true;
}

/* Index a mapping; a key with no JSON form is a cause. */
static bool index_map(struct vctx *c, struct fy_node *n, struct k8s_mindex *ix)
{
	struct fy_node *bad = NULL;
	int err = k8s_mindex_build(n, ix, &bad);
	const char *text;

	if (err == -ENOMEM)
		c->err = err;
	if (err != -EINVAL)
		return err == 0;
	text = fy_node_is_scalar(bad) ? fy_node_get_scalar0(bad) : NULL;
	cause(c, bad, K8S_REASON_INVALID,
	      "Invalid value: %s%s%s: unsupported map key (a JSON key is a string, boolean or "
	      "number)",
	      text ? "\"" : "",
	      text			? text
	      : fy_node_is_mapping(bad) ? "\"object\""
					: "\"array\"",
	      text ? "\"" : "");
	return false;
}

/* A map (keys in paths as "[key]"), or with elem NULL a schema-less object (keys as fields,
 * ".key"): keys, duplicates, values. */
static void v_map(struct vctx *c, struct fy_node *n, const struct k8s_value *elem, int depth)
{
	struct k8s_mindex ix;

	if (!index_map(c, n, &ix))
		return;
	for (size_t i = 0; i < ix.n && !c->err; i++) {
		struct k8s_mpair *p = &ix.pairs[i];
		size_t at = elem ? k8s_path_key(&c->path, p->key, p->klen)
				 : k8s_path_field(&c->path, p->key, p->klen);

		if (p->dup)
			strictness(c, p->knode, K8S_REASON_DUPLICATE, "duplicate");
		v_value(c, p->value, elem, depth + 1);
		k8s_path_pop(&c->path, at);
	}
	k8s_mindex_free(&ix);
}

/* +required fields of t (and of its inline structs) missing from the object. */
static void v_required(struct vctx *c, struct fy_node *n, const struct k8s_mindex *ix,
		       const struct k8s_type *t, int inl)
{
	for (size_t i = 0; i < t->nfields; i++) {
		const struct k8s_field *f = &t->fields[i];
		size_t at;

		if ((f->flags & K8S_F_INLINE) && f->value->kind == K8S_V_STRUCT && inl < 8)
			v_required(c, n, ix, f->value->type, inl + 1);
		if (!(f->flags & K8S_F_REQUIRED) || !f->json || !f->json[0] ||
		    k8s_mindex_find(ix, f->json, strlen(f->json)))
			continue;
		at = k8s_path_field(&c->path, f->json, strlen(f->json));
		cause(c, n, K8S_REASON_REQUIRED, "Required value");
		k8s_path_pop(&c->path, at);
	}
}

static void v_struct(struct vctx *c, struct fy_node *n, const struct k8s_type *t, int depth)
{
	struct k8s_mindex ix;

	if (!index_map(c, n, &ix))
		return;
	for (size_t i = 0; i < ix.n && !c->err; i++) {
		struct k8s_mpair *p = &ix.pairs[i];
		const struct k8s_field *f = k8s_field_findn(t, p->key, p->klen);
		size_t at = k8s_path_field(&c->path, p->key, p->klen);

		if (!f || !f->json) {
			strictness(c, p->knode, K8S_REASON_UNKNOWN, "unknown");
			v_value(c, p->value, NULL, depth + 1); /* still JSON-able */
		} else if (depth == 0 && c->skip && strcmp(f->json, c->skip) == 0) {
			struct fy_node *v = k8s_deref(p->value);
			struct k8s_scalar s;

			if (p->dup)
				strictness(c, p->knode, K8S_REASON_DUPLICATE, "duplicate");
			if (v && fy_node_is_scalar(v) && k8s_scalar_resolve(v, &s) == 0 &&
			    s.type != K8S_SCALAR_NULL)
				type_invalid(c, v, &s, f->value);
			else if (v && fy_node_is_mapping(v))
				type_invalid(c, v, NULL, f->value);
		} else {
			if (p->dup)
				strictness(c, p->knode, K8S_REASON_DUPLICATE, "duplicate");
			v_value(c, p->value, f->value, depth + 1);
		}
		k8s_path_pop(&c->path, at);
	}
	if (c->fv == K8S_FV_STRICT && !(c->checks & K8S_CHECK_NO_REQUIRED))
		v_required(c, n, &ix, t, 0);
	k8s_mindex_free(&ix);
}

/* *v for an array or object: a union's alternative of that shape. False when the union has
 * none (k8s_vunion_other says what that means). */
static bool v_union(struct vctx *c, struct fy_node *n, const struct k8s_value **v,
		    enum k8s_shape shape)
{
	const struct k8s_value *alt;

	if (!*v || !k8s_vkind_is_union((*v)->kind))
		return true;
	alt = k8s_value_union_alt(*v, shape);
	if (!alt) {
		struct k8s_vnode vn = vnode_of(n);

		k8s_vunion_other(c, &vn, *v);
		return false;
	}
	*v = alt;
	return true;
}

/* v NULL: any JSON (still checked for having a JSON form, and for duplicate keys). */
static void v_value(struct vctx *c, struct fy_node *n, const struct k8s_value *v, int depth)
{
	struct k8s_scalar s;
	int err;

	if (c->err)
		return;
	n = k8s_deref(n);
	if (!n) {
		cause(c, NULL, K8S_REASON_INVALID, "Invalid value: unknown YAML alias");
		return;
	}
	if (depth > K8S_MAX_DEPTH) {
		cause(c, n, K8S_REASON_INVALID, "Invalid value: nested deeper than %d levels",
		      K8S_MAX_DEPTH);
		return;
	}
	if (v && k8s_vkind_any_json(v->kind))
		v = NULL;
	if (fy_node_is_scalar(n)) {
		err = k8s_scalar_resolve(n, &s);
		if (err) {
			const char *tag = fy_node_get_tag(n, NULL);

			cause(c, n, K8S_REASON_INVALID, "Invalid value: \"%s\": %s %s",
			      fy_node_get_scalar0(n) ? fy_node_get_scalar0(n) : "",
			      err == -ENOTSUP ? "unsupported YAML tag" : "cannot be decoded as",
			      tag ? tag : "?");
			return;
		}
		if (s.type == K8S_SCALAR_FLOAT && !isfinite(s.f)) {
			invalid(c, n, &s, "NaN and infinite numbers have no JSON form");
			return;
		}
		/* null decodes into anything (Go leaves the zero value) */
		if (v && s.type != K8S_SCALAR_NULL) {
			struct k8s_vnode vn = vnode_of(n);

			k8s_vscalar(c, &vn, &s, v);
		}
		return;
	}
	if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		void *it = NULL;
		size_t i = 0;

		if (!v_union(c, n, &v, K8S_SHAPE_ARRAY))
			return;
		if (v && v->kind != K8S_V_ARRAY) {
			type_invalid(c, n, NULL, v);
			return;
		}
		while ((item = fy_node_sequence_iterate(n, &it)) && !c->err) {
			size_t at = k8s_path_index(&c->path, i++);

			v_value(c, item, v ? v->elem : NULL, depth + 1);
			k8s_path_pop(&c->path, at);
		}
		return;
	}
	if (!v_union(c, n, &v, K8S_SHAPE_OBJECT))
		return;
	if (!v)
		v_map(c, n, NULL, depth);
	else if (v->kind == K8S_V_STRUCT)
		v_struct(c, n, v->type, depth);
	else if (v->kind == K8S_V_MAP)
		v_map(c, n, v->elem, depth);
	else
		type_invalid(c, n, NULL, v);
}

int k8s_validate_node(struct fy_node *n, const struct k8s_type *t,
		      const struct k8s_validate_opts *o, const char *skip, struct k8s_errors *errs)
{
	struct vctx c = {.fv = o ? o->validation : K8S_FV_STRICT,
			 .checks = o ? o->checks : 0,
			 .errs = errs,
			 .skip = skip};
	struct k8s_value tv = {.kind = t ? t->kind : K8S_V_ANY, .type = t};

	if (!n)
		return -EINVAL;
	if (o && o->path)
		k8s_buf_put(&c.path, o->path, strlen(o->path));
	v_value(&c, n, &tv, 0);
	if (c.path.oom && !c.err)
		c.err = -ENOMEM;
	free(c.path.p);
	if (c.err)
		return c.err;
	return c.ncauses ? -EINVAL : 0;
}

int k8s_validate_ex(struct fy_node *n, const struct k8s_type *t, const struct k8s_validate_opts *o,
		    struct k8s_errors *errs)
{
	return k8s_validate_node(n, t, o, NULL, errs);
}

int k8s_validate(struct fy_node *n, const struct k8s_type *t, enum k8s_field_validation v,
		 struct k8s_errors *errs)
{
	struct k8s_validate_opts o = {.validation = v};

	return k8s_validate_ex(n, t, &o, errs);
}
