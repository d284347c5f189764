/* SPDX-License-Identifier: Apache-2.0 */
/*
 * job_manage: the pods a Job's sync creates and deletes (manageJob of pkg/controller/job):
 * as many active as parallelism allows and completions still need (Indexed: the lowest
 * pending indexes, each pod with its index annotation, label, hostname and
 * JOB_COMPLETION_INDEX), the extra ones deleted first when unscheduled, not running, not
 * ready, newest; all of them while suspended; creations in slow-start batches, and not
 * before the back-off of failed pods (backoff_utils.go: 10 s doubling to 10 min since the
 * last failure, counted from the failures after the last success) has passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_int.h"
#include "log.h"
#include "podctl.h"

/* ---- back-off (backoff_utils.go) ---- */

int64_t job_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When a pod finished: the last container termination, else when it stopped being Ready. */
static int64_t finished_ms(const struct jv *pod)
{
	int64_t t = -1;

	for (const struct jv *cs = jv_first(jv_path(pod, "status.containerStatuses")); cs;
	     cs = cs->next) {
		int64_t f = ctrl_parse_time(jv_path_str(cs, "state.terminated.finishedAt"));

		if (f > t)
			t = f;
	}
	if (t < 0) {
		const struct jv *c = ctrl_condition(pod, "Ready");

		t = ctrl_parse_time(jv_path_str(c, "lastTransitionTime"));
	}
	return t < 0 ? job_now_ms() : t * 1000;
}

static int by_finish(const void *a, const void *b)
{
	int64_t x = finished_ms(*(const struct jv *const *)a);
	int64_t y = finished_ms(*(const struct jv *const *)b);

	return x < y ? -1 : x > y;
}

/* newBackoffRecord from the pods that finished since the last status write. */
void job_backoff_next(struct job_sync *s, struct jv **succ, size_t nsucc, struct jv **fail,
		      size_t nfail)
{
	struct job_ctrl *jc = s->jc;
	struct job_backoff *old;

	pthread_mutex_lock(&jc->lock);
	old = hmap_sget(jc->backoff, s->key);
	s->backoff = old ? *old : (struct job_backoff){0};
	pthread_mutex_unlock(&jc->lock);
	qsort(succ, nsucc, sizeof(*succ), by_finish);
	qsort(fail, nfail, sizeof(*fail), by_finish);
	if (!nsucc) {
		if (nfail) {
			s->backoff.failures += (int64_t)nfail;
			s->backoff.last_failure_ms = finished_ms(fail[nfail - 1]);
		}
		return;
	}
	s->backoff = (struct job_backoff){0};
	for (size_t i = nfail; i-- > 0;) {
		int64_t f = finished_ms(fail[i]);

		if (f <= finished_ms(succ[nsucc - 1]))
			break;
		if (!s->backoff.last_failure_ms)
			s->backoff.last_failure_ms = f;
		s->backoff.failures++;
	}
}

/* getRemainingTime: how long pod creation still waits (ms). */
static int64_t backoff_remaining(struct job_sync *s)
{
	int64_t d = (int64_t)s->jc->backoff_base_ms, elapsed;

	if (!s->backoff.failures)
		return 0;
	for (int64_t i = 1; i < s->backoff.failures; i++) {
		d *= 2;
		if (d >= (int64_t)s->jc->backoff_max_ms) {
			d = (int64_t)s->jc->backoff_max_ms;
			break;
		}
	}
	elapsed = job_now_ms() - s->backoff.last_failure_ms;
	return d < elapsed ? 0 : d - elapsed;
}

/* Store the record once the status that counts its pods is written. */
void job_backoff_store(struct job_ctrl *jc, const char *key, const struct job_backoff *b)
{
	struct job_backoff *r;

	pthread_mutex_lock(&jc->lock);
	r = hmap_sget(jc->backoff, key);
	if (!r && (r = calloc(1, sizeof(*r))) && hmap_sput(jc->backoff, key, r, NULL) < 0) {
		free(r);
		r = NULL;
	}
	if (r)
		*r = *b;
	pthread_mutex_unlock(&jc->lock);
}

