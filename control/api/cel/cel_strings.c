/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_strings: the string functions — the standard contains, startsWith, endsWith, matches
 * and size, and cel-go's ext strings that Kubernetes enables (charAt, indexOf, lastIndexOf,
 * lowerAscii, upperAscii, replace, split, substring, trim, join, format), indexes counted in
 * code points as cel-go counts them. Called from cel_lib.c's dispatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_int.h"
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

static bool all_t(const struct cel_val *args, size_t n, int t)
{
	for (size_t i = 0; i < n; i++)
		if (args[i].t != t)
			return false;
	return true;
}

/* ---- UTF-8 ---- */

size_t cel_utf8_len(const char *s, size_t len)
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
	size_t runes = cel_utf8_len(s->s.s, s->s.len), from;
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
	return cel_int(hit ? (int64_t)cel_utf8_len(s->s.s, (size_t)(hit - s->s.s)) : -1);
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
	size_t runes = cel_utf8_len(s->s.s, s->s.len), a, b;
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

struct cel_val cel_join(struct cel_ctx *c, const struct cel_val *l, const struct cel_val *sep)
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

/* "fmt".format(args): cel-go's ext strings format (%s %d %f %e %x %X %o %b, a precision for
 * %f and %e, %% for a percent sign) */
static struct cel_val format(struct cel_ctx *c, const struct cel_val *f, const struct cel_val *l)
{
	struct k8s_buf b = {0};
	size_t arg = 0, n = cel_size(l);
	struct cel_val r;

	if (!charge_len(c, f->s.len))
		return cel_cancelled(c);
	for (size_t i = 0; i < f->s.len; i++) {
		const char *s = f->s.s;
		int prec = -1;
		struct cel_val x, str;
		char verb;

		if (s[i] != '%') {
			k8s_buf_putc(&b, s[i]);
			continue;
		}
		if (++i >= f->s.len) {
			k8s_buf_free(&b);
			return cel_err(c, "unterminated format clause");
		}
		if (s[i] == '%') {
			k8s_buf_putc(&b, '%');
			continue;
		}
		if (s[i] == '.') {
			for (prec = 0, i++;
			     i < f->s.len && s[i] >= '0' && s[i] <= '9' && prec < 100; i++)
				prec = prec * 10 + (s[i] - '0');
			if (i >= f->s.len) {
				k8s_buf_free(&b);
				return cel_err(c, "unterminated format clause");
			}
		}
		verb = s[i];
		if (arg >= n) {
			k8s_buf_free(&b);
			return cel_err(c, "index %zu out of range", arg);
		}
		x = cel_list_at(c, l, arg++);
		switch (verb) {
		case 's':
			str = cel_to_string(c, &x);
			if (str.t == CT_ERROR) {
				k8s_buf_free(&b);
				return str;
			}
			k8s_buf_put(&b, str.s.s, str.s.len);
			break;
		case 'd':
			if (x.t == CT_INT)
				k8s_buf_printf(&b, "%lld", (long long)x.i);
			else if (x.t == CT_UINT)
				k8s_buf_printf(&b, "%llu", (unsigned long long)x.u);
			else
				goto bad;
			break;
		case 'f':
		case 'e':
			if (x.t == CT_INT || x.t == CT_UINT)
				x.d = x.t == CT_INT ? (double)x.i : (double)x.u;
			else if (x.t != CT_DOUBLE)
				goto bad;
			k8s_buf_printf(&b, verb == 'f' ? "%.*f" : "%.*e", prec < 0 ? 6 : prec, x.d);
			break;
		case 'x':
		case 'X':
		case 'o':
		case 'b':
			if (x.t == CT_STRING || x.t == CT_BYTES) {
				if (verb == 'o' || verb == 'b')
					goto bad;
				for (size_t k = 0; k < x.s.len; k++)
					k8s_buf_printf(&b, verb == 'x' ? "%02x" : "%02X",
						       (unsigned char)x.s.s[k]);
				break;
			}
			if (x.t != CT_INT && x.t != CT_UINT)
				goto bad;
			{
				bool neg = x.t == CT_INT && x.i < 0;
				uint64_t u = x.t == CT_UINT ? x.u
					     : neg	    ? -(uint64_t)x.i
							    : (uint64_t)x.i;
				char digits[72];
				int nd = 0, base = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;

				do {
					int d = (int)(u % (uint64_t)base);

					digits[nd++] =
					    (char)(d < 10 ? '0' + d
							  : (verb == 'X' ? 'A' : 'a') + d - 10);
					u /= (uint64_t)base;
				} while (u);
				if (neg)
					k8s_buf_putc(&b, '-');
				while (nd)
					k8s_buf_putc(&b, digits[--nd]);
			}
			break;
		default:
			k8s_buf_free(&b);
			return cel_err(c,
				       "could not parse formatting clause: unrecognized formatting "
				       "clause \"%c\"",
				       verb);
		}
		continue;
	bad:
		k8s_buf_free(&b);
		return cel_err(c, "error during formatting: %%%c: no formatting of %s", verb,
			       cel_type_name(&x));
	}
	if (b.oom || !charge_len(c, b.len)) {
		k8s_buf_free(&b);
		return b.oom ? cel_err(c, "out of memory") : cel_cancelled(c);
	}
	r = cel_str(c, b.p ? b.p : "", b.len, true);
	k8s_buf_free(&b);
	return r;
}

struct cel_val cel_string_method(struct cel_ctx *c, const struct cel_node *n, struct cel_val *s,
				 struct cel_val *a, size_t na)
{
	if (NAME_IS(n, "size") && na == 0)
		return cel_size_of(c, n, s);
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
	if (NAME_IS(n, "format") && na == 1 && a[0].t == CT_LIST)
		return format(c, s, &a[0]);
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
		size_t runes = cel_utf8_len(s->s.s, s->s.len), o;

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
