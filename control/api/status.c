/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status: responses, and errors as Kubernetes' Status objects with its codes, reasons and
 * message wording (k8s.io/apimachinery/pkg/api/errors), so kubectl prints what it prints
 * against Kubernetes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

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

static void status_json(struct k8s_buf *b, unsigned code, const char *reason, const char *msg,
			const char *details)
{
	k8s_buf_puts(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
			"\"status\":\"Failure\",\"message\":");
	k8s_buf_json_string(b, msg, strlen(msg));
	if (reason && reason[0]) {
		k8s_buf_puts(b, ",\"reason\":");
		k8s_buf_json_string(b, reason, strlen(reason));
	}
	if (details)
		k8s_buf_printf(b, ",\"details\":%s", details);
	k8s_buf_printf(b, ",\"code\":%u}", code);
}

char *api_status_json(unsigned code, const char *reason, const char *message, size_t *len)
{
	struct k8s_buf b = {0};

	status_json(&b, code, reason, message, NULL);
	return k8s_buf_take(&b, len);
}

static void reply_status(struct api_req *r, unsigned code, const char *reason, const char *msg,
			 const char *details)
{
	struct k8s_buf b = {0};

	status_json(&b, code, reason, msg, details);
	api_reply_buf(r, code, &b);
	if (!r->out) { /* out of memory even for the error */
		r->code = 500;
		r->state = REQ_DONE;
	}
}

void api_error(struct api_req *r, unsigned code, const char *reason, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_status(r, code, reason, msg, NULL);
}

const char *api_res_qualified(const struct api_resource *res, char *buf, size_t size)
{
	if (!res)
		snprintf(buf, size, "resource");
	else if (res->kind->group[0])
		snprintf(buf, size, "%s.%s", res->kind->resource, res->kind->group);
	else
		snprintf(buf, size, "%s", res->kind->resource);
	return buf;
}

static void details_of(struct k8s_buf *b, const struct api_resource *res, const char *name,
		       const char *kind)
{
	bool first = true;

	k8s_buf_putc(b, '{');
	if (name && name[0]) {
		k8s_buf_puts(b, "\"name\":");
		k8s_buf_json_string(b, name, strlen(name));
		first = false;
	}
	if (res && res->kind->group[0]) {
		k8s_buf_puts(b, first ? "\"group\":" : ",\"group\":");
		k8s_buf_json_string(b, res->kind->group, strlen(res->kind->group));
		first = false;
	}
	if (kind) {
		k8s_buf_puts(b, first ? "\"kind\":" : ",\"kind\":");
		k8s_buf_json_string(b, kind, strlen(kind));
	}
}

void api_error_details(struct api_req *r, unsigned code, const char *reason,
		       const struct api_resource *res, const char *name, const char *fmt, ...)
{
	struct k8s_buf d = {0};
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	details_of(&d, res, name, res ? res->kind->resource : NULL);
	k8s_buf_putc(&d, '}');
	reply_status(r, code, reason, msg, d.p);
	k8s_buf_free(&d);
}

void api_error_not_found(struct api_req *r, const struct api_resource *res, const char *name)
{
	char q[128];

	api_error_details(r, 404, "NotFound", res, name, "%s \"%s\" not found",
			  api_res_qualified(res, q, sizeof(q)), name ? name : "");
}

void api_error_exists(struct api_req *r, const struct api_resource *res, const char *name)
{
	char q[128];

	api_error_details(r, 409, "AlreadyExists", res, name, "%s \"%s\" already exists",
			  api_res_qualified(res, q, sizeof(q)), name ? name : "");
}

void api_error_conflict(struct api_req *r, const struct api_resource *res, const char *name)
{
	char q[128];

	api_error_details(r, 409, "Conflict", res, name,
			  "Operation cannot be fulfilled on %s \"%s\": the object has been "
			  "modified; please apply your changes to the latest version and try again",
			  api_res_qualified(res, q, sizeof(q)), name ? name : "");
}

void api_error_invalid(struct api_req *r, const struct api_resource *res, const char *name,
		       const struct k8s_errors *errs)
{
	struct k8s_buf msg = {0}, d = {0};
	char gk[128];

	if (res && res->kind->group[0])
		snprintf(gk, sizeof(gk), "%s.%s", res->kind->kind, res->kind->group);
	else
		snprintf(gk, sizeof(gk), "%s", res ? res->kind->kind : "Object");
	k8s_buf_printf(&msg, "%s \"%s\" is invalid", gk, name ? name : "");
	if (errs && errs->n) {
		k8s_buf_puts(&msg, errs->n > 1 ? ": [" : ": ");
		for (size_t i = 0; i < errs->n; i++) {
			const struct k8s_cause *c = &errs->causes[i];

			if (i)
				k8s_buf_puts(&msg, ", ");
			if (c->field[0])
				k8s_buf_printf(&msg, "%s: ", c->field);
			k8s_buf_puts(&msg, c->message);
		}
		if (errs->n > 1)
			k8s_buf_putc(&msg, ']');
	}
	details_of(&d, res, name, res ? res->kind->kind : NULL);
	k8s_buf_puts(&d, ",\"causes\":[");
	for (size_t i = 0; errs && i < errs->n; i++) {
		const struct k8s_cause *c = &errs->causes[i];

		if (i)
			k8s_buf_putc(&d, ',');
		k8s_buf_puts(&d, "{\"reason\":");
		k8s_buf_json_string(&d, c->reason, strlen(c->reason));
		k8s_buf_puts(&d, ",\"message\":");
		k8s_buf_json_string(&d, c->message, strlen(c->message));
		k8s_buf_puts(&d, ",\"field\":");
		k8s_buf_json_string(&d, c->field, strlen(c->field));
		k8s_buf_putc(&d, '}');
	}
	k8s_buf_puts(&d, "]}");
	reply_status(r, 422, "Invalid", msg.p ? msg.p : "invalid", d.p);
	k8s_buf_free(&msg);
	k8s_buf_free(&d);
}

void api_error_store(struct api_req *r, const struct api_resource *res, const char *name, int err)
{
	switch (err) {
	case -ENOENT:
		api_error_not_found(r, res, name);
		return;
	case -EEXIST:
		api_error_exists(r, res, name);
		return;
	case -STORE_ECONFLICT:
		api_error_conflict(r, res, name);
		return;
	case -STORE_ECOMPACTED:
		api_error(r, 410, "Expired", "too old resource version");
		return;
	case -EMSGSIZE:
		api_error(r, 413, "RequestEntityTooLarge",
			  "Request entity too large: the object is larger than the store's limit "
			  "of %u bytes",
			  STORE_MAX_VALUE);
		return;
	case -STORE_ECLOSED:
		api_error(r, 503, "ServiceUnavailable", "the server is shutting down");
		return;
	case -ENOMEM:
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	default:
		api_error(r, 500, "InternalError", "Internal error occurred: storage: %s",
			  store_strerror(err));
	}
}
