/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crs: custom resources' strategy: their CRD version's openAPIV3Schema (a structural schema)
 * applied as apiextensions-apiserver 1.32 applies it to each write — defaulting
 * (pkg/apiserver/schema/defaulting: Default: a property's default where it is absent), pruning
 * (pkg/apiserver/schema/pruning: Prune: fields the schema does not name go, unless
 * x-kubernetes-preserve-unknown-fields; apiVersion, kind and metadata at the root stay), and
 * validation (pkg/apiserver/validation through kube-openapi's validate, its errors converted
 * by ConvertToFieldError): type (nullable honoured; x-kubernetes-int-or-string), required,
 * enum, minimum/maximum (exclusive too), multipleOf, minLength/maxLength, pattern, format
 * (strfmt's ipv4, ipv6, cidr, uuid, date, date-time, byte; others not checked),
 * minItems/maxItems, minProperties/maxProperties, x-kubernetes-list-type set, each with
 * kube-openapi's message ("<path> in body must be of type integer: \"string\"").
 * Patterns are ECMA-262 in Kubernetes (Go's regexp here); POSIX extended regexes read the
 * common ones the same.
 */
#include <arpa/inet.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_strategy.h"
#include "registry.h"

#define MAX_DEPTH 64

static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

static bool key_is(const struct jv *m, const char *k)
{
	return m->klen == strlen(k) && memcmp(m->key, k, m->klen) == 0;
}

/* apiVersion, kind and metadata of the object itself: the server's, not the schema's */
static bool meta_member(const struct jv *m)
{
	return key_is(m, "apiVersion") || key_is(m, "kind") || key_is(m, "metadata");
}

static void child_path(char *out, size_t len, const char *path, const char *key, size_t klen)
{
	snprintf(out, len, "%s%s%.*s", path, path[0] ? "." : "", (int)klen, key);
}

/* ---- defaulting and pruning ---- */

/* Default: absent properties of v (and of what it holds) take their schema's default. */
static void defaults(struct api_admit *a, struct jv *v, const struct jv *s, int depth)
{
	const struct jv *props = jv_get(s, "properties"), *addl = jv_get(s, "additionalProperties");

	if (!v || !s || depth > MAX_DEPTH)
		return;
	if (v->type == JV_ARRAY) {
		for (struct jv *i = v->head; i; i = i->next)
			defaults(a, i, jv_get(s, "items"), depth + 1);
		return;
	}
	if (v->type != JV_OBJECT)
		return;
	for (const struct jv *p = jv_first(props); p; p = p->next) {
		const struct jv *def = jv_get(p, "default");

		if (def && !jv_getn(v, p->key, p->klen))
			jv_setn(a->d, v, p->key, p->klen, jv_copy(a->d, def));
	}
	for (struct jv *m = v->head; m; m = m->next) {
		const struct jv *ms = jv_getn(props, m->key, m->klen);

		defaults(a, m, ms ? ms : (addl && addl->type == JV_OBJECT ? addl : NULL),
			 depth + 1);
	}
}

struct unknown {
	bool remove;
	void (*fn)(void *arg, const char *path);
	void *arg;
};

static void unknown(const struct unknown *u, struct jv *v, const struct jv *s, const char *path,
		    bool root, int depth)
{
	const struct jv *props = jv_get(s, "properties"), *addl = jv_get(s, "additionalProperties");
	bool keep = is_true(jv_get(s, "x-kubernetes-preserve-unknown-fields"));
	char cp[512];
	size_t i = 0;

	if (!v || !s || depth > MAX_DEPTH)
		return;
	if (v->type == JV_ARRAY) {
		for (struct jv *it = v->head; it; it = it->next, i++) {
			snprintf(cp, sizeof(cp), "%s[%zu]", path, i);
			unknown(u, it, jv_get(s, "items"), cp, false, depth + 1);
		}
		return;
	}
	if (v->type != JV_OBJECT)
		return;
	for (struct jv *m = v->head, *prev = NULL, *next; m; m = next) {
		const struct jv *ms = jv_getn(props, m->key, m->klen);

		next = m->next;
		if (root && meta_member(m)) {
			prev = m;
			continue;
		}
		child_path(cp, sizeof(cp), path, m->key, m->klen);
		if (!ms && addl && addl->type == JV_OBJECT)
			ms = addl;
		if (!ms && !keep && !is_true(addl)) {
			if (u->fn)
				u->fn(u->arg, cp);
			if (u->remove) {
				jv_unlink(v, prev, m);
				continue;
			}
		}
		unknown(u, m, ms, cp, false, depth + 1);
		prev = m;
	}
}

void api_crs_unknown_fields(struct jv *obj, const struct jv *schema, bool remove,
			    void (*fn)(void *arg, const char *path), void *arg)
{
	struct unknown u = {.remove = remove, .fn = fn, .arg = arg};

	unknown(&u, obj, schema, "", true, 0);
}

/* ---- validation ---- */

static const char *type_of(const struct jv *v)
{
	int64_t i;

	switch (v ? v->type : JV_NULL) {
	case JV_STRING:
		return "string";
	case JV_NUMBER:
		return jv_int(v, &i) == 0 ? "integer" : "number";
	case JV_TRUE:
	case JV_FALSE:
		return "boolean";
	case JV_OBJECT:
		return "object";
	case JV_ARRAY:
		return "array";
	default:
		return "null";
	}
}

static bool type_ok(const struct jv *v, const struct jv *s, const char *want)
{
	const char *got = type_of(v);

	if (is_true(jv_get(s, "x-kubernetes-int-or-string")))
		return strcmp(got, "integer") == 0 || strcmp(got, "string") == 0;
	if (!want)
		return true;
	if (strcmp(want, "number") == 0)
		return strcmp(got, "integer") == 0 || strcmp(got, "number") == 0;
	return strcmp(got, want) == 0;
}

/* The value as field.Invalid prints it: strings quoted, numbers and the rest bare. */
static void value_text(const struct jv *v, char *out, size_t len)
{
	if (v && v->type == JV_STRING)
		snprintf(out, len, "\"%.*s\"", (int)(v->len < 200 ? v->len : 200), v->s);
	else if (v && v->type == JV_NUMBER)
		snprintf(out, len, "%.*s", (int)(v->len < 60 ? v->len : 60), v->s);
	else
		snprintf(out, len, "%s", v && v->type == JV_TRUE ? "true" : "false");
}

static double num(const struct jv *v)
{
	return v && v->type == JV_NUMBER ? strtod(v->s, NULL) : NAN;
}

static void check_enum(struct api_admit *a, const struct jv *v, const struct jv *en,
		       const char *path)
{
	char buf[1024], one[256];
	size_t off = 0;

	for (const struct jv *e = jv_first(en); e; e = e->next)
		if (jv_equal(v, e))
			return;
	buf[0] = 0;
	for (const struct jv *e = jv_first(en); e && off < sizeof(buf); e = e->next) {
		value_text(e, one, sizeof(one));
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? ", " : "", one);
	}
	value_text(v, one, sizeof(one));
	api_cause(a, path, K8S_REASON_NOT_SUPPORTED, "Unsupported value: %s: supported values: %s",
		  one, buf);
}

static void check_number(struct api_admit *a, const struct jv *v, const struct jv *s,
			 const char *path)
{
	const struct jv *min = jv_get(s, "minimum"), *max = jv_get(s, "maximum");
	const struct jv *mult = jv_get(s, "multipleOf");
	double x = num(v);
	char val[80];

	value_text(v, val, sizeof(val));
	if (mult && mult->type == JV_NUMBER && num(mult) > 0) {
		double q = x / num(mult);

		if (fabs(q - round(q)) > 1e-9)
			api_cause(a, path, K8S_REASON_INVALID,
				  "Invalid value: %s: %s in body should be a multiple of %.*s", val,
				  path, (int)mult->len, mult->s);
	}
	if (min && min->type == JV_NUMBER) {
		bool ex = is_true(jv_get(s, "exclusiveMinimum"));

		if (ex ? x <= num(min) : x < num(min))
			api_cause(a, path, K8S_REASON_INVALID,
				  "Invalid value: %s: %s in body should be greater than %s%.*s",
				  val, path, ex ? "" : "or equal to ", (int)min->len, min->s);
	}
	if (max && max->type == JV_NUMBER) {
		bool ex = is_true(jv_get(s, "exclusiveMaximum"));

		if (ex ? x >= num(max) : x > num(max))
			api_cause(a, path, K8S_REASON_INVALID,
				  "Invalid value: %s: %s in body should be less than %s%.*s", val,
				  path, ex ? "" : "or equal to ", (int)max->len, max->s);
	}
}

/* The characters of a UTF-8 string (kube-openapi counts runes). */
static size_t runes(const struct jv *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->len; i++)
		n += ((unsigned char)v->s[i] & 0xc0) != 0x80;
	return n;
}

/* strfmt's checks of the formats apiextensions supports (apiserver/validation/formats.go)
 * that drover knows: true when v is of format f, or f is none of them. */
static bool format_ok(const char *f, const char *v)
{
	unsigned char buf[16];
	regex_t re;
	const char *pat = NULL;
	bool ok = true;

	if (!strcmp(f, "ipv4"))
		return inet_pton(AF_INET, v, buf) == 1;
	if (!strcmp(f, "ipv6"))
		return strchr(v, ':') && inet_pton(AF_INET6, v, buf) == 1;
	if (!strcmp(f, "cidr")) {
		char addr[64];
		const char *slash = strchr(v, '/');
		char *end;
		long bits;
		int af;

		if (!slash || (size_t)(slash - v) >= sizeof(addr) || !slash[1])
			return false;
		snprintf(addr, sizeof(addr), "%.*s", (int)(slash - v), v);
		af = strchr(addr, ':') ? AF_INET6 : AF_INET;
		bits = strtol(slash + 1, &end, 10);
		return inet_pton(af, addr, buf) == 1 && !*end && slash[1] >= '0' &&
		       slash[1] <= '9' && bits >= 0 && bits <= (af == AF_INET ? 32 : 128);
	}
	if (!strcmp(f, "uuid") || !strcmp(f, "uuid3") || !strcmp(f, "uuid4") || !strcmp(f, "uuid5"))
		pat = "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
		      "[0-9a-fA-F]{12}$";
	else if (!strcmp(f, "date"))
		pat = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
	else if (!strcmp(f, "date-time") || !strcmp(f, "datetime"))
		pat = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):"
		      "[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?$";
	else if (!strcmp(f, "byte"))
		pat = "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";
	if (pat && regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0) {
		ok = regexec(&re, v, 0, NULL, 0) == 0;
		regfree(&re);
	}
	return ok;
}

