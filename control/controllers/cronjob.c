/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cronjob: kube-controller-manager's CronJob controller (cronjob_controllerv2.go, 1.32).
 * At each schedule time (spec.schedule read in spec.timeZone, else the controller's local
 * zone; userspace/lib/cron.h) it makes a Job from spec.jobTemplate named
 * <cronjob>-<scheduled time in minutes since the epoch> (the name is the lock: a second
 * sync of the same time finds it there), unless the time is past startingDeadlineSeconds
 * (MissSchedule), suspended, or a run is still active under concurrencyPolicy Forbid
 * (Replace deletes the active ones first). It keeps status.active/lastScheduleTime/
 * lastSuccessfulTime and deletes finished Jobs beyond successfulJobsHistoryLimit and
 * failedJobsHistoryLimit, oldest first.
 *
 * Test seam: the controller reads the time from ctrl_config.clock when set (a test moves
 * its clock by hand instead of waiting for real minutes), and then also looks again every
 * cronjob_poll_ms, since a delayed queue does not wake for a clock that jumps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "log.h"
#include "podctl.h"

#define COMP "cronjob-controller"

struct cj_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *cjs, *jobs;
	struct kc_queue *q;
	struct kc_workers *w;
};

static int64_t now_of(struct cj_ctrl *cc)
{
	const struct ctrl_config *cfg = cc->c->cfg;

	return cfg->clock ? cfg->clock(cfg->clock_arg) : ctrl_now();
}

/* ---- handlers ---- */

static void cj_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct cj_ctrl *cc = arg;
	char key[512];

	(void)o;
	snprintf(key, sizeof(key), "%s/%s", jv_path_str(t, "metadata.namespace") ?: "",
		 jv_path_str(t, "metadata.name") ?: "");
	kc_queue_add(cc->q, key);
}

static void cj_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	cj_add(arg, cur, cur_t);
}

static void job_event(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct cj_ctrl *cc = arg;
	const struct jv *r = ctrl_controller_ref(t);
	char key[512];

	(void)o;
	if (!r || !jv_is_str(jv_get(r, "kind"), "CronJob"))
		return;
	snprintf(key, sizeof(key), "%s/%s", jv_path_str(t, "metadata.namespace") ?: "",
		 jv_path_str(r, "name") ?: "");
	kc_queue_add(cc->q, key);
}

static void job_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	job_event(arg, cur, cur_t);
}

/* ---- helpers ---- */

/* "Complete" / "Failed" when the Job finished, else NULL (IsJobFinished). */
static const char *finished(const struct jv *job)
{
	for (const struct jv *c = jv_first(jv_path(job, "status.conditions")); c; c = c->next)
		if ((jv_is_str(jv_get(c, "type"), "Complete") ||
		     jv_is_str(jv_get(c, "type"), "Failed")) &&
		    jv_is_str(jv_get(c, "status"), "True"))
			return jv_path_str(c, "type");
	return NULL;
}

static bool in_active(const struct jv *cj, const char *uid)
{
	for (const struct jv *r = jv_first(jv_path(cj, "status.active")); r && uid; r = r->next)
		if (jv_is_str(jv_get(r, "uid"), uid))
			return true;
	return false;
}

static void active_remove(const struct jv *cj, const char *uid)
{
	struct jv *arr = jv_path(cj, "status.active"), *prev = NULL, *next;

	for (struct jv *r = jv_first(arr); r; r = next) {
		next = r->next;
		if (jv_is_str(jv_get(r, "uid"), uid))
			jv_unlink(arr, prev, r);
		else
			prev = r;
	}
}

/* RFC 3339 of t in zone z ("2026-12-06T10:00:00+01:00", "Z" for UTC). */
static void time_in(const struct cron_tz *z, int64_t t, char *buf, size_t len)
{
	int32_t off = cron_tz_offset(z, t);
	time_t lt = (time_t)(t + off);
	struct tm tm;
	char tmp[24];

	gmtime_r(&lt, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!off)
		snprintf(buf, len, "%sZ", tmp);
	else
		snprintf(buf, len, "%.20s%c%02d:%02d", tmp, off < 0 ? '-' : '+',
			 (abs(off) / 3600) % 100, abs(off) / 60 % 60);
}

