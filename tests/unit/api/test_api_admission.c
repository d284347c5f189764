/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_admission: PriorityClasses and the Priority admission plugin, LimitRanges and the
 * LimitRanger plugin, over HTTP against an in-process server, each case with the Kubernetes
 * 1.32 function it follows and that function's message and code: the system classes a start
 * creates (storage_scheduling.go) and may not be deleted (priorityclass/storage REST.Delete),
 * ValidatePriorityClass(Update), admitPod and validatePriorityClass
 * (plugin/pkg/admission/priority/admission.go), SetDefaults_LimitRangeItem,
 * ValidateLimitRange, and PodMutateLimitFunc / PodValidateLimitFunc /
 * PersistentVolumeClaimValidateLimitFunc (plugin/pkg/admission/limitranger/admission.go).
 * Each test has a server of its own: the classes are cluster-wide.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define PCS  "/apis/scheduling.k8s.io/v1/priorityclasses"
#define PODS "/api/v1/namespaces/default/pods"
#define LRS  "/api/v1/namespaces/default/limitranges"
#define PVCS "/api/v1/namespaces/default/persistentvolumeclaims"

#define POD(name, extra)                                                                      \
	"{\"metadata\":{\"name\":\"" name "\"},\"spec\":{" extra "\"containers\":[{\"name\":" \
	"\"web\",\"image\":\"nginx:1\"}]}}"
#define POD_RES(name, res)                                                                   \
	"{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"containers\":[{\"name\":\"web\"," \
	"\"image\":\"nginx:1\",\"resources\":" res "}]}}"

