/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_int: what the files of the API server share: the server, one request and its route,
 * the response helpers, and each module's entry points. Nothing outside control/api includes
 * it (tests and fuzz targets do, to reach the modules directly).
 *
 * Threads: HTTP threads (libmicrohttpd, epoll) read requests and answer reads inline; writes
 * run on the worker pool while their connection is suspended (a worker blocks in the store's
 * group commit); watches stream from suspended connections that the watch thread resumes
 * when their store watch has events. A request is owned by one thread at a time.
 */
#ifndef DROVER_API_INT_H
#define DROVER_API_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "api_resources.h"
#include "k8s.h"
#include "k8s_buf.h"
#include "k8s_jv.h"
#include "store.h"

struct api_watchers;
struct api_alloc;
struct api_watch;

struct api_server {
	struct api_config cfg;
	char *data_dir, *listen_host, *service_cidr;
	uint16_t port;
	struct store *store;
	struct MHD_Daemon *mhd;
	/* TLS and authentication (pki.c) */
	char *tls_cert, *tls_key, *tls_ca, *token, *kubeconfig;
	/* the write workers */
	pthread_mutex_t wq_lock;
	pthread_cond_t wq_cond;
	struct api_req *wq_head, *wq_tail;
	pthread_t *workers;
	unsigned nworkers;
	bool wq_stop;
	struct api_watchers *watchers; /* watch.c */
	struct api_alloc *alloc;       /* alloc.c: ClusterIPs and NodePorts */
	atomic_bool stopping;
	atomic_uint_fast64_t nrequests;
};

enum api_method {
	API_M_GET,
	API_M_HEAD,
	API_M_POST,
	API_M_PUT,
	API_M_PATCH,
	API_M_DELETE,
	API_M_OTHER,
};

enum api_route_type {
	ROUTE_NOT_FOUND,
	ROUTE_VERSION,
	ROUTE_HEALTH,
	ROUTE_API,	     /* /api */
	ROUTE_APIS,	     /* /apis */
	ROUTE_GROUP,	     /* /apis/<group> */
	ROUTE_GROUP_VERSION, /* /api/v1, /apis/<group>/<version> */
	ROUTE_OPENAPI_V2,
	ROUTE_OPENAPI_V3,    /* /openapi/v3 */
	ROUTE_OPENAPI_V3_GV, /* /openapi/v3/api/v1, /openapi/v3/apis/<g>/<v> */
	ROUTE_RESOURCE,
	ROUTE_METRICS,
};

struct api_route {
	enum api_route_type type;
	const char *group, *version; /* ROUTE_GROUP*, ROUTE_OPENAPI_V3_GV, ROUTE_RESOURCE */
	const struct api_resource *res;
	const char *ns;	     /* ROUTE_RESOURCE: the namespace of the path, or NULL */
	const char *name;    /* the object, or NULL for the collection */
	const char *sub;     /* the subresource, or NULL */
	const char *unknown; /* a resource the group version does not serve (404 message) */
	bool watch_path;     /* the deprecated /watch/ prefix */
};

#define API_MAX_ARGS 24

struct api_arg {
	char *key, *value;
};

enum api_req_state {
	REQ_READ,    /* reading the body */
	REQ_WORKING, /* a worker runs it; the connection is suspended */
	REQ_DONE,    /* the response is ready */
	REQ_STREAM,  /* a watch streams from the response's content reader */
};