/* mostRecentScheduleTime: *recent the latest schedule time in (earliest, now] (or -1);
 * returns 0, or -EINVAL for a schedule whose times are less than a second apart; *many:
 * more than 100 missed. */
static int most_recent(const struct jv *cj, int64_t now, const struct cron_sched *s,
		       const struct cron_tz *z, bool with_deadline, int64_t *earliest,
		       int64_t *recent, bool *many)
{
	int64_t t1, t2, gap, missed, sds;

	*recent = -1;
	*many = false;
	*earliest = ctrl_parse_time(jv_path_str(cj, "metadata.creationTimestamp"));
	if (jv_path_str(cj, "status.lastScheduleTime"))
		*earliest = ctrl_parse_time(jv_path_str(cj, "status.lastScheduleTime"));
	if (with_deadline && jv_path_int(cj, "spec.startingDeadlineSeconds", &sds) == 0 &&
	    now - sds > *earliest)
		*earliest = now - sds;
	t1 = cron_next(s, z, *earliest);
	t2 = t1 < 0 ? -1 : cron_next(s, z, t1);
	if (t1 < 0 || now < t1)
		return 0;
	if (t2 < 0 || now < t2) {
		*recent = t1;
		return 0;
	}
	gap = t2 - t1;
	if (gap < 1)
		return -EINVAL;
	missed = (now - t1) / gap + 1;
	*many = missed > 100;
	*recent = t1 + (missed - 1) * gap;
	for (int64_t t = cron_next(s, z, *recent); t >= 0 && t <= now; t = cron_next(s, z, t))
		*recent = t;
	return 0;
}

/* nextScheduleTimeDuration: ms until the next schedule time (+100 ms). */
static uint64_t next_delay(const struct jv *cj, int64_t now, const struct cron_sched *s,
			   const struct cron_tz *z)
{
	int64_t earliest, recent, next;
	bool many;

	if (most_recent(cj, now, s, z, false, &earliest, &recent, &many) != 0)
		recent = now;
	else if (recent < 0)
		recent = earliest;
	next = cron_next(s, z, recent);
	if (next < 0)
		return 3600 * 1000;
	return next < now ? 100 : (uint64_t)(next - now) * 1000 + 100;
}

/* deleteJob: Background propagation, then out of the active list. */
static bool delete_job(struct cj_ctrl *cc, struct jv *cj, const struct jv *job)
{
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st = {0};
	int err;

	o.propagation = "Background";
	err = kc_delete(cc->c->kc, ctrl_k_job, jv_path_str(job, "metadata.namespace"),
			jv_path_str(job, "metadata.name"), &o, NULL, &st);
	if (err && err != -ENOENT) {
		kc_event(cc->c->rec, cj, "Warning", "FailedDelete", "Deleted job: %s", st.message);
		return false;
	}
	active_remove(cj, jv_path_str(job, "metadata.uid"));
	kc_event(cc->c->rec, cj, "Normal", "SuccessfulDelete", "Deleted job %s",
		 jv_path_str(job, "metadata.name"));
	return true;
}

static int by_start(const void *a, const void *b)
{
	const struct jv *x = *(const struct jv *const *)a, *y = *(const struct jv *const *)b;
	int64_t sx = ctrl_parse_time(jv_path_str(x, "status.startTime"));
	int64_t sy = ctrl_parse_time(jv_path_str(y, "status.startTime"));

	if (sx < 0 && sy >= 0)
		return 1;
	if (sx >= 0 && sy < 0)
		return -1;
	if (sx == sy)
		return strcmp(jv_path_str(x, "metadata.name") ?: "",
			      jv_path_str(y, "metadata.name") ?: "");
	return sx < sy ? -1 : 1;
}

