/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wal: the one record format of the log and the snapshots, and the in-memory record (srec)
 * that carries it. A record is encoded once, when the write is accepted; the same bytes go to
 * the log, sit in the index, are shared by every watcher's event, and are copied into
 * snapshots.
 *
 * Record, little endian:  u32 len | u32 crc32(payload) | payload[len]
 *   payload:              u64 rev | u64 create_rev | u32 key_len | u8 type | u8 pad[3] = 0 |
 *                         key[key_len] | value[len - 24 - key_len]
 *   compaction (type 3):  u64 rev (the store's revision when it compacted) | u64
 *                         compact_rev | u32 key_len = 0 | u8 3 | u8 pad[3] = 0 (len 24); log
 *                         only, so that a restart keeps the compacted revision (a log from
 *                         before it has none and loads as it did)
 * Snapshot file:          "DRVSNAP1" | u64 rev | u64 compact_rev | u64 count | u64 raw_len |
 *                         u32 raw_crc | u32 header_crc | zlib(records, in key order, the
 *                         versions of a key oldest first)
 */
#ifndef DROVER_STORE_WAL_H
#define DROVER_STORE_WAL_H

#include "store_int.h"
#include "store_io.h"

#define WAL_HDR	     8u
#define WAL_FIXED    24u /* payload bytes before the key */
#define WAL_OVERHEAD (WAL_HDR + WAL_FIXED)
#define WAL_MAX_REC  (WAL_OVERHEAD + STORE_MAX_KEY + STORE_MAX_VALUE)
#define SNAP_HDR_LEN 48u

enum srec_type {
	SREC_PUT = 1,
	SREC_DEL = 2,
	SREC_COMPACT = 3, /* no key: create_rev holds the compacted revision */
};

/* One immutable version of one key. */
struct srec {
	struct store_ref ref;
	uint64_t rev;
	uint64_t create_rev;
	uint32_t key_len;
	uint32_t value_len;
	uint32_t enc_len;
	uint8_t type;
	uint8_t enc[]; /* the record, header included */
};

static inline const uint8_t *srec_key(const struct srec *r)
{
	return r->enc + WAL_OVERHEAD;
}

static inline const uint8_t *srec_value(const struct srec *r)
{
	return r->enc + WAL_OVERHEAD + r->key_len;
}

/* Builds and encodes a record; NULL on allocation failure. Holds one reference. */
struct srec *srec_new(enum srec_type type, uint64_t rev, uint64_t create_rev, const void *key,
		      size_t key_len, const void *value, size_t value_len);

/* Encodes the compaction record (WAL_OVERHEAD bytes) into out. */
void wal_encode_compact(uint8_t out[WAL_OVERHEAD], uint64_t rev, uint64_t compact_rev);

/* Decodes the record at buf[0..avail): returns its encoded length (> 0), 0 if avail == 0, or
 * -EBADMSG if it is torn (runs past avail) or corrupt (bad length, CRC, type or padding). On
 * success and with out != NULL, *out is a new srec holding a copy. */
int64_t wal_decode(const uint8_t *buf, size_t avail, struct srec **out);

/* Fills a kv view of r, taking a reference (values of deletions are empty). */
void srec_to_kv(struct srec *r, struct store_kv *kv);

struct snap_info {
	uint64_t rev;
	uint64_t compact_rev;
};

/* Writes a snapshot of recs[0..n) to name via a temporary file: write, fsync, rename, fsync
 * the directory. */
int snap_write(struct store_io *io, const char *name, const struct snap_info *info,
	       struct srec *const *recs, size_t n, int level);

/* Reads and checks the snapshot `name`; calls add(ctx, rec) for each record (in file order,
 * the callback takes over the reference and returns 0 or an error that aborts the load). */
int snap_read(struct store_io *io, const char *name, struct snap_info *info,
	      int (*add)(void *ctx, struct srec *rec), void *ctx);

/* Whole-file helpers over store_io. */
int io_read_all(struct store_io *io, const char *name, uint8_t **buf, size_t *len);

#endif
