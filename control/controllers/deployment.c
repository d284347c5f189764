/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deployment: kube-controller-manager's Deployment controller (pkg/controller/deployment):
 * informer handlers, the sync dispatcher (selector check, claiming ReplicaSets, paused and
 * scaling events, then the strategy), the new ReplicaSet (named "<deployment>-<pod-template-
 * hash>", with the revision and replica annotations, hash collisions counted in
 * status.collisionCount), ReplicaSet scaling with its ScalingReplicaSet Event, and the
 * Deployment's writes. The rollouts are in deployment_rollout.c, kube's deploymentutil in
 * deployment_util.c.
 *
 * One difference in how, not what: kube writes the revision annotation of the Deployment
 * with its status update (apps' status strategy keeps annotation changes); drover's status
 * subresource keeps metadata as stored, so the annotation goes in a metadata merge patch of
 * the Deployment just before the status update.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deployment.h"
#include "log.h"

#define COMP "deployment-controller"

/* ---- event handlers ---- */

static void enqueue_name(struct dp_ctrl *s, const char *ns, const char *name)
{
	char key[512];

	if (!ns || !name)
		return;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	kc_queue_add(s->q, key);
}

/* The Deployment a controller reference names, if it exists with that uid; its strategy's
 * type into *recreate (may be NULL). */
static bool resolve_dep(struct dp_ctrl *s, const char *ns, const struct jv *ref, bool *recreate)
{
	struct jv_doc *d = jv_doc_new();
	const struct jv *t = d ? ctrl_resolve_ref(s->dps, ns, ref, "Deployment", d) : NULL;

	if (t && recreate)
		*recreate = !dp_is_rolling(t);
	jv_doc_free(d);
	return t != NULL;
}

static void dep_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	enqueue_name(arg, jv_path_str(t, "metadata.namespace"), jv_path_str(t, "metadata.name"));
}

static void dep_update(void *arg, const struct kc_obj *oo, const struct jv *old,
		       const struct kc_obj *co, const struct jv *cur)
{
	(void)oo;
	(void)old;
	dep_add(arg, co, cur);
}

static void rs_enqueue_owner(struct dp_ctrl *s, const struct jv *rs)
{
	const struct jv *ref = ctrl_controller_ref(rs);
	const char *ns = jv_path_str(rs, "metadata.namespace");

	if (ref && resolve_dep(s, ns, ref, NULL))
		enqueue_name(s, ns, jv_path_str(ref, "name"));
}

static void rs_add(void *arg, const struct kc_obj *o, const struct jv *rs)
{
	(void)o;
	if (ctrl_controller_ref(rs) || jv_path(rs, "metadata.deletionTimestamp"))
		rs_enqueue_owner(arg, rs);
	else
		ctrl_enqueue_selecting(((struct dp_ctrl *)arg)->dps, ((struct dp_ctrl *)arg)->q,
				       rs);
}

static void rs_update(void *arg, const struct kc_obj *oo, const struct jv *old,
		      const struct kc_obj *co, const struct jv *cur)
{
	struct dp_ctrl *s = arg;
	const struct jv *cref = ctrl_controller_ref(cur),
			*oref = old ? ctrl_controller_ref(old) : NULL;
	bool ref_changed =
	    !(cref && oref ? jv_equal(jv_get(cref, "uid"), jv_get(oref, "uid")) : cref == oref);

	if (oo && co && oo->rv == co->rv)
		return;
	if (old && ref_changed && oref)
		rs_enqueue_owner(s, old);
	if (cref) {
		rs_enqueue_owner(s, cur);
		return;
	}
	if (!old || ref_changed ||
	    !jv_equal(jv_path(old, "metadata.labels"), jv_path(cur, "metadata.labels")))
		ctrl_enqueue_selecting(s->dps, s->q, cur);
}

static void rs_del(void *arg, const struct kc_obj *o, const struct jv *rs)
{
	(void)o;
	rs_enqueue_owner(arg, rs);
}

