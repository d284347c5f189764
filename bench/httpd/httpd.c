/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-httpd: a small, fast HTTP/1.1 server for tests and benchmarks. One epoll loop per
 * thread (SO_REUSEPORT), keep-alive, a fixed small response whose body names the server
 * (so a test sees which backend answered). Optionally also a UDP responder that answers each
 * datagram with the same body.
 *
 *   drover-httpd [--port N] [--udp-port N] [--body TEXT] [--threads N] [--addr IP]
 *                [--echo-client] [--graceful-stop SECS]
 *
 * --echo-client appends the peer address the server sees to the body ("backend-1
 * 192.168.100.2"), for tests of source-address preservation.
 *
 * --graceful-stop SECS makes SIGTERM a graceful stop, as a web server's in a terminating pod
 * (Go's http.Server.Shutdown, nginx -s quit): the listening sockets take what is queued and
 * close; every request read from then on is answered with "Connection: close"; keep-alive
 * connections idle between requests are closed; the server exits when no connection is left,
 * or after SECS. Without it SIGTERM kills the server at once.
 *
 * It parses only what it needs: the end of each request's headers ("\r\n\r\n"), and
 * "Connection: close". Request bodies are not supported (GET/HEAD only).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define BUF_SIZE   8192

static char response_ka[512], response_close[512];
static size_t response_ka_len, response_close_len;
static const char *body = "drover-httpd";
static struct in_addr bind_addr = {.s_addr = INADDR_ANY};
static int tcp_port = 8080, udp_port;
static bool echo_client;

/* graceful stop: the eventfd SIGTERM writes (every thread's epoll watches it), the deadline
 * and the connections still open over all threads */
static int drain_fd = -1;
static volatile sig_atomic_t draining;
static int drain_secs;
static atomic_int open_conns;

struct conn {
	int fd;
	bool served; /* answered a request: between requests it is an idle keep-alive */
	struct conn *prev, *next; /* the thread's list, for closing idle ones on a stop */
	char peer[INET_ADDRSTRLEN];
	size_t len;
	char buf[BUF_SIZE];
};

static int listen_tcp(void)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)tcp_port), .sin_addr = bind_addr};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096)) {
		perror("drover-httpd: bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

static void conn_close(int ep, struct conn **list, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		*list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	if (atomic_fetch_sub(&open_conns, 1) == 1 && draining)
		_exit(0); /* the last connection of a graceful stop */
}

/* Answer every complete request in the buffer. Returns -1 to close the connection. */
static int conn_serve(struct conn *c)
{
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		size_t req_len;
		bool close_after;
		const char *resp;
		size_t resp_len, off = 0;

		if (!end)
			return c->len == sizeof(c->buf) ? -1 : 0;
		req_len = (size_t)(end - c->buf) + 4;
		c->buf[req_len - 1] = '\0';
		close_after = draining || strcasestr(c->buf, "\nconnection: close") != NULL;
		if (strstr(c->buf, " HTTP/1.0\r\n") &&
		    !strcasestr(c->buf, "\nconnection: keep-alive"))
			close_after = true;
		resp = close_after ? response_close : response_ka;
		resp_len = close_after ? response_close_len : response_ka_len;
		if (echo_client) {
			static __thread char dyn[512];
			size_t blen = strlen(body) + 1 + strlen(c->peer) + 1;

			resp_len = (size_t)snprintf(
			    dyn, sizeof(dyn),
			    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			    "%sContent-Length: %zu\r\n\r\n%s %s\n",
			    close_after ? "Connection: close\r\n" : "", blen, body, c->peer);
			resp = dyn;
		}
		while (off < resp_len) {
			ssize_t w = send(c->fd, resp + off, resp_len - off, MSG_NOSIGNAL);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1; /* responses are tiny: a full socket buffer means a dead peer */
			}
			off += (size_t)w;
		}
		c->served = true;
		if (close_after)
			return -1;
		memmove(c->buf, c->buf + req_len, c->len - req_len);
		c->len -= req_len;
	}
}

