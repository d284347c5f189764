/* SPDX-License-Identifier: Apache-2.0 */
/*
 * subres: the subresources that write through the registry: scale (an autoscaling/v1 Scale
 * over spec.replicas and the label selector; get, update, patch), binding (a pod bound to a
 * node, as the scheduler binds: a uid precondition, 409 if bound or being deleted, the
 * PodScheduled condition added); eviction is evict.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_patch.h"
#include "api_selector.h"
#include "reg_int.h"

static const struct k8s_kind *scale_kind(void)
{
	return k8s_kind_find("autoscaling/v1", "Scale");
}

/* Where an object keeps what its Scale shows: spec.replicas, status.replicas and the label
 * selector spec.selector of the built-in kinds; a custom resource's CRD names its own paths
 * (subresources.scale), its selector a string already. */
struct scale_paths {
	const char *spec, *status, *sel;
	bool sel_string;
};

static void scale_paths_of(const struct api_resource *res, struct scale_paths *p)
{
	*p = (struct scale_paths){"spec.replicas", "status.replicas", "spec.selector", false};
	if (reg_crd_scale_paths(res, &p->spec, &p->status, &p->sel))
		p->sel_string = true;
}

/* obj's integer at a dotted path set to n (the objects on the way made). */
static void set_int_at(struct jv_doc *d, struct jv *obj, const char *path, int64_t n)
{
	char key[256];
	const char *dot;

	while (obj && (dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		obj = jv_obj_at(d, obj, key);
		path = dot + 1;
	}
	if (obj)
		jv_set(d, obj, path, jv_new_int(d, n));
}

/* The Scale of an object (with its resourceVersion set). */
static struct jv *scale_of(struct reg_call *c, const struct jv *obj)
{
	struct scale_paths p;
	struct jv_doc *d = c->d;
	struct jv *s = jv_new(d, JV_OBJECT), *md = jv_new(d, JV_OBJECT);
	struct jv *spec = jv_new(d, JV_OBJECT), *st = jv_new(d, JV_OBJECT);
	static const char *const keep[] = {"name", "namespace", "uid", "resourceVersion",
					   "creationTimestamp"};
	const struct jv *sel;
	int64_t n = 0;
	char buf[1024];

	scale_paths_of(c->res, &p);
	sel = p.sel ? jv_path(obj, p.sel) : NULL;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const struct jv *v =
		    jv_path(obj, "metadata") ? jv_get(jv_path(obj, "metadata"), keep[i]) : NULL;

		if (v)
			jv_set(d, md, keep[i], jv_copy(d, v));
	}
	jv_set(d, s, "kind", jv_new_strz(d, "Scale"));
	jv_set(d, s, "apiVersion", jv_new_strz(d, "autoscaling/v1"));
	jv_set(d, s, "metadata", md);
	if (p.spec)
		jv_path_int(obj, p.spec, &n);
	jv_set(d, spec, "replicas", jv_new_int(d, n));
	jv_set(d, s, "spec", spec);
	n = 0;
	if (p.status)
		jv_path_int(obj, p.status, &n);
	jv_set(d, st, "replicas", jv_new_int(d, n));
	if (sel && p.sel_string) {
		if (sel->type == JV_STRING)
			jv_set(d, st, "selector", jv_copy(d, sel));
		sel = NULL;
	}
	if (sel && sel->type == JV_OBJECT && !jv_get(sel, "matchLabels") &&
	    !jv_get(sel, "matchExpressions") && sel->len) {
		/* a ReplicationController's selector is a map of labels, not a LabelSelector:
		 * labels.SelectorFromSet(rc.Spec.Selector).String() */
		struct jv *ls = jv_new(d, JV_OBJECT);

		jv_set(d, ls, "matchLabels", jv_copy(d, sel));
		sel = ls;
	}
	if (sel) {
		api_label_selector_string(sel, buf, sizeof(buf));
		if (strcmp(buf, "<none>") != 0)
			jv_set(d, st, "selector", jv_new_strz(d, buf));
	}
	jv_set(d, s, "status", st);
	return s;
}

int reg_scale(struct registry *reg, const struct reg_req *rq, enum reg_scale_op op,
	      struct jv *scale, enum api_patch_type t, const char *body, size_t len,
	      struct api_result *out)
{
	struct reg_call c0, *c = &c0;
	struct jv *obj, *n;
	uint64_t rev;
	int64_t replicas, pre = 0;
	char msg[512];
	int err;

