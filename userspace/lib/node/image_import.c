/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_import: import into the store. An archive is first extracted (files and dirs only)
 * into the store's tmp/; then an OCI layout (oci-layout + index.json, as `skopeo copy oci:`,
 * `podman save --format oci-archive` and docker >= 25 write) or a docker-save layout
 * (manifest.json) is read. Every manifest, config and layer is checked against its digest,
 * every layer against the config's diffID; layers missing from the store are unpacked into
 * layers/<diffID>/ (unpacked once, shared). The index changes only when all of it succeeded;
 * otherwise what this import created is removed again.
 */
#include "image.h"
#include "image_int.h"
#include "k8s_jv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct import {
	struct image_store *s;
	struct jv_doc *d;
	const char *src;      /* the layout directory */
	char *src_real;	      /* its realpath: files read must stay inside */
	struct jv *images;    /* the index's images array (changed in memory) */
	struct jv *created;   /* paths this import made: removed on failure */
	struct jv *imported;  /* digests imported */
	struct jv *tag_names; /* --tag names, normalised */
};

const char *image_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__powerpc64__)
	return "ppc64le";
#elif defined(__riscv)
	return "riscv64";
#else
	return "unknown";
#endif
}

/* A file of the layout named by a relative path from the archive: inside src, or -EINVAL. */
static int layout_path(struct import *im, const char *rel, char *out, size_t outlen)
{
	char clean[PATH_MAX], joined[PATH_MAX];
	if (image_clean_path(rel, clean, sizeof(clean)) < 0 || !*clean)
		return image_err(im->s, -EINVAL, "not an image: path %s leaves the layout", rel);
	if (snprintf(joined, sizeof(joined), "%s/%s", im->src, clean) >= (int)sizeof(joined))
		return image_err(im->s, -ENAMETOOLONG, "not an image: path %s too long", rel);
	char *real = realpath(joined, NULL);
	if (!real)
		return image_err(im->s, -EINVAL, "not an image: %s: %s", rel, strerror(errno));
	size_t n = strlen(im->src_real);
	int ret = 0;
	if (strncmp(real, im->src_real, n) != 0 || real[n] != '/')
		ret = image_err(im->s, -EINVAL, "not an image: path %s leaves the layout", rel);
	else if (snprintf(out, outlen, "%s", real) >= (int)outlen)
		ret = -ENAMETOOLONG;
	free(real);
	return ret;
}

/* blobs/sha256/HEX of a descriptor's digest */
static int blob_path(struct import *im, const char *digest, char *out, size_t outlen)
{
	if (!digest || !image_is_digest(digest))
		return image_err(im->s, -EINVAL, "not an image: bad or unsupported digest %s",
				 digest ? digest : "(none)");
	char rel[128];
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest + 7);
	return layout_path(im, rel, out, outlen);
}

static int note_created(struct import *im, const char *path)
{
	struct jv *v = jv_new_strz(im->d, path);
	if (!v)
		return -ENOMEM;
	jv_push(im->created, v);
	return 0;
}

/* Copy a verified small file into the store's blobs/ under its digest. */
static int store_blob(struct import *im, const char *hex, const char *buf, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", im->s->root, hex);
	if (access(path, F_OK) == 0)
		return 0;
	int r = image_write_atomic(path, buf, len);
	if (r < 0)
		return image_err(im->s, r, "write %s: %s", path, strerror(-r));
	return note_created(im, path);
}

/* One layer: checked against blob digest (want_blob may be NULL) and diffID, unpacked into
 * layers/DIFF unless it is there already. */
static int import_layer(struct import *im, const char *blob, const char *want_blob,
			const char *diff_hex, char got_blob[65], uint64_t *size)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int r = image_layer_verify(im->s, blob, want_blob, diff_hex, got_blob, size);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/layers/%s", im->s->root, diff_hex);
	if (access(dir, F_OK) == 0)
		return 0; /* shared: unpacked by an earlier import */
	snprintf(tmp, sizeof(tmp), "%s/tmp/layer-%s.XXXXXX", im->s->root, diff_hex);
	if (!mkdtemp(tmp))
		return image_err(im->s, -errno, "mkdtemp %s: %s", tmp, strerror(errno));
	if (chmod(tmp, 0755) < 0 || (r = image_layer_unpack(im->s, blob, tmp)) < 0) {
		if (!r)
			r = image_err(im->s, -errno, "chmod %s: %s", tmp, strerror(errno));
		image_rm_rf(tmp);
		return r;
	}
	if (rename(tmp, dir) < 0) {
		r = image_err(im->s, -errno, "rename %s: %s", dir, strerror(errno));
		image_rm_rf(tmp);
		return r;
	}
	return note_created(im, dir);
}

