/* SPDX-License-Identifier: Apache-2.0 */
/* openapi (stub) */
#include "api_int.h"
void api_serve_openapi(struct api_req *r)
{
	api_error(r, 404, "NotFound", "the server could not find the requested resource");
}
