/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_podsecurity: the PodSecurity admission plugin over HTTP against an in-process
 * server: a table of pods, each created (dry run) in a namespace that enforces baseline and
 * one that enforces restricted, with the message k8s.io/pod-security-admission 1.32 gives
 * (admission.go EvaluatePod: `violates PodSecurity "<level>:<version>": ` and
 * checks.go AggregateCheckResults' "reason (detail), ..." in registry.go's order; each
 * detail as the check_*.go function named beside its case writes it); policy versions that
 * differ (v1.18: no restricted capabilities/seccomp checks, the baseline ones instead;
 * v1.28: fewer safe sysctls); warn (a Warning header on a created pod and on workload
 * templates; warn defaulting to the enforce level); namespace labels (PolicyToEvaluate's
 * 422, ValidateNamespace's warnings about existing pods); pod updates that change nothing
 * the checks read (isSignificantPodUpdate); and the plugin disabled.
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
#include "k8s_buf.h"

#define NSS "/api/v1/namespaces"

/* a container: name, then the rest of its object */
#define C(name, rest) "{\"name\":\"" name "\",\"image\":\"registry.k8s.io/pause:3.10\"" rest "}"
/* a container's securityContext that restricted accepts */
#define SC_OK                                                                                   \
	",\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[" \
	"\"ALL\"]}}"
/* the pod securityContext restricted accepts */
#define POD_OK                                                                     \
	"\"securityContext\":{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":" \
	"\"RuntimeDefault\"}},"

/* restricted's four findings for a plain container named n */
#define R4(n)                                                                             \
	"allowPrivilegeEscalation != false (container \"" n "\" must set "                \
	"securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "     \
	"(container \"" n "\" must set securityContext.capabilities.drop=[\"ALL\"]), "    \
	"runAsNonRoot != true (pod or container \"" n "\" must set "                      \
	"securityContext.runAsNonRoot=true), seccompProfile (pod or container \"" n "\" " \
	"must set securityContext.seccompProfile.type to \"RuntimeDefault\" or "          \
	"\"Localhost\")"

/* a compliant container with seLinuxOptions o */
#define SEL(n, o)                                                                          \
	C(n, ",\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{" \
	     "\"drop\":[\"ALL\"]},\"seLinuxOptions\":{" o "}}")
#define SEL_WANT                                                                                 \
	"seLinuxOptions (pod and containers \"e\", \"f\", \"g\" set forbidden "                  \
	"securityContext.seLinuxOptions: types \"bar\", \"foo\"; user may not be set; role may " \
	"not be set)"

struct pcase {
	const char *name; /* what it shows, and the check functions it follows */
	const char *meta; /* extra metadata members ("" or ",\"annotations\":{...}") */
	const char *spec; /* the spec's members */
	const char *baseline, *restricted; /* the detail after violates..., NULL: allowed */
};

static const struct pcase cases[] = {
    {"plain pod: restricted's allowPrivilegeEscalation_1_8, capabilitiesRestricted_1_22, "
     "runAsNonRoot_1_0, seccompProfileRestricted_1_19",
     "", "\"containers\":[" C("c", "") "]", NULL, R4("c")},
    {"compliant pod", "", POD_OK "\"containers\":[" C("c", SC_OK) "]", NULL, NULL},
    {"hostNamespaces_1_0 and privileged_1_0 (a baseline check before the restricted ones)", "",
     "\"hostNetwork\":true,\"hostPID\":true,\"hostIPC\":true," POD_OK
     "\"containers\":[" C("c", ",\"securityContext\":{\"privileged\":true,\"capabilities\":{"
			       "\"drop\":[\"ALL\"]}}") "]",
     "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), privileged (container "
     "\"c\" must not set securityContext.privileged=true)",
     "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), privileged (container "
     "\"c\" must not set securityContext.privileged=true), allowPrivilegeEscalation != false "
     "(container \"c\" must set securityContext.allowPrivilegeEscalation=false)"},
    {"capabilitiesBaseline_1_0; capabilitiesRestricted_1_22 overrides it", "",
     POD_OK "\"containers\":[" C(
	 "c", ",\"securityContext\":{\"allowPrivilegeEscalation\":false,"
	      "\"capabilities\":{\"drop\":[\"ALL\"],\"add\":[\"SYS_TIME\","
	      "\"NET_ADMIN\",\"NET_BIND_SERVICE\"]}}") "," C("d", ",\"securityContext\":{"
								  "\"allowPrivilegeEscalation\":"
								  "false,\"capabilities\":{"
								  "\"drop\":[\"ALL\"],\"add\":["
								  "\"KILL\"]}}") "]",
     "non-default capabilities (container \"c\" must not include \"NET_ADMIN\", \"SYS_TIME\" "
     "in "
     "securityContext.capabilities.add)",
     "unrestricted capabilities (containers \"c\", \"d\" must not include \"KILL\", "
     "\"NET_ADMIN\", \"SYS_TIME\" in securityContext.capabilities.add)"},
    {"hostPathVolumes_1_0, hostPorts_1_0; restrictedVolumes_1_0 overrides hostPathVolumes", "",
     POD_OK "\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/\"}},{\"name\":\"e\","
	    "\"emptyDir\":{}},{\"name\":\"n\",\"nfs\":{\"server\":\"s\",\"path\":\"/\"}}],"
	    "\"containers\":[" C("c", SC_OK ",\"ports\":[{\"containerPort\":8080,\"hostPort\":"
					    "8080},{\"containerPort\":81,\"hostPort\":80}]") "]",
     "hostPath volumes (volume \"h\"), hostPort (container \"c\" uses hostPorts 80, 8080)",
     "hostPort (container \"c\" uses hostPorts 80, 8080), restricted volume types (volumes "
     "\"h\", \"n\" use restricted volume types \"hostPath\", \"nfs\")"},
    {"appArmorProfile_1_0, seLinuxOptions_1_31, seccompProfileBaseline_1_19 / "
     "seccompProfileRestricted_1_19",
     "",
     "\"securityContext\":{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":\"Unconfined\"},"
     "\"seLinuxOptions\":{\"type\":\"spc_t\",\"user\":\"u\"}},\"containers\":[" C(
	 "c", ",\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{"
	      "\"drop\":[\"ALL\"]},\"appArmorProfile\":{\"type\":\"Unconfined\"}}") "]",
     "forbidden AppArmor profile (container \"c\" must not set AppArmor profile type to "
     "\"Unconfined\"), seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "
     "\"spc_t\"; user may not be set), seccompProfile (pod must not set "
     "securityContext.seccompProfile.type to \"Unconfined\")",
     "forbidden AppArmor profile (container \"c\" must not set AppArmor profile type to "
     "\"Unconfined\"), seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "
     "\"spc_t\"; user may not be set), seccompProfile (pod must not set "
     "securityContext.seccompProfile.type to \"Unconfined\")"},
    {"seLinuxOptions_1_31: container_engine_t allowed", "",
     "\"securityContext\":{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":"
     "\"RuntimeDefault\"},\"seLinuxOptions\":{\"type\":\"container_engine_t\"}},"
     "\"containers\":[" C("c", SC_OK) "]",
     NULL, NULL},
    {"appArmorProfile_1_0 on the deprecated annotation",
     ",\"annotations\":{\"container.apparmor.security.beta.kubernetes.io/c\":\"unconfined\"}",
     POD_OK "\"containers\":[" C("c", SC_OK) "]",
     "forbidden AppArmor profile (annotation must not set AppArmor profile type to "
     "\"container.apparmor.security.beta.kubernetes.io/c=\"unconfined\"\")",
     "forbidden AppArmor profile (annotation must not set AppArmor profile type to "
     "\"container.apparmor.security.beta.kubernetes.io/c=\"unconfined\"\")"},
    {"sysctls_1_32: only the safe set", "",
     "\"securityContext\":{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":"
     "\"RuntimeDefault\"},\"sysctls\":[{\"name\":\"kernel.msgmax\",\"value\":\"1\"},{\"name\":"
     "\"net.ipv4.tcp_keepalive_time\",\"value\":\"60\"},{\"name\":\"net.ipv4.tcp_rmem\","
     "\"value\":\"4096 87380 6291456\"}]},\"containers\":[" C("c", SC_OK) "]",
     "forbidden sysctls (kernel.msgmax)", "forbidden sysctls (kernel.msgmax)"},
    {"runAsNonRoot_1_0 (explicit false) and runAsUser_1_23", "",
     "\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":0,\"seccompProfile\":{\"type\":"
     "\"RuntimeDefault\"}},\"containers\":[" C(
	 "c", ",\"securityContext\":{\"allowPrivilegeEscalation\":false,\"runAsNonRoot\":false,"
	      "\"capabilities\":{\"drop\":[\"ALL\"]}}") "]",
     NULL,
     "runAsNonRoot != true (container \"c\" must not set securityContext.runAsNonRoot=false), "
     "runAsUser=0 (pod must not set runAsUser=0)"},
    {"visitContainers: init containers too", "",
     POD_OK "\"initContainers\":[" C("i", "") "],\"containers\":[" C("c", SC_OK) "]", NULL,
     "allowPrivilegeEscalation != false (container \"i\" must set "
     "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "
     "\"i\" must set securityContext.capabilities.drop=[\"ALL\"])"},
    {"windowsHostProcess_1_0; Windows pods pass the 1.25 restricted checks", "",
     "\"os\":{\"name\":\"windows\"},\"hostNetwork\":true,\"securityContext\":{\"runAsNonRoot\":"
     "true,\"windowsOptions\":{\"hostProcess\":true}},\"containers\":[" C("c", "") "]",
     "host namespaces (hostNetwork=true), hostProcess (pod must not set "
     "securityContext.windowsOptions.hostProcess=true)",
     "host namespaces (hostNetwork=true), hostProcess (pod must not set "
     "securityContext.windowsOptions.hostProcess=true)"},
    {"seLinuxOptions1_31: check_seLinuxOptions_test.go's \"invalid pod and containers\"", "",
     "\"securityContext\":{\"runAsNonRoot\":true,\"seccompProfile\":{\"type\":"
     "\"RuntimeDefault\"},\"seLinuxOptions\":{\"type\":\"foo\",\"user\":\"bar\",\"role\":"
     "\"baz\"}},\"containers\":[" SEL("a", "\"type\":\"container_t\"") "," SEL(
	 "b",
	 "\"type\":"
	 "\"containe"
	 "r_init_"
	 "t\"") "," SEL("c",
			"\"type\":\"container_kvm_t\"") "," SEL("d",
								"\"type\":\"container_engine_"
								"t\"") "," SEL("e",
									       "\"type\":"
									       "\"bar\"") "," SEL("f",
												  "\"user\":"
												  "\"bar\"") "," SEL("g",
														     "\"role\":\"baz\"") "]",
     SEL_WANT, SEL_WANT},
};

static void ns_create(struct tsrv *t, const char *name, const char *labels)
{
	char body[1024];
	struct tresp r;

	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}}}", name,
		 labels);
	tpost(t, NSS, body, 201, &r);
	tresp_free(&r);
}

