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

#include "rbac_env.h"

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

/* ---- the default policy (bootstrap_rbac.yaml): kube-apiserver 1.32's, by name and count ---- */

/* bootstrappolicy.ClusterRoles() of 1.32 (testdata/cluster-roles.yaml with the default gates) */
static const char *const cluster_roles[] = {
    "admin",
    "cluster-admin",
    "edit",
    "view",
    "system:aggregate-to-admin",
    "system:aggregate-to-edit",
    "system:aggregate-to-view",
    "system:auth-delegator",
    "system:basic-user",
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
    "system:certificates.k8s.io:kube-apiserver-client-approver",
    "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
    "system:certificates.k8s.io:kubelet-serving-approver",
    "system:certificates.k8s.io:legacy-unknown-approver",
    "system:discovery",
    "system:heapster",
    "system:kube-aggregator",
    "system:kube-controller-manager",
    "system:kube-dns",
    "system:kube-scheduler",
    "system:kubelet-api-admin",
    "system:monitoring",
    "system:node",
    "system:node-bootstrapper",
    "system:node-problem-detector",
    "system:node-proxier",
    "system:persistent-volume-provisioner",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
    "system:volume-scheduler"};
/* ClusterRoleBindings() */
static const char *const cluster_role_bindings[] = {"cluster-admin",
						    "system:monitoring",
						    "system:discovery",
						    "system:basic-user",
						    "system:public-info-viewer",
						    "system:node-proxier",
						    "system:kube-controller-manager",
						    "system:kube-dns",
						    "system:kube-scheduler",
						    "system:volume-scheduler",
						    "system:node",
						    "system:service-account-issuer-discovery"};
/* buildControllerRoles(): system:controller:NAME, bound to kube-system/NAME, for the
 * controllers 1.32 runs with its default gates */
static const char *const controllers[] = {"attachdetach-controller",
					  "certificate-controller",
					  "clusterrole-aggregation-controller",
					  "cronjob-controller",
					  "daemon-set-controller",
					  "deployment-controller",
					  "disruption-controller",
					  "endpoint-controller",
					  "endpointslice-controller",
					  "endpointslicemirroring-controller",
					  "ephemeral-volume-controller",
					  "expand-controller",
					  "generic-garbage-collector",
					  "horizontal-pod-autoscaler",
					  "job-controller",
					  "legacy-service-account-token-cleaner",
					  "namespace-controller",
					  "node-controller",
					  "persistent-volume-binder",
					  "pod-garbage-collector",
					  "pv-protection-controller",
					  "pvc-protection-controller",
					  "replicaset-controller",
					  "replication-controller",
					  "resourcequota-controller",
					  "root-ca-cert-publisher",
					  "route-controller",
					  "service-account-controller",
					  "service-controller",
					  "statefulset-controller",
					  "ttl-after-finished-controller",
					  "ttl-controller",
					  "validatingadmissionpolicy-status-controller"};
/* namespace_policy.go: "ns/name" of the Roles (the authentication reader first) */
static const char *const roles[] = {"kube-system/extension-apiserver-authentication-reader",
				    "kube-system/system::leader-locking-kube-controller-manager",
				    "kube-system/system::leader-locking-kube-scheduler",
				    "kube-system/system:controller:bootstrap-signer",
				    "kube-system/system:controller:cloud-provider",
				    "kube-system/system:controller:token-cleaner",
				    "kube-public/system:controller:bootstrap-signer"};
