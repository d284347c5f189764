/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac: the RBAC authorizer over the stored Roles, ClusterRoles, RoleBindings and
 * ClusterRoleBindings, as plugin/pkg/auth/authorizer/rbac (rbac.go: Authorize, RulesFor;
 * staging/src/k8s.io/component-helpers/auth/rbac/validation: VisitRulesFor, appliesTo,
 * RuleAllows) of Kubernetes 1.32; impersonation (staging/src/k8s.io/apiserver/pkg/endpoints/
 * filters/impersonation.go) and the access reviews (pkg/registry/authorization,
 * pkg/registry/authentication/selfsubjectreview), which are created and answered, never
 * stored.
 *
 * ClusterRole aggregation: the clusterrole-aggregation controller
 * (controllers/clusterroleaggregation.c) writes an aggregated ClusterRole's rules; the
 * authorizer takes the same result (the rules of the ClusterRoles its aggregationRule selects)
 * directly, so it holds before the controller's sync and with that controller off (where
 * Kubernetes' authorizer reads the stored rules only).
 */
#include <ctype.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_codec.h"
#include "api_obj.h"
#include "api_rbac_rules.h"
#include "log.h"
#include "rbac.h"

#define COMP "rbac"

#define RBAC_GROUP     "rbac.authorization.k8s.io"
#define SA_PREFIX      "system:serviceaccount:"
#define AUTHENTICATED  "system:authenticated"
#define MAX_AGGR_DEPTH 8

/* ---- listing the stored RBAC objects ---- */

typedef bool (*each_fn)(const struct jv *obj, void *arg); /* true: stop */

/* The objects of an RBAC resource in ns (NULL: cluster scope) from the registry's
 * admission cache, as kube's authorizer reads its informers' listers (but never stale: a
 * binding acknowledged before the request is in it). */
static void each(struct api_server *s, const char *resource, const char *ns, each_fn fn, void *arg)
{
	const struct api_resource *res = api_resource_find(RBAC_GROUP, "v1", resource);
	struct reg_snap *sn = res && s->reg ? reg_cache_get(s->reg, res, ns) : NULL;

	for (const struct jv *o = sn ? jv_first(reg_snap_items(sn)) : NULL; o; o = o->next)
		if (fn(o, arg))
			break;
	reg_snap_put(sn);
}

static bool has_group(const struct api_user *u, const char *g)
{
	if (strcmp(g, AUTHENTICATED) == 0)
		return true;
	for (unsigned i = 0; i < u->ngroups; i++)
		if (strcmp(u->groups[i], g) == 0)
			return true;
	return false;
}

/* ---- rules (validation.RuleAllows) ---- */

static bool verb_matches(const struct jv *rule, const char *verb)
{
	const struct jv *verbs = jv_get(rule, "verbs");

	return api_rbac_has(verbs, "*") || api_rbac_has(verbs, verb);
}

/* ResourceMatches: "*", "res", "res/sub", or "* /sub" for any resource's sub */
static bool resource_matches(const struct jv *rule, const struct api_authz *a)
{
	char combined[256];

	snprintf(combined, sizeof(combined), "%s%s%s", a->resource, a->sub ? "/" : "",
		 a->sub ? a->sub : "");
	for (const struct jv *v = jv_first(jv_get(rule, "resources")); v; v = v->next) {
		if (v->type != JV_STRING)
			continue;
		if (strcmp(v->s, "*") == 0 || strcmp(v->s, combined) == 0)
			return true;
		if (a->sub && strncmp(v->s, "*/", 2) == 0 && strcmp(v->s + 2, a->sub) == 0)
			return true;
	}
	return false;
}

/* NonResourceURLMatches: "*", the path, or a prefix ending in "*" */
static bool url_matches(const struct jv *rule, const char *path)
{
	for (const struct jv *v = jv_first(jv_get(rule, "nonResourceURLs")); v; v = v->next) {
		if (v->type != JV_STRING)
			continue;
		if (strcmp(v->s, "*") == 0 || strcmp(v->s, path) == 0)
			return true;
		if (v->len && v->s[v->len - 1] == '*' && strncmp(v->s, path, v->len - 1) == 0)
			return true;
	}
	return false;
}

