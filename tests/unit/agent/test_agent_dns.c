/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster DNS's core (agent_dns.h) over a fixed set of Services: each record type of the
 * Kubernetes DNS specification and of CoreDNS's default Corefile (pods insecure, PTR of
 * cluster IPs and endpoints), NXDOMAIN and NODATA with the SOA, names in any case,
 * compressed questions, EDNS0, truncation; malformed queries (short header, bad label
 * lengths, pointer loops, forward pointers, overlong names) answered FORMERR or dropped;
 * which names a forwarding zone hands upstream (DNS_FORWARD), and the helpers that turn an
 * upstream's reply into the client's answer.
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
#include "dns_testlib.h"

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

/* db's endpoints (10.244.0.6 is also an endpoint of web, as if it backed both) */
static size_t fake_eps_by_ip(void *arg, uint32_t ip, struct dns_ep_ref *out, size_t max)
{
	size_t n = 0;

	(void)arg;
	if (max < 2)
		return 0;
	if (ip == ip4("10.244.0.6")) {
		out[n++] = (struct dns_ep_ref){"default", "db", "db-1"};
		out[n++] = (struct dns_ep_ref){"default", "web", ""};
	} else if (ip == ip4("10.244.0.7")) {
		out[n++] = (struct dns_ep_ref){"default", "db", ""};
	} else if (ip == ip4("10.96.0.20")) {
		out[n++] = (struct dns_ep_ref){"default", "shadow", ""}; /* the cluster IP wins */
	}
	return n;
}

static const struct dns_zone zone = {
    .domain = "cluster.local",
    .src = {.service = fake_service,
	    .service_by_ip = fake_by_ip,
	    .endpoints_by_ip = fake_eps_by_ip},
};

/* the same, forwarding what is not ours */
static const struct dns_zone fwd_zone = {
    .domain = "cluster.local",
    .src = {.service = fake_service,
	    .service_by_ip = fake_by_ip,
	    .endpoints_by_ip = fake_eps_by_ip},
    .forward = true,
};

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
	/* SRV of a Service's own name: every port, named or not (CoreDNS), the address once */
	a = ask("web.default.svc.cluster.local", DNS_T_SRV);
	assert_int_equal(a->an, 2);
	assert_rr(a, 0, DNS_T_SRV, "0 50 80 web.default.svc.cluster.local");
	assert_rr(a, 1, DNS_T_SRV, "0 50 8080 web.default.svc.cluster.local");
	assert_int_equal(a->ar, 1);
	assert_rr(a, 2, DNS_T_A, "10.96.0.20");
	a = ask("db.default.svc.cluster.local", DNS_T_SRV);
	assert_int_equal(a->an, 3);
	assert_rr(a, 1, DNS_T_SRV, "0 33 3306 db-1.db.default.svc.cluster.local");
	assert_int_equal(a->ar, 3);
	/* ... and of an endpoint's name: its ports */
	a = ask("db-1.db.default.svc.cluster.local", DNS_T_SRV);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_SRV, "0 100 3306 db-1.db.default.svc.cluster.local");
	assert_int_equal(a->ar, 1);
	assert_rr(a, 1, DNS_T_A, "10.244.0.6");
	assert_negative(ask("empty.default.svc.cluster.local", DNS_T_SRV), DNS_R_NOERROR);
	assert_rr(ask("ext.default.svc.cluster.local", DNS_T_SRV), 0, DNS_T_CNAME, "example.com");
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
	assert_int_equal(a->an, 1); /* the Service only, not the endpoint that has its address */
	assert_rr(a, 0, DNS_T_PTR, "web.default.svc.cluster.local");
	assert_int_equal(RCODE(ask("21.0.96.10.in-addr.arpa", DNS_T_PTR)), DNS_R_REFUSED);
	assert_int_equal(RCODE(ask("300.0.96.10.in-addr.arpa", DNS_T_PTR)), DNS_R_REFUSED);
	/* endpoints (CoreDNS's serviceRecordForIP): by hostname, else dashed; one per Service */
	a = ask("6.0.244.10.in-addr.arpa", DNS_T_PTR);
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_true(a->flags & 0x0400);
	assert_int_equal(a->an, 2);
	assert_rr(a, 0, DNS_T_PTR, "db-1.db.default.svc.cluster.local");
	assert_rr(a, 1, DNS_T_PTR, "10-244-0-6.web.default.svc.cluster.local");
	a = ask("7.0.244.10.in-addr.arpa", DNS_T_PTR);
	assert_int_equal(a->an, 1);
	assert_rr(a, 0, DNS_T_PTR, "10-244-0-7.db.default.svc.cluster.local");
	/* the name exists: another type has no records */
	a = ask("7.0.244.10.in-addr.arpa", DNS_T_A);
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_int_equal(a->an, 0);
	/* an address of no endpoint */
	assert_int_equal(RCODE(ask("8.0.244.10.in-addr.arpa", DNS_T_PTR)), DNS_R_REFUSED);
}

