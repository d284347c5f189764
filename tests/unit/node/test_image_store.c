/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store against layouts and archives this test writes with libarchive: whiteouts
 * across two layers (checked through a real overlay mount in a private mount namespace),
 * hardlinks, symlinks, modes and owners; bad digests, a truncated gzip, path traversal and
 * symlink escapes refused with nothing left behind; layers shared and unpacked once; removal
 * freeing layers; a docker-save archive (a layer symlinked out of it refused); names moving
 * between images, list order, --tag refused for two images; concurrent importers. Needs root
 * (mknod, trusted.*).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image.h"

/* ---- writing test images ---- */

struct ent {
	char type; /* f file, d dir, l symlink, h hardlink, c char device, x dir with xattrs */
	const char *path;
	const char *data; /* file contents, or link target */
	mode_t mode;
	uid_t uid;
};

static char *tmpdir;

static int gzip_level = 6;

/* A tar of ents into a malloc'd buffer; gzip'd (at gzip_level) if asked. */
static void make_tar(const struct ent *e, size_t n, bool gz, char **out, size_t *len)
{
	size_t cap = 1 << 20, used = 0;
	char *buf = malloc(cap);
	struct archive *a = archive_write_new();
	assert_non_null(buf);
	archive_write_set_format_pax_restricted(a);
	if (gz) {
		char level[4];
		snprintf(level, sizeof(level), "%d", gzip_level);
		archive_write_add_filter_gzip(a);
		assert_int_equal(
		    archive_write_set_filter_option(a, "gzip", "compression-level", level),
		    ARCHIVE_OK);
	}
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_uid(ae, e[i].uid);
		archive_entry_set_gid(ae, e[i].uid);
		archive_entry_set_mtime(ae, 1000000, 0);
		switch (e[i].type) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, e[i].mode ? e[i].mode : 0644);
			archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
			break;
		case 'x': /* an overlay xattr a layer must not bring, and one it may */
			archive_entry_xattr_add_entry(ae, "trusted.overlay.opaque", "y", 1);
			archive_entry_xattr_add_entry(ae, "user.drover", "kept", 4);
			__attribute__((fallthrough));
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, e[i].mode ? e[i].mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_set_symlink(ae, e[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_hardlink(ae, e[i].data);
			archive_entry_set_size(ae, 0);
			break;
		case 'c':
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_perm(ae, 0666);
			archive_entry_set_rdev(ae, makedev(1, 3));
			break;
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].type == 'f')
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*out = buf;
	*len = used;
}

static void sha_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, md);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A layer: its blob bytes (gzip'd), its blob digest and diffID. */
struct layer {
	char *blob;
	size_t len;
	char hex[65], diff[65];
};

static void make_layer(struct layer *l, const struct ent *e, size_t n)
{
	char *raw;
	size_t rlen;
	make_tar(e, n, false, &raw, &rlen);
	sha_hex(raw, rlen, l->diff);
	free(raw);
	make_tar(e, n, true, &l->blob, &l->len);
	sha_hex(l->blob, l->len, l->hex);
}

static void put_blob(const char *dir, const void *buf, size_t len, char hex[65])
{
	char path[PATH_MAX];
	sha_hex(buf, len, hex);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, hex);
	write_file(path, buf, len);
}

static void mkdirs(const char *path)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static const char *CONFIG_FMT =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/app\"],"
    "\"Cmd\":[\"--flag\",\"x\"],\"Env\":[\"PATH=/bin\",\"A=b\"],\"WorkingDir\":\"/work\","
    "\"User\":\"1000:1000\",\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}";

