/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store: every operation of the store and its edges, on the embedded backend over the
 * in-memory I/O double (fast) and once over a real directory (the io_uring path).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

struct fx {
	struct memfs *fs;
	struct store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->fs = memfs_new(1);
	f->s = test_open_mem(f->fs, 64, 0);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	memfs_free(f->fs);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	store_close(f->s);
	f->s = test_open_mem(f->fs, 64, 0);
	assert_non_null(f->s);
}

#define K(s) s, strlen(s)

static void test_create_get(void **state)
{
	struct fx *f = *state;
	struct store_kv kv;
	uint64_t rev = 0;

	assert_int_equal(store_revision(f->s), 0);
	assert_int_equal(store_create(f->s, K("/a"), "v1", 2, &rev), 0);
	assert_int_equal(rev, 1);
	assert_int_equal(store_create(f->s, K("/a"), "v2", 2, &rev), -EEXIST);
	assert_int_equal(rev, 0);
	assert_int_equal(store_get(f->s, K("/a"), 0, &kv), 0);
	assert_int_equal(kv.value_len, 2);
	assert_memory_equal(kv.value, "v1", 2);
	assert_int_equal(kv.mod_rev, 1);
	assert_int_equal(kv.create_rev, 1);
	store_kv_release(&kv);
	assert_int_equal(store_get(f->s, K("/b"), 0, &kv), -ENOENT);
	assert_int_equal(store_revision(f->s), 1);
}

static void test_update_preconditions(void **state)
{
	struct fx *f = *state;
	struct store_write w = {.op = STORE_UPDATE, .key = "/a", .key_len = 2, .value = "x"};
	struct store_write_result res;
	uint64_t r1, r2;

	assert_int_equal(store_update(f->s, K("/a"), "v", 1, 0, NULL), -ENOENT);
	assert_int_equal(store_create(f->s, K("/a"), "v1", 2, &r1), 0);
	assert_int_equal(store_update(f->s, K("/a"), "v2", 2, r1, &r2), 0);
	assert_int_equal(r2, r1 + 1);
	/* A stale precondition is a conflict and hands back the current value. */
	w.value_len = 1;
	w.expect_rev = r1;
	assert_int_equal(store_write(f->s, &w, &res), -STORE_ECONFLICT);
	assert_int_equal(res.rev, 0);
	assert_int_equal(res.prev.mod_rev, r2);
	assert_memory_equal(res.prev.value, "v2", 2);
	store_kv_release(&res.prev);
	/* Success returns the new revision and the value it replaced. */
	w.expect_rev = r2;
	assert_int_equal(store_write(f->s, &w, &res), 0);
	assert_int_equal(res.rev, r2 + 1);
	assert_int_equal(res.prev.mod_rev, r2);
	assert_int_equal(res.prev.create_rev, r1);
	store_kv_release(&res.prev);
	/* No precondition: unconditional. */
	assert_int_equal(store_update(f->s, K("/a"), "v4", 2, 0, NULL), 0);
	/* Failed writes do not consume revisions. */
	assert_int_equal(store_revision(f->s), r2 + 2);
}

static void test_delete(void **state)
{
	struct fx *f = *state;
	struct store_write w = {.op = STORE_DELETE, .key = "/d", .key_len = 2};
	struct store_write_result res;
	struct store_kv kv;
	uint64_t r1, r2;

	assert_int_equal(store_delete(f->s, K("/d"), 0, NULL), -ENOENT);
	assert_int_equal(store_create(f->s, K("/d"), "v", 1, &r1), 0);
	assert_int_equal(store_delete(f->s, K("/d"), r1 + 5, NULL), -STORE_ECONFLICT);
	w.expect_rev = r1;
	assert_int_equal(store_write(f->s, &w, &res), 0);
	r2 = res.rev;
	assert_int_equal(r2, r1 + 1);
	assert_memory_equal(res.prev.value, "v", 1);
	store_kv_release(&res.prev);
	assert_int_equal(store_get(f->s, K("/d"), 0, &kv), -ENOENT);
	assert_int_equal(store_delete(f->s, K("/d"), 0, NULL), -ENOENT);
	/* Re-create: a new incarnation. */
	assert_int_equal(store_create(f->s, K("/d"), "w", 1, NULL), 0);
	assert_int_equal(store_get(f->s, K("/d"), 0, &kv), 0);
	assert_int_equal(kv.create_rev, r2 + 1);
	store_kv_release(&kv);
	/* The old value is still readable at its revision. */
	assert_int_equal(store_get(f->s, K("/d"), r1, &kv), 0);
	assert_memory_equal(kv.value, "v", 1);
	store_kv_release(&kv);
	assert_int_equal(store_get(f->s, K("/d"), r2, &kv), -ENOENT);
}

