/* SPDX-License-Identifier: Apache-2.0 */
/*
 * failalloc: allocation-failure injection for unit tests. A test linked with the failalloc
 * target (tests/lib/CMakeLists.txt) has malloc, calloc, realloc, strdup, strndup, asprintf
 * and vasprintf wrapped (-Wl,--wrap) in every object linked statically into it: the test and
 * drover's libraries. Shared libraries (libc's own calls, libfyaml, libbpf, cmocka) keep the
 * real allocator. Works with ASan: the wrappers call through to its interceptors.
 *
 * Typical use, a sweep over every allocation of an operation:
 *
 *	for (unsigned long n = 1;; n++) {
 *		failalloc_arm(n, FAILALLOC_THIS_THREAD);
 *		rc = op();
 *		failalloc_disarm();
 *		if (!failalloc_fired())
 *			break;           // op needed fewer than n allocations: it succeeded
 *		assert(rc == -ENOMEM); // and the state is what it was before
 *	}
 */
#ifndef DROVER_TEST_FAILALLOC_H
#define DROVER_TEST_FAILALLOC_H

#include <stdbool.h>

enum failalloc_flags {
	FAILALLOC_THIS_THREAD = 1u << 0, /* count only the arming thread's allocations */
	FAILALLOC_PERSIST = 1u << 1,	 /* the nth and every later allocation fail */
};

/* From now on, the nth counted allocation (1 = the next) fails with errno ENOMEM. */
void failalloc_arm(unsigned long nth, unsigned flags);
/* Stop failing and counting; failalloc_fired() keeps its answer until the next arm. */
void failalloc_disarm(void);
/* Whether an allocation was made to fail since the last arm. */
bool failalloc_fired(void);
/* The calling thread's allocations are neither counted nor failed until resume (nests): for
 * test doubles whose own memory is not what a test is about. */
void failalloc_pause(void);
void failalloc_resume(void);

#endif
