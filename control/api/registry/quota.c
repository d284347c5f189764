/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota: the ResourceQuota admission of a create or an update, as kube-apiserver's
 * ResourceQuota plugin (staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/
 * controller.go, CheckRequest) runs it, with the evaluators of engines/quota.c. Every quota
 * of the namespace whose status.hard names a resource the new object uses (and whose scopes
 * select it) must have its usage known ("status unknown for quota"), the object must state
 * what a quota on cpu or memory limits ("failed quota: <q>: must specify ..."), and the
 * usage plus the object's must stay within status.hard ("exceeded quota: <q>, requested:
 * ..., used: ..., limited: ..."), else 403 Forbidden. An update is admitted only for the
 * resources whose evaluator handles updates (a Service's type, a claim's storage request:
 * api_quota_handles_update), never for a subresource, and what it requests is what the new
 * object uses beyond the old one (each resource at least 0), or all it uses for a quota whose
 * scopes did not select the old one. Then each such quota's status.used grows by the request,
 * written with its resourceVersion as a precondition (a conflict re-reads the quotas that
 * failed and checks them again), before the object is stored: two creates can never both
 * take the last of a quota. Within one server the quotas of a namespace are admitted one at a
 * time (kube-apiserver queues them per namespace), so concurrent creates seldom conflict;
 * across servers the precondition decides. A write that fails after admission (a create, or
 * an update that loses a race and is tried again) leaves its charge until the resourcequota
 * controller recounts, as in kube.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_quota.h"
#include "hmap.h"
#include "reg_int.h"

#define STRIPES 16

