/* SPDX-License-Identifier: Apache-2.0 */
/*
 * job_status: how the Job controller counts finished pods (trackJobStatusAndRemoveFinalizers
 * of pkg/controller/job). Every pod it creates carries the batch.kubernetes.io/job-tracking
 * finalizer. A pod that finished goes first into status.uncountedTerminatedPods (written),
 * then loses its finalizer, and only then moves into status.succeeded / failed — so a pod
 * deleted in between, or a controller restarted in between, is counted exactly once. Then
 * the interim conditions (SuccessCriteriaMet, FailureTarget) and, once nothing is left
 * uncounted or terminating, Complete or Failed with its Event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_int.h"
#include "log.h"

bool job_uid_in(const struct jv *arr, const char *uid)
{
	for (const struct jv *u = jv_first(arr); uid && u; u = u->next)
		if (jv_is_str(u, uid))
			return true;
	return false;
}

bool job_cond_true(const struct jv *job, const char *type)
{
	return jv_is_str(jv_get(ctrl_condition(job, type), "status"), "True");
}

void job_parse_indexes(const char *s, bool *set, int64_t completions)
{
	while (s && *s) {
		char *end;
		long long a = strtoll(s, &end, 10), b = a;

		if (end == s)
			return;
		if (*end == '-')
			b = strtoll(end + 1, &end, 10);
		for (long long i = a; i <= b && i < completions; i++)
			if (i >= 0)
				set[i] = true;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return;
	}
}

/* "1,3-5" (orderedIntervals.String). */
static char *format_indexes(const bool *set, int64_t n)
{
	struct k8s_buf b = {0};

	for (int64_t i = 0; i < n;) {
		int64_t j = i;

		if (!set[i]) {
			i++;
			continue;
		}
		while (j + 1 < n && set[j + 1])
			j++;
		if (b.len)
			k8s_buf_putc(&b, ',');
		if (j > i)
			k8s_buf_printf(&b, "%lld-%lld", (long long)i, (long long)j);
		else
			k8s_buf_printf(&b, "%lld", (long long)i);
		i = j + 1;
	}
	return k8s_buf_take(&b, NULL);
}

/* A Job condition: lastProbeTime and lastTransitionTime now (newCondition). */
static void job_condition(struct job_sync *s, const char *type, const char *reason,
			  const char *message)
{
	char now[32];
	struct jv *c;

	ctrl_set_condition(s->d, s->job, type, "True", reason, message);
	c = ctrl_condition(s->job, type);
	if (c)
		jv_set(s->d, c, "lastProbeTime", jv_new_strz(s->d, ctrl_time(ctrl_now(), now)));
}

/* The uid set of the pods still holding the finalizer (and not about to lose it). */
static bool uid_held(struct job_sync *s, const char *uid)
{
	for (size_t i = 0; i < s->npods; i++)
		if (jv_is_str(jv_path(s->pods[i], "metadata.uid"), uid))
			return job_has_finalizer(s->pods[i]) && !job_rm_expected(s->jc, uid);
	return false;
}

/* cleanUncountedPodsWithoutFinalizers: uids whose pod lost its finalizer (or is gone) move
 * from uncountedTerminatedPods into the counters. removed: uids whose removal just worked. */
static bool clean_uncounted(struct job_sync *s, char **removed, size_t nremoved)
{
	struct jv *st = jv_get(s->job, "status");
	struct jv *unc = jv_get(st, "uncountedTerminatedPods");
	static const char *lists[] = {"succeeded", "failed"};
	bool changed = false;

	for (size_t l = 0; l < 2; l++) {
		struct jv *arr = jv_get(unc, lists[l]), *prev = NULL, *u, *next;
		int64_t count = 0, moved = 0;

		for (u = jv_first(arr); u; u = next) {
			bool held = uid_held(s, u->s);

			next = u->next;
			for (size_t i = 0; i < nremoved && held; i++)
				if (removed[i] && strcmp(removed[i], u->s) == 0)
					held = false;
			if (held) {
				prev = u;
				continue;
			}
			jv_unlink(arr, prev, u);
			moved++;
		}
		if (!moved)
			continue;
		changed = true;
		jv_path_int(st, lists[l], &count);
		jv_set(s->d, st, lists[l], jv_new_int(s->d, count + moved));
		if (!jv_count(arr))
			jv_del(unc, lists[l]);
	}
	return changed;
}

