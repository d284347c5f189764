/* SPDX-License-Identifier: Apache-2.0 */
/*
 * job_int: what the Job controller's two files share (job.c: informers, the sync and the
 * pods it creates and deletes; job_status.c: counting finished pods through the
 * batch.kubernetes.io/job-tracking finalizer, conditions and the status write).
 */
#ifndef DROVER_CTRL_JOB_INT_H
#define DROVER_CTRL_JOB_INT_H

#include <pthread.h>

#include "ctrl.h"
#include "hmap.h"

#define JOB_TRACKING_FINALIZER "batch.kubernetes.io/job-tracking"
#define JOB_INDEX_ANNOTATION   "batch.kubernetes.io/job-completion-index"
#define JOB_MAX_UNCOUNTED      500 /* MaxUncountedPods */

struct job_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *jobs, *pods;
	struct kc_queue *q;
	struct kc_workers *w;
	/* pods holding the tracking finalizer whose Job is gone or finished (syncOrphanPod) */
	struct kc_queue *orphans;
	struct kc_workers *ow;
	struct ctrl_expect *exp;
	uint64_t backoff_base_ms, backoff_max_ms;
	pthread_mutex_t lock;
	struct hmap *backoff; /* job key -> struct job_backoff */
	struct hmap *rm_fin;  /* uid of a pod whose finalizer removal is not yet seen -> key */
};

/* backoffRecord: failures since the last success, and when the last of them finished. */
struct job_backoff {
	int64_t failures;
	int64_t last_failure_ms;
};

/* One sync's view of a Job (syncJobCtx). */
struct job_sync {
	struct job_ctrl *jc;
	struct jv_doc *d;
	const char *key;
	struct jv *job; /* a copy, written back through the status subresource */
	struct jv **pods;
	size_t npods;
	int64_t active, ready, terminating;
	int64_t succeeded, failed; /* counted + finished but not yet counted */
	bool indexed;
	int64_t completions;	  /* -1: none */
	bool *succeeded_idx;	  /* indexed: [completions] */
	bool *prev_succeeded_idx; /* indexed: as status.completedIndexes says */
	/* the condition the Job is to end with ("Complete"/"Failed", reason, message), or
	 * type NULL; interim: SuccessCriteriaMet / FailureTarget first */
	const char *fin_type, *fin_reason, *fin_message;
	struct job_backoff backoff; /* the record as it will be after this sync */
};

/* job.c */
bool job_pod_failed(const struct jv *pod, const struct jv *job);
bool job_has_finalizer(const struct jv *pod);
/* A failed pod counts against backoffLimit (no Ignore rule of podFailurePolicy matches). */
bool job_failure_counts(const struct jv *job, const struct jv *pod);
int64_t job_pod_index(const struct jv *pod);
bool job_rm_expected(struct job_ctrl *jc, const char *uid);
/* a finalizer removal is in flight (expected) / failed (not to be waited for) */
void job_rm_expect(struct job_ctrl *jc, const char *uid);
void job_rm_done(struct job_ctrl *jc, const char *uid);
int job_update_status(struct job_sync *s);

bool job_phase_is(const struct jv *pod, const char *phase);

/* job_manage.c */
int64_t job_now_ms(void); /* wall clock, ms (pods' finish times are wall clock) */
bool job_suspended(const struct jv *job);
/* manageJob: returns the active count after it; *errp gets a failed call's error. */
int64_t job_manage(struct job_sync *s, struct jv **active, size_t nactive, int *errp);
/* Delete pods (their finalizer first unless keep_fin); how many went, *ready_gone of them
 * Ready. */
int64_t job_delete_pods(struct job_sync *s, struct jv **pods, size_t n, bool keep_fin,
			int64_t *ready_gone, int *errp);
/* The back-off record after this sync's newly finished pods; stored once the status that
 * counts them is written; forgotten with the Job. */
void job_backoff_next(struct job_sync *s, struct jv **succ, size_t nsucc, struct jv **fail,
		      size_t nfail);
void job_backoff_store(struct job_ctrl *jc, const char *key, const struct job_backoff *b);
void job_backoff_forget(struct job_ctrl *jc, const char *key);

/* job_status.c */
bool job_uid_in(const struct jv *arr, const char *uid);
/* status.completedIndexes "1,3-5" into set[completions]. */
void job_parse_indexes(const char *s, bool *set, int64_t completions);
/* trackJobStatusAndRemoveFinalizers: 0 or -errno (-EAGAIN: retry). */
int job_track(struct job_sync *s, bool needs_flush);
/* A Job's condition of that type is True. */
bool job_cond_true(const struct jv *job, const char *type);

#endif
