/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kclient: the transport-independent half of the client. It owns struct kc_obj (reference
 * counting, copies, parsing), the public entry points (argument checks, counters, dispatch
 * through the transport's kc_ops), the error names, the Status → error mapping both
 * transports share, and kc_bind's Binding body.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kclient_int.h"

/* ---- objects ---- */

static void obj_release(struct kc_obj *o)
{
	free(o);
}

struct kc_obj *kc_obj_new(const char *json, size_t len, uint64_t rv)
{
	struct kc_obj *o = malloc(sizeof(*o) + len + 1);
	char *text;

	if (!o) {
		errno = ENOMEM;
		return NULL;
	}
	text = (char *)(o + 1);
	if (len)
		memcpy(text, json, len);
	text[len] = 0;
	atomic_init(&o->refs, 1);
	o->json = text;
	o->len = len;
	o->rv = rv;
	o->release = obj_release;
	return o;
}

void kc_obj_put(struct kc_obj *o)
{
	if (o && atomic_fetch_sub(&o->refs, 1) == 1)
		o->release(o);
}

struct jv *kc_obj_parse(const struct kc_obj *o, struct jv_doc *d)
{
	struct jv *v, *meta;

	if (!o || !d) {
		errno = EINVAL;
		return NULL;
	}
	v = jv_parse(d, o->json, o->len, NULL);
	if (!v) {
		if (errno != ENOMEM)
			errno = EINVAL;
		return NULL;
	}
	if (v->type != JV_OBJECT) {
		errno = EINVAL;
		return NULL;
	}
	if (o->rv) {
		struct jv *rv = jv_new_strf(d, "%" PRIu64, o->rv);

		meta = rv ? jv_obj_at(d, v, "metadata") : NULL;
		if (!meta || jv_set(d, meta, "resourceVersion", rv) != 0) {
			errno = ENOMEM;
			return NULL;
		}
	}
	return v;
}

/* ---- errors ---- */

const char *kc_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case KC_ECONFLICT:
		return "conflict (stale resourceVersion or precondition)";
	case KC_EGONE:
		return "resource version too old (gone)";
	case KC_EINVALID:
		return "invalid object";
	case KC_EAPI:
		return "API error";
	default:
		return strerror(err);
	}
}

int kc_error_of(int code, const char *reason)
{
	if (!reason)
		reason = "";
	switch (code) {
	case 404:
		return -ENOENT;
	case 409:
		/* Kubernetes answers both with 409: only the reason tells them apart */
		return strcmp(reason, "AlreadyExists") == 0 ? -EEXIST : -KC_ECONFLICT;
	case 410:
		return -KC_EGONE;
	case 422:
		return -KC_EINVALID;
	case 401:
	case 403:
		return -EACCES;
	case 0:
		return -EIO;
	default:
		/* a 500 "Expired" is how an etcd compaction reaches some old servers */
		if (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0)
			return -KC_EGONE;
		return -KC_EAPI;
	}
}

void kc_status_set(struct kc_status *st, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (!st)
		return;
	st->code = code;
	snprintf(st->reason, sizeof(st->reason), "%s", reason ? reason : "");
	st->message[0] = 0;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(st->message, sizeof(st->message), fmt, ap);
		va_end(ap);
	}
}

/* ---- the client base ---- */

void kclient_init(struct kclient *c, const struct kc_ops *ops)
{
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	snprintf(c->field_manager, sizeof(c->field_manager), "drover");
	atomic_init(&c->requests, 0);
	atomic_init(&c->errors, 0);
	atomic_init(&c->watches_opened, 0);
	atomic_init(&c->watch_events, 0);
}

void kclient_set_field_manager(struct kclient *c, const char *manager)
{
	if (c && manager && manager[0])
		snprintf(c->field_manager, sizeof(c->field_manager), "%s", manager);
}

void kclient_free(struct kclient *c)
{
	if (c)
		c->ops->free(c);
}

void kclient_stats(struct kclient *c, struct kc_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	out->requests = atomic_load(&c->requests);
	out->errors = atomic_load(&c->errors);
	out->watches_opened = atomic_load(&c->watches_opened);
	out->watch_events = atomic_load(&c->watch_events);
}

/* ---- argument checks ---- */

static int bad_arg(struct kclient *c, struct kc_status *st, const char *fmt, const char *what)
{
	kc_status_set(st, 0, "", fmt, what);
	if (c)
		atomic_fetch_add(&c->errors, 1);
	return -EINVAL;
}

/* c and k usable for a call; ns present when k is namespaced and need_ns. */
static int check(struct kclient *c, const struct k8s_kind *k, const char *ns, bool need_ns,
		 struct kc_status *st)
{
	if (!c)
		return bad_arg(NULL, st, "%s", "no client");
	if (!k || !(k->flags & K8S_KIND_RESOURCE) || !k->resource)
		return bad_arg(c, st, "%s", "not a served resource kind");
	if (need_ns && !k->cluster_scoped && (!ns || !ns[0]))
		return bad_arg(c, st, "%s: a namespace is required", k->resource);
	return 0;
}

