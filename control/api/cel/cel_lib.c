/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_lib: CEL's functions — the standard definitions (cel-spec langdef.md "Standard
 * Definitions": size, contains, startsWith, endsWith, matches, the conversions int, uint,
 * double, string, bytes, bool, type, dyn, duration, timestamp; the string functions are
 * cel_strings.c's), Kubernetes' list library
 * (k8s.io/apiserver/pkg/cel/library/lists.go: isSorted, sum, min, max, indexOf, lastIndexOf)
 * Kubernetes' quantity library (quantity, isQuantity and the methods; values kept in
 * thousandths: a quantity finer than 1m is rounded up), and the optional values'
 * functions (optionalOldSelf, a.?b). matches is cel_re.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cel_int.h"
#include "k8s.h"
#include "k8s_buf.h"

#define NAME_IS(n, s) ((n)->nlen == sizeof(s) - 1 && !memcmp((n)->name, s, sizeof(s) - 1))

static struct cel_val no_overload(struct cel_ctx *c, const struct cel_node *n)
{
	return cel_err(c, "no such overload: %.*s", (int)n->nlen, n->name);
}

static bool charge_len(struct cel_ctx *c, size_t len)
{
	return cel_charge(c, (int64_t)(len / 10) + 1);
}

/* ---- conversions ---- */

static struct cel_val to_int(struct cel_ctx *c, const struct cel_val *v)
{
	char buf[64], *end;
	long long i;

	switch (v->t) {
	case CT_INT:
		return *v;
	case CT_UINT:
		if (v->u > INT64_MAX)
			return cel_err(c, "range error");
		return cel_int((int64_t)v->u);
	case CT_DOUBLE:
		if (isnan(v->d) || v->d <= -9223372036854775808.0 || v->d >= 9223372036854775808.0)
			return cel_err(c, "range error");
		return cel_int((int64_t)v->d);
	case CT_TIMESTAMP:
		return cel_int(v->tm.sec);
	case CT_STRING:
		snprintf(buf, sizeof(buf), "%.*s", (int)(v->s.len < 63 ? v->s.len : 63), v->s.s);
		errno = 0;
		i = strtoll(buf, &end, 10);
		if (!buf[0] || *end || v->s.len >= 63 || isspace((unsigned char)buf[0]) ||
		    buf[0] == '+' || errno)
			return cel_err(c, "strconv.ParseInt: parsing \"%s\": %s", buf,
				       errno == ERANGE ? "value out of range" : "invalid syntax");
		return cel_int(i);
	default:
		return cel_err(c, "type conversion error from '%s' to 'int'", cel_type_name(v));
	}
}

static struct cel_val to_uint(struct cel_ctx *c, const struct cel_val *v)
{
	struct cel_val r = {.t = CT_UINT};
	char buf[64], *end;

	switch (v->t) {
	case CT_UINT:
		return *v;
	case CT_INT:
		if (v->i < 0)
			return cel_err(c, "range error");
		r.u = (uint64_t)v->i;
		return r;
	case CT_DOUBLE:
		if (isnan(v->d) || v->d < 0 || v->d >= 18446744073709551616.0)
			return cel_err(c, "range error");
		r.u = (uint64_t)v->d;
		return r;
	case CT_STRING:
		snprintf(buf, sizeof(buf), "%.*s", (int)(v->s.len < 63 ? v->s.len : 63), v->s.s);
		errno = 0;
		r.u = strtoull(buf, &end, 10);
		if (!buf[0] || *end || v->s.len >= 63 || !isdigit((unsigned char)buf[0]) || errno)
			return cel_err(c, "strconv.ParseUint: parsing \"%s\": %s", buf,
				       errno == ERANGE ? "value out of range" : "invalid syntax");
		return r;
	default:
		return cel_err(c, "type conversion error from '%s' to 'uint'", cel_type_name(v));
	}
}

