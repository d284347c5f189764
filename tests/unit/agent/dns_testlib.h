/* SPDX-License-Identifier: Apache-2.0 */
/* dns_testlib: DNS queries built and answers read (trusted input: the answers under test),
 * for unit_agent_dns and unit_agent_dns_fwd. */
#ifndef DROVER_TEST_DNS_TESTLIB_H
#define DROVER_TEST_DNS_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#define ID	 0x1234
#define RCODE(a) ((a)->flags & 0xf)

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

/* A query (ID, RD) for name (dotted) and type into q; edns: an OPT record offering that
 * payload size. Its length. */
size_t mkq(uint8_t *q, const char *name, uint16_t type, uint16_t edns);
/* The message m read into a static struct ans (records of every section in order). */
struct ans *parse(const uint8_t *m, size_t len);
/* Record i of a is of type with data. */
void assert_rr(const struct ans *a, size_t i, uint16_t type, const char *data);

#endif
