/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gnostic: a Swagger 2.0 JSON document as the protobuf message kube-apiserver serves at
 * /openapi/v2 to `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`:
 * gnostic's openapi.v2.Document (github.com/google/gnostic openapiv2/OpenAPIv2.proto), which
 * kube-openapi's handler makes with openapi_v2.ParseDocument(json) then proto.Marshal.
 *
 * Driven by a table of the messages drover's documents use: each JSON member maps to a field
 * number and a kind; the oneof messages (ParametersItem, ResponseValue, ...) choose their
 * branch as gnostic's compiler does (by "$ref", by "in", by the JSON shape); a map becomes
 * repeated Named* {1: name, 2: value} entries; "x-" members become repeated NamedAny whose
 * Any carries the value as YAML text (JSON is YAML; kube-openapi reads it with
 * yaml.Unmarshal). proto3: false, zero and "" scalars are left out; messages are always
 * written, empty ones too (Go tells an empty Properties from none). Members the table does
 * not know are left out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_gnostic.h"
#include "api_pbw.h"

enum gkind {
	G_STR,	   /* string */
	G_BOOL,	   /* bool */
	G_DOUBLE,  /* double (fixed64) */
	G_INT64,   /* int64 (varint) */
	G_STRS,	   /* repeated string, from an array */
	G_MSG,	   /* a message */
	G_MSGS,	   /* repeated message, from an array */
	G_ANY,	   /* Any {2: yaml} */
	G_ANYS,	   /* repeated Any, from an array */
	G_TYPE,	   /* TypeItem {repeated string value = 1}: a string or an array */
	G_ITEMS,   /* ItemsItem {repeated Schema schema = 1}: a schema or an array */
	G_ADDPROP, /* AdditionalPropertiesItem {Schema schema = 1; bool boolean = 2} */
	G_SCHEMAI, /* SchemaItem {Schema schema = 1} */
	G_PARAM,   /* ParametersItem (repeated, from an array) */
	G_RESPVAL, /* ResponseValue {Response response = 1; JsonReference json_reference = 2} */
	G_SECDEF,  /* SecurityDefinitionsItem */
};

struct gmsg;

struct gfield {
	const char *key;
	uint32_t num;
	enum gkind kind;
	const struct gmsg *msg;
};

struct gmsg {
	const struct gfield *f;
	size_t n;
	uint32_t vendor;     /* repeated NamedAny for "x-" members; 0: none */
	uint32_t named;	     /* repeated Named{name, value} for every other member; 0: none */
	struct gfield value; /* the Named entries' value (num 2) */
};

#define MSG(fields, ...)                                                \
	{                                                               \
		fields, sizeof(fields) / sizeof(fields[0]), __VA_ARGS__ \
	}

extern const struct gmsg g_schema, g_response, g_string_array;

static const struct gmsg g_properties = {NULL, 0, 0, 1, {"", 2, G_MSG, &g_schema}};

static const struct gfield f_schema[] = {
    {"$ref", 1, G_STR, NULL},
    {"format", 2, G_STR, NULL},
    {"title", 3, G_STR, NULL},
    {"description", 4, G_STR, NULL},
    {"default", 5, G_ANY, NULL},
    {"multipleOf", 6, G_DOUBLE, NULL},
    {"maximum", 7, G_DOUBLE, NULL},
    {"exclusiveMaximum", 8, G_BOOL, NULL},
    {"minimum", 9, G_DOUBLE, NULL},
    {"exclusiveMinimum", 10, G_BOOL, NULL},
    {"maxLength", 11, G_INT64, NULL},
    {"minLength", 12, G_INT64, NULL},
    {"pattern", 13, G_STR, NULL},
    {"maxItems", 14, G_INT64, NULL},
    {"minItems", 15, G_INT64, NULL},
    {"uniqueItems", 16, G_BOOL, NULL},
    {"maxProperties", 17, G_INT64, NULL},
    {"minProperties", 18, G_INT64, NULL},
    {"required", 19, G_STRS, NULL},
    {"enum", 20, G_ANYS, NULL},
    {"additionalProperties", 21, G_ADDPROP, NULL},
    {"type", 22, G_TYPE, NULL},
    {"items", 23, G_ITEMS, NULL},
    {"allOf", 24, G_MSGS, &g_schema},
    {"properties", 25, G_MSG, &g_properties},
    {"discriminator", 26, G_STR, NULL},
    {"readOnly", 27, G_BOOL, NULL},
    {"example", 30, G_ANY, NULL},
};
const struct gmsg g_schema = MSG(f_schema, 31, 0, {0});

