/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvbinder: kube-controller-manager 1.32's persistentvolume-binder controller
 * (pkg/controller/volume/persistentvolume/pv_controller.go), the part that needs no volume
 * plugin: claims are bound to volumes and volumes follow their claims.
 *
 * A claim (syncClaim): without bind-completed it is unbound (syncUnboundClaim): with no
 * spec.volumeName it gets the best volume (pvmatch.c) and both sides are written (bind: the
 * volume's claimRef, then its phase Bound, then the claim's volumeName with
 * bind-completed/bound-by-controller, then its status Bound with the volume's capacity and
 * access modes); with none, it waits (WaitForFirstConsumer until the scheduler names a node),
 * is handed to its class's provisioner (the storage-provisioner annotations,
 * ExternalProvisioning: every provisioner is external here, rancher.io/local-path in
 * localpath.c among them), or waits for a volume (FailedBinding). A claim naming a volume
 * (pre-bound) is bound to it when the volume is free or already points back. A bound claim
 * whose volume is gone is Lost (ClaimLost).
 *
 * A volume (syncVolume): no claimRef, or a claimRef without uid (pre-bound by a user), is
 * Available; one whose claim is gone (checked with the API server, not only the cache) is
 * Released and reclaimed per persistentVolumeReclaimPolicy: Retain keeps it; Delete of a
 * volume a provisioner made is that provisioner's (it deletes the volume; the local-path one
 * removes the directory first); Delete of any other volume needs an in-tree deleter drover
 * does not have (VolumeFailedDelete, phase Failed, as kube without a matching plugin).
 *
 * One worker and one queue of keys "c:<ns>/<name>" (claims) and "v:<name>" (volumes), so no
 * claim and volume are bound twice at once (kube: one worker per queue and a bind cache).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"
#include "nodematch.h"
#include "pvmatch.h"

struct pvb {
	struct ctrl_ctx *c;
	struct kc_informer *pvcs, *pvs, *classes, *nodes;
	const struct k8s_kind *k_class;
	struct kc_queue *q;
	struct kc_workers *w;
};

/* ---- handlers ---- */

static bool has_ann(const struct jv *obj, const char *ann)
{
	return jv_get(jv_path(obj, "metadata.annotations"), ann) != NULL;
}

static void queue_claim(struct pvb *s, const char *ns, const char *name)
{
	char key[600];

	if (!ns || !name)
		return;
	snprintf(key, sizeof(key), "c:%s/%s", ns, name);
	kc_queue_add(s->q, key);
}

static void queue_volume(struct pvb *s, const char *name)
{
	char key[300];

	if (!name || !name[0])
		return;
	snprintf(key, sizeof(key), "v:%s", name);
	kc_queue_add(s->q, key);
}

/* Every claim not bound yet (also one naming a volume that was not there): a volume became
 * free (kube's periodic resync finds them). */
