/* SPDX-License-Identifier: Apache-2.0 */
/*
 * namespace: what the namespace controller and the ServiceAccount controller do for a
 * namespace, done by the server until drover has those controllers: a new namespace gets
 * its default ServiceAccount; a namespace being deleted has its content deleted, and goes
 * (its "kubernetes" finalizer removed) once nothing is left in it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_handler.h"
#include "log.h"

#define COMP "namespace"

/* A request made by the server to itself (no connection): the full write path. */
static unsigned internal(struct api_server *s, enum api_method m, const struct api_resource *res,
			 const char *ns, const char *name, const char *body)
{
	struct api_req r = {.srv = s, .method = m};
	unsigned code;

	r.rt.type = ROUTE_RESOURCE;
	r.rt.res = res;
	r.rt.ns = ns;
	r.rt.name = name;
	r.args[0].key = (char *)"fieldManager";
	r.args[0].value = (char *)"drover-server";
	r.nargs = 1;
	if (body)
		k8s_buf_puts(&r.body, body);
	api_serve_resource(&r);
	code = r.code;
	free(r.out);
	k8s_buf_free(&r.body);
	k8s_buf_free(&r.warnings);
	return code;
}

unsigned api_internal_create(struct api_server *s, const struct api_resource *res, const char *ns,
			     const char *body)
{
	return internal(s, API_M_POST, res, ns, NULL, body);
}

void api_ns_created(struct api_server *s, const char *ns)
{
	const struct api_resource *sa = api_resource_find("", "v1", "serviceaccounts");
	char body[512];
	unsigned code;

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":"
		 "\"default\",\"namespace\":\"%s\"}}",
		 ns);
	code = internal(s, API_M_POST, sa, ns, NULL, body);
	if (code != 201 && code != 409)
		log_warn(COMP, "namespace %s: default ServiceAccount: HTTP %u", ns, code);
}

/* Is anything of a namespaced resource left in ns? */
static bool ns_empty(struct api_server *s, const char *ns)
{
	for (size_t i = 0; i < api_nresources; i++) {
		const struct api_resource *res = &api_resources[i];
		struct store_list l;
		bool any;

		/* (a version served by conversion shares its storage version's objects) */
		if (!api_resource_namespaced(res) || !(res->verbs & API_VERB_LIST) || res->storage)
			continue;
		if (api_list_all(s, res, ns, 1, &l) != 0)
			return false;
		any = l.count > 0;
		store_list_free(&l);
		if (any)
			return false;
	}
	return true;
}

void api_ns_maybe_finish(struct api_server *s, const char *ns)
{
	const struct api_resource *nsres = api_resource_find("", "v1", "namespaces");
	struct store_kv kv = {0};
	struct jv_doc *d;
	struct jv *o;
	char key[512];

	api_key(nsres, NULL, ns, key, sizeof(key));
	if (store_get(s->store, key, strlen(key), 0, &kv) != 0)
		return;
	d = jv_doc_new();
	o = d ? api_load_object(d, kv.value, kv.value_len, 0) : NULL;
	if (o && jv_path(o, "metadata.deletionTimestamp") && ns_empty(s, ns) &&
	    !jv_count(jv_path(o, "metadata.finalizers")))
		store_delete(s->store, key, strlen(key), kv.mod_rev, NULL);
	jv_doc_free(d);
	store_kv_release(&kv);
}

void api_ns_terminate(struct api_server *s, const char *ns)
{
	for (size_t i = 0; i < api_nresources; i++) {
		const struct api_resource *res = &api_resources[i];
		struct store_list l;

		if (!api_resource_namespaced(res) || !(res->verbs & API_VERB_DELETE) ||
		    res->storage)
			continue;
		if (api_list_all(s, res, ns, 0, &l) != 0)
			continue;
		for (size_t j = 0; j < l.count; j++) {
			struct api_req r = {.srv = s};
			struct hctx c = {.r = &r, .srv = s, .res = res, .ns = ns};
			struct jv *o;
			char key[1024];

			c.d = jv_doc_new();
			o = c.d ? api_load_object(c.d, l.items[j].value, l.items[j].value_len,
						  l.items[j].mod_rev)
				: NULL;
			if (o) {
				c.name = jv_path_str(o, "metadata.name");
				snprintf(key, sizeof(key), "%.*s", (int)l.items[j].key_len,
					 (const char *)l.items[j].key);
				api_h_delete_object(&c, key, o, l.items[j].mod_rev, NULL, false);
			}
			jv_doc_free(c.d);
			free(r.out);
			k8s_buf_free(&r.warnings);
		}
		store_list_free(&l);
	}
	api_ns_maybe_finish(s, ns);
}
