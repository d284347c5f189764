/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_rbac: the server over TLS; the admin (token: system:masters) acts as other users
 * through the Impersonate-* headers (endpoints/filters/impersonation.go), so each request is
 * authorized as alice, a group or a service account by the RBAC authorizer
 * (plugin/pkg/auth/authorizer/rbac) over the stored Roles and bindings and the bootstrap
 * ClusterRoles: verbs, resourceNames, subresources, nonResourceURLs, aggregation, the 403
 * messages (responsewriters.forbiddenMessage), the access reviews and impersonation refused.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

struct env {
	struct tsrv t; /* TLS; requests present alice's certificate when t.crt is set */
	char token[128], alice_crt[300], alice_key[300];
};

/* One request: as NULL (the admin's token), "user[|group...]" (the admin impersonating),
 * "cert" (alice's client certificate, CN alice, O team) or "cert:user[|group...]" (alice
 * impersonating). The code, the body
 * in *out. */
static long call(struct env *e, const char *as, const char *method, const char *path,
		 const char *body, char **out)
{
	char hdrs[8][300];
	const char *h[9] = {0};
	size_t nh = 0;
	struct tresp r;
	long code;

	e->t.crt[0] = 0;
	if (as && strncmp(as, "cert", 4) == 0) {
		snprintf(e->t.crt, sizeof(e->t.crt), "%s", e->alice_crt);
		snprintf(e->t.key, sizeof(e->t.key), "%s", e->alice_key);
		as = as[4] == ':' ? as + 5 : NULL;
	} else {
		snprintf(hdrs[nh++], sizeof(hdrs[0]), "Authorization: Bearer %s", e->token);
	}
	for (const char *p = as; p && *p && nh < 8;) {
		size_t n = strcspn(p, "|");

		snprintf(hdrs[nh++], sizeof(hdrs[0]), "Impersonate-%s: %.*s",
			 p == as ? "User" : "Group", (int)n, p);
		p += n + (p[n] == '|');
	}
	for (size_t i = 0; i < nh; i++)
		h[i] = hdrs[i];
	treq_headers(&e->t, method, path, NULL, body, NULL, h, &r);
	code = r.code;
	if (out)
		*out = strdup(r.body ? r.body : "");
	tresp_free(&r);
	return code;
}

static void expect(struct env *e, const char *as, const char *method, const char *path,
		   const char *body, long code, const char *text)
{
	char *out = NULL;
	long got = call(e, as, method, path, body, &out);

	if (got != code || (text && !strstr(out, text)))
		fail_msg("%s %s as %s: %ld %s (want %ld, \"%s\")", method, path, as ? as : "admin",
			 got, out, code, text ? text : "");
	free(out);
}

#define RBAC "/apis/rbac.authorization.k8s.io/v1"
#define PODS "/api/v1/namespaces/default/pods"

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	tsrv_start_tls(&e->t);
	snprintf(e->token, sizeof(e->token), "%s", api_server_token(e->t.s));
	tsrv_client_cert(&e->t, "alice", "alice", "team", e->alice_crt, e->alice_key);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	tsrv_stop(&e->t);
	free(e);
	return 0;
}

static void role(struct env *e, const char *ns, const char *name, const char *rules)
{
	char path[200], body[2000];

	snprintf(path, sizeof(path), RBAC "/namespaces/%s/roles", ns);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\","
		 "\"metadata\":{\"name\":\"%s\"},\"rules\":[%s]}",
		 name, rules);
	expect(e, NULL, "POST", path, body, 201, NULL);
}

static void binding(struct env *e, const char *ns, const char *name, const char *kind,
		    const char *role, const char *subject)
{
	char path[200], body[2000];

	if (ns)
		snprintf(path, sizeof(path), RBAC "/namespaces/%s/rolebindings", ns);
	else
		snprintf(path, sizeof(path), RBAC "/clusterrolebindings");
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"%s\","
		 "\"metadata\":{\"name\":\"%s\"},\"roleRef\":{\"apiGroup\":"
		 "\"rbac.authorization.k8s.io\",\"kind\":\"%s\",\"name\":\"%s\"},"
		 "\"subjects\":[%s]}",
		 ns ? "RoleBinding" : "ClusterRoleBinding", name, kind, role, subject);
	expect(e, NULL, "POST", path, body, 201, NULL);
}

