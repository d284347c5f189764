/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serverconfig: the strategies of the kinds that configure the API server itself:
 * admissionregistration.k8s.io/v1 webhook configurations and ValidatingAdmissionPolicies
 * (+Bindings), flowcontrol.apiserver.k8s.io/v1 FlowSchemas and PriorityLevelConfigurations,
 * and apiregistration.k8s.io/v1 APIServices. Defaults as each group's v1 defaults.go sets
 * them, the validation of pkg/apis/admissionregistration/validation, pkg/apis/flowcontrol/
 * validation and kube-aggregator's pkg/apis/apiregistration/validation that a client meets,
 * with their wording, the policies' CEL expressions compiled (control/api/cel). The
 * registry calls the admission webhooks (registry/reg_webhook.c) and evaluates the
 * policies (registry/reg_vap.c); drover enforces no flow control yet: those objects are
 * stored and served.
 */
#include <stdio.h>
#include <string.h>

#include "api_obj.h"
#include "api_selector.h"
#include "api_strategy.h"
#include "cel.h"
#include "registry.h"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

/* Set key of o to the JSON text dflt unless o has it. */
static void dflt(struct api_admit *a, struct jv *o, const char *key, const char *json)
{
	if (!o || o->type != JV_OBJECT || jv_get(o, key))
		return;
	jv_set(a->d, o, key, jv_parse(a->d, json, strlen(json), NULL));
}

static void cause_invalid_str(struct api_admit *a, const char *field, const char *s, size_t n,
			      const char *why)
{
	struct jv v = {.type = JV_STRING, .s = (char *)s, .len = n};
	char buf[512];

	/* api_cause_invalid prints v->s as a C string: copy the n bytes */
	snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
	v.s = buf;
	v.len = strlen(buf);
	api_cause_invalid(a, field, &v, why);
}

/* ---- admissionregistration.k8s.io/v1 webhook configurations ---- */

/* admissionregistration/v1 defaults.go: SetDefaults_ValidatingWebhook, _MutatingWebhook
 * (reinvocationPolicy), _Rule (scope) and _ServiceReference (port). */
static void webhooks_defaults(struct api_admit *a, bool mutating)
{
	EACH(w, jv_get(a->obj, "webhooks"))
	{
		if (w->type != JV_OBJECT)
			continue;
		dflt(a, w, "failurePolicy", "\"Fail\"");
		dflt(a, w, "matchPolicy", "\"Equivalent\"");
		dflt(a, w, "namespaceSelector", "{}");
		dflt(a, w, "objectSelector", "{}");
		dflt(a, w, "timeoutSeconds", "10");
		if (mutating)
			dflt(a, w, "reinvocationPolicy", "\"Never\"");
		EACH(r, jv_get(w, "rules"))
		dflt(a, r, "scope", "\"*\"");
		dflt(a, jv_path(w, "clientConfig.service"), "port", "443");
	}
}

/* utilvalidation.IsFullyQualifiedName */
static void validate_fq_name(struct api_admit *a, const char *field, const struct jv *name)
{
	const char *why, *s = name && name->type == JV_STRING ? name->s : "";
	int dots = 0;

	if (!s[0]) {
		api_cause_required(a, field, NULL);
		return;
	}
	why = api_dns1123_subdomain_error(s);
	if (why) {
		api_cause_invalid(a, field, name, why);
		return;
	}
	for (const char *p = s; *p; p++)
		dots += *p == '.';
	if (dots < 2)
		api_cause_invalid(
		    a, field, name,
		    "should be a domain with at least three segments separated by dots");
}

/* k8s.io/apiserver/pkg/util/webhook ValidateWebhookURL(fldPath, url, forceHttps=true): the
 * parts of the URL as net/url.Parse splits them. */
