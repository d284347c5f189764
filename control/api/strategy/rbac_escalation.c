/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac_escalation: RBAC's privilege-escalation prevention on writes of Roles, ClusterRoles
 * and their bindings, as kube-apiserver 1.32's RBAC storages make it
 * (pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/
 * storage.go over pkg/registry/rbac/escalation_check.go EscalationAllowed,
 * RoleEscalationAuthorized, BindingAuthorized and pkg/registry/rbac/validation/rule.go
 * ConfirmNoEscalation): a user grants, or binds, only rules he already holds, unless he is
 * in system:masters or is allowed the verb escalate on the role (bind on the bound role).
 * The authorizer and the rule resolver are the server's (registry.h: struct reg_authz).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "api_rbac_rules.h"
#include "api_strategy.h"
#include "kinds.h"
#include "registry.h"

#define MASTERS		"system:masters"
#define AUTHENTICATED	"system:authenticated"
#define UNAUTHENTICATED "system:unauthenticated"

/* EscalationAllowed: the privileged group (the server's loopback identity is in it) */
static bool escalation_allowed(const struct reg_req *rq)
{
	for (unsigned i = 0; i < rq->ngroups; i++)
		if (strcmp(rq->groups[i], MASTERS) == 0)
			return true;
	return false;
}

static bool allows(struct api_admit *a, const char *verb, const char *group, const char *resource,
		   const char *ns, const char *name)
{
	const struct reg_authz *z = &a->reg->authz;

	return z->allows(z->arg, a->rq, verb, group, resource, ns, name);
}

/* IsOnlyMutatingGCFields (pkg/registry/rbac/helpers.go): the update changes nothing but
 * ownerReferences, finalizers and selfLink */
static bool only_gc_fields(struct api_admit *a)
{
	static const char *const gc[] = {"ownerReferences", "finalizers", "selfLink"};
	struct jv *n = jv_copy(a->d, a->obj);
	struct jv *md = n ? jv_obj_at(a->d, n, "metadata") : NULL;

	if (!md)
		return false;
	for (size_t i = 0; i < sizeof(gc) / sizeof(gc[0]); i++) {
		const struct jv *v = jv_get(jv_get(a->old, "metadata"), gc[i]);

		if (v)
			jv_set(a->d, md, gc[i], jv_copy(a->d, v));
		else
			jv_del(md, gc[i]);
	}
	return jv_equal(n, a->old);
}

/* ---- the message: ConfirmNoEscalation's ---- */

/* Go's %q of a string */
static void go_quote(struct k8s_buf *b, const char *s)
{
	k8s_buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			k8s_buf_putc(b, '\\');
			k8s_buf_putc(b, (char)ch);
		} else if (ch == '\n') {
			k8s_buf_puts(b, "\\n");
		} else if (ch == '\t') {
			k8s_buf_puts(b, "\\t");
		} else if (ch < 0x20 || ch == 0x7f) {
			k8s_buf_printf(b, "\\x%02x", ch);
		} else {
			k8s_buf_putc(b, (char)ch);
		}
	}
	k8s_buf_putc(b, '"');
}

/* Go's %q of a []string: ["a" "b"] */
static void go_quote_list(struct k8s_buf *b, const struct jv *list)
{
	bool first = true;

	k8s_buf_putc(b, '[');
	for (const struct jv *v = jv_first(list); v; v = v->next) {
		if (v->type != JV_STRING)
			continue;
		if (!first)
			k8s_buf_putc(b, ' ');
		go_quote(b, v->s);
		first = false;
	}
	k8s_buf_putc(b, ']');
}

/* CompactString (pkg/apis/rbac/v1/helpers.go): the non-empty lists of a rule, in this order */
static char *compact_string(const struct jv *rule)
{
	static const char *const parts[][2] = {{"APIGroups", "apiGroups"},
					       {"Resources", "resources"},
					       {"NonResourceURLs", "nonResourceURLs"},
					       {"ResourceNames", "resourceNames"},
					       {"Verbs", "verbs"}};
	struct k8s_buf b = {0};
	bool first = true;
	size_t len;

	k8s_buf_putc(&b, '{');
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const struct jv *list = jv_get(rule, parts[i][1]);

		if (!jv_count(list))
			continue;
		k8s_buf_printf(&b, "%s%s:", first ? "" : ", ", parts[i][0]);
		go_quote_list(&b, list);
		first = false;
	}
	k8s_buf_putc(&b, '}');
	k8s_buf_putc(&b, 0);
	return k8s_buf_take(&b, &len);
}

