/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_handler: one resource request being served: its resource, namespace, name and
 * subresource, a scratch document for the trees it builds, and the verbs (handler.c: reads,
 * write.c: writes, subres.c: subresources) that share them.
 */
#ifndef DROVER_API_HANDLER_H
#define DROVER_API_HANDLER_H

#include "api_admit.h"
#include "api_int.h"

/* Attempts of a read-modify-write before it answers 409 Conflict (a concurrent writer won
 * every time). */
#define API_WRITE_RETRIES 16

struct hctx {
	struct api_req *r;
	struct api_server *srv;
	const struct api_resource *res;	 /* the stored resource */
	const struct api_resource *wire; /* the version requested when res serves it by
					  * conversion (res == wire->storage), else NULL */
	const char *ns, *name, *sub;
	struct jv_doc *d;
	char key[1024];
	bool dry_run;
	char manager[128];
};

/* ---- handler.c ---- */

/* Read the stored object of c->key into c->d (with its resourceVersion): 0, or the store's
 * error (response not set). */
int api_h_load(struct hctx *c, const char *key, struct jv **out, uint64_t *rev);
/* The kind the client speaks (c->wire's, else c->res's). */
const struct k8s_kind *api_h_wire_kind(const struct hctx *c);
/* A request's object in the client's version, converted to the stored one (in place). */
void api_h_from_wire(struct hctx *c, struct jv *obj);
/* Answer with an object tree (its resourceVersion already set). */
void api_h_reply_object(struct hctx *c, unsigned code, const struct jv *obj);
/* The dryRun argument: 0 (absent), 1 (All) or -EINVAL with the response set. */
int api_h_dry_run(struct hctx *c);
/* The namespace exists and is not terminating (namespaced writes): 0, or the response set. */
int api_h_check_namespace(struct hctx *c, bool creating);

/* ---- write.c ---- */

void api_op_create(struct hctx *c);
void api_op_update(struct hctx *c);
void api_op_patch(struct hctx *c);
void api_op_delete(struct hctx *c);
void api_op_deletecollection(struct hctx *c);

/* The shared core of update and patch: store `obj` (the new state, decoded and complete) over
 * the stored object `old` at revision `rev`. precondition: the client's resourceVersion (0 for
 * none). Returns 0 (response set), -STORE_ECONFLICT when an unconditional write raced
 * (retry), or another error with the response set. */
int api_h_replace(struct hctx *c, struct jv *obj, struct jv *old, uint64_t rev,
		  uint64_t precondition, const char *operation);
/* Create obj (decoded) as a new object: the create pipeline from metadata to response. */
void api_h_create_object(struct hctx *c, struct jv *obj, const char *operation);
/* Delete the stored object at c->key (already loaded as obj at rev), honouring finalizers
 * and graceful deletion; opts is the DeleteOptions tree or NULL. reply: set the response. */
int api_h_delete_object(struct hctx *c, const char *key, struct jv *obj, uint64_t rev,
			const struct jv *opts, bool reply);

/* ---- subres.c ---- */

void api_sub_scale(struct hctx *c);
void api_sub_binding(struct hctx *c);
void api_sub_unavailable(struct hctx *c);
void api_sub_eviction(struct hctx *c);

/* ---- namespace.c ---- */

/* After a namespace got its deletionTimestamp: delete what it holds, then the namespace when
 * nothing is left. */
void api_ns_terminate(struct api_server *s, const char *ns);
/* An object of a terminating namespace went away: finish the namespace if it is empty. */
void api_ns_maybe_finish(struct api_server *s, const char *ns);
/* A namespace was created: its default ServiceAccount. */
void api_ns_created(struct api_server *s, const char *ns);

#endif