/* A user: denied with kube's message until a RoleBinding; per verb */
static void test_user_verbs(void **state)
{
	struct env *e = *state;

	expect(e, "alice", "GET", PODS, NULL, 403,
	       "pods is forbidden: User \\\"alice\\\" cannot list resource \\\"pods\\\" in API "
	       "group \\\"\\\" in the namespace \\\"default\\\"");
	expect(e, "alice", "GET", "/api/v1/nodes", NULL, 403,
	       "nodes is forbidden: User \\\"alice\\\" cannot list resource \\\"nodes\\\" in API "
	       "group \\\"\\\" at the cluster scope");
	expect(e, "alice", "GET", PODS "/p1/log", NULL, 403,
	       "pods \\\"p1\\\" is forbidden: User \\\"alice\\\" cannot get resource "
	       "\\\"pods/log\\\" in API group \\\"\\\" in the namespace \\\"default\\\"");
	expect(e, "alice", "GET", "/metrics", NULL, 403,
	       "forbidden: User \\\"alice\\\" cannot get path \\\"/metrics\\\"");
	role(e, "default", "pod-reader",
	     "{\"verbs\":[\"get\",\"list\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}");
	binding(
	    e, "default", "alice-reads", "Role", "pod-reader",
	    "{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"alice\"}");
	expect(e, "alice", "GET", PODS, NULL, 200, "PodList");
	/* pods is not pods/log */
	expect(e, "alice", "GET", PODS "/p1/log", NULL, 403,
	       "cannot get resource \\\"pods/log\\\"");
	expect(e, "alice", "GET", "/api/v1/namespaces/kube-system/pods", NULL, 403,
	       "in the namespace \\\"kube-system\\\"");
	expect(e, "alice", "GET", PODS "?watch=1&timeoutSeconds=1", NULL, 403,
	       "cannot watch resource \\\"pods\\\"");
	expect(e, "alice", "POST", PODS,
	       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}", 403,
	       "cannot create resource \\\"pods\\\"");
	expect(e, "alice", "DELETE", PODS "/x", NULL, 403,
	       "pods \\\"x\\\" is forbidden: User \\\"alice\\\" cannot delete resource");
	/* bob is not alice; discovery is everyone's (system:discovery) */
	expect(e, "bob", "GET", PODS, NULL, 403, "User \\\"bob\\\" cannot list");
	expect(e, "bob", "GET", "/apis", NULL, 200, NULL);
	/* a binding to a missing role: RBAC's reason */
	binding(e, "default", "bob-missing", "Role", "nope",
		"{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"bob\"}");
	expect(e, "bob", "GET", PODS, NULL, 403,
	       "in the namespace \\\"default\\\": RBAC: role.rbac.authorization.k8s.io "
	       "\\\"nope\\\" not found");
}

/* The authorizer reads roles and bindings from the registry's cache (reg_cache.c): each
 * change takes effect on the next request (kube's authorizer is eventually consistent;
 * drover's is not): a binding deleted, a role's rules changed, a missing role created. */
