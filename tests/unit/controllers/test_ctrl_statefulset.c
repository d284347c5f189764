/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_statefulset: the StatefulSet controller with the test as kubelet: OrderedReady
 * creation (pod N+1 only once N is Ready), identity (names, labels, hostname, subdomain),
 * PVCs from volumeClaimTemplates, scale down from the highest ordinal (and claims kept),
 * Parallel, and a rolling update by ordinal from the highest down that stops at the
 * partition, with current/update revisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"

#define NS "default"

static const struct k8s_kind *ksts(void)
{
	return k8s_kind_find("apps/v1", "StatefulSet");
}

static const struct k8s_kind *kpvc(void)
{
	return k8s_kind_find("v1", "PersistentVolumeClaim");
}

static void make_sts(struct cenv *e, const char *name, int replicas, const char *extra)
{
	char json[2048];

	snprintf(
	    json, sizeof(json),
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"%s\"},"
	    "\"spec\":{%s\"replicas\":%d,\"serviceName\":\"nginx\",\"selector\":{\"matchLabels\":"
	    "{\"app\":\"%s\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"web:1\",\"volumeMounts\":[{\"name\":"
	    "\"www\",\"mountPath\":\"/www\"}]}]}},\"volumeClaimTemplates\":[{\"metadata\":{"
	    "\"name\":\"www\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
	    "\"requests\":{\"storage\":\"1Gi\"}}}}]}}",
	    name, extra, replicas, name, name);
	cenv_create(e, ksts(), NS, json);
}

static struct jv *pod(struct cenv *e, struct jv_doc *d, const char *name)
{
	return cenv_get(e, d, kind_pod(), NS, name);
}

static bool exists(struct cenv *e, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	bool r = pod(e, d, name) != NULL;

	jv_doc_free(d);
	return r;
}

static bool is_terminating(struct cenv *e, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *p = pod(e, d, name);
	bool r = p && jv_path(p, "metadata.deletionTimestamp");

	jv_doc_free(d);
	return r;
}

static void run(struct cenv *e, const char *name)
{
	cenv_pod_run(e, NS, name, "n1", true);
}

static void reap(struct cenv *e, const char *name)
{
	struct kc_delete_opts o = {.grace_seconds = 0};
	struct kc_status st;

	kc_delete(e->k.c, kind_pod(), NS, name, &o, NULL, &st);
}

static int64_t st_int(struct cenv *e, const char *sts, const char *f)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, ksts(), NS, sts);
	char path[128];
	int64_t v = 0;

	snprintf(path, sizeof(path), "status.%s", f);
	jv_path_int(o, path, &v);
	jv_doc_free(d);
	return v;
}

static bool has_event(struct cenv *e, const char *reason, const char *msg)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **evs = cenv_list(e, d, k8s_kind_find("v1", "Event"), NS, NULL, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++)
		found = jv_is_str(jv_path(evs[i], "involvedObject.kind"), "StatefulSet") &&
			jv_is_str(jv_get(evs[i], "reason"), reason) &&
			jv_is_str(jv_get(evs[i], "message"), msg);
	jv_doc_free(d);
	return found;
}

