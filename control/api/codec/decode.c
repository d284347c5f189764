/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decode: request bodies to object trees, as kube-apiserver decodes them: JSON (k8s_jv, at
 * memory speed), YAML (libfyaml through the object model, YAML 1.1 scalars as Kubernetes
 * reads them) or protobuf (the k8s\0 envelope, pb.c); checked against the kind's schema with
 * the request's fieldValidation (Strict: unknown and duplicate fields fail the request with
 * 400, Warn: they come back as Warning headers, Ignore: dropped), apiVersion/kind defaulted
 * from the endpoint and checked against it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_codec.h"
#include "api_pb.h"

int api_field_validation_parse(const char *v, enum k8s_field_validation *out, struct api_result *r)
{
	*out = K8S_FV_WARN; /* kube-apiserver's default since 1.27 */
	if (!v || !v[0])
		return 0;
	if (strcmp(v, "Strict") == 0)
		*out = K8S_FV_STRICT;
	else if (strcmp(v, "Warn") == 0)
		*out = K8S_FV_WARN;
	else if (strcmp(v, "Ignore") == 0)
		*out = K8S_FV_IGNORE;
	else {
		api_fail(r, 400, "BadRequest",
			 "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got "
			 "\"%s\"",
			 v);
		return -EINVAL;
	}
	return 0;
}

static bool media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return ctype && strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == 0 || ctype[n] == ';' || ctype[n] == ' ');
}

