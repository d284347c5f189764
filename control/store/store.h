/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: drover's key-value store with one global revision, the storage of the API server.
 *
 * Every object lives under a key (/registry/<resource>/<namespace>/<name>) whose value is the
 * object's JSON. Every successful create, update or delete gets the next revision of one
 * global, strictly increasing counter; that revision is the object's resourceVersion.
 *
 * One interface, several backends (struct store_ops): the embedded backend (in-memory index +
 * write-ahead log + snapshots, store_open_embedded()) is the default; an etcd backend plugs in
 * behind the same calls. Nothing above the store reaches a backend any other way.
 *
 * Errors: every call returns 0 (or a count) on success and a negative error code otherwise:
 *   -ENOENT            key not found (get, update, delete)
 *   -EEXIST            create of a key that exists
 *   -STORE_ECONFLICT   revision precondition failed (the API answers 409 Conflict)
 *   -STORE_ECOMPACTED  revision older than the kept history or compacted away; also an
 *                      expired continue token (the API answers 410 Gone + current revision)
 *   -ERANGE            read at a revision above the current one
 *   -EMSGSIZE          key or value larger than STORE_MAX_KEY / STORE_MAX_VALUE
 *   -STORE_ECLOSED     the store is closing/closed, or the watch was closed by the store
 *   -STORE_ESLOW       watch cancelled because its consumer fell too far behind
 *   -STORE_ECORRUPT    on-disk state unusable (no valid snapshot and no complete log)
 *   -EINVAL, -ENOMEM   bad argument, allocation failure
 *   -EIO, -ENOSPC, -EROFS, ...   the disk's own error, passed through unchanged. -ENOSPC
 *                      refuses only the writes that did not fit (the log is cut back; later
 *                      writes may fit). Any other failed write or sync makes the store refuse
 *                      every later write with that error (the page cache can no longer be
 *                      trusted) while it keeps serving reads.
 * store_strerror() names each one.
 *
 * Durability: a write returns success only after the log record that holds it has reached the
 * disk (fdatasync completed), and it becomes visible to readers and watchers at that same
 * moment, never before. Reads never wait for the disk.
 *
 * Thread safety: every function may be called from any thread concurrently, except that
 * store_close() must not race with other calls on the same store (a consumer blocked in
 * store_watch_next() is fine: it wakes with -STORE_ECLOSED); a struct store_watch is owned by
 * one consumer thread at a time (store_watch_next/store_watch_close), while the store feeds it
 * from its own thread. The embedded backend's locks are described in embedded.c.
 *
 * Ownership: results (struct store_kv, struct store_list, struct store_event) are zero-copy
 * views of immutable store memory; each holds a reference that the caller drops with
 * store_kv_release(), store_list_free() or store_event_put(). Input buffers are only read
 * during the call.
 */
#ifndef DROVER_STORE_H
#define DROVER_STORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Store-specific error codes, outside the errno range (as libbpf does). */
enum {
	STORE_ERRNO__START = 4000,
	STORE_ECONFLICT = 4001,
	STORE_ECOMPACTED = 4002,
	STORE_ECLOSED = 4003,
	STORE_ESLOW = 4004,
	STORE_ECORRUPT = 4005,
};

/* etcd's default request limit is 1.5 MiB; a value of exactly that size is accepted. */
#define STORE_MAX_VALUE (1536u * 1024u)
#define STORE_MAX_KEY	4096u

struct store;
struct store_ref; /* a backend's reference count behind a zero-copy view */

/* One key at one revision. */
struct store_kv {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value; /* empty (value_len 0) is a valid value */
	size_t value_len;
	uint64_t create_rev; /* revision that created this incarnation of the key */
	uint64_t mod_rev;    /* revision of the last change: the resourceVersion; 0 = no kv */
	struct store_ref *_ref;
};

/* Drop the reference of a kv filled by the store; zeroes it. NULL- and empty-tolerant. */
void store_kv_release(struct store_kv *kv);
/* A second reference to the value of a kv that holds one (get and list results): out must be
 * released too. A kv borrowed from an event holds none (out is a borrowed view as well):
 * keep the event instead (store_event_get). */
void store_kv_dup(const struct store_kv *kv, struct store_kv *out);

/* ---- writes ---- */

enum store_write_op {
	STORE_CREATE = 1, /* fails with -EEXIST if the key exists */
	STORE_UPDATE,	  /* fails with -ENOENT if the key does not exist */
	STORE_DELETE,	  /* fails with -ENOENT if the key does not exist */
};

struct store_write {
	enum store_write_op op;
	const void *key;
	size_t key_len;
	const void *value; /* CREATE/UPDATE; ignored by DELETE */
	size_t value_len;
	/* UPDATE/DELETE precondition: the key's current mod_rev must equal this, else
	 * -STORE_ECONFLICT. 0 = no precondition. */
	uint64_t expect_rev;
};

