/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_cronjob: the cron schedule parser (a table of valid specs with their next
 * activation, time zones, and invalid specs with robfig's messages) and the CronJob
 * controller driven through a clock the test moves by hand (ctrl_config.clock): Jobs named
 * <cronjob>-<minutes>, concurrencyPolicy Allow / Forbid / Replace, history limits, missed
 * schedules (only the latest one runs; past startingDeadlineSeconds none), suspend.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "ctrl_helpers.h"

#define NS "default"

/* ---- the parser ---- */

static int64_t at(const char *rfc3339)
{
	struct tm tm = {0};

	assert_non_null(strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm));
	return (int64_t)timegm(&tm);
}

static void next_is(const char *spec, const char *tz, const char *from, const char *want)
{
	struct cron_sched *s = NULL;
	struct cron_tz *z = NULL;
	char err[256] = "";
	int64_t got;

	if (cron_parse(spec, &s, err, sizeof(err)) != 0)
		fail_msg("%s: %s", spec, err);
	if (tz) {
		z = cron_tz_load(tz, err, sizeof(err));
		assert_non_null(z);
	}
	got = cron_next(s, z, at(from));
	if (!want) {
		assert_int_equal(got, -1);
	} else if (got != at(want)) {
		char buf[32];
		time_t t = (time_t)got;

		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		fail_msg("%s (%s) after %s: got %s, want %s", spec, tz ? tz : "UTC", from, buf,
			 want);
	}
	cron_free(s);
	cron_tz_free(z);
}

static void test_parse_valid(void **state)
{
	(void)state;
	/* 2026-01-03 is a Saturday */
	next_is("*/15 * * * *", NULL, "2026-01-03T10:07:00Z", "2026-01-03T10:15:00Z");
	next_is("*/15 * * * *", NULL, "2026-01-03T10:15:00Z", "2026-01-03T10:30:00Z");
	next_is("5 * * * *", NULL, "2026-01-03T10:07:00Z", "2026-01-03T11:05:00Z");
	next_is("0 9-17 * * MON-FRI", NULL, "2026-01-03T10:07:00Z", "2026-01-05T09:00:00Z");
	next_is("0 9-17/4 * * mon-fri", NULL, "2026-01-05T09:30:00Z", "2026-01-05T13:00:00Z");
	next_is("0 0 1 JAN,jul *", NULL, "2026-02-01T00:00:00Z", "2026-07-01T00:00:00Z");
	next_is("30 6 * * sun", NULL, "2026-01-03T10:07:00Z", "2026-01-04T06:30:00Z");
	next_is("0 0 * * 6", NULL, "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z");
	next_is("? * * * ?", NULL, "2026-01-03T10:07:00Z", "2026-01-03T10:08:00Z");
	next_is("1,3-4,10-20/5 * * * *", NULL, "2026-01-03T10:04:00Z", "2026-01-03T10:10:00Z");
	next_is("10/20 * * * *", NULL, "2026-01-03T10:31:00Z", "2026-01-03T10:50:00Z");
	/* day of month OR day of week when both are restricted: the 13th, or a Friday */
	next_is("0 0 13 * FRI", NULL, "2026-01-03T10:00:00Z", "2026-01-09T00:00:00Z");
	next_is("0 0 13 * FRI", NULL, "2026-01-10T00:00:00Z", "2026-01-13T00:00:00Z");
	/* a restricted day of month with a starred day of week: AND (the 31st only) */
	next_is("0 0 31 * *", NULL, "2026-02-01T00:00:00Z", "2026-03-31T00:00:00Z");
	next_is("0 0 29 2 *", NULL, "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z");
	next_is("0 0 30 2 *", NULL, "2026-01-01T00:00:00Z", NULL); /* never */
	next_is("@hourly", NULL, "2026-01-03T10:07:00Z", "2026-01-03T11:00:00Z");
	next_is("@daily", NULL, "2026-01-03T10:07:00Z", "2026-01-04T00:00:00Z");
	next_is("@midnight", NULL, "2026-01-03T10:07:00Z", "2026-01-04T00:00:00Z");
	next_is("@weekly", NULL, "2026-01-03T10:07:00Z", "2026-01-04T00:00:00Z");
	next_is("@monthly", NULL, "2026-01-03T10:07:00Z", "2026-02-01T00:00:00Z");
	next_is("@yearly", NULL, "2026-01-03T10:07:00Z", "2027-01-01T00:00:00Z");
	next_is("@annually", NULL, "2026-01-03T10:07:00Z", "2027-01-01T00:00:00Z");
	next_is("@every 1h30m", NULL, "2026-01-03T10:07:00Z", "2026-01-03T11:37:00Z");
	next_is("@every 90s", NULL, "2026-01-03T10:07:00Z", "2026-01-03T10:08:30Z");
	next_is("  0  12  *  *  *  ", NULL, "2026-01-03T10:07:00Z", "2026-01-03T12:00:00Z");
	/* time zones: 09:00 in Berlin is 08:00Z in winter, 07:00Z in summer */
	next_is("0 9 * * *", "Europe/Berlin", "2026-01-03T10:07:00Z", "2026-01-04T08:00:00Z");
	next_is("0 9 * * *", "Europe/Berlin", "2026-07-03T10:07:00Z", "2026-07-04T07:00:00Z");
	next_is("0 9 * * *", "America/New_York", "2026-01-03T10:07:00Z", "2026-01-03T14:00:00Z");
	/* across the spring-forward night (2026-03-08 in New York) */
	next_is("0 9 * * *", "America/New_York", "2026-03-07T15:00:00Z", "2026-03-08T13:00:00Z");
	next_is("0 0 * * *", "Asia/Kolkata", "2026-01-03T10:07:00Z", "2026-01-03T18:30:00Z");
	/* past the last transition of the file: the zone's POSIX rule */
	next_is("0 9 * * *", "Europe/Berlin", "2045-07-03T10:07:00Z", "2045-07-04T07:00:00Z");
	next_is("0 9 * * *", "UTC", "2026-01-03T10:07:00Z", "2026-01-04T09:00:00Z");
}

