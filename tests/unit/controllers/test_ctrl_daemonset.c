/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_daemonset: the DaemonSet controller over nodes the test makes (one tainted, one
 * labelled for a nodeSelector), with the test as scheduler and kubelet (a pod is bound to
 * the node its required node affinity names): one pod per eligible node with the daemon
 * tolerations and the node-name affinity, nodes added and removed, status, history, and a
 * rolling update that replaces pods node by node within maxUnavailable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctrl_helpers.h"

#define NS "default"

static const struct k8s_kind *kds(void)
{
	return k8s_kind_find("apps/v1", "DaemonSet");
}

static const char *target_of(const struct jv *pod)
{
	const struct jv *v = jv_path(pod, "spec.affinity.nodeAffinity."
					  "requiredDuringSchedulingIgnoredDuringExecution."
					  "nodeSelectorTerms[0].matchFields[0].values[0]");

	return v && v->type == JV_STRING ? v->s : NULL;
}

static void make_ds(struct cenv *e, const char *name, const char *image, const char *podspec_extra,
		    const char *spec_extra)
{
	char json[2048];

	snprintf(
	    json, sizeof(json),
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"%s\"},"
	    "\"spec\":{%s\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"template\":{"
	    "\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{%s\"containers\":[{\"name\":"
	    "\"c\",\"image\":\"%s\"}]}}}}",
	    name, spec_extra, name, name, podspec_extra, image);
	cenv_create(e, kds(), NS, json);
}

static char selbuf[128];
static const char *app(const char *name)
{
	snprintf(selbuf, sizeof(selbuf), "app=%s", name);
	return selbuf;
}

/* Live pods (not being deleted) of ds on node (NULL: any). */
static size_t pods_on(struct cenv *e, const char *ds, const char *node)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, c = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, app(ds), &n);

	for (size_t i = 0; i < n; i++)
		if (!jv_path(pods[i], "metadata.deletionTimestamp") &&
		    (!node ||
		     jv_is_str(jv_path(pods[i], "spec.affinity.nodeAffinity."
						"requiredDuringSchedulingIgnoredDuringExecution."
						"nodeSelectorTerms[0].matchFields[0].values[0]"),
			       node)))
			c++;
	jv_doc_free(d);
	return c;
}

static int64_t st_int(struct cenv *e, const char *ds, const char *f)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, kds(), NS, ds);
	char path[128];
	int64_t v = 0;

	snprintf(path, sizeof(path), "status.%s", f);
	if (!o)
		v = -1;
	else
		jv_path_int(o, path, &v);
	jv_doc_free(d);
	return v;
}

/* cenv_pod_run for a pod that may be gone by now (the controller deletes as we go). */
static void run_soft(struct cenv *e, const struct jv *pod)
{
	const char *name = jv_path_str(pod, "metadata.name");
	char now[32], patch[1024];
	time_t t = time(NULL);
	struct kc_status st;

	if (!jv_path_str(pod, "spec.nodeName") &&
	    kc_bind(e->k.c, NS, name, NULL, target_of(pod), &st) != 0)
		return;
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"PodScheduled\","
		 "\"status\":\"True\"},{\"type\":\"Initialized\",\"status\":\"True\"},{\"type\":"
		 "\"ContainersReady\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"True\","
		 "\"lastTransitionTime\":\"%s\"}]}}",
		 now);
	kc_patch(e->k.c, kind_pod(), NS, name, "status", KC_PATCH_MERGE, patch, strlen(patch), NULL,
		 NULL, &st);
}

/* The kubelet and scheduler: bind each pending pod to its node and make it Ready; finish
 * graceful deletions. Returns how many pods it touched. */
static size_t kubelet(struct cenv *e, const char *ds)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, touched = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, app(ds), &n);

	for (size_t i = 0; i < n; i++) {
		const char *name = jv_path_str(pods[i], "metadata.name");

		if (jv_path(pods[i], "metadata.deletionTimestamp")) {
			struct kc_delete_opts o = {.grace_seconds = 0};
			struct kc_status st;

			kc_delete(e->k.c, kind_pod(), NS, name, &o, NULL, &st);
			touched++;
		} else if (!jv_is_str(jv_path(pods[i], "status.phase"), "Running")) {
			run_soft(e, pods[i]);
			touched++;
		}
	}
	jv_doc_free(d);
	return touched;
}

