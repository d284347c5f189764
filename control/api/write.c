/* SPDX-License-Identifier: Apache-2.0 */
/*
 * write: the verbs that change objects: create (generateName, uid, creationTimestamp,
 * generation, defaults, admission, validation, managedFields), update (optimistic
 * concurrency: a stale resourceVersion is 409 Conflict; status and spec written apart for
 * kinds with a status subresource; an unchanged object is not written), patch (JSON, merge
 * and strategic merge patches; server-side apply in apply.c), delete (preconditions,
 * finalizers and deletionTimestamp, propagation policies, graceful pod deletion) and
 * deletecollection. dryRun=All runs everything but the store write.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_apply.h"
#include "api_handler.h"
#include "api_managed.h"
#include "api_patch.h"
#include "api_selector.h"
#include "api_table.h"

/* ---- metadata ---- */

static struct jv *meta(struct hctx *c, struct jv *obj)
{
	return jv_obj_at(c->d, obj, "metadata");
}

static void set_str(struct hctx *c, struct jv *o, const char *key, const char *v)
{
	jv_set(c->d, o, key, jv_new_strz(c->d, v));
}

/* Copy key from old's metadata to new's (or drop it from new if old lacks it). */
static void carry(struct hctx *c, struct jv *md, const struct jv *oldmd, const char *key)
{
	const struct jv *v = jv_get(oldmd, key);

	if (v)
		jv_set(c->d, md, key, jv_copy(c->d, v));
	else
		jv_del(md, key);
}

/* Namespace and name of a body against the request path: 0, or the response set. */
static int check_identity(struct hctx *c, struct jv *obj, bool need_name)
{
	struct jv *md = meta(c, obj);
	const char *ns = jv_path_str(md, "namespace"), *name = jv_path_str(md, "name");

	if (!md) {
		api_error(c->r, 500, "InternalError", "Internal error occurred: out of memory");
		return -ENOMEM;
	}
	if (api_resource_namespaced(c->res)) {
		if (ns && ns[0] && c->ns && strcmp(ns, c->ns) != 0) {
			api_error(
			    c->r, 400, "BadRequest",
			    "the namespace of the provided object does not match the namespace "
			    "sent on the request");
			return -EINVAL;
		}
		if (c->ns)
			set_str(c, md, "namespace", c->ns);
	} else {
		jv_del(md, "namespace");
	}
	if (need_name && c->name) {
		if (name && name[0] && strcmp(name, c->name) != 0) {
			api_error(c->r, 400, "BadRequest",
				  "the name of the object (%s) does not match the name on the URL "
				  "(%s)",
				  name, c->name);
			return -EINVAL;
		}
		set_str(c, md, "name", c->name);
	}
	return 0;
}

static bool reject_invalid(struct hctx *c, struct api_admit *a, const char *name)
{
	if (!a->errs.n)
		return false;
	api_error_invalid(c->r, c->res, name, &a->errs);
	return true;
}

/* Status of a new object, as each kind's PrepareForCreate leaves it. */
static void reset_status(struct hctx *c, struct jv *obj)
{
	const char *res = c->res->kind->resource;

	if (!(c->res->flags & API_RES_STATUS) || strcmp(res, "nodes") == 0)
		return;
	jv_del(obj, "status");
	if (strcmp(res, "pods") == 0)
		set_str(c, jv_obj_at(c->d, obj, "status"), "phase", "Pending");
	else if (strcmp(res, "namespaces") == 0)
		set_str(c, jv_obj_at(c->d, obj, "status"), "phase", "Active");
}

static int reply_stored(struct hctx *c, unsigned code, struct jv *obj, uint64_t rev)
{
	jv_set(c->d, meta(c, obj), "resourceVersion", api_rv_node(c->d, rev));
	api_h_reply_object(c, code, obj);
	return 0;
}

/* Answer with the JSON just stored (its resourceVersion spliced in), unless a Table is
 * wanted: no second serialization of the object. */