static void check_string(struct api_admit *a, const struct jv *v, const struct jv *s,
			 const char *path)
{
	int64_t lim;
	const char *pat = jv_path_str(s, "pattern");
	char val[256];

	value_text(v, val, sizeof(val));
	if (jv_path_int(s, "minLength", &lim) == 0 && runes(v) < (size_t)lim)
		api_cause(a, path, K8S_REASON_INVALID,
			  "Invalid value: %s: %s in body should be at least %lld chars long", val,
			  path, (long long)lim);
	/* ConvertToFieldError: kube-openapi's TooLong becomes field.TooLong */
	if (jv_path_int(s, "maxLength", &lim) == 0 && runes(v) > (size_t)lim)
		api_cause(a, path, "FieldValueTooLong", "Too long: may not be more than %lld bytes",
			  (long long)lim);
	if (pat) {
		regex_t re;
		char *str = strndup(v->s, v->len);

		if (str && regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0) {
			if (regexec(&re, str, 0, NULL, 0) != 0)
				api_cause(a, path, K8S_REASON_INVALID,
					  "Invalid value: %s: %s in body should match '%s'", val,
					  path, pat);
			regfree(&re);
		}
		free(str);
	}
	if (jv_path_str(s, "format")) {
		char *str = strndup(v->s, v->len);

		if (str && !format_ok(jv_path_str(s, "format"), str))
			api_cause(a, path, K8S_REASON_TYPE_INVALID,
				  "Invalid value: %s: %s in body must be of type %s: %s", val, path,
				  jv_path_str(s, "format"), val);
		free(str);
	}
}