static bool has_event(struct cenv *e, const char *obj, const char *reason, const char *prefix)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **evs = cenv_list(e, d, k8s_kind_find("v1", "Event"), NS, NULL, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++) {
		const char *m = jv_path_str(evs[i], "message");

		found = jv_is_str(jv_path(evs[i], "involvedObject.name"), obj) &&
			jv_is_str(jv_get(evs[i], "reason"), reason) && m &&
			strncmp(m, prefix, strlen(prefix)) == 0;
	}
	jv_doc_free(d);
	return found;
}

static void nodes(struct cenv *e)
{
	cenv_node(e, "n1", 4, 110, NULL);
	cenv_node(e, "n2", 4, 110, NULL);
	cenv_create(e, k8s_kind_find("v1", "Node"), NULL,
		    "{\"metadata\":{\"name\":\"n3\"},\"spec\":{\"taints\":[{\"key\":\"dedicated\","
		    "\"value\":\"db\",\"effect\":\"NoSchedule\"}]},\"status\":{\"conditions\":[{"
		    "\"type\":\"Ready\",\"status\":\"True\"}]}}");
	cenv_node(e, "n4", 4, 110, "{\"disk\":\"ssd\"}");
}

static void test_placement(void **state)
{
	struct cenv e;
	struct kc_status st;

	(void)state;
	cenv_start(&e, "daemonset", NULL, NULL);
	nodes(&e);
	make_ds(&e, "agent", "agent:1", "", "");
	make_ds(&e, "ssd", "ssd:1", "\"nodeSelector\":{\"disk\":\"ssd\"},", "");
	make_ds(&e, "tol", "tol:1",
		"\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\"}],", "");
	assert_true(WAIT_UNTIL(pods_on(&e, "agent", NULL) == 3, KC_WAIT_MS));
	assert_int_equal(pods_on(&e, "agent", "n1"), 1);
	assert_int_equal(pods_on(&e, "agent", "n2"), 1);
	assert_int_equal(pods_on(&e, "agent", "n3"), 0); /* tainted */
	assert_int_equal(pods_on(&e, "agent", "n4"), 1);
	assert_true(WAIT_UNTIL(pods_on(&e, "ssd", NULL) == 1, KC_WAIT_MS));
	assert_int_equal(pods_on(&e, "ssd", "n4"), 1);
	assert_true(WAIT_UNTIL(pods_on(&e, "tol", NULL) == 4, KC_WAIT_MS));
	assert_int_equal(pods_on(&e, "tol", "n3"), 1);
	{
		struct jv_doc *d = jv_doc_new();
		size_t n, ntol = 0;
		struct jv **pods = cenv_list(&e, d, kind_pod(), NS, app("agent"), &n);
		const char *want[] = {
		    "node.kubernetes.io/not-ready",	"node.kubernetes.io/unreachable",
		    "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
		    "node.kubernetes.io/pid-pressure",	"node.kubernetes.io/unschedulable"};

		assert_null(jv_path_str(pods[0], "spec.nodeName")); /* the scheduler places it */
		assert_non_null(jv_path_str(pods[0], "metadata.labels[controller-revision-hash]"));
		assert_string_equal(jv_path_str(pods[0], "metadata.ownerReferences[0].kind"),
				    "DaemonSet");
		for (size_t w = 0; w < 6; w++)
			for (const struct jv *t = jv_first(jv_path(pods[0], "spec.tolerations")); t;
			     t = t->next)
				if (jv_is_str(jv_get(t, "key"), want[w]) &&
				    jv_is_str(jv_get(t, "operator"), "Exists"))
					ntol++;
		assert_int_equal(ntol, 6);
		jv_doc_free(d);
	}
	assert_true(WAIT_UNTIL(st_int(&e, "agent", "desiredNumberScheduled") == 3 &&
				   st_int(&e, "agent", "currentNumberScheduled") == 3,
			       KC_WAIT_MS));
	assert_int_equal(st_int(&e, "agent", "numberReady"), 0);
	assert_int_equal(st_int(&e, "agent", "numberUnavailable"), 3);
	kubelet(&e, "agent");
	assert_true(WAIT_UNTIL(st_int(&e, "agent", "numberReady") == 3 &&
				   st_int(&e, "agent", "numberAvailable") == 3 &&
				   st_int(&e, "agent", "updatedNumberScheduled") == 3,
			       KC_WAIT_MS));
	assert_int_equal(st_int(&e, "agent", "observedGeneration"), 1);
	assert_true(WAIT_UNTIL(has_event(&e, "agent", "SuccessfulCreate", "Created pod: agent-"),
			       KC_WAIT_MS));

	/* a node added gets a pod; one removed is no longer counted */
	cenv_node(&e, "n5", 4, 110, NULL);
	assert_true(WAIT_UNTIL(pods_on(&e, "agent", "n5") == 1, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(st_int(&e, "agent", "desiredNumberScheduled") == 4, KC_WAIT_MS));
	assert_int_equal(kc_delete(e.k.c, k8s_kind_find("v1", "Node"), NULL, "n5", NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(st_int(&e, "agent", "desiredNumberScheduled") == 3, KC_WAIT_MS));
	/* its pod was never scheduled: the controller deletes it */
	assert_true(WAIT_UNTIL(pods_on(&e, "agent", "n5") == 0, KC_WAIT_MS));

	/* a label that no longer matches: the ssd pod is deleted (misscheduled) */
	{
		const char *p = "{\"metadata\":{\"labels\":{\"disk\":\"hdd\"}}}";

		assert_int_equal(kc_patch(e.k.c, k8s_kind_find("v1", "Node"), NULL, "n4", NULL,
					  KC_PATCH_MERGE, p, strlen(p), NULL, NULL, &st),
				 0);
	}
	assert_true(WAIT_UNTIL(pods_on(&e, "ssd", NULL) == 0, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(st_int(&e, "ssd", "desiredNumberScheduled") == 0, KC_WAIT_MS));
	assert_true(
	    WAIT_UNTIL(has_event(&e, "ssd", "SuccessfulDelete", "Deleted pod: ssd-"), KC_WAIT_MS));
	cenv_stop(&e);
}

/* Every pod that is Ready and not being deleted, per node: true if every node has one. */
static size_t nodes_available(struct cenv *e, const char *ds, const char *const *nodes_, size_t n)
{
	struct jv_doc *d = jv_doc_new();
	size_t np, avail = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, app(ds), &np);

	for (size_t k = 0; k < n; k++) {
		bool ok = false;

		for (size_t i = 0; i < np && !ok; i++)
			ok = jv_is_str(jv_path(pods[i], "spec.nodeName"), nodes_[k]) &&
			     !jv_path(pods[i], "metadata.deletionTimestamp") &&
			     jv_is_str(jv_path(pods[i], "status.conditions[3].status"), "True");
		avail += ok;
	}
	jv_doc_free(d);
	return avail;
}

static size_t pods_with_image(struct cenv *e, const char *ds, const char *image)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, c = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, app(ds), &n);

	for (size_t i = 0; i < n; i++)
		c += !jv_path(pods[i], "metadata.deletionTimestamp") &&
		     jv_is_str(jv_path(pods[i], "spec.containers[0].image"), image) &&
		     jv_is_str(jv_path(pods[i], "status.phase"), "Running");
	jv_doc_free(d);
	return c;
}

