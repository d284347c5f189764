/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_disruption: the disruption controller's PodDisruptionBudget status for the
 * shapes a budget takes (minAvailable and maxUnavailable, numbers and percentages of the
 * controllers' scale, a Deployment's through its ReplicaSet), a failed count (SyncFailed),
 * and evictions against it as `kubectl drain` makes them: allowed while the budget allows,
 * 429 once it does not, pods not Ready or not started evicted regardless, more than one
 * budget refused, and a drain that goes on as replacements become Ready; an evicted pod
 * not deleted within two minutes is counted again, with a NotDeleted Event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"
#include "ctrl_workload.h"

#define NS "pdb"

static const struct k8s_kind *kind(const char *api_version, const char *k)
{
	const struct k8s_kind *r = k8s_kind_find(api_version, k);

	assert_non_null(r);
	return r;
}

static const struct k8s_kind *pdb_kind(void)
{
	return kind("policy/v1", "PodDisruptionBudget");
}

static char rs_uid[64];

/* A ReplicaSet of `replicas` (the test plays its controller) owned by the Deployment of
 * dep_uid when given, and `pods` Ready pods of it on node n1. */
static void workload(struct cenv *e, const char *rs, int replicas, int pods, const char *dep_uid)
{
	struct jv_doc *d = jv_doc_new();
	char json[2048], owner[256] = "";
	struct jv *o;

	if (dep_uid)
		snprintf(
		    owner, sizeof(owner),
		    ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		    "\"name\":\"dep\",\"uid\":\"%s\",\"controller\":true}]",
		    dep_uid);
	snprintf(
	    json, sizeof(json),
	    "{\"metadata\":{\"name\":\"%s\"%s},\"spec\":{\"replicas\":%d,\"selector\":{"
	    "\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{"
	    "\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}",
	    rs, owner, replicas);
	cenv_create(e, kind("apps/v1", "ReplicaSet"), NS, json);
	o = cenv_get(e, d, kind("apps/v1", "ReplicaSet"), NS, rs);
	snprintf(rs_uid, sizeof(rs_uid), "%s", jv_path_str(o, "metadata.uid"));
	for (int i = 0; i < pods; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s-%d", rs, i);
		snprintf(json, sizeof(json),
			 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"web\"},"
			 "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
			 "\"name\":\"%s\",\"uid\":\"%s\",\"controller\":true,"
			 "\"blockOwnerDeletion\":true}]},\"spec\":{\"containers\":[{\"name\":\"c\","
			 "\"image\":\"i\"}]}}",
			 name, rs, rs_uid);
		cenv_create(e, kind_pod(), NS, json);
		cenv_pod_run(e, NS, name, "n1", true);
	}
	jv_doc_free(d);
}

/* The budget's status is (expected, desired, healthy, allowed), for its current generation. */
static bool status_is(struct cenv *e, const char *name, int64_t expected, int64_t desired,
		      int64_t healthy, int64_t allowed)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, pdb_kind(), NS, name);
	int64_t v[5] = {-1, -1, -1, -1, -2}, gen = -3;
	bool ok;

	jv_path_int(o, "status.expectedPods", &v[0]);
	jv_path_int(o, "status.desiredHealthy", &v[1]);
	jv_path_int(o, "status.currentHealthy", &v[2]);
	jv_path_int(o, "status.disruptionsAllowed", &v[3]);
	jv_path_int(o, "status.observedGeneration", &v[4]);
	jv_path_int(o, "metadata.generation", &gen);
	ok = v[0] == expected && v[1] == desired && v[2] == healthy && v[3] == allowed &&
	     v[4] == gen;
	jv_doc_free(d);
	return ok;
}

/* The DisruptionAllowed condition's field. */
static bool cond_is(struct cenv *e, const char *name, const char *field, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, pdb_kind(), NS, name);
	bool ok = false;

	for (const struct jv *c = jv_first(jv_path(o, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "DisruptionAllowed"))
			ok = jv_is_str(jv_get(c, field), want);
	jv_doc_free(d);
	return ok;
}

static void budget(struct cenv *e, const char *name, const char *spec)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{\"matchLabels\":{"
		 "\"app\":\"web\"}},%s}}",
		 name, spec);
	cenv_create(e, pdb_kind(), NS, json);
}

