/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recovery: opening the embedded store. Loads the newest snapshot that checks out (an older
 * one if the newest is corrupt), replays the log segments after it, and stops at the first
 * torn or corrupt record: that segment is cut there (with a warning) and any later segment,
 * which could only follow a gap, is set aside as <name>.discarded. A record that checks out
 * but does not follow (a revision gap, a create of a live key...) is not a torn write but an
 * inconsistent directory: open fails with -STORE_ECORRUPT and nothing is changed. A
 * compaction record compacts as far again (a log from before there were any has none).
 * Runs before any thread of the store starts, so it takes no lock.
 */
#include "embedded.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct load_ctx {
	struct emb *e;
	struct srec *last;
};

static int snap_add(void *arg, struct srec *rec)
{
	struct load_ctx *c = arg;
	int err = 0;

	if (c->last) {
		const struct srec *p = c->last;
		int cmp = idx_key_cmp(srec_key(p), p->key_len, srec_key(rec), rec->key_len);

		if (cmp > 0 || (cmp == 0 && p->rev >= rec->rev))
			err = -EBADMSG; /* out of order */
	}
	if (!err)
		err = idx_add(&c->e->idx, rec);
	if (err) {
		sref_put(&rec->ref);
		return err;
	}
	c->last = rec;
	return 0;
}

static int load_snapshot(struct emb *e, uint64_t rev)
{
	struct load_ctx c = {.e = e};
	struct snap_info info;
	char name[64];
	int err;

	snprintf(name, sizeof(name), SNAP_NAME_FMT, rev);
	err = snap_read(e->io, name, &info, snap_add, &c);
	if (!err && info.rev != rev)
		err = -EBADMSG;
	if (err) {
		log_warn("store", "snapshot %s unusable: %s", name,
			 err == -EBADMSG ? "corrupt" : store_strerror(err));
		idx_destroy(&e->idx);
		err = idx_init(&e->idx);
		return err ? err : -EBADMSG;
	}
	e->rev = info.rev;
	e->compact_rev = info.compact_rev;
	e->ring_lo = info.rev + 1;
	return 0;
}

/* Does rec follow from the state so far? */
static bool consistent(struct emb *e, const struct srec *rec)
{
	struct kentry *k = idx_find(&e->idx, srec_key(rec), rec->key_len);
	struct srec *cur = k ? kentry_latest(k) : NULL;
	bool live = cur && cur->type == SREC_PUT;

	if (rec->rev != e->rev + 1)
		return false;
	if (rec->type == SREC_PUT && rec->create_rev == rec->rev)
		return !live;
	return live && cur->create_rev == rec->create_rev;
}

/* Sets aside the segments after a corrupt one; they follow a gap and cannot be replayed. */
static void discard_after(struct emb *e, const uint64_t *wals, size_t i, size_t nw)
{
	char from[64], to[80];

	for (i++; i < nw; i++) {
		snprintf(from, sizeof(from), WAL_NAME_FMT, wals[i]);
		snprintf(to, sizeof(to), "%s.discarded", from);
		log_error("store", "log segment %s follows a corrupt record: set aside as %s", from,
			  to);
		e->io->ops->rename(e->io, from, to);
	}
}

/* Replays one segment; *cut is set to the offset of a torn/corrupt record (else the size). */
static int replay_segment(struct emb *e, uint64_t start, uint64_t *cut, uint64_t *size)
{
	char name[64];
	uint8_t *buf;
	size_t len, off = 0;
	int err;

	snprintf(name, sizeof(name), WAL_NAME_FMT, start);
	err = io_read_all(e->io, name, &buf, &len);
	if (err) {
		log_error("store", "reading %s: %s", name, store_strerror(err));
		return err;
	}
	*size = len;
	while (off < len) {
		struct srec *rec;
		int64_t n = wal_decode(buf + off, len - off, &rec);

		if (n == -ENOMEM) {
			err = -ENOMEM;
			break;
		}
		if (n <= 0)
			break; /* torn or corrupt: stop here */
		if (rec->type == SREC_COMPACT) {
			/* A compaction (create_rev: how far) at the revision then current: one from
			 * before the snapshot compacts no further than the snapshot did. */
			if (rec->rev > e->rev) {
				log_error("store",
					  "%s offset %zu: compaction at revision %" PRIu64
					  " does not follow revision %" PRIu64,
					  name, off, rec->rev, e->rev);
				sref_put(&rec->ref);
				err = -STORE_ECORRUPT;
				break;
			}
			emb_compact_locked(e, rec->create_rev);
			sref_put(&rec->ref);
		} else if (rec->rev <= e->rev) {
			/* Already in the snapshot. */
			sref_put(&rec->ref);
		} else if (!consistent(e, rec)) {
			log_error("store",
				  "%s offset %zu: record at revision %" PRIu64
				  " does not follow revision %" PRIu64,
				  name, off, rec->rev, e->rev);
			sref_put(&rec->ref);
			err = -STORE_ECORRUPT;
			break;
		} else {
			err = emb_apply(e, rec, NULL, 0, NULL);
			sref_put(&rec->ref);
			if (err)
				break;
			e->st_recovered++;
		}
		off += (size_t)n;
	}
	free(buf);
	*cut = off;
	return err;
}

