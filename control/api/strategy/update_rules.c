/* SPDX-License-Identifier: Apache-2.0 */
/*
 * update_rules: what an update may change, per kind, as the Validate<Kind>Update functions of
 * Kubernetes 1.32 (pkg/apis/<group>/validation) decide it beyond the create's rules:
 * ConfigMaps and Secrets with `immutable: true`, a Secret's type, a Pod's spec (images,
 * activeDeadlineSeconds, tolerations added, scheduling gates removed), a Job's template,
 * selector and completions, a StatefulSet's spec outside its mutable fields, a
 * PersistentVolumeClaim's spec, a role binding's roleRef, and the selectors apps/v1 keeps.
 * Each hook runs with a->old set; the strategies (strategies.c) call them in the order
 * Kubernetes reports the causes.
 *
 * Where kube-apiserver appends a go-cmp diff to a message (pods, PVCs), drover sends the
 * message without it: go-cmp randomises its output on purpose, so no client can match it.
 * Where it prints a Go value with %#v (field.Invalid of a struct), drover writes the same
 * text for the small structs (LabelSelector, RoleRef); a PodTemplateSpec's holds pointer
 * addresses and is written as its type name only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

#define FORBIDDEN "FieldValueForbidden"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

/* ---- comparing as apiequality.Semantic.DeepEqual does ---- */

/* Absent, null, {} and [] are one value to Semantic.DeepEqual (nil and empty slices and
 * maps are equal; an omitted struct is its zero value). */
static bool sem_empty(const struct jv *v)
{
	return !v || v->type == JV_NULL ||
	       ((v->type == JV_OBJECT || v->type == JV_ARRAY) && v->len == 0);
}

static bool sem_equal(const struct jv *a, const struct jv *b)
{
	if (sem_empty(a) || sem_empty(b))
		return sem_empty(a) && sem_empty(b);
	if (a->type != b->type)
		return jv_equal(a, b);
	if (a->type == JV_OBJECT) {
		for (const struct jv *m = a->head; m; m = m->next)
			if (!sem_equal(m, jv_getn(b, m->key, m->klen)))
				return false;
		for (const struct jv *m = b->head; m; m = m->next)
			if (!jv_getn(a, m->key, m->klen) && !sem_empty(m))
				return false;
		return true;
	}
	if (a->type == JV_ARRAY) {
		const struct jv *x = a->head, *y = b->head;

		if (a->len != b->len)
			return false;
		for (; x && y; x = x->next, y = y->next)
			if (!sem_equal(x, y))
				return false;
		return true;
	}
	return jv_equal(a, b);
}

/* obj[key] = a copy of from[key] (or no key when from has none): the munging of the
 * Validate*Update functions, which copy the mutable fields of the old object onto a clone
 * of the new one before comparing. */
static void munge(struct api_admit *a, struct jv *obj, const struct jv *from, const char *key)
{
	const struct jv *v = jv_get(from, key);

	if (v)
		jv_set(a->d, obj, key, jv_copy(a->d, v));
	else
		jv_del(obj, key);
}

/* ---- Go's %#v of the values field.Invalid prints ---- */

static void go_quote(char *buf, size_t size, size_t *at, const char *s, size_t len)
{
	size_t n = *at;

#define PUT(ch)                                \
	do {                                   \
		if (n + 1 < size)              \
			buf[n++] = (char)(ch); \
	} while (0)
	PUT('"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			PUT('\\');
		PUT(s[i]);
	}
	PUT('"');
#undef PUT
	buf[n < size ? n : size - 1] = 0;
	*at = n;
}

static void go_put(char *buf, size_t size, size_t *at, const char *s)
{
	int n = snprintf(buf + *at, size - *at, "%s", s);

	if (n > 0)
		*at = *at + (size_t)n < size ? *at + (size_t)n : size - 1;
}

static void go_str(char *buf, size_t size, size_t *at, const struct jv *v)
{
	if (v && v->type == JV_STRING)
		go_quote(buf, size, at, v->s, v->len);
	else
		go_put(buf, size, at, "\"\"");
}

