/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_node: reading a libfyaml tree as Kubernetes sees its JSON: mappings indexed by their
 * keys converted to JSON strings (a repeated key's last value wins, as in Go),
 * and the typed getters of k8s.h. Owns only the index it allocates, freed by
 * k8s_mindex_free().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"

/* ---- positions ---- */

void k8s_node_pos(struct fy_node *n, int *line, int *column)
{
	struct fy_token *t = NULL;
	const struct fy_mark *m;

	*line = *column = 0;
	/* a collection has no token of its own here: take its first scalar's */
	for (int guard = 0; n && guard < K8S_MAX_DEPTH * 2; guard++) {
		n = k8s_deref(n);
		if (!n)
			return;
		if (fy_node_is_scalar(n)) {
			t = fy_node_get_scalar_token(n);
			break;
		}
		if (fy_node_is_sequence(n)) {
			void *it = NULL;

			n = fy_node_sequence_iterate(n, &it);
		} else {
			void *it = NULL;
			struct fy_node_pair *np = fy_node_mapping_iterate(n, &it);

			n = np ? fy_node_pair_key(np) : NULL;
		}
	}
	m = t ? fy_token_start_mark(t) : NULL;
	if (m) {
		*line = m->line + 1;
		*column = m->column + 1;
	}
}

/* ---- mapping index ---- */

static int mpair_cmp(const struct k8s_mpair *a, size_t ia, const struct k8s_mpair *b, size_t ib)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);

	if (c)
		return c;
	if (a->klen != b->klen)
		return a->klen < b->klen ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/* Insertion sort for small maps, merge sort above: stable, no qsort context needed. */
static void sort_indexes(const struct k8s_mpair *pairs, size_t *idx, size_t *tmp, size_t n)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++) {
			size_t v = idx[i], j = i;

			for (; j > 0 && mpair_cmp(&pairs[idx[j - 1]], idx[j - 1], &pairs[v], v) > 0;
			     j--)
				idx[j] = idx[j - 1];
			idx[j] = v;
		}
		return;
	}
	size_t h = n / 2, i = 0, j = h, k = 0;

	sort_indexes(pairs, idx, tmp, h);
	sort_indexes(pairs, idx + h, tmp, n - h);
	while (i < h || j < n) {
		if (j >= n ||
		    (i < h && mpair_cmp(&pairs[idx[i]], idx[i], &pairs[idx[j]], idx[j]) <= 0))
			tmp[k++] = idx[i++];
		else
			tmp[k++] = idx[j++];
	}
	memcpy(idx, tmp, n * sizeof(*idx));
}

int k8s_mindex_build(struct fy_node *map, struct k8s_mindex *ix, struct fy_node **badkey)
{
	struct fy_node_pair *np;
	size_t *tmp = NULL;
	void *it = NULL;
	size_t n = 0;
	int err;

	memset(ix, 0, sizeof(*ix));
	*badkey = NULL;
	n = (size_t)fy_node_mapping_item_count(map);
	if (n <= 16) {
		ix->pairs = ix->small;
		ix->sorted = ix->small_sorted;
	} else {
		ix->pairs = calloc(n, sizeof(*ix->pairs));
		ix->sorted = calloc(n, sizeof(*ix->sorted));
		tmp = calloc(n, sizeof(*tmp));
		if (!ix->pairs || !ix->sorted || !tmp) {
			err = -ENOMEM;
			goto fail;
		}
	}
	while (ix->n < n && (np = fy_node_mapping_iterate(map, &it))) {
		struct k8s_mpair *p = &ix->pairs[ix->n];

		p->knode = fy_node_pair_key(np);
		p->value = fy_node_pair_value(np);
		err = k8s_key_string(p->knode, &p->key, &p->klen, &p->owned);
		if (err) {
			*badkey = p->knode;
			goto fail;
		}
		ix->sorted[ix->n] = ix->n;
		ix->n++;
	}
	sort_indexes(ix->pairs, ix->sorted, tmp ? tmp : (size_t[16]){0}, ix->n);
	free(tmp);
	/* runs of equal keys: all but the first are duplicates; the last one's value wins */
	for (size_t i = 0; i < ix->n;) {
		size_t j = i + 1;
		const struct k8s_mpair *a = &ix->pairs[ix->sorted[i]];

		while (j < ix->n && a->klen == ix->pairs[ix->sorted[j]].klen &&
		       memcmp(a->key, ix->pairs[ix->sorted[j]].key, a->klen) == 0)
			j++;
		for (size_t k = i; k < j; k++) {
			ix->pairs[ix->sorted[k]].dup = k > i;
			ix->pairs[ix->sorted[k]].last = ix->sorted[j - 1];
		}
		i = j;
	}
	return 0;
fail:
	free(tmp);
	k8s_mindex_free(ix);
	return err;
}

const struct k8s_mpair *k8s_mindex_find(const struct k8s_mindex *ix, const char *key, size_t len)
{
	size_t lo = 0, hi = ix->n;
	struct k8s_mpair probe = {.key = key, .klen = len};

	/* first sorted entry >= (key, position 0); its last is the pair that wins */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mpair_cmp(&ix->pairs[ix->sorted[mid]], 1, &probe, 0) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->n) {
		const struct k8s_mpair *p = &ix->pairs[ix->sorted[lo]];

		if (p->klen == len && memcmp(p->key, key, len) == 0)
			return &ix->pairs[p->last];
	}
	return NULL;
}

