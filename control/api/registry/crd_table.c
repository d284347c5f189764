/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crd_table: the resources a registry serves beyond the generated table — the custom
 * resources of its Established CustomResourceDefinitions, one per served version, as
 * apiextensions-apiserver's customresource handler serves them
 * (crdHandler.getOrCreateServingInfoFor): without a generated schema (their objects are
 * kept as written, then defaulted, pruned and validated by their version's openAPIV3Schema:
 * strategy/crs.c), their names from status.acceptedNames, all eight verbs, the status and
 * scale subresources the version has, the Table of its additionalPrinterColumns (else Name,
 * Age), and every version but the storage one served by conversion None to it (stored once,
 * under /registry/<plural>.<group>/).
 *
 * Threads: requests look resources up while CRDs change. An entry, once made, lives as long
 * as the registry: a request keeps the pointer it looked up for as long as it runs, so an
 * entry is never freed while requests may hold it; a CRD that changes or goes marks its
 * entries unserved (lookups skip them) and, when it serves the same definition again, takes
 * its old entry back. Entries are a few hundred bytes; a cluster makes one per distinct
 * definition it ever serves. A rwlock guards the list.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_codec.h"
#include "log.h"
#include "reg_hub.h"
#include "reg_int.h"

#define COMP "registry"

struct crd_entry {
	struct api_resource res;
	struct k8s_kind kind;
	struct api_subresource subs[2]; /* status, scale (those it has, in that order) */
	/* the scale subresource's paths (no leading dot), or NULL */
	char *spec_replicas, *status_replicas, *selector;
	char *owner; /* the CRD's name */
	bool served;
	bool was_served;    /* before reg_crd_serve's current call */
	char *strs[8];	    /* group, version, kind, api_version, plural, singular, list, key */
	char **short_names; /* NULL-terminated */
	char **categories;
	/* the version's openAPIV3Schema (its own doc), or NULL */
	struct jv_doc *schema_doc;
	const struct jv *schema;
	/* its additionalPrinterColumns (in schema_doc) and the Table columns made of them */
	const struct jv *printer;
	struct api_column *columns;
	size_t ncolumns;
	struct crd_entry *next;
};

struct reg_crds {
	pthread_rwlock_t lock;
	struct crd_entry *head, **tail;
	_Atomic uint64_t gen; /* reg_crds_generation */
};

/* generations unique across registries (a freed registry's address may come back) */
static _Atomic uint64_t next_gen;

/* kubectl's default columns of a custom resource (TableConvertor without columns:
 * apiserver's tableconvertor.New with none: Name and Age) */
static const struct api_column crd_columns[] = {
    {.name = "Name",
     .type = "string",
     .format = "name",
     .cell = "name",
     .description =
	 "Name must be unique within a namespace. Is required when creating resources, "
	 "although some resources may allow a client to request the generation of an "
	 "appropriate name automatically. Name is primarily intended for creation "
	 "idempotence and configuration definition. Cannot be updated. More info: "
	 "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"},
    {.name = "Age",
     .type = "date",
     .cell = "age",
     .description = "CreationTimestamp is a timestamp representing the server time when this "
		    "object was created. It is not guaranteed to be set in happens-before order "
		    "across separate operations. Clients may not set this value. It is "
		    "represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
		    "Read-only. Null for lists. More info: https://git.k8s.io/community/"
		    "contributors/devel/sig-architecture/api-conventions.md#metadata"},
};

int reg_crds_new(struct registry *reg)
{
	struct reg_crds *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_rwlock_init(&t->lock, NULL);
	t->tail = &t->head;
	t->gen = atomic_fetch_add(&next_gen, 1) + 1;
	reg->crds = t;
	return 0;
}

uint64_t reg_crds_generation(struct registry *reg)
{
	return reg && reg->crds ? atomic_load(&reg->crds->gen) : 0;
}

