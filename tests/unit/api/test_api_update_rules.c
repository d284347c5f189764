/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_update_rules: what an update may change, over HTTP, with kube-apiserver 1.32's
 * 422 (reason Invalid; each cause's field, reason and message as its validation writes
 * them): Secret stringData merged into data and never stored (Convert_v1_Secret_To_core_
 * Secret), ConfigMaps and Secrets with `immutable` (ValidateConfigMapUpdate,
 * ValidateSecretUpdate), Pods (ValidatePodUpdate), Jobs (ValidateJobSpecUpdate), apps/v1
 * selectors (the Deployment strategy's ValidateUpdate), StatefulSets
 * (ValidateStatefulSetUpdate), PersistentVolumeClaims (ValidatePersistentVolumeClaimUpdate)
 * and role bindings (ValidateRoleBindingUpdate). Kubernetes appends a go-cmp diff to the pod
 * and claim messages; drover leaves it out (go-cmp randomises it on purpose).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define MERGE "application/merge-patch+json"
#define JSONP "application/json-patch+json"
#define NS    "/api/v1/namespaces/default/"

/* A patch that must succeed. */
static void ok_patch_ct(struct tsrv *t, const char *path, const char *ctype, const char *body)
{
	struct tresp r;

	treq(t, "PATCH", path, ctype, body, NULL, &r);
	if (r.code != 200)
		fail_msg("PATCH %s %s: %ld: %s", path, body, r.code, r.body);
	tresp_free(&r);
}

static void ok_patch(struct tsrv *t, const char *path, const char *body)
{
	ok_patch_ct(t, path, MERGE, body);
}

static void ok_create(struct tsrv *t, const char *path, const char *body)
{
	struct tresp r;

	tpost(t, path, body, 201, &r);
	tresp_free(&r);
}

/* A patch refused with 422: cause i has this field, reason and message; the Status's
 * message is `<what> is invalid: <field>: <message>` when it has one cause (top non-NULL). */
static void refused_ct(struct tsrv *t, const char *path, const char *ctype, const char *body,
		       const char *top, int i, const char *field, const char *reason,
		       const char *msg)
{
	char p[64], want[2048];
	struct tresp r;

	treq(t, "PATCH", path, ctype, body, NULL, &r);
	if (r.code != 422)
		fail_msg("PATCH %s %s: %ld, want 422: %s", path, body, r.code, r.body);
	assert_string_equal(tstr(r.json, "reason"), "Invalid");
	snprintf(p, sizeof(p), "details.causes[%d].field", i);
	assert_string_equal(tstr(r.json, p), field);
	snprintf(p, sizeof(p), "details.causes[%d].reason", i);
	assert_string_equal(tstr(r.json, p), reason);
	snprintf(p, sizeof(p), "details.causes[%d].message", i);
	assert_string_equal(tstr(r.json, p), msg);
	if (top) {
		assert_int_equal(jv_count(jv_path(r.json, "details.causes")), 1);
		snprintf(want, sizeof(want), "%s is invalid: %s: %s", top, field, msg);
		assert_string_equal(tstr(r.json, "message"), want);
	}
	tresp_free(&r);
}

static void refused(struct tsrv *t, const char *path, const char *body, const char *top, int i,
		    const char *field, const char *reason, const char *msg)
{
	refused_ct(t, path, MERGE, body, top, i, field, reason, msg);
}

#define FORBIDDEN "FieldValueForbidden"
#define INVALID	  "FieldValueInvalid"

/* ---- Secrets and ConfigMaps ---- */

/* Convert_v1_Secret_To_core_Secret: stringData overwrites data, base64, on create and on
 * update, and is never stored. */
static void test_secret_string_data(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tpost(t, NS "secrets",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"sd\"},"
		  "\"data\":{\"a\":\"b2xk\",\"keep\":\"eA==\"},\"stringData\":{\"a\":\"hello\","
		  "\"z\":\"ab\"}}",
		  201, &r);
	assert_string_equal(tstr(j, "data.a"), "aGVsbG8=");
	assert_string_equal(tstr(j, "data.keep"), "eA==");
	assert_string_equal(tstr(j, "data.z"), "YWI=");
	assert_null(jv_get(j, "stringData"));
	tresp_free(&r);
	ok_patch(t, NS "secrets/sd", "{\"stringData\":{\"keep\":\"new\"}}");
	j = tget(t, NS "secrets/sd", 200, &r);
	assert_string_equal(tstr(j, "data.keep"), "bmV3");
	assert_string_equal(tstr(j, "data.a"), "aGVsbG8=");
	assert_null(jv_get(j, "stringData"));
	tresp_free(&r);
	/* server-side apply too */
	treq(t, "PATCH", NS "secrets/sd?fieldManager=t", "application/apply-patch+yaml",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"sd\"},"
	     "\"stringData\":{\"ssa\":\"yes\"}}",
	     NULL, &r);
	if (r.code != 200)
		fail_msg("apply: %ld: %s", r.code, r.body);
	assert_string_equal(tstr(r.json, "data.ssa"), "eWVz");
	assert_null(jv_get(r.json, "stringData"));
	tresp_free(&r);
}

/* ValidateSecretUpdate: ValidateImmutableField(newSecret.Type, ...) */
static void test_secret_type(void **state)
{
	struct tsrv *t = *state;

	ok_create(t, NS "secrets",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"ty\"}}");
	refused(t, NS "secrets/ty", "{\"type\":\"example.com/other\"}", "Secret \"ty\"", 0, "type",
		INVALID, "Invalid value: \"example.com/other\": field is immutable");
}

/* ValidateConfigMapUpdate: with `immutable: true`, data and binaryData stay, and so does
 * immutable; metadata still changes. */
static void test_configmap_immutable(void **state)
{
	struct tsrv *t = *state;
	const char *cm = NS "configmaps/imm";

	ok_create(t, NS "configmaps",
		  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"imm\"},"
		  "\"data\":{\"a\":\"1\"},\"immutable\":true}");
	ok_patch(t, cm, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
	refused(t, cm, "{\"data\":{\"a\":\"2\"}}", "ConfigMap \"imm\"", 0, "data", FORBIDDEN,
		"Forbidden: field is immutable when `immutable` is set");
	refused(t, cm, "{\"binaryData\":{\"b\":\"eA==\"}}", "ConfigMap \"imm\"", 0, "binaryData",
		FORBIDDEN, "Forbidden: field is immutable when `immutable` is set");
	refused(t, cm, "{\"immutable\":false}", "ConfigMap \"imm\"", 0, "immutable", FORBIDDEN,
		"Forbidden: field is immutable when `immutable` is set");
	/* a mutable one changes, and may become immutable */
	ok_create(t, NS "configmaps",
		  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"mut\"},"
		  "\"data\":{\"a\":\"1\"}}");
	ok_patch(t, NS "configmaps/mut", "{\"data\":{\"a\":\"2\"},\"immutable\":true}");
}

/* ValidateSecretUpdate: the same for a Secret's data, also when it comes as stringData */
static void test_secret_immutable(void **state)
{
	struct tsrv *t = *state;

	ok_create(t, NS "secrets",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"isec\"},"
		  "\"stringData\":{\"a\":\"1\"},\"immutable\":true}");
	refused(t, NS "secrets/isec", "{\"stringData\":{\"a\":\"2\"}}", "Secret \"isec\"", 0,
		"data", FORBIDDEN, "Forbidden: field is immutable when `immutable` is set");
	refused(t, NS "secrets/isec", "{\"immutable\":null}", "Secret \"isec\"", 0, "immutable",
		FORBIDDEN, "Forbidden: field is immutable when `immutable` is set");
}

/* ---- Pods ---- */

#define POD_MSG                                                                                 \
	"Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"   \
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only " \
	"additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to " \
	"be set to 1 if it was previously negative)"

/* ValidatePodUpdate, ValidateContainerUpdates, validateOnlyAddedTolerations */
static void test_pod(void **state)
{
	struct tsrv *t = *state;
	const char *p = NS "pods/up";

	ok_create(t, NS "pods",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"up\"},\"spec\":"
		  "{\"activeDeadlineSeconds\":100,\"containers\":[{\"name\":\"c\",\"image\":"
		  "\"nginx:1\"}],\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\","
		  "\"effect\":\"NoExecute\",\"tolerationSeconds\":5}]}}");
	/* images, a lower deadline, added tolerations and a toleration's seconds may change */
	ok_patch(t, p, "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}");
	ok_patch(t, p, "{\"spec\":{\"activeDeadlineSeconds\":50}}");
	/* (JSON patches: the stored list also holds DefaultTolerationSeconds' two) */
	ok_patch_ct(t, p, JSONP,
		    "[{\"op\":\"replace\",\"path\":\"/spec/tolerations/0/tolerationSeconds\","
		    "\"value\":10},{\"op\":\"add\",\"path\":\"/spec/tolerations/-\",\"value\":"
		    "{\"key\":\"o\",\"operator\":\"Exists\"}}]");
	refused(t, p, "{\"spec\":{\"activeDeadlineSeconds\":60}}", "Pod \"up\"", 0,
		"spec.activeDeadlineSeconds", INVALID,
		"Invalid value: 60: must be less than or equal to previous value");
	refused(t, p, "{\"spec\":{\"activeDeadlineSeconds\":null}}", "Pod \"up\"", 0,
		"spec.activeDeadlineSeconds", INVALID,
		"Invalid value: null: must not update from a positive integer to nil value");
	refused_ct(
	    t, p, JSONP, "[{\"op\":\"remove\",\"path\":\"/spec/tolerations/0\"}]", "Pod \"up\"", 0,
	    "spec.tolerations", FORBIDDEN,
	    "Forbidden: existing toleration can not be modified except its tolerationSeconds");
	refused(t, p,
		"{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"},"
		"{\"name\":\"d\",\"image\":\"busybox\"}]}}",
		"Pod \"up\"", 0, "spec.containers", FORBIDDEN,
		"Forbidden: pod updates may not add or remove containers");
	refused(t, p,
		"{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\","
		"\"command\":[\"sh\"]}]}}",
		"Pod \"up\"", 0, "spec", FORBIDDEN, POD_MSG);
	refused(t, p, "{\"spec\":{\"hostname\":\"other\"}}", "Pod \"up\"", 0, "spec", FORBIDDEN,
		POD_MSG);
}