static void conn_accept(int ep, int lfd, struct conn **list)
{
	struct epoll_event ev;
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int fd, one = 1;

	while ((fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
	       0) {
		struct conn *c = calloc(1, sizeof(*c));

		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		inet_ntop(AF_INET, &peer.sin_addr, c->peer, sizeof(c->peer));
		plen = sizeof(peer);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		c->next = *list;
		if (*list)
			(*list)->prev = c;
		*list = c;
		atomic_fetch_add(&open_conns, 1);
	}
}

/* Read and answer what the connection has. Returns false once it is closed. */
static bool conn_read(int ep, struct conn **list, struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

		if (r > 0) {
			c->len += (size_t)r;
			if (conn_serve(c) < 0) {
				conn_close(ep, list, c);
				return false;
			}
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		conn_close(ep, list, c);
		return false;
	}
}

/* The graceful stop, in each thread: take what the listening socket has queued, close it;
 * answer what connections have sent already, close those idle between requests. A
 * connection that has not sent its first request yet is left to send it. */
static void tcp_drain(int ep, int *lfd, struct conn **list)
{
	struct conn *c, *next;

	conn_accept(ep, *lfd, list);
	epoll_ctl(ep, EPOLL_CTL_DEL, *lfd, NULL);
	close(*lfd);
	*lfd = -1;
	for (c = *list; c; c = next) {
		next = c->next;
		if (conn_read(ep, list, c) && c->served && c->len == 0)
			conn_close(ep, list, c);
	}
	if (atomic_load(&open_conns) == 0)
		_exit(0);
}

static void *tcp_loop(void *arg)
{
	struct epoll_event ev, events[MAX_EVENTS];
	int lfd = listen_tcp(), ep = epoll_create1(EPOLL_CLOEXEC);
	struct conn *list = NULL;
	static const struct conn drain_tag;
	struct timespec deadline = {0};

	(void)arg;
	if (lfd < 0 || ep < 0)
		exit(1);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	if (drain_fd >= 0) {
		ev.data.ptr = (void *)&drain_tag;
		epoll_ctl(ep, EPOLL_CTL_ADD, drain_fd, &ev);
	}
	for (;;) {
		int n = epoll_wait(ep, events, MAX_EVENTS, lfd < 0 ? 50 : -1);

		if (lfd < 0) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
				_exit(0); /* --graceful-stop's limit */
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;

			if (c == &drain_tag) {
				/* level-triggered and never read: every thread sees it once */
				epoll_ctl(ep, EPOLL_CTL_DEL, drain_fd, NULL);
				clock_gettime(CLOCK_MONOTONIC, &deadline);
				deadline.tv_sec += drain_secs;
				tcp_drain(ep, &lfd, &list);
				/* the rest of this batch may name connections it closed */
				break;
			}
			if (!c) {
				if (lfd >= 0)
					conn_accept(ep, lfd, &list);
				continue;
			}
			conn_read(ep, &list, c);
		}
	}
	return NULL;
}

static void *udp_loop(void *arg)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)udp_port), .sin_addr = bind_addr};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[2048];

	(void)arg;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("drover-httpd: udp bind");
		exit(1);
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (r < 0)
			continue;
		sendto(fd, body, strlen(body), 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void on_sigterm(int sig)
{
	uint64_t one = 1;

	(void)sig;
	draining = 1;
	if (write(drain_fd, &one, sizeof(one)) < 0) {
		/* nothing to do in a signal handler: the eventfd never fills */
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, 0, 'p'},
	    {"udp-port", required_argument, 0, 'u'},
	    {"body", required_argument, 0, 'b'},
	    {"threads", required_argument, 0, 't'},
	    {"addr", required_argument, 0, 'a'},
	    {"help", no_argument, 0, 'h'},
	    {"echo-client", no_argument, 0, 'e'},
	    {"graceful-stop", required_argument, 0, 'g'},
	    {0, 0, 0, 0},
	};
	int threads = 1, o;
	pthread_t th;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			tcp_port = atoi(optarg);
			break;
		case 'u':
			udp_port = atoi(optarg);
			break;
		case 'b':
			body = optarg;
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &bind_addr) != 1) {
				fprintf(stderr, "drover-httpd: bad --addr %s\n", optarg);
				return 2;
			}
			break;
		case 'e':
			echo_client = true;
			break;
		case 'g':
			drain_secs = atoi(optarg);
			drain_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (drain_fd < 0 || drain_secs < 1) {
				fprintf(stderr, "drover-httpd: bad --graceful-stop %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf(
			    "usage: drover-httpd [--port N] [--udp-port N] [--body TEXT] "
			    "[--threads N] [--addr IP] [--echo-client] [--graceful-stop SECS]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (tcp_port < 0 || tcp_port > 65535 || udp_port < 0 || udp_port > 65535 || threads < 1 ||
	    threads > 64) {
		fprintf(stderr, "drover-httpd: invalid arguments\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (drain_fd >= 0)
		signal(SIGTERM, on_sigterm);
	response_ka_len = (size_t)snprintf(response_ka, sizeof(response_ka),
					   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
					   "Content-Length: %zu\r\n\r\n%s\n",
					   strlen(body) + 1, body);
	response_close_len =
	    (size_t)snprintf(response_close, sizeof(response_close),
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s\n",
			     strlen(body) + 1, body);
	if (udp_port && pthread_create(&th, NULL, udp_loop, NULL))
		return 1;
	if (tcp_port) {
		for (int i = 1; i < threads; i++) {
			if (pthread_create(&th, NULL, tcp_loop, NULL))
				return 1;
		}
		tcp_loop(NULL);
	} else if (udp_port) {
		pthread_join(th, NULL);
	}
	return 0;
}
