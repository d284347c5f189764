/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_auth: the server over TLS (its own PKI in a temporary directory), driven with
 * libcurl: bootstrap tokens authenticate only when their Secret says so (type, secret,
 * expiration, usage-bootstrap-authentication; 401 otherwise) and may then only create and
 * read CSRs (whose spec.username/groups become theirs); a client certificate
 * CN=system:node:n1, O=system:nodes (made here, signed with the server's CA) is held to the
 * Node authorizer and NodeRestriction, with Kubernetes' messages; among them its
 * TokenRequests: only for the service account of one of its pods, bound to such a pod
 * (authorizeCreateToken, admitServiceAccount).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"

struct env {
	struct tsrv t; /* dir and base; the server is TLS */
	char ca[300], admin_token[128], node_crt[300], node_key[300];
};

/* One request as token (NULL: the node's certificate); returns the code, body in *body. */
static long call(struct env *e, const char *token, const char *method, const char *path,
		 const char *ctype, const char *body, char **out)
{
	return ttls_call(e->t.base, e->ca, token, e->node_crt, e->node_key, method, path, ctype,
			 body, out);
}

static void expect(struct env *e, const char *token, const char *method, const char *path,
		   const char *body, long code, const char *text)
{
	char *out = NULL;
	long got = call(e, token, method, path, NULL, body, &out);

	if (got != code || (text && !strstr(out, text)))
		fail_msg("%s %s: %ld %s (want %ld, \"%s\")", method, path, got, out, code,
			 text ? text : "");
	free(out);
}

static char *b64(const char *s)
{
	gnutls_datum_t in = {(unsigned char *)s, (unsigned)strlen(s)}, out;
	char *r;

	assert_true(gnutls_base64_encode2(&in, &out) >= 0);
	r = strndup((const char *)out.data, out.size);
	gnutls_free(out.data);
	return r;
}

/* A bootstrap token Secret: id, secret, type, expiration (NULL: none), usage value. */
static void token_secret(struct env *e, const char *id, const char *secret, const char *type,
			 const char *exp, const char *usage, const char *groups)
{
	char *bid = b64(id), *bs = b64(secret), *bu = b64(usage), *bg = b64(groups);
	char *be = exp ? b64(exp) : NULL, *body;

	assert_true(
	    asprintf(&body,
		     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":"
		     "\"bootstrap-token-%s\",\"namespace\":\"kube-system\"},\"type\":\"%s\","
		     "\"data\":{\"token-id\":\"%s\",\"token-secret\":\"%s\","
		     "\"usage-bootstrap-authentication\":\"%s\",\"auth-extra-groups\":\"%s\""
		     "%s%s%s}}",
		     id, type, bid, bs, bu, bg, be ? ",\"expiration\":\"" : "", be ? be : "",
		     be ? "\"" : "") > 0);
	expect(e, e->admin_token, "POST", "/api/v1/namespaces/kube-system/secrets", body, 201,
	       NULL);
	free(body);
	free(bid);
	free(bs);
	free(bu);
	free(bg);
	free(be);
}

static void write_datum(const char *path, const gnutls_datum_t *d)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(d->data, 1, d->size, f), d->size);
	fclose(f);
}

