/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_codec: request body decoding against Kubernetes' own round-trip fixtures: the
 * protobuf (k8s\0 envelope), JSON and YAML forms of every kind decode to the same object;
 * malformed protobuf bodies are refused with a message, never a crash.
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

static struct jv *normalize(struct jv *o, const struct k8s_kind *k)
{
	struct k8s_validate_opts vo = {.validation = K8S_FV_IGNORE};
	struct k8s_errors e = {0};
	struct k8s_value tv = {.kind = K8S_V_STRUCT, .type = k->type};

	assert_int_equal(k8s_jv_decode(o, k->type, &vo, &e), 0);
	k8s_errors_free(&e);
	strip_any(o, &tv);
	return o;
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
	struct jv *a, *b, *c;
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
	compare(base, normalize(a, k), normalize(b, k), k, "protobuf");
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
	assert_true(n >= 40);
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
	    cmocka_unit_test(test_bad_envelopes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
