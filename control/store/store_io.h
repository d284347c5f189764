/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_io: the file operations under the log and the snapshots, as a vtable. The real one
 * (io_real.c) writes the log through io_uring with the write and its fdatasync linked; tests
 * put an in-memory double with simulated crashes here (tests/unit/store/memfs.c).
 *
 * Every name is relative to the store's directory. Every call returns 0 (or a byte count) or
 * -errno. append_sync returns 0 only once the bytes are durable.
 * Thread safety: the store calls append_sync from its committer thread only, the other
 * calls from the committer, the snapshot thread and open/close; implementations must allow
 * those to run concurrently on different files.
 */
#ifndef DROVER_STORE_IO_H
#define DROVER_STORE_IO_H

#include <stddef.h>
#include <stdint.h>

struct store_io;

enum {
	STORE_IO_RDONLY = 0,
	STORE_IO_RDWR = 1,
	STORE_IO_CREATE = 2, /* with RDWR: create if missing */
	STORE_IO_EXCL = 4,   /* with CREATE: fail if it exists */
};

struct store_io_ops {
	int (*open)(struct store_io *io, const char *name, int flags); /* returns fd */
	void (*close)(struct store_io *io, int fd);
	int64_t (*pread)(struct store_io *io, int fd, void *buf, size_t len, uint64_t off);
	int (*size)(struct store_io *io, int fd, uint64_t *size);
	/* Writes all of buf at off (no short writes), no sync. */
	int (*pwrite)(struct store_io *io, int fd, const void *buf, size_t len, uint64_t off);
	/* Writes all of buf at off, then fdatasync; 0 only after the sync completed. */
	int (*append_sync)(struct store_io *io, int fd, const void *buf, size_t len, uint64_t off);
	int (*sync)(struct store_io *io, int fd); /* fsync */
	int (*truncate)(struct store_io *io, int fd, uint64_t len);
	int (*rename)(struct store_io *io, const char *from, const char *to);
	int (*unlink)(struct store_io *io, const char *name);
	int (*sync_dir)(struct store_io *io);
	/* Names in the directory (no "." / ".."): *names is one malloc'd array of n pointers,
	 * each string in the same block; free(*names) frees all. */
	int (*list)(struct store_io *io, char ***names, size_t *n);
	void (*destroy)(struct store_io *io);
};

struct store_io {
	const struct store_io_ops *ops;
};

/* The real I/O layer over directory dir (created if missing). */
int store_io_real_new(const char *dir, struct store_io **out);

static inline void store_io_destroy(struct store_io *io)
{
	if (io)
		io->ops->destroy(io);
}

#endif
