/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_resourcequota: the resourcequota controller counts what a namespace uses (pods'
 * requests and limits, services' node ports, claims' storage by class, objects by kind) into
 * status.used and copies spec.hard into status.hard; usage released (an object deleted, a
 * pod finished) is counted again; with the API's admission, a create beyond the quota is
 * refused with kube-apiserver's message, and twenty concurrent creates against a quota of
 * ten make exactly ten objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"

static const struct k8s_kind *kind(const char *api_version, const char *k)
{
	const struct k8s_kind *r = k8s_kind_find(api_version, k);

	assert_non_null(r);
	return r;
}

static const struct k8s_kind *rq_kind(void)
{
	return kind("v1", "ResourceQuota");
}

/* status.<which>[res] of the quota ("" when absent). */
static bool quota_is(struct cenv *e, const char *ns, const char *q, const char *which,
		     const char *res, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, rq_kind(), ns, q);
	const char *have = "";
	char path[64];
	bool eq;

	snprintf(path, sizeof(path), "status.%s", which);
	for (const struct jv *m = jv_first(jv_path(o, path)); m; m = m->next)
		if (strcmp(m->key, res) == 0 && m->type == JV_STRING)
			have = m->s;
	eq = strcmp(have, want) == 0;
	jv_doc_free(d);
	return eq;
}

static bool used_is(struct cenv *e, const char *ns, const char *q, const char *res,
		    const char *want)
{
	return quota_is(e, ns, q, "used", res, want);
}

static void delete (struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name)
{
	struct kc_status st;

	if (kc_delete(e->k.c, k, ns, name, NULL, NULL, &st) != 0)
		fail_msg("delete %s %s: %s", k->resource, name, st.message);
}

/* Does the controllers' informer of kind k hold want objects of ns? The quota controller
 * counts from its caches: a quota synced before a watch event arrived would count that object
 * only at the five-minute recount (as kube's: creations are charged by admission, and this
 * one was made before the quota). */
static bool cached(struct cenv *e, const struct k8s_kind *k, const char *ns, size_t want)
{
	struct kc_informer *inf = ctrl_manager_informer(e->m, k);
	struct kc_obj **objs = NULL;
	size_t n = 0;

	if (!inf || kc_informer_list(inf, "namespace", ns, &objs, &n) != 0)
		return false;
	kc_objs_free(objs, n);
	return n == want;
}

/* What is there before the quota is counted; what is made after is charged by the API;
 * what goes is counted again. */
static void test_usage(void **state)
{
	struct cenv e;
	static const struct {
		const char *res, *want;
	} want[] = {
	    {"pods", "1"},
	    {"count/pods", "1"},
	    {"configmaps", "2"},
	    {"count/configmaps", "2"},
	    {"secrets", "1"},
	    {"requests.cpu", "100m"},
	    {"requests.memory", "64Mi"},
	    {"limits.cpu", "200m"},
	    {"limits.memory", "128Mi"},
	    {"services", "1"},
	    {"services.nodeports", "2"},
	    {"persistentvolumeclaims", "1"},
	    {"requests.storage", "1Gi"},
	    {"fast.storageclass.storage.k8s.io/requests.storage", "1Gi"},
	    {"count/deployments.apps", "0"},
	};

	(void)state;
	cenv_start(&e, "resourcequota", NULL, NULL);
	kc_make_ns(e.k.c, "rq");
	cenv_create(&e, kind_cm(), "rq", "{\"metadata\":{\"name\":\"a\"}}");
	cenv_create(&e, kind_cm(), "rq", "{\"metadata\":{\"name\":\"b\"}}");
	cenv_create(&e, kind("v1", "Secret"), "rq", "{\"metadata\":{\"name\":\"s\"}}");
	cenv_create(&e, kind_pod(), "rq",
		    "{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"name\":\"c\","
		    "\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":"
		    "\"64Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":\"128Mi\"}}}]}}");
	cenv_create(&e, kind("v1", "Service"), "rq",
		    "{\"metadata\":{\"name\":\"np\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{"
		    "\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81}]}}");
	cenv_create(&e, kind("v1", "PersistentVolumeClaim"), "rq",
		    "{\"metadata\":{\"name\":\"data\"},\"spec\":{\"storageClassName\":\"fast\","
		    "\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":"
		    "\"1Gi\"}}}}");
	assert_true(WAIT_UNTIL(
	    cached(&e, kind_cm(), "rq", 2) && cached(&e, kind("v1", "Secret"), "rq", 1) &&
		cached(&e, kind_pod(), "rq", 1) && cached(&e, kind("v1", "Service"), "rq", 1) &&
		cached(&e, kind("v1", "PersistentVolumeClaim"), "rq", 1),
	    KC_WAIT_MS));
	cenv_create(&e, rq_kind(), "rq",
		    "{\"metadata\":{\"name\":\"all\"},\"spec\":{\"hard\":{\"pods\":\"10\","
		    "\"count/pods\":\"10\",\"configmaps\":\"10\",\"count/configmaps\":\"10\","
		    "\"secrets\":\"5\",\"requests.cpu\":\"2\",\"requests.memory\":\"1Gi\","
		    "\"limits.cpu\":\"4\",\"limits.memory\":\"2048Mi\",\"services\":\"5\","
		    "\"services.nodeports\":\"4\",\"persistentvolumeclaims\":\"3\","
		    "\"requests.storage\":\"10Gi\","
		    "\"fast.storageclass.storage.k8s.io/requests.storage\":\"5Gi\","
		    "\"count/deployments.apps\":\"3\"}}}");
	assert_true(WAIT_UNTIL(used_is(&e, "rq", "all", "pods", "1"), KC_WAIT_MS));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!used_is(&e, "rq", "all", want[i].res, want[i].want))
			fail_msg("status.used[%s] is not %s", want[i].res, want[i].want);
	/* status.hard is spec.hard as a Quantity prints it */
	assert_true(quota_is(&e, "rq", "all", "hard", "limits.memory", "2Gi"));
	assert_true(quota_is(&e, "rq", "all", "hard", "pods", "10"));
	/* made now: the API charges it as it admits it */
	cenv_create(&e, kind("apps/v1", "Deployment"), "rq",
		    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":"
		    "\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{"
		    "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	assert_true(used_is(&e, "rq", "all", "count/deployments.apps", "1"));
	/* gone, or finished: counted again */
	delete (&e, kind_cm(), "rq", "a");
	assert_true(WAIT_UNTIL(used_is(&e, "rq", "all", "configmaps", "1"), KC_WAIT_MS));
	assert_true(used_is(&e, "rq", "all", "count/configmaps", "1"));
	cenv_pod_run(&e, "rq", "p1", "n1", true);
	cenv_pod_finish(&e, "rq", "p1", "Succeeded");
	assert_true(WAIT_UNTIL(used_is(&e, "rq", "all", "pods", "0"), KC_WAIT_MS));
	assert_true(used_is(&e, "rq", "all", "requests.cpu", "0"));
	/* a finished pod is still an object in storage */
	assert_true(used_is(&e, "rq", "all", "count/pods", "1"));
	cenv_stop(&e);
}

