/* SPDX-License-Identifier: Apache-2.0 */
/* memfs: in-memory store_io with crash simulation (see memfs.h). One mutex guards it all. */
#include "memfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 256
#define MAX_FDS	  64
#define NAME_LEN  96

struct buf {
	uint8_t *p;
	size_t len;
};

struct inode {
	bool used;
	struct buf vol, dur;
	/* The last write not yet made durable, for tearing. */
	bool torn_valid;
	uint64_t torn_off;
	struct buf torn;
};

struct dirent_m {
	char name[NAME_LEN];
	int ino; /* -1 = free slot */
};

struct memfs {
	struct store_io io;
	pthread_mutex_t lock;
	struct inode ino[MAX_FILES];
	struct dirent_m vdir[MAX_FILES], ddir[MAX_FILES];
	int fds[MAX_FDS]; /* inode per fd, -1 = closed */
	uint64_t ops, crash_at;
	bool crashed;
	bool gate_closed;
	int gated;
	pthread_cond_t gate_cond;
	uint64_t rng;
};

#define FS(io) ((struct memfs *)(io))

static uint64_t rnd(struct memfs *fs)
{
	fs->rng ^= fs->rng << 13;
	fs->rng ^= fs->rng >> 7;
	fs->rng ^= fs->rng << 17;
	return fs->rng;
}

/* Allocation-failure tests (tests/lib/failalloc.h) are about the store, not about this
 * double: its own memory is taken with failures paused, when the test links failalloc. */
void failalloc_pause(void) __attribute__((weak));
void failalloc_resume(void) __attribute__((weak));

static void *mem_realloc(void *p, size_t len)
{
	if (failalloc_pause)
		failalloc_pause();
	p = realloc(p, len);
	if (failalloc_resume)
		failalloc_resume();
	return p;
}

static int buf_set(struct buf *b, const void *p, size_t len)
{
	uint8_t *n = mem_realloc(NULL, len ? len : 1);

	if (!n)
		return -ENOMEM;
	if (len)
		memcpy(n, p, len);
	free(b->p);
	b->p = n;
	b->len = len;
	return 0;
}

static int buf_write(struct buf *b, const void *p, size_t len, uint64_t off)
{
	if (off + len > b->len) {
		uint8_t *n = mem_realloc(b->p, off + len ? off + len : 1);

		if (!n)
			return -ENOMEM;
		if (off > b->len)
			memset(n + b->len, 0, off - b->len);
		b->p = n;
		b->len = off + len;
	}
	if (len)
		memcpy(b->p + off, p, len);
	return 0;
}

/* Counts a mutating operation; returns -EIO once the machine has died. */
static int step(struct memfs *fs)
{
	if (fs->crashed)
		return -EIO;
	fs->ops++;
	if (fs->crash_at && fs->ops >= fs->crash_at) {
		fs->crashed = true;
		return -EIO;
	}
	return 0;
}

static struct dirent_m *lookup(struct dirent_m *dir, const char *name)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (dir[i].ino >= 0 && !strcmp(dir[i].name, name))
			return &dir[i];
	return NULL;
}

static struct dirent_m *free_slot(struct dirent_m *dir)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (dir[i].ino < 0)
			return &dir[i];
	return NULL;
}

static bool ino_referenced(struct memfs *fs, int ino)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (fs->vdir[i].ino == ino || fs->ddir[i].ino == ino)
			return true;
	for (int i = 0; i < MAX_FDS; i++)
		if (fs->fds[i] == ino)
			return true;
	return false;
}

static void ino_release(struct memfs *fs, int ino)
{
	struct inode *in;

	if (ino < 0 || ino_referenced(fs, ino))
		return;
	in = &fs->ino[ino];
	free(in->vol.p);
	free(in->dur.p);
	free(in->torn.p);
	memset(in, 0, sizeof(*in));
}

static int ino_alloc(struct memfs *fs)
{
	for (int i = 0; i < MAX_FILES; i++) {
		if (!fs->ino[i].used && !ino_referenced(fs, i)) {
			memset(&fs->ino[i], 0, sizeof(fs->ino[i]));
			fs->ino[i].used = true;
			return i;
		}
	}
	return -ENOSPC;
}

