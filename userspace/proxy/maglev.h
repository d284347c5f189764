/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maglev: consistent hashing tables (Eisenbud et al., "Maglev", NSDI 2016, §3.4). Each
 * backend gets a permutation of the M table slots from two hashes of its identity; backends
 * take turns claiming their next preferred free slot. Every node computes the same table
 * from the same backend set, so a flow lands on the same backend wherever it enters, and
 * removing one backend moves only about 1/N of the flows.
 */
#ifndef DROVER_MAGLEV_H
#define DROVER_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

/* The table sizes drover uses: primes, so that every skip value is coprime with M. */
extern const uint32_t maglev_primes[];
extern const size_t maglev_nprimes;

/* Smallest listed prime >= 100 * nbackends (the paper's M >> N), at least 251 and at most
 * max_size (itself rounded down to a listed prime). Memory per frontend stays bounded by
 * its own backend count. */
uint32_t maglev_table_size(size_t nbackends, uint32_t max_size);
/* True if m is one of the accepted table sizes. */
int maglev_size_valid(uint32_t m);

/* Fill table[0..m-1] with indexes into keys[0..n-1]; keys identify backends (e.g.
 * "10.0.0.1:8080/TCP") and must be distinct. Returns 0, -EINVAL (n == 0 or m not prime
 * enough) or -ENOMEM. */
int maglev_build(const char *const *keys, size_t n, uint32_t m, uint32_t *table);

#endif
