/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_replicationcontroller: kube-controller-manager 1.32's replication controller
 * (pkg/controller/replication: the ReplicaSet controller over v1 ReplicationControllers
 * through its conversion adapters) as drover runs it: pods from spec.template with a
 * controller ownerReference of kind ReplicationController, status (replicas,
 * fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration), the scale
 * subresource, the map selector in adoption and release (every key and value must match),
 * the ReplicaFailure condition set and cleared, and cascading deletion by the garbage
 * collector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_workload.h"
#include "workload.h"

#define NS "default"

static const struct k8s_kind *kind_rc(void)
{
	return k8s_kind_find("v1", "ReplicationController");
}

/* An RC with selector {app: APP, tier: fe} (a map, as in the docs' nginx example); extra is
 * spliced into the template's spec. */
static void make_rc(struct cenv *e, const char *name, const char *app, int replicas,
		    const char *extra)
{
	char json[2048];

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":"
		 "{\"name\":\"%s\"},\"spec\":{\"replicas\":%d,\"selector\":{\"app\":\"%s\","
		 "\"tier\":\"fe\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\","
		 "\"tier\":\"fe\",\"extra\":\"x\"}},\"spec\":{%s\"containers\":[{\"name\":"
		 "\"nginx\",\"image\":\"nginx\"}]}}}}",
		 name, replicas, app, app, extra ? extra : "");
	cenv_create(e, kind_rc(), NS, json);
}

static int64_t rc_int(struct cenv *e, const char *name, const char *path)
{
	return cw_int(e, kind_rc(), NS, name, path);
}

static void scale_sub(struct cenv *e, const char *name, int replicas)
{
	struct kc_status st;
	char p[128];

	snprintf(p, sizeof(p), "{\"spec\":{\"replicas\":%d}}", replicas);
	if (kc_patch(e->k.c, kind_rc(), NS, name, "scale", KC_PATCH_MERGE, p, strlen(p), NULL, NULL,
		     &st))
		fail_msg("scale %s: %s", name, st.message);
}

static void mkpod(struct cenv *e, const char *name, const char *labels, const char *refs)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":%s%s},\"spec\":{\"containers\":"
		 "[{\"name\":\"c\",\"image\":\"x\"}]}}",
		 name, labels, refs ? refs : "");
	cenv_create(e, kind_pod(), NS, json);
}

/* Pods from the template, owned as kube's replication manager owns them; status; the
 * scale subresource up and down. */