static struct cel_val to_double(struct cel_ctx *c, const struct cel_val *v)
{
	struct cel_val r = {.t = CT_DOUBLE};
	char buf[128], *end;

	switch (v->t) {
	case CT_DOUBLE:
		return *v;
	case CT_INT:
		r.d = (double)v->i;
		return r;
	case CT_UINT:
		r.d = (double)v->u;
		return r;
	case CT_STRING:
		snprintf(buf, sizeof(buf), "%.*s", (int)(v->s.len < 127 ? v->s.len : 127), v->s.s);
		r.d = strtod(buf, &end);
		if (!buf[0] || *end || v->s.len >= 127 || isspace((unsigned char)buf[0]))
			return cel_err(c, "strconv.ParseFloat: parsing \"%s\": invalid syntax",
				       buf);
		return r;
	default:
		return cel_err(c, "type conversion error from '%s' to 'double'", cel_type_name(v));
	}
}

static struct cel_val to_bool(struct cel_ctx *c, const struct cel_val *v)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};

	if (v->t == CT_BOOL)
		return *v;
	if (v->t != CT_STRING)
		return cel_err(c, "type conversion error from '%s' to 'bool'", cel_type_name(v));
	for (size_t i = 0; i < 6; i++) {
		if (strlen(t[i]) == v->s.len && !memcmp(t[i], v->s.s, v->s.len))
			return cel_bool(true);
		if (strlen(f[i]) == v->s.len && !memcmp(f[i], v->s.s, v->s.len))
			return cel_bool(false);
	}
	return cel_err(c, "type conversion error from 'string' to 'bool'");
}

/* Go's time.ParseDuration */
static struct cel_val parse_duration(struct cel_ctx *c, const struct cel_val *v)
{
	static const struct {
		const char *u;
		double ns;
	} units[] = {{"ns", 1},	  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
		     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},	   {"h", 3600e9}};
	const char *s = v->s.s, *e = s + v->s.len;
	double total = 0;
	bool neg = false;
	struct cel_val r = {.t = CT_DURATION};

	if (s < e && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (e - s == 1 && *s == '0')
		return r;
	if (s == e)
		goto bad;
	while (s < e) {
		double x = 0, scale = 1;
		bool digits = false;
		size_t k, best = 0, bl = 0;

		while (s < e && isdigit((unsigned char)*s)) {
			x = x * 10 + (*s++ - '0');
			digits = true;
		}
		if (s < e && *s == '.') {
			s++;
			while (s < e && isdigit((unsigned char)*s)) {
				scale /= 10;
				x += (*s++ - '0') * scale;
				digits = true;
			}
		}
		if (!digits)
			goto bad;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			size_t ul = strlen(units[k].u);

			if ((size_t)(e - s) >= ul && !memcmp(s, units[k].u, ul) && ul > bl) {
				best = k;
				bl = ul;
			}
		}
		if (!bl)
			goto bad;
		total += x * units[best].ns;
		s += bl;
	}
	if (total > 9.223372036854775807e18)
		goto bad;
	{
		int64_t ns = (int64_t)llround(total);

		r.tm.sec = ns / 1000000000;
		r.tm.nsec = (int32_t)(ns % 1000000000);
		if (neg) {
			r.tm.sec = -r.tm.sec;
			r.tm.nsec = -r.tm.nsec;
		}
	}
	return r;
bad:
	return cel_err(c, "type conversion error from 'string' to 'google.protobuf.Duration'");
}

/* RFC 3339 (time.Parse(time.RFC3339, ...)) */
static struct cel_val parse_timestamp(struct cel_ctx *c, const struct cel_val *v)
{
	struct cel_val r = {.t = CT_TIMESTAMP};
	char buf[64];
	struct tm tm = {0};
	int y, mo, d, h, mi, s, n = 0, off = 0;
	const char *p;
	int32_t nsec = 0;

