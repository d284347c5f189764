/* SPDX-License-Identifier: Apache-2.0 */
/* failalloc: the wrapped allocators and their counter (see failalloc.h). */
#define _GNU_SOURCE
#include "failalloc.h"

#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);
int __wrap_asprintf(char **out, const char *fmt, ...);

static atomic_bool armed, fired;
static atomic_ulong count, nth;
static atomic_uint flags;
static pthread_t owner;
static __thread unsigned paused;

void failalloc_arm(unsigned long n, unsigned f)
{
	atomic_store(&armed, false);
	owner = pthread_self();
	atomic_store(&count, 0);
	atomic_store(&fired, false);
	atomic_store(&nth, n);
	atomic_store(&flags, f);
	atomic_store(&armed, n != 0);
}

void failalloc_disarm(void)
{
	atomic_store(&armed, false);
}

bool failalloc_fired(void)
{
	return atomic_load(&fired);
}

void failalloc_pause(void)
{
	paused++;
}

void failalloc_resume(void)
{
	paused--;
}

static bool refuse(void)
{
	unsigned long c, n;
	unsigned f;

	if (!atomic_load(&armed) || paused)
		return false;
	f = atomic_load(&flags);
	if ((f & FAILALLOC_THIS_THREAD) && !pthread_equal(pthread_self(), owner))
		return false;
	c = atomic_fetch_add(&count, 1) + 1;
	n = atomic_load(&nth);
	if (c == n || ((f & FAILALLOC_PERSIST) && c > n)) {
		atomic_store(&fired, true);
		if (getenv("FAILALLOC_BACKTRACE")) {
			/* which allocation failed, for a test that found a loss (backtrace() does not
			 * allocate once libgcc is loaded: it is, by the first failure's time) */
			void *bt[32];
			int k = backtrace(bt, 32);

			fprintf(stderr, "failalloc: allocation %lu failed at\n", c);
			backtrace_symbols_fd(bt, k, 2);
		}
		errno = ENOMEM;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t size)
{
	return refuse() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return refuse() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return refuse() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
	return refuse() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return refuse() ? NULL : __real_strndup(s, n);
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
	return refuse() ? -1 : __real_vasprintf(out, fmt, ap);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (refuse())
		return -1;
	va_start(ap, fmt);
	rc = __real_vasprintf(out, fmt, ap);
	va_end(ap);
	return rc;
}