static void queue_pending_claims(struct pvb *s)
{
	struct kc_obj **objs = NULL;
	size_t n = 0;

	if (kc_informer_list(s->pvcs, NULL, NULL, &objs, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *cl = d ? kc_obj_parse(objs[i], d) : NULL;

		if (cl && !has_ann(cl, PV_ANN_BIND_COMPLETED))
			queue_claim(s, jv_path_str(cl, "metadata.namespace"),
				    jv_path_str(cl, "metadata.name"));
		jv_doc_free(d);
	}
	kc_objs_free(objs, n);
}

static void claim_add(void *arg, const struct kc_obj *o, const struct jv *cl)
{
	(void)o;
	queue_claim(arg, jv_path_str(cl, "metadata.namespace"), jv_path_str(cl, "metadata.name"));
}

static void claim_update(void *arg, const struct kc_obj *oo, const struct jv *old,
			 const struct kc_obj *co, const struct jv *cur)
{
	(void)oo;
	(void)old;
	claim_add(arg, co, cur);
}

/* deleteClaim: the volume it was bound to is released */
static void claim_del(void *arg, const struct kc_obj *o, const struct jv *cl)
{
	(void)o;
	queue_volume(arg, jv_path_str(cl, "spec.volumeName"));
}

static void volume_add(void *arg, const struct kc_obj *o, const struct jv *pv)
{
	struct pvb *s = arg;
	const struct jv *ref = jv_path(pv, "spec.claimRef");

	(void)o;
	queue_volume(s, jv_path_str(pv, "metadata.name"));
	if (ref)
		queue_claim(s, jv_path_str(ref, "namespace"), jv_path_str(ref, "name"));
	else if (jv_is_str(jv_path(pv, "status.phase"), "Available"))
		queue_pending_claims(s);
}

static void volume_update(void *arg, const struct kc_obj *oo, const struct jv *old,
			  const struct kc_obj *co, const struct jv *cur)
{
	(void)oo;
	(void)old;
	volume_add(arg, co, cur);
}

/* deleteVolume: its claim is synced (it may be Lost now) */
static void volume_del(void *arg, const struct kc_obj *o, const struct jv *pv)
{
	const struct jv *ref = jv_path(pv, "spec.claimRef");

	(void)o;
	if (ref)
		queue_claim(arg, jv_path_str(ref, "namespace"), jv_path_str(ref, "name"));
}

/* ---- reads ---- */

static struct jv *cached(struct kc_informer *inf, const char *ns, const char *name,
			 struct jv_doc *d)
{
	struct kc_obj *o = name ? kc_informer_get(inf, ns, name) : NULL;
	struct jv *t = o ? kc_obj_parse(o, d) : NULL;

	kc_obj_put(o);
	return t;
}

static int set_ann(struct jv_doc *d, struct jv *obj, const char *ann, const char *val)
{
	struct jv *md = jv_obj_at(d, obj, "metadata");
	struct jv *a = md ? jv_obj_at(d, md, "annotations") : NULL;

	return a ? jv_set(d, a, ann, jv_new_strz(d, val)) : -ENOMEM;
}

/* IsDelayBindingMode: the claim's class binds WaitForFirstConsumer. The class, if any, into
 * *class (NULL: the claim names none or it does not exist). */
static bool delay_binding(struct pvb *s, const struct jv *claim, struct jv_doc *d,
			  struct jv **class)
{
	const char *name = pv_class_of(claim);

	*class = name[0] ? cached(s->classes, NULL, name, d) : NULL;
	return jv_is_str(jv_path(*class, "volumeBindingMode"), "WaitForFirstConsumer");
}

/* ---- writes ---- */

static int write_obj(struct pvb *s, const struct k8s_kind *k, const char *sub, struct jv *obj)
{
	struct kc_status st = {0};
	int err = kc_update(s->c->kc, k, jv_path_str(obj, "metadata.namespace"), sub, obj, NULL,
			    NULL, &st);

	if (err && err != -KC_ECONFLICT && err != -ENOENT)
		log_info(s->c->name, "%s %s%s%s: %s", k->kind,
			 jv_path_str(obj, "metadata.name") ?: "", sub ? "/" : "", sub ? sub : "",
			 st.message[0] ? st.message : kc_strerror(err));
	return err;
}

/* updateClaimStatus / updateVolumePhase: the phase (and, for a claim bound to vol, the
 * volume's capacity and access modes), written only when it changes. */
static int set_phase(struct pvb *s, const struct k8s_kind *k, struct jv_doc *d, struct jv *obj,
		     const char *phase, const struct jv *vol)
{
	struct jv *st = jv_obj_at(d, obj, "status");
	bool same = jv_is_str(jv_get(st, "phase"), phase);

	if (!st)
		return -ENOMEM;
	if (vol) {
		const struct jv *cap = jv_path(vol, "spec.capacity"),
				*modes = jv_path(vol, "spec.accessModes");

		same = same && jv_equal(jv_get(st, "capacity"), cap) &&
		       jv_equal(jv_get(st, "accessModes"), modes);
		if (cap)
			jv_set(d, st, "capacity", jv_copy(d, cap));
		if (modes)
			jv_set(d, st, "accessModes", jv_copy(d, modes));
	}
	if (same)
		return 0;
	jv_set(d, st, "phase", jv_new_strz(d, phase));
	return write_obj(s, k, "status", obj);
}

/* bindVolumeToClaim: the volume's claimRef to claim (bound-by-controller if we chose it),
 * then its phase Bound. */
static int bind_volume(struct pvb *s, struct jv_doc *d, struct jv *vol, const struct jv *claim)
{
	struct jv *ref;
	int err;

	if (!pv_bound_to_claim(vol, claim) || !jv_path_str(vol, "spec.claimRef.uid")) {
		struct jv *spec = jv_obj_at(d, vol, "spec");

		if (!spec)
			return -ENOMEM;
		if (!jv_get(spec, "claimRef"))
			set_ann(d, vol, PV_ANN_BOUND_BY_CTRL, "yes");
		ref = jv_new(d, JV_OBJECT);
		if (!ref)
			return -ENOMEM;
		/* GetReference(claim) */
		jv_set(d, ref, "kind", jv_new_strz(d, "PersistentVolumeClaim"));
		jv_set(d, ref, "namespace",
		       jv_new_strz(d, jv_path_str(claim, "metadata.namespace") ?: ""));
		jv_set(d, ref, "name", jv_new_strz(d, jv_path_str(claim, "metadata.name") ?: ""));
		jv_set(d, ref, "uid", jv_new_strz(d, jv_path_str(claim, "metadata.uid") ?: ""));
		jv_set(d, ref, "apiVersion", jv_new_strz(d, "v1"));
		jv_set(d, ref, "resourceVersion",
		       jv_new_strz(d, jv_path_str(claim, "metadata.resourceVersion") ?: ""));
		jv_set(d, spec, "claimRef", ref);
		err = write_obj(s, ctrl_k_pv, NULL, vol);
		if (err)
			return err;
		/* the status write goes to what was stored: read it back */
		return -EAGAIN;
	}
	return set_phase(s, ctrl_k_pv, d, vol, "Bound", NULL);
}

/* bindClaimToVolume + updateClaimStatus: the claim's volumeName and annotations, then its
 * status Bound with the volume's capacity and access modes. */
static int bind_claim(struct pvb *s, struct jv_doc *d, struct jv *claim, const struct jv *vol)
{
	const char *vname = jv_path_str(vol, "metadata.name");

	if (!jv_is_str(jv_path(claim, "spec.volumeName"), vname) ||
	    !has_ann(claim, PV_ANN_BIND_COMPLETED)) {
		struct jv *spec = jv_obj_at(d, claim, "spec");
		int err;

		if (!spec)
			return -ENOMEM;
		if (!jv_path_str(claim, "spec.volumeName"))
			set_ann(d, claim, PV_ANN_BOUND_BY_CTRL, "yes");
		jv_set(d, spec, "volumeName", jv_new_strz(d, vname));
		set_ann(d, claim, PV_ANN_BIND_COMPLETED, "yes");
		err = write_obj(s, ctrl_k_pvc, NULL, claim);
		return err ? err : -EAGAIN;
	}
	return set_phase(s, ctrl_k_pvc, d, claim, "Bound", vol);
}

/* bind: volume first, so a crash in between leaves a volume pointing at its claim, which the
 * next sync finishes (pre-bound). -EAGAIN after each write: the next sync reads it back. */
static int bind(struct pvb *s, struct jv_doc *d, struct jv *claim, struct jv *vol)
{
	int err;

	if (!jv_is_str(jv_path(vol, "status.phase"), "Bound") || !pv_bound_to_claim(vol, claim) ||
	    !jv_path_str(vol, "spec.claimRef.uid")) {
		err = bind_volume(s, d, vol, claim);
		if (err)
			return err;
	}
	return bind_claim(s, d, claim, vol);
}

/* ---- claims ---- */

/* Every cached volume's tree (in d), for the matcher. *out malloc'd. */
static int all_volumes(struct pvb *s, struct jv_doc *d, const struct jv ***out, size_t *n)
{
	struct kc_obj **objs = NULL;
	const struct jv **v;
	size_t cnt = 0, k = 0;
	int err = kc_informer_list(s->pvs, NULL, NULL, &objs, &cnt);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v) {
		kc_objs_free(objs, cnt);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cnt; i++)
		if ((v[k] = kc_obj_parse(objs[i], d)))
			k++;
	kc_objs_free(objs, cnt);
	*out = v;
	*n = k;
	return 0;
}

