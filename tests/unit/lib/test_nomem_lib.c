/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Out of memory in userspace/lib: hmap, and the object model's JSON tree (jv parse, schema
 * decode, writers). Each operation runs with its 1st, 2nd, ... allocation failing
 * (tests/lib/failalloc.h) until it needs fewer than that and succeeds. Every failure must be
 * clean: -ENOMEM (or NULL with errno ENOMEM, or the buffer's oom flag), never a crash, a
 * validation error made up from a missing allocation, or a leak (the ASan build checks leaks
 * at exit); and the state before the operation is intact.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "hmap.h"
#include "k8s.h"
#include "k8s_jv.h"

/* Allocations an operation may need: a sweep that has not ended by then is a bug. */
#define SWEEP_MAX 100000

/* ---- hmap ---- */

/* Key i: short ones live in their slot, long ones in an allocated copy. */
static const char *mkkey(char *buf, size_t len, int i)
{
	if (i % 2)
		snprintf(buf, len, "a-key-long-enough-to-live-outside-its-slot-%04d", i);
	else
		snprintf(buf, len, "k%d", i);
	return buf;
}

static void test_hmap(void **state)
{
	unsigned long n;

	(void)state;
	for (n = 1; n < SWEEP_MAX; n++) {
		struct hmap *m;

		failalloc_arm(n, FAILALLOC_THIS_THREAD);
		m = hmap_new();
		failalloc_disarm();
		if (!failalloc_fired()) {
			assert_non_null(m);
			hmap_free(m);
			break;
		}
		assert_null(m);
	}
	assert_true(n > 1);

	/* puts of new keys (short and long, through a growth), a replace, a delete */
	for (n = 1; n < SWEEP_MAX; n++) {
		struct hmap *m = hmap_new();
		char key[128];
		size_t before;
		int rc = 0, i;

		assert_non_null(m);
		for (i = 0; i < 40; i++)
			assert_true(hmap_sput(m, mkkey(key, sizeof(key), i), (void *)(long)(i + 1),
					      NULL) >= 0);
		before = hmap_size(m);
		failalloc_arm(n, FAILALLOC_THIS_THREAD);
		for (i = 40; i < 200 && rc >= 0; i++)
			rc = hmap_sput(m, mkkey(key, sizeof(key), i), (void *)(long)(i + 1), NULL);
		failalloc_disarm();
		if (!failalloc_fired()) {
			assert_int_equal(hmap_size(m), 200);
			hmap_free(m);
			break;
		}
		/* the failed put added nothing; everything put before is there */
		assert_int_equal(rc, -ENOMEM);
		i--;
		assert_int_equal(hmap_size(m), before + (size_t)(i - 40));
		assert_null(hmap_sget(m, mkkey(key, sizeof(key), i)));
		for (int j = 0; j < i; j++)
			assert_ptr_equal(hmap_sget(m, mkkey(key, sizeof(key), j)),
					 (void *)(long)(j + 1));
		/* a replace and a delete need no memory */
		failalloc_arm(1, FAILALLOC_THIS_THREAD | FAILALLOC_PERSIST);
		assert_int_equal(hmap_sput(m, mkkey(key, sizeof(key), 3), (void *)7L, NULL), 1);
		assert_ptr_equal(hmap_sdel(m, mkkey(key, sizeof(key), 4)), (void *)5L);
		failalloc_disarm();
		assert_false(failalloc_fired());
		hmap_free(m);
	}
	assert_true(n < SWEEP_MAX);
}

/* ---- jv ---- */

static const char pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\","
    "\"labels\":{\"app\":\"web\",\"tier\":\"x\"},\"annotations\":{\"a\":\"\\u00e9\\n\\ud83d"
    "\\ude00\xff\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"ports\":"
    "[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"resources\":{\"limits\":{\"cpu\":\"500m\","
    "\"memory\":\"128Mi\"}},\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\","
    "\"valueFrom\":"
    "{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}}]}],\"unknownField\":1,\"nodeName\":\"n1\","
    "\"nodeName\":\"n2\",\"tolerations\":[]},\"status\":{\"phase\":"
    "\"Running\",\"podIPs\":[{\"ip\":\"10.0.0.1\"}]}}";

/* The pod, parsed, decoded (Warn: the unknown field is a warning) and written, without any
 * failure: what every failing run is compared with. */
static char *reference_write(void)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *v = jv_parse(d, pod, sizeof(pod) - 1, NULL);
	struct k8s_validate_opts vo = {.validation = K8S_FV_WARN};
	struct k8s_errors e = {0};
	struct k8s_buf b = {0};

	assert_non_null(v);
	assert_int_equal(k8s_jv_decode(v, &k8s_schema_types[K8S_T_core_v1_Pod], &vo, &e), 0);
	assert_int_equal(e.nwarn, 2); /* the unknown field, the duplicate one */
	k8s_jv_write_schema(&b, v, &k8s_schema_types[K8S_T_core_v1_Pod]);
	assert_false(b.oom);
	k8s_errors_free(&e);
	jv_doc_free(d);
	return b.p;
}

