/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pki: the server's TLS material and credentials, made with GnuTLS on first start under
 * DIR/pki: a CA (ECDSA P-256, SHA-256), a serving certificate signed by it (remade at every
 * start, with IP SANs for 127.0.0.1 and the listen address as Go's TLS stack requires), an
 * admin client certificate (CN admin, O system:masters) and a bearer token; DIR/kubeconfig
 * for the admin. Requests authenticate with the token, a bootstrap token (auth.c) or a client
 * certificate the CA signed (CN the user, O its groups).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_http.h"
#include "log.h"

#define COMP "pki"

struct keypair {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
};

static void keypair_free(struct keypair *k)
{
	if (k->crt)
		gnutls_x509_crt_deinit(k->crt);
	if (k->key)
		gnutls_x509_privkey_deinit(k->key);
	k->crt = NULL;
	k->key = NULL;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = 0;
		}
	}
	fclose(f);
	return buf;
}

static int write_file(const char *path, const char *data, size_t len)
{
	char tmp[4200];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		int err = -errno;

		close(fd);
		unlink(tmp);
		return err ? err : -EIO;
	}
	close(fd);
	return rename(tmp, path) == 0 ? 0 : -errno;
}

static char *pem_of(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	gnutls_datum_t d = {0};
	char *s;
	int ret = crt ? gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d)
		      : gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
							  GNUTLS_PKCS_PLAIN, &d);

	if (ret < 0)
		return NULL;
	s = strndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static int gen_key(gnutls_x509_privkey_t *key)
{
	int ret = gnutls_x509_privkey_init(key);

	if (ret < 0)
		return ret;
	return gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
					    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
}

enum cert_role { CERT_CA, CERT_SERVER, CERT_CLIENT };

