/* SPDX-License-Identifier: Apache-2.0 */
/* hmap: separate chaining with the key stored inline after each entry. */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct hmap_entry {
	struct hmap_entry *next;
	uint64_t hash;
	void *val;
	size_t klen;
	unsigned char key[];
};

struct hmap {
	struct hmap_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t size;
};

/* 64-bit FNV-1a followed by a final avalanche (splitmix64's), so that the low bits used to
 * pick a bucket depend on every key byte. */
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

struct hmap *hmap_new(void)
{
	struct hmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nbuckets = 16;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	return m;
}

void hmap_free(struct hmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct hmap_entry *e = m->buckets[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

size_t hmap_size(const struct hmap *m)
{
	return m->size;
}

static struct hmap_entry **hmap_slot(const struct hmap *m, const void *key, size_t klen, uint64_t h)
{
	struct hmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0)
			break;
	}
	return pp;
}

void *hmap_get(const struct hmap *m, const void *key, size_t klen)
{
	struct hmap_entry *e = *hmap_slot(m, key, klen, hmap_hash(key, klen));

	return e ? e->val : NULL;
}

static int hmap_grow(struct hmap *m)
{
	size_t n = m->nbuckets * 2;
	struct hmap_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct hmap_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int hmap_put(struct hmap *m, const void *key, size_t klen, void *val, void **old)
{
	uint64_t h = hmap_hash(key, klen);
	struct hmap_entry **pp = hmap_slot(m, key, klen, h), *e;

	if (*pp) {
		if (old)
			*old = (*pp)->val;
		(*pp)->val = val;
		return 1;
	}
	if (m->size >= m->nbuckets && hmap_grow(m) == 0)
		pp = hmap_slot(m, key, klen, h);
	e = malloc(sizeof(*e) + klen);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->val = val;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->next = NULL;
	*pp = e;
	m->size++;
	if (old)
		*old = NULL;
	return 0;
}

void *hmap_del(struct hmap *m, const void *key, size_t klen)
{
	struct hmap_entry **pp = hmap_slot(m, key, klen, hmap_hash(key, klen)), *e = *pp;
	void *v;

	if (!e)
		return NULL;
	*pp = e->next;
	v = e->val;
	free(e);
	m->size--;
	return v;
}

struct hmap_entry *hmap_first(const struct hmap *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		if (m->buckets[i])
			return m->buckets[i];
	}
	return NULL;
}

struct hmap_entry *hmap_next(const struct hmap *m, struct hmap_entry *e)
{
	if (e->next)
		return e->next;
	for (size_t i = (e->hash & (m->nbuckets - 1)) + 1; i < m->nbuckets; i++) {
		if (m->buckets[i])
			return m->buckets[i];
	}
	return NULL;
}

const void *hmap_entry_key(const struct hmap_entry *e, size_t *klen)
{
	if (klen)
		*klen = e->klen;
	return e->key;
}

void *hmap_entry_val(const struct hmap_entry *e)
{
	return e->val;
}
