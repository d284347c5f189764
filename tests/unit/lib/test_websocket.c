/* SPDX-License-Identifier: Apache-2.0 */
/*
 * websocket.c: the handshake key of RFC 6455's example; its framing examples (masked and
 * not) written and parsed; frames written by ws_header parse back (short, 16-bit and 64-bit
 * lengths, masked and not); a frame split anywhere is incomplete, not an error; malformed
 * frames (reserved bits, a long or fragmented control frame, an unknown opcode, masking
 * other than required) and oversized ones are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "websocket.h"

static void test_accept_key(void **state)
{
	char out[29];

	(void)state;
	/* RFC 6455, section 1.3 */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key("", out), -EINVAL);
	assert_int_equal(ws_accept_key(NULL, out), -EINVAL);
}

static void roundtrip(size_t len, bool masked)
{
	static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
	unsigned char *buf = malloc(len + WS_HEADER_MAX), *want = malloc(len + 1);
	struct ws_frame f;
	size_t h;

	assert_non_null(buf);
	assert_non_null(want);
	for (size_t i = 0; i < len; i++)
		want[i] = (unsigned char)(i * 7 + 3);
	h = ws_header(buf, WS_BINARY, len, masked ? mask : NULL);
	memcpy(buf + h, want, len);
	if (masked)
		ws_mask(buf + h, len, mask);
	/* every strict prefix is incomplete */
	for (size_t cut = 0; cut < h + len; cut += (len > 1000 ? 997 : 1))
		assert_int_equal(ws_parse(buf, cut, 1 << 20, masked, &f), 0);
	assert_int_equal(ws_parse(buf, h + len, 1 << 20, masked, &f), (ssize_t)(h + len));
	assert_true(f.fin);
	assert_int_equal(f.opcode, WS_BINARY);
	assert_int_equal(f.len, len);
	assert_memory_equal(f.payload, want, len);
	/* and the other side's masking is refused */
	assert_int_equal(ws_parse(buf, h + len, 1 << 20, !masked, &f), -EPROTO);
	free(buf);
	free(want);
}

static void test_roundtrip(void **state)
{
	(void)state;
	roundtrip(1, false);
	roundtrip(125, true);
	roundtrip(126, false);
	roundtrip(65535, true);
	roundtrip(65536, false);
	roundtrip(200000, true);
}

/* RFC 6455, section 5.7: "Hello" unmasked, and masked with 37 fa 21 3d (the masking is
 * checked against the RFC's bytes, not only against itself) */
static void test_rfc_examples(void **state)
{
	unsigned char plain[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
	unsigned char masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	unsigned char h[WS_HEADER_MAX];
	struct ws_frame f;

	(void)state;
	assert_int_equal(ws_header(h, WS_TEXT, 5, NULL), 2);
	assert_memory_equal(h, plain, 2);
	assert_int_equal(ws_header(h, WS_TEXT, 5, masked + 2), 6);
	assert_memory_equal(h, masked, 6);
	assert_int_equal(ws_parse(plain, sizeof(plain), 100, false, &f), (ssize_t)sizeof(plain));
	assert_int_equal(f.opcode, WS_TEXT);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.payload, "Hello", 5);
	assert_int_equal(ws_parse(masked, sizeof(masked), 100, true, &f), (ssize_t)sizeof(masked));
	assert_true(f.fin);
	assert_int_equal(f.opcode, WS_TEXT);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.payload, "Hello", 5);
}

static void test_bad_frames(void **state)
{
	struct ws_frame f;
	unsigned char rsv[] = {0xc2, 0x00};
	unsigned char long_ping[2 + 126] = {0x89, 126, 0, 126};
	unsigned char frag_close[] = {0x08, 0x00};
	unsigned char opcode3[] = {0x83, 0x00};
	unsigned char big[10] = {0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0};
	unsigned char ok16[4] = {0x82, 126, 0x10, 0x00};

	(void)state;
	assert_int_equal(ws_parse(rsv, sizeof(rsv), 100, false, &f), -EPROTO);
	assert_int_equal(ws_parse(long_ping, sizeof(long_ping), 1000, false, &f), -EPROTO);
	assert_int_equal(ws_parse(frag_close, sizeof(frag_close), 100, false, &f), -EPROTO);
	assert_int_equal(ws_parse(opcode3, sizeof(opcode3), 100, false, &f), -EPROTO);
	assert_int_equal(ws_parse(big, sizeof(big), 1 << 20, false, &f), -EMSGSIZE);
	assert_int_equal(ws_parse(ok16, sizeof(ok16), 100, false, &f), -EMSGSIZE);
	assert_int_equal(ws_parse(ok16, 1, 100, false, &f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_rfc_examples),
	    cmocka_unit_test(test_bad_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