static void reply_written(struct hctx *c, unsigned code, struct jv *obj, const char *json,
			  size_t len, uint64_t rev)
{
	struct k8s_buf b = {0};

	if (api_accept_table(c->r->accept) || c->wire) {
		reply_stored(c, code, obj, rev);
		return;
	}
	api_emit_object(&b, (const uint8_t *)json, len, rev);
	api_reply_buf(c->r, code, &b);
}

/* ---- create ---- */

static void name_from_generate(struct hctx *c, struct jv *md)
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
	set_str(c, md, "name", name);
}

void api_h_create_object(struct hctx *c, struct jv *obj, const char *operation)
{
	struct api_admit a = {.srv = c->srv, .d = c->d, .res = c->res, .obj = obj};
	struct jv *md;
	const char *name;
	char uid[40], now[32];
	char *json = NULL;
	size_t len;
	uint64_t rev = 0;
	int err = 0;
	bool generated;

	if (check_identity(c, obj, false) != 0)
		return;
	md = meta(c, obj);
	/* a name the client gave wins over generateName, and a conflict on it is a conflict */
	generated = !jv_path_str(md, "name") || !jv_path_str(md, "name")[0];
	for (int attempt = 0; attempt < 8; attempt++) {
		if (attempt)
			jv_del(md, "name");
		name_from_generate(c, md);
		name = jv_path_str(md, "name");
		c->name = name;
		if (api_h_check_namespace(c, true) != 0)
			return;
		/* system fields: only the server sets them */
		jv_del(md, "resourceVersion");
		jv_del(md, "deletionTimestamp");
		jv_del(md, "deletionGracePeriodSeconds");
		jv_del(md, "selfLink");
		api_uuid(uid);
		set_str(c, md, "uid", uid);
		set_str(c, md, "creationTimestamp", api_now(now));
		if (c->res->flags & API_RES_GENERATION)
			jv_set(c->d, md, "generation", jv_new_int(c->d, 1));
		else
			jv_del(md, "generation");
		if (attempt == 0) {
			reset_status(c, obj);
			api_admit_defaults(&a);
			if (!name || !name[0])
				k8s_errors_add(&a.errs, "metadata.name", K8S_REASON_REQUIRED, 0, 0,
					       "Required value: name or generateName is required");
			if (a.errs.n == 0)
				api_admit_validate(&a);
			if (a.errs.n == 0)
				api_admit_allocate(&a);
			if (reject_invalid(c, &a, name))
				goto out;
			if (strcmp(operation, "Apply") != 0 &&
			    api_managed_update(c->d, obj, NULL, c->manager, NULL, c->res->kind,
					       c->res->flags & API_RES_STATUS) != 0)
				goto oom;
		}
		if (api_key(c->res, c->ns, name, c->key, sizeof(c->key)) < 0) {
			api_error(c->r, 400, "BadRequest", "name too long");
			goto out;
		}
		free(json);
		json = api_store_json(obj, c->res->kind, &len);
		if (!json)
			goto oom;
		if (c->dry_run) {
			reply_stored(c, 201, obj, store_revision(c->srv->store));
			goto out;
		}
		err = store_create(c->srv->store, c->key, strlen(c->key), json, len, &rev);
		/* a generated name that exists: try another, as Kubernetes does */
		if (err != -EEXIST || !generated)
			break;
	}
	if (err) {
		api_admit_abort(&a);
		api_error_store(c->r, c->res, name, err);
		goto out;
	}
	api_admit_commit(&a);
	if (strcmp(c->res->kind->resource, "namespaces") == 0)
		api_ns_created(c->srv, name);
	reply_written(c, 201, obj, json, len, rev);
	goto out;
oom:
	api_admit_abort(&a);
	api_error(c->r, 500, "InternalError", "Internal error occurred: out of memory");
out:
	free(json);
	api_admit_free(&a);
}

