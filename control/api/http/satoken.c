/* SPDX-License-Identifier: Apache-2.0 */
/*
 * satoken: ServiceAccount tokens, as kube-apiserver 1.32 issues and authenticates them.
 *
 * The key: RSA 2048 kept as DIR/pki/sa.key (made on first start, beside the CA); its key id
 * is the SHA-256 of the public key's DER, base64url (pkg/serviceaccount/jwt.go keyIDFromPublicKey).
 *
 * TokenRequest (pkg/registry/core/serviceaccount/storage/token.go, TokenREST.Create): the
 * service account must exist; expirationSeconds defaults to 3600 and must lie in
 * [600, 2^32] (ValidateTokenRequest); audiences default to the issuer; boundObjectRef names a
 * Pod (running as that service account) or a Secret whose uid, when given, must match. The
 * token is an RS256 JWT with the claims of pkg/serviceaccount/claims.go (Claims): iss, sub
 * system:serviceaccount:NS:NAME, aud, exp, iat, nbf, jti and kubernetes.io {namespace,
 * serviceaccount {name, uid}, pod|secret {name, uid}}, the keys in the order go-jose writes
 * them (sorted). A pod-bound token asked for 3607 s with the default audience is the
 * kubelet's: it lives a year and carries warnafter (ExpirationExtensionSeconds).
 *
 * Authentication (jwt.go AuthenticateToken, claims.go validator.Validate): a bearer token
 * of three parts whose iss is ours, signed by our key, with the API audience, not expired,
 * whose service account (and bound object) still exists with the uid of the claim, is user
 * system:serviceaccount:NS:NAME in groups system:serviceaccounts and
 * system:serviceaccounts:NS. Anything else of ours is 401.
 */
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api_http.h"
#include "api_obj.h"
#include "log.h"
#include "x509.h"

#define COMP "satoken"

#define SA_MIN_EXPIRATION 600		    /* ValidateTokenRequest: 10 minutes */
#define SA_MAX_EXPIRATION (1LL << 32)	    /* ... and 2^32 seconds */
#define SA_DEFAULT_EXP	  3600		    /* SetDefaults_TokenRequestSpec */
#define SA_WARN_ONLY_EXP  3607		    /* token.WarnOnlyBoundTokenExpirationSeconds */
#define SA_EXTENDED_EXP	  (24 * 365 * 3600) /* serviceaccount.ExpirationExtensionSeconds */
#define SA_PREFIX	  "system:serviceaccount:"
#define SA_GROUP	  "system:serviceaccounts"
#define POD_DELETE_GRACE  60 /* jwt.go: a pod marked for deletion 60 s ago no longer holds */

const char *api_sa_issuer(const struct api_server *s)
{
	return s->cfg.sa_issuer && s->cfg.sa_issuer[0] ? s->cfg.sa_issuer : API_SA_ISSUER;
}

/* a plain-HTTP server makes its key on the first TokenRequest (api_token_request) */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- base64url ---- */