static void validate_webhook_url(struct api_admit *a, const char *field, const char *url)
{
	static const char form[] = "; desired format: https://host[/path]";
	const char *sep = strstr(url, "://"), *auth = sep ? sep + 3 : url, *end, *at, *q, *frag;
	size_t scheme_len = sep ? (size_t)(sep - url) : 0;
	char why[160];

	/* without "//", url.Parse leaves no host (an opaque or relative URL) */
	if (!sep)
		auth = url + strlen(url);
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (scheme_len != 5 || strncmp(url, "https", 5) != 0) {
		snprintf(why, sizeof(why), "'https' is the only allowed URL scheme%s", form);
		cause_invalid_str(a, field, url, scheme_len, why);
	}
	if (at ? end == at + 1 : end == auth) {
		snprintf(why, sizeof(why), "host must be specified%s", form);
		cause_invalid_str(a, field, "", 0, why);
	}
	if (at)
		cause_invalid_str(a, field, auth, (size_t)(at - auth),
				  "user information is not permitted in the URL");
	frag = strchr(url, '#');
	if (frag && frag[1])
		cause_invalid_str(a, field, frag + 1, strlen(frag + 1),
				  "fragments are not permitted in the URL");
	q = strchr(url, '?');
	if (q && (!frag || q < frag) && q[1] && q + 1 != frag)
		cause_invalid_str(a, field, q + 1, frag ? (size_t)(frag - q - 1) : strlen(q + 1),
				  "query parameters are not permitted in the URL");
}

/* ValidateWebhookService (the port and the path's start; the path's segments are not
 * checked here) */
static void validate_webhook_service(struct api_admit *a, const char *field, const struct jv *svc)
{
	const char *path = jv_path_str(svc, "path");
	char f[256];
	int64_t port = 443;

	if (!jv_path_str(svc, "name") || !jv_path_str(svc, "name")[0]) {
		snprintf(f, sizeof(f), "%.200s.name", field);
		api_cause_required(a, f, "service name is required");
	}
	if (!jv_path_str(svc, "namespace") || !jv_path_str(svc, "namespace")[0]) {
		snprintf(f, sizeof(f), "%.200s.namespace", field);
		api_cause_required(a, f, "service namespace is required");
	}
	if (jv_path_int(svc, "port", &port) == 0 && (port < 1 || port > 65535)) {
		snprintf(f, sizeof(f), "%.200s.port", field);
		api_cause(a, f, K8S_REASON_INVALID,
			  "Invalid value: %lld: port is not valid: must be between 1 and 65535, "
			  "inclusive",
			  (long long)port);
	}
	if (!path || !path[0] || strcmp(path, "/") == 0)
		return;
	snprintf(f, sizeof(f), "%.200s.path", field);
	if (strcmp(path, "//") == 0)
		api_cause_invalid(a, f, jv_get(svc, "path"), "segment[0] may not be empty");
	else if (path[0] != '/')
		api_cause_invalid(a, f, jv_get(svc, "path"), "must start with a '/'");
}

/* validateAdmissionReviewVersions (requireRecognizedAdmissionReviewVersion: on create, and
 * on update when the old object had them recognised; drover requires them always) */
static void validate_review_versions(struct api_admit *a, const char *field, const struct jv *vs)
{
	bool accepted = false;
	char f[256];
	size_t i = 0;

	if (!jv_count(vs)) {
		api_cause_required(a, field, "must specify one of v1, v1beta1");
		return;
	}
	EACH(v, (struct jv *)vs)
	{
		const char *why = v->type == JV_STRING ? api_dns1123_label_error(v->s) : NULL;

		snprintf(f, sizeof(f), "%.200s[%zu]", field, i);
		for (const struct jv *p = vs->head; p != v; p = p->next)
			if (jv_equal(p, v)) {
				api_cause_invalid(a, f, v, "duplicate version");
				goto next;
			}
		if (why)
			api_cause_invalid(a, f, v, why);
		accepted |= jv_is_str(v, "v1") || jv_is_str(v, "v1beta1");
	next:
		i++;
	}
	if (!accepted) {
		/* the value as Go's %#v prints a []string */
		char list[256] = "";

		EACH(v, (struct jv *)vs)
		{
			size_t n = strlen(list);

			snprintf(list + n, sizeof(list) - n, "%s\"%.40s\"", n ? ", " : "",
				 v->type == JV_STRING ? v->s : "");
		}
		api_cause(a, field, K8S_REASON_INVALID,
			  "Invalid value: []string{%s}: must include at least one of v1, v1beta1",
			  list);
	}
}

/* validateRuleWithOperations and validateRule: what each rule must name (a '*' among
 * others, subresources and scopes are not checked here) */
static void validate_rule(struct api_admit *a, const char *field, const struct jv *rule)
{
	static const char *const required[] = {"operations", "apiGroups", "apiVersions",
					       "resources"};
	char f[256];

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (jv_count(jv_get(rule, required[i])))
			continue;
		snprintf(f, sizeof(f), "%.200s.%s", field, required[i]);
		api_cause_required(a, f, NULL);
	}
}

