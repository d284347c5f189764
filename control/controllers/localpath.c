/* SPDX-License-Identifier: Apache-2.0 */
/*
 * localpath: k3s's local-path provisioner (rancher/local-path-provisioner over
 * sigs.k8s.io/sig-storage-lib-external-provisioner) built in, under k3s's provisioner name
 * "rancher.io/local-path" so that manifests written for k3s work unchanged.
 *
 * Provision: a claim the binder handed to "rancher.io/local-path" (its storage-provisioner
 * annotation) gets, once the scheduler has named its node (volume.kubernetes.io/selected-node;
 * WaitForFirstConsumer is the only mode it serves, as k3s's), a PersistentVolume "pvc-<uid>"
 * pre-bound to it (claimRef): hostPath <dir>/pvc-<uid>_<ns>_<name> of type DirectoryOrCreate
 * with a required node affinity to kubernetes.io/hostname=<node>, the claim's access modes and
 * request, the class's reclaim policy. The agent on that node makes the directory (mode 0777,
 * as k3s's setup helper does) when it first mounts the volume; the binder then binds the claim.
 *
 * Delete: a volume it made that is Released with reclaim policy Delete: a helper pod on its
 * node (k3s's helper-pod-delete-<pv>, kube-system, the helper image, `rm -rf "$VOL_DIR"` over
 * a hostPath of the parent directory) removes the directory; once it Succeeded the pod and
 * the volume are deleted. A failed helper is an Event (VolumeFailedDelete) and a retry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "k8s.h"
#include "log.h"
#include "pvmatch.h"

#define LP_NAME	      "rancher.io/local-path"
#define LP_ANN_NODE   "local.path.provisioner/selected-node"
#define LP_HELPER_NS  "kube-system"
#define LP_POLL_MS    300
#define LP_DEFAULT_IM "busybox:latest"

struct lp {
	struct ctrl_ctx *c;
	struct kc_informer *pvcs, *pvs;
	const struct k8s_kind *k_class;
	struct kc_queue *q;
	struct kc_workers *w;
};

static void claim_add(void *arg, const struct kc_obj *o, const struct jv *cl)
{
	struct lp *s = arg;
	char key[600];

	(void)o;
	if (!jv_is_str(jv_get(jv_path(cl, "metadata.annotations"), PV_ANN_STORAGE_PROV), LP_NAME))
		return;
	snprintf(key, sizeof(key), "c:%s/%s", jv_path_str(cl, "metadata.namespace") ?: "",
		 jv_path_str(cl, "metadata.name") ?: "");
	kc_queue_add(s->q, key);
}

static void claim_update(void *arg, const struct kc_obj *oo, const struct jv *old,
			 const struct kc_obj *co, const struct jv *cur)
{
	(void)oo;
	(void)old;
	claim_add(arg, co, cur);
}

static bool ours(const struct jv *vol)
{
	const struct jv *a = jv_path(vol, "metadata.annotations");

	return jv_is_str(jv_get(a, PV_ANN_PROVISIONED_BY), LP_NAME) ||
	       jv_is_str(jv_get(a, PV_ANN_PROVISIONED_BY2), LP_NAME);
}

static void volume_add(void *arg, const struct kc_obj *o, const struct jv *vol)
{
	struct lp *s = arg;
	char key[300];

	(void)o;
	if (!ours(vol))
		return;
	snprintf(key, sizeof(key), "v:%s", jv_path_str(vol, "metadata.name") ?: "");
	kc_queue_add(s->q, key);
}

static void volume_update(void *arg, const struct kc_obj *oo, const struct jv *old,
			  const struct kc_obj *co, const struct jv *cur)
{
	(void)oo;
	(void)old;
	volume_add(arg, co, cur);
}

/* ---- provision ---- */

static struct jv *get_obj(struct lp *s, const struct k8s_kind *k, const char *ns, const char *name,
			  struct jv_doc *d, int *err)
{
	struct kc_obj *o = NULL;
	struct kc_status st;
	struct jv *t;

	*err = kc_get(s->c->kc, k, ns, name, &o, &st);
	if (*err == -ENOENT)
		*err = 0;
	t = o ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	return t;
}

