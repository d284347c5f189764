/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_store_recovery: recovery of the embedded store from arbitrary files. The input is
 * turned into a data directory on the in-memory I/O double (first byte: layout) and the
 * store is opened on it. Opening may fail with a clear error; it must never crash, leak or
 * hang, and a store that opens must be self-consistent (keys strictly ordered, counts and
 * revisions agree, compacted no further than its revision), writable, and recover to the
 * same revision a second time, compacted at least as far (a logged compaction is kept).
 *   layout 0: the input is wal-0000000000000001.log
 *   layout 1: u16 split, then a snapshot (named after the revision in its header) and the
 *             log segment that follows it
 *   layout 2: u16 split, then two log segments (the second named after the first's end)
 */
#include "log.h"
#include "memfs.h"
#include "store.h"
#include "wal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void layout(struct memfs *fs, const uint8_t *d, size_t n)
{
	char name[64];
	size_t split;
	uint64_t rev = 0;

	if (n == 0)
		return;
	if (d[0] % 3 == 0 || n < 3) {
		memfs_put(fs, "wal-0000000000000001.log", d + 1, n - 1);
		return;
	}
	split = (size_t)(d[1] | d[2] << 8);
	d += 3;
	n -= 3;
	if (split > n)
		split = n;
	if (d[-3] % 3 == 1) {
		if (split >= 16)
			rev = le64(d + 8);
		snprintf(name, sizeof(name), "snap-%016" PRIx64 ".snap", rev);
		memfs_put(fs, name, d, split);
	} else {
		int64_t off = 0, m;
		struct srec *r;

		memfs_put(fs, "wal-0000000000000001.log", d, split);
		/* The second segment starts after the last good record of the first. */
		while ((m = wal_decode(d + off, split - (size_t)off, &r)) > 0) {
			rev = r->rev;
			sref_put(&r->ref);
			off += m;
		}
	}
	snprintf(name, sizeof(name), "wal-%016" PRIx64 ".log", rev + 1);
	memfs_put(fs, name, d + split, n - split);
}

static struct store *open_on(struct memfs *fs)
{
	struct store_embedded_opts o = {
	    .sz = sizeof(o), .io = memfs_io(fs), .history = 8, .snapshot_bytes = 1 << 20};
	struct store *s = NULL;

	if (store_open_embedded(&o, &s))
		return NULL;
	return s;
}

static void check(struct store *s)
{
	struct store_list_opts lo = {0};
	struct store_list l;
	struct store_stats st;
	uint64_t rev = store_revision(s);

	if (store_list(s, &lo, &l))
		abort();
	store_get_stats(s, &st);
	if (l.count != st.keys || l.rev != rev || store_compacted_revision(s) > rev)
		abort();
	for (size_t i = 0; i < l.count; i++) {
		struct store_kv *a = &l.items[i], *b = &l.items[i - (i > 0)];
		size_t m = a->key_len < b->key_len ? a->key_len : b->key_len;

		if (a->mod_rev > rev || a->create_rev > a->mod_rev || a->mod_rev == 0)
			abort();
		if (i && (memcmp(b->key, a->key, m) > 0 ||
			  (memcmp(b->key, a->key, m) == 0 && b->key_len >= a->key_len)))
			abort();
	}
	store_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memfs *fs = memfs_new(1);
	struct store *s;
	uint64_t rev, compacted;

	log_set_level(LOG_ERROR); /* not a warning per corrupt input */
	layout(fs, data, size);
	s = open_on(fs);
	if (s) {
		check(s);
		rev = store_revision(s);
		if (store_create(s, "\xff\xfe", 2, "x", 1, NULL) == 0)
			rev++;
		if (rev)
			store_compact(s, rev); /* logged: the second open comes back compacted */
		compacted = store_compacted_revision(s);
		store_close(s);
		s = open_on(fs);
		if (!s || store_revision(s) != rev || store_compacted_revision(s) < compacted)
			abort();
		check(s);
		store_close(s);
	}
	memfs_free(fs);
	return 0;
}