/* A pod gone: a Recreate Deployment waits for its old pods to be gone. */
static void pod_del(void *arg, const struct kc_obj *o, const struct jv *pod)
{
	struct dp_ctrl *s = arg;
	const struct jv *ref = ctrl_controller_ref(pod);
	const char *ns = jv_path_str(pod, "metadata.namespace");
	struct kc_obj *rso;
	struct jv_doc *d;
	struct jv *rs;
	const struct jv *dref;
	bool recreate = false;

	(void)o;
	if (!ref || !ns || !jv_is_str(jv_get(ref, "kind"), "ReplicaSet"))
		return;
	rso = kc_informer_get(s->rss, ns, jv_path_str(ref, "name"));
	if (!rso)
		return;
	d = jv_doc_new();
	rs = d ? kc_obj_parse(rso, d) : NULL;
	kc_obj_put(rso);
	dref = rs ? ctrl_controller_ref(rs) : NULL;
	if (dref && resolve_dep(s, ns, dref, &recreate) && recreate)
		enqueue_name(s, ns, jv_path_str(dref, "name"));
	jv_doc_free(d);
}

/* ---- writes ---- */

void dp_rs_load(struct dp_rs *r, struct jv *t)
{
	r->t = t;
	r->name = jv_path_str(t, "metadata.name") ?: "";
	r->uid = jv_path_str(t, "metadata.uid") ?: "";
	if (jv_path_int(t, "spec.replicas", &r->replicas) != 0)
		r->replicas = 1;
	r->st_replicas = r->st_ready = r->st_avail = 0;
	jv_path_int(t, "status.replicas", &r->st_replicas);
	jv_path_int(t, "status.readyReplicas", &r->st_ready);
	jv_path_int(t, "status.availableReplicas", &r->st_avail);
	r->created = ctrl_parse_time(jv_path_str(t, "metadata.creationTimestamp"));
	r->deleting = jv_path(t, "metadata.deletionTimestamp") != NULL;
}

/* Take the resourceVersion of what the server returned. */
static void take_rv(struct dp_sync *y, struct kc_obj *out)
{
	struct jv *t = out ? kc_obj_parse(out, y->d) : NULL;
	const char *rv = jv_path_str(t, "metadata.resourceVersion");

	if (rv)
		jv_set(y->d, jv_obj_at(y->d, y->dep, "metadata"), "resourceVersion",
		       jv_new_strz(y->d, rv));
}

int dp_write_status(struct dp_sync *y)
{
	struct kc_obj *out = NULL;
	struct kc_status st;
	int err =
	    kc_update(y->s->c->kc, ctrl_k_deployment, y->ns, "status", y->dep, NULL, &out, &st);

	if (err == 0)
		take_rv(y, out);
	else if (err != -KC_ECONFLICT && err != -ENOENT)
		log_info(COMP, "%s: status: %s", y->key, st.message);
	kc_obj_put(out);
	return err;
}

/* kube's SetDeploymentRevision, written at once (see the file's comment). */
static int write_revision(struct dp_sync *y, const char *rev)
{
	struct kc_obj *out = NULL;
	struct kc_status st;
	const char *cur = dp_annotation(y->dep, DP_REVISION);
	char patch[256];
	int err;

	if (!rev || (cur && strcmp(cur, rev) == 0))
		return 0;
	snprintf(patch, sizeof(patch), "{\"metadata\":{\"annotations\":{\"%s\":\"%s\"}}}",
		 DP_REVISION, rev);
	/* through /status, as kube's controller writes it (UpdateStatus): the annotation does not
	 * bump the generation there */
	err = kc_patch(y->s->c->kc, ctrl_k_deployment, y->ns, jv_path_str(y->dep, "metadata.name"),
		       "status", KC_PATCH_MERGE, patch, strlen(patch), NULL, &out, &st);
	if (err == 0) {
		dp_set_annotation(y->d, y->dep, DP_REVISION, rev);
		take_rv(y, out);
	}
	kc_obj_put(out);
	return err;
}

static int update_rs(struct dp_sync *y, struct dp_rs *r, struct jv *t)
{
	struct kc_obj *out = NULL;
	struct kc_status st;
	struct jv *nt;
	int err = kc_update(y->s->c->kc, ctrl_k_replicaset, y->ns, NULL, t, NULL, &out, &st);

	if (err) {
		if (err != -KC_ECONFLICT && err != -ENOENT)
			log_info(COMP, "%s: replica set %s: %s", y->key, r->name, st.message);
		return err;
	}
	nt = ctrl_obj_tree(out, y->d, ctrl_k_replicaset);
	kc_obj_put(out);
	if (!nt)
		return -ENOMEM;
	dp_rs_load(r, nt);
	return 0;
}