static void test_ordered_ready(void **state)
{
	struct cenv e;
	uint64_t t0;
	struct kc_status st;

	(void)state;
	cenv_start(&e, "statefulset", NULL, NULL);
	make_sts(&e, "web", 3, "");
	for (int i = 0; i < 3; i++) {
		char name[16], next[16];

		snprintf(name, sizeof(name), "web-%d", i);
		snprintf(next, sizeof(next), "web-%d", i + 1);
		assert_true(WAIT_UNTIL(exists(&e, name), KC_WAIT_MS));
		/* its successor waits for it to be Ready: created, running not ready, nothing */
		t0 = mono_ms();
		while (mono_ms() - t0 < 300) {
			assert_false(exists(&e, next));
			usleep(20000);
		}
		cenv_pod_run(&e, NS, name, "n1", false);
		t0 = mono_ms();
		while (mono_ms() - t0 < 300) {
			assert_false(exists(&e, next));
			usleep(20000);
		}
		run(&e, name);
	}
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *p = pod(&e, d, "web-1"), *pvc;

		assert_string_equal(
		    jv_path_str(p, "metadata.labels[statefulset.kubernetes.io/pod-name]"), "web-1");
		assert_string_equal(jv_path_str(p, "metadata.labels[apps.kubernetes.io/pod-index]"),
				    "1");
		assert_string_equal(jv_path_str(p, "spec.hostname"), "web-1");
		assert_string_equal(jv_path_str(p, "spec.subdomain"), "nginx");
		assert_string_equal(
		    jv_path_str(p, "spec.volumes[0].persistentVolumeClaim.claimName"), "www-web-1");
		assert_non_null(jv_path_str(p, "metadata.labels[controller-revision-hash]"));
		pvc = cenv_get(&e, d, kpvc(), NS, "www-web-1");
		assert_non_null(pvc);
		assert_string_equal(jv_path_str(pvc, "metadata.labels[app]"), "web");
		assert_string_equal(jv_path_str(pvc, "spec.resources.requests.storage"), "1Gi");
		jv_doc_free(d);
	}
	assert_true(WAIT_UNTIL(st_int(&e, "web", "readyReplicas") == 3 &&
				   st_int(&e, "web", "availableReplicas") == 3 &&
				   st_int(&e, "web", "currentReplicas") == 3 &&
				   st_int(&e, "web", "updatedReplicas") == 3,
			       KC_WAIT_MS));
	assert_int_equal(st_int(&e, "web", "replicas"), 3);
	assert_int_equal(st_int(&e, "web", "observedGeneration"), 1);
	assert_true(WAIT_UNTIL(
	    has_event(&e, "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"),
	    KC_WAIT_MS));
	assert_true(
	    WAIT_UNTIL(has_event(&e, "SuccessfulCreate",
				 "create Claim www-web-0 Pod web-0 in StatefulSet web success"),
		       KC_WAIT_MS));

	/* scale down to 1: web-2 first, web-1 only once web-2 is gone */
	{
		const char *p = "{\"spec\":{\"replicas\":1}}";

		assert_int_equal(kc_patch(e.k.c, ksts(), NS, "web", NULL, KC_PATCH_MERGE, p,
					  strlen(p), NULL, NULL, &st),
				 0);
	}
	assert_true(WAIT_UNTIL(is_terminating(&e, "web-2"), KC_WAIT_MS));
	t0 = mono_ms();
	while (mono_ms() - t0 < 300) {
		assert_false(is_terminating(&e, "web-1"));
		usleep(20000);
	}
	reap(&e, "web-2");
	assert_true(WAIT_UNTIL(is_terminating(&e, "web-1"), KC_WAIT_MS));
	reap(&e, "web-1");
	assert_true(WAIT_UNTIL(st_int(&e, "web", "replicas") == 1, KC_WAIT_MS));
	assert_true(exists(&e, "web-0"));
	/* the claims stay */
	assert_int_equal(cenv_count(&e, kpvc(), NS, NULL), 3);
	assert_true(
	    has_event(&e, "SuccessfulDelete", "delete Pod web-2 in StatefulSet web successful"));
	cenv_stop(&e);
}