/* ValidatePodUpdate: a QoS class that would change (on "metadata", the status's class) */
static void test_pod_qos(void **state)
{
	struct tsrv *t = *state;

	ok_create(
	    t, NS "pods",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"qos\"},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
	refused(t, NS "pods/qos",
		"{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"resources\":{"
		"\"limits\":{\"cpu\":\"1\"}}}]}}",
		NULL, 0, "metadata", INVALID,
		"Invalid value: \"BestEffort\": Pod QoS is immutable");
	refused(t, NS "pods/qos",
		"{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"resources\":{"
		"\"limits\":{\"cpu\":\"1\"}}}]}}",
		NULL, 1, "spec", FORBIDDEN, POD_MSG);
}

/* validateOnlyDeletedSchedulingGates, and validateNodeSelectorMutation for a gated pod */
static void test_pod_gated(void **state)
{
	struct tsrv *t = *state;
	const char *p = NS "pods/gated";

	ok_create(t, NS "pods",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"gated\"},"
		  "\"spec\":{\"schedulingGates\":[{\"name\":\"g\"}],\"nodeSelector\":{\"a\":"
		  "\"b\"},\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
	refused(t, p, "{\"spec\":{\"schedulingGates\":[{\"name\":\"g\"},{\"name\":\"h\"}]}}",
		"Pod \"gated\"", 0, "spec.schedulingGates[1].name", FORBIDDEN,
		"Forbidden: only deletion is allowed, but found new scheduling gate 'h'");
	ok_patch(t, p, "{\"spec\":{\"nodeSelector\":{\"c\":\"d\"}}}");
	refused(t, p, "{\"spec\":{\"nodeSelector\":{\"a\":\"x\"}}}", "Pod \"gated\"", 0,
		"spec.nodeSelector", INVALID,
		"Invalid value: map[string]string{\"a\":\"x\", \"c\":\"d\"}: only additions to "
		"spec.nodeSelector are allowed (no mutations or deletions)");
	ok_patch(t, p, "{\"spec\":{\"schedulingGates\":null}}");
	/* no longer gated: the nodeSelector stays */
	refused(t, p, "{\"spec\":{\"nodeSelector\":{\"e\":\"f\"}}}", "Pod \"gated\"", 0, "spec",
		FORBIDDEN, POD_MSG);
}

/* ---- Jobs and apps/v1 ---- */

#define JOB(name, extra)                                                                         \
	"{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"" name "\"},"    \
	"\"spec\":{" extra "\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":" \
	"[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}"

/* ValidateJobSpecUpdate: validateCompletions, validatePodTemplateUpdate (with the strategy's
 * AllowMutableSchedulingDirectives for a suspended job that never started) */
static void test_job(void **state)
{
	struct tsrv *t = *state;

	ok_create(t, "/apis/batch/v1/namespaces/default/jobs", JOB("jb", "\"completions\":2,"));
	refused(t, "/apis/batch/v1/namespaces/default/jobs/jb",
		"{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
		"\"image\":\"busybox:2\"}]}}}}",
		"Job.batch \"jb\"", 0, "spec.template", INVALID,
		"Invalid value: core.PodTemplateSpec{...}: field is immutable");
	refused(t, "/apis/batch/v1/namespaces/default/jobs/jb", "{\"spec\":{\"completions\":3}}",
		"Job.batch \"jb\"", 0, "spec.completions", INVALID,
		"Invalid value: 3: field is immutable");
	/* suspended and never started: scheduling directives and template labels may change */
	ok_create(t, "/apis/batch/v1/namespaces/default/jobs", JOB("js", "\"suspend\":true,"));
	ok_patch(t, "/apis/batch/v1/namespaces/default/jobs/js",
		 "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"a\":\"b\"}},"
		 "\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"}}}}}");
	refused(t, "/apis/batch/v1/namespaces/default/jobs/js",
		"{\"spec\":{\"template\":{\"spec\":{\"hostname\":\"h\"}}}}", "Job.batch \"js\"", 0,
		"spec.template", INVALID,
		"Invalid value: core.PodTemplateSpec{...}: field is immutable");
	/* the selector stays (a manual one here), reported before the template */
	ok_create(t, "/apis/batch/v1/namespaces/default/jobs",
		  "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"jm\"},"
		  "\"spec\":{\"manualSelector\":true,\"selector\":{\"matchLabels\":{\"x\":\"y\"}},"
		  "\"template\":{\"metadata\":{\"labels\":{\"x\":\"y\"}},\"spec\":{"
		  "\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":"
		  "\"busybox\"}]}}}}");
	refused(t, "/apis/batch/v1/namespaces/default/jobs/jm",
		"{\"spec\":{\"selector\":{\"matchLabels\":{\"x\":\"z\"}},\"template\":{"
		"\"metadata\":{\"labels\":{\"x\":\"z\"}}}}}",
		NULL, 0, "spec.selector", INVALID,
		"Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"x\":\"z\"}, "
		"MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
	/* an Indexed job's completions change with its parallelism (ElasticIndexedJob) */
	ok_create(t, "/apis/batch/v1/namespaces/default/jobs",
		  JOB("ji", "\"completionMode\":\"Indexed\",\"completions\":2,\"parallelism\":2,"));
	ok_patch(t, "/apis/batch/v1/namespaces/default/jobs/ji",
		 "{\"spec\":{\"completions\":3,\"parallelism\":3}}");
	refused(t, "/apis/batch/v1/namespaces/default/jobs/ji", "{\"spec\":{\"completions\":4}}",
		"Job.batch \"ji\"", 0, "spec.completions", INVALID,
		"Invalid value: 4: can only be modified in tandem with spec.parallelism");
}

