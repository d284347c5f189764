/* SPDX-License-Identifier: Apache-2.0 */
/*
 * disruption: kube-controller-manager's disruption controller (pkg/controller/disruption),
 * which keeps each PodDisruptionBudget's status: the pods its selector picks (an empty
 * selector picks the namespace's every pod, none picks none), how many are healthy (Ready,
 * not being deleted, not just evicted), how many must be (minAvailable, or the expected
 * count less maxUnavailable; numbers or percentages of the expected count, rounded up), the
 * expected count (the pods, or with a percentage or maxUnavailable the scale of their
 * controllers: a Deployment through its ReplicaSet, a ReplicaSet, a StatefulSet), the
 * disruptions allowed (healthy less desired, 0 when negative or nothing is expected), the
 * evicted pods still to go (disruptedPods, forgotten after two minutes: DeletionTimeout), the
 * generation observed and the DisruptionAllowed condition (SufficientPods/InsufficientPods;
 * SyncFailed when the count fails: then nothing is allowed). The eviction subresource
 * (control/api/registry/evict.c) spends the budget.
 *
 * Events as kube's: NoPods, UnmanagedPods, CalculateExpectedPodCountFailed on the budget;
 * MultiplePodDisruptionBudgets, NotDeleted on pods (component "controllermanager").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "ctrl.h"
#include "log.h"

#define COMP		   "disruption-controller"
#define DELETION_TIMEOUT_S 120 /* DeletionTimeout */

struct pdb_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *pdb, *pod, *rs, *dep, *sts, *rc;
	struct kc_queue *q;
	struct kc_workers *w;
};

/* ---- which budget a pod is in ---- */

/* A budget's selector (policy/v1: an empty one selects every pod, a missing one none). */
static bool selects(const struct jv *pdb, const struct jv *pod)
{
	const struct jv *sel = jv_path(pdb, "spec.selector");

	if (!sel || sel->type != JV_OBJECT)
		return false;
	return ctrl_selector_matches(sel, jv_path(pod, "metadata.labels"));
}

static void enqueue(struct pdb_ctrl *s, const struct jv *pdb)
{
	char key[512];

	if (kc_key_of(pdb, key, sizeof(key)))
		kc_queue_add(s->q, key);
}

/* getPdbForPod: the first budget of the pod's namespace that selects it (warning when
 * several do). */
static void enqueue_for_pod(struct pdb_ctrl *s, const struct jv *pod)
{
	const char *ns = jv_path_str(pod, "metadata.namespace");
	struct kc_obj **pdbs = NULL;
	struct jv_doc *d;
	struct jv *first = NULL;
	size_t n = 0, matched = 0;

	if (!ns || kc_informer_list(s->pdb, "namespace", ns, &pdbs, &n) != 0)
		return;
	d = jv_doc_new();
	for (size_t i = 0; d && i < n; i++) {
		struct jv *p = kc_obj_parse(pdbs[i], d);

		if (!p || !selects(p, pod))
			continue;
		if (!matched++)
			first = p;
	}
	if (matched > 1)
		kc_event(s->c->rec, pod, "Warning", "MultiplePodDisruptionBudgets",
			 "Pod \"%s\"/\"%s\" matches multiple PodDisruptionBudgets.  Chose \"%s\" "
			 "arbitrarily.",
			 ns, jv_path_str(pod, "metadata.name") ?: "",
			 jv_path_str(first, "metadata.name") ?: "");
	if (first)
		enqueue(s, first);
	jv_doc_free(d);
	kc_objs_free(pdbs, n);
}

static void pdb_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	enqueue(arg, t);
}

static void pdb_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	(void)cur;
	enqueue(arg, cur_t);
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	(void)o;
	enqueue_for_pod(arg, t);
}

static void pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	(void)cur;
	enqueue_for_pod(arg, cur_t);
}

/* ---- the count ---- */

struct count {
	int64_t expected, desired, healthy, allowed;
	char unmanaged[64][256];
	size_t nunmanaged;
	char err[512];
};