static pthread_mutex_t stripes[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

struct rq_entry {
	char name[256];
	char key[1024];
	uint64_t rev;
	struct jv *obj;
	struct api_rlist hard, used, next;
	bool charge;  /* status.used becomes next */
	bool pending; /* to be checked (again) */
};

static const struct api_resource *quota_res(void)
{
	return api_resource_find("", "v1", "resourcequotas");
}

static int load_entry(struct reg_call *c, struct rq_entry *q)
{
	int err = reg_load(c, q->key, &q->obj, &q->rev);

	if (err)
		return err;
	/* the hard limits and usage the controller observed (Status, not Spec) */
	if (api_rlist_parse(jv_path(q->obj, "status.hard"), &q->hard) != 0 ||
	    api_rlist_parse(jv_path(q->obj, "status.used"), &q->used) != 0)
		q->hard.n = q->used.n = 0; /* unreadable: nothing it can restrict */
	q->pending = true;
	return 0;
}

/* The namespace's quotas into *out (count *n): 0 or an error with c->out set. */
static int load_quotas(struct reg_call *c, struct rq_entry **out, size_t *n)
{
	struct store_list l = {0};
	struct rq_entry *qs;
	int err = reg_list_all(c->reg, quota_res(), c->ns, 0, &l);

	*out = NULL;
	*n = 0;
	if (err) {
		api_fail_store(c->out, quota_res(), NULL, err);
		return err;
	}
	qs = calloc(l.count ? l.count : 1, sizeof(*qs));
	if (!qs) {
		store_list_free(&l);
		api_fail_oom(c->out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l.count; i++) {
		struct rq_entry *q = &qs[*n];
		const char *name;

		snprintf(q->key, sizeof(q->key), "%.*s", (int)l.items[i].key_len,
			 (const char *)l.items[i].key);
		if (load_entry(c, q) != 0)
			continue; /* gone meanwhile */
		name = jv_path_str(q->obj, "metadata.name");
		snprintf(q->name, sizeof(q->name), "%s", name ? name : "");
		(*n)++;
	}
	store_list_free(&l);
	*out = qs;
	return 0;
}

/* 403 for the object being created: `<resource> "<name>" is forbidden: <why>`. */
static int forbid(struct reg_call *c, const char *why)
{
	char q[128];

	api_fail_details(c->out, 403, "Forbidden", c->res, c->name, "%s \"%s\" is forbidden: %s",
			 api_res_qualified(c->res, q, sizeof(q)), c->name ? c->name : "", why);
	return -EPERM;
}

/* CheckRequest for one quota: 0 (q->charge set when its usage grows), or -EPERM with out
 * set. An update (old set) is charged delta, what it adds to old's usage, by a quota that
 * also selected old, and its whole usage by one that did not. */
static int check_one(struct reg_call *c, struct rq_entry *q, const struct jv *obj,
		     const struct api_rlist *usage, const struct jv *old,
		     const struct api_rlist *delta)
{
	const struct k8s_kind *k = c->res->kind;
	struct api_rlist restricted = {0}, requested, exceeded = {0}, a, b, h;
	char msg[2048], s1[512], s2[512], s3[512];

	q->charge = false;
	q->pending = false;
	for (size_t i = 0; i < q->hard.n; i++)
		if (api_quota_tracks(k->group, k->resource, q->hard.it[i].name))
			api_rlist_add(&restricted, q->hard.it[i].name, 0, false);
	if (!restricted.n || !api_quota_scopes_match(q->obj, k->group, k->resource, obj))
		return 0;
	if (!strcmp(k->group, "") && !strcmp(k->resource, "pods") &&
	    api_quota_pod_constraints(&restricted, obj, s1, sizeof(s1)) != 0) {
		snprintf(msg, sizeof(msg), "failed quota: %s: %s", q->name, s1);
		return forbid(c, msg);
	}
	for (size_t i = 0; i < restricted.n; i++)
		if (!api_rlist_get(&q->used, restricted.it[i].name)) {
			snprintf(msg, sizeof(msg), "status unknown for quota: %s, resources: %s",
				 q->name, api_rlist_names(&restricted, s1, sizeof(s1)));
			return forbid(c, msg);
		}
	requested =
	    old && api_quota_scopes_match(q->obj, k->group, k->resource, old) ? *delta : *usage;
	api_rlist_mask(&requested, &q->hard);
	api_rlist_remove_zeros(&requested);
	if (!requested.n)
		return 0;
	q->next = q->used;
	if (api_rlist_sum(&q->next, &requested) != 0) {
		api_fail_oom(c->out);
		return -ENOSPC;
	}
	for (size_t i = 0; i < requested.n; i++) {
		const struct api_rq *n = api_rlist_get(&q->next, requested.it[i].name);
		const struct api_rq *lim = api_rlist_get(&q->hard, requested.it[i].name);

		if (n && lim && n->milli > lim->milli)
			api_rlist_add(&exceeded, requested.it[i].name, 0, false);
	}
	if (exceeded.n) {
		a = requested;
		b = q->used;
		h = q->hard;
		api_rlist_mask(&a, &exceeded);
		api_rlist_mask(&b, &exceeded);
		api_rlist_mask(&h, &exceeded);
		snprintf(msg, sizeof(msg),
			 "exceeded quota: %s, requested: %s, used: %s, limited: %s", q->name,
			 api_rlist_pretty(&a, s1, sizeof(s1)), api_rlist_pretty(&b, s2, sizeof(s2)),
			 api_rlist_pretty(&h, s3, sizeof(s3)));
		return forbid(c, msg);
	}
	q->charge = true;
	return 0;
}

/* Write q's new status.used, with its resourceVersion as the precondition: 0, a conflict
 * (-EEXIST / -STORE_ECONFLICT), or another error. */
static int write_used(struct reg_call *c, struct rq_entry *q)
{
	struct api_result out = {0};
	struct jv *n = jv_copy(c->d, q->obj), *used = api_rlist_jv(c->d, &q->next);
	int err;

	if (!n || !used || jv_set(c->d, jv_obj_at(c->d, n, "status"), "used", used) != 0)
		return -ENOMEM;
	err = reg_write_status(c, quota_res(), q->name, n, q->obj, q->rev, &out);
	api_result_free(&out);
	return err;
}

int reg_quota_admit(struct reg_call *c, struct jv *obj, const struct jv *old)
{
	const struct k8s_kind *k = c->res->kind;
	pthread_mutex_t *lock;
	struct rq_entry *qs = NULL;
	struct api_rlist usage, delta = {0};
	int64_t now = (int64_t)time(NULL);
	size_t n = 0;
	int err;

	if (!c->ns || api_quota_ignored(k->group, k->resource))
		return 0;
	/* subresources are not quota's (the plugin's Validate); of updates, only those the
	 * resource's evaluator handles */
	if (old && (c->sub || !api_quota_handles_update(k->group, k->resource)))
		return 0;
	if (api_quota_usage(k->group, k->resource, obj, now, &usage) != 0 ||
	    (old && api_quota_usage(k->group, k->resource, old, now, &delta) != 0)) {
		api_fail(c->out, 500, "InternalError",
			 "Internal error occurred: too many resources to count for quota");
		return -ENOSPC;
	}
	if (old) {
		struct api_rlist prev = delta;

		delta = usage;
		api_rlist_sub_floor(&delta, &prev);
	}
	/* most namespaces have no quota: no lock for them */
	{
		struct store_list l = {0};

		if (reg_list_all(c->reg, quota_res(), c->ns, 1, &l) == 0 && l.count == 0) {
			store_list_free(&l);
			return 0;
		}
		store_list_free(&l);
	}
	lock = &stripes[hmap_hash(c->ns, strlen(c->ns)) % STRIPES];
	pthread_mutex_lock(lock);
	err = load_quotas(c, &qs, &n);
	for (int attempt = 0; !err && n && attempt < REG_WRITE_RETRIES; attempt++) {
		bool conflict = false;

		for (size_t i = 0; i < n && !err; i++)
			if (qs[i].pending)
				err = check_one(c, &qs[i], obj, &usage, old, &delta);
		if (err || c->dry_run)
			break;
		for (size_t i = 0; i < n && !err; i++) {
			int w;

			if (!qs[i].charge)
				continue;
			w = write_used(c, &qs[i]);
			qs[i].charge = false;
			if (w == -EEXIST || w == -STORE_ECONFLICT) {
				/* another write won: this one is read and checked again */
				if (load_entry(c, &qs[i]) == 0)
					conflict = true;
			} else if (w) {
				err = w;
				api_fail(c->out, 500, "InternalError",
					 "Internal error occurred: resourcequota %s: %s",
					 qs[i].name, store_strerror(w));
			}
		}
		if (!conflict)
			goto out;
	}
	if (!err && n && !c->dry_run) {
		/* every retry lost the race: as the plugin answers, the last conflict */
		api_fail_conflict(c->out, quota_res(), n ? qs[0].name : NULL);
		err = -STORE_ECONFLICT;
	}
out:
	pthread_mutex_unlock(lock);
	free(qs);
	return err;
}
