/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_fixtures: Kubernetes' own round-trip fixtures (tests/data/k8s-fixtures, every field
 * of every kind set; the protobuf forms are tests/unit/api/test_api_codec's): every fixture
 * there has all three forms; each .json and .yaml parses and validates with zero errors under
 * Strict, the .json and .yaml of a kind give identical canonical JSON, and the canonical JSON
 * of a .json fixture is the fixture itself, compacted (strings and numbers written as Go does).
 */
#include <dirent.h>
#include <unistd.h>

#include "k8s_test.h"

#define FIXTURES     DROVER_TEST_DATA "/k8s-fixtures"
#define MAX_FIXTURES 512

/* Names of the fixtures (without extension), sorted: every one that is there, each with its
 * .json, .yaml and .pb form (a form without the others fails the test). */
static size_t list_fixtures(char names[][96], size_t max)
{
	static const char *const exts[] = {".json", ".yaml", ".pb"};
	size_t counts[3] = {0};
	DIR *d = opendir(FIXTURES);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		for (size_t i = 0; i < 3; i++) {
			size_t el = strlen(exts[i]);

			if (len <= el || strcmp(de->d_name + len - el, exts[i]) != 0)
				continue;
			counts[i]++;
			if (i > 0)
				continue;
			if (n == max || len - el >= 96)
				fail_msg("%s: more than %zu fixtures, or a name too long",
					 de->d_name, max);
			snprintf(names[n++], 96, "%.*s", (int)(len - el), de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 1; j < 3; j++) {
			char path[256];

			snprintf(path, sizeof(path), "%s/%s%s", FIXTURES, names[i], exts[j]);
			if (access(path, R_OK) != 0)
				fail_msg("%s: no %s form", names[i], exts[j]);
		}
	}
	/* with every .json's partners there, more .yaml or .pb files are ones without a .json */
	if (counts[1] != n || counts[2] != n)
		fail_msg("%zu .json, %zu .yaml and %zu .pb fixtures", n, counts[1], counts[2]);
	return n;
}

/* Parse one fixture file under Strict; the one object it holds. */
static struct k8s_obj *load(const char *name, const char *ext, unsigned checks)
{
	char path[256], msg[4096];
	struct k8s_parse_opts o = {.validation = K8S_FV_STRICT, .checks = checks};
	struct objs s = {0};
	struct k8s_errors e = {0};
	size_t len = 0;
	char *text;
	int r;

	snprintf(path, sizeof(path), "%s/%s.%s", FIXTURES, name, ext);
	o.origin = path;
	/* a WatchEvent carries no apiVersion/kind: it is read as a request body of its type */
	if (strstr(name, "WatchEvent"))
		o.type = k8s_type_find("io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent");
	text = read_file(path, &len);
	assert_non_null(text);
	r = k8s_parse_stream(text, len, &o, objs_cb, &s, &e);
	if (r || s.n != 1 || e.n || e.nwarn) {
		k8s_errors_format(&e, path, NULL, msg, sizeof(msg));
		dump_errors(&e);
		fail_msg("%s: r=%d objects=%zu: %s", path, r, s.n, msg);
	}
	free(text);
	k8s_errors_free(&e);
	return s.o[0];
}

/* The text without the whitespace outside strings. */
static char *compact(const char *s)
{
	char *out = malloc(strlen(s) + 1), *p = out;
	bool in_str = false;

	for (; *s; s++) {
		if (in_str && *s == '\\') {
			*p++ = *s++;
		} else if (*s == '"') {
			in_str = !in_str;
		} else if (!in_str && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) {
			continue;
		}
		*p++ = *s;
	}
	*p = 0;
	return out;
}

static void test_fixtures(void **state)
{
	static char names[MAX_FIXTURES][96];
	size_t n = list_fixtures(names, MAX_FIXTURES);

	(void)state;
	assert_true(n > 0);
	print_message("%zu fixtures\n", n);
	for (size_t i = 0; i < n; i++) {
		/* The fixtures fill enum fields with placeholders ("protocolValue"), which the
		 * Strict enum check would refuse: Kubernetes' decoder accepts them (enum values are
		 * each kind's validation), so they are read as the API server reads them. */
		struct k8s_obj *js = load(names[i], "json", K8S_CHECK_NO_ENUMS);
		struct k8s_obj *ym = load(names[i], "yaml", K8S_CHECK_NO_ENUMS);
		char *jj = k8s_obj_to_json_ex(js, K8S_JSON_SCHEMA_ORDER);
		char *yj = k8s_obj_to_json_ex(ym, K8S_JSON_SCHEMA_ORDER);
		char *doc = k8s_obj_to_json(js);
		char path[256], *raw, *want;
		size_t len = 0;

		assert_non_null(jj);
		assert_non_null(yj);
		assert_non_null(doc);
		assert_ptr_equal(k8s_obj_kind(js), k8s_obj_kind(ym));
		/* the same object, whatever its syntax (keys in schema order: the .yaml fixtures
		 * have them sorted, the .json ones in Go struct order) */
		if (strcmp(jj, yj) != 0)
			fail_msg("%s: JSON and YAML differ:\n%s\n%s", names[i], jj, yj);
		/* in document order, the .json fixture comes back as it is */
		snprintf(path, sizeof(path), "%s/%.96s.json", FIXTURES, names[i]);
		raw = read_file(path, &len);
		assert_non_null(raw);
		want = compact(raw);
		if (strcmp(doc, want) != 0)
			fail_msg("%s: canonical JSON is not the fixture:\n%s\n%s", names[i], doc,
				 want);
		/* schema order is Go's order too, except where types.json has no schema
		 * (batch/v1 Job scheduling refers to scheduling/v1alpha3, kept as sorted any JSON) */
		if (!strstr(names[i], "Job") && strcmp(jj, want) != 0)
			fail_msg("%s: schema order is not Go's:\n%s\n%s", names[i], jj, want);
		free(raw);
		free(want);
		free(jj);
		free(yj);
		free(doc);
		k8s_obj_free(js);
		k8s_obj_free(ym);
	}
}

/* With the enum check on, the placeholders are the only thing Strict refuses. */
static void test_fixtures_enums(void **state)
{
	static char names[MAX_FIXTURES][96];
	size_t n = list_fixtures(names, MAX_FIXTURES), refused = 0;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char path[256];
		struct objs s = {0};
		struct k8s_errors e = {0};
		struct k8s_parse_opts o = {.validation = K8S_FV_STRICT};
		size_t len = 0;
		char *text;

		snprintf(path, sizeof(path), "%s/%.96s.yaml", FIXTURES, names[i]);
		if (strstr(names[i], "WatchEvent"))
			o.type = k8s_type_find("io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent");
		text = read_file(path, &len);
		assert_non_null(text);
		if (k8s_parse_stream(text, len, &o, objs_cb, &s, &e) != 0)
			refused++;
		for (size_t j = 0; j < e.n; j++)
			if (strcmp(e.causes[j].reason, K8S_REASON_NOT_SUPPORTED) != 0)
				fail_msg("%s: %s: %s", names[i], e.causes[j].field,
					 e.causes[j].message);
		objs_free(&s);
		k8s_errors_free(&e);
		free(text);
	}
	assert_true(refused > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures),
	    cmocka_unit_test(test_fixtures_enums),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