/* deploymentStrategy.ValidateUpdate: ValidateImmutableField(Spec.Selector) for apps/v1,
 * the value as field.Invalid prints a LabelSelector (%#v) */
static void test_deployment_selector(void **state)
{
	struct tsrv *t = *state;

	ok_create(t, "/apis/apps/v1/namespaces/default/deployments",
		  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
		  "\"ds\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"x\"}},\"template\":"
		  "{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":"
		  "\"c\",\"image\":\"nginx\"}]}}}}");
	refused(t, "/apis/apps/v1/namespaces/default/deployments/ds",
		"{\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"y\",\"a\":\"1\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"y\",\"a\":\"1\"}}}}}",
		"Deployment.apps \"ds\"", 0, "spec.selector", INVALID,
		"Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"1\", "
		"\"app\":\"y\"}, "
		"MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
}

/* ValidateStatefulSetUpdate (1.32: revisionHistoryLimit is not yet mutable) */
static void test_statefulset(void **state)
{
	struct tsrv *t = *state;
	const char *s = "/apis/apps/v1/namespaces/default/statefulsets/ss";
	const char *msg = "Forbidden: updates to statefulset spec for fields other than "
			  "'replicas', 'ordinals', 'template', 'updateStrategy', "
			  "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
			  "forbidden";

	ok_create(t, "/apis/apps/v1/namespaces/default/statefulsets",
		  "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":"
		  "\"ss\"},\"spec\":{\"serviceName\":\"ss\",\"selector\":{\"matchLabels\":{\"app\":"
		  "\"s\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"s\"}},\"spec\":{"
		  "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}");
	ok_patch(t, s,
		 "{\"spec\":{\"replicas\":3,\"minReadySeconds\":5,\"template\":{\"spec\":{"
		 "\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}},\"updateStrategy\":{"
		 "\"type\":\"OnDelete\"},\"persistentVolumeClaimRetentionPolicy\":{\"whenDeleted\":"
		 "\"Delete\"},\"ordinals\":{\"start\":1}}}");
	refused(t, s, "{\"spec\":{\"serviceName\":\"other\"}}", "StatefulSet.apps \"ss\"", 0,
		"spec", FORBIDDEN, msg);
	refused(t, s, "{\"spec\":{\"revisionHistoryLimit\":3}}", "StatefulSet.apps \"ss\"", 0,
		"spec", FORBIDDEN, msg);
	/* the selector is this rule's, with no cause of its own */
	refused(t, s,
		"{\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"t\"}},\"template\":{"
		"\"metadata\":{\"labels\":{\"app\":\"t\"}}}}}",
		"StatefulSet.apps \"ss\"", 0, "spec", FORBIDDEN, msg);
}

/* ---- PersistentVolumeClaims ---- */

/* ValidatePersistentVolumeClaimUpdate */
static void test_pvc(void **state)
{
	struct tsrv *t = *state;
	const char *c = NS "persistentvolumeclaims/pc";
	const char *msg = "Forbidden: spec is immutable after creation except resources.requests "
			  "and volumeAttributesClassName for bound claims";

	ok_create(t, NS "persistentvolumeclaims",
		  "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{"
		  "\"name\":\"pc\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
		  "\"requests\":{\"storage\":\"1Gi\"}}}}");
	/* an unbound claim's request stays; its volumeName may be set once */
	refused(t, c, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}",
		"PersistentVolumeClaim \"pc\"", 0, "spec", FORBIDDEN, msg);
	ok_patch(t, c, "{\"spec\":{\"volumeName\":\"pv1\"}}");
	refused(t, c, "{\"spec\":{\"volumeName\":\"pv2\"}}", "PersistentVolumeClaim \"pc\"", 0,
		"spec", FORBIDDEN, msg);
	refused(t, c, "{\"spec\":{\"accessModes\":[\"ReadWriteMany\"]}}",
		"PersistentVolumeClaim \"pc\"", 0, "spec", FORBIDDEN, msg);
	/* bound: the request grows; it may not go below status.capacity */
	ok_patch(t, NS "persistentvolumeclaims/pc/status",
		 "{\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"1Gi\"}}}");
	ok_patch(t, c, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}");
	refused(t, c, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}",
		"PersistentVolumeClaim \"pc\"", 0, "spec.resources.requests.storage", FORBIDDEN,
		"Forbidden: field can not be less than status.capacity");
	/* the beta storage-class annotation stays (ValidateImmutableAnnotation) */
	refused(t, c,
		"{\"metadata\":{\"annotations\":{\"volume.beta.kubernetes.io/storage-class\":"
		"\"fast\"}}}",
		"PersistentVolumeClaim \"pc\"", 0,
		"metadata.annotations.volume.beta.kubernetes.io/storage-class", INVALID,
		"Invalid value: \"fast\": field is immutable");
	/* a claim with no class may take one (RetroactiveDefaultStorageClass) */
	ok_patch(t, c, "{\"spec\":{\"storageClassName\":\"std\"}}");
	refused(t, c, "{\"spec\":{\"storageClassName\":\"other\"}}", "PersistentVolumeClaim \"pc\"",
		0, "spec", FORBIDDEN, msg);
	/* the annotation's class may become storageClassName, no other */
	ok_create(t, NS "persistentvolumeclaims",
		  "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{"
		  "\"name\":\"pa\",\"annotations\":{\"volume.beta.kubernetes.io/storage-class\":"
		  "\"fast\"}},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
		  "\"requests\":{\"storage\":\"1Gi\"}}}}");
	refused(t, NS "persistentvolumeclaims/pa", "{\"spec\":{\"storageClassName\":\"slow\"}}",
		"PersistentVolumeClaim \"pa\"", 0, "spec", FORBIDDEN, msg);
	ok_patch(t, NS "persistentvolumeclaims/pa", "{\"spec\":{\"storageClassName\":\"fast\"}}");
	/* volumeMode: the spec rule and ValidateImmutableField (its path has no "spec.") */
	refused(t, c, "{\"spec\":{\"volumeMode\":\"Block\"}}", NULL, 0, "spec", FORBIDDEN, msg);
	refused(t, c, "{\"spec\":{\"volumeMode\":\"Block\"}}", NULL, 1, "volumeMode", INVALID,
		"Invalid value: \"Block\": field is immutable");
}

