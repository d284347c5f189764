/* SPDX-License-Identifier: Apache-2.0 */
/*
 * subres: subresources: scale (an autoscaling/v1 Scale over spec.replicas and the label
 * selector; get, update, patch), binding (a pod bound to a node, as the scheduler binds),
 * eviction (a pod deleted by policy/v1 Eviction), and the node-agent ones (log, exec,
 * attach, port-forward, proxy) that answer 503 until a drover agent serves the node.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_handler.h"
#include "api_patch.h"
#include "api_selector.h"

static const struct k8s_kind *scale_kind(void)
{
	return k8s_kind_find("autoscaling/v1", "Scale");
}

/* The Scale of an object (with its resourceVersion set). */
static struct jv *scale_of(struct hctx *c, const struct jv *obj)
{
	struct jv_doc *d = c->d;
	struct jv *s = jv_new(d, JV_OBJECT), *md = jv_new(d, JV_OBJECT);
	struct jv *spec = jv_new(d, JV_OBJECT), *st = jv_new(d, JV_OBJECT);
	static const char *const keep[] = {"name", "namespace", "uid", "resourceVersion",
					   "creationTimestamp"};
	const struct jv *sel = jv_path(obj, "spec.selector");
	int64_t n = 0;
	char buf[1024];

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const struct jv *v =
		    jv_path(obj, "metadata") ? jv_get(jv_path(obj, "metadata"), keep[i]) : NULL;

		if (v)
			jv_set(d, md, keep[i], jv_copy(d, v));
	}
	jv_set(d, s, "kind", jv_new_strz(d, "Scale"));
	jv_set(d, s, "apiVersion", jv_new_strz(d, "autoscaling/v1"));
	jv_set(d, s, "metadata", md);
	jv_path_int(obj, "spec.replicas", &n);
	jv_set(d, spec, "replicas", jv_new_int(d, n));
	jv_set(d, s, "spec", spec);
	n = 0;
	jv_path_int(obj, "status.replicas", &n);
	jv_set(d, st, "replicas", jv_new_int(d, n));
	if (sel) {
		api_label_selector_string(sel, buf, sizeof(buf));
		if (strcmp(buf, "<none>") != 0)
			jv_set(d, st, "selector", jv_new_strz(d, buf));
	}
	jv_set(d, s, "status", st);
	return s;
}

static void reply_scale(struct hctx *c, const struct jv *obj)
{
	struct k8s_buf b = {0};

	k8s_jv_write_schema(&b, scale_of(c, obj), scale_kind()->type);
	api_reply_buf(c->r, 200, &b);
}

/* After a replace, r->out holds the stored object: answer its Scale instead. */
static void rescale_reply(struct hctx *c)
{
	struct jv *o;

	if (c->r->code != 200 || !c->r->out)
		return;
	o = jv_parse(c->d, c->r->out, c->r->out_len, NULL);
	if (o)
		reply_scale(c, o);
}

