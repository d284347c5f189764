/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kclient: the one client of the Kubernetes API every drover component uses (controllers,
 * scheduler, node agent, proxy, `drover sim`, tests), in the spirit of client-go: typed calls
 * (get, list, create, update, patch, delete, subresources) with Kubernetes' Status errors and
 * optimistic concurrency, watches, and above them the reflector + informer (informer.h) and
 * the work queue (workqueue.h).
 *
 * Two transports behind one vtable (kclient_int.h):
 *   - HTTPS (kclient_http.c: libcurl, a kubeconfig with a token or a client certificate):
 *     any Kubernetes-compatible server;
 *   - in-process (control/api/kclient_local.c): calls the API server's registry directly,
 *     with the same admission, defaulting, validation, Status errors and watch semantics,
 *     and no socket, TLS or re-encoding.
 * A component written against this header runs unchanged over either.
 *
 * Objects travel as struct kc_obj: an immutable, reference-counted JSON text with its
 * resourceVersion (the in-process transport shares the store's own bytes, so a cache of
 * 150,000 pods costs no copy). kc_obj_parse() turns one into a jv tree when code needs the
 * fields.
 *
 * Errors: 0 on success; on failure a negative code and, when the server answered, *st filled
 * from its Status (st may be NULL):
 *   -ENOENT        404 NotFound
 *   -EEXIST        409 AlreadyExists
 *   -KC_ECONFLICT  409 Conflict (stale resourceVersion, precondition): re-read and retry
 *   -KC_EGONE      410 Gone / Expired (a watch or continue token too old): re-list
 *   -KC_EINVALID   422 Invalid (st->message has the causes)
 *   -EACCES        401 / 403
 *   -KC_EAPI       any other Status (st->code tells)
 *   -ECONNREFUSED, -ETIMEDOUT, -EIO, -ENOMEM: transport and local failures (st->code 0)
 *
 * Threads: every call may be made from any thread; a watch's callbacks run on a thread of
 * the transport (never concurrently for one watch), and must not block for long.
 */
#ifndef DROVER_KCLIENT_H
#define DROVER_KCLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_jv.h"
#include "k8s_schema.h"

enum {
	KC_ERRNO__START = 4100,
	KC_ECONFLICT = 4101,
	KC_EGONE = 4102,
	KC_EINVALID = 4103,
	KC_EAPI = 4104,
};

const char *kc_strerror(int err);

struct kclient;

/* ---- objects ---- */

/* One object as the client holds it: immutable JSON text (with or without
 * metadata.resourceVersion: rv is authoritative) and a reference count. */
struct kc_obj {
	atomic_uint refs;
	const char *json;
	size_t len;
	uint64_t rv;
	/* frees the object's memory when the last reference goes (transport's) */
	void (*release)(struct kc_obj *o);
};

static inline struct kc_obj *kc_obj_get(struct kc_obj *o)
{
	if (o)
		atomic_fetch_add(&o->refs, 1);
	return o;
}
/* Drop a reference; NULL-tolerant. */
void kc_obj_put(struct kc_obj *o);
/* A new object holding a copy of json (refs = 1); NULL with errno ENOMEM. */
struct kc_obj *kc_obj_new(const char *json, size_t len, uint64_t rv);
/* The object as a tree in d, with metadata.resourceVersion set from rv; NULL if the text is
 * not a JSON object (errno EINVAL) or on ENOMEM. */
struct jv *kc_obj_parse(const struct kc_obj *o, struct jv_doc *d);

/* ---- results ---- */

struct kc_status {
	int code;	 /* HTTP status of the answer; 0 when there was none */
	char reason[64]; /* "NotFound", "Conflict", "AlreadyExists", "Invalid", ... */
	char message[1024];
};

/* ---- calls ---- */

/* Options of every write. */
struct kc_write_opts {
	const char *field_manager; /* default: the client's (kclient_set_field_manager) */
	bool dry_run;
	bool force; /* KC_PATCH_APPLY: take the fields other managers own (force=true) */
};

/* The object at ns/name (ns NULL for cluster-scoped kinds). */
int kc_get(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
	   struct kc_obj **out, struct kc_status *st);

/* A GET of a path the API serves that is no object (kubectl get --raw): a node's proxied
 * /metrics or /flows. The body of a 2xx answer is handed to data as it comes (a stream may
 * last: data or stop returning true end it, and the call returns 0); another answer is the
 * error its Status says. Transports without it: -EINVAL. */
struct kc_stream_cb {
	bool (*data)(void *arg, const char *p, size_t n); /* false: end the transfer */
	bool (*stop)(void *arg);			  /* polled; may be NULL */
	void *arg;
};
int kc_get_raw(struct kclient *c, const char *path, const struct kc_stream_cb *cb,
	       struct kc_status *st);

struct kc_list_opts {
	const char *label_selector, *field_selector; /* NULL: none */
	size_t limit;				     /* 0: everything in one page */
	const char *continue_token;
	const char *resource_version; /* "", "0" (any), or "N" with resource_version_match */
	const char *resource_version_match;
};

struct kc_list {
	struct kc_obj **items;
	size_t count;
	uint64_t rv; /* the list's resourceVersion */
	char *next;  /* continue token, or NULL */
};

/* One page (or everything, limit 0) of a collection; ns NULL = all namespaces. */
int kc_list(struct kclient *c, const struct k8s_kind *k, const char *ns,
	    const struct kc_list_opts *o, struct kc_list *out, struct kc_status *st);