/* WaitForFirstConsumer with the node chosen: the volumes whose required node affinity
 * admits that node (the scheduler's FindMatchingVolume with a node, which kube-scheduler's
 * VolumeBinding runs before it names the node; here the binder does it once the node is
 * named), kept at the front of vols; their count. *delay false: they may bind now. */
static size_t on_node(struct pvb *s, struct jv_doc *d, const struct jv *claim,
		      const struct jv **vols, size_t n, bool *delay)
{
	const char *name =
	    jv_path_str(jv_get(jv_path(claim, "metadata.annotations"), PV_ANN_SELECTED_NODE), "");
	struct jv *node = cached(s->nodes, NULL, name, d);
	size_t k = 0;

	if (!node)
		return n; /* not known (yet): nothing binds early */
	for (size_t i = 0; i < n; i++) {
		const struct jv *terms =
		    jv_path(vols[i], "spec.nodeAffinity.required.nodeSelectorTerms");
		bool fits = !jv_count(terms);

		for (const struct jv *t = jv_first(terms); t && !fits; t = t->next)
			fits = ctrl_node_term_matches(t, node);
		if (fits)
			vols[k++] = vols[i];
	}
	*delay = false;
	return k;
}

/* provisionClaim for a provisioner outside the controller: the claim is annotated with it
 * (setClaimProvisioner) and the provisioner does the rest. */