static int setup(void **state)
{
	struct tsrv *t;

	tsrv_group_setup(state);
	t = *state;
	ns_create(t, "ps-b", "\"pod-security.kubernetes.io/enforce\":\"baseline\"");
	ns_create(t, "ps-r", "\"pod-security.kubernetes.io/enforce\":\"restricted\"");
	ns_create(t, "ps-r118",
		  "\"pod-security.kubernetes.io/enforce\":\"restricted\","
		  "\"pod-security.kubernetes.io/enforce-version\":\"v1.18\"");
	ns_create(t, "ps-b128",
		  "\"pod-security.kubernetes.io/enforce\":\"baseline\","
		  "\"pod-security.kubernetes.io/enforce-version\":\"v1.28\"");
	ns_create(t, "ps-w", "\"pod-security.kubernetes.io/warn\":\"baseline\"");
	ns_create(t, "ps-wr", "\"pod-security.kubernetes.io/warn\":\"restricted\"");
	return 0;
}

/* A dry-run create of pod "p" in ns: 201 when want is NULL, else 403 with the message. */
static void expect_pod(struct tsrv *t, const char *ns, const char *lv, const struct pcase *c,
		       const char *want)
{
	char path[256], body[4096], msg[4096];
	struct tresp r;

	snprintf(path, sizeof(path), NSS "/%s/pods?dryRun=All", ns);
	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"p\"%s},\"spec\":{%s}}", c->meta,
		 c->spec);
	treq(t, "POST", path, NULL, body, NULL, &r);
	if (!want) {
		if (r.code != 201)
			fail_msg("%s in %s: %ld, expected 201: %s", c->name, ns, r.code, r.body);
		tresp_free(&r);
		return;
	}
	snprintf(msg, sizeof(msg), "pods \"p\" is forbidden: violates PodSecurity \"%s\": %s", lv,
		 want);
	if (r.code != 403 || strcmp(tstr(r.json, "message"), msg) != 0)
		fail_msg("%s in %s: %ld %s\nexpected 403 %s", c->name, ns, r.code,
			 tstr(r.json, "message"), msg);
	assert_string_equal(tstr(r.json, "reason"), "Forbidden");
	assert_string_equal(tstr(r.json, "details.kind"), "pods");
	tresp_free(&r);
}