void job_backoff_forget(struct job_ctrl *jc, const char *key)
{
	pthread_mutex_lock(&jc->lock);
	free(hmap_sdel(jc->backoff, key));
	pthread_mutex_unlock(&jc->lock);
}

/* ---- creating and deleting pods ---- */

/* JOB_COMPLETION_INDEX from the annotation, in every container and init container. */
static void add_index_env(struct jv_doc *d, struct jv *spec)
{
	static const char *lists[] = {"containers", "initContainers"};

	for (size_t l = 0; l < 2; l++)
		for (struct jv *ct = jv_first(jv_get(spec, lists[l])); ct; ct = ct->next) {
			struct jv *env = jv_get(ct, "env"), *e;
			bool have = false;

			for (e = jv_first(env); e; e = e->next)
				have = have || jv_is_str(jv_get(e, "name"), "JOB_COMPLETION_INDEX");
			if (have)
				continue;
			if (!env || env->type != JV_ARRAY) {
				env = jv_new(d, JV_ARRAY);
				jv_set(d, ct, "env", env);
			}
			e = jv_parse(d,
				     "{\"name\":\"JOB_COMPLETION_INDEX\",\"valueFrom\":{"
				     "\"fieldRef\":{\"fieldPath\":\"metadata.annotations['"
				     "batch.kubernetes.io/job-completion-index']\"}}}",
				     strlen("{\"name\":\"JOB_COMPLETION_INDEX\",\"valueFrom\":{"
					    "\"fieldRef\":{\"fieldPath\":\"metadata.annotations['"
					    "batch.kubernetes.io/job-completion-index']\"}}}"),
				     NULL);
			if (e)
				jv_push(env, e);
		}
}

/* The pods one manageJob creates: NULL idx when not Indexed. */
struct job_creates {
	struct job_sync *s;
	const int64_t *idx;
};

static int create_pod(void *arg, int i)
{
	const struct job_creates *c = arg;
	struct job_sync *s = c->s;
	int64_t index = c->idx ? c->idx[i] : -1;
	struct job_ctrl *jc = s->jc;
	const char *name = jv_path_str(s->job, "metadata.name");
	const char *ns = jv_path_str(s->job, "metadata.namespace");
	struct jv_doc *d = jv_doc_new();
	struct jv *pod, *md, *fins;
	char gen[320];
	int err;

	if (!d)
		return -ENOMEM;
	if (index >= 0)
		snprintf(gen, sizeof(gen), "%s-%lld-", name, (long long)index);
	else
		snprintf(gen, sizeof(gen), "%s-", name);
	pod = ctrl_pod_from_template(d, jv_path(s->job, "spec.template"), s->job, ctrl_k_job, gen);
	if (!pod) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	md = jv_get(pod, "metadata");
	fins = jv_get(md, "finalizers");
	if (!fins) {
		fins = jv_new(d, JV_ARRAY);
		jv_set(d, md, "finalizers", fins);
	}
	if (!job_has_finalizer(pod))
		jv_push(fins, jv_new_strz(d, JOB_TRACKING_FINALIZER));
	if (index >= 0) {
		jv_set(d, jv_obj_at(d, md, "annotations"), JOB_INDEX_ANNOTATION,
		       jv_new_strf(d, "%lld", (long long)index));
		jv_set(d, jv_obj_at(d, md, "labels"), JOB_INDEX_ANNOTATION,
		       jv_new_strf(d, "%lld", (long long)index));
		jv_set(d, jv_get(pod, "spec"), "hostname",
		       jv_new_strf(d, "%s-%lld", name, (long long)index));
		add_index_env(d, jv_get(pod, "spec"));
	}
	err = ctrl_pod_create(jc->c, ns, pod, s->job, NULL);
	jv_doc_free(d);
	return err;
}

