/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot: periodic snapshots of the embedded store and cutting the log.
 *
 * When the log has grown by snapshot_bytes since the last snapshot, the committer (between
 * two batches, so at one revision S): compacts history to the start of the event ring, starts
 * a new log segment wal-<S+1> (directory fsynced before anything is written to it), takes a
 * reference to every kept version, and hands that list to the snapshot thread. The records
 * are immutable, so the snapshot thread writes them (zlib) without holding any lock while
 * writes go on. A finished snapshot is renamed into place and the directory fsynced; then the
 * two newest snapshots are kept, and the log segments that only hold revisions at or below
 * the older of the two are deleted, so a corrupt newest snapshot still recovers fully from
 * the older one plus the log.
 * Lock: snap_lock guards job, snap_busy and snap_stop.
 */
#include "embedded.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct snap_job {
	struct snap_info info;
	struct srec **recs;
	size_t n;
};

static void job_free(struct snap_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		sref_put(&j->recs[i]->ref);
	free(j->recs);
	free(j);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int emb_parse_name(const char *name, const char *pre, const char *suf, uint64_t *v)
{
	size_t pl = strlen(pre), sl = strlen(suf), n = strlen(name);
	uint64_t x = 0;

	if (n != pl + 16 + sl || strncmp(name, pre, pl) || strcmp(name + pl + 16, suf))
		return -EINVAL;
	for (size_t i = pl; i < pl + 16; i++) {
		char c = name[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return 0;
}

int emb_list_files(struct store_io *io, uint64_t **snaps, size_t *nsnaps, uint64_t **wals,
		   size_t *nwals)
{
	char **names;
	size_t n;
	int err = io->ops->list(io, &names, &n);

	if (err)
		return err;
	*snaps = calloc(n + 1, sizeof(uint64_t));
	*wals = calloc(n + 1, sizeof(uint64_t));
	*nsnaps = *nwals = 0;
	if (!*snaps || !*wals) {
		free(*snaps);
		free(*wals);
		free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		if (!emb_parse_name(names[i], "snap-", ".snap", &v))
			(*snaps)[(*nsnaps)++] = v;
		else if (!emb_parse_name(names[i], "wal-", ".log", &v))
			(*wals)[(*nwals)++] = v;
	}
	free(names);
	qsort(*snaps, *nsnaps, sizeof(uint64_t), cmp_u64);
	qsort(*wals, *nwals, sizeof(uint64_t), cmp_u64);
	return 0;
}

/* Keeps the two newest snapshots and the log from the older of them on. */
static void cleanup(struct emb *e)
{
	uint64_t *snaps, *wals, keep_from;
	size_t ns, nw;
	char name[64];

	if (emb_list_files(e->io, &snaps, &ns, &wals, &nw))
		return;
	for (size_t i = 0; i + 2 < ns; i++) {
		snprintf(name, sizeof(name), SNAP_NAME_FMT, snaps[i]);
		e->io->ops->unlink(e->io, name);
	}
	if (ns >= 2) {
		keep_from = snaps[ns - 2];
		/* Segment i holds [wals[i], wals[i+1]); unneeded once all of it is <= keep_from. */
		for (size_t i = 0; i + 1 < nw && wals[i + 1] <= keep_from + 1; i++) {
			snprintf(name, sizeof(name), WAL_NAME_FMT, wals[i]);
			e->io->ops->unlink(e->io, name);
		}
	}
	e->io->ops->sync_dir(e->io); /* not needed for safety: keeps a restart from re-reading */
	free(snaps);
	free(wals);
}

static void *snapper_main(void *arg)
{
	struct emb *e = arg;

	for (;;) {
		struct snap_job *j;
		char name[64];
		int err;

		pthread_mutex_lock(&e->snap_lock);
		while (!e->job && !e->snap_stop)
			pthread_cond_wait(&e->snap_cond, &e->snap_lock);
		j = e->job;
		e->job = NULL;
		pthread_mutex_unlock(&e->snap_lock);
		if (!j)
			break;
		snprintf(name, sizeof(name), SNAP_NAME_FMT, j->info.rev);
		err = snap_write(e->io, name, &j->info, j->recs, j->n, e->opts.snapshot_level);
		if (err) {
			log_warn("store", "snapshot %s: %s; the log keeps every write", name,
				 store_strerror(err));
		} else {
			atomic_fetch_add(&e->st_snapshots, 1);
			cleanup(e);
		}
		job_free(j);
		pthread_mutex_lock(&e->snap_lock);
		e->snap_busy = false;
		pthread_cond_broadcast(&e->snap_cond);
		pthread_mutex_unlock(&e->snap_lock);
	}
	return NULL;
}

int emb_snapshot_start(struct emb *e)
{
	int err;

	pthread_mutex_init(&e->snap_lock, NULL);
	pthread_cond_init(&e->snap_cond, NULL);
	e->snap_inited = true;
	err = -pthread_create(&e->snapper, NULL, snapper_main, e);
	if (!err)
		e->snapper_started = true;
	return err;
}

void emb_snapshot_stop(struct emb *e)
{
	if (!e->snap_inited)
		return;
	if (e->snapper_started) {
		pthread_mutex_lock(&e->snap_lock);
		e->snap_stop = true;
		pthread_cond_broadcast(&e->snap_cond);
		pthread_mutex_unlock(&e->snap_lock);
		pthread_join(e->snapper, NULL);
		e->snapper_started = false;
	}
	job_free(e->job);
	e->job = NULL;
	pthread_mutex_destroy(&e->snap_lock);
	pthread_cond_destroy(&e->snap_cond);
	e->snap_inited = false;
}

/* Starts segment wal-<rev+1>; on failure the current one simply goes on. */
static int cut_log(struct emb *e)
{
	char name[64];
	int fd, err;

	snprintf(name, sizeof(name), WAL_NAME_FMT, e->rev + 1);
	fd = e->io->ops->open(e->io, name, STORE_IO_RDWR | STORE_IO_CREATE | STORE_IO_EXCL);
	if (fd < 0)
		return fd;
	err = e->io->ops->sync_dir(e->io);
	if (err) {
		e->io->ops->close(e->io, fd);
		e->io->ops->unlink(e->io, name);
		return err;
	}
	e->io->ops->close(e->io, e->wal_fd);
	e->wal_fd = fd;
	e->wal_off = 0;
	return 0;
}

void emb_maybe_snapshot(struct emb *e)
{
	struct snap_job *j;
	struct kentry *k;
	bool busy;
	int err;

	if (e->bytes_since_snap < e->opts.snapshot_bytes || atomic_load(&e->write_err))
		return;
	pthread_mutex_lock(&e->snap_lock);
	busy = e->snap_busy;
	pthread_mutex_unlock(&e->snap_lock);
	if (busy)
		return;
	e->bytes_since_snap = 0;
	err = cut_log(e);
	if (err) {
		log_warn("store", "starting a new log segment: %s; snapshot postponed",
			 store_strerror(err));
		return;
	}
	/* Keep history as far back as the event ring reaches, no further. */
	pthread_rwlock_wrlock(&e->lock);
	emb_compact_locked(e, e->ring_lo <= e->rev ? e->ring_lo : e->rev);
	pthread_rwlock_unlock(&e->lock);

	j = calloc(1, sizeof(*j));
	if (j)
		j->recs = malloc((e->idx.nversions + 1) * sizeof(*j->recs));
	if (!j || !j->recs) {
		free(j);
		log_warn("store", "snapshot: out of memory; postponed");
		return;
	}
	/* The committer is the only thread that changes the index: no lock needed to read. */
	for (k = idx_first(&e->idx); k; k = idx_next(k)) {
		for (uint32_t i = 0; i < k->nver; i++) {
			sref_get(&k->ver[i]->ref);
			j->recs[j->n++] = k->ver[i];
		}
	}
	j->info.rev = e->rev;
	j->info.compact_rev = e->compact_rev;
	pthread_mutex_lock(&e->snap_lock);
	e->job = j;
	e->snap_busy = true;
	pthread_cond_signal(&e->snap_cond);
	pthread_mutex_unlock(&e->snap_lock);
}