static bool empty(const char *s)
{
	return !s || !s[0];
}

/* Count a call's outcome. */
static int done(struct kclient *c, int err)
{
	if (err < 0)
		atomic_fetch_add(&c->errors, 1);
	return err;
}

static void clear_out(struct kc_obj **out, struct kc_status *st)
{
	if (out)
		*out = NULL;
	if (st)
		kc_status_set(st, 0, "", NULL);
}

/* ---- calls ---- */

int kc_get(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
	   struct kc_obj **out, struct kc_status *st)
{
	int err;

	clear_out(out, st);
	if ((err = check(c, k, ns, true, st)))
		return err;
	if (empty(name))
		return bad_arg(c, st, "%s", "a name is required");
	if (!out)
		return bad_arg(c, st, "%s", "no place for the result");
	atomic_fetch_add(&c->requests, 1);
	return done(c, c->ops->get(c, k, k->cluster_scoped ? NULL : ns, name, NULL, out, st));
}

int kc_get_raw(struct kclient *c, const char *path, const struct kc_stream_cb *cb,
	       struct kc_status *st)
{
	clear_out(NULL, st);
	if (empty(path) || path[0] != '/' || !cb || !cb->data)
		return bad_arg(c, st, "%s", "a path and a data callback are required");
	if (!c->ops->get_raw)
		return bad_arg(c, st, "%s", "this client serves no raw requests");
	atomic_fetch_add(&c->requests, 1);
	return done(c, c->ops->get_raw(c, path, cb, st));
}

int kc_list(struct kclient *c, const struct k8s_kind *k, const char *ns,
	    const struct kc_list_opts *o, struct kc_list *out, struct kc_status *st)
{
	static const struct kc_list_opts none;
	int err;

	clear_out(NULL, st);
	if (out)
		memset(out, 0, sizeof(*out));
	if ((err = check(c, k, ns, false, st)))
		return err;
	if (!out)
		return bad_arg(c, st, "%s", "no place for the result");
	atomic_fetch_add(&c->requests, 1);
	err =
	    c->ops->list(c, k, k->cluster_scoped || empty(ns) ? NULL : ns, o ? o : &none, out, st);
	if (err)
		kc_list_free(out);
	return done(c, err);
}

void kc_list_free(struct kc_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		kc_obj_put(l->items[i]);
	free(l->items);
	free(l->next);
	memset(l, 0, sizeof(*l));
}

/* The namespace a write goes to: the argument, else the object's own. */
static const char *write_ns(const struct k8s_kind *k, const char *ns, const struct jv *obj)
{
	if (k->cluster_scoped)
		return NULL;
	if (!empty(ns))
		return ns;
	return jv_path_str(obj, "metadata.namespace");
}

int kc_create(struct kclient *c, const struct k8s_kind *k, const char *ns, const struct jv *obj,
	      const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	static const struct kc_write_opts none;
	int err;

	clear_out(out, st);
	if ((err = check(c, k, NULL, false, st)))
		return err;
	if (!obj || obj->type != JV_OBJECT)
		return bad_arg(c, st, "%s", "the object must be a JSON object");
	ns = write_ns(k, ns, obj);
	if ((err = check(c, k, ns, true, st)))
		return err;
	atomic_fetch_add(&c->requests, 1);
	return done(c, c->ops->create(c, k, ns, NULL, NULL, obj, o ? o : &none, out, st));
}

int kc_update(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *sub,
	      const struct jv *obj, const struct kc_write_opts *o, struct kc_obj **out,
	      struct kc_status *st)
{
	static const struct kc_write_opts none;
	const char *name;
	int err;

	clear_out(out, st);
	if ((err = check(c, k, NULL, false, st)))
		return err;
	if (!obj || obj->type != JV_OBJECT)
		return bad_arg(c, st, "%s", "the object must be a JSON object");
	ns = write_ns(k, ns, obj);
	if ((err = check(c, k, ns, true, st)))
		return err;
	name = jv_path_str(obj, "metadata.name");
	if (empty(name))
		return bad_arg(c, st, "%s", "the object has no metadata.name");
	atomic_fetch_add(&c->requests, 1);
	return done(c, c->ops->update(c, k, ns, name, empty(sub) ? NULL : sub, obj, o ? o : &none,
				      out, st));
}

int kc_patch(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
	     const char *sub, enum kc_patch_type t, const char *patch, size_t len,
	     const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	static const struct kc_write_opts none;
	int err;

	clear_out(out, st);
	if ((err = check(c, k, ns, true, st)))
		return err;
	if (empty(name))
		return bad_arg(c, st, "%s", "a name is required");
	if (!patch || !len)
		return bad_arg(c, st, "%s", "an empty patch");
	if (t < KC_PATCH_MERGE || t > KC_PATCH_APPLY)
		return bad_arg(c, st, "%s", "unknown patch type");
	atomic_fetch_add(&c->requests, 1);
	return done(c,
		    c->ops->patch(c, k, k->cluster_scoped ? NULL : ns, name,
				  empty(sub) ? NULL : sub, t, patch, len, o ? o : &none, out, st));
}