/* n1's client certificate, signed with the server's CA */
static void node_cert(struct env *e)
{
	gnutls_x509_crt_t ca, crt;
	gnutls_x509_privkey_t cak, k;
	gnutls_datum_t d;
	char path[300];
	time_t now = time(NULL);

	snprintf(path, sizeof(path), "%s/pki/ca.crt", e->t.dir);
	assert_true(gnutls_load_file(path, &d) >= 0);
	assert_true(gnutls_x509_crt_init(&ca) >= 0);
	assert_true(gnutls_x509_crt_import(ca, &d, GNUTLS_X509_FMT_PEM) >= 0);
	gnutls_free(d.data);
	snprintf(path, sizeof(path), "%s/pki/ca.key", e->t.dir);
	assert_true(gnutls_load_file(path, &d) >= 0);
	assert_true(gnutls_x509_privkey_init(&cak) >= 0);
	assert_true(gnutls_x509_privkey_import2(cak, &d, GNUTLS_X509_FMT_PEM, NULL, 0) >= 0);
	gnutls_free(d.data);
	assert_true(gnutls_x509_privkey_init(&k) >= 0);
	assert_true(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						 0) >= 0);
	assert_true(gnutls_x509_crt_init(&crt) >= 0);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, "\x02", 1);
	gnutls_x509_crt_set_activation_time(crt, now - 300);
	gnutls_x509_crt_set_expiration_time(crt, now + 3600);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "system:nodes",
				      12);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "system:node:n1", 14);
	gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
	assert_true(gnutls_x509_crt_set_key(crt, k) >= 0);
	assert_true(gnutls_x509_crt_sign2(crt, ca, cak, GNUTLS_DIG_SHA256, 0) >= 0);
	snprintf(e->node_crt, sizeof(e->node_crt), "%s/n1.crt", e->t.dir);
	snprintf(e->node_key, sizeof(e->node_key), "%s/n1.key", e->t.dir);
	assert_true(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) >= 0);
	write_datum(e->node_crt, &d);
	gnutls_free(d.data);
	assert_true(gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &d) >= 0);
	write_datum(e->node_key, &d);
	gnutls_free(d.data);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(cak);
	gnutls_x509_privkey_deinit(k);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct api_config cfg = {.listen = "127.0.0.1:0", .workers = 8, .threads = 2};

	assert_non_null(e);
	snprintf(e->t.dir, sizeof(e->t.dir), "/tmp/drover-auth-test-XXXXXX");
	assert_non_null(mkdtemp(e->t.dir));
	cfg.data_dir = e->t.dir;
	assert_int_equal(api_server_start(&cfg, &e->t.s), 0);
	snprintf(e->t.base, sizeof(e->t.base), "https://127.0.0.1:%u", api_server_port(e->t.s));
	snprintf(e->ca, sizeof(e->ca), "%s/pki/ca.crt", e->t.dir);
	snprintf(e->admin_token, sizeof(e->admin_token), "%s", api_server_token(e->t.s));
	node_cert(e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	tsrv_stop(&e->t); /* stops the server, removes the directory */
	free(e);
	return 0;
}