/* The scale of the pod's controller (the finders): 0 with *uid and *scale, -ENOENT (no
 * controller knows the pod). */
static int controller_scale(struct pdb_ctrl *s, struct jv_doc *d, const char *ns,
			    const struct jv *ref, char *uid, size_t usize, int64_t *scale)
{
	const char *kind = jv_path_str(ref, "kind"), *name = jv_path_str(ref, "name");
	const char *ruid = jv_path_str(ref, "uid");
	struct kc_informer *inf = NULL;
	struct kc_obj *o;
	struct jv *c;

	if (!kind || !name || !ruid)
		return -ENOENT;
	if (!strcmp(kind, "ReplicaSet"))
		inf = s->rs;
	else if (!strcmp(kind, "ReplicationController")) /* getPodReplicationController */
		inf = s->rc;
	else if (!strcmp(kind, "StatefulSet"))
		inf = s->sts;
	o = inf ? kc_informer_get(inf, ns, name) : NULL;
	c = o ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	if (!c || !jv_is_str(jv_path(c, "metadata.uid"), ruid))
		return -ENOENT;
	if (inf == s->rs) {
		/* a ReplicaSet of a Deployment: the Deployment's scale (getPodDeployment) */
		const struct jv *dref = ctrl_controller_ref(c);

		if (dref && jv_is_str(jv_get(dref, "kind"), "Deployment")) {
			const char *dname = jv_path_str(dref, "name");
			struct kc_obj *dobj = dname ? kc_informer_get(s->dep, ns, dname) : NULL;
			struct jv *dep = dobj ? kc_obj_parse(dobj, d) : NULL;

			kc_obj_put(dobj);
			if (!dep || !jv_is_str(jv_path(dep, "metadata.uid"),
					       jv_path_str(dref, "uid") ?: ""))
				return -ENOENT;
			c = dep;
		}
	}
	*scale = 1; /* replicas defaults to 1 */
	jv_path_int(c, "spec.replicas", scale);
	snprintf(uid, usize, "%s", jv_path_str(c, "metadata.uid") ?: "");
	return 0;
}

/* getExpectedScale: the sum of the scales of the pods' controllers. */
static int expected_scale(struct pdb_ctrl *s, struct jv_doc *d, struct jv **pods, size_t n,
			  struct count *ct)
{
	char(*uids)[64] = calloc(n + 1, sizeof(*uids));
	size_t nu = 0;

	if (!uids)
		return -ENOMEM;
	ct->expected = 0;
	for (size_t i = 0; i < n; i++) {
		const struct jv *ref = ctrl_controller_ref(pods[i]);
		const char *name = jv_path_str(pods[i], "metadata.name") ?: "";
		int64_t scale = 0;
		char uid[64];
		bool seen = false;

		if (!ref) {
			if (ct->nunmanaged < 64)
				snprintf(ct->unmanaged[ct->nunmanaged++], 256, "%s", name);
			continue;
		}
		for (size_t j = 0; j < nu && !seen; j++)
			seen = jv_is_str(jv_get(ref, "uid"), uids[j]);
		if (seen)
			continue;
		if (controller_scale(s, d, jv_path_str(pods[i], "metadata.namespace"), ref, uid,
				     sizeof(uid), &scale) != 0) {
			snprintf(ct->err, sizeof(ct->err), "found no controllers for pod \"%s\"",
				 name);
			free(uids);
			return -ENOENT;
		}
		/* (the pod's reference names the controller's uid: one count per controller) */
		snprintf(uids[nu++], 64, "%s", jv_path_str(ref, "uid") ?: uid);
		ct->expected += scale;
	}
	free(uids);
	return 0;
}

/* intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true): an integer, or "N%" of
 * total rounded up. */