static void test_pod_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_pod(*state, "ps-b", "baseline:latest", &cases[i], cases[i].baseline);
		expect_pod(*state, "ps-r", "restricted:latest", &cases[i], cases[i].restricted);
	}
}

/* registry.go: a version before a check's MinimumVersion does not run it, and a restricted
 * check overrides its baseline check only from the version it has */
static void test_versions(void **state)
{
	static const struct pcase plain = {"v1.18: no capabilities_restricted (1.22), "
					   "seccompProfile_restricted (1.19)",
					   "", "\"containers\":[" C("c", "") "]", NULL, NULL};
	static const struct pcase caps = {
	    "v1.18: capabilities_baseline not overridden yet", "",
	    "\"securityContext\":{\"runAsNonRoot\":true},\"containers\":[" C(
		"c", ",\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{"
		     "\"add\":[\"NET_ADMIN\"]}}") "]",
	    NULL, NULL};
	static const struct pcase seccomp = {
	    "v1.18: seccompProfileBaseline_1_0 reads the alpha annotations",
	    ",\"annotations\":{\"seccomp.security.alpha.kubernetes.io/pod\":\"unconfined\"}",
	    "\"securityContext\":{\"runAsNonRoot\":true},\"containers\":[" C(
		"c", ",\"securityContext\":{\"allowPrivilegeEscalation\":false}") "]",
	    NULL, NULL};

	expect_pod(*state, "ps-r118", "restricted:v1.18", &plain,
		   "allowPrivilegeEscalation != false (container \"c\" must set "
		   "securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true (pod or "
		   "container \"c\" must set securityContext.runAsNonRoot=true)");
	expect_pod(*state, "ps-r118", "restricted:v1.18", &caps,
		   "non-default capabilities (container \"c\" must not include \"NET_ADMIN\" in "
		   "securityContext.capabilities.add)");
	expect_pod(*state, "ps-r118", "restricted:v1.18", &seccomp,
		   "seccompProfile (forbidden annotation "
		   "seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")");
	/* sysctls_1_29 and sysctls_1_32 made these safe, not yet at v1.28 */
	expect_pod(*state, "ps-b128", "baseline:v1.28", &cases[8],
		   "forbidden sysctls (kernel.msgmax, net.ipv4.tcp_keepalive_time, "
		   "net.ipv4.tcp_rmem)");
}

