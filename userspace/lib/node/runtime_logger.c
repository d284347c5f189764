/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime_logger: the container's log writer and, for attach, the holder of its stdio (what
 * conmon does for CRI-O and the shim's IO for containerd). It reads the container's stdout and
 * stderr (or its terminal's master: one raw stream, logged as stdout, as containerd logs a tty
 * container) into the CRI log, and serves the attach socket (runtime.h, RT_ATTACH_*): every
 * client gets the output from its connection on, any client's stdin goes to the container's
 * stdin (the writing end of a pipe it keeps open, or the terminal), a resize is applied to the
 * terminal. stdinOnce (not with a terminal, as containerd's ContainerIO.Attach): the stdin of
 * the container is closed (EOF) once the first client that attached its stdin ends it or goes.
 *
 * The logger is a process, not a thread of the caller: a container outlives an agent restart
 * (the agent adopts its pods), and its output must stay drained and its stdin and terminal
 * open while no agent runs. It is forked from a possibly multi-threaded caller, so it makes
 * system calls on static memory only. It exits once the output reaches EOF (every writer
 * gone; a terminal whose last slave closed reads EIO).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "crilog.h"
#include "log.h"
#include "rt_internal.h"
#include "runtime.h"

#define MAX_CLIENTS   16
#define OUT_CHUNK     32768	   /* one message to the clients */
#define IN_CAP	      (256 * 1024) /* stdin bytes waiting for the container */
#define CLIENT_SNDBUF (4 << 20)	   /* a client slower than this much output is dropped */

/* the logger's fixed descriptors */
enum { FD_OUT = 3, FD_ERR, FD_LOG, FD_IN, FD_LISTEN, FD_FIRST_FREE };

struct lclient {
	int fd;
	bool in; /* it attached stdin */
};

static struct crilog_stream st[2];
static struct lclient cl[MAX_CLIENTS];
static unsigned char obuf[1 + OUT_CHUNK];
static unsigned char mbuf[1 + 65536];
static unsigned char inbuf[IN_CAP];
static size_t inlen;

/* ---- the socket's address (also the caller's) ---- */

/*
 * A unix socket path is at most 107 bytes; a container's directory may be longer. The
 * directory is opened and named through /proc/self/fd (the kernel walks the magic link):
 * *dirfd gets that descriptor (close it after bind/connect), -1 when the path fits as is.
 */
static int attach_addr(const char *path, struct sockaddr_un *sa, int *dirfd)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	if (strlen(path) < sizeof(sa->sun_path)) {
		memcpy(sa->sun_path, path, strlen(path) + 1);
		return 0;
	}
	if (!slash || (size_t)(slash - path) >= sizeof(dir) || strlen(slash) > 64)
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	*dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d%s", *dirfd, slash);
	return 0;
}

static int attach_socket(const char *path, bool listen_it)
{
	struct sockaddr_un sa;
	int dirfd, fd, err;

	err = attach_addr(path, &sa, &dirfd);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
	} else if (listen_it) {
		unlink(sa.sun_path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0)
			err = -errno;
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = -errno;
	}
	if (dirfd >= 0)
		close(dirfd);
	if (err && fd >= 0)
		close(fd);
	return err ? err : fd;
}

int rt_attach_listen(const char *path)
{
	return attach_socket(path, true);
}

int rt_attach_connect(const char *path)
{
	return attach_socket(path, false);
}

/* ---- in the logger (system calls only) ---- */

static void client_drop(struct lclient *c, bool *close_in, const struct rt_logger_io *io)
{
	if (c->in && io->stdin_once && !io->tty)
		*close_in = true; /* the first stdin session is over: EOF for the container */
	close(c->fd);
	c->fd = -1;
	c->in = false;
}

static void client_accept(void)
{
	int fd = accept4(FD_LISTEN, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), sz = CLIENT_SNDBUF;

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (cl[i].fd < 0) {
			/* root may pass the sysctl's ceiling; otherwise the ceiling */
			if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
				setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
			cl[i] = (struct lclient){fd, false};
			return;
		}
	close(fd); /* full */
}

