/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create: a new object: its namespace and name against the request's, generateName (a
 * generated name that exists is tried again, as Kubernetes does), the system metadata only
 * the server sets (uid, creationTimestamp, generation), the strategy's create (status reset,
 * defaults, admission, validation, allocation), ResourceQuota admission (quota.c),
 * managedFields, and the store's create.
 * dryRun=All runs everything but the store write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_managed.h"
#include "reg_int.h"

/* ---- metadata ---- */

int reg_check_identity(struct reg_call *c, struct jv *obj, bool need_name)
{
	struct jv *md = reg_meta(c, obj);
	const char *ns = jv_path_str(md, "namespace"), *name = jv_path_str(md, "name");

	if (!md) {
		api_fail_oom(c->out);
		return -ENOMEM;
	}
	if (api_resource_namespaced(c->res)) {
		if (ns && ns[0] && c->ns && strcmp(ns, c->ns) != 0) {
			api_fail(
			    c->out, 400, "BadRequest",
			    "the namespace of the provided object does not match the namespace "
			    "sent on the request");
			return -EINVAL;
		}
		if (c->ns)
			reg_set_str(c, md, "namespace", c->ns);
	} else {
		jv_del(md, "namespace");
	}
	if (need_name && c->name) {
		if (name && name[0] && strcmp(name, c->name) != 0) {
			api_fail(c->out, 400, "BadRequest",
				 "the name of the object (%s) does not match the name on the URL "
				 "(%s)",
				 name, c->name);
			return -EINVAL;
		}
		reg_set_str(c, md, "name", c->name);
	}
	return 0;
}

bool reg_reject_invalid(struct reg_call *c, struct api_admit *a, const char *name)
{
	if (!a->errs.n)
		return false;
	api_fail_invalid(c->out, c->res, name, &a->errs);
	return true;
}

bool reg_reject_forbidden(struct reg_call *c, struct api_admit *a, const char *name)
{
	char q[128];

	if (!a->forbidden[0])
		return false;
	api_fail_details(c->out, 403, "Forbidden", c->res, name, "%s \"%s\" is forbidden: %s",
			 api_res_qualified(c->res, q, sizeof(q)), name ? name : "", a->forbidden);
	return true;
}

void reg_admit_warnings(struct reg_call *c, const struct api_admit *a)
{
	for (size_t i = 0; i < a->errs.nwarn; i++)
		api_result_warn(c->out, "%s", a->errs.warnings[i]);
}

/* ---- create ---- */

static void name_from_generate(struct reg_call *c, struct jv *md)
{
	const char *gen = jv_path_str(md, "generateName");
	char name[320], sfx[8];

	if (jv_path_str(md, "name") && jv_path_str(md, "name")[0])
		return;
	if (!gen || !gen[0])
		return;
	api_random_suffix(sfx, 5);
	/* Kubernetes cuts the base to leave room for the suffix in 63 characters */
	snprintf(name, sizeof(name), "%.*s%s", (int)(strlen(gen) > 58 ? 58 : strlen(gen)), gen,
		 sfx);
	reg_set_str(c, md, "name", name);
}

