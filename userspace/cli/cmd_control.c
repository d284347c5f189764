/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_control: `drover controller-manager` and `drover scheduler`: the controllers and the
 * scheduler that `drover server` runs in process, as processes of their own talking HTTPS to
 * any Kubernetes-compatible API server through a kubeconfig (as kube-controller-manager and
 * kube-scheduler run). Same code, the other transport: run `drover server --controllers ""
 * --no-scheduler` and these beside it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "controllers.h"
#include "kclient.h"
#include "log.h"
#include "sched_run.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void wait_for_signal(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop)
		pause();
}

/* A client from a kubeconfig (path NULL: $KUBECONFIG, ~/.kube/config). */
static struct kclient *client(const char *cmd, const char *path, const char *manager)
{
	struct kc_config cfg;
	struct kclient *c;
	char err[512];

	if (kc_config_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "drover %s: %s\n", cmd, err);
		return NULL;
	}
	c = kclient_http_new(&cfg);
	kc_config_free(&cfg);
	if (!c) {
		fprintf(stderr, "drover %s: client: %s\n", cmd, strerror(errno));
		return NULL;
	}
	kclient_set_field_manager(c, manager);
	return c;
}

static int log_level(const char *cmd, const char *arg)
{
	enum log_level lvl;

	if (log_parse_level(arg, &lvl) != 0) {
		fprintf(stderr, "drover %s: unknown log level %s\n", cmd, arg);
		return -1;
	}
	log_set_level(lvl);
	return 0;
}

/* A whole number in [min, max] for --flag; else one line on stderr and -1. */
static int count_arg(const char *cmd, const char *flag, const char *arg, unsigned long min,
		     unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, "drover %s: --%s: a whole number from %lu to %lu, not \"%s\"\n",
			cmd, flag, min, max, arg);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* What the two commands share once their flags are read: a client of the kubeconfig, the
 * component started over it, and both stopped on SIGINT/SIGTERM. */
struct component {
	const char *cmd, *manager;
	int (*start)(struct kclient *c, const void *cfg, void **state);
	void (*stop)(void *state);
};

static int run_component(const struct component *k, const char *kubeconfig, const void *cfg)
{
	struct kclient *c = client(k->cmd, kubeconfig, k->manager);
	void *state = NULL;
	int err;

	if (!c)
		return 1;
	err = k->start(c, cfg, &state);
	if (err) {
		fprintf(stderr, "drover %s: %s\n", k->cmd, strerror(-err));
		kclient_free(c);
		return 1;
	}
	wait_for_signal();
	k->stop(state);
	kclient_free(c);
	return 0;
}

static int cm_start(struct kclient *c, const void *cfg, void **state)
{
	return ctrl_manager_start(c, cfg, (struct ctrl_manager **)state);
}

static void cm_stop(void *state)
{
	ctrl_manager_stop(state);
}

static int sched_start(struct kclient *c, const void *cfg, void **state)
{
	return scheduler_start(c, cfg, (struct scheduler **)state);
}

static void sched_stop(void *state)
{
	scheduler_stop(state);
}

static void cm_usage(FILE *out)
{
	fprintf(out,
		"usage: drover controller-manager [--kubeconfig F] [options]\n\n"
		"Runs the controllers against the API server of a kubeconfig (HTTPS).\n\n"
		"  --kubeconfig F      the server and credentials (default $KUBECONFIG, then\n"
		"                      ~/.kube/config)\n"
		"  --controllers LIST  names, \"*\" (those on by default), \"-name\" to leave one\n"
		"                      out (default \"*\")\n"
		"  --node-grace S      seconds without a Lease renewal before a node is Unknown\n"
		"                      and tainted unreachable (default 10)\n"
		"  --workers N         worker threads per controller (default 2)\n"
		"  --log-level LEVEL   error, warn, info (default) or debug\n"
		"\ncontrollers:\n");
	ctrl_list(out);
}

int cmd_controller_manager(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"controllers", required_argument, NULL, 'c'},
	    {"node-grace", required_argument, NULL, 'g'},
	    {"workers", required_argument, NULL, 'w'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct component cm = {"controller-manager", "kube-controller-manager",
					    cm_start, cm_stop};
	struct ctrl_config cfg = {.component = "drover-controller-manager"};
	const char *kubeconfig = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			kubeconfig = optarg;
			break;
		case 'c': {
			char bad[64];

			if (ctrl_check_names(optarg, bad, sizeof(bad))) {
				fprintf(
				    stderr,
				    "drover controller-manager: --controllers: unknown controller "
				    "\"%s\" (--help lists them)\n",
				    bad);
				return 2;
			}
			cfg.controllers = optarg;
			break;
		}
		case 'g':
			if (count_arg(cm.cmd, "node-grace", optarg, 1, 86400, &cfg.node_grace_s))
				return 2;
			break;
		case 'w':
			if (count_arg(cm.cmd, "workers", optarg, 1, 64, &cfg.workers))
				return 2;
			break;
		case 'L':
			if (log_level("controller-manager", optarg) != 0)
				return 2;
			break;
		case 'h':
			cm_usage(stdout);
			return 0;
		default:
			cm_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cm_usage(stderr);
		return 2;
	}
	return run_component(&cm, kubeconfig, &cfg);
}

static void sched_usage(FILE *out)
{
	fprintf(out,
		"usage: drover scheduler [--kubeconfig F] [options]\n\n"
		"Schedules pods of the API server of a kubeconfig (HTTPS).\n\n"
		"  --kubeconfig F       the server and credentials (default $KUBECONFIG, then\n"
		"                       ~/.kube/config)\n"
		"  --scheduler-name N   the spec.schedulerName it serves (default-scheduler)\n"
		"  --bind-workers N     threads that bind and write status (default 16)\n"
		"  --log-level LEVEL    error, warn, info (default) or debug\n");
}

int cmd_scheduler(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"scheduler-name", required_argument, NULL, 'n'},
	    {"bind-workers", required_argument, NULL, 'b'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct component sc = {"scheduler", "kube-scheduler", sched_start, sched_stop};
	struct scheduler_config cfg = {0};
	const char *kubeconfig = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			kubeconfig = optarg;
			break;
		case 'n':
			cfg.name = optarg;
			break;
		case 'b':
			if (count_arg(sc.cmd, "bind-workers", optarg, 1, 256, &cfg.bind_workers))
				return 2;
			break;
		case 'L':
			if (log_level("scheduler", optarg) != 0)
				return 2;
			break;
		case 'h':
			sched_usage(stdout);
			return 0;
		default:
			sched_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		sched_usage(stderr);
		return 2;
	}
	return run_component(&sc, kubeconfig, &cfg);
}
