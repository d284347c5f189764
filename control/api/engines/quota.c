/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota: resource lists and the quota evaluators (api_quota.h), after
 * k8s.io/apiserver/pkg/quota/v1 (resources.go), pkg/quota/v1/evaluator/core (pods.go,
 * services.go, persistent_volume_claims.go), the generic object-count evaluator and
 * k8s.io/component-helpers/resource (PodRequests, PodLimits).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "api_quota.h"
#include "k8s.h"

/* ---- resource lists ---- */

static int rq_cmp(const void *a, const void *b)
{
	return strcmp(((const struct api_rq *)a)->name, ((const struct api_rq *)b)->name);
}

/* A quantity's text (a string, or a number a manifest wrote bare): milli and format. */
static int quantity_of(const struct jv *v, int64_t *milli, bool *binary)
{
	const char *s;
	size_t len;

	if (!v || (v->type != JV_STRING && v->type != JV_NUMBER))
		return -EINVAL;
	s = v->s;
	len = v->len;
	while (len && (s[len - 1] == ' '))
		len--;
	if (k8s_quantity_parse(s, len, NULL, milli) != 0)
		return -EINVAL;
	*binary = len >= 2 && s[len - 1] == 'i';
	return 0;
}

int api_rlist_parse(const struct jv *obj, struct api_rlist *out)
{
	out->n = 0;
	if (!obj || obj->type == JV_NULL)
		return 0;
	if (obj->type != JV_OBJECT)
		return -EINVAL;
	for (const struct jv *m = obj->head; m; m = m->next) {
		int64_t milli;
		bool binary;

		if (quantity_of(m, &milli, &binary) != 0 ||
		    api_rlist_add(out, m->key, milli, binary) != 0)
			return -EINVAL;
	}
	return 0;
}

const struct api_rq *api_rlist_get(const struct api_rlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->it[i].name, name) == 0)
			return &l->it[i];
	return NULL;
}

static struct api_rq *slot(struct api_rlist *l, const char *name)
{
	struct api_rq *r = (struct api_rq *)api_rlist_get(l, name);

	if (r)
		return r;
	if (l->n >= API_RLIST_MAX || strlen(name) >= sizeof(r->name))
		return NULL;
	r = &l->it[l->n++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->milli = 0;
	r->binary = false;
	return r;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

int api_rlist_add(struct api_rlist *l, const char *name, int64_t milli, bool binary)
{
	struct api_rq *r = slot(l, name);

	if (!r)
		return -ENOSPC;
	if (r->milli == 0)
		r->binary = binary;
	r->milli = sat_add(r->milli, milli);
	return 0;
}

int api_rlist_max(struct api_rlist *l, const char *name, int64_t milli, bool binary)
{
	const struct api_rq *have = api_rlist_get(l, name);
	struct api_rq *r;

	if (have && have->milli >= milli)
		return 0;
	r = slot(l, name);
	if (!r)
		return -ENOSPC;
	r->milli = milli;
	r->binary = binary;
	return 0;
}

int api_rlist_sum(struct api_rlist *a, const struct api_rlist *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (api_rlist_add(a, b->it[i].name, b->it[i].milli, b->it[i].binary) != 0)
			return -ENOSPC;
	return 0;
}

void api_rlist_sub_floor(struct api_rlist *a, const struct api_rlist *b)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct api_rq *o = api_rlist_get(b, a->it[i].name);

		if (o)
			a->it[i].milli = o->milli >= a->it[i].milli ? 0 : a->it[i].milli - o->milli;
		else if (a->it[i].milli < 0)
			a->it[i].milli = 0;
	}
}

void api_rlist_mask(struct api_rlist *l, const struct api_rlist *mask)
{
	size_t j = 0;

	for (size_t i = 0; i < l->n; i++)
		if (api_rlist_get(mask, l->it[i].name))
			l->it[j++] = l->it[i];
	l->n = j;
}

void api_rlist_remove_zeros(struct api_rlist *l)
{
	size_t j = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->it[i].milli != 0)
			l->it[j++] = l->it[i];
	l->n = j;
}

bool api_rlist_equal(const struct api_rlist *a, const struct api_rlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct api_rq *o = api_rlist_get(b, a->it[i].name);

		if (!o || o->milli != a->it[i].milli)
			return false;
	}
	return true;
}

