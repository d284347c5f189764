/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_openapi: the OpenAPI documents. /openapi/v2 as kube-apiserver 1.32 serves it
 * (definitions named io.k8s.api.core.v1.Pod with descriptions, required, the gvk, patch and
 * list extensions; a path with its operations for every served resource of the resource
 * table), the same document as gnostic's protobuf Document (decoded here by a small reader of
 * the fields it checks: github.com/google/gnostic openapiv2/OpenAPIv2.proto), the v3
 * documents' descriptions and types as kubectl explain reads them, and the ETag/304/406
 * handling of kube-openapi's handler (pkg/handler/handler.go: computeETag is the SHA-512 of
 * the JSON, quoted; the protobuf shares it; http.ServeContent answers If-None-Match).
 */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <gnutls/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "api_resources.h"
#include "helpers.h"

#define V2_PB "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

/* ---- a protobuf reader of the gnostic fields the tests check ---- */

struct pbv {
	const uint8_t *p;
	size_t len;
};

static bool rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The n-th (from 0) length-delimited field num of message m; false if there is none. Fails
 * the test on malformed input. */
static bool pb_get(struct pbv m, uint32_t num, size_t n, struct pbv *out)
{
	const uint8_t *p = m.p, *end = m.p + m.len;

	while (p < end) {
		uint64_t key, len;

		assert_true(rd_varint(&p, end, &key));
		switch (key & 7) {
		case 0:
			assert_true(rd_varint(&p, end, &len));
			break;
		case 1:
			assert_true(end - p >= 8);
			p += 8;
			break;
		case 2:
			assert_true(rd_varint(&p, end, &len));
			assert_true(len <= (uint64_t)(end - p));
			if ((key >> 3) == num && n-- == 0) {
				out->p = p;
				out->len = len;
				return true;
			}
			p += len;
			break;
		default:
			fail_msg("wire type %u", (unsigned)(key & 7));
		}
	}
	return false;
}

static size_t pb_count(struct pbv m, uint32_t num)
{
	struct pbv x;
	size_t n = 0;

	while (pb_get(m, num, n, &x))
		n++;
	return n;
}