static bool read_only_err(int err)
{
	return err == -EROFS || err == -EACCES || err == -EPERM;
}

static void go_read_only(struct emb *e, int err, const char *what)
{
	log_error("store",
		  "%s: %s: serving the last consistent state (revision %" PRIu64
		  "), refusing writes",
		  what, store_strerror(err), e->rev);
	atomic_store(&e->write_err, err);
}

/* Opens (or creates) the segment new writes go to. */
static int open_tail(struct emb *e, uint64_t last_start, bool have_last)
{
	char name[64];
	uint64_t size;
	int fd, err;

	if (atomic_load(&e->write_err))
		return 0;
	if (have_last) {
		snprintf(name, sizeof(name), WAL_NAME_FMT, last_start);
		fd = e->io->ops->open(e->io, name, STORE_IO_RDWR);
	} else {
		snprintf(name, sizeof(name), WAL_NAME_FMT, e->rev + 1);
		fd = e->io->ops->open(e->io, name, STORE_IO_RDWR | STORE_IO_CREATE | STORE_IO_EXCL);
		if (fd >= 0) {
			err = e->io->ops->sync_dir(e->io);
			if (err) {
				e->io->ops->close(e->io, fd);
				fd = err;
			}
		}
	}
	if (fd < 0) {
		if (read_only_err(fd)) {
			go_read_only(e, fd, name);
			return 0;
		}
		log_error("store", "opening log %s: %s", name, store_strerror(fd));
		return fd;
	}
	err = e->io->ops->size(e->io, fd, &size);
	if (err) {
		e->io->ops->close(e->io, fd);
		return err;
	}
	e->wal_fd = fd;
	e->wal_off = size;
	e->bytes_since_snap = size;
	return 0;
}

static void remove_temps(struct emb *e)
{
	char **names;
	size_t n;

	if (e->io->ops->list(e->io, &names, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (l > 4 && !strcmp(names[i] + l - 4, ".tmp"))
			e->io->ops->unlink(e->io, names[i]);
	}
	free(names);
}

int emb_recover(struct emb *e)
{
	uint64_t *snaps = NULL, *wals = NULL, cut = 0, size = 0;
	size_t ns, nw, last = 0;
	bool loaded = false, have_last = false;
	int err;

	err = emb_list_files(e->io, &snaps, &ns, &wals, &nw);
	if (err) {
		log_error("store", "listing the data directory: %s", store_strerror(err));
		return err;
	}
	remove_temps(e);
	for (size_t i = ns; i-- > 0 && !loaded;) {
		err = load_snapshot(e, snaps[i]);
		if (err == -ENOMEM)
			goto out;
		loaded = !err;
	}
	err = 0;
	/* Without a snapshot the log must reach back to revision 1. */
	if (!loaded && ((nw && wals[0] != 1) || (ns && !nw))) {
		log_error("store", "no usable snapshot and the log does not reach back to "
				   "revision 1: refusing to open with lost history");
		err = -STORE_ECORRUPT;
		goto out;
	}
	if (!loaded && ns)
		log_warn("store", "no usable snapshot: replaying the whole log");
	for (size_t i = 0; i < nw; i++) {
		/* Skip segments that end at or below the snapshot. */
		if (i + 1 < nw && wals[i + 1] <= e->rev + 1)
			continue;
		err = replay_segment(e, wals[i], &cut, &size);
		if (err)
			goto out;
		last = i;
		have_last = true;
		if (cut < size) {
			char name[64];
			int terr;

			snprintf(name, sizeof(name), WAL_NAME_FMT, wals[i]);
			log_warn("store",
				 "%s: torn or corrupt record at offset %" PRIu64
				 ": cutting %" PRIu64 " bytes; recovered to revision %" PRIu64,
				 name, cut, size - cut, e->rev);
			e->st_truncated += size - cut;
			terr = emb_truncate(e, name, cut);
			if (terr) {
				go_read_only(e, terr, name);
				break;
			}
			discard_after(e, wals, i, nw);
			break;
		}
	}
	err = open_tail(e, have_last ? wals[last] : 0, have_last);
out:
	free(snaps);
	free(wals);
	return err;
}

int emb_truncate(struct emb *e, const char *name, uint64_t len)
{
	int fd = e->io->ops->open(e->io, name, STORE_IO_RDWR);
	int err;

	if (fd < 0)
		return fd;
	err = e->io->ops->truncate(e->io, fd, len);
	if (!err)
		err = e->io->ops->sync(e->io, fd);
	e->io->ops->close(e->io, fd);
	return err;
}
