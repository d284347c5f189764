/* SPDX-License-Identifier: Apache-2.0 */
/* Maglev tables: balance, minimal disruption, determinism, sizing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

static char **make_keys(int n, int offset)
{
	char **k = calloc((size_t)n, sizeof(*k));

	for (int i = 0; i < n; i++) {
		k[i] = malloc(32);
		snprintf(k[i], 32, "10.244.%d.%d:8080/6", (i + offset) / 250,
			 (i + offset) % 250 + 1);
	}
	return k;
}

static void free_keys(char **k, int n)
{
	for (int i = 0; i < n; i++)
		free(k[i]);
	free(k);
}

/* Each backend owns close to M/N slots (the paper's construction gives at most one slot of
 * difference in rounds, so shares are within a few percent). */
static void test_balance(void **state)
{
	int ns[] = {3, 10, 100};

	(void)state;
	for (size_t t = 0; t < 3; t++) {
		int n = ns[t];
		uint32_t m = maglev_table_size((size_t)n, 131071);
		uint32_t *table = malloc(m * sizeof(*table));
		int *count = calloc((size_t)n, sizeof(int));
		char **keys = make_keys(n, 0);

		assert_int_equal(maglev_build((const char *const *)keys, (size_t)n, m, table), 0);
		for (uint32_t j = 0; j < m; j++) {
			assert_true(table[j] < (uint32_t)n);
			count[table[j]]++;
		}
		for (int i = 0; i < n; i++) {
			double share = (double)count[i] * n / m;

			if (share < 0.97 || share > 1.03)
				fail_msg("n=%d M=%u backend %d share %.3f", n, m, i, share);
		}
		free(table);
		free(count);
		free_keys(keys, n);
	}
}

/* Removing one of N backends moves its own slots and only a few others. */
static void test_minimal_disruption(void **state)
{
	enum { N = 20 };
	uint32_t m = 4093;
	uint32_t *a = malloc(m * sizeof(*a)), *b = malloc(m * sizeof(*b));
	char **keys = make_keys(N, 0);
	size_t moved = 0, survivors = 0;

	(void)state;
	assert_int_equal(maglev_build((const char *const *)keys, N, m, a), 0);
	/* Remove backend 7: the remaining keys keep their identities (not their indexes). */
	{
		char *rest[N - 1];
		int j = 0;

		for (int i = 0; i < N; i++) {
			if (i != 7)
				rest[j++] = keys[i];
		}
		assert_int_equal(maglev_build((const char *const *)rest, N - 1, m, b), 0);
		for (uint32_t s = 0; s < m; s++) {
			const char *before = keys[a[s]], *after = rest[b[s]];

			if (a[s] == 7)
				continue;
			survivors++;
			moved += strcmp(before, after) != 0;
		}
	}
	/* The paper reports disruption of a few percent; allow 8 %. */
	assert_true(moved * 100 < survivors * 8);
	free(a);
	free(b);
	free_keys(keys, N);
}

/* Same backends, same table, whatever their order: every node computes the same one. */
static void test_deterministic(void **state)
{
	uint32_t m = 251, t1[251], t2[251];
	char **keys = make_keys(5, 0);
	const char *again[5];

	(void)state;
	for (int i = 0; i < 5; i++)
		again[i] = keys[i];
	assert_int_equal(maglev_build((const char *const *)keys, 5, m, t1), 0);
	assert_int_equal(maglev_build(again, 5, m, t2), 0);
	assert_memory_equal(t1, t2, sizeof(t1));
	free_keys(keys, 5);
}

static void test_sizes(void **state)
{
	uint32_t t[4];
	const char *k[1] = {"x"};

	(void)state;
	assert_int_equal(maglev_table_size(1, 16381), 251);
	assert_int_equal(maglev_table_size(3, 16381), 509);
	assert_int_equal(maglev_table_size(160, 16381), 16381);
	assert_int_equal(maglev_table_size(10000, 16381), 16381);
	assert_int_equal(maglev_table_size(10000, 1021), 1021);
	assert_int_equal(maglev_table_size(10000, 1000), 509); /* rounded down to a listed prime */
	assert_true(maglev_size_valid(16381));
	assert_false(maglev_size_valid(16384));
	assert_int_equal(maglev_build(k, 0, 4, t), -EINVAL);
	assert_int_equal(maglev_build(k, 1, 1, t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_balance),
	    cmocka_unit_test(test_minimal_disruption),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