	if (reg_call_init(c, reg, rq, out) != 0)
		return -EINVAL;
	if (op == REG_SCALE_UPDATE)
		pre = api_obj_rv(scale);
	for (int i = 0; i < REG_WRITE_RETRIES; i++) {
		err = reg_load(c, c->key, &obj, &rev);
		if (err) {
			api_fail_store(c->out, c->res, c->name, err);
			return err;
		}
		if (op == REG_SCALE_GET) {
			api_succeed_object(out, 200, scale_of(c, obj), rev);
			return 0;
		}
		if (op == REG_SCALE_PATCH) {
			struct jv *patch = jv_parse(c->d, body ? body : "", len, NULL);

			if (!patch) {
				api_fail(c->out, 400, "BadRequest", "error decoding patch");
				return -EINVAL;
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
			if (!scale && t == API_PATCH_JSON) {
				api_fail_json_patch(c->out);
				return -EINVAL;
			}
			if (!scale) {
				api_fail(c->out, 422, "Invalid", "%s",
					 msg[0] ? msg : "patch failed");
				return -EINVAL;
			}
		}
		if (jv_path_int(scale, "spec.replicas", &replicas) != 0 || replicas < 0) {
			struct k8s_errors e = {0};

			k8s_errors_add(&e, "spec.replicas", K8S_REASON_INVALID, 0, 0,
				       "Invalid value: %lld: must be greater than or equal to 0",
				       (long long)replicas);
			api_fail_invalid(c->out, c->res, c->name, &e);
			k8s_errors_free(&e);
			return -EINVAL;
		}
		n = jv_copy(c->d, obj);
		{
			struct scale_paths p;

			scale_paths_of(c->res, &p);
			set_int_at(c->d, n, p.spec ? p.spec : "spec.replicas", replicas);
		}
		jv_del(jv_get(n, "metadata"), "resourceVersion");
		err = reg_replace(c, n, obj, rev, pre > 0 ? (uint64_t)pre : 0, "Update");
		if (err != -STORE_ECONFLICT) {
			/* the answer is the Scale of what was stored */
			if (!api_result_failed(out) && out->obj) {
				struct jv *s = scale_of(c, out->obj);
				uint64_t nrev = out->rev;

				api_succeed_object(out, 200, s, nrev);
			}
			return err;
		}
	}
	api_fail_conflict(c->out, c->res, c->name);
	return -STORE_ECONFLICT;
}

int reg_bind(struct registry *reg, const struct reg_req *rq, struct jv *b, struct api_result *out)
{
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	struct reg_call c0, *c = &c0;
	struct jv *pod, *n, *spec;
	const char *target, *bname, *node, *uid;
	char key[1024], now[32];
	uint64_t rev;
	int err;

	if (reg_call_init(c, reg, rq, out) != 0)
		return -EINVAL;
	bname = jv_path_str(b, "metadata.name");
	if (!c->name)
		c->name = bname;
	target = jv_path_str(b, "target.name");
	if (!c->name || !target || !target[0]) {
		struct k8s_errors e = {0};

		k8s_errors_add(&e, "target.name", K8S_REASON_REQUIRED, 0, 0, "Required value");
		api_fail_invalid(c->out, c->res, c->name, &e);
		k8s_errors_free(&e);
		return -EINVAL;
	}
	c->res = pods;
	api_key(pods, c->ns, c->name, key, sizeof(key));
	for (int i = 0; i < REG_WRITE_RETRIES; i++) {
		size_t len;
		char *json;

		err = reg_load(c, key, &pod, &rev);
		if (err) {
			api_fail_store(c->out, pods, c->name, err);
			return err;
		}
		/* a uid in the binding's metadata is a precondition (as the binding REST has) */
		uid = jv_path_str(b, "metadata.uid");
		if (uid && uid[0] && !jv_is_str(jv_path(pod, "metadata.uid"), uid)) {
			api_fail_details(c->out, 409, "Conflict", pods, c->name,
					 "Precondition failed: UID in precondition: %s, UID in "
					 "object meta: %s",
					 uid, jv_path_str(pod, "metadata.uid") ?: "");
			return -EEXIST;
		}
		node = jv_path_str(pod, "spec.nodeName");
		if (node && node[0]) {
			api_fail_details(
			    c->out, 409, "Conflict", pods, c->name,
			    "Operation cannot be fulfilled on pods/binding \"%s\": pod "
			    "%s is already assigned to node \"%s\"",
			    c->name, c->name, node);
			return -EEXIST;
		}
		if (jv_path(pod, "metadata.deletionTimestamp")) {
			api_fail_details(
			    c->out, 409, "Conflict", pods, c->name,
			    "Operation cannot be fulfilled on pods/binding \"%s\": pod "
			    "%s is being deleted, cannot be assigned to a host",
			    c->name, c->name);
			return -EEXIST;
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
			api_fail_oom(c->out);
			return -ENOMEM;
		}
		err = c->dry_run
			  ? 0
			  : store_update(c->reg->store, key, strlen(key), json, len, rev, NULL);
		free(json);
		if (err == -STORE_ECONFLICT)
			continue;
		if (err)
			api_fail_store(c->out, pods, c->name, err);
		else
			api_succeed_status(c->out, 201);
		return err;
	}
	api_fail_conflict(c->out, pods, c->name);
	return -STORE_ECONFLICT;
}
