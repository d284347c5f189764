/* SPDX-License-Identifier: Apache-2.0 */
/*
 * update: writes over a stored object: update (optimistic concurrency: a stale
 * resourceVersion is 409 Conflict; status and spec written apart for kinds with a status
 * subresource; finalize writes only spec.finalizers; an unchanged object is not written;
 * metadata.generation follows the spec), patch (JSON, merge and strategic merge, applied in
 * the client's version), server-side apply (engines/apply.c computes, this stores) and the
 * server's own status writes (eviction's and quota admission's). An update passes quota
 * admission (quota.c) last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_apply.h"
#include "api_managed.h"
#include "api_patch.h"
#include "reg_int.h"

/* Copy key from old's metadata to new's (or drop it from new if old lacks it). */
static void carry(struct reg_call *c, struct jv *md, const struct jv *oldmd, const char *key)
{
	const struct jv *v = jv_get(oldmd, key);

	if (v)
		jv_set(c->d, md, key, jv_copy(c->d, v));
	else
		jv_del(md, key);
}

/* ---- update ---- */

/* Does anything but metadata and status differ? (Generation follows the spec.) */
static bool spec_changed(const struct jv *a, const struct jv *b)
{
	for (const struct jv *m = a->head; m; m = m->next) {
		if (strcmp(m->key, "metadata") == 0 || strcmp(m->key, "status") == 0)
			continue;
		if (!jv_equal(m, jv_getn(b, m->key, m->klen)))
			return true;
	}
	for (const struct jv *m = b->head; m; m = m->next)
		if (strcmp(m->key, "metadata") != 0 && strcmp(m->key, "status") != 0 &&
		    !jv_getn(a, m->key, m->klen))
			return true;
	return false;
}

/* The object a write of `obj` leaves, given the stored `old`: subresource scoping and the
 * metadata only the server changes. */
static struct jv *merge_scope(struct reg_call *c, struct jv *obj, struct jv *old)
{
	struct jv *md, *oldmd = jv_get(old, "metadata");

	if (c->sub && strcmp(c->sub, "status") == 0) {
		struct jv *n = jv_copy(c->d, old), *st = jv_get(obj, "status");

		if (!n)
			return NULL;
		if (st)
			jv_set(c->d, n, "status", jv_copy(c->d, st));
		else
			jv_del(n, "status");
		if (c->strategy->status_takes_annotations) {
			/* deploymentStatusStrategy.PrepareForUpdate keeps all but spec and labels */
			struct jv *an = jv_path(obj, "metadata.annotations");
			struct jv *nmd = jv_obj_at(c->d, n, "metadata");

			if (!nmd)
				return NULL;
			if (an)
				jv_set(c->d, nmd, "annotations", jv_copy(c->d, an));
			else
				jv_del(nmd, "annotations");
		}
		return n;
	}
	if (c->sub && strcmp(c->sub, "approval") == 0) {
		/* CertificateSigningRequests' approval: status.conditions only */
		struct jv *n = jv_copy(c->d, old), *cs = jv_path(obj, "status.conditions");
		struct jv *st = n ? jv_obj_at(c->d, n, "status") : NULL;

		if (!st)
			return NULL;
		if (cs)
			jv_set(c->d, st, "conditions", jv_copy(c->d, cs));
		else
			jv_del(st, "conditions");
		return n;
	}
	if (c->sub && strcmp(c->sub, "ephemeralcontainers") == 0) {
		/* podEphemeralContainersStrategy.PrepareForUpdate (dropNonEphemeralContainerUpdates):
		 * the old pod with the request's spec.ephemeralContainers */
		struct jv *n = jv_copy(c->d, old), *ec = jv_path(obj, "spec.ephemeralContainers");
		struct jv *spec = n ? jv_obj_at(c->d, n, "spec") : NULL;

		if (!spec)
			return NULL;
		if (ec && ec->type != JV_NULL)
			jv_set(c->d, spec, "ephemeralContainers", jv_copy(c->d, ec));
		else
			jv_del(spec, "ephemeralContainers");
		return n;
	}
	if (c->sub && strcmp(c->sub, "finalize") == 0) {
		struct jv *n = jv_copy(c->d, old), *f = jv_path(obj, "spec.finalizers");
		struct jv *spec = n ? jv_obj_at(c->d, n, "spec") : NULL;

		if (!spec)
			return NULL;
		if (f)
			jv_set(c->d, spec, "finalizers", jv_copy(c->d, f));
		else
			jv_del(spec, "finalizers");
		return n;
	}
	if (c->res->flags & API_RES_STATUS) {
		struct jv *st = jv_get(old, "status");

		if (st)
			jv_set(c->d, obj, "status", jv_copy(c->d, st));
		else
			jv_del(obj, "status");
	}
	md = reg_meta(c, obj);
	carry(c, md, oldmd, "uid");
	carry(c, md, oldmd, "creationTimestamp");
	carry(c, md, oldmd, "deletionTimestamp");
	carry(c, md, oldmd, "deletionGracePeriodSeconds");
	carry(c, md, oldmd, "generation");
	jv_del(md, "selfLink");
	/* managedFields left out of a request keep their value */
	if (!jv_get(md, "managedFields"))
		carry(c, md, oldmd, "managedFields");
	return obj;
}

