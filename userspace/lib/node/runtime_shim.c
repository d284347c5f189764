/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime_shim: a container whose exit status outlives the process that started it (what
 * conmon and containerd's shim do). With rt_spec.exit_path set, rt_start clones a small shim
 * process first; the shim clones the container, so the container is the shim's child, not the
 * caller's. The shim reaps it and writes its wait status to exit_path, then ends. The caller
 * (the agent) may die and come back: rt_adopt finds the shim and the container by the pids
 * and the shim's start time it recorded, and rt_wait reads the status from the file.
 *
 * The shim is a raw clone of a possibly multi-threaded caller: it makes system calls on
 * memory prepared before the clone and nothing else (no allocation, no stdio, no locks).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rt_internal.h"
#include "runtime.h"

/* ---- in the shim (system calls only) ---- */

/* "<status>\n" written to tmp, then renamed over path: a reader sees all of it or nothing. */
static void shim_write_status(const struct rt_shim_args *a, int status)
{
	char buf[16];
	unsigned v = (unsigned)status;
	size_t n = sizeof(buf);
	int fd;

	buf[--n] = '\n';
	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n);
	fd = open(a->exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, buf + n, sizeof(buf) - n) == (ssize_t)(sizeof(buf) - n))
		rename(a->exit_tmp, a->exit_path);
	close(fd);
}

static __attribute__((noreturn)) void shim_main(const struct rt_shim_args *a, int pid_w, int ack_r)
{
	int msg, status = 0;
	pid_t pid;
	char c;

	/* its own session: a signal to the caller's process group (^C) is not the shim's */
	setsid();
	rt_reset_signals();
	/* setns of a pid namespace moves the children to come, not the shim */
	if (a->pidns_fd >= 0 && setns(a->pidns_fd, CLONE_NEWPID) != 0) {
		msg = -errno;
		if (write(pid_w, &msg, sizeof(msg)) != sizeof(msg))
			_exit(127);
		_exit(127);
	}
	pid = rt_raw_clone(a->flags, NULL);
	if (pid == 0)
		a->child(a->arg);
	msg = pid < 0 ? -errno : pid;
	if (write(pid_w, &msg, sizeof(msg)) != sizeof(msg) || pid < 0)
		_exit(127);
	/* Nothing of the caller's stays open here (its pipes, its log, a terminal): stdio to
	 * /dev/null, the ack pipe at 3, the rest closed. */
	if (dup2(a->null_fd, 0) < 0 || dup2(a->null_fd, 1) < 0 || dup2(a->null_fd, 2) < 0 ||
	    (ack_r != 3 && dup2(ack_r, 3) < 0))
		_exit(127);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	/* The caller takes its pidfd of the container before the container can be reaped (so
	 * its pid is not reused under it); EOF (the caller died) lets the shim go on. */
	while (read(3, &c, 1) < 0 && errno == EINTR)
		;
	close(3);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(126);
	shim_write_status(a, status);
	_exit(0);
}

