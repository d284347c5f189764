/* SPDX-License-Identifier: Apache-2.0 */
/* dns_testlib: DNS queries built and answers read for the cluster DNS's tests (dns_testlib.h). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent_dns.h"
#include "dns_testlib.h"

/* ---- queries ---- */

/* A query for name (dotted) and type; edns: an OPT record offering that payload size. */
size_t mkq(uint8_t *q, const char *name, uint16_t type, uint16_t edns)
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

struct ans *parse(const uint8_t *m, size_t len)
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

void assert_rr(const struct ans *a, size_t i, uint16_t type, const char *data)
{
	assert_true(i < a->n);
	assert_int_equal(a->rr[i].type, type);
	assert_string_equal(a->rr[i].data, data);
}
