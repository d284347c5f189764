/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spdy: the SPDY/3.1 framing Kubernetes' port-forward speaks (k8s.io/apimachinery's
 * httpstream/spdy over moby/spdystream; kubectl tunnels it inside WebSocket binary messages
 * as "SPDY/3.1+portforward.k8s.io" or upgrades to it directly): parsing frames from a byte
 * buffer (a frame split over reads is completed by the next), the name/value header blocks
 * zlib-compressed with SPDY/3's dictionary (one compression context per direction for the
 * whole connection, as the spec says: a block is inflated in the order it arrived), and
 * writing the frames a server sends (SYN_REPLY, DATA, RST_STREAM, PING, GOAWAY; SYN_STREAM
 * too, for a client and the tests). Flow control (WINDOW_UPDATE) is parsed and left to the
 * caller: spdystream neither sends nor honours it.
 */
#ifndef DROVER_SPDY_H
#define DROVER_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum spdy_type {
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};

#define SPDY_FLAG_FIN		 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02

/* RST_STREAM status codes */
enum spdy_rst {
	SPDY_PROTOCOL_ERROR = 1,
	SPDY_INVALID_STREAM = 2,
	SPDY_REFUSED_STREAM = 3,
	SPDY_CANCEL = 5,
	SPDY_INTERNAL_ERROR = 6,
};

#define SPDY_HEAD	 8	  /* every frame's header */
#define SPDY_DATA_MAX	 0xffffff /* a frame's length field */
#define SPDY_DICT_LEN	 1423
#define SPDY_HEADERS_MAX (256 * 1024) /* an inflated header block */
#define SPDY_CONTROL_MAX 32	      /* the largest fixed control frame we write */
/* the dictionary (and a NUL); zlib streams with it carry its Adler-32, 0xe3c6a7c2 */
extern const char spdy_dictionary[SPDY_DICT_LEN + 1];

struct spdy_frame {
	bool control;
	unsigned type;	 /* control frames: enum spdy_type */
	unsigned flags;	 /* SPDY_FLAG_* */
	uint32_t stream; /* DATA, SYN_*, RST_STREAM, HEADERS, WINDOW_UPDATE; GOAWAY's last good */
	uint32_t assoc;	 /* SYN_STREAM: associated-to stream */
	uint32_t value;	 /* RST_STREAM and GOAWAY status, PING id, WINDOW_UPDATE delta */
	const unsigned char *data; /* DATA payload; the compressed header block; SETTINGS' */
	size_t len;
};

/* One frame at buf: the bytes it takes (> 0), 0 when buf holds only part of it, -EPROTO for
 * a malformed one (a control frame of another version than 3 or too short for its type, a
 * zero stream id where one is needed), -EMSGSIZE when its length exceeds max. Unknown control
 * types parse (the spec: ignore them). */
ssize_t spdy_parse(const unsigned char *buf, size_t len, size_t max, struct spdy_frame *f);

/* One name/value pair; value holds several values NUL-separated (vlen counts them all). */
struct spdy_nv {
	const char *name;
	const char *value;
	size_t vlen;
};

struct spdy_headers {
	struct spdy_nv *nv;
	size_t n;
	char *mem; /* names and values, each NUL-terminated */
};

/* One direction's zlib context (a connection has one to inflate and one to deflate). */
struct spdy_zlib;
struct spdy_zlib *spdy_zlib_new(bool deflate);
void spdy_zlib_free(struct spdy_zlib *z);

/* Inflate and parse a header block (a SYN_STREAM's, SYN_REPLY's or HEADERS' f->data) into h
 * (spdy_headers_free). Names must be lower case and appear once, as spdystream checks.
 * 0; -EPROTO for a block that does not inflate or parse (the connection's context is then
 * broken: the caller ends the connection), -EINVAL for a name in upper case or twice (the
 * context stays good), -E2BIG past SPDY_HEADERS_MAX, -ENOMEM. */
int spdy_headers_decode(struct spdy_zlib *z, const unsigned char *blk, size_t len,
			struct spdy_headers *h);
void spdy_headers_free(struct spdy_headers *h);
/* The first value of name (up to its first NUL), or NULL. */
const char *spdy_headers_get(const struct spdy_headers *h, const char *name);

/* A control frame with a header block: SYN_STREAM (its stream, assoc, priority 0), SYN_REPLY
 * or HEADERS (its stream), the n pairs compressed with z; into *out (malloc'd), its length in
 * *len. 0 or -errno. */
int spdy_build_headers(struct spdy_zlib *z, unsigned type, unsigned flags, uint32_t stream,
		       uint32_t assoc, const struct spdy_nv *nv, size_t n, unsigned char **out,
		       size_t *len);
/* A DATA frame's header for len payload bytes (the caller sends the payload after it). */
void spdy_data_head(unsigned char out[SPDY_HEAD], uint32_t stream, unsigned flags, size_t len);
/* RST_STREAM, PING and GOAWAY (status 0 OK, 1 protocol error, 2 internal error) frames into
 * out; their length. */
size_t spdy_rst_stream(unsigned char *out, uint32_t stream, uint32_t status);
size_t spdy_ping(unsigned char *out, uint32_t id);
size_t spdy_goaway(unsigned char *out, uint32_t last_good, uint32_t status);

#endif
