/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_http: the HTTP layer of the API server: the server, one request and its route, the
 * response helpers, and the entry points of the HTTP modules (route, discovery, OpenAPI,
 * verbs, watch streams, PKI). Everything below HTTP is reached through the registry
 * (registry/registry.h) and the codecs (codec/api_codec.h). Nothing outside control/api
 * includes it (tests do, to reach the modules directly).
 *
 * Threads: HTTP threads (libmicrohttpd, epoll) read requests and answer reads inline; writes
 * run on the worker pool while their connection is suspended (a worker blocks in the store's
 * group commit); watches stream from suspended connections that the watch thread resumes
 * when their store watch has events. A request is owned by one thread at a time.
 */
#ifndef DROVER_API_HTTP_H
#define DROVER_API_HTTP_H

#include <gnutls/abstract.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "api_obj.h"
#include "api_resources.h"
#include "api_result.h"
#include "k8s.h"
#include "k8s_buf.h"
#include "k8s_jv.h"
#include "registry.h"
#include "store.h"

struct api_watchers;
struct api_watch;

struct api_server {
	struct api_config cfg;
	char *data_dir, *listen_host, *service_cidr;
	uint16_t port;
	struct store *store;
	struct MHD_Daemon *mhd;
	/* TLS and authentication (pki.c) */
	char *tls_cert, *tls_key, *tls_ca, *token, *kubeconfig;
	char *kubelet_cert, *kubelet_key; /* the client certificate agents are called with */
	/* the service-account token key (satoken.c) and its key id */
	gnutls_privkey_t sa_key;
	gnutls_pubkey_t sa_pub;
	char sa_kid[64];
	/* the write workers */
	pthread_mutex_t wq_lock;
	pthread_cond_t wq_cond;
	struct api_req *wq_head, *wq_tail;
	pthread_t *workers;
	unsigned nworkers;
	bool wq_stop;
	struct api_watchers *watchers; /* watch.c */
	/* nodeproxy.c: the agent connections in use (ended by api_node_proxy_stop) */
	pthread_mutex_t np_lock;
	struct api_nproxy *np_head;
	struct registry *reg; /* everything below HTTP */
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
	const char *ns;		/* ROUTE_RESOURCE: the namespace of the path, or NULL */
	const char *name;	/* the object, or NULL for the collection */
	const char *sub;	/* the subresource, or NULL */
	const char *proxy_path; /* sub "proxy": the path after it ("metrics"), or NULL */
	const char *unknown;	/* a resource the group version does not serve (404 message) */
	bool watch_path;	/* the deprecated /watch/ prefix */
	/* whose resources (custom ones too) the path may name */
	struct registry *reg;
};

#define API_MAX_GROUPS 8

struct api_arg {
	char *key, *value;
};

enum api_req_state {
	REQ_READ,    /* reading the body */
	REQ_WORKING, /* a worker runs it; the connection is suspended */
	REQ_DONE,    /* the response is ready */
	REQ_STREAM,  /* a watch streams from the response's content reader */
	REQ_UPGRADE, /* an agent answered 101: the client gets it, then a relay (nodeproxy.c) */
};

