/* SPDX-License-Identifier: Apache-2.0 */
/* cli: the subcommands of the drover binary. Each returns the process exit code. */
#ifndef DROVER_CLI_H
#define DROVER_CLI_H

#include <stdbool.h>
#include <stdint.h>

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
int cmd_image(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_runtime(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_telemetry(int argc, char **argv);
int cmd_flows(int argc, char **argv);

/* ---- shared by the subcommands (cli_util.c) ---- */

/* A whole number in [min, max] (no sign, nothing after it): 0, or -EINVAL. */
int cli_parse_uint(const char *arg, unsigned long min, unsigned long max, unsigned *out);
/* The same for --flag of `drover cmd`: 0, or -1 after one line on stderr. */
int cli_uint(const char *cmd, const char *flag, const char *arg, unsigned long min,
	     unsigned long max, unsigned *out);
/* --log-level: the level set, 0; or -1 after one line on stderr. */
int cli_log_level(const char *cmd, const char *arg);
/* SIGINT and SIGTERM set the stop flag (and SIGPIPE is ignored) from now on. */
void cli_catch_stop(void);
bool cli_stopping(void);
/* Sleep until the stop flag is set. */
void cli_wait_stop(void);
/* --controllers LIST of `drover cmd` known (cmd_control.c): 0, or -1 after one line on
 * stderr. */
int cli_controllers(const char *cmd, const char *list);
struct kclient;
/* A client from a kubeconfig (path NULL: $KUBECONFIG, ~/.kube/config) whose field manager
 * is manager; NULL after one line on stderr. */
struct kclient *cli_client(const char *cmd, const char *path, const char *manager);
/* The same with the kubeconfig's server replaced by server (NULL: the kubeconfig's). */
struct kclient *cli_client_at(const char *cmd, const char *path, const char *server,
			      const char *manager);

/* A Go duration made of h/m/s parts ("24h", "1h30m", "90s", "0"): seconds, or -1. */
int64_t cli_duration(const char *s);

#endif
