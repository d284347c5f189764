/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemonset_update: the DaemonSet controller's placement rule (which nodes should run a
 * daemon pod: nodeName, nodeSelector, required node affinity, taints against the template's
 * tolerations plus the daemon tolerations Kubernetes adds), its history (one
 * ControllerRevision per template, named <ds>-<hash>, the hash labelling the pods as
 * controller-revision-hash; old ones pruned past revisionHistoryLimit) and its RollingUpdate
 * (pkg/controller/daemon/update.go: maxUnavailable old pods deleted at a time, or with
 * maxSurge a new pod started beside the old one, which goes once the new one is available).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemonset_int.h"
#include "log.h"
#include "nodematch.h"
#include "podctl.h"

#define COMP "daemonset-controller"

/* ---- placement ---- */

static bool has_toleration(const struct jv *tols, const char *key, const char *effect)
{
	for (const struct jv *t = jv_first(tols); t; t = t->next)
		if (jv_is_str(jv_get(t, "key"), key) && jv_is_str(jv_get(t, "effect"), effect) &&
		    jv_is_str(jv_get(t, "operator"), "Exists"))
			return true;
	return false;
}

void ds_add_tolerations(struct jv_doc *d, struct jv *spec)
{
	static const struct {
		const char *key, *effect;
	} daemon[] = {
	    {"node.kubernetes.io/not-ready", "NoExecute"},
	    {"node.kubernetes.io/unreachable", "NoExecute"},
	    {"node.kubernetes.io/disk-pressure", "NoSchedule"},
	    {"node.kubernetes.io/memory-pressure", "NoSchedule"},
	    {"node.kubernetes.io/pid-pressure", "NoSchedule"},
	    {"node.kubernetes.io/unschedulable", "NoSchedule"},
	    {"node.kubernetes.io/network-unavailable", "NoSchedule"},
	};
	const struct jv *hn = jv_get(spec, "hostNetwork");
	struct jv *tols = jv_get(spec, "tolerations");
	size_t n = hn && hn->type == JV_TRUE ? 7 : 6;

	if (!tols || tols->type != JV_ARRAY) {
		tols = jv_new(d, JV_ARRAY);
		jv_set(d, spec, "tolerations", tols);
	}
	for (size_t i = 0; i < n; i++) {
		struct jv *t;

		if (has_toleration(tols, daemon[i].key, daemon[i].effect))
			continue;
		t = jv_new(d, JV_OBJECT);
		jv_set(d, t, "key", jv_new_strz(d, daemon[i].key));
		jv_set(d, t, "operator", jv_new_strz(d, "Exists"));
		jv_set(d, t, "effect", jv_new_strz(d, daemon[i].effect));
		jv_push(tols, t);
	}
}

void ds_node_should_run(const struct jv *ds, const struct jv *node, bool *run, bool *cont)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *spec = d ? jv_copy(d, jv_path(ds, "spec.template.spec")) : NULL;
	const char *want = jv_path_str(spec, "nodeName");
	const char *name = jv_path_str(node, "metadata.name");
	const struct jv *taints = jv_path(node, "spec.taints");

	*run = *cont = false;
	if (!spec || spec->type != JV_OBJECT || !name)
		goto out;
	if (want && want[0] && strcmp(want, name) != 0)
		goto out;
	if (!ctrl_node_affinity_fits(spec, node))
		goto out;
	ds_add_tolerations(d, spec);
	if (ctrl_untolerated(taints, jv_get(spec, "tolerations"), 1u | 4u)) {
		/* a pod may stay unless a NoExecute taint evicts it */
		*cont = !ctrl_untolerated(taints, jv_get(spec, "tolerations"), 4u);
		goto out;
	}
	*run = *cont = true;
out:
	jv_doc_free(d);
}

