/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hmap: a hash map from byte-string keys to pointers. Keys are copied into the map; values
 * are owned by the caller (hmap_free does not free them). Open addressing with linear probing,
 * doubling at 3/4 load (hmap.c). Not thread-safe: callers serialise access.
 */
#ifndef DROVER_HMAP_H
#define DROVER_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap;
struct hmap_entry;

struct hmap *hmap_new(void);
void hmap_free(struct hmap *m);
size_t hmap_size(const struct hmap *m);

void *hmap_get(const struct hmap *m, const void *key, size_t klen);
/* Insert or replace. Returns 0 (new key), 1 (replaced; *old gets the previous value if
 * old is not NULL) or -ENOMEM. */
int hmap_put(struct hmap *m, const void *key, size_t klen, void *val, void **old);
/* Remove. Returns the value, or NULL if absent. */
void *hmap_del(struct hmap *m, const void *key, size_t klen);

/* Iteration: for (it = hmap_first(m); it; it = hmap_next(m, it)). Deleting the current
 * entry during iteration is not allowed; collect keys first. */
struct hmap_entry *hmap_first(const struct hmap *m);
struct hmap_entry *hmap_next(const struct hmap *m, struct hmap_entry *e);
const void *hmap_entry_key(const struct hmap_entry *e, size_t *klen);
void *hmap_entry_val(const struct hmap_entry *e);

/* Convenience for NUL-terminated string keys. */
static inline void *hmap_sget(const struct hmap *m, const char *key);
static inline int hmap_sput(struct hmap *m, const char *key, void *val, void **old);
static inline void *hmap_sdel(struct hmap *m, const char *key);

uint64_t hmap_hash(const void *key, size_t len);

#include <string.h>
static inline void *hmap_sget(const struct hmap *m, const char *key)
{
	return hmap_get(m, key, strlen(key));
}
static inline int hmap_sput(struct hmap *m, const char *key, void *val, void **old)
{
	return hmap_put(m, key, strlen(key), val, old);
}
static inline void *hmap_sdel(struct hmap *m, const char *key)
{
	return hmap_del(m, key, strlen(key));
}

#endif