void api_sub_scale(struct hctx *c)
{
	struct jv *obj, *scale = NULL, *n;
	enum api_patch_type t;
	uint64_t rev;
	int64_t replicas, pre = 0;
	char msg[512];
	int err, dry = api_h_dry_run(c);

	if (dry < 0)
		return;
	c->dry_run = dry;
	if (c->r->method == API_M_PUT) {
		scale = api_decode_as(c->r, c->d, scale_kind()->type, K8S_FV_STRICT);
		if (!scale)
			return;
		pre = api_obj_rv(scale);
	} else if (c->r->method == API_M_PATCH &&
		   (api_patch_type_of(c->r->content_type, &t) != 0 || t == API_PATCH_APPLY)) {
		api_error(c->r, 415, "UnsupportedMediaType",
			  "the body of the request was in an unknown format - accepted media types "
			  "include: application/json-patch+json, application/merge-patch+json, "
			  "application/strategic-merge-patch+json");
		return;
	}
	for (int i = 0; i < API_WRITE_RETRIES; i++) {
		err = api_h_load(c, c->key, &obj, &rev);
		if (err) {
			api_error_store(c->r, c->res, c->name, err);
			return;
		}
		if (c->r->method == API_M_GET || c->r->method == API_M_HEAD) {
			reply_scale(c, obj);
			return;
		}
		if (c->r->method == API_M_PATCH) {
			struct jv *patch =
			    jv_parse(c->d, c->r->body.p ? c->r->body.p : "", c->r->body.len, NULL);

			if (!patch) {
				api_error(c->r, 400, "BadRequest", "error decoding patch");
				return;
			}
			msg[0] = 0;
			if (t == API_PATCH_JSON)
				scale =
				    api_json_patch(c->d, scale_of(c, obj), patch, msg, sizeof(msg));
			else if (t == API_PATCH_MERGE)
				scale = api_merge_patch(c->d, scale_of(c, obj), patch);
			else
				scale = api_strategic_patch(c->d, scale_of(c, obj), patch,
							    scale_kind()->type, msg, sizeof(msg));
			if (!scale) {
				api_error(c->r, 422, "Invalid", "%s",
					  msg[0] ? msg : "patch failed");
				return;
			}
		}
		if (jv_path_int(scale, "spec.replicas", &replicas) != 0 || replicas < 0) {
			struct k8s_errors e = {0};

			k8s_errors_add(&e, "spec.replicas", K8S_REASON_INVALID, 0, 0,
				       "Invalid value: %lld: must be greater than or equal to 0",
				       (long long)replicas);
			api_error_invalid(c->r, c->res, c->name, &e);
			k8s_errors_free(&e);
			return;
		}
		n = jv_copy(c->d, obj);
		jv_set(c->d, jv_obj_at(c->d, n, "spec"), "replicas", jv_new_int(c->d, replicas));
		jv_del(jv_get(n, "metadata"), "resourceVersion");
		err = api_h_replace(c, n, obj, rev, pre > 0 ? (uint64_t)pre : 0, "Update");
		if (err != -STORE_ECONFLICT) {
			rescale_reply(c);
			return;
		}
	}
	api_error_conflict(c->r, c->res, c->name);
}

static void reply_success(struct hctx *c, unsigned code)
{
	char body[160];

	snprintf(body, sizeof(body),
		 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
		 "\"Success\",\"code\":%u}",
		 code);
	api_reply_text(c->r, code, "application/json", body);
}