const char *api_quantity_string(int64_t milli, bool binary, char *buf, size_t size)
{
	static const char *const dec[] = {"", "k", "M", "G", "T", "P", "E"};
	static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
	const char *sign = milli < 0 ? "-" : "";
	uint64_t m = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli, v;
	int e = 0;

	if (m == 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	/* BinarySI: a whole number of at least 1Ki, in the largest suffix that divides it */
	if (binary && m % 1000 == 0 && m / 1000 >= 1024) {
		v = m / 1000;
		while (e < 6 && v % 1024 == 0) {
			v /= 1024;
			e++;
		}
		snprintf(buf, size, "%s%" PRIu64 "%s", sign, v, bin[e]);
		return buf;
	}
	/* DecimalSI: the largest power of 1000 that leaves an integer */
	if (m % 1000 != 0) {
		snprintf(buf, size, "%s%" PRIu64 "m", sign, m);
		return buf;
	}
	v = m / 1000;
	while (e < 6 && v % 1000 == 0) {
		v /= 1000;
		e++;
	}
	snprintf(buf, size, "%s%" PRIu64 "%s", sign, v, dec[e]);
	return buf;
}

struct jv *api_rlist_jv(struct jv_doc *d, const struct api_rlist *l)
{
	struct api_rlist s = *l;
	struct jv *o = jv_new(d, JV_OBJECT);
	char q[64];

	if (!o)
		return NULL;
	qsort(s.it, s.n, sizeof(s.it[0]), rq_cmp);
	for (size_t i = 0; i < s.n; i++)
		jv_set(d, o, s.it[i].name,
		       jv_new_strz(
			   d, api_quantity_string(s.it[i].milli, s.it[i].binary, q, sizeof(q))));
	return o;
}

const char *api_rlist_pretty(const struct api_rlist *l, char *buf, size_t size)
{
	struct api_rlist s = *l;
	size_t off = 0;
	char q[64];

	buf[0] = 0;
	qsort(s.it, s.n, sizeof(s.it[0]), rq_cmp);
	for (size_t i = 0; i < s.n && off < size; i++)
		off += (size_t)snprintf(
		    buf + off, size - off, "%s%s=%s", i ? "," : "", s.it[i].name,
		    api_quantity_string(s.it[i].milli, s.it[i].binary, q, sizeof(q)));
	return buf;
}

const char *api_rlist_names(const struct api_rlist *l, char *buf, size_t size)
{
	struct api_rlist s = *l;
	size_t off = 0;

	buf[0] = 0;
	qsort(s.it, s.n, sizeof(s.it[0]), rq_cmp);
	for (size_t i = 0; i < s.n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "", s.it[i].name);
	return buf;
}

/* ---- evaluators ---- */

static bool core(const char *group, const char *resource, const char *want)
{
	return group[0] == 0 && strcmp(resource, want) == 0;
}

static bool prefixed(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool api_quota_ignored(const char *group, const char *resource)
{
	return strcmp(resource, "events") == 0 &&
	       (group[0] == 0 || strcmp(group, "events.k8s.io") == 0);
}

bool api_quota_handles_update(const char *group, const char *resource)
{
	/* a service's type and a claim's storage request may change; the object-count
	 * evaluator and pods' (but for pods/resize, not served here) handle only creates */
	return core(group, resource, "services") || core(group, resource, "persistentvolumeclaims");
}

const char *api_quota_count_name(const char *group, const char *resource, char *buf, size_t size)
{
	if (group[0])
		snprintf(buf, size, "count/%s.%s", resource, group);
	else
		snprintf(buf, size, "count/%s", resource);
	return buf;
}

/* Native resources have no domain, or kubernetes.io's (helper.IsNativeResource). */
static bool native(const char *name)
{
	return !strchr(name, '/') || strstr(name, "kubernetes.io/");
}

/* helper.IsExtendedResourceName: what a pod may request beyond the native resources. */
static bool extended(const char *name)
{
	return !native(name) && !prefixed(name, "requests.");
}

static const char *const pod_resources[] = {
    "cpu",	    "memory",	       "ephemeral-storage",
    "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu",   "limits.memory",   "limits.ephemeral-storage",
    "pods",	    "count/pods",
};

/* The old names the object-count evaluators of a few core kinds also answer to. */
static bool legacy_count(const char *group, const char *resource)
{
	static const char *const legacy[] = {"configmaps", "secrets", "resourcequotas",
					     "replicationcontrollers"};

	for (size_t i = 0; group[0] == 0 && i < sizeof(legacy) / sizeof(legacy[0]); i++)
		if (strcmp(resource, legacy[i]) == 0)
			return true;
	return false;
}

#define STORAGECLASS_SUFFIX ".storageclass.storage.k8s.io/"

bool api_quota_tracks(const char *group, const char *resource, const char *name)
{
	char count[256];

	if (strcmp(name, api_quota_count_name(group, resource, count, sizeof(count))) == 0)
		return true;
	if (core(group, resource, "pods")) {
		for (size_t i = 0; i < sizeof(pod_resources) / sizeof(pod_resources[0]); i++)
			if (strcmp(name, pod_resources[i]) == 0)
				return true;
		return prefixed(name, "hugepages-") || prefixed(name, "requests.hugepages-") ||
		       (!native(name) && prefixed(name, "requests."));
	}
	if (core(group, resource, "services"))
		return !strcmp(name, "services") || !strcmp(name, "services.nodeports") ||
		       !strcmp(name, "services.loadbalancers");
	if (core(group, resource, "persistentvolumeclaims")) {
		const char *sc = strstr(name, STORAGECLASS_SUFFIX);

		if (!strcmp(name, "persistentvolumeclaims") || !strcmp(name, "requests.storage"))
			return true;
		return sc && (!strcmp(sc + strlen(STORAGECLASS_SUFFIX), "requests.storage") ||
			      !strcmp(sc + strlen(STORAGECLASS_SUFFIX), "persistentvolumeclaims"));
	}
	return legacy_count(group, resource) && strcmp(name, resource) == 0;
}

/* ---- pods ---- */

static int container_list(const struct jv *ct, const char *which, struct api_rlist *out)
{
	return api_rlist_parse(jv_get(jv_get(ct, "resources"), which), out);
}

/* PodRequests / PodLimits: containers add up; init containers run one at a time (each
 * beside the sidecars, restartPolicy Always, started before it) and the pod needs the most
 * of either; the overhead adds to requests, and to the limits set. */
int api_pod_totals(const struct jv *pod, const char *which, bool overhead_too,
		   struct api_rlist *out)
{
	const struct jv *spec = jv_get(pod, "spec");
	struct api_rlist cl, restartable = {0}, init = {0}, tmp, overhead;
	int err = 0;

	out->n = 0;
	for (const struct jv *c = jv_first(jv_get(spec, "containers")); c && !err; c = c->next)
		err = container_list(c, which, &cl) ?: api_rlist_sum(out, &cl);
	for (const struct jv *c = jv_first(jv_get(spec, "initContainers")); c && !err;
	     c = c->next) {
		err = container_list(c, which, &cl);
		if (err)
			break;
		if (jv_is_str(jv_get(c, "restartPolicy"), "Always")) {
			err = api_rlist_sum(out, &cl) ?: api_rlist_sum(&restartable, &cl);
			tmp = restartable;
		} else {
			tmp = cl;
			err = api_rlist_sum(&tmp, &restartable);
		}
		for (size_t i = 0; i < tmp.n && !err; i++)
			err =
			    api_rlist_max(&init, tmp.it[i].name, tmp.it[i].milli, tmp.it[i].binary);
	}
	for (size_t i = 0; i < init.n && !err; i++)
		err = api_rlist_max(out, init.it[i].name, init.it[i].milli, init.it[i].binary);
	if (!err && overhead_too && api_rlist_parse(jv_get(spec, "overhead"), &overhead) == 0) {
		for (size_t i = 0; i < overhead.n && !err; i++)
			if (strcmp(which, "requests") == 0 ||
			    api_rlist_get(out, overhead.it[i].name))
				err = api_rlist_add(out, overhead.it[i].name, overhead.it[i].milli,
						    overhead.it[i].binary);
	}
	return err;
}

static int put(struct api_rlist *out, const char *name, const struct api_rq *q)
{
	return api_rlist_add(out, name, q->milli, q->binary);
}

/* podComputeUsageHelper */
static int compute_usage(const struct api_rlist *req, const struct api_rlist *lim,
			 struct api_rlist *out)
{
	static const char *const native_res[] = {"cpu", "memory", "ephemeral-storage"};
	char name[160];
	int err = api_rlist_add(out, "pods", 1000, false);

	for (size_t i = 0; i < 3 && !err; i++) {
		const struct api_rq *r = api_rlist_get(req, native_res[i]);
		const struct api_rq *l = api_rlist_get(lim, native_res[i]);

		if (r) {
			snprintf(name, sizeof(name), "requests.%s", native_res[i]);
			err = put(out, native_res[i], r) ?: put(out, name, r);
		}
		if (l && !err) {
			snprintf(name, sizeof(name), "limits.%s", native_res[i]);
			err = put(out, name, l);
		}
	}
	for (size_t i = 0; i < req->n && !err; i++) {
		const struct api_rq *r = &req->it[i];

		snprintf(name, sizeof(name), "requests.%s", r->name);
		if (prefixed(r->name, "hugepages-"))
			err = put(out, r->name, r) ?: put(out, name, r);
		else if (extended(r->name))
			err = put(out, name, r);
	}
	return err;
}

/* QuotaV1Pod: terminal pods, and pods stuck terminating past their grace, do not count. */
static bool pod_counts(const struct jv *pod, int64_t now)
{
	const char *phase = jv_path_str(pod, "status.phase");
	const char *ts = jv_path_str(pod, "metadata.deletionTimestamp");
	int64_t grace;

	if (phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Succeeded")))
		return false;
	if (ts && jv_path_int(pod, "metadata.deletionGracePeriodSeconds", &grace) == 0) {
		int64_t at = api_parse_time(ts);

		if (at >= 0 && now > at + grace)
			return false;
	}
	return true;
}

static int pod_usage(const struct jv *pod, int64_t now, struct api_rlist *out)
{
	struct api_rlist req, lim;
	int err;

	if (!pod_counts(pod, now))
		return 0;
	err = api_pod_totals(pod, "requests", true, &req)
		  ?: api_pod_totals(pod, "limits", true, &lim);
	return err ?: compute_usage(&req, &lim, out);
}

static int service_usage(const struct jv *svc, struct api_rlist *out)
{
	const struct jv *spec = jv_get(svc, "spec"), *alloc;
	const char *type = jv_path_str(spec, "type");
	int64_t ports = (int64_t)jv_count(jv_get(spec, "ports")), with_np = 0;
	int err = api_rlist_add(out, "services", 1000, false);

	if (err || !type)
		return err;
	if (!strcmp(type, "NodePort"))
		return api_rlist_add(out, "services.nodeports", ports * 1000, false);
	if (strcmp(type, "LoadBalancer") != 0)
		return 0;
	/* node ports not allocated for a load balancer: only those asked for count */
	alloc = jv_get(spec, "allocateLoadBalancerNodePorts");
	if (alloc && alloc->type == JV_FALSE) {
		for (const struct jv *p = jv_first(jv_get(spec, "ports")); p; p = p->next) {
			int64_t np = 0;

			if (jv_path_int(p, "nodePort", &np) == 0 && np)
				with_np++;
		}
		ports = with_np;
	}
	return api_rlist_add(out, "services.nodeports", ports * 1000, false)
		   ?: api_rlist_add(out, "services.loadbalancers", 1000, false);
}

static int pvc_usage(const struct jv *pvc, struct api_rlist *out)
{
	const char *class = jv_path_str(pvc, "spec.storageClassName");
	const struct jv *beta =
	    jv_get(jv_path(pvc, "metadata.annotations"), "volume.beta.kubernetes.io/storage-class");
	const struct jv *storage = jv_path(pvc, "spec.resources.requests.storage");
	char name[384];
	int64_t milli, alloc;
	bool binary, alloc_bin;
	int err = api_rlist_add(out, "persistentvolumeclaims", 1000, false);

	/* the beta annotation names the class when the field does not */
	if (!class && beta && beta->type == JV_STRING)
		class = beta->s;
	if (!err && class && class[0]) {
		snprintf(name, sizeof(name), "%s" STORAGECLASS_SUFFIX "persistentvolumeclaims",
			 class);
		err = api_rlist_add(out, name, 1000, false);
	}
	if (err || !storage || quantity_of(storage, &milli, &binary) != 0)
		return err;
	/* getStorageUsage: the larger of what is asked and what was allocated (an expansion
	 * under way), counted in whole bytes */
	if (quantity_of(jv_path(pvc, "status.allocatedResources.storage"), &alloc, &alloc_bin) ==
		0 &&
	    alloc > milli) {
		milli = alloc;
		binary = alloc_bin;
	}
	if (milli % 1000 > 0)
		milli += 1000 - milli % 1000;
	err = api_rlist_add(out, "requests.storage", milli, binary);
	if (!err && class && class[0]) {
		snprintf(name, sizeof(name), "%s" STORAGECLASS_SUFFIX "requests.storage", class);
		err = api_rlist_add(out, name, milli, binary);
	}
	return err;
}

int api_quota_usage(const char *group, const char *resource, const struct jv *obj, int64_t now,
		    struct api_rlist *out)
{
	char count[256];
	int err;

	out->n = 0;
	/* object count quotas track every object in storage, also pods at their end */
	err = api_rlist_add(out, api_quota_count_name(group, resource, count, sizeof(count)), 1000,
			    false);
	if (err)
		return err;
	if (core(group, resource, "pods"))
		return pod_usage(obj, now, out);
	if (core(group, resource, "services"))
		return service_usage(obj, out);
	if (core(group, resource, "persistentvolumeclaims"))
		return pvc_usage(obj, out);
	if (legacy_count(group, resource))
		return api_rlist_add(out, resource, 1000, false);
	return 0;
}

/* ---- scopes ---- */

/* qos.GetPodQOS == BestEffort: no container asks for or limits cpu or memory. */
static bool best_effort(const struct jv *pod)
{
	static const char *const lists[] = {"containers", "initContainers"};
	static const char *const which[] = {"requests", "limits"};

	for (size_t l = 0; l < 2; l++)
		for (const struct jv *c = jv_first(jv_path(jv_get(pod, "spec"), lists[l])); c;
		     c = c->next)
			for (size_t w = 0; w < 2; w++) {
				struct api_rlist r;

				if (container_list(c, which[w], &r) != 0)
					continue;
				for (size_t i = 0; i < r.n; i++)
					if ((!strcmp(r.it[i].name, "cpu") ||
					     !strcmp(r.it[i].name, "memory")) &&
					    r.it[i].milli > 0)
						return false;
			}
	return true;
}

static bool cross_ns_terms(const struct jv *terms, bool weighted)
{
	for (const struct jv *t = jv_first(terms); t; t = t->next) {
		const struct jv *term = weighted ? jv_get(t, "podAffinityTerm") : t;

		if (jv_count(jv_get(term, "namespaces")) || jv_get(term, "namespaceSelector"))
			return true;
	}
	return false;
}

static bool cross_ns_affinity(const struct jv *pod)
{
	static const char *const kinds[] = {"podAffinity", "podAntiAffinity"};

	for (size_t i = 0; i < 2; i++) {
		const struct jv *a = jv_get(jv_path(pod, "spec.affinity"), kinds[i]);

		if (cross_ns_terms(jv_get(a, "requiredDuringSchedulingIgnoredDuringExecution"),
				   false) ||
		    cross_ns_terms(jv_get(a, "preferredDuringSchedulingIgnoredDuringExecution"),
				   true))
			return true;
	}
	return false;
}

/* The PriorityClass scope as a label selector over {"PriorityClass": <the pod's class>}. */
static bool priority_matches(const struct jv *pod, const char *op, const struct jv *values)
{
	const char *pc = jv_path_str(pod, "spec.priorityClassName");
	bool has = pc && pc[0], in = false;

	for (const struct jv *v = jv_first(values); v && has; v = v->next)
		in |= jv_is_str(v, pc);
	if (!strcmp(op, "Exists"))
		return has;
	if (!strcmp(op, "DoesNotExist"))
		return !has;
	if (!strcmp(op, "In"))
		return has && in;
	if (!strcmp(op, "NotIn"))
		return !in;
	return false;
}

/* podMatchesScopeFunc */
static bool pod_scope(const struct jv *pod, const char *scope, const char *op,
		      const struct jv *values)
{
	int64_t ads;

	if (!strcmp(scope, "Terminating") || !strcmp(scope, "NotTerminating")) {
		bool term = jv_path_int(pod, "spec.activeDeadlineSeconds", &ads) == 0 && ads >= 0;

		return scope[0] == 'T' ? term : !term;
	}
	if (!strcmp(scope, "BestEffort"))
		return best_effort(pod);
	if (!strcmp(scope, "NotBestEffort"))
		return !best_effort(pod);
	if (!strcmp(scope, "PriorityClass"))
		return priority_matches(pod, op, values);
	if (!strcmp(scope, "CrossNamespacePodAffinity"))
		return cross_ns_affinity(pod);
	return false;
}

bool api_quota_scopes_match(const struct jv *quota, const char *group, const char *resource,
			    const struct jv *obj)
{
	const struct jv *spec = jv_get(quota, "spec");
	bool pod = core(group, resource, "pods");

	for (const struct jv *s = jv_first(jv_get(spec, "scopes")); s; s = s->next)
		if (s->type != JV_STRING || !pod || !pod_scope(obj, s->s, "Exists", NULL))
			return false;
	for (const struct jv *e = jv_first(jv_path(spec, "scopeSelector.matchExpressions")); e;
	     e = e->next) {
		const char *scope = jv_path_str(e, "scopeName"), *op = jv_path_str(e, "operator");

		if (!pod || !scope || !op || !pod_scope(obj, scope, op, jv_get(e, "values")))
			return false;
	}
	return true;
}

/* ---- constraints ---- */

struct missing {
	char resource[64];
	const char *containers[64];
	size_t n;
};

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int api_quota_pod_constraints(const struct api_rlist *required, const struct jv *pod, char *msg,
			      size_t size)
{
	/* only cpu and memory ever had to be stated (validationSet) */
	static const char *const validation[] = {
	    "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"};
	static const char *const lists[] = {"containers", "initContainers"};
	struct missing miss[6] = {0};
	size_t nmiss = 0, off;

	for (size_t l = 0; l < 2; l++)
		for (const struct jv *c = jv_first(jv_path(jv_get(pod, "spec"), lists[l])); c;
		     c = c->next) {
			struct api_rlist req, lim, have = {0};
			const char *name = jv_path_str(c, "name") ?: "";

			if (container_list(c, "requests", &req) != 0 ||
			    container_list(c, "limits", &lim) != 0 ||
			    compute_usage(&req, &lim, &have) != 0)
				continue;
			for (size_t v = 0; v < 6; v++) {
				struct missing *m = NULL;

				if (!api_rlist_get(required, validation[v]) ||
				    api_rlist_get(&have, validation[v]))
					continue;
				for (size_t i = 0; i < nmiss && !m; i++)
					if (!strcmp(miss[i].resource, validation[v]))
						m = &miss[i];
				if (!m) {
					m = &miss[nmiss++];
					snprintf(m->resource, sizeof(m->resource), "%s",
						 validation[v]);
				}
				if (m->n < 64)
					m->containers[m->n++] = name;
			}
		}
	if (!nmiss)
		return 0;
	/* "must specify <resource> for: <containers>; ..." sorted, containers as a set */
	for (size_t i = 0; i < nmiss; i++)
		for (size_t j = i + 1; j < nmiss; j++)
			if (strcmp(miss[j].resource, miss[i].resource) < 0) {
				struct missing t = miss[i];

				miss[i] = miss[j];
				miss[j] = t;
			}
	off = (size_t)snprintf(msg, size, "must specify ");
	for (size_t i = 0; i < nmiss && off < size; i++) {
		qsort(miss[i].containers, miss[i].n, sizeof(miss[i].containers[0]), cmp_strp);
		off += (size_t)snprintf(msg + off, size - off, "%s%s for: ", i ? "; " : "",
					miss[i].resource);
		for (size_t j = 0; j < miss[i].n && off < size; j++)
			if (j == 0 || strcmp(miss[i].containers[j], miss[i].containers[j - 1]))
				off += (size_t)snprintf(msg + off, size - off, "%s%s", j ? "," : "",
							miss[i].containers[j]);
	}
	return -EINVAL;
}
