/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_scalar: scalars as Kubernetes reads them. sigs.k8s.io/yaml turns YAML into JSON with
 * go-yaml v2, whose resolution is YAML 1.1's and ignores the target type: plain `yes` is a
 * boolean, `0755` the integer 493, `1e3` a float, `2008-01-01` a string. This file follows
 * go-yaml v2's resolve() and Go's strconv, and writes numbers back as Go does (encoding/json
 * for values, strconv 'g' float32 for map keys). Owns nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

static bool text_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

static bool text_in(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (text_is(s, len, *words))
			return true;
	return false;
}

static const char *const yaml_true[] = {"y",	"Y",	"yes", "Yes", "YES", "true",
					"True", "TRUE", "on",  "On",  "ON",  NULL};
static const char *const yaml_false[] = {"n",	  "N",	   "no",  "No",	 "NO",	"false",
					 "False", "FALSE", "off", "Off", "OFF", NULL};
static const char *const yaml_null[] = {"~", "null", "Null", "NULL", NULL};
static const char *const yaml_nan[] = {".nan", ".NaN", ".NAN", NULL};
static const char *const yaml_pinf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
static const char *const yaml_ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* strconv.ParseUint(s, 0, 64): 0 ok, -EINVAL syntax, -ERANGE overflow. */
static int go_parse_uint(const char *s, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t n = 0;

	if (len == 0)
		return -EINVAL;
	if (s[0] == '0') {
		char p = len >= 3 ? (char)(s[1] | 0x20) : 0;

		base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 8;
		s += base == 8 && p != 'o' ? 1 : 2;
		len -= base == 8 && p != 'o' ? 1 : 2;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)digit_value(s[i]);

		if (d >= base)
			return -EINVAL;
		if (n > (UINT64_MAX - d) / base)
			return -ERANGE;
		n = n * base + d;
	}
	*out = n;
	return 0;
}

/* strconv.ParseInt(s, 0, 64). */
static int go_parse_int(const char *s, size_t len, int64_t *out)
{
	bool neg = false;
	uint64_t u;
	int err;

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		len--;
	}
	err = go_parse_uint(s, len, &u);
	if (err)
		return err;
	if (!neg && u > (uint64_t)INT64_MAX)
		return -ERANGE;
	if (neg && u > (uint64_t)INT64_MAX + 1)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	} else {
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
		if (i < len && s[i] == '.')
			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	return i == len;
}

/* strconv.ParseFloat(s, 64) of a decimal already known well-formed: false on overflow. */
static bool parse_float(const char *s, size_t len, double *out)
{
	char tmp[128];
	char *heap = NULL, *p = tmp;
	double f;

	if (len >= sizeof(tmp)) {
		heap = malloc(len + 1);
		if (!heap)
			return false;
		p = heap;
	}
	memcpy(p, s, len);
	p[len] = 0;
	errno = 0;
	f = strtod(p, NULL);
	free(heap);
	if (errno == ERANGE && isinf(f))
		return false;
	*out = f;
	return true;
}

static void set_string(struct k8s_scalar *out, const char *s, size_t len)
{
	out->type = K8S_SCALAR_STRING;
	out->str = s;
	out->len = len;
}

/* go-yaml v2 resolve() for a 'D' (digit) or 'S' (sign) hint: int, uint, float, else string. */
static void resolve_number(const char *s, size_t len, struct k8s_scalar *out)
{
	char tmp[128];
	char *heap = NULL, *plain = tmp;
	size_t n = 0;

	if (len >= sizeof(tmp)) {
		heap = malloc(len + 1);
		if (!heap) {
			set_string(out, s, len);
			return;
		}
		plain = heap;
	}
	/* go-yaml removes every '_' before parsing ("1_000" is 1000) */
	for (size_t i = 0; i < len; i++)
		if (s[i] != '_')
			plain[n++] = s[i];
	if (go_parse_int(plain, n, &out->i) == 0) {
		out->type = K8S_SCALAR_INT;
	} else if (go_parse_uint(plain, n, &out->u) == 0) {
		out->type = K8S_SCALAR_UINT;
	} else if (yaml_style_float(plain, n) && parse_float(plain, n, &out->f)) {
		out->type = K8S_SCALAR_FLOAT;
	} else {
		set_string(out, s, len);
	}
	free(heap);
}

void k8s_scalar_resolve_plain(const char *s, size_t len, struct k8s_scalar *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0 || text_in(s, len, yaml_null)) {
		out->type = K8S_SCALAR_NULL;
		return;
	}
	if (text_in(s, len, yaml_true) || text_in(s, len, yaml_false)) {
		out->type = K8S_SCALAR_BOOL;
		out->b = text_in(s, len, yaml_true);
		return;
	}
	if (text_in(s, len, yaml_nan) || text_in(s, len, yaml_pinf) || text_in(s, len, yaml_ninf)) {
		out->type = K8S_SCALAR_FLOAT;
		out->f = text_in(s, len, yaml_nan)    ? NAN
			 : text_in(s, len, yaml_ninf) ? -INFINITY
						      : INFINITY;
		return;
	}
	if (s[0] == '.') {
		/* the '.' hint: only strconv.ParseFloat of the text as is (".5", ".5e3") */
		if (yaml_style_float(s, len) && parse_float(s, len, &out->f))
			out->type = K8S_SCALAR_FLOAT;
		else
			set_string(out, s, len);
		return;
	}
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-') {
		resolve_number(s, len, out);
		return;
	}
	set_string(out, s, len);
}

