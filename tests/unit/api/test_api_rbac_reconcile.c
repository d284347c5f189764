/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_rbac_reconcile: the default RBAC policy reconciled at every start, as
 * kube-apiserver 1.32's rbac/bootstrap-roles hook does (pkg/registry/rbac/rest/
 * storage_rbac.go ensureRBACPolicy over staging/src/k8s.io/component-helpers/auth/rbac/
 * reconciliation: computeReconciledRole, computeReconciledRoleBinding, with
 * RemoveExtraPermissions/RemoveExtraSubjects false): a server over a data directory, default
 * objects edited, a new server over the same directory, and what it made of them. And
 * validation.Covers (policy_comparator.go), which decides what a role lacks.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_rbac_rules.h"
#include "helpers.h"

#define RBAC "/apis/rbac.authorization.k8s.io/v1"
#define CR   RBAC "/clusterroles/"
#define CRB  RBAC "/clusterrolebindings/"
#define AUTH "rbac.authorization.kubernetes.io/autoupdate"
#define GRP  "`apiGroup`:`rbac.authorization.k8s.io`"

/* The JSON at field of the object at path equals want (` for ") */
static void expect_json(struct tsrv *t, const char *path, const char *field, const char *want)
{
	struct tresp r;
	char *got = jv_to_json(jv_path(tget(t, path, 200, &r), field), NULL);
	char *w = strdup(tq(want));

	if (strcmp(got ? got : "(none)", w) != 0)
		fail_msg("%s %s:\n  got  %s\n  want %s", path, field, got ? got : "(none)", w);
	free(w);
	free(got);
	tresp_free(&r);
}

static void patch(struct tsrv *t, const char *path, const char *body)
{
	texpect(t, "PATCH", path, tq(body), 200, NULL);
}

/* The resourceVersion (or uid) of the object at path, malloc'd */
static char *meta_of(struct tsrv *t, const char *path, const char *field)
{
	struct tresp r;
	char *s = strdup(tstr(jv_get(tget(t, path, 200, &r), "metadata"), field));

	tresp_free(&r);
	return s;
}

/* A default role's rule removed comes back, broken down as Covers reports it (one verb and
 * resource each, appended); a rule added stays; a label the administrator changed keeps its
 * value, one removed comes back, one added stays. */
