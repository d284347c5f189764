/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_quota: ResourceQuota admission of creates, over HTTP, with each quota's status
 * written here as the resourcequota controller would (tests/unit/controllers has the
 * controller's own tests): a create beyond status.hard is refused with kube-apiserver's
 * words, an admitted one is charged to status.used (not when dry-run), a quota whose usage is
 * unknown refuses what it tracks, pods must state the cpu and memory a quota limits, scopes
 * select pods, updates of a Service's type or a claim's storage are charged what they add,
 * and twenty concurrent creates against a quota of ten admit exactly ten.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define POD(name, resources)                                                               \
	"{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"containers\":[{\"name\":\"a\"," \
	"\"image\":\"i\"" resources "}]}}"

/* A quota in ns with spec.hard and, as its controller would write it, status hard/used
 * (used NULL: no status at all). */
static void quota(struct tsrv *t, const char *ns, const char *name, const char *hard,
		  const char *used, const char *spec_extra)
{
	char path[256], body[2048];
	struct tresp r;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/resourcequotas", ns);
	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"hard\":%s%s}}",
		 name, hard, spec_extra ? spec_extra : "");
	tpost(t, path, body, 201, &r);
	tresp_free(&r);
	if (!used)
		return;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/resourcequotas/%s/status", ns, name);
	snprintf(body, sizeof(body), "{\"status\":{\"hard\":%s,\"used\":%s}}", hard, used);
	treq(t, "PATCH", path, "application/merge-patch+json", body, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
}

static void ns(struct tsrv *t, const char *name)
{
	char body[128];
	struct tresp r;

	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", name);
	tpost(t, "/api/v1/namespaces", body, 201, &r);
	tresp_free(&r);
}

/* status.used[res] of the quota, copied into buf. */
static const char *used(struct tsrv *t, const char *nsn, const char *name, const char *res,
			char *buf, size_t size)
{
	char path[256];
	struct tresp r;
	struct jv *j;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/resourcequotas/%s", nsn, name);
	j = tget(t, path, 200, &r);
	buf[0] = 0;
	for (const struct jv *m = jv_first(jv_path(j, "status.used")); m; m = m->next)
		if (strcmp(m->key, res) == 0 && m->type == JV_STRING)
			snprintf(buf, size, "%s", m->s);
	tresp_free(&r);
	return buf;
}

/* A request, asserting the code; for 403 the message must be want. */
static void call(struct tsrv *t, const char *method, const char *ctype, const char *path,
		 const char *body, long code, const char *want)
{
	struct tresp r;

	treq(t, method, path, ctype, body, NULL, &r);
	if (r.code != code)
		fail_msg("%s %s: %ld, expected %ld: %s", method, path, r.code, code, r.body);
	if (want) {
		assert_string_equal(tstr(r.json, "message"), want);
		assert_string_equal(tstr(r.json, "reason"), "Forbidden");
		assert_int_equal(jv_count(jv_path(r.json, "details")) > 0, 1);
	}
	tresp_free(&r);
}

static void create(struct tsrv *t, const char *path, const char *body, long code, const char *want)
{
	call(t, "POST", NULL, path, body, code, want);
}

/* A merge patch of the object at path. */
static void patch(struct tsrv *t, const char *path, const char *body, long code, const char *want)
{
	call(t, "PATCH", "application/merge-patch+json", path, body, code, want);
}

static void test_exceeded(void **state)
{
	struct tsrv *t = *state;
	const char *cms = "/api/v1/namespaces/q1/configmaps";
	char buf[64];

	ns(t, "q1");
	quota(t, "q1", "objects", "{\"count/configmaps\":\"2\",\"configmaps\":\"5\"}",
	      "{\"count/configmaps\":\"1\",\"configmaps\":\"1\"}", NULL);
	create(t, cms, "{\"metadata\":{\"name\":\"c1\"}}", 201, NULL);
	/* charged as it was admitted */
	assert_string_equal(used(t, "q1", "objects", "count/configmaps", buf, sizeof(buf)), "2");
	assert_string_equal(used(t, "q1", "objects", "configmaps", buf, sizeof(buf)), "2");
	create(t, cms, "{\"metadata\":{\"name\":\"c2\"}}", 403,
	       "configmaps \"c2\" is forbidden: exceeded quota: objects, requested: "
	       "count/configmaps=1, used: count/configmaps=2, limited: count/configmaps=2");
	/* refused: nothing charged, nothing stored */
	assert_string_equal(used(t, "q1", "objects", "count/configmaps", buf, sizeof(buf)), "2");
	{
		struct tresp r;

		tget(t, "/api/v1/namespaces/q1/configmaps/c2", 404, &r);
		tresp_free(&r);
	}
	/* other kinds are not this quota's business */
	create(t, "/api/v1/namespaces/q1/secrets", "{\"metadata\":{\"name\":\"s\"}}", 201, NULL);
	/* a dry run is checked, not charged */
	quota(t, "q1", "secrets", "{\"secrets\":\"3\"}", "{\"secrets\":\"1\"}", NULL);
	create(t, "/api/v1/namespaces/q1/secrets?dryRun=All", "{\"metadata\":{\"name\":\"s2\"}}",
	       201, NULL);
	assert_string_equal(used(t, "q1", "secrets", "secrets", buf, sizeof(buf)), "1");
}

/* No status yet: nothing restricted, nothing charged; a status without usage of what it
 * limits: refused. */
static void test_status(void **state)
{
	struct tsrv *t = *state;
	char buf[64];

	ns(t, "q2");
	quota(t, "q2", "new", "{\"configmaps\":\"0\"}", NULL, NULL);
	create(t, "/api/v1/namespaces/q2/configmaps", "{\"metadata\":{\"name\":\"a\"}}", 201, NULL);
	assert_string_equal(used(t, "q2", "new", "configmaps", buf, sizeof(buf)), "");
	quota(t, "q2", "half", "{\"configmaps\":\"5\",\"count/configmaps\":\"5\"}",
	      "{\"configmaps\":\"1\"}", NULL);
	create(t, "/api/v1/namespaces/q2/configmaps", "{\"metadata\":{\"name\":\"b\"}}", 403,
	       "configmaps \"b\" is forbidden: status unknown for quota: half, resources: "
	       "configmaps,count/configmaps");
}

/* A quota on cpu or memory: every container states it; usage sums as quantities. */
static void test_pods(void **state)
{
	struct tsrv *t = *state;
	const char *pods = "/api/v1/namespaces/q3/pods";
	char buf[64];

	ns(t, "q3");
	quota(t, "q3", "compute",
	      "{\"limits.cpu\":\"2\",\"limits.memory\":\"2Gi\",\"requests.memory\":\"1Gi\","
	      "\"pods\":\"10\"}",
	      "{\"limits.cpu\":\"0\",\"limits.memory\":\"0\",\"requests.memory\":\"0\","
	      "\"pods\":\"0\"}",
	      NULL);
	create(t, pods,
	       "{\"metadata\":{\"name\":\"bare\"},\"spec\":{\"containers\":[{\"name\":\"b\","
	       "\"image\":\"i\"},{\"name\":\"a\",\"image\":\"i\",\"resources\":{\"limits\":{"
	       "\"cpu\":\"1\"}}}],\"initContainers\":[{\"name\":\"init\",\"image\":\"i\"}]}}",
	       403,
	       "pods \"bare\" is forbidden: failed quota: compute: must specify limits.cpu for: "
	       "b,init; limits.memory for: a,b,init; requests.memory for: a,b,init");
	create(t, pods,
	       POD("p1", ",\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"}}"),
	       201, NULL);
	create(t, pods,
	       POD("p2", ",\"resources\":{\"limits\":{\"cpu\":\"700m\",\"memory\":\"768Mi\"}}"),
	       201, NULL);
	assert_string_equal(used(t, "q3", "compute", "limits.cpu", buf, sizeof(buf)), "1200m");
	assert_string_equal(used(t, "q3", "compute", "limits.memory", buf, sizeof(buf)), "1Gi");
	/* requests default to limits: 1Gi of requests.memory is taken */
	assert_string_equal(used(t, "q3", "compute", "requests.memory", buf, sizeof(buf)), "1Gi");
	assert_string_equal(used(t, "q3", "compute", "pods", buf, sizeof(buf)), "2");
	create(t, pods,
	       POD("p3", ",\"resources\":{\"limits\":{\"cpu\":\"100m\",\"memory\":\"1Mi\"}}"), 403,
	       "pods \"p3\" is forbidden: exceeded quota: compute, requested: requests.memory=1Mi, "
	       "used: requests.memory=1Gi, limited: requests.memory=1Gi");
	create(t, pods,
	       POD("p4", ",\"resources\":{\"limits\":{\"cpu\":\"900m\",\"memory\":\"1Gi\"}}"), 403,
	       "pods \"p4\" is forbidden: exceeded quota: compute, requested: "
	       "limits.cpu=900m,requests.memory=1Gi, used: limits.cpu=1200m,requests.memory=1Gi, "
	       "limited: limits.cpu=2,requests.memory=1Gi");
}