/* The Warning header of a message: 299 - "<message, only \" and \\ escaped>" */
static void assert_warning(const struct tresp *r, const char *msg)
{
	char want[4096];
	size_t n = (size_t)snprintf(want, sizeof(want), "Warning: 299 - \"");

	for (const char *p = msg; *p && n + 3 < sizeof(want); p++) {
		if (*p == '"' || *p == '\\')
			want[n++] = '\\';
		want[n++] = *p;
	}
	snprintf(want + n, sizeof(want) - n, "\"");
	if (!r->headers || !strstr(r->headers, want))
		fail_msg("no header %s in\n%s", want, r->headers ? r->headers : "");
}

static void test_warn(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	/* warn only: the pod is created, with the warning (EvaluatePod) */
	tpost(t, NSS "/ps-w/pods?dryRun=All",
	      "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[" C(
		  "c", ",\"securityContext\":{\"privileged\":true}") "]}}",
	      201, &r);
	assert_warning(&r, "would violate PodSecurity \"baseline:latest\": privileged (container "
			   "\"c\" must not set securityContext.privileged=true)");
	tresp_free(&r);
	/* a refused pod carries no warning */
	tcall(t, "POST", NSS "/ps-r/pods?dryRun=All",
	      "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[" C("c", "") "]}}", 403,
	      NULL, &r);
	assert_null(strstr(r.headers, "Warning:"));
	tresp_free(&r);
	/* ValidatePodController: a Deployment's template warned about under the enforce level
	 * warn defaults to, never refused */
	tpost(t, "/apis/apps/v1/namespaces/ps-r/deployments?dryRun=All",
	      "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
	      "\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
	      "\"containers\":[" C("nginx", "") "]}}}}",
	      201, &r);
	assert_warning(&r, "would violate PodSecurity \"restricted:latest\": " R4("nginx"));
	tresp_free(&r);
	/* a CronJob's template is under spec.jobTemplate.spec.template */
	tpost(
	    t, "/apis/batch/v1/namespaces/ps-b/cronjobs?dryRun=All",
	    "{\"metadata\":{\"name\":\"cj\"},\"spec\":{\"schedule\":\"* * * * *\",\"jobTemplate\":"
	    "{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"hostPID\":true,"
	    "\"containers\":[" C("c", "") "]}}}}}}",
	    201, &r);
	assert_warning(&r, "would violate PodSecurity \"baseline:latest\": host namespaces "
			   "(hostPID=true)");
	tresp_free(&r);
	/* a compliant Deployment gets none */
	tpost(t, "/apis/apps/v1/namespaces/ps-b/deployments?dryRun=All",
	      "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
	      "\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
	      "\"containers\":[" C("nginx", "") "]}}}}",
	      201, &r);
	assert_null(strstr(r.headers, "Warning:"));
	tresp_free(&r);
}

