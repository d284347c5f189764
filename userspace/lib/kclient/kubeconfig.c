/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubeconfig: what a kubeconfig file says about its current context (kc_config_load), read
 * as clientcmd reads it: current-context → context → cluster (server, CA, insecure) + user
 * (client certificate and key, token, tokenFile) + namespace. Relative file paths resolve
 * against the kubeconfig's directory; -data fields are base64 and are decoded here; as in
 * client-go, -data wins over the file and a readable tokenFile over token. YAML through
 * libfyaml (k8s_jv_from_node), base64 through GnuTLS. The struct kc_config owns its strings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "kclient.h"

#define MAX_FILE (16u << 20)

struct kload {
	const char *path;
	char dir[PATH_MAX];
	char *err;
	size_t errlen;
};

static int fail(struct kload *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct kload *l, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->err && l->errlen) {
		n = snprintf(l->err, l->errlen, "kubeconfig %s: ", l->path);
		if (n >= 0 && (size_t)n < l->errlen) {
			va_start(ap, fmt);
			vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	errno = 0;
	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > MAX_FILE + 1) {
				errno = EFBIG;
				goto fail;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				errno = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				if (!errno)
					errno = EIO;
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

/* A path of the kubeconfig, absolute (relative ones against its directory). */
static char *resolve(struct kload *l, const char *p)
{
	char *out = NULL;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", l->dir, p) < 0)
		return NULL;
	return out;
}

/* The member named key of obj when it is a non-empty string, else NULL. */
static const char *str_of(const struct jv *obj, const char *key)
{
	const struct jv *v = jv_get(obj, key);

	return v && v->type == JV_STRING && v->len ? v->s : NULL;
}

/* The entry named name of a list of {name, <what>: {...}} (clusters, users, contexts):
 * its <what> object (an empty one when absent), or NULL when no entry has that name. */
static const struct jv *named(const struct jv *root, const char *list, const char *what,
			      const char *name)
{
	static const struct jv empty_obj = {.type = JV_OBJECT};
	const struct jv *found = NULL;

	for (const struct jv *e = jv_first(jv_get(root, list)); e; e = e->next) {
		const char *n = str_of(e, "name");

		if (n && strcmp(n, name) == 0) {
			const struct jv *v = jv_get(e, what);

			found = v && v->type == JV_OBJECT ? v : &empty_obj;
			break; /* clientcmd keeps the first of duplicate names */
		}
	}
	return found;
}

/* base64 (whitespace ignored) → malloc'd, NUL-terminated bytes. */
static int b64_decode(const char *in, char **out)
{
	size_t n = strlen(in), j = 0;
	char *clean = malloc(n + 1);
	gnutls_datum_t src, dst = {0};
	int rc;

	*out = NULL;
	if (!clean)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (in[i] != ' ' && in[i] != '\n' && in[i] != '\r' && in[i] != '\t')
			clean[j++] = in[i];
	clean[j] = 0;
	src.data = (unsigned char *)clean;
	src.size = (unsigned)j;
	rc = gnutls_base64_decode2(&src, &dst);
	free(clean);
	if (rc < 0)
		return rc == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	*out = malloc(dst.size + 1);
	if (*out) {
		memcpy(*out, dst.data, dst.size);
		(*out)[dst.size] = 0;
	}
	gnutls_free(dst.data);
	return *out ? 0 : -ENOMEM;
}

/* One credential or CA: data (base64) into *data, else a readable file into *file. */
static int material(struct kload *l, const struct jv *obj, const char *owner, const char *key,
		    char **file, char **data)
{
	char dkey[64];
	const char *d, *f;
	int err;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	d = str_of(obj, dkey);
	f = str_of(obj, key);
	if (d) {
		err = b64_decode(d, data);
		if (err == -EINVAL)
			return fail(l, -EINVAL, "%s: %s is not valid base64", owner, dkey);
		return err ? fail(l, err, "out of memory") : 0;
	}
	if (!f)
		return 0;
	*file = resolve(l, f);
	if (!*file)
		return fail(l, -ENOMEM, "out of memory");
	if (access(*file, R_OK) != 0) {
		err = -errno;
		return fail(l, err, "%s: unable to read %s %s: %s", owner, key, *file,
			    strerror(-err));
	}
	return 0;
}

static int load_cluster(struct kload *l, const struct jv *cl, const char *name, struct kc_config *c)
{
	char owner[300];
	const struct jv *insecure = jv_get(cl, "insecure-skip-tls-verify");
	const char *server = str_of(cl, "server");

	snprintf(owner, sizeof(owner), "cluster \"%s\"", name);
	if (!server)
		return fail(l, -EINVAL, "%s: no server", owner);
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
		return fail(l, -EINVAL, "%s: server \"%s\" is not an http(s) URL", owner, server);
	c->server = strdup(server);
	if (!c->server)
		return fail(l, -ENOMEM, "out of memory");
	/* a trailing slash would double the one every path starts with */
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = 0;
	c->insecure = insecure && insecure->type == JV_TRUE;
	return material(l, cl, owner, "certificate-authority", &c->ca_file, &c->ca_data);
}

static int load_user(struct kload *l, const struct jv *u, const char *name, struct kc_config *c)
{
	char owner[300];
	const char *tok = str_of(u, "token"), *tf = str_of(u, "tokenFile");
	int err;

	snprintf(owner, sizeof(owner), "user \"%s\"", name);
	if ((err = material(l, u, owner, "client-certificate", &c->cert_file, &c->cert_data)) ||
	    (err = material(l, u, owner, "client-key", &c->key_file, &c->key_data)))
		return err;
	if (!!(c->cert_file || c->cert_data) != !!(c->key_file || c->key_data))
		return fail(l, -EINVAL, "%s: client-certificate and client-key go together", owner);
	if (tf) {
		char *p = resolve(l, tf), *text;
		size_t n;

		if (!p)
			return fail(l, -ENOMEM, "out of memory");
		text = read_all(p, &n);
		err = -errno;
		if (!text && !tok) {
			fail(l, err, "%s: unable to read tokenFile %s: %s", owner, p,
			     strerror(-err));
			free(p);
			return err;
		}
		free(p);
		if (text) {
			/* the file's content wins over token, as client-go has it */
			while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
				     text[n - 1] == ' ' || text[n - 1] == '\t'))
				text[--n] = 0;
			c->token = text;
			return 0;
		}
	}
	if (tok && !(c->token = strdup(tok)))
		return fail(l, -ENOMEM, "out of memory");
	return 0;
}