static void invalid_is(const char *spec, const char *want)
{
	struct cron_sched *s = NULL;
	char err[256] = "";

	if (cron_parse(spec, &s, err, sizeof(err)) == 0)
		fail_msg("\"%s\" was accepted", spec);
	assert_null(s);
	assert_string_equal(err, want);
}

static void test_parse_invalid(void **state)
{
	char err[256];

	(void)state;
	invalid_is("", "empty spec string");
	invalid_is("* * * *", "expected exactly 5 fields, found 4: [* * * *]");
	invalid_is("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]");
	invalid_is("60 * * * *", "end of range (60) above maximum (59): 60");
	invalid_is("* 24 * * *", "end of range (24) above maximum (23): 24");
	invalid_is("* * 0 * *", "beginning of range (0) below minimum (1): 0");
	invalid_is("* * * 13 *", "end of range (13) above maximum (12): 13");
	invalid_is("* * * * 7", "end of range (7) above maximum (6): 7");
	invalid_is("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1");
	invalid_is("*/0 * * * *", "step of range should be a positive number: */0");
	invalid_is("1-2-3 * * * *", "too many hyphens: 1-2-3");
	invalid_is("*/2/3 * * * *", "too many slashes: */2/3");
	invalid_is("x * * * *",
		   "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
	invalid_is("-5 * * * *",
		   "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax");
	invalid_is("*/-1 * * * *", "negative number (-1) not allowed: -1");
	invalid_is("* * * FOO *",
		   "failed to parse int from FOO: strconv.Atoi: parsing \"FOO\": invalid syntax");
	invalid_is("@often", "unrecognized descriptor: @often");
	invalid_is("@every soon",
		   "failed to parse duration @every soon: time: invalid duration \"soon\"");
	/* time zones */
	assert_null(cron_tz_load("Mars/Olympus_Mons", err, sizeof(err)));
	assert_string_equal(err, "unknown time zone Mars/Olympus_Mons");
	assert_null(cron_tz_load("../etc/passwd", err, sizeof(err)));
	assert_null(cron_tz_load("Local", err, sizeof(err)));
}

/* ---- the controller, on a hand-moved clock ---- */

static _Atomic int64_t fake_now;

static int64_t fake_clock(void *arg)
{
	(void)arg;
	return atomic_load(&fake_now);
}

static const struct k8s_kind *kcj(void)
{
	return k8s_kind_find("batch/v1", "CronJob");
}

static const struct k8s_kind *kjob(void)
{
	return k8s_kind_find("batch/v1", "Job");
}

static void start(struct cenv *e)
{
	struct ctrl_config cfg = {.clock = fake_clock, .cronjob_poll_ms = 20};

	atomic_store(&fake_now, (int64_t)time(NULL));
	cenv_start(e, "cronjob", NULL, &cfg);
}

/* Create it and set the clock to its creationTimestamp; returns the first schedule time
 * after that (the next minute). */
static int64_t make_cj(struct cenv *e, const char *name, const char *extra)
{
	char json[2048];
	struct jv_doc *d = jv_doc_new();
	struct tm tm = {0};
	int64_t c;

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{%s\"schedule\":\"* * * * *\",\"jobTemplate\":{\"metadata\":{\"labels\":"
		 "{\"cj\":\"%s\"}},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}}}",
		 name, extra, name);
	cenv_create(e, kcj(), NS, json);
	assert_non_null(
	    strptime(jv_path_str(cenv_get(e, d, kcj(), NS, name), "metadata.creationTimestamp"),
		     "%Y-%m-%dT%H:%M:%SZ", &tm));
	c = (int64_t)timegm(&tm);
	jv_doc_free(d);
	atomic_store(&fake_now, c);
	return (c / 60 + 1) * 60;
}

static void set_clock(int64_t t)
{
	atomic_store(&fake_now, t);
}

static char lbuf[64];
static const char *of(const char *cj)
{
	snprintf(lbuf, sizeof(lbuf), "cj=%s", cj);
	return lbuf;
}

static size_t njobs(struct cenv *e, const char *cj)
{
	return cenv_count(e, kjob(), NS, of(cj));
}

static bool job_named(struct cenv *e, const char *cj, int64_t when)
{
	struct jv_doc *d = jv_doc_new();
	char name[128];
	struct jv *j;
	bool r;

	snprintf(name, sizeof(name), "%s-%lld", cj, (long long)(when / 60));
	j = cenv_get(e, d, kjob(), NS, name);
	r = j && jv_is_str(jv_path(j, "metadata.ownerReferences[0].kind"), "CronJob");
	jv_doc_free(d);
	return r;
}

static size_t nactive(struct cenv *e, const char *cj)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, kcj(), NS, cj);
	size_t n = jv_count(jv_path(o, "status.active"));

	jv_doc_free(d);
	return n;
}

