/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_csr: csrapproving and csrsigning. A kubelet client CSR (made here with GnuTLS)
 * is approved (Approved/AutoApproved) and signed by the CA the controllers were given (the
 * certificate verifies against it and keeps the request's subject); a CSR whose subject is
 * no node's is left pending; an approved CSR the kubelet signer must refuse gets
 * Failed/SignerValidationFailure with Kubernetes' reason.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctrl_helpers.h"

static const struct k8s_kind *csr_kind(void)
{
	return k8s_kind_find("certificates.k8s.io/v1", "CertificateSigningRequest");
}

struct ca {
	char dir[64], crt[96], key[96];
	gnutls_x509_crt_t c;
	gnutls_x509_privkey_t k;
	gnutls_datum_t pem; /* ca.crt's content */
};

static void write_datum(const char *path, const gnutls_datum_t *d)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(d->data, 1, d->size, f), d->size);
	fclose(f);
}

/* A self-signed CA in a temporary directory (ca.crt, ca.key). */
static void ca_make(struct ca *ca)
{
	gnutls_datum_t d;
	time_t now = time(NULL);
	unsigned char kid[64];
	size_t kid_len = sizeof(kid);

	snprintf(ca->dir, sizeof(ca->dir), "/tmp/drover-csr-XXXXXX");
	assert_non_null(mkdtemp(ca->dir));
	snprintf(ca->crt, sizeof(ca->crt), "%s/ca.crt", ca->dir);
	snprintf(ca->key, sizeof(ca->key), "%s/ca.key", ca->dir);
	assert_true(gnutls_x509_privkey_init(&ca->k) >= 0);
	assert_true(gnutls_x509_privkey_generate(ca->k, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						 0) >= 0);
	assert_true(gnutls_x509_crt_init(&ca->c) >= 0);
	gnutls_x509_crt_set_version(ca->c, 3);
	gnutls_x509_crt_set_serial(ca->c, "\x01", 1);
	gnutls_x509_crt_set_activation_time(ca->c, now - 3600);
	gnutls_x509_crt_set_expiration_time(ca->c, now + 86400 * 30);
	gnutls_x509_crt_set_dn_by_oid(ca->c, GNUTLS_OID_X520_COMMON_NAME, 0, "test-ca", 7);
	gnutls_x509_crt_set_basic_constraints(ca->c, 1, -1);
	gnutls_x509_crt_set_key_usage(ca->c, GNUTLS_KEY_KEY_CERT_SIGN);
	assert_true(gnutls_x509_crt_set_key(ca->c, ca->k) >= 0);
	assert_true(gnutls_x509_crt_get_key_id(ca->c, 0, kid, &kid_len) >= 0);
	gnutls_x509_crt_set_subject_key_id(ca->c, kid, kid_len);
	assert_true(gnutls_x509_crt_sign2(ca->c, ca->c, ca->k, GNUTLS_DIG_SHA256, 0) >= 0);
	assert_true(gnutls_x509_crt_export2(ca->c, GNUTLS_X509_FMT_PEM, &ca->pem) >= 0);
	write_datum(ca->crt, &ca->pem);
	assert_true(gnutls_x509_privkey_export2(ca->k, GNUTLS_X509_FMT_PEM, &d) >= 0);
	write_datum(ca->key, &d);
	gnutls_free(d.data);
}

/* The files go once the controllers have read them (also when a check fails later). */
static void ca_remove_files(struct ca *ca)
{
	unlink(ca->crt);
	unlink(ca->key);
	rmdir(ca->dir);
}

static void ca_free(struct ca *ca)
{
	gnutls_free(ca->pem.data);
	gnutls_x509_crt_deinit(ca->c);
	gnutls_x509_privkey_deinit(ca->k);
}

/* A CSR object (JSON) named name for subject O=org, CN=cn, with usages (a JSON list). */
static char *csr_json(const char *name, const char *org, const char *cn, const char *usages)
{
	gnutls_x509_privkey_t k;
	gnutls_x509_crq_t q;
	gnutls_datum_t der, pem, b64;
	char *json;

	assert_true(gnutls_x509_privkey_init(&k) >= 0);
	assert_true(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						 0) >= 0);
	assert_true(gnutls_x509_crq_init(&q) >= 0);
	gnutls_x509_crq_set_dn_by_oid(q, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org,
				      (unsigned)strlen(org));
	gnutls_x509_crq_set_dn_by_oid(q, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn));
	assert_true(gnutls_x509_crq_set_key(q, k) >= 0);
	assert_true(gnutls_x509_crq_sign2(q, k, GNUTLS_DIG_SHA256, 0) >= 0);
	/* as Go writes it ("CERTIFICATE REQUEST"; GnuTLS' own PEM says "NEW CERTIFICATE
	 * REQUEST", which Kubernetes refuses) */
	assert_true(gnutls_x509_crq_export2(q, GNUTLS_X509_FMT_DER, &der) >= 0);
	assert_true(gnutls_pem_base64_encode2("CERTIFICATE REQUEST", &der, &pem) >= 0);
	gnutls_free(der.data);
	assert_true(gnutls_base64_encode2(&pem, &b64) >= 0);
	assert_true(asprintf(&json,
			     "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":"
			     "\"CertificateSigningRequest\",\"metadata\":{\"name\":\"%s\"},"
			     "\"spec\":{\"signerName\":\"kubernetes.io/kube-apiserver-client-"
			     "kubelet\",\"usages\":%s,\"request\":\"%.*s\"}}",
			     name, usages, (int)b64.size, (const char *)b64.data) > 0);
	gnutls_free(pem.data);
	gnutls_free(b64.data);
	gnutls_x509_crq_deinit(q);
	gnutls_x509_privkey_deinit(k);
	return json;
}

