/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_alloc: the Service ClusterIP range (10.96.0.0/16 by default; .1 is the kubernetes
 * Service's) and the NodePort range (30000-32767), allocated in the store so that every API
 * server over one store agrees: each address or port taken is a key of its own
 * (/registry/ranges/serviceips/<ip>, /registry/ranges/servicenodeports/<port>) created with
 * create-if-absent, so two servers can never hand out the same one; released by deleting the
 * key. An in-memory bitmap per range is only a hint of what is taken (to pick candidates
 * without a store round trip per value); the store decides. Thread-safe.
 *
 * A write that takes values and then fails releases them; a crash between taking and storing
 * the Service leaves a key no Service holds: api_alloc_repair (run at start) releases those
 * older than a minute and re-takes the values stored Services hold without a key (stores
 * written before allocations lived in the store).
 */
#ifndef DROVER_API_ALLOC_H
#define DROVER_API_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct api_alloc;

/* Ranges over st (borrowed). 0, -EINVAL (bad CIDR or port range), -ENOMEM. */
int api_alloc_new(struct store *st, const char *cidr, int port_lo, int port_hi,
		  struct api_alloc **out);
void api_alloc_free(struct api_alloc *a);

/* Take an address for owner ("ns/name"): want NULL or "" for any free one (written to out, 16
 * bytes), else that one. dry_run: only check. 0, -EEXIST (held), -ERANGE (outside the range),
 * -EINVAL (not an IPv4 address), -ENOSPC (range full), or a store error. */
int api_alloc_ip(struct api_alloc *a, const char *want, const char *owner, bool dry_run, char *out);
void api_alloc_ip_release(struct api_alloc *a, const char *ip);
/* "10.96.0.0/16" */
const char *api_alloc_cidr(const struct api_alloc *a);
/* The n-th address of the range as text ("10.96.0.1" for n = 1). */
void api_alloc_ip_nth(const struct api_alloc *a, uint32_t n, char *out);

/* Take a NodePort: want 0 for any free one. 0, -EEXIST, -ERANGE, -ENOSPC, a store error. */
int api_alloc_port(struct api_alloc *a, int want, const char *owner, bool dry_run, int *out);
void api_alloc_port_release(struct api_alloc *a, int port);
void api_alloc_port_range(const struct api_alloc *a, int *lo, int *hi);

/* What one stored Service holds, for repair. */
struct api_alloc_holder {
	const char *owner; /* "ns/name" */
	const char *ip;	   /* NULL or "None" for none */
	const int *ports;
	size_t nports;
};

/* Reconcile the ranges with the Services that hold values: keys nobody holds, older than
 * min_age_s, are released; values held without a key are taken (a value held by two Services
 * is logged). Loads the hint bitmaps. 0 or a store error. */
int api_alloc_repair(struct api_alloc *a, const struct api_alloc_holder *h, size_t n,
		     unsigned min_age_s);

#endif
