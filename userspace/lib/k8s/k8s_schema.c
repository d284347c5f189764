/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_schema: lookups over the generated tables of k8s_schema_gen.c (types sorted by name,
 * kinds, enums). Owns nothing.
 */
#include <string.h>

#include "k8s_schema.h"

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

const struct k8s_field *k8s_field_findn(const struct k8s_type *t, const char *json_name, size_t len)
{
	if (!json_name)
		return NULL;
	return field_findn(t, json_name, len, 0);
}

const struct k8s_field *k8s_field_find(const struct k8s_type *t, const char *json_name)
{
	if (!json_name)
		return NULL;
	return field_findn(t, json_name, strlen(json_name), 0);
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
	case K8S_V_ANY:
		return "any";
	}
	return "?";
}
