/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_quantity: resource.Quantity values as ParseQuantity + Value()/MilliValue() give
 * them (expected figures from Go's quantity_test.go and worked by hand): suffixes decimal,
 * binary and exponent, fractions rounded up at each scale, saturation, bad syntax; and the
 * canonical form the API server stores and serves (Quantity.String() after ParseQuantity:
 * Go's TestQuantityParseEmit table and worked cases of CanonicalizeBytes).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "k8s.h"

struct qcase {
	const char *s;
	int64_t value, milli;
};

static void check(const struct qcase *c)
{
	int64_t v = -42, m = -42;
	int r = k8s_quantity_parse(c->s, strlen(c->s), &v, &m);

	if (r != 0 || v != c->value || m != c->milli)
		fail_msg("%s: r=%d value=%lld (want %lld) milli=%lld (want %lld)", c->s, r,
			 (long long)v, (long long)c->value, (long long)m, (long long)c->milli);
}

static void test_plain_and_suffixes(void **state)
{
	static const struct qcase cases[] = {
	    {"0", 0, 0},
	    {"1", 1, 1000},
	    {"100m", 1, 100},
	    {"250m", 1, 250},
	    {"1500m", 2, 1500},
	    {"2", 2, 2000},
	    {"1k", 1000, 1000000},
	    {"1M", 1000000, 1000000000},
	    {"1G", 1000000000, 1000000000000},
	    {"1T", 1000000000000, 1000000000000000},
	    {"1P", 1000000000000000, 1000000000000000000},
	    {"1Ki", 1024, 1024000},
	    {"1Mi", 1048576, 1048576000},
	    {"200Mi", 209715200, 209715200000},
	    {"123Mi", 128974848, 128974848000},
	    {"32Gi", 34359738368, 34359738368000},
	    {"1Ti", 1099511627776, 1099511627776000},
	    {"1Pi", 1125899906842624, 1125899906842624000},
	    {"1Ei", 1152921504606846976, INT64_MAX},
	    {"129e6", 129000000, 129000000000},
	    {"129E6", 129000000, 129000000000},
	    {"1e3", 1000, 1000000},
	    {"1e-3", 1, 1},
	    {"12e-1", 2, 1200},
	    {"+5", 5, 5000},
	    {"110", 110, 110000},
	    {"0.5", 1, 500},
	    {".5", 1, 500},
	    {"1.", 1, 1000},
	    {"007", 7, 7000},
	    {" 2Gi ", 2147483648, 2147483648000},
	    /* ParseQuantity reads a missing number as 0 */
	    {"Gi", 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

static void test_fractions_round_up(void **state)
{
	static const struct qcase cases[] = {
	    /* a fraction of a millicore is one millicore, of a byte one byte */
	    {"0.1m", 1, 1},
	    {"1n", 1, 1},
	    {"1u", 1, 1},
	    {"1001m", 2, 1001},
	    {"1.0001", 2, 1001},
	    {"1.5Gi", 1610612736, 1610612736000},
	    {"0.5Ki", 512, 512000},
	    {"0.3Ki", 308, 307200},
	    {"1.000000000000000000000000000001", 2, 1001},
	    {"0.000000000000000000000000000000000000000000000000001", 1, 1},
	    {"0e999999999999999", 0, 0},
	    {"0.0", 0, 0},
	    /* rounding is away from zero for negative values too */
	    {"-1", -1, -1000},
	    {"-0.5", -1, -500},
	    {"-100m", -1, -100},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

static void test_saturation(void **state)
{
	static const struct qcase cases[] = {
	    {"9223372036854775807", INT64_MAX, INT64_MAX},
	    {"9223372036854775808", INT64_MAX, INT64_MAX},
	    {"9223372036854775", 9223372036854775, 9223372036854775000},
	    {"9223372036854775m", 9223372036855, 9223372036854775},
	    {"8Ei", INT64_MAX, INT64_MAX},
	    {"100E", INT64_MAX, INT64_MAX},
	    {"1e18", 1000000000000000000, INT64_MAX},
	    {"-9223372036854775809", INT64_MIN, INT64_MIN},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

static void test_many_digits(void **state)
{
	/* 2,000 digits: the kept prefix is exact, the tail only rounds up */
	char buf[2100];
	int64_t v, m;

	memset(buf, '0', sizeof(buf));
	buf[0] = '0';
	buf[1] = '.';
	buf[1500] = '1';
	buf[2001] = 0;
	assert_int_equal(k8s_quantity_parse(buf, strlen(buf), &v, &m), 0);
	assert_int_equal(v, 1);
	assert_int_equal(m, 1);

	memset(buf, '0', sizeof(buf));
	buf[0] = '3';
	buf[2000] = 'n';
	buf[2001] = 0;
	assert_int_equal(k8s_quantity_parse(buf, strlen(buf), &v, &m), 0);
	assert_int_equal(v, INT64_MAX);

	/* an exact integer with a long run of trailing fraction zeros */
	memset(buf, '0', sizeof(buf));
	buf[0] = '7';
	buf[1] = '.';
	buf[2001] = 0;
	assert_int_equal(k8s_quantity_parse(buf, strlen(buf), &v, &m), 0);
	assert_int_equal(v, 7);
	assert_int_equal(m, 7000);
}

static void test_bad_syntax(void **state)
{
	static const char *const bad[] = {
	    "",	   " ",	  "abc", "1.2.3", "1Kb", "1 Gi",   "1ki",  "1e",
	    "1e+", "--1", "1m1", "0x10",  "1i",	 "1.5.Gi", "1EE3",
	};
	int64_t v = 7, m = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (k8s_quantity_parse(bad[i], strlen(bad[i]), &v, &m) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	}
	/* nothing written on failure */
	assert_int_equal(v, 7);
	assert_int_equal(m, 7);
	assert_int_equal(k8s_quantity_parse(NULL, 0, &v, NULL), -EINVAL);
	/* either output may be left out */
	assert_int_equal(k8s_quantity_parse("3", 1, NULL, &m), 0);
	assert_int_equal(m, 3000);
	assert_int_equal(k8s_quantity_parse("3", 1, &v, NULL), 0);
	assert_int_equal(v, 3);
}

static void test_canonical(void **state)
{
	static const char *const cases[][2] = {
	    /* TestQuantityParseEmit (k8s.io/apimachinery resource/quantity_test.go) */
	    {"1Ki", "1Ki"},
	    {"1Mi", "1Mi"},
	    {"1Gi", "1Gi"},
	    {"1024Mi", "1Gi"},
	    {"1000M", "1G"},
	    {".001Ki", "1024m"},
	    {".000001Ki", "1024u"},
	    {".000000001Ki", "1024n"},
	    {".000000000001Ki", "2n"},
	    {"-1024Mi", "-1Gi"},
	    {"-.001Ki", "-1024m"},
	    /* ParseQuantity keeps a canonical string as written */
	    {"100Mi", "100Mi"},
	    {"250m", "250m"},
	    {"2500m", "2500m"},
	    {"2e3", "2e3"},
	    {"1.5e4", "1.5e4"},
	    {"80e-3", "80e-3"},
	    {"1024", "1024"},
	    {"1073741824", "1073741824"},
	    {"0", "0"},
	    /* and renders the others canonically (AsCanonicalBytes, base-1024 for BinarySI) */
	    {"0.5", "500m"},
	    {"1.0", "1"},
	    {"3.000", "3"},
	    {"0.10", "100m"},
	    {"2.5", "2500m"},
	    {"-0.5", "-500m"},
	    {"1000", "1k"},
	    {"1000k", "1M"},
	    {"1000000000", "1G"},
	    {"0.0001", "100u"},
	    {"0.1n", "1n"},
	    {"1.5e3", "1500"},
	    {"0.5Gi", "512Mi"},
	    {"1.5Gi", "1536Mi"},
	    {"0.3Ki", "307200m"},
	    {"8Gi", "8Gi"},
	    {"0.0", "0"},
	    {"00", "0"},
	    {" 2 ", "2"},
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = k8s_quantity_canonical(cases[i][0], strlen(cases[i][0]), out, sizeof(out));

		if (n < 0 || strcmp(out, cases[i][1]) != 0 || (size_t)n != strlen(cases[i][1]))
			fail_msg("%s: %d \"%s\", want \"%s\"", cases[i][0], n, n >= 0 ? out : "",
				 cases[i][1]);
	}
	assert_int_equal(k8s_quantity_canonical("1.2.3", 5, out, sizeof(out)), -EINVAL);
	assert_int_equal(k8s_quantity_canonical("abc", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(k8s_quantity_canonical("1024Mi", 6, out, 3), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_and_suffixes), cmocka_unit_test(test_fractions_round_up),
	    cmocka_unit_test(test_saturation),	       cmocka_unit_test(test_many_digits),
	    cmocka_unit_test(test_bad_syntax),	       cmocka_unit_test(test_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
