/* SPDX-License-Identifier: Apache-2.0 */
/*
 * resourcequota: kube-controller-manager's resourcequota controller
 * (pkg/controller/resourcequota/resource_quota_controller.go, syncResourceQuota). Each quota's
 * status gets hard (its spec.hard) and used: what the namespace's objects use of every
 * resource hard names, counted by the evaluators the API's admission uses too
 * (engines/api_quota.h: pods' compute requests and limits, services' node ports and load
 * balancers, claims' storage, count/<resource> of any served kind), among the objects the
 * quota's scopes select. The API's admission charges a create to status.used as it admits
 * it; this controller recounts: when a quota is made or its spec.hard changes, when usage is
 * released (an object deleted, a pod finished, a service's type changed: "replenishment"),
 * and every five minutes (--resource-quota-sync-period's default). A status is written only
 * when it changed, with the resourceVersion it was computed from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_quota.h"
#include "ctrl.h"
#include "log.h"

#define COMP	  "resourcequota-controller"
#define RESYNC_MS (5 * 60 * 1000)
#define NWATCHED  6

struct rq_ctrl;

/* A kind whose changes release quota usage. */
struct rq_watched {
	struct rq_ctrl *s;
	const struct k8s_kind *k;
	struct kc_informer *inf;
};

struct rq_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *rq;
	struct rq_watched w[NWATCHED];
	struct kc_queue *q;
	struct kc_workers *wk;
	const struct k8s_kind **served;
	size_t nserved;
};

/* ---- triggers ---- */

static void enqueue_obj(struct rq_ctrl *s, const struct jv *t)
{
	char key[512];

	if (kc_key_of(t, key, sizeof(key)))
		kc_queue_add(s->q, key);
}

static void rq_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	enqueue_obj(arg, t);
}

static bool hard_equal(const struct jv *a, const struct jv *b)
{
	struct api_rlist la, lb;

	if (api_rlist_parse(a, &la) != 0 || api_rlist_parse(b, &lb) != 0)
		return jv_equal(a, b);
	return api_rlist_equal(&la, &lb);
}

/* Only a change of spec.hard asks for a recount: status changes are this controller's and
 * the admission's. */
static void rq_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)cur;
	if (!old_t || !hard_equal(jv_path(old_t, "spec.hard"), jv_path(cur_t, "spec.hard")))
		enqueue_obj(arg, cur_t);
}

/* Recount the quotas of ns that track what kind k uses (replenishQuota). */
static void replenish(struct rq_watched *w, const struct jv *obj)
{
	const char *ns = jv_path_str(obj, "metadata.namespace");
	struct kc_obj **qs = NULL;
	struct jv_doc *d;
	size_t n = 0;

	if (!ns || kc_informer_list(w->s->rq, "namespace", ns, &qs, &n) != 0)
		return;
	d = jv_doc_new();
	for (size_t i = 0; d && i < n; i++) {
		struct jv *q = kc_obj_parse(qs[i], d);

		for (const struct jv *h = jv_first(jv_path(q, "status.hard")); h; h = h->next)
			if (api_quota_tracks(w->k->group, w->k->resource, h->key)) {
				enqueue_obj(w->s, q);
				break;
			}
	}
	jv_doc_free(d);
	kc_objs_free(qs, n);
}

static void watched_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	replenish(arg, t);
}

/* Has ns a quota at all? (Most namespaces have none: their objects' updates cost nothing.) */
static bool has_quota(struct rq_ctrl *s, const char *ns)
{
	struct kc_obj **qs = NULL;
	size_t n = 0;

	if (!ns || kc_informer_list(s->rq, "namespace", ns, &qs, &n) != 0)
		return false;
	kc_objs_free(qs, n);
	return n > 0;
}

/* An update that releases usage: a pod that stops counting (finished), a service whose type
 * changed, a claim whose request changed. */
static void watched_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			   const struct kc_obj *cur, const struct jv *cur_t)
{
	struct rq_watched *w = arg;
	struct api_rlist a, b;
	int64_t now = ctrl_now();

	(void)old;
	(void)cur;
	if (!old_t || !has_quota(w->s, jv_path_str(cur_t, "metadata.namespace")))
		return;
	if (api_quota_usage(w->k->group, w->k->resource, old_t, now, &a) != 0 ||
	    api_quota_usage(w->k->group, w->k->resource, cur_t, now, &b) != 0 ||
	    !api_rlist_equal(&a, &b))
		replenish(w, cur_t);
}

