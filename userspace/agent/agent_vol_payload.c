/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_vol_payload: the files of configMap, secret, downwardAPI and projected volumes and
 * the kubelet's atomic writer (agent_vol.h). Pure but for the writer's file system calls
 * (a projected serviceAccountToken's token comes from the caller's vol_src.token).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_vol.h"
#include "k8s.h"
#include "k8s_buf.h"

#define DEFAULT_MODE 0644 /* the API's defaultMode default, 420 */

bool vol_is_projection(const struct jv *vol)
{
	return jv_get(vol, "configMap") || jv_get(vol, "secret") || jv_get(vol, "downwardAPI") ||
	       jv_get(vol, "projected");
}

void vol_payload_free(struct vol_payload *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].path);
		free(p->f[i].data);
	}
	free(p->f);
	memset(p, 0, sizeof(*p));
}

/* path = data (len bytes, taken over); a later source replaces an earlier one's path, as the
 * kubelet's payload map does. 0 or -ENOMEM (data freed). */
static int put(struct vol_payload *p, const char *path, size_t plen, unsigned char *data,
	       size_t len, unsigned mode)
{
	char *np = strndup(path, plen);

	if (!np) {
		free(data);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].path, np)) {
			free(np);
			free(p->f[i].data);
			p->f[i].data = data;
			p->f[i].len = len;
			p->f[i].mode = mode;
			p->f[i].set_uid = p->f[i].set_gid = false;
			return 0;
		}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct vol_file *nf = realloc(p->f, cap * sizeof(*nf));

		if (!nf) {
			free(np);
			free(data);
			return -ENOMEM;
		}
		p->f = nf;
		p->cap = cap;
	}
	p->f[p->n++] = (struct vol_file){np, data, len, mode, false, false, 0, 0};
	return 0;
}

static unsigned char *dup_bytes(const char *s, size_t len)
{
	unsigned char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = 0;
	}
	return d;
}

/* A Secret's (or a ConfigMap's binaryData) base64 value decoded; NULL on a bad value or
 * ENOMEM (errno). */
static unsigned char *b64_decode(const struct jv *v, size_t *len)
{
	gnutls_datum_t in = {(unsigned char *)v->s, v->len}, out = {NULL, 0};
	unsigned char *d;

	*len = 0;
	if (!v->len)
		return dup_bytes("", 0);
	if (gnutls_base64_decode2(&in, &out) < 0) {
		errno = EINVAL;
		return NULL;
	}
	d = malloc(out.size + 1);
	if (d) {
		memcpy(d, out.data, out.size);
		d[out.size] = 0;
		*len = out.size;
	}
	gnutls_free(out.data);
	return d;
}

static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

/* A mode field (items[].mode, defaultMode): its value, or dflt when unset. */
static unsigned mode_of(const struct jv *o, const char *field, unsigned dflt)
{
	int64_t m;

	if (jv_path_int(o, field, &m) || m < 0 || m > 0777)
		return dflt;
	return (unsigned)m;
}

/* A ConfigMap's data value as bytes. */
static int plain_value(const struct jv *kv, unsigned char **d, size_t *len)
{
	*d = dup_bytes(kv->s, kv->len);
	*len = kv->len;
	return *d ? 0 : -ENOMEM;
}

/* configmap.go / secret.go makePayload (and projected's use of it): every key of the object,
 * or the items; obj NULL: an optional missing object, nothing. */
