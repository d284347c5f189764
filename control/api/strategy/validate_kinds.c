/* SPDX-License-Identifier: Apache-2.0 */
/*
 * validate_kinds: the validation of the kinds outside core's pod and service rules, with the
 * field paths, wording and order of their pkg/apis/<group>/validation: Deployment strategies
 * (apps ValidateDeploymentStrategy), NetworkPolicy ipBlocks (networking ValidateIPBlock),
 * Ingress hosts and paths (networking validateIngressRules/validateHTTPIngressPath),
 * ResourceQuota resource names (core ValidateResourceQuotaResourceName), role bindings' roleRef
 * and subjects (rbac ValidateRoleBinding/ValidateClusterRoleBinding/ValidateRoleBindingSubject),
 * PodDisruptionBudgets (policy ValidatePodDisruptionBudgetSpec) and HPAs (autoscaling
 * validateHorizontalPodAutoscalerSpec).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "kinds.h"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

/* ---- apps: IntOrString percentages (pkg/apis/apps/validation) ---- */

#define PERCENT_MSG                                                                              \
	"a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', " \
	" or '93%', regex used for validation is '[0-9]+%')"

/* IsValidPercent: [0-9]+% and nothing else; its number into *pct. */
static bool valid_percent(const struct jv *v, long *pct)
{
	size_t n = v->len, i;

	if (n < 2 || v->s[n - 1] != '%')
		return false;
	for (i = 0; i + 1 < n; i++)
		if (v->s[i] < '0' || v->s[i] > '9')
			return false;
	*pct = strtol(v->s, NULL, 10);
	return true;
}

/* How field.Invalid prints an intstr.IntOrString value (%#v: it has no value String()). */
static void intstr_invalid(struct api_admit *a, const char *f, const struct jv *v, const char *why)
{
	if (v->type == JV_STRING)
		api_cause(
		    a, f, K8S_REASON_INVALID,
		    "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"%.*s\"}: %s",
		    (int)v->len, v->s, why);
	else
		api_cause(a, f, K8S_REASON_INVALID,
			  "Invalid value: intstr.IntOrString{Type:0, IntVal:%.*s, StrVal:\"\"}: %s",
			  (int)v->len, v->s, why);
}

/* ValidatePositiveIntOrPercent, then IsNotMoreThan100Percent when max100 */
static void validate_int_or_percent(struct api_admit *a, const char *f, const struct jv *v,
				    bool max100)
{
	long pct = 0;
	int64_t i = 0;

	if (!v || v->type == JV_NULL)
		return;
	if (v->type == JV_STRING) {
		if (!valid_percent(v, &pct))
			intstr_invalid(a, f, v, PERCENT_MSG);
		else if (max100 && pct > 100)
			intstr_invalid(a, f, v, "must not be greater than 100%");
	} else if (jv_int(v, &i) == 0 && i < 0) {
		api_cause_invalid(a, f, v, "must be greater than or equal to 0");
	}
}

/* getIntOrPercentValue: a percentage's number, else IntValue(): an int's value, a string's
 * strconv.Atoi (0 when it is no integer) */
static long int_or_percent_value(const struct jv *v)
{
	long pct = 0;
	int64_t i = 0;
	char buf[32], *end;

	if (v && v->type == JV_STRING) {
		if (valid_percent(v, &pct))
			return pct;
		if (!v->len || v->len >= sizeof(buf))
			return 0;
		memcpy(buf, v->s, v->len);
		buf[v->len] = 0;
		pct = strtol(buf, &end, 10);
		return *end ? 0 : pct;
	}
	return v && jv_int(v, &i) == 0 ? (long)i : 0;
}

/* ---- apps: ValidateDeploymentStrategy ---- */