void api_op_create(struct hctx *c)
{
	struct jv *obj;
	int dry = api_h_dry_run(c);

	if (dry < 0)
		return;
	c->dry_run = dry;
	obj = api_decode_body(c->r, c->d, api_h_wire_kind(c));
	api_h_from_wire(c, obj);
	if (obj)
		api_h_create_object(c, obj, "Update");
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
static struct jv *merge_scope(struct hctx *c, struct jv *obj, struct jv *old)
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
	md = meta(c, obj);
	carry(c, md, oldmd, "uid");
	carry(c, md, oldmd, "creationTimestamp");
	carry(c, md, oldmd, "deletionTimestamp");
	carry(c, md, oldmd, "deletionGracePeriodSeconds");
	carry(c, md, oldmd, "generation");
	jv_del(md, "selfLink");
	/* managedFields left out of a request keep their value */
	if (!jv_get(md, "managedFields"))
		carry(c, md, oldmd, "managedFields");
	/* deletionTimestamp set: finalizers may only be removed, not added */
	return obj;
}

static void bump_generation(struct hctx *c, struct jv *obj, const struct jv *old)
{
	int64_t gen = 0;

	if (!(c->res->flags & API_RES_GENERATION))
		return;
	jv_path_int(old, "metadata.generation", &gen);
	if (spec_changed(obj, old))
		gen++;
	jv_set(c->d, meta(c, obj), "generation", jv_new_int(c->d, gen ? gen : 1));
}

static bool finalizers_empty(const struct jv *obj)
{
	return jv_count(jv_path(obj, "metadata.finalizers")) == 0;
}

int api_h_replace(struct hctx *c, struct jv *obj, struct jv *old, uint64_t rev,
		  uint64_t precondition, const char *operation)
{
	struct api_admit a = {.srv = c->srv, .d = c->d, .res = c->res, .old = old, .sub = c->sub};
	struct jv *n;
	char *json = NULL;
	size_t len;
	uint64_t nrev = 0;
	int err = 0;

	if (precondition && precondition != rev) {
		api_error_conflict(c->r, c->res, c->name);
		return -EEXIST;
	}
	n = merge_scope(c, obj, old);
	if (!n)
		goto oom;
	a.obj = n;
	api_admit_defaults(&a);
	if (!c->sub || strcmp(c->sub, "scale") == 0)
		bump_generation(c, n, old);
	if (api_admit_validate(&a) == 0)
		api_admit_allocate(&a);
	if (reject_invalid(c, &a, c->name)) {
		err = -EINVAL;
		goto out;
	}
	/* the stored state, compared without resourceVersion and managedFields */
	jv_set(c->d, meta(c, n), "resourceVersion", api_rv_node(c->d, rev));
	if (jv_equal(n, old)) {
		api_admit_abort(&a);
		api_h_reply_object(c, 200, old);
		goto out;
	}
	if (strcmp(operation, "Apply") != 0 &&
	    api_managed_update(c->d, n, old, c->manager, c->sub, c->res->kind,
			       c->res->flags & API_RES_STATUS) != 0)
		goto oom;
	if (jv_path(n, "metadata.deletionTimestamp") && finalizers_empty(n)) {
		/* the last finalizer went: the object goes */
		api_admit_abort(&a);
		err = api_h_delete_object(c, c->key, n, rev, NULL, true);
		goto out;
	}
	json = api_store_json(n, c->res->kind, &len);
	if (!json)
		goto oom;
	if (c->dry_run) {
		api_admit_abort(&a);
		reply_stored(c, 200, n, rev);
		goto out;
	}
	err = store_update(c->srv->store, c->key, strlen(c->key), json, len, rev, &nrev);
	if (err) {
		api_admit_abort(&a);
		if (err == -STORE_ECONFLICT && !precondition)
			goto out; /* raced with another write: the caller retries */
		api_error_store(c->r, c->res, c->name, err);
		goto out;
	}
	api_admit_commit(&a);
	reply_written(c, 200, n, json, len, nrev);
	goto out;
oom:
	api_admit_abort(&a);
	err = -ENOMEM;
	api_error(c->r, 500, "InternalError", "Internal error occurred: out of memory");
out:
	free(json);
	api_admit_free(&a);
	return err;
}