/* []string{"a", "b"} or []string(nil) */
static void go_strings(char *buf, size_t size, size_t *at, const struct jv *arr)
{
	if (!arr || arr->type != JV_ARRAY) {
		go_put(buf, size, at, "[]string(nil)");
		return;
	}
	go_put(buf, size, at, "[]string{");
	EACH(s, arr)
	{
		if (s != arr->head)
			go_put(buf, size, at, ", ");
		go_str(buf, size, at, s);
	}
	go_put(buf, size, at, "}");
}

static int key_cmp(const void *x, const void *y)
{
	const struct jv *a = *(const struct jv *const *)x, *b = *(const struct jv *const *)y;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);

	return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* map[string]string{"a":"b", "c":"d"} (fmt sorts the keys) or map[string]string(nil) */
static void go_string_map(char *buf, size_t size, size_t *at, const struct jv *m)
{
	const struct jv *keys[256];
	size_t n = 0;

	if (!m || m->type != JV_OBJECT) {
		go_put(buf, size, at, "map[string]string(nil)");
		return;
	}
	for (const struct jv *l = m->head; l && n < 256; l = l->next)
		keys[n++] = l;
	qsort(keys, n, sizeof(keys[0]), key_cmp);
	go_put(buf, size, at, "map[string]string{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			go_put(buf, size, at, ", ");
		go_quote(buf, size, at, keys[i]->key, keys[i]->klen);
		go_put(buf, size, at, ":");
		go_str(buf, size, at, keys[i]);
	}
	go_put(buf, size, at, "}");
}

/* A *metav1.LabelSelector as field.Invalid prints it (dereferenced, %#v) */
static const char *go_label_selector(const struct jv *sel, char *buf, size_t size)
{
	const struct jv *ml = jv_get(sel, "matchLabels"), *me = jv_get(sel, "matchExpressions");
	size_t at = 0;

	buf[0] = 0;
	if (!sel || sel->type != JV_OBJECT)
		return "null";
	go_put(buf, size, &at, "v1.LabelSelector{MatchLabels:");
	go_string_map(buf, size, &at, ml);
	go_put(buf, size, &at, ", MatchExpressions:[]v1.LabelSelectorRequirement");
	if (!me || me->type != JV_ARRAY) {
		go_put(buf, size, &at, "(nil)}");
		return buf;
	}
	go_put(buf, size, &at, "{");
	EACH(e, me)
	{
		if (e != me->head)
			go_put(buf, size, &at, ", ");
		go_put(buf, size, &at, "v1.LabelSelectorRequirement{Key:");
		go_str(buf, size, &at, jv_get(e, "key"));
		go_put(buf, size, &at, ", Operator:");
		go_str(buf, size, &at, jv_get(e, "operator"));
		go_put(buf, size, &at, ", Values:");
		go_strings(buf, size, &at, jv_get(e, "values"));
		go_put(buf, size, &at, "}");
	}
	go_put(buf, size, &at, "}}");
	return buf;
}

/* field.Invalid with a value already written as Go prints it */
static void invalid_go(struct api_admit *a, const char *field, const char *value, const char *why)
{
	api_cause(a, field, K8S_REASON_INVALID, "Invalid value: %s: %s", value, why);
}

/* ValidateImmutableField of a JSON scalar (or absent: null) */
static void immutable_scalar(struct api_admit *a, const struct jv *n, const struct jv *o,
			     const char *field)
{
	if (!sem_equal(n, o))
		api_cause_invalid(a, field, n, "field is immutable");
}

/* ValidateImmutableField(spec.Selector, ...) of apps/v1 (the Deployment, ReplicaSet and
 * DaemonSet strategies' ValidateUpdate) and of Jobs (ValidateJobSpecUpdate). */
void api_update_selector(struct api_admit *a)
{
	const struct jv *n = jv_path(a->obj, "spec.selector"),
			*o = jv_path(a->old, "spec.selector");
	char buf[1024];

	if (!sem_equal(n, o))
		invalid_go(a, "spec.selector", go_label_selector(n, buf, sizeof(buf)),
			   "field is immutable");
}

