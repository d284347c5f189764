/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_table: meta.k8s.io/v1 Table output: the columns of each resource (the generated
 * api_resource columns), cells filled as Kubernetes' printers fill them, and rows carrying
 * PartialObjectMetadata (or the whole object, or nothing: includeObject).
 */
#ifndef DROVER_API_TABLE_H
#define DROVER_API_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "api_resources.h"
#include "k8s_buf.h"
#include "k8s_jv.h"

enum api_include_object {
	API_INCLUDE_METADATA = 0, /* the default */
	API_INCLUDE_OBJECT,
	API_INCLUDE_NONE,
};

/* Does the Accept header ask for a Table (as=Table;g=meta.k8s.io)? */
bool api_accept_table(const char *accept);
/* includeObject=Object|Metadata|None; -1 for another value. */
int api_include_object(const char *arg);

/* {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{...},"columnDefinitions":[...],
 * "rows":[   (defs false: "columnDefinitions":[] as later watch events send) */
void api_table_begin(struct k8s_buf *b, const struct api_resource *res, uint64_t rev,
		     const char *cont, bool defs);
/* One row; obj must have metadata.resourceVersion set. first: no comma before it. */
void api_table_row(struct k8s_buf *b, const struct api_resource *res, const struct jv *obj,
		   enum api_include_object inc, bool first);
void api_table_end(struct k8s_buf *b);
/* The order of res's list rows (res->table_order): <0, 0, >0 as a sorts before, with, after
 * b; 0 for a resource without one. */
int api_table_compare(const struct api_resource *res, const struct jv *a, const struct jv *b);

/* Kubernetes' duration.HumanDuration of now - t ("5m", "3h20m", "<invalid>"). */
void api_human_since(int64_t t, char *buf, size_t size);

#endif
