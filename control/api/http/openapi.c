/* SPDX-License-Identifier: Apache-2.0 */
/*
 * openapi: OpenAPI v3 documents generated from the schema tables: the index (/openapi/v3)
 * and one document per group version, with a schema for every type its kinds reach (field
 * types, enums, required fields, list types and map keys, patch strategies and merge keys,
 * x-kubernetes-group-version-kind on the kinds) and the paths of its resources with their
 * operations (x-kubernetes-group-version-kind, x-kubernetes-action, fieldValidation...).
 * kubectl apply validates through the server with it; kubectl explain reads the schemas.
 * Documents are built once and kept. /openapi/v2 is not served (404: kubectl falls back).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_http.h"
#include "hmap.h"

struct gvdoc {
	const char *group, *version;
	char *json;
	size_t len;
	char hash[24];
};

#define MAX_GV 32

static struct gvdoc docs[MAX_GV];
static size_t ndocs;
static char *index_json;
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
static void put_value(struct k8s_buf *b, const struct k8s_value *v);

static void put_value_closed(struct k8s_buf *b, const struct k8s_value *v)
{
	put_value(b, v);
	k8s_buf_putc(b, '}');
}

static void put_ref(struct k8s_buf *b, const struct k8s_type *t)
{
	k8s_buf_puts(b, "{\"allOf\":[{\"$ref\":\"#/components/schemas/");
	k8s_buf_puts(b, t->name);
	k8s_buf_puts(b, "\"}]");
}

static void put_value(struct k8s_buf *b, const struct k8s_value *v)
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
		put_value_closed(b, v->elem);
		break;
	case K8S_V_MAP:
		k8s_buf_puts(b, "{\"type\":\"object\",\"additionalProperties\":");
		put_value_closed(b, v->elem);
		break;
	case K8S_V_ANY:
		k8s_buf_puts(b, "{\"x-kubernetes-preserve-unknown-fields\":true");
		break;
	default: /* structs and the special types: their schema */
		put_ref(b, v->type);
		break;
	}
}

