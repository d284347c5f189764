/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_managed: metadata.managedFields, as Kubernetes' field manager keeps them (structured-
 * merge-diff's fieldsV1 sets): which manager owns which field, for Update operations (the
 * fields a write changed become its manager's and leave the others') and for server-side
 * apply (api_apply.h).
 */
#ifndef DROVER_API_MANAGED_H
#define DROVER_API_MANAGED_H

#include "k8s_jv.h"

struct fset; /* a set of field paths (fieldset.c) */

/* A write by manager (operation Update) of obj over old (NULL for a create): the fields it
 * set or changed become manager's, removed from every other manager; managers left with
 * nothing are dropped. sub: the subresource ("status") or NULL. 0 or -ENOMEM. */
int api_managed_update(struct jv_doc *d, struct jv *obj, const struct jv *old, const char *manager,
		       const char *sub, const struct k8s_kind *kind, bool has_status);

/* The fields a write may own: every path of obj but the server's metadata (uid,
 * resourceVersion, timestamps, managedFields, name, namespace), apiVersion and kind, and the
 * status (main resource of a kind with a status subresource) or everything but the status
 * (status subresource). */
void api_managed_scope(struct fset *s, const char *sub, bool has_status);

/* One managedFields entry, parsed. */
struct api_mentry {
	struct jv *entry; /* the entry object (manager, operation, apiVersion, time, ...) */
	struct fset *set;
	bool changed;
};

/* Parse obj's managedFields (*n entries, malloc'd array); free with api_mentries_free. */
struct api_mentry *api_mentries_parse(const struct jv *obj, size_t *n);
void api_mentries_free(struct api_mentry *e, size_t n);
/* Write the entries (dropping empty ones) back into obj's metadata.managedFields. */
int api_mentries_store(struct jv_doc *d, struct jv *obj, struct api_mentry *e, size_t n);
/* The entry of (manager, operation, subresource), created (empty) if absent. */
struct api_mentry *api_mentry_get(struct jv_doc *d, struct api_mentry **e, size_t *n,
				  const char *manager, const char *operation, const char *sub,
				  const char *api_version);

/* ---- field sets (fieldset.c) ---- */

struct fset *fset_new(void);
void fset_free(struct fset *s);
/* The set of every leaf (and list item, map) of v by the schema: what applying v owns. */
int fset_of_object(struct fset *s, const struct jv *v, const struct k8s_type *t);
/* What a type of NULL stands for in the field sets and apply: a custom resource without a
 * generated schema, as structured-merge-diff deduces its schema (DeducedParseableType):
 * every object a granular map of values of the same kind, every list atomic. */
extern const struct k8s_value api_deduced_value;
/* The fields whose values differ between a and b (either may be NULL): set, changed or
 * removed leaves. */
int fset_diff(struct fset *s, const struct jv *a, const struct jv *b, const struct k8s_type *t);
/* Parse a fieldsV1 object / write one. */
int fset_from_fieldsv1(struct fset *s, const struct jv *f);
struct jv *fset_to_fieldsv1(struct jv_doc *d, const struct fset *s);
bool fset_empty(const struct fset *s);
/* Add one path, given as fieldsV1 elements ("f:metadata", "f:uid"). */
int fset_add_path(struct fset *s, const char *const *elems, size_t n);
/* a -= b; a ∪= b; out = a ∩ b */
void fset_remove(struct fset *a, const struct fset *b);
int fset_union(struct fset *a, const struct fset *b);
int fset_intersect(struct fset *out, const struct fset *a, const struct fset *b);
/* Remove paths under the top-level field name (e.g. "status"), or keep only those. */
void fset_drop_top(struct fset *s, const char *field, bool keep_only);
/* Remove from obj every path of s (fields, keyed list items, set values). */
void fset_delete_from(struct jv *obj, const struct fset *s, const struct k8s_type *t);
/* Each path as Kubernetes prints it in conflicts: ".spec.replicas",
 * ".spec.containers[name=\"web\"].image". cb gets them in order. */
void fset_each_path(const struct fset *s, void (*cb)(const char *path, void *ud), void *ud);

#endif
