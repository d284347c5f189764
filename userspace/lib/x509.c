/* SPDX-License-Identifier: Apache-2.0 */
/* x509: key pairs, certificates and TLS peer identities with GnuTLS. See x509.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "x509.h"

void x509_pair_free(struct x509_pair *k)
{
	if (k->crt)
		gnutls_x509_crt_deinit(k->crt);
	if (k->key)
		gnutls_x509_privkey_deinit(k->key);
	k->crt = NULL;
	k->key = NULL;
}

char *x509_read_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
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

int x509_write_file(const char *path, const char *data, size_t len)
{
	char tmp[4200];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
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

int x509_key_make(gnutls_x509_privkey_t *key)
{
	int ret = gnutls_x509_privkey_init(key);

	if (ret < 0)
		return ret;
	return gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
					    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
}

int x509_pair_make(struct x509_pair *out, const struct x509_pair *ca, enum x509_role role,
		   const char *cn, const char *org, const char *const *ips, const char *const *dns)
{
	unsigned char serial[16], kid[64];
	size_t kid_len = sizeof(kid);
	time_t now = time(NULL);
	int ret;

	if ((ret = x509_key_make(&out->key)) < 0 || (ret = gnutls_x509_crt_init(&out->crt)) < 0)
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
	if (role == X509_CA) {
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
		    role == X509_SERVER ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT, 0);
	}
	if (gnutls_x509_crt_get_key_id(out->crt, 0, kid, &kid_len) >= 0)
		gnutls_x509_crt_set_subject_key_id(out->crt, kid, kid_len);
	if (ca) {
		kid_len = sizeof(kid);
		if (gnutls_x509_crt_get_subject_key_id(ca->crt, kid, &kid_len, NULL) >= 0)
			gnutls_x509_crt_set_authority_key_id(out->crt, kid, kid_len);
	}
	if (role == X509_SERVER) {
		for (size_t i = 0; dns && dns[i]; i++)
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

int x509_pair_load(struct x509_pair *k, const char *crt_path, const char *key_path)
{
	char *c = x509_read_file(crt_path), *p = x509_read_file(key_path);
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

int x509_pair_save(const struct x509_pair *k, const char *crt_path, const char *key_path,
		   char **crt_pem, char **key_pem)
{
	char *c = pem_of(k->crt, NULL), *p = pem_of(NULL, k->key);
	int err = (!c || !p) ? -ENOMEM : 0;

	if (!err && crt_path)
		err = x509_write_file(crt_path, c, strlen(c));
	if (!err && key_path)
		err = x509_write_file(key_path, p, strlen(p));
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

int x509_peer_identity(gnutls_session_t s, char *user, size_t user_size,
		       void (*org)(void *arg, const char *o, size_t len), void *arg)
{
	const gnutls_datum_t *certs;
	unsigned int status = 0, n = 0;
	gnutls_x509_crt_t crt;
	size_t len = user_size - 1;
	int rc = -EACCES;

	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n)
		return -ENOENT;
	if (gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)
		return -EACCES;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, user, &len) >=
		0) {
		user[len] = 0;
		rc = 0;
		for (unsigned i = 0; org; i++) {
			char o[128];
			size_t olen = sizeof(o) - 1;

			if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, i,
							  0, o, &olen) < 0)
				break;
			o[olen] = 0;
			org(arg, o, olen);
		}
	}
	gnutls_x509_crt_deinit(crt);
	return rc;
}
