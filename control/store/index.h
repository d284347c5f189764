/* SPDX-License-Identifier: Apache-2.0 */
/*
 * index: the ordered in-memory index of the embedded store: a skip list of keys (bytewise
 * order), each with the versions kept for historical reads (oldest first; the last is the
 * latest, a deletion tombstone included until compaction drops it).
 * Not thread-safe: the embedded backend guards it with its rwlock.
 */
#ifndef DROVER_STORE_INDEX_H
#define DROVER_STORE_INDEX_H

#include "wal.h"

#define IDX_MAX_LEVEL 24

struct kentry {
	struct srec **ver;
	uint32_t nver, cap;
	uint8_t level;
	struct kentry *next[]; /* level pointers */
};

struct sindex {
	struct kentry *head;
	int level;
	uint64_t rng;
	uint64_t nlive;	    /* entries whose latest version is a put */
	uint64_t nversions; /* versions held */
};

/* Key order: bytewise, a prefix before what extends it (<0, 0, >0 as memcmp). */
int idx_key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);
int idx_init(struct sindex *idx);
void idx_destroy(struct sindex *idx);

struct kentry *idx_find(const struct sindex *idx, const void *key, size_t key_len);
/* First entry whose key is >= key (> key when after is true); NULL at the end. */
struct kentry *idx_seek(const struct sindex *idx, const void *key, size_t key_len, bool after);

static inline struct kentry *idx_next(const struct kentry *e)
{
	return e->next[0];
}

static inline struct kentry *idx_first(const struct sindex *idx)
{
	return idx->head->next[0];
}

static inline struct srec *kentry_latest(const struct kentry *e)
{
	return e->ver[e->nver - 1];
}

/* The latest version with revision <= rev, or NULL. */
struct srec *kentry_at(const struct kentry *e, uint64_t rev);

/* Appends rec as the newest version of its key (taking over one reference). The caller
 * guarantees rec->rev is above every version of the key. */
int idx_add(struct sindex *idx, struct srec *rec);

/* Drops every version not needed to read at revisions >= rev. */
void idx_compact(struct sindex *idx, uint64_t rev);

#endif
