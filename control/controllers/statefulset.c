/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statefulset: kube-controller-manager's StatefulSet controller (pkg/controller/statefulset,
 * 1.32). Each sync finds the set's current and update ControllerRevisions (the update one
 * made from the template when no equal revision exists, an older equal one renumbered on a
 * rollback; named <set>-<hash> with the FNV hash of the revision's data and collisionCount),
 * lets statefulset_pods.c create, delete and replace pods, then writes the status kubectl
 * reads (replicas, ready, current, updated, available, currentRevision/updateRevision,
 * collisionCount, observedGeneration) and prunes the history past revisionHistoryLimit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "podctl.h"
#include "workload.h"
#include "statefulset_int.h"

#define COMP "statefulset-controller"

/* ---- handlers ---- */

static void set_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct sts_ctrl *sc = arg;
	char key[512];

	(void)o;
	snprintf(key, sizeof(key), "%s/%s", jv_path_str(t, "metadata.namespace") ?: "",
		 jv_path_str(t, "metadata.name") ?: "");
	kc_queue_add(sc->q, key);
}

static void set_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	set_add(arg, cur, cur_t);
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct sts_ctrl *sc = arg;
	const struct jv *r = ctrl_controller_ref(t);
	char key[512];

	(void)o;
	if (!r) {
		/* an orphan: the StatefulSets that select it may adopt it */
		if (!jv_path(t, "metadata.deletionTimestamp"))
			ctrl_enqueue_selecting(sc->sets, sc->q, t);
		return;
	}
	if (!jv_is_str(jv_get(r, "kind"), "StatefulSet"))
		return;
	snprintf(key, sizeof(key), "%s/%s", jv_path_str(t, "metadata.namespace") ?: "",
		 jv_path_str(r, "name") ?: "");
	kc_queue_add(sc->q, key);
}

static void pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	pod_add(arg, cur, cur_t);
}

/* isMemberOf: a pod named <set>-<ordinal> */
static bool sts_member(const struct jv *set, const struct jv *pod)
{
	return sts_ordinal(set, pod) >= 0;
}

/* ---- revisions ---- */

/* ApplyRevision: the set with the revision's template. */
static struct jv *apply_revision(struct sts_sync *s, const struct jv *rev)
{
	struct jv *set = jv_copy(s->d, s->set);
	struct jv *tpl = jv_copy(s->d, jv_path(rev, "data.spec.template"));

	if (!set || !tpl)
		return set;
	jv_del(tpl, "$patch");
	jv_set(s->d, jv_obj_at(s->d, set, "spec"), "template", tpl);
	return set;
}

/* getStatefulSetRevisions */
static int revisions(struct sts_sync *s, struct jv ***all, size_t *nall)
{
	struct sts_ctrl *sc = s->sc;
	const char *ns = jv_path_str(s->set, "metadata.namespace");
	struct jv **revs = ctrl_owned(sc->revs, jv_path_str(s->set, "metadata.uid"), s->d, nall);
	char *data = ctrl_rev_patch(s->set);
	const char *cur_name = jv_path_str(s->set, "status.currentRevision");
	struct jv *equal = NULL;
	int64_t next = 1;
	int err = 0;

	*all = revs;
	if (!data)
		return -ENOMEM;
	ctrl_revs_sort(revs, *nall);
	if (*nall)
		next = ctrl_rev_number(revs[*nall - 1]) + 1;
	s->collision = 0;
	jv_path_int(s->set, "status.collisionCount", &s->collision);
	for (size_t i = 0; i < *nall; i++)
		if (ctrl_rev_data_equal(revs[i], data))
			equal = revs[i];
	if (equal && equal == revs[*nall - 1]) {
		s->upd_rev = equal; /* unchanged */
	} else if (equal) {
		/* a rollback: the equal revision becomes the newest */
		jv_set(s->d, equal, "revision", jv_new_int(s->d, next));
		err = kc_update(sc->c->kc, ctrl_k_controllerrevision, ns, NULL, equal, NULL, NULL,
				NULL);
		s->upd_rev = equal;
	} else {
		/* CreateControllerRevision: a name taken by other data bumps the collision count */
		for (int tries = 0; tries < 8; tries++) {
			char hash[16];
			struct jv *rev;
			struct kc_obj *o = NULL;
			struct kc_status st = {0};

			ctrl_rev_hash(data, s->collision, hash);
			rev = ctrl_rev_new(s->d, s->set, ctrl_k_statefulset,
					   jv_path(s->set, "spec.template.metadata.labels"), data,
					   hash, next);
			if (!rev) {
				err = -ENOMEM;
				break;
			}
			if (jv_path(s->set, "metadata.annotations"))
				jv_set(s->d, jv_get(rev, "metadata"), "annotations",
				       jv_copy(s->d, jv_path(s->set, "metadata.annotations")));
			err =
			    kc_create(sc->c->kc, ctrl_k_controllerrevision, ns, rev, NULL, &o, &st);
			if (!err) {
				s->upd_rev = kc_obj_parse(o, s->d);
				kc_obj_put(o);
				break;
			}
			if (err != -EEXIST)
				break;
			err = kc_get(sc->c->kc, ctrl_k_controllerrevision, ns,
				     jv_path_str(rev, "metadata.name"), &o, &st);
			if (err)
				break;
			rev = kc_obj_parse(o, s->d);
			kc_obj_put(o);
			if (rev && ctrl_rev_data_equal(rev, data)) {
				s->upd_rev = rev;
				break;
			}
			s->collision++;
		}
	}
	free(data);
	if (err || !s->upd_rev)
		return err == -KC_ECONFLICT || !err ? -EAGAIN : err;
	for (size_t i = 0; i < *nall && cur_name; i++)
		if (jv_is_str(jv_path(revs[i], "metadata.name"), cur_name))
			s->cur_rev = revs[i];
	if (!s->cur_rev)
		s->cur_rev = s->upd_rev;
	s->cur_set = apply_revision(s, s->cur_rev);
	s->upd_set = apply_revision(s, s->upd_rev);
	return s->cur_set && s->upd_set ? 0 : -ENOMEM;
}

