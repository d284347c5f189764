/* SPDX-License-Identifier: Apache-2.0 */
/*
 * job: kube-controller-manager's Job controller (pkg/controller/job, 1.32). A Job runs pods
 * from its template until spec.completions of them succeeded (or, without completions, until
 * one did and the rest ended), at most spec.parallelism at once; Indexed jobs give each pod a
 * completion index (annotation, label, hostname, JOB_COMPLETION_INDEX). A failed pod is
 * replaced after a back-off (10 s doubling to 10 min since the last failure); more failures
 * than spec.backoffLimit, or a Job active longer than activeDeadlineSeconds, or a FailJob rule
 * of spec.podFailurePolicy fails it (FailureTarget first, Failed once no pod is left
 * terminating; likewise SuccessCriteriaMet before Complete). suspend deletes the active pods
 * and creates none. Pods carry the batch.kubernetes.io/job-tracking finalizer until their end
 * is counted (job_status.c). Its pods are claimed as kube's getPodsForJob does (ctrl_claim_fin):
 * orphans its selector matches are adopted (with the finalizer), pods it no longer matches
 * released, and a Job being deleted adopts nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_int.h"
#include "log.h"
#include "podctl.h"
#include "workload.h"

#define COMP "job-controller"

/* ---- pods ---- */

bool job_has_finalizer(const struct jv *pod)
{
	for (const struct jv *f = jv_first(jv_path(pod, "metadata.finalizers")); f; f = f->next)
		if (jv_is_str(f, JOB_TRACKING_FINALIZER))
			return true;
	return false;
}

int64_t job_pod_index(const struct jv *pod)
{
	const char *s = jv_path_str(pod, "metadata.annotations[" JOB_INDEX_ANNOTATION "]");
	char *end;
	long long v;

	if (!s || !s[0])
		return -1;
	v = strtoll(s, &end, 10);
	return *end || v < 0 ? -1 : v;
}

bool job_phase_is(const struct jv *pod, const char *phase)
{
	return jv_is_str(jv_path(pod, "status.phase"), phase);
}

/* isPodFailed: Failed, or (podReplacementPolicy TerminatingOrFailed, no podFailurePolicy)
 * deleted before it succeeded. */
bool job_pod_failed(const struct jv *pod, const struct jv *job)
{
	if (job_phase_is(pod, "Failed"))
		return true;
	if (jv_path(job, "spec.podFailurePolicy") ||
	    jv_is_str(jv_path(job, "spec.podReplacementPolicy"), "Failed"))
		return false;
	return jv_path(pod, "metadata.deletionTimestamp") && !job_phase_is(pod, "Succeeded");
}

bool job_rm_expected(struct job_ctrl *jc, const char *uid)
{
	bool r;

	pthread_mutex_lock(&jc->lock);
	r = uid && hmap_sget(jc->rm_fin, uid);
	pthread_mutex_unlock(&jc->lock);
	return r;
}

static void rm_observed(struct job_ctrl *jc, const char *uid)
{
	pthread_mutex_lock(&jc->lock);
	if (uid)
		hmap_sdel(jc->rm_fin, uid);
	pthread_mutex_unlock(&jc->lock);
}

/* ---- handlers ---- */

static void job_key(const struct jv *t, char *buf)
{
	snprintf(buf, 512, "%s/%s", jv_path_str(t, "metadata.namespace") ?: "",
		 jv_path_str(t, "metadata.name") ?: "");
}

static void job_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct job_ctrl *jc = arg;
	char key[512];

	(void)o;
	job_key(t, key);
	kc_queue_add(jc->q, key);
}

static void job_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	job_add(arg, cur, cur_t);
}

/* ---- orphan pods (enqueueOrphanPod / syncOrphanPod) ---- */

static void pod_key(const struct jv *pod, char *buf)
{
	snprintf(buf, 512, "%s/%s", jv_path_str(pod, "metadata.namespace") ?: "",
		 jv_path_str(pod, "metadata.name") ?: "");
}