static int object_payload(const struct jv *ref, const struct jv *obj, bool secret,
			  unsigned dflt_mode, struct vol_payload *out, char *err, size_t errlen)
{
	const struct jv *items = jv_get(ref, "items");
	bool optional = is_true(jv_get(ref, "optional"));
	int rc = 0;

	if (!obj)
		return 0;
	if (!jv_count(items)) {
		for (int pass = 0; pass < (secret ? 1 : 2) && !rc; pass++) {
			const struct jv *data = jv_get(obj, pass ? "binaryData" : "data");

			for (const struct jv *kv = jv_first(data); kv && !rc; kv = kv->next) {
				unsigned char *d;
				size_t len;

				if (kv->type != JV_STRING)
					continue;
				if (secret || pass) {
					d = b64_decode(kv, &len);
					rc = d ? 0 : -errno;
				} else {
					rc = plain_value(kv, &d, &len);
				}
				if (!rc)
					rc = put(out, kv->key, kv->klen, d, len, dflt_mode);
			}
		}
		if (rc == -EINVAL)
			snprintf(err, errlen, "bad base64 data in %s",
				 secret ? "secret" : "configmap");
		return rc;
	}
	for (const struct jv *it = jv_first(items); it && !rc; it = it->next) {
		const char *key = jv_path_str(it, "key"), *path = jv_path_str(it, "path");
		const struct jv *kv = key ? jv_get(jv_get(obj, "data"), key) : NULL;
		bool bin = false;
		unsigned char *d;
		size_t len;

		if (!kv && !secret && key && (kv = jv_get(jv_get(obj, "binaryData"), key)))
			bin = true;
		if (!kv || kv->type != JV_STRING) {
			if (optional)
				continue;
			snprintf(err, errlen, "%s %s",
				 secret ? "references non-existent secret key:"
					: "configmap references non-existent "
					  "config key:",
				 key ? key : "");
			return -EINVAL;
		}
		if (!path)
			path = key;
		if (secret || bin) {
			d = b64_decode(kv, &len);
			rc = d ? 0 : -errno;
		} else {
			rc = plain_value(kv, &d, &len);
		}
		if (!rc)
			rc = put(out, path, strlen(path), d, len, mode_of(it, "mode", dflt_mode));
	}
	if (rc == -EINVAL)
		snprintf(err, errlen, "bad base64 data in %s", secret ? "secret" : "configmap");
	return rc;
}

/* A ConfigMap or Secret source (volume or projection): read, then its payload. */
static int ref_payload(const struct jv *ref, bool secret, unsigned dflt_mode,
		       const struct vol_src *src, struct vol_payload *out, char *err, size_t errlen)
{
	const char *name = jv_path_str(ref, secret ? "secretName" : "name");
	struct jv_doc *d = jv_doc_new();
	struct jv *obj = NULL;
	int rc;

	if (!d)
		return -ENOMEM;
	if (!name) /* a projection's secret is "name", a volume's "secretName" */
		name = jv_path_str(ref, "name");
	if (!name)
		name = "";
	rc = src->get(src->arg, secret ? "Secret" : "ConfigMap", src->ns, name, d, &obj, err,
		      errlen);
	if (rc == -ENOENT) {
		obj = NULL;
		rc = 0;
		if (!is_true(jv_get(ref, "optional"))) {
			/* the configMap/secret manager's NotFound */
			snprintf(err, errlen, "%s \"%s\" not found",
				 secret ? "secret" : "configmap", name);
			rc = -EINVAL;
		}
	}
	if (!rc)
		rc = object_payload(ref, obj, secret, dflt_mode, out, err, errlen);
	jv_doc_free(d);
	return rc;
}

/* Go's strconv.Quote of s (for printable UTF-8 kept as it is). */
static void go_quote(struct k8s_buf *b, const char *s, size_t len)
{
	k8s_buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			k8s_buf_puts(b, "\\\"");
			break;
		case '\\':
			k8s_buf_puts(b, "\\\\");
			break;
		case '\a':
			k8s_buf_puts(b, "\\a");
			break;
		case '\b':
			k8s_buf_puts(b, "\\b");
			break;
		case '\f':
			k8s_buf_puts(b, "\\f");
			break;
		case '\n':
			k8s_buf_puts(b, "\\n");
			break;
		case '\r':
			k8s_buf_puts(b, "\\r");
			break;
		case '\t':
			k8s_buf_puts(b, "\\t");
			break;
		case '\v':
			k8s_buf_puts(b, "\\v");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				k8s_buf_printf(b, "\\x%02x", c);
			else
				k8s_buf_putc(b, (char)c);
		}
	}
	k8s_buf_putc(b, '"');
}

static int key_cmp(const void *x, const void *y)
{
	const struct jv *a = *(const struct jv *const *)x, *b = *(const struct jv *const *)y;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);

	return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

