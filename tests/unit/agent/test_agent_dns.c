/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster DNS's core (agent_dns.h) over a fixed set of Services: each record type of the
 * Kubernetes DNS specification, NXDOMAIN and NODATA with the SOA, names in any case,
 * compressed questions, EDNS0, truncation; malformed queries (short header, bad label
 * lengths, pointer loops, forward pointers, overlong names) answered FORMERR or dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent_dns.h"

/* ---- the Services ---- */

static uint32_t ip4(const char *s)
{
	uint32_t a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static int fake_service(void *arg, const char *ns, const char *name, struct dns_svc *s)
{
	(void)arg;
	if (strcmp(ns, "default"))
		return -ENOENT;
	if (!name)
		return 0;
	if (!strcmp(name, "web")) {
		s->cluster_ip = ip4("10.96.0.20");
		s->ports[s->n_ports++] = (struct dns_port){"http", "tcp", 80};
		s->ports[s->n_ports++] = (struct dns_port){"", "tcp", 8080};
		return 0;
	}
	if (!strcmp(name, "db")) {
		s->headless = true;
		s->ports[s->n_ports++] = (struct dns_port){"mysql", "tcp", 3306};
		s->eps[s->n_eps++] = (struct dns_ep){ip4("10.244.0.5"), "db-0"};
		s->eps[s->n_eps++] = (struct dns_ep){ip4("10.244.0.6"), "db-1"};
		s->eps[s->n_eps++] = (struct dns_ep){ip4("10.244.0.7"), ""};
		return 0;
	}
	if (!strcmp(name, "ext")) {
		snprintf(s->external_name, sizeof(s->external_name), "example.com");
		return 0;
	}
	if (!strcmp(name, "empty")) {
		s->headless = true;
		return 0;
	}
	if (!strcmp(name, "big")) {
		s->headless = true;
		for (int i = 0; i < 100; i++)
			s->eps[s->n_eps++] = (struct dns_ep){htonl(0x0af40100u + (uint32_t)i), ""};
		return 0;
	}
	return -ENOENT;
}

static int fake_by_ip(void *arg, uint32_t ip, char *ns, char *name)
{
	(void)arg;
	if (ip != ip4("10.96.0.20"))
		return -ENOENT;
	strcpy(ns, "default");
	strcpy(name, "web");
	return 0;
}

static const struct dns_zone zone = {
    .domain = "cluster.local",
    .src = {.service = fake_service, .service_by_ip = fake_by_ip},
};

/* ---- queries ---- */

#define ID 0x1234

/* A query for name (dotted) and type; edns: an OPT record offering that payload size. */
static size_t mkq(uint8_t *q, const char *name, uint16_t type, uint16_t edns)
{
	size_t n = 12;

	memset(q, 0, 12);
	q[0] = ID >> 8;
	q[1] = ID & 0xff;
	q[2] = 0x01; /* RD */
	q[5] = 1;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		q[n++] = (uint8_t)l;
		memcpy(q + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	if (edns) {
		q[11] = 1;
		q[n++] = 0;
		q[n++] = 0;
		q[n++] = DNS_T_OPT;
		q[n++] = (uint8_t)(edns >> 8);
		q[n++] = (uint8_t)edns;
		memset(q + n, 0, 6);
		n += 6;
	}
	return n;
}

/* ---- answers ---- */

struct rr {
	char name[256];
	uint16_t type;
	char data[320]; /* A: dotted quad; names: dotted; SRV: "prio weight port target" */
};

struct ans {
	uint16_t id, flags, qd, an, ns, ar;
	struct rr rr[256];
	size_t n;
};

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The test's own name reader (trusted input: the answers under test). */
static size_t rname(const uint8_t *m, size_t off, char *out)
{
	size_t end = 0, o = 0;
	int hops = 0;

	out[0] = 0;
	while (m[off]) {
		if ((m[off] & 0xc0) == 0xc0) {
			if (!end)
				end = off + 2;
			off = (size_t)(m[off] & 0x3f) << 8 | m[off + 1];
			assert_true(++hops < 20);
			continue;
		}
		o += (size_t)sprintf(out + o, "%s%.*s", o ? "." : "", m[off], m + off + 1);
		off += 1 + m[off];
	}
	return end ? end : off + 1;
}

static struct ans *parse(const uint8_t *m, size_t len)
{
	static struct ans a;
	size_t off = 12;
	char tmp[256];

	memset(&a, 0, sizeof(a));
	assert_true(len >= 12);
	a.id = g16(m);
	a.flags = g16(m + 2);
	a.qd = g16(m + 4);
	a.an = g16(m + 6);
	a.ns = g16(m + 8);
	a.ar = g16(m + 10);
	for (unsigned i = 0; i < a.qd; i++)
		off = rname(m, off, tmp) + 4;
	for (unsigned i = 0; i < (unsigned)a.an + a.ns + a.ar; i++) {
		struct rr *r = &a.rr[a.n++];
		uint16_t rdlen;

		off = rname(m, off, r->name);
		r->type = g16(m + off);
		rdlen = g16(m + off + 8);
		off += 10;
		assert_true(off + rdlen <= len);
		if (r->type == DNS_T_A)
			inet_ntop(AF_INET, m + off, r->data, sizeof(r->data));
		else if (r->type == DNS_T_CNAME || r->type == DNS_T_PTR || r->type == DNS_T_NS ||
			 r->type == DNS_T_SOA)
			rname(m, off, r->data);
		else if (r->type == DNS_T_SRV) {
			rname(m, off + 6, tmp);
			snprintf(r->data, sizeof(r->data), "%u %u %u %s", g16(m + off),
				 g16(m + off + 2), g16(m + off + 4), tmp);
		} else if (r->type == DNS_T_TXT)
			snprintf(r->data, sizeof(r->data), "%.*s", m[off], m + off + 1);
		off += rdlen;
	}
	assert_int_equal(off, len);
	return &a;
}

static struct ans *ask_opt(const char *name, uint16_t type, uint16_t edns, bool tcp)
{
	uint8_t q[512], out[65535];
	size_t qlen = mkq(q, name, type, edns), n;
	struct ans *a;

	n = dns_respond(&zone, q, qlen, tcp, out, sizeof(out));
	assert_true(n > 0);
	a = parse(out, n);
	assert_int_equal(a->id, ID);
	assert_true(a->flags & 0x8000);	 /* QR */
	assert_true(a->flags & 0x0100);	 /* RD copied */
	assert_false(a->flags & 0x0080); /* no recursion available */
	assert_int_equal(a->qd, 1);
	return a;
}

static struct ans *ask(const char *name, uint16_t type)
{
	return ask_opt(name, type, 0, false);
}

#define RCODE(a) ((a)->flags & 0xf)

static void assert_rr(const struct ans *a, size_t i, uint16_t type, const char *data)
{
	assert_true(i < a->n);
	assert_int_equal(a->rr[i].type, type);
	assert_string_equal(a->rr[i].data, data);
}

/* NXDOMAIN or NODATA: no answer, the zone's SOA in the authority section */
static void assert_negative(const struct ans *a, int rcode)
{
	assert_int_equal(RCODE(a), rcode);
	assert_int_equal(a->an, 0);
	assert_int_equal(a->ns, 1);
	assert_int_equal(a->rr[0].type, DNS_T_SOA);
	assert_string_equal(a->rr[0].name, "cluster.local");
	assert_string_equal(a->rr[0].data, "ns.dns.cluster.local");
	assert_true(a->flags & 0x0400); /* AA */
}

/* ---- the records ---- */

static void test_cluster_ip(void **state)
{
	struct ans *a = ask("web.default.svc.cluster.local", DNS_T_A);

	(void)state;
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_true(a->flags & 0x0400);
	assert_int_equal(a->an, 1);
	assert_string_equal(a->rr[0].name, "web.default.svc.cluster.local");
	assert_rr(a, 0, DNS_T_A, "10.96.0.20");
}

static void test_headless(void **state)
{
	struct ans *a = ask("db.default.svc.cluster.local", DNS_T_A);

	(void)state;
	assert_int_equal(a->an, 3);
	assert_rr(a, 0, DNS_T_A, "10.244.0.5");
	assert_rr(a, 1, DNS_T_A, "10.244.0.6");
	assert_rr(a, 2, DNS_T_A, "10.244.0.7");
	/* an endpoint by hostname, one without by its dashed address */
	a = ask("db-1.db.default.svc.cluster.local", DNS_T_A);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_A, "10.244.0.6");
	a = ask("10-244-0-7.db.default.svc.cluster.local", DNS_T_A);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_A, "10.244.0.7");
	assert_negative(ask("db-9.db.default.svc.cluster.local", DNS_T_A), DNS_R_NXDOMAIN);
	/* a ClusterIP Service has no endpoint names */
	assert_negative(ask("db-0.web.default.svc.cluster.local", DNS_T_A), DNS_R_NXDOMAIN);
	/* no ready endpoint: the name exists, without records */
	assert_negative(ask("empty.default.svc.cluster.local", DNS_T_A), DNS_R_NOERROR);
}

