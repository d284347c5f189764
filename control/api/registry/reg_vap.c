/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_vap: the ValidatingAdmissionPolicy admission plugin of kube-apiserver 1.32
 * (k8s.io/apiserver/pkg/admission/plugin/policy/validating: dispatcher.go, validator.go;
 * policy/generic and policy/matching): each ValidatingAdmissionPolicyBinding whose policy
 * matches the write (the policy's matchConstraints and the binding's matchResources: rules,
 * excludeResourceRules, namespace and object selectors, as webhooks match) has its policy's
 * matchConditions and validations evaluated with CEL (control/api/cel) over object,
 * oldObject, request and params (the binding's paramRef to an object of the policy's
 * paramKind, by name or selector, parameterNotFoundAction); a failing validation denies the
 * write (validationActions Deny: 422 Invalid by default, or the validation's reason) or
 * warns (Warn); an evaluation error counts as failurePolicy says (Fail, the default, or
 * Ignore); variables as variables.<name>, computed when read; namespaceObject. Not done:
 * auditAnnotations and Audit, authorizer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "cel.h"
#include "reg_int.h"
#include "reg_webhook.h"

static const char *const vap_vars[] = {"object",	  "oldObject", "request",   "params",
				       "namespaceObject", "variables", "authorizer"};
#define NVARS (sizeof(vap_vars) / sizeof(vap_vars[0]))

struct vap_ctx {
	struct wh_attr *a;
	const struct jv *policy, *binding;
	struct cel_binding vars[6];
	int64_t budget;
	bool denied;
};

/* reasonToCode */
static unsigned reason_code(const char *reason)
{
	if (!strcmp(reason, "Forbidden"))
		return 403;
	if (!strcmp(reason, "Unauthorized"))
		return 401;
	if (!strcmp(reason, "RequestEntityTooLarge"))
		return 413;
	return 422;
}

/* admission.NewForbidden's name: the object's, else the request's */
static void deny(struct vap_ctx *v, const char *reason, const char *msg)
{
	const struct api_resource *res = v->a->req;
	const char *name = v->a->name && v->a->name[0] ? v->a->name : "";
	const char *group = res->kind->group;
	char rn[300];

	if (!reason || !reason[0])
		reason = "Invalid";
	snprintf(rn, sizeof(rn), "%s%s%s", res->kind->resource, group[0] ? "." : "", group);
	api_fail(v->a->c->out, reason_code(reason), reason,
		 "%s \"%s\" is forbidden: ValidatingAdmissionPolicy '%s' with binding '%s' denied "
		 "request: %s",
		 rn, name, jv_path_str(v->policy, "metadata.name"),
		 jv_path_str(v->binding, "metadata.name"), msg);
	v->denied = true;
}

static bool has_action(const struct jv *binding, const char *action)
{
	for (const struct jv *x = jv_first(jv_path(binding, "spec.validationActions")); x;
	     x = x->next)
		if (jv_is_str(x, action))
			return true;
	return false;
}

/* a failed validation (or an error failurePolicy Fail makes one): Deny and/or Warn */
static void decide(struct vap_ctx *v, const char *reason, const char *msg)
{
	if (has_action(v->binding, "Warn"))
		api_result_warn(v->a->c->out,
				"Validation failed for ValidatingAdmissionPolicy '%s' with binding "
				"'%s': %s",
				jv_path_str(v->policy, "metadata.name"),
				jv_path_str(v->binding, "metadata.name"), msg);
	if (has_action(v->binding, "Deny") && !v->denied)
		deny(v, reason, msg);
}

static bool fail_closed(const struct vap_ctx *v)
{
	const char *fp = jv_path_str(v->policy, "spec.failurePolicy");

	return !fp || strcmp(fp, "Ignore") != 0;
}

/* spec.variables compiled into the "variables" binding; -1 when one does not compile (the
 * failurePolicy's error) */
static int compile_variables(struct vap_ctx *v, struct jv_doc *d)
{
	const struct jv *vars = jv_path(v->policy, "spec.variables");
	size_t n = jv_count(vars), i = 0;
	const char **names = n ? jv_alloc(d, n * sizeof(*names)) : NULL;
	struct cel_program **progs = n ? calloc(n, sizeof(*progs)) : NULL;
	char err[512], msg[1024];

	v->vars[5] = (struct cel_binding){
	    .name = "variables", .lazy_names = names, .lazy_progs = progs, .nlazy = 0};
	if (!n)
		return 0;
	if (!names || !progs) {
		free(progs);
		v->vars[5].lazy_progs = NULL;
		return -1;
	}
	for (const struct jv *x = jv_first(vars); x; x = x->next, i++) {
		const char *e = jv_path_str(x, "expression"), *name = jv_path_str(x, "name");

		names[i] = name ? name : "";
		progs[i] = cel_compile(e ? e : "", vap_vars, NVARS, err, sizeof(err));
		v->vars[5].nlazy = i + 1;
		if (!progs[i]) {
			if (fail_closed(v)) {
				snprintf(msg, sizeof(msg), "variable '%s' failed to compile: %s",
					 names[i], err);
				decide(v, NULL, msg);
			}
			return -1;
		}
	}
	return 0;
}

static void free_variables(struct vap_ctx *v)
{
	struct cel_program **progs = (struct cel_program **)v->vars[5].lazy_progs;

	for (size_t i = 0; progs && i < v->vars[5].nlazy; i++)
		cel_program_free(progs[i]);
	free(progs);
}

/* expr evaluated: 1 true, 0 false, -1 an error (err filled); a string result into str */
static int eval(struct vap_ctx *v, const char *expr, char *err, size_t errlen, char *str,
		size_t slen)
{
	struct cel_program *p = cel_compile(expr, vap_vars, NVARS, err, errlen);
	struct cel_result r;
	int rc = -1;

	if (!p)
		return -1;
	if (cel_eval(p, v->vars, 6, v->budget < CEL_PER_CALL_LIMIT ? v->budget : 0, &r) != 0) {
		snprintf(err, errlen, "out of memory");
		cel_program_free(p);
		return -1;
	}
	cel_program_free(p);
	v->budget -= r.cost;
	if (r.type == CEL_R_ERROR)
		snprintf(err, errlen, "%s", r.text);
	else if (r.type == CEL_R_BOOL)
		rc = r.b;
	else if (r.type == CEL_R_STRING && str) {
		snprintf(str, slen, "%s", r.text);
		rc = 1;
	} else
		snprintf(err, errlen, "expression must evaluate to bool");
	cel_result_free(&r);
	return rc;
}

/* matchConditions: all true to apply; an error is the failurePolicy's */
static bool conditions_match(struct vap_ctx *v)
{
	char err[512], msg[1024];

	for (const struct jv *m = jv_first(jv_path(v->policy, "spec.matchConditions")); m;
	     m = m->next) {
		const char *e = jv_path_str(m, "expression");
		int rc = e ? eval(v, e, err, sizeof(err), NULL, 0) : 1;

		if (rc == 0)
			return false;
		if (rc < 0) {
			if (fail_closed(v)) {
				snprintf(msg, sizeof(msg),
					 "failed to evaluate match condition %s: %s",
					 jv_path_str(m, "name"), err);
				decide(v, NULL, msg);
			}
			return false;
		}
	}
	return true;
}

static void validate(struct vap_ctx *v)
{
	char err[512], msg[2048], m2[1024];

	for (const struct jv *x = jv_first(jv_path(v->policy, "spec.validations")); x && !v->denied;
	     x = x->next) {
		const char *e = jv_path_str(x, "expression"), *m = jv_path_str(x, "message");
		const char *mx = jv_path_str(x, "messageExpression");
		int rc;

		if (!e)
			continue;
		rc = eval(v, e, err, sizeof(err), NULL, 0);
		if (rc == 1)
			continue;
		if (rc < 0) {
			if (fail_closed(v)) {
				snprintf(msg, sizeof(msg), "expression '%s' resulted in error: %s",
					 e, err);
				decide(v, NULL, msg);
			}
			continue;
		}
		if (m && m[0])
			snprintf(msg, sizeof(msg), "%s", m);
		else if (mx && eval(v, mx, err, sizeof(err), m2, sizeof(m2)) == 1 && m2[0])
			snprintf(msg, sizeof(msg), "%s", m2);
		else
			snprintf(msg, sizeof(msg), "failed expression: %s", e);
		decide(v, jv_path_str(x, "reason"), msg);
	}
}

/* request: admissionv1.AdmissionRequest's fields as CEL sees them */
static struct jv *request_of(struct wh_attr *a, struct jv_doc *d)
{
	const struct api_resource *r = a->req;
	struct jv *q = jv_new(d, JV_OBJECT), *k, *res, *ui, *gr;
	const struct reg_req *rq = a->c->rq;

	if (!q)
		return NULL;
	k = jv_obj_at(d, q, "kind");
	jv_set(d, k, "group", jv_new_strz(d, r->kind->group));
	jv_set(d, k, "version", jv_new_strz(d, r->kind->version));
	jv_set(d, k, "kind", jv_new_strz(d, r->kind->kind));
	res = jv_obj_at(d, q, "resource");
	jv_set(d, res, "group", jv_new_strz(d, r->kind->group));
	jv_set(d, res, "version", jv_new_strz(d, r->kind->version));
	jv_set(d, res, "resource", jv_new_strz(d, r->kind->resource));
	jv_set(d, q, "requestKind", jv_copy(d, k));
	jv_set(d, q, "requestResource", jv_copy(d, res));
	jv_set(d, q, "subResource", jv_new_strz(d, a->sub ? a->sub : ""));
	jv_set(d, q, "name", jv_new_strz(d, a->name ? a->name : ""));
	jv_set(d, q, "namespace", jv_new_strz(d, a->ns ? a->ns : ""));
	jv_set(d, q, "operation", jv_new_strz(d, a->op));
	jv_set(d, q, "dryRun", jv_new_bool(d, a->c->dry_run));
	ui = jv_obj_at(d, q, "userInfo");
	jv_set(d, ui, "username", jv_new_strz(d, rq && rq->user ? rq->user : ""));
	gr = jv_new(d, JV_ARRAY);
	for (unsigned i = 0; rq && gr && i < rq->ngroups; i++)
		jv_push(gr, jv_new_strz(d, rq->groups[i]));
	if (gr)
		jv_set(d, ui, "groups", gr);
	return q;
}

/* namespaceObject: the request's namespace as stored (null for cluster-scoped requests) */
static const struct jv *namespace_object(struct wh_attr *a, const struct jv *null)
{
	if (!a->ns || !a->ns[0] || a->is_namespace)
		return null;
	return reg_wh_namespace(a) ? a->ns_obj : null;
}

/* the resource of a paramKind (apiVersion, kind), custom resources included */
static const struct api_resource *param_resource(struct registry *reg, const struct jv *pk)
{
	const char *av = jv_path_str(pk, "apiVersion"), *kind = jv_path_str(pk, "kind");
	const char *slash = av ? strchr(av, '/') : NULL;
	const struct api_resource **all = NULL, *hit = NULL;
	char group[256];
	size_t n;

	if (!av || !kind)
		return NULL;
	snprintf(group, sizeof(group), "%.*s", slash ? (int)(slash - av) : 0, av);
	n = reg_resources(reg, &all);
	for (size_t i = 0; i < n && !hit; i++) {
		const struct k8s_kind *k = all[i]->kind;

		if (!strcmp(k->group, group) && !strcmp(k->version, slash ? slash + 1 : av) &&
		    !strcmp(k->kind, kind) && k->resource && !strchr(k->resource, '/'))
			hit = all[i];
	}
	free(all);
	return hit;
}

/* the binding for each param its paramRef selects (or once, without params) */
static void run_binding(struct vap_ctx *v)
{
	const struct jv *pk = jv_path(v->policy, "spec.paramKind");
	const struct jv *ref = jv_path(v->binding, "spec.paramRef");
	const struct api_resource *pres;
	const char *pname, *pns, *action;
	struct reg_snap *snap;
	size_t found = 0;

	if (!pk) {
		if (conditions_match(v))
			validate(v);
		return;
	}
	pres = param_resource(v->a->c->reg, pk);
	pname = jv_path_str(ref, "name");
	pns = jv_path_str(ref, "namespace");
	action = jv_path_str(ref, "parameterNotFoundAction");
	if (!ref || !pres) {
		if (fail_closed(v))
			decide(v, NULL,
			       !ref ? "failed to configure binding: no paramRef specified"
				    : "failed to configure policy: paramKind not found");
		return;
	}
	/* a namespaced paramKind without a namespace: the request's namespace */
	if (!pns && !pres->kind->cluster_scoped)
		pns = v->a->ns;
	snap = reg_cache_get(v->a->c->reg, pres, pres->kind->cluster_scoped ? NULL : pns);
	for (const struct jv *o = jv_first(snap ? reg_snap_items(snap) : NULL); o && !v->denied;
	     o = o->next) {
		const struct jv *sel = jv_get(ref, "selector");
		const struct jv *labels = jv_path(o, "metadata.labels");
		static const struct jv none = {.type = JV_OBJECT};

		if (pname ? !jv_is_str(jv_path(o, "metadata.name"), pname)
			  : !api_label_selector_matches(sel, labels ? labels : &none))
			continue;
		found++;
		v->vars[3].value = o;
		if (conditions_match(v))
			validate(v);
	}
	reg_snap_put(snap);
	if (!found && (!action || strcmp(action, "Allow") != 0))
		decide(v, NULL,
		       "failed to configure binding: no params found for policy binding with "
		       "`Deny` parameterNotFoundAction");
}

int reg_vap_validate(struct reg_call *c, const char *op, const struct jv *obj, const struct jv *old)
{
	const struct api_resource *pres, *bres, *res;
	struct reg_snap *ps = NULL, *bs = NULL;
	struct wh_attr a;
	struct jv *null = jv_new(c->d, JV_NULL), *req;
	int err = 0;

	reg_wh_attr_init(&a, c, op, (struct jv *)obj, old, NULL);
	if (reg_wh_exempt(&a) || !null)
		return 0;
	pres =
	    api_resource_find("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies");
	bres = api_resource_find("admissionregistration.k8s.io", "v1",
				 "validatingadmissionpolicybindings");
	bs = bres ? reg_cache_get(c->reg, bres, NULL) : NULL;
	if (!bs || !jv_first(reg_snap_items(bs)))
		goto out;
	ps = pres ? reg_cache_get(c->reg, pres, NULL) : NULL;
	req = request_of(&a, c->d);
	for (const struct jv *b = jv_first(reg_snap_items(bs)); b && !err; b = b->next) {
		const char *pn = jv_path_str(b, "spec.policyName");
		const struct jv *p = NULL, *mr = jv_path(b, "spec.matchResources");
		struct vap_ctx v = {.a = &a, .binding = b, .budget = CEL_RUNTIME_BUDGET};

		for (const struct jv *x = jv_first(ps ? reg_snap_items(ps) : NULL); x && pn;
		     x = x->next)
			if (jv_is_str(jv_path(x, "metadata.name"), pn))
				p = x;
		if (!p)
			continue;
		v.policy = p;
		if (reg_wh_match(&a, jv_path(p, "spec.matchConstraints"), "resourceRules", &res) !=
		    0) {
			reg_wh_fail_ns_missing(&a);
			err = -EPERM;
			break;
		}
		if (!res)
			continue;
		/* excludeResourceRules and the binding's own matchResources narrow it */
		{
			struct jv *ex = jv_new(c->d, JV_OBJECT);
			const struct api_resource *xr = NULL;

			if (ex) {
				jv_set(c->d, ex, "resourceRules",
				       jv_copy(c->d, jv_path(p, "spec.matchConstraints."
								"excludeResourceRules")));
				reg_wh_match(&a, ex, "resourceRules", &xr);
			}
			if (xr)
				continue;
		}
		if (mr && jv_get(mr, "resourceRules") &&
		    (reg_wh_match(&a, mr, "resourceRules", &res) != 0 || !res))
			continue;
		if (mr && !jv_get(mr, "resourceRules")) {
			/* selectors only: any resource the policy matched */
			struct jv *m2 = jv_copy(c->d, mr);

			if (m2)
				jv_set(c->d, m2, "resourceRules",
				       jv_copy(c->d,
					       jv_path(p, "spec.matchConstraints.resourceRules")));
			if (!m2 || reg_wh_match(&a, m2, "resourceRules", &res) != 0 || !res)
				continue;
		}
		v.vars[0] = (struct cel_binding){.name = "object", .value = obj ? obj : null};
		v.vars[1] = (struct cel_binding){.name = "oldObject", .value = old ? old : null};
		v.vars[2] = (struct cel_binding){.name = "request", .value = req};
		v.vars[3] = (struct cel_binding){.name = "params", .value = null};
		v.vars[4] = (struct cel_binding){.name = "namespaceObject",
						 .value = namespace_object(&a, null)};
		if (compile_variables(&v, c->d) == 0)
			run_binding(&v);
		free_variables(&v);
		if (v.denied)
			err = -EPERM;
	}
out:
	reg_snap_put(bs);
	reg_snap_put(ps);
	return err;
}