const char *ds_pod_target_node(const struct jv *pod)
{
	const char *n = jv_path_str(pod, "spec.nodeName");
	const struct jv *req;

	if (n && n[0])
		return n;
	req =
	    jv_path(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
			 ".nodeSelectorTerms");
	for (const struct jv *t = jv_first(req); t; t = t->next)
		for (const struct jv *f = jv_first(jv_get(t, "matchFields")); f; f = f->next)
			if (jv_is_str(jv_get(f, "key"), "metadata.name") &&
			    jv_is_str(jv_get(f, "operator"), "In") &&
			    jv_count(jv_get(f, "values")) == 1)
				return jv_first(jv_get(f, "values"))->s;
	return NULL;
}

/* ---- history ---- */

static int64_t collision_count(const struct jv *ds)
{
	int64_t c;

	return jv_path_int(ds, "status.collisionCount", &c) == 0 ? c : -1;
}

/* A hash collision (a revision of that name with other data): bump status.collisionCount on
 * the server's copy, unless the one we hashed with was stale. Always -EAGAIN. */
static int bump_collision(struct ds_sync *s)
{
	struct kclient *kc = s->dc->c->kc;
	const char *ns = jv_path_str(s->ds, "metadata.namespace");
	struct kc_obj *o = NULL;
	struct kc_status st;
	struct jv *cur;

	if (kc_get(kc, ctrl_k_daemonset, ns, jv_path_str(s->ds, "metadata.name"), &o, &st) != 0)
		return -EAGAIN;
	cur = kc_obj_parse(o, s->d);
	kc_obj_put(o);
	if (!cur || collision_count(cur) != collision_count(s->ds))
		return -EAGAIN;
	jv_set(s->d, jv_obj_at(s->d, cur, "status"), "collisionCount",
	       jv_new_int(s->d, collision_count(cur) < 0 ? 1 : collision_count(cur) + 1));
	kc_update(kc, ctrl_k_daemonset, ns, "status", cur, NULL, NULL, &st);
	log_info(COMP, "daemonset %s: hash collision, collisionCount bumped", s->key);
	return -EAGAIN;
}

static int snapshot(struct ds_sync *s, const char *data, int64_t revision)
{
	struct kclient *kc = s->dc->c->kc;
	const char *ns = jv_path_str(s->ds, "metadata.namespace");
	struct jv *rev;
	struct kc_obj *o = NULL;
	struct kc_status st = {0};
	int err;

	ctrl_rev_hash(data, collision_count(s->ds), s->hash);
	rev =
	    ctrl_rev_new(s->d, s->ds, ctrl_k_daemonset,
			 jv_path(s->ds, "spec.template.metadata.labels"), data, s->hash, revision);
	if (!rev)
		return -ENOMEM;
	if (jv_path(s->ds, "metadata.annotations"))
		jv_set(s->d, jv_get(rev, "metadata"), "annotations",
		       jv_copy(s->d, jv_path(s->ds, "metadata.annotations")));
	err = kc_create(kc, ctrl_k_controllerrevision, ns, rev, NULL, NULL, &st);
	if (err != -EEXIST) {
		if (err)
			log_warn(COMP, "daemonset %s: revision: %s", s->key, st.message);
		return err;
	}
	err = kc_get(kc, ctrl_k_controllerrevision, ns, jv_path_str(rev, "metadata.name"), &o, &st);
	if (err)
		return -EAGAIN;
	rev = kc_obj_parse(o, s->d);
	kc_obj_put(o);
	if (rev && ctrl_rev_data_equal(rev, data))
		return 0; /* made by an earlier sync */
	return bump_collision(s);
}

