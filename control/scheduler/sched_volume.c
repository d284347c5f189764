/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_volume: the minimal case of kube-scheduler's VolumeBinding plugin
 * (pkg/scheduler/framework/plugins/volumebinding), on the kclient side of the scheduler.
 *
 * Filter: a pod whose claim is bound goes only where the volume's required node affinity
 * allows (FindPodVolumes' checkBoundClaims): the volume's nodeSelectorTerms are ANDed into the
 * pod's required node affinity as the core sees it, so NodeAffinity filters on them. An
 * unbound claim of a WaitForFirstConsumer class blocks nothing.
 *
 * PreBind (BindPodVolumes): each unbound claim of a WaitForFirstConsumer class gets
 * volume.kubernetes.io/selected-node = the chosen node, which hands it to its provisioner.
 * Unlike kube, the pod is then bound without waiting for the claim to be bound: the agent
 * waits (FailedMount, retried) until it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "log.h"
#include "sched_volume.h"

#define COMP "scheduler"

static struct jv *get(struct kclient *kc, const char *api_version, const char *kind, const char *ns,
		      const char *name, struct jv_doc *d)
{
	const struct k8s_kind *k = k8s_kind_find(api_version, kind);
	struct kc_obj *o = NULL;
	struct kc_status st;
	struct jv *t;

	if (!k || !name || kc_get(kc, k, ns, name, &o, &st))
		return NULL;
	t = kc_obj_parse(o, d);
	kc_obj_put(o);
	return t;
}

/* (A1 or A2 ...) and (B1 or B2 ...): every pair's matchExpressions and matchFields joined. */
static struct jv *and_terms(struct jv_doc *d, const struct jv *a, const struct jv *b)
{
	struct jv *out = jv_new(d, JV_ARRAY);

	if (!out)
		return NULL;
	for (const struct jv *x = jv_first(a); x; x = x->next)
		for (const struct jv *y = jv_first(b); y; y = y->next) {
			struct jv *t = jv_new(d, JV_OBJECT);
			static const char *const keys[] = {"matchExpressions", "matchFields"};

			if (!t)
				return NULL;
			for (size_t k = 0; k < 2; k++) {
				struct jv *l = jv_new(d, JV_ARRAY);

				if (!l)
					return NULL;
				for (const struct jv *e = jv_first(jv_get(x, keys[k])); e;
				     e = e->next)
					jv_push(l, jv_copy(d, e));
				for (const struct jv *e = jv_first(jv_get(y, keys[k])); e;
				     e = e->next)
					jv_push(l, jv_copy(d, e));
				if (jv_count(l))
					jv_set(d, t, keys[k], l);
			}
			jv_push(out, t);
		}
	return out;
}

bool sched_volume_has_claims(const struct jv *pod)
{
	for (const struct jv *v = jv_first(jv_path(pod, "spec.volumes")); v; v = v->next)
		if (jv_get(v, "persistentVolumeClaim"))
			return true;
	return false;
}

struct jv *sched_volume_pod(struct kclient *kc, struct jv_doc *d, const struct jv *pod)
{
	const char *ns = jv_path_str(pod, "metadata.namespace"),
		   *node = jv_path_str(pod, "spec.nodeName");
	struct jv *copy = NULL, *req = NULL;

	if ((node && node[0]) || !jv_path(pod, "spec.volumes"))
		return (struct jv *)pod;
	for (const struct jv *v = jv_first(jv_path(pod, "spec.volumes")); v; v = v->next) {
		const char *cn = jv_path_str(v, "persistentVolumeClaim.claimName");
		struct jv *claim, *pv;
		const struct jv *terms;

		if (!cn)
			continue;
		claim = get(kc, "v1", "PersistentVolumeClaim", ns, cn, d);
		pv = claim ? get(kc, "v1", "PersistentVolume", NULL,
				 jv_path_str(claim, "spec.volumeName"), d)
			   : NULL;
		terms = jv_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms");
		if (!terms || !jv_count(terms))
			continue;
		if (!copy) {
			struct jv *spec, *aff, *na;

			copy = jv_copy(d, pod);
			spec = copy ? jv_obj_at(d, copy, "spec") : NULL;
			aff = spec ? jv_obj_at(d, spec, "affinity") : NULL;
			na = aff ? jv_obj_at(d, aff, "nodeAffinity") : NULL;
			req =
			    na ? jv_obj_at(d, na, "requiredDuringSchedulingIgnoredDuringExecution")
			       : NULL;
			if (!req)
				return (struct jv *)pod;
		}
		if (jv_get(req, "nodeSelectorTerms") && jv_count(jv_get(req, "nodeSelectorTerms")))
			jv_set(d, req, "nodeSelectorTerms",
			       and_terms(d, jv_get(req, "nodeSelectorTerms"), terms));
		else
			jv_set(d, req, "nodeSelectorTerms", jv_copy(d, terms));
	}
	return copy ? copy : (struct jv *)pod;
}

void sched_volume_prebind(struct kclient *kc, const struct jv *pod, const char *node)
{
	const char *ns = jv_path_str(pod, "metadata.namespace");
	const struct k8s_kind *kpvc = k8s_kind_find("v1", "PersistentVolumeClaim");

	for (const struct jv *v = jv_first(jv_path(pod, "spec.volumes")); v; v = v->next) {
		const char *cn = jv_path_str(v, "persistentVolumeClaim.claimName");
		struct jv_doc *d;
		struct jv *claim, *class;
		struct k8s_buf b = {0};
		struct kc_status st = {0};

		if (!cn)
			continue;
		d = jv_doc_new();
		claim = d ? get(kc, "v1", "PersistentVolumeClaim", ns, cn, d) : NULL;
		class = claim && !jv_path_str(claim, "spec.volumeName")
			    ? get(kc, "storage.k8s.io/v1", "StorageClass", NULL,
				  jv_path_str(claim, "spec.storageClassName"), d)
			    : NULL;
		if (class &&
		    jv_is_str(jv_get(class, "volumeBindingMode"), "WaitForFirstConsumer") &&
		    !jv_is_str(jv_get(jv_path(claim, "metadata.annotations"),
				      "volume.kubernetes.io/selected-node"),
			       node)) {
			k8s_buf_puts(&b, "{\"metadata\":{\"annotations\":{"
					 "\"volume.kubernetes.io/selected-node\":");
			k8s_buf_json_string(&b, node, strlen(node));
			k8s_buf_puts(&b, "}}}");
			if (!b.oom && kc_patch(kc, kpvc, ns, cn, NULL, KC_PATCH_MERGE, b.p, b.len,
					       NULL, NULL, &st))
				log_info(COMP, "claim %s/%s: selected-node %s: %s", ns, cn, node,
					 st.message);
			k8s_buf_free(&b);
		}
		jv_doc_free(d);
	}
}
