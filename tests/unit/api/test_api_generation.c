/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_generation: metadata.generation over HTTP, as Kubernetes' strategies keep it. A
 * create starts it at 1 whatever the client sent; every write that changes the spec (PUT, the
 * patch types, server-side apply, the scale subresource) bumps it by exactly one; a change of
 * labels only, a no-op write, a status write and a client's own value leave it; a kind
 * without generation (ConfigMap) never gets one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define DEPLOY "/apis/apps/v1/namespaces/default/deployments/"
#define CM     "/api/v1/namespaces/default/configmaps/"
#define MERGE  "application/merge-patch+json"

static const char *dep(const char *name, int replicas, const char *image, const char *meta_extra)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\""
		 "%s},\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
		 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{"
		 "\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}}}}",
		 name, meta_extra ? meta_extra : "", replicas, name, name, image);
	return buf;
}

/* metadata.generation of a response, or -1 when it has none. */
static long long generation(const struct tresp *r)
{
	const struct jv *g = jv_path(r->json, "metadata.generation");
	int64_t v;

	if (!g)
		return -1;
	assert_int_equal(jv_int(g, &v), 0);
	return (long long)v;
}

/* One write; asserts its code and the generation it answers with (a Scale has none), and that
 * a GET of the object (get) agrees. */
static void write_expect(struct tsrv *t, const char *get, const char *method, const char *path,
			 const char *ctype, const char *body, long code, long long want)
{
	struct tresp r;

	treq(t, method, path, ctype, body, NULL, &r);
	if (r.code != code)
		fail_msg("%s %s: HTTP %ld, want %ld: %s", method, path, r.code, code,
			 r.body ? r.body : "");
	if (strstr(path, "/scale") == NULL && generation(&r) != want)
		fail_msg("%s %s: generation %lld, want %lld", method, path, generation(&r), want);
	tresp_free(&r);
	tget(t, get, 200, &r);
	if (generation(&r) != want)
		fail_msg("GET %s after %s: generation %lld, want %lld", get, method, generation(&r),
			 want);
	tresp_free(&r);
}

