/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_satoken: ServiceAccount identity over TLS (the server's own PKI in a temporary
 * directory), driven with libcurl: TokenRequest issues an RS256 JWT with the claims of
 * kube's pkg/serviceaccount/claims.go (decoded and its signature checked here with the key
 * of DIR/pki/sa.key), refuses lifetimes outside [600 s, 2^32 s] (ValidateTokenRequest) and
 * bound pods of another service account or uid (token.go); the token authenticates as
 * system:serviceaccount:NS:NAME until it expires, its service account or bound pod goes or
 * is recreated, and only with our signature and audience (tokens forged here with that key).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_obj.h"
#include "helpers.h"

#define ISS "https://kubernetes.default.svc.cluster.local"
#define NS  "/api/v1/namespaces/default"

struct env {
	struct tsrv t; /* dir and base; the server is TLS */
	char ca[300], admin[128];
	gnutls_privkey_t key; /* the server's service-account key, read from its file */
	gnutls_pubkey_t pub;
};

/* One request with this bearer token; returns the code, the body in *out (free it). */
static long call(struct env *e, const char *token, const char *method, const char *path,
		 const char *body, char **out)
{
	return ttls_call(e->t.base, e->ca, token, NULL, NULL, method, path, NULL, body, out);
}

static void expect(struct env *e, const char *token, const char *method, const char *path,
		   const char *body, long code, const char *text)
{
	char *out = NULL;
	long got = call(e, token, method, path, body, &out);

	if (got != code || (text && !strstr(out, text)))
		fail_msg("%s %s: %ld %s (want %ld, \"%s\")", method, path, got, out, code,
			 text ? text : "");
	free(out);
}

/* ---- JWT ---- */

static char *b64url(const void *p, size_t n)
{
	gnutls_datum_t in = {(unsigned char *)p, (unsigned)n}, out;
	char *r;
	size_t j = 0;

	assert_true(gnutls_base64_encode2(&in, &out) >= 0);
	r = malloc(out.size + 1);
	assert_non_null(r);
	for (unsigned i = 0; i < out.size && out.data[i] != '='; i++)
		r[j++] = out.data[i] == '+' ? '-' : out.data[i] == '/' ? '_' : (char)out.data[i];
	r[j] = 0;
	gnutls_free(out.data);
	return r;
}

static gnutls_datum_t unb64url(const char *s, size_t n)
{
	char *t = calloc(1, n + 4);
	gnutls_datum_t in, out;
	size_t j;

	assert_non_null(t);
	for (j = 0; j < n; j++)
		t[j] = s[j] == '-' ? '+' : s[j] == '_' ? '/' : s[j];
	while (j % 4)
		t[j++] = '=';
	in = (gnutls_datum_t){(unsigned char *)t, (unsigned)j};
	assert_true(gnutls_base64_decode2(&in, &out) >= 0);
	free(t);
	return out;
}

/* The parts of a token: header and claims (JSON, parsed into d); asserts our signature. */
static struct jv *decode(struct env *e, const char *tok, struct jv_doc *d, struct jv **header)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	gnutls_datum_t h, c, sig, data;
	struct jv_perr err;
	struct jv *claims;

	assert_non_null(d2);
	h = unb64url(tok, (size_t)(d1 - tok));
	c = unb64url(d1 + 1, (size_t)(d2 - d1 - 1));
	sig = unb64url(d2 + 1, strlen(d2 + 1));
	*header = jv_parse(d, (const char *)h.data, h.size, &err);
	claims = jv_parse(d, (const char *)c.data, c.size, &err);
	assert_non_null(*header);
	assert_non_null(claims);
	data = (gnutls_datum_t){(unsigned char *)tok, (unsigned)(d2 - tok)};
	assert_true(gnutls_pubkey_verify_data2(e->pub, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sig) >=
		    0);
	gnutls_free(h.data);
	gnutls_free(c.data);
	gnutls_free(sig.data);
	return claims;
}