/* An OCI layout at dir of the layers, named name (may be NULL). */
static void make_oci(const char *dir, struct layer *ls, size_t n, const char *name)
{
	char path[PATH_MAX], hex[65], chex[65], diffs[1024] = "", descs[2048] = "";
	char buf[8192];
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	mkdirs(path);
	for (size_t i = 0; i < n; i++) {
		put_blob(dir, ls[i].blob, ls[i].len, hex);
		snprintf(diffs + strlen(diffs), sizeof(diffs) - strlen(diffs), "%s\"sha256:%s\"",
			 i ? "," : "", ls[i].diff);
		snprintf(descs + strlen(descs), sizeof(descs) - strlen(descs),
			 "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
			 "\"digest\":\"sha256:%s\",\"size\":%zu}",
			 i ? "," : "", ls[i].hex, ls[i].len);
	}
	int k = snprintf(buf, sizeof(buf), CONFIG_FMT, diffs);
	put_blob(dir, buf, (size_t)k, chex);
	k = snprintf(buf, sizeof(buf),
		     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
		     "vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%s\",\"size\":1},"
		     "\"layers\":[%s]}",
		     chex, descs);
	put_blob(dir, buf, (size_t)k, hex);
	k = snprintf(
	    buf, sizeof(buf),
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
	    "vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%d%s%s%s}]}",
	    hex, k, name ? ",\"annotations\":{\"io.containerd.image.name\":\"" : "",
	    name ? name : "", name ? "\"}" : "");
	snprintf(path, sizeof(path), "%s/index.json", dir);
	write_file(path, buf, (size_t)k);
	snprintf(path, sizeof(path), "%s/oci-layout", dir);
	write_file(path, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
}

/* The manifest digest (HEX) an OCI layout's index.json names first. */
static void first_manifest(const char *dir, char hex[65])
{
	char p[PATH_MAX], buf[4096];
	snprintf(p, sizeof(p), "%s/index.json", dir);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *d = strstr(buf, "sha256:");
	assert_non_null(d);
	snprintf(hex, 65, "%.64s", d + 7);
}

static void free_layers(struct layer *ls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ls[i].blob);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static char *path_of(const char *fmt, const char *a)
{
	static char buf[4][PATH_MAX];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), fmt, tmpdir, a);
	return buf[k];
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	size_t n = 0;
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int setup(void **state)
{
	char t[] = "/tmp/drover-image-test.XXXXXX";
	(void)state;
	if (!mkdtemp(t))
		return -1;
	tmpdir = strdup(t);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	free(tmpdir);
	return 0;
}

/* ---- the tests ---- */

static const struct ent L1[] = {
    {'d', "a", NULL, 0755, 0},	       {'f', "a/f1", "one", 0640, 1234},
    {'f', "a/f2", "two", 0, 0},	       {'d', "d", NULL, 0750, 0},
    {'f', "d/x", "x", 0, 0},	       {'f', "keep", "kept", 0600, 0},
    {'h', "hard", "keep", 0, 0},       {'l', "sym", "keep", 0, 0},
    {'l', "abs", "/etc/passwd", 0, 0}, {'c', "null", NULL, 0, 0},
    {'x', "xd", NULL, 0, 0},
};
static const struct ent L2[] = {
    {'f', "a/.wh.f1", "", 0, 0},
    {'f', "d/.wh..wh..opq", "", 0, 0},
    {'f', "d/y", "y", 0, 0},
};

static struct image_store *fresh_store(const char *name)
{
	char root[PATH_MAX];
	snprintf(root, sizeof(root), "%s/%s", tmpdir, name);
	rm_rf(root);
	struct image_store *s = image_store_open(root);
	assert_non_null(s);
	return s;
}