int dp_scale_rs_op(struct dp_sync *y, struct dp_rs *rs, int64_t n, const char *op, bool *scaled)
{
	int64_t want = y->replicas, max = y->replicas + dp_max_surge(y->dep), old = rs->replicas;
	bool size = rs->replicas != n;
	struct jv *t;
	int err;

	if (scaled)
		*scaled = false;
	if (!size && !dp_replicas_annotations_need_update(rs->t, want, max))
		return 0;
	t = jv_copy(y->d, rs->t);
	if (!t)
		return -ENOMEM;
	jv_set(y->d, jv_obj_at(y->d, t, "spec"), "replicas", jv_new_int(y->d, n));
	dp_set_replicas_annotations(y->d, t, want, max);
	err = update_rs(y, rs, t);
	if (err == 0 && size) {
		if (scaled)
			*scaled = true;
		kc_event(y->s->c->rec, y->dep, "Normal", "ScalingReplicaSet",
			 "Scaled %s replica set %s to %lld from %lld", op, rs->name, (long long)n,
			 (long long)old);
	}
	return err;
}

int dp_scale_rs(struct dp_sync *y, struct dp_rs *rs, int64_t n, bool *scaled)
{
	if (rs->replicas == n) {
		if (scaled)
			*scaled = false;
		return 0;
	}
	return dp_scale_rs_op(y, rs, n, rs->replicas < n ? "up" : "down", scaled);
}

/* ---- the new ReplicaSet ---- */

static int64_t min_ready(const struct jv *o)
{
	int64_t v = 0;

	jv_path_int(o, "spec.minReadySeconds", &v);
	return v;
}

static int sync_existing(struct dp_sync *y, struct dp_rs *nrs, const char *new_rev)
{
	struct jv *t = jv_copy(y->d, nrs->t);
	int64_t secs;
	bool ann, needs = false;
	int err;

	if (!t)
		return -ENOMEM;
	ann = dp_set_new_rs_annotations(y->d, y->dep, t, new_rev, true);
	if (ann || min_ready(t) != min_ready(y->dep)) {
		jv_set(y->d, jv_obj_at(y->d, t, "spec"), "minReadySeconds",
		       jv_new_int(y->d, min_ready(y->dep)));
		return update_rs(y, nrs, t);
	}
	err = write_revision(y, dp_annotation(nrs->t, DP_REVISION));
	if (err)
		return err;
	if (dp_progress_deadline(y->dep, &secs) &&
	    !dp_condition(jv_get(y->dep, "status"), "Progressing")) {
		char msg[512];

		snprintf(msg, sizeof(msg), "Found new replica set \"%s\"", nrs->name);
		dp_set_condition(y->d, jv_obj_at(y->d, y->dep, "status"), "Progressing", "True",
				 DP_R_FOUND_NEW_RS, msg);
		needs = true;
	}
	return needs ? dp_write_status(y) : 0;
}

/* kube's NewRSNewReplicas for a ReplicaSet about to be made */
static int new_rs_replicas(struct dp_sync *y, int64_t *out)
{
	int64_t surge;

	if (!dp_is_rolling(y->dep)) {
		*out = y->replicas;
		return 0;
	}
	if (dp_scaled_value(jv_path(y->dep, "spec.strategy.rollingUpdate.maxSurge"), y->replicas,
			    true, &surge) != 0)
		return -EINVAL;
	{
		int64_t cur = dp_sum_pods(y->old, y->nold), max = y->replicas + surge, up;

		if (cur >= max) {
			*out = 0;
			return 0;
		}
		up = max - cur;
		*out = up < y->replicas ? up : y->replicas;
	}
	return 0;
}

