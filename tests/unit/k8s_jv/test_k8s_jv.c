/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_jv: the JSON tree: parsing (Go's error messages), strings and escapes, object and
 * array operations, paths, equality, the schema decode (checked against the libfyaml
 * validator on the same inputs: same causes, same warnings) and the schema-order writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "k8s_buf.h"
#include "k8s_jv.h"

static struct jv *parse(struct jv_doc *d, const char *s)
{
	struct jv_perr e;
	struct jv *v = jv_parse(d, s, strlen(s), &e);

	if (!v)
		fail_msg("parse %s: %s", s, e.msg);
	return v;
}

static void expect_parse_error(const char *s, const char *msg)
{
	struct jv_doc *d = jv_doc_new();
	struct jv_perr e;

	assert_null(jv_parse(d, s, strlen(s), &e));
	assert_string_equal(e.msg, msg);
	jv_doc_free(d);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("", "unexpected end of JSON input");
	expect_parse_error("{", "unexpected end of JSON input");
	expect_parse_error("{\"a\":1,}",
			   "invalid character '}' looking for beginning of object key string");
	expect_parse_error("{\"a\" 1}", "invalid character '1' after object key");
	expect_parse_error("{\"a\":1 \"b\"}", "invalid character '\"' after object key:value pair");
	expect_parse_error("[1 2]", "invalid character '2' after array element");
	expect_parse_error("{} x", "invalid character 'x' after top-level value");
	expect_parse_error("tru", "unexpected end of JSON input");
	expect_parse_error("trux", "invalid character 'x' in literal true (expecting 'e')");
	expect_parse_error("-", "unexpected end of JSON input");
	expect_parse_error("01", "invalid character '1' after top-level value");
	expect_parse_error("1.", "unexpected end of JSON input");
	expect_parse_error("1.x", "invalid character 'x' after decimal point in numeric literal");
	expect_parse_error("\"a\nb\"", "invalid character '\\n' in string literal");
	expect_parse_error("\"\\x\"", "invalid character 'x' in string escape code");
	expect_parse_error("\"\\u12g4\"",
			   "invalid character 'g' in \\u hexadecimal character escape");
	expect_parse_error("'a'", "invalid character '\\'' looking for beginning of value");
}

static void test_depth(void **state)
{
	char deep[400];
	struct jv_doc *d = jv_doc_new();
	struct jv_perr e;
	int n = 0;

	(void)state;
	for (int i = 0; i < 70; i++)
		deep[n++] = '[';
	for (int i = 0; i < 70; i++)
		deep[n++] = ']';
	assert_null(jv_parse(d, deep, (size_t)n, &e));
	assert_non_null(strstr(e.msg, "max depth"));
	jv_doc_free(d);
}

static void test_strings(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *v =
	    parse(d, "{\"k\\u00e9y\":\"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\\ud800x\"}");
	struct k8s_buf b = {0};

	(void)state;
	assert_int_equal(v->type, JV_OBJECT);
	assert_int_equal(v->head->klen, 4);
	assert_memory_equal(v->head->key, "k\xc3\xa9y", 4);
	assert_string_equal(v->head->s, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx");
	jv_write(&b, v);
	assert_string_equal(
	    b.p, "{\"k\xc3\xa9y\":\"a\\\"b\\\\c/d\\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx\"}");
	k8s_buf_free(&b);
	/* Go escapes <, > and & */
	v = jv_new_strz(d, "<a&b>");
	jv_write(&b, v);
	assert_string_equal(b.p, "\"\\u003ca\\u0026b\\u003e\"");
	k8s_buf_free(&b);
	jv_doc_free(d);
}

/* Invalid UTF-8 in a string or key becomes U+FFFD, one per byte, as Go's decoder makes it
 * (utf8.DecodeRune's rule: overlong forms, surrogates, truncated sequences and bytes past
 * U+10FFFF are invalid); valid sequences stay. The tree then writes back as it was read. */
static void test_invalid_utf8(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"\"a\xff"
	     "b\"",
	     "a\xef\xbf\xbd"
	     "b"},
	    {"\"\xff\"", "\xef\xbf\xbd"},		  /* no room in place: the copy */
	    {"\"\xc0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong NUL */
	    {"\"\xed\xa0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
	    {"\"\xf4\x90\x80\x80\"",
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* past U+10FFFF */
	    {"\"x\xe2\x82\"", "x\xef\xbf\xbd\xef\xbf\xbd"},	  /* truncated */
	    {"\"\\n\\u00e9\xe2\x82\xac\xff\\t\xc3\"",
	     "\n\xc3\xa9\xe2\x82\xac\xef\xbf\xbd\t\xef\xbf\xbd"},
	    {"\"\\\"\\\"\xff\xfe\"", "\"\"\xef\xbf\xbd\xef\xbf\xbd"}, /* room from escapes */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *v = parse(d, cases[i].in), *back;
		struct k8s_buf b = {0};

		assert_int_equal(v->type, JV_STRING);
		assert_int_equal(v->len, strlen(cases[i].want));
		assert_memory_equal(v->s, cases[i].want, v->len);
		jv_write(&b, v);
		back = parse(d, b.p);
		assert_true(jv_equal(v, back));
		k8s_buf_free(&b);
		jv_doc_free(d);
	}
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *v = parse(d, "{\"k\xff\":\"v\"}");

		assert_int_equal(v->head->klen, 4);
		assert_memory_equal(v->head->key, "k\xef\xbf\xbd", 4);
		jv_doc_free(d);
	}
}

static void test_objects(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *v = parse(d, "{\"a\":1,\"b\":{\"c\":[10,20,{\"x.y\":\"z\"}]},\"a\":2}");
	int64_t i = 0;
	char *s;

	(void)state;
	/* the last duplicate wins */
	assert_int_equal(jv_path_int(v, "a", &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(jv_path_int(v, "b.c[1]", &i), 0);
	assert_int_equal(i, 20);
	assert_int_equal(jv_path_int(v, "/b/c/0", &i), 0);
	assert_int_equal(i, 10);
	assert_string_equal(jv_path_str(v, "b.c[2][x.y]"), "z");
	assert_null(jv_path(v, "b.c[9]"));
	assert_int_equal(jv_path_int(v, "nope", &i), -ENOENT);
	/* set replaces the first and drops later duplicates */
	assert_int_equal(jv_set(d, v, "a", jv_new_strz(d, "x")), 0);
	s = jv_to_json(v, NULL);
	assert_string_equal(s, "{\"a\":\"x\",\"b\":{\"c\":[10,20,{\"x.y\":\"z\"}]}}");
	free(s);
	assert_int_equal(jv_set(d, v, "n", jv_new(d, JV_NULL)), 0);
	assert_non_null(jv_del(v, "b"));
	assert_null(jv_del(v, "b"));
	assert_non_null(jv_obj_at(d, v, "m"));
	assert_int_equal(jv_set(d, jv_obj_at(d, v, "m"), "k", jv_new_int(d, -5)), 0);
	s = jv_to_json(v, NULL);
	assert_string_equal(s, "{\"a\":\"x\",\"n\":null,\"m\":{\"k\":-5}}");
	free(s);
	assert_int_equal(jv_count(v), 3);
	jv_doc_free(d);
}

static void test_copy_equal(void **state)
{
	struct jv_doc *d = jv_doc_new(), *d2 = jv_doc_new();
	struct jv *a = parse(d, "{\"x\":[1,{\"y\":true}],\"z\":\"s\",\"n\":1.0}");
	struct jv *b = parse(d, "{\"n\":1,\"z\":\"s\",\"x\":[1,{\"y\":true}]}");
	struct jv *c = parse(d, "{\"n\":1,\"z\":\"s\",\"x\":[{\"y\":true},1]}");
	struct jv *cp;

	(void)state;
	assert_true(jv_equal(a, b));
	assert_false(jv_equal(a, c));
	cp = jv_copy(d2, a);
	jv_doc_free(d);
	d = jv_doc_new();
	b = parse(d, "{\"n\":1,\"z\":\"s\",\"x\":[1,{\"y\":true}]}");
	assert_true(jv_equal(cp, b));
	assert_false(jv_equal(cp, parse(d, "{\"n\":1,\"z\":\"s\"}")));
	jv_doc_free(d);
	jv_doc_free(d2);
}

/* ---- decode vs the libfyaml validator ---- */

struct result {
	int rc;
	char text[4096];
};

static void errs_text(const struct k8s_errors *e, int rc, struct result *r)
{
	size_t n = 0;

	r->rc = rc;
	r->text[0] = 0;
	for (size_t i = 0; i < e->n; i++)
		n +=
		    (size_t)snprintf(r->text + n, sizeof(r->text) - n, "C %s|%s|%s\n",
				     e->causes[i].field, e->causes[i].reason, e->causes[i].message);
	for (size_t i = 0; i < e->nwarn && n < sizeof(r->text); i++)
		n += (size_t)snprintf(r->text + n, sizeof(r->text) - n, "W %s\n", e->warnings[i]);
}

/* json decoded as a k: by the libfyaml validator into fy, by k8s_jv_decode into jr, and the
 * decoded tree written in schema order into *out. */
static void decode_as(const struct k8s_kind *k, const char *json, enum k8s_field_validation fv,
		      struct result *fy, struct result *jr, char **out)
{
	struct k8s_parse_opts po = {.validation = fv, .type = k->type};
	struct k8s_validate_opts vo = {.validation = fv};
	struct k8s_errors e1 = {0}, e2 = {0};
	struct jv_doc *d = jv_doc_new();
	struct k8s_obj *o = k8s_obj_parse(json, strlen(json), &po, &e1);
	struct jv *v = parse(d, json);
	int rc = k8s_jv_decode(v, k->type, &vo, &e2);
	struct k8s_buf b = {0};

	errs_text(&e1, o ? 0 : -EINVAL, fy);
	errs_text(&e2, rc, jr);
	if (out) {
		k8s_jv_write_schema(&b, v, k->type);
		*out = b.p;
	}
	k8s_obj_free(o);
	k8s_errors_free(&e1);
	k8s_errors_free(&e2);
	jv_doc_free(d);
}

static void decode_both(const char *json, enum k8s_field_validation fv, struct result *fy,
			struct result *jr, char **out)
{
	decode_as(k8s_kind_find("apps/v1", "Deployment"), json, fv, fy, jr, out);
}

static const char *const decode_cases[] = {
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\"},"
    "\"spec\":{\"replicas\":\"3\",\"selector\":{\"matchLabels\":{\"a\":1}},\"template\":{"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"bogus\":1,\"ports\":[{"
    "\"containerPort\":1.5,\"protocol\":\"XTP\"}]}]}}}}",
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\",\"name\":"
    "\"b\",\"labels\":{\"x\":\"1\",\"x\":\"2\"}},\"spec\":{\"minReadySeconds\":99999999999,"
    "\"strategy\":{\"type\":\"Recreate\",\"rollingUpdate\":{\"maxSurge\":true}}},\"status\":"
    "{\"conditions\":[{\"type\":\"Available\",\"lastUpdateTime\":\"yesterday\"}]}}",
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\","
    "\"annotations\":[]},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
    "\"resources\":{\"limits\":{\"cpu\":\"1x\",\"memory\":12}}}],\"volumes\":[{\"name\":\"v\","
    "\"secret\":{\"secretName\":\"s\",\"defaultMode\":\"0644\"}}]}}},\"extra\":{\"deep\":1}}",
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"ok\"},"
    "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"x\"}},\"template\":{\"metadata\":{"
    "\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\""
    "}]}}}}",
};

static void test_decode_matches_fy(void **state)
{
	static const enum k8s_field_validation levels[] = {K8S_FV_STRICT, K8S_FV_WARN,
							   K8S_FV_IGNORE};

	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		for (size_t l = 0; l < 3; l++) {
			struct result a, b;

			decode_both(decode_cases[i], levels[l], &a, &b, NULL);
			if (a.rc != b.rc || strcmp(a.text, b.text) != 0)
				fail_msg("case %zu level %zu:\nfy (%d):\n%s\njv (%d):\n%s", i, l,
					 a.rc, a.text, b.rc, b.text);
		}
	}
}

static void test_decode_normalizes(void **state)
{
	struct result a, b;
	char *out = NULL;

	(void)state;
	decode_both("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"i\",\"name\":"
		    "\"c\",\"args\":[]}]}},\"replicas\":2},\"metadata\":{\"labels\":{\"b\":\"1\","
		    "\"a\":\"2\"},\"name\":\"x\",\"creationTimestamp\":null,\"name\":\"y\"},"
		    "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"junk\":1}",
		    K8S_FV_IGNORE, &a, &b, &out);
	assert_int_equal(b.rc, 0);
	assert_string_equal(out, "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":"
				 "{\"name\":\"y\",\"labels\":{\"a\":\"2\",\"b\":\"1\"}},\"spec\":{"
				 "\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":"
				 "\"c\",\"image\":\"i\"}]}}}}");
	free(out);
}

/* ---- apiextensions' JSON and the JSONSchemaPropsOr... unions ---- */

#define CRD(schema)                                                                           \
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","  \
	"\"metadata\":{\"name\":\"a\"},\"spec\":{\"versions\":[{\"name\":\"v1\",\"schema\":{" \
	"\"openAPIV3Schema\":" schema "}}]}}"
#define SCHEMA_PATH "spec.versions[0].schema.openAPIV3Schema"

/* A CRD schema through both decoders under Strict: the same causes; want_causes is the jv
 * decoder's (as errs_text writes them), want_out (when not NULL) the schema it writes. */
static void crd_case(const char *json, const char *want_causes, const char *want_out)
{
	const struct k8s_kind *k =
	    k8s_kind_find("apiextensions.k8s.io/v1", "CustomResourceDefinition");
	struct result a, b;
	char *out = NULL;

	decode_as(k, json, K8S_FV_STRICT, &a, &b, &out);
	if (a.rc != b.rc || strcmp(a.text, b.text) != 0)
		fail_msg("%s:\nfy (%d):\n%s\njv (%d):\n%s", json, a.rc, a.text, b.rc, b.text);
	if (strcmp(b.text, want_causes) != 0)
		fail_msg("%s: causes\n%s\nwant\n%s", json, b.text, want_causes);
	assert_int_equal(b.rc, want_causes[0] ? -EINVAL : 0);
	if (want_out) {
		const char *at = strstr(out, "\"openAPIV3Schema\":");

		assert_non_null(at);
		at += strlen("\"openAPIV3Schema\":");
		if (strncmp(at, want_out, strlen(want_out)) != 0 ||
		    strcmp(at + strlen(want_out), "}}]}}") != 0)
			fail_msg("%s: wrote\n%s\nwant\n%s", json, at, want_out);
	}
	free(out);
}

static void test_crd_unions(void **state)
{
	(void)state;
	/* JSONSchemaPropsOrBool: true, false or a schema; anything else is Kubernetes' error */
	crd_case(CRD("{\"additionalProperties\":5}"),
		 "C " SCHEMA_PATH ".additionalProperties|FieldValueTypeInvalid|boolean or JSON "
		 "schema expected\n",
		 NULL);
	crd_case(CRD("{\"additionalItems\":[true]}"),
		 "C " SCHEMA_PATH ".additionalItems|FieldValueTypeInvalid|boolean or JSON "
		 "schema expected\n",
		 NULL);
	/* OrArray and OrStringArray read other values as empty: dropped in a struct, null in
	 * a map (what their MarshalJSON writes for nothing) */
	crd_case(CRD("{\"items\":\"x\",\"type\":\"array\",\"dependencies\":{\"a\":7}}"), "",
		 "{\"type\":\"array\",\"dependencies\":{\"a\":null}}");
	/* each alternative is checked as what it is, at every depth */
	crd_case(CRD("{\"items\":[{\"type\":\"string\",\"bogus\":1}]}"),
		 "C " SCHEMA_PATH ".items[0].bogus|FieldValueUnknown|unknown field \"" SCHEMA_PATH
		 ".items[0].bogus\"\n",
		 NULL);
	crd_case(CRD("{\"items\":{\"type\":5},\"dependencies\":{\"d\":[1]}}"),
		 "C " SCHEMA_PATH ".items.type|FieldValueTypeInvalid|Invalid value: 5: must be of "
		 "type string\n"
		 "C " SCHEMA_PATH ".dependencies[d][0]|FieldValueTypeInvalid|Invalid value: 1: "
		 "must be of type string\n",
		 NULL);
	crd_case(CRD("{\"not\":{\"additionalProperties\":{\"minimum\":\"1\"}}}"),
		 "C " SCHEMA_PATH ".not.additionalProperties.minimum|FieldValueTypeInvalid|"
		 "Invalid value: \"1\": must be of type number\n",
		 NULL);
	/* written in schema order through the unions; JSON values as written, null kept in
	 * an array of them */
	crd_case(CRD("{\"properties\":{\"b\":{\"x-kubernetes-preserve-unknown-fields\":true,"
		     "\"additionalProperties\":{\"type\":\"string\",\"default\":\"\"},\"type\":"
		     "\"object\"},\"a\":{\"items\":[{\"type\":\"integer\",\"enum\":[2,null]},"
		     "{\"format\":\"f\",\"type\":\"string\"}],\"type\":\"array\"}},\"type\":"
		     "\"object\",\"default\":{\"z\":1,\"a\":[null,false]},\"additionalProperties\":"
		     "false,\"dependencies\":{\"y\":{\"required\":[\"r\"],\"type\":\"object\"},"
		     "\"x\":[\"p\",\"q\"]}}"),
		 "",
		 "{\"type\":\"object\",\"default\":{\"z\":1,\"a\":[null,false]},\"properties\":{"
		 "\"a\":{\"type\":\"array\",\"items\":[{\"type\":\"integer\",\"enum\":[2,null]},"
		 "{\"type\":\"string\",\"format\":\"f\"}]},\"b\":{\"type\":\"object\","
		 "\"additionalProperties\":{\"type\":\"string\",\"default\":\"\"},"
		 "\"x-kubernetes-preserve-unknown-fields\":true}},\"additionalProperties\":false,"
		 "\"dependencies\":{\"x\":[\"p\",\"q\"],\"y\":{\"type\":\"object\",\"required\":"
		 "[\"r\"]}}}");
}

/* The YAML writer in schema order goes through the unions too. */
static void test_crd_unions_yaml(void **state)
{
	static const char yaml[] =
	    "apiVersion: apiextensions.k8s.io/v1\n"
	    "kind: CustomResourceDefinition\n"
	    "metadata: {name: a}\n"
	    "spec:\n"
	    "  versions:\n"
	    "  - name: v1\n"
	    "    schema:\n"
	    "      openAPIV3Schema:\n"
	    "        items: {properties: {p: {type: string}}, type: object}\n"
	    "        additionalProperties: {format: f, type: string}\n"
	    "        dependencies: {d: {title: t, type: object}}\n"
	    "        type: array\n";
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT};
	struct k8s_errors e = {0};
	struct k8s_obj *o = k8s_obj_parse(yaml, sizeof(yaml) - 1, &po, &e);
	char *json;

	(void)state;
	assert_non_null(o);
	json = k8s_obj_to_json_ex(o, K8S_JSON_SCHEMA_ORDER);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"openAPIV3Schema\":{\"type\":\"array\",\"items\":{\"type\":"
				     "\"object\",\"properties\":{\"p\":{\"type\":\"string\"}}},"
				     "\"additionalProperties\":{\"type\":\"string\",\"format\":"
				     "\"f\"},\"dependencies\":{\"d\":{\"type\":\"object\","
				     "\"title\":\"t\"}}}"));
	free(json);
	k8s_obj_free(o);
	k8s_errors_free(&e);
}

