/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_job: the Job controller (and the TTL-after-finished controller) driven through
 * the API with the test as kubelet: completions with parallelism (never more active than
 * parallelism), failures counted and retried after a back-off until backoffLimit,
 * activeDeadlineSeconds, Indexed completion, the job-tracking finalizer, suspend and resume,
 * ttlSecondsAfterFinished deleting a finished Job, and orphans adopted and pods released as
 * the selector says (never adopted by a Job being deleted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"

#define NS "default"

static const struct k8s_kind *kjob(void)
{
	return k8s_kind_find("batch/v1", "Job");
}

static const struct k8s_kind *kev(void)
{
	return k8s_kind_find("v1", "Event");
}

static void make_job(struct cenv *e, const char *name, const char *spec_extra)
{
	char json[2048];

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{%s%s\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}",
		 name, spec_extra, spec_extra[0] ? "," : "");
	cenv_create(e, kjob(), NS, json);
}

static char sel_buf[256];
static const char *sel(const char *job)
{
	snprintf(sel_buf, sizeof(sel_buf), "batch.kubernetes.io/job-name=%s", job);
	return sel_buf;
}

/* Pods of the job not finished and not being deleted. */
static size_t active_pods(struct cenv *e, const char *job)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, a = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, sel(job), &n);

	for (size_t i = 0; i < n; i++) {
		const char *ph = jv_path_str(pods[i], "status.phase");

		if (!jv_path(pods[i], "metadata.deletionTimestamp") &&
		    !(ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))))
			a++;
	}
	jv_doc_free(d);
	return a;
}

/* The kubelet: run the first active pod not yet running and finish it with phase. Returns
 * whether there was one. */
static bool finish_one(struct cenv *e, const char *job, const char *phase)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, sel(job), &n);
	bool done = false;

	for (size_t i = 0; i < n && !done; i++) {
		const char *ph = jv_path_str(pods[i], "status.phase");
		const char *name = jv_path_str(pods[i], "metadata.name");

		if (jv_path(pods[i], "metadata.deletionTimestamp") ||
		    (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))))
			continue;
		cenv_pod_run(e, NS, name, "node-1", true);
		cenv_pod_finish(e, NS, name, phase);
		done = true;
	}
	jv_doc_free(d);
	return done;
}

/* The kubelet finishing graceful deletions: pods marked deleted go now. */
static void reap(struct cenv *e, const char *job)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, sel(job), &n);

	for (size_t i = 0; i < n; i++)
		if (jv_path(pods[i], "metadata.deletionTimestamp")) {
			struct kc_delete_opts o = {.grace_seconds = 0};
			struct kc_status st;

			kc_delete(e->k.c, kind_pod(), NS, jv_path_str(pods[i], "metadata.name"), &o,
				  NULL, &st);
		}
	jv_doc_free(d);
}

static bool cond_is(struct cenv *e, const char *job, const char *type, const char *status)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *j = cenv_get(e, d, kjob(), NS, job);
	bool r = false;

	for (const struct jv *c = jv_first(jv_path(j, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type) && jv_is_str(jv_get(c, "status"), status))
			r = true;
	jv_doc_free(d);
	return r;
}

static const char *cond_field(struct jv_doc *d, struct cenv *e, const char *job, const char *type,
			      const char *field)
{
	struct jv *j = cenv_get(e, d, kjob(), NS, job);

	for (const struct jv *c = jv_first(jv_path(j, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			return jv_path_str(c, field);
	return NULL;
}

static int64_t status_int(struct cenv *e, const char *job, const char *field)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *j = cenv_get(e, d, kjob(), NS, job);
	int64_t v = -1;
	char path[128];

	snprintf(path, sizeof(path), "status.%s", field);
	if (j && jv_path_int(j, path, &v) != 0)
		v = 0;
	jv_doc_free(d);
	return v;
}

/* An Event about job with this reason (and message, if not NULL). */
static bool has_event(struct cenv *e, const char *job, const char *reason, const char *msg)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **evs = cenv_list(e, d, kev(), NS, NULL, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++)
		found = jv_is_str(jv_path(evs[i], "involvedObject.name"), job) &&
			jv_is_str(jv_path(evs[i], "involvedObject.kind"), "Job") &&
			jv_is_str(jv_get(evs[i], "reason"), reason) &&
			(!msg || jv_is_str(jv_get(evs[i], "message"), msg));
	jv_doc_free(d);
	return found;
}

/* An Event about job with this reason whose message starts with prefix and contains part. */
static bool event_with(struct cenv *e, const char *job, const char *reason, const char *prefix,
		       const char *part)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **evs = cenv_list(e, d, kev(), NS, NULL, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++) {
		const char *m = jv_path_str(evs[i], "message");

		found = jv_is_str(jv_path(evs[i], "involvedObject.name"), job) &&
			jv_is_str(jv_get(evs[i], "reason"), reason) && m &&
			strncmp(m, prefix, strlen(prefix)) == 0 && strstr(m, part);
	}
	jv_doc_free(d);
	return found;
}

