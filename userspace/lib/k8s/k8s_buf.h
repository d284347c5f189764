/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_buf: the growable text buffer drover writes JSON, messages and field paths into
 * ("spec.ports[0].port"). A buffer owns its bytes (free(b->p)); on allocation failure it keeps
 * what it has and sets oom, so callers check once at the end. p is NUL-terminated once
 * anything was written.
 */
#ifndef DROVER_K8S_BUF_H
#define DROVER_K8S_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct k8s_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void k8s_buf_put(struct k8s_buf *b, const char *s, size_t len);
void k8s_buf_putc_slow(struct k8s_buf *b, char c);
static inline void k8s_buf_putc(struct k8s_buf *b, char c)
{
	if (b->len + 2 <= b->cap) {
		b->p[b->len++] = c;
		b->p[b->len] = 0;
		return;
	}
	k8s_buf_putc_slow(b, c);
}
void k8s_buf_puts(struct k8s_buf *b, const char *s);
void k8s_buf_printf(struct k8s_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make room for more bytes; false (and oom) on allocation failure. */
bool k8s_buf_reserve(struct k8s_buf *b, size_t more);
/* Hand the bytes over (malloc'd, NUL-terminated, "" when empty; NULL after oom) and reset. */
char *k8s_buf_take(struct k8s_buf *b, size_t *len);
void k8s_buf_free(struct k8s_buf *b);

/* Field paths in a buffer ("spec.ports[0].port"). Each push returns the length to restore
 * with k8s_path_pop(); k8s_path_str() is "" for an empty path. */
size_t k8s_path_field(struct k8s_buf *p, const char *name, size_t len); /* ".name" */
size_t k8s_path_index(struct k8s_buf *p, size_t i);			/* "[i]" */
size_t k8s_path_key(struct k8s_buf *p, const char *key, size_t len);	/* "[key]" */
void k8s_path_pop(struct k8s_buf *p, size_t len);
const char *k8s_path_str(const struct k8s_buf *p);

/* A JSON string literal, escaped as Go's encoding/json does (HTML-safe, \ufffd for bad UTF-8). */
void k8s_buf_json_string(struct k8s_buf *b, const char *s, size_t len);

#endif