static void uncounted_push(struct job_sync *s, const char *list, const char *uid)
{
	struct jv *unc = jv_obj_at(s->d, jv_get(s->job, "status"), "uncountedTerminatedPods");
	struct jv *arr = jv_get(unc, list);

	if (!arr || arr->type != JV_ARRAY) {
		arr = jv_new(s->d, JV_ARRAY);
		jv_set(s->d, unc, list, arr);
	}
	jv_push(arr, jv_new_strz(s->d, uid));
}

static size_t uncounted_len(struct job_sync *s)
{
	const struct jv *unc = jv_path(s->job, "status.uncountedTerminatedPods");

	return jv_count(jv_get(unc, "succeeded")) + jv_count(jv_get(unc, "failed"));
}

/* removeTrackingFinalizerFromPods: a merge patch keeping the other finalizers, guarded by
 * the resourceVersion the cache had. Returns the uids whose finalizer went (malloc'd). */
static int remove_finalizers(struct job_sync *s, struct jv **pods, size_t n, char **removed)
{
	const char *ns = jv_path_str(s->job, "metadata.namespace");
	int rerr = 0;

	for (size_t i = 0; i < n; i++) {
		const char *uid = jv_path_str(pods[i], "metadata.uid");
		struct jv_doc *d = jv_doc_new();
		struct jv *patch = d ? jv_new(d, JV_OBJECT) : NULL, *md, *keep;
		struct kc_status st;
		char *body;
		int err;

		removed[i] = NULL;
		if (!patch) {
			jv_doc_free(d);
			rerr = -ENOMEM;
			continue;
		}
		md = jv_obj_at(d, patch, "metadata");
		keep = jv_new(d, JV_ARRAY);
		for (const struct jv *f = jv_first(jv_path(pods[i], "metadata.finalizers")); f;
		     f = f->next)
			if (!jv_is_str(f, JOB_TRACKING_FINALIZER))
				jv_push(keep, jv_copy(d, f));
		jv_set(d, md, "finalizers", keep);
		if (jv_path_str(pods[i], "metadata.resourceVersion"))
			jv_set(d, md, "resourceVersion",
			       jv_new_strz(d, jv_path_str(pods[i], "metadata.resourceVersion")));
		body = jv_to_json(patch, NULL);
		jv_doc_free(d);
		if (!body) {
			rerr = -ENOMEM;
			continue;
		}
		job_rm_expect(s->jc, uid);
		err = kc_patch(s->jc->c->kc, ctrl_k_pod, ns, jv_path_str(pods[i], "metadata.name"),
			       NULL, KC_PATCH_MERGE, body, strlen(body), NULL, NULL, &st);
		free(body);
		if (err)
			job_rm_done(s->jc, uid);
		if (err && err != -ENOENT) {
			rerr = err == -KC_ECONFLICT ? -EAGAIN : err;
			continue;
		}
		removed[i] = strdup(uid);
	}
	return rerr;
}