static void test_cache_fresh(void **state)
{
	struct env *e = *state;

	role(e, "default", "cm-reader",
	     "{\"verbs\":[\"list\"],\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"]}");
	binding(e, "default", "carol-cm", "Role", "cm-reader",
		"{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":"
		"\"carol\"}");
	expect(e, "carol", "GET", "/api/v1/namespaces/default/configmaps", NULL, 200, NULL);
	expect(e, "carol", "GET", "/api/v1/namespaces/default/secrets", NULL, 403, NULL);
	expect(e, NULL, "PUT", RBAC "/namespaces/default/roles/cm-reader",
	       "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\","
	       "\"metadata\":{\"name\":\"cm-reader\"},\"rules\":[{\"verbs\":[\"list\"],"
	       "\"apiGroups\":[\"\"],\"resources\":"
	       "[\"secrets\"]}]}",
	       200, NULL);
	expect(e, "carol", "GET", "/api/v1/namespaces/default/secrets", NULL, 200, NULL);
	expect(e, "carol", "GET", "/api/v1/namespaces/default/configmaps", NULL, 403, NULL);
	expect(e, NULL, "DELETE", RBAC "/namespaces/default/rolebindings/carol-cm", NULL, 200,
	       NULL);
	expect(e, "carol", "GET", "/api/v1/namespaces/default/secrets", NULL, 403, NULL);
	/* a ClusterRoleBinding to a ClusterRole that does not exist yet, then does */
	binding(e, NULL, "carol-nodes", "ClusterRole", "node-lister",
		"{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":"
		"\"carol\"}");
	expect(e, "carol", "GET", "/api/v1/nodes", NULL, 403,
	       "RBAC: clusterrole.rbac.authorization.k8s.io \\\"node-lister\\\" not found");
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
	       "\"metadata\":{\"name\":\"node-lister\"},\"rules\":[{\"verbs\":[\"list\"],"
	       "\"apiGroups\":[\"\"],\"resources\":[\"nodes\"]}]}",
	       201, NULL);
	expect(e, "carol", "GET", "/api/v1/nodes", NULL, 200, NULL);
}

/* Groups, service accounts, resourceNames, subresources, "*" and nonResourceURLs */
static void test_subjects_and_rules(void **state)
{
	struct env *e = *state;

	role(e, "default", "cm-one",
	     "{\"verbs\":[\"get\",\"update\"],\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
	     "\"resourceNames\":[\"one\"]},{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],"
	     "\"resources\":[\"pods/log\"]},{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],"
	     "\"resources\":[\"*/status\"]},{\"verbs\":[\"*\"],\"apiGroups\":[\"apps\"],"
	     "\"resources\":[\"*\"]}");
	binding(
	    e, "default", "devs", "Role", "cm-one",
	    "{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"devs\"}");
	expect(e, "carol|devs", "GET", "/api/v1/namespaces/default/configmaps/one", NULL, 404,
	       NULL);
	expect(e, "carol|devs", "GET", "/api/v1/namespaces/default/configmaps/two", NULL, 403,
	       "configmaps \\\"two\\\" is forbidden: User \\\"carol\\\" cannot get");
	expect(e, "carol|devs", "GET", "/api/v1/namespaces/default/configmaps", NULL, 403,
	       "cannot list resource \\\"configmaps\\\"");
	expect(e, "carol", "GET", "/api/v1/namespaces/default/configmaps/one", NULL, 403, NULL);
	expect(e, "carol|devs", "GET", PODS, NULL, 403, "cannot list resource \\\"pods\\\"");
	/* pods/log without pods; "*\/status" for any resource's status */
	expect(e, "carol|devs", "GET", PODS "/p1/log", NULL, 404, NULL);
	expect(e, "carol|devs", "GET", PODS "/p1", NULL, 403, NULL);
	expect(e, "carol|devs", "GET", "/api/v1/namespaces/default/services/s1/status", NULL, 404,
	       NULL);
	expect(e, "carol|devs", "GET", "/api/v1/namespaces/default/services/s1", NULL, 403, NULL);
	expect(e, "carol|devs", "GET", "/apis/apps/v1/namespaces/default/deployments", NULL, 200,
	       NULL);
	expect(e, "carol|devs", "DELETE", "/apis/apps/v1/namespaces/default/deployments/x", NULL,
	       404, NULL);
	/* a service account: the subject of a binding in its namespace */
	binding(e, "default", "sa-view", "ClusterRole", "view",
		"{\"kind\":\"ServiceAccount\",\"name\":\"robot\"}");
	expect(e, "system:serviceaccount:default:robot", "GET", PODS, NULL, 200, NULL);
	expect(e, "system:serviceaccount:default:robot", "POST", PODS,
	       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}", 403,
	       "User \\\"system:serviceaccount:default:robot\\\" cannot create");
	expect(e, "system:serviceaccount:other:robot", "GET", PODS, NULL, 403, NULL);
	/* the group of every service account, given by impersonating one */
	binding(e, NULL, "all-sa-nodes", "ClusterRole", "system:node-proxier",
		"{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":"
		"\"system:serviceaccounts:kube-system\"}");
	expect(e, "system:serviceaccount:kube-system:x", "GET", "/api/v1/nodes", NULL, 200, NULL);
	expect(e, "system:serviceaccount:default:x", "GET", "/api/v1/nodes", NULL, 403, NULL);
	/* nonResourceURLs with a prefix */
	expect(e, "dave", "GET", "/metrics", NULL, 403, NULL);
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
	       "\"metadata\":{\"name\":\"metrics\"},\"rules\":[{\"verbs\":[\"get\"],"
	       "\"nonResourceURLs\":[\"/metr*\"]}]}",
	       201, NULL);
	binding(e, NULL, "dave-metrics", "ClusterRole", "metrics",
		"{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"dave\"}");
	expect(e, "dave", "GET", "/metrics", NULL, 200, NULL);
	expect(e, "dave", "GET", "/api/v1/nodes", NULL, 403, NULL);
}

