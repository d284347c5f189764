/* SPDX-License-Identifier: Apache-2.0 */
/*
 * apply: server-side apply. The applied configuration is merged into the live object by the
 * schema (keyed lists by their keys, sets by value, atomic lists, maps and structs replaced,
 * the rest field by field); the fields it sets are the manager's Apply set. A field whose
 * value the apply changes and another manager owns is a conflict (409, as Kubernetes words
 * it) unless force=true moves it; a field the manager applied before and no longer does is
 * removed unless someone else owns it. An absent object is created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_apply.h"
#include "api_managed.h"

/* ---- merging ---- */

static struct jv *merge(struct jv_doc *d, const struct jv *live, const struct jv *cfg,
			const struct k8s_field *f, const struct k8s_value *t, int depth);

static bool atomic_field(const struct k8s_field *f, const struct k8s_value *t)
{
	if (f && (f->map_type == K8S_MAP_ATOMIC || f->struct_type == K8S_STRUCT_ATOMIC))
		return true;
	return t && t->kind == K8S_V_STRUCT && t->type->struct_type == K8S_STRUCT_ATOMIC;
}

static struct jv *merge_object(struct jv_doc *d, const struct jv *live, const struct jv *cfg,
			       const struct k8s_value *t, int depth)
{
	struct jv *out;

	/* an item of a keyed list that is no object (a body no schema checked): taken as it is */
	if (cfg->type != JV_OBJECT)
		return jv_copy(d, cfg);
	out = live && live->type == JV_OBJECT ? jv_copy(d, live) : jv_new(d, JV_OBJECT);
	for (const struct jv *m = cfg->head; m && out; m = m->next) {
		const struct k8s_field *f =
		    t && t->kind == K8S_V_STRUCT ? k8s_field_findn(t->type, m->key, m->klen) : NULL;
		const struct k8s_value *ft = f				 ? f->value
					     : t && t->kind == K8S_V_MAP ? t->elem
									 : NULL;
		struct jv *n = merge(d, jv_getn(out, m->key, m->klen), m, f, ft, depth + 1);

		if (!n || jv_setn(d, out, m->key, m->klen, n) != 0)
			return NULL;
	}
	return out;
}

static bool same_key(const struct jv *a, const struct jv *b, const struct k8s_field *f)
{
	if (f->list_map_keys) {
		for (size_t i = 0; f->list_map_keys[i]; i++)
			if (!jv_equal(jv_get(a, f->list_map_keys[i]),
				      jv_get(b, f->list_map_keys[i])))
				return false;
		return true;
	}
	return jv_equal(jv_get(a, f->patch_merge_key), jv_get(b, f->patch_merge_key));
}

static bool item_match(const struct jv *a, const struct jv *b, const struct k8s_field *f, bool set)
{
	return set ? jv_equal(a, b) : same_key(a, b, f);
}

static const struct jv *find_item(const struct jv *list, const struct jv *x,
				  const struct k8s_field *f, bool set)
{
	for (const struct jv *i = list->head; i; i = i->next)
		if (item_match(i, x, f, set))
			return i;
	return NULL;
}

/* structured-merge-diff's merge of associative lists: items only the live list has keep
 * their places, the configuration's items come in its order, shared items merged. */
static struct jv *merge_list(struct jv_doc *d, const struct jv *live, const struct jv *cfg,
			     const struct k8s_field *f, const struct k8s_value *t, int depth)
{
	bool objects = t->elem->kind == K8S_V_STRUCT;
	bool keyed = objects && (f->list_type == K8S_LIST_MAP || f->patch_merge_key);
	bool set = !objects && (f->list_type == K8S_LIST_SET || (f->patch & K8S_PATCH_MERGE));
	const struct jv *l, *r, *next_shared = NULL;
	struct jv *out;

	if (f->list_type == K8S_LIST_ATOMIC || (!keyed && !set) || !live || live->type != JV_ARRAY)
		return jv_copy(d, cfg);
	out = jv_new(d, JV_ARRAY);
	/* the first item of the configuration the live list has too */
	for (r = cfg->head; r && !next_shared; r = r->next)
		if (find_item(live, r, f, set))
			next_shared = r;
	l = live->head;
	r = cfg->head;
	while (out && (l || r)) {
		struct jv *n = NULL;

		if (l && r && item_match(l, r, f, set)) {
			n = set ? jv_copy(d, r) : merge_object(d, l, r, t->elem, depth + 1);
			l = l->next;
			r = r->next;
		} else if (l && find_item(out, l, f, set)) {
			l = l->next; /* already merged */
			continue;
		} else if (l && !find_item(cfg, l, f, set)) {
			n = jv_copy(d, l);
			l = l->next;
		} else if (l && next_shared && !item_match(next_shared, l, f, set)) {
			l = l->next; /* shared, but not the one due now */
			continue;
		} else if (r) {
			const struct jv *li = find_item(live, r, f, set);

			n = li && !set ? merge_object(d, li, r, t->elem, depth + 1) : jv_copy(d, r);
			r = r->next;
		} else {
			l = l->next;
			continue;
		}
		if (!n)
			return NULL;
		jv_push(out, n);
		/* the next shared item due */
		if (next_shared && find_item(out, next_shared, f, set)) {
			const struct jv *s = next_shared->next;

			next_shared = NULL;
			for (; s && !next_shared; s = s->next)
				if (find_item(live, s, f, set) && !find_item(out, s, f, set))
					next_shared = s;
		}
	}
	return out;
}

