/* SPDX-License-Identifier: Apache-2.0 */
/*
 * openapi: the OpenAPI documents generated from the schema tables and the resource table:
 * v3's index (/openapi/v3) and one document per group version, and the one Swagger 2.0
 * document of /openapi/v2 (JSON, or gnostic's protobuf when asked for it). Both come from
 * one walk: a schema for every type the served kinds reach (descriptions from the types'
 * docs, field types, enums, required fields, list types and map keys, patch strategies and
 * merge keys, x-kubernetes-group-version-kind on the kinds) and the paths of the resources
 * with their operations (x-kubernetes-group-version-kind, x-kubernetes-action,
 * fieldValidation...); the dialect (struct oa) says how refs, parameters and responses are
 * written. kubectl apply asks v3 whether the server validates fields and, for a kind v3 does
 * not know, validates on the client with v2; kubectl explain reads v3, or v2 with
 * --output plaintext-openapiv2. Documents are built once and kept; each has an ETag (the
 * SHA-512 of its JSON, as kube-openapi's handler makes it) and If-None-Match gets a 304.
 * The group versions of custom resources get v3 documents too, built from the CRDs served
 * now once per change of them (apiextensions' openapi builder: the version's schema with type meta and
 * ObjectMeta, its List, their paths); /openapi/v2 merges every served custom resource version
 * into the built-in document (apiextensions' openapi controller: BuildOpenAPIV2, the schema
 * converted to Swagger 2.0 by openapi_crdv2.c, MergeSpecs), rebuilt when the CRDs change and
 * its protobuf when first asked for. Like kube-apiserver's (routes.OpenAPI.InstallV2 and the
 * controller both call handler.PruneDefaults), the v2 definitions carry no defaults.
 */
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api_gnostic.h"
#include "api_http.h"

/* SHA-512 as uppercase hex (kube-openapi's computeETag), and that quoted (the ETag) */
#define OA_HASH_LEN 128

struct gvdoc {
	const char *group, *version;
	char *json;
	size_t len;
	char hash[OA_HASH_LEN + 1];
	char etag[OA_HASH_LEN + 3];
};

/* How a document writes what differs between Swagger 2.0 and OpenAPI 3. */
struct oa {
	bool v2;
};

/* one per group version of the resource table (at most one per resource) */
static struct gvdoc *docs;
static size_t ndocs;
static struct gvdoc v2doc;
/* where the built-in v2 document's paths and definitions end (their closing braces): the
 * custom resources' go in there */
static size_t v2_paths_end, v2_defs_end;
static char last_modified[64];
/* the generated table's resources, as put_paths takes them */
static const struct api_resource **builtins;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void put_str(struct k8s_buf *b, const char *s)
{
	k8s_buf_json_string(b, s, strlen(s));
}

/* ---- schemas ---- */

struct typeset {
	const struct k8s_type *t[K8S_T__COUNT];
	size_t n;
};

static bool typeset_add(struct typeset *s, const struct k8s_type *t)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i] == t)
			return false;
	if (s->n < K8S_T__COUNT)
		s->t[s->n++] = t;
	return true;
}

static void reach(struct typeset *s, const struct k8s_value *v);

static void reach_type(struct typeset *s, const struct k8s_type *t)
{
	if (!t || !typeset_add(s, t))
		return;
	for (size_t i = 0; i < t->nfields; i++)
		if (t->fields[i].json)
			reach(s, t->fields[i].value);
}

static void reach(struct typeset *s, const struct k8s_value *v)
{
	if (!v)
		return;
	if (v->type)
		reach_type(s, v->type);
	if (v->elem)
		reach(s, v->elem);
}

/* A schema object left open (its closing brace is the caller's, to add facts first). */
static void put_value(struct k8s_buf *b, const struct oa *o, const struct k8s_value *v);

static void put_value_closed(struct k8s_buf *b, const struct oa *o, const struct k8s_value *v)
{
	put_value(b, o, v);
	k8s_buf_putc(b, '}');
}

/* v3 wraps a reference in allOf so that description and default may stand beside it; v2
 * writes them beside the $ref itself, as kube-apiserver's v2 document does. */
static void put_ref(struct k8s_buf *b, const struct oa *o, const struct k8s_type *t)
{
	k8s_buf_puts(b, o->v2 ? "{\"$ref\":\"#/definitions/"
			      : "{\"allOf\":[{\"$ref\":\"#/components/schemas/");
	k8s_buf_puts(b, t->name);
	k8s_buf_puts(b, o->v2 ? "\"" : "\"}]");
}

static void put_description(struct k8s_buf *b, const char *doc)
{
	if (!doc)
		return;
	k8s_buf_puts(b, ",\"description\":");
	put_str(b, doc);
}

static void put_value(struct k8s_buf *b, const struct oa *o, const struct k8s_value *v)
{
	switch (v->kind) {
	case K8S_V_STRING:
		k8s_buf_puts(b, "{\"type\":\"string\"");
		break;
	case K8S_V_INT32:
		k8s_buf_puts(b, "{\"type\":\"integer\",\"format\":\"int32\"");
		break;
	case K8S_V_INT64:
		k8s_buf_puts(b, "{\"type\":\"integer\",\"format\":\"int64\"");
		break;
	case K8S_V_BOOL:
		k8s_buf_puts(b, "{\"type\":\"boolean\"");
		break;
	case K8S_V_FLOAT64:
		k8s_buf_puts(b, "{\"type\":\"number\",\"format\":\"double\"");
		break;
	case K8S_V_BYTES:
		k8s_buf_puts(b, "{\"type\":\"string\",\"format\":\"byte\"");
		break;
	case K8S_V_ENUM:
		k8s_buf_puts(b, "{\"type\":\"string\"");
		if (v->enm && !v->enm->open) {
			k8s_buf_puts(b, ",\"enum\":[");
			for (size_t i = 0; i < v->enm->nvalues; i++) {
				if (i)
					k8s_buf_putc(b, ',');
				put_str(b, v->enm->values[i]);
			}
			k8s_buf_putc(b, ']');
		}
		break;
	case K8S_V_ARRAY:
		k8s_buf_puts(b, "{\"type\":\"array\",\"items\":");
		put_value_closed(b, o, v->elem);
		break;
	case K8S_V_MAP:
		k8s_buf_puts(b, "{\"type\":\"object\",\"additionalProperties\":");
		put_value_closed(b, o, v->elem);
		break;
	case K8S_V_ANY:
		k8s_buf_puts(b, "{\"x-kubernetes-preserve-unknown-fields\":true");
		break;
	default: /* structs and the special types: their schema */
		put_ref(b, o, v->type);
		break;
	}
}