/* A tracked pod whose Job is not in the cache, or finished: its finalizer must go. */
static void maybe_orphan(struct job_ctrl *jc, const struct jv *pod)
{
	const struct jv *r = ctrl_controller_ref(pod);
	struct jv_doc *d;
	struct jv *job;
	char key[512];

	if (!job_has_finalizer(pod))
		return;
	if (r && jv_is_str(jv_get(r, "kind"), "Job")) {
		d = jv_doc_new();
		job = d ? ctrl_cached(jc->jobs, jv_path_str(pod, "metadata.namespace"),
				      jv_path_str(r, "name"), d)
			: NULL;
		if (job && jv_is_str(jv_path(job, "metadata.uid"), jv_path_str(r, "uid")) &&
		    !job_cond_true(job, "Complete") && !job_cond_true(job, "Failed")) {
			jv_doc_free(d);
			return;
		}
		jv_doc_free(d);
	} else if (r) {
		return; /* another kind's pod: not ours to touch */
	}
	pod_key(pod, key);
	kc_queue_add(jc->orphans, key);
}

static int sync_orphan(void *arg, const char *key)
{
	struct job_ctrl *jc = arg;
	struct jv_doc *d = jv_doc_new();
	char kbuf[512], *ns, *name, *body;
	struct jv *pod, *patch, *keep;
	const struct jv *r;
	struct kc_status st;
	int err = 0;

	if (!d)
		return -ENOMEM;
	snprintf(kbuf, sizeof(kbuf), "%s", key);
	kc_key_split(kbuf, &ns, &name);
	pod = ctrl_cached(jc->pods, ns, name, d);
	if (!pod || !job_has_finalizer(pod))
		goto out;
	/* still an orphan? (adopted, or its Job came back: keep the finalizer) */
	r = ctrl_controller_ref(pod);
	if (r && !jv_is_str(jv_get(r, "kind"), "Job"))
		goto out;
	if (r) {
		struct jv *job = ctrl_cached(jc->jobs, ns, jv_path_str(r, "name"), d);

		if (job && jv_is_str(jv_path(job, "metadata.uid"), jv_path_str(r, "uid")) &&
		    !job_cond_true(job, "Complete") && !job_cond_true(job, "Failed"))
			goto out;
	}
	patch = jv_new(d, JV_OBJECT);
	keep = jv_new(d, JV_ARRAY);
	for (const struct jv *f = jv_first(jv_path(pod, "metadata.finalizers")); f; f = f->next)
		if (!jv_is_str(f, JOB_TRACKING_FINALIZER))
			jv_push(keep, jv_copy(d, f));
	jv_set(d, jv_obj_at(d, patch, "metadata"), "finalizers", keep);
	body = jv_to_json(patch, NULL);
	if (!body) {
		err = -ENOMEM;
		goto out;
	}
	err = kc_patch(jc->c->kc, ctrl_k_pod, ns, name, NULL, KC_PATCH_MERGE, body, strlen(body),
		       NULL, NULL, &st);
	free(body);
	if (err == -ENOENT)
		err = 0;
out:
	jv_doc_free(d);
	return err;
}

static void job_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct job_ctrl *jc = arg;
	struct jv_doc *d = jv_doc_new();
	struct jv **pods;
	size_t n = 0;

	job_add(arg, o, t);
	/* its tracked pods are orphans now */
	pods = d ? ctrl_owned(jc->pods, jv_path_str(t, "metadata.uid"), d, &n) : NULL;
	for (size_t i = 0; i < n; i++)
		if (job_has_finalizer(pods[i])) {
			char key[512];

			pod_key(pods[i], key);
			kc_queue_add(jc->orphans, key);
		}
	jv_doc_free(d);
}

/* The key of the Job controlling pod (by name: the owner is in the pod's namespace). */
static bool pod_job_key(const struct jv *pod, char *key)
{
	const struct jv *r = ctrl_controller_ref(pod);

	if (!r || !jv_is_str(jv_get(r, "kind"), "Job"))
		return false;
	snprintf(key, 512, "%s/%s", jv_path_str(pod, "metadata.namespace") ?: "",
		 jv_path_str(r, "name") ?: "");
	return true;
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct job_ctrl *jc = arg;
	char key[512];

	(void)o;
	maybe_orphan(jc, t);
	if (!pod_job_key(t, key)) {
		/* an orphan: the Jobs that select it may adopt it (never one being deleted) */
		if (!ctrl_controller_ref(t) && !jv_path(t, "metadata.deletionTimestamp"))
			ctrl_enqueue_selecting(jc->jobs, jc->q, t);
		return;
	}
	if (jv_path(t, "metadata.deletionTimestamp"))
		ctrl_expect_observe(jc->exp, key, 0, 1);
	else
		ctrl_expect_observe(jc->exp, key, 1, 0);
	kc_queue_add(jc->q, key);
}