int job_track(struct job_sync *s, bool needs)
{
	struct jv *st = jv_get(s->job, "status");
	struct jv *unc = jv_obj_at(s->d, st, "uncountedTerminatedPods");
	struct jv **rm = jv_alloc(s->d, (s->npods + 1) * sizeof(*rm));
	char **removed = calloc(s->npods + 1, sizeof(*removed));
	bool reached_max = false, finished = false;
	size_t nrm = 0;
	int err = 0, rmerr;

	if (!rm || !removed || !unc) {
		free(removed);
		return -ENOMEM;
	}
	if (clean_uncounted(s, NULL, 0))
		needs = true;
	for (size_t i = 0; i < s->npods; i++) {
		struct jv *p = s->pods[i];
		const char *uid = jv_path_str(p, "metadata.uid");
		bool failed = job_pod_failed(p, s->job);
		bool succeeded = jv_is_str(jv_path(p, "status.phase"), "Succeeded");
		int64_t ix = job_pod_index(p);

		if (!job_has_finalizer(p) || job_rm_expected(s->jc, uid))
			continue;
		/* canRemoveFinalizer */
		if (!jv_path(s->job, "metadata.deletionTimestamp") && !s->fin_type && !succeeded &&
		    !failed)
			continue;
		rm[nrm++] = p;
		if (succeeded && !job_uid_in(jv_get(unc, "failed"), uid)) {
			if (s->indexed) {
				if (ix >= 0 && ix < s->completions && !s->prev_succeeded_idx[ix])
					needs = true;
			} else if (!job_uid_in(jv_get(unc, "succeeded"), uid)) {
				needs = true;
				uncounted_push(s, "succeeded", uid);
			}
		} else if (failed ||
			   (s->fin_type && strcmp(s->fin_type, "SuccessCriteriaMet") != 0)) {
			/* a Job that ends counts every pod not succeeded as failed */
			if (!job_uid_in(jv_get(unc, "failed"), uid) &&
			    (!s->indexed || (ix >= 0 && ix < s->completions)) &&
			    job_failure_counts(s->job, p)) {
				needs = true;
				uncounted_push(s, "failed", uid);
			}
		}
		if (uncounted_len(s) >= JOB_MAX_UNCOUNTED) {
			reached_max = true;
			break;
		}
	}
	if (s->indexed) {
		char *idx = format_indexes(s->succeeded_idx, s->completions);

		if (!idx) {
			free(removed);
			return -ENOMEM;
		}
		if (!jv_is_str(jv_get(st, "completedIndexes"), idx) &&
		    !(!idx[0] && !jv_get(st, "completedIndexes")))
			needs = true;
		jv_set(s->d, st, "completedIndexes", jv_new_strz(s->d, idx));
		jv_set(s->d, st, "succeeded", jv_new_int(s->d, s->succeeded));
		free(idx);
	}
	if (s->fin_type && strcmp(s->fin_type, "FailureTarget") == 0) {
		job_condition(s, "FailureTarget", s->fin_reason, s->fin_message);
		needs = true;
		s->fin_type = "Failed";
	}
	if (s->fin_type && strcmp(s->fin_type, "SuccessCriteriaMet") == 0) {
		if (!job_cond_true(s->job, "SuccessCriteriaMet")) {
			job_condition(s, "SuccessCriteriaMet", s->fin_reason, s->fin_message);
			needs = true;
		}
		s->fin_type = "Complete";
	}
	/* flushUncountedAndRemoveFinalizers */
	if (needs) {
		err = job_update_status(s);
		if (err)
			goto out;
		needs = false;
	}
	rmerr = nrm ? remove_finalizers(s, rm, nrm, removed) : 0;
	if (clean_uncounted(s, removed, nrm))
		needs = true;
	if (rmerr) {
		if (needs)
			job_update_status(s);
		err = rmerr;
		goto out;
	}
	/* enactJobFinished: nothing uncounted, nothing terminating */
	if (s->fin_type && !reached_max && uncounted_len(s) == 0 && s->terminating == 0) {
		char now[32];

		job_condition(s, s->fin_type, s->fin_reason, s->fin_message);
		if (strcmp(s->fin_type, "Complete") == 0)
			jv_set(s->d, st, "completionTime",
			       jv_new_strz(s->d, jv_path_str(ctrl_condition(s->job, "Complete"),
							     "lastTransitionTime")
						     ?: ctrl_time(ctrl_now(), now)));
		finished = needs = true;
	}
	if (needs) {
		err = job_update_status(s);
		if (err)
			goto out;
		if (finished && strcmp(s->fin_type, "Complete") == 0) {
			int64_t succ = 0;

			jv_path_int(st, "succeeded", &succ);
			if (s->completions >= 0 && succ > s->completions)
				kc_event(s->jc->c->rec, s->job, "Warning", "TooManySucceededPods",
					 "Too many succeeded pods running after completion count "
					 "reached");
			kc_event(s->jc->c->rec, s->job, "Normal", "Completed", "Job completed");
		} else if (finished) {
			kc_event(s->jc->c->rec, s->job, "Warning", s->fin_reason, "%s",
				 s->fin_message);
		}
	}
out:
	for (size_t i = 0; i < s->npods + 1; i++)
		free(removed[i]);
	free(removed);
	return err;
}
