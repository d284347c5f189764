/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime: starting a container process (clone, cgroup join, mounts, pivot_root, exec), its
 * logger process, wait and stop. See runtime.h; exec into a running container is
 * runtime_exec.c, the helpers both share runtime_util.c.
 *
 * Everything the cloned child needs (paths, mount options, the PATH candidates of argv[0],
 * file descriptors) is prepared by the parent before the clone; the child runs system calls
 * only and reports a failure as {step, index, errno} on a close-on-exec pipe, so the parent
 * learns "exec happened" from that pipe's EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "fsutil.h"
#include "log.h"
#include "rt_internal.h"
#include "runtime.h"

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
#define N_DEV_NODES (sizeof(dev_nodes) / sizeof(dev_nodes[0]))

/* What the child needs, prepared by the parent. */
struct prep {
	char root[PATH_MAX];
	char *overlay_opts; /* NULL: bind the root onto itself */
	char proc[PATH_MAX], dev[PATH_MAX], sys[PATH_MAX], pts[PATH_MAX], shm[PATH_MAX];
	char ptmx[PATH_MAX];
	char devnode[N_DEV_NODES][PATH_MAX];
	char devlink[4][PATH_MAX];
	char **bind_dst; /* root + dst of each mount */
	const struct rt_spec *spec;
	char **exec_paths; /* argv[0] candidates inside the container */
	const char *cwd;
	int netns_fd;
	int stdio[3];
	int sync_r, report_w;
};

