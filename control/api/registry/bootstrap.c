/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootstrap: what a new cluster holds before anyone writes to it, as kube-apiserver's
 * bootstrap controllers make it: the namespaces default, kube-system, kube-public and
 * kube-node-lease, the system PriorityClasses, and the kubernetes Service on the first
 * address of the service range; the API Priority and Fairness configuration (FlowSchemas and
 * PriorityLevelConfigurations) and the local APIServices of every served group/version;
 * created through the registry like any client's objects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alloc.h"
#include "api_obj.h"
#include "log.h"
#include "reg_int.h"

#define COMP "bootstrap"

/* Create body as an object of res in ns unless it exists. 0 or -EIO. */
int reg_ensure(struct registry *reg, const struct api_resource *res, const char *ns,
		  const char *body)
{
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = res, .ns = ns, .manager = "drover-server", .d = d};
	struct api_result out = {0};
	struct jv *o = d ? jv_parse(d, body, strlen(body), NULL) : NULL;
	int err = 0;

	if (!o) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	rq.name = jv_path_str(o, "metadata.name");
	if (reg_get(reg, &rq, false, &out) == 0) {
		/* there already (a restart): nothing to do */
		api_result_free(&out);
		jv_doc_free(d);
		return 0;
	}
	api_result_free(&out);
	rq.name = NULL;
	if (reg_create(reg, &rq, o, &out) != 0 && out.code != 409) {
		log_error(COMP, "%s %s: %u %s", res->kind->resource,
			  jv_path_str(o, "metadata.name") ?: "", out.code,
			  out.message ? out.message : "");
		err = -EIO;
	}
	api_result_free(&out);
	jv_doc_free(d);
	return err;
}

/* The kubernetes Service's targetPort, set to port if it is another. */
static int reconcile_port(struct registry *reg, const struct api_resource *svc, uint16_t port)
{
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {
	    .res = svc, .ns = "default", .name = "kubernetes", .manager = "drover-server", .d = d};
	struct api_result out = {0};
	int64_t have = 0;
	char patch[160];
	int err = 0;

	if (!d)
		return -ENOMEM;
	if (reg_get(reg, &rq, true, &out) == 0 &&
	    jv_path_int(out.obj, "spec.ports[0].targetPort", &have) == 0 && have != port) {
		api_result_free(&out);
		snprintf(patch, sizeof(patch),
			 "{\"spec\":{\"ports\":[{\"port\":443,\"targetPort\":%u}]}}", port);
		if (reg_patch(reg, &rq, API_PATCH_STRATEGIC, patch, strlen(patch), &out) != 0) {
			log_error(COMP, "service kubernetes: targetPort %u: %s", port,
				  out.message ? out.message : "");
			err = -EIO;
		}
	}
	api_result_free(&out);
	jv_doc_free(d);
	return err;
}

/* ---- API Priority and Fairness: staging/src/k8s.io/apiserver/pkg/apis/flowcontrol/
 * bootstrap/default.go of 1.32 (the mandatory and the suggested objects), with the
 * apf.kubernetes.io/autoupdate-spec annotation its config-producer ensures ---- */

#define SUBJ_GROUP(n) "{\"kind\":\"Group\",\"group\":{\"name\":\"" n "\"}}"
#define SUBJ_USER(n)  "{\"kind\":\"User\",\"user\":{\"name\":\"" n "\"}}"
#define SUBJ_KSA(n)                                                                       \
	"{\"kind\":\"ServiceAccount\",\"serviceAccount\":{\"namespace\":\"kube-system\"," \
	"\"name\":\"" n "\"}}"
#define KCM	 "system:kube-controller-manager"
#define EVERYONE SUBJ_GROUP("system:unauthenticated") "," SUBJ_GROUP("system:authenticated")
/* every verb of every resource and non-resource URL (NewFSAll's rules) */
#define RULES_ALL                                                                            \
	"\"resourceRules\":[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]," \
	"\"clusterScope\":true,\"namespaces\":[\"*\"]}],\"nonResourceRules\":[{\"verbs\":"   \
	"[\"*\"],\"nonResourceURLs\":[\"*\"]}]"
