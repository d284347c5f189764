/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crilog.c: the CRI log records kubelet reads. Full lines, lines split over reads, "\r\n",
 * lines longer than the maximum (P records then F), a line of exactly the maximum, text left
 * at the end of a stream (P), empty lines, both streams into one file, the timestamp format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crilog.h"

#define TS "2016-10-06T00:17:09.669794202Z"

static void fixed_clock(struct timespec *ts)
{
	ts->tv_sec = 1475713029;
	ts->tv_nsec = 669794202;
}

struct fx {
	char path[64];
	int fd;
	struct crilog_stream out, err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	strcpy(fx->path, "/tmp/drvcrilog-XXXXXX");
	fx->fd = mkstemp(fx->path);
	assert_true(fx->fd >= 0);
	crilog_stream_init(&fx->out, fx->fd, "stdout", 0);
	crilog_stream_init(&fx->err, fx->fd, "stderr", 0);
	fx->out.now = fx->err.now = fixed_clock;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	close(fx->fd);
	unlink(fx->path);
	free(fx);
	return 0;
}

static const char *contents(struct fx *fx)
{
	static char buf[8192];
	ssize_t n = pread(fx->fd, buf, sizeof(buf) - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void feed(struct crilog_stream *s, const char *text)
{
	assert_int_equal(crilog_feed(s, text, strlen(text)), 0);
}

static void test_prefix(void **state)
{
	char buf[96];
	struct timespec ts = {1475713029, 669794202};
	struct timespec epoch = {0, 5};
	struct timespec leap = {951782400, 0}; /* 2000-02-29 */

	(void)state;
	assert_int_equal(crilog_prefix(buf, sizeof(buf), &ts, "stdout", 'F'),
			 strlen(TS " stdout F "));
	assert_string_equal(buf, TS " stdout F ");
	crilog_prefix(buf, sizeof(buf), &epoch, "stderr", 'P');
	assert_string_equal(buf, "1970-01-01T00:00:00.000000005Z stderr P ");
	crilog_prefix(buf, sizeof(buf), &leap, "stdout", 'F');
	assert_string_equal(buf, "2000-02-29T00:00:00.000000000Z stdout F ");
	/* A short buffer gets a truncated, terminated prefix. */
	assert_int_equal(crilog_prefix(buf, 5, &ts, "stdout", 'F'), 4);
	assert_string_equal(buf, "2016");
}

/* Reads fed in order ('o' stdout, 'e' stderr) and the whole file after them. */
static const struct {
	const char *what;
	struct {
		char stream;
		const char *text;
	} reads[6];
	const char *want;
} feed_cases[] = {
    {"full lines, an empty one",
     {{'o', "hello\nworld\n"}, {'o', "\n"}},
     TS " stdout F hello\n" TS " stdout F world\n" TS " stdout F \n"},
    {"nothing until the line ends", {{'o', "par"}, {'o', "tial"}}, ""},
    {"a line over reads, \"\\r\\n\" as \"\\n\" (also split between reads)",
     {{'o', "par"}, {'o', "tial"}, {'o', "\nwin\r\n"}, {'o', "dos\r"}, {'o', "\n"}},
     TS " stdout F partial\n" TS " stdout F win\n" TS " stdout F dos\n"},
    {"both streams into one file, each with its own unfinished line",
     {{'o', "out 1\nout "}, {'e', "err 1\n"}, {'o', "2\n"}},
     TS " stdout F out 1\n" TS " stderr F err 1\n" TS " stdout F out 2\n"},
};

static void test_feed_cases(void **state)
{
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(feed_cases) / sizeof(feed_cases[0]); i++) {
		print_message("%s\n", feed_cases[i].what);
		assert_int_equal(ftruncate(fx->fd, 0), 0);
		assert_int_equal(lseek(fx->fd, 0, SEEK_SET), 0);
		crilog_stream_init(&fx->out, fx->fd, "stdout", 0);
		crilog_stream_init(&fx->err, fx->fd, "stderr", 0);
		fx->out.now = fx->err.now = fixed_clock;
		for (size_t r = 0; feed_cases[i].reads[r].text; r++)
			feed(feed_cases[i].reads[r].stream == 'o' ? &fx->out : &fx->err,
			     feed_cases[i].reads[r].text);
		assert_string_equal(contents(fx), feed_cases[i].want);
	}
}

static void test_long_lines(void **state)
{
	struct fx *fx = *state;

	crilog_stream_init(&fx->out, fx->fd, "stdout", 8);
	fx->out.now = fixed_clock;
	feed(&fx->out, "0123456789ab\n");
	/* Exactly the maximum is a full line, also when its newline comes in a later read. */
	feed(&fx->out, "ABCDEFGH\n");
	feed(&fx->out, "abcdefgh");
	feed(&fx->out, "\n");
	/* Twice the maximum with no newline: one P now, one at the end. */
	feed(&fx->out, "0123456789abcdef");
	assert_int_equal(crilog_end(&fx->out), 0);
	assert_string_equal(contents(fx), TS " stdout P 01234567\n" TS " stdout F 89ab\n" TS
					     " stdout F ABCDEFGH\n" TS " stdout F abcdefgh\n" TS
					     " stdout P 01234567\n" TS " stdout P 89abcdef\n");
}

static void test_end(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(crilog_end(&fx->err), 0); /* nothing buffered: no record */
	feed(&fx->err, "no newline");
	assert_int_equal(crilog_end(&fx->err), 0);
	assert_int_equal(crilog_end(&fx->err), 0);
	assert_string_equal(contents(fx), TS " stderr P no newline\n");
}

static void test_write_error(void **state)
{
	struct fx *fx = *state;
	struct crilog_stream s;

	crilog_stream_init(&s, -1, "stdout", 0);
	s.now = fixed_clock;
	assert_int_equal(crilog_feed(&s, "x\n", 2), -EBADF);
	(void)fx;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix),
	    cmocka_unit_test_setup_teardown(test_feed_cases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
