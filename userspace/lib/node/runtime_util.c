/* SPDX-License-Identifier: Apache-2.0 */
/* runtime_util: the helpers runtime.c and runtime_exec.c share (rt_internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "rt_internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const step_names[] = {
    [ST_STDIO] = "set up stdio",
    [ST_NETNS] = "join the network namespace",
    [ST_PRIVATE] = "make the mounts private",
    [ST_ROOT] = "mount the root file system",
    [ST_PROC] = "mount /proc",
    [ST_DEV] = "mount /dev",
    [ST_SYS] = "mount /sys",
    [ST_BIND] = "bind mount",
    [ST_HOSTNAME] = "set the hostname",
    [ST_PIVOT] = "pivot_root",
    [ST_GROUPS] = "set the supplementary groups",
    [ST_GID] = "set the gid",
    [ST_UID] = "set the uid",
    [ST_CWD] = "change to the working directory",
    [ST_EXEC] = "exec",
    [ST_SETNS] = "join the container's namespaces",
    [ST_ROOTDIR] = "enter the container's root",
    [ST_CLONE] = "clone",
};

__attribute__((noreturn)) void rt_child_fail(int fd, int step, int index, int err)
{
	struct report r = {step, index, err, 0};
	ssize_t n __attribute__((unused)) = write(fd, &r, sizeof(r));

	_exit(127);
}

void rt_reset_signals(void)
{
	sigset_t none;
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void rt_child_keep_fds(int a, int b)
{
	unsigned lo = (unsigned)(a < b ? a : b), hi = (unsigned)(a < b ? b : a);

	if (lo > 3)
		syscall(SYS_close_range, 3U, lo - 1, 0U);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0U);
	syscall(SYS_close_range, hi + 1, ~0U, 0U);
}

int rt_child_stdio(const int fds[3])
{
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			return -errno;
	}
	return 0;
}

/* execve over the prepared candidates, as execvp does: the last error but EACCES wins. */
int rt_child_exec(char **paths, char *const *argv, char *const *env)
{
	static char *const empty[] = {NULL};
	int err = -ENOENT;
	bool eacces = false;

	for (char **p = paths; *p; p++) {
		execve(*p, argv, env ? env : empty);
		if (errno == EACCES)
			eacces = true;
		else if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
		err = -errno;
	}
	return eacces ? -EACCES : err;
}

/* clone3 without a new stack: fork semantics (the child returns 0 here). glibc's fork
 * handlers do not run, so the child must not touch locks: it only makes system calls. */
pid_t rt_raw_clone(uint64_t flags, int *pidfd)
{
	struct clone_args args;
	pid_t pid;

	memset(&args, 0, sizeof(args));
	args.flags = flags | (pidfd ? CLONE_PIDFD : 0);
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	return pid;
}

static char *strcat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

void rt_free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* argv[0]'s candidates: itself when it has a '/', else each entry of env's PATH (the
 * default one when env has none), as execvp would try them. */
char **rt_exec_candidates(const char *arg0, char *const *env)
{
	const char *path = DEFAULT_PATH;
	char **v;
	size_t n = 1;

	if (strchr(arg0, '/')) {
		v = calloc(2, sizeof(*v));
		if (v && !(v[0] = strdup(arg0))) {
			free(v);
			return NULL;
		}
		return v;
	}
	for (char *const *e = env; e && *e; e++) {
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	}
	for (const char *q = path; *q; q++)
		n += *q == ':';
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	n = 0;
	for (const char *q = path;;) {
		size_t len = strcspn(q, ":");
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s", (int)len, len ? q : ".");
		v[n] = strcat3(dir, "/", arg0);
		if (!v[n]) {
			rt_free_strv(v);
			return NULL;
		}
		n++;
		if (!q[len])
			break;
		q += len + 1;
	}
	return v;
}

void rt_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A pipe whose ends are both >= 3 and close-on-exec. */
int rt_pipe_hi(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 3) {
			int n = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			close(fds[i]);
			fds[i] = n;
		}
	}
	if (fds[0] < 0 || fds[1] < 0) {
		rt_close_fd(&fds[0]);
		rt_close_fd(&fds[1]);
		return -EMFILE;
	}
	return 0;
}

/* Read the report pipe to EOF: 0 when nothing failed (*pid_out, if any, from a pid report),
 * else the failure. */
int rt_read_reports(int fd, struct report *fail, pid_t *pid_out)
{
	struct report r;
	ssize_t n;

	memset(fail, 0, sizeof(*fail));
	for (;;) {
		n = read(fd, &r, sizeof(r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (n != sizeof(r))
			continue;
		if (r.step == 0 && pid_out) {
			*pid_out = r.pid;
			continue;
		}
		*fail = r;
		return -(r.err ? r.err : EIO);
	}
}

const char *rt_step_name(int step)
{
	return step > 0 && step <= ST_CLONE ? step_names[step] : "?";
}

void rt_log_report(const char *what, const struct report *r, const char *argv0)
{
	if (r->step == ST_EXEC)
		log_error("runtime", "%s: exec %s: %s", what, argv0, strerror(r->err));
	else
		log_error("runtime", "%s: %s: %s", what, rt_step_name(r->step), strerror(r->err));
}