static bool pb_is(struct pbv v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* The value (field 2) of the Named* entry (repeated field num) called name. */
static bool pb_named(struct pbv m, uint32_t num, const char *name, struct pbv *value)
{
	struct pbv e, k;

	for (size_t i = 0; pb_get(m, num, i, &e); i++)
		if (pb_get(e, 1, 0, &k) && pb_is(k, name))
			return pb_get(e, 2, 0, value);
	return false;
}

static char *pb_str(struct pbv v)
{
	char *s = strndup((const char *)v.p, v.len);

	assert_non_null(s);
	return s;
}

/* ---- JSON shape ---- */

static const struct jv *def(const struct jv *doc, const char *name)
{
	const struct jv *d = jv_get(jv_get(doc, "definitions"), name);

	if (!d)
		fail_msg("no definition %s", name);
	return d;
}

/* Every "$ref" of v names a definition of doc. */
static void refs_resolve(const struct jv *doc, const struct jv *v)
{
	for (const struct jv *c = jv_first(v); c; c = c->next) {
		if (c->key && strcmp(c->key, "$ref") == 0 && c->type == JV_STRING) {
			assert_int_equal(strncmp(c->s, "#/definitions/", 14), 0);
			def(doc, c->s + 14);
		}
		refs_resolve(doc, c);
	}
}

static bool has_str(const struct jv *a, const char *s)
{
	for (const struct jv *c = jv_first(a); c; c = c->next)
		if (jv_is_str(c, s))
			return true;
	return false;
}

static void test_v2_json(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	const struct jv *doc, *pod, *spec, *ctrs, *gvk, *op, *p;
	const struct k8s_type *ct = k8s_type_find("io.k8s.api.core.v1.Container");
	bool found = false;

	doc = tget(t, "/openapi/v2", 200, &r);
	assert_string_equal(r.ctype, "application/json");
	assert_string_equal(tstr(doc, "swagger"), "2.0");
	assert_string_equal(tstr(doc, "info.title"), "Kubernetes");
	pod = def(doc, "io.k8s.api.core.v1.Pod");
	assert_non_null(strstr(tstr(pod, "description"), "Pod is a collection of containers"));
	gvk = jv_at(jv_get(pod, "x-kubernetes-group-version-kind"), 0);
	assert_string_equal(tstr(gvk, "group"), "");
	assert_string_equal(tstr(gvk, "version"), "v1");
	assert_string_equal(tstr(gvk, "kind"), "Pod");
	assert_string_equal(tstr(pod, "properties.spec.$ref"),
			    "#/definitions/io.k8s.api.core.v1.PodSpec");
	spec = def(doc, "io.k8s.api.core.v1.PodSpec");
	assert_true(has_str(jv_get(spec, "required"), "containers"));
	assert_false(has_str(jv_get(spec, "required"), "volumes"));
	ctrs = jv_path(spec, "properties.containers");
	assert_string_equal(tstr(ctrs, "type"), "array");
	assert_string_equal(tstr(ctrs, "items.$ref"), "#/definitions/io.k8s.api.core.v1.Container");
	assert_string_equal(tstr(ctrs, "x-kubernetes-patch-strategy"), "merge");
	assert_string_equal(tstr(ctrs, "x-kubernetes-patch-merge-key"), "name");
	assert_string_equal(tstr(ctrs, "x-kubernetes-list-type"), "map");
	assert_true(has_str(jv_get(ctrs, "x-kubernetes-list-map-keys"), "name"));
	/* the documentation of types.json, as the schema tables carry it */
	assert_non_null(ct);
	assert_string_equal(
	    tstr(def(doc, "io.k8s.api.core.v1.Container"), "properties.name.description"),
	    k8s_field_doc(ct, k8s_field_find(ct, "name")));
	assert_true(has_str(jv_get(def(doc, "io.k8s.api.core.v1.Container"), "required"), "name"));
	assert_string_equal(
	    tstr(def(doc, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"), "format"),
	    "int-or-string");
	assert_string_equal(
	    tstr(def(doc, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"), "type"), "string");
	refs_resolve(doc, doc);
	/* the operations */
	p = jv_get(jv_get(doc, "paths"), "/api/v1/namespaces/{namespace}/pods");
	assert_non_null(p);
	assert_string_equal(tstr(p, "get.x-kubernetes-action"), "list");
	assert_string_equal(tstr(p, "get.x-kubernetes-group-version-kind.kind"), "Pod");
	assert_string_equal(tstr(jv_get(jv_path(p, "get.responses"), "200"), "schema.$ref"),
			    "#/definitions/io.k8s.api.core.v1.PodList");
	op = jv_path(jv_get(jv_get(doc, "paths"), "/api/v1/namespaces/{namespace}/pods/{name}"),
		     "patch");
	assert_non_null(op);
	assert_string_equal(tstr(op, "x-kubernetes-action"), "patch");
	for (const struct jv *c = jv_first(jv_get(op, "parameters")); c; c = c->next)
		if (jv_is_str(jv_get(c, "name"), "fieldValidation"))
			found = jv_is_str(jv_get(c, "in"), "query") &&
				jv_is_str(jv_get(c, "type"), "string");
	assert_true(found);
	/* built from the resource table: every served resource has its definition (with its gvk)
	 * and a path whose operations carry its gvk */
	for (size_t i = 0; i < api_nresources; i++) {
		const struct k8s_kind *k = api_resources[i].kind;
		const struct jv *kd = def(doc, k->type->name), *g;
		char path[512];
		bool gvk_found = false;

		for (g = jv_first(jv_get(kd, "x-kubernetes-group-version-kind")); g; g = g->next)
			gvk_found |= jv_is_str(jv_get(g, "kind"), k->kind) &&
				     jv_is_str(jv_get(g, "group"), k->group) &&
				     jv_is_str(jv_get(g, "version"), k->version);
		if (!gvk_found)
			fail_msg("%s: no gvk %s/%s", k->type->name, k->api_version, k->kind);
		const char *ns =
		    api_resource_namespaced(&api_resources[i]) ? "/namespaces/{namespace}" : "";

		if (k->group[0])
			snprintf(path, sizeof(path), "/apis/%s/%s%s/%s/{name}", k->group,
				 k->version, ns, k->resource);
		else
			snprintf(path, sizeof(path), "/api/%s%s/%s/{name}", k->version, ns,
				 k->resource);
		p = jv_get(jv_get(doc, "paths"), path);
		if (!p)
			fail_msg("no path %s", path);
		assert_string_equal(tstr(p, "patch.x-kubernetes-group-version-kind.kind"), k->kind);
	}
	tresp_free(&r);
}

/* The v3 documents: descriptions, openapi-gen's required, and IntOrString/Quantity with
 * kube's oneOf and no type (kubectl explain's typeGuess then names them: <IntOrString>). */
static void test_v3_docs(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	const struct jv *doc, *s, *ios;

	doc = tget(t, "/openapi/v3/api/v1", 200, &r);
	s = jv_get(jv_path(doc, "components.schemas"), "io.k8s.api.core.v1.Container");
	assert_non_null(s);
	assert_non_null(strstr(tstr(s, "description"), "A single application container"));
	assert_non_null(strstr(tstr(s, "properties.name.description"), "DNS_LABEL"));
	assert_true(has_str(jv_get(s, "required"), "name"));
	assert_false(has_str(jv_get(s, "required"), "image"));
	ios = jv_get(jv_path(doc, "components.schemas"),
		     "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
	assert_non_null(ios);
	assert_null(jv_get(ios, "type"));
	assert_int_equal(jv_count(jv_get(ios, "oneOf")), 2);
	tresp_free(&r);
}

/* The protobuf Document decodes to what the JSON says. */
static void test_v2_protobuf(void **state)
{
	struct tsrv *t = *state;
	struct tresp rj, rp;
	struct pbv doc, v, defs, paths, schema, props, item, op, x;
	const struct jv *jdefs, *jpaths;
	size_t i = 0;
	bool found = false;

	tget(t, "/openapi/v2", 200, &rj);
	treq(t, "GET", "/openapi/v2", NULL, NULL, V2_PB, &rp);
	assert_int_equal(rp.code, 200);
	assert_string_equal(rp.ctype, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
	doc = (struct pbv){(const uint8_t *)rp.body, rp.len};
	assert_true(pb_get(doc, 1, 0, &v)); /* swagger */
	assert_true(pb_is(v, "2.0"));
	assert_true(pb_get(doc, 2, 0, &v) && pb_get(v, 1, 0, &x) && pb_is(x, "Kubernetes"));
	/* definitions: every one, in order, with its description */
	jdefs = jv_get(rj.json, "definitions");
	assert_true(pb_get(doc, 9, 0, &defs));
	assert_int_equal(pb_count(defs, 1), jv_count(jdefs));
	for (const struct jv *c = jv_first(jdefs); c; c = c->next, i++) {
		struct pbv e, name;
		const char *desc = tstr(c, "description");

		assert_true(pb_get(defs, 1, i, &e));
		assert_true(pb_get(e, 1, 0, &name) && pb_is(name, c->key));
		assert_true(pb_get(e, 2, 0, &schema));
		if (jv_get(c, "description"))
			assert_true(pb_get(schema, 4, 0, &x) && pb_is(x, desc));
	}
	/* Pod: type object, its gvk extension (YAML text), spec a reference */
	assert_true(pb_named(defs, 1, "io.k8s.api.core.v1.Pod", &schema));
	assert_true(pb_get(schema, 22, 0, &v) && pb_get(v, 1, 0, &x) && pb_is(x, "object"));
	assert_true(pb_named(schema, 31, "x-kubernetes-group-version-kind", &v));
	assert_true(pb_get(v, 2, 0, &x));
	{
		char *yaml = pb_str(x);

		assert_non_null(strstr(yaml, "\"kind\":\"Pod\""));
		free(yaml);
	}
	assert_true(pb_get(schema, 25, 0, &props));
	assert_true(pb_named(props, 1, "spec", &v));
	assert_true(pb_get(v, 1, 0, &x) && pb_is(x, "#/definitions/io.k8s.api.core.v1.PodSpec"));
	/* PodSpec: required, and containers' items and extensions */
	assert_true(pb_named(defs, 1, "io.k8s.api.core.v1.PodSpec", &schema));
	for (size_t k = 0; pb_get(schema, 19, k, &x); k++)
		found |= pb_is(x, "containers");
	assert_true(found);
	assert_true(pb_get(schema, 25, 0, &props) && pb_named(props, 1, "containers", &v));
	assert_true(pb_get(v, 23, 0, &item) && pb_get(item, 1, 0, &x) && pb_get(x, 1, 0, &x) &&
		    pb_is(x, "#/definitions/io.k8s.api.core.v1.Container"));
	assert_true(pb_named(v, 31, "x-kubernetes-patch-merge-key", &x));
	/* paths: as many, and a PATCH's fieldValidation query parameter (what kubectl's v2
	 * QueryParamVerifier looks for) */
	jpaths = jv_get(rj.json, "paths");
	assert_true(pb_get(doc, 8, 0, &paths));
	assert_int_equal(pb_count(paths, 2), jv_count(jpaths));
	assert_true(pb_named(paths, 2, "/api/v1/namespaces/{namespace}/pods/{name}", &item));
	assert_true(pb_get(item, 8, 0, &op)); /* patch */
	assert_true(pb_named(op, 13, "x-kubernetes-group-version-kind", &v));
	found = false;
	for (size_t k = 0; pb_get(op, 8, k, &v); k++) {
		struct pbv q;

		/* ParametersItem.parameter -> Parameter.non_body_parameter -> query */
		if (pb_get(v, 1, 0, &q) && pb_get(q, 2, 0, &q) && pb_get(q, 3, 0, &q) &&
		    pb_get(q, 4, 0, &x) && pb_is(x, "fieldValidation"))
			found = true;
	}
	assert_true(found);
	/* securityDefinitions: BearerToken an ApiKeySecurity */
	assert_true(pb_get(doc, 13, 0, &v) && pb_named(v, 1, "BearerToken", &v));
	assert_true(pb_get(v, 2, 0, &v) && pb_get(v, 2, 0, &x) && pb_is(x, "authorization"));
	tresp_free(&rj);
	tresp_free(&rp);
}

/* The ETag header's value, or NULL. */
static char *etag_of(const struct tresp *r)
{
	const char *h = r->headers ? strcasestr(r->headers, "\netag: ") : NULL;

	return h ? strndup(h + 7, strcspn(h + 7, "\r\n")) : NULL;
}

static void test_etag(void **state)
{
	struct tsrv *t = *state;
	struct tresp r, rp;
	uint8_t md[64];
	char want[132], hdr[200], *etag, *etag_pb, *etag_v3;
	const char *hs[2] = {hdr, NULL};

	tget(t, "/openapi/v2", 200, &r);
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA512, r.body, r.len, md), 0);
	want[0] = '"';
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(want + 1 + 2 * i, 3, "%02X", md[i]);
	strcpy(want + 129, "\"");
	etag = etag_of(&r);
	assert_non_null(etag);
	assert_string_equal(etag, want);
	assert_non_null(strcasestr(r.headers, "\nvary: Accept"));
	tresp_free(&r);
	/* the protobuf has the JSON's ETag */
	treq(t, "GET", "/openapi/v2", NULL, NULL, V2_PB, &rp);
	etag_pb = etag_of(&rp);
	assert_non_null(etag_pb);
	assert_string_equal(etag_pb, etag);
	tresp_free(&rp);
	/* If-None-Match: a 304 without a body for the ETag (also weak, also in a list) */
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
	treq_headers(t, "GET", "/openapi/v2", NULL, NULL, V2_PB, hs, &r);
	assert_int_equal(r.code, 304);
	assert_int_equal(r.len, 0);
	tresp_free(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Match: \"x\", W/%s", etag);
	treq_headers(t, "GET", "/openapi/v2", NULL, NULL, NULL, hs, &r);
	assert_int_equal(r.code, 304);
	tresp_free(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Match: \"0%s", etag + 2);
	treq_headers(t, "GET", "/openapi/v2", NULL, NULL, NULL, hs, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	/* an Accept it cannot meet: a bare 406 */
	treq(t, "GET", "/openapi/v2", NULL, NULL, "text/html", &r);
	assert_int_equal(r.code, 406);
	tresp_free(&r);
	/* v3: the index's hash is the document's ETag; If-None-Match gets a 304 */
	tget(t, "/openapi/v3/api/v1", 200, &r);
	etag_v3 = etag_of(&r);
	assert_non_null(etag_v3);
	tresp_free(&r);
	tget(t, "/openapi/v3", 200, &r);
	snprintf(hdr, sizeof(hdr), "hash=%.*s\"", (int)strlen(etag_v3) - 2, etag_v3 + 1);
	assert_non_null(strstr(r.body, hdr));
	tresp_free(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag_v3);
	treq_headers(t, "GET", "/openapi/v3/api/v1", NULL, NULL, NULL, hs, &r);
	assert_int_equal(r.code, 304);
	tresp_free(&r);
	free(etag);
	free(etag_pb);
	free(etag_v3);
}

/* ---- custom resources in /openapi/v2 ---- */

#define CRDS	"/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
#define CT_DEF	"com.example.stable.v1.CronTab"
#define CT_ITEM "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"
/* A CronTab whose schema has what Swagger 2.0 cannot say: nullable, int-or-string, anyOf,
 * preserve-unknown-fields, an embedded resource, a default (` for "). */
#define CT_CRD                                                                                 \
	"{`metadata`:{`name`:`crontabs.stable.example.com`},`spec`:{`group`:"                  \
	"`stable.example.com`,`scope`:`Namespaced`,`names`:{`plural`:`crontabs`,`kind`:"       \
	"`CronTab`},`versions`:[{`name`:`v1`,`served`:true,`storage`:true,`schema`:{"          \
	"`openAPIV3Schema`:{`type`:`object`,`description`:`CronTab runs a job on a schedule`," \
	"`properties`:{`spec`:{`type`:`object`,`description`:`What the CronTab runs`,"         \
	"`required`:[`cronSpec`,`note`],`properties`:{"                                        \
	"`cronSpec`:{`type`:`string`,`description`:`The cron spec`,`maxLength`:20},"           \
	"`replicas`:{`type`:`integer`,`minimum`:1,`default`:1},"                               \
	"`port`:{`x-kubernetes-int-or-string`:true,`description`:`A port`},"                   \
	"`note`:{`type`:`string`,`nullable`:true},"                                            \
	"`mode`:{`type`:`string`,`anyOf`:[{`enum`:[`a`]},{`enum`:[`b`]}]},"                    \
	"`extra`:{`type`:`object`,`x-kubernetes-preserve-unknown-fields`:true,"                \
	"`properties`:{`x`:{`type`:`string`}}},"                                               \
	"`template`:{`type`:`object`,`x-kubernetes-embedded-resource`:true,`properties`:{"     \
	"`spec`:{`type`:`object`,`x-kubernetes-preserve-unknown-fields`:true}}},"              \
	"`tags`:{`type`:`array`,`items`:{`type`:`string`},`x-kubernetes-list-type`:`set`}"     \
	"}}}}}}]}}"

/* No schema of v carries a default (handler.PruneDefaults); a property named "default" is
 * no default. */
static void no_defaults(const struct jv *v, bool props)
{
	for (const struct jv *c = jv_first(v); c; c = c->next) {
		if (!props && c->key && strcmp(c->key, "default") == 0)
			fail_msg("a default in /openapi/v2: %s", jv_to_json(v, NULL));
		no_defaults(c, !props && c->key && strcmp(c->key, "properties") == 0);
	}
}

/* The number at path as its JSON text, or "(null)". */
static const char *num(const struct jv *v, const char *path)
{
	const struct jv *n = jv_path(v, path);

	return n && n->type == JV_NUMBER ? n->s : "(null)";
}

/* GET /openapi/v2 (JSON): its tree, and its ETag in *etag (malloc'd). */
static const struct jv *v2_get(struct tsrv *t, struct tresp *r, char **etag)
{
	const struct jv *doc = tget(t, "/openapi/v2", 200, r);

	*etag = etag_of(r);
	assert_non_null(*etag);
	return doc;
}

/* Every served custom resource version in the v2 document (apiextensions' openapi
 * controller: BuildOpenAPIV2 merged into the static spec), its schema converted as
 * ToStructuralOpenAPIV2 converts it, in JSON and protobuf; the ETag moves with the CRDs. */
static void test_v2_custom_resources(void **state)
{
	struct tsrv *t = *state;
	struct tresp r, rp;
	const struct jv *doc, *ct, *spec, *p, *x;
	char *etag0, *etag1, *etag2, *etag3, *etag_pb, hdr[200];
	const char *hs[2] = {hdr, NULL};
	struct pbv pdoc, defs, schema, v, props;
	bool found = false;

	doc = v2_get(t, &r, &etag0);
	assert_null(jv_get(jv_get(doc, "definitions"), CT_DEF));
	no_defaults(jv_get(doc, "definitions"), false);
	tresp_free(&r);
	texpect(t, "POST", CRDS, tq(CT_CRD), 201, NULL);

	doc = v2_get(t, &r, &etag1);
	assert_string_not_equal(etag0, etag1);
	ct = def(doc, CT_DEF);
	assert_string_equal(tstr(ct, "type"), "object");
	assert_string_equal(tstr(ct, "description"), "CronTab runs a job on a schedule");
	assert_string_equal(tstr(ct, "x-kubernetes-group-version-kind.0.group"),
			    "stable.example.com");
	assert_string_equal(tstr(ct, "x-kubernetes-group-version-kind.0.version"), "v1");
	assert_string_equal(tstr(ct, "x-kubernetes-group-version-kind.0.kind"), "CronTab");
	/* buildKubeNative: type meta and ObjectMeta, referenced the v2 way */
	assert_string_equal(tstr(ct, "properties.metadata.$ref"),
			    "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	assert_null(jv_path(ct, "properties.metadata.allOf"));
	assert_string_equal(tstr(ct, "properties.apiVersion.type"), "string");
	assert_non_null(strstr(tstr(ct, "properties.kind.description"), "Kind is a string value"));
	spec = jv_path(ct, "properties.spec");
	assert_string_equal(tstr(spec, "description"), "What the CronTab runs");
	assert_string_equal(tstr(spec, "properties.cronSpec.description"), "The cron spec");
	assert_string_equal(num(spec, "properties.cronSpec.maxLength"), "20");
	/* the default pruned, the minimum kept */
	assert_null(jv_path(spec, "properties.replicas.default"));
	assert_string_equal(num(spec, "properties.replicas.minimum"), "1");
	/* int-or-string: the unfolded anyOf dropped, no type, the extension kept */
	assert_null(jv_path(spec, "properties.port.anyOf"));
	assert_null(jv_path(spec, "properties.port.type"));
	assert_int_equal(jv_path(spec, "properties.port.x-kubernetes-int-or-string")->type,
			 JV_TRUE);
	assert_string_equal(tstr(spec, "properties.port.description"), "A port");
	/* nullable: no type, no nullable, and not required any more */
	assert_non_null(jv_path(spec, "properties.note"));
	assert_null(jv_path(spec, "properties.note.type"));
	assert_null(jv_path(spec, "properties.note.nullable"));
	assert_int_equal(jv_count(jv_get(spec, "required")), 1);
	assert_string_equal(tstr(spec, "required.0"), "cronSpec");
	/* anyOf dropped, the type kept */
	assert_null(jv_path(spec, "properties.mode.anyOf"));
	assert_string_equal(tstr(spec, "properties.mode.type"), "string");
	/* preserve-unknown-fields: no properties, no object type */
	assert_null(jv_path(spec, "properties.extra.properties"));
	assert_null(jv_path(spec, "properties.extra.type"));
	assert_int_equal(
	    jv_path(spec, "properties.extra.x-kubernetes-preserve-unknown-fields")->type, JV_TRUE);
	/* an embedded resource: type meta and metadata added, kind and apiVersion required */
	x = jv_path(spec, "properties.template");
	assert_string_equal(tstr(x, "properties.metadata.$ref"),
			    "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	assert_string_equal(tstr(x, "properties.kind.type"), "string");
	assert_true(has_str(jv_get(x, "required"), "kind"));
	assert_true(has_str(jv_get(x, "required"), "apiVersion"));
	assert_null(jv_path(x, "properties.spec.type"));
	assert_string_equal(tstr(spec, "properties.tags.items.type"), "string");
	assert_string_equal(tstr(spec, "properties.tags.x-kubernetes-list-type"), "set");
	/* its List */
	x = def(doc, CT_DEF "List");
	assert_string_equal(tstr(x, "properties.items.items.$ref"), "#/definitions/" CT_DEF);
	assert_string_equal(tstr(x, "properties.metadata.$ref"),
			    "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta");
	assert_string_equal(tstr(x, "x-kubernetes-group-version-kind.0.kind"), "CronTabList");
	/* the paths, with their parameters, gvk and references */
	p = jv_get(jv_get(doc, "paths"),
		   "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs");
	assert_non_null(p);
	assert_string_equal(tstr(p, "get.x-kubernetes-action"), "list");
	assert_string_equal(tstr(jv_get(jv_path(p, "get.responses"), "200"), "schema.$ref"),
			    "#/definitions/" CT_DEF "List");
	p = jv_get(jv_get(doc, "paths"), CT_ITEM);
	assert_non_null(p);
	assert_string_equal(tstr(p, "patch.x-kubernetes-group-version-kind.kind"), "CronTab");
	assert_false(has_str(jv_path(p, "get.produces"), "application/vnd.kubernetes.protobuf"));
	for (const struct jv *c = jv_first(jv_path(p, "put.parameters")); c; c = c->next)
		if (jv_is_str(jv_get(c, "in"), "body"))
			found = jv_is_str(jv_path(c, "schema.$ref"), "#/definitions/" CT_DEF);
	assert_true(found);
	refs_resolve(doc, doc);
	no_defaults(jv_get(doc, "definitions"), false);
	/* the v3 document keeps what v3 can say */
	tresp_free(&r);
	doc = tget(t, "/openapi/v3/apis/stable.example.com/v1", 200, &r);
	assert_non_null(jv_path(jv_get(jv_path(doc, "components.schemas"), CT_DEF),
				"properties.spec.properties.note.nullable"));
	tresp_free(&r);

	/* the protobuf: decodes, the same definitions, CronTab's with its description and gvk */
	treq(t, "GET", "/openapi/v2", NULL, NULL, V2_PB, &rp);
	assert_int_equal(rp.code, 200);
	etag_pb = etag_of(&rp);
	assert_string_equal(etag_pb, etag1);
	pdoc = (struct pbv){(const uint8_t *)rp.body, rp.len};
	assert_true(pb_get(pdoc, 9, 0, &defs));
	doc = tget(t, "/openapi/v2", 200, &r);
	assert_int_equal(pb_count(defs, 1), jv_count(jv_get(doc, "definitions")));
	assert_true(pb_named(defs, 1, CT_DEF, &schema));
	assert_true(pb_get(schema, 4, 0, &v) && pb_is(v, "CronTab runs a job on a schedule"));
	assert_true(pb_named(schema, 31, "x-kubernetes-group-version-kind", &v));
	assert_true(pb_get(schema, 25, 0, &props) && pb_named(props, 1, "spec", &v));
	assert_true(pb_get(v, 25, 0, &props) && pb_named(props, 1, "cronSpec", &v));
	assert_true(pb_get(v, 4, 0, &v) && pb_is(v, "The cron spec"));
	assert_true(pb_get(pdoc, 8, 0, &v) && pb_named(v, 2, CT_ITEM, &v));
	tresp_free(&r);
	tresp_free(&rp);

	/* unchanged: a 304, JSON and protobuf */
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag1);
	treq_headers(t, "GET", "/openapi/v2", NULL, NULL, NULL, hs, &r);
	assert_int_equal(r.code, 304);
	tresp_free(&r);
	treq_headers(t, "GET", "/openapi/v2", NULL, NULL, V2_PB, hs, &r);
	assert_int_equal(r.code, 304);
	tresp_free(&r);
	/* the CRD changes: a new document, the old ETag gets it whole */
	texpect(t, "PATCH", CRDS "/crontabs.stable.example.com",
		tq("{`spec`:{`versions`:[{`name`:`v1`,`served`:true,`storage`:true,`schema`:{"
		   "`openAPIV3Schema`:{`type`:`object`,`description`:`CronTab, changed`}}}]}}"),
		200, NULL);
	treq_headers(t, "GET", "/openapi/v2", NULL, NULL, NULL, hs, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(def(r.json, CT_DEF), "description"), "CronTab, changed");
	etag2 = etag_of(&r);
	assert_string_not_equal(etag2, etag1);
	tresp_free(&r);
	/* the CRD goes: so does its definition, and the document is the built-in one again */
	texpect(t, "DELETE", CRDS "/crontabs.stable.example.com", NULL, 200, NULL);
	doc = v2_get(t, &r, &etag3);
	assert_null(jv_get(jv_get(doc, "definitions"), CT_DEF));
	assert_null(jv_get(jv_get(doc, "paths"), CT_ITEM));
	assert_string_equal(etag3, etag0);
	tresp_free(&r);
	free(etag0);
	free(etag1);
	free(etag2);
	free(etag3);
	free(etag_pb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v2_json),
	    cmocka_unit_test(test_v3_docs),
	    cmocka_unit_test(test_v2_protobuf),
	    cmocka_unit_test(test_etag),
	    cmocka_unit_test(test_v2_custom_resources),
	};

	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
