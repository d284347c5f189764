/* SPDX-License-Identifier: Apache-2.0 */
/* apply: server-side apply (stub) */
#include "api_apply.h"
#include "api_handler.h"
void api_op_apply(struct hctx *c)
{
	api_error(c->r, 415, "UnsupportedMediaType", "apply not yet");
}