/* ---- ConfigMaps and Secrets ---- */

#define IMMUTABLE_SET "field is immutable when `immutable` is set"

/* The `immutable` part of ValidateConfigMapUpdate and ValidateSecretUpdate: once true, it
 * stays, and so do the keys named (reflect.DeepEqual of the maps). */
static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

static void immutable_data(struct api_admit *a, const char *const *keys, size_t nkeys)
{
	if (!is_true(jv_get(a->old, "immutable")))
		return;
	if (!is_true(jv_get(a->obj, "immutable")))
		api_cause(a, "immutable", FORBIDDEN, "Forbidden: " IMMUTABLE_SET);
	for (size_t i = 0; i < nkeys; i++)
		if (!sem_equal(jv_get(a->obj, keys[i]), jv_get(a->old, keys[i])))
			api_cause(a, keys[i], FORBIDDEN, "Forbidden: " IMMUTABLE_SET);
}

/* ValidateConfigMapUpdate (before ValidateConfigMap) */
void api_update_configmap(struct api_admit *a)
{
	static const char *const keys[] = {"data", "binaryData"};

	immutable_data(a, keys, 2);
}

/* ValidateSecretUpdate (before ValidateSecret): the type stays, and `immutable`. stringData
 * needs no check: the conversion merged it into data already (api_default_secret). */
void api_update_secret(struct api_admit *a)
{
	static const char *const keys[] = {"data"};

	immutable_scalar(a, jv_get(a->obj, "type"), jv_get(a->old, "type"), "type");
	immutable_data(a, keys, 1);
}

/* ---- Pods ---- */

/* ValidateContainerUpdates: same containers, only their images change. true: stop. */
static bool pod_containers(struct api_admit *a, const struct jv *n, const struct jv *o,
			   const char *key)
{
	const struct jv *nc = jv_get(n, key), *oc = jv_get(o, key);
	char f[128];
	size_t i = 0;

	snprintf(f, sizeof(f), "spec.%s", key);
	if (jv_count(nc) != jv_count(oc)) {
		api_cause(a, f, FORBIDDEN,
			  "Forbidden: pod updates may not add or remove containers");
		return true;
	}
	/* an empty image is reported by the pod's own validation (validate.c) */
	EACH(ct, (struct jv *)nc)
	{
		const struct jv *img = jv_get(ct, "image");

		if (img && img->type == JV_STRING && img->len &&
		    (strchr(" \t\n\v\f\r", img->s[0]) ||
		     strchr(" \t\n\v\f\r", img->s[img->len - 1]))) {
			snprintf(f, sizeof(f), "spec.%s[%zu].image", key, i);
			api_cause_invalid(a, f, img,
					  "must not have leading or trailing whitespace");
		}
		i++;
	}
	return false;
}

/* validateOnlyAddedTolerations: every old toleration is still there (its tolerationSeconds
 * may change). */
static void pod_tolerations(struct api_admit *a, const struct jv *n, const struct jv *o)
{
	EACH(ot, jv_get(o, "tolerations"))
	{
		bool found = false;

		EACH(nt, jv_get(n, "tolerations"))
		{
			struct jv *clone = jv_copy(a->d, ot);

			if (!clone)
				return;
			munge(a, clone, nt, "tolerationSeconds");
			if (sem_equal(clone, nt)) {
				found = true;
				break;
			}
		}
		if (!found) {
			api_cause(a, "spec.tolerations", FORBIDDEN,
				  "Forbidden: existing toleration can not be modified except its "
				  "tolerationSeconds");
			return;
		}
	}
}

/* validateOnlyDeletedSchedulingGates */
static void pod_scheduling_gates(struct api_admit *a, const struct jv *n, const struct jv *o)
{
	size_t i = 0;
	char f[128];

	EACH(g, jv_get(n, "schedulingGates"))
	{
		const char *name = jv_path_str(g, "name");
		bool old = false;

		EACH(og, jv_get(o, "schedulingGates"))
		old = old || (name && jv_is_str(jv_get(og, "name"), name));
		if (!old) {
			snprintf(f, sizeof(f), "spec.schedulingGates[%zu].name", i);
			api_cause(a, f, FORBIDDEN,
				  "Forbidden: only deletion is allowed, but found new scheduling "
				  "gate '%s'",
				  name ? name : "");
		}
		i++;
	}
}