static bool rule_allows(const struct jv *rule, const struct api_authz *a)
{
	const struct jv *names = jv_get(rule, "resourceNames");

	if (!verb_matches(rule, a->verb))
		return false;
	if (!a->resource_req)
		return url_matches(rule, a->path ? a->path : "");
	if (!api_rbac_has(jv_get(rule, "apiGroups"), "*") &&
	    !api_rbac_has(jv_get(rule, "apiGroups"), a->group))
		return false;
	if (!resource_matches(rule, a))
		return false;
	return jv_count(names) == 0 || (a->name && api_rbac_has(names, a->name));
}

/* ---- the visitor (validation.VisitRulesFor) ---- */

struct visit {
	struct api_server *s;
	const struct api_user *u;
	const struct api_authz *a; /* authorize: the request; NULL: collect the rules */
	bool allowed;
	char source[512]; /* the binding being visited, as describeSubject words it */
	struct k8s_buf errs;
	unsigned nerrs;
	/* RulesFor: every rule, copied */
	struct jv_doc *d;
	struct jv *rules;
	/* a missing role worded as the registry's Get words it (the RBAC storages' rule
	 * resolver reads through it), not as the authorizer's listers do */
	bool registry_words;
};

/* a rule of the role being visited: true to stop */
static bool visit_rule(struct visit *v, const struct jv *rule)
{
	if (!v->a) {
		jv_push(v->rules, jv_copy(v->d, rule));
		return false;
	}
	if (rule_allows(rule, v->a)) {
		v->allowed = true;
		return true;
	}
	return false;
}

static bool visit_rules(struct visit *v, const struct jv *role, unsigned depth);

/* label selector (metav1.LabelSelector) matches labels */
static bool selector_matches(const struct jv *sel, const struct jv *labels)
{
	for (const struct jv *m = jv_first(jv_get(sel, "matchLabels")); m; m = m->next) {
		const struct jv *have = jv_getn(labels, m->key, m->klen);

		if (!have || have->type != JV_STRING || m->type != JV_STRING ||
		    strcmp(have->s, m->s) != 0)
			return false;
	}
	for (const struct jv *e = jv_first(jv_get(sel, "matchExpressions")); e; e = e->next) {
		const char *key = jv_path_str(e, "key"), *op = jv_path_str(e, "operator");
		const struct jv *have = key ? jv_get(labels, key) : NULL;
		bool in =
		    have && have->type == JV_STRING && api_rbac_has(jv_get(e, "values"), have->s);

		if (!op || (strcmp(op, "In") == 0 && !in) || (strcmp(op, "NotIn") == 0 && in) ||
		    (strcmp(op, "Exists") == 0 && !have) ||
		    (strcmp(op, "DoesNotExist") == 0 && have))
			return false;
	}
	return true;
}

struct aggr {
	struct visit *v;
	const struct jv *role;
	unsigned depth;
	bool stop;
};

static bool aggr_one(const struct jv *cr, void *arg)
{
	struct aggr *g = arg;
	const char *self = jv_path_str(g->role, "metadata.name");
	const struct jv *labels = jv_path(cr, "metadata.labels");

	if (self && jv_is_str(jv_path(cr, "metadata.name"), self))
		return false;
	for (const struct jv *sel =
		 jv_first(jv_path(g->role, "aggregationRule.clusterRoleSelectors"));
	     sel; sel = sel->next)
		if (selector_matches(sel, labels)) {
			g->stop = visit_rules(g->v, cr, g->depth + 1);
			return g->stop;
		}
	return false;
}

/* The rules of a role (an aggregated ClusterRole's: those of the roles it selects). */
static bool visit_rules(struct visit *v, const struct jv *role, unsigned depth)
{
	if (jv_path(role, "aggregationRule.clusterRoleSelectors") && depth < MAX_AGGR_DEPTH) {
		struct aggr g = {.v = v, .role = role, .depth = depth};

		each(v->s, "clusterroles", NULL, aggr_one, &g);
		return g.stop;
	}
	for (const struct jv *r = jv_first(jv_get(role, "rules")); r; r = r->next)
		if (visit_rule(v, r))
			return true;
	return false;
}

static void add_err(struct visit *v, const char *fmt, const char *a, const char *b)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a, b);
	if (v->nerrs++)
		k8s_buf_put(&v->errs, ", ", 2);
	k8s_buf_put(&v->errs, msg, strlen(msg));
}

