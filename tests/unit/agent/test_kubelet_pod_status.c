/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kubelet_pod_status: the pods/status patch drover agent writes (kubelet_pod_status_patch),
 * field by field as the kubelet writes it: running, CrashLoopBackOff with lastState and the
 * unready message, ErrImagePull while Pending, Succeeded with PodCompleted, Failed with
 * PodFailed, init containers (initContainerStatuses, Initialized False with the incomplete
 * ones until they succeeded or a container started); conditions keep
 * their lastTransitionTime while their status holds; the podIPs list replaces the server's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet_objects.h"

#define NOW "2026-01-02T03:04:05Z"

static const char *pod_json =
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u-1\"},"
    "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"},"
    "{\"name\":\"b\",\"image\":\"busybox\"}]},"
    "\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\","
    "\"lastTransitionTime\":\"2020-01-01T00:00:00Z\"},{\"type\":\"Ready\",\"status\":\"True\","
    "\"lastTransitionTime\":\"2020-01-01T00:00:00Z\"}]}}";

static struct jv *patch_of(struct jv_doc *d, const struct kubelet_pod_status *s)
{
	struct jv *pod = jv_parse(d, pod_json, strlen(pod_json), NULL);
	size_t len;
	char *json;
	struct jv *v;

	assert_non_null(pod);
	json = kubelet_pod_status_patch(pod, s, NOW, &len);
	assert_non_null(json);
	v = jv_parse(d, jv_strndup(d, json, len), len, NULL);
	free(json);
	assert_non_null(v);
	return v;
}

static void assert_path(const struct jv *v, const char *path, const char *want)
{
	const char *got = jv_path_str(v, path);

	if (!got || strcmp(got, want))
		fail_msg("%s: \"%s\", expected \"%s\"", path, got ? got : "(absent)", want);
}