static void bump_generation(struct reg_call *c, struct jv *obj, const struct jv *old)
{
	int64_t gen = 0;

	if (!(c->res->flags & API_RES_GENERATION))
		return;
	jv_path_int(old, "metadata.generation", &gen);
	if (spec_changed(obj, old) ||
	    (c->strategy->annotations_bump_generation &&
	     !jv_equal(jv_path(obj, "metadata.annotations"), jv_path(old, "metadata.annotations"))))
		gen++;
	jv_set(c->d, reg_meta(c, obj), "generation", jv_new_int(c->d, gen ? gen : 1));
}

/* A graceful deletion in progress (its agent deletes it): an update does not end it. */
static bool grace_pending(const struct jv *old)
{
	int64_t g = 0;

	return jv_path_int(old, "metadata.deletionGracePeriodSeconds", &g) == 0 && g > 0;
}

/* The admission webhooks see a write of the object or of its status, finalize or approval
 * part (the whole object, as Kubernetes sends it); a write through scale has a Scale for its
 * object, which this registry never builds as admission's: not sent to webhooks yet. */
static bool webhooks_apply(const struct reg_call *c)
{
	return !c->sub || strcmp(c->sub, "scale") != 0;
}

int reg_replace(struct reg_call *c, struct jv *obj, struct jv *old, uint64_t rev,
		uint64_t precondition, const char *operation)
{
	struct api_admit a = {.reg = c->reg,
			      .d = c->d,
			      .res = c->res,
			      .wire = c->wire,
			      .old = old,
			      .sub = c->sub,
			      .dry_run = c->dry_run,
			      .rq = c->rq,
			      .out = c->out};
	struct jv *n;
	char *json = NULL;
	size_t len;
	uint64_t nrev = 0;
	int err = 0;

	if (precondition && precondition != rev) {
		api_fail_conflict(c->out, c->res, c->name);
		return -EEXIST;
	}
	n = merge_scope(c, obj, old);
	if (!n)
		goto oom;
	a.obj = n;
	api_admit_defaults(&a);
	if (webhooks_apply(c) && reg_webhooks_mutate(c, "UPDATE", n, old, NULL) != 0) {
		err = -EPERM;
		goto out;
	}
	/* the RBAC kinds' escalation check (their policybased storages wrap the update's
	 * object: after the patch and the mutating admission, before validation) */
	if (api_admit_authorize(&a) != 0) {
		err = -EPERM;
		goto out;
	}
	/* after defaulting: a manifest without its defaults changes no spec */
	if (!c->sub || strcmp(c->sub, "scale") == 0 || strcmp(c->sub, "ephemeralcontainers") == 0)
		bump_generation(c, n, old);
	if (api_admit_validate(&a) == 0) {
		api_admit_validating(&a);
		api_admit_allocate(&a);
	}
	reg_admit_warnings(c, &a);
	if (reg_reject_forbidden(c, &a, c->name)) {
		api_admit_abort(&a);
		err = -EPERM;
		goto out;
	}
	if (reg_reject_invalid(c, &a, c->name)) {
		err = -EINVAL;
		goto out;
	}
	/* ValidatingAdmissionPolicy, then ValidatingAdmissionWebhook (the plugins' order) */
	if (webhooks_apply(c) && (reg_vap_validate(c, "UPDATE", n, old) != 0 ||
				  reg_webhooks_validate(c, "UPDATE", n, old, NULL) != 0)) {
		api_admit_abort(&a);
		err = -EPERM;
		goto out;
	}
	/* the last admission step, as ResourceQuota is kube-apiserver's (before the no-op
	 * check, as there; what is unchanged requests nothing). A quota that kept conflicting
	 * is the answer, not a reason to try the update again. */
	err = reg_quota_admit(c, n, old);
	if (err) {
		api_admit_abort(&a);
		err = err == -STORE_ECONFLICT ? -EEXIST : err;
		goto out;
	}
	/* the stored state, compared without resourceVersion and managedFields */
	jv_set(c->d, reg_meta(c, n), "resourceVersion", api_rv_node(c->d, rev));
	if (jv_equal(n, old)) {
		api_admit_abort(&a);
		reg_done_object(c, 200, old, rev);
		goto out;
	}
	if (strcmp(operation, "Apply") != 0 &&
	    api_managed_update(c->d, n, old, c->manager, c->sub, c->res->kind,
			       c->res->flags & API_RES_STATUS) != 0)
		goto oom;
	if (jv_path(n, "metadata.deletionTimestamp") &&
	    jv_count(jv_path(n, "metadata.finalizers")) == 0 && !grace_pending(old)) {
		/* the last finalizer went: the object goes (ShouldDeleteDuringUpdate) */
		api_admit_abort(&a);
		err = reg_delete_object(c, c->key, n, rev, NULL, true);
		goto out;
	}
	json = api_store_json(n, c->res->kind, &len);
	if (!json)
		goto oom;
	if (c->dry_run) {
		api_admit_abort(&a);
		reg_done_object(c, 200, n, rev);
		goto out;
	}
	err = store_update(c->reg->store, c->key, strlen(c->key), json, len, rev, &nrev);
	if (err) {
		api_admit_abort(&a);
		if (err == -STORE_ECONFLICT && !precondition)
			goto out; /* raced with another write: the caller retries */
		api_fail_store(c->out, c->res, c->name, err);
		goto out;
	}
	api_admit_commit(&a);
	reg_done_written(c, 200, n, json, len, nrev);
	json = NULL;
	goto out;
oom:
	api_admit_abort(&a);
	err = -ENOMEM;
	api_fail_oom(c->out);
out:
	free(json);
	api_admit_free(&a);
	return err;
}

