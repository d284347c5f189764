/* SPDX-License-Identifier: Apache-2.0 */
/* array.c: growable arrays (array.h). */
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_MIN_CAP 8

int array_grow(void **arr, size_t *cap, size_t need, size_t elsz)
{
	size_t c = *cap ? *cap : ARRAY_MIN_CAP;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (elsz && c > SIZE_MAX / elsz)
		return -ENOMEM;
	p = realloc(*arr, c * elsz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}
