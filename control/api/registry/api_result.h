/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_result: the outcome of one API operation as the layers below HTTP produce it, with no
 * transport in it: a success (the object, or a Status of success) or a failure as
 * Kubernetes' Status object (code, reason, message, details, causes, worded as
 * k8s.io/apimachinery/pkg/api/errors words them), plus the warnings of the operation.
 * The HTTP layer writes it as a response; the in-process client reads it as it is.
 *
 * Ownership: a result owns its strings and buffers (api_result_free); obj lives in the doc of
 * the call that made it; kv holds a store reference (released by api_result_free).
 */
#ifndef DROVER_API_RESULT_H
#define DROVER_API_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_resources.h"
#include "k8s.h"
#include "k8s_buf.h"
#include "k8s_jv.h"
#include "store.h"

#define API_MAX_WARNINGS 32

struct api_result {
	unsigned code;	 /* HTTP status: 200, 201, 202 on success; 0 = nothing set yet */
	char reason[48]; /* failure: "NotFound", "Conflict", ... */
	/* a complete Status object (failures, and the Success of deletecollection, binding,
	 * eviction), malloc'd */
	char *status;
	size_t status_len;
	char *message; /* the Status' message (failures), malloc'd */
	/* success: the object */
	struct jv *obj;	 /* the object tree (resourceVersion set), in the call's doc */
	char *json;	 /* the stored JSON of obj, when obj is in the stored form (malloc'd) */
	size_t json_len; /* (without resourceVersion: it is the store revision, rev) */
	uint64_t rev;
	struct store_kv kv; /* a read: the stored value as it is (released with the result) */
	/* "Warning" values, NUL-separated */
	struct k8s_buf warnings;
	size_t nwarnings;
};

void api_result_free(struct api_result *r);
bool api_result_failed(const struct api_result *r);

/* Add a warning ("299 - ..." header over HTTP). */
void api_result_warn(struct api_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A Status failure: reason as Kubernetes names it ("NotFound"), message (printf). Replaces
 * anything set before (but keeps the warnings). */
void api_fail(struct api_result *r, unsigned code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with details {name, group, kind} (kind = the resource, as Kubernetes puts it). */
void api_fail_details(struct api_result *r, unsigned code, const char *reason,
		      const struct api_resource *res, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void api_fail_not_found(struct api_result *r, const struct api_resource *res, const char *name);
void api_fail_exists(struct api_result *r, const struct api_resource *res, const char *name);
void api_fail_conflict(struct api_result *r, const struct api_resource *res, const char *name);
/* 422 Invalid with field causes: `<Kind>.<group> "<name>" is invalid: <causes>`. */
void api_fail_invalid(struct api_result *r, const struct api_resource *res, const char *name,
		      const struct k8s_errors *errs);
/* A store error as the right Status. */
void api_fail_store(struct api_result *r, const struct api_resource *res, const char *name,
		    int err);
void api_fail_oom(struct api_result *r);
/* A JSON patch that does not apply: patch.go's applyJSPatch answers
 * NewGenericServerResponse(422, ...), whose message drops the json-patch library's text. */
void api_fail_json_patch(struct api_result *r);
/* A complete Status body someone else built (apply's conflicts). Takes b's memory. */
void api_fail_status(struct api_result *r, unsigned code, const char *reason, struct k8s_buf *b);
/* A Status of success ({"status":"Success","code":code}). */
void api_succeed_status(struct api_result *r, unsigned code);
/* Success with an object (code 200/201/202). */
void api_succeed_object(struct api_result *r, unsigned code, struct jv *obj, uint64_t rev);

/* "<resource>.<group>" as messages name a resource ("pods", "deployments.apps"). */
const char *api_res_qualified(const struct api_resource *res, char *buf, size_t size);
/* A Status object's JSON (malloc'd), for watch ERROR events. */
char *api_status_json(unsigned code, const char *reason, const char *message, size_t *len);

#endif
