/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tagindex: the embedded store's secondary indexes (store_index_add): for the live keys
 * under a prefix, the tag their latest value has (the caller's function names it), and for
 * each tag its keys in key order, so that a list of one tag visits those keys only.
 * Not thread-safe: the embedded backend changes an index with its lock held exclusively (the
 * committer, as it applies a record) and reads it with the lock shared.
 */
#ifndef DROVER_STORE_TAGINDEX_H
#define DROVER_STORE_TAGINDEX_H

#include "index.h"
#include "store.h"

struct tix_key {
	uint8_t *key;
	size_t len;
};

/* The keys of one tag, in key order. */
struct tix_set {
	char tag[STORE_TAG_MAX];
	size_t tag_len;
	struct tix_key *keys;
	size_t n, cap;
};

struct store_index {
	struct store_index *next;
	uint8_t *prefix;
	size_t prefix_len;
	store_tag_fn fn;
	struct hmap *by_key; /* key -> the struct tix_set holding it */
	struct hmap *by_tag; /* tag -> struct tix_set */
	bool broken;	     /* a refiling failed (ENOMEM): lists no longer trust it */
};

/* A tag worked out ahead for ix, outside the store's lock (a tag function may parse the
 * value): the lock is held exclusively only to refile. */
struct tix_pre {
	const struct store_index *ix; /* NULL: none */
	size_t len;
	char tag[STORE_TAG_MAX];
};

/* A new index over the live keys of idx under prefix (each tagged by fn). NULL on ENOMEM. */
struct store_index *tix_new(const struct sindex *idx, const void *prefix, size_t prefix_len,
			    store_tag_fn fn);
void tix_free(struct store_index *ix);
/* The key's latest version is now value (put) or gone (!put): refile it, by pre's tag if it
 * is ix's (else the value is tagged now). 0 or -ENOMEM (the index is then wrong: the caller
 * stops trusting it). */
int tix_update(struct store_index *ix, const uint8_t *key, size_t key_len, const uint8_t *value,
	       size_t value_len, bool put, const struct tix_pre *pre);
/* The tag of a value, as the index files it (fn's, at most STORE_TAG_MAX bytes), into buf. */
size_t tix_tag(const struct store_index *ix, const uint8_t *key, size_t key_len,
	       const uint8_t *value, size_t value_len, char *buf);
/* The keys of tag (NULL: none). */
const struct tix_set *tix_find(const struct store_index *ix, const void *tag, size_t tag_len);
/* The first position in s whose key is >= key (> key when after is true). */
size_t tix_seek(const struct tix_set *s, const uint8_t *key, size_t key_len, bool after);
/* Does key fall under the index's prefix? */
bool tix_covers(const struct store_index *ix, const uint8_t *key, size_t key_len);

#endif