struct find_role {
	const char *name;
	struct visit *v;
	bool found, stop;
};

static bool role_named(const struct jv *role, void *arg)
{
	struct find_role *f = arg;

	if (!jv_is_str(jv_path(role, "metadata.name"), f->name))
		return false;
	f->found = true;
	f->stop = visit_rules(f->v, role, 0);
	return true;
}

/* The role a binding refers to: true to stop */
static bool visit_role_ref(struct visit *v, const struct jv *binding, const char *ns)
{
	const char *kind = jv_path_str(binding, "roleRef.kind");
	const char *name = jv_path_str(binding, "roleRef.name");
	bool cluster = kind && strcmp(kind, "ClusterRole") == 0;
	struct find_role f = {.name = name, .v = v};

	if (!name)
		return false;
	each(v->s, cluster ? "clusterroles" : "roles", cluster ? NULL : ns, role_named, &f);
	if (!f.found)
		add_err(v, "%s.rbac.authorization.k8s.io \"%s\" not found",
			cluster ? (v->registry_words ? "clusterroles" : "clusterrole")
				: (v->registry_words ? "roles" : "role"),
			name);
	return f.stop;
}

/* appliesToUser: the subject of the binding (namespace ns for RoleBindings) the user is */
static const struct jv *applies(const struct api_user *u, const struct jv *binding, const char *ns)
{
	for (const struct jv *s = jv_first(jv_get(binding, "subjects")); s; s = s->next) {
		const char *kind = jv_path_str(s, "kind"), *name = jv_path_str(s, "name");
		const char *sns = jv_path_str(s, "namespace");
		char sa[400];

		if (!kind || !name)
			continue;
		if (strcmp(kind, "User") == 0 && strcmp(name, u->name) == 0)
			return s;
		if (strcmp(kind, "Group") == 0 && has_group(u, name))
			return s;
		if (strcmp(kind, "ServiceAccount") == 0) {
			if (!sns || !sns[0])
				sns = ns ? ns : "";
			snprintf(sa, sizeof(sa), SA_PREFIX "%s:%s", sns, name);
			if (sns[0] && strcmp(sa, u->name) == 0)
				return s;
		}
	}
	return NULL;
}

/* describeSubject */
static void describe(char *buf, size_t size, const struct jv *s, const char *ns)
{
	const char *kind = jv_path_str(s, "kind"), *name = jv_path_str(s, "name");
	const char *sns = jv_path_str(s, "namespace");

	if (strcmp(kind, "ServiceAccount") == 0)
		snprintf(buf, size, "%s \"%s/%s\"", kind, name, sns && sns[0] ? sns : ns ? ns : "");
	else
		snprintf(buf, size, "%s \"%s\"", kind, name);
}

static bool visit_binding(const struct jv *b, void *arg, bool cluster)
{
	struct visit *v = arg;
	const char *ns = cluster ? NULL : jv_path_str(b, "metadata.namespace");
	const char *name = jv_path_str(b, "metadata.name");
	const struct jv *s = applies(v->u, b, ns);
	char subj[300];

	if (!s)
		return false;
	describe(subj, sizeof(subj), s, ns);
	if (cluster)
		snprintf(v->source, sizeof(v->source),
			 "ClusterRoleBinding \"%s\" of %s \"%s\" to %s", name ? name : "",
			 jv_path_str(b, "roleRef.kind") ?: "", jv_path_str(b, "roleRef.name") ?: "",
			 subj);
	else
		snprintf(v->source, sizeof(v->source), "RoleBinding \"%s/%s\" of %s \"%s\" to %s",
			 name ? name : "", ns ? ns : "", jv_path_str(b, "roleRef.kind") ?: "",
			 jv_path_str(b, "roleRef.name") ?: "", subj);
	return visit_role_ref(v, b, ns);
}

static bool visit_crb(const struct jv *b, void *arg)
{
	return visit_binding(b, arg, true);
}

static bool visit_rb(const struct jv *b, void *arg)
{
	return visit_binding(b, arg, false);
}

static void visit_all(struct visit *v, const char *ns)
{
	each(v->s, "clusterrolebindings", NULL, visit_crb, v);
	if (!v->allowed && ns && ns[0])
		each(v->s, "rolebindings", ns, visit_rb, v);
}

