/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deployment_rollout: what a Deployment's sync does once its ReplicaSets are known, as
 * kube's rolling.go, recreate.go and sync.go: the rolling update (scale the new ReplicaSet
 * up within maxSurge, the old ones down within maxUnavailable, unhealthy replicas first),
 * recreate (old ones to zero, wait for their pods to be gone, then the new one), scaling
 * events and paused Deployments (proportional scaling across active ReplicaSets), cleanup of
 * old ReplicaSets past revisionHistoryLimit, and the status with its Available and
 * Progressing conditions (ProgressDeadlineExceeded after progressDeadlineSeconds without
 * progress; a stuck Deployment is looked at again when its deadline falls).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deployment.h"
#include "log.h"

static void set_int(struct jv_doc *d, struct jv *o, const char *key, int64_t v)
{
	if (v) /* every field of DeploymentStatus is omitempty */
		jv_set(d, o, key, jv_new_int(d, v));
}

static int64_t st_int(const struct jv *st, const char *key)
{
	int64_t v = 0;

	jv_path_int(st, key, &v);
	return v;
}

/* kube's calculateStatus */
static struct jv *calc_status(struct dp_sync *y)
{
	struct jv_doc *d = y->d;
	struct jv *st = jv_new(d, JV_OBJECT), *cur = jv_get(y->dep, "status"), *v;
	int64_t avail = dp_sum_avail(y->rss, y->nrss), total = dp_sum_spec(y->rss, y->nrss);
	int64_t gen = 0;

	if (!st)
		return NULL;
	jv_path_int(y->dep, "metadata.generation", &gen);
	set_int(d, st, "observedGeneration", gen);
	set_int(d, st, "replicas", dp_sum_actual(y->rss, y->nrss));
	set_int(d, st, "updatedReplicas", y->new_rs ? y->new_rs->st_replicas : 0);
	set_int(d, st, "readyReplicas", dp_sum_ready(y->rss, y->nrss));
	set_int(d, st, "availableReplicas", avail);
	set_int(d, st, "unavailableReplicas", total - avail > 0 ? total - avail : 0);
	if ((v = jv_get(cur, "conditions")))
		jv_set(d, st, "conditions", jv_copy(d, v));
	if ((v = jv_get(cur, "collisionCount")))
		jv_set(d, st, "collisionCount", jv_copy(d, v));
	if (avail >= y->replicas - dp_max_unavailable(y->dep))
		dp_set_condition(d, st, "Available", "True", DP_R_MIN_AVAILABLE,
				 "Deployment has minimum availability.");
	else
		dp_set_condition(d, st, "Available", "False", DP_R_MIN_UNAVAILABLE,
				 "Deployment does not have minimum availability.");
	return st;
}

/* kube's DeploymentComplete */
static bool complete(struct dp_sync *y, const struct jv *st)
{
	int64_t gen = 0;

	jv_path_int(y->dep, "metadata.generation", &gen);
	return st_int(st, "updatedReplicas") == y->replicas &&
	       st_int(st, "replicas") == y->replicas &&
	       st_int(st, "availableReplicas") == y->replicas &&
	       st_int(st, "observedGeneration") >= gen;
}

/* kube's DeploymentProgressing: the new status shows progress over the old */
static bool progressing(const struct jv *old, const struct jv *st)
{
	int64_t old_old = st_int(old, "replicas") - st_int(old, "updatedReplicas");
	int64_t new_old = st_int(st, "replicas") - st_int(st, "updatedReplicas");

	return st_int(st, "updatedReplicas") > st_int(old, "updatedReplicas") ||
	       new_old < old_old || st_int(st, "readyReplicas") > st_int(old, "readyReplicas") ||
	       st_int(st, "availableReplicas") > st_int(old, "availableReplicas");
}

/* kube's DeploymentTimedOut */
static bool timed_out(struct dp_sync *y, const struct jv *st)
{
	const struct jv *c = dp_condition(st, "Progressing");
	int64_t secs, from;

	if (!dp_progress_deadline(y->dep, &secs) || !c)
		return false;
	if (jv_is_str(jv_get(c, "reason"), DP_R_NEW_RS_AVAILABLE))
		return false;
	if (jv_is_str(jv_get(c, "reason"), DP_R_TIMED_OUT))
		return true;
	from = ctrl_parse_time(jv_path_str(c, "lastUpdateTime"));
	return from + secs < ctrl_now();
}