void api_op_update(struct hctx *c)
{
	struct jv *body, *old;
	uint64_t rev;
	int64_t pre;
	int dry = api_h_dry_run(c), err;

	if (dry < 0)
		return;
	c->dry_run = dry;
	body = api_decode_body(c->r, c->d, api_h_wire_kind(c));
	api_h_from_wire(c, body);
	if (!body || check_identity(c, body, true) != 0)
		return;
	pre = api_obj_rv(body);
	if (pre < 0) {
		api_error(c->r, 400, "BadRequest",
			  "metadata.resourceVersion: Invalid value: \"%s\"",
			  jv_path_str(body, "metadata.resourceVersion"));
		return;
	}
	for (int i = 0; i < API_WRITE_RETRIES; i++) {
		err = api_h_load(c, c->key, &old, &rev);
		if (err == -ENOENT && !c->sub && (c->res->flags & API_RES_CREATE_ON_UPDATE)) {
			api_h_create_object(c, body, "Update");
			return;
		}
		if (err) {
			api_error_store(c->r, c->res, c->name, err);
			return;
		}
		err = api_h_replace(c, jv_copy(c->d, body), old, rev, (uint64_t)pre, "Update");
		if (err != -STORE_ECONFLICT)
			return;
	}
	api_error_conflict(c->r, c->res, c->name);
}

/* ---- patch ---- */

static struct jv *parse_patch(struct hctx *c, enum api_patch_type t)
{
	struct jv_perr pe;
	struct jv *p = jv_parse(c->d, c->r->body.p ? c->r->body.p : "", c->r->body.len, &pe);

	if (!p) {
		api_error(c->r, 400, "BadRequest", "error decoding patch: %s", pe.msg);
		return NULL;
	}
	if (t == API_PATCH_JSON ? p->type != JV_ARRAY : p->type != JV_OBJECT) {
		api_error(c->r, 400, "BadRequest",
			  t == API_PATCH_JSON
			      ? "json: cannot unmarshal object into Go value of type "
				"jsonpatch.Patch"
			      : "error decoding patch: the patch is not a JSON object");
		return NULL;
	}
	return p;
}

/* Re-decode a patched object as a body of the kind, with the request's fieldValidation. */
static struct jv *redecode(struct hctx *c, struct jv *patched)
{
	struct k8s_validate_opts vo = {.checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED};
	struct k8s_errors e = {0};
	int err;

	if (api_field_validation(c->r, &vo.validation) != 0)
		return NULL;
	err = k8s_jv_decode(patched, api_h_wire_kind(c)->type, &vo, &e);
	for (size_t i = 0; i < e.nwarn; i++)
		api_warn(c->r, "%s", e.warnings[i]);
	if (err) {
		api_error_invalid(c->r, c->res, c->name, &e);
		k8s_errors_free(&e);
		return NULL;
	}
	k8s_errors_free(&e);
	return patched;
}