void api_sub_binding(struct hctx *c)
{
	const struct k8s_kind *bk = k8s_kind_find("v1", "Binding");
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	struct jv *b = api_decode_as(c->r, c->d, bk->type, K8S_FV_STRICT), *pod, *n, *spec;
	const char *target, *bname, *node;
	char key[1024], now[32];
	uint64_t rev;
	int err;

	if (!b)
		return;
	bname = jv_path_str(b, "metadata.name");
	if (!c->name)
		c->name = bname;
	target = jv_path_str(b, "target.name");
	if (!c->name || !target || !target[0]) {
		struct k8s_errors e = {0};

		k8s_errors_add(&e, "target.name", K8S_REASON_REQUIRED, 0, 0, "Required value");
		api_error_invalid(c->r, c->res, c->name, &e);
		k8s_errors_free(&e);
		return;
	}
	c->res = pods;
	api_key(pods, c->ns, c->name, key, sizeof(key));
	for (int i = 0; i < API_WRITE_RETRIES; i++) {
		size_t len;
		char *json;

		err = api_h_load(c, key, &pod, &rev);
		if (err) {
			api_error_store(c->r, pods, c->name, err);
			return;
		}
		node = jv_path_str(pod, "spec.nodeName");
		if (node && node[0]) {
			api_error_details(
			    c->r, 409, "Conflict", pods, c->name,
			    "Operation cannot be fulfilled on pods/binding \"%s\": pod "
			    "%s is already assigned to node \"%s\"",
			    c->name, c->name, node);
			return;
		}
		if (jv_path(pod, "metadata.deletionTimestamp")) {
			api_error_details(
			    c->r, 409, "Conflict", pods, c->name,
			    "Operation cannot be fulfilled on pods/binding \"%s\": pod "
			    "%s is being deleted, cannot be assigned to a host",
			    c->name, c->name);
			return;
		}
		n = jv_copy(c->d, pod);
		spec = jv_obj_at(c->d, n, "spec");
		jv_set(c->d, spec, "nodeName", jv_new_strz(c->d, target));
		{
			/* the PodScheduled condition the binding REST adds */
			struct jv *st = jv_obj_at(c->d, n, "status");
			struct jv *conds = jv_get(st, "conditions"),
				  *cond = jv_new(c->d, JV_OBJECT);

			if (!conds || conds->type != JV_ARRAY) {
				conds = jv_new(c->d, JV_ARRAY);
				jv_set(c->d, st, "conditions", conds);
			}
			jv_set(c->d, cond, "type", jv_new_strz(c->d, "PodScheduled"));
			jv_set(c->d, cond, "status", jv_new_strz(c->d, "True"));
			jv_set(c->d, cond, "lastProbeTime", jv_new(c->d, JV_NULL));
			jv_set(c->d, cond, "lastTransitionTime", jv_new_strz(c->d, api_now(now)));
			jv_push(conds, cond);
		}
		json = api_store_json(n, pods->kind, &len);
		if (!json) {
			api_error(c->r, 500, "InternalError",
				  "Internal error occurred: out of memory");
			return;
		}
		err = c->dry_run
			  ? 0
			  : store_update(c->srv->store, key, strlen(key), json, len, rev, NULL);
		free(json);
		if (err == -STORE_ECONFLICT)
			continue;
		if (err)
			api_error_store(c->r, pods, c->name, err);
		else
			reply_success(c, 201);
		return;
	}
	api_error_conflict(c->r, pods, c->name);
}

void api_sub_eviction(struct hctx *c)
{
	const struct k8s_kind *ek = k8s_kind_find("policy/v1", "Eviction");
	struct jv *ev = ek ? api_decode_as(c->r, c->d, ek->type, K8S_FV_IGNORE) : NULL, *pod;
	uint64_t rev;
	int err;

	if (!ev)
		return;
	for (int i = 0; i < API_WRITE_RETRIES; i++) {
		err = api_h_load(c, c->key, &pod, &rev);
		if (err) {
			api_error_store(c->r, c->res, c->name, err);
			return;
		}
		err = api_h_delete_object(c, c->key, pod, rev, jv_get(ev, "deleteOptions"), false);
		if (err == -STORE_ECONFLICT)
			continue;
		if (!err)
			reply_success(c, 201);
		else if (c->r->state != REQ_DONE)
			api_error_store(c->r, c->res, c->name, err);
		return;
	}
	api_error_conflict(c->r, c->res, c->name);
}

void api_sub_unavailable(struct hctx *c)
{
	const char *res = c->res->kind->resource;
	struct jv *obj;
	const char *node;
	uint64_t rev;
	int err;

	if (strcmp(res, "serviceaccounts") == 0) {
		api_error(c->r, 503, "ServiceUnavailable",
			  "serviceaccounts/token: TokenRequest is not served by drover yet");
		return;
	}
	if (strcmp(res, "pods") != 0) {
		api_error(c->r, 503, "ServiceUnavailable",
			  "%s/%s: no node agent serves this subresource yet", res, c->sub);
		return;
	}
	err = api_h_load(c, c->key, &obj, &rev);
	if (err) {
		api_error_store(c->r, c->res, c->name, err);
		return;
	}
	node = jv_path_str(obj, "spec.nodeName");
	if (!node || !node[0]) {
		api_error(c->r, 400, "BadRequest", "pod %s does not have a host assigned", c->name);
		return;
	}
	api_error(c->r, 503, "ServiceUnavailable",
		  "no node agent serves node \"%s\" yet: pod %s (logs, exec, attach, port-forward) "
		  "needs the drover agent on that node",
		  node, c->sub);
}
