/* SPDX-License-Identifier: Apache-2.0 */
/*
 * websocket: the RFC 6455 pieces the kubelet stream protocols need (exec, attach,
 * port-forward over v5.channel.k8s.io and friends): the handshake's Sec-WebSocket-Accept,
 * parsing frames from a byte buffer (incrementally: a frame split over reads is completed by
 * the next), and frame headers for writing (a server's frames are unmasked, a client's
 * masked).
 */
#ifndef DROVER_WEBSOCKET_H
#define DROVER_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum ws_opcode {
	WS_CONT = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

#define WS_HEADER_MAX 14

struct ws_frame {
	bool fin;
	unsigned opcode;
	unsigned char *payload; /* inside the parsed buffer, unmasked in place */
	size_t len;
};

/* Sec-WebSocket-Accept of a Sec-WebSocket-Key: base64(SHA-1(key + GUID)), 28 characters
 * and a NUL into out. 0 or -EINVAL. */
int ws_accept_key(const char *key, char out[29]);
/* One frame at buf: the bytes it takes (> 0), 0 when buf holds only part of it, -EPROTO for
 * a malformed frame (reserved bits, a control frame longer than 125 bytes or fragmented, an
 * unmasked frame when masked is required), -EMSGSIZE when its payload exceeds max. */
ssize_t ws_parse(unsigned char *buf, size_t len, size_t max, bool masked, struct ws_frame *f);
/* The header of a final frame of len payload bytes into out (WS_HEADER_MAX bytes); with
 * mask non-NULL the frame is masked with it (the caller masks the payload: ws_mask). Its
 * length. */
size_t ws_header(unsigned char *out, unsigned opcode, size_t len, const unsigned char *mask);
/* Mask (or unmask: the same XOR) a whole payload with its 4-byte key. */
void ws_mask(unsigned char *p, size_t len, const unsigned char mask[4]);

#endif