bool api_rbac_allows(struct api_server *s, const struct api_user *u, const struct api_authz *a,
		     char *reason, size_t size)
{
	struct visit v = {.s = s, .u = u, .a = a};

	if (reason && size)
		reason[0] = 0;
	visit_all(&v, a->resource_req ? a->ns : NULL);
	if (reason && size) {
		if (v.allowed)
			snprintf(reason, size, "RBAC: allowed by %s", v.source);
		else if (v.nerrs == 1)
			snprintf(reason, size, "RBAC: %.*s", (int)v.errs.len, v.errs.p);
		else if (v.nerrs > 1)
			snprintf(reason, size, "RBAC: [%.*s]", (int)v.errs.len, v.errs.p);
	}
	k8s_buf_free(&v.errs);
	return v.allowed;
}

/* ---- what the RBAC storages' escalation check asks (registry.h: struct reg_authz) ---- */

static struct api_user user_of(const struct reg_req *rq)
{
	return (struct api_user){rq->user, rq->groups, rq->ngroups};
}

static bool authz_allows(void *arg, const struct reg_req *rq, const char *verb, const char *group,
			 const char *resource, const char *ns, const char *name)
{
	struct api_user u = user_of(rq);
	struct api_authz a = {.verb = verb,
			      .group = group ? group : "",
			      .resource = resource,
			      .ns = ns,
			      .name = name && name[0] ? name : NULL,
			      .resource_req = true};
	char reason[600];

	return api_authz_decide(arg, &u, &a, reason, sizeof(reason));
}

static unsigned authz_rules_for(void *arg, const struct reg_req *rq, const char *ns,
				struct jv_doc *d, struct jv *out, struct k8s_buf *errs)
{
	struct api_user u = user_of(rq);
	struct visit v = {.s = arg, .u = &u, .d = d, .rules = out, .registry_words = true};

	visit_all(&v, ns);
	if (v.errs.len)
		k8s_buf_put(errs, v.errs.p, v.errs.len);
	k8s_buf_free(&v.errs);
	return v.nerrs;
}

static bool authz_role_rules(void *arg, bool cluster, const char *ns, const char *name,
			     struct jv_doc *d, struct jv *out)
{
	struct visit v = {.s = arg, .d = d, .rules = out};
	struct find_role f = {.name = name, .v = &v};

	each(arg, cluster ? "clusterroles" : "roles", cluster ? NULL : ns, role_named, &f);
	return f.found;
}

void api_rbac_attach(struct api_server *s)
{
	s->reg->authz = (struct reg_authz){.allows = authz_allows,
					   .rules_for = authz_rules_for,
					   .role_rules = authz_role_rules,
					   .arg = s};
}

/* ---- the 403 ---- */

