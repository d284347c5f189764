/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csr: kube-controller-manager's two CertificateSigningRequest controllers for kubelets'
 * client certificates (signer kubernetes.io/kube-apiserver-client-kubelet):
 *
 *  - csrapproving (pkg/controller/certificates/approver/sarapprove.go): a pending CSR whose
 *    request is a kubelet client certificate (O exactly system:nodes, CN system:node:*, no
 *    SANs, usages {digital signature, client auth} with or without key encipherment) is
 *    approved (condition Approved/AutoApproved) when its requester may create
 *    certificatesigningrequests/selfnodeclient (its own node: CN = username; group
 *    system:nodes, as kubeadm binds it) or .../nodeclient (group system:bootstrappers, as
 *    kubeadm binds it) or is an identity drover lets do everything (no node, no
 *    bootstrapper: an administrator, as system:masters) — drover has no
 *    SubjectAccessReview, so these are the rule here (the API server's authorizer applies
 *    the same: http/auth.c).
 *  - csrsigning (pkg/controller/certificates/signer): an approved CSR of that signer without
 *    a certificate is signed with the cluster CA (GnuTLS x509): subject and key from the
 *    request, key usages and extended key usages from spec.usages, valid from 5 minutes ago
 *    for spec.expirationSeconds (at least 10 minutes) or one year, never beyond the CA; the
 *    PEM goes to status.certificate. A request its signer must refuse gets the condition
 *    Failed/SignerValidationFailure. No CA configured (ctrl_config.signing_*): it signs
 *    nothing (logged), as kube-controller-manager without --cluster-signing-* files.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctrl.h"
#include "log.h"
#include "podctl.h"

#define SIGNER "kubernetes.io/kube-apiserver-client-kubelet"
#define YEAR_S (365 * 24 * 3600)

struct csr_ctrl {
	struct ctrl_ctx *c;
	const struct k8s_kind *k;
	struct kc_informer *csrs;
	struct kc_queue *q;
	struct kc_workers *w;
	bool signer;
	gnutls_x509_crt_t ca;
	gnutls_x509_privkey_t ca_key;
};

/* ---- the request ---- */

/* spec.request ([]byte of PEM) parsed, or NULL */
static gnutls_x509_crq_t parse_request(const struct jv *csr)
{
	const struct jv *req = jv_path(csr, "spec.request");
	gnutls_datum_t in, pem = {0};
	gnutls_x509_crq_t crq = NULL;

	if (!req || req->type != JV_STRING)
		return NULL;
	in = (gnutls_datum_t){(unsigned char *)req->s, req->len};
	if (gnutls_base64_decode2(&in, &pem) < 0)
		return NULL;
	if (gnutls_x509_crq_init(&crq) < 0 ||
	    gnutls_x509_crq_import(crq, &pem, GNUTLS_X509_FMT_PEM) < 0) {
		if (crq)
			gnutls_x509_crq_deinit(crq);
		crq = NULL;
	}
	gnutls_free(pem.data);
	return crq;
}

static bool has_usage(const struct jv *csr, const char *u)
{
	for (const struct jv *x = jv_first(jv_path(csr, "spec.usages")); x; x = x->next)
		if (jv_is_str(x, u))
			return true;
	return false;
}

/* capihelper.ValidateKubeletClientCSR: NULL if crq is a kubelet client certificate request,
 * else Kubernetes' reason. */
static const char *kubelet_client_error(gnutls_x509_crq_t crq, const struct jv *csr)
{
	char buf[256];
	size_t len = sizeof(buf);
	unsigned n = 0;

	if (gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, 0, buf, &len) <
		0 ||
	    strcmp(buf, "system:nodes") != 0)
		return "subject organization is not system:nodes";
	len = sizeof(buf);
	if (gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, 1, 0, buf,
					  &len) >= 0)
		return "subject organization is not system:nodes";
	for (unsigned i = 0;; i++) {
		unsigned type = 0, critical;
		char san[256];
		size_t slen = sizeof(san);
		int ret =
		    gnutls_x509_crq_get_subject_alt_name(crq, i, san, &slen, &type, &critical);

		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret == GNUTLS_SAN_DNSNAME)
			return "DNS subjectAltNames are not allowed";
		if (ret == GNUTLS_SAN_RFC822NAME)
			return "Email subjectAltNames are not allowed";
		if (ret == GNUTLS_SAN_IPADDRESS)
			return "IP subjectAltNames are not allowed";
		if (ret == GNUTLS_SAN_URI)
			return "URI subjectAltNames are not allowed";
		if (ret < 0 && ret != GNUTLS_E_SHORT_MEMORY_BUFFER)
			break;
	}
	len = sizeof(buf);
	if (gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) < 0 ||
	    strncmp(buf, "system:node:", 12) != 0)
		return "subject common name does not begin with system:node:";
	for (const struct jv *x = jv_first(jv_path(csr, "spec.usages")); x; x = x->next)
		n++;
	if (!has_usage(csr, "digital signature") || !has_usage(csr, "client auth") ||
	    n != 2u + has_usage(csr, "key encipherment"))
		return "usages did not match [client auth digital signature key encipherment]";
	return NULL;
}