static size_t pods_with_finalizer(struct cenv *e, const char *job)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, f = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, sel(job), &n);

	for (size_t i = 0; i < n; i++)
		for (const struct jv *x = jv_first(jv_path(pods[i], "metadata.finalizers")); x;
		     x = x->next)
			if (jv_is_str(x, "batch.kubernetes.io/job-tracking"))
				f++;
	jv_doc_free(d);
	return f;
}

static void test_completions_parallelism(void **state)
{
	struct cenv e;
	int finished = 0;

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	make_job(&e, "pi", "\"completions\":5,\"parallelism\":2");
	assert_true(WAIT_UNTIL(active_pods(&e, "pi") == 2, KC_WAIT_MS));
	/* each pod runs with the tracking finalizer */
	assert_int_equal(pods_with_finalizer(&e, "pi"), 2);
	while (finished < 5) {
		assert_true(WAIT_UNTIL(active_pods(&e, "pi") > 0, KC_WAIT_MS));
		assert_true(active_pods(&e, "pi") <= 2);
		assert_true(finish_one(&e, "pi", "Succeeded"));
		finished++;
		assert_true(WAIT_UNTIL(status_int(&e, "pi", "succeeded") == finished, KC_WAIT_MS));
		assert_true(active_pods(&e, "pi") <= 2);
	}
	assert_true(WAIT_UNTIL(cond_is(&e, "pi", "Complete", "True"), KC_WAIT_MS));
	assert_true(cond_is(&e, "pi", "SuccessCriteriaMet", "True"));
	assert_int_equal(status_int(&e, "pi", "succeeded"), 5);
	assert_int_equal(status_int(&e, "pi", "active"), 0);
	assert_int_equal(cenv_count(&e, kind_pod(), NS, sel("pi")), 5); /* no extra pod */
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *j = cenv_get(&e, d, kjob(), NS, "pi");

		assert_non_null(jv_path_str(j, "status.completionTime"));
		assert_non_null(jv_path_str(j, "status.startTime"));
		assert_string_equal(cond_field(d, &e, "pi", "Complete", "reason"),
				    "CompletionsReached");
		jv_doc_free(d);
	}
	/* counted: every finalizer is gone */
	assert_true(WAIT_UNTIL(pods_with_finalizer(&e, "pi") == 0, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event(&e, "pi", "Completed", "Job completed"), KC_WAIT_MS));
	assert_true(has_event(&e, "pi", "SuccessfulCreate", NULL));
	cenv_stop(&e);
}

static void test_backoff_limit(void **state)
{
	struct cenv e;
	struct ctrl_config cfg = {.job_backoff_ms = 200};

	(void)state;
	cenv_start(&e, "job", NULL, &cfg);
	make_job(&e, "flaky", "\"backoffLimit\":2");
	/* three failures: the first two are retried, the third is past the limit */
	for (int i = 1; i <= 3; i++) {
		assert_true(WAIT_UNTIL(active_pods(&e, "flaky") == 1, KC_WAIT_MS));
		assert_true(finish_one(&e, "flaky", "Failed"));
		assert_true(WAIT_UNTIL(status_int(&e, "flaky", "failed") == i, KC_WAIT_MS));
		if (i < 3)
			assert_false(cond_is(&e, "flaky", "Failed", "True"));
	}
	assert_true(WAIT_UNTIL(cond_is(&e, "flaky", "Failed", "True"), KC_WAIT_MS));
	assert_true(cond_is(&e, "flaky", "FailureTarget", "True"));
	{
		struct jv_doc *d = jv_doc_new();

		assert_string_equal(cond_field(d, &e, "flaky", "Failed", "reason"),
				    "BackoffLimitExceeded");
		assert_string_equal(cond_field(d, &e, "flaky", "Failed", "message"),
				    "Job has reached the specified backoff limit");
		jv_doc_free(d);
	}
	assert_int_equal(cenv_count(&e, kind_pod(), NS, sel("flaky")), 3);
	assert_true(WAIT_UNTIL(has_event(&e, "flaky", "BackoffLimitExceeded",
					 "Job has reached the specified backoff limit"),
			       KC_WAIT_MS));
	cenv_stop(&e);
}

