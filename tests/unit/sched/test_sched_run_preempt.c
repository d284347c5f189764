/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_run_preempt: preemption through the API, as kube-scheduler 1.32 performs it:
 * an in-process server (over the in-process client, or HTTP with CTRL_TRANSPORT=http), the
 * scheduler (sched_run.c) and the test as kubelet. Two PriorityClasses (the Priority
 * admission sets spec.priority), a node filled by a low priority pod; a high priority pod
 * preempts it: the victim gets DisruptionTarget=True/PreemptionByScheduler and is deleted
 * (the kubelet stand-in finishes it), a Preempted Event names the preemptor's uid and the
 * node, the preemptor's status.nominatedNodeName is the node and its FailedScheduling Event
 * has the FitError; it binds there once the victim is gone. Then pods that cannot preempt
 * say why in kube's words: preemptionPolicy Never, and no victim of lower priority.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"
#include "ctrl_workload.h"
#include "sched_run.h"

#define NS "default"

static const struct k8s_kind *kind_pc(void)
{
	return k8s_kind_find("scheduling.k8s.io/v1", "PriorityClass");
}

static void pclass(struct cenv *e, const char *name, int value, const char *policy)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"},\"value\":%d,\"preemptionPolicy\":\"%s\"}", name,
		 value, policy);
	cenv_create(e, kind_pc(), NULL, json);
}

static void pod(struct cenv *e, const char *name, const char *cls)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"priorityClassName\":\"%s\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{"
		 "\"cpu\":\"1\"}}}]}}",
		 name, cls);
	cenv_create(e, kind_pod(), NS, json);
}

static const char *str(struct cenv *e, const char *name, const char *path, char *buf)
{
	return cw_str(e, kind_pod(), NS, name, path, buf, 256);
}

static void test_preempt(void **state)
{
	struct cenv e;
	struct scheduler *s = NULL;
	struct scheduler_config cfg = {.bind_workers = 2};
	char b[256], uid[256], msg[512];

	(void)state;
	cenv_start(&e, "disruption", NULL, NULL);
	assert_int_equal(scheduler_start(e.ctrl_c, &cfg, &s), 0);
	pclass(&e, "low", 10, "PreemptLowerPriority");
	pclass(&e, "high", 1000, "PreemptLowerPriority");
	pclass(&e, "high-never", 2000, "Never");
	cenv_node(&e, "n1", 1, 110, NULL);

	pod(&e, "low", "low");
	assert_true(WAIT_UNTIL(strcmp(str(&e, "low", "spec.nodeName", b), "n1") == 0, KC_WAIT_MS));
	cenv_pod_run(&e, NS, "low", "n1", true);

	pod(&e, "high", "high");
	assert_int_equal(cw_int(&e, kind_pod(), NS, "high", "spec.priority"), 1000);
	str(&e, "high", "metadata.uid", uid);
	/* the victim: the condition, then the deletion */
	assert_true(WAIT_UNTIL(*str(&e, "low", "metadata.deletionTimestamp", b), KC_WAIT_MS));
	struct jv_doc *d = jv_doc_new();
	struct jv *low = cenv_get(&e, d, kind_pod(), NS, "low");
	const struct jv *dt = NULL;

	for (const struct jv *c = jv_first(jv_path(low, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "DisruptionTarget"))
			dt = c;
	assert_non_null(dt);
	assert_string_equal(jv_path_str(dt, "status"), "True");
	assert_string_equal(jv_path_str(dt, "reason"), "PreemptionByScheduler");
	assert_string_equal(jv_path_str(dt, "message"),
			    "default-scheduler: preempting to accommodate a higher priority pod");
	jv_doc_free(d);
	snprintf(msg, sizeof(msg), "Preempted by pod %s on node n1", uid);
	assert_true(WAIT_UNTIL(cw_event(&e, NS, "Preempted", "low", msg) > 0, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(strcmp(str(&e, "high", "status.nominatedNodeName", b), "n1") == 0,
			       KC_WAIT_MS));
	assert_true(WAIT_UNTIL(cw_event(&e, NS, "FailedScheduling", "high",
					"0/1 nodes are available: 1 Insufficient cpu.") > 0,
			       KC_WAIT_MS));
	assert_string_equal(str(&e, "high", "spec.nodeName", b), "");

	/* the kubelet finishes the victim: the preemptor binds where it was nominated */
	cw_finish_terminating(&e, NS, NULL);
	assert_true(WAIT_UNTIL(strcmp(str(&e, "high", "spec.nodeName", b), "n1") == 0, KC_WAIT_MS));
	cenv_pod_run(&e, NS, "high", "n1", true);

	/* preemptionPolicy Never: no preemption, kube's reason */
	pod(&e, "never", "high-never");
	assert_true(WAIT_UNTIL(cw_event(&e, NS, "FailedScheduling", "never",
					"0/1 nodes are available: 1 Insufficient cpu. preemption: "
					"not eligible due to preemptionPolicy=Never..") > 0,
			       KC_WAIT_MS));
	/* equal priority: no victim */
	pod(&e, "peer", "high");
	assert_true(
	    WAIT_UNTIL(cw_event(&e, NS, "FailedScheduling", "peer",
				"0/1 nodes are available: 1 Insufficient cpu. preemption: "
				"0/1 nodes are available: 1 No preemption victims found for "
				"incoming pod..") > 0,
		       KC_WAIT_MS));
	assert_string_equal(str(&e, "high", "metadata.deletionTimestamp", b), "");
	assert_string_equal(str(&e, "never", "status.nominatedNodeName", b), "");

	scheduler_stop(s);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_preempt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
