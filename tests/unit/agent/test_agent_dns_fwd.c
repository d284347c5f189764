/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster DNS's upstream (agent_dns_fwd.h) against fake resolvers the test runs on
 * 127.0.0.2 and 127.0.0.3 (UDP and TCP on one port each): the reply under the client's ID;
 * an upstream that drops a name passed over after its time for the next one; one that
 * refuses the datagram passed over at once; a truncated reply asked again over TCP (then cut
 * to what the client takes over UDP); stray replies (another ID, another question) ignored;
 * SERVFAIL when none answers; the upstreams from flags or resolv.conf, never the agent's own
 * address. Traffic to 127.0.0.0/8 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_dns.h"
#include "agent_dns_fwd.h"
#include "dns_testlib.h"

#define BIG_RECORDS 40 /* over 512 bytes */

/* A fake resolver: every name is 192.0.2.<octet>; a picky one drops "slow.test", answers
 * "big.test" truncated over UDP (whole over TCP), and sends two stray replies before the
 * right one for "stray.test". */
struct fake {
	const char *ip;
	uint8_t octet;
	bool picky;
	int udp, tcp;
	uint16_t port;
	atomic_int udp_q, tcp_q;
	atomic_bool stop;
	pthread_t thread;
};

static struct fake fa = {.ip = "127.0.0.2", .octet = 1, .picky = true};
static struct fake fb = {.ip = "127.0.0.3", .octet = 2};

/* The reply to query q (n bytes): its name into name; the answer's length in r. */
static size_t fake_reply(const struct fake *f, const uint8_t *q, size_t n, bool tcp, uint8_t *r,
			 char *name)
{
	size_t off = 12, o = 0, records = 1;

	name[0] = 0;
	while (off < n && q[off] && o < 200) {
		o += (size_t)sprintf(name + o, "%s%.*s", o ? "." : "", q[off], q + off + 1);
		off += 1 + q[off];
	}
	off += 5; /* the root, type, class */
	if (off > n)
		return 0;
	memcpy(r, q, off);
	r[2] = 0x80 | (q[2] & 0x01); /* QR, RD copied */
	r[3] = 0x80;		     /* RA */
	memset(r + 6, 0, 6);
	if (f->picky && !strcmp(name, "big.test")) {
		if (!tcp) {
			r[2] |= 0x02; /* TC: the question only */
			return off;
		}
		records = BIG_RECORDS;
	}
	for (size_t i = 0; i < records; i++) {
		static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2};

		memcpy(r + off, rr, sizeof(rr));
		r[off + sizeof(rr)] = records > 1 ? (uint8_t)(100 + i) : f->octet;
		off += sizeof(rr) + 1;
	}
	r[7] = (uint8_t)records;
	return off;
}

static void fake_udp(struct fake *f)
{
	uint8_t q[4096], r[4096];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(f->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
	char name[256];
	size_t len;

	if (n <= 0)
		return;
	atomic_fetch_add(&f->udp_q, 1);
	len = fake_reply(f, q, (size_t)n, false, r, name);
	if (!len || (f->picky && !strcmp(name, "slow.test")))
		return;
	if (f->picky && !strcmp(name, "stray.test")) {
		r[1] ^= 0x55; /* another ID */
		r[len - 1] = 66;
		sendto(f->udp, r, len, 0, (struct sockaddr *)&from, flen);
		r[1] ^= 0x55;
		r[14] = 'X'; /* another question ("sXray.test") */
		sendto(f->udp, r, len, 0, (struct sockaddr *)&from, flen);
		r[14] = 't';
		r[len - 1] = f->octet;
	}
	sendto(f->udp, r, len, 0, (struct sockaddr *)&from, flen);
}

static void fake_tcp(struct fake *f)
{
	uint8_t q[4096], r[4096 + 2], lenb[2];
	struct timeval tv = {.tv_sec = 2};
	int fd = accept(f->tcp, NULL, NULL);
	char name[256];
	size_t n, len;

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(fd, lenb, 2, MSG_WAITALL) == 2) {
		n = (size_t)lenb[0] << 8 | lenb[1];
		if (n <= sizeof(q) && recv(fd, q, n, MSG_WAITALL) == (ssize_t)n) {
			atomic_fetch_add(&f->tcp_q, 1);
			len = fake_reply(f, q, n, true, r + 2, name);
			r[0] = (uint8_t)(len >> 8);
			r[1] = (uint8_t)len;
			if (len)
				send(fd, r, len + 2, MSG_NOSIGNAL);
		}
	}
	close(fd);
}

