/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csr: the REST strategy of CertificateSigningRequests (certificates.k8s.io/v1), as
 * pkg/registry/certificates/certificates/strategy.go and pkg/apis/certificates/validation:
 * a create starts without status (spec.username/groups are the requester's, set by the HTTP
 * layer that knows the user: http/auth.c); the spec never changes after a create; the
 * approval subresource writes only status.conditions (registry/update.c), status the rest of
 * status. Validation: spec.request is a PEM CERTIFICATE REQUEST whose signature verifies,
 * signerName and usages are given, Approved and Denied exclude each other.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "api_strategy.h"

/* spec.request ([]byte: base64 of the PEM): NULL if fine, else why not. */
static const char *request_error(const struct jv *req)
{
	gnutls_datum_t in, pem = {0};
	gnutls_x509_crq_t crq;
	const char *why = NULL;

	if (!req || req->type != JV_STRING)
		return "";
	in = (gnutls_datum_t){(unsigned char *)req->s, req->len};
	if (gnutls_base64_decode2(&in, &pem) < 0)
		return "PEM block type must be CERTIFICATE REQUEST";
	if (!memmem(pem.data, pem.size, "-----BEGIN CERTIFICATE REQUEST-----", 35)) {
		why = "PEM block type must be CERTIFICATE REQUEST";
	} else if (gnutls_x509_crq_init(&crq) < 0) {
		why = "out of memory";
	} else {
		if (gnutls_x509_crq_import(crq, &pem, GNUTLS_X509_FMT_PEM) < 0)
			why = "asn1: structure error";
		else if (gnutls_x509_crq_verify(crq, 0) < 0)
			why = "x509: ECDSA verification failure";
		gnutls_x509_crq_deinit(crq);
	}
	gnutls_free(pem.data);
	return why;
}

static void csr_defaults(struct api_admit *a)
{
	/* PrepareForUpdate: the spec is the stored one (every write after the create) */
	if (a->old && jv_get(a->old, "spec"))
		jv_set(a->d, a->obj, "spec", jv_copy(a->d, jv_get(a->old, "spec")));
}

static void csr_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	const struct jv *usages = jv_get(spec, "usages");
	bool approved = false, denied = false;
	const char *why;

	if (!a->old) {
		if (!jv_get(spec, "request"))
			api_cause_required(a, "spec.request", NULL);
		else if ((why = request_error(jv_get(spec, "request"))) != NULL)
			api_cause(a, "spec.request", K8S_REASON_INVALID,
				  "Invalid value: \"<%u bytes>\": %s", jv_get(spec, "request")->len,
				  why[0] ? why : "not a string");
		if (!jv_path_str(a->obj, "spec.signerName") ||
		    !jv_path_str(a->obj, "spec.signerName")[0])
			api_cause_required(a, "spec.signerName", NULL);
		if (!usages || usages->type != JV_ARRAY || !usages->len)
			api_cause_required(a, "spec.usages", "usages must be provided");
	}
	for (const struct jv *c = jv_first(jv_path(a->obj, "status.conditions")); c; c = c->next) {
		approved |= jv_is_str(jv_get(c, "type"), "Approved");
		denied |= jv_is_str(jv_get(c, "type"), "Denied");
	}
	if (approved && denied)
		api_cause(
		    a, "status.conditions", K8S_REASON_INVALID,
		    "Invalid value: \"Approved\": Approved and Denied conditions are mutually "
		    "exclusive");
}

const struct api_strategy api_strategy_csrs = {
    .defaults = csr_defaults,
    .validate = csr_validate,
};