static void pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	struct job_ctrl *jc = arg;
	char key[512], okey[512];

	(void)old;
	(void)cur;
	if (!job_has_finalizer(cur_t))
		rm_observed(jc, jv_path_str(cur_t, "metadata.uid"));
	else
		maybe_orphan(jc, cur_t);
	/* its controller changed (released, adopted elsewhere): the old Job syncs too */
	if (old_t && pod_job_key(old_t, okey) &&
	    (!pod_job_key(cur_t, key) || strcmp(key, okey) != 0))
		kc_queue_add(jc->q, okey);
	if (!pod_job_key(cur_t, key)) {
		/* an orphan whose labels or controller changed: the Jobs selecting it now */
		if (!ctrl_controller_ref(cur_t) && (!old_t || ctrl_controller_ref(old_t) ||
						    !jv_equal(jv_path(old_t, "metadata.labels"),
							      jv_path(cur_t, "metadata.labels"))))
			ctrl_enqueue_selecting(jc->jobs, jc->q, cur_t);
		return;
	}
	if (jv_path(cur_t, "metadata.deletionTimestamp") &&
	    !(old_t && jv_path(old_t, "metadata.deletionTimestamp")))
		ctrl_expect_observe(jc->exp, key, 0, 1);
	kc_queue_add(jc->q, key);
}

static void pod_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct job_ctrl *jc = arg;
	char key[512];

	(void)o;
	rm_observed(jc, jv_path_str(t, "metadata.uid"));
	if (!pod_job_key(t, key))
		return;
	/* observed again if its deletionTimestamp was (as client-go's controllers do): an
	 * immediate delete may carry one too */
	ctrl_expect_observe(jc->exp, key, 0, 1);
	kc_queue_add(jc->q, key);
}

/* ---- status ---- */

int job_update_status(struct job_sync *s)
{
	struct kc_status st = {0};
	struct kc_obj *out = NULL;
	int err = kc_update(s->jc->c->kc, ctrl_k_job, jv_path_str(s->job, "metadata.namespace"),
			    "status", s->job, NULL, &out, &st);

	if (err) {
		if (err != -KC_ECONFLICT && err != -ENOENT)
			log_warn(COMP, "job %s: status: %s", s->key,
				 st.message[0] ? st.message : kc_strerror(err));
		return err == -KC_ECONFLICT ? -EAGAIN : err;
	}
	jv_set(s->d, jv_get(s->job, "metadata"), "resourceVersion",
	       jv_new_strf(s->d, "%llu", (unsigned long long)out->rv));
	kc_obj_put(out);
	job_backoff_store(s->jc, s->key, &s->backoff);
	return 0;
}

/* ---- podFailurePolicy (pod_failure_policy.go) ---- */

static bool exit_codes_match(const struct jv *req, const struct jv *pod, const char **ctr,
			     int64_t *code)
{
	const char *op = jv_path_str(req, "operator"), *only = jv_path_str(req, "containerName");
	static const char *lists[] = {"status.initContainerStatuses", "status.containerStatuses"};

	for (size_t l = 0; l < 2; l++)
		for (const struct jv *cs = jv_first(jv_path(pod, lists[l])); op && cs;
		     cs = cs->next) {
			int64_t c;
			bool in = false;

			if (jv_path_int(cs, "state.terminated.exitCode", &c) != 0 || c == 0)
				continue;
			if (only && !jv_is_str(jv_get(cs, "name"), only))
				continue;
			for (const struct jv *v = jv_first(jv_get(req, "values")); v; v = v->next) {
				int64_t x;

				if (jv_int(v, &x) == 0 && x == c)
					in = true;
			}
			if (in == (strcmp(op, "In") == 0)) {
				*ctr = jv_path_str(cs, "name");
				*code = c;
				return true;
			}
		}
	return false;
}