static void test_role_rules(void **state)
{
	struct tsrv t;

	(void)state;
	tsrv_start(&t);
	/* policy: list,watch on endpoints and services */
	patch(&t, CR "system:kube-dns",
	      "{`metadata`:{`labels`:{`kubernetes.io/bootstrapping`:`mine`,`team`:`dns`},"
	      "`annotations`:{`" AUTH "`:null}},"
	      "`rules`:[{`verbs`:[`list`,`watch`],`apiGroups`:[``],`resources`:[`endpoints`]},"
	      "{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`configmaps`]}]}");
	/* policy: get on 11 paths; the prefix "/apis" + star covers /apis, /apis/ and every
	 * path under it, while "/api/" + star does not cover /api */
	patch(&t, CR "system:discovery",
	      "{`rules`:[{`verbs`:[`get`],`nonResourceURLs`:[`/api/*`,`/apis*`,`/healthz`,"
	      "`/livez`,`/openapi`,`/openapi/*`,`/readyz`,`/version`]}]}");
	/* policy: get,list,watch on the configmap extension-apiserver-authentication; a rule
	 * of the same resource without names covers any name */
	patch(&t, RBAC "/namespaces/kube-system/roles/extension-apiserver-authentication-reader",
	      "{`rules`:[{`verbs`:[`get`,`list`],`apiGroups`:[``],`resources`:[`configmaps`]}]}");
	/* a role the policy does not aggregate loses an aggregationRule; view gets its
	 * selector back beside one added */
	patch(&t, CR "system:kube-scheduler",
	      "{`aggregationRule`:{`clusterRoleSelectors`:[{`matchLabels`:{`x`:`y`}}]}}");
	patch(&t, CR "view",
	      "{`aggregationRule`:{`clusterRoleSelectors`:[{`matchLabels`:{`mine`:`true`}}]}}");
	tsrv_restart(&t);

	expect_json(&t, CR "system:kube-dns", "rules",
		    "[{`verbs`:[`list`,`watch`],`apiGroups`:[``],`resources`:[`endpoints`]},"
		    "{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`configmaps`]},"
		    "{`verbs`:[`list`],`apiGroups`:[``],`resources`:[`services`]},"
		    "{`verbs`:[`watch`],`apiGroups`:[``],`resources`:[`services`]}]");
	expect_json(&t, CR "system:kube-dns", "metadata.labels",
		    "{`kubernetes.io/bootstrapping`:`mine`,`team`:`dns`}");
	expect_json(&t, CR "system:kube-dns", "metadata.annotations", "{`" AUTH "`:`true`}");
	expect_json(&t, CR "system:discovery", "rules",
		    "[{`verbs`:[`get`],`nonResourceURLs`:[`/api/*`,`/apis*`,`/healthz`,`/livez`,"
		    "`/openapi`,`/openapi/*`,`/readyz`,`/version`]},"
		    "{`verbs`:[`get`],`nonResourceURLs`:[`/api`]},"
		    "{`verbs`:[`get`],`nonResourceURLs`:[`/version/`]}]");
	expect_json(&t,
		    RBAC "/namespaces/kube-system/roles/extension-apiserver-authentication-reader",
		    "rules",
		    "[{`verbs`:[`get`,`list`],`apiGroups`:[``],`resources`:[`configmaps`]},"
		    "{`verbs`:[`watch`],`apiGroups`:[``],`resources`:[`configmaps`],"
		    "`resourceNames`:[`extension-apiserver-authentication`]}]");
	expect_json(&t, CR "system:kube-scheduler", "aggregationRule", "(none)");
	expect_json(&t, CR "view", "aggregationRule.clusterRoleSelectors",
		    "[{`matchLabels`:{`mine`:`true`}},"
		    "{`matchLabels`:{`rbac.authorization.k8s.io/aggregate-to-view`:`true`}}]");
	tsrv_stop(&t);
}

/* autoupdate "false": the object is the administrator's, kept as it is (Protected) */
static void test_protected(void **state)
{
	struct tsrv t;
	char *rv, *rv2;

	(void)state;
	tsrv_start(&t);
	patch(&t, CR "system:kube-dns",
	      "{`metadata`:{`labels`:null,`annotations`:{`" AUTH "`:`false`}},"
	      "`rules`:[{`verbs`:[`list`],`apiGroups`:[``],`resources`:[`endpoints`]}]}");
	patch(&t, CRB "system:public-info-viewer",
	      "{`metadata`:{`annotations`:{`" AUTH "`:`false`}},"
	      "`subjects`:[{`kind`:`Group`," GRP ",`name`:`system:authenticated`}]}");
	rv = meta_of(&t, CR "system:kube-dns", "resourceVersion");
	tsrv_restart(&t);
	rv2 = meta_of(&t, CR "system:kube-dns", "resourceVersion");
	assert_string_equal(rv, rv2);
	expect_json(&t, CR "system:kube-dns", "rules",
		    "[{`verbs`:[`list`],`apiGroups`:[``],`resources`:[`endpoints`]}]");
	expect_json(&t, CR "system:kube-dns", "metadata.labels", "(none)");
	expect_json(&t, CRB "system:public-info-viewer", "subjects",
		    "[{`kind`:`Group`," GRP ",`name`:`system:authenticated`}]");
	free(rv);
	free(rv2);
	tsrv_stop(&t);
}

/* A binding's subject removed comes back (appended), one added stays; a binding deleted and
 * made again with another roleRef (immutable) is deleted and made as the policy has it. */
