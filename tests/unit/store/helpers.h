/* SPDX-License-Identifier: Apache-2.0 */
/* helpers: shared by the store's tests: temp dirs, deterministic values, opening stores. */
#ifndef DROVER_TEST_STORE_HELPERS_H
#define DROVER_TEST_STORE_HELPERS_H

#include "memfs.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value that is a pure function of (key id, version) so that recovery can be checked. */
static inline size_t test_value(uint64_t id, uint64_t ver, uint8_t *buf, size_t max)
{
	uint64_t x = id * 0x9e3779b97f4a7c15ull + ver * 0xbf58476d1ce4e5b9ull + 1;
	size_t n = (size_t)(x % (max + 1));

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	return n;
}

static inline struct store *test_open_mem(struct memfs *fs, size_t history, uint64_t snap_bytes)
{
	struct store_embedded_opts o = {
	    .sz = sizeof(o), .io = memfs_io(fs), .history = history, .snapshot_bytes = snap_bytes};
	struct store *s = NULL;
	int err = store_open_embedded(&o, &s);

	if (err)
		fprintf(stderr, "store_open_embedded: %s\n", store_strerror(err));
	return s;
}

static inline struct store *test_open_dir(const char *dir, uint64_t snap_bytes, int *err_out)
{
	struct store_embedded_opts o = {.sz = sizeof(o), .dir = dir, .snapshot_bytes = snap_bytes};
	struct store *s = NULL;
	int err = store_open_embedded(&o, &s);

	if (err_out)
		*err_out = err;
	return s;
}

static inline char *test_tmpdir(const char *base)
{
	char *d = malloc(256);

	snprintf(d, 256, "%s/drover-store-XXXXXX", base);
	if (!mkdtemp(d)) {
		perror("mkdtemp");
		free(d);
		return NULL;
	}
	return d;
}

static inline void test_rmrf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* Removes and forgets a test's directory (teardowns: also after a failed assertion). */
static inline void test_dir_drop(char **dir)
{
	if (*dir)
		test_rmrf(*dir);
	free(*dir);
	*dir = NULL;
}

#endif
