/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_control: `drover controller-manager` and `drover scheduler`: the controllers and the
 * scheduler that `drover server` runs in process, as processes of their own talking HTTPS to
 * any Kubernetes-compatible API server through a kubeconfig (as kube-controller-manager and
 * kube-scheduler run). Same code, the other transport: run `drover server --controllers ""
 * --no-scheduler` and these beside it.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "controllers.h"
#include "kclient.h"
#include "leaderelect.h"
#include "sched_run.h"

#define CM    "controller-manager"
#define SCHED "scheduler"

enum { LE_ON = 1000, LE_LEASE, LE_RENEW, LE_RETRY, LE_NS, LE_NAME };

/* the leader election flags of both commands (kube-controller-manager's and kube-scheduler's
 * names) */
#define LEADER_OPTS                                                              \
	{"leader-elect", optional_argument, NULL, LE_ON},                        \
	    {"leader-elect-lease-duration", required_argument, NULL, LE_LEASE},  \
	    {"leader-elect-renew-deadline", required_argument, NULL, LE_RENEW},  \
	    {"leader-elect-retry-period", required_argument, NULL, LE_RETRY},    \
	    {"leader-elect-resource-namespace", required_argument, NULL, LE_NS}, \
	{                                                                        \
		"leader-elect-resource-name", required_argument, NULL, LE_NAME   \
	}
#define LEADER_USAGE                                                                            \
	"  --leader-elect[=BOOL]  run only while holding the Lease kube-system/NAME, so that\n" \
	"                       several copies can run with one of them active (default\n"      \
	"                       true)\n"                                                        \
	"  --leader-elect-lease-duration D, --leader-elect-renew-deadline D,\n"                 \
	"  --leader-elect-retry-period D  (default 15s, 10s, 2s)\n"                             \
	"  --leader-elect-resource-namespace NS, --leader-elect-resource-name N\n"              \
	"                       the Lease (default kube-system, %s)\n"

int cli_controllers(const char *cmd, const char *list)
{
	char bad[64];

	if (!ctrl_check_names(list, bad, sizeof(bad)))
		return 0;
	fprintf(stderr,
		"drover %s: --controllers: unknown controller \"%s\" (drover %s --help lists "
		"them)\n",
		cmd, bad, cmd);
	return -1;
}

/* What the two commands share: the flags --kubeconfig, --log-level and --help, a client of
 * the kubeconfig, the component started over it, and both stopped on SIGINT/SIGTERM. */
struct component {
	const char *cmd, *manager;
	const struct option *opts; /* the common flags: 'k', 'L', 'h' */
	void (*usage)(FILE *out);
	/* one of the command's own flags into cfg: 0, or -1 after a line on stderr */
	int (*flag)(int opt, const char *arg, void *cfg);
	int (*start)(struct kclient *c, const void *cfg, void **state);
	void (*stop)(void *state);
};

/* --leader-elect and its parameters (kube's defaults: on, 15 s, 10 s, 2 s, kube-system) */
struct election {
	bool on;
	unsigned lease_s, renew_s, retry_s;
	const char *ns, *name;
	/* while it runs */
	const struct component *k;
	struct kclient *c;
	void *cfg, *state;
	pthread_mutex_t lock;
	bool started, stopping, lost;
};

static int election_flag(struct election *e, const char *cmd, int opt, const char *arg)
{
	int64_t v;

	switch (opt) {
	case LE_ON:
		if (!arg || strcmp(arg, "true") == 0) {
			e->on = true;
			return 0;
		}
		if (strcmp(arg, "false") == 0) {
			e->on = false;
			return 0;
		}
		fprintf(stderr, "drover %s: --leader-elect: want true or false, got \"%s\"\n", cmd,
			arg);
		return -1;
	case LE_LEASE:
	case LE_RENEW:
	case LE_RETRY:
		v = cli_duration(arg);
		if (v < 1 || v > 86400) {
			fprintf(stderr,
				"drover %s: --leader-elect-%s: want a duration of 1s to 24h, "
				"got \"%s\"\n",
				cmd,
				opt == LE_LEASE	  ? "lease-duration"
				: opt == LE_RENEW ? "renew-deadline"
						  : "retry-period",
				arg);
			return -1;
		}
		*(opt == LE_LEASE   ? &e->lease_s
		  : opt == LE_RENEW ? &e->renew_s
				    : &e->retry_s) = (unsigned)v;
		return 0;
	case LE_NS:
		e->ns = arg;
		return 0;
	case LE_NAME:
		e->name = arg;
		return 0;
	}
	return 1;
}

