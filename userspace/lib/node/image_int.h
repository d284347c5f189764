/* SPDX-License-Identifier: Apache-2.0 */
/* image_int: what the image store's files share (not part of the API). */
#ifndef DROVER_NODE_IMAGE_INT_H
#define DROVER_NODE_IMAGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jv;
struct jv_doc;

struct image_store {
	char *root; /* realpath of the store's root */
	int lock_fd;
	char err[1024];
};

/* ---- image.c: the store's files and index ---- */
/* flock op (LOCK_EX, LOCK_SH) on the store's lock file; 0 or -errno (error set). */
int image_lock(struct image_store *s, int op);
void image_unlock(struct image_store *s);
/* A JSON file parsed into d; with want_hex its sha256 must be that; what names it in errors.
 * NULL with the store's error set. */
struct jv *image_load_json(struct image_store *s, struct jv_doc *d, const char *path,
			   const char *want_hex, const char *what);
/* A regular file of at most 16 MiB, NUL-terminated; 0 or -errno. */
int image_read_all(const char *path, char **out, size_t *len);
int image_write_atomic(const char *path, const char *buf, size_t len);
/* index.json (an empty index if there is none yet); NULL with the error set. */
struct jv *image_index_load(struct image_store *s, struct jv_doc *d);
int image_index_save(struct image_store *s, const struct jv *root);
/* Remove name from every image record of images. */
void image_drop_name(struct jv *images, const char *name);
/* Move images that had names and lost them all into dropped; remove the layers and blobs
 * that no image left in images uses. */
void image_index_gc(struct image_store *s, struct jv *images, struct jv *dropped);

/* ---- image_import.c ---- */
/* Host architecture as OCI names it (amd64, arm64, ...). */
const char *image_host_arch(void);

bool image_is_hex64(const char *s, size_t len);
/* "sha256:" + 64 lowercase hex digits */
bool image_is_digest(const char *s);
size_t image_ref_repo_len(const char *name);

/* Set the store's error message; returns ret (a -errno) for `return image_err(...)`. */
int image_err(struct image_store *s, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An archive path made relative and checked: no leading '/', no ".."; "." parts dropped;
 * "" for the root. 0, -EINVAL or -ENAMETOOLONG. */
int image_clean_path(const char *p, char *out, size_t outlen);
/* sha256 of a file: hex (65 bytes with NUL); 0 or -errno. */
int image_sha256_file(const char *path, char hex[65], uint64_t *size);
/* Check a layer blob: its sha256 (want_blob, HEX or NULL) and that of its uncompressed tar
 * (want_diff, HEX or NULL); got_blob gets the blob's sha256, size its bytes. 0, or -EINVAL with the store's error set. */
int image_layer_verify(struct image_store *s, const char *blob, const char *want_blob,
		       const char *want_diff, char got_blob[65], uint64_t *size);
/* Unpack a layer tar (any compression) into dir (which exists, empty), whiteouts made
 * overlayfs whiteouts. 0, or -errno with the store's error set. */
int image_layer_unpack(struct image_store *s, const char *blob, const char *dir);
/* Extract an outer archive (OCI archive, docker save) into dir: regular files and dirs
 * only. 0, or -errno with the store's error set. */
int image_archive_extract(struct image_store *s, const char *path, const char *dir);
/* rm -rf without following symlinks; 0 or -errno (ENOENT is 0). */
int image_rm_rf(const char *path);

#endif