static void test_rolling_update(void **state)
{
	static const char *const ns_[] = {"n1", "n2", "n4"};
	struct cenv e;
	struct kc_status st;
	const char *p = "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
			"\"image\":\"agent:2\"}]}}}}";
	size_t min_avail = 3;
	uint64_t end;

	(void)state;
	cenv_start(&e, "daemonset", NULL, NULL);
	nodes(&e);
	make_ds(&e, "agent", "agent:1", "", "");
	assert_true(WAIT_UNTIL(pods_on(&e, "agent", NULL) == 3, KC_WAIT_MS));
	kubelet(&e, "agent");
	assert_true(WAIT_UNTIL(st_int(&e, "agent", "numberAvailable") == 3, KC_WAIT_MS));
	assert_int_equal(kc_patch(e.k.c, kds(), NS, "agent", NULL, KC_PATCH_STRATEGIC, p, strlen(p),
				  NULL, NULL, &st),
			 0);
	/* node by node: never more than maxUnavailable (1) node without a ready pod */
	end = mono_ms() + KC_WAIT_MS;
	while (pods_with_image(&e, "agent", "agent:2") < 3 && mono_ms() < end) {
		size_t a = nodes_available(&e, "agent", ns_, 3);

		if (a < min_avail)
			min_avail = a;
		kubelet(&e, "agent");
		usleep(20000);
	}
	assert_int_equal(pods_with_image(&e, "agent", "agent:2"), 3);
	assert_int_equal(min_avail, 2);
	assert_true(WAIT_UNTIL(st_int(&e, "agent", "updatedNumberScheduled") == 3 &&
				   st_int(&e, "agent", "numberAvailable") == 3,
			       KC_WAIT_MS));
	assert_int_equal(pods_with_image(&e, "agent", "agent:1"), 0);
	/* history: two revisions, the current one numbered 2 and labelling the pods */
	{
		struct jv_doc *d = jv_doc_new();
		size_t n, np;
		struct jv **revs =
		    cenv_list(&e, d, k8s_kind_find("apps/v1", "ControllerRevision"), NS, NULL, &n);
		struct jv **pods = cenv_list(&e, d, kind_pod(), NS, app("agent"), &np);
		bool cur = false;

		assert_int_equal(n, 2);
		for (size_t i = 0; i < n; i++) {
			int64_t r = 0;

			jv_path_int(revs[i], "revision", &r);
			if (r == 2) {
				const char *h = jv_path_str(
				    revs[i], "metadata.labels[controller-revision-hash]");
				char name[128];

				snprintf(name, sizeof(name), "agent-%s", h);
				assert_string_equal(jv_path_str(revs[i], "metadata.name"), name);
				for (size_t k = 0; k < np; k++)
					if (!jv_path(pods[k], "metadata.deletionTimestamp"))
						assert_string_equal(
						    jv_path_str(pods[k],
								"metadata.labels[controller-"
								"revision-hash]"),
						    h);
				assert_non_null(jv_path(revs[i], "data.spec.template"));
				cur = true;
			}
		}
		assert_true(cur);
		jv_doc_free(d);
	}
	cenv_stop(&e);
}