/* validateNodeSelectorMutation: a gated pod's nodeSelector may only grow. The value is the
 * new map as %#v prints it. */
static void pod_gated_node_selector(struct api_admit *a, struct jv *m, const struct jv *o)
{
	const struct jv *ns = jv_get(m, "nodeSelector"), *os = jv_get(o, "nodeSelector");
	char buf[1024];
	size_t at = 0;

	if (sem_equal(ns, os))
		return;
	for (const struct jv *k = jv_first(os); k; k = k->next) {
		const struct jv *v = jv_getn(ns, k->key, k->klen);

		if (v && jv_equal(v, k))
			continue;
		go_string_map(buf, sizeof(buf), &at, ns);
		invalid_go(a, "spec.nodeSelector", buf,
			   "only additions to spec.nodeSelector are allowed (no mutations or "
			   "deletions)");
		break;
	}
	munge(a, m, o, "nodeSelector");
}

/* ValidatePodUpdate's rules on spec (1.32, InPlacePodVerticalScaling off by default: the
 * message without `spec.containers[*].resources`). Not done: a gated pod's node affinity
 * additions (validateNodeAffinityMutation). */
void api_update_pod(struct api_admit *a)
{
	const struct jv *n = jv_get(a->obj, "spec"), *o = jv_get(a->old, "spec");
	const struct jv *nad = jv_get(n, "activeDeadlineSeconds");
	int64_t nv = 0, ov = 0, og = 0, ng = 0;
	struct jv *m;

	if (pod_containers(a, n, o, "containers") || pod_containers(a, n, o, "initContainers"))
		return;
	/* activeDeadlineSeconds: set from nil, or lowered */
	if (nad && nad->type != JV_NULL) {
		if (jv_int(nad, &nv) != 0 || nv < 0 || nv > 2147483647) {
			api_cause_invalid(a, "spec.activeDeadlineSeconds", nad,
					  "must be between 0 and 2147483647, inclusive");
			return;
		}
		if (jv_path_int(o, "activeDeadlineSeconds", &ov) == 0 && ov < nv) {
			api_cause_invalid(a, "spec.activeDeadlineSeconds", nad,
					  "must be less than or equal to previous value");
			return;
		}
	} else if (jv_path_int(o, "activeDeadlineSeconds", &ov) == 0) {
		api_cause_invalid(a, "spec.activeDeadlineSeconds", NULL,
				  "must not update from a positive integer to nil value");
	}
	pod_tolerations(a, n, o);
	pod_scheduling_gates(a, n, o);
	if (sem_equal(n, o))
		return;
	/* qos.GetPodQOS(oldPod) != qos.ComputePodQOS(newPod): the path is "metadata", the value
	 * the status's class (the old one: an update keeps the status) */
	{
		const char *oq = jv_path_str(a->old, "status.qosClass");

		if (!oq)
			oq = api_pod_qos_class(o);
		if (strcmp(oq, api_pod_qos_class(n)) != 0)
			api_cause_invalid(a, "metadata", jv_path(a->old, "status.qosClass"),
					  "Pod QoS is immutable");
	}
	/* what may change, copied from the old spec: then nothing else may differ */
	m = jv_copy(a->d, n);
	if (!m)
		return;
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "initContainers" : "containers";
		const struct jv *oc = jv_get(o, key);
		size_t i = 0;

		EACH(ct, jv_get(m, key))
		munge(a, ct, jv_at(oc, i++), "image");
	}
	munge(a, m, o, "activeDeadlineSeconds");
	munge(a, m, o, "schedulingGates");
	munge(a, m, o, "tolerations");
	/* a negative grace period (from before it was refused) may become 1 */
	if (jv_path_int(o, "terminationGracePeriodSeconds", &og) == 0 && og < 0 &&
	    jv_path_int(m, "terminationGracePeriodSeconds", &ng) == 0 && ng == 1)
		munge(a, m, o, "terminationGracePeriodSeconds");
	if (jv_count(jv_get(o, "schedulingGates")))
		pod_gated_node_selector(a, m, o);
	if (!sem_equal(m, o))
		api_cause(a, "spec", FORBIDDEN,
			  "Forbidden: pod updates may not change fields other than "
			  "`spec.containers[*].image`,`spec.initContainers[*].image`,"
			  "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
			  "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to "
			  "be set to 1 if it was previously negative)");
}

