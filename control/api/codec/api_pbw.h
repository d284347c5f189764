/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_pbw: a protobuf writer into a k8s_buf: scalars by field number, and nested messages
 * written in place (pbw_begin ... pbw_end moves the body up to make room for its length, so
 * no message is built twice). proto3 rules are the caller's: zero values are written when
 * asked to. On allocation failure the buffer's oom is set; check it once at the end.
 */
#ifndef DROVER_API_PBW_H
#define DROVER_API_PBW_H

#include <stddef.h>
#include <stdint.h>

#include "k8s_buf.h"

#define PBW_MAX_DEPTH 64

struct pbw {
	struct k8s_buf b;
	size_t open[PBW_MAX_DEPTH]; /* where each open message's body starts */
	unsigned depth;
};

void pbw_varint_field(struct pbw *w, uint32_t num, uint64_t v);
void pbw_double_field(struct pbw *w, uint32_t num, double v);
void pbw_bytes_field(struct pbw *w, uint32_t num, const void *p, size_t len);
void pbw_string_field(struct pbw *w, uint32_t num, const char *s);
/* Open field num as a nested message; every begin needs its end. */
void pbw_begin(struct pbw *w, uint32_t num);
void pbw_end(struct pbw *w);

#endif