/* The kubeconfig parsed into a tree of d (YAML or JSON). */
static int parse(struct kload *l, const char *text, size_t len, struct jv_doc *d, struct jv **root)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag;
	struct fy_parse_cfg cfg = {0};
	struct fy_document *doc;
	int err = 0;

	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	diag = fy_diag_create(&dcfg);
	if (!diag)
		return fail(l, -ENOMEM, "out of memory");
	fy_diag_set_collect_errors(diag, true);
	cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_1;
	cfg.diag = diag;
	doc = fy_document_build_from_string(&cfg, text, len);
	if (!doc || fy_document_resolve(doc) != 0) {
		struct fy_diag_error *e;
		void *it = NULL;

		while ((e = fy_diag_errors_iterate(diag, &it)) && e->type < FYET_ERROR)
			;
		if (e)
			err = fail(l, -EINVAL, "line %d, column %d: %s", e->line, e->column,
				   e->msg ? e->msg : "malformed YAML");
		else
			err = fail(l, -EINVAL, "malformed YAML");
		goto out;
	}
	*root = fy_document_root(doc) ? k8s_jv_from_node(d, fy_document_root(doc)) : NULL;
	if (!*root || (*root)->type != JV_OBJECT)
		err = fail(l, -EINVAL, "not a kubeconfig (expected a mapping)");
out:
	fy_document_destroy(doc);
	fy_diag_destroy(diag);
	return err;
}

/* $KUBECONFIG's first path, else ~/.kube/config. */
static int default_path(char *buf, size_t size)
{
	const char *env = getenv("KUBECONFIG"), *home;

	if (env && env[0]) {
		size_t n = strcspn(env, ":");

		if (n && n < size) {
			memcpy(buf, env, n);
			buf[n] = 0;
			return 0;
		}
	}
	home = getenv("HOME");
	if (!home || !home[0]) {
		struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return -ENOENT;
	return (size_t)snprintf(buf, size, "%s/.kube/config", home) < size ? 0 : -ENAMETOOLONG;
}

int kc_config_load(const char *path, struct kc_config *out, char *err, size_t errlen)
{
	struct kload l = {.err = err, .errlen = errlen};
	char pbuf[PATH_MAX];
	struct jv_doc *d = NULL;
	struct jv *root = NULL;
	const struct jv *ctx, *cl, *u;
	const char *cur, *cname, *uname, *ns;
	char *text = NULL, *slash;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	if (!path) {
		rc = default_path(pbuf, sizeof(pbuf));
		if (rc) {
			if (err && errlen)
				snprintf(err, errlen, "kubeconfig: no $KUBECONFIG and no home");
			return rc;
		}
		path = pbuf;
	}
	l.path = path;
	snprintf(l.dir, sizeof(l.dir), "%s", path);
	slash = strrchr(l.dir, '/');
	if (slash)
		*(slash == l.dir ? slash + 1 : slash) = 0;
	else
		snprintf(l.dir, sizeof(l.dir), ".");
	text = read_all(path, &len);
	if (!text) {
		rc = -errno;
		return fail(&l, rc, "%s", strerror(-rc));
	}
	d = jv_doc_new();
	if (!d) {
		rc = fail(&l, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = parse(&l, text, len, d, &root)))
		goto out;
	cur = str_of(root, "current-context");
	if (!cur) {
		rc = fail(&l, -EINVAL, "no current-context");
		goto out;
	}
	ctx = named(root, "contexts", "context", cur);
	if (!ctx) {
		rc = fail(&l, -ENOENT, "context \"%s\" not found", cur);
		goto out;
	}
	cname = str_of(ctx, "cluster");
	if (!cname) {
		rc = fail(&l, -EINVAL, "context \"%s\": no cluster", cur);
		goto out;
	}
	cl = named(root, "clusters", "cluster", cname);
	if (!cl) {
		rc = fail(&l, -ENOENT, "context \"%s\": cluster \"%s\" not found", cur, cname);
		goto out;
	}
	if ((rc = load_cluster(&l, cl, cname, out)))
		goto out;
	/* a context without a user talks to the server without credentials */
	uname = str_of(ctx, "user");
	if (uname) {
		u = named(root, "users", "user", uname);
		if (!u) {
			rc = fail(&l, -ENOENT, "context \"%s\": user \"%s\" not found", cur, uname);
			goto out;
		}
		if ((rc = load_user(&l, u, uname, out)))
			goto out;
	}
	ns = str_of(ctx, "namespace");
	if (ns && !(out->namespace = strdup(ns)))
		rc = fail(&l, -ENOMEM, "out of memory");
out:
	if (rc)
		kc_config_free(out);
	jv_doc_free(d);
	free(text);
	return rc;
}

void kc_config_free(struct kc_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->cert_data);
	free(c->key_file);
	/* secrets do not outlive the config in freed memory */
	if (c->key_data)
		explicit_bzero(c->key_data, strlen(c->key_data));
	free(c->key_data);
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}
