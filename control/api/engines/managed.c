/* SPDX-License-Identifier: Apache-2.0 */
/*
 * managed: metadata.managedFields for Update operations, as Kubernetes' field manager keeps
 * them: the fields a write adds, changes or removes become its manager's (one entry per
 * manager, operation, API version and subresource) and leave every other manager; fields
 * that no longer exist leave everyone; an entry left owning nothing goes; a write that
 * changes no field leaves managedFields (and their times) alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "api_managed.h"

static const char *const server_meta[] = {"uid",
					  "resourceVersion",
					  "generation",
					  "creationTimestamp",
					  "deletionTimestamp",
					  "deletionGracePeriodSeconds",
					  "managedFields",
					  "selfLink",
					  "name",
					  "namespace",
					  NULL};

void api_managed_scope(struct fset *s, const char *sub, bool has_status)
{
	struct fset *ign = fset_new();

	if (!ign)
		return;
	for (size_t i = 0; server_meta[i]; i++) {
		char f[64];
		const char *path[2] = {"f:metadata", f};

		snprintf(f, sizeof(f), "f:%s", server_meta[i]);
		fset_add_path(ign, path, 2);
	}
	fset_add_path(ign, (const char *const[]){"f:apiVersion"}, 1);
	fset_add_path(ign, (const char *const[]){"f:kind"}, 1);
	fset_remove(s, ign);
	fset_free(ign);
	if (sub && strcmp(sub, "status") == 0)
		fset_drop_top(s, "status", true);
	else if (has_status)
		fset_drop_top(s, "status", false);
}

struct api_mentry *api_mentries_parse(const struct jv *obj, size_t *n)
{
	const struct jv *mf = jv_path(obj, "metadata.managedFields");
	size_t cnt = jv_count(mf), i = 0;
	struct api_mentry *e = calloc(cnt + 1, sizeof(*e));

	*n = 0;
	if (!e)
		return NULL;
	for (struct jv *it = mf && mf->type == JV_ARRAY ? mf->head : NULL; it; it = it->next) {
		if (it->type != JV_OBJECT)
			continue;
		e[i].entry = it;
		e[i].set = fset_new();
		if (!e[i].set || fset_from_fieldsv1(e[i].set, jv_get(it, "fieldsV1")) != 0) {
			api_mentries_free(e, i + 1);
			return NULL;
		}
		i++;
	}
	*n = i;
	return e;
}

void api_mentries_free(struct api_mentry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		fset_free(e[i].set);
	free(e);
}

static bool str_is(const struct jv *o, const char *key, const char *want)
{
	const char *s = jv_path_str(o, key);

	return want ? s && strcmp(s, want) == 0 : !s || !s[0];
}

struct api_mentry *api_mentry_get(struct jv_doc *d, struct api_mentry **e, size_t *n,
				  const char *manager, const char *operation, const char *sub,
				  const char *api_version)
{
	struct api_mentry *arr = *e, *ne;
	struct jv *o;

	for (size_t i = 0; i < *n; i++) {
		struct jv *x = arr[i].entry;

		/* an Update entry belongs to one API version; an Apply entry to any */
		if (str_is(x, "manager", manager) && str_is(x, "operation", operation) &&
		    str_is(x, "subresource", sub && sub[0] ? sub : NULL) &&
		    (strcmp(operation, "Apply") == 0 || str_is(x, "apiVersion", api_version)))
			return &arr[i];
	}
	ne = realloc(arr, (*n + 1) * sizeof(*ne));
	if (!ne)
		return NULL;
	*e = ne;
	o = jv_new(d, JV_OBJECT);
	if (!o)
		return NULL;
	jv_set(d, o, "manager", jv_new_strz(d, manager));
	jv_set(d, o, "operation", jv_new_strz(d, operation));
	jv_set(d, o, "apiVersion", jv_new_strz(d, api_version));
	if (sub && sub[0])
		jv_set(d, o, "subresource", jv_new_strz(d, sub));
	memset(&ne[*n], 0, sizeof(ne[*n]));
	ne[*n].entry = o;
	ne[*n].set = fset_new();
	if (!ne[*n].set)
		return NULL;
	return &ne[(*n)++];
}

int api_mentries_store(struct jv_doc *d, struct jv *obj, struct api_mentry *e, size_t n)
{
	struct jv *arr = jv_new(d, JV_ARRAY), *md = jv_obj_at(d, obj, "metadata");
	char now[32];

	if (!arr || !md)
		return -ENOMEM;
	api_now(now);
	/* Apply entries first, then Update ones, each in their order */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			struct jv *x = e[i].entry, *fields;
			bool apply = str_is(x, "operation", "Apply");

			if (apply != (pass == 0) || fset_empty(e[i].set))
				continue;
			if (e[i].changed || !jv_get(x, "time"))
				jv_set(d, x, "time", jv_new_strz(d, now));
			jv_set(d, x, "fieldsType", jv_new_strz(d, "FieldsV1"));
			fields = fset_to_fieldsv1(d, e[i].set);
			if (!fields)
				return -ENOMEM;
			jv_set(d, x, "fieldsV1", fields);
			x->next = NULL;
			x->key = NULL;
			jv_push(arr, x);
		}
	}
	if (arr->len)
		return jv_set(d, md, "managedFields", arr);
	jv_del(md, "managedFields");
	return 0;
}

int api_managed_update(struct jv_doc *d, struct jv *obj, const struct jv *old, const char *manager,
		       const char *sub, const struct k8s_kind *kind, bool has_status)
{
	struct fset *changed = fset_new(), *exists = fset_new();
	struct api_mentry *e = NULL, *me;
	size_t n = 0;
	int err = -ENOMEM;

	if (!changed || !exists)
		goto out;
	if (old)
		err = fset_diff(changed, old, obj, kind->type);
	else
		err = fset_of_object(changed, obj, kind->type);
	if (err)
		goto out;
	api_managed_scope(changed, sub, has_status);
	if (fset_empty(changed)) {
		err = 0; /* nothing changed: managedFields stay as they are */
		goto out;
	}
	err = -ENOMEM;
	if (fset_of_object(exists, obj, kind->type) != 0)
		goto out;
	e = api_mentries_parse(obj, &n);
	if (!e)
		goto out;
	for (size_t i = 0; i < n; i++)
		fset_remove(e[i].set, changed);
	me = api_mentry_get(d, &e, &n, manager, "Update", sub, kind->api_version);
	if (!me || fset_union(me->set, changed) != 0)
		goto out;
	/* what no longer exists is owned by no one */
	{
		struct fset *kept = fset_new();

		if (!kept || fset_intersect(kept, me->set, exists) != 0) {
			fset_free(kept);
			goto out;
		}
		fset_free(me->set);
		me->set = kept;
	}
	me->changed = true;
	err = api_mentries_store(d, obj, e, n);
out:
	api_mentries_free(e, n);
	fset_free(changed);
	fset_free(exists);
	return err;
}