static void test_sizes_and_binary_keys(void **state)
{
	struct fx *f = *state;
	uint8_t *big = malloc(STORE_MAX_VALUE + 1);
	uint8_t bkey[] = {'/', 0, 0xff, 0x80, 0, 'x'};
	uint8_t bkey2[] = {'/', 0, 0xff, 0x80, 0};
	uint8_t *lkey = malloc(STORE_MAX_KEY + 1);
	struct store_kv kv;

	memset(big, 0xab, STORE_MAX_VALUE + 1);
	memset(lkey, 'k', STORE_MAX_KEY + 1);
	/* Empty values are values. */
	assert_int_equal(store_create(f->s, K("/empty"), NULL, 0, NULL), 0);
	assert_int_equal(store_get(f->s, K("/empty"), 0, &kv), 0);
	assert_int_equal(kv.value_len, 0);
	store_kv_release(&kv);
	/* 1.5 MiB exactly is accepted; one byte more is a clear error. */
	assert_int_equal(store_create(f->s, K("/big"), big, STORE_MAX_VALUE, NULL), 0);
	assert_int_equal(store_create(f->s, K("/big2"), big, STORE_MAX_VALUE + 1, NULL), -EMSGSIZE);
	assert_int_equal(store_update(f->s, K("/big"), big, STORE_MAX_VALUE + 1, 0, NULL),
			 -EMSGSIZE);
	assert_string_equal(store_strerror(-EMSGSIZE),
			    "key or value too large (key <= 4 KiB, value <= 1.5 MiB)");
	assert_int_equal(store_create(f->s, lkey, STORE_MAX_KEY, "v", 1, NULL), 0);
	assert_int_equal(store_create(f->s, lkey, STORE_MAX_KEY + 1, "v", 1, NULL), -EMSGSIZE);
	assert_int_equal(store_create(f->s, "", 0, "v", 1, NULL), -EINVAL);
	/* Keys are bytes: NUL and high bytes, and a key that is a prefix of another. */
	assert_int_equal(store_create(f->s, bkey, sizeof(bkey), "b1", 2, NULL), 0);
	assert_int_equal(store_create(f->s, bkey2, sizeof(bkey2), "b2", 2, NULL), 0);
	reopen(f); /* and they survive recovery */
	assert_int_equal(store_get(f->s, bkey, sizeof(bkey), 0, &kv), 0);
	assert_memory_equal(kv.value, "b1", 2);
	store_kv_release(&kv);
	assert_int_equal(store_get(f->s, bkey2, sizeof(bkey2), 0, &kv), 0);
	assert_memory_equal(kv.value, "b2", 2);
	store_kv_release(&kv);
	assert_int_equal(store_get(f->s, K("/big"), 0, &kv), 0);
	assert_int_equal(kv.value_len, STORE_MAX_VALUE);
	assert_memory_equal(kv.value, big, STORE_MAX_VALUE);
	store_kv_release(&kv);
	{
		struct store_list_opts o = {.prefix = bkey2, .prefix_len = sizeof(bkey2)};
		struct store_list l;

		assert_int_equal(store_list(f->s, &o, &l), 0);
		assert_int_equal(l.count, 2);
		assert_int_equal(l.items[0].key_len, sizeof(bkey2));
		assert_int_equal(l.items[1].key_len, sizeof(bkey));
		store_list_free(&l);
	}
	free(big);
	free(lkey);
}

static void put_n(struct store *s, const char *prefix, int n)
{
	char key[64];

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%04d", prefix, i);
		assert_int_equal(store_create(s, K(key), key, strlen(key), NULL), 0);
	}
}