/* cleanupFinishedJobs: finished Jobs past the history limits, oldest first. */
static bool cleanup(struct cj_ctrl *cc, struct jv_doc *d, struct jv *cj, struct jv **jobs, size_t n)
{
	static const char *kinds[] = {"Complete", "Failed"};
	static const char *limits[] = {"spec.successfulJobsHistoryLimit",
				       "spec.failedJobsHistoryLimit"};
	bool changed = false;

	for (size_t k = 0; k < 2; k++) {
		struct jv **fin = jv_alloc(d, (n + 1) * sizeof(*fin));
		size_t nf = 0;
		int64_t limit;

		if (!fin || jv_path_int(cj, limits[k], &limit) != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			const char *f = finished(jobs[i]);

			if (f && !strcmp(f, kinds[k]))
				fin[nf++] = jobs[i];
		}
		if ((int64_t)nf <= limit)
			continue;
		qsort(fin, nf, sizeof(*fin), by_start);
		for (size_t i = 0; (int64_t)i < (int64_t)nf - limit; i++)
			changed |= delete_job(cc, cj, fin[i]);
	}
	return changed;
}

/* getJobFromTemplate2 */
static struct jv *job_from_template(struct jv_doc *d, const struct jv *cj, int64_t when,
				    const struct cron_tz *z)
{
	struct jv *job = jv_new(d, JV_OBJECT), *md, *refs, *ann;
	const struct jv *tmd = jv_path(cj, "spec.jobTemplate.metadata");
	char ts[64];

	jv_set(d, job, "apiVersion", jv_new_strz(d, "batch/v1"));
	jv_set(d, job, "kind", jv_new_strz(d, "Job"));
	md = jv_obj_at(d, job, "metadata");
	jv_set(d, md, "name",
	       jv_new_strf(d, "%s-%lld", jv_path_str(cj, "metadata.name"), (long long)(when / 60)));
	jv_set(d, md, "namespace", jv_new_strz(d, jv_path_str(cj, "metadata.namespace")));
	if (jv_get(tmd, "labels"))
		jv_set(d, md, "labels", jv_copy(d, jv_get(tmd, "labels")));
	ann = jv_get(tmd, "annotations") ? jv_copy(d, jv_get(tmd, "annotations"))
					 : jv_new(d, JV_OBJECT);
	time_in(z, when, ts, sizeof(ts));
	jv_set(d, ann, "batch.kubernetes.io/cronjob-scheduled-timestamp", jv_new_strz(d, ts));
	jv_set(d, md, "annotations", ann);
	refs = jv_new(d, JV_ARRAY);
	jv_push(refs, ctrl_owner_ref(d, cj, ctrl_k_cronjob));
	jv_set(d, md, "ownerReferences", refs);
	jv_set(d, job, "spec", jv_copy(d, jv_path(cj, "spec.jobTemplate.spec")));
	return jv_get(job, "spec") ? job : NULL;
}

static struct jv *job_ref(struct jv_doc *d, const struct jv *job)
{
	struct jv *r = jv_new(d, JV_OBJECT);

	jv_set(d, r, "kind", jv_new_strz(d, "Job"));
	jv_set(d, r, "namespace", jv_new_strz(d, jv_path_str(job, "metadata.namespace")));
	jv_set(d, r, "name", jv_new_strz(d, jv_path_str(job, "metadata.name")));
	jv_set(d, r, "uid", jv_new_strz(d, jv_path_str(job, "metadata.uid")));
	jv_set(d, r, "apiVersion", jv_new_strz(d, "batch/v1"));
	if (jv_path_str(job, "metadata.resourceVersion"))
		jv_set(d, r, "resourceVersion",
		       jv_new_strz(d, jv_path_str(job, "metadata.resourceVersion")));
	return r;
}

/* ---- the sync ---- */