int kc_delete(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
	      const struct kc_delete_opts *o, struct kc_obj **out, struct kc_status *st)
{
	static const struct kc_delete_opts none = KC_DELETE_OPTS_INIT;
	int err;

	clear_out(out, st);
	if ((err = check(c, k, ns, true, st)))
		return err;
	if (empty(name))
		return bad_arg(c, st, "%s", "a name is required");
	atomic_fetch_add(&c->requests, 1);
	return done(c,
		    c->ops->del(c, k, k->cluster_scoped ? NULL : ns, name, o ? o : &none, out, st));
}

int kc_delete_collection(struct kclient *c, const struct k8s_kind *k, const char *ns,
			 const struct kc_list_opts *sel, const struct kc_delete_opts *o,
			 struct kc_status *st)
{
	static const struct kc_delete_opts none = KC_DELETE_OPTS_INIT;
	int err;

	clear_out(NULL, st);
	if ((err = check(c, k, ns, false, st)))
		return err;
	atomic_fetch_add(&c->requests, 1);
	return done(c, c->ops->delcol(c, k, k->cluster_scoped || empty(ns) ? NULL : ns, sel,
				      o ? o : &none, st));
}

int kc_create_sub(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		  const char *sub, const struct jv *body, const struct kc_write_opts *o,
		  struct kc_obj **out, struct kc_status *st)
{
	static const struct kc_write_opts none;
	int err;

	clear_out(out, st);
	if ((err = check(c, k, ns, true, st)))
		return err;
	if (empty(name) || empty(sub))
		return bad_arg(c, st, "%s", "a name and a subresource are required");
	if (!body || body->type != JV_OBJECT)
		return bad_arg(c, st, "%s", "the body must be a JSON object");
	atomic_fetch_add(&c->requests, 1);
	return done(c, c->ops->create(c, k, k->cluster_scoped ? NULL : ns, name, sub, body,
				      o ? o : &none, out, st));
}

/* A v1 Binding as kube-scheduler posts it: metadata {namespace, name, uid} of the pod (the
 * uid a precondition), target {kind: Node, name}. */
int kc_bind(struct kclient *c, const char *ns, const char *name, const char *uid, const char *node,
	    struct kc_status *st)
{
	const struct k8s_kind *pods = k8s_kind_find("v1", "Pod");
	struct jv_doc *d;
	struct jv *b, *meta, *target;
	int err = -ENOMEM;

	clear_out(NULL, st);
	if (!c)
		return bad_arg(NULL, st, "%s", "no client");
	if (empty(node))
		return bad_arg(c, st, "%s", "a node name is required");
	d = jv_doc_new();
	if (!d)
		return done(c, -ENOMEM);
	b = jv_new(d, JV_OBJECT);
	meta = jv_new(d, JV_OBJECT);
	target = jv_new(d, JV_OBJECT);
	if (!b || !meta || !target || jv_set(d, b, "kind", jv_new_strz(d, "Binding")) ||
	    jv_set(d, b, "apiVersion", jv_new_strz(d, "v1")) ||
	    jv_set(d, meta, "name", jv_new_strz(d, name ? name : "")) ||
	    jv_set(d, meta, "namespace", jv_new_strz(d, ns ? ns : "")) ||
	    (!empty(uid) && jv_set(d, meta, "uid", jv_new_strz(d, uid))) ||
	    jv_set(d, b, "metadata", meta) || jv_set(d, target, "kind", jv_new_strz(d, "Node")) ||
	    jv_set(d, target, "name", jv_new_strz(d, node)) || jv_set(d, b, "target", target))
		goto out;
	err = kc_create_sub(c, pods, ns, name, "binding", b, NULL, NULL, st);
	jv_doc_free(d);
	return err;
out:
	kc_status_set(st, 0, "", "out of memory");
	jv_doc_free(d);
	return done(c, err);
}

/* ---- watches ---- */

int kc_watch(struct kclient *c, const struct k8s_kind *k, const char *ns,
	     const struct kc_watch_opts *o, const struct kc_watch_cb *cb, void *arg,
	     struct kc_watch **out, struct kc_status *st)
{
	static const struct kc_watch_opts none;
	int err;

	if (out)
		*out = NULL;
	clear_out(NULL, st);
	if ((err = check(c, k, ns, false, st)))
		return err;
	if (!cb || !cb->event || !cb->end || !out)
		return bad_arg(c, st, "%s", "a watch needs event and end callbacks and a handle");
	atomic_fetch_add(&c->requests, 1);
	err = c->ops->watch(c, k, k->cluster_scoped || empty(ns) ? NULL : ns, o ? o : &none, cb,
			    arg, out, st);
	if (!err)
		atomic_fetch_add(&c->watches_opened, 1);
	return done(c, err);
}

void kc_watch_stop(struct kc_watch *w)
{
	if (w)
		w->c->ops->watch_stop(w);
}