void api_op_patch(struct hctx *c)
{
	enum api_patch_type t;
	struct jv *patch, *old, *base, *n;
	uint64_t rev;
	int64_t pre;
	char msg[512];
	int dry = api_h_dry_run(c), err;

	if (dry < 0)
		return;
	c->dry_run = dry;
	if (api_patch_type_of(c->r->content_type, &t) != 0) {
		api_error(c->r, 415, "UnsupportedMediaType",
			  "the body of the request was in an unknown format - accepted media types "
			  "include: application/json-patch+json, application/merge-patch+json, "
			  "application/apply-patch+yaml, application/strategic-merge-patch+json");
		return;
	}
	if (t == API_PATCH_APPLY) {
		api_op_apply(c);
		return;
	}
	patch = parse_patch(c, t);
	if (!patch)
		return;
	for (int i = 0; i < API_WRITE_RETRIES; i++) {
		err = api_h_load(c, c->key, &old, &rev);
		if (err) {
			api_error_store(c->r, c->res, c->name, err);
			return;
		}
		msg[0] = 0;
		/* the patch is of the client's version: applied to the object in that version */
		base = old;
		if (c->wire) {
			base = jv_copy(c->d, old);
			if (base)
				c->wire->from_storage(c->d, base);
		}
		if (!base)
			n = NULL;
		else if (t == API_PATCH_JSON)
			n = api_json_patch(c->d, base, patch, msg, sizeof(msg));
		else if (t == API_PATCH_MERGE)
			n = api_merge_patch(c->d, base, patch);
		else
			n = api_strategic_patch(c->d, base, patch, api_h_wire_kind(c)->type, msg,
						sizeof(msg));
		if (!n) {
			if (msg[0])
				api_error(c->r, t == API_PATCH_JSON ? 422 : 400,
					  t == API_PATCH_JSON ? "Invalid" : "BadRequest", "%s",
					  msg);
			else
				api_error(c->r, 500, "InternalError",
					  "Internal error occurred: out of memory");
			return;
		}
		if (n->type != JV_OBJECT) {
			api_error(c->r, 422, "Invalid", "the patched object is not a JSON object");
			return;
		}
		/* a resourceVersion the patch sets is a precondition */
		pre = api_obj_rv(n);
		if (pre < 0 || (uint64_t)pre == rev ||
		    jv_equal(jv_path(n, "metadata.resourceVersion"),
			     jv_path(old, "metadata.resourceVersion")))
			pre = 0;
		if (!redecode(c, n))
			return;
		api_h_from_wire(c, n);
		if (check_identity(c, n, true) != 0)
			return;
		if (jv_set(c->d, n, "kind", jv_new_strz(c->d, c->res->kind->kind)) != 0 ||
		    jv_set(c->d, n, "apiVersion", jv_new_strz(c->d, c->res->kind->api_version)) !=
			0)
			return;
		err = api_h_replace(c, n, old, rev, (uint64_t)pre, "Update");
		if (err != -STORE_ECONFLICT)
			return;
	}
	api_error_conflict(c->r, c->res, c->name);
}

/* ---- delete ---- */

struct delopts {
	int64_t grace; /* -1 = unset */
	const char *policy;
	const char *uid, *rv;
};

static int parse_delopts(struct hctx *c, struct delopts *o, const struct jv *body)
{
	const char *g = api_arg(c->r, "gracePeriodSeconds");
	const char *p = api_arg(c->r, "propagationPolicy");
	const struct jv *orphan = jv_get(body, "orphanDependents");
	int64_t v;

	memset(o, 0, sizeof(*o));
	o->grace = -1;
	if (g && g[0])
		o->grace = strtoll(g, NULL, 10);
	if (jv_path_int(body, "gracePeriodSeconds", &v) == 0)
		o->grace = v;
	o->policy = p && p[0] ? p : jv_path_str(body, "propagationPolicy");
	if (!o->policy && orphan)
		o->policy = orphan->type == JV_TRUE ? "Orphan" : "Background";
	if (!o->policy && api_arg(c->r, "orphanDependents"))
		o->policy = api_arg_true(c->r, "orphanDependents") ? "Orphan" : "Background";
	if (o->policy && strcmp(o->policy, "Orphan") != 0 && strcmp(o->policy, "Background") != 0 &&
	    strcmp(o->policy, "Foreground") != 0) {
		api_error(
		    c->r, 422, "Invalid",
		    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported "
		    "value: \"%s\": supported values: \"Foreground\", \"Background\", "
		    "\"Orphan\", \"nil\"",
		    o->policy);
		return -EINVAL;
	}
	o->uid = jv_path_str(body, "preconditions.uid");
	o->rv = jv_path_str(body, "preconditions.resourceVersion");
	return 0;
}

static bool has_finalizer(const struct jv *obj, const char *f)
{
	for (const struct jv *i = jv_first(jv_path(obj, "metadata.finalizers")); i; i = i->next)
		if (jv_is_str(i, f))
			return true;
	return false;
}