static int m_open(struct store_io *io, const char *name, int flags)
{
	struct memfs *fs = FS(io);
	struct dirent_m *d;
	int fd = -EMFILE, ino, err;

	if (strlen(name) >= NAME_LEN)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	d = lookup(fs->vdir, name);
	if (d && (flags & STORE_IO_EXCL)) {
		fd = -EEXIST;
		goto out;
	}
	if (!d && !(flags & STORE_IO_CREATE)) {
		fd = -ENOENT;
		goto out;
	}
	if (!d) {
		err = step(fs);
		if (err) {
			fd = err;
			goto out;
		}
		d = free_slot(fs->vdir);
		ino = d ? ino_alloc(fs) : -ENOSPC;
		if (ino < 0) {
			fd = -ENOSPC;
			goto out;
		}
		snprintf(d->name, NAME_LEN, "%s", name);
		d->ino = ino;
	}
	for (int i = 0; i < MAX_FDS; i++) {
		if (fs->fds[i] < 0) {
			fs->fds[i] = d->ino;
			fd = i;
			break;
		}
	}
out:
	pthread_mutex_unlock(&fs->lock);
	return fd;
}

static void m_close(struct store_io *io, int fd)
{
	struct memfs *fs = FS(io);
	int ino;

	pthread_mutex_lock(&fs->lock);
	if (fd >= 0 && fd < MAX_FDS) {
		ino = fs->fds[fd];
		fs->fds[fd] = -1;
		ino_release(fs, ino);
	}
	pthread_mutex_unlock(&fs->lock);
}

static struct inode *fd_ino(struct memfs *fs, int fd)
{
	if (fd < 0 || fd >= MAX_FDS || fs->fds[fd] < 0)
		return NULL;
	return &fs->ino[fs->fds[fd]];
}

