/* SPDX-License-Identifier: Apache-2.0 */
/* tl_expo: writing the Prometheus text exposition format (tl_expo.h). */
#include "tl_expo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* expfmt's escaping: HELP text escapes backslash and newline; label values the double quote
 * too (prometheus/common expfmt/text_create.go: escaper, quotedEscaper). */
static void escape(struct k8s_buf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			k8s_buf_put(b, "\\\\", 2);
		else if (*s == '\n')
			k8s_buf_put(b, "\\n", 2);
		else if (quote && *s == '"')
			k8s_buf_put(b, "\\\"", 2);
		else
			k8s_buf_putc(b, *s);
	}
}

void expo_escape_value(struct k8s_buf *b, const char *v)
{
	escape(b, v ? v : "", 1);
}

void expo_family(struct k8s_buf *b, const char *name, const char *type, const char *help)
{
	k8s_buf_printf(b, "# HELP %s ", name);
	escape(b, help, 0);
	k8s_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

void expo_float(char *buf, size_t size, double v)
{
	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, size, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* name{l1="v1",...,extra="ev"} */
static void head(struct k8s_buf *b, const char *name, const char *suffix,
		 const struct expo_label *l, size_t n, const char *extra, const char *ev)
{
	size_t k = 0;

	k8s_buf_puts(b, name);
	k8s_buf_puts(b, suffix);
	if (!n && !extra)
		goto out;
	k8s_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++, k++) {
		k8s_buf_printf(b, "%s%s=\"", k ? "," : "", l[i].name);
		expo_escape_value(b, l[i].value);
		k8s_buf_putc(b, '"');
	}
	if (extra) {
		k8s_buf_printf(b, "%s%s=\"", k ? "," : "", extra);
		expo_escape_value(b, ev);
		k8s_buf_putc(b, '"');
	}
	k8s_buf_putc(b, '}');
out:
	k8s_buf_putc(b, ' ');
}

void expo_u64(struct k8s_buf *b, const char *name, const struct expo_label *l, size_t n, uint64_t v)
{
	head(b, name, "", l, n, NULL, NULL);
	k8s_buf_printf(b, "%llu\n", (unsigned long long)v);
}

void expo_f64(struct k8s_buf *b, const char *name, const struct expo_label *l, size_t n, double v)
{
	char f[40];

	expo_float(f, sizeof(f), v);
	head(b, name, "", l, n, NULL, NULL);
	k8s_buf_printf(b, "%s\n", f);
}

void expo_histogram(struct k8s_buf *b, const char *name, const struct expo_label *l, size_t n,
		    const double *bounds, const uint64_t *counts, size_t nb, double sum)
{
	uint64_t cum = 0;
	char f[40];

	for (size_t i = 0; i <= nb; i++) {
		cum += counts[i];
		if (i < nb)
			expo_float(f, sizeof(f), bounds[i]);
		else
			snprintf(f, sizeof(f), "+Inf");
		head(b, name, "_bucket", l, n, "le", f);
		k8s_buf_printf(b, "%llu\n", (unsigned long long)cum);
	}
	expo_float(f, sizeof(f), sum);
	head(b, name, "_sum", l, n, NULL, NULL);
	k8s_buf_printf(b, "%s\n", f);
	head(b, name, "_count", l, n, NULL, NULL);
	k8s_buf_printf(b, "%llu\n", (unsigned long long)cum);
}
