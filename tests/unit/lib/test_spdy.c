/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spdy.c: the dictionary is SPDY/3's (its Adler-32 is the DICTID every SPDY/3 header stream
 * carries); two SYN_STREAMs as kubectl's port-forward opens a stream pair (built outside
 * drover: Python's zlib, level 9, the dictionary, a sync flush each, one context for both)
 * parse and inflate; header blocks built here inflate back in one context over several
 * frames (and not in a fresh one: the context is the connection's); the fixed control frames
 * and DATA heads are the spec's bytes and parse back; a frame split anywhere is incomplete,
 * not an error; malformed frames, bad blocks (garbage, a count past the block, an upper-case
 * or repeated name) and oversized frames are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "spdy.h"

/* kubectl's error and data stream of request 0 for port 80 (see the file comment) */
static const unsigned char syn1[] = {
    0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2, 0x02, 0x25, 0x3a, 0x70,
    0x3a, 0x2b, 0x29, 0x4a, 0x4d, 0xcc, 0x85, 0x16, 0x25, 0xac, 0xa9, 0xa0, 0x80, 0x86,
    0x14, 0xcb, 0x45, 0xa0, 0x24, 0xcc, 0x64, 0x61, 0x00, 0x24, 0x39, 0x8b, 0x20, 0x91,
    0x98, 0x09, 0x4a, 0xdc, 0x8c, 0x06, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
};
static const unsigned char syn3[] = {
    0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xc2, 0xaa, 0x15, 0x54, 0x0a, 0x25, 0x12, 0xd2, 0x09, 0x00, 0x00, 0x00, 0xff, 0xff,
};

static void test_dictionary(void **state)
{
	(void)state;
	assert_int_equal(adler32(1, (const Bytef *)spdy_dictionary, SPDY_DICT_LEN), 0xe3c6a7c2);
	assert_memory_equal(spdy_dictionary, "\0\0\0\7options", 11);
	assert_memory_equal(spdy_dictionary + SPDY_DICT_LEN - 6, "enq=0.", 6);
}

static void test_kubectl_pair(void **state)
{
	struct spdy_zlib *z = spdy_zlib_new(false);
	struct spdy_headers h;
	struct spdy_frame f;

	(void)state;
	assert_non_null(z);
	assert_int_equal(spdy_parse(syn1, sizeof(syn1), 65536, &f), sizeof(syn1));
	assert_true(f.control);
	assert_int_equal(f.type, SPDY_SYN_STREAM);
	assert_int_equal(f.stream, 1);
	assert_int_equal(f.assoc, 0);
	assert_int_equal(f.flags, 0);
	assert_int_equal(spdy_headers_decode(z, f.data, f.len, &h), 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(spdy_headers_get(&h, "streamType"), "error");
	assert_string_equal(spdy_headers_get(&h, "port"), "80");
	assert_string_equal(spdy_headers_get(&h, "requestid"), "0");
	assert_null(spdy_headers_get(&h, "nosuch"));
	spdy_headers_free(&h);
	/* the second block refers to the first's history: the same context inflates it */
	assert_int_equal(spdy_parse(syn3, sizeof(syn3), 65536, &f), sizeof(syn3));
	assert_int_equal(f.stream, 3);
	assert_int_equal(spdy_headers_decode(z, f.data, f.len, &h), 0);
	assert_string_equal(spdy_headers_get(&h, "streamtype"), "data");
	assert_string_equal(spdy_headers_get(&h, "port"), "80");
	spdy_headers_free(&h);
	spdy_zlib_free(z);
	/* a fresh context cannot read the second block alone */
	z = spdy_zlib_new(false);
	assert_int_equal(spdy_parse(syn3, sizeof(syn3), 65536, &f), sizeof(syn3));
	assert_int_equal(spdy_headers_decode(z, f.data, f.len, &h), -EPROTO);
	spdy_zlib_free(z);
}

static void test_roundtrip(void **state)
{
	struct spdy_zlib *d = spdy_zlib_new(true), *in = spdy_zlib_new(false);
	static const char multi[] = "a\0bb\0";
	const struct spdy_nv nv[] = {
	    {"Port", "8080", 4}, {"streamtype", "data", 4}, {"multi", multi, sizeof(multi) - 1}};
	unsigned char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(d);
	assert_non_null(in);
	for (int round = 0; round < 3; round++) {
		unsigned type = round == 0   ? SPDY_SYN_STREAM
				: round == 1 ? SPDY_SYN_REPLY
					     : SPDY_HEADERS;
		struct spdy_headers h;
		struct spdy_frame f;

		assert_int_equal(spdy_build_headers(d, type, SPDY_FLAG_FIN, 5 + 2 * (uint32_t)round,
						    1, nv, round == 1 ? 0 : 3, &out, &len),
				 0);
		assert_int_equal(out[0], 0x80);
		assert_int_equal(out[1], 3);
		assert_int_equal(out[3], type);
		assert_int_equal(out[4], SPDY_FLAG_FIN);
		/* every split short of the whole is incomplete */
		for (size_t k = 0; k < len; k++)
			assert_int_equal(spdy_parse(out, k, 65536, &f), 0);
		assert_int_equal(spdy_parse(out, len, 65536, &f), (ssize_t)len);
		assert_int_equal(f.type, type);
		assert_int_equal(f.flags, SPDY_FLAG_FIN);
		assert_int_equal(f.stream, 5 + 2 * round);
		assert_int_equal(f.assoc, type == SPDY_SYN_STREAM ? 1 : 0);
		assert_int_equal(spdy_headers_decode(in, f.data, f.len, &h), 0);
		if (round == 1) {
			assert_int_equal(h.n, 0); /* kubelet's SYN_REPLY: no headers */
		} else {
			assert_int_equal(h.n, 3);
			assert_string_equal(h.nv[0].name, "port"); /* sent in lower case */
			assert_string_equal(spdy_headers_get(&h, "port"), "8080");
			assert_string_equal(spdy_headers_get(&h, "multi"), "a");
			assert_int_equal(h.nv[2].vlen, 5);
			assert_memory_equal(h.nv[2].value, multi, 5);
		}
		spdy_headers_free(&h);
		free(out);
	}
	/* a block for another type than the three: refused */
	assert_int_equal(spdy_build_headers(d, SPDY_PING, 0, 1, 0, nv, 1, &out, &len), -EINVAL);
	assert_int_equal(spdy_build_headers(d, SPDY_SYN_REPLY, 0, 0, 0, nv, 1, &out, &len),
			 -EINVAL);
	/* an inflating context cannot deflate, nor the reverse */
	assert_int_equal(spdy_build_headers(in, SPDY_SYN_REPLY, 0, 1, 0, nv, 1, &out, &len),
			 -EINVAL);
	spdy_zlib_free(d);
	spdy_zlib_free(in);
	spdy_zlib_free(NULL);
}

static void test_fixed_frames(void **state)
{
	static const unsigned char rst[] = {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 5};
	static const unsigned char ping[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 9};
	static const unsigned char goaway[] = {0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 1};
	static const unsigned char data[] = {0, 0, 0, 3, 1, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
	unsigned char out[SPDY_CONTROL_MAX];
	struct spdy_frame f;

	(void)state;
	assert_int_equal(spdy_rst_stream(out, 7, SPDY_CANCEL), sizeof(rst));
	assert_memory_equal(out, rst, sizeof(rst));
	assert_int_equal(spdy_parse(out, sizeof(rst), 100, &f), sizeof(rst));
	assert_int_equal(f.type, SPDY_RST_STREAM);
	assert_int_equal(f.stream, 7);
	assert_int_equal(f.value, SPDY_CANCEL);
	assert_int_equal(spdy_ping(out, 9), sizeof(ping));
	assert_memory_equal(out, ping, sizeof(ping));
	assert_int_equal(spdy_parse(out, sizeof(ping), 100, &f), sizeof(ping));
	assert_int_equal(f.type, SPDY_PING);
	assert_int_equal(f.value, 9);
	assert_int_equal(spdy_goaway(out, 3, 1), sizeof(goaway));
	assert_memory_equal(out, goaway, sizeof(goaway));
	assert_int_equal(spdy_parse(out, sizeof(goaway), 100, &f), sizeof(goaway));
	assert_int_equal(f.type, SPDY_GOAWAY);
	assert_int_equal(f.stream, 3);
	assert_int_equal(f.value, 1);
	spdy_data_head(out, 3, SPDY_FLAG_FIN, 5);
	assert_memory_equal(out, data, SPDY_HEAD);
	assert_int_equal(spdy_parse(data, sizeof(data), 100, &f), sizeof(data));
	assert_false(f.control);
	assert_int_equal(f.stream, 3);
	assert_int_equal(f.flags, SPDY_FLAG_FIN);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.data, "hello", 5);
	for (size_t k = 0; k < sizeof(data); k++)
		assert_int_equal(spdy_parse(data, k, 100, &f), 0);
	/* two frames back to back: the first alone */
	{
		unsigned char two[sizeof(data) + sizeof(ping)];

		memcpy(two, data, sizeof(data));
		memcpy(two + sizeof(data), ping, sizeof(ping));
		assert_int_equal(spdy_parse(two, sizeof(two), 100, &f), sizeof(data));
		assert_int_equal(spdy_parse(two + sizeof(data), sizeof(ping), 100, &f),
				 sizeof(ping));
	}
}

static void test_bad_frames(void **state)
{
	unsigned char b[32];
	struct spdy_frame f;

	(void)state;
	/* SPDY/2 */
	memcpy(b, (unsigned char[]){0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1}, 12);
	assert_int_equal(spdy_parse(b, 12, 100, &f), -EPROTO);
	/* a PING of 8 bytes, an RST_STREAM of 4, status 0, a SYN_STREAM of 6 */
	memcpy(b, (unsigned char[]){0x80, 3, 0, 6, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0}, 16);
	assert_int_equal(spdy_parse(b, 16, 100, &f), -EPROTO);
	memcpy(b, (unsigned char[]){0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1}, 12);
	assert_int_equal(spdy_parse(b, 12, 100, &f), -EPROTO);
	memcpy(b, (unsigned char[]){0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0}, 16);
	assert_int_equal(spdy_parse(b, 16, 100, &f), -EPROTO);
	memcpy(b, (unsigned char[]){0x80, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0}, 14);
	assert_int_equal(spdy_parse(b, 14, 100, &f), -EPROTO);
	/* stream 0: a DATA frame, a SYN_REPLY */
	memcpy(b, (unsigned char[]){0, 0, 0, 0, 0, 0, 0, 1, 'x'}, 9);
	assert_int_equal(spdy_parse(b, 9, 100, &f), -EPROTO);
	memcpy(b, (unsigned char[]){0x80, 3, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0}, 12);
	assert_int_equal(spdy_parse(b, 12, 100, &f), -EPROTO);
	/* longer than max: refused from its header alone */
	memcpy(b, (unsigned char[]){0, 0, 0, 1, 0, 0, 1, 0}, 8);
	assert_int_equal(spdy_parse(b, 8, 255, &f), -EMSGSIZE);
	assert_int_equal(spdy_parse(b, 8, 256, &f), 0);
	/* an unknown control type parses (to be ignored) */
	memcpy(b, (unsigned char[]){0x80, 3, 0, 0x10, 0, 0, 0, 2, 1, 2}, 10);
	assert_int_equal(spdy_parse(b, 10, 100, &f), 10);
	assert_int_equal(f.type, 0x10);
}

/* A block of plain bytes deflated as a peer would (a fresh context each). */
static int decode_plain(const unsigned char *plain, size_t n)
{
	struct spdy_zlib *d = spdy_zlib_new(true), *in = spdy_zlib_new(false);
	unsigned char out[1024];
	z_stream zs = {0};
	struct spdy_headers h;
	int rc;

	assert_int_equal(deflateInit(&zs, 9), Z_OK);
	assert_int_equal(deflateSetDictionary(&zs, (const Bytef *)spdy_dictionary, SPDY_DICT_LEN),
			 Z_OK);
	zs.next_in = (Bytef *)plain;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
	rc = spdy_headers_decode(in, out, sizeof(out) - zs.avail_out, &h);
	if (!rc)
		spdy_headers_free(&h);
	deflateEnd(&zs);
	spdy_zlib_free(d);
	spdy_zlib_free(in);
	return rc;
}

static void test_bad_blocks(void **state)
{
	struct spdy_zlib *in = spdy_zlib_new(false);
	struct spdy_headers h;
	static const unsigned char good[] = {0,	  0,   0,   1, 0, 0, 0, 4,   'p',
					     'o', 'r', 't', 0, 0, 0, 2, '8', '0'};
	unsigned char b[64];

	(void)state;
	assert_int_equal(decode_plain(good, sizeof(good)), 0);
	/* not zlib at all */
	assert_int_equal(spdy_headers_decode(in, (const unsigned char *)"garbage!", 8, &h),
			 -EPROTO);
	spdy_zlib_free(in);
	/* a count of 2 with one pair; a name longer than the block; bytes left over */
	memcpy(b, good, sizeof(good));
	b[3] = 2;
	assert_int_equal(decode_plain(b, sizeof(good)), -EPROTO);
	memcpy(b, good, sizeof(good));
	b[7] = 40;
	assert_int_equal(decode_plain(b, sizeof(good)), -EPROTO);
	memcpy(b, good, sizeof(good));
	b[sizeof(good)] = 'x';
	assert_int_equal(decode_plain(b, sizeof(good) + 1), -EPROTO);
	/* a name in upper case; the same name twice */
	memcpy(b, good, sizeof(good));
	b[8] = 'P';
	assert_int_equal(decode_plain(b, sizeof(good)), -EINVAL);
	memcpy(b, good, sizeof(good));
	b[3] = 2;
	memcpy(b + sizeof(good), good + 4, sizeof(good) - 4);
	assert_int_equal(decode_plain(b, 2 * sizeof(good) - 4), -EINVAL);
	b[sizeof(good) + 4] = 'x'; /* "xort": two names, fine */
	assert_int_equal(decode_plain(b, 2 * sizeof(good) - 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dictionary), cmocka_unit_test(test_kubectl_pair),
	    cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_fixed_frames),
	    cmocka_unit_test(test_bad_frames), cmocka_unit_test(test_bad_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
