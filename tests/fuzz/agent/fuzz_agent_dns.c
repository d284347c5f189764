/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster DNS's parser and answer writer (agent_dns.h) over arbitrary bytes, each input
 * asked over UDP and TCP, against Services made up from the name asked (every kind: cluster
 * IP, headless with up to 128 endpoints, ExternalName). Never a crash or a read out of
 * bounds (ASan), and the answer keeps its invariants: none, or at least a header with the
 * query's ID and QR set, no longer than the buffer (UDP: DNS_UDP_MAX); the same bytes give
 * the same answer; and an answer fed back is a response, never answered. A forwarding zone
 * hands upstream (DNS_FORWARD) exactly what the other answers REFUSED (in class IN/ANY),
 * and answers the rest byte for byte the same; such a query with QR set is a reply that
 * matches it, made the client's answer under its ID and within its size. The input as an
 * upstream's reply to a fixed query: never a crash, an answer within the buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_dns.h"

static int fuzz_service(void *arg, const char *ns, const char *name, struct dns_svc *s)
{
	size_t h = 5381;

	(void)arg;
	for (const char *p = ns; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = name ? name : ""; *p; p++)
		h = h * 33 + (unsigned char)*p;
	if (h % 5 == 0)
		return -ENOENT;
	if (!name)
		return 0;
	s->ports[s->n_ports++] = (struct dns_port){"http", "tcp", 80};
	s->ports[s->n_ports++] = (struct dns_port){"dns", "udp", 53};
	switch (h % 4) {
	case 0:
		s->cluster_ip = 0x0a60000a;
		break;
	case 1:
		memset(s->external_name, 'x', (h / 4) % 300 < DNS_NAME_MAX ? (h / 4) % 300 : 1);
		break;
	default:
		s->headless = true;
		s->n_eps = (h / 4) % (DNS_MAX_EPS + 1);
		for (size_t i = 0; i < s->n_eps; i++) {
			s->eps[i].ip = (uint32_t)(0x0af40000 + i);
			if (i % 2)
				memset(s->eps[i].hostname, 'h', 1 + i % DNS_LABEL_MAX);
		}
	}
	return 0;
}

static int fuzz_by_ip(void *arg, uint32_t ip, char *ns, char *name)
{
	(void)arg;
	if (ip % 3)
		return -ENOENT;
	memset(ns, 'n', DNS_LABEL_MAX);
	ns[DNS_LABEL_MAX] = 0;
	memset(name, 'm', DNS_LABEL_MAX);
	name[DNS_LABEL_MAX] = 0;
	return 0;
}

static size_t fuzz_eps_by_ip(void *arg, uint32_t ip, struct dns_ep_ref *out, size_t max)
{
	size_t n = (ip >> 24) % 5 == 0 ? 0 : (ip >> 24) % (max + 1);

	(void)arg;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		memset(out[i].ns, 'n', 1 + (ip + i) % DNS_LABEL_MAX);
		memset(out[i].svc, 's', 1 + (ip >> 8) % DNS_LABEL_MAX);
		if (i % 2)
			memset(out[i].label, 'h', 1 + i % DNS_LABEL_MAX);
	}
	return n;
}

static const struct dns_zone zone = {
    .domain = "cluster.local",
    .src = {.service = fuzz_service,
	    .service_by_ip = fuzz_by_ip,
	    .endpoints_by_ip = fuzz_eps_by_ip},
};

static const struct dns_zone fwd_zone = {
    .domain = "cluster.local",
    .src = {.service = fuzz_service,
	    .service_by_ip = fuzz_by_ip,
	    .endpoints_by_ip = fuzz_eps_by_ip},
    .forward = true,
};

static bool class_in(const uint8_t *m, size_t len);

/* A query dns_respond forwarded: itself with QR set matches it; the client's answer. */
static void check_forwarded(const uint8_t *q, size_t n, bool tcp)
{
	static uint8_t r[UINT16_MAX], out[UINT16_MAX];
	size_t cap = tcp ? sizeof(out) : DNS_UDP_MAX, len;

	if (n > sizeof(r))
		return;
	memcpy(r, q, n);
	r[2] |= 0x80;
	if (!dns_reply_matches(q, n, r, n))
		abort();
	len = dns_reply_fit(q, n, tcp, r, n, out, cap);
	if (len < 12 || len > cap || memcmp(out, q, 2) || (!tcp && len > DNS_UDP_MAX))
		abort();
	len = dns_answer_rcode(q, n, DNS_R_SERVFAIL, out, cap);
	if (len < 12 || len > cap || memcmp(out, q, 2) || (out[3] & 0xf) != DNS_R_SERVFAIL)
		abort();
}

static void check(const uint8_t *q, size_t n, bool tcp)
{
	static uint8_t out[UINT16_MAX], again[UINT16_MAX];
	size_t cap = tcp ? sizeof(out) : DNS_UDP_MAX;
	size_t len = dns_respond(&zone, q, n, tcp, out, cap), flen;

	if (!len)
		return;
	if (len < 12 || len > cap || memcmp(out, q, 2) || !(out[2] & 0x80))
		abort();
	if (dns_respond(&zone, q, n, tcp, again, cap) != len || memcmp(out, again, len))
		abort();
	if (dns_respond(&zone, out, len, tcp, again, cap) != 0)
		abort();
	/* the forwarding zone: DNS_FORWARD for what was REFUSED, else the same answer */
	flen = dns_respond(&fwd_zone, q, n, tcp, again, cap);
	if (flen == DNS_FORWARD) {
		if ((out[3] & 0xf) != DNS_R_REFUSED)
			abort();
		check_forwarded(q, n, tcp);
	} else if (flen != len || memcmp(out, again, len) ||
		   ((out[3] & 0xf) == DNS_R_REFUSED && len > 12 && class_in(out, len))) {
		abort();
	}
}

/* Whether the answer's question (uncompressed, ours) is of class IN or ANY. */
static bool class_in(const uint8_t *m, size_t len)
{
	size_t off = 12;
	uint16_t cls;

	while (off < len && m[off])
		off += 1 + m[off];
	if (off + 5 > len)
		return false;
	cls = (uint16_t)(m[off + 3] << 8 | m[off + 4]);
	return cls == 1 || cls == 255;
}

/* The input as an upstream's reply to a fixed query. */
static void check_reply(const uint8_t *r, size_t n)
{
	static const uint8_t q[] = {0x12, 0x34, 1,   0,	  0,   1,   0,	 0,   0,   0,
				    0,	  0,	7,   'e', 'x', 'a', 'm', 'p', 'l', 'e',
				    3,	  'c',	'o', 'm', 0,   0,   1,	 0,   1};
	static uint8_t out[UINT16_MAX];
	size_t len;

	dns_reply_matches(q, sizeof(q), r, n);
	len = dns_reply_fit(q, sizeof(q), n % 2, r, n, out, DNS_UDP_MAX);
	if (len > DNS_UDP_MAX || (len && (len < 12 || memcmp(out, q, 2))))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, false);
	check(data, size, true);
	check_reply(data, size);
	return 0;
}