void api_authz_forbid(struct api_req *r, const struct api_user *u, const struct api_authz *a,
		      const char *reason)
{
	char msg[1400], gr[256];
	struct api_result res = {0};
	int n;

	if (!a->resource_req)
		n = snprintf(msg, sizeof(msg), "User \"%s\" cannot %s path \"%s\"", u->name,
			     a->verb, a->path ? a->path : "");
	else if (a->ns && a->ns[0])
		n = snprintf(msg, sizeof(msg),
			     "User \"%s\" cannot %s resource \"%s%s%s\" in API group \"%s\" in the "
			     "namespace \"%s\"",
			     u->name, a->verb, a->resource, a->sub ? "/" : "", a->sub ? a->sub : "",
			     a->group, a->ns);
	else
		n = snprintf(msg, sizeof(msg),
			     "User \"%s\" cannot %s resource \"%s%s%s\" in API group \"%s\" at the "
			     "cluster scope",
			     u->name, a->verb, a->resource, a->sub ? "/" : "", a->sub ? a->sub : "",
			     a->group);
	if (reason && reason[0] && n > 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", reason);
	if (!a->resource_req) {
		api_error(r, 403, "Forbidden", "forbidden: %s", msg);
		return;
	}
	/* apierrors.NewForbidden(GroupResource, name, err) */
	snprintf(gr, sizeof(gr), "%s%s%s", a->resource, a->group[0] ? "." : "", a->group);
	{
		const struct api_resource *rr =
		    r->rt.res && strcmp(r->rt.res->kind->resource, a->resource) == 0 ? r->rt.res
										     : NULL;

		if (a->name && a->name[0])
			api_fail_details(&res, 403, "Forbidden", rr, a->name,
					 "%s \"%s\" is forbidden: %s", gr, a->name, msg);
		else
			api_fail_details(&res, 403, "Forbidden", rr, "", "%s is forbidden: %s", gr,
					 msg);
	}
	api_reply_status(r, &res);
	api_result_free(&res);
}

/* ---- impersonation ---- */

struct imp {
	struct api_req *r;
	char groups[API_MAX_GROUPS][128];
	unsigned ngroups;
	bool failed, any;
};

static enum MHD_Result imp_header(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct imp *p = cls;
	struct api_user me = {p->r->user, (const char(*)[128])p->r->groups, p->r->ngroups};
	struct api_authz a = {.verb = "impersonate", .group = "", .resource_req = true};
	char reason[600], extra[128];

	(void)kind;
	if (p->failed || !value)
		return MHD_YES;
	if (strcasecmp(key, "Impersonate-Group") == 0) {
		a.resource = "groups";
		a.name = value;
		if (p->ngroups < API_MAX_GROUPS)
			snprintf(p->groups[p->ngroups++], sizeof(p->groups[0]), "%s", value);
	} else if (strcasecmp(key, "Impersonate-Uid") == 0) {
		a.group = "authentication.k8s.io";
		a.resource = "uids";
		a.name = value;
	} else if (strncasecmp(key, "Impersonate-Extra-", 18) == 0) {
		/* the key is lower-cased and unescaped (%-encoded) by kube; lower-cased here */
		size_t i;

		for (i = 0; key[18 + i] && i + 1 < sizeof(extra); i++)
			extra[i] = (char)tolower((unsigned char)key[18 + i]);
		extra[i] = 0;
		a.group = "authentication.k8s.io";
		a.resource = "userextras";
		a.sub = extra;
		a.name = value;
	} else {
		return MHD_YES;
	}
	p->any = true;
	if (!api_authz_decide(p->r->srv, &me, &a, reason, sizeof(reason))) {
		api_authz_forbid(p->r, &me, &a, reason);
		p->failed = true;
	}
	return MHD_YES;
}

bool api_impersonate(struct api_req *r)
{
	const char *user =
	    r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Impersonate-User")
		    : NULL;
	struct api_user me = {r->user, (const char(*)[128])r->groups, r->ngroups};
	struct imp p = {.r = r};
	char reason[600], ns[128] = "", name[128] = "";
	struct api_authz a = {.verb = "impersonate", .group = "", .resource_req = true};

	if (!r->conn)
		return true;
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, imp_header, &p);
	if (p.failed)
		return false;
	if (!user || !user[0]) {
		if (p.any) {
			/* requested user.Info.Username must also be specified */
			api_error(r, 500, "InternalError",
				  "Internal error occurred: requested %s without impersonating a "
				  "user",
				  "[impersonation]");
			return false;
		}
		return true;
	}
	if (strncmp(user, SA_PREFIX, strlen(SA_PREFIX)) == 0 &&
	    sscanf(user + strlen(SA_PREFIX), "%127[^:]:%127s", ns, name) == 2) {
		a.resource = "serviceaccounts";
		a.ns = ns;
		a.name = name;
	} else {
		a.resource = "users";
		a.name = user;
	}
	if (!api_authz_decide(r->srv, &me, &a, reason, sizeof(reason))) {
		api_authz_forbid(r, &me, &a, reason);
		return false;
	}
	log_debug(COMP, "%s impersonates %s", r->user, user);
	snprintf(r->user, sizeof(r->user), "%s", user);
	r->ngroups = 0;
	if (ns[0] && !p.ngroups) {
		/* serviceaccount.MakeGroupNames */
		char g[160];

		api_req_add_group(r, "system:serviceaccounts", strlen("system:serviceaccounts"));
		snprintf(g, sizeof(g), "system:serviceaccounts:%s", ns);
		api_req_add_group(r, g, strlen(g));
	}
	for (unsigned i = 0; i < p.ngroups; i++)
		api_req_add_group(r, p.groups[i], strlen(p.groups[i]));
	return true;
}

/* ---- the reviews ---- */