#define GCU "\"verbs\":[\"get\",\"create\",\"update\"]"
#define LEASES_ANYWHERE                                                                \
	"{" GCU ",\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"]," \
	"\"namespaces\":[\"*\"]}"

static const struct apf_flowschema {
	const char *name, *level, *distinguisher; /* distinguisher NULL: none */
	int precedence;
	const char *rule; /* the one PolicyRulesWithSubjects, its members */
} apf_flowschemas[] = {
    /* mandatory */
    {"exempt", "exempt", NULL, 1, "\"subjects\":[" SUBJ_GROUP("system:masters") "]," RULES_ALL},
    {"catch-all", "catch-all", "ByUser", 10000, "\"subjects\":[" EVERYONE "]," RULES_ALL},
    /* suggested */
    {"system-nodes", "system", "ByUser", 500,
     "\"subjects\":[" SUBJ_GROUP("system:nodes") "]," RULES_ALL},
    {"system-node-high", "node-high", "ByUser", 400,
     "\"subjects\":[" SUBJ_GROUP(
	 "system:nodes") "],\"resourceRules\":[{\"verbs\":[\"*\"],"
			 "\"apiGroups\":[\"\"],\"resources\":[\"nodes\",\"nodes/"
			 "status\"],\"clusterScope\":true,"
			 "\"namespaces\":[\"*\"]},{\"verbs\":[\"*\"],\"apiGroups\":[\"coordination."
			 "k8s.io\"],"
			 "\"resources\":[\"leases\"],\"namespaces\":[\"*\"]}]"},
    {"probes", "exempt", NULL, 2,
     "\"subjects\":[" EVERYONE "],\"nonResourceRules\":[{\"verbs\":[\"get\"],"
     "\"nonResourceURLs\":[\"/healthz\",\"/readyz\",\"/livez\"]}]"},
    {"system-leader-election", "leader-election", "ByUser", 100,
     "\"subjects\":[" SUBJ_USER(KCM) "," SUBJ_USER("system:kube-scheduler") "," SUBJ_KSA(
	 "*") "],\"resourceRules\":[{" GCU ",\"apiGroups\":[\"\"],\"resources\":[\"endpoints\","
	      "\"configmaps\"],\"namespaces\":[\"kube-system\"]}," LEASES_ANYWHERE "]"},
    {"workload-leader-election", "leader-election", "ByUser", 200,
     "\"subjects\":[" SUBJ_KSA("*") "],\"resourceRules\":[{" GCU ",\"apiGroups\":[\"\"],"
				    "\"resources\":[\"endpoints\",\"configmaps\"],\"namespaces\":["
				    "\"*\"]}," LEASES_ANYWHERE "]"},
    {"endpoint-controller", "workload-high", "ByUser", 150,
     "\"subjects\":[" SUBJ_USER(KCM) "," SUBJ_KSA("endpoint-controller") "," SUBJ_KSA(
	 "endpointslicemirroring-controller") "],\"resourceRules\":[{" GCU ",\"apiGroups\":"
					      "[\"\"],\"resources\":[\"endpoints\"],"
					      "\"namespaces\":[\"*\"]}]"},
    {"kube-controller-manager", "workload-high", "ByNamespace", 800,
     "\"subjects\":[" SUBJ_USER(KCM) "]," RULES_ALL},
    {"kube-scheduler", "workload-high", "ByNamespace", 800,
     "\"subjects\":[" SUBJ_USER("system:kube-scheduler") "]," RULES_ALL},
    {"kube-system-service-accounts", "workload-high", "ByNamespace", 900,
     "\"subjects\":[" SUBJ_KSA("*") "]," RULES_ALL},
    {"service-accounts", "workload-low", "ByUser", 9000,
     "\"subjects\":[" SUBJ_GROUP("system:serviceaccounts") "]," RULES_ALL},
    {"global-default", "global-default", "ByUser", 9900, "\"subjects\":[" EVERYONE "]," RULES_ALL},
};

