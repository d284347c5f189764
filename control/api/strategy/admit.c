/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admit: the steps a write runs through the resource's strategy that are the same for every
 * kind: the create's status reset, allocation with its bookkeeping (what a write took is
 * given back when it fails; what the old object held and the new one dropped is freed once it
 * succeeded), release on delete; and the cause helpers of the hooks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api_alloc.h"
#include "api_obj.h"
#include "api_strategy.h"
#include "registry.h"

void api_cause(struct api_admit *a, const char *field, const char *reason, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k8s_errors_add(&a->errs, field, reason, 0, 0, "%s", msg);
}

void api_cause_invalid(struct api_admit *a, const char *field, const struct jv *v, const char *why)
{
	char val[256];

	if (v && v->type == JV_STRING)
		snprintf(val, sizeof(val), "\"%.200s\"", v->s);
	else if (v && v->type == JV_NUMBER)
		snprintf(val, sizeof(val), "%s", v->s);
	else
		snprintf(val, sizeof(val), "%s", v && v->type == JV_TRUE ? "true" : "null");
	api_cause(a, field, K8S_REASON_INVALID, "Invalid value: %s: %s", val, why);
}

void api_cause_required(struct api_admit *a, const char *field, const char *detail)
{
	if (detail)
		api_cause(a, field, K8S_REASON_REQUIRED, "Required value: %s", detail);
	else
		api_cause(a, field, K8S_REASON_REQUIRED, "Required value");
}

void api_cause_forbidden(struct api_admit *a, const char *field, const char *detail)
{
	api_cause(a, field, "FieldValueForbidden", "Forbidden: %s", detail);
}

struct jv *api_admit_stored(struct api_admit *a, const char *group, const char *version,
			    const char *resource, const char *ns)
{
	const struct api_resource *res = api_resource_find(group, version, resource);
	struct jv *arr = jv_new(a->d, JV_ARRAY);
	struct store_list l = {0};

	if (!arr || !a->reg || !res || api_list_all(a->reg->store, res, ns, 0, &l) != 0)
		return arr;
	for (size_t i = 0; i < l.count; i++) {
		struct jv *o = api_load_object(a->d, l.items[i].value, l.items[i].value_len,
					       l.items[i].mod_rev);

		if (o)
			jv_push(arr, o);
	}
	store_list_free(&l);
	return arr;
}

struct jv *api_admit_cached(struct api_admit *a, const char *group, const char *version,
			    const char *resource, const char *ns)
{
	const struct api_resource *res = api_resource_find(group, version, resource);
	struct reg_snap *s = a->reg && res ? reg_cache_get(a->reg, res, ns) : NULL;
	struct jv *arr;

	if (!s)
		return api_admit_stored(a, group, version, resource, ns);
	arr = jv_copy(a->d, reg_snap_items(s));
	reg_snap_put(s);
	return arr;
}

struct jv *api_admit_stored_one(struct api_admit *a, const char *group, const char *version,
				const char *resource, const char *ns, const char *name)
{
	const struct api_resource *res = api_resource_find(group, version, resource);
	struct store_kv kv = {0};
	struct jv *o;
	char key[512];
	int n;

	if (!a->reg || !res || !name)
		return NULL;
	n = api_key(res, ns, name, key, sizeof(key));
	if (n < 0 || store_get(a->reg->store, key, (size_t)n, 0, &kv) != 0)
		return NULL;
	o = api_load_object(a->d, kv.value, kv.value_len, kv.mod_rev);
	store_kv_release(&kv);
	return o;
}

int api_admit_authorize(struct api_admit *a)
{
	const struct api_strategy *st = api_strategy_of(a->res);

	if (!st->authorize_write || a->sub || !a->rq || !a->rq->user || !a->out || !a->reg ||
	    !a->reg->authz.allows)
		return 0;
	st->authorize_write(a);
	return a->out->code >= 300 ? -EPERM : 0; /* nothing set yet is no refusal */
}

void api_admit_prepare_create(struct api_admit *a)
{
	const struct api_strategy *st = api_strategy_of(a->res);

	if (st->prepare_create)
		st->prepare_create(a);
	else if (a->res->flags & API_RES_STATUS)
		jv_del(a->obj, "status"); /* status is written through its subresource */
}

void api_admit_validating(struct api_admit *a)
{
	const struct api_strategy *st = api_strategy_of(a->res);

	if (st->validate_admission && !a->errs.n && !a->forbidden[0])
		st->validate_admission(a);
}

int api_admit_allocate(struct api_admit *a)
{
	const struct api_strategy *st = api_strategy_of(a->res);

	return st->allocate ? st->allocate(a) : 0;
}

void api_admit_commit(struct api_admit *a)
{
	const struct api_strategy *st = api_strategy_of(a->res);

	if (st->committed)
		st->committed(a);
	for (size_t i = 0; i < a->nold_ips; i++)
		api_alloc_ip_release(a->reg->alloc, a->old_ips[i]);
	for (size_t i = 0; i < a->nold_ports; i++)
		api_alloc_port_release(a->reg->alloc, a->old_ports[i]);
	a->nold_ips = a->nold_ports = a->nnew_ips = a->nnew_ports = 0;
}

void api_admit_abort(struct api_admit *a)
{
	for (size_t i = 0; i < a->nnew_ips; i++)
		api_alloc_ip_release(a->reg->alloc, a->new_ips[i]);
	for (size_t i = 0; i < a->nnew_ports; i++)
		api_alloc_port_release(a->reg->alloc, a->new_ports[i]);
	a->nold_ips = a->nold_ports = a->nnew_ips = a->nnew_ports = 0;
}

void api_admit_release_deleted(struct registry *reg, const struct api_resource *res,
			       const struct jv *obj)
{
	const struct api_strategy *st = api_strategy_of(res);

	if (st->release)
		st->release(reg, obj);
}

void api_admit_free(struct api_admit *a)
{
	k8s_errors_free(&a->errs);
}
