/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_yaml: scalars as Kubernetes reads them (go-yaml v2's YAML 1.1 resolution; quoted
 * scalars stay strings; JSON keeps JSON types), and the canonical JSON they turn into.
 */
#include <math.h>

#include "k8s_test.h"

enum { NUL_, BOOL_, INT_, UINT_, FLT_, STR_ };

struct plain_case {
	const char *text;
	int type;
	int64_t i; /* BOOL_: 0/1, INT_ */
	double f;  /* FLT_ */
};

#define B(t, v)                \
	{                      \
		t, BOOL_, v, 0 \
	}
#define I(t, v)               \
	{                     \
		t, INT_, v, 0 \
	}
#define F(t, v)               \
	{                     \
		t, FLT_, 0, v \
	}
#define S(t)                  \
	{                     \
		t, STR_, 0, 0 \
	}
#define N(t)                  \
	{                     \
		t, NUL_, 0, 0 \
	}
#define U(t)                   \
	{                      \
		t, UINT_, 0, 0 \
	}

/* Every form go-yaml v2 resolves, and the near misses that stay strings. */
static const struct plain_case plain_cases[] = {
    /* booleans: YAML 1.1's full set */
    B("y", 1),
    B("Y", 1),
    B("yes", 1),
    B("Yes", 1),
    B("YES", 1),
    B("true", 1),
    B("True", 1),
    B("TRUE", 1),
    B("on", 1),
    B("On", 1),
    B("ON", 1),
    B("n", 0),
    B("N", 0),
    B("no", 0),
    B("No", 0),
    B("NO", 0),
    B("false", 0),
    B("False", 0),
    B("FALSE", 0),
    B("off", 0),
    B("Off", 0),
    B("OFF", 0),
    S("yEs"),
    S("tRUE"),
    S("yes!"),
    S("oN"),
    /* null */
    N(""),
    N("~"),
    N("null"),
    N("Null"),
    N("NULL"),
    S("nULL"),
    /* integers: sign, '_' separators, 0b binary, 0x hex, leading-0 and 0o octal */
    I("0", 0),
    I("42", 42),
    I("-17", -17),
    I("+5", 5),
    I("1_000", 1000),
    I("1__0", 10),
    I("0755", 493),
    I("-0755", -493),
    I("00", 0),
    I("0o17", 15),
    I("0x1F", 31),
    I("0X1f", 31),
    I("-0x10", -16),
    I("0x_ff", 255),
    I("0b101", 5),
    I("-0b101", -5),
    I("9223372036854775807", INT64_MAX),
    I("-9223372036854775808", INT64_MIN),
    U("9223372036854775808"),
    S("_1"),
    S("0x"),
    S("0x1G"),
    S("0b102"),
    /* floats, including what is not an integer (08 is not octal: it parses as float 8) */
    F("08", 8),
    F("1.5", 1.5),
    F("-1.5", -1.5),
    F("1e3", 1000),
    F("1E-3", 0.001),
    F("1.", 1),
    F(".5", 0.5),
    F("+.5", 0.5),
    F("-.5", -0.5),
    F(".5e1", 5),
    F("1_000.5", 1000.5),
    F("18446744073709551616", 18446744073709551616.0),
    F(".inf", INFINITY),
    F(".Inf", INFINITY),
    F(".INF", INFINITY),
    F("+.inf", INFINITY),
    F("-.inf", -INFINITY),
    F("-.Inf", -INFINITY),
    F("-.INF", -INFINITY),
    F(".nan", NAN),
    F(".NaN", NAN),
    F(".NAN", NAN),
    S("1e400"), /* ParseFloat overflows: go-yaml keeps the text */
    S("1.5.5"),
    S(".e3"),
    S("."),
    S("1e"),
    S("inf"),
    S("nan"),
    /* timestamps and the rest stay strings */
    S("2001-12-14"),
    S("2001-12-14T21:59:43.10-05:00"),
    S("1:20"),
    S("<<"),
    S("-"),
    S("+"),
    S("abc"),
    S("80/TCP"),
};