void api_validate_deployment_strategy(struct api_admit *a)
{
	const struct jv *st = jv_path(a->obj, "spec.strategy");
	const struct jv *ru = jv_get(st, "rollingUpdate");
	const struct jv *mu = jv_get(ru, "maxUnavailable"), *ms = jv_get(ru, "maxSurge");
	static const char f_mu[] = "spec.strategy.rollingUpdate.maxUnavailable";

	if (jv_is_str(jv_get(st, "type"), "Recreate") && ru && ru->type != JV_NULL)
		api_cause_forbidden(a, "spec.strategy.rollingUpdate",
				    "may not be specified when strategy `type` is 'Recreate'");
	if (!jv_is_str(jv_get(st, "type"), "RollingUpdate") || !ru || ru->type != JV_OBJECT)
		return;
	/* ValidateRollingUpdateDeployment */
	validate_int_or_percent(a, f_mu, mu, false);
	validate_int_or_percent(a, "spec.strategy.rollingUpdate.maxSurge", ms, false);
	if (int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0) {
		static const struct jv zero = {.type = JV_NUMBER, .s = "0", .len = 1};

		intstr_invalid(a, f_mu, mu && mu->type != JV_NULL ? mu : &zero,
			       "may not be 0 when `maxSurge` is 0");
	}
	if (mu && mu->type == JV_STRING && int_or_percent_value(mu) > 100)
		intstr_invalid(a, f_mu, mu, "must not be greater than 100%");
}

/* ---- networking: NetworkPolicy ---- */

/* netutils.ParseCIDRSloppy: an address (IPv4 with leading zeros allowed) and a prefix length
 * within its family; the network and its length into net/bits when they are not NULL. */
static bool parse_cidr(const char *s, unsigned char net[16], int *bits, int *family)
{
	char ip[64], *end;
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	long n;

	if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1])
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	n = strtol(slash + 1, &end, 10);
	if (*end || slash[1] < '0' || slash[1] > '9')
		return false;
	if (inet_pton(AF_INET, ip, buf) == 1) {
		*family = AF_INET;
		if (n > 32)
			return false;
	} else if (inet_pton(AF_INET6, ip, buf) == 1) {
		*family = AF_INET6;
		if (n > 128)
			return false;
	} else {
		return false;
	}
	if (net)
		memcpy(net, buf, 16);
	*bits = (int)n;
	return true;
}

static bool prefix_contains(const unsigned char *net, int bits, const unsigned char *ip)
{
	for (int i = 0; i < bits; i++) {
		unsigned char m = (unsigned char)(0x80 >> (i % 8));

		if ((net[i / 8] & m) != (ip[i / 8] & m))
			return false;
	}
	return true;
}

#define CIDR_MSG "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

static void validate_ip_block(struct api_admit *a, const struct jv *ipb, const char *path)
{
	const struct jv *cidr = jv_get(ipb, "cidr");
	unsigned char net[16], ex[16];
	int bits, ebits, fam, efam;
	char f[512];
	size_t i = 0;

	snprintf(f, sizeof(f), "%.400s.cidr", path);
	if (!cidr || cidr->type != JV_STRING || !cidr->len) {
		api_cause_required(a, f, NULL);
		return;
	}
	if (!parse_cidr(cidr->s, net, &bits, &fam)) {
		api_cause_invalid(a, f, cidr, CIDR_MSG);
		return;
	}
	EACH(e, jv_get(ipb, "except"))
	{
		snprintf(f, sizeof(f), "%.400s.except[%zu]", path, i++);
		if (e->type != JV_STRING || !parse_cidr(e->s, ex, &ebits, &efam)) {
			api_cause_invalid(a, f, e, CIDR_MSG);
			continue;
		}
		if (efam != fam || !prefix_contains(net, bits, ex) || bits >= ebits)
			api_cause_invalid(a, f, e, "must be a strict subset of `cidr`");
	}
}

/* validateNetworkPolicyPort's numeric checks: port a valid port number; endPort not below
 * port (the value reported is port's) and itself a valid port number. (The protocol enum is
 * the schema's.) */
