/* SPDX-License-Identifier: Apache-2.0 */
/* index: skip list of keys with their kept versions (see index.h). */
#include "index.h"

#include <stdlib.h>
#include <string.h>

int idx_key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int entry_cmp(const struct kentry *e, const void *key, size_t key_len)
{
	const struct srec *r = e->ver[0];

	return idx_key_cmp(srec_key(r), r->key_len, key, key_len);
}

int idx_init(struct sindex *idx)
{
	memset(idx, 0, sizeof(*idx));
	idx->head = calloc(1, sizeof(struct kentry) + IDX_MAX_LEVEL * sizeof(struct kentry *));
	if (!idx->head)
		return -ENOMEM;
	idx->head->level = IDX_MAX_LEVEL;
	idx->level = 1;
	idx->rng = 0x9e3779b97f4a7c15ull;
	return 0;
}

static void entry_free(struct kentry *e)
{
	for (uint32_t i = 0; i < e->nver; i++)
		sref_put(&e->ver[i]->ref);
	free(e->ver);
	free(e);
}

void idx_destroy(struct sindex *idx)
{
	struct kentry *e, *n;

	if (!idx->head)
		return;
	for (e = idx->head->next[0]; e; e = n) {
		n = e->next[0];
		entry_free(e);
	}
	free(idx->head);
	idx->head = NULL;
}

/* Fills upd[l] with the last node at level l whose key is < key (or <= key if after). */
static struct kentry *descend(const struct sindex *idx, const void *key, size_t key_len, bool after,
			      struct kentry **upd)
{
	struct kentry *x = idx->head;

	for (int l = idx->level - 1; l >= 0; l--) {
		while (x->next[l]) {
			int c = entry_cmp(x->next[l], key, key_len);

			if (c < 0 || (after && c == 0))
				x = x->next[l];
			else
				break;
		}
		if (upd)
			upd[l] = x;
	}
	return x->next[0];
}

struct kentry *idx_seek(const struct sindex *idx, const void *key, size_t key_len, bool after)
{
	return descend(idx, key, key_len, after, NULL);
}

struct kentry *idx_find(const struct sindex *idx, const void *key, size_t key_len)
{
	struct kentry *e = descend(idx, key, key_len, false, NULL);

	return e && entry_cmp(e, key, key_len) == 0 ? e : NULL;
}

struct srec *kentry_at(const struct kentry *e, uint64_t rev)
{
	uint32_t lo = 0, hi = e->nver;

	/* Binary search for the first version with rev > rev; the one before it is ours. */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (e->ver[mid]->rev <= rev)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? e->ver[lo - 1] : NULL;
}

static int random_level(struct sindex *idx)
{
	int l = 1;

	/* xorshift64; each level with probability 1/4. */
	idx->rng ^= idx->rng << 13;
	idx->rng ^= idx->rng >> 7;
	idx->rng ^= idx->rng << 17;
	for (uint64_t r = idx->rng; (r & 3) == 0 && l < IDX_MAX_LEVEL; r >>= 2)
		l++;
	return l;
}

static int entry_push(struct sindex *idx, struct kentry *e, struct srec *rec)
{
	bool was_live = e->nver && kentry_latest(e)->type == SREC_PUT;

	if (e->nver == e->cap) {
		uint32_t cap = e->cap ? e->cap * 2 : 1;
		struct srec **v = realloc(e->ver, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->ver = v;
		e->cap = cap;
	}
	e->ver[e->nver++] = rec;
	idx->nversions++;
	idx->nlive += (rec->type == SREC_PUT) - was_live;
	return 0;
}

int idx_add(struct sindex *idx, struct srec *rec)
{
	struct kentry *upd[IDX_MAX_LEVEL], *e;
	int level, err;

	e = descend(idx, srec_key(rec), rec->key_len, false, upd);
	if (e && entry_cmp(e, srec_key(rec), rec->key_len) == 0)
		return entry_push(idx, e, rec);
	level = random_level(idx);
	e = calloc(1, sizeof(*e) + (size_t)level * sizeof(struct kentry *));
	if (!e)
		return -ENOMEM;
	e->level = (uint8_t)level;
	err = entry_push(idx, e, rec);
	if (err) {
		free(e);
		return err;
	}
	for (int l = idx->level; l < level; l++)
		upd[l] = idx->head;
	if (level > idx->level)
		idx->level = level;
	for (int l = 0; l < level; l++) {
		e->next[l] = upd[l]->next[l];
		upd[l]->next[l] = e;
	}
	return 0;
}

void idx_compact(struct sindex *idx, uint64_t rev)
{
	struct kentry *prev[IDX_MAX_LEVEL], *e, *n;
	uint32_t drop, i;

	for (int l = 0; l < IDX_MAX_LEVEL; l++)
		prev[l] = idx->head;
	for (e = idx->head->next[0]; e; e = n) {
		n = e->next[0];
		/* Keep the newest version <= rev (it answers reads at rev) and all above. */
		for (i = 0; i < e->nver && e->ver[i]->rev <= rev; i++)
			;
		drop = i ? i - 1 : 0;
		if (i && e->ver[i - 1]->type == SREC_DEL)
			drop = i; /* a deletion at or below rev: nothing to read there */
		if (drop) {
			for (uint32_t k = 0; k < drop; k++)
				sref_put(&e->ver[k]->ref);
			memmove(e->ver, e->ver + drop, (e->nver - drop) * sizeof(*e->ver));
			e->nver -= drop;
			idx->nversions -= drop;
		}
		if (e->nver == 0) {
			for (int l = 0; l < e->level; l++)
				prev[l]->next[l] = e->next[l];
			entry_free(e);
			continue;
		}
		for (int l = 0; l < e->level; l++)
			prev[l] = e;
	}
}