/* syncCronJob: *requeue_ms (0: none); *dirty when the status changed. */
static int sync_cj(struct cj_ctrl *cc, struct jv_doc *d, struct jv *cj, struct jv **jobs,
		   size_t njobs, uint64_t *requeue_ms, bool *dirty)
{
	struct kclient *kc = cc->c->kc;
	const char *ns = jv_path_str(cj, "metadata.namespace");
	const char *zone_name = jv_path_str(cj, "spec.timeZone");
	const char *sched_s = jv_path_str(cj, "spec.schedule");
	const struct jv *susp = jv_path(cj, "spec.suspend");
	struct jv *st = jv_obj_at(d, cj, "status"), *job, *arr;
	struct cron_sched *sched = NULL;
	struct cron_tz *z = NULL;
	int64_t now = now_of(cc), when, earliest, sds;
	bool many;
	char err[256], name[320];
	struct kc_obj *out = NULL;
	struct kc_status kst = {0};
	int rc = 0;

	*requeue_ms = 0;
	for (size_t i = 0; i < njobs; i++) {
		const char *uid = jv_path_str(jobs[i], "metadata.uid");
		const char *fin = finished(jobs[i]);
		bool found = in_active(cj, uid);

		if (!found && !fin) {
			kc_event(cc->c->rec, cj, "Warning", "UnexpectedJob",
				 "Saw a job that the controller did not create or forgot: %s",
				 jv_path_str(jobs[i], "metadata.name"));
		} else if (found && fin) {
			active_remove(cj, uid);
			kc_event(cc->c->rec, cj, "Normal", "SawCompletedJob",
				 "Saw completed job: %s, status: %s",
				 jv_path_str(jobs[i], "metadata.name"), fin);
			*dirty = true;
		}
		if (fin && !strcmp(fin, "Complete")) {
			const char *ct = jv_path_str(jobs[i], "status.completionTime");
			int64_t last = ctrl_parse_time(jv_path_str(st, "lastSuccessfulTime"));

			if (ct && ctrl_parse_time(ct) > last) {
				jv_set(d, st, "lastSuccessfulTime", jv_new_strz(d, ct));
				*dirty = true;
			}
		}
	}
	/* active entries whose Job is gone (asked of the server: the cache may lag) */
	for (struct jv *r = jv_first(jv_get(st, "active")), *next; r; r = next) {
		const char *uid = jv_path_str(r, "uid");
		bool have = false;

		next = r->next;
		for (size_t i = 0; i < njobs && !have; i++)
			have = jv_is_str(jv_path(jobs[i], "metadata.uid"), uid);
		if (have)
			continue;
		rc = kc_get(kc, ctrl_k_job, ns, jv_path_str(r, "name"), &out, &kst);
		kc_obj_put(out);
		out = NULL;
		if (rc == -ENOENT) {
			kc_event(cc->c->rec, cj, "Normal", "MissingJob",
				 "Active job went missing: %s", jv_path_str(r, "name"));
			active_remove(cj, uid);
			*dirty = true;
		} else if (rc) {
			return rc;
		}
	}
	rc = 0;
	if (jv_path(cj, "metadata.deletionTimestamp"))
		return 0;
	z = cron_tz_load(zone_name, err, sizeof(err));
	if (!z) {
		kc_event(cc->c->rec, cj, "Warning", "UnknownTimeZone",
			 "invalid timeZone: \"%s\": %s", zone_name ? zone_name : "", err);
		return 0;
	}
	if (susp && susp->type == JV_TRUE)
		goto out;
	if (!sched_s || cron_parse(sched_s, &sched, err, sizeof(err)) != 0) {
		kc_event(cc->c->rec, cj, "Warning", "UnparseableSchedule",
			 "unparseable schedule: \"%s\" : %s", sched_s ? sched_s : "", err);
		goto out;
	}
	if (most_recent(cj, now, sched, z, true, &earliest, &when, &many) != 0) {
		kc_event(
		    cc->c->rec, cj, "Warning", "InvalidSchedule",
		    "invalid schedule: %s : time difference between two schedules is less than "
		    "1 second",
		    sched_s);
		goto out;
	}
	if (many)
		kc_event(
		    cc->c->rec, cj, "Warning", "TooManyMissedTimes",
		    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
		    "or check clock skew");
	if (when < 0) {
		*requeue_ms = next_delay(cj, now, sched, z);
		goto out;
	}
	if (jv_path_int(cj, "spec.startingDeadlineSeconds", &sds) == 0 && when + sds < now) {
		time_t tt = (time_t)when;
		struct tm tm;
		char ts[64];

		gmtime_r(&tt, &tm);
		strftime(ts, sizeof(ts), "%a, %d %b %Y %H:%M:%S +0000", &tm);
		kc_event(cc->c->rec, cj, "Warning", "MissSchedule",
			 "Missed scheduled time to start a job: %s", ts);
		*requeue_ms = next_delay(cj, now, sched, z);
		goto out;
	}
	snprintf(name, sizeof(name), "%s-%lld", jv_path_str(cj, "metadata.name"),
		 (long long)(when / 60));
	{
		bool done = ctrl_parse_time(jv_path_str(st, "lastScheduleTime")) == when;

		for (const struct jv *r = jv_first(jv_get(st, "active")); r && !done; r = r->next)
			done = jv_is_str(jv_get(r, "name"), name);
		if (done) {
			*requeue_ms = next_delay(cj, now, sched, z);
			goto out;
		}
	}
	if (jv_is_str(jv_path(cj, "spec.concurrencyPolicy"), "Forbid") &&
	    jv_count(jv_get(st, "active"))) {
		kc_event(cc->c->rec, cj, "Normal", "JobAlreadyActive",
			 "Not starting job because prior execution is running and concurrency "
			 "policy is Forbid");
		*requeue_ms = next_delay(cj, now, sched, z);
		goto out;
	}
	if (jv_is_str(jv_path(cj, "spec.concurrencyPolicy"), "Replace")) {
		for (struct jv *r = jv_first(jv_get(st, "active")), *next; r; r = next) {
			struct jv *aj;

			next = r->next;
			rc = kc_get(kc, ctrl_k_job, ns, jv_path_str(r, "name"), &out, &kst);
			if (rc) {
				kc_event(cc->c->rec, cj, "Warning", "FailedGet", "Get job: %s",
					 kst.message);
				goto out;
			}
			aj = kc_obj_parse(out, d);
			kc_obj_put(out);
			out = NULL;
			if (!aj || !delete_job(cc, cj, aj)) {
				rc = -EAGAIN;
				goto out;
			}
			*dirty = true;
		}
	}
	job = job_from_template(d, cj, when, z);
	if (!job) {
		rc = -ENOMEM;
		goto out;
	}
	rc = kc_create(kc, ctrl_k_job, ns, job, NULL, &out, &kst);
	if (rc == -EEXIST) {
		/* made by an earlier sync (the name is the lock), or by someone else */
		rc = kc_get(kc, ctrl_k_job, ns, name, &out, &kst);
		if (rc)
			goto out;
		job = kc_obj_parse(out, d);
		if (!job || !ctrl_controlled_by(job, jv_path_str(cj, "metadata.uid")) ||
		    in_active(cj, jv_path_str(job, "metadata.uid")))
			goto out;
	} else if (rc) {
		if (!ctrl_ns_terminating(rc, &kst))
			kc_event(cc->c->rec, cj, "Warning", "FailedCreate",
				 "Error creating job: %s", kst.message);
		goto out;
	} else {
		job = kc_obj_parse(out, d);
		kc_event(cc->c->rec, cj, "Normal", "SuccessfulCreate", "Created job %s", name);
	}
	arr = jv_get(st, "active");
	if (!arr || arr->type != JV_ARRAY) {
		arr = jv_new(d, JV_ARRAY);
		jv_set(d, st, "active", arr);
	}
	jv_push(arr, job_ref(d, job));
	{
		char ts[32];

		jv_set(d, st, "lastScheduleTime", jv_new_strz(d, ctrl_time(when, ts)));
	}
	*dirty = true;
	*requeue_ms = next_delay(cj, now, sched, z);
out:
	kc_obj_put(out);
	cron_free(sched);
	cron_tz_free(z);
	return rc;
}

