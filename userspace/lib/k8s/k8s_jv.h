/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_jv: a fast, mutable JSON tree for code that transforms Kubernetes objects (the API
 * server's defaulting, patches, server-side apply, tables, selectors). libfyaml stays the
 * reader of YAML; a JSON request body or a stored object is read here at memory speed
 * (libfyaml needs ~200 µs for a 2 KiB pod, this parser a few µs), checked against the schema
 * with the same rules and messages as k8s_validate (k8s_jv_decode), and written back in the
 * order Kubernetes writes it (k8s_jv_write_schema).
 *
 * Ownership: a struct jv_doc is an arena that owns every node and string of the trees built
 * in it; nothing is freed before jv_doc_free(). Nodes of one doc may be linked into a tree of
 * the same doc only (jv_copy moves a tree across docs). Strings and keys are NUL-terminated
 * (they may also hold NUL bytes: use len/klen). Not thread-safe: one doc, one thread.
 */
#ifndef DROVER_K8S_JV_H
#define DROVER_K8S_JV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s.h"

#include "k8s_buf.h"

enum jv_type {
	JV_NULL = 0,
	JV_FALSE,
	JV_TRUE,
	JV_NUMBER, /* s: the number's JSON text */
	JV_STRING, /* s: the decoded bytes */
	JV_ARRAY,
	JV_OBJECT,
};

enum jv_flags {
	JV_F_FRAC = 1u << 0, /* a number with a fraction or an exponent */
};

struct jv {
	struct jv *next; /* next item of the parent array / member of the parent object */
	const char *key; /* member of an object: its key */
	union {
		const char *s;	 /* JV_STRING, JV_NUMBER */
		struct jv *head; /* JV_ARRAY, JV_OBJECT: first child */
	};
	struct jv *tail; /* JV_ARRAY, JV_OBJECT: last child */
	uint32_t klen;
	uint32_t len; /* string/number bytes, or the number of children */
	uint8_t type; /* enum jv_type */
	uint8_t flags;
};

struct jv_doc;

struct jv_doc *jv_doc_new(void);
void jv_doc_free(struct jv_doc *d);
/* Bytes the arena holds (for memory accounting). */
size_t jv_doc_size(const struct jv_doc *d);
/* Arena memory, 8-byte aligned, zeroed; NULL on allocation failure. */
void *jv_alloc(struct jv_doc *d, size_t size);
char *jv_strndup(struct jv_doc *d, const char *s, size_t len);

/* ---- parsing ---- */

struct jv_perr {
	size_t offset; /* byte offset of the error in the input */
	char msg[128]; /* Go's wording: "invalid character '}' looking for beginning of value" */
};

/* Parse exactly one JSON value (surrounding whitespace allowed) of RFC 8259, nested at most
 * K8S_MAX_DEPTH deep. Strings are decoded (escapes, surrogate pairs; an unpaired surrogate
 * becomes U+FFFD as Go's decoder does); duplicate keys are kept in order (jv_get finds the
 * last, as Go's decoder keeps the last). NULL with err filled (errno EINVAL) or errno
 * ENOMEM. The input is copied: it need not outlive the tree. */
struct jv *jv_parse(struct jv_doc *d, const char *buf, size_t len, struct jv_perr *err);

/* ---- building ---- */

struct jv *jv_new(struct jv_doc *d, enum jv_type type);
struct jv *jv_new_bool(struct jv_doc *d, bool b);
struct jv *jv_new_int(struct jv_doc *d, int64_t i);
struct jv *jv_new_num(struct jv_doc *d, const char *text, size_t len); /* text is JSON */
/* A float as Go's encoding/json writes it (shortest round-trip form); NULL if not finite. */
struct jv *jv_new_double(struct jv_doc *d, double f);
struct jv *jv_new_str(struct jv_doc *d, const char *s, size_t len);
struct jv *jv_new_strz(struct jv_doc *d, const char *s);
/* n bytes as a []byte field holds them: a string of their RFC 4648 standard base64. */
struct jv *jv_new_base64(struct jv_doc *d, const void *p, size_t n);
/* printf into a new string node */
struct jv *jv_new_strf(struct jv_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Deep copy of v into doc d (which may be v's own); the copy has no key. */
struct jv *jv_copy(struct jv_doc *d, const struct jv *v);

/* ---- objects ---- */

/* The value of the last member named key, or NULL (also when o is not an object). */
struct jv *jv_get(const struct jv *o, const char *key);
struct jv *jv_getn(const struct jv *o, const char *key, size_t klen);
/* Set key to val (val must be unlinked): replaces the first member with that key (later
 * duplicates are dropped), else appends. The key is copied into d. 0 or -ENOMEM/-EINVAL. */
int jv_set(struct jv_doc *d, struct jv *o, const char *key, struct jv *val);
int jv_setn(struct jv_doc *d, struct jv *o, const char *key, size_t klen, struct jv *val);
/* Remove every member named key; returns the last one removed (or NULL). */
struct jv *jv_del(struct jv *o, const char *key);
struct jv *jv_deln(struct jv *o, const char *key, size_t klen);
/* The object at key, created (or replacing a non-object) if needed; NULL on -ENOMEM. */
struct jv *jv_obj_at(struct jv_doc *d, struct jv *o, const char *key);

/* ---- arrays (and raw child lists) ---- */

/* Append val (unlinked) to an array; for an object, val->key must already be set. */
void jv_push(struct jv *a, struct jv *val);
/* Item i of an array, or NULL. */
struct jv *jv_at(const struct jv *a, size_t i);
/* Unlink child c from container p; prev is c's predecessor (NULL if c is the head). */
void jv_unlink(struct jv *p, struct jv *prev, struct jv *c);
/* Drop every child. */
void jv_clear(struct jv *p);

/* ---- reading ---- */

/* Getters by path, as k8s_get: "spec.ports", "metadata.labels[app.kubernetes.io/name]",
 * "spec.containers[0].image", or "/spec/ports/0" (JSON Pointer). NULL if absent. */
struct jv *jv_path(const struct jv *v, const char *path);
/* The string at path, or NULL if absent or not a string. */
const char *jv_path_str(const struct jv *v, const char *path);
/* 0 and *out, -ENOENT (absent or null), -EINVAL (not an integer). */
int jv_path_int(const struct jv *v, const char *path, int64_t *out);
/* A number node's integer value: 0, or -EINVAL (fraction, exponent, out of int64). */
int jv_int(const struct jv *v, int64_t *out);
bool jv_is_str(const struct jv *v, const char *s);
/* Semantic equality: object members compared by key regardless of order (last duplicate
 * wins), numbers by value. */
bool jv_equal(const struct jv *a, const struct jv *b);
/* First child of an object or array; NULL for scalars, empty containers and NULL. */
static inline struct jv *jv_first(const struct jv *v)
{
	return v && (v->type == JV_ARRAY || v->type == JV_OBJECT) ? v->head : NULL;
}
/* Number of children of an object or array (0 for scalars and NULL). */
static inline size_t jv_count(const struct jv *v)
{
	return v && (v->type == JV_ARRAY || v->type == JV_OBJECT) ? v->len : 0;
}

/* ---- writing ---- */

/* Compact JSON, members in their order, strings escaped as Go's encoding/json does. */
void jv_write(struct k8s_buf *b, const struct jv *v);
/* malloc'd compact JSON; NULL with errno ENOMEM. *len (may be NULL) gets its length. */
char *jv_to_json(const struct jv *v, size_t *len);

/* ---- the schema ---- */

/* Decode v as Kubernetes decodes a request body into type t: every check of k8s_validate
 * (types, unknown and duplicate fields by the validation level, enums and +required fields
 * under Strict, the syntax of quantities, times, durations and base64) with the same causes
 * and warnings, then normalize what the decode would have made of it: duplicate keys
 * collapsed (first position, last value), unknown fields dropped (Warn/Ignore), nulls
 * dropped, empty lists and maps of omitempty fields dropped. 0, -EINVAL (causes added),
 * -ENOMEM. */
int k8s_jv_decode(struct jv *v, const struct k8s_type *t, const struct k8s_validate_opts *o,
		  struct k8s_errors *errs);

/* JSON as Kubernetes writes the object: struct fields in the schema's (Go struct) order,
 * map keys sorted, fields the schema does not know after the known ones. t may be NULL
 * (members in their order). */
void k8s_jv_write_schema(struct k8s_buf *b, const struct jv *v, const struct k8s_type *t);

/* A tree from a libfyaml node (YAML read with Kubernetes' YAML 1.1 rules), via its canonical
 * JSON. NULL with errno set. */
struct jv *k8s_jv_from_node(struct jv_doc *d, struct fy_node *n);

#endif
