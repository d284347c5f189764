/* SPDX-License-Identifier: Apache-2.0 */
/* The masquerade port range read from a net.ipv4.ip_local_port_range file: its format, and
 * bad contents refused with nothing written. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"

static char path[] = "/tmp/drover-port-range-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static int read_range(const char *text, uint16_t *lo, uint16_t *hi)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return proxy_local_port_range(path, lo, hi);
}

static void test_valid(void **state)
{
	uint16_t lo = 0, hi = 0;

	(void)state;
	assert_int_equal(read_range("32768\t60999\n", &lo, &hi), 0);
	assert_int_equal(lo, 32768);
	assert_int_equal(hi, 60999);
	assert_int_equal(read_range("1024 65535", &lo, &hi), 0);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 65535);
	assert_int_equal(read_range("40000\t40000\n", &lo, &hi), 0);
	assert_int_equal(lo, 40000);
	assert_int_equal(hi, 40000);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
	    "",	       "\n",	    "abc def\n", "32768\n",  "60999 32768\n",
	    "0 100\n", "1 70000\n", "1 2 3\n",	 "-5 100\n", "100 200x\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t lo = 7, hi = 9;

		if (read_range(bad[i], &lo, &hi) != -EINVAL)
			fail_msg("\"%s\" was not refused", bad[i]);
		assert_int_equal(lo, 7);
		assert_int_equal(hi, 9);
	}
	{
		uint16_t lo = 7, hi = 9;

		assert_int_equal(
		    proxy_local_port_range("/nonexistent/ip_local_port_range", &lo, &hi), -ENOENT);
		assert_int_equal(lo, 7);
	}
}

/* The masquerade ports: as many as the ephemeral range, outside it and the NodePort range. */
static void test_window(void **state)
{
	uint16_t lo = 0, hi = 0;

	(void)state;
	/* Linux's default: below the NodePort range, ending just under it */
	assert_int_equal(proxy_snat_window(32768, 60999, 30000, 32767, &lo, &hi), 0);
	assert_int_equal(hi, 29999);
	assert_int_equal(hi - lo + 1, 60999 - 32768 + 1);
	/* a small ephemeral range low down: the top of the port space */
	assert_int_equal(proxy_snat_window(10000, 20000, 30000, 32767, &lo, &hi), 0);
	assert_int_equal(hi, 65535);
	assert_int_equal(lo, 65535 - 10000);
	/* no stretch large enough: the largest one, whole */
	assert_int_equal(proxy_snat_window(20000, 55000, 30000, 32767, &lo, &hi), 0);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 19999);
	/* no NodePort range given */
	assert_int_equal(proxy_snat_window(32768, 60999, 0, 0, &lo, &hi), 0);
	assert_int_equal(hi, 32767);
	/* the ephemeral range takes everything: refused, outputs untouched */
	lo = 7;
	hi = 9;
	assert_int_equal(proxy_snat_window(1024, 65535, 30000, 32767, &lo, &hi), -ENOSPC);
	assert_int_equal(lo, 7);
	assert_int_equal(hi, 9);
}

/* The running kernel's own file reads. */
static void test_proc(void **state)
{
	uint16_t lo = 0, hi = 0;

	(void)state;
	assert_int_equal(proxy_local_port_range(PROXY_PORT_RANGE_FILE, &lo, &hi), 0);
	assert_true(lo >= 1 && lo <= hi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_proc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
