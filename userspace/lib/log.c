/* SPDX-License-Identifier: Apache-2.0 */
/* log: level filter, timestamped single-line messages on stderr, libbpf routing. */
#include "log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level log_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	char line[2048];
	int n;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One line per message: drop a trailing newline (libbpf ends its messages with one). */
	while (n > 0 && (size_t)n < sizeof(line) && line[n - 1] == '\n')
		line[--n] = '\0';
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000, level_names[level],
		component, line);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, component, fmt, ap);
	va_end(ap);
}

void log_debug_cb(void *component, const char *fmt, va_list ap)
{
	log_vmsg(LOG_DEBUG, component, fmt, ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level l = level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG;

	/* libbpf's INFO is chatty (every map reuse); keep it at debug. */
	if (level == LIBBPF_DEBUG && log_level < LOG_DEBUG)
		return 0;
	log_vmsg(l, "libbpf", fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
