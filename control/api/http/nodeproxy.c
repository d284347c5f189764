/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodeproxy: pods/{name}/log, /exec, /attach and /portforward through the agent of the pod's
 * node, and nodes/{name}/proxy/{path} (GET) to the node's agent, as kube-apiserver proxies them to the kubelet (pkg/registry/core/pod: LogLocation,
 * ExecLocation, ...): the pod, its container (the only one when none is named; else kube's
 * 400), its node, the Node's InternalIP and status.daemonEndpoints.kubeletEndpoint.Port; then
 * a TLS connection there with the server's kubelet client certificate (pki.c). The agent's
 * serving certificate is not verified, as kube-apiserver without
 * --kubelet-certificate-authority does not.
 *
 * Logs: GET /containerLogs/{ns}/{pod}/{container}?... (HTTP/1.0: the body ends at the close);
 * a pump thread reads the agent's body into a buffer and the content reader hands it on,
 * suspending its connection while the buffer is empty, so `follow` streams without holding
 * an HTTP thread. The agent's errors become kube's (400 its text; 404 NotFound; 500
 * InternalError), as the GenericHttpResponseChecker of kube-apiserver makes them.
 *
 * exec, attach, portforward: the client's upgrade request (WebSocket; SPDY/3.1 for
 * port-forward's fallback) is sent on to the agent; when it answers 101, the client gets
 * the same 101 (libmicrohttpd's upgrade) and a relay thread copies bytes both ways until
 * either side closes. Anything else is the agent's error. Runs on a worker (the connect blocks).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_http.h"
#include "log.h"

#define COMP	     "nodeproxy"
#define CONNECT_MS   10000
#define HEAD_MAX     16384
#define LOG_BUF	     (256 * 1024)
#define ERR_BODY_MAX 4096
#define UPGRADE_BUF  (64 * 1024)

struct api_nproxy {
	struct api_server *srv;
	struct api_nproxy *prev, *next; /* srv->np_head */
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	char target[128];     /* "https://IP:PORT" for messages */
	unsigned char *extra; /* bytes read past the head */
	size_t nextra;
	/* the agent's 101 */
	char accept[64], protocol[64], upgrade[64], stream_proto[64];
	/* log streaming: the pump fills buf, the reader drains it */
	struct MHD_Connection *conn;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t pump;
	bool pump_started, eof, suspended, gone;
	char ctype[128]; /* nodes/proxy: the agent's Content-Type */
	char *buf;
	size_t len;
};

bool api_req_proxies(const struct api_req *r)
{
	const char *s = r->rt.sub;

	if (r->rt.type != ROUTE_RESOURCE || !s || !r->rt.res)
		return false;
	if (strcmp(r->rt.res->kind->resource, "nodes") == 0)
		return strcmp(s, "proxy") == 0;
	return strcmp(r->rt.res->kind->resource, "pods") == 0 &&
	       (!strcmp(s, "log") || !strcmp(s, "exec") || !strcmp(s, "attach") ||
		!strcmp(s, "portforward"));
}

static void np_close(struct api_nproxy *np)
{
	if (np->tls) {
		gnutls_deinit(np->tls);
		np->tls = NULL;
	}
	if (np->cred) {
		gnutls_certificate_free_credentials(np->cred);
		np->cred = NULL;
	}
	if (np->fd >= 0)
		close(np->fd);
	np->fd = -1;
}

static void np_free(struct api_nproxy *np)
{
	if (!np)
		return;
	pthread_mutex_lock(&np->srv->np_lock);
	if (np->prev)
		np->prev->next = np->next;
	else
		np->srv->np_head = np->next;
	if (np->next)
		np->next->prev = np->prev;
	pthread_mutex_unlock(&np->srv->np_lock);
	if (np->pump_started) {
		pthread_mutex_lock(&np->mu);
		np->gone = true;
		pthread_cond_broadcast(&np->cond);
		pthread_mutex_unlock(&np->mu);
		/* the pump may block in a read: shutting the socket down ends it */
		if (np->fd >= 0)
			shutdown(np->fd, SHUT_RDWR);
		pthread_join(np->pump, NULL);
	}
	np_close(np);
	pthread_mutex_destroy(&np->mu);
	pthread_cond_destroy(&np->cond);
	free(np->extra);
	free(np->buf);
	free(np);
}

void api_node_proxy_stop(struct api_server *s)
{
	for (int i = 0; i < 100; i++) {
		bool any;

		pthread_mutex_lock(&s->np_lock);
		for (struct api_nproxy *np = s->np_head; np; np = np->next)
			if (np->fd >= 0)
				shutdown(np->fd, SHUT_RDWR); /* the pump or relay reads its end */
		any = s->np_head != NULL;
		pthread_mutex_unlock(&s->np_lock);
		if (!any)
			return;
		usleep(50 * 1000);
	}
	log_warn(COMP, "stopping with agent connections still open");
}

void api_node_proxy_free(struct api_req *r)
{
	np_free(r->np);
	r->np = NULL;
}

/* ---- the agent connection ---- */

static int tcp_connect(const char *ip, int port, int *fdp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int fd, err = 0, fl;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			return err;
		}
		pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
		if (poll(&pfd, 1, CONNECT_MS) <= 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err) {
			close(fd);
			return err ? -err : -EIO;
		}
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	/* as Go's dialer: a stream's small writes (SPDY frame heads) are not held back by
	 * Nagle waiting on the agent's delayed ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	*fdp = fd;
	return 0;
}

/* Go's net error text of a dial failure, as kube-apiserver's messages carry it. */
static const char *dial_text(int err)
{
	switch (err) {
	case -ECONNREFUSED:
		return "connect: connection refused";
	case -ETIMEDOUT:
		return "i/o timeout";
	case -EHOSTUNREACH:
		return "connect: no route to host";
	case -ENETUNREACH:
		return "connect: network is unreachable";
	default:
		return strerror(-err);
	}
}

static int np_connect(struct api_server *s, struct api_nproxy *np, const char *ip, int port,
		      char *msg, size_t msglen)
{
	gnutls_datum_t c = {(unsigned char *)s->kubelet_cert, 0},
		       k = {(unsigned char *)s->kubelet_key, 0};
	int err, ret;

	snprintf(np->target, sizeof(np->target), "%s:%d", ip, port);
	err = tcp_connect(ip, port, &np->fd);
	if (err) {
		snprintf(msg, msglen, "dial tcp %s: %s", np->target, dial_text(err));
		return err;
	}
	if (!s->kubelet_cert || !s->kubelet_key) {
		snprintf(msg, msglen, "no kubelet client certificate");
		return -ENOENT;
	}
	c.size = (unsigned)strlen(s->kubelet_cert);
	k.size = (unsigned)strlen(s->kubelet_key);
	if ((ret = gnutls_certificate_allocate_credentials(&np->cred)) < 0 ||
	    (ret = gnutls_certificate_set_x509_key_mem(np->cred, &c, &k, GNUTLS_X509_FMT_PEM)) <
		0 ||
	    (ret = gnutls_init(&np->tls, GNUTLS_CLIENT)) < 0 ||
	    (ret = gnutls_set_default_priority(np->tls)) < 0 ||
	    (ret = gnutls_credentials_set(np->tls, GNUTLS_CRD_CERTIFICATE, np->cred)) < 0) {
		snprintf(msg, msglen, "tls: %s", gnutls_strerror(ret));
		return -EIO;
	}
	gnutls_transport_set_int(np->tls, np->fd);
	gnutls_handshake_set_timeout(np->tls, CONNECT_MS);
	do
		ret = gnutls_handshake(np->tls);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		snprintf(msg, msglen, "remote error: tls: %s", gnutls_strerror(ret));
		return -EIO;
	}
	return 0;
}