static void test_srv(void **state)
{
	struct ans *a = ask("_http._tcp.web.default.svc.cluster.local", DNS_T_SRV);

	(void)state;
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_SRV, "0 100 80 web.default.svc.cluster.local");
	assert_int_equal(a->ar, 1);
	assert_string_equal(a->rr[1].name, "web.default.svc.cluster.local");
	assert_rr(a, 1, DNS_T_A, "10.96.0.20");
	/* headless: one per endpoint, the targets' addresses additional */
	a = ask("_mysql._tcp.db.default.svc.cluster.local", DNS_T_SRV);
	assert_int_equal(a->an, 3);
	assert_rr(a, 0, DNS_T_SRV, "0 33 3306 db-0.db.default.svc.cluster.local");
	assert_rr(a, 2, DNS_T_SRV, "0 33 3306 10-244-0-7.db.default.svc.cluster.local");
	assert_int_equal(a->ar, 3);
	assert_string_equal(a->rr[4].name, "db-1.db.default.svc.cluster.local");
	assert_rr(a, 4, DNS_T_A, "10.244.0.6");
	/* another protocol, an unknown port, A of an SRV name */
	assert_negative(ask("_http._udp.web.default.svc.cluster.local", DNS_T_SRV), DNS_R_NXDOMAIN);
	assert_negative(ask("_nope._tcp.web.default.svc.cluster.local", DNS_T_SRV), DNS_R_NXDOMAIN);
	assert_negative(ask("_http._tcp.web.default.svc.cluster.local", DNS_T_A), DNS_R_NOERROR);
}