/* A plain scalar of a JSON document: null, true, false or a JSON number. */
int k8s_scalar_resolve_json(const char *s, size_t len, struct k8s_scalar *out)
{
	size_t i = 0, d;
	bool frac = false;

	memset(out, 0, sizeof(*out));
	if (text_is(s, len, "null")) {
		out->type = K8S_SCALAR_NULL;
		return 0;
	}
	if (text_is(s, len, "true") || text_is(s, len, "false")) {
		out->type = K8S_SCALAR_BOOL;
		out->b = s[0] == 't';
		return 0;
	}
	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return -EINVAL;
	}
	if (i < len && s[i] == '.') {
		frac = true;
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return -EINVAL;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		frac = true;
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return -EINVAL;
	}
	if (i != len)
		return -EINVAL;
	if (!frac && go_parse_int(s, len, &out->i) == 0) {
		out->type = K8S_SCALAR_INT;
		return 0;
	}
	if (!frac && s[0] != '-' && go_parse_uint(s, len, &out->u) == 0) {
		out->type = K8S_SCALAR_UINT;
		return 0;
	}
	out->type = K8S_SCALAR_FLOAT;
	out->json_float = frac;
	if (!parse_float(s, len, &out->f))
		out->f = s[0] == '-' ? -INFINITY : INFINITY;
	return 0;
}

/* A scalar with an explicit tag (go-yaml v2: resolve(tag, text) and its deferred check). */
static int resolve_tagged(const char *tag, size_t tlen, const char *s, size_t len,
			  struct k8s_scalar *out)
{
	size_t plen = strlen(TAG_PREFIX);
	const char *t;

	memset(out, 0, sizeof(*out));
	if (tlen <= plen || memcmp(tag, TAG_PREFIX, plen) != 0) {
		/* "!" and local tags ("!foo") are not resolvable: the text, as a string */
		set_string(out, s, len);
		return 0;
	}
	t = tag + plen;
	tlen -= plen;
	if (text_is(t, tlen, "binary"))
		return -ENOTSUP; /* go-yaml would base64-decode it into a byte string */
	if (text_is(t, tlen, "null")) {
		out->type = K8S_SCALAR_NULL;
		return 0;
	}
	if (!text_is(t, tlen, "bool") && !text_is(t, tlen, "int") && !text_is(t, tlen, "float")) {
		set_string(out, s, len); /* !!str, !!timestamp, and the non-resolvable rest */
		return 0;
	}
	k8s_scalar_resolve_plain(s, len, out);
	if (text_is(t, tlen, "bool") && out->type == K8S_SCALAR_BOOL)
		return 0;
	if (text_is(t, tlen, "int") &&
	    (out->type == K8S_SCALAR_INT || out->type == K8S_SCALAR_UINT))
		return 0;
	if (text_is(t, tlen, "float")) {
		if (out->type == K8S_SCALAR_FLOAT)
			return 0;
		if (out->type == K8S_SCALAR_INT || out->type == K8S_SCALAR_UINT) {
			out->f = out->type == K8S_SCALAR_INT ? (double)out->i : (double)out->u;
			out->type = K8S_SCALAR_FLOAT;
			return 0;
		}
	}
	return -EINVAL; /* "cannot decode !!str `abc` as a !!int" */
}

struct fy_node *k8s_deref(struct fy_node *n)
{
	if (n && fy_node_is_alias(n))
		return fy_node_resolve_alias(n);
	return n;
}

bool k8s_node_is_json(struct fy_node *n)
{
	struct fy_document *d = n ? fy_node_document(n) : NULL;
	const struct fy_parse_cfg *cfg = d ? fy_document_get_cfg(d) : NULL;

	return cfg && (cfg->flags & FYPCF_JSON(FYPCF_JSON_MASK)) == FYPCF_JSON_FORCE;
}

int k8s_scalar_resolve(struct fy_node *n, struct k8s_scalar *out)
{
	const char *s, *tag;
	size_t len = 0, tlen = 0;
	enum fy_node_style style;

	memset(out, 0, sizeof(*out));
	n = k8s_deref(n);
	if (!n || !fy_node_is_scalar(n))
		return -EINVAL;
	s = fy_node_get_scalar(n, &len);
	if (!s) {
		s = "";
		len = 0;
	}
	tag = fy_node_get_tag(n, &tlen);
	style = fy_node_get_style(n);
	if (k8s_node_is_json(n)) {
		if (style != FYNS_PLAIN) {
			set_string(out, s, len);
			return 0;
		}
		return k8s_scalar_resolve_json(s, len, out);
	}
	if (tag && tlen)
		return resolve_tagged(tag, tlen, s, len, out);
	if (style != FYNS_PLAIN) {
		set_string(out, s, len);
		return 0;
	}
	k8s_scalar_resolve_plain(s, len, out);
	return 0;
}