/* ValidatePodEphemeralContainersUpdate's part 2 (1.32): each existing ephemeral container is
 * still there, unchanged (found by name: a patch does not keep the order). Kubernetes appends
 * a go-cmp diff of the two to "may not be changed\n": drover sends the sentence without it. A
 * static pod has none at all. */
void api_update_pod_ephemeral(struct api_admit *a)
{
	const char *f = "spec.ephemeralContainers";

	if (jv_get(jv_path(a->old, "metadata.annotations"), "kubernetes.io/config.mirror")) {
		api_cause_forbidden(a, "", "static pods do not support ephemeral containers");
		return;
	}
	EACH(oc, jv_path(a->old, "spec.ephemeralContainers"))
	{
		const char *name = jv_path_str(oc, "name");
		const struct jv *nc = NULL;

		EACH(c, jv_path(a->obj, "spec.ephemeralContainers"))
		if (!nc && name && jv_is_str(jv_get(c, "name"), name))
			nc = c;
		if (!nc)
			api_cause(
			    a, f, FORBIDDEN,
			    "Forbidden: existing ephemeral containers \"%s\" may not be removed\n",
			    name ? name : "");
		else if (!sem_equal(oc, nc) || !sem_equal(nc, oc))
			api_cause(
			    a, f, FORBIDDEN,
			    "Forbidden: existing ephemeral containers \"%s\" may not be changed\n",
			    name ? name : "");
	}
}

/* ---- Jobs ---- */

/* validateCompletions (ElasticIndexedJob is GA in 1.31): an Indexed job's completions may
 * change together with its parallelism; any other job's never. */
static void job_completions(struct api_admit *a, const struct jv *n, const struct jv *o)
{
	const struct jv *nc = jv_get(n, "completions");

	if (!jv_is_str(jv_get(n, "completionMode"), "Indexed")) {
		immutable_scalar(a, nc, jv_get(o, "completions"), "spec.completions");
		return;
	}
	if (sem_equal(nc, jv_get(o, "completions")) || sem_empty(nc))
		return;
	if (!jv_equal(nc, jv_get(n, "parallelism")))
		api_cause_invalid(a, "spec.completions", nc,
				  "can only be modified in tandem with spec.parallelism");
}

/* validatePodTemplateUpdate: the template stays, except on a suspended job that never
 * started (the strategy's AllowMutableSchedulingDirectives): its node affinity, node
 * selector, tolerations, scheduling gates and the template's labels and annotations. */
static void job_template(struct api_admit *a, const struct jv *n, const struct jv *o)
{
	const struct jv *nt = jv_get(n, "template");
	struct jv *ot = jv_copy(a->d, jv_get(o, "template"));

	if (!ot)
		return;
	if (is_true(jv_get(o, "suspend")) && !jv_path(a->old, "status.startTime")) {
		struct jv *os = jv_obj_at(a->d, ot, "spec"), *om = jv_obj_at(a->d, ot, "metadata");
		const struct jv *ns = jv_get(nt, "spec"), *nm = jv_get(nt, "metadata");
		const struct jv *naff = jv_get(ns, "affinity");
		struct jv *oaff = jv_get(os, "affinity");

		if (!os || !om)
			return;
		if (sem_empty(naff) && oaff) {
			/* affinity may go if it held only node affinity */
			jv_del(oaff, "nodeAffinity");
			if (sem_empty(oaff))
				jv_del(os, "affinity");
		} else if (!sem_empty(naff)) {
			oaff = jv_obj_at(a->d, os, "affinity");
			if (!oaff)
				return;
			munge(a, oaff, naff, "nodeAffinity");
		}
		munge(a, os, ns, "nodeSelector");
		munge(a, os, ns, "tolerations");
		munge(a, os, ns, "schedulingGates");
		munge(a, om, nm, "annotations");
		munge(a, om, nm, "labels");
	}
	if (!sem_equal(nt, ot))
		invalid_go(a, "spec.template", "core.PodTemplateSpec{...}", "field is immutable");
}

