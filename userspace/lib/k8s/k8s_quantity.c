/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_quantity: the value of a resource.Quantity, as ParseQuantity and Value()/MilliValue()
 * compute it. The syntax check is k8s_quantity_valid (k8s_formats.c); this file owns the
 * arithmetic: a quantity is digits × 10^e10 × 2^e2 (fraction digits and decimal suffixes move
 * e10, binary suffixes set e2), evaluated exactly in a small big-integer and rounded up to the
 * requested scale. Pure functions; owns nothing.
 *
 * Go's rounding, which this reproduces for the values resources take (positive, below 2^63):
 * ParseQuantity rounds a fraction finer than 1n up to 1n, and Value()/MilliValue() round up
 * (ScaledValue "ALWAYS rounds up the result when scale down"), so Value() = ceil(v) and
 * MilliValue() = ceil(1000·v). For negative quantities the magnitude is rounded up (away
 * from zero), as negativeScaleInt64 does. Where Go's int64 results overflow (it returns 0 or
 * a wrapped number), this saturates at INT64_MAX / INT64_MIN: no resource is that large, and
 * saturation keeps a nonsense allocatable from reading as zero.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "k8s.h"
#include "k8s_internal.h"

/* Up to this many decimal digits are kept exactly (3,400 bits); the rest only tell whether the
 * value is above the kept prefix (a "sticky" bit, enough for rounding up). */
#define QMAX_DIGITS 1024
#define QLIMBS	    ((QMAX_DIGITS * 3322 / 1000 + 64 + 1023) / 32 + 2)

struct big {
	uint32_t l[QLIMBS]; /* little-endian limbs */
	size_t n;	    /* limbs in use (no leading zero limb) */
};

static void big_mul_add(struct big *b, uint32_t mul, uint32_t add)
{
	uint64_t carry = add;

	for (size_t i = 0; i < b->n; i++) {
		uint64_t v = (uint64_t)b->l[i] * mul + carry;

		b->l[i] = (uint32_t)v;
		carry = v >> 32;
	}
	if (carry && b->n < QLIMBS)
		b->l[b->n++] = (uint32_t)carry;
}

/* b /= d; returns the remainder. */
static uint32_t big_div(struct big *b, uint32_t d)
{
	uint64_t rem = 0;

	for (size_t i = b->n; i-- > 0;) {
		uint64_t cur = (rem << 32) | b->l[i];

		b->l[i] = (uint32_t)(cur / d);
		rem = cur % d;
	}
	while (b->n && b->l[b->n - 1] == 0)
		b->n--;
	return (uint32_t)rem;
}

static size_t big_bits(const struct big *b)
{
	if (!b->n)
		return 0;
	return (b->n - 1) * 32 + (32 - (size_t)__builtin_clz(b->l[b->n - 1]));
}

/* ceil(b × 10^e10) for the magnitude, saturating at sat; sticky: the true mantissa is a bit
 * above b (digits were dropped). */
static uint64_t scaled_ceil(struct big b, int64_t e10, bool sticky, uint64_t sat)
{
	if (b.n == 0 && !sticky)
		return 0;
	if (e10 >= 0) {
		for (int64_t i = 0; i < e10; i++) {
			if (big_bits(&b) > 64)
				return sat;
			big_mul_add(&b, 10, 0);
		}
		/* dropped digits only exist when the prefix alone is far above int64 */
		if (big_bits(&b) > 63)
			return sat;
		uint64_t v = b.n ? b.l[0] : 0;

		if (b.n > 1)
			v |= (uint64_t)b.l[1] << 32;
		if (sticky)
			v++;
		return v > sat ? sat : v;
	}
	/* a divisor with more digits than the value leaves a fraction of one unit */
	if ((uint64_t)-e10 > (uint64_t)big_bits(&b) / 3 + 1) {
		bool nonzero = b.n > 0 || sticky;

		return nonzero ? 1 : 0;
	}
	bool frac = sticky;

	for (int64_t i = 0; i < -e10; i++)
		if (big_div(&b, 10))
			frac = true;
	if (big_bits(&b) > 63)
		return sat;
	uint64_t v = b.n ? b.l[0] : 0;

	if (b.n > 1)
		v |= (uint64_t)b.l[1] << 32;
	if (frac)
		v++;
	return v > sat ? sat : v;
}

