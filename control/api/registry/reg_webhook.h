/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_webhook: what the admission webhooks' dispatch (reg_webhook.c) and their call
 * (reg_webhook_call.c) share: one webhook of a configuration, the configurations' snapshot,
 * and the attributes of the write being admitted (admission.Attributes).
 */
#ifndef DROVER_REG_WEBHOOK_H
#define DROVER_REG_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reg_int.h"

struct wh_hook {
	const char *config; /* its configuration's name */
	const struct jv *w; /* the webhook, as stored (defaults set) */
	size_t idx;	    /* its place in the configuration */
	bool mutating;
	int ca_fd; /* a memfd holding clientConfig.caBundle (PEM), or -1: the system's roots */
};

/* The configurations as read at webhook_gen gen: the mutating webhooks first
 * (hooks[0..nmutating)), then the validating ones, each by configuration name and order. */
struct wh_snap {
	unsigned refs; /* under reg_webhooks.lock */
	uint64_t gen;
	struct jv_doc *d;
	struct wh_hook *hooks;
	size_t n, nmutating;
};

struct wh_attr {
	struct reg_call *c;
	const char *op;	      /* CREATE, UPDATE, DELETE */
	struct jv *obj;	      /* the new object, stored version (NULL: delete) */
	const struct jv *old; /* the stored object (NULL: create) */
	const struct reg_delete_opts *dopts;
	const struct api_resource *req; /* the resource as requested */
	const char *sub, *ns, *name;	/* ns: a Namespace's own name for a Namespace */
	bool is_namespace;		/* the write is of a Namespace itself */
	struct jv *ns_obj;		/* the namespace as stored, once read */
};

/* The attributes of a write (a generated name is none yet; a Namespace's own namespace). */
void reg_wh_attr_init(struct wh_attr *a, struct reg_call *c, const char *op, struct jv *obj,
		      const struct jv *old, const struct reg_delete_opts *dopts);
/* The write's namespace as stored, read once into a->ns_obj; NULL when it is missing. */
const struct jv *reg_wh_namespace(struct wh_attr *a);
/* rules.IsExemptAdmissionConfigurationResource: admission's own configuration */
bool reg_wh_exempt(const struct wh_attr *a);
/* Whether the write matches m's rules (m's member named rules: a webhook's "rules", a
 * policy's "resourceRules"), matchPolicy, namespaceSelector and objectSelector: *res the
 * version matched, NULL when not; -ENOENT when the namespace is missing. */
int reg_wh_match(struct wh_attr *a, const struct jv *m, const char *rules,
		 const struct api_resource **res);
/* 404: the write's namespace is not there (MatchNamespaceSelector's answer) */
void reg_wh_fail_ns_missing(struct wh_attr *a);

/* A memfd holding the webhook's clientConfig.caBundle decoded, or -1 (none, or it cannot be
 * decoded: the call then fails verification against the system's roots). */
int reg_wh_ca_fd(const struct jv *w);

/* Call webhook h for a, its rules matched in version res (round 1: a reinvocation), and act on
 * its answer as the dispatchers do: a mutating webhook's patch applied to a->obj (*changed
 * says whether it changed it), warnings added to the result. 0 (admitted, or a failed call of
 * a failurePolicy Ignore webhook), or -EPERM with the result set. */
int reg_wh_call(struct wh_attr *a, const struct wh_hook *h, const struct api_resource *res,
		int round, bool *changed);

#endif
