/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_test: helpers shared by the drover_k8s unit tests: parse a text into the objects it
 * holds, find a cause, read a data file. Every object and buffer a helper returns is the
 * test's to free (objs_free, free).
 */
#ifndef DROVER_K8S_TEST_H
#define DROVER_K8S_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "k8s.h"

#define K8S_TEST_MAX_OBJS 64

struct objs {
	struct k8s_obj *o[K8S_TEST_MAX_OBJS];
	size_t n;
	int stop_after; /* >0: the callback returns -ECANCELED after this many objects */
};

static inline int objs_cb(struct k8s_obj *obj, void *ud)
{
	struct objs *s = ud;

	if (s->n >= K8S_TEST_MAX_OBJS) {
		k8s_obj_free(obj);
		return -EOVERFLOW;
	}
	s->o[s->n++] = obj;
	if (s->stop_after && (int)s->n >= s->stop_after)
		return -ECANCELED;
	return 0;
}

static inline void objs_free(struct objs *s)
{
	for (size_t i = 0; i < s->n; i++)
		k8s_obj_free(s->o[i]);
	memset(s, 0, sizeof(*s));
}

/* Parse text with a field validation level; the objects land in s, the causes in e. */
static inline int parse_text(const char *text, enum k8s_field_validation v, struct objs *s,
			     struct k8s_errors *e)
{
	struct k8s_parse_opts o = {.validation = v};

	return k8s_parse_stream(text, strlen(text), &o, objs_cb, s, e);
}

/* Parse text that must hold exactly one valid object (Strict); fails the test otherwise. */
static inline struct k8s_obj *parse_one(const char *text)
{
	struct k8s_errors e = {0};
	struct k8s_obj *o = k8s_obj_parse(text, strlen(text), NULL, &e);

	if (!o) {
		char msg[2048];

		k8s_errors_format(&e, "test", NULL, msg, sizeof(msg));
		print_error("parse_one: %s\n", msg);
	}
	k8s_errors_free(&e);
	assert_non_null(o);
	return o;
}

/* The cause for field (with reason, when not NULL), or NULL. */
static inline const struct k8s_cause *find_cause(const struct k8s_errors *e, const char *field,
						 const char *reason)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->causes[i].field, field) == 0 &&
		    (!reason || strcmp(e->causes[i].reason, reason) == 0))
			return &e->causes[i];
	return NULL;
}

static inline bool has_warning(const struct k8s_errors *e, const char *text)
{
	for (size_t i = 0; i < e->nwarn; i++)
		if (strcmp(e->warnings[i], text) == 0)
			return true;
	return false;
}

/* Print the causes (on a failing assertion, cmocka shows what was found instead). */
static inline void dump_errors(const struct k8s_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		print_message("  cause %s | %s | %s\n", e->causes[i].field, e->causes[i].reason,
			      e->causes[i].message);
	for (size_t i = 0; i < e->nwarn; i++)
		print_message("  warning %s\n", e->warnings[i]);
}

/* Read a whole file (NUL-terminated); NULL if it cannot be read. */
static inline char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = 0;
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Canonical JSON of the object's root, asserting it exists; free() it. */
static inline char *json_of(const struct k8s_obj *o)
{
	char *j = k8s_obj_to_json(o);

	assert_non_null(j);
	return j;
}

#endif