static const struct gfield f_body_param[] = {
    {"description", 1, G_STR, NULL}, {"name", 2, G_STR, NULL},	      {"in", 3, G_STR, NULL},
    {"required", 4, G_BOOL, NULL},   {"schema", 5, G_MSG, &g_schema},
};
static const struct gmsg g_body_param = MSG(f_body_param, 6, 0, {0});

/* QueryParameterSubSchema and FormDataParameterSubSchema (allowEmptyValue = 5 shifts the
 * rest by one) */
static const struct gfield f_query_param[] = {
    {"required", 1, G_BOOL, NULL},	  {"in", 2, G_STR, NULL},
    {"description", 3, G_STR, NULL},	  {"name", 4, G_STR, NULL},
    {"allowEmptyValue", 5, G_BOOL, NULL}, {"type", 6, G_STR, NULL},
    {"format", 7, G_STR, NULL},		  {"collectionFormat", 9, G_STR, NULL},
    {"default", 10, G_ANY, NULL},	  {"pattern", 17, G_STR, NULL},
    {"uniqueItems", 20, G_BOOL, NULL},	  {"enum", 21, G_ANYS, NULL},
};
static const struct gmsg g_query_param = MSG(f_query_param, 23, 0, {0});

/* PathParameterSubSchema and HeaderParameterSubSchema */
static const struct gfield f_path_param[] = {
    {"required", 1, G_BOOL, NULL},
    {"in", 2, G_STR, NULL},
    {"description", 3, G_STR, NULL},
    {"name", 4, G_STR, NULL},
    {"type", 5, G_STR, NULL},
    {"format", 6, G_STR, NULL},
    {"collectionFormat", 8, G_STR, NULL},
    {"default", 9, G_ANY, NULL},
    {"pattern", 16, G_STR, NULL},
    {"uniqueItems", 19, G_BOOL, NULL},
    {"enum", 20, G_ANYS, NULL},
};
static const struct gmsg g_path_param = MSG(f_path_param, 22, 0, {0});

static const struct gfield f_json_ref[] = {
    {"$ref", 1, G_STR, NULL},
    {"description", 2, G_STR, NULL},
};
static const struct gmsg g_json_ref = MSG(f_json_ref, 0, 0, {0});

static const struct gmsg g_responses = {NULL, 0, 2, 1, {"", 2, G_RESPVAL, NULL}};

static const struct gfield f_operation[] = {
    {"tags", 1, G_STRS, NULL},	      {"summary", 2, G_STR, NULL},
    {"description", 3, G_STR, NULL},  {"operationId", 5, G_STR, NULL},
    {"produces", 6, G_STRS, NULL},    {"consumes", 7, G_STRS, NULL},
    {"parameters", 8, G_PARAM, NULL}, {"responses", 9, G_MSG, &g_responses},
    {"schemes", 10, G_STRS, NULL},    {"deprecated", 11, G_BOOL, NULL},
};
static const struct gmsg g_operation = MSG(f_operation, 13, 0, {0});

static const struct gfield f_path_item[] = {
    {"$ref", 1, G_STR, NULL},		{"get", 2, G_MSG, &g_operation},
    {"put", 3, G_MSG, &g_operation},	{"post", 4, G_MSG, &g_operation},
    {"delete", 5, G_MSG, &g_operation}, {"options", 6, G_MSG, &g_operation},
    {"head", 7, G_MSG, &g_operation},	{"patch", 8, G_MSG, &g_operation},
    {"parameters", 9, G_PARAM, NULL},
};
static const struct gmsg g_path_item = MSG(f_path_item, 10, 0, {0});

static const struct gmsg g_paths = {NULL, 0, 1, 2, {"", 2, G_MSG, &g_path_item}};

static const struct gfield f_response[] = {
    {"description", 1, G_STR, NULL},
    {"schema", 2, G_SCHEMAI, NULL},
};
const struct gmsg g_response = MSG(f_response, 5, 0, {0});

static const struct gfield f_info[] = {
    {"title", 1, G_STR, NULL},
    {"version", 2, G_STR, NULL},
    {"description", 3, G_STR, NULL},
    {"termsOfService", 4, G_STR, NULL},
};
static const struct gmsg g_info = MSG(f_info, 7, 0, {0});

static const struct gmsg g_definitions = {NULL, 0, 0, 1, {"", 2, G_MSG, &g_schema}};

static const struct gfield f_string_array[] = {{"", 1, G_STRS, NULL}};
const struct gmsg g_string_array = MSG(f_string_array, 0, 0, {0});

