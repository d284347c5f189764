/* SPDX-License-Identifier: Apache-2.0 */
/* websocket: RFC 6455 handshake key and framing. See websocket.h. */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "websocket.h"

int ws_accept_key(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char digest[20];
	char buf[128];
	gnutls_datum_t in = {digest, sizeof(digest)}, enc = {0};
	int n;

	if (!key || !key[0] || strlen(key) > 64)
		return -EINVAL;
	n = snprintf(buf, sizeof(buf), "%s%s", key, guid);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, (size_t)n, digest) < 0)
		return -EINVAL;
	if (gnutls_base64_encode2(&in, &enc) < 0)
		return -EINVAL;
	if (enc.size != 28) {
		gnutls_free(enc.data);
		return -EINVAL;
	}
	memcpy(out, enc.data, 28);
	out[28] = 0;
	gnutls_free(enc.data);
	return 0;
}

void ws_mask(unsigned char *p, size_t len, const unsigned char mask[4])
{
	for (size_t i = 0; i < len; i++)
		p[i] ^= mask[i & 3];
}

ssize_t ws_parse(unsigned char *buf, size_t len, size_t max, bool masked, struct ws_frame *f)
{
	size_t need = 2, plen;
	unsigned char mask[4];
	bool has_mask;

	if (len < 2)
		return 0;
	if (buf[0] & 0x70)
		return -EPROTO; /* no extension was negotiated */
	f->fin = buf[0] & 0x80;
	f->opcode = buf[0] & 0x0f;
	has_mask = buf[1] & 0x80;
	plen = buf[1] & 0x7f;
	if (masked != has_mask)
		return -EPROTO;
	if (plen == 126) {
		need += 2;
		if (len < need)
			return 0;
		plen = ((size_t)buf[2] << 8) | buf[3];
	} else if (plen == 127) {
		uint64_t v = 0;

		need += 8;
		if (len < need)
			return 0;
		for (int i = 0; i < 8; i++)
			v = (v << 8) | buf[2 + i];
		if (v > max)
			return -EMSGSIZE;
		plen = (size_t)v;
	}
	if (f->opcode >= 8 && (plen > 125 || !f->fin))
		return -EPROTO;
	if ((f->opcode > WS_BINARY && f->opcode < WS_CLOSE) || f->opcode > WS_PONG)
		return -EPROTO;
	if (plen > max)
		return -EMSGSIZE;
	if (has_mask) {
		if (len < need + 4)
			return 0;
		memcpy(mask, buf + need, 4);
		need += 4;
	}
	if (len - need < plen)
		return 0;
	f->payload = buf + need;
	f->len = plen;
	if (has_mask)
		ws_mask(f->payload, plen, mask);
	return (ssize_t)(need + plen);
}

size_t ws_header(unsigned char *out, unsigned opcode, size_t len, const unsigned char *mask)
{
	size_t n = 2;

	out[0] = (unsigned char)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (unsigned char)len;
	} else if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}
