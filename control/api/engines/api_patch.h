/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_patch: the patch engines of PATCH requests: JSON patch (RFC 6902), JSON merge patch
 * (RFC 7386) and strategic merge patch (Kubernetes' schema-driven merge: patch merge keys,
 * $setElementOrder, $patch: delete|replace|merge, $retainKeys, $deleteFromPrimitiveList).
 * Server-side apply is api_apply.h. Each returns the patched object as a new tree in d.
 */
#ifndef DROVER_API_PATCH_H
#define DROVER_API_PATCH_H

#include <stddef.h>

#include "k8s_jv.h"

enum api_patch_type {
	API_PATCH_JSON,	     /* application/json-patch+json */
	API_PATCH_MERGE,     /* application/merge-patch+json */
	API_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	API_PATCH_APPLY,     /* application/apply-patch+yaml (and +cbor) */
};

/* The patch type of a Content-Type; -EINVAL if it is none. */
int api_patch_type_of(const char *ctype, enum api_patch_type *out);

/* Apply a patch document to obj (not modified). NULL with msg set when the patch is malformed
 * or does not apply (the caller answers 400 or 422), errno ENOMEM on allocation failure. */
struct jv *api_json_patch(struct jv_doc *d, const struct jv *obj, const struct jv *patch, char *msg,
			  size_t msglen);
struct jv *api_merge_patch(struct jv_doc *d, const struct jv *obj, const struct jv *patch);
struct jv *api_strategic_patch(struct jv_doc *d, const struct jv *obj, const struct jv *patch,
			       const struct k8s_type *type, char *msg, size_t msglen);

#endif
