/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: the one logger of every drover binary. Levels, a component tag, printf-checked
 * formats, one line per message on stderr. libbpf's own output is routed through it
 * (log_route_libbpf) so that its messages carry the same prefix and obey the same level.
 */
#ifndef DROVER_LOG_H
#define DROVER_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
/* Send libbpf's messages through the logger (component "libbpf"). */
void log_route_libbpf(void);

/* A printf-style callback whose closure is the component (const char *), at debug level:
 * libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER takes it as it is. */
void log_debug_cb(void *component, const char *fmt, va_list ap);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...)                                   \
	do {                                                   \
		if (log_get_level() >= LOG_DEBUG)              \
			log_msg(LOG_DEBUG, comp, __VA_ARGS__); \
	} while (0)

#endif
