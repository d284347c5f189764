/* SPDX-License-Identifier: Apache-2.0 */
/*
 * all: every controller drover has, in the order the manager starts them (each is its own
 * file; a new controller is a file and a line here).
 */
#include "ctrl.h"

extern const struct ctrl_desc ctrl_serviceaccount, ctrl_namespace, ctrl_garbagecollector,
    ctrl_disruption, ctrl_resourcequota, ctrl_endpoints, ctrl_endpointslice, ctrl_nodelifecycle,
    ctrl_tainteviction, ctrl_replicaset, ctrl_replicationcontroller, ctrl_deployment, ctrl_job,
    ctrl_ttl_after_finished, ctrl_daemonset, ctrl_statefulset, ctrl_cronjob, ctrl_csrapproving,
    ctrl_csrsigning, ctrl_nodeipam, ctrl_root_ca_cert_publisher, ctrl_clusterrole_aggregation,
    ctrl_pvc_protection, ctrl_pv_protection, ctrl_pv_binder, ctrl_local_path, ctrl_kubedns;

/* clang-format off */
const struct ctrl_desc *const ctrl_all[] = {
    &ctrl_serviceaccount,
    &ctrl_root_ca_cert_publisher,
    &ctrl_namespace,
    &ctrl_garbagecollector,
    &ctrl_resourcequota,
    &ctrl_disruption,
    &ctrl_endpoints,
    &ctrl_endpointslice,
    &ctrl_nodelifecycle,
    &ctrl_tainteviction,
    &ctrl_replicaset,
    &ctrl_replicationcontroller,
    &ctrl_deployment,
    &ctrl_job,
    &ctrl_ttl_after_finished,
    &ctrl_daemonset,
    &ctrl_statefulset,
    &ctrl_cronjob,
    &ctrl_csrapproving,
    &ctrl_csrsigning,
    &ctrl_nodeipam,
    &ctrl_clusterrole_aggregation,
    &ctrl_pvc_protection,
    &ctrl_pv_protection,
    &ctrl_pv_binder,
    &ctrl_local_path,
    &ctrl_kubedns,
};
/* clang-format on */
const size_t ctrl_nall = sizeof(ctrl_all) / sizeof(ctrl_all[0]);