static void sweep_jv(unsigned mode)
{
	const struct k8s_type *t = &k8s_schema_types[K8S_T_core_v1_Pod];
	char *want = reference_write();
	unsigned long n;

	for (n = 1; n < SWEEP_MAX; n++) {
		struct k8s_validate_opts vo = {.validation = K8S_FV_WARN};
		struct k8s_errors e = {0};
		struct k8s_buf b = {0};
		struct jv_doc *d;
		struct jv *v = NULL;
		char *compact = NULL;
		int rc = -1;

		failalloc_arm(n, FAILALLOC_THIS_THREAD | mode);
		d = jv_doc_new();
		if (d) {
			errno = 0;
			v = jv_parse(d, pod, sizeof(pod) - 1, NULL);
			if (!v)
				assert_int_equal(errno, ENOMEM);
		}
		if (v) {
			rc = k8s_jv_decode(v, t, &vo, &e);
			/* a missing allocation is never reported as invalid input */
			if (rc)
				assert_int_equal(rc, -ENOMEM);
		}
		if (rc == 0) {
			k8s_jv_write_schema(&b, v, t);
			compact = jv_to_json(v, NULL);
			if (!compact)
				assert_int_equal(errno, ENOMEM);
		}
		failalloc_disarm();
		if (!failalloc_fired()) {
			assert_non_null(compact);
			assert_false(b.oom);
			assert_string_equal(b.p, want);
		} else if (rc == 0 && !b.oom) {
			/* what was written whole is right */
			assert_string_equal(b.p, want);
		}
		free(compact);
		k8s_buf_free(&b);
		k8s_errors_free(&e);
		jv_doc_free(d);
		if (!failalloc_fired())
			break;
	}
	assert_true(n > 3 && n < SWEEP_MAX);
	free(want);
}

static void test_jv(void **state)
{
	(void)state;
	sweep_jv(0);
	sweep_jv(FAILALLOC_PERSIST);
}

/* ---- the object model's stream parser (YAML, lists, objects handed out) ---- */

struct objs {
	struct k8s_obj *o[8];
	size_t n;
};

static int keep(struct k8s_obj *o, void *ud)
{
	struct objs *s = ud;

	if (s->n == 8) {
		k8s_obj_free(o);
		return -E2BIG;
	}
	s->o[s->n++] = o;
	return 0;
}

static void sweep_parse_stream(unsigned mode)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {a: b}}\n"
	    "spec: {clusterIP: 10.96.0.1, ports: [{name: http, port: 80, targetPort: web}]}\n"
	    "---\n"
	    "apiVersion: v1\nkind: List\nitems:\n"
	    "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n"
	    "  metadata: {name: s-1, labels: {kubernetes.io/service-name: s}}\n"
	    "  addressType: IPv4\n  ports: [{name: http, port: 8080}]\n"
	    "  endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}}]\n"
	    "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {k: \"v\\u00e9\"}}\n";
	struct k8s_parse_opts po = {.validation = K8S_FV_WARN, .origin = "t.yaml"};
	unsigned long n;

	for (n = 1; n < SWEEP_MAX; n++) {
		struct k8s_errors e = {0};
		struct objs s = {0};
		char line[256];
		int rc;

		failalloc_arm(n, FAILALLOC_THIS_THREAD | mode);
		rc = k8s_parse_stream(yaml, sizeof(yaml) - 1, &po, keep, &s, &e);
		if (rc)
			k8s_errors_format(&e, "t.yaml", NULL, line, sizeof(line));
		failalloc_disarm();
		for (size_t i = 0; i < s.n; i++) {
			char *j = k8s_obj_to_json(s.o[i]);

			assert_non_null(j); /* what was handed out is whole */
			free(j);
			k8s_obj_free(s.o[i]);
		}
		k8s_errors_free(&e);
		if (!failalloc_fired()) {
			assert_int_equal(rc, 0);
			assert_int_equal(s.n, 3);
			break;
		}
		if (rc != -ENOMEM)
			fail_msg("allocation %lu failed: %d (%s), not -ENOMEM", n, rc,
				 rc ? line : "");
	}
	assert_true(n > 3 && n < SWEEP_MAX);
}

/* Each allocation failing alone, then each and every one after it (error paths that
 * allocate in turn). */
static void test_parse_stream(void **state)
{
	(void)state;
	sweep_parse_stream(0);
	sweep_parse_stream(FAILALLOC_PERSIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hmap),
	    cmocka_unit_test(test_jv),
	    cmocka_unit_test(test_parse_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