static void test_list_pages(void **state)
{
	struct fx *f = *state;
	struct store_list_opts o = {.prefix = "/p/", .prefix_len = 3, .limit = 7};
	struct store_list l;
	char *tok = NULL;
	int seen = 0;

	put_n(f->s, "/p/", 50);
	put_n(f->s, "/q/", 5);
	put_n(f->s, "/o/", 5);
	for (;;) {
		o.continue_token = tok;
		assert_int_equal(store_list(f->s, &o, &l), 0);
		for (size_t i = 0; i < l.count; i++) {
			char key[64];

			snprintf(key, sizeof(key), "/p/%04d", seen++);
			assert_int_equal(l.items[i].key_len, strlen(key));
			assert_memory_equal(l.items[i].key, key, strlen(key));
		}
		free(tok);
		tok = l.next ? strdup(l.next) : NULL;
		store_list_free(&l);
		if (!tok)
			break;
	}
	assert_int_equal(seen, 50);
	/* Exactly a page's worth: no token on the last page. */
	o.limit = 50;
	o.continue_token = NULL;
	assert_int_equal(store_list(f->s, &o, &l), 0);
	assert_int_equal(l.count, 50);
	assert_null(l.next);
	store_list_free(&l);
	/* Bad tokens. */
	o.continue_token = "garbage";
	assert_int_equal(store_list(f->s, &o, &l), -EINVAL);
	o.continue_token = "3.2f712f"; /* "/q/" is outside the prefix */
	assert_int_equal(store_list(f->s, &o, &l), -EINVAL);
	/* Everything, empty prefix. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_list(f->s, &o, &l), 0);
	assert_int_equal(l.count, 60);
	assert_memory_equal(l.items[0].key, "/o/0000", 7);
	store_list_free(&l);
}

struct churn {
	struct store *s;
	volatile bool stop;
	int n;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	char key[64];

	for (int i = 0; !c->stop; i++) {
		snprintf(key, sizeof(key), "/p/%04d", i % 40);
		if (i % 3 == 0)
			store_delete(c->s, K(key), 0, NULL);
		else if (store_update(c->s, K(key), "new", 3, 0, NULL) == -ENOENT)
			store_create(c->s, K(key), "re", 2, NULL);
		snprintf(key, sizeof(key), "/p/%04dx", i);
		store_create(c->s, K(key), "ins", 3, NULL);
		c->n++;
	}
	return NULL;
}

/* Paging while another thread writes: the pages together are exactly the list at the pinned
 * revision, however the keys change meanwhile. */
static void test_list_stable_under_writes(void **state)
{
	struct fx *f = *state;
	struct store_list_opts o = {.prefix = "/p/", .prefix_len = 3, .limit = 3};
	struct store_list l, full;
	struct churn c = {.s = f->s};
	pthread_t t;
	size_t got = 0;
	char *tok = NULL;
	uint64_t rev = 0;

	put_n(f->s, "/p/", 40);
	assert_int_equal(pthread_create(&t, NULL, churn_main, &c), 0);
	while (c.n < 5)
		usleep(100);
	assert_int_equal(store_list(f->s, &o, &l), 0);
	rev = l.rev;
	{
		struct store_list_opts fo = {.prefix = "/p/", .prefix_len = 3, .rev = rev};

		assert_int_equal(store_list(f->s, &fo, &full), 0);
	}
	for (;;) {
		assert_int_equal(l.rev, rev);
		for (size_t i = 0; i < l.count; i++, got++) {
			assert_true(got < full.count);
			assert_int_equal(l.items[i].key_len, full.items[got].key_len);
			assert_memory_equal(l.items[i].key, full.items[got].key,
					    l.items[i].key_len);
			assert_int_equal(l.items[i].mod_rev, full.items[got].mod_rev);
			assert_true(l.items[i].mod_rev <= rev);
		}
		free(tok);
		tok = l.next ? strdup(l.next) : NULL;
		store_list_free(&l);
		if (!tok)
			break;
		usleep(200); /* let the writer move on */
		o.continue_token = tok;
		assert_int_equal(store_list(f->s, &o, &l), 0);
	}
	c.stop = true;
	pthread_join(t, NULL);
	assert_int_equal(got, full.count);
	assert_true(store_revision(f->s) > rev);
	store_list_free(&full);
}

static void test_compaction(void **state)
{
	struct fx *f = *state;
	struct store_list_opts o = {.prefix = "/c", .prefix_len = 2, .limit = 1};
	struct store_list l;
	struct store_kv kv;
	uint64_t r[6];

	assert_int_equal(store_create(f->s, K("/c1"), "a", 1, &r[0]), 0);
	assert_int_equal(store_update(f->s, K("/c1"), "b", 1, 0, &r[1]), 0);
	assert_int_equal(store_create(f->s, K("/c2"), "c", 1, &r[2]), 0);
	assert_int_equal(store_delete(f->s, K("/c2"), 0, &r[3]), 0);
	assert_int_equal(store_update(f->s, K("/c1"), "d", 1, 0, &r[4]), 0);
	/* A token that pins r[2]. */
	o.rev = r[2];
	assert_int_equal(store_list(f->s, &o, &l), 0);
	assert_non_null(l.next);

	assert_int_equal(store_compact(f->s, r[4] + 1), -EINVAL);
	assert_int_equal(store_compact(f->s, r[3]), 0);
	assert_int_equal(store_compacted_revision(f->s), r[3]);
	assert_int_equal(store_compact(f->s, r[3]), -STORE_ECOMPACTED);
	assert_int_equal(store_compact(f->s, r[1]), -STORE_ECOMPACTED);
	/* Boundary: at the compacted revision reads work, one below they do not. */
	assert_int_equal(store_get(f->s, K("/c1"), r[3], &kv), 0);
	assert_memory_equal(kv.value, "b", 1);
	store_kv_release(&kv);
	assert_int_equal(store_get(f->s, K("/c1"), r[3] - 1, &kv), -STORE_ECOMPACTED);
	assert_int_equal(store_get(f->s, K("/c2"), r[3], &kv), -ENOENT);
	assert_int_equal(store_get(f->s, K("/c1"), r[4] + 1, &kv), -ERANGE);
	/* The token's revision is gone: "too old". */
	o.continue_token = l.next;
	{
		struct store_list l2;

		assert_int_equal(store_list(f->s, &o, &l2), -STORE_ECOMPACTED);
	}
	store_list_free(&l);
	{
		struct store_watch *w;
		struct store_watch_opts wo = {.from_rev = r[3] - 1};

		assert_int_equal(store_watch_open(f->s, &wo, &w), -STORE_ECOMPACTED);
		assert_null(w);
		wo.from_rev = r[3];
		assert_int_equal(store_watch_open(f->s, &wo, &w), 0);
		store_watch_close(w);
	}
	/* Latest state unchanged, and compaction leaves it after a restart too. */
	reopen(f);
	assert_int_equal(store_get(f->s, K("/c1"), 0, &kv), 0);
	assert_memory_equal(kv.value, "d", 1);
	store_kv_release(&kv);
	assert_int_equal(store_revision(f->s), r[4]);
}

static void expect_event(struct store_watch *w, enum store_event_type type, uint64_t rev)
{
	struct store_event *ev;

	assert_int_equal(store_watch_next(w, &ev, 1000), 1);
	assert_int_equal(ev->type, type);
	assert_int_equal(ev->kv.mod_rev, rev);
	store_event_put(ev);
}

/* What a compaction refuses, it refuses after a restart too (the log holds it): a watch or a
 * read older than the compacted revision is -STORE_ECOMPACTED (the API's 410 Expired),
 * from the compacted revision on they work, and so do lists and new writes and watches. */
static void test_compaction_restart(void **state)
{
	struct fx *f = *state;
	struct store_watch_opts wo = {.prefix = "/k", .prefix_len = 2};
	struct store_watch *w;
	struct store_list_opts lo = {.prefix = "/k", .prefix_len = 2};
	struct store_list l;
	struct store_kv kv;
	uint64_t r[8];

	assert_int_equal(store_create(f->s, K("/k1"), "a", 1, &r[0]), 0);
	assert_int_equal(store_update(f->s, K("/k1"), "b", 1, 0, &r[1]), 0);
	assert_int_equal(store_create(f->s, K("/k2"), "c", 1, &r[2]), 0);
	assert_int_equal(store_update(f->s, K("/k2"), "d", 1, 0, &r[3]), 0);
	assert_int_equal(store_update(f->s, K("/k1"), "e", 1, 0, &r[4]), 0);
	assert_int_equal(store_compact(f->s, r[2]), 0);
	wo.from_rev = r[1];
	assert_int_equal(store_watch_open(f->s, &wo, &w), -STORE_ECOMPACTED);

	reopen(f);
	assert_int_equal(store_compacted_revision(f->s), r[2]);
	assert_int_equal(store_revision(f->s), r[4]);
	wo.from_rev = r[1];
	assert_int_equal(store_watch_open(f->s, &wo, &w), -STORE_ECOMPACTED);
	assert_null(w);
	assert_int_equal(store_get(f->s, K("/k1"), r[1], &kv), -STORE_ECOMPACTED);
	assert_int_equal(store_compact(f->s, r[2]), -STORE_ECOMPACTED);
	/* from the compacted revision on: the replayed history */
	wo.from_rev = r[2];
	assert_int_equal(store_watch_open(f->s, &wo, &w), 0);
	expect_event(w, STORE_EVENT_CREATE, r[2]);
	expect_event(w, STORE_EVENT_UPDATE, r[3]);
	expect_event(w, STORE_EVENT_UPDATE, r[4]);
	store_watch_close(w);
	assert_int_equal(store_get(f->s, K("/k1"), r[2], &kv), 0);
	assert_memory_equal(kv.value, "b", 1);
	store_kv_release(&kv);
	/* a list at the latest revision, and a watch from it sees the next write */
	assert_int_equal(store_list(f->s, &lo, &l), 0);
	assert_int_equal(l.rev, r[4]);
	assert_int_equal(l.count, 2);
	store_list_free(&l);
	wo.from_rev = r[4] + 1;
	assert_int_equal(store_watch_open(f->s, &wo, &w), 0);
	assert_int_equal(store_update(f->s, K("/k2"), "f", 1, 0, &r[5]), 0);
	expect_event(w, STORE_EVENT_UPDATE, r[5]);
	store_watch_close(w);
	/* a compaction after the restart, and a write after it, are kept by the next one */
	assert_int_equal(store_compact(f->s, r[4]), 0);
	assert_int_equal(store_create(f->s, K("/k3"), "g", 1, &r[6]), 0);
	reopen(f);
	assert_int_equal(store_compacted_revision(f->s), r[4]);
	assert_int_equal(store_revision(f->s), r[6]);
	wo.from_rev = r[3];
	assert_int_equal(store_watch_open(f->s, &wo, &w), -STORE_ECOMPACTED);
	wo.from_rev = r[4];
	assert_int_equal(store_watch_open(f->s, &wo, &w), 0);
	expect_event(w, STORE_EVENT_UPDATE, r[4]);
	expect_event(w, STORE_EVENT_UPDATE, r[5]);
	expect_event(w, STORE_EVENT_CREATE, r[6]);
	store_watch_close(w);
	assert_int_equal(store_create(f->s, K("/k4"), "h", 1, &r[7]), 0);
	assert_int_equal(r[7], r[6] + 1);
}

/* History: write a mix of changes, then watch from every revision of it. */
static void test_watch_from_every_point(void **state)
{
	struct fx *f = *state;
	struct store_stats st;
	uint64_t revs[40];
	int n = 0;
	char key[32];

	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "/w/%d", i % 4);
		if (store_create(f->s, K(key), "c", 1, &revs[n]) == 0)
			n++;
		assert_int_equal(store_update(f->s, K(key), key, strlen(key), 0, &revs[n++]), 0);
		if (i % 3 == 2)
			assert_int_equal(store_delete(f->s, K(key), 0, &revs[n++]), 0);
	}
	for (int from = 0; from < n; from++) {
		struct store_watch_opts wo = {
		    .prefix = "/w/", .prefix_len = 3, .from_rev = revs[from]};
		struct store_watch *w;
		struct store_event *ev;

		assert_int_equal(store_watch_open(f->s, &wo, &w), 0);
		for (int i = from; i < n; i++) {
			struct store_kv kv;

			assert_int_equal(store_watch_next(w, &ev, 0), 1);
			assert_int_equal(ev->kv.mod_rev, revs[i]);
			/* prev is the value as of the revision before */
			if (ev->type != STORE_EVENT_CREATE) {
				assert_int_equal(
				    store_get(f->s, ev->kv.key, ev->kv.key_len, revs[i] - 1, &kv),
				    0);
				assert_int_equal(kv.mod_rev, ev->prev.mod_rev);
				assert_int_equal(kv.value_len, ev->prev.value_len);
				store_kv_release(&kv);
			} else {
				assert_int_equal(ev->prev.mod_rev, 0);
			}
			store_event_put(ev);
		}
		assert_int_equal(store_watch_next(w, &ev, 0), 0);
		store_watch_close(w);
	}
	/* The history holds 64 events: push the start out, then the first is too old. */
	put_n(f->s, "/x/", 64);
	{
		struct store_watch_opts wo = {.from_rev = revs[0]};
		struct store_watch *w;

		assert_int_equal(store_watch_open(f->s, &wo, &w), -STORE_ECOMPACTED);
		wo.from_rev = store_revision(f->s) - 63;
		assert_int_equal(store_watch_open(f->s, &wo, &w), 0);
		assert_int_equal(store_watch_pending(w), 64);
		store_watch_close(w);
	}
	assert_int_equal(store_get_stats(f->s, &st), 0);
	assert_int_equal(st.watchers, 0);
}

