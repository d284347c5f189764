/* SPDX-License-Identifier: Apache-2.0 */
/*
 * openapi_crdv2: a custom resource version's openAPIV3Schema as the Swagger 2.0 schema
 * kube-apiserver 1.32 publishes in /openapi/v2 (apiextensions-apiserver
 * pkg/controller/openapi/builder: BuildOpenAPIV2 with Options{V2: true}). The structural
 * schema is unfolded (schema.Unfold: x-kubernetes-int-or-string gains an anyOf of integer
 * and string), converted (pkg/controller/openapi/v2 ToStructuralOpenAPIV2), written back
 * (schema.ToKubeOpenAPI), its defaults pruned (kube-openapi handler.PruneDefaults, as the
 * controller does before merging), and embedded resources given their type meta
 * (builder.addEmbeddedProperties). ToStructuralOpenAPIV2, per node, parents before
 * children (schema.Visitor):
 * - allOf, oneOf, anyOf and not are dropped (so the unfolded int-or-string's anyOf too);
 * - nullable: the type, items and properties are dropped;
 * - x-kubernetes-preserve-unknown-fields: items and properties are dropped, and an object's
 *   type;
 * - an array left without items loses its type;
 * - a nullable property is taken out of required; a nullable additionalProperties empties it.
 * Keywords a structural schema does not carry (example, externalDocs, $schema, ...) are left
 * out as NewStructural leaves them out.
 */
#include <string.h>

#include "api_http.h"

#define REF_OBJECT_META "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
#define METADATA_DOC                                                                              \
	"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/" \
	"sig-architecture/api-conventions.md#metadata"

static bool is_true(const struct jv *s, const char *key)
{
	const struct jv *v = jv_get(s, key);

	return v && v->type == JV_TRUE;
}

/* The keywords ToKubeOpenAPI writes as they are (Generic, ValueValidation and the
 * extensions; default, nullable, the junctors and the structure are handled apart). */
static bool kept(const struct jv *m)
{
	static const char *const keys[] = {
	    "description",
	    "title",
	    "format",
	    "maximum",
	    "minimum",
	    "maxLength",
	    "minLength",
	    "pattern",
	    "maxItems",
	    "minItems",
	    "multipleOf",
	    "enum",
	    "maxProperties",
	    "minProperties",
	    "x-kubernetes-list-type",
	    "x-kubernetes-map-type",
	    "x-kubernetes-list-map-keys",
	    "x-kubernetes-validations",
	};
	static const char *const flags[] = {
	    /* written only when true (Go's omitempty of a bool) */
	    "exclusiveMaximum",
	    "exclusiveMinimum",
	    "uniqueItems",
	    "x-kubernetes-preserve-unknown-fields",
	    "x-kubernetes-embedded-resource",
	    "x-kubernetes-int-or-string",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(m->key, keys[i]) == 0)
			return (m->type != JV_ARRAY && m->type != JV_STRING) ||
			       m->len; /* omitempty */
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(m->key, flags[i]) == 0)
			return m->type == JV_TRUE;
	return false;
}

static void put_member(struct k8s_buf *b, bool *first, const char *key)
{
	if (!*first)
		k8s_buf_putc(b, ',');
	*first = false;
	k8s_buf_json_string(b, key, strlen(key));
	k8s_buf_putc(b, ':');
}

static void put_node(struct k8s_buf *b, const struct jv *s, const char *root_props, int depth);

/* The type meta and metadata addEmbeddedProperties gives an embedded resource. */
static void put_embedded_props(struct k8s_buf *b, bool *first)
{
	put_member(b, first, "apiVersion");
	k8s_buf_puts(b, "{\"type\":\"string\",\"description\":\"apiVersion defines the versioned "
			"schema of this representation of an object. More info: "
			"https://git.k8s.io/community/contributors/devel/sig-architecture/"
			"api-conventions.md#resources\"}");
	put_member(b, first, "kind");
	k8s_buf_puts(b, "{\"type\":\"string\",\"description\":\"kind is a string value "
			"representing the type of this object. In CamelCase. More info: "
			"https://git.k8s.io/community/contributors/devel/sig-architecture/"
			"api-conventions.md#types-kinds\"}");
	put_member(b, first, "metadata");
	k8s_buf_puts(b, "{\"$ref\":\"" REF_OBJECT_META "\",\"description\":\"" METADATA_DOC "\"}");
}

