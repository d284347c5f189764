/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_formats: the string syntax the special types accept, checked as their Go UnmarshalJSON
 * does: resource.Quantity (ParseQuantity), metav1.Time (time.Parse RFC 3339), metav1.MicroTime
 * (RFC 3339 with exactly 6 fractional digits), metav1.Duration (time.ParseDuration), and []byte
 * (base64.StdEncoding). Pure functions; owns nothing.
 */
#include <string.h>

#include "k8s_internal.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t skip_digits(const char *s, size_t i, size_t len)
{
	while (i < len && is_digit(s[i]))
		i++;
	return i;
}

/* resource.ParseQuantity: <sign>?<digits>?(.<digits>?)?<suffix>, where the suffix is a
 * decimal SI ("", n u m k M G T P E), a binary SI (Ki Mi Gi Ti Pi Ei), or e/E<int>. */
void k8s_quantity_trim(const char **s, size_t *len)
{
	while (*len && ((*s)[0] == ' ' || (*s)[0] == '\t' || (*s)[0] == '\n' || (*s)[0] == '\r')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\n' ||
			(*s)[*len - 1] == '\r'))
		(*len)--;
}

bool k8s_quantity_valid(const char *s, size_t len)
{
	static const char *const suffixes[] = {"",  "n",  "u",	"m",  "k",  "M",  "G",	"T", "P",
					       "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", NULL};
	size_t i = 0, start;

	/* Quantity.UnmarshalJSON trims surrounding space */
	k8s_quantity_trim(&s, &len);
	if (len == 0)
		return false;
	if (s[i] == '+' || s[i] == '-')
		i++;
	i = skip_digits(s, i, len);
	if (i < len && s[i] == '.')
		i = skip_digits(s, i + 1, len);
	start = i;
	while (i < len && s[i] && strchr("eEinumkKMGTP", s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (skip_digits(s, i, len) != len)
		return false;
	for (const char *const *x = suffixes; *x; x++)
		if (strlen(*x) == len - start && memcmp(*x, s + start, len - start) == 0)
			return true;
	/* decimal exponent: e<int64> / E<int64> */
	if (len - start > 1 && (s[start] == 'e' || s[start] == 'E')) {
		size_t j = start + 1;

		if (s[j] == '+' || s[j] == '-')
			j++;
		return j < len && skip_digits(s, j, len) == len && len - j <= 18;
	}
	return false;
}

static bool fixed_num(const char *s, size_t n, int min, int max, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return v >= min && v <= max;
}

static int days_in(int month, int year)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* time.Parse(time.RFC3339, s) (micro: RFC3339Micro, exactly 6 fractional digits). */
bool k8s_rfc3339_valid(const char *s, size_t len, bool micro)
{
	int year, month, day, v;
	size_t i;

	if (len < 20 || !fixed_num(s, 4, 0, 9999, &year) || s[4] != '-' ||
	    !fixed_num(s + 5, 2, 1, 12, &month) || s[7] != '-' ||
	    !fixed_num(s + 8, 2, 1, days_in(month, year), &day) || s[10] != 'T')
		return false;
	/* hour: Go's parser takes one or two digits */
	i = is_digit(s[12]) ? 13 : 12;
	if (!fixed_num(s + 11, i - 11, 0, 23, &v) || s[i] != ':')
		return false;
	if (i + 7 > len || !fixed_num(s + i + 1, 2, 0, 59, &v) || s[i + 3] != ':' ||
	    !fixed_num(s + i + 4, 2, 0, 59, &v))
		return false;
	i += 6;
	if (micro) {
		if (i + 7 > len || s[i] != '.' || skip_digits(s, i + 1, len) < i + 7)
			return false;
		i += 7;
	} else if (i + 1 < len && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
		i = skip_digits(s, i + 1, len);
	}
	if (i + 1 == len && s[i] == 'Z')
		return true;
	return i + 6 == len && (s[i] == '+' || s[i] == '-') && fixed_num(s + i + 1, 2, 0, 23, &v) &&
	       s[i + 3] == ':' && fixed_num(s + i + 4, 2, 0, 59, &v);
}

/* time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+ or "0", in int64 ns. */
bool k8s_duration_valid(const char *s, size_t len)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1},	  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
		     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},	   {"h", 3600e9}};
	double total = 0;
	size_t i = 0;

	if (len && (s[0] == '+' || s[0] == '-'))
		i++;
	if (len - i == 1 && s[i] == '0')
		return true;
	if (i == len)
		return false;
	while (i < len) {
		size_t d = i, u;
		double v = 0, scale = 1;
		bool found = false;

		if (s[i] != '.' && !is_digit(s[i]))
			return false;
		for (; i < len && is_digit(s[i]); i++)
			v = v * 10 + (s[i] - '0');
		if (i < len && s[i] == '.')
			for (i++; i < len && is_digit(s[i]); i++)
				v += (s[i] - '0') * (scale /= 10);
		if (i - d == 1 && s[d] == '.')
			return false; /* no digits: ".s" */
		for (u = i; i < len && s[i] != '.' && !is_digit(s[i]); i++)
			;
		for (size_t k = 0; k < sizeof(units) / sizeof(units[0]) && !found; k++) {
			if (strlen(units[k].unit) == i - u &&
			    memcmp(units[k].unit, s + u, i - u) == 0) {
				total += v * units[k].ns;
				found = true;
			}
		}
		if (!found || total > 9.223372036854775807e18)
			return false;
	}
	return true;
}

/* base64.StdEncoding.Decode, which encoding/json uses for []byte: padded, '\r' and '\n'
 * ignored anywhere. */
bool k8s_base64_valid(const char *s, size_t len)
{
	size_t n = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
		} else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				    is_digit(c) || c == '+' || c == '/')) {
			return false;
		}
		n++;
	}
	return n % 4 == 0 && pad <= 2;
}
