/* SPDX-License-Identifier: Apache-2.0 */
/*
 * defaults: Kubernetes' defaulting of each served kind, as its SetDefaults_* functions
 * (pkg/apis/<group>/v1/defaults.go) and the schema's +default markers leave an object, and
 * the admission plugins that touch new pods (ServiceAccount, DefaultTolerationSeconds; and
 * LimitRanger and Priority, limitrange.c and priority.c) and their status (Pending, QoS
 * class). Pod templates get the pod spec defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_strategy.h"
#include "kinds.h"
#include "registry.h"

struct dctx {
	struct jv_doc *d;
	int64_t toleration_s; /* DefaultTolerationSeconds (-1: add none) */
	struct api_admit *a;  /* admission refusals (a->forbidden) */
};

static void set_default(struct dctx *c, struct jv *o, const char *key, struct jv *v)
{
	if (o && o->type == JV_OBJECT && !jv_get(o, key) && v)
		jv_set(c->d, o, key, v);
}

static void dstr(struct dctx *c, struct jv *o, const char *key, const char *v)
{
	const struct jv *cur = jv_get(o, key);

	if (cur && cur->type == JV_STRING && cur->len)
		return;
	if (o && o->type == JV_OBJECT)
		jv_set(c->d, o, key, jv_new_strz(c->d, v));
}

static void dint(struct dctx *c, struct jv *o, const char *key, int64_t v)
{
	set_default(c, o, key, jv_new_int(c->d, v));
}

static void dbool(struct dctx *c, struct jv *o, const char *key, bool v)
{
	set_default(c, o, key, jv_new_bool(c->d, v));
}

static struct jv *obj_at(struct dctx *c, struct jv *o, const char *key)
{
	return o && o->type == JV_OBJECT ? jv_obj_at(c->d, o, key) : NULL;
}

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

/* ---- the schema's +default markers (non-zero values only: Go omits zero values) ---- */

static bool zero_json(const char *json)
{
	return strcmp(json, "\"\"") == 0 || strcmp(json, "0") == 0 || strcmp(json, "false") == 0;
}

/* A Quantity as Kubernetes stores it: the canonical string (a JSON number too: "1"); one
 * that is not a quantity is left for validation to refuse. */
static void canonical_quantity(struct dctx *c, struct jv *v)
{
	char out[64], *p;
	int n;

	if (v->type != JV_STRING && v->type != JV_NUMBER)
		return;
	n = k8s_quantity_canonical(v->s, v->len, out, sizeof(out));
	if (n < 0 ||
	    (v->type == JV_STRING && (size_t)n == v->len && memcmp(out, v->s, v->len) == 0))
		return;
	p = jv_strndup(c->d, out, (size_t)n);
	if (!p)
		return; /* as written: still a valid quantity */
	v->s = p;
	v->len = (uint32_t)n;
	v->type = JV_STRING;
	v->flags = 0;
}

static void schema_defaults(struct dctx *c, struct jv *v, const struct k8s_value *t, int depth)
{
	if (!v || !t || depth > K8S_MAX_DEPTH)
		return;
	if (t->kind == K8S_V_QUANTITY) {
		canonical_quantity(c, v);
		return;
	}
	if (v->type == JV_ARRAY && t->kind == K8S_V_ARRAY) {
		EACH(i, v)
		schema_defaults(c, i, t->elem, depth + 1);
		return;
	}
	if (v->type != JV_OBJECT)
		return;
	if (t->kind == K8S_V_MAP) {
		for (struct jv *m = v->head; m; m = m->next)
			schema_defaults(c, m, t->elem, depth + 1);
		return;
	}
	if (t->kind != K8S_V_STRUCT)
		return;
	for (size_t i = 0; i < t->type->nfields; i++) {
		const struct k8s_field *f = &t->type->fields[i];
		struct jv *m;

		if (!f->json || !f->json[0])
			continue;
		m = jv_get(v, f->json);
		if (!m && f->default_json &&
		    !((f->flags & K8S_F_OMITEMPTY) && zero_json(f->default_json)))
			jv_set(c->d, v, f->json,
			       jv_parse(c->d, f->default_json, strlen(f->default_json), NULL));
		else if (m)
			schema_defaults(c, m, f->value, depth + 1);
	}
}

/* ---- pods ---- */