/* OnStartedLeading: the component runs (unless the command is stopping) */
static void led(void *arg)
{
	struct election *e = arg;
	int err;

	pthread_mutex_lock(&e->lock);
	if (!e->stopping && !e->started) {
		err = e->k->start(e->c, e->cfg, &e->state);
		if (err) {
			fprintf(stderr, "drover %s: %s\n", e->k->cmd, strerror(-err));
			e->lost = true;
			kill(getpid(), SIGTERM);
		}
		e->started = !err;
	}
	pthread_mutex_unlock(&e->lock);
}

/* OnStoppedLeading: the process ends (client-go's components exit: "leaderelection lost") */
static void unled(void *arg)
{
	struct election *e = arg;

	e->lost = true;
	kill(getpid(), SIGTERM);
}

static int run_component(const struct component *k, int argc, char **argv, void *cfg)
{
	const char *kubeconfig = NULL;
	struct kclient *c;
	void *state = NULL;
	struct election e = {.on = true, .ns = "kube-system", .name = k->manager};
	struct kc_leader *l = NULL;
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", k->opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			kubeconfig = optarg;
			break;
		case LE_ON:
		case LE_LEASE:
		case LE_RENEW:
		case LE_RETRY:
		case LE_NS:
		case LE_NAME:
			if (election_flag(&e, k->cmd, opt, optarg) != 0)
				return 2;
			break;
		case 'L':
			if (cli_log_level(k->cmd, optarg) != 0)
				return 2;
			break;
		case 'h':
			k->usage(stdout);
			return 0;
		case '?':
			k->usage(stderr);
			return 2;
		default:
			if (k->flag(opt, optarg, cfg) != 0)
				return 2;
		}
	}
	if (optind != argc) {
		k->usage(stderr);
		return 2;
	}
	/* NewLeaderElector's checks, with the defaults where a flag was not given */
	if (e.on &&
	    !((e.lease_s ?: 15) > (e.renew_s ?: 10) && (e.renew_s ?: 10) > (e.retry_s ?: 2))) {
		fprintf(
		    stderr,
		    "drover %s: --leader-elect-renew-deadline must be shorter than "
		    "--leader-elect-lease-duration and longer than --leader-elect-retry-period\n",
		    k->cmd);
		return 2;
	}
	c = cli_client(k->cmd, kubeconfig, k->manager);
	if (!c)
		return 1;
	cli_catch_stop();
	if (e.on) {
		struct kc_leader_config lc = {.ns = e.ns,
					      .name = e.name,
					      .lease_s = e.lease_s,
					      .renew_deadline_s = e.renew_s,
					      .retry_s = e.retry_s,
					      .started = led,
					      .stopped = unled,
					      .arg = &e};

		e.k = k;
		e.c = c;
		e.cfg = cfg;
		pthread_mutex_init(&e.lock, NULL);
		err = kc_leader_start(c, &lc, &l);
		if (err) {
			fprintf(stderr, "drover %s: leader election: %s\n", k->cmd, strerror(-err));
			kclient_free(c);
			return 1;
		}
		cli_wait_stop();
		pthread_mutex_lock(&e.lock);
		e.stopping = true;
		pthread_mutex_unlock(&e.lock);
		/* the component stops before the Lease is released: no two leaders at once */
		if (e.started)
			k->stop(e.state);
		kc_leader_stop(l);
		pthread_mutex_destroy(&e.lock);
		kclient_free(c);
		return e.lost ? 1 : 0;
	}
	err = k->start(c, cfg, &state);
	if (err) {
		fprintf(stderr, "drover %s: %s\n", k->cmd, strerror(-err));
		kclient_free(c);
		return 1;
	}
	cli_wait_stop();
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
		"  --cluster-signing-cert-file F, --cluster-signing-key-file F\n"
		"                      the CA (PEM) csrsigning signs kubelet client certificates\n"
		"                      with (none: it signs none)\n"
		"  --root-ca-file F    the CA (PEM) published as ConfigMap kube-root-ca.crt in\n"
		"                      every namespace (none: it is not published)\n"
		"  --default-local-storage-path DIR\n"
		"                      the local-path provisioner (rancher.io/local-path) makes\n"
		"                      its volumes under DIR on their node (none: it is off)\n"
		"  --local-path-helper-image IMAGE\n"
		"                      image of its helper pods (default busybox:latest)\n"
		"  --log-level LEVEL   error, warn, info (default) or debug\n" LEADER_USAGE
		"\ncontrollers:\n",
		"kube-controller-manager");
	ctrl_list(out);
}

