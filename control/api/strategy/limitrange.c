/* SPDX-License-Identifier: Apache-2.0 */
/*
 * limitrange: LimitRanges (core/v1) and the LimitRanger admission plugin, as Kubernetes 1.32
 * has them: the item defaults (pkg/apis/core/v1/defaults.go SetDefaults_LimitRangeItem), the
 * object's validation (pkg/apis/core/validation ValidateLimitRange), and plugin/pkg/
 * admission/limitranger/admission.go over the namespace's stored LimitRanges: a new pod's
 * containers and init containers get the Container items' default limits and default
 * requests where they state none, recorded in the kubernetes.io/limit-ranger annotation
 * (PodMutateLimitFunc); then, once the pod passed its validation, every Container and Pod
 * item's min, max and maxLimitRequestRatio is checked (PodValidateLimitFunc), and a claim's
 * storage request against the PersistentVolumeClaim items (create and update), each refusal
 * 403 with the plugin's message (several aggregated as "[a, b]").
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_quota.h"
#include "api_strategy.h"
#include "kinds.h"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

static const char *qstr(const struct api_rq *q, char *buf, size_t size)
{
	return api_quantity_string(q->milli, q->binary, buf, size);
}

/* ---- the LimitRange ---- */

/* Copy every quantity of from that to lacks. */
static void fill_missing(struct jv_doc *d, struct jv *item, const char *to, const char *from)
{
	const struct jv *src = jv_get(item, from);
	struct jv *dst = jv_get(item, to);

	for (const struct jv *q = jv_first(src); q; q = q->next) {
		if (jv_getn(dst, q->key, q->klen))
			continue;
		if (!dst || dst->type != JV_OBJECT) {
			dst = jv_new(d, JV_OBJECT);
			jv_set(d, item, to, dst);
		}
		jv_setn(d, dst, q->key, q->klen, jv_copy(d, q));
	}
}

/* SetDefaults_LimitRangeItem: a Container item's default limit is its max, its default
 * request its default limit, else its min. */
static void lr_defaults(struct api_admit *a)
{
	EACH(item, jv_path(a->obj, "spec.limits"))
	{
		if (!jv_is_str(jv_get(item, "type"), "Container"))
			continue;
		fill_missing(a->d, item, "default", "max");
		fill_missing(a->d, item, "defaultRequest", "default");
		fill_missing(a->d, item, "defaultRequest", "min");
	}
}

/* A resource.Quantity as field.Error prints a bad value: Go's %#v of the struct (Quantity's
 * String has a pointer receiver, so ErrorBody falls through to %#v), with s the String()
 * the message computed first. The int64Amount is what ParseQuantity's fast path stores; a
 * quantity of its slow path (inf.Dec) is shown quoted instead. */