static void create_csr(struct cenv *e, const char *name, const char *org, const char *cn,
		       const char *usages)
{
	char *json = csr_json(name, org, cn, usages);

	cenv_create(e, csr_kind(), NULL, json);
	free(json);
}

/* "<type>/<reason>" of condition i of CSR name ("" if none) into buf. */
static const char *condition(struct cenv *e, const char *name, size_t i, char *buf, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *csr = cenv_get(e, d, csr_kind(), NULL, name);
	const struct jv *c = csr ? jv_at(jv_path(csr, "status.conditions"), i) : NULL;

	snprintf(buf, size, "%s/%s", c ? jv_path_str(c, "type") : "",
		 c ? jv_path_str(c, "reason") : "");
	if (!c)
		buf[0] = 0;
	jv_doc_free(d);
	return buf;
}

static bool has_certificate(struct cenv *e, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *csr = cenv_get(e, d, csr_kind(), NULL, name);
	bool has = csr && jv_path_str(csr, "status.certificate");

	jv_doc_free(d);
	return has;
}

static void start(struct cenv *e, struct ca *ca)
{
	struct ctrl_config cfg = {.signing_cert_file = ca->crt, .signing_key_file = ca->key};

	cenv_start(e, "csrapproving,csrsigning", NULL, &cfg);
	ca_remove_files(ca);
}

static void test_kubelet_client_csr_signed(void **state)
{
	struct cenv e;
	struct ca ca;
	char buf[128];
	struct jv_doc *d;
	struct jv *csr;
	gnutls_datum_t b64, pem = {0};
	gnutls_x509_crt_t crt, cac;
	unsigned verify = 1;
	size_t len = sizeof(buf);

	(void)state;
	ca_make(&ca);
	start(&e, &ca);
	create_csr(&e, "evil", "evil", "system:node:n9", "[\"digital signature\",\"client auth\"]");
	create_csr(&e, "n1", "system:nodes", "system:node:n1",
		   "[\"digital signature\",\"key encipherment\",\"client auth\"]");
	assert_true(WAIT_UNTIL(has_certificate(&e, "n1"), KC_WAIT_MS));
	assert_string_equal(condition(&e, "n1", 0, buf, sizeof(buf)), "Approved/AutoApproved");
	/* the certificate: signed by the CA, the request's subject, for client auth */
	d = jv_doc_new();
	csr = cenv_get(&e, d, csr_kind(), NULL, "n1");
	b64 = (gnutls_datum_t){(unsigned char *)jv_path_str(csr, "status.certificate"),
			       (unsigned)strlen(jv_path_str(csr, "status.certificate"))};
	assert_true(gnutls_base64_decode2(&b64, &pem) >= 0);
	assert_true(gnutls_x509_crt_init(&crt) >= 0);
	assert_true(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) >= 0);
	/* the CA as the file held it (a certificate built in memory does not verify others) */
	assert_true(gnutls_x509_crt_init(&cac) >= 0);
	assert_true(gnutls_x509_crt_import(cac, &ca.pem, GNUTLS_X509_FMT_PEM) >= 0);
	assert_true(gnutls_x509_crt_verify(crt, &cac, 1, 0, &verify) >= 0);
	gnutls_x509_crt_deinit(cac);
	assert_int_equal(verify, 0);
	assert_true(
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) >= 0);
	assert_string_equal(buf, "system:node:n1");
	len = sizeof(buf);
	assert_true(gnutls_x509_crt_get_key_purpose_oid(crt, 0, buf, &len, NULL) >= 0);
	assert_string_equal(buf, GNUTLS_KP_TLS_WWW_CLIENT);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(pem.data);
	jv_doc_free(d);
	/* queued before n1, and no node's subject: never approved */
	assert_string_equal(condition(&e, "evil", 0, buf, sizeof(buf)), "");
	assert_false(has_certificate(&e, "evil"));
	cenv_stop(&e);
	ca_free(&ca);
}

static void test_signer_refuses(void **state)
{
	struct cenv e;
	struct ca ca;
	struct jv_doc *d;
	struct jv *csr;
	struct kc_status st;
	char buf[128];

	(void)state;
	ca_make(&ca);
	start(&e, &ca);
	/* server auth is no kubelet client's usage: not auto-approved, approved by hand */
	create_csr(&e, "srv", "system:nodes", "system:node:n1",
		   "[\"digital signature\",\"server auth\"]");
	d = jv_doc_new();
	csr = cenv_get(&e, d, csr_kind(), NULL, "srv");
	assert_non_null(csr);
	assert_int_equal(
	    kc_patch(e.k.c, csr_kind(), NULL, "srv", "approval", KC_PATCH_MERGE,
		     "{\"status\":{\"conditions\":[{\"type\":\"Approved\",\"status\":\"True\","
		     "\"reason\":\"ByHand\"}]}}",
		     strlen("{\"status\":{\"conditions\":[{\"type\":\"Approved\",\"status\":"
			    "\"True\",\"reason\":\"ByHand\"}]}}"),
		     NULL, NULL, &st),
	    0);
	assert_true(WAIT_UNTIL(strcmp(condition(&e, "srv", 1, buf, sizeof(buf)),
				      "Failed/SignerValidationFailure") == 0,
			       KC_WAIT_MS));
	csr = cenv_get(&e, d, csr_kind(), NULL, "srv");
	assert_string_equal(
	    jv_path_str(jv_at(jv_path(csr, "status.conditions"), 1), "message"),
	    "usages did not match [client auth digital signature key encipherment]");
	assert_false(has_certificate(&e, "srv"));
	jv_doc_free(d);
	cenv_stop(&e);
	ca_free(&ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kubelet_client_csr_signed),
	    cmocka_unit_test(test_signer_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