/* SecurityRequirement: repeated NamedStringArray additional_properties = 1 */
static const struct gmsg g_security_req = {NULL, 0, 0, 1, {"", 2, G_MSG, &g_string_array}};

static const struct gfield f_api_key[] = {
    {"type", 1, G_STR, NULL},
    {"name", 2, G_STR, NULL},
    {"in", 3, G_STR, NULL},
    {"description", 4, G_STR, NULL},
};
static const struct gmsg g_api_key = MSG(f_api_key, 5, 0, {0});

static const struct gfield f_basic_auth[] = {
    {"type", 1, G_STR, NULL},
    {"description", 2, G_STR, NULL},
};
static const struct gmsg g_basic_auth = MSG(f_basic_auth, 3, 0, {0});

static const struct gmsg g_security_defs = {NULL, 0, 0, 1, {"", 2, G_SECDEF, NULL}};

static const struct gfield f_document[] = {
    {"swagger", 1, G_STR, NULL},
    {"info", 2, G_MSG, &g_info},
    {"host", 3, G_STR, NULL},
    {"basePath", 4, G_STR, NULL},
    {"schemes", 5, G_STRS, NULL},
    {"consumes", 6, G_STRS, NULL},
    {"produces", 7, G_STRS, NULL},
    {"paths", 8, G_MSG, &g_paths},
    {"definitions", 9, G_MSG, &g_definitions},
    {"security", 12, G_MSGS, &g_security_req},
    {"securityDefinitions", 13, G_MSG, &g_security_defs},
};
static const struct gmsg g_document = MSG(f_document, 16, 0, {0});

static void put_msg(struct pbw *w, uint32_t num, const struct gmsg *m, const struct jv *v);
static void put_value(struct pbw *w, const struct gfield *f, const struct jv *v);

static const char *str_of(const struct jv *v)
{
	return v && v->type == JV_STRING ? v->s : NULL;
}

/* Any {google.protobuf.Any value = 1; string yaml = 2;}: the value as JSON text */
static void put_any(struct pbw *w, uint32_t num, const struct jv *v)
{
	struct k8s_buf t = {0};

	jv_write(&t, v);
	k8s_buf_putc(&t, '\n');
	pbw_begin(w, num);
	pbw_bytes_field(w, 2, t.p ? t.p : "", t.len);
	pbw_end(w);
	if (t.oom)
		w->b.oom = true;
	k8s_buf_free(&t);
}

static void put_param(struct pbw *w, uint32_t num, const struct jv *v)
{
	const char *in = str_of(jv_get(v, "in"));

	pbw_begin(w, num);
	if (jv_get(v, "$ref")) {
		put_msg(w, 2, &g_json_ref, v);
	} else {
		pbw_begin(w, 1); /* Parameter */
		if (in && strcmp(in, "body") == 0) {
			put_msg(w, 1, &g_body_param, v);
		} else {
			/* NonBodyParameter: header 1, formData 2, query 3, path 4 */
			pbw_begin(w, 2);
			if (in && strcmp(in, "header") == 0)
				put_msg(w, 1, &g_path_param, v);
			else if (in && strcmp(in, "formData") == 0)
				put_msg(w, 2, &g_query_param, v);
			else if (in && strcmp(in, "path") == 0)
				put_msg(w, 4, &g_path_param, v);
			else
				put_msg(w, 3, &g_query_param, v);
			pbw_end(w);
		}
		pbw_end(w);
	}
	pbw_end(w);
}

