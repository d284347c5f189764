/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_lib: CEL's functions — the standard definitions (cel-spec langdef.md "Standard
 * Definitions": size, contains, startsWith, endsWith, matches, the conversions int, uint,
 * double, string, bytes, bool, type, dyn, duration, timestamp), cel-go's ext strings that
 * Kubernetes enables (charAt, indexOf, lastIndexOf, lowerAscii, upperAscii, replace, split,
 * substring, trim, join; indexes in code points), Kubernetes' list library
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

#define NAME_IS(n, s) ((n)->nlen == sizeof(s) - 1 && !memcmp((n)->name, s, sizeof(s) - 1))

static struct cel_val no_overload(struct cel_ctx *c, const struct cel_node *n)
{
	return cel_err(c, "no such overload: %.*s", (int)n->nlen, n->name);
}

static bool charge_len(struct cel_ctx *c, size_t len)
{
	return cel_charge(c, (int64_t)(len / 10) + 1);
}

/* ---- UTF-8 ---- */

static size_t utf8_len(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* the byte offset of code point i (len for i == number of code points) */
static size_t utf8_off(const char *s, size_t len, size_t i)
{
	size_t b = 0;

	while (i > 0 && b < len) {
		b++;
		while (b < len && ((unsigned char)s[b] & 0xc0) == 0x80)
			b++;
		i--;
	}
	return b;
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

/* ---- strings (cel-go ext/strings.go) ---- */

static const char *find(const char *h, size_t hl, const char *n, size_t nl, size_t from)
{
	if (nl == 0)
		return from <= hl ? h + from : NULL;
	for (size_t i = from; i + nl <= hl; i++)
		if (h[i] == n[0] && !memcmp(h + i, n, nl))
			return h + i;
	return NULL;
}

static struct cel_val index_of(struct cel_ctx *c, const struct cel_val *s,
			       const struct cel_val *sub, const struct cel_val *off, bool last)
{
	size_t runes = utf8_len(s->s.s, s->s.len), from;
	int64_t start = last ? (int64_t)runes : 0;
	const char *hit = NULL;

	if (!charge_len(c, s->s.len))
		return cel_cancelled(c);
	if (off) {
		if (off->t != CT_INT)
			return cel_err(c, "no such overload");
		start = off->i;
		if (start < 0 || (uint64_t)start > runes)
			return cel_err(c, "index out of range: %lld", (long long)start);
	}
	from = utf8_off(s->s.s, s->s.len, (size_t)start);
	if (!last) {
		hit = find(s->s.s, s->s.len, sub->s.s, sub->s.len, from);
	} else {
		/* the last occurrence starting at or before the offset */
		for (size_t i = 0; i + sub->s.len <= s->s.len && i <= from; i++)
			if (!memcmp(s->s.s + i, sub->s.s, sub->s.len))
				hit = s->s.s + i;
	}
	return cel_int(hit ? (int64_t)utf8_len(s->s.s, (size_t)(hit - s->s.s)) : -1);
}

static struct cel_val ascii_case(struct cel_ctx *c, const struct cel_val *s, bool upper)
{
	struct cel_val r = cel_str(c, s->s.s, s->s.len, true);
	char *p = (char *)r.s.s;

	if (r.t == CT_ERROR)
		return r;
	for (size_t i = 0; i < r.s.len; i++)
		if (upper ? (p[i] >= 'a' && p[i] <= 'z') : (p[i] >= 'A' && p[i] <= 'Z'))
			p[i] = (char)(p[i] ^ 0x20);
	return r;
}

static bool is_space_at(const char *s, size_t len, size_t i, size_t *n)
{
	unsigned char ch = (unsigned char)s[i];

	*n = 1;
	if (ch == ' ' || (ch >= '\t' && ch <= '\r'))
		return true;
	if (ch == 0xc2 && i + 1 < len &&
	    ((unsigned char)s[i + 1] == 0x85 || (unsigned char)s[i + 1] == 0xa0)) {
		*n = 2;
		return true;
	}
	return false;
}

static struct cel_val trim(struct cel_ctx *c, const struct cel_val *s)
{
	size_t a = 0, b = s->s.len, n;

	while (a < b && is_space_at(s->s.s, s->s.len, a, &n))
		a += n;
	while (b > a && (s->s.s[b - 1] == ' ' || (s->s.s[b - 1] >= '\t' && s->s.s[b - 1] <= '\r')))
		b--;
	(void)c;
	return cel_str(c, s->s.s + a, b - a, false);
}

static struct cel_val split(struct cel_ctx *c, const struct cel_val *s, const struct cel_val *sep,
			    int64_t limit)
{
	size_t cap = 0, pos = 0;
	struct cel_val l;

	if (!charge_len(c, s->s.len))
		return cel_cancelled(c);
	if (limit == 0)
		return cel_new_list(c, 0);
	cap = sep->s.len ? s->s.len / sep->s.len + 1 : s->s.len + 1;
	if (limit > 0 && (uint64_t)limit < cap)
		cap = (size_t)limit;
	l = cel_new_list(c, cap);
	if (l.t == CT_ERROR)
		return l;
	if (!sep->s.len) {
		/* strings.Split with "": the code points */
		while (pos < s->s.len && l.l->n < cap) {
			size_t end = (limit > 0 && l.l->n + 1 == cap)
					 ? s->s.len
					 : utf8_off(s->s.s + pos, s->s.len - pos, 1) + pos;

			l.l->items[l.l->n++] = cel_str(c, s->s.s + pos, end - pos, false);
			pos = end;
		}
		return l;
	}
	for (;;) {
		const char *hit = (limit > 0 && l.l->n + 1 == cap)
				      ? NULL
				      : find(s->s.s, s->s.len, sep->s.s, sep->s.len, pos);

		if (!hit) {
			l.l->items[l.l->n++] = cel_str(c, s->s.s + pos, s->s.len - pos, false);
			return l;
		}
		l.l->items[l.l->n++] =
		    cel_str(c, s->s.s + pos, (size_t)(hit - s->s.s) - pos, false);
		pos = (size_t)(hit - s->s.s) + sep->s.len;
	}
}

static struct cel_val replace(struct cel_ctx *c, const struct cel_val *s,
			      const struct cel_val *from, const struct cel_val *to, int64_t limit)
{
	size_t pos = 0, n = 0, cap, o = 0;
	char *out;

	/* the worst case: a replacement at every position of s */
	cap = s->s.len + (s->s.len + 1) * to->s.len + 1;
	if (!charge_len(c, cap))
		return cel_cancelled(c);
	out = cel_alloc(&c->ar, cap);
	if (!out)
		return cel_err(c, "out of memory");
	while (limit < 0 || n < (uint64_t)limit) {
		const char *hit = find(s->s.s, s->s.len, from->s.s, from->s.len, pos);

		if (!hit)
			break;
		memcpy(out + o, s->s.s + pos, (size_t)(hit - s->s.s) - pos);
		o += (size_t)(hit - s->s.s) - pos;
		memcpy(out + o, to->s.s, to->s.len);
		o += to->s.len;
		n++;
		if (!from->s.len) {
			/* an empty match: after each code point */
			size_t adv = (size_t)(hit - s->s.s) < s->s.len
					 ? utf8_off(hit, s->s.len - (size_t)(hit - s->s.s), 1)
					 : 0;

			memcpy(out + o, hit, adv);
			o += adv;
			pos = (size_t)(hit - s->s.s) + adv;
			if (!adv)
				break;
		} else {
			pos = (size_t)(hit - s->s.s) + from->s.len;
		}
	}
	if (pos < s->s.len) {
		memcpy(out + o, s->s.s + pos, s->s.len - pos);
		o += s->s.len - pos;
	}
	return cel_str(c, out, o, false);
}

static struct cel_val substring(struct cel_ctx *c, const struct cel_val *s, int64_t start,
				const int64_t *end)
{
	size_t runes = utf8_len(s->s.s, s->s.len), a, b;
	int64_t e = end ? *end : (int64_t)runes;

	if (start < 0 || (uint64_t)start > runes)
		return cel_err(c, "index out of range: %lld", (long long)start);
	if (e < 0 || (uint64_t)e > runes)
		return cel_err(c, "index out of range: %lld", (long long)e);
	if (start > e)
		return cel_err(c, "invalid substring range. start: %lld, end: %lld",
			       (long long)start, (long long)e);
	a = utf8_off(s->s.s, s->s.len, (size_t)start);
	b = utf8_off(s->s.s, s->s.len, (size_t)e);
	return cel_str(c, s->s.s + a, b - a, false);
}

static struct cel_val join(struct cel_ctx *c, const struct cel_val *l, const struct cel_val *sep)
{
	size_t n = cel_size(l), total = 0, o = 0;
	char *out;

	for (size_t i = 0; i < n; i++) {
		struct cel_val x = cel_list_at(c, l, i);

		if (x.t != CT_STRING)
			return cel_err(c, "join: list element %zu is not a string", i);
		total += x.s.len + (sep ? sep->s.len : 0);
	}
	if (!charge_len(c, total))
		return cel_cancelled(c);
	out = cel_alloc(&c->ar, total + 1);
	if (!out)
		return cel_err(c, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct cel_val x = cel_list_at(c, l, i);

		if (i && sep) {
			memcpy(out + o, sep->s.s, sep->s.len);
			o += sep->s.len;
		}
		memcpy(out + o, x.s.s, x.s.len);
		o += x.s.len;
	}
	return cel_str(c, out, o, false);
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

static struct cel_val size_of(struct cel_ctx *c, const struct cel_node *n, const struct cel_val *v)
{
	switch (v->t) {
	case CT_STRING:
		if (!charge_len(c, v->s.len))
			return cel_cancelled(c);
		return cel_int((int64_t)utf8_len(v->s.s, v->s.len));
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
		return size_of(c, n, a);
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

static struct cel_val string_method(struct cel_ctx *c, const struct cel_node *n, struct cel_val *s,
				    struct cel_val *a, size_t na)
{
	if (NAME_IS(n, "size") && na == 0)
		return size_of(c, n, s);
	if ((NAME_IS(n, "contains") || NAME_IS(n, "startsWith") || NAME_IS(n, "endsWith")) &&
	    na == 1 && a[0].t == s->t) {
		size_t l = a[0].s.len;

		if (!charge_len(c, s->s.len))
			return cel_cancelled(c);
		if (NAME_IS(n, "contains"))
			return cel_bool(find(s->s.s, s->s.len, a[0].s.s, l, 0) != NULL);
		if (l > s->s.len)
			return cel_bool(false);
		return cel_bool(!memcmp(NAME_IS(n, "startsWith") ? s->s.s : s->s.s + s->s.len - l,
					a[0].s.s, l));
	}
	if (s->t != CT_STRING)
		return no_overload(c, n);
	if (NAME_IS(n, "matches") && na == 1 && a[0].t == CT_STRING)
		return cel_matches(c, s, &a[0]);
	if (NAME_IS(n, "lowerAscii") && na == 0)
		return charge_len(c, s->s.len) ? ascii_case(c, s, false) : cel_cancelled(c);
	if (NAME_IS(n, "upperAscii") && na == 0)
		return charge_len(c, s->s.len) ? ascii_case(c, s, true) : cel_cancelled(c);
	if (NAME_IS(n, "trim") && na == 0)
		return charge_len(c, s->s.len) ? trim(c, s) : cel_cancelled(c);
	if (NAME_IS(n, "split") && (na == 1 || (na == 2 && a[1].t == CT_INT)) &&
	    a[0].t == CT_STRING)
		return split(c, s, &a[0], na == 2 ? a[1].i : -1);
	if (NAME_IS(n, "replace") && (na == 2 || (na == 3 && a[2].t == CT_INT)) &&
	    all_t(a, 2, CT_STRING))
		return replace(c, s, &a[0], &a[1], na == 3 ? a[2].i : -1);
	if (NAME_IS(n, "substring") && (na == 1 || na == 2) && all_t(a, na, CT_INT)) {
		if (!charge_len(c, s->s.len))
			return cel_cancelled(c);
		return substring(c, s, a[0].i, na == 2 ? &a[1].i : NULL);
	}
	if (NAME_IS(n, "charAt") && na == 1 && a[0].t == CT_INT) {
		size_t runes = utf8_len(s->s.s, s->s.len), o;

		if (!charge_len(c, s->s.len))
			return cel_cancelled(c);
		if (a[0].i < 0 || (uint64_t)a[0].i > runes)
			return cel_err(c, "index out of range: %lld", (long long)a[0].i);
		o = utf8_off(s->s.s, s->s.len, (size_t)a[0].i);
		return cel_str(c, s->s.s + o, utf8_off(s->s.s + o, s->s.len - o, 1), false);
	}
	if ((NAME_IS(n, "indexOf") || NAME_IS(n, "lastIndexOf")) && (na == 1 || na == 2) &&
	    a[0].t == CT_STRING)
		return index_of(c, s, &a[0], na == 2 ? &a[1] : NULL, NAME_IS(n, "lastIndexOf"));
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
		return string_method(c, n, recv, args, nargs);
	case CT_LIST:
		if (NAME_IS(n, "size") && nargs == 0)
			return size_of(c, n, recv);
		if ((NAME_IS(n, "isSorted") || NAME_IS(n, "sum") || NAME_IS(n, "min") ||
		     NAME_IS(n, "max")) &&
		    nargs == 0)
			return list_fold(c, n, recv);
		if ((NAME_IS(n, "indexOf") || NAME_IS(n, "lastIndexOf")) && nargs == 1)
			return list_index(c, recv, &args[0], NAME_IS(n, "lastIndexOf"));
		if (NAME_IS(n, "join") && nargs <= 1 && (nargs == 0 || args[0].t == CT_STRING))
			return join(c, recv, nargs ? &args[0] : NULL);
		return no_overload(c, n);
	case CT_MAP:
		if (NAME_IS(n, "size") && nargs == 0)
			return size_of(c, n, recv);
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