/* truncateHistory: revisions no live pod uses, beyond revisionHistoryLimit, oldest first. */
static void truncate_history(struct sts_sync *s, struct jv **revs, size_t n, struct jv **pods,
			     size_t npods)
{
	int64_t limit = 10, excess;
	struct jv **hist = jv_alloc(s->d, (n + 1) * sizeof(*hist));
	size_t nh = 0;

	jv_path_int(s->set, "spec.revisionHistoryLimit", &limit);
	if (!hist)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *name = jv_path_str(revs[i], "metadata.name");
		bool live = jv_is_str(jv_path(s->cur_rev, "metadata.name"), name) ||
			    jv_is_str(jv_path(s->upd_rev, "metadata.name"), name);

		for (size_t p = 0; p < npods && !live; p++)
			live = name && jv_is_str(jv_path(pods[p], "metadata.labels[controller-"
								  "revision-hash]"),
						 name);
		if (!live)
			hist[nh++] = revs[i];
	}
	excess = (int64_t)nh - limit;
	for (size_t i = 0; (int64_t)i < excess; i++)
		kc_delete(s->sc->c->kc, ctrl_k_controllerrevision,
			  jv_path_str(hist[i], "metadata.namespace"),
			  jv_path_str(hist[i], "metadata.name"), NULL, NULL, NULL);
}

/* ---- status ---- */

static int write_status(struct sts_sync *s)
{
	struct jv *st = jv_obj_at(s->d, s->set, "status"), *old = jv_copy(s->d, st);
	const char *cur = jv_path_str(s->cur_rev, "metadata.name");
	const char *upd = jv_path_str(s->upd_rev, "metadata.name");
	int64_t gen = 0, mr = 0;
	struct kc_status kst = {0};
	int err;

	jv_path_int(s->set, "metadata.generation", &gen);
	jv_path_int(s->set, "spec.minReadySeconds", &mr);
	/* completeRollingUpdate */
	if (jv_is_str(jv_path(s->set, "spec.updateStrategy.type"), "RollingUpdate") &&
	    s->st_updated == s->st_replicas && s->st_ready == s->st_replicas) {
		s->st_current = s->st_updated;
		cur = upd;
	}
	jv_set(s->d, st, "observedGeneration", jv_new_int(s->d, gen));
	jv_set(s->d, st, "replicas", jv_new_int(s->d, s->st_replicas));
	jv_set(s->d, st, "readyReplicas", jv_new_int(s->d, s->st_ready));
	jv_set(s->d, st, "currentReplicas", jv_new_int(s->d, s->st_current));
	jv_set(s->d, st, "updatedReplicas", jv_new_int(s->d, s->st_updated));
	jv_set(s->d, st, "currentRevision", jv_new_strz(s->d, cur ? cur : ""));
	jv_set(s->d, st, "updateRevision", jv_new_strz(s->d, upd ? upd : ""));
	jv_set(s->d, st, "collisionCount", jv_new_int(s->d, s->collision));
	jv_set(s->d, st, "availableReplicas", jv_new_int(s->d, s->st_avail));
	/* omitempty counters */
	if (!s->st_ready)
		jv_del(st, "readyReplicas");
	if (!s->st_current)
		jv_del(st, "currentReplicas");
	if (!s->st_updated)
		jv_del(st, "updatedReplicas");
	if (mr > 0 && s->st_ready != s->st_avail)
		kc_queue_add_after(s->sc->q, s->key, (uint64_t)mr * 1000);
	if (jv_equal(old, st))
		return 0;
	err = kc_update(s->sc->c->kc, ctrl_k_statefulset, jv_path_str(s->set, "metadata.namespace"),
			"status", s->set, NULL, NULL, &kst);
	if (err == -KC_ECONFLICT)
		return -EAGAIN;
	if (err && err != -ENOENT)
		log_warn(COMP, "statefulset %s: status: %s", s->key, kst.message);
	return err == -ENOENT ? 0 : err;
}

/* ---- the sync ---- */

