/* SPDX-License-Identifier: Apache-2.0 */
/*
 * array: room in a growable array (a pointer and its capacity in elements), grown by
 * doubling so that n appends cost O(n) copies.
 *
 *	struct item *v = NULL;
 *	size_t n = 0, cap = 0;
 *
 *	if (ARRAY_GROW(v, cap, n + 1))
 *		return -ENOMEM;  // v and cap as they were: v is still the caller's to free
 *	v[n++] = item;
 */
#ifndef DROVER_ARRAY_H
#define DROVER_ARRAY_H

#include <stddef.h>

/* Room for need elements of elsz bytes in *arr, whose capacity is *cap elements: a capacity
 * of 8 or twice the old one, as often as need asks. Returns 0, or -ENOMEM (also when the
 * size would not fit a size_t) with *arr and *cap unchanged. */
int array_grow(void **arr, size_t *cap, size_t need, size_t elsz);

/* array_grow() for a typed pointer arr and its size_t capacity cap (lvalues). */
#define ARRAY_GROW(arr, cap, need) array_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

#endif
