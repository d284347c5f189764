/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_kinds_admin: the kinds that configure the API server itself, over HTTP, as
 * kube-apiserver 1.32 serves them: admissionregistration.k8s.io/v1 webhook configurations
 * and ValidatingAdmissionPolicies (+Bindings) with their v1 defaults, printers' columns and
 * validation messages (pkg/apis/admissionregistration/validation: validateValidatingWebhook,
 * validateAdmissionReviewVersions, IsFullyQualifiedName, webhook.ValidateWebhookURL);
 * flowcontrol.apiserver.k8s.io/v1 with the objects of apiserver/pkg/apis/flowcontrol/
 * bootstrap/default.go present after start; apiregistration.k8s.io/v1 with a local APIService
 * per group/version discovery serves; events.k8s.io/v1 Events read and written through the
 * core Events' storage with pkg/apis/events/v1/conversion.go's field mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define AR	"/apis/admissionregistration.k8s.io/v1/"
#define FC	"/apis/flowcontrol.apiserver.k8s.io/v1/"
#define APISVC	"/apis/apiregistration.k8s.io/v1/apiservices"
#define CORE_EV "/api/v1/namespaces/default/events"
#define V1_EV	"/apis/events.k8s.io/v1/namespaces/default/events"
#define MERGE	"application/merge-patch+json"
#define TABLE	"application/json;as=Table;v=v1;g=meta.k8s.io"

static long long int_at(const struct jv *v, const char *path)
{
	int64_t i = -12345;

	if (jv_path_int(v, path, &i) != 0)
		fail_msg("%s: not an integer", path);
	return (long long)i;
}

/* The string of map member key (a name with dots, which jv_path would split) at path. */
static const char *key_of(const struct jv *o, const char *path, const char *key)
{
	const struct jv *v = jv_get(jv_path(o, path), key);

	return v && v->type == JV_STRING ? v->s : "(null)";
}

/* The Table of path; *out holds it. */
static const struct jv *table(struct tsrv *t, const char *path, struct tresp *out)
{
	treq(t, "GET", path, NULL, NULL, TABLE, out);
	if (out->code != 200)
		fail_msg("GET %s as Table: %ld %s", path, out->code, out->body ? out->body : "");
	assert_string_equal(tstr(out->json, "kind"), "Table");
	return out->json;
}

/* The Table row whose first cell is name, or NULL. */
static const struct jv *row_of(const struct jv *tab, const char *name)
{
	for (const struct jv *r = jv_first(jv_get(tab, "rows")); r; r = r->next)
		if (jv_is_str(jv_path(r, "cells[0]"), name))
			return r;
	return NULL;
}

/* DELETE path, expecting 200. */
static void del(struct tsrv *t, const char *path)
{
	struct tresp r;

	treq(t, "DELETE", path, NULL, NULL, NULL, &r);
	if (r.code != 200)
		fail_msg("DELETE %s: %ld %s", path, r.code, r.body ? r.body : "");
	tresp_free(&r);
}

/* POST body to path, expecting 422 with msg in the Status message. */
static void refused(struct tsrv *t, const char *path, const char *body, const char *msg)
{
	struct tresp r;

	treq(t, "POST", path, NULL, body, NULL, &r);
	if (r.code != 422 || !r.body || !strstr(r.body, msg))
		fail_msg("POST %s: %ld %s\nwant 422 with: %s", path, r.code, r.body ? r.body : "",
			 msg);
	tresp_free(&r);
}

/* ---- bootstrap: APF ---- */

