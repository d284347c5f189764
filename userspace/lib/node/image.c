/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image: the local image store (see image.h for the layout on disk). This file owns the
 * store handle, its lock and index.json, reading OCI layouts and docker-save manifests, and
 * resolve/list/remove; image_layer.c does the archive work, image_ref.c the names.
 */
#include "fsutil.h"
#include "image.h"
#include "image_int.h"
#include "k8s_jv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_MAX (16u << 20) /* manifests, configs, indexes: far smaller in practice */

int image_err(struct image_store *s, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return ret;
}

const char *image_store_error(const struct image_store *s)
{
	return s->err;
}

const char *image_store_root(const struct image_store *s)
{
	return s->root;
}

struct image_store *image_store_open(const char *root)
{
	char sub[PATH_MAX];
	struct image_store *s = calloc(1, sizeof(*s));
	int err;
	if (!s)
		return NULL;
	s->lock_fd = -1;
	if ((err = fs_mkdir_p(root ? root : IMAGE_STORE_ROOT, 0755, NULL)) < 0)
		goto fail;
	/* resolved once: libarchive's symlink checks must not meet a symlink above the store */
	s->root = realpath(root ? root : IMAGE_STORE_ROOT, NULL);
	if (!s->root) {
		err = -errno;
		goto fail;
	}
	static const char *const dirs[] = {"blobs/sha256", "layers", "tmp"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", s->root, dirs[i]);
		if ((err = fs_mkdir_p(sub, 0755, NULL)) < 0)
			goto fail;
	}
	snprintf(sub, sizeof(sub), "%s/lock", s->root);
	s->lock_fd = open(sub, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0) {
		err = -errno;
		goto fail;
	}
	return s;
fail:
	image_store_close(s);
	errno = -err;
	return NULL;
}

void image_store_close(struct image_store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->root);
	free(s);
}

int image_lock(struct image_store *s, int op)
{
	while (flock(s->lock_fd, op) < 0)
		if (errno != EINTR)
			return image_err(s, -errno, "lock %s/lock: %s", s->root, strerror(errno));
	return 0;
}

void image_unlock(struct image_store *s)
{
	flock(s->lock_fd, LOCK_UN);
}

int image_read_all(const char *path, char **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > JSON_MAX) {
		int err = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		close(fd);
		return err;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			free(buf);
			buf = NULL;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -EIO;
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* Read and parse a JSON file into d; with want_hex, its sha256 must be that. */
struct jv *image_load_json(struct image_store *s, struct jv_doc *d, const char *path,
			   const char *want_hex, const char *what)
{
	char *buf;
	size_t len;
	struct jv_perr perr;
	int r = image_read_all(path, &buf, &len);
	if (r < 0) {
		image_err(s, r, "%s %s: %s", what, path, strerror(-r));
		return NULL;
	}
	if (want_hex) {
		char hex[65];
		image_sha256_hex(buf, len, hex);
		if (strcmp(hex, want_hex) != 0) {
			free(buf);
			image_err(s, -EINVAL,
				  "%s %s: digest mismatch: want sha256:%s, got sha256:%s", what,
				  path, want_hex, hex);
			return NULL;
		}
	}
	struct jv *v = jv_parse(d, buf, len, &perr);
	free(buf);
	if (!v)
		image_err(s, -EINVAL, "%s %s: not JSON: %s", what, path, perr.msg);
	else if (v->type != JV_OBJECT && v->type != JV_ARRAY) {
		image_err(s, -EINVAL, "%s %s: not a JSON object", what, path);
		v = NULL;
	}
	return v;
}

int image_write_atomic(const char *path, const char *buf, size_t len)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0) {
			int err = -errno;
			close(fd);
			unlink(tmp);
			return err;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

/* ---- the index: {"images":[{"digest","config","names":[],"layers":[diffID...],"size"}]} */

struct jv *image_index_load(struct image_store *s, struct jv_doc *d)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/index.json", s->root);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		struct jv *root = jv_new(d, JV_OBJECT);
		if (root && jv_set(d, root, "images", jv_new(d, JV_ARRAY)) < 0)
			root = NULL;
		return root;
	}
	struct jv *root = image_load_json(s, d, path, NULL, "store index");
	if (root && (!jv_get(root, "images") || jv_get(root, "images")->type != JV_ARRAY)) {
		image_err(s, -EINVAL, "store index %s: no images array", path);
		return NULL;
	}
	return root;
}