static int by_ordinal_desc(const void *a, const void *b, void *set)
{
	int64_t x = sts_ordinal(set, *(const struct jv *const *)a);
	int64_t y = sts_ordinal(set, *(const struct jv *const *)b);

	return x > y ? -1 : x < y;
}

static int sync_set(void *arg, const char *key)
{
	struct sts_ctrl *sc = arg;
	struct sts_sync s = {.sc = sc, .key = key};
	char kbuf[512], *ns, *name;
	struct jv **revs = NULL, **pods;
	size_t nrevs = 0, npods;
	int64_t replicas = 1, start = 0;
	int err, serr;

	snprintf(kbuf, sizeof(kbuf), "%s", key);
	kc_key_split(kbuf, &ns, &name);
	s.d = jv_doc_new();
	if (!s.d)
		return -ENOMEM;
	s.set = ctrl_cached(sc->sets, ns, name, s.d);
	err = 0;
	if (!s.set)
		goto out;
	err = revisions(&s, &revs, &nrevs);
	if (err)
		goto out;
	jv_path_int(s.set, "spec.replicas", &replicas);
	jv_path_int(s.set, "spec.ordinals.start", &start);
	/* getPodsForStatefulSet: its members after adopting and releasing */
	pods = ctrl_claim(sc->c, sc->pods, ctrl_k_pod, s.set, ctrl_k_statefulset, sts_member, s.d,
			  &npods, &err);
	if (err)
		goto out;
	s.replicas = jv_alloc(s.d, ((size_t)replicas + 1) * sizeof(*s.replicas));
	s.condemned = jv_alloc(s.d, (npods + 1) * sizeof(*s.condemned));
	if (!s.replicas || !s.condemned) {
		err = -ENOMEM;
		goto out;
	}
	s.nreplicas = (size_t)replicas;
	for (size_t i = 0; i < npods; i++) {
		int64_t ord = sts_ordinal(s.set, pods[i]);

		if (ord >= start && ord < start + replicas) {
			s.replicas[ord - start].pod = pods[i];
			s.replicas[ord - start].created = true;
		} else if (ord >= 0) {
			s.condemned[s.ncondemned++] = pods[i];
		}
	}
	for (size_t i = 0; i < s.nreplicas; i++) {
		s.replicas[i].ordinal = start + (int64_t)i;
		if (!s.replicas[i].pod) {
			s.replicas[i].pod = sts_new_pod(&s, start + (int64_t)i);
			if (!s.replicas[i].pod) {
				err = -ENOMEM;
				goto out;
			}
		}
	}
	qsort_r(s.condemned, s.ncondemned, sizeof(*s.condemned), by_ordinal_desc, s.set);
	err = sts_update_pods(&s);
	sts_count(&s);
	serr = write_status(&s);
	err = err ? err : serr;
	if (!err)
		truncate_history(&s, revs, nrevs, pods, npods);
out:
	jv_doc_free(s.d);
	return err;
}

/* ---- lifecycle ---- */

static int sts_init(struct ctrl_ctx *c, void **state)
{
	struct sts_ctrl *sc = calloc(1, sizeof(*sc));
	struct kc_handlers sh = {.add = set_add, .update = set_update, .del = set_add};
	struct kc_handlers ph = {.add = pod_add, .update = pod_update, .del = pod_add};

	*state = sc;
	if (!sc)
		return -ENOMEM;
	sc->c = c;
	sc->q = kc_queue_new("statefulset");
	sc->sets = ctrl_informer(c, ctrl_k_statefulset);
	sc->pods = ctrl_informer(c, ctrl_k_pod);
	sc->revs = ctrl_informer(c, ctrl_k_controllerrevision);
	sc->pvcs = ctrl_informer(c, ctrl_k_pvc);
	if (!sc->q || !sc->sets || !sc->pods || !sc->revs || !sc->pvcs)
		return -ENOMEM;
	if (ctrl_claim_indexes(c, ctrl_k_pod) || ctrl_owner_index(c, ctrl_k_controllerrevision))
		return -ENOMEM;
	sh.arg = ph.arg = sc;
	if (kc_informer_add_handlers(sc->sets, &sh) || kc_informer_add_handlers(sc->pods, &ph))
		return -ENOMEM;
	return 0;
}

static int sts_run(void *state)
{
	struct sts_ctrl *sc = state;

	sc->w = kc_workers_start(sc->q, sc->c->cfg->workers, sync_set, sc, "statefulset");
	return sc->w ? 0 : -ENOMEM;
}

/* The workers stop (no sync runs after it); handlers may still add to the shut queue. */
static void sts_quiesce(void *state)
{
	struct sts_ctrl *sc = state;

	if (!sc)
		return;
	ctrl_queue_quiesce(&sc->w, sc->q);
}

static void sts_stop(void *state)
{
	struct sts_ctrl *sc = state;

	if (!sc)
		return;
	sts_quiesce(sc);
	kc_queue_free(sc->q);
	free(sc);
}

const struct ctrl_desc ctrl_statefulset = {
    .name = "statefulset",
    .component = "statefulset-controller",
    .init = sts_init,
    .run = sts_run,
    .stop = sts_stop,
    .quiesce = sts_quiesce,
};
