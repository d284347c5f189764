/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_parse: CEL's recursive-descent parser (cel-spec langdef.md "Syntax"), the
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

#include "cel_lex.h"

static struct cel_node *node(struct parser *ps, int kind, const char *at)
{
	struct cel_node *n = cel_alloc(&ps->p->ar, sizeof(*n));

	if (!n) {
		cel_lex_fail(ps, at, "out of memory");
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
		cel_lex_fail(ps, ps->src + n->pos,
			     "Syntax error: expression recursion limit exceeded: %d",
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
		cel_lex_fail(ps, ps->ts, "Syntax error: expression recursion limit exceeded: %d",
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
		cel_lex_fail(ps, ps->ts, "Syntax error: reserved identifier: %.*s", (int)ps->tlen,
			     ps->ts);
	cel_lex_next(ps);
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
	/* optional.of(x), optional.none(), optional.ofNonZeroValue(x): functions of a namespace */
	if (recv && recv->kind == N_IDENT && recv->nlen == 8 &&
	    !memcmp(recv->name, "optional", 8)) {
		static const char *const fns[] = {"optional.of", "optional.none",
						  "optional.ofNonZeroValue"};

		for (size_t i = 0; i < 3; i++)
			if (strlen(fns[i]) == nlen + 9 && !memcmp(fns[i] + 9, name, nlen)) {
				n->a = NULL;
				n->name = fns[i];
				n->nlen = strlen(fns[i]);
			}
	}
	cel_lex_next(ps); /* ( */
	if (!expr_list(ps, ")", &n->args, &n->nargs, false))
		return NULL;
	if (!recv && nlen == 3 && !memcmp(name, "has", 3)) {
		if (n->nargs != 1 || n->args[0]->kind != N_SELECT) {
			cel_lex_fail(ps, at, "invalid argument to has() macro");
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
				cel_lex_fail(ps, at, "argument must be a simple name");
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
			cel_lex_fail(ps, at, "Syntax error: invalid int literal");
			return NULL;
		}
		n->lit = ps->lit;
		n->lit.i = (int64_t)ps->lit.u;
		cel_lex_next(ps);
		return n;
	case T_UINT:
	case T_DOUBLE:
	case T_STRING:
	case T_BYTES:
		n = node(ps, N_LIT, at);
		if (n)
			n->lit = ps->lit;
		cel_lex_next(ps);
		return n;
	case T_IDENT:
		if (cel_lex_is_word(ps, "true") || cel_lex_is_word(ps, "false") ||
		    cel_lex_is_word(ps, "null")) {
			n = node(ps, N_LIT, at);
			if (!n)
				return NULL;
			n->lit.t = cel_lex_is_word(ps, "null") ? CT_NULL : CT_BOOL;
			n->lit.b = cel_lex_is_word(ps, "true");
			cel_lex_next(ps);
			return n;
		}
		{
			const char *name = ps->ts;
			size_t nlen = ps->tlen;

			cel_lex_next(ps);
			if (cel_lex_is(ps, "(")) {
				if (reserved(name, nlen))
					cel_lex_fail(ps, at,
						     "Syntax error: reserved identifier: %.*s",
						     (int)nlen, name);
				return call(ps, NULL, name, nlen, at);
			}
			n = named(ps, N_IDENT, at, NULL, name, nlen);
			if (!n)
				return NULL;
			if (reserved(name, nlen))
				cel_lex_fail(ps, at, "Syntax error: reserved identifier: %.*s",
					     (int)nlen, name);
			if (cel_lex_is(ps, "{"))
				cel_lex_fail(ps, ps->ts,
					     "Syntax error: message construction is not supported");
			return n;
		}
	case T_PUNCT:
		if (cel_lex_is(ps, "(")) {
			cel_lex_next(ps);
			n = expr(ps);
			cel_lex_expect(ps, ")");
			return n;
		}
		if (cel_lex_is(ps, "[")) {
			n = node(ps, N_LIST, at);
			cel_lex_next(ps);
			if (!n || !expr_list(ps, "]", &n->args, &n->nargs, true))
				return NULL;
			return finish(ps, n);
		}
		if (cel_lex_is(ps, "{")) {
			size_t cap = 0;

			n = node(ps, N_MAP, at);
			cel_lex_next(ps);
			while (n && !ps->failed && !cel_lex_is(ps, "}")) {
				struct cel_node *k = expr(ps), *v;

				cel_lex_expect(ps, ":");
				v = expr(ps);
				if (ps->failed)
					return NULL;
				if (n->nargs + 2 > cap) {
					struct cel_node **na;

					cap = cap ? cap * 2 : 8;
					na = cel_alloc(&ps->p->ar, cap * sizeof(*na));
					if (!na) {
						cel_lex_fail(ps, at, "out of memory");
						return NULL;
					}
					if (n->nargs)
						memcpy(na, n->args, n->nargs * sizeof(*na));
					n->args = na;
				}
				n->args[n->nargs++] = k;
				n->args[n->nargs++] = v;
				if (!cel_lex_is(ps, ","))
					break;
				cel_lex_next(ps);
			}
			cel_lex_expect(ps, "}");
			return ps->failed ? NULL : finish(ps, n);
		}
		if (cel_lex_is(ps, ".")) {
			cel_lex_next(ps);
			if (ps->tok != T_IDENT) {
				cel_lex_token_text(ps, t, sizeof(t));
				cel_lex_fail(ps, ps->ts,
					     "Syntax error: no viable alternative at input '.%s'",
					     t);
				return NULL;
			}
			if (ps->cur < ps->end && *ps->cur == '(') {
				const char *name = ps->ts;
				size_t nlen = ps->tlen;

				cel_lex_next(ps);
				return call(ps, NULL, name, nlen, at);
			}
			return ident_ref(ps);
		}
		break;
	default:
		break;
	}
	/* ANTLR's words for a missing operand, as cel-go reports them */
	cel_lex_token_text(ps, t, sizeof(t));
	cel_lex_fail(
	    ps, at,
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
			cel_lex_fail(ps, at,
				     "Syntax error: expression recursion limit exceeded: %d",
				     CEL_MAX_DEPTH);
			return NULL;
		}
		if (cel_lex_is(ps, ".")) {
			const char *name;
			size_t nlen;
			bool opt;
			char t[64];

			cel_lex_next(ps);
			/* a.?b: the optional field selection (cel-go's OptionalTypes) */
			opt = cel_lex_is(ps, "?");
			if (opt)
				cel_lex_next(ps);
			if (ps->tok != T_IDENT) {
				cel_lex_token_text(ps, t, sizeof(t));
				cel_lex_fail(ps, ps->ts,
					     "Syntax error: no viable alternative at input '.%s'",
					     t);
				return NULL;
			}
			name = ps->ts;
			nlen = ps->tlen;
			cel_lex_next(ps);
			if (cel_lex_is(ps, "(") && !opt) {
				n = call(ps, n, name, nlen, at);
				continue;
			}
			n = finish(ps, named(ps, N_SELECT, at, n, name, nlen));
			if (n)
				n->op = opt;
		} else if (cel_lex_is(ps, "[")) {
			struct cel_node *x = node(ps, N_INDEX, at);

			cel_lex_next(ps);
			if (!x)
				return NULL;
			/* a[?k]: the optional index */
			if (cel_lex_is(ps, "?")) {
				x->op = 1;
				cel_lex_next(ps);
			}
			x->a = n;
			x->b = expr(ps);
			cel_lex_expect(ps, "]");
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

	if (cel_lex_is(ps, "!") || cel_lex_is(ps, "-")) {
		bool neg = cel_lex_is(ps, "-");

		if (!enter(ps))
			return NULL;
		cel_lex_next(ps);
		/* -9223372036854775808 is a literal, not a negated overflow */
		if (neg && ps->tok == T_INT && ps->lit.u == (uint64_t)INT64_MAX + 1) {
			n = node(ps, N_LIT, at);
			if (n) {
				n->lit.t = CT_INT;
				n->lit.i = INT64_MIN;
			}
			cel_lex_next(ps);
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

		if (level == 0 && cel_lex_is(ps, "||"))
			kind = N_OR;
		else if (level == 1 && cel_lex_is(ps, "&&"))
			kind = N_AND;
		else if (level == 2 && cel_lex_is_word(ps, "in"))
			op = OP_IN;
		else if (ps->tok == T_PUNCT)
			for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]); i++)
				if (binops[i].level == level && cel_lex_is(ps, binops[i].tok))
					op = binops[i].op;
		if (kind == N_BIN && !op)
			break;
		if (++chain > CEL_MAX_DEPTH) {
			cel_lex_fail(ps, at,
				     "Syntax error: expression recursion limit exceeded: %d",
				     CEL_MAX_DEPTH);
			break;
		}
		cel_lex_next(ps);
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
	if (c && cel_lex_is(ps, "?")) {
		cel_lex_next(ps);
		n = node(ps, N_COND, at);
		if (n) {
			n->a = c;
			n->b = binary(ps, 0);
			cel_lex_expect(ps, ":");
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
	while (!ps->failed && !cel_lex_is(ps, close)) {
		struct cel_node *e = expr(ps);

		if (!e)
			return false;
		if (*n == cap) {
			struct cel_node **na;

			cap = cap ? cap * 2 : 4;
			na = cel_alloc(&ps->p->ar, cap * sizeof(*na));
			if (!na) {
				cel_lex_fail(ps, ps->ts, "out of memory");
				return false;
			}
			if (*n)
				memcpy(na, *out, *n * sizeof(*na));
			*out = na;
		}
		(*out)[(*n)++] = e;
		if (!cel_lex_is(ps, ","))
			break;
		cel_lex_next(ps);
		if (!trailing && cel_lex_is(ps, close)) {
			cel_lex_fail(ps, ps->ts,
				     "Syntax error: mismatched input '%s' expecting <expression>",
				     close);
			return false;
		}
	}
	cel_lex_expect(ps, close);
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
		cel_lex_fail(ps, ps->src + n->pos,
			     "undeclared reference to '%.*s' (in container '')", (int)n->nlen,
			     n->name);
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

	cel_lex_next(&ps);
	if (ps.tok == T_EOF && !ps.failed)
		cel_lex_fail(&ps, src,
			     "Syntax error: mismatched input '<EOF>' expecting <expression>");
	p->root = expr(&ps);
	if (!ps.failed && ps.tok != T_EOF) {
		cel_lex_token_text(&ps, t, sizeof(t));
		cel_lex_fail(&ps, ps.ts, "Syntax error: extraneous input '%s' expecting <EOF>", t);
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
