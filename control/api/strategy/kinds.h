/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kinds: the per-kind hooks the strategies (strategies.c) are made of: defaults
 * (defaults.c), validation (validate.c) and the Service allocations (services.c). Internal to
 * the strategy layer.
 */
#ifndef DROVER_API_KINDS_H
#define DROVER_API_KINDS_H

#include "api_admit.h"

struct registry;

/* defaults.c: SetDefaults_* of each kind (and, for new pods, their admission) */
void api_default_pod(struct api_admit *a);
void api_default_service(struct api_admit *a);
void api_default_namespace(struct api_admit *a);
void api_default_secret(struct api_admit *a);
void api_default_endpoints(struct api_admit *a);
void api_default_pvc(struct api_admit *a);
void api_default_deployment(struct api_admit *a);
void api_default_replicaset(struct api_admit *a);
void api_default_statefulset(struct api_admit *a);
void api_default_daemonset(struct api_admit *a);
void api_default_job(struct api_admit *a);
void api_default_cronjob(struct api_admit *a);
void api_default_hpa(struct api_admit *a);
void api_default_netpol(struct api_admit *a);
void api_default_endpointslice(struct api_admit *a);
void api_default_rbac(struct api_admit *a);
void api_default_rc(struct api_admit *a);
void api_default_podtemplate(struct api_admit *a);
/* A pod spec's QoS class (qos.ComputePodQOS): "BestEffort", "Burstable" or "Guaranteed". */
const char *api_pod_qos_class(const struct jv *spec);

/* validate.c: each kind's rules (pkg/apis/<group>/validation) */
void api_validate_pod(struct api_admit *a);
void api_validate_service(struct api_admit *a);
void api_validate_configmap(struct api_admit *a);
void api_validate_secret(struct api_admit *a);
void api_validate_workload(struct api_admit *a);
void api_validate_statefulset(struct api_admit *a);
void api_validate_job(struct api_admit *a);
void api_validate_cronjob(struct api_admit *a);
void api_validate_rc(struct api_admit *a);
void api_validate_podtemplate(struct api_admit *a);

/* validate_pod.c: the pod spec's rules under validateContainers (path: the spec's) */
void api_validate_volumes(struct api_admit *a, const struct jv *spec, const char *path);
void api_validate_container_spec(struct api_admit *a, const struct jv *spec, const struct jv *ct,
				 const char *path);
void api_validate_container_probes(struct api_admit *a, const struct jv *spec, const struct jv *ct,
				   bool init, const char *path);
void api_validate_container_ports(struct api_admit *a, const struct jv *ct, const char *path);
void api_validate_protocol(struct api_admit *a, const char *field, const struct jv *proto);
void api_validate_port_num_or_name(struct api_admit *a, const char *field, const struct jv *v);

/* validate_kinds.c: the other kinds' rules */
void api_validate_deployment_strategy(struct api_admit *a);
void api_validate_networkpolicy(struct api_admit *a);
void api_validate_ingress(struct api_admit *a);
void api_validate_resourcequota(struct api_admit *a);
void api_validate_rolebinding(struct api_admit *a);
void api_validate_pdb(struct api_admit *a);
void api_validate_endpointslice(struct api_admit *a);
void api_validate_hpa(struct api_admit *a);

/* storage.c: the StorageObjectInUseProtection admission plugin (when the server runs it):
 * a new object (no subresource) gets finalizer unless it has it */
void api_admit_storage_protection(struct api_admit *a, const char *finalizer);

/* classes.c: admission of the default StorageClass (DefaultStorageClass) */
void api_admit_default_storage_class(struct api_admit *a);

/* priority.c: the Priority admission plugin of a pod (create: priorityClassName resolved;
 * update: what the create set kept); a refusal in a->forbidden */
void api_admit_pod_priority(struct api_admit *a, struct jv *spec);

/* limitrange.c: the LimitRanger admission plugin of a new pod: the namespace's LimitRanges'
 * defaults (mutation) and their min/max/ratio (validation); a refusal in a->forbidden */
void api_limitranger_mutate_pod(struct api_admit *a);
/* The ServiceAccount admission plugin on a new pod (saadmit.c); a refusal in a->forbidden. */
void api_admit_pod_service_account(struct api_admit *a, struct jv *spec);
void api_limitranger_validate(struct api_admit *a);

/* podsecurity.c: the PodSecurity admission plugin (validating): a pod's enforce refusal in
 * a->forbidden and warn warnings; a workload's pod template warned about; a namespace's
 * labels validated and its pods checked against a new enforce level */
void api_podsecurity_pod(struct api_admit *a);
void api_podsecurity_namespace(struct api_admit *a);
void api_podsecurity_workload(struct api_admit *a);    /* spec.template */
void api_podsecurity_cronjob(struct api_admit *a);     /* spec.jobTemplate.spec.template */
void api_podsecurity_podtemplate(struct api_admit *a); /* template */

/* update_rules.c: what an update may change (Validate<Kind>Update), a->old set */
void api_update_selector(struct api_admit *a);
void api_update_configmap(struct api_admit *a);
void api_update_secret(struct api_admit *a);
void api_update_pod(struct api_admit *a);
void api_update_pod_ephemeral(struct api_admit *a);
void api_update_job(struct api_admit *a);
void api_update_statefulset(struct api_admit *a);
void api_update_pvc(struct api_admit *a);
void api_update_rolebinding(struct api_admit *a);

/* rbac_escalation.c: the RBAC storages' escalation prevention (authorize_write) */
void api_rbac_authorize_role(struct api_admit *a);
void api_rbac_authorize_binding(struct api_admit *a);
/* events.c: Events of core/v1 and events.k8s.io/v1 (pkg/apis/core/validation/events.go) */
void api_validate_event(struct api_admit *a);

/* services.c */
int api_service_allocate(struct api_admit *a);
void api_service_release(struct registry *reg, const struct jv *obj);

#endif