/* each bound under its own name, but for the authentication reader's binding */
static const char *const reader_binding[] = {
    "kube-system/system::extension-apiserver-authentication-reader"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* GET path as the admin, parsed into d; asserts 200 */
static struct jv *get_json(struct env *e, const char *path, struct jv_doc *d)
{
	char *out = NULL;
	long code = call(e, NULL, "GET", path, NULL, &out);
	struct jv *v = jv_parse(d, out, strlen(out), NULL);

	if (code != 200 || !v)
		fail_msg("GET %s: %ld %s", path, code, out);
	free(out);
	return v;
}

/* Is "ns/name" (or "name" when the item has no namespace) among want[0..n) and want2? */
static bool wanted(const struct jv *item, const char *const *want, size_t n,
		   const char *const *want2, size_t n2, const char *prefix2)
{
	const char *ns = jv_path_str(item, "metadata.namespace");
	const char *name = jv_path_str(item, "metadata.name");
	char full[300];

	snprintf(full, sizeof(full), "%s%s%s", ns ? ns : "", ns ? "/" : "", name ? name : "");
	for (size_t i = 0; i < n; i++)
		if (strcmp(full, want[i]) == 0)
			return true;
	for (size_t i = 0; i < n2; i++) {
		char c[300];

		snprintf(c, sizeof(c), "%s%s", prefix2, want2[i]);
		if (strcmp(full, c) == 0)
			return true;
	}
	return false;
}

/* The list at path holds exactly want (+ prefix2 want2), each labelled and annotated as
 * bootstrappolicy's addDefaultMetadata does */
static void expect_set(struct env *e, const char *path, const char *const *want, size_t n,
		       const char *const *want2, size_t n2, const char *prefix2)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *items = jv_path(get_json(e, path, d), "items");
	size_t count = 0;

	assert_non_null(items);
	for (struct jv *it = items->head; it; it = it->next, count++) {
		if (!wanted(it, want, n, want2, n2, prefix2))
			fail_msg("%s: %s is not 1.32's", path, jv_path_str(it, "metadata.name"));
		if (!jv_is_str(
			jv_get(jv_path(it, "metadata.labels"), "kubernetes.io/bootstrapping"),
			"rbac-defaults") ||
		    !jv_is_str(jv_get(jv_path(it, "metadata.annotations"),
				      "rbac.authorization.kubernetes.io/autoupdate"),
			       "true"))
			fail_msg("%s: %s lacks kube's label or annotation", path,
				 jv_path_str(it, "metadata.name"));
	}
	/* every name wanted, once (the store's keys are unique, so the count says it) */
	if (count != n + n2)
		fail_msg("%s: %zu objects, 1.32 makes %zu", path, count, n + n2);
	jv_doc_free(d);
}

/* The JSON of v at path equals want */
static void expect_json(struct env *e, const char *path, const char *field, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	char *got = jv_to_json(jv_path(get_json(e, path, d), field), NULL);

	if (strcmp(got ? got : "(none)", want) != 0)
		fail_msg("%s %s:\n  got  %s\n  want %s", path, field, got ? got : "(none)", want);
	free(got);
	jv_doc_free(d);
}

#define CTL "system:controller:"
#define EVENTS                                                                                 \
	"{\"verbs\":[\"create\",\"patch\",\"update\"],\"apiGroups\":[\"\",\"events.k8s.io\"]," \
	"\"resources\":[\"events\"]}"

static void test_default_policy(void **state)
{
	struct env *e = *state;

	expect_set(e, RBAC "/clusterroles", cluster_roles, N(cluster_roles), controllers,
		   N(controllers), CTL);
	expect_set(e, RBAC "/clusterrolebindings", cluster_role_bindings, N(cluster_role_bindings),
		   controllers, N(controllers), CTL);
	expect_set(e, RBAC "/roles", roles, N(roles), NULL, 0, "");
	expect_set(e, RBAC "/rolebindings", reader_binding, 1, roles + 1, N(roles) - 1, "");

	/* rules exactly, in kube's order (controller_policy.go, policy.go) */
	expect_json(
	    e, RBAC "/clusterroles/" CTL "deployment-controller", "rules",
	    "[{\"verbs\":[\"get\",\"list\",\"update\",\"watch\"],\"apiGroups\":[\"apps\","
	    "\"extensions\"],\"resources\":[\"deployments\"]},{\"verbs\":[\"update\"],"
	    "\"apiGroups\":[\"apps\",\"extensions\"],\"resources\":[\"deployments/status\"]},"
	    "{\"verbs\":[\"update\"],\"apiGroups\":[\"apps\",\"extensions\"],\"resources\":"
	    "[\"deployments/finalizers\"]},{\"verbs\":[\"create\",\"delete\",\"get\",\"list\","
	    "\"patch\",\"update\",\"watch\"],\"apiGroups\":[\"apps\",\"extensions\"],"
	    "\"resources\":[\"replicasets\"]},{\"verbs\":[\"get\",\"list\",\"update\","
	    "\"watch\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}," EVENTS "]");
	expect_json(e, RBAC "/clusterroles/system:kube-dns", "rules",
		    "[{\"verbs\":[\"list\",\"watch\"],\"apiGroups\":[\"\"],\"resources\":"
		    "[\"endpoints\",\"services\"]}]");
	expect_json(e, RBAC "/clusterrolebindings/" CTL "job-controller", "subjects",
		    "[{\"kind\":\"ServiceAccount\",\"name\":\"job-controller\",\"namespace\":"
		    "\"kube-system\"}]");
	expect_json(e, RBAC "/clusterrolebindings/system:public-info-viewer", "subjects",
		    "[{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":"
		    "\"system:authenticated\"},{\"kind\":\"Group\",\"apiGroup\":"
		    "\"rbac.authorization.k8s.io\",\"name\":\"system:unauthenticated\"}]");
	/* system:node is bound to nobody since 1.8 (the Node authorizer's) */
	expect_json(e, RBAC "/clusterrolebindings/system:node", "subjects", "(none)");
	expect_json(e, RBAC "/namespaces/kube-public/roles/" CTL "bootstrap-signer", "rules",
		    "[{\"verbs\":[\"get\",\"list\",\"watch\"],\"apiGroups\":[\"\"],\"resources\":"
		    "[\"configmaps\"]},{\"verbs\":[\"update\"],\"apiGroups\":[\"\"],\"resources\":"
		    "[\"configmaps\"],\"resourceNames\":[\"cluster-info\"]}," EVENTS "]");
	/* the aggregation chain: view into edit into admin; the system:aggregate-to-* roles */
	expect_json(e, RBAC "/clusterroles/edit", "metadata.labels",
		    "{\"kubernetes.io/bootstrapping\":\"rbac-defaults\","
		    "\"rbac.authorization.k8s.io/aggregate-to-admin\":\"true\"}");
	expect_json(e, RBAC "/clusterroles/view", "aggregationRule",
		    "{\"clusterRoleSelectors\":[{\"matchLabels\":{"
		    "\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"}}]}");
	expect_json(e, RBAC "/clusterroles/system:aggregate-to-edit", "metadata.labels",
		    "{\"kubernetes.io/bootstrapping\":\"rbac-defaults\","
		    "\"rbac.authorization.k8s.io/aggregate-to-edit\":\"true\"}");
}

