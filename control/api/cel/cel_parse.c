/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_parse: CEL's lexer and recursive-descent parser (cel-spec langdef.md "Syntax"), the
 * macros expanded as cel-go's parser expands them (has, all, exists, exists_one, map,
 * filter), and the check cel-go's checker makes of identifiers (undeclared references).
 * Errors are worded as cel-go prints them ("ERROR: <input>:1:5: Syntax error: ..."); the
 * detail after "Syntax error:" is drover's, not ANTLR's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_int.h"
#include "k8s_buf.h"

enum tok {
	T_EOF,
	T_IDENT,
	T_INT,
	T_UINT,
	T_DOUBLE,
	T_STRING,
	T_BYTES,
	T_PUNCT, /* one of the operators and punctuation: p holds it */
};

struct parser {
	struct cel_program *p;
	const char *src, *end, *cur;
	int tok;
	const char *ts; /* the token's text */
	size_t tlen;
	char punct[3];
	struct cel_val lit; /* T_INT .. T_BYTES */
	int depth;
	bool failed;
	char *err;
	size_t errlen;
};

static void fail(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

static void fail(struct parser *ps, const char *at, const char *fmt, ...)
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
		fail(ps, start, "out of memory");
		return;
	}
	for (;;) {
		if (s >= ps->end) {
			fail(ps, start, "Syntax error: token recognition error at: '%.*s'",
			     (int)(ps->end - start > 20 ? 20 : ps->end - start), start);
			return;
		}
		if (triple ? (ps->end - s >= 3 && s[0] == q && s[1] == q && s[2] == q) : *s == q)
			break;
		if (!triple && (*s == '\n' || *s == '\r')) {
			fail(ps, start, "Syntax error: token recognition error at: '%.*s'",
			     (int)(s - start), start);
			return;
		}
		if (*s != '\\' || raw) {
			*o++ = *s++;
			continue;
		}
		if (s + 1 >= ps->end) {
			fail(ps, s, "Syntax error: invalid escape sequence");
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
				fail(ps, s - 1, "Syntax error: invalid escape sequence in bytes");
				return;
			}
			s++;
			for (int i = 0; i < n; i++, s++) {
				if (s >= ps->end || hexval(*s) < 0) {
					fail(ps, s, "Syntax error: invalid escape sequence");
					return;
				}
				cp = cp * 16 + (uint32_t)hexval(*s);
			}
			if (bytes)
				*o++ = (char)cp;
			else if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
				fail(ps, s, "Syntax error: invalid unicode code point");
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
			fail(ps, s - 1, "Syntax error: invalid escape sequence");
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
		fail(ps, start, "Syntax error: number literal too long");
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
			fail(ps, start, "Syntax error: invalid uint literal");
	} else {
		ps->tok = T_INT;
		ps->lit.t = CT_INT;
		/* the magnitude; unary minus of 9223372036854775808 is handled by the caller */
		ps->lit.u = strtoull(buf, NULL, hex ? 16 : 10);
		if (errno == ERANGE)
			fail(ps, start, "Syntax error: invalid int literal");
	}
	ps->cur = s;
}

static void next(struct parser *ps)
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
	fail(ps, s, "Syntax error: token recognition error at: '%c'", *s);
	ps->tok = T_EOF;
}

static bool is(struct parser *ps, const char *p)
{
	return ps->tok == T_PUNCT && strcmp(ps->punct, p) == 0;
}

static bool is_word(struct parser *ps, const char *w)
{
	return ps->tok == T_IDENT && ps->tlen == strlen(w) && memcmp(ps->ts, w, ps->tlen) == 0;
}

static void token_text(struct parser *ps, char *out, size_t len)
{
	if (ps->tok == T_EOF)
		snprintf(out, len, "<EOF>");
	else
		snprintf(out, len, "%.*s", (int)(ps->cur - ps->ts > 40 ? 40 : ps->cur - ps->ts),
			 ps->ts);
}

static void expect(struct parser *ps, const char *p)
{
	char t[64];

	if (is(ps, p)) {
		next(ps);
		return;
	}
	token_text(ps, t, sizeof(t));
	fail(ps, ps->ts, "Syntax error: mismatched input '%s' expecting '%s'", t, p);
}

static struct cel_node *node(struct parser *ps, int kind, const char *at)
{
	struct cel_node *n = cel_alloc(&ps->p->ar, sizeof(*n));

	if (!n) {
		fail(ps, at, "out of memory");
		return NULL;
	}
	n->kind = (uint8_t)kind;
	n->pos = (uint32_t)(at - ps->src);
	return n;
}

