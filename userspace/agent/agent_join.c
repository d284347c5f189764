/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_join: TLS bootstrapping as the kubelet does it (--bootstrap-kubeconfig): when
 * --kubeconfig holds no usable client certificate (missing, unreadable, expired), make an
 * ECDSA P-256 key and a CSR for CN system:node:NAME, O system:nodes; post it with the
 * bootstrap credentials as a CertificateSigningRequest for the signer
 * kubernetes.io/kube-apiserver-client-kubelet with usages digital signature + client auth
 * (what the kubelet asks for an ECDSA key); wait for the server's csrapproving and
 * csrsigning controllers to approve and sign it; write --kubeconfig (the bootstrap
 * kubeconfig's server and CA, the new certificate and key embedded, mode 0600, replaced
 * atomically). A denied or failed request ends the join with its message.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"
#include "x509.h"

#define JOIN_SIGNER "kubernetes.io/kube-apiserver-client-kubelet"

/* The kubelet's check: a client certificate that parses and is not past its notAfter. */
static bool usable(const char *kubeconfig)
{
	struct kc_config c = {0};
	gnutls_x509_crt_t crt = NULL;
	char *pem = NULL;
	bool ok = false;

	if (access(kubeconfig, R_OK) || kc_config_load(kubeconfig, &c, NULL, 0))
		return false;
	pem = c.cert_data ? strdup(c.cert_data) : c.cert_file ? x509_read_file(c.cert_file) : NULL;
	if (pem && (c.key_data || c.key_file) && gnutls_x509_crt_init(&crt) == 0) {
		gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};

		if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) == 0)
			ok = gnutls_x509_crt_get_expiration_time(crt) > time(NULL);
		gnutls_x509_crt_deinit(crt);
	}
	free(pem);
	kc_config_free(&c);
	return ok;
}

/* key and CSR, both PEM (gnutls-allocated) */
static int make_csr(const char *node, gnutls_datum_t *key_pem, gnutls_datum_t *csr_pem)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t der = {0};
	char cn[300];
	int r;

	snprintf(cn, sizeof(cn), "system:node:%s", node);
	if ((r = x509_key_make(&key)) || (r = gnutls_x509_crq_init(&crq)) ||
	    (r = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
					       "system:nodes", 12)) ||
	    (r = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					       (unsigned)strlen(cn))) ||
	    (r = gnutls_x509_crq_set_version(crq, 1)) || (r = gnutls_x509_crq_set_key(crq, key)) ||
	    (r = gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0)) ||
	    (r = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &der)) ||
	    /* GnuTLS's PEM says NEW CERTIFICATE REQUEST; the API wants Go's block type */
	    (r = gnutls_pem_base64_encode2("CERTIFICATE REQUEST", &der, csr_pem)) ||
	    (r = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, key_pem)))
		log_error(AGENT_COMP, "bootstrap: key and CSR: %s", gnutls_strerror(r));
	gnutls_free(der.data);
	if (crq)
		gnutls_x509_crq_deinit(crq);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return r ? -EIO : 0;
}

static char *b64(const char *s)
{
	gnutls_datum_t in = {(unsigned char *)s, (unsigned)strlen(s)}, out = {0};
	char *r;

	if (gnutls_base64_encode2(&in, &out))
		return NULL;
	r = strndup((char *)out.data, out.size);
	gnutls_free(out.data);
	return r;
}

/* Post the CSR; its name in name. */
static int post(struct kclient *kc, const struct k8s_kind *k, const char *node,
		const gnutls_datum_t *csr_pem, char *name, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o, *md, *spec, *usages;
	struct kc_obj *got = NULL;
	struct kc_status st = {0};
	char *req = NULL, pem[4096];
	const char *n;
	int err = -ENOMEM;

	if (csr_pem->size >= sizeof(pem))
		goto out;
	memcpy(pem, csr_pem->data, csr_pem->size);
	pem[csr_pem->size] = 0;
	req = b64(pem);
	o = d ? jv_new(d, JV_OBJECT) : NULL;
	md = d ? jv_new(d, JV_OBJECT) : NULL;
	spec = d ? jv_new(d, JV_OBJECT) : NULL;
	usages = d ? jv_new(d, JV_ARRAY) : NULL;
	if (!req || !o || !md || !spec || !usages)
		goto out;
	jv_push(usages, jv_new_strz(d, "digital signature"));
	jv_push(usages, jv_new_strz(d, "client auth"));
	if (jv_set(d, o, "apiVersion", jv_new_strz(d, "certificates.k8s.io/v1")) ||
	    jv_set(d, o, "kind", jv_new_strz(d, "CertificateSigningRequest")) ||
	    jv_set(d, md, "generateName", jv_new_strf(d, "node-csr-%s-", node)) ||
	    jv_set(d, o, "metadata", md) || jv_set(d, spec, "request", jv_new_strz(d, req)) ||
	    jv_set(d, spec, "signerName", jv_new_strz(d, JOIN_SIGNER)) ||
	    jv_set(d, spec, "usages", usages) || jv_set(d, o, "spec", spec))
		goto out;
	err = kc_create(kc, k, NULL, o, &(struct kc_write_opts){0}, &got, &st);
	if (err) {
		log_error(AGENT_COMP, "bootstrap: create CertificateSigningRequest: %s",
			  st.message[0] ? st.message : kc_strerror(err));
		goto out;
	}
	err = -EIO;
	o = kc_obj_parse(got, d);
	n = o ? jv_path_str(o, "metadata.name") : NULL;
	if (n) {
		snprintf(name, size, "%s", n);
		err = 0;
	}
out:
	kc_obj_put(got);
	free(req);
	jv_doc_free(d);
	return err;
}

