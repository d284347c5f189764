/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spdy: SPDY/3.1 frames and zlib-compressed header blocks (spdy.h), byte for byte as the
 * SPDY/3 draft (section 2.6, 2.6.10) and moby/spdystream's framer write them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "spdy.h"

#define VERSION 3

/* SPDY/3's header compression dictionary (draft 3, section 2.6.10.1): length-prefixed
 * header names and values, then common value fragments. */
const char spdy_dictionary[SPDY_DICT_LEN + 1] =
    "\000\000\000\007"
    "options"
    "\000\000\000\004"
    "head"
    "\000\000\000\004"
    "post"
    "\000\000\000\003"
    "put"
    "\000\000\000\006"
    "delete"
    "\000\000\000\005"
    "trace"
    "\000\000\000\006"
    "accept"
    "\000\000\000\016"
    "accept-charset"
    "\000\000\000\017"
    "accept-encoding"
    "\000\000\000\017"
    "accept-language"
    "\000\000\000\015"
    "accept-ranges"
    "\000\000\000\003"
    "age"
    "\000\000\000\005"
    "allow"
    "\000\000\000\015"
    "authorization"
    "\000\000\000\015"
    "cache-control"
    "\000\000\000\012"
    "connection"
    "\000\000\000\014"
    "content-base"
    "\000\000\000\020"
    "content-encoding"
    "\000\000\000\020"
    "content-language"
    "\000\000\000\016"
    "content-length"
    "\000\000\000\020"
    "content-location"
    "\000\000\000\013"
    "content-md5"
    "\000\000\000\015"
    "content-range"
    "\000\000\000\014"
    "content-type"
    "\000\000\000\004"
    "date"
    "\000\000\000\004"
    "etag"
    "\000\000\000\006"
    "expect"
    "\000\000\000\007"
    "expires"
    "\000\000\000\004"
    "from"
    "\000\000\000\004"
    "host"
    "\000\000\000\010"
    "if-match"
    "\000\000\000\021"
    "if-modified-since"
    "\000\000\000\015"
    "if-none-match"
    "\000\000\000\010"
    "if-range"
    "\000\000\000\023"
    "if-unmodified-since"
    "\000\000\000\015"
    "last-modified"
    "\000\000\000\010"
    "location"
    "\000\000\000\014"
    "max-forwards"
    "\000\000\000\006"
    "pragma"
    "\000\000\000\022"
    "proxy-authenticate"
    "\000\000\000\023"
    "proxy-authorization"
    "\000\000\000\005"
    "range"
    "\000\000\000\007"
    "referer"
    "\000\000\000\013"
    "retry-after"
    "\000\000\000\006"
    "server"
    "\000\000\000\002"
    "te"
    "\000\000\000\007"
    "trailer"
    "\000\000\000\021"
    "transfer-encoding"
    "\000\000\000\007"
    "upgrade"
    "\000\000\000\012"
    "user-agent"
    "\000\000\000\004"
    "vary"
    "\000\000\000\003"
    "via"
    "\000\000\000\007"
    "warning"
    "\000\000\000\020"
    "www-authenticate"
    "\000\000\000\006"
    "method"
    "\000\000\000\003"
    "get"
    "\000\000\000\006"
    "status"
    "\000\000\000\006"
    "200 OK"
    "\000\000\000\007"
    "version"
    "\000\000\000\010"
    "HTTP/1.1"
    "\000\000\000\003"
    "url"
    "\000\000\000\006"
    "public"
    "\000\000\000\012"
    "set-cookie"
    "\000\000\000\012"
    "keep-alive"
    "\000\000\000\006"
    "origin"
    "10010120120220520630030230330430530630740240540640740840941041141241341441541641"
    "7502504505203 Non-Authoritative Information204 No Content301 Moved Permanently40"
    "0 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept O"
    "ct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,imag"
    "e/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/"
    "javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1"
    ",utf-,*,enq=0.";
_Static_assert(sizeof(spdy_dictionary) == SPDY_DICT_LEN + 1, "the SPDY/3 dictionary is 1423 bytes");

struct spdy_zlib {
	z_stream zs;
	bool deflate;
};

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* ---- frames ---- */