static void test_bindings(void **state)
{
	struct tsrv t;
	char *uid, *uid2;

	(void)state;
	tsrv_start(&t);
	patch(&t, CRB "system:public-info-viewer",
	      "{`subjects`:[{`kind`:`User`," GRP ",`name`:`alice`},"
	      "{`kind`:`Group`," GRP ",`name`:`system:unauthenticated`}]}");
	patch(&t,
	      RBAC "/namespaces/kube-system/rolebindings/"
		   "system::extension-apiserver-authentication-reader",
	      "{`subjects`:[]}");
	texpect(&t, "DELETE", CRB "system:kube-dns", NULL, 200, NULL);
	texpect(&t, "POST", RBAC "/clusterrolebindings",
		tq("{`apiVersion`:`rbac.authorization.k8s.io/v1`,`kind`:`ClusterRoleBinding`,"
		   "`metadata`:{`name`:`system:kube-dns`},`roleRef`:{" GRP ",`kind`:`ClusterRole`,"
		   "`name`:`view`},`subjects`:[{`kind`:`User`," GRP ",`name`:`bob`}]}"),
		201, NULL);
	uid = meta_of(&t, CRB "system:kube-dns", "uid");
	tsrv_restart(&t);

	expect_json(&t, CRB "system:public-info-viewer", "subjects",
		    "[{`kind`:`User`," GRP ",`name`:`alice`},"
		    "{`kind`:`Group`," GRP ",`name`:`system:unauthenticated`},"
		    "{`kind`:`Group`," GRP ",`name`:`system:authenticated`}]");
	expect_json(&t,
		    RBAC "/namespaces/kube-system/rolebindings/"
			 "system::extension-apiserver-authentication-reader",
		    "subjects",
		    "[{`kind`:`User`," GRP ",`name`:`system:kube-controller-manager`},"
		    "{`kind`:`User`," GRP ",`name`:`system:kube-scheduler`}]");
	expect_json(&t, CRB "system:kube-dns", "roleRef",
		    "{" GRP ",`kind`:`ClusterRole`,`name`:`system:kube-dns`}");
	expect_json(&t, CRB "system:kube-dns", "subjects",
		    "[{`kind`:`ServiceAccount`,`name`:`kube-dns`,`namespace`:`kube-system`}]");
	uid2 = meta_of(&t, CRB "system:kube-dns", "uid");
	assert_string_not_equal(uid, uid2);
	free(uid);
	free(uid2);
	tsrv_stop(&t);
}

/* name -> resourceVersion of every object of an RBAC list, as "name=rv\n" lines */
static char *versions(struct tsrv *t, const char *path)
{
	struct tresp r;
	const struct jv *items = jv_get(tget(t, path, 200, &r), "items");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_true(jv_count(items) > 0);
	for (const struct jv *it = jv_first(items); it; it = it->next)
		fprintf(f, "%s/%s=%s\n", tstr(it, "metadata.namespace"), tstr(it, "metadata.name"),
			tstr(it, "metadata.resourceVersion"));
	fclose(f);
	tresp_free(&r);
	return buf;
}

/* A start with everything in place writes nothing: every default object keeps its
 * resourceVersion, also after a start that reconciled one of them. */
static void test_no_write(void **state)
{
	static const char *const lists[] = {RBAC "/clusterroles", RBAC "/clusterrolebindings",
					    RBAC "/roles", RBAC "/rolebindings"};
	char *before[4], *after;
	struct tsrv t;

	(void)state;
	tsrv_start(&t);
	patch(&t, CR "system:kube-dns", "{`rules`:[]}");
	tsrv_restart(&t); /* puts the rules back */
	for (size_t i = 0; i < 4; i++)
		before[i] = versions(&t, lists[i]);
	tsrv_restart(&t);
	for (size_t i = 0; i < 4; i++) {
		after = versions(&t, lists[i]);
		assert_string_equal(before[i], after);
		free(after);
		free(before[i]);
	}
	tsrv_stop(&t);
}

