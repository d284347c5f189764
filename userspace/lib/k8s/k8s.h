/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s: drover's one Kubernetes object model. Parses YAML or JSON with libfyaml, reads
 * scalars as Kubernetes reads YAML (sigs.k8s.io/yaml over go-yaml v2: YAML 1.1 resolution),
 * and validates every object against the schema tables of k8s_schema.h the way the API
 * server's strict decoder does (types, unknown and duplicate fields, enums, required fields).
 *
 * Ownership: a struct k8s_obj owns its fy_document; every node and string obtained from an
 * object lives as long as the object. struct k8s_errors owns its causes and warnings. All
 * functions return 0 or -errno unless said otherwise; every free accepts NULL.
 */
#ifndef DROVER_K8S_H
#define DROVER_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_schema.h"

struct fy_node;
struct fy_document;

/* One decoded object; owns its fy_document. */
struct k8s_obj;

/* Kubernetes' fieldValidation: what unknown and duplicate fields are. Strict also checks
 * enum values and required fields (see enum k8s_check_flags to turn those off). */
enum k8s_field_validation {
	K8S_FV_STRICT,
	K8S_FV_WARN,
	K8S_FV_IGNORE,
};

/* Checks beyond decoding that Strict turns on, and the flags that turn them off again.
 * Kubernetes' decoder does neither: it leaves enum values and required fields to each kind's
 * validation, and accepts unknown values of some enums (condition types, resource names), so
 * the API server relaxes them per kind. */
enum k8s_check_flags {
	K8S_CHECK_NO_ENUMS = 1u << 0,	 /* do not reject values outside an enum */
	K8S_CHECK_NO_REQUIRED = 1u << 1, /* do not require +required fields */
};

/* Cause reasons, as Kubernetes' field.ErrorType names them. */
#define K8S_REASON_INVALID	 "FieldValueInvalid"
#define K8S_REASON_REQUIRED	 "FieldValueRequired"
#define K8S_REASON_NOT_SUPPORTED "FieldValueNotSupported"
#define K8S_REASON_DUPLICATE	 "FieldValueDuplicate"
#define K8S_REASON_TYPE_INVALID	 "FieldValueTypeInvalid"
#define K8S_REASON_UNKNOWN	 "FieldValueUnknown"

/* At most this many causes and warnings are kept; the rest are counted in ndropped. */
#define K8S_ERRORS_MAX 100

struct k8s_cause {
	char *field;   /* "spec.ports[0].port", "metadata.labels[app]"; "" for the whole input */
	char *reason;  /* K8S_REASON_* */
	char *message; /* "Invalid value: true: must be of type string", `unknown field "x"` */
	int line;      /* 1-based position in the input, 0 when unknown */
	int column;
};

struct k8s_errors {
	struct k8s_cause *causes;
	size_t n, cap;
	char **warnings; /* Kubernetes' wording: `unknown field "spec.foo"` */
	size_t nwarn, capwarn;
	size_t ndropped; /* causes and warnings beyond K8S_ERRORS_MAX */
	/* The object the causes are about, when known (else NULL): for k8s_errors_format. */
	char *kind;
	char *namespace;
	char *name;
};