static void test_apf_bootstrap(void **state)
{
	static const char *const schemas[][4] = {
	    /* name, level, precedence, distinguisher (default.go of 1.32) */
	    {"exempt", "exempt", "1", "<none>"},
	    {"probes", "exempt", "2", "<none>"},
	    {"system-leader-election", "leader-election", "100", "ByUser"},
	    {"endpoint-controller", "workload-high", "150", "ByUser"},
	    {"workload-leader-election", "leader-election", "200", "ByUser"},
	    {"system-node-high", "node-high", "400", "ByUser"},
	    {"system-nodes", "system", "500", "ByUser"},
	    {"kube-controller-manager", "workload-high", "800", "ByNamespace"},
	    {"kube-scheduler", "workload-high", "800", "ByNamespace"},
	    {"kube-system-service-accounts", "workload-high", "900", "ByNamespace"},
	    {"service-accounts", "workload-low", "9000", "ByUser"},
	    {"global-default", "global-default", "9900", "ByUser"},
	    {"catch-all", "catch-all", "10000", "ByUser"},
	};
	static const char *const levels[][5] = {
	    /* name, type, nominalConcurrencyShares, queues, lendablePercent */
	    {"exempt", "Exempt", "<none>", "<none>", "0"},
	    {"catch-all", "Limited", "5", "<none>", "0"},
	    {"system", "Limited", "30", "64", "33"},
	    {"node-high", "Limited", "40", "64", "25"},
	    {"leader-election", "Limited", "10", "16", "0"},
	    {"workload-high", "Limited", "40", "128", "50"},
	    {"workload-low", "Limited", "100", "128", "90"},
	    {"global-default", "Limited", "20", "128", "50"},
	};
	struct tsrv *t = *state;
	const struct jv *tab, *row;
	struct tresp r;
	char path[256], cell[32];

	tab = table(t, FC "flowschemas", &r);
	assert_int_equal(jv_count(jv_get(tab, "rows")), 13);
	assert_string_equal(tstr(tab, "columnDefinitions[5].name"), "MissingPL");
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
		/* printFlowSchemaList sorts: matchingPrecedence, then name (schemas' order) */
		row = jv_at(jv_get(tab, "rows"), i);
		if (!jv_is_str(jv_path(row, "cells[0]"), schemas[i][0]))
			fail_msg("row %zu: %s, want FlowSchema %s", i, tstr(row, "cells[0]"),
				 schemas[i][0]);
		assert_string_equal(tstr(row, "cells[1]"), schemas[i][1]);
		snprintf(cell, sizeof(cell), "%lld", int_at(row, "cells[2]"));
		assert_string_equal(cell, schemas[i][2]);
		assert_string_equal(tstr(row, "cells[3]"), schemas[i][3]);
		/* the configuration controller's Dangling condition: the level exists */
		assert_string_equal(tstr(row, "cells[5]"), "False");
	}
	tresp_free(&r);
	tab = table(t, FC "prioritylevelconfigurations", &r);
	assert_int_equal(jv_count(jv_get(tab, "rows")), 8);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		const struct jv *c;

		row = row_of(tab, levels[i][0]);
		if (!row)
			fail_msg("no PriorityLevelConfiguration %s", levels[i][0]);
		assert_string_equal(tstr(row, "cells[1]"), levels[i][1]);
		c = jv_path(row, "cells[2]");
		if (c && c->type == JV_NUMBER)
			snprintf(cell, sizeof(cell), "%lld", int_at(row, "cells[2]"));
		else
			snprintf(cell, sizeof(cell), "%s", tstr(row, "cells[2]"));
		assert_string_equal(cell, levels[i][2]);
		c = jv_path(row, "cells[3]");
		if (c && c->type == JV_NUMBER)
			snprintf(cell, sizeof(cell), "%lld", int_at(row, "cells[3]"));
		else
			snprintf(cell, sizeof(cell), "%s", tstr(row, "cells[3]"));
		assert_string_equal(cell, levels[i][3]);
	}
	tresp_free(&r);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		const struct jv *o;

		snprintf(path, sizeof(path), FC "prioritylevelconfigurations/%s", levels[i][0]);
		o = tget(t, path, 200, &r);
		snprintf(
		    cell, sizeof(cell), "%lld",
		    int_at(o, i ? "spec.limited.lendablePercent" : "spec.exempt.lendablePercent"));
		assert_string_equal(cell, levels[i][4]);
		assert_string_equal(
		    key_of(o, "metadata.annotations", "apf.kubernetes.io/autoupdate-spec"), "true");
		tresp_free(&r);
	}
	/* one FlowSchema in full: probes (exempt, the health endpoints of everyone) */
	row = tget(t, FC "flowschemas/probes", 200, &r);
	assert_null(jv_path(row, "spec.distinguisherMethod"));
	assert_string_equal(tstr(row, "spec.rules[0].subjects[1].group.name"),
			    "system:authenticated");
	assert_string_equal(tstr(row, "spec.rules[0].nonResourceRules[0].nonResourceURLs[2]"),
			    "/livez");
	assert_null(jv_path(row, "spec.rules[0].resourceRules"));
	assert_string_equal(tstr(row, "status.conditions[0].reason"), "Found");
	tresp_free(&r);
}

/* ---- bootstrap: local APIServices ---- */

/* Every group/version of /api and /apis has its APIService <version>.<group>, Local and
 * Available; there are no others. */
static void test_local_apiservices(void **state)
{
	struct tsrv *t = *state;
	const struct jv *groups, *tab, *row;
	struct tresp r, g;
	size_t ngv = 1;
	char name[256];

	tab = table(t, APISVC, &r);
	assert_string_equal(tstr(tab, "columnDefinitions[1].name"), "Service");
	assert_string_equal(tstr(tab, "columnDefinitions[2].name"), "Available");
	row = row_of(tab, "v1.");
	assert_non_null(row);
	assert_string_equal(tstr(row, "cells[1]"), "Local");
	assert_string_equal(tstr(row, "cells[2]"), "True");
	groups = tget(t, "/apis", 200, &g);
	for (const struct jv *gr = jv_first(jv_get(groups, "groups")); gr; gr = gr->next)
		for (const struct jv *v = jv_first(jv_get(gr, "versions")); v; v = v->next) {
			snprintf(name, sizeof(name), "%s.%s", tstr(v, "version"), tstr(gr, "name"));
			row = row_of(tab, name);
			if (!row)
				fail_msg("no APIService %s", name);
			assert_string_equal(tstr(row, "cells[1]"), "Local");
			assert_string_equal(tstr(row, "cells[2]"), "True");
			ngv++;
		}
	assert_int_equal(jv_count(jv_get(tab, "rows")), ngv);
	tresp_free(&g);
	tresp_free(&r);
	for (const char *const *n =
		 (const char *const[]){"v1.events.k8s.io", "v1.admissionregistration.k8s.io",
				       "v1.apiregistration.k8s.io",
				       "v1.flowcontrol.apiserver.k8s.io", NULL};
	     *n; n++) {
		snprintf(name, sizeof(name), APISVC "/%s", *n);
		row = tget(t, name, 200, &r);
		assert_string_equal(
		    key_of(row, "metadata.labels", "kube-aggregator.kubernetes.io/automanaged"),
		    "onstart");
		assert_string_equal(tstr(row, "status.conditions[0].reason"), "Local");
		tresp_free(&r);
	}
	row = tget(t, APISVC "/v1.flowcontrol.apiserver.k8s.io", 200, &r);
	assert_int_equal(int_at(row, "spec.groupPriorityMinimum"), 16100);
	assert_int_equal(int_at(row, "spec.versionPriority"), 21);
	tresp_free(&r);
}

/* An APIService of one's own: served by a Service (availability Unknown: nothing checks it),
 * its status written through the subresource, and ValidateAPIService's refusals. */
