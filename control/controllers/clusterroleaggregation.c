/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clusterroleaggregation: kube-controller-manager's clusterrole-aggregation controller
 * (pkg/controller/clusterroleaggregation): a ClusterRole with an aggregationRule gets as its
 * rules those of every other ClusterRole one of its clusterRoleSelectors selects, in the
 * order met, each rule once (semantic equality), written when they differ from what it has.
 * Any ClusterRole change looks at every aggregated ClusterRole again (its enqueueAll).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "podctl.h"

#define COMP "clusterrole-aggregation-controller"

struct agg_ctrl {
	struct ctrl_ctx *c;
	const struct k8s_kind *k;
	struct kc_informer *roles;
	struct kc_queue *q;
	struct kc_workers *w;
};

static void enqueue_all(struct agg_ctrl *a)
{
	struct kc_obj **objs = NULL;
	size_t n = 0;

	if (kc_informer_list(a->roles, NULL, NULL, &objs, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *r = d ? kc_obj_parse(objs[i], d) : NULL;

		if (r && jv_path(r, "aggregationRule") && jv_path_str(r, "metadata.name"))
			kc_queue_add(a->q, jv_path_str(r, "metadata.name"));
		jv_doc_free(d);
	}
	kc_objs_free(objs, n);
}

static void role_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	(void)t;
	enqueue_all(arg);
}

static void role_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	(void)cur;
	(void)cur_t;
	enqueue_all(arg);
}

static bool selected(const struct jv *agg, const struct jv *role)
{
	const struct jv *labels = jv_path(role, "metadata.labels");

	for (const struct jv *s = jv_first(jv_path(agg, "aggregationRule.clusterRoleSelectors")); s;
	     s = s->next)
		if (ctrl_selector_matches(s, labels))
			return true;
	return false;
}

static void add_rules(struct jv_doc *d, struct jv *rules, const struct jv *role)
{
	for (const struct jv *r = jv_first(jv_get(role, "rules")); r; r = r->next) {
		bool have = false;

		for (const struct jv *h = jv_first(rules); h && !have; h = h->next)
			have = jv_equal(h, r);
		if (!have)
			jv_push(rules, jv_copy(d, r));
	}
}

static int sync_role(void *arg, const char *name)
{
	struct agg_ctrl *a = arg;
	struct jv_doc *d = jv_doc_new();
	struct kc_obj **objs = NULL;
	struct kc_status st = {0};
	struct jv *role, *rules, *patch;
	size_t n = 0, len;
	char *json = NULL;
	int err = 0;

	if (!d)
		return -ENOMEM;
	role = ctrl_cached(a->roles, NULL, name, d);
	if (!role || !jv_path(role, "aggregationRule"))
		goto out;
	rules = jv_new(d, JV_ARRAY);
	if (kc_informer_list(a->roles, NULL, NULL, &objs, &n) != 0) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct jv *r = kc_obj_parse(objs[i], d);

		if (r && !jv_is_str(jv_path(r, "metadata.name"), name) && selected(role, r))
			add_rules(d, rules, r);
	}
	if (jv_equal(rules, jv_get(role, "rules")) ||
	    (!jv_count(rules) && !jv_count(jv_get(role, "rules"))))
		goto out;
	patch = jv_new(d, JV_OBJECT);
	jv_set(d, patch, "rules", rules);
	json = jv_to_json(patch, &len);
	if (!json) {
		err = -ENOMEM;
		goto out;
	}
	err =
	    kc_patch(a->c->kc, a->k, NULL, name, NULL, KC_PATCH_MERGE, json, len, NULL, NULL, &st);
	if (err == -ENOENT)
		err = 0;
	else if (err)
		log_warn(COMP, "clusterrole %s: %s", name, st.message);
	else
		log_info(COMP, "clusterrole %s: %zu aggregated rules", name, jv_count(rules));
out:
	free(json);
	kc_objs_free(objs, n);
	jv_doc_free(d);
	return err;
}

static int agg_init(struct ctrl_ctx *c, void **state)
{
	struct agg_ctrl *a = calloc(1, sizeof(*a));
	struct kc_handlers h = {.add = role_add, .update = role_update, .del = role_add};

	*state = a;
	if (!a)
		return -ENOMEM;
	a->c = c;
	a->k = k8s_kind_find("rbac.authorization.k8s.io/v1", "ClusterRole");
	a->q = kc_queue_new("clusterrole-aggregation");
	a->roles = a->k ? ctrl_informer(c, a->k) : NULL;
	if (!a->q || !a->roles)
		return -ENOMEM;
	h.arg = a;
	return kc_informer_add_handlers(a->roles, &h);
}

static int agg_run(void *state)
{
	struct agg_ctrl *a = state;

	a->w = kc_workers_start(a->q, 1, sync_role, a, "clusterrole-aggregation");
	return a->w ? 0 : -ENOMEM;
}

static void agg_quiesce(void *state)
{
	struct agg_ctrl *a = state;

	if (a)
		ctrl_queue_quiesce(&a->w, a->q);
}

static void agg_stop(void *state)
{
	struct agg_ctrl *a = state;

	if (!a)
		return;
	agg_quiesce(a);
	kc_queue_free(a->q);
	free(a);
}

const struct ctrl_desc ctrl_clusterrole_aggregation = {
    .name = "clusterrole-aggregation",
    .component = "clusterrole-aggregation-controller",
    .init = agg_init,
    .run = agg_run,
    .stop = agg_stop,
    .quiesce = agg_quiesce,
};