static void test_deployment_generation(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	char *body;

	/* create: 1, whatever the client sent */
	write_expect(t, DEPLOY "g", "POST", "/apis/apps/v1/namespaces/default/deployments", NULL,
		     dep("g", 1, "nginx:1", ",\"generation\":7"), 201, 1);

	/* labels only: no bump (PUT and merge patch) */
	write_expect(t, DEPLOY "g", "PUT", DEPLOY "g", NULL,
		     dep("g", 1, "nginx:1", ",\"labels\":{\"a\":\"1\"}"), 200, 1);
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g", MERGE,
		     "{\"metadata\":{\"labels\":{\"b\":\"2\"}}}", 200, 1);

	/* a spec change: one more */
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g", MERGE, "{\"spec\":{\"replicas\":2}}", 200,
		     2);

	/* two spec fields in one write: still one more */
	write_expect(t, DEPLOY "g", "PUT", DEPLOY "g", NULL,
		     dep("g", 3, "nginx:2", ",\"labels\":{\"b\":\"2\"}"), 200, 3);

	/* the same object again: nothing changes */
	write_expect(t, DEPLOY "g", "PUT", DEPLOY "g", NULL,
		     dep("g", 3, "nginx:2", ",\"labels\":{\"b\":\"2\"}"), 200, 3);

	/* a client's own generation is not taken, on an update with or without a spec change */
	write_expect(t, DEPLOY "g", "PUT", DEPLOY "g", NULL,
		     dep("g", 3, "nginx:2", ",\"labels\":{\"b\":\"2\"},\"generation\":40"), 200, 3);
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g", MERGE,
		     "{\"metadata\":{\"generation\":40},\"spec\":{\"replicas\":4}}", 200, 4);

	/* status: through its subresource (PATCH and PUT), and ignored on the main resource */
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g/status", MERGE,
		     "{\"status\":{\"replicas\":4}}", 200, 4);
	tget(t, DEPLOY "g/status", 200, &r);
	assert_string_equal(jv_path(r.json, "status.replicas")->s, "4");
	jv_set(r.d, jv_get(r.json, "status"), "readyReplicas", jv_new_int(r.d, 3));
	body = jv_to_json(r.json, NULL);
	tresp_free(&r);
	write_expect(t, DEPLOY "g", "PUT", DEPLOY "g/status", NULL, body, 200, 4);
	free(body);
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g", MERGE, "{\"status\":{\"replicas\":9}}",
		     200, 4);

	/* the other ways to change a spec: JSON patch, strategic merge, the scale subresource,
	 * server-side apply (and the same apply again changes nothing) */
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g", "application/json-patch+json",
		     "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":5}]", 200, 5);
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g", "application/strategic-merge-patch+json",
		     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
		     "\"image\":\"nginx:3\"}]}}}}",
		     200, 6);
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g/scale", MERGE, "{\"spec\":{\"replicas\":6}}",
		     200, 7);
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g?fieldManager=tester&force=true",
		     "application/apply-patch+yaml",
		     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
		     "\"g\"},\"spec\":{\"minReadySeconds\":5}}",
		     200, 8);
	write_expect(t, DEPLOY "g", "PATCH", DEPLOY "g?fieldManager=tester&force=true",
		     "application/apply-patch+yaml",
		     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
		     "\"g\"},\"spec\":{\"minReadySeconds\":5}}",
		     200, 8);

	/* a rejected spec change leaves it too */
	treq(t, "PATCH", DEPLOY "g", MERGE, "{\"spec\":{\"replicas\":-1}}", NULL, &r);
	assert_int_equal(r.code, 422);
	tresp_free(&r);
	tget(t, DEPLOY "g", 200, &r);
	assert_int_equal(generation(&r), 8);
	tresp_free(&r);
}

/* A kind without generation: none on create (even when sent), none after updates. */
static void test_configmap_has_none(void **state)
{
	struct tsrv *t = *state;

	write_expect(t, CM "c", "POST", "/api/v1/namespaces/default/configmaps", NULL,
		     "{\"metadata\":{\"name\":\"c\"},\"data\":{\"k\":\"v\"}}", 201, -1);
	write_expect(t, CM "c", "PUT", "/api/v1/namespaces/default/configmaps/c", NULL,
		     "{\"metadata\":{\"name\":\"c\"},\"data\":{\"k\":\"v2\"}}", 200, -1);
	write_expect(t, CM "c", "PATCH", "/api/v1/namespaces/default/configmaps/c", MERGE,
		     "{\"data\":{\"k\":\"v3\"},\"metadata\":{\"labels\":{\"x\":\"y\"}}}", 200, -1);
}

/* A Deployment's strategy counts annotations as spec (its PrepareForUpdate compares them). */
static void test_deployment_annotations_generation(void **state)
{
	struct tsrv *t = *state;

	write_expect(t, DEPLOY "ga", "POST", "/apis/apps/v1/namespaces/default/deployments", NULL,
		     dep("ga", 1, "nginx:1", NULL), 201, 1);
	write_expect(t, DEPLOY "ga", "PATCH", DEPLOY "ga", MERGE,
		     "{\"metadata\":{\"annotations\":{\"note\":\"x\"}}}", 200, 2);
	/* the same annotations again: nothing changes */
	write_expect(t, DEPLOY "ga", "PATCH", DEPLOY "ga", MERGE,
		     "{\"metadata\":{\"annotations\":{\"note\":\"x\"}}}", 200, 2);
	write_expect(t, DEPLOY "ga", "PATCH", DEPLOY "ga", MERGE,
		     "{\"metadata\":{\"annotations\":{\"note\":null}}}", 200, 3);
	/* labels are not annotations */
	write_expect(t, DEPLOY "ga", "PATCH", DEPLOY "ga", MERGE,
		     "{\"metadata\":{\"labels\":{\"l\":\"1\"}}}", 200, 3);
}