static struct jv *new_rs_tree(struct dp_sync *y, const char *hash, int64_t replicas,
			      const char *rev)
{
	struct jv_doc *d = y->d;
	struct jv *rs = jv_new(d, JV_OBJECT), *md = jv_new(d, JV_OBJECT),
		  *spec = jv_new(d, JV_OBJECT);
	struct jv *tmpl = jv_copy(d, jv_path(y->dep, "spec.template"));
	struct jv *sel = jv_copy(d, jv_path(y->dep, "spec.selector")), *refs = jv_new(d, JV_ARRAY);
	struct jv *labels;

	if (!rs || !md || !spec || !tmpl || !sel || !refs)
		return NULL;
	labels = jv_obj_at(d, jv_obj_at(d, tmpl, "metadata"), "labels");
	jv_set(d, labels, DP_HASH_LABEL, jv_new_strz(d, hash));
	jv_set(d, jv_obj_at(d, sel, "matchLabels"), DP_HASH_LABEL, jv_new_strz(d, hash));
	jv_set(d, rs, "apiVersion", jv_new_strz(d, "apps/v1"));
	jv_set(d, rs, "kind", jv_new_strz(d, "ReplicaSet"));
	jv_set(d, rs, "metadata", md);
	jv_set(d, md, "name", jv_new_strf(d, "%s-%s", jv_path_str(y->dep, "metadata.name"), hash));
	jv_set(d, md, "namespace", jv_new_strz(d, y->ns));
	jv_set(d, md, "labels", jv_copy(d, labels));
	jv_push(refs, ctrl_owner_ref(d, y->dep, ctrl_k_deployment));
	jv_set(d, md, "ownerReferences", refs);
	jv_set(d, rs, "spec", spec);
	jv_set(d, spec, "replicas", jv_new_int(d, replicas));
	jv_set(d, spec, "minReadySeconds", jv_new_int(d, min_ready(y->dep)));
	jv_set(d, spec, "selector", sel);
	jv_set(d, spec, "template", tmpl);
	dp_set_new_rs_annotations(d, y->dep, rs, rev, false);
	return rs;
}

static int add_rs(struct dp_sync *y, struct jv *t, struct dp_rs **out)
{
	struct dp_rs *r = jv_alloc(y->d, sizeof(*r));
	struct dp_rs **v = realloc(y->rss, (y->nrss + 1) * sizeof(*v));

	if (v)
		y->rss = v;
	if (!r || !v)
		return -ENOMEM;
	dp_rs_load(r, t);
	v[y->nrss++] = r;
	*out = r;
	return 0;
}

static int create_new_rs(struct dp_sync *y, const char *new_rev)
{
	struct jv *st = jv_obj_at(y->d, y->dep, "status");
	int64_t coll, replicas, secs;
	bool has_coll = jv_path_int(st, "collisionCount", &coll) == 0, exists = false;
	struct kc_obj *out = NULL;
	struct kc_status kst = {0};
	struct jv *rs, *created;
	char hash[16], msg[1536];
	bool needs;
	int err;

	dp_template_hash(jv_path(y->dep, "spec.template"), has_coll ? &coll : NULL, hash);
	err = new_rs_replicas(y, &replicas);
	if (err)
		return err;
	rs = new_rs_tree(y, hash, replicas, new_rev);
	if (!rs)
		return -ENOMEM;
	err = kc_create(y->s->c->kc, ctrl_k_replicaset, y->ns, rs, NULL, &out, &kst);
	if (err == -EEXIST) {
		/* a slow cache, or a hash collision */
		struct kc_obj *o =
		    kc_informer_get(y->s->rss, y->ns, jv_path_str(rs, "metadata.name"));
		struct jv *have = o ? ctrl_obj_tree(o, y->d, ctrl_k_replicaset) : NULL;

		kc_obj_put(o);
		if (!have)
			return err;
		if (ctrl_controlled_by(have, jv_path_str(y->dep, "metadata.uid")) &&
		    dp_equal_ignore_hash(jv_path(y->dep, "spec.template"),
					 jv_path(have, "spec.template"))) {
			created = have;
			exists = true;
		} else {
			jv_set(y->d, st, "collisionCount",
			       jv_new_int(y->d, has_coll ? coll + 1 : 1));
			dp_write_status(y);
			return err;
		}
	} else if (ctrl_ns_terminating(err, &kst)) {
		return err;
	} else if (err) {
		snprintf(msg, sizeof(msg), "Failed to create new replica set \"%s\": %s",
			 jv_path_str(rs, "metadata.name"), kst.message);
		if (dp_progress_deadline(y->dep, &secs)) {
			dp_set_condition(y->d, st, "Progressing", "False", DP_R_FAILED_RS_CREATE,
					 msg);
			dp_write_status(y);
		}
		kc_event(y->s->c->rec, y->dep, "Warning", DP_R_FAILED_RS_CREATE, "%s", msg);
		return err;
	} else {
		created = ctrl_obj_tree(out, y->d, ctrl_k_replicaset);
		kc_obj_put(out);
		if (!created)
			return -ENOMEM;
	}
	err = add_rs(y, created, &y->new_rs);
	if (err)
		return err;
	if (!exists && replicas > 0)
		kc_event(y->s->c->rec, y->dep, "Normal", "ScalingReplicaSet",
			 "Scaled up replica set %s to %lld", y->new_rs->name, (long long)replicas);
	needs = !dp_annotation(y->dep, DP_REVISION) ||
		strcmp(dp_annotation(y->dep, DP_REVISION), new_rev) != 0;
	err = write_revision(y, new_rev);
	if (err)
		return err;
	if (!exists && dp_progress_deadline(y->dep, &secs)) {
		snprintf(msg, sizeof(msg), "Created new replica set \"%s\"", y->new_rs->name);
		dp_set_condition(y->d, st, "Progressing", "True", DP_R_NEW_RS, msg);
		needs = true;
	}
	return needs ? dp_write_status(y) : 0;
}