static void add_finalizer(struct hctx *c, struct jv *obj, const char *f)
{
	struct jv *md = meta(c, obj), *arr = jv_get(md, "finalizers");

	if (has_finalizer(obj, f))
		return;
	if (!arr || arr->type != JV_ARRAY) {
		arr = jv_new(c->d, JV_ARRAY);
		jv_set(c->d, md, "finalizers", arr);
	}
	jv_push(arr, jv_new_strz(c->d, f));
}

static void remove_finalizer(struct jv *obj, const char *f)
{
	struct jv *arr = jv_path(obj, "metadata.finalizers"), *prev = NULL, *i, *next;

	for (i = jv_first(arr); i; i = next) {
		next = i->next;
		if (jv_is_str(i, f))
			jv_unlink(arr, prev, i);
		else
			prev = i;
	}
}

/* Remove the object's key now (expect rev); 0 or the store's error. */
static int remove_now(struct hctx *c, const char *key, struct jv *obj, uint64_t rev)
{
	const char *ns = jv_path_str(obj, "metadata.namespace");
	int err;

	if (c->dry_run)
		return 0;
	err = store_delete(c->srv->store, key, strlen(key), rev, NULL);
	if (err)
		return err;
	api_admit_release_deleted(c->srv, c->res, obj);
	if (ns && strcmp(c->res->kind->resource, "namespaces") != 0)
		api_ns_maybe_finish(c->srv, ns);
	return 0;
}

/* Write obj (a deletion in progress) over rev; 0 and *nrev, or the store's error. */
static int write_pending(struct hctx *c, const char *key, struct jv *obj, uint64_t rev,
			 uint64_t *nrev)
{
	size_t len;
	char *json;
	int err;

	*nrev = rev;
	if (c->dry_run)
		return 0;
	json = api_store_json(obj, c->res->kind, &len);
	if (!json)
		return -ENOMEM;
	err = store_update(c->srv->store, key, strlen(key), json, len, rev, nrev);
	free(json);
	return err;
}

/* The orphan and foregroundDeletion finalizers, which Kubernetes' garbage collector
 * processes: done here at once until drover has that controller. Dependents are the objects
 * of the owner's namespace (every namespace for a cluster-scoped owner) whose ownerReferences
 * name its uid. */
static void process_gc_finalizers(struct hctx *c, struct jv *obj)
{
	const char *uid = jv_path_str(obj, "metadata.uid");
	const char *ns = jv_path_str(obj, "metadata.namespace");
	bool orphan = has_finalizer(obj, "orphan");
	bool fg = has_finalizer(obj, "foregroundDeletion");

	if (!uid || (!orphan && !fg))
		return;
	for (size_t i = 0; i < api_nresources; i++) {
		const struct api_resource *res = &api_resources[i];
		struct store_list l;

		if (!(res->verbs & API_VERB_LIST) ||
		    api_list_all(c->srv, res, api_resource_namespaced(res) ? ns : NULL, 0, &l) != 0)
			continue;
		for (size_t j = 0; j < l.count; j++) {
			struct jv_doc *d = jv_doc_new();
			struct jv *dep =
			    d ? api_load_object(d, l.items[j].value, l.items[j].value_len, 0)
			      : NULL;
			struct jv *refs = jv_path(dep, "metadata.ownerReferences"), *prev = NULL;
			bool owned = false;

			for (struct jv *ref = jv_first(refs), *next; ref; ref = next) {
				next = ref->next;
				if (jv_is_str(jv_get(ref, "uid"), uid)) {
					owned = true;
					jv_unlink(refs, prev, ref);
				} else {
					prev = ref;
				}
			}
			if (owned && !c->dry_run) {
				struct hctx sub = {.r = c->r, .srv = c->srv, .res = res, .d = d};
				char key[1024];

				snprintf(key, sizeof(key), "%.*s", (int)l.items[j].key_len,
					 (const char *)l.items[j].key);
				if (orphan) {
					size_t len;
					char *json = api_store_json(dep, res->kind, &len);

					if (json)
						store_update(c->srv->store, key, strlen(key), json,
							     len, l.items[j].mod_rev, NULL);
					free(json);
				} else {
					api_h_delete_object(&sub, key, dep, l.items[j].mod_rev,
							    NULL, false);
				}
			}
			jv_doc_free(d);
		}
		store_list_free(&l);
	}
	remove_finalizer(obj, "orphan");
	remove_finalizer(obj, "foregroundDeletion");
}