/* ---- RBAC ---- */

/* ValidateRoleBindingUpdate and ValidateClusterRoleBindingUpdate: the RoleRef printed as
 * %#v */
static void test_role_binding(void **state)
{
	struct tsrv *t = *state;
	const char *rb = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/rb";
	const char *crb = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/crb";

	ok_create(t, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
		  "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\","
		  "\"metadata\":{\"name\":\"rb\"},\"roleRef\":{\"apiGroup\":"
		  "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"view\"},"
		  "\"subjects\":[{\"kind\":\"User\",\"name\":\"u\"}]}");
	ok_patch(t, rb, "{\"subjects\":[{\"kind\":\"User\",\"name\":\"v\"}]}");
	refused(t, rb, "{\"roleRef\":{\"name\":\"edit\"}}",
		"RoleBinding.rbac.authorization.k8s.io \"rb\"", 0, "roleRef", INVALID,
		"Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", "
		"Kind:\"ClusterRole\", Name:\"edit\"}: cannot change roleRef");
	ok_create(
	    t, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
	    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
	    "\"metadata\":{\"name\":\"crb\"},\"roleRef\":{\"apiGroup\":"
	    "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"view\"},"
	    "\"subjects\":[{\"kind\":\"User\",\"name\":\"u\"}]}");
	/* ValidateClusterRoleBindingUpdate: ValidateClusterRoleBinding's causes first (a
	 * ClusterRoleBinding refers to a ClusterRole only), then the change */
	refused(t, crb, "{\"roleRef\":{\"kind\":\"Role\"}}", NULL, 0, "roleRef.kind",
		"FieldValueNotSupported",
		"Unsupported value: \"Role\": supported values: \"ClusterRole\"");
	refused(t, crb, "{\"roleRef\":{\"kind\":\"Role\"}}", NULL, 1, "roleRef", INVALID,
		"Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", "
		"Kind:\"Role\", Name:\"view\"}: cannot change roleRef");
}