static char *b64url(const void *p, size_t n)
{
	gnutls_datum_t in = {(unsigned char *)p, (unsigned)n}, out = {0};
	char *r;
	size_t j = 0;

	if (gnutls_base64_encode2(&in, &out) < 0)
		return NULL;
	r = malloc(out.size + 1);
	if (r) {
		for (unsigned i = 0; i < out.size; i++) {
			char ch = (char)out.data[i];

			if (ch == '=')
				break;
			r[j++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
		}
		r[j] = 0;
	}
	gnutls_free(out.data);
	return r;
}

/* s[0..n) base64url (no padding) decoded into *out (gnutls_free it); 0 or -EINVAL. */
static int b64url_decode(const char *s, size_t n, gnutls_datum_t *out)
{
	char *t = malloc(n + 4);
	gnutls_datum_t in;
	size_t j;
	int ret;

	if (!t)
		return -ENOMEM;
	for (j = 0; j < n; j++) {
		char ch = s[j];

		if (ch == '+' || ch == '/' || ch == '=') {
			free(t);
			return -EINVAL;
		}
		t[j] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
	}
	while (j % 4)
		t[j++] = '=';
	in = (gnutls_datum_t){(unsigned char *)t, (unsigned)j};
	ret = gnutls_base64_decode2(&in, out) < 0 ? -EINVAL : 0;
	free(t);
	return ret;
}

/* ---- the key ---- */

static int load_or_make_key(const char *path, gnutls_x509_privkey_t *xk)
{
	char *pem = x509_read_file(path);
	gnutls_datum_t d;
	int ret;

	if (gnutls_x509_privkey_init(xk) < 0) {
		free(pem);
		return -ENOMEM;
	}
	if (pem) {
		d = (gnutls_datum_t){(unsigned char *)pem, (unsigned)strlen(pem)};
		ret = gnutls_x509_privkey_import(*xk, &d, GNUTLS_X509_FMT_PEM);
		free(pem);
		if (ret >= 0)
			return 0;
		log_warn(COMP, "%s does not load: making a new service-account key", path);
	}
	if (gnutls_x509_privkey_generate(*xk, GNUTLS_PK_RSA, 2048, 0) < 0)
		return -EIO;
	d = (gnutls_datum_t){0};
	if (gnutls_x509_privkey_export2(*xk, GNUTLS_X509_FMT_PEM, &d) < 0)
		return -EIO;
	ret = x509_write_file(path, (const char *)d.data, d.size);
	gnutls_free(d.data);
	return ret;
}

int api_sa_key_setup(struct api_server *s)
{
	char path[4300];
	gnutls_x509_privkey_t xk = NULL;
	gnutls_datum_t der = {0};
	unsigned char digest[32];
	char *kid;
	int ret;

	snprintf(path, sizeof(path), "%s/pki", s->data_dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/pki/sa.key", s->data_dir);
	ret = load_or_make_key(path, &xk);
	if (ret)
		goto fail;
	ret = -EIO;
	if (gnutls_privkey_init(&s->sa_key) < 0 ||
	    gnutls_privkey_import_x509(s->sa_key, xk, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0)
		goto fail;
	xk = NULL;
	if (gnutls_pubkey_init(&s->sa_pub) < 0 ||
	    gnutls_pubkey_import_privkey(s->sa_pub, s->sa_key, 0, 0) < 0 ||
	    gnutls_pubkey_export2(s->sa_pub, GNUTLS_X509_FMT_DER, &der) < 0)
		goto fail;
	gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, digest);
	gnutls_free(der.data);
	kid = b64url(digest, sizeof(digest));
	if (!kid)
		goto fail;
	snprintf(s->sa_kid, sizeof(s->sa_kid), "%s", kid);
	free(kid);
	return 0;
fail:
	if (xk)
		gnutls_x509_privkey_deinit(xk);
	api_sa_key_free(s);
	log_error(COMP, "cannot set up the service-account key %s", path);
	return ret ? ret : -EIO;
}

void api_sa_key_free(struct api_server *s)
{
	if (s->sa_pub)
		gnutls_pubkey_deinit(s->sa_pub);
	if (s->sa_key)
		gnutls_privkey_deinit(s->sa_key);
	s->sa_pub = NULL;
	s->sa_key = NULL;
}

/* ---- the registry ---- */

/* The stored object ns/name of core resource `resource` (tree in d), or NULL. */
static const struct jv *get_obj(struct api_server *s, const char *resource, const char *ns,
				const char *name, struct jv_doc *d, struct api_result *out)
{
	struct reg_req rq = {
	    .res = api_resource_find("", "v1", resource), .ns = ns, .name = name, .d = d};

	if (!rq.res || !name || !s->reg || reg_get(s->reg, &rq, true, out) != 0 ||
	    api_result_failed(out))
		return NULL;
	return out->obj;
}

/* ---- issuing ---- */

static void put_str(struct k8s_buf *b, const char *s)
{
	struct jv v = {.type = JV_STRING, .s = (char *)s, .len = strlen(s)};

	jv_write(b, &v);
}

/* The signed JWT of these claims (malloc'd), or NULL. */
static char *sign_jwt(struct api_server *s, const char *claims, size_t len)
{
	char header[128], *h64, *c64, *sig64 = NULL, *tok = NULL, *input = NULL;
	gnutls_datum_t data, sig = {0};

	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", s->sa_kid);
	h64 = b64url(header, strlen(header));
	c64 = b64url(claims, len);
	if (!h64 || !c64 || asprintf(&input, "%s.%s", h64, c64) < 0) {
		input = NULL;
		goto out;
	}
	data = (gnutls_datum_t){(unsigned char *)input, (unsigned)strlen(input)};
	if (gnutls_privkey_sign_data(s->sa_key, GNUTLS_DIG_SHA256, 0, &data, &sig) < 0)
		goto out;
	sig64 = b64url(sig.data, sig.size);
	if (sig64 && asprintf(&tok, "%s.%s", input, sig64) < 0)
		tok = NULL;
out:
	gnutls_free(sig.data);
	free(h64);
	free(c64);
	free(input);
	free(sig64);
	return tok;
}

static void put_ref(struct k8s_buf *b, const char *key, const char *name, const char *uid)
{
	k8s_buf_printf(b, ",\"%s\":{\"name\":", key);
	put_str(b, name);
	k8s_buf_put(b, ",\"uid\":", 7);
	put_str(b, uid);
	k8s_buf_put(b, "}", 1);
}

struct bound {
	const char *kind, *name, *uid; /* kind "pod" or "secret"; NULL kind: none */
	const char *node, *node_uid;   /* a pod's node, when it has one that exists */
};

/* The claims (claims.go Claims, the keys sorted as go-jose's normalize writes them). */
static void write_claims(struct k8s_buf *b, const char *iss, const struct jv *auds, int64_t now,
			 int64_t exp, int64_t warnafter, const char *ns, const char *sa,
			 const char *sa_uid, const struct bound *bo)
{
	char jti[40], sub[600];

	api_uuid(jti);
	k8s_buf_put(b, "{\"aud\":", 7);
	jv_write(b, auds);
	k8s_buf_printf(b, ",\"exp\":%lld,\"iat\":%lld,\"iss\":", (long long)exp, (long long)now);
	put_str(b, iss);
	k8s_buf_printf(b, ",\"jti\":\"%s\",\"kubernetes.io\":{\"namespace\":", jti);
	put_str(b, ns);
	if (bo->node)
		put_ref(b, "node", bo->node, bo->node_uid);
	if (bo->kind && strcmp(bo->kind, "pod") == 0)
		put_ref(b, "pod", bo->name, bo->uid);
	if (bo->kind && strcmp(bo->kind, "secret") == 0)
		put_ref(b, "secret", bo->name, bo->uid);
	put_ref(b, "serviceaccount", sa, sa_uid);
	if (warnafter)
		k8s_buf_printf(b, ",\"warnafter\":%lld", (long long)warnafter);
	k8s_buf_printf(b, "},\"nbf\":%lld,\"sub\":", (long long)now);
	snprintf(sub, sizeof(sub), SA_PREFIX "%s:%s", ns, sa);
	put_str(b, sub);
	k8s_buf_put(b, "}", 1);
}

/* The bound object of ref into *bo (its strings live in d): 0, or out failed. */
static int bind_object(struct api_server *s, const char *ns, const char *sa, const struct jv *ref,
		       struct jv_doc *d, struct bound *bo, struct api_result *out)
{
	const char *kind = jv_path_str(ref, "kind"), *api = jv_path_str(ref, "apiVersion");
	const char *name = jv_path_str(ref, "name"), *want = jv_path_str(ref, "uid");
	struct api_result o = {0};
	const struct jv *obj;
	bool core = !api || strcmp(api, "v1") == 0 || api[0] == 0;
	const char *resource = NULL;

	if (core && kind && strcmp(kind, "Pod") == 0)
		resource = "pods", bo->kind = "pod";
	else if (core && kind && strcmp(kind, "Secret") == 0)
		resource = "secrets", bo->kind = "secret";
	if (!resource) {
		/* schema.GroupVersionKind.String() */
		const char *slash = api ? strchr(api, '/') : NULL;

		api_fail(out, 400, "BadRequest",
			 "cannot bind token to object of type %.*s/%s, Kind=%s",
			 slash ? (int)(slash - api) : 0, api ? api : "",
			 slash ? slash + 1
			 : api ? api
			       : "",
			 kind ? kind : "");
		return -EINVAL;
	}
	obj = get_obj(s, resource, ns, name ? name : "", d, &o);
	if (!obj) {
		if (api_result_failed(&o)) {
			*out = o;
			return -ENOENT;
		}
		api_result_free(&o);
		api_fail_not_found(out, api_resource_find("", "v1", resource), name ? name : "");
		return -ENOENT;
	}
	bo->name = jv_strndup(d, name, strlen(name));
	bo->uid = jv_path_str(obj, "metadata.uid");
	bo->uid = jv_strndup(d, bo->uid ? bo->uid : "", bo->uid ? strlen(bo->uid) : 0);
	if (strcmp(bo->kind, "pod") == 0) {
		const char *psa = jv_path_str(obj, "spec.serviceAccountName");
		const char *node = jv_path_str(obj, "spec.nodeName");

		if (!psa || strcmp(psa, sa) != 0) {
			api_fail(out, 400, "BadRequest",
				 "cannot issue token for service account \"%s\"/\"%s\" bound to "
				 "pod \"%s\"/\"%s\" with service account \"%s\"",
				 ns, sa, ns, name, psa ? psa : "");
			api_result_free(&o);
			return -EINVAL;
		}
		if (node && node[0]) {
			struct api_result no = {0};
			const struct jv *n = get_obj(s, "nodes", NULL, node, d, &no);
			const char *nuid = jv_path_str(n, "metadata.uid");

			if (nuid) {
				bo->node = jv_strndup(d, node, strlen(node));
				bo->node_uid = jv_strndup(d, nuid, strlen(nuid));
			}
			api_result_free(&no);
		}
	}
	api_result_free(&o);
	if (want && want[0] && strcmp(want, bo->uid) != 0) {
		api_fail_details(
		    out, 409, "Conflict", NULL, name,
		    "Operation cannot be fulfilled on %s \"%s\": the UID in the bound "
		    "object reference (%s) does not match the UID in record. The object "
		    "might have been deleted and then recreated",
		    strcmp(bo->kind, "pod") == 0 ? "Pod" : "Secret", name, want);
		return -EINVAL;
	}
	return 0;
}

void api_token_request(struct api_server *s, const char *ns, const char *sa, struct jv *tr,
		       struct jv_doc *d, struct api_result *out, bool *ok)
{
	struct jv *spec = jv_obj_at(d, tr, "spec"), *auds, *status, *meta;
	const struct jv *sacct;
	const struct jv *ref;
	struct api_result so = {0};
	struct bound bo = {0};
	struct k8s_buf b = {0};
	char ts[40], *tok;
	const char *sa_uid;
	int64_t exp_s = SA_DEFAULT_EXP, now = (int64_t)time(NULL), exp, warnafter = 0;

	*ok = false;
	if (!spec) {
		api_fail_oom(out);
		return;
	}
	if (jv_get(spec, "expirationSeconds"))
		jv_int(jv_get(spec, "expirationSeconds"), &exp_s);
	if (exp_s < SA_MIN_EXPIRATION || exp_s > SA_MAX_EXPIRATION) {
		api_fail_details(out, 422, "Invalid",
				 api_resource_find("", "v1", "serviceaccounts"), sa,
				 "TokenRequest.authentication.k8s.io \"%s\" is invalid: "
				 "spec.expirationSeconds: Invalid value: %lld: may not specify a "
				 "duration %s",
				 sa, (long long)exp_s,
				 exp_s < SA_MIN_EXPIRATION ? "less than 10 minutes"
							   : "larger than 2^32 seconds");
		return;
	}
	pthread_mutex_lock(&key_lock);
	if (!s->sa_key && api_sa_key_setup(s) != 0)
		log_error(COMP, "no service-account key: cannot issue tokens");
	pthread_mutex_unlock(&key_lock);
	if (!s->sa_key) {
		api_fail(out, 500, "InternalError",
			 "Internal error occurred: no service account signing key");
		return;
	}
	sacct = get_obj(s, "serviceaccounts", ns, sa, d, &so);
	if (!sacct) {
		if (api_result_failed(&so))
			*out = so;
		else
			api_fail_not_found(out, api_resource_find("", "v1", "serviceaccounts"), sa);
		return;
	}
	sa_uid = jv_path_str(sacct, "metadata.uid");
	sa_uid = jv_strndup(d, sa_uid ? sa_uid : "", sa_uid ? strlen(sa_uid) : 0);
	api_result_free(&so);
	ref = jv_get(spec, "boundObjectRef");
	if (ref && ref->type == JV_OBJECT && bind_object(s, ns, sa, ref, d, &bo, out) != 0)
		return;
	auds = jv_get(spec, "audiences");
	if (!auds || auds->type != JV_ARRAY || jv_count(auds) == 0) {
		auds = jv_new(d, JV_ARRAY);
		jv_push(auds, jv_new_strz(d, api_sa_issuer(s)));
		jv_set(d, spec, "audiences", auds);
	}
	jv_set(d, spec, "expirationSeconds", jv_new_int(d, exp_s));
	exp = now + exp_s;
	/* the kubelet's projected token (token.go: extendExpiration, the API audience) */
	if (bo.kind && strcmp(bo.kind, "pod") == 0 && exp_s == SA_WARN_ONLY_EXP &&
	    jv_count(auds) == 1 && jv_is_str(jv_at(auds, 0), api_sa_issuer(s))) {
		warnafter = exp;
		exp = now + SA_EXTENDED_EXP;
	}
	write_claims(&b, api_sa_issuer(s), auds, now, exp, warnafter, ns, sa, sa_uid, &bo);
	tok = b.p ? sign_jwt(s, b.p, b.len) : NULL;
	k8s_buf_free(&b);
	if (!tok) {
		api_fail(out, 500, "InternalError",
			 "Internal error occurred: failed to sign token");
		return;
	}
	meta = jv_obj_at(d, tr, "metadata");
	status = jv_new(d, JV_OBJECT);
	if (meta) {
		jv_set(d, meta, "name", jv_new_strz(d, sa));
		jv_set(d, meta, "namespace", jv_new_strz(d, ns));
	}
	jv_set(d, tr, "kind", jv_new_strz(d, "TokenRequest"));
	jv_set(d, tr, "apiVersion", jv_new_strz(d, "authentication.k8s.io/v1"));
	jv_set(d, status, "token", jv_new_strz(d, tok));
	/* the status reports the requested lifetime even when the token is extended */
	jv_set(d, status, "expirationTimestamp",
	       jv_new_strz(d, api_time_rfc3339(warnafter ? warnafter : exp, ts)));
	jv_set(d, tr, "status", status);
	free(tok);
	*ok = true;
}

/* ---- authentication ---- */

/* The claims of a token whose issuer is ours, parsed into d; NULL if it is none of ours.
 * *sig_ok tells whether our key signed it. */
static struct jv *our_claims(struct api_server *s, const char *tok, struct jv_doc *d, bool *sig_ok)
{
	const char *dot1 = strchr(tok, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	gnutls_datum_t hdr = {0}, cl = {0}, sig = {0}, data;
	struct jv *claims = NULL, *h;
	struct jv_perr err;

	*sig_ok = false;
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.') || !s->sa_pub)
		return NULL;
	if (b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl) != 0)
		return NULL;
	claims = jv_parse(d, (const char *)cl.data, cl.size, &err);
	if (!claims || claims->type != JV_OBJECT ||
	    !jv_is_str(jv_get(claims, "iss"), api_sa_issuer(s))) {
		claims = NULL; /* not ours: the next authenticator's (jwt.go hasCorrectIssuer) */
		goto out;
	}
	if (b64url_decode(tok, (size_t)(dot1 - tok), &hdr) != 0 ||
	    b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig) != 0)
		goto out;
	h = jv_parse(d, (const char *)hdr.data, hdr.size, &err);
	if (!h || !jv_is_str(jv_get(h, "alg"), "RS256"))
		goto out;
	data = (gnutls_datum_t){(unsigned char *)tok, (unsigned)(dot2 - tok)};
	*sig_ok =
	    gnutls_pubkey_verify_data2(s->sa_pub, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sig) >= 0;
out:
	gnutls_free(hdr.data);
	gnutls_free(cl.data);
	gnutls_free(sig.data);
	return claims;
}

/* The object ns/name of resource still exists with uid (and is not long gone). */
static bool still_there(struct api_server *s, const char *resource, const char *ns,
			const struct jv *ref, int64_t now, struct jv_doc *d)
{
	const char *name = jv_path_str(ref, "name"), *uid = jv_path_str(ref, "uid");
	struct api_result o = {0};
	const struct jv *obj;
	const char *dt;
	bool ok;

	if (!name || !uid)
		return false;
	obj = get_obj(s, resource, ns, name, d, &o);
	ok = obj && jv_is_str(jv_path(obj, "metadata.uid"), uid);
	dt = obj ? jv_path_str(obj, "metadata.deletionTimestamp") : NULL;
	if (ok && dt) {
		int64_t t = api_parse_time(dt);

		/* a service account or secret being deleted holds no more; a pod keeps its
		 * tokens for 60 s past its deletionTimestamp (jwt.go, claims.go) */
		if (strcmp(resource, "pods") != 0 || t < 0 || t + POD_DELETE_GRACE < now)
			ok = false;
	}
	api_result_free(&o);
	return ok;
}

static bool aud_ok(const struct jv *aud, const char *want)
{
	if (aud && aud->type == JV_STRING)
		return jv_is_str(aud, want);
	if (!aud || aud->type != JV_ARRAY)
		return false;
	for (size_t i = 0; i < jv_count(aud); i++)
		if (jv_is_str(jv_at(aud, i), want))
			return true;
	return false;
}

bool api_sa_authenticate(struct api_req *r)
{
	return api_sa_authenticate_for(r, api_sa_issuer(r->srv));
}

bool api_sa_authenticate_for(struct api_req *r, const char *audience)
{
	struct api_server *s = r->srv;
	const char *a = r->authorization, *sub, *ns, *name, *why = NULL;
	struct jv_doc *d;
	struct jv *claims, *k;
	int64_t now = (int64_t)time(NULL), exp = 0, nbf = 0;
	bool sig_ok, ok = false;
	size_t plen = strlen(SA_PREFIX);

	if (!a || strncasecmp(a, "Bearer ", 7) != 0 || !s->sa_pub)
		return false;
	d = jv_doc_new();
	if (!d)
		return false;
	claims = our_claims(s, a + 7, d, &sig_ok);
	if (!claims)
		goto out;
	k = jv_get(claims, "kubernetes.io");
	sub = jv_path_str(claims, "sub");
	ns = jv_path_str(k, "namespace");
	name = jv_path_str(k, "serviceaccount.name");
	if (!sig_ok)
		why = "invalid signature";
	else if (!aud_ok(jv_get(claims, "aud"), audience))
		why = "token audiences is invalid for the target audiences";
	else if (jv_int(jv_get(claims, "exp"), &exp) != 0 || now >= exp)
		why = "service account token has expired";
	else if (jv_int(jv_get(claims, "nbf"), &nbf) == 0 && now < nbf)
		why = "service account token is not valid yet";
	else if (!sub || !ns || !name || strncmp(sub, SA_PREFIX, plen) != 0 ||
		 strncmp(sub + plen, ns, strlen(ns)) != 0 || sub[plen + strlen(ns)] != ':' ||
		 strcmp(sub + plen + strlen(ns) + 1, name) != 0)
		why = "service account token claims are malformed";
	else if (!still_there(s, "serviceaccounts", ns, jv_get(k, "serviceaccount"), now, d))
		why = "service account has been deleted or its UID does not match the claim";
	else if (jv_get(k, "pod") && !still_there(s, "pods", ns, jv_get(k, "pod"), now, d))
		why = "bound pod has been deleted or its UID does not match the claim";
	else if (jv_get(k, "secret") && !still_there(s, "secrets", ns, jv_get(k, "secret"), now, d))
		why = "bound secret has been deleted or its UID does not match the claim";
	if (why) {
		log_debug(COMP, "service account token refused: %s", why);
		goto out;
	}
	snprintf(r->user, sizeof(r->user), "%s", sub);
	r->ngroups = 0;
	api_req_add_group(r, SA_GROUP, strlen(SA_GROUP));
	{
		char g[300];
		int n = snprintf(g, sizeof(g), SA_GROUP ":%s", ns);

		if (n > 0 && (size_t)n < sizeof(g))
			api_req_add_group(r, g, (size_t)n);
	}
	ok = true;
out:
	jv_doc_free(d);
	return ok;
}