static int scaled(const struct jv *v, int64_t total, int64_t *out, char *err, size_t esize)
{
	char num[64], *end;
	long long pct;

	if (v->type == JV_NUMBER)
		return jv_int(v, out) == 0 ? 0 : -EINVAL;
	if (v->type != JV_STRING || !v->len || v->s[v->len - 1] != '%') {
		snprintf(err, esize,
			 "invalid value for IntOrString: invalid type: string is not a "
			 "percentage");
		return -EINVAL;
	}
	snprintf(num, sizeof(num), "%.*s", (int)(v->len - 1), v->s);
	errno = 0;
	pct = strtoll(num, &end, 10);
	if (!num[0] || *end || errno) {
		snprintf(
		    err, esize,
		    "invalid value for IntOrString: invalid value \"%s\": strconv.Atoi: parsing "
		    "\"%s\": invalid syntax",
		    v->s, num);
		return -EINVAL;
	}
	*out = (pct * total + (pct * total >= 0 ? 99 : 0)) / 100;
	return 0;
}

/* getExpectedPodCount */
static int expected_count(struct pdb_ctrl *s, struct jv_doc *d, const struct jv *pdb,
			  struct jv **pods, size_t n, struct count *ct)
{
	const struct jv *maxu = jv_path(pdb, "spec.maxUnavailable");
	const struct jv *mina = jv_path(pdb, "spec.minAvailable");
	int64_t v;
	int err;

	ct->expected = ct->desired = 0;
	if (maxu) {
		err = expected_scale(s, d, pods, n, ct);
		if (!err)
			err = scaled(maxu, ct->expected, &v, ct->err, sizeof(ct->err));
		if (err)
			return err;
		ct->desired = ct->expected - v < 0 ? 0 : ct->expected - v;
	} else if (mina && mina->type == JV_NUMBER) {
		jv_int(mina, &ct->desired);
		ct->expected = (int64_t)n;
	} else if (mina) {
		err = expected_scale(s, d, pods, n, ct);
		if (!err)
			err = scaled(mina, ct->expected, &ct->desired, ct->err, sizeof(ct->err));
		if (err)
			return err;
	}
	return 0;
}

/* ---- status ---- */

/* apimeta.SetStatusCondition of DisruptionAllowed (message and observedGeneration set). */
static void set_allowed_condition(struct jv_doc *d, struct jv *pdb, const char *status,
				  const char *reason, const char *message, int64_t gen)
{
	ctrl_set_condition(d, pdb, "DisruptionAllowed", status, reason, message);
	if (gen)
		jv_set(d, ctrl_condition(pdb, "DisruptionAllowed"), "observedGeneration",
		       jv_new_int(d, gen));
}

static int64_t int_at(const struct jv *o, const char *path)
{
	int64_t v = 0;

	jv_path_int(o, path, &v);
	return v;
}

/* pdbhelper.ConditionsAreUpToDate */
static bool conditions_current(const struct jv *pdb)
{
	const struct jv *c = ctrl_condition(pdb, "DisruptionAllowed");

	if (!c || int_at(pdb, "status.observedGeneration") != int_at(pdb, "metadata.generation"))
		return false;
	if (int_at(pdb, "status.disruptionsAllowed") > 0)
		return jv_is_str(jv_get(c, "status"), "True") &&
		       jv_is_str(jv_get(c, "reason"), "SufficientPods");
	return jv_is_str(jv_get(c, "status"), "False") &&
	       jv_is_str(jv_get(c, "reason"), "InsufficientPods");
}

static int write_status(struct pdb_ctrl *s, struct jv *pdb, const char *key)
{
	struct kc_status st;
	int err = kc_update(s->c->kc, ctrl_k_pdb, jv_path_str(pdb, "metadata.namespace"), "status",
			    pdb, NULL, NULL, &st);

	if (err && err != -KC_ECONFLICT && err != -ENOENT)
		log_warn(COMP, "poddisruptionbudget %s: %s", key,
			 st.message[0] ? st.message : kc_strerror(err));
	return err == -ENOENT ? 0 : err;
}

