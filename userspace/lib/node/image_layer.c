/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_layer: the image store's archive work, all through libarchive: checking a layer blob
 * against its digest and diffID, unpacking a layer with its whiteouts made overlayfs ones, and
 * extracting an outer image archive. Every path of an archive is checked: absolute paths,
 * ".." and writes through symlinks are refused (ARCHIVE_EXTRACT_SECURE_* plus our own checks,
 * and whiteouts are made through O_NOFOLLOW directory fds).
 */
#include "image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

static void hex_of(const unsigned char md[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void image_sha256_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, md);
	hex_of(md, hex);
}

/* A libarchive read callback that hashes the raw (compressed) bytes as they pass. */
struct hashed_in {
	int fd;
	gnutls_hash_hd_t h;
	uint64_t total;
	char buf[BLOCK];
};

static la_ssize_t hashed_read(struct archive *a, void *u, const void **out)
{
	struct hashed_in *in = u;
	ssize_t n;
	do
		n = read(in->fd, in->buf, sizeof(in->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read: %s", strerror(errno));
		return -1;
	}
	gnutls_hash(in->h, in->buf, (size_t)n);
	in->total += (uint64_t)n;
	*out = in->buf;
	return n;
}

int image_layer_verify(struct image_store *s, const char *blob, const char *want_blob,
		       const char *want_diff, char out_blob[65], uint64_t *size)
{
	uint64_t total = 0;
	struct hashed_in *in = calloc(1, sizeof(*in));
	gnutls_hash_hd_t dh = NULL;
	struct archive *a = NULL;
	struct archive_entry *e;
	unsigned char md[32];
	char got_blob[65], got_diff[65];
	int ret = 0, broken = 0, r;

	if (!in)
		return -ENOMEM;
	in->fd = open(blob, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0) {
		ret = image_err(s, -errno, "layer %s: %s", blob, strerror(errno));
		free(in);
		return ret;
	}
	if (gnutls_hash_init(&in->h, GNUTLS_DIG_SHA256) < 0 ||
	    gnutls_hash_init(&dh, GNUTLS_DIG_SHA256) < 0) {
		ret = -ENOMEM;
		goto out_fd;
	}
	a = archive_read_new();
	if (!a) {
		ret = -ENOMEM;
		goto out_hash;
	}
	/* raw: the decompressed stream itself, whose sha256 is the diffID */
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	archive_read_support_format_empty(a);
	/* A broken stream is reported only after the blob's digest: a wrong digest says more. */
	if (archive_read_open(a, in, NULL, hashed_read, NULL) != ARCHIVE_OK) {
		broken = image_err(s, -EINVAL, "layer %s: truncated or corrupt: %s", blob,
				   archive_error_string(a));
		goto drain;
	}
	r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_OK) {
		const void *buf;
		size_t len;
		int64_t off;
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
			gnutls_hash(dh, buf, len);
		if (r != ARCHIVE_EOF)
			broken = image_err(s, -EINVAL, "layer %s: truncated or corrupt: %s", blob,
					   archive_error_string(a));
	} else if (r != ARCHIVE_EOF) {
		broken = image_err(s, -EINVAL, "layer %s: truncated or corrupt: %s", blob,
				   archive_error_string(a));
	}
drain:
	/* what the decompressor left unread still belongs to the blob's digest */
	for (ssize_t n; (n = read(in->fd, in->buf, sizeof(in->buf))) > 0;) {
		gnutls_hash(in->h, in->buf, (size_t)n);
		in->total += (uint64_t)n;
	}
	archive_read_free(a);
out_hash:
	if (dh) {
		gnutls_hash_deinit(dh, md);
		hex_of(md, got_diff);
	}
	gnutls_hash_deinit(in->h, md);
	hex_of(md, got_blob);
out_fd:
	total = in->total;
	close(in->fd);
	free(in);
	if (ret)
		return ret;
	if (out_blob)
		memcpy(out_blob, got_blob, 65);
	if (size)
		*size = total;
	if (want_blob && strcmp(want_blob, got_blob) != 0)
		return image_err(s, -EINVAL,
				 "layer %s: digest mismatch: want sha256:%s, got sha256:%s", blob,
				 want_blob, got_blob);
	if (broken)
		return broken;
	if (want_diff && strcmp(want_diff, got_diff) != 0)
		return image_err(s, -EINVAL,
				 "layer %s: diffID mismatch: want sha256:%s, got sha256:%s", blob,
				 want_diff, got_diff);
	return 0;
}