static bool pod_graceful(const struct jv *obj, int64_t grace)
{
	const char *phase = jv_path_str(obj, "status.phase");
	const char *node = jv_path_str(obj, "spec.nodeName");

	/* an unscheduled or finished pod, or grace 0, goes at once (no kubelet to wait for) */
	return grace != 0 && node && node[0] &&
	       !(phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
}

int api_h_delete_object(struct hctx *c, const char *key, struct jv *obj, uint64_t rev,
			const struct jv *body, bool reply)
{
	struct delopts o;
	struct jv *md = meta(c, obj);
	const char *uid = jv_path_str(md, "uid");
	bool is_ns = strcmp(c->res->kind->resource, "namespaces") == 0;
	uint64_t nrev = rev;
	char now[32];
	int err;

	if (parse_delopts(c, &o, body) != 0)
		return -EINVAL;
	if (o.uid && (!uid || strcmp(o.uid, uid) != 0)) {
		api_error_details(
		    c->r, 409, "Conflict", c->res, c->name,
		    "Precondition failed: UID in precondition: %s, UID in object meta: %s", o.uid,
		    uid ? uid : "");
		return -EEXIST;
	}
	if (o.rv && o.rv[0] && (uint64_t)strtoull(o.rv, NULL, 10) != rev) {
		api_error_details(c->r, 409, "Conflict", c->res, c->name,
				  "Precondition failed: ResourceVersion in precondition: %s, "
				  "ResourceVersion in object meta: %" PRIu64,
				  o.rv, rev);
		return -EEXIST;
	}
	if (o.policy && strcmp(o.policy, "Orphan") == 0)
		add_finalizer(c, obj, "orphan");
	else if (o.policy && strcmp(o.policy, "Foreground") == 0)
		add_finalizer(c, obj, "foregroundDeletion");
	if (is_ns) {
		if (!jv_get(md, "deletionTimestamp")) {
			set_str(c, md, "deletionTimestamp", api_now(now));
			set_str(c, jv_obj_at(c->d, obj, "status"), "phase", "Terminating");
			err = write_pending(c, key, obj, rev, &nrev);
			if (err)
				goto fail;
			if (!c->dry_run)
				api_ns_terminate(c->srv, c->name);
		}
		if (reply)
			reply_stored(c, 200, obj, nrev);
		return 0;
	}
	if (c->res->kind->group[0] == 0 && strcmp(c->res->kind->resource, "pods") == 0) {
		int64_t grace = o.grace;

		if (grace < 0 &&
		    jv_path_int(obj, "spec.terminationGracePeriodSeconds", &grace) != 0)
			grace = 30;
		if (pod_graceful(obj, grace) && !jv_get(md, "deletionTimestamp")) {
			set_str(c, md, "deletionTimestamp",
				api_time_rfc3339((int64_t)time(NULL) + grace, now));
			jv_set(c->d, md, "deletionGracePeriodSeconds", jv_new_int(c->d, grace));
			err = write_pending(c, key, obj, rev, &nrev);
			if (err)
				goto fail;
			if (reply)
				reply_stored(c, 200, obj, nrev);
			return 0;
		}
	}
	if (!finalizers_empty(obj)) {
		if (!jv_get(md, "deletionTimestamp")) {
			set_str(c, md, "deletionTimestamp", api_now(now));
			jv_set(c->d, md, "deletionGracePeriodSeconds", jv_new_int(c->d, 0));
		}
		process_gc_finalizers(c, obj);
		if (!finalizers_empty(obj)) {
			err = write_pending(c, key, obj, rev, &nrev);
			if (err)
				goto fail;
			if (reply)
				reply_stored(c, 202, obj, nrev);
			return 0;
		}
	}
	err = remove_now(c, key, obj, rev);
	if (err)
		goto fail;
	if (reply)
		reply_stored(c, 200, obj, rev);
	return 0;
fail:
	if (reply && !(err == -STORE_ECONFLICT))
		api_error_store(c->r, c->res, c->name, err);
	return err;
}

static struct jv *decode_delete_options(struct hctx *c)
{
	const struct k8s_kind *k = k8s_kind_find("v1", "DeleteOptions");

	if (!c->r->body.len)
		return NULL;
	return api_decode_as(c->r, c->d, k->type, K8S_FV_IGNORE);
}

void api_op_delete(struct hctx *c)
{
	struct jv *body = NULL, *obj;
	uint64_t rev;
	int dry = api_h_dry_run(c), err = 0;

	if (dry < 0)
		return;
	c->dry_run = dry;
	if (c->r->body.len && !(body = decode_delete_options(c)))
		return;
	if (jv_count(jv_path(body, "dryRun")))
		c->dry_run = true;
	for (int i = 0; i < API_WRITE_RETRIES; i++) {
		err = api_h_load(c, c->key, &obj, &rev);
		if (err) {
			api_error_store(c->r, c->res, c->name, err);
			return;
		}
		err = api_h_delete_object(c, c->key, obj, rev, body, true);
		if (err != -STORE_ECONFLICT)
			return;
	}
	api_error_conflict(c->r, c->res, c->name);
}

void api_op_deletecollection(struct hctx *c)
{
	struct api_selector *sel = NULL;
	struct store_list l = {0};
	struct store_list_opts lo = {0};
	struct jv *body = NULL;
	struct delopts opts;
	char prefix[1024], msg[512];
	uint64_t rev;
	int n, err, dry = api_h_dry_run(c);

	if (dry < 0)
		return;
	c->dry_run = dry;
	if (c->r->body.len && !(body = decode_delete_options(c)))
		return;
	if (jv_count(jv_path(body, "dryRun")))
		c->dry_run = true;
	/* the options are checked once, before anything is deleted (per item, a bad one would
	 * be answered and then overwritten by the Success below) */
	if (parse_delopts(c, &opts, body) != 0)
		return;
	err = api_selector_parse(api_arg(c->r, "labelSelector"), api_arg(c->r, "fieldSelector"),
				 c->res, &sel, msg, sizeof(msg));
	if (err) {
		api_error(c->r, 400, "BadRequest", "%s", err == -EINVAL ? msg : "out of memory");
		return;
	}
	n = api_key(c->res, c->ns, NULL, prefix, sizeof(prefix));
	lo.prefix = prefix;
	lo.prefix_len = n > 0 ? (size_t)n : 0;
	err = store_list(c->srv->store, &lo, &l);
	if (err) {
		api_selector_free(sel);
		api_error_store(c->r, c->res, NULL, err);
		return;
	}
	for (size_t i = 0; i < l.count; i++) {
		struct jv *o = api_load_object(c->d, l.items[i].value, l.items[i].value_len,
					       l.items[i].mod_rev);
		char key[1024];

		if (!o || !api_selector_match(sel, o))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)l.items[i].key_len,
			 (const char *)l.items[i].key);
		c->name = jv_path_str(o, "metadata.name");
		rev = l.items[i].mod_rev;
		/* changed meanwhile: deleted as it is now, as a single delete retries */
		for (int r = 0; r < API_WRITE_RETRIES && o; r++) {
			if (api_h_delete_object(c, key, o, rev, body, false) != -STORE_ECONFLICT ||
			    api_h_load(c, key, &o, &rev) != 0)
				break;
		}
	}
	store_list_free(&l);
	api_selector_free(sel);
	api_reply_text(c->r, 200, "application/json",
		       "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
		       "\"Success\"}");
}