static int cm_flag(int opt, const char *arg, void *p)
{
	struct ctrl_config *cfg = p;

	switch (opt) {
	case 'c':
		if (cli_controllers(CM, arg) != 0)
			return -1;
		cfg->controllers = arg;
		return 0;
	case 'g':
		return cli_uint(CM, "node-grace", arg, 1, 86400, &cfg->node_grace_s);
	case 'w':
		return cli_uint(CM, "workers", arg, 1, 64, &cfg->workers);
	case 'C':
		cfg->signing_cert_file = arg;
		return 0;
	case 'K':
		cfg->signing_key_file = arg;
		return 0;
	case 'R':
		cfg->root_ca_file = arg;
		return 0;
	case 'V':
		if (arg[0] != '/') {
			fprintf(stderr, "drover " CM ": --default-local-storage-path: want an "
					"absolute path\n");
			return -1;
		}
		cfg->local_path_dir = arg;
		return 0;
	case 'H':
		cfg->local_path_helper_image = arg;
		return 0;
	}
	return -1;
}

int cmd_controller_manager(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"controllers", required_argument, NULL, 'c'},
	    {"node-grace", required_argument, NULL, 'g'},
	    {"workers", required_argument, NULL, 'w'},
	    {"cluster-signing-cert-file", required_argument, NULL, 'C'},
	    {"cluster-signing-key-file", required_argument, NULL, 'K'},
	    {"root-ca-file", required_argument, NULL, 'R'},
	    {"default-local-storage-path", required_argument, NULL, 'V'},
	    {"local-path-helper-image", required_argument, NULL, 'H'},
	    {"log-level", required_argument, NULL, 'L'},
	    LEADER_OPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct component cm = {.cmd = CM,
					    .manager = "kube-controller-manager",
					    .opts = opts,
					    .usage = cm_usage,
					    .flag = cm_flag,
					    .start = cm_start,
					    .stop = cm_stop};
	struct ctrl_config cfg = {.component = "drover-controller-manager"};

	return run_component(&cm, argc, argv, &cfg);
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
		"  --log-level LEVEL    error, warn, info (default) or debug\n" LEADER_USAGE,
		"kube-scheduler");
}

static int sched_flag(int opt, const char *arg, void *p)
{
	struct scheduler_config *cfg = p;

	switch (opt) {
	case 'n':
		cfg->name = arg;
		return 0;
	case 'b':
		return cli_uint(SCHED, "bind-workers", arg, 1, 256, &cfg->bind_workers);
	}
	return -1;
}

int cmd_scheduler(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"scheduler-name", required_argument, NULL, 'n'},
	    {"bind-workers", required_argument, NULL, 'b'},
	    {"log-level", required_argument, NULL, 'L'},
	    LEADER_OPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct component sc = {.cmd = SCHED,
					    .manager = "kube-scheduler",
					    .opts = opts,
					    .usage = sched_usage,
					    .flag = sched_flag,
					    .start = sched_start,
					    .stop = sched_stop};
	struct scheduler_config cfg = {0};

	return run_component(&sc, argc, argv, &cfg);
}
