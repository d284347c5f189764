/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime: drover's container process primitives. rt_start clones a process into new pid,
 * mount, uts and ipc namespaces (and a new network namespace, or an existing one by path),
 * joins it to a cgroup before it runs anything, builds its root (a directory or an overlay of
 * image layers), /proc, /dev, /sys and the caller's bind mounts, pivot_roots, drops to the
 * given uid/gid/groups and execs. stdout/stderr go to a CRI-format log file through a small
 * logger process. rt_wait/rt_stop end it; rt_exec runs another process inside a running
 * container. Kubernetes' choices (command vs Entrypoint, env resolution) are the caller's.
 *
 * The calls are safe in a multi-threaded caller: the cloned child only makes system calls on
 * memory prepared before the clone (no allocation, no stdio).
 */
#ifndef DROVER_NODE_RUNTIME_H
#define DROVER_NODE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cg;

struct rt_mount {
	const char *src; /* host path (file or directory) */
	const char *dst; /* absolute path inside the container; created when missing */
	bool readonly;
};

struct rt_spec {
	/* Root: rootfs, or an overlay of lowers (bottom to top, as an image store lists layers)
	 * with upper and work directories of this container, mounted on rootfs (which must
	 * exist and be empty). */
	const char *rootfs;
	const char *const *lowers;
	size_t n_lowers;
	const char *upper, *work;

	const char *hostname; /* NULL: the kernel's default in a new uts ns */
	const char *netns;    /* a network namespace to join (/run/netns/X), or NULL: new */
	/* a pid namespace to join (/proc/PID/ns/pid: an ephemeral container's target), or NULL:
	 * new. Only under a shim (exit_path): the shim joins it before it clones the container. */
	const char *pidns;
	const struct cg *cg; /* joined before the process runs anything; NULL: none */
	const struct rt_mount *mounts;
	size_t n_mounts;

	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t n_groups;
	char *const *argv; /* argv[0] is looked up in env's PATH when it has no '/' */
	char *const *env;  /* NULL-terminated; NULL: empty */
	const char *cwd;   /* NULL: "/" */

	/* Output: log_path (CRI format, appended) or, when NULL, stdout_fd/stderr_fd (-1: the
	 * caller's). stdin is /dev/null unless stdin_fd >= 0. */
	const char *log_path;
	int stdin_fd, stdout_fd, stderr_fd;
	/* When set, the container is started under a shim process (runtime_shim.c) that reaps
	 * it and writes its wait status here: the status survives the caller, which may adopt
	 * the container again later (rt_adopt). NULL: the container is the caller's child. */
	const char *exit_path;
	/* Attach (with log_path): the logger serves attach_path (RT_ATTACH_*; NULL: none).
	 * stdin_open: the container's stdin is a pipe the logger keeps open (Kubernetes'
	 * stdin); tty: its stdio is a terminal whose master the logger holds (its controlling
	 * terminal; the output is one stream, logged as stdout); stdin_once: the stdin closes
	 * once the first attached stdin ends (not with a terminal, as containerd). */
	const char *attach_path;
	bool stdin_open, stdin_once, tty;
	/* When set, called (in the caller, on rt_start's thread) once the process is set up
	 * and in its cgroup, before it runs the program: what the program needs that is made
	 * meanwhile (the pod's network, by a CNI ADD) is awaited here. Nonzero (-errno) aborts
	 * the start: the process is killed and reaped and rt_start returns it (unlogged). */
	int (*ready)(void *arg);
	void *ready_arg;
};

/*
 * The attach socket (SOCK_SEQPACKET): a client's messages start with what they are, HELLO
 * first (one byte more: 1 if it attaches stdin), STDIN with bytes, RESIZE with a struct
 * winsize, CLOSE when its stdin ended; the logger's start with 1 (stdout) or 2 (stderr), then
 * the bytes, from the client's connection on. The path may be longer than sun_path allows.
 * A connected (or listening) descriptor, or -errno.
 */
#define RT_ATTACH_HELLO	 'h'
#define RT_ATTACH_STDIN	 'i'
#define RT_ATTACH_RESIZE 'r'
#define RT_ATTACH_CLOSE	 'c'
int rt_attach_connect(const char *path);
int rt_attach_listen(const char *path);

/* Defaults: no log, caller's stdio, root user. */
void rt_spec_init(struct rt_spec *s);

struct rt_proc {
	pid_t pid;    /* the container's init, as the caller's pid namespace sees it */
	int pidfd;    /* pidfd of pid (-1 when the kernel has none) */
	pid_t logger; /* the logger process, 0 when none */
	/* with a shim (rt_spec.exit_path): */
	pid_t shim;		       /* 0: none */
	int shim_pidfd;		       /* -1: the shim is gone */
	unsigned long long shim_start; /* its start time (/proc/PID/stat), to know it again */
	char *exit_path;
};

/*
 * Start a container. Returns once the process has exec'd argv (0) or failed before (-errno,
 * with a log line naming the step and path). The caller reaps the process (rt_wait) and the
 * logger (rt_wait does it too).
 */
int rt_start(const struct rt_spec *spec, struct rt_proc *out);

/* Wait for the container to end (timeout_ms < 0: forever). *status as waitpid writes it.
 * 0, -ETIMEDOUT, or -errno. Reaps the logger once the container is gone. */
int rt_wait(struct rt_proc *p, int timeout_ms, int *status);

/* SIGTERM, then SIGKILL after grace_ms (and to the whole cgroup when cg is given), then
 * wait. A pid-namespace init gets SIGTERM only if it handles it: like docker without an
 * init, a shell as PID 1 ignores it and is killed after the grace period. */
int rt_stop(struct rt_proc *p, const struct cg *cg, int grace_ms, int *status);

/* Close the pidfds and free what rt_start/rt_adopt allocated (the process is not touched). */
void rt_proc_release(struct rt_proc *p);
/*
 * Take back a container started with a shim by an earlier caller (an agent before its
 * restart) from what that caller recorded: the container's pid, the shim's pid and start time,
 * the exit path. 0: running (p->pid set) or ended with its status in the file (rt_wait returns
 * it at once; p->pid 0); -ESRCH: neither (its shim is gone without a status); -EINVAL.
 * The logger is not the new caller's child: p->logger is 0.
 */
int rt_adopt(struct rt_proc *p, pid_t pid, pid_t shim, unsigned long long shim_start,
	     const char *exit_path);
/* A process' start time in clock ticks since boot (/proc/PID/stat field 22), 0 if gone. */
unsigned long long rt_pid_starttime(pid_t pid);
/* Whether pid is still the process that started at start (rt_pid_starttime; not a reused
 * pid) and has not ended (a zombie, not reaped yet, has). */
bool rt_pid_running(pid_t pid, unsigned long long start);

struct rt_exec_spec {
	pid_t target;	     /* the container's init */
	const struct cg *cg; /* its cgroup, joined before anything runs; NULL: none */
	char *const *argv;
	char *const *env;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups (the container's); none when n_groups is 0 */
	size_t n_groups;
	int stdin_fd, stdout_fd, stderr_fd; /* -1: /dev/null for stdin, the caller's for others */
	bool tty; /* stdin is a terminal: the process gets its own session with it as the
		   * controlling terminal (kubectl exec -t) */
};

/*
 * Run argv inside target's pid, mount, uts, ipc and network namespaces and root (as
 * `kubectl exec` does). *pid gets the new process, a child of the caller, once it has
 * exec'd. 0 or -errno.
 */
int rt_exec(const struct rt_exec_spec *spec, pid_t *pid);

#endif