/* validateValidatingWebhook / validateMutatingWebhook: the rules a client meets (names,
 * rules, clientConfig, sideEffects, timeoutSeconds), in its order */
static void validate_webhook(struct api_admit *a, const struct jv *w, size_t i)
{
	const struct jv *cc = jv_get(w, "clientConfig"), *url = jv_get(cc, "url");
	const struct jv *svc = jv_get(cc, "service"), *se = jv_get(w, "sideEffects");
	char f[256], g[256];
	int64_t t;

	size_t j = 0;

	snprintf(f, sizeof(f), "webhooks[%zu].name", i);
	validate_fq_name(a, f, jv_get(w, "name"));
	EACH(rule, jv_get(w, "rules"))
	{
		snprintf(f, sizeof(f), "webhooks[%zu].rules[%zu]", i, j++);
		validate_rule(a, f, rule);
	}
	snprintf(f, sizeof(f), "webhooks[%zu].sideEffects", i);
	if (!se)
		api_cause_required(a, f, "must specify one of None, NoneOnDryRun");
	else if (!jv_is_str(se, "None") && !jv_is_str(se, "NoneOnDryRun"))
		api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: \"None\", \"NoneOnDryRun\"",
			  se->type == JV_STRING ? se->s : "");
	snprintf(f, sizeof(f), "webhooks[%zu].timeoutSeconds", i);
	if (jv_path_int(w, "timeoutSeconds", &t) == 0 && (t < 1 || t > 30))
		api_cause(a, f, K8S_REASON_INVALID,
			  "Invalid value: %lld: the timeout value must be between 1 and 30 seconds",
			  (long long)t);
	snprintf(f, sizeof(f), "webhooks[%zu].clientConfig", i);
	if (!url == !svc) {
		api_cause_required(a, f, "exactly one of url or service is required");
	} else if (url) {
		snprintf(g, sizeof(g), "%.200s.url", f);
		validate_webhook_url(a, g, url->type == JV_STRING ? url->s : "");
	} else {
		snprintf(g, sizeof(g), "%.200s.service", f);
		validate_webhook_service(a, g, svc);
	}
}

/* validateValidatingWebhookConfiguration / validateMutatingWebhookConfiguration: each
 * webhook, its admissionReviewVersions, then names unique */
static void webhooks_validate(struct api_admit *a)
{
	const struct jv *hooks = jv_get(a->obj, "webhooks");
	char f[256];
	size_t i = 0;

	EACH(w, (struct jv *)hooks)
	{
		const struct jv *name = jv_get(w, "name");

		validate_webhook(a, w, i);
		snprintf(f, sizeof(f), "webhooks[%zu].admissionReviewVersions", i);
		validate_review_versions(a, f, jv_get(w, "admissionReviewVersions"));
		if (name && name->type == JV_STRING && name->len) {
			for (const struct jv *p = hooks->head; p != w; p = p->next)
				if (jv_equal(jv_get(p, "name"), name)) {
					snprintf(f, sizeof(f), "webhooks[%zu].name", i);
					api_cause(a, f, K8S_REASON_DUPLICATE,
						  "Duplicate value: \"%s\"", name->s);
					break;
				}
		}
		i++;
	}
}

static void mutating_defaults(struct api_admit *a)
{
	webhooks_defaults(a, true);
}

static void validating_defaults(struct api_admit *a)
{
	webhooks_defaults(a, false);
}

/* A configuration was written or deleted: the registry's webhook cache reads them again
 * (registry/reg_webhook.c) before the next write's admission. */
static void webhooks_changed(struct registry *reg)
{
	if (reg)
		__atomic_add_fetch(&reg->webhook_gen, 1, __ATOMIC_RELEASE);
}

static void webhooks_committed(struct api_admit *a)
{
	webhooks_changed(a->reg);
}

static void webhooks_released(struct registry *reg, const struct jv *obj)
{
	(void)obj;
	webhooks_changed(reg);
}

const struct api_strategy api_strategy_mutatingwebhooks = {
    .defaults = mutating_defaults,
    .validate = webhooks_validate,
    .committed = webhooks_committed,
    .release = webhooks_released,
};

