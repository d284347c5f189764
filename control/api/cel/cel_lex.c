/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_lex: CEL's lexer (cel-spec langdef.md "Lexical Structure"): identifiers, int, uint
 * (u suffix), hex and double literals, strings and bytes with their prefixes (r, b), quotes
 * (', ", triple) and escapes, punctuation, // comments; errors worded and displayed as
 * cel-go displays them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_lex.h"
#include "k8s_buf.h"

void cel_error_display(const char *src, size_t len, size_t off, const char *msg, char *out,
		       size_t outlen)
{
	const char *ls = src, *le, *at = src + (off < len ? off : len), *end = src + len;
	int line = 1, col = 0;
	struct k8s_buf b = {0};

	for (const char *s = src; s < at; s++) {
		if (*s == '\n') {
			line++;
			col = 0;
			ls = s + 1;
		} else if (((unsigned char)*s & 0xc0) != 0x80) {
			col++;
		}
	}
	/* cel-go's Error.ToDisplayString: the message, the line, a caret under the column */
	k8s_buf_printf(&b, "ERROR: <input>:%d:%d: %s\n | ", line, col + 1, msg);
	for (le = ls; le < end && *le != '\n'; le++)
		k8s_buf_putc(&b, *le == '\t' ? ' ' : *le);
	k8s_buf_puts(&b, "\n | ");
	for (const char *s = ls; s < at; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			k8s_buf_puts(&b, (unsigned char)*s >= 0x80 ? "\xef\xbc\x8e" : ".");
	k8s_buf_puts(&b, at < end && (unsigned char)*at >= 0x80 ? "\xef\xbc\xbe" : "^");
	snprintf(out, outlen, "%s", b.p ? b.p : msg);
	k8s_buf_free(&b);
}

void cel_lex_fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cel_error_display(ps->src, (size_t)(ps->end - ps->src),
			  at > ps->end ? (size_t)(ps->end - ps->src) : (size_t)(at - ps->src), msg,
			  ps->err, ps->errlen);
}

static bool is_ident_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string or bytes literal at ps->cur (after its prefix): escapes decoded unless raw. */
static void lex_string(struct parser *ps, const char *start, bool raw, bool bytes)
{
	char q = *ps->cur;
	bool triple = ps->end - ps->cur >= 3 && ps->cur[1] == q && ps->cur[2] == q;
	const char *s = ps->cur + (triple ? 3 : 1);
	char *out = cel_alloc(&ps->p->ar, (size_t)(ps->end - s) * 4 / 3 + 8), *o = out;

	if (!out) {
		cel_lex_fail(ps, start, "out of memory");
		return;
	}
	for (;;) {
		if (s >= ps->end) {
			cel_lex_fail(ps, start, "Syntax error: token recognition error at: '%.*s'",
				     (int)(ps->end - start > 20 ? 20 : ps->end - start), start);
			return;
		}
		if (triple ? (ps->end - s >= 3 && s[0] == q && s[1] == q && s[2] == q) : *s == q)
			break;
		if (!triple && (*s == '\n' || *s == '\r')) {
			cel_lex_fail(ps, start, "Syntax error: token recognition error at: '%.*s'",
				     (int)(s - start), start);
			return;
		}
		if (*s != '\\' || raw) {
			*o++ = *s++;
			continue;
		}
		if (s + 1 >= ps->end) {
			cel_lex_fail(ps, s, "Syntax error: invalid escape sequence");
			return;
		}
		s++;
		switch (*s) {
		case 'a':
			*o++ = '\a';
			s++;
			break;
		case 'b':
			*o++ = '\b';
			s++;
			break;
		case 'f':
			*o++ = '\f';
			s++;
			break;
		case 'n':
			*o++ = '\n';
			s++;
			break;
		case 'r':
			*o++ = '\r';
			s++;
			break;
		case 't':
			*o++ = '\t';
			s++;
			break;
		case 'v':
			*o++ = '\v';
			s++;
			break;
		case '\\':
		case '\'':
		case '"':
		case '`':
		case '?':
			*o++ = *s++;
			break;
		case 'x':
		case 'X':
		case 'u':
		case 'U': {
			int n = (*s == 'x' || *s == 'X') ? 2 : *s == 'u' ? 4 : 8;
			uint32_t cp = 0;

			if ((*s == 'u' || *s == 'U') && bytes) {
				cel_lex_fail(ps, s - 1,
					     "Syntax error: invalid escape sequence in bytes");
				return;
			}
			s++;
			for (int i = 0; i < n; i++, s++) {
				if (s >= ps->end || hexval(*s) < 0) {
					cel_lex_fail(ps, s,
						     "Syntax error: invalid escape sequence");
					return;
				}
				cp = cp * 16 + (uint32_t)hexval(*s);
			}
			if (bytes)
				*o++ = (char)cp;
			else if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
				cel_lex_fail(ps, s, "Syntax error: invalid unicode code point");
				return;
			} else
				o += put_utf8(o, cp);
			break;
		}
		default:
			if (*s >= '0' && *s <= '3' && ps->end - s >= 3 && s[1] >= '0' &&
			    s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
				uint32_t cp =
				    (uint32_t)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));

				if (bytes)
					*o++ = (char)cp;
				else
					o += put_utf8(o, cp);
				s += 3;
				break;
			}
			cel_lex_fail(ps, s - 1, "Syntax error: invalid escape sequence");
			return;
		}
	}
	ps->cur = s + (triple ? 3 : 1);
	ps->tok = bytes ? T_BYTES : T_STRING;
	ps->lit.t = bytes ? CT_BYTES : CT_STRING;
	ps->lit.s.s = out;
	ps->lit.s.len = (size_t)(o - out);
	*o = 0;
}