static bool in_list(const struct jv *a, const char *s)
{
	for (const struct jv *c = jv_first(a); c; c = c->next)
		if (jv_is_str(c, s))
			return true;
	return false;
}

/* required as ToStructuralOpenAPIV2 leaves it (props: the properties kept, or NULL), with
 * kind and apiVersion added to an embedded resource's. */
static void put_required(struct k8s_buf *b, bool *first, const struct jv *s, const struct jv *props,
			 bool embedded)
{
	const struct jv *req = jv_get(s, "required"), *ap = jv_get(s, "additionalProperties");
	bool open = false;

	if (ap && ap->type == JV_OBJECT && is_true(ap, "nullable"))
		req = NULL;
	for (const struct jv *c = jv_first(req); c; c = c->next) {
		const struct jv *p = c->type == JV_STRING ? jv_get(props, c->s) : NULL;

		if (c->type != JV_STRING || (p && is_true(p, "nullable")))
			continue;
		if (!open)
			put_member(b, first, "required");
		k8s_buf_putc(b, open ? ',' : '[');
		open = true;
		k8s_buf_json_string(b, c->s, c->len);
	}
	for (int i = 0; embedded && i < 2; i++) {
		const char *name = i ? "apiVersion" : "kind";

		if (in_list(req, name))
			continue;
		if (!open)
			put_member(b, first, "required");
		k8s_buf_putc(b, open ? ',' : '[');
		open = true;
		k8s_buf_json_string(b, name, strlen(name));
	}
	if (open)
		k8s_buf_putc(b, ']');
}

static void put_node(struct k8s_buf *b, const struct jv *s, const char *root_props, int depth)
{
	bool nullable = is_true(s, "nullable"),
	     preserve = is_true(s, "x-kubernetes-preserve-unknown-fields"), first = true;
	const struct jv *type = jv_get(s, "type"), *items = jv_get(s, "items"),
			*props = jv_get(s, "properties"), *ap = jv_get(s, "additionalProperties");
	bool embedded = !preserve && is_true(s, "x-kubernetes-embedded-resource");

	if (s->type != JV_OBJECT || depth > 64) {
		k8s_buf_puts(b, "{}");
		return;
	}
	if (nullable) {
		type = NULL;
		items = NULL;
		props = NULL;
	}
	if (preserve) {
		items = NULL;
		props = NULL;
	}
	if (items && items->type != JV_OBJECT)
		items = NULL;
	if (props && props->type != JV_OBJECT)
		props = NULL;
	if (type && (type->type != JV_STRING || (!items && jv_is_str(type, "array")) ||
		     (preserve && jv_is_str(type, "object"))))
		type = NULL;
	k8s_buf_putc(b, '{');
	if (type) {
		put_member(b, &first, "type");
		jv_write(b, type);
	}
	for (const struct jv *m = s->head; m; m = m->next)
		if (kept(m)) {
			put_member(b, &first, m->key);
			jv_write(b, m);
		}
	put_required(b, &first, s, props, embedded);
	if (items) {
		put_member(b, &first, "items");
		put_node(b, items, NULL, depth + 1);
	}
	if (ap && (ap->type == JV_TRUE || ap->type == JV_OBJECT)) {
		put_member(b, &first, "additionalProperties");
		if (ap->type == JV_TRUE)
			k8s_buf_puts(b, "true");
		else
			put_node(b, ap, NULL, depth + 1);
	}
	if (props || root_props || embedded) {
		bool pfirst = true;

		put_member(b, &first, "properties");
		k8s_buf_putc(b, '{');
		if (root_props && *root_props) {
			k8s_buf_puts(b, root_props);
			pfirst = false;
		} else if (embedded) {
			put_embedded_props(b, &pfirst);
		}
		for (const struct jv *m = jv_first(props); m; m = m->next) {
			if ((root_props || embedded) &&
			    (!strcmp(m->key, "apiVersion") || !strcmp(m->key, "kind") ||
			     !strcmp(m->key, "metadata")))
				continue;
			put_member(b, &pfirst, m->key);
			put_node(b, m, NULL, depth + 1);
		}
		k8s_buf_putc(b, '}');
	}
	/* the closing brace is the caller's at the root (it adds the group-version-kind) */
	if (!root_props)
		k8s_buf_putc(b, '}');
}

void api_openapi_crd_schema_v2(struct k8s_buf *b, const struct jv *schema, const char *root_props)
{
	put_node(b, schema, root_props ? root_props : "", 0);
}