static void test_layers_and_whiteouts(void **state)
{
	struct layer ls[2];
	struct stat st, st2;
	char buf[64];
	(void)state;
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_layer(&ls[1], L2, sizeof(L2) / sizeof(L2[0]));
	make_oci(path_of("%s/%s", "oci1"), ls, 2, "example.com/app:1");
	struct image_store *s = fresh_store("store1");
	char **digests = NULL;
	int r = image_store_import(s, path_of("%s/%s", "oci1"), NULL, 0, &digests);
	if (r)
		fail_msg("import: %s", image_store_error(s));
	assert_non_null(digests);
	assert_non_null(digests[0]);
	assert_null(digests[1]);

	struct image_info *info;
	assert_int_equal(image_store_resolve(s, "example.com/app:1", &info), 0);
	assert_string_equal(info->digest, digests[0]);
	assert_string_equal(info->names[0], "example.com/app:1");
	assert_string_equal(info->entrypoint[0], "/bin/app");
	assert_null(info->entrypoint[1]);
	assert_string_equal(info->cmd[1], "x");
	assert_string_equal(info->env[1], "A=b");
	assert_string_equal(info->working_dir, "/work");
	assert_string_equal(info->user, "1000:1000");
	assert_string_equal(info->exposed_ports[0], "80/tcp");
	assert_string_equal(info->exposed_ports[1], "53/udp");
	assert_int_equal(info->n_layers, 2);
	const char *lo = info->layers[0], *hi = info->layers[1];
	/* bottom -> top: the diffIDs in order */
	assert_non_null(strstr(lo, ls[0].diff));
	assert_non_null(strstr(hi, ls[1].diff));

	char p[PATH_MAX];
	/* modes, owners, hardlink, symlinks, devices of the lower layer */
	snprintf(p, sizeof(p), "%s/a/f1", lo);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 1234);
	snprintf(p, sizeof(p), "%s/d", lo);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	snprintf(p, sizeof(p), "%s/keep", lo);
	assert_int_equal(lstat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/hard", lo);
	assert_int_equal(lstat(p, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(st.st_nlink, 2);
	snprintf(p, sizeof(p), "%s/sym", lo);
	assert_int_equal(readlink(p, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	snprintf(p, sizeof(p), "%s/abs", lo);
	assert_int_equal(readlink(p, buf, sizeof(buf)), 11);
	snprintf(p, sizeof(p), "%s/null", lo);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	/* xattrs: the layer's own kept, overlayfs' own dropped */
	snprintf(p, sizeof(p), "%s/xd", lo);
	assert_int_equal(lgetxattr(p, "user.drover", buf, sizeof(buf)), 4);
	assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENODATA);
	/* the upper layer's whiteouts as overlayfs has them */
	snprintf(p, sizeof(p), "%s/a/f1", hi);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	snprintf(p, sizeof(p), "%s/a/.wh.f1", hi);
	assert_int_equal(lstat(p, &st), -1);
	snprintf(p, sizeof(p), "%s/d", hi);
	assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'y');

	/* and the overlay of both is the image's filesystem */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char opts[2 * PATH_MAX + 32], mnt[PATH_MAX];
		snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
		snprintf(opts, sizeof(opts), "lowerdir=%s:%s", hi, lo);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mkdir(mnt, 0755) || mount("overlay", mnt, "overlay", MS_RDONLY, opts))
			_exit(10);
		snprintf(p, sizeof(p), "%s/a/f1", mnt);
		if (access(p, F_OK) == 0 || errno != ENOENT)
			_exit(11); /* whited out */
		snprintf(p, sizeof(p), "%s/a/f2", mnt);
		if (access(p, F_OK) != 0)
			_exit(12);
		snprintf(p, sizeof(p), "%s/d/x", mnt);
		if (access(p, F_OK) == 0)
			_exit(13); /* hidden by the opaque dir */
		snprintf(p, sizeof(p), "%s/d/y", mnt);
		if (access(p, F_OK) != 0)
			_exit(14);
		_exit(0);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	rmdir(path_of("%s/%s", "mnt"));
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		fail_msg("overlay check failed: status %d", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);

	/* by digest, by name@digest, and the config digest (an image ID) */
	struct image_info *o;
	assert_int_equal(image_store_resolve(s, digests[0], &o), 0);
	image_info_free(o);
	snprintf(p, sizeof(p), "example.com/app@%s", digests[0]);
	assert_int_equal(image_store_resolve(s, p, &o), 0);
	image_info_free(o);
	assert_int_equal(image_store_resolve(s, info->config_digest, &o), 0);
	image_info_free(o);
	assert_int_equal(image_store_resolve(s, "example.com/app:2", &o), -ENOENT);
	assert_int_equal(image_store_resolve(s, "Bad", &o), -EINVAL);
	image_info_free(info);
	image_strv_free(digests);
	image_store_close(s);
	free_layers(ls, 2);
}

/* An import that fails leaves the store as it was: no image, no layer, nothing in tmp. */
static void assert_refused(struct image_store *s, const char *path, const char *msg)
{
	int r = image_store_import(s, path, NULL, 0, NULL);
	if (r != -EINVAL)
		fail_msg("%s: import returned %d (%s)", path, r, image_store_error(s));
	if (!strstr(image_store_error(s), msg))
		fail_msg("%s: error '%s' lacks '%s'", path, image_store_error(s), msg);
	struct image_info **v;
	size_t n;
	assert_int_equal(image_store_list(s, &v, &n), 0);
	assert_int_equal(n, 0);
	image_info_list_free(v, n);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/layers", image_store_root(s));
	assert_int_equal(count_dir(p), 0);
	snprintf(p, sizeof(p), "%s/tmp", image_store_root(s));
	assert_int_equal(count_dir(p), 0);
}

static void test_bad_inputs(void **state)
{
	struct layer ls[2];
	char p[PATH_MAX];
	(void)state;
	struct image_store *s = fresh_store("store2");

	/* a layer blob whose bytes do not match its digest: the same tar compressed otherwise,
	 * so its diffID is right and only the digest tells (the second layer: the first one,
	 * unpacked already, must go again) */
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_layer(&ls[1], L2, sizeof(L2) / sizeof(L2[0]));
	make_oci(path_of("%s/%s", "bad1"), ls, 2, "bad:1");
	struct layer other;
	gzip_level = 1;
	make_layer(&other, L2, sizeof(L2) / sizeof(L2[0]));
	gzip_level = 6;
	assert_string_equal(other.diff, ls[1].diff);
	assert_string_not_equal(other.hex, ls[1].hex);
	snprintf(p, sizeof(p), "%s/bad1/blobs/sha256/%s", tmpdir, ls[1].hex);
	write_file(p, other.blob, other.len);
	free(other.blob);
	assert_refused(s, path_of("%s/%s", "bad1"), "digest mismatch");
	free_layers(ls, 2);

	/* a corrupt byte: digest mismatch too, not a gzip error */
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_oci(path_of("%s/%s", "bad1b"), ls, 1, "bad:1b");
	snprintf(p, sizeof(p), "%s/bad1b/blobs/sha256/%s", tmpdir, ls[0].hex);
	ls[0].blob[ls[0].len / 2] ^= 1;
	write_file(p, ls[0].blob, ls[0].len);
	assert_refused(s, path_of("%s/%s", "bad1b"), "digest mismatch");
	free_layers(ls, 1);

	/* a truncated gzip whose digest is right: the layer's stream is broken */
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	ls[0].len -= 30;
	sha_hex(ls[0].blob, ls[0].len, ls[0].hex);
	make_oci(path_of("%s/%s", "bad2"), ls, 1, "bad:2");
	assert_refused(s, path_of("%s/%s", "bad2"), "truncated or corrupt");
	free_layers(ls, 1);

	/* a diffID that is not the layer's */
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	memcpy(ls[0].diff, "00000000", 8);
	make_oci(path_of("%s/%s", "bad3"), ls, 1, "bad:3");
	assert_refused(s, path_of("%s/%s", "bad3"), "diffID mismatch");
	free_layers(ls, 1);

	/* path traversal, a write through a symlink, a hardlink out of the layer */
	static const struct ent dotdot[] = {{'f', "a/../../escaped", "x", 0, 0}};
	const struct ent viasym[] = {{'l', "link", tmpdir, 0, 0},
				     {'f', "link/drover-image-escaped", "x", 0, 0}};
	static const struct ent hl[] = {{'h', "h", "../../../etc/passwd", 0, 0}};
	static const struct ent abs[] = {{'f', "/abs-escaped", "x", 0, 0}};
	const struct ent wh[] = {{'l', "w", tmpdir, 0, 0},
				 {'f', "w/.wh.drover-image-victim", "", 0, 0}};
	const struct {
		const struct ent *e;
		size_t n;
		const char *msg;
	} evil[] = {
	    {dotdot, 1, "leaves the archive's root"},
	    {viasym, 2, "link/drover-image-escaped"},
	    {hl, 1, "leaves the layer"},
	    {abs, 1, "leaves the archive's root"},
	    {wh, 2, "w/.wh.drover-image-victim"},
	};
	write_file(path_of("%s/%s", "drover-image-victim"), "v", 1);
	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		make_layer(&ls[0], evil[i].e, evil[i].n);
		char name[32];
		snprintf(name, sizeof(name), "evil%zu", i);
		make_oci(path_of("%s/%s", name), ls, 1, "evil:1");
		assert_refused(s, path_of("%s/%s", name), evil[i].msg);
		free_layers(ls, 1);
	}
	assert_int_equal(access(path_of("%s/%s", "drover-image-escaped"), F_OK), -1);
	assert_int_equal(access(path_of("%s/%s", "escaped"), F_OK), -1);
	struct stat st;
	assert_int_equal(lstat(path_of("%s/%s", "drover-image-victim"), &st), 0);
	assert_true(S_ISREG(st.st_mode));

	/* not an image at all; an archive that is not a tar; a truncated OCI archive */
	mkdirs(path_of("%s/%s", "empty"));
	assert_refused(s, path_of("%s/%s", "empty"), "not an image");
	write_file(path_of("%s/%s", "junk.tar"), "hello, not a tar\n", 17);
	assert_refused(s, path_of("%s/%s", "junk.tar"), "junk.tar");
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_oci(path_of("%s/%s", "good"), ls, 1, "good:1");
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd),
		 "tar -C '%s/good' -cf '%s/good.tar' . && truncate -s 3000 '%s/good.tar'", tmpdir,
		 tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	assert_refused(s, path_of("%s/%s", "good.tar"), "truncated or corrupt");
	/* a bad --tag is refused before anything is read */
	const char *tags[] = {"Bad:tag"};
	assert_int_equal(image_store_import(s, path_of("%s/%s", "good"), tags, 1, NULL), -EINVAL);
	assert_non_null(strstr(image_store_error(s), "must be lowercase"));
	free_layers(ls, 1);
	image_store_close(s);
}