int image_clean_path(const char *p, char *out, size_t outlen)
{
	size_t o = 0;
	if (p[0] == '/')
		return -EINVAL;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (n && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > outlen)
				return -ENAMETOOLONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	out[o] = '\0';
	return 0;
}

/* Open dir/rel as a directory, creating missing parts (0755), never following a symlink. */
static int open_dir_nofollow(const char *dir, const char *rel)
{
	char part[PATH_MAX];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (*rel) {
		const char *e = strchrnul(rel, '/');
		size_t n = (size_t)(e - rel);
		if (n >= sizeof(part)) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(part, rel, n);
		part[n] = '\0';
		if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST) {
			int err = -errno;
			close(fd);
			return err;
		}
		int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = -errno;
		close(fd);
		if (next < 0)
			return err;
		fd = next;
		rel = *e ? e + 1 : e;
	}
	return fd;
}

/* .wh..wh..opq: the parent is opaque; .wh.NAME: NAME is deleted (a 0/0 char device). */
static int whiteout(struct image_store *s, const char *dir, const char *clean, const char *base)
{
	char parent[PATH_MAX];
	size_t pn = (size_t)(base - clean);
	memcpy(parent, clean, pn);
	parent[pn ? pn - 1 : 0] = '\0';
	int dfd = open_dir_nofollow(dir, parent);
	if (dfd == -ENOTDIR || dfd == -ELOOP) /* a symlink or a file on the way */
		return image_err(s, -EINVAL, "layer entry %s: not below a directory of the layer",
				 clean);
	if (dfd < 0)
		return image_err(s, dfd, "layer entry %s: %s", clean, strerror(-dfd));
	int ret = 0;
	if (strcmp(base, ".wh..wh..opq") == 0) {
		if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			ret = image_err(s, -errno, "layer entry %s: opaque xattr: %s", clean,
					strerror(errno));
	} else if (strncmp(base, ".wh..wh.", 8) != 0) { /* other .wh..wh.* is aufs metadata */
		const char *name = base + 4;
		if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			ret = image_err(s, -EINVAL, "layer entry %s: bad whiteout", clean);
		} else {
			if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
				ret = image_err(s, -errno, "layer entry %s: %s", clean,
						strerror(errno));
			else if (mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
				ret = image_err(s, -errno, "layer entry %s: whiteout: %s", clean,
						strerror(errno));
		}
	}
	close(dfd);
	return ret;
}

/* 0, or which side failed: 1 reading (a truncated or corrupt archive), 2 writing. */
static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t len;
	int64_t off;
	int r;
	while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, len, off) < ARCHIVE_OK)
			return 2;
	return r == ARCHIVE_EOF ? 0 : 1;
}

/* overlayfs reads its own trusted.overlay.* xattrs from the layer dirs: a layer must not
 * bring them (whiteouts and opaque dirs come only from .wh. entries). Others are kept. */
static int drop_overlay_xattrs(struct archive_entry *e)
{
	int n = archive_entry_xattr_reset(e), k = 0, ret = 0;
	const char *name;
	const void *val;
	size_t size;
	bool any = false;
	if (n <= 0)
		return 0;
	struct {
		char *name;
		void *val;
		size_t size;
	} *keep = calloc((size_t)n, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (strncmp(name, "trusted.overlay.", 16) == 0) {
			any = true;
			continue;
		}
		if (k == n)
			break;
		keep[k].name = strdup(name);
		keep[k].val = malloc(size ? size : 1);
		keep[k].size = size;
		if (!keep[k].name || !keep[k].val) {
			free(keep[k].name);
			free(keep[k].val);
			ret = -ENOMEM;
			break;
		}
		memcpy(keep[k].val, val, size);
		k++;
	}
	if (any && !ret) {
		archive_entry_xattr_clear(e);
		for (int i = 0; i < k; i++)
			archive_entry_xattr_add_entry(e, keep[i].name, keep[i].val, keep[i].size);
	}
	for (int i = 0; i < k; i++) {
		free(keep[i].name);
		free(keep[i].val);
	}
	free(keep);
	return ret;
}

