/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connected UDP sockets of a removed backend (dp_destroy_udp_sockets), with the real programs:
 * drv_connect4 attached (a bpf_link, gone with the test) to a cgroup of the test's own, the
 * sockets created by a child in that cgroup and handed to the test, the backends two local
 * receivers (10.244.1.10-11 on lo of the fixture's namespace), the service 10.96.0.20:54/UDP.
 *  - the socket's backend removed, the socket is connected to the service again: send() works
 *    (no EDESTADDRREQ), the datagram reaches the remaining backend, the source port stays,
 *    nothing is destroyed; a second process holding the same socket changes nothing;
 *  - a socket no process holds (in flight over a unix socket) is destroyed, as before;
 *  - no backend left: the socket cannot be re-connected and is destroyed, as before.
 * Needs root, bpffs and a cgroup v2 hierarchy (label bpf).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drover_abi.h"
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define VIP "10.96.0.20"

static char cg_path[300];
static int link_fd = -1;
static int rx[2] = {-1, -1}; /* receivers on 10.244.1.10 and .11, port 5454 */

static int setup(void **state)
{
	char root[256];
	int cg_fd, prog;

	(void)state;
	if (fixture_setup(NULL) || sh("ip addr add 10.244.1.10/32 dev lo") ||
	    sh("ip addr add 10.244.1.11/32 dev lo") || dp_cgroup2_root(root, sizeof(root)))
		return -1;
	snprintf(cg_path, sizeof(cg_path), "%s/drvtest-udp-%d", root, getpid());
	if (mkdir(cg_path, 0755) && errno != EEXIST)
		return -1;
	cg_fd = open(cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	prog = dp_prog_fd(F.dp, "drv_connect4");
	if (cg_fd < 0 || prog < 0)
		return -1;
	link_fd = bpf_link_create(prog, cg_fd, BPF_CGROUP_INET4_CONNECT, NULL);
	close(cg_fd);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5454)};

		a.sin_addr.s_addr = ip4(i ? "10.244.1.11" : "10.244.1.10");
		rx[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (rx[i] < 0 || bind(rx[i], (struct sockaddr *)&a, sizeof(a)))
			return -1;
	}
	return link_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		if (rx[i] >= 0)
			close(rx[i]);
	}
	if (link_fd >= 0)
		close(link_fd);
	if (cg_path[0])
		rmdir(cg_path);
	fixture_cleanup();
	return 0;
}

/* The service with the given backends of 10.244.1.10 + i (port 5454). */
static void program(const int *idx, int n)
{
	struct lb_frontend fe = {0};
	struct lb_backend bes[2];

	fe.key.addr = ip4(VIP);
	fe.key.port = htons(54);
	fe.key.proto = DRV_PROTO_UDP;
	fe.flags = DRV_SVC_F_CLUSTERIP;
	snprintf(fe.name, sizeof(fe.name), "test/dgram:d");
	for (int i = 0; i < n; i++)
		bes[i] =
		    (struct lb_backend){.addr = htonl(ntohl(ip4("10.244.1.10")) + (uint32_t)idx[i]),
					.port = htons(5454),
					.proto = DRV_PROTO_UDP,
					.flags = 1};
	fe.backends = bes;
	fe.nbackends = (size_t)n;
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
}

/* A UDP socket created in the test cgroup (by a child that joins it and hands the socket over
 * a unix socket pair), so that drv_connect4 runs for it whoever calls connect(). */