static void test_external_name(void **state)
{
	struct ans *a = ask("ext.default.svc.cluster.local", DNS_T_A);

	(void)state;
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_CNAME, "example.com");
}

static void test_ptr(void **state)
{
	struct ans *a = ask("20.0.96.10.in-addr.arpa", DNS_T_PTR);

	(void)state;
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_rr(a, 0, DNS_T_PTR, "web.default.svc.cluster.local");
	assert_int_equal(RCODE(ask("21.0.96.10.in-addr.arpa", DNS_T_PTR)), DNS_R_REFUSED);
	assert_int_equal(RCODE(ask("300.0.96.10.in-addr.arpa", DNS_T_PTR)), DNS_R_REFUSED);
}

static void test_zone_names(void **state)
{
	struct ans *a = ask("cluster.local", DNS_T_SOA);

	(void)state;
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_SOA, "ns.dns.cluster.local");
	a = ask("dns-version.cluster.local", DNS_T_TXT);
	assert_rr(a, 0, DNS_T_TXT, DNS_SPEC_VERSION);
	assert_negative(ask("svc.cluster.local", DNS_T_A), DNS_R_NOERROR);
	assert_negative(ask("default.svc.cluster.local", DNS_T_A), DNS_R_NOERROR);
	assert_negative(ask("other.svc.cluster.local", DNS_T_A), DNS_R_NXDOMAIN);
}

static void test_nxdomain_nodata(void **state)
{
	(void)state;
	assert_negative(ask("missing.default.svc.cluster.local", DNS_T_A), DNS_R_NXDOMAIN);
	assert_negative(ask("web.other.svc.cluster.local", DNS_T_A), DNS_R_NXDOMAIN);
	assert_negative(ask("web.default.pod.cluster.local", DNS_T_A), DNS_R_NXDOMAIN);
	assert_negative(ask("a.b.web.default.svc.cluster.local", DNS_T_A), DNS_R_NXDOMAIN);
	/* an IPv4-only Service asked AAAA: NODATA */
	assert_negative(ask("web.default.svc.cluster.local", DNS_T_AAAA), DNS_R_NOERROR);
	assert_negative(ask("db.default.svc.cluster.local", DNS_T_AAAA), DNS_R_NOERROR);
}