int ds_history(struct ds_sync *s)
{
	struct ds_ctrl *dc = s->dc;
	size_t n, ncur = 0;
	struct jv **revs = ctrl_owned(dc->revs, jv_path_str(s->ds, "metadata.uid"), s->d, &n);
	struct jv **cur = n ? jv_alloc(s->d, n * sizeof(*cur)) : NULL;
	char *data = ctrl_rev_patch(s->ds);
	int64_t max_old = 0;
	int err = 0;

	s->old_revs = n ? jv_alloc(s->d, n * sizeof(*s->old_revs)) : NULL;
	s->nold = 0;
	if (!data || (n && (!cur || !s->old_revs))) {
		free(data);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (ctrl_rev_data_equal(revs[i], data))
			cur[ncur++] = revs[i];
		else {
			s->old_revs[s->nold++] = revs[i];
			if (ctrl_rev_number(revs[i]) > max_old)
				max_old = ctrl_rev_number(revs[i]);
		}
	}
	if (!ncur) {
		err = snapshot(s, data, max_old + 1);
	} else {
		/* dedupCurHistories: keep the newest of equal revisions */
		struct jv *keep;
		const char *h;

		ctrl_revs_sort(cur, ncur);
		keep = cur[ncur - 1];
		for (size_t i = 0; i + 1 < ncur; i++)
			kc_delete(dc->c->kc, ctrl_k_controllerrevision,
				  jv_path_str(cur[i], "metadata.namespace"),
				  jv_path_str(cur[i], "metadata.name"), NULL, NULL, NULL);
		h = jv_path_str(keep, "metadata.labels[controller-revision-hash]");
		snprintf(s->hash, sizeof(s->hash), "%s",
			 h ? h : jv_path_str(keep, "metadata.name"));
		if (ctrl_rev_number(keep) < max_old + 1) {
			/* a rollback to an old template: it becomes the newest revision */
			jv_set(s->d, keep, "revision", jv_new_int(s->d, max_old + 1));
			err = kc_update(dc->c->kc, ctrl_k_controllerrevision,
					jv_path_str(keep, "metadata.namespace"), NULL, keep, NULL,
					NULL, NULL);
			if (err == -KC_ECONFLICT)
				err = -EAGAIN;
		}
	}
	free(data);
	return err;
}

bool ds_pod_updated(const struct ds_sync *s, const struct jv *pod)
{
	const char *gen =
	    jv_path_str(s->ds, "metadata.annotations[deprecated.daemonset.template.generation]");

	if (jv_is_str(jv_path(pod, "metadata.labels[controller-revision-hash]"), s->hash))
		return true;
	return gen && jv_is_str(jv_path(pod, "metadata.labels[pod-template-generation]"), gen);
}

void ds_history_cleanup(struct ds_sync *s)
{
	int64_t keep = 10, kill;

	jv_path_int(s->ds, "spec.revisionHistoryLimit", &keep);
	kill = (int64_t)s->nold - keep;
	if (kill <= 0)
		return;
	ctrl_revs_sort(s->old_revs, s->nold);
	for (size_t i = 0; i < s->nold && kill > 0; i++) {
		const char *h =
		    jv_path_str(s->old_revs[i], "metadata.labels[controller-revision-hash]");
		bool live = false;

		for (size_t n = 0; n < s->nnodes && !live; n++)
			for (size_t p = 0; p < s->nodes[n].npods && !live; p++)
				live = h && jv_is_str(jv_path(s->nodes[n].pods[p],
							      "metadata.labels[controller-revision-"
							      "hash]"),
						      h);
		if (live)
			continue;
		kc_delete(s->dc->c->kc, ctrl_k_controllerrevision,
			  jv_path_str(s->old_revs[i], "metadata.namespace"),
			  jv_path_str(s->old_revs[i], "metadata.name"), NULL, NULL, NULL);
		kill--;
	}
}

/* ---- rolling update ---- */

int64_t ds_scaled(const struct jv *v, int64_t total, int64_t dflt)
{
	int64_t n;

	if (!v)
		return dflt;
	if (jv_int(v, &n) == 0)
		return n;
	if (v->type == JV_STRING && v->len && v->s[v->len - 1] == '%') {
		n = strtoll(v->s, NULL, 10);
		return (n * total + 99) / 100;
	}
	return dflt;
}

