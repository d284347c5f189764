/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_replicaset: the ReplicaSet controller makes and names pods as kube does, scales
 * up and down deleting pods in kube's order, never creates twice while its pod watch lags
 * (expectations), adopts orphans and releases pods it no longer selects, counts available
 * pods with minReadySeconds, and writes Events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctrl_workload.h"
#include "informer.h"
#include "workload.h"

#define NS "default"

static void make_rs(struct cenv *e, const char *name, const char *app, int replicas,
		    const char *spec_extra, const char *image)
{
	char json[2048];

	snprintf(
	    json, sizeof(json),
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"%s\"},"
	    "\"spec\":{\"replicas\":%d,%s\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
	    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\",\"tier\":\"fe\"},"
	    "\"annotations\":{\"note\":\"from-template\"}},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\"%s%s%s}]}}}}",
	    name, replicas, spec_extra ? spec_extra : "", app, app, image ? ",\"image\":\"" : "",
	    image ? image : "", image ? "\"" : "");
	cenv_create(e, kind_rs(), NS, json);
}

static int64_t rs_int(struct cenv *e, const char *name, const char *path)
{
	return cw_int(e, kind_rs(), NS, name, path);
}

static bool rs_observed(struct cenv *e, const char *name)
{
	int64_t g = rs_int(e, name, "metadata.generation");

	return g > 0 && rs_int(e, name, "status.observedGeneration") == g;
}

static void scale(struct cenv *e, const char *name, int replicas)
{
	char p[128];

	snprintf(p, sizeof(p), "{\"spec\":{\"replicas\":%d}}", replicas);
	cw_patch(e, kind_rs(), NS, name, p);
}

/* Pods made from the template: generated names, labels, annotations, the controller
 * reference; status and Events follow; scaled up and down; a deleted pod is replaced. */