/* The controller's own cache of cj lists n active Jobs: what it decides on once the clock
 * moves (the API may show a status its informer has not delivered yet). */
static bool cached_active(struct cenv *e, const char *cj, size_t n)
{
	struct kc_obj *o = kc_informer_get(ctrl_manager_informer(e->m, kcj()), NS, cj);
	struct jv_doc *d = jv_doc_new();
	bool r = o && jv_count(jv_path(kc_obj_parse(o, d), "status.active")) == n;

	jv_doc_free(d);
	kc_obj_put(o);
	return r;
}

/* The Job controller's part: a Job finished with that condition. */
static void finish_job(struct cenv *e, const char *name, const char *cond)
{
	char patch[512], now[32];
	struct kc_status st;
	time_t t = time(NULL);

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"startTime\":\"%s\",%s%s%s\"conditions\":[{\"type\":\"%s\","
		 "\"status\":\"True\"}]}}",
		 now, strcmp(cond, "Complete") ? "" : "\"completionTime\":\"",
		 strcmp(cond, "Complete") ? "" : now, strcmp(cond, "Complete") ? "" : "\",", cond);
	if (kc_patch(e->k.c, kjob(), NS, name, "status", KC_PATCH_MERGE, patch, strlen(patch), NULL,
		     NULL, &st) != 0)
		fail_msg("finish %s: %s", name, st.message);
}

