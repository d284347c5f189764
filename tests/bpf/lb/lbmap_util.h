/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbmap_util.h: what the tests that drive lbmap directly (test_lbmap.c, test_fullmap.c)
 * build frontends with and read the service maps back by. After fixture.h.
 */
#ifndef DROVER_TEST_LBMAP_UTIL_H
#define DROVER_TEST_LBMAP_UTIL_H

#include "drover_abi.h"
#include "fixture.h"

#include <stdbool.h>
#include <string.h>

/* Maps small enough to fill: a test changes the one it fills. */
static const struct dp_map_sizes lbmap_small_sizes = {.svc = 1024,
						      .backend = 1024,
						      .revnat = 1024,
						      .ct = 1024,
						      .affinity = 1024,
						      .sock_rnat = 1024,
						      .maglev_outer = 64,
						      .stats = 1024,
						      .endpoint = 64};

/* Frontend vip:80/TCP (host order) with n backends be_first+i:8080/TCP (host order) in bes. */
static inline void fe_build(struct lb_frontend *fe, struct lb_backend *bes, uint32_t vip,
			    uint16_t flags, int n, uint32_t be_first)
{
	memset(fe, 0, sizeof(*fe));
	fe->key.addr = htonl(vip);
	fe->key.port = htons(80);
	fe->key.proto = DRV_PROTO_TCP;
	fe->flags = flags;
	for (int b = 0; b < n; b++) {
		bes[b] = (struct lb_backend){.addr = htonl(be_first + (uint32_t)b),
					     .port = htons(8080),
					     .proto = DRV_PROTO_TCP};
	}
	fe->nbackends = (size_t)n;
	fe->backends = bes;
}

/* The master entry of frontend fk (external scope) into *v; false when there is none. */
static inline bool master_of(const struct lb_fe_key *fk, struct drv_svc_val *v)
{
	struct drv_svc_key k = {.addr = fk->addr, .dport = fk->port, .proto = fk->proto};

	return bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, v) == 0;
}

/* Entries in one of the dataplane's hash maps (keys of ksz bytes). */
static inline size_t map_count(enum dp_map which, size_t ksz)
{
	int fd = dp_map_fd(F.dp, which);
	unsigned char k[64], next[64];
	bool have = false;
	size_t n = 0;

	while (ksz <= sizeof(k) && bpf_map_get_next_key(fd, have ? k : NULL, next) == 0) {
		memcpy(k, next, ksz);
		have = true;
		n++;
	}
	return n;
}

#endif