/* pods insecure: <a-b-c-d>.<ns>.pod.D is the address it spells (CoreDNS findPods) */
static void test_pod(void **state)
{
	static const char *const not_ips[] = {
	    "10-244-1.default.pod.cluster.local",    "10-244-1-5-6.default.pod.cluster.local",
	    "010-244-1-5.default.pod.cluster.local", "10-256-1-5.default.pod.cluster.local",
	    "10-244-1-5a.default.pod.cluster.local", "10--244-1.default.pod.cluster.local",
	    "1000-1-1-1.default.pod.cluster.local",  "x.10-244-1-5.default.pod.cluster.local",
	};
	struct ans *a = ask("10-244-1-5.default.pod.cluster.local", DNS_T_A);

	(void)state;
	assert_int_equal(RCODE(a), DNS_R_NOERROR);
	assert_true(a->flags & 0x0400);
	assert_int_equal(a->an, 1);
	assert_string_equal(a->rr[0].name, "10-244-1-5.default.pod.cluster.local");
	assert_rr(a, 0, DNS_T_A, "10.244.1.5");
	a = ask("0-0-0-0.kube-system.pod.cluster.local", DNS_T_ANY);
	assert_rr(a, 0, DNS_T_A, "0.0.0.0");
	a = ask("255-255-255-255.any.pod.cluster.local", DNS_T_A);
	assert_rr(a, 0, DNS_T_A, "255.255.255.255");
	/* the name exists: AAAA and other types are NODATA */
	assert_negative(ask("10-244-1-5.default.pod.cluster.local", DNS_T_AAAA), DNS_R_NOERROR);
	assert_negative(ask("10-244-1-5.default.pod.cluster.local", DNS_T_TXT), DNS_R_NOERROR);
	/* the namespace and pod.D exist without records */
	assert_negative(ask("default.pod.cluster.local", DNS_T_A), DNS_R_NOERROR);
	assert_negative(ask("pod.cluster.local", DNS_T_A), DNS_R_NOERROR);
	/* not an address: too few or many parts, leading zeros, over 255, not digits */
	for (size_t i = 0; i < sizeof(not_ips) / sizeof(not_ips[0]); i++)
		assert_negative(ask(not_ips[i], DNS_T_A), DNS_R_NXDOMAIN);
}

/* Names that exist asked a type they have no record of: NOERROR, no answer, the SOA;
 * names that do not: NXDOMAIN, the SOA (CoreDNS's kubernetes plugin). */
static void test_other_types(void **state)
{
	static const uint16_t types[] = {DNS_T_AAAA, DNS_T_TXT,	  15 /* MX */,
					 DNS_T_NS,   DNS_T_CNAME, DNS_T_PTR};
	static const char *const exist[] = {
	    "web.default.svc.cluster.local",	 "db.default.svc.cluster.local",
	    "db-0.db.default.svc.cluster.local", "10-244-0-7.db.default.svc.cluster.local",
	    "default.svc.cluster.local",	 "svc.cluster.local",
	    "empty.default.svc.cluster.local",	 "_http._tcp.web.default.svc.cluster.local",
	};

	(void)state;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (size_t i = 0; i < sizeof(exist) / sizeof(exist[0]); i++)
			assert_negative(ask(exist[i], types[t]), DNS_R_NOERROR);
		assert_negative(ask("nope.default.svc.cluster.local", types[t]), DNS_R_NXDOMAIN);
		assert_negative(ask("x.cluster.local", types[t]), DNS_R_NXDOMAIN);
	}
	assert_negative(ask("dns-version.cluster.local", DNS_T_AAAA), DNS_R_NOERROR);
	/* the apex has SOA and NS only */
	assert_negative(ask("cluster.local", DNS_T_A), DNS_R_NOERROR);
	assert_negative(ask("cluster.local", DNS_T_AAAA), DNS_R_NOERROR);
	/* an ExternalName's CNAME answers every type */
	assert_rr(ask("ext.default.svc.cluster.local", DNS_T_AAAA), 0, DNS_T_CNAME, "example.com");
	assert_rr(ask("ext.default.svc.cluster.local", DNS_T_TXT), 0, DNS_T_CNAME, "example.com");
}