/* matchPodFailurePolicy: the first rule that matches a Failed pod: its action and, for
 * FailJob, the message. NULL action: no rule matched (counted). */
static const char *match_failure_policy(const struct jv *job, const struct jv *pod, char *msg,
					size_t len)
{
	size_t i = 0;

	for (const struct jv *r = jv_first(jv_path(job, "spec.podFailurePolicy.rules")); r;
	     r = r->next, i++) {
		const char *action = jv_path_str(r, "action");
		const struct jv *ec = jv_get(r, "onExitCodes");
		const char *ctr = NULL;
		int64_t code = 0;
		bool hit = false;

		if (!action)
			continue;
		if (ec) {
			hit = exit_codes_match(ec, pod, &ctr, &code);
			if (hit && strcmp(action, "FailJob") == 0)
				snprintf(msg, len,
					 "Container %s for pod %s/%s failed with exit code %lld "
					 "matching %s rule at index %zu",
					 ctr ? ctr : "", jv_path_str(pod, "metadata.namespace"),
					 jv_path_str(pod, "metadata.name"), (long long)code, action,
					 i);
		} else {
			for (const struct jv *pc = jv_first(jv_get(r, "onPodConditions"));
			     pc && !hit; pc = pc->next) {
				const struct jv *c =
				    ctrl_condition(pod, jv_path_str(pc, "type") ?: "");
				const char *want = jv_path_str(pc, "status") ?: "True";

				hit = c && jv_is_str(jv_get(c, "status"), want);
				if (hit && strcmp(action, "FailJob") == 0)
					snprintf(msg, len,
						 "Pod %s/%s has condition %s matching %s rule at "
						 "index %zu",
						 jv_path_str(pod, "metadata.namespace"),
						 jv_path_str(pod, "metadata.name"),
						 jv_path_str(pc, "type"), action, i);
			}
		}
		if (hit)
			return action;
	}
	return NULL;
}

/* Is a failed pod counted against backoffLimit? (Ignore rules: no.) */
bool job_failure_counts(const struct jv *job, const struct jv *pod)
{
	char msg[512];
	const char *a;

	if (!jv_path(job, "spec.podFailurePolicy"))
		return true;
	a = match_failure_policy(job, pod, msg, sizeof(msg));
	return !a || strcmp(a, "Ignore") != 0;
}

/* ---- the sync ---- */

static bool active_deadline_passed(struct job_sync *s, int64_t *left_ms)
{
	int64_t ads, start;

	*left_ms = -1;
	if (jv_path_int(s->job, "spec.activeDeadlineSeconds", &ads) != 0 || job_suspended(s->job))
		return false;
	start = ctrl_parse_time(jv_path_str(s->job, "status.startTime"));
	if (start < 0)
		return false;
	if (job_now_ms() >= (start + ads) * 1000)
		return true;
	*left_ms = (start + ads) * 1000 - job_now_ms();
	return false;
}