/* maxSurge 1, maxUnavailable 0: a new pod starts beside the old one, which goes once the
 * new one is available; every node keeps a ready pod throughout. */
static void test_surge(void **state)
{
	static const char *const ns_[] = {"n1", "n2", "n4"};
	struct cenv e;
	struct kc_status st;
	const char *p = "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
			"\"image\":\"agent:2\"}]}}}}";
	size_t min_avail = 3, max_pods = 0;
	uint64_t end;

	(void)state;
	cenv_start(&e, "daemonset", NULL, NULL);
	nodes(&e);
	make_ds(&e, "sg", "agent:1", "",
		"\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
		"\"maxSurge\":1,\"maxUnavailable\":0}},");
	assert_true(WAIT_UNTIL(pods_on(&e, "sg", NULL) == 3, KC_WAIT_MS));
	kubelet(&e, "sg");
	assert_true(WAIT_UNTIL(st_int(&e, "sg", "numberAvailable") == 3, KC_WAIT_MS));
	assert_int_equal(kc_patch(e.k.c, kds(), NS, "sg", NULL, KC_PATCH_STRATEGIC, p, strlen(p),
				  NULL, NULL, &st),
			 0);
	end = mono_ms() + KC_WAIT_MS;
	while ((pods_with_image(&e, "sg", "agent:2") < 3 || pods_on(&e, "sg", NULL) > 3) &&
	       mono_ms() < end) {
		size_t a = nodes_available(&e, "sg", ns_, 3), np = pods_on(&e, "sg", NULL);

		if (a < min_avail)
			min_avail = a;
		if (np > max_pods)
			max_pods = np;
		kubelet(&e, "sg");
		usleep(20000);
	}
	assert_int_equal(pods_with_image(&e, "sg", "agent:2"), 3);
	assert_int_equal(min_avail, 3); /* never a node without a ready pod */
	assert_int_equal(max_pods, 4);	/* one surge pod at a time */
	cenv_stop(&e);
}