/* ValidateJobSpecUpdate's rules beyond ValidateJobSpec, in its order */
void api_update_job(struct api_admit *a)
{
	const struct jv *n = jv_get(a->obj, "spec"), *o = jv_get(a->old, "spec");

	job_completions(a, n, o);
	api_update_selector(a);
	job_template(a, n, o);
	immutable_scalar(a, jv_get(n, "completionMode"), jv_get(o, "completionMode"),
			 "spec.completionMode");
	if (!sem_equal(jv_get(n, "podFailurePolicy"), jv_get(o, "podFailurePolicy")))
		invalid_go(a, "spec.podFailurePolicy",
			   sem_empty(jv_get(n, "podFailurePolicy")) ? "null"
								    : "batch.PodFailurePolicy{...}",
			   "field is immutable");
	immutable_scalar(a, jv_get(n, "backoffLimitPerIndex"), jv_get(o, "backoffLimitPerIndex"),
			 "spec.backoffLimitPerIndex");
	immutable_scalar(a, jv_get(n, "managedBy"), jv_get(o, "managedBy"), "spec.managedBy");
	if (!sem_equal(jv_get(n, "successPolicy"), jv_get(o, "successPolicy")))
		invalid_go(a, "spec.successPolicy",
			   sem_empty(jv_get(n, "successPolicy")) ? "null"
								 : "batch.SuccessPolicy{...}",
			   "field is immutable");
}

/* ---- StatefulSets ---- */

/* ValidateStatefulSetUpdate (1.32: revisionHistoryLimit is not yet among the mutable
 * fields; the selector is covered by this rule, not by one of its own) */
void api_update_statefulset(struct api_admit *a)
{
	static const char *const mutable[] = {
	    "replicas",	       "template", "updateStrategy",
	    "minReadySeconds", "ordinals", "persistentVolumeClaimRetentionPolicy",
	};
	const struct jv *o = jv_get(a->old, "spec");
	struct jv *m = jv_copy(a->d, jv_get(a->obj, "spec"));

	if (!m)
		return;
	for (size_t i = 0; i < sizeof(mutable) / sizeof(mutable[0]); i++)
		munge(a, m, o, mutable[i]);
	if (!sem_equal(m, o))
		api_cause(a, "spec", FORBIDDEN,
			  "Forbidden: updates to statefulset spec for fields other than "
			  "'replicas', 'ordinals', 'template', 'updateStrategy', "
			  "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
			  "forbidden");
}

/* ---- PersistentVolumeClaims ---- */

#define BETA_STORAGE_CLASS "volume.beta.kubernetes.io/storage-class"

/* The storage class of ValidatePersistentVolumeClaimUpdate: the beta annotation may become
 * storageClassName (validateStorageClassUpgradeFromAnnotation), else it stays
 * (ValidateImmutableAnnotation, its path "metadata.annotations.<key>"), and a claim with
 * neither may take a storageClassName (validateStorageClassUpgradeFromNil). */