int reg_update(struct registry *reg, const struct reg_req *rq, struct jv *body,
	       struct api_result *out)
{
	struct reg_call c0, *c = &c0;
	struct jv *old;
	uint64_t rev;
	int64_t pre;
	int err;

	if (reg_call_init(c, reg, rq, out) != 0)
		return -EINVAL;
	reg_from_wire(c, body);
	if (reg_check_identity(c, body, true) != 0)
		return -EINVAL;
	pre = api_obj_rv(body);
	if (pre < 0) {
		api_fail(c->out, 400, "BadRequest",
			 "metadata.resourceVersion: Invalid value: \"%s\"",
			 jv_path_str(body, "metadata.resourceVersion"));
		return -EINVAL;
	}
	for (int i = 0; i < REG_WRITE_RETRIES; i++) {
		err = reg_load(c, c->key, &old, &rev);
		if (err == -ENOENT && !c->sub && (c->res->flags & API_RES_CREATE_ON_UPDATE)) {
			reg_create_object(c, body, "Update");
			return api_result_failed(out) ? -EIO : 0;
		}
		if (err) {
			api_fail_store(c->out, c->res, c->name, err);
			return err;
		}
		err = reg_replace(c, jv_copy(c->d, body), old, rev, (uint64_t)pre, "Update");
		if (err != -STORE_ECONFLICT)
			return err;
	}
	api_fail_conflict(c->out, c->res, c->name);
	return -STORE_ECONFLICT;
}

