/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statefulset_pods: the pods of a StatefulSet (stateful_set_control.go and
 * stateful_set_utils.go of 1.32): pod <set>-<ordinal> with the statefulset.kubernetes.io/
 * pod-name and apps.kubernetes.io/pod-index labels, hostname = its name, subdomain = the
 * serviceName, one PVC per volumeClaimTemplate named <template>-<set>-<ordinal> made before
 * the pod (never deleted here; owner references per persistentVolumeClaimRetentionPolicy
 * let the garbage collector do it). OrderedReady creates in ordinal order, each pod only
 * after its predecessors are Running and Ready (and available), and removes from the
 * highest ordinal down; Parallel does both at once. RollingUpdate replaces, from the highest
 * ordinal down to the partition, one pod at a time whose revision is not the update
 * revision, waiting for each to be healthy again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "podctl.h"
#include "statefulset_int.h"

#define COMP "statefulset-controller"

int64_t sts_ordinal(const struct jv *set, const struct jv *pod)
{
	const char *setname = jv_path_str(set, "metadata.name");
	const char *name = jv_path_str(pod, "metadata.name");
	size_t sl = setname ? strlen(setname) : 0;
	char *end;
	long long v;

	/* getParentNameAndOrdinal: ^(.*)-([0-9]+)$ with the set's name as parent */
	if (!name || !sl || strncmp(name, setname, sl) != 0 || name[sl] != '-' ||
	    name[sl + 1] < '0' || name[sl + 1] > '9')
		return -1;
	v = strtoll(name + sl + 1, &end, 10);
	return *end ? -1 : v;
}

const char *sts_pod_revision(const struct jv *pod)
{
	return jv_path_str(pod, "metadata.labels[controller-revision-hash]");
}

static bool terminating(const struct jv *pod)
{
	return jv_path(pod, "metadata.deletionTimestamp") != NULL;
}

static bool running_ready(const struct jv *pod)
{
	return jv_is_str(jv_path(pod, "status.phase"), "Running") && ctrl_pod_ready(pod);
}

static bool running_available(struct sts_sync *s, const struct jv *pod)
{
	int64_t mr = 0;

	jv_path_int(s->set, "spec.minReadySeconds", &mr);
	return running_ready(pod) && ctrl_pod_available(pod, mr, ctrl_now());
}

static bool healthy(const struct jv *pod)
{
	return running_ready(pod) && !terminating(pod);
}

static const char *claim_name(struct jv_doc *d, const struct jv *tpl, const struct jv *set,
			      int64_t ordinal)
{
	return jv_new_strf(d, "%s-%s-%lld", jv_path_str(tpl, "metadata.name"),
			   jv_path_str(set, "metadata.name"), (long long)ordinal)
	    ->s;
}

struct jv *sts_new_pod(struct sts_sync *s, int64_t ordinal)
{
	struct jv_doc *d = s->d;
	int64_t partition = 0;
	bool use_current;
	struct jv *from, *pod, *md, *labels, *spec, *vols;
	const char *rev, *name, *svc;