/* Record an image in the index: names move to it from any other image. */
static int record(struct import *im, const char *digest, const char *config, struct jv *layers,
		  uint64_t size, struct jv *names)
{
	struct jv_doc *d = im->d;
	struct jv *img = NULL;
	for (struct jv *c = jv_first(im->images); c; c = c->next)
		if (jv_is_str(jv_get(c, "digest"), digest))
			img = c;
	if (!img) {
		img = jv_new(d, JV_OBJECT);
		if (!img || jv_set(d, img, "digest", jv_new_strz(d, digest)) < 0 ||
		    jv_set(d, img, "config", jv_new_strz(d, config)) < 0 ||
		    jv_set(d, img, "names", jv_new(d, JV_ARRAY)) < 0 ||
		    jv_set(d, img, "layers", layers) < 0 ||
		    jv_set(d, img, "size", jv_new_int(d, (int64_t)size)) < 0)
			return -ENOMEM;
		jv_push(im->images, img);
	}
	for (int pass = 0; pass < 2; pass++)
		for (struct jv *n = jv_first(pass ? im->tag_names : names); n; n = n->next) {
			image_drop_name(im->images, n->s);
			struct jv *v = jv_new_strz(d, n->s);
			if (!v)
				return -ENOMEM;
			jv_push(jv_get(img, "names"), v);
			if (!jv_get(img, "named") &&
			    jv_set(d, img, "named", jv_new_bool(d, true)) < 0)
				return -ENOMEM;
		}
	struct jv *v = jv_new_strz(d, digest);
	if (!v)
		return -ENOMEM;
	jv_push(im->imported, v);
	return 0;
}

/* Add name (from the archive) to names if it is a valid reference; others are skipped. */
static int add_name(struct import *im, struct jv *names, const char *name)
{
	char norm[IMAGE_REF_MAX];
	if (!name || image_ref_normalize(name, norm, sizeof(norm), NULL, 0) < 0 ||
	    strchr(norm, '@'))
		return 0;
	struct jv *v = jv_new_strz(im->d, norm);
	if (!v)
		return -ENOMEM;
	jv_push(names, v);
	return 0;
}

/* The config (verified against config_hex when known), its diff_ids, and the layers: blobs[i]
 * is the path of layer i, want[i] its blob digest HEX or NULL. manifest NULL: synthesise the
 * one docker would push (a docker-save archive has none). Stores manifest and config blobs. */
