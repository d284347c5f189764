/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kclient_int: what a transport implements (struct kc_ops) and the base every client embeds.
 * kclient.c holds the transport-independent parts (kc_obj, the public entry points that
 * check arguments, count and dispatch through ops, error names); kclient_http.c and
 * control/api/kclient_local.c are the two transports.
 */
#ifndef DROVER_KCLIENT_INT_H
#define DROVER_KCLIENT_INT_H

#include "kclient.h"

/* What kclient.c hands a transport: arguments already checked (a served resource kind; a
 * name where one is needed; ns NULL for cluster-scoped kinds, and for list/watch when all
 * namespaces are meant); option structs never NULL; out, if given, already NULL and st
 * already cleared. What a transport owes: 0 or a negative code of kclient.h with st filled;
 * objects as kc_obj (refs 1, its own release); for a watch, a struct kc_watch first in its
 * own, callbacks never concurrent, no event after end, end at most once, no callback once
 * watch_stop has returned, and c->watch_events counted per event delivered. */
struct kc_ops {
	const char *name; /* "https", "local" */
	int (*get)(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		   const char *sub, struct kc_obj **out, struct kc_status *st);
	int (*list)(struct kclient *c, const struct k8s_kind *k, const char *ns,
		    const struct kc_list_opts *o, struct kc_list *out, struct kc_status *st);
	/* POST (create, subresource create) */
	int (*create)(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		      const char *sub, const struct jv *obj, const struct kc_write_opts *o,
		      struct kc_obj **out, struct kc_status *st);
	int (*update)(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		      const char *sub, const struct jv *obj, const struct kc_write_opts *o,
		      struct kc_obj **out, struct kc_status *st);
	int (*patch)(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		     const char *sub, enum kc_patch_type t, const char *patch, size_t len,
		     const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st);
	int (*del)(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		   const struct kc_delete_opts *o, struct kc_obj **out, struct kc_status *st);
	/* deletecollection (sel may be NULL: everything) */
	int (*delcol)(struct kclient *c, const struct k8s_kind *k, const char *ns,
		      const struct kc_list_opts *sel, const struct kc_delete_opts *o,
		      struct kc_status *st);
	int (*watch)(struct kclient *c, const struct k8s_kind *k, const char *ns,
		     const struct kc_watch_opts *o, const struct kc_watch_cb *cb, void *arg,
		     struct kc_watch **out, struct kc_status *st);
	void (*watch_stop)(struct kc_watch *w);
	/* kc_get_raw; may be NULL */
	int (*get_raw)(struct kclient *c, const char *path, const struct kc_stream_cb *cb,
		       struct kc_status *st);
	void (*free)(struct kclient *c);
};

struct kclient {
	const struct kc_ops *ops;
	char field_manager[128];
	/* requests, errors and watches_opened are counted by kclient.c; watch_events by the
	 * transport, once per event it delivers */
	_Atomic uint64_t requests, errors, watches_opened, watch_events;
};

/* The base every transport's watch embeds first: kc_watch_stop finds the transport (ops)
 * through it. */
struct kc_watch {
	struct kclient *c;
};

/* Initialise the base of a transport's client. */
void kclient_init(struct kclient *c, const struct kc_ops *ops);
/* Map an HTTP status and Status reason to the error codes of kclient.h. */
int kc_error_of(int code, const char *reason);
/* Fill st (may be NULL). */
void kc_status_set(struct kc_status *st, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
