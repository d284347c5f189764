/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podctl: what the workload controllers (Job, DaemonSet, StatefulSet) do to pods and their
 * history the same way: kube-controller-manager's PodControl (a pod from a template with its
 * owner's controller reference, created and deleted with the Events it records) and
 * pkg/controller/history (ControllerRevisions: the template's patch, its hash, the revisions
 * an owner has, the next revision number).
 */
#ifndef DROVER_CTRL_PODCTL_H
#define DROVER_CTRL_PODCTL_H

#include "ctrl.h"

/* A pod (in d) from the pod template tpl of owner (of kind k), as controller.
 * GetPodFromTemplate: the template's labels, annotations, finalizers and spec, generateName
 * prefix (may be NULL) and a controller reference to owner. NULL on ENOMEM. */
struct jv *ctrl_pod_from_template(struct jv_doc *d, const struct jv *tpl, const struct jv *owner,
				  const struct k8s_kind *k, const char *generate_name);

/* Create pod in ns; record on owner SuccessfulCreate "Created pod: NAME", or FailedCreate
 * "Error creating: MSG" unless the namespace is being terminated. st (may be NULL) gets the
 * server's answer. 0 / -errno. */
int ctrl_pod_create(struct ctrl_ctx *c, const char *ns, const struct jv *pod,
		    const struct jv *owner, struct kc_status *st);
/* Delete pod ns/name; record SuccessfulDelete "Deleted pod: NAME" (or FailedDelete "Error
 * deleting: MSG"). -ENOENT when it is gone already (no Event). st as above. */
int ctrl_pod_delete(struct ctrl_ctx *c, const char *ns, const char *name, const struct jv *owner,
		    struct kc_status *st);
/* kube's slowStartBatch: fn(arg, i) for i = 0 .. n-1 in batches of 1, 2, 4 ...; a batch in
 * which a call failed is the last. Returns how many calls succeeded; *err the last failed
 * call's error (0: none). */
int ctrl_slow_start(int n, int (*fn)(void *arg, int i), void *arg, int *err);

/* Parsed trees (in d) of the cached objects of inf controlled by owner_uid, found through
 * the informer's "owner" index (ctrl_owner_index adds it). *n their count. NULL with *n 0
 * when there are none or on ENOMEM. */
struct jv **ctrl_owned(struct kc_informer *inf, const char *owner_uid, struct jv_doc *d, size_t *n);
int ctrl_owner_index(struct ctrl_ctx *c, const struct k8s_kind *k);
/* The controller reference's uid of an object (NULL if none, or not of that kind). */
const char *ctrl_owner_uid_of(const struct jv *obj, const char *kind);
/* A cached object as a tree in d (NULL if absent). */
struct jv *ctrl_cached(struct kc_informer *inf, const char *ns, const char *name, struct jv_doc *d);
/* The cached object of that kind an ownerReference in namespace ns names, if it exists with
 * the reference's uid (kube's resolveControllerRef), as a tree in d; NULL otherwise. */
struct jv *ctrl_resolve_ref(struct kc_informer *inf, const char *ns, const struct jv *ref,
			    const char *kind, struct jv_doc *d);

/* ---- ControllerRevisions (pkg/controller/history) ---- */

/* The revision data of a DaemonSet or StatefulSet, as their getPatch writes it:
 * {"spec":{"template":{...,"$patch":"replace"}}} with every object's keys sorted (Go
 * marshals maps so). malloc'd; NULL on ENOMEM. */
char *ctrl_rev_patch(const struct jv *owner);
/* HashControllerRevision: FNV-1 32 of data (and the collision count when >= 0), printed in
 * decimal and safe-encoded. buf: 16 bytes. */
const char *ctrl_rev_hash(const char *data, int64_t collision, char *buf);
/* A ControllerRevision (in d) of owner (kind k): name <owner>-<hash>, the template labels
 * plus controller-revision-hash, data, revision. */
struct jv *ctrl_rev_new(struct jv_doc *d, const struct jv *owner, const struct k8s_kind *k,
			const struct jv *tpl_labels, const char *data, const char *hash,
			int64_t revision);
/* The revision's data equals data (semantically). */
bool ctrl_rev_data_equal(const struct jv *rev, const char *data);
int64_t ctrl_rev_number(const struct jv *rev);
/* Sort revisions by revision number, then name (history.SortControllerRevisions). */
void ctrl_revs_sort(struct jv **revs, size_t n);

#endif