static void lex_number(struct parser *ps)
{
	const char *s = ps->cur, *start = s;
	bool dbl = false, hex = false;
	char buf[128];

	if (s[0] == '0' && ps->end - s > 2 && (s[1] == 'x' || s[1] == 'X') && hexval(s[2]) >= 0) {
		hex = true;
		s += 2;
		while (s < ps->end && hexval(*s) >= 0)
			s++;
	} else {
		while (s < ps->end && is_digit(*s))
			s++;
		if (s + 1 < ps->end && *s == '.' && is_digit(s[1])) {
			dbl = true;
			for (s++; s < ps->end && is_digit(*s);)
				s++;
		}
		if (s < ps->end && (*s == 'e' || *s == 'E')) {
			const char *e = s + 1;

			if (e < ps->end && (*e == '+' || *e == '-'))
				e++;
			if (e < ps->end && is_digit(*e)) {
				dbl = true;
				for (s = e; s < ps->end && is_digit(*s);)
					s++;
			}
		}
	}
	if ((size_t)(s - start) >= sizeof(buf)) {
		cel_lex_fail(ps, start, "Syntax error: number literal too long");
		return;
	}
	memcpy(buf, start, (size_t)(s - start));
	buf[s - start] = 0;
	ps->ts = start;
	ps->tlen = (size_t)(s - start);
	errno = 0;
	if (dbl) {
		ps->tok = T_DOUBLE;
		ps->lit.t = CT_DOUBLE;
		ps->lit.d = strtod(buf, NULL);
	} else if (s < ps->end && (*s == 'u' || *s == 'U')) {
		s++;
		ps->tok = T_UINT;
		ps->lit.t = CT_UINT;
		ps->lit.u = strtoull(buf, NULL, hex ? 16 : 10);
		if (errno == ERANGE)
			cel_lex_fail(ps, start, "Syntax error: invalid uint literal");
	} else {
		ps->tok = T_INT;
		ps->lit.t = CT_INT;
		/* the magnitude; unary minus of 9223372036854775808 is handled by the caller */
		ps->lit.u = strtoull(buf, NULL, hex ? 16 : 10);
		if (errno == ERANGE)
			cel_lex_fail(ps, start, "Syntax error: invalid int literal");
	}
	ps->cur = s;
}