bool api_review_resource(const struct api_resource *res)
{
	const char *g = res->kind->group, *n = res->kind->resource;

	return (strcmp(g, "authorization.k8s.io") == 0 &&
		(strcmp(n, "selfsubjectaccessreviews") == 0 ||
		 strcmp(n, "subjectaccessreviews") == 0 ||
		 strcmp(n, "localsubjectaccessreviews") == 0 ||
		 strcmp(n, "selfsubjectrulesreviews") == 0)) ||
	       (strcmp(g, "authentication.k8s.io") == 0 &&
		(strcmp(n, "selfsubjectreviews") == 0 || strcmp(n, "tokenreviews") == 0));
}

/* apierrors.NewInvalid(authorizationapi.Kind(kind), "", errs) with one error */
static void bad_request(struct api_req *r, const char *kind, const char *msg)
{
	api_error(r, 422, "Invalid", "%s.authorization.k8s.io \"\" is invalid: %s", kind, msg);
}

/* status.userInfo of a SelfSubjectReview / the groups with system:authenticated */
static struct jv *groups_of(struct jv_doc *d, const struct api_req *r)
{
	struct jv *g = jv_new(d, JV_ARRAY);
	bool auth = false;

	for (unsigned i = 0; i < r->ngroups; i++) {
		jv_push(g, jv_new_strz(d, r->groups[i]));
		auth |= strcmp(r->groups[i], AUTHENTICATED) == 0;
	}
	if (!auth)
		jv_push(g, jv_new_strz(d, AUTHENTICATED));
	return g;
}

/* SelfSubjectRulesReview's status: the union's RulesFor (privileged group, RBAC) */
static void rules_review(struct api_req *r, struct jv_doc *d, struct jv *obj,
			 const struct api_user *u)
{
	struct jv *st = jv_obj_at(d, obj, "status");
	struct jv *rr = jv_new(d, JV_ARRAY), *nr = jv_new(d, JV_ARRAY);
	struct visit v = {.s = r->srv, .u = u, .d = d, .rules = jv_new(d, JV_ARRAY)};
	const char *ns = jv_path_str(obj, "spec.namespace");

	if (has_group(u, "system:masters")) {
		jv_push(
		    rr,
		    jv_parse(
			d, "{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]}",
			strlen("{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]}"),
			NULL));
		jv_push(nr,
			jv_parse(d, "{\"verbs\":[\"*\"],\"nonResourceURLs\":[\"*\"]}",
				 strlen("{\"verbs\":[\"*\"],\"nonResourceURLs\":[\"*\"]}"), NULL));
	}
	visit_all(&v, ns);
	for (struct jv *rule = jv_first(v.rules), *next; rule; rule = next) {
		struct jv *o = jv_new(d, JV_OBJECT);
		bool nonres = jv_get(rule, "nonResourceURLs") != NULL;

		next = rule->next;
		jv_set(d, o, "verbs", jv_copy(d, jv_get(rule, "verbs")));
		if (nonres) {
			jv_set(d, o, "nonResourceURLs",
			       jv_copy(d, jv_get(rule, "nonResourceURLs")));
			jv_push(nr, o);
			continue;
		}
		if (jv_get(rule, "apiGroups"))
			jv_set(d, o, "apiGroups", jv_copy(d, jv_get(rule, "apiGroups")));
		if (jv_get(rule, "resources"))
			jv_set(d, o, "resources", jv_copy(d, jv_get(rule, "resources")));
		if (jv_count(jv_get(rule, "resourceNames")))
			jv_set(d, o, "resourceNames", jv_copy(d, jv_get(rule, "resourceNames")));
		jv_push(rr, o);
	}
	jv_set(d, st, "resourceRules", rr);
	jv_set(d, st, "nonResourceRules", nr);
	jv_set(d, st, "incomplete", jv_new_bool(d, v.nerrs > 0));
	if (v.nerrs)
		jv_set(d, st, "evaluationError", jv_new_str(d, v.errs.p, v.errs.len));
	k8s_buf_free(&v.errs);
}