/* A token of these claims signed with the server's key (bad: with the signature spoilt). */
static char *forge(struct env *e, const char *claims, bool bad)
{
	const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"x\"}";
	char *h = b64url(hdr, strlen(hdr)), *c = b64url(claims, strlen(claims)), *in, *s, *tok;
	gnutls_datum_t data, sig;

	assert_true(asprintf(&in, "%s.%s", h, c) > 0);
	data = (gnutls_datum_t){(unsigned char *)in, (unsigned)strlen(in)};
	assert_true(gnutls_privkey_sign_data(e->key, GNUTLS_DIG_SHA256, 0, &data, &sig) >= 0);
	if (bad)
		sig.data[sig.size / 2] ^= 1;
	s = b64url(sig.data, sig.size);
	assert_true(asprintf(&tok, "%s.%s", in, s) > 0);
	gnutls_free(sig.data);
	free(h);
	free(c);
	free(in);
	free(s);
	return tok;
}

/* POST a TokenRequest for sa with this spec: the code; *tok the token (or NULL), *body
 * the response (free both). */
static long token_request(struct env *e, const char *sa, const char *spec, char **tok, char **body)
{
	char path[256], *req, *out;
	struct jv_doc *d = jv_doc_new();
	struct jv_perr err;
	struct jv *v;
	long code;

	snprintf(path, sizeof(path), NS "/serviceaccounts/%s/token", sa);
	assert_true(asprintf(&req,
			     "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":"
			     "\"TokenRequest\",\"spec\":%s}",
			     spec) > 0);
	code = call(e, e->admin, "POST", path, req, &out);
	free(req);
	v = jv_parse(d, out, strlen(out), &err);
	*tok = code == 201 && jv_path_str(v, "status.token")
		   ? strdup(jv_path_str(v, "status.token"))
		   : NULL;
	if (body)
		*body = out;
	else
		free(out);
	jv_doc_free(d);
	return code;
}

/* metadata.uid of the object at path (admin), malloc'd */
static char *uid_of(struct env *e, const char *path)
{
	char *out, *uid;
	struct jv_doc *d = jv_doc_new();
	struct jv_perr err;
	struct jv *v;

	assert_int_equal(call(e, e->admin, "GET", path, NULL, &out), 200);
	v = jv_parse(d, out, strlen(out), &err);
	assert_non_null(jv_path_str(v, "metadata.uid"));
	uid = strdup(jv_path_str(v, "metadata.uid"));
	free(out);
	jv_doc_free(d);
	return uid;
}

static void make_sa(struct env *e, const char *name)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":"
		 "\"%s\"}}",
		 name);
	expect(e, e->admin, "POST", NS "/serviceaccounts", body, 201, NULL);
}

static void make_pod(struct env *e, const char *name, const char *sa)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{\"serviceAccountName\":\"%s\",\"automountServiceAccountToken\":false,"
		 "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
		 name, sa);
	expect(e, e->admin, "POST", NS "/pods", body, 201, NULL);
}

/* The token authenticates (as its service account: the CSR requester shows it) */
static void authenticates(struct env *e, const char *tok)
{
	expect(e, tok, "GET", "/api", NULL, 200, "APIVersions");
}

