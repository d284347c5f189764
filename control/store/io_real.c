/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_real: the store's files on a real directory. The log's append_sync goes through
 * io_uring: the write SQE is linked (IOSQE_IO_LINK) to an fdatasync SQE, so the sync starts
 * only after the write completed, and a short write breaks the link (the sync completes with
 * -ECANCELED) and is retried from where it stopped. Everything else is plain syscalls.
 *
 * Lock: ring_lock serialises use of the ring (in practice only the committer uses it); the
 * other calls touch no shared state besides the directory fd, which is immutable.
 */
#include "store_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct io_real {
	struct store_io io;
	int dirfd;
	struct io_uring ring;
	bool have_ring;
	pthread_mutex_t ring_lock;
};

#define REAL(io) ((struct io_real *)(io))

static int real_open(struct store_io *io, const char *name, int flags)
{
	int oflags = O_CLOEXEC;
	int fd;

	if (flags & STORE_IO_RDWR)
		oflags |= O_RDWR;
	else
		oflags |= O_RDONLY;
	if (flags & STORE_IO_CREATE)
		oflags |= O_CREAT;
	if (flags & STORE_IO_EXCL)
		oflags |= O_EXCL;
	fd = openat(REAL(io)->dirfd, name, oflags, 0644);
	return fd < 0 ? -errno : fd;
}

static void real_close(struct store_io *io, int fd)
{
	close(fd);
}

static int64_t real_pread(struct store_io *io, int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int64_t)done;
}

static int real_size(struct store_io *io, int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int real_pwrite(struct store_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* One linked write+fdatasync pair; returns bytes written (>= 0) with *sync_res set. */
static int ring_write_sync(struct io_real *r, int fd, const void *buf, size_t len, uint64_t off,
			   int *sync_res)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int wres = -EIO, ret;

	*sync_res = -ECANCELED;
	sqe = io_uring_get_sqe(&r->ring);
	io_uring_prep_write(sqe, fd, buf, (unsigned)len, off);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&r->ring);
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	sqe->user_data = 2;
	ret = io_uring_submit_and_wait(&r->ring, 2);
	if (ret < 0)
		return ret;
	for (int i = 0; i < 2; i++) {
		do {
			ret = io_uring_wait_cqe(&r->ring, &cqe);
		} while (ret == -EINTR);
		if (ret < 0)
			return ret;
		if (cqe->user_data == 1)
			wres = cqe->res;
		else
			*sync_res = cqe->res;
		io_uring_cqe_seen(&r->ring, cqe);
	}
	return wres;
}

static int real_append_sync(struct store_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
	struct io_real *r = REAL(io);
	size_t done = 0;
	int err = 0, sres;

	if (!r->have_ring || len == 0) {
		err = real_pwrite(io, fd, buf, len, off);
		if (!err && fdatasync(fd) < 0)
			err = -errno;
		return err;
	}
	pthread_mutex_lock(&r->ring_lock);
	for (;;) {
		/* A single SQE writes at most 2 GiB - 4 KiB; batches are far smaller. */
		int n =
		    ring_write_sync(r, fd, (const char *)buf + done, len - done, off + done, &sres);

		if (n < 0 && n != -EINTR && n != -EAGAIN) {
			err = n;
			break;
		}
		if (n == 0) {
			err = -EIO;
			break;
		}
		if (n > 0)
			done += (size_t)n;
		if (done == len && sres == 0)
			break;
		if (done == len && sres != -ECANCELED) {
			err = sres;
			break;
		}
		/* Short write (or the sync was cancelled): write the rest, sync again. */
	}
	pthread_mutex_unlock(&r->ring_lock);
	return err;
}

static int real_sync(struct store_io *io, int fd)
{
	return fsync(fd) < 0 ? -errno : 0;
}

static int real_truncate(struct store_io *io, int fd, uint64_t len)
{
	return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

static int real_rename(struct store_io *io, const char *from, const char *to)
{
	int d = REAL(io)->dirfd;

	return renameat(d, from, d, to) < 0 ? -errno : 0;
}

static int real_unlink(struct store_io *io, const char *name)
{
	return unlinkat(REAL(io)->dirfd, name, 0) < 0 ? -errno : 0;
}

static int real_sync_dir(struct store_io *io)
{
	return fsync(REAL(io)->dirfd) < 0 ? -errno : 0;
}

static int real_list(struct store_io *io, char ***names_out, size_t *n_out)
{
	size_t n = 0, bytes = 0, i = 0;
	struct dirent *e;
	char **names, *p;
	DIR *d;
	int fd;

	fd = dup(REAL(io)->dirfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	/* The dup shares its offset with dirfd: start from the top every time. */
	rewinddir(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			n++;
			bytes += strlen(e->d_name) + 1;
		}
	}
	names = malloc((n + 1) * sizeof(char *) + bytes);
	if (!names) {
		closedir(d);
		return -ENOMEM;
	}
	p = (char *)(names + n + 1);
	rewinddir(d);
	while ((e = readdir(d)) && i < n) {
		size_t l = strlen(e->d_name) + 1;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)(p - (char *)(names + n + 1)) + l > bytes)
			break; /* the directory grew meanwhile: keep what fits */
		memcpy(p, e->d_name, l);
		names[i++] = p;
		p += l;
	}
	closedir(d);
	*names_out = names;
	*n_out = i;
	return 0;
}

static void real_destroy(struct store_io *io)
{
	struct io_real *r = REAL(io);

	if (r->have_ring)
		io_uring_queue_exit(&r->ring);
	pthread_mutex_destroy(&r->ring_lock);
	close(r->dirfd);
	free(r);
}

static const struct store_io_ops real_ops = {
    .open = real_open,
    .close = real_close,
    .pread = real_pread,
    .size = real_size,
    .pwrite = real_pwrite,
    .append_sync = real_append_sync,
    .sync = real_sync,
    .truncate = real_truncate,
    .rename = real_rename,
    .unlink = real_unlink,
    .sync_dir = real_sync_dir,
    .list = real_list,
    .destroy = real_destroy,
};

int store_io_real_new(const char *dir, struct store_io **out)
{
	struct io_real *r;
	int err;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->io.ops = &real_ops;
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		err = -errno;
		free(r);
		return err;
	}
	pthread_mutex_init(&r->ring_lock, NULL);
	/* Without io_uring (disabled by sysctl, old kernel) fall back to pwrite+fdatasync. */
	r->have_ring = io_uring_queue_init(8, &r->ring, 0) == 0;
	*out = &r->io;
	return 0;
}
