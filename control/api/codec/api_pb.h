/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_pb: protobuf request bodies: the 4 magic bytes "k8s\0", a runtime.Unknown envelope
 * (typeMeta, raw, contentEncoding, contentType), and raw decoded by the schema tables into a
 * JSON tree (every field's number, wire type and label; maps as repeated key/value entries;
 * Quantity, IntOrString, Time, MicroTime, Duration, RawExtension and FieldsV1 in their own
 * forms).
 */
#ifndef DROVER_API_PB_H
#define DROVER_API_PB_H

#include <stddef.h>
#include <stdint.h>

#include "k8s_jv.h"

/* Decode an envelope whose typeMeta must name a kind of type `type` (NULL: any kind; the
 * kind is set in the tree). NULL with msg set on malformed input, errno ENOMEM on allocation
 * failure. */
struct jv *api_pb_decode(struct jv_doc *d, const uint8_t *buf, size_t len,
			 const struct k8s_type *type, char *msg, size_t msglen);
/* Decode a bare message of type t (no envelope). */
struct jv *api_pb_decode_message(struct jv_doc *d, const uint8_t *buf, size_t len,
				 const struct k8s_type *t, char *msg, size_t msglen);

#endif
