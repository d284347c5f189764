/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac_rules: whether RBAC PolicyRules cover others, as Kubernetes 1.32's
 * staging/src/k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go decides it
 * (Covers, BreakdownRule, ruleCovers, resourceCoversAll, nonResourceURLCovers).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "api_rbac_rules.h"

/* One rule of BreakdownRule's: at most one of each (NULL: the list is empty). */
struct subrule {
	const char *group, *resource, *verb, *name, *url;
};

bool api_rbac_has(const struct jv *set, const char *s)
{
	for (const struct jv *v = jv_first(set); v; v = v->next)
		if (jv_is_str(v, s))
			return true;
	return false;
}

/* resourceCoversAll(owner's resources, [r]): "*", r itself, or for a subresource r = x/sub
 * the owner's "*" + "/sub" (every resource's sub) */
static bool resource_covers(const struct jv *set, const char *r)
{
	const char *slash = strchr(r, '/');

	if (api_rbac_has(set, "*") || api_rbac_has(set, r))
		return true;
	if (!slash)
		return false;
	for (const struct jv *v = jv_first(set); v; v = v->next)
		if (v->type == JV_STRING && strncmp(v->s, "*/", 2) == 0 &&
		    strcmp(v->s + 2, slash + 1) == 0)
			return true;
	return false;
}

/* nonResourceURLCovers: the path itself, or a prefix ending in a star (the owner "/api" + "*"
 * covers "/api/v1"; trailing stars trimmed, as strings.TrimRight does) */
static bool url_covers(const char *owner, const char *path)
{
	size_t n = strlen(owner);

	if (strcmp(owner, path) == 0)
		return true;
	if (!n || owner[n - 1] != '*')
		return false;
	while (n && owner[n - 1] == '*')
		n--;
	return strncmp(path, owner, n) == 0;
}

/* ruleCovers(owner, sub): each part of sub is one value or none; none is covered (hasAll of
 * an empty list) except resourceNames, where a rule without names needs an owner without. */
static bool rule_covers(const struct jv *owner, const struct subrule *s)
{
	const struct jv *verbs = jv_get(owner, "verbs"), *groups = jv_get(owner, "apiGroups");
	const struct jv *names = jv_get(owner, "resourceNames");
	bool url = !s->url;

	if (!api_rbac_has(verbs, "*") && !api_rbac_has(verbs, s->verb))
		return false;
	if (s->group && !api_rbac_has(groups, "*") && !api_rbac_has(groups, s->group))
		return false;
	if (s->resource && !resource_covers(jv_get(owner, "resources"), s->resource))
		return false;
	for (const struct jv *v = jv_first(jv_get(owner, "nonResourceURLs")); !url && v;
	     v = v->next)
		url = v->type == JV_STRING && url_covers(v->s, s->url);
	if (!url)
		return false;
	return s->name ? !jv_count(names) || api_rbac_has(names, s->name) : !jv_count(names);
}

static int add_list(struct jv_doc *d, struct jv *rule, const char *key, const char *s)
{
	struct jv *a = jv_new(d, JV_ARRAY), *v = jv_new_strz(d, s);

	if (!a || !v)
		return -ENOMEM;
	jv_push(a, v);
	return jv_set(d, rule, key, a);
}

/* sub as a PolicyRule of d (fields in rbacv1.PolicyRule's order) appended to out */
static int append(struct jv_doc *d, struct jv *out, const struct subrule *s)
{
	struct jv *rule = jv_new(d, JV_OBJECT);
	const char *keys[] = {"verbs", "apiGroups", "resources", "resourceNames",
			      "nonResourceURLs"};
	const char *vals[] = {s->verb, s->group, s->resource, s->name, s->url};

	if (!rule)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (vals[i] && add_list(d, rule, keys[i], vals[i]))
			return -ENOMEM;
	jv_push(out, rule);
	return 0;
}

/* Is sub covered by a rule of owner? If not, count it (and append it to out). */
static int check(const struct jv *owner, const struct subrule *s, struct jv_doc *d, struct jv *out,
		 long *n)
{
	for (const struct jv *r = jv_first(owner); r; r = r->next)
		if (rule_covers(r, s))
			return 0;
	++*n;
	return out ? append(d, out, s) : 0;
}

/* The string items of a list (a stored rule's lists hold strings only; anything else is
 * skipped rather than read as one). */
static const struct jv *str_from(const struct jv *v)
{
	while (v && v->type != JV_STRING)
		v = v->next;
	return v;
}

static const struct jv *first_str(const struct jv *list)
{
	return str_from(jv_first(list));
}

static const struct jv *next_str(const struct jv *v)
{
	return str_from(v->next);
}

/* One (group, resource, verb) of BreakdownRule: one rule per resourceName, or one without */
static int check_names(const struct jv *owner, struct subrule *s, const struct jv *names,
		       struct jv_doc *d, struct jv *out, long *n)
{
	int err = 0;

	if (!first_str(names))
		return check(owner, s, d, out, n);
	for (const struct jv *nm = first_str(names); !err && nm; nm = next_str(nm)) {
		s->name = nm->s;
		err = check(owner, s, d, out, n);
	}
	return err;
}

/* BreakdownRule of one rule, each part checked against owner */
static int breakdown(const struct jv *owner, const struct jv *rule, struct jv_doc *d,
		     struct jv *out, long *n)
{
	const struct jv *verbs = jv_get(rule, "verbs"), *names = jv_get(rule, "resourceNames");
	const struct jv *resources = jv_get(rule, "resources");
	struct subrule s;
	int err = 0;

	for (const struct jv *g = first_str(jv_get(rule, "apiGroups")); !err && g; g = next_str(g))
		for (const struct jv *r = first_str(resources); !err && r; r = next_str(r))
			for (const struct jv *v = first_str(verbs); !err && v; v = next_str(v)) {
				s = (struct subrule){.group = g->s, .resource = r->s, .verb = v->s};
				err = check_names(owner, &s, names, d, out, n);
			}
	/* non-resource URLs combine with verbs only */
	for (const struct jv *u = first_str(jv_get(rule, "nonResourceURLs")); !err && u;
	     u = next_str(u))
		for (const struct jv *v = first_str(verbs); !err && v; v = next_str(v)) {
			s = (struct subrule){.url = u->s, .verb = v->s};
			err = check(owner, &s, d, out, n);
		}
	return err;
}

long api_rbac_uncovered(const struct jv *owner, const struct jv *servant, struct jv_doc *d,
			struct jv *out)
{
	long n = 0;

	for (const struct jv *rule = jv_first(servant); rule; rule = rule->next)
		if (breakdown(owner, rule, d, out, &n))
			return -ENOMEM;
	return n;
}