struct api_req {
	struct api_server *srv;
	struct MHD_Connection *conn;
	struct api_req *wq_next;
	enum api_method method;
	char *url;  /* decoded path, split by the router */
	char *path; /* the decoded path as it came (authorization messages) */
	struct api_route rt;
	/* query arguments, copied, all of them (an exec names one command= per word); the
	 * connection's memory limit bounds how many */
	struct api_arg *args;
	size_t nargs, args_cap;
	char *accept, *content_type, *user_agent, *authorization, *if_none_match;
	struct k8s_buf body;
	bool body_too_large;
	enum api_req_state state;
	/* the response */
	unsigned code;
	char *out;
	size_t out_len;
	const char *ctype;
	struct k8s_buf warnings; /* the warnings' texts, NUL-separated */
	size_t nwarnings;
	const char *etag, *last_modified; /* ETag and Last-Modified headers (static), or NULL */
	char etag_own[136];		  /* an ETag made for this request (etag points here) */
	bool vary_accept;		  /* a "Vary: Accept" header */
	bool close;			  /* close the connection after the response */
	bool http11;			  /* an HTTP/1.1 request: a stream goes out chunked */
	/* REQ_STREAM: a chunked response produced by a content reader (watches, big lists) */
	ssize_t (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
	void (*stream_free)(void *cls);
	void *stream_cls;
	/* nodeproxy.c: the agent connection of a proxied log or upgrade */
	struct api_nproxy *np;
	/* who made it (api_authenticate): the user name and groups */
	char user[128];
	char groups[API_MAX_GROUPS][128];
	unsigned ngroups;
};

/* ---- request.c ---- */

/* A query argument, or NULL. */
const char *api_arg(const struct api_req *r, const char *key);
bool api_arg_true(const struct api_req *r, const char *key);
/* Add a "Warning: 299 - "<text>"" header to the response (a text already added is not
 * added again). */
void api_warn(struct api_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The warnings' limits of kube-apiserver's recorder: past API_WARN_TOTAL_RUNES in all, every
 * warning is cut to API_WARN_ITEM_RUNES. */
#define API_WARN_TOTAL_RUNES 4096
#define API_WARN_ITEM_RUNES  256
/* Do r's warnings pass API_WARN_TOTAL_RUNES in all? */
bool api_warnings_truncated(const struct api_req *r);
/* The Warning header value of text: 299 - "text" (cut when truncate), quoted as
 * apimachinery's NewWarningHeader does: only " and \ escaped. */
void api_warning_header(struct k8s_buf *b, const char *text, bool truncate);

/* ---- reply.c: responses ---- */

/* Take json (malloc'd) as the response body with this code. */
void api_reply_json(struct api_req *r, unsigned code, char *json, size_t len);
void api_reply_buf(struct api_req *r, unsigned code, struct k8s_buf *b);
void api_reply_text(struct api_req *r, unsigned code, const char *ctype, const char *text);
/* A Status failure: reason as Kubernetes names it ("NotFound"), message (printf). */
void api_error(struct api_req *r, unsigned code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The warnings of a result as Warning headers. */
void api_reply_warnings(struct api_req *r, const struct api_result *res);
/* A result's Status (failures, and Status successes) as the response; false if it holds an
 * object instead (the caller writes it: verbs.c). */
bool api_reply_status(struct api_req *r, struct api_result *res);

/* ---- route.c ---- */

/* Split r->url into r->rt. */
void api_route(struct api_req *r);

/* ---- discovery.c ---- */

void api_serve_discovery(struct api_req *r);
void api_serve_version(struct api_req *r);

/* ---- openapi.c ---- */

void api_serve_openapi(struct api_req *r);

/* ---- openapi_crdv2.c ---- */

/* A custom resource version's openAPIV3Schema as kube-apiserver's /openapi/v2 has it, written
 * to b. root_props (NULL: "") is written first among the root's properties (the type meta and
 * metadata), the schema's own apiVersion, kind and metadata left out; the root object is left
 * open for the caller to add to and close. */
void api_openapi_crd_schema_v2(struct k8s_buf *b, const struct jv *schema, const char *root_props);

/* ---- verbs.c: resource requests ---- */

/* Serve a resource request (any verb): decode it into a registry call, encode the result;
 * sets the response or starts a watch. */
void api_serve_resource(struct api_req *r);
/* True if the request must run on a worker (it writes). */
bool api_req_writes(const struct api_req *r);

/* ---- nodeproxy.c: pods/log, exec, attach, portforward through the pod's agent; nodes/proxy ---- */

/* True if r is served by an agent (the connection to it blocks: a worker runs it). */
bool api_req_proxies(const struct api_req *r);
/* Serve pods/{name}/log|exec|attach|portforward: resolve the pod's node and its kubelet
 * endpoint, then stream the log or pass the upgraded connection through; nodes/{name}/proxy/
 * {path}: stream the agent's answer to GET /{path} (pod is then the Node). */
void api_serve_node_proxy(struct api_req *r, const struct jv *pod);
/* Queue the 101 of an upgraded request (REQ_UPGRADE). */
enum MHD_Result api_node_proxy_queue(struct api_req *r);
/* At shutdown: end every proxied log stream and relay (their agent connections are shut
 * down), waiting up to 5 s for them to finish. */
void api_node_proxy_stop(struct api_server *s);
/* Release what a proxied request holds (its agent connection); NULL-tolerant. */
void api_node_proxy_free(struct api_req *r);

/* ---- mhd_epoll.c ---- */

/* libmicrohttpd's epoll_wait() calls come to the work-around of its blocking drain loop (see
 * mhd_epoll.c): false when this process was linked so that they do not. */
bool api_mhd_epoll_check(void);

/* ---- pki.c ---- */

/* Make (first start) or load the CA, serving certificate, admin credential and token; write
 * the kubeconfig. 0 or -errno. */
int api_pki_setup(struct api_server *s);
/* DIR/kubeconfig with the admin credential / with none (--insecure-loopback). */
int api_pki_write_kubeconfig(struct api_server *s);
int api_pki_write_insecure_kubeconfig(struct api_server *s);
/* Authenticate a request (bearer token, bootstrap token or client certificate); fills
 * r->user and r->groups. */
bool api_authenticate(struct api_req *r);

/* ---- auth.c: bootstrap tokens, the Node authorizer and NodeRestriction ---- */

/* A bootstrap token ("Bearer <id>.<secret>" whose Secret kube-system/bootstrap-token-<id>
 * holds it, unexpired, for authentication): true with r->user system:bootstrap:<id> and the
 * groups system:bootstrappers + its auth-extra-groups; false if it is none (401). */
bool api_bootstrap_authenticate(struct api_req *r);

/* ---- satoken.c: ServiceAccount tokens ---- */

/* Load (or make) DIR/pki/sa.key: at the start of a TLS server, at the first TokenRequest of a
 * plain-HTTP one. 0 or -errno. */
int api_sa_key_setup(struct api_server *s);
void api_sa_key_free(struct api_server *s);
const char *api_sa_issuer(const struct api_server *s);
/* TokenRequest tr (decoded, in d) for service account ns/name: *ok and tr the response
 * object (its status filled), or out failed. */
void api_token_request(struct api_server *s, const char *ns, const char *sa, struct jv *tr,
		       struct jv_doc *d, struct api_result *out, bool *ok);
/* A bearer ServiceAccount token of ours that holds: user system:serviceaccount:NS:NAME, groups
 * system:serviceaccounts and system:serviceaccounts:NS; false otherwise (401). */
bool api_sa_authenticate(struct api_req *r);
/* The same for a token meant for audience (a TokenReview's spec.audiences). */
bool api_sa_authenticate_for(struct api_req *r, const char *audience);
/* The bearer token authenticators alone (the admin token, bootstrap tokens, service account
 * tokens for audience, NULL: the server's), on r->authorization: r->user and r->groups set;
 * audience_out: the audience it was good for. A TokenReview's. */
bool api_token_authenticate(struct api_req *r, const char *audience, const char **audience_out);
/* Add a group to r (ignored past API_MAX_GROUPS). */
void api_req_add_group(struct api_req *r, const char *g, size_t len);
/* Authorization (and NodeRestriction admission) of an authenticated request: true if it
 * may go on; false with the 403 set. Identities other than nodes and bootstrappers may do
 * everything (drover enforces no RBAC). */
bool api_authorize(struct api_req *r);
/* A create of a CertificateSigningRequest (JSON body): spec.username and spec.groups become
 * the requester's, as the CSR strategy's PrepareForCreate sets them. */
void api_csr_requester(struct api_req *r);

#endif