/* Key fields a keyed list item leaves out take their schema defaults (ports' protocol):
 * structured-merge-diff matches items with defaulted keys. */
static void default_keys(struct jv_doc *d, struct jv *v, const struct k8s_value *t, int depth)
{
	if (!v || !t || depth > K8S_MAX_DEPTH)
		return;
	if (v->type == JV_OBJECT && t->kind == K8S_V_STRUCT) {
		for (struct jv *m = v->head; m; m = m->next) {
			const struct k8s_field *f = k8s_field_findn(t->type, m->key, m->klen);

			if (!f)
				continue;
			if (m->type == JV_ARRAY && f->list_map_keys &&
			    f->value->elem->kind == K8S_V_STRUCT) {
				for (struct jv *i = m->head; i; i = i->next)
					for (size_t k = 0; f->list_map_keys[k]; k++) {
						const struct k8s_field *kf = k8s_field_find(
						    f->value->elem->type, f->list_map_keys[k]);

						if (kf && kf->default_json &&
						    i->type == JV_OBJECT &&
						    !jv_get(i, f->list_map_keys[k]))
							jv_set(d, i, f->list_map_keys[k],
							       jv_parse(d, kf->default_json,
									strlen(kf->default_json),
									NULL));
					}
			}
			default_keys(d, m, f->value, depth + 1);
		}
	} else if (v->type == JV_OBJECT && t->kind == K8S_V_MAP) {
		for (struct jv *m = v->head; m; m = m->next)
			default_keys(d, m, t->elem, depth + 1);
	} else if (v->type == JV_ARRAY && t->kind == K8S_V_ARRAY) {
		for (struct jv *i = v->head; i; i = i->next)
			default_keys(d, i, t->elem, depth + 1);
	}
}

static struct jv *merge(struct jv_doc *d, const struct jv *live, const struct jv *cfg,
			const struct k8s_field *f, const struct k8s_value *t, int depth)
{
	if (depth > K8S_MAX_DEPTH)
		return NULL;
	if (cfg->type == JV_OBJECT && !atomic_field(f, t) &&
	    (!t || t->kind == K8S_V_STRUCT || t->kind == K8S_V_MAP))
		return merge_object(d, live, cfg, t, depth);
	if (cfg->type == JV_ARRAY && f && t && t->kind == K8S_V_ARRAY)
		return merge_list(d, live, cfg, f, t, depth);
	return jv_copy(d, cfg);
}

/* ---- conflicts ---- */

struct conflict_ctx {
	struct k8s_buf msg, causes;
	size_t n;
	const char *who;
	bool many;
};

/* How Kubernetes names a manager in a conflict (printManager). */
static void manager_label(const struct jv *e, char *buf, size_t size)
{
	const char *m = jv_path_str(e, "manager"), *op = jv_path_str(e, "operation");
	const char *sub = jv_path_str(e, "subresource"), *av = jv_path_str(e, "apiVersion");
	int n = snprintf(buf, size, "\"%s\"", m ? m : "");

	if (sub && sub[0] && n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, " with subresource \"%s\"", sub);
	if (op && strcmp(op, "Update") == 0 && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " using %s", av ? av : "");
}

static void on_conflict_path(const char *path, void *ud)
{
	struct conflict_ctx *c = ud;
	char cmsg[320];

	if (c->n)
		k8s_buf_putc(&c->causes, ',');
	snprintf(cmsg, sizeof(cmsg), "conflict with %s", c->who);
	k8s_buf_puts(&c->causes, "{\"reason\":\"FieldManagerConflict\",\"message\":");
	k8s_buf_json_string(&c->causes, cmsg, strlen(cmsg));
	k8s_buf_puts(&c->causes, ",\"field\":");
	k8s_buf_json_string(&c->causes, path, strlen(path));
	k8s_buf_putc(&c->causes, '}');
	if (c->many)
		k8s_buf_printf(&c->msg, "\n- %s", path);
	else
		k8s_buf_printf(&c->msg, "conflict with %s: %s", c->who, path);
	c->n++;
}

static void count_cb(const char *path, void *ud)
{
	(void)path;
	(*(size_t *)ud)++;
}

