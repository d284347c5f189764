/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_portforward: /portForward/{ns}/{pod} as the kubelet serves it (its streaming
 * server's httpstream.go), over SPDY/3.1 (spdy.h): either tunneled in WebSocket binary
 * messages (subprotocol SPDY/3.1+portforward.k8s.io, what kubectl 1.31+ asks first: kube-
 * apiserver unwraps it before the kubelet, drover's server passes it through and the agent
 * unwraps it) or after a plain `Upgrade: SPDY/3.1` (X-Stream-Protocol-Version
 * portforward.k8s.io, kubectl's fallback).
 *
 * The client opens a pair of streams per forwarded connection: headers streamType
 * (error|data), port and requestID (without one the pair is guessed from the stream ids, as
 * the kubelet does for old clients). A stream whose headers are wrong is reset; a good one
 * gets its SYN_REPLY. Once a pair is whole, a TCP connection to localhost:port is opened in
 * the pod's network namespace (IPv4, then IPv6, as containerd does) and bytes are copied
 * between it and the data stream: the client's FIN shuts the connection's write side, the
 * connection's end FINs the data stream, and the pair ends when both have ended or the
 * client resets the data stream (kubectl does once its copy is done); then the error
 * stream is closed. A connection that fails is written on the error stream as the kubelet
 * writes it ("error forwarding port N to pod ..."): kubectl prints it and stops.
 *
 * One thread per session multiplexes the client and every pair's connection with poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_http.h"
#include "agent_pod.h"
#include "spdy.h"
#include "websocket.h"

#define COMP	       "portforward"
#define WS_PROTOCOL    "SPDY/3.1+portforward.k8s.io"
#define PF_PROTOCOL    "portforward.k8s.io"
#define MAX_PAIRS      128
#define MAX_FRAME      (1 << 20) /* a client frame (spdystream writes 32 KiB at most) */
#define INBUF	       (MAX_FRAME + 65536)
#define PENDING_MAX    (1 << 20) /* client bytes waiting for the pod: stop reading beyond */
#define CHUNK	       32768
#define OBUF	       (CHUNK + 4096) /* a frame to the client, with its heads */
#define CREATE_TIMEOUT 30.0	      /* the kubelet's streamCreationTimeout */

struct pf_pair {
	bool used;
	char id[64]; /* requestID */
	uint32_t err_id, data_id;
	int port;
	int fd; /* the connection in the pod, -1 before (and after) */
	bool connected;
	unsigned char *out; /* client bytes not yet written to fd */
	size_t nout;
	bool client_fin, shut_wr, pod_eof, err_reset;
	double created;
};

struct pfsession {
	struct agent *a;
	MHD_socket sock;
	int conn_fd; /* the caller's TCP socket (MHD's), watched for its end only */
	struct MHD_UpgradeResponseHandle *urh;
	bool ws;
	char ns[256], pod[256], uid[64], netns[PATH_MAX];
	unsigned char *raw; /* WebSocket bytes not yet a whole frame */
	size_t nraw;
	unsigned char *in; /* SPDY bytes not yet a whole frame */
	size_t nin;
	unsigned char *obuf; /* the frame being sent (OBUF) */
	struct spdy_zlib *zin, *zout;
	uint32_t last_id; /* the highest stream the client opened */
	bool gone;	  /* the client closed or broke the protocol */
	struct pf_pair pairs[MAX_PAIRS];
};

static void session_free(struct pfsession *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < MAX_PAIRS; i++) {
		if (s->pairs[i].fd >= 0)
			close(s->pairs[i].fd);
		free(s->pairs[i].out);
	}
	spdy_zlib_free(s->zin);
	spdy_zlib_free(s->zout);
	free(s->raw);
	free(s->in);
	free(s->obuf);
	free(s);
}

/* ---- to the client ---- */

/* One SPDY frame (a and b back to back), in a WebSocket binary message when tunneled; in
 * one write (small writes apart would each be a TLS record and a TCP segment). */
static int emit(struct pfsession *s, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t h = s->ws ? ws_header(s->obuf, WS_BINARY, alen + blen, NULL) : 0;

	if (s->gone)
		return -EPIPE;
	if (h + alen + blen > OBUF) {
		s->gone = true; /* never: frames are CHUNK bytes at most */
		return -EMSGSIZE;
	}
	memcpy(s->obuf + h, a, alen);
	if (blen)
		memcpy(s->obuf + h + alen, b, blen);
	if (ahttp_send_all(s->sock, s->obuf, h + alen + blen)) {
		s->gone = true;
		return -EIO;
	}
	return 0;
}

static int emit_data(struct pfsession *s, uint32_t id, unsigned flags, const void *p, size_t n)
{
	unsigned char h[SPDY_HEAD];

	spdy_data_head(h, id, flags, n);
	return emit(s, h, sizeof(h), p, n);
}

static void emit_rst(struct pfsession *s, uint32_t id, uint32_t status)
{
	unsigned char f[SPDY_CONTROL_MAX];

	emit(s, f, spdy_rst_stream(f, id, status), NULL, 0);
}

static void goaway(struct pfsession *s, uint32_t status)
{
	unsigned char f[SPDY_CONTROL_MAX];

	emit(s, f, spdy_goaway(f, s->last_id, status), NULL, 0);
	s->gone = true;
}

/* ---- pairs ---- */

static void pair_end(struct pfsession *s, struct pf_pair *p)
{
	/* the kubelet closes both streams when the forward returns: the error stream's FIN
	 * ends kubectl's wait for a message */
	if (p->err_id && !p->err_reset)
		emit_data(s, p->err_id, SPDY_FLAG_FIN, NULL, 0);
	if (p->fd >= 0)
		close(p->fd);
	free(p->out);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

/* A socket of family in the pod's network namespace (this thread enters it for the call). */
static int netns_socket(const char *netns, int family)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int ns = open(netns, O_RDONLY | O_CLOEXEC), fd = -1, err = 0;

	if (self < 0 || ns < 0) {
		err = -errno;
	} else if (setns(ns, CLONE_NEWNET) != 0) {
		err = -errno;
	} else {
		fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			err = -errno;
		if (setns(self, CLONE_NEWNET) != 0)
			log_error(COMP, "cannot return to the agent's network namespace: %s",
				  strerror(errno));
	}
	if (self >= 0)
		close(self);
	if (ns >= 0)
		close(ns);
	return fd >= 0 ? fd : err;
}

/* Go's text of an errno as net errors print it (lower case, as syscall.Errno's). */
static void go_errno(int err, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

/* Dial localhost:port inside the pod: 127.0.0.1, then [::1]. The socket or -errno, with
 * the runtime's message. */
static int dial(struct pfsession *s, int port, char *msg, size_t size)
{
	char e4[128], e6[128];
	int fd, err4, err6;
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons((uint16_t)port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};

	fd = netns_socket(s->netns, AF_INET);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0)
		return fd;
	err4 = fd >= 0 ? errno : -fd;
	if (fd >= 0)
		close(fd);
	fd = netns_socket(s->netns, AF_INET6);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0)
		return fd;
	err6 = fd >= 0 ? errno : -fd;
	if (fd >= 0)
		close(fd);
	go_errno(err4, e4, sizeof(e4));
	go_errno(err6, e6, sizeof(e6));
	/* containerd's message, under the kubelet's (its pod is the sandbox, its uid empty) */
	snprintf(msg, size,
		 "error forwarding port %d to pod %s, uid : failed to execute portforward in "
		 "network namespace \"%s\": failed to connect to localhost:%d inside namespace "
		 "\"%s\", IPv4: dial tcp4 127.0.0.1:%d: connect: %s IPv6 dial tcp6 [::1]:%d: "
		 "connect: %s ",
		 port, s->uid, s->netns, port, s->uid, port, e4, port, e6);
	return -err4;
}