static int body_format(const struct api_body *body, enum api_body_format *f, struct api_result *r)
{
	const char *ct = body->ctype;

	if (!ct || !ct[0] || media_is(ct, "application/json") || media_is(ct, "*/*")) {
		*f = API_BODY_JSON;
		return 0;
	}
	if (media_is(ct, "application/yaml") || media_is(ct, "text/yaml") ||
	    media_is(ct, "application/x-yaml")) {
		*f = API_BODY_YAML;
		return 0;
	}
	if (media_is(ct, "application/vnd.kubernetes.protobuf")) {
		*f = API_BODY_PROTOBUF;
		return 0;
	}
	api_fail(
	    r, 415, "UnsupportedMediaType",
	    "the body of the request was in an unknown format - accepted media types "
	    "include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
	return -EINVAL;
}

/* The 400 of a body that does not decode into the kind: causes as one message. */
static void decode_failed(struct api_result *r, const char *kind, const char *version,
			  const struct k8s_errors *e)
{
	struct k8s_buf msg = {0}, strict = {0};

	for (size_t i = 0; i < e->n; i++) {
		const struct k8s_cause *c = &e->causes[i];
		bool is_strict = strcmp(c->reason, K8S_REASON_UNKNOWN) == 0 ||
				 strcmp(c->reason, K8S_REASON_DUPLICATE) == 0;
		struct k8s_buf *b = is_strict ? &strict : &msg;

		if (b->len)
			k8s_buf_puts(b, ", ");
		if (!is_strict && c->field[0])
			k8s_buf_printf(b, "%s: ", c->field);
		k8s_buf_puts(b, c->message);
	}
	if (strict.len) {
		if (msg.len)
			k8s_buf_puts(&msg, ", ");
		k8s_buf_printf(&msg, "strict decoding error: %s", strict.p);
	}
	api_fail(r, 400, "BadRequest", "%s in version \"%s\" cannot be handled as a %s: %s", kind,
		 version, kind, msg.p ? msg.p : "malformed object");
	k8s_buf_free(&msg);
	k8s_buf_free(&strict);
}

static void add_warnings(struct api_result *r, const struct k8s_errors *e)
{
	for (size_t i = 0; i < e->nwarn; i++)
		api_result_warn(r, "%s", e->warnings[i]);
}

/* Check (and default) apiVersion and kind against the type the endpoint expects. */
static int check_type_meta(struct api_result *r, struct jv_doc *d, struct jv *o,
			   const struct k8s_kind *kind)
{
	const char *av = jv_path_str(o, "apiVersion"), *k = jv_path_str(o, "kind");

	if (av && av[0] && strcmp(av, kind->api_version) != 0) {
		api_fail(r, 400, "BadRequest",
			 "the API version in the data (%s) does not match the expected API version "
			 "(%s)",
			 av, kind->api_version);
		return -EINVAL;
	}
	if (k && k[0] && strcmp(k, kind->kind) != 0) {
		api_fail(r, 400, "BadRequest",
			 "the kind in the data (%s) does not match the expected kind (%s)", k,
			 kind->kind);
		return -EINVAL;
	}
	if (jv_set(d, o, "kind", jv_new_strz(d, kind->kind)) != 0 ||
	    jv_set(d, o, "apiVersion", jv_new_strz(d, kind->api_version)) != 0) {
		api_fail(r, 500, "InternalError", "Internal error occurred: out of memory");
		return -ENOMEM;
	}
	return 0;
}

static struct jv *decode_json(const struct api_body *body, struct api_result *r, struct jv_doc *d,
			      const struct k8s_type *type, const char *kname, const char *version,
			      enum k8s_field_validation fv)
{
	struct k8s_validate_opts vo = {.validation = fv,
				       .checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED};
	struct k8s_errors e = {0};
	struct jv_perr pe;
	struct jv *o = jv_parse(d, body->p ? body->p : "", body->len, &pe);
	int err;

	if (!o) {
		if (errno == ENOMEM)
			api_fail(r, 500, "InternalError", "Internal error occurred: out of memory");
		else
			api_fail(r, 400, "BadRequest",
				 "couldn't get version/kind; json parse error: %s", pe.msg);
		return NULL;
	}
	if (o->type != JV_OBJECT) {
		api_fail(r, 400, "BadRequest",
			 "couldn't get version/kind; json parse error: json: cannot unmarshal %s "
			 "into Go value of type struct { APIVersion string \"json:\\\"apiVersion,"
			 "omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }",
			 o->type == JV_ARRAY	? "array"
			 : o->type == JV_STRING ? "string"
						: "number");
		return NULL;
	}
	err = k8s_jv_decode(o, type, &vo, &e);
	if (err == -EINVAL)
		decode_failed(r, kname, version, &e);
	else if (err)
		api_fail(r, 500, "InternalError", "Internal error occurred: out of memory");
	else
		add_warnings(r, &e);
	k8s_errors_free(&e);
	return err ? NULL : o;
}

static struct jv *decode_yaml(const struct api_body *body, struct api_result *r, struct jv_doc *d,
			      const struct k8s_type *type, const char *kname, const char *version,
			      enum k8s_field_validation fv)
{
	struct k8s_parse_opts po = {.validation = fv,
				    .type = type,
				    .untyped = !type,
				    .max_bytes = body->max,
				    .checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED};
	struct k8s_validate_opts vo = {.validation = K8S_FV_IGNORE,
				       .checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED};
	struct k8s_errors e = {0};
	struct jv *o = NULL;
	char *json = NULL;
	size_t len = 0;
	int err = api_yaml_parse(body->p ? body->p : "", body->len, &po, &e, &json, &len);

	if (err == -EINVAL) {
		decode_failed(r, kname, version, &e);
		goto out;
	}
	if (err) {
		api_fail(r, 500, "InternalError", "Internal error occurred: yaml: %s",
			 strerror(-err));
		goto out;
	}
	add_warnings(r, &e);
	k8s_errors_free(&e);
	o = jv_parse(d, json, len, NULL);
	/* normalized as a JSON body is (nulls, empty omitempty collections) */
	if (!o || k8s_jv_decode(o, type, &vo, &e) != 0) {
		api_fail(r, 500, "InternalError", "Internal error occurred: decode");
		o = NULL;
	}
out:
	k8s_errors_free(&e);
	free(json);
	return o;
}

static struct jv *decode_protobuf(const struct api_body *body, struct api_result *r,
				  struct jv_doc *d, const struct k8s_type *type, const char *kname,
				  const char *version, enum k8s_field_validation fv)
{
	char msg[256];
	struct jv *o =
	    api_pb_decode(d, (const uint8_t *)body->p, body->len, type, msg, sizeof(msg));
	struct k8s_validate_opts vo = {.validation = fv,
				       .checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED};
	struct k8s_errors e = {0};
	int err;

	if (!o) {
		api_fail(r, 400, "BadRequest", "%s in version \"%s\" cannot be handled as a %s: %s",
			 kname, version, kname, msg);
		return NULL;
	}
	err = k8s_jv_decode(o, type, &vo, &e);
	if (err)
		decode_failed(r, kname, version, &e);
	k8s_errors_free(&e);
	return err ? NULL : o;
}

/* A body of type (NULL: a custom resource's, without a generated schema) named kname in
 * version. */
static struct jv *decode_body(const struct api_body *body, struct jv_doc *d,
			      const struct k8s_type *type, const char *kname, const char *version,
			      enum k8s_field_validation fv, struct api_result *r)
{
	enum api_body_format f;

	if (body_format(body, &f, r) != 0)
		return NULL;
	/* custom resources have no protobuf form (as kube-apiserver's: JSON and YAML only) */
	if (!type && f == API_BODY_PROTOBUF) {
		api_fail(r, 415, "UnsupportedMediaType",
			 "the body of the request was in an unknown format - accepted media types "
			 "include: application/json, application/yaml");
		return NULL;
	}
	switch (f) {
	case API_BODY_JSON:
		return decode_json(body, r, d, type, kname, version, fv);
	case API_BODY_YAML:
		return decode_yaml(body, r, d, type, kname, version, fv);
	case API_BODY_PROTOBUF:
		return decode_protobuf(body, r, d, type, kname, version, fv);
	}
	return NULL;
}

struct jv *api_decode_as(const struct api_body *body, struct jv_doc *d, const struct k8s_type *type,
			 enum k8s_field_validation fv, struct api_result *r)
{
	const struct k8s_kind *k = k8s_kind_of_type(type);

	return decode_body(body, d, type, k ? k->kind : type->go, k ? k->version : "v1", fv, r);
}

struct jv *api_decode_apply(const struct api_body *body, struct jv_doc *d,
			    const struct k8s_kind *kind, enum k8s_field_validation fv,
			    struct api_result *r)
{
	const char *p = body->p ? body->p : "";
	struct jv *o;

	/* an apply configuration is YAML, of which JSON (what kubectl sends) is a subset */
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	if (*p == '{')
		o = decode_json(body, r, d, kind->type, kind->kind, kind->version, fv);
	else
		o = decode_yaml(body, r, d, kind->type, kind->kind, kind->version, fv);
	if (!o)
		return NULL;
	if (!jv_path_str(o, "apiVersion") || !jv_path_str(o, "kind")) {
		api_fail(r, 400, "BadRequest",
			 "apiVersion and kind must be set in an apply "
			 "configuration");
		return NULL;
	}
	return check_type_meta(r, d, o, kind) == 0 ? o : NULL;
}

void api_decode_unknown_fields(struct api_result *r, const struct k8s_kind *kind,
			       const char *const *paths, size_t n, enum k8s_field_validation fv)
{
	struct k8s_errors e = {0};

	if (!n || fv == K8S_FV_IGNORE)
		return;
	for (size_t i = 0; i < n; i++) {
		if (fv == K8S_FV_STRICT)
			k8s_errors_add(&e, paths[i], K8S_REASON_UNKNOWN, 0, 0,
				       "unknown field \"%s\"", paths[i]);
		else
			k8s_errors_warn(&e, "unknown field \"%s\"", paths[i]);
	}
	/* transformDecodeError names the version alone ("in version \"v1\"") */
	if (e.n)
		decode_failed(r, kind->kind, kind->version, &e);
	else
		add_warnings(r, &e);
	k8s_errors_free(&e);
}

struct jv *api_decode_object(const struct api_body *body, struct jv_doc *d,
			     const struct k8s_kind *kind, enum k8s_field_validation fv,
			     struct api_result *r)
{
	struct jv *o = decode_body(body, d, kind->type, kind->kind, kind->version, fv, r);

	return o && check_type_meta(r, d, o, kind) == 0 ? o : NULL;
}

int api_decode_tree(struct jv_doc *d, struct jv *o, const struct k8s_kind *kind,
		    enum k8s_field_validation fv, struct api_result *r)
{
	struct k8s_validate_opts vo = {.validation = fv,
				       .checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED};
	struct k8s_errors e = {0};
	int err;

	if (!o || o->type != JV_OBJECT) {
		api_fail(r, 400, "BadRequest", "the object is not a JSON object");
		return -EINVAL;
	}
	err = k8s_jv_decode(o, kind->type, &vo, &e);
	if (err == -EINVAL)
		decode_failed(r, kind->kind, kind->version, &e);
	else if (err)
		api_fail_oom(r);
	else
		add_warnings(r, &e);
	k8s_errors_free(&e);
	if (err)
		return err;
	return check_type_meta(r, d, o, kind);
}