static int np_write(struct api_nproxy *np, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = gnutls_record_send(np->tls, c, n);

		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t np_read(struct api_nproxy *np, void *p, size_t n)
{
	ssize_t r;

	do
		r = gnutls_record_recv(np->tls, p, n);
	while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0; /* a peer that closes without close_notify: the end */
	return r < 0 ? -EIO : r;
}

static const char *hdr_find(const char *head, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;

		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			const char *v = h + nl + 1, *e;

			while (*v == ' ' || *v == '\t')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, size, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return out;
		}
	}
	out[0] = 0;
	return NULL;
}

/* Read the response head; its status code (> 0), -errno. Leftover bytes go to np->extra. */
static int np_read_head(struct api_nproxy *np, char **headp)
{
	char *head = malloc(HEAD_MAX + 1), *end;
	size_t n = 0;
	int code;

	if (!head)
		return -ENOMEM;
	for (;;) {
		ssize_t r = np_read(np, head + n, HEAD_MAX - n);

		if (r <= 0) {
			free(head);
			return -EPROTO;
		}
		n += (size_t)r;
		head[n] = 0;
		if ((end = strstr(head, "\r\n\r\n")))
			break;
		if (n == HEAD_MAX) {
			free(head);
			return -E2BIG;
		}
	}
	end += 4;
	np->nextra = n - (size_t)(end - head);
	if (np->nextra) {
		np->extra = malloc(np->nextra);
		if (!np->extra) {
			free(head);
			return -ENOMEM;
		}
		memcpy(np->extra, end, np->nextra);
	}
	end[-2] = 0;
	if (sscanf(head, "HTTP/1.%*d %d", &code) != 1) {
		free(head);
		return -EPROTO;
	}
	*headp = head;
	return code;
}