char *vol_format_map(const struct jv *obj)
{
	size_t n = jv_count(obj), k = 0;
	const struct jv **v = calloc(n ? n : 1, sizeof(*v));
	struct k8s_buf b = {0};

	if (!v)
		return NULL;
	for (const struct jv *kv = jv_first(obj); kv; kv = kv->next)
		if (kv->type == JV_STRING)
			v[k++] = kv;
	qsort(v, k, sizeof(*v), key_cmp); /* sorted, for a stable output */
	for (size_t i = 0; i < k; i++) {
		if (i)
			k8s_buf_putc(&b, '\n');
		k8s_buf_put(&b, v[i]->key, v[i]->klen);
		k8s_buf_putc(&b, '=');
		go_quote(&b, v[i]->s, v[i]->len);
	}
	k8s_buf_putc(&b, 0);
	free(v);
	if (b.oom) {
		k8s_buf_free(&b);
		return NULL;
	}
	return b.p;
}

/* fieldpath.ExtractFieldPathAsString over the pod, for a downwardAPI volume item. */
static char *field_value(const struct jv *pod, const char *path, char *err, size_t errlen)
{
	static const char *const simple[] = {"metadata.name", "metadata.namespace", "metadata.uid"};
	const char *maps[] = {"metadata.labels", "metadata.annotations"};

	for (size_t i = 0; i < 3; i++)
		if (!strcmp(path, simple[i])) {
			const char *s = jv_path_str(pod, path);

			return strdup(s ? s : "");
		}
	for (size_t i = 0; i < 2; i++) {
		size_t ml = strlen(maps[i]);
		const struct jv *m = jv_path(pod, maps[i]);

		if (!strcmp(path, maps[i]))
			return vol_format_map(m);
		/* metadata.labels['key'] */
		if (!strncmp(path, maps[i], ml) && !strncmp(path + ml, "['", 2) &&
		    strlen(path) >= ml + 4 && !strcmp(path + strlen(path) - 2, "']")) {
			char *key = strndup(path + ml + 2, strlen(path) - ml - 4);
			const struct jv *v = key ? jv_get(m, key) : NULL;

			free(key);
			if (!key)
				return NULL;
			return v && v->type == JV_STRING ? strndup(v->s, v->len) : strdup("");
		}
	}
	snprintf(err, errlen, "unsupported fieldPath: %s", path);
	errno = EINVAL;
	return NULL;
}

/* ceil(x / d) for positive d */
static int64_t ceil_div(int64_t x, int64_t d)
{
	return x / d + (x % d && x > 0 ? 1 : 0);
}

/* fieldpath.ExtractContainerResourceValue with the node's allocatable as the limit a
 * container does not set (MergeContainerResourceLimits). */
static char *resource_value(const struct jv *ref, const struct vol_src *src, char *err,
			    size_t errlen)
{
	const char *cname = jv_path_str(ref, "containerName"), *res = jv_path_str(ref, "resource"),
		   *div = jv_path_str(ref, "divisor"), *q;
	const struct jv *ctr = NULL;
	int64_t dv = 1, dm = 1000, v = 0, m = 0, out;
	bool cpu, limit;
	char path[64], *s;

	res = res ? res : "";
	for (const struct jv *c = jv_first(jv_path(src->pod, "spec.containers")); c; c = c->next)
		if (cname && jv_is_str(jv_get(c, "name"), cname))
			ctr = c;
	if (!ctr) {
		snprintf(err, errlen, "container %s not found", cname ? cname : "");
		errno = EINVAL;
		return NULL;
	}
	cpu = !strcmp(res, "limits.cpu") || !strcmp(res, "requests.cpu");
	limit = !strncmp(res, "limits.", 7);
	if (!cpu && strcmp(res, "limits.memory") && strcmp(res, "requests.memory") &&
	    strcmp(res, "limits.ephemeral-storage") && strcmp(res, "requests.ephemeral-storage")) {
		snprintf(err, errlen, "unsupported container resource : %s", res);
		errno = EINVAL;
		return NULL;
	}
	if (div && k8s_quantity_parse(div, strlen(div), &dv, &dm) == 0 && dm > 0) {
		if (dv <= 0)
			dv = 1;
	} else {
		dv = 1;
		dm = 1000;
	}
	snprintf(path, sizeof(path), "resources.%s", res);
	q = jv_path_str(ctr, path);
	if (!q && limit && strstr(res, "ephemeral") == NULL)
		q = cpu ? src->node_cpu : src->node_memory;
	if (q && k8s_quantity_parse(q, strlen(q), &v, &m))
		v = m = 0;
	out = cpu ? ceil_div(m, dm) : ceil_div(v, dv);
	if (asprintf(&s, "%lld", (long long)out) < 0)
		return NULL;
	return s;
}