static void refused(struct env *e, const char *tok)
{
	expect(e, tok, "GET", "/api", NULL, 401,
	       "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
	       "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
}

/* ---- setup ---- */

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct api_config cfg = {
	    .listen = "127.0.0.1:0", .workers = 8, .threads = 2, .sa_admission = true};
	gnutls_x509_privkey_t xk;
	gnutls_datum_t pem;
	char path[400];

	assert_non_null(e);
	snprintf(e->t.dir, sizeof(e->t.dir), "/tmp/drover-satoken-test-XXXXXX");
	assert_non_null(mkdtemp(e->t.dir));
	cfg.data_dir = e->t.dir;
	assert_int_equal(api_server_start(&cfg, &e->t.s), 0);
	snprintf(e->t.base, sizeof(e->t.base), "https://127.0.0.1:%u", api_server_port(e->t.s));
	snprintf(e->ca, sizeof(e->ca), "%s/pki/ca.crt", e->t.dir);
	snprintf(e->admin, sizeof(e->admin), "%s", api_server_token(e->t.s));
	/* the key the server signs with, kept beside its CA */
	snprintf(path, sizeof(path), "%s/pki/sa.key", e->t.dir);
	assert_true(gnutls_load_file(path, &pem) >= 0);
	assert_true(gnutls_x509_privkey_init(&xk) >= 0);
	assert_true(gnutls_x509_privkey_import(xk, &pem, GNUTLS_X509_FMT_PEM) >= 0);
	assert_int_equal(gnutls_x509_privkey_get_pk_algorithm(xk), GNUTLS_PK_RSA);
	gnutls_free(pem.data);
	assert_true(gnutls_privkey_init(&e->key) >= 0);
	assert_true(gnutls_privkey_import_x509(e->key, xk, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) >=
		    0);
	assert_true(gnutls_pubkey_init(&e->pub) >= 0);
	assert_true(gnutls_pubkey_import_privkey(e->pub, e->key, 0, 0) >= 0);
	*state = e;
	make_sa(e, "default");
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	gnutls_pubkey_deinit(e->pub);
	gnutls_privkey_deinit(e->key);
	tsrv_stop(&e->t); /* stops the server, removes the directory */
	free(e);
	return 0;
}

/* ---- tests ---- */

static void test_token_claims(void **state)
{
	struct env *e = *state;
	struct jv_doc *d = jv_doc_new();
	struct jv *hdr, *cl, *resp;
	struct jv_perr err;
	char *tok, *body, *uid, ts[40];
	int64_t iat, exp, nbf;
	time_t now = time(NULL);

	make_sa(e, "sa1");
	uid = uid_of(e, NS "/serviceaccounts/sa1");
	assert_int_equal(token_request(e, "sa1", "{}", &tok, &body), 201);
	resp = jv_parse(d, body, strlen(body), &err);
	assert_string_equal(tstr(resp, "kind"), "TokenRequest");
	assert_string_equal(tstr(resp, "apiVersion"), "authentication.k8s.io/v1");
	assert_string_equal(tstr(resp, "metadata.name"), "sa1");
	assert_string_equal(tstr(resp, "metadata.namespace"), "default");
	assert_true(jv_is_str(jv_at(jv_path(resp, "spec.audiences"), 0), ISS));
	assert_int_equal(jv_path_int(resp, "spec.expirationSeconds", &exp), 0);
	assert_int_equal(exp, 3600);
	cl = decode(e, tok, d, &hdr);
	assert_string_equal(tstr(hdr, "alg"), "RS256");
	assert_non_null(jv_path_str(hdr, "kid"));
	assert_string_equal(tstr(cl, "iss"), ISS);
	assert_string_equal(tstr(cl, "sub"), "system:serviceaccount:default:sa1");
	assert_int_equal(jv_count(jv_get(cl, "aud")), 1);
	assert_true(jv_is_str(jv_at(jv_get(cl, "aud"), 0), ISS));
	assert_int_equal(jv_path_int(cl, "iat", &iat), 0);
	assert_int_equal(jv_path_int(cl, "nbf", &nbf), 0);
	assert_int_equal(jv_path_int(cl, "exp", &exp), 0);
	assert_true(iat >= now - 5 && iat <= now + 5);
	assert_int_equal(nbf, iat);
	assert_int_equal(exp, iat + 3600);
	assert_non_null(jv_path_str(cl, "jti"));
	assert_string_equal(tstr(resp, "status.expirationTimestamp"), api_time_rfc3339(exp, ts));
	assert_string_equal(tstr(jv_get(cl, "kubernetes.io"), "namespace"), "default");
	assert_string_equal(tstr(jv_get(cl, "kubernetes.io"), "serviceaccount.name"), "sa1");
	assert_string_equal(tstr(jv_get(cl, "kubernetes.io"), "serviceaccount.uid"), uid);
	assert_null(jv_path(jv_get(cl, "kubernetes.io"), "pod"));
	free(tok);
	free(body);
	free(uid);
	/* expirationSeconds and audiences as asked */
	assert_int_equal(token_request(e, "sa1",
				       "{\"expirationSeconds\":600,\"audiences\":[\"a\",\"b\"]}",
				       &tok, NULL),
			 201);
	cl = decode(e, tok, d, &hdr);
	assert_int_equal(jv_path_int(cl, "exp", &exp), 0);
	assert_int_equal(jv_path_int(cl, "iat", &iat), 0);
	assert_int_equal(exp - iat, 600);
	assert_true(jv_is_str(jv_at(jv_get(cl, "aud"), 1), "b"));
	free(tok);
	jv_doc_free(d);
}