/* Collapsing duplicate keys relinks an object's members: a later duplicate moved forward
 * must not lose the members after it (found by fuzz_api_decode). */
static void test_duplicates_relinked(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *v = parse(d, "{\"x\":1,\"r\":1,\"y\":2,\"r\":3,\"z\":4,\"r\":5}");
	struct k8s_validate_opts vo = {.validation = K8S_FV_IGNORE};
	struct k8s_errors e = {0};
	char *s;

	(void)state;
	assert_int_equal(k8s_jv_decode(v, NULL, &vo, &e), 0);
	s = jv_to_json(v, NULL);
	assert_string_equal(s, "{\"x\":1,\"r\":5,\"y\":2,\"z\":4}");
	free(s);
	k8s_errors_free(&e);
	jv_doc_free(d);
}

/* YAML must be UTF-8: go-yaml refuses other bytes, and libfyaml 0.7.12 loops forever on a
 * directive holding them (found by fuzz_api_decode). */
/* Floats as Go writes them (protobuf doubles become these): shortest form, e+21 style. */
static void test_new_double(void **state)
{
	struct jv_doc *d = jv_doc_new();
	static const struct {
		double f;
		const char *json;
	} cases[] = {{0.1, "0.1"}, {1.5, "1.5"}, {1e21, "1e+21"}, {1e-7, "1e-7"}, {100, "100"}};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jv *v = jv_new_double(d, cases[i].f);
		char *s = jv_to_json(v, NULL);

		assert_string_equal(s, cases[i].json);
		free(s);
	}
	assert_null(jv_new_double(d, NAN));
	jv_doc_free(d);
}

static void test_yaml_invalid_utf8(void **state)
{
	static const char bad[] = "apiVersion: v1\nkind: ConfigMap\n%met\x98\x9b\x9e\x8b"
				  "a:\n";
	struct k8s_parse_opts po = {0};
	struct k8s_errors e = {0};

	(void)state;
	assert_null(k8s_obj_parse(bad, sizeof(bad) - 1, &po, &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.causes[0].message, "yaml: line 3, column 5: invalid UTF-8");
	k8s_errors_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_errors),      cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_strings),	      cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_objects),	      cmocka_unit_test(test_copy_equal),
	    cmocka_unit_test(test_decode_matches_fy), cmocka_unit_test(test_decode_normalizes),
	    cmocka_unit_test(test_crd_unions),	      cmocka_unit_test(test_crd_unions_yaml),
	    cmocka_unit_test(test_yaml_invalid_utf8), cmocka_unit_test(test_duplicates_relinked),
	    cmocka_unit_test(test_new_double),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