static bool in_groups(const struct jv *csr, const char *g)
{
	for (const struct jv *x = jv_first(jv_path(csr, "spec.groups")); x; x = x->next)
		if (jv_is_str(x, g))
			return true;
	return false;
}

/* A requester drover's authorizer lets do everything (not a node, not a bootstrapper: an
 * administrator), whose SubjectAccessReview would allow nodeclient too (as system:masters'
 * in Kubernetes). */
static bool unrestricted(const struct jv *csr)
{
	const char *u = jv_path_str(csr, "spec.username");

	return u && u[0] && strncmp(u, "system:node:", 12) != 0 &&
	       strncmp(u, "system:bootstrap:", 17) != 0 && !in_groups(csr, "system:nodes") &&
	       !in_groups(csr, "system:bootstrappers");
}

static bool approved_or_denied(const struct jv *csr, bool *failed)
{
	bool ad = false;

	*failed = false;
	for (const struct jv *c = jv_first(jv_path(csr, "status.conditions")); c; c = c->next) {
		ad |= jv_is_str(jv_get(c, "type"), "Approved") ||
		      jv_is_str(jv_get(c, "type"), "Denied");
		*failed |= jv_is_str(jv_get(c, "type"), "Failed");
	}
	return ad;
}

static void add_condition(struct jv_doc *d, struct jv *csr, const char *type, const char *reason,
			  const char *message)
{
	struct jv *st = jv_obj_at(d, csr, "status");
	struct jv *conds = st ? jv_get(st, "conditions") : NULL;
	struct jv *c = jv_new(d, JV_OBJECT);
	char now[32];

	if (!st || !c)
		return;
	if (!conds) {
		conds = jv_new(d, JV_ARRAY);
		jv_set(d, st, "conditions", conds);
	}
	ctrl_time(ctrl_now(), now);
	jv_set(d, c, "type", jv_new_strz(d, type));
	jv_set(d, c, "status", jv_new_strz(d, "True"));
	jv_set(d, c, "reason", jv_new_strz(d, reason));
	jv_set(d, c, "message", jv_new_strz(d, message));
	jv_set(d, c, "lastUpdateTime", jv_new_strz(d, now));
	jv_set(d, c, "lastTransitionTime", jv_new_strz(d, now));
	jv_push(conds, c);
}

/* ---- approving ---- */

static int approve(struct csr_ctrl *cc, const char *name, struct jv_doc *d, struct jv *csr)
{
	struct kc_status st = {0};
	gnutls_x509_crq_t crq;
	const char *msg = NULL, *user = jv_path_str(csr, "spec.username");
	char cn[256];
	size_t len = sizeof(cn);
	bool failed;
	int err;

	if (jv_path_str(csr, "status.certificate") || approved_or_denied(csr, &failed) ||
	    !jv_is_str(jv_path(csr, "spec.signerName"), SIGNER))
		return 0;
	crq = parse_request(csr);
	if (!crq)
		return 0; /* unable to parse: nothing to recognize */
	if (!kubelet_client_error(crq, csr)) {
		/* the recognizers in sarapprove.go's order: selfnodeclient, then nodeclient */
		if (user &&
		    gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
						  &len) >= 0 &&
		    strcmp(cn, user) == 0 && in_groups(csr, "system:nodes"))
			msg = "Auto approving self kubelet client certificate after "
			      "SubjectAccessReview.";
		else if (in_groups(csr, "system:bootstrappers") || unrestricted(csr))
			msg =
			    "Auto approving kubelet client certificate after SubjectAccessReview.";
		else
			log_info(cc->c->name,
				 "recognized csr \"%s\" as [selfnodeclient nodeclient] but subject "
				 "access review was not approved",
				 name);
	}
	gnutls_x509_crq_deinit(crq);
	if (!msg)
		return 0;
	add_condition(d, csr, "Approved", "AutoApproved", msg);
	err = kc_update(cc->c->kc, cc->k, NULL, "approval", csr, NULL, NULL, &st);
	if (err == -KC_ECONFLICT)
		return -EAGAIN;
	if (err == -ENOENT)
		return 0;
	if (err)
		log_warn(cc->c->name, "csr %s: approval: %s", name, st.message);
	else
		log_info(cc->c->name, "csr %s: approved (%s)", name, user ? user : "");
	return err;
}

/* ---- signing ---- */