static void test_parallel(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "statefulset", NULL, NULL);
	make_sts(&e, "par", 3,
		 "\"podManagementPolicy\":\"Parallel\",\"persistentVolumeClaimRetentionPolicy\":{"
		 "\"whenDeleted\":\"Delete\",\"whenScaled\":\"Delete\"},");
	/* all at once, none Ready */
	assert_true(WAIT_UNTIL(exists(&e, "par-0") && exists(&e, "par-1") && exists(&e, "par-2"),
			       KC_WAIT_MS));
	assert_int_equal(cenv_count(&e, kpvc(), NS, NULL), 3);
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *c = cenv_get(&e, d, kpvc(), NS, "www-par-1");

		/* whenDeleted: Delete: the set owns its claims */
		assert_string_equal(jv_path_str(c, "metadata.ownerReferences[0].kind"),
				    "StatefulSet");
		assert_string_equal(jv_path_str(c, "metadata.ownerReferences[0].name"), "par");
		jv_doc_free(d);
	}
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "par-%d", i);
		run(&e, name);
	}
	/* a pod that lost its identity label gets it back */
	{
		const char *p =
		    "{\"metadata\":{\"labels\":{\"statefulset.kubernetes.io/pod-name\":null}}}";
		struct kc_status st;
		struct jv_doc *d = jv_doc_new();

		assert_int_equal(kc_patch(e.k.c, kind_pod(), NS, "par-0", NULL, KC_PATCH_MERGE, p,
					  strlen(p), NULL, NULL, &st),
				 0);
		assert_true(
		    WAIT_UNTIL(jv_is_str(jv_path(pod(&e, d, "par-0"),
						 "metadata.labels[statefulset.kubernetes.io/"
						 "pod-name]"),
					 "par-0"),
			       KC_WAIT_MS));
		jv_doc_free(d);
	}
	/* whenScaled: Delete: a condemned pod owns its claims (the GC takes them with it) */
	{
		const char *p = "{\"spec\":{\"replicas\":2}}";
		struct kc_status st;
		struct jv_doc *d = jv_doc_new();
		struct jv *c;

		assert_int_equal(kc_patch(e.k.c, ksts(), NS, "par", NULL, KC_PATCH_MERGE, p,
					  strlen(p), NULL, NULL, &st),
				 0);
		assert_true(WAIT_UNTIL(is_terminating(&e, "par-2"), KC_WAIT_MS));
		c = cenv_get(&e, d, kpvc(), NS, "www-par-2");
		assert_string_equal(jv_path_str(c, "metadata.ownerReferences[1].kind"), "Pod");
		assert_string_equal(jv_path_str(c, "metadata.ownerReferences[1].name"), "par-2");
		c = cenv_get(&e, d, kpvc(), NS, "www-par-1");
		assert_int_equal(jv_count(jv_path(c, "metadata.ownerReferences")), 1);
		jv_doc_free(d);
	}
	cenv_stop(&e);
}

static const char *rev_of(struct jv_doc *d, struct cenv *e, const char *name)
{
	struct jv *p = pod(e, d, name);

	return p ? jv_path_str(p, "metadata.labels[controller-revision-hash]") : NULL;
}

