/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_rbac_escalation: RBAC's privilege-escalation prevention, as kube-apiserver 1.32's
 * RBAC storages make it (pkg/registry/rbac/{role,clusterrole,rolebinding,
 * clusterrolebinding}/policybased/storage.go, escalation_check.go, validation/rule.go
 * ConfirmNoEscalation): a user allowed to write Roles, ClusterRoles or bindings grants only
 * what he holds, unless allowed escalate (bind) on the role; create, update, patch and
 * apply alike; system:masters unaffected. Users are the admin impersonating them, and
 * alice's client certificate (groups team, system:authenticated).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_env.h"

#define NS    RBAC "/namespaces/esc"
#define ROLES NS "/roles"
#define RBS   NS "/rolebindings"

#define USER(n) "{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"" n "\"}"
#define RULE(verbs, group, res) \
	"{\"verbs\":[" verbs "],\"apiGroups\":[\"" group "\"],\"resources\":[\"" res "\"]}"
#define RBAC_RULE(verbs, res) RULE(verbs, "rbac.authorization.k8s.io", res)
#define ROLE_BODY(name, rules)                                                              \
	"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{" \
	"\"name\":\"" name "\"},\"rules\":[" rules "]}"
#define RB_BODY(name, kind, role)                                                     \
	"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\","  \
	"\"metadata\":{\"name\":\"" name "\"},\"roleRef\":{\"apiGroup\":"             \
	"\"rbac.authorization.k8s.io\",\"kind\":\"" kind "\",\"name\":\"" role "\"}," \
	"\"subjects\":[" USER("someone") "]}"

/* ConfirmNoEscalation's message, as the JSON Status carries it (quotes and newline escaped) */
#define HELD(user, groups)                                                         \
	"user \\\"" user "\\\" (groups=[" groups "]) is attempting to grant RBAC " \
	"permissions not currently held:\\n"
#define AUTHD "\\\"system:authenticated\\\""

static int setup_ns(void **state)
{
	struct env *e;

	setup(state);
	e = *state;
	expect(e, NULL, "POST", "/api/v1/namespaces",
	       "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"esc\"}}",
	       201, NULL);
	return 0;
}

/* A new Role in esc with rules, bound to user. */
static void grant(struct env *e, const char *user, const char *rules)
{
	static int n;
	char name[64];

	snprintf(name, sizeof(name), "%s-grants-%d", user, ++n);
	role(e, "esc", name, rules);
	{
		char subj[200];

		snprintf(subj, sizeof(subj), USER("%s"), user);
		binding(e, "esc", name, "Role", name, subj);
	}
}

