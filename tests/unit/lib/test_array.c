/* SPDX-License-Identifier: Apache-2.0 */
/*
 * array_grow / ARRAY_GROW (userspace/lib/array.h): capacities by doubling, contents kept,
 * no allocation when there is room, and a failure (allocation failed, a size past size_t)
 * that leaves the array and its capacity as they were.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include "array.h"
#include "failalloc.h"

static void test_grows_by_doubling(void **state)
{
	int *v = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	assert_int_equal(ARRAY_GROW(v, cap, 0), 0); /* nothing needed, nothing made */
	assert_null(v);
	assert_int_equal(cap, 0);
	for (int i = 0; i < 100; i++) {
		size_t before = cap;

		assert_int_equal(ARRAY_GROW(v, cap, n + 1), 0);
		assert_non_null(v);
		if (before)
			assert_true(cap == before || cap == 2 * before);
		else
			assert_int_equal(cap, 8);
		v[n++] = i;
	}
	assert_int_equal(cap, 128);
	for (int i = 0; i < 100; i++)
		assert_int_equal(v[i], i);
	/* a jump: as many doublings as it takes */
	assert_int_equal(ARRAY_GROW(v, cap, 1000), 0);
	assert_int_equal(cap, 1024);
	assert_int_equal(v[99], 99);
	free(v);
}

/* A failed allocation: -ENOMEM, the array, its contents and capacity untouched. */
static void test_allocation_failure(void **state)
{
	long *v = NULL, *old;
	size_t n = 0, cap = 0;

	(void)state;
	failalloc_arm(1, FAILALLOC_THIS_THREAD);
	assert_int_equal(ARRAY_GROW(v, cap, 1), -ENOMEM);
	failalloc_disarm();
	assert_true(failalloc_fired());
	assert_null(v);
	assert_int_equal(cap, 0);

	for (; n < 8; n++) {
		assert_int_equal(ARRAY_GROW(v, cap, n + 1), 0);
		v[n] = (long)n * 3;
	}
	old = v;
	failalloc_arm(1, FAILALLOC_THIS_THREAD);
	assert_int_equal(ARRAY_GROW(v, cap, n + 1), -ENOMEM);
	failalloc_disarm();
	assert_true(failalloc_fired());
	assert_ptr_equal(v, old);
	assert_int_equal(cap, 8);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i], (long)i * 3);
	/* and it grows once memory is there again */
	assert_int_equal(ARRAY_GROW(v, cap, n + 1), 0);
	assert_int_equal(cap, 16);
	assert_int_equal(v[7], 21);
	free(v);
}

/* No allocation is made when there is room (it cannot fail), nor for a size that does not
 * fit a size_t (refused: -ENOMEM, the array untouched). */
static void test_no_allocation(void **state)
{
	uint64_t *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(ARRAY_GROW(v, cap, 5), 0);
	failalloc_arm(1, FAILALLOC_THIS_THREAD | FAILALLOC_PERSIST);
	assert_int_equal(ARRAY_GROW(v, cap, 8), 0);
	assert_int_equal(ARRAY_GROW(v, cap, SIZE_MAX / 4), -ENOMEM);
	assert_int_equal(ARRAY_GROW(v, cap, SIZE_MAX), -ENOMEM);
	failalloc_disarm();
	assert_false(failalloc_fired());
	assert_non_null(v);
	assert_int_equal(cap, 8);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grows_by_doubling),
	    cmocka_unit_test(test_allocation_failure),
	    cmocka_unit_test(test_no_allocation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