int dp_sync_revision(struct dp_sync *y, bool create)
{
	struct dp_rs **sorted = malloc((y->nrss + 1) * sizeof(*sorted));
	int64_t max_rev = 0;
	char rev[24];

	if (!sorted)
		return -ENOMEM;
	if (y->nrss)
		memcpy(sorted, y->rss, y->nrss * sizeof(*sorted));
	dp_sort_created(sorted, y->nrss, false);
	y->new_rs = NULL;
	for (size_t i = 0; i < y->nrss && !y->new_rs; i++)
		if (dp_equal_ignore_hash(jv_path(sorted[i]->t, "spec.template"),
					 jv_path(y->dep, "spec.template")))
			y->new_rs = sorted[i];
	free(sorted);
	free(y->old);
	y->old = malloc((y->nrss + 1) * sizeof(*y->old));
	if (!y->old)
		return -ENOMEM;
	y->nold = 0;
	for (size_t i = 0; i < y->nrss; i++)
		if (y->rss[i] != y->new_rs) {
			int64_t r = dp_revision(y->rss[i]->t);

			y->old[y->nold++] = y->rss[i];
			if (r > max_rev)
				max_rev = r;
		}
	snprintf(rev, sizeof(rev), "%lld", (long long)max_rev + 1);
	if (y->new_rs)
		return sync_existing(y, y->new_rs, rev);
	if (!create)
		return 0;
	return create_new_rs(y, rev);
}

/* ---- sync ---- */

/* kube's getReplicaSetsForDeployment (ClaimReplicaSets): the ReplicaSets it controls and
 * orphans its selector matches (adopted, after a recheck of the Deployment on the server),
 * less those it no longer matches (released); another controller's are left alone. */
static int claim_rss(struct dp_sync *y)
{
	size_t n = 0;
	int err = 0;
	struct jv **rss = ctrl_claim(y->s->c, y->s->rss, ctrl_k_replicaset, y->dep,
				     ctrl_k_deployment, NULL, y->d, &n, &err);
	struct dp_rs *r;

	for (size_t i = 0; rss && !err && i < n; i++)
		err = add_rs(y, rss[i], &r);
	return err;
}

/* kube's checkPausedConditions */
static int paused_conditions(struct dp_sync *y)
{
	struct jv *st = jv_obj_at(y->d, y->dep, "status");
	struct jv *cond = dp_condition(st, "Progressing");
	bool paused =
	    jv_path(y->dep, "spec.paused") && jv_path(y->dep, "spec.paused")->type == JV_TRUE;
	bool paused_cond = cond && jv_is_str(jv_get(cond, "reason"), DP_R_PAUSED);

	if (!dp_progress_deadline(y->dep, NULL))
		return 0;
	if (cond && jv_is_str(jv_get(cond, "reason"), DP_R_TIMED_OUT))
		return 0;
	if (paused && !paused_cond)
		dp_set_condition(y->d, st, "Progressing", "Unknown", DP_R_PAUSED,
				 "Deployment is paused");
	else if (!paused && paused_cond)
		dp_set_condition(y->d, st, "Progressing", "Unknown", DP_R_RESUMED,
				 "Deployment is resumed");
	else
		return 0;
	return dp_write_status(y);
}

/* kube's isScalingEvent: an active ReplicaSet annotated with another desired size */
static int scaling_event(struct dp_sync *y, bool *yes)
{
	int err = dp_sync_revision(y, false);

	*yes = false;
	for (size_t i = 0; !err && i < y->nrss; i++) {
		const char *a = dp_annotation(y->rss[i]->t, DP_DESIRED);
		char *end;
		long long v;

		if (y->rss[i]->replicas <= 0 || !a)
			continue;
		v = strtoll(a, &end, 10);
		if (*end || end == a)
			continue;
		if (v != y->replicas)
			*yes = true;
	}
	return err;
}