static void test_rolling_update_partition(void **state)
{
	struct cenv e;
	struct kc_status st;
	struct jv_doc *d = jv_doc_new();
	char old_rev[128], new_rev[128];
	const char *p =
	    "{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":1}},"
	    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"web:2\"}]}}}}";
	char order[8] = {0};
	size_t norder = 0;
	uint64_t end;

	(void)state;
	cenv_start(&e, "statefulset", NULL, NULL);
	make_sts(&e, "db", 3, "");
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "db-%d", i);
		assert_true(WAIT_UNTIL(exists(&e, name), KC_WAIT_MS));
		run(&e, name);
	}
	assert_true(WAIT_UNTIL(st_int(&e, "db", "readyReplicas") == 3, KC_WAIT_MS));
	snprintf(old_rev, sizeof(old_rev), "%s", rev_of(d, &e, "db-0"));
	assert_int_equal(kc_patch(e.k.c, ksts(), NS, "db", NULL, KC_PATCH_STRATEGIC, p, strlen(p),
				  NULL, NULL, &st),
			 0);
	/* db-2, then db-1; db-0 is below the partition */
	end = mono_ms() + KC_WAIT_MS;
	while (mono_ms() < end && norder < 2) {
		for (int i = 2; i >= 0; i--) {
			char name[16];

			snprintf(name, sizeof(name), "db-%d", i);
			if (is_terminating(&e, name)) {
				order[norder++] = (char)('0' + i);
				reap(&e, name);
			}
		}
		for (int i = 0; i < 3; i++) {
			char name[16];
			struct jv *x;

			snprintf(name, sizeof(name), "db-%d", i);
			x = pod(&e, d, name);
			if (x && !jv_path(x, "status.conditions"))
				run(&e, name);
		}
		usleep(20000);
	}
	assert_string_equal(order, "21");
	assert_true(
	    WAIT_UNTIL((run(&e, "db-1"), st_int(&e, "db", "updatedReplicas") == 2), KC_WAIT_MS));
	snprintf(new_rev, sizeof(new_rev), "%s", rev_of(d, &e, "db-2"));
	assert_string_not_equal(new_rev, old_rev);
	assert_string_equal(rev_of(d, &e, "db-1"), new_rev);
	assert_string_equal(rev_of(d, &e, "db-0"), old_rev);
	{
		struct jv *x = pod(&e, d, "db-2");

		assert_string_equal(jv_path_str(x, "spec.containers[0].image"), "web:2");
		x = pod(&e, d, "db-0");
		assert_string_equal(jv_path_str(x, "spec.containers[0].image"), "web:1");
		x = cenv_get(&e, d, ksts(), NS, "db");
		assert_string_equal(jv_path_str(x, "status.currentRevision"), old_rev);
		assert_string_equal(jv_path_str(x, "status.updateRevision"), new_rev);
	}
	/* partition 0: db-0 follows, and the update completes */
	p = "{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":0}}}}";
	assert_int_equal(kc_patch(e.k.c, ksts(), NS, "db", NULL, KC_PATCH_STRATEGIC, p, strlen(p),
				  NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(is_terminating(&e, "db-0"), KC_WAIT_MS));
	reap(&e, "db-0");
	assert_true(WAIT_UNTIL(exists(&e, "db-0"), KC_WAIT_MS));
	run(&e, "db-0");
	assert_true(WAIT_UNTIL(st_int(&e, "db", "updatedReplicas") == 3 &&
				   st_int(&e, "db", "currentReplicas") == 3,
			       KC_WAIT_MS));
	{
		struct jv *x = cenv_get(&e, d, ksts(), NS, "db");

		assert_string_equal(jv_path_str(x, "status.currentRevision"), new_rev);
		assert_string_equal(jv_path_str(x, "status.updateRevision"), new_rev);
	}
	assert_int_equal(cenv_count(&e, k8s_kind_find("apps/v1", "ControllerRevision"), NS, NULL),
			 2);
	jv_doc_free(d);
	cenv_stop(&e);
}

/* getPodsForStatefulSet claims its members: an orphan named ad-0 that the set selects is
 * adopted (kept, not made again); an orphan that is no member (another name) is left alone;
 * an orphan member made later is noticed by its own event. */
static void test_adopt(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	const char *uid;
	char first[64];
	const char *fmt =
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
	    "\"app\":\"ad\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"web:1\"}]}}";
	char json[512];

	(void)state;
	cenv_start(&e, "statefulset", NULL, NULL);
	snprintf(json, sizeof(json), fmt, "ad-0");
	cenv_create(&e, kind_pod(), NS, json);
	snprintf(json, sizeof(json), fmt, "stray");
	cenv_create(&e, kind_pod(), NS, json);
	uid = jv_path_str(pod(&e, d, "ad-0"), "metadata.uid");
	assert_non_null(uid);
	snprintf(first, sizeof(first), "%s", uid);
	make_sts(&e, "ad", 1, "");
	assert_true(WAIT_UNTIL(
	    jv_is_str(jv_path(pod(&e, d, "ad-0"), "metadata.ownerReferences[0].name"), "ad"),
	    KC_WAIT_MS));
	assert_string_equal(jv_path_str(pod(&e, d, "ad-0"), "metadata.uid"), first);
	/* the sync that adopted ad-0 had the stray among its candidates too */
	assert_null(jv_path(pod(&e, d, "stray"), "metadata.ownerReferences"));
	/* an orphan member made now (nothing else changes) wakes the set through its own event:
	 * adopted (ad-0 is not Ready, so the ordinal past the replicas waits for its deletion) */
	snprintf(json, sizeof(json), fmt, "ad-7");
	cenv_create(&e, kind_pod(), NS, json);
	assert_true(WAIT_UNTIL(
	    !exists(&e, "ad-7") ||
		jv_is_str(jv_path(pod(&e, d, "ad-7"), "metadata.ownerReferences[0].name"), "ad"),
	    KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ordered_ready),
	    cmocka_unit_test(test_parallel),
	    cmocka_unit_test(test_rolling_update_partition),
	    cmocka_unit_test(test_adopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