/* a node that names something: an identifier, a selection or a call (on a) */
static struct cel_node *named(struct parser *ps, int kind, const char *at, struct cel_node *a,
			      const char *name, size_t nlen)
{
	struct cel_node *n = node(ps, kind, at);

	if (n) {
		n->a = a;
		n->name = name;
		n->nlen = nlen;
	}
	return n;
}

/* n with its children built: its depth, refused past CEL_MAX_DEPTH */
static struct cel_node *finish(struct parser *ps, struct cel_node *n)
{
	uint32_t d = 0;
	struct cel_node *kids[3];

	if (!n)
		return NULL;
	kids[0] = n->a;
	kids[1] = n->b;
	kids[2] = n->c;
	for (int i = 0; i < 3; i++)
		if (kids[i] && kids[i]->depth > d)
			d = kids[i]->depth;
	for (size_t i = 0; i < n->nargs; i++)
		if (n->args[i] && n->args[i]->depth > d)
			d = n->args[i]->depth;
	n->depth = d + 1;
	if (n->depth > CEL_MAX_DEPTH) {
		fail(ps, ps->src + n->pos, "Syntax error: expression recursion limit exceeded: %d",
		     CEL_MAX_DEPTH);
		return NULL;
	}
	return n;
}

static bool reserved(const char *s, size_t len)
{
	static const char *const words[] = {
	    "as",  "break", "const",   "continue",  "else",   "for", "function", "if",	  "import",
	    "let", "loop",  "package", "namespace", "return", "var", "void",	 "while", "in"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && !memcmp(words[i], s, len))
			return true;
	return false;
}

/* args of a call or the items of a list up to close */
static bool expr_list(struct parser *ps, const char *close, struct cel_node ***out, size_t *n,
		      bool trailing);
static struct cel_node *expr(struct parser *ps);

static bool enter(struct parser *ps)
{
	if (++ps->depth > CEL_MAX_DEPTH) {
		fail(ps, ps->ts, "Syntax error: expression recursion limit exceeded: %d",
		     CEL_MAX_DEPTH);
		return false;
	}
	return true;
}

static struct cel_node *ident_ref(struct parser *ps)
{
	struct cel_node *n = node(ps, N_IDENT, ps->ts);

	if (!n)
		return NULL;
	n->name = ps->ts;
	n->nlen = ps->tlen;
	if (reserved(ps->ts, ps->tlen))
		fail(ps, ps->ts, "Syntax error: reserved identifier: %.*s", (int)ps->tlen, ps->ts);
	next(ps);
	return n;
}

static const struct {
	const char *name;
	int macro, nargs;
} macros[] = {
    {"all", M_ALL, 2}, {"exists", M_EXISTS, 2}, {"exists_one", M_EXISTS_ONE, 2},
    {"map", M_MAP, 2}, {"map", M_MAP, 3},	{"filter", M_FILTER, 2},
};

/* recv.name(args): a macro when the name and arity are one's */
static struct cel_node *call(struct parser *ps, struct cel_node *recv, const char *name,
			     size_t nlen, const char *at)
{
	struct cel_node *n = named(ps, N_CALL, at, recv, name, nlen);

	if (!n)
		return NULL;
	next(ps); /* ( */
	if (!expr_list(ps, ")", &n->args, &n->nargs, false))
		return NULL;
	if (!recv && nlen == 3 && !memcmp(name, "has", 3)) {
		if (n->nargs != 1 || n->args[0]->kind != N_SELECT) {
			fail(ps, at, "invalid argument to has() macro");
			return NULL;
		}
		n->args[0]->kind = N_HAS;
		return n->args[0];
	}
	if (!recv)
		return finish(ps, n);
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strlen(macros[i].name) == nlen && !memcmp(macros[i].name, name, nlen) &&
		    (size_t)macros[i].nargs == n->nargs) {
			if (n->args[0]->kind != N_IDENT) {
				fail(ps, at, "argument must be a simple name");
				return NULL;
			}
			n->kind = N_MACRO;
			n->op = (uint8_t)macros[i].macro;
			return finish(ps, n);
		}
	return finish(ps, n);
}

static struct cel_node *primary(struct parser *ps)
{
	struct cel_node *n = NULL;
	const char *at = ps->ts;
	char t[64];

