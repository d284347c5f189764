/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster DNS's parser and answer writer (agent_dns.h) over arbitrary bytes, each input
 * asked over UDP and TCP, against Services made up from the name asked (every kind: cluster
 * IP, headless with up to 128 endpoints, ExternalName). Never a crash or a read out of
 * bounds (ASan), and the answer keeps its invariants: none, or at least a header with the
 * query's ID and QR set, no longer than the buffer (UDP: DNS_UDP_MAX); the same bytes give
 * the same answer; and an answer fed back is a response, never answered.
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

static const struct dns_zone zone = {
    .domain = "cluster.local",
    .src = {.service = fuzz_service, .service_by_ip = fuzz_by_ip},
};

static void check(const uint8_t *q, size_t n, bool tcp)
{
	static uint8_t out[UINT16_MAX], again[UINT16_MAX];
	size_t cap = tcp ? sizeof(out) : DNS_UDP_MAX;
	size_t len = dns_respond(&zone, q, n, tcp, out, cap);

	if (!len)
		return;
	if (len < 12 || len > cap || memcmp(out, q, 2) || !(out[2] & 0x80))
		abort();
	if (dns_respond(&zone, q, n, tcp, again, cap) != len || memcmp(out, again, len))
		abort();
	if (dns_respond(&zone, out, len, tcp, again, cap) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, false);
	check(data, size, true);
	return 0;
}
