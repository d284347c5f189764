/* SPDX-License-Identifier: Apache-2.0 */
/*
 * leaderelect: leader election over a coordination.k8s.io/v1 Lease, as client-go's
 * tools/leaderelection does it for kube-controller-manager and kube-scheduler (their
 * --leader-elect flags): a candidate takes the Lease when it is free or its holder has not
 * renewed it for leaseDurationSeconds (measured by this process's clock from when it last saw
 * the record change, not by the holder's renewTime), renews it every retry period while it
 * leads, and stops leading when it could not renew within the renew deadline. Writes carry
 * the resourceVersion read (optimistic concurrency), so two candidates never both win one
 * round. On a graceful stop the leader releases the Lease (ReleaseOnCancel: holder emptied,
 * duration 1 s) so another candidate takes over within a retry period.
 */
#ifndef DROVER_LEADERELECT_H
#define DROVER_LEADERELECT_H

#include <stdbool.h>

#include "kclient.h"

struct kc_leader_config {
	const char *ns, *name; /* the Lease: kube-system/kube-controller-manager ... */
	const char *identity;  /* NULL: hostname_<random>, as kube's components make it */
	unsigned lease_s, renew_deadline_s, retry_s; /* 15, 10, 2 when 0 */
	/* called on the election's thread: became the leader; stopped leading (after it had
	 * started: the renew deadline passed, or the Lease was taken) */
	void (*started)(void *arg);
	void (*stopped)(void *arg);
	void *arg;
};

struct kc_leader;

/* Start campaigning on a thread of its own. 0, or -errno (the config is invalid: the renew
 * deadline must be shorter than the lease, the retry period shorter than the deadline). */
int kc_leader_start(struct kclient *c, const struct kc_leader_config *cfg, struct kc_leader **out);
/* Stop: the Lease released when held; stopped() is not called. NULL-tolerant. */
void kc_leader_stop(struct kc_leader *l);
bool kc_leader_leading(const struct kc_leader *l);
/* This candidate's identity (the Lease's holderIdentity while it leads). */
const char *kc_leader_identity(const struct kc_leader *l);

#endif