static int sync_key(void *arg, const char *key)
{
	struct cj_ctrl *cc = arg;
	struct jv_doc *d = jv_doc_new();
	char kbuf[512], *ns, *name;
	struct jv *cj, **jobs;
	size_t njobs;
	uint64_t requeue = 0;
	bool dirty = false;
	int err = 0;

	if (!d)
		return -ENOMEM;
	snprintf(kbuf, sizeof(kbuf), "%s", key);
	kc_key_split(kbuf, &ns, &name);
	cj = ctrl_cached(cc->cjs, ns, name, d);
	if (!cj)
		goto out;
	jobs = ctrl_owned(cc->jobs, jv_path_str(cj, "metadata.uid"), d, &njobs);
	err = sync_cj(cc, d, cj, jobs, njobs, &requeue, &dirty);
	if (!err && cleanup(cc, d, cj, jobs, njobs))
		dirty = true;
	if (dirty) {
		struct kc_status st = {0};
		int uerr;

		if (!jv_count(jv_path(cj, "status.active")))
			jv_del(jv_get(cj, "status"), "active");
		uerr = kc_update(cc->c->kc, ctrl_k_cronjob, ns, "status", cj, NULL, NULL, &st);
		if (uerr == -KC_ECONFLICT)
			uerr = -EAGAIN;
		else if (uerr && uerr != -ENOENT)
			log_warn(COMP, "cronjob %s: status: %s", key, st.message);
		if (!err && uerr != -ENOENT)
			err = uerr;
	}
	if (cc->c->cfg->clock) {
		uint64_t poll = cc->c->cfg->cronjob_poll_ms ? cc->c->cfg->cronjob_poll_ms : 100;

		if (!requeue || requeue > poll)
			requeue = poll;
	}
	if (requeue && !err)
		kc_queue_add_after(cc->q, key, requeue);
out:
	jv_doc_free(d);
	return err;
}

