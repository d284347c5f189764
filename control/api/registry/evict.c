/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evict: pods/eviction, as kube-apiserver's EvictionREST (pkg/registry/core/pod/storage/
 * eviction.go, 1.32) runs it: a pod that cannot disrupt anything (Pending, finished, already
 * being deleted) is deleted at once; else its PodDisruptionBudget decides. More than one
 * budget selecting it is a 500 the eviction does not support; a budget the controller has
 * not caught up with, or one that allows no disruption, answers 429 TooManyRequests ("Cannot
 * evict pod as it would violate the pod's disruption budget.", with a DisruptionBudget
 * cause); else its status.disruptionsAllowed is decremented and the pod entered in
 * status.disruptedPods (a status write with the budget's resourceVersion as precondition,
 * re-read and retried on conflict), and the pod is deleted. A pod that is not Ready costs the
 * budget nothing when the budget is healthy (IfHealthyBudget) or says AlwaysAllow; it is
 * deleted with its resourceVersion as a precondition, so one that became Ready meanwhile is
 * not. Before the delete the pod gets the DisruptionTarget condition (EvictionByEvictionAPI).
 * Budgets are read from the store through the registry's own list, never over a transport.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_selector.h"
#include "k8s_buf.h"
#include "reg_int.h"

#define RETRIES	      20   /* EvictionsRetry's steps */
#define MAX_DISRUPTED 2000 /* MaxDisruptedPodSize */
#define TOO_MANY      "Cannot evict pod as it would violate the pod's disruption budget."

static const struct api_resource *pdb_res(void)
{
	return api_resource_find("policy", "v1", "poddisruptionbudgets");
}

static bool pod_ready(const struct jv *pod)
{
	for (const struct jv *c = jv_first(jv_path(pod, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "Ready"))
			return jv_is_str(jv_get(c, "status"), "True");
	return false;
}

/* canIgnorePDB: a pod that disrupts nothing (finished, Pending, being deleted). */
static bool can_ignore_pdb(const struct jv *pod)
{
	const char *phase = jv_path_str(pod, "status.phase");

	return (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ||
			  !strcmp(phase, "Pending"))) ||
	       jv_path(pod, "metadata.deletionTimestamp");
}

/* shouldEnforceResourceVersion: a pod still able to turn Ready. */
static bool enforce_rv(const struct jv *pod)
{
	const char *phase = jv_path_str(pod, "status.phase");

	return !(phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) &&
	       !jv_path(pod, "metadata.deletionTimestamp");
}