/* Roles: what he holds, not more (create, update, patch, apply); then escalate */
static void test_role_escalation(void **state)
{
	struct env *e = *state;

	e->ctype = NULL; /* as an earlier test that failed may have left it */
	grant(
	    e, "dave",
	    RBAC_RULE("\"create\",\"update\",\"patch\"", "roles") "," RULE("\"get\"", "", "pods"));
	expect(e, "dave", "POST", ROLES, ROLE_BODY("reader", RULE("\"get\"", "", "pods")), 201,
	       NULL);
	expect(
	    e, "dave", "POST", ROLES, ROLE_BODY("deleter", RULE("\"delete\"", "", "pods")), 403,
	    "\"message\":\"roles.rbac.authorization.k8s.io \\\"deleter\\\" is forbidden: " HELD(
		"dave", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"pods\\\"], "
			       "Verbs:[\\\"delete\\\"]}\",\"reason\":\"Forbidden\","
			       "\"details\":{\"name\":\"deleter\",\"group\":"
			       "\"rbac.authorization.k8s.io\",\"kind\":\"roles\"},\"code\":403}");
	/* what is missing, compacted (CompactRules) and sorted (sets.String.List) */
	expect(e, "dave", "POST", ROLES,
	       ROLE_BODY("more", RULE("\"watch\"", "", "secrets") "," RULE(
				     "\"get\",\"delete\",\"list\"", "", "pods")),
	       403,
	       HELD("dave", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"pods\\\"], "
				   "Verbs:[\\\"delete\\\" \\\"list\\\"]}\\n{APIGroups:[\\\"\\\"], "
				   "Resources:[\\\"secrets\\\"], Verbs:[\\\"watch\\\"]}\"");
	/* the same through update, patch and apply */
	expect(e, "dave", "PUT", ROLES "/reader",
	       ROLE_BODY("reader", RULE("\"get\",\"delete\"", "", "pods")), 403,
	       "roles.rbac.authorization.k8s.io \\\"reader\\\" is forbidden: " HELD(
		   "dave", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"pods\\\"], "
				  "Verbs:[\\\"delete\\\"]}\"");
	e->ctype = "application/merge-patch+json";
	expect(e, "dave", "PATCH", ROLES "/reader",
	       "{\"rules\":[" RULE("\"get\",\"update\"", "", "pods") "]}", 403,
	       "Resources:[\\\"pods\\\"], Verbs:[\\\"update\\\"]}\"");
	e->ctype = "application/apply-patch+yaml";
	expect(e, "dave", "PATCH", ROLES "/reader?fieldManager=dave&force=true",
	       ROLE_BODY("reader", RULE("\"get\",\"patch\"", "", "pods")), 403,
	       "Resources:[\\\"pods\\\"], Verbs:[\\\"patch\\\"]}\"");
	e->ctype = NULL;
	/* a rule he holds is no escalation on update either */
	expect(e, "dave", "PUT", ROLES "/reader",
	       ROLE_BODY("reader", RULE("\"get\"", "", "pods") "," RULE("\"get\"", "", "pods")),
	       200, NULL);
	/* IsOnlyMutatingGCFields: finalizers and ownerReferences of a role above him */
	role(e, "esc", "big", RULE("\"*\"", "*", "*"));
	e->ctype = "application/merge-patch+json";
	expect(e, "dave", "PATCH", ROLES "/big", "{\"metadata\":{\"finalizers\":[\"x.io/keep\"]}}",
	       200, "x.io/keep");
	expect(e, "dave", "PATCH", ROLES "/big", "{\"metadata\":{\"finalizers\":null}}", 200, NULL);
	expect(e, "dave", "PATCH", ROLES "/big", "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", 403,
	       HELD("dave", AUTHD) "{APIGroups:[\\\"*\\\"], Resources:[\\\"*\\\"], "
				   "Verbs:[\\\"*\\\"]}\"");
	e->ctype = NULL;
	/* a client certificate's groups, as the authenticator left them */
	grant(e, "alice", RBAC_RULE("\"create\"", "roles"));
	expect(e, "cert", "POST", ROLES, ROLE_BODY("alices", RULE("\"get\"", "", "pods")), 403,
	       "roles.rbac.authorization.k8s.io \\\"alices\\\" is forbidden: " HELD(
		   "alice", "\\\"team\\\" " AUTHD) "{APIGroups:[\\\"\\\"], "
						   "Resources:[\\\"pods\\\"], "
						   "Verbs:[\\\"get\\\"]}\"");
	/* RoleEscalationAuthorized: escalate on roles (the request's name: none on create) */
	expect(e, "dave", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
	       "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectAccessReview\","
	       "\"spec\":{\"resourceAttributes\":{\"namespace\":\"esc\",\"verb\":\"escalate\","
	       "\"group\":\"rbac.authorization.k8s.io\",\"resource\":\"roles\"}}}",
	       201, "\"allowed\":false");
	grant(e, "dave",
	      RBAC_RULE("\"create\",\"update\",\"patch\",\"escalate\"",
			"roles") "," RULE("\"get\"", "", "pods"));
	expect(e, "dave", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
	       "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectAccessReview\","
	       "\"spec\":{\"resourceAttributes\":{\"namespace\":\"esc\",\"verb\":\"escalate\","
	       "\"group\":\"rbac.authorization.k8s.io\",\"resource\":\"roles\"}}}",
	       201, "\"allowed\":true");
	expect(e, "dave", "POST", ROLES, ROLE_BODY("deleter", RULE("\"delete\"", "", "pods")), 201,
	       NULL);
	expect(e, "dave", "PUT", ROLES "/reader",
	       ROLE_BODY("reader", RULE("\"get\",\"delete\"", "", "pods")), 200, NULL);
	/* the errors met resolving his rules (a binding to a missing role), as the registry
	 * words them, after the list */
	grant(e, "gina", RBAC_RULE("\"create\"", "roles"));
	binding(e, "esc", "gina-nope", "Role", "nope", USER("gina"));
	expect(e, "gina", "POST", ROLES, ROLE_BODY("g", RULE("\"get\"", "", "pods")), 403,
	       HELD("gina", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"pods\\\"], "
				   "Verbs:[\\\"get\\\"]}; resolution errors: "
				   "[roles.rbac.authorization.k8s.io \\\"nope\\\" not found]\"");
	/* system:masters: anything */
	expect(e, NULL, "POST", ROLES, ROLE_BODY("all", RULE("\"*\"", "*", "*")), 201, NULL);
}

#define CR_BODY(name, extra)                                                         \
	"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\"," \
	"\"metadata\":{\"name\":\"" name "\"}" extra "}"

/* ClusterRoles: the user's cluster-wide rules only; an aggregationRule needs everything */
static void test_clusterrole_escalation(void **state)
{
	struct env *e = *state;

	e->ctype = NULL; /* as an earlier test that failed may have left it */
	/* erin: create clusterroles (cluster-wide), get pods in esc only */
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       CR_BODY("cr-writer", ",\"rules\":[" RBAC_RULE("\"create\"", "clusterroles") "," RULE(
					"\"list\"", "", "nodes") "]"),
	       201, NULL);
	binding(e, NULL, "erin-cr", "ClusterRole", "cr-writer", USER("erin"));
	grant(e, "erin", RULE("\"get\"", "", "pods"));
	expect(e, "erin", "POST", RBAC "/clusterroles",
	       CR_BODY("nodes-lister", ",\"rules\":[" RULE("\"list\"", "", "nodes") "]"), 201,
	       NULL);
	expect(e, "erin", "POST", RBAC "/clusterroles",
	       CR_BODY("pod-getter", ",\"rules\":[" RULE("\"get\"", "", "pods") "]"), 403,
	       "\"message\":\"clusterroles.rbac.authorization.k8s.io \\\"pod-getter\\\" is "
	       "forbidden: " HELD("erin", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"pods\\\"], "
						 "Verbs:[\\\"get\\\"]}\"");
	expect(
	    e, "erin", "POST", RBAC "/clusterroles",
	    CR_BODY("agg", ",\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{"
			   "\"x\":\"y\"}}]}"),
	    403,
	    "\"message\":\"clusterroles.rbac.authorization.k8s.io \\\"agg\\\" is forbidden: must "
	    "have cluster-admin privileges to use the aggregationRule\"");
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       CR_BODY("agg", ",\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{"
			      "\"x\":\"y\"}}]}"),
	       201, NULL);
}

/* Bindings: a role whose rules he holds, not more; then bind on that role */
static void test_binding_escalation(void **state)
{
	struct env *e = *state;
	char *out = NULL;

	e->ctype = NULL; /* as an earlier test that failed may have left it */
	role(e, "esc", "pod-getter", RULE("\"get\"", "", "pods"));
	role(e, "esc", "pod-deleter", RULE("\"delete\"", "", "pods"));
	grant(e, "frank",
	      RBAC_RULE("\"create\",\"update\",\"patch\"", "rolebindings") "," RULE("\"get\"", "",
										    "pods"));
	expect(e, "frank", "POST", RBS, RB_BODY("getters", "Role", "pod-getter"), 201, NULL);
	expect(
	    e, "frank", "POST", RBS, RB_BODY("deleters", "Role", "pod-deleter"), 403,
	    "\"message\":\"rolebindings.rbac.authorization.k8s.io \\\"deleters\\\" is "
	    "forbidden: " HELD("frank", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"pods\\\"], "
					       "Verbs:[\\\"delete\\\"]}\",\"reason\":"
					       "\"Forbidden\"");
	/* the bootstrap admin ClusterRole (aggregated): its rules, compacted and sorted */
	assert_int_equal(
	    call(e, "frank", "POST", RBS, RB_BODY("admins", "ClusterRole", "admin"), &out), 403);
	assert_non_null(
	    strstr(out, "\"message\":\"rolebindings.rbac.authorization.k8s.io "
			"\\\"admins\\\" is forbidden: " HELD(
			    "frank", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"bindings\\\"], "
					    "Verbs:[\\\"get\\\" \\\"list\\\" \\\"watch\\\"]}\\n"));
	assert_non_null(
	    strstr(out, "\\n{APIGroups:[\\\"rbac.authorization.k8s.io\\\"], "
			"Resources:[\\\"rolebindings\\\"], Verbs:[\\\"delete\\\" "
			"\\\"deletecollection\\\" \\\"get\\\" \\\"list\\\" \\\"watch\\\"]}"));
	/* pods: all but the get he holds */
	assert_non_null(strstr(out,
			       "Resources:[\\\"pods\\\"], Verbs:[\\\"create\\\" \\\"delete\\\" "
			       "\\\"deletecollection\\\" \\\"patch\\\" \\\"update\\\" "
			       "\\\"list\\\" \\\"watch\\\"]}"));
	free(out);
	/* a role that is not there: the registry's NotFound */
	expect(e, "frank", "POST", RBS, RB_BODY("nobody", "ClusterRole", "nope"), 404,
	       "clusterroles.rbac.authorization.k8s.io \\\"nope\\\" not found");
	/* update and patch of a binding above him; its GC fields are his to change */
	expect(e, NULL, "POST", RBS, RB_BODY("admins", "ClusterRole", "admin"), 201, NULL);
	expect(e, "frank", "PUT", RBS "/admins", RB_BODY("admins", "ClusterRole", "admin"), 403,
	       "rolebindings.rbac.authorization.k8s.io \\\"admins\\\" is forbidden: " HELD("frank",
											   AUTHD));
	e->ctype = "application/merge-patch+json";
	expect(e, "frank", "PATCH", RBS "/admins", "{\"subjects\":[" USER("frank") "]}", 403,
	       HELD("frank", AUTHD));
	expect(e, "frank", "PATCH", RBS "/admins", "{\"metadata\":{\"finalizers\":[\"x.io/k\"]}}",
	       200, NULL);
	expect(e, "frank", "PATCH", RBS "/admins", "{\"metadata\":{\"finalizers\":null}}", 200,
	       NULL);
	e->ctype = NULL;
	/* BindingAuthorized: bind on clusterroles/admin, in the binding's namespace */
	grant(
	    e, "frank",
	    RBAC_RULE("\"create\",\"update\",\"patch\"", "rolebindings") "," RULE(
		"\"get\"", "", "pods") ",{\"verbs\":[\"bind\"],\"apiGroups\":[\"rbac.authorization."
				       "k8s.io\"],\"resources\":[\"clusterroles\"],"
				       "\"resourceNames\":[\"admin\"]}");
	expect(e, "frank", "POST", RBS, RB_BODY("admins2", "ClusterRole", "admin"), 201, NULL);
	expect(e, "frank", "PUT", RBS "/admins", RB_BODY("admins", "ClusterRole", "admin"), 200,
	       NULL);
	/* bind on admin is not bind on another role */
	expect(e, "frank", "POST", RBS, RB_BODY("deleters", "Role", "pod-deleter"), 403,
	       HELD("frank", AUTHD));
	/* a ClusterRoleBinding: cluster-wide rules only (his RoleBinding's get pods is not) */
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       CR_BODY("crb-writer",
		       ",\"rules\":[" RBAC_RULE("\"create\"", "clusterrolebindings") "]"),
	       201, NULL);
	binding(e, NULL, "frank-crb", "ClusterRole", "crb-writer", USER("frank"));
	expect(e, NULL, "POST", RBAC "/clusterroles",
	       CR_BODY("pod-getter", ",\"rules\":[" RULE("\"get\"", "", "pods") "]"), 201, NULL);
	expect(e, "frank", "POST", RBAC "/clusterrolebindings",
	       "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
	       "\"metadata\":{\"name\":\"getters\"},\"roleRef\":{\"apiGroup\":"
	       "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"pod-getter\"},"
	       "\"subjects\":[" USER("someone") "]}",
	       403,
	       "clusterrolebindings.rbac.authorization.k8s.io \\\"getters\\\" is forbidden: " HELD(
		   "frank", AUTHD) "{APIGroups:[\\\"\\\"], Resources:[\\\"pods\\\"], "
				   "Verbs:[\\\"get\\\"]}\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_role_escalation),
	    cmocka_unit_test(test_clusterrole_escalation),
	    cmocka_unit_test(test_binding_escalation),
	};

	return cmocka_run_group_tests(tests, setup_ns, teardown);
}