/* Scopes select pods: a BestEffort quota counts only pods without requests or limits. */
static void test_scopes(void **state)
{
	struct tsrv *t = *state;
	const char *pods = "/api/v1/namespaces/q4/pods";

	ns(t, "q4");
	quota(t, "q4", "be", "{\"pods\":\"1\"}", "{\"pods\":\"0\"}",
	      ",\"scopes\":[\"BestEffort\"]");
	create(t, pods, POD("be1", ""), 201, NULL);
	create(t, pods, POD("be2", ""), 403,
	       "pods \"be2\" is forbidden: exceeded quota: be, requested: pods=1, used: pods=1, "
	       "limited: pods=1");
	/* not BestEffort: not this quota's */
	create(t, pods, POD("burstable", ",\"resources\":{\"requests\":{\"cpu\":\"10m\"}}"), 201,
	       NULL);
}

static void test_services(void **state)
{
	struct tsrv *t = *state;
	char buf[64];

	ns(t, "q5");
	quota(t, "q5", "svc", "{\"services.nodeports\":\"2\",\"services.loadbalancers\":\"1\"}",
	      "{\"services.nodeports\":\"0\",\"services.loadbalancers\":\"0\"}", NULL);
	create(t, "/api/v1/namespaces/q5/services",
	       "{\"metadata\":{\"name\":\"np\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{"
	       "\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81},{\"name\":\"c\","
	       "\"port\":82}]}}",
	       403,
	       "services \"np\" is forbidden: exceeded quota: svc, requested: "
	       "services.nodeports=3, used: services.nodeports=0, limited: services.nodeports=2");
	create(t, "/api/v1/namespaces/q5/services",
	       "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{"
	       "\"port\":80}]}}",
	       201, NULL);
	assert_string_equal(used(t, "q5", "svc", "services.nodeports", buf, sizeof(buf)), "1");
	assert_string_equal(used(t, "q5", "svc", "services.loadbalancers", buf, sizeof(buf)), "1");
}