/* ---- the request to the agent ---- */

/* s percent-encoded but for the unreserved characters and those of keep ("/" for a path) */
static void put_escaped_keep(struct k8s_buf *b, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (c && strchr(keep, c)))
			k8s_buf_put(b, s, 1);
		else
			k8s_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

static void put_escaped(struct k8s_buf *b, const char *s)
{
	put_escaped_keep(b, s, "");
}

/* The query kube-apiserver sends the kubelet: the arguments it knows, the container; every
 * argument (all) for nodes/proxy, whose proxy passes the query on as it came. */
static void put_query(struct k8s_buf *b, const struct api_req *r, const char *ctr, bool log,
		      bool all)
{
	static const char *const log_args[] = {"follow",       "previous",  "timestamps",
					       "sinceSeconds", "sinceTime", "tailLines",
					       "limitBytes",   NULL};
	static const char *const stream_args[] = {"command", "stdin", "stdout", "stderr",
						  "tty",     "ports", NULL};
	const char *const *keys = log ? log_args : stream_args;
	bool first = true;

	for (size_t i = 0; i < r->nargs; i++) {
		bool known = false;

		for (size_t k = 0; keys[k] && !known; k++)
			known = all || strcmp(r->args[i].key, keys[k]) == 0;
		if (!known)
			continue;
		k8s_buf_put(b, first ? "?" : "&", 1);
		first = false;
		put_escaped(b, r->args[i].key);
		k8s_buf_put(b, "=", 1);
		put_escaped(b, r->args[i].value);
	}
	if (!log && ctr) {
		k8s_buf_printf(b, "%scontainer=", first ? "?" : "&");
		put_escaped(b, ctr);
	}
}

