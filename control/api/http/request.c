/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request: what a request carries that every HTTP module reads: its query arguments and the
 * warnings its response will carry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_http.h"

const char *api_arg(const struct api_req *r, const char *key)
{
	for (size_t i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].key, key) == 0)
			return r->args[i].value;
	return NULL;
}

bool api_arg_true(const struct api_req *r, const char *key)
{
	const char *v = api_arg(r, key);

	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* Can text be a warning? apimachinery's NewWarningHeader refuses (and the recorder then drops
 * the warning) text that is empty, not valid UTF-8 or holds a control character
 * (unicode.IsControl: U+0000-U+001F, U+007F-U+009F). */
static bool warning_text_ok(const unsigned char *s)
{
	if (!*s)
		return false;
	while (*s) {
		unsigned cp = *s, need = 0, min = 0;

		if (cp >= 0xF0 && cp <= 0xF4)
			need = 3, cp &= 0x07, min = 0x10000;
		else if (cp >= 0xE0 && cp <= 0xEF)
			need = 2, cp &= 0x0F, min = 0x800;
		else if (cp >= 0xC2 && cp <= 0xDF)
			need = 1, cp &= 0x1F, min = 0x80;
		else if (cp >= 0x80)
			return false;
		s++;
		for (unsigned i = 0; i < need; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (*s & 0x3F);
		}
		if ((need && cp < min) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
		    cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return false;
	}
	return true;
}

/* kube-apiserver's warning recorder (apiserver/pkg/endpoints/filters/warning.go): a text
 * warned before is not repeated, one NewWarningHeader refuses is dropped; the texts are kept
 * whole here and cut when the headers are written (api_warning_header). */
void api_warn(struct api_req *r, const char *fmt, ...)
{
	char *msg = NULL;
	size_t off = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!warning_text_ok((const unsigned char *)msg))
		goto out;
	for (size_t i = 0; i < r->nwarnings && r->warnings.p; i++) {
		if (strcmp(r->warnings.p + off, msg) == 0)
			goto out;
		off += strlen(r->warnings.p + off) + 1;
	}
	if (r->nwarnings >= 32)
		goto out;
	k8s_buf_put(&r->warnings, msg, (size_t)n);
	k8s_buf_putc(&r->warnings, 0);
	r->nwarnings++;
out:
	free(msg);
}

/* UTF-8 runes of s (its bytes that do not continue a sequence) */
static size_t runes(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

bool api_warnings_truncated(const struct api_req *r)
{
	size_t total = 0, off = 0;

	for (size_t i = 0; i < r->nwarnings && r->warnings.p; i++) {
		total += runes(r->warnings.p + off);
		off += strlen(r->warnings.p + off) + 1;
	}
	return total > API_WARN_TOTAL_RUNES;
}

void api_warning_header(struct k8s_buf *b, const char *text, bool truncate)
{
	size_t len = 0, n = 0;

	/* cut on a rune boundary after API_WARN_ITEM_RUNES runes */
	for (; text[len]; len++) {
		if (((unsigned char)text[len] & 0xC0) != 0x80 && truncate &&
		    n++ == API_WARN_ITEM_RUNES)
			break;
	}
	/* NewWarningHeader's makeQuotedString: the text as is between quotes, only " and \
	 * escaped (RFC 7234's quoted-string), never JSON's \u003c */
	k8s_buf_puts(b, "299 - \"");
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"' || text[i] == '\\')
			k8s_buf_putc(b, '\\');
		k8s_buf_putc(b, text[i]);
	}
	k8s_buf_putc(b, '"');
}
