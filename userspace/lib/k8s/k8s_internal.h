/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_internal: what the files of drover_k8s share and nothing else links against: the text
 * buffer and field paths, the index of a mapping by its keys as JSON sees them, number formatting as
 * Go writes numbers, and the value-syntax checks of the special types.
 */
#ifndef DROVER_K8S_INTERNAL_H
#define DROVER_K8S_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <libfyaml.h>

#include "k8s.h"
#include "k8s_buf.h" /* the text buffer, field paths and JSON strings */

/* The node itself, or the target of an alias (NULL for a dangling alias). */
struct fy_node *k8s_deref(struct fy_node *n);
/* True if n belongs to a document parsed as JSON (JSON scalar rules apply). */
bool k8s_node_is_json(struct fy_node *n);
/* 1-based line and column of a node (of its first scalar token), 0 when unknown. */
void k8s_node_pos(struct fy_node *n, int *line, int *column);

/* A mapping's pairs with their keys converted to JSON strings as sigs.k8s.io/yaml does
 * (plain `1` -> "1", `yes` -> "true"), indexed by key. */
struct k8s_mpair {
	const char *key; /* not NUL-terminated */
	size_t klen;
	char *owned; /* key storage when converted */
	struct fy_node *knode, *value;
	size_t last; /* index of the last pair with this key (its value wins, as in Go) */
	bool dup;    /* an earlier pair has the same key */
};

struct k8s_mindex {
	struct k8s_mpair *pairs; /* document order */
	size_t *sorted;		 /* indexes of pairs, sorted by key then position */
	size_t n;
	struct k8s_mpair small[16];
	size_t small_sorted[16];
};

/* 0; -EINVAL if a key cannot be a JSON key (*badkey set to it); -ENOMEM. */
int k8s_mindex_build(struct fy_node *map, struct k8s_mindex *ix, struct fy_node **badkey);
/* The pair whose value a lookup of key gives (the last one), or NULL. */
const struct k8s_mpair *k8s_mindex_find(const struct k8s_mindex *ix, const char *key, size_t len);
void k8s_mindex_free(struct k8s_mindex *ix);

/* A key scalar as a JSON key string in *s and *len (owned by *owned when converted, else NULL).
 * -EINVAL for keys sigs.k8s.io/yaml refuses (null, collections, uint64 beyond int64). */
int k8s_key_string(struct fy_node *k, const char **s, size_t *len, char **owned);

/* Numbers as Go writes them: encoding/json for values, strconv 'g' (float32) for keys.
 * Return the length written (buf holds at least 32 bytes). */
size_t k8s_fmt_float_json(double f, char *buf, size_t size);
size_t k8s_fmt_float_key(double f, char *buf, size_t size);

/* Value syntax of the special types, as their UnmarshalJSON accept them. */
bool k8s_quantity_valid(const char *s, size_t len);
/* Drop the space around a quantity (strings.TrimSpace, as Quantity.UnmarshalJSON does). */
void k8s_quantity_trim(const char **s, size_t *len);
bool k8s_rfc3339_valid(const char *s, size_t len, bool micro);
bool k8s_duration_valid(const char *s, size_t len);
bool k8s_base64_valid(const char *s, size_t len);

/* k8s_field_findn() through a hash index; *order (may be NULL) gets the field's position in
 * the order Kubernetes writes t's fields (inline structs flattened). */
const struct k8s_field *k8s_field_lookup(const struct k8s_type *t, const char *name, size_t len,
					 uint32_t *order);

/* Resolve the text of a JSON number, true, false or null as k8s_scalar_resolve does for a
 * plain scalar of a JSON document; -EINVAL if it is none of them. */
int k8s_scalar_resolve_json(const char *s, size_t len, struct k8s_scalar *out);

/* ---- validation, shared by the libfyaml walker (k8s_validate.c) and k8s_jv_decode ---- */

struct k8s_vctx {
	enum k8s_field_validation fv;
	unsigned checks;
	struct k8s_errors *errs;
	struct k8s_buf path; /* the field path of the value being checked */
	size_t ncauses;
	int err;	  /* -ENOMEM: stop */
	const char *skip; /* top-level field only checked to be an array */
};

/* What a cause says about the value it is about. */
struct k8s_vnode {
	int line, column; /* 0 when unknown */
	char shape;	  /* 's' scalar, 'm' mapping, 'a' array */
	const char *raw;  /* a scalar's text as written, or NULL */
};

void k8s_vcause(struct k8s_vctx *c, const struct k8s_vnode *n, const char *reason, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
/* An unknown or duplicate field: a cause, a warning or nothing, by the validation level. */
void k8s_vstrictness(struct k8s_vctx *c, const struct k8s_vnode *n, const char *reason,
		     const char *what);
void k8s_vtype_invalid(struct k8s_vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		       const struct k8s_value *v);
void k8s_vinvalid(struct k8s_vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		  const char *detail);
/* A non-null scalar checked against the value type v. */
void k8s_vscalar(struct k8s_vctx *c, const struct k8s_vnode *n, const struct k8s_scalar *s,
		 const struct k8s_value *v);
/* A non-null value of a union (K8S_V_SCHEMA_OR_*) in a shape the union does not take:
 * JSONSchemaPropsOrBool refuses it as its UnmarshalJSON does; the others read it as empty
 * (their UnmarshalJSON ignores it). True when the value is to be dropped. */
bool k8s_vunion_other(struct k8s_vctx *c, const struct k8s_vnode *n, const struct k8s_value *v);

/* Values that hold any JSON, kept as written: RawExtension, FieldsV1, apiextensions JSON and
 * the types types.json does not describe. */
static inline bool k8s_vkind_any_json(enum k8s_vkind kind)
{
	return kind == K8S_V_RAW_EXTENSION || kind == K8S_V_FIELDS_V1 || kind == K8S_V_JSON ||
	       kind == K8S_V_ANY;
}

/* k8s_validate_ex(), except that the top-level field `skip` (a list's "items") is only checked
 * to be an array: its elements are validated on their own. */
int k8s_validate_node(struct fy_node *n, const struct k8s_type *t,
		      const struct k8s_validate_opts *o, const char *skip, struct k8s_errors *errs);

/* Drop the causes of dst from n0 on and its warnings from w0 on, then move src's causes,
 * warnings and object into dst (src is left empty). 0 or -ENOMEM. */
int k8s_errors_splice(struct k8s_errors *dst, size_t n0, size_t w0, struct k8s_errors *src);

/* Length of the valid UTF-8 sequence at s (as Go's utf8.DecodeRune: no overlong forms, no
 * surrogates), 0 if invalid; *cp is the code point. */
size_t k8s_utf8_decode(const unsigned char *s, size_t len, unsigned *cp);
/* A resolved scalar as JSON; -EINVAL when it has none (NaN, infinity). */
int k8s_buf_json_scalar(struct k8s_buf *b, const struct k8s_scalar *s);

#endif