/* Field f of type t. */
static void put_field(struct k8s_buf *b, const struct oa *o, const struct k8s_type *t,
		      const struct k8s_field *f)
{
	put_value(b, o, f->value);
	put_description(b, k8s_field_doc(t, f));
	if (f->default_json && !o->v2)
		k8s_buf_printf(b, ",\"default\":%s", f->default_json);
	if (f->patch_strategy) {
		k8s_buf_puts(b, ",\"x-kubernetes-patch-strategy\":");
		put_str(b, f->patch_strategy);
	}
	if (f->patch_merge_key) {
		k8s_buf_puts(b, ",\"x-kubernetes-patch-merge-key\":");
		put_str(b, f->patch_merge_key);
	}
	if (f->list_type) {
		static const char *const lt[] = {"", "atomic", "set", "map"};

		k8s_buf_printf(b, ",\"x-kubernetes-list-type\":\"%s\"", lt[f->list_type]);
	}
	if (f->list_map_keys) {
		k8s_buf_puts(b, ",\"x-kubernetes-list-map-keys\":[");
		for (size_t i = 0; f->list_map_keys[i]; i++) {
			if (i)
				k8s_buf_putc(b, ',');
			put_str(b, f->list_map_keys[i]);
		}
		k8s_buf_putc(b, ']');
	}
	if (f->map_type == K8S_MAP_ATOMIC)
		k8s_buf_puts(b, ",\"x-kubernetes-map-type\":\"atomic\"");
	k8s_buf_putc(b, '}');
}

/* The fields of t as properties (inline structs flattened). */
static void put_properties(struct k8s_buf *b, const struct oa *o, const struct k8s_type *t,
			   bool *first, int depth)
{
	for (size_t i = 0; i < t->nfields && depth < 8; i++) {
		const struct k8s_field *f = &t->fields[i];

		if ((f->flags & K8S_F_INLINE) && f->value->kind == K8S_V_STRUCT) {
			put_properties(b, o, f->value->type, first, depth + 1);
			continue;
		}
		if (!f->json || !f->json[0])
			continue;
		if (!*first)
			k8s_buf_putc(b, ',');
		*first = false;
		put_str(b, f->json);
		k8s_buf_putc(b, ':');
		put_field(b, o, t, f);
	}
}

/* openapi-gen's rule (kube-openapi generators/openapi.go, hasOptionalTag): a field is
 * required unless it is +optional or omitempty; inline fields are flattened. */
static void put_required_of(struct k8s_buf *b, const struct k8s_type *t, bool *first, int depth)
{
	for (size_t i = 0; i < t->nfields && depth < 8; i++) {
		const struct k8s_field *f = &t->fields[i];

		if ((f->flags & K8S_F_INLINE) && f->value->kind == K8S_V_STRUCT) {
			put_required_of(b, f->value->type, first, depth + 1);
			continue;
		}
		if ((f->flags & (K8S_F_OPTIONAL | K8S_F_OMITEMPTY)) || !f->json || !f->json[0])
			continue;
		k8s_buf_puts(b, *first ? ",\"required\":[" : ",");
		*first = false;
		put_str(b, f->json);
	}
}

static void put_required(struct k8s_buf *b, const struct k8s_type *t)
{
	bool first = true;

	put_required_of(b, t, &first, 0);
	if (!first)
		k8s_buf_putc(b, ']');
}

static void put_gvk_list(struct k8s_buf *b, const struct k8s_type *t)
{
	bool first = true;

	for (size_t i = 0; i < k8s_schema_nkinds; i++) {
		const struct k8s_kind *k = &k8s_schema_kinds[i];

		if (k->type != t)
			continue;
		k8s_buf_puts(b, first ? ",\"x-kubernetes-group-version-kind\":[" : ",");
		first = false;
		k8s_buf_printf(b, "{\"group\":\"%s\",\"kind\":\"%s\",\"version\":\"%s\"}", k->group,
			       k->kind, k->version);
	}
	if (!first)
		k8s_buf_putc(b, ']');
}