void k8s_mindex_free(struct k8s_mindex *ix)
{
	if (!ix->pairs)
		return;
	for (size_t i = 0; i < ix->n; i++)
		free(ix->pairs[i].owned);
	if (ix->pairs != ix->small) {
		free(ix->pairs);
		free(ix->sorted);
	}
	memset(ix, 0, sizeof(*ix));
}

/* ---- getters ---- */

/* The value under key in a mapping (JSON key semantics), or NULL. */
static struct fy_node *map_get(struct fy_node *map, const char *key, size_t len)
{
	struct fy_node_pair *np;
	struct fy_node *found = NULL;
	void *it = NULL;

	while ((np = fy_node_mapping_iterate(map, &it))) {
		const char *k;
		size_t klen;
		char *owned;

		if (k8s_key_string(fy_node_pair_key(np), &k, &klen, &owned) != 0)
			continue;
		if (klen == len && memcmp(k, key, len) == 0)
			found = fy_node_pair_value(np); /* the last one wins */
		free(owned);
	}
	return found;
}

static bool parse_index(const char *s, size_t len, size_t *out)
{
	size_t v = 0;

	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* One step: a key of a mapping or an index of a sequence. */
static struct fy_node *step(struct fy_node *n, const char *seg, size_t len)
{
	size_t i;

	n = k8s_deref(n);
	if (!n)
		return NULL;
	if (fy_node_is_mapping(n))
		return map_get(n, seg, len);
	if (fy_node_is_sequence(n) && parse_index(seg, len, &i) && i < (size_t)INT32_MAX)
		return fy_node_sequence_get_by_index(n, (int)i);
	return NULL;
}

/* "/a/b~1c/0": JSON Pointer segments. */
static struct fy_node *get_slash(struct fy_node *n, const char *p)
{
	char seg[256];

	while (n && *p == '/') {
		size_t len = 0;

		for (p++; *p && *p != '/'; p++) {
			char c = *p;

			if (c == '~' && (p[1] == '0' || p[1] == '1'))
				c = *++p == '0' ? '~' : '/';
			if (len >= sizeof(seg))
				return NULL;
			seg[len++] = c;
		}
		if (len == 0 && !*p)
			break; /* trailing '/' */
		n = step(n, seg, len);
	}
	return *p ? NULL : k8s_deref(n);
}

/* "spec.ports[0].port", "metadata.labels[app.kubernetes.io/name]". */
static struct fy_node *get_dotted(struct fy_node *n, const char *p)
{
	while (n && *p) {
		const char *s = p;
		size_t len;

		if (*p == '[') {
			const char *e = strchr(p, ']');

			if (!e)
				return NULL;
			n = step(n, p + 1, (size_t)(e - p - 1));
			p = e + 1;
		} else {
			while (*p && *p != '.' && *p != '[')
				p++;
			len = (size_t)(p - s);
			if (len == 0)
				return NULL;
			n = step(n, s, len);
		}
		if (*p == '.') {
			if (!*++p)
				return NULL;
		}
	}
	return k8s_deref(n);
}

struct fy_node *k8s_get(struct fy_node *n, const char *path)
{
	if (!n || !path)
		return NULL;
	if (path[0] == '/')
		return get_slash(n, path);
	return get_dotted(n, path);
}

/* The node at path and its resolution: 0, -ENOENT (absent or null), -EINVAL (no scalar). */
static int get_resolved(struct fy_node *n, const char *path, struct fy_node **v,
			struct k8s_scalar *out)
{
	memset(out, 0, sizeof(*out));
	*v = k8s_get(n, path);
	if (!*v)
		return -ENOENT;
	if (!fy_node_is_scalar(*v))
		return -EINVAL;
	if (k8s_scalar_resolve(*v, out) != 0)
		return -EINVAL;
	return out->type == K8S_SCALAR_NULL ? -ENOENT : 0;
}

int k8s_get_scalar(struct fy_node *n, const char *path, struct k8s_scalar *out)
{
	struct fy_node *v;

	return get_resolved(n, path, &v, out);
}

int k8s_get_str(struct fy_node *n, const char *path, const char **out)
{
	struct fy_node *v;
	struct k8s_scalar s;
	int err = get_resolved(n, path, &v, &s);

	if (err)
		return err;
	if (s.type != K8S_SCALAR_STRING)
		return -EINVAL;
	/* the NUL-terminated copy libfyaml keeps with the node */
	*out = fy_node_get_scalar0(v);
	return *out ? 0 : -ENOMEM;
}

int k8s_get_int(struct fy_node *n, const char *path, int64_t *out)
{
	struct k8s_scalar s;
	int err = k8s_get_scalar(n, path, &s);

	if (err)
		return err;
	if (s.type == K8S_SCALAR_INT) {
		*out = s.i;
		return 0;
	}
	/* a YAML float that Go writes as an integer (1.0, 1e3) decodes into an int field */
	if (s.type == K8S_SCALAR_FLOAT && !s.json_float && s.f == (double)(int64_t)s.f &&
	    s.f > -9.2e18 && s.f < 9.2e18) {
		*out = (int64_t)s.f;
		return 0;
	}
	return -EINVAL;
}

int k8s_get_bool(struct fy_node *n, const char *path, bool *out)
{
	struct k8s_scalar s;
	int err = k8s_get_scalar(n, path, &s);

	if (err)
		return err;
	if (s.type != K8S_SCALAR_BOOL)
		return -EINVAL;
	*out = s.b;
	return 0;
}