static void pair_start(struct pfsession *s, struct pf_pair *p)
{
	char msg[1024 + PATH_MAX];
	int fd = dial(s, p->port, msg, sizeof(msg)), fl;

	if (fd < 0) {
		log_info(COMP, "pod %s/%s: %s", s->ns, s->pod, msg);
		if (!p->err_reset)
			emit_data(s, p->err_id, 0, msg, strlen(msg));
		emit_data(s, p->data_id, SPDY_FLAG_FIN, NULL, 0);
		pair_end(s, p);
		return;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	p->fd = fd;
	p->connected = true;
	log_debug(COMP, "pod %s/%s: request %s forwards port %d", s->ns, s->pod, p->id, p->port);
}

static struct pf_pair *pair_of_stream(struct pfsession *s, uint32_t id, bool *data)
{
	for (size_t i = 0; i < MAX_PAIRS; i++) {
		struct pf_pair *p = &s->pairs[i];

		if (p->used && (p->data_id == id || p->err_id == id)) {
			*data = p->data_id == id;
			return p;
		}
	}
	return NULL;
}

/* The kubelet's httpStreamReceived: NULL when the headers are good, else why not. */
static const char *check_stream(const struct spdy_headers *h, char *why, size_t size)
{
	const char *port = spdy_headers_get(h, "port"), *type = spdy_headers_get(h, "streamtype");
	char *end;
	unsigned long v;

	if (!port || !port[0]) {
		snprintf(why, size, "\"port\" header is required");
		return why;
	}
	errno = 0;
	v = strtoul(port, &end, 10);
	if (*end || port[0] == '-' || port[0] == '+' || errno || v > 65535) {
		snprintf(why, size,
			 "unable to parse \"%s\" as a port: strconv.ParseUint: parsing "
			 "\"%s\": %s",
			 port, port,
			 *end || port[0] == '-' || port[0] == '+' ? "invalid syntax"
								  : "value out of range");
		return why;
	}
	if (v < 1) {
		snprintf(why, size, "port \"%s\" must be > 0", port);
		return why;
	}
	if (!type || !type[0]) {
		snprintf(why, size, "\"streamType\" header is required");
		return why;
	}
	if (strcmp(type, "error") && strcmp(type, "data")) {
		snprintf(why, size, "invalid stream type \"%s\"", type);
		return why;
	}
	return NULL;
}

static void syn_stream(struct pfsession *s, const struct spdy_frame *f)
{
	struct spdy_headers h;
	struct pf_pair *p = NULL, *free_slot = NULL;
	unsigned char *reply = NULL;
	size_t rlen;
	char why[256], rid[64];
	const char *bad, *id;
	bool data;
	int rc = spdy_headers_decode(s->zin, f->data, f->len, &h);

	if (rc == -EINVAL) {
		/* spdystream drops the connection on an upper-case or repeated name */
		log_info(COMP, "pod %s/%s: stream %u: bad header names", s->ns, s->pod, f->stream);
		goaway(s, 1);
		return;
	}
	if (rc) {
		log_info(COMP, "pod %s/%s: stream %u: header block: %s", s->ns, s->pod, f->stream,
			 strerror(-rc));
		goaway(s, 1);
		return;
	}
	if (!(f->stream & 1) || f->stream <= s->last_id) {
		emit_rst(s, f->stream, SPDY_PROTOCOL_ERROR);
		goto out;
	}
	s->last_id = f->stream;
	if ((bad = check_stream(&h, why, sizeof(why)))) {
		log_info(COMP, "pod %s/%s: stream rejected: %s", s->ns, s->pod, bad);
		emit_rst(s, f->stream, SPDY_CANCEL);
		goto out;
	}
	if (spdy_build_headers(s->zout, SPDY_SYN_REPLY, 0, f->stream, 0, NULL, 0, &reply, &rlen) !=
	    0) {
		goaway(s, 2);
		goto out;
	}
	emit(s, reply, rlen, NULL, 0);
	free(reply);
	data = strcmp(spdy_headers_get(&h, "streamtype"), "data") == 0;
	id = spdy_headers_get(&h, "requestid");
	if (!id || !id[0]) {
		/* an old client: the pair's ids are consecutive odd numbers */
		snprintf(rid, sizeof(rid), "%u", data ? f->stream - 2 : f->stream);
		id = rid;
	}
	for (size_t i = 0; i < MAX_PAIRS && !p; i++) {
		if (s->pairs[i].used && strcmp(s->pairs[i].id, id) == 0)
			p = &s->pairs[i];
		else if (!s->pairs[i].used && !free_slot)
			free_slot = &s->pairs[i];
	}
	if (!p) {
		if (!free_slot) {
			log_info(COMP, "pod %s/%s: more than %d forwards at once", s->ns, s->pod,
				 MAX_PAIRS);
			emit_rst(s, f->stream, SPDY_REFUSED_STREAM);
			goto out;
		}
		p = free_slot;
		p->used = true;
		p->fd = -1;
		snprintf(p->id, sizeof(p->id), "%s", id);
		p->port = atoi(spdy_headers_get(&h, "port"));
		p->created = agent_mono_s();
	}
	if ((data && p->data_id) || (!data && p->err_id)) {
		snprintf(why, sizeof(why),
			 "error processing stream for request %s: %s stream already assigned", id,
			 data ? "data" : "error");
		log_info(COMP, "pod %s/%s: %s", s->ns, s->pod, why);
		if (p->err_id && !p->err_reset)
			emit_data(s, p->err_id, 0, why, strlen(why));
		goto out;
	}
	if (data) {
		p->data_id = f->stream;
		p->client_fin = f->flags & SPDY_FLAG_FIN;
	} else {
		p->err_id = f->stream;
	}
	if (p->data_id && p->err_id)
		pair_start(s, p);
out:
	spdy_headers_free(&h);
}

static void data_frame(struct pfsession *s, const struct spdy_frame *f)
{
	bool data;
	struct pf_pair *p = pair_of_stream(s, f->stream, &data);

	if (!p || !data)
		return; /* the error stream's FIN, or a stream already gone */
	if (f->len && !p->client_fin) {
		unsigned char *nb = realloc(p->out, p->nout + f->len);

		if (!nb) {
			emit_rst(s, p->data_id, SPDY_INTERNAL_ERROR);
			pair_end(s, p);
			return;
		}
		p->out = nb;
		memcpy(p->out + p->nout, f->data, f->len);
		p->nout += f->len;
	}
	if (f->flags & SPDY_FLAG_FIN)
		p->client_fin = true;
}

static void control_frame(struct pfsession *s, const struct spdy_frame *f)
{
	struct spdy_headers h;
	struct pf_pair *p;
	bool data;

	switch (f->type) {
	case SPDY_SYN_STREAM:
		syn_stream(s, f);
		break;
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		/* nothing to do with them, but their blocks move the inflate context on */
		if (spdy_headers_decode(s->zin, f->data, f->len, &h) == 0)
			spdy_headers_free(&h);
		else
			goaway(s, 1);
		break;
	case SPDY_RST_STREAM:
		p = pair_of_stream(s, f->stream, &data);
		if (!p)
			break;
		if (!data) {
			p->err_reset = true;
		} else {
			pair_end(s, p);
		}
		break;
	case SPDY_PING:
		if (f->value & 1) { /* the client's: echoed */
			unsigned char b[SPDY_CONTROL_MAX];

			emit(s, b, spdy_ping(b, f->value), NULL, 0);
		}
		break;
	case SPDY_GOAWAY:
		s->gone = true;
		break;
	default: /* SETTINGS, WINDOW_UPDATE and unknown types: nothing to do */
		break;
	}
}

/* Handle the whole SPDY frames in s->in. */
static void spdy_input(struct pfsession *s)
{
	size_t off = 0;

	while (off < s->nin && !s->gone) {
		struct spdy_frame f;
		ssize_t n = spdy_parse(s->in + off, s->nin - off, MAX_FRAME, &f);

		if (n == 0)
			break;
		if (n < 0) {
			log_info(COMP, "pod %s/%s: bad frame from the client: %s", s->ns, s->pod,
				 strerror((int)-n));
			goaway(s, 1);
			return;
		}
		off += (size_t)n;
		if (f.control)
			control_frame(s, &f);
		else
			data_frame(s, &f);
	}
	memmove(s->in, s->in + off, s->nin - off);
	s->nin -= off;
}

/* Unwrap the WebSocket frames in s->raw into s->in. */
static void ws_input(struct pfsession *s)
{
	size_t off = 0;

	while (off < s->nraw && !s->gone) {
		struct ws_frame f;
		ssize_t n = ws_parse(s->raw + off, s->nraw - off, MAX_FRAME, true, &f);

		if (n == 0)
			break;
		if (n < 0) {
			s->gone = true;
			return;
		}
		if (f.opcode == WS_BINARY || f.opcode == WS_CONT) {
			if (s->nin + f.len > INBUF)
				break; /* the SPDY side takes these first */
			memcpy(s->in + s->nin, f.payload, f.len);
			s->nin += f.len;
		} else if (f.opcode == WS_PING) {
			unsigned char h[WS_HEADER_MAX];

			if (ahttp_send_all(s->sock, h, ws_header(h, WS_PONG, f.len, NULL)) ||
			    ahttp_send_all(s->sock, f.payload, f.len))
				s->gone = true;
		} else if (f.opcode == WS_CLOSE) {
			unsigned char h[WS_HEADER_MAX];

			ahttp_send_all(s->sock, h,
				       ws_header(h, WS_CLOSE, f.len >= 2 ? 2 : 0, NULL));
			if (f.len >= 2)
				ahttp_send_all(s->sock, f.payload, 2);
			s->gone = true;
		} else if (f.opcode == WS_TEXT) {
			s->gone = true; /* the tunnel carries binary messages only */
		}
		off += (size_t)n;
	}
	memmove(s->raw, s->raw + off, s->nraw - off);
	s->nraw -= off;
}

/* ---- the session ---- */

static size_t pending(const struct pfsession *s)
{
	size_t n = 0;

	for (size_t i = 0; i < MAX_PAIRS; i++)
		n += s->pairs[i].nout;
	return n;
}

/* A pair's connection: write what the client sent, read what the pod sends. */
static void pair_io(struct pfsession *s, struct pf_pair *p, short revents)
{
	unsigned char buf[CHUNK];

	if (p->nout && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t w = send(p->fd, p->out, p->nout, MSG_NOSIGNAL);

		if (w > 0) {
			memmove(p->out, p->out + w, p->nout - (size_t)w);
			p->nout -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			p->nout = 0; /* the pod's side is gone: what it has not taken is lost */
		}
	}
	if (p->client_fin && !p->nout && !p->shut_wr) {
		shutdown(p->fd, SHUT_WR);
		p->shut_wr = true;
	}
	if (!p->pod_eof && (revents & (POLLIN | POLLERR | POLLHUP))) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

		if (n > 0) {
			emit_data(s, p->data_id, 0, buf, (size_t)n);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			p->pod_eof = true;
			emit_data(s, p->data_id, SPDY_FLAG_FIN, NULL, 0);
		}
	}
	if (p->pod_eof && p->client_fin && !p->nout)
		pair_end(s, p);
}

