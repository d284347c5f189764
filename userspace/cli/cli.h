/* SPDX-License-Identifier: Apache-2.0 */
/* cli: the subcommands of the drover binary. Each returns the process exit code. */
#ifndef DROVER_CLI_H
#define DROVER_CLI_H

#define DROVER_VERSION "0.1.0"

struct cli_command {
	const char *name;
	const char *help;
	int (*fn)(int argc, char **argv);
};

int cmd_version(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_bpf(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_controller_manager(int argc, char **argv);
int cmd_scheduler(int argc, char **argv);
int cmd_sim(int argc, char **argv);

#endif