static void validate_netpol_port(struct api_admit *a, const struct jv *np, const char *path)
{
	static const char range[] = "must be between 1 and 65535, inclusive";
	const struct jv *port = jv_get(np, "port");
	int64_t p = 0, e = 0;
	char f[512];

	if (!port || port->type == JV_STRING || jv_path_int(np, "port", &p) != 0)
		return;
	snprintf(f, sizeof(f), "%.400s.port", path);
	if (p < 1 || p > 65535)
		api_cause_invalid(a, f, port, range);
	if (jv_path_int(np, "endPort", &e) != 0)
		return;
	snprintf(f, sizeof(f), "%.400s.endPort", path);
	if (e < p)
		api_cause_invalid(a, f, port, "must be greater than or equal to `port`");
	if (e < 1 || e > 65535)
		api_cause_invalid(a, f, jv_get(np, "endPort"), range);
}

/* ValidateNetworkPolicySpec's peers: ingress[i].from[j] and egress[i].to[j] */
void api_validate_networkpolicy(struct api_admit *a)
{
	static const char *const dirs[][2] = {{"ingress", "from"}, {"egress", "to"}};
	char f[512];

	for (size_t d = 0; d < 2; d++) {
		size_t i = 0;

		EACH(rule, jv_get(jv_get(a->obj, "spec"), dirs[d][0]))
		{
			size_t j = 0;

			EACH(port, jv_get(rule, "ports"))
			{
				snprintf(f, sizeof(f), "spec.%s[%zu].ports[%zu]", dirs[d][0], i,
					 j++);
				validate_netpol_port(a, port, f);
			}
			j = 0;

			EACH(peer, jv_get(rule, dirs[d][1]))
			{
				const struct jv *ipb = jv_get(peer, "ipBlock");

				snprintf(f, sizeof(f), "spec.%s[%zu].%s[%zu].ipBlock", dirs[d][0],
					 i, dirs[d][1], j++);
				if (ipb && ipb->type == JV_OBJECT)
					validate_ip_block(a, ipb, f);
			}
			i++;
		}
	}
}

/* ---- networking: Ingress ---- */

static void validate_ingress_path(struct api_admit *a, const struct jv *p, const char *path)
{
	static const char *const bad_seq[] = {"//", "/./", "/../", "%2f", "%2F"};
	static const char *const bad_suffix[] = {"/..", "/."};
	const char *type = jv_path_str(p, "pathType");
	const struct jv *pv = jv_get(p, "path");
	const char *s = pv && pv->type == JV_STRING ? pv->s : "";
	struct jv empty = {.type = JV_STRING, .s = "", .len = 0};
	char f[512];

	snprintf(f, sizeof(f), "%.400s.path", path);
	if (!type)
		return; /* required by the schema */
	if (!pv || pv->type != JV_STRING)
		pv = &empty;
	if (!strcmp(type, "Exact") || !strcmp(type, "Prefix")) {
		if (s[0] != '/')
			api_cause_invalid(a, f, pv, "must be an absolute path");
		for (size_t i = 0; s[0] && i < sizeof(bad_seq) / sizeof(bad_seq[0]); i++) {
			char why[64];

			if (strstr(s, bad_seq[i])) {
				snprintf(why, sizeof(why), "must not contain '%s'", bad_seq[i]);
				api_cause_invalid(a, f, pv, why);
			}
		}
		for (size_t i = 0; s[0] && i < sizeof(bad_suffix) / sizeof(bad_suffix[0]); i++) {
			size_t n = strlen(s), k = strlen(bad_suffix[i]);
			char why[64];

			if (n >= k && !strcmp(s + n - k, bad_suffix[i])) {
				snprintf(why, sizeof(why), "cannot end with '%s'", bad_suffix[i]);
				api_cause_invalid(a, f, pv, why);
			}
		}
	} else if (!strcmp(type, "ImplementationSpecific")) {
		if (s[0] && s[0] != '/')
			api_cause_invalid(a, f, pv, "must be an absolute path");
	} else {
		/* validateIngressHTTPIngressPath's default: supportedPathTypes, sorted */
		snprintf(f, sizeof(f), "%.400s.pathType", path);
		api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: \"Exact\", "
			  "\"ImplementationSpecific\", \"Prefix\"",
			  type);
	}
}