	if (ps->failed)
		return NULL;
	switch (ps->tok) {
	case T_INT:
		n = node(ps, N_LIT, at);
		if (!n)
			return NULL;
		if (ps->lit.u > INT64_MAX) {
			fail(ps, at, "Syntax error: invalid int literal");
			return NULL;
		}
		n->lit = ps->lit;
		n->lit.i = (int64_t)ps->lit.u;
		next(ps);
		return n;
	case T_UINT:
	case T_DOUBLE:
	case T_STRING:
	case T_BYTES:
		n = node(ps, N_LIT, at);
		if (n)
			n->lit = ps->lit;
		next(ps);
		return n;
	case T_IDENT:
		if (is_word(ps, "true") || is_word(ps, "false") || is_word(ps, "null")) {
			n = node(ps, N_LIT, at);
			if (!n)
				return NULL;
			n->lit.t = is_word(ps, "null") ? CT_NULL : CT_BOOL;
			n->lit.b = is_word(ps, "true");
			next(ps);
			return n;
		}
		{
			const char *name = ps->ts;
			size_t nlen = ps->tlen;

			next(ps);
			if (is(ps, "(")) {
				if (reserved(name, nlen))
					fail(ps, at, "Syntax error: reserved identifier: %.*s",
					     (int)nlen, name);
				return call(ps, NULL, name, nlen, at);
			}
			n = named(ps, N_IDENT, at, NULL, name, nlen);
			if (!n)
				return NULL;
			if (reserved(name, nlen))
				fail(ps, at, "Syntax error: reserved identifier: %.*s", (int)nlen,
				     name);
			if (is(ps, "{"))
				fail(ps, ps->ts,
				     "Syntax error: message construction is not supported");
			return n;
		}
	case T_PUNCT:
		if (is(ps, "(")) {
			next(ps);
			n = expr(ps);
			expect(ps, ")");
			return n;
		}
		if (is(ps, "[")) {
			n = node(ps, N_LIST, at);
			next(ps);
			if (!n || !expr_list(ps, "]", &n->args, &n->nargs, true))
				return NULL;
			return finish(ps, n);
		}
		if (is(ps, "{")) {
			size_t cap = 0;

			n = node(ps, N_MAP, at);
			next(ps);
			while (n && !ps->failed && !is(ps, "}")) {
				struct cel_node *k = expr(ps), *v;

				expect(ps, ":");
				v = expr(ps);
				if (ps->failed)
					return NULL;
				if (n->nargs + 2 > cap) {
					struct cel_node **na;

					cap = cap ? cap * 2 : 8;
					na = cel_alloc(&ps->p->ar, cap * sizeof(*na));
					if (!na) {
						fail(ps, at, "out of memory");
						return NULL;
					}
					if (n->nargs)
						memcpy(na, n->args, n->nargs * sizeof(*na));
					n->args = na;
				}
				n->args[n->nargs++] = k;
				n->args[n->nargs++] = v;
				if (!is(ps, ","))
					break;
				next(ps);
			}
			expect(ps, "}");
			return ps->failed ? NULL : finish(ps, n);
		}
		if (is(ps, ".")) {
			next(ps);
			if (ps->tok != T_IDENT) {
				token_text(ps, t, sizeof(t));
				fail(ps, ps->ts,
				     "Syntax error: no viable alternative at input '.%s'", t);
				return NULL;
			}
			if (ps->cur < ps->end && *ps->cur == '(') {
				const char *name = ps->ts;
				size_t nlen = ps->tlen;

				next(ps);
				return call(ps, NULL, name, nlen, at);
			}
			return ident_ref(ps);
		}
		break;
	default:
		break;
	}
	/* ANTLR's words for a missing operand, as cel-go reports them */
	token_text(ps, t, sizeof(t));
	fail(ps, at,
	     "Syntax error: mismatched input '%s' expecting {'[', '{', '(', '.', '-', '!', "
	     "'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
	     t);
	return NULL;
}

static struct cel_node *member(struct parser *ps)
{
	struct cel_node *n = primary(ps);
	int levels = 0;

	while (n && !ps->failed) {
		const char *at = ps->ts;

		if (++levels > CEL_MAX_DEPTH) {
			fail(ps, at, "Syntax error: expression recursion limit exceeded: %d",
			     CEL_MAX_DEPTH);
			return NULL;
		}
		if (is(ps, ".")) {
			const char *name;
			size_t nlen;
			char t[64];

			next(ps);
			if (ps->tok != T_IDENT) {
				token_text(ps, t, sizeof(t));
				fail(ps, ps->ts,
				     "Syntax error: no viable alternative at input '.%s'", t);
				return NULL;
			}
			name = ps->ts;
			nlen = ps->tlen;
			next(ps);
			if (is(ps, "(")) {
				n = call(ps, n, name, nlen, at);
				continue;
			}
			n = finish(ps, named(ps, N_SELECT, at, n, name, nlen));
		} else if (is(ps, "[")) {
			struct cel_node *x = node(ps, N_INDEX, at);

			next(ps);
			if (!x)
				return NULL;
			x->a = n;
			x->b = expr(ps);
			expect(ps, "]");
			n = finish(ps, x);
		} else {
			break;
		}
	}
	return ps->failed ? NULL : n;
}

