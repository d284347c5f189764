/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbw: the protobuf writer (api_pbw.h).
 */
#include <string.h>

#include "api_pbw.h"

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2 };

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_varint(struct k8s_buf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (char)v;
	k8s_buf_put(b, tmp, n);
}

static void put_tag(struct k8s_buf *b, uint32_t num, unsigned wire)
{
	put_varint(b, (uint64_t)num << 3 | wire);
}

void pbw_varint_field(struct pbw *w, uint32_t num, uint64_t v)
{
	put_tag(&w->b, num, WIRE_VARINT);
	put_varint(&w->b, v);
}

void pbw_double_field(struct pbw *w, uint32_t num, double v)
{
	uint64_t bits;
	char le[8];

	memcpy(&bits, &v, sizeof(bits));
	for (int i = 0; i < 8; i++)
		le[i] = (char)(bits >> (8 * i));
	put_tag(&w->b, num, WIRE_FIXED64);
	k8s_buf_put(&w->b, le, sizeof(le));
}

void pbw_bytes_field(struct pbw *w, uint32_t num, const void *p, size_t len)
{
	put_tag(&w->b, num, WIRE_LEN);
	put_varint(&w->b, len);
	k8s_buf_put(&w->b, p, len);
}

void pbw_string_field(struct pbw *w, uint32_t num, const char *s)
{
	pbw_bytes_field(w, num, s, strlen(s));
}

void pbw_begin(struct pbw *w, uint32_t num)
{
	put_tag(&w->b, num, WIRE_LEN);
	if (w->depth >= PBW_MAX_DEPTH) {
		w->b.oom = true; /* a caller's bug: fail the whole message */
		return;
	}
	w->open[w->depth++] = w->b.len;
}

void pbw_end(struct pbw *w)
{
	size_t start, len, n;

	if (!w->depth || w->b.oom)
		return;
	start = w->open[--w->depth];
	len = w->b.len - start;
	n = varint_len(len);
	if (!k8s_buf_reserve(&w->b, n))
		return;
	memmove(w->b.p + start + n, w->b.p + start, len);
	for (size_t i = 0; i < n; i++)
		w->b.p[start + i] = (char)(((len >> (7 * i)) & 0x7f) | (i + 1 < n ? 0x80u : 0));
	w->b.len += n;
	w->b.p[w->b.len] = 0;
}
