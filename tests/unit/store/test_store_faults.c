/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_faults: damaged and hostile disks. Corrupt, truncated and padded logs; corrupt
 * and truncated snapshots; a log whose records check out but do not follow (a compaction
 * record too); a full disk (a small tmpfs); a read-only mount. Each must give one clear error
 * and the last consistent state: never a crash, never a silent loss.
 * The tmpfs and read-only cases need mount(2) (root); without it they are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "log.h"
#include "wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 100

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = test_tmpdir("/tmp");
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	const char *mounts[] = {"ro", "src", "tmpfs"};
	char p[512];

	(void)state;
	/* Also after a failed assertion: never leave a mount behind. */
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		snprintf(p, sizeof(p), "%.400s/%s", dir, mounts[i]);
		umount2(p, MNT_DETACH);
	}
	test_rmrf(dir);
	free(dir);
	return 0;
}

static void path_of(char *buf, size_t n, const char *d, const char *name)
{
	snprintf(buf, n, "%.380s/%.120s", d, name);
}

/* Writes keys /f/000.. with values test_value(i, 1); returns the store closed. */
static void fill(const char *d, int from, int to, uint64_t snap_bytes)
{
	uint8_t val[300];
	char key[32];
	struct store *s;
	int err;

	s = test_open_dir(d, snap_bytes, &err);
	assert_int_equal(err, 0);
	for (int i = from; i < to; i++) {
		size_t n = test_value((uint64_t)i, 1, val, sizeof(val));

		snprintf(key, sizeof(key), "/f/%03d", i);
		assert_int_equal(store_create(s, key, strlen(key), val, n, NULL), 0);
	}
	store_close(s);
}

/* Checks keys [0, upto) are intact and [upto, N) absent. */
static void check(struct store *s, int upto)
{
	uint8_t val[300];
	char key[32];

	for (int i = 0; i < N; i++) {
		struct store_kv kv;
		size_t n = test_value((uint64_t)i, 1, val, sizeof(val));
		int err;

		snprintf(key, sizeof(key), "/f/%03d", i);
		err = store_get(s, key, strlen(key), 0, &kv);
		if (i >= upto) {
			assert_int_equal(err, -ENOENT);
			continue;
		}
		assert_int_equal(err, 0);
		assert_int_equal(kv.value_len, n);
		assert_memory_equal(kv.value, val, n);
		store_kv_release(&kv);
	}
}

static size_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* Offset of record number idx (0-based) in a log file. */
static size_t record_offset(const char *path, int idx)
{
	int fd = open(path, O_RDONLY);
	size_t len = file_size(path), off = 0;
	uint8_t *buf = malloc(len);

	assert_int_equal(read(fd, buf, len), (ssize_t)len);
	close(fd);
	for (int i = 0; i < idx; i++) {
		int64_t n = wal_decode(buf + off, len - off, NULL);

		assert_true(n > 0);
		off += (size_t)n;
	}
	free(buf);
	return off;
}

static void poke(const char *path, size_t off, uint8_t xor_with)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= xor_with;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static const char *first_wal = "wal-0000000000000001.log";

static struct store *reopen_ok(const char *d)
{
	int err;
	struct store *s = test_open_dir(d, 0, &err);

	if (!s)
		fail_msg("open: %s", store_strerror(err));
	return s;
}

static void test_corrupt_log_record(void **state)
{
	char p[512];
	struct store_stats st;
	struct store *s;
	size_t off;
	uint64_t rev;

	(void)state;
	fill(dir, 0, N, 0);
	path_of(p, sizeof(p), dir, first_wal);
	off = record_offset(p, 50);
	poke(p, off + 40, 0x01); /* a byte of record 51's key */
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), 50);
	check(s, 50);
	store_get_stats(s, &st);
	assert_true(st.recovery_truncated_bytes > 0);
	assert_int_equal(st.write_error, 0);
	/* The log was cut at the bad record: new writes follow on. */
	assert_int_equal(store_create(s, "/new", 4, "v", 1, &rev), 0);
	assert_int_equal(rev, 51);
	store_close(s);
	assert_int_equal(file_size(p), off + WAL_OVERHEAD + 4 + 1);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), 51);
	store_close(s);
}

static void test_truncated_and_padded_log(void **state)
{
	char p[512];
	struct store *s;
	size_t len;
	int fd;

	(void)state;
	fill(dir, 0, N, 0);
	path_of(p, sizeof(p), dir, first_wal);
	len = file_size(p);
	/* Torn last record: a few bytes short. */
	assert_int_equal(truncate(p, (off_t)(len - 3)), 0);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), N - 1);
	check(s, N - 1);
	store_close(s);
	/* Garbage after the last good record (a torn sector); and a zero-filled tail. */
	fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "\x13\x00\x00\x00garbage-garbage", 19), 19);
	assert_int_equal(write(fd, "\0\0\0\0\0\0\0\0\0\0\0\0", 12), 12);
	close(fd);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), N - 1);
	store_close(s);
	/* A header-only stub (shorter than a record header). */
	fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "\x05", 1), 1);
	close(fd);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), N - 1);
	store_close(s);
	/* An empty log. */
	assert_int_equal(truncate(p, 0), 0);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), 0);
	store_close(s);
}