/* downwardapi.go CollectData: each item's fieldRef or resourceFieldRef value. */
static int downward_payload(const struct jv *items, unsigned dflt_mode, const struct vol_src *src,
			    struct vol_payload *out, char *err, size_t errlen)
{
	for (const struct jv *it = jv_first(items); it; it = it->next) {
		const char *path = jv_path_str(it, "path");
		const struct jv *ref;
		char *v = NULL;
		int rc;

		if (!path)
			continue;
		errno = ENOMEM;
		if ((ref = jv_get(it, "fieldRef"))) {
			const char *fp = jv_path_str(ref, "fieldPath");

			v = field_value(src->pod, fp ? fp : "", err, errlen);
		} else if ((ref = jv_get(it, "resourceFieldRef"))) {
			v = resource_value(ref, src, err, errlen);
		} else {
			continue;
		}
		if (!v)
			return errno == EINVAL ? -EINVAL : -ENOMEM;
		rc = put(out, path, strlen(path), (unsigned char *)v, strlen(v),
			 mode_of(it, "mode", dflt_mode));
		if (rc)
			return rc;
	}
	return 0;
}

bool vol_token_requires_refresh(int64_t now, int64_t exp, int64_t exp_s, int64_t jitter)
{
	int64_t iat = exp - exp_s;

	if (now > iat + VOL_TOKEN_MAX_TTL_S - jitter)
		return true;
	/* within 20 % of the TTL (plus the jitter) of the expiration */
	if (now > exp - exp_s * 20 / 100 - jitter)
		return true;
	return now < iat; /* the clock went back past its issue time */
}

/* volumeutil.FsUserFrom: the runAsUser every init container and container has set (its own
 * over the pod's), when they all have one and it is the same. */
static bool fs_user(const struct jv *pod, int64_t *uid)
{
	const struct jv *psc = jv_path(pod, "spec.securityContext");
	bool any = false;

	for (int pass = 0; pass < 2; pass++) {
		const struct jv *list =
		    jv_path(pod, pass ? "spec.containers" : "spec.initContainers");

		for (const struct jv *c = jv_first(list); c; c = c->next) {
			const struct jv *v = jv_path(c, "securityContext.runAsUser");
			int64_t u;

			if (!v || v->type == JV_NULL)
				v = jv_get(psc, "runAsUser");
			if (!v || jv_int(v, &u) || (any && u != *uid))
				return false;
			*uid = u;
			any = true;
		}
	}
	return any;
}

/* projected.go collectData's serviceAccountToken: the token at tp.path, mode defaultMode, or
 * 0600 owned by the pod's FsUser when it has one or an fsGroup; with an fsGroup, the group
 * and mode SetVolumeOwnership then gives it (fsGroup, 0600 | 0440: projected is read-only). */
static int token_payload(const struct jv *tp, unsigned dm, const struct vol_src *src,
			 struct vol_payload *out, char *err, size_t errlen)
{
	const char *path = jv_path_str(tp, "path");
	int64_t uid = 0, gid = 0;
	bool has_uid = fs_user(src->pod, &uid);
	bool has_gid = !jv_path_int(src->pod, "spec.securityContext.fsGroup", &gid);
	struct vol_file *f;
	char *tok = NULL;
	int rc;

	if (!src->token) {
		snprintf(err, errlen, "serviceAccountToken sources are not supported here");
		return -EINVAL;
	}
	rc = src->token(src->token_arg, tp, &tok, err, errlen);
	if (rc)
		return rc;
	rc = put(out, path ? path : "", path ? strlen(path) : 0, (unsigned char *)tok, strlen(tok),
		 has_uid || has_gid ? 0600 : dm);
	if (rc)
		return rc;
	for (f = out->f; strcmp(f->path, path ? path : ""); f++)
		;
	if (has_uid && uid >= 0) {
		f->set_uid = true;
		f->uid = (unsigned)uid;
	}
	if (has_gid && gid >= 0) {
		f->set_gid = true;
		f->gid = (unsigned)gid;
		f->mode |= 0440;
	}
	return 0;
}

