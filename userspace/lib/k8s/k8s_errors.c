/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_errors: the causes (field, reason, message, position) and warnings a parse or a
 * validation reports, and their one-line human form. struct k8s_errors owns every string in
 * it; k8s_errors_free() releases them all.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"

void k8s_errors_free(struct k8s_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->causes[i].field);
		free(e->causes[i].reason);
		free(e->causes[i].message);
	}
	for (size_t i = 0; i < e->nwarn; i++)
		free(e->warnings[i]);
	free(e->causes);
	free(e->warnings);
	free(e->kind);
	free(e->namespace);
	free(e->name);
	memset(e, 0, sizeof(*e));
}

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/* Room for one more element in an array of n (doubling). */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *na;

	if (n < *cap)
		return 0;
	na = realloc(*arr, ncap * size);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = ncap;
	return 0;
}

int k8s_errors_add(struct k8s_errors *e, const char *field, const char *reason, int line,
		   int column, const char *fmt, ...)
{
	struct k8s_cause *c;
	va_list ap;

	if (!e)
		return 0;
	if (e->n >= K8S_ERRORS_MAX) {
		e->ndropped++;
		return 0;
	}
	if (grow((void **)&e->causes, &e->cap, e->n, sizeof(*e->causes)) != 0)
		return -ENOMEM;
	c = &e->causes[e->n];
	memset(c, 0, sizeof(*c));
	va_start(ap, fmt);
	c->message = vformat(fmt, ap);
	va_end(ap);
	c->field = strdup(field ? field : "");
	c->reason = strdup(reason ? reason : K8S_REASON_INVALID);
	c->line = line;
	c->column = column;
	if (!c->message || !c->field || !c->reason) {
		free(c->message);
		free(c->field);
		free(c->reason);
		return -ENOMEM;
	}
	e->n++;
	return 0;
}

int k8s_errors_warn(struct k8s_errors *e, const char *fmt, ...)
{
	va_list ap;
	char *w;

	if (!e)
		return 0;
	if (e->nwarn >= K8S_ERRORS_MAX) {
		e->ndropped++;
		return 0;
	}
	if (grow((void **)&e->warnings, &e->capwarn, e->nwarn, sizeof(*e->warnings)) != 0)
		return -ENOMEM;
	va_start(ap, fmt);
	w = vformat(fmt, ap);
	va_end(ap);
	if (!w)
		return -ENOMEM;
	e->warnings[e->nwarn++] = w;
	return 0;
}

int k8s_errors_splice(struct k8s_errors *dst, size_t n0, size_t w0, struct k8s_errors *src)
{
	while (dst->n > n0) {
		struct k8s_cause *c = &dst->causes[--dst->n];

		free(c->field);
		free(c->reason);
		free(c->message);
	}
	while (dst->nwarn > w0)
		free(dst->warnings[--dst->nwarn]);
	for (; src->n; src->n--) {
		if (grow((void **)&dst->causes, &dst->cap, dst->n, sizeof(*dst->causes)) != 0)
			return -ENOMEM;
		dst->causes[dst->n++] = src->causes[0];
		memmove(src->causes, src->causes + 1, (src->n - 1) * sizeof(*src->causes));
	}
	for (; src->nwarn; src->nwarn--) {
		if (grow((void **)&dst->warnings, &dst->capwarn, dst->nwarn,
			 sizeof(*dst->warnings)) != 0)
			return -ENOMEM;
		dst->warnings[dst->nwarn++] = src->warnings[0];
		memmove(src->warnings, src->warnings + 1,
			(src->nwarn - 1) * sizeof(*src->warnings));
	}
	dst->ndropped += src->ndropped;
	if (src->kind || src->name) {
		free(dst->kind);
		free(dst->namespace);
		free(dst->name);
		dst->kind = src->kind;
		dst->namespace = src->namespace;
		dst->name = src->name;
		src->kind = src->namespace = src->name = NULL;
	}
	return 0;
}

int k8s_errors_format(const struct k8s_errors *e, const char *origin, const struct k8s_obj *obj,
		      char *buf, size_t len)
{
	const char *kind = NULL, *ns = NULL, *name = NULL;
	struct k8s_buf b = {0};
	int ret = 0;

	if (!e || !buf || len == 0)
		return -EINVAL;
	if (obj) {
		kind = k8s_obj_kind(obj) ? k8s_obj_kind(obj)->kind : NULL;
		ns = k8s_obj_namespace(obj);
		name = k8s_obj_name(obj);
	} else {
		kind = e->kind;
		ns = e->namespace;
		name = e->name;
	}
	if (origin)
		k8s_buf_printf(&b, "%s: ", origin);
	if (kind) {
		k8s_buf_printf(&b, "%s", kind);
		if (name)
			k8s_buf_printf(&b, " %s%s%s", ns ? ns : "", ns ? "/" : "", name);
		k8s_buf_put(&b, ": ", 2);
	}
	for (size_t i = 0; i < e->n; i++) {
		const struct k8s_cause *c = &e->causes[i];

		if (i)
			k8s_buf_put(&b, "; ", 2);
		if (c->field[0])
			k8s_buf_printf(&b, "%s: ", c->field);
		k8s_buf_printf(&b, "%s", c->message);
	}
	if (e->ndropped)
		k8s_buf_printf(&b, "; and %zu more", e->ndropped);
	if (e->n == 0 && !e->ndropped)
		k8s_buf_printf(&b, "no errors");
	if (b.oom) {
		free(b.p);
		buf[0] = 0;
		return -ENOMEM;
	}
	if (b.len >= len) {
		ret = -ENOSPC;
		b.len = len - 1;
	}
	memcpy(buf, b.p, b.len);
	buf[b.len] = 0;
	free(b.p);
	return ret;
}