/* A record that checks out but does not follow its predecessor: refuse, change nothing. */
static void test_log_gap_is_corruption(void **state)
{
	char p[512];
	struct store *s;
	size_t a, b, len;
	uint8_t *buf;
	int fd, err;

	(void)state;
	fill(dir, 0, 10, 0);
	path_of(p, sizeof(p), dir, first_wal);
	a = record_offset(p, 4);
	b = record_offset(p, 5);
	len = file_size(p);
	buf = malloc(len);
	fd = open(p, O_RDWR);
	assert_int_equal(read(fd, buf, len), (ssize_t)len);
	memmove(buf + a, buf + b, len - b); /* drop record 5 */
	assert_int_equal(pwrite(fd, buf, len - (b - a), 0), (ssize_t)(len - (b - a)));
	assert_int_equal(ftruncate(fd, (off_t)(len - (b - a))), 0);
	close(fd);
	free(buf);
	s = test_open_dir(dir, 0, &err);
	assert_null(s);
	assert_int_equal(err, -STORE_ECORRUPT);
	assert_int_equal(file_size(p), len - (b - a)); /* untouched */
}

/* The compaction record: replayed on open; one at a revision the log has not reached is an
 * inconsistent log (refused, nothing changed); a malformed or corrupt one is cut as torn. */
static void test_compaction_record(void **state)
{
	char p[512];
	struct store *s;
	uint8_t rec[WAL_OVERHEAD];
	size_t len;
	int fd, err;

	(void)state;
	fill(dir, 0, 10, 0);
	s = reopen_ok(dir);
	assert_int_equal(store_compact(s, 5), 0);
	store_close(s);
	path_of(p, sizeof(p), dir, first_wal);
	len = file_size(p);
	assert_int_equal(record_offset(p, 11), len); /* 10 writes and the compaction */
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), 10);
	assert_int_equal(store_compacted_revision(s), 5);
	store_close(s);
	/* compacted past its own revision: malformed */
	wal_encode_compact(rec, 10, 10);
	assert_int_equal(wal_decode(rec, sizeof(rec), NULL), (int64_t)sizeof(rec));
	wal_encode_compact(rec, 10, 11);
	assert_int_equal(wal_decode(rec, sizeof(rec), NULL), -EBADMSG);
	/* at revision 11 after revision 10: refused, the log untouched */
	wal_encode_compact(rec, 11, 6);
	fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, rec, sizeof(rec)), (ssize_t)sizeof(rec));
	close(fd);
	s = test_open_dir(dir, 0, &err);
	assert_null(s);
	assert_int_equal(err, -STORE_ECORRUPT);
	assert_int_equal(file_size(p), len + sizeof(rec));
	/* the logged compaction corrupt (its revision): cut, the writes before it kept */
	assert_int_equal(truncate(p, (off_t)len), 0);
	poke(p, len - WAL_OVERHEAD + 16, 0x01);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), 10);
	assert_int_equal(store_compacted_revision(s), 0);
	check(s, 10);
	store_close(s);
	assert_int_equal(file_size(p), len - WAL_OVERHEAD);
}

static int list_names(const char *d, const char *prefix, char names[][64], int max)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(dd)) && n < max) {
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && !strstr(e->d_name, ".tmp"))
			snprintf(names[n++], 64, "%.63s", e->d_name);
	}
	closedir(dd);
	qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
	return n;
}

static void test_corrupt_snapshots(void **state)
{
	char snaps[8][64], wals[64][64], p[512];
	struct store *s;
	int ns, nw, err;

	(void)state;
	fill(dir, 0, N, 4096); /* several snapshots, the log cut behind them */
	ns = list_names(dir, "snap-", snaps, 8);
	nw = list_names(dir, "wal-", wals, 64);
	assert_int_equal(ns, 2);
	assert_true(nw >= 1);
	assert_string_not_equal(wals[0], first_wal); /* the log no longer reaches back */
	/* Newest snapshot corrupt: the older one plus the log recover everything. */
	path_of(p, sizeof(p), dir, snaps[1]);
	poke(p, file_size(p) / 2, 0x40);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), N);
	check(s, N);
	store_close(s);
	/* Newest snapshot truncated: same. */
	assert_int_equal(truncate(p, (off_t)(file_size(p) / 3)), 0);
	s = reopen_ok(dir);
	check(s, N);
	store_close(s);
	/* Both corrupt, and the log cut: refuse to open with lost history. */
	path_of(p, sizeof(p), dir, snaps[0]);
	poke(p, 20, 0xff); /* header */
	s = test_open_dir(dir, 0, &err);
	assert_null(s);
	assert_int_equal(err, -STORE_ECORRUPT);
}