static void test_plain_resolution(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
		const struct plain_case *c = &plain_cases[i];
		struct k8s_scalar s;
		static const int map[] = {[K8S_SCALAR_NULL] = NUL_,  [K8S_SCALAR_BOOL] = BOOL_,
					  [K8S_SCALAR_INT] = INT_,   [K8S_SCALAR_UINT] = UINT_,
					  [K8S_SCALAR_FLOAT] = FLT_, [K8S_SCALAR_STRING] = STR_};

		k8s_scalar_resolve_plain(c->text, strlen(c->text), &s);
		if (map[s.type] != c->type)
			fail_msg("'%s': resolved to type %d, want %d", c->text, map[s.type],
				 c->type);
		if (c->type == BOOL_)
			assert_int_equal(s.b, c->i);
		if (c->type == INT_ && s.i != c->i)
			fail_msg("'%s': %lld, want %lld", c->text, (long long)s.i, (long long)c->i);
		if (c->type == FLT_ && !(isnan(c->f) ? isnan(s.f) : s.f == c->f))
			fail_msg("'%s': %g, want %g", c->text, s.f, c->f);
		if (c->type == STR_) {
			assert_int_equal(s.len, strlen(c->text));
			assert_memory_equal(s.str, c->text, s.len);
		}
	}
	/* the largest uint64 */
	{
		struct k8s_scalar s;

		k8s_scalar_resolve_plain("18446744073709551615", 20, &s);
		assert_int_equal(s.type, K8S_SCALAR_UINT);
		assert_true(s.u == UINT64_MAX);
	}
}

