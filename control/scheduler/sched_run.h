/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_run: drover's kube-scheduler: the scheduling core (scheduler.h) fed by informers over
 * kclient and writing its decisions back through the API — a binding per pod placed
 * (pods/binding: a conflict is retried, never double-booked), PodScheduled=False with
 * kube-scheduler's message and a FailedScheduling Event per pod that fits nowhere, a
 * Scheduled Event per pod placed. Runs inside `drover server` over the in-process client, or
 * against any server over HTTPS.
 */
#ifndef DROVER_SCHED_RUN_H
#define DROVER_SCHED_RUN_H

#include <stdint.h>

#include "kclient.h"
#include "scheduler.h"

struct scheduler;

struct scheduler_config {
	const char *name;	 /* schedulerName it serves (NULL: "default-scheduler") */
	unsigned bind_workers;	 /* threads that bind and write status (0: 16) */
	int percentage_of_nodes; /* 0: kube-scheduler's adaptive default */
	int parallelism;	 /* node evaluation threads of one decision (0: the core picks) */
};

/* Start over kc (borrowed: it outlives the scheduler): informers listed and synced, then the
 * scheduling loop. 0 or -errno. */
int scheduler_start(struct kclient *kc, const struct scheduler_config *cfg, struct scheduler **out);
void scheduler_stop(struct scheduler *s);

struct scheduler_stats {
	struct sched_stats core;
	uint64_t bound, bind_conflicts, bind_errors, unschedulable_writes;
	uint64_t decision_ns_total; /* time the loop spent deciding */
	uint64_t preempted;	    /* victims deleted by preemption */
};
void scheduler_get_stats(struct scheduler *s, struct scheduler_stats *out);

#endif