static void pvc_storage_class(struct api_admit *a, struct jv *m, const struct jv *o,
			      const struct jv *n)
{
	const struct jv *oa = jv_path(a->old, "metadata.annotations[" BETA_STORAGE_CLASS "]");
	const struct jv *na = jv_path(a->obj, "metadata.annotations[" BETA_STORAGE_CLASS "]");
	const struct jv *nsc = jv_get(n, "storageClassName");
	struct jv empty = {.type = JV_STRING, .s = "", .len = 0};

	if (oa && (!na || jv_equal(na, oa)) && !jv_get(o, "storageClassName") && nsc &&
	    jv_equal(nsc, oa)) {
		jv_del(m, "storageClassName");
		return;
	}
	if (!jv_equal(na ? na : &empty, oa ? oa : &empty))
		api_cause_invalid(a, "metadata.annotations." BETA_STORAGE_CLASS, na ? na : &empty,
				  "field is immutable");
	if (!oa && !jv_get(o, "storageClassName") && nsc)
		jv_del(m, "storageClassName");
}

/* ValidatePersistentVolumeClaimUpdate: the spec stays, but for a volumeName set once, a
 * storageClassName given to a claim that had none (RetroactiveDefaultStorageClass, GA),
 * and on a bound claim its storage request and volumeAttributesClassName. A smaller
 * request is refused (RecoverVolumeExpansionFailure, beta in 1.32: not below
 * status.capacity). */
void api_update_pvc(struct api_admit *a)
{
	const struct jv *o = jv_get(a->old, "spec"), *n = jv_get(a->obj, "spec");
	struct jv *m = jv_copy(a->d, n), *oc = jv_copy(a->d, o);
	bool bound = jv_is_str(jv_path(a->old, "status.phase"), "Bound");
	const char *nsz = jv_path_str(n, "resources.requests.storage");
	const char *osz = jv_path_str(o, "resources.requests.storage");
	const char *ssz = jv_path_str(a->old, "status.capacity.storage");
	int64_t nv = 0, ov = 0, sv = 0;

	if (!m || !oc)
		return;
	if (!jv_path_str(o, "volumeName") || !jv_path_str(o, "volumeName")[0])
		munge(a, oc, n, "volumeName");
	pvc_storage_class(a, m, o, n);
	if (bound && jv_path(m, "resources.requests")) {
		struct jv *req = jv_path(m, "resources.requests");

		munge(a, req, jv_path(o, "resources.requests"), "storage");
	}
	if (bound && jv_get(m, "volumeAttributesClassName"))
		munge(a, m, oc, "volumeAttributesClassName");
	if (!sem_equal(m, oc))
		api_cause(a, "spec", FORBIDDEN,
			  "Forbidden: spec is immutable after creation except resources.requests "
			  "and volumeAttributesClassName for bound claims");
	if (ssz && k8s_quantity_parse(ssz, strlen(ssz), &sv, NULL) != 0)
		sv = 0;
	if (nsz && osz && k8s_quantity_parse(nsz, strlen(nsz), &nv, NULL) == 0 &&
	    k8s_quantity_parse(osz, strlen(osz), &ov, NULL) == 0 && nv < ov && nv <= sv)
		api_cause(a, "spec.resources.requests.storage", FORBIDDEN,
			  "Forbidden: field can not be less than status.capacity");
	/* ValidateImmutableField(VolumeMode, ..., field.NewPath("volumeMode")): Kubernetes'
	 * path has no "spec." */
	immutable_scalar(a, jv_get(n, "volumeMode"), jv_get(o, "volumeMode"), "volumeMode");
}

/* ---- RBAC ---- */

/* ValidateRoleBindingUpdate and ValidateClusterRoleBindingUpdate */
void api_update_rolebinding(struct api_admit *a)
{
	const struct jv *n = jv_get(a->obj, "roleRef");
	char buf[768];
	size_t at = 0;

	if (sem_equal(n, jv_get(a->old, "roleRef")))
		return;
	go_put(buf, sizeof(buf), &at, "rbac.RoleRef{APIGroup:");
	go_str(buf, sizeof(buf), &at, jv_get(n, "apiGroup"));
	go_put(buf, sizeof(buf), &at, ", Kind:");
	go_str(buf, sizeof(buf), &at, jv_get(n, "kind"));
	go_put(buf, sizeof(buf), &at, ", Name:");
	go_str(buf, sizeof(buf), &at, jv_get(n, "name"));
	go_put(buf, sizeof(buf), &at, "}");
	invalid_go(a, "roleRef", buf, "cannot change roleRef");
}
