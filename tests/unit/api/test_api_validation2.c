/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_validation2: creates kube-apiserver 1.32 refuses with a 422 (reason Invalid) that
 * the schema alone lets through, one case per rule of pkg/apis/<group>/validation: each
 * cause's field, reason and message in Kubernetes' order, and the Status message
 * `<Kind>[.group] "<name>" is invalid: <field>: <message>` (several causes: `[a, b]`), never
 * "Invalid value: null". Each case names the Kubernetes function it follows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define NS   "/api/v1/namespaces/default/"
#define APPS "/apis/apps/v1/namespaces/default/"

#define INVALID	      "FieldValueInvalid"
#define REQUIRED      "FieldValueRequired"
#define FORBIDDEN     "FieldValueForbidden"
#define NOT_SUPPORTED "FieldValueNotSupported"
#define NOT_FOUND     "FieldValueNotFound"
#define DUPLICATE     "FieldValueDuplicate"
#define TOO_LONG      "FieldValueTooLong"

#define WILDCARD_MSG                                                                              \
	"a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, " \
	"which must consist of lower case alphanumeric characters, '-' or '.' and end with an "   \
	"alphanumeric character (e.g. '*.example.com', regex used for validation is "             \
	"'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

struct cause {
	const char *field, *reason, *message;
};

/* A pod of one container "c" (image "nginx") with more in its container (ct) and spec. */
#define POD(name, ct, spec)                                                                       \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name "\"},\"spec\":{" \
	"\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"" ct "}]" spec "}}"

/* POST body to coll: refused with exactly these causes, and the Status message of them. */
static void refused(struct tsrv *t, const char *coll, const char *body, const char *what, size_t n,
		    const struct cause *c)
{
	char p[64], want[8192];
	size_t at;
	struct tresp r;

	treq(t, "POST", coll, NULL, body, NULL, &r);
	if (r.code != 422)
		fail_msg("POST %s: %ld, want 422: %s", coll, r.code, r.body);
	assert_string_equal(tstr(r.json, "kind"), "Status");
	assert_string_equal(tstr(r.json, "reason"), "Invalid");
	if (jv_count(jv_path(r.json, "details.causes")) != n)
		fail_msg("POST %s: %zu causes, want %zu: %s", coll,
			 jv_count(jv_path(r.json, "details.causes")), n, r.body);
	at = (size_t)snprintf(want, sizeof(want), "%s is invalid: %s", what, n > 1 ? "[" : "");
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "details.causes[%zu].field", i);
		assert_string_equal(tstr(r.json, p), c[i].field);
		snprintf(p, sizeof(p), "details.causes[%zu].reason", i);
		assert_string_equal(tstr(r.json, p), c[i].reason);
		snprintf(p, sizeof(p), "details.causes[%zu].message", i);
		assert_string_equal(tstr(r.json, p), c[i].message);
		at += (size_t)snprintf(want + at, sizeof(want) - at, "%s%s: %s", i ? ", " : "",
				       c[i].field, c[i].message);
	}
	snprintf(want + at, sizeof(want) - at, "%s", n > 1 ? "]" : "");
	assert_string_equal(tstr(r.json, "message"), want);
	assert_null(strstr(r.body, "Invalid value: null"));
	tresp_free(&r);
}

/* ---- core: pods (pkg/apis/core/validation) ---- */

/* ValidateResourceRequirements: "must be less than or equal to cpu limit of 1", the
 * request printed as Quantity.String() */
static void test_requests_exceed_limits(void **state)
{
	const struct cause c[] = {{"spec.containers[0].resources.requests", INVALID,
				   "Invalid value: \"1500m\": must be less than or equal to cpu "
				   "limit of 1"}};

	const struct cause ext[] = {{"spec.containers[0].resources.limits", REQUIRED,
				     "Required value: Limit must be set for non overcommitable "
				     "resources"}};
	const struct cause eq[] = {{"spec.containers[0].resources.requests", INVALID,
				    "Invalid value: \"1\": must be equal to example.com/gpu limit "
				    "of 2"}};

	/* an extended resource is not overcommitted (IsOvercommitAllowed): a limit, equal */
	refused(*state, NS "pods",
		POD("ext", ",\"resources\":{\"requests\":{\"example.com/gpu\":\"1\"}}", ""),
		"Pod \"ext\"", 1, ext);
	refused(*state, NS "pods",
		POD("eq",
		    ",\"resources\":{\"requests\":{\"example.com/gpu\":\"1\"},\"limits\":{"
		    "\"example.com/gpu\":\"2\"}}",
		    ""),
		"Pod \"eq\"", 1, eq);
	refused(*state, NS "pods",
		POD("req",
		    ",\"resources\":{\"requests\":{\"cpu\":\"1.5\"},\"limits\":{\"cpu\":"
		    "\"1\"}}",
		    ""),
		"Pod \"req\"", 1, c);
}