static struct cel_node *unary(struct parser *ps)
{
	const char *at = ps->ts;
	struct cel_node *n, *u;

	if (is(ps, "!") || is(ps, "-")) {
		bool neg = is(ps, "-");

		if (!enter(ps))
			return NULL;
		next(ps);
		/* -9223372036854775808 is a literal, not a negated overflow */
		if (neg && ps->tok == T_INT && ps->lit.u == (uint64_t)INT64_MAX + 1) {
			n = node(ps, N_LIT, at);
			if (n) {
				n->lit.t = CT_INT;
				n->lit.i = INT64_MIN;
			}
			next(ps);
			ps->depth--;
			return n;
		}
		u = node(ps, neg ? N_NEG : N_NOT, at);
		if (u)
			u->a = unary(ps);
		ps->depth--;
		return ps->failed ? NULL : finish(ps, u);
	}
	return member(ps);
}

static struct cel_node *binary(struct parser *ps, int level);

static const struct {
	const char *tok;
	int op, level;
} binops[] = {
    {"*", OP_MUL, 4}, {"/", OP_DIV, 4}, {"%", OP_MOD, 4}, {"+", OP_ADD, 3},
    {"-", OP_SUB, 3}, {"==", OP_EQ, 2}, {"!=", OP_NE, 2}, {"<", OP_LT, 2},
    {"<=", OP_LE, 2}, {">", OP_GT, 2},	{">=", OP_GE, 2},
};

/* level 0: ||, 1: &&, 2: relations (in too), 3: + -, 4: * / % */
static struct cel_node *binary(struct parser *ps, int level)
{
	struct cel_node *l;
	int chain = 0;

	if (level > 4)
		return unary(ps);
	l = binary(ps, level + 1);
	while (l && !ps->failed) {
		const char *at = ps->ts;
		int op = 0, kind = N_BIN;
		struct cel_node *n;

		if (level == 0 && is(ps, "||"))
			kind = N_OR;
		else if (level == 1 && is(ps, "&&"))
			kind = N_AND;
		else if (level == 2 && is_word(ps, "in"))
			op = OP_IN;
		else if (ps->tok == T_PUNCT)
			for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]); i++)
				if (binops[i].level == level && is(ps, binops[i].tok))
					op = binops[i].op;
		if (kind == N_BIN && !op)
			break;
		if (++chain > CEL_MAX_DEPTH) {
			fail(ps, at, "Syntax error: expression recursion limit exceeded: %d",
			     CEL_MAX_DEPTH);
			break;
		}
		next(ps);
		n = node(ps, kind, at);
		if (!n)
			break;
		n->op = (uint8_t)op;
		n->a = l;
		n->b = binary(ps, level + 1);
		l = finish(ps, n);
	}
	return ps->failed ? NULL : l;
}

static struct cel_node *expr(struct parser *ps)
{
	const char *at = ps->ts;
	struct cel_node *c, *n;

	if (!enter(ps))
		return NULL;
	c = binary(ps, 0);
	if (c && is(ps, "?")) {
		next(ps);
		n = node(ps, N_COND, at);
		if (n) {
			n->a = c;
			n->b = binary(ps, 0);
			expect(ps, ":");
			n->c = expr(ps);
		}
		c = finish(ps, n);
	}
	ps->depth--;
	return ps->failed ? NULL : c;
}

static bool expr_list(struct parser *ps, const char *close, struct cel_node ***out, size_t *n,
		      bool trailing)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	while (!ps->failed && !is(ps, close)) {
		struct cel_node *e = expr(ps);

		if (!e)
			return false;
		if (*n == cap) {
			struct cel_node **na;

			cap = cap ? cap * 2 : 4;
			na = cel_alloc(&ps->p->ar, cap * sizeof(*na));
			if (!na) {
				fail(ps, ps->ts, "out of memory");
				return false;
			}
			if (*n)
				memcpy(na, *out, *n * sizeof(*na));
			*out = na;
		}
		(*out)[(*n)++] = e;
		if (!is(ps, ","))
			break;
		next(ps);
		if (!trailing && is(ps, close)) {
			fail(ps, ps->ts,
			     "Syntax error: mismatched input '%s' expecting <expression>", close);
			return false;
		}
	}
	expect(ps, close);
	return !ps->failed;
}