static void test_create_scale(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	struct jv *rs, **pods;
	size_t n;

	(void)state;
	cenv_start(&e, "replicaset", NULL, NULL);
	make_rs(&e, "web", "web", 3, NULL, "nginx:1");
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=web") == 3, KC_WAIT_MS));
	rs = cenv_get(&e, d, kind_rs(), NS, "web");
	pods = cenv_list(&e, d, kind_pod(), NS, "app=web", &n);
	for (size_t i = 0; i < n; i++) {
		const char *pn = jv_path_str(pods[i], "metadata.name");
		const struct jv *ref = jv_at(jv_path(pods[i], "metadata.ownerReferences"), 0);

		assert_int_equal(strlen(pn), strlen("web-") + 5);
		assert_memory_equal(pn, "web-", 4);
		assert_string_equal(jv_path_str(pods[i], "metadata.generateName"), "web-");
		assert_string_equal(jv_path_str(pods[i], "metadata.labels.tier"), "fe");
		assert_string_equal(jv_path_str(pods[i], "metadata.annotations.note"),
				    "from-template");
		assert_string_equal(jv_path_str(ref, "kind"), "ReplicaSet");
		assert_string_equal(jv_path_str(ref, "apiVersion"), "apps/v1");
		assert_string_equal(jv_path_str(ref, "name"), "web");
		assert_string_equal(jv_path_str(ref, "uid"), jv_path_str(rs, "metadata.uid"));
		assert_int_equal(jv_get(ref, "controller")->type, JV_TRUE);
		assert_int_equal(jv_get(ref, "blockOwnerDeletion")->type, JV_TRUE);
		assert_string_equal(jv_path_str(pods[i], "spec.containers[0].image"), "nginx:1");
	}
	/* not ready yet: replicas and fully labeled, nothing ready */
	assert_true(WAIT_UNTIL(rs_int(&e, "web", "status.replicas") == 3 &&
				   rs_int(&e, "web", "status.fullyLabeledReplicas") == 3 &&
				   rs_observed(&e, "web"),
			       KC_WAIT_MS));
	assert_int_equal(rs_int(&e, "web", "status.readyReplicas"), -1);
	assert_int_equal(cenv_pods_run_all(&e, NS, "app=web", "n1"), 3);
	assert_true(WAIT_UNTIL(rs_int(&e, "web", "status.readyReplicas") == 3 &&
				   rs_int(&e, "web", "status.availableReplicas") == 3,
			       KC_WAIT_MS));
	assert_true(WAIT_UNTIL(
	    cw_event(&e, NS, "SuccessfulCreate", "web", "Created pod: web-") == 3, KC_WAIT_MS));

	scale(&e, "web", 5);
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=web") == 5, KC_WAIT_MS));
	cenv_pods_run_all(&e, NS, "app=web", "n1");
	scale(&e, "web", 2);
	/* bound pods are deleted gracefully: they stay, being deleted, until their kubelet
	 * finishes them */
	assert_true(WAIT_UNTIL(cw_live_pods(&e, NS, "app=web") == 2, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(rs_int(&e, "web", "status.replicas") == 2 &&
				   rs_int(&e, "web", "status.availableReplicas") == 2,
			       KC_WAIT_MS));
	assert_true(WAIT_UNTIL(
	    cw_event(&e, NS, "SuccessfulDelete", "web", "Deleted pod: web-") == 3, KC_WAIT_MS));
	assert_int_equal(cw_finish_terminating(&e, NS, "app=web"), 3);
	assert_int_equal(cenv_count(&e, kind_pod(), NS, "app=web"), 2);

	/* a pod deleted by hand is replaced */
	pods = cenv_list(&e, d, kind_pod(), NS, "app=web", &n);
	{
		struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
		struct kc_status st;

		o.grace_seconds = 0;
		assert_int_equal(kc_delete(e.k.c, kind_pod(), NS,
					   jv_path_str(pods[0], "metadata.name"), &o, NULL, &st),
				 0);
	}
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=web") == 2 &&
				   cw_event(&e, NS, "SuccessfulCreate", "web", NULL) == 6,
			       KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* ---- deletion order ---- */

static struct jv *mkpod(struct jv_doc *d, const char *uid, const char *node, const char *phase,
			int ready_age_s, int created_age_s, int restarts)
{
	char rt[32], ct[32];
	time_t now = time(NULL);

	ctrl_time(now - ready_age_s, rt);
	ctrl_time(now - created_age_s, ct);
	return Jf(d,
		  "{\"metadata\":{\"name\":\"p-%s\",\"uid\":\"%s\",\"creationTimestamp\":\"%s\"},"
		  "\"spec\":{\"nodeName\":\"%s\"},\"status\":{\"phase\":\"%s\",\"conditions\":"
		  "[{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":\"%s\"}],"
		  "\"containerStatuses\":[{\"name\":\"c\",\"restartCount\":%d}]}}",
		  uid, uid, ct, node, phase, ready_age_s >= 0 ? "True" : "False", rt, restarts);
}

static bool before(struct jv *a, struct jv *b)
{
	struct ctrl_pod_rank x = {.pod = a}, y = {.pod = b};
	int64_t now = ctrl_now_ns();

	return ctrl_pod_delete_before(&x, &y, now) && !ctrl_pod_delete_before(&y, &x, now);
}

/* kube's slowStartBatch: batches of 1, 2, 4 ...; the batch in which a call fails is the
 * last one (its other calls still run), and the count is of the calls that succeeded. */
static int calls, fail_at;
static int call(void *arg, int i)
{
	(void)arg;
	calls++;
	return i == fail_at ? -EIO : 0;
}

static void test_slow_start(void **state)
{
	int err;

	(void)state;
	calls = 0, fail_at = -1;
	assert_int_equal(ctrl_slow_start(10, call, NULL, &err), 10);
	assert_int_equal(calls, 10);
	assert_int_equal(err, 0);
	/* batches [0] [1 2] [3..6]: the failure at 4 ends it after 6 */
	calls = 0, fail_at = 4;
	assert_int_equal(ctrl_slow_start(10, call, NULL, &err), 6);
	assert_int_equal(calls, 7);
	assert_int_equal(err, -EIO);
	calls = 0, fail_at = 0;
	assert_int_equal(ctrl_slow_start(10, call, NULL, &err), 0);
	assert_int_equal(calls, 1);
	calls = 0, fail_at = -1;
	assert_int_equal(ctrl_slow_start(0, call, NULL, &err), 0);
	assert_int_equal(calls, 0);
}

/* kube's ActivePodsWithRanks on hand-made pods: each rule, and each rule's precedence. */
static void test_rank_rules(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct ctrl_pod_rank r1, r2;

	(void)state;
	/* unassigned < assigned, even a ready one against a not-ready one */
	assert_true(before(mkpod(d, "a", "", "Running", 100, 100, 0),
			   mkpod(d, "b", "n1", "Running", -1, 100, 0)));
	/* Pending < Unknown < Running */
	assert_true(before(mkpod(d, "a", "n1", "Pending", -1, 100, 0),
			   mkpod(d, "b", "n1", "Unknown", -1, 100, 0)));
	assert_true(before(mkpod(d, "z", "n1", "Unknown", -1, 100, 0),
			   mkpod(d, "b", "n1", "Running", -1, 100, 0)));
	/* not ready < ready */
	assert_true(before(mkpod(d, "z", "n1", "Running", -1, 100, 0),
			   mkpod(d, "b", "n1", "Running", 100, 100, 0)));
	/* ready for less time first (10 s and 2000 s are in different log2 buckets) */
	assert_true(before(mkpod(d, "z", "n1", "Running", 10, 3000, 0),
			   mkpod(d, "a", "n1", "Running", 2000, 3000, 0)));
	/* the same bucket: the lower uid first, whatever the order of the times */
	assert_true(before(mkpod(d, "a", "n1", "Running", 2000, 3000, 0),
			   mkpod(d, "b", "n1", "Running", 2001, 3000, 0)));
	assert_true(before(mkpod(d, "a", "n1", "Running", 2001, 3000, 0),
			   mkpod(d, "b", "n1", "Running", 2000, 3000, 0)));
	/* more restarts first */
	assert_true(before(mkpod(d, "z", "n1", "Running", 100, 3000, 7),
			   mkpod(d, "a", "n1", "Running", 100, 3000, 1)));
	/* newer first */
	assert_true(before(mkpod(d, "z", "n1", "Running", 100, 10, 0),
			   mkpod(d, "a", "n1", "Running", 100, 3000, 0)));
	/* rank (more related pods on the node) beats ready time */
	r1 =
	    (struct ctrl_pod_rank){.pod = mkpod(d, "z", "n1", "Running", 2000, 3000, 0), .rank = 3};
	r2 = (struct ctrl_pod_rank){.pod = mkpod(d, "a", "n2", "Running", 10, 3000, 0), .rank = 1};
	assert_true(ctrl_pod_delete_before(&r1, &r2, ctrl_now_ns()));
	assert_false(ctrl_pod_delete_before(&r2, &r1, ctrl_now_ns()));
	/* a lower pod-deletion-cost first, before rank */
	r1.pod = mkpod(d, "z", "n1", "Running", 2000, 3000, 0);
	jv_set(d, jv_obj_at(d, jv_obj_at(d, (struct jv *)r1.pod, "metadata"), "annotations"),
	       "controller.kubernetes.io/pod-deletion-cost", jv_new_strz(d, "-5"));
	assert_true(ctrl_pod_delete_before(&r1, &r2, ctrl_now_ns()));
	r2.rank = 9;
	assert_true(ctrl_pod_delete_before(&r1, &r2, ctrl_now_ns()));
	jv_doc_free(d);
}

static void pod_status(struct cenv *e, const char *name, const char *status)
{
	char p[1024];
	struct kc_status st;

	snprintf(p, sizeof(p), "{\"status\":%s}", status);
	if (kc_patch(e->k.c, kind_pod(), NS, name, "status", KC_PATCH_MERGE, p, strlen(p), NULL,
		     NULL, &st))
		fail_msg("pod %s status: %s", name, st.message);
}

static bool gone_or_deleting(struct cenv *e, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *p = cenv_get(e, d, kind_pod(), NS, name);
	bool r = !p || jv_path(p, "metadata.deletionTimestamp");

	jv_doc_free(d);
	return r;
}

/* Scaled down one at a time, the ReplicaSet deletes: the unassigned pod, the not-ready
 * one, the one ready for less time, the one with more restarts, then by deletion cost. */
static void test_delete_order(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	struct jv **pods;
	char names[6][64], rs_recent[32], rs_old[32], status[768];
	size_t n;

	(void)state;
	cenv_start(&e, "replicaset", NULL, NULL);
	make_rs(&e, "ord", "ord", 6, NULL, "nginx:1");
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=ord") == 6, KC_WAIT_MS));
	pods = cenv_list(&e, d, kind_pod(), NS, "app=ord", &n);
	for (size_t i = 0; i < n; i++)
		snprintf(names[i], sizeof(names[i]), "%s", jv_path_str(pods[i], "metadata.name"));
	ctrl_time(ctrl_now() - 10, rs_recent);
	ctrl_time(ctrl_now() - 2000, rs_old);
	/* names[0]: left unassigned; [1]: running, not ready */
	cenv_pod_run(&e, NS, names[1], "n1", false);
	for (int i = 2; i < 6; i++) {
		struct kc_status st;

		assert_int_equal(kc_bind(e.k.c, NS, names[i], NULL, "n1", &st), 0);
		snprintf(
		    status, sizeof(status),
		    "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
		    "\"True\",\"lastTransitionTime\":\"%s\"}],\"containerStatuses\":[{\"name\":"
		    "\"c\",\"ready\":true,\"restartCount\":%d,\"image\":\"nginx:1\","
		    "\"imageID\":\"\",\"state\":{\"running\":{}}}]}",
		    i == 2 ? rs_recent : rs_old, i == 3 ? 5 : 0);
		pod_status(&e, names[i], status);
	}
	cw_patch(&e, kind_pod(), NS, names[5],
		 "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":"
		 "\"100\"}}}");
	assert_true(WAIT_UNTIL(rs_int(&e, "ord", "status.readyReplicas") == 4, KC_WAIT_MS));
	for (int i = 0; i < 5; i++) {
		scale(&e, "ord", 5 - i);
		assert_true(WAIT_UNTIL(gone_or_deleting(&e, names[i]), KC_WAIT_MS));
		for (int j = i + 1; j < 6; j++)
			if (gone_or_deleting(&e, names[j]))
				fail_msg("step %d: deleted %s (pod %d) before %s", i, names[j], j,
					 names[i]);
		assert_true(WAIT_UNTIL(rs_int(&e, "ord", "status.replicas") == 5 - i, KC_WAIT_MS));
	}
	jv_doc_free(d);
	cenv_stop(&e);
}

/* kube's getIndirectlyRelatedPods: a scale-down deletes first from the node with the most
 * active pods of the set, before the one ready for less time (which would go first
 * otherwise). */
static void test_delete_crowded_node(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	struct jv **pods;
	char names[3][64], recent[32], old[32], status[768];
	size_t n;

	(void)state;
	cenv_start(&e, "replicaset", NULL, NULL);
	make_rs(&e, "crowd", "crowd", 3, NULL, "nginx:1");
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=crowd") == 3, KC_WAIT_MS));
	pods = cenv_list(&e, d, kind_pod(), NS, "app=crowd", &n);
	for (size_t i = 0; i < n; i++)
		snprintf(names[i], sizeof(names[i]), "%s", jv_path_str(pods[i], "metadata.name"));
	ctrl_time(ctrl_now() - 10, recent);
	ctrl_time(ctrl_now() - 2000, old);
	/* names[0] and [1] on n1, ready long ago; names[2] alone on n2, ready just now */
	for (int i = 0; i < 3; i++) {
		struct kc_status st;

		assert_int_equal(kc_bind(e.k.c, NS, names[i], NULL, i < 2 ? "n1" : "n2", &st), 0);
		snprintf(status, sizeof(status),
			 "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
			 "\"True\",\"lastTransitionTime\":\"%s\"}]}",
			 i < 2 ? old : recent);
		pod_status(&e, names[i], status);
	}
	assert_true(WAIT_UNTIL(rs_int(&e, "crowd", "status.readyReplicas") == 3, KC_WAIT_MS));
	scale(&e, "crowd", 2);
	assert_true(WAIT_UNTIL(gone_or_deleting(&e, names[0]) || gone_or_deleting(&e, names[1]) ||
				   gone_or_deleting(&e, names[2]),
			       KC_WAIT_MS));
	assert_false(gone_or_deleting(&e, names[2]));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* ---- expectations ---- */

/* With the controller's pod informer held (a watch that lags), syncs of the ReplicaSet
 * (each proved by observedGeneration) create nothing more: exactly N pods, never more. */
static void test_expectations(void **state)
{
	struct cenv e;
	struct cw_watch w;
	struct kc_informer *inf;
	char p[128];

	(void)state;
	cenv_start(&e, "replicaset", NULL, NULL);
	cw_watch_start(&e, &w, NS, "app=exp");
	inf = ctrl_manager_informer(e.m, kind_pod());
	assert_non_null(inf);
	kc_informer_hold(inf, true);
	make_rs(&e, "exp", "exp", 20, NULL, "nginx:1");
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=exp") == 20, KC_WAIT_MS));
	for (int i = 1; i <= 3; i++) {
		snprintf(p, sizeof(p), "{\"spec\":{\"minReadySeconds\":%d}}", i);
		cw_patch(&e, kind_rs(), NS, "exp", p);
		assert_true(WAIT_UNTIL(rs_observed(&e, "exp"), KC_WAIT_MS));
		assert_int_equal(cenv_count(&e, kind_pod(), NS, "app=exp"), 20);
	}
	kc_informer_hold(inf, false);
	assert_true(WAIT_UNTIL(rs_int(&e, "exp", "status.replicas") == 20, KC_WAIT_MS));
	cw_patch(&e, kind_rs(), NS, "exp", "{\"spec\":{\"minReadySeconds\":0}}");
	assert_true(WAIT_UNTIL(rs_observed(&e, "exp"), KC_WAIT_MS));
	assert_int_equal(cenv_count(&e, kind_pod(), NS, "app=exp"), 20);
	pthread_mutex_lock(&w.lock);
	assert_int_equal(w.max_live, 20);
	pthread_mutex_unlock(&w.lock);
	cw_watch_stop(&w);
	cenv_stop(&e);
}

/* ---- adoption ---- */

static const char *owner_uid(struct cenv *e, const char *pod, char *buf)
{
	return cw_str(e, kind_pod(), NS, pod, "metadata.ownerReferences[0].uid", buf, 64);
}

/* An orphan the selector matches is adopted (and counted: one pod fewer is made); a pod
 * whose labels stop matching is released and replaced; a pod another controller owns is
 * left alone. */
static void test_adopt_release(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	char uid[64], buf[64];
	struct jv **pods;
	size_t n;
	const char *mine = NULL;

	(void)state;
	cenv_start(&e, "replicaset", NULL, NULL);
	cenv_create(&e, kind_pod(), NS,
		    "{\"metadata\":{\"name\":\"stray\",\"labels\":{\"app\":\"ad\"}},\"spec\":"
		    "{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}");
	cenv_create(
	    &e, kind_pod(), NS,
	    "{\"metadata\":{\"name\":\"other\",\"labels\":{\"app\":\"ad\"},"
	    "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\","
	    "\"name\":\"rc\",\"uid\":\"0000-other\",\"controller\":true}]},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}");
	make_rs(&e, "ad", "ad", 2, NULL, "nginx:1");
	cw_str(&e, kind_rs(), NS, "ad", "metadata.uid", uid, sizeof(uid));
	assert_true(WAIT_UNTIL(strcmp(owner_uid(&e, "stray", buf), uid) == 0, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(rs_int(&e, "ad", "status.replicas") == 2, KC_WAIT_MS));
	/* the stray pod lacks the template's tier label: not fully labeled */
	assert_true(WAIT_UNTIL(rs_int(&e, "ad", "status.fullyLabeledReplicas") == 1, KC_WAIT_MS));
	/* stray + 1 made + other */
	assert_int_equal(cenv_count(&e, kind_pod(), NS, "app=ad"), 3);
	assert_string_equal(owner_uid(&e, "other", buf), "0000-other");

	pods = cenv_list(&e, d, kind_pod(), NS, "app=ad", &n);
	for (size_t i = 0; i < n; i++) {
		const char *pn = jv_path_str(pods[i], "metadata.name");

		if (strcmp(pn, "stray") != 0 && strcmp(pn, "other") != 0)
			mine = pn;
	}
	assert_non_null(mine);
	cw_patch(&e, kind_pod(), NS, mine, "{\"metadata\":{\"labels\":{\"app\":\"gone\"}}}");
	assert_true(WAIT_UNTIL(
	    cw_int(&e, kind_pod(), NS, mine, "metadata.ownerReferences[0].controller") == -1 &&
		strcmp(owner_uid(&e, mine, buf), "") == 0,
	    KC_WAIT_MS));
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=ad") == 3 &&
				   rs_int(&e, "ad", "status.replicas") == 2,
			       KC_WAIT_MS));
	assert_string_equal(owner_uid(&e, "other", buf), "0000-other");
	jv_doc_free(d);
	cenv_stop(&e);
}

/* ---- minReadySeconds ---- */

/* Ready pods are available only minReadySeconds after they became ready. */
static void test_min_ready(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "replicaset", NULL, NULL);
	make_rs(&e, "mr", "mr", 2, "\"minReadySeconds\":4,", "nginx:1");
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=mr") == 2, KC_WAIT_MS));
	cenv_pods_run_all(&e, NS, "app=mr", "n1");
	assert_true(WAIT_UNTIL(rs_int(&e, "mr", "status.readyReplicas") == 2, KC_WAIT_MS));
	/* within the 4 s the pods just turned ready are not available */
	assert_true(rs_int(&e, "mr", "status.availableReplicas") < 2);
	assert_true(WAIT_UNTIL(rs_int(&e, "mr", "status.availableReplicas") == 2, KC_WAIT_MS));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slow_start),		cmocka_unit_test(test_rank_rules),
	    cmocka_unit_test(test_delete_crowded_node), cmocka_unit_test(test_create_scale),
	    cmocka_unit_test(test_delete_order),	cmocka_unit_test(test_expectations),
	    cmocka_unit_test(test_adopt_release),	cmocka_unit_test(test_min_ready),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