const struct api_strategy api_strategy_validatingwebhooks = {
    .defaults = validating_defaults,
    .validate = webhooks_validate,
    .committed = webhooks_committed,
    .release = webhooks_released,
};

/* ---- ValidatingAdmissionPolicy and its Binding ---- */

/* SetDefaults_ValidatingAdmissionPolicySpec (failurePolicy) and SetDefaults_MatchResources
 * (of the policy's matchConstraints and the binding's matchResources) */
static void match_resources_defaults(struct api_admit *a, struct jv *mr)
{
	if (!mr || mr->type != JV_OBJECT)
		return;
	dflt(a, mr, "matchPolicy", "\"Equivalent\"");
	dflt(a, mr, "namespaceSelector", "{}");
	dflt(a, mr, "objectSelector", "{}");
	EACH(r, jv_get(mr, "resourceRules"))
	dflt(a, r, "scope", "\"*\"");
	EACH(r, jv_get(mr, "excludeResourceRules"))
	dflt(a, r, "scope", "\"*\"");
}

static void policy_defaults(struct api_admit *a)
{
	struct jv *spec = jv_get(a->obj, "spec");

	dflt(a, spec, "failurePolicy", "\"Fail\"");
	match_resources_defaults(a, jv_get(spec, "matchConstraints"));
}

static void binding_defaults(struct api_admit *a)
{
	match_resources_defaults(a, jv_path(a->obj, "spec.matchResources"));
}

/* validateValidatingAdmissionPolicyExpression: the member key of each item of list at path
 * compiles, with the variables the policy declares (params only with a paramKind) */
static void compile_each(struct api_admit *a, const struct jv *list, const char *path,
			 const char *key, bool params)
{
	static const char *const with[] = {"object",	"oldObject",  "request", "namespaceObject",
					   "variables", "authorizer", "params"};
	char err[1024], f[256], why[1100];
	size_t i = 0;

	EACH(x, (struct jv *)list)
	{
		const char *e = jv_path_str(x, key);
		struct cel_program *p;

		if (e && e[0]) {
			p = cel_compile(e, with, params ? 7 : 6, err, sizeof(err));
			if (!p) {
				snprintf(f, sizeof(f), "%s[%zu].%s", path, i, key);
				snprintf(why, sizeof(why), "compilation failed: %s", err);
				api_cause_invalid(a, f, jv_get(x, key), why);
			}
			cel_program_free(p);
		}
		i++;
	}
}

/* validateValidatingAdmissionPolicySpec: what must be there, and the expressions compile */
static void policy_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	bool params = jv_get(spec, "paramKind") != NULL;

	if (a->sub)
		return; /* status: written by the policy's type checker */
	compile_each(a, jv_get(spec, "validations"), "spec.validations", "expression", params);
	compile_each(a, jv_get(spec, "validations"), "spec.validations", "messageExpression",
		     params);
	compile_each(a, jv_get(spec, "matchConditions"), "spec.matchConditions", "expression",
		     params);
	compile_each(a, jv_get(spec, "variables"), "spec.variables", "expression", params);
	if (!jv_get(spec, "matchConstraints"))
		api_cause_required(a, "spec.matchConstraints", NULL);
	if (!jv_count(jv_get(spec, "validations")) && !jv_count(jv_get(spec, "auditAnnotations")))
		api_cause_required(
		    a, "spec.validations",
		    "validations or auditAnnotations must contain at least one item");
}

/* validateValidatingAdmissionPolicyBindingSpec */
static void binding_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");

	if (!jv_path_str(spec, "policyName") || !jv_path_str(spec, "policyName")[0])
		api_cause_required(a, "spec.policyName", NULL);
	if (!jv_count(jv_get(spec, "validationActions")))
		api_cause_required(a, "spec.validationActions",
				   "at least one validation action is required");
}

const struct api_strategy api_strategy_admissionpolicies = {
    .defaults = policy_defaults,
    .validate = policy_validate,
};

const struct api_strategy api_strategy_policybindings = {
    .defaults = binding_defaults,
    .validate = binding_validate,
};

/* ---- flowcontrol.apiserver.k8s.io/v1 ---- */

/* flowcontrol/v1 defaults.go: SetDefaults_FlowSchemaSpec */
static void flowschema_defaults(struct api_admit *a)
{
	struct jv *spec = jv_get(a->obj, "spec");
	int64_t p = 0;

	if (spec && spec->type == JV_OBJECT && jv_path_int(spec, "matchingPrecedence", &p) == 0 &&
	    p == 0)
		jv_del(spec, "matchingPrecedence");
	dflt(a, spec, "matchingPrecedence", "1000");
}

