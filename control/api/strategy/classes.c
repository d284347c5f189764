/* SPDX-License-Identifier: Apache-2.0 */
/*
 * classes: the REST strategies of networking.k8s.io/v1 IngressClasses and node.k8s.io/v1
 * RuntimeClasses (pkg/registry/networking/ingressclass, pkg/registry/node/runtimeclass),
 * with the rules of pkg/apis/networking/validation (ValidateIngressClass[Update]) and
 * pkg/apis/node/validation (ValidateRuntimeClass[Update]): the controller and the handler a
 * class names are checked and never change.
 */
#include <string.h>

#include "api_selector.h"
#include "api_strategy.h"

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