static int import_image(struct import *im, const char *manifest, size_t mlen,
			const char *config_path, const char *config_hex, size_t n_layers,
			char **blobs, char **want, struct jv *names)
{
	struct jv_doc *d = im->d;
	struct jv_perr perr;
	char *cbuf = NULL, *synth = NULL;
	char chex[65], mhex[65], digest[72], cdigest[72];
	size_t clen;
	int r = image_read_all(config_path, &cbuf, &clen);
	if (r < 0)
		return image_err(im->s, r, "not an image: config %s: %s", config_path,
				 strerror(-r));
	image_sha256_hex(cbuf, clen, chex);
	struct jv *config = NULL;
	if (config_hex && strcmp(config_hex, chex) != 0)
		r = image_err(im->s, -EINVAL,
			      "config %s: digest mismatch: want sha256:%s, got sha256:%s",
			      config_path, config_hex, chex);
	else if (!(config = jv_parse(d, cbuf, clen, &perr)) || config->type != JV_OBJECT)
		r = image_err(im->s, -EINVAL, "not an image: config %s is no JSON object",
			      config_path);
	if (r < 0)
		goto out;
	struct jv *diffs = jv_path(config, "rootfs.diff_ids");
	if (jv_count(diffs) != n_layers) {
		r = image_err(im->s, -EINVAL,
			      "not an image: config %s names %zu layers (rootfs.diff_ids), the "
			      "manifest %zu",
			      config_path, jv_count(diffs), n_layers);
		goto out;
	}
	struct jv *layers = jv_new(d, JV_ARRAY), *mlayers = jv_new(d, JV_ARRAY);
	r = -ENOMEM;
	if (!layers || !mlayers)
		goto out;
	uint64_t total = 0;
	size_t i = 0;
	for (struct jv *df = jv_first(diffs); df; df = df->next, i++) {
		char got[65];
		uint64_t size;
		if (df->type != JV_STRING || !image_is_digest(df->s)) {
			r = image_err(im->s, -EINVAL, "not an image: config %s: bad diff_id",
				      config_path);
			goto out;
		}
		if ((r = import_layer(im, blobs[i], want[i], df->s + 7, got, &size)) < 0)
			goto out;
		total += size;
		r = -ENOMEM;
		struct jv *diff = jv_new_strz(d, df->s), *desc = jv_new(d, JV_OBJECT);
		if (!diff || !desc ||
		    jv_set(d, desc, "mediaType",
			   jv_new_strz(d, "application/vnd.docker.image.rootfs.diff.tar")) < 0 ||
		    jv_set(d, desc, "size", jv_new_int(d, (int64_t)size)) < 0 ||
		    jv_set(d, desc, "digest", jv_new_strf(d, "sha256:%s", got)) < 0)
			goto out;
		jv_push(layers, diff);
		jv_push(mlayers, desc);
	}
	if (!manifest) {
		struct jv *m = jv_new(d, JV_OBJECT), *c = jv_new(d, JV_OBJECT);
		if (!m || !c || jv_set(d, m, "schemaVersion", jv_new_int(d, 2)) < 0 ||
		    jv_set(d, m, "mediaType",
			   jv_new_strz(d, "application/vnd.docker.distribution.manifest.v2+json")) <
			0 ||
		    jv_set(d, c, "mediaType",
			   jv_new_strz(d, "application/vnd.docker.container.image.v1+json")) < 0 ||
		    jv_set(d, c, "size", jv_new_int(d, (int64_t)clen)) < 0 ||
		    jv_set(d, c, "digest", jv_new_strf(d, "sha256:%s", chex)) < 0 ||
		    jv_set(d, m, "config", c) < 0 || jv_set(d, m, "layers", mlayers) < 0 ||
		    !(synth = jv_to_json(m, &mlen)))
			goto out;
		manifest = synth;
	}
	image_sha256_hex(manifest, mlen, mhex);
	snprintf(digest, sizeof(digest), "sha256:%s", mhex);
	snprintf(cdigest, sizeof(cdigest), "sha256:%s", chex);
	if (!(r = store_blob(im, mhex, manifest, mlen)) && !(r = store_blob(im, chex, cbuf, clen)))
		r = record(im, digest, cdigest, layers, total, names);
out:
	free(cbuf);
	free(synth);
	return r;
}

/* A manifest blob (descriptor desc of an OCI index): an image manifest, or an index from
 * which the host platform's manifest is taken. */
static int import_oci_desc(struct import *im, const struct jv *desc, struct jv *names, int depth)
{
	struct jv_doc *d = im->d;
	struct jv_perr perr;
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len;
	const char *digest = jv_path_str(desc, "digest");
	int r = blob_path(im, digest, path, sizeof(path));
	if (r < 0)
		return r;
	if ((r = image_read_all(path, &buf, &len)) < 0)
		return image_err(im->s, r, "not an image: manifest %s: %s", digest, strerror(-r));
	char hex[65];
	image_sha256_hex(buf, len, hex);
	struct jv *m = NULL;
	if (strcmp(hex, digest + 7) != 0)
		r = image_err(im->s, -EINVAL, "manifest %s: digest mismatch: got sha256:%s", digest,
			      hex);
	else if (!(m = jv_parse(d, buf, len, &perr)) || m->type != JV_OBJECT)
		r = image_err(im->s, -EINVAL, "not an image: manifest %s is no JSON object",
			      digest);
	if (r < 0)
		goto out;
	if (jv_get(m, "manifests")) { /* an image index: this platform's manifest */
		const struct jv *pick = NULL;
		for (struct jv *c = jv_first(jv_get(m, "manifests")); c; c = c->next)
			if (jv_is_str(jv_path(c, "platform.os"), "linux") &&
			    jv_is_str(jv_path(c, "platform.architecture"), image_host_arch()) &&
			    !pick)
				pick = c;
		if (!pick && jv_count(jv_get(m, "manifests")) == 1 &&
		    !jv_path(jv_first(jv_get(m, "manifests")), "platform"))
			pick = jv_first(jv_get(m, "manifests"));
		if (!pick || depth > 4)
			r = image_err(im->s, -EINVAL,
				      "not an image: index %s has no manifest for linux/%s", digest,
				      image_host_arch());
		else
			r = import_oci_desc(im, pick, names, depth + 1);
		goto out;
	}
	struct jv *layers = jv_get(m, "layers");
	const char *cdig = jv_path_str(m, "config.digest");
	char cpath[PATH_MAX];
	if (!cdig || !layers || layers->type != JV_ARRAY) {
		r = image_err(im->s, -EINVAL, "not an image: manifest %s has no config or layers",
			      digest);
		goto out;
	}
	if ((r = blob_path(im, cdig, cpath, sizeof(cpath))) < 0)
		goto out;
	size_t n = jv_count(layers), i = 0;
	char **blobs = calloc(n + 1, sizeof(char *)), **want = calloc(n + 1, sizeof(char *));
	r = -ENOMEM;
	if (!blobs || !want)
		goto out_v;
	for (struct jv *l = jv_first(layers); l; l = l->next, i++) {
		const char *ld = jv_path_str(l, "digest");
		if (!(blobs[i] = malloc(PATH_MAX)))
			goto out_v;
		if ((r = blob_path(im, ld, blobs[i], PATH_MAX)) < 0)
			goto out_v;
		want[i] = (char *)ld + 7;
	}
	r = import_image(im, buf, len, cpath, cdig + 7, n, blobs, want, names);
out_v:
	for (i = 0; blobs && i < n; i++)
		free(blobs[i]);
	free(blobs);
	free(want);
out:
	free(buf);
	return r;
}

