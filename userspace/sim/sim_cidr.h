/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_cidr: IPv4 networks and the allocator `drover sim` hands out addresses with, as
 * kube-controller-manager's range allocator hands out podCIDRs (one block of the cluster CIDR
 * per node) and a CNI's host-local IPAM hands out pod IPs (one address of the node's podCIDR
 * per pod, next-fit so a freed address is not reused at once). Pure: no I/O, no locks (the
 * caller serialises).
 */
#ifndef DROVER_SIM_CIDR_H
#define DROVER_SIM_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/* "A.B.C.D/P" into n (host bits cleared, as net.ParseCIDR masks them). 0 or -EINVAL. */
int sim_net_parse(const char *s, struct sim_net *n);
/* "A.B.C.D" into *ip (host order). 0 or -EINVAL. */
int sim_ip_parse(const char *s, uint32_t *ip);
/* Dotted quad of ip into buf (16 bytes). */
const char *sim_ip_str(uint32_t ip, char *buf);
/* "A.B.C.D/P" of n into buf (19 bytes). */
const char *sim_net_str(const struct sim_net *n, char *buf);
bool sim_net_contains(const struct sim_net *n, uint32_t ip);

/* Equal blocks of /block inside net, indices [lo, hi] allocatable. */
struct sim_ranges {
	struct sim_net net;
	unsigned block;
	uint64_t lo, hi; /* allocatable block indices */
	uint64_t used;	 /* blocks taken within [lo, hi] */
	uint64_t cursor; /* next-fit: where the next search starts */
	uint64_t *bits;
};

/* Blocks of net.prefix..block (block >= net.prefix, at most 2^24 blocks); first and last
 * reserve that many blocks at either end (the network and gateway addresses of a pod range,
 * its broadcast address). 0, -EINVAL, -ENOMEM. */
int sim_ranges_init(struct sim_ranges *r, const struct sim_net *net, unsigned block, unsigned first,
		    unsigned last);
void sim_ranges_free(struct sim_ranges *r);
/* Blocks that can be handed out in all, and still free. */
uint64_t sim_ranges_size(const struct sim_ranges *r);
uint64_t sim_ranges_free_count(const struct sim_ranges *r);
/* Mark the block that holds addr taken: 0, -EEXIST (it was), -ERANGE (not allocatable). */
int sim_ranges_take(struct sim_ranges *r, uint32_t addr);
/* The first address of a free block, next-fit: 0 or -ENOSPC. */
int sim_ranges_alloc(struct sim_ranges *r, uint32_t *addr);
/* Give the block that holds addr back (nothing if it is not taken or not in range). */
void sim_ranges_release(struct sim_ranges *r, uint32_t addr);
bool sim_ranges_taken(const struct sim_ranges *r, uint32_t addr);

#endif
