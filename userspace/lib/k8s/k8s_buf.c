/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_buf: the growable text buffer the library writes JSON, messages and field paths into
 * ("spec.ports[0].port"). A buffer owns its bytes (free(b->p)); on allocation failure it keeps
 * what it has and sets oom, so callers check once at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"

bool k8s_buf_reserve(struct k8s_buf *b, size_t more)
{
	size_t cap;
	char *np;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = cap;
	return true;
}

void k8s_buf_put(struct k8s_buf *b, const char *s, size_t len)
{
	if (!k8s_buf_reserve(b, len))
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = 0;
}

void k8s_buf_putc_slow(struct k8s_buf *b, char c)
{
	k8s_buf_put(b, &c, 1);
}

void k8s_buf_puts(struct k8s_buf *b, const char *s)
{
	k8s_buf_put(b, s, strlen(s));
}

char *k8s_buf_take(struct k8s_buf *b, size_t *len)
{
	char *p = b->p;

	if (b->oom) {
		free(p);
		p = NULL;
	} else if (!p) {
		p = calloc(1, 1);
	}
	if (len)
		*len = p ? b->len : 0;
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = false;
	return p;
}

void k8s_buf_free(struct k8s_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

void k8s_buf_printf(struct k8s_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !k8s_buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- field paths ---- */

size_t k8s_path_field(struct k8s_buf *p, const char *name, size_t len)
{
	size_t old = p->len;

	if (p->len)
		k8s_buf_putc(p, '.');
	k8s_buf_put(p, name, len);
	return old;
}

size_t k8s_path_index(struct k8s_buf *p, size_t i)
{
	size_t old = p->len;

	k8s_buf_printf(p, "[%zu]", i);
	return old;
}

size_t k8s_path_key(struct k8s_buf *p, const char *key, size_t len)
{
	size_t old = p->len;

	k8s_buf_putc(p, '[');
	k8s_buf_put(p, key, len);
	k8s_buf_putc(p, ']');
	return old;
}

void k8s_path_pop(struct k8s_buf *p, size_t len)
{
	if (p->p && len <= p->len) {
		p->len = len;
		p->p[len] = 0;
	}
}

const char *k8s_path_str(const struct k8s_buf *p)
{
	return p->p ? p->p : "";
}
