/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_nomem: the embedded store (over memfs) out of memory. Each operation (create,
 * update, delete, list with pages, watch open and delivery) runs with its 1st, 2nd, ...
 * allocation failing (tests/lib/failalloc.h) until it succeeds; first counting only the
 * caller's allocations, then every thread's (the committer's too). A failed call returns
 * -ENOMEM and changes nothing (the revision, the key, what a watcher sees); a write that
 * returns success is readable and delivered to watchers, or a watcher whose queue could not
 * take it ends with -ENOMEM (never a silent gap); the store stays writable; nothing leaks
 * (the ASan build checks at exit). memfs's own allocations are not failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "failalloc.h"
#include "helpers.h"

#define SWEEP_MAX 10000
#define K(s)	  s, strlen(s)

struct fx {
	struct memfs *fs;
	struct store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->fs = memfs_new(1);
	f->s = f->fs ? test_open_mem(f->fs, 64, 0) : NULL;
	if (!f->s)
		return -1;
	/* some keys, and history */
	for (int i = 0; i < 6; i++) {
		char k[16], v[16];

		snprintf(k, sizeof(k), "/r/k%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		if (store_create(f->s, K(k), K(v), NULL) != 0)
			return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	failalloc_disarm();
	store_close(f->s);
	memfs_free(f->fs);
	free(f);
	return 0;
}

/* The value of key now, into buf ("" if absent); its mod_rev, 0 if absent. */
static uint64_t value_of(struct store *s, const char *key, char *buf, size_t len)
{
	struct store_kv kv;
	uint64_t rev;

	buf[0] = 0;
	if (store_get(s, K(key), 0, &kv) != 0)
		return 0;
	snprintf(buf, len, "%.*s", (int)kv.value_len, (const char *)kv.value);
	rev = kv.mod_rev;
	store_kv_release(&kv);
	return rev;
}

/* The store still takes writes (no sticky error from a failed allocation). */
static void assert_writable(struct store *s)
{
	struct store_stats st;

	assert_int_equal(store_get_stats(s, &st), 0);
	assert_int_equal(st.write_error, 0);
}

/* A sweep over one write: op is STORE_CREATE of /r/new, STORE_UPDATE or STORE_DELETE of
 * /r/k1. Each failing run restores nothing: it must have changed nothing. */
static unsigned long sweep_write(struct fx *f, enum store_write_op op, unsigned mode)
{
	const char *key = op == STORE_CREATE ? "/r/new" : "/r/k1";
	unsigned long n;

	for (n = 1; n < SWEEP_MAX; n++) {
		struct store_write w = {.op = op, .key = key, .key_len = strlen(key)};
		struct store_write_result res = {0};
		char before[64], after[64], value[32];
		uint64_t rev0 = store_revision(f->s), mod0 = value_of(f->s, key, before, 64);
		int rc;

		/* each attempt its own value: a failed one left in the log would come back on
		 * a restart in place of the one that succeeded */
		snprintf(value, sizeof(value), "changed-%lu", n);
		if (op != STORE_DELETE) {
			w.value = value;
			w.value_len = strlen(value);
		}
		w.expect_rev = op == STORE_CREATE ? 0 : mod0;
		failalloc_arm(n, mode);
		rc = store_write(f->s, &w, &res);
		failalloc_disarm();
		store_kv_release(&res.prev);
		if (rc == 0) {
			/* done: visible, one revision more */
			assert_int_equal(store_revision(f->s), rev0 + 1);
			assert_int_equal(value_of(f->s, key, after, 64) != 0, op != STORE_DELETE);
			if (op != STORE_DELETE)
				assert_string_equal(after, value);
			if (!failalloc_fired())
				break;
			continue; /* a failure the store absorbed (a cache, a retry): fine */
		}
		if (!failalloc_fired())
			fail_msg("write failed with %d without an allocation failure", rc);
		assert_int_equal(rc, -ENOMEM);
		assert_int_equal(store_revision(f->s), rev0);
		assert_int_equal(value_of(f->s, key, after, 64), mod0);
		assert_string_equal(after, before);
		assert_writable(f->s);
	}
	assert_true(n < SWEEP_MAX);
	return n;
}

/* The log holds what memory holds: a restart recovers the same state (the records of writes
 * that failed after reaching the log were cut from it). */
static void assert_recovers(struct fx *f)
{
	char before[7][64], after[64];
	uint64_t rev = store_revision(f->s), mods[7];

	for (int i = 0; i < 7; i++) {
		char k[16];

		snprintf(k, sizeof(k), i < 6 ? "/r/k%d" : "/r/new", i);
		mods[i] = value_of(f->s, k, before[i], 64);
	}
	store_close(f->s);
	f->s = test_open_mem(f->fs, 64, 0);
	assert_non_null(f->s);
	assert_int_equal(store_revision(f->s), rev);
	for (int i = 0; i < 7; i++) {
		char k[16];

		snprintf(k, sizeof(k), i < 6 ? "/r/k%d" : "/r/new", i);
		assert_int_equal(value_of(f->s, k, after, 64), mods[i]);
		assert_string_equal(after, before[i]);
	}
}

static void test_writes(void **state)
{
	struct fx *f = *state;

	for (int mode = 0; mode < 2; mode++) {
		unsigned flags = mode ? 0 : FAILALLOC_THIS_THREAD;

		/* the caller's thread allocates nothing for a write: the committer does; each
		 * sweep's last write is what a restart must recover */
		assert_true(sweep_write(f, STORE_CREATE, flags) > (mode ? 3u : 0u));
		assert_recovers(f);
		assert_true(sweep_write(f, STORE_UPDATE, flags) > (mode ? 3u : 0u));
		assert_recovers(f);
		assert_true(sweep_write(f, STORE_DELETE, flags) > (mode ? 1u : 0u));
		assert_recovers(f);
		/* put them back for the next mode */
		assert_int_equal(store_delete(f->s, K("/r/new"), 0, NULL), 0);
		assert_int_equal(store_create(f->s, K("/r/k1"), K("v1"), NULL), 0);
	}
	assert_writable(f->s);
}

/* Pages of 2 through the 6 keys: a failed page is -ENOMEM with nothing to free; the pages
 * that come are right. */
static void test_list(void **state)
{
	struct fx *f = *state;

	for (int mode = 0; mode < 2; mode++) {
		unsigned long n;

		for (n = 1; n < SWEEP_MAX; n++) {
			struct store_list_opts o = {.prefix = "/r/", .prefix_len = 3, .limit = 2};
			struct store_list l = {0};
			char *token = NULL;
			size_t seen = 0;
			int rc = 0;

			failalloc_arm(n, mode ? 0 : FAILALLOC_THIS_THREAD);
			do {
				rc = store_list(f->s, &o, &l);
				if (rc)
					break;
				for (size_t i = 0; i < l.count; i++) {
					char want[16];

					snprintf(want, sizeof(want), "/r/k%zu", seen + i);
					assert_int_equal(l.items[i].key_len, strlen(want));
					assert_memory_equal(l.items[i].key, want, strlen(want));
				}
				seen += l.count;
				free(token);
				failalloc_pause(); /* the test's own copy */
				token = l.next ? strdup(l.next) : NULL;
				failalloc_resume();
				o.continue_token = token;
				store_list_free(&l);
			} while (token);
			failalloc_disarm();
			free(token);
			if (rc) {
				assert_int_equal(rc, -ENOMEM);
				assert_true(failalloc_fired());
				assert_null(l.items);
				continue;
			}
			assert_int_equal(seen, 6);
			if (!failalloc_fired())
				break;
		}
		assert_true(n > 1 && n < SWEEP_MAX);
	}
}

/* A watch opened from the past: -ENOMEM and no watch, or the whole history from there. Then
 * a write while it is open: if the write succeeds the watch delivers it, if it fails the watch
 * does not, and delivers the next one. */
static void test_watch(void **state)
{
	struct fx *f = *state;

	for (int mode = 0; mode < 2; mode++) {
		unsigned flags = mode ? 0 : FAILALLOC_THIS_THREAD;
		unsigned long n;

		for (n = 1; n < SWEEP_MAX; n++) {
			struct store_watch_opts o = {
			    .prefix = "/r/", .prefix_len = 3, .from_rev = 2};
			struct store_watch *w = NULL;
			struct store_event *ev;
			uint64_t want = 2;
			int rc;

			failalloc_arm(n, flags);
			rc = store_watch_open(f->s, &o, &w);
			failalloc_disarm();
			if (rc) {
				assert_int_equal(rc, -ENOMEM);
				assert_null(w);
				continue;
			}
			while ((rc = store_watch_next(w, &ev, 0)) == 1) {
				assert_int_equal(ev->kv.mod_rev, want++);
				store_event_put(ev);
			}
			/* the whole history, or an error the consumer sees (never a gap) */
			if (rc == 0)
				assert_int_equal(want, store_revision(f->s) + 1);
			else
				assert_int_equal(rc, -ENOMEM);
			store_watch_close(w);
			if (!failalloc_fired())
				break;
		}
		assert_true(n < SWEEP_MAX);

		for (n = 1; n < SWEEP_MAX; n++) {
			struct store_watch_opts o = {.prefix = "/r/", .prefix_len = 3};
			struct store_watch *w = NULL;
			struct store_event *ev = NULL;
			char v[32];
			uint64_t rev = 0;
			int rc;

			assert_int_equal(store_watch_open(f->s, &o, &w), 0);
			snprintf(v, sizeof(v), "w%lu", n);
			failalloc_arm(n, flags);
			rc = store_update(f->s, K("/r/k2"), K(v), 0, &rev);
			failalloc_disarm();
			if (rc == 0) {
				/* delivered, or the watch ended with the error (its queue could
				 * not grow): never a silent gap */
				rc = store_watch_next(w, &ev, 10000);
				if (rc != 1) {
					assert_int_equal(rc, -ENOMEM);
					assert_true(failalloc_fired());
					assert_int_equal(store_watch_next(w, &ev, 0), -ENOMEM);
					store_watch_close(w);
					continue;
				}
				assert_int_equal(ev->kv.mod_rev, rev);
				assert_memory_equal(ev->kv.value, v, strlen(v));
				store_event_put(ev);
			} else {
				assert_int_equal(rc, -ENOMEM);
				assert_int_equal(store_watch_next(w, &ev, 0), 0);
			}
			/* the next write is delivered either way */
			assert_int_equal(store_update(f->s, K("/r/k3"), K(v), 0, &rev), 0);
			assert_int_equal(store_watch_next(w, &ev, 10000), 1);
			assert_int_equal(ev->kv.mod_rev, rev);
			store_event_put(ev);
			assert_int_equal(store_watch_next(w, &ev, 0), 0);
			store_watch_close(w);
			if (!failalloc_fired())
				break;
		}
		assert_true(n < SWEEP_MAX && (mode == 0 || n > 1));
	}
	assert_writable(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