/* ---- updates ---- */

/* A Service's type may change: an update is charged what it adds (kube's service evaluator
 * handles updates), nothing when it adds nothing, even to a quota already full. */
static void test_service_update(void **state)
{
	struct tsrv *t = *state;
	const char *svcs = "/api/v1/namespaces/q7/services",
		   *a = "/api/v1/namespaces/q7/services/a", *b = "/api/v1/namespaces/q7/services/b";
	char buf[64];

	ns(t, "q7");
	quota(t, "q7", "svc", "{\"services.nodeports\":\"2\",\"services.loadbalancers\":\"1\"}",
	      "{\"services.nodeports\":\"0\",\"services.loadbalancers\":\"0\"}", NULL);
	create(t, svcs,
	       "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"name\":\"x\",\"port\":80},"
	       "{\"name\":\"y\",\"port\":81}]}}",
	       201, NULL);
	create(t, svcs, "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"ports\":[{\"port\":80}]}}", 201,
	       NULL);
	assert_string_equal(used(t, "q7", "svc", "services.nodeports", buf, sizeof(buf)), "0");
	patch(t, a, "{\"spec\":{\"type\":\"NodePort\"}}", 200, NULL);
	assert_string_equal(used(t, "q7", "svc", "services.nodeports", buf, sizeof(buf)), "2");
	patch(t, b, "{\"spec\":{\"type\":\"NodePort\"}}", 403,
	      "services \"b\" is forbidden: exceeded quota: svc, requested: "
	      "services.nodeports=1, used: services.nodeports=2, limited: services.nodeports=2");
	/* refused: not stored, not charged */
	{
		struct tresp r;
		struct jv *j = tget(t, b, 200, &r);

		assert_string_equal(tstr(j, "spec.type"), "ClusterIP");
		tresp_free(&r);
	}
	assert_string_equal(used(t, "q7", "svc", "services.nodeports", buf, sizeof(buf)), "2");
	/* what adds nothing passes a full quota */
	patch(t, a, "{\"metadata\":{\"labels\":{\"l\":\"v\"}}}", 200, NULL);
	/* NodePort to LoadBalancer: the node ports it has, one load balancer more */
	patch(t, a, "{\"spec\":{\"type\":\"LoadBalancer\"}}", 200, NULL);
	assert_string_equal(used(t, "q7", "svc", "services.nodeports", buf, sizeof(buf)), "2");
	assert_string_equal(used(t, "q7", "svc", "services.loadbalancers", buf, sizeof(buf)), "1");
	patch(t, b, "{\"spec\":{\"type\":\"LoadBalancer\"}}", 403,
	      "services \"b\" is forbidden: exceeded quota: svc, requested: "
	      "services.loadbalancers=1,services.nodeports=1, used: "
	      "services.loadbalancers=1,services.nodeports=2, limited: "
	      "services.loadbalancers=1,services.nodeports=2");
}