/* the condition of a type in the patch */
static const struct jv *cond(const struct jv *patch, const char *type)
{
	for (const struct jv *c = jv_first(jv_path(patch, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			return c;
	fail_msg("no condition %s", type);
	return NULL;
}

static struct kubelet_ctr_status running(const char *name)
{
	return (struct kubelet_ctr_status){
	    .name = name,
	    .image = "docker.io/library/busybox:latest",
	    .image_id = "sha256:abc",
	    .container_id = "drover://x",
	    .cur = {.state = KUBELET_CTR_RUNNING, .started_at = NOW},
	    .ready = true,
	    .started = true,
	};
}

static void test_running(void **state)
{
	struct kubelet_ctr_status c[2] = {running("a"), running("b")};
	struct kubelet_pod_status s = {"Running", "192.0.2.1", "10.244.0.5", NOW, true, c, 2,
				       NULL,	  0,	       NULL,	     0};
	struct jv_doc *d = jv_doc_new();
	struct jv *p = patch_of(d, &s);
	int64_t rc = -1;

	(void)state;
	assert_path(p, "metadata.uid", "u-1");
	assert_path(p, "status.phase", "Running");
	assert_path(p, "status.podIP", "10.244.0.5");
	/* the list replaces the server's: a {"$patch":"replace"} item, then the address */
	assert_path(p, "status.podIPs[0].$patch", "replace");
	assert_path(p, "status.podIPs[1].ip", "10.244.0.5");
	assert_path(p, "status.hostIP", "192.0.2.1");
	assert_path(p, "status.startTime", NOW);
	assert_path(cond(p, "Ready"), "status", "True");
	/* the status held: the old transition time stays */
	assert_path(cond(p, "Ready"), "lastTransitionTime", "2020-01-01T00:00:00Z");
	assert_path(cond(p, "ContainersReady"), "lastTransitionTime", NOW);
	assert_path(cond(p, "PodReadyToStartContainers"), "status", "True");
	assert_path(p, "status.containerStatuses[1].name", "b");
	assert_path(p, "status.containerStatuses[0].state.running.startedAt", NOW);
	assert_path(p, "status.containerStatuses[0].containerID", "drover://x");
	assert_int_equal(jv_path_int(p, "status.containerStatuses[0].restartCount", &rc), 0);
	assert_int_equal(rc, 0);
	/* the order of the kubelet's conditions */
	assert_path(p, "status.$setElementOrder/conditions[0].type", "PodReadyToStartContainers");
	assert_path(p, "status.$setElementOrder/conditions[4].type", "PodScheduled");
	jv_doc_free(d);
}

static void test_crashloop(void **state)
{
	struct kubelet_ctr_status c[2] = {running("a"), running("b")};
	struct kubelet_pod_status s = {"Running", "192.0.2.1", "10.244.0.5", NOW, true, c, 2,
				       NULL,	  0,	       NULL,	     0};
	struct jv_doc *d = jv_doc_new();
	struct jv *p;
	int64_t v = -1;

	(void)state;
	c[1].ready = c[1].started = false;
	c[1].restart_count = 3;
	c[1].cur =
	    (struct kubelet_ctr_state_info){.state = KUBELET_CTR_WAITING,
					    .reason = "CrashLoopBackOff",
					    .message = "back-off 40s restarting failed container"};
	c[1].has_last = true;
	c[1].last = (struct kubelet_ctr_state_info){.state = KUBELET_CTR_TERMINATED,
						    .exit_code = 1,
						    .reason = "Error",
						    .started_at = NOW,
						    .finished_at = NOW,
						    .container_id = "drover://y"};
	p = patch_of(d, &s);
	assert_path(cond(p, "Ready"), "status", "False");
	assert_path(cond(p, "Ready"), "reason", "ContainersNotReady");
	assert_path(cond(p, "Ready"), "message", "containers with unready status: [b]");
	/* the status changed: a new transition time */
	assert_path(cond(p, "Ready"), "lastTransitionTime", NOW);
	assert_path(p, "status.containerStatuses[1].state.waiting.reason", "CrashLoopBackOff");
	assert_path(p, "status.containerStatuses[1].lastState.terminated.reason", "Error");
	assert_int_equal(
	    jv_path_int(p, "status.containerStatuses[1].lastState.terminated.exitCode", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(jv_path_int(p, "status.containerStatuses[1].restartCount", &v), 0);
	assert_int_equal(v, 3);
	jv_doc_free(d);
}

static void test_pending_image(void **state)
{
	struct kubelet_ctr_status c[1] = {{
	    .name = "a",
	    .image = "example.com/nosuch:1",
	    .cur = {.state = KUBELET_CTR_WAITING, .reason = "ErrImagePull", .message = "m"},
	}};
	struct kubelet_pod_status s = {"Pending", "192.0.2.1", NULL, NOW,  false, c,
				       1,	  NULL,	       0,    NULL, 0};
	struct jv_doc *d = jv_doc_new();
	struct jv *p = patch_of(d, &s);

	(void)state;
	assert_path(p, "status.phase", "Pending");
	assert_null(jv_path(p, "status.podIP"));
	assert_null(jv_path(p, "status.containerStatuses[0].containerID"));
	assert_path(p, "status.containerStatuses[0].imageID", "");
	assert_path(p, "status.containerStatuses[0].state.waiting.reason", "ErrImagePull");
	assert_path(cond(p, "PodReadyToStartContainers"), "status", "False");
	jv_doc_free(d);
}

static void test_succeeded(void **state)
{
	struct kubelet_ctr_status c[1] = {running("a")};
	struct kubelet_pod_status s = {"Succeeded", "192.0.2.1", "10.244.0.5", NOW, true, c, 1,
				       NULL,	    0,		 NULL,	       0};
	struct jv_doc *d = jv_doc_new();
	struct jv *p;

	(void)state;
	c[0].ready = c[0].started = false;
	c[0].cur = (struct kubelet_ctr_state_info){.state = KUBELET_CTR_TERMINATED,
						   .exit_code = 0,
						   .reason = "Completed",
						   .started_at = NOW,
						   .finished_at = NOW};
	p = patch_of(d, &s);
	assert_path(p, "status.phase", "Succeeded");
	assert_path(cond(p, "Ready"), "reason", "PodCompleted");
	assert_path(cond(p, "ContainersReady"), "reason", "PodCompleted");
	assert_path(cond(p, "Initialized"), "reason", "PodCompleted");
	assert_path(p, "status.containerStatuses[0].state.terminated.reason", "Completed");
	jv_doc_free(d);
}

static void test_failed(void **state)
{
	struct kubelet_ctr_status c[1] = {running("a")};
	struct kubelet_pod_status s = {"Failed", "192.0.2.1", "10.244.0.5", NOW, true, c, 1,
				       NULL,	 0,	      NULL,	    0};
	struct jv_doc *d = jv_doc_new();
	struct jv *p;

	(void)state;
	c[0].ready = false;
	c[0].cur = (struct kubelet_ctr_state_info){
	    .state = KUBELET_CTR_TERMINATED, .exit_code = 1, .reason = "Error"};
	p = patch_of(d, &s);
	/* generatePodReadyConditionForTerminalPhase; Initialized has no terminal reason but
	 * Succeeded's */
	assert_path(cond(p, "Ready"), "reason", "PodFailed");
	assert_path(cond(p, "ContainersReady"), "reason", "PodFailed");
	assert_path(cond(p, "Initialized"), "status", "True");
	assert_null(jv_get(cond(p, "Initialized"), "reason"));
	assert_null(jv_path(p, "status.initContainerStatuses"));
	jv_doc_free(d);
}

static void test_init(void **state)
{
	struct kubelet_ctr_status c[1] = {running("a")}, ic[2] = {running("i1"), running("i2")};
	struct kubelet_pod_status s = {"Pending", "192.0.2.1", "10.244.0.5", NOW, true, c, 1,
				       ic,	  2,	       NULL,	     0};
	struct jv_doc *d = jv_doc_new();
	struct jv *p;
	int64_t rc = -1;

	(void)state;
	/* i1 done, i2 running, a waiting: Initialized False naming i2 only */
	ic[0].cur = (struct kubelet_ctr_state_info){
	    .state = KUBELET_CTR_TERMINATED, .exit_code = 0, .reason = "Completed"};
	ic[0].started = false;
	ic[1].ready = false;
	c[0].ready = c[0].started = false;
	c[0].cur = (struct kubelet_ctr_state_info){.state = KUBELET_CTR_WAITING,
						   .reason = "PodInitializing"};
	p = patch_of(d, &s);
	assert_path(cond(p, "Initialized"), "status", "False");
	assert_path(cond(p, "Initialized"), "reason", "ContainersNotInitialized");
	assert_path(cond(p, "Initialized"), "message", "containers with incomplete status: [i2]");
	assert_path(cond(p, "Ready"), "message", "containers with unready status: [a]");
	assert_path(p, "status.initContainerStatuses[0].name", "i1");
	assert_path(p, "status.initContainerStatuses[0].state.terminated.reason", "Completed");
	assert_true(jv_path(p, "status.initContainerStatuses[0].ready")->type == JV_TRUE);
	assert_path(p, "status.initContainerStatuses[1].name", "i2");
	assert_non_null(jv_path(p, "status.initContainerStatuses[1].state.running"));
	assert_int_equal(jv_count(jv_path(p, "status.initContainerStatuses")), 2);
	assert_path(p, "status.containerStatuses[0].state.waiting.reason", "PodInitializing");
	/* both waiting (a failed one backing off): both incomplete */
	ic[0].ready = false;
	ic[0].cur = (struct kubelet_ctr_state_info){.state = KUBELET_CTR_WAITING,
						    .reason = "CrashLoopBackOff"};
	ic[0].restart_count = 3;
	p = patch_of(d, &s);
	assert_path(cond(p, "Initialized"), "message",
		    "containers with incomplete status: [i1 i2]");
	assert_int_equal(jv_path_int(p, "status.initContainerStatuses[0].restartCount", &rc), 0);
	assert_int_equal(rc, 3);
	/* every init container done: True */
	ic[0].ready = ic[1].ready = true;
	ic[0].cur = ic[1].cur = (struct kubelet_ctr_state_info){
	    .state = KUBELET_CTR_TERMINATED, .exit_code = 0, .reason = "Completed"};
	p = patch_of(d, &s);
	assert_path(cond(p, "Initialized"), "status", "True");
	assert_null(jv_get(cond(p, "Initialized"), "message"));
	/* a container started: initialized before, even with an init container not ready */
	ic[1].ready = false;
	c[0] = running("a");
	s.phase = "Running";
	p = patch_of(d, &s);
	assert_path(cond(p, "Initialized"), "status", "True");
	jv_doc_free(d);
}

/* a sidecar: Initialized once it started (not once it succeeded); its readiness counts in
 * ContainersReady, listed before the containers (GenerateContainersReadyCondition) */
static void test_sidecar(void **state)
{
	struct kubelet_ctr_status c[1] = {running("a")}, ic[2] = {running("side"), running("i2")};
	struct kubelet_pod_status s = {"Pending", "192.0.2.1", "10.244.0.5", NOW, true, c, 1,
				       ic,	  2,	       NULL,	     0};
	struct jv_doc *d = jv_doc_new();
	struct jv *p;

	(void)state;
	ic[0].sidecar = true;
	ic[0].started = ic[0].ready = false; /* running, its startup probe not passed */
	ic[1].ready = ic[1].started = false;
	ic[1].cur = (struct kubelet_ctr_state_info){.state = KUBELET_CTR_WAITING,
						    .reason = "PodInitializing"};
	c[0].ready = c[0].started = false;
	c[0].cur = ic[1].cur;
	p = patch_of(d, &s);
	assert_path(cond(p, "Initialized"), "message",
		    "containers with incomplete status: [side i2]");
	assert_path(cond(p, "ContainersReady"), "message",
		    "containers with unready status: [side a]");
	/* started, not ready: initialized as far as it goes, still unready */
	ic[0].started = true;
	p = patch_of(d, &s);
	assert_path(cond(p, "Initialized"), "message", "containers with incomplete status: [i2]");
	/* i2 done, a ready: only the sidecar keeps the pod unready */
	ic[1].ready = true;
	ic[1].cur = (struct kubelet_ctr_state_info){
	    .state = KUBELET_CTR_TERMINATED, .exit_code = 0, .reason = "Completed"};
	c[0] = running("a");
	s.phase = "Running";
	p = patch_of(d, &s);
	assert_path(cond(p, "Initialized"), "status", "True");
	assert_path(cond(p, "Ready"), "message", "containers with unready status: [side]");
	ic[0].ready = true;
	p = patch_of(d, &s);
	assert_path(cond(p, "Ready"), "status", "True");
	jv_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_running),	  cmocka_unit_test(test_crashloop),
	    cmocka_unit_test(test_pending_image), cmocka_unit_test(test_succeeded),
	    cmocka_unit_test(test_failed),	  cmocka_unit_test(test_init),
	    cmocka_unit_test(test_sidecar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
