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

/* validate.c: each kind's rules (pkg/apis/<group>/validation) */
void api_validate_pod(struct api_admit *a);
void api_validate_service(struct api_admit *a);
void api_validate_configmap(struct api_admit *a);
void api_validate_secret(struct api_admit *a);
void api_validate_workload(struct api_admit *a);
void api_validate_job(struct api_admit *a);
void api_validate_cronjob(struct api_admit *a);
/* events.c: Events of core/v1 and events.k8s.io/v1 (pkg/apis/core/validation/events.go) */
void api_validate_event(struct api_admit *a);

/* services.c */
int api_service_allocate(struct api_admit *a);
void api_service_release(struct registry *reg, const struct jv *obj);

#endif