/* The controller's count, then the API's refusal. */
static void test_refused(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	struct cenv e;
	int err;

	(void)state;
	cenv_start(&e, "resourcequota", NULL, NULL);
	kc_make_ns(e.k.c, "rq2");
	cenv_create(&e, rq_kind(), "rq2",
		    "{\"metadata\":{\"name\":\"two\"},\"spec\":{\"hard\":{\"count/configmaps\":"
		    "\"2\"}}}");
	assert_true(WAIT_UNTIL(used_is(&e, "rq2", "two", "count/configmaps", "0"), KC_WAIT_MS));
	cenv_create(&e, kind_cm(), "rq2", "{\"metadata\":{\"name\":\"c1\"}}");
	cenv_create(&e, kind_cm(), "rq2", "{\"metadata\":{\"name\":\"c2\"}}");
	err = kc_create(e.k.c, kind_cm(), "rq2", J(d, "{\"metadata\":{\"name\":\"c3\"}}"), NULL,
			NULL, &st);
	assert_int_equal(err, -EACCES);
	assert_int_equal(st.code, 403);
	assert_string_equal(st.reason, "Forbidden");
	assert_string_equal(st.message,
			    "configmaps \"c3\" is forbidden: exceeded quota: two, requested: "
			    "count/configmaps=1, used: count/configmaps=2, limited: "
			    "count/configmaps=2");
	/* room again once one goes and is counted */
	delete (&e, kind_cm(), "rq2", "c1");
	assert_true(WAIT_UNTIL(used_is(&e, "rq2", "two", "count/configmaps", "1"), KC_WAIT_MS));
	cenv_create(&e, kind_cm(), "rq2", "{\"metadata\":{\"name\":\"c3\"}}");
	jv_doc_free(d);
	cenv_stop(&e);
}

struct racer {
	struct kclient *c;
	int i, err;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	char json[128];

	snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"r%d\"}}", r->i);
	r->err = kc_create(r->c, kind_cm(), "rq3", jv_parse(d, json, strlen(json), NULL), NULL,
			   NULL, &st);
	jv_doc_free(d);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct racer rs[20];
	pthread_t th[20];
	int ok = 0, refused = 0;
	struct cenv e;

	(void)state;
	cenv_start(&e, "resourcequota", NULL, NULL);
	kc_make_ns(e.k.c, "rq3");
	cenv_create(&e, rq_kind(), "rq3",
		    "{\"metadata\":{\"name\":\"ten\"},\"spec\":{\"hard\":{\"count/configmaps\":"
		    "\"10\"}}}");
	assert_true(WAIT_UNTIL(used_is(&e, "rq3", "ten", "count/configmaps", "0"), KC_WAIT_MS));
	for (int i = 0; i < 20; i++) {
		rs[i] = (struct racer){.c = e.k.c, .i = i};
		assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	}
	for (int i = 0; i < 20; i++) {
		pthread_join(th[i], NULL);
		ok += rs[i].err == 0;
		refused += rs[i].err == -EACCES;
	}
	assert_int_equal(ok, 10);
	assert_int_equal(refused, 10);
	assert_int_equal(cenv_count(&e, kind_cm(), "rq3", NULL), 10);
	assert_true(used_is(&e, "rq3", "ten", "count/configmaps", "10"));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