static const char *hdr_in(const struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- log streaming ---- */

static void *pump_main(void *arg)
{
	struct api_nproxy *np = arg;
	char chunk[16384];

	for (;;) {
		ssize_t n;

		pthread_mutex_lock(&np->mu);
		while (np->len >= LOG_BUF && !np->gone)
			pthread_cond_wait(&np->cond, &np->mu);
		if (np->gone) {
			pthread_mutex_unlock(&np->mu);
			break;
		}
		pthread_mutex_unlock(&np->mu);
		n = np_read(np, chunk, sizeof(chunk));
		pthread_mutex_lock(&np->mu);
		if (n > 0) {
			memcpy(np->buf + np->len, chunk, (size_t)n);
			np->len += (size_t)n;
		} else {
			np->eof = true;
		}
		if (np->suspended) {
			np->suspended = false;
			MHD_resume_connection(np->conn);
		}
		pthread_mutex_unlock(&np->mu);
		if (n <= 0)
			break;
	}
	return NULL;
}

static ssize_t log_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct api_nproxy *np = cls;
	size_t n;

	(void)pos;
	pthread_mutex_lock(&np->mu);
	n = np->len < max ? np->len : max;
	if (n) {
		memcpy(out, np->buf, n);
		memmove(np->buf, np->buf + n, np->len - n);
		np->len -= n;
		pthread_cond_broadcast(&np->cond);
	} else if (!np->eof) {
		np->suspended = true;
		MHD_suspend_connection(np->conn);
	}
	pthread_mutex_unlock(&np->mu);
	if (!n && np->eof)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

static void no_free(void *cls)
{
	(void)cls; /* r->np is freed with the request (api_node_proxy_free) */
}

/* An error answer of the agent, as kube-apiserver's GenericHttpResponseChecker turns it. */
static void agent_error(struct api_req *r, struct api_nproxy *np, const char *head, int code,
			const char *what)
{
	char body[ERR_BODY_MAX + 1], cl[32];
	size_t n = np->nextra < ERR_BODY_MAX ? np->nextra : ERR_BODY_MAX, want = ERR_BODY_MAX;

	/* an HTTP/1.1 answer stays open: its Content-Length says where the body ends */
	if (hdr_find(head, "Content-Length", cl, sizeof(cl)) && strtoul(cl, NULL, 10) < want)
		want = strtoul(cl, NULL, 10);
	if (n > want)
		n = want;
	memcpy(body, np->extra ? (char *)np->extra : "", n);
	while (n < want) {
		ssize_t k = np_read(np, body + n, want - n);

		if (k <= 0)
			break;
		n += (size_t)k;
	}
	while (n && (body[n - 1] == '\n' || body[n - 1] == '\r'))
		n--;
	body[n] = 0;
	if (code == 400)
		api_error(r, 400, "BadRequest", "%s", body);
	else if (code == 500)
		api_error(r, 500, "InternalError", "Internal error occurred: %s", body);
	else if (code == 404)
		api_error(r, 404, "NotFound",
			  "the server could not find the requested resource ( %s %s)", what,
			  r->rt.name);
	else if (code == 401)
		api_error(r, 401, "Unauthorized",
			  "the server has asked for the client to provide credentials ( %s %s)",
			  what, r->rt.name);
	else if (code == 403)
		api_error(r, 403, "Forbidden", "%s", body);
	else
		api_error(r, (unsigned)code, "",
			  "the server responded with the status code %d but did not return more "
			  "information ( %s %s)",
			  code, what, r->rt.name);
}

/* ---- upgrades ---- */

struct relay {
	struct api_nproxy *np;
	MHD_socket sock;
	int client_fd; /* the client's own TCP socket (MHD's; only watched for its end), -1 */
	struct MHD_UpgradeResponseHandle *urh;
	unsigned char *in;
	size_t nin;
};

static int send_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *relay_main(void *arg)
{
	struct relay *rl = arg;
	struct api_nproxy *np = rl->np;
	unsigned char *buf = malloc(UPGRADE_BUF);
	int fl = fcntl(rl->sock, F_GETFL);

	/* the relay blocks on both ends in turn: the client's end in blocking mode */
	if (fl >= 0)
		fcntl(rl->sock, F_SETFL, fl & ~O_NONBLOCK);
	if (!buf || (rl->nin && np_write(np, rl->in, rl->nin)) ||
	    (np->nextra && send_all(rl->sock, np->extra, np->nextra)))
		goto out;
	for (;;) {
		struct pollfd p[3] = {{.fd = rl->sock, .events = POLLIN},
				      {.fd = np->fd, .events = POLLIN},
				      {.fd = rl->client_fd, .events = POLLRDHUP}};

		if (!gnutls_record_check_pending(np->tls) && poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* libmicrohttpd (epoll, TLS) does not pass a client's close on to the upgraded
		 * socket: a killed kubectl exec or port-forward would leave its session open at
		 * the agent. Its TCP socket's hang-up (watched, never read) ends the relay. */
		if (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR))
			break;
		if (gnutls_record_check_pending(np->tls) || (p[1].revents & (POLLIN | POLLHUP))) {
			ssize_t n = np_read(np, buf, UPGRADE_BUF);

			if (n <= 0 || send_all(rl->sock, buf, (size_t)n))
				break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(rl->sock, buf, UPGRADE_BUF, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || np_write(np, buf, (size_t)n))
				break;
		}
	}
out:
	free(buf);
	MHD_upgrade_action(rl->urh, MHD_UPGRADE_ACTION_CLOSE);
	np_free(np);
	free(rl->in);
	free(rl);
	return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
			size_t extra_in_size, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	struct api_req *r = req_cls;
	struct relay *rl = calloc(1, sizeof(*rl));
	const union MHD_ConnectionInfo *ci;
	pthread_t t;

	(void)cls;
	if (!rl || (extra_in_size && !(rl->in = malloc(extra_in_size)))) {
		free(rl);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	/* the relay owns the agent connection from here on */
	rl->np = r->np;
	r->np = NULL;
	rl->sock = sock;
	rl->urh = urh;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	rl->client_fd = ci ? ci->connect_fd : -1;
	if (extra_in_size)
		memcpy(rl->in, extra_in, extra_in_size);
	rl->nin = extra_in_size;
	if (pthread_create(&t, NULL, relay_main, rl) != 0) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		np_free(rl->np);
		free(rl->in);
		free(rl);
		return;
	}
	pthread_detach(t);
}

enum MHD_Result api_node_proxy_queue(struct api_req *r)
{
	struct api_nproxy *np = r->np;
	struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, NULL);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE,
				np->upgrade[0] ? np->upgrade : "websocket");
	if (np->accept[0])
		MHD_add_response_header(resp, "Sec-WebSocket-Accept", np->accept);
	if (np->protocol[0])
		MHD_add_response_header(resp, "Sec-WebSocket-Protocol", np->protocol);
	if (np->stream_proto[0]) /* a SPDY upgrade's (port-forward's fallback) */
		MHD_add_response_header(resp, "X-Stream-Protocol-Version", np->stream_proto);
	ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- resolving the pod's kubelet ---- */