static int import_oci(struct import *im)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/index.json", im->src);
	struct jv *idx = image_load_json(im->s, im->d, path, NULL, "OCI index");
	if (!idx)
		return -EINVAL;
	struct jv *ms = jv_get(idx, "manifests");
	if (jv_count(ms) == 0)
		return image_err(im->s, -EINVAL, "not an image: %s lists no manifests", path);
	if (jv_count(ms) > 1 && jv_count(im->tag_names))
		return image_err(im->s, -EINVAL, "--tag needs an archive of one image, %s has %zu",
				 path, jv_count(ms));
	for (struct jv *desc = jv_first(ms); desc; desc = desc->next) {
		struct jv *names = jv_new(im->d, JV_ARRAY);
		if (!names)
			return -ENOMEM;
		/* containerd's full name first; ref.name only when it is a whole reference */
		const char *full = jv_path_str(desc, "annotations[io.containerd.image.name]");
		const char *ref =
		    jv_path_str(desc, "annotations[org.opencontainers.image.ref.name]");
		int r = add_name(im, names, full);
		if (!r && !full && ref && (strchr(ref, '/') || strchr(ref, ':')))
			r = add_name(im, names, ref);
		if (r < 0 || (r = import_oci_desc(im, desc, names, 0)) < 0)
			return r;
	}
	return 0;
}

