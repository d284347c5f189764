/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_eviction: pods/eviction against PodDisruptionBudgets whose status is written here
 * as the disruption controller would (tests/unit/controllers has the controller's own
 * tests), over HTTP: the 429 and 500 bodies kube-apiserver answers, the budget's status
 * spent (disruptionsAllowed, disruptedPods, the DisruptionAllowed condition), a budget not
 * caught up with its generation, a negative one, dry runs, and a name that does not match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "helpers.h"

static void post(struct tsrv *t, const char *path, const char *body, long code)
{
	struct tresp r;

	treq(t, "POST", path, NULL, body, NULL, &r);
	if (r.code != code)
		fail_msg("POST %s: %ld, expected %ld: %s", path, r.code, code, r.body);
	tresp_free(&r);
}

static void patch(struct tsrv *t, const char *path, const char *body)
{
	struct tresp r;

	treq(t, "PATCH", path, "application/merge-patch+json", body, NULL, &r);
	if (r.code != 200)
		fail_msg("PATCH %s: %ld: %s", path, r.code, r.body);
	tresp_free(&r);
}

/* A Running pod of app=web on node n1, Ready or not. */
static void pod(struct tsrv *t, const char *ns, const char *name, bool ready)
{
	char path[256], body[1024];

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	snprintf(body, sizeof(body),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
		 "\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
		 name);
	post(t, path, body, 201);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", ns, name);
	snprintf(body, sizeof(body),
		 "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
		 "\"status\":\"%s\"}]}}",
		 ready ? "True" : "False");
	patch(t, path, body);
}

/* A budget over app=web with this status (as its controller would have written it). */
static void budget(struct tsrv *t, const char *ns, const char *name, const char *spec_extra,
		   const char *status)
{
	char path[256], body[1024];

	snprintf(path, sizeof(path), "/apis/policy/v1/namespaces/%s/poddisruptionbudgets", ns);
	snprintf(body, sizeof(body),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{\"matchLabels\":{"
		 "\"app\":\"web\"}}%s}}",
		 name, spec_extra);
	post(t, path, body, 201);
	snprintf(path, sizeof(path), "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s/status",
		 ns, name);
	snprintf(body, sizeof(body), "{\"status\":%s}", status);
	patch(t, path, body);
}

static void ns(struct tsrv *t, const char *name)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", name);
	post(t, "/api/v1/namespaces", body, 201);
}

/* POST an eviction of ns/name (dry: ?dryRun=All); the response in r. */
static void evict(struct tsrv *t, const char *nsn, const char *name, const char *query,
		  const char *body_name, struct tresp *r)
{
	char path[256], body[512];

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/eviction%s", nsn, name,
		 query ? query : "");
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":"
		 "\"%s\",\"namespace\":\"%s\"}}",
		 body_name ? body_name : name, nsn);
	treq(t, "POST", path, NULL, body, NULL, r);
}

static struct jv *get(struct tsrv *t, const char *path, struct tresp *r)
{
	return tget(t, path, 200, r);
}

/* The integer at path (-999 when absent). */
static int64_t num(const struct jv *j, const char *path)
{
	int64_t v = -999;

	jv_path_int(j, path, &v);
	return v;
}

static void test_spend_and_refuse(void **state)
{
	struct tsrv *t = *state;
	const char *pdb = "/apis/policy/v1/namespaces/e1/poddisruptionbudgets/b";
	struct tresp r;
	struct jv *j;

	ns(t, "e1");
	pod(t, "e1", "a", true);
	pod(t, "e1", "b", true);
	pod(t, "e1", "c", true);
	budget(t, "e1", "b", ",\"minAvailable\":2",
	       "{\"observedGeneration\":1,\"disruptionsAllowed\":1,\"currentHealthy\":3,"
	       "\"desiredHealthy\":2,\"expectedPods\":3}");
	evict(t, "e1", "a", NULL, NULL, &r);
	assert_int_equal(r.code, 201);
	assert_string_equal(tstr(r.json, "status"), "Success");
	tresp_free(&r);
	/* the pod is deleted (gracefully: it is on a node) and marked */
	j = get(t, "/api/v1/namespaces/e1/pods/a", &r);
	assert_string_not_equal(tstr(j, "metadata.deletionTimestamp"), "(null)");
	tresp_free(&r);
	/* the budget spent, the pod noted, the condition turned */
	j = get(t, pdb, &r);
	assert_int_equal(num(j, "status.disruptionsAllowed"), 0);
	assert_non_null(jv_get(jv_path(j, "status.disruptedPods"), "a"));
	assert_string_equal(tstr(j, "status.conditions[0].type"), "DisruptionAllowed");
	assert_string_equal(tstr(j, "status.conditions[0].status"), "False");
	assert_string_equal(tstr(j, "status.conditions[0].reason"), "InsufficientPods");
	assert_int_equal(num(j, "status.conditions[0].observedGeneration"), 1);
	tresp_free(&r);
	/* nothing left: 429, with the budget's numbers in the cause */
	evict(t, "e1", "b", NULL, NULL, &r);
	assert_int_equal(r.code, 429);
	assert_string_equal(tstr(r.json, "reason"), "TooManyRequests");
	assert_string_equal(tstr(r.json, "message"),
			    "Cannot evict pod as it would violate the pod's disruption budget.");
	assert_string_equal(tstr(r.json, "details.causes[0].reason"), "DisruptionBudget");
	assert_string_equal(tstr(r.json, "details.causes[0].message"),
			    "The disruption budget b needs 2 healthy pods and has 3 currently");
	assert_null(jv_path(r.json, "details.retryAfterSeconds"));
	tresp_free(&r);
	j = get(t, "/api/v1/namespaces/e1/pods/b", &r);
	assert_string_equal(tstr(j, "metadata.deletionTimestamp"), "(null)");
	tresp_free(&r);
}