/* The 409 Status of the conflicts, into out. */
static void conflict_status(struct k8s_buf *out, struct api_mentry *e, struct fset **conf, size_t n)
{
	struct conflict_ctx cc = {0};
	size_t total = 0;
	char who[320];

	for (size_t i = 0; i < n; i++)
		if (conf[i])
			fset_each_path(conf[i], count_cb, &total);
	cc.many = total > 1;
	if (cc.many)
		k8s_buf_printf(&cc.msg, "Apply failed with %zu conflicts: ", total);
	else
		k8s_buf_puts(&cc.msg, "Apply failed with 1 conflict: ");
	for (size_t i = 0, first = 1; i < n; i++) {
		if (!conf[i])
			continue;
		manager_label(e[i].entry, who, sizeof(who));
		cc.who = who;
		if (cc.many) {
			k8s_buf_printf(&cc.msg, "%sconflicts with %s:", first ? "" : "\n", who);
			first = 0;
		}
		fset_each_path(conf[i], on_conflict_path, &cc);
	}
	k8s_buf_puts(out, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
			  "\"Failure\",\"message\":");
	k8s_buf_json_string(out, cc.msg.p ? cc.msg.p : "", cc.msg.len);
	k8s_buf_puts(out, ",\"reason\":\"Conflict\",\"details\":{\"causes\":[");
	if (cc.causes.p)
		k8s_buf_puts(out, cc.causes.p);
	k8s_buf_puts(out, "]},\"code\":409}");
	k8s_buf_free(&cc.msg);
	k8s_buf_free(&cc.causes);
}

/* ---- apply ---- */

int api_apply_compute(const struct api_apply_in *in, const struct jv *live, struct jv *cfg,
		      struct jv **merged, struct k8s_buf *conflicts)
{
	const struct k8s_kind *k = in->kind;
	struct k8s_value tv = {.kind = K8S_V_STRUCT, .type = k->type};
	/* a custom resource has no generated schema: every map merges, every list is atomic
	 * (structured-merge-diff's deduced schema) */
	const struct k8s_value *tp = k->type ? &tv : &api_deduced_value;
	struct api_mentry *e = NULL, *me;
	struct fset *set, **conf = NULL, *modified = NULL, *others = NULL, *gone = NULL;
	struct jv *out;
	size_t n = 0;
	bool any = false;
	int err = -ENOMEM;

	default_keys(in->d, cfg, tp, 0);
	set = fset_new();
	if (!set || fset_of_object(set, cfg, k->type) != 0) {
		fset_free(set);
		return -ENOMEM;
	}
	api_managed_scope(set, in->sub, in->has_status);
	out = live ? merge(in->d, live, cfg, NULL, tp, 0) : jv_copy(in->d, cfg);
	if (!out) {
		fset_free(set);
		return -ENOMEM;
	}
	e = api_mentries_parse(live ? live : cfg, &n);
	if (!e)
		goto out;
	if (!live) {
		/* a create: the configuration's managedFields are not the server's */
		api_mentries_free(e, n);
		n = 0;
		e = calloc(1, sizeof(*e));
		if (!e)
			goto out;
	}
	conf = calloc(n + 1, sizeof(*conf));
	modified = fset_new();
	if (!conf || !modified || (live && fset_diff(modified, live, out, k->type) != 0))
		goto out;
	api_managed_scope(modified, in->sub, in->has_status);
	for (size_t i = 0; i < n; i++) {
		bool self = jv_is_str(jv_get(e[i].entry, "manager"), in->manager) &&
			    jv_is_str(jv_get(e[i].entry, "operation"), "Apply");

		if (self)
			continue;
		conf[i] = fset_new();
		if (!conf[i] || fset_intersect(conf[i], e[i].set, modified) != 0)
			goto out;
		if (fset_empty(conf[i])) {
			fset_free(conf[i]);
			conf[i] = NULL;
			continue;
		}
		any = true;
	}
	if (any && !in->force) {
		conflict_status(conflicts, e, conf, n);
		err = -EBUSY;
		goto out;
	}
	/* forced: the others give the conflicting fields up */
	for (size_t i = 0; i < n; i++)
		if (conf[i]) {
			fset_remove(e[i].set, conf[i]);
			e[i].changed = true;
		}
	me = api_mentry_get(in->d, &e, &n, in->manager, "Apply", in->sub, k->api_version);
	if (!me)
		goto out;
	/* what this manager applied before and no longer does goes, unless others own it */
	gone = fset_new();
	others = fset_new();
	if (!gone || !others || fset_union(gone, me->set) != 0)
		goto out;
	fset_remove(gone, set);
	for (size_t i = 0; i < n; i++)
		if (&e[i] != me && fset_union(others, e[i].set) != 0)
			goto out;
	fset_remove(gone, others);
	if (live && !fset_empty(gone))
		fset_delete_from(out, gone, k->type);
	fset_free(me->set);
	me->set = set;
	set = NULL;
	me->changed = true;
	jv_set(in->d, me->entry, "apiVersion", jv_new_strz(in->d, k->api_version));
	err = api_mentries_store(in->d, out, e, n);
	if (!err)
		*merged = out;
out:
	fset_free(set);
	for (size_t i = 0; conf && i < n; i++)
		fset_free(conf[i]);
	free(conf);
	fset_free(modified);
	fset_free(others);
	fset_free(gone);
	api_mentries_free(e, n);
	return err;
}