/* ---- the count ---- */

/* The served kind that count/<resource>[.<group>] names, or NULL. */
static const struct k8s_kind *count_kind(struct rq_ctrl *s, const char *name)
{
	char res[128], *group;

	if (strncmp(name, "count/", 6) != 0)
		return NULL;
	snprintf(res, sizeof(res), "%s", name + 6);
	group = strchr(res, '.');
	if (group)
		*group++ = 0;
	for (size_t i = 0; i < s->nserved; i++) {
		const struct k8s_kind *k = s->served[i];

		if (!strcmp(k->resource, res) && !strcmp(k->group, group ? group : "") &&
		    ctrl_kind_preferred((const struct k8s_kind *const *)s->served, s->nserved, k))
			return k;
	}
	return NULL;
}

/* The objects of k in ns, from the informer when one watches k, else a list. */
static int objects_of(struct rq_ctrl *s, const struct k8s_kind *k, const char *ns,
		      struct kc_obj ***out, size_t *n)
{
	struct kc_list l = {0};
	struct kc_status st;
	int err;

	for (size_t i = 0; i < NWATCHED; i++)
		if (s->w[i].k == k && s->w[i].inf)
			return kc_informer_list(s->w[i].inf, "namespace", ns, out, n);
	err = kc_list(s->c->kc, k, ns, NULL, &l, &st);
	if (err)
		return err;
	*out = l.items;
	*n = l.count;
	l.items = NULL;
	l.count = 0;
	kc_list_free(&l);
	return 0;
}

/* CalculateUsage: what the namespace's objects that the quota selects use of the resources
 * hard names, for every kind that uses any. */
static int calculate(struct rq_ctrl *s, const struct jv *quota, const char *ns,
		     const struct api_rlist *hard, struct api_rlist *out)
{
	const struct k8s_kind *kinds[API_RLIST_MAX + NWATCHED];
	struct jv_doc *d = jv_doc_new();
	int64_t now = ctrl_now();
	size_t nk = 0;
	int err = 0;

	if (!d)
		return -ENOMEM;
	out->n = 0;
	for (size_t i = 0; i < NWATCHED; i++)
		if (s->w[i].k)
			kinds[nk++] = s->w[i].k;
	for (size_t i = 0; i < hard->n; i++) {
		const struct k8s_kind *k = count_kind(s, hard->it[i].name);
		bool have = false;

		for (size_t j = 0; j < nk && k; j++)
			have |= kinds[j] == k;
		if (k && !have)
			kinds[nk++] = k;
	}
	for (size_t ki = 0; ki < nk && !err; ki++) {
		const struct k8s_kind *k = kinds[ki];
		struct api_rlist tracked = {0};
		struct kc_obj **objs = NULL;
		size_t n = 0;

		for (size_t i = 0; i < hard->n; i++)
			if (api_quota_tracks(k->group, k->resource, hard->it[i].name))
				api_rlist_add(&tracked, hard->it[i].name, 0, false);
		if (!tracked.n)
			continue;
		/* every tracked resource is reported, 0 when nothing uses it */
		err = api_rlist_sum(out, &tracked);
		if (!err)
			err = objects_of(s, k, ns, &objs, &n);
		for (size_t i = 0; i < n && !err; i++) {
			struct jv *o = kc_obj_parse(objs[i], d);
			struct api_rlist u;

			if (!o || !api_quota_scopes_match(quota, k->group, k->resource, o))
				continue;
			err = api_quota_usage(k->group, k->resource, o, now, &u);
			if (!err) {
				api_rlist_mask(&u, &tracked);
				err = api_rlist_sum(out, &u);
			}
		}
		kc_objs_free(objs, n);
	}
	jv_doc_free(d);
	return err;
}