static void *fake_loop(void *arg)
{
	struct fake *f = arg;
	struct pollfd p[2] = {{.fd = f->udp, .events = POLLIN}, {.fd = f->tcp, .events = POLLIN}};

	while (!atomic_load(&f->stop)) {
		if (poll(p, 2, 50) <= 0)
			continue;
		if (p[0].revents & POLLIN)
			fake_udp(f);
		if (p[1].revents & POLLIN)
			fake_tcp(f);
	}
	return NULL;
}

/* UDP on an ephemeral port of f->ip, TCP on the same port. */
static int fake_start(struct fake *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	inet_pton(AF_INET, f->ip, &sa.sin_addr);
	f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	f->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->udp < 0 || f->tcp < 0 || bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(f->udp, (struct sockaddr *)&sa, &sl) ||
	    bind(f->tcp, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->tcp, 8))
		return -1;
	f->port = ntohs(sa.sin_port);
	return pthread_create(&f->thread, NULL, fake_loop, f) ? -1 : 0;
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	close(f->udp);
	close(f->tcp);
}

static int setup(void **state)
{
	(void)state;
	if (fake_start(&fa) || fake_start(&fb)) {
		perror("fake upstream");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_stop(&fa);
	fake_stop(&fb);
	return 0;
}

static void reset(void)
{
	atomic_store(&fa.udp_q, 0);
	atomic_store(&fa.tcp_q, 0);
	atomic_store(&fb.udp_q, 0);
	atomic_store(&fb.tcp_q, 0);
}

static struct sockaddr_in addr_of(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

/* name asked through f (try_ms per upstream) over tcp or UDP with edns. */
static struct ans *fwd(const struct dns_fwd *f, const char *name, uint16_t edns, bool tcp)
{
	static uint8_t out[65535];
	uint8_t q[512];
	size_t qlen = mkq(q, name, DNS_T_A, edns);
	size_t n = dns_forward(f, q, qlen, tcp, out, tcp ? sizeof(out) : DNS_UDP_MAX);
	struct ans *a;

	assert_true(n >= 12);
	a = parse(out, n);
	assert_int_equal(a->id, ID); /* the client's, whatever the upstream was asked under */
	assert_int_equal(a->qd, 1);
	assert_true(a->flags & 0x8000);
	return a;
}

static struct dns_fwd two(void)
{
	struct dns_fwd f = {.n = 2, .try_ms = 300};

	f.up[0] = addr_of(fa.ip, fa.port);
	f.up[1] = addr_of(fb.ip, fb.port);
	return f;
}

static void test_answer(void **state)
{
	struct dns_fwd f = two();
	struct ans *a;

	(void)state;
	reset();
	a = fwd(&f, "ok.test", 0, false);
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_A, "192.0.2.1");
	assert_int_equal(atomic_load(&fa.udp_q), 1);
	assert_int_equal(atomic_load(&fb.udp_q), 0);
	/* a TCP client: still UDP upstream */
	assert_rr(fwd(&f, "ok.test", 0, true), 0, DNS_T_A, "192.0.2.1");
}

/* The first upstream drops the name: after its time, the second answers. */
static void test_failover_timeout(void **state)
{
	struct dns_fwd f = two();
	struct ans *a;

	(void)state;
	reset();
	a = fwd(&f, "slow.test", 0, false);
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_rr(a, 0, DNS_T_A, "192.0.2.2");
	assert_int_equal(atomic_load(&fa.udp_q), 1);
	assert_int_equal(atomic_load(&fb.udp_q), 1);
}

/* Nobody on the port: the ICMP refusal passes it over at once, well before its time (a
 * try as long as the whole deadline would leave none for the second one). */
static void test_failover_refused(void **state)
{
	struct dns_fwd f = {.n = 2, .try_ms = 4000, .deadline_ms = 4000};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = addr_of("127.0.0.4", 0);
	socklen_t sl = sizeof(sa);

	(void)state;
	/* a port just free: bound and closed */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	f.up[0] = sa;
	f.up[1] = addr_of(fb.ip, fb.port);
	reset();
	assert_rr(fwd(&f, "ok.test", 0, false), 0, DNS_T_A, "192.0.2.2");
}

static void test_servfail(void **state)
{
	struct dns_fwd f = two(), none = {0};
	struct ans *a;

	(void)state;
	f.n = 1; /* the one that drops it */
	a = fwd(&f, "slow.test", 0, false);
	assert_int_equal(RCODE(a), DNS_R_SERVFAIL);
	assert_int_equal(a->an + a->ns + a->ar, 0);
	assert_int_equal(RCODE(fwd(&none, "ok.test", 0, false)), DNS_R_SERVFAIL);
}

/* Truncated over UDP: asked again over TCP; the whole answer to a client that takes it, cut
 * with TC for one that does not (it asks again over TCP). */
static void test_tcp_retry(void **state)
{
	struct dns_fwd f = two();
	struct ans *a;

	(void)state;
	reset();
	a = fwd(&f, "big.test", 4096, false);
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_false(a->flags & 0x0200);
	assert_int_equal(a->an, BIG_RECORDS);
	assert_rr(a, BIG_RECORDS - 1, DNS_T_A, "192.0.2.139");
	assert_int_equal(atomic_load(&fa.udp_q), 1);
	assert_int_equal(atomic_load(&fa.tcp_q), 1);
	assert_int_equal(atomic_load(&fb.udp_q), 0);
	a = fwd(&f, "big.test", 0, false);
	assert_true(a->flags & 0x0200);
	assert_int_equal(a->an, 0);
	a = fwd(&f, "big.test", 0, true);
	assert_false(a->flags & 0x0200);
	assert_int_equal(a->an, BIG_RECORDS);
}

/* Replies under another ID or for another question are not the answer. */
static void test_stray(void **state)
{
	struct dns_fwd f = two();
	struct ans *a;

	(void)state;
	a = fwd(&f, "stray.test", 0, false);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_A, "192.0.2.1");
}