static void put_field(struct k8s_buf *b, const struct k8s_field *f)
{
	put_value(b, f->value);
	if (f->default_json)
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
static void put_properties(struct k8s_buf *b, const struct k8s_type *t, bool *first, int depth)
{
	for (size_t i = 0; i < t->nfields && depth < 8; i++) {
		const struct k8s_field *f = &t->fields[i];

		if ((f->flags & K8S_F_INLINE) && f->value->kind == K8S_V_STRUCT) {
			put_properties(b, f->value->type, first, depth + 1);
			continue;
		}
		if (!f->json || !f->json[0])
			continue;
		if (!*first)
			k8s_buf_putc(b, ',');
		*first = false;
		put_str(b, f->json);
		k8s_buf_putc(b, ':');
		put_field(b, f);
	}
}

static void put_required(struct k8s_buf *b, const struct k8s_type *t)
{
	bool first = true;

	for (size_t i = 0; i < t->nfields; i++) {
		const struct k8s_field *f = &t->fields[i];

		if (!(f->flags & K8S_F_REQUIRED) || !f->json || !f->json[0])
			continue;
		k8s_buf_puts(b, first ? ",\"required\":[" : ",");
		first = false;
		put_str(b, f->json);
	}
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

static void put_schema(struct k8s_buf *b, const struct k8s_type *t)
{
	bool first = true;

	put_str(b, t->name);
	switch (t->kind) {
	case K8S_V_QUANTITY:
		k8s_buf_puts(b, ":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]}");
		return;
	case K8S_V_INT_OR_STRING:
		k8s_buf_puts(b, ":{\"type\":\"string\",\"format\":\"int-or-string\","
				"\"x-kubernetes-int-or-string\":true}");
		return;
	case K8S_V_TIME:
	case K8S_V_MICROTIME:
		k8s_buf_puts(b, ":{\"type\":\"string\",\"format\":\"date-time\"}");
		return;
	case K8S_V_DURATION:
		k8s_buf_puts(b, ":{\"type\":\"string\"}");
		return;
	case K8S_V_RAW_EXTENSION:
	case K8S_V_FIELDS_V1:
		k8s_buf_puts(b, ":{\"type\":\"object\"}");
		return;
	default:
		break;
	}
	k8s_buf_puts(b, ":{\"type\":\"object\",\"properties\":{");
	put_properties(b, t, &first, 0);
	k8s_buf_putc(b, '}');
	put_required(b, t);
	if (t->struct_type == K8S_STRUCT_ATOMIC)
		k8s_buf_puts(b, ",\"x-kubernetes-map-type\":\"atomic\"");
	put_gvk_list(b, t);
	k8s_buf_putc(b, '}');
}

/* ---- paths ---- */

static void put_params(struct k8s_buf *b, const char *const *names)
{
	k8s_buf_puts(b, "\"parameters\":[");
	for (size_t i = 0; names[i]; i++) {
		bool in_path = strcmp(names[i], "name") == 0 || strcmp(names[i], "namespace") == 0;

		k8s_buf_printf(b,
			       "%s{\"name\":\"%s\",\"in\":\"%s\",%s\"schema\":{\"type\":\"%s\","
			       "\"uniqueItems\":true}}",
			       i ? "," : "", names[i], in_path ? "path" : "query",
			       in_path ? "\"required\":true," : "",
			       strcmp(names[i], "force") == 0 || strcmp(names[i], "watch") == 0
				   ? "boolean"
			       : strcmp(names[i], "limit") == 0 ? "integer"
								: "string");
	}
	k8s_buf_putc(b, ']');
}

static void put_op(struct k8s_buf *b, const char *method, const char *action,
		   const struct api_resource *res, const char *id, const char *const *params,
		   bool *first)
{
	const struct k8s_kind *k = res->kind;

	k8s_buf_printf(b, "%s\"%s\":{\"operationId\":\"%s%s\",", *first ? "" : ",", method, id,
		       k->kind);
	*first = false;
	put_params(b, params);
	k8s_buf_printf(b,
		       ",\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{"
		       "\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/%s\"}}}},"
		       "\"401\":{\"description\":\"Unauthorized\"}},\"x-kubernetes-action\":\"%s\","
		       "\"x-kubernetes-group-version-kind\":{\"group\":\"%s\",\"version\":\"%s\","
		       "\"kind\":\"%s\"}}",
		       k->type->name, action, k->group, k->version, k->kind);
}

static void put_paths(struct k8s_buf *b, const char *group, const char *version)
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
	bool firstpath = true;

	for (size_t i = 0; i < api_nresources; i++) {
		const struct api_resource *res = &api_resources[i];
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
		k8s_buf_printf(b, "%s\"%s/%s\":{", firstpath ? "" : ",", base, k->resource);
		firstpath = false;
		if (res->verbs & API_VERB_LIST)
			put_op(b, "get", "list", res, "list",
			       coll_list + !api_resource_namespaced(res), &first);
		if (res->verbs & API_VERB_CREATE)
			put_op(b, "post", "post", res, "create",
			       coll_create + !api_resource_namespaced(res), &first);
		if (res->verbs & API_VERB_DELETECOLLECTION)
			put_op(b, "delete", "deletecollection", res, "deleteCollection",
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
				put_op(b, "get", "get", res, "read", g, &first);
			if (res->verbs & API_VERB_UPDATE)
				put_op(b, "put", "put", res, "replace", w, &first);
			/* kubectl asks a kind's PATCH operation whether the server validates its
			 * fields (fieldValidation), whatever verb it is about to use: every kind
			 * has one here (a kind without the patch verb answers 405 to it) */
			put_op(b, "patch", "patch", res, "patch", p, &first);
			if (res->verbs & API_VERB_DELETE)
				put_op(b, "delete", "delete", res, "delete", dl, &first);
		}
		k8s_buf_putc(b, '}');
	}
}

/* ---- documents ---- */

static void build_gv(struct gvdoc *g)
{
	struct k8s_buf b = {0};
	struct typeset *ts = calloc(1, sizeof(*ts));
	bool first = true;

	if (!ts)
		return;
	for (size_t i = 0; i < api_nresources; i++) {
		const struct k8s_kind *k = api_resources[i].kind;

		if (strcmp(k->group, g->group) == 0 && strcmp(k->version, g->version) == 0)
			reach_type(ts, k->type);
	}
	reach_type(ts, k8s_type_find("io.k8s.apimachinery.pkg.apis.meta.v1.Status"));
	reach_type(ts, k8s_type_find("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
	k8s_buf_printf(&b,
		       "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":"
		       "\"%s\"},\"paths\":{",
		       API_GIT_VERSION);
	put_paths(&b, g->group, g->version);
	k8s_buf_puts(&b, "},\"components\":{\"schemas\":{");
	for (size_t i = 0; i < ts->n; i++) {
		if (!first)
			k8s_buf_putc(&b, ',');
		first = false;
		put_schema(&b, ts->t[i]);
	}
	k8s_buf_puts(&b,
		     "},\"securitySchemes\":{\"BearerToken\":{\"type\":\"apiKey\",\"description\":"
		     "\"Bearer Token authentication\",\"name\":\"authorization\",\"in\":"
		     "\"header\"}}},\"security\":[{\"BearerToken\":[]}]}");
	free(ts);
	g->json = k8s_buf_take(&b, &g->len);
	if (g->json)
		snprintf(g->hash, sizeof(g->hash), "%016" PRIX64, hmap_hash(g->json, g->len));
}

static void build(void)
{
	struct k8s_buf b = {0};

	for (size_t i = 0; i < api_nresources && ndocs < MAX_GV; i++) {
		const struct k8s_kind *k = api_resources[i].kind;
		size_t j;

		for (j = 0; j < ndocs; j++)
			if (strcmp(docs[j].group, k->group) == 0 &&
			    strcmp(docs[j].version, k->version) == 0)
				break;
		if (j < ndocs)
			continue;
		docs[ndocs].group = k->group;
		docs[ndocs].version = k->version;
		build_gv(&docs[ndocs]);
		ndocs++;
	}
	k8s_buf_puts(&b, "{\"paths\":{");
	for (size_t i = 0; i < ndocs; i++) {
		char path[128];

		if (docs[i].group[0])
			snprintf(path, sizeof(path), "apis/%s/%s", docs[i].group, docs[i].version);
		else
			snprintf(path, sizeof(path), "api/%s", docs[i].version);
		k8s_buf_printf(&b, "%s\"%s\":{\"serverRelativeURL\":\"/openapi/v3/%s?hash=%s\"}",
			       i ? "," : "", path, path, docs[i].hash);
	}
	k8s_buf_puts(&b, "}}");
	index_json = k8s_buf_take(&b, NULL);
}

void api_serve_openapi(struct api_req *r)
{
	pthread_once(&once, build);
	if (r->method != API_M_GET && r->method != API_M_HEAD) {
		api_error(r, 405, "MethodNotAllowed",
			  "the server does not allow this method on the requested resource");
		return;
	}
	if (r->rt.type == ROUTE_OPENAPI_V3 && index_json) {
		api_reply_text(r, 200, "application/json", index_json);
		return;
	}
	for (size_t i = 0; r->rt.type == ROUTE_OPENAPI_V3_GV && i < ndocs; i++) {
		if (strcmp(docs[i].group, r->rt.group) == 0 &&
		    strcmp(docs[i].version, r->rt.version) == 0 && docs[i].json) {
			char *copy = malloc(docs[i].len + 1);

			if (!copy)
				break;
			memcpy(copy, docs[i].json, docs[i].len + 1);
			api_reply_json(r, 200, copy, docs[i].len);
			return;
		}
	}
	api_error(r, 404, "NotFound", "the server could not find the requested resource");
}