/* failSafe: when the count fails, nothing is allowed, and the condition says why. */
static int fail_safe(struct pdb_ctrl *s, struct jv_doc *d, struct jv *pdb, const char *why,
		     const char *key)
{
	jv_set(d, jv_obj_at(d, pdb, "status"), "disruptionsAllowed", jv_new_int(d, 0));
	set_allowed_condition(d, pdb, "False", "SyncFailed", why,
			      int_at(pdb, "status.observedGeneration"));
	return write_status(s, pdb, key);
}

static int sync_pdb(void *arg, const char *key)
{
	struct pdb_ctrl *s = arg;
	struct count *ct = calloc(1, sizeof(*ct));
	struct jv_doc *d = jv_doc_new();
	struct kc_obj *o, **pods = NULL;
	struct jv *pdb, **sel = NULL, *st, *dis, *old_dis;
	char buf[512], *ns, *name;
	int64_t now = ctrl_now(), recheck = -1, gen;
	size_t np = 0, nsel = 0;
	int err = 0;

	if (!ct || !d) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(buf, sizeof(buf), "%s", key);
	kc_key_split(buf, &ns, &name);
	o = kc_informer_get(s->pdb, ns, name);
	if (!o)
		goto out; /* gone */
	pdb = kc_obj_parse(o, d);
	kc_obj_put(o);
	if (!pdb || kc_informer_list(s->pod, "namespace", ns, &pods, &np) != 0) {
		err = -ENOMEM;
		goto out;
	}
	sel = calloc(np + 1, sizeof(*sel));
	for (size_t i = 0; sel && i < np; i++) {
		struct jv *p = kc_obj_parse(pods[i], d);

		if (p && selects(pdb, p))
			sel[nsel++] = p;
	}
	if (!sel) {
		err = -ENOMEM;
		goto out;
	}
	if (!nsel)
		kc_event(s->c->rec, pdb, "Normal", "NoPods", "No matching pods found");
	if (expected_count(s, d, pdb, sel, nsel, ct) != 0) {
		kc_event(s->c->rec, pdb, "Warning", "CalculateExpectedPodCountFailed",
			 "Failed to calculate the number of expected pods: %s", ct->err);
		log_warn(COMP, "failed to sync pdb %s: %s", key, ct->err);
		err = fail_safe(s, d, pdb, ct->err, key);
		goto out;
	}
	if (ct->nunmanaged) {
		char selstr[512];

		api_label_selector_string(jv_path(pdb, "spec.selector"), selstr, sizeof(selstr));
		kc_event(
		    s->c->rec, pdb, "Warning", "UnmanagedPods",
		    "Pods selected by this PodDisruptionBudget (selector: %s) were found to be "
		    "unmanaged. As a result, the status of the PDB cannot be calculated "
		    "correctly, which may result in undefined behavior. To account for these "
		    "pods please set \".spec.minAvailable\" field of the PDB to an integer "
		    "value.",
		    selstr);
	}
	/* buildDisruptedPodMap: evicted pods not yet deleted, for two minutes */
	old_dis = jv_path(pdb, "status.disruptedPods");
	dis = jv_new(d, JV_OBJECT);
	for (size_t i = 0; i < nsel; i++) {
		const char *pn = jv_path_str(sel[i], "metadata.name");
		const struct jv *at = pn ? jv_get(old_dis, pn) : NULL;
		int64_t t = at && at->type == JV_STRING ? ctrl_parse_time(at->s) : -1;

		if (jv_path(sel[i], "metadata.deletionTimestamp") || t < 0)
			continue;
		if (t + DELETION_TIMEOUT_S < now) {
			kc_event(s->c->rec, sel[i], "Warning", "NotDeleted",
				 "Pod was expected by PDB %s/%s to be deleted but it wasn't", ns,
				 name);
			continue;
		}
		if (recheck < 0 || t + DELETION_TIMEOUT_S < recheck)
			recheck = t + DELETION_TIMEOUT_S;
		jv_set(d, dis, pn, jv_copy(d, at));
	}
	/* countHealthyPods */
	for (size_t i = 0; i < nsel; i++) {
		const char *pn = jv_path_str(sel[i], "metadata.name");

		if (jv_path(sel[i], "metadata.deletionTimestamp") || (pn && jv_get(dis, pn)))
			continue;
		ct->healthy += ctrl_pod_ready(sel[i]);
	}
	ct->allowed = ct->healthy - ct->desired;
	if (ct->expected <= 0 || ct->allowed <= 0)
		ct->allowed = 0;
	gen = int_at(pdb, "metadata.generation");
	if (int_at(pdb, "status.currentHealthy") == ct->healthy &&
	    int_at(pdb, "status.desiredHealthy") == ct->desired &&
	    int_at(pdb, "status.expectedPods") == ct->expected &&
	    int_at(pdb, "status.disruptionsAllowed") == ct->allowed &&
	    jv_count(old_dis) == jv_count(dis) && (!jv_count(dis) || jv_equal(old_dis, dis)) &&
	    int_at(pdb, "status.observedGeneration") == gen && conditions_current(pdb))
		goto recheck;
	st = jv_obj_at(d, pdb, "status");
	jv_set(d, st, "observedGeneration", jv_new_int(d, gen));
	if (jv_count(dis))
		jv_set(d, st, "disruptedPods", dis);
	else
		jv_del(st, "disruptedPods");
	jv_set(d, st, "disruptionsAllowed", jv_new_int(d, ct->allowed));
	jv_set(d, st, "currentHealthy", jv_new_int(d, ct->healthy));
	jv_set(d, st, "desiredHealthy", jv_new_int(d, ct->desired));
	jv_set(d, st, "expectedPods", jv_new_int(d, ct->expected));
	if (ct->allowed > 0)
		set_allowed_condition(d, pdb, "True", "SufficientPods", "", gen);
	else
		set_allowed_condition(d, pdb, "False", "InsufficientPods", "", gen);
	err = write_status(s, pdb, key);
recheck:
	if (!err && recheck >= 0)
		kc_queue_add_after(s->q, key, (uint64_t)(recheck - now + 1) * 1000);
out:
	free(sel);
	kc_objs_free(pods, np);
	jv_doc_free(d);
	free(ct);
	return err;
}