/* ---- lifecycle ---- */

static int cj_init(struct ctrl_ctx *c, void **state)
{
	struct cj_ctrl *cc = calloc(1, sizeof(*cc));
	struct kc_handlers ch = {.add = cj_add, .update = cj_update};
	struct kc_handlers jh = {.add = job_event, .update = job_update, .del = job_event};

	*state = cc;
	if (!cc)
		return -ENOMEM;
	cc->c = c;
	cc->q = kc_queue_new("cronjob");
	cc->cjs = ctrl_informer(c, ctrl_k_cronjob);
	cc->jobs = ctrl_informer(c, ctrl_k_job);
	if (!cc->q || !cc->cjs || !cc->jobs || ctrl_owner_index(c, ctrl_k_job))
		return -ENOMEM;
	ch.arg = jh.arg = cc;
	if (kc_informer_add_handlers(cc->cjs, &ch) || kc_informer_add_handlers(cc->jobs, &jh))
		return -ENOMEM;
	return 0;
}

static int cj_run(void *state)
{
	struct cj_ctrl *cc = state;

	cc->w = kc_workers_start(cc->q, cc->c->cfg->workers, sync_key, cc, "cronjob");
	return cc->w ? 0 : -ENOMEM;
}

/* The workers stop (no sync runs after it); handlers may still add to the shut queue. */
static void cj_quiesce(void *state)
{
	struct cj_ctrl *cc = state;

	if (!cc)
		return;
	ctrl_queue_quiesce(&cc->w, cc->q);
}

static void cj_stop(void *state)
{
	struct cj_ctrl *cc = state;

	if (!cc)
		return;
	cj_quiesce(cc);
	kc_queue_free(cc->q);
	free(cc);
}

const struct ctrl_desc ctrl_cronjob = {
    .name = "cronjob",
    .component = "cronjob-controller",
    .init = cj_init,
    .run = cj_run,
    .stop = cj_stop,
    .quiesce = cj_quiesce,
};