struct store_write_result {
	uint64_t rev; /* revision of this write (0 on failure) */
	/* UPDATE/DELETE success: the value it replaced. -STORE_ECONFLICT and -EEXIST: the current
	 * value, so the caller can answer or retry without another get. Else mod_rev == 0. */
	struct store_kv prev;
};

/* Performs one write, durably. res may be NULL. res->prev must be released by the caller. */
int store_write(struct store *s, const struct store_write *w, struct store_write_result *res);

/* Convenience wrappers around store_write(); rev_out may be NULL. */
int store_create(struct store *s, const void *key, size_t key_len, const void *value,
		 size_t value_len, uint64_t *rev_out);
int store_update(struct store *s, const void *key, size_t key_len, const void *value,
		 size_t value_len, uint64_t expect_rev, uint64_t *rev_out);
int store_delete(struct store *s, const void *key, size_t key_len, uint64_t expect_rev,
		 uint64_t *rev_out);

/* ---- reads ---- */

/* Latest value (rev 0) or the value as of revision rev. -ENOENT, -STORE_ECOMPACTED, -ERANGE. */
int store_get(struct store *s, const void *key, size_t key_len, uint64_t rev, struct store_kv *out);

struct store_index;
struct store_list_opts {
	const void *prefix; /* byte prefix; empty = every key */
	size_t prefix_len;
	size_t limit;		    /* at most this many items; 0 = all */
	const char *continue_token; /* from a previous page's .next, or NULL */
	uint64_t rev;		    /* 0 = current; ignored with a continue token */
	/* Optional: only the keys whose value index (store_index_add) tags with tag (its first
	 * STORE_TAG_MAX bytes). At the current revision the index gives them without a look at
	 * any other key; at an older one each value under the prefix is tagged as it is read. */
	struct store_index *index;
	const void *tag;
	size_t tag_len;
};

struct store_list {
	struct store_kv *items; /* in key order (bytewise) */
	size_t count;
	uint64_t rev; /* the revision this page (and every later page) reflects */
	/* Non-NULL when more keys follow: pass as continue_token with the same prefix. The
	 * token pins rev; once rev is compacted away the next page fails -STORE_ECOMPACTED. */
	char *next;
};

int store_list(struct store *s, const struct store_list_opts *o, struct store_list *out);
/* Releases every item and the token; NULL-tolerant, and zeroes *l. */
void store_list_free(struct store_list *l);

/* ---- secondary indexes ---- */

#define STORE_TAG_MAX 256
/* The tag of a value (key under the index's prefix): written into out (size bytes: longer
 * tags are cut there), its length returned. A pure function of key and value. */
typedef size_t (*store_tag_fn)(const void *key, size_t key_len, const void *value, size_t value_len,
			       char *out, size_t size);
/* An index of the live keys under prefix by the tag fn gives their latest value, kept as
 * every write is applied; built at once from what the store holds (after a restart too: the
 * store recovers, then the index is built). The same prefix and fn again: the index already
 * made. *out is the store's (freed by store_close). 0, -ENOMEM, -EOPNOTSUPP (a backend
 * without indexes: list with a plain prefix). */
int store_index_add(struct store *s, const void *prefix, size_t prefix_len, store_tag_fn fn,
		    struct store_index **out);

/* Current revision: that of the latest visible write (0 for an empty store). */
uint64_t store_revision(struct store *s);
/* Oldest revision still readable (reads and watches from below it: -STORE_ECOMPACTED). */
uint64_t store_compacted_revision(struct store *s);

/* Drops history before rev: reads at revisions < rev become -STORE_ECOMPACTED, as do watches
 * from before it, also after a restart (the compaction is durable when this returns 0).
 * rev <= the compacted revision: -STORE_ECOMPACTED; rev > current: -EINVAL. */
int store_compact(struct store *s, uint64_t rev);

/* ---- watch ---- */

enum store_event_type {
	STORE_EVENT_CREATE = 1, /* ADDED */
	STORE_EVENT_UPDATE,	/* MODIFIED */
	STORE_EVENT_DELETE, /* DELETED: kv has the key and an empty value; prev the last value */
};

/* One change. Immutable and shared by every watcher (built once per change); the store never
 * copies it per watcher. */
struct store_event {
	enum store_event_type type;
	struct store_kv kv;   /* kv.mod_rev is the event's revision */
	struct store_kv prev; /* previous value (mod_rev 0 for a create) */
	uint64_t commit_ns;   /* CLOCK_MONOTONIC time it became visible (0 if recovered) */
	struct store_ref *_ref;
};

void store_event_put(const struct store_event *ev);
/* A kv that views ev's new or previous value (ev->kv, ev->prev, or a copy of either with
 * other metadata) as a kv of its own: out = *kv with a reference to that one value, so
 * holding it keeps neither the event nor the other value alive. Release out. */
void store_event_value(const struct store_event *ev, const struct store_kv *kv,
		       struct store_kv *out);
/* Another reference to an event (put it too). */
void store_event_get(const struct store_event *ev);