/* OnDelete: a new template touches no pod until one is deleted. */
static void test_on_delete(void **state)
{
	struct cenv e;
	struct kc_status st;
	const char *p = "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
			"\"image\":\"agent:2\"}]}}}}";

	(void)state;
	cenv_start(&e, "daemonset", NULL, NULL);
	cenv_node(&e, "n1", 4, 110, NULL);
	make_ds(&e, "od", "agent:1", "", "\"updateStrategy\":{\"type\":\"OnDelete\"},");
	assert_true(WAIT_UNTIL(pods_on(&e, "od", NULL) == 1, KC_WAIT_MS));
	kubelet(&e, "od");
	assert_true(WAIT_UNTIL(st_int(&e, "od", "numberAvailable") == 1, KC_WAIT_MS));
	assert_int_equal(kc_patch(e.k.c, kds(), NS, "od", NULL, KC_PATCH_STRATEGIC, p, strlen(p),
				  NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(st_int(&e, "od", "observedGeneration") == 2, KC_WAIT_MS));
	assert_int_equal(st_int(&e, "od", "updatedNumberScheduled"), 0);
	assert_int_equal(pods_with_image(&e, "od", "agent:1"), 1);
	{
		struct jv_doc *d = jv_doc_new();
		size_t n;
		struct jv **pods = cenv_list(&e, d, kind_pod(), NS, app("od"), &n);
		struct kc_delete_opts o = {.grace_seconds = 0};

		assert_int_equal(kc_delete(e.k.c, kind_pod(), NS,
					   jv_path_str(pods[0], "metadata.name"), &o, NULL, &st),
				 0);
		jv_doc_free(d);
	}
	assert_true(
	    WAIT_UNTIL((kubelet(&e, "od"), pods_with_image(&e, "od", "agent:2") == 1), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(st_int(&e, "od", "updatedNumberScheduled") == 1, KC_WAIT_MS));
	cenv_stop(&e);
}

/* A failed daemon pod is deleted (with a Warning) and made again. */
static void test_failed_pod(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **pods;
	char first[128];

	(void)state;
	cenv_start(&e, "daemonset", NULL, NULL);
	cenv_node(&e, "n1", 4, 110, NULL);
	make_ds(&e, "fp", "agent:1", "", "");
	assert_true(WAIT_UNTIL(pods_on(&e, "fp", NULL) == 1, KC_WAIT_MS));
	kubelet(&e, "fp");
	pods = cenv_list(&e, d, kind_pod(), NS, app("fp"), &n);
	snprintf(first, sizeof(first), "%s", jv_path_str(pods[0], "metadata.name"));
	cenv_pod_finish(&e, NS, first, "Failed");
	assert_true(WAIT_UNTIL(
	    has_event(&e, "fp", "FailedDaemonPod", "Found failed daemon pod default/fp-"),
	    KC_WAIT_MS));
	/* the failed one is deleted (the kubelet finishes it), a new one comes */
	assert_true(
	    WAIT_UNTIL((kubelet(&e, "fp"), pods_on(&e, "fp", "n1") == 1 &&
					       cenv_get(&e, d, kind_pod(), NS, first) == NULL),
		       KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* The controller's kind and name of a pod's controller reference ("" when none). */
static const char *controller_of(struct cenv *e, struct jv_doc *d, const char *pod)
{
	struct jv *p = cenv_get(e, d, kind_pod(), NS, pod);
	const struct jv *refs = jv_path(p, "metadata.ownerReferences");

	for (size_t i = 0; refs && i < jv_count(refs); i++) {
		const struct jv *r = jv_at(refs, i);

		if (jv_path(r, "controller") && jv_path(r, "controller")->type == JV_TRUE)
			return jv_path_str(r, "name");
	}
	return "";
}

/* kube's getDaemonPods claims pods: an orphan on a node that the DaemonSet selects is
 * adopted (no second pod is made for that node); once its labels stop matching it is
 * released and replaced. */
static void test_adopt_release(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	const char *patch = "{\"metadata\":{\"labels\":{\"app\":\"other\"}}}";

	(void)state;
	cenv_start(&e, "daemonset", NULL, NULL);
	cenv_node(&e, "n1", 4, 110, NULL);
	cenv_create(&e, kind_pod(), NS,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"orphan\","
		    "\"labels\":{\"app\":\"ad\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{"
		    "\"name\":\"c\",\"image\":\"agent:1\"}]}}");
	make_ds(&e, "ad", "agent:1", "", "");
	assert_true(WAIT_UNTIL(strcmp(controller_of(&e, d, "orphan"), "ad") == 0, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(st_int(&e, "ad", "currentNumberScheduled") == 1, KC_WAIT_MS));
	{
		size_t n;

		cenv_list(&e, d, kind_pod(), NS, app("ad"), &n);
		assert_int_equal(n, 1); /* the orphan is n1's daemon pod: none made */
	}
	assert_int_equal(kc_patch(e.k.c, kind_pod(), NS, "orphan", NULL, KC_PATCH_MERGE, patch,
				  strlen(patch), NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(strcmp(controller_of(&e, d, "orphan"), "") == 0, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(pods_on(&e, "ad", "n1") == 1, KC_WAIT_MS));
	/* an orphan made now, nothing else changing, wakes the DaemonSet by its own event */
	cenv_create(&e, kind_pod(), NS,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"late\","
		    "\"labels\":{\"app\":\"ad\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{"
		    "\"name\":\"c\",\"image\":\"agent:1\"}]}}");
	assert_true(WAIT_UNTIL(strcmp(controller_of(&e, d, "late"), "ad") == 0, KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_placement),  cmocka_unit_test(test_rolling_update),
	    cmocka_unit_test(test_surge),      cmocka_unit_test(test_on_delete),
	    cmocka_unit_test(test_failed_pod), cmocka_unit_test(test_adopt_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