/* validateIngressRules: a host is a DNS name (not an IP), and each HTTP path is valid for
 * its pathType. */
#define WILDCARD_DNS1123_SUBDOMAIN_MSG                                                            \
	"a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, " \
	"which must consist of lower case alphanumeric characters, '-' or '.' and end with an "   \
	"alphanumeric character (e.g. '*.example.com', regex used for validation is "             \
	"'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

void api_validate_ingress(struct api_admit *a)
{
	char f[512];
	size_t i = 0;

	EACH(rule, jv_path(a->obj, "spec.rules"))
	{
		const struct jv *host = jv_get(rule, "host");
		size_t j = 0;

		snprintf(f, sizeof(f), "spec.rules[%zu].host", i);
		if (host && host->type == JV_STRING && host->len) {
			unsigned char buf[16];
			const char *why;

			if (inet_pton(AF_INET, host->s, buf) == 1 ||
			    inet_pton(AF_INET6, host->s, buf) == 1)
				api_cause_invalid(a, f, host,
						  "must be a DNS name, not an IP address");
			/* a host with a '*' is IsWildcardDNS1123Subdomain's: "*." and a
			 * subdomain, 253 characters at most */
			if (!strchr(host->s, '*')) {
				why = api_dns1123_subdomain_error(host->s);
				if (why)
					api_cause_invalid(a, f, host, why);
			} else {
				if (host->len > 253)
					api_cause_invalid(a, f, host,
							  "must be no more than 253 characters");
				if (strncmp(host->s, "*.", 2) != 0 ||
				    api_dns1123_subdomain_error_n(host->s + 2, host->len - 2))
					api_cause_invalid(a, f, host,
							  WILDCARD_DNS1123_SUBDOMAIN_MSG);
			}
		}
		EACH(p, jv_path(rule, "http.paths"))
		{
			snprintf(f, sizeof(f), "spec.rules[%zu].http.paths[%zu]", i, j++);
			validate_ingress_path(a, p, f);
		}
		i++;
	}
}

/* ---- core: ResourceQuota ---- */

/* helper.IsStandardQuotaResourceName */
static bool standard_quota_resource(const char *name, size_t n)
{
	static const char *const std[] = {
	    "cpu",
	    "memory",
	    "ephemeral-storage",
	    "requests.cpu",
	    "requests.memory",
	    "requests.storage",
	    "requests.ephemeral-storage",
	    "limits.cpu",
	    "limits.memory",
	    "limits.ephemeral-storage",
	    "pods",
	    "resourcequotas",
	    "services",
	    "replicationcontrollers",
	    "secrets",
	    "persistentvolumeclaims",
	    "configmaps",
	    "services.nodeports",
	    "services.loadbalancers",
	};

	for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		if (strlen(std[i]) == n && !memcmp(std[i], name, n))
			return true;
	/* IsQuotaHugePageResourceName */
	return (n > 10 && !memcmp(name, "hugepages-", 10)) ||
	       (n > 19 && !memcmp(name, "requests.hugepages-", 19)) ||
	       (n > 17 && !memcmp(name, "limits.hugepages-", 17));
}

/* ValidateResourceQuotaSpec's names: a name without a '/' is a standard quota resource. */
void api_validate_resourcequota(struct api_admit *a)
{
	char f[512];

	for (const struct jv *k = jv_first(jv_path(a->obj, "spec.hard")); k; k = k->next) {
		struct jv key = {.type = JV_STRING, .s = k->key, .len = k->klen};

		if (memchr(k->key, '/', k->klen) || standard_quota_resource(k->key, k->klen))
			continue;
		snprintf(f, sizeof(f), "spec.hard[%.*s]", (int)(k->klen > 400 ? 400 : k->klen),
			 k->key);
		api_cause_invalid(a, f, &key, "must be a standard resource for quota");
	}
}

/* ---- rbac ---- */

#define RBAC_GROUP "rbac.authorization.k8s.io"