/* ---- patch ---- */

static struct jv *parse_patch(struct reg_call *c, enum api_patch_type t, const char *body,
			      size_t len)
{
	struct jv_perr pe;
	struct jv *p = jv_parse(c->d, body ? body : "", len, &pe);

	if (!p) {
		api_fail(c->out, 400, "BadRequest", "error decoding patch: %s", pe.msg);
		return NULL;
	}
	if (t == API_PATCH_JSON ? p->type != JV_ARRAY : p->type != JV_OBJECT) {
		api_fail(c->out, 400, "BadRequest",
			 t == API_PATCH_JSON
			     ? "json: cannot unmarshal object into Go value of type "
			       "jsonpatch.Patch"
			     : "error decoding patch: the patch is not a JSON object");
		return NULL;
	}
	return p;
}

/* Re-decode a patched object as a body of the kind, with the request's fieldValidation. */
static struct jv *redecode(struct reg_call *c, struct jv *patched)
{
	struct k8s_validate_opts vo = {.checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED,
				       .validation = c->rq->fv};
	struct k8s_errors e = {0};
	int err;

	err = k8s_jv_decode(patched, reg_wire_kind(c)->type, &vo, &e);
	for (size_t i = 0; i < e.nwarn; i++)
		api_result_warn(c->out, "%s", e.warnings[i]);
	if (err) {
		api_fail_invalid(c->out, c->res, c->name, &e);
		k8s_errors_free(&e);
		return NULL;
	}
	k8s_errors_free(&e);
	return patched;
}

int reg_patch(struct registry *reg, const struct reg_req *rq, enum api_patch_type t,
	      const char *body, size_t len, struct api_result *out)
{
	struct reg_call c0, *c = &c0;
	struct jv *patch, *old, *base, *n;
	uint64_t rev;
	int64_t pre;
	char msg[512];
	int err;

	if (reg_call_init(c, reg, rq, out) != 0)
		return -EINVAL;
	patch = parse_patch(c, t, body, len);
	if (!patch)
		return -EINVAL;
	for (int i = 0; i < REG_WRITE_RETRIES; i++) {
		err = reg_load(c, c->key, &old, &rev);
		if (err) {
			api_fail_store(c->out, c->res, c->name, err);
			return err;
		}
		msg[0] = 0;
		/* the patch is of the client's version: applied to the object in that version */
		base = old;
		if (c->wire) {
			base = jv_copy(c->d, old);
			if (base)
				c->wire->from_storage(c->wire, c->d, base);
		}
		if (!base)
			n = NULL;
		else if (t == API_PATCH_JSON)
			n = api_json_patch(c->d, base, patch, msg, sizeof(msg));
		else if (t == API_PATCH_MERGE)
			n = api_merge_patch(c->d, base, patch);
		else
			n = api_strategic_patch(c->d, base, patch, reg_wire_kind(c)->type, msg,
						sizeof(msg));
		if (!n) {
			if (msg[0] && t == API_PATCH_JSON)
				api_fail_json_patch(c->out);
			else if (msg[0])
				api_fail(c->out, 400, "BadRequest", "%s", msg);
			else
				api_fail_oom(c->out);
			return -EINVAL;
		}
		if (n->type != JV_OBJECT) {
			api_fail(c->out, 422, "Invalid", "the patched object is not a JSON object");
			return -EINVAL;
		}
		/* a resourceVersion the patch sets is a precondition */
		pre = api_obj_rv(n);
		if (pre < 0 || (uint64_t)pre == rev ||
		    jv_equal(jv_path(n, "metadata.resourceVersion"),
			     jv_path(old, "metadata.resourceVersion")))
			pre = 0;
		if (!redecode(c, n))
			return -EINVAL;
		reg_from_wire(c, n);
		if (reg_check_identity(c, n, true) != 0)
			return -EINVAL;
		if (jv_set(c->d, n, "kind", jv_new_strz(c->d, c->res->kind->kind)) != 0 ||
		    jv_set(c->d, n, "apiVersion", jv_new_strz(c->d, c->res->kind->api_version)) !=
			0) {
			api_fail_oom(c->out);
			return -ENOMEM;
		}
		err = reg_replace(c, n, old, rev, (uint64_t)pre, "Update");
		if (err != -STORE_ECONFLICT)
			return err;
	}
	api_fail_conflict(c->out, c->res, c->name);
	return -STORE_ECONFLICT;
}