struct api_req {
	struct api_server *srv;
	struct MHD_Connection *conn;
	struct api_req *wq_next;
	enum api_method method;
	char *url; /* decoded path, split by the router */
	struct api_route rt;
	struct api_arg args[API_MAX_ARGS]; /* query arguments, copied */
	size_t nargs;
	char *accept, *content_type, *user_agent, *authorization;
	struct k8s_buf body;
	bool body_too_large;
	enum api_req_state state;
	/* the response */
	unsigned code;
	char *out;
	size_t out_len;
	const char *ctype;
	struct k8s_buf warnings; /* "Warning" header values, NUL-separated */
	size_t nwarnings;
	bool close; /* close the connection after the response */
	/* REQ_STREAM: a chunked response produced by a content reader (watches, big lists) */
	ssize_t (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
	void (*stream_free)(void *cls);
	void *stream_cls;
	char user[128];
};

/* ---- server.c ---- */

/* A query argument, or NULL. */
const char *api_arg(const struct api_req *r, const char *key);
bool api_arg_true(const struct api_req *r, const char *key);
/* Add a "Warning: 299 - "<text>"" header to the response. */
void api_warn(struct api_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- status.c: responses and Status errors ---- */

/* Take json (malloc'd) as the response body with this code. */
void api_reply_json(struct api_req *r, unsigned code, char *json, size_t len);
void api_reply_buf(struct api_req *r, unsigned code, struct k8s_buf *b);
void api_reply_text(struct api_req *r, unsigned code, const char *ctype, const char *text);
/* A Status failure: reason as Kubernetes names it ("NotFound"), message (printf). */
void api_error(struct api_req *r, unsigned code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with details {name, group, kind} (kind = the resource, as Kubernetes puts it). */
void api_error_details(struct api_req *r, unsigned code, const char *reason,
		       const struct api_resource *res, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* "<resource>.<group>" as messages name a resource ("pods", "deployments.apps"). */
const char *api_res_qualified(const struct api_resource *res, char *buf, size_t size);
void api_error_not_found(struct api_req *r, const struct api_resource *res, const char *name);
void api_error_exists(struct api_req *r, const struct api_resource *res, const char *name);
void api_error_conflict(struct api_req *r, const struct api_resource *res, const char *name);
/* 422 Invalid with field causes: `<Kind>.<group> "<name>" is invalid: <causes>`. */
void api_error_invalid(struct api_req *r, const struct api_resource *res, const char *name,
		       const struct k8s_errors *errs);
/* A store error as the right Status. */
void api_error_store(struct api_req *r, const struct api_resource *res, const char *name, int err);
/* A Status object's JSON (malloc'd) for watch ERROR events. */
char *api_status_json(unsigned code, const char *reason, const char *message, size_t *len);

/* ---- route.c ---- */

/* Split r->url into r->rt. */
void api_route(struct api_req *r);
/* The served resource of group/version/plural, or NULL. */
const struct api_resource *api_resource_find(const char *group, const char *version,
					     const char *resource);
const struct api_resource *api_resource_of_kind(const struct k8s_kind *k);
const struct api_subresource *api_subresource_find(const struct api_resource *res,
						   const char *name);
bool api_resource_namespaced(const struct api_resource *res);

/* ---- discovery.c ---- */

void api_serve_discovery(struct api_req *r);
void api_serve_version(struct api_req *r);

/* ---- openapi.c ---- */

void api_serve_openapi(struct api_req *r);

/* ---- obj.c: stored objects ---- */

/* The store key of an object ("/registry/pods/default/web"); ns NULL for cluster scope; name
 * NULL for the collection prefix (with its trailing '/'). Returns the length, or -ENAMETOOLONG. */
int api_key(const struct api_resource *res, const char *ns, const char *name, char *buf,
	    size_t size);
/* List the stored objects of a resource in a namespace (NULL: all, or cluster scope). */
int api_list_all(struct api_server *s, const struct api_resource *res, const char *ns, size_t limit,
		 struct store_list *out);
/* Write a stored value with its resourceVersion spliced into metadata. */
void api_emit_object(struct k8s_buf *b, const uint8_t *value, size_t len, uint64_t rev);
/* Parse a stored value into d, with metadata.resourceVersion set; NULL if corrupt. */
struct jv *api_load_object(struct jv_doc *d, const uint8_t *value, size_t len, uint64_t rev);
/* The JSON to store: schema order, resourceVersion dropped (it is the store's revision). */
char *api_store_json(const struct jv *obj, const struct k8s_kind *kind, size_t *len);
/* The response JSON of an object tree (its resourceVersion as set). */
char *api_object_json(const struct jv *obj, const struct k8s_kind *kind, size_t *len);
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

/* ---- decode.c: request bodies ---- */

enum api_body_format {
	API_BODY_JSON,
	API_BODY_YAML,
	API_BODY_PROTOBUF,
};

/* Decode the request body into an object of the resource's kind (JSON, YAML or a protobuf
 * envelope), checked as fieldValidation says (warnings become Warning headers). On failure
 * the response is set and NULL returned. */
struct jv *api_decode_body(struct api_req *r, struct jv_doc *d, const struct k8s_kind *kind);
/* fieldValidation of the request (Strict by default for kubectl's, Warn otherwise... as
 * Kubernetes: absent means Warn for writes from 1.27). -EINVAL with the response set when the
 * argument is malformed. */
int api_field_validation(struct api_req *r, enum k8s_field_validation *out);
/* Decode the body of a server-side apply (YAML or JSON, apiVersion and kind required). */
struct jv *api_decode_apply(struct api_req *r, struct jv_doc *d, const struct k8s_kind *kind);
/* Decode a JSON/YAML/protobuf body of a given type (DeleteOptions, Scale, ...). */
struct jv *api_decode_as(struct api_req *r, struct jv_doc *d, const struct k8s_type *type,
			 enum k8s_field_validation fv);

/* ---- yaml.c ---- */

/* Parse one YAML object as k8s_obj_parse does, in a child process (libfyaml must not take
 * the server down): 0 and *json (malloc'd canonical JSON), -EINVAL with errs filled (also
 * when the parser hangs or dies), or -errno. Warnings are added to errs either way. */
int api_yaml_parse(const char *buf, size_t len, const struct k8s_parse_opts *po,
		   struct k8s_errors *errs, char **json, size_t *jlen);

/* ---- handler.c: the verbs ---- */

/* Serve a resource request (any verb); sets the response or starts a watch. */
void api_serve_resource(struct api_req *r);
/* True if the request must run on a worker (it writes). */
bool api_req_writes(const struct api_req *r);

/* ---- pki.c ---- */

/* Make (first start) or load the CA, serving certificate, admin credential and token; write
 * the kubeconfig. 0 or -errno. */
int api_pki_setup(struct api_server *s);
/* DIR/kubeconfig with the admin credential / with none (--insecure-loopback). */
int api_pki_write_kubeconfig(struct api_server *s);
int api_pki_write_insecure_kubeconfig(struct api_server *s);
/* Authenticate a request (bearer token or client certificate); fills r->user. */
bool api_authenticate(struct api_req *r);

/* ---- namespace.c ---- */

/* A create the server makes itself (the full write path); the HTTP code of its answer. */
unsigned api_internal_create(struct api_server *s, const struct api_resource *res, const char *ns,
			     const char *body);

/* ---- bootstrap.c ---- */

/* The default namespaces, the kubernetes Service, default ServiceAccounts. */
int api_bootstrap(struct api_server *s);

#endif
