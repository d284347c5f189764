/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_apply: server-side apply (PATCH with application/apply-patch+yaml): the applied
 * configuration merged into the live object by the schema's list and map semantics, field
 * ownership in managedFields, conflicts with other managers reported as Kubernetes reports
 * them (409, one cause per field) unless force=true, fields the manager stopped applying
 * removed, and creation on first apply.
 */
#ifndef DROVER_API_APPLY_H
#define DROVER_API_APPLY_H

#include <stdbool.h>

#include "k8s_jv.h"

struct api_apply_in {
	struct jv_doc *d;
	const struct k8s_kind *kind;
	bool has_status; /* the kind has a status subresource */
	const char *manager, *sub;
	bool force;
};

/* Apply the configuration cfg (decoded; its list keys are defaulted in place) to live
 * (NULL: a create): *merged is the new object with its managedFields. 0, -EBUSY with the
 * 409 Status of the conflicts in *conflicts, or -ENOMEM. */
int api_apply_compute(const struct api_apply_in *in, const struct jv *live, struct jv *cfg,
		      struct jv **merged, struct k8s_buf *conflicts);

#endif
