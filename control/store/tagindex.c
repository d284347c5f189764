/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tagindex: secondary indexes of the embedded store (tagindex.h). Two maps: key -> the set it
 * is filed in, and tag -> set; a set keeps its keys sorted (bytewise, as the ordered index),
 * so a list of one tag comes out in key order and a continue token seeks by binary search.
 */
#include "tagindex.h"

#include "hmap.h"

#include <stdlib.h>
#include <string.h>

bool tix_covers(const struct store_index *ix, const uint8_t *key, size_t key_len)
{
	return key_len >= ix->prefix_len && !memcmp(key, ix->prefix, ix->prefix_len);
}

size_t tix_tag(const struct store_index *ix, const uint8_t *key, size_t key_len,
	       const uint8_t *value, size_t value_len, char *buf)
{
	size_t n = ix->fn(key, key_len, value, value_len, buf, STORE_TAG_MAX);

	return n > STORE_TAG_MAX ? STORE_TAG_MAX : n;
}

size_t tix_seek(const struct tix_set *s, const uint8_t *key, size_t key_len, bool after)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = idx_key_cmp(s->keys[mid].key, s->keys[mid].len, key, key_len);

		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void set_remove(struct store_index *ix, struct tix_set *s, const uint8_t *key,
		       size_t key_len)
{
	size_t i = tix_seek(s, key, key_len, false);

	if (i < s->n && !idx_key_cmp(s->keys[i].key, s->keys[i].len, key, key_len)) {
		free(s->keys[i].key);
		memmove(&s->keys[i], &s->keys[i + 1], (s->n - i - 1) * sizeof(s->keys[0]));
		s->n--;
	}
	if (!s->n) {
		hmap_del(ix->by_tag, s->tag, s->tag_len);
		free(s->keys);
		free(s);
	}
}

static int set_insert(struct tix_set *s, const uint8_t *key, size_t key_len)
{
	size_t i = tix_seek(s, key, key_len, false);
	uint8_t *copy;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct tix_key *k = realloc(s->keys, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		s->keys = k;
		s->cap = cap;
	}
	copy = malloc(key_len ? key_len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, key_len);
	memmove(&s->keys[i + 1], &s->keys[i], (s->n - i) * sizeof(s->keys[0]));
	s->keys[i] = (struct tix_key){.key = copy, .len = key_len};
	s->n++;
	return 0;
}

static struct tix_set *set_get(struct store_index *ix, const char *tag, size_t tag_len)
{
	struct tix_set *s = hmap_get(ix->by_tag, tag, tag_len);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->tag, tag, tag_len);
	s->tag_len = tag_len;
	if (hmap_put(ix->by_tag, s->tag, s->tag_len, s, NULL) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

int tix_update(struct store_index *ix, const uint8_t *key, size_t key_len, const uint8_t *value,
	       size_t value_len, bool put, const struct tix_pre *pre)
{
	struct tix_set *old, *cur = NULL;
	char tag[STORE_TAG_MAX];

	if (!tix_covers(ix, key, key_len))
		return 0;
	old = hmap_get(ix->by_key, key, key_len);
	if (put) {
		size_t n = pre && pre->ix == ix ? pre->len
						: tix_tag(ix, key, key_len, value, value_len, tag);

		if (pre && pre->ix == ix)
			memcpy(tag, pre->tag, n);

		if (old && old->tag_len == n && !memcmp(old->tag, tag, n))
			return 0;
		cur = set_get(ix, tag, n);
		if (!cur || set_insert(cur, key, key_len) != 0)
			return -ENOMEM;
		if (hmap_put(ix->by_key, key, key_len, cur, NULL) < 0)
			return -ENOMEM;
	} else if (old) {
		hmap_del(ix->by_key, key, key_len);
	}
	if (old)
		set_remove(ix, old, key, key_len);
	return 0;
}

const struct tix_set *tix_find(const struct store_index *ix, const void *tag, size_t tag_len)
{
	/* tags are filed cut at STORE_TAG_MAX bytes: so is the one asked for */
	return hmap_get(ix->by_tag, tag, tag_len < STORE_TAG_MAX ? tag_len : STORE_TAG_MAX);
}

void tix_free(struct store_index *ix)
{
	if (!ix)
		return;
	if (ix->by_tag)
		for (struct hmap_entry *it = hmap_first(ix->by_tag); it;
		     it = hmap_next(ix->by_tag, it)) {
			struct tix_set *s = hmap_entry_val(it);

			for (size_t i = 0; i < s->n; i++)
				free(s->keys[i].key);
			free(s->keys);
			free(s);
		}
	hmap_free(ix->by_tag);
	hmap_free(ix->by_key);
	free(ix->prefix);
	free(ix);
}

struct store_index *tix_new(const struct sindex *idx, const void *prefix, size_t prefix_len,
			    store_tag_fn fn)
{
	struct store_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return NULL;
	ix->fn = fn;
	ix->prefix_len = prefix_len;
	ix->prefix = malloc(prefix_len ? prefix_len : 1);
	ix->by_key = hmap_new();
	ix->by_tag = hmap_new();
	if (!ix->prefix || !ix->by_key || !ix->by_tag) {
		tix_free(ix);
		return NULL;
	}
	memcpy(ix->prefix, prefix, prefix_len);
	for (struct kentry *k = idx_seek(idx, prefix, prefix_len, false); k; k = idx_next(k)) {
		struct srec *r = kentry_latest(k);

		if (!tix_covers(ix, srec_key(r), r->key_len))
			break;
		if (r->type == SREC_PUT && tix_update(ix, srec_key(r), r->key_len, srec_value(r),
						      r->value_len, true, NULL)) {
			tix_free(ix);
			return NULL;
		}
	}
	return ix;
}