/* Delete pods (the finalizer first, so the pod can go: deleteJobPods). Returns how many went;
 * *ready_gone how many of those were Ready. */
int64_t job_delete_pods(struct job_sync *s, struct jv **pods, size_t n, bool keep_fin,
			int64_t *ready_gone, int *errp)
{
	const char *ns = jv_path_str(s->job, "metadata.namespace");
	int64_t gone = 0;

	*ready_gone = 0;
	for (size_t i = 0; i < n; i++) {
		const char *pn = jv_path_str(pods[i], "metadata.name");
		int err;

		if (!keep_fin && job_has_finalizer(pods[i])) {
			struct jv_doc *d = jv_doc_new();
			struct jv *keep = d ? jv_new(d, JV_ARRAY) : NULL;
			char *fj, patch[4096];
			struct kc_status st;

			for (const struct jv *f = jv_first(jv_path(pods[i], "metadata.finalizers"));
			     keep && f; f = f->next)
				if (!jv_is_str(f, JOB_TRACKING_FINALIZER))
					jv_push(keep, jv_copy(d, f));
			fj = keep ? jv_to_json(keep, NULL) : NULL;
			snprintf(patch, sizeof(patch), "{\"metadata\":{\"finalizers\":%s}}",
				 fj ? fj : "[]");
			free(fj);
			jv_doc_free(d);
			err = kc_patch(s->jc->c->kc, ctrl_k_pod, ns, pn, NULL, KC_PATCH_MERGE,
				       patch, strlen(patch), NULL, NULL, &st);
			if (err && err != -ENOENT) {
				ctrl_expect_observe(s->jc->exp, s->key, 0, 1);
				*errp = err;
				continue;
			}
		}
		err = ctrl_pod_delete(s->jc->c, ns, pn, s->job, NULL);
		if (err && err != -ENOENT) {
			ctrl_expect_observe(s->jc->exp, s->key, 0, 1);
			*errp = err;
			continue;
		}
		gone++;
		if (ctrl_pod_ready(pods[i]))
			(*ready_gone)++;
	}
	return gone;
}

/* activePodsForRemoval: Indexed: pods with an index out of range or repeated first; then
 * controller.ActivePods order (unscheduled, not running, not ready, newest). */
static int removal_rank(const struct jv *p)
{
	if (!jv_path_str(p, "spec.nodeName"))
		return 0;
	if (!job_phase_is(p, "Running"))
		return 1;
	if (!ctrl_pod_ready(p))
		return 2;
	return 3;
}

static int removal_cmp(const void *a, const void *b)
{
	const struct jv *x = *(const struct jv *const *)a, *y = *(const struct jv *const *)b;
	int rx = removal_rank(x), ry = removal_rank(y);
	const char *cx, *cy;

	if (rx != ry)
		return rx - ry;
	cx = jv_path_str(x, "metadata.creationTimestamp") ?: "";
	cy = jv_path_str(y, "metadata.creationTimestamp") ?: "";
	return -strcmp(cx, cy);
}

static size_t pods_for_removal(struct job_sync *s, struct jv **active, size_t nactive,
			       size_t at_least, struct jv **out)
{
	size_t n = 0;

	if (s->indexed) {
		bool *seen = calloc((size_t)s->completions + 1, 1);
		size_t rest = 0;

		for (size_t i = 0; i < nactive; i++) {
			int64_t ix = job_pod_index(active[i]);

			if (ix < 0 || ix >= s->completions || s->succeeded_idx[ix] ||
			    (seen && seen[ix]))
				out[n++] = active[i];
			else {
				if (seen)
					seen[ix] = true;
				active[rest++] = active[i];
			}
		}
		free(seen);
		nactive = rest;
	}
	if (n < at_least) {
		qsort(active, nactive, sizeof(*active), removal_cmp);
		for (size_t i = 0; i < nactive && n < at_least; i++)
			out[n++] = active[i];
	}
	return n;
}