static void put_schema(struct k8s_buf *b, const struct oa *o, const struct k8s_type *t)
{
	bool first = true, special = true;

	put_str(b, t->name);
	switch (t->kind) {
	case K8S_V_QUANTITY: /* Quantity's OpenAPIV3OneOfTypes; v2 has no oneOf: a string */
		k8s_buf_puts(b, o->v2
				    ? ":{\"type\":\"string\""
				    : ":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]");
		break;
	case K8S_V_INT_OR_STRING: /* IntOrString's OpenAPIV3OneOfTypes; v2: a string */
		k8s_buf_puts(b, o->v2
				    ? ":{\"type\":\"string\",\"format\":\"int-or-string\""
				    : ":{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}],"
				      "\"format\":\"int-or-string\"");
		break;
	case K8S_V_TIME:
	case K8S_V_MICROTIME:
		k8s_buf_puts(b, ":{\"type\":\"string\",\"format\":\"date-time\"");
		break;
	case K8S_V_DURATION:
		k8s_buf_puts(b, ":{\"type\":\"string\"");
		break;
	case K8S_V_RAW_EXTENSION:
	case K8S_V_FIELDS_V1:
		k8s_buf_puts(b, ":{\"type\":\"object\"");
		break;
	default:
		k8s_buf_puts(b, ":{\"type\":\"object\",\"properties\":{");
		put_properties(b, o, t, &first, 0);
		k8s_buf_putc(b, '}');
		special = false;
		break;
	}
	put_description(b, k8s_type_doc(t));
	if (special) {
		k8s_buf_putc(b, '}');
		return;
	}
	put_required(b, t);
	if (t->struct_type == K8S_STRUCT_ATOMIC)
		k8s_buf_puts(b, ",\"x-kubernetes-map-type\":\"atomic\"");
	put_gvk_list(b, t);
	k8s_buf_putc(b, '}');
}

/* ---- paths ---- */

#define META "io.k8s.apimachinery.pkg.apis.meta.v1."

static void put_params(struct k8s_buf *b, const struct oa *o, const char *const *names,
		       const char *body)
{
	k8s_buf_puts(b, "\"parameters\":[");
	for (size_t i = 0; names[i]; i++) {
		bool in_path = strcmp(names[i], "name") == 0 || strcmp(names[i], "namespace") == 0;
		const char *type = strcmp(names[i], "force") == 0 || strcmp(names[i], "watch") == 0
				       ? "boolean"
				   : strcmp(names[i], "limit") == 0 ? "integer"
								    : "string";

		k8s_buf_printf(b, "%s{\"name\":\"%s\",\"in\":\"%s\",%s", i ? "," : "", names[i],
			       in_path ? "path" : "query", in_path ? "\"required\":true," : "");
		if (o->v2)
			k8s_buf_printf(b, "\"type\":\"%s\",\"uniqueItems\":true}", type);
		else
			k8s_buf_printf(b, "\"schema\":{\"type\":\"%s\",\"uniqueItems\":true}}",
				       type);
	}
	/* v2 has the body among the parameters (v3's requestBody is left out: kubectl does
	 * not read it) */
	if (o->v2 && body)
		k8s_buf_printf(b,
			       ",{\"name\":\"body\",\"in\":\"body\",\"required\":true,\"schema\":"
			       "{\"$ref\":\"#/definitions/%s\"}}",
			       body);
	k8s_buf_putc(b, ']');
}

/* The type a kind's list operation answers with: its List kind's. */
static const struct k8s_type *list_type(const struct k8s_kind *k)
{
	const struct k8s_kind *l =
	    k->list_kind ? k8s_kind_find(k->api_version, k->list_kind) : NULL;

	return l ? l->type : k->type;
}

static bool builtin(const struct api_resource *res)
{
	return res >= api_resources && res < api_resources + api_nresources;
}

/* The name of the schema of a resource's objects (list: of its List): the generated type's,
 * or for a custom resource apiextensions' (util.ToRESTFriendlyName of group/version/kind:
 * the group's labels reversed, "com.example.stable.v1.CronTab"). */
static const char *schema_name(const struct api_resource *res, bool list, char *buf, size_t size)
{
	const struct k8s_kind *k = res->kind;
	const char *g = k->group, *end = g + strlen(g);
	size_t at = 0;

	if (builtin(res))
		return list ? list_type(k)->name : k->type->name;
	while (end > g && at < size) {
		const char *dot = end;

		while (dot > g && dot[-1] != '.')
			dot--;
		at += (size_t)snprintf(buf + at, size - at, "%s%.*s", at ? "." : "",
				       (int)(end - dot), dot);
		end = dot > g ? dot - 1 : g;
	}
	if (at < size)
		snprintf(buf + at, size - at, ".%s.%s", k->version,
			 list && k->list_kind ? k->list_kind : k->kind);
	return buf;
}

static void put_op(struct k8s_buf *b, const struct oa *o, const char *method, const char *action,
		   const struct api_resource *res, const char *id, const char *const *params,
		   bool *first)
{
	const struct k8s_kind *k = res->kind;
	char on[320], ln[320];
	const char *obj = schema_name(res, false, on, sizeof(on));
	const char *out = strcmp(action, "list") == 0 ? schema_name(res, true, ln, sizeof(ln))
			  : strcmp(action, "deletecollection") == 0 ? META "Status"
								    : obj;
	const char *body = strcmp(action, "patch") == 0 ? META "Patch"
			   : strcmp(action, "post") == 0 || strcmp(action, "put") == 0 ? obj
										       : NULL;

	k8s_buf_printf(b, "%s\"%s\":{\"operationId\":\"%s%s\",", *first ? "" : ",", method, id,
		       k->kind);
	*first = false;
	/* a custom resource has no protobuf (apiextensions' buildRoute: JSON and YAML) */
	if (o->v2)
		k8s_buf_printf(b,
			       "\"consumes\":[\"*/*\"],\"produces\":[\"application/json\","
			       "\"application/yaml\"%s],\"schemes\":[\"https\"],",
			       builtin(res) ? ",\"application/vnd.kubernetes.protobuf\"" : "");
	put_params(b, o, params, body);
	if (o->v2)
		k8s_buf_printf(b,
			       ",\"responses\":{\"200\":{\"description\":\"OK\",\"schema\":{"
			       "\"$ref\":\"#/definitions/%s\"}},",
			       out);
	else
		k8s_buf_printf(b,
			       ",\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{"
			       "\"application/json\":{\"schema\":{\"$ref\":"
			       "\"#/components/schemas/%s\"}}}},",
			       out);
	k8s_buf_printf(b,
		       "\"401\":{\"description\":\"Unauthorized\"}},\"x-kubernetes-action\":\"%s\","
		       "\"x-kubernetes-group-version-kind\":{\"group\":\"%s\",\"version\":\"%s\","
		       "\"kind\":\"%s\"}}",
		       action, k->group, k->version, k->kind);
}