static const char *only_str(const struct jv *list)
{
	const struct jv *v = jv_first(list);

	return v && v->type == JV_STRING && !v->next ? v->s : NULL;
}

/* isSimpleResourceRule (policy_compact.go): one group, one resource, at most one name, no
 * URL (a missing rule of api_rbac_uncovered has one of each at most) */
static bool simple_rule(const struct jv *r)
{
	return only_str(jv_get(r, "apiGroups")) && only_str(jv_get(r, "resources")) &&
	       jv_count(jv_get(r, "resourceNames")) <= 1 && !jv_count(jv_get(r, "nonResourceURLs"));
}

static bool same_str(const char *x, const char *y)
{
	return x == y || (x && y && strcmp(x, y) == 0);
}

static bool same_resource(const struct jv *x, const struct jv *y)
{
	return same_str(only_str(jv_get(x, "apiGroups")), only_str(jv_get(y, "apiGroups"))) &&
	       same_str(only_str(jv_get(x, "resources")), only_str(jv_get(y, "resources"))) &&
	       same_str(only_str(jv_get(x, "resourceNames")), only_str(jv_get(y, "resourceNames")));
}

/* CompactRules: the simple rules of one group, resource and name merged, their verbs
 * appended in order; the others as they are */
static struct jv *compact_rules(struct jv_doc *d, const struct jv *missing)
{
	struct jv *out = jv_new(d, JV_ARRAY);