int vol_payload_build(const struct jv *vol, const struct vol_src *src, struct vol_payload *out,
		      char *err, size_t errlen)
{
	const struct jv *s;
	unsigned dm;

	if ((s = jv_get(vol, "configMap")) || (s = jv_get(vol, "secret")))
		return ref_payload(s, s == jv_get(vol, "secret"),
				   mode_of(s, "defaultMode", DEFAULT_MODE), src, out, err, errlen);
	if ((s = jv_get(vol, "downwardAPI")))
		return downward_payload(jv_get(s, "items"), mode_of(s, "defaultMode", DEFAULT_MODE),
					src, out, err, errlen);
	if (!(s = jv_get(vol, "projected")))
		return 0;
	dm = mode_of(s, "defaultMode", DEFAULT_MODE);
	/* projected.go collectData: the sources in order, a later path over an earlier one
	 * (clusterTrustBundle sources are not written) */
	for (const struct jv *p = jv_first(jv_get(s, "sources")); p; p = p->next) {
		const struct jv *r;
		int rc = 0;

		if ((r = jv_get(p, "configMap")))
			rc = ref_payload(r, false, dm, src, out, err, errlen);
		else if ((r = jv_get(p, "secret")))
			rc = ref_payload(r, true, dm, src, out, err, errlen);
		else if ((r = jv_get(p, "downwardAPI")))
			rc = downward_payload(jv_get(r, "items"), dm, src, out, err, errlen);
		else if ((r = jv_get(p, "serviceAccountToken")))
			rc = token_payload(r, dm, src, out, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the atomic writer (pkg/volume/util/atomic_writer.go) ---- */

#define DATA_DIR     "..data"
#define DATA_DIR_TMP "..data_tmp"

/* A relative path without '..' components, not absolute (validation's, again here: the
 * writer must never leave the volume). */
static bool path_ok(const char *p)
{
	if (!p[0] || p[0] == '/')
		return false;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");

		if ((n == 2 && !strncmp(c, "..", 2)) || n == 0)
			return false;
		if (n >= 2 && !strncmp(c, "..", 2) && c == p)
			return false; /* the writer's own names start with ".." */
		c += n;
		if (*c)
			c++;
	}
	return true;
}

/* A DIR over dfd's directory from its start (a dup shares dfd's offset: rewound). */
static DIR *dir_of(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0)
		close(fd);
	if (d)
		rewinddir(d);
	return d;
}

/* Whether dir/..data already holds exactly the payload's files, contents and modes. */
static bool same(int dfd, const struct vol_payload *p)
{
	char link[NAME_MAX + 1];

	if (readlinkat(dfd, DATA_DIR, link, sizeof(link)) < 0)
		return false; /* never written */
	for (size_t i = 0; i < p->n; i++) {
		char path[PATH_MAX], *buf;
		struct stat st;
		bool eq;
		int fd;

		snprintf(path, sizeof(path), DATA_DIR "/%s", p->f[i].path);
		fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return false;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size != p->f[i].len ||
		    (st.st_mode & 07777) != p->f[i].mode) {
			close(fd);
			return false;
		}
		buf = malloc(p->f[i].len + 1);
		eq = buf && read(fd, buf, p->f[i].len + 1) == (ssize_t)p->f[i].len &&
		     !memcmp(buf, p->f[i].data, p->f[i].len);
		free(buf);
		close(fd);
		if (!eq)
			return false;
	}
	/* and no file more: the top-level names are the payload's */
	DIR *d = dir_of(dfd);
	struct dirent *e;
	bool ok = d != NULL;

	while (ok && (e = readdir(d))) {
		bool found = false;
		size_t nl = strlen(e->d_name);

		if (e->d_name[0] == '.' && e->d_name[1] == '.')
			continue;
		if (!strcmp(e->d_name, "."))
			continue;
		for (size_t i = 0; i < p->n && !found; i++)
			found = !strncmp(p->f[i].path, e->d_name, nl) &&
				(p->f[i].path[nl] == '/' || !p->f[i].path[nl]);
		ok = found;
	}
	if (d)
		closedir(d);
	return ok;
}

