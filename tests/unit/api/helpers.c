/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "x509.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The data directories of servers not stopped yet: a failed assertion jumps out of a test
 * before its stop, so what is left is removed when the test program exits. */
static char *live_dirs[64];

static void remove_live_dirs(void)
{
	for (size_t i = 0; i < sizeof(live_dirs) / sizeof(live_dirs[0]); i++)
		if (live_dirs[i]) {
			nftw(live_dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
			free(live_dirs[i]);
			live_dirs[i] = NULL;
		}
}

static void live_dir(const char *dir, bool add)
{
	static bool registered;

	if (!registered)
		registered = atexit(remove_live_dirs) == 0;
	for (size_t i = 0; i < sizeof(live_dirs) / sizeof(live_dirs[0]); i++)
		if (add ? !live_dirs[i] : live_dirs[i] && strcmp(live_dirs[i], dir) == 0) {
			free(live_dirs[i]);
			live_dirs[i] = add ? strdup(dir) : NULL;
			return;
		}
}

/* Start a plain-HTTP server over t->dir */
static void start_in_dir(struct tsrv *t, struct api_config *cfg)
{
	cfg->data_dir = t->dir;
	cfg->listen = "127.0.0.1:0";
	cfg->insecure_loopback = true;
	if (!cfg->workers)
		cfg->workers = 8;
	if (!cfg->threads)
		cfg->threads = 2;
	assert_int_equal(api_server_start(cfg, &t->s), 0);
	snprintf(t->base, sizeof(t->base), "http://127.0.0.1:%u", api_server_port(t->s));
}

void tsrv_start_cfg(struct tsrv *t, struct api_config *cfg)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/drover-api-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	live_dir(t->dir, true);
	start_in_dir(t, cfg);
}

void tsrv_restart_cfg(struct tsrv *t, struct api_config *cfg)
{
	api_server_stop(t->s);
	t->s = NULL;
	start_in_dir(t, cfg);
}

void tsrv_restart(struct tsrv *t)
{
	struct api_config cfg = {0};

	tsrv_restart_cfg(t, &cfg);
}