	if (!out)
		return NULL;
	for (const struct jv *r = jv_first(missing); r; r = r->next) {
		struct jv *into = NULL;

		if (simple_rule(r))
			for (struct jv *o = jv_first(out); o && !into; o = o->next)
				if (simple_rule(o) && same_resource(o, r))
					into = o;
		if (!into) {
			jv_push(out, jv_copy(d, r));
			continue;
		}
		for (const struct jv *v = jv_first(jv_get(r, "verbs")); v; v = v->next)
			jv_push(jv_get(into, "verbs"), jv_copy(d, v));
	}
	return out;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* sets.NewString(CompactString of each...).List(): sorted, each once, joined by "\n" */
static int describe_missing(struct k8s_buf *b, const struct jv *rules)
{
	size_t n = (size_t)jv_count(rules), k = 0;
	char **s = calloc(n ? n : 1, sizeof(*s));
	int err = 0;

	if (!s)
		return -ENOMEM;
	for (const struct jv *r = jv_first(rules); r && k < n; r = r->next)
		if (!(s[k++] = compact_string(r)))
			err = -ENOMEM;
	if (!err) {
		qsort(s, k, sizeof(*s), cmp_str);
		for (size_t i = 0; i < k; i++)
			if (i == 0 || strcmp(s[i], s[i - 1]) != 0)
				k8s_buf_printf(b, "%s%s", i ? "\n" : "", s[i]);
	}
	for (size_t i = 0; i < k; i++)
		free(s[i]);
	free(s);
	return err;
}

/* user.GetGroups() as the authenticators left them: system:authenticated added last (unless
 * the user is system:unauthenticated: an impersonated one) */
static void user_groups(struct k8s_buf *b, const struct reg_req *rq)
{
	bool auth = false;

	k8s_buf_putc(b, '[');
	for (unsigned i = 0; i < rq->ngroups; i++) {
		if (i)
			k8s_buf_putc(b, ' ');
		go_quote(b, rq->groups[i]);
		if (strcmp(rq->groups[i], AUTHENTICATED) == 0 ||
		    strcmp(rq->groups[i], UNAUTHENTICATED) == 0)
			auth = true;
	}
	if (!auth)
		k8s_buf_printf(b, "%s\"" AUTHENTICATED "\"", rq->ngroups ? " " : "");
	k8s_buf_putc(b, ']');
}

/* apierrors.NewForbidden(groupResource, name, err) of the object written */
static void forbid(struct api_admit *a, const char *msg)
{
	const char *name = jv_path_str(a->obj, "metadata.name");
	char q[128];

	api_fail_details(a->out, 403, "Forbidden", a->res, name ? name : "",
			 "%s \"%s\" is forbidden: %s", api_res_qualified(a->res, q, sizeof(q)),
			 name ? name : "", msg);
}

/* ConfirmNoEscalation: do the rules the user holds in ns (NULL: cluster-wide ones only)
 * cover rules? If not, the 403 is set: why, or kube's list of what is missing. */
static bool confirm_no_escalation(struct api_admit *a, const char *ns, const struct jv *rules,
				  const char *why)
{
	const struct reg_authz *z = &a->reg->authz;
	struct jv *owner = jv_new(a->d, JV_ARRAY), *missing = jv_new(a->d, JV_ARRAY), *compact;
	struct k8s_buf errs = {0}, msg = {0};
	unsigned nerrs;
	long n;

	if (!owner || !missing) {
		api_fail_oom(a->out);
		return false;
	}
	nerrs = z->rules_for(z->arg, a->rq, ns, a->d, owner, &errs);
	n = api_rbac_uncovered(owner, rules, a->d, missing);
	if (n == 0) {
		k8s_buf_free(&errs);
		return true;
	}
	compact = n > 0 ? compact_rules(a->d, missing) : NULL;
	if (why) {
		forbid(a, why);
	} else if (!compact) {
		api_fail_oom(a->out);
	} else {
		k8s_buf_puts(&msg, "user ");
		go_quote(&msg, a->rq->user);
		k8s_buf_puts(&msg, " (groups=");
		user_groups(&msg, a->rq);
		k8s_buf_puts(&msg,
			     ") is attempting to grant RBAC permissions not currently held:\n");
		if (describe_missing(&msg, compact) != 0)
			api_fail_oom(a->out);
		/* "; resolution errors: %v" of a []error holding one utilerrors.Aggregate */
		if (nerrs)
			k8s_buf_printf(&msg, "; resolution errors: [%s%.*s%s]",
				       nerrs > 1 ? "[" : "", (int)errs.len, errs.p,
				       nerrs > 1 ? "]" : "");
		k8s_buf_putc(&msg, 0);
		if (a->out->code < 300)
			forbid(a, msg.p);
	}
	k8s_buf_free(&errs);
	k8s_buf_free(&msg);
	return false;
}

/* ---- the kinds ---- */

/* The Role and ClusterRole storages: escalate on the role as requested (the name of the
 * URL, none for a create), else every rule held; an aggregationRule (set, or there before)
 * needs every permission there is. */
void api_rbac_authorize_role(struct api_admit *a)
{
	static const char full_authority[] =
	    "[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]},"
	    "{\"verbs\":[\"*\"],\"nonResourceURLs\":[\"*\"]}]";
	const char *ns = api_resource_namespaced(a->res) ? a->rq->ns : NULL;
	struct jv *full;

	if (escalation_allowed(a->rq) || allows(a, "escalate", a->res->kind->group,
						a->res->kind->resource, a->rq->ns, a->rq->name))
		return;
	if (a->old && only_gc_fields(a))
		return;
	if (!confirm_no_escalation(a, ns, jv_get(a->obj, "rules"), NULL))
		return;
	if (!jv_count(jv_path(a->obj, "aggregationRule.clusterRoleSelectors")) &&
	    !jv_count(jv_path(a->old, "aggregationRule.clusterRoleSelectors")))
		return;
	full = jv_parse(a->d, full_authority, sizeof(full_authority) - 1, NULL);
	if (!full)
		api_fail_oom(a->out);
	else
		confirm_no_escalation(
		    a, ns, full, "must have cluster-admin privileges to use the aggregationRule");
}

/* The RoleBinding and ClusterRoleBinding storages: bind on the role referred to (in the
 * binding's namespace), else every rule of that role held there. */
void api_rbac_authorize_binding(struct api_admit *a)
{
	const char *ns = api_resource_namespaced(a->res) ? a->rq->ns : NULL;
	const char *kind = jv_path_str(a->obj, "roleRef.kind") ?: "";
	const char *name = jv_path_str(a->obj, "roleRef.name") ?: "";
	const char *group = jv_path_str(a->obj, "roleRef.apiGroup") ?: "";
	bool cluster = strcmp(kind, "ClusterRole") == 0;
	const struct reg_authz *z = &a->reg->authz;
	struct jv *rules;

	if (escalation_allowed(a->rq) || (a->old && only_gc_fields(a)))
		return;
	if (!cluster && strcmp(kind, "Role") != 0) {
		/* GetRoleReferenceRules' error, not an API status: kube answers 500 Unknown */
		api_fail(a->out, 500, "Unknown", "unsupported role reference kind: \"%s\"", kind);
		return;
	}
	if (allows(a, "bind", group, cluster ? "clusterroles" : "roles", ns, name))
		return;
	rules = jv_new(a->d, JV_ARRAY);
	if (!rules) {
		api_fail_oom(a->out);
		return;
	}
	if (!z->role_rules(z->arg, cluster, ns, name, a->d, rules)) {
		/* the role read through its registry: its NotFound */
		api_fail_not_found(a->out,
				   api_resource_find("rbac.authorization.k8s.io", "v1",
						     cluster ? "clusterroles" : "roles"),
				   name);
		return;
	}
	confirm_no_escalation(a, ns, rules, NULL);
}