static void test_token_refusals(void **state)
{
	struct env *e = *state;
	char *tok, *body;

	/* ValidateTokenRequest */
	assert_int_equal(token_request(e, "sa1", "{\"expirationSeconds\":599}", &tok, &body), 422);
	assert_non_null(strstr(body, "TokenRequest.authentication.k8s.io \\\"sa1\\\" is invalid: "
				     "spec.expirationSeconds: Invalid value: 599: may not specify "
				     "a duration less than 10 minutes"));
	free(body);
	assert_int_equal(token_request(e, "sa1", "{\"expirationSeconds\":4294967297}", &tok, &body),
			 422);
	assert_non_null(strstr(body, "may not specify a duration larger than 2^32 seconds"));
	free(body);
	/* the service account must exist */
	assert_int_equal(token_request(e, "nosuch", "{}", &tok, &body), 404);
	assert_non_null(strstr(body, "serviceaccounts \\\"nosuch\\\" not found"));
	free(body);
	/* bound objects: a pod that is not there, of another account, of another uid, a kind
	 * that cannot be bound */
	assert_int_equal(
	    token_request(e, "sa1",
			  "{\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":"
			  "\"gone\"}}",
			  &tok, &body),
	    404);
	assert_non_null(strstr(body, "pods \\\"gone\\\" not found"));
	free(body);
	make_pod(e, "other", "default");
	assert_int_equal(
	    token_request(e, "sa1",
			  "{\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":"
			  "\"other\"}}",
			  &tok, &body),
	    400);
	assert_non_null(
	    strstr(body, "cannot issue token for service account \\\"default\\\"/\\\"sa1\\\" bound "
			 "to pod \\\"default\\\"/\\\"other\\\" with service account "
			 "\\\"default\\\""));
	free(body);
	make_pod(e, "p0", "sa1");
	assert_int_equal(
	    token_request(e, "sa1",
			  "{\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":"
			  "\"p0\",\"uid\":\"0000\"}}",
			  &tok, &body),
	    409);
	assert_non_null(strstr(body, "the UID in the bound object reference (0000) does not "
				     "match the UID in record"));
	free(body);
	assert_int_equal(
	    token_request(e, "sa1",
			  "{\"boundObjectRef\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
			  "\"name\":\"x\"}}",
			  &tok, &body),
	    400);
	assert_non_null(strstr(body, "cannot bind token to object of type /v1, Kind=ConfigMap"));
	free(body);
}

