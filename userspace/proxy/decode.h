/* SPDX-License-Identifier: Apache-2.0 */
/* decode: Service / EndpointSlice objects (jv trees) -> model.h structs. */
#ifndef DROVER_DECODE_H
#define DROVER_DECODE_H

#include "model.h"

#include <stddef.h>

struct jv;
struct k8s_obj;

/* obj: one object as Kubernetes' JSON (kc_obj_parse, jv_parse). Return 0 with *out set, or
 * -EINVAL with err holding "<field>: <message>", or -ENOMEM. */
int decode_service(const struct jv *obj, struct k8s_service **out, char *err, size_t errlen);
int decode_slice(const struct jv *obj, struct k8s_slice **out, char *err, size_t errlen);

/* The same for an object read from YAML/JSON text (k8s_parse_stream): its JSON, decoded. */
int decode_service_obj(struct k8s_obj *o, struct k8s_service **out, char *err, size_t errlen);
int decode_slice_obj(struct k8s_obj *o, struct k8s_slice **out, char *err, size_t errlen);

#endif