static void test_apiservice_crud(void **state)
{
	struct tsrv *t = *state;
	const struct jv *o, *tab;
	struct tresp r;

	o = tpost(t, APISVC,
		  "{\"apiVersion\":\"apiregistration.k8s.io/v1\",\"kind\":\"APIService\","
		  "\"metadata\":{\"name\":\"v1beta1.metrics.k8s.io\"},\"spec\":{\"group\":"
		  "\"metrics.k8s.io\",\"version\":\"v1beta1\",\"groupPriorityMinimum\":100,"
		  "\"versionPriority\":100,\"insecureSkipTLSVerify\":true,\"service\":{"
		  "\"namespace\":\"kube-system\",\"name\":\"metrics-server\"}}}",
		  201, &r);
	assert_int_equal(int_at(o, "spec.service.port"), 443);
	assert_null(jv_get(o, "status"));
	tresp_free(&r);
	tab = table(t, APISVC "/v1beta1.metrics.k8s.io", &r);
	assert_string_equal(tstr(tab, "rows[0].cells[1]"), "kube-system/metrics-server");
	assert_string_equal(tstr(tab, "rows[0].cells[2]"), "Unknown");
	tresp_free(&r);
	treq(t, "PATCH", APISVC "/v1beta1.metrics.k8s.io/status", MERGE,
	     "{\"status\":{\"conditions\":[{\"type\":\"Available\",\"status\":\"False\","
	     "\"reason\":\"MissingEndpoints\",\"lastTransitionTime\":\"2024-01-01T00:00:00Z\"}]}}",
	     NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	tab = table(t, APISVC "/v1beta1.metrics.k8s.io", &r);
	assert_string_equal(tstr(tab, "rows[0].cells[2]"), "False (MissingEndpoints)");
	tresp_free(&r);
	del(t, APISVC "/v1beta1.metrics.k8s.io");
	refused(t, APISVC,
		"{\"apiVersion\":\"apiregistration.k8s.io/v1\",\"kind\":\"APIService\","
		"\"metadata\":{\"name\":\"v1.foo.io\"},\"spec\":{\"group\":\"bar.io\",\"version\":"
		"\"v1\",\"groupPriorityMinimum\":100,\"versionPriority\":100}}",
		"metadata.name: Invalid value: \\\"v1.foo.io\\\": must be "
		"`spec.version+\\\".\\\"+spec.group`: \\\"v1.bar.io\\\"");
	refused(t, APISVC,
		"{\"apiVersion\":\"apiregistration.k8s.io/v1\",\"kind\":\"APIService\","
		"\"metadata\":{\"name\":\"v1.foo.io\"},\"spec\":{\"group\":\"foo.io\",\"version\":"
		"\"v1\",\"groupPriorityMinimum\":100}}",
		"spec.versionPriority: Invalid value: 0: must be positive and less than 1000");
}

/* ---- webhook configurations ---- */

static const char *webhook_cfg(const char *kind, const char *name, const char *hooks)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"admissionregistration.k8s.io/v1\",\"kind\":\"%s\","
		 "\"metadata\":{\"name\":\"%s\"},\"webhooks\":[%s]}",
		 kind, name, hooks);
	return buf;
}

#define HOOK(name, extra)                                                                   \
	"{\"name\":\"" name "\",\"clientConfig\":{\"service\":{\"namespace\":\"default\","  \
	"\"name\":\"hook\"}},\"rules\":[{\"operations\":[\"CREATE\"],\"apiGroups\":[\"\"]," \
	"\"apiVersions\":[\"v1\"],\"resources\":[\"pods\"]}],\"sideEffects\":\"None\","     \
	"\"admissionReviewVersions\":[\"v1\"]" extra "}"

static void test_webhook_configurations(void **state)
{
	static const char *const kinds[][2] = {
	    {"MutatingWebhookConfiguration", "mutatingwebhookconfigurations"},
	    {"ValidatingWebhookConfiguration", "validatingwebhookconfigurations"},
	};
	struct tsrv *t = *state;
	struct tresp r;
	char path[256], item[300];

	for (size_t i = 0; i < 2; i++) {
		const struct jv *o;

		snprintf(path, sizeof(path), AR "%s", kinds[i][1]);
		snprintf(item, sizeof(item), "%s/hooks", path);
		o = tpost(t, path, webhook_cfg(kinds[i][0], "hooks", HOOK("a.example.com", "")),
			  201, &r);
		/* admissionregistration/v1 SetDefaults_*Webhook, _Rule, _ServiceReference */
		assert_string_equal(tstr(o, "webhooks[0].failurePolicy"), "Fail");
		assert_string_equal(tstr(o, "webhooks[0].matchPolicy"), "Equivalent");
		assert_int_equal(int_at(o, "webhooks[0].timeoutSeconds"), 10);
		assert_non_null(jv_path(o, "webhooks[0].namespaceSelector"));
		assert_non_null(jv_path(o, "webhooks[0].objectSelector"));
		assert_string_equal(tstr(o, "webhooks[0].rules[0].scope"), "*");
		assert_int_equal(int_at(o, "webhooks[0].clientConfig.service.port"), 443);
		if (i == 0)
			assert_string_equal(tstr(o, "webhooks[0].reinvocationPolicy"), "Never");
		else
			assert_null(jv_path(o, "webhooks[0].reinvocationPolicy"));
		assert_int_equal(int_at(o, "metadata.generation"), 1);
		tresp_free(&r);
		/* a second webhook through a merge patch: the webhooks change, generation too */
		treq(t, "PATCH", item, MERGE,
		     "{\"webhooks\":[" HOOK("a.example.com", "") "," HOOK(
			 "b.example.com", ",\"clientConfig\":{\"url\":\"https://hooks.example.com/"
					  "b\"}") "]}",
		     NULL, &r);
		if (r.code != 200)
			fail_msg("PATCH %s: %ld %s", item, r.code, r.body);
		assert_int_equal(int_at(r.json, "metadata.generation"), 2);
		tresp_free(&r);
		o = tget(t, path, 200, &r);
		assert_int_equal(jv_count(jv_get(o, "items")), 1);
		tresp_free(&r);
		o = table(t, path, &r);
		assert_string_equal(tstr(o, "columnDefinitions[1].name"), "Webhooks");
		assert_string_equal(tstr(o, "rows[0].cells[0]"), "hooks");
		assert_int_equal(int_at(o, "rows[0].cells[1]"), 2);
		tresp_free(&r);
		del(t, item);
		tget(t, item, 404, &r);
		tresp_free(&r);
	}
}

