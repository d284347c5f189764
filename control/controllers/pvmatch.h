/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvmatch: which PersistentVolume a claim binds to, as kube-controller-manager 1.32's
 * persistentvolume controller chooses it (pkg/controller/volume/persistentvolume/index.go
 * findByClaim over component-helpers' storage/volume FindMatchingVolume). Pure: trees in,
 * an index out; the binder (pvbinder.c) and its tests share it.
 */
#ifndef DROVER_PVMATCH_H
#define DROVER_PVMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s_jv.h"

#define PV_ANN_BIND_COMPLETED	"pv.kubernetes.io/bind-completed"
#define PV_ANN_BOUND_BY_CTRL	"pv.kubernetes.io/bound-by-controller"
#define PV_ANN_PROVISIONED_BY	"pv.kubernetes.io/provisioned-by"
#define PV_ANN_PROVISIONED_BY2	"volume.kubernetes.io/provisioned-by"
#define PV_ANN_SELECTED_NODE	"volume.kubernetes.io/selected-node"
#define PV_ANN_STORAGE_PROV	"volume.kubernetes.io/storage-provisioner"
#define PV_ANN_STORAGE_PROV_OLD "volume.beta.kubernetes.io/storage-provisioner"

/* IsVolumeBoundToClaim: pv's claimRef names claim (namespace and name; its uid, when set, is
 * the claim's). */
bool pv_bound_to_claim(const struct jv *pv, const struct jv *claim);
/* The class of a volume or claim (spec.storageClassName, else the beta annotation), "" for
 * none. */
const char *pv_class_of(const struct jv *obj);
/* The claim's storage request and the volume's capacity in bytes (-1: none or malformed). */
long long pv_claim_request(const struct jv *claim);
long long pv_capacity(const struct jv *pv);
/* Every access mode of the claim is one of the volume's. */
bool pv_access_modes_contain(const struct jv *pv, const struct jv *claim);

/* checkVolumeSatisfyClaim (a claim that names the volume): NULL when the volume can take
 * the claim, else kube's reason ("requested PV is too small", ...). */
const char *pv_check_satisfies(const struct jv *pv, const struct jv *claim);

/* findByClaim: the index among pvs[0..n) of the volume claim binds to, or -1. A volume
 * pre-bound to the claim (its claimRef) that is big enough wins outright; otherwise, with
 * delay_binding (WaitForFirstConsumer: the scheduler chooses), none; otherwise the
 * Available, unclaimed volume of the claim's class, volumeMode and selector with the
 * fewest access modes that hold the claim's, the smallest of them that is big enough. */
int pv_find_best(const struct jv *claim, const struct jv *const *pvs, size_t n, bool delay_binding);

#endif