static unsigned key_usage(const struct jv *csr)
{
	unsigned ku = 0;

	if (has_usage(csr, "digital signature"))
		ku |= GNUTLS_KEY_DIGITAL_SIGNATURE;
	if (has_usage(csr, "key encipherment"))
		ku |= GNUTLS_KEY_KEY_ENCIPHERMENT;
	if (has_usage(csr, "content commitment"))
		ku |= GNUTLS_KEY_NON_REPUDIATION;
	if (has_usage(csr, "data encipherment"))
		ku |= GNUTLS_KEY_DATA_ENCIPHERMENT;
	if (has_usage(csr, "key agreement"))
		ku |= GNUTLS_KEY_KEY_AGREEMENT;
	return ku;
}

/* The certificate for crq, signed by the CA: PEM (gnutls_free it) in out. */
static int sign(struct csr_ctrl *cc, gnutls_x509_crq_t crq, const struct jv *csr,
		gnutls_datum_t *out)
{
	gnutls_x509_crt_t crt;
	unsigned char serial[16], kid[64];
	size_t kid_len = sizeof(kid);
	int64_t now = ctrl_now(), dur = YEAR_S, exp_s, ca_end;
	int ret;

	if (jv_path_int(csr, "spec.expirationSeconds", &exp_s) == 0 && exp_s < dur)
		dur = exp_s < 600 ? 600 : exp_s;
	ca_end = (int64_t)gnutls_x509_crt_get_expiration_time(cc->ca);
	if (getrandom(serial, sizeof(serial), 0) != (ssize_t)sizeof(serial))
		return -EIO;
	serial[0] &= 0x7f;
	if ((ret = gnutls_x509_crt_init(&crt)) < 0)
		return -ENOMEM;
	if ((ret = gnutls_x509_crt_set_crq(crt, crq)) < 0)
		goto out;
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	/* backdated five minutes against clock skew, as Kubernetes' signer does */
	gnutls_x509_crt_set_activation_time(crt, (time_t)(now - 300));
	gnutls_x509_crt_set_expiration_time(
	    crt, (time_t)(ca_end > 0 && now + dur > ca_end ? ca_end : now + dur));
	gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	gnutls_x509_crt_set_key_usage(crt, key_usage(csr));
	if (has_usage(csr, "client auth"))
		gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
	if (has_usage(csr, "server auth"))
		gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
	if (gnutls_x509_crt_get_subject_key_id(cc->ca, kid, &kid_len, NULL) >= 0)
		gnutls_x509_crt_set_authority_key_id(crt, kid, kid_len);
	kid_len = sizeof(kid);
	if (gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len) >= 0)
		gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len);
	ret = gnutls_x509_crt_sign2(crt, cc->ca, cc->ca_key, GNUTLS_DIG_SHA256, 0);
	if (ret >= 0)
		ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, out);
out:
	gnutls_x509_crt_deinit(crt);
	return ret < 0 ? -EINVAL : 0;
}

static int sign_csr(struct csr_ctrl *cc, const char *name, struct jv_doc *d, struct jv *csr)
{
	struct kc_status st = {0};
	gnutls_x509_crq_t crq;
	gnutls_datum_t pem = {0}, b64 = {0};
	const char *why;
	bool failed, approved = false;
	int err;

	for (const struct jv *c = jv_first(jv_path(csr, "status.conditions")); c; c = c->next)
		approved |= jv_is_str(jv_get(c, "type"), "Approved") &&
			    jv_is_str(jv_get(c, "status"), "True");
	approved_or_denied(csr, &failed);
	if (!approved || failed || jv_path_str(csr, "status.certificate") ||
	    !jv_is_str(jv_path(csr, "spec.signerName"), SIGNER))
		return 0;
	crq = parse_request(csr);
	if (!crq) {
		log_warn(cc->c->name, "unable to parse csr \"%s\"", name);
		return 0;
	}
	why = kubelet_client_error(crq, csr);
	if (why) {
		add_condition(d, csr, "Failed", "SignerValidationFailure", why);
	} else if ((err = sign(cc, crq, csr, &pem)) != 0) {
		gnutls_x509_crq_deinit(crq);
		log_warn(cc->c->name, "csr %s: cannot sign: %s", name, strerror(-err));
		return err;
	} else {
		if (gnutls_base64_encode2(&pem, &b64) < 0) {
			gnutls_free(pem.data);
			gnutls_x509_crq_deinit(crq);
			return -ENOMEM;
		}
		jv_set(d, jv_obj_at(d, csr, "status"), "certificate",
		       jv_new_str(d, (const char *)b64.data, b64.size));
		gnutls_free(b64.data);
		gnutls_free(pem.data);
	}
	gnutls_x509_crq_deinit(crq);
	err = kc_update(cc->c->kc, cc->k, NULL, "status", csr, NULL, NULL, &st);
	if (err == -KC_ECONFLICT)
		return -EAGAIN;
	if (err == -ENOENT)
		return 0;
	if (err)
		log_warn(cc->c->name, "csr %s: status: %s", name, st.message);
	else
		log_info(cc->c->name, "csr %s: %s", name, why ? why : "signed");
	return err;
}

