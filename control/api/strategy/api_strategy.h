/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_strategy: what a resource says about its own objects, as kube-apiserver's per-resource
 * REST strategies do (pkg/registry/<group>/<resource>/strategy.go): the rule its names
 * follow, what a create resets (PrepareForCreate), its defaults (SetDefaults_*) and admission,
 * its validation, the values it allocates (Service ClusterIPs and NodePorts) and releases,
 * and how it is deleted (graceful deletion of pods, namespaces held while their content goes).
 * The generated resource table (api_resources_gen.c) points each resource at its strategy
 * (tools/k8sgen/apifacts.py names it); a resource without one gets api_strategy_default. The
 * registry calls the hooks; none of them writes to the store except allocation (its own keys).
 *
 * A hook of struct api_admit works on a->obj in place and reports causes in a->errs (422).
 */
#ifndef DROVER_API_STRATEGY_H
#define DROVER_API_STRATEGY_H

#include <stdbool.h>
#include <stdint.h>

#include "api_admit.h"

/* How metadata.name is validated (ValidateObjectMeta's nameFn). */
enum api_name_rule {
	API_NAME_SUBDOMAIN = 0, /* RFC 1123 subdomain (most kinds) */
	API_NAME_LABEL,		/* RFC 1123 label (namespaces, services) */
	API_NAME_PATH,		/* a path segment (events, RBAC, HPAs) */
};

struct api_strategy {
	enum api_name_rule name_rule;
	/* A create: what the object's status starts as (PrepareForCreate). NULL: a kind with a
	 * status subresource starts without status, others keep what they were given. */
	void (*prepare_create)(struct api_admit *a);
	/* Defaults after the schema's (create and update; a->old set on update), and on create
	 * the admission plugins of the kind. */
	void (*defaults)(struct api_admit *a);
	/* What only some users may write, beyond the authorizer's check of the verb (RBAC's
	 * escalation prevention: pkg/registry/rbac/{role,clusterrole,rolebinding,
	 * clusterrolebinding}/policybased/storage.go): create and update of the object (not a
	 * subresource) by a user (a->rq->user set; the server's own writes are not checked),
	 * after the mutating admission and before validation, as those storages wrap the
	 * generic one. A refusal is set in a->out. */
	void (*authorize_write)(struct api_admit *a);
	/* The kind's validation (create and update; a->old set on update). */
	void (*validate)(struct api_admit *a);
	/* The validating admission plugins of the kind, after its validation passed (create
	 * and update; a->sub set for a subresource): a refusal in a->forbidden, causes in
	 * a->errs, warnings (Warning headers) with k8s_errors_warn(&a->errs). PodSecurity. */
	void (*validate_admission)(struct api_admit *a);
	/* Values the object takes from a shared range (a->errs on failure). */
	int (*allocate)(struct api_admit *a);
	/* What a deleted object held: its allocations, the custom resources of a CRD. */
	void (*release)(struct registry *reg, const struct jv *obj);
	/* A write of the object (create or update, not a dry run) reached the store: a->obj is
	 * what was stored. CRDs serve their custom resources from then on. */
	void (*committed)(struct api_admit *a);
	/* Graceful deletion: the seconds to keep the object with a deletionTimestamp before it
	 * goes (its node's agent deletes it then), or 0 to delete now. requested: the client's
	 * gracePeriodSeconds, -1 for none. */
	int64_t (*delete_grace)(const struct jv *obj, int64_t requested);
	/* A delete the kind holds: prepare obj (deletionTimestamp, phase) and return true while
	 * a controller must finish first (namespaces with spec.finalizers). */
	bool (*hold_delete)(struct jv_doc *d, struct jv *obj);
	/* A delete the kind refuses by name, before anything is read (PriorityClass's REST.Delete
	 * of a system class): the reason of the 403, or NULL. Collections are not asked, as
	 * kube-apiserver's DeleteCollection does not ask either. */
	const char *(*forbid_delete)(const char *name);
	/* metadata.annotations count as spec for metadata.generation (Deployments: their
	 * strategy's PrepareForUpdate compares annotations too) */
	bool annotations_bump_generation;
	/* A status write also takes the object's metadata.annotations (and does not bump its
	 * generation): Deployments, whose status strategy resets only spec and labels, so that
	 * their controller writes the revision annotation through /status. Other kinds' status
	 * writes change status only. */
	bool status_takes_annotations;
	/* A kind computed by the server, never written by clients (ComponentStatus): writes its
	 * current objects to the store before each get or list reads them. */
	void (*refresh)(struct registry *reg, const struct api_resource *res);
	/* A deprecated kind (+k8s:prerelease-lifecycle-gen:deprecated): the warning every read
	 * of it carries, as kube-apiserver's deprecation filter adds it. */
	const char *deprecated;
};