static int sync_job(void *arg, const char *key)
{
	struct job_ctrl *jc = arg;
	struct job_sync s = {.jc = jc, .key = key, .completions = -1};
	char kbuf[512], *ns, *name, now[32];
	struct jv **active, **nsucc, **nfail;
	size_t nactive = 0, ns_n = 0, nf_n = 0;
	struct jv *st, *unc;
	bool satisfied, needs = false;
	int64_t backoff_limit = 6, left;
	int err = 0, manage_err = 0;
	const char *mode;

	snprintf(kbuf, sizeof(kbuf), "%s", key);
	kc_key_split(kbuf, &ns, &name);
	s.d = jv_doc_new();
	if (!s.d)
		return -ENOMEM;
	s.job = ctrl_cached(jc->jobs, ns, name, s.d);
	if (!s.job) {
		ctrl_expect_delete(jc->exp, key);
		job_backoff_forget(jc, key);
		goto out;
	}
	if (job_cond_true(s.job, "Complete") || job_cond_true(s.job, "Failed")) {
		job_backoff_forget(jc, key);
		goto out;
	}
	mode = jv_path_str(s.job, "spec.completionMode");
	if (mode && strcmp(mode, "NonIndexed") != 0 && strcmp(mode, "Indexed") != 0) {
		kc_event(jc->c->rec, s.job, "Warning", "UnknownCompletionMode",
			 "Skipped Job sync because completion mode is unknown");
		goto out;
	}
	s.indexed = mode && strcmp(mode, "Indexed") == 0;
	jv_path_int(s.job, "spec.completions", &s.completions);
	jv_path_int(s.job, "spec.backoffLimit", &backoff_limit);
	st = jv_obj_at(s.d, s.job, "status");
	unc = jv_obj_at(s.d, st, "uncountedTerminatedPods");
	satisfied = ctrl_expect_satisfied(jc->exp, key);
	/* getPodsForJob: the pods it controls after adopting the orphans its selector matches
	 * (they get the tracking finalizer in the same write) and releasing those it no longer
	 * matches; a failed adoption or release fails the sync, as kube's */
	s.pods = ctrl_claim_fin(jc->c, jc->pods, ctrl_k_pod, s.job, ctrl_k_job, NULL,
				JOB_TRACKING_FINALIZER, s.d, &s.npods, &err);
	if (err)
		goto out;
	active = jv_alloc(s.d, (s.npods + 1) * sizeof(*active));
	nsucc = jv_alloc(s.d, (s.npods + 1) * sizeof(*nsucc));
	nfail = jv_alloc(s.d, (s.npods + 1) * sizeof(*nfail));
	if (!active || !nsucc || !nfail || !unc) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s.npods; i++) {
		const struct jv *p = s.pods[i];
		const char *uid = jv_path_str(p, "metadata.uid");

		if (ctrl_pod_active(p)) {
			active[nactive++] = s.pods[i];
			if (ctrl_pod_ready(p))
				s.ready++;
		} else if (jv_path(p, "metadata.deletionTimestamp") &&
			   !job_phase_is(p, "Succeeded") && !job_phase_is(p, "Failed"))
			s.terminating++;
		/* getNewFinishedPods: tracked, not yet in uncountedTerminatedPods */
		if (!job_has_finalizer(p) || job_rm_expected(jc, uid))
			continue;
		if (s.indexed) {
			int64_t ix = job_pod_index(p);

			if (ix < 0 || ix >= s.completions)
				continue;
		}
		if (job_phase_is(p, "Succeeded") && !job_uid_in(jv_get(unc, "succeeded"), uid))
			nsucc[ns_n++] = s.pods[i];
		else if (job_pod_failed(p, s.job) && !job_uid_in(jv_get(unc, "failed"), uid))
			nfail[nf_n++] = s.pods[i];
	}
	s.active = (int64_t)nactive;
	jv_path_int(s.job, "status.succeeded", &s.succeeded);
	jv_path_int(s.job, "status.failed", &s.failed);
	s.succeeded += (int64_t)ns_n + (int64_t)jv_count(jv_get(unc, "succeeded"));
	s.failed += (int64_t)jv_count(jv_get(unc, "failed"));
	for (size_t i = 0; i < nf_n; i++)
		if (job_failure_counts(s.job, nfail[i]))
			s.failed++;
	if (!jv_get(st, "startTime") && !job_suspended(s.job))
		jv_set(s.d, st, "startTime", jv_new_strz(s.d, ctrl_time(ctrl_now(), now)));
	job_backoff_next(&s, nsucc, ns_n, nfail, nf_n);

	/* how the Job ends, if it does now */
	if (job_cond_true(s.job, "SuccessCriteriaMet")) {
		const struct jv *c = ctrl_condition(s.job, "SuccessCriteriaMet");

		s.fin_type = "SuccessCriteriaMet";
		s.fin_reason = jv_path_str(c, "reason");
		s.fin_message = jv_path_str(c, "message");
	} else if (job_cond_true(s.job, "FailureTarget")) {
		const struct jv *c = ctrl_condition(s.job, "FailureTarget");

		s.fin_type = "Failed";
		s.fin_reason = jv_path_str(c, "reason");
		s.fin_message = jv_path_str(c, "message");
	} else if (jv_path(s.job, "spec.podFailurePolicy")) {
		for (size_t i = 0; i < s.npods && !s.fin_type; i++) {
			char msg[512];
			const char *a;

			if (!job_pod_failed(s.pods[i], s.job))
				continue;
			a = match_failure_policy(s.job, s.pods[i], msg, sizeof(msg));
			if (a && strcmp(a, "FailJob") == 0) {
				s.fin_type = "FailureTarget";
				s.fin_reason = "PodFailurePolicy";
				s.fin_message = jv_strndup(s.d, msg, strlen(msg));
			}
		}
	}
	if (!s.fin_type) {
		if (s.failed > backoff_limit) {
			s.fin_type = "FailureTarget";
			s.fin_reason = "BackoffLimitExceeded";
			s.fin_message = "Job has reached the specified backoff limit";
		} else if (active_deadline_passed(&s, &left)) {
			s.fin_type = "FailureTarget";
			s.fin_reason = "DeadlineExceeded";
			s.fin_message = "Job was active longer than specified deadline";
		} else if (left >= 0) {
			kc_queue_add_after(jc->q, key, (uint64_t)left + 1);
		}
	}
	if (s.indexed) {
		s.succeeded_idx = jv_alloc(s.d, (size_t)s.completions + 1);
		s.prev_succeeded_idx = jv_alloc(s.d, (size_t)s.completions + 1);
		if (!s.succeeded_idx || !s.prev_succeeded_idx) {
			err = -ENOMEM;
			goto out;
		}
		job_parse_indexes(jv_path_str(s.job, "status.completedIndexes"),
				  s.prev_succeeded_idx, s.completions);
		memcpy(s.succeeded_idx, s.prev_succeeded_idx, (size_t)s.completions);
		s.succeeded = 0;
		for (size_t i = 0; i < s.npods; i++) {
			int64_t ix = job_pod_index(s.pods[i]);

			if (job_phase_is(s.pods[i], "Succeeded") && ix >= 0 && ix < s.completions)
				s.succeeded_idx[ix] = true;
		}
		for (int64_t i = 0; i < s.completions; i++)
			s.succeeded += s.succeeded_idx[i];
	}

	if (s.fin_type) {
		/* the Job ends: every active pod goes (finalizers kept: counted below) */
		int64_t ready_gone,
		    gone = job_delete_pods(&s, active, nactive, true, &ready_gone, &manage_err);

		if (gone != (int64_t)nactive || !satisfied)
			s.fin_type = NULL;
		s.active -= gone;
		s.terminating += gone;
		s.ready -= ready_gone;
	} else {
		bool managed = false, complete;

		if (satisfied && !jv_path(s.job, "metadata.deletionTimestamp")) {
			s.active = job_manage(&s, active, nactive, &manage_err);
			managed = true;
		}
		if (s.completions < 0)
			complete = s.succeeded > 0 && s.active == 0;
		else
			complete = s.succeeded >= s.completions && s.active == 0;
		if (complete) {
			s.fin_type = "SuccessCriteriaMet";
			s.fin_reason = "CompletionsReached";
			s.fin_message = "Reached expected number of succeeded pods";
		} else if (managed) {
			bool susp = job_suspended(s.job);
			const struct jv *c = ctrl_condition(s.job, "Suspended");

			if (susp && !jv_is_str(jv_get(c, "status"), "True")) {
				ctrl_set_condition(s.d, s.job, "Suspended", "True", "JobSuspended",
						   "Job suspended");
				kc_event(jc->c->rec, s.job, "Normal", "Suspended", "Job suspended");
				needs = true;
			} else if (!susp && c && !jv_is_str(jv_get(c, "status"), "False")) {
				ctrl_set_condition(s.d, s.job, "Suspended", "False", "JobResumed",
						   "Job resumed");
				kc_event(jc->c->rec, s.job, "Normal", "Resumed", "Job resumed");
				/* the deadline counts from the resume */
				jv_set(s.d, st, "startTime",
				       jv_new_strz(s.d, ctrl_time(ctrl_now(), now)));
				needs = true;
			}
		}
	}
	{
		int64_t a = -1, r = -1, t = -1;

		jv_path_int(st, "active", &a);
		jv_path_int(st, "ready", &r);
		jv_path_int(st, "terminating", &t);
		needs = needs || a != s.active || r != s.ready || t != s.terminating;
		if (s.active || jv_get(st, "active"))
			jv_set(s.d, st, "active", jv_new_int(s.d, s.active));
		jv_set(s.d, st, "ready", jv_new_int(s.d, s.ready));
		jv_set(s.d, st, "terminating", jv_new_int(s.d, s.terminating));
		if (s.active == 0)
			jv_del(st, "active");
	}
	err = job_track(&s, needs);
	if (!err)
		err = manage_err;
