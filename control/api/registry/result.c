/* SPDX-License-Identifier: Apache-2.0 */
/*
 * result: the outcome of an API operation (api_result.h): objects, warnings, and errors as
 * Kubernetes' Status objects with its codes, reasons and message wording
 * (k8s.io/apimachinery/pkg/api/errors), so kubectl prints what it prints against Kubernetes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_result.h"

void api_result_free(struct api_result *r)
{
	if (!r)
		return;
	free(r->status);
	free(r->message);
	free(r->json);
	store_kv_release(&r->kv);
	k8s_buf_free(&r->warnings);
	memset(r, 0, sizeof(*r));
}

bool api_result_failed(const struct api_result *r)
{
	return r->code >= 300 || r->code == 0;
}

void api_result_warn(struct api_result *r, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (r->nwarnings < API_MAX_WARNINGS) {
		k8s_buf_put(&r->warnings, msg, (size_t)n);
		k8s_buf_putc(&r->warnings, 0);
		r->nwarnings++;
	}
	free(msg);
}

/* Drop what a previous outcome left (warnings stay). */
static void clear_outcome(struct api_result *r)
{
	free(r->status);
	free(r->message);
	free(r->json);
	r->status = r->message = r->json = NULL;
	r->status_len = r->json_len = 0;
	r->obj = NULL;
	r->rev = 0;
	r->reason[0] = 0;
	store_kv_release(&r->kv);
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

static void set_status(struct api_result *r, unsigned code, const char *reason, const char *msg,
		       const char *details)
{
	struct k8s_buf b = {0};

	clear_outcome(r);
	status_json(&b, code, reason, msg, details);
	r->code = code;
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
	r->message = strdup(msg);
	r->status = k8s_buf_take(&b, &r->status_len);
}

void api_fail(struct api_result *r, unsigned code, const char *reason, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_status(r, code, reason, msg, NULL);
}

void api_fail_oom(struct api_result *r)
{
	api_fail(r, 500, "InternalError", "Internal error occurred: out of memory");
}

void api_fail_json_patch(struct api_result *r)
{
	api_fail(r, 422, "Invalid",
		 "the server rejected our request due to an error in our request");
}

void api_fail_status(struct api_result *r, unsigned code, const char *reason, struct k8s_buf *b)
{
	struct jv_doc *d;
	const char *msg;

	clear_outcome(r);
	r->code = code;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	r->status = k8s_buf_take(b, &r->status_len);
	/* its message, for clients that read the result rather than the body */
	d = r->status ? jv_doc_new() : NULL;
	msg = d ? jv_path_str(jv_parse(d, r->status, r->status_len, NULL), "message") : NULL;
	r->message = strdup(msg ? msg : "");
	jv_doc_free(d);
}

void api_succeed_status(struct api_result *r, unsigned code)
{
	struct k8s_buf b = {0};

	clear_outcome(r);
	k8s_buf_printf(&b,
		       "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
		       "\"Success\",\"code\":%u}",
		       code);
	r->code = code;
	r->status = k8s_buf_take(&b, &r->status_len);
}

void api_succeed_object(struct api_result *r, unsigned code, struct jv *obj, uint64_t rev)
{
	clear_outcome(r);
	r->code = code;
	r->obj = obj;
	r->rev = rev;
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

void api_fail_details(struct api_result *r, unsigned code, const char *reason,
		      const struct api_resource *res, const char *name, const char *fmt, ...)
{
	struct k8s_buf d = {0};
	char *msg = NULL;
	va_list ap;
	int n;

	/* of any length: an RBAC escalation's lists every rule missing */
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		api_fail_oom(r);
		return;
	}
	details_of(&d, res, name, res ? res->kind->resource : NULL);
	k8s_buf_putc(&d, '}');
	set_status(r, code, reason, msg, d.p);
	k8s_buf_free(&d);
	free(msg);
}

void api_fail_not_found(struct api_result *r, const struct api_resource *res, const char *name)
{
	char q[128];

	api_fail_details(r, 404, "NotFound", res, name, "%s \"%s\" not found",
			 api_res_qualified(res, q, sizeof(q)), name ? name : "");
}

void api_fail_exists(struct api_result *r, const struct api_resource *res, const char *name)
{
	char q[128];

	api_fail_details(r, 409, "AlreadyExists", res, name, "%s \"%s\" already exists",
			 api_res_qualified(res, q, sizeof(q)), name ? name : "");
}

void api_fail_conflict(struct api_result *r, const struct api_resource *res, const char *name)
{
	char q[128];

	api_fail_details(r, 409, "Conflict", res, name,
			 "Operation cannot be fulfilled on %s \"%s\": the object has been "
			 "modified; please apply your changes to the latest version and try again",
			 api_res_qualified(res, q, sizeof(q)), name ? name : "");
}

void api_fail_invalid(struct api_result *r, const struct api_resource *res, const char *name,
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
	set_status(r, 422, "Invalid", msg.p ? msg.p : "invalid", d.p);
	k8s_buf_free(&msg);
	k8s_buf_free(&d);
}

void api_fail_store(struct api_result *r, const struct api_resource *res, const char *name, int err)
{
	switch (err) {
	case -ENOENT:
		api_fail_not_found(r, res, name);
		return;
	case -EEXIST:
		api_fail_exists(r, res, name);
		return;
	case -STORE_ECONFLICT:
		api_fail_conflict(r, res, name);
		return;
	case -STORE_ECOMPACTED:
		api_fail(r, 410, "Expired", "too old resource version");
		return;
	case -EMSGSIZE:
		api_fail(r, 413, "RequestEntityTooLarge",
			 "Request entity too large: the object is larger than the store's limit "
			 "of %u bytes",
			 STORE_MAX_VALUE);
		return;
	case -STORE_ECLOSED:
		api_fail(r, 503, "ServiceUnavailable", "the server is shutting down");
		return;
	case -ENOMEM:
		api_fail(r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	default:
		api_fail(r, 500, "InternalError", "Internal error occurred: storage: %s",
			 store_strerror(err));
	}
}