/* Write one entry below dir with its path (and a hardlink's target) checked and rebased. */
static int write_entry(struct image_store *s, struct archive *a, struct archive *w,
		       struct archive_entry *e, const char *dir, const char *clean)
{
	char full[PATH_MAX], link[PATH_MAX], lclean[PATH_MAX];
	const char *hl = archive_entry_hardlink(e);
	if (snprintf(full, sizeof(full), "%s/%s", dir, clean) >= (int)sizeof(full))
		return image_err(s, -ENAMETOOLONG, "entry %s: path too long", clean);
	archive_entry_set_pathname(e, full);
	if (drop_overlay_xattrs(e) < 0)
		return -ENOMEM;
	if (hl) {
		if (image_clean_path(hl, lclean, sizeof(lclean)) < 0 || !*lclean)
			return image_err(s, -EINVAL, "entry %s: hardlink to %s leaves the layer",
					 clean, hl);
		if (snprintf(link, sizeof(link), "%s/%s", dir, lclean) >= (int)sizeof(link))
			return image_err(s, -ENAMETOOLONG, "entry %s: path too long", clean);
		archive_entry_set_hardlink(e, link);
	}
	if (archive_write_header(w, e) < ARCHIVE_WARN)
		return image_err(s, -EINVAL, "entry %s: %s", clean, archive_error_string(w));
	int side = archive_entry_size(e) > 0 ? copy_data(a, w) : 0;
	if (side == 1)
		return image_err(s, -EINVAL, "entry %s: truncated or corrupt archive: %s", clean,
				 archive_error_string(a));
	if (side == 2)
		return image_err(s, -EIO, "entry %s: %s", clean, archive_error_string(w));
	if (archive_write_finish_entry(w) < ARCHIVE_WARN)
		return image_err(s, -EINVAL, "entry %s: %s", clean, archive_error_string(w));
	return 0;
}

/* Read the archive at path entry by entry; layer: whiteouts and every file type, else
 * regular files and directories only. */
static int extract(struct image_store *s, const char *path, const char *dir, bool layer)
{
	char clean[PATH_MAX];
	struct archive_entry *e;
	int ret = 0, r;
	struct archive *a = archive_read_new();
	struct archive *w = archive_write_disk_new();
	if (!a || !w) {
		ret = -ENOMEM;
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(
	    w, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		   (layer ? ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
				ARCHIVE_EXTRACT_XATTR
			  : 0));
	if (archive_read_open_filename(a, path, BLOCK) != ARCHIVE_OK) {
		ret = image_err(s, -EINVAL, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		if (!p || image_clean_path(p, clean, sizeof(clean)) < 0) {
			ret = image_err(s, -EINVAL, "%s: entry %s leaves the archive's root", path,
					p ? p : "(no name)");
			goto out;
		}
		if (!*clean)
			continue;
		const char *base = strrchr(clean, '/');
		base = base ? base + 1 : clean;
		if (layer && strncmp(base, ".wh.", 4) == 0) {
			if ((ret = whiteout(s, dir, clean, base)) < 0)
				goto out;
			continue;
		}
		mode_t type = archive_entry_filetype(e);
		if (!layer && type != AE_IFREG && type != AE_IFDIR)
			continue; /* an image archive's links are never needed: blobs are files */
		if ((ret = write_entry(s, a, w, e, dir, clean)) < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		ret = image_err(s, -EINVAL, "%s: truncated or corrupt archive: %s", path,
				archive_error_string(a));
		goto out;
	}
	if (archive_write_close(w) != ARCHIVE_OK)
		ret = image_err(s, -EIO, "%s: %s", path, archive_error_string(w));
out:
	archive_read_free(a);
	archive_write_free(w);
	return ret;
}

int image_layer_unpack(struct image_store *s, const char *blob, const char *dir)
{
	return extract(s, blob, dir, true);
}

int image_archive_extract(struct image_store *s, const char *path, const char *dir)
{
	return extract(s, path, dir, false);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP ? rmdir(p) : unlink(p))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int image_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	int r = nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return r < 0 ? -errno : r;
}
