/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jobttl: kube-controller-manager's TTL-after-finished controller
 * (pkg/controller/ttlafterfinished): a Job that finished (Complete or Failed) with
 * spec.ttlSecondsAfterFinished set is deleted, with propagation Background (its pods go with
 * the garbage collector), that many seconds after the condition's lastTransitionTime. The
 * decision is made again on a fresh read before the delete, with the uid and
 * resourceVersion it saw as preconditions, so a Job whose TTL was just raised survives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "podctl.h"

#define COMP "ttl-after-finished-controller"

struct ttl_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *jobs;
	struct kc_queue *q;
	struct kc_workers *w;
};

/* Seconds until job expires (<= 0: now); false when it has no TTL or has not finished. */
static bool time_left(const struct jv *job, int64_t *left)
{
	int64_t ttl, fin = -1;

	if (jv_path(job, "metadata.deletionTimestamp") ||
	    jv_path_int(job, "spec.ttlSecondsAfterFinished", &ttl) != 0)
		return false;
	for (const struct jv *c = jv_first(jv_path(job, "status.conditions")); c; c = c->next)
		if ((jv_is_str(jv_get(c, "type"), "Complete") ||
		     jv_is_str(jv_get(c, "type"), "Failed")) &&
		    jv_is_str(jv_get(c, "status"), "True"))
			fin = ctrl_parse_time(jv_path_str(c, "lastTransitionTime"));
	if (fin < 0)
		return false;
	*left = fin + ttl - ctrl_now();
	return true;
}

static void job_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ttl_ctrl *tc = arg;
	int64_t left;
	char key[512];

	(void)o;
	if (!time_left(t, &left))
		return;
	snprintf(key, sizeof(key), "%s/%s", jv_path_str(t, "metadata.namespace") ?: "",
		 jv_path_str(t, "metadata.name") ?: "");
	kc_queue_add(tc->q, key);
}

static void job_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	job_add(arg, cur, cur_t);
}

static int sync_ttl(void *arg, const char *key)
{
	struct ttl_ctrl *tc = arg;
	struct jv_doc *d = jv_doc_new();
	char kbuf[512], *ns, *name;
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st = {0};
	struct kc_obj *fresh = NULL;
	struct jv *job;
	int64_t left;
	int err = 0;

	if (!d)
		return -ENOMEM;
	snprintf(kbuf, sizeof(kbuf), "%s", key);
	kc_key_split(kbuf, &ns, &name);
	job = ctrl_cached(tc->jobs, ns, name, d);
	if (!job || !time_left(job, &left))
		goto out;
	if (left > 0) {
		kc_queue_add_after(tc->q, key, (uint64_t)left * 1000);
		goto out;
	}
	/* the cache may be stale: decide again on what the server has */
	err = kc_get(tc->c->kc, ctrl_k_job, ns, name, &fresh, &st);
	if (err) {
		err = err == -ENOENT ? 0 : err;
		goto out;
	}
	job = kc_obj_parse(fresh, d);
	if (!job || !time_left(job, &left))
		goto out;
	if (left > 0) {
		kc_queue_add_after(tc->q, key, (uint64_t)left * 1000);
		goto out;
	}
	o.propagation = "Background";
	o.precondition_uid = jv_path_str(job, "metadata.uid");
	o.precondition_rv = jv_path_str(job, "metadata.resourceVersion");
	err = kc_delete(tc->c->kc, ctrl_k_job, ns, name, &o, NULL, &st);
	if (err == -ENOENT)
		err = 0;
	else if (err == -KC_ECONFLICT || err == -EEXIST)
		err = -EAGAIN; /* changed since: look again */
	else if (err)
		log_warn(COMP, "job %s: delete: %s", key, st.message);
	else
		log_info(COMP, "job %s: finished, its ttlSecondsAfterFinished passed: deleted",
			 key);
out:
	kc_obj_put(fresh);
	jv_doc_free(d);
	return err;
}

static int ttl_init(struct ctrl_ctx *c, void **state)
{
	struct ttl_ctrl *tc = calloc(1, sizeof(*tc));
	struct kc_handlers h = {.add = job_add, .update = job_update};

	*state = tc;
	if (!tc)
		return -ENOMEM;
	tc->c = c;
	tc->q = kc_queue_new("ttl-after-finished");
	tc->jobs = ctrl_informer(c, ctrl_k_job);
	if (!tc->q || !tc->jobs)
		return -ENOMEM;
	h.arg = tc;
	return kc_informer_add_handlers(tc->jobs, &h);
}

static int ttl_run(void *state)
{
	struct ttl_ctrl *tc = state;

	tc->w = kc_workers_start(tc->q, tc->c->cfg->workers, sync_ttl, tc, "ttl-after-finished");
	return tc->w ? 0 : -ENOMEM;
}

/* The workers stop (no sync runs after it); handlers may still add to the shut queue. */
static void ttl_quiesce(void *state)
{
	struct ttl_ctrl *tc = state;

	if (!tc)
		return;
	ctrl_queue_quiesce(&tc->w, tc->q);
}

static void ttl_stop(void *state)
{
	struct ttl_ctrl *tc = state;

	if (!tc)
		return;
	ttl_quiesce(tc);
	kc_queue_free(tc->q);
	free(tc);
}

const struct ctrl_desc ctrl_ttl_after_finished = {
    .name = "ttl-after-finished",
    .component = "ttl-after-finished-controller",
    .init = ttl_init,
    .run = ttl_run,
    .stop = ttl_stop,
    .quiesce = ttl_quiesce,
};