static void respec(struct cenv *e, const char *name, const char *patch)
{
	struct kc_status st;

	if (kc_patch(e->k.c, pdb_kind(), NS, name, NULL, KC_PATCH_MERGE, patch, strlen(patch), NULL,
		     NULL, &st) != 0)
		fail_msg("patch %s: %s", name, st.message);
}

static void start(struct cenv *e)
{
	cenv_start(e, "disruption", NULL, NULL);
	kc_make_ns(e->k.c, NS);
	cenv_node(e, "n1", 8, 100, NULL);
}

static void test_shapes(void **state)
{
	struct cenv e;

	(void)state;
	start(&e);
	/* 3 of the 4 replicas exist */
	workload(&e, "web", 4, 3, NULL);
	/* a number: the pods there are what is expected */
	budget(&e, "b", "\"minAvailable\":2");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 3, 2, 3, 1), KC_WAIT_MS));
	assert_true(cond_is(&e, "b", "status", "True"));
	assert_true(cond_is(&e, "b", "reason", "SufficientPods"));
	/* a percentage: of the controller's scale, rounded up */
	respec(&e, "b", "{\"spec\":{\"minAvailable\":\"100%\"}}");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 4, 4, 3, 0), KC_WAIT_MS));
	assert_true(cond_is(&e, "b", "status", "False"));
	assert_true(cond_is(&e, "b", "reason", "InsufficientPods"));
	respec(&e, "b", "{\"spec\":{\"minAvailable\":null,\"maxUnavailable\":\"30%\"}}");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 4, 2, 3, 1), KC_WAIT_MS));
	respec(&e, "b", "{\"spec\":{\"maxUnavailable\":1}}");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 4, 3, 3, 0), KC_WAIT_MS));
	/* a pod no longer Ready is not healthy */
	respec(&e, "b", "{\"spec\":{\"maxUnavailable\":2}}");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 4, 2, 3, 1), KC_WAIT_MS));
	cenv_pod_run(&e, NS, "web-0", "n1", false);
	assert_true(WAIT_UNTIL(status_is(&e, "b", 4, 2, 2, 0), KC_WAIT_MS));
	cenv_stop(&e);
}

/* A Deployment's pods: the Deployment's scale; a pod of a controller that has no scale:
 * the count fails, and nothing is allowed. */