/* "latest" or no tag (and no digest): Always; else IfNotPresent. */
static const char *pull_policy(const char *image)
{
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	const char *colon = strchr(last, ':');

	if (strchr(image, '@'))
		return "IfNotPresent";
	if (!colon || strcmp(colon + 1, "latest") == 0)
		return "Always";
	return "IfNotPresent";
}

static void default_probe(struct dctx *c, struct jv *p)
{
	struct jv *http = jv_get(p, "httpGet");

	if (!p || p->type != JV_OBJECT)
		return;
	dint(c, p, "timeoutSeconds", 1);
	dint(c, p, "periodSeconds", 10);
	dint(c, p, "successThreshold", 1);
	dint(c, p, "failureThreshold", 3);
	if (http && http->type == JV_OBJECT) {
		dstr(c, http, "path", "/");
		dstr(c, http, "scheme", "HTTP");
	}
}

static void default_handler(struct dctx *c, struct jv *h)
{
	struct jv *http = jv_get(h, "httpGet");

	if (http && http->type == JV_OBJECT) {
		dstr(c, http, "path", "/");
		dstr(c, http, "scheme", "HTTP");
	}
}

static void default_container(struct dctx *c, struct jv *ct)
{
	const char *image = jv_path_str(ct, "image");

	if (!ct || ct->type != JV_OBJECT)
		return;
	if (image && image[0])
		dstr(c, ct, "imagePullPolicy", pull_policy(image));
	dstr(c, ct, "terminationMessagePath", "/dev/termination-log");
	dstr(c, ct, "terminationMessagePolicy", "File");
	set_default(c, ct, "resources", jv_new(c->d, JV_OBJECT));
	EACH(p, jv_get(ct, "ports"))
	dstr(c, p, "protocol", "TCP");
	default_probe(c, jv_get(ct, "livenessProbe"));
	default_probe(c, jv_get(ct, "readinessProbe"));
	default_probe(c, jv_get(ct, "startupProbe"));
	default_handler(c, jv_path(ct, "lifecycle.postStart"));
	default_handler(c, jv_path(ct, "lifecycle.preStop"));
	EACH(e, jv_get(ct, "env"))
	{
		struct jv *fr = jv_path(e, "valueFrom.fieldRef");

		if (fr && fr->type == JV_OBJECT)
			dstr(c, fr, "apiVersion", "v1");
	}
}

static void default_volume(struct dctx *c, struct jv *v)
{
	static const char *const with_mode[] = {"secret", "configMap", "downwardAPI", "projected"};
	bool has_source = false;

	if (!v || v->type != JV_OBJECT)
		return;
	for (struct jv *m = v->head; m; m = m->next)
		if (strcmp(m->key, "name") != 0)
			has_source = true;
	if (!has_source)
		jv_set(c->d, v, "emptyDir", jv_new(c->d, JV_OBJECT));
	for (size_t i = 0; i < 4; i++) {
		struct jv *src = jv_get(v, with_mode[i]);

		if (src && src->type == JV_OBJECT)
			dint(c, src, "defaultMode", 420);
	}
	{
		struct jv *hp = jv_get(v, "hostPath");

		if (hp && hp->type == JV_OBJECT)
			set_default(c, hp, "type", jv_new_strz(c->d, ""));
	}
}

static void default_pod_spec(struct dctx *c, struct jv *spec)
{
	const char *sa;

	if (!spec || spec->type != JV_OBJECT)
		return;
	dstr(c, spec, "dnsPolicy", "ClusterFirst");
	dstr(c, spec, "restartPolicy", "Always");
	set_default(c, spec, "securityContext", jv_new(c->d, JV_OBJECT));
	dint(c, spec, "terminationGracePeriodSeconds", 30);
	dstr(c, spec, "schedulerName", "default-scheduler");
	/* serviceAccountName and its deprecated mirror serviceAccount follow each other */
	sa = jv_path_str(spec, "serviceAccountName");
	if ((!sa || !sa[0]) && jv_path_str(spec, "serviceAccount"))
		dstr(c, spec, "serviceAccountName", jv_path_str(spec, "serviceAccount"));
	sa = jv_path_str(spec, "serviceAccountName");
	if (sa && sa[0])
		dstr(c, spec, "serviceAccount", sa);
	EACH(ct, jv_get(spec, "containers"))
	default_container(c, ct);
	EACH(ct, jv_get(spec, "initContainers"))
	default_container(c, ct);
	/* SetDefaults_EphemeralContainer: a container's defaults */
	EACH(ct, jv_get(spec, "ephemeralContainers"))
	default_container(c, ct);
	EACH(v, jv_get(spec, "volumes"))
	default_volume(c, v);
}