int image_index_save(struct image_store *s, const struct jv *root)
{
	char path[PATH_MAX];
	size_t len;
	char *json = jv_to_json(root, &len);
	if (!json)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/index.json", s->root);
	int r = image_write_atomic(path, json, len);
	free(json);
	return r < 0 ? image_err(s, r, "write %s: %s", path, strerror(-r)) : 0;
}

static bool has_str(const struct jv *arr, const char *s)
{
	for (struct jv *c = jv_first(arr); c; c = c->next)
		if (jv_is_str(c, s))
			return true;
	return false;
}

/* Remove the name from every image of the index. */
void image_drop_name(struct jv *images, const char *name)
{
	for (struct jv *img = jv_first(images); img; img = img->next) {
		struct jv *names = jv_get(img, "names"), *prev = NULL;
		for (struct jv *c = jv_first(names); c; prev = c, c = c->next)
			if (jv_is_str(c, name)) {
				jv_unlink(names, prev, c);
				break;
			}
	}
}

static bool layer_used(const struct jv *images, const char *diff)
{
	for (struct jv *img = jv_first(images); img; img = img->next)
		if (has_str(jv_get(img, "layers"), diff))
			return true;
	return false;
}

/* Drop images that had names and lost them all (marked "named"), then free unused layers
 * and blobs of the dropped images. */
void image_index_gc(struct image_store *s, struct jv *images, struct jv *dropped)
{
	char path[PATH_MAX];
	struct jv *prev = NULL, *img = jv_first(images);
	while (img) {
		struct jv *next = img->next;
		if (jv_count(jv_get(img, "names")) == 0 && jv_get(img, "named")) {
			jv_unlink(images, prev, img);
			jv_push(dropped, img);
		} else {
			prev = img;
		}
		img = next;
	}
	for (struct jv *gone = jv_first(dropped); gone; gone = gone->next) {
		for (struct jv *l = jv_first(jv_get(gone, "layers")); l; l = l->next)
			if (!layer_used(images, l->s)) {
				snprintf(path, sizeof(path), "%s/layers/%s", s->root, l->s + 7);
				image_rm_rf(path);
			}
		const char *blobs[] = {jv_path_str(gone, "digest"), jv_path_str(gone, "config")};
		for (int i = 0; i < 2; i++) {
			bool used = false;
			for (struct jv *o = jv_first(images); o; o = o->next)
				used |= jv_is_str(jv_get(o, "digest"), blobs[i]) ||
					jv_is_str(jv_get(o, "config"), blobs[i]);
			if (!used && blobs[i]) {
				snprintf(path, sizeof(path), "%s/blobs/sha256/%s", s->root,
					 blobs[i] + 7);
				unlink(path);
			}
		}
	}
}

/* ---- queries ---- */

void image_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void image_info_free(struct image_info *info)
{
	if (!info)
		return;
	free(info->digest);
	free(info->config_digest);
	image_strv_free(info->names);
	image_strv_free(info->entrypoint);
	image_strv_free(info->cmd);
	image_strv_free(info->env);
	free(info->working_dir);
	free(info->user);
	image_strv_free(info->exposed_ports);
	image_strv_free(info->layers);
	free(info);
}

void image_info_list_free(struct image_info **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		image_info_free(v[i]);
	free(v);
}

/* Strings of an array (or the keys of an object) as a NULL-terminated vector; NULL for
 * absent/null. *err on allocation failure. */
