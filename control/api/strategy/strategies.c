/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strategies: each resource's strategy (api_strategy.h) as a table row: the name rule of its
 * ValidateObjectMeta, its PrepareForCreate, defaults, validation, allocations and deletion
 * rules, made of the hooks in defaults.c, validate.c, update_rules.c and services.c and the
 * few rules that live here (pods' graceful deletion, namespaces' held deletion). The generated
 * resource table names these (tools/k8sgen/apifacts.py, "strategy").
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_obj.h"
#include "api_strategy.h"
#include "kinds.h"

const struct api_strategy api_strategy_default = {0};

/* ---- pods ---- */

static void pod_prepare_create(struct api_admit *a)
{
	/* podStrategy.PrepareForCreate: status starts as {phase: Pending, qosClass} (the
	 * defaults fill both in) */
	jv_del(a->obj, "status");
}

/* An unscheduled or finished pod, or grace 0, goes at once: no kubelet is there to wait for;
 * else the pod's kubelet deletes it when its containers have stopped. */
static int64_t pod_delete_grace(const struct jv *obj, int64_t requested)
{
	const char *phase = jv_path_str(obj, "status.phase");
	const char *node = jv_path_str(obj, "spec.nodeName");
	int64_t grace = requested;

	if (grace < 0 && jv_path_int(obj, "spec.terminationGracePeriodSeconds", &grace) != 0)
		grace = 30;
	if (grace <= 0 || !node || !node[0] ||
	    (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)))
		return 0;
	return grace;
}

/* podStrategy.ValidateUpdate: the pod's validation, then ValidatePodUpdate's rules */
static void pod_validate(struct api_admit *a)
{
	api_validate_pod(a);
	if (a->old && !a->sub)
		api_update_pod(a);
	/* podEphemeralContainersStrategy.ValidateUpdate */
	if (a->old && a->sub && strcmp(a->sub, "ephemeralcontainers") == 0)
		api_update_pod_ephemeral(a);
}

const struct api_strategy api_strategy_pods = {
    .prepare_create = pod_prepare_create,
    .defaults = api_default_pod,
    .validate = pod_validate,
    .validate_admission = api_podsecurity_pod,
    .delete_grace = pod_delete_grace,
};

/* ---- services ---- */

const struct api_strategy api_strategy_services = {
    .name_rule = API_NAME_LABEL,
    .defaults = api_default_service,
    .validate = api_validate_service,
    .allocate = api_service_allocate,
    .release = api_service_release,
};

/* ---- namespaces ---- */

/* namespaceStrategy.PrepareForCreate: status starts Active, and spec.finalizers gets
 * "kubernetes" (the namespace controller's; not a default, since it is removed over the
 * namespace's life, through namespaces/finalize). */
static void namespace_prepare_create(struct api_admit *a)
{
	struct jv *spec = jv_obj_at(a->d, a->obj, "spec"), *f = jv_get(spec, "finalizers");

	jv_del(a->obj, "status");
	jv_set(a->d, jv_obj_at(a->d, a->obj, "status"), "phase", jv_new_strz(a->d, "Active"));
	for (const struct jv *it = jv_first(f); it; it = it->next)
		if (jv_is_str(it, "kubernetes"))
			return;
	if (!f || f->type != JV_ARRAY) {
		f = jv_new(a->d, JV_ARRAY);
		jv_set(a->d, spec, "finalizers", f);
	}
	jv_push(f, jv_new_strz(a->d, "kubernetes"));
}

/* The namespace registry's Delete: the first delete marks the namespace Terminating; it stays
 * while spec.finalizers holds anything (the namespace controller empties it, removes its
 * finalizer through namespaces/finalize, and deletes it again). */
static bool namespace_hold_delete(struct jv_doc *d, struct jv *obj)
{
	struct jv *md = jv_obj_at(d, obj, "metadata");
	char now[32];

	if (!jv_get(md, "deletionTimestamp")) {
		jv_set(d, md, "deletionTimestamp", jv_new_strz(d, api_now(now)));
		jv_set(d, jv_obj_at(d, obj, "status"), "phase", jv_new_strz(d, "Terminating"));
		return true;
	}
	return jv_count(jv_path(obj, "spec.finalizers")) > 0;
}

/* The NamespaceLifecycle admission plugin's immortal namespaces (its Register:
 * default, kube-system, kube-public; kube-node-lease is not one): a DELETE is Forbidden. */
static const char *namespace_forbid_delete(const char *name)
{
	static const char *const immortal[] = {"default", "kube-system", "kube-public"};

	for (size_t i = 0; name && i < sizeof(immortal) / sizeof(immortal[0]); i++)
		if (strcmp(name, immortal[i]) == 0)
			return "this namespace may not be deleted";
	return NULL;
}

const struct api_strategy api_strategy_namespaces = {
    .name_rule = API_NAME_LABEL,
    .forbid_delete = namespace_forbid_delete,
    .prepare_create = namespace_prepare_create,
    .defaults = api_default_namespace,
    .validate_admission = api_podsecurity_namespace,
    .hold_delete = namespace_hold_delete,
};

/* ---- nodes: a kubelet registers its node with its status ---- */

static void keep_status(struct api_admit *a)
{
	(void)a;
}

const struct api_strategy api_strategy_nodes = {
    .prepare_create = keep_status,
};

/* ---- the other core kinds ---- */