/* Free what e holds and reset it to empty (e itself is the caller's). */
void k8s_errors_free(struct k8s_errors *e);
/* Add a cause / a warning (printf format). -ENOMEM, or 0 (also when dropped past the max). */
int k8s_errors_add(struct k8s_errors *e, const char *field, const char *reason, int line,
		   int column, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int k8s_errors_warn(struct k8s_errors *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* One human line: "<origin>: <Kind> <ns>/<name>: <field>: <message>" (origin = file name,
 * may be NULL; the object is obj, else the one recorded in e, left out when unknown; several
 * causes are joined by "; "; a malformed input's message carries its line and column).
 * Always NUL-terminates buf; -ENOSPC if the line was truncated, -EINVAL on bad arguments. */
int k8s_errors_format(const struct k8s_errors *e, const char *origin, const struct k8s_obj *obj,
		      char *buf, size_t len);

struct k8s_parse_opts {
	enum k8s_field_validation validation;
	const char *origin; /* file name for messages, may be NULL */
	size_t max_bytes;   /* 0 = 3 MiB default (the API server's request limit) */
	/* Expected type (e.g. of an API request body), or NULL. With a type, apiVersion and
	 * kind may be absent; when present they must name a kind of this type. */
	const struct k8s_type *type;
	/* With no type: the document is of a kind without a generated schema (a custom
	 * resource's), whose apiVersion and kind the caller checks; it is read as plain YAML. */
	bool untyped;
	unsigned checks; /* enum k8s_check_flags */
	/* A parser kept from one call to the next, or NULL: for many small inputs parsed one
	 * after another (a manifest's documents one by one), libfyaml's parser and diagnostics
	 * are made once (k8s_parse_cache_new). Not shared between threads. */
	struct k8s_parse_cache *cache;
};

struct k8s_parse_cache;
struct k8s_parse_cache *k8s_parse_cache_new(void);
void k8s_parse_cache_free(struct k8s_parse_cache *pc);

#define K8S_DEFAULT_MAX_BYTES (3u << 20)
/* Deepest nesting accepted (libfyaml's own limit on this platform is 64). */
#define K8S_MAX_DEPTH	      64

/* Parse a stream: JSON (one or more concatenated values), or YAML with any number of `---`
 * documents; a `kind: List` or `*List` document expands to its items (items of a typed list
 * that lack apiVersion/kind get the list's). Every object is validated against its kind's
 * schema (apiVersion+kind must be a known kind, else an error naming them). Calls cb for each
 * valid object (cb takes ownership; a nonzero return stops the parse and is returned). On the
 * first invalid document, stops, fills errs, returns -EINVAL (objects already passed to cb
 * remain the caller's); input over max_bytes gives -EFBIG. Empty documents are skipped.
 * Warnings (K8S_FV_WARN) accumulate in errs; those of an object are added before its cb. */
int k8s_parse_stream(const char *buf, size_t len, const struct k8s_parse_opts *opts,
		     int (*cb)(struct k8s_obj *obj, void *ud), void *ud, struct k8s_errors *errs);
/* Parse exactly one object (e.g. an API request body), optionally of an expected type
 * (opts->type). Lists are not expanded. NULL with errno set (EINVAL, EFBIG, ENOMEM) and errs
 * filled on failure. */
struct k8s_obj *k8s_obj_parse(const char *buf, size_t len, const struct k8s_parse_opts *opts,
			      struct k8s_errors *errs);
void k8s_obj_free(struct k8s_obj *o);

/* The object's kind (from the generated table); NULL only for an object parsed with an
 * expected type that no kind has. */
const struct k8s_kind *k8s_obj_kind(const struct k8s_obj *o);
/* The schema type the object was validated against. */
const struct k8s_type *k8s_obj_type(const struct k8s_obj *o);
/* metadata.name / metadata.namespace; NULL if absent. */
const char *k8s_obj_name(const struct k8s_obj *o);
const char *k8s_obj_namespace(const struct k8s_obj *o);
struct fy_node *k8s_obj_root(const struct k8s_obj *o);
struct fy_document *k8s_obj_doc(const struct k8s_obj *o);

/* How Kubernetes reads a scalar: go-yaml v2's YAML 1.1 resolution for plain YAML scalars,
 * JSON's for JSON documents, a string for quoted ones. */
enum k8s_scalar_type {
	K8S_SCALAR_NULL,
	K8S_SCALAR_BOOL,
	K8S_SCALAR_INT,	  /* fits int64: .i */
	K8S_SCALAR_UINT,  /* above INT64_MAX: .u */
	K8S_SCALAR_FLOAT, /* .f (may be NaN or infinite, which JSON cannot carry) */
	K8S_SCALAR_STRING,
};

struct k8s_scalar {
	enum k8s_scalar_type type;
	bool b;
	int64_t i;
	uint64_t u;
	double f;
	bool json_float; /* a JSON number written with a fraction or exponent */
	const char *str; /* STRING: the text (not NUL-terminated), valid while the node lives */
	size_t len;
};

/* Resolve a scalar node (following an alias). -EINVAL if it is not a scalar or its explicit
 * tag contradicts its text (`!!int abc`); -ENOTSUP for a tag drover does not decode. */
int k8s_scalar_resolve(struct fy_node *n, struct k8s_scalar *out);
/* Resolve the text of a plain YAML scalar by go-yaml v2's rules (never fails). */
void k8s_scalar_resolve_plain(const char *text, size_t len, struct k8s_scalar *out);

/* Typed getters on any node, path in dotted form "spec.ports" or "metadata.labels", with
 * "[N]" for list items and "[key]" for keys holding dots ("metadata.labels[app.kubernetes.io/
 * name]"); also a leading '/' and '/'-separated segments ("/spec/ports/0/port", JSON Pointer
 * escapes ~0 ~1). An empty path is the node itself. Scalars are resolved as above. Return 0,
 * -ENOENT if absent or null, -EINVAL if of another type. */
struct fy_node *k8s_get(struct fy_node *n, const char *path);
int k8s_get_str(struct fy_node *n, const char *path,
		const char **out); /* valid while the object lives */
int k8s_get_int(struct fy_node *n, const char *path, int64_t *out);
int k8s_get_bool(struct fy_node *n, const char *path, bool *out);
int k8s_get_scalar(struct fy_node *n, const char *path, struct k8s_scalar *out);

/* Canonical JSON of a node/object, scalars typed by their resolution (so `port: 0755` → 493,
 * `enabled: yes` → true, quoted strings stay strings); keys in document order (a repeated key
 * keeps its first position and its last value); numbers and strings written as Go's
 * encoding/json writes them; malloc'd. NULL with errno EINVAL if a scalar has no JSON form
 * (NaN, infinity, unsupported key). */
char *k8s_node_to_json(struct fy_node *n);
char *k8s_obj_to_json(const struct k8s_obj *o);

enum k8s_json_flags {
	/* Order as Kubernetes re-serializes a decoded object: struct fields in the schema's
	 * (Go struct) order, map keys and schema-less objects sorted; fields the schema does not
	 * know are left out. Needs a type. */
	K8S_JSON_SCHEMA_ORDER = 1u << 0,
};
char *k8s_node_to_json_ex(struct fy_node *n, const struct k8s_type *t, unsigned flags);
char *k8s_obj_to_json_ex(const struct k8s_obj *o, unsigned flags);

/* Validate any node against a schema type (used for sub-objects and by the API server for
 * request bodies). Returns 0 if no cause was added (warnings do not count), -EINVAL if some
 * were, -ENOMEM. */
int k8s_validate(struct fy_node *n, const struct k8s_type *t, enum k8s_field_validation v,
		 struct k8s_errors *errs);

struct k8s_validate_opts {
	enum k8s_field_validation validation;
	unsigned checks;  /* enum k8s_check_flags */
	const char *path; /* prefix of the field paths in causes ("spec"), or NULL */
};
int k8s_validate_ex(struct fy_node *n, const struct k8s_type *t, const struct k8s_validate_opts *o,
		    struct k8s_errors *errs);

/* The value of a resource.Quantity string ("500m", "1.5Gi", "2e3", " 1 ") as ParseQuantity
 * reads it, in the two scales Kubernetes' resource code uses: *value = Value() (rounded up to
 * an integer: bytes, pods) and *milli = MilliValue() (value x 1000 rounded up: cpu). Either
 * may be NULL. Results beyond int64 saturate. 0, or -EINVAL when s is not a quantity (the
 * syntax k8s_validate accepts). */
int k8s_quantity_parse(const char *s, size_t len, int64_t *value, int64_t *milli);
/* The form Kubernetes stores and serves a quantity in (Quantity.String() of ParseQuantity of
 * the trimmed s): "0.5" -> "500m", "1.0" -> "1", "1000" -> "1k", "1024Mi" -> "1Gi",
 * "0.5Gi" -> "512Mi"; a string already canonical is kept as written ("2e3", "100Mi"). Into out
 * (NUL-terminated): its length, -EINVAL (not a quantity), -ERANGE (more digits than computed
 * here exactly: leave it as it is), -ENOSPC. */
int k8s_quantity_canonical(const char *s, size_t len, char *out, size_t outsz);

#endif