/* Through /status a Deployment's annotations change without a new generation (its status
 * strategy resets only spec and labels: kube's controller writes the revision annotation so);
 * labels and spec given there are not taken. A ReplicaSet's status write takes status only. */
static void test_status_annotations(void **state)
{
	struct tsrv *t = *state;
	const struct jv *rev;
	int64_t replicas;
	struct tresp r;

	write_expect(t, DEPLOY "sa", "POST", "/apis/apps/v1/namespaces/default/deployments", NULL,
		     dep("sa", 1, "nginx:1", NULL), 201, 1);
	write_expect(t, DEPLOY "sa", "PATCH", DEPLOY "sa/status", MERGE,
		     "{\"metadata\":{\"annotations\":{\"deployment.kubernetes.io/revision\":\"1\"},"
		     "\"labels\":{\"l\":\"1\"}},\"spec\":{\"replicas\":5}}",
		     200, 1);
	tget(t, DEPLOY "sa", 200, &r);
	rev = jv_get(jv_path(r.json, "metadata.annotations"), "deployment.kubernetes.io/revision");
	assert_true(rev && jv_is_str(rev, "1"));
	assert_null(jv_path(r.json, "metadata.labels.l"));
	assert_int_equal(jv_path_int(r.json, "spec.replicas", &replicas), 0);
	assert_int_equal(replicas, 1);
	tresp_free(&r);

	tpost(t, "/apis/apps/v1/namespaces/default/replicasets",
	      "{\"metadata\":{\"name\":\"rsa\"},\"spec\":{\"replicas\":1,\"selector\":{"
	      "\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":"
	      "\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}",
	      201, &r);
	tresp_free(&r);
	treq(t, "PATCH", "/apis/apps/v1/namespaces/default/replicasets/rsa/status", MERGE,
	     "{\"metadata\":{\"annotations\":{\"x\":\"y\"}}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_null(jv_path(r.json, "metadata.annotations.x"));
	tresp_free(&r);
}

/* Quantities are stored as Kubernetes stores them (canonical: "0.5" -> "500m", a number -> a
 * string), so writing the same manifest again changes nothing and bumps no generation. */
static void test_quantities_canonical(void **state)
{
	static const char body[] =
	    "{\"metadata\":{\"name\":\"qd\"},\"spec\":{\"replicas\":1,\"selector\":{"
	    "\"matchLabels\":{\"a\":\"q\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":"
	    "\"q\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{"
	    "\"requests\":{\"cpu\":\"0.5\",\"memory\":\"1024Mi\"},\"limits\":{\"cpu\":1,"
	    "\"memory\":\"1.5Gi\"}}}]}}}}";
	struct tsrv *t = *state;
	const struct jv *res;
	struct tresp r;

	write_expect(t, DEPLOY "qd", "POST", "/apis/apps/v1/namespaces/default/deployments", NULL,
		     body, 201, 1);
	tget(t, DEPLOY "qd", 200, &r);
	res = jv_path(r.json, "spec.template.spec.containers");
	res = jv_get(res ? res->head : NULL, "resources");
	assert_string_equal(tstr(res, "requests.cpu"), "500m");
	assert_string_equal(tstr(res, "requests.memory"), "1Gi");
	assert_string_equal(tstr(res, "limits.cpu"), "1");
	assert_string_equal(tstr(res, "limits.memory"), "1536Mi");
	tresp_free(&r);
	/* the same manifest again: the same object */
	write_expect(t, DEPLOY "qd", "PUT", DEPLOY "qd", NULL, body, 200, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deployment_generation),
	    cmocka_unit_test(test_deployment_annotations_generation),
	    cmocka_unit_test(test_configmap_has_none),
	    cmocka_unit_test(test_status_annotations),
	    cmocka_unit_test(test_quantities_canonical),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