/* pkg/apis/admissionregistration/validation, each refusal with its message */
static void test_webhook_validation(void **state)
{
	struct tsrv *t = *state;
	const char *vwc = AR "validatingwebhookconfigurations";

	/* IsFullyQualifiedName */
	refused(t, vwc, webhook_cfg("ValidatingWebhookConfiguration", "bad", HOOK("hook", "")),
		"webhooks[0].name: Invalid value: \\\"hook\\\": should be a domain with at least "
		"three segments separated by dots");
	refused(t, vwc, webhook_cfg("ValidatingWebhookConfiguration", "bad", HOOK("Hook.a.b", "")),
		"webhooks[0].name: Invalid value: \\\"Hook.a.b\\\": a lowercase RFC 1123 "
		"subdomain");
	/* validateRuleWithOperations */
	refused(
	    t, vwc,
	    webhook_cfg("ValidatingWebhookConfiguration", "bad",
			HOOK("a.example.com", ",\"rules\":[{\"operations\":[\"CREATE\"],"
					      "\"apiGroups\":[\"\"],\"apiVersions\":[\"v1\"]}]")),
	    "webhooks[0].rules[0].resources: Required value");
	/* unique names */
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com", "") "," HOOK("a.example.com", "")),
		"webhooks[1].name: Duplicate value: \\\"a.example.com\\\"");
	/* clientConfig: url xor service */
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com", ",\"clientConfig\":{}")),
		"webhooks[0].clientConfig: Required value: exactly one of url or service is "
		"required");
	refused(
	    t, vwc,
	    webhook_cfg("ValidatingWebhookConfiguration", "bad",
			HOOK("a.example.com",
			     ",\"clientConfig\":{\"url\":\"https://h.example.com/\",\"service\":"
			     "{\"namespace\":\"default\",\"name\":\"x\"}}")),
	    "webhooks[0].clientConfig: Required value: exactly one of url or service is "
	    "required");
	/* ValidateWebhookURL */
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com", ",\"clientConfig\":{\"url\":\"http://h.example."
						  "com/x\"}")),
		"webhooks[0].clientConfig.url: Invalid value: \\\"http\\\": 'https' is the only "
		"allowed URL scheme; desired format: https://host[/path]");
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com",
				 ",\"clientConfig\":{\"url\":\"https://h.example.com/x?a=1\"}")),
		"webhooks[0].clientConfig.url: Invalid value: \\\"a=1\\\": query parameters are "
		"not permitted in the URL");
	/* ValidateWebhookService */
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com", ",\"clientConfig\":{\"service\":{\"namespace\":"
						  "\"default\",\"name\":\"x\",\"path\":\"v\"}}")),
		"webhooks[0].clientConfig.service.path: Invalid value: \\\"v\\\": must start with "
		"a '/'");
	/* sideEffects: required in v1, and one of None, NoneOnDryRun */
	refused(
	    t, vwc,
	    webhook_cfg("ValidatingWebhookConfiguration", "bad",
			"{\"name\":\"a.example.com\",\"clientConfig\":{\"url\":\"https://h.a\"},"
			"\"admissionReviewVersions\":[\"v1\"]}"),
	    "webhooks[0].sideEffects: Required value: must specify one of None, "
	    "NoneOnDryRun");
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com", ",\"sideEffects\":\"Some\"")),
		"webhooks[0].sideEffects: Unsupported value: \\\"Some\\\": supported values: "
		"\\\"None\\\", \\\"NoneOnDryRun\\\"");
	/* admissionReviewVersions: required, and one Kubernetes speaks */
	refused(
	    t, vwc,
	    webhook_cfg("ValidatingWebhookConfiguration", "bad",
			"{\"name\":\"a.example.com\",\"clientConfig\":{\"url\":\"https://h.a\"},"
			"\"sideEffects\":\"None\"}"),
	    "webhooks[0].admissionReviewVersions: Required value: must specify one of v1, "
	    "v1beta1");
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com", ",\"admissionReviewVersions\":[\"v2\"]")),
		"webhooks[0].admissionReviewVersions: Invalid value: []string{\\\"v2\\\"}: must "
		"include at least one of v1, v1beta1");
	refused(t, vwc,
		webhook_cfg("ValidatingWebhookConfiguration", "bad",
			    HOOK("a.example.com", ",\"timeoutSeconds\":31")),
		"webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between "
		"1 and 30 seconds");
	/* the same rules hold for the mutating kind */
	refused(t, AR "mutatingwebhookconfigurations",
		webhook_cfg("MutatingWebhookConfiguration", "bad", HOOK("hook", "")),
		"webhooks[0].name: Invalid value: \\\"hook\\\": should be a domain with at least "
		"three segments separated by dots");
}

/* ---- ValidatingAdmissionPolicy and its Binding ---- */