ssize_t spdy_parse(const unsigned char *buf, size_t len, size_t max, struct spdy_frame *f)
{
	size_t n;
	const unsigned char *p;

	if (len < SPDY_HEAD)
		return 0;
	n = (size_t)buf[5] << 16 | (size_t)buf[6] << 8 | buf[7];
	if (n > max)
		return -EMSGSIZE;
	if (len < SPDY_HEAD + n)
		return 0;
	memset(f, 0, sizeof(*f));
	f->flags = buf[4];
	p = buf + SPDY_HEAD;
	if (!(buf[0] & 0x80)) {
		f->stream = get32(buf) & 0x7fffffff;
		if (!f->stream)
			return -EPROTO;
		f->data = p;
		f->len = n;
		return (ssize_t)(SPDY_HEAD + n);
	}
	f->control = true;
	if (((buf[0] & 0x7f) << 8 | buf[1]) != VERSION)
		return -EPROTO;
	f->type = (unsigned)buf[2] << 8 | buf[3];
	switch (f->type) {
	case SPDY_SYN_STREAM:
		if (n < 10)
			return -EPROTO;
		f->stream = get32(p) & 0x7fffffff;
		f->assoc = get32(p + 4) & 0x7fffffff;
		f->data = p + 10;
		f->len = n - 10;
		break;
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		if (n < 4)
			return -EPROTO;
		f->stream = get32(p) & 0x7fffffff;
		f->data = p + 4;
		f->len = n - 4;
		break;
	case SPDY_RST_STREAM:
	case SPDY_WINDOW_UPDATE:
		if (n != 8)
			return -EPROTO;
		f->stream = get32(p) & 0x7fffffff;
		f->value = get32(p + 4) & (f->type == SPDY_RST_STREAM ? 0xffffffff : 0x7fffffff);
		if (f->type == SPDY_RST_STREAM && !f->value)
			return -EPROTO;
		break;
	case SPDY_PING:
		if (n != 4)
			return -EPROTO;
		f->value = get32(p);
		return SPDY_HEAD + 4;
	case SPDY_GOAWAY:
		if (n != 8)
			return -EPROTO;
		f->stream = get32(p) & 0x7fffffff;
		f->value = get32(p + 4);
		return SPDY_HEAD + 8;
	case SPDY_SETTINGS:
		if (n < 4 || (n - 4) / 8 < get32(p))
			return -EPROTO;
		f->data = p;
		f->len = n;
		return (ssize_t)(SPDY_HEAD + n);
	default: /* unknown: the spec says ignore it */
		f->data = p;
		f->len = n;
		return (ssize_t)(SPDY_HEAD + n);
	}
	if (!f->stream)
		return -EPROTO;
	return (ssize_t)(SPDY_HEAD + n);
}

static void control_head(unsigned char *out, unsigned type, unsigned flags, size_t len)
{
	out[0] = 0x80;
	out[1] = VERSION;
	out[2] = (unsigned char)(type >> 8);
	out[3] = (unsigned char)type;
	out[4] = (unsigned char)flags;
	out[5] = (unsigned char)(len >> 16);
	out[6] = (unsigned char)(len >> 8);
	out[7] = (unsigned char)len;
}

void spdy_data_head(unsigned char out[SPDY_HEAD], uint32_t stream, unsigned flags, size_t len)
{
	put32(out, stream & 0x7fffffff);
	out[4] = (unsigned char)flags;
	out[5] = (unsigned char)(len >> 16);
	out[6] = (unsigned char)(len >> 8);
	out[7] = (unsigned char)len;
}

size_t spdy_rst_stream(unsigned char *out, uint32_t stream, uint32_t status)
{
	control_head(out, SPDY_RST_STREAM, 0, 8);
	put32(out + 8, stream & 0x7fffffff);
	put32(out + 12, status);
	return 16;
}

size_t spdy_ping(unsigned char *out, uint32_t id)
{
	control_head(out, SPDY_PING, 0, 4);
	put32(out + 8, id);
	return 12;
}