	/* newVersionedStatefulSetPod: ordinals below the partition stay at the current
	 * revision while a RollingUpdate is in progress */
	jv_path_int(s->set, "spec.updateStrategy.rollingUpdate.partition", &partition);
	if (!jv_is_str(jv_path(s->set, "spec.updateStrategy.type"), "RollingUpdate"))
		use_current = false;
	else if (!jv_path(s->set, "spec.updateStrategy.rollingUpdate")) {
		int64_t cur = 0;

		jv_path_int(s->set, "status.currentReplicas", &cur);
		use_current = ordinal < cur;
	} else
		use_current = ordinal < partition;
	from = use_current ? s->cur_set : s->upd_set;
	rev = jv_path_str(use_current ? s->cur_rev : s->upd_rev, "metadata.name");
	pod = ctrl_pod_from_template(d, jv_path(from, "spec.template"), s->set, ctrl_k_statefulset,
				     NULL);
	if (!pod)
		return NULL;
	md = jv_get(pod, "metadata");
	name =
	    jv_new_strf(d, "%s-%lld", jv_path_str(s->set, "metadata.name"), (long long)ordinal)->s;
	jv_set(d, md, "name", jv_new_strz(d, name));
	jv_set(d, md, "namespace", jv_new_strz(d, jv_path_str(s->set, "metadata.namespace")));
	labels = jv_obj_at(d, md, "labels");
	jv_set(d, labels, "statefulset.kubernetes.io/pod-name", jv_new_strz(d, name));
	jv_set(d, labels, "apps.kubernetes.io/pod-index",
	       jv_new_strf(d, "%lld", (long long)ordinal));
	jv_set(d, labels, "controller-revision-hash", jv_new_strz(d, rev ? rev : ""));
	spec = jv_get(pod, "spec");
	jv_set(d, spec, "hostname", jv_new_strz(d, name));
	svc = jv_path_str(s->set, "spec.serviceName");
	if (svc && svc[0])
		jv_set(d, spec, "subdomain", jv_new_strz(d, svc));
	/* updateStorage: each claim template's volume names its claim */
	vols = jv_get(spec, "volumes");
	for (const struct jv *t = jv_first(jv_path(s->set, "spec.volumeClaimTemplates")); t;
	     t = t->next) {
		const char *vn = jv_path_str(t, "metadata.name");
		struct jv *v = NULL, *pvc;

		if (!vn)
			continue;
		if (!vols || vols->type != JV_ARRAY) {
			vols = jv_new(d, JV_ARRAY);
			jv_set(d, spec, "volumes", vols);
		}
		for (struct jv *x = jv_first(vols); x && !v; x = x->next)
			if (jv_is_str(jv_get(x, "name"), vn))
				v = x;
		if (!v) {
			v = jv_new(d, JV_OBJECT);
			jv_set(d, v, "name", jv_new_strz(d, vn));
			jv_push(vols, v);
		}
		jv_del(v, "emptyDir");
		pvc = jv_new(d, JV_OBJECT);
		jv_set(d, pvc, "claimName", jv_new_strz(d, claim_name(d, t, s->set, ordinal)));
		jv_set(d, v, "persistentVolumeClaim", pvc);
	}
	return pod;
}

/* recordPodEvent / recordClaimEvent */
static void pod_event(struct sts_sync *s, const char *verb, const char *pod, int err,
		      const char *msg)
{
	char reason[32];
	const char *set = jv_path_str(s->set, "metadata.name");

	snprintf(reason, sizeof(reason), "%s%c%s", err ? "Failed" : "Successful", verb[0] - 32,
		 verb + 1);
	if (err)
		kc_event(s->sc->c->rec, s->set, "Warning", reason,
			 "%s Pod %s in StatefulSet %s failed error: %s", verb, pod, set, msg);
	else
		kc_event(s->sc->c->rec, s->set, "Normal", reason,
			 "%s Pod %s in StatefulSet %s successful", verb, pod, set);
}

