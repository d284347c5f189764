/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x509: certificates with GnuTLS, shared by the API server's PKI (control/api/http/pki.c) and
 * the agent (its kubelet endpoint, agent_http.c; its bootstrap key, agent_join.c): ECDSA
 * P-256 key pairs, CA / serving / client certificates signed by a CA or self-signed, PEM
 * load and save, and the verified identity of a TLS peer (CN the user, O its groups, as
 * Kubernetes' x509 authenticator takes them).
 */
#ifndef DROVER_X509_H
#define DROVER_X509_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>

/* The identity the API server calls kubelets (agents) with, as kubeadm's
 * apiserver-kubelet-client certificate names it; the only caller an agent accepts. */
#define X509_KUBELET_CLIENT_CN "kube-apiserver-kubelet-client"

struct x509_pair {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
};

enum x509_role { X509_CA, X509_SERVER, X509_CLIENT };

/* A new ECDSA P-256 key (the one kind every drover key is); 0 or a GnuTLS error (< 0). */
int x509_key_make(gnutls_x509_privkey_t *key);
/* A new key and its certificate for role, signed by ca (NULL: self-signed), valid from an
 * hour ago for ten years; org may be NULL; ips (IPv4 text) and dns are NULL-terminated SAN
 * lists (servers only) or NULL. 0 or a GnuTLS error (< 0). */
int x509_pair_make(struct x509_pair *out, const struct x509_pair *ca, enum x509_role role,
		   const char *cn, const char *org, const char *const *ips, const char *const *dns);
/* Read a PEM certificate and key (PKCS#8 or the legacy formats). 0 or < 0. */
int x509_pair_load(struct x509_pair *k, const char *crt_path, const char *key_path);
/* Write them (0600, atomically: a temp file renamed) when a path is given, and/or return
 * the PEM texts (malloc'd). 0 or -errno. */
int x509_pair_save(const struct x509_pair *k, const char *crt_path, const char *key_path,
		   char **crt_pem, char **key_pem);
void x509_pair_free(struct x509_pair *k);

/* A whole small file (< 1 MiB) NUL-terminated, or NULL. */
char *x509_read_file(const char *path);
/* Write data to path through path.tmp (0600, fsync, rename). 0 or -errno. */
int x509_write_file(const char *path, const char *data, size_t len);

/* The peer of a handshaken session, when it sent a certificate that the session's trust
 * list verifies: its CN in user, and each O passed to org(). 0; -ENOENT when it sent no
 * certificate; -EACCES when it does not verify. */
int x509_peer_identity(gnutls_session_t s, char *user, size_t user_size,
		       void (*org)(void *arg, const char *o, size_t len), void *arg);

#endif