static void run(struct pfsession *s)
{
	struct pollfd pfd[MAX_PAIRS + 2];
	size_t idx[MAX_PAIRS + 2];

	while (!s->gone && !ahttp_stopping(s->a)) {
		size_t n = 2;
		double now = agent_mono_s();
		int rc;

		pfd[0] = (struct pollfd){.fd = s->sock,
					 .events = (short)(pending(s) < PENDING_MAX ? POLLIN : 0)};
		/* libmicrohttpd does not pass the caller's close (TLS) on to the upgraded socket:
		 * the TCP socket's hang-up ends the session */
		pfd[1] = (struct pollfd){.fd = s->conn_fd, .events = POLLRDHUP};
		for (size_t i = 0; i < MAX_PAIRS; i++) {
			struct pf_pair *p = &s->pairs[i];

			if (p->used && !p->connected && now - p->created > CREATE_TIMEOUT) {
				char msg[128];

				snprintf(msg, sizeof(msg),
					 "(conn=%p, request=%s) timed out waiting "
					 "for streams",
					 (void *)s, p->id);
				if (p->err_id && !p->err_reset)
					emit_data(s, p->err_id, 0, msg, strlen(msg));
				pair_end(s, p);
				continue;
			}
			/* a connection that ended with nothing left to write is not polled (its
			 * POLLHUP would wake us without end) until the client ends the pair */
			if (!p->used || p->fd < 0 || (p->pod_eof && !p->nout))
				continue;
			pfd[n] = (struct pollfd){
			    .fd = p->fd,
			    .events = (short)((p->pod_eof ? 0 : POLLIN) | (p->nout ? POLLOUT : 0))};
			idx[n++] = i;
		}
		rc = poll(pfd, (nfds_t)n, 1000);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		if (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
			break;
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			unsigned char *dst = s->ws ? s->raw + s->nraw : s->in + s->nin;
			size_t room = INBUF - (s->ws ? s->nraw : s->nin);
			ssize_t r = room ? recv(s->sock, dst, room, 0) : 0;

			if (r <= 0 && room && !(r < 0 && (errno == EINTR || errno == EAGAIN)))
				break; /* the client is gone */
			if (r > 0) {
				if (s->ws) {
					s->nraw += (size_t)r;
					ws_input(s);
				} else {
					s->nin += (size_t)r;
				}
			}
			spdy_input(s);
			if (s->ws && s->nraw && !s->gone)
				ws_input(s), spdy_input(s);
		}
		for (size_t k = 2; k < n && !s->gone; k++) {
			struct pf_pair *p = &s->pairs[idx[k]];

			/* a pair may have ended (a reset) while reading the client */
			if (p->used && p->fd == pfd[k].fd && pfd[k].revents)
				pair_io(s, p, pfd[k].revents);
		}
		/* client bytes that arrived for a pair not polled for writing yet */
		for (size_t i = 0; i < MAX_PAIRS && !s->gone; i++)
			if (s->pairs[i].used && s->pairs[i].fd >= 0 &&
			    (s->pairs[i].nout || (s->pairs[i].client_fin && !s->pairs[i].shut_wr)))
				pair_io(s, &s->pairs[i], POLLOUT);
	}
	if (!s->gone && s->ws) {
		unsigned char h[WS_HEADER_MAX];

		ahttp_send_all(s->sock, h, ws_header(h, WS_CLOSE, 2, NULL));
		ahttp_send_all(s->sock, "\x03\xe8", 2);
	}
}