static int provision(struct lp *s, const char *key, struct jv_doc *d)
{
	char *k = strdup(key), *ns, *name, pvname[128], path[4096];
	const char *node, *uid, *policy, *req;
	struct kc_obj *o;
	struct jv *claim, *class, *pv;
	struct k8s_buf b = {0};
	struct kc_status st = {0};
	int err = 0;

	if (!k)
		return -ENOMEM;
	kc_key_split(k, &ns, &name);
	o = kc_informer_get(s->pvcs, ns, name);
	claim = o ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	if (!claim || jv_path_str(claim, "spec.volumeName") ||
	    jv_path(claim, "metadata.deletionTimestamp") ||
	    !jv_is_str(jv_get(jv_path(claim, "metadata.annotations"), PV_ANN_STORAGE_PROV),
		       LP_NAME))
		goto out;
	uid = jv_path_str(claim, "metadata.uid");
	snprintf(pvname, sizeof(pvname), "pvc-%s", uid ? uid : "");
	o = kc_informer_get(s->pvs, NULL, pvname);
	kc_obj_put(o);
	if (o) /* made already */
		goto out;
	class = get_obj(s, s->k_class, NULL, pv_class_of(claim), d, &err);
	if (err || !class || !jv_is_str(jv_get(class, "provisioner"), LP_NAME))
		goto out;
	node =
	    jv_path_str(jv_get(jv_path(claim, "metadata.annotations"), PV_ANN_SELECTED_NODE), "");
	if (!node || !node[0]) {
		/* provisioner.go Provision: the volume is local to a node */
		kc_event(
		    s->c->rec, claim, "Warning", "ProvisioningFailed",
		    "failed to provision volume with StorageClass \"%s\": configuration error, "
		    "no node was specified",
		    pv_class_of(claim));
		goto out;
	}
	kc_event(s->c->rec, claim, "Normal", "Provisioning",
		 "External provisioner is provisioning volume for claim \"%s/%s\"", ns, name);
	/* k3s: <dir>/<pv>_<ns>_<claim> */
	snprintf(path, sizeof(path), "%s/%s_%s_%s", s->c->cfg->local_path_dir, pvname, ns, name);
	policy = jv_path_str(class, "reclaimPolicy");
	req = jv_path_str(claim, "spec.resources.requests.storage");
	k8s_buf_puts(&b, "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{"
			 "\"name\":");
	k8s_buf_json_string(&b, pvname, strlen(pvname));
	k8s_buf_puts(&b, ",\"annotations\":{\"" PV_ANN_PROVISIONED_BY "\":\"" LP_NAME
			 "\",\"" LP_ANN_NODE "\":");
	k8s_buf_json_string(&b, node, strlen(node));
	k8s_buf_puts(&b, "}},\"spec\":{\"persistentVolumeReclaimPolicy\":");
	k8s_buf_json_string(&b, policy ? policy : "Delete", strlen(policy ? policy : "Delete"));
	k8s_buf_puts(&b, ",\"storageClassName\":");
	k8s_buf_json_string(&b, pv_class_of(claim), strlen(pv_class_of(claim)));
	k8s_buf_puts(&b, ",\"volumeMode\":\"Filesystem\",\"accessModes\":");
	pv = jv_path(claim, "spec.accessModes");
	if (pv)
		jv_write(&b, pv);
	else
		k8s_buf_puts(&b, "[\"ReadWriteOnce\"]");
	k8s_buf_puts(&b, ",\"capacity\":{\"storage\":");
	k8s_buf_json_string(&b, req ? req : "0", strlen(req ? req : "0"));
	k8s_buf_puts(&b, "},\"hostPath\":{\"type\":\"DirectoryOrCreate\",\"path\":");
	k8s_buf_json_string(&b, path, strlen(path));
	k8s_buf_puts(&b, "},\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":[{"
			 "\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\",\"operator\":"
			 "\"In\",\"values\":[");
	k8s_buf_json_string(&b, node, strlen(node));
	k8s_buf_puts(&b, "]}]}]}},\"claimRef\":{\"kind\":\"PersistentVolumeClaim\","
			 "\"apiVersion\":\"v1\",\"namespace\":");
	k8s_buf_json_string(&b, ns, strlen(ns));
	k8s_buf_puts(&b, ",\"name\":");
	k8s_buf_json_string(&b, name, strlen(name));
	k8s_buf_puts(&b, ",\"uid\":");
	k8s_buf_json_string(&b, uid ? uid : "", strlen(uid ? uid : ""));
	k8s_buf_puts(&b, "}}}");
	if (b.oom) {
		err = -ENOMEM;
		goto out;
	}
	pv = jv_parse(d, b.p, b.len, NULL);
	err = pv ? kc_create(s->c->kc, ctrl_k_pv, NULL, pv, NULL, NULL, &st) : -ENOMEM;
	if (err == -EEXIST)
		err = 0;
	else if (err)
		kc_event(s->c->rec, claim, "Warning", "ProvisioningFailed",
			 "failed to provision volume with StorageClass \"%s\": %s",
			 pv_class_of(claim), st.message[0] ? st.message : kc_strerror(err));
	else
		kc_event(s->c->rec, claim, "Normal", "ProvisioningSucceeded",
			 "Successfully provisioned volume %s", pvname);
out:
	k8s_buf_free(&b);
	free(k);
	return err;
}

/* ---- delete ---- */

/* The helper pod that removes path on node (k3s's helper-pod-delete-<pv>). */
static int helper_create(struct lp *s, const char *pod, const char *node, const char *path,
			 struct jv_doc *d)
{
	const char *image = s->c->cfg->local_path_helper_image;
	char parent[4096];
	struct k8s_buf b = {0};
	struct kc_status st = {0};
	struct jv *t;
	char *slash;
	int err;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = 0;
	if (!image)
		image = LP_DEFAULT_IM;
	k8s_buf_puts(&b, "{\"metadata\":{\"name\":");
	k8s_buf_json_string(&b, pod, strlen(pod));
	k8s_buf_puts(&b, "},\"spec\":{\"nodeName\":");
	k8s_buf_json_string(&b, node, strlen(node));
	k8s_buf_puts(&b, ",\"restartPolicy\":\"Never\",\"automountServiceAccountToken\":false,"
			 "\"priorityClassName\":\"system-node-critical\","
			 "\"tolerations\":[{\"operator\":\"Exists\"}],\"containers\":[{\"name\":"
			 "\"helper-pod\",\"image\":");
	k8s_buf_json_string(&b, image, strlen(image));
	k8s_buf_puts(&b, ",\"command\":[\"/bin/sh\",\"-c\",\"rm -rf \\\"$VOL_DIR\\\"\"],"
			 "\"env\":[{\"name\":\"VOL_DIR\",\"value\":");
	k8s_buf_json_string(&b, path, strlen(path));
	k8s_buf_puts(&b, "}],\"volumeMounts\":[{\"name\":\"helper-data\",\"mountPath\":");
	k8s_buf_json_string(&b, parent, strlen(parent));
	k8s_buf_puts(&b, "}]}],\"volumes\":[{\"name\":\"helper-data\",\"hostPath\":{\"type\":"
			 "\"DirectoryOrCreate\",\"path\":");
	k8s_buf_json_string(&b, parent, strlen(parent));
	k8s_buf_puts(&b, "}}]}}");
	t = b.oom ? NULL : jv_parse(d, b.p, b.len, NULL);
	err = t ? kc_create(s->c->kc, ctrl_k_pod, LP_HELPER_NS, t, NULL, NULL, &st) : -ENOMEM;
	if (err && err != -EEXIST)
		log_info(s->c->name, "helper pod %s: %s", pod,
			 st.message[0] ? st.message : kc_strerror(err));
	k8s_buf_free(&b);
	return err == -EEXIST ? 0 : err;
}

/* The helper pod's phase is looked at again in a while (no pod informer: k3s polls too). */
static int poll_later(struct lp *s, const char *name)
{
	char key[300];

	snprintf(key, sizeof(key), "v:%s", name);
	kc_queue_add_after(s->q, key, LP_POLL_MS);
	return 0;
}

static int delete_volume(struct lp *s, const char *name, struct jv_doc *d)
{
	struct kc_obj *o = kc_informer_get(s->pvs, NULL, name);
	struct jv *vol = o ? kc_obj_parse(o, d) : NULL, *pod;
	const char *node, *path, *phase;
	char pod_name[300];
	struct kc_status st;
	int err = 0;

	kc_obj_put(o);
	if (!vol || !ours(vol) || !jv_is_str(jv_path(vol, "status.phase"), "Released") ||
	    !jv_is_str(jv_path(vol, "spec.persistentVolumeReclaimPolicy"), "Delete"))
		return 0;
	node = jv_path_str(jv_get(jv_path(vol, "metadata.annotations"), LP_ANN_NODE), "");
	path = jv_path_str(vol, "spec.hostPath.path");
	if (!node || !path)
		return 0;
	snprintf(pod_name, sizeof(pod_name), "helper-pod-delete-%s", name);
	pod = get_obj(s, ctrl_k_pod, LP_HELPER_NS, pod_name, d, &err);
	if (err)
		return err;
	if (!pod) {
		err = helper_create(s, pod_name, node, path, d);
		if (err)
			return err;
		return poll_later(s, name);
	}
	phase = jv_path_str(pod, "status.phase");
	if (phase && strcmp(phase, "Failed") == 0) {
		kc_event(s->c->rec, vol, "Warning", "VolumeFailedDelete",
			 "failed to delete volume %s: helper pod %s/%s failed", name, LP_HELPER_NS,
			 pod_name);
		kc_delete(s->c->kc, ctrl_k_pod, LP_HELPER_NS, pod_name, NULL, NULL, &st);
		return -EAGAIN; /* a new helper after the back-off */
	}
	if (!phase || strcmp(phase, "Succeeded") != 0)
		return poll_later(s, name); /* still running */
	kc_delete(s->c->kc, ctrl_k_pod, LP_HELPER_NS, pod_name, NULL, NULL, &st);
	err = kc_delete(s->c->kc, ctrl_k_pv, NULL, name, NULL, NULL, &st);
	if (err == -ENOENT)
		err = 0;
	if (!err)
		log_info(s->c->name, "volume %s deleted (%s on %s removed)", name, path, node);
	return err;
}

static int sync_key(void *arg, const char *key)
{
	struct lp *s = arg;
	struct jv_doc *d = jv_doc_new();
	int err = -ENOMEM;

	if (d)
		err = key[0] == 'c' ? provision(s, key + 2, d) : delete_volume(s, key + 2, d);
	jv_doc_free(d);
	if (err == -KC_ECONFLICT)
		err = -EAGAIN;
	return err;
}

/* ---- lifecycle ---- */

static int lp_init(struct ctrl_ctx *c, void **state)
{
	struct lp *s = calloc(1, sizeof(*s));
	struct kc_handlers ch = {.add = claim_add, .update = claim_update};
	struct kc_handlers vh = {.add = volume_add, .update = volume_update};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	if (!c->cfg->local_path_dir)
		return 0; /* no directory given: the provisioner is off */
	s->k_class = k8s_kind_find("storage.k8s.io/v1", "StorageClass");
	s->q = kc_queue_new(c->name);
	s->pvcs = ctrl_informer(c, ctrl_k_pvc);
	s->pvs = ctrl_informer(c, ctrl_k_pv);
	if (!s->k_class || !s->q || !s->pvcs || !s->pvs)
		return -ENOMEM;
	ch.arg = vh.arg = s;
	if (kc_informer_add_handlers(s->pvcs, &ch) || kc_informer_add_handlers(s->pvs, &vh))
		return -ENOMEM;
	return 0;
}

static int lp_run(void *state)
{
	struct lp *s = state;

	if (!s->q)
		return 0;
	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_key, s, s->c->name);
	return s->w ? 0 : -ENOMEM;
}

static void lp_stop(void *state)
{
	struct lp *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s);
}

/* k3s runs it as the local-path-provisioner Deployment; its Events' source is its name */
const struct ctrl_desc ctrl_local_path = {
    .name = "local-path-provisioner",
    .component = LP_NAME,
    .init = lp_init,
    .run = lp_run,
    .stop = lp_stop,
};