static void test_watch_live_and_fd(void **state)
{
	struct fx *f = *state;
	struct store_watch_opts wo = {.prefix = "/l/", .prefix_len = 3};
	struct store_watch *w;
	struct store_event *ev;
	struct pollfd pfd;
	uint64_t r1, r2, r3;

	assert_int_equal(store_create(f->s, K("/l/a"), "0", 1, NULL), 0);
	assert_int_equal(store_watch_open(f->s, &wo, &w), 0); /* from now on */
	pfd.fd = store_watch_fd(w);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(store_watch_next(w, &ev, 0), 0);
	assert_int_equal(store_update(f->s, K("/l/a"), "1", 1, 0, &r1), 0);
	assert_int_equal(store_create(f->s, K("/m/a"), "x", 1, NULL), 0); /* other prefix */
	assert_int_equal(store_create(f->s, K("/l/b"), "2", 1, &r2), 0);
	assert_int_equal(store_delete(f->s, K("/l/a"), 0, &r3), 0);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(store_watch_next(w, &ev, 0), 1);
	assert_int_equal(ev->type, STORE_EVENT_UPDATE);
	assert_memory_equal(ev->prev.value, "0", 1);
	assert_memory_equal(ev->kv.value, "1", 1);
	assert_true(ev->commit_ns > 0);
	store_event_put(ev);
	expect_event(w, STORE_EVENT_CREATE, r2);
	assert_int_equal(store_watch_next(w, &ev, 0), 1);
	assert_int_equal(ev->type, STORE_EVENT_DELETE);
	assert_int_equal(ev->kv.mod_rev, r3);
	assert_int_equal(ev->kv.value_len, 0);
	assert_memory_equal(ev->prev.value, "1", 1);
	store_event_put(ev);
	assert_int_equal(store_watch_next(w, &ev, 0), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0); /* drained: not readable */
	/* A future start revision waits for it. */
	{
		struct store_watch *w2;
		struct store_watch_opts fo = {.from_rev = r3 + 2};
		uint64_t r;

		assert_int_equal(store_watch_open(f->s, &fo, &w2), 0);
		assert_int_equal(store_create(f->s, K("/f1"), "", 0, NULL), 0);
		assert_int_equal(store_create(f->s, K("/f2"), "", 0, &r), 0);
		expect_event(w2, STORE_EVENT_CREATE, r);
		store_watch_close(w2);
	}
	/* Closing the store cancels the watch; the handle stays valid until closed. */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_watch_next(w, &ev, 0), -STORE_ECLOSED);
	assert_int_equal(store_watch_next(w, &ev, -1), -STORE_ECLOSED);
	store_watch_close(w);
	f->s = test_open_mem(f->fs, 64, 0);
}