/* validateProbe -> validateHandler: exec counted first, httpGet refused */
static void test_probe_two_handlers(void **state)
{
	const struct cause c[] = {{"spec.containers[0].livenessProbe.httpGet", FORBIDDEN,
				   "Forbidden: may not specify more than 1 handler type"}};

	refused(*state, NS "pods",
		POD("probe",
		    ",\"livenessProbe\":{\"exec\":{\"command\":[\"true\"]},\"httpGet\":{\"port\":"
		    "80}}",
		    ""),
		"Pod \"probe\"", 1, c);
}

/* validateLivenessProbe/validateReadinessProbe/validateProbe: negative fields, the
 * successThreshold of a liveness probe, a readiness probe's terminationGracePeriodSeconds, an
 * exec without a command, a bad port name in httpGet, a port out of range in tcpSocket */
static void test_probe_fields(void **state)
{
	const struct cause c[] = {
	    {"spec.containers[0].livenessProbe.exec.command", REQUIRED, "Required value"},
	    {"spec.containers[0].livenessProbe.initialDelaySeconds", INVALID,
	     "Invalid value: -1: must be greater than or equal to 0"},
	    {"spec.containers[0].livenessProbe.successThreshold", INVALID,
	     "Invalid value: 2: must be 1"},
	    {"spec.containers[0].readinessProbe.httpGet.port", INVALID,
	     "Invalid value: \"web_port\": must contain only alpha-numeric characters (a-z, "
	     "0-9), and hyphens (-)"},
	    {"spec.containers[0].readinessProbe.terminationGracePeriodSeconds", INVALID,
	     "Invalid value: 5: must not be set for readinessProbes"},
	    {"spec.containers[0].startupProbe.tcpSocket.port", INVALID,
	     "Invalid value: 70000: must be between 1 and 65535, inclusive"},
	};

	refused(*state, NS "pods",
		POD("pf",
		    ",\"livenessProbe\":{\"exec\":{},\"initialDelaySeconds\":-1,"
		    "\"successThreshold\":2},\"readinessProbe\":{\"httpGet\":{\"port\":"
		    "\"web_port\"},\"terminationGracePeriodSeconds\":5},\"startupProbe\":{"
		    "\"tcpSocket\":{\"port\":70000}}",
		    ""),
		"Pod \"pf\"", 6, c);
}

/* validateLifecycle -> validateHandler (sleep within terminationGracePeriodSeconds, the
 * zero-sleep gate off in 1.32); a regular init container may have no lifecycle or probes;
 * restartPolicy only on init containers, Always only; an init container's name is unique
 * among the regular ones too */
static void test_lifecycle_and_init(void **state)
{
	const struct cause c[] = {
	    {"spec.containers[0].lifecycle.postStart", REQUIRED,
	     "Required value: must specify a handler type"},
	    {"spec.containers[0].lifecycle.preStop.sleep", INVALID,
	     "Invalid value: 40: must be greater than 0 and less than "
	     "terminationGracePeriodSeconds "
	     "(30). Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep."},
	};
	const struct cause i[] = {
	    {"spec.containers[0].restartPolicy", FORBIDDEN,
	     "Forbidden: may not be set for non-init containers"},
	    {"spec.initContainers[0].name", DUPLICATE, "Duplicate value: \"c\""},
	    {"spec.initContainers[0].lifecycle", FORBIDDEN,
	     "Forbidden: may not be set for init containers without restartPolicy=Always"},
	    {"spec.initContainers[0].readinessProbe", FORBIDDEN,
	     "Forbidden: may not be set for init containers without restartPolicy=Always"},
	    {"spec.initContainers[1].restartPolicy", NOT_SUPPORTED,
	     "Unsupported value: \"Never\": supported values: \"Always\""},
	    {"spec.initContainers[2].livenessProbe.successThreshold", INVALID,
	     "Invalid value: 3: must be 1"},
	};

	refused(*state, NS "pods",
		POD("lc",
		    ",\"lifecycle\":{\"postStart\":{},\"preStop\":{\"sleep\":{\"seconds\":40}}}",
		    ""),
		"Pod \"lc\"", 2, c);
	refused(*state, NS "pods",
		POD("ini", ",\"restartPolicy\":\"Always\"",
		    ",\"initContainers\":[{\"name\":\"c\",\"image\":\"busybox\",\"lifecycle\":{"
		    "\"preStop\":{\"exec\":{\"command\":[\"true\"]}}},\"readinessProbe\":{"
		    "\"exec\":{\"command\":[\"true\"]}}},{\"name\":\"i1\",\"image\":\"busybox\","
		    "\"restartPolicy\":\"Never\"},{\"name\":\"side\",\"image\":\"busybox\","
		    "\"restartPolicy\":\"Always\",\"livenessProbe\":{\"exec\":{\"command\":["
		    "\"true\"]},\"successThreshold\":3}}]"),
		"Pod \"ini\"", 6, i);
}

