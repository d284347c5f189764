/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_int: what the files of the registry share: one call in progress (struct reg_call: the
 * resource as stored and as requested, the object's key, the doc, the result being built) and
 * the steps every verb uses (load, convert, answer).
 */
#ifndef DROVER_REG_INT_H
#define DROVER_REG_INT_H

#include "api_obj.h"
#include "api_strategy.h"
#include "registry.h"

struct reg_call {
	struct registry *reg;
	const struct reg_req *rq;
	const struct api_resource *res;	 /* the stored resource */
	const struct api_resource *wire; /* the version requested when res serves it by
					  * conversion (res == wire->storage), else NULL */
	const struct api_strategy *strategy;
	const char *ns, *name, *sub;
	struct jv_doc *d;
	char key[1024];
	bool dry_run;
	const char *manager;
	struct api_result *out;
};

/* The run-time table of custom resources (crd_table.c): made with the registry, and filled
 * from the stored CRDs by reg_bootstrap. */
/* The admission cache (reg_cache.c): made with the registry, freed (its watches closed)
 * before the store closes. */
int reg_cache_new(struct registry *reg);
void reg_cache_free(struct registry *reg);
int reg_crds_new(struct registry *reg);
void reg_crds_free(struct registry *reg);
int reg_crds_load(struct registry *reg);

/* The admission webhooks' cache (reg_webhook.c): made with the registry. */
int reg_webhooks_new(struct registry *reg);
void reg_webhooks_free(struct registry *reg);

/* Set up c for rq; -EINVAL with out set when the names do not make a key. */
int reg_call_init(struct reg_call *c, struct registry *reg, const struct reg_req *rq,
		  struct api_result *out);

/* Read the stored object at key into c->d (with its resourceVersion): 0, or the store's
 * error (out not set). */
int reg_load(struct reg_call *c, const char *key, struct jv **out, uint64_t *rev);
/* The kind the client speaks (c->wire's, else c->res's). */
const struct k8s_kind *reg_wire_kind(const struct reg_call *c);
/* A request's object in the client's version, converted to the stored one (in place). */
void reg_from_wire(struct reg_call *c, struct jv *obj);
/* Answer with an object tree at rev (its resourceVersion set here), in the client's version. */
void reg_done_object(struct reg_call *c, unsigned code, struct jv *obj, uint64_t rev);
/* Answer with the object just stored as json (taken): no second serialization when the
 * client reads the stored version. */
void reg_done_written(struct reg_call *c, unsigned code, struct jv *obj, char *json, size_t len,
		      uint64_t rev);
/* The namespace exists and, for a create, is not terminating: 0, or out set. */
int reg_check_namespace(struct reg_call *c, bool creating);

/* ---- shared by create, update and delete ---- */

static inline struct jv *reg_meta(struct reg_call *c, struct jv *obj)
{
	return jv_obj_at(c->d, obj, "metadata");
}

static inline void reg_set_str(struct reg_call *c, struct jv *o, const char *key, const char *v)
{
	jv_set(c->d, o, key, jv_new_strz(c->d, v));
}

/* A write the strategy found invalid: out set to 422 with its causes; true. */
bool reg_reject_invalid(struct reg_call *c, struct api_admit *a, const char *name);
/* A write an admission plugin refused (a->forbidden): out set to 403
 * `<resource> "<name>" is forbidden: <why>`; true. */
bool reg_reject_forbidden(struct reg_call *c, struct api_admit *a, const char *name);

/* The warnings admission gave a (a->errs' warnings) as the result's Warning headers. */
void reg_admit_warnings(struct reg_call *c, const struct api_admit *a);
/* Namespace and name of a body against the call's: 0, or out set. */
int reg_check_identity(struct reg_call *c, struct jv *obj, bool need_name);
/* Create obj (decoded) as a new object: the create pipeline from metadata to result. */
void reg_create_object(struct reg_call *c, struct jv *obj, const char *operation);
/* Store obj (the new state, decoded and complete) over the stored object old at rev;
 * precondition: the client's resourceVersion (0 for none). 0 (out set), -STORE_ECONFLICT when
 * an unconditional write raced (retry), or another error with out set. */
int reg_replace(struct reg_call *c, struct jv *obj, struct jv *old, uint64_t rev,
		uint64_t precondition, const char *operation);
/* The server's own write of obj, the new state of res's name (in c's namespace) stored as old
 * at rev, through its status subresource (field manager kube-apiserver, as its loopback
 * client writes), with rev as the precondition: 0 (out->rev the new revision), a conflict
 * (-EEXIST / -STORE_ECONFLICT), or another error; out set. */
int reg_write_status(struct reg_call *c, const struct api_resource *res, const char *name,
		     struct jv *obj, struct jv *old, uint64_t rev, struct api_result *out);
/* Delete the stored object at key (loaded as obj at rev), honouring finalizers and graceful
 * deletion. reply: set out. 0, -STORE_ECONFLICT (retry), or another error (out set when
 * reply). */
int reg_delete_object(struct reg_call *c, const char *key, struct jv *obj, uint64_t rev,
		      const struct reg_delete_opts *o, bool reply);

/* ResourceQuota admission of obj, a create (old NULL) or an update of old of c's resource
 * (quota.c): 0 (admitted; the namespace's quotas charged unless dry run), or an error with
 * c->out set (403 Forbidden when a quota refuses it). */
int reg_quota_admit(struct reg_call *c, struct jv *obj, const struct jv *old);

/* The admission webhooks of a write (reg_webhook.c), as kube-apiserver's MutatingAdmissionWebhook
 * and ValidatingAdmissionWebhook plugins call them. op: "CREATE", "UPDATE" or "DELETE"; obj the
 * new object in the stored version (NULL for a delete), old the stored one (NULL for a create);
 * dopts a delete's options. Mutating: after the built-in mutating plugins, obj patched in place
 * by the webhooks' JSON patches. Validating: after validation and the built-in validating
 * plugins. 0 (admitted, warnings added to c->out), or -EPERM with c->out set (the webhook's
 * refusal or the failure of a webhook whose failurePolicy is Fail). */
int reg_webhooks_mutate(struct reg_call *c, const char *op, struct jv *obj, const struct jv *old,
			const struct reg_delete_opts *dopts);
/* The ValidatingAdmissionPolicy plugin (reg_vap.c): the bindings' policies that match the
 * write evaluated over obj/old. 0 (admitted; Warn actions' warnings added to c->out), or
 * -EPERM with c->out set. */
int reg_vap_validate(struct reg_call *c, const char *op, const struct jv *obj,
		     const struct jv *old);
int reg_webhooks_validate(struct reg_call *c, const char *op, const struct jv *obj,
			  const struct jv *old, const struct reg_delete_opts *dopts);

/* The objects of a collection: what api_list_all gives, over the registry's store. */
int reg_list_all(struct registry *reg, const struct api_resource *res, const char *ns, size_t limit,
		 struct store_list *out);

/* bootstrap.c: create body as an object of res in ns unless it exists. 0 or -EIO. */
int reg_ensure(struct registry *reg, const struct api_resource *res, const char *ns,
	       const char *body);
/* bootstrap_rbac.c: kube-apiserver 1.32's default RBAC policy (bootstrap_rbac.yaml): its
 * ClusterRoles, ClusterRoleBindings, Roles and RoleBindings. 0, -EINVAL or -EIO. */
int reg_bootstrap_rbac(struct registry *reg);

#endif