#define PVC(name, size)                                                                        \
	"{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]," \
	"\"resources\":{\"requests\":{\"storage\":\"" size "\"}}}}"

/* A claim's storage request may grow: the growth is charged to requests.storage (and the
 * claim counted once). */
static void test_pvc_update(void **state)
{
	struct tsrv *t = *state;
	const char *c = "/api/v1/namespaces/q8/persistentvolumeclaims/c";
	char buf[64];

	ns(t, "q8");
	quota(t, "q8", "st", "{\"requests.storage\":\"2Gi\",\"persistentvolumeclaims\":\"5\"}",
	      "{\"requests.storage\":\"0\",\"persistentvolumeclaims\":\"0\"}", NULL);
	create(t, "/api/v1/namespaces/q8/persistentvolumeclaims", PVC("c", "1Gi"), 201, NULL);
	assert_string_equal(used(t, "q8", "st", "requests.storage", buf, sizeof(buf)), "1Gi");
	/* only a bound claim's request may change (ValidatePersistentVolumeClaimUpdate) */
	call(t, "PATCH", "application/merge-patch+json",
	     "/api/v1/namespaces/q8/persistentvolumeclaims/c/status",
	     "{\"status\":{\"phase\":\"Bound\"}}", 200, NULL);
	patch(t, c, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"3Gi\"}}}}", 403,
	      "persistentvolumeclaims \"c\" is forbidden: exceeded quota: st, requested: "
	      "requests.storage=2Gi, used: requests.storage=1Gi, limited: requests.storage=2Gi");
	assert_string_equal(used(t, "q8", "st", "requests.storage", buf, sizeof(buf)), "1Gi");
	patch(t, c, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}", 200, NULL);
	assert_string_equal(used(t, "q8", "st", "requests.storage", buf, sizeof(buf)), "2Gi");
	assert_string_equal(used(t, "q8", "st", "persistentvolumeclaims", buf, sizeof(buf)), "1");
	/* a shrink requests nothing (the controller gives it back when it recounts) */
	patch(t, c, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}", 200, NULL);
	assert_string_equal(used(t, "q8", "st", "requests.storage", buf, sizeof(buf)), "2Gi");
	/* a claim counts the larger of its request and its allocation (kube's
	 * getStorageUsage): with 2Gi allocated, asking 2Gi again adds nothing */
	call(t, "PATCH", "application/merge-patch+json",
	     "/api/v1/namespaces/q8/persistentvolumeclaims/c/status",
	     "{\"status\":{\"allocatedResources\":{\"storage\":\"2Gi\"}}}", 200, NULL);
	patch(t, c, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}", 200, NULL);
	assert_string_equal(used(t, "q8", "st", "requests.storage", buf, sizeof(buf)), "2Gi");
}

/* ---- concurrency ---- */

struct racer {
	const char *base;
	int i;
	long code;
};

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static void *race(void *arg)
{
	struct racer *r = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256], body[128];

	snprintf(url, sizeof(url), "%s/api/v1/namespaces/q6/configmaps", r->base);
	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"r%d\"}}", r->i);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct tsrv *t = *state;
	struct racer rs[20];
	pthread_t th[20];
	int ok = 0, refused = 0;
	struct tresp r;
	struct jv *j;
	char buf[64];

	ns(t, "q6");
	quota(t, "q6", "ten", "{\"count/configmaps\":\"10\"}", "{\"count/configmaps\":\"0\"}",
	      NULL);
	for (int i = 0; i < 20; i++) {
		rs[i] = (struct racer){.base = t->base, .i = i};
		assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	}
	for (int i = 0; i < 20; i++) {
		pthread_join(th[i], NULL);
		ok += rs[i].code == 201;
		refused += rs[i].code == 403;
	}
	assert_int_equal(ok, 10);
	assert_int_equal(refused, 10);
	j = tget(t, "/api/v1/namespaces/q6/configmaps", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 10);
	tresp_free(&r);
	assert_string_equal(used(t, "q6", "ten", "count/configmaps", buf, sizeof(buf)), "10");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exceeded),   cmocka_unit_test(test_status),
	    cmocka_unit_test(test_pods),       cmocka_unit_test(test_scopes),
	    cmocka_unit_test(test_services),   cmocka_unit_test(test_service_update),
	    cmocka_unit_test(test_pvc_update), cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
