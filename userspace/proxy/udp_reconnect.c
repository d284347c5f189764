/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udp_reconnect: a connected UDP socket whose backend was removed carries on to another one,
 * as it does under kube-proxy (there the socket stays connected to the ClusterIP and the next
 * datagram, its conntrack entry cleared, is DNATed to a live endpoint). The socket LB connected
 * it to the backend itself, so the proxy connects it again to the frontend: the kernel runs
 * the connect4 program of the *socket's* cgroup whoever calls connect(), which picks a live
 * backend; the socket keeps its netns, its bound address and source port, and the application
 * sees no error. The descriptor is borrowed with pidfd_getfd() from a process that has it
 * open (found by sockdestroy.bpf.c's iter/task_file program) and closed again.
 */
#define _GNU_SOURCE
#include "udp_reconnect.h"

#include "drover_abi.h"

#include "sockdestroy.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* The iterator's whole output: an array of records. */
static int read_holders(int link_fd, struct drv_udp_holder **out, size_t *n)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	ssize_t r;
	int fd = bpf_iter_create(link_fd);

	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - len < 4096) {
			char *p = realloc(buf, cap ? cap * 2 : 8192);

			if (!p) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = p;
			cap = cap ? cap * 2 : 8192;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return -errno;
	}
	*out = (struct drv_udp_holder *)buf;
	*n = len / sizeof(struct drv_udp_holder);
	return 0;
}

static int by_cookie(const void *a, const void *b)
{
	const struct drv_udp_holder *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/* Borrow the holder's descriptor and connect it to its frontend. -ESRCH, -EBADF, -ESTALE:
 * this holder no longer has the socket (exited, closed the descriptor, or reused the number
 * or the pid for something else), another holder may; other errors are the connect()'s. */
static int reconnect_one(const struct drv_udp_holder *h, int sknat_fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = h->vport};
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int pidfd, fd, err = 0;

	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)h->pid, 0);
	if (pidfd < 0)
		return errno == ENOSYS ? -ENOSYS : -ESRCH;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)h->fd, 0);
	if (fd < 0)
		err = -errno;
	close(pidfd);
	if (err)
		return err;
	/* The descriptor number may have been reused since the walk: act only on the socket
	 * the walk found. */
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) || cookie != h->cookie) {
		close(fd);
		return -ESTALE;
	}
	sin.sin_addr.s_addr = h->vip;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		err = -errno;
	close(fd);
	if (!err) {
		/* The old backend's reverse entry is dead weight now (the new one has its own). */
		struct drv_sock_rnat_key rk = {
		    .cookie = h->cookie, .addr = h->addr, .port = h->port};

		bpf_map_delete_elem(sknat_fd, &rk);
	}
	return err;
}

static bool holder_gone(int err)
{
	return err == -ESRCH || err == -EBADF || err == -ESTALE;
}

int udp_reconnect_sockets(struct sockdestroy_bpf *sd, struct udp_reconnect_stats *st)
{
	struct drv_udp_holder *h = NULL;
	struct bpf_link *link;
	size_t n = 0;
	int err;

	memset(st, 0, sizeof(*st));
	link = bpf_program__attach_iter(sd->progs.drv_udp_holders, NULL);
	if (!link)
		return -errno;
	err = read_holders(bpf_link__fd(link), &h, &n);
	bpf_link__destroy(link);
	if (err)
		return err;
	/* A socket open in several processes (forked, passed over a unix socket) is listed once
	 * per process: connect it once, through the first holder that still has it. */
	qsort(h, n, sizeof(*h), by_cookie);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		int rc = -ESRCH;

		for (; j < n && h[j].cookie == h[i].cookie; j++) {
			if (holder_gone(rc))
				rc = reconnect_one(&h[j], bpf_map__fd(sd->maps.drv_sknat5));
		}
		if (rc == 0) {
			st->reconnected++;
		} else {
			st->failed++;
			st->last_err = rc;
		}
		i = j;
	}
	free(h);
	return 0;
}