static void test_bootstrap_tokens(void **state)
{
	struct env *e = *state;
	char *out = NULL, *body;

	token_secret(e, "abcdef", "0123456789abcdef", "bootstrap.kubernetes.io/token",
		     "2099-01-01T00:00:00Z", "true", "system:bootstrappers:extra,system:masters");
	token_secret(e, "old000", "0123456789abcdef", "bootstrap.kubernetes.io/token",
		     "2001-01-01T00:00:00Z", "true", "system:bootstrappers:x");
	token_secret(e, "nouse0", "0123456789abcdef", "bootstrap.kubernetes.io/token", NULL,
		     "false", "system:bootstrappers:x");
	token_secret(e, "opaque", "0123456789abcdef", "Opaque", NULL, "true",
		     "system:bootstrappers:x");
	/* authenticated: discovery yes, pods no */
	expect(e, "abcdef.0123456789abcdef", "GET", "/api", NULL, 200, "APIVersions");
	expect(e, "abcdef.0123456789abcdef", "GET", "/api/v1/namespaces/default/pods", NULL, 403,
	       "pods is forbidden: User \\\"system:bootstrap:abcdef\\\" cannot list resource "
	       "\\\"pods\\\" in API group \\\"\\\" in the namespace \\\"default\\\"");
	expect(e, "abcdef.0123456789abcdef", "GET", "/metrics", NULL, 403,
	       "forbidden: User \\\"system:bootstrap:abcdef\\\" cannot get path \\\"/metrics\\\"");
	/* refused: 401 */
	expect(e, "abcdef.0123456789abcdeX", "GET", "/api", NULL, 401, "Unauthorized");
	expect(e, "abcdef.0123456789abcdeg", "GET", "/api", NULL, 401, "Unauthorized");
	expect(e, "old000.0123456789abcdef", "GET", "/api", NULL, 401, "Unauthorized");
	expect(e, "nouse0.0123456789abcdef", "GET", "/api", NULL, 401, "Unauthorized");
	expect(e, "opaque.0123456789abcdef", "GET", "/api", NULL, 401, "Unauthorized");
	expect(e, "zzzzzz.0123456789abcdef", "GET", "/api", NULL, 401, "Unauthorized");
	expect(e, "ABCDEF.0123456789abcdef", "GET", "/api", NULL, 401, "Unauthorized");
	/* a CSR: its requester is the token's user, groups without the invalid extra one */
	assert_int_equal(
	    call(
		e, "abcdef.0123456789abcdef", "POST",
		"/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL,
		"{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":\"CertificateSigningRequest\","
		"\"metadata\":{\"name\":\"x\"},\"spec\":{\"username\":\"admin\",\"signerName\":"
		"\"kubernetes.io/kube-apiserver-client-kubelet\",\"usages\":[\"client auth\"],"
		"\"request\":\"eA==\"}}",
		&out),
	    422);
	assert_non_null(strstr(out, "PEM block type must be CERTIFICATE REQUEST"));
	free(out);
	body = tkubelet_csr("n1", "n1");
	expect(e, "abcdef.0123456789abcdef", "POST",
	       "/apis/certificates.k8s.io/v1/certificatesigningrequests", body, 201, NULL);
	free(body);
	expect(e, e->admin_token, "GET",
	       "/apis/certificates.k8s.io/v1/certificatesigningrequests/n1", NULL, 200,
	       "\"username\":\"system:bootstrap:abcdef\",\"groups\":[\"system:bootstrappers\","
	       "\"system:bootstrappers:extra\",\"system:authenticated\"]");
	expect(e, "abcdef.0123456789abcdef", "GET",
	       "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL, 200,
	       "CertificateSigningRequestList");
	expect(e, "abcdef.0123456789abcdef", "DELETE",
	       "/apis/certificates.k8s.io/v1/certificatesigningrequests/x", NULL, 403,
	       "certificatesigningrequests.certificates.k8s.io \\\"x\\\" is forbidden: User "
	       "\\\"system:bootstrap:abcdef\\\" cannot delete resource "
	       "\\\"certificatesigningrequests\\\" in API group \\\"certificates.k8s.io\\\" at "
	       "the cluster scope");
}

static void test_node_identity(void **state)
{
	struct env *e = *state;
	const char *node =
	    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\"}}";
	char body[256];

	snprintf(body, sizeof(body), node, "n1");
	expect(e, NULL, "POST", "/api/v1/nodes", body, 201, NULL);
	snprintf(body, sizeof(body), node, "n2");
	expect(e, NULL, "POST", "/api/v1/nodes", body, 403,
	       "nodes \\\"n2\\\" is forbidden: node \\\"n1\\\" is not allowed to modify node "
	       "\\\"n2\\\"");
	expect(e, e->admin_token, "POST", "/api/v1/nodes", body, 201, NULL);
	expect(e, NULL, "GET", "/api/v1/nodes", NULL, 200, "NodeList");
	expect(e, NULL, "DELETE", "/api/v1/nodes/n2", NULL, 403,
	       "nodes \\\"n2\\\" is forbidden: User \\\"system:node:n1\\\" cannot delete resource "
	       "\\\"nodes\\\" in API group \\\"\\\" at the cluster scope");
	expect(e, NULL, "PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2",
	       "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
	       "\"name\":\"n2\",\"namespace\":\"kube-node-lease\"}}",
	       403,
	       "leases.coordination.k8s.io \\\"n2\\\" is forbidden: User \\\"system:node:n1\\\" "
	       "cannot update resource \\\"leases\\\" in API group \\\"coordination.k8s.io\\\" in "
	       "the namespace \\\"kube-node-lease\\\": can only access node lease with the same "
	       "name as the requesting node");
	expect(e, NULL, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
	       "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
	       "\"name\":\"n1\",\"namespace\":\"kube-node-lease\"}}",
	       201, NULL);
	expect(e, NULL, "GET", "/api/v1/namespaces/default/secrets", NULL, 200, "SecretList");
	expect(e, NULL, "POST", "/api/v1/namespaces/default/configmaps",
	       "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}", 403,
	       "configmaps is forbidden: User \\\"system:node:n1\\\" cannot create resource "
	       "\\\"configmaps\\\"");
}

