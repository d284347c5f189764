/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the backend-independent front of the store. Validates every argument once, so that
 * backends see only well-formed requests, dispatches through struct store_ops, and owns the
 * helpers every backend shares (error names, continue tokens, releasing views).
 */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t store_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *store_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case ENOENT:
		return "key not found";
	case EEXIST:
		return "key already exists";
	case STORE_ECONFLICT:
		return "revision precondition failed (conflict)";
	case STORE_ECOMPACTED:
		return "revision too old: compacted or outside the kept history";
	case EMSGSIZE:
		return "key or value too large (key <= 4 KiB, value <= 1.5 MiB)";
	case STORE_ECLOSED:
		return "store closed";
	case STORE_ESLOW:
		return "watch cancelled: consumer fell too far behind";
	case STORE_ECORRUPT:
		return "on-disk state corrupt beyond recovery";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

const char *store_backend_name(const struct store *s)
{
	return s ? s->ops->name : "none";
}

void store_kv_release(struct store_kv *kv)
{
	if (!kv)
		return;
	if (kv->_ref)
		sref_put(kv->_ref);
	memset(kv, 0, sizeof(*kv));
}

void store_kv_dup(const struct store_kv *kv, struct store_kv *out)
{
	*out = *kv;
	if (kv->_ref)
		sref_get(kv->_ref);
}

void store_event_get(const struct store_event *ev)
{
	if (ev)
		sref_get(ev->_ref);
}

void store_event_put(const struct store_event *ev)
{
	if (ev)
		sref_put(ev->_ref);
}

void store_list_free(struct store_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		store_kv_release(&l->items[i]);
	free(l->items);
	free(l->next);
	memset(l, 0, sizeof(*l));
}

int store_check_key(const void *key, size_t key_len)
{
	if (!key || key_len == 0)
		return -EINVAL;
	if (key_len > STORE_MAX_KEY)
		return -EMSGSIZE;
	return 0;
}

int store_write(struct store *s, const struct store_write *w, struct store_write_result *res)
{
	struct store_write_result tmp;
	int err;

	if (res)
		memset(res, 0, sizeof(*res));
	if (!s || !w)
		return -EINVAL;
	err = store_check_key(w->key, w->key_len);
	if (err)
		return err;
	switch (w->op) {
	case STORE_CREATE:
	case STORE_UPDATE:
		if (w->value_len > STORE_MAX_VALUE)
			return -EMSGSIZE;
		if (!w->value && w->value_len)
			return -EINVAL;
		break;
	case STORE_DELETE:
		break;
	default:
		return -EINVAL;
	}
	if (res)
		return s->ops->write(s, w, res);
	memset(&tmp, 0, sizeof(tmp));
	err = s->ops->write(s, w, &tmp);
	store_kv_release(&tmp.prev);
	return err;
}

static int write_simple(struct store *s, const struct store_write *w, uint64_t *rev_out)
{
	struct store_write_result res;
	int err = store_write(s, w, &res);

	if (rev_out)
		*rev_out = res.rev;
	store_kv_release(&res.prev);
	return err;
}

int store_create(struct store *s, const void *key, size_t key_len, const void *value,
		 size_t value_len, uint64_t *rev_out)
{
	struct store_write w = {.op = STORE_CREATE,
				.key = key,
				.key_len = key_len,
				.value = value,
				.value_len = value_len};

	return write_simple(s, &w, rev_out);
}

int store_update(struct store *s, const void *key, size_t key_len, const void *value,
		 size_t value_len, uint64_t expect_rev, uint64_t *rev_out)
{
	struct store_write w = {.op = STORE_UPDATE,
				.key = key,
				.key_len = key_len,
				.value = value,
				.value_len = value_len,
				.expect_rev = expect_rev};

	return write_simple(s, &w, rev_out);
}

int store_delete(struct store *s, const void *key, size_t key_len, uint64_t expect_rev,
		 uint64_t *rev_out)
{
	struct store_write w = {
	    .op = STORE_DELETE, .key = key, .key_len = key_len, .expect_rev = expect_rev};

	return write_simple(s, &w, rev_out);
}

int store_get(struct store *s, const void *key, size_t key_len, uint64_t rev, struct store_kv *out)
{
	int err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	err = store_check_key(key, key_len);
	if (err)
		return err;
	return s->ops->get(s, key, key_len, rev, out);
}

int store_list(struct store *s, const struct store_list_opts *o, struct store_list *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s || !o || (!o->prefix && o->prefix_len) || o->prefix_len > STORE_MAX_KEY ||
	    (o->index && !o->tag && o->tag_len))
		return -EINVAL;
	return s->ops->list(s, o, out);
}

int store_index_add(struct store *s, const void *prefix, size_t prefix_len, store_tag_fn fn,
		    struct store_index **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!s || !fn || (!prefix && prefix_len) || prefix_len > STORE_MAX_KEY)
		return -EINVAL;
	if (!s->ops->index_add)
		return -EOPNOTSUPP;
	return s->ops->index_add(s, prefix, prefix_len, fn, out);
}

uint64_t store_revision(struct store *s)
{
	return s ? s->ops->revision(s) : 0;
}

uint64_t store_compacted_revision(struct store *s)
{
	return s ? s->ops->compacted_revision(s) : 0;
}

int store_compact(struct store *s, uint64_t rev)
{
	if (!s || rev == 0)
		return -EINVAL;
	return s->ops->compact(s, rev);
}

int store_watch_open(struct store *s, const struct store_watch_opts *o, struct store_watch **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!s || !o || (!o->prefix && o->prefix_len) || o->prefix_len > STORE_MAX_KEY)
		return -EINVAL;
	return s->ops->watch_open(s, o, out);
}

int store_get_stats(struct store *s, struct store_stats *st)
{
	if (!s || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	return s->ops->stats(s, st);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

char *store_token_encode(uint64_t rev, const uint8_t *key, size_t key_len)
{
	static const char hex[] = "0123456789abcdef";
	char *tok = malloc(32 + key_len * 2);
	int n;

	if (!tok)
		return NULL;
	n = snprintf(tok, 32, "%" PRIu64 ".", rev);
	for (size_t i = 0; i < key_len; i++) {
		tok[n++] = hex[key[i] >> 4];
		tok[n++] = hex[key[i] & 15];
	}
	tok[n] = '\0';
	return tok;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int store_token_decode(const char *tok, uint64_t *rev, uint8_t **key, size_t *key_len)
{
	const char *dot, *h;
	uint64_t r = 0;
	size_t n;
	uint8_t *k;

	dot = strchr(tok, '.');
	if (!dot || dot == tok || dot - tok > 20)
		return -EINVAL;
	for (const char *p = tok; p < dot; p++) {
		if (*p < '0' || *p > '9' || r > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		r = r * 10 + (uint64_t)(*p - '0');
	}
	h = dot + 1;
	n = strlen(h);
	if (r == 0 || n == 0 || n % 2 || n / 2 > STORE_MAX_KEY)
		return -EINVAL;
	k = malloc(n / 2);
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(k);
			return -EINVAL;
		}
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	*rev = r;
	*key = k;
	*key_len = n / 2;
	return 0;
}
