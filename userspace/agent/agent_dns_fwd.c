/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_dns_fwd: the cluster DNS's upstream (agent_dns_fwd.h). Each forwarded query has
 * sockets of its own, connected to the upstream, so the kernel drops datagrams from any
 * other source, and an ID of its own (getrandom), so a reply is taken only when its ID and
 * question are ours (dns_reply_matches); replies that are not are read and ignored until the
 * upstream's time is up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent_dns.h"
#include "agent_dns_fwd.h"
#include "agent_resolv.h"

#define DNS_PORT     53
#define TCP_MSG_MAX  UINT16_MAX
#define POLL_STEP_MS 100 /* how often a wait looks at the stop flag */

int dns_fwd_parse(const char *s, struct sockaddr_in *out)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	long port = DNS_PORT;

	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (colon) {
		char *end;

		port = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || port < 1 || port > 65535)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -EINVAL;
}

static void add_upstream(struct dns_fwd *f, const struct sockaddr_in *a, const uint32_t *self,
			 size_t n_self)
{
	for (size_t i = 0; i < n_self; i++)
		if (a->sin_addr.s_addr == self[i] && a->sin_port == htons(DNS_PORT)) {
			f->skipped++; /* ourselves: the query would come back to us */
			return;
		}
	for (size_t i = 0; i < f->n; i++)
		if (f->up[i].sin_addr.s_addr == a->sin_addr.s_addr &&
		    f->up[i].sin_port == a->sin_port)
			return;
	if (f->n < DNS_FWD_MAX)
		f->up[f->n++] = *a;
}

int dns_fwd_config(struct dns_fwd *f, const char *const *flags, size_t n_flags,
		   const char *resolv_conf, const uint32_t *self, size_t n_self, char *err,
		   size_t errlen)
{
	char servers[DNS_FWD_MAX][RESOLV_ITEM_MAX];
	struct sockaddr_in a;
	size_t n;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n_flags; i++) {
		if (!strcmp(flags[i], "none")) {
			if (n_flags == 1)
				return 0;
			snprintf(err, errlen, "--dns-upstream none: not with other upstreams");
			return -EINVAL;
		}
		if (dns_fwd_parse(flags[i], &a)) {
			snprintf(err, errlen, "--dns-upstream %s: want IPv4[:PORT] or none",
				 flags[i]);
			return -EINVAL;
		}
		add_upstream(f, &a, self, n_self);
	}
	if (n_flags)
		return 0;
	n = resolv_nameservers(resolv_conf, servers, DNS_FWD_MAX);
	for (size_t i = 0; i < n; i++)
		if (!strchr(servers[i], ':') && !dns_fwd_parse(servers[i], &a))
			add_upstream(f, &a, self, n_self); /* IPv6 nameservers are not asked */
	return 0;
}

/* ---- one exchange ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Until fd has one of events: 0, -ETIMEDOUT at until, -ECANCELED when stopping. */
static int wait_fd(const struct dns_fwd *f, int fd, short events, int64_t until)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = until - now_ms();
		int n;

		if (f->stop && atomic_load(f->stop))
			return -ECANCELED;
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > POLL_STEP_MS ? POLL_STEP_MS : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int connected(const struct sockaddr_in *up, int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)up, sizeof(*up)) && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* q over UDP: the length of the reply that matches it in buf, or -errno (an ICMP refusal
 * is -ECONNREFUSED at once). */
static ssize_t ask_udp(const struct dns_fwd *f, const struct sockaddr_in *up, const uint8_t *q,
		       size_t qlen, uint8_t *buf, size_t cap, int64_t until)
{
	int fd = connected(up, SOCK_DGRAM);
	ssize_t n = -ETIMEDOUT;

	if (fd < 0)
		return fd;
	if (send(fd, q, qlen, 0) != (ssize_t)qlen) {
		n = -errno;
		goto out;
	}
	for (;;) {
		int rc = wait_fd(f, fd, POLLIN, until);

		if (rc) {
			n = rc;
			break;
		}
		n = recv(fd, buf, cap, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			n = -errno;
			break;
		}
		if (dns_reply_matches(q, qlen, buf, (size_t)n))
			break; /* else a stray datagram: wait on */
	}
out:
	close(fd);
	return n;
}

/* All of n bytes to or from the stream (write: send, else recv) by until. */
static int stream_io(const struct dns_fwd *f, int fd, uint8_t *p, size_t n, bool write,
		     int64_t until)
{
	while (n) {
		int rc = wait_fd(f, fd, write ? POLLOUT : POLLIN, until);
		ssize_t r;

		if (rc)
			return rc;
		r = write ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR || errno == EINPROGRESS))
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* q over TCP (RFC 1035 4.2.2: a two-byte length first): as ask_udp. buf holds TCP_MSG_MAX. */
static ssize_t ask_tcp(const struct dns_fwd *f, const struct sockaddr_in *up, const uint8_t *q,
		       size_t qlen, uint8_t *buf, int64_t until)
{
	uint8_t len[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
	int fd = connected(up, SOCK_STREAM);
	size_t n;
	int rc;

	if (fd < 0)
		return fd;
	if ((rc = stream_io(f, fd, len, 2, true, until)) ||
	    (rc = stream_io(f, fd, (uint8_t *)q, qlen, true, until)) ||
	    (rc = stream_io(f, fd, len, 2, false, until)))
		goto out;
	n = (size_t)len[0] << 8 | len[1];
	if ((rc = stream_io(f, fd, buf, n, false, until)))
		goto out;
	rc = dns_reply_matches(q, qlen, buf, n) ? (int)n : -EBADMSG;
out:
	close(fd);
	return rc;
}

size_t dns_forward(const struct dns_fwd *f, const uint8_t *q, size_t qlen, bool tcp, uint8_t *out,
		   size_t cap)
{
	int try_ms = f->try_ms ? f->try_ms : DNS_FWD_TRY_MS;
	int64_t deadline = now_ms() + (f->deadline_ms ? f->deadline_ms : DNS_FWD_DEADLINE_MS);
	uint8_t *sq = malloc(qlen), *buf = malloc(TCP_MSG_MAX);
	size_t len = 0;
	uint16_t id;

	if (!sq || !buf || qlen < 2)
		goto out;
	/* an ID of our own: the client's may be guessed, and two clients may share one */
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)now_ms();
	memcpy(sq, q, qlen);
	memcpy(sq, &id, 2);
	for (size_t i = 0; i < f->n && !len && now_ms() < deadline; i++) {
		int64_t until = now_ms() + try_ms;
		ssize_t n = ask_udp(f, &f->up[i], sq, qlen, buf, TCP_MSG_MAX,
				    until < deadline ? until : deadline);

		if (n == -ECANCELED)
			break;
		if (n < 0)
			continue; /* no answer in time, refused: the next one */
		if (buf[2] & 0x02) {
			/* truncated: the whole answer over TCP; failing that, the truncated one
			 * (the client asks again over TCP itself) */
			uint8_t *full = malloc(TCP_MSG_MAX);
			ssize_t m = full ? ask_tcp(f, &f->up[i], sq, qlen, full,
						   now_ms() + try_ms < deadline ? now_ms() + try_ms
										: deadline)
					 : -ENOMEM;

			if (m > 0) {
				free(buf);
				buf = full;
				n = m;
			} else {
				free(full);
			}
		}
		len = dns_reply_fit(q, qlen, tcp, buf, (size_t)n, out, cap);
	}
out:
	if (!len)
		len = dns_answer_rcode(q, qlen, DNS_R_SERVFAIL, out, cap);
	free(sq);
	free(buf);
	return len;
}
