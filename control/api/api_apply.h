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

struct hctx;

void api_op_apply(struct hctx *c);

#endif