/* ---- a JSON patch that does not apply ---- */

/* patch.go's applyJSPatch: patchObj.Apply's error becomes NewGenericServerResponse(422, ...),
 * reason Invalid, whose message is the generic one without the json-patch library's text:
 * kubectl prints "The request is invalid: the server rejected our request due to an error in
 * our request". */
static void json_patch_refused(struct tsrv *t, const char *path, const char *patch)
{
	struct tresp r;

	treq(t, "PATCH", path, JSONP, patch, NULL, &r);
	if (r.code != 422)
		fail_msg("PATCH %s %s: %ld, want 422: %s", path, patch, r.code, r.body);
	assert_string_equal(tstr(r.json, "reason"), "Invalid");
	assert_string_equal(tstr(r.json, "message"),
			    "the server rejected our request due to an error in our request");
	tresp_free(&r);
}

/* A path that is not there (replace, remove), a test that fails; the same through the scale
 * subresource. */
static void test_json_patch_not_applying(void **state)
{
	struct tsrv *t = *state;

	ok_create(t, NS "configmaps",
		  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		  "\"jp\"},\"data\":{\"a\":\"b\"}}");
	json_patch_refused(t, NS "configmaps/jp",
			   "[{\"op\":\"replace\",\"path\":\"/spec/nosuch/x\",\"value\":1}]");
	json_patch_refused(t, NS "configmaps/jp",
			   "[{\"op\":\"remove\",\"path\":\"/metadata/labels/nosuch\"}]");
	json_patch_refused(t, NS "configmaps/jp",
			   "[{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"c\"}]");
	ok_create(t, "/apis/apps/v1/namespaces/default/replicasets",
		  "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
		  "\"name\":\"jp\"},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{"
		  "\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},"
		  "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}");
	json_patch_refused(t, "/apis/apps/v1/namespaces/default/replicasets/jp/scale",
			   "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":5}]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_string_data),
	    cmocka_unit_test(test_secret_type),
	    cmocka_unit_test(test_configmap_immutable),
	    cmocka_unit_test(test_secret_immutable),
	    cmocka_unit_test(test_pod),
	    cmocka_unit_test(test_pod_qos),
	    cmocka_unit_test(test_pod_gated),
	    cmocka_unit_test(test_job),
	    cmocka_unit_test(test_deployment_selector),
	    cmocka_unit_test(test_statefulset),
	    cmocka_unit_test(test_pvc),
	    cmocka_unit_test(test_role_binding),
	    cmocka_unit_test(test_json_patch_not_applying),
	};

	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