/* Admin creates pod name on node running as sa; its uid into uid. */
static void pod_on(struct env *e, const char *name, const char *node, const char *sa, char *uid,
		   size_t size)
{
	char body[512], *out = NULL, *u;

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{\"nodeName\":\"%s\",\"serviceAccountName\":\"%s\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
		 name, node, sa);
	assert_int_equal(
	    call(e, e->admin_token, "POST", "/api/v1/namespaces/default/pods", NULL, body, &out),
	    201);
	u = strstr(out, "\"uid\":\"");
	assert_non_null(u);
	snprintf(uid, size, "%.*s", (int)strcspn(u + 7, "\""), u + 7);
	free(out);
}

static void token_req(char *buf, size_t size, const char *pod, const char *uid)
{
	if (!pod)
		snprintf(buf, size,
			 "{\"apiVersion\":\"authentication.k8s.io/v1\","
			 "\"kind\":\"TokenRequest\",\"spec\":{}}");
	else
		snprintf(buf, size,
			 "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\","
			 "\"spec\":{\"boundObjectRef\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
			 "\"name\":\"%s\",\"uid\":\"%s\"}}}",
			 pod, uid ? uid : "");
}

/* A node's TokenRequests: Node authorizer (authorizeCreateToken: a service account of one of
 * its pods) then NodeRestriction (admitServiceAccount: bound to such a pod, by uid). */
static void test_node_tokens(void **state)
{
	struct env *e = *state;
	const char *robot = "/api/v1/namespaces/default/serviceaccounts/robot/token";
	char uid1[64], uid3[64], body[512];

	for (int i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{"
			 "\"name\":\"%s\"}}",
			 i ? "robot2" : "robot");
		expect(e, e->admin_token, "POST", "/api/v1/namespaces/default/serviceaccounts",
		       body, 201, NULL);
	}
	pod_on(e, "p1", "n1", "robot", uid1, sizeof(uid1));
	pod_on(e, "p2", "n2", "robot2", uid3, sizeof(uid3));
	pod_on(e, "p3", "n2", "robot", uid3, sizeof(uid3));

	token_req(body, sizeof(body), "p2", uid3);
	expect(e, NULL, "POST", "/api/v1/namespaces/default/serviceaccounts/robot2/token", body,
	       403,
	       "serviceaccounts \\\"robot2\\\" is forbidden: User \\\"system:node:n1\\\" cannot "
	       "create resource \\\"serviceaccounts/token\\\" in API group \\\"\\\" in the "
	       "namespace \\\"default\\\": no relationship found between node 'n1' and this "
	       "object");
	expect(e, NULL, "GET", "/api/v1/namespaces/default/serviceaccounts/robot", NULL, 403,
	       "can only create tokens for individual service accounts");
	token_req(body, sizeof(body), NULL, NULL);
	expect(e, NULL, "POST", robot, body, 403,
	       "serviceaccounts \\\"robot\\\" is forbidden: node requested token not bound to a "
	       "pod");
	token_req(body, sizeof(body), "p1", NULL);
	expect(e, NULL, "POST", robot, body, 403,
	       "node requested token with a pod binding without a uid");
	token_req(body, sizeof(body), "p1", "0000");
	expect(e, NULL, "POST", robot, body, 403,
	       "the UID in the bound object reference (0000) does not match the UID in record");
	token_req(body, sizeof(body), "p3", uid3);
	expect(e, NULL, "POST", robot, body, 403,
	       "node requested token bound to a pod scheduled on a different node");
	token_req(body, sizeof(body), "nopod", "0000");
	expect(e, NULL, "POST", robot, body, 404, "pods \\\"nopod\\\" not found");
	token_req(body, sizeof(body), "p1", uid1);
	expect(e, NULL, "POST", robot, body, 201, "\"token\":\"ey");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bootstrap_tokens),
	    cmocka_unit_test(test_node_identity),
	    cmocka_unit_test(test_node_tokens),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
