/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime_exec: a process inside a running container, as `kubectl exec` wants it: the target's
 * pid, mount, uts, ipc and network namespaces, its root and its cgroup (rt_exec, runtime.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "rt_internal.h"
#include "runtime.h"

static const struct {
	const char *name;
	int type;
} exec_ns[] = {
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
};
#define N_EXEC_NS (sizeof(exec_ns) / sizeof(exec_ns[0]))

struct exec_prep {
	const struct rt_exec_spec *spec;
	int ns[N_EXEC_NS];
	int root_fd;
	int stdio[3];
	char **exec_paths;
	const char *cwd;
	int sync_r, report_w;
};

/* The intermediate process: joins the namespaces and root, then clones the process that
 * execs into the target's pid namespace as a child of the caller (CLONE_PARENT), reports its
 * pid and exits. */
static __attribute__((noreturn)) void exec_child(struct exec_prep *x)
{
	const struct rt_exec_spec *s = x->spec;
	int fd = x->report_w, err;
	struct report r = {0, 0, 0, 0};
	pid_t pid;
	char c;

	if (read(x->sync_r, &c, 1) != 1)
		_exit(127);
	for (size_t i = 0; i < N_EXEC_NS; i++) {
		if (setns(x->ns[i], exec_ns[i].type) != 0)
			rt_child_fail(fd, ST_SETNS, (int)i, errno);
	}
	if (fchdir(x->root_fd) != 0 || chroot(".") != 0)
		rt_child_fail(fd, ST_ROOTDIR, 0, errno);
	pid = rt_raw_clone(CLONE_PARENT, NULL);
	if (pid < 0)
		rt_child_fail(fd, ST_CLONE, 0, errno);
	if (pid > 0) {
		r.pid = pid;
		if (write(fd, &r, sizeof(r)) != sizeof(r))
			_exit(127);
		_exit(0);
	}
	rt_reset_signals();
	if (rt_child_stdio(x->stdio))
		rt_child_fail(fd, ST_STDIO, 0, errno);
	/* a terminal: its own session with the terminal on stdin as the controlling one */
	if (s->tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) != 0))
		rt_child_fail(fd, ST_STDIO, 0, errno);
	/* raw system calls, not glibc's set*id (runtime.c says why) */
	if (syscall(SYS_setgroups, s->n_groups, s->groups) != 0)
		rt_child_fail(fd, ST_GROUPS, 0, errno);
	if (syscall(SYS_setgid, s->gid) != 0)
		rt_child_fail(fd, ST_GID, 0, errno);
	if (syscall(SYS_setuid, s->uid) != 0)
		rt_child_fail(fd, ST_UID, 0, errno);
	if (chdir(x->cwd) != 0)
		rt_child_fail(fd, ST_CWD, 0, errno);
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	err = rt_child_exec(x->exec_paths, s->argv, s->env);
	rt_child_fail(fd, ST_EXEC, 0, -err);
}

int rt_exec(const struct rt_exec_spec *s, pid_t *pid_out)
{
	struct exec_prep x;
	int sync_p[2] = {-1, -1}, rep[2] = {-1, -1}, null_fd = -1, err = 0;
	struct report fail = {0, 0, 0, 0};
	char path[64];
	pid_t mid, pid = 0;

	memset(&x, 0, sizeof(x));
	for (size_t i = 0; i < N_EXEC_NS; i++)
		x.ns[i] = -1;
	x.root_fd = -1;
	x.spec = s;
	x.cwd = s->cwd ? s->cwd : "/";
	if (s->target <= 0 || !s->argv || !s->argv[0])
		return -EINVAL;
	for (size_t i = 0; i < N_EXEC_NS; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)s->target, exec_ns[i].name);
		x.ns[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (x.ns[i] < 0) {
			err = -errno;
			log_error("runtime", "exec: %s: %s", path, strerror(errno));
			goto out;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/root", (int)s->target);
	x.root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.root_fd < 0) {
		err = -errno;
		goto out;
	}
	x.exec_paths = rt_exec_candidates(s->argv[0], s->env);
	if (!x.exec_paths) {
		err = -ENOMEM;
		goto out;
	}
	x.stdio[0] = s->stdin_fd;
	x.stdio[1] = s->stdout_fd;
	x.stdio[2] = s->stderr_fd;
	if (s->stdin_fd < 0) {
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null_fd < 3) {
			err = null_fd < 0 ? -errno : -EBADF;
			goto out;
		}
		x.stdio[0] = null_fd;
	}
	if ((err = rt_pipe_hi(sync_p)) || (err = rt_pipe_hi(rep)))
		goto out;
	x.sync_r = sync_p[0];
	x.report_w = rep[1];
	mid = rt_raw_clone(0, NULL);
	if (mid < 0) {
		err = -errno;
		goto out;
	}
	if (mid == 0)
		exec_child(&x);
	rt_close_fd(&sync_p[0]);
	rt_close_fd(&rep[1]);
	if (s->cg && (err = cg_join(s->cg, mid)) != 0) {
		kill(mid, SIGKILL);
		waitpid(mid, NULL, 0);
		goto out;
	}
	if (write(sync_p[1], "g", 1) != 1)
		err = -errno;
	rt_close_fd(&sync_p[1]);
	if (!err)
		err = rt_read_reports(rep[0], &fail, &pid);
	waitpid(mid, NULL, 0);
	if (err) {
		if (fail.step)
			rt_log_report("exec", &fail, s->argv[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		goto out;
	}
	if (pid <= 0) {
		err = -ECHILD;
		goto out;
	}
	*pid_out = pid;
out:
	for (size_t i = 0; i < N_EXEC_NS; i++)
		rt_close_fd(&x.ns[i]);
	rt_close_fd(&x.root_fd);
	rt_close_fd(&sync_p[0]);
	rt_close_fd(&sync_p[1]);
	rt_close_fd(&rep[0]);
	rt_close_fd(&rep[1]);
	rt_close_fd(&null_fd);
	rt_free_strv(x.exec_paths);
	return err;
}