/* PATCH ns's enforce label to level (200), the response left in r */
static void set_enforce(struct tsrv *t, const char *ns, const char *level, struct tresp *r)
{
	char path[128], body[256];

	snprintf(path, sizeof(path), NSS "/%s", ns);
	snprintf(body, sizeof(body),
		 "{\"metadata\":{\"labels\":{\"pod-security.kubernetes.io/enforce\":\"%s\"}}}",
		 level);
	tcall(t, "PATCH", path, body, 200, NULL, r);
}

/* kube-apiserver's warning recorder: warnings of more than 4096 runes in all are each cut to
 * 256 runes (filters/warning.go). A pod of 40 containers with long names makes one. */
static void test_warning_truncated(void **state)
{
	struct tsrv *t = *state;
	struct k8s_buf body = {0};
	const char *h, *end;
	char text[600];
	size_t n = 0;
	struct tresp r;

	k8s_buf_puts(&body, "{\"metadata\":{\"name\":\"many\"},\"spec\":{\"containers\":[");
	for (int i = 0; i < 40; i++)
		k8s_buf_printf(
		    &body,
		    "%s{\"name\":\"container-with-a-rather-long-name-to-fill-headers-%02d\","
		    "\"image\":\"x\"}",
		    i ? "," : "", i);
	k8s_buf_puts(&body, "]}}");
	tpost(t, NSS "/ps-wr/pods?dryRun=All", body.p, 201, &r);
	h = strstr(r.headers, "Warning: 299 - \"");
	assert_non_null(h);
	h += strlen("Warning: 299 - \"");
	end = strstr(h, "\"\r\n");
	assert_non_null(end);
	for (; h < end && n + 1 < sizeof(text); h++) {
		if (*h == '\\' && h + 1 < end)
			h++; /* \" and \\ of the quoted string */
		text[n++] = *h;
	}
	text[n] = 0;
	assert_int_equal(n, 256);
	assert_memory_equal(
	    text,
	    "would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation "
	    "!= false (containers \"container-with-a-rather-long-name-to-fill-headers-00\"",
	    strlen("would violate PodSecurity \"restricted:latest\": "
		   "allowPrivilegeEscalation != false (containers \"container-with-a-"
		   "rather-long-name-to-fill-headers-00\""));
	tresp_free(&r);
	k8s_buf_free(&body);
}