static void put_paths(struct k8s_buf *b, const struct oa *o, const struct api_resource *const *v,
		      size_t n, const char *group, const char *version, bool *firstpath)
{
	static const char *const item_get[] = {"name", "namespace", "pretty", NULL};
	static const char *const item_write[] = {
	    "name", "namespace", "dryRun", "fieldManager", "fieldValidation", "pretty", NULL};
	static const char *const item_patch[] = {
	    "name",  "namespace", "dryRun", "fieldManager", "fieldValidation",
	    "force", "pretty",	  NULL};
	static const char *const item_delete[] = {
	    "name",   "namespace", "dryRun", "gracePeriodSeconds", "propagationPolicy",
	    "pretty", NULL};
	static const char *const coll_list[] = {"namespace", "labelSelector", "fieldSelector",
						"limit",     "continue",      "resourceVersion",
						"watch",     "pretty",	      NULL};
	static const char *const coll_create[] = {"namespace",	     "dryRun", "fieldManager",
						  "fieldValidation", "pretty", NULL};

	for (size_t i = 0; i < n; i++) {
		const struct api_resource *res = v[i];
		const struct k8s_kind *k = res->kind;
		char base[256];
		bool first = true;

		if (strcmp(k->group, group) != 0 || strcmp(k->version, version) != 0)
			continue;
		if (group[0])
			snprintf(base, sizeof(base), "/apis/%s/%s%s", group, version,
				 api_resource_namespaced(res) ? "/namespaces/{namespace}" : "");
		else
			snprintf(base, sizeof(base), "/api/%s%s", version,
				 api_resource_namespaced(res) ? "/namespaces/{namespace}" : "");
		k8s_buf_printf(b, "%s\"%s/%s\":{", *firstpath ? "" : ",", base, k->resource);
		*firstpath = false;
		if (res->verbs & API_VERB_LIST)
			put_op(b, o, "get", "list", res, "list",
			       coll_list + !api_resource_namespaced(res), &first);
		if (res->verbs & API_VERB_CREATE)
			put_op(b, o, "post", "post", res, "create",
			       coll_create + !api_resource_namespaced(res), &first);
		if (res->verbs & API_VERB_DELETECOLLECTION)
			put_op(b, o, "delete", "deletecollection", res, "deleteCollection",
			       coll_list + !api_resource_namespaced(res), &first);
		k8s_buf_putc(b, '}');
		first = true;
		k8s_buf_printf(b, ",\"%s/%s/{name}\":{", base, k->resource);
		{
			/* cluster-scoped: the same parameter lists without "namespace" */
			const char *const *g = item_get, *const *w = item_write,
					  *const *p = item_patch, *const *dl = item_delete;
			const char *cg[] = {"name", "pretty", NULL};
			const char *cw[] = {"name",   "dryRun", "fieldManager", "fieldValidation",
					    "pretty", NULL};
			const char *cp[] = {
			    "name",   "dryRun", "fieldManager", "fieldValidation", "force",
			    "pretty", NULL};
			const char *cd[] = {
			    "name",   "dryRun", "gracePeriodSeconds", "propagationPolicy",
			    "pretty", NULL};

			if (!api_resource_namespaced(res)) {
				g = cg;
				w = cw;
				p = cp;
				dl = cd;
			}
			if (res->verbs & API_VERB_GET)
				put_op(b, o, "get", "get", res, "read", g, &first);
			if (res->verbs & API_VERB_UPDATE)
				put_op(b, o, "put", "put", res, "replace", w, &first);
			/* kubectl asks a kind's PATCH operation whether the server validates its
			 * fields (fieldValidation), whatever verb it is about to use: every kind
			 * has one here (a kind without the patch verb answers 405 to it) */
			put_op(b, o, "patch", "patch", res, "patch", p, &first);
			if (res->verbs & API_VERB_DELETE)
				put_op(b, o, "delete", "delete", res, "delete", dl, &first);
		}
		k8s_buf_putc(b, '}');
	}
}

/* ---- documents ---- */

static bool in_gv(const struct k8s_kind *k, const char *group, const char *version)
{
	return !group || (strcmp(k->group, group) == 0 && strcmp(k->version, version) == 0);
}

/* The schemas of every type the resources of a group version (NULL: of all) reach. */
static void put_schemas(struct k8s_buf *b, const struct oa *o, const char *group,
			const char *version)
{
	struct typeset *ts = calloc(1, sizeof(*ts));

	if (!ts) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < api_nresources; i++) {
		const struct k8s_kind *k = api_resources[i].kind;

		if (!in_gv(k, group, version))
			continue;
		reach_type(ts, k->type);
		reach_type(ts, list_type(k));
	}
	reach_type(ts, k8s_type_find(META "Status"));
	reach_type(ts, k8s_type_find(META "DeleteOptions"));
	for (size_t i = 0; i < ts->n; i++) {
		if (i)
			k8s_buf_putc(b, ',');
		put_schema(b, o, ts->t[i]);
	}
	free(ts);
}

static void doc_hash(struct gvdoc *g)
{
	uint8_t md[64];

	if (!g->json || gnutls_hash_fast(GNUTLS_DIG_SHA512, g->json, g->len, md) != 0)
		return;
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(g->hash + 2 * i, 3, "%02X", md[i]);
	snprintf(g->etag, sizeof(g->etag), "\"%s\"", g->hash);
}

