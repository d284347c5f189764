/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request: what a request carries that every HTTP module reads: its query arguments and the
 * warnings its response will carry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api_http.h"

const char *api_arg(const struct api_req *r, const char *key)
{
	for (size_t i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].key, key) == 0)
			return r->args[i].value;
	return NULL;
}

bool api_arg_true(const struct api_req *r, const char *key)
{
	const char *v = api_arg(r, key);

	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

void api_warn(struct api_req *r, const char *fmt, ...)
{
	char msg[4096]; /* PodSecurity's warnings name every violation */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->nwarnings >= 32)
		return;
	k8s_buf_puts(&r->warnings, "299 - ");
	k8s_buf_json_string(&r->warnings, msg, strlen(msg));
	k8s_buf_putc(&r->warnings, 0);
	r->nwarnings++;
}