/* Aggregation: a ClusterRole labelled aggregate-to-view adds to view, edit and admin */
static void test_aggregation(void **state)
{
	struct env *e = *state;

	binding(e, "default", "erin-admin", "ClusterRole", "admin",
		"{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"erin\"}");
	/* admin ⊇ edit ⊇ view */
	expect(e, "erin", "GET", PODS, NULL, 200, NULL);
	expect(e, "erin", "GET", RBAC "/namespaces/default/roles", NULL, 200, NULL);
	expect(e, "erin", "GET", "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
	       NULL, 403, NULL);
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
	       "\"metadata\":{\"name\":\"csc-view\",\"labels\":{"
	       "\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"}},\"rules\":[{\"verbs\":"
	       "[\"list\"],\"apiGroups\":[\"storage.k8s.io\"],\"resources\":"
	       "[\"csistoragecapacities\"]}]}",
	       201, NULL);
	expect(e, "erin", "GET", "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
	       NULL, 200, NULL);
}

static void test_reviews(void **state)
{
	struct env *e = *state;

	expect(e, "alice", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
	       "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectAccessReview\","
	       "\"spec\":{\"resourceAttributes\":{\"namespace\":\"default\",\"verb\":\"list\","
	       "\"resource\":\"pods\"}}}",
	       201,
	       "\"allowed\":true,\"reason\":\"RBAC: allowed by RoleBinding "
	       "\\\"alice-reads/default\\\" of Role \\\"pod-reader\\\" to User \\\"alice\\\"\"");
	expect(e, "alice", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
	       "{\"spec\":{\"resourceAttributes\":{\"namespace\":\"default\",\"verb\":"
	       "\"delete\",\"resource\":\"pods\"}}}",
	       201, "\"allowed\":false");
	/* SubjectAccessReview: alice may not, the admin may */
	expect(e, "alice", "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
	       "{\"spec\":{\"user\":\"alice\",\"resourceAttributes\":{\"verb\":\"list\","
	       "\"resource\":\"pods\",\"namespace\":\"default\"}}}",
	       403, "cannot create resource \\\"subjectaccessreviews\\\"");
	expect(e, NULL, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
	       "{\"spec\":{\"user\":\"alice\",\"resourceAttributes\":{\"verb\":\"list\","
	       "\"resource\":\"pods\",\"namespace\":\"default\"}}}",
	       201, "\"allowed\":true");
	expect(e, NULL, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
	       "{\"spec\":{\"user\":\"alice\",\"nonResourceAttributes\":{\"verb\":\"get\","
	       "\"path\":\"/metrics\"}}}",
	       201, "\"allowed\":false");
	expect(e, NULL, "POST",
	       "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews",
	       "{\"spec\":{\"user\":\"carol\",\"groups\":[\"devs\"],\"resourceAttributes\":{"
	       "\"verb\":\"get\",\"resource\":\"configmaps\",\"name\":\"one\",\"namespace\":"
	       "\"default\"}}}",
	       201, "\"allowed\":true");
	expect(e, NULL, "POST",
	       "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews",
	       "{\"spec\":{\"user\":\"carol\",\"resourceAttributes\":{\"verb\":\"get\","
	       "\"resource\":\"configmaps\",\"namespace\":\"other\"}}}",
	       422,
	       "LocalSubjectAccessReview.authorization.k8s.io \\\"\\\" is invalid: "
	       "spec.resourceAttributes.namespace: Invalid value: \\\"other\\\": must match "
	       "metadata.namespace");
	/* not stored: no GET */
	expect(e, NULL, "GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", NULL, 405,
	       NULL);
	expect(e, "alice", "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
	       "{\"spec\":{\"namespace\":\"default\"}}", 201,
	       "{\"verbs\":[\"get\",\"list\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}");
	expect(e, NULL, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
	       "{\"spec\":{\"namespace\":\"default\"}}", 201,
	       "{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]}");
	expect(e, "alice|g1", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "{}",
	       201,
	       "\"userInfo\":{\"username\":\"alice\",\"groups\":[\"g1\","
	       "\"system:authenticated\"]}");
}

