/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server: the HTTP side of the API server over libmicrohttpd: the daemon (epoll threads,
 * TLS through GnuTLS, connection/body/header limits and idle timeouts), reading a request,
 * authenticating and routing it, answering reads inline, handing writes to the worker pool
 * while their connection is suspended (a worker blocks in the store's group commit, not an
 * HTTP thread), starting watch streams, and the lifecycle (start, stop: every suspended
 * connection is resumed before the daemon stops).
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_http.h"
#include "api_watch.h"
#include "log.h"
#include "rbac.h"

#define COMP "api"

/* ---- requests ---- */

static void req_free(struct api_req *r)
{
	if (!r)
		return;
	if (r->stream_free)
		r->stream_free(r->stream_cls);
	api_node_proxy_free(r);
	for (size_t i = 0; i < r->nargs; i++) {
		free(r->args[i].key);
		free(r->args[i].value);
	}
	free(r->args);
	free(r->url);
	free(r->accept);
	free(r->content_type);
	free(r->user_agent);
	free(r->if_none_match);
	free(r->authorization);
	free(r->path);
	free(r->out);
	k8s_buf_free(&r->body);
	k8s_buf_free(&r->warnings);
	free(r);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct api_req *r = cls;

	(void)kind;
	if (!key)
		return MHD_YES;
	if (r->nargs == r->args_cap) {
		size_t cap = r->args_cap ? 2 * r->args_cap : 8;
		struct api_arg *a = realloc(r->args, cap * sizeof(*a));

		if (!a)
			return MHD_NO;
		r->args = a;
		r->args_cap = cap;
	}
	r->args[r->nargs].key = strdup(key);
	r->args[r->nargs].value = strdup(value ? value : "");
	if (!r->args[r->nargs].key || !r->args[r->nargs].value) {
		free(r->args[r->nargs].key);
		free(r->args[r->nargs].value);
		return MHD_NO;
	}
	r->nargs++;
	return MHD_YES;
}

static char *header_dup(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	return v ? strdup(v) : NULL;
}

static enum api_method method_of(const char *m)
{
	static const struct {
		const char *name;
		enum api_method m;
	} map[] = {{"GET", API_M_GET}, {"HEAD", API_M_HEAD},   {"POST", API_M_POST},
		   {"PUT", API_M_PUT}, {"PATCH", API_M_PATCH}, {"DELETE", API_M_DELETE}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(m, map[i].name) == 0)
			return map[i].m;
	return API_M_OTHER;
}