/* A forwarding zone answers its own names and hands the rest upstream. */
static void test_forward_verdict(void **state)
{
	static const char *const theirs[] = {
	    "example.com",
	    "web.default.svc.xcluster.local",
	    "21.0.96.10.in-addr.arpa", /* no Service, no endpoint: falls through */
	    "0.96.10.in-addr.arpa",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
	    "com",
	};
	uint8_t q[512], out[4096];
	size_t qlen;
	struct ans *a;

	(void)state;
	for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++) {
		qlen = mkq(q, theirs[i], DNS_T_A, 0);
		assert_int_equal(dns_respond(&fwd_zone, q, qlen, false, out, sizeof(out)),
				 DNS_FORWARD);
		assert_int_equal(dns_respond(&fwd_zone, q, qlen, true, out, sizeof(out)),
				 DNS_FORWARD);
		/* the same without forwarding: REFUSED */
		a = parse(out, dns_respond(&zone, q, qlen, false, out, sizeof(out)));
		assert_int_equal(RCODE(a), DNS_R_REFUSED);
	}
	/* ours: answered, also when they do not exist (no fallthrough for the domain) */
	qlen = mkq(q, "web.default.svc.cluster.local", DNS_T_A, 0);
	a = parse(out, dns_respond(&fwd_zone, q, qlen, false, out, sizeof(out)));
	assert_rr(a, 0, DNS_T_A, "10.96.0.20");
	qlen = mkq(q, "nope.default.svc.cluster.local", DNS_T_A, 0);
	assert_negative(parse(out, dns_respond(&fwd_zone, q, qlen, false, out, sizeof(out))),
			DNS_R_NXDOMAIN);
	qlen = mkq(q, "20.0.96.10.in-addr.arpa", DNS_T_PTR, 0);
	a = parse(out, dns_respond(&fwd_zone, q, qlen, false, out, sizeof(out)));
	assert_rr(a, 0, DNS_T_PTR, "web.default.svc.cluster.local");
	/* malformed queries are answered here, never forwarded */
	qlen = mkq(q, "example.com", DNS_T_A, 0);
	assert_int_equal(dns_respond(&fwd_zone, q, qlen - 1, false, out, sizeof(out)), 12);
	q[5] = 2;
	assert_int_equal(dns_respond(&fwd_zone, q, qlen, false, out, sizeof(out)), 12);
}

/* An upstream reply: the same question and ID, QR set; the client's ID put back; cut to
 * what the client takes over UDP. */
static void test_reply_helpers(void **state)
{
	uint8_t q[512], r[4096], out[4096];
	size_t qlen, rlen, n;
	struct ans *a;

	(void)state;
	qlen = mkq(q, "Example.COM", DNS_T_A, 0);
	/* a reply as an upstream writes it: the question in its own case, 40 A records */
	rlen = mkq(r, "example.com", DNS_T_A, 0);
	r[2] = 0x81;
	r[3] = 0x80; /* QR RD RA */
	for (int i = 0; i < 40; i++) {
		static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0,   1, 0, 0,
					     0,	   60,	 0, 4, 192, 0, 2, 0};

		memcpy(r + rlen, rr, sizeof(rr));
		r[rlen + 15] = (uint8_t)i;
		rlen += sizeof(rr);
	}
	r[7] = 40;
	assert_true(rlen > 512);
	assert_true(dns_reply_matches(q, qlen, r, rlen));
	/* another ID, no QR, another name, type or class, two questions, short: not ours */
	r[1] ^= 1;
	assert_false(dns_reply_matches(q, qlen, r, rlen));
	r[1] ^= 1;
	r[2] &= 0x7f;
	assert_false(dns_reply_matches(q, qlen, r, rlen));
	r[2] |= 0x80;
	r[13] = 'x';
	assert_false(dns_reply_matches(q, qlen, r, rlen));
	r[13] = 'e';
	r[26] = DNS_T_AAAA;
	assert_false(dns_reply_matches(q, qlen, r, rlen));
	r[26] = DNS_T_A;
	r[28] = 3;
	assert_false(dns_reply_matches(q, qlen, r, rlen));
	r[28] = 1;
	r[5] = 2;
	assert_false(dns_reply_matches(q, qlen, r, rlen));
	r[5] = 1;
	assert_false(dns_reply_matches(q, qlen, r, 20));
	assert_true(dns_reply_matches(q, qlen, r, rlen));

	/* the client's ID: whole over TCP and with EDNS0 room, else cut with TC */
	r[0] = 0x77;
	n = dns_reply_fit(q, qlen, true, r, rlen, out, sizeof(out));
	assert_int_equal(n, rlen);
	a = parse(out, n);
	assert_int_equal(a->id, ID);
	assert_int_equal(a->an, 40);
	assert_false(a->flags & 0x0200);
	n = dns_reply_fit(q, qlen, false, r, rlen, out, sizeof(out));
	a = parse(out, n);
	assert_int_equal(a->id, ID);
	assert_true(a->flags & 0x0200);
	assert_true(a->flags & 0x0080); /* the upstream's flags kept */
	assert_int_equal(a->qd, 1);
	assert_int_equal(a->an + a->ns + a->ar, 0);
	qlen = mkq(q, "example.com", DNS_T_A, 1232);
	n = dns_reply_fit(q, qlen, false, r, rlen, out, sizeof(out));
	assert_int_equal(n, rlen);
	assert_int_equal(parse(out, n)->an, 40);

	/* SERVFAIL with the question */
	n = dns_answer_rcode(q, qlen, DNS_R_SERVFAIL, out, sizeof(out));
	a = parse(out, n);
	assert_int_equal(a->id, ID);
	assert_int_equal(RCODE(a), DNS_R_SERVFAIL);
	assert_int_equal(a->qd, 1);
	assert_true(a->flags & 0x0100);
	assert_int_equal(dns_answer_rcode(q, 5, DNS_R_SERVFAIL, out, sizeof(out)), 0);
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
	    cmocka_unit_test(test_pod),
	    cmocka_unit_test(test_other_types),
	    cmocka_unit_test(test_forward_verdict),
	    cmocka_unit_test(test_reply_helpers),
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
