/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_codec: request body decoding against Kubernetes' own round-trip fixtures: the
 * protobuf (k8s\0 envelope), JSON and YAML forms of every kind decode to the same object;
 * apiextensions' JSON and unions and the wrapped lists in their protobuf forms; malformed
 * protobuf bodies are refused with a message, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_pb.h"
#include "k8s.h"
#include "k8s_jv.h"

#define FIXTURES DROVER_TEST_DATA "/k8s-fixtures"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

/* Drop the fields whose type the schema does not describe (alpha APIs): protobuf cannot
 * decode them, so the comparison leaves them out on the JSON side too. */
static void strip_any(struct jv *v, const struct k8s_value *t)
{
	if (!v || !t)
		return;
	if (v->type == JV_ARRAY && t->kind == K8S_V_ARRAY) {
		for (struct jv *i = v->head; i; i = i->next)
			strip_any(i, t->elem);
	} else if (v->type == JV_OBJECT && t->kind == K8S_V_MAP) {
		for (struct jv *m = v->head; m; m = m->next)
			strip_any(m, t->elem);
	} else if (v->type == JV_OBJECT && t->kind == K8S_V_STRUCT) {
		struct jv *m = v->head, *next;

		for (; m; m = next) {
			const struct k8s_field *f = k8s_field_findn(t->type, m->key, m->klen);

			next = m->next;
			if (f &&
			    (f->value->kind == K8S_V_ANY ||
			     (f->value->kind == K8S_V_ARRAY && f->value->elem->kind == K8S_V_ANY)))
				jv_deln(v, m->key, m->klen);
			else if (f)
				strip_any(m, f->value);
		}
	}
}

static struct jv *strip(struct jv *o, const struct k8s_kind *k)
{
	struct k8s_value tv = {.kind = K8S_V_STRUCT, .type = k->type};

	strip_any(o, &tv);
	return o;
}

static struct jv *normalize(struct jv *o, const struct k8s_kind *k)
{
	struct k8s_validate_opts vo = {.validation = K8S_FV_IGNORE};
	struct k8s_errors e = {0};

	assert_int_equal(k8s_jv_decode(o, k->type, &vo, &e), 0);
	k8s_errors_free(&e);
	return strip(o, k);
}

static void compare(const char *base, struct jv *a, struct jv *b, const struct k8s_kind *k,
		    const char *what)
{
	struct k8s_buf x = {0}, y = {0};

	if (jv_equal(a, b))
		return;
	k8s_jv_write_schema(&x, a, k->type);
	k8s_jv_write_schema(&y, b, k->type);
	fail_msg("%s: %s differs:\n%s\n%s", base, what, x.p, y.p);
}

static void one_fixture(const char *base)
{
	char path[512], msg[256];
	size_t jl, pl, yl;
	char *json, *pb, *yaml;
	struct jv_doc *d = jv_doc_new();
	struct jv *a, *b, *c, *orig;
	const struct k8s_kind *k;
	struct k8s_errors e = {0};
	struct k8s_obj *obj;

	snprintf(path, sizeof(path), "%s/%s.json", FIXTURES, base);
	json = slurp(path, &jl);
	snprintf(path, sizeof(path), "%s/%s.pb", FIXTURES, base);
	pb = slurp(path, &pl);
	snprintf(path, sizeof(path), "%s/%s.yaml", FIXTURES, base);
	yaml = slurp(path, &yl);
	assert_non_null(json);
	assert_non_null(pb);
	a = jv_parse(d, json, jl, NULL);
	assert_non_null(a);
	k = k8s_kind_find(jv_path_str(a, "apiVersion"), jv_path_str(a, "kind"));
	assert_non_null(k);
	b = api_pb_decode(d, (const uint8_t *)pb, pl, NULL, msg, sizeof(msg));
	if (!b)
		fail_msg("%s: protobuf: %s", base, msg);
	/* every field is set: the decoder keeps all of it (but the fields without a schema) */
	orig = strip(jv_copy(d, a), k);
	compare(base, orig, normalize(a, k), k, "the decoded JSON");
	compare(base, a, normalize(b, k), k, "protobuf");
	if (yaml) {
		struct k8s_parse_opts po = {.validation = K8S_FV_IGNORE};

		obj = k8s_obj_parse(yaml, yl, &po, &e);
		assert_non_null(obj);
		c = k8s_jv_from_node(d, k8s_obj_root(obj));
		assert_non_null(c);
		compare(base, a, normalize(c, k), k, "YAML");
		k8s_obj_free(obj);
	}
	/* every truncation of the protobuf body is refused or decodes, never crashes */
	for (size_t cut = 0; cut < pl; cut += 7) {
		struct jv_doc *d2 = jv_doc_new();

		api_pb_decode(d2, (const uint8_t *)pb, cut, NULL, msg, sizeof(msg));
		jv_doc_free(d2);
	}
	k8s_errors_free(&e);
	free(json);
	free(pb);
	free(yaml);
	jv_doc_free(d);
}