/* Impersonation: the admin (system:masters) may; alice (her own certificate) may not, until
 * a role gives her the impersonate verb on user bob; groups and service accounts likewise */
static void test_impersonation(void **state)
{
	struct env *e = *state;

	expect(e, "cert", "GET", PODS, NULL, 200, "PodList"); /* alice-reads */
	expect(e, "cert", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "{}", 201,
	       "\"userInfo\":{\"username\":\"alice\",\"groups\":[\"team\","
	       "\"system:authenticated\"]}");
	expect(e, "cert:bob", "GET", PODS, NULL, 403,
	       "users \\\"bob\\\" is forbidden: User \\\"alice\\\" cannot impersonate resource "
	       "\\\"users\\\" in API group \\\"\\\" at the cluster scope");
	expect(e, "cert:system:serviceaccount:default:robot", "GET", PODS, NULL, 403,
	       "serviceaccounts \\\"robot\\\" is forbidden: User \\\"alice\\\" cannot impersonate "
	       "resource \\\"serviceaccounts\\\" in API group \\\"\\\" in the namespace "
	       "\\\"default\\\"");
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
	       "\"metadata\":{\"name\":\"imp-bob\"},\"rules\":[{\"verbs\":[\"impersonate\"],"
	       "\"apiGroups\":[\"\"],\"resources\":[\"users\"],\"resourceNames\":[\"bob\"]}]}",
	       201, NULL);
	binding(
	    e, NULL, "imp", "ClusterRole", "imp-bob",
	    "{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"team\"}");
	/* now alice acts as bob, with bob's rights (none on pods) */
	expect(e, "cert:bob", "GET", PODS, NULL, 403,
	       "pods is forbidden: User \\\"bob\\\" cannot list resource \\\"pods\\\"");
	expect(e, "cert:bob", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "{}",
	       201, "\"username\":\"bob\",\"groups\":[\"system:authenticated\"]");
	/* but not as carol, nor in a group */
	expect(e, "cert:carol", "GET", PODS, NULL, 403, "users \\\"carol\\\" is forbidden");
	expect(e, "cert:bob|devs", "GET", PODS, NULL, 403,
	       "groups \\\"devs\\\" is forbidden: User \\\"alice\\\" cannot impersonate resource "
	       "\\\"groups\\\"");
	/* the admin impersonating a service account gets its groups */
	expect(e, "system:serviceaccount:kube-system:x", "POST",
	       "/apis/authentication.k8s.io/v1/selfsubjectreviews", "{}", 201,
	       "\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\","
	       "\"system:authenticated\"]");
}

/* system:masters is the privileged group authorizer's, not only cluster-admin's binding */
static void test_masters(void **state)
{
	struct env *e = *state;

	expect(e, NULL, "DELETE", RBAC "/clusterrolebindings/cluster-admin", NULL, 200, NULL);
	expect(e, NULL, "GET", "/api/v1/nodes", NULL, 200, NULL);
	expect(e, "frank|system:masters", "GET", "/api/v1/nodes", NULL, 200, NULL);
	expect(e, "frank", "GET", "/api/v1/nodes", NULL, 403, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_verbs),	  cmocka_unit_test(test_subjects_and_rules),
	    cmocka_unit_test(test_aggregation),	  cmocka_unit_test(test_reviews),
	    cmocka_unit_test(test_impersonation), cmocka_unit_test(test_masters),
	    cmocka_unit_test(test_cache_fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