static void test_bound_pod(void **state)
{
	struct env *e = *state;
	struct jv_doc *d = jv_doc_new();
	struct jv *hdr, *cl;
	char *tok, *uid, *ext;
	int64_t exp, iat, warn;

	make_pod(e, "p1", "sa1");
	uid = uid_of(e, NS "/pods/p1");
	assert_int_equal(
	    token_request(e, "sa1",
			  "{\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":"
			  "\"p1\"}}",
			  &tok, NULL),
	    201);
	cl = decode(e, tok, d, &hdr);
	assert_string_equal(tstr(jv_get(cl, "kubernetes.io"), "pod.name"), "p1");
	assert_string_equal(tstr(jv_get(cl, "kubernetes.io"), "pod.uid"), uid);
	assert_null(jv_path(jv_get(cl, "kubernetes.io"), "warnafter"));
	/* the kubelet's projected token: 3607 s asked, a year given, warnafter at 3607 s */
	assert_int_equal(
	    token_request(e, "sa1",
			  "{\"expirationSeconds\":3607,\"boundObjectRef\":{\"kind\":\"Pod\","
			  "\"apiVersion\":\"v1\",\"name\":\"p1\"}}",
			  &ext, NULL),
	    201);
	cl = decode(e, ext, d, &hdr);
	assert_int_equal(jv_path_int(cl, "exp", &exp), 0);
	assert_int_equal(jv_path_int(cl, "iat", &iat), 0);
	assert_int_equal(jv_int(jv_path(jv_get(cl, "kubernetes.io"), "warnafter"), &warn), 0);
	assert_int_equal(exp - iat, 24 * 365 * 3600);
	assert_int_equal(warn - iat, 3607);
	authenticates(e, tok);
	authenticates(e, ext);
	/* the pod goes (deleted at once: no finalizers, no node): its tokens go with it */
	expect(e, e->admin, "DELETE", NS "/pods/p1?gracePeriodSeconds=0", NULL, 200, NULL);
	refused(e, tok);
	refused(e, ext);
	/* a pod of the same name is another pod */
	make_pod(e, "p1", "sa1");
	refused(e, tok);
	free(tok);
	free(ext);
	free(uid);
	jv_doc_free(d);
}

static void test_authentication(void **state)
{
	struct env *e = *state;
	char *tok, *tok2, *f, *uid, claims[1024], *out;
	long now = (long)time(NULL);
	const char *fmt =
	    "{\"aud\":[\"%s\"],\"exp\":%ld,\"iat\":%ld,\"iss\":\"%s\",\"kubernetes.io\":{"
	    "\"namespace\":\"default\",\"serviceaccount\":{\"name\":\"sa2\",\"uid\":\"%s\"}},"
	    "\"nbf\":%ld,\"sub\":\"system:serviceaccount:default:sa2\"}";

	make_sa(e, "sa2");
	uid = uid_of(e, NS "/serviceaccounts/sa2");
	assert_int_equal(token_request(e, "sa2", "{}", &tok, NULL), 201);
	authenticates(e, tok);
	/* the identity: a CSR's requester is the user and groups that made it (RBAC: the
	 * service account may create CSRs through system:node-bootstrapper) */
	expect(e, e->admin, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
	       "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":"
	       "\"ClusterRoleBinding\",\"metadata\":{\"name\":\"sa2-csr\"},\"roleRef\":{"
	       "\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":"
	       "\"system:node-bootstrapper\"},\"subjects\":[{\"kind\":\"ServiceAccount\","
	       "\"name\":\"sa2\",\"namespace\":\"default\"}]}",
	       201, NULL);
	out = tkubelet_csr("x", "n1");
	expect(e, tok, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", out, 201,
	       "\"username\":\"system:serviceaccount:default:sa2\",\"groups\":["
	       "\"system:serviceaccounts\",\"system:serviceaccounts:default\","
	       "\"system:authenticated\"]");
	free(out);
	/* a forged token of the same claims, with our key: accepted */
	snprintf(claims, sizeof(claims), fmt, ISS, now + 600, now, ISS, uid, now);
	f = forge(e, claims, false);
	authenticates(e, f);
	free(f);
	/* bad signature */
	f = forge(e, claims, true);
	refused(e, f);
	free(f);
	/* expired */
	snprintf(claims, sizeof(claims), fmt, ISS, now - 1, now - 700, ISS, uid, now - 700);
	f = forge(e, claims, false);
	refused(e, f);
	free(f);
	/* another audience */
	snprintf(claims, sizeof(claims), fmt, "https://elsewhere", now + 600, now, ISS, uid, now);
	f = forge(e, claims, false);
	refused(e, f);
	free(f);
	/* another issuer: not ours, and nobody else's */
	snprintf(claims, sizeof(claims), fmt, ISS, now + 600, now, "https://elsewhere", uid, now);
	f = forge(e, claims, false);
	refused(e, f);
	free(f);
	/* a uid the account does not have */
	snprintf(claims, sizeof(claims), fmt, ISS, now + 600, now, ISS, "1234", now);
	f = forge(e, claims, false);
	refused(e, f);
	free(f);
	/* the token of an audience asked for is not one for the API */
	assert_int_equal(token_request(e, "sa2", "{\"audiences\":[\"vault\"]}", &tok2, NULL), 201);
	refused(e, tok2);
	free(tok2);
	/* the account deleted, then recreated (a new uid): the old token is refused */
	expect(e, e->admin, "DELETE", NS "/serviceaccounts/sa2", NULL, 200, NULL);
	refused(e, tok);
	make_sa(e, "sa2");
	refused(e, tok);
	assert_int_equal(token_request(e, "sa2", "{}", &tok2, NULL), 201);
	authenticates(e, tok2);
	free(tok2);
	free(tok);
	free(uid);
	/* the other authenticators still hold */
	authenticates(e, e->admin);
	refused(e, "abcdef.0123456789abcdef");
}

