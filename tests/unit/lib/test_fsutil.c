/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsutil.c: fs_mkdir_p makes every missing directory with the mode asked, accepts what
 * exists, reports where what it made begins, and fails on a file in the way or a path past
 * PATH_MAX.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"

static int setup(void **state)
{
	char *dir = strdup("/tmp/drvfs-XXXXXX");

	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	assert_int_equal(system(cmd), 0);
	free(*state);
	return 0;
}

static void test_mkdir_p(void **state)
{
	const char *dir = *state;
	char path[256], file[256];
	struct stat st;
	size_t made = 99;
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(fs_mkdir_p(path, 0710, &made), 0);
	umask(old);
	/* What it made begins at <dir>/a: <dir> existed. */
	assert_int_equal(made, strlen(dir) + 2);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0710);
	path[strlen(dir) + 2] = '\0';
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0710);

	/* All there: fine, nothing made (also with a trailing slash and a double one). */
	snprintf(path, sizeof(path), "%s/a//b/c/", dir);
	assert_int_equal(fs_mkdir_p(path, 0755, &made), 0);
	assert_int_equal(made, 0);
	/* One more level: made points at it. */
	snprintf(path, sizeof(path), "%s/a/b/c/d", dir);
	assert_int_equal(fs_mkdir_p(path, 0755, NULL), 0);
	assert_int_equal(stat(path, &st), 0);

	/* A file in the way. */
	snprintf(file, sizeof(file), "%s/f", dir);
	fclose(fopen(file, "w"));
	snprintf(path, sizeof(path), "%s/f/x", dir);
	assert_int_equal(fs_mkdir_p(path, 0755, &made), -ENOTDIR);
	assert_int_equal(made, 0);
}

static void test_bad_paths(void **state)
{
	char *longp = malloc(PATH_MAX + 16);

	(void)state;
	assert_non_null(longp);
	memset(longp, 'x', PATH_MAX + 8);
	longp[0] = '/';
	longp[PATH_MAX + 8] = '\0';
	assert_int_equal(fs_mkdir_p(longp, 0755, NULL), -ENAMETOOLONG);
	free(longp);
	assert_int_equal(fs_mkdir_p("", 0755, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
	    cmocka_unit_test(test_bad_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