/* ---- in the caller ---- */

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int rt_shim_spawn(const struct rt_shim_args *a, struct rt_proc *out)
{
	int pid_p[2] = {-1, -1}, ack_p[2] = {-1, -1}, msg = 0, err = 0;
	pid_t shim;
	ssize_t n;

	if ((err = rt_pipe_hi(pid_p)) || (err = rt_pipe_hi(ack_p)))
		goto out;
	shim = rt_raw_clone(0, NULL);
	if (shim < 0) {
		err = -errno;
		log_error("runtime", "clone the shim: %s", strerror(errno));
		goto out;
	}
	if (shim == 0)
		shim_main(a, pid_p[1], ack_p[0]);
	rt_close_fd(&pid_p[1]);
	rt_close_fd(&ack_p[0]);
	do
		n = read(pid_p[0], &msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(msg) || msg <= 0) {
		err = n != sizeof(msg) ? -EIO : msg;
		log_error("runtime", "clone: %s", strerror(-err));
		while (waitpid(shim, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	out->pid = msg;
	out->pidfd = pidfd_open(msg);
	out->shim = shim;
	out->shim_pidfd = pidfd_open(shim);
	out->shim_start = rt_pid_starttime(shim);
	if (out->shim_pidfd < 0) {
		/* the end of a shim that is not our child can only be seen through a pidfd */
		err = -errno;
		log_error("runtime", "pidfd of the shim: %s", strerror(errno));
		kill(msg, SIGKILL);
		rt_close_fd(&ack_p[1]);
		while (waitpid(shim, NULL, 0) < 0 && errno == EINTR)
			;
		unlink(a->exit_path);
		rt_close_fd(&out->pidfd);
		out->pid = out->shim = 0;
		goto out;
	}
	/* the ack: from here the shim may reap the container */
	if (write(ack_p[1], "a", 1) != 1)
		err = 0; /* the shim reads EOF when this end closes: the same */
out:
	rt_close_fd(&pid_p[0]);
	rt_close_fd(&pid_p[1]);
	rt_close_fd(&ack_p[0]);
	rt_close_fd(&ack_p[1]);
	return err;
}

/* From /proc/PID/stat: the state letter, the parent and the start time. 0 or -errno. */
static int proc_stat(pid_t pid, char *state, pid_t *ppid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, pp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* after "pid (comm)", where comm may hold spaces and parentheses: the last ')' */
	p = strrchr(buf, ')');
	/* state (3), ppid (4), then 17 fields to starttime (22) */
	if (!p || sscanf(p + 1,
			 " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 state, &pp, start) != 3)
		return -EIO;
	*ppid = pp;
	return 0;
}

unsigned long long rt_pid_starttime(pid_t pid)
{
	unsigned long long t;
	pid_t pp;
	char st;

	return proc_stat(pid, &st, &pp, &t) == 0 ? t : 0;
}

bool rt_pid_running(pid_t pid, unsigned long long start)
{
	unsigned long long t;
	pid_t pp;
	char st;

	return start && proc_stat(pid, &st, &pp, &t) == 0 && t == start && st != 'Z';
}

int rt_adopt(struct rt_proc *p, pid_t pid, pid_t shim, unsigned long long shim_start,
	     const char *exit_path)
{
	unsigned long long start;
	pid_t ppid;
	char state;

	memset(p, 0, sizeof(*p));
	p->pidfd = p->shim_pidfd = -1;
	if (pid <= 0 || shim <= 0 || !exit_path || !(p->exit_path = strdup(exit_path)))
		return pid <= 0 || shim <= 0 || !exit_path ? -EINVAL : -ENOMEM;
	p->shim = shim;
	p->shim_start = shim_start;
	/* the shim, if the pid is still that process (its start time) and has not ended (a
	 * zombie its new parent has not reaped yet has written all it will) */
	if (rt_pid_running(shim, shim_start)) {
		p->shim_pidfd = pidfd_open(shim);
		/* the container, if it is still the shim's child */
		if (p->shim_pidfd >= 0 && proc_stat(pid, &state, &ppid, &start) == 0 &&
		    ppid == shim) {
			p->pid = pid;
			p->pidfd = pidfd_open(pid);
		}
	}
	if (p->shim_pidfd < 0 && access(exit_path, F_OK) != 0) {
		rt_proc_release(p);
		return -ESRCH; /* neither running nor a status: lost */
	}
	return 0;
}

/* The status the shim wrote; SIGKILL's when there is none (the shim itself was killed), as
 * Kubernetes reports a container whose end it could not see (exit code 137). */
static int read_status(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC), st;
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		log_warn("runtime", "no exit status at %s: reported as killed", path);
		return SIGKILL;
	}
	buf[n] = 0;
	if (sscanf(buf, "%d", &st) != 1)
		return SIGKILL;
	unlink(path);
	return st;
}

int rt_shim_wait(struct rt_proc *p, int timeout_ms, int *status)
{
	if (p->shim_pidfd >= 0) {
		struct pollfd pfd = {p->shim_pidfd, POLLIN, 0};
		int r;

		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		/* our child when we started it; an adopted shim is init's (ECHILD, fine) */
		while (waitpid(p->shim, NULL, 0) < 0 && errno == EINTR)
			;
		close(p->shim_pidfd);
		p->shim_pidfd = -1;
	}
	if (status)
		*status = read_status(p->exit_path);
	else
		unlink(p->exit_path);
	if (p->logger > 0) {
		waitpid(p->logger, NULL, 0);
		p->logger = 0;
	}
	p->pid = 0; /* gone: no signal may reach a reused pid */
	return 0;
}
