/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_util: what the subcommands share: reading a whole-number flag, --log-level, the
 * stop flag that SIGINT and SIGTERM set for a command that runs until told to stop, and a
 * client from a kubeconfig.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "kclient.h"
#include "log.h"

int cli_parse_uint(const char *arg, unsigned long min, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int cli_uint(const char *cmd, const char *flag, const char *arg, unsigned long min,
	     unsigned long max, unsigned *out)
{
	if (cli_parse_uint(arg, min, max, out) == 0)
		return 0;
	if (max >= UINT_MAX)
		fprintf(stderr, "drover %s: --%s: a whole number >= %lu, not \"%s\"\n", cmd, flag,
			min, arg);
	else
		fprintf(stderr, "drover %s: --%s: a whole number from %lu to %lu, not \"%s\"\n",
			cmd, flag, min, max, arg);
	return -1;
}

int cli_log_level(const char *cmd, const char *arg)
{
	enum log_level lvl;

	if (log_parse_level(arg, &lvl) != 0) {
		fprintf(stderr, "drover %s: unknown log level %s\n", cmd, arg);
		return -1;
	}
	log_set_level(lvl);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

void cli_catch_stop(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool cli_stopping(void)
{
	return stop;
}

void cli_wait_stop(void)
{
	while (!stop)
		pause();
}

struct kclient *cli_client(const char *cmd, const char *path, const char *manager)
{
	return cli_client_at(cmd, path, NULL, manager);
}

struct kclient *cli_client_at(const char *cmd, const char *path, const char *server,
			      const char *manager)
{
	struct kc_config cfg;
	struct kclient *c;
	char err[512];

	if (kc_config_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "drover %s: %s\n", cmd, err);
		return NULL;
	}
	if (server) { /* kubectl's --server: the kubeconfig's credentials, another address */
		free(cfg.server);
		cfg.server = strdup(server);
	}
	c = cfg.server ? kclient_http_new(&cfg) : NULL;
	kc_config_free(&cfg);
	if (!c) {
		fprintf(stderr, "drover %s: client: %s\n", cmd, strerror(errno));
		return NULL;
	}
	kclient_set_field_manager(c, manager);
	return c;
}

/* A Go duration made of h/m/s parts ("24h", "1h30m", "90s", "0"): seconds, or -1. */
int64_t cli_duration(const char *s)
{
	int64_t total = 0;

	if (strcmp(s, "0") == 0)
		return 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		unsigned long long v;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || v > 100000000ULL)
			return -1;
		switch (*end) {
		case 'h':
			total += (int64_t)v * 3600;
			break;
		case 'm':
			total += (int64_t)v * 60;
			break;
		case 's':
			total += (int64_t)v;
			break;
		default:
			return -1;
		}
		s = end + 1;
	}
	return total;
}
