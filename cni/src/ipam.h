/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam: drover-cni's built-in IPv4 address allocator. One network's addresses live in a
 * state file DIR/state ("drover-cni-ipam 1 SUBNET last=ADDR", then one "ADDR CONTAINERID
 * IFNAME" line per allocation), written whole to a temporary file and renamed over the old
 * one (a crash leaves the old or the new state, never half of one). DIR/lock is held with
 * flock(LOCK_EX) from ipam_open to ipam_close, so concurrent plugin runs (ADDs of many pods
 * at once) are serialized and see each other's allocations.
 *
 * Addresses: the subnet's first host address is the gateway (the host side of every pod's
 * veth); pods get the second up to the last before broadcast, handed out round-robin after
 * the last one given (an address is not reused at once after its release).
 */
#ifndef DROVER_CNI_IPAM_H
#define DROVER_CNI_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPAM_ID_MAX	256 /* container IDs are longer in no runtime we know of */
#define IPAM_IFNAME_MAX 16

struct ipam_entry {
	uint32_t addr; /* host byte order */
	char id[IPAM_ID_MAX];
	char ifname[IPAM_IFNAME_MAX];
};

struct ipam {
	char *dir;
	int lock_fd;
	uint32_t net; /* host byte order */
	int prefixlen;
	uint32_t last;
	struct ipam_entry *e;
	size_t n, cap;
	bool dirty;
};

/* Parse "a.b.c.d/len" into a host-order network address (host bits must be zero) and
 * prefix length. 0 or -EINVAL. */
int ipam_parse_cidr(const char *s, uint32_t *net, int *prefixlen);
/* The same with host bits allowed (an interface address "10.244.1.5/24"). */
int ipam_parse_prefix(const char *s, uint32_t *addr, int *prefixlen);
void ipam_fmt_addr(uint32_t addr, char buf[16]);

/* Lock and load the state of the network whose state directory is DIR (created if absent,
 * parents included), for SUBNET net/prefixlen (/8 to /30). NULL with errno and a message
 * in err: EINVAL (bad subnet), EBADMSG (corrupt state file: which line and why), ESTALE
 * (the state file is for another subnet), or the errno of the failed file operation. */
struct ipam *ipam_open(const char *dir, uint32_t net, int prefixlen, char *err, size_t errlen);
/* Write the state back if it changed (fsync'd, renamed into place), unlock, free.
 * 0 or -errno (the state is unchanged on disk then). Accepts NULL. */
int ipam_close(struct ipam *p);
/* Unlock and free without writing. Accepts NULL. */
void ipam_abort(struct ipam *p);

uint32_t ipam_gateway(const struct ipam *p);
/* The address of (id, ifname): the one it holds already (*fresh false) or a new one (*fresh
 * true). 0 or -ENOSPC (no free address), -EINVAL (id or ifname unusable). */
int ipam_alloc(struct ipam *p, const char *id, const char *ifname, uint32_t *addr, bool *fresh);
/* The address (id, ifname) holds: 0 and *addr, or -ENOENT. */
int ipam_lookup(const struct ipam *p, const char *id, const char *ifname, uint32_t *addr);
/* Release what (id, ifname) holds; the number of addresses released (0 if none). */
int ipam_release(struct ipam *p, const char *id, const char *ifname);
/* Release entry i (for GC walking the entries from the end). */
void ipam_release_at(struct ipam *p, size_t i);
/* Number of free addresses. */
size_t ipam_free_count(const struct ipam *p);

#endif