static void put_value(struct pbw *w, const struct gfield *f, const struct jv *v)
{
	const struct jv *c;

	switch (f->kind) {
	case G_STR:
		if (v->type == JV_STRING && v->len)
			pbw_bytes_field(w, f->num, v->s, v->len);
		break;
	case G_BOOL:
		if (v->type == JV_TRUE)
			pbw_varint_field(w, f->num, 1);
		break;
	case G_DOUBLE:
		if (v->type == JV_NUMBER && strtod(v->s, NULL) != 0)
			pbw_double_field(w, f->num, strtod(v->s, NULL));
		break;
	case G_INT64:
		if (v->type == JV_NUMBER && strtoll(v->s, NULL, 10) != 0)
			pbw_varint_field(w, f->num, (uint64_t)strtoll(v->s, NULL, 10));
		break;
	case G_STRS:
		for (c = jv_first(v); v->type == JV_ARRAY && c; c = c->next)
			if (c->type == JV_STRING)
				pbw_bytes_field(w, f->num, c->s, c->len);
		break;
	case G_MSG:
		put_msg(w, f->num, f->msg, v);
		break;
	case G_MSGS:
		for (c = jv_first(v); v->type == JV_ARRAY && c; c = c->next)
			put_msg(w, f->num, f->msg, c);
		break;
	case G_ANY:
		put_any(w, f->num, v);
		break;
	case G_ANYS:
		for (c = jv_first(v); v->type == JV_ARRAY && c; c = c->next)
			put_any(w, f->num, c);
		break;
	case G_TYPE:
		pbw_begin(w, f->num);
		if (v->type == JV_STRING)
			pbw_bytes_field(w, 1, v->s, v->len);
		for (c = jv_first(v); v->type == JV_ARRAY && c; c = c->next)
			if (c->type == JV_STRING)
				pbw_bytes_field(w, 1, c->s, c->len);
		pbw_end(w);
		break;
	case G_ITEMS:
		pbw_begin(w, f->num);
		if (v->type == JV_OBJECT)
			put_msg(w, 1, &g_schema, v);
		for (c = jv_first(v); v->type == JV_ARRAY && c; c = c->next)
			put_msg(w, 1, &g_schema, c);
		pbw_end(w);
		break;
	case G_ADDPROP:
		pbw_begin(w, f->num);
		if (v->type == JV_TRUE || v->type == JV_FALSE)
			pbw_varint_field(w, 2, v->type == JV_TRUE);
		else
			put_msg(w, 1, &g_schema, v);
		pbw_end(w);
		break;
	case G_SCHEMAI:
		pbw_begin(w, f->num);
		put_msg(w, 1, &g_schema, v);
		pbw_end(w);
		break;
	case G_PARAM:
		for (c = jv_first(v); v->type == JV_ARRAY && c; c = c->next)
			put_param(w, f->num, c);
		break;
	case G_RESPVAL:
		pbw_begin(w, f->num);
		if (jv_get(v, "$ref"))
			put_msg(w, 2, &g_json_ref, v);
		else
			put_msg(w, 1, &g_response, v);
		pbw_end(w);
		break;
	case G_SECDEF: {
		const char *type = str_of(jv_get(v, "type"));

		pbw_begin(w, f->num);
		if (type && strcmp(type, "basic") == 0)
			put_msg(w, 1, &g_basic_auth, v);
		else if (type && strcmp(type, "apiKey") == 0)
			put_msg(w, 2, &g_api_key, v);
		pbw_end(w);
		break;
	}
	}
}

/* The fields of message m from a JSON object; a non-object (StringArray's array) is m's one
 * keyless field. */
static void put_fields(struct pbw *w, const struct gmsg *m, const struct jv *v)
{
	if (v->type != JV_OBJECT) {
		if (m->n == 1 && !m->f[0].key[0])
			put_value(w, &m->f[0], v);
		return;
	}
	/* fields in field-number order, as proto.Marshal writes them */
	for (size_t i = 0; i < m->n; i++) {
		const struct jv *c = jv_get(v, m->f[i].key);

		if (c)
			put_value(w, &m->f[i], c);
	}
	for (const struct jv *c = jv_first(v); c; c = c->next) {
		bool known = false;

		for (size_t i = 0; i < m->n && !known; i++)
			known = strcmp(m->f[i].key, c->key) == 0;
		if (known)
			continue;
		if (strncmp(c->key, "x-", 2) == 0 && m->vendor) {
			pbw_begin(w, m->vendor); /* NamedAny */
			pbw_bytes_field(w, 1, c->key, c->klen);
			put_any(w, 2, c);
			pbw_end(w);
		} else if (m->named) {
			pbw_begin(w, m->named);
			pbw_bytes_field(w, 1, c->key, c->klen);
			put_value(w, &m->value, c);
			pbw_end(w);
		}
	}
}

static void put_msg(struct pbw *w, uint32_t num, const struct gmsg *m, const struct jv *v)
{
	pbw_begin(w, num);
	put_fields(w, m, v);
	pbw_end(w);
}

uint8_t *api_gnostic_v2(const char *json, size_t len, size_t *out_len)
{
	struct jv_doc *d = jv_doc_new();
	struct jv_perr perr;
	struct jv *v;
	struct pbw w = {0};
	char *out = NULL;

	if (!d)
		return NULL;
	v = jv_parse(d, json, len, &perr);
	if (v && v->type == JV_OBJECT) {
		put_fields(&w, &g_document, v);
		out = k8s_buf_take(&w.b, out_len);
		if (!out)
			errno = ENOMEM;
	} else if (v) {
		errno = EINVAL;
	}
	jv_doc_free(d);
	return (uint8_t *)out;
}