/* With the default 10 s back-off, a failed pod is not replaced at once. */
static void test_backoff_delays(void **state)
{
	struct cenv e;
	uint64_t t0;

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	make_job(&e, "slow", "\"backoffLimit\":3");
	assert_true(WAIT_UNTIL(active_pods(&e, "slow") == 1, KC_WAIT_MS));
	assert_true(finish_one(&e, "slow", "Failed"));
	assert_true(WAIT_UNTIL(status_int(&e, "slow", "failed") == 1, KC_WAIT_MS));
	/* counted, and still no replacement (a condition that must hold, checked for a while:
	 * the back-off is 10 s, far beyond this window) */
	t0 = mono_ms();
	while (mono_ms() - t0 < 1500) {
		assert_int_equal(active_pods(&e, "slow"), 0);
		usleep(50000);
	}
	assert_true(WAIT_UNTIL(active_pods(&e, "slow") == 1, KC_WAIT_MS));
	cenv_stop(&e);
}

static void test_active_deadline(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	/* a long deadline until the pod runs on a node, then 1 s (a pod deleted before it is
	 * bound would go at once, with nothing left terminating) */
	make_job(&e, "late", "\"activeDeadlineSeconds\":3600");
	assert_true(WAIT_UNTIL(active_pods(&e, "late") == 1, KC_WAIT_MS));
	{
		struct jv_doc *d = jv_doc_new();
		size_t n;
		struct jv **pods = cenv_list(&e, d, kind_pod(), NS, sel("late"), &n);

		assert_int_equal(n, 1);
		cenv_pod_run(&e, NS, jv_path_str(pods[0], "metadata.name"), "node-1", true);
		jv_doc_free(d);
	}
	{
		const char *p = "{\"spec\":{\"activeDeadlineSeconds\":1}}";
		struct kc_status st;

		assert_int_equal(kc_patch(e.k.c, kjob(), NS, "late", NULL, KC_PATCH_MERGE, p,
					  strlen(p), NULL, NULL, &st),
				 0);
	}
	/* past the deadline: FailureTarget, the pod deleted; Failed once it is gone */
	assert_true(WAIT_UNTIL(cond_is(&e, "late", "FailureTarget", "True"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(active_pods(&e, "late") == 0, KC_WAIT_MS));
	assert_false(cond_is(&e, "late", "Failed", "True"));
	reap(&e, "late");
	assert_true(WAIT_UNTIL(cond_is(&e, "late", "Failed", "True"), KC_WAIT_MS));
	{
		struct jv_doc *d = jv_doc_new();

		assert_string_equal(cond_field(d, &e, "late", "Failed", "reason"),
				    "DeadlineExceeded");
		jv_doc_free(d);
	}
	assert_true(WAIT_UNTIL(has_event(&e, "late", "DeadlineExceeded",
					 "Job was active longer than specified deadline"),
			       KC_WAIT_MS));
	cenv_stop(&e);
}

static void test_indexed(void **state)
{
	struct cenv e;
	bool seen[3] = {false, false, false};

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	make_job(&e, "idx", "\"completions\":3,\"parallelism\":3,\"completionMode\":\"Indexed\"");
	assert_true(WAIT_UNTIL(active_pods(&e, "idx") == 3, KC_WAIT_MS));
	{
		struct jv_doc *d = jv_doc_new();
		size_t n;
		struct jv **pods = cenv_list(&e, d, kind_pod(), NS, sel("idx"), &n);

		assert_int_equal(n, 3);
		for (size_t i = 0; i < n; i++) {
			const char *ix = jv_path_str(
			    pods[i],
			    "metadata.annotations[batch.kubernetes.io/job-completion-index]");
			char host[32];

			assert_non_null(ix);
			assert_true(ix[0] >= '0' && ix[0] <= '2' && !ix[1]);
			seen[ix[0] - '0'] = true;
			assert_string_equal(
			    jv_path_str(
				pods[i],
				"metadata.labels[batch.kubernetes.io/job-completion-index]"),
			    ix);
			snprintf(host, sizeof(host), "idx-%s", ix);
			assert_string_equal(jv_path_str(pods[i], "spec.hostname"), host);
			assert_string_equal(jv_path_str(pods[i], "spec.containers[0].env[0].name"),
					    "JOB_COMPLETION_INDEX");
		}
		jv_doc_free(d);
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	/* index 1 fails: it is made again with the same index */
	{
		struct jv_doc *d = jv_doc_new();
		size_t n;
		struct jv **pods = cenv_list(&e, d, kind_pod(), NS, sel("idx"), &n);

		for (size_t i = 0; i < n; i++) {
			const char *name = jv_path_str(pods[i], "metadata.name");
			const char *ix = jv_path_str(
			    pods[i],
			    "metadata.annotations[batch.kubernetes.io/job-completion-index]");

			cenv_pod_run(&e, NS, name, "node-1", true);
			cenv_pod_finish(&e, NS, name, strcmp(ix, "1") ? "Succeeded" : "Failed");
		}
		jv_doc_free(d);
	}
	assert_true(WAIT_UNTIL(active_pods(&e, "idx") == 1, KC_WAIT_MS));
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *j = cenv_get(&e, d, kjob(), NS, "idx");

		assert_true(WAIT_UNTIL(status_int(&e, "idx", "succeeded") == 2, KC_WAIT_MS));
		jv_doc_free(d);
		d = jv_doc_new();
		j = cenv_get(&e, d, kjob(), NS, "idx");
		assert_string_equal(jv_path_str(j, "status.completedIndexes"), "0,2");
		jv_doc_free(d);
	}
	assert_true(finish_one(&e, "idx", "Succeeded"));
	assert_true(WAIT_UNTIL(cond_is(&e, "idx", "Complete", "True"), KC_WAIT_MS));
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *j = cenv_get(&e, d, kjob(), NS, "idx");

		assert_string_equal(jv_path_str(j, "status.completedIndexes"), "0-2");
		jv_doc_free(d);
	}
	cenv_stop(&e);
}

static void test_suspend(void **state)
{
	struct cenv e;
	uint64_t t0;
	struct kc_status st;
	const char *p = "{\"spec\":{\"suspend\":false}}";

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	make_job(&e, "sus", "\"suspend\":true,\"parallelism\":2,\"completions\":2");
	assert_true(WAIT_UNTIL(cond_is(&e, "sus", "Suspended", "True"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event(&e, "sus", "Suspended", "Job suspended"), KC_WAIT_MS));
	t0 = mono_ms();
	while (mono_ms() - t0 < 500) {
		assert_int_equal(cenv_count(&e, kind_pod(), NS, sel("sus")), 0);
		usleep(50000);
	}
	assert_int_equal(
	    kc_patch(e.k.c, kjob(), NS, "sus", NULL, KC_PATCH_MERGE, p, strlen(p), NULL, NULL, &st),
	    0);
	assert_true(WAIT_UNTIL(active_pods(&e, "sus") == 2, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(cond_is(&e, "sus", "Suspended", "False"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_event(&e, "sus", "Resumed", "Job resumed"), KC_WAIT_MS));
	/* suspended again: the active pods are deleted */
	p = "{\"spec\":{\"suspend\":true}}";
	assert_int_equal(
	    kc_patch(e.k.c, kjob(), NS, "sus", NULL, KC_PATCH_MERGE, p, strlen(p), NULL, NULL, &st),
	    0);
	assert_true(WAIT_UNTIL(active_pods(&e, "sus") == 0, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(cond_is(&e, "sus", "Suspended", "True"), KC_WAIT_MS));
	cenv_stop(&e);
}

static void test_ttl_after_finished(void **state)
{
	struct cenv e;
	struct jv_doc *d;

	(void)state;
	cenv_start(&e, "job,ttl-after-finished", NULL, NULL);
	make_job(&e, "brief", "\"ttlSecondsAfterFinished\":1");
	make_job(&e, "kept", "");
	assert_true(WAIT_UNTIL(active_pods(&e, "brief") == 1, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(active_pods(&e, "kept") == 1, KC_WAIT_MS));
	assert_true(finish_one(&e, "brief", "Succeeded"));
	assert_true(finish_one(&e, "kept", "Succeeded"));
	assert_true(WAIT_UNTIL(cond_is(&e, "kept", "Complete", "True"), KC_WAIT_MS));
	d = jv_doc_new();
	assert_true(WAIT_UNTIL(cenv_get(&e, d, kjob(), NS, "brief") == NULL, KC_WAIT_MS));
	/* no TTL: stays */
	assert_non_null(cenv_get(&e, d, kjob(), NS, "kept"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* The kubelet: the job's one active pod fails with that exit code (and a pod condition). */
static void fail_with(struct cenv *e, const char *job, int code, const char *cond)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **pods = cenv_list(e, d, kind_pod(), NS, sel(job), &n);
	struct kc_status st;
	char patch[1024];

	for (size_t i = 0; i < n; i++) {
		const char *name = jv_path_str(pods[i], "metadata.name");

		if (jv_path_str(pods[i], "status.phase") &&
		    !strcmp(jv_path_str(pods[i], "status.phase"), "Failed"))
			continue;
		cenv_pod_run(e, NS, name, "node-1", true);
		snprintf(
		    patch, sizeof(patch),
		    "{\"status\":{\"phase\":\"Failed\",\"conditions\":[{\"type\":\"Ready\","
		    "\"status\":\"False\"}%s],\"containerStatuses\":[{\"name\":\"c\",\"ready\":"
		    "false,\"restartCount\":0,\"image\":\"busybox\",\"imageID\":\"\",\"state\":{"
		    "\"terminated\":{\"exitCode\":%d}}}]}}",
		    cond ? cond : "", code);
		assert_int_equal(kc_patch(e->k.c, kind_pod(), NS, name, "status", KC_PATCH_MERGE,
					  patch, strlen(patch), NULL, NULL, &st),
				 0);
	}
	jv_doc_free(d);
}

static void test_pod_failure_policy(void **state)
{
	struct cenv e;
	struct ctrl_config cfg = {.job_backoff_ms = 100};

	(void)state;
	cenv_start(&e, "job", NULL, &cfg);
	make_job(
	    &e, "pfp",
	    "\"backoffLimit\":6,\"podFailurePolicy\":{\"rules\":[{\"action\":\"Ignore\","
	    "\"onPodConditions\":[{\"type\":\"DisruptionTarget\"}]},{\"action\":\"FailJob\","
	    "\"onExitCodes\":{\"containerName\":\"c\",\"operator\":\"In\",\"values\":[42]}}]}");
	/* a disruption: ignored (not counted), the pod is replaced */
	assert_true(WAIT_UNTIL(active_pods(&e, "pfp") == 1, KC_WAIT_MS));
	fail_with(&e, "pfp", 137, ",{\"type\":\"DisruptionTarget\",\"status\":\"True\"}");
	assert_true(WAIT_UNTIL(active_pods(&e, "pfp") == 1 &&
				   cenv_count(&e, kind_pod(), NS, sel("pfp")) == 2,
			       KC_WAIT_MS));
	assert_int_equal(status_int(&e, "pfp", "failed"), 0);
	/* exit code 1: counted, replaced */
	fail_with(&e, "pfp", 1, NULL);
	assert_true(WAIT_UNTIL(status_int(&e, "pfp", "failed") == 1, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(active_pods(&e, "pfp") == 1, KC_WAIT_MS));
	/* exit code 42: the Job fails at once */
	fail_with(&e, "pfp", 42, NULL);
	assert_true(WAIT_UNTIL(cond_is(&e, "pfp", "Failed", "True"), KC_WAIT_MS));
	{
		struct jv_doc *d = jv_doc_new();
		const char *msg = cond_field(d, &e, "pfp", "Failed", "message");

		assert_string_equal(cond_field(d, &e, "pfp", "Failed", "reason"),
				    "PodFailurePolicy");
		assert_non_null(msg);
		assert_non_null(
		    strstr(msg, "failed with exit code 42 matching FailJob rule at index 1"));
		jv_doc_free(d);
	}
	assert_int_equal(status_int(&e, "pfp", "failed"), 2);
	cenv_stop(&e);
}

/* What the job-tracking finalizer relies on in the API: a pod deleted gracefully stays
 * (terminating) when its last finalizer goes or when it is deleted again, until its kubelet
 * deletes it with grace 0; a pod whose deletion is immediate goes with its last finalizer. */
static void test_finalizer_and_grace(void **state)
{
	struct cenv e;
	struct kc_status st;
	struct kc_delete_opts now = {.grace_seconds = 0};
	const char *rm = "{\"metadata\":{\"finalizers\":null}}";
	struct jv_doc *d = jv_doc_new();

	(void)state;
	cenv_start(&e, "serviceaccount", NULL, NULL);
	for (int i = 0; i < 3; i++) {
		char json[512], name[16];

		snprintf(name, sizeof(name), "p%d", i);
		snprintf(json, sizeof(json),
			 "{\"metadata\":{\"name\":\"%s\",\"finalizers\":[\"example.com/f\"]},"
			 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
			 name);
		cenv_create(&e, kind_pod(), NS, json);
		cenv_pod_run(&e, NS, name, "node-1", true);
	}
	/* p0: graceful (30 s) */
	assert_int_equal(kc_delete(e.k.c, kind_pod(), NS, "p0", NULL, NULL, &st), 0);
	assert_int_equal(kc_patch(e.k.c, kind_pod(), NS, "p0", NULL, KC_PATCH_MERGE, rm, strlen(rm),
				  NULL, NULL, &st),
			 0);
	assert_non_null(cenv_get(&e, d, kind_pod(), NS, "p0"));
	/* deleted again (a controller on a stale cache): still terminating, not gone */
	assert_int_equal(kc_delete(e.k.c, kind_pod(), NS, "p0", NULL, NULL, &st), 0);
	assert_non_null(cenv_get(&e, d, kind_pod(), NS, "p0"));
	assert_int_equal(kc_delete(e.k.c, kind_pod(), NS, "p0", &now, NULL, &st), 0);
	assert_null(cenv_get(&e, d, kind_pod(), NS, "p0"));
	/* p1: immediate, held by its finalizer only */
	assert_int_equal(kc_delete(e.k.c, kind_pod(), NS, "p1", &now, NULL, &st), 0);
	assert_non_null(cenv_get(&e, d, kind_pod(), NS, "p1"));
	assert_int_equal(kc_patch(e.k.c, kind_pod(), NS, "p1", NULL, KC_PATCH_MERGE, rm, strlen(rm),
				  NULL, NULL, &st),
			 0);
	assert_null(cenv_get(&e, d, kind_pod(), NS, "p1"));
	/* p2: graceful, then the kubelet's grace 0 while a finalizer holds it: the finalizer's
	 * removal ends it */
	assert_int_equal(kc_delete(e.k.c, kind_pod(), NS, "p2", NULL, NULL, &st), 0);
	assert_int_equal(kc_delete(e.k.c, kind_pod(), NS, "p2", &now, NULL, &st), 0);
	assert_non_null(cenv_get(&e, d, kind_pod(), NS, "p2"));
	assert_int_equal(kc_patch(e.k.c, kind_pod(), NS, "p2", NULL, KC_PATCH_MERGE, rm, strlen(rm),
				  NULL, NULL, &st),
			 0);
	assert_null(cenv_get(&e, d, kind_pod(), NS, "p2"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* A Job deleted while its pods run: they are orphans, and lose the tracking finalizer (else
 * the garbage collector's delete would leave them terminating forever). */
static void test_orphans_released(void **state)
{
	struct cenv e;
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	make_job(&e, "gone", "\"parallelism\":2,\"completions\":4");
	assert_true(WAIT_UNTIL(active_pods(&e, "gone") == 2, KC_WAIT_MS));
	assert_int_equal(pods_with_finalizer(&e, "gone"), 2);
	o.propagation = "Orphan";
	assert_int_equal(kc_delete(e.k.c, kjob(), NS, "gone", &o, NULL, &st), 0);
	assert_true(WAIT_UNTIL(pods_with_finalizer(&e, "gone") == 0, KC_WAIT_MS));
	cenv_stop(&e);
}

/* A pod the API refuses (a ResourceQuota with no room for pods) is a FailedCreate Event
 * with the server's message, as kube's PodControl records it (only a namespace being
 * terminated goes without one). */
static void test_create_refused(void **state)
{
	struct cenv e;
	struct kc_status st;
	const char *status = "{\"status\":{\"hard\":{\"pods\":\"0\"},\"used\":{\"pods\":\"0\"}}}";

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	cenv_create(&e, k8s_kind_find("v1", "ResourceQuota"), NS,
		    "{\"metadata\":{\"name\":\"nopods\"},\"spec\":{\"hard\":{\"pods\":\"0\"}}}");
	/* the usage the resourcequota controller would write */
	assert_int_equal(kc_patch(e.k.c, k8s_kind_find("v1", "ResourceQuota"), NS, "nopods",
				  "status", KC_PATCH_MERGE, status, strlen(status), NULL, NULL,
				  &st),
			 0);
	make_job(&e, "refused", "");
	assert_true(WAIT_UNTIL(event_with(&e, "refused", "FailedCreate", "Error creating: pods ",
					  "is forbidden: exceeded quota: nopods"),
			       KC_WAIT_MS));
	assert_int_equal(cenv_count(&e, kind_pod(), NS, sel("refused")), 0);
	cenv_stop(&e);
}

/* ---- adoption (getPodsForJob's ClaimPods) ---- */

/* A Job with manualSelector app=<app> (metadata_extra: more metadata members, or ""). */
static void make_job_app(struct cenv *e, const char *name, const char *app, const char *spec_extra,
			 const char *metadata_extra)
{
	char json[2048];

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"%s\"%s},"
		 "\"spec\":{%s\"manualSelector\":true,\"selector\":{\"matchLabels\":{\"app\":"
		 "\"%s\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{"
		 "\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\""
		 "}]}}}}",
		 name, metadata_extra, spec_extra, app, app);
	cenv_create(e, kjob(), NS, json);
}

/* A pod labelled app=<app>, with these ownerReferences (JSON array) unless NULL. */
static void make_pod_app(struct cenv *e, const char *name, const char *app, const char *refs)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}%s%s},\"spec\":{"
		 "\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\""
		 "}]}}",
		 name, app, refs ? ",\"ownerReferences\":" : "", refs ? refs : "");
	cenv_create(e, kind_pod(), NS, json);
}

static void relabel(struct cenv *e, const char *pod, const char *app)
{
	char patch[128];
	struct kc_status st;

	snprintf(patch, sizeof(patch), "{\"metadata\":{\"labels\":{\"app\":\"%s\"}}}", app);
	assert_int_equal(kc_patch(e->k.c, kind_pod(), NS, pod, NULL, KC_PATCH_MERGE, patch,
				  strlen(patch), NULL, NULL, &st),
			 0);
}

static bool pod_has_tracking(struct cenv *e, const char *pod)
{
	struct jv_doc *d = jv_doc_new();
	bool r = false;

	for (const struct jv *x =
		 jv_first(jv_path(cenv_get(e, d, kind_pod(), NS, pod), "metadata.finalizers"));
	     x; x = x->next)
		r = r || jv_is_str(x, "batch.kubernetes.io/job-tracking");
	jv_doc_free(d);
	return r;
}

/* What the controller reference to job must read ("Job/<name>/<uid> block"). */
static const char *job_ref(struct cenv *e, const char *job, char *buf, size_t len)
{
	struct jv_doc *d = jv_doc_new();

	snprintf(buf, len, "Job/%s/%s block", job,
		 jv_path_str(cenv_get(e, d, kjob(), NS, job), "metadata.uid") ?: "?");
	jv_doc_free(d);
	return buf;
}

/* kube's getPodsForJob claims pods: an orphan the selector matches is adopted with the
 * tracking finalizer (and counts: no pod is made for it; a finished one is counted), a pod
 * another controller owns is left alone, and one whose labels stop matching is released
 * (it loses the finalizer as an orphan) and replaced. */
static void test_adopt_release(void **state)
{
	struct cenv e;
	char want[256];

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	make_pod_app(&e, "o1", "adopt", NULL);
	make_pod_app(&e, "f1", "adopt",
		     "[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":"
		     "\"00000000-0000-0000-0000-00000000beef\",\"controller\":true}]");
	make_job_app(&e, "adopter", "adopt", "\"parallelism\":1,\"completions\":2,", "");
	job_ref(&e, "adopter", want, sizeof(want));
	assert_true(WAIT_UNTIL(cenv_controlled_by(&e, kind_pod(), NS, "o1", want), KC_WAIT_MS));
	assert_true(pod_has_tracking(&e, "o1"));
	assert_true(WAIT_UNTIL(status_int(&e, "adopter", "active") == 1, KC_WAIT_MS));
	/* the orphan is the one active pod: none was made; the other controller's pod is its */
	assert_int_equal(cenv_count(&e, kind_pod(), NS, "app=adopt"), 2);
	assert_true(cenv_controlled_by(&e, kind_pod(), NS, "f1",
				       "ReplicaSet/rs/00000000-0000-0000-0000-00000000beef"));
	assert_false(pod_has_tracking(&e, "f1"));
	/* an orphan that finished elsewhere, relabelled to match (only its own event wakes the
	 * Job): adopted and counted as a success */
	make_pod_app(&e, "o2", "wait", NULL);
	cenv_pod_run(&e, NS, "o2", "node-1", false);
	cenv_pod_finish(&e, NS, "o2", "Succeeded");
	relabel(&e, "o2", "adopt");
	assert_true(WAIT_UNTIL(cenv_controlled_by(&e, kind_pod(), NS, "o2", want), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(status_int(&e, "adopter", "succeeded") == 1, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(!pod_has_tracking(&e, "o2"), KC_WAIT_MS)); /* counted */
	/* o1 no longer matches: released, its finalizer dropped, and replaced */
	relabel(&e, "o1", "other");
	assert_true(WAIT_UNTIL(cenv_controlled_by(&e, kind_pod(), NS, "o1", ""), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(!pod_has_tracking(&e, "o1"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(cenv_count(&e, kind_pod(), NS, "app=adopt") == 3, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(status_int(&e, "adopter", "active") == 1, KC_WAIT_MS));
	assert_true(cenv_controlled_by(&e, kind_pod(), NS, "f1",
				       "ReplicaSet/rs/00000000-0000-0000-0000-00000000beef"));
	cenv_stop(&e);
}

/* A Job being deleted adopts nothing (ClaimPods with RecheckDeletionTimestamp): the orphan
 * made after the deletion stays an orphan through a sync that counts the pod it has. */
static void test_adopt_not_while_deleting(void **state)
{
	struct cenv e;
	char want[256];
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	const char *unhold = "{\"metadata\":{\"finalizers\":null}}";

	(void)state;
	cenv_start(&e, "job", NULL, NULL);
	make_pod_app(&e, "d0", "dying", NULL);
	make_job_app(&e, "dying", "dying", "\"parallelism\":1,",
		     ",\"finalizers\":[\"example.com/hold\"]");
	job_ref(&e, "dying", want, sizeof(want));
	/* before the deletion it adopts */
	assert_true(WAIT_UNTIL(cenv_controlled_by(&e, kind_pod(), NS, "d0", want), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(status_int(&e, "dying", "active") == 1, KC_WAIT_MS));
	assert_int_equal(status_int(&e, "dying", "ready"), 0);
	o.propagation = "Background";
	assert_int_equal(kc_delete(e.k.c, kjob(), NS, "dying", &o, NULL, &st), 0);
	{
		struct jv_doc *d = jv_doc_new();

		assert_non_null(
		    jv_path(cenv_get(&e, d, kjob(), NS, "dying"), "metadata.deletionTimestamp"));
		jv_doc_free(d);
	}
	make_pod_app(&e, "d1", "dying", NULL);
	/* d0 Ready after d1 exists: the sync that writes ready=1 had d1 in its cache */
	cenv_pod_run(&e, NS, "d0", "node-1", true);
	assert_true(WAIT_UNTIL(status_int(&e, "dying", "ready") == 1, KC_WAIT_MS));
	assert_true(cenv_controlled_by(&e, kind_pod(), NS, "d1", ""));
	assert_false(pod_has_tracking(&e, "d1"));
	assert_int_equal(status_int(&e, "dying", "active"), 1);
	assert_int_equal(kc_patch(e.k.c, kjob(), NS, "dying", NULL, KC_PATCH_MERGE, unhold,
				  strlen(unhold), NULL, NULL, &st),
			 0);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_completions_parallelism),
	    cmocka_unit_test(test_backoff_limit),
	    cmocka_unit_test(test_backoff_delays),
	    cmocka_unit_test(test_active_deadline),
	    cmocka_unit_test(test_indexed),
	    cmocka_unit_test(test_suspend),
	    cmocka_unit_test(test_ttl_after_finished),
	    cmocka_unit_test(test_pod_failure_policy),
	    cmocka_unit_test(test_finalizer_and_grace),
	    cmocka_unit_test(test_orphans_released),
	    cmocka_unit_test(test_create_refused),
	    cmocka_unit_test(test_adopt_release),
	    cmocka_unit_test(test_adopt_not_while_deleting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