size_t spdy_goaway(unsigned char *out, uint32_t last_good, uint32_t status)
{
	control_head(out, SPDY_GOAWAY, 0, 8);
	put32(out + 8, last_good & 0x7fffffff);
	put32(out + 12, status);
	return 16;
}

/* ---- header blocks ---- */

struct spdy_zlib *spdy_zlib_new(bool deflate)
{
	struct spdy_zlib *z = calloc(1, sizeof(*z));
	int rc;

	if (!z)
		return NULL;
	z->deflate = deflate;
	if (deflate) {
		/* Go's spdystream: zlib.BestCompression with the dictionary */
		rc = deflateInit(&z->zs, Z_BEST_COMPRESSION);
		if (rc == Z_OK && deflateSetDictionary(&z->zs, (const Bytef *)spdy_dictionary,
						       SPDY_DICT_LEN) != Z_OK) {
			deflateEnd(&z->zs);
			rc = Z_STREAM_ERROR;
		}
	} else {
		rc = inflateInit(&z->zs);
	}
	if (rc != Z_OK) {
		free(z);
		return NULL;
	}
	return z;
}

void spdy_zlib_free(struct spdy_zlib *z)
{
	if (!z)
		return;
	if (z->deflate)
		deflateEnd(&z->zs);
	else
		inflateEnd(&z->zs);
	free(z);
}

void spdy_headers_free(struct spdy_headers *h)
{
	if (!h)
		return;
	free(h->nv);
	free(h->mem);
	memset(h, 0, sizeof(*h));
}

const char *spdy_headers_get(const struct spdy_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->nv[i].name, name) == 0)
			return h->nv[i].value;
	return NULL;
}

