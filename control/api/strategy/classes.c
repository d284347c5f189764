/* SPDX-License-Identifier: Apache-2.0 */
/*
 * classes: the REST strategies of networking.k8s.io/v1 IngressClasses and node.k8s.io/v1
 * RuntimeClasses (pkg/registry/networking/ingressclass, pkg/registry/node/runtimeclass),
 * with the rules of pkg/apis/networking/validation (ValidateIngressClass[Update]) and
 * pkg/apis/node/validation (ValidateRuntimeClass[Update]): the controller and the handler a
 * class names are checked and never change. And the admission plugin that gives a new
 * PersistentVolumeClaim that names no class the default StorageClass (DefaultStorageClass,
 * in kube-apiserver's default chain).
 */
#include <stdio.h>
#include <string.h>

#include "api_obj.h"
#include "api_selector.h"
#include "api_strategy.h"
#include "kinds.h"
#include "registry.h"

/* validateIngressClassSpec: spec.controller is a domain-prefixed path of at most 250
 * characters (IsDomainPrefixedPath); validateIngressClassSpecUpdate: it is immutable. */
static void ingressclass_validate(struct api_admit *a)
{
	const struct jv *ctl = jv_path(a->obj, "spec.controller");
	const char *slash;

	if (!ctl || ctl->type != JV_STRING || !ctl->len) {
		api_cause_required(a, "spec.controller", NULL);
	} else if (ctl->len > 250) {
		api_cause(a, "spec.controller", "FieldValueTooLong",
			  "Too long: may not be more than 250 bytes");
	} else if (!(slash = strchr(ctl->s, '/')) || slash == ctl->s) {
		api_cause_invalid(a, "spec.controller", ctl,
				  "must be a domain-prefixed path (such as \"acme.io/foo\")");
	} else {
		const char *why = api_dns1123_subdomain_error_n(ctl->s, (size_t)(slash - ctl->s));

		if (why)
			api_cause_invalid(a, "spec.controller", ctl, why);
	}
	if (a->old && !jv_equal(ctl, jv_path(a->old, "spec.controller")))
		api_cause_invalid(a, "spec.controller", ctl, "field is immutable");
}

const struct api_strategy api_strategy_ingressclasses = {
    .validate = ingressclass_validate,
};

/* ValidateRuntimeClass: handler is a DNS label; ValidateRuntimeClassUpdate: immutable. */
static void runtimeclass_validate(struct api_admit *a)
{
	const struct jv *h = jv_get(a->obj, "handler");
	const char *why = api_dns1123_label_error(h && h->type == JV_STRING ? h->s : "");

	if (why)
		api_cause_invalid(a, "handler", h, why);
	if (a->old && !jv_equal(h, jv_get(a->old, "handler")))
		api_cause_invalid(a, "handler", h, "field is immutable");
}

const struct api_strategy api_strategy_runtimeclasses = {
    .validate = runtimeclass_validate,
};

/* ---- the admission plugins that name the default class ---- */

/* util.GetDefaultClass: among the objects of res whose annotation
 * (or beta annotation) is "true", the newest (creationTimestamp), then the first by name;
 * copied into buf. false when none is. */
static bool default_class(struct api_admit *a, const struct api_resource *res, const char *ann,
			  const char *beta, char *buf, size_t size)
{
	struct store_list l = {0};
	int64_t best = -1;
	bool found = false;

	if (!res || !a->reg || api_list_all(a->reg->store, res, NULL, 0, &l) != 0)
		return false;
	for (size_t i = 0; i < l.count; i++) {
		struct jv *o = api_load_object(a->d, l.items[i].value, l.items[i].value_len,
					       l.items[i].mod_rev);
		const struct jv *anns = jv_path(o, "metadata.annotations");
		const char *name = jv_path_str(o, "metadata.name");
		int64_t ts;

		if (!name || !(jv_is_str(jv_get(anns, ann), "true") ||
			       (beta && jv_is_str(jv_get(anns, beta), "true"))))
			continue;
		ts = api_parse_time(jv_path_str(o, "metadata.creationTimestamp"));
		if (ts > best || (ts == best && strcmp(name, buf) < 0)) {
			best = ts;
			snprintf(buf, size, "%s", name);
			found = true;
		}
	}
	store_list_free(&l);
	return found;
}

/* plugin/pkg/admission/storage/storageclass/setdefault (DefaultStorageClass): a new claim
 * that names no class (neither spec.storageClassName nor the beta annotation) gets the
 * default StorageClass, when there is one. */
void api_admit_default_storage_class(struct api_admit *a)
{
	char name[256] = "";

	if (a->old || a->sub || jv_path(a->obj, "spec.storageClassName") ||
	    jv_get(jv_path(a->obj, "metadata.annotations"),
		   "volume.beta.kubernetes.io/storage-class"))
		return;
	if (default_class(a, api_resource_find("storage.k8s.io", "v1", "storageclasses"),
			  "storageclass.kubernetes.io/is-default-class",
			  "storageclass.beta.kubernetes.io/is-default-class", name, sizeof(name)))
		jv_set(a->d, jv_obj_at(a->d, a->obj, "spec"), "storageClassName",
		       jv_new_strz(a->d, name));
}