/* The defaults through the authorizer: a controller's service account may what its role
 * grants (kubectl auth can-i --as=system:serviceaccount:kube-system:NAME) */
static void test_default_policy_authz(void **state)
{
	struct env *e = *state;
	const char *dc = "system:serviceaccount:kube-system:deployment-controller";
	const char *gc = "system:serviceaccount:kube-system:generic-garbage-collector";
	const char *dns = "system:serviceaccount:kube-system:kube-dns";

	expect(e, dc, "GET", "/apis/apps/v1/namespaces/default/replicasets", NULL, 200, NULL);
	expect(e, dc, "POST", "/apis/apps/v1/namespaces/default/replicasets", "{}", 422, NULL);
	expect(e, dc, "PUT", "/apis/apps/v1/namespaces/default/deployments/d/status", "{}", 404,
	       NULL);
	expect(e, dc, "DELETE", "/api/v1/nodes/n", NULL, 403,
	       "User \\\"system:serviceaccount:kube-system:deployment-controller\\\" cannot "
	       "delete resource \\\"nodes\\\"");
	expect(e, dc, "DELETE", "/apis/apps/v1/namespaces/default/deployments/d", NULL, 403, NULL);
	/* the garbage collector may delete anything, create nothing */
	expect(e, gc, "DELETE", "/api/v1/nodes/n", NULL, 404, NULL);
	expect(e, gc, "DELETE", "/apis/apps/v1/namespaces/default/statefulsets/s", NULL, 404, NULL);
	expect(e, gc, "DELETE", RBAC "/clusterroles/no-such", NULL, 404, NULL);
	expect(e, gc, "POST", "/api/v1/namespaces/default/configmaps", "{}", 403, NULL);
	expect(e, dns, "GET", "/api/v1/endpoints", NULL, 200, NULL);
	expect(e, dns, "GET", "/api/v1/services?watch=1&timeoutSeconds=1", NULL, 200, NULL);
	expect(e, dns, "GET", "/api/v1/namespaces/default/services/kubernetes", NULL, 403, NULL);
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
	    /* first: the defaults as a fresh server holds them */
	    cmocka_unit_test(test_default_policy), cmocka_unit_test(test_default_policy_authz),
	    cmocka_unit_test(test_user_verbs),	   cmocka_unit_test(test_subjects_and_rules),
	    cmocka_unit_test(test_aggregation),	   cmocka_unit_test(test_reviews),
	    cmocka_unit_test(test_impersonation),  cmocka_unit_test(test_masters),
	    cmocka_unit_test(test_cache_fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