static void test_admission_policies(void **state)
{
	struct tsrv *t = *state;
	const struct jv *o;
	struct tresp r;

	o = tpost(t, AR "validatingadmissionpolicies",
		  "{\"apiVersion\":\"admissionregistration.k8s.io/v1\",\"kind\":"
		  "\"ValidatingAdmissionPolicy\",\"metadata\":{\"name\":\"replicas\"},\"spec\":{"
		  "\"matchConstraints\":{\"resourceRules\":[{\"apiGroups\":[\"apps\"],"
		  "\"apiVersions\":[\"v1\"],\"operations\":[\"CREATE\"],\"resources\":["
		  "\"deployments\"]}]},\"validations\":[{\"expression\":\"object.spec.replicas "
		  "<= 5\"}]}}",
		  201, &r);
	assert_string_equal(tstr(o, "spec.failurePolicy"), "Fail");
	assert_string_equal(tstr(o, "spec.matchConstraints.matchPolicy"), "Equivalent");
	assert_string_equal(tstr(o, "spec.matchConstraints.resourceRules[0].scope"), "*");
	tresp_free(&r);
	treq(t, "PATCH", AR "validatingadmissionpolicies/replicas", MERGE,
	     "{\"spec\":{\"paramKind\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(int_at(r.json, "metadata.generation"), 2);
	tresp_free(&r);
	/* status: its own subresource (the type checker's) */
	treq(t, "PATCH", AR "validatingadmissionpolicies/replicas/status", MERGE,
	     "{\"status\":{\"observedGeneration\":2}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(int_at(r.json, "status.observedGeneration"), 2);
	tresp_free(&r);
	o = table(t, AR "validatingadmissionpolicies", &r);
	assert_string_equal(tstr(o, "columnDefinitions[2].name"), "ParamKind");
	assert_int_equal(int_at(o, "rows[0].cells[1]"), 1);
	assert_string_equal(tstr(o, "rows[0].cells[2]"), "v1/ConfigMap");
	tresp_free(&r);
	o = tpost(t, AR "validatingadmissionpolicybindings",
		  "{\"apiVersion\":\"admissionregistration.k8s.io/v1\",\"kind\":"
		  "\"ValidatingAdmissionPolicyBinding\",\"metadata\":{\"name\":\"replicas\"},"
		  "\"spec\":{\"policyName\":\"replicas\",\"validationActions\":[\"Deny\"],"
		  "\"paramRef\":{\"name\":\"limits\"}}}",
		  201, &r);
	tresp_free(&r);
	o = table(t, AR "validatingadmissionpolicybindings", &r);
	assert_string_equal(tstr(o, "rows[0].cells[1]"), "replicas");
	/* printValidatingAdmissionPolicyBinding: no namespace is "*" */
	assert_string_equal(tstr(o, "rows[0].cells[2]"), "*/limits");
	tresp_free(&r);
	refused(t, AR "validatingadmissionpolicybindings",
		"{\"apiVersion\":\"admissionregistration.k8s.io/v1\",\"kind\":"
		"\"ValidatingAdmissionPolicyBinding\",\"metadata\":{\"name\":\"b\"},\"spec\":{"
		"\"policyName\":\"replicas\"}}",
		"spec.validationActions: Required value: at least one validation action is "
		"required");
	refused(t, AR "validatingadmissionpolicies",
		"{\"apiVersion\":\"admissionregistration.k8s.io/v1\",\"kind\":"
		"\"ValidatingAdmissionPolicy\",\"metadata\":{\"name\":\"p\"},\"spec\":{}}",
		"spec.validations: Required value: validations or auditAnnotations must contain "
		"at least one item");
	del(t, AR "validatingadmissionpolicybindings/replicas");
	del(t, AR "validatingadmissionpolicies/replicas");
}

/* ---- a FlowSchema and a level of one's own ---- */

static void test_flowcontrol_crud(void **state)
{
	struct tsrv *t = *state;
	const struct jv *o, *row;
	struct tresp r;

	o = tpost(t, FC "prioritylevelconfigurations",
		  "{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":"
		  "\"PriorityLevelConfiguration\",\"metadata\":{\"name\":\"mine\"},\"spec\":{"
		  "\"type\":\"Limited\",\"limited\":{\"limitResponse\":{\"type\":\"Queue\","
		  "\"queuing\":{}}}}}",
		  201, &r);
	/* flowcontrol/v1 defaults.go */
	assert_int_equal(int_at(o, "spec.limited.nominalConcurrencyShares"), 30);
	assert_int_equal(int_at(o, "spec.limited.lendablePercent"), 0);
	assert_int_equal(int_at(o, "spec.limited.limitResponse.queuing.queues"), 64);
	assert_int_equal(int_at(o, "spec.limited.limitResponse.queuing.handSize"), 8);
	assert_int_equal(int_at(o, "spec.limited.limitResponse.queuing.queueLengthLimit"), 50);
	tresp_free(&r);
	o = tpost(t, FC "flowschemas",
		  "{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":\"FlowSchema\","
		  "\"metadata\":{\"name\":\"mine\"},\"spec\":{\"priorityLevelConfiguration\":{"
		  "\"name\":\"mine\"},\"rules\":[{\"subjects\":[{\"kind\":\"User\",\"user\":{"
		  "\"name\":\"me\"}}],\"nonResourceRules\":[{\"verbs\":[\"*\"],"
		  "\"nonResourceURLs\":[\"*\"]}]}]}}",
		  201, &r);
	assert_int_equal(int_at(o, "spec.matchingPrecedence"), 1000);
	tresp_free(&r);
	treq(t, "PATCH", FC "flowschemas/mine", MERGE,
	     "{\"spec\":{\"distinguisherMethod\":{\"type\":\"ByUser\"}}}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	o = table(t, FC "flowschemas", &r);
	row = row_of(o, "mine");
	assert_non_null(row);
	assert_int_equal(int_at(row, "cells[2]"), 1000);
	assert_string_equal(tstr(row, "cells[3]"), "ByUser");
	/* no Dangling condition yet: printFlowSchema's "?" */
	assert_string_equal(tstr(row, "cells[5]"), "?");
	tresp_free(&r);
	/* ValidatePriorityLevelQueuingConfiguration, ValidateLimitedPriorityLevelConfiguration */
	refused(t, FC "prioritylevelconfigurations",
		"{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":"
		"\"PriorityLevelConfiguration\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"type\":"
		"\"Limited\",\"limited\":{\"limitResponse\":{\"type\":\"Queue\",\"queuing\":{"
		"\"queues\":4,\"handSize\":6}}}}}",
		"spec.limited.limitResponse.queuing.handSize: Invalid value: 6: should not be "
		"greater than queues (4)");
	refused(t, FC "prioritylevelconfigurations",
		"{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":"
		"\"PriorityLevelConfiguration\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"type\":"
		"\"Limited\",\"limited\":{\"lendablePercent\":101,\"limitResponse\":{\"type\":"
		"\"Reject\"}}}}",
		"spec.limited.lendablePercent: Invalid value: 101: must be between 0 and 100, "
		"inclusive");
	refused(t, FC "flowschemas",
		"{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":\"FlowSchema\","
		"\"metadata\":{\"name\":\"x\"},\"spec\":{\"matchingPrecedence\":20000,"
		"\"priorityLevelConfiguration\":{\"name\":\"\"}}}",
		"spec.matchingPrecedence: Invalid value: 20000: must not be greater than 10000");
	for (const char *const *p =
		 (const char *const[]){FC "flowschemas/mine", FC "prioritylevelconfigurations/mine",
				       NULL};
	     *p; p++) {
		del(t, *p);
	}
}

/* ---- events: one storage, two versions ---- */

static void test_event_core_to_v1(void **state)
{
	struct tsrv *t = *state;
	const struct jv *o;
	struct tresp r;

	tpost(t, CORE_EV,
	      "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"web.1\"},"
	      "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web\",\"namespace\":\"default\"},"
	      "\"reason\":\"Pulled\",\"message\":\"pulled nginx\",\"source\":{\"component\":"
	      "\"kubelet\",\"host\":\"n1\"},\"firstTimestamp\":\"2024-01-01T00:00:00Z\","
	      "\"lastTimestamp\":\"2024-01-01T00:01:00Z\",\"count\":4,\"type\":\"Normal\","
	      "\"reportingComponent\":\"kubelet\",\"reportingInstance\":\"n1\",\"action\":"
	      "\"Pull\",\"related\":{\"kind\":\"Node\",\"name\":\"n1\"},\"eventTime\":"
	      "\"2024-01-01T00:00:00.000000Z\",\"series\":{\"count\":2,\"lastObservedTime\":"
	      "\"2024-01-01T00:01:00.000000Z\"}}",
	      201, &r);
	tresp_free(&r);
	o = tget(t, V1_EV "/web.1", 200, &r);
	assert_string_equal(tstr(o, "apiVersion"), "events.k8s.io/v1");
	assert_string_equal(tstr(o, "kind"), "Event");
	assert_string_equal(tstr(o, "regarding.name"), "web");
	assert_string_equal(tstr(o, "note"), "pulled nginx");
	assert_string_equal(tstr(o, "deprecatedSource.host"), "n1");
	assert_string_equal(tstr(o, "deprecatedFirstTimestamp"), "2024-01-01T00:00:00Z");
	assert_string_equal(tstr(o, "deprecatedLastTimestamp"), "2024-01-01T00:01:00Z");
	assert_int_equal(int_at(o, "deprecatedCount"), 4);
	assert_string_equal(tstr(o, "reportingController"), "kubelet");
	assert_string_equal(tstr(o, "reportingInstance"), "n1");
	assert_string_equal(tstr(o, "action"), "Pull");
	assert_string_equal(tstr(o, "reason"), "Pulled");
	assert_string_equal(tstr(o, "related.kind"), "Node");
	assert_int_equal(int_at(o, "series.count"), 2);
	assert_string_equal(tstr(o, "eventTime"), "2024-01-01T00:00:00.000000Z");
	assert_string_equal(tstr(o, "type"), "Normal");
	/* none of core/v1's names shows through */
	assert_null(jv_get(o, "involvedObject"));
	assert_null(jv_get(o, "message"));
	assert_null(jv_get(o, "source"));
	assert_null(jv_get(o, "count"));
	assert_null(jv_get(o, "reportingComponent"));
	tresp_free(&r);
	/* the list of either version holds it, and the Table is the Event printer's */
	o = tget(t, "/apis/events.k8s.io/v1/events", 200, &r);
	assert_string_equal(tstr(o, "kind"), "EventList");
	assert_string_equal(tstr(o, "items[0].note"), "pulled nginx");
	tresp_free(&r);
	o = table(t, V1_EV, &r);
	assert_string_equal(tstr(o, "columnDefinitions[3].name"), "Object");
	assert_string_equal(tstr(o, "rows[0].cells[3]"), "pod/web");
	assert_string_equal(tstr(o, "rows[0].cells[6]"), "pulled nginx");
	tresp_free(&r);
	/* a write through events.k8s.io/v1 (its series: the one field it may change) is read
	 * through core/v1, the deprecated fields converted back unchanged */
	treq(t, "PATCH", V1_EV "/web.1", MERGE,
	     "{\"series\":{\"count\":3,\"lastObservedTime\":\"2024-01-01T00:02:00.000000Z\"}}",
	     NULL, &r);
	if (r.code != 200)
		fail_msg("PATCH: %ld %s", r.code, r.body);
	assert_int_equal(int_at(r.json, "series.count"), 3);
	assert_int_equal(int_at(r.json, "deprecatedCount"), 4);
	tresp_free(&r);
	o = tget(t, CORE_EV "/web.1", 200, &r);
	assert_int_equal(int_at(o, "series.count"), 3);
	assert_int_equal(int_at(o, "count"), 4);
	assert_string_equal(tstr(o, "message"), "pulled nginx");
	assert_string_equal(tstr(o, "source.host"), "n1");
	assert_string_equal(tstr(o, "firstTimestamp"), "2024-01-01T00:00:00Z");
	assert_string_equal(tstr(o, "lastTimestamp"), "2024-01-01T00:01:00Z");
	assert_string_equal(tstr(o, "reportingComponent"), "kubelet");
	assert_string_equal(tstr(o, "involvedObject.name"), "web");
	assert_null(jv_get(o, "note"));
	assert_null(jv_get(o, "deprecatedCount"));
	tresp_free(&r);
	/* ValidateEventUpdate (events.k8s.io/v1): the rest is immutable, named as the internal
	 * type names it */
	treq(t, "PATCH", V1_EV "/web.1", MERGE, "{\"note\":\"pulled nginx again\"}", NULL, &r);
	assert_int_equal(r.code, 422);
	assert_non_null(strstr(r.body,
			       "message: Invalid value: \\\"pulled nginx again\\\": field is "
			       "immutable"));
	tresp_free(&r);
	/* core/v1 writes are not held to that (the legacy rules only) */
	treq(t, "PATCH", CORE_EV "/web.1", MERGE, "{\"message\":\"pulled nginx again\"}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	o = tget(t, V1_EV "/web.1", 200, &r);
	assert_string_equal(tstr(o, "note"), "pulled nginx again");
	tresp_free(&r);
	del(t, V1_EV "/web.1");
	tget(t, CORE_EV "/web.1", 404, &r);
	tresp_free(&r);
}

static void test_event_v1_to_core(void **state)
{
	struct tsrv *t = *state;
	const struct jv *o;
	struct tresp r;

	o = tpost(t, V1_EV,
		  "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"
		  "\"db.1\"},\"regarding\":{\"kind\":\"Pod\",\"name\":\"db\",\"namespace\":"
		  "\"default\"},\"reason\":\"Killing\",\"note\":\"stopping db\",\"type\":"
		  "\"Warning\",\"action\":\"Kill\",\"reportingController\":\"example.com/ctl\","
		  "\"reportingInstance\":\"ctl-1\",\"eventTime\":\"2024-02-01T00:00:00.000000Z\","
		  "\"related\":{\"kind\":\"Node\",\"name\":\"n2\"},\"series\":{\"count\":3,"
		  "\"lastObservedTime\":\"2024-02-01T00:02:00.000000Z\"}}",
		  201, &r);
	/* the answer to a v1 write is v1 */
	assert_string_equal(tstr(o, "apiVersion"), "events.k8s.io/v1");
	assert_string_equal(tstr(o, "note"), "stopping db");
	tresp_free(&r);
	o = tget(t, CORE_EV "/db.1", 200, &r);
	assert_string_equal(tstr(o, "apiVersion"), "v1");
	assert_string_equal(tstr(o, "involvedObject.name"), "db");
	assert_string_equal(tstr(o, "message"), "stopping db");
	assert_string_equal(tstr(o, "reportingComponent"), "example.com/ctl");
	assert_string_equal(tstr(o, "reportingInstance"), "ctl-1");
	assert_string_equal(tstr(o, "action"), "Kill");
	assert_string_equal(tstr(o, "reason"), "Killing");
	assert_string_equal(tstr(o, "type"), "Warning");
	assert_string_equal(tstr(o, "related.name"), "n2");
	assert_int_equal(int_at(o, "series.count"), 3);
	assert_string_equal(tstr(o, "eventTime"), "2024-02-01T00:00:00.000000Z");
	assert_null(jv_get(o, "regarding"));
	assert_null(jv_get(o, "note"));
	assert_null(jv_get(o, "deprecatedCount"));
	assert_null(jv_get(o, "reportingController"));
	tresp_free(&r);
	del(t, CORE_EV "/db.1");
}

#define V1_EVENT(name, extra)                                                                    \
	"{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"" name \
	"\"},\"regarding\":{\"kind\":\"Pod\",\"name\":\"db\",\"namespace\":\"default\"},"        \
	"\"reason\":"                                                                            \
	"\"Killing\",\"note\":\"n\",\"type\":\"Warning\",\"action\":\"Kill\","                   \
	"\"reportingController\":"                                                               \
	"\"example.com/ctl\",\"reportingInstance\":\"ctl-1\",\"eventTime\":"                     \
	"\"2024-02-01T00:00:00.000000Z\"" extra "}"

/* pkg/apis/core/validation/events.go: ValidateEventCreate by the request's version */
static void test_event_validation(void **state)
{
	struct tsrv *t = *state;

	/* events.k8s.io/v1: the deprecated fields stay unset */
	refused(t, V1_EV, V1_EVENT("e1", ",\"deprecatedCount\":7"),
		"count: Invalid value: \\\"\\\": needs to be unset");
	refused(t, V1_EV, V1_EVENT("e1", ",\"deprecatedSource\":{\"component\":\"old\"}"),
		"source: Invalid value: \\\"\\\": needs to be unset");
	refused(t, V1_EV, V1_EVENT("e1", ",\"deprecatedFirstTimestamp\":\"2024-02-01T00:00:00Z\""),
		"firstTimestamp: Invalid value: \\\"\\\": needs to be unset");
	refused(t, V1_EV, V1_EVENT("e1", ",\"type\":\"Info\""),
		"type: Invalid value: \\\"\\\": has invalid value: Info");
	refused(t, V1_EV,
		V1_EVENT("e1", ",\"series\":{\"count\":1,\"lastObservedTime\":"
			       "\"2024-02-01T00:00:00.000000Z\"}"),
		"series.count: Invalid value: \\\"\\\": should be at least 2");
	refused(t, V1_EV, V1_EVENT("E1", ""),
		"metadata.name: Invalid value: \\\"E1\\\": a lowercase RFC 1123 subdomain");
	refused(t, V1_EV,
		"{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"
		"\"e1\"},\"regarding\":{\"namespace\":\"default\"},\"type\":\"Normal\"}",
		"eventTime: Required value");
	/* an Event with eventTime names its reporter (legacyValidateEvent: the field named
	 * after the request's version) */
	refused(
	    t, V1_EV,
	    "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"
	    "\"e1\"},\"regarding\":{\"namespace\":\"default\"},\"type\":\"Normal\",\"eventTime\":"
	    "\"2024-02-01T00:00:00.000000Z\",\"action\":\"A\",\"reason\":\"R\","
	    "\"reportingInstance\":\"i\"}",
	    "reportingController: Required value");
	refused(t, CORE_EV,
		"{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e1\"},"
		"\"involvedObject\":{\"namespace\":\"default\"},\"eventTime\":"
		"\"2024-02-01T00:00:00.000000Z\",\"action\":\"A\",\"reason\":\"R\","
		"\"reportingInstance\":\"i\"}",
		"reportingComponent: Required value");
	/* core/v1 without eventTime: only the involved object's namespace */
	refused(t, CORE_EV,
		"{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e1\"},"
		"\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\",\"namespace\":\"other\"}}",
		"involvedObject.namespace: Invalid value: \\\"other\\\": does not match "
		"event.namespace");
}

/* ---- discovery ---- */

static void test_discovery(void **state)
{
	struct tsrv *t = *state;
	const struct jv *o;
	struct tresp r;
	size_t n = 0;

	o = tget(t, AR, 200, &r);
	for (const struct jv *res = jv_first(jv_get(o, "resources")); res; res = res->next) {
		if (strchr(tstr(res, "name"), '/'))
			continue;
		assert_string_equal(tstr(res, "categories[0]"), "api-extensions");
		assert_false(jv_is_str(jv_get(res, "namespaced"), "true"));
		n++;
	}
	assert_int_equal(n, 4);
	tresp_free(&r);
	o = tget(t, "/apis/events.k8s.io/v1", 200, &r);
	assert_string_equal(tstr(o, "resources[0].name"), "events");
	assert_string_equal(tstr(o, "resources[0].shortNames[0]"), "ev");
	tresp_free(&r);
	o = tget(t, "/apis/apiregistration.k8s.io/v1", 200, &r);
	assert_string_equal(tstr(o, "resources[0].name"), "apiservices");
	assert_string_equal(tstr(o, "resources[1].name"), "apiservices/status");
	tresp_free(&r);
	o = tget(t, FC, 200, &r);
	assert_int_equal(jv_count(jv_get(o, "resources")), 4);
	tresp_free(&r);
}

/* A restart keeps the bootstrap objects in step: a deleted one comes back, a local APIService
 * the server made for a group/version it no longer serves goes, one a user made stays. */
static void test_restart_reconciles(void **state)
{
	struct tsrv t;
	struct tresp r;

	(void)state;
	tsrv_start(&t);
	for (size_t i = 0; i < 2; i++) {
		char body[512];

		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"apiregistration.k8s.io/v1\",\"kind\":\"APIService\","
			 "\"metadata\":{\"name\":\"v1.%s.example.com\"%s},\"spec\":{\"group\":"
			 "\"%s.example.com\",\"version\":\"v1\",\"groupPriorityMinimum\":100,"
			 "\"versionPriority\":100}}",
			 i ? "kept" : "gone",
			 i ? ""
			   : ",\"labels\":{\"kube-aggregator.kubernetes.io/automanaged\":"
			     "\"onstart\"}",
			 i ? "kept" : "gone");
		tpost(&t, APISVC, body, 201, &r);
		tresp_free(&r);
	}
	for (const char *const *p =
		 (const char *const[]){FC "flowschemas/probes", APISVC "/v1.apps", NULL};
	     *p; p++) {
		del(&t, *p);
	}
	/* the same data directory, a new server */
	tsrv_restart(&t);
	tget(&t, APISVC "/v1.gone.example.com", 404, &r);
	tresp_free(&r);
	tget(&t, APISVC "/v1.kept.example.com", 200, &r);
	tresp_free(&r);
	tget(&t, APISVC "/v1.apps", 200, &r);
	tresp_free(&r);
	tget(&t, FC "flowschemas/probes", 200, &r);
	assert_string_equal(tstr(r.json, "status.conditions[0].type"), "Dangling");
	tresp_free(&r);
	tsrv_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apf_bootstrap),
	    cmocka_unit_test(test_local_apiservices),
	    cmocka_unit_test(test_apiservice_crud),
	    cmocka_unit_test(test_webhook_configurations),
	    cmocka_unit_test(test_webhook_validation),
	    cmocka_unit_test(test_admission_policies),
	    cmocka_unit_test(test_flowcontrol_crud),
	    cmocka_unit_test(test_event_core_to_v1),
	    cmocka_unit_test(test_event_v1_to_core),
	    cmocka_unit_test(test_event_validation),
	    cmocka_unit_test(test_discovery),
	    cmocka_unit_test(test_restart_reconciles),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