static char **strv_of(const struct jv *v, bool keys, const char *prefix, bool *err)
{
	if (!v || (v->type != JV_ARRAY && v->type != JV_OBJECT))
		return NULL;
	char **out = calloc(jv_count(v) + 1, sizeof(char *));
	size_t i = 0;
	if (!out) {
		*err = true;
		return NULL;
	}
	for (struct jv *c = jv_first(v); c; c = c->next) {
		const char *s = keys ? c->key : (c->type == JV_STRING ? c->s : NULL);
		if (!s)
			continue;
		if (asprintf(&out[i], "%s%s", prefix ? prefix : "", s) < 0) {
			out[i] = NULL;
			*err = true;
			break;
		}
		i++;
	}
	return out;
}

static char *dup_str(const char *s, bool *err)
{
	if (!s || !*s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*err = true;
	return d;
}

/* The record img as an image_info, reading its config blob. */
static int info_of(struct image_store *s, const struct jv *img, struct image_info **out)
{
	char path[PATH_MAX];
	const char *config = jv_path_str(img, "config");
	if (!config || !image_is_digest(config))
		return image_err(s, -EINVAL, "store index: a record lacks its config");
	struct jv_doc *d = jv_doc_new();
	struct image_info *info = calloc(1, sizeof(*info));
	if (!d || !info) {
		jv_doc_free(d);
		free(info);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", s->root, config + 7);
	struct jv *c = image_load_json(s, d, path, config + 7, "config");
	if (!c) {
		jv_doc_free(d);
		free(info);
		return -EIO;
	}
	bool err = false;
	struct jv *cc = jv_get(c, "config");
	info->digest = dup_str(jv_path_str(img, "digest"), &err);
	info->config_digest = dup_str(config, &err);
	info->names = strv_of(jv_get(img, "names"), false, NULL, &err);
	info->entrypoint = strv_of(jv_get(cc, "Entrypoint"), false, NULL, &err);
	info->cmd = strv_of(jv_get(cc, "Cmd"), false, NULL, &err);
	info->env = strv_of(jv_get(cc, "Env"), false, NULL, &err);
	info->working_dir = dup_str(jv_path_str(cc, "WorkingDir"), &err);
	info->user = dup_str(jv_path_str(cc, "User"), &err);
	info->exposed_ports = strv_of(jv_get(cc, "ExposedPorts"), true, NULL, &err);
	snprintf(path, sizeof(path), "%s/layers/", s->root);
	struct jv *layers = jv_get(img, "layers");
	info->layers = calloc(jv_count(layers) + 1, sizeof(char *));
	for (struct jv *l = jv_first(layers); info->layers && l; l = l->next)
		if (l->type != JV_STRING || !image_is_digest(l->s) ||
		    asprintf(&info->layers[info->n_layers++], "%s%s", path, l->s + 7) < 0) {
			err = true;
			break;
		}
	int64_t size = 0;
	jv_path_int(img, "size", &size);
	info->size = (uint64_t)size;
	if (!info->names)
		info->names = calloc(1, sizeof(char *));
	if (!info->env)
		info->env = calloc(1, sizeof(char *));
	if (!info->exposed_ports)
		info->exposed_ports = calloc(1, sizeof(char *));
	jv_doc_free(d);
	if (err || !info->layers || !info->names || !info->env || !info->exposed_ports) {
		if (info->layers && info->n_layers)
			info->layers[info->n_layers - 1] = NULL; /* asprintf left it undefined */
		image_info_free(info);
		return -ENOMEM;
	}
	*out = info;
	return 0;
}

/* The record ref names: by digest (manifest or config), name@digest, or name. */
static struct jv *find(struct image_store *s, struct jv *images, const char *ref, int *ret)
{
	char norm[IMAGE_REF_MAX], why[256], dig[80];
	const char *want_digest = NULL, *want_name = NULL;
	*ret = 0;
	if (image_is_hex64(ref, strlen(ref))) {
		snprintf(dig, sizeof(dig), "sha256:%s", ref);
		want_digest = dig;
	} else if (image_is_digest(ref)) {
		want_digest = ref;
	} else if ((*ret = image_ref_normalize(ref, norm, sizeof(norm), why, sizeof(why))) < 0) {
		image_err(s, -EINVAL, "%s", why);
		return NULL;
	} else if (strchr(norm, '@')) {
		want_digest = strchr(norm, '@') + 1;
	} else {
		want_name = norm;
	}
	for (struct jv *img = jv_first(images); img; img = img->next) {
		if (want_name && has_str(jv_get(img, "names"), want_name))
			return img;
		if (want_digest && (jv_is_str(jv_get(img, "digest"), want_digest) ||
				    jv_is_str(jv_get(img, "config"), want_digest)))
			return img;
	}
	*ret = image_err(s, -ENOENT, "image %s: not found", ref);
	return NULL;
}

static void index_end(struct image_store *s, struct jv_doc *d)
{
	image_unlock(s);
	jv_doc_free(d);
}

/* What resolve, list and remove start with: the error cleared, the lock taken (op) and
 * index.json loaded into a new *d (its images array checked). The index's root, or NULL with
 * *ret set and nothing held; index_end releases the lock and *d. */
static struct jv *index_begin(struct image_store *s, int op, struct jv_doc **d, int *ret)
{
	s->err[0] = '\0';
	if (!(*d = jv_doc_new())) {
		*ret = -ENOMEM;
		return NULL;
	}
	if ((*ret = image_lock(s, op)) < 0) {
		jv_doc_free(*d);
		return NULL;
	}
	struct jv *root = image_index_load(s, *d);
	if (!root) {
		*ret = -EIO;
		index_end(s, *d);
	}
	return root;
}

int image_store_resolve(struct image_store *s, const char *ref, struct image_info **out)
{
	struct jv_doc *d;
	int r;
	struct jv *root = index_begin(s, LOCK_SH, &d, &r);
	if (!root)
		return r;
	struct jv *img = find(s, jv_get(root, "images"), ref, &r);
	if (img)
		r = info_of(s, img, out);
	index_end(s, d);
	return r;
}

static int cmp_info(const void *a, const void *b)
{
	const struct image_info *x = *(struct image_info *const *)a;
	const struct image_info *y = *(struct image_info *const *)b;
	if (!x->names[0] || !y->names[0])
		return x->names[0] ? -1 : y->names[0] ? 1 : strcmp(x->digest, y->digest);
	return strcmp(x->names[0], y->names[0]);
}

int image_store_list(struct image_store *s, struct image_info ***out, size_t *n)
{
	struct jv_doc *d;
	int r;
	*out = NULL;
	*n = 0;
	struct jv *root = index_begin(s, LOCK_SH, &d, &r);
	if (!root)
		return r;
	struct jv *images = jv_get(root, "images");
	struct image_info **v = calloc(jv_count(images) + 1, sizeof(*v));
	size_t i = 0;
	r = !v ? -ENOMEM : 0;
	for (struct jv *img = jv_first(images); !r && img; img = img->next)
		if (!(r = info_of(s, img, &v[i])))
			i++;
	index_end(s, d);
	if (r < 0) {
		image_info_list_free(v, i);
		return r;
	}
	qsort(v, i, sizeof(*v), cmp_info);
	*out = v;
	*n = i;
	return 0;
}

int image_store_remove(struct image_store *s, const char *ref)
{
	struct jv_doc *d;
	int r;
	struct jv *root = index_begin(s, LOCK_EX, &d, &r);
	if (!root)
		return r;
	struct jv *images = jv_get(root, "images");
	struct jv *img = find(s, images, ref, &r), *dropped = jv_new(d, JV_ARRAY);
	if (img && dropped) {
		char norm[IMAGE_REF_MAX];
		bool by_name = !image_is_digest(ref) && !image_is_hex64(ref, strlen(ref)) &&
			       image_ref_normalize(ref, norm, sizeof(norm), NULL, 0) == 0 &&
			       !strchr(norm, '@');
		if (by_name)
			image_drop_name(images, norm);
		else
			jv_clear(jv_get(img, "names"));
		/* an unnamed image removed by digest goes too */
		if (jv_set(d, img, "named", jv_new_bool(d, true)) < 0)
			r = -ENOMEM;
		else
			image_index_gc(s, images, dropped);
		if (!r)
			r = image_index_save(s, root);
	} else if (img) {
		r = -ENOMEM;
	}
	index_end(s, d);
	return r;
}