/* The count limits of an array or an object: minItems/maxItems, minProperties/maxProperties
 * (ConvertToFieldErrors: the max ones as field.TooMany, the min ones as kube-openapi words
 * them). */
static void check_counts(struct api_admit *a, const struct jv *v, const struct jv *s,
			 const char *path)
{
	bool arr = v->type == JV_ARRAY;
	int64_t lim;
	size_t n = jv_count(v);

	if (jv_path_int(s, arr ? "minItems" : "minProperties", &lim) == 0 && (int64_t)n < lim)
		api_cause(a, path, K8S_REASON_INVALID,
			  "Invalid value: %zu: %s in body should have at least %lld %s", n, path,
			  (long long)lim, arr ? "items" : "properties");
	if (jv_path_int(s, arr ? "maxItems" : "maxProperties", &lim) == 0 && (int64_t)n > lim)
		api_cause(a, path, "FieldValueTooMany",
			  "Too many: %zu: must have at most %lld items", n, (long long)lim);
}

/* x-kubernetes-list-type set: no scalar twice (field.Duplicate at the second's index) */
static void check_set(struct api_admit *a, const struct jv *v, const char *path)
{
	size_t i = 0;
	char cp[512], val[256];

	for (const struct jv *it = v->head; it; it = it->next, i++)
		for (const struct jv *p = v->head; p != it; p = p->next)
			if (it->type != JV_OBJECT && it->type != JV_ARRAY && jv_equal(p, it)) {
				snprintf(cp, sizeof(cp), "%s[%zu]", path, i);
				value_text(it, val, sizeof(val));
				api_cause(a, cp, K8S_REASON_DUPLICATE, "Duplicate value: %s", val);
				break;
			}
}

