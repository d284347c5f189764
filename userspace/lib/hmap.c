/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hmap: open addressing with linear probing in one array of slots; keys up to 16 bytes are
 * stored inside the slot (no allocation, no pointer to chase: the common keys here are 8-16
 * byte tuples), longer ones in a malloc'd copy. Deletion shifts the following entries back
 * (no tombstones), so lookups never degrade. The table doubles at 3/4 load.
 */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INLINE_KEY 16

struct hmap_entry {
	uint64_t hash; /* 0 = empty slot (hashes are forced non-zero) */
	void *val;
	size_t klen;
	union {
		unsigned char inl[INLINE_KEY];
		unsigned char *ptr;
	} k;
};

struct hmap {
	struct hmap_entry *slots;
	size_t cap; /* power of two */
	size_t size;
};

/* 64-bit FNV-1a followed by a final avalanche (splitmix64's), so that the low bits used to
 * pick a slot depend on every key byte. */
uint64_t hmap_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static uint64_t slot_hash(const void *key, size_t len)
{
	uint64_t h = hmap_hash(key, len);

	return h ? h : 1;
}

static const unsigned char *entry_key(const struct hmap_entry *e)
{
	return e->klen <= INLINE_KEY ? e->k.inl : e->k.ptr;
}

struct hmap *hmap_new(void)
{
	struct hmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cap = 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void hmap_free(struct hmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].hash && m->slots[i].klen > INLINE_KEY)
			free(m->slots[i].k.ptr);
	}
	free(m->slots);
	free(m);
}

size_t hmap_size(const struct hmap *m)
{
	return m->size;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const struct hmap *m, const void *key, size_t klen, uint64_t h)
{
	size_t mask = m->cap - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		const struct hmap_entry *e = &m->slots[i];

		if (!e->hash)
			return i;
		if (e->hash == h && e->klen == klen && memcmp(entry_key(e), key, klen) == 0)
			return i;
	}
}

void *hmap_get(const struct hmap *m, const void *key, size_t klen)
{
	const struct hmap_entry *e = &m->slots[find(m, key, klen, slot_hash(key, klen))];

	return e->hash ? e->val : NULL;
}

static int hmap_grow(struct hmap *m)
{
	size_t ncap = m->cap * 2, mask = ncap - 1;
	struct hmap_entry *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		struct hmap_entry *e = &m->slots[i];
		size_t j;

		if (!e->hash)
			continue;
		for (j = e->hash & mask; ns[j].hash; j = (j + 1) & mask)
			;
		ns[j] = *e;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int hmap_put(struct hmap *m, const void *key, size_t klen, void *val, void **old)
{
	uint64_t h = slot_hash(key, klen);
	size_t i = find(m, key, klen, h);
	struct hmap_entry *e = &m->slots[i];

	if (e->hash) {
		if (old)
			*old = e->val;
		e->val = val;
		return 1;
	}
	if ((m->size + 1) * 4 > m->cap * 3) {
		if (hmap_grow(m))
			return -ENOMEM;
		i = find(m, key, klen, h);
		e = &m->slots[i];
	}
	if (klen > INLINE_KEY) {
		e->k.ptr = malloc(klen);
		if (!e->k.ptr)
			return -ENOMEM;
		memcpy(e->k.ptr, key, klen);
	} else {
		memcpy(e->k.inl, key, klen);
	}
	e->hash = h;
	e->val = val;
	e->klen = klen;
	m->size++;
	if (old)
		*old = NULL;
	return 0;
}

void *hmap_del(struct hmap *m, const void *key, size_t klen)
{
	size_t mask = m->cap - 1, i = find(m, key, klen, slot_hash(key, klen)), j;
	struct hmap_entry *e = &m->slots[i];
	void *v;

	if (!e->hash)
		return NULL;
	v = e->val;
	if (e->klen > INLINE_KEY)
		free(e->k.ptr);
	/* Backward-shift deletion: move each following entry of the run into the hole if its
	 * home slot allows, so that every entry stays reachable from its home slot. */
	for (j = (i + 1) & mask; m->slots[j].hash; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;

		/* Entry j may move to i only if its home is not in (i, j] (cyclically). */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	memset(&m->slots[i], 0, sizeof(m->slots[i]));
	m->size--;
	return v;
}

struct hmap_entry *hmap_first(const struct hmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].hash)
			return &m->slots[i];
	}
	return NULL;
}

struct hmap_entry *hmap_next(const struct hmap *m, struct hmap_entry *e)
{
	for (size_t i = (size_t)(e - m->slots) + 1; i < m->cap; i++) {
		if (m->slots[i].hash)
			return &m->slots[i];
	}
	return NULL;
}

const void *hmap_entry_key(const struct hmap_entry *e, size_t *klen)
{
	if (klen)
		*klen = e->klen;
	return entry_key(e);
}

void *hmap_entry_val(const struct hmap_entry *e)
{
	return e->val;
}
