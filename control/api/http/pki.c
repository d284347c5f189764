/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pki: the server's TLS material and credentials, made with GnuTLS on first start under
 * DIR/pki: a CA (ECDSA P-256, SHA-256), a serving certificate signed by it (remade at every
 * start, with IP SANs for 127.0.0.1 and the listen address as Go's TLS stack requires), an
 * admin client certificate (CN admin, O system:masters), the client certificate it calls
 * agents' kubelet endpoints with (kubelet-client.crt) and a bearer token; DIR/kubeconfig
 * for the admin. Requests authenticate with the token, a bootstrap token (auth.c) or a client
 * certificate the CA signed (CN the user, O its groups). The certificate work is x509.h's.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_http.h"
#include "x509.h"
#include "log.h"

#define COMP "pki"

static char *b64(const char *s)
{
	gnutls_datum_t in = {(unsigned char *)s, (unsigned)strlen(s)}, out = {0};
	char *r;

	if (gnutls_base64_encode2(&in, &out) < 0)
		return NULL;
	r = strndup((const char *)out.data, out.size);
	gnutls_free(out.data);
	return r;
}

static const char *client_host(const struct api_server *s)
{
	return strcmp(s->listen_host, "0.0.0.0") == 0 ? "127.0.0.1" : s->listen_host;
}

static int write_kubeconfig(struct api_server *s, const char *ca, const char *crt, const char *key,
			    bool tls)
{
	char path[4200];
	char *bca = tls ? b64(ca) : NULL, *bcrt = tls ? b64(crt) : NULL;
	char *bkey = tls ? b64(key) : NULL, *text = NULL;
	int n, err;

	if (tls && (!bca || !bcrt || !bkey)) {
		err = -ENOMEM;
		goto out;
	}
	if (tls)
		n = asprintf(&text,
			     "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
			     "    certificate-authority-data: %s\n    server: https://%s:%u\n"
			     "  name: drover\ncontexts:\n- context:\n    cluster: drover\n"
			     "    user: admin\n  name: drover\ncurrent-context: drover\n"
			     "preferences: {}\nusers:\n- name: admin\n  user:\n"
			     "    client-certificate-data: %s\n    client-key-data: %s\n",
			     bca, client_host(s), s->port, bcrt, bkey);
	else
		n = asprintf(&text,
			     "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
			     "    server: http://%s:%u\n  name: drover\ncontexts:\n- context:\n"
			     "    cluster: drover\n    user: admin\n  name: drover\n"
			     "current-context: drover\npreferences: {}\nusers:\n- name: admin\n"
			     "  user: {}\n",
			     client_host(s), s->port);
	if (n < 0) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/kubeconfig", s->data_dir);
	err = x509_write_file(path, text, (size_t)n);
	if (!err) {
		free(s->kubeconfig);
		s->kubeconfig = strdup(path);
	}
out:
	free(bca);
	free(bcrt);
	free(bkey);
	free(text);
	return err;
}

int api_pki_write_insecure_kubeconfig(struct api_server *s)
{
	return write_kubeconfig(s, NULL, NULL, NULL, false);
}

int api_pki_write_kubeconfig(struct api_server *s)
{
	char dir[4200], crt[4300], key[4300];
	char *c, *k;
	int err;

	snprintf(dir, sizeof(dir), "%s/pki", s->data_dir);
	snprintf(crt, sizeof(crt), "%s/admin.crt", dir);
	snprintf(key, sizeof(key), "%s/admin.key", dir);
	c = x509_read_file(crt);
	k = x509_read_file(key);
	err = c && k ? write_kubeconfig(s, s->tls_ca, c, k, true) : -ENOENT;
	free(c);
	free(k);
	return err;
}

static int make_token(struct api_server *s, const char *path)
{
	unsigned char raw[24];
	char hex[64];

	s->token = x509_read_file(path);
	if (s->token) {
		s->token[strcspn(s->token, "\r\n")] = 0;
		if (strlen(s->token) >= 16)
			return 0;
		free(s->token);
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	s->token = strdup(hex);
	if (!s->token)
		return -ENOMEM;
	return x509_write_file(path, hex, strlen(hex));
}

/* The pair kept as DIR/NAME.crt and .key, made (and kept) when it does not load: a client
 * certificate that ca signs, or the CA itself (ca NULL). 0 or -EIO. */
static int kept_pair(struct x509_pair *k, const char *dir, const char *name,
		     const struct x509_pair *ca, const char *cn, const char *org)
{
	char crt[4300], key[4300];

	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	if (x509_pair_load(k, crt, key) >= 0)
		return 0;
	x509_pair_free(k);
	if (!ca)
		log_info(COMP, "making a CA in %s", dir);
	if (x509_pair_make(k, ca, ca ? X509_CLIENT : X509_CA, cn, org, NULL, NULL) < 0 ||
	    x509_pair_save(k, crt, key, NULL, NULL) != 0)
		return -EIO;
	return 0;
}

int api_pki_setup(struct api_server *s)
{
	struct x509_pair ca = {0}, srv = {0}, admin = {0}, kcl = {0};
	char dir[4200], p1[4300], p2[4300];
	const char *ips[3] = {"127.0.0.1", s->listen_host, NULL};
	static const char *const dns[] = {"localhost",
					  "kubernetes",
					  "kubernetes.default",
					  "kubernetes.default.svc",
					  "kubernetes.default.svc.cluster.local",
					  NULL};
	int ret = -EIO;

	snprintf(dir, sizeof(dir), "%s/pki", s->data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	if (kept_pair(&ca, dir, "ca", NULL, "drover-ca", NULL) ||
	    x509_pair_save(&ca, NULL, NULL, &s->tls_ca, NULL) != 0)
		goto out;
	/* the serving certificate: new at every start, for the current listen address */
	snprintf(p1, sizeof(p1), "%s/server.crt", dir);
	snprintf(p2, sizeof(p2), "%s/server.key", dir);
	if (x509_pair_make(&srv, &ca, X509_SERVER, "kube-apiserver", NULL, ips, dns) < 0 ||
	    x509_pair_save(&srv, p1, p2, &s->tls_cert, &s->tls_key) != 0)
		goto out;
	if (kept_pair(&admin, dir, "admin", &ca, "admin", "system:masters"))
		goto out;
	/* the client certificate the server calls kubelets (agents) with, as kubeadm's
	 * apiserver-kubelet-client: CN kube-apiserver-kubelet-client, O system:masters */
	if (kept_pair(&kcl, dir, "kubelet-client", &ca, X509_KUBELET_CLIENT_CN, "system:masters") ||
	    x509_pair_save(&kcl, NULL, NULL, &s->kubelet_cert, &s->kubelet_key) != 0)
		goto out;
	snprintf(p1, sizeof(p1), "%s/token", dir);
	if (make_token(s, p1) != 0)
		goto out;
	ret = 0;
out:
	if (ret)
		log_error(COMP, "cannot make the TLS material in %s", dir);
	x509_pair_free(&ca);
	x509_pair_free(&srv);
	x509_pair_free(&admin);
	x509_pair_free(&kcl);
	return ret;
}

/* ---- authentication ---- */

static bool token_ok(const struct api_server *s, const char *auth)
{
	const char *t;
	size_t n, m;
	unsigned char diff = 0;

	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !s->token)
		return false;
	t = auth + 7;
	n = strlen(t);
	m = strlen(s->token);
	if (n != m)
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(t[i] ^ s->token[i]);
	return diff == 0;
}

static void add_org(void *arg, const char *o, size_t len)
{
	api_req_add_group(arg, o, len);
}

static bool cert_ok(struct api_req *r)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);

	if (!ci || !ci->tls_session)
		return false;
	/* the organizations are the groups, as Kubernetes' x509 authenticator takes them */
	return x509_peer_identity((gnutls_session_t)ci->tls_session, r->user, sizeof(r->user),
				  add_org, r) == 0;
}