static const char security_v3[] =
    "\"securitySchemes\":{\"BearerToken\":{\"type\":\"apiKey\",\"description\":"
    "\"Bearer Token authentication\",\"name\":\"authorization\",\"in\":\"header\"}}";

static void build_gv(struct gvdoc *g)
{
	static const struct oa v3 = {.v2 = false};
	struct k8s_buf b = {0};
	bool first = true;

	k8s_buf_printf(&b,
		       "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":"
		       "\"%s\"},\"paths\":{",
		       API_GIT_VERSION);
	put_paths(&b, &v3, builtins, api_nresources, g->group, g->version, &first);
	k8s_buf_puts(&b, "},\"components\":{\"schemas\":{");
	put_schemas(&b, &v3, g->group, g->version);
	k8s_buf_printf(&b, "},%s},\"security\":[{\"BearerToken\":[]}]}", security_v3);
	g->json = k8s_buf_take(&b, &g->len);
	doc_hash(g);
}

/* The Swagger 2.0 document: every group version's paths and every reached type's schema
 * under definitions, as kube-apiserver's /openapi/v2 has them. */
static void build_v2(void)
{
	static const struct oa v2 = {.v2 = true};
	struct k8s_buf b = {0};
	bool first = true;

	k8s_buf_printf(&b,
		       "{\"swagger\":\"2.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":"
		       "\"%s\"},\"paths\":{",
		       API_GIT_VERSION);
	for (size_t i = 0; i < ndocs; i++)
		put_paths(&b, &v2, builtins, api_nresources, docs[i].group, docs[i].version,
			  &first);
	v2_paths_end = b.len;
	k8s_buf_puts(&b, "},\"definitions\":{");
	put_schemas(&b, &v2, NULL, NULL);
	/* the body of every PATCH (apimachinery's Patch has no fields: openapi-gen's
	 * hand-written definition) */
	k8s_buf_puts(&b, ",\"" META "Patch\":{\"description\":\"Patch is provided to give a "
			 "concrete name and type to the Kubernetes PATCH request body.\","
			 "\"type\":\"object\"}");
	v2_defs_end = b.len;
	k8s_buf_puts(&b, "},\"securityDefinitions\":{\"BearerToken\":{\"description\":\"Bearer "
			 "Token authentication\",\"type\":\"apiKey\",\"name\":\"authorization\","
			 "\"in\":\"header\"}},\"security\":[{\"BearerToken\":[]}]}");
	v2doc.json = k8s_buf_take(&b, &v2doc.len);
	doc_hash(&v2doc);
}

static void put_index_entry(struct k8s_buf *b, const struct gvdoc *g, bool first)
{
	char path[300];

	if (g->group[0])
		snprintf(path, sizeof(path), "apis/%s/%s", g->group, g->version);
	else
		snprintf(path, sizeof(path), "api/%s", g->version);
	k8s_buf_printf(b, "%s\"%s\":{\"serverRelativeURL\":\"/openapi/v3/%s?hash=%s\"}",
		       first ? "{\"paths\":{" : ",", path, path, g->hash);
}