static void test_create_scale(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	struct jv *rc, **pods;
	size_t n;

	(void)state;
	cenv_start(&e, "replicationcontroller", NULL, NULL);
	make_rc(&e, "nginx", "nginx", 3, NULL);
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=nginx") == 3, KC_WAIT_MS));
	rc = cenv_get(&e, d, kind_rc(), NS, "nginx");
	pods = cenv_list(&e, d, kind_pod(), NS, "app=nginx", &n);
	for (size_t i = 0; i < n; i++) {
		const struct jv *ref = jv_at(jv_path(pods[i], "metadata.ownerReferences"), 0);

		assert_string_equal(jv_path_str(pods[i], "metadata.generateName"), "nginx-");
		assert_string_equal(jv_path_str(pods[i], "metadata.labels.extra"), "x");
		assert_string_equal(jv_path_str(ref, "apiVersion"), "v1");
		assert_string_equal(jv_path_str(ref, "kind"), "ReplicationController");
		assert_string_equal(jv_path_str(ref, "name"), "nginx");
		assert_string_equal(jv_path_str(ref, "uid"), jv_path_str(rc, "metadata.uid"));
		assert_int_equal(jv_get(ref, "controller")->type, JV_TRUE);
		assert_int_equal(jv_get(ref, "blockOwnerDeletion")->type, JV_TRUE);
	}
	assert_true(WAIT_UNTIL(rc_int(&e, "nginx", "status.replicas") == 3 &&
				   rc_int(&e, "nginx", "status.fullyLabeledReplicas") == 3 &&
				   rc_int(&e, "nginx", "status.observedGeneration") ==
				       rc_int(&e, "nginx", "metadata.generation"),
			       KC_WAIT_MS));
	/* the map selector survived the controller's status write */
	rc = cenv_get(&e, d, kind_rc(), NS, "nginx");
	assert_string_equal(jv_path_str(rc, "spec.selector.app"), "nginx");
	assert_null(jv_path(rc, "spec.selector.matchLabels"));
	cenv_pods_run_all(&e, NS, "app=nginx", "n1");
	assert_true(WAIT_UNTIL(rc_int(&e, "nginx", "status.readyReplicas") == 3 &&
				   rc_int(&e, "nginx", "status.availableReplicas") == 3,
			       KC_WAIT_MS));
	assert_true(WAIT_UNTIL(
	    cw_event(&e, NS, "SuccessfulCreate", "nginx", "Created pod: nginx-") == 3, KC_WAIT_MS));

	scale_sub(&e, "nginx", 5);
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=nginx") == 5, KC_WAIT_MS));
	cenv_pods_run_all(&e, NS, "app=nginx", "n1");
	scale_sub(&e, "nginx", 1);
	assert_true(WAIT_UNTIL(cw_live_pods(&e, NS, "app=nginx") == 1, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(rc_int(&e, "nginx", "status.replicas") == 1, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(
	    cw_event(&e, NS, "SuccessfulDelete", "nginx", "Deleted pod: nginx-") == 4, KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* The map selector: an orphan with every selector label is adopted, one with only some of
 * them (or other values) is not; a pod that stops matching is released; a pod another
 * controller owns is left alone. */
static void test_adopt_release(void **state)
{
	struct cenv e;
	char uid[64], buf[64];

	(void)state;
	cenv_start(&e, "replicationcontroller", NULL, NULL);
	mkpod(&e, "stray", "{\"app\":\"ad\",\"tier\":\"fe\"}", NULL);
	mkpod(&e, "half", "{\"app\":\"ad\"}", NULL);
	mkpod(&e, "wrong", "{\"app\":\"ad\",\"tier\":\"be\"}", NULL);
	mkpod(&e, "other", "{\"app\":\"ad\",\"tier\":\"fe\"}",
	      ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
	      "\"name\":\"rs\",\"uid\":\"0000-other\",\"controller\":true}]");
	make_rc(&e, "ad", "ad", 2, NULL);
	cw_str(&e, kind_rc(), NS, "ad", "metadata.uid", uid, sizeof(uid));
	assert_true(WAIT_UNTIL(
	    strcmp(cw_str(&e, kind_pod(), NS, "stray", "metadata.ownerReferences[0].uid", buf, 64),
		   uid) == 0,
	    KC_WAIT_MS));
	/* stray adopted + one made */
	assert_true(WAIT_UNTIL(rc_int(&e, "ad", "status.replicas") == 2 &&
				   cenv_count(&e, kind_pod(), NS, "app=ad,tier=fe") == 3,
			       KC_WAIT_MS));
	/* the stray pod lacks the template's "extra" label: not fully labeled */
	assert_true(WAIT_UNTIL(rc_int(&e, "ad", "status.fullyLabeledReplicas") == 1, KC_WAIT_MS));
	assert_string_equal(
	    cw_str(&e, kind_pod(), NS, "half", "metadata.ownerReferences[0].uid", buf, 64), "");
	assert_string_equal(
	    cw_str(&e, kind_pod(), NS, "wrong", "metadata.ownerReferences[0].uid", buf, 64), "");
	assert_string_equal(
	    cw_str(&e, kind_pod(), NS, "other", "metadata.ownerReferences[0].uid", buf, 64),
	    "0000-other");

	/* the adopted pod's tier changes: released, and replaced */
	cw_patch(&e, kind_pod(), NS, "stray", "{\"metadata\":{\"labels\":{\"tier\":\"be\"}}}");
	assert_true(WAIT_UNTIL(
	    strcmp(cw_str(&e, kind_pod(), NS, "stray", "metadata.ownerReferences[0].uid", buf, 64),
		   "") == 0,
	    KC_WAIT_MS));
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=ad,tier=fe") == 3 &&
				   rc_int(&e, "ad", "status.replicas") == 2,
			       KC_WAIT_MS));
	cenv_stop(&e);
}

/* A pod create refused by admission (a service account that does not exist) sets
 * ReplicaFailure True, reason FailedCreate, with the server's message; once the creates
 * succeed the condition is removed (kube's calculateStatus). */
static void test_replica_failure(void **state)
{
	struct cenv e;
	struct api_config acfg = {.sa_admission = true};
	struct jv_doc *d = jv_doc_new();
	struct jv *c;

	(void)state;
	cenv_start(&e, "replicationcontroller", &acfg, NULL);
	cenv_create(&e, k8s_kind_find("v1", "ServiceAccount"), NS,
		    "{\"metadata\":{\"name\":\"default\"}}");
	make_rc(&e, "fail", "fail", 2, "\"serviceAccountName\":\"missing\",");
	assert_true(WAIT_UNTIL(
	    (c = ctrl_condition(cenv_get(&e, d, kind_rc(), NS, "fail"), "ReplicaFailure")) != NULL,
	    KC_WAIT_MS));
	assert_string_equal(jv_path_str(c, "status"), "True");
	assert_string_equal(jv_path_str(c, "reason"), "FailedCreate");
	assert_non_null(strstr(jv_path_str(c, "message"), "serviceaccount \"missing\" not found"));
	/* the Event goes out on the recorder's thread: it may follow the status write */
	assert_true(WAIT_UNTIL(cw_event(&e, NS, "FailedCreate", "fail", "Error creating:") > 0,
			       KC_WAIT_MS));
	assert_int_equal(cenv_count(&e, kind_pod(), NS, "app=fail"), 0);

	cenv_create(&e, k8s_kind_find("v1", "ServiceAccount"), NS,
		    "{\"metadata\":{\"name\":\"missing\"}}");
	assert_true(WAIT_UNTIL(
	    cenv_count(&e, kind_pod(), NS, "app=fail") == 2 &&
		!ctrl_condition(cenv_get(&e, d, kind_rc(), NS, "fail"), "ReplicaFailure"),
	    KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* Deleted with background propagation (kubectl delete's default), the RC's pods go with
 * it: the garbage collector follows their controller references. The ReplicaSet controller
 * running beside it leaves the RC's pods alone. */
static void test_cascade(void **state)
{
	struct cenv e;
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;

	(void)state;
	cenv_start(&e, "replicationcontroller,replicaset,garbagecollector", NULL, NULL);
	make_rc(&e, "gc", "gc", 3, NULL);
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=gc") == 3, KC_WAIT_MS));
	o.propagation = "Background";
	assert_int_equal(kc_delete(e.k.c, kind_rc(), NS, "gc", &o, NULL, &st), 0);
	/* unbound pods: deleted at once, nothing for a kubelet to finish */
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=gc") == 0, KC_WAIT_MS));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_scale),
	    cmocka_unit_test(test_adopt_release),
	    cmocka_unit_test(test_replica_failure),
	    cmocka_unit_test(test_cascade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