/* an access review's status */
static void access_review(struct api_req *r, struct jv_doc *d, struct jv *obj,
			  const struct api_user *u)
{
	const struct jv *ra = jv_path(obj, "spec.resourceAttributes");
	const struct jv *na = jv_path(obj, "spec.nonResourceAttributes");
	struct jv *st = jv_obj_at(d, obj, "status");
	struct api_authz a = {.group = ""};
	char reason[600] = "";
	bool ok;

	if (ra) {
		a.resource_req = true;
		a.verb = jv_path_str(ra, "verb") ?: "";
		a.group = jv_path_str(ra, "group") ?: "";
		a.resource = jv_path_str(ra, "resource") ?: "";
		a.sub = jv_path_str(ra, "subresource");
		if (a.sub && !a.sub[0])
			a.sub = NULL;
		a.ns = jv_path_str(ra, "namespace");
		a.name = jv_path_str(ra, "name");
		if (a.name && !a.name[0])
			a.name = NULL;
	} else {
		a.verb = jv_path_str(na, "verb") ?: "";
		a.path = jv_path_str(na, "path") ?: "";
	}
	ok = api_authz_decide(r->srv, u, &a, reason, sizeof(reason));
	jv_set(d, st, "allowed", jv_new_bool(d, ok));
	if (reason[0])
		jv_set(d, st, "reason", jv_new_strz(d, reason));
}

/* A LocalSubjectAccessReview's namespace: the request's (the create handler's check), which
 * spec.resourceAttributes.namespace must repeat (ValidateLocalSubjectAccessReview). */
static bool lsar_namespace(struct api_req *r, struct jv_doc *d, struct jv *obj, const char *kind)
{
	struct jv *meta = jv_obj_at(d, obj, "metadata");
	const char *ons = jv_path_str(meta, "namespace");
	const char *ns = jv_path_str(obj, "spec.resourceAttributes.namespace");
	char msg[400];

	if (ons && ons[0] && strcmp(ons, r->rt.ns) != 0) {
		api_error(r, 400, "BadRequest",
			  "the namespace of the provided object does not match the namespace sent "
			  "on the request");
		return false;
	}
	jv_set(d, meta, "namespace", jv_new_strz(d, r->rt.ns));
	if (jv_path(obj, "spec.nonResourceAttributes")) {
		bad_request(r, kind,
			    "spec.nonResourceAttributes: Invalid value: "
			    "authorization.NonResourceAttributes{...}: disallowed on this kind of "
			    "request");
		return false;
	}
	if (!ns || strcmp(ns, r->rt.ns) != 0) {
		snprintf(msg, sizeof(msg),
			 "spec.resourceAttributes.namespace: Invalid value: \"%s\": must match "
			 "metadata.namespace",
			 ns ? ns : "");
		bad_request(r, kind, msg);
		return false;
	}
	return true;
}

/* A TokenReview's status (tokenreview/storage.go Create): spec.token through the bearer token
 * authenticators, for each of spec.audiences in turn (none: the server's); the user with
 * system:authenticated added, as the authenticator chain's group adder does. */
static void token_review(struct api_req *r, struct jv_doc *d, struct jv *obj)
{
	const char *token = jv_path_str(obj, "spec.token"), *aud = NULL;
	const struct jv *auds = jv_path(obj, "spec.audiences");
	struct api_req *t = calloc(1, sizeof(*t));
	struct jv *st = jv_obj_at(d, obj, "status"), *u, *a;
	bool ok = false;

	if (!t)
		return;
	t->srv = r->srv;
	t->authorization = malloc(strlen(token) + 8);
	if (t->authorization) {
		sprintf(t->authorization, "Bearer %s", token);
		if (!jv_count(auds))
			ok = api_token_authenticate(t, NULL, &aud);
		for (const struct jv *x = jv_first(auds); x && !ok; x = x->next)
			if (x->type == JV_STRING) {
				t->ngroups = 0;
				ok = api_token_authenticate(t, x->s, &aud);
			}
	}
	jv_set(d, st, "authenticated", jv_new_bool(d, ok));
	if (ok) {
		u = jv_obj_at(d, st, "user");
		jv_set(d, u, "username", jv_new_strz(d, t->user));
		jv_set(d, u, "groups", groups_of(d, t));
		a = jv_new(d, JV_ARRAY);
		jv_push(a, jv_new_strz(d, aud));
		jv_set(d, st, "audiences", a);
	} else {
		jv_set(d, st, "error",
		       jv_new_strz(d, "[invalid bearer token, token lookup failed]"));
	}
	free(t->authorization);
	free(t);
}

