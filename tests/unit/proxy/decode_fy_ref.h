/* SPDX-License-Identifier: Apache-2.0 */
/* decode_fy_ref: the libfyaml decoder the jv one replaced, as the table test's reference. */
#ifndef DROVER_TEST_DECODE_FY_REF_H
#define DROVER_TEST_DECODE_FY_REF_H

#include "model.h"

#include <stddef.h>

struct k8s_obj;

int ref_decode_service(struct k8s_obj *o, struct k8s_service **out, char *err, size_t errlen);
int ref_decode_slice(struct k8s_obj *o, struct k8s_slice **out, char *err, size_t errlen);

#endif
