/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootstrap: what a new cluster holds before anyone writes to it, as kube-apiserver's
 * bootstrap controllers make it: the namespaces default, kube-system, kube-public and
 * kube-node-lease, the system PriorityClasses, and the kubernetes Service on the first
 * address of the service range;
 * created through the registry like any client's objects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alloc.h"
#include "log.h"
#include "reg_int.h"

#define COMP "bootstrap"

/* Create body as an object of res in ns unless it exists. 0 or -EIO. */
static int ensure(struct registry *reg, const struct api_resource *res, const char *ns,
		  const char *body)
{
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = res, .ns = ns, .manager = "drover-server", .d = d};
	struct api_result out = {0};
	struct jv *o = d ? jv_parse(d, body, strlen(body), NULL) : NULL;
	int err = 0;

	if (!o) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	rq.name = jv_path_str(o, "metadata.name");
	if (reg_get(reg, &rq, false, &out) == 0) {
		/* there already (a restart): nothing to do */
		api_result_free(&out);
		jv_doc_free(d);
		return 0;
	}
	api_result_free(&out);
	rq.name = NULL;
	if (reg_create(reg, &rq, o, &out) != 0 && out.code != 409) {
		log_error(COMP, "%s %s: %u %s", res->kind->resource,
			  jv_path_str(o, "metadata.name") ?: "", out.code,
			  out.message ? out.message : "");
		err = -EIO;
	}
	api_result_free(&out);
	jv_doc_free(d);
	return err;
}

/* The kubernetes Service's targetPort, set to port if it is another. */
static int reconcile_port(struct registry *reg, const struct api_resource *svc, uint16_t port)
{
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {
	    .res = svc, .ns = "default", .name = "kubernetes", .manager = "drover-server", .d = d};
	struct api_result out = {0};
	int64_t have = 0;
	char patch[160];
	int err = 0;

	if (!d)
		return -ENOMEM;
	if (reg_get(reg, &rq, true, &out) == 0 &&
	    jv_path_int(out.obj, "spec.ports[0].targetPort", &have) == 0 && have != port) {
		api_result_free(&out);
		snprintf(patch, sizeof(patch),
			 "{\"spec\":{\"ports\":[{\"port\":443,\"targetPort\":%u}]}}", port);
		if (reg_patch(reg, &rq, API_PATCH_STRATEGIC, patch, strlen(patch), &out) != 0) {
			log_error(COMP, "service kubernetes: targetPort %u: %s", port,
				  out.message ? out.message : "");
			err = -EIO;
		}
	}
	api_result_free(&out);
	jv_doc_free(d);
	return err;
}

int reg_bootstrap(struct registry *reg, uint16_t port)
{
	static const char *const namespaces[] = {"default", "kube-system", "kube-public",
						 "kube-node-lease"};
	const struct api_resource *nsres = api_resource_find("", "v1", "namespaces");
	const struct api_resource *svc = api_resource_find("", "v1", "services");
	const struct api_resource *pcres =
	    api_resource_find("scheduling.k8s.io", "v1", "priorityclasses");
	char body[1024], ip[16];
	int err;

	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		snprintf(
		    body, sizeof(body),
		    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		    namespaces[i]);
		err = ensure(reg, nsres, NULL, body);
		if (err)
			return err;
	}
	/* the system PriorityClasses (storage_scheduling.go's AddSystemPriorityClasses) */
	for (size_t i = 0; pcres && i < api_nsystem_priority_classes; i++) {
		const struct api_system_priority_class *pc = &api_system_priority_classes[i];

		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"scheduling.k8s.io/v1\",\"kind\":\"PriorityClass\","
			 "\"metadata\":{\"name\":\"%s\"},\"value\":%lld,\"description\":\"%s\"}",
			 pc->name, (long long)pc->value, pc->description);
		err = ensure(reg, pcres, NULL, body);
		if (err)
			return err;
	}
	api_alloc_ip_nth(reg->alloc, 1, ip);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
		 "\"kubernetes\",\"namespace\":\"default\",\"labels\":{\"component\":"
		 "\"apiserver\",\"provider\":\"kubernetes\"}},\"spec\":{\"type\":"
		 "\"ClusterIP\",\"clusterIP\":\"%s\",\"ports\":[{\"name\":\"https\","
		 "\"port\":443,\"protocol\":\"TCP\",\"targetPort\":%u}]}}",
		 ip, port ? port : 6443);
	err = ensure(reg, svc, "default", body);
	return err ? err : reconcile_port(reg, svc, port ? port : 6443);
}
