/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_lex: the lexer of CEL's grammar (cel-spec langdef.md "Lexical Structure") and the
 * parser's state it fills: tokens, literals (escapes decoded), errors in cel-go's display.
 * Private to cel_lex.c and cel_parse.c.
 */
#ifndef DROVER_CEL_LEX_H
#define DROVER_CEL_LEX_H

#include "cel_int.h"

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

/* the error at at (the first one stands) */
void cel_lex_fail(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* the next token into ps */
void cel_lex_next(struct parser *ps);
/* the token is the punctuation p / the identifier w */
bool cel_lex_is(struct parser *ps, const char *p);
bool cel_lex_is_word(struct parser *ps, const char *w);
/* the token's text for a message ("<EOF>" at the end) */
void cel_lex_token_text(struct parser *ps, char *out, size_t len);
/* skip punctuation p, or fail */
void cel_lex_expect(struct parser *ps, const char *p);

#endif