/* Inflate the whole block (it ends with a sync flush) into *out. */
static int inflate_block(struct spdy_zlib *z, const unsigned char *blk, size_t len,
			 unsigned char **out, size_t *outlen)
{
	size_t cap = 1024, n = 0;
	unsigned char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	z->zs.next_in = (Bytef *)blk;
	z->zs.avail_in = (uInt)len;
	for (;;) {
		int rc;

		if (n == cap) {
			unsigned char *nb;

			if (cap >= SPDY_HEADERS_MAX) {
				free(buf);
				return -E2BIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		z->zs.next_out = buf + n;
		z->zs.avail_out = (uInt)(cap - n);
		rc = inflate(&z->zs, Z_SYNC_FLUSH);
		n = cap - z->zs.avail_out;
		if (rc == Z_NEED_DICT) {
			if (inflateSetDictionary(&z->zs, (const Bytef *)spdy_dictionary,
						 SPDY_DICT_LEN) != Z_OK)
				break;
			continue;
		}
		if (rc == Z_BUF_ERROR && !z->zs.avail_in) {
			*out = buf; /* all of it read, nothing more to come out */
			*outlen = n;
			return 0;
		}
		if (rc != Z_OK)
			break;
		if (!z->zs.avail_in && z->zs.avail_out) {
			*out = buf;
			*outlen = n;
			return 0;
		}
	}
	free(buf);
	return -EPROTO;
}

int spdy_headers_decode(struct spdy_zlib *z, const unsigned char *blk, size_t len,
			struct spdy_headers *h)
{
	unsigned char *plain = NULL, *p, *end;
	size_t plen = 0, count;
	char *w;
	int rc, bad = 0;

	memset(h, 0, sizeof(*h));
	if (!z || z->deflate)
		return -EINVAL;
	rc = inflate_block(z, blk, len, &plain, &plen);
	if (rc)
		return rc;
	rc = -EPROTO;
	p = plain;
	end = plain + plen;
	if (plen < 4)
		goto out;
	count = get32(p);
	p += 4;
	/* each pair takes at least 8 bytes: a count beyond that is a lie */
	if (count > (plen - 4) / 8)
		goto out;
	h->nv = calloc(count ? count : 1, sizeof(*h->nv));
	/* names and values with a NUL each: never more than the block itself */
	h->mem = malloc(plen + 1);
	if (!h->nv || !h->mem) {
		rc = -ENOMEM;
		goto out;
	}
	w = h->mem;
	for (size_t i = 0; i < count; i++) {
		uint32_t nl, vl;

		if (end - p < 4 || (nl = get32(p)) > (size_t)(end - p - 4) || !nl)
			goto out;
		p += 4;
		h->nv[i].name = w;
		memcpy(w, p, nl);
		w[nl] = 0;
		for (uint32_t k = 0; k < nl; k++)
			if (w[k] >= 'A' && w[k] <= 'Z')
				bad = -EINVAL; /* spdystream: "header was not lowercased" */
		w += nl + 1;
		p += nl;
		if (end - p < 4 || (vl = get32(p)) > (size_t)(end - p - 4))
			goto out;
		p += 4;
		h->nv[i].value = w;
		h->nv[i].vlen = vl;
		memcpy(w, p, vl);
		w[vl] = 0;
		w += vl + 1;
		p += vl;
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(h->nv[k].name, h->nv[i].name) == 0)
				bad = -EINVAL; /* "multiple headers with same name" */
		h->n = i + 1;
	}
	rc = p == end ? bad : -EPROTO;
out:
	free(plain);
	if (rc)
		spdy_headers_free(h);
	return rc;
}

/* Deflate plain (its whole length, a sync flush after it) into *out at offset off. */
static int deflate_block(struct spdy_zlib *z, const unsigned char *plain, size_t plen, size_t off,
			 unsigned char **out, size_t *outlen)
{
	size_t cap = off + plen + plen / 8 + 64, n = off;
	unsigned char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	z->zs.next_in = (Bytef *)plain;
	z->zs.avail_in = (uInt)plen;
	for (;;) {
		int rc;

		z->zs.next_out = buf + n;
		z->zs.avail_out = (uInt)(cap - n);
		rc = deflate(&z->zs, Z_SYNC_FLUSH);
		n = cap - z->zs.avail_out;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			free(buf);
			return -EIO;
		}
		if (z->zs.avail_out) /* the flush is complete */
			break;
		{
			unsigned char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
	}
	*out = buf;
	*outlen = n;
	return 0;
}

int spdy_build_headers(struct spdy_zlib *z, unsigned type, unsigned flags, uint32_t stream,
		       uint32_t assoc, const struct spdy_nv *nv, size_t n, unsigned char **out,
		       size_t *len)
{
	size_t plen = 4, fixed = type == SPDY_SYN_STREAM ? 10 : 4, flen;
	unsigned char *plain, *p, *frame = NULL;
	int rc;

	if (!z || !z->deflate ||
	    (type != SPDY_SYN_STREAM && type != SPDY_SYN_REPLY && type != SPDY_HEADERS) || !stream)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		plen += 8 + strlen(nv[i].name) + nv[i].vlen;
	if (plen > SPDY_HEADERS_MAX)
		return -E2BIG;
	plain = p = malloc(plen);
	if (!plain)
		return -ENOMEM;
	put32(p, (uint32_t)n);
	p += 4;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(nv[i].name);

		put32(p, (uint32_t)nl);
		/* names go lower case: spdystream refuses others */
		for (size_t k = 0; k < nl; k++) {
			char c = nv[i].name[k];

			p[4 + k] = (unsigned char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		p += 4 + nl;
		put32(p, (uint32_t)nv[i].vlen);
		memcpy(p + 4, nv[i].value, nv[i].vlen);
		p += 4 + nv[i].vlen;
	}
	rc = deflate_block(z, plain, plen, SPDY_HEAD + fixed, &frame, &flen);
	free(plain);
	if (rc)
		return rc;
	if (flen - SPDY_HEAD > SPDY_DATA_MAX) {
		free(frame);
		return -E2BIG;
	}
	control_head(frame, type, flags, flen - SPDY_HEAD);
	put32(frame + SPDY_HEAD, stream & 0x7fffffff);
	if (type == SPDY_SYN_STREAM) {
		put32(frame + SPDY_HEAD + 4, assoc & 0x7fffffff);
		frame[SPDY_HEAD + 8] = 0; /* priority 0 (3 bits), unused */
		frame[SPDY_HEAD + 9] = 0; /* slot */
	}
	*out = frame;
	*len = flen;
	return 0;
}