static void client_message(struct lclient *c, bool *close_in, int in_fd,
			   const struct rt_logger_io *io)
{
	ssize_t n = recv(c->fd, mbuf, sizeof(mbuf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(c, close_in, io);
		return;
	}
	switch (mbuf[0]) {
	case RT_ATTACH_HELLO:
		c->in = n >= 2 && mbuf[1] && in_fd >= 0;
		break;
	case RT_ATTACH_STDIN:
		if (c->in && in_fd >= 0 && !*close_in && (size_t)(n - 1) <= IN_CAP - inlen) {
			memcpy(inbuf + inlen, mbuf + 1, (size_t)n - 1);
			inlen += (size_t)n - 1;
		}
		break;
	case RT_ATTACH_RESIZE:
		if (io->tty && n == 1 + (ssize_t)sizeof(struct winsize))
			ioctl(FD_OUT, TIOCSWINSZ, (struct winsize *)(mbuf + 1));
		break;
	case RT_ATTACH_CLOSE:
		if (c->in && io->stdin_once && !io->tty)
			*close_in = true;
		break;
	}
}

static void fan_out(unsigned char stream, size_t n)
{
	obuf[0] = stream;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (cl[i].fd < 0)
			continue;
		/* never block the container on a client: one that cannot take it is dropped */
		if (send(cl[i].fd, obuf, n + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EINTR) {
			close(cl[i].fd);
			cl[i].fd = -1;
		}
	}
}

static __attribute__((noreturn)) void logger_main(const struct rt_logger_io *io, int log_fd)
{
	const int src[5] = {io->out_r, io->err_r, log_fd, io->stdin_w, io->listen_fd};
	struct pollfd pfd[4 + MAX_CLIENTS];
	int in_fd, open_n = 0, moved[5];
	bool close_in = false;
	struct sigaction ign;

	setsid();
	rt_reset_signals();
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, NULL); /* a container that closed its stdin: EPIPE */
	/* out, err, the log, stdin, the socket at 3..7 (-1 ones closed), nothing else (moved
	 * above 7 first, so no dup2 closes another) */
	for (int i = 0; i < 5; i++) {
		moved[i] = src[i] >= 0 ? fcntl(src[i], F_DUPFD, FD_FIRST_FREE) : -1;
		if (src[i] >= 0 && moved[i] < 0)
			_exit(1);
	}
	for (int i = 0; i < 5; i++) {
		if (moved[i] >= 0 ? dup2(moved[i], FD_OUT + i) < 0 : 0)
			_exit(1);
		if (moved[i] < 0)
			close(FD_OUT + i);
	}
	syscall(SYS_close_range, (unsigned)FD_FIRST_FREE, ~0U, 0U);
	in_fd = io->stdin_w >= 0 ? FD_IN : -1;
	if (in_fd >= 0)
		fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < MAX_CLIENTS; i++)
		cl[i].fd = -1;
	crilog_stream_init(&st[0], FD_LOG, "stdout", 0);
	crilog_stream_init(&st[1], FD_LOG, "stderr", 0);
	pfd[0] = (struct pollfd){io->out_r >= 0 ? FD_OUT : -1, POLLIN, 0};
	pfd[1] = (struct pollfd){io->err_r >= 0 ? FD_ERR : -1, POLLIN, 0};
	open_n = (pfd[0].fd >= 0) + (pfd[1].fd >= 0);
	while (open_n > 0) {
		pfd[2] = (struct pollfd){io->listen_fd >= 0 ? FD_LISTEN : -1, POLLIN, 0};
		pfd[3] = (struct pollfd){inlen && in_fd >= 0 ? in_fd : -1, POLLOUT, 0};
		for (int i = 0; i < MAX_CLIENTS; i++)
			/* stdin waits while the container does not take it */
			pfd[4 + i] = (struct pollfd){
			    cl[i].fd, (short)(IN_CAP - inlen >= 65536 ? POLLIN : 0), 0};
		if (poll(pfd, 4 + MAX_CLIENTS, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, obuf + 1, OUT_CHUNK);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) { /* EOF; a terminal without slaves: EIO */
				crilog_end(&st[i]);
				pfd[i].fd = -1;
				open_n--;
				continue;
			}
			/* A failed write (disk full) loses the record, never blocks the container. */
			crilog_feed(&st[i], (const char *)obuf + 1, (size_t)n);
			fan_out((unsigned char)(1 + i), (size_t)n);
		}
		if (pfd[2].revents & POLLIN)
			client_accept();
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (cl[i].fd >= 0 && pfd[4 + i].fd == cl[i].fd && pfd[4 + i].revents)
				client_message(&cl[i], &close_in, in_fd, io);
		if (inlen && in_fd >= 0) {
			ssize_t w = write(in_fd, inbuf, inlen);

			if (w > 0) {
				memmove(inbuf, inbuf + w, inlen - (size_t)w);
				inlen -= (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				inlen = 0; /* it closed its stdin */
			}
		}
		if (close_in && !inlen && in_fd >= 0) {
			close(in_fd);
			in_fd = -1;
		}
	}
	_exit(0);
}

int rt_logger_start(const char *path, const struct rt_logger_io *io, pid_t *pid)
{
	int log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (log_fd < 0) {
		int err = -errno;

		log_error("runtime", "log %s: %s", path, strerror(errno));
		return err;
	}
	*pid = fork();
	if (*pid == 0)
		logger_main(io, log_fd);
	close(log_fd);
	if (*pid < 0)
		return -errno;
	return 0;
}
