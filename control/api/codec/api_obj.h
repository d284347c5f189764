/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_obj: objects as the store holds them and as responses carry them. A stored value is the
 * object's JSON in Kubernetes' field order without metadata.resourceVersion (that is the
 * store's revision of the key, spliced in when the object is served, as kube-apiserver does
 * over etcd); plus store keys, times, UIDs and generated names.
 */
#ifndef DROVER_API_OBJ_H
#define DROVER_API_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "api_resources.h"
#include "k8s_buf.h"
#include "k8s_jv.h"
#include "store.h"

/* The store key of an object ("/registry/pods/default/web"); ns NULL for cluster scope; name
 * NULL for the collection prefix (with its trailing '/'). Returns the length, or -ENAMETOOLONG. */
int api_key(const struct api_resource *res, const char *ns, const char *name, char *buf,
	    size_t size);
/* List the stored objects of a resource in a namespace (NULL: all, or cluster scope). */
int api_list_all(struct store *st, const struct api_resource *res, const char *ns, size_t limit,
		 struct store_list *out);
/* Write a stored value with its resourceVersion spliced into metadata. */
void api_emit_object(struct k8s_buf *b, const uint8_t *value, size_t len, uint64_t rev);
/* The same into dst when it fits in room: the bytes written, or 0 (it does not fit). */
size_t api_emit_object_to(char *dst, size_t room, const uint8_t *value, size_t len, uint64_t rev);
/* Parse a stored value into d, with metadata.resourceVersion set; NULL if corrupt. */
struct jv *api_load_object(struct jv_doc *d, const uint8_t *value, size_t len, uint64_t rev);
/* The JSON to store: schema order, resourceVersion dropped (it is the store's revision). */
char *api_store_json(const struct jv *obj, const struct k8s_kind *kind, size_t *len);
/* Current time as RFC 3339 ("2024-05-01T10:00:00Z"); buf holds 32 bytes. */
const char *api_now(char *buf);
const char *api_time_rfc3339(int64_t unix_s, char *buf);
/* RFC 3339 to seconds since the epoch; -1 if malformed. */
int64_t api_parse_time(const char *s);
/* A random version 4 UUID (37 bytes). */
void api_uuid(char *buf);
/* n random characters of Kubernetes' generateName alphabet. */
void api_random_suffix(char *buf, size_t n);
/* "1", "2".. as a JSON string node. */
struct jv *api_rv_node(struct jv_doc *d, uint64_t rev);
/* metadata.resourceVersion of obj as a number; 0 if absent, -1 if malformed. */
int64_t api_obj_rv(const struct jv *obj);
/* Is the resource namespaced? */
static inline bool api_resource_namespaced(const struct api_resource *res)
{
	return !res->kind->cluster_scoped;
}

#endif