/* ValidateRoleBindingSubject */
static void validate_subject(struct api_admit *a, const struct jv *s, const char *path,
			     bool namespaced)
{
	const char *name = jv_path_str(s, "name"), *kind = jv_path_str(s, "kind");
	const char *group = jv_path_str(s, "apiGroup"), *ns = jv_path_str(s, "namespace");
	char f[512];

	if (!name || !name[0]) {
		snprintf(f, sizeof(f), "%.400s.name", path);
		api_cause_required(a, f, NULL);
	}
	if (!group)
		group = "";
	if (kind && !strcmp(kind, "ServiceAccount")) {
		const char *why = name && name[0] ? api_dns1123_subdomain_error(name) : NULL;

		snprintf(f, sizeof(f), "%.400s.name", path);
		if (why)
			api_cause_invalid(a, f, jv_get(s, "name"), why);
		snprintf(f, sizeof(f), "%.400s.apiGroup", path);
		if (group[0])
			api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
				  "Unsupported value: \"%s\": supported values: \"\"", group);
		snprintf(f, sizeof(f), "%.400s.namespace", path);
		if (!namespaced && (!ns || !ns[0]))
			api_cause_required(a, f, NULL);
	} else if (kind && (!strcmp(kind, "User") || !strcmp(kind, "Group"))) {
		snprintf(f, sizeof(f), "%.400s.apiGroup", path);
		if (strcmp(group, RBAC_GROUP) != 0)
			api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
				  "Unsupported value: \"%s\": supported values: \"" RBAC_GROUP "\"",
				  group);
	} else {
		snprintf(f, sizeof(f), "%.400s.kind", path);
		api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: \"ServiceAccount\", "
			  "\"User\", \"Group\"",
			  kind ? kind : "");
	}
}

/* ValidateRoleBinding (namespaced: roleRef a Role or ClusterRole) and
 * ValidateClusterRoleBinding (a ClusterRole, subjects' namespaces required). */
void api_validate_rolebinding(struct api_admit *a)
{
	bool namespaced = strcmp(a->res->kind->kind, "RoleBinding") == 0;
	const struct jv *ref = jv_get(a->obj, "roleRef");
	const char *group = jv_path_str(ref, "apiGroup"), *kind = jv_path_str(ref, "kind");
	char f[64];
	size_t i = 0;

	if (!group || strcmp(group, RBAC_GROUP) != 0)
		api_cause(a, "roleRef.apiGroup", K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: \"" RBAC_GROUP "\"",
			  group ? group : "");
	if (!kind ||
	    (strcmp(kind, "ClusterRole") != 0 && (!namespaced || strcmp(kind, "Role") != 0)))
		api_cause(a, "roleRef.kind", K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: %s", kind ? kind : "",
			  namespaced ? "\"Role\", \"ClusterRole\"" : "\"ClusterRole\"");
	if (!jv_path_str(ref, "name") || !jv_path_str(ref, "name")[0])
		api_cause_required(a, "roleRef.name", NULL);
	EACH(s, jv_get(a->obj, "subjects"))
	{
		snprintf(f, sizeof(f), "subjects[%zu]", i++);
		validate_subject(a, s, f, namespaced);
	}
}

/* ---- policy: PodDisruptionBudget ---- */

/* ValidatePodDisruptionBudgetSpec: field.Invalid(spec, spec, ...) prints the internal spec
 * with %#v, pointers as addresses of the apiserver's heap; drover writes the same shape with
 * placeholder addresses (Kubernetes' own differ on every request). */
void api_validate_pdb(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	const struct jv *min = jv_get(spec, "minAvailable"), *max = jv_get(spec, "maxUnavailable");
	const struct jv *sel = jv_get(spec, "selector"), *pol;

	if (!min || min->type == JV_NULL || !max || max->type == JV_NULL)
		goto values;
	pol = jv_get(spec, "unhealthyPodEvictionPolicy");
	api_cause(a, "spec", K8S_REASON_INVALID,
		  "Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)"
		  "(0xc000010000), Selector:(*v1.LabelSelector)(%s), MaxUnavailable:"
		  "(*intstr.IntOrString)(0xc000010040), UnhealthyPodEvictionPolicy:"
		  "(*policy.UnhealthyPodEvictionPolicyType)(%s)}: minAvailable and maxUnavailable "
		  "cannot be both set",
		  sel && sel->type != JV_NULL ? "0xc000010020" : "nil",
		  pol && pol->type != JV_NULL ? "0xc000010060" : "nil");
values:
	validate_int_or_percent(a, "spec.minAvailable", min, true);
	validate_int_or_percent(a, "spec.maxUnavailable", max, true);
}