static void *session_main(void *arg)
{
	struct pfsession *s = arg;
	int fl = fcntl(s->sock, F_GETFL);

	if (fl >= 0)
		fcntl(s->sock, F_SETFL, fl & ~O_NONBLOCK);
	log_info(COMP, "pod %s/%s: port-forward session (%s)", s->ns, s->pod,
		 s->ws ? "SPDY over WebSocket" : "SPDY");
	run(s);
	MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
	log_info(COMP, "pod %s/%s: port-forward session ended", s->ns, s->pod);
	ahttp_session_leave(s->a);
	session_free(s);
	return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
			size_t extra_in_size, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	struct pfsession *s = cls;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_t t;

	(void)req_cls;
	s->conn_fd = ci ? ci->connect_fd : -1;
	s->sock = sock;
	s->urh = urh;
	if (extra_in_size && extra_in_size <= INBUF) {
		memcpy(s->ws ? s->raw : s->in, extra_in, extra_in_size);
		if (s->ws)
			s->nraw = extra_in_size;
		else
			s->nin = extra_in_size;
	}
	ahttp_session_enter(s->a);
	if (pthread_create(&t, NULL, session_main, s) != 0) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		ahttp_session_leave(s->a);
		session_free(s);
		return;
	}
	pthread_detach(t);
}