static struct api_req *req_new(struct api_server *s, struct MHD_Connection *c, const char *url,
			       const char *method)
{
	struct api_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->srv = s;
	r->conn = c;
	r->method = method_of(method);
	r->url = strdup(url);
	r->path = strdup(url);
	if (!r->url || !r->path) {
		req_free(r);
		return NULL;
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, r);
	r->accept = header_dup(c, MHD_HTTP_HEADER_ACCEPT);
	r->content_type = header_dup(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	r->user_agent = header_dup(c, MHD_HTTP_HEADER_USER_AGENT);
	r->authorization = header_dup(c, MHD_HTTP_HEADER_AUTHORIZATION);
	r->if_none_match = header_dup(c, MHD_HTTP_HEADER_IF_NONE_MATCH);
	return r;
}

/* ---- responses ---- */

static enum MHD_Result queue_response(struct api_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool truncate = api_warnings_truncated(r);
	size_t off = 0;

	resp = MHD_create_response_from_buffer(r->out_len, r->out ? r->out : (char *)"",
					       r->out ? MHD_RESPMEM_MUST_FREE
						      : MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->out = NULL;
	/* a 304 has no body and so no type (Go's writeNotModified) */
	if (r->code != 304)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
	if (r->etag)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	if (r->last_modified && r->code != 304)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, r->last_modified);
	if (r->vary_accept)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
	for (size_t i = 0; i < r->nwarnings && r->warnings.p; i++) {
		struct k8s_buf h = {0};

		api_warning_header(&h, r->warnings.p + off, truncate);
		if (h.p)
			MHD_add_response_header(resp, "Warning", h.p);
		k8s_buf_free(&h);
		off += strlen(r->warnings.p + off) + 1;
	}
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(r->conn, r->code ? r->code : 500, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result queue_stream(struct api_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, r->stream_read,
						 r->stream_cls, NULL);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
	ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the worker pool ---- */

static void *worker_main(void *arg)
{
	struct api_server *s = arg;

	for (;;) {
		struct api_req *r;

		pthread_mutex_lock(&s->wq_lock);
		while (!s->wq_head && !s->wq_stop)
			pthread_cond_wait(&s->wq_cond, &s->wq_lock);
		r = s->wq_head;
		if (!r) {
			pthread_mutex_unlock(&s->wq_lock);
			return NULL;
		}
		s->wq_head = r->wq_next;
		if (!s->wq_head)
			s->wq_tail = NULL;
		pthread_mutex_unlock(&s->wq_lock);
		api_serve_resource(r);
		if (r->state != REQ_DONE && r->state != REQ_STREAM && r->state != REQ_UPGRADE)
			api_error(r, 500, "InternalError", "Internal error occurred: no response");
		/* the HTTP thread queues the response when it calls the handler again */
		MHD_resume_connection(r->conn);
	}
}

static void submit(struct api_server *s, struct api_req *r)
{
	r->wq_next = NULL;
	pthread_mutex_lock(&s->wq_lock);
	if (s->wq_stop) {
		pthread_mutex_unlock(&s->wq_lock);
		api_error(r, 503, "ServiceUnavailable", "the server is shutting down");
		return;
	}
	r->state = REQ_WORKING;
	MHD_suspend_connection(r->conn); /* before a worker can resume it */
	if (s->wq_tail)
		s->wq_tail->wq_next = r;
	else
		s->wq_head = r;
	s->wq_tail = r;
	pthread_cond_signal(&s->wq_cond);
	pthread_mutex_unlock(&s->wq_lock);
}

/* ---- dispatch ---- */

static bool anonymous_ok(const struct api_req *r)
{
	return r->rt.type == ROUTE_VERSION || r->rt.type == ROUTE_HEALTH;
}

static void serve_health(struct api_req *r)
{
	if (atomic_load(&r->srv->stopping)) {
		api_reply_text(r, 503, "text/plain; charset=utf-8", "shutting down");
		return;
	}
	api_reply_text(r, 200, "text/plain; charset=utf-8", "ok");
}

static void serve_metrics(struct api_req *r)
{
	struct store_stats st = {0};
	struct k8s_buf b = {0};

	store_get_stats(r->srv->store, &st);
	k8s_buf_printf(&b,
		       "# TYPE drover_api_requests_total counter\n"
		       "drover_api_requests_total %llu\n"
		       "# TYPE drover_store_revision gauge\ndrover_store_revision %llu\n"
		       "# TYPE drover_store_keys gauge\ndrover_store_keys %llu\n"
		       "# TYPE drover_store_watchers gauge\ndrover_store_watchers %llu\n",
		       (unsigned long long)atomic_load(&r->srv->nrequests),
		       (unsigned long long)st.rev, (unsigned long long)st.keys,
		       (unsigned long long)st.watchers);
	api_reply_buf(r, 200, &b);
	r->ctype = "text/plain; version=0.0.4";
}

/* Route and serve r once its body is complete: answers inline, or hands it to a worker. */
static void dispatch(struct api_req *r)
{
	struct api_server *s = r->srv;

	atomic_fetch_add(&s->nrequests, 1);
	api_route(r);
	if (r->body_too_large) {
		api_error(r, 413, "RequestEntityTooLarge", "Request entity too large: limit is %zu",
			  s->cfg.max_body);
		r->close = true;
		return;
	}
	if (!anonymous_ok(r) && !api_authenticate(r)) {
		api_error(r, 401, "Unauthorized", "Unauthorized");
		return;
	}
	if (!anonymous_ok(r) && !api_authorize(r))
		return;
	api_csr_requester(r);
	switch (r->rt.type) {
	case ROUTE_VERSION:
		api_serve_version(r);
		return;
	case ROUTE_HEALTH:
		serve_health(r);
		return;
	case ROUTE_METRICS:
		serve_metrics(r);
		return;
	case ROUTE_API:
	case ROUTE_APIS:
	case ROUTE_GROUP:
	case ROUTE_GROUP_VERSION:
		if (r->method != API_M_GET && r->method != API_M_HEAD) {
			api_error(
			    r, 405, "MethodNotAllowed",
			    "the server does not allow this method on the requested resource");
			return;
		}
		api_serve_discovery(r);
		return;
	case ROUTE_OPENAPI_V2:
	case ROUTE_OPENAPI_V3:
	case ROUTE_OPENAPI_V3_GV:
		api_serve_openapi(r);
		return;
	case ROUTE_RESOURCE:
		if (api_req_writes(r) || api_req_proxies(r)) {
			submit(s, r);
			return;
		}
		api_serve_resource(r);
		return;
	case ROUTE_NOT_FOUND:
		break;
	}
	api_error(r, 404, "NotFound", "the server could not find the requested resource");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_req *r = *con_cls;

	if (!r) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		r = req_new(s, conn, url, method);
		if (!r)
			return MHD_NO;
		r->http11 = version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
		*con_cls = r;
		if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body) {
			/* answer now and close: the body is never read */
			r->body_too_large = true;
			api_error(r, 413, "RequestEntityTooLarge",
				  "Request entity too large: limit is %zu", s->cfg.max_body);
			r->close = true;
			return queue_response(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (r->state == REQ_READ && !r->body_too_large) {
			if (r->body.len + *upload_data_size > s->cfg.max_body)
				r->body_too_large = true;
			else
				k8s_buf_put(&r->body, upload_data, *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->state == REQ_READ) {
		if (r->body.oom) {
			api_error(r, 500, "InternalError",
				  "Internal error occurred: out of memory");
		} else {
			dispatch(r);
			if (r->state == REQ_WORKING)
				return MHD_YES;
		}
	}
	if (r->state == REQ_STREAM)
		return queue_stream(r);
	if (r->state == REQ_UPGRADE)
		return api_node_proxy_queue(r);
	if (r->state == REQ_WORKING)
		return MHD_YES; /* resumed spuriously: the worker resumes again when done */
	return queue_response(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	req_free(*con_cls);
	*con_cls = NULL;
}

/* ---- lifecycle ---- */

static int parse_listen(struct api_server *s, const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	char host[64];
	long port;
	char *end;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return -EINVAL;
	s->listen_host = strdup(host[0] ? host : "0.0.0.0");
	return s->listen_host ? 0 : -ENOMEM;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void config_defaults(struct api_config *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (!c->listen)
		c->listen = "127.0.0.1:6443";
	if (!c->threads)
		c->threads = n > 0 ? (unsigned)n : 2;
	if (!c->workers)
		c->workers = 128;
	if (!c->max_connections)
		c->max_connections = 16384;
	if (!c->max_body)
		c->max_body = 3u << 20;
	if (!c->idle_timeout_s)
		c->idle_timeout_s = 120;
	if (!c->service_cidr)
		c->service_cidr = "10.96.0.0/16";
	if (!c->nodeport_min)
		c->nodeport_min = 30000;
	if (!c->nodeport_max)
		c->nodeport_max = 32767;
	if (!c->bookmark_interval_s)
		c->bookmark_interval_s = 60;
	if (!c->compact_interval_s)
		c->compact_interval_s = 300;
}

static int start_workers(struct api_server *s)
{
	pthread_attr_t attr;

	s->workers = calloc(s->cfg.workers, sizeof(*s->workers));
	if (!s->workers)
		return -ENOMEM;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	for (unsigned i = 0; i < s->cfg.workers; i++) {
		int err = pthread_create(&s->workers[i], &attr, worker_main, s);

		if (err) {
			pthread_attr_destroy(&attr);
			return -err;
		}
		s->nworkers++;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

static int start_daemon(struct api_server *s, struct sockaddr_in *sa)
{
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem tls[] = {
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
	    {MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca},
	    {MHD_OPTION_HTTPS_PRIORITIES, 0,
	     (void *)"NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"},
	    {MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};

	if (!s->cfg.insecure_loopback)
		flags |= MHD_USE_TLS;
	s->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)s->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)s->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(32 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_EXTERNAL_LOGGER, log_debug_cb, (void *)"mhd", MHD_OPTION_ARRAY,
	    s->cfg.insecure_loopback ? none : tls, MHD_OPTION_END);
	if (!s->mhd)
		return -EADDRINUSE;
	if (!api_mhd_epoll_check())
		log_warn(COMP, "libmicrohttpd's epoll_wait() is libc's: up to 128 connections at a "
			       "time may wait for the idle timeout (see mhd_epoll.c)");
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : ntohs(sa->sin_port);
	return 0;
}

int api_server_start(const struct api_config *cfg, struct api_server **out)
{
	struct api_server *s = calloc(1, sizeof(*s));
	struct store_embedded_opts so = {.sz = sizeof(so)};
	struct sockaddr_in sa;
	char path[4096];
	int err;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	config_defaults(&s->cfg);
	pthread_mutex_init(&s->wq_lock, NULL);
	pthread_mutex_init(&s->np_lock, NULL);
	pthread_cond_init(&s->wq_cond, NULL);
	if (!cfg->data_dir) {
		err = -EINVAL;
		log_error(COMP, "no data directory");
		goto fail;
	}
	s->data_dir = strdup(cfg->data_dir);
	s->service_cidr = strdup(s->cfg.service_cidr);
	if (!s->data_dir || !s->service_cidr) {
		err = -ENOMEM;
		goto fail;
	}
	s->cfg.data_dir = s->data_dir;
	s->cfg.service_cidr = s->service_cidr;
	err = parse_listen(s, s->cfg.listen, &sa);
	if (err) {
		log_error(COMP, "--listen %s: expected ADDR:PORT with an IPv4 address",
			  s->cfg.listen);
		goto fail;
	}
	if (s->cfg.insecure_loopback && sa.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
		err = -EINVAL;
		log_error(COMP, "--insecure-loopback serves plain HTTP on 127.0.0.1 only");
		goto fail;
	}
	if (mkdir(s->data_dir, 0700) != 0 && errno != EEXIST) {
		err = -errno;
		log_error(COMP, "%s: %s", s->data_dir, strerror(errno));
		goto fail;
	}
	raise_fd_limit();
	snprintf(path, sizeof(path), "%s/store", s->data_dir);
	so.dir = path;
	so.history = s->cfg.store_history;
	/* a snapshot rewrites every object: with Kubernetes objects (2-4 KiB each) the default
	 * 64 MiB of log between snapshots means rewriting the whole store every ~20,000 writes */
	so.snapshot_bytes = 512ull << 20;
	err = store_open_embedded(&so, &s->store);
	if (err) {
		log_error(COMP, "store %s: %s", path, store_strerror(err));
		goto fail;
	}
	{
		struct registry_config rc = {.service_cidr = s->cfg.service_cidr,
					     .nodeport_min = s->cfg.nodeport_min,
					     .nodeport_max = s->cfg.nodeport_max,
					     .max_body = s->cfg.max_body,
					     .default_toleration_s = s->cfg.default_toleration_s,
					     .sa_admission = s->cfg.sa_admission,
					     .no_pod_security = s->cfg.no_pod_security,
					     .storage_protection = s->cfg.storage_protection,
					     .watch_queue_max = s->cfg.watch_queue_max};

		err = registry_new(s->store, &rc, &s->reg);
	}
	/* RBAC writes are checked for escalation where requests are authorized */
	if (!err && !s->cfg.insecure_loopback)
		api_rbac_attach(s);
	if (!err && !s->cfg.insecure_loopback)
		err = api_pki_setup(s);
	/* the service-account key: made lazily by the first TokenRequest of a plain-HTTP
	 * test server (which authenticates no one), so that its start stays cheap */
	if (!err && !s->cfg.insecure_loopback)
		err = api_sa_key_setup(s);
	if (!err)
		err = api_watchers_start(s);
	if (!err)
		err = start_workers(s);
	if (err) {
		log_error(COMP, "startup: %s", strerror(-err));
		goto fail;
	}
	err = start_daemon(s, &sa);
	if (err) {
		log_error(COMP, "cannot listen on %s", s->cfg.listen);
		goto fail;
	}
	/* what a new cluster holds, before the kubeconfig tells clients where the server is
	 * (the kubernetes Service needs the port the daemon got) */
	err = reg_bootstrap(s->reg, s->port);
	if (err) {
		log_error(COMP, "bootstrap: %s", strerror(-err));
		goto fail;
	}
	err = s->cfg.insecure_loopback ? api_pki_write_insecure_kubeconfig(s)
				       : api_pki_write_kubeconfig(s);
	if (err) {
		log_error(COMP, "cannot write %s/kubeconfig: %s", s->data_dir, strerror(-err));
		goto fail;
	}
	log_info(COMP, "serving %s on %s:%u (%u threads, %u workers)",
		 s->cfg.insecure_loopback ? "plain HTTP" : "HTTPS", s->listen_host, s->port,
		 s->cfg.threads, s->cfg.workers);
	*out = s;
	return 0;
fail:
	api_server_stop(s);
	return err;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	/* writes in flight finish and resume their connections; then no new work is taken */
	pthread_mutex_lock(&s->wq_lock);
	s->wq_stop = true;
	pthread_cond_broadcast(&s->wq_cond);
	pthread_mutex_unlock(&s->wq_lock);
	for (unsigned i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	/* every watch ends and its suspended connection is resumed before the daemon stops */
	api_watchers_stop(s);
	/* log streams and exec relays end, their connections with them */
	api_node_proxy_stop(s);
	/* not MHD_quiesce_daemon first: in 0.9.75 it races the pool's threads taking the listen
	 * socket out of their epoll sets themselves (EPOLL_CTL_DEL fails, the library aborts:
	 * "Failed to remove listen FD from epoll set", seen in test_api_watch_hub), and the
	 * socket it hands back is left open; MHD_stop_daemon stops listening itself */
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	api_watchers_free(s);
	registry_free(s->reg);
	store_close(s->store);
	pthread_mutex_destroy(&s->wq_lock);
	pthread_mutex_destroy(&s->np_lock);
	pthread_cond_destroy(&s->wq_cond);
	free(s->workers);
	free(s->data_dir);
	free(s->service_cidr);
	free(s->listen_host);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->tls_ca);
	api_sa_key_free(s);
	free(s->token);
	free(s->kubeconfig);
	free(s->kubelet_cert);
	free(s->kubelet_key);
	free(s);
}

uint16_t api_server_port(const struct api_server *s)
{
	return s ? s->port : 0;
}

const char *api_server_kubeconfig(const struct api_server *s)
{
	return s ? s->kubeconfig : NULL;
}

const char *api_server_token(const struct api_server *s)
{
	return s ? s->token : NULL;
}

struct registry *api_server_registry(const struct api_server *s)
{
	return s ? s->reg : NULL;
}

void api_server_set_component(struct api_server *s, const char *name, bool healthy,
			      const char *error)
{
	registry_set_component(s->reg, name, healthy, error);
}