/* validation.Covers: how many broken-down rules of servant owner leaves uncovered */
static long uncovered(const char *owner, const char *servant, char **out)
{
	struct jv_doc *d = jv_doc_new();
	char *o = strdup(tq(owner)), *s = strdup(tq(servant));
	struct jv *jo = jv_parse(d, o, strlen(o), NULL), *js = jv_parse(d, s, strlen(s), NULL);
	struct jv *list = jv_new(d, JV_ARRAY);
	long n;

	assert_non_null(jo);
	assert_non_null(js);
	n = api_rbac_uncovered(jo, js, d, list);
	assert_int_equal(n, (long)jv_count(list));
	*out = jv_to_json(list, NULL);
	free(o);
	free(s);
	jv_doc_free(d);
	return n;
}

static void expect_uncovered(const char *owner, const char *servant, const char *want)
{
	char *got = NULL;
	char *w = strdup(tq(want));

	uncovered(owner, servant, &got);
	if (strcmp(got, w) != 0)
		fail_msg("owner %s servant %s:\n  got  %s\n  want %s", owner, servant, got, w);
	free(got);
	free(w);
}

static void test_covers(void **state)
{
	(void)state;
	/* stars: every verb, group, resource */
	expect_uncovered("[{`verbs`:[`*`],`apiGroups`:[`*`],`resources`:[`*`]}]",
			 "[{`verbs`:[`get`,`delete`],`apiGroups`:[``,`apps`],`resources`:"
			 "[`pods`,`deployments/scale`],`resourceNames`:[`a`]}]",
			 "[]");
	/* a resource star does not cover non-resource URLs, and back */
	expect_uncovered("[{`verbs`:[`*`],`apiGroups`:[`*`],`resources`:[`*`]}]",
			 "[{`verbs`:[`get`],`nonResourceURLs`:[`/healthz`]}]",
			 "[{`verbs`:[`get`],`nonResourceURLs`:[`/healthz`]}]");
	/* a star before a subresource: that subresource of every resource, not the resource */
	expect_uncovered("[{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`*/status`]}]",
			 "[{`verbs`:[`get`,`update`],`apiGroups`:[``],`resources`:"
			 "[`pods/status`,`pods`]}]",
			 "[{`verbs`:[`update`],`apiGroups`:[``],`resources`:[`pods/status`]},"
			 "{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`pods`]},"
			 "{`verbs`:[`update`],`apiGroups`:[``],`resources`:[`pods`]}]");
	/* an owner with names does not cover a rule without; one without covers any name */
	expect_uncovered("[{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`secrets`],"
			 "`resourceNames`:[`a`]}]",
			 "[{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`secrets`]},"
			 "{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`secrets`],"
			 "`resourceNames`:[`a`,`b`]}]",
			 "[{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`secrets`]},"
			 "{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`secrets`],"
			 "`resourceNames`:[`b`]}]");
	expect_uncovered("[{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`secrets`]}]",
			 "[{`verbs`:[`get`],`apiGroups`:[``],`resources`:[`secrets`],"
			 "`resourceNames`:[`a`]}]",
			 "[]");
	/* URL prefixes: stars trimmed, then a prefix */
	expect_uncovered(
	    "[{`verbs`:[`get`],`nonResourceURLs`:[`/logs**`,`/api`]}]",
	    "[{`verbs`:[`get`],`nonResourceURLs`:[`/logs`,`/logs/x`,`/api`,`/api/v1`]}]",
	    "[{`verbs`:[`get`],`nonResourceURLs`:[`/api/v1`]}]");
	/* no rules: nothing to cover; no owner: all uncovered */
	expect_uncovered("[]", "[]", "[]");
	expect_uncovered("[]", "[{`verbs`:[`get`,`list`],`apiGroups`:[`apps`],`resources`:[`x`]}]",
			 "[{`verbs`:[`get`],`apiGroups`:[`apps`],`resources`:[`x`]},"
			 "{`verbs`:[`list`],`apiGroups`:[`apps`],`resources`:[`x`]}]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_covers),    cmocka_unit_test(test_role_rules),
	    cmocka_unit_test(test_protected), cmocka_unit_test(test_bindings),
	    cmocka_unit_test(test_no_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