/* firstPendingIndexes: the lowest indexes neither succeeded nor held by an active pod. */
static size_t pending_indexes(struct job_sync *s, struct jv **active, size_t nactive, int64_t want,
			      int64_t *out)
{
	bool *held = calloc((size_t)s->completions + 1, 1);
	size_t n = 0;

	if (!held)
		return 0;
	for (size_t i = 0; i < nactive; i++) {
		int64_t ix = job_pod_index(active[i]);

		if (ix >= 0 && ix < s->completions)
			held[ix] = true;
	}
	for (int64_t ix = 0; ix < s->completions && (int64_t)n < want; ix++)
		if (!held[ix] && !s->succeeded_idx[ix])
			out[n++] = ix;
	free(held);
	return n;
}

bool job_suspended(const struct jv *job)
{
	const struct jv *v = jv_path(job, "spec.suspend");

	return v && v->type == JV_TRUE;
}

/* manageJob: the pods to create or delete. Returns the active count after it. */
int64_t job_manage(struct job_sync *s, struct jv **active, size_t nactive, int *errp)
{
	struct job_ctrl *jc = s->jc;
	int64_t parallelism = 1, want, diff, gone, ready_gone;
	struct jv **rm;
	size_t nrm;

	jv_path_int(s->job, "spec.parallelism", &parallelism);
	if (job_suspended(s->job)) {
		ctrl_expect_set(jc->exp, s->key, 0, (int)nactive);
		gone = job_delete_pods(s, active, nactive, false, &ready_gone, errp);
		s->terminating += gone;
		s->ready -= ready_gone;
		return (int64_t)nactive - gone;
	}
	if (s->completions < 0)
		want = s->succeeded > 0 ? (int64_t)nactive : parallelism;
	else {
		want = s->completions - s->succeeded;
		if (want > parallelism)
			want = parallelism;
		if (want < 0)
			want = 0;
	}
	rm = jv_alloc(s->d, (nactive + 1) * sizeof(*rm));
	if (!rm)
		return (int64_t)nactive;
	nrm = pods_for_removal(s, active, nactive,
			       (int64_t)nactive > want ? (size_t)((int64_t)nactive - want) : 0, rm);
	if (nrm > 500)
		nrm = 500; /* MaxPodCreateDeletePerSync */
	if (nrm) {
		ctrl_expect_set(jc->exp, s->key, 0, (int)nrm);
		gone = job_delete_pods(s, rm, nrm, false, &ready_gone, errp);
		s->terminating += gone;
		s->ready -= ready_gone;
		return (int64_t)nactive - gone;
	}
	diff = want - (int64_t)nactive;
	if (jv_is_str(jv_path(s->job, "spec.podReplacementPolicy"), "Failed"))
		diff -= s->terminating;
	if (diff <= 0)
		return (int64_t)nactive;
	{
		int64_t wait = backoff_remaining(s);

		if (wait > 0) {
			kc_queue_add_after(jc->q, s->key, (uint64_t)wait);
			return (int64_t)nactive;
		}
	}
	if (diff > 500)
		diff = 500;
	{
		int64_t *idx = NULL, created;
		struct job_creates c = {s, NULL};
		int err;

		if (s->indexed) {
			idx = calloc((size_t)diff, sizeof(*idx));
			if (!idx)
				return (int64_t)nactive;
			diff = (int64_t)pending_indexes(s, active, nactive, diff, idx);
			c.idx = idx;
		}
		ctrl_expect_set(jc->exp, s->key, (int)diff, 0);
		created = ctrl_slow_start((int)diff, create_pod, &c, &err);
		if (err)
			*errp = err;
		/* the pods not made will not be observed */
		ctrl_expect_observe(jc->exp, s->key, (int)(diff - created), 0);
		free(idx);
		return (int64_t)nactive + created;
	}
}