void kc_list_free(struct kc_list *l);

/* Create obj (a tree of kind k); *out (may be NULL) gets the stored object. */
int kc_create(struct kclient *c, const struct k8s_kind *k, const char *ns, const struct jv *obj,
	      const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st);
/* Replace the object named by obj's metadata.name; its metadata.resourceVersion, if set, is a
 * precondition (-KC_ECONFLICT when stale). sub: NULL, "status", "scale", "finalize". */
int kc_update(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *sub,
	      const struct jv *obj, const struct kc_write_opts *o, struct kc_obj **out,
	      struct kc_status *st);

enum kc_patch_type {
	KC_PATCH_MERGE,	    /* application/merge-patch+json */
	KC_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	KC_PATCH_JSON,	    /* application/json-patch+json */
	KC_PATCH_APPLY,	    /* application/apply-patch+yaml (needs a field manager) */
};

int kc_patch(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
	     const char *sub, enum kc_patch_type t, const char *patch, size_t len,
	     const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st);

struct kc_delete_opts {
	int64_t grace_seconds;	 /* -1: the object's default */
	const char *propagation; /* NULL, "Background", "Foreground", "Orphan" */
	const char *precondition_uid;
	const char *precondition_rv;
	bool dry_run;
};
#define KC_DELETE_OPTS_INIT         \
	{                           \
		.grace_seconds = -1 \
	}

/* Delete; *out (may be NULL) gets the object as the server answered (with its
 * deletionTimestamp when deletion is graceful or held by finalizers). */
int kc_delete(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
	      const struct kc_delete_opts *o, struct kc_obj **out, struct kc_status *st);

/* deletecollection: delete every object of kind k in ns (NULL: every namespace) that sel's
 * label and field selectors match (sel NULL: all of them), with the options o (may be NULL),
 * as each would be deleted alone (finalizers, graceful deletion). */
int kc_delete_collection(struct kclient *c, const struct k8s_kind *k, const char *ns,
			 const struct kc_list_opts *sel, const struct kc_delete_opts *o,
			 struct kc_status *st);

/* POST a subresource object (pods/binding, pods/eviction, serviceaccounts/token). */
int kc_create_sub(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		  const char *sub, const struct jv *body, const struct kc_write_opts *o,
		  struct kc_obj **out, struct kc_status *st);

/* Bind pod ns/name to node (a v1 Binding through pods/binding). */
int kc_bind(struct kclient *c, const char *ns, const char *name, const char *uid, const char *node,
	    struct kc_status *st);

/* ---- watches ---- */

enum kc_event_type {
	KC_ADDED = 1,
	KC_MODIFIED,
	KC_DELETED,
	KC_BOOKMARK, /* obj carries only the resourceVersion (rv) */
};

struct kc_watch_opts {
	const char *label_selector, *field_selector;
	/* "" or "0": the current state as ADDED events first, then changes; "N": changes after
	 * revision N (too old: the watch ends with -KC_EGONE) */
	const char *resource_version;
	bool bookmarks; /* allowWatchBookmarks */
	long timeout_s; /* 0: the server's default */
};

struct kc_watch_cb {
	/* One event; obj is borrowed for the call (kc_obj_get it to keep it). */
	void (*event)(void *arg, enum kc_event_type type, struct kc_obj *obj);
	/* The stream ended: 0 (timeout or server closed it cleanly), -KC_EGONE (history too
	 * old: re-list), or another error. No event follows. */
	void (*end)(void *arg, int err);
};

struct kc_watch;

int kc_watch(struct kclient *c, const struct k8s_kind *k, const char *ns,
	     const struct kc_watch_opts *o, const struct kc_watch_cb *cb, void *arg,
	     struct kc_watch **out, struct kc_status *st);
/* Stop and free a watch: when it returns, no callback of it runs or will run (do not call it
 * from the watch's own callbacks). NULL-tolerant. */
void kc_watch_stop(struct kc_watch *w);

/* ---- the client ---- */

/* What a kubeconfig says about its current context. */
struct kc_config {
	char *server;		     /* "https://127.0.0.1:6443" */
	char *ca_file, *ca_data;     /* certificate-authority(-data), PEM (data decoded) */
	char *cert_file, *cert_data; /* client-certificate(-data) */
	char *key_file, *key_data;   /* client-key(-data) */
	char *token;		     /* token or tokenFile's content */
	char *namespace;	     /* the context's namespace, or NULL */
	bool insecure;		     /* insecure-skip-tls-verify */
};

/* Read a kubeconfig (path NULL: $KUBECONFIG, else ~/.kube/config) for its current context.
 * 0, or -errno with the reason in err (may be NULL). */
int kc_config_load(const char *path, struct kc_config *out, char *err, size_t errlen);
void kc_config_free(struct kc_config *c);

struct kclient *kclient_http_new(const struct kc_config *cfg);
/* Field manager of writes that name none; the user agent ("drover-scheduler"). */
void kclient_set_field_manager(struct kclient *c, const char *manager);
/* Stops every watch still open (as kc_watch_stop: no callback after it, their handles are
 * freed) and frees the client; NULL-tolerant. */
void kclient_free(struct kclient *c);

/* Counters, for metrics and tests. */
struct kc_stats {
	uint64_t requests, errors, watches_opened, watch_events;
};
void kclient_stats(struct kclient *c, struct kc_stats *out);

#endif