static void container_names(const struct jv *pod, char *out, size_t size)
{
	size_t n = 0;

	out[0] = 0;
	for (const struct jv *c = jv_first(jv_path(pod, "spec.containers")); c; c = c->next) {
		const char *name = jv_path_str(c, "name");

		n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s", n ? " " : "",
				      name ? name : "");
		if (n >= size)
			break;
	}
}

static bool has_container(const struct jv *pod, const char *name)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers",
					    "spec.ephemeralContainers"};

	for (size_t i = 0; i < 3; i++)
		for (const struct jv *c = jv_first(jv_path(pod, lists[i])); c; c = c->next)
			if (jv_is_str(jv_get(c, "name"), name))
				return true;
	return false;
}

/* The node's address and kubelet port (kube's GetConnectionInfo: InternalIP first). */
static bool node_endpoint(struct api_req *r, const char *node, char *ip, size_t iplen, int *port)
{
	const struct api_resource *nres = api_resource_find("", "v1", "nodes");
	struct api_result out = {0};
	struct jv_doc *d = jv_doc_new();
	int64_t p = 0;
	bool ok = false;

	if (!d || !nres) {
		jv_doc_free(d);
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return false;
	}
	reg_get(r->srv->reg, &(struct reg_req){.res = nres, .name = node, .d = d}, true, &out);
	if (api_result_failed(&out) || !out.obj) {
		api_reply_status(r, &out);
		goto out;
	}
	ip[0] = 0;
	for (const char *const *t = (const char *const[]){"InternalIP", "ExternalIP", NULL};
	     *t && !ip[0]; t++)
		for (const struct jv *a = jv_first(jv_path(out.obj, "status.addresses")); a;
		     a = a->next)
			if (jv_is_str(jv_get(a, "type"), *t) && jv_path_str(a, "address")) {
				snprintf(ip, iplen, "%s", jv_path_str(a, "address"));
				break;
			}
	if (!ip[0]) {
		api_error(r, 500, "InternalError",
			  "Internal error occurred: no preferred addresses found; known addresses: "
			  "[]");
		goto out;
	}
	jv_path_int(out.obj, "status.daemonEndpoints.kubeletEndpoint.Port", &p);
	*port = p > 0 && p < 65536 ? (int)p : 10250;
	ok = true;
out:
	api_result_free(&out);
	jv_doc_free(d);
	return ok;
}

/* A new agent connection of r, registered for api_node_proxy_stop; NULL after an error
 * answer. */
static struct api_nproxy *np_new(struct api_req *r)
{
	struct api_nproxy *np = calloc(1, sizeof(*np));

