/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volumeprotection: kube-controller-manager 1.32's pvc-protection and pv-protection
 * controllers (pkg/controller/volume/pvcprotection, pkg/controller/volume/pvprotection), the
 * other half of the StorageObjectInUseProtection admission plugin (strategy/storage.c).
 *
 * pvc-protection: a PersistentVolumeClaim without kubernetes.io/pvc-protection that is not
 * being deleted gets it (addFinalizer); one being deleted loses it once no pod uses it
 * (processPVC/isBeingUsed): a pod uses a claim when it is scheduled (spec.nodeName set: the
 * kubelet starts no pod whose claim is being deleted), not terminated (Succeeded, Failed),
 * and names the claim in a persistentVolumeClaim volume or is the owner of an ephemeral
 * volume's claim "<pod>-<volume>". The cached pods are asked first, then the API server
 * (askAPIServer: a pod the cache has not seen yet still counts). Pod events queue the claims
 * of pods that went away, finished or are not scheduled.
 *
 * pv-protection: a PersistentVolume without kubernetes.io/pv-protection gets it; one being
 * deleted loses it unless its status.phase is Bound (isBeingUsed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "workload.h"

#define PVC_FINALIZER "kubernetes.io/pvc-protection"
#define PV_FINALIZER  "kubernetes.io/pv-protection"

struct vp_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *objs, *pods; /* pods: pvc-protection only */
	const struct k8s_kind *kind;
	const char *finalizer;
	struct kc_queue *q;
	struct kc_workers *w;
};

/* Worth a sync: being deleted with the finalizer, or without it and not being deleted. */
static bool candidate(const struct vp_ctrl *s, const struct jv *obj)
{
	return (jv_path(obj, "metadata.deletionTimestamp") != NULL) ==
	       ctrl_has_finalizer(obj, s->finalizer);
}

static void obj_add(void *arg, const struct kc_obj *o, const struct jv *obj)
{
	struct vp_ctrl *s = arg;
	char key[512];

	(void)o;
	if (candidate(s, obj) && kc_key_of(obj, key, sizeof(key)))
		kc_queue_add(s->q, key);
}

static void obj_update(void *arg, const struct kc_obj *oo, const struct jv *old,
		       const struct kc_obj *co, const struct jv *cur)
{
	(void)oo;
	(void)old;
	obj_add(arg, co, cur);
}

/* ---- pvc-protection: which pods use a claim ---- */

static bool pod_terminated(const struct jv *pod)
{
	const char *phase = jv_path_str(pod, "status.phase");

	return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

/* The claim a volume of pod names ("<pod>-<volume>" for an ephemeral one) into buf. */
static const char *volume_claim(const struct jv *pod, const struct jv *vol, char *buf, size_t size)
{
	const char *claim = jv_path_str(vol, "persistentVolumeClaim.claimName");

	if (claim)
		return claim;
	if (!jv_get(vol, "ephemeral"))
		return NULL;
	snprintf(buf, size, "%s-%s", jv_path_str(pod, "metadata.name") ?: "",
		 jv_path_str(vol, "name") ?: "");
	return buf;
}

/* podUsesPVC */
static bool pod_uses(const struct jv *pod, const char *claim)
{
	const char *node = jv_path_str(pod, "spec.nodeName");
	char buf[512];

	if (!node || !node[0] || pod_terminated(pod))
		return false;
	for (const struct jv *v = jv_first(jv_path(pod, "spec.volumes")); v; v = v->next) {
		const char *c = volume_claim(pod, v, buf, sizeof(buf));

		if (c && strcmp(c, claim) == 0)
			return true;
	}
	return false;
}

/* Pod events: the claims of a pod that can no longer hold them (kube's
 * podAddedDeletedUpdated: deleted, terminated or not scheduled). */
static void queue_claims(struct vp_ctrl *s, const struct jv *pod, bool deleted)
{
	const char *ns = jv_path_str(pod, "metadata.namespace"), *node;
	char buf[512], key[1024];

	node = jv_path_str(pod, "spec.nodeName");
	if (!ns || (!deleted && !pod_terminated(pod) && node && node[0]))
		return;
	for (const struct jv *v = jv_first(jv_path(pod, "spec.volumes")); v; v = v->next) {
		const char *c = volume_claim(pod, v, buf, sizeof(buf));

		if (c) {
			snprintf(key, sizeof(key), "%s/%s", ns, c);
			kc_queue_add(s->q, key);
		}
	}
}

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *pod)
{
	(void)o;
	queue_claims(arg, pod, false);
}

static void pod_update(void *arg, const struct kc_obj *oo, const struct jv *old,
		       const struct kc_obj *co, const struct jv *cur)
{
	(void)oo;
	(void)old;
	(void)co;
	queue_claims(arg, cur, false);
}

static void pod_del(void *arg, const struct kc_obj *o, const struct jv *pod)
{
	(void)o;
	queue_claims(arg, pod, true);
}