static const char *go_quantity(const struct jv *v, const struct api_rq *q, char *buf, size_t size)
{
	static const struct {
		const char *sfx;
		int base, exp;
	} sfx[] = {{"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3},  {"M", 10, 6},
		   {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10},
		   {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60}};
	const char *s = v ? v->s : "", *num, *fmt = "DecimalSI";
	size_t len = v ? v->len : 0, i = 0, nnum, nden;
	char canon[64], digits[40];
	int base = 10, exp = 0, scale;
	bool neg = false;
	long long value = 0, mant = 1;

	qstr(q, canon, sizeof(canon));
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	while (i < len && s[i] == '0')
		i++;
	num = s + i;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	nnum = (size_t)(s + i - num);
	nden = 0;
	if (i < len && s[i] == '.') {
		size_t d0 = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		nden = i - d0;
	}
	if (i < len) {
		size_t k;

		for (k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++)
			if (strlen(sfx[k].sfx) == len - i && !memcmp(sfx[k].sfx, s + i, len - i))
				break;
		if (k < sizeof(sfx) / sizeof(sfx[0])) {
			base = sfx[k].base;
			exp = sfx[k].exp;
			fmt = base == 2 ? "BinarySI" : "DecimalSI";
		} else if (s[i] == 'e' || s[i] == 'E') {
			exp = (int)strtol(s + i + 1, NULL, 10);
			fmt = "DecimalExponent";
		}
	}
	/* the fast path's precision: decimal digits that fit an int64 */
	if ((base == 10 && (int)(nnum + nden) > 18) ||
	    (base == 2 && (nden || (15 - (int)nnum - (int)((float)exp * 3 / 10) - 1) < 0)))
		goto quoted;
	if (nnum + nden + 1 >= sizeof(digits))
		goto quoted;
	snprintf(digits, sizeof(digits), "%.*s%.*s", (int)nnum, num, (int)nden,
		 num + nnum + (nden ? 1 : 0));
	value = digits[0] ? strtoll(digits, NULL, 10) : 0;
	scale = (base == 10 ? exp : 0) - (int)nden;
	if (scale < -9)
		goto quoted;
	if (base == 2) {
		mant = 1LL << exp;
		if (value && mant > INT64_MAX / value)
			goto quoted;
	}
	snprintf(buf, size,
		 "resource.Quantity{i:resource.int64Amount{value:%lld, scale:%d}, "
		 "d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"%s\", Format:\"%s\"}",
		 (neg ? -1 : 1) * value * mant, scale, canon, fmt);
	return buf;
quoted:
	snprintf(buf, size, "\"%s\"", canon);
	return buf;
}

/* field.Invalid(path, <quantity>, why) */
static void invalid_quantity(struct api_admit *a, const char *path, const struct jv *item,
			     const char *map, const struct api_rq *q, const char *why)
{
	char val[256];

	go_quantity(jv_get(jv_get(item, map), q->name), q, val, sizeof(val));
	api_cause(a, path, K8S_REASON_INVALID, "Invalid value: %s: %s", val, why);
}

static bool standard_container_resource(const char *n)
{
	return !strcmp(n, "cpu") || !strcmp(n, "memory") || !strcmp(n, "ephemeral-storage") ||
	       !strncmp(n, "hugepages-", 10);
}

/* helper.IsStandardResourceName */
static bool standard_resource(const char *n)
{
	static const char *const names[] = {"cpu",
					    "memory",
					    "ephemeral-storage",
					    "requests.cpu",
					    "requests.memory",
					    "requests.ephemeral-storage",
					    "limits.cpu",
					    "limits.memory",
					    "limits.ephemeral-storage",
					    "pods",
					    "services",
					    "replicationcontrollers",
					    "resourcequotas",
					    "secrets",
					    "configmaps",
					    "persistentvolumeclaims",
					    "storage",
					    "requests.storage",
					    "services.nodeports",
					    "services.loadbalancers"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(n, names[i]))
			return true;
	return !strncmp(n, "hugepages-", 10) || !strncmp(n, "requests.hugepages-", 19);
}

/* validateLimitRangeResourceName (names with a '/' are left to the schema) */
static void check_resource_name(struct api_admit *a, const char *type, const char *path,
				const char *name)
{
	struct jv v = {.type = JV_STRING, .s = name, .len = strlen(name)};
	bool container = !strcmp(type, "Pod") || !strcmp(type, "Container");

	if (strchr(name, '/'))
		return;
	if (container && !standard_container_resource(name))
		api_cause_invalid(a, path, &v, "must be a standard resource for containers");
	else if (!container && !standard_resource(name))
		api_cause_invalid(a, path, &v,
				  "must be a standard resource type or fully qualified");
}

/* The quantities of one map of an item, each name checked. */
static void item_map(struct api_admit *a, const struct jv *item, const char *type,
		     const char *ipath, const char *map, struct api_rlist *out)
{
	char path[256];

	if (api_rlist_parse(jv_get(item, map), out) != 0)
		out->n = 0; /* not quantities: the schema said so */
	for (size_t i = 0; i < out->n; i++) {
		snprintf(path, sizeof(path), "%s.%s[%s]", ipath, map, out->it[i].name);
		check_resource_name(a, type, path, out->it[i].name);
	}
}

/* "<lo> value X is greater than <hi> value Y" at <at>[k] when lo > hi; the bad value the
 * Go code reports is bad, from the item's map bad_map. */
static void check_order(struct api_admit *a, const struct jv *item, const char *ipath,
			const char *k, const struct api_rq *lo, const char *lo_name,
			const struct api_rq *hi, const char *hi_name, const char *at,
			const char *bad_map, const struct api_rq *bad)
{
	char path[256], why[256], x[64], y[64];

	if (!lo || !hi || lo->milli <= hi->milli)
		return;
	snprintf(path, sizeof(path), "%s.%s[%s]", ipath, at, k);
	snprintf(why, sizeof(why), "%s value %s is greater than %s value %s", lo_name,
		 qstr(lo, x, sizeof(x)), hi_name, qstr(hi, y, sizeof(y)));
	invalid_quantity(a, path, item, bad_map, bad, why);
}

/* ValidateLimitRange's checks of one resource k of an item (lists: min, max, default,
 * defaultRequest, maxLimitRequestRatio), in its order */
static void check_key(struct api_admit *a, const struct jv *item, const char *ipath, const char *k,
		      const struct api_rlist *lists)
{
	const struct api_rq *mn = api_rlist_get(&lists[0], k), *mx = api_rlist_get(&lists[1], k);
	const struct api_rq *df = api_rlist_get(&lists[2], k), *dr = api_rlist_get(&lists[3], k);
	const struct api_rq *ratio = api_rlist_get(&lists[4], k);
	char path[256], why[256], x[64];

	check_order(a, item, ipath, k, mn, "min", mx, "max", "min", "min", mn);
	check_order(a, item, ipath, k, mn, "min", dr, "default request", "defaultRequest",
		    "defaultRequest", dr);
	check_order(a, item, ipath, k, dr, "default request", mx, "max", "defaultRequest",
		    "defaultRequest", dr);
	check_order(a, item, ipath, k, dr, "default request", df, "default limit", "defaultRequest",
		    "defaultRequest", dr);
	check_order(a, item, ipath, k, mn, "min", df, "default", "default", "min", mn);
	check_order(a, item, ipath, k, df, "default", mx, "max", "default", "max", mx);
	snprintf(path, sizeof(path), "%s.maxLimitRequestRatio[%s]", ipath, k);
	if (ratio && ratio->milli < 1000) {
		snprintf(why, sizeof(why), "ratio %s is less than 1", qstr(ratio, x, sizeof(x)));
		invalid_quantity(a, path, item, "maxLimitRequestRatio", ratio, why);
	}
	if (ratio && mn && mx && mn->milli &&
	    (double)ratio->milli / 1000 > (double)mx->milli / (double)mn->milli) {
		snprintf(why, sizeof(why), "ratio %s is greater than max/min = %f",
			 qstr(ratio, x, sizeof(x)), (double)mx->milli / (double)mn->milli);
		invalid_quantity(a, path, item, "maxLimitRequestRatio", ratio, why);
	}
}

/* ValidateLimitRange */
static void lr_validate(struct api_admit *a)
{
	size_t i = 0;

	EACH(item, jv_path(a->obj, "spec.limits"))
	{
		const char *type = jv_path_str(item, "type");
		struct api_rlist lists[5], keys = {0};
		char ipath[64], path[96];
		size_t j = 0;

		snprintf(ipath, sizeof(ipath), "spec.limits[%zu]", i);
		type = type ? type : "";
		snprintf(path, sizeof(path), "%s.type", ipath);
		if (!strchr(type, '/') && strcmp(type, "Pod") && strcmp(type, "Container") &&
		    strcmp(type, "PersistentVolumeClaim"))
			api_cause_invalid(a, path, jv_get(item, "type"),
					  "must be a standard limit type or fully qualified");
		EACH(prev, jv_path(a->obj, "spec.limits"))
		{
			if (j++ >= i)
				break;
			if (jv_is_str(jv_get(prev, "type"), type)) {
				api_cause(a, path, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"",
					  type);
				break;
			}
		}
		item_map(a, item, type, ipath, "max", &lists[1]);
		item_map(a, item, type, ipath, "min", &lists[0]);
		if (!strcmp(type, "Pod")) {
			lists[2].n = lists[3].n = 0;
			if (jv_count(jv_get(item, "default"))) {
				snprintf(path, sizeof(path), "%s.default", ipath);
				api_cause_forbidden(a, path,
						    "may not be specified when `type` is 'Pod'");
			}
			if (jv_count(jv_get(item, "defaultRequest"))) {
				snprintf(path, sizeof(path), "%s.defaultRequest", ipath);
				api_cause_forbidden(a, path,
						    "may not be specified when `type` is 'Pod'");
			}
		} else {
			item_map(a, item, type, ipath, "default", &lists[2]);
			item_map(a, item, type, ipath, "defaultRequest", &lists[3]);
		}
		if (!strcmp(type, "PersistentVolumeClaim") &&
		    !api_rlist_get(&lists[0], "storage") && !api_rlist_get(&lists[1], "storage")) {
			snprintf(path, sizeof(path), "%s.limits", ipath);
			api_cause_required(a, path,
					   "either minimum or maximum storage value is required, "
					   "but neither was provided");
		}
		item_map(a, item, type, ipath, "maxLimitRequestRatio", &lists[4]);
		/* each resource an item names, in the order first named */
		for (size_t m = 0; m < 5; m++)
			for (size_t k = 0; k < lists[m].n; k++)
				if (!api_rlist_get(&keys, lists[m].it[k].name))
					api_rlist_add(&keys, lists[m].it[k].name, 0, false);
		for (size_t k = 0; k < keys.n; k++)
			check_key(a, item, ipath, keys.it[k].name, lists);
		i++;
	}
}

const struct api_strategy api_strategy_limitranges = {
    .defaults = lr_defaults,
    .validate = lr_validate,
};

/* ---- the LimitRanger plugin ---- */

static struct jv *namespace_limitranges(struct api_admit *a)
{
	const char *ns = jv_path_str(a->obj, "metadata.namespace");

	return ns ? api_admit_cached(a, "", "v1", "limitranges", ns) : NULL;
}

/* runLimitFunc's first refusal, aggregated as utilerrors.NewAggregate prints it. */
struct lr_errs {
	char msg[sizeof(((struct api_admit *)0)->forbidden)];
	size_t n;
	size_t len;
};

static void lr_err(struct lr_errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lr_err(struct lr_errs *e, const char *fmt, ...)
{
	va_list ap;

	if (e->len + 3 >= sizeof(e->msg))
		return;
	if (e->n++)
		e->len += (size_t)snprintf(e->msg + e->len, sizeof(e->msg) - e->len, ", ");
	va_start(ap, fmt);
	e->len += (size_t)vsnprintf(e->msg + e->len, sizeof(e->msg) - e->len, fmt, ap);
	va_end(ap);
	if (e->len >= sizeof(e->msg))
		e->len = sizeof(e->msg) - 1;
}

static void lr_refuse(struct api_admit *a, const struct lr_errs *e)
{
	size_t n = strlen(e->msg);

	if (e->n == 1) {
		memcpy(a->forbidden, e->msg, n + 1);
	} else if (e->n > 1) {
		n = n + 3 > sizeof(a->forbidden) ? sizeof(a->forbidden) - 3 : n;
		a->forbidden[0] = '[';
		memcpy(a->forbidden + 1, e->msg, n);
		memcpy(a->forbidden + 1 + n, "]", 2);
	}
}

/* minConstraint */
static void min_constraint(struct lr_errs *e, const char *type, const struct api_rq *enf,
			   const struct api_rlist *req, const struct api_rlist *lim)
{
	const struct api_rq *r = api_rlist_get(req, enf->name), *l = api_rlist_get(lim, enf->name);
	char x[64], y[64];

	qstr(enf, x, sizeof(x));
	if (!r)
		lr_err(e, "minimum %s usage per %s is %s.  No request is specified", enf->name,
		       type, x);
	else if (r->milli < enf->milli)
		lr_err(e, "minimum %s usage per %s is %s, but request is %s", enf->name, type, x,
		       qstr(r, y, sizeof(y)));
	else if (l && l->milli < enf->milli)
		lr_err(e, "minimum %s usage per %s is %s, but limit is %s", enf->name, type, x,
		       qstr(l, y, sizeof(y)));
}

/* maxConstraint, or maxRequestConstraint (request_only: claims state no limits) */
static void max_constraint(struct lr_errs *e, const char *type, const struct api_rq *enf,
			   const struct api_rlist *req, const struct api_rlist *lim,
			   bool request_only)
{
	const struct api_rq *r = api_rlist_get(req, enf->name), *l = api_rlist_get(lim, enf->name);
	char x[64], y[64];

	qstr(enf, x, sizeof(x));
	if (request_only) {
		if (!r)
			lr_err(e, "maximum %s usage per %s is %s.  No request is specified",
			       enf->name, type, x);
		else if (r->milli > enf->milli)
			lr_err(e, "maximum %s usage per %s is %s, but request is %s", enf->name,
			       type, x, qstr(r, y, sizeof(y)));
		return;
	}
	if (!l)
		lr_err(e, "maximum %s usage per %s is %s.  No limit is specified", enf->name, type,
		       x);
	else if (l->milli > enf->milli)
		lr_err(e, "maximum %s usage per %s is %s, but limit is %s", enf->name, type, x,
		       qstr(l, y, sizeof(y)));
	else if (r && r->milli > enf->milli)
		lr_err(e, "maximum %s usage per %s is %s, but request is %s", enf->name, type, x,
		       qstr(r, y, sizeof(y)));
}

/* limitRequestRatioConstraint */
static void ratio_constraint(struct lr_errs *e, const char *type, const struct api_rq *enf,
			     const struct api_rlist *req, const struct api_rlist *lim)
{
	const struct api_rq *r = api_rlist_get(req, enf->name), *l = api_rlist_get(lim, enf->name);
	char x[64];
	double ratio;

	qstr(enf, x, sizeof(x));
	if (!r || r->milli == 0) {
		lr_err(e,
		       "%s max limit to request ratio per %s is %s, but no request is specified or "
		       "request is 0",
		       enf->name, type, x);
		return;
	}
	if (!l || l->milli == 0) {
		lr_err(e,
		       "%s max limit to request ratio per %s is %s, but no limit is specified or "
		       "limit is 0",
		       enf->name, type, x);
		return;
	}
	ratio = (double)l->milli / (double)r->milli;
	if (ratio * 1000 > (double)enf->milli)
		lr_err(e, "%s max limit to request ratio per %s is %s, but provided ratio is %f",
		       enf->name, type, x, ratio);
}

/* The min, max and maxLimitRequestRatio of one item over a request and a limit list. */
static void check_item(struct lr_errs *e, const struct jv *item, const char *type,
		       const struct api_rlist *req, const struct api_rlist *lim)
{
	struct api_rlist mn, mx, ratio;

	if (api_rlist_parse(jv_get(item, "min"), &mn) != 0 ||
	    api_rlist_parse(jv_get(item, "max"), &mx) != 0 ||
	    api_rlist_parse(jv_get(item, "maxLimitRequestRatio"), &ratio) != 0)
		return;
	for (size_t i = 0; i < mn.n; i++)
		min_constraint(e, type, &mn.it[i], req, lim);
	for (size_t i = 0; i < mx.n; i++)
		max_constraint(e, type, &mx.it[i], req, lim, false);
	for (size_t i = 0; i < ratio.n; i++)
		ratio_constraint(e, type, &ratio.it[i], req, lim);
}

static void container_lists(const struct jv *ct, struct api_rlist *req, struct api_rlist *lim)
{
	if (api_rlist_parse(jv_path(ct, "resources.requests"), req) != 0)
		req->n = 0;
	if (api_rlist_parse(jv_path(ct, "resources.limits"), lim) != 0)
		lim->n = 0;
}

/* PodValidateLimitFunc */
static void validate_pod(const struct jv *lr, const struct jv *pod, struct lr_errs *e)
{
	const struct jv *spec = jv_get(pod, "spec");
	struct api_rlist req, lim;

	EACH(item, jv_path(lr, "spec.limits"))
	{
		if (jv_is_str(jv_get(item, "type"), "Container")) {
			EACH(ct, jv_get(spec, "containers"))
			{
				container_lists(ct, &req, &lim);
				check_item(e, item, "Container", &req, &lim);
			}
			EACH(ct, jv_get(spec, "initContainers"))
			{
				container_lists(ct, &req, &lim);
				check_item(e, item, "Container", &req, &lim);
			}
		}
		if (jv_is_str(jv_get(item, "type"), "Pod") &&
		    api_pod_totals(pod, "requests", false, &req) == 0 &&
		    api_pod_totals(pod, "limits", false, &lim) == 0)
			check_item(e, item, "Pod", &req, &lim);
	}
}

/* PersistentVolumeClaimValidateLimitFunc: min over the requests (no limits), max by
 * maxRequestConstraint. */
static void validate_claim(const struct jv *lr, const struct jv *pvc, struct lr_errs *e)
{
	struct api_rlist req, none = {0}, mn, mx;

	if (api_rlist_parse(jv_path(pvc, "spec.resources.requests"), &req) != 0)
		req.n = 0;
	EACH(item, jv_path(lr, "spec.limits"))
	{
		if (!jv_is_str(jv_get(item, "type"), "PersistentVolumeClaim") ||
		    api_rlist_parse(jv_get(item, "min"), &mn) != 0 ||
		    api_rlist_parse(jv_get(item, "max"), &mx) != 0)
			continue;
		for (size_t i = 0; i < mn.n; i++)
			min_constraint(e, "PersistentVolumeClaim", &mn.it[i], &req, &none);
		for (size_t i = 0; i < mx.n; i++)
			max_constraint(e, "PersistentVolumeClaim", &mx.it[i], &req, &none, true);
	}
}

/* SupportsAttributes: pods on create, claims on create and update, never a subresource; and
 * runLimitFunc skips an object being deleted. */
static bool supported(const struct api_admit *a, bool *pod)
{
	*pod = a->res->kind->group[0] == 0 && !strcmp(a->res->kind->kind, "Pod");
	if (a->sub || (a->old && jv_path(a->old, "metadata.deletionTimestamp")))
		return false;
	if (*pod)
		return !a->old;
	return a->res->kind->group[0] == 0 && !strcmp(a->res->kind->kind, "PersistentVolumeClaim");
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* mergeContainerResources: the defaults a container lacks; what was set goes into ann
 * ("cpu, memory request for container web", names sorted as sort.Strings sorts them). */
static void merge_container(struct api_admit *a, struct jv *ct, const struct jv *limits,
			    const struct jv *requests, const char *what, char *ann, size_t size)
{
	static const char *const keys[] = {"requests", "limits"};
	static const char *const nouns[] = {"request", "limit"};
	const struct jv *defs[] = {requests, limits};
	struct jv *res = jv_obj_at(a->d, ct, "resources");
	const char *name = jv_path_str(ct, "name");

	for (size_t k = 0; k < 2; k++) {
		const char *set[API_RLIST_MAX];
		size_t n = 0, off;

		for (const struct jv *q = jv_first(defs[k]); q && n < API_RLIST_MAX; q = q->next) {
			struct jv *have = jv_get(res, keys[k]);

			if (jv_getn(have, q->key, q->klen))
				continue;
			if (!have || have->type != JV_OBJECT) {
				have = jv_new(a->d, JV_OBJECT);
				jv_set(a->d, res, keys[k], have);
			}
			jv_setn(a->d, have, q->key, q->klen, jv_copy(a->d, q));
			set[n++] = q->key;
		}
		if (!n)
			continue;
		qsort(set, n, sizeof(set[0]), name_cmp);
		off = strlen(ann);
		if (off)
			off += (size_t)snprintf(ann + off, size - off, "; ");
		for (size_t i = 0; i < n && off < size; i++)
			off +=
			    (size_t)snprintf(ann + off, size - off, "%s%s", i ? ", " : "", set[i]);
		if (off < size)
			snprintf(ann + off, size - off, " %s for %s %s", nouns[k], what,
				 name ? name : "");
	}
}

void api_limitranger_mutate_pod(struct api_admit *a)
{
	struct jv *spec = jv_get(a->obj, "spec"), *lrs;
	bool pod;

	if (!supported(a, &pod) || !pod)
		return;
	lrs = namespace_limitranges(a);
	for (const struct jv *lr = jv_first(lrs); lr; lr = lr->next) {
		struct jv *limits = jv_new(a->d, JV_OBJECT), *requests = jv_new(a->d, JV_OBJECT);
		char ann[1024] = "", val[1100];

		/* defaultContainerResourceRequirements: later items win */
		EACH(item, jv_path(lr, "spec.limits"))
		{
			if (!jv_is_str(jv_get(item, "type"), "Container"))
				continue;
			for (const struct jv *q = jv_first(jv_get(item, "defaultRequest")); q;
			     q = q->next)
				jv_setn(a->d, requests, q->key, q->klen, jv_copy(a->d, q));
			for (const struct jv *q = jv_first(jv_get(item, "default")); q; q = q->next)
				jv_setn(a->d, limits, q->key, q->klen, jv_copy(a->d, q));
		}
		EACH(ct, jv_get(spec, "containers"))
		merge_container(a, ct, limits, requests, "container", ann, sizeof(ann));
		EACH(ct, jv_get(spec, "initContainers"))
		merge_container(a, ct, limits, requests, "init container", ann, sizeof(ann));
		if (!ann[0])
			continue;
		snprintf(val, sizeof(val), "LimitRanger plugin set: %s", ann);
		jv_set(a->d, jv_obj_at(a->d, jv_obj_at(a->d, a->obj, "metadata"), "annotations"),
		       "kubernetes.io/limit-ranger", jv_new_strz(a->d, val));
	}
}

void api_limitranger_validate(struct api_admit *a)
{
	struct jv *lrs;
	bool pod;

	if (a->errs.n || a->forbidden[0] || !supported(a, &pod))
		return;
	lrs = namespace_limitranges(a);
	for (const struct jv *lr = jv_first(lrs); lr; lr = lr->next) {
		struct lr_errs e = {0};

		if (pod)
			validate_pod(lr, a->obj, &e);
		else
			validate_claim(lr, a->obj, &e);
		if (e.n) {
			lr_refuse(a, &e);
			return;
		}
	}
}