static int provision(struct pvb *s, struct jv_doc *d, struct jv *claim, const struct jv *class)
{
	const char *prov = jv_path_str(class, "provisioner");

	if (!class) {
		kc_event(s->c->rec, claim, "Warning", "ProvisioningFailed",
			 "storageclass.storage.k8s.io \"%s\" not found", pv_class_of(claim));
		return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL);
	}
	if (!prov)
		prov = "";
	if (strcmp(prov, "kubernetes.io/no-provisioner") == 0) {
		/* no provisioner: only a volume made by hand binds */
		kc_event(s->c->rec, claim, "Normal", "FailedBinding",
			 "no persistent volumes available for this claim and no storage class is "
			 "set");
		return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL);
	}
	kc_event(s->c->rec, claim, "Normal", "ExternalProvisioning",
		 "Waiting for a volume to be created either by the external provisioner '%s' or "
		 "manually by the system administrator. If volume creation is delayed, please "
		 "verify that the provisioner is running and correctly registered.",
		 prov);
	if (!jv_is_str(jv_get(jv_path(claim, "metadata.annotations"), PV_ANN_STORAGE_PROV), prov)) {
		set_ann(d, claim, PV_ANN_STORAGE_PROV, prov);
		set_ann(d, claim, PV_ANN_STORAGE_PROV_OLD, prov);
		return write_obj(s, ctrl_k_pvc, NULL, claim);
	}
	return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL);
}

static int sync_unbound_claim(struct pvb *s, struct jv_doc *d, struct jv *claim)
{
	const char *vname = jv_path_str(claim, "spec.volumeName");
	struct jv *class, *vol;
	bool delay = delay_binding(s, claim, d, &class);
	int err;

	if (!vname) {
		const struct jv **vols;
		size_t n;
		int i;

		err = all_volumes(s, d, &vols, &n);
		if (err)
			return err;
		if (delay && has_ann(claim, PV_ANN_SELECTED_NODE))
			n = on_node(s, d, claim, vols, n, &delay);
		i = pv_find_best(claim, vols, n, delay);
		vol = i >= 0 ? (struct jv *)vols[i] : NULL;
		free(vols);
		if (vol)
			return bind(s, d, claim, vol);
		if (delay && !has_ann(claim, PV_ANN_SELECTED_NODE)) {
			kc_event(s->c->rec, claim, "Normal", "WaitForFirstConsumer",
				 "waiting for first consumer to be created before binding");
			return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL);
		}
		if (pv_class_of(claim)[0])
			return provision(s, d, claim, class);
		kc_event(s->c->rec, claim, "Normal", "FailedBinding",
			 "no persistent volumes available for this claim and no storage class is "
			 "set");
		return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL);
	}
	/* the user asked for a volume */
	vol = cached(s->pvs, NULL, vname, d);
	if (!vol)
		return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL); /* not there yet */
	if (!jv_path(vol, "spec.claimRef")) {
		const char *why = pv_check_satisfies(vol, claim);

		if (why) {
			kc_event(s->c->rec, claim, "Warning", "VolumeMismatch",
				 "Cannot bind to requested volume \"%s\": %s", vname, why);
			return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL);
		}
		return bind(s, d, claim, vol);
	}
	if (pv_bound_to_claim(vol, claim))
		return bind(s, d, claim, vol); /* finish the binding */
	/* the volume is someone else's */
	if (!has_ann(claim, PV_ANN_BOUND_BY_CTRL))
		kc_event(s->c->rec, claim, "Warning", "FailedBinding",
			 "volume \"%s\" already bound to a different claim.", vname);
	return set_phase(s, ctrl_k_pvc, d, claim, "Pending", NULL);
}