/* ValidateSecretUpdate and ValidateConfigMapUpdate report their update rules first */
static void secret_validate(struct api_admit *a)
{
	if (a->old)
		api_update_secret(a);
	api_validate_secret(a);
}

static void configmap_validate(struct api_admit *a)
{
	if (a->old)
		api_update_configmap(a);
	api_validate_configmap(a);
}

const struct api_strategy api_strategy_secrets = {
    .defaults = api_default_secret,
    .validate = secret_validate,
};

const struct api_strategy api_strategy_configmaps = {
    .validate = configmap_validate,
};

const struct api_strategy api_strategy_endpoints = {
    .defaults = api_default_endpoints,
};

/* ValidatePersistentVolumeClaimUpdate's rules, then LimitRanger's claim checks */
static void pvc_validate(struct api_admit *a)
{
	if (a->old && !a->sub)
		api_update_pvc(a);
	api_limitranger_validate(a);
}

const struct api_strategy api_strategy_pvcs = {
    .defaults = api_default_pvc,
    .validate = pvc_validate,
};

const struct api_strategy api_strategy_events = {
    .name_rule = API_NAME_PATH,
    .validate = api_validate_event,
};

/* ---- apps ---- */

/* Deployments, ReplicaSets and DaemonSets: the selector of apps/v1 stays */
static void apps_validate(struct api_admit *a)
{
	api_validate_workload(a);
	if (a->old)
		api_update_selector(a);
}

/* ValidateStatefulSetUpdate: only some of the spec may change (the selector among what
 * may not) */
static void statefulset_validate(struct api_admit *a)
{
	api_validate_statefulset(a);
	if (a->old)
		api_update_statefulset(a);
}

/* ValidateDeploymentSpec: the template's rules, then its strategy's */
static void deployment_validate(struct api_admit *a)
{
	apps_validate(a);
	api_validate_deployment_strategy(a);
}

const struct api_strategy api_strategy_deployments = {
    .defaults = api_default_deployment,
    .validate = deployment_validate,
    .validate_admission = api_podsecurity_workload,
    .annotations_bump_generation = true,
    .status_takes_annotations = true,
};

const struct api_strategy api_strategy_replicasets = {
    .defaults = api_default_replicaset,
    .validate = apps_validate,
    .validate_admission = api_podsecurity_workload,
};

const struct api_strategy api_strategy_statefulsets = {
    .defaults = api_default_statefulset,
    .validate = statefulset_validate,
    .validate_admission = api_podsecurity_workload,
};

const struct api_strategy api_strategy_daemonsets = {
    .defaults = api_default_daemonset,
    .validate = apps_validate,
    .validate_admission = api_podsecurity_workload,
};

/* ---- core/v1 ReplicationControllers and PodTemplates ---- */

/* rcStrategy.PrepareForCreate: status starts empty, and its replicas (not omitempty) 0 */
static void rc_prepare_create(struct api_admit *a)
{
	jv_del(a->obj, "status");
	jv_set(a->d, jv_obj_at(a->d, a->obj, "status"), "replicas", jv_new_int(a->d, 0));
}

const struct api_strategy api_strategy_rcs = {
    .prepare_create = rc_prepare_create,
    .defaults = api_default_rc,
    .validate = api_validate_rc,
    .validate_admission = api_podsecurity_workload,
};

const struct api_strategy api_strategy_podtemplates = {
    .defaults = api_default_podtemplate,
    .validate = api_validate_podtemplate,
    .validate_admission = api_podsecurity_podtemplate,
};

/* ---- batch ---- */

static void job_validate(struct api_admit *a)
{
	api_validate_job(a);
	if (a->old)
		api_update_job(a);
}

const struct api_strategy api_strategy_jobs = {
    .defaults = api_default_job,
    .validate = job_validate,
    .validate_admission = api_podsecurity_workload,
};

const struct api_strategy api_strategy_cronjobs = {
    .defaults = api_default_cronjob,
    .validate = api_validate_cronjob,
    .validate_admission = api_podsecurity_cronjob,
};

/* ---- the rest ---- */

const struct api_strategy api_strategy_hpas = {
    .name_rule = API_NAME_PATH,
    .defaults = api_default_hpa,
    .validate = api_validate_hpa,
};

const struct api_strategy api_strategy_networkpolicies = {
    .defaults = api_default_netpol,
    .validate = api_validate_networkpolicy,
};

const struct api_strategy api_strategy_ingresses = {
    .validate = api_validate_ingress,
};

const struct api_strategy api_strategy_pdbs = {
    .validate = api_validate_pdb,
};

const struct api_strategy api_strategy_resourcequotas = {
    .validate = api_validate_resourcequota,
};

const struct api_strategy api_strategy_endpointslices = {
    .defaults = api_default_endpointslice,
    .validate = api_validate_endpointslice,
};

const struct api_strategy api_strategy_rbac = {
    .name_rule = API_NAME_PATH,
    .authorize_write = api_rbac_authorize_role,
};

/* ValidateRoleBindingUpdate: the binding's validation, then the update rule */
static void rbac_binding_validate(struct api_admit *a)
{
	api_validate_rolebinding(a);
	if (a->old)
		api_update_rolebinding(a);
}

const struct api_strategy api_strategy_rbac_bindings = {
    .name_rule = API_NAME_PATH,
    .defaults = api_default_rbac,
    .authorize_write = api_rbac_authorize_binding,
    .validate = rbac_binding_validate,
};