/* ---- lifecycle ---- */

static int pdb_init(struct ctrl_ctx *c, void **state)
{
	struct pdb_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers ph = {.add = pdb_add, .update = pdb_update, .del = pdb_add};
	struct kc_handlers pod = {.add = pod_add, .update = pod_update, .del = pod_add};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->q = kc_queue_new("disruption");
	s->pdb = ctrl_informer(c, ctrl_k_pdb);
	s->pod = ctrl_informer(c, ctrl_k_pod);
	s->rs = ctrl_informer(c, ctrl_k_replicaset);
	s->dep = ctrl_informer(c, ctrl_k_deployment);
	s->sts = ctrl_informer(c, ctrl_k_statefulset);
	s->rc = ctrl_informer(c, ctrl_k_replicationcontroller);
	if (!s->q || !s->pdb || !s->pod || !s->rs || !s->dep || !s->sts || !s->rc)
		return -ENOMEM;
	ph.arg = pod.arg = s;
	if (kc_informer_add_handlers(s->pdb, &ph) != 0 ||
	    kc_informer_add_handlers(s->pod, &pod) != 0)
		return -ENOMEM;
	return 0;
}

static int pdb_run(void *state)
{
	struct pdb_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_pdb, s, "disruption");
	return s->w ? 0 : -ENOMEM;
}

static void pdb_stop(void *state)
{
	struct pdb_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s);
}

const struct ctrl_desc ctrl_disruption = {
    .name = "disruption",
    .component = "controllermanager",
    .init = pdb_init,
    .run = pdb_run,
    .stop = pdb_stop,
};