	if (!np) {
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return NULL;
	}
	np->fd = -1;
	np->srv = r->srv;
	pthread_mutex_init(&np->mu, NULL);
	pthread_cond_init(&np->cond, NULL);
	r->np = np;
	pthread_mutex_lock(&r->srv->np_lock);
	np->next = r->srv->np_head;
	if (np->next)
		np->next->prev = np;
	r->srv->np_head = np;
	pthread_mutex_unlock(&r->srv->np_lock);
	return np;
}

/* A 200's body streamed to the client as it comes (the pump); false after an error answer. */
static bool np_stream(struct api_req *r, struct api_nproxy *np, const char *ctype)
{
	np->buf = malloc(LOG_BUF + 16384);
	if (!np->buf) {
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return false;
	}
	if (np->nextra)
		memcpy(np->buf, np->extra, np->nextra);
	np->len = np->nextra;
	np->conn = r->conn;
	if (pthread_create(&np->pump, NULL, pump_main, np) != 0) {
		api_error(r, 500, "InternalError", "Internal error occurred: no thread");
		return false;
	}
	np->pump_started = true;
	r->stream_read = log_read;
	r->stream_free = no_free;
	r->stream_cls = np;
	r->ctype = ctype;
	r->state = REQ_STREAM;
	return true;
}

/* nodes/{name}/proxy/{path}: GET {path} of the node's agent (kube-apiserver's node
 * ProxyREST: the kubelet's /metrics, and drover's /flows), the query passed on as it came,
 * the body streamed (a /flows?follow=true lasts) with the agent's Content-Type. */
static void serve_node_path(struct api_req *r)
{
	const char *path = r->rt.proxy_path ? r->rt.proxy_path : "";
	struct api_nproxy *np;
	struct k8s_buf req = {0};
	char ip[64], msg[512], *head = NULL;
	int port = 0, code;

	if (r->method != API_M_GET && r->method != API_M_HEAD) {
		/* the kubelet's endpoints behind it that drover serves are all reads */
		api_error(r, 405, "MethodNotAllowed",
			  "the server does not allow this method on the requested resource");
		return;
	}
	if (!node_endpoint(r, r->rt.name, ip, sizeof(ip), &port) || !(np = np_new(r)))
		return;
	/* the path as it was decoded, encoded again: no byte of it can end the request line */
	k8s_buf_put(&req, "GET /", 5);
	put_escaped_keep(&req, path, "/");
	put_query(&req, r, NULL, false, true);
	if (np_connect(r->srv, np, ip, port, msg, sizeof(msg)) != 0) {
		k8s_buf_free(&req);
		api_error(r, 503, "ServiceUnavailable", "error trying to reach service: %s", msg);
		return;
	}
	k8s_buf_printf(&req, " HTTP/1.0\r\nHost: %s\r\nUser-Agent: drover-apiserver\r\n\r\n",
		       np->target);
	if (req.oom || np_write(np, req.p, req.len) != 0) {
		k8s_buf_free(&req);
		api_error(r, 503, "ServiceUnavailable", "error sending request to %s", np->target);
		return;
	}
	k8s_buf_free(&req);
	code = np_read_head(np, &head);
	if (code < 0) {
		api_error(r, 503, "ServiceUnavailable", "error reading from %s: %s", np->target,
			  strerror(-code));
		return;
	}
	if (code == 200) {
		if (!hdr_find(head, "Content-Type", np->ctype, sizeof(np->ctype)))
			snprintf(np->ctype, sizeof(np->ctype), "text/plain");
		np_stream(r, np, np->ctype);
	} else {
		agent_error(r, np, head, code, "nodes/proxy");
	}
	free(head);
}