static void test_shared_layers_and_remove(void **state)
{
	static const struct ent L3[] = {{'f', "three", "3", 0, 0}};
	struct layer ls[3];
	struct stat st;
	char p[PATH_MAX], marker[PATH_MAX];
	(void)state;
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_layer(&ls[1], L2, sizeof(L2) / sizeof(L2[0]));
	make_layer(&ls[2], L3, 1);
	make_oci(path_of("%s/%s", "imgA"), ls, 2, "a:1");
	struct layer b[2] = {ls[0], ls[2]};
	make_oci(path_of("%s/%s", "imgB"), b, 2, "b:1");
	struct image_store *s = fresh_store("store3");
	snprintf(p, sizeof(p), "%s/layers", image_store_root(s));
	assert_int_equal(image_store_import(s, path_of("%s/%s", "imgA"), NULL, 0, NULL), 0);
	assert_int_equal(count_dir(p), 2);
	/* a mark in the shared layer: were it unpacked again, the mark would be gone */
	snprintf(marker, sizeof(marker), "%s/%s/marker", p, ls[0].diff);
	write_file(marker, "m", 1);
	const char *tags[] = {"b:extra"};
	assert_int_equal(image_store_import(s, path_of("%s/%s", "imgB"), tags, 1, NULL), 0);
	assert_int_equal(count_dir(p), 3);
	assert_int_equal(stat(marker, &st), 0);
	/* importing the same image again changes nothing */
	assert_int_equal(image_store_import(s, path_of("%s/%s", "imgA"), NULL, 0, NULL), 0);
	assert_int_equal(stat(marker, &st), 0);

	struct image_info **v;
	size_t n;
	assert_int_equal(image_store_list(s, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->names[0], "docker.io/library/a:1");
	assert_string_equal(v[1]->names[0], "docker.io/library/b:1");
	assert_string_equal(v[1]->names[1], "docker.io/library/b:extra");
	image_info_list_free(v, n);

	/* a removes: its own layer goes, the shared one stays for b */
	assert_int_equal(image_store_remove(s, "a:1"), 0);
	assert_int_equal(image_store_remove(s, "a:1"), -ENOENT);
	assert_int_equal(count_dir(p), 2);
	assert_int_equal(stat(marker, &st), 0);
	snprintf(marker, sizeof(marker), "%s/%s", p, ls[1].diff);
	assert_int_equal(stat(marker, &st), -1);
	/* b has two names: removing one keeps the image */
	assert_int_equal(image_store_remove(s, "b:1"), 0);
	assert_int_equal(count_dir(p), 2);
	struct image_info *info;
	assert_int_equal(image_store_resolve(s, "b:extra", &info), 0);
	/* by digest: all names and every layer */
	assert_int_equal(image_store_remove(s, info->digest), 0);
	image_info_free(info);
	assert_int_equal(count_dir(p), 0);
	snprintf(p, sizeof(p), "%s/blobs/sha256", image_store_root(s));
	assert_int_equal(count_dir(p), 0);
	assert_int_equal(image_store_list(s, &v, &n), 0);
	assert_int_equal(n, 0);
	image_info_list_free(v, n);
	image_store_close(s);
	free_layers(ls, 3);
}

/* docker save: manifest.json, HEX.json config, ID/layer.tar (uncompressed), as a tar. */
static void test_docker_archive(void **state)
{
	char dir[256], p[PATH_MAX], chex[65], cfg[4096], buf[4096], *raw;
	size_t rlen;
	struct layer l;
	(void)state;
	snprintf(dir, sizeof(dir), "%s/docker", tmpdir);
	snprintf(p, sizeof(p), "%s/0a1b/", dir);
	mkdirs(p);
	make_tar(L1, sizeof(L1) / sizeof(L1[0]), false, &raw, &rlen);
	sha_hex(raw, rlen, l.diff);
	snprintf(p, sizeof(p), "%s/0a1b/layer.tar", dir);
	write_file(p, raw, rlen);
	char diffs[80];
	snprintf(diffs, sizeof(diffs), "\"sha256:%s\"", l.diff);
	int k = snprintf(cfg, sizeof(cfg), CONFIG_FMT, diffs);
	sha_hex(cfg, (size_t)k, chex);
	snprintf(p, sizeof(p), "%s/%s.json", dir, chex);
	write_file(p, cfg, (size_t)k);
	k = snprintf(buf, sizeof(buf),
		     "[{\"Config\":\"%s.json\",\"RepoTags\":[\"busybox:saved\",\"quay.io/x/y:z\"],"
		     "\"Layers\":[\"0a1b/layer.tar\"]}]",
		     chex);
	snprintf(p, sizeof(p), "%s/manifest.json", dir);
	write_file(p, buf, (size_t)k);
	snprintf(buf, sizeof(buf), "tar -C '%s' -cf '%s.tar' .", dir, dir);
	assert_int_equal(system(buf), 0);

	struct image_store *s = fresh_store("store4");
	snprintf(p, sizeof(p), "%s.tar", dir);
	int r = image_store_import(s, p, NULL, 0, NULL);
	if (r)
		fail_msg("import: %s", image_store_error(s));
	struct image_info *info;
	assert_int_equal(image_store_resolve(s, "busybox:saved", &info), 0);
	assert_string_equal(info->names[1], "quay.io/x/y:z");
	snprintf(p, sizeof(p), "sha256:%s", chex);
	assert_string_equal(info->config_digest, p);
	assert_int_equal(info->n_layers, 1);
	snprintf(p, sizeof(p), "%s/a/f2", info->layers[0]);
	assert_int_equal(access(p, F_OK), 0);
	image_info_free(info);

	/* the config's file name is its digest: another config under that name is refused */
	snprintf(p, sizeof(p), "%s/%s.json", dir, chex);
	cfg[strlen(cfg) - 1] = ' ';
	strcat(cfg, "}");
	write_file(p, cfg, strlen(cfg));
	struct image_store *s2 = fresh_store("store5");
	assert_refused(s2, dir, "digest mismatch");
	/* a layer that is not the config's diffID */
	snprintf(p, sizeof(p), "%s/%s.json", dir, chex);
	write_file(p, cfg, (size_t)snprintf(cfg, sizeof(cfg), CONFIG_FMT, diffs));
	snprintf(p, sizeof(p), "%s/0a1b/layer.tar", dir);
	raw[600] ^= 1;
	write_file(p, raw, rlen);
	assert_refused(s2, dir, "diffID mismatch");
	/* a layer that is a symlink out of the layout directory: never read */
	raw[600] ^= 1;
	write_file(path_of("%s/%s", "outside-layer.tar"), raw, rlen);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(path_of("%s/%s", "outside-layer.tar"), p), 0);
	assert_refused(s2, dir, "leaves the layout");
	free(raw);
	image_store_close(s2);
	image_store_close(s);
}