static void check(struct api_admit *a, const struct jv *v, const struct jv *s, const char *path,
		  bool root, int depth)
{
	const char *want = jv_path_str(s, "type");
	const struct jv *en = jv_get(s, "enum"), *props = jv_get(s, "properties"),
			*addl = jv_get(s, "additionalProperties");
	char cp[512];
	size_t i = 0;

	if (!s || depth > MAX_DEPTH)
		return;
	if (!v || v->type == JV_NULL) {
		if (is_true(jv_get(s, "nullable")) || !want)
			return;
		api_cause(a, path, K8S_REASON_TYPE_INVALID,
			  "Invalid value: \"null\": %s in body must be of type %s: \"null\"", path,
			  want);
		return;
	}
	if (!type_ok(v, s, want)) {
		api_cause(a, path, K8S_REASON_TYPE_INVALID,
			  "Invalid value: \"%s\": %s in body must be of type %s: \"%s\"",
			  type_of(v), path, want, type_of(v));
		return;
	}
	if (en)
		check_enum(a, v, en, path);
	if (v->type == JV_NUMBER)
		check_number(a, v, s, path);
	else if (v->type == JV_STRING)
		check_string(a, v, s, path);
	if (v->type == JV_ARRAY || v->type == JV_OBJECT)
		check_counts(a, v, s, path);
	if (v->type == JV_ARRAY && jv_is_str(jv_get(s, "x-kubernetes-list-type"), "set"))
		check_set(a, v, path);
	if (v->type == JV_ARRAY)
		for (const struct jv *it = v->head; it; it = it->next, i++) {
			snprintf(cp, sizeof(cp), "%s[%zu]", path, i);
			check(a, it, jv_get(s, "items"), cp, false, depth + 1);
		}
	if (v->type != JV_OBJECT)
		return;
	for (const struct jv *r = jv_first(jv_get(s, "required")); r; r = r->next)
		if (r->type == JV_STRING && !jv_getn(v, r->s, r->len)) {
			child_path(cp, sizeof(cp), path, r->s, r->len);
			api_cause_required(a, cp, NULL);
		}
	for (const struct jv *m = v->head; m; m = m->next) {
		const struct jv *ms = jv_getn(props, m->key, m->klen);

		if (root && meta_member(m))
			continue;
		if (!ms && addl && addl->type == JV_OBJECT)
			ms = addl;
		child_path(cp, sizeof(cp), path, m->key, m->klen);
		check(a, m, ms, cp, false, depth + 1);
	}
}

/* ---- the strategy ---- */

static void cr_defaults(struct api_admit *a)
{
	const struct jv *s = reg_crd_schema(a->res);

	if (!s)
		return;
	defaults(a, a->obj, s, 0);
	api_crs_unknown_fields(a->obj, s, true, NULL, NULL);
}

static void cr_validate(struct api_admit *a)
{
	const struct jv *s = reg_crd_schema(a->res);

	if (!s)
		return;
	check(a, a->obj, s, "", true, 0);
	api_crs_cel_validate(a, s);
}

const struct api_strategy api_strategy_crs = {
    .defaults = cr_defaults,
    .validate = cr_validate,
};