/* ValidateFlowSchemaSpec: the reference and the precedence */
static void flowschema_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	int64_t p = 0;

	if (a->sub)
		return;
	if (jv_path_int(spec, "matchingPrecedence", &p) == 0 && p <= 0)
		api_cause_invalid(a, "spec.matchingPrecedence", jv_get(spec, "matchingPrecedence"),
				  "must be a positive value");
	else if (p > 10000)
		api_cause_invalid(a, "spec.matchingPrecedence", jv_get(spec, "matchingPrecedence"),
				  "must not be greater than 10000");
	if (!jv_path_str(spec, "priorityLevelConfiguration.name") ||
	    !jv_path_str(spec, "priorityLevelConfiguration.name")[0])
		api_cause_required(a, "spec.priorityLevelConfiguration.name",
				   "must reference a priority level");
}

const struct api_strategy api_strategy_flowschemas = {
    .defaults = flowschema_defaults,
    .validate = flowschema_validate,
};

/* SetDefaults_PriorityLevelConfiguration (v1: nominalConcurrencyShares 30 when unset),
 * _LimitedPriorityLevelConfiguration, _ExemptPriorityLevelConfiguration and
 * _QueuingConfiguration (a zero is unset) */
static void prioritylevel_defaults(struct api_admit *a)
{
	struct jv *lim = jv_path(a->obj, "spec.limited"), *q;
	static const char *const queuing[][2] = {
	    {"handSize", "8"}, {"queues", "64"}, {"queueLengthLimit", "50"}};

	dflt(a, lim, "nominalConcurrencyShares", "30");
	dflt(a, lim, "lendablePercent", "0");
	dflt(a, jv_path(a->obj, "spec.exempt"), "nominalConcurrencyShares", "0");
	dflt(a, jv_path(a->obj, "spec.exempt"), "lendablePercent", "0");
	q = jv_path(lim, "limitResponse.queuing");
	for (size_t i = 0; q && q->type == JV_OBJECT && i < 3; i++) {
		int64_t v = 0;

		if (jv_path_int(q, queuing[i][0], &v) == 0 && v == 0)
			jv_del(q, queuing[i][0]);
		dflt(a, q, queuing[i][0], queuing[i][1]);
	}
}

/* A positive integer at path of o (0 when absent), else field.Invalid "must be positive". */
static int64_t positive(struct api_admit *a, const struct jv *o, const char *path,
			const char *field)
{
	int64_t v = 0;

	jv_path_int(o, path, &v);
	if (v <= 0)
		api_cause(a, field, K8S_REASON_INVALID, "Invalid value: %lld: must be positive",
			  (long long)v);
	return v;
}

/* ValidateLimitResponse and ValidatePriorityLevelQueuingConfiguration */
static void validate_limit_response(struct api_admit *a, const struct jv *lr)
{
	const struct jv *q = jv_get(lr, "queuing");
	int64_t queues, hand;

	if (jv_is_str(jv_get(lr, "type"), "Reject")) {
		if (q)
			api_cause(a, "spec.limited.limitResponse.queuing", "FieldValueForbidden",
				  "Forbidden: must be nil if limited.limitResponse.type is not "
				  "Limited");
		return;
	}
	if (!jv_is_str(jv_get(lr, "type"), "Queue"))
		return; /* the schema's enum reports it */
	if (!q) {
		api_cause_required(a, "spec.limited.limitResponse.queuing",
				   "must not be empty if limited.limitResponse.type is Limited");
		return;
	}
	positive(a, q, "queueLengthLimit", "spec.limited.limitResponse.queuing.queueLengthLimit");
	queues = positive(a, q, "queues", "spec.limited.limitResponse.queuing.queues");
	hand = positive(a, q, "handSize", "spec.limited.limitResponse.queuing.handSize");
	if (hand > 0 && queues > 0 && hand > queues)
		api_cause(a, "spec.limited.limitResponse.queuing.handSize", K8S_REASON_INVALID,
			  "Invalid value: %lld: should not be greater than queues (%lld)",
			  (long long)hand, (long long)queues);
}