static bool has_event(struct cenv *e, const char *cj, const char *reason, const char *prefix)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **evs = cenv_list(e, d, k8s_kind_find("v1", "Event"), NS, NULL, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++) {
		const char *m = jv_path_str(evs[i], "message");

		found = jv_is_str(jv_path(evs[i], "involvedObject.name"), cj) &&
			jv_is_str(jv_get(evs[i], "reason"), reason) && m &&
			!strncmp(m, prefix, strlen(prefix));
	}
	jv_doc_free(d);
	return found;
}

/* The clock stays: nothing more is made for a while (a bounded look, not a wait). */
static void stays(struct cenv *e, const char *cj, size_t n)
{
	uint64_t t0 = mono_ms();

	while (mono_ms() - t0 < 300) {
		assert_int_equal(njobs(e, cj), n);
		usleep(20000);
	}
}

static void test_allow(void **state)
{
	struct cenv e;
	int64_t t;

	(void)state;
	start(&e);
	t = make_cj(&e, "allow", "");
	stays(&e, "allow", 0); /* the first minute has not come */
	set_clock(t + 1);
	assert_true(WAIT_UNTIL(job_named(&e, "allow", t), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(nactive(&e, "allow") == 1, KC_WAIT_MS));
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *o = cenv_get(&e, d, kcj(), NS, "allow");
		char ts[32];
		time_t tt = (time_t)t;

		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
		assert_string_equal(jv_path_str(o, "status.lastScheduleTime"), ts);
		o = cenv_get(&e, d, kjob(), NS, jv_path_str(o, "status.active[0].name"));
		assert_non_null(o);
		assert_non_null(jv_path_str(
		    o, "metadata.annotations[batch.kubernetes.io/cronjob-scheduled-timestamp]"));
		jv_doc_free(d);
	}
	stays(&e, "allow", 1);
	set_clock(t + 61);
	assert_true(WAIT_UNTIL(job_named(&e, "allow", t + 60), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(nactive(&e, "allow") == 2, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event(&e, "allow", "SuccessfulCreate", "Created job allow-"),
			       KC_WAIT_MS));
	/* a finished Job leaves the active list */
	{
		char name[64];

		snprintf(name, sizeof(name), "allow-%lld", (long long)(t / 60));
		finish_job(&e, name, "Complete");
		assert_true(WAIT_UNTIL(nactive(&e, "allow") == 1, KC_WAIT_MS));
		snprintf(name, sizeof(name), "Saw completed job: allow-%lld, status: Complete",
			 (long long)(t / 60));
		assert_true(
		    WAIT_UNTIL(has_event(&e, "allow", "SawCompletedJob", name), KC_WAIT_MS));
	}
	{
		struct jv_doc *d = jv_doc_new();

		assert_true(WAIT_UNTIL(jv_path_str(cenv_get(&e, d, kcj(), NS, "allow"),
						   "status.lastSuccessfulTime") != NULL,
				       KC_WAIT_MS));
		jv_doc_free(d);
	}
	cenv_stop(&e);
}

static void test_forbid(void **state)
{
	struct cenv e;
	int64_t t;
	char name[64];

	(void)state;
	start(&e);
	t = make_cj(&e, "forbid", "\"concurrencyPolicy\":\"Forbid\",");
	set_clock(t + 1);
	assert_true(WAIT_UNTIL(job_named(&e, "forbid", t), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(cached_active(&e, "forbid", 1), KC_WAIT_MS));
	set_clock(t + 61);
	assert_true(WAIT_UNTIL(has_event(&e, "forbid", "JobAlreadyActive",
					 "Not starting job because prior execution is running"),
			       KC_WAIT_MS));
	stays(&e, "forbid", 1);
	snprintf(name, sizeof(name), "forbid-%lld", (long long)(t / 60));
	finish_job(&e, name, "Complete");
	/* the missed minute runs late, once the first is done */
	assert_true(WAIT_UNTIL(job_named(&e, "forbid", t + 60), KC_WAIT_MS));
	assert_int_equal(njobs(&e, "forbid"), 2);
	cenv_stop(&e);
}

static void test_replace(void **state)
{
	struct cenv e;
	int64_t t;

	(void)state;
	start(&e);
	t = make_cj(&e, "repl", "\"concurrencyPolicy\":\"Replace\",");
	set_clock(t + 1);
	assert_true(WAIT_UNTIL(job_named(&e, "repl", t), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(nactive(&e, "repl") == 1, KC_WAIT_MS));
	set_clock(t + 61);
	assert_true(WAIT_UNTIL(job_named(&e, "repl", t + 60), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(!job_named(&e, "repl", t), KC_WAIT_MS));
	assert_true(
	    WAIT_UNTIL(has_event(&e, "repl", "SuccessfulDelete", "Deleted job repl-"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(nactive(&e, "repl") == 1, KC_WAIT_MS));
	cenv_stop(&e);
}

static void test_history_limits(void **state)
{
	struct cenv e;
	int64_t t0;

	(void)state;
	start(&e);
	t0 = make_cj(&e, "hist", "\"successfulJobsHistoryLimit\":2,\"failedJobsHistoryLimit\":1,");
	for (int i = 0; i < 5; i++) {
		char name[64];

		set_clock(t0 + 60 * i + 1);
		assert_true(WAIT_UNTIL(job_named(&e, "hist", t0 + 60 * i), KC_WAIT_MS));
		snprintf(name, sizeof(name), "hist-%lld", (long long)((t0 + 60 * i) / 60));
		/* three succeed, two fail */
		finish_job(&e, name, i < 3 ? "Complete" : "Failed");
		assert_true(WAIT_UNTIL(nactive(&e, "hist") == 0, KC_WAIT_MS));
	}
	/* kept: the 2 newest successful, the newest failed */
	assert_true(WAIT_UNTIL(njobs(&e, "hist") == 3, KC_WAIT_MS));
	assert_false(job_named(&e, "hist", t0));
	assert_true(job_named(&e, "hist", t0 + 60));
	assert_true(job_named(&e, "hist", t0 + 120));
	assert_false(job_named(&e, "hist", t0 + 180));
	assert_true(job_named(&e, "hist", t0 + 240));
	cenv_stop(&e);
}

static void test_missed(void **state)
{
	struct cenv e;
	int64_t t;

	(void)state;
	start(&e);
	/* five minutes pass at once: only the latest missed time runs */
	t = make_cj(&e, "late", "");
	set_clock(t + 301);
	assert_true(WAIT_UNTIL(job_named(&e, "late", t + 300), KC_WAIT_MS));
	stays(&e, "late", 1);
	cenv_stop(&e);

	/* startingDeadlineSeconds 20: a time missed by more than that never runs */
	start(&e);
	t = make_cj(&e, "strict", "\"startingDeadlineSeconds\":20,");
	set_clock(t + 30);
	stays(&e, "strict", 0);
	set_clock(t + 65); /* 5 s past the next one: within the deadline */
	assert_true(WAIT_UNTIL(job_named(&e, "strict", t + 60), KC_WAIT_MS));
	stays(&e, "strict", 1);
	cenv_stop(&e);
}

static void test_suspend(void **state)
{
	struct cenv e;
	struct kc_status st;
	const char *p = "{\"spec\":{\"suspend\":false}}";
	int64_t t;

	(void)state;
	start(&e);
	t = make_cj(&e, "sus", "\"suspend\":true,\"startingDeadlineSeconds\":30,");
	set_clock(t + 1);
	stays(&e, "sus", 0);
	assert_int_equal(
	    kc_patch(e.k.c, kcj(), NS, "sus", NULL, KC_PATCH_MERGE, p, strlen(p), NULL, NULL, &st),
	    0);
	assert_true(WAIT_UNTIL(job_named(&e, "sus", t), KC_WAIT_MS));
	cenv_stop(&e);
}

/* A Job the API refuses (a ResourceQuota with no room for Jobs) is a FailedCreate Event with
 * the server's message, as kube's CronJob controller records it. */
static void test_create_refused(void **state)
{
	struct cenv e;
	struct kc_status st;
	const struct k8s_kind *rq = k8s_kind_find("v1", "ResourceQuota");
	const char *status = "{\"status\":{\"hard\":{\"count/jobs.batch\":\"0\"},\"used\":{"
			     "\"count/jobs.batch\":\"0\"}}}";
	char want[256];
	int64_t t;

	(void)state;
	start(&e);
	cenv_create(&e, rq, NS,
		    "{\"metadata\":{\"name\":\"nojobs\"},\"spec\":{\"hard\":{"
		    "\"count/jobs.batch\":\"0\"}}}");
	/* the usage the resourcequota controller would write */
	assert_int_equal(kc_patch(e.k.c, rq, NS, "nojobs", "status", KC_PATCH_MERGE, status,
				  strlen(status), NULL, NULL, &st),
			 0);
	t = make_cj(&e, "refused", "");
	set_clock(t + 1);
	snprintf(want, sizeof(want),
		 "Error creating job: jobs.batch \"refused-%lld\" is forbidden: exceeded quota: "
		 "nojobs",
		 (long long)(t / 60));
	assert_true(WAIT_UNTIL(has_event(&e, "refused", "FailedCreate", want), KC_WAIT_MS));
	assert_int_equal(njobs(&e, "refused"), 0);
	cenv_stop(&e);
}

/* The API server refuses what the controller could not schedule. */
static void rejected(struct cenv *e, const char *spec_extra, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st = {0};
	struct jv *o = Jf(d,
			  "{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{"
			  "\"name\":\"bad\"},\"spec\":{%s,\"jobTemplate\":{\"spec\":{\"template\":{"
			  "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
			  "\"image\":\"busybox\"}]}}}}}}",
			  spec_extra);

	assert_int_equal(kc_create(e->k.c, kcj(), NS, o, NULL, NULL, &st), -KC_EINVALID);
	if (!strstr(st.message, want))
		fail_msg("%s: got \"%s\"", want, st.message);
	jv_doc_free(d);
}

static void test_api_validation(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "cronjob", NULL, NULL);
	rejected(&e, "\"schedule\":\"61 * * * *\"",
		 "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum "
		 "(59): 61");
	rejected(&e, "\"schedule\":\"CRON_TZ=UTC 0 * * * *\"",
		 "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
	rejected(&e, "\"schedule\":\"0 * * * *\",\"timeZone\":\"Mars/Base\"",
		 "spec.timeZone: Invalid value: \"Mars/Base\": unknown time zone Mars/Base");
	rejected(&e, "\"schedule\":\"0 * * * *\",\"timeZone\":\"Local\"",
		 "timeZone must be an explicit time zone");
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),	   cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_allow),	   cmocka_unit_test(test_forbid),
	    cmocka_unit_test(test_replace),	   cmocka_unit_test(test_history_limits),
	    cmocka_unit_test(test_missed),	   cmocka_unit_test(test_suspend),
	    cmocka_unit_test(test_api_validation), cmocka_unit_test(test_create_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