static int setup(void **state)
{
	struct tsrv *t = calloc(1, sizeof(*t));

	tsrv_start(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	tsrv_stop(*state);
	free(*state);
	return 0;
}

static int64_t int_at(const struct jv *j, const char *path)
{
	int64_t v = -1;

	assert_int_equal(jv_path_int(j, path, &v), 0);
	return v;
}

/* ---- PriorityClass ---- */

/* storage_scheduling.go AddSystemPriorityClasses: both classes, as helpers.go defines them,
 * defaulted by SetDefaults_PriorityClass. */
static void test_system_classes(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tcall(t, "GET", PCS "/system-node-critical", NULL, 200, NULL, &r);
	assert_int_equal(int_at(j, "value"), 2000001000);
	assert_string_equal(tstr(j, "preemptionPolicy"), "PreemptLowerPriority");
	assert_string_equal(
	    tstr(j, "description"),
	    "Used for system critical pods that must not be moved from their current node.");
	assert_null(jv_get(j, "globalDefault"));
	tresp_free(&r);
	j = tcall(t, "GET", PCS "/system-cluster-critical", NULL, 200, NULL, &r);
	assert_int_equal(int_at(j, "value"), 2000000000);
	tresp_free(&r);
	/* priorityclass/storage REST.Delete */
	texpect(
	    t, "DELETE", PCS "/system-node-critical", NULL, 403,
	    "priorityclasses.scheduling.k8s.io \"system-node-critical\" is forbidden: this is a "
	    "system priority class and cannot be deleted");
	texpect(
	    t, "DELETE", PCS "/system-cluster-critical", NULL, 403,
	    "priorityclasses.scheduling.k8s.io \"system-cluster-critical\" is forbidden: this is "
	    "a system priority class and cannot be deleted");
	tcall(t, "GET", PCS "/system-node-critical", NULL, 200, NULL, &r);
	tresp_free(&r);
	/* a user class goes */
	texpect(t, "POST", PCS, "{\"metadata\":{\"name\":\"tmp\"},\"value\":1}", 201, NULL);
	texpect(t, "DELETE", PCS "/tmp", NULL, 200, NULL);
}

/* ---- NamespaceLifecycle ---- */

/* lifecycle.Admit: a DELETE of an immortal namespace (default, kube-system, kube-public) is
 * NewForbidden(..., "this namespace may not be deleted"); kube-node-lease is not immortal. */
static void test_immortal_namespaces(void **state)
{
	static const char *const immortal[] = {"default", "kube-system", "kube-public"};
	struct tsrv *t = *state;
	struct tresp r;
	char path[96], msg[128];

	for (size_t i = 0; i < sizeof(immortal) / sizeof(immortal[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s", immortal[i]);
		snprintf(msg, sizeof(msg),
			 "namespaces \"%s\" is forbidden: this namespace may not be deleted",
			 immortal[i]);
		texpect(t, "DELETE", path, NULL, 403, msg);
	}
	treq(t, "DELETE", "/api/v1/namespaces/kube-node-lease", NULL, NULL, NULL, &r);
	assert_int_not_equal(r.code, 403);
	tresp_free(&r);
	texpect(t, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"mortal\"}}", 201, NULL);
	texpect(t, "DELETE", "/api/v1/namespaces/mortal", NULL, 200, NULL);
}

/* ValidatePriorityClass and ValidatePriorityClassUpdate */
static void test_class_validation(void **state)
{
	struct tsrv *t = *state;

	texpect(
	    t, "POST", PCS, "{\"metadata\":{\"name\":\"too-high\"},\"value\":1000000001}", 422,
	    "PriorityClass.scheduling.k8s.io \"too-high\" is invalid: value: Forbidden: maximum "
	    "allowed value of a user defined priority is 1000000000");
	texpect(t, "POST", PCS, "{\"metadata\":{\"name\":\"top\"},\"value\":1000000000}", 201,
		NULL);
	texpect(t, "POST", PCS, "{\"metadata\":{\"name\":\"system-mine\"},\"value\":10}", 422,
		"PriorityClass.scheduling.k8s.io \"system-mine\" is invalid: metadata.name: "
		"Forbidden: priority class names with 'system-' prefix are reserved for system use "
		"only. error: system-mine is not a known system priority class");
	/* IsKnownSystemPriorityClass: the known name with another value */
	texpect(t, "DELETE", PCS "/system-node-critical", NULL, 403, NULL);
	texpect(t, "POST", PCS, "{\"metadata\":{\"name\":\"gold\"},\"value\":1000}", 201, NULL);
	texpect(t, "PATCH", PCS "/gold", "{\"value\":2000}", 422,
		"PriorityClass.scheduling.k8s.io \"gold\" is invalid: value: Forbidden: may not be "
		"changed in an update.");
	texpect(t, "PATCH", PCS "/gold", "{\"preemptionPolicy\":\"Never\"}", 422,
		"PriorityClass.scheduling.k8s.io \"gold\" is invalid: preemptionPolicy: Invalid "
		"value: \"Never\": field is immutable");
	texpect(t, "PATCH", PCS "/gold", "{\"description\":\"shiny\"}", 200, NULL);
}

/* validatePriorityClass: only one globalDefault, on create and on update */
static void test_one_global_default(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", PCS,
		"{\"metadata\":{\"name\":\"low\"},\"value\":100,\"globalDefault\":true}", 201,
		NULL);
	texpect(t, "POST", PCS,
		"{\"metadata\":{\"name\":\"other\"},\"value\":5,\"globalDefault\":true}", 403,
		"priorityclasses.scheduling.k8s.io \"other\" is forbidden: PriorityClass low is "
		"already marked as default. Only one default can exist");
	texpect(t, "POST", PCS, "{\"metadata\":{\"name\":\"gold\"},\"value\":1000}", 201, NULL);
	texpect(t, "PATCH", PCS "/gold", "{\"globalDefault\":true}", 403,
		"priorityclasses.scheduling.k8s.io \"gold\" is forbidden: PriorityClass low is "
		"already marked as default. Only one default can exist");
	/* the default itself may be updated */
	texpect(t, "PATCH", PCS "/low", "{\"description\":\"d\"}", 200, NULL);
}

/* admitPod: the class resolved through the stored classes */
static void test_pod_priority(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	texpect(t, "POST", PCS,
		"{\"metadata\":{\"name\":\"gold\"},\"value\":1000,\"preemptionPolicy\":\"Never\"}",
		201, NULL);
	j = tcall(t, "POST", PODS, POD("g", "\"priorityClassName\":\"gold\","), 201, NULL, &r);
	assert_int_equal(int_at(j, "spec.priority"), 1000);
	assert_string_equal(tstr(j, "spec.preemptionPolicy"), "Never");
	tresp_free(&r);
	j = tcall(t, "POST", PODS, POD("crit", "\"priorityClassName\":\"system-node-critical\","),
		  201, NULL, &r);
	assert_int_equal(int_at(j, "spec.priority"), 2000001000);
	assert_string_equal(tstr(j, "spec.preemptionPolicy"), "PreemptLowerPriority");
	tresp_free(&r);
	/* no class and no default class: 0 and PreemptLowerPriority */
	j = tcall(t, "POST", PODS, POD("plain", ""), 201, NULL, &r);
	assert_int_equal(int_at(j, "spec.priority"), 0);
	assert_null(jv_path(j, "spec.priorityClassName"));
	assert_string_equal(tstr(j, "spec.preemptionPolicy"), "PreemptLowerPriority");
	tresp_free(&r);
	/* a class that is not there */
	texpect(t, "POST", PODS, POD("nope", "\"priorityClassName\":\"silver\","), 403,
		"pods \"nope\" is forbidden: no PriorityClass with name silver was found");
	/* a mutating plugin's refusal names a generated pod by its generateName
	 * (admission.NewForbidden: the name is generated after mutating admission) */
	texpect(t, "POST", PODS,
		"{\"metadata\":{\"generateName\":\"web-\"},\"spec\":{\"priorityClassName\":"
		"\"silver\",\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\"}]}}",
		403, "pods \"web-\" is forbidden: no PriorityClass with name silver was found");
	/* a priority that differs from the class's; the same one is fine */
	texpect(t, "POST", PODS, POD("p5", "\"priorityClassName\":\"gold\",\"priority\":5,"), 403,
		"pods \"p5\" is forbidden: the integer value of priority (5) must not be provided "
		"in pod spec; priority admission controller computed 1000 from the given "
		"PriorityClass name");
	texpect(t, "POST", PODS, POD("p1000", "\"priorityClassName\":\"gold\",\"priority\":1000,"),
		201, NULL);
	texpect(t, "POST", PODS, POD("p7", "\"priority\":7,"), 403,
		"pods \"p7\" is forbidden: the integer value of priority (7) must not be provided "
		"in pod spec; priority admission controller computed 0 from the given "
		"PriorityClass name");
	/* a preemptionPolicy that differs from the class's */
	texpect(t, "POST", PODS,
		POD("pp", "\"priorityClassName\":\"gold\",\"preemptionPolicy\":"
			  "\"PreemptLowerPriority\","),
		403,
		"pods \"pp\" is forbidden: the string value of PreemptionPolicy "
		"(PreemptLowerPriority) must not be provided in pod spec; priority admission "
		"controller computed Never from the given PriorityClass name");
	/* an update keeps what the create set (admitPod on Update): an update without them */
	j = tcall(t, "PATCH", PODS "/g",
		  "{\"metadata\":{\"labels\":{\"x\":\"y\"}},\"spec\":{\"priority\":null,"
		  "\"preemptionPolicy\":null}}",
		  200, NULL, &r);
	assert_int_equal(int_at(j, "spec.priority"), 1000);
	assert_string_equal(tstr(j, "spec.preemptionPolicy"), "Never");
	tresp_free(&r);
}

/* getDefaultPriority: the globalDefault class's name, value and policy */
static void test_pod_default_class(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	texpect(t, "POST", PCS,
		"{\"metadata\":{\"name\":\"low\"},\"value\":100,\"globalDefault\":true,"
		"\"preemptionPolicy\":\"Never\"}",
		201, NULL);
	j = tcall(t, "POST", PODS, POD("d", ""), 201, NULL, &r);
	assert_int_equal(int_at(j, "spec.priority"), 100);
	assert_string_equal(tstr(j, "spec.priorityClassName"), "low");
	assert_string_equal(tstr(j, "spec.preemptionPolicy"), "Never");
	tresp_free(&r);
}

/* printers.go priorityClassColumnDefinitions / printPriorityClass */
static void test_class_table(void **state)
{
	struct tsrv *t = *state;
	static const char *const names[] = {"Name", "Value", "Global-Default", "Age",
					    "PreemptionPolicy"};
	const struct jv *c, *row = NULL;
	struct tresp r;
	size_t i = 0;

	texpect(t, "POST", PCS,
		"{\"metadata\":{\"name\":\"low\"},\"value\":100,\"globalDefault\":true}", 201,
		NULL);
	treq(t, "GET", PCS, NULL, NULL, "application/json;as=Table;v=v1;g=meta.k8s.io", &r);
	assert_int_equal(r.code, 200);
	for (c = jv_first(jv_get(r.json, "columnDefinitions")); c; c = c->next, i++)
		assert_string_equal(tstr(c, "name"), names[i]);
	assert_int_equal(i, 5);
	for (c = jv_first(jv_get(r.json, "rows")); c; c = c->next)
		if (jv_is_str(jv_first(jv_get(c, "cells")), "low"))
			row = jv_get(c, "cells");
	assert_non_null(row);
	c = jv_first(row)->next;
	assert_int_equal(c->type, JV_NUMBER);
	assert_string_equal(c->s, "100");
	assert_int_equal(c->next->type, JV_TRUE);
	assert_string_equal(c->next->next->next->s, "PreemptLowerPriority");
	tresp_free(&r);
}

/* ---- LimitRange ---- */

/* SetDefaults_LimitRangeItem: a Container item's default is its max, its defaultRequest its
 * default, else its min */
static void test_limitrange_defaults(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tcall(t, "POST", LRS,
		  "{\"metadata\":{\"name\":\"lr\"},\"spec\":{\"limits\":[{\"type\":\"Container\","
		  "\"max\":{\"cpu\":\"2\"},\"min\":{\"memory\":\"64Mi\"}},{\"type\":\"Pod\","
		  "\"max\":{\"cpu\":\"4\"}}]}}",
		  201, NULL, &r);
	assert_string_equal(tstr(j, "spec.limits[0].default.cpu"), "2");
	assert_string_equal(tstr(j, "spec.limits[0].defaultRequest.cpu"), "2");
	assert_string_equal(tstr(j, "spec.limits[0].defaultRequest.memory"), "64Mi");
	assert_null(jv_path(j, "spec.limits[0].default.memory"));
	assert_null(jv_path(j, "spec.limits[1].default"));
	tresp_free(&r);
}

/* ValidateLimitRange */
static void test_limitrange_validation(void **state)
{
	struct tsrv *t = *state;

	texpect(
	    t, "POST", LRS,
	    "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"limits\":[{\"type\":\"Container\","
	    "\"min\":{\"cpu\":\"500m\"},\"max\":{\"cpu\":\"100m\"},\"default\":{\"cpu\":"
	    "\"100m\"}}]}}",
	    422,
	    "LimitRange \"a\" is invalid: [spec.limits[0].min[cpu]: Invalid value: "
	    "resource.Quantity{i:resource.int64Amount{value:500, scale:-3}, "
	    "d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"500m\", Format:\"DecimalSI\"}: "
	    "min value 500m is greater than max value 100m, spec.limits[0].defaultRequest[cpu]: "
	    "Invalid value: resource.Quantity{i:resource.int64Amount{value:100, scale:-3}, "
	    "d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"100m\", Format:\"DecimalSI\"}: "
	    "min value 500m is greater than default request value 100m, "
	    "spec.limits[0].default[cpu]: Invalid value: "
	    "resource.Quantity{i:resource.int64Amount{value:500, scale:-3}, "
	    "d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"500m\", Format:\"DecimalSI\"}: "
	    "min value 500m is greater than default value 100m]");
	texpect(t, "POST", LRS,
		"{\"metadata\":{\"name\":\"b\"},\"spec\":{\"limits\":[{\"type\":\"Pod\","
		"\"max\":{\"memory\":\"1Gi\"},\"default\":{\"memory\":\"1Gi\"}}]}}",
		422,
		"LimitRange \"b\" is invalid: spec.limits[0].default: Forbidden: may not be "
		"specified when `type` is 'Pod'");
	texpect(
	    t, "POST", LRS,
	    "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"limits\":[{\"type\":"
	    "\"PersistentVolumeClaim\",\"max\":{\"cpu\":\"1\"}}]}}",
	    422,
	    "LimitRange \"c\" is invalid: spec.limits[0].limits: Required value: either minimum "
	    "or maximum storage value is required, but neither was provided");
	texpect(
	    t, "POST", LRS,
	    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"limits\":[{\"type\":\"Node\"}]}}", 422,
	    "LimitRange \"d\" is invalid: spec.limits[0].type: Invalid value: \"Node\": must be "
	    "a standard limit type or fully qualified");
	texpect(t, "POST", LRS,
		"{\"metadata\":{\"name\":\"d2\"},\"spec\":{\"limits\":[{\"type\":"
		"\"example.com/gpu\"}]}}",
		201, NULL);
	texpect(t, "POST", LRS,
		"{\"metadata\":{\"name\":\"e\"},\"spec\":{\"limits\":[{\"type\":\"Container\"},"
		"{\"type\":\"Container\"}]}}",
		422,
		"LimitRange \"e\" is invalid: spec.limits[1].type: Duplicate value: \"Container\"");
	texpect(t, "POST", LRS,
		"{\"metadata\":{\"name\":\"f\"},\"spec\":{\"limits\":[{\"type\":\"Container\","
		"\"max\":{\"storage\":\"1Gi\"}}]}}",
		422,
		"LimitRange \"f\" is invalid: [spec.limits[0].max[storage]: Invalid value: "
		"\"storage\": must be a standard resource for containers, "
		"spec.limits[0].default[storage]: Invalid value: \"storage\": must be a standard "
		"resource for containers, spec.limits[0].defaultRequest[storage]: Invalid value: "
		"\"storage\": must be a standard resource for containers]");
	texpect(t, "POST", LRS,
		"{\"metadata\":{\"name\":\"g\"},\"spec\":{\"limits\":[{\"type\":\"Container\","
		"\"maxLimitRequestRatio\":{\"cpu\":\"500m\"}}]}}",
		422,
		"LimitRange \"g\" is invalid: spec.limits[0].maxLimitRequestRatio[cpu]: Invalid "
		"value: resource.Quantity{i:resource.int64Amount{value:500, scale:-3}, "
		"d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"500m\", Format:\"DecimalSI\"}: "
		"ratio 500m is less than 1");
}

#define DEFAULTS_LR                                                                            \
	"{\"metadata\":{\"name\":\"defaults\"},\"spec\":{\"limits\":[{\"type\":\"Container\"," \
	"\"default\":{\"cpu\":\"500m\",\"memory\":\"512Mi\"},\"defaultRequest\":{\"cpu\":"     \
	"\"100m\",\"memory\":\"256Mi\"}}]}}"

/* PodMutateLimitFunc: defaults into containers and init containers, the annotation */
static void test_limitranger_defaults(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	texpect(t, "POST", LRS, DEFAULTS_LR, 201, NULL);
	j = tcall(t, "POST", PODS,
		  "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"initContainers\":[{\"name\":"
		  "\"init\",\"image\":\"busybox:1\"}],\"containers\":[{\"name\":\"web\",\"image\":"
		  "\"nginx:1\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}]}}",
		  201, NULL, &r);
	assert_string_equal(tstr(j, "spec.containers[0].resources.limits.cpu"), "500m");
	/* SetDefaults_Pod copied the limit into the request before LimitRanger ran */
	assert_string_equal(tstr(j, "spec.containers[0].resources.limits.memory"), "1Gi");
	assert_string_equal(tstr(j, "spec.containers[0].resources.requests.memory"), "1Gi");
	assert_string_equal(tstr(j, "spec.containers[0].resources.requests.cpu"), "100m");
	assert_string_equal(tstr(j, "spec.initContainers[0].resources.requests.memory"), "256Mi");
	assert_string_equal(tstr(j, "spec.initContainers[0].resources.limits.cpu"), "500m");
	assert_non_null(jv_get(jv_path(j, "metadata.annotations"), "kubernetes.io/limit-ranger"));
	assert_string_equal(
	    jv_get(jv_path(j, "metadata.annotations"), "kubernetes.io/limit-ranger")->s,
	    "LimitRanger plugin set: cpu request for container web; cpu limit for "
	    "container web; cpu, memory request for init container init; cpu, "
	    "memory limit for init container init");
	assert_string_equal(tstr(j, "status.qosClass"), "Burstable");
	tresp_free(&r);
	/* another namespace has no LimitRange */
	j = tcall(t, "POST", "/api/v1/namespaces/kube-public/pods", POD("bare", ""), 201, NULL, &r);
	assert_null(jv_path(j, "spec.containers[0].resources.limits"));
	assert_null(jv_path(j, "metadata.annotations"));
	tresp_free(&r);
}

/* ---- the admission cache (registry/reg_cache.c) ----
 *
 * Priority and LimitRanger read the classes and ranges from a cache: every write to them
 * takes effect on the very next pod, once the cache has been read (kube's listers are only
 * eventually consistent; drover's are not). */
static void test_cache_fresh(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	/* read (cached) before the class exists, then after each change */
	texpect(t, "POST", PODS, POD("a0", "\"priorityClassName\":\"late\","), 403,
		"pods \"a0\" is forbidden: no PriorityClass with name late was found");
	texpect(t, "POST", PCS, "{\"metadata\":{\"name\":\"late\"},\"value\":7}", 201, NULL);
	j = tcall(t, "POST", PODS, POD("a1", "\"priorityClassName\":\"late\","), 201, NULL, &r);
	assert_int_equal(int_at(j, "spec.priority"), 7);
	tresp_free(&r);
	texpect(t, "DELETE", PCS "/late", NULL, 200, NULL);
	texpect(t, "POST", PODS, POD("a2", "\"priorityClassName\":\"late\","), 403,
		"pods \"a2\" is forbidden: no PriorityClass with name late was found");
	texpect(t, "POST", PCS,
		"{\"metadata\":{\"name\":\"dflt\"},\"value\":9,\"globalDefault\":true}", 201, NULL);
	j = tcall(t, "POST", PODS, POD("a3", ""), 201, NULL, &r);
	assert_int_equal(int_at(j, "spec.priority"), 9);
	tresp_free(&r);

	/* LimitRanger: none, one, one changed, none again */
	j = tcall(t, "POST", PODS, POD("l0", ""), 201, NULL, &r);
	assert_null(jv_path(j, "spec.containers[0].resources.limits"));
	tresp_free(&r);
	texpect(t, "POST", LRS, DEFAULTS_LR, 201, NULL);
	j = tcall(t, "POST", PODS, POD("l1", ""), 201, NULL, &r);
	assert_string_equal(tstr(j, "spec.containers[0].resources.limits.cpu"), "500m");
	tresp_free(&r);
	texpect(t, "PATCH", LRS "/defaults",
		"{\"spec\":{\"limits\":[{\"type\":\"Container\",\"default\":{\"cpu\":"
		"\"700m\"}}]}}",
		200, NULL);
	j = tcall(t, "POST", PODS, POD("l2", ""), 201, NULL, &r);
	assert_string_equal(tstr(j, "spec.containers[0].resources.limits.cpu"), "700m");
	tresp_free(&r);
	texpect(t, "DELETE", LRS "/defaults", NULL, 200, NULL);
	j = tcall(t, "POST", PODS, POD("l3", ""), 201, NULL, &r);
	assert_null(jv_path(j, "spec.containers[0].resources.limits"));
	tresp_free(&r);
}

/* PodValidateLimitFunc: min, max, maxLimitRequestRatio per Container and per Pod */
static void test_limitranger_limits(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", LRS,
		"{\"metadata\":{\"name\":\"bounds\"},\"spec\":{\"limits\":[{\"type\":\"Container\","
		"\"min\":{\"cpu\":\"100m\"},\"max\":{\"cpu\":\"1\"},\"maxLimitRequestRatio\":{"
		"\"cpu\":\"4\"}},{\"type\":\"Pod\",\"max\":{\"memory\":\"1Gi\"}}]}}",
		201, NULL);
	/* minConstraint */
	texpect(t, "POST", PODS,
		POD_RES("small", "{\"requests\":{\"cpu\":\"50m\"},\"limits\":{\"cpu\":\"100m\","
				 "\"memory\":\"64Mi\"}}"),
		403,
		"pods \"small\" is forbidden: minimum cpu usage per Container is 100m, but request "
		"is 50m");
	/* maxConstraint */
	texpect(t, "POST", PODS,
		POD_RES("big", "{\"requests\":{\"cpu\":\"1\"},\"limits\":{\"cpu\":\"2\","
			       "\"memory\":\"64Mi\"}}"),
		403,
		"pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2");
	/* limitRequestRatioConstraint */
	texpect(t, "POST", PODS,
		POD_RES("bursty", "{\"requests\":{\"cpu\":\"200m\"},\"limits\":{\"cpu\":\"1\","
				  "\"memory\":\"64Mi\"}}"),
		403,
		"pods \"bursty\" is forbidden: cpu max limit to request ratio per Container is 4, "
		"but provided ratio is 5.000000");
	/* the Pod item: the containers' limits add up */
	texpect(t, "POST", PODS,
		"{\"metadata\":{\"name\":\"pair\"},\"spec\":{\"containers\":[{\"name\":\"a\","
		"\"image\":\"x:1\",\"resources\":{\"limits\":{\"cpu\":\"200m\",\"memory\":"
		"\"600Mi\"}}},{\"name\":\"b\",\"image\":\"x:1\",\"resources\":{\"limits\":{\"cpu\":"
		"\"200m\",\"memory\":\"600Mi\"}}}]}}",
		403,
		"pods \"pair\" is forbidden: maximum memory usage per Pod is 1Gi, but limit is "
		"1200Mi");
	/* nothing stated: the Container item's defaults (its max) pass, the Pod item has no
	 * limit to check */
	texpect(t, "POST", PODS, POD("none", ""), 403,
		"pods \"none\" is forbidden: maximum memory usage per Pod is 1Gi.  No limit is "
		"specified");
	/* several causes: utilerrors.NewAggregate's "[a, b]" */
	texpect(t, "POST", PODS,
		POD_RES("wild", "{\"requests\":{\"cpu\":\"50m\"},\"limits\":{\"cpu\":\"2\","
				"\"memory\":\"64Mi\"}}"),
		403,
		"pods \"wild\" is forbidden: [minimum cpu usage per Container is 100m, but request "
		"is 50m, maximum cpu usage per Container is 1, but limit is 2, cpu max limit to "
		"request ratio per Container is 4, but provided ratio is 40.000000]");
	/* a validating refusal comes after the name was generated: it names the pod by it */
	{
		struct tresp r;
		const char *m;

		tcall(t, "POST", PODS,
		      "{\"metadata\":{\"generateName\":\"gen-\"},\"spec\":{\"containers\":[{"
		      "\"name\":\"web\",\"image\":\"nginx:1\",\"resources\":{\"limits\":{"
		      "\"cpu\":\"2\",\"memory\":\"64Mi\"}}}]}}",
		      403, NULL, &r);
		m = tstr(r.json, "message");
		assert_true(strncmp(m, "pods \"gen-", 10) == 0 && strlen(m) > 16 && m[15] == '"');
		assert_string_equal(m + 16, " is forbidden: maximum cpu usage per Container is 1, "
					    "but limit is 2");
		tresp_free(&r);
	}
	texpect(t, "POST", PODS,
		POD_RES("fits", "{\"requests\":{\"cpu\":\"250m\"},\"limits\":{\"cpu\":\"1\","
				"\"memory\":\"512Mi\"}}"),
		201, NULL);
}

/* PersistentVolumeClaimValidateLimitFunc, on create and on update */
static void test_limitranger_claims(void **state)
{
	struct tsrv *t = *state;

#define PVC(name, size)                                                                        \
	"{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]," \
	"\"resources\":{\"requests\":{\"storage\":\"" size "\"}}}}"
	texpect(t, "POST", LRS,
		"{\"metadata\":{\"name\":\"storage\"},\"spec\":{\"limits\":[{\"type\":"
		"\"PersistentVolumeClaim\",\"min\":{\"storage\":\"1Gi\"},\"max\":{\"storage\":"
		"\"10Gi\"}}]}}",
		201, NULL);
	texpect(t, "POST", PVCS, PVC("tiny", "500Mi"), 403,
		"persistentvolumeclaims \"tiny\" is forbidden: minimum storage usage per "
		"PersistentVolumeClaim is 1Gi, but request is 500Mi");
	texpect(t, "POST", PVCS, PVC("huge", "20Gi"), 403,
		"persistentvolumeclaims \"huge\" is forbidden: maximum storage usage per "
		"PersistentVolumeClaim is 10Gi, but request is 20Gi");
	texpect(t, "POST", PVCS, PVC("ok", "5Gi"), 201, NULL);
	/* only a bound claim's request may change (ValidatePersistentVolumeClaimUpdate runs
	 * before the validating admission) */
	texpect(t, "PATCH", PVCS "/ok/status", "{\"status\":{\"phase\":\"Bound\"}}", 200, NULL);
	texpect(t, "PATCH", PVCS "/ok",
		"{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"11Gi\"}}}}", 403,
		"persistentvolumeclaims \"ok\" is forbidden: maximum storage usage per "
		"PersistentVolumeClaim is 10Gi, but request is 11Gi");
#undef PVC
}

/* DefaultTolerationSeconds admits updates too (its Admit takes Create and Update): an update
 * that leaves the two tolerations out gets them back, so it changes no toleration (which the
 * pod update rules would refuse). */
static void test_default_tolerations_on_update(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	const struct jv *tols;

	texpect(t, "POST", PODS, POD("tu", ""), 201, NULL);
	tols = jv_path(
	    tcall(t, "PATCH", PODS "/tu",
		  "{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"tolerations\":null}}", 200,
		  NULL, &r),
	    "spec.tolerations");
	assert_non_null(tols);
	assert_int_equal(tols->len, 2);
	assert_string_equal(tstr(tols->head, "key"), "node.kubernetes.io/not-ready");
	tresp_free(&r);
}

/* Discovery: the short names of their storage.go (pc, limits) */
static void test_discovery(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	int found = 0;

	j = tcall(t, "GET", "/apis/scheduling.k8s.io/v1", NULL, 200, NULL, &r);
	for (const struct jv *x = jv_first(jv_get(j, "resources")); x; x = x->next)
		if (jv_is_str(jv_get(x, "name"), "priorityclasses")) {
			assert_string_equal(tstr(x, "shortNames[0]"), "pc");
			assert_int_equal(jv_get(x, "namespaced")->type, JV_FALSE);
			found++;
		}
	tresp_free(&r);
	j = tcall(t, "GET", "/api/v1", NULL, 200, NULL, &r);
	for (const struct jv *x = jv_first(jv_get(j, "resources")); x; x = x->next)
		if (jv_is_str(jv_get(x, "name"), "limitranges")) {
			assert_string_equal(tstr(x, "shortNames[0]"), "limits");
			found++;
		}
	tresp_free(&r);
	assert_int_equal(found, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_system_classes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_immortal_namespaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_class_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_global_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_priority, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_default_class, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_class_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limitrange_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limitrange_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limitranger_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limitranger_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limitranger_claims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_tolerations_on_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_fresh, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