static void test_outside(void **state)
{
	struct ans *a = ask("example.com", DNS_T_A);

	(void)state;
	assert_int_equal(RCODE(a), DNS_R_REFUSED);
	assert_int_equal(a->an + a->ns + a->ar, 0);
	assert_false(a->flags & 0x0400);
	/* a suffix that is not the domain's labels */
	assert_int_equal(RCODE(ask("web.default.svc.xcluster.local", DNS_T_A)), DNS_R_REFUSED);
}

static void test_case(void **state)
{
	struct ans *a = ask("WeB.DeFault.SVC.Cluster.LOCAL", DNS_T_A);

	(void)state;
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_A, "10.96.0.20");
}

/* The question comes right after the header, so a pointer in it can only go forward or
 * into itself: both refused (FORMERR), never followed into a loop. */
static void test_compressed_question(void **state)
{
	uint8_t q[64], out[4096];
	size_t n;

	(void)state;
	memset(q, 0, sizeof(q));
	q[0] = ID >> 8;
	q[1] = ID & 0xff;
	q[2] = 1;
	q[5] = 1;
	/* web.default.svc + a pointer forward to "cluster.local" at 34 */
	memcpy(q + 12,
	       "\x03web\x07"
	       "default\x03svc\xc0\x22",
	       18);
	q[31] = DNS_T_A;
	q[33] = 1;
	memcpy(q + 34,
	       "\x07"
	       "cluster\x05local",
	       15);
	n = dns_respond(&zone, q, 50, false, out, sizeof(out));
	assert_int_equal(RCODE(parse(out, n)), DNS_R_FORMERR);
	/* ... and back to the question's own start: a loop */
	q[29] = 0xc0;
	q[30] = 0x0c;
	n = dns_respond(&zone, q, 50, false, out, sizeof(out));
	assert_int_equal(RCODE(parse(out, n)), DNS_R_FORMERR);
}

/* A compressed name the parser must follow: the additional section's OPT-less record owner
 * pointing back at the question's suffix (a valid query with an extra record). */
static void test_compressed_additional(void **state)
{
	uint8_t q[512], out[4096];
	size_t qlen, n;
	struct ans *a;

	(void)state;
	qlen = mkq(q, "web.default.svc.cluster.local", DNS_T_A, 0);
	q[11] = 1; /* one additional record: owner = pointer to "default..." (offset 16) */
	q[qlen++] = 0xc0;
	q[qlen++] = 16;
	q[qlen++] = 0;
	q[qlen++] = DNS_T_TXT;
	q[qlen++] = 0;
	q[qlen++] = 1;
	memset(q + qlen, 0, 4);
	qlen += 4;
	q[qlen++] = 0;
	q[qlen++] = 2; /* rdlength 2 */
	q[qlen++] = 1;
	q[qlen++] = 'x';
	n = dns_respond(&zone, q, qlen, false, out, sizeof(out));
	a = parse(out, n);
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_rr(a, 0, DNS_T_A, "10.96.0.20");
}

static void test_edns_and_truncation(void **state)
{
	struct ans *a;

	(void)state;
	/* 100 A records: over 512 bytes without EDNS0: TC, the question only */
	a = ask("big.default.svc.cluster.local", DNS_T_A);
	assert_true(a->flags & 0x0200);
	assert_int_equal(a->an + a->ns + a->ar, 0);
	/* with EDNS0 offering 4096: all of them, and our OPT */
	a = ask_opt("big.default.svc.cluster.local", DNS_T_A, 4096, false);
	assert_false(a->flags & 0x0200);
	assert_int_equal(a->an, 100);
	assert_int_equal(a->ar, 1);
	assert_int_equal(a->rr[100].type, DNS_T_OPT);
	/* EDNS0 offering less than 512: 512 still; truncated, OPT kept */
	a = ask_opt("big.default.svc.cluster.local", DNS_T_A, 100, false);
	assert_true(a->flags & 0x0200);
	assert_int_equal(a->an, 0);
	assert_int_equal(a->ar, 1);
	/* TCP: everything */
	a = ask_opt("big.default.svc.cluster.local", DNS_T_A, 0, true);
	assert_false(a->flags & 0x0200);
	assert_int_equal(a->an, 100);
	/* a small answer with EDNS0: OPT echoed */
	a = ask_opt("web.default.svc.cluster.local", DNS_T_A, 1232, false);
	assert_int_equal(a->an, 1);
	assert_int_equal(a->ar, 1);
}