static int sync_bound_claim(struct pvb *s, struct jv_doc *d, struct jv *claim)
{
	const char *vname = jv_path_str(claim, "spec.volumeName");
	struct jv *vol;

	if (!vname) {
		if (!jv_is_str(jv_path(claim, "status.phase"), "Lost"))
			kc_event(s->c->rec, claim, "Warning", "ClaimLost",
				 "Bound claim has lost reference to PersistentVolume. Data on the "
				 "volume is lost!");
		return set_phase(s, ctrl_k_pvc, d, claim, "Lost", NULL);
	}
	vol = cached(s->pvs, NULL, vname, d);
	if (!vol) {
		if (!jv_is_str(jv_path(claim, "status.phase"), "Lost"))
			kc_event(s->c->rec, claim, "Warning", "ClaimLost",
				 "Bound claim has lost its PersistentVolume. Data on the volume is "
				 "lost!");
		return set_phase(s, ctrl_k_pvc, d, claim, "Lost", NULL);
	}
	if (!jv_path(vol, "spec.claimRef") || pv_bound_to_claim(vol, claim))
		return bind(s, d, claim, vol);
	kc_event(s->c->rec, claim, "Warning", "ClaimMisbound",
		 "Two claims are bound to the same volume, this one is bound incorrectly");
	return set_phase(s, ctrl_k_pvc, d, claim, "Lost", NULL);
}

static int sync_claim(struct pvb *s, char *key, struct jv_doc *d)
{
	char *ns, *name;
	struct jv *claim;

	kc_key_split(key, &ns, &name);
	claim = cached(s->pvcs, ns, name, d);
	if (!claim)
		return 0;
	if (!has_ann(claim, PV_ANN_BIND_COMPLETED))
		return sync_unbound_claim(s, d, claim);
	return sync_bound_claim(s, d, claim);
}

/* ---- volumes ---- */

/* The volume's claim by its claimRef: the cache, then the API server (a claim the cache has
 * not seen yet must not release its volume). 1 found (same uid), 0 gone, -errno. */
static int find_claim(struct pvb *s, const struct jv *ref, struct jv_doc *d, struct jv **out)
{
	const char *ns = jv_path_str(ref, "namespace"), *name = jv_path_str(ref, "name"),
		   *uid = jv_path_str(ref, "uid");
	struct kc_obj *o = NULL;
	struct kc_status st;
	int err;

	*out = cached(s->pvcs, ns, name, d);
	if (!*out) {
		err = kc_get(s->c->kc, ctrl_k_pvc, ns, name, &o, &st);
		if (err && err != -ENOENT)
			return err;
		*out = o ? kc_obj_parse(o, d) : NULL;
		kc_obj_put(o);
	}
	if (*out && uid && !jv_is_str(jv_path(*out, "metadata.uid"), uid))
		*out = NULL; /* another claim of that name */
	return *out != NULL;
}

/* Is the volume one an external provisioner made (it deletes it)? */
static bool provisioned(const struct jv *vol)
{
	const struct jv *a = jv_path(vol, "metadata.annotations");

	return jv_get(a, PV_ANN_PROVISIONED_BY) || jv_get(a, PV_ANN_PROVISIONED_BY2);
}

/* reclaimVolume */
static int reclaim(struct pvb *s, struct jv_doc *d, struct jv *vol)
{
	const char *policy = jv_path_str(vol, "spec.persistentVolumeReclaimPolicy");

	if (!policy || strcmp(policy, "Retain") == 0)
		return 0;
	if (strcmp(policy, "Delete") == 0) {
		if (provisioned(vol))
			return 0; /* the provisioner's: it deletes the volume */
		if (jv_is_str(jv_path(vol, "status.phase"), "Failed"))
			return 0;
		kc_event(
		    s->c->rec, vol, "Warning", "VolumeFailedDelete",
		    "error getting deleter volume plugin for volume \"%s\": no deletable volume "
		    "plugin matched",
		    jv_path_str(vol, "metadata.name") ?: "");
		return set_phase(s, ctrl_k_pv, d, vol, "Failed", NULL);
	}
	/* Recycle: deprecated, and no recycler here */
	if (jv_is_str(jv_path(vol, "status.phase"), "Failed"))
		return 0;
	kc_event(s->c->rec, vol, "Warning", "VolumeFailedRecycle",
		 "No recycler plugin found for the volume!");
	return set_phase(s, ctrl_k_pv, d, vol, "Failed", NULL);
}

/* unbindVolume: a claimRef the controller set is dropped (the volume is free again); one a
 * user set loses only its uid (pre-bound again). */
static int unbind_volume(struct pvb *s, struct jv_doc *d, struct jv *vol)
{
	struct jv *spec = jv_obj_at(d, vol, "spec");
	int err;

	if (!spec)
		return -ENOMEM;
	if (has_ann(vol, PV_ANN_BOUND_BY_CTRL)) {
		jv_del(spec, "claimRef");
		jv_del(jv_path(vol, "metadata.annotations"), PV_ANN_BOUND_BY_CTRL);
	} else {
		jv_del(jv_get(spec, "claimRef"), "uid");
	}
	err = write_obj(s, ctrl_k_pv, NULL, vol);
	return err ? err : -EAGAIN;
}

