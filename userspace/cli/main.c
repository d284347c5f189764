/* SPDX-License-Identifier: Apache-2.0 */
/* drover: command dispatcher. Each subcommand lives in its own module. */
#include "cli.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const struct cli_command commands[] = {
#ifdef HAVE_DROVER_PROXY
    {"proxy", "run the eBPF service proxy (or: proxy uninstall)", cmd_proxy},
    {"bpf", "inspect the pinned BPF maps: services, backends, ct, stats", cmd_bpf},
#endif
#ifdef HAVE_DROVER_API
    {"server", "run the API server, the controllers and the scheduler", cmd_server},
    {"controller-manager", "run the controllers against a server (kubeconfig)",
     cmd_controller_manager},
    {"scheduler", "run the scheduler against a server (kubeconfig)", cmd_scheduler},
    {"token", "bootstrap tokens nodes join with: create, list", cmd_token},
#endif
#ifdef HAVE_DROVER_NODE
    {"image", "the node's local image store: import, ls, rm, inspect", cmd_image},
#endif
#ifdef HAVE_DROVER_AGENT
    {"agent", "the node agent: register a node, run its pods (kubelet's core)", cmd_agent},
#endif
#ifdef HAVE_DROVER_TELEMETRY
    {"telemetry", "the node's telemetry maps as Prometheus text: metrics, serve", cmd_telemetry},
#endif
#ifdef HAVE_DROVER_KCLIENT
    {"flows", "TCP flows and HTTP requests the nodes saw (like hubble observe)", cmd_flows},
#endif
#ifdef HAVE_DROVER_UP
    {"up", "a cluster in network namespaces on this machine (server, N agents)", cmd_up},
    {"down", "remove the cluster drover up made", cmd_down},
#endif
#ifdef HAVE_DROVER_SIM
    {"sim", "simulated nodes (like KWOK) against a server of a kubeconfig", cmd_sim},
#endif
#ifdef HAVE_DROVER_NODE
    /* Hidden (no help line): a debug and test front end of the node runtime. */
    {"runtime", NULL, cmd_runtime},
#endif
    {"version", "print the version", cmd_version},
};

int cmd_version(int argc, char **argv)
{
	printf("drover %s\n", DROVER_VERSION);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: drover <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].help)
			fprintf(out, "  %-19s %s\n", commands[i].name, commands[i].help);
	}
	fprintf(out, "\n'drover <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "drover: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