extern const struct api_strategy api_strategy_default;
/* The table's strategies (strategies.c). */
extern const struct api_strategy api_strategy_pods, api_strategy_services, api_strategy_namespaces,
    api_strategy_nodes, api_strategy_secrets, api_strategy_configmaps, api_strategy_endpoints,
    api_strategy_pvcs, api_strategy_events, api_strategy_deployments, api_strategy_replicasets,
    api_strategy_statefulsets, api_strategy_daemonsets, api_strategy_jobs, api_strategy_cronjobs,
    api_strategy_hpas, api_strategy_networkpolicies, api_strategy_endpointslices, api_strategy_rbac,
    api_strategy_rbac_bindings, api_strategy_csrs, api_strategy_priorityclasses,
    api_strategy_limitranges, api_strategy_crds, api_strategy_crs;
/* kinds-core: storage.c, classes.c, componentstatus.c and strategies.c */
extern const struct api_strategy api_strategy_pvs, api_strategy_podtemplates, api_strategy_rcs,
    api_strategy_componentstatuses, api_strategy_storageclasses, api_strategy_csidrivers,
    api_strategy_csinodes, api_strategy_csicapacities, api_strategy_volumeattachments,
    api_strategy_ingressclasses, api_strategy_runtimeclasses;
/* serverconfig.c */
extern const struct api_strategy api_strategy_mutatingwebhooks, api_strategy_validatingwebhooks,
    api_strategy_admissionpolicies, api_strategy_policybindings, api_strategy_flowschemas,
    api_strategy_prioritylevels, api_strategy_apiservices;
/* validation branch: validate_kinds.c's kinds */
extern const struct api_strategy api_strategy_ingresses, api_strategy_pdbs,
    api_strategy_resourcequotas;

/* The fields of a custom resource obj its structural schema does not name (pruning's: not
 * under x-kubernetes-preserve-unknown-fields; apiVersion, kind and metadata are the
 * object's), each passed to fn (may be NULL) with its path, and removed when remove is set
 * (crs.c). */
/* The schema's x-kubernetes-validations rules (CEL) over a->obj (and a->old on update), as
 * apiextensions-apiserver's cel.Validator runs them after schema validation; nothing runs
 * when schema validation already found a blocking error (crs_cel.c). */
void api_crs_cel_validate(struct api_admit *a, const struct jv *schema);
/* The compile errors of the rules (and messageExpressions) of a CRD version's schema at
 * path ("spec.versions[0].schema.openAPIV3Schema"), as ValidateCustomResourceDefinition
 * reports them (crs_cel.c). */
void api_crd_cel_check(struct api_admit *a, const struct jv *schema, const char *path);
void api_crs_unknown_fields(struct jv *obj, const struct jv *schema, bool remove,
			    void (*fn)(void *arg, const char *path), void *arg);

static inline const struct api_strategy *api_strategy_of(const struct api_resource *res)
{
	return res->strategy ? res->strategy : &api_strategy_default;
}

/* The system PriorityClasses every cluster has (pkg/apis/scheduling/v1/helpers.go), which
 * the registry's bootstrap creates (priority.c). */
struct api_system_priority_class {
	const char *name;
	int64_t value;
	const char *description;
};
extern const struct api_system_priority_class api_system_priority_classes[];
extern const size_t api_nsystem_priority_classes;

/* ---- the steps the registry runs, each through the strategy ---- */

/* The create's reset of the object's status. */
void api_admit_prepare_create(struct api_admit *a);
/* Schema defaults, then the kind's. */
void api_admit_defaults(struct api_admit *a);
/* The kind's authorize_write for a user's write: 0, or -EPERM with a->out set. */
int api_admit_authorize(struct api_admit *a);
/* The schema (enums, required fields), object metadata, then the kind's rules: causes in
 * a->errs; 0 or -EINVAL. */
int api_admit_validate(struct api_admit *a);
/* The kind's validating admission plugins (validate_admission), when nothing refused yet. */
void api_admit_validating(struct api_admit *a);
/* Allocations: causes in a->errs on failure (what was taken is released). */
int api_admit_allocate(struct api_admit *a);
/* The write succeeded: free what the old object held and the new one no longer does. */
void api_admit_commit(struct api_admit *a);
/* The write failed: release what this write took. */
void api_admit_abort(struct api_admit *a);
/* A deleted object's allocations. */
void api_admit_release_deleted(struct registry *reg, const struct api_resource *res,
			       const struct jv *obj);
void api_admit_free(struct api_admit *a);

#endif
