/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rt_internal: what runtime.c (start, logger, wait, stop) and runtime_exec.c (exec into a
 * running container) share: the cloned child's helpers, which make system calls on memory
 * prepared before the clone and nothing else, the report pipe's message, pipes and clone3.
 * Not a public header.
 */
#ifndef DROVER_NODE_RT_INTERNAL_H
#define DROVER_NODE_RT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum step {
	ST_STDIO = 1,
	ST_NETNS,
	ST_PRIVATE,
	ST_ROOT,
	ST_PROC,
	ST_DEV,
	ST_SYS,
	ST_BIND,
	ST_HOSTNAME,
	ST_PIVOT,
	ST_GROUPS,
	ST_GID,
	ST_UID,
	ST_CWD,
	ST_EXEC,
	ST_SETNS,
	ST_ROOTDIR,
	ST_CLONE,
};

/* A message on the report pipe: a failure (step > 0) or, from rt_exec, the new pid. */
struct report {
	int step;
	int index;
	int err;
	int pid;
};

const char *rt_step_name(int step);
/* One log line for a failure report: "<what>: <step>: <error>" ("<what>: exec <argv0>: ..."
 * for the exec). */
void rt_log_report(const char *what, const struct report *r, const char *argv0);

/* ---- in the child (no allocation, no locks) ---- */
__attribute__((noreturn)) void rt_child_fail(int fd, int step, int index, int err);
/* Default dispositions and an empty mask: what the caller ignored (SIGPIPE) or blocked
 * must not reach the program. */
void rt_reset_signals(void);
/* Close every descriptor above stdio but a and b (both >= 3). */
void rt_child_keep_fds(int a, int b);
/* dup2 of fds[i] onto i where fds[i] >= 0; 0 or -errno. */
int rt_child_stdio(const int fds[3]);
/* execve over the candidates (rt_exec_candidates) as execvp would; returns -errno. */
int rt_child_exec(char **paths, char *const *argv, char *const *env);

/* ---- in the parent ---- */
/* clone3 without a new stack: fork semantics (the child returns 0). glibc's fork handlers do
 * not run, so the child must not touch locks: it only makes system calls. */
pid_t rt_raw_clone(uint64_t flags, int *pidfd);
void rt_free_strv(char **v);
/* argv[0] itself when it has a '/', else each entry of env's PATH (a default PATH when env
 * has none) joined with it: NULL-terminated, or NULL (ENOMEM). */
char **rt_exec_candidates(const char *arg0, char *const *env);
void rt_close_fd(int *fd);
/* A pipe whose ends are both >= 3 and close-on-exec: 0 or -errno. */
int rt_pipe_hi(int fds[2]);
/* Read the report pipe to EOF: 0 when nothing failed (*pid_out, if any, from a pid
 * report), else -errno of the failure in *fail. */
int rt_read_reports(int fd, struct report *fail, pid_t *pid_out);

/* ---- runtime_shim.c ---- */
struct rt_proc;
struct rt_shim_args {
	uint64_t flags;					 /* the container's clone flags */
	__attribute__((noreturn)) void (*child)(void *); /* runs in the container */
	void *arg;
	const char *exit_path;
	const char *exit_tmp; /* exit_path + ".tmp", prepared */
	int null_fd;	      /* /dev/null, for the shim's stdio */
	int pidns_fd;	      /* a pid namespace the container joins, -1: none */
};
/* Clone the shim, which clones the container and reaps it: out gets pid, pidfd, shim,
 * shim_pidfd and shim_start. 0 or -errno (logged). */
int rt_shim_spawn(const struct rt_shim_args *a, struct rt_proc *out);
/* rt_wait of a container started or adopted with a shim. */
int rt_shim_wait(struct rt_proc *p, int timeout_ms, int *status);

/* ---- runtime_logger.c ---- */
struct rt_logger_io {
	int out_r, err_r; /* the container's output; a terminal: out_r its master, err_r -1 */
	int stdin_w;	  /* its stdin's writing end (a terminal: the master), -1: none */
	int listen_fd;	  /* the attach socket, -1: none */
	bool tty, stdin_once;
};
/* Fork the logger over the log at path (appended). The caller closes its copies of io's. */
int rt_logger_start(const char *path, const struct rt_logger_io *io, pid_t *pid);

#endif
