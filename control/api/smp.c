/* SPDX-License-Identifier: Apache-2.0 */
/* smp: strategic merge patch (stub, replaced below) */
#include <stdio.h>
#include "api_patch.h"
struct jv *api_strategic_patch(struct jv_doc *d, const struct jv *obj, const struct jv *patch,
			       const struct k8s_type *type, char *msg, size_t msglen)
{
	(void)type;
	(void)msg;
	(void)msglen;
	return api_merge_patch(d, obj, patch);
}