/* name and spec of each PriorityLevelConfiguration */
static const char *const apf_levels[][2] = {
    {"exempt", "{\"type\":\"Exempt\",\"exempt\":{\"nominalConcurrencyShares\":0,"
	       "\"lendablePercent\":0}}"},
    {"catch-all", "{\"type\":\"Limited\",\"limited\":{\"nominalConcurrencyShares\":5,"
		  "\"lendablePercent\":0,\"limitResponse\":{\"type\":\"Reject\"}}}"},
#define QUEUED(ncs, lend, q, h)                                                              \
	"{\"type\":\"Limited\",\"limited\":{\"nominalConcurrencyShares\":" #ncs              \
	",\"lendablePercent\":" #lend ",\"limitResponse\":{\"type\":\"Queue\",\"queuing\":{" \
	"\"queues\":" #q ",\"handSize\":" #h ",\"queueLengthLimit\":50}}}}"
    {"system", QUEUED(30, 33, 64, 6)},
    {"node-high", QUEUED(40, 25, 64, 6)},
    {"leader-election", QUEUED(10, 0, 16, 4)},
    {"workload-high", QUEUED(40, 50, 128, 6)},
    {"workload-low", QUEUED(100, 90, 128, 6)},
    {"global-default", QUEUED(20, 50, 128, 6)},
#undef QUEUED
};

#define APF_META(kind, name)                                                                      \
	"{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":\"" kind "\",\"metadata\":" \
	"{\"name\":\"%s\",\"annotations\":{\"apf.kubernetes.io/autoupdate-spec\":\"true\"}},"

/* What the APF configuration controller says of a new FlowSchema whose level exists. */
static int flowschema_status(struct registry *reg, const struct api_resource *res,
			     const struct apf_flowschema *fs)
{
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = res,
			     .name = fs->name,
			     .sub = "status",
			     .manager = "api-priority-and-fairness-config-consumer-v1",
			     .d = d};
	struct api_result out = {0};
	char patch[512], now[32];
	int err = 0;

	if (!d)
		return -ENOMEM;
	if (reg_get(reg, &rq, true, &out) == 0 && jv_path(out.obj, "status.conditions")) {
		api_result_free(&out);
		jv_doc_free(d);
		return 0;
	}
	api_result_free(&out);
	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"conditions\":[{\"type\":\"Dangling\",\"status\":\"False\","
		 "\"lastTransitionTime\":\"%s\",\"reason\":\"Found\",\"message\":\"This FlowSchema "
		 "references the PriorityLevelConfiguration object named \\\"%s\\\" and it "
		 "exists\"}]}}",
		 api_now(now), fs->level);
	if (reg_patch(reg, &rq, API_PATCH_MERGE, patch, strlen(patch), &out) != 0) {
		log_error(COMP, "flowschema %s status: %s", fs->name, out.message ?: "");
		err = -EIO;
	}
	api_result_free(&out);
	jv_doc_free(d);
	return err;
}

static int bootstrap_apf(struct registry *reg)
{
	const struct api_resource *plc =
	    api_resource_find("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations");
	const struct api_resource *fsr =
	    api_resource_find("flowcontrol.apiserver.k8s.io", "v1", "flowschemas");
	char body[2048];
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(apf_levels) / sizeof(apf_levels[0]); i++) {
		snprintf(body, sizeof(body),
			 APF_META("PriorityLevelConfiguration", "%s") "\"spec\":%s}",
			 apf_levels[i][0], apf_levels[i][1]);
		err = reg_ensure(reg, plc, NULL, body);
	}
	for (size_t i = 0; !err && i < sizeof(apf_flowschemas) / sizeof(apf_flowschemas[0]); i++) {
		const struct apf_flowschema *fs = &apf_flowschemas[i];
		char dm[64] = "";

		if (fs->distinguisher)
			snprintf(dm, sizeof(dm), "\"distinguisherMethod\":{\"type\":\"%s\"},",
				 fs->distinguisher);
		snprintf(
		    body, sizeof(body),
		    APF_META("FlowSchema", "%s") "\"spec\":{\"priorityLevelConfiguration\":{"
						 "\"name\":\"%s\"},\"matchingPrecedence\":%d,%s"
						 "\"rules\":[{%s}]}}",
		    fs->name, fs->level, fs->precedence, dm, fs->rule);
		err = reg_ensure(reg, fsr, NULL, body);
		if (!err)
			err = flowschema_status(reg, fsr, fs);
	}
	return err;
}