/* ValidatePriorityLevelConfigurationSpec and ValidateLimitedPriorityLevelConfiguration */
static void prioritylevel_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec"), *lim = jv_get(spec, "limited");
	int64_t v;

	if (a->sub)
		return;
	if (jv_is_str(jv_get(spec, "type"), "Exempt") && lim)
		api_cause(a, "spec.limited", "FieldValueForbidden",
			  "Forbidden: must be nil if the type is not Limited");
	if (!jv_is_str(jv_get(spec, "type"), "Limited"))
		return;
	if (!lim) {
		api_cause_required(a, "spec.limited", "must not be empty when type is Limited");
		return;
	}
	if (jv_path_int(lim, "nominalConcurrencyShares", &v) == 0 && v < 0)
		api_cause(a, "spec.limited.nominalConcurrencyShares", K8S_REASON_INVALID,
			  "Invalid value: %lld: must be a non-negative integer", (long long)v);
	validate_limit_response(a, jv_get(lim, "limitResponse"));
	if (jv_path_int(lim, "lendablePercent", &v) == 0 && (v < 0 || v > 100))
		api_cause(a, "spec.limited.lendablePercent", K8S_REASON_INVALID,
			  "Invalid value: %lld: must be between 0 and 100, inclusive",
			  (long long)v);
	if (jv_path_int(lim, "borrowingLimitPercent", &v) == 0 && v < 0)
		api_cause(a, "spec.limited.borrowingLimitPercent", K8S_REASON_INVALID,
			  "Invalid value: %lld: if specified, must be a non-negative integer",
			  (long long)v);
}

const struct api_strategy api_strategy_prioritylevels = {
    .defaults = prioritylevel_defaults,
    .validate = prioritylevel_validate,
};

/* ---- apiregistration.k8s.io/v1 APIService ---- */

/* apiServerStrategy.PrepareForCreate resets status; what kube-aggregator's availability
 * controller then says of a local APIService (no spec.service) is said here at once. */
static void apiservice_prepare_create(struct api_admit *a)
{
	char now[32], cond[256];

	jv_del(a->obj, "status");
	if (jv_path(a->obj, "spec.service"))
		return;
	snprintf(cond, sizeof(cond),
		 "{\"conditions\":[{\"type\":\"Available\",\"status\":\"True\","
		 "\"lastTransitionTime\":\"%s\",\"reason\":\"Local\",\"message\":\"Local "
		 "APIServices are always available\"}]}",
		 api_now(now));
	jv_set(a->d, a->obj, "status", jv_parse(a->d, cond, strlen(cond), NULL));
}

static void apiservice_defaults(struct api_admit *a)
{
	/* apiregistration/v1 SetDefaults_ServiceReference */
	dflt(a, jv_path(a->obj, "spec.service"), "port", "443");
}

/* ValidateAPIService */
static void apiservice_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	const char *group = jv_path_str(spec, "group") ?: "";
	const char *version = jv_path_str(spec, "version") ?: "";
	const char *name = jv_path_str(a->obj, "metadata.name");
	char want[320], why[400];
	int64_t p = 0;

	if (a->sub)
		return;
	snprintf(want, sizeof(want), "%s.%s", version, group);
	if (name && name[0] && strcmp(name, want) != 0) {
		snprintf(why, sizeof(why), "must be `spec.version+\".\"+spec.group`: \"%s\"", want);
		api_cause_invalid(a, "metadata.name", jv_path(a->obj, "metadata.name"), why);
	}
	if (!group[0] && strcmp(version, "v1") != 0)
		api_cause_required(a, "spec.group",
				   "only v1 may have an empty group and it better be legacy kube");
	if (jv_path_int(spec, "groupPriorityMinimum", &p) != 0 || p <= 0 || p > 20000)
		api_cause(a, "spec.groupPriorityMinimum", K8S_REASON_INVALID,
			  "Invalid value: %lld: must be positive and less than 20000",
			  (long long)p);
	p = 0;
	if (jv_path_int(spec, "versionPriority", &p) != 0 || p <= 0 || p > 1000)
		api_cause(a, "spec.versionPriority", K8S_REASON_INVALID,
			  "Invalid value: %lld: must be positive and less than 1000", (long long)p);
}

const struct api_strategy api_strategy_apiservices = {
    .name_rule = API_NAME_PATH,
    .prepare_create = apiservice_prepare_create,
    .defaults = apiservice_defaults,
    .validate = apiservice_validate,
};