/* docker save: manifest.json = [{"Config": "HEX.json", "RepoTags": [...], "Layers": [...]}] */
static int import_docker(struct import *im)
{
	char path[PATH_MAX], cpath[PATH_MAX];
	snprintf(path, sizeof(path), "%s/manifest.json", im->src);
	struct jv *list = image_load_json(im->s, im->d, path, NULL, "docker manifest");
	if (!list)
		return -EINVAL;
	if (list->type != JV_ARRAY || jv_count(list) == 0)
		return image_err(im->s, -EINVAL, "not an image: %s lists no images", path);
	if (jv_count(list) > 1 && jv_count(im->tag_names))
		return image_err(im->s, -EINVAL, "--tag needs an archive of one image, %s has %zu",
				 path, jv_count(list));
	for (struct jv *e = jv_first(list); e; e = e->next) {
		const char *cfg = jv_path_str(e, "Config");
		struct jv *layers = jv_get(e, "Layers");
		if (!cfg || !layers || layers->type != JV_ARRAY)
			return image_err(im->s, -EINVAL,
					 "not an image: %s: an entry lacks Config or Layers", path);
		int r = layout_path(im, cfg, cpath, sizeof(cpath));
		if (r < 0)
			return r;
		/* the config's name is its digest: HEX.json (docker < 25) or blobs/sha256/HEX */
		char chex[65] = "";
		const char *base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
		if (image_is_hex64(base, strnlen(base, 64 + 6) - (strstr(base, ".json") ? 5 : 0)))
			snprintf(chex, sizeof(chex), "%.64s", base);
		struct jv *names = jv_new(im->d, JV_ARRAY);
		if (!names)
			return -ENOMEM;
		for (struct jv *t = jv_first(jv_get(e, "RepoTags")); t; t = t->next)
			if (t->type == JV_STRING && (r = add_name(im, names, t->s)) < 0)
				return r;
		size_t n = jv_count(layers), i = 0;
		char **blobs = calloc(n + 1, sizeof(char *)),
		     **want = calloc(n + 1, sizeof(char *));
		r = -ENOMEM;
		if (!blobs || !want)
			goto next;
		for (struct jv *l = jv_first(layers); l; l = l->next, i++) {
			if (!(blobs[i] = malloc(PATH_MAX)))
				goto next;
			if (l->type != JV_STRING) {
				r = image_err(im->s, -EINVAL, "not an image: %s: bad Layers", path);
				goto next;
			}
			if ((r = layout_path(im, l->s, blobs[i], PATH_MAX)) < 0)
				goto next;
			if (strncmp(l->s, "blobs/sha256/", 13) == 0 &&
			    image_is_hex64(l->s + 13, strlen(l->s + 13)))
				want[i] = (char *)l->s + 13;
		}
		r = import_image(im, NULL, 0, cpath, chex[0] ? chex : NULL, n, blobs, want, names);
	next:
		for (i = 0; blobs && i < n; i++)
			free(blobs[i]);
		free(blobs);
		free(want);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool exists_in(const char *dir, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

int image_store_import(struct image_store *s, const char *path, const char *const *tags,
		       size_t n_tags, char ***digests)
{
	struct import im = {.s = s};
	char tmp[PATH_MAX] = "", norm[IMAGE_REF_MAX], why[256];
	struct stat st;
	int r;

	s->err[0] = '\0';
	if (digests)
		*digests = NULL;
	if (stat(path, &st) < 0)
		return image_err(s, -errno, "%s: %s", path, strerror(errno));
	if (!(im.d = jv_doc_new()))
		return -ENOMEM;
	im.created = jv_new(im.d, JV_ARRAY);
	im.imported = jv_new(im.d, JV_ARRAY);
	im.tag_names = jv_new(im.d, JV_ARRAY);
	if (!im.created || !im.imported || !im.tag_names) {
		jv_doc_free(im.d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_tags; i++) {
		if ((r = image_ref_normalize(tags[i], norm, sizeof(norm), why, sizeof(why))) < 0 ||
		    strchr(norm, '@')) {
			jv_doc_free(im.d);
			return image_err(s, -EINVAL, "tag %s: %s", tags[i],
					 r < 0 ? why : "a tag cannot hold a digest");
		}
		struct jv *v = jv_new_strz(im.d, norm);
		if (!v) {
			jv_doc_free(im.d);
			return -ENOMEM;
		}
		jv_push(im.tag_names, v);
	}
	if ((r = image_lock(s, LOCK_EX)) < 0) {
		jv_doc_free(im.d);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		im.src = path;
	} else {
		snprintf(tmp, sizeof(tmp), "%s/tmp/import.XXXXXX", s->root);
		if (!mkdtemp(tmp)) {
			r = image_err(s, -errno, "mkdtemp %s: %s", tmp, strerror(errno));
			tmp[0] = '\0';
			goto out;
		}
		if ((r = image_archive_extract(s, path, tmp)) < 0)
			goto out;
		im.src = tmp;
	}
	if (!(im.src_real = realpath(im.src, NULL))) {
		r = image_err(s, -errno, "%s: %s", im.src, strerror(errno));
		goto out;
	}
	struct jv *root = image_index_load(s, im.d);
	if (!root) {
		r = -EINVAL;
		goto out;
	}
	im.images = jv_get(root, "images");
	if (exists_in(im.src, "oci-layout") && exists_in(im.src, "index.json"))
		r = import_oci(&im);
	else if (exists_in(im.src, "manifest.json"))
		r = import_docker(&im);
	else
		r = image_err(s, -EINVAL,
			      "%s: not an image: neither an OCI layout (oci-layout, index.json) "
			      "nor a docker save archive (manifest.json)",
			      path);
	if (r < 0)
		goto out;
	struct jv *dropped = jv_new(im.d, JV_ARRAY);
	if (!dropped) {
		r = -ENOMEM;
		goto out;
	}
	/* layers of images whose names moved here, unless this import uses them */
	image_index_gc(s, im.images, dropped);
	if ((r = image_index_save(s, root)) < 0)
		goto out;
	if (digests) {
		char **v = calloc(jv_count(im.imported) + 1, sizeof(char *));
		size_t i = 0;
		for (struct jv *c = jv_first(im.imported); v && c; c = c->next)
			if (!(v[i++] = strdup(c->s)))
				break;
		*digests = v;
	}
out:
	if (r < 0 && r != -ENOMEM && !s->err[0])
		image_err(s, r, "%s: %s", path, strerror(-r));
	if (r < 0)
		for (struct jv *c = jv_first(im.created); c; c = c->next)
			image_rm_rf(c->s);
	if (tmp[0])
		image_rm_rf(tmp);
	image_unlock(s);
	free(im.src_real);
	jv_doc_free(im.d);
	return r;
}