/* ---- malformed ---- */

static size_t respond(const uint8_t *q, size_t qlen, uint8_t *out)
{
	return dns_respond(&zone, q, qlen, false, out, 4096);
}

static void assert_formerr(const uint8_t *q, size_t qlen)
{
	uint8_t out[4096];
	size_t n = respond(q, qlen, out);
	struct ans *a;

	assert_int_equal(n, 12);
	a = parse(out, n);
	assert_int_equal(a->id, ID);
	assert_int_equal(RCODE(a), DNS_R_FORMERR);
}

static void test_malformed(void **state)
{
	uint8_t q[1024], out[4096];
	size_t qlen;

	(void)state;
	/* shorter than a header: dropped */
	qlen = mkq(q, "web.default.svc.cluster.local", DNS_T_A, 0);
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(respond(q, i, out), 0);
	/* cut anywhere inside the question */
	for (size_t i = 12; i < qlen; i++)
		assert_formerr(q, i);
	/* a label longer than the message */
	q[12] = 60;
	assert_formerr(q, qlen);
	/* extended label types 0x40, 0x80 */
	q[12] = 0x43;
	assert_formerr(q, qlen);
	q[12] = 0x83;
	assert_formerr(q, qlen);
	/* a pointer to itself, a forward pointer, a loop of two pointers */
	q[12] = 0xc0;
	q[13] = 12;
	assert_formerr(q, qlen);
	q[13] = 40;
	assert_formerr(q, qlen);
	qlen = mkq(q, "a.b", DNS_T_A, 0);
	q[12 + 2] = 0xc0; /* "a" then a pointer to 12: "a" again, forever */
	q[12 + 3] = 12;
	assert_formerr(q, qlen);
	/* a name over 255 bytes: 5 labels of 63 */
	{
		char name[400] = "";

		for (int i = 0; i < 5; i++) {
			strcat(name, i ? "." : "");
			memset(name + strlen(name), 'a', 63);
			name[strlen(name) + 63] = 0;
		}
		qlen = mkq(q, name, DNS_T_A, 0);
		assert_formerr(q, qlen);
	}
	/* QDCOUNT 0 and 2 */
	qlen = mkq(q, "web.default.svc.cluster.local", DNS_T_A, 0);
	q[5] = 0;
	assert_formerr(q, qlen);
	q[5] = 2;
	assert_formerr(q, qlen);
	q[5] = 1;
	/* an additional record past the end, two OPTs */
	q[11] = 1;
	assert_formerr(q, qlen);
	qlen = mkq(q, "web.default.svc.cluster.local", DNS_T_A, 1232);
	memcpy(q + qlen, q + qlen - 11, 11);
	q[11] = 2;
	assert_formerr(q, qlen + 11);
	/* a response is not answered; another opcode is NOTIMP */
	qlen = mkq(q, "web.default.svc.cluster.local", DNS_T_A, 0);
	q[2] |= 0x80;
	assert_int_equal(respond(q, qlen, out), 0);
	q[2] = 0x01 | (2 << 3); /* opcode 2 (STATUS) */
	assert_int_equal(respond(q, qlen, out), 12);
	assert_int_equal(out[3] & 0xf, DNS_R_NOTIMP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cluster_ip),
	    cmocka_unit_test(test_headless),
	    cmocka_unit_test(test_srv),
	    cmocka_unit_test(test_external_name),
	    cmocka_unit_test(test_ptr),
	    cmocka_unit_test(test_zone_names),
	    cmocka_unit_test(test_nxdomain_nodata),
	    cmocka_unit_test(test_outside),
	    cmocka_unit_test(test_case),
	    cmocka_unit_test(test_compressed_question),
	    cmocka_unit_test(test_compressed_additional),
	    cmocka_unit_test(test_edns_and_truncation),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