/* ---- the request ---- */

static bool offers(const char *list, const char *want)
{
	size_t l = strlen(want);

	for (const char *p = list; p && (p = strstr(p, want)); p += l)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[l] == 0 || p[l] == ',' || p[l] == ' '))
			return true;
	return false;
}

static const char *hdr(const struct ahttp_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

enum MHD_Result agent_portforward_serve(struct ahttp_req *r, const char *path)
{
	const char *upgrade = hdr(r, MHD_HTTP_HEADER_UPGRADE), *key = hdr(r, "Sec-WebSocket-Key");
	const char *version = hdr(r, "X-Stream-Protocol-Version"), *slash;
	struct ahttp_target t;
	struct pfsession *s;
	struct MHD_Response *resp;
	char accept[29], uid[64] = "";
	enum MHD_Result ret;
	bool ws = upgrade && strcasecmp(upgrade, "websocket") == 0;

	/* {ns}/{pod} or {ns}/{pod}/{uid} */
	slash = strchr(path, '/');
	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(r->ns) || !slash[1])
		return ahttp_text(r->conn, 404, "404 page not found\n");
	snprintf(r->ns, sizeof(r->ns), "%.*s", (int)(slash - path), path);
	path = slash + 1;
	slash = strchr(path, '/');
	if ((slash ? (size_t)(slash - path) : strlen(path)) >= sizeof(r->pod) ||
	    (slash && (strchr(slash + 1, '/') || strlen(slash + 1) >= sizeof(uid))))
		return ahttp_text(r->conn, 404, "404 page not found\n");
	snprintf(r->pod, sizeof(r->pod), "%.*s", (int)(slash ? slash - path : (long)strlen(path)),
		 path);
	if (slash)
		snprintf(uid, sizeof(uid), "%s", slash + 1);
	r->url_kind = "portForward";
	r->ctr[0] = 0;
	if (ws) {
		if (!key || ws_accept_key(key, accept) != 0)
			return ahttp_text(r->conn, 400, "unable to upgrade: bad WebSocket key\n");
		if (!offers(hdr(r, "Sec-WebSocket-Protocol"), WS_PROTOCOL))
			return ahttp_text(r->conn, 400,
					  "unable to upgrade: the drover agent forwards ports over "
					  "WebSocket with the " WS_PROTOCOL " subprotocol only\n");
	} else if (!upgrade || !strcasestr(upgrade, "spdy/3.1") ||
		   !hdr(r, MHD_HTTP_HEADER_CONNECTION) ||
		   !strcasestr(hdr(r, MHD_HTTP_HEADER_CONNECTION), "upgrade")) {
		return ahttp_text(r->conn, 400,
				  "unable to upgrade: missing upgrade headers in request\n");
	} else if (version && !offers(version, PF_PROTOCOL)) {
		/* httpstream.Handshake: no protocol in common */
		return ahttp_text(
		    r->conn, 403,
		    "unable to upgrade: unable to negotiate protocol: client supports "
		    "[%s], server accepts [" PF_PROTOCOL "]\n",
		    version);
	}
	if (ahttp_resolve(r, &t, &ret))
		return ret;
	if (uid[0] && strcmp(uid, t.uid) != 0)
		return ahttp_text(r->conn, 404, "pod not found\n");
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	for (size_t i = 0; i < MAX_PAIRS; i++)
		s->pairs[i].fd = -1;
	s->a = r->a;
	s->ws = ws;
	snprintf(s->ns, sizeof(s->ns), "%s", r->ns);
	snprintf(s->pod, sizeof(s->pod), "%s", r->pod);
	snprintf(s->uid, sizeof(s->uid), "%s", t.uid);
	agent_pod_netns(t.uid, s->netns, sizeof(s->netns));
	if (access(s->netns, F_OK) != 0) {
		session_free(s);
		/* the kubelet's runtime manager: no sandbox yet */
		return ahttp_text(r->conn, 500, "failed to find sandboxID for pod %s_%s(%s)\n",
				  r->pod, r->ns, t.uid);
	}
	s->in = malloc(INBUF);
	s->obuf = malloc(OBUF);
	s->raw = ws ? malloc(INBUF) : NULL;
	s->zin = spdy_zlib_new(false);
	s->zout = spdy_zlib_new(true);
	if (!s->in || !s->obuf || (ws && !s->raw) || !s->zin || !s->zout) {
		session_free(s);
		return MHD_NO;
	}
	resp = MHD_create_response_for_upgrade(on_upgraded, s);
	if (!resp) {
		session_free(s);
		return MHD_NO;
	}
	if (ws) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
		MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
		MHD_add_response_header(resp, "Sec-WebSocket-Protocol", WS_PROTOCOL);
	} else {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "SPDY/3.1");
		MHD_add_response_header(resp, "X-Stream-Protocol-Version", PF_PROTOCOL);
	}
	ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}
