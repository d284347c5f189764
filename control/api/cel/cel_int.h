/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_int: the types the CEL modules share — the arena, the syntax tree (cel_parse.c), the
 * values and the evaluation context (cel_eval.c) and the function library (cel_lib.c).
 */
#ifndef DROVER_CEL_INT_H
#define DROVER_CEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cel.h"

/* ---- arena ---- */

struct cel_chunk;

struct cel_arena {
	struct cel_chunk *head;
	size_t total, limit; /* bytes held; 0: no limit */
};

void *cel_alloc(struct cel_arena *a, size_t size); /* zeroed; NULL past the limit */
void cel_arena_free(struct cel_arena *a);

/* ---- values ---- */

enum cel_t {
	CT_NULL = 0,
	CT_BOOL,
	CT_INT,
	CT_UINT,
	CT_DOUBLE,
	CT_STRING,
	CT_BYTES,
	CT_LIST,
	CT_MAP,
	CT_TYPE, /* s: the type's name */
	CT_DURATION,
	CT_TIMESTAMP,
	CT_OPTIONAL,
	CT_ERROR,    /* s: the message */
	CT_LAZY,     /* lazy: a binding's map of expressions */
	CT_QUANTITY, /* i: the value in thousandths (Kubernetes' quantity library) */
};

struct cel_val;

struct cel_list {
	size_t n;
	struct cel_val *items;
};

struct cel_map {
	size_t n;
	struct cel_val *keys, *vals;
};

struct cel_val {
	uint8_t t;  /* enum cel_t */
	uint8_t jv; /* CT_LIST / CT_MAP: read off a JSON node (j), else native (l / m) */
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double d;
		struct {
			const char *s;
			size_t len;
		} s;
		struct {
			const struct jv *v, *sch;
		} j;
		struct cel_list *l;
		struct cel_map *m;
		struct cel_val *opt; /* CT_OPTIONAL: NULL when empty */
		const struct cel_binding *lazy;
		struct {
			int64_t sec; /* seconds (since the epoch for a timestamp) */
			int32_t nsec;
		} tm;
	};
};

/* ---- syntax tree ---- */

enum cel_n {
	N_LIT,
	N_IDENT,
	N_SELECT, /* a.name */
	N_HAS,	  /* has(a.name) */
	N_INDEX,  /* a[b] */
	N_CALL,	  /* name(args) or a.name(args) (a: the receiver, or NULL) */
	N_LIST,
	N_MAP, /* args: key, value, key, value ... */
	N_COND,
	N_AND,
	N_OR,
	N_NOT,
	N_NEG,
	N_BIN,	 /* op: one of the binary operators below */
	N_MACRO, /* a.name(var, args): all, exists, exists_one, map, filter */
};

enum cel_op {
	OP_ADD = 1,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
};

enum cel_macro {
	M_ALL = 1,
	M_EXISTS,
	M_EXISTS_ONE,
	M_MAP,
	M_FILTER,
};

struct cel_node {
	uint8_t kind;	/* enum cel_n */
	uint8_t op;	/* enum cel_op / enum cel_macro */
	uint32_t pos;	/* byte offset in the source */
	uint32_t depth; /* of the subtree (evaluation recurses this deep) */
	const char *name;
	size_t nlen;
	struct cel_node *a, *b, *c;
	struct cel_node **args;
	size_t nargs;
	struct cel_val lit;
};

struct cel_program {
	struct cel_arena ar;
	struct cel_node *root;
	char *src;
	const char **vars; /* the declared variables the expression references */
	size_t nvars;
};

/* cel-go's display of an error at byte off of src: "ERROR: <input>:L:C: msg", the line, a
 * caret under the column */
void cel_error_display(const char *src, size_t len, size_t off, const char *msg, char *out,
		       size_t outlen);
/* cel_parse.c: the tree of src in p->ar; 0, or -EINVAL with err filled. */
int cel_parse(struct cel_program *p, const char *src, size_t len, char *err, size_t errlen);

/* ---- evaluation ---- */

struct cel_scope {
	const char *name;
	size_t nlen;
	struct cel_val v;
	struct cel_scope *up;
};

struct cel_ctx {
	struct cel_arena ar;
	const struct cel_binding *vars;
	size_t nvars;
	int64_t cost, limit;
	bool cancelled;
	int lazy_depth; /* lazy expressions being computed, one inside another */
	struct cel_scope *scope;
};

struct cel_val cel_err(struct cel_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct cel_val cel_cancelled(struct cel_ctx *c);
/* charge n to the cost; false (and cancelled) past the limit */
bool cel_charge(struct cel_ctx *c, int64_t n);
struct cel_val cel_str(struct cel_ctx *c, const char *s, size_t len, bool copy);
struct cel_val cel_bool(bool b);
struct cel_val cel_int(int64_t i);
struct cel_val cel_type(const char *name);
const char *cel_type_name(const struct cel_val *v);
/* size, item, iteration of lists and maps of either form */
size_t cel_size(const struct cel_val *v);
struct cel_val cel_list_at(struct cel_ctx *c, const struct cel_val *l, size_t i);
struct cel_val cel_jv_val(struct cel_ctx *c, const struct jv *v, const struct jv *sch);
struct cel_val cel_new_list(struct cel_ctx *c, size_t n);
/* -1/0/1; 2 when the values do not compare (no such overload) */
int cel_compare(const struct cel_val *a, const struct cel_val *b);
bool cel_equal(struct cel_ctx *c, const struct cel_val *a, const struct cel_val *b);
/* CEL's string(x); an error value when x has no string form */
struct cel_val cel_to_string(struct cel_ctx *c, const struct cel_val *v);
void cel_format_double(double d, char *out, size_t len);

const struct jv *cel_member_schema(const struct jv *sch, const char *key, size_t klen);
/* key i of a map (member: its JSON member when the map is read off the tree) */
struct cel_val cel_map_key(const struct cel_val *m, const struct jv *member, size_t i);
/* m[key] (escaped: also try Kubernetes' unescaped property name); false when absent */
bool cel_map_get(struct cel_ctx *c, const struct cel_val *m, const struct cel_val *key,
		 bool escaped, struct cel_val *out);
/* Kubernetes' escaped property name (foo__dash__bar) unescaped into out: its length */
size_t cel_unescape_name(const char *s, size_t len, char *out, size_t olen);
struct k8s_buf;
void cel_print_val(struct cel_ctx *c, struct k8s_buf *b, const struct cel_val *v, int depth);

/* optional.of(*v), or optional.none() for NULL */
struct cel_val cel_optional(struct cel_ctx *c, const struct cel_val *v);
/* cel_lib.c: size(v) */
struct cel_val cel_size_of(struct cel_ctx *c, const struct cel_node *n, const struct cel_val *v);
/* cel_strings.c: the code points of s; the string (or bytes) method n of s */
size_t cel_utf8_len(const char *s, size_t len);
struct cel_val cel_string_method(struct cel_ctx *c, const struct cel_node *n, struct cel_val *s,
				 struct cel_val *a, size_t na);
/* l.join(sep?) (sep NULL: none) */
struct cel_val cel_join(struct cel_ctx *c, const struct cel_val *l, const struct cel_val *sep);
/* cel_re.c: s.matches(re) */
struct cel_val cel_matches(struct cel_ctx *c, const struct cel_val *s, const struct cel_val *re);

/* cel_lib.c: the function name(recv?, args) over evaluated arguments */
struct cel_val cel_call(struct cel_ctx *c, const struct cel_node *n, struct cel_val *recv,
			struct cel_val *args, size_t nargs);

#endif