/* ---- the controllers ---- */

static void csr_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct csr_ctrl *cc = arg;
	const char *name = jv_path_str(t, "metadata.name");

	(void)o;
	if (name)
		kc_queue_add(cc->q, name);
}

static void csr_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	csr_add(arg, cur, cur_t);
}

static int sync_csr(void *arg, const char *key)
{
	struct csr_ctrl *cc = arg;
	struct jv_doc *d = jv_doc_new();
	struct jv *csr;
	int err = 0;

	if (!d)
		return -ENOMEM;
	csr = ctrl_cached(cc->csrs, NULL, key, d);
	if (csr)
		err = cc->signer ? sign_csr(cc, key, d, csr) : approve(cc, key, d, csr);
	jv_doc_free(d);
	return err;
}

static int load_ca(struct csr_ctrl *cc)
{
	const struct ctrl_config *cfg = cc->c->cfg;
	gnutls_datum_t c = {0}, k = {0};
	int ret;

	if (!cfg->signing_cert_file || !cfg->signing_key_file) {
		log_info(cc->c->name, "no cluster signing certificate and key: signing nothing");
		return 0;
	}
	if ((ret = gnutls_load_file(cfg->signing_cert_file, &c)) < 0 ||
	    (ret = gnutls_load_file(cfg->signing_key_file, &k)) < 0 ||
	    (ret = gnutls_x509_crt_init(&cc->ca)) < 0 ||
	    (ret = gnutls_x509_crt_import(cc->ca, &c, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (ret = gnutls_x509_privkey_init(&cc->ca_key)) < 0 ||
	    (ret = gnutls_x509_privkey_import2(cc->ca_key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		log_error(cc->c->name, "cannot load the signing CA %s / %s: %s",
			  cfg->signing_cert_file, cfg->signing_key_file, gnutls_strerror(ret));
		ret = -EINVAL;
	} else {
		ret = 0;
	}
	gnutls_free(c.data);
	gnutls_free(k.data);
	return ret;
}

static int csr_init(struct ctrl_ctx *c, void **state, bool signer)
{
	struct csr_ctrl *cc = calloc(1, sizeof(*cc));
	struct kc_handlers h = {.add = csr_add, .update = csr_update};
	int err;

	*state = cc;
	if (!cc)
		return -ENOMEM;
	cc->c = c;
	cc->signer = signer;
	cc->k = k8s_kind_find("certificates.k8s.io/v1", "CertificateSigningRequest");
	if (signer && (err = load_ca(cc)) != 0)
		return err;
	if (signer && !cc->ca)
		return 0; /* nothing to sign with */
	cc->q = kc_queue_new(c->name);
	cc->csrs = ctrl_informer(c, cc->k);
	if (!cc->q || !cc->csrs)
		return -ENOMEM;
	h.arg = cc;
	return kc_informer_add_handlers(cc->csrs, &h);
}

static int approving_init(struct ctrl_ctx *c, void **state)
{
	return csr_init(c, state, false);
}

static int signing_init(struct ctrl_ctx *c, void **state)
{
	return csr_init(c, state, true);
}

static int csr_run(void *state)
{
	struct csr_ctrl *cc = state;

	if (!cc->q)
		return 0;
	cc->w = kc_workers_start(cc->q, cc->c->cfg->workers, sync_csr, cc, cc->c->name);
	return cc->w ? 0 : -ENOMEM;
}

static void csr_quiesce(void *state)
{
	struct csr_ctrl *cc = state;

	if (!cc)
		return;
	ctrl_queue_quiesce(&cc->w, cc->q);
}

static void csr_stop(void *state)
{
	struct csr_ctrl *cc = state;

	if (!cc)
		return;
	csr_quiesce(cc);
	kc_queue_free(cc->q);
	if (cc->ca)
		gnutls_x509_crt_deinit(cc->ca);
	if (cc->ca_key)
		gnutls_x509_privkey_deinit(cc->ca_key);
	free(cc);
}

const struct ctrl_desc ctrl_csrapproving = {
    .name = "csrapproving",
    .component = "csrapproving-controller",
    .init = approving_init,
    .run = csr_run,
    .stop = csr_stop,
    .quiesce = csr_quiesce,
};

const struct ctrl_desc ctrl_csrsigning = {
    .name = "csrsigning",
    .component = "csrsigning-controller",
    .init = signing_init,
    .run = csr_run,
    .stop = csr_stop,
    .quiesce = csr_quiesce,
};