static void test_stale_tmp_ignored(void **state)
{
	char p[512];
	struct store *s;
	int fd;

	(void)state;
	fill(dir, 0, 10, 0);
	path_of(p, sizeof(p), dir, "snap-00000000000000ff.snap.tmp");
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	s = reopen_ok(dir);
	assert_int_equal(store_revision(s), 10);
	store_close(s);
	assert_int_equal(access(p, F_OK), -1);
}

static bool mount_tmpfs(const char *d, const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s", size);
	if (mount("tmpfs", d, "tmpfs", 0, opts) == 0)
		return true;
	fprintf(stderr, "mount tmpfs: %s (not root?)\n", strerror(errno));
	return false;
}

/* A full disk: the write that does not fit fails with -ENOSPC, nothing else changes; every
 * acknowledged write survives a restart. */
static void test_full_disk(void **state)
{
	char sub[512];
	uint8_t val[8192];
	struct store *s;
	int acked = 0, err = 0, enospc = 0;
	bool ok[200] = {false};

	(void)state;
	path_of(sub, sizeof(sub), dir, "tmpfs");
	mkdir(sub, 0755);
	if (!mount_tmpfs(sub, "256k"))
		skip();
	memset(val, 'v', sizeof(val));
	s = test_open_dir(sub, 32768, &err); /* snapshots that will not fit either */
	assert_non_null(s);
	for (int i = 0; i < 200; i++) {
		char key[32];

		snprintf(key, sizeof(key), "/full/%03d", i);
		err = store_create(s, key, strlen(key), val, sizeof(val), NULL);
		if (err == -ENOSPC) {
			enospc++;
			continue;
		}
		assert_int_equal(err, 0);
		ok[i] = true; /* a snapshot that cut the log may have freed space */
		acked++;
	}
	assert_true(enospc > 0);
	assert_true(acked > 5);
	/* Reads go on; small writes may still fit. */
	{
		struct store_kv kv;
		struct store_stats st;

		assert_int_equal(store_get(s, "/full/000", 9, 0, &kv), 0);
		store_kv_release(&kv);
		store_get_stats(s, &st);
		assert_int_equal(st.write_error, 0); /* not sticky: space may come back */
	}
	store_close(s);
	s = test_open_dir(sub, 32768, &err);
	assert_int_equal(err, 0);
	for (int i = 0; i < 200; i++) {
		char key[32];
		struct store_kv kv;

		snprintf(key, sizeof(key), "/full/%03d", i);
		err = store_get(s, key, strlen(key), 0, &kv);
		assert_int_equal(err, ok[i] ? 0 : -ENOENT);
		if (ok[i])
			assert_int_equal(kv.value_len, sizeof(val));
		store_kv_release(&kv);
	}
	assert_int_equal(store_revision(s), acked);
	store_close(s);
	assert_int_equal(umount(sub), 0);
}

/* A read-only mount (root ignores permissions, so a mount it is): open serves the last
 * consistent state, every write fails -EROFS; a torn tail it cannot cut is left alone. */
static void test_read_only(void **state)
{
	char src[512], ro[512], p[512];
	struct store_stats st;
	struct store *s;
	struct store_kv kv;
	int err, fd;

	(void)state;
	path_of(src, sizeof(src), dir, "src");
	path_of(ro, sizeof(ro), dir, "ro");
	mkdir(src, 0755);
	mkdir(ro, 0755);
	if (!mount_tmpfs(src, "4m"))
		skip();
	fill(src, 0, N, 0);
	path_of(p, sizeof(p), src, first_wal);
	fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "\x40\0\0\0torn", 8), 8);
	close(fd);
	assert_int_equal(mount(src, ro, NULL, MS_BIND, NULL), 0);
	assert_int_equal(mount(NULL, ro, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
	s = test_open_dir(ro, 0, &err);
	assert_int_equal(err, 0);
	assert_int_equal(store_revision(s), N);
	check(s, N);
	assert_int_equal(store_create(s, "/x", 2, "v", 1, NULL), -EROFS);
	assert_int_equal(store_update(s, "/f/000", 6, "v", 1, 0, NULL), -EROFS);
	assert_int_equal(store_get(s, "/f/001", 6, 0, &kv), 0);
	store_kv_release(&kv);
	store_get_stats(s, &st);
	assert_int_equal(st.write_error, -EROFS);
	store_close(s);
	assert_int_equal(umount(ro), 0);
	/* Writable again: the torn tail is cut and writing goes on. */
	s = test_open_dir(src, 0, &err);
	assert_int_equal(err, 0);
	assert_int_equal(store_create(s, "/x", 2, "v", 1, NULL), 0);
	store_close(s);
	assert_int_equal(umount(src), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_corrupt_log_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_and_padded_log, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_gap_is_corruption, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compaction_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_snapshots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_tmp_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
