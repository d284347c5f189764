/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image: the node's local image store. No registry is reachable, so images come in by import
 * (as k3s's air-gapped images): an OCI image layout directory, an OCI archive (a tar of one)
 * or a `docker save` / `podman save` archive. Every blob is checked against its digest (and a
 * docker layer against its diffID) before it is used.
 *
 * On disk, under root (default IMAGE_STORE_ROOT):
 *   lock                  flock: exclusive for import/remove, shared for readers
 *   index.json            the image records: digest, config digest, names, layer diffIDs
 *   blobs/sha256/HEX      manifests and configs
 *   layers/HEX/           one layer unpacked, named by its diffID, shared by every image that
 *                         has it; OCI whiteouts are overlayfs whiteouts (char 0/0, opaque
 *                         xattr) so that an overlay of an image's layer dirs is its rootfs
 *   tmp/                  work space of imports in progress
 *
 * Names are normalised as containerd/Kubernetes do (busybox -> docker.io/library/busybox:latest).
 * A store handle is used by one thread at a time; several processes may share a root.
 */
#ifndef DROVER_NODE_IMAGE_H
#define DROVER_NODE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_STORE_ROOT "/var/lib/drover/images"
#define IMAGE_REF_MAX	 512

struct image_store;

/* What a runtime needs of an image (from its config), and its layer dirs bottom -> top. */
struct image_info {
	char *digest;	     /* manifest digest, sha256:HEX (the image's identity) */
	char *config_digest; /* sha256:HEX of the config blob */
	char **names;	     /* normalised names; NULL-terminated (may be empty) */
	char **entrypoint;   /* NULL when the config has none; else NULL-terminated */
	char **cmd;
	char **env;	      /* NULL-terminated, "K=V" */
	char *working_dir;    /* NULL if unset */
	char *user;	      /* NULL if unset */
	char **exposed_ports; /* "80/tcp"; NULL-terminated */
	char **layers;	      /* absolute layer dirs, bottom -> top; NULL-terminated */
	size_t n_layers;
	uint64_t size; /* bytes of the layer blobs as imported */
};

void image_info_free(struct image_info *info);
void image_strv_free(char **v);

/* Normalise a reference as containerd does (docker/distribution's ParseNormalizedNamed plus
 * the default tag): "busybox" -> "docker.io/library/busybox:latest", "localhost/x:y",
 * "name@sha256:HEX" (no default tag then). 0, -EINVAL (err gets the reason, Docker's words)
 * or -ENAMETOOLONG. As in Go, "sha256:HEX" parses as a name with a tag: callers that take
 * image IDs too (image_store_resolve) check for a digest first. */
int image_ref_normalize(const char *ref, char *out, size_t outlen, char *err, size_t errlen);

/* Open (creating its directories) the store under root (NULL: IMAGE_STORE_ROOT). NULL with
 * errno on failure. */
struct image_store *image_store_open(const char *root);
void image_store_close(struct image_store *s);
/* The last error's message (one line), "" if none. */
const char *image_store_error(const struct image_store *s);
/* The store's root, as resolved (realpath). */
const char *image_store_root(const struct image_store *s);

/* Import path (a layout dir or an archive file); tags (n_tags, may be 0) are extra names,
 * allowed only when the input holds one image. *digests (may be NULL) gets the imported
 * images' digests (free with image_strv_free). 0 or -errno (-EINVAL: bad input, message in
 * image_store_error). Nothing of a failed import stays in the store. */
int image_store_import(struct image_store *s, const char *path, const char *const *tags,
		       size_t n_tags, char ***digests);
/* Find an image by name (normalised first), name@digest, or its digest (sha256:HEX, also the
 * config digest, as crictl shows image IDs). 0, -ENOENT, -EINVAL (bad reference). */
int image_store_resolve(struct image_store *s, const char *ref, struct image_info **out);
/* Every image, sorted by first name (unnamed last, by digest). */
int image_store_list(struct image_store *s, struct image_info ***out, size_t *n);
void image_info_list_free(struct image_info **v, size_t n);
/* Remove a name; an image whose last name goes is removed, and with it every layer no other
 * image uses. A digest reference removes the image with all its names. 0, -ENOENT, -EINVAL. */
int image_store_remove(struct image_store *s, const char *ref);

#endif