out:
	jv_doc_free(s.d);
	return err;
}

/* ---- lifecycle ---- */

static int job_init(struct ctrl_ctx *c, void **state)
{
	struct job_ctrl *jc = calloc(1, sizeof(*jc));
	struct kc_handlers jh = {.add = job_add, .update = job_update, .del = job_del};
	struct kc_handlers ph = {.add = pod_add, .update = pod_update, .del = pod_del};

	*state = jc;
	if (!jc)
		return -ENOMEM;
	jc->c = c;
	pthread_mutex_init(&jc->lock, NULL);
	jc->backoff_base_ms = c->cfg->job_backoff_ms ? c->cfg->job_backoff_ms : 10000;
	jc->backoff_max_ms = 600000; /* MaxJobPodFailureBackOff: 10 min */
	jc->q = kc_queue_new("job");
	jc->orphans = kc_queue_new("job-orphan-pods");
	jc->exp = ctrl_expect_new();
	jc->backoff = hmap_new();
	jc->rm_fin = hmap_new();
	jc->jobs = ctrl_informer(c, ctrl_k_job);
	jc->pods = ctrl_informer(c, ctrl_k_pod);
	if (!jc->q || !jc->orphans || !jc->exp || !jc->backoff || !jc->rm_fin || !jc->jobs ||
	    !jc->pods)
		return -ENOMEM;
	if (ctrl_claim_indexes(c, ctrl_k_pod) != 0)
		return -ENOMEM;
	jh.arg = ph.arg = jc;
	if (kc_informer_add_handlers(jc->jobs, &jh) != 0 ||
	    kc_informer_add_handlers(jc->pods, &ph) != 0)
		return -ENOMEM;
	return 0;
}