static int mkdirs_at(int dfd, const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdirat(dfd, buf, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

static int write_file(int dfd, const char *path, const struct vol_file *f)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t off = 0;
	int rc = 0;

	if (fd < 0)
		return -errno;
	while (off < f->len) {
		ssize_t w = write(fd, f->data + off, f->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	/* atomic_writer.go writePayloadToDir: Lchown to the projection's FsUser */
	if (!rc && (f->set_uid || f->set_gid) &&
	    fchown(fd, f->set_uid ? (uid_t)f->uid : (uid_t)-1,
		   f->set_gid ? (gid_t)f->gid : (gid_t)-1))
		rc = -errno;
	if (!rc && fchmod(fd, f->mode)) /* the mode as given, not under the umask */
		rc = -errno;
	close(fd);
	return rc;
}

static int rm_tree_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (fd < 0)
		return unlinkat(dfd, name, 0) && errno != ENOENT ? -errno : 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rm_tree_at(fd, e->d_name);
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) && errno != ENOENT ? -errno : 0;
}

int vol_atomic_write(const char *dir, const struct vol_payload *p)
{
	char ts[64], old[PATH_MAX] = "", path[PATH_MAX];
	struct timespec now;
	struct tm tm;
	int dfd, tfd = -1, rc = 0;
	ssize_t ol;
	DIR *d;
	struct dirent *e;

	for (size_t i = 0; i < p->n; i++)
		if (!path_ok(p->f[i].path))
			return -EINVAL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (same(dfd, p))
		goto out;
	ol = readlinkat(dfd, DATA_DIR, old, sizeof(old) - 1);
	old[ol > 0 ? ol : 0] = 0;
	/* the new timestamped dir, ..2006_01_02_15_04_05.<unique> as the kubelet names it */
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	for (unsigned n = 0;; n++) {
		size_t l = strftime(ts, sizeof(ts), "..%Y_%m_%d_%H_%M_%S.", &tm);

		snprintf(ts + l, sizeof(ts) - l, "%09ld%u", now.tv_nsec, n);
		if (!mkdirat(dfd, ts, 0755))
			break;
		if (errno != EEXIST || n > 100) {
			rc = -errno;
			goto out;
		}
	}
	tfd = openat(dfd, ts, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0 || fchmod(tfd, 0755)) {
		rc = -errno;
		goto out;
	}
	for (size_t i = 0; i < p->n && !rc; i++) {
		rc = mkdirs_at(tfd, p->f[i].path);
		if (!rc)
			rc = write_file(tfd, p->f[i].path, &p->f[i]);
	}
	/* ..data_tmp -> ts, renamed over ..data: the switch is one rename */
	unlinkat(dfd, DATA_DIR_TMP, 0);
	if (rc || symlinkat(ts, dfd, DATA_DIR_TMP) || renameat(dfd, DATA_DIR_TMP, dfd, DATA_DIR)) {
		rc = rc ? rc : -errno;
		rm_tree_at(dfd, ts);
		goto out;
	}
	/* the user-visible names: a symlink per top-level component into ..data */
	for (size_t i = 0; i < p->n; i++) {
		size_t tl = strcspn(p->f[i].path, "/");
		char top[NAME_MAX + 1], want[NAME_MAX + 16], have[NAME_MAX + 16];
		ssize_t hl;

		snprintf(top, sizeof(top), "%.*s", (int)tl, p->f[i].path);
		snprintf(want, sizeof(want), DATA_DIR "/%s", top);
		hl = readlinkat(dfd, top, have, sizeof(have) - 1);
		if (hl > 0 && (have[hl] = 0, !strcmp(have, want)))
			continue;
		if (hl < 0 && errno != ENOENT && errno != EINVAL) {
			rc = -errno;
			goto out;
		}
		if (hl >= 0 || errno == EINVAL)
			rm_tree_at(dfd, top); /* something else by that name */
		if (symlinkat(want, dfd, top)) {
			rc = -errno;
			goto out;
		}
	}
	/* names the payload no longer has, and the old timestamped dir */
	d = dir_of(dfd);
	while (d && (e = readdir(d))) {
		bool keep = e->d_name[0] == '.';
		size_t nl = strlen(e->d_name);

		for (size_t i = 0; i < p->n && !keep; i++)
			keep = !strncmp(p->f[i].path, e->d_name, nl) &&
			       (p->f[i].path[nl] == '/' || !p->f[i].path[nl]);
		if (!keep)
			unlinkat(dfd, e->d_name, 0);
	}
	if (d)
		closedir(d);
	if (old[0] && strcmp(old, ts) && !strchr(old, '/') && !strncmp(old, "..", 2)) {
		snprintf(path, sizeof(path), "%s", old);
		rm_tree_at(dfd, path);
	}
out:
	if (tfd >= 0)
		close(tfd);
	close(dfd);
	return rc;
}