void cel_lex_next(struct parser *ps)
{
	static const char *const two[] = {"==", "!=", "<=", ">=", "&&", "||"};
	const char *s;

	if (ps->failed) {
		ps->tok = T_EOF;
		return;
	}
	for (;;) {
		while (ps->cur < ps->end &&
		       (*ps->cur == ' ' || *ps->cur == '\t' || *ps->cur == '\n' ||
			*ps->cur == '\r' || *ps->cur == '\f' || *ps->cur == '\v'))
			ps->cur++;
		if (ps->end - ps->cur >= 2 && ps->cur[0] == '/' && ps->cur[1] == '/') {
			while (ps->cur < ps->end && *ps->cur != '\n')
				ps->cur++;
			continue;
		}
		break;
	}
	s = ps->ts = ps->cur;
	ps->tlen = 0;
	if (s >= ps->end) {
		ps->tok = T_EOF;
		return;
	}
	if (is_ident_start(*s)) {
		const char *e = s;
		bool raw = false, bytes = false;

		while (e < ps->end && (is_ident_start(*e) || is_digit(*e)))
			e++;
		/* string prefixes: r, b, rb, br (any case) right before a quote */
		if (e < ps->end && (*e == '"' || *e == '\'') && e - s <= 2) {
			bool ok = true;

			for (const char *x = s; x < e; x++) {
				if ((*x == 'r' || *x == 'R') && !raw)
					raw = true;
				else if ((*x == 'b' || *x == 'B') && !bytes)
					bytes = true;
				else
					ok = false;
			}
			if (ok) {
				ps->cur = e;
				lex_string(ps, s, raw, bytes);
				return;
			}
		}
		ps->tok = T_IDENT;
		ps->tlen = (size_t)(e - s);
		ps->cur = e;
		return;
	}
	if (is_digit(*s)) {
		lex_number(ps);
		return;
	}
	if (*s == '"' || *s == '\'') {
		lex_string(ps, s, false, false);
		return;
	}
	ps->tok = T_PUNCT;
	for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
		if (ps->end - s >= 2 && s[0] == two[i][0] && s[1] == two[i][1]) {
			memcpy(ps->punct, two[i], 3);
			ps->cur += 2;
			ps->tlen = 2;
			return;
		}
	if (strchr("+-*/%<>!?:.,()[]{}", *s) && *s) {
		ps->punct[0] = *s;
		ps->punct[1] = 0;
		ps->cur++;
		ps->tlen = 1;
		return;
	}
	cel_lex_fail(ps, s, "Syntax error: token recognition error at: '%c'", *s);
	ps->tok = T_EOF;
}

bool cel_lex_is(struct parser *ps, const char *p)
{
	return ps->tok == T_PUNCT && strcmp(ps->punct, p) == 0;
}

bool cel_lex_is_word(struct parser *ps, const char *w)
{
	return ps->tok == T_IDENT && ps->tlen == strlen(w) && memcmp(ps->ts, w, ps->tlen) == 0;
}

void cel_lex_token_text(struct parser *ps, char *out, size_t len)
{
	if (ps->tok == T_EOF)
		snprintf(out, len, "<EOF>");
	else
		snprintf(out, len, "%.*s", (int)(ps->cur - ps->ts > 40 ? 40 : ps->cur - ps->ts),
			 ps->ts);
}

void cel_lex_expect(struct parser *ps, const char *p)
{
	char t[64];

	if (cel_lex_is(ps, p)) {
		cel_lex_next(ps);
		return;
	}
	cel_lex_token_text(ps, t, sizeof(t));
	cel_lex_fail(ps, ps->ts, "Syntax error: mismatched input '%s' expecting '%s'", t, p);
}