/* 429 with a DisruptionBudget cause (errors.NewTooManyRequests + the cause). */
static void too_many(struct api_result *out, int retry_after, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void too_many(struct api_result *out, int retry_after, const char *fmt, ...)
{
	struct k8s_buf b = {0};
	char cause[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	k8s_buf_puts(&b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
			 "\"Failure\",\"message\":");
	k8s_buf_json_string(&b, TOO_MANY, strlen(TOO_MANY));
	k8s_buf_puts(&b, ",\"reason\":\"TooManyRequests\",\"details\":{\"causes\":[{\"reason\":"
			 "\"DisruptionBudget\",\"message\":");
	k8s_buf_json_string(&b, cause, strlen(cause));
	k8s_buf_puts(&b, "}]");
	if (retry_after > 0)
		k8s_buf_printf(&b, ",\"retryAfterSeconds\":%d", retry_after);
	k8s_buf_puts(&b, "},\"code\":429}");
	api_fail_status(out, 429, "TooManyRequests", &b);
}

/* 403 about the budget (errors.NewForbidden(policy.Resource("poddisruptionbudget"), ...)). */
static void budget_forbidden(struct api_result *out, const char *pdb, const char *why)
{
	api_fail(out, 403, "Forbidden", "poddisruptionbudget.policy \"%s\" is forbidden: %s", pdb,
		 why);
}

/* ---- the pod's budgets ---- */

struct budget {
	char name[256];
	char key[1024];
	struct jv *obj;
	uint64_t rev;
};

/* A budget's selector selects the pod (nil or empty selects nothing, here). */
static bool selects(const struct jv *pdb, const struct jv *pod)
{
	const struct jv *sel = jv_path(pdb, "spec.selector");

	if (!sel || sel->type != JV_OBJECT ||
	    (!jv_count(jv_get(sel, "matchLabels")) && !jv_count(jv_get(sel, "matchExpressions"))))
		return false;
	return api_label_selector_matches(sel, jv_path(pod, "metadata.labels"));
}

/* The budgets of the pod's namespace that select it: how many (*n), the first in *b. */
static int pod_budgets(struct reg_call *c, const struct jv *pod, struct budget *b, size_t *n)
{
	struct store_list l = {0};
	int err = reg_list_all(c->reg, pdb_res(), c->ns, 0, &l);

	*n = 0;
	if (err) {
		api_fail_store(c->out, pdb_res(), NULL, err);
		return err;
	}
	for (size_t i = 0; i < l.count; i++) {
		struct jv *o = api_load_object(c->d, l.items[i].value, l.items[i].value_len,
					       l.items[i].mod_rev);

		if (!o || !selects(o, pod))
			continue;
		if ((*n)++ == 0) {
			b->obj = o;
			b->rev = l.items[i].mod_rev;
			snprintf(b->name, sizeof(b->name), "%s",
				 jv_path_str(o, "metadata.name") ?: "");
			snprintf(b->key, sizeof(b->key), "%.*s", (int)l.items[i].key_len,
				 (const char *)l.items[i].key);
		}
	}
	store_list_free(&l);
	return 0;
}

static int64_t int_at(const struct jv *o, const char *path)
{
	int64_t v = 0;

	jv_path_int(o, path, &v);
	return v;
}

/* apimeta.SetStatusCondition of a metav1.Condition in obj's status.conditions. */
static void set_condition(struct jv_doc *d, struct jv *obj, const char *type, const char *status,
			  const char *reason, const char *message, int64_t gen)
{
	struct jv *st = jv_obj_at(d, obj, "status"), *conds = jv_get(st, "conditions"), *c = NULL;
	char now[32];

	if (!conds || conds->type != JV_ARRAY) {
		conds = jv_new(d, JV_ARRAY);
		jv_set(d, st, "conditions", conds);
	}
	for (struct jv *it = jv_first(conds); it && !c; it = it->next)
		if (jv_is_str(jv_get(it, "type"), type))
			c = it;
	api_now(now);
	if (!c) {
		c = jv_new(d, JV_OBJECT);
		jv_set(d, c, "type", jv_new_strz(d, type));
		jv_push(conds, c);
	}
	if (!jv_is_str(jv_get(c, "status"), status)) {
		jv_set(d, c, "status", jv_new_strz(d, status));
		jv_set(d, c, "lastTransitionTime", jv_new_strz(d, now));
	}
	if (gen)
		jv_set(d, c, "observedGeneration", jv_new_int(d, gen));
	else
		jv_del(c, "observedGeneration");
	jv_set(d, c, "reason", jv_new_strz(d, reason));
	jv_set(d, c, "message", jv_new_strz(d, message));
}

/* checkAndDecrement: 0 (decremented and written, or dry run), a conflict (re-read the
 * budget), or an error with out set (429, 403). */
static int check_and_decrement(struct reg_call *c, struct budget *b, const char *pod)
{
	struct jv *n, *st, *dp;
	struct api_result w = {0};
	int64_t allowed = int_at(b->obj, "status.disruptionsAllowed");
	char now[32];
	int err;

	if (int_at(b->obj, "status.observedGeneration") < int_at(b->obj, "metadata.generation")) {
		too_many(c->out, 10,
			 "The disruption budget %s is still being processed by the server.",
			 b->name);
		return -EAGAIN;
	}
	if (allowed < 0) {
		budget_forbidden(c->out, b->name, "pdb disruptions allowed is negative");
		return -EPERM;
	}
	if (jv_count(jv_path(b->obj, "status.disruptedPods")) > MAX_DISRUPTED) {
		budget_forbidden(c->out, b->name,
				 "DisruptedPods map too big - too many evictions not confirmed by "
				 "PDB controller");
		return -EPERM;
	}
	if (allowed == 0) {
		too_many(c->out, 0,
			 "The disruption budget %s needs %" PRId64 " healthy pods and has %" PRId64
			 " currently",
			 b->name, int_at(b->obj, "status.desiredHealthy"),
			 int_at(b->obj, "status.currentHealthy"));
		return -EAGAIN;
	}
	n = jv_copy(c->d, b->obj);
	st = jv_obj_at(c->d, n, "status");
	jv_set(c->d, st, "disruptionsAllowed", jv_new_int(c->d, allowed - 1));
	if (allowed - 1 == 0)
		set_condition(c->d, n, "DisruptionAllowed", "False", "InsufficientPods", "",
			      int_at(b->obj, "status.observedGeneration"));
	if (c->dry_run)
		return 0;
	/* the controller must not count it as available while it goes */
	dp = jv_obj_at(c->d, st, "disruptedPods");
	jv_set(c->d, dp, pod, jv_new_strz(c->d, api_now(now)));
	err = reg_write_status(c, pdb_res(), b->name, n, b->obj, b->rev, &w);
	if (err && err != -EEXIST && err != -STORE_ECONFLICT) {
		api_fail(c->out, w.code ? w.code : 500, w.reason, "%s",
			 w.message ? w.message : "poddisruptionbudget status update failed");
	}
	api_result_free(&w);
	return err;
}

/* ---- the delete ---- */

/* addConditionAndDeletePod: the DisruptionTarget condition, then the delete with o. 0 or an
 * error (out set); -STORE_ECONFLICT / -EEXIST for a failed precondition. */
static int condition_and_delete(struct reg_call *c, struct reg_delete_opts *o)
{
	struct reg_req rq = *c->rq;
	struct api_result del = {0};
	char rvbuf[32];
	int err;

	if (!c->dry_run) {
		struct api_result w = {0};
		struct jv *pod, *n;
		uint64_t rev, nrev = 0;

		err = reg_load(c, c->key, &pod, &rev);
		if (err) {
			api_fail_store(c->out, c->res, c->name, err);
			return err;
		}
		if (o->uid && o->uid[0] && !jv_is_str(jv_path(pod, "metadata.uid"), o->uid)) {
			api_fail_details(
			    c->out, 409, "Conflict", c->res, c->name,
			    "Operation cannot be fulfilled on pods \"%s\": the UID in the "
			    "precondition (%s) does not match the UID in record (%s). "
			    "The object might have been deleted and then recreated",
			    c->name, o->uid, jv_path_str(pod, "metadata.uid") ?: "");
			return -EEXIST;
		}
		if (o->rv && o->rv[0] && strtoull(o->rv, NULL, 10) != rev) {
			api_fail_details(
			    c->out, 409, "Conflict", c->res, c->name,
			    "Operation cannot be fulfilled on pods \"%s\": the "
			    "ResourceVersion in the precondition (%s) does not match the "
			    "ResourceVersion in record (%" PRIu64
			    "). The object might have been modified",
			    c->name, o->rv, rev);
			return -EEXIST;
		}
		n = jv_copy(c->d, pod);
		set_condition(c->d, n, "DisruptionTarget", "True", "EvictionByEvictionAPI",
			      "Eviction API: evicting", 0);
		err = reg_write_status(c, c->res, c->name, n, pod, rev, &w);
		nrev = err ? 0 : w.rev;
		if (err && api_result_failed(&w) && w.code != 409) {
			api_fail(c->out, w.code, w.reason, "%s", w.message ? w.message : "");
			api_result_free(&w);
			return err;
		}
		api_result_free(&w);
		if (err)
			return -STORE_ECONFLICT; /* changed meanwhile: the caller decides */
		/* we made the new version: the precondition follows it */
		if (o->rv && o->rv[0] && nrev) {
			snprintf(rvbuf, sizeof(rvbuf), "%" PRIu64, nrev);
			o->rv = rvbuf;
		}
	}
	rq.sub = NULL;
	rq.dry_run = c->dry_run;
	err = reg_delete(c->reg, &rq, o, &del);
	if (err)
		api_fail(c->out, del.code ? del.code : 500, del.reason, "%s",
			 del.message ? del.message : "delete failed");
	if (err && del.code == 409)
		err = -STORE_ECONFLICT;
	api_result_free(&del);
	return err;
}

int reg_evict(struct registry *reg, const struct reg_req *rq, struct jv *ev, struct api_result *out)
{
	struct reg_call c0, *c = &c0;
	struct reg_delete_opts o = REG_DELETE_OPTS_INIT, opts;
	const struct jv *dopt = jv_get(ev, "deleteOptions");
	const char *ename = jv_path_str(ev, "metadata.name");
	struct budget b = {0};
	struct jv *pod = NULL;
	uint64_t rev = 0;
	char rvbuf[32];
	bool healthy_exempt = false;
	size_t nb = 0;
	int64_t g;
	int err = 0;

	if (reg_call_init(c, reg, rq, out) != 0)
		return -EINVAL;
	if (ename && ename[0] && c->name && strcmp(ename, c->name) != 0) {
		api_fail(out, 400, "BadRequest",
			 "name in URL does not match name in Eviction object");
		return -EINVAL;
	}
	if (jv_path_int(dopt, "gracePeriodSeconds", &g) == 0)
		o.grace = g;
	o.propagation = jv_path_str(dopt, "propagationPolicy");
	o.uid = jv_path_str(dopt, "preconditions.uid");
	o.rv = jv_path_str(dopt, "preconditions.resourceVersion");
	for (const struct jv *d = jv_first(jv_get(dopt, "dryRun")); d; d = d->next)
		c->dry_run |= jv_is_str(d, "All");
	/* a pod that disrupts nothing goes without asking its budget */
	for (int i = 0; i < RETRIES; i++) {
		err = reg_load(c, c->key, &pod, &rev);
		if (err) {
			api_fail_store(out, c->res, c->name, err);
			return err;
		}
		if (!can_ignore_pdb(pod))
			break;
		opts = o;
		if (enforce_rv(pod) && !(o.rv && o.rv[0])) {
			snprintf(rvbuf, sizeof(rvbuf), "%" PRIu64, rev);
			opts.rv = rvbuf;
		}
		err = condition_and_delete(c, &opts);
		if ((err == -STORE_ECONFLICT || err == -EEXIST) && !(o.rv && o.rv[0]))
			continue;
		if (!err)
			api_succeed_status(out, 201);
		return err;
	}
	if (can_ignore_pdb(pod))
		return err;
	err = pod_budgets(c, pod, &b, &nb);
	if (err)
		return err;
	if (nb > 1) {
		api_fail(out, 500, "",
			 "This pod has more than one PodDisruptionBudget, which the eviction "
			 "subresource does not support.");
		return -EINVAL;
	}
	if (nb == 1 && !pod_ready(pod)) {
		/* an unhealthy pod is not guarded: it costs the budget nothing */
		const char *policy = jv_path_str(b.obj, "spec.unhealthyPodEvictionPolicy");
		int64_t cur = int_at(b.obj, "status.currentHealthy");
		int64_t want = int_at(b.obj, "status.desiredHealthy");

		healthy_exempt =
		    (policy && !strcmp(policy, "AlwaysAllow")) || (cur >= want && want > 0);
	}
	for (int i = 0; nb == 1 && !healthy_exempt; i++) {
		if (i == RETRIES) {
			api_fail(out, 504, "Timeout",
				 "couldn't update PodDisruptionBudget \"%s\" due to conflicts",
				 b.name);
			return -ETIMEDOUT;
		}
		err = check_and_decrement(c, &b, c->name);
		if (!err)
			break;
		if (err != -EEXIST && err != -STORE_ECONFLICT)
			return err;
		/* refresh the budget */
		err = reg_load(c, b.key, &b.obj, &b.rev);
		if (err) {
			api_fail_store(out, pdb_res(), b.name, err);
			return err;
		}
	}
	opts = o;
	if (healthy_exempt && !(o.rv && o.rv[0])) {
		/* only as it is now: not once it turned Ready */
		snprintf(rvbuf, sizeof(rvbuf), "%" PRIu64, rev);
		opts.rv = rvbuf;
	}
	err = condition_and_delete(c, &opts);
	if ((err == -STORE_ECONFLICT || err == -EEXIST) && healthy_exempt && !(o.rv && o.rv[0])) {
		too_many(out, 10,
			 "The disruption budget %s is still being processed by the server.",
			 b.name);
		return -EAGAIN;
	}
	if (!err)
		api_succeed_status(out, 201);
	return err;
}