/* findUpdatedPodsOnNode: at most one new and one old pod not being deleted (false: more). */
static bool updated_pods_on(const struct ds_sync *s, const struct ds_node *n, struct jv **newp,
			    struct jv **oldp)
{
	*newp = *oldp = NULL;
	for (size_t i = 0; i < n->npods; i++) {
		struct jv *p = n->pods[i];

		if (jv_path(p, "metadata.deletionTimestamp"))
			continue;
		if (ds_pod_updated(s, p)) {
			if (*newp)
				return false;
			*newp = p;
		} else {
			if (*oldp)
				return false;
			*oldp = p;
		}
	}
	return true;
}

void ds_rolling_update(struct ds_sync *s, const char ***del, size_t *ndel, const char ***create,
		       size_t *ncreate)
{
	const struct jv *ru = jv_path(s->ds, "spec.updateStrategy.rollingUpdate");
	int64_t desired = 0, max_unavail, max_surge, min_ready = 0, now = ctrl_now();
	const char **cand = jv_alloc(s->d, (s->nnodes + 1) * sizeof(*cand));
	size_t ncand = 0;

	*del = jv_alloc(s->d, (s->nnodes + 1) * sizeof(**del));
	*create = jv_alloc(s->d, (s->nnodes + 1) * sizeof(**create));
	*ndel = *ncreate = 0;
	if (!cand || !*del || !*create)
		return;
	jv_path_int(s->ds, "spec.minReadySeconds", &min_ready);
	for (size_t i = 0; i < s->nnodes; i++)
		desired += s->nodes[i].should_run;
	max_surge = ds_scaled(jv_get(ru, "maxSurge"), desired, 0);
	max_unavail = ds_scaled(jv_get(ru, "maxUnavailable"), desired, 1);
	if (max_surge == 0 && max_unavail == 0)
		max_unavail = 1;
	if (max_surge == 0) {
		int64_t unavailable = 0, room;

		for (size_t i = 0; i < s->nnodes; i++) {
			const struct ds_node *n = &s->nodes[i];
			struct jv *np, *op;

			/* a node that should run a pod and has none counts as unavailable */
			if (!n->npods && !n->should_run)
				continue;
			if (!updated_pods_on(s, n, &np, &op) || (!np && !op) || (np && op)) {
				unavailable++;
			} else if (np) {
				if (!ctrl_pod_available(np, min_ready, now))
					unavailable++;
			} else if (!ctrl_pod_available(op, min_ready, now)) {
				(*del)[(*ndel)++] = jv_path_str(op, "metadata.name");
			} else if (unavailable < max_unavail) {
				cand[ncand++] = jv_path_str(op, "metadata.name");
			}
		}
		room = max_unavail - unavailable;
		for (size_t i = 0; i < ncand && room > 0; i++, room--)
			(*del)[(*ndel)++] = cand[i];
		return;
	}
	{
		int64_t surge = 0, room;

		for (size_t i = 0; i < s->nnodes; i++) {
			const struct ds_node *n = &s->nodes[i];
			struct jv *np, *op;

			if (!n->npods)
				continue;
			if (!updated_pods_on(s, n, &np, &op)) {
				surge++;
				continue;
			}
			if (!op)
				continue;
			if (!np) {
				if (!ctrl_pod_available(op, min_ready, now)) {
					if (!n->should_run) {
						(*del)[(*ndel)++] =
						    jv_path_str(op, "metadata.name");
						continue;
					}
					(*create)[(*ncreate)++] = n->name;
				} else if (surge < max_surge) {
					cand[ncand++] = n->name;
				}
				continue;
			}
			if (!ctrl_pod_available(np, min_ready, now)) {
				surge++;
				continue;
			}
			(*del)[(*ndel)++] = jv_path_str(op, "metadata.name");
		}
		room = max_surge - surge;
		for (size_t i = 0; i < ncand && room > 0; i++, room--)
			(*create)[(*ncreate)++] = cand[i];
	}
}