	if (v->s.len >= sizeof(buf))
		goto bad;
	memcpy(buf, v->s.s, v->s.len);
	buf[v->s.len] = 0;
	if (sscanf(buf, "%4d-%2d-%2d%*[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
	    n != 19)
		goto bad;
	p = buf + n;
	if (*p == '.') {
		int digits = 0;

		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 9)
				nsec = nsec * 10 + (*p - '0');
		if (!digits)
			goto bad;
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
		   isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		goto bad;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	r.tm.sec = (int64_t)timegm(&tm) - off;
	r.tm.nsec = nsec;
	return r;
bad:
	return cel_err(c, "type conversion error from 'string' to 'google.protobuf.Timestamp'");
}

/* ---- lists (k8s.io/apiserver/pkg/cel/library/lists.go) ---- */

static struct cel_val list_fold(struct cel_ctx *c, const struct cel_node *fn,
				const struct cel_val *l)
{
	size_t n = cel_size(l);
	struct cel_val acc = {0};
	bool sorted = NAME_IS(fn, "isSorted"), sum = NAME_IS(fn, "sum"), mn = NAME_IS(fn, "min");

	if (!cel_charge(c, (int64_t)n))
		return cel_cancelled(c);
	if (n == 0) {
		if (sorted)
			return cel_bool(true);
		if (sum)
			return cel_int(0);
		return cel_err(c, "%s called on empty list", mn ? "min" : "max");
	}
	acc = cel_list_at(c, l, 0);
	for (size_t i = 1; i < n; i++) {
		struct cel_val x = cel_list_at(c, l, i);
		int r;

		if (sum) {
			if (x.t != acc.t)
				return no_overload(c, fn);
			switch (x.t) {
			case CT_INT:
				if (__builtin_add_overflow(acc.i, x.i, &acc.i))
					return cel_err(c, "integer overflow");
				break;
			case CT_UINT:
				if (__builtin_add_overflow(acc.u, x.u, &acc.u))
					return cel_err(c, "unsigned integer overflow");
				break;
			case CT_DOUBLE:
				acc.d += x.d;
				break;
			default:
				return no_overload(c, fn);
			}
			continue;
		}
		r = cel_compare(&acc, &x);
		if (r == 2)
			return no_overload(c, fn);
		if (sorted) {
			if (r > 0 && r != 3)
				return cel_bool(false);
			acc = x;
		} else if (mn ? r > 0 : r < 0) {
			acc = x;
		}
	}
	if (sorted)
		return cel_bool(true);
	if (sum && acc.t != CT_INT && acc.t != CT_UINT && acc.t != CT_DOUBLE)
		return no_overload(c, fn);
	if (!sum && cel_compare(&acc, &acc) == 2)
		return no_overload(c, fn);
	return acc;
}

static struct cel_val list_index(struct cel_ctx *c, const struct cel_val *l,
				 const struct cel_val *x, bool last)
{
	size_t n = cel_size(l);
	int64_t hit = -1;

	if (!cel_charge(c, (int64_t)n))
		return cel_cancelled(c);
	for (size_t i = 0; i < n; i++) {
		struct cel_val y = cel_list_at(c, l, i);

		if (cel_equal(c, &y, x)) {
			hit = (int64_t)i;
			if (!last)
				break;
		}
	}
	return cel_int(hit);
}

/* ---- dispatch ---- */

static bool all_t(const struct cel_val *args, size_t n, int t)
{
	for (size_t i = 0; i < n; i++)
		if (args[i].t != t)
			return false;
	return true;
}

struct cel_val cel_size_of(struct cel_ctx *c, const struct cel_node *n, const struct cel_val *v)
{
	switch (v->t) {
	case CT_STRING:
		if (!charge_len(c, v->s.len))
			return cel_cancelled(c);
		return cel_int((int64_t)cel_utf8_len(v->s.s, v->s.len));
	case CT_BYTES:
		return cel_int((int64_t)v->s.len);
	case CT_LIST:
	case CT_MAP:
		return cel_int((int64_t)cel_size(v));
	default:
		return no_overload(c, n);
	}
}

static struct cel_val global(struct cel_ctx *c, const struct cel_node *n, struct cel_val *a,
			     size_t na)
{
	if (na != 1)
		return no_overload(c, n);
	if (NAME_IS(n, "size"))
		return cel_size_of(c, n, a);
	if (NAME_IS(n, "int"))
		return to_int(c, a);
	if (NAME_IS(n, "uint"))
		return to_uint(c, a);
	if (NAME_IS(n, "double"))
		return to_double(c, a);
	if (NAME_IS(n, "string"))
		return cel_to_string(c, a);
	if (NAME_IS(n, "bool"))
		return to_bool(c, a);
	if (NAME_IS(n, "dyn"))
		return *a;
	if (NAME_IS(n, "type"))
		return a->t == CT_TYPE ? cel_type("type") : cel_type(cel_type_name(a));
	if (NAME_IS(n, "bytes")) {
		if (a->t == CT_BYTES)
			return *a;
		if (a->t != CT_STRING)
			return no_overload(c, n);
		a->t = CT_BYTES;
		return *a;
	}
	if (NAME_IS(n, "duration")) {
		if (a->t == CT_DURATION)
			return *a;
		return a->t == CT_STRING ? parse_duration(c, a) : no_overload(c, n);
	}
	if (NAME_IS(n, "timestamp")) {
		if (a->t == CT_TIMESTAMP)
			return *a;
		if (a->t == CT_INT) {
			struct cel_val r = {.t = CT_TIMESTAMP};

			r.tm.sec = a->i;
			return r;
		}
		return a->t == CT_STRING ? parse_timestamp(c, a) : no_overload(c, n);
	}
	return no_overload(c, n);
}

/* ---- quantities (k8s.io/apiserver/pkg/cel/library/quantity.go), in thousandths ---- */

static struct cel_val to_quantity(struct cel_ctx *c, const struct cel_val *s, bool test)
{
	struct cel_val q = {.t = CT_QUANTITY};
	int64_t milli;

