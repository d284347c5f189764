/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delete: delete and deletecollection as kube-apiserver's generic registry runs them:
 * preconditions (uid, resourceVersion), propagation policies (Orphan and Foreground become
 * the orphan and foregroundDeletion finalizers that the garbage collector processes), the
 * strategy's rules (a pod bound to a node is deleted gracefully: it keeps a deletionTimestamp
 * until its node's agent finishes it; a namespace is held while the namespace controller
 * empties it), finalizers (an object with finalizers stays, marked, until they are gone), and
 * the release of what the object held. dryRun=All runs everything but the store writes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_selector.h"
#include "reg_int.h"

static bool has_finalizer(const struct jv *obj, const char *f)
{
	for (const struct jv *i = jv_first(jv_path(obj, "metadata.finalizers")); i; i = i->next)
		if (jv_is_str(i, f))
			return true;
	return false;
}

static void add_finalizer(struct reg_call *c, struct jv *obj, const char *f)
{
	struct jv *md = reg_meta(c, obj), *arr = jv_get(md, "finalizers");

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

/* The garbage collector's finalizers as the propagation policy asks
 * (deletionFinalizersForGarbageCollection): an explicit policy replaces what the object has
 * (Orphan: "orphan", Foreground: "foregroundDeletion", Background: neither); none keeps it.
 * The garbage collector (control/controllers/gc.c) removes them when it is done. */
static void gc_finalizers(struct reg_call *c, struct jv *obj, const char *policy)
{
	if (!policy)
		return;
	remove_finalizer(obj, "orphan");
	remove_finalizer(obj, "foregroundDeletion");
	if (strcmp(policy, "Orphan") == 0)
		add_finalizer(c, obj, "orphan");
	else if (strcmp(policy, "Foreground") == 0)
		add_finalizer(c, obj, "foregroundDeletion");
}

static bool finalizers_empty(const struct jv *obj)
{
	return jv_count(jv_path(obj, "metadata.finalizers")) == 0;
}

/* The options' own checks, before anything is deleted. */
static int check_opts(struct reg_call *c, const struct reg_delete_opts *o)
{
	const char *p = o->propagation;

	if (p && strcmp(p, "Orphan") != 0 && strcmp(p, "Background") != 0 &&
	    strcmp(p, "Foreground") != 0) {
		api_fail(
		    c->out, 422, "Invalid",
		    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported "
		    "value: \"%s\": supported values: \"Foreground\", \"Background\", "
		    "\"Orphan\", \"nil\"",
		    p);
		return -EINVAL;
	}
	if (o->grace < -1) {
		api_fail(c->out, 422, "Invalid",
			 "DeleteOptions.meta.k8s.io \"\" is invalid: gracePeriodSeconds: Invalid "
			 "value: %" PRId64 ": must be greater than or equal to 0",
			 o->grace);
		return -EINVAL;
	}
	return 0;
}

/* Remove the object's key now (expect rev); 0 or the store's error. */
static int remove_now(struct reg_call *c, const char *key, struct jv *obj, uint64_t rev)
{
	int err;

	if (c->dry_run)
		return 0;
	err = store_delete(c->reg->store, key, strlen(key), rev, NULL);
	if (err)
		return err;
	api_admit_release_deleted(c->reg, c->res, obj);
	return 0;
}

/* Write obj (a deletion in progress) over rev; 0 and *nrev, or the store's error. */
static int write_pending(struct reg_call *c, const char *key, struct jv *obj, uint64_t rev,
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
	err = store_update(c->reg->store, key, strlen(key), json, len, rev, nrev);
	free(json);
	return err;
}

/* Mark obj as being deleted now (finalizers hold it). */
static void mark_deleted(struct reg_call *c, struct jv *md, int64_t grace)
{
	char now[32];

	if (jv_get(md, "deletionTimestamp"))
		return;
	reg_set_str(c, md, "deletionTimestamp", api_time_rfc3339((int64_t)time(NULL) + grace, now));
	jv_set(c->d, md, "deletionGracePeriodSeconds", jv_new_int(c->d, grace));
}

/* A delete of an object whose graceful deletion is pending (rest.BeforeDelete): 0 = leave it
 * pending, 1 = its grace period shortened to requested (deletionTimestamp moved), 2 = delete
 * it now (no grace period recorded, or 0 left). */
static int shorten_grace(struct reg_call *c, struct jv *md, int64_t requested)
{
	int64_t cur = 0, at;
	char ts[32];

	if (jv_path_int(md, "deletionGracePeriodSeconds", &cur) != 0 || cur <= 0)
		return 2;
	if (requested < 0 || requested >= cur)
		return 0;
	at = api_parse_time(jv_path_str(md, "deletionTimestamp"));
	if (at >= 0)
		reg_set_str(c, md, "deletionTimestamp", api_time_rfc3339(at - cur + requested, ts));
	jv_set(c->d, md, "deletionGracePeriodSeconds", jv_new_int(c->d, requested));
	return requested > 0 ? 1 : 2;
}

int reg_delete_object(struct reg_call *c, const char *key, struct jv *obj, uint64_t rev,
		      const struct reg_delete_opts *o, bool reply)
{
	static const struct reg_delete_opts none = REG_DELETE_OPTS_INIT;
	struct jv *md = reg_meta(c, obj);
	const char *uid = jv_path_str(md, "uid");
	uint64_t nrev = rev;
	int64_t grace;
	int err;

	if (!o)
		o = &none;
	if (o->uid && o->uid[0] && (!uid || strcmp(o->uid, uid) != 0)) {
		api_fail_details(
		    c->out, 409, "Conflict", c->res, c->name,
		    "Precondition failed: UID in precondition: %s, UID in object meta: %s", o->uid,
		    uid ? uid : "");
		return -EEXIST;
	}
	if (o->rv && o->rv[0] && (uint64_t)strtoull(o->rv, NULL, 10) != rev) {
		api_fail_details(c->out, 409, "Conflict", c->res, c->name,
				 "Precondition failed: ResourceVersion in precondition: %s, "
				 "ResourceVersion in object meta: %" PRIu64,
				 o->rv, rev);
		return -EEXIST;
	}
	/* the kind holds it (namespaces): marked, written, answered with it; the namespace
	 * controller empties it */
	if (c->strategy->hold_delete && c->strategy->hold_delete(c->d, obj)) {
		err = write_pending(c, key, obj, rev, &nrev);
		if (err)
			goto fail;
		if (reply)
			reg_done_object(c, 200, obj, nrev);
		return 0;
	}
	gc_finalizers(c, obj, o->propagation);
	/* graceful deletion pending: only a shorter grace period changes it (BeforeDelete) */
	if (c->strategy->delete_grace && jv_get(md, "deletionTimestamp")) {
		switch (shorten_grace(c, md, o->grace)) {
		case 0: /* pending as it is */
			if (reply)
				reg_done_object(c, 200, obj, rev);
			return 0;
		case 1: /* shortened, still pending */
			err = write_pending(c, key, obj, rev, &nrev);
			if (err)
				goto fail;
			if (reply)
				reg_done_object(c, 200, obj, nrev);
			return 0;
		}
		/* 2: no grace left (or none recorded): finalizers, else gone */
	}
	/* graceful deletion (pods on a node): its agent finishes it */
	grace = c->strategy->delete_grace ? c->strategy->delete_grace(obj, o->grace) : 0;
	if (grace > 0 && !jv_get(md, "deletionTimestamp")) {
		mark_deleted(c, md, grace);
		err = write_pending(c, key, obj, rev, &nrev);
		if (err)
			goto fail;
		if (reply)
			reg_done_object(c, 200, obj, nrev);
		return 0;
	}
	/* finalizers hold it (the garbage collector's among them): marked and kept; 200 as
	 * kube-apiserver answers (202 only for the deprecated orphanDependents=false) */
	if (!finalizers_empty(obj)) {
		mark_deleted(c, md, 0);
		err = write_pending(c, key, obj, rev, &nrev);
		if (err)
			goto fail;
		if (reply)
			reg_done_object(c, 200, obj, nrev);
		return 0;
	}
	err = remove_now(c, key, obj, rev);
	if (err)
		goto fail;
	if (reply)
		reg_done_object(c, 200, obj, rev);
	return 0;
fail:
	if (reply && err != -STORE_ECONFLICT)
		api_fail_store(c->out, c->res, c->name, err);
	return err;
}

int reg_delete(struct registry *reg, const struct reg_req *rq, const struct reg_delete_opts *o,
	       struct api_result *out)
{
	struct reg_call c;
	struct jv *obj;
	uint64_t rev;
	int err;

	if (reg_call_init(&c, reg, rq, out) != 0 || check_opts(&c, o) != 0)
		return -EINVAL;
	if (c.strategy->forbid_delete && c.strategy->forbid_delete(c.name)) {
		char q[128];

		api_fail_details(out, 403, "Forbidden", c.res, c.name, "%s \"%s\" is forbidden: %s",
				 api_res_qualified(c.res, q, sizeof(q)), c.name,
				 c.strategy->forbid_delete(c.name));
		return -EPERM;
	}
	for (int i = 0; i < REG_WRITE_RETRIES; i++) {
		err = reg_load(&c, c.key, &obj, &rev);
		if (err) {
			api_fail_store(out, c.res, c.name, err);
			return err;
		}
		/* the admission webhooks of a DELETE: the stored object as oldObject */
		if (reg_webhooks_mutate(&c, "DELETE", NULL, obj, o) != 0 ||
		    reg_vap_validate(&c, "DELETE", NULL, obj) != 0 ||
		    reg_webhooks_validate(&c, "DELETE", NULL, obj, o) != 0)
			return -EPERM;
		err = reg_delete_object(&c, c.key, obj, rev, o, true);
		if (err != -STORE_ECONFLICT)
			return err;
	}
	api_fail_conflict(out, c.res, c.name);
	return -STORE_ECONFLICT;
}

int reg_deletecollection(struct registry *reg, const struct reg_req *rq,
			 const struct api_selector *sel, const struct reg_delete_opts *o,
			 struct api_result *out)
{
	struct reg_call c;
	struct store_list l = {0};
	uint64_t rev;
	int err;

	/* the options are checked once, before anything is deleted */
	if (reg_call_init(&c, reg, rq, out) != 0 || check_opts(&c, o) != 0)
		return -EINVAL;
	err = reg_list_all(reg, c.res, c.ns, 0, &l);
	if (err) {
		api_fail_store(out, c.res, NULL, err);
		return err;
	}
	for (size_t i = 0; i < l.count; i++) {
		struct jv *obj = api_load_object(c.d, l.items[i].value, l.items[i].value_len,
						 l.items[i].mod_rev);
		char key[1024];

		if (!obj || !api_selector_match(sel, obj))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)l.items[i].key_len,
			 (const char *)l.items[i].key);
		c.name = jv_path_str(obj, "metadata.name");
		rev = l.items[i].mod_rev;
		/* each item's DELETE admission; a refusal ends the collection's delete */
		if (reg_webhooks_mutate(&c, "DELETE", NULL, obj, o) != 0 ||
		    reg_vap_validate(&c, "DELETE", NULL, obj) != 0 ||
		    reg_webhooks_validate(&c, "DELETE", NULL, obj, o) != 0) {
			store_list_free(&l);
			return -EPERM;
		}
		/* changed meanwhile: deleted as it is now, as a single delete retries */
		for (int r = 0; r < REG_WRITE_RETRIES && obj; r++) {
			if (reg_delete_object(&c, key, obj, rev, o, false) != -STORE_ECONFLICT ||
			    reg_load(&c, key, &obj, &rev) != 0)
				break;
		}
	}
	store_list_free(&l);
	api_succeed_status(out, 200);
	return 0;
}