void api_serve_node_proxy(struct api_req *r, const struct jv *pod)
{
	const char *sub = r->rt.sub, *ctr = api_arg(r, "container"), *node;
	bool log = strcmp(sub, "log") == 0, pf = strcmp(sub, "portforward") == 0;
	const char *what = log ? "pods/log" : pf ? "pods/portforward" : "pods/exec";
	struct api_nproxy *np;
	struct k8s_buf req = {0};
	char names[1024], ip[64], msg[512], *head = NULL;
	int port = 0, code;

	if (strcmp(r->rt.res->kind->resource, "nodes") == 0) {
		serve_node_path(r); /* pod is the node */
		return;
	}
	if (!pf && (!ctr || !ctr[0])) {
		if (jv_count(jv_path(pod, "spec.containers")) == 1) {
			ctr = jv_path_str(jv_first(jv_path(pod, "spec.containers")), "name");
		} else {
			container_names(pod, names, sizeof(names));
			api_error(r, 400, "BadRequest",
				  "a container name must be specified for pod %s, choose one of: "
				  "[%s]",
				  r->rt.name, names);
			return;
		}
	}
	if (!pf && (!ctr || !has_container(pod, ctr))) {
		api_error(r, 400, "BadRequest", "container %s is not valid for pod %s",
			  ctr ? ctr : "", r->rt.name);
		return;
	}
	node = jv_path_str(pod, "spec.nodeName");
	if (!node || !node[0]) {
		if (log) { /* kube-apiserver: no location, an empty log */
			api_reply_text(r, 200, "text/plain", "");
			return;
		}
		api_error(r, 400, "BadRequest", "pod %s does not have a host assigned", r->rt.name);
		return;
	}
	if (!node_endpoint(r, node, ip, sizeof(ip), &port))
		return;
	np = np_new(r);
	if (!np)
		return;
	/* the request line */
	if (log)
		k8s_buf_printf(&req, "GET /containerLogs/%s/%s/%s", r->rt.ns, r->rt.name, ctr);
	else if (pf)
		k8s_buf_printf(&req, "%s /portForward/%s/%s",
			       r->method == API_M_POST ? "POST" : "GET", r->rt.ns, r->rt.name);
	else
		k8s_buf_printf(&req, "%s /%s/%s/%s/%s", r->method == API_M_POST ? "POST" : "GET",
			       sub, r->rt.ns, r->rt.name, ctr);
	put_query(&req, r, log ? NULL : ctr, log, false);
	if (np_connect(r->srv, np, ip, port, msg, sizeof(msg)) != 0) {
		k8s_buf_free(&req);
		if (log)
			api_error(r, 500, "", "Get \"https://%s/containerLogs/%s/%s/%s\": %s",
				  np->target, r->rt.ns, r->rt.name, ctr, msg);
		else
			api_error(r, 500, "", "error dialing backend: %s", msg);
		return;
	}
	if (log) {
		k8s_buf_printf(&req,
			       " HTTP/1.0\r\nHost: %s\r\nUser-Agent: drover-apiserver\r\n\r\n",
			       np->target);
	} else {
		static const char *const pass[] = {"Connection",
						   "Upgrade",
						   "Sec-WebSocket-Key",
						   "Sec-WebSocket-Version",
						   "Sec-WebSocket-Protocol",
						   "X-Stream-Protocol-Version",
						   NULL};

		k8s_buf_printf(&req, " HTTP/1.1\r\nHost: %s\r\n", np->target);
		for (size_t i = 0; pass[i]; i++) {
			const char *v = hdr_in(r, pass[i]);

			if (v)
				k8s_buf_printf(&req, "%s: %s\r\n", pass[i], v);
		}
		k8s_buf_put(&req, "\r\n", 2);
	}
	if (req.oom || np_write(np, req.p, req.len) != 0) {
		k8s_buf_free(&req);
		api_error(r, 500, "", "error sending request to %s", np->target);
		return;
	}
	k8s_buf_free(&req);
	code = np_read_head(np, &head);
	if (code < 0) {
		api_error(r, 500, "", "error reading from the kubelet at %s: %s", np->target,
			  strerror(-code));
		return;
	}
	if (log && code == 200) {
		np_stream(r, np, "text/plain");
	} else if (!log && code == 101) {
		hdr_find(head, "Sec-WebSocket-Accept", np->accept, sizeof(np->accept));
		hdr_find(head, "Sec-WebSocket-Protocol", np->protocol, sizeof(np->protocol));
		hdr_find(head, "Upgrade", np->upgrade, sizeof(np->upgrade));
		hdr_find(head, "X-Stream-Protocol-Version", np->stream_proto,
			 sizeof(np->stream_proto));
		r->state = REQ_UPGRADE;
	} else {
		agent_error(r, np, head, code, what);
	}
	free(head);
}