/* A watcher that does not consume is cancelled; writers never wait for it. */
static void test_watch_slow_cancel(void **state)
{
	struct fx *f = *state;
	struct store_embedded_opts o = {
	    .sz = sizeof(o), .io = memfs_io(f->fs), .history = 64, .watch_queue_max = 10};
	struct store_watch_opts wo = {0};
	struct store_watch *slow, *fast;
	struct store_event *ev;
	struct store_stats st;
	int got = 0;

	store_close(f->s);
	assert_int_equal(store_open_embedded(&o, &f->s), 0);
	assert_int_equal(store_watch_open(f->s, &wo, &slow), 0);
	assert_int_equal(store_watch_open(f->s, &wo, &fast), 0);
	for (int i = 0; i < 30; i++) {
		char key[16];

		snprintf(key, sizeof(key), "/s/%d", i);
		assert_int_equal(store_create(f->s, K(key), "v", 1, NULL), 0);
		while (store_watch_next(fast, &ev, 0) == 1) {
			store_event_put(ev);
			got++;
		}
	}
	assert_int_equal(got, 30);
	assert_int_equal(store_watch_next(slow, &ev, 0), -STORE_ESLOW);
	assert_int_equal(store_watch_pending(slow), 0);
	assert_int_equal(store_get_stats(f->s, &st), 0);
	assert_int_equal(st.watch_slow_cancels, 1);
	assert_int_equal(st.watchers, 1);
	store_watch_close(slow);
	store_watch_close(fast);
}

