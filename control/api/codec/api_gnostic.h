/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_gnostic: a Swagger 2.0 JSON document as gnostic's openapi.v2.Document protobuf, the
 * form kube-apiserver serves /openapi/v2 in to kubectl.
 */
#ifndef DROVER_API_GNOSTIC_H
#define DROVER_API_GNOSTIC_H

#include <stddef.h>
#include <stdint.h>

#include "k8s_jv.h"

/* The protobuf of the JSON document json (malloc'd, *out_len bytes); NULL with errno EINVAL
 * (not a JSON object) or ENOMEM. */
uint8_t *api_gnostic_v2(const char *json, size_t len, size_t *out_len);

#endif
