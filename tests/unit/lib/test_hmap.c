/* SPDX-License-Identifier: Apache-2.0 */
/* hmap against a brute-force reference: random inserts, replaces and deletes (short and long
 * keys, colliding low bits), iteration visiting each entry once, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

#define N 5000

struct ref {
	char key[64];
	size_t klen;
	long val;
	int present;
};

static void test_random_against_reference(void **state)
{
	static struct ref ref[N];
	struct hmap *m = hmap_new();
	unsigned seed = 7;
	size_t live = 0;

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < N; i++) {
		/* Half the keys short (inline), half long (allocated). */
		ref[i].klen =
		    (size_t)snprintf(ref[i].key, sizeof(ref[i].key),
				     i % 2 ? "k%d" : "a-rather-long-key-number-%08d-xyz", i);
	}
	for (int op = 0; op < 200000; op++) {
		int i = rand_r(&seed) % N;
		int what = rand_r(&seed) % 3;
		void *old = NULL;

		if (what < 2) {
			long v = rand_r(&seed) + 1;
			int r = hmap_put(m, ref[i].key, ref[i].klen, (void *)v, &old);

			assert_int_equal(r, ref[i].present ? 1 : 0);
			if (ref[i].present)
				assert_int_equal((long)old, ref[i].val);
			else
				live++;
			ref[i].present = 1;
			ref[i].val = v;
		} else {
			void *v = hmap_del(m, ref[i].key, ref[i].klen);

			if (ref[i].present) {
				assert_int_equal((long)v, ref[i].val);
				live--;
			} else {
				assert_null(v);
			}
			ref[i].present = 0;
		}
		if (op % 1000 == 0) {
			size_t seen = 0;

			for (int j = 0; j < N; j++) {
				void *v = hmap_get(m, ref[j].key, ref[j].klen);

				if (ref[j].present)
					assert_int_equal((long)v, ref[j].val);
				else
					assert_null(v);
			}
			for (struct hmap_entry *e = hmap_first(m); e; e = hmap_next(m, e))
				seen++;
			assert_int_equal(seen, live);
			assert_int_equal(hmap_size(m), live);
		}
	}
	hmap_free(m);
}

/* Keys whose hashes share their low bits all land in one run; deleting from its middle
 * must keep the rest reachable. */
static void test_delete_inside_runs(void **state)
{
	struct hmap *m = hmap_new();
	uint32_t keys[4096];

	(void)state;
	for (uint32_t i = 0; i < 4096; i++) {
		keys[i] = i * 2654435761u;
		assert_int_equal(
		    hmap_put(m, &keys[i], sizeof(keys[i]), (void *)(uintptr_t)(i + 1), NULL), 0);
	}
	for (uint32_t i = 0; i < 4096; i += 3)
		assert_int_equal((uintptr_t)hmap_del(m, &keys[i], sizeof(keys[i])), i + 1);
	for (uint32_t i = 0; i < 4096; i++) {
		void *v = hmap_get(m, &keys[i], sizeof(keys[i]));

		if (i % 3 == 0)
			assert_null(v);
		else
			assert_int_equal((uintptr_t)v, i + 1);
	}
	assert_int_equal(hmap_size(m), 4096 - 1366);
	hmap_free(m);
	hmap_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_against_reference),
	    cmocka_unit_test(test_delete_inside_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