/* The pod ns/name as stored (parsed into d) */
static struct jv *get_pod(struct env *e, const char *name, struct jv_doc *d)
{
	char path[256], *out;
	struct jv_perr err;
	struct jv *v;

	snprintf(path, sizeof(path), NS "/pods/%s", name);
	assert_int_equal(call(e, e->admin, "GET", path, NULL, &out), 200);
	v = jv_parse(d, jv_strndup(d, out, strlen(out)), strlen(out), &err);
	free(out);
	assert_non_null(v);
	return v;
}

static void post_pod(struct env *e, const char *name, const char *spec, long code, const char *text)
{
	char *body;

	assert_true(asprintf(&body,
			     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
			     "\"%s\"},\"spec\":%s}",
			     name, spec) > 0);
	expect(e, e->admin, "POST", NS "/pods", body, code, text);
	free(body);
}

/* plugin/pkg/admission/serviceaccount Admit: the account must exist; the token volume */
static void test_admission(void **state)
{
	struct env *e = *state;
	struct jv_doc *d = jv_doc_new();
	struct jv *pod, *vols, *want, *m;
	const char *vname;
	char wanted[1024];
	struct jv_perr err;

	post_pod(e, "nosa",
		 "{\"serviceAccountName\":\"nosuch\",\"containers\":[{\"name\":\"c\","
		 "\"image\":\"i\"}]}",
		 403,
		 "pods \\\"nosa\\\" is forbidden: error looking up service account default/nosuch: "
		 "serviceaccount \\\"nosuch\\\" not found");
	/* the default account, two containers (one with its own mount at the path), an init
	 * container */
	post_pod(
	    e, "auto",
	    "{\"initContainers\":[{\"name\":\"i\",\"image\":\"i\"}],\"containers\":[{\"name\":"
	    "\"a\",\"image\":\"i\"},{\"name\":\"b\",\"image\":\"i\",\"volumeMounts\":[{\"name\":"
	    "\"v\",\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}]}],"
	    "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}",
	    201, NULL);
	pod = get_pod(e, "auto", d);
	assert_string_equal(tstr(pod, "spec.serviceAccountName"), "default");
	vols = jv_path(pod, "spec.volumes");
	assert_int_equal(jv_count(vols), 2);
	vname = jv_path_str(jv_at(vols, 1), "name");
	assert_non_null(vname);
	assert_int_equal(strlen(vname), strlen("kube-api-access-") + 5);
	assert_int_equal(strncmp(vname, "kube-api-access-", 16), 0);
	assert_int_equal(strspn(vname + 16, "bcdfghjklmnpqrstvwxz2456789"), 5);
	/* TokenVolumeSource, exactly */
	snprintf(wanted, sizeof(wanted),
		 "{\"name\":\"%s\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{"
		 "\"expirationSeconds\":3607,\"path\":\"token\"}},{\"configMap\":{\"name\":"
		 "\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},"
		 "{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":{"
		 "\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],"
		 "\"defaultMode\":420}}",
		 vname);
	want = jv_parse(d, jv_strndup(d, wanted, strlen(wanted)), strlen(wanted), &err);
	assert_non_null(want);
	if (!jv_equal(jv_at(vols, 1), want))
		fail_msg("volume %s, want %s", jv_to_json(jv_at(vols, 1), NULL), wanted);
	snprintf(wanted, sizeof(wanted),
		 "{\"name\":\"%s\",\"readOnly\":true,\"mountPath\":"
		 "\"/var/run/secrets/kubernetes.io/serviceaccount\"}",
		 vname);
	want = jv_parse(d, jv_strndup(d, wanted, strlen(wanted)), strlen(wanted), &err);
	m = jv_path(jv_at(jv_path(pod, "spec.initContainers"), 0), "volumeMounts");
	assert_int_equal(jv_count(m), 1);
	assert_true(jv_equal(jv_at(m, 0), want));
	m = jv_path(jv_at(jv_path(pod, "spec.containers"), 0), "volumeMounts");
	assert_int_equal(jv_count(m), 1);
	assert_true(jv_equal(jv_at(m, 0), want));
	/* b keeps its own mount at the path */
	m = jv_path(jv_at(jv_path(pod, "spec.containers"), 1), "volumeMounts");
	assert_int_equal(jv_count(m), 1);
	assert_string_equal(tstr(jv_at(m, 0), "name"), "v");
	/* automountServiceAccountToken: the pod's word over the account's */
	expect(e, e->admin, "POST", NS "/serviceaccounts",
	       "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":"
	       "\"noauto\"},\"automountServiceAccountToken\":false,\"imagePullSecrets\":[{"
	       "\"name\":\"reg\"}]}",
	       201, NULL);
	post_pod(e, "sa-off",
		 "{\"serviceAccountName\":\"noauto\",\"containers\":[{\"name\":\"c\",\"image\":"
		 "\"i\"}]}",
		 201, NULL);
	pod = get_pod(e, "sa-off", d);
	assert_null(jv_path(pod, "spec.volumes"));
	assert_null(jv_path(jv_at(jv_path(pod, "spec.containers"), 0), "volumeMounts"));
	assert_string_equal(tstr(jv_at(jv_path(pod, "spec.imagePullSecrets"), 0), "name"), "reg");
	post_pod(e, "pod-on",
		 "{\"serviceAccountName\":\"noauto\",\"automountServiceAccountToken\":true,"
		 "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}",
		 201, NULL);
	pod = get_pod(e, "pod-on", d);
	assert_int_equal(jv_count(jv_path(pod, "spec.volumes")), 1);
	post_pod(e, "pod-off",
		 "{\"automountServiceAccountToken\":false,\"containers\":[{\"name\":\"c\","
		 "\"image\":\"i\"}]}",
		 201, NULL);
	pod = get_pod(e, "pod-off", d);
	assert_null(jv_path(pod, "spec.volumes"));
	/* a mirror pod is not the plugin's */
	expect(e, e->admin, "POST", NS "/pods",
	       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"mirror\","
	       "\"annotations\":{\"kubernetes.io/config.mirror\":\"x\"}},\"spec\":{"
	       "\"serviceAccountName\":\"nosuch\",\"nodeName\":\"n\",\"containers\":[{\"name\":"
	       "\"c\",\"image\":\"i\"}]}}",
	       201, NULL);
	jv_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_claims), cmocka_unit_test(test_token_refusals),
	    cmocka_unit_test(test_bound_pod),	 cmocka_unit_test(test_authentication),
	    cmocka_unit_test(test_admission),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