/* ---- identifiers: what cel-go's checker says of an undeclared one ---- */

static const char *const type_names[] = {"int",	 "uint", "double", "bool",	"string", "bytes",
					 "list", "map",	 "type",   "null_type", "dyn"};

struct bound {
	const char *name;
	size_t nlen;
	const struct bound *up;
};

static void check_idents(struct parser *ps, struct cel_node *n, const struct bound *b,
			 const char *const *vars, size_t nvars)
{
	struct bound inner;

	if (!n || ps->failed)
		return;
	if (n->kind == N_IDENT) {
		for (const struct bound *x = b; x; x = x->up)
			if (x->nlen == n->nlen && !memcmp(x->name, n->name, n->nlen))
				return;
		for (size_t i = 0; i < nvars; i++)
			if (strlen(vars[i]) == n->nlen && !memcmp(vars[i], n->name, n->nlen)) {
				for (size_t j = 0; j < ps->p->nvars; j++)
					if (ps->p->vars[j] == vars[i])
						return;
				ps->p->vars[ps->p->nvars++] = vars[i];
				return;
			}
		for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
			if (strlen(type_names[i]) == n->nlen &&
			    !memcmp(type_names[i], n->name, n->nlen))
				return;
		fail(ps, ps->src + n->pos, "undeclared reference to '%.*s' (in container '')",
		     (int)n->nlen, n->name);
		return;
	}
	if (n->kind == N_MACRO) {
		check_idents(ps, n->a, b, vars, nvars);
		inner.name = n->args[0]->name;
		inner.nlen = n->args[0]->nlen;
		inner.up = b;
		for (size_t i = 1; i < n->nargs; i++)
			check_idents(ps, n->args[i], &inner, vars, nvars);
		return;
	}
	check_idents(ps, n->a, b, vars, nvars);
	check_idents(ps, n->b, b, vars, nvars);
	check_idents(ps, n->c, b, vars, nvars);
	for (size_t i = 0; i < n->nargs; i++)
		check_idents(ps, n->args[i], b, vars, nvars);
}

int cel_parse(struct cel_program *p, const char *src, size_t len, char *err, size_t errlen)
{
	struct parser ps = {
	    .p = p, .src = src, .end = src + len, .cur = src, .err = err, .errlen = errlen};
	char t[64];

	next(&ps);
	if (ps.tok == T_EOF && !ps.failed)
		fail(&ps, src, "Syntax error: mismatched input '<EOF>' expecting <expression>");
	p->root = expr(&ps);
	if (!ps.failed && ps.tok != T_EOF) {
		token_text(&ps, t, sizeof(t));
		fail(&ps, ps.ts, "Syntax error: extraneous input '%s' expecting <EOF>", t);
	}
	return ps.failed ? -EINVAL : 0;
}

struct cel_program *cel_compile(const char *src, const char *const *vars, size_t nvars, char *err,
				size_t errlen)
{
	struct cel_program *p = calloc(1, sizeof(*p));
	struct parser ps;

	if (!p)
		return NULL;
	if (errlen)
		err[0] = 0;
	p->src = strdup(src ? src : "");
	p->vars = calloc(nvars + 1, sizeof(*p->vars));
	if (!p->src || !p->vars) {
		cel_program_free(p);
		errno = ENOMEM;
		return NULL;
	}
	if (cel_parse(p, p->src, strlen(p->src), err, errlen) != 0)
		goto fail;
	memset(&ps, 0, sizeof(ps));
	ps.p = p;
	ps.src = p->src;
	ps.end = p->src + strlen(p->src);
	ps.err = err;
	ps.errlen = errlen;
	check_idents(&ps, p->root, NULL, vars, nvars);
	if (ps.failed)
		goto fail;
	return p;
fail:
	cel_program_free(p);
	errno = EINVAL;
	return NULL;
}

void cel_program_free(struct cel_program *p)
{
	if (!p)
		return;
	cel_arena_free(&p->ar);
	free(p->src);
	free(p->vars);
	free(p);
}

bool cel_program_uses(const struct cel_program *p, const char *name)
{
	for (size_t i = 0; p && i < p->nvars; i++)
		if (!strcmp(p->vars[i], name))
			return true;
	return false;
}