static void test_namespace_labels(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	/* PolicyToEvaluate's errors, in its order, as ValidateNamespace's invalidResponse */
	texpect(t, "POST", NSS,
		"{\"metadata\":{\"name\":\"ps-bad\",\"labels\":{"
		"\"pod-security.kubernetes.io/warn-version\":\"1.2\","
		"\"pod-security.kubernetes.io/enforce\":\"strict\"}}}",
		422,
		"Namespace \"ps-bad\" is invalid: [metadata.labels[pod-security.kubernetes.io/"
		"enforce]: Invalid value: \"strict\": must be one of privileged, baseline, "
		"restricted, metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid "
		"value: \"1.2\": must be \"latest\" or \"v1.x\"]");
	texpect(t, "PATCH", NSS "/ps-b",
		"{\"metadata\":{\"labels\":{\"pod-security.kubernetes.io/audit\":\"all\"}}}", 422,
		"Namespace \"ps-b\" is invalid: metadata.labels[pod-security.kubernetes.io/audit]: "
		"Invalid value: \"all\": must be one of privileged, baseline, restricted");
	texpect(t, "PATCH", NSS "/ps-b",
		"{\"metadata\":{\"labels\":{\"pod-security.kubernetes.io/enforce-version\":"
		"\"v1.01\"}}}",
		422,
		"Namespace \"ps-b\" is invalid: metadata.labels[pod-security.kubernetes.io/"
		"enforce-version]: Invalid value: \"v1.01\": must be \"latest\" or \"v1.x\"");

	/* EvaluatePodsInNamespace: pods that violate a new enforce level, grouped by reasons */
	ns_create(t, "ps-n", "");
	tpost(t, NSS "/ps-n/pods",
	      "{\"metadata\":{\"name\":\"p2\"},\"spec\":{\"containers\":[" C("c", "") "]}}", 201,
	      &r);
	tresp_free(&r);
	tpost(t, NSS "/ps-n/pods",
	      "{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[" C("c", "") "]}}", 201,
	      &r);
	tresp_free(&r);
	tpost(t, NSS "/ps-n/pods",
	      "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"containers\":[" C(
		  "c", ",\"securityContext\":{\"privileged\":true}") "]}}",
	      201, &r);
	tresp_free(&r);
	set_enforce(t, "ps-n", "baseline", &r);
	assert_warning(&r, "existing pods in namespace \"ps-n\" violate the new PodSecurity "
			   "enforce level \"baseline:latest\"");
	assert_warning(&r, "q: privileged");
	tresp_free(&r);
	set_enforce(t, "ps-n", "restricted", &r);
	assert_warning(&r, "existing pods in namespace \"ps-n\" violate the new PodSecurity "
			   "enforce level \"restricted:latest\"");
	assert_warning(&r, "p1 (and 1 other pod): allowPrivilegeEscalation != false, unrestricted "
			   "capabilities, runAsNonRoot != true, seccompProfile");
	assert_warning(&r, "q: privileged, allowPrivilegeEscalation != false, unrestricted "
			   "capabilities, runAsNonRoot != true, seccompProfile");
	/* sorted: p1's line before q's */
	assert_true(strstr(r.headers, "p1 (and") < strstr(r.headers, "q: privileged"));
	tresp_free(&r);
	/* relaxed within its version: nothing checked */
	set_enforce(t, "ps-n", "baseline", &r);
	assert_null(strstr(r.headers, "Warning:"));
	tresp_free(&r);

	/* isSignificantPodUpdate: a label change of a violating pod passes, an image change is
	 * checked */
	set_enforce(t, "ps-n", "restricted", &r);
	tresp_free(&r);
	texpect(t, "PATCH", NSS "/ps-n/pods/p1", "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}", 200,
		NULL);
	texpect(t, "PATCH", NSS "/ps-n/pods/p1",
		"{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}", 403,
		"pods \"p1\" is forbidden: violates PodSecurity \"restricted:latest\": " R4("c"));
}

/* --disable-admission-plugins PodSecurity */
static void test_disabled(void **state)
{
	struct api_config cfg = {.no_pod_security = true};
	struct tsrv t = {0};
	struct tresp r;

	(void)state;
	tsrv_start_cfg(&t, &cfg);
	ns_create(&t, "ps-r", "\"pod-security.kubernetes.io/enforce\":\"restricted\"");
	tpost(&t, NSS "/ps-r/pods",
	      "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[" C("c", "") "]}}", 201,
	      &r);
	assert_null(strstr(r.headers, "Warning:"));
	tresp_free(&r);
	texpect(&t, "PATCH", NSS "/ps-r",
		"{\"metadata\":{\"labels\":{\"pod-security.kubernetes.io/enforce\":\"x\"}}}", 200,
		NULL);
	tsrv_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pod_table),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_warn),
	    cmocka_unit_test(test_warning_truncated),
	    cmocka_unit_test(test_namespace_labels),
	    cmocka_unit_test(test_disabled),
	};

	return cmocka_run_group_tests(tests, setup, tsrv_group_teardown);
}