/* An OCI archive (the layout as a tar, also gzip'd) whose index.json names a multi-platform
 * index: the host's manifest is taken, the others are never read. */
static void test_oci_archive_and_index(void **state)
{
	struct layer ls[2];
	char p[PATH_MAX], buf[4096], mhex[65], ihex[65], cmd[3 * PATH_MAX];
	const char *dir = path_of("%s/%s", "multi");
	(void)state;
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_layer(&ls[1], L2, sizeof(L2) / sizeof(L2[0]));
	make_oci(dir, ls, 2, NULL);
	first_manifest(dir, mhex);
#if defined(__x86_64__)
	const char *arch = "amd64";
#elif defined(__aarch64__)
	const char *arch = "arm64";
#else
	const char *arch = "unknown";
#endif
	/* another platform first (its manifest is absent: reading it would fail), then an
	 * attestation manifest as buildkit writes them, then ours */
	int k = snprintf(buf, sizeof(buf),
			 "{\"schemaVersion\":2,\"mediaType\":\"application/"
			 "vnd.oci.image.index.v1+json\",\"manifests\":["
			 "{\"digest\":\"sha256:%064d\",\"size\":1,\"platform\":{\"os\":\"linux\","
			 "\"architecture\":\"s390x\"}},"
			 "{\"digest\":\"sha256:%064d\",\"size\":1,\"platform\":{\"os\":\"unknown\","
			 "\"architecture\":\"unknown\"}},"
			 "{\"digest\":\"sha256:%s\",\"size\":1,\"platform\":{\"os\":\"linux\","
			 "\"architecture\":\"%s\"}}]}",
			 1, 2, mhex, arch);
	put_blob(dir, buf, (size_t)k, ihex);
	k = snprintf(buf, sizeof(buf),
		     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
		     "vnd.oci.image.index.v1+json\",\"digest\":\"sha256:%s\",\"size\":%d,"
		     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi:1\"}}]}",
		     ihex, k);
	snprintf(p, sizeof(p), "%s/index.json", dir);
	write_file(p, buf, (size_t)k);
	snprintf(cmd, sizeof(cmd), "tar -C '%s' -cf '%s.tar' . && tar -C '%s' -czf '%s.tgz' .", dir,
		 dir, dir, dir);
	assert_int_equal(system(cmd), 0);

	const char *suffix[] = {"tar", "tgz"};
	for (int i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "store-%s", suffix[i]);
		struct image_store *s = fresh_store(name);
		snprintf(p, sizeof(p), "%s.%s", dir, suffix[i]);
		char **digests;
		int r = image_store_import(s, p, NULL, 0, &digests);
		if (r)
			fail_msg("%s: %s", p, image_store_error(s));
		snprintf(p, sizeof(p), "sha256:%s", mhex);
		assert_string_equal(digests[0], p);
		image_strv_free(digests);
		struct image_info *info;
		assert_int_equal(image_store_resolve(s, "multi:1", &info), 0);
		assert_int_equal(info->n_layers, 2);
		image_info_free(info);
		image_store_close(s);
	}
	free_layers(ls, 2);
}