/* Watch sets: many watches, one fd; each watch handed out once until drained. */
static void test_watch_set(void **state)
{
	struct fx *f = *state;
	struct store_watch_set *set;
	struct store_watch *ws[20], *ready[32];
	struct store_event *ev;
	struct pollfd pfd;
	size_t n, got = 0;

	assert_int_equal(store_watch_set_new(&set), 0);
	for (int i = 0; i < 20; i++) {
		struct store_watch_opts wo = {
		    .prefix = i % 2 ? "/a" : "/b", .prefix_len = 2, .set = set};

		assert_int_equal(store_watch_open(f->s, &wo, &ws[i]), 0);
		assert_int_equal(store_watch_fd(ws[i]), -EINVAL);
	}
	pfd.fd = store_watch_set_fd(set);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(store_watch_set_ready(set, ready, 32, 0), 0);
	assert_int_equal(store_create(f->s, K("/a1"), "x", 1, NULL), 0);
	assert_int_equal(store_create(f->s, K("/a2"), "x", 1, NULL), 0);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	n = store_watch_set_ready(set, ready, 32, 1000);
	assert_int_equal(n, 10); /* the /a watches, once each for two events */
	assert_int_equal(poll(&pfd, 1, 0), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(store_watch_next(ready[i], &ev, 100), -EINVAL);
		while (store_watch_next(ready[i], &ev, 0) == 1) {
			store_event_put(ev);
			got++;
		}
	}
	assert_int_equal(got, 20);
	/* Drained: the next event hands them out again. */
	assert_int_equal(store_create(f->s, K("/b1"), "x", 1, NULL), 0);
	n = store_watch_set_ready(set, ready, 4, 1000);
	assert_int_equal(n, 4);
	n += store_watch_set_ready(set, ready + 4, 28, 0);
	assert_int_equal(n, 10);
	/* Closing a watch that sits on the ready list takes it off. */
	assert_int_equal(store_create(f->s, K("/a3"), "x", 1, NULL), 0);
	for (int i = 0; i < 20; i++)
		store_watch_close(ws[i]);
	assert_int_equal(store_watch_set_ready(set, ready, 32, 0), 0);
	store_watch_set_free(set);
}

struct gated_write {
	struct store *s;
	uint64_t rev;
	int err;
};

static void *gated_writer(void *arg)
{
	struct gated_write *g = arg;

	g->err = store_create(g->s, K("/gate"), "v", 1, &g->rev);
	return NULL;
}

/* A write stuck in its fdatasync is neither acknowledged nor visible, and reads, lists and
 * watches go on meanwhile (they would deadlock here if they waited for the sync). */
static void test_reads_do_not_wait_for_sync(void **state)
{
	struct fx *f = *state;
	struct store_list_opts lo = {0};
	struct store_watch_opts wo = {0};
	struct gated_write g = {.s = f->s, .err = 1};
	struct store_watch *w;
	struct store_event *ev;
	struct store_list l;
	struct store_kv kv;
	pthread_t t;

	assert_int_equal(store_create(f->s, K("/before"), "b", 1, NULL), 0);
	assert_int_equal(store_watch_open(f->s, &wo, &w), 0);
	memfs_gate_syncs(f->fs, true);
	assert_int_equal(pthread_create(&t, NULL, gated_writer, &g), 0);
	memfs_wait_gated(f->fs, 1); /* the write is in its sync now */
	assert_int_equal(store_get(f->s, K("/gate"), 0, &kv), -ENOENT);
	assert_int_equal(store_get(f->s, K("/before"), 0, &kv), 0);
	store_kv_release(&kv);
	assert_int_equal(store_list(f->s, &lo, &l), 0);
	assert_int_equal(l.count, 1);
	store_list_free(&l);
	assert_int_equal(store_revision(f->s), 1);
	assert_int_equal(store_watch_next(w, &ev, 0), 0); /* no event before durability */
	assert_int_equal(g.err, 1);			  /* not acknowledged */
	memfs_gate_syncs(f->fs, false);
	pthread_join(t, NULL);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.rev, 2);
	assert_int_equal(store_get(f->s, K("/gate"), 0, &kv), 0);
	store_kv_release(&kv);
	expect_event(w, STORE_EVENT_CREATE, 2);
	store_watch_close(w);
}

struct writer {
	struct store *s;
	int id, n;
	uint64_t *revs;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char key[32];

	for (int i = 0; i < w->n; i++) {
		snprintf(key, sizeof(key), "/cw/%d/%d", w->id, i);
		assert_int_equal(store_create(w->s, K(key), key, strlen(key), &w->revs[i]), 0);
	}
	return NULL;
}

/* Many writers: every revision handed out once, group commit batches them. */
static void test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	enum { T = 8, N = 150 };
	struct writer w[T];
	pthread_t t[T];
	uint8_t *seen = calloc(T * N + 1, 1);
	struct store_stats st;

	/* the first write is held in its sync, so the others queue behind it and the next
	 * commit takes several at once */
	memfs_gate_syncs(f->fs, true);
	for (int i = 0; i < T; i++) {
		w[i] = (struct writer){.s = f->s, .id = i, .n = N, .revs = calloc(N, 8)};
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	memfs_wait_gated(f->fs, 1);
	usleep(50 * 1000); /* time for the other writers to queue */
	memfs_gate_syncs(f->fs, false);
	for (int i = 0; i < T; i++) {
		pthread_join(t[i], NULL);
		for (int j = 0; j < N; j++) {
			assert_true(w[i].revs[j] >= 1 && w[i].revs[j] <= T * N);
			assert_false(seen[w[i].revs[j]]);
			seen[w[i].revs[j]] = 1;
			if (j)
				assert_true(w[i].revs[j] > w[i].revs[j - 1]);
		}
		free(w[i].revs);
	}
	assert_int_equal(store_revision(f->s), T * N);
	assert_int_equal(store_get_stats(f->s, &st), 0);
	assert_int_equal(st.writes, T * N);
	assert_int_equal(st.keys, T * N);
	assert_true(st.batches < st.writes); /* some commits carried several writes */
	free(seen);
}