/* createPersistentVolumeClaims: every missing claim of the pod's ordinal. */
static int create_claims(struct sts_sync *s, int64_t ordinal, const char *podname)
{
	const char *ns = jv_path_str(s->set, "metadata.namespace");
	const char *when_deleted =
	    jv_path_str(s->set, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted");
	int rerr = 0;

	for (const struct jv *t = jv_first(jv_path(s->set, "spec.volumeClaimTemplates")); t;
	     t = t->next) {
		struct jv_doc *d = jv_doc_new();
		const char *cn = d ? claim_name(d, t, s->set, ordinal) : NULL;
		struct kc_obj *have = cn ? kc_informer_get(s->sc->pvcs, ns, cn) : NULL;
		struct jv *claim, *md, *labels;
		struct kc_status st = {0};
		int err;

		if (!cn || have) {
			kc_obj_put(have);
			jv_doc_free(d);
			rerr = cn ? rerr : -ENOMEM;
			continue;
		}
		claim = jv_copy(d, t);
		jv_set(d, claim, "apiVersion", jv_new_strz(d, "v1"));
		jv_set(d, claim, "kind", jv_new_strz(d, "PersistentVolumeClaim"));
		md = jv_obj_at(d, claim, "metadata");
		jv_set(d, md, "name", jv_new_strz(d, cn));
		jv_set(d, md, "namespace", jv_new_strz(d, ns));
		labels = jv_obj_at(d, md, "labels");
		for (const struct jv *l = jv_first(jv_path(s->set, "spec.selector.matchLabels")); l;
		     l = l->next)
			jv_setn(d, labels, l->key, l->klen, jv_copy(d, l));
		if (when_deleted && !strcmp(when_deleted, "Delete")) {
			/* the set owns the claim: the garbage collector deletes it with the set */
			struct jv *refs = jv_new(d, JV_ARRAY), *r = jv_new(d, JV_OBJECT);

			jv_set(d, r, "apiVersion", jv_new_strz(d, "apps/v1"));
			jv_set(d, r, "kind", jv_new_strz(d, "StatefulSet"));
			jv_set(d, r, "name", jv_new_strz(d, jv_path_str(s->set, "metadata.name")));
			jv_set(d, r, "uid", jv_new_strz(d, jv_path_str(s->set, "metadata.uid")));
			jv_push(refs, r);
			jv_set(d, md, "ownerReferences", refs);
		}
		jv_del(claim, "status");
		err = kc_create(s->sc->c->kc, ctrl_k_pvc, ns, claim, NULL, NULL, &st);
		if (err == -EEXIST)
			err = 0;
		else if (err)
			kc_event(s->sc->c->rec, s->set, "Warning", "FailedCreate",
				 "create Claim %s for Pod %s in StatefulSet %s failed error: %s",
				 cn, podname, jv_path_str(s->set, "metadata.name"), st.message);
		else
			kc_event(s->sc->c->rec, s->set, "Normal", "SuccessfulCreate",
				 "create Claim %s Pod %s in StatefulSet %s success", cn, podname,
				 jv_path_str(s->set, "metadata.name"));
		if (err)
			rerr = err;
		jv_doc_free(d);
	}
	return rerr;
}

static int create_pod(struct sts_sync *s, struct sts_replica *r)
{
	const char *name = jv_path_str(r->pod, "metadata.name");
	struct kc_status st = {0};
	int err = create_claims(s, r->ordinal, name);

	if (err)
		return err;
	err = kc_create(s->sc->c->kc, ctrl_k_pod, jv_path_str(s->set, "metadata.namespace"), r->pod,
			NULL, NULL, &st);
	if (err == -EEXIST)
		return 0; /* the cache lags: made by an earlier sync */
	pod_event(s, "create", name, err, st.message);
	if (!err)
		r->created = true;
	return err;
}

static int delete_pod(struct sts_sync *s, const struct jv *pod)
{
	const char *name = jv_path_str(pod, "metadata.name");
	struct kc_status st = {0};
	int err = kc_delete(s->sc->c->kc, ctrl_k_pod, jv_path_str(s->set, "metadata.namespace"),
			    name, NULL, NULL, &st);

	if (err == -ENOENT)
		return 0;
	pod_event(s, "delete", name, err, st.message);
	return err;
}

/* persistentVolumeClaimRetentionPolicy: the claim's owners (updateClaimOwnerRefForSetAndPod):
 * the set when whenDeleted is Delete, the pod when it is condemned and whenScaled is Delete,
 * so the garbage collector deletes the claim with its owner. */
static void claims_to_pod(struct sts_sync *s, const struct jv *pod)
{
	const char *ns = jv_path_str(s->set, "metadata.namespace");
	const char *sname = jv_path_str(s->set, "metadata.name");
	bool set_owns = jv_is_str(
	    jv_path(s->set, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"), "Delete");
	int64_t ord = sts_ordinal(s->set, pod);

	if (!jv_is_str(jv_path(s->set, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"),
		       "Delete"))
		return;
	for (const struct jv *t = jv_first(jv_path(s->set, "spec.volumeClaimTemplates")); t;
	     t = t->next) {
		char patch[1536], setref[512] = "";
		const char *cn = claim_name(s->d, t, s->set, ord);

		if (set_owns)
			snprintf(setref, sizeof(setref),
				 "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\","
				 "\"name\":\"%s\",\"uid\":\"%s\"},",
				 sname, jv_path_str(s->set, "metadata.uid") ?: "");
		snprintf(patch, sizeof(patch),
			 "{\"metadata\":{\"ownerReferences\":[%s{\"apiVersion\":\"v1\",\"kind\":"
			 "\"Pod\",\"name\":\"%s\",\"uid\":\"%s\"}]}}",
			 setref, jv_path_str(pod, "metadata.name"),
			 jv_path_str(pod, "metadata.uid") ?: "");
		kc_patch(s->sc->c->kc, ctrl_k_pvc, ns, cn, NULL, KC_PATCH_MERGE, patch,
			 strlen(patch), NULL, NULL, NULL);
	}
}

/* identityMatches, else the labels put right (the rest of a pod's identity is immutable). */
static int fix_identity(struct sts_sync *s, const struct jv *pod, int64_t ordinal)
{
	const char *name = jv_path_str(pod, "metadata.name");
	char idx[24], patch[512];
	struct kc_status st;
	int err;

	snprintf(idx, sizeof(idx), "%lld", (long long)ordinal);
	if (jv_is_str(jv_path(pod, "metadata.labels[statefulset.kubernetes.io/pod-name]"), name) &&
	    jv_is_str(jv_path(pod, "metadata.labels[apps.kubernetes.io/pod-index]"), idx))
		return 0;
	snprintf(patch, sizeof(patch),
		 "{\"metadata\":{\"labels\":{\"statefulset.kubernetes.io/pod-name\":\"%s\","
		 "\"apps.kubernetes.io/pod-index\":\"%s\"}}}",
		 name, idx);
	err = kc_patch(s->sc->c->kc, ctrl_k_pod, jv_path_str(s->set, "metadata.namespace"), name,
		       NULL, KC_PATCH_MERGE, patch, strlen(patch), NULL, NULL, &st);
	pod_event(s, "update", name, err, st.message);
	return err == -ENOENT ? 0 : err;
}

/* processReplica: true = stop here (monotonic progress blocked, or an error in *err). */
static bool process_replica(struct sts_sync *s, struct sts_replica *r, bool monotonic, int *err)
{
	const char *set = jv_path_str(s->set, "metadata.name");
	const char *ns = jv_path_str(s->set, "metadata.namespace");

	if (r->created && (jv_is_str(jv_path(r->pod, "status.phase"), "Failed") ||
			   jv_is_str(jv_path(r->pod, "status.phase"), "Succeeded"))) {
		bool failed = jv_is_str(jv_path(r->pod, "status.phase"), "Failed");
		const char *pn = jv_path_str(r->pod, "metadata.name");

		kc_event(s->sc->c->rec, s->set, failed ? "Warning" : "Normal",
			 failed ? "RecreatingFailedPod" : "RecreatingTerminatedPod",
			 failed ? "StatefulSet %s/%s is recreating failed Pod %s"
				: "StatefulSet %s/%s is recreating terminated Pod %s",
			 ns, set, pn);
		*err = delete_pod(s, r->pod);
		if (*err)
			return true;
		r->pod = sts_new_pod(s, r->ordinal);
		r->created = false;
		if (!r->pod) {
			*err = -ENOMEM;
			return true;
		}
	}
	if (!r->created) {
		*err = create_pod(s, r);
		return *err || monotonic;
	}
	if (jv_is_str(jv_path(r->pod, "status.phase"), "Pending"))
		create_claims(s, r->ordinal, jv_path_str(r->pod, "metadata.name"));
	if (terminating(r->pod) && monotonic)
		return true;
	if (!running_ready(r->pod) && monotonic)
		return true;
	if (!running_available(s, r->pod) && monotonic)
		return true;
	*err = fix_identity(s, r->pod, r->ordinal);
	return *err != 0;
}

void sts_count(struct sts_sync *s)
{
	const char *cur = jv_path_str(s->cur_rev, "metadata.name");
	const char *upd = jv_path_str(s->upd_rev, "metadata.name");

	s->st_replicas = s->st_ready = s->st_avail = s->st_current = s->st_updated = 0;
	for (size_t i = 0; i < s->nreplicas + s->ncondemned; i++) {
		const struct jv *p =
		    i < s->nreplicas ? s->replicas[i].pod : s->condemned[i - s->nreplicas];
		bool created = i < s->nreplicas ? s->replicas[i].created : true;
		const char *rev = sts_pod_revision(p);

		if (!created)
			continue;
		s->st_replicas++;
		if (running_ready(p)) {
			s->st_ready++;
			if (running_available(s, p))
				s->st_avail++;
		}
		if (terminating(p) || !rev)
			continue;
		s->st_current += cur && !strcmp(rev, cur);
		s->st_updated += upd && !strcmp(rev, upd);
	}
}

int sts_update_pods(struct sts_sync *s)
{
	bool monotonic = !jv_is_str(jv_path(s->set, "spec.podManagementPolicy"), "Parallel");
	const char *upd = jv_path_str(s->upd_rev, "metadata.name");
	const struct jv *first_unhealthy = NULL;
	int64_t partition = 0;
	int err = 0;

	for (size_t i = 0; i < s->nreplicas && !first_unhealthy; i++)
		if (!s->replicas[i].created || !healthy(s->replicas[i].pod))
			first_unhealthy = s->replicas[i].pod;
	for (size_t i = s->ncondemned; i-- > 0 && !first_unhealthy;)
		if (!healthy(s->condemned[i]))
			first_unhealthy = s->condemned[i];
	if (jv_path(s->set, "metadata.deletionTimestamp"))
		return 0;
	/* the replicas in ordinal order (Parallel: all of them, errors collected) */
	for (size_t i = 0; i < s->nreplicas; i++) {
		int e = 0;

		if (process_replica(s, &s->replicas[i], monotonic, &e) && monotonic)
			return e;
		if (e)
			err = e;
	}
	if (err)
		return err;
	/* then the condemned, highest ordinal first */
	for (size_t i = 0; i < s->ncondemned; i++) {
		const struct jv *p = s->condemned[i];

		if (terminating(p)) {
			if (monotonic)
				return 0;
			continue;
		}
		if (monotonic && p != first_unhealthy &&
		    (!running_ready(p) || !running_available(s, p)))
			return 0;
		claims_to_pod(s, p);
		err = delete_pod(s, p);
		if (err || monotonic)
			return err;
	}
	if (!jv_is_str(jv_path(s->set, "spec.updateStrategy.type"), "RollingUpdate"))
		return 0; /* OnDelete: pods change when someone deletes them */
	jv_path_int(s->set, "spec.updateStrategy.rollingUpdate.partition", &partition);
	for (int64_t t = (int64_t)s->nreplicas - 1; t >= partition && t >= 0; t--) {
		struct sts_replica *r = &s->replicas[t];
		const char *rev = sts_pod_revision(r->pod);

		if ((!rev || !upd || strcmp(rev, upd) != 0) && !terminating(r->pod)) {
			log_info(COMP, "statefulset %s: pod %s terminating for update", s->key,
				 jv_path_str(r->pod, "metadata.name"));
			return delete_pod(s, r->pod);
		}
		if (!healthy(r->pod))
			return 0;
	}
	return 0;
}
