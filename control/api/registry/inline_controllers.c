/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inline_controllers: what the namespace and garbage-collector controllers do, still run
 * inline by the registry's writes until those controllers run as clients of it
 * (control/controllers/). Nothing new goes here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reg_int.h"

#define COMP "registry"

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

static bool has_finalizer(const struct jv *obj, const char *f)
{
	for (const struct jv *i = jv_first(jv_path(obj, "metadata.finalizers")); i; i = i->next)
		if (jv_is_str(i, f))
			return true;
	return false;
}

void reg_gc_finalizers(struct reg_call *c, struct jv *obj)
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

		if (!(res->verbs & API_VERB_LIST) || res->storage ||
		    reg_list_all(c->reg, res, api_resource_namespaced(res) ? ns : NULL, 0, &l) != 0)
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
				struct reg_call sub = *c;
				char key[1024];

				sub.res = res;
				sub.strategy = api_strategy_of(res);
				sub.d = d;
				sub.name = jv_path_str(dep, "metadata.name");
				snprintf(key, sizeof(key), "%.*s", (int)l.items[j].key_len,
					 (const char *)l.items[j].key);
				if (orphan) {
					size_t len;
					char *json = api_store_json(dep, res->kind, &len);

					if (json)
						store_update(c->reg->store, key, strlen(key), json,
							     len, l.items[j].mod_rev, NULL);
					free(json);
				} else {
					reg_delete_object(&sub, key, dep, l.items[j].mod_rev, NULL,
							  false);
				}
			}
			jv_doc_free(d);
		}
		store_list_free(&l);
	}
	remove_finalizer(obj, "orphan");
	remove_finalizer(obj, "foregroundDeletion");
}

/* Is anything of a namespaced resource left in ns? */
static bool ns_empty(struct registry *reg, const char *ns)
{
	for (size_t i = 0; i < api_nresources; i++) {
		const struct api_resource *res = &api_resources[i];
		struct store_list l;
		bool any;

		if (!api_resource_namespaced(res) || !(res->verbs & API_VERB_LIST) || res->storage)
			continue;
		if (reg_list_all(reg, res, ns, 1, &l) != 0)
			return false;
		any = l.count > 0;
		store_list_free(&l);
		if (any)
			return false;
	}
	return true;
}

static void ns_maybe_finish(struct registry *reg, const char *ns)
{
	const struct api_resource *nsres = api_resource_find("", "v1", "namespaces");
	struct store_kv kv = {0};
	struct jv_doc *d;
	struct jv *o;
	char key[512];

	api_key(nsres, NULL, ns, key, sizeof(key));
	if (store_get(reg->store, key, strlen(key), 0, &kv) != 0)
		return;
	d = jv_doc_new();
	o = d ? api_load_object(d, kv.value, kv.value_len, 0) : NULL;
	if (o && jv_path(o, "metadata.deletionTimestamp") && ns_empty(reg, ns) &&
	    !jv_count(jv_path(o, "metadata.finalizers")))
		store_delete(reg->store, key, strlen(key), kv.mod_rev, NULL);
	jv_doc_free(d);
	store_kv_release(&kv);
}

static void ns_terminate(struct reg_call *c, const char *ns)
{
	for (size_t i = 0; i < api_nresources; i++) {
		const struct api_resource *res = &api_resources[i];
		struct store_list l;

		if (!api_resource_namespaced(res) || !(res->verbs & API_VERB_DELETE) ||
		    res->storage)
			continue;
		if (reg_list_all(c->reg, res, ns, 0, &l) != 0)
			continue;
		for (size_t j = 0; j < l.count; j++) {
			struct api_result out = {0};
			struct reg_call sub = *c;
			struct jv *o;
			char key[1024];

			sub.res = res;
			sub.strategy = api_strategy_of(res);
			sub.d = jv_doc_new();
			sub.out = &out;
			o = sub.d ? api_load_object(sub.d, l.items[j].value, l.items[j].value_len,
						    l.items[j].mod_rev)
				  : NULL;
			if (o) {
				sub.name = jv_path_str(o, "metadata.name");
				snprintf(key, sizeof(key), "%.*s", (int)l.items[j].key_len,
					 (const char *)l.items[j].key);
				reg_delete_object(&sub, key, o, l.items[j].mod_rev, NULL, false);
			}
			jv_doc_free(sub.d);
			api_result_free(&out);
		}
		store_list_free(&l);
	}
	ns_maybe_finish(c->reg, ns);
}

void reg_after_hold(struct reg_call *c, struct jv *obj)
{
	if (!c->dry_run && c->res->kind->cluster_scoped && c->strategy == &api_strategy_namespaces)
		ns_terminate(c, jv_path_str(obj, "metadata.name"));
}

void reg_after_delete(struct reg_call *c, struct jv *obj)
{
	const char *ns = jv_path_str(obj, "metadata.namespace");

	if (!c->dry_run && ns && !c->res->kind->cluster_scoped)
		ns_maybe_finish(c->reg, ns);
}