bool api_token_authenticate(struct api_req *r, const char *audience, const char **audience_out)
{
	const char *issuer = api_sa_issuer(r->srv);

	*audience_out = audience ? audience : issuer;
	/* the static token and bootstrap tokens are good for the server's own audience */
	if ((!audience || strcmp(audience, issuer) == 0) && token_ok(r->srv, r->authorization)) {
		snprintf(r->user, sizeof(r->user), "admin");
		api_req_add_group(r, "system:masters", strlen("system:masters"));
		return true;
	}
	if ((!audience || strcmp(audience, issuer) == 0) && api_bootstrap_authenticate(r))
		return true;
	return api_sa_authenticate_for(r, audience ? audience : issuer);
}

bool api_authenticate(struct api_req *r)
{
	if (r->srv->cfg.insecure_loopback || !r->conn) {
		snprintf(r->user, sizeof(r->user), "admin");
		return true;
	}
	if (token_ok(r->srv, r->authorization)) {
		/* the admin's token: the admin certificate's identity (CN admin, O system:masters) */
		snprintf(r->user, sizeof(r->user), "admin");
		api_req_add_group(r, "system:masters", strlen("system:masters"));
		return true;
	}
	if (api_bootstrap_authenticate(r))
		return true;
	if (api_sa_authenticate(r))
		return true;
	return cert_ok(r);
}