static void test_unhealthy_and_pending(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	ns(t, "e2");
	pod(t, "e2", "a", true);
	pod(t, "e2", "sick", false);
	/* a budget at its limit: a pod not Ready costs nothing while healthy >= desired */
	budget(t, "e2", "b", ",\"minAvailable\":1",
	       "{\"observedGeneration\":1,\"disruptionsAllowed\":0,\"currentHealthy\":1,"
	       "\"desiredHealthy\":1,\"expectedPods\":2}");
	evict(t, "e2", "sick", NULL, NULL, &r);
	assert_int_equal(r.code, 201);
	tresp_free(&r);
	/* below it: IfHealthyBudget guards the unready pod too; AlwaysAllow does not */
	pod(t, "e2", "sick2", false);
	patch(t, "/apis/policy/v1/namespaces/e2/poddisruptionbudgets/b/status",
	      "{\"status\":{\"currentHealthy\":0,\"desiredHealthy\":1}}");
	evict(t, "e2", "sick2", NULL, NULL, &r);
	assert_int_equal(r.code, 429);
	tresp_free(&r);
	patch(t, "/apis/policy/v1/namespaces/e2/poddisruptionbudgets/b",
	      "{\"spec\":{\"unhealthyPodEvictionPolicy\":\"AlwaysAllow\"}}");
	patch(t, "/apis/policy/v1/namespaces/e2/poddisruptionbudgets/b/status",
	      "{\"status\":{\"observedGeneration\":2}}");
	evict(t, "e2", "sick2", NULL, NULL, &r);
	assert_int_equal(r.code, 201);
	tresp_free(&r);
	/* a Pending pod (not on a node) goes at once, whatever the budget */
	post(t, "/api/v1/namespaces/e2/pods",
	     "{\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
	     "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
	     201);
	evict(t, "e2", "p", NULL, NULL, &r);
	assert_int_equal(r.code, 201);
	tresp_free(&r);
	tget(t, "/api/v1/namespaces/e2/pods/p", 404, &r);
	tresp_free(&r);
}

static void test_refusals(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	ns(t, "e3");
	pod(t, "e3", "a", true);
	/* the budget's spec changed after its last count: 429 until the controller catches up */
	budget(t, "e3", "b", ",\"minAvailable\":0",
	       "{\"observedGeneration\":0,\"disruptionsAllowed\":1,\"currentHealthy\":1,"
	       "\"desiredHealthy\":0,\"expectedPods\":1}");
	evict(t, "e3", "a", NULL, NULL, &r);
	assert_int_equal(r.code, 429);
	assert_string_equal(tstr(r.json, "details.causes[0].message"),
			    "The disruption budget b is still being processed by the server.");
	assert_int_equal(num(r.json, "details.retryAfterSeconds"), 10);
	tresp_free(&r);
	/* a negative budget */
	patch(t, "/apis/policy/v1/namespaces/e3/poddisruptionbudgets/b/status",
	      "{\"status\":{\"observedGeneration\":1,\"disruptionsAllowed\":-1}}");
	evict(t, "e3", "a", NULL, NULL, &r);
	assert_int_equal(r.code, 403);
	assert_string_equal(tstr(r.json, "message"), "poddisruptionbudget.policy \"b\" is "
						     "forbidden: pdb disruptions allowed is "
						     "negative");
	tresp_free(&r);
	/* a dry run spends nothing and deletes nothing */
	patch(t, "/apis/policy/v1/namespaces/e3/poddisruptionbudgets/b/status",
	      "{\"status\":{\"disruptionsAllowed\":1}}");
	evict(t, "e3", "a", "?dryRun=All", NULL, &r);
	assert_int_equal(r.code, 201);
	tresp_free(&r);
	{
		struct jv *j = get(t, "/apis/policy/v1/namespaces/e3/poddisruptionbudgets/b", &r);

		assert_int_equal(num(j, "status.disruptionsAllowed"), 1);
		tresp_free(&r);
		j = get(t, "/api/v1/namespaces/e3/pods/a", &r);
		assert_string_equal(tstr(j, "metadata.deletionTimestamp"), "(null)");
		tresp_free(&r);
	}
	/* the body names another pod */
	evict(t, "e3", "a", NULL, "other", &r);
	assert_int_equal(r.code, 400);
	assert_string_equal(tstr(r.json, "message"),
			    "name in URL does not match name in Eviction object");
	tresp_free(&r);
	/* two budgets: a Status of 500, no reason */
	budget(t, "e3", "b2", ",\"maxUnavailable\":1",
	       "{\"observedGeneration\":1,\"disruptionsAllowed\":1,\"currentHealthy\":1,"
	       "\"desiredHealthy\":0,\"expectedPods\":1}");
	evict(t, "e3", "a", NULL, NULL, &r);
	assert_int_equal(r.code, 500);
	assert_string_equal(tstr(r.json, "message"),
			    "This pod has more than one PodDisruptionBudget, which the eviction "
			    "subresource does not support.");
	assert_string_equal(tstr(r.json, "status"), "Failure");
	assert_null(jv_get(r.json, "reason"));
	tresp_free(&r);
	/* no budget: evicted */
	post(t, "/api/v1/namespaces/e3/pods",
	     "{\"metadata\":{\"name\":\"free\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{"
	     "\"name\":\"c\",\"image\":\"i\"}]}}",
	     201);
	patch(t, "/api/v1/namespaces/e3/pods/free/status",
	      "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
	      "\"True\"}]}}");
	evict(t, "e3", "free", NULL, NULL, &r);
	assert_int_equal(r.code, 201);
	tresp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spend_and_refuse),
	    cmocka_unit_test(test_unhealthy_and_pending),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
