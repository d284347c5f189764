/* SPDX-License-Identifier: Apache-2.0 */
/* decode: Service / EndpointSlice objects of the object model -> model.h structs. */
#ifndef DROVER_DECODE_H
#define DROVER_DECODE_H

#include "model.h"

#include <stddef.h>

struct k8s_obj;

/* Return 0 with *out set, or -EINVAL with err holding "<field>: <message>", or -ENOMEM. */
int decode_service(struct k8s_obj *o, struct k8s_service **out, char *err, size_t errlen);
int decode_slice(struct k8s_obj *o, struct k8s_slice **out, char *err, size_t errlen);

#endif
