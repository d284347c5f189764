/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel: the Common Expression Language (github.com/google/cel-spec langdef.md) as
 * kube-apiserver 1.32 evaluates it for CRD x-kubernetes-validations rules: the grammar
 * (literals, lists, maps, selection, indexing, operators, the ternary), CEL's commutative
 * &&/|| over errors, the macros (has, all, exists, exists_one, map, filter), the standard
 * functions and conversions, and the Kubernetes list and string libraries
 * (k8s.io/apiserver/pkg/cel/library: lists.go, cel-go ext strings). Values are read straight
 * off drover's JSON tree (k8s_jv.h) with the structural schema beside them: a schema
 * "number" is a double, an "integer" an int, an object a map.
 *
 * Bounded: the parser refuses nesting deeper than CEL_MAX_DEPTH, and evaluation counts a
 * cost (about one per node visited, per loop iteration and per ten bytes a string function
 * touches) and stops with cel-go's "operation cancelled: actual cost limit exceeded" past the
 * caller's limit. No type checker: what cel-go's checker refuses at compile time (unknown
 * fields, mismatched overloads) is a runtime error here, except undeclared identifiers.
 *
 * Independent of HTTP and of the API server: a program is compiled once and evaluated from
 * any thread (a program is read-only once compiled; each evaluation has its own arena).
 */
#ifndef DROVER_CEL_H
#define DROVER_CEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jv;

#define CEL_MAX_DEPTH	   100
/* k8s.io/apiserver/pkg/apis/cel/config.go: PerCallLimit and RuntimeCELCostBudget */
#define CEL_PER_CALL_LIMIT 1000000
#define CEL_RUNTIME_BUDGET 10000000
#define CEL_COST_EXCEEDED  "operation cancelled: actual cost limit exceeded"

struct cel_program;

/* Compile src. vars names the variables the expression may reference (e.g. "self",
 * "oldSelf"); any other identifier is refused as cel-go's checker refuses it. NULL with err
 * filled in cel-go's form ("ERROR: <input>:1:5: Syntax error: ...") or errno ENOMEM. */
struct cel_program *cel_compile(const char *src, const char *const *vars, size_t nvars, char *err,
				size_t errlen);
void cel_program_free(struct cel_program *p);
/* cel-go's checker on the field selections of self and oldSelf against their structural
 * schema (root: the resource's root, with apiVersion, kind and metadata.name/generateName):
 * 0, or -1 with err filled ("ERROR: <input>:1:5: undefined field 'x'"). */
int cel_check_schema(const struct cel_program *p, const struct jv *schema, bool root, char *err,
		     size_t errlen);
/* Whether the expression references the variable name (as a transition rule uses oldSelf). */
bool cel_program_uses(const struct cel_program *p, const char *name);

/* A variable's value: a JSON node read with its structural schema (schema may be NULL: then
 * numbers with a fraction or exponent are doubles, others ints), its objects without
 * duplicate keys (as the API server's decoders hand them over: a map's members are read as
 * they are). optional: the variable is a
 * CEL optional (optionalOldSelf), empty when value is NULL. */
struct cel_binding {
	const char *name;
	const struct jv *value;
	const struct jv *schema;
	bool optional;
	/* or a map of expressions computed when read (a ValidatingAdmissionPolicy's
	 * variables: variables.<name>), compiled with the same variables */
	const char *const *lazy_names;
	struct cel_program *const *lazy_progs;
	size_t nlazy;
};

enum cel_result_type {
	CEL_R_ERROR = 0, /* the evaluation failed: text holds the error */
	CEL_R_BOOL,
	CEL_R_STRING, /* text holds the string itself */
	CEL_R_OTHER,  /* text holds the value printed (as cel_eval_print does) */
};

struct cel_result {
	enum cel_result_type type;
	bool b;
	char *text;	    /* malloc'd, NUL-terminated (NULL for a bool) */
	size_t len;	    /* bytes of text */
	int64_t cost;	    /* the cost the evaluation used */
	bool cost_exceeded; /* stopped at the cost limit */
};

/* Evaluate p with the given variables, stopping past cost_limit (0: CEL_PER_CALL_LIMIT).
 * 0 with r filled (an evaluation error is a result of type CEL_R_ERROR), or -ENOMEM. */
int cel_eval(const struct cel_program *p, const struct cel_binding *vars, size_t nvars,
	     int64_t cost_limit, struct cel_result *r);
/* The same, the result always printed into r->text as CEL would write it as a literal
 * ("1", "2u", "1.5", "\"s\"", "b\"\\x01\"", "[1, 2]", "{\"a\": true}", "int"); errors as
 * "error: <message>". For tests and messages. */
int cel_eval_print(const struct cel_program *p, const struct cel_binding *vars, size_t nvars,
		   int64_t cost_limit, struct cel_result *r);
void cel_result_free(struct cel_result *r);

#endif
