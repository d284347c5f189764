/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_server: `drover server --data-dir DIR [--listen ADDR:PORT] [--insecure-loopback]`:
 * runs the API server until SIGINT or SIGTERM, after printing where its kubeconfig is.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "log.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: drover server --data-dir DIR [options]\n\n"
		"Serves the Kubernetes API over the store in DIR; writes DIR/kubeconfig.\n\n"
		"  --data-dir DIR          store, certificates and kubeconfig (required)\n"
		"  --listen ADDR:PORT      address to serve on (default 127.0.0.1:6443)\n"
		"  --insecure-loopback     plain HTTP on 127.0.0.1, no authentication (tests)\n"
		"  --service-cidr CIDR     ClusterIP range (default 10.96.0.0/16)\n"
		"  --nodeport-range A-B    NodePort range (default 30000-32767)\n"
		"  --threads N             HTTP threads (default: one per CPU)\n"
		"  --workers N             write workers (default 128)\n"
		"  --compact-interval S    seconds of history kept for watches (default 300)\n"
		"  --log-level LEVEL       error, warn, info (default) or debug\n");
}

int cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data-dir", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"insecure-loopback", no_argument, NULL, 'i'},
	    {"service-cidr", required_argument, NULL, 'c'},
	    {"nodeport-range", required_argument, NULL, 'n'},
	    {"threads", required_argument, NULL, 't'},
	    {"workers", required_argument, NULL, 'w'},
	    {"compact-interval", required_argument, NULL, 'C'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct api_config cfg = {0};
	struct api_server *s = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	enum log_level lvl;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cfg.data_dir = optarg;
			break;
		case 'l':
			cfg.listen = optarg;
			break;
		case 'i':
			cfg.insecure_loopback = true;
			break;
		case 'c':
			cfg.service_cidr = optarg;
			break;
		case 'n': {
			int lo, hi;

			if (sscanf(optarg, "%d-%d", &lo, &hi) != 2 || lo < 1 || hi > 65535 ||
			    lo > hi) {
				fprintf(stderr, "drover server: --nodeport-range: expected A-B\n");
				return 2;
			}
			cfg.nodeport_min = (uint16_t)lo;
			cfg.nodeport_max = (uint16_t)hi;
			break;
		}
		case 't':
			cfg.threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			cfg.workers = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'C':
			cfg.compact_interval_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			if (log_parse_level(optarg, &lvl) != 0) {
				fprintf(stderr, "drover server: unknown log level %s\n", optarg);
				return 2;
			}
			log_set_level(lvl);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!cfg.data_dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cfg.insecure_loopback && !cfg.listen)
		cfg.listen = "127.0.0.1:8080";
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = api_server_start(&cfg, &s);
	if (err) {
		fprintf(stderr, "drover server: %s\n", strerror(-err));
		return 1;
	}
	printf("kubeconfig: %s\n", api_server_kubeconfig(s) ? api_server_kubeconfig(s) : "-");
	fflush(stdout);
	while (!stop)
		pause();
	log_info("api", "stopping");
	api_server_stop(s);
	return 0;
}