/* isBeingUsed: 1 used, 0 not, -errno (the API server could not be asked) */
static int claim_used(struct vp_ctrl *s, const char *ns, const char *claim)
{
	struct kc_obj **objs = NULL;
	struct kc_list l = {0};
	struct kc_status st;
	size_t n = 0;
	int used = 0, err;

	/* askInformer */
	if (kc_informer_list(s->pods, "namespace", ns, &objs, &n) == 0) {
		for (size_t i = 0; i < n && !used; i++) {
			struct jv_doc *d = jv_doc_new();

			used = d && pod_uses(kc_obj_parse(objs[i], d), claim);
			jv_doc_free(d);
		}
		kc_objs_free(objs, n);
	}
	if (used)
		return 1;
	/* askAPIServer: a pod made since the cache last heard */
	err = kc_list(s->c->kc, ctrl_k_pod, ns, NULL, &l, &st);
	if (err)
		return err;
	for (size_t i = 0; i < l.count && !used; i++) {
		struct jv_doc *d = jv_doc_new();

		used = d && pod_uses(kc_obj_parse(l.items[i], d), claim);
		jv_doc_free(d);
	}
	kc_list_free(&l);
	return used;
}

/* ---- sync ---- */

/* The finalizer added to obj or taken from it, as an update with obj's resourceVersion (a
 * stale copy conflicts and is retried). */
static int set_finalizer(struct vp_ctrl *s, struct jv_doc *d, struct jv *obj, bool add)
{
	struct jv *md = jv_obj_at(d, obj, "metadata"), *keep = jv_new(d, JV_ARRAY);
	struct kc_status st;
	int err;

	if (!md || !keep)
		return -ENOMEM;
	for (struct jv *f = jv_first(jv_get(md, "finalizers")), *next; f; f = next) {
		next = f->next;
		if (jv_is_str(f, s->finalizer))
			continue;
		f->next = NULL;
		f->key = NULL;
		jv_push(keep, f);
	}
	if (add)
		jv_push(keep, jv_new_strz(d, s->finalizer));
	jv_del(md, "finalizers");
	if (jv_count(keep))
		jv_set(d, md, "finalizers", keep);
	err = kc_update(s->c->kc, s->kind, jv_path_str(obj, "metadata.namespace"), NULL, obj, NULL,
			NULL, &st);
	if (err && err != -ENOENT)
		log_info(s->c->name, "%s %s: %s the finalizer: %s", s->kind->kind,
			 jv_path_str(obj, "metadata.name") ?: "", add ? "adding" : "removing",
			 st.message[0] ? st.message : kc_strerror(err));
	return err == -ENOENT ? 0 : err;
}

static int sync_obj(void *arg, const char *key)
{
	struct vp_ctrl *s = arg;
	char *k = strdup(key), *ns = NULL, *name;
	struct jv_doc *d = jv_doc_new();
	struct kc_obj *o = NULL;
	struct jv *obj;
	int err = 0, used = 0;

	if (!k || !d) {
		err = -ENOMEM;
		goto out;
	}
	kc_key_split(k, &ns, &name);
	o = kc_informer_get(s->objs, ns, name);
	obj = o ? kc_obj_parse(o, d) : NULL;
	if (!obj || !candidate(s, obj))
		goto out;
	if (!jv_path(obj, "metadata.deletionTimestamp")) {
		err = set_finalizer(s, d, obj, true); /* needToAddFinalizer */
		goto out;
	}
	if (s->pods)
		used = claim_used(s, ns ? ns : "", name);
	else
		used = jv_is_str(jv_path(obj, "status.phase"), "Bound");
	if (used < 0)
		err = used;
	else if (!used)
		err = set_finalizer(s, d, obj, false);
out:
	kc_obj_put(o);
	jv_doc_free(d);
	free(k);
	return err == -KC_ECONFLICT ? -EAGAIN : err;
}

/* ---- lifecycle ---- */

static int vp_init(struct ctrl_ctx *c, void **state, const struct k8s_kind *kind,
		   const char *finalizer, bool pods)
{
	struct vp_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers oh = {.add = obj_add, .update = obj_update};
	struct kc_handlers ph = {.add = pod_add, .update = pod_update, .del = pod_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->kind = kind;
	s->finalizer = finalizer;
	s->q = kc_queue_new(c->name);
	s->objs = ctrl_informer(c, kind);
	if (pods)
		s->pods = ctrl_informer(c, ctrl_k_pod);
	if (!s->q || !s->objs || (pods && !s->pods))
		return -ENOMEM;
	oh.arg = ph.arg = s;
	if (kc_informer_add_handlers(s->objs, &oh) ||
	    (pods && kc_informer_add_handlers(s->pods, &ph)))
		return -ENOMEM;
	return 0;
}

static int pvc_init(struct ctrl_ctx *c, void **state)
{
	return vp_init(c, state, ctrl_k_pvc, PVC_FINALIZER, true);
}

static int pv_init(struct ctrl_ctx *c, void **state)
{
	return vp_init(c, state, ctrl_k_pv, PV_FINALIZER, false);
}

static int vp_run(void *state)
{
	struct vp_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_obj, s, s->c->name);
	return s->w ? 0 : -ENOMEM;
}

static void vp_stop(void *state)
{
	struct vp_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s);
}

/* kube-controller-manager's "pvc-protection" and "pv-protection" (the aliases of
 * persistentvolumeclaim-protection-controller and persistentvolume-protection-controller) */
const struct ctrl_desc ctrl_pvc_protection = {
    .name = "pvc-protection",
    .component = "pvc-protection-controller",
    .init = pvc_init,
    .run = vp_run,
    .stop = vp_stop,
};

const struct ctrl_desc ctrl_pv_protection = {
    .name = "pv-protection",
    .component = "pv-protection-controller",
    .init = pv_init,
    .run = vp_run,
    .stop = vp_stop,
};
