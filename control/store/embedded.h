/* SPDX-License-Identifier: Apache-2.0 */
/*
 * embedded: the embedded backend's state, shared by its files: embedded.c (reads, watches,
 * open/close), commit.c (group commit), recovery.c (open: snapshot + log replay) and
 * snapshot.c (snapshots and cutting the log). The lock rules are at the top of embedded.c.
 */
#ifndef DROVER_STORE_EMBEDDED_H
#define DROVER_STORE_EMBEDDED_H

#include "index.h"
#include "store_int.h"
#include "store_io.h"
#include "tagindex.h"
#include "wal.h"

#define BATCH_MAX_REQS	4096
#define BATCH_MAX_BYTES (16u << 20)

/* The one event of one change, shared by the ring and every watcher's queue. */
struct sevent {
	struct store_event pub;
	struct store_ref ref;
	struct srec *rec, *prev;
};

/* A writer's request, on its stack while it waits. */
struct wreq {
	const struct store_write *w; /* NULL for a compaction */
	uint64_t compact_rev;
	struct store_write_result *res;
	int err;
	atomic_int done; /* set (then futex-woken) by the committer */
	struct wreq *next;
	struct srec *rec;   /* committer: the new version */
	struct srec *cur;   /* committer: the live version before it (borrowed) */
	size_t log_at;	    /* committer: where rec's record starts in the batch's bytes */
	struct tix_pre tag; /* committer: rec's tag in the index that covers its key */
};

struct snap_job;

struct emb {
	struct store base;
	struct store_embedded_opts opts;
	struct store_io *io;
	bool own_io;

	/* lock */
	pthread_rwlock_t lock;
	struct sindex idx;
	uint64_t rev;
	uint64_t compact_rev;
	struct store_index *indexes; /* secondary indexes (tagindex.h) */
	struct sevent **ring;	     /* events [ring_lo, rev] at ring[rev % ring_cap] */
	size_t ring_cap;
	uint64_t ring_lo;

	/* wlock */
	pthread_mutex_t wlock;
	struct store_watch **watchers;
	size_t nwatch, capwatch;

	/* write queue: a lock-free stack; qlock/qcond only park the idle committer */
	_Atomic(struct wreq *) qtop;
	atomic_int inflight; /* writers inside submit() */
	atomic_bool closing;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct wreq *pending; /* committer only: taken, not yet processed, oldest first */
	size_t last_batch;    /* committer only: size and duration of the last batch */
	uint64_t last_batch_ns;

	atomic_int write_err;

	/* committer thread only */
	pthread_t committer;
	bool committer_started;
	int wal_fd;
	uint64_t wal_off;
	uint64_t bytes_since_snap;
	uint8_t *buf;
	size_t buf_len, buf_cap;
	struct srec **ov; /* batch overlay, ov_cap slots */
	size_t ov_cap;
	uint32_t *ov_used; /* slots the current batch filled */
	size_t ov_nused;
	struct sevent **evs;
	struct store_event **fan;
	struct wreq **batch;

	/* snapshot thread (snap_lock) */
	pthread_t snapper;
	bool snapper_started;
	pthread_mutex_t snap_lock;
	pthread_cond_t snap_cond;
	struct snap_job *job;
	bool snap_busy, snap_stop, snap_inited;

	/* counters */
	atomic_uint_fast64_t st_writes, st_batches, st_slow, st_snapshots;
	uint64_t st_recovered, st_truncated;
	atomic_uint_fast64_t st_visited;
};

/* Applies a durable record to index, secondary indexes (by pre's tag, if given) and ring
 * (caller holds lock exclusively); *ev_out, if given, gets an extra reference to the event. */
int emb_apply(struct emb *e, struct srec *rec, const struct tix_pre *pre, uint64_t now,
	      struct sevent **ev_out);

/* The event of revision rev, which must lie in [ring_lo, rev] (caller holds lock). */
static inline struct sevent *emb_ring_get(struct emb *e, uint64_t rev)
{
	return e->ring[rev % e->ring_cap];
}

/* commit.c: the write path and the committer thread. */
int emb_write(struct store *s, const struct store_write *w, struct store_write_result *res);
int emb_compact(struct store *s, uint64_t rev);
void *emb_committer_main(void *arg);
void emb_compact_locked(struct emb *e, uint64_t rev);

int emb_recover(struct emb *e);
int emb_truncate(struct emb *e, const char *name, uint64_t len);

/* Parses "<pre><16 hex digits><suf>". */
int emb_parse_name(const char *name, const char *pre, const char *suf, uint64_t *v);
/* Sorted snapshot revisions and log segment starts found in the directory (malloc'd). */
int emb_list_files(struct store_io *io, uint64_t **snaps, size_t *nsnaps, uint64_t **wals,
		   size_t *nwals);

int emb_snapshot_start(struct emb *e);
void emb_snapshot_stop(struct emb *e);
/* Committer, after a batch: cuts the log and hands a snapshot job over when due. */
void emb_maybe_snapshot(struct emb *e);

#define WAL_NAME_FMT  "wal-%016" PRIx64 ".log"
#define SNAP_NAME_FMT "snap-%016" PRIx64 ".snap"

#endif