/* Snapshots and cutting the log, then a restart from snapshot + log. */
static void test_snapshots_and_restart(void **state)
{
	struct fx *f = *state;
	struct store_stats st;
	struct store_kv kv;
	uint8_t val[300];
	char key[32];
	int ver[100] = {0};

	store_close(f->s);
	f->s = test_open_mem(f->fs, 50, 4096);
	for (int i = 0; i < 1000; i++) {
		int k = (i * 37) % 100;
		size_t n;

		snprintf(key, sizeof(key), "/snap/%03d", k);
		n = test_value((uint64_t)k, (uint64_t)ver[k] + 1, val, sizeof(val));
		if (ver[k] == 0)
			assert_int_equal(store_create(f->s, K(key), val, n, NULL), 0);
		else
			assert_int_equal(store_update(f->s, K(key), val, n, 0, NULL), 0);
		ver[k]++;
	}
	store_close(f->s);
	f->s = test_open_mem(f->fs, 50, 4096);
	assert_int_equal(store_revision(f->s), 1000);
	for (int k = 0; k < 100; k++) {
		size_t n = test_value((uint64_t)k, (uint64_t)ver[k], val, sizeof(val));

		snprintf(key, sizeof(key), "/snap/%03d", k);
		assert_int_equal(store_get(f->s, K(key), 0, &kv), 0);
		assert_int_equal(kv.value_len, n);
		assert_memory_equal(kv.value, val, n);
		store_kv_release(&kv);
	}
	assert_int_equal(store_get_stats(f->s, &st), 0);
	assert_true(st.recovered_records < 1000); /* most came from a snapshot */
	/* the log was cut: few segments remain */
	{
		char **names;
		size_t n, wals = 0, snaps = 0;

		assert_int_equal(memfs_durable_names(f->fs, &names, &n), 0);
		for (size_t i = 0; i < n; i++) {
			wals += !strncmp(names[i], "wal-", 4);
			snaps += !strncmp(names[i], "snap-", 5);
		}
		free(names);
		assert_true(snaps >= 1 && snaps <= 2);
		assert_true(wals < 20);
	}
}

static char *real_dir;

static int real_dir_teardown(void **state)
{
	(void)state;
	test_dir_drop(&real_dir);
	return 0;
}

/* The io_uring path on a real directory. */
static void test_real_dir(void **state)
{
	const char *dir = real_dir = test_tmpdir("/tmp");
	struct store *s;
	struct store_kv kv;
	uint64_t rev;
	int err;

	(void)state;
	assert_non_null(dir);
	s = test_open_dir(dir, 0, &err);
	assert_int_equal(err, 0);
	assert_int_equal(store_create(s, K("/r"), "1", 1, &rev), 0);
	assert_int_equal(store_update(s, K("/r"), "2", 1, rev, &rev), 0);
	assert_int_equal(store_compact(s, rev), 0);
	store_close(s);
	s = test_open_dir(dir, 0, &err);
	assert_int_equal(err, 0);
	/* the compaction came back from the log */
	assert_int_equal(store_compacted_revision(s), rev);
	assert_int_equal(store_get(s, K("/r"), rev - 1, &kv), -STORE_ECOMPACTED);
	assert_int_equal(store_get(s, K("/r"), 0, &kv), 0);
	assert_memory_equal(kv.value, "2", 1);
	assert_int_equal(kv.mod_rev, rev);
	store_kv_release(&kv);
	store_close(s);
}

static void test_args(void **state)
{
	struct fx *f = *state;
	struct store_embedded_opts o = {.sz = sizeof(o)};
	struct store *s;
	struct store_kv kv;
	struct store_write w = {.op = 99, .key = "k", .key_len = 1};

	assert_int_equal(store_open_embedded(&o, &s), -EINVAL);
	assert_int_equal(store_open_embedded(NULL, &s), -EINVAL);
	assert_int_equal(store_write(f->s, &w, NULL), -EINVAL);
	assert_int_equal(store_get(f->s, NULL, 0, 0, &kv), -EINVAL);
	assert_int_equal(store_compact(f->s, 0), -EINVAL);
	store_close(NULL);
	store_kv_release(NULL);
	store_list_free(NULL);
	store_watch_close(NULL);
	assert_string_equal(store_backend_name(f->s), "embedded");
	assert_string_equal(store_strerror(-STORE_ECONFLICT),
			    "revision precondition failed (conflict)");
}

/* ---- secondary indexes ---- */

/* The tag of a value: what comes before its ':' (the whole value without one). */
static size_t colon_tag(const void *key, size_t key_len, const void *value, size_t value_len,
			char *out, size_t size)
{
	const char *c = memchr(value, ':', value_len);
	size_t n = c ? (size_t)(c - (const char *)value) : value_len;

	(void)key;
	(void)key_len;
	memcpy(out, value, n < size ? n : size);
	return n;
}

/* The keys a tagged list gives, "k1,k2" (its page's revision rev; limit 0: all), and how many
 * versions it looked at into *visited. */