static int64_t m_pread(struct store_io *io, int fd, void *buf, size_t len, uint64_t off)
{
	struct memfs *fs = FS(io);
	struct inode *in;
	int64_t n = -EBADF;

	pthread_mutex_lock(&fs->lock);
	in = fd_ino(fs, fd);
	if (in) {
		n = off >= in->vol.len
			? 0
			: (int64_t)(in->vol.len - off < len ? in->vol.len - off : len);
		if (n > 0)
			memcpy(buf, in->vol.p + off, (size_t)n);
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

static int m_size(struct store_io *io, int fd, uint64_t *size)
{
	struct memfs *fs = FS(io);
	struct inode *in;

	pthread_mutex_lock(&fs->lock);
	in = fd_ino(fs, fd);
	if (in)
		*size = in->vol.len;
	pthread_mutex_unlock(&fs->lock);
	return in ? 0 : -EBADF;
}

/* A write that reaches the page cache: volatile, and the candidate for tearing. */
static int do_write(struct memfs *fs, struct inode *in, const void *buf, size_t len, uint64_t off)
{
	bool was_dead = fs->crashed;
	int err = step(fs);

	if (err && (was_dead || !len))
		return err;
	/* Recorded as the candidate for tearing; the write in flight when the machine dies
	 * (err set here) may land partly too. */
	if (buf_set(&in->torn, buf, len))
		return -ENOMEM;
	in->torn_off = off;
	in->torn_valid = len > 0;
	if (err)
		return err;
	return buf_write(&in->vol, buf, len, off);
}

static int do_sync(struct memfs *fs, struct inode *in)
{
	int err;

	fs->gated++;
	pthread_cond_broadcast(&fs->gate_cond);
	while (fs->gate_closed)
		pthread_cond_wait(&fs->gate_cond, &fs->lock);
	fs->gated--;
	err = step(fs);

	if (err)
		return err;
	err = buf_set(&in->dur, in->vol.p, in->vol.len);
	if (!err)
		in->torn_valid = false;
	return err;
}

static int m_pwrite(struct store_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
	struct memfs *fs = FS(io);
	struct inode *in;
	int err = -EBADF;

	pthread_mutex_lock(&fs->lock);
	in = fd_ino(fs, fd);
	if (in)
		err = do_write(fs, in, buf, len, off);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static int m_append_sync(struct store_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
	struct memfs *fs = FS(io);
	struct inode *in;
	int err = -EBADF;

	pthread_mutex_lock(&fs->lock);
	in = fd_ino(fs, fd);
	if (in) {
		err = len ? do_write(fs, in, buf, len, off) : 0;
		if (!err)
			err = do_sync(fs, in);
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static int m_sync(struct store_io *io, int fd)
{
	struct memfs *fs = FS(io);
	struct inode *in;
	int err = -EBADF;

	pthread_mutex_lock(&fs->lock);
	in = fd_ino(fs, fd);
	if (in)
		err = do_sync(fs, in);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static int m_truncate(struct store_io *io, int fd, uint64_t len)
{
	struct memfs *fs = FS(io);
	struct inode *in;
	int err = -EBADF;

	pthread_mutex_lock(&fs->lock);
	in = fd_ino(fs, fd);
	if (in && !(err = step(fs))) {
		if (len <= in->vol.len)
			in->vol.len = (size_t)len;
		else
			err = buf_write(&in->vol, NULL, 0, len);
		in->torn_valid = false;
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static int m_rename(struct store_io *io, const char *from, const char *to)
{
	struct memfs *fs = FS(io);
	struct dirent_m *s, *d;
	int err, old;

	if (strlen(to) >= NAME_LEN)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	s = lookup(fs->vdir, from);
	err = s ? step(fs) : -ENOENT;
	if (!err) {
		d = lookup(fs->vdir, to);
		old = d ? d->ino : -1;
		if (d)
			d->ino = -1;
		snprintf(s->name, NAME_LEN, "%s", to);
		ino_release(fs, old);
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static int m_unlink(struct store_io *io, const char *name)
{
	struct memfs *fs = FS(io);
	struct dirent_m *d;
	int err, ino;

	pthread_mutex_lock(&fs->lock);
	d = lookup(fs->vdir, name);
	err = d ? step(fs) : -ENOENT;
	if (!err) {
		ino = d->ino;
		d->ino = -1;
		ino_release(fs, ino);
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static int m_sync_dir(struct store_io *io)
{
	struct memfs *fs = FS(io);
	int err;

	pthread_mutex_lock(&fs->lock);
	err = step(fs);
	if (!err) {
		int old[MAX_FILES];

		for (int i = 0; i < MAX_FILES; i++)
			old[i] = fs->ddir[i].ino;
		memcpy(fs->ddir, fs->vdir, sizeof(fs->ddir));
		for (int i = 0; i < MAX_FILES; i++)
			ino_release(fs, old[i]);
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static int list_dir(struct dirent_m *dir, char ***names_out, size_t *n_out)
{
	size_t n = 0;
	char **names;
	char *p;

	for (int i = 0; i < MAX_FILES; i++)
		n += dir[i].ino >= 0;
	names = mem_realloc(NULL, (n + 1) * sizeof(char *) + n * NAME_LEN);
	if (!names)
		return -ENOMEM;
	p = (char *)(names + n + 1);
	n = 0;
	for (int i = 0; i < MAX_FILES; i++) {
		if (dir[i].ino < 0)
			continue;
		memcpy(p, dir[i].name, NAME_LEN);
		names[n++] = p;
		p += NAME_LEN;
	}
	*names_out = names;
	*n_out = n;
	return 0;
}

static int m_list(struct store_io *io, char ***names, size_t *n)
{
	struct memfs *fs = FS(io);
	int err;

	pthread_mutex_lock(&fs->lock);
	err = list_dir(fs->vdir, names, n);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static void m_destroy(struct store_io *io)
{
	(void)io; /* owned by the test: memfs_free() */
}

static const struct store_io_ops memfs_vtable = {
    .open = m_open,
    .close = m_close,
    .pread = m_pread,
    .size = m_size,
    .pwrite = m_pwrite,
    .append_sync = m_append_sync,
    .sync = m_sync,
    .truncate = m_truncate,
    .rename = m_rename,
    .unlink = m_unlink,
    .sync_dir = m_sync_dir,
    .list = m_list,
    .destroy = m_destroy,
};

struct memfs *memfs_new(uint64_t seed)
{
	struct memfs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->io.ops = &memfs_vtable;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->gate_cond, NULL);
	for (int i = 0; i < MAX_FILES; i++)
		fs->vdir[i].ino = fs->ddir[i].ino = -1;
	for (int i = 0; i < MAX_FDS; i++)
		fs->fds[i] = -1;
	fs->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	return fs;
}

void memfs_free(struct memfs *fs)
{
	if (!fs)
		return;
	for (int i = 0; i < MAX_FILES; i++) {
		free(fs->ino[i].vol.p);
		free(fs->ino[i].dur.p);
		free(fs->ino[i].torn.p);
	}
	pthread_mutex_destroy(&fs->lock);
	pthread_cond_destroy(&fs->gate_cond);
	free(fs);
}

void memfs_gate_syncs(struct memfs *fs, bool closed)
{
	pthread_mutex_lock(&fs->lock);
	fs->gate_closed = closed;
	pthread_cond_broadcast(&fs->gate_cond);
	pthread_mutex_unlock(&fs->lock);
}

void memfs_wait_gated(struct memfs *fs, int n)
{
	pthread_mutex_lock(&fs->lock);
	while (fs->gated < n)
		pthread_cond_wait(&fs->gate_cond, &fs->lock);
	pthread_mutex_unlock(&fs->lock);
}

struct store_io *memfs_io(struct memfs *fs)
{
	return &fs->io;
}

void memfs_crash_after(struct memfs *fs, uint64_t n)
{
	pthread_mutex_lock(&fs->lock);
	fs->crash_at = n ? fs->ops + n : 0;
	pthread_mutex_unlock(&fs->lock);
}

bool memfs_crashed(struct memfs *fs)
{
	bool c;

	pthread_mutex_lock(&fs->lock);
	c = fs->crashed;
	pthread_mutex_unlock(&fs->lock);
	return c;
}

struct memfs *memfs_crash_image(struct memfs *fs)
{
	struct memfs *img = memfs_new(rnd(fs));

	if (!img)
		return NULL;
	pthread_mutex_lock(&fs->lock);
	for (int i = 0; i < MAX_FILES; i++) {
		struct dirent_m *d = &fs->ddir[i];
		struct inode *in, *out;
		int ino;

		if (d->ino < 0)
			continue;
		in = &fs->ino[d->ino];
		ino = ino_alloc(img);
		out = &img->ino[ino];
		buf_set(&out->dur, in->dur.p, in->dur.len);
		if (in->torn_valid && rnd(fs) % 2) {
			size_t keep = (size_t)(rnd(fs) % (in->torn.len + 1));

			buf_write(&out->dur, in->torn.p, keep, in->torn_off);
			if (keep < in->torn.len && rnd(fs) % 4 == 0) {
				size_t junk = (size_t)(rnd(fs) % (in->torn.len - keep) + 1);
				uint8_t *g = malloc(junk);

				for (size_t k = 0; g && k < junk; k++)
					g[k] = (uint8_t)rnd(fs);
				if (g)
					buf_write(&out->dur, g, junk, in->torn_off + keep);
				free(g);
			}
		}
		buf_set(&out->vol, out->dur.p, out->dur.len);
		img->vdir[i] = img->ddir[i] = (struct dirent_m){.ino = ino};
		memcpy(img->vdir[i].name, d->name, NAME_LEN);
		memcpy(img->ddir[i].name, d->name, NAME_LEN);
	}
	pthread_mutex_unlock(&fs->lock);
	return img;
}

int memfs_put(struct memfs *fs, const char *name, const void *data, size_t len)
{
	struct dirent_m *d;
	int ino, err = 0;

	if (strlen(name) >= NAME_LEN)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	d = lookup(fs->vdir, name);
	if (!d) {
		d = free_slot(fs->vdir);
		ino = d ? ino_alloc(fs) : -ENOSPC;
		if (ino < 0) {
			err = ino;
			goto out;
		}
		snprintf(d->name, NAME_LEN, "%s", name);
		d->ino = ino;
		memcpy(fs->ddir, fs->vdir, sizeof(fs->ddir));
	}
	err = buf_set(&fs->ino[d->ino].vol, data, len);
	if (!err)
		err = buf_set(&fs->ino[d->ino].dur, data, len);
out:
	pthread_mutex_unlock(&fs->lock);
	return err;
}

int memfs_durable_names(struct memfs *fs, char ***names, size_t *n)
{
	int err;

	pthread_mutex_lock(&fs->lock);
	err = list_dir(fs->ddir, names, n);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

bool memfs_durable_any(struct memfs *fs,
		       bool (*fn)(void *ctx, const char *name, const uint8_t *data, size_t len),
		       void *ctx)
{
	bool hit = false;

	pthread_mutex_lock(&fs->lock);
	for (int i = 0; i < MAX_FILES && !hit; i++) {
		struct dirent_m *d = &fs->ddir[i];

		if (d->ino >= 0)
			hit = fn(ctx, d->name, fs->ino[d->ino].dur.p, fs->ino[d->ino].dur.len);
	}
	pthread_mutex_unlock(&fs->lock);
	return hit;
}