/* Quoted, block and tagged scalars, through a real document. */
static void test_styles_and_tags(void **state)
{
	static const char yaml[] = "a: '0755'\n"
				   "b: \"yes\"\n"
				   "c: |\n  yes\n"
				   "d: !!str 123\n"
				   "e: !!int \"7\"\n"
				   "f: !!float 1\n"
				   "g: ! 12\n"
				   "h: !!int abc\n"
				   "i: !!binary aGk=\n"
				   "j: !custom 12\n"
				   "k: >\n  folded\n"
				   "l: 0755\n"
				   "m: !!bool yes\n"
				   "n: !!null ''\n";
	struct fy_document *d = fy_document_build_from_string(NULL, yaml, FY_NT);
	struct fy_node *r;
	struct k8s_scalar s;
	const char *str;

	(void)state;
	assert_non_null(d);
	r = fy_document_root(d);
	assert_int_equal(k8s_get_scalar(r, "a", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_STRING);
	assert_int_equal(k8s_get_str(r, "a", &str), 0);
	assert_string_equal(str, "0755");
	assert_int_equal(k8s_get_str(r, "b", &str), 0);
	assert_string_equal(str, "yes");
	assert_int_equal(k8s_get_str(r, "c", &str), 0);
	assert_string_equal(str, "yes\n");
	assert_int_equal(k8s_get_str(r, "d", &str), 0);
	assert_string_equal(str, "123");
	assert_int_equal(k8s_get_scalar(r, "e", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_INT);
	assert_int_equal(s.i, 7);
	assert_int_equal(k8s_get_scalar(r, "f", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_FLOAT);
	assert_true(s.f == 1.0);
	assert_int_equal(k8s_get_str(r, "g", &str), 0);
	assert_string_equal(str, "12");
	assert_int_equal(k8s_scalar_resolve(k8s_get(r, "h"), &s), -EINVAL);
	assert_int_equal(k8s_scalar_resolve(k8s_get(r, "i"), &s), -ENOTSUP);
	assert_int_equal(k8s_get_str(r, "j", &str), 0);
	assert_string_equal(str, "12");
	assert_int_equal(k8s_get_str(r, "k", &str), 0);
	assert_string_equal(str, "folded\n");
	assert_int_equal(k8s_get_scalar(r, "l", &s), 0);
	assert_int_equal(s.i, 493);
	assert_int_equal(k8s_get_scalar(r, "m", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_BOOL);
	assert_int_equal(k8s_get_scalar(r, "n", &s), -ENOENT); /* null */
	assert_int_equal(k8s_scalar_resolve(r, &s), -EINVAL);  /* not a scalar */
	fy_document_destroy(d);
}

/* JSON input keeps JSON's types: only null/true/false/numbers are plain. */
static void test_json_types(void **state)
{
	static const char json[] =
	    "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", "
	    "\"metadata\": {\"name\": \"x\", \"annotations\": {\"a\": \"yes\"}},"
	    " \"data\": {\"y\": \"0755\"}, \"immutable\": true}";
	struct k8s_obj *o = parse_one(json);
	struct fy_node *r = k8s_obj_root(o);
	struct k8s_scalar s;
	bool b;
	const char *str;
	char *j;

	(void)state;
	assert_int_equal(k8s_get_str(r, "metadata.annotations.a", &str), 0);
	assert_string_equal(str, "yes");
	assert_int_equal(k8s_get_str(r, "data.y", &str), 0);
	assert_string_equal(str, "0755");
	assert_int_equal(k8s_get_bool(r, "immutable", &b), 0);
	assert_true(b);
	assert_int_equal(k8s_get_scalar(r, "kind", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_STRING);
	j = json_of(o);
	assert_string_equal(j,
			    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			    "\"x\",\"annotations\":{\"a\":\"yes\"}},\"data\":{\"y\":\"0755\"},"
			    "\"immutable\":true}");
	free(j);
	k8s_obj_free(o);
}

static void test_json_numbers(void **state)
{
	static const char json[] = "{\"apiVersion\": \"apps/v1\", \"kind\": \"ControllerRevision\","
				   " \"revision\": 3, \"data\": {\"a\": 1, \"b\": 1.0, \"c\": 1e2,"
				   " \"d\": -0, \"e\": 12345678901234567890, \"f\": 0.5}}";
	struct k8s_obj *o = parse_one(json);
	struct fy_node *r = k8s_obj_root(o);
	struct k8s_scalar s;
	char *j;

	(void)state;
	assert_int_equal(k8s_get_scalar(r, "data.a", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_INT);
	assert_int_equal(k8s_get_scalar(r, "data.b", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_FLOAT);
	assert_true(s.json_float);
	assert_int_equal(k8s_get_scalar(r, "data.e", &s), 0);
	assert_int_equal(s.type, K8S_SCALAR_UINT);
	j = json_of(o);
	assert_string_equal(j, "{\"apiVersion\":\"apps/v1\",\"kind\":\"ControllerRevision\","
			       "\"revision\":3,\"data\":{\"a\":1,\"b\":1,\"c\":100,\"d\":0,"
			       "\"e\":12345678901234567890,\"f\":0.5}}");
	free(j);
	k8s_obj_free(o);
}

/* Canonical JSON: `port: 0755` -> 493, `enabled: yes` -> true, quoted stays a string; keys
 * converted as sigs.k8s.io/yaml converts them; numbers and strings as Go writes them. */
static void test_canonical_json(void **state)
{
	static const char yaml[] = "apiVersion: apps/v1\n"
				   "kind: ControllerRevision\n"
				   "revision: 1\n"
				   "data:\n"
				   "  port: 0755\n"
				   "  enabled: yes\n"
				   "  name: \"yes\"\n"
				   "  quoted: '0755'\n"
				   "  f: 1.0\n"
				   "  big: 1e21\n"
				   "  notsobig: 1e20\n"
				   "  small: 1.5e-7\n"
				   "  micro: 0.000001\n"
				   "  pi: 3.141592653589793\n"
				   "  neg: -0.0\n"
				   "  half: .5\n"
				   "  huge: 2.5e+300\n"
				   "  html: \"<a&b>\"\n"
				   "  ctl: \"tab\\there\\x01\\\\ \\\"q\\\" \\u2028 \\u00e9\"\n"
				   "  nothing: ~\n"
				   "  empty:\n"
				   "  list: [1, two, 'three', off]\n"
				   "  1: int key\n"
				   "  1.5: float key\n"
				   "  1e6: float key with exponent\n"
				   "  100.0: round float key\n"
				   "  true: bool key\n"
				   "  0x10: hex key\n"
				   "  ts: 2001-12-14t21:59:43.10-05:00\n";
	struct k8s_obj *o = parse_one(yaml);
	char *j;

	(void)state;
	j = json_of(o);
	assert_string_equal(
	    j, "{\"apiVersion\":\"apps/v1\",\"kind\":\"ControllerRevision\",\"revision\":1,"
	       "\"data\":{\"port\":493,\"enabled\":true,\"name\":\"yes\",\"quoted\":\"0755\","
	       "\"f\":1,\"big\":1e+21,\"notsobig\":100000000000000000000,\"small\":1.5e-7,"
	       "\"micro\":0.000001,\"pi\":3.141592653589793,\"neg\":-0,\"half\":0.5,"
	       "\"huge\":2.5e+300,\"html\":\"\\u003ca\\u0026b\\u003e\","
	       "\"ctl\":\"tab\\there\\u0001\\\\ \\\"q\\\" \\u2028 \xc3\xa9\","
	       "\"nothing\":null,\"empty\":null,\"list\":[1,\"two\",\"three\",false],"
	       "\"1\":\"int key\",\"1.5\":\"float key\",\"1e+06\":\"float key with exponent\","
	       "\"100\":\"round float key\",\"true\":\"bool key\",\"16\":\"hex key\","
	       "\"ts\":\"2001-12-14t21:59:43.10-05:00\"}}");
	free(j);
	k8s_obj_free(o);
}

static int free_obj(struct k8s_obj *o, void *ud)
{
	(void)ud;
	k8s_obj_free(o);
	return 0;
}

/* Single-quoted scalars with consecutive '' escapes (libfyaml 0.7.12 misreads them, and leaks
 * from five on: the parser reads them itself), in keys, values, lists, folded over lines, and
 * a document that is such a scalar alone (found by fuzz_proxy_decode). */
static void test_single_quote_escapes(void **state)
{
	static const char yaml[] = "apiVersion: apps/v1\n"
				   "kind: ControllerRevision\n"
				   "revision: 1\n"
				   "data:\n"
				   "  a: 'x''''y'\n"
				   "  b: 'it''s'\n"
				   "  'k''''k': '''''''''''''''''q'\n"
				   "  c: ['l''''m', 'yes', '''''']\n"
				   "  d: 'one''''\n    two  \n\n    three \\ \"'\n"
				   "  e: 'on'\n";
	static const char scalar_doc[] = "''''''''''''''''''''''''''''''''\r\r1{";
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT, .origin = "t"};
	struct k8s_errors errs = {0};
	struct k8s_obj *o = parse_one(yaml);
	char *j;

	(void)state;
	j = json_of(o);
	assert_string_equal(j, "{\"apiVersion\":\"apps/v1\",\"kind\":\"ControllerRevision\","
			       "\"revision\":1,\"data\":{\"a\":\"x''y\",\"b\":\"it's\","
			       "\"k''k\":\"''''''''q\",\"c\":[\"l''m\",\"yes\",\"''\"],"
			       "\"d\":\"one'' two\\nthree \\\\ \\\"\",\"e\":\"on\"}}");
	free(j);
	k8s_obj_free(o);
	/* no object, an error, nothing leaked (the sanitizer build checks) */
	assert_true(
	    k8s_parse_stream(scalar_doc, sizeof(scalar_doc) - 1, &po, free_obj, NULL, &errs) < 0);
	k8s_errors_free(&errs);
}

/* A repeated key keeps its first position and its last value (Ignore lets it through). */
static void test_repeated_key_json(void **state)
{
	static const char yaml[] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
				   "data: {a: '1', b: '2', a: '3'}\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	char *j;

	(void)state;
	assert_int_equal(parse_text(yaml, K8S_FV_IGNORE, &s, &e), 0);
	assert_int_equal(s.n, 1);
	j = json_of(s.o[0]);
	assert_string_equal(j,
			    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			    "\"a\"},\"data\":{\"a\":\"3\",\"b\":\"2\"}}");
	free(j);
	objs_free(&s);
	k8s_errors_free(&e);
}

/* Nodes with no JSON form: k8s_node_to_json refuses them. */
static void test_no_json_form(void **state)
{
	static const char *const docs[] = {"a: .nan\n", "a: -.inf\n", "? [x]\n: 1\n", "~: 1\n",
					   "18446744073709551615: 1\n"};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct fy_document *d = fy_document_build_from_string(NULL, docs[i], FY_NT);

		assert_non_null(d);
		errno = 0;
		assert_null(k8s_node_to_json(fy_document_root(d)));
		assert_int_equal(errno, EINVAL);
		fy_document_destroy(d);
	}
	assert_null(k8s_node_to_json(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_resolution), cmocka_unit_test(test_styles_and_tags),
	    cmocka_unit_test(test_json_types),	     cmocka_unit_test(test_json_numbers),
	    cmocka_unit_test(test_canonical_json),   cmocka_unit_test(test_repeated_key_json),
	    cmocka_unit_test(test_no_json_form),     cmocka_unit_test(test_single_quote_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