/* validateContainerPorts (IsValidPortName, unique names, containerPort required, protocol)
 * and ValidateVolumes' names (DNS-1123 label, unique; a mount of an invalid one not found) */
static void test_container_ports_and_volume_names(void **state)
{
	const struct cause c[] = {
	    {"spec.containers[0].ports[0].name", INVALID,
	     "Invalid value: \"a-very-long-port-name\": must be no more than 15 characters"},
	    {"spec.containers[0].ports[1].name", INVALID,
	     "Invalid value: \"80\": must contain at least one letter (a-z)"},
	    {"spec.containers[0].ports[1].containerPort", REQUIRED, "Required value"},
	    {"spec.containers[0].ports[3].name", DUPLICATE, "Duplicate value: \"http\""},
	    {"spec.containers[0].ports[3].protocol", NOT_SUPPORTED,
	     "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
	};
	const struct cause v[] = {
	    {"spec.volumes[0].name", INVALID,
	     "Invalid value: \"Data\": a lowercase RFC 1123 label must consist of lower case "
	     "alphanumeric characters or '-', and must start and end with an alphanumeric "
	     "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
	     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"},
	    {"spec.volumes[2].name", DUPLICATE, "Duplicate value: \"d\""},
	};

	refused(*state, NS "pods",
		POD("ports",
		    ",\"ports\":[{\"name\":\"a-very-long-port-name\",\"containerPort\":80},{"
		    "\"name\":\"80\"},{\"name\":\"http\",\"containerPort\":81},{\"name\":"
		    "\"http\",\"containerPort\":82,\"protocol\":\"ICMP\"}]",
		    ""),
		"Pod \"ports\"", 5, c);
	refused(*state, NS "pods",
		POD("vols", "",
		    ",\"volumes\":[{\"name\":\"Data\",\"emptyDir\":{}},{\"name\":\"d\","
		    "\"emptyDir\":{}},{\"name\":\"d\",\"emptyDir\":{}}]"),
		"Pod \"vols\"", 2, v);
}

/* validateServicePort: name a DNS-1123 label, then port, then targetPort (ValidatePortNumOrName) */
static void test_service_port_names(void **state)
{
	const struct cause c[] = {
	    {"spec.ports[0].name", INVALID,
	     "Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case "
	     "alphanumeric characters or '-', and must start and end with an alphanumeric "
	     "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
	     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"},
	    {"spec.ports[1].targetPort", INVALID,
	     "Invalid value: \"-metrics\": must not begin or end with a hyphen"},
	    {"spec.ports[2].targetPort", INVALID,
	     "Invalid value: 99999: must be between 1 and 65535, inclusive"},
	};

	refused(
	    *state, NS "services",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"sp\"},"
	    "\"spec\":{\"selector\":{\"app\":\"x\"},\"ports\":[{\"name\":\"Web\",\"port\":80},"
	    "{\"name\":\"m\",\"port\":81,\"targetPort\":\"-metrics\"},{\"name\":\"n\","
	    "\"port\":82,\"targetPort\":99999},{\"name\":\"z\",\"port\":83,\"targetPort\":0}]}}",
	    "Service \"sp\"", 3, c);
}

/* validateVolumeSource: emptyDir counted first, configMap refused */
static void test_volume_two_sources(void **state)
{
	const struct cause c[] = {{"spec.volumes[0].configMap", FORBIDDEN,
				   "Forbidden: may not specify more than 1 volume type"}};

	refused(*state, NS "pods",
		POD("vol", "",
		    ",\"volumes\":[{\"name\":\"v\",\"emptyDir\":{},\"configMap\":{\"name\":"
		    "\"cm\"}}]"),
		"Pod \"vol\"", 1, c);
}

/* ValidateVolumeMounts: field.NotFound of the mount's name */
static void test_mount_undeclared_volume(void **state)
{
	const struct cause c[] = {
	    {"spec.containers[0].volumeMounts[0].name", NOT_FOUND, "Not found: \"data\""}};

	refused(*state, NS "pods",
		POD("mnt", ",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/d\"}]",
		    ",\"volumes\":[{\"name\":\"other\",\"emptyDir\":{}}]"),
		"Pod \"mnt\"", 1, c);
}

/* ValidateEnv: an empty name is Required; IsRelaxedEnvVarName (RelaxedEnvironmentVariable-
 * Validation, beta and on in 1.32) refuses '=' ("1ST" is fine there) */
static void test_env_names(void **state)
{
	const struct cause c[] = {
	    {"spec.containers[0].env[0].name", REQUIRED, "Required value"},
	    {"spec.containers[0].env[2].name", INVALID,
	     "Invalid value: \"A=B\": a valid environment variable name must consist only of "
	     "printable ASCII characters other than '='"}};

	refused(*state, NS "pods",
		POD("env",
		    ",\"env\":[{\"name\":\"\",\"value\":\"x\"},{\"name\":\"1ST\",\"value\":\"y\"},"
		    "{\"name\":\"A=B\",\"value\":\"z\"}]",
		    ""),
		"Pod \"env\"", 2, c);
	/* a name left out is one Required cause, not the schema's and validateEnv's both */
	refused(*state, NS "pods", POD("env2", ",\"env\":[{\"value\":\"x\"}]", ""), "Pod \"env2\"",
		1, c);
}

/* ---- Service ports: ValidateService's duplicate (protocol, port) after the names ---- */

static void test_service_duplicate_ports(void **state)
{
	const struct cause c[] = {
	    {"spec.ports[0].name", REQUIRED, "Required value"},
	    {"spec.ports[1].name", REQUIRED, "Required value"},
	    {"spec.ports[1]", DUPLICATE,
	     "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", "
	     "AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, "
	     "StrVal:\"\"}, NodePort:0}"}};

	refused(
	    *state, NS "services",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"dup\"},"
	    "\"spec\":{\"selector\":{\"app\":\"x\"},\"ports\":[{\"port\":80,\"targetPort\":8080},"
	    "{\"port\":80,\"targetPort\":9090}]}}",
	    "Service \"dup\"", 3, c);
}

/* ---- ConfigMap and Secret size (ValidateConfigMap, ValidateSecret: MaxSecretSize) ---- */

static char *big_object(const char *head, size_t n, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *b = malloc(hl + n + tl + 1);

	assert_non_null(b);
	memcpy(b, head, hl);
	memset(b + hl, 'A', n);
	memcpy(b + hl + n, tail, tl + 1);
	return b;
}

static void test_configmap_secret_size(void **state)
{
	/* the ConfigMap's cause is field.TooLong(field.NewPath(""), ...): the whole object,
	 * whose path prints as "[]" */
	const struct cause cm[] = {{"[]", TOO_LONG, "Too long: must have at most 1048576 bytes"}};
	const struct cause sec[] = {
	    {"data", TOO_LONG, "Too long: must have at most 1048576 bytes"}};
	char *b = big_object("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			     "\"big\"},\"data\":{\"a\":\"x\",\"b\":\"",
			     1024 * 1024, "\"}}");
	struct tresp r;

	refused(*state, NS "configmaps", b, "ConfigMap \"big\"", 1, cm);
	free(b);
	/* exactly the limit is fine */
	b = big_object("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		       "\"edge\"},\"data\":{\"b\":\"",
		       1024 * 1024, "\"}}");
	tpost(*state, NS "configmaps", b, 201, &r);
	tresp_free(&r);
	free(b);
	/* a Secret's data counts decoded: 1398104 base64 characters are 1048578 bytes */
	b = big_object("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":"
		       "\"big\"},\"data\":{\"a\":\"",
		       1398104, "\"}}");
	refused(*state, NS "secrets", b, "Secret \"big\"", 1, sec);
	free(b);
	b = big_object("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":"
		       "\"edge\"},\"data\":{\"a\":\"",
		       1398100, "\"}}");
	tpost(*state, NS "secrets", b, 201, &r);
	tresp_free(&r);
	free(b);
}

/* ---- ResourceQuota: ValidateResourceQuotaResourceName ---- */

static void test_quota_resource_name(void **state)
{
	const struct cause c[] = {
	    {"spec.hard[bogus]", INVALID,
	     "Invalid value: \"bogus\": must be a standard resource for quota"}};

	refused(*state, NS "resourcequotas",
		"{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"q\"},"
		"\"spec\":{\"hard\":{\"pods\":\"10\",\"requests.nvidia.com/gpu\":\"1\","
		"\"count/deployments.apps\":\"2\",\"bogus\":\"1\"}}}",
		"ResourceQuota \"q\"", 1, c);
}

/* ---- batch ---- */

/* validateJobSpec: Always (what SetDefaults_PodSpec gives a template without one) is
 * Required's "valid values" */
static void test_job_restart_policy(void **state)
{
	const struct cause c[] = {{"spec.template.spec.restartPolicy", REQUIRED,
				   "Required value: valid values: \"OnFailure\", \"Never\""}};
	const struct cause cj[] = {{"spec.jobTemplate.spec.template.spec.restartPolicy", REQUIRED,
				    "Required value: valid values: \"OnFailure\", \"Never\""}};

	refused(*state, "/apis/batch/v1/namespaces/default/jobs",
		"{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\"},"
		"\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Always\",\"containers\":[{"
		"\"name\":\"c\",\"image\":\"busybox\"}]}}}}",
		"Job.batch \"j\"", 1, c);
	/* ValidateCronJobSpec -> ValidateJobTemplateSpec: the same rule under jobTemplate */
	refused(*state, "/apis/batch/v1/namespaces/default/cronjobs",
		"{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"cj\"},"
		"\"spec\":{\"schedule\":\"*/5 * * * *\",\"jobTemplate\":{\"spec\":{\"template\":{"
		"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}}}",
		"CronJob.batch \"cj\"", 1, cj);
}

/* ---- apps ---- */

/* ValidateDeploymentStrategy */
static void test_deployment_recreate_rolling_update(void **state)
{
	const struct cause c[] = {
	    {"spec.strategy.rollingUpdate", FORBIDDEN,
	     "Forbidden: may not be specified when strategy `type` is 'Recreate'"}};

	refused(*state, APPS "deployments",
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},"
		"\"spec\":{\"strategy\":{\"type\":\"Recreate\",\"rollingUpdate\":{\"maxSurge\":1}},"
		"\"selector\":{\"matchLabels\":{\"app\":\"d\"}},\"template\":{\"metadata\":{"
		"\"labels\":{\"app\":\"d\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
		"\"nginx\"}]}}}}",
		"Deployment.apps \"d\"", 1, c);
}

/* ValidatePodTemplateSpec inside templates: the pod rules under the template's path */
static void test_template_pod_rules(void **state)
{
	const struct cause c[] = {
	    {"spec.template.spec.containers[0].volumeMounts[0].name", NOT_FOUND,
	     "Not found: \"data\""},
	    {"spec.template.spec.containers[0].resources.requests", INVALID,
	     "Invalid value: \"2Gi\": must be less than or equal to memory limit of 1Gi"}};

	refused(*state, APPS "daemonsets",
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"ds\"},"
		"\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"ds\"}},\"template\":{"
		"\"metadata\":{\"labels\":{\"app\":\"ds\"}},\"spec\":{\"containers\":[{\"name\":"
		"\"c\",\"image\":\"nginx\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":"
		"\"/d\"}],\"resources\":{\"requests\":{\"memory\":\"2Gi\"},\"limits\":{\"memory\":"
		"\"1Gi\"}}}]}}}}",
		"DaemonSet.apps \"ds\"", 2, c);
}

/* ValidatePodTemplateSpecForStatefulSet leaves the pod spec out: a mount of a
 * volumeClaimTemplate is accepted */
static void test_statefulset_claim_mount(void **state)
{
	struct tresp r;

	tpost(*state, APPS "statefulsets",
	      "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"s\"},"
	      "\"spec\":{\"serviceName\":\"s\",\"selector\":{\"matchLabels\":{\"app\":\"s\"}},"
	      "\"template\":{\"metadata\":{\"labels\":{\"app\":\"s\"}},\"spec\":{\"containers\":[{"
	      "\"name\":\"c\",\"image\":\"nginx\",\"volumeMounts\":[{\"name\":\"www\","
	      "\"mountPath\":\"/w\"}]}]}},\"volumeClaimTemplates\":[{\"metadata\":{\"name\":"
	      "\"www\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":"
	      "{\"storage\":\"1Gi\"}}}}]}}",
	      201, &r);
	tresp_free(&r);
}

/* ---- networking ---- */

/* ValidateIPBlock: IsValidCIDR's message */
static void test_netpol_cidr(void **state)
{
	const struct cause c[] = {{"spec.ingress[0].from[1].ipBlock.cidr", INVALID,
				   "Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, "
				   "(e.g. 10.9.8.0/24 or 2001:db8::/64)"},
				  {"spec.egress[0].to[0].ipBlock.except[0]", INVALID,
				   "Invalid value: \"10.1.0.0/16\": must be a strict subset of "
				   "`cidr`"}};

	refused(
	    *state, "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
	    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"
	    "\"name\":\"np\"},\"spec\":{\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":"
	    "{\"cidr\":\"10.0.0.0/8\"}},{\"ipBlock\":{\"cidr\":\"10.0.0.0/33\"}}]}],\"egress\":["
	    "{\"to\":[{\"ipBlock\":{\"cidr\":\"10.1.0.0/16\",\"except\":[\"10.1.0.0/16\"]}}]}]}}",
	    "NetworkPolicy.networking.k8s.io \"np\"", 2, c);
}

/* validateIngressRules (IsDNS1123Subdomain of the host) and validateHTTPIngressPath */
static void test_ingress_host_path(void **state)
{
	const struct cause c[] = {
	    {"spec.rules[0].host", INVALID,
	     "Invalid value: \"Bad_Host\": a lowercase RFC 1123 subdomain must consist of lower "
	     "case alphanumeric characters, '-' or '.', and must start and end with an "
	     "alphanumeric character (e.g. 'example.com', regex used for validation is "
	     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
	    {"spec.rules[0].http.paths[0].path", INVALID,
	     "Invalid value: \"nope\": must be an absolute path"},
	    {"spec.rules[0].http.paths[1].path", INVALID,
	     "Invalid value: \"/a//b\": must not contain '//'"}};

	refused(*state, "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
		"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{"
		"\"name\":\"ing\"},\"spec\":{\"rules\":[{\"host\":\"Bad_Host\",\"http\":{\"paths\":"
		"[{\"path\":\"nope\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":"
		"\"s\",\"port\":{\"number\":80}}}},{\"path\":\"/a//b\",\"pathType\":\"Exact\","
		"\"backend\":{\"service\":{\"name\":\"s\",\"port\":{\"number\":80}}}}]}},{\"host\":"
		"\"*.example.com\",\"http\":{\"paths\":[{\"path\":\"any\",\"pathType\":"
		"\"ImplementationSpecific\",\"backend\":{\"service\":{\"name\":\"s\",\"port\":{"
		"\"number\":80}}}}]}}]}}",
		"Ingress.networking.k8s.io \"ing\"", 4,
		(const struct cause[]){c[0],
				       c[1],
				       c[2],
				       {"spec.rules[1].http.paths[0].path", INVALID,
					"Invalid value: \"any\": must be an absolute path"}});
	/* IsWildcardDNS1123Subdomain: '*' only as the whole first label */
	refused(*state, "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
		"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{"
		"\"name\":\"wild\"},\"spec\":{\"rules\":[{\"host\":\"foo.*.example.com\"},{"
		"\"host\":\"*.Example.com\"},{\"host\":\"*.example.com\"}]}}",
		"Ingress.networking.k8s.io \"wild\"", 2,
		(const struct cause[]){{"spec.rules[0].host", INVALID,
					"Invalid value: \"foo.*.example.com\": " WILDCARD_MSG},
				       {"spec.rules[1].host", INVALID,
					"Invalid value: \"*.Example.com\": " WILDCARD_MSG}});
}

/* ---- rbac: ValidateRoleBinding, ValidateRoleBindingSubject ---- */

static void test_rolebinding_kinds(void **state)
{
	const struct cause c[] = {
	    {"roleRef.kind", NOT_SUPPORTED,
	     "Unsupported value: \"Foo\": supported values: \"Role\", \"ClusterRole\""},
	    {"subjects[0].kind", NOT_SUPPORTED,
	     "Unsupported value: \"Bar\": supported values: \"ServiceAccount\", \"User\", "
	     "\"Group\""}};
	const struct cause crb[] = {
	    {"roleRef.kind", NOT_SUPPORTED,
	     "Unsupported value: \"Role\": supported values: \"ClusterRole\""},
	    {"subjects[0].namespace", REQUIRED, "Required value"}};

	refused(
	    *state, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
	    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\","
	    "\"metadata\":{\"name\":\"rb\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io"
	    "\",\"kind\":\"Foo\",\"name\":\"view\"},\"subjects\":[{\"kind\":\"Bar\",\"name\":"
	    "\"u\"}]}",
	    "RoleBinding.rbac.authorization.k8s.io \"rb\"", 2, c);
	/* ValidateClusterRoleBinding: a ClusterRole only, a service account's namespace */
	refused(*state, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
		"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
		"\"metadata\":{\"name\":\"crb\"},\"roleRef\":{\"apiGroup\":"
		"\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"view\"},\"subjects\":[{"
		"\"kind\":\"ServiceAccount\",\"name\":\"default\"}]}",
		"ClusterRoleBinding.rbac.authorization.k8s.io \"crb\"", 2, crb);
}

/* ---- policy: ValidatePodDisruptionBudgetSpec, the spec as %#v (addresses are
 * placeholders: Kubernetes prints heap addresses) ---- */

static void test_pdb_min_and_max(void **state)
{
	const struct cause c[] = {
	    {"spec", INVALID,
	     "Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)("
	     "0xc000010000), Selector:(*v1.LabelSelector)(0xc000010020), MaxUnavailable:"
	     "(*intstr.IntOrString)(0xc000010040), UnhealthyPodEvictionPolicy:"
	     "(*policy.UnhealthyPodEvictionPolicyType)(nil)}: minAvailable and maxUnavailable "
	     "cannot be both set"}};

	refused(*state, "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
		"{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{"
		"\"name\":\"pdb\"},\"spec\":{\"minAvailable\":1,\"maxUnavailable\":1,\"selector\":{"
		"\"matchLabels\":{\"app\":\"x\"}}}}",
		"PodDisruptionBudget.policy \"pdb\"", 1, c);
}

/* ---- autoscaling: validateHorizontalPodAutoscalerSpec ---- */

static void test_hpa_min_max(void **state)
{
	const struct cause c[] = {{"spec.maxReplicas", INVALID,
				   "Invalid value: 2: must be greater than or equal to "
				   "`minReplicas`"}};

	refused(*state, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
		"{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
		"\"metadata\":{\"name\":\"hpa\"},\"spec\":{\"scaleTargetRef\":{\"apiVersion\":"
		"\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"},\"minReplicas\":5,"
		"\"maxReplicas\":2}}",
		"HorizontalPodAutoscaler.autoscaling \"hpa\"", 1, c);
}

/* ValidateEndpointSlice: addresses by addressType (IsValidIPv4Address, then ValidateNonSpecialIP,
 * IsFullyQualifiedDomainName), hostname, ports (names, duplicates, protocol), address type;
 * the update keeps addressType */
static void test_endpointslice(void **state)
{
	struct tsrv *t = *state;
	const struct cause c[] = {
	    {"endpoints[0].addresses[0]", INVALID,
	     "Invalid value: \"10.0.0.300\": must be a valid IPv4 address"},
	    {"endpoints[0].addresses[0]", INVALID,
	     "Invalid value: \"10.0.0.300\": must be a valid IP address"},
	    {"endpoints[0].addresses[1]", INVALID,
	     "Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, "
	     "fe80::/10)"},
	    {"endpoints[0].addresses[2]", INVALID,
	     "Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)"},
	    {"endpoints[1].addresses", REQUIRED, "Required value: must contain at least 1 address"},
	    {"endpoints[1].hostname", INVALID,
	     "Invalid value: \"Web_1\": a lowercase RFC 1123 label must consist of lower case "
	     "alphanumeric characters or '-', and must start and end with an alphanumeric "
	     "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
	     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"},
	    {"ports[1].name", DUPLICATE, "Duplicate value: \"http\""},
	    {"ports[1].protocol", NOT_SUPPORTED,
	     "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
	};
	const struct cause fq[] = {
	    {"endpoints[0].addresses[0]", INVALID,
	     "Invalid value: \"localhost\": should be a domain with at least two segments "
	     "separated by dots"},
	};
	const struct cause at[] = {
	    {"addressType", NOT_SUPPORTED,
	     "Unsupported value: \"IP\": supported values: \"FQDN\", \"IPv4\", "
	     "\"IPv6\""}};
	const struct cause imm[] = {
	    {"addressType", INVALID, "Invalid value: \"FQDN\": field is immutable"}};
	struct tresp r;

	refused(t, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
		"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
		"\"name\":\"es\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":["
		"\"10.0.0.300\",\"169.254.1.1\",\"0.0.0.0\",\"10.0.0.1\"]},{\"addresses\":[],"
		"\"hostname\":\"Web_1\"}],\"ports\":[{\"name\":\"http\",\"port\":80},{\"name\":"
		"\"http\",\"port\":81,\"protocol\":\"HTTP\"}]}",
		"EndpointSlice.discovery.k8s.io \"es\"", 8, c);
	refused(t, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
		"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
		"\"name\":\"fq\"},\"addressType\":\"FQDN\",\"endpoints\":[{\"addresses\":["
		"\"localhost\"]}]}",
		"EndpointSlice.discovery.k8s.io \"fq\"", 1, fq);
	/* the deprecated "IP" type: kept on update only */
	refused(t, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
		"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
		"\"name\":\"ip\"},\"addressType\":\"IP\",\"endpoints\":[]}",
		"EndpointSlice.discovery.k8s.io \"ip\"", 1, at);
	/* valid: a loopback backend too (drover's one divergence, see api_validate_endpointslice) */
	treq(
	    t, "POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", NULL,
	    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
	    "\"name\":\"ok\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.1.2.3\","
	    "\"127.0.0.1\"],\"hostname\":\"web-0\"}],\"ports\":[{\"name\":\"http\",\"port\":80}]}",
	    NULL, &r);
	assert_int_equal(r.code, 201);
	tresp_free(&r);
	treq(t, "PATCH", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/ok",
	     "application/merge-patch+json", "{\"addressType\":\"FQDN\",\"endpoints\":[]}", NULL,
	     &r);
	if (r.code != 422)
		fail_msg("PATCH addressType: %ld: %s", r.code, r.body);
	assert_int_equal(jv_count(jv_path(r.json, "details.causes")), 1);
	assert_string_equal(tstr(r.json, "details.causes[0].field"), imm[0].field);
	assert_string_equal(tstr(r.json, "details.causes[0].message"), imm[0].message);
	tresp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_requests_exceed_limits),
	    cmocka_unit_test(test_probe_two_handlers),
	    cmocka_unit_test(test_probe_fields),
	    cmocka_unit_test(test_lifecycle_and_init),
	    cmocka_unit_test(test_container_ports_and_volume_names),
	    cmocka_unit_test(test_service_port_names),
	    cmocka_unit_test(test_volume_two_sources),
	    cmocka_unit_test(test_mount_undeclared_volume),
	    cmocka_unit_test(test_env_names),
	    cmocka_unit_test(test_service_duplicate_ports),
	    cmocka_unit_test(test_configmap_secret_size),
	    cmocka_unit_test(test_quota_resource_name),
	    cmocka_unit_test(test_job_restart_policy),
	    cmocka_unit_test(test_deployment_recreate_rolling_update),
	    cmocka_unit_test(test_template_pod_rules),
	    cmocka_unit_test(test_statefulset_claim_mount),
	    cmocka_unit_test(test_netpol_cidr),
	    cmocka_unit_test(test_ingress_host_path),
	    cmocka_unit_test(test_rolebinding_kinds),
	    cmocka_unit_test(test_pdb_min_and_max),
	    cmocka_unit_test(test_hpa_min_max),
	    cmocka_unit_test(test_endpointslice),
	};

	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