/* Wait for status.certificate (base64 PEM, as the API serves it): 0 and *cert_b64, -EPERM when
 * denied or failed, -EINTR when stopping. */
static int wait_cert(struct kclient *kc, const struct k8s_kind *k, const char *name,
		     bool (*stopping)(void), char **cert_b64)
{
	double delay = 0.2;

	while (!stopping()) {
		struct kc_obj *got = NULL;
		struct kc_status st = {0};
		struct jv_doc *d = jv_doc_new();
		struct jv *o;
		int err = d ? kc_get(kc, k, NULL, name, &got, &st) : -ENOMEM;

		if (!err && (o = kc_obj_parse(got, d))) {
			const char *c = jv_path_str(o, "status.certificate");

			for (struct jv *x = jv_first(jv_path(o, "status.conditions")); x;
			     x = x->next) {
				const char *t = jv_path_str(x, "type"),
					   *m = jv_path_str(x, "message");

				if (t && (!strcmp(t, "Denied") || !strcmp(t, "Failed"))) {
					log_error(AGENT_COMP, "bootstrap: %s %s: %s", name, t,
						  m ? m : "");
					err = -EPERM;
				}
			}
			if (!err && c && c[0]) {
				*cert_b64 = strdup(c);
				err = *cert_b64 ? 0 : -ENOMEM;
				kc_obj_put(got);
				jv_doc_free(d);
				return err;
			}
		} else if (err) {
			log_warn(AGENT_COMP, "bootstrap: get %s: %s", name,
				 st.message[0] ? st.message : kc_strerror(err));
		}
		kc_obj_put(got);
		jv_doc_free(d);
		if (err == -EPERM)
			return err;
		nanosleep(&(struct timespec){(time_t)delay, (long)((delay - (long)delay) * 1e9)},
			  NULL);
		if (delay < 2)
			delay *= 1.5;
	}
	return -EINTR;
}

static int write_kubeconfig(const char *path, const struct kc_config *boot, const char *node,
			    const char *cert_b64, const char *key_pem)
{
	char *key_b64 = b64(key_pem), *ca_b64 = boot->ca_data ? b64(boot->ca_data) : NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int err = -ENOMEM;

	if (!key_b64 || (boot->ca_data && !ca_b64) || !(f = open_memstream(&text, &len)))
		goto out;
	fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n");
	if (ca_b64)
		fprintf(f, "    certificate-authority-data: %s\n", ca_b64);
	else if (boot->ca_file)
		fprintf(f, "    certificate-authority: %s\n", boot->ca_file);
	else if (boot->insecure)
		fprintf(f, "    insecure-skip-tls-verify: true\n");
	fprintf(f,
		"    server: %s\n  name: default-cluster\ncontexts:\n- context:\n"
		"    cluster: default-cluster\n    namespace: default\n    user: default-auth\n"
		"  name: default-context\ncurrent-context: default-context\nusers:\n"
		"- name: default-auth\n  user:\n    client-certificate-data: %s\n"
		"    client-key-data: %s\n",
		boot->server, cert_b64, key_b64);
	if (fclose(f))
		goto out;
	/* mode 0600, replaced atomically (a temp file synced and renamed) */
	err = x509_write_file(path, text, len);
	if (!err)
		log_info(AGENT_COMP, "bootstrap: node %s: client certificate written to %s", node,
			 path);
out:
	free(text);
	free(key_b64);
	free(ca_b64);
	return err;
}

int agent_join(const struct agent_config *cfg, bool (*stopping)(void))
{
	const struct k8s_kind *k =
	    k8s_kind_find("certificates.k8s.io/v1", "CertificateSigningRequest");
	struct kc_config boot = {0};
	struct kclient *kc = NULL;
	gnutls_datum_t key = {0}, csr = {0};
	char err_s[512], name[300], *cert = NULL, *key_pem = NULL;
	int err;

	if (!cfg->bootstrap_kubeconfig || usable(cfg->kubeconfig))
		return 0;
	if (!k)
		return -ENOENT;
	log_info(AGENT_COMP, "bootstrap: %s has no usable client certificate: joining with %s",
		 cfg->kubeconfig, cfg->bootstrap_kubeconfig);
	if (kc_config_load(cfg->bootstrap_kubeconfig, &boot, err_s, sizeof(err_s))) {
		log_error(AGENT_COMP, "bootstrap kubeconfig %s: %s", cfg->bootstrap_kubeconfig,
			  err_s);
		return -EINVAL;
	}
	kc = kclient_http_new(&boot);
	err = kc ? make_csr(cfg->node, &key, &csr) : -ENOMEM;
	/* the server may not answer yet: retry the post as the kubelet does */
	for (double delay = 0.5; !err;) {
		err = post(kc, k, cfg->node, &csr, name, sizeof(name));
		if (!err || err == -EACCES || err == -KC_EINVALID || stopping())
			break;
		nanosleep(&(struct timespec){(time_t)delay, (long)((delay - (long)delay) * 1e9)},
			  NULL);
		delay = delay < 4 ? delay * 2 : 4;
		err = 0;
	}
	if (!err) {
		log_info(AGENT_COMP, "bootstrap: CertificateSigningRequest %s posted; waiting",
			 name);
		err = wait_cert(kc, k, name, stopping, &cert);
	}
	if (!err && !(key_pem = strndup((char *)key.data, key.size)))
		err = -ENOMEM;
	if (!err)
		err = write_kubeconfig(cfg->kubeconfig, &boot, cfg->node, cert, key_pem);
	free(cert);
	free(key_pem);
	gnutls_free(key.data);
	gnutls_free(csr.data);
	kclient_free(kc);
	kc_config_free(&boot);
	return err;
}