	if (k8s_quantity_parse(s->s.s, s->s.len, NULL, &milli) != 0 ||
	    memchr(s->s.s, ' ', s->s.len)) {
		if (test)
			return cel_bool(false);
		return cel_err(c, "quantities must match the regular expression "
				  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	}
	if (test)
		return cel_bool(true);
	q.i = milli;
	return q;
}

static struct cel_val quantity_method(struct cel_ctx *c, const struct cel_node *n,
				      const struct cel_val *q, struct cel_val *a, size_t na)
{
	struct cel_val r = {.t = CT_QUANTITY};
	int64_t other = 0;

	if (na == 1 && a[0].t == CT_QUANTITY)
		other = a[0].i;
	else if (na == 1 && a[0].t == CT_INT && __builtin_mul_overflow(a[0].i, 1000, &other))
		return cel_err(c, "integer overflow");
	else if (na == 1 && a[0].t != CT_INT)
		return no_overload(c, n);
	if (na == 0 && NAME_IS(n, "isInteger"))
		return cel_bool(q->i % 1000 == 0);
	if (na == 0 && NAME_IS(n, "asInteger"))
		return q->i % 1000 == 0 ? cel_int(q->i / 1000)
					: cel_err(c, "cannot convert value to integer");
	if (na == 0 && NAME_IS(n, "asApproximateFloat")) {
		struct cel_val d = {.t = CT_DOUBLE, .d = (double)q->i / 1000.0};

		return d;
	}
	if (na == 0 && NAME_IS(n, "sign"))
		return cel_int(q->i > 0 ? 1 : q->i < 0 ? -1 : 0);
	if (na == 1 && (NAME_IS(n, "add") || NAME_IS(n, "sub"))) {
		if (NAME_IS(n, "add") ? __builtin_add_overflow(q->i, other, &r.i)
				      : __builtin_sub_overflow(q->i, other, &r.i))
			return cel_err(c, "integer overflow");
		return r;
	}
	if (na == 1 && a[0].t == CT_QUANTITY) {
		if (NAME_IS(n, "isLessThan"))
			return cel_bool(q->i < other);
		if (NAME_IS(n, "isGreaterThan"))
			return cel_bool(q->i > other);
		if (NAME_IS(n, "compareTo"))
			return cel_int(q->i < other ? -1 : q->i > other);
	}
	return no_overload(c, n);
}

/* the type's zero value (optional.ofNonZeroValue) */
static bool zero_value(const struct cel_val *v)
{
	switch (v->t) {
	case CT_NULL:
		return true;
	case CT_BOOL:
		return !v->b;
	case CT_INT:
		return v->i == 0;
	case CT_UINT:
		return v->u == 0;
	case CT_DOUBLE:
		return v->d == 0;
	case CT_STRING:
	case CT_BYTES:
		return v->s.len == 0;
	case CT_LIST:
	case CT_MAP:
		return cel_size(v) == 0;
	case CT_OPTIONAL:
		return !v->opt;
	default:
		return false;
	}
}

struct cel_val cel_call(struct cel_ctx *c, const struct cel_node *n, struct cel_val *recv,
			struct cel_val *args, size_t nargs)
{
	if (!recv) {
		if (NAME_IS(n, "optional.none") && nargs == 0)
			return cel_optional(c, NULL);
		if (NAME_IS(n, "optional.of") && nargs == 1)
			return cel_optional(c, &args[0]);
		if (NAME_IS(n, "optional.ofNonZeroValue") && nargs == 1)
			return cel_optional(c, zero_value(&args[0]) ? NULL : &args[0]);
		if ((NAME_IS(n, "quantity") || NAME_IS(n, "isQuantity")) && nargs == 1 &&
		    args[0].t == CT_STRING)
			return to_quantity(c, &args[0], NAME_IS(n, "isQuantity"));
		if (NAME_IS(n, "matches") && nargs == 2 && all_t(args, 2, CT_STRING))
			return cel_matches(c, &args[0], &args[1]);
		return global(c, n, args, nargs);
	}
	switch (recv->t) {
	case CT_STRING:
	case CT_BYTES:
		return cel_string_method(c, n, recv, args, nargs);
	case CT_LIST:
		if (NAME_IS(n, "size") && nargs == 0)
			return cel_size_of(c, n, recv);
		if ((NAME_IS(n, "isSorted") || NAME_IS(n, "sum") || NAME_IS(n, "min") ||
		     NAME_IS(n, "max")) &&
		    nargs == 0)
			return list_fold(c, n, recv);
		if ((NAME_IS(n, "indexOf") || NAME_IS(n, "lastIndexOf")) && nargs == 1)
			return list_index(c, recv, &args[0], NAME_IS(n, "lastIndexOf"));
		if (NAME_IS(n, "join") && nargs <= 1 && (nargs == 0 || args[0].t == CT_STRING))
			return cel_join(c, recv, nargs ? &args[0] : NULL);
		return no_overload(c, n);
	case CT_MAP:
		if (NAME_IS(n, "size") && nargs == 0)
			return cel_size_of(c, n, recv);
		return no_overload(c, n);
	case CT_QUANTITY:
		return quantity_method(c, n, recv, args, nargs);
	case CT_OPTIONAL:
		if (NAME_IS(n, "hasValue") && nargs == 0)
			return cel_bool(recv->opt != NULL);
		if (NAME_IS(n, "value") && nargs == 0)
			return recv->opt ? *recv->opt : cel_err(c, "optional.none() dereference");
		if (NAME_IS(n, "orValue") && nargs == 1)
			return recv->opt ? *recv->opt : args[0];
		if (NAME_IS(n, "or") && nargs == 1 && args[0].t == CT_OPTIONAL)
			return recv->opt ? *recv : args[0];
		return no_overload(c, n);
	default:
		return no_overload(c, n);
	}
}
