/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_re: CEL's matches(). RE2 in cel-go, POSIX extended regular expressions (regcomp) here,
 * with RE2's \d \w \s (and their negations) translated; RE2's non-greedy, (?flags) and
 * backreference-like forms are refused as invalid. glibc expands bounded repetitions, so
 * the automaton's size is bounded as RE2 bounds it (counts up to 1000, a repetition of a
 * repetition refused) and hostile patterns cannot take the time or memory.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_int.h"

static bool charge_len(struct cel_ctx *c, size_t len)
{
	return cel_charge(c, (int64_t)(len / 10) + 1);
}

/* RE2 to POSIX ERE: the Perl classes RE2 has and ERE lacks; NULL when the pattern uses a
 * form ERE cannot say (non-greedy repetition, flags, \b, \A, \z, \pN). */
static char *re2_to_ere(struct cel_ctx *c, const char *s, size_t len)
{
	char *out = cel_alloc(&c->ar, len * 12 + 1), *o = out;
	bool in_class = false;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == 0)
			return NULL;
		if (ch == '\\' && i + 1 < len) {
			const char *rep = NULL;
			char e = s[++i];

			switch (e) {
			case 'd':
				rep = in_class ? "0-9" : "[0-9]";
				break;
			case 'D':
				rep = in_class ? NULL : "[^0-9]";
				break;
			case 'w':
				rep = in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]";
				break;
			case 'W':
				rep = in_class ? NULL : "[^A-Za-z0-9_]";
				break;
			case 's':
				rep = in_class ? "\t\n\f\r " : "[\t\n\f\r ]";
				break;
			case 'S':
				rep = in_class ? NULL : "[^\t\n\f\r ]";
				break;
			case 'n':
				rep = "\n";
				break;
			case 't':
				rep = "\t";
				break;
			case 'r':
				rep = "\r";
				break;
			case 'f':
				rep = "\f";
				break;
			case 'v':
				rep = "\v";
				break;
			default:
				if (isalnum((unsigned char)e))
					return NULL; /* \b \A \z \pN \x.. and the rest */
				if (in_class) {
					/* a bracket expression takes its characters literally */
					*o++ = e;
				} else {
					*o++ = '\\';
					*o++ = e;
				}
				continue;
			}
			if (!rep)
				return NULL;
			o += sprintf(o, "%s", rep);
			continue;
		}
		if (!in_class && ch == '[') {
			in_class = true;
			*o++ = ch;
			if (i + 1 < len && s[i + 1] == '^')
				*o++ = s[++i];
			if (i + 1 < len && s[i + 1] == ']')
				*o++ = s[++i];
			continue;
		}
		if (in_class && ch == ']')
			in_class = false;
		if (!in_class && (ch == '?' || ch == '*' || ch == '+' || ch == '}') &&
		    i + 1 < len && s[i + 1] == '?')
			return NULL; /* non-greedy */
		if (!in_class && ch == '(' && i + 1 < len && s[i + 1] == '?')
			return NULL; /* flags, non-capturing groups */
		*o++ = ch;
	}
	*o = 0;
	return out;
}

/* The size of the automaton glibc builds for the pattern, estimated: bounded repetitions
 * are expanded (a{1000}{1000} is a million states, and exponential when nested), so their
 * product is bounded as RE2 bounds it (counts up to 1000, a program of limited size). */
static bool re_size_ok(const char *s, const char **nested)
{
	double cur[CEL_MAX_DEPTH + 1], last[CEL_MAX_DEPTH + 1];
	bool quant = false, q;
	int d = 0;

	cur[0] = last[0] = 0;
	for (; *s; s++, quant = q) {
		/* RE2 refuses a repetition of a repetition ("invalid nested repetition operator") */
		q = *s == '*' || *s == '+' || *s == '?' || *s == '{';
		if (q && quant) {
			*nested = s;
			return false;
		}
		if (*s == '\\' && s[1]) {
			s++;
			cur[d] += 1;
			last[d] = 1;
		} else if (*s == '[') {
			/* a bracket expression: ] first is a member, [:class:] [=e=] [.c.] nest */
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s && *s != ']') {
				if (*s == '[' && (s[1] == ':' || s[1] == '=' || s[1] == '.')) {
					const char *e = s + 2;

					while (*e && !(e[0] == s[1] && e[1] == ']'))
						e++;
					s = *e ? e + 2 : s + 1;
					continue;
				}
				s++;
			}
			if (!*s)
				return false; /* unterminated: refused */
			cur[d] += 1;
			last[d] = 1;
		} else if (*s == '(') {
			if (d == CEL_MAX_DEPTH)
				return false;
			d++;
			cur[d] = last[d] = 0;
		} else if (*s == ')' && d > 0) {
			double g = cur[d] + 1;

			d--;
			cur[d] += g;
			last[d] = g;
		} else if (*s == '{') {
			char *end;
			long n = strtol(s + 1, &end, 10), m = n;

			if (*end == ',')
				m = isdigit((unsigned char)end[1]) ? strtol(end + 1, &end, 10)
								   : n + 1;
			if (n > 1000 || m > 1000 || n < 0 || m < 0)
				return false;
			cur[d] += last[d] * (double)(m > 1 ? m - 1 : 0);
			last[d] *= (double)(m > 1 ? m : 1);
			while (*s && *s != '}')
				s++;
			if (!*s)
				return true; /* regcomp refuses it */
		} else {
			cur[d] += 1;
			last[d] = 1;
		}
		if (cur[d] > 20000)
			return false;
	}
	return true;
}

struct cel_val cel_matches(struct cel_ctx *c, const struct cel_val *s, const struct cel_val *re)
{
	const char *nested = NULL;
	char *pat, *str;
	regex_t rx;
	int rc;

	if (!charge_len(c, s->s.len + re->s.len))
		return cel_cancelled(c);
	pat = re2_to_ere(c, re->s.s, re->s.len);
	if (pat && !re_size_ok(pat, &nested)) {
		/* Go's regexp/syntax words */
		if (nested)
			return cel_err(c,
				       "error parsing regexp: invalid nested repetition operator: "
				       "`%c%c`",
				       nested[-1], nested[0]);
		return cel_err(c, "error parsing regexp: expression too large");
	}
	if (!pat)
		return cel_err(
		    c, "error parsing regexp: unsupported in drover's POSIX regexps: `%.*s`",
		    (int)(re->s.len > 100 ? 100 : re->s.len), re->s.s);
	if (regcomp(&rx, pat, REG_EXTENDED | REG_NOSUB) != 0)
		return cel_err(c, "error parsing regexp: `%.*s`",
			       (int)(re->s.len > 100 ? 100 : re->s.len), re->s.s);
	str = cel_alloc(&c->ar, s->s.len + 1);
	if (!str) {
		regfree(&rx);
		return cel_err(c, "out of memory");
	}
	memcpy(str, s->s.s, s->s.len);
	rc = regexec(&rx, str, 0, NULL, 0);
	regfree(&rx);
	return cel_bool(rc == 0);
}