/* A certificate for key, signed by ca (NULL: self-signed). */
static int make_cert(struct keypair *out, const struct keypair *ca, enum cert_role role,
		     const char *cn, const char *org, const char *const *ips)
{
	unsigned char serial[16], kid[64];
	size_t kid_len = sizeof(kid);
	time_t now = time(NULL);
	int ret;

	if ((ret = gen_key(&out->key)) < 0 || (ret = gnutls_x509_crt_init(&out->crt)) < 0)
		return ret;
	if (getrandom(serial, sizeof(serial), 0) != (ssize_t)sizeof(serial))
		return GNUTLS_E_RANDOM_FAILED;
	serial[0] &= 0x7f;
	gnutls_x509_crt_set_version(out->crt, 3);
	gnutls_x509_crt_set_serial(out->crt, serial, sizeof(serial));
	gnutls_x509_crt_set_activation_time(out->crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(out->crt, now + (time_t)3650 * 86400);
	gnutls_x509_crt_set_dn_by_oid(out->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
				      (unsigned)strlen(cn));
	if (org)
		gnutls_x509_crt_set_dn_by_oid(out->crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org,
					      (unsigned)strlen(org));
	if ((ret = gnutls_x509_crt_set_key(out->crt, out->key)) < 0)
		return ret;
	if (role == CERT_CA) {
		gnutls_x509_crt_set_basic_constraints(out->crt, 1, -1);
		gnutls_x509_crt_set_key_usage(out->crt, GNUTLS_KEY_KEY_CERT_SIGN |
							    GNUTLS_KEY_CRL_SIGN |
							    GNUTLS_KEY_DIGITAL_SIGNATURE);
	} else {
		gnutls_x509_crt_set_basic_constraints(out->crt, 0, -1);
		gnutls_x509_crt_set_key_usage(out->crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
							    GNUTLS_KEY_KEY_ENCIPHERMENT);
		gnutls_x509_crt_set_key_purpose_oid(
		    out->crt,
		    role == CERT_SERVER ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT, 0);
	}
	if (gnutls_x509_crt_get_key_id(out->crt, 0, kid, &kid_len) >= 0)
		gnutls_x509_crt_set_subject_key_id(out->crt, kid, kid_len);
	if (ca) {
		kid_len = sizeof(kid);
		if (gnutls_x509_crt_get_subject_key_id(ca->crt, kid, &kid_len, NULL) >= 0)
			gnutls_x509_crt_set_authority_key_id(out->crt, kid, kid_len);
	}
	if (role == CERT_SERVER) {
		static const char *const dns[] = {"localhost", "kubernetes", "kubernetes.default",
						  "kubernetes.default.svc",
						  "kubernetes.default.svc.cluster.local"};

		for (size_t i = 0; i < sizeof(dns) / sizeof(dns[0]); i++)
			gnutls_x509_crt_set_subject_alt_name(out->crt, GNUTLS_SAN_DNSNAME, dns[i],
							     (unsigned)strlen(dns[i]),
							     GNUTLS_FSAN_APPEND);
		for (size_t i = 0; ips && ips[i]; i++) {
			struct in_addr a;

			if (inet_pton(AF_INET, ips[i], &a) == 1)
				gnutls_x509_crt_set_subject_alt_name(out->crt, GNUTLS_SAN_IPADDRESS,
								     &a, 4, GNUTLS_FSAN_APPEND);
		}
	}
	return gnutls_x509_crt_sign2(out->crt, ca ? ca->crt : out->crt, ca ? ca->key : out->key,
				     GNUTLS_DIG_SHA256, 0);
}

static int load_pair(struct keypair *k, const char *crt_path, const char *key_path)
{
	char *c = read_file(crt_path), *p = read_file(key_path);
	gnutls_datum_t dc, dk;
	int ret = GNUTLS_E_FILE_ERROR;

	if (!c || !p)
		goto out;
	dc = (gnutls_datum_t){(unsigned char *)c, (unsigned)strlen(c)};
	dk = (gnutls_datum_t){(unsigned char *)p, (unsigned)strlen(p)};
	if ((ret = gnutls_x509_crt_init(&k->crt)) < 0 ||
	    (ret = gnutls_x509_crt_import(k->crt, &dc, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (ret = gnutls_x509_privkey_init(&k->key)) < 0)
		goto out;
	ret = gnutls_x509_privkey_import(k->key, &dk, GNUTLS_X509_FMT_PEM);
	if (ret < 0)
		ret = gnutls_x509_privkey_import_pkcs8(k->key, &dk, GNUTLS_X509_FMT_PEM, NULL,
						       GNUTLS_PKCS_PLAIN);
out:
	free(c);
	free(p);
	return ret;
}

static int save_pair(const struct keypair *k, const char *crt_path, const char *key_path,
		     char **crt_pem, char **key_pem)
{
	char *c = pem_of(k->crt, NULL), *p = pem_of(NULL, k->key);
	int err = (!c || !p) ? -ENOMEM : 0;

	if (!err && crt_path)
		err = write_file(crt_path, c, strlen(c));
	if (!err && key_path)
		err = write_file(key_path, p, strlen(p));
	if (!err && crt_pem) {
		*crt_pem = c;
		c = NULL;
	}
	if (!err && key_pem) {
		*key_pem = p;
		p = NULL;
	}
	free(c);
	free(p);
	return err;
}

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
	err = write_file(path, text, (size_t)n);
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
	c = read_file(crt);
	k = read_file(key);
	err = c && k ? write_kubeconfig(s, s->tls_ca, c, k, true) : -ENOENT;
	free(c);
	free(k);
	return err;
}

static int make_token(struct api_server *s, const char *path)
{
	unsigned char raw[24];
	char hex[64];

	s->token = read_file(path);
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
	return write_file(path, hex, strlen(hex));
}

int api_pki_setup(struct api_server *s)
{
	struct keypair ca = {0}, srv = {0}, admin = {0};
	char dir[4200], p1[4300], p2[4300];
	const char *ips[3] = {"127.0.0.1", s->listen_host, NULL};
	int ret;

	snprintf(dir, sizeof(dir), "%s/pki", s->data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	snprintf(p1, sizeof(p1), "%s/ca.crt", dir);
	snprintf(p2, sizeof(p2), "%s/ca.key", dir);
	if (load_pair(&ca, p1, p2) < 0) {
		keypair_free(&ca);
		log_info(COMP, "making a CA in %s", dir);
		ret = make_cert(&ca, NULL, CERT_CA, "drover-ca", NULL, NULL);
		if (ret < 0 || save_pair(&ca, p1, p2, NULL, NULL) != 0)
			goto fail;
	}
	if (save_pair(&ca, NULL, NULL, &s->tls_ca, NULL) != 0)
		goto fail;
	/* the serving certificate: new at every start, for the current listen address */
	snprintf(p1, sizeof(p1), "%s/server.crt", dir);
	snprintf(p2, sizeof(p2), "%s/server.key", dir);
	ret = make_cert(&srv, &ca, CERT_SERVER, "kube-apiserver", NULL, ips);
	if (ret < 0 || save_pair(&srv, p1, p2, &s->tls_cert, &s->tls_key) != 0)
		goto fail;
	snprintf(p1, sizeof(p1), "%s/admin.crt", dir);
	snprintf(p2, sizeof(p2), "%s/admin.key", dir);
	if (load_pair(&admin, p1, p2) < 0) {
		keypair_free(&admin);
		ret = make_cert(&admin, &ca, CERT_CLIENT, "admin", "system:masters", NULL);
		if (ret < 0 || save_pair(&admin, p1, p2, NULL, NULL) != 0)
			goto fail;
	}
	snprintf(p1, sizeof(p1), "%s/token", dir);
	if (make_token(s, p1) != 0)
		goto fail;
	keypair_free(&ca);
	keypair_free(&srv);
	keypair_free(&admin);
	return 0;
fail:
	log_error(COMP, "cannot make the TLS material in %s", dir);
	keypair_free(&ca);
	keypair_free(&srv);
	keypair_free(&admin);
	return -EIO;
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

static bool cert_ok(struct api_req *r)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t sess;
	const gnutls_datum_t *certs;
	unsigned int status = 0, n = 0;
	gnutls_x509_crt_t crt;
	size_t len = sizeof(r->user) - 1;
	bool ok = false;

	if (!ci || !ci->tls_session)
		return false;
	sess = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_verify_peers2(sess, &status) < 0 || status != 0)
		return false;
	certs = gnutls_certificate_get_peers(sess, &n);
	if (!certs || !n || gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, r->user, &len) >=
		0) {
		r->user[len] = 0;
		ok = true;
		/* the organizations are the groups, as Kubernetes' x509 authenticator takes them */
		for (unsigned i = 0;; i++) {
			char org[128];
			size_t olen = sizeof(org) - 1;

			if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, i,
							  0, org, &olen) < 0)
				break;
			api_req_add_group(r, org, olen);
		}
	}
	gnutls_x509_crt_deinit(crt);
	return ok;
}

bool api_authenticate(struct api_req *r)
{
	if (r->srv->cfg.insecure_loopback || !r->conn) {
		snprintf(r->user, sizeof(r->user), "admin");
		return true;
	}
	if (token_ok(r->srv, r->authorization)) {
		snprintf(r->user, sizeof(r->user), "admin");
		return true;
	}
	if (api_bootstrap_authenticate(r))
		return true;
	return cert_ok(r);
}