static void build(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(last_modified, sizeof(last_modified), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	builtins = calloc(api_nresources ? api_nresources : 1, sizeof(*builtins));
	for (size_t i = 0; builtins && i < api_nresources; i++)
		builtins[i] = &api_resources[i];
	if (!builtins)
		return;
	docs = calloc(api_nresources ? api_nresources : 1, sizeof(*docs));
	for (size_t i = 0; docs && i < api_nresources; i++) {
		const struct k8s_kind *k = api_resources[i].kind;
		size_t j;

		for (j = 0; j < ndocs; j++)
			if (in_gv(k, docs[j].group, docs[j].version))
				break;
		if (j < ndocs)
			continue;
		docs[ndocs].group = k->group;
		docs[ndocs].version = k->version;
		build_gv(&docs[ndocs]);
		ndocs++;
	}
	build_v2();
}

/* ---- the custom resources' documents (apiextensions' openapi builder) ---- */

/* TypeMeta's field doc (addTypeMetaProperties copies TypeMeta's properties) */
static void put_type_meta(struct k8s_buf *b, const char *field)
{
	const struct k8s_type *t = k8s_type_find(META "TypeMeta");

	put_str(b, field);
	k8s_buf_puts(b, ":{\"type\":\"string\"");
	for (size_t i = 0; t && i < t->nfields; i++)
		if (t->fields[i].json && strcmp(t->fields[i].json, field) == 0)
			put_description(b, k8s_field_doc(t, &t->fields[i]));
	k8s_buf_putc(b, '}');
}

/* A reference with a description beside it: v3 wraps it in allOf, v2 writes them together. */
static void put_ref_doc(struct k8s_buf *b, const struct oa *o, const char *type, const char *doc)
{
	k8s_buf_printf(b,
		       o->v2 ? "{\"$ref\":\"#/definitions/%s\",\"description\":"
			     : "{\"allOf\":[{\"$ref\":\"#/components/schemas/%s\"}],"
			       "\"description\":",
		       type);
	put_str(b, doc);
	k8s_buf_putc(b, '}');
}

#define METADATA_DOC                                                                              \
	"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/" \
	"sig-architecture/api-conventions.md#metadata"

/* A custom resource's schema (buildKubeNative): its version's openAPIV3Schema with
 * apiVersion, kind and metadata (ObjectMeta) set, or a bare object when it has none (v2: nor
 * when it preserves unknown fields at its root), and its group-version-kind; then its List's
 * (buildListSchema). v2 converts the schema as BuildOpenAPIV2 does (openapi_crdv2.c). */
static void put_cr_schemas(struct k8s_buf *b, const struct oa *o, const struct api_resource *res)
{
	const struct k8s_kind *k = res->kind;
	const struct jv *schema = reg_crd_schema(res), *pres;
	char on[320], ln[320];

	put_str(b, schema_name(res, false, on, sizeof(on)));
	k8s_buf_putc(b, ':');
	if (!schema || schema->type != JV_OBJECT ||
	    (o->v2 && (pres = jv_get(schema, "x-kubernetes-preserve-unknown-fields")) &&
	     pres->type == JV_TRUE)) {
		k8s_buf_puts(b, "{\"type\":\"object\"");
	} else if (o->v2) {
		struct k8s_buf tm = {0};
		char *props;

		put_type_meta(&tm, "apiVersion");
		k8s_buf_putc(&tm, ',');
		put_type_meta(&tm, "kind");
		k8s_buf_puts(&tm, ",\"metadata\":");
		put_ref_doc(&tm, o, META "ObjectMeta", METADATA_DOC);
		props = k8s_buf_take(&tm, NULL);
		if (!props) {
			b->oom = true;
			return;
		}
		api_openapi_crd_schema_v2(b, schema, props);
		free(props);
	} else {
		k8s_buf_putc(b, '{');
		/* every keyword as written but the properties, written after with the
		 * type meta and metadata in */
		for (const struct jv *m = schema->head; m; m = m->next) {
			if (strcmp(m->key, "properties") == 0 || strcmp(m->key, "type") == 0)
				continue;
			put_str(b, m->key);
			k8s_buf_putc(b, ':');
			jv_write(b, m);
			k8s_buf_putc(b, ',');
		}
		k8s_buf_puts(b, "\"type\":\"object\",\"properties\":{");
		put_type_meta(b, "apiVersion");
		k8s_buf_putc(b, ',');
		put_type_meta(b, "kind");
		k8s_buf_puts(b, ",\"metadata\":");
		put_ref_doc(b, o, META "ObjectMeta", METADATA_DOC);
		for (const struct jv *m = jv_first(jv_get(schema, "properties")); m; m = m->next) {
			if (!strcmp(m->key, "apiVersion") || !strcmp(m->key, "kind") ||
			    !strcmp(m->key, "metadata"))
				continue;
			k8s_buf_putc(b, ',');
			put_str(b, m->key);
			k8s_buf_putc(b, ':');
			jv_write(b, m);
		}
		k8s_buf_putc(b, '}');
	}
	k8s_buf_printf(b,
		       ",\"x-kubernetes-group-version-kind\":[{\"group\":\"%s\",\"kind\":\"%s\","
		       "\"version\":\"%s\"}]},",
		       k->group, k->kind, k->version);
	put_str(b, schema_name(res, true, ln, sizeof(ln)));
	k8s_buf_printf(b,
		       ":{\"description\":\"%s is a list of %s\",\"type\":\"object\",\"required\":["
		       "\"items\"],\"properties\":{",
		       k->list_kind ? k->list_kind : "", k->kind);
	put_type_meta(b, "apiVersion");
	k8s_buf_printf(b, ",\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"%s%s\"},",
		       o->v2 ? "#/definitions/" : "#/components/schemas/", on);
	k8s_buf_printf(b,
		       "\"description\":\"List of %s. More info: https://git.k8s.io/"
		       "community/contributors/devel/sig-architecture/api-conventions.md\"},",
		       k->resource);
	put_type_meta(b, "kind");
	k8s_buf_puts(b, ",\"metadata\":");
	put_ref_doc(b, o, META "ListMeta",
		    "Standard list metadata. More info: https://git.k8s.io/community/contributors/"
		    "devel/sig-architecture/api-conventions.md#types-kinds");
	k8s_buf_printf(b,
		       "},\"x-kubernetes-group-version-kind\":[{\"group\":\"%s\",\"kind\":\"%s\","
		       "\"version\":\"%s\"}]}",
		       k->group, k->list_kind ? k->list_kind : "", k->version);
}

/* The v3 document of a group version of custom resources (none: g->json NULL): their paths,
 * their schemas and the meta types those reach. */
static void build_cr_gv(struct registry *reg, struct gvdoc *g)
{
	static const struct oa v3 = {.v2 = false};
	const struct api_resource **all = NULL, **v;
	size_t n = reg_resources(reg, &all), nv = 0;
	struct typeset *ts = calloc(1, sizeof(*ts));
	struct k8s_buf b = {0};
	bool first = true;

	g->json = NULL;
	v = calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		if (!builtin(all[i]) && strcmp(all[i]->kind->group, g->group) == 0 &&
		    strcmp(all[i]->kind->version, g->version) == 0)
			v[nv++] = all[i];
	if (!v || !ts || !nv)
		goto out;
	k8s_buf_printf(&b, "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Kubernetes CRD Swagger\","
			   "\"version\":\"v0.1.0\"},\"paths\":{");
	put_paths(&b, &v3, v, nv, g->group, g->version, &first);
	k8s_buf_puts(&b, "},\"components\":{\"schemas\":{");
	for (size_t i = 0; i < nv; i++) {
		put_cr_schemas(&b, &v3, v[i]);
		k8s_buf_putc(&b, ',');
	}
	reach_type(ts, k8s_type_find(META "ObjectMeta"));
	reach_type(ts, k8s_type_find(META "ListMeta"));
	reach_type(ts, k8s_type_find(META "Status"));
	reach_type(ts, k8s_type_find(META "DeleteOptions"));
	for (size_t i = 0; i < ts->n; i++) {
		if (i)
			k8s_buf_putc(&b, ',');
		put_schema(&b, &v3, ts->t[i]);
	}
	k8s_buf_printf(&b, "},%s},\"security\":[{\"BearerToken\":[]}]}", security_v3);
	g->json = k8s_buf_take(&b, &g->len);
	doc_hash(g);
out:
	k8s_buf_free(&b);
	free(ts);
	free(v);
	free(all);
}

/* The group versions only custom resources serve, each once: their documents built (free
 * them with cr_docs_free). */
static size_t cr_docs(struct registry *reg, struct gvdoc **out)
{
	const struct api_resource **all = NULL;
	size_t n = reg_resources(reg, &all), nd = 0;
	struct gvdoc *d = calloc(n ? n : 1, sizeof(*d));

	for (size_t i = 0; d && i < n; i++) {
		const struct k8s_kind *k = all[i]->kind;
		bool seen = builtin(all[i]);

		for (size_t j = 0; j < ndocs && !seen; j++)
			seen = in_gv(k, docs[j].group, docs[j].version);
		for (size_t j = 0; j < nd && !seen; j++)
			seen = in_gv(k, d[j].group, d[j].version);
		if (seen)
			continue;
		d[nd].group = k->group;
		d[nd].version = k->version;
		build_cr_gv(reg, &d[nd]);
		if (d[nd].json)
			nd++;
	}
	free(all);
	*out = d;
	return nd;
}

static void cr_docs_free(struct gvdoc *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		free(d[i].json);
	free(d);
}

/* ---- serving ---- */

/* True if the If-None-Match header names etag (or is "*"), as Go's http.ServeContent
 * compares them (weakly: a W/ prefix is ignored). */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	while (inm && *inm) {
		size_t len;

		inm += strspn(inm, " \t,");
		if (*inm == '*')
			return true;
		if (strncmp(inm, "W/", 2) == 0)
			inm += 2;
		len = strcspn(inm, ",");
		while (len && (inm[len - 1] == ' ' || inm[len - 1] == '\t'))
			len--;
		if (len == n && memcmp(inm, etag, n) == 0)
			return true;
		inm += strcspn(inm, ",");
	}
	return false;
}