static int socket_in_cgroup(void)
{
	char procs[320], buf[1] = {0}, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	int sp[2], st, fd = -1;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg_path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *f = fopen(procs, "w");
		int s;

		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			_exit(1);
		s = socket(AF_INET, SOCK_DGRAM, 0);
		if (s < 0)
			_exit(1);
		*(struct cmsghdr *)cbuf = (struct cmsghdr){.cmsg_len = CMSG_LEN(sizeof(int)),
							   .cmsg_level = SOL_SOCKET,
							   .cmsg_type = SCM_RIGHTS};
		memcpy(CMSG_DATA((struct cmsghdr *)cbuf), &s, sizeof(int));
		_exit(sendmsg(sp[1], &mh, 0) == 1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(recvmsg(sp[0], &mh, 0), 1);
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	close(sp[0]);
	close(sp[1]);
	assert_true(fd >= 0);
	return fd;
}

/* Which receiver gets the next datagram (a generous deadline), and that it says what. */
static int received(const char *what)
{
	struct pollfd p[2] = {{.fd = rx[0], .events = POLLIN}, {.fd = rx[1], .events = POLLIN}};
	char buf[32];
	ssize_t r;
	int i;

	assert_int_equal(poll(p, 2, 10000), 1);
	i = (p[0].revents & POLLIN) ? 0 : 1;
	r = recv(rx[i], buf, sizeof(buf) - 1, 0);
	assert_true(r > 0);
	buf[r] = '\0';
	assert_string_equal(buf, what);
	return i;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static void test_reconnected_to_remaining_backend(void **state)
{
	struct sockaddr_in svc = {.sin_family = AF_INET, .sin_port = htons(54)};
	int both[2] = {0, 1}, fd, old, rest, ready[2];
	struct lb_backend gone;
	uint16_t port;
	pid_t holder;
	char c;

	(void)state;
	program(both, 2);
	fd = socket_in_cgroup();
	svc.sin_addr.s_addr = ip4(VIP);
	assert_int_equal(connect(fd, (struct sockaddr *)&svc, sizeof(svc)), 0);
	port = local_port(fd);
	assert_int_equal(send(fd, "one", 3, 0), 3);
	old = received("one");
	rest = 1 - old;
	/* A second process holds the same socket (forked): the walk lists it twice, it moves
	 * all the same. */
	assert_int_equal(pipe(ready), 0);
	holder = fork();
	assert_true(holder >= 0);
	if (holder == 0) {
		close(ready[1]);
		_exit(read(ready[0], &c, 1) < 0);
	}
	close(ready[0]);

	program(&rest, 1);
	gone = (struct lb_backend){.addr = htonl(ntohl(ip4("10.244.1.10")) + (uint32_t)old),
				   .port = htons(5454),
				   .proto = DRV_PROTO_UDP};
	assert_int_equal(dp_destroy_udp_sockets(F.dp, &gone, 1), 0); /* nothing destroyed */
	assert_int_equal(send(fd, "two", 3, 0), 3);
	assert_int_equal(received("two"), rest);
	assert_int_equal(local_port(fd), port);
	close(ready[1]);
	assert_int_equal(waitpid(holder, NULL, 0), holder);

	/* No backend left: nothing to re-connect to; the socket is destroyed (disconnected). */
	program(NULL, 0);
	gone.addr = htonl(ntohl(ip4("10.244.1.10")) + (uint32_t)rest);
	assert_int_equal(dp_destroy_udp_sockets(F.dp, &gone, 1), 1);
	assert_int_equal(send(fd, "three", 5, 0), -1);
	assert_int_equal(errno, EDESTADDRREQ);
	close(fd);

	/* A socket no process holds (in flight in a unix socket) cannot be borrowed: destroyed,
	 * while the service still has a backend. */
	{
		int sp[2], fd2, back = -1;
		char cbuf[CMSG_SPACE(sizeof(int))], b = 0;
		struct iovec iov = {.iov_base = &b, .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *cm = (struct cmsghdr *)cbuf;
		int peer;

		program(both, 2);
		fd2 = socket_in_cgroup();
		assert_int_equal(connect(fd2, (struct sockaddr *)&svc, sizeof(svc)), 0);
		assert_int_equal(send(fd2, "four", 4, 0), 4);
		peer = received("four");
		assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
		*cm = (struct cmsghdr){.cmsg_len = CMSG_LEN(sizeof(int)),
				       .cmsg_level = SOL_SOCKET,
				       .cmsg_type = SCM_RIGHTS};
		memcpy(CMSG_DATA(cm), &fd2, sizeof(int));
		assert_int_equal(sendmsg(sp[1], &mh, 0), 1);
		close(fd2);
		peer = 1 - peer;
		program(&peer, 1);
		gone.addr = htonl(ntohl(ip4("10.244.1.10")) + (uint32_t)(1 - peer));
		assert_int_equal(dp_destroy_udp_sockets(F.dp, &gone, 1), 1);
		assert_int_equal(recvmsg(sp[0], &mh, 0), 1);
		memcpy(&back, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
		assert_int_equal(send(back, "five", 4, 0), -1);
		assert_int_equal(errno, EDESTADDRREQ);
		close(back);
		close(sp[0]);
		close(sp[1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reconnected_to_remaining_backend),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