static const char *const dev_links[4][2] = {
    {"/proc/self/fd", "fd"},
    {"/proc/self/fd/0", "stdin"},
    {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"},
};

void rt_spec_init(struct rt_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->stdin_fd = s->stdout_fd = s->stderr_fd = -1;
}

/* ---- in the child: system calls on prepared memory only ---- */

static int open_in_root(int rootfd, const char *rel, uint64_t flags)
{
	struct open_how how = {
	    .flags = flags | O_PATH | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof(how));
}

/*
 * The mount point rel (dst without its leading '/') inside the root, created when missing
 * (directories; an empty file last for a file source), every component resolved inside the
 * root (RESOLVE_IN_ROOT): an image's symlink such as /etc -> /host/etc cannot make us
 * create or mount anything outside the container. An O_PATH fd, or -errno.
 */
static int child_mountpoint(int rootfd, char *rel, bool dir)
{
	for (char *p = rel;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p, *slash, *name = rel;
		int pfd, r;

		*p = '\0';
		slash = strrchr(rel, '/');
		if (slash) {
			*slash = '\0';
			pfd = open_in_root(rootfd, rel, O_DIRECTORY);
			*slash = '/';
			name = slash + 1;
		} else {
			pfd = open_in_root(rootfd, "", O_DIRECTORY);
		}
		if (pfd < 0) {
			*p = c;
			return -errno;
		}
		/* An existing entry (a symlink too: resolved inside the root below) is fine. */
		if (c || dir) {
			r = mkdirat(pfd, name, 0755) == 0 || errno == EEXIST ? 0 : -errno;
		} else {
			int f =
			    openat(pfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);

			r = f >= 0 || errno == EEXIST || errno == EISDIR || errno == ELOOP ? 0
											   : -errno;
			if (f >= 0)
				close(f);
		}
		close(pfd);
		*p = c;
		if (r)
			return r;
		if (!c)
			break;
	}
	int fd = open_in_root(rootfd, rel, 0);

	return fd < 0 ? -errno : fd;
}

/* Bind src on the mount point fd: a detached copy of src's tree (recursive), made read-only
 * as a whole when asked (mount_setattr), then moved onto the fd. 0 or -errno. */
static int child_bind(const char *src, int target_fd, bool readonly)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	int tree, err = 0;

	tree = (int)syscall(SYS_open_tree, AT_FDCWD, src,
			    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	if (readonly && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
				sizeof(attr)) != 0)
		err = -errno;
	if (!err && syscall(SYS_move_mount, tree, "", target_fd, "",
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
		err = -errno;
	close(tree);
	return err;
}

static int child_mount_dev(struct prep *p)
{
	int fd;

	if (mkdir(p->dev, 0755) != 0 && errno != EEXIST)
		return -errno;
	if (mount("tmpfs", p->dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"))
		return -errno;
	for (size_t i = 0; i < N_DEV_NODES; i++) {
		char host[32] = "/dev/";

		memcpy(host + 5, dev_nodes[i], strlen(dev_nodes[i]) + 1);
		fd = open(p->devnode[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			return -errno;
		close(fd);
		if (mount(host, p->devnode[i], NULL, MS_BIND, NULL))
			return -errno;
	}
	if (mkdir(p->pts, 0755) != 0 ||
	    mount("devpts", p->pts, "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") != 0 ||
	    symlink("pts/ptmx", p->ptmx) != 0)
		return -errno;
	if (mkdir(p->shm, 01777) != 0 ||
	    mount("shm", p->shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=1777,size=65536k"))
		return -errno;
	for (int i = 0; i < 4; i++) {
		if (symlink(dev_links[i][0], p->devlink[i]) != 0)
			return -errno;
	}
	return 0;
}

static __attribute__((noreturn)) void container_child(struct prep *p)
{
	const struct rt_spec *s = p->spec;
	int fd = p->report_w, rootfd = -1, err;
	char c;

	rt_reset_signals();
	if (rt_child_stdio(p->stdio))
		rt_child_fail(fd, ST_STDIO, 0, errno);
	/* a terminal: the container's own session, with it as the controlling terminal */
	if (s->tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) != 0))
		rt_child_fail(fd, ST_STDIO, 0, errno);
	if (p->netns_fd >= 0 && setns(p->netns_fd, CLONE_NEWNET) != 0)
		rt_child_fail(fd, ST_NETNS, 0, errno);
	/* Nothing of the caller's stays open past here but the two pipes: the start may be
	 * held before the exec (spec->ready) and the copies of another thread's pipes this
	 * process got at the clone (a CNI plugin's stdin and stdout, close-on-exec) must not
	 * keep their EOF from coming meanwhile. */
	rt_child_keep_fds(p->report_w, p->sync_r);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		rt_child_fail(fd, ST_PRIVATE, 0, errno);
	/* The overlay (or the bind of the root) lives in this mount namespace only: it goes away
	 * with the last process of the container, nothing to unmount on the host. */
	if (p->overlay_opts)
		err = mount("overlay", p->root, "overlay", 0, p->overlay_opts);
	else
		err = mount(p->root, p->root, NULL, MS_BIND | MS_REC, NULL);
	if (err)
		rt_child_fail(fd, ST_ROOT, 0, errno);
	if ((mkdir(p->proc, 0555) != 0 && errno != EEXIST) ||
	    mount("proc", p->proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		rt_child_fail(fd, ST_PROC, 0, errno);
	err = child_mount_dev(p);
	if (err)
		rt_child_fail(fd, ST_DEV, 0, -err);
	if ((mkdir(p->sys, 0555) != 0 && errno != EEXIST) ||
	    mount("sysfs", p->sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		rt_child_fail(fd, ST_SYS, 0, errno);
	if (s->n_mounts && (rootfd = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		rt_child_fail(fd, ST_BIND, 0, errno);
	for (size_t i = 0; i < s->n_mounts; i++) {
		struct stat st;
		int mp;

		if (stat(s->mounts[i].src, &st) != 0)
			rt_child_fail(fd, ST_BIND, (int)i, errno);
		mp = child_mountpoint(rootfd, p->bind_dst[i], S_ISDIR(st.st_mode));
		if (mp < 0)
			rt_child_fail(fd, ST_BIND, (int)i, -mp);
		err = child_bind(s->mounts[i].src, mp, s->mounts[i].readonly);
		if (err)
			rt_child_fail(fd, ST_BIND, (int)i, -err);
		close(mp);
	}
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) != 0)
		rt_child_fail(fd, ST_HOSTNAME, 0, errno);
	/* pivot_root(".", "."): the old root is stacked under the new one and detached. */
	if (chdir(p->root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
	    umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		rt_child_fail(fd, ST_PIVOT, 0, errno);
	err = fs_mkdir_p(p->cwd, 0755, NULL);
	if (err)
		rt_child_fail(fd, ST_CWD, 0, -err);
	/* Raw system calls: glibc's set*id tell every thread of the caller (SIGSETXID) under a
	 * lock another thread may have held at the clone: here, with one thread, it hangs. */
	if (syscall(SYS_setgroups, s->n_groups, s->groups) != 0)
		rt_child_fail(fd, ST_GROUPS, 0, errno);
	if (syscall(SYS_setgid, s->gid) != 0)
		rt_child_fail(fd, ST_GID, 0, errno);
	if (syscall(SYS_setuid, s->uid) != 0)
		rt_child_fail(fd, ST_UID, 0, errno);
	if (chdir(p->cwd) != 0)
		rt_child_fail(fd, ST_CWD, 0, errno);
	/* The setup above ran while the parent moved this process into its cgroups (on cgroup
	 * v1 each start's first cgroup.procs write waits for an RCU grace period: ~10 ms); the
	 * parent writes one byte once it is in them, and only then the program runs: all it
	 * runs and forks is accounted. */
	if (read(p->sync_r, &c, 1) != 1)
		_exit(127);
	close(p->sync_r);
	/* Nothing of the caller's but stdio reaches the program; fd keeps reporting until
	 * the exec closes it. */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	err = rt_child_exec(p->exec_paths, s->argv, s->env);
	rt_child_fail(fd, ST_EXEC, 0, -err);
}

/* ---- parent side ---- */

static int path_join(char *out, const char *root, const char *rel)
{
	while (*rel == '/')
		rel++;
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", root, rel) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* "lowerdir=top:...:bottom,upperdir=U,workdir=W" (overlayfs lists the top layer first). */
static char *overlay_options(const struct rt_spec *s)
{
	size_t len = 64 + strlen(s->upper) + strlen(s->work);
	char *o, *w;

	for (size_t i = 0; i < s->n_lowers; i++) {
		if (strpbrk(s->lowers[i], ":,"))
			return NULL; /* would need escaping; image stores do not make such paths */
		len += strlen(s->lowers[i]) + 1;
	}
	if (strpbrk(s->upper, ":,") || strpbrk(s->work, ":,"))
		return NULL;
	o = malloc(len);
	if (!o)
		return NULL;
	w = o + sprintf(o, "lowerdir=");
	for (size_t i = s->n_lowers; i-- > 0;)
		w += sprintf(w, "%s%s", s->lowers[i], i ? ":" : "");
	sprintf(w, ",upperdir=%s,workdir=%s", s->upper, s->work);
	return o;
}

static void prep_free(struct prep *p)
{
	if (!p)
		return;
	free(p->overlay_opts);
	if (p->bind_dst) {
		for (size_t i = 0; i < p->spec->n_mounts; i++)
			free(p->bind_dst[i]);
		free(p->bind_dst);
	}
	rt_free_strv(p->exec_paths);
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	free(p);
}

static struct prep *prep_new(const struct rt_spec *s, int *err)
{
	struct prep *p = calloc(1, sizeof(*p));
	char tmp[PATH_MAX];

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->spec = s;
	p->netns_fd = -1;
	*err = -EINVAL;
	if (!s->rootfs || !s->argv || !s->argv[0] || (s->n_lowers && (!s->upper || !s->work)) ||
	    (s->cwd && s->cwd[0] != '/'))
		goto fail;
	if (!realpath(s->rootfs, p->root)) {
		*err = -errno;
		log_error("runtime", "rootfs %s: %s", s->rootfs, strerror(errno));
		goto fail;
	}
	if (s->n_lowers) {
		if (mkdir(s->upper, 0755) != 0 && errno != EEXIST)
			goto fail_errno;
		if (mkdir(s->work, 0700) != 0 && errno != EEXIST)
			goto fail_errno;
		p->overlay_opts = overlay_options(s);
		if (!p->overlay_opts) {
			log_error("runtime", "overlay: a layer path with ':' or ','");
			goto fail;
		}
		if (strlen(p->overlay_opts) >= 4096) {
			log_error("runtime", "overlay: %zu layers: options longer than a page",
				  s->n_lowers);
			*err = -E2BIG;
			goto fail;
		}
	}
	*err = -ENAMETOOLONG;
	if (path_join(p->proc, p->root, "proc") || path_join(p->dev, p->root, "dev") ||
	    path_join(p->sys, p->root, "sys") || path_join(p->pts, p->root, "dev/pts") ||
	    path_join(p->shm, p->root, "dev/shm") || path_join(p->ptmx, p->root, "dev/ptmx"))
		goto fail;
	for (size_t i = 0; i < N_DEV_NODES; i++) {
		snprintf(tmp, sizeof(tmp), "dev/%s", dev_nodes[i]);
		if (path_join(p->devnode[i], p->root, tmp))
			goto fail;
	}
	for (int i = 0; i < 4; i++) {
		snprintf(tmp, sizeof(tmp), "dev/%s", dev_links[i][1]);
		if (path_join(p->devlink[i], p->root, tmp))
			goto fail;
	}
	if (s->n_mounts) {
		p->bind_dst = calloc(s->n_mounts, sizeof(*p->bind_dst));
		if (!p->bind_dst)
			goto fail_nomem;
		for (size_t i = 0; i < s->n_mounts; i++) {
			const char *dst = s->mounts[i].dst;

			if (!s->mounts[i].src || !dst || dst[0] != '/' || strstr(dst, "/..")) {
				log_error("runtime",
					  "mount %zu: src and an absolute dst without '..'", i);
				*err = -EINVAL;
				goto fail;
			}
			p->bind_dst[i] = strdup(dst + 1);
			if (!p->bind_dst[i])
				goto fail_nomem;
		}
	}
	p->exec_paths = rt_exec_candidates(s->argv[0], s->env);
	p->cwd = s->cwd ? s->cwd : "/";
	if (!p->exec_paths)
		goto fail_nomem;
	if (s->netns) {
		p->netns_fd = open(s->netns, O_RDONLY | O_CLOEXEC);
		if (p->netns_fd < 0) {
			*err = -errno;
			log_error("runtime", "netns %s: %s", s->netns, strerror(errno));
			goto fail;
		}
	}
	*err = 0;
	return p;
fail_errno:
	*err = -errno;
	goto fail;
fail_nomem:
	*err = -ENOMEM;
fail:
	prep_free(p);
	return NULL;
}

static __attribute__((noreturn)) void container_child_v(void *p)
{
	container_child(p);
}

static void report_failure(const struct report *r, const struct rt_spec *s)
{
	if (r->step == ST_BIND)
		log_error("runtime", "start: %s %s on %s: %s", rt_step_name(r->step),
			  s->mounts[r->index].src, s->mounts[r->index].dst, strerror(r->err));
	else
		rt_log_report("start", r, s->argv[0]);
}

/* A container that failed to start (killed or ended by itself): reaped, by its shim if it
 * has one (then the shim's status file goes too). */
static void reap_failed(pid_t pid, pid_t shim, const struct rt_spec *spec)
{
	if (!shim) {
		waitpid(pid, NULL, 0);
		return;
	}
	while (waitpid(shim, NULL, 0) < 0 && errno == EINTR)
		;
	unlink(spec->exit_path);
}

/*
 * The logger's ends and the container's: output pipes (out[0]/err[0] the logger's), or a
 * terminal (out[0] its master, out[1] the container's side, err unused; of the host's devpts:
 * the container's own is mounted only later, in its mount namespace), the stdin pipe (in[1]
 * the logger's) and the attach socket. 0 or -errno.
 */
static int logger_io(const struct rt_spec *s, int out[2], int err[2], int in[2], int *listen_fd)
{
	int rc, unlock = 0;

	if (s->tty) {
		out[0] = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (out[0] < 0)
			return -errno;
		if (ioctl(out[0], TIOCSPTLCK, &unlock) != 0 ||
		    (out[1] = ioctl(out[0], TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
			return -errno;
		if (s->stdin_open && (in[1] = fcntl(out[0], F_DUPFD_CLOEXEC, 3)) < 0)
			return -errno;
	} else {
		if ((rc = rt_pipe_hi(out)) || (rc = rt_pipe_hi(err)) ||
		    (s->stdin_open && (rc = rt_pipe_hi(in))))
			return rc;
	}
	if (s->attach_path) {
		*listen_fd = rt_attach_listen(s->attach_path);
		if (*listen_fd < 0) {
			rc = *listen_fd;
			*listen_fd = -1;
			log_error("runtime", "attach socket %s: %s", s->attach_path, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int rt_start(const struct rt_spec *spec, struct rt_proc *out)
{
	struct prep *p;
	int sync_p[2] = {-1, -1}, rep[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
	int inp[2] = {-1, -1}, null_fd = -1, pidfd = -1, listen_fd = -1, err;
	uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	struct report fail;
	pid_t pid, logger = 0, shim = 0;
	char *exit_tmp = NULL;
	int shim_null = -1, failed;

	double t[7]; /* the steps' times, logged at debug level */

	t[0] = now_ms();
	memset(out, 0, sizeof(*out));
	out->pidfd = out->shim_pidfd = -1;
	p = prep_new(spec, &err);
	if (!p)
		return err;
	if (!spec->netns)
		flags |= CLONE_NEWNET;
	if ((err = rt_pipe_hi(sync_p)) || (err = rt_pipe_hi(rep)))
		goto out;
	p->sync_r = sync_p[0];
	p->report_w = rep[1];
	p->stdio[0] = spec->stdin_fd;
	p->stdio[1] = spec->stdout_fd;
	p->stdio[2] = spec->stderr_fd;
	if (spec->stdin_fd < 0) {
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null_fd < 3) {
			err = null_fd < 0 ? -errno : -EBADF;
			goto out;
		}
		p->stdio[0] = null_fd;
	}
	t[1] = now_ms();
	if (spec->log_path) {
		err = logger_io(spec, outp, errp, inp, &listen_fd);
		if (err)
			goto out;
		err = rt_logger_start(spec->log_path,
				      &(struct rt_logger_io){outp[0], errp[0], inp[1], listen_fd,
							     spec->tty, spec->stdin_once},
				      &logger);
		if (err)
			goto out;
		rt_close_fd(&outp[0]);
		rt_close_fd(&errp[0]);
		rt_close_fd(&inp[1]);
		rt_close_fd(&listen_fd);
		if (spec->tty) {
			p->stdio[0] = p->stdio[1] = p->stdio[2] = outp[1]; /* the terminal */
		} else {
			p->stdio[1] = outp[1];
			p->stdio[2] = errp[1];
			if (inp[0] >= 0)
				p->stdio[0] = inp[0];
		}
	}

	t[2] = now_ms();
	if (spec->exit_path) {
		struct rt_shim_args sh = {flags, container_child_v, p, spec->exit_path, NULL, -1,
					  -1};

		if (spec->pidns) {
			sh.pidns_fd = open(spec->pidns, O_RDONLY | O_CLOEXEC);
			if (sh.pidns_fd < 0) {
				err = -errno;
				log_error("runtime", "pid namespace %s: %s", spec->pidns,
					  strerror(errno));
				goto out;
			}
			sh.flags &= ~(uint64_t)CLONE_NEWPID;
		}

		shim_null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (shim_null < 0 || asprintf(&exit_tmp, "%s.tmp", spec->exit_path) < 0) {
			err = shim_null < 0 ? -errno : -ENOMEM;
			exit_tmp = NULL;
			if (sh.pidns_fd >= 0)
				close(sh.pidns_fd);
			goto out;
		}
		sh.exit_tmp = exit_tmp;
		sh.null_fd = shim_null;
		err = rt_shim_spawn(&sh, out);
		if (sh.pidns_fd >= 0)
			close(sh.pidns_fd);
		if (err)
			goto out;
		pid = out->pid;
		pidfd = out->pidfd;
		shim = out->shim;
		out->pid = 0;
		out->pidfd = -1;
	} else if (spec->pidns) {
		err = -ENOTSUP; /* the caller's own children would move: only a shim joins one */
		goto out;
	} else {
		pid = rt_raw_clone(flags, &pidfd);
		if (pid < 0) {
			err = -errno;
			log_error("runtime", "clone: %s", strerror(errno));
			goto out;
		}
		if (pid == 0)
			container_child(p);
	}

	t[3] = now_ms();
	rt_close_fd(&rep[1]);
	rt_close_fd(&outp[1]);
	rt_close_fd(&errp[1]);
	rt_close_fd(&inp[0]);
	/* The cgroup is joined from here, where the host's cgroup mounts are in view, while
	 * the child sets its root up, before it runs the program (container_child): all the
	 * program forks is accounted too. */
	if (spec->cg && (err = cg_join(spec->cg, pid)) != 0) {
		kill(pid, SIGKILL);
		/* a child whose setup failed first: its report says why */
		failed = rt_read_reports(rep[0], &fail, NULL);
		if (failed) {
			report_failure(&fail, spec);
			err = failed;
		}
		reap_failed(pid, shim, spec);
		goto out;
	}
	t[4] = now_ms();
	if (spec->ready && (err = spec->ready(spec->ready_arg)) != 0) {
		kill(pid, SIGKILL);
		reap_failed(pid, shim, spec);
		goto out;
	}
	/* the read end stays open here until then: a child that failed and ended leaves no
	 * EPIPE (its report is read next) */
	if (write(sync_p[1], "g", 1) != 1) {
		err = -errno;
		kill(pid, SIGKILL);
		reap_failed(pid, shim, spec);
		goto out;
	}
	rt_close_fd(&sync_p[0]);
	rt_close_fd(&sync_p[1]);
	t[5] = now_ms();
	err = rt_read_reports(rep[0], &fail, NULL);
	t[6] = now_ms();
	log_debug("runtime",
		  "start: prepare %.2f ms, logger %.2f ms, clone (shim, container) %.2f ms, cgroup "
		  "join %.2f ms (the child's setup meanwhile), held for ready %.2f ms, the rest to "
		  "exec %.2f ms",
		  t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5]);
	if (err) {
		report_failure(&fail, spec);
		reap_failed(pid, shim, spec);
		goto out;
	}
	if (shim && !(out->exit_path = strdup(spec->exit_path))) {
		err = -ENOMEM;
		kill(pid, SIGKILL);
		reap_failed(pid, shim, spec);
		goto out;
	}
	out->pid = pid;
	out->pidfd = pidfd;
	out->logger = logger;
	pidfd = -1;
	logger = 0;
	shim = 0;
out:
	if (shim) { /* failed after the shim started: it has ended (reap_failed) */
		rt_close_fd(&out->shim_pidfd);
		out->shim = 0;
	}
	rt_close_fd(&shim_null);
	free(exit_tmp);
	if (pidfd >= 0)
		close(pidfd);
	if (logger > 0)
		waitpid(logger, NULL, 0); /* its pipes' writers are gone: it ends */
	rt_close_fd(&sync_p[0]);
	rt_close_fd(&sync_p[1]);
	rt_close_fd(&rep[0]);
	rt_close_fd(&rep[1]);
	rt_close_fd(&outp[0]);
	rt_close_fd(&outp[1]);
	rt_close_fd(&errp[0]);
	rt_close_fd(&errp[1]);
	rt_close_fd(&null_fd);
	rt_close_fd(&inp[0]);
	rt_close_fd(&inp[1]);
	rt_close_fd(&listen_fd);
	prep_free(p);
	return err;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int rt_wait(struct rt_proc *p, int timeout_ms, int *status)
{
	long deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : 0;
	int st = 0;
	pid_t r;

	if (p->shim > 0)
		return rt_shim_wait(p, timeout_ms, status);
	for (;;) {
		r = waitpid(p->pid, &st, timeout_ms < 0 ? 0 : WNOHANG);
		if (r == p->pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0) {
			long left = deadline - mono_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			if (p->pidfd >= 0) {
				struct pollfd pfd = {p->pidfd, POLLIN, 0};

				poll(&pfd, 1, (int)left);
			} else {
				struct timespec ts = {0, 2000000};

				nanosleep(&ts, NULL);
			}
		}
	}
	if (status)
		*status = st;
	if (p->logger > 0) {
		waitpid(p->logger, NULL, 0);
		p->logger = 0;
	}
	return 0;
}

static void send_sig(const struct rt_proc *p, int sig)
{
	if (p->pid <= 0)
		return; /* ended (an adopted container seen gone): its pid may be another's now */
	if (p->pidfd < 0 || syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) != 0)
		kill(p->pid, sig);
}

int rt_stop(struct rt_proc *p, const struct cg *cg, int grace_ms, int *status)
{
	int err;

	send_sig(p, SIGTERM);
	err = rt_wait(p, grace_ms, status);
	if (err != -ETIMEDOUT)
		return err;
	send_sig(p, SIGKILL);
	if (cg)
		cg_kill(cg, 10000);
	return rt_wait(p, -1, status);
}

void rt_proc_release(struct rt_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	if (p->shim > 0 && p->shim_pidfd >= 0)
		close(p->shim_pidfd);
	p->shim_pidfd = -1;
	free(p->exit_path);
	p->exit_path = NULL;
}