/* ---- autoscaling: HorizontalPodAutoscaler ---- */

/* validateScalingRules and validateScalingPolicy (pkg/apis/autoscaling/validation): the
 * stabilization window within [0, MaxStabilizationWindowSeconds], each policy's value and
 * period above zero, the period at most MaxPeriodSeconds. (The policy type and selectPolicy
 * enums are the schema's.) */
#define HPA_MAX_PERIOD_SECONDS		     1800
#define HPA_MAX_STABILIZATION_WINDOW_SECONDS 3600

static void validate_hpa_rules(struct api_admit *a, const struct jv *rules, const char *path)
{
	const struct jv *w = jv_get(rules, "stabilizationWindowSeconds");
	int64_t v = 0;
	char f[256], why[64];
	size_t i = 0;

	if (!rules || rules->type != JV_OBJECT)
		return;
	snprintf(f, sizeof(f), "%s.stabilizationWindowSeconds", path);
	if (jv_path_int(rules, "stabilizationWindowSeconds", &v) == 0 && v < 0)
		api_cause_invalid(a, f, w, "must be greater than or equal to zero");
	if (jv_path_int(rules, "stabilizationWindowSeconds", &v) == 0 &&
	    v > HPA_MAX_STABILIZATION_WINDOW_SECONDS) {
		snprintf(why, sizeof(why), "must be less than or equal to %d",
			 HPA_MAX_STABILIZATION_WINDOW_SECONDS);
		api_cause_invalid(a, f, w, why);
	}
	EACH(p, jv_get(rules, "policies"))
	{
		snprintf(f, sizeof(f), "%s.policies[%zu].value", path, i);
		if (jv_path_int(p, "value", &v) == 0 && v <= 0)
			api_cause_invalid(a, f, jv_get(p, "value"), "must be greater than zero");
		snprintf(f, sizeof(f), "%s.policies[%zu].periodSeconds", path, i++);
		if (jv_path_int(p, "periodSeconds", &v) != 0)
			continue;
		if (v <= 0)
			api_cause_invalid(a, f, jv_get(p, "periodSeconds"),
					  "must be greater than zero");
		if (v > HPA_MAX_PERIOD_SECONDS) {
			snprintf(why, sizeof(why), "must be less than or equal to %d",
				 HPA_MAX_PERIOD_SECONDS);
			api_cause_invalid(a, f, jv_get(p, "periodSeconds"), why);
		}
	}
}

/* validateHorizontalPodAutoscalerSpec's replica bounds */
void api_validate_hpa(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	int64_t min = 0, max = 0;
	bool has_min = jv_path_int(spec, "minReplicas", &min) == 0;
	bool has_max = jv_path_int(spec, "maxReplicas", &max) == 0;

	if (has_min && min < 1)
		api_cause_invalid(a, "spec.minReplicas", jv_get(spec, "minReplicas"),
				  "must be greater than or equal to 1");
	if (has_max && max < 1)
		api_cause_invalid(a, "spec.maxReplicas", jv_get(spec, "maxReplicas"),
				  "must be greater than 0");
	if (has_min && has_max && max < min)
		api_cause_invalid(a, "spec.maxReplicas", jv_get(spec, "maxReplicas"),
				  "must be greater than or equal to `minReplicas`");
	validate_hpa_rules(a, jv_path(spec, "behavior.scaleUp"), "spec.behavior.scaleUp");
	validate_hpa_rules(a, jv_path(spec, "behavior.scaleDown"), "spec.behavior.scaleDown");
}