static int sync_dep(void *arg, const char *key)
{
	struct dp_ctrl *s = arg;
	struct dp_sync y = {.s = s, .key = key};
	char *k = strdup(key), *ns, *name;
	struct kc_obj *o;
	const struct jv *sel;
	bool scaling = false;
	int err = 0;

	if (!k)
		return -ENOMEM;
	kc_key_split(k, &ns, &name);
	y.ns = ns;
	o = ns ? kc_informer_get(s->dps, ns, name) : NULL;
	if (!o) {
		free(k);
		return 0;
	}
	y.d = jv_doc_new();
	y.dep = y.d ? ctrl_obj_tree(o, y.d, ctrl_k_deployment) : NULL;
	kc_obj_put(o);
	if (!y.dep) {
		err = -ENOMEM;
		goto out;
	}
	if (jv_path_int(y.dep, "spec.replicas", &y.replicas) != 0)
		y.replicas = 1;
	sel = jv_path(y.dep, "spec.selector");
	if (!jv_count(jv_get(sel, "matchLabels")) && !jv_count(jv_get(sel, "matchExpressions"))) {
		int64_t gen = 0, ogen = 0;

		kc_event(
		    s->c->rec, y.dep, "Warning", "SelectingAll",
		    "This deployment is selecting all pods. A non-empty selector is required.");
		jv_path_int(y.dep, "metadata.generation", &gen);
		jv_path_int(y.dep, "status.observedGeneration", &ogen);
		if (ogen < gen) {
			jv_set(y.d, jv_obj_at(y.d, y.dep, "status"), "observedGeneration",
			       jv_new_int(y.d, gen));
			err = dp_write_status(&y);
		}
		goto out;
	}
	err = claim_rss(&y);
	if (err)
		goto out;
	if (jv_path(y.dep, "metadata.deletionTimestamp")) {
		err = dp_sync_status_only(&y);
		goto out;
	}
	err = paused_conditions(&y);
	if (err)
		goto out;
	if (jv_path(y.dep, "spec.paused") && jv_path(y.dep, "spec.paused")->type == JV_TRUE) {
		err = dp_sync_scale(&y);
		goto out;
	}
	err = scaling_event(&y, &scaling);
	if (!err && scaling)
		err = dp_sync_scale(&y);
	else if (!err)
		err = dp_is_rolling(y.dep) ? dp_rollout_rolling(&y) : dp_rollout_recreate(&y);
out:
	free(y.rss);
	free(y.old);
	jv_doc_free(y.d);
	free(k);
	return err == -KC_ECONFLICT || err == -EEXIST ? -EAGAIN : err;
}

/* ---- lifecycle ---- */

static int dp_init(struct ctrl_ctx *c, void **state)
{
	struct dp_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers dh = {.add = dep_add, .update = dep_update, .del = dep_add};
	struct kc_handlers rh = {.add = rs_add, .update = rs_update, .del = rs_del};
	struct kc_handlers ph = {.del = pod_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->q = kc_queue_new("deployment");
	s->dps = ctrl_informer(c, ctrl_k_deployment);
	s->rss = ctrl_informer(c, ctrl_k_replicaset);
	s->pods = ctrl_informer(c, ctrl_k_pod);
	if (!s->q || !s->dps || !s->rss || !s->pods)
		return -ENOMEM;
	if (ctrl_claim_indexes(c, ctrl_k_replicaset) ||
	    ctrl_informer_index(c, ctrl_k_pod, CTRL_IDX_OWNER, kc_index_owner_uid))
		return -ENOMEM;
	dh.arg = rh.arg = ph.arg = s;
	if (kc_informer_add_handlers(s->dps, &dh) || kc_informer_add_handlers(s->rss, &rh) ||
	    kc_informer_add_handlers(s->pods, &ph))
		return -ENOMEM;
	return 0;
}

static int dp_run(void *state)
{
	struct dp_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_dep, s, "deployment");
	return s->w ? 0 : -ENOMEM;
}

static void dp_stop(void *state)
{
	struct dp_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s);
}

const struct ctrl_desc ctrl_deployment = {
    .name = "deployment",
    .component = "deployment-controller",
    .init = dp_init,
    .run = dp_run,
    .stop = dp_stop,
};
