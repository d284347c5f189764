/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootstrap: what a new cluster holds before anyone writes to it, as kube-apiserver's
 * bootstrap controllers make it: the namespaces default, kube-system, kube-public and
 * kube-node-lease (each with its default ServiceAccount) and the kubernetes Service on the
 * first address of the service range. At every start, the allocations of the stored
 * Services are marked held again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alloc.h"
#include "api_int.h"
#include "log.h"

#define COMP "bootstrap"

#define EACH(it, arr)                                                                         \
	for (const struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

static int reload_allocations(struct api_server *s)
{
	const struct api_resource *svc = api_resource_find("", "v1", "services");
	struct store_list l;
	int err = api_list_all(s, svc, NULL, 0, &l);
	if (err)
		return err;
	for (size_t i = 0; i < l.count; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *o =
		    d ? api_load_object(d, l.items[i].value, l.items[i].value_len, 0) : NULL;
		const char *ip = jv_path_str(o, "spec.clusterIP");

		if (ip && ip[0] && strcmp(ip, "None") != 0 && !api_alloc_ip_mark(s, ip))
			log_warn(COMP, "ClusterIP %s is held by two Services", ip);
		EACH(p, jv_path(o, "spec.ports"))
		{
			int64_t np = 0;

			if (jv_path_int(p, "nodePort", &np) == 0 && np &&
			    !api_alloc_port_mark(s, (int)np))
				log_warn(COMP, "NodePort %lld is held by two Services",
					 (long long)np);
		}
		jv_doc_free(d);
	}
	store_list_free(&l);
	return 0;
}

static bool exists(struct api_server *s, const struct api_resource *res, const char *ns,
		   const char *name)
{
	struct store_kv kv = {0};
	char key[512];
	bool found;

	api_key(res, ns, name, key, sizeof(key));
	found = store_get(s->store, key, strlen(key), 0, &kv) == 0;
	store_kv_release(&kv);
	return found;
}

int api_bootstrap(struct api_server *s)
{
	static const char *const namespaces[] = {"default", "kube-system", "kube-public",
						 "kube-node-lease"};
	const struct api_resource *nsres = api_resource_find("", "v1", "namespaces");
	const struct api_resource *svc = api_resource_find("", "v1", "services");
	char body[1024], ip[16];
	unsigned code;
	int err = reload_allocations(s);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		if (exists(s, nsres, NULL, namespaces[i]))
			continue;
		snprintf(
		    body, sizeof(body),
		    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		    namespaces[i]);
		code = api_internal_create(s, nsres, NULL, body);
		if (code != 201 && code != 409) {
			log_error(COMP, "namespace %s: HTTP %u", namespaces[i], code);
			return -EIO;
		}
	}
	if (!exists(s, svc, "default", "kubernetes")) {
		api_alloc_ip_nth(s, 1, ip);
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
			 "\"kubernetes\",\"namespace\":\"default\",\"labels\":{\"component\":"
			 "\"apiserver\",\"provider\":\"kubernetes\"}},\"spec\":{\"type\":"
			 "\"ClusterIP\",\"clusterIP\":\"%s\",\"ports\":[{\"name\":\"https\","
			 "\"port\":443,\"protocol\":\"TCP\",\"targetPort\":6443}]}}",
			 ip);
		code = api_internal_create(s, svc, "default", body);
		if (code != 201 && code != 409) {
			log_error(COMP, "service kubernetes: HTTP %u", code);
			return -EIO;
		}
	}
	return 0;
}