/* Set while waiting: given up at once. */
static void test_stop(void **state)
{
	atomic_bool stop = true;
	struct dns_fwd f = two();

	(void)state;
	f.stop = &stop;
	f.try_ms = 1000; /* ignored, the first one would be passed over for the second */
	f.deadline_ms = 60000;
	reset();
	assert_int_equal(RCODE(fwd(&f, "slow.test", 0, false)), DNS_R_SERVFAIL);
	assert_int_equal(atomic_load(&fb.udp_q), 0);
}

static void test_config(void **state)
{
	const uint32_t self[] = {inet_addr("10.96.0.10"), inet_addr("192.168.1.5")};
	const char *flags[] = {"127.0.0.2:5353", "10.96.0.10", "10.96.0.10:5353", "192.168.1.5:53",
			       "8.8.8.8"};
	const char *bad[][2] = {{"none", "8.8.8.8"}, {"8.8.8", NULL}, {"8.8.8.8:0", NULL},
				{"8.8.8.8:", NULL},  {"::1", NULL},   {"8.8.8.8:70000", NULL}};
	struct dns_fwd f;
	char err[256];

	(void)state;
	/* flags: in order; the agent's own addresses on port 53 skipped */
	assert_int_equal(
	    dns_fwd_config(&f, flags, 5, "nameserver 1.1.1.1\n", self, 2, err, sizeof(err)), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.skipped, 2);
	assert_int_equal(f.up[0].sin_addr.s_addr, inet_addr("127.0.0.2"));
	assert_int_equal(ntohs(f.up[0].sin_port), 5353);
	assert_int_equal(f.up[1].sin_addr.s_addr, inet_addr("10.96.0.10"));
	assert_int_equal(ntohs(f.up[1].sin_port), 5353);
	assert_int_equal(f.up[2].sin_addr.s_addr, inet_addr("8.8.8.8"));
	assert_int_equal(ntohs(f.up[2].sin_port), 53);
	/* none */
	assert_int_equal(dns_fwd_config(&f, (const char *[]){"none"}, 1, "nameserver 1.1.1.1\n",
					self, 2, err, sizeof(err)),
			 0);
	assert_int_equal(f.n, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    dns_fwd_config(&f, bad[i], bad[i][1] ? 2 : 1, NULL, self, 2, err, sizeof(err)),
		    -EINVAL);
	/* resolv.conf: the node's nameservers, IPv6 ones and the cluster DNS left out */
	assert_int_equal(dns_fwd_config(&f, NULL, 0,
					"# a comment\nsearch lan\nnameserver 10.96.0.10\n"
					"nameserver ::1\nnameserver 192.168.1.1 # router\n"
					"nameserver 192.168.1.5\nnameserver 192.168.1.1\n",
					self, 2, err, sizeof(err)),
			 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.skipped, 2);
	assert_int_equal(f.up[0].sin_addr.s_addr, inet_addr("192.168.1.1"));
	assert_int_equal(ntohs(f.up[0].sin_port), 53);
	assert_int_equal(dns_fwd_config(&f, NULL, 0, NULL, self, 2, err, sizeof(err)), 0);
	assert_int_equal(f.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_failover_timeout),
	    cmocka_unit_test(test_failover_refused),
	    cmocka_unit_test(test_servfail),
	    cmocka_unit_test(test_tcp_retry),
	    cmocka_unit_test(test_stray),
	    cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