/* ---- local APIServices: one per group/version the server serves (discovery's), named
 * <version>.<group>, as kube-apiserver's autoregister controller keeps them (those it made
 * at start carry kube-aggregator.kubernetes.io/automanaged=onstart, and go when their
 * group/version is no longer served); priorities from kube-apiserver 1.32's
 * apiVersionPriorities (pkg/controlplane/apiserver/aggregator.go) ---- */

static const struct apiservice_priority {
	const char *group, *version;
	int group_min, version_prio;
} apiservice_priorities[] = {
    {"", "v1", 18000, 1},
    {"apiregistration.k8s.io", "v1", 18000, 15},
    {"apps", "v1", 17800, 15},
    {"events.k8s.io", "v1", 17750, 15},
    {"authentication.k8s.io", "v1", 17700, 15},
    {"authorization.k8s.io", "v1", 17600, 15},
    {"autoscaling", "v2", 17500, 30},
    {"autoscaling", "v1", 17500, 15},
    {"batch", "v1", 17400, 15},
    {"certificates.k8s.io", "v1", 17300, 15},
    {"networking.k8s.io", "v1", 17200, 15},
    {"policy", "v1", 17100, 15},
    {"rbac.authorization.k8s.io", "v1", 17000, 15},
    {"storage.k8s.io", "v1", 16800, 15},
    {"apiextensions.k8s.io", "v1", 16700, 15},
    {"admissionregistration.k8s.io", "v1", 16700, 15},
    {"scheduling.k8s.io", "v1", 16600, 15},
    {"coordination.k8s.io", "v1", 16500, 15},
    {"node.k8s.io", "v1", 16300, 15},
    {"discovery.k8s.io", "v1", 16200, 15},
    {"flowcontrol.apiserver.k8s.io", "v1", 16100, 21},
};

static const struct apiservice_priority *apiservice_priority(const char *g, const char *v)
{
	for (size_t i = 0; i < sizeof(apiservice_priorities) / sizeof(apiservice_priorities[0]);
	     i++)
		if (strcmp(apiservice_priorities[i].group, g) == 0 &&
		    strcmp(apiservice_priorities[i].version, v) == 0)
			return &apiservice_priorities[i];
	return NULL;
}

/* Is g/v a group/version of the resource table (what discovery serves)? */
static bool gv_served(const char *g, const char *v)
{
	for (size_t i = 0; i < api_nresources; i++)
		if (strcmp(api_resources[i].kind->group, g) == 0 &&
		    strcmp(api_resources[i].kind->version, v) == 0)
			return true;
	return false;
}

/* The onstart APIServices of group/versions no longer served. */
static int prune_apiservices(struct registry *reg, const struct api_resource *res)
{
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = res, .manager = "drover-server", .d = d};
	struct reg_list_opts lo = {0};
	struct api_result out = {0};
	struct reg_list l;
	const struct store_kv *kv;
	struct jv *o;
	char stale[32][320];
	size_t n = 0;
	int rc, err = 0;

	if (!d)
		return -ENOMEM;
	if (reg_list(reg, &rq, &lo, &l, &out) != 0) {
		api_result_free(&out);
		jv_doc_free(d);
		return -EIO;
	}
	while ((rc = reg_list_next(&l, d, true, &kv, &o)) > 0) {
		const char *g = jv_path_str(o, "spec.group") ?: "";
		const char *v = jv_path_str(o, "spec.version") ?: "";

		if (jv_is_str(jv_get(jv_path(o, "metadata.labels"),
				     "kube-aggregator.kubernetes.io/automanaged"),
			      "onstart") &&
		    !jv_path(o, "spec.service") && !gv_served(g, v) && n < 32)
			snprintf(stale[n++], sizeof(stale[0]), "%s",
				 jv_path_str(o, "metadata.name") ?: "");
	}
	reg_list_free(&l);
	api_result_free(&out);
	for (size_t i = 0; i < n; i++) {
		struct reg_delete_opts dopt = REG_DELETE_OPTS_INIT;

		rq.name = stale[i];
		if (reg_delete(reg, &rq, &dopt, &out) != 0 && out.code != 404)
			err = -EIO;
		api_result_free(&out);
	}
	jv_doc_free(d);
	return rc < 0 ? rc : err;
}

