/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_runtime_shim: containers started with an exit path (runtime_shim.c) keep their exit
 * status when the process that started them dies, and are adopted by another: running (then
 * waited for, its exit code read from the shim), ended while no one watched (the code still
 * there), stopped after adoption (SIGTERM ignored by a shell as PID 1, then SIGKILL); a
 * record whose shim is gone or whose pid is another process is refused; a start that fails
 * leaves no status file and no process. rt_spec.ready (a start held before the exec until
 * what the program needs is made, as the agent holds a pod's containers for its CNI ADD):
 * the program runs once it returned 0; an error from it kills and reaps the container before
 * its program ran, and rt_start returns it; while held, the container keeps none of the
 * caller's descriptors open (a pipe's EOF comes: another thread's plugin must not hang on
 * it). The containers run static busybox over a temp root. Needs root (namespaces, mounts);
 * skipped without it or without /bin/busybox.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static char root[96], work[64]; /* short temp paths: no truncation */

/* every container started, SIGKILLed at the end: a failed assertion must not leave one waiting */
static pid_t started[16];
static size_t nstarted;

static void remember(pid_t pid)
{
	if (pid > 0 && nstarted < sizeof(started) / sizeof(started[0]))
		started[nstarted++] = pid;
}

/* what an agent records of a container it started (agent_adopt.c) */
struct rec {
	pid_t pid, shim;
	unsigned long long start;
	int err;
	const char *ex; /* its exit path */
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	static const char *const dirs[] = {"bin", "proc", "dev", "sys", "tmp"};
	char p[PATH_MAX + 16];

	(void)state;
	snprintf(work, sizeof(work), "/tmp/drover-shim-test-XXXXXX");
	if (!mkdtemp(work))
		return -1;
	snprintf(root, sizeof(root), "%s/root", work);
	mkdir(root, 0755);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof(p), "cp /bin/busybox '%s/bin/busybox' && ln -s busybox '%s/bin/sh'",
		 root, root);
	return system(p) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nstarted; i++)
		kill(started[i], SIGKILL);
	nftw(work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", work, name);
}

/* argv for a shell that waits for /go in its root, then exits with 7 */
static char *const wait_go[] = {"/bin/sh", "-c", "while [ ! -e /go ]; do sleep 0.02; done; exit 7",
				NULL};

static void start(struct rt_proc *p, const char *exit_path, char *const *argv)
{
	struct rt_spec s;

	rt_spec_init(&s);
	s.rootfs = root;
	s.argv = argv;
	s.exit_path = exit_path;
	assert_int_equal(rt_start(&s, p), 0);
	remember(p->pid);
}

static void go(bool on)
{
	char p[PATH_MAX + 8];

	snprintf(p, sizeof(p), "%s/go", root);
	if (on)
		close(open(p, O_CREAT | O_WRONLY, 0644));
	else
		unlink(p);
}

/* A process that starts a container waiting for /go with the exit path name (in ex) under
 * work, hands the record over and dies without waiting for it (as an agent SIGKILLed). */
static struct rec start_and_die(const char *name, char *ex, size_t n)
{
	struct rec r = {0};
	int fds[2];
	pid_t c;

	go(false);
	path_of(ex, n, name);
	assert_int_equal(pipe(fds), 0);
	c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		struct rt_proc p;
		struct rt_spec s;

		close(fds[0]);
		rt_spec_init(&s);
		s.rootfs = root;
		s.argv = wait_go;
		s.exit_path = ex;
		r.err = rt_start(&s, &p);
		r.pid = p.pid;
		r.shim = p.shim;
		r.start = p.shim_start;
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &r, sizeof(r)), sizeof(r));
	close(fds[0]);
	assert_int_equal(waitpid(c, NULL, 0), c);
	remember(r.pid);
	assert_int_equal(r.err, 0);
	assert_true(r.pid > 0 && r.shim > 0 && r.start > 0);
	r.ex = ex;
	return r;
}

static int adopt(struct rt_proc *p, const struct rec *r)
{
	return rt_adopt(p, r->pid, r->shim, r->start, r->ex);
}