static int job_run(void *state)
{
	struct job_ctrl *jc = state;

	jc->w = kc_workers_start(jc->q, jc->c->cfg->workers, sync_job, jc, "job");
	jc->ow = kc_workers_start(jc->orphans, 1, sync_orphan, jc, "job-orphans");
	return jc->w && jc->ow ? 0 : -ENOMEM;
}

/* The workers stop (no sync runs after it); handlers may still add to the shut queue. */
static void job_quiesce(void *state)
{
	struct job_ctrl *jc = state;

	if (!jc)
		return;
	ctrl_queue_quiesce(&jc->w, jc->q);
	ctrl_queue_quiesce(&jc->ow, jc->orphans);
}

static void job_stop(void *state)
{
	struct job_ctrl *jc = state;

	if (!jc)
		return;
	job_quiesce(jc);
	kc_queue_free(jc->q);
	kc_queue_free(jc->orphans);
	ctrl_expect_free(jc->exp);
	if (jc->backoff) {
		for (struct hmap_entry *it = hmap_first(jc->backoff); it;
		     it = hmap_next(jc->backoff, it))
			free(hmap_entry_val(it));
		hmap_free(jc->backoff);
	}
	hmap_free(jc->rm_fin);
	pthread_mutex_destroy(&jc->lock);
	free(jc);
}

void job_rm_expect(struct job_ctrl *jc, const char *uid)
{
	pthread_mutex_lock(&jc->lock);
	if (uid)
		hmap_sput(jc->rm_fin, uid, (void *)1, NULL);
	pthread_mutex_unlock(&jc->lock);
}

void job_rm_done(struct job_ctrl *jc, const char *uid)
{
	rm_observed(jc, uid);
}

const struct ctrl_desc ctrl_job = {
    .name = "job",
    .component = "job-controller",
    .init = job_init,
    .run = job_run,
    .stop = job_stop,
    .quiesce = job_quiesce,
};
