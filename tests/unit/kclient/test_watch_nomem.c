/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_watch_nomem: a watch loses no event when an allocation fails on the way from a write
 * to the watcher. For every n, a fresh server (the watch sets' ready lists are allocated on
 * their first use, so only a fresh one can fail there) with an informer of configmaps; the
 * nth allocation anywhere in the process (server threads, hub, watch threads, client) fails
 * while one configmap is created and delivered; then, with allocation working again, the
 * informer's cache must come to hold the configmap exactly when the server has it. An event
 * kept off a ready list by a failed allocation was lost for good before the consumers looked
 * at their watches periodically (reg_watch_pending); a failed write, a watch ended with an
 * error (the informer re-lists) and a failed client call are all fine here: a cache that
 * never learns of a stored object is not. Runs over HTTP (the API server's watch threads)
 * and over the in-process transport (kclient_local) (KCLIENT_TRANSPORT=local).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "failalloc.h"
#include "kc_helpers.h"

/* Well past the allocations of one create and its delivery: the sweep stops earlier, at the
 * first n that did not fail anything. */
#define MAX_N 3000

static bool cached(struct kc_informer *inf)
{
	struct kc_obj *o = kc_informer_get(inf, "nm", "c");

	kc_obj_put(o);
	return o != NULL;
}

static bool stored(struct kclient *c)
{
	for (;;) {
		struct kc_obj *o = NULL;
		int err = kc_get(c, kind_cm(), "nm", "c", &o, NULL);

		kc_obj_put(o);
		if (err == 0 || err == -ENOENT)
			return err == 0;
		usleep(10000); /* a transport error: ask again */
	}
}

static void test_no_event_lost(void **state)
{
	unsigned long n, lost = 0, fired_in = 0;

	(void)state;
	for (n = 1; n <= MAX_N; n++) {
		struct kc_informer_opts o = {.kind = kind_cm(), .ns = "nm"};
		struct jv_doc *d = jv_doc_new();
		struct kc_informer *inf;
		struct ksrv k;
		bool fired, has;

		ksrv_start(&k, NULL);
		kc_make_ns(k.c, "nm");
		inf = kc_informer_new(k.c, &o);
		assert_non_null(inf);
		assert_int_equal(kc_informer_start(inf), 0);
		assert_true(kc_informer_wait_synced(inf, KC_WAIT_MS));

		failalloc_arm(n, 0);
		kc_create(k.c, kind_cm(), "nm", J(d, "{\"metadata\":{\"name\":\"c\"}}"), NULL, NULL,
			  NULL);
		/* the event's way to the cache is in the armed window too */
		WAIT_UNTIL(failalloc_fired() || cached(inf), 2000);
		failalloc_disarm();
		fired = failalloc_fired();

		has = stored(k.c);
		if (!WAIT_UNTIL(cached(inf) == has, 10000)) {
			print_message("n=%lu: the server %s the configmap, the cache %s\n", n,
				      has ? "has" : "does not have",
				      has ? "never got it" : "has it");
			lost++;
		}
		fired_in += fired;
		kc_informer_free(inf);
		jv_doc_free(d);
		ksrv_stop(&k);
		if (!fired)
			break; /* every allocation of the way was made to fail once */
	}
	print_message("%lu allocations failed in turn, %lu lost\n", fired_in, lost);
	assert_true(n <= MAX_N);
	assert_true(fired_in > 10);
	assert_int_equal(lost, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_event_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