/* ---- numbers written as Go writes them ---- */

/* Shortest decimal digits that read back as f (as float32 if f32): value = 0.D * 10^dp. */
static void shortest_digits(double f, bool f32, char *digits, int *nd, int *dp)
{
	char tmp[40];
	char *e;
	int prec, n = 0;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (f32 ? (float)strtod(tmp, NULL) == (float)f : strtod(tmp, NULL) == f)
			break;
	}
	e = strchr(tmp, 'e');
	for (const char *p = tmp; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	*dp = (int)strtol(e + 1, NULL, 10) + 1;
	*nd = n;
	if (n == 1 && digits[0] == '0') {
		*nd = 0;
		*dp = 0;
	}
}

static size_t fmt_e(char *buf, size_t size, bool neg, const char *d, int nd, int dp)
{
	char m[24];
	int exp = nd ? dp - 1 : 0;

	if (nd == 0) {
		m[0] = '0';
		m[1] = 0;
	} else if (nd == 1) {
		m[0] = d[0];
		m[1] = 0;
	} else {
		snprintf(m, sizeof(m), "%c.%.*s", d[0], nd - 1, d + 1);
	}
	return (size_t)snprintf(buf, size, "%s%se%c%02d", neg ? "-" : "", m, exp < 0 ? '-' : '+',
				exp < 0 ? -exp : exp);
}

static size_t fmt_f(char *buf, size_t size, bool neg, const char *d, int nd, int dp)
{
	size_t n = 0;
	int frac = nd - dp > 0 ? nd - dp : 0;

	if (size < 2)
		return 0;
	if (neg && n + 1 < size)
		buf[n++] = '-';
	if (dp > 0) {
		for (int i = 0; i < dp && n + 1 < size; i++)
			buf[n++] = i < nd ? d[i] : '0';
	} else if (n + 1 < size) {
		buf[n++] = '0';
	}
	if (frac > 0 && n + 1 < size)
		buf[n++] = '.';
	for (int i = 0; i < frac && n + 1 < size; i++) {
		int j = dp + i;

		buf[n++] = j >= 0 && j < nd ? d[j] : '0';
	}
	buf[n] = 0;
	return n;
}

size_t k8s_fmt_float_json(double f, char *buf, size_t size)
{
	char d[24];
	int nd, dp;
	double a = fabs(f);
	size_t n;

	shortest_digits(a, false, d, &nd, &dp);
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		n = fmt_e(buf, size, signbit(f), d, nd, dp);
		/* encoding/json cleans e-09 up to e-9 */
		if (n >= 4 && n < size && buf[n - 4] == 'e' && buf[n - 3] == '-' &&
		    buf[n - 2] == '0') {
			buf[n - 2] = buf[n - 1];
			buf[--n] = 0;
		}
		return n;
	}
	return fmt_f(buf, size, signbit(f), d, nd, dp);
}

size_t k8s_fmt_float_key(double f, char *buf, size_t size)
{
	char d[24];
	int nd, dp, exp;

	if (isnan(f))
		return (size_t)snprintf(buf, size, ".nan");
	if (isinf(f))
		return (size_t)snprintf(buf, size, "%s", f < 0 ? "-.inf" : ".inf");
	if (fabs(f) > 3.4028234663852886e38)
		return (size_t)snprintf(buf, size, "%s", f < 0 ? "-.inf" : ".inf"); /* float32 */
	shortest_digits(fabs(f), true, d, &nd, &dp);
	exp = dp - 1;
	/* strconv 'g' with the shortest precision: %e when exp < -4 || exp >= 6 */
	if (nd && (exp < -4 || exp >= 6))
		return fmt_e(buf, size, signbit(f), d, nd, dp);
	return fmt_f(buf, size, signbit(f), d, nd, dp);
}

int k8s_key_string(struct fy_node *k, const char **s, size_t *len, char **owned)
{
	struct k8s_scalar sc;
	char tmp[64];
	size_t n;

	*owned = NULL;
	if (k8s_scalar_resolve(k, &sc) != 0)
		return -EINVAL;
	switch (sc.type) {
	case K8S_SCALAR_STRING:
		*s = sc.str;
		*len = sc.len;
		return 0;
	case K8S_SCALAR_BOOL:
		*s = sc.b ? "true" : "false";
		*len = strlen(*s);
		return 0;
	case K8S_SCALAR_INT:
		n = (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, sc.i);
		break;
	case K8S_SCALAR_FLOAT:
		n = k8s_fmt_float_key(sc.f, tmp, sizeof(tmp));
		break;
	case K8S_SCALAR_NULL:
	case K8S_SCALAR_UINT:
	default:
		return -EINVAL; /* sigs.k8s.io/yaml: "unsupported map key" */
	}
	*owned = strndup(tmp, n);
	if (!*owned)
		return -ENOMEM;
	*s = *owned;
	*len = n;
	return 0;
}