void tsrv_start_tls(struct tsrv *t)
{
	struct api_config cfg = {.listen = "127.0.0.1:0", .workers = 8, .threads = 2};

	snprintf(t->dir, sizeof(t->dir), "/tmp/drover-api-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	live_dir(t->dir, true);
	cfg.data_dir = t->dir;
	assert_int_equal(api_server_start(&cfg, &t->s), 0);
	snprintf(t->base, sizeof(t->base), "https://127.0.0.1:%u", api_server_port(t->s));
	snprintf(t->ca, sizeof(t->ca), "%s/pki/ca.crt", t->dir);
}

void tsrv_client_cert(struct tsrv *t, const char *name, const char *cn, const char *org, char *crt,
		      char *key)
{
	struct x509_pair ca = {0}, k = {0};
	char cak[300];

	snprintf(cak, sizeof(cak), "%s/pki/ca.key", t->dir);
	snprintf(crt, 300, "%s/%s.crt", t->dir, name);
	snprintf(key, 300, "%s/%s.key", t->dir, name);
	assert_int_equal(x509_pair_load(&ca, t->ca, cak), 0);
	assert_int_equal(x509_pair_make(&k, &ca, X509_CLIENT, cn, org, NULL, NULL), 0);
	assert_int_equal(x509_pair_save(&k, crt, key, NULL, NULL), 0);
	x509_pair_free(&k);
	x509_pair_free(&ca);
}

void tsrv_start(struct tsrv *t)
{
	struct api_config cfg = {0};

	tsrv_start_cfg(t, &cfg);
}

void tsrv_stop(struct tsrv *t)
{
	api_server_stop(t->s);
	t->s = NULL;
	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	live_dir(t->dir, false);
}

int tsrv_group_setup(void **state)
{
	struct tsrv *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	tsrv_start(t);
	*state = t;
	return 0;
}

int tsrv_group_teardown(void **state)
{
	tsrv_stop(*state);
	free(*state);
	return 0;
}

struct jv *tcall(struct tsrv *t, const char *method, const char *path, const char *body, long code,
		 const char *want, struct tresp *r)
{
	const char *ctype = strcmp(method, "PATCH") == 0 ? "application/merge-patch+json" : NULL;

	treq(t, method, path, ctype, body, NULL, r);
	if (r->code != code)
		fail_msg("%s %s: %ld, expected %ld: %s", method, path, r->code, code, r->body);
	if (want)
		assert_string_equal(tstr(r->json, "message"), want);
	return r->json;
}

void texpect(struct tsrv *t, const char *method, const char *path, const char *body, long code,
	     const char *want)
{
	struct tresp r;

	tcall(t, method, path, body, code, want, &r);
	if (code == 403)
		assert_string_equal(tstr(r.json, "reason"), "Forbidden");
	if (code == 422)
		assert_string_equal(tstr(r.json, "reason"), "Invalid");
	tresp_free(&r);
}

const char *tq(const char *s)
{
	static char buf[8192];
	size_t i;

	for (i = 0; s[i] && i + 1 < sizeof(buf); i++)
		buf[i] = s[i] == '`' ? '"' : s[i];
	buf[i] = 0;
	return buf;
}

const char *tstr(const struct jv *v, const char *path)
{
	const char *s = jv_path_str(v, path);

	return s ? s : "(null)";
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct tresp *r = ud;
	char *np = realloc(r->body, r->len + size * n + 1);

	if (!np)
		return 0;
	r->body = np;
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct tresp *r = ud;
	size_t old = r->headers ? strlen(r->headers) : 0;
	char *np = realloc(r->headers, old + size * n + 1);

	if (!np)
		return 0;
	r->headers = np;
	memcpy(r->headers + old, p, size * n);
	r->headers[old + size * n] = 0;
	return size * n;
}

void treq(struct tsrv *t, const char *method, const char *path, const char *ctype, const char *body,
	  const char *accept, struct tresp *out)
{
	treq_headers(t, method, path, ctype, body, accept, NULL, out);
}

void treq_headers(struct tsrv *t, const char *method, const char *path, const char *ctype,
		  const char *body, const char *accept, const char *const *headers,
		  struct tresp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], hdr[512];
	char *ct = NULL;

	memset(out, 0, sizeof(*out));
	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", t->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (t->ca[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca);
	if (t->crt[0]) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, t->crt);
		curl_easy_setopt(c, CURLOPT_SSLKEY, t->key);
	}
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype ? ctype : "application/json");
	h = curl_slist_append(h, hdr);
	if (accept) {
		snprintf(hdr, sizeof(hdr), "Accept: %s", accept);
		h = curl_slist_append(h, hdr);
	}
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	out->ctype = ct ? strdup(ct) : NULL;
	out->d = jv_doc_new();
	if (out->body)
		out->json = jv_parse(out->d, out->body, out->len, NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

void tresp_free(struct tresp *r)
{
	free(r->body);
	free(r->ctype);
	free(r->headers);
	jv_doc_free(r->d);
	memset(r, 0, sizeof(*r));
}

static struct jv *expect(struct tresp *r, long code, const char *what)
{
	if (r->code != code)
		fail_msg("%s: HTTP %ld, expected %ld: %s", what, r->code, code,
			 r->body ? r->body : "");
	return r->json;
}

struct jv *tget(struct tsrv *t, const char *path, long code, struct tresp *out)
{
	treq(t, "GET", path, NULL, NULL, NULL, out);
	return expect(out, code, path);
}

struct jv *tpost(struct tsrv *t, const char *path, const char *body, long code, struct tresp *out)
{
	treq(t, "POST", path, NULL, body, NULL, out);
	return expect(out, code, path);
}

/* A CSR object (JSON) for a kubelet client certificate of node n, made here with GnuTLS,
 * whose spec names another requester (the server puts its own). */
char *tkubelet_csr(const char *name, const char *n)
{
	gnutls_x509_privkey_t k;
	gnutls_x509_crq_t q;
	gnutls_datum_t der, pem, b;
	char cn[64], *json;

	snprintf(cn, sizeof(cn), "system:node:%s", n);
	assert_true(gnutls_x509_privkey_init(&k) >= 0);
	assert_true(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						 0) >= 0);
	assert_true(gnutls_x509_crq_init(&q) >= 0);
	gnutls_x509_crq_set_dn_by_oid(q, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "system:nodes", 12);
	gnutls_x509_crq_set_dn_by_oid(q, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn));
	assert_true(gnutls_x509_crq_set_key(q, k) >= 0);
	assert_true(gnutls_x509_crq_sign2(q, k, GNUTLS_DIG_SHA256, 0) >= 0);
	assert_true(gnutls_x509_crq_export2(q, GNUTLS_X509_FMT_DER, &der) >= 0);
	assert_true(gnutls_pem_base64_encode2("CERTIFICATE REQUEST", &der, &pem) >= 0);
	assert_true(gnutls_base64_encode2(&pem, &b) >= 0);
	assert_true(asprintf(&json,
			     "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":"
			     "\"CertificateSigningRequest\",\"metadata\":{\"name\":\"%s\"},"
			     "\"spec\":{\"username\":\"admin\",\"groups\":[\"system:masters\"],"
			     "\"signerName\":\"kubernetes.io/kube-apiserver-client-kubelet\","
			     "\"usages\":[\"digital signature\",\"client auth\"],"
			     "\"request\":\"%.*s\"}}",
			     name, (int)b.size, (const char *)b.data) > 0);
	gnutls_free(der.data);
	gnutls_free(pem.data);
	gnutls_free(b.data);
	gnutls_x509_crq_deinit(q);
	gnutls_x509_privkey_deinit(k);
	return json;
}

long ttls_call(const char *base, const char *ca, const char *token, const char *crt,
	       const char *key, const char *method, const char *path, const char *ctype,
	       const char *body, char **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct tresp r = {0};
	char url[512], *hdr;
	long code = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (token) {
		assert_true(asprintf(&hdr, "Authorization: Bearer %s", token) > 0);
		h = curl_slist_append(h, hdr);
		free(hdr);
	} else {
		curl_easy_setopt(c, CURLOPT_SSLCERT, crt);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	assert_true(asprintf(&hdr, "Content-Type: %s", ctype ? ctype : "application/json") > 0);
	h = curl_slist_append(h, hdr);
	free(hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out)
		*out = r.body ? r.body : strdup("");
	else
		free(r.body);
	return code;
}
