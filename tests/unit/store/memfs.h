/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memfs: an in-memory store_io with simulated crashes, the test double under the store's log.
 *
 * Every file has volatile contents (what the process sees) and durable contents (what
 * survives a crash): an fsync/fdatasync makes a file's contents durable, a directory sync
 * makes the names durable (creates, renames, unlinks). At a chosen operation the "machine
 * dies": that operation and every later write, sync or directory change fails with -EIO and
 * has no effect. memfs_crash_image() then builds what a reboot would find: the durable names
 * and contents, plus a torn version of each file's last unsynced write (a random prefix,
 * sometimes followed by garbage).
 */
#ifndef DROVER_TEST_MEMFS_H
#define DROVER_TEST_MEMFS_H

#include "store_io.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct memfs;

struct memfs *memfs_new(uint64_t seed);
void memfs_free(struct memfs *fs);
struct store_io *memfs_io(struct memfs *fs);

/* Crash at the n-th mutating operation from now (1 = the next one); 0 = never. */
void memfs_crash_after(struct memfs *fs, uint64_t n);
bool memfs_crashed(struct memfs *fs);

/* Holds every sync (fsync/fdatasync) at a gate until opened again: a test can look at the
 * store while a write is stuck in its sync. memfs_wait_gated() waits until n syncs are held. */
void memfs_gate_syncs(struct memfs *fs, bool closed);
void memfs_wait_gated(struct memfs *fs, int n);

/* A new memfs holding what survives a crash now (see above). */
struct memfs *memfs_crash_image(struct memfs *fs);

/* Creates or replaces a durable file. */
int memfs_put(struct memfs *fs, const char *name, const void *data, size_t len);
/* Calls fn for every durable file with its durable contents, all under one lock (a consistent
 * view while the store keeps working); stops when fn returns true, and returns that. */
bool memfs_durable_any(struct memfs *fs,
		       bool (*fn)(void *ctx, const char *name, const uint8_t *data, size_t len),
		       void *ctx);
/* Durable names, one malloc'd block like store_io_ops.list. */
int memfs_durable_names(struct memfs *fs, char ***names, size_t *n);

#endif