static int replace_status(struct dp_sync *y, struct jv *st)
{
	jv_set(y->d, y->dep, "status", st);
	return dp_write_status(y);
}

/* kube's syncDeploymentStatus */
static int sync_status(struct dp_sync *y)
{
	struct jv *st = calc_status(y);

	if (!st)
		return -ENOMEM;
	if (jv_equal(jv_get(y->dep, "status"), st))
		return 0;
	return replace_status(y, st);
}

/* kube's requeueStuckDeployment */
static void requeue_stuck(struct dp_sync *y, const struct jv *st)
{
	const struct jv *c = dp_condition(jv_get(y->dep, "status"), "Progressing");
	int64_t secs, after;

	if (!dp_progress_deadline(y->dep, &secs) || !c)
		return;
	if (complete(y, st) || jv_is_str(jv_get(c, "reason"), DP_R_TIMED_OUT))
		return;
	after = ctrl_parse_time(jv_path_str(c, "lastUpdateTime")) + secs - ctrl_now();
	if (after < 1)
		kc_queue_add_rate_limited(y->s->q, y->key);
	else
		kc_queue_add_after(y->s->q, y->key, (uint64_t)(after + 1) * 1000);
}

/* kube's syncRolloutStatus */
static int sync_rollout_status(struct dp_sync *y)
{
	struct jv_doc *d = y->d;
	struct jv *old = jv_get(y->dep, "status"), *st = calc_status(y), *failure = NULL;
	const struct jv *cur = dp_condition(old, "Progressing");
	bool deadline = dp_progress_deadline(y->dep, NULL);
	char msg[512];

	if (!st)
		return -ENOMEM;
	if (!deadline)
		dp_remove_condition(st, "Progressing");
	if (deadline && !(st_int(st, "replicas") == st_int(st, "updatedReplicas") && cur &&
			  jv_is_str(jv_get(cur, "reason"), DP_R_NEW_RS_AVAILABLE))) {
		if (complete(y, st)) {
			if (y->new_rs)
				snprintf(msg, sizeof(msg),
					 "ReplicaSet \"%s\" has successfully progressed.",
					 y->new_rs->name);
			else
				snprintf(msg, sizeof(msg),
					 "Deployment \"%s\" has successfully progressed.",
					 jv_path_str(y->dep, "metadata.name"));
			dp_set_condition(d, st, "Progressing", "True", DP_R_NEW_RS_AVAILABLE, msg);
		} else if (progressing(old, st)) {
			/* progress: a fresh lastUpdateTime, the transition time kept while True */
			const char *ltt = cur && jv_is_str(jv_get(cur, "status"), "True")
					      ? jv_path_str(cur, "lastTransitionTime")
					      : NULL;
			struct jv *c;

			if (y->new_rs)
				snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.",
					 y->new_rs->name);
			else
				snprintf(msg, sizeof(msg), "Deployment \"%s\" is progressing.",
					 jv_path_str(y->dep, "metadata.name"));
			dp_remove_condition(st, "Progressing");
			dp_set_condition(d, st, "Progressing", "True", DP_R_RS_UPDATED, msg);
			c = dp_condition(st, "Progressing");
			if (ltt && c)
				jv_set(d, c, "lastTransitionTime", jv_new_strz(d, ltt));
		} else if (timed_out(y, st)) {
			if (y->new_rs)
				snprintf(msg, sizeof(msg),
					 "ReplicaSet \"%s\" has timed out progressing.",
					 y->new_rs->name);
			else
				snprintf(msg, sizeof(msg),
					 "Deployment \"%s\" has timed out progressing.",
					 jv_path_str(y->dep, "metadata.name"));
			dp_set_condition(d, st, "Progressing", "False", DP_R_TIMED_OUT, msg);
		}
	}
	/* the ReplicaFailure of a ReplicaSet (the new one first) becomes the Deployment's */
	for (size_t i = 0; i <= y->nrss && !failure; i++) {
		struct dp_rs *r = i == 0 ? y->new_rs : y->rss[i - 1];
		struct jv *c = r ? ctrl_condition(r->t, "ReplicaFailure") : NULL;

		if (c && jv_is_str(jv_get(c, "status"), "True"))
			failure = c;
	}
	if (failure)
		dp_set_condition(d, st, "ReplicaFailure", "True",
				 jv_path_str(failure, "reason") ?: "",
				 jv_path_str(failure, "message") ?: "");
	else
		dp_remove_condition(st, "ReplicaFailure");
	if (jv_equal(old, st)) {
		requeue_stuck(y, st);
		return 0;
	}
	return replace_status(y, st);
}