static void test_fixtures_agree(void **state)
{
	DIR *dir = opendir(FIXTURES);
	struct dirent *de;
	int n = 0;

	(void)state;
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		char base[256];

		if (len < 4 || strcmp(de->d_name + len - 3, ".pb") != 0 ||
		    strstr(de->d_name, "WatchEvent"))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(len - 3), de->d_name);
		one_fixture(base);
		n++;
	}
	closedir(dir);
	assert_true(n > 0); /* tests/unit/k8s checks that each fixture there has a .pb */
}

/* The protobuf forms test_fixtures_agree's fixtures leave out: a union written as false, an
 * array of schemas, a schema and a bool together, empty JSON in a list, a map of
 * OrStringArray; a list wrapped in a message (meta/v1 Verbs). */
static void test_special_forms(void **state)
{
	/* clang-format off */
	static const char props[] =		/* a JSONSchemaProps message */
	    "\x42\x09" "\x0a\x07" "{\"a\":1}"	/* default: JSON {"a":1} */
	    "\x49" "\0\0\0\0\0\0\xf8\x3f"	/* maximum: the double 1.5 */
	    "\xa2\x01\x03" "\x0a\x01" "1"	/* enum: JSON 1 */
	    "\xa2\x01\x00"			/* enum: empty JSON */
	    "\xc2\x01\x07" "\x12\x03\x2a\x01" "a" "\x12\x00" /* items: two schemas */
	    "\xf2\x01\x02" "\x08\x00"		/* additionalProperties: allows false */
	    "\x82\x02\x0b" "\x0a\x01" "k" "\x12\x06" "\x12\x01" "p" "\x12\x01" "q"
						/* dependencies: k -> property [p, q] */
	    "\x8a\x02\x07" "\x08\x01" "\x12\x03\x2a\x01" "s" /* additionalItems */
	    "\xa2\x02\x00";			/* example: empty JSON */
	static const char list[] =		/* an APIResourceList body */
	    "k8s\0"
	    "\x0a\x15" "\x0a\x02" "v1" "\x12\x0f" "APIResourceList" /* typeMeta */
	    "\x12\x19" "\x0a\x02" "v1"		/* raw: groupVersion */
	    "\x12\x13" "\x0a\x04" "pods"		/* resources[0]: name */
	    "\x22\x0b" "\x0a\x03" "get" "\x0a\x04" "list"; /* verbs: a Verbs message */
	/* clang-format on */
	const struct k8s_type *t = k8s_type_find(
	    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps");
	struct jv_doc *d = jv_doc_new();
	struct k8s_buf b = {0};
	char msg[256];
	struct jv *v;
	char *s;

	(void)state;
	assert_non_null(t);
	v = api_pb_decode_message(d, (const uint8_t *)props, sizeof(props) - 1, t, msg,
				  sizeof(msg));
	if (!v)
		fail_msg("JSONSchemaProps: %s", msg);
	k8s_jv_write_schema(&b, v, t);
	assert_string_equal(b.p, "{\"default\":{\"a\":1},\"maximum\":1.5,\"enum\":[1,null],"
				 "\"items\":[{\"type\":\"a\"},{}],\"additionalProperties\":false,"
				 "\"dependencies\":{\"k\":[\"p\",\"q\"]},\"additionalItems\":{"
				 "\"type\":\"s\"}}");
	k8s_buf_free(&b);
	v = api_pb_decode(d, (const uint8_t *)list, sizeof(list) - 1, NULL, msg, sizeof(msg));
	if (!v)
		fail_msg("APIResourceList: %s", msg);
	s = jv_to_json(jv_get(jv_at(jv_get(v, "resources"), 0), "verbs"), NULL);
	assert_string_equal(s, "[\"get\",\"list\"]");
	free(s);
	/* a wrapped list that is no message */
	assert_null(api_pb_decode_message(d, (const uint8_t *)"\x20\x01", 2,
					  k8s_type_find("io.k8s.apimachinery.pkg.apis.meta.v1."
							"APIResource"),
					  msg, sizeof(msg)));
	assert_string_equal(msg, "field 4: a Verbs must be length-delimited");
	jv_doc_free(d);
}

static void test_bad_envelopes(void **state)
{
	struct jv_doc *d = jv_doc_new();
	char msg[256];

	(void)state;
	assert_null(api_pb_decode(d, (const uint8_t *)"k8s", 3, NULL, msg, sizeof(msg)));
	assert_null(api_pb_decode(d, (const uint8_t *)"{\"a\":1}", 7, NULL, msg, sizeof(msg)));
	/* typeMeta naming no kind */
	assert_null(api_pb_decode(d, (const uint8_t *)"k8s\0\x0a\x06\x0a\x01x\x12\x01y", 12, NULL,
				  msg, sizeof(msg)));
	assert_non_null(strstr(msg, "no kind"));
	/* a group (wire type 3) */
	assert_null(api_pb_decode(d, (const uint8_t *)"k8s\0\x0b", 5, NULL, msg, sizeof(msg)));
	jv_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures_agree),
	    cmocka_unit_test(test_special_forms),
	    cmocka_unit_test(test_bad_envelopes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