/* A running container (waiting for /go): not ended yet, then let go: its exit code 7 read
 * through the shim, its status file gone. */
static void finish(struct rt_proc *p, const char *ex)
{
	int st;

	assert_int_equal(rt_wait(p, 0, &st), -ETIMEDOUT);
	go(true);
	assert_int_equal(rt_wait(p, -1, &st), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	assert_int_equal(access(ex, F_OK), -1);
	rt_proc_release(p);
	go(false);
}

static void wait_for_file(const char *path)
{
	for (int i = 0; i < 30000 && access(path, F_OK) != 0; i++) {
		struct timespec ts = {0, 2000000};

		nanosleep(&ts, NULL);
	}
	assert_int_equal(access(path, F_OK), 0);
}

/* started here, waited for here: the exit code through the shim; its file gone after */
static void test_own(void **state)
{
	char ex[PATH_MAX];
	struct rt_proc p;

	(void)state;
	go(false);
	path_of(ex, sizeof(ex), "own.exit");
	start(&p, ex, wait_go);
	assert_true(p.shim > 0 && p.shim != p.pid);
	finish(&p, ex);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* the shim reaped: no child left */
}

/* the starter dies; the container runs on and is adopted, then ends: its code is read */
static void test_adopt_running(void **state)
{
	char ex[PATH_MAX];
	struct rec r = start_and_die("run.exit", ex, sizeof(ex));
	struct rt_proc p;

	(void)state;
	assert_int_equal(adopt(&p, &r), 0);
	assert_int_equal(p.pid, r.pid);
	assert_int_equal(kill(r.pid, 0), 0);
	finish(&p, ex);
}

/* the container ends while no one runs: adopted afterwards, the code is still there */
static void test_adopt_ended(void **state)
{
	char ex[PATH_MAX];
	struct rec r = start_and_die("ended.exit", ex, sizeof(ex));
	struct rt_proc p;
	int st;

	(void)state;
	go(true);
	wait_for_file(ex);
	assert_int_equal(adopt(&p, &r), 0);
	assert_int_equal(p.pid, 0); /* nothing to signal */
	/* the shim ends right after its file is in place: no timeout needed */
	assert_int_equal(rt_wait(&p, -1, &st), 0);
	assert_int_equal(WEXITSTATUS(st), 7);
	rt_proc_release(&p);
	/* the record again: the status was taken, the shim is gone: lost */
	assert_int_equal(adopt(&p, &r), -ESRCH);
	go(false);
}

/* adopted, then stopped: sh as PID 1 ignores SIGTERM, SIGKILL after the grace period */
static void test_adopt_stop(void **state)
{
	char ex[PATH_MAX];
	struct rec r = start_and_die("stop.exit", ex, sizeof(ex));
	struct rt_proc p;
	int st;

	(void)state;
	assert_int_equal(adopt(&p, &r), 0);
	assert_int_equal(rt_stop(&p, NULL, 50, &st), 0);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(kill(r.pid, 0), -1);
	rt_proc_release(&p);
}

/* records that do not name our shim are refused, whatever runs under that pid now */
static void test_adopt_refused(void **state)
{
	char ex[PATH_MAX];
	struct rec r = start_and_die("refused.exit", ex, sizeof(ex));
	struct rt_proc p;
	int st;

	(void)state;
	/* a wrong start time: the pid is taken to be another process', and no status exists */
	assert_int_equal(rt_adopt(&p, r.pid, r.shim, r.start + 1, ex), -ESRCH);
	/* this test's own pid as the shim: not the container's parent */
	assert_int_equal(rt_adopt(&p, r.pid, getpid(), rt_pid_starttime(getpid()), ex), 0);
	assert_int_equal(p.pid, 0); /* the container is not ours to signal */
	rt_proc_release(&p);
	assert_int_equal(rt_adopt(&p, 0, r.shim, r.start, ex), -EINVAL);
	assert_int_equal(rt_adopt(&p, r.pid, r.shim, r.start, NULL), -EINVAL);
	/* the real record still works: stop it */
	assert_int_equal(adopt(&p, &r), 0);
	assert_int_equal(rt_stop(&p, NULL, 50, &st), 0);
	rt_proc_release(&p);
}

/* a start that fails (no such program) leaves no status file and no child */
static void test_failed_start(void **state)
{
	static char *const argv[] = {"/bin/nonexistent", NULL};
	char ex[PATH_MAX];
	struct rt_proc p;
	struct rt_spec s;

	(void)state;
	path_of(ex, sizeof(ex), "fail.exit");
	rt_spec_init(&s);
	s.rootfs = root;
	s.argv = argv;
	s.exit_path = ex;
	assert_int_equal(rt_start(&s, &p), -ENOENT);
	assert_int_equal(access(ex, F_OK), -1);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* ---- rt_spec.ready ---- */

static char *const mark_ran[] = {"/bin/sh", "-c", "touch /ran", NULL};

struct held {
	int pipe_r, pipe_w; /* a pipe of the caller's (close-on-exec), made before the start */
	int ret;	    /* what ready returns */
	int calls;
	bool ran; /* /ran existed while held */
	bool eof; /* the pipe's EOF came while held, its writer closed here */
};

static bool ran(void)
{
	char p[PATH_MAX + 8];

	snprintf(p, sizeof(p), "%s/ran", root);
	return access(p, F_OK) == 0;
}

static int held_ready(void *arg)
{
	struct held *h = arg;
	struct pollfd pfd = {.fd = h->pipe_r, .events = POLLIN};
	char c;

	h->calls++;
	h->ran = ran();
	close(h->pipe_w);
	/* a hang detector, not a threshold: the EOF comes at once unless a copy of the
	 * writing end is held open (by the container, waiting for its exec) */
	h->eof = poll(&pfd, 1, 10000) == 1 && read(h->pipe_r, &c, 1) == 0;
	return h->ret;
}

static void start_held(struct held *h, const char *exit_name, int want)
{
	char ex[PATH_MAX], p[PATH_MAX + 8];
	int fds[2], st = -1;
	struct rt_proc proc;
	struct rt_spec s;

	snprintf(p, sizeof(p), "%s/ran", root);
	unlink(p);
	path_of(ex, sizeof(ex), exit_name);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	h->pipe_r = fds[0];
	h->pipe_w = fds[1];
	rt_spec_init(&s);
	s.rootfs = root;
	s.argv = mark_ran;
	s.exit_path = ex;
	s.ready = held_ready;
	s.ready_arg = h;
	assert_int_equal(rt_start(&s, &proc), want);
	close(h->pipe_r);
	assert_int_equal(h->calls, 1);
	assert_false(h->ran);
	assert_true(h->eof);
	if (want) {
		assert_false(ran());
		assert_int_equal(access(ex, F_OK), -1);
		assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
		assert_int_equal(errno, ECHILD);
		return;
	}
	remember(proc.pid);
	assert_int_equal(rt_wait(&proc, 10000, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(ran());
	rt_proc_release(&proc);
}

/* held until ready returned 0, then run; the caller's pipe reached its EOF meanwhile */
static void test_ready_held(void **state)
{
	struct held h = {.ret = 0};

	(void)state;
	start_held(&h, "held.exit", 0);
}

/* ready refused: the container is gone before its program ran, rt_start returns the error */
static void test_ready_refused(void **state)
{
	struct held h = {.ret = -ENETDOWN};

	(void)state;
	start_held(&h, "refused.exit", -ENETDOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own),		  cmocka_unit_test(test_adopt_running),
	    cmocka_unit_test(test_adopt_ended),	  cmocka_unit_test(test_adopt_stop),
	    cmocka_unit_test(test_adopt_refused), cmocka_unit_test(test_failed_start),
	    cmocka_unit_test(test_ready_held),	  cmocka_unit_test(test_ready_refused),
	};

	if (geteuid() != 0 || access("/bin/busybox", X_OK) != 0) {
		printf("# skip: needs root and /bin/busybox\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