static int sync_volume(struct pvb *s, const char *name, struct jv_doc *d)
{
	struct jv *vol = cached(s->pvs, NULL, name, d), *claim;
	const struct jv *ref;
	const char *phase;
	int found;

	if (!vol)
		return 0;
	ref = jv_path(vol, "spec.claimRef");
	phase = jv_path_str(vol, "status.phase");
	if (!ref || !jv_path_str(ref, "uid") || !jv_path_str(ref, "uid")[0])
		return set_phase(s, ctrl_k_pv, d, vol, "Available", NULL);
	found = find_claim(s, ref, d, &claim);
	if (found < 0)
		return found;
	if (!found) {
		/* the claim was deleted: Released, then the reclaim policy */
		if (!phase || (strcmp(phase, "Released") && strcmp(phase, "Failed"))) {
			int err = set_phase(s, ctrl_k_pv, d, vol, "Released", NULL);

			if (err)
				return err;
			return -EAGAIN;
		}
		return reclaim(s, d, vol);
	}
	if (!jv_path_str(claim, "spec.volumeName")) {
		/* binding in progress: the claim's sync finishes it */
		queue_claim(s, jv_path_str(claim, "metadata.namespace"),
			    jv_path_str(claim, "metadata.name"));
		return 0;
	}
	if (jv_is_str(jv_path(claim, "spec.volumeName"), name))
		return set_phase(s, ctrl_k_pv, d, vol, "Bound", NULL);
	/* the claim is bound to another volume */
	if (has_ann(vol, PV_ANN_BOUND_BY_CTRL) || !provisioned(vol))
		return unbind_volume(s, d, vol);
	return 0;
}

/* ---- sync ---- */

static int sync_key(void *arg, const char *key)
{
	struct pvb *s = arg;
	struct jv_doc *d = jv_doc_new();
	char *k = strdup(key);
	int err = -ENOMEM;

	if (d && k)
		err = k[0] == 'c' ? sync_claim(s, k + 2, d) : sync_volume(s, k + 2, d);
	jv_doc_free(d);
	free(k);
	if (err == -KC_ECONFLICT || err == -ENOENT)
		err = -EAGAIN;
	return err;
}

/* ---- lifecycle ---- */

static int pvb_init(struct ctrl_ctx *c, void **state)
{
	struct pvb *s = calloc(1, sizeof(*s));
	struct kc_handlers ch = {.add = claim_add, .update = claim_update, .del = claim_del};
	struct kc_handlers vh = {.add = volume_add, .update = volume_update, .del = volume_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->k_class = k8s_kind_find("storage.k8s.io/v1", "StorageClass");
	s->q = kc_queue_new(c->name);
	s->pvcs = ctrl_informer(c, ctrl_k_pvc);
	s->pvs = ctrl_informer(c, ctrl_k_pv);
	s->classes = s->k_class ? ctrl_informer(c, s->k_class) : NULL;
	s->nodes = ctrl_informer(c, ctrl_k_node);
	if (!s->q || !s->pvcs || !s->pvs || !s->classes || !s->nodes)
		return -ENOMEM;
	ch.arg = vh.arg = s;
	if (kc_informer_add_handlers(s->pvcs, &ch) || kc_informer_add_handlers(s->pvs, &vh))
		return -ENOMEM;
	return 0;
}

static int pvb_run(void *state)
{
	struct pvb *s = state;

	/* one worker: a claim and a volume are never bound by two at once */
	s->w = kc_workers_start(s->q, 1, sync_key, s, s->c->name);
	return s->w ? 0 : -ENOMEM;
}

static void pvb_stop(void *state)
{
	struct pvb *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s);
}

static void pvb_quiesce(void *state)
{
	struct pvb *s = state;

	if (s)
		ctrl_queue_quiesce(&s->w, s->q);
}

/* kube-controller-manager's "persistentvolume-binder"; its Events' source is
 * "persistentvolume-controller" */
const struct ctrl_desc ctrl_pv_binder = {
    .name = "persistentvolume-binder",
    .component = "persistentvolume-controller",
    .init = pvb_init,
    .run = pvb_run,
    .stop = pvb_stop,
    .quiesce = pvb_quiesce,
};
