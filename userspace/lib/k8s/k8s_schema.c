/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_schema: lookups over the generated tables of k8s_schema_gen.c (types sorted by name,
 * kinds, enums). Owns nothing.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"
#include "k8s_schema.h"

const char *k8s_type_doc(const struct k8s_type *t)
{
	return t ? k8s_schema_type_docs[t - k8s_schema_types] : NULL;
}

const char *k8s_field_doc(const struct k8s_type *t, const struct k8s_field *f)
{
	const char *const *docs = t ? k8s_schema_field_docs[t - k8s_schema_types] : NULL;

	return docs && f >= t->fields && f < t->fields + t->nfields ? docs[f - t->fields] : NULL;
}

const struct k8s_type *k8s_type_find(const char *name)
{
	size_t lo = 0, hi = K8S_T__COUNT;

	if (!name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, k8s_schema_types[mid].name);

		if (c == 0)
			return &k8s_schema_types[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct k8s_kind *k8s_kind_find(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (size_t i = 0; i < k8s_schema_nkinds; i++) {
		const struct k8s_kind *k = &k8s_schema_kinds[i];

		if (strcmp(k->kind, kind) == 0 && strcmp(k->api_version, api_version) == 0)
			return k;
	}
	return NULL;
}

const struct k8s_kind *k8s_kind_find_resource(const char *group, const char *version,
					      const char *resource)
{
	if (!group || !version || !resource)
		return NULL;
	for (size_t i = 0; i < k8s_schema_nkinds; i++) {
		const struct k8s_kind *k = &k8s_schema_kinds[i];

		if (k->resource && strcmp(k->resource, resource) == 0 &&
		    strcmp(k->group, group) == 0 && strcmp(k->version, version) == 0)
			return k;
	}
	return NULL;
}

const struct k8s_kind *k8s_kind_of_type(const struct k8s_type *t)
{
	const struct k8s_kind *found = NULL;

	for (size_t i = 0; t && i < k8s_schema_nkinds; i++) {
		const struct k8s_kind *k = &k8s_schema_kinds[i];

		if (k->type != t)
			continue;
		if (k->flags & K8S_KIND_RESOURCE)
			return k;
		if (!found)
			found = k;
	}
	return found;
}

static const struct k8s_field *field_findn(const struct k8s_type *t, const char *name, size_t len,
					   int depth)
{
	const struct k8s_field *f;

	/* Inline structs nest a few levels at most; the bound only guards the recursion. */
	if (!t || depth > 8)
		return NULL;
	for (size_t i = 0; i < t->nfields; i++) {
		f = &t->fields[i];
		if (f->json && f->json[0] && strlen(f->json) == len &&
		    memcmp(f->json, name, len) == 0)
			return f;
	}
	for (size_t i = 0; i < t->nfields; i++) {
		f = &t->fields[i];
		if (!(f->flags & K8S_F_INLINE) || f->value->kind != K8S_V_STRUCT)
			continue;
		f = field_findn(f->value->type, name, len, depth + 1);
		if (f)
			return f;
	}
	return NULL;
}

/* ---- the field index: (type, JSON name) -> field and its place in the flattened order ----
 * Built once, on first use: a lookup is one hash probe instead of a scan of every field of
 * the type and its inline structs (decoding a pod looks up a few hundred names). */

struct findex_slot {
	const struct k8s_field *field;
	uint32_t type;	/* index in k8s_schema_types + 1; 0 = empty */
	uint32_t order; /* position among the fields written at this level */
	uint32_t hash;	/* of (type, name): most mismatches end here */
	uint32_t len;
};

static struct findex_slot *findex;
static size_t findex_mask;
static pthread_once_t findex_once = PTHREAD_ONCE_INIT;

static uint32_t findex_hash(uint32_t type, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)type * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static struct findex_slot *findex_probe(uint32_t type, const char *name, size_t len)
{
	uint32_t h = findex_hash(type, name, len);
	size_t i = h & findex_mask;

	for (;; i = (i + 1) & findex_mask) {
		struct findex_slot *s = &findex[i];

		if (!s->type)
			return s;
		if (s->hash == h && s->type == type && s->len == len &&
		    memcmp(s->field->json, name, len) == 0)
			return s;
	}
}

/* Insert t's fields as JSON sees them at t's level: its own names first (a field of t wins
 * over one of an inline struct), then the inline structs'; order follows the schema. */
static void findex_add(uint32_t type, const struct k8s_type *t, uint32_t *order, int depth)
{
	for (size_t i = 0; t && depth <= 8 && i < t->nfields; i++) {
		const struct k8s_field *f = &t->fields[i];

		if ((f->flags & K8S_F_INLINE) && f->value->kind == K8S_V_STRUCT) {
			findex_add(type, f->value->type, order, depth + 1);
			continue;
		}
		if (!f->json || !f->json[0])
			continue;
		struct findex_slot *s = findex_probe(type, f->json, strlen(f->json));

		if (s->type)
			continue;
		/* an own field shadows an inline one found first in schema order */
		if (depth > 0 &&
		    field_findn(&k8s_schema_types[type - 1], f->json, strlen(f->json), 0) != f)
			continue;
		s->type = type;
		s->field = f;
		s->order = (*order)++;
		s->len = (uint32_t)strlen(f->json);
		s->hash = findex_hash(type, f->json, s->len);
	}
}

static void findex_build(void)
{
	size_t n = 0, cap = 1;

	for (size_t t = 0; t < K8S_T__COUNT; t++)
		n += k8s_schema_types[t].nfields * 2;
	while (cap < n * 2)
		cap <<= 1;
	findex = calloc(cap, sizeof(*findex));
	if (!findex)
		return; /* lookups fall back to scanning */
	findex_mask = cap - 1;
	for (size_t t = 0; t < K8S_T__COUNT; t++) {
		uint32_t order = 0;

		findex_add((uint32_t)t + 1, &k8s_schema_types[t], &order, 0);
	}
}

const struct k8s_field *k8s_field_lookup(const struct k8s_type *t, const char *name, size_t len,
					 uint32_t *order)
{
	if (!t || !name)
		return NULL;
	pthread_once(&findex_once, findex_build);
	if (findex && t >= k8s_schema_types && t < k8s_schema_types + K8S_T__COUNT) {
		struct findex_slot *s =
		    findex_probe((uint32_t)(t - k8s_schema_types) + 1, name, len);

		if (order)
			*order = s->order;
		return s->type ? s->field : NULL;
	}
	if (order)
		*order = 0;
	return field_findn(t, name, len, 0);
}

const struct k8s_field *k8s_field_findn(const struct k8s_type *t, const char *json_name, size_t len)
{
	return k8s_field_lookup(t, json_name, len, NULL);
}

const struct k8s_field *k8s_field_find(const struct k8s_type *t, const char *json_name)
{
	if (!json_name)
		return NULL;
	return k8s_field_lookup(t, json_name, strlen(json_name), NULL);
}

const struct k8s_field *k8s_field_find_pb(const struct k8s_type *t, uint32_t number)
{
	for (size_t i = 0; t && number && i < t->nfields; i++)
		if (t->fields[i].pb_number == number)
			return &t->fields[i];
	return NULL;
}

const struct k8s_enum *k8s_enum_find(const char *name)
{
	for (size_t i = 0; name && i < k8s_schema_nenums; i++)
		if (strcmp(k8s_schema_enums[i].name, name) == 0)
			return &k8s_schema_enums[i];
	return NULL;
}

bool k8s_enum_has(const struct k8s_enum *e, const char *value, size_t len)
{
	for (size_t i = 0; e && value && i < e->nvalues; i++)
		if (strlen(e->values[i]) == len && memcmp(e->values[i], value, len) == 0)
			return true;
	return false;
}

const char *k8s_vkind_name(enum k8s_vkind kind)
{
	switch (kind) {
	case K8S_V_STRING:
	case K8S_V_ENUM:
		return "string";
	case K8S_V_INT32:
		return "int32";
	case K8S_V_INT64:
		return "int64";
	case K8S_V_BOOL:
		return "boolean";
	case K8S_V_FLOAT64:
		return "number";
	case K8S_V_BYTES:
		return "string (base64)";
	case K8S_V_STRUCT:
	case K8S_V_MAP:
		return "object";
	case K8S_V_ARRAY:
		return "array";
	case K8S_V_QUANTITY:
		return "quantity (string or number)";
	case K8S_V_INT_OR_STRING:
		return "int32 or string";
	case K8S_V_TIME:
	case K8S_V_MICROTIME:
		return "string (RFC 3339 date-time)";
	case K8S_V_DURATION:
		return "string (duration)";
	case K8S_V_RAW_EXTENSION:
	case K8S_V_FIELDS_V1:
	case K8S_V_JSON:
	case K8S_V_ANY:
		return "any";
	case K8S_V_SCHEMA_OR_ARRAY:
		return "object or array";
	case K8S_V_SCHEMA_OR_BOOL:
		return "boolean or object";
	case K8S_V_SCHEMA_OR_STRINGS:
		return "object or array of strings";
	}
	return "?";
}

const struct k8s_value *k8s_value_union_alt(const struct k8s_value *v, enum k8s_shape shape)
{
	static const enum k8s_vkind of_shape[] = {
	    [K8S_SHAPE_OBJECT] = K8S_V_STRUCT,
	    [K8S_SHAPE_ARRAY] = K8S_V_ARRAY,
	    [K8S_SHAPE_BOOL] = K8S_V_BOOL,
	};

	if (!v || !k8s_vkind_is_union(v->kind))
		return v;
	if (shape > K8S_SHAPE_BOOL || !v->type)
		return NULL;
	for (size_t i = 0; i < v->type->nfields; i++)
		if (v->type->fields[i].value->kind == of_shape[shape])
			return v->type->fields[i].value;
	return NULL;
}