/* ---- apply ---- */

int reg_apply(struct registry *reg, const struct reg_req *rq, struct jv *cfg,
	      struct api_result *out)
{
	struct reg_call c0, *c = &c0;
	struct api_apply_in in;
	struct jv *live, *merged = NULL;
	struct k8s_buf conflicts = {0};
	uint64_t rev;
	const char *name;
	int err;

	if (reg_call_init(c, reg, rq, out) != 0)
		return -EINVAL;
	in = (struct api_apply_in){.d = c->d,
				   .kind = c->res->kind,
				   .has_status = c->res->flags & API_RES_STATUS,
				   .manager = c->manager,
				   .sub = c->sub,
				   .force = rq->force};
	if (!rq->manager || !rq->manager[0]) {
		api_fail(out, 400, "BadRequest",
			 "PATCH, application/apply-patch+yaml requests require a fieldManager");
		return -EINVAL;
	}
	reg_from_wire(c, cfg); /* field ownership is kept on the stored version's fields */
	name = jv_path_str(cfg, "metadata.name");
	if (!name || !c->name || strcmp(name, c->name) != 0) {
		api_fail(out, 400, "BadRequest",
			 "the name of the object (%s) does not match the name on the URL (%s)",
			 name ? name : "", c->name ? c->name : "");
		return -EINVAL;
	}
	for (int i = 0; i < REG_WRITE_RETRIES; i++) {
		err = reg_load(c, c->key, &live, &rev);
		if (err && err != -ENOENT) {
			api_fail_store(out, c->res, c->name, err);
			return err;
		}
		if (err == -ENOENT)
			live = NULL;
		err = api_apply_compute(&in, live, cfg, &merged, &conflicts);
		if (err == -EBUSY) {
			api_fail_status(out, 409, "Conflict", &conflicts);
			return err;
		}
		if (err) {
			api_fail_oom(out);
			return err;
		}
		if (!live) {
			reg_create_object(c, merged, "Apply");
			return api_result_failed(out) ? -EIO : 0;
		}
		jv_del(jv_get(merged, "metadata"), "resourceVersion");
		err = reg_replace(c, merged, live, rev, 0, "Apply");
		if (err != -STORE_ECONFLICT)
			return err;
	}
	api_fail_conflict(out, c->res, c->name);
	return -STORE_ECONFLICT;
}

int reg_write_status(struct reg_call *c, const struct api_resource *res, const char *name,
		     struct jv *obj, struct jv *old, uint64_t rev, struct api_result *out)
{
	struct reg_req rq = {.res = res,
			     .ns = c->ns,
			     .name = name,
			     .sub = "status",
			     .manager = "kube-apiserver",
			     .d = c->d};
	struct reg_call sc;

	if (reg_call_init(&sc, c->reg, &rq, out) != 0)
		return -EINVAL;
	jv_del(jv_get(obj, "metadata"), "resourceVersion");
	return reg_replace(&sc, obj, old, rev, rev, "Update");
}