static void test_controllers(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct cenv e;
	struct jv *dep;

	(void)state;
	start(&e);
	cenv_create(
	    &e, kind("apps/v1", "Deployment"), NS,
	    "{\"metadata\":{\"name\":\"dep\"},\"spec\":{\"replicas\":6,\"selector\":{"
	    "\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{"
	    "\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}"
	    "}");
	dep = cenv_get(&e, d, kind("apps/v1", "Deployment"), NS, "dep");
	workload(&e, "dep-rs", 2, 2, jv_path_str(dep, "metadata.uid"));
	budget(&e, "b", "\"maxUnavailable\":\"50%\"");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 6, 3, 2, 0), KC_WAIT_MS));
	/* a pod of a Job: no scale to count by */
	cenv_create(&e, kind_pod(), NS,
		    "{\"metadata\":{\"name\":\"job-pod\",\"labels\":{\"app\":\"web\"},"
		    "\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"name\":"
		    "\"j\",\"uid\":\"12345678-1234-1234-1234-123456789012\",\"controller\":true}]},"
		    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
	assert_true(WAIT_UNTIL(cond_is(&e, "b", "reason", "SyncFailed"), KC_WAIT_MS));
	assert_true(cond_is(&e, "b", "message", "found no controllers for pod \"job-pod\""));
	assert_true(cond_is(&e, "b", "status", "False"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* ---- eviction ---- */

static int evict(struct cenv *e, const char *pod, struct kc_status *st)
{
	struct jv_doc *d = jv_doc_new();
	char json[256];
	int err;

	snprintf(
	    json, sizeof(json),
	    "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"%s\","
	    "\"namespace\":\"" NS "\"}}",
	    pod);
	err = kc_create_sub(e->k.c, kind_pod(), NS, pod, "eviction", J(d, json), NULL, NULL, st);
	jv_doc_free(d);
	return err;
}

/* The reason of the pod's condition of that type ("" without one). */
static const char *pod_cond_reason(const struct jv *pod, const char *type)
{
	for (const struct jv *c = jv_first(jv_path(pod, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			return jv_path_str(c, "reason") ?: "";
	return "";
}

static bool deleting(struct cenv *e, const char *pod)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, kind_pod(), NS, pod);
	bool del = !o || jv_path(o, "metadata.deletionTimestamp");

	jv_doc_free(d);
	return del;
}

/* The kubelet's last word: the pod's containers stopped, it goes. */
static void finish(struct cenv *e, const char *pod)
{
	struct kc_delete_opts now = KC_DELETE_OPTS_INIT;
	struct kc_status st;

	now.grace_seconds = 0;
	kc_delete(e->k.c, kind_pod(), NS, pod, &now, NULL, &st);
}

static void test_eviction(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	struct cenv e;
	struct jv *p;
	int err;

	(void)state;
	start(&e);
	workload(&e, "web", 3, 3, NULL);
	budget(&e, "b", "\"minAvailable\":2");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 3, 2, 3, 1), KC_WAIT_MS));
	/* allowed: the pod is deleted (gracefully: it is on a node), marked as disrupted */
	assert_int_equal(evict(&e, "web-0", &st), 0);
	p = cenv_get(&e, d, kind_pod(), NS, "web-0");
	assert_non_null(jv_path(p, "metadata.deletionTimestamp"));
	assert_string_equal(pod_cond_reason(p, "DisruptionTarget"), "EvictionByEvictionAPI");
	/* the budget is spent: 429 */
	err = evict(&e, "web-1", &st);
	assert_int_equal(st.code, 429);
	assert_string_equal(st.reason, "TooManyRequests");
	assert_string_equal(st.message,
			    "Cannot evict pod as it would violate the pod's disruption budget.");
	assert_int_not_equal(err, 0);
	assert_false(deleting(&e, "web-1"));
	/* the controller agrees once it has seen the pod go */
	assert_true(WAIT_UNTIL(status_is(&e, "b", 3, 2, 2, 0), KC_WAIT_MS));
	/* a pod not Ready is not guarded while the budget is healthy */
	cenv_create(&e, kind_pod(), NS,
		    "{\"metadata\":{\"name\":\"unready\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
		    "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
	cenv_pod_run(&e, NS, "unready", "n1", false);
	assert_true(WAIT_UNTIL(status_is(&e, "b", 4, 2, 2, 0), KC_WAIT_MS));
	assert_int_equal(evict(&e, "unready", &st), 0);
	assert_true(deleting(&e, "unready"));
	/* a pod not started (Pending) neither */
	cenv_create(&e, kind_pod(), NS,
		    "{\"metadata\":{\"name\":\"pending\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
		    "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
	assert_int_equal(evict(&e, "pending", &st), 0);
	assert_null(cenv_get(&e, d, kind_pod(), NS, "pending"));
	/* two budgets: the eviction does not choose */
	budget(&e, "b2", "\"maxUnavailable\":5");
	err = evict(&e, "web-2", &st);
	assert_int_not_equal(err, 0);
	assert_int_equal(st.code, 500);
	assert_string_equal(st.message, "This pod has more than one PodDisruptionBudget, which the "
					"eviction subresource does not support.");
	assert_false(deleting(&e, "web-2"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* kubectl drain: evict every pod of the node, retrying those the budget holds back while the
 * workload's controller (here the test) replaces the evicted ones elsewhere. */
static void test_drain(void **state)
{
	static const char *const pods[] = {"web-0", "web-1", "web-2"};
	struct kc_status st;
	struct cenv e;
	int evicted = 0, refusals = 0, replacements = 0;

	(void)state;
	start(&e);
	cenv_node(&e, "n2", 8, 100, NULL);
	workload(&e, "web", 3, 3, NULL);
	budget(&e, "b", "\"minAvailable\":2");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 3, 2, 3, 1), KC_WAIT_MS));
	for (size_t i = 0; i < 3; i++) {
		int err;

		while ((err = evict(&e, pods[i], &st)) != 0) {
			char json[1024], name[32];

			assert_int_equal(st.code, 429);
			refusals++;
			/* the replica set's part: the evicted pod gone, a new one Ready on n2 */
			for (size_t j = 0; j < i; j++)
				finish(&e, pods[j]);
			snprintf(name, sizeof(name), "new-%d", replacements++);
			snprintf(
			    json, sizeof(json),
			    "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"web\"},"
			    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
			    "\"ReplicaSet\",\"name\":\"web\",\"uid\":\"%s\",\"controller\":true}"
			    "]},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
			    name, rs_uid);
			cenv_create(&e, kind_pod(), NS, json);
			cenv_pod_run(&e, NS, name, "n2", true);
			assert_true(WAIT_UNTIL(status_is(&e, "b", 3, 2, 3, 1), KC_WAIT_MS));
		}
		evicted++;
	}
	assert_int_equal(evicted, 3);
	assert_int_equal(refusals, 2);
	for (size_t i = 0; i < 3; i++)
		assert_true(deleting(&e, pods[i]));
	cenv_stop(&e);
}

/* Does the budget hold pod as evicted (status.disruptedPods)? */
static bool disrupted(struct cenv *e, const char *name, const char *pod)
{
	struct jv_doc *d = jv_doc_new();
	const struct jv *pods =
	    jv_path(cenv_get(e, d, pdb_kind(), NS, name), "status.disruptedPods");
	bool held = jv_get(pods, pod) != NULL;

	jv_doc_free(d);
	return held;
}

/* A pod the budget holds as evicted (disruptedPods) that is still not being deleted two
 * minutes later: healthy again, and the pod's Event names the budget. */
static void test_not_deleted(void **state)
{
	const char *evicted_long_ago =
	    "{\"status\":{\"disruptedPods\":{\"web-1\":\"2020-01-01T00:00:00Z\"}}}";
	struct kc_status st;
	struct cenv e;

	(void)state;
	start(&e);
	workload(&e, "web", 3, 3, NULL);
	budget(&e, "b", "\"minAvailable\":2");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 3, 2, 3, 1), KC_WAIT_MS));
	if (kc_patch(e.k.c, pdb_kind(), NS, "b", "status", KC_PATCH_MERGE, evicted_long_ago,
		     strlen(evicted_long_ago), NULL, NULL, &st) != 0)
		fail_msg("status patch: %s", st.message);
	assert_true(WAIT_UNTIL(cw_event(&e, NS, "NotDeleted", "web-1",
					"Pod was expected by PDB pdb/b to be deleted but it "
					"wasn't") > 0,
			       KC_WAIT_MS));
	/* no longer held: counted again */
	assert_true(WAIT_UNTIL(!disrupted(&e, "b", "web-1"), KC_WAIT_MS));
	assert_true(status_is(&e, "b", 3, 2, 3, 1));
	cenv_stop(&e);
}

/* A ReplicationController's pods: its scale (kube's getPodReplicationController), its
 * controller making them. */
static void test_replicationcontroller(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "disruption,replicationcontroller", NULL, NULL);
	kc_make_ns(e.k.c, NS);
	cenv_node(&e, "n1", 8, 100, NULL);
	cenv_create(&e, kind("v1", "ReplicationController"), NS,
		    "{\"metadata\":{\"name\":\"rc\"},\"spec\":{\"replicas\":4,\"selector\":"
		    "{\"app\":\"web\"},\"template\":{\"metadata\":{\"labels\":{\"app\":"
		    "\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=web") == 4, KC_WAIT_MS));
	cenv_pods_run_all(&e, NS, "app=web", "n1");
	budget(&e, "b", "\"maxUnavailable\":\"50%\"");
	assert_true(WAIT_UNTIL(status_is(&e, "b", 4, 2, 4, 2), KC_WAIT_MS));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shapes),	cmocka_unit_test(test_controllers),
	    cmocka_unit_test(test_eviction),	cmocka_unit_test(test_drain),
	    cmocka_unit_test(test_not_deleted), cmocka_unit_test(test_replicationcontroller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