/* ---- discovery.k8s.io EndpointSlice (pkg/apis/discovery/validation) ---- */

/* field.TooMany */
static void too_many(struct api_admit *a, const char *f, size_t n, size_t max)
{
	api_cause(a, f, "FieldValueTooMany", "Too many: %zu: must have at most %zu items", n, max);
}

/* ValidateNonSpecialIP's checks of an address that parsed, except its loopback one (see
 * api_validate_endpointslice). */
static void nonspecial_ip(struct api_admit *a, const char *f, const struct jv *v, int af,
			  const unsigned char *ip)
{
	char why[160];
	bool unspec = true;

	for (int i = 0; i < (af == AF_INET ? 4 : 16); i++)
		unspec &= ip[i] == 0;
	if (unspec) {
		snprintf(why, sizeof(why), "may not be unspecified (%.100s)", v->s);
		api_cause_invalid(a, f, v, why);
	}
	if ((af == AF_INET && ip[0] == 169 && ip[1] == 254) ||
	    (af == AF_INET6 && ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80))
		api_cause_invalid(a, f, v,
				  "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
	if ((af == AF_INET && ip[0] == 224 && ip[1] == 0 && ip[2] == 0) ||
	    (af == AF_INET6 && ip[0] == 0xff && (ip[1] & 0x0f) == 0x02))
		api_cause_invalid(a, f, v,
				  "may not be in the link-local multicast range (224.0.0.0/24, "
				  "ff02::/10)");
}

/* IsFullyQualifiedDomainName */
static void fqdn(struct api_admit *a, const char *f, const struct jv *v)
{
	char name[254], *save = NULL, *label;
	const char *why;
	size_t len = v->len;

	if (!len) {
		api_cause_required(a, f, NULL);
		return;
	}
	if (v->s[len - 1] == '.')
		len--;
	if (len >= sizeof(name) || (why = api_dns1123_subdomain_error_n(v->s, len)) != NULL) {
		api_cause(a, f, K8S_REASON_INVALID, "Invalid value: \"%.*s\": %s",
			  (int)(len > 253 ? 253 : len), v->s,
			  len >= sizeof(name) ? "must be no more than 253 characters" : why);
		return;
	}
	memcpy(name, v->s, len);
	name[len] = 0;
	if (!strchr(name, '.')) {
		api_cause(a, f, K8S_REASON_INVALID,
			  "Invalid value: \"%s\": should be a domain with at least two segments "
			  "separated by dots",
			  name);
		return;
	}
	for (label = strtok_r(name, ".", &save); label; label = strtok_r(NULL, ".", &save))
		if ((why = api_dns1123_label_error(label)) != NULL) {
			api_cause(a, f, K8S_REASON_INVALID, "Invalid value: \"%s\": %s", label,
				  why);
			return;
		}
}

/* ValidateEndpointSlice (create) and ValidateEndpointSliceUpdate: the address type, every
 * endpoint's addresses by that type (IsValidIPv4Address/IsValidIPv6Address then
 * ValidateNonSpecialIP, IsFullyQualifiedDomainName) and hostname, the ports' names,
 * protocols and appProtocols. One divergence: a loopback address is accepted (Kubernetes
 * refuses 127.0.0.0/8 and ::1): drover's own API server advertises 127.0.0.1 in the
 * "kubernetes" service's slice when it listens there, and a single-machine cluster's
 * backends may be loopback addresses. */
void api_validate_endpointslice(struct api_admit *a)
{
	const struct jv *at = jv_get(a->obj, "addressType");
	const struct jv *eps = jv_get(a->obj, "endpoints");
	const char *type = at && at->type == JV_STRING ? at->s : "";
	size_t i = 0;
	char f[160];

	if (!type[0])
		api_cause_required(a, "addressType", NULL);
	else if (strcmp(type, "IPv4") && strcmp(type, "IPv6") && strcmp(type, "FQDN") &&
		 !(a->old && strcmp(type, "IP") == 0))
		api_cause(a, "addressType", K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%.100s\": supported values: %s", type,
			  a->old ? "\"FQDN\", \"IP\", \"IPv4\", \"IPv6\""
				 : "\"FQDN\", \"IPv4\", \"IPv6\"");
	if (jv_count(eps) > 1000) {
		too_many(a, "endpoints", jv_count(eps), 1000);
		eps = NULL;
	}
	EACH(ep, eps)
	{
		const struct jv *addrs = jv_get(ep, "addresses"), *host = jv_get(ep, "hostname");
		size_t j = 0;

		snprintf(f, sizeof(f), "endpoints[%zu].addresses", i);
		if (!jv_count(addrs))
			api_cause_required(a, f, "must contain at least 1 address");
		else if (jv_count(addrs) > 100)
			too_many(a, f, jv_count(addrs), 100);
		EACH(ad, addrs)
		{
			unsigned char ip[16];
			int af = strcmp(type, "IPv6") == 0 ? AF_INET6 : AF_INET;
			bool ok;

			if (ad->type != JV_STRING)
				continue;

			snprintf(f, sizeof(f), "endpoints[%zu].addresses[%zu]", i, j++);
			if (strcmp(type, "FQDN") == 0) {
				fqdn(a, f, ad);
				continue;
			}
			if (strcmp(type, "IPv4") && strcmp(type, "IPv6"))
				continue; /* the deprecated "IP": IsValidIP, not checked here */
			ok = inet_pton(af, ad->s, ip) == 1;
			if (!ok) {
				api_cause_invalid(a, f, ad,
						  af == AF_INET ? "must be a valid IPv4 address"
								: "must be a valid IPv6 address");
				/* then ValidateNonSpecialIP, which parses either family */
				af = af == AF_INET ? AF_INET6 : AF_INET;
				if (inet_pton(af, ad->s, ip) != 1) {
					api_cause_invalid(a, f, ad, "must be a valid IP address");
					continue;
				}
			}
			nonspecial_ip(a, f, ad, af, ip);
		}
		snprintf(f, sizeof(f), "endpoints[%zu].hostname", i);
		if (host && host->type == JV_STRING && api_dns1123_label_error(host->s))
			api_cause_invalid(a, f, host, api_dns1123_label_error(host->s));
		i++;
	}
	i = 0;
	if (jv_count(jv_get(a->obj, "ports")) > 100) {
		too_many(a, "ports", jv_count(jv_get(a->obj, "ports")), 100);
		return;
	}
	EACH(p, jv_get(a->obj, "ports"))
	{
		const struct jv *name = jv_get(p, "name"), *proto = jv_get(p, "protocol");
		const struct jv *app = jv_get(p, "appProtocol");
		const char *n = name && name->type == JV_STRING ? name->s : "";
		const char *why;
		size_t j = 0;
		bool dup = false;

		snprintf(f, sizeof(f), "ports[%zu].name", i);
		if (n[0] && api_dns1123_label_error(n))
			api_cause_invalid(a, f, name, api_dns1123_label_error(n));
		EACH(q, jv_get(a->obj, "ports"))
		{
			const struct jv *qn = jv_get(q, "name");

			if (j++ >= i)
				break;
			dup |= strcmp(qn && qn->type == JV_STRING ? qn->s : "", n) == 0;
		}
		if (dup)
			api_cause(a, f, K8S_REASON_DUPLICATE, "Duplicate value: \"%.100s\"", n);
		snprintf(f, sizeof(f), "ports[%zu].protocol", i);
		api_validate_protocol(a, f, proto);
		snprintf(f, sizeof(f), "ports[%zu].appProtocol", i);
		if (app && app->type == JV_STRING &&
		    (why = api_label_key_error(app->s, app->len)) != NULL)
			api_cause_invalid(a, f, app, why);
		i++;
	}
	if (a->old && jv_path_str(a->old, "addressType") &&
	    strcmp(jv_path_str(a->old, "addressType"), type) != 0)
		api_cause_invalid(a, "addressType", at, "field is immutable");
}