/* ---- cleanup ---- */

/* kube's cleanupDeployment: old ReplicaSets past revisionHistoryLimit, oldest revision
 * first, only those fully scaled down and observed so */
static int cleanup(struct dp_sync *y)
{
	struct dp_rs **v;
	int64_t limit, diff;
	size_t n = 0;
	int err = 0;

	if (jv_path_int(y->dep, "spec.revisionHistoryLimit", &limit) != 0)
		return 0;
	v = malloc((y->nold + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < y->nold; i++)
		if (!y->old[i]->deleting)
			v[n++] = y->old[i];
	diff = (int64_t)n - limit;
	dp_sort_revision(v, n);
	for (int64_t i = 0; i < diff && !err; i++) {
		int64_t gen = 0, ogen = 0;
		struct kc_status st;

		jv_path_int(v[i]->t, "metadata.generation", &gen);
		jv_path_int(v[i]->t, "status.observedGeneration", &ogen);
		if (v[i]->st_replicas || v[i]->replicas || gen > ogen)
			continue;
		err = kc_delete(y->s->c->kc, ctrl_k_replicaset, y->ns, v[i]->name, NULL, NULL, &st);
		if (err == -ENOENT)
			err = 0;
	}
	free(v);
	return err;
}

/* ---- rolling update ---- */

/* kube's NewRSNewReplicas for the existing new ReplicaSet */
static int new_rs_target(struct dp_sync *y, int64_t *out)
{
	int64_t surge, cur, max, up;

	if (!dp_is_rolling(y->dep)) {
		*out = y->replicas;
		return 0;
	}
	if (dp_scaled_value(jv_path(y->dep, "spec.strategy.rollingUpdate.maxSurge"), y->replicas,
			    true, &surge) != 0)
		return -EINVAL;
	cur = dp_sum_pods(y->rss, y->nrss);
	max = y->replicas + surge;
	if (cur >= max) {
		*out = y->new_rs->replicas;
		return 0;
	}
	up = max - cur;
	if (up > y->replicas - y->new_rs->replicas)
		up = y->replicas - y->new_rs->replicas;
	*out = y->new_rs->replicas + up;
	return 0;
}

static int reconcile_new(struct dp_sync *y, bool *scaled)
{
	int64_t n;
	int err;

	*scaled = false;
	if (y->new_rs->replicas == y->replicas)
		return 0;
	if (y->new_rs->replicas > y->replicas)
		return dp_scale_rs(y, y->new_rs, y->replicas, scaled);
	err = new_rs_target(y, &n);
	return err ? err : dp_scale_rs(y, y->new_rs, n, scaled);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* the old ReplicaSets with replicas, oldest first */
static size_t active_old(struct dp_sync *y, struct dp_rs **v)
{
	size_t n = 0;

	for (size_t i = 0; i < y->nold; i++)
		if (y->old[i]->replicas > 0)
			v[n++] = y->old[i];
	dp_sort_created(v, n, false);
	return n;
}

static int reconcile_old(struct dp_sync *y, bool *scaled)
{
	struct dp_rs **old = malloc((y->nold + 2) * sizeof(*old));
	int64_t all = dp_sum_spec(y->rss, y->nrss), max_unavail = dp_max_unavailable(y->dep);
	int64_t min_avail = y->replicas - max_unavail, max_down, done = 0, avail, target;
	size_t n;
	int err = 0;

	*scaled = false;
	if (!old)
		return -ENOMEM;
	n = active_old(y, old);
	if (dp_sum_spec(old, n) == 0)
		goto out;
	/* what may go without the new ReplicaSet's unavailable pods lowering availability */
	max_down = all - min_avail - (y->new_rs->replicas - y->new_rs->st_avail);
	if (max_down <= 0)
		goto out;
	/* unhealthy replicas first: they cost no availability */
	for (size_t i = 0; i < n && done < max_down && !err; i++) {
		struct dp_rs *r = old[i];
		int64_t k;

		if (r->replicas == 0 || r->replicas == r->st_avail)
			continue;
		k = min64(max_down - done, r->replicas - r->st_avail);
		err = dp_scale_rs(y, r, r->replicas - k, NULL);
		if (!err)
			done += k;
	}
	if (err)
		goto out;
	/* then within maxUnavailable (kube: scaleDownOldReplicaSetsForRollingUpdate) */
	old[n] = y->new_rs;
	avail = dp_sum_avail(old, n + 1);
	if (avail > min_avail) {
		target = avail - min_avail;
		for (size_t i = 0, down = 0; i < n && (int64_t)down < target && !err; i++) {
			struct dp_rs *r = old[i];
			int64_t k;

			if (r->replicas == 0)
				continue;
			k = min64(r->replicas, target - (int64_t)down);
			err = dp_scale_rs(y, r, r->replicas - k, NULL);
			if (!err) {
				down += (size_t)k;
				done += k;
			}
		}
	}
out:
	*scaled = done > 0;
	free(old);
	return err;
}

int dp_rollout_rolling(struct dp_sync *y)
{
	bool scaled;
	int err = dp_sync_revision(y, true);

	if (err)
		return err;
	if (!y->new_rs)
		return -EAGAIN;
	err = reconcile_new(y, &scaled);
	if (err)
		return err;
	if (scaled)
		return sync_rollout_status(y);
	err = reconcile_old(y, &scaled);
	if (err)
		return err;
	if (scaled)
		return sync_rollout_status(y);
	if (complete(y, jv_get(y->dep, "status"))) {
		err = cleanup(y);
		if (err)
			return err;
	}
	return sync_rollout_status(y);
}

/* ---- recreate ---- */

/* kube's oldPodsRunning: old ReplicaSets still report pods, or a pod of theirs is not
 * terminal (also one being deleted: its containers may still run) */
static bool old_pods_running(struct dp_sync *y)
{
	bool running = dp_sum_actual(y->old, y->nold) > 0;

	for (size_t i = 0; i < y->nold && !running; i++) {
		struct kc_obj **pods = NULL;
		size_t n = 0;

		if (kc_informer_list(y->s->pods, CTRL_IDX_OWNER, y->old[i]->uid, &pods, &n) != 0)
			return true;
		for (size_t j = 0; j < n && !running; j++) {
			struct jv *p = kc_obj_parse(pods[j], y->d);
			const char *phase = jv_path_str(p, "status.phase");

			if (!p || !ctrl_controlled_by(p, y->old[i]->uid))
				continue;
			running = !phase ||
				  (strcmp(phase, "Failed") != 0 && strcmp(phase, "Succeeded") != 0);
		}
		kc_objs_free(pods, n);
	}
	return running;
}

int dp_rollout_recreate(struct dp_sync *y)
{
	bool scaled = false;
	int err = dp_sync_revision(y, false);

	if (err)
		return err;
	/* scale every old ReplicaSet down to zero */
	for (size_t i = 0; i < y->nold && !err; i++) {
		bool s = false;

		if (y->old[i]->replicas > 0)
			err = dp_scale_rs(y, y->old[i], 0, &s);
		scaled = scaled || s;
	}
	if (err)
		return err;
	if (scaled || old_pods_running(y))
		return sync_rollout_status(y);
	if (!y->new_rs) {
		err = dp_sync_revision(y, true);
		if (err)
			return err;
		if (!y->new_rs)
			return -EAGAIN;
	}
	err = dp_scale_rs(y, y->new_rs, y->replicas, NULL);
	if (err)
		return err;
	if (complete(y, jv_get(y->dep, "status"))) {
		err = cleanup(y);
		if (err)
			return err;
	}
	return sync_rollout_status(y);
}

/* ---- scaling events, paused ---- */

/* kube's getReplicaSetFraction */
static int64_t fraction(struct dp_sync *y, struct dp_rs *r)
{
	int64_t max = y->replicas + dp_max_surge(y->dep), before;
	const char *a = dp_annotation(r->t, DP_MAX);
	char *end;

	if (y->replicas == 0)
		return -r->replicas;
	before = a ? strtoll(a, &end, 10) : 0;
	if (!a || *end || end == a)
		before = st_int(jv_get(y->dep, "status"), "replicas");
	if (before == 0)
		return 0;
	return (int64_t)floor((double)(r->replicas * max) / (double)before + 0.5) - r->replicas;
}

static int scale(struct dp_sync *y)
{
	struct dp_rs **act = malloc((y->nrss + 1) * sizeof(*act)), *only = NULL;
	int64_t allowed = 0, to_add, added = 0, *size;
	const char *op = "";
	size_t n = 0;
	int err = 0;

	if (!act)
		return -ENOMEM;
	/* kube's FindActiveOrLatest: one active ReplicaSet, or none (then the newest) */
	for (size_t i = 0; i < y->nrss; i++)
		if (y->rss[i]->replicas > 0)
			act[n++] = y->rss[i];
	if (n == 1) {
		only = act[0];
	} else if (n == 0 && y->nrss) {
		only = y->new_rs;
		if (!only) {
			if (y->nold)
				memcpy(act, y->old, y->nold * sizeof(*act));
			dp_sort_created(act, y->nold, true);
			only = act[0];
		}
	}
	if (only) {
		if (only->replicas != y->replicas)
			err = dp_scale_rs(y, only, y->replicas, NULL);
		goto out;
	}
	if (n == 0)
		goto out;
	/* kube's IsSaturated: the new ReplicaSet holds everything, the old ones go */
	if (y->new_rs && y->new_rs->replicas == y->replicas && y->new_rs->st_avail == y->replicas &&
	    dp_annotation(y->new_rs->t, DP_DESIRED) &&
	    strtoll(dp_annotation(y->new_rs->t, DP_DESIRED), NULL, 10) == y->replicas) {
		for (size_t i = 0; i < y->nold && !err; i++)
			if (y->old[i]->replicas > 0)
				err = dp_scale_rs(y, y->old[i], 0, NULL);
		goto out;
	}
	if (!dp_is_rolling(y->dep))
		goto out;
	/* proportional: the difference shared by size, the leftover to the largest */
	if (y->replicas > 0)
		allowed = y->replicas + dp_max_surge(y->dep);
	to_add = allowed - dp_sum_spec(act, n);
	if (to_add > 0) {
		dp_sort_size(act, n, true);
		op = "up";
	} else if (to_add < 0) {
		dp_sort_size(act, n, false);
		op = "down";
	}
	size = calloc(n, sizeof(*size));
	if (!size) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t p = 0;

		if (to_add != 0 && act[i]->replicas != 0 && to_add != added) {
			int64_t f = fraction(y, act[i]), left = to_add - added;

			p = to_add > 0 ? min64(f, left) : (f > left ? f : left);
		}
		size[i] = act[i]->replicas + p;
		added += p;
	}
	for (size_t i = 0; i < n && !err; i++) {
		if (i == 0 && to_add != 0) {
			size[0] += to_add - added;
			if (size[0] < 0)
				size[0] = 0;
		}
		err = dp_scale_rs_op(y, act[i], size[i], op, NULL);
	}
	free(size);
out:
	free(act);
	return err;
}

int dp_sync_scale(struct dp_sync *y)
{
	int err = dp_sync_revision(y, false);

	if (!err)
		err = scale(y);
	if (!err && jv_path(y->dep, "spec.paused") &&
	    jv_path(y->dep, "spec.paused")->type == JV_TRUE)
		err = cleanup(y);
	return err ? err : sync_status(y);
}

int dp_sync_status_only(struct dp_sync *y)
{
	int err = dp_sync_revision(y, false);

	return err ? err : sync_status(y);
}