static void default_template(struct dctx *c, struct jv *tmpl)
{
	default_pod_spec(c, jv_get(tmpl, "spec"));
}

/* Requests default to limits (SetDefaults_Pod). */
static void default_requests(struct dctx *c, struct jv *ct)
{
	struct jv *res = jv_get(ct, "resources"), *lim = jv_get(res, "limits"), *req;

	if (!lim || lim->type != JV_OBJECT || !lim->len)
		return;
	req = obj_at(c, res, "requests");
	for (struct jv *l = lim->head; l; l = l->next)
		if (!jv_getn(req, l->key, l->klen))
			jv_setn(c->d, req, l->key, l->klen, jv_copy(c->d, l));
}

/* The QoS class of a pod (qos.GetPodQOS, on cpu and memory). */
const char *api_pod_qos_class(const struct jv *spec)
{
	bool any = false, guaranteed = true;
	static const char *const names[] = {"cpu", "memory"};

	for (int pass = 0; pass < 2; pass++) {
		EACH(ct, jv_get(spec, pass ? "initContainers" : "containers"))
		{
			for (int i = 0; i < 2; i++) {
				const struct jv *r = jv_path(jv_get(ct, "resources"), "requests");
				const struct jv *l = jv_path(jv_get(ct, "resources"), "limits");
				const struct jv *rv = jv_get(r, names[i]),
						*lv = jv_get(l, names[i]);

				if (rv || lv)
					any = true;
				if (!lv || (rv && !jv_equal(rv, lv)))
					guaranteed = false;
			}
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

/* Does a toleration of spec tolerate the NoExecute taint key (DefaultTolerationSeconds asks
 * ToleratesTaint: an empty key with operator Exists tolerates every key)? */
static bool has_toleration(const struct jv *spec, const char *key)
{
	EACH(t, jv_get(spec, "tolerations"))
	{
		const char *k = jv_path_str(t, "key"), *op = jv_path_str(t, "operator");
		bool any = (!k || !k[0]) && op && strcmp(op, "Exists") == 0;

		if ((any || jv_is_str(jv_get(t, "key"), key)) &&
		    (!jv_get(t, "effect") || jv_is_str(jv_get(t, "effect"), "") ||
		     jv_is_str(jv_get(t, "effect"), "NoExecute")))
			return true;
	}
	return false;
}

/* podIP/podIPs and hostIP/hostIPs agree, as the v1 conversion makes them agree: a single
 * address given fills the list, a list given fills the single address. */
static void pod_ips(struct dctx *c, struct jv *st, const char *one, const char *list)
{
	const char *ip = jv_path_str(st, one);
	struct jv *ips = jv_get(st, list);

	if (ip && ip[0] && !jv_count(ips)) {
		struct jv *arr = jv_new(c->d, JV_ARRAY), *e = jv_new(c->d, JV_OBJECT);

		jv_set(c->d, e, "ip", jv_new_strz(c->d, ip));
		jv_push(arr, e);
		jv_set(c->d, st, list, arr);
	} else if ((!ip || !ip[0]) && jv_count(ips) && jv_path_str(jv_first(ips), "ip")) {
		jv_set(c->d, st, one, jv_new_strz(c->d, jv_path_str(jv_first(ips), "ip")));
	}
}

/* Admission of a new pod: ServiceAccount, DefaultTolerationSeconds, LimitRanger, Priority. */
/* The DefaultTolerationSeconds plugin (plugin/pkg/admission/defaulttolerationseconds), on a
 * pod's create and update alike (not on its subresources): not-ready and unreachable tolerated
 * for a while unless the pod says otherwise. */
static void default_tolerations(struct dctx *c, struct jv *spec)
{
	static const char *const keys[] = {"node.kubernetes.io/not-ready",
					   "node.kubernetes.io/unreachable"};
	struct jv *tols;

	for (size_t i = 0; i < 2 && c->toleration_s >= 0; i++) {
		struct jv *t;

		if (has_toleration(spec, keys[i]))
			continue;
		tols = jv_get(spec, "tolerations");
		if (!tols || tols->type != JV_ARRAY) {
			tols = jv_new(c->d, JV_ARRAY);
			jv_set(c->d, spec, "tolerations", tols);
		}
		t = jv_new(c->d, JV_OBJECT);
		jv_set(c->d, t, "key", jv_new_strz(c->d, keys[i]));
		jv_set(c->d, t, "operator", jv_new_strz(c->d, "Exists"));
		jv_set(c->d, t, "effect", jv_new_strz(c->d, "NoExecute"));
		jv_set(c->d, t, "tolerationSeconds", jv_new_int(c->d, c->toleration_s));
		jv_push(tols, t);
	}
}

static void admit_new_pod(struct dctx *c, struct jv *pod)
{
	struct jv *spec = obj_at(c, pod, "spec");

	dstr(c, spec, "serviceAccountName", "default");
	dstr(c, spec, "serviceAccount", jv_path_str(spec, "serviceAccountName"));
	default_tolerations(c, spec);
	dbool(c, spec, "enableServiceLinks", true);
	EACH(ct, jv_get(spec, "containers"))
	default_requests(c, ct);
	EACH(ct, jv_get(spec, "initContainers"))
	default_requests(c, ct);
	/* the mutating plugins in kube-apiserver's order (after SetDefaults_Pod above):
	 * LimitRanger, ServiceAccount, then Priority */
	api_limitranger_mutate_pod(c->a);
	if (!c->a->forbidden[0])
		api_admit_pod_service_account(c->a, spec);
	if (!c->a->forbidden[0])
		api_admit_pod_priority(c->a, spec);
	c->a->forbidden_mutating = c->a->forbidden[0] != 0;
	dstr(c, spec, "preemptionPolicy", "PreemptLowerPriority");
}

static void default_pod(struct dctx *c, struct jv *pod, bool created)
{
	struct jv *st;

	if (created) {
		admit_new_pod(c, pod);
	} else {
		api_admit_pod_priority(c->a, jv_get(pod, "spec"));
		if (!c->a->sub)
			default_tolerations(c, obj_at(c, pod, "spec"));
	}
	default_pod_spec(c, jv_get(pod, "spec"));
	dbool(c, jv_get(pod, "spec"), "enableServiceLinks", true);
	st = obj_at(c, pod, "status");
	dstr(c, st, "phase", "Pending");
	dstr(c, st, "qosClass", api_pod_qos_class(jv_get(pod, "spec")));
	pod_ips(c, st, "podIP", "podIPs");
	pod_ips(c, st, "hostIP", "hostIPs");
}

/* ---- services ---- */

static void default_service(struct dctx *c, struct jv *svc)
{
	struct jv *spec = obj_at(c, svc, "spec");
	const char *type, *aff;

	dstr(c, spec, "type", "ClusterIP");
	type = jv_path_str(spec, "type");
	if (strcmp(type, "ExternalName") != 0) {
		dstr(c, spec, "sessionAffinity", "None");
		dstr(c, spec, "internalTrafficPolicy", "Cluster");
	}
	aff = jv_path_str(spec, "sessionAffinity");
	if (aff && strcmp(aff, "ClientIP") == 0) {
		struct jv *cip = obj_at(c, obj_at(c, spec, "sessionAffinityConfig"), "clientIP");

		dint(c, cip, "timeoutSeconds", 10800);
	}
	if (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0)
		dstr(c, spec, "externalTrafficPolicy", "Cluster");
	if (strcmp(type, "LoadBalancer") == 0)
		dbool(c, spec, "allocateLoadBalancerNodePorts", true);
	EACH(p, jv_get(spec, "ports"))
	{
		struct jv *port = jv_get(p, "port"), *tp = jv_get(p, "targetPort");

		dstr(c, p, "protocol", "TCP");
		/* SetDefaults_Service: an unset, 0 or "" targetPort is the port */
		if (port && (!tp || tp->type == JV_NULL || jv_is_str(tp, "") ||
			     (tp->type == JV_NUMBER && strcmp(tp->s, "0") == 0)))
			jv_set(c->d, p, "targetPort", jv_copy(c->d, port));
	}
	if (strcmp(type, "ExternalName") != 0) {
		if (!jv_get(spec, "ipFamilies")) {
			struct jv *fams = jv_new(c->d, JV_ARRAY);

			jv_push(fams, jv_new_strz(c->d, "IPv4"));
			jv_set(c->d, spec, "ipFamilies", fams);
		}
		dstr(c, spec, "ipFamilyPolicy", "SingleStack");
	}
	set_default(c, obj_at(c, svc, "status"), "loadBalancer", jv_new(c->d, JV_OBJECT));
}

/* ---- workloads ---- */

static struct jv *pct(struct dctx *c, const char *s)
{
	return jv_new_strz(c->d, s);
}

static void default_deployment(struct dctx *c, struct jv *o)
{
	struct jv *spec = obj_at(c, o, "spec"), *strat = obj_at(c, spec, "strategy");
	const char *type;

	dint(c, spec, "replicas", 1);
	dstr(c, strat, "type", "RollingUpdate");
	type = jv_path_str(strat, "type");
	if (type && strcmp(type, "RollingUpdate") == 0) {
		struct jv *ru = obj_at(c, strat, "rollingUpdate");

		set_default(c, ru, "maxUnavailable", pct(c, "25%"));
		set_default(c, ru, "maxSurge", pct(c, "25%"));
	}
	dint(c, spec, "revisionHistoryLimit", 10);
	dint(c, spec, "progressDeadlineSeconds", 600);
	default_template(c, jv_get(spec, "template"));
}

static void default_statefulset(struct dctx *c, struct jv *o)
{
	struct jv *spec = obj_at(c, o, "spec"), *us = obj_at(c, spec, "updateStrategy");
	struct jv *ret = obj_at(c, spec, "persistentVolumeClaimRetentionPolicy");

	dint(c, spec, "replicas", 1);
	dstr(c, spec, "podManagementPolicy", "OrderedReady");
	dstr(c, us, "type", "RollingUpdate");
	if (jv_is_str(jv_get(us, "type"), "RollingUpdate"))
		dint(c, obj_at(c, us, "rollingUpdate"), "partition", 0);
	dint(c, spec, "revisionHistoryLimit", 10);
	dstr(c, ret, "whenDeleted", "Retain");
	dstr(c, ret, "whenScaled", "Retain");
	default_template(c, jv_get(spec, "template"));
}

static void default_daemonset(struct dctx *c, struct jv *o)
{
	struct jv *spec = obj_at(c, o, "spec"), *us = obj_at(c, spec, "updateStrategy");

	dstr(c, us, "type", "RollingUpdate");
	if (jv_is_str(jv_get(us, "type"), "RollingUpdate")) {
		struct jv *ru = obj_at(c, us, "rollingUpdate");

		set_default(c, ru, "maxUnavailable", jv_new_int(c->d, 1));
		set_default(c, ru, "maxSurge", jv_new_int(c->d, 0));
	}
	dint(c, spec, "revisionHistoryLimit", 10);
	default_template(c, jv_get(spec, "template"));
}

static void default_job_spec(struct dctx *c, struct jv *spec)
{
	if (!spec || spec->type != JV_OBJECT)
		return;
	if (!jv_get(spec, "completions") && !jv_get(spec, "parallelism")) {
		dint(c, spec, "completions", 1);
		dint(c, spec, "parallelism", 1);
	}
	dint(c, spec, "parallelism", 1);
	dint(c, spec, "backoffLimit", 6);
	dstr(c, spec, "completionMode", "NonIndexed");
	dbool(c, spec, "suspend", false);
	dstr(c, spec, "podReplacementPolicy", "TerminatingOrFailed");
	dbool(c, spec, "manualSelector", false);
	default_template(c, jv_get(spec, "template"));
}

/* The job registry's generated selector and template labels (manualSelector unset). */
static void job_selector(struct dctx *c, struct jv *job)
{
	struct jv *spec = jv_get(job, "spec"), *labels, *ml;
	const char *uid = jv_path_str(job, "metadata.uid");
	const char *name = jv_path_str(job, "metadata.name");
	const struct jv *manual = jv_get(spec, "manualSelector");

	if (!spec || !uid || !name || (manual && manual->type == JV_TRUE))
		return;
	labels = obj_at(c, obj_at(c, obj_at(c, spec, "template"), "metadata"), "labels");
	dstr(c, labels, "batch.kubernetes.io/controller-uid", uid);
	dstr(c, labels, "batch.kubernetes.io/job-name", name);
	dstr(c, labels, "controller-uid", uid);
	dstr(c, labels, "job-name", name);
	if (!jv_get(spec, "selector")) {
		ml = obj_at(c, obj_at(c, spec, "selector"), "matchLabels");
		dstr(c, ml, "batch.kubernetes.io/controller-uid", uid);
	}
	jv_del(spec, "manualSelector");
}

static void default_cronjob(struct dctx *c, struct jv *o)
{
	struct jv *spec = obj_at(c, o, "spec");

	dstr(c, spec, "concurrencyPolicy", "Allow");
	dbool(c, spec, "suspend", false);
	dint(c, spec, "successfulJobsHistoryLimit", 3);
	dint(c, spec, "failedJobsHistoryLimit", 1);
	default_job_spec(c, jv_path(spec, "jobTemplate.spec"));
}

static void default_hpa(struct dctx *c, struct jv *o)
{
	struct jv *spec = obj_at(c, o, "spec"), *metrics, *m, *res, *target;

	dint(c, spec, "minReplicas", 1);
	if (jv_count(jv_get(spec, "metrics")))
		return;
	/* no metrics: 80% average CPU utilization */
	metrics = jv_new(c->d, JV_ARRAY);
	m = jv_new(c->d, JV_OBJECT);
	res = jv_new(c->d, JV_OBJECT);
	target = jv_new(c->d, JV_OBJECT);
	jv_set(c->d, target, "type", jv_new_strz(c->d, "Utilization"));
	jv_set(c->d, target, "averageUtilization", jv_new_int(c->d, 80));
	jv_set(c->d, res, "name", jv_new_strz(c->d, "cpu"));
	jv_set(c->d, res, "target", target);
	jv_set(c->d, m, "type", jv_new_strz(c->d, "Resource"));
	jv_set(c->d, m, "resource", res);
	jv_push(metrics, m);
	jv_set(c->d, spec, "metrics", metrics);
}

static void default_namespace(struct dctx *c, struct jv *o)
{
	struct jv *labels = obj_at(c, obj_at(c, o, "metadata"), "labels");
	const char *name = jv_path_str(o, "metadata.name");

	/* (the "kubernetes" finalizer is the create's, strategies.c: not a default, since the
	 * namespace controller removes it through finalize) */
	if (name)
		jv_set(c->d, labels, "kubernetes.io/metadata.name", jv_new_strz(c->d, name));
	dstr(c, obj_at(c, o, "status"), "phase", "Active");
}

static void default_netpol(struct dctx *c, struct jv *o)
{
	struct jv *spec = obj_at(c, o, "spec"), *types;

	if (jv_get(spec, "policyTypes"))
		return;
	types = jv_new(c->d, JV_ARRAY);
	jv_push(types, jv_new_strz(c->d, "Ingress"));
	if (jv_get(spec, "egress"))
		jv_push(types, jv_new_strz(c->d, "Egress"));
	jv_set(c->d, spec, "policyTypes", types);
}

static void default_rbac_subjects(struct dctx *c, struct jv *o)
{
	EACH(s, jv_get(o, "subjects"))
	{
		const char *k = jv_path_str(s, "kind");

		if (k && (strcmp(k, "User") == 0 || strcmp(k, "Group") == 0))
			dstr(c, s, "apiGroup", "rbac.authorization.k8s.io");
	}
}

/* ---- the kinds' hooks ---- */

void api_default_pod(struct api_admit *a)
{
	int64_t t = a->reg ? a->reg->cfg.default_toleration_s : 0;
	struct dctx c = {.d = a->d, .toleration_s = t == 0 ? 30 : t, .a = a};

	default_pod(&c, a->obj, a->old == NULL);
}

void api_default_service(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_service(&c, a->obj);
}

void api_default_namespace(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_namespace(&c, a->obj);
}

/* Convert_v1_Secret_To_core_Secret: stringData's values overwrite data's, base64-encoded,
 * and stringData is never stored (the internal Secret has none), on create and update
 * alike. A stringData that is not all strings stays for the schema to refuse. */
static void secret_string_data(struct api_admit *a)
{
	struct jv *sd = jv_get(a->obj, "stringData"), *data;

	if (!sd || sd->type == JV_NULL) {
		jv_del(a->obj, "stringData");
		return;
	}
	if (sd->type != JV_OBJECT)
		return;
	for (const struct jv *v = sd->head; v; v = v->next)
		if (v->type != JV_STRING)
			return;
	if (sd->len) {
		data = jv_get(a->obj, "data");
		if (!data || data->type != JV_OBJECT)
			data = jv_obj_at(a->d, a->obj, "data");
		if (!data)
			return;
		for (const struct jv *v = sd->head; v; v = v->next) {
			struct jv *b = jv_new_base64(a->d, v->s, v->len);

			if (!b || jv_setn(a->d, data, v->key, v->klen, b) != 0)
				return;
		}
	}
	jv_del(a->obj, "stringData");
}

void api_default_secret(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	secret_string_data(a);
	dstr(&c, a->obj, "type", "Opaque");
}

void api_default_endpoints(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	EACH(ss, jv_get(a->obj, "subsets"))
	EACH(p, jv_get(ss, "ports"))
	dstr(&c, p, "protocol", "TCP");
}

void api_default_pvc(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	dstr(&c, obj_at(&c, a->obj, "spec"), "volumeMode", "Filesystem");
	dstr(&c, obj_at(&c, a->obj, "status"), "phase", "Pending");
	api_admit_default_storage_class(a);
	api_admit_storage_protection(a, "kubernetes.io/pvc-protection");
}

void api_default_deployment(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_deployment(&c, a->obj);
}

void api_default_replicaset(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	dint(&c, obj_at(&c, a->obj, "spec"), "replicas", 1);
	default_template(&c, jv_path(a->obj, "spec.template"));
}

/* SetDefaults_ReplicationController: selector and labels from the template's labels when
 * empty, one replica; the template's pod spec as a pod's. */
void api_default_rc(struct api_admit *a)
{
	struct dctx c = {.d = a->d};
	struct jv *spec = obj_at(&c, a->obj, "spec");
	const struct jv *labels = jv_path(a->obj, "spec.template.metadata.labels");

	if (labels && labels->type == JV_OBJECT) {
		if (!jv_count(jv_get(spec, "selector")))
			jv_set(a->d, spec, "selector", jv_copy(a->d, labels));
		if (!jv_count(jv_path(a->obj, "metadata.labels")))
			jv_set(a->d, jv_obj_at(a->d, a->obj, "metadata"), "labels",
			       jv_copy(a->d, labels));
	}
	dint(&c, spec, "replicas", 1);
	default_template(&c, jv_path(a->obj, "spec.template"));
}

/* A PodTemplate's template: a pod spec's defaults. */
void api_default_podtemplate(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_template(&c, jv_get(a->obj, "template"));
}

void api_default_statefulset(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_statefulset(&c, a->obj);
}

void api_default_daemonset(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_daemonset(&c, a->obj);
}

void api_default_job(struct api_admit *a)
{
	struct dctx c = {.d = a->d};
	struct jv *tl = jv_path(a->obj, "spec.template.metadata.labels");
	struct jv *l = jv_path(a->obj, "metadata.labels");

	default_job_spec(&c, jv_get(a->obj, "spec"));
	/* SetDefaults_Job: a Job without labels takes its template's (as decoded: before the
	 * create adds the controller's own labels to the template) */
	if (tl && tl->type == JV_OBJECT && tl->len && (!l || l->type != JV_OBJECT || !l->len))
		jv_set(a->d, obj_at(&c, a->obj, "metadata"), "labels", jv_copy(a->d, tl));
	if (!a->old)
		job_selector(&c, a->obj);
}

void api_default_cronjob(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_cronjob(&c, a->obj);
}

void api_default_hpa(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_hpa(&c, a->obj);
}

void api_default_netpol(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_netpol(&c, a->obj);
}

void api_default_endpointslice(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	EACH(p, jv_get(a->obj, "ports"))
	dstr(&c, p, "protocol", "TCP");
}

void api_default_rbac(struct api_admit *a)
{
	struct dctx c = {.d = a->d};

	default_rbac_subjects(&c, a->obj);
}

/* ---- entry ---- */

void api_admit_defaults(struct api_admit *a)
{
	struct dctx c = {.d = a->d};
	struct k8s_value tv = {.kind = K8S_V_STRUCT, .type = a->res->kind->type};
	const struct api_strategy *st = api_strategy_of(a->res);

	if (tv.type) /* a custom resource has no generated schema */
		schema_defaults(&c, a->obj, &tv, 0);
	if (st->defaults)
		st->defaults(a);
}