void api_serve_review(struct api_req *r)
{
	const char *res = r->rt.res->kind->resource, *kind = r->rt.res->kind->kind;
	struct jv_doc *d = jv_doc_new();
	struct api_result fail = {0};
	struct k8s_buf out = {0};
	struct jv *obj = NULL, *meta;
	struct api_user self = {r->user, (const char(*)[128])r->groups, r->ngroups};
	char groups[API_MAX_GROUPS][128];
	struct api_user who = {0};

	if (r->method != API_M_POST || r->rt.name || r->rt.sub) {
		api_error(r, 405, "MethodNotAllowed",
			  "the server does not allow this method on the requested resource");
		jv_doc_free(d);
		return;
	}
	if (d) {
		/* JSON, YAML or protobuf (kubectl's clients send protobuf) */
		struct api_body b = {.p = r->body.p,
				     .len = r->body.len,
				     .ctype = r->content_type,
				     .max = r->srv->cfg.max_body};

		obj = api_decode_object(&b, d, r->rt.res->kind, K8S_FV_STRICT, &fail);
	}
	if (!obj || obj->type != JV_OBJECT) {
		if (!api_reply_status(r, &fail))
			api_error(r, 500, "InternalError",
				  "Internal error occurred: out of memory");
		api_result_free(&fail);
		jv_doc_free(d);
		return;
	}
	meta = jv_obj_at(d, obj, "metadata");
	if (!jv_get(meta, "creationTimestamp"))
		jv_set(d, meta, "creationTimestamp", jv_new(d, JV_NULL));
	jv_set(d, obj, "apiVersion", jv_new_strz(d, r->rt.res->kind->api_version));
	jv_set(d, obj, "kind", jv_new_strz(d, kind));
	if (strcmp(res, "tokenreviews") == 0) {
		const char *tok = jv_path_str(obj, "spec.token");

		if (!tok || !tok[0]) {
			api_error(r, 400, "BadRequest",
				  "token is required for TokenReview in authentication");
			jv_doc_free(d);
			return;
		}
		token_review(r, d, obj);
	} else if (strcmp(res, "selfsubjectreviews") == 0) {
		struct jv *ui = jv_obj_at(d, jv_obj_at(d, obj, "status"), "userInfo");

		jv_set(d, ui, "username", jv_new_strz(d, r->user));
		jv_set(d, ui, "groups", groups_of(d, r));
	} else if (strcmp(res, "selfsubjectrulesreviews") == 0) {
		if (!jv_path_str(obj, "spec.namespace")) {
			bad_request(r, kind, "spec.namespace: Required value");
			jv_doc_free(d);
			return;
		}
		rules_review(r, d, obj, &self);
	} else {
		bool ra = jv_path(obj, "spec.resourceAttributes") != NULL;
		bool na = jv_path(obj, "spec.nonResourceAttributes") != NULL;

		if (ra == na) {
			bad_request(
			    r, kind,
			    ra ? "spec.nonResourceAttributes: Invalid value: "
				 "authorization.NonResourceAttributes{...}: cannot be specified "
				 "in combination with resourceAttributes"
			       : "spec.resourceAttributes: Invalid value: \"null\": exactly "
				 "one of nonResourceAttributes or resourceAttributes must be "
				 "specified");
			jv_doc_free(d);
			return;
		}
		if (strcmp(res, "selfsubjectaccessreviews") == 0) {
			who = self;
		} else {
			/* validation: spec.user or spec.groups is required */
			const struct jv *gs = jv_path(obj, "spec.groups");
			unsigned n = 0;

			who.name = jv_path_str(obj, "spec.user") ?: "";
			for (const struct jv *g = jv_first(gs); g && n < API_MAX_GROUPS;
			     g = g->next)
				if (g->type == JV_STRING)
					snprintf(groups[n++], sizeof(groups[0]), "%s", g->s);
			who.groups = (const char(*)[128])groups;
			who.ngroups = n;
			if (!who.name[0] && !n) {
				bad_request(r, kind,
					    "spec.user: Invalid value: \"\": at least one of user "
					    "or group must be specified");
				jv_doc_free(d);
				return;
			}
			if (strcmp(res, "localsubjectaccessreviews") == 0 &&
			    !lsar_namespace(r, d, obj, kind)) {
				jv_doc_free(d);
				return;
			}
		}
		access_review(r, d, obj, &who);
	}
	k8s_jv_write_schema(&out, obj, r->rt.res->kind->type);
	jv_doc_free(d);
	api_reply_buf(r, 201, &out);
}