void reg_create_object(struct reg_call *c, struct jv *obj, const char *operation)
{
	struct api_admit a = {.reg = c->reg,
			      .d = c->d,
			      .res = c->res,
			      .wire = c->wire,
			      .obj = obj,
			      .dry_run = c->dry_run,
			      .rq = c->rq,
			      .out = c->out};
	struct jv *md;
	const char *name;
	char uid[40], now[32];
	char *json = NULL;
	size_t len;
	uint64_t rev = 0;
	int err = 0;
	bool generated;

	if (reg_check_identity(c, obj, false) != 0)
		return;
	md = reg_meta(c, obj);
	/* a name the client gave wins over generateName, and a conflict on it is a conflict */
	generated = !jv_path_str(md, "name") || !jv_path_str(md, "name")[0];
	for (int attempt = 0; attempt < 8; attempt++) {
		if (attempt)
			jv_del(md, "name");
		name_from_generate(c, md);
		name = jv_path_str(md, "name");
		c->name = name;
		if (reg_check_namespace(c, true) != 0)
			return;
		/* system fields: only the server sets them */
		jv_del(md, "resourceVersion");
		jv_del(md, "deletionTimestamp");
		jv_del(md, "deletionGracePeriodSeconds");
		jv_del(md, "selfLink");
		api_uuid(uid);
		reg_set_str(c, md, "uid", uid);
		reg_set_str(c, md, "creationTimestamp", api_now(now));
		if (c->res->flags & API_RES_GENERATION)
			jv_set(c->d, md, "generation", jv_new_int(c->d, 1));
		else
			jv_del(md, "generation");
		if (attempt == 0) {
			api_admit_prepare_create(&a);
			api_admit_defaults(&a);
			/* MutatingAdmissionWebhook: after the built-in mutating plugins */
			if (reg_webhooks_mutate(c, "CREATE", obj, NULL, NULL) != 0)
				goto out;
			/* the RBAC kinds' escalation check, which kube's policybased storages
			 * make before the generic create */
			if (api_admit_authorize(&a) != 0)
				goto out;
			if (!name || !name[0])
				k8s_errors_add(&a.errs, "metadata.name", K8S_REASON_REQUIRED, 0, 0,
					       "Required value: name or generateName is required");
			if (a.errs.n == 0)
				api_admit_validate(&a);
			api_admit_validating(&a);
			if (a.errs.n == 0)
				api_admit_allocate(&a);
			reg_admit_warnings(c, &a);
			if (reg_reject_forbidden(c, &a,
						 generated && a.forbidden_mutating
						     ? jv_path_str(md, "generateName")
						     : name)) {
				api_admit_abort(&a);
				goto out;
			}
			if (reg_reject_invalid(c, &a, name))
				goto out;
			/* ValidatingAdmissionWebhook: after validation and the built-in
			 * validating plugins, before ResourceQuota as kube-apiserver orders them */
			if (reg_vap_validate(c, "CREATE", obj, NULL) != 0 ||
			    reg_webhooks_validate(c, "CREATE", obj, NULL, NULL) != 0) {
				api_admit_abort(&a);
				goto out;
			}
			/* the last admission step, as ResourceQuota is kube-apiserver's */
			if (reg_quota_admit(c, obj, NULL) != 0) {
				api_admit_abort(&a);
				goto out;
			}
			if (strcmp(operation, "Apply") != 0 &&
			    api_managed_update(c->d, obj, NULL, c->manager, NULL, c->res->kind,
					       c->res->flags & API_RES_STATUS) != 0)
				goto oom;
		}
		if (api_key(c->res, c->ns, name, c->key, sizeof(c->key)) < 0) {
			api_fail(c->out, 400, "BadRequest", "name too long");
			goto out;
		}
		free(json);
		json = api_store_json(obj, c->res->kind, &len);
		if (!json)
			goto oom;
		if (c->dry_run) {
			reg_done_object(c, 201, obj, store_revision(c->reg->store));
			goto out;
		}
		err = store_create(c->reg->store, c->key, strlen(c->key), json, len, &rev);
		/* a generated name that exists: try another, as Kubernetes does */
		if (err != -EEXIST || !generated)
			break;
	}
	if (err) {
		api_admit_abort(&a);
		api_fail_store(c->out, c->res, name, err);
		goto out;
	}
	api_admit_commit(&a);
	reg_done_written(c, 201, obj, json, len, rev);
	json = NULL;
	goto out;
oom:
	api_admit_abort(&a);
	api_fail_oom(c->out);
out:
	free(json);
	api_admit_free(&a);
}

int reg_create(struct registry *reg, const struct reg_req *rq, struct jv *obj,
	       struct api_result *out)
{
	struct reg_call c;

	if (reg_call_init(&c, reg, rq, out) != 0)
		return -EINVAL;
	if (c.name) {
		api_fail(out, 405, "MethodNotAllowed",
			 "the server does not allow this method on the requested resource");
		return -EINVAL;
	}
	reg_from_wire(&c, obj);
	reg_create_object(&c, obj, "Update");
	return api_result_failed(out) ? -EIO : 0;
}
