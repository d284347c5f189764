/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workload: what the controllers of pods share beyond podctl.h (pods from templates): kube's ranking of pods for deletion (controller.ActivePodsWithRanks), the controller ref
 * manager's claim (adopt orphans the selector matches, release owned objects it no longer
 * matches), and client-go's UID-tracking expectations (deletions counted per object, so an
 * unrelated deletion never satisfies an expected one).
 */
#ifndef DROVER_CTRL_WORKLOAD_H
#define DROVER_CTRL_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrl.h"
#include "podctl.h"

/* The tree of o (a cached object of kind k) in d, with apiVersion and kind set when the
 * list it came from left them out (Events and updates need them). NULL on ENOMEM. */
struct jv *ctrl_obj_tree(const struct kc_obj *o, struct jv_doc *d, const struct k8s_kind *k);

/* Indexes the controllers of pods share: "owner-uid" (kc_index_owner_uid) and "orphan-ns"
 * (the namespace of an object without a controller reference). */
#define CTRL_IDX_ORPHAN "orphan-ns"
void ctrl_index_orphan_ns(const struct jv *obj, void (*emit)(void *, const char *), void *ctx);

/* ---- which pods go first ---- */

struct ctrl_pod_rank {
	const struct jv *pod;
	int rank; /* related active pods on the same node (more: deleted first) */
};

/* kube's ActivePodsWithRanks.Less (LogarithmicScaleDown and PodDeletionCost on, as 1.32):
 * unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower
 * pod-deletion-cost; higher rank; ready for less time (log2 buckets, then uid); more
 * restarts; newer (log2 buckets of age, then uid). now_ns: wall clock in nanoseconds. */
bool ctrl_pod_delete_before(const struct ctrl_pod_rank *a, const struct ctrl_pod_rank *b,
			    int64_t now_ns);
/* Sort so that the pods to delete first come first. */
void ctrl_pods_rank_sort(struct ctrl_pod_rank *p, size_t n, int64_t now_ns);
/* Wall clock in nanoseconds. */
int64_t ctrl_now_ns(void);

/* ---- the controller ref manager ---- */

enum ctrl_claim {
	CTRL_CLAIM_IGNORE,  /* someone else's, or an orphan we do not take */
	CTRL_CLAIM_OWNED,   /* ours and matching */
	CTRL_CLAIM_ADOPT,   /* an orphan to adopt */
	CTRL_CLAIM_RELEASE, /* ours, no longer matching: release it */
};

/* What kube's ClaimObject decides for obj, given its would-be owner (with its selector):
 * an owner being deleted adopts nothing and releases nothing; an object being deleted is
 * not adopted; the namespace must be the owner's. */
enum ctrl_claim ctrl_claim_decide(const struct jv *owner, const struct jv *selector,
				  const struct jv *obj);
/* Adopt obj (add a controller ownerReference to owner) / release it (drop the references to
 * owner_uid), as an update with obj's resourceVersion: a stale obj fails -KC_ECONFLICT.
 * 0 or -errno (-ENOENT: gone). */
int ctrl_adopt(struct kclient *kc, const struct k8s_kind *k, const struct jv *obj,
	       const struct jv *owner, const struct k8s_kind *owner_kind, struct kc_status *st);
int ctrl_release(struct kclient *kc, const struct k8s_kind *k, const struct jv *obj,
		 const char *owner_uid, struct kc_status *st);
/* Append the trees (in d, apiVersion/kind set as ctrl_obj_tree) of inf's objects of kind k
 * under index=value to *v, an array in d of *n of them. 0 or -errno. */
int ctrl_index_trees(struct kc_informer *inf, const char *index, const char *value,
		     const struct k8s_kind *k, struct jv_doc *d, struct jv ***v, size_t *n);
/* kube's ClaimObjects over an informer with the CTRL_IDX_OWNER and CTRL_IDX_ORPHAN indexes
 * (ctrl_claim_indexes): the objects of kind k that owner (of owner_kind, with a
 * spec.selector) controls, plus the orphans of its namespace it adopts, less those it no
 * longer matches (released); keep (NULL: all) leaves candidates out first (kube's filter:
 * active pods, a StatefulSet's members). Before the first adoption the owner is read from
 * the server (kube's RecheckDeletionTimestamp): one gone, replaced (another uid) or being
 * deleted adopts nothing. Trees in d; *n of them. *err: the first failed adoption or release
 * (the others are still tried), or the lists' error (NULL returned). */
struct jv **ctrl_claim(struct ctrl_ctx *c, struct kc_informer *inf, const struct k8s_kind *k,
		       const struct jv *owner, const struct k8s_kind *owner_kind,
		       bool (*keep)(const struct jv *owner, const struct jv *obj), struct jv_doc *d,
		       size_t *n, int *err);
/* ctrl_claim as kube's PodControllerRefManager with finalizers (the Job's
 * batch.kubernetes.io/job-tracking): an adopted object gets finalizer in the same write, and
 * its tree in d carries it too. */
struct jv **ctrl_claim_fin(struct ctrl_ctx *c, struct kc_informer *inf, const struct k8s_kind *k,
			   const struct jv *owner, const struct k8s_kind *owner_kind,
			   bool (*keep)(const struct jv *owner, const struct jv *obj),
			   const char *finalizer, struct jv_doc *d, size_t *n, int *err);
/* obj's metadata.finalizers has f. */
bool ctrl_has_finalizer(const struct jv *obj, const char *f);
/* An orphan's would-be owners: queue "ns/name" of every object of owners (its namespace's)
 * whose non-empty spec.selector matches obj's labels, as kube's controllers do when an orphan
 * appears or its labels change. */
void ctrl_enqueue_selecting(struct kc_informer *owners, struct kc_queue *q, const struct jv *obj);
/* The same over owners whose trees conv (NULL: none) turns into ones with a LabelSelector at
 * spec.selector first (ReplicationControllers' map selectors). */
void ctrl_enqueue_selecting_conv(struct kc_informer *owners, struct kc_queue *q,
				 const struct jv *obj,
				 int (*conv)(struct jv_doc *d, struct jv *owner));
/* The two indexes ctrl_claim reads, on the shared informer of kind k. */
int ctrl_claim_indexes(struct ctrl_ctx *c, const struct k8s_kind *k);

/* ---- UID-tracking expectations ---- */

/* client-go's UIDTrackingControllerExpectations over ctrl_expect: creations counted,
 * deletions tracked by the deleted objects' keys. Thread-safe. */
struct ctrl_uexpect;
struct ctrl_uexpect *ctrl_uexpect_new(void);
void ctrl_uexpect_free(struct ctrl_uexpect *u);
bool ctrl_uexpect_satisfied(struct ctrl_uexpect *u, const char *key);
void ctrl_uexpect_creations(struct ctrl_uexpect *u, const char *key, int n);
void ctrl_uexpect_creation_observed(struct ctrl_uexpect *u, const char *key);
/* Expect the deletion of these object keys ("ns/name"). */
void ctrl_uexpect_deletions(struct ctrl_uexpect *u, const char *key, const char *const *obj_keys,
			    size_t n);
/* obj_key's deletion seen: counts only if it was expected. */
void ctrl_uexpect_deletion_observed(struct ctrl_uexpect *u, const char *key, const char *obj_key);
void ctrl_uexpect_forget(struct ctrl_uexpect *u, const char *key);

#endif