static const char *tagged(struct store *s, struct store_index *ix, const char *tag, uint64_t rev,
			  char *buf, size_t size, uint64_t *visited)
{
	struct store_list_opts o = {.prefix = "/p/",
				    .prefix_len = 3,
				    .index = ix,
				    .tag = tag,
				    .tag_len = strlen(tag),
				    .rev = rev};
	struct store_stats a, b;
	struct store_list l;
	size_t n = 0;

	buf[0] = 0;
	assert_int_equal(store_get_stats(s, &a), 0);
	assert_int_equal(store_list(s, &o, &l), 0);
	assert_int_equal(store_get_stats(s, &b), 0);
	for (size_t i = 0; i < l.count; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%.*s", i ? "," : "",
				      (int)l.items[i].key_len, (const char *)l.items[i].key);
	store_list_free(&l);
	if (visited)
		*visited = b.list_visited - a.list_visited;
	return buf;
}

/* A list of one tag reads that tag's keys only, and gives what a full scan would: through
 * creates, updates that change the tag, deletes, pages, an older revision and a restart. */
static void test_index(void **state)
{
	struct fx *f = *state;
	struct store_index *ix, *again;
	struct store_list_opts o = {
	    .prefix = "/p/", .prefix_len = 3, .tag = "n1", .tag_len = 2, .limit = 1};
	struct store_list l;
	uint64_t visited, rev;
	char buf[256];

	assert_int_equal(store_create(f->s, K("/p/a"), K("n1:x"), NULL), 0);
	assert_int_equal(store_create(f->s, K("/p/b"), K("n2:x"), NULL), 0);
	assert_int_equal(store_index_add(f->s, "/p/", 3, colon_tag, &ix), 0);
	assert_non_null(ix);
	assert_int_equal(store_index_add(f->s, "/p/", 3, colon_tag, &again), 0);
	assert_ptr_equal(ix, again);
	assert_int_equal(store_create(f->s, K("/p/c"), K("n1:y"), NULL), 0);
	assert_int_equal(store_create(f->s, K("/p/d"), K(""), NULL), 0);
	assert_int_equal(store_create(f->s, K("/q/e"), K("n1:z"), NULL), 0); /* not indexed */
	for (int i = 0; i < 20; i++) {
		char key[16];

		snprintf(key, sizeof(key), "/p/z%02d", i);
		assert_int_equal(store_create(f->s, K(key), K("n3"), NULL), 0);
	}
	assert_string_equal(tagged(f->s, ix, "n1", 0, buf, sizeof(buf), &visited), "/p/a,/p/c");
	assert_int_equal(visited, 2); /* not the 24 keys under /p/ */
	assert_string_equal(tagged(f->s, ix, "", 0, buf, sizeof(buf), NULL), "/p/d");
	assert_string_equal(tagged(f->s, ix, "n9", 0, buf, sizeof(buf), &visited), "");
	assert_int_equal(visited, 0);
	rev = store_revision(f->s);
	/* b moves to n1, a to n2, c goes */
	assert_int_equal(store_update(f->s, K("/p/b"), K("n1:moved"), 0, NULL), 0);
	assert_int_equal(store_update(f->s, K("/p/a"), K("n2:moved"), 0, NULL), 0);
	assert_int_equal(store_delete(f->s, K("/p/c"), 0, NULL), 0);
	assert_int_equal(store_update(f->s, K("/p/d"), K("n1"), 0, NULL), 0);
	assert_string_equal(tagged(f->s, ix, "n1", 0, buf, sizeof(buf), NULL), "/p/b,/p/d");
	assert_string_equal(tagged(f->s, ix, "n2", 0, buf, sizeof(buf), NULL), "/p/a");
	assert_string_equal(tagged(f->s, ix, "", 0, buf, sizeof(buf), NULL), "");
	/* an older revision: each value of then, tagged as read */
	assert_string_equal(tagged(f->s, ix, "n1", rev, buf, sizeof(buf), &visited), "/p/a,/p/c");
	assert_true(visited >= 24);
	/* pages of one */
	o.index = ix;
	assert_int_equal(store_list(f->s, &o, &l), 0);
	assert_int_equal(l.count, 1);
	assert_memory_equal(l.items[0].key, "/p/b", 4);
	assert_non_null(l.next);
	o.continue_token = strdup(l.next);
	store_list_free(&l);
	assert_int_equal(store_list(f->s, &o, &l), 0);
	assert_int_equal(l.count, 1);
	assert_memory_equal(l.items[0].key, "/p/d", 4);
	assert_null(l.next);
	store_list_free(&l);
	free((char *)o.continue_token);
	/* a restart: the index is built from what the store recovered */
	reopen(f);
	assert_int_equal(store_index_add(f->s, "/p/", 3, colon_tag, &ix), 0);
	assert_string_equal(tagged(f->s, ix, "n1", 0, buf, sizeof(buf), &visited), "/p/b,/p/d");
	assert_int_equal(visited, 2);
	assert_string_equal(tagged(f->s, ix, "n2", 0, buf, sizeof(buf), NULL), "/p/a");
	assert_string_equal(
	    tagged(f->s, ix, "n3", 0, buf, sizeof(buf), &visited),
	    "/p/z00,/p/z01,/p/z02,/p/z03,/p/z04,/p/z05,/p/z06,/p/z07,/p/z08,/p/z09,"
	    "/p/z10,/p/z11,/p/z12,/p/z13,/p/z14,/p/z15,/p/z16,/p/z17,/p/z18,/p/z19");
	assert_int_equal(visited, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_preconditions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sizes_and_binary_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_stable_under_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compaction_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_from_every_point, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_live_and_fd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_slow_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reads_do_not_wait_for_sync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshots_and_restart, setup, teardown),
	    cmocka_unit_test_teardown(test_real_dir, real_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