static int sync_quota(void *arg, const char *key)
{
	struct rq_ctrl *s = arg;
	char buf[512], *ns, *name;
	struct kc_obj *o;
	struct jv_doc *d;
	struct jv *q, *st;
	struct api_rlist hard, shard, used, fresh;
	struct kc_status kst;
	bool dirty;
	int err;

	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	o = kc_informer_get(s->rq, ns, name);
	if (!o)
		return 0; /* gone */
	d = jv_doc_new();
	q = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	if (!q) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	if (api_rlist_parse(jv_path(q, "spec.hard"), &hard) != 0 ||
	    api_rlist_parse(jv_path(q, "status.hard"), &shard) != 0 ||
	    api_rlist_parse(jv_path(q, "status.used"), &used) != 0) {
		log_warn(COMP, "resourcequota %s: a quantity that does not parse", key);
		jv_doc_free(d);
		return 0;
	}
	dirty = !api_rlist_equal(&hard, &shard) || !jv_path(q, "status.hard") ||
		!jv_path(q, "status.used");
	err = calculate(s, q, ns, &hard, &fresh);
	if (err) {
		jv_doc_free(d);
		return err;
	}
	/* the new counts replace the old; what hard no longer names goes */
	{
		struct api_rlist prev = used;

		for (size_t i = 0; i < fresh.n; i++) {
			struct api_rq *u = (struct api_rq *)api_rlist_get(&used, fresh.it[i].name);

			if (u)
				*u = fresh.it[i];
			else
				api_rlist_add(&used, fresh.it[i].name, fresh.it[i].milli,
					      fresh.it[i].binary);
		}
		api_rlist_mask(&used, &hard);
		dirty = dirty || !api_rlist_equal(&used, &prev);
	}
	if (dirty) {
		st = jv_new(d, JV_OBJECT);
		jv_set(d, st, "hard", api_rlist_jv(d, &hard));
		jv_set(d, st, "used", api_rlist_jv(d, &used));
		jv_set(d, q, "status", st);
		err = kc_update(s->c->kc, ctrl_k_resourcequota, ns, "status", q, NULL, NULL, &kst);
		if (err == -ENOENT)
			err = 0;
		if (err && err != -KC_ECONFLICT)
			log_warn(COMP, "resourcequota %s: %s", key,
				 kst.message[0] ? kst.message : kc_strerror(err));
	}
	if (!err)
		kc_queue_add_after(s->q, key, RESYNC_MS); /* the periodic full recount */
	jv_doc_free(d);
	return err;
}

/* ---- lifecycle ---- */

static int rq_init(struct ctrl_ctx *c, void **state)
{
	struct rq_ctrl *s = calloc(1, sizeof(*s));
	const struct k8s_kind *watched[NWATCHED] = {ctrl_k_pod,
						    ctrl_k_service,
						    ctrl_k_pvc,
						    k8s_kind_find("v1", "ConfigMap"),
						    k8s_kind_find("v1", "Secret"),
						    ctrl_k_resourcequota};
	struct kc_handlers qh = {.add = rq_add, .update = rq_update};
	int err;

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->q = kc_queue_new("resourcequota_primary");
	s->rq = ctrl_informer(c, ctrl_k_resourcequota);
	if (!s->q || !s->rq)
		return -ENOMEM;
	qh.arg = s;
	if (kc_informer_add_handlers(s->rq, &qh) != 0)
		return -ENOMEM;
	err = ctrl_served_kinds(c, &s->served, &s->nserved);
	if (err)
		return err;
	for (size_t i = 0; i < NWATCHED; i++) {
		struct kc_handlers h = {.update = watched_update, .del = watched_del};

		if (!watched[i] ||
		    !ctrl_kind_served((const struct k8s_kind *const *)s->served, s->nserved,
				      watched[i]->api_version, watched[i]->kind))
			continue; /* not served here: nothing uses it */
		s->w[i] = (struct rq_watched){.s = s, .k = watched[i]};
		s->w[i].inf = ctrl_informer(c, watched[i]);
		h.arg = &s->w[i];
		if (!s->w[i].inf || kc_informer_add_handlers(s->w[i].inf, &h) != 0)
			return -ENOMEM;
	}
	return 0;
}

static int rq_run(void *state)
{
	struct rq_ctrl *s = state;

	s->wk = kc_workers_start(s->q, s->c->cfg->workers, sync_quota, s, "resourcequota");
	return s->wk ? 0 : -ENOMEM;
}

static void rq_stop(void *state)
{
	struct rq_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->wk, s->q);
	free(s->served);
	free(s);
}

const struct ctrl_desc ctrl_resourcequota = {
    .name = "resourcequota",
    .component = "resourcequota-controller",
    .init = rq_init,
    .run = rq_run,
    .stop = rq_stop,
};
