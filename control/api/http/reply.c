/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reply: responses: bodies taken as they are, Status errors (built by the registry's result
 * code, registry/result.c, so that HTTP and in-process clients get the same words), and the
 * Status and warnings of a registry result.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_http.h"

void api_reply_json(struct api_req *r, unsigned code, char *json, size_t len)
{
	free(r->out);
	r->out = json;
	r->out_len = len;
	r->code = code;
	r->ctype = "application/json";
	r->state = REQ_DONE;
}

void api_reply_buf(struct api_req *r, unsigned code, struct k8s_buf *b)
{
	size_t len;
	char *p = k8s_buf_take(b, &len);

	if (!p) {
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	}
	api_reply_json(r, code, p, len);
}

void api_reply_text(struct api_req *r, unsigned code, const char *ctype, const char *text)
{
	char *p = strdup(text);

	api_reply_json(r, code, p, p ? strlen(p) : 0);
	r->ctype = ctype;
}

void api_error(struct api_req *r, unsigned code, const char *reason, const char *fmt, ...)
{
	struct api_result res = {0};
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_fail(&res, code, reason, "%s", msg);
	api_reply_status(r, &res);
	api_result_free(&res);
}

void api_reply_warnings(struct api_req *r, const struct api_result *res)
{
	size_t off = 0;

	for (size_t i = 0; i < res->nwarnings && res->warnings.p; i++) {
		api_warn(r, "%s", res->warnings.p + off);
		off += strlen(res->warnings.p + off) + 1;
	}
}

bool api_reply_status(struct api_req *r, struct api_result *res)
{
	if (res->status) {
		api_reply_json(r, res->code, res->status, res->status_len);
		res->status = NULL;
		return true;
	}
	if (api_result_failed(res)) {
		/* a failure whose Status could not be built (out of memory) */
		r->code = res->code >= 300 ? res->code : 500;
		r->state = REQ_DONE;
		return true;
	}
	return false;
}