static int bootstrap_apiservices(struct registry *reg)
{
	const struct api_resource *res =
	    api_resource_find("apiregistration.k8s.io", "v1", "apiservices");
	char body[1024];
	int err = 0;

	for (size_t i = 0; !err && i < api_nresources; i++) {
		const struct k8s_kind *k = api_resources[i].kind;
		const struct apiservice_priority *p = apiservice_priority(k->group, k->version);
		size_t j;

		for (j = 0; j < i; j++)
			if (strcmp(api_resources[j].kind->group, k->group) == 0 &&
			    strcmp(api_resources[j].kind->version, k->version) == 0)
				break;
		/* makeAPIService: a group/version without a priority gets none */
		if (j < i || !p)
			continue;
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"apiregistration.k8s.io/v1\",\"kind\":\"APIService\","
			 "\"metadata\":{\"name\":\"%s.%s\",\"labels\":{\"kube-aggregator."
			 "kubernetes.io/automanaged\":\"onstart\"}},\"spec\":{\"group\":\"%s\","
			 "\"version\":\"%s\",\"groupPriorityMinimum\":%d,\"versionPriority\":%d}}",
			 k->version, k->group, k->group, k->version, p->group_min, p->version_prio);
		err = reg_ensure(reg, res, NULL, body);
	}
	return err ? err : prune_apiservices(reg, res);
}

int reg_bootstrap(struct registry *reg, uint16_t port)
{
	static const char *const namespaces[] = {"default", "kube-system", "kube-public",
						 "kube-node-lease"};
	const struct api_resource *nsres = api_resource_find("", "v1", "namespaces");
	const struct api_resource *svc = api_resource_find("", "v1", "services");
	const struct api_resource *pcres =
	    api_resource_find("scheduling.k8s.io", "v1", "priorityclasses");
	char body[1024], ip[16];
	int err;

	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		snprintf(
		    body, sizeof(body),
		    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		    namespaces[i]);
		err = reg_ensure(reg, nsres, NULL, body);
		if (err)
			return err;
	}
	/* the system PriorityClasses (storage_scheduling.go's AddSystemPriorityClasses) */
	for (size_t i = 0; pcres && i < api_nsystem_priority_classes; i++) {
		const struct api_system_priority_class *pc = &api_system_priority_classes[i];

		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"scheduling.k8s.io/v1\",\"kind\":\"PriorityClass\","
			 "\"metadata\":{\"name\":\"%s\"},\"value\":%lld,\"description\":\"%s\"}",
			 pc->name, (long long)pc->value, pc->description);
		err = reg_ensure(reg, pcres, NULL, body);
		if (err)
			return err;
	}
	api_alloc_ip_nth(reg->alloc, 1, ip);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
		 "\"kubernetes\",\"namespace\":\"default\",\"labels\":{\"component\":"
		 "\"apiserver\",\"provider\":\"kubernetes\"}},\"spec\":{\"type\":"
		 "\"ClusterIP\",\"clusterIP\":\"%s\",\"ports\":[{\"name\":\"https\","
		 "\"port\":443,\"protocol\":\"TCP\",\"targetPort\":%u}]}}",
		 ip, port ? port : 6443);
	err = reg_ensure(reg, svc, "default", body);
	if (!err)
		err = reconcile_port(reg, svc, port ? port : 6443);
	if (!err)
		err = bootstrap_apf(reg);
	if (!err)
		err = reg_bootstrap_rbac(reg);
	return err ? err : bootstrap_apiservices(reg);
}