struct store_watch_set;

struct store_watch_opts {
	const void *prefix; /* events of keys with this byte prefix */
	size_t prefix_len;
	/* Optional: signal this set instead of the watch's own fd (see store_watch_set_new). */
	struct store_watch_set *set;
	/* Deliver every change with revision >= from_rev, then every later one, in order.
	 * 0 = only changes after the current revision. A from_rev older than the kept event
	 * history or the compacted revision: -STORE_ECOMPACTED. */
	uint64_t from_rev;
};

struct store_watch;

int store_watch_open(struct store *s, const struct store_watch_opts *o, struct store_watch **out);

/* A file descriptor that is readable while store_watch_next() would not block (an event is
 * queued or the watch is cancelled). Owned by the watch; for poll/epoll only. -EINVAL for a
 * watch in a set. */
int store_watch_fd(const struct store_watch *w);

/* Next event: returns 1 and *ev (release with store_event_put), 0 if none arrived within
 * timeout_ms (0 = do not wait, -1 = forever; a watch in a set takes 0 only), or the
 * cancellation reason: -STORE_ESLOW (fell behind by more than the store's queue bound; its
 * queued events are dropped), -STORE_ECLOSED (store closed). A cancelled watch returns the
 * same error on every later call. */
int store_watch_next(struct store_watch *w, struct store_event **ev, int timeout_ms);

/* Events queued and not yet taken (for metrics). */
size_t store_watch_pending(struct store_watch *w);

/* Stops the watch and frees it; NULL-tolerant. */
void store_watch_close(struct store_watch *w);

/* Watch sets: one pollable fd for many watches, for an event loop serving thousands of watch
 * streams from a few threads. A per-watch fd costs one eventfd write and one read per watch
 * and event; a set costs one per batch. A watch joins a set at open (opts.set) and signals
 * only the set. store_watch_set_ready() hands out the watches that have events (or were
 * cancelled) since they were last handed out: the caller drains each one it gets, calling
 * store_watch_next(w, &ev, 0) until it returns 0 or an error (a watch handed out and not
 * drained is not handed out again until it is). One consumer thread per set at a time; the
 * set outlives its watches (close them before store_watch_set_free). */
int store_watch_set_new(struct store_watch_set **out);
void store_watch_set_free(struct store_watch_set *set);
/* Readable while store_watch_set_ready() would return watches. */
int store_watch_set_fd(const struct store_watch_set *set);
/* Up to max ready watches into out; waits up to timeout_ms (0 = not, -1 = forever). */
size_t store_watch_set_ready(struct store_watch_set *set, struct store_watch **out, size_t max,
			     int timeout_ms);

/* ---- counters ---- */

struct store_stats {
	uint64_t rev;
	uint64_t compact_rev;
	uint64_t keys;	   /* live keys */
	uint64_t versions; /* kept versions, live and historical */
	uint64_t writes;   /* successful writes since open */
	uint64_t batches;  /* group commits (one fdatasync each) since open */
	uint64_t watchers;
	uint64_t watch_slow_cancels;
	uint64_t snapshots;		   /* snapshots written since open */
	uint64_t recovered_records;	   /* log records replayed at open */
	uint64_t recovery_truncated_bytes; /* torn/corrupt log tail cut at open */
	uint64_t list_visited;		   /* versions lists looked at, since open */
	int write_error;		   /* sticky write error (0 = writable) */
};

int store_get_stats(struct store *s, struct store_stats *st);

/* ---- lifecycle ---- */

struct store_io; /* the log's I/O layer (store_io.h): a test seam, NULL for the real one */

struct store_embedded_opts {
	size_t sz;	 /* sizeof(struct store_embedded_opts), for later extension */
	const char *dir; /* data directory; created if missing */
	/* Events kept for watches that start in the past (default 10000); it is also the span
	 * of revisions kept for historical reads: every snapshot compacts below it. */
	size_t history;
	/* Per-watcher queue bound (default 10000 events, at least the backlog a watch starts
	 * with): a watcher further behind is cancelled with -STORE_ESLOW. */
	size_t watch_queue_max;
	/* Log bytes between snapshots (default 64 MiB). After a snapshot the log is cut. */
	uint64_t snapshot_bytes;
	/* zlib level of snapshots (default 1: fast). */
	int snapshot_level;
	/* I/O layer (borrowed; outlives the store). NULL: the real one over dir (liburing). */
	struct store_io *io;
};

/* Opens (recovering snapshot + log) or creates the embedded store. On a read-only file system
 * the store opens with the last consistent state and every write fails -EROFS. */
int store_open_embedded(const struct store_embedded_opts *o, struct store **out);

/* Waits for writes in flight, cancels open watches (-STORE_ECLOSED; they must still be closed
 * with store_watch_close), stops the store's threads and frees it. NULL-tolerant. */
void store_close(struct store *s);

const char *store_strerror(int err);
const char *store_backend_name(const struct store *s);

#endif