/* Serve a document's bytes (copied) with its ETag, or a 304 when the client has them. */
static void reply_doc(struct api_req *r, const struct gvdoc *g, const void *data, size_t len,
		      const char *ctype)
{
	char *copy;

	if (etag_matches(r->if_none_match, g->etag)) {
		api_reply_json(r, 304, NULL, 0);
		r->ctype = NULL;
	} else {
		copy = malloc(len + 1);
		if (!copy) {
			api_error(r, 500, "InternalError",
				  "Internal error occurred: out of memory");
			return;
		}
		memcpy(copy, data, len);
		copy[len] = 0;
		api_reply_json(r, 200, copy, len);
		r->ctype = ctype;
	}
	r->etag = g->etag;
	r->last_modified = last_modified;
}

enum v2_format { V2_NONE, V2_JSON, V2_PB };

/* kube-openapi's negotiation: the clauses of Accept by quality (the first of equals wins),
 * each against JSON then the two protobuf names; no Accept is *\/\*. */
static enum v2_format v2_negotiate(const char *accept)
{
	enum v2_format best = V2_NONE;
	double bestq = -1;
	const char *p = accept && *accept ? accept : "*/*";

	while (*p) {
		size_t len = strcspn(p, ",");
		char clause[256], *semi, *t, *end;
		double q = 1;
		enum v2_format f = V2_NONE;

		snprintf(clause, sizeof(clause), "%.*s", (int)(len < 255 ? len : 255), p);
		p += len + (p[len] == ',');
		semi = strchr(clause, ';');
		if (semi) {
			char *qs = strstr(semi, "q=");

			*semi = 0;
			if (qs)
				q = strtod(qs + 2, NULL);
		}
		for (t = clause; *t == ' ' || *t == '\t'; t++)
			;
		for (end = t + strlen(t); end > t && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = 0;
		if (strcasecmp(t, "*/*") == 0 || strcasecmp(t, "application/*") == 0 ||
		    strcasecmp(t, "application/json") == 0)
			f = V2_JSON;
		else if (strcasecmp(t,
				    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf") ==
			     0 ||
			 strcasecmp(
			     t, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf") == 0)
			f = V2_PB;
		if (f != V2_NONE && q > 0 && q > bestq) {
			best = f;
			bestq = q;
		}
	}
	return best;
}

/* The v2 document as the CRDs stand at one generation: the built-in one with every served
 * custom resource version's paths and definitions merged in (doc.json NULL: none is served,
 * the built-in one is it); its protobuf made when first asked for. */
static struct {
	pthread_mutex_t lock;
	bool built;
	uint64_t gen;
	struct gvdoc doc;
	uint8_t *pb;
	size_t pb_len;
} v2c = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The built-in v2 document with reg's custom resources in (MergeSpecs: their paths after the
 * built-in paths, their definitions after the built-in definitions), in out->json; NULL when
 * none is served. False when out of memory. */
static bool build_v2_crs(struct registry *reg, struct gvdoc *out)
{
	static const struct oa v2 = {.v2 = true};
	const struct api_resource **all = NULL, **v;
	size_t n = reg_resources(reg, &all), nv = 0;
	struct k8s_buf b = {0};
	bool first = false, ok = false;

	out->json = NULL;
	v = calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		if (!builtin(all[i]))
			v[nv++] = all[i];
	if (!v || !v2doc.json)
		goto out;
	ok = true;
	if (!nv)
		goto out;
	k8s_buf_put(&b, v2doc.json, v2_paths_end);
	for (size_t i = 0; i < nv; i++)
		put_paths(&b, &v2, &v[i], 1, v[i]->kind->group, v[i]->kind->version, &first);
	k8s_buf_put(&b, v2doc.json + v2_paths_end, v2_defs_end - v2_paths_end);
	for (size_t i = 0; i < nv; i++) {
		k8s_buf_putc(&b, ',');
		put_cr_schemas(&b, &v2, v[i]);
	}
	k8s_buf_put(&b, v2doc.json + v2_defs_end, v2doc.len - v2_defs_end);
	out->json = k8s_buf_take(&b, &out->len);
	ok = out->json != NULL;
	doc_hash(out);
out:
	k8s_buf_free(&b);
	free(v);
	free(all);
	return ok;
}

/* Lock the v2 cache, made current for reg's CRDs (rebuilt only when they changed); the
 * caller unlocks v2c.lock. The document to serve, or NULL (out of memory). */
static const struct gvdoc *v2_cache_lock(struct registry *reg)
{
	uint64_t gen = reg_crds_generation(reg);

	pthread_mutex_lock(&v2c.lock);
	if (!v2c.built || v2c.gen != gen) {
		free(v2c.doc.json);
		free(v2c.pb);
		memset(&v2c.doc, 0, sizeof(v2c.doc));
		v2c.pb = NULL;
		v2c.pb_len = 0;
		v2c.built = build_v2_crs(reg, &v2c.doc);
		v2c.gen = gen;
		if (!v2c.built)
			return NULL;
	}
	return v2c.doc.json ? &v2c.doc : &v2doc;
}

static void serve_v2(struct api_req *r)
{
	const struct gvdoc *g;

	r->vary_accept = true;
	g = v2doc.json ? v2_cache_lock(r->srv->reg) : NULL;
	if (!g) {
		if (v2doc.json)
			pthread_mutex_unlock(&v2c.lock);
		api_error(r, 503, "ServiceUnavailable", "the OpenAPI document is not available");
		return;
	}
	switch (v2_negotiate(r->accept)) {
	case V2_JSON:
		reply_doc(r, g, g->json, g->len, "application/json");
		break;
	case V2_PB:
		if (!v2c.pb)
			v2c.pb = api_gnostic_v2(g->json, g->len, &v2c.pb_len);
		if (v2c.pb) {
			reply_doc(r, g, v2c.pb, v2c.pb_len,
				  "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
			break;
		}
		pthread_mutex_unlock(&v2c.lock);
		api_error(r, 503, "ServiceUnavailable", "the OpenAPI document is not available");
		return;
	case V2_NONE:
		pthread_mutex_unlock(&v2c.lock);
		/* kube-openapi writes a bare 406 */
		api_reply_json(r, 406, NULL, 0);
		r->ctype = NULL;
		return;
	}
	/* the cache may be rebuilt before the response is sent */
	snprintf(r->etag_own, sizeof(r->etag_own), "%s", g->etag);
	r->etag = r->etag_own;
	pthread_mutex_unlock(&v2c.lock);
}

/* /openapi/v3: every group version's document and its hash, the custom resources' too */
/* The custom resources' documents of one registry as its CRDs stand at one generation:
 * built once, not per request (kubectl reads the index before every apply). */
static struct {
	pthread_mutex_t lock;
	uint64_t gen;
	struct gvdoc *docs;
	size_t n;
} crc = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Lock the cache, made current for reg's CRDs; the caller unlocks crc.lock. */
static void cr_cache_lock(struct registry *reg)
{
	uint64_t gen = reg_crds_generation(reg);

	pthread_mutex_lock(&crc.lock);
	if (crc.docs && crc.gen == gen)
		return;
	cr_docs_free(crc.docs, crc.n);
	crc.n = cr_docs(reg, &crc.docs);
	crc.gen = gen;
}

static void serve_index(struct api_req *r)
{
	struct k8s_buf b = {0};
	char *json;

	for (size_t i = 0; i < ndocs; i++)
		put_index_entry(&b, &docs[i], i == 0);
	cr_cache_lock(r->srv->reg);
	for (size_t i = 0; i < crc.n; i++)
		put_index_entry(&b, &crc.docs[i], ndocs + i == 0);
	k8s_buf_puts(&b, ndocs + crc.n ? "}}" : "{\"paths\":{}}");
	pthread_mutex_unlock(&crc.lock);
	json = k8s_buf_take(&b, NULL);
	if (!json) {
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	}
	api_reply_text(r, 200, "application/json", json);
	free(json);
}

void api_serve_openapi(struct api_req *r)
{
	pthread_once(&once, build);
	if (r->method != API_M_GET && r->method != API_M_HEAD) {
		api_error(r, 405, "MethodNotAllowed",
			  "the server does not allow this method on the requested resource");
		return;
	}
	if (r->rt.type == ROUTE_OPENAPI_V2) {
		serve_v2(r);
		return;
	}
	if (r->rt.type == ROUTE_OPENAPI_V3) {
		serve_index(r);
		return;
	}
	for (size_t i = 0; r->rt.type == ROUTE_OPENAPI_V3_GV && i < ndocs; i++) {
		if (strcmp(docs[i].group, r->rt.group) == 0 &&
		    strcmp(docs[i].version, r->rt.version) == 0 && docs[i].json) {
			reply_doc(r, &docs[i], docs[i].json, docs[i].len, "application/json");
			return;
		}
	}
	if (r->rt.type == ROUTE_OPENAPI_V3_GV) {
		/* custom resources: from the cache of the CRDs served now (copied out: the
		 * cache may be rebuilt before the response is sent) */
		cr_cache_lock(r->srv->reg);
		for (size_t i = 0; i < crc.n; i++) {
			const struct gvdoc *g = &crc.docs[i];

			if (strcmp(g->group, r->rt.group) || strcmp(g->version, r->rt.version))
				continue;
			reply_doc(r, g, g->json, g->len, "application/json");
			snprintf(r->etag_own, sizeof(r->etag_own), "%s", g->etag);
			r->etag = r->etag_own;
			pthread_mutex_unlock(&crc.lock);
			return;
		}
		pthread_mutex_unlock(&crc.lock);
	}
	api_error(r, 404, "NotFound", "the server could not find the requested resource");
}