/* list sorts by name; a name imported again moves to the new image, and the image left
 * without names goes with its own layer; --tag is refused for a layout of two images. */
static void test_names_move(void **state)
{
	static const struct ent L3[] = {{'f', "three", "3", 0, 0}};
	struct layer ls[3];
	char p[PATH_MAX], ha[65], hb[65], buf[1024];
	(void)state;
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_layer(&ls[1], L2, sizeof(L2) / sizeof(L2[0]));
	make_layer(&ls[2], L3, 1);
	make_oci(path_of("%s/%s", "mvA"), ls, 2, "z:1");
	struct layer b[2] = {ls[0], ls[2]};
	make_oci(path_of("%s/%s", "mvB"), b, 2, "y:1");
	struct image_store *s = fresh_store("store7");
	assert_int_equal(image_store_import(s, path_of("%s/%s", "mvA"), NULL, 0, NULL), 0);
	assert_int_equal(image_store_import(s, path_of("%s/%s", "mvB"), NULL, 0, NULL), 0);
	struct image_info **v;
	size_t n;
	assert_int_equal(image_store_list(s, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->names[0], "docker.io/library/y:1");
	assert_string_equal(v[1]->names[0], "docker.io/library/z:1");
	image_info_list_free(v, n);

	const char *tags[] = {"z:1"};
	assert_int_equal(image_store_import(s, path_of("%s/%s", "mvB"), tags, 1, NULL), 0);
	assert_int_equal(image_store_list(s, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->names[0], "docker.io/library/y:1");
	assert_string_equal(v[0]->names[1], "docker.io/library/z:1");
	image_info_list_free(v, n);
	snprintf(p, sizeof(p), "%s/layers", image_store_root(s));
	assert_int_equal(count_dir(p), 2);
	snprintf(p, sizeof(p), "%s/layers/%s", image_store_root(s), ls[1].diff);
	assert_int_equal(access(p, F_OK), -1);

	/* one layout holding both images: imported whole, but not with --tag */
	const char *both = path_of("%s/%s", "mvAB");
	first_manifest(path_of("%s/%s", "mvA"), ha);
	first_manifest(path_of("%s/%s", "mvB"), hb);
	snprintf(buf, sizeof(buf), "mkdir -p '%s' && cp -r '%s/mvA/.' '%s/mvB/.' '%s'", both,
		 tmpdir, tmpdir, both);
	assert_int_equal(system(buf), 0);
	int k =
	    snprintf(buf, sizeof(buf),
		     "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:%s\",\"size\":1},"
		     "{\"digest\":\"sha256:%s\",\"size\":1}]}",
		     ha, hb);
	snprintf(p, sizeof(p), "%s/index.json", both);
	write_file(p, buf, (size_t)k);
	struct image_store *s2 = fresh_store("store8");
	assert_int_equal(image_store_import(s2, both, tags, 1, NULL), -EINVAL);
	assert_non_null(strstr(image_store_error(s2), "--tag needs an archive of one image"));
	char **digests;
	assert_int_equal(image_store_import(s2, both, NULL, 0, &digests), 0);
	snprintf(p, sizeof(p), "sha256:%s", ha);
	assert_string_equal(digests[0], p);
	snprintf(p, sizeof(p), "sha256:%s", hb);
	assert_string_equal(digests[1], p);
	assert_null(digests[2]);
	image_strv_free(digests);
	image_store_close(s2);
	image_store_close(s);
	free_layers(ls, 3);
}

/* Importers in several processes at once: each succeeds, one image, each layer once. */
static void test_concurrent_importers(void **state)
{
	struct layer ls[2];
	enum { N = 6 };
	pid_t pids[N];
	(void)state;
	make_layer(&ls[0], L1, sizeof(L1) / sizeof(L1[0]));
	make_layer(&ls[1], L2, sizeof(L2) / sizeof(L2[0]));
	make_oci(path_of("%s/%s", "conc"), ls, 2, "conc:1");
	struct image_store *s = fresh_store("store6");
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct image_store *c = image_store_open(image_store_root(s));
			char tag[32];
			snprintf(tag, sizeof(tag), "conc:%d", i + 10);
			const char *tags[] = {tag};
			_exit(c && image_store_import(c, path_of("%s/%s", "conc"), tags, 1, NULL) ==
					  0
				  ? 0
				  : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		int ws;
		assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	struct image_info **v;
	size_t n;
	assert_int_equal(image_store_list(s, &v, &n), 0);
	assert_int_equal(n, 1);
	size_t names = 0;
	while (v[0]->names[names])
		names++;
	assert_int_equal(names, N + 1);
	image_info_list_free(v, n);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/layers", image_store_root(s));
	assert_int_equal(count_dir(p), 2);
	snprintf(p, sizeof(p), "%s/tmp", image_store_root(s));
	assert_int_equal(count_dir(p), 0);
	image_store_close(s);
	free_layers(ls, 2);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "unit_image_store: needs root (mknod, trusted.* xattrs, mounts)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layers_and_whiteouts),     cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_shared_layers_and_remove), cmocka_unit_test(test_docker_archive),
	    cmocka_unit_test(test_oci_archive_and_index),    cmocka_unit_test(test_names_move),
	    cmocka_unit_test(test_concurrent_importers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
