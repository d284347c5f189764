/* SPDX-License-Identifier: Apache-2.0 */
/* maglev: table population (Algorithm 1 of the Maglev paper). */
#include "maglev.h"
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const uint32_t maglev_primes[] = {251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071};
const size_t maglev_nprimes = sizeof(maglev_primes) / sizeof(maglev_primes[0]);

int maglev_size_valid(uint32_t m)
{
	for (size_t i = 0; i < maglev_nprimes; i++) {
		if (maglev_primes[i] == m)
			return 1;
	}
	return 0;
}

uint32_t maglev_table_size(size_t nbackends, uint32_t max_size)
{
	uint64_t want = (uint64_t)nbackends * 100;
	uint32_t cap = maglev_primes[0];

	for (size_t i = 0; i < maglev_nprimes; i++) {
		if (maglev_primes[i] <= max_size)
			cap = maglev_primes[i];
	}
	for (size_t i = 0; i < maglev_nprimes; i++) {
		if (maglev_primes[i] >= want || maglev_primes[i] >= cap)
			return maglev_primes[i] < cap ? maglev_primes[i] : cap;
	}
	return cap;
}

int maglev_build(const char *const *keys, size_t n, uint32_t m, uint32_t *table)
{
	uint32_t *offset, *skip, *next;
	size_t filled = 0;

	if (n == 0 || m < 2)
		return -EINVAL;
	offset = calloc(n, sizeof(*offset));
	skip = calloc(n, sizeof(*skip));
	next = calloc(n, sizeof(*next));
	if (!offset || !skip || !next) {
		free(offset);
		free(skip);
		free(next);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(keys[i]);
		uint64_t h1 = hmap_hash(keys[i], len);
		/* A second, independent hash: the same function over the key with a salt. */
		char salted[256];
		size_t sl = len < sizeof(salted) - 1 ? len : sizeof(salted) - 1;
		uint64_t h2;

		salted[0] = '#';
		memcpy(salted + 1, keys[i], sl);
		h2 = hmap_hash(salted, sl + 1);
		offset[i] = (uint32_t)(h1 % m);
		skip[i] = (uint32_t)(h2 % (m - 1)) + 1;
	}
	for (uint32_t j = 0; j < m; j++)
		table[j] = UINT32_MAX;
	while (filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			uint32_t c =
			    (uint32_t)(((uint64_t)offset[i] + (uint64_t)next[i] * skip[i]) % m);

			while (table[c] != UINT32_MAX) {
				next[i]++;
				c = (uint32_t)(((uint64_t)offset[i] + (uint64_t)next[i] * skip[i]) %
					       m);
			}
			table[c] = (uint32_t)i;
			next[i]++;
			filled++;
		}
	}
	free(offset);
	free(skip);
	free(next);
	return 0;
}