static void free_list(char **l)
{
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

static void entry_free(struct crd_entry *e)
{
	for (size_t i = 0; i < 8; i++)
		free(e->strs[i]);
	free_list(e->short_names);
	free_list(e->categories);
	jv_doc_free(e->schema_doc);
	free(e->spec_replicas);
	free(e->status_replicas);
	free(e->selector);
	for (size_t i = 0; e->columns && i < e->ncolumns; i++) {
		free((char *)e->columns[i].name);
		free((char *)e->columns[i].type);
		free((char *)e->columns[i].format);
		free((char *)e->columns[i].description);
		free((char *)e->columns[i].cell);
	}
	free(e->columns);
	free(e->owner);
	free(e);
}

void reg_crds_free(struct registry *reg)
{
	struct reg_crds *t = reg->crds;

	if (!t)
		return;
	for (struct crd_entry *e = t->head, *n; e; e = n) {
		n = e->next;
		entry_free(e);
	}
	pthread_rwlock_destroy(&t->lock);
	free(t);
	reg->crds = NULL;
}

/* ---- lookups ---- */

const struct api_resource *reg_resource_find(struct registry *reg, const char *group,
					     const char *version, const char *resource)
{
	const struct api_resource *res = api_resource_find(group, version, resource);
	struct reg_crds *t = reg ? reg->crds : NULL;

	if (res || !t)
		return res;
	pthread_rwlock_rdlock(&t->lock);
	for (struct crd_entry *e = t->head; e && !res; e = e->next)
		if (e->served && strcmp(e->kind.group, group) == 0 &&
		    strcmp(e->kind.version, version) == 0 &&
		    strcmp(e->kind.resource, resource) == 0)
			res = &e->res;
	pthread_rwlock_unlock(&t->lock);
	return res;
}

size_t reg_resources(struct registry *reg, const struct api_resource ***out)
{
	struct reg_crds *t = reg ? reg->crds : NULL;
	const struct api_resource **v;
	size_t n = 0, cap = api_nresources;

	if (t)
		pthread_rwlock_rdlock(&t->lock);
	for (struct crd_entry *e = t ? t->head : NULL; e; e = e->next)
		cap += e->served;
	v = malloc((cap ? cap : 1) * sizeof(*v));
	for (size_t i = 0; v && i < api_nresources; i++)
		v[n++] = &api_resources[i];
	for (struct crd_entry *e = t ? t->head : NULL; v && e; e = e->next)
		if (e->served)
			v[n++] = &e->res;
	if (t)
		pthread_rwlock_unlock(&t->lock);
	*out = v;
	return v ? n : 0;
}

bool reg_group_version_served(struct registry *reg, const char *group, const char *version)
{
	struct reg_crds *t = reg ? reg->crds : NULL;
	bool found = false;

	for (size_t i = 0; i < api_nresources && !found; i++)
		found = strcmp(api_resources[i].kind->group, group) == 0 &&
			(!version || strcmp(api_resources[i].kind->version, version) == 0);
	if (found || !t)
		return found;
	pthread_rwlock_rdlock(&t->lock);
	for (struct crd_entry *e = t->head; e && !found; e = e->next)
		found = e->served && strcmp(e->kind.group, group) == 0 &&
			(!version || strcmp(e->kind.version, version) == 0);
	pthread_rwlock_unlock(&t->lock);
	return found;
}

const struct jv *reg_crd_schema(const struct api_resource *res)
{
	const struct crd_entry *e;

	if (!res || res->strategy != &api_strategy_crs)
		return NULL;
	e = (const struct crd_entry *)((const char *)res - offsetof(struct crd_entry, res));
	return e->schema;
}

bool reg_crd_scale_paths(const struct api_resource *res, const char **spec_replicas,
			 const char **status_replicas, const char **selector)
{
	const struct crd_entry *e;

	if (!res || res->strategy != &api_strategy_crs)
		return false;
	e = (const struct crd_entry *)((const char *)res - offsetof(struct crd_entry, res));
	*spec_replicas = e->spec_replicas;
	*status_replicas = e->status_replicas;
	*selector = e->selector;
	return true;
}

#define MAX_UNKNOWN 32

struct unknown_paths {
	char *p[MAX_UNKNOWN];
	size_t n;
};

static void note_unknown(void *arg, const char *path)
{
	struct unknown_paths *u = arg;

	if (u->n < MAX_UNKNOWN && (u->p[u->n] = strdup(path)))
		u->n++;
}

int reg_crd_check_fields(const struct api_resource *res, struct jv *obj,
			 enum k8s_field_validation fv, struct api_result *out)
{
	const struct jv *schema = reg_crd_schema(res);
	struct unknown_paths u = {0};
	bool refused;

	if (!schema || !obj || fv == K8S_FV_IGNORE)
		return 0;
	api_crs_unknown_fields(obj, schema, false, note_unknown, &u);
	api_decode_unknown_fields(out, res->kind, (const char *const *)u.p, u.n, fv);
	refused = u.n && fv == K8S_FV_STRICT;
	for (size_t i = 0; i < u.n; i++)
		free(u.p[i]);
	return refused ? -EINVAL : 0;
}

/* ---- definitions ---- */

static char **str_list(const struct jv *arr)
{
	size_t n = jv_count(arr), i = 0;
	char **l = calloc(n + 1, sizeof(*l));

	for (const struct jv *s = jv_first(arr); l && s; s = s->next)
		if (s->type == JV_STRING && !(l[i++] = strndup(s->s, s->len))) {
			free_list(l);
			return NULL;
		}
	return l;
}

static bool same_list(char **l, const struct jv *arr)
{
	const struct jv *s = jv_first(arr);
	size_t i = 0;

	for (; s && l && l[i]; s = s->next, i++)
		if (!jv_is_str(s, l[i]))
			return false;
	return !s && (!l || !l[i]);
}

struct crd_def {
	const char *owner, *group, *version, *kind, *plural, *singular, *list_kind;
	bool namespaced, status;
	const struct jv *short_names, *categories;
	const struct jv *schema, *printer;
	const struct jv *scale; /* subresources.scale, or NULL */
	/* the storage version's resource when this version is not it */
	const struct api_resource *storage;
};

static const char *scale_path(const struct jv *scale, const char *key)
{
	const char *p = jv_path_str(scale, key);

	return p ? p + (p[0] == '.') : NULL;
}

static bool same_path(const char *have, const struct jv *scale, const char *key)
{
	const char *p = scale_path(scale, key);

	return have && p ? strcmp(have, p) == 0 : !have && !p;
}

static bool entry_is(const struct crd_entry *e, const struct crd_def *d)
{
	return strcmp(e->owner, d->owner) == 0 && e->res.storage == d->storage &&
	       strcmp(e->kind.group, d->group) == 0 && strcmp(e->kind.version, d->version) == 0 &&
	       strcmp(e->kind.kind, d->kind) == 0 && strcmp(e->kind.resource, d->plural) == 0 &&
	       strcmp(e->kind.singular, d->singular) == 0 &&
	       strcmp(e->kind.list_kind, d->list_kind) == 0 &&
	       e->kind.cluster_scoped == !d->namespaced &&
	       ((e->res.flags & API_RES_STATUS) != 0) == d->status &&
	       ((e->res.flags & API_RES_SCALE) != 0) == (d->scale != NULL) &&
	       same_path(e->spec_replicas, d->scale, "specReplicasPath") &&
	       same_path(e->status_replicas, d->scale, "statusReplicasPath") &&
	       same_path(e->selector, d->scale, "labelSelectorPath") &&
	       same_list(e->short_names, d->short_names) &&
	       same_list(e->categories, d->categories) && jv_equal(e->schema, d->schema) &&
	       jv_equal(e->printer, d->printer);
}

/* The Table of a version with additionalPrinterColumns (apiextensions-apiserver's
 * tableconvertor.New): Name, then each column in order, its cell the value at its jsonPath (a
 * plain path: .spec.x; the creation timestamp as an age). */
static int printer_columns(struct crd_entry *e)
{
	size_t n = jv_count(e->printer) + 1, i = 1;
	char cell[600];

	e->columns = calloc(n, sizeof(*e->columns));
	if (!e->columns)
		return -ENOMEM;
	e->ncolumns = n;
	e->columns[0] = (struct api_column){.name = strdup("Name"),
					    .type = strdup("string"),
					    .format = strdup("name"),
					    .description = strdup(crd_columns[0].description),
					    .cell = strdup("name")};
	for (const struct jv *c = jv_first(e->printer); c; c = c->next, i++) {
		const char *path = jv_path_str(c, "jsonPath"), *type = jv_path_str(c, "type");
		int64_t prio = 0;

		path = path ? path + (path[0] == '.') : "";
		jv_path_int(c, "priority", &prio);
		if (strcmp(path, "metadata.creationTimestamp") == 0)
			snprintf(cell, sizeof(cell), "age");
		else
			snprintf(cell, sizeof(cell), "%s:%s",
				 type && strcmp(type, "boolean") == 0 ? "bool" : "str", path);
		e->columns[i] = (struct api_column){
		    .name = strdup(jv_path_str(c, "name") ? jv_path_str(c, "name") : ""),
		    .type = strdup(type ? type : "string"),
		    .format = strdup(jv_path_str(c, "format") ? jv_path_str(c, "format") : ""),
		    .description =
			strdup(jv_path_str(c, "description") ? jv_path_str(c, "description") : ""),
		    .priority = (int)prio,
		    .cell = strdup(cell)};
	}
	for (i = 0; i < n; i++)
		if (!e->columns[i].name || !e->columns[i].type || !e->columns[i].format ||
		    !e->columns[i].description || !e->columns[i].cell)
			return -ENOMEM;
	return 0;
}

/* Conversion None (apiextensions-apiserver's nopConverter): a version's objects are the
 * storage version's with another apiVersion. */
static void cr_to_storage(const struct api_resource *res, struct jv_doc *d, struct jv *obj)
{
	jv_set(d, obj, "apiVersion", jv_new_strz(d, res->storage->kind->api_version));
}

static void cr_from_storage(const struct api_resource *res, struct jv_doc *d, struct jv *obj)
{
	jv_set(d, obj, "apiVersion", jv_new_strz(d, res->kind->api_version));
}

static struct crd_entry *entry_new(const struct crd_def *d)
{
	struct crd_entry *e = calloc(1, sizeof(*e));
	const char *src[8] = {d->group,	 d->version,  d->kind,	    NULL,
			      d->plural, d->singular, d->list_kind, NULL};
	char apiv[300], key[300];
	size_t nsubs = 0;

	if (!e)
		return NULL;
	snprintf(apiv, sizeof(apiv), "%s/%s", d->group, d->version);
	/* the CRD's own name: <plural>.<group>, as the built-in resources' keys are named */
	snprintf(key, sizeof(key), "%s.%s", d->plural, d->group);
	src[3] = apiv;
	src[7] = key;
	for (size_t i = 0; i < 8; i++)
		if (!(e->strs[i] = strdup(src[i])))
			goto fail;
	e->owner = strdup(d->owner);
	e->short_names = str_list(d->short_names);
	e->categories = str_list(d->categories);
	if (!e->owner || !e->short_names || !e->categories)
		goto fail;
	if (d->schema || d->printer) {
		e->schema_doc = jv_doc_new();
		if (!e->schema_doc)
			goto fail;
	}
	if (d->schema && !(e->schema = jv_copy(e->schema_doc, d->schema)))
		goto fail;
	if (d->printer && !(e->printer = jv_copy(e->schema_doc, d->printer)))
		goto fail;
	if (e->printer && printer_columns(e) != 0)
		goto fail;
	e->kind = (struct k8s_kind){.group = e->strs[0],
				    .version = e->strs[1],
				    .kind = e->strs[2],
				    .api_version = e->strs[3],
				    .resource = e->strs[4],
				    .singular = e->strs[5],
				    .list_kind = e->strs[6],
				    .cluster_scoped = !d->namespaced,
				    .flags = K8S_KIND_RESOURCE};
	if (d->status)
		e->subs[nsubs++] = (struct api_subresource){.name = "status",
							    .group = e->strs[0],
							    .version = e->strs[1],
							    .kind = e->strs[2],
							    .verbs = API_VERB_GET | API_VERB_PATCH |
								     API_VERB_UPDATE};
	if (d->scale) {
		e->subs[nsubs++] = (struct api_subresource){.name = "scale",
							    .group = "autoscaling",
							    .version = "v1",
							    .kind = "Scale",
							    .verbs = API_VERB_GET | API_VERB_PATCH |
								     API_VERB_UPDATE};
		if (scale_path(d->scale, "specReplicasPath") &&
		    !(e->spec_replicas = strdup(scale_path(d->scale, "specReplicasPath"))))
			goto fail;
		if (scale_path(d->scale, "statusReplicasPath") &&
		    !(e->status_replicas = strdup(scale_path(d->scale, "statusReplicasPath"))))
			goto fail;
		if (scale_path(d->scale, "labelSelectorPath") &&
		    !(e->selector = strdup(scale_path(d->scale, "labelSelectorPath"))))
			goto fail;
	}
	e->res = (struct api_resource){
	    .kind = &e->kind,
	    .key = e->strs[7],
	    .verbs = API_VERB_CREATE | API_VERB_DELETE | API_VERB_DELETECOLLECTION | API_VERB_GET |
		     API_VERB_LIST | API_VERB_PATCH | API_VERB_UPDATE | API_VERB_WATCH,
	    .short_names = (const char *const *)e->short_names,
	    .categories = (const char *const *)e->categories,
	    .subresources = nsubs ? e->subs : NULL,
	    .nsubresources = nsubs,
	    .columns = e->columns ? e->columns : crd_columns,
	    .ncolumns = e->columns ? e->ncolumns : sizeof(crd_columns) / sizeof(crd_columns[0]),
	    .flags = API_RES_GENERATION | (d->status ? API_RES_STATUS : 0) |
		     (d->scale ? API_RES_SCALE : 0),
	    .strategy = &api_strategy_crs,
	    .storage = d->storage,
	    .to_storage = d->storage ? cr_to_storage : NULL,
	    .from_storage = d->storage ? cr_from_storage : NULL,
	};
	return e;
fail:
	entry_free(e);
	return NULL;
}

static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

static bool established(const struct jv *crd)
{
	for (const struct jv *c = jv_first(jv_path(crd, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "Established"))
			return jv_is_str(jv_get(c, "status"), "True");
	return false;
}

/* Serve one version of crd (under t's write lock); *out: its entry (served or not: the storage
 * version is made for the others to convert to even when it is not served). */
static int define(struct reg_crds *t, const struct jv *crd, const struct jv *v,
		  const struct api_resource *storage, struct crd_entry **out)
{
	const struct jv *acc = jv_path(crd, "status.acceptedNames");
	struct crd_def d = {
	    .owner = jv_path_str(crd, "metadata.name"),
	    .group = jv_path_str(crd, "spec.group"),
	    .version = jv_path_str(v, "name"),
	    .kind = jv_path_str(acc, "kind"),
	    .plural = jv_path_str(acc, "plural"),
	    .singular = jv_path_str(acc, "singular"),
	    .list_kind = jv_path_str(acc, "listKind"),
	    .namespaced = jv_is_str(jv_path(crd, "spec.scope"), "Namespaced"),
	    .status = jv_path(v, "subresources.status") != NULL,
	    .scale = jv_path(v, "subresources.scale"),
	    .storage = storage,
	    .short_names = jv_get(acc, "shortNames"),
	    .categories = jv_get(acc, "categories"),
	    .schema = jv_path(v, "schema.openAPIV3Schema"),
	    .printer = jv_first(jv_get(v, "additionalPrinterColumns"))
			   ? jv_get(v, "additionalPrinterColumns")
			   : NULL,
	};
	struct crd_entry *e;

	*out = NULL;
	if (!d.owner || !d.group || !d.version || !d.kind || !d.plural || !d.singular ||
	    !d.list_kind)
		return 0;
	for (e = t->head; e; e = e->next)
		if (entry_is(e, &d))
			break;
	if (!e) {
		e = entry_new(&d);
		if (!e)
			return -ENOMEM;
		*t->tail = e;
		t->tail = &e->next;
	}
	/* a built-in resource's store key is not a custom resource's */
	for (size_t i = 0; i < api_nresources; i++)
		if (strcmp(api_resources[i].key, e->res.key) == 0)
			return 0;
	e->served = is_true(jv_get(v, "served"));
	*out = e;
	return 0;
}

int reg_crd_serve(struct registry *reg, const struct jv *crd, bool deleted)
{
	struct reg_crds *t = reg->crds;
	const char *name = jv_path_str(crd, "metadata.name");
	const struct api_resource *gone[64]; /* its entries served no more */
	size_t ngone = 0;
	int err = 0;

	if (!t || !name)
		return 0;
	pthread_rwlock_wrlock(&t->lock);
	for (struct crd_entry *e = t->head; e; e = e->next) {
		e->was_served = e->served;
		if (strcmp(e->owner, name) == 0)
			e->served = false;
	}
	if (!deleted && established(crd) && !jv_path(crd, "metadata.deletionTimestamp")) {
		const struct jv *sv = NULL;
		struct crd_entry *se = NULL, *e;

		for (const struct jv *v = jv_first(jv_path(crd, "spec.versions")); v; v = v->next)
			if (is_true(jv_get(v, "storage")))
				sv = v;
		if (sv)
			err = define(t, crd, sv, NULL, &se);
		for (const struct jv *v = jv_first(jv_path(crd, "spec.versions")); se && v && !err;
		     v = v->next)
			if (v != sv && is_true(jv_get(v, "served")))
				err = define(t, crd, v, &se->res, &e);
	}
	/* the watches of what is served no more end, as apiextensions-apiserver's storage of a
	 * changed or deleted CRD ends them (after the lock: entries live as long as the
	 * registry) */
	for (struct crd_entry *e = t->head; e; e = e->next)
		if (e->was_served && !e->served && strcmp(e->owner, name) == 0 && ngone < 64)
			gone[ngone++] = &e->res;
	pthread_rwlock_unlock(&t->lock);
	atomic_store(&t->gen, atomic_fetch_add(&next_gen, 1) + 1);
	for (size_t i = 0; i < ngone; i++)
		reg_hub_end_resource(reg, gone[i]);
	if (err)
		log_warn(COMP, "%s: cannot serve its resources: %s", name, strerror(-err));
	return err;
}

int reg_crds_load(struct registry *reg)
{
	const struct api_resource *res =
	    api_resource_find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
	struct store_list l = {0};
	struct jv_doc *d;
	int err;

	if (!res || !reg->crds)
		return 0;
	err = api_list_all(reg->store, res, NULL, 0, &l);
	if (err)
		return err;
	d = jv_doc_new();
	for (size_t i = 0; d && i < l.count; i++) {
		struct jv *o =
		    api_load_object(d, l.items[i].value, l.items[i].value_len, l.items[i].mod_rev);

		if (o)
			reg_crd_serve(reg, o, false);
	}
	jv_doc_free(d);
	store_list_free(&l);
	return d ? 0 : -ENOMEM;
}

int reg_crd_purge(struct registry *reg, const struct jv *crd)
{
	const char *name = jv_path_str(crd, "metadata.name");
	struct store_list_opts lo = {0};
	struct store_list l = {0};
	char prefix[512];
	int n, err;

	if (!name)
		return 0;
	/* every version's objects are under the CRD's name (entry_new's key) */
	n = snprintf(prefix, sizeof(prefix), "/registry/%s/", name);
	if (n < 0 || (size_t)n >= sizeof(prefix))
		return -ENAMETOOLONG;
	lo.prefix = prefix;
	lo.prefix_len = (size_t)n;
	err = store_list(reg->store, &lo, &l);
	for (size_t i = 0; !err && i < l.count; i++) {
		int e = store_delete(reg->store, l.items[i].key, l.items[i].key_len, 0, NULL);

		if (e && e != -ENOENT)
			err = e;
	}
	store_list_free(&l);
	if (err)
		log_warn(COMP, "%s: cannot delete its custom resources: %s", name,
			 store_strerror(err));
	return err;
}