/* Decimal suffix exponents (SI) and binary ones (IEC). */
static bool suffix_exp(const char *s, size_t len, int64_t *e10, int *e2)
{
	static const struct {
		const char *s;
		int e10, e2;
	} tab[] = {
	    {"", 0, 0},	   {"n", -9, 0},  {"u", -6, 0},	 {"m", -3, 0},
	    {"k", 3, 0},   {"M", 6, 0},	  {"G", 9, 0},	 {"T", 12, 0},
	    {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
	    {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].s) == len && memcmp(tab[i].s, s, len) == 0) {
			*e10 = tab[i].e10;
			*e2 = tab[i].e2;
			return true;
		}
	if (len > 1 && (s[0] == 'e' || s[0] == 'E')) {
		size_t i = 1;
		bool neg = false;
		int64_t v = 0;

		if (s[i] == '+' || s[i] == '-')
			neg = s[i++] == '-';
		for (; i < len; i++)
			v = v * 10 + (s[i] - '0'); /* k8s_quantity_valid bounds it to 18 digits */
		*e10 = neg ? -v : v;
		*e2 = 0;
		return true;
	}
	return false;
}

int k8s_quantity_parse(const char *s, size_t len, int64_t *value, int64_t *milli)
{
	struct big b = {.n = 0};
	bool neg = false, sticky = false;
	int64_t e10 = 0;
	size_t i = 0, kept = 0;
	int e2;

	if (!s || !k8s_quantity_valid(s, len))
		return -EINVAL;
	/* the same trimming k8s_quantity_valid allowed */
	k8s_quantity_trim(&s, &len);
	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	for (bool frac = false; i < len; i++) {
		if (s[i] == '.' && !frac) {
			frac = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			break;
		if (frac)
			e10--;
		if (b.n == 0 && s[i] == '0')
			continue; /* leading zeros */
		if (kept < QMAX_DIGITS) {
			big_mul_add(&b, 10, (uint32_t)(s[i] - '0'));
			kept++;
		} else {
			/* this digit's place is one power of ten further left of the kept prefix */
			e10++;
			if (s[i] != '0')
				sticky = true;
		}
	}
	int64_t se10;

	if (!suffix_exp(s + i, len - i, &se10, &e2))
		return -EINVAL;
	e10 += se10;
	for (int k = 0; k < e2; k++)
		big_mul_add(&b, 2, 0);

	uint64_t sat = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	if (value) {
		uint64_t v = scaled_ceil(b, e10, sticky, sat);

		*value = neg ? (int64_t)(0 - v) : (int64_t)v;
	}
	if (milli) {
		uint64_t v = scaled_ceil(b, e10 + 3, sticky, sat);

		*milli = neg ? (int64_t)(0 - v) : (int64_t)v;
	}
	return 0;
}

/* ---- the canonical form (Quantity.String() of what ParseQuantity read) ---- */

typedef __int128 i128;

/* Remove factors of base while |v| >= base (removeInt64Factors). */
static i128 remove_factors(i128 v, i128 base, int *times)
{
	bool neg = v < 0;

	*times = 0;
	if (neg)
		v = -v;
	while (v >= base && v % base == 0) {
		v /= base;
		(*times)++;
	}
	return neg ? -v : v;
}

static int put_i128(char *out, size_t outsz, i128 v, const char *suffix)
{
	char digits[48];
	size_t n = 0, k = 0;
	unsigned __int128 u = v < 0 ? (unsigned __int128)(-v) : (unsigned __int128)v;

	do {
		digits[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		digits[n++] = '-';
	if (n + strlen(suffix) + 1 > outsz)
		return -ENOSPC;
	while (n)
		out[k++] = digits[--n];
	memcpy(out + k, suffix, strlen(suffix) + 1);
	return (int)(k + strlen(suffix));
}

/* AsCanonicalBytes + the decimal suffix of format (DecimalSI, or DecimalExponent: e<n>). */
static int put_decimal(char *out, size_t outsz, i128 m, int e10, bool exponent_form)
{
	static const char *const si[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
	static const i128 lim = (i128)1 << 100;
	char suffix[16];
	int times;

	m = remove_factors(m, 10, &times);
	e10 += times;
	switch (e10 % 3) { /* C's %, like Go's, keeps the dividend's sign */
	case 1:
	case -2:
		m *= 10;
		e10 -= 1;
		break;
	case 2:
	case -1:
		m *= 100;
		e10 -= 2;
		break;
	}
	if (m > lim || m < -lim)
		return -ERANGE;
	if (exponent_form) {
		if (e10 == 0)
			suffix[0] = 0;
		else
			snprintf(suffix, sizeof(suffix), "e%d", e10);
	} else {
		if (e10 < -9 || e10 > 18)
			return -ERANGE; /* Go has no SI suffix for it either */
		snprintf(suffix, sizeof(suffix), "%s", si[(e10 + 9) / 3]);
	}
	return put_i128(out, outsz, m, suffix);
}

int k8s_quantity_canonical(const char *s, size_t len, char *out, size_t outsz)
{
	static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
	char shifted[64];
	size_t i = 0, nnum = 0, nden = 0, n;
	bool neg = false, binary, expo;
	int64_t se10;
	int e2, scale;
	i128 m = 0;

	if (!s || !k8s_quantity_valid(s, len))
		return -EINVAL;
	/* UnmarshalJSON parses strings.TrimSpace of the value */
	k8s_quantity_trim(&s, &len);
	if (len == 1 && s[0] == '0')
		goto keep;
	/* parseQuantityString: sign, leading zeros dropped, numerator ("0" when none),
	 * denominator, suffix; shifted = numerator digits then denominator digits */
	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	while (i < len && s[i] == '0')
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nnum++)
		if (nnum < sizeof(shifted) - 1)
			shifted[nnum] = s[i];
	if (!nnum)
		shifted[nnum++] = '0';
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nden++)
			if (nnum + nden < sizeof(shifted) - 1)
				shifted[nnum + nden] = s[i];
	n = nnum + nden;
	if (!suffix_exp(s + i, len - i, &se10, &e2))
		return -EINVAL;
	binary = e2 != 0;
	expo = len - i > 1 && (s[i] == 'e' || s[i] == 'E');
	/* beyond what is computed here exactly (Go's big-decimal path): left as written */
	if (n > (binary ? 18u : 30u) || se10 > 60 || se10 < -60)
		return -ERANGE;
	shifted[n] = 0;
	for (size_t k = 0; k < n; k++)
		m = m * 10 + (shifted[k] - '0');
	scale = (int)se10 - (int)nden; /* the value is m x 10^scale x 2^e2 */

	/* ParseQuantity's fast path keeps the string as written when it is canonical already */
	if (binary ? nden == 0 && 15 - (int)nnum - (int)((float)e2 * 3 / 10) - 1 >= 0
		   : 18 - (int)n >= 0 && scale >= -9) {
		bool ends000 = n >= 3 && memcmp(shifted + n - 3, "000", 3) == 0;

		if (binary ? (e2 % 10 == 0 && (m & 7) != 0)
			   : (scale % 3 == 0 && !ends000 && shifted[0] != '0'))
			goto keep;
	}
	if (binary)
		m *= (i128)1 << e2;
	/* finer than 1n: rounded up (away from zero) to 1n */
	if (scale < -9) {
		bool frac = false;

		for (; scale < -9; scale++) {
			frac |= m % 10 != 0;
			m /= 10;
		}
		m += frac;
	}
	if (neg)
		m = -m;
	if (m == 0)
		return put_i128(out, outsz, 0, "");
	if (binary) {
		i128 pow10 = 1, mag = m < 0 ? -m : m;
		int times;

		for (int k = scale; k < 0; k++)
			pow10 *= 10;
		for (int k = 0; k < scale; k++)
			m *= 10, mag *= 10;
		/* |v| < 1024, or not whole: shown as DecimalSI, as CanonicalizeBytes does */
		if (mag < 1024 * pow10 || m % pow10 != 0)
			return put_decimal(out, outsz, m, scale < 0 ? scale : 0, false);
		m = remove_factors(m / pow10, 1024, &times);
		if (times >= (int)(sizeof(bin) / sizeof(bin[0])))
			return -ERANGE;
		return put_i128(out, outsz, m, bin[times]);
	}
	return put_decimal(out, outsz, m, scale, expo);
keep:
	if (len + 1 > outsz)
		return -ENOSPC;
	memcpy(out, s, len);
	out[len] = 0;
	return (int)len;
}
