/* SPDX-License-Identifier: Apache-2.0 */
/*
 * send_floor: the kernel's floor under a watch fan-out on this machine, for scripts/bench.sh
 * api to set beside the server's CPU per delivered event. One thread sends an event of
 * --size bytes to each of --watchers loopback TCP connections --rate times a second (plain
 * send(), TCP_NODELAY, no TLS, no HTTP, nothing else); another thread reads them all with
 * epoll, as a watch client would. The sender's CPU (user + system, RUSAGE_THREAD) per send
 * is what one send per event per watcher costs here before any server does anything: on
 * loopback it includes the receiver's TCP processing, which the kernel runs in the sender's
 * context (softirq). Prints one JSON line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct floor {
	int n, rate, secs;
	size_t size;
	int *tx, *rx;
	atomic_bool done;
};

static double tv_s(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static void *reader(void *arg)
{
	struct floor *f = arg;
	struct epoll_event evs[256];
	static char buf[1 << 16];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return NULL;
	for (int i = 0; i < f->n; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.fd = f->rx[i]};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, f->rx[i], &e) != 0)
			return NULL;
	}
	while (!atomic_load(&f->done)) {
		int k = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < k; i++)
			while (read(evs[i].data.fd, buf, sizeof(buf)) > 0)
				;
	}
	close(ep);
	return NULL;
}

/* n connected pairs over 127.0.0.1: tx[i] the server's side, rx[i] the client's */
static int connect_pairs(struct floor *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l, 4096) != 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) != 0)
		return -errno;
	for (int i = 0; i < f->n; i++) {
		f->rx[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (f->rx[i] < 0 || connect(f->rx[i], (struct sockaddr *)&sa, sizeof(sa)) != 0)
			return -errno;
		f->tx[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (f->tx[i] < 0 ||
		    setsockopt(f->tx[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
		    fcntl(f->rx[i], F_SETFL, O_NONBLOCK) != 0)
			return -errno;
	}
	close(l);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"watchers", required_argument, NULL, 'w'},
					     {"rate", required_argument, NULL, 'r'},
					     {"seconds", required_argument, NULL, 's'},
					     {"size", required_argument, NULL, 'z'},
					     {NULL, 0, NULL, 0}};
	struct floor f = {.n = 1000, .rate = 100, .secs = 10, .size = 3400};
	struct rusage r0, r1;
	struct timespec next;
	pthread_t th;
	long sends = 0, short_sends = 0;
	char *msg;
	int c, err;
	double cpu;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			f.n = atoi(optarg);
			break;
		case 'r':
			f.rate = atoi(optarg);
			break;
		case 's':
			f.secs = atoi(optarg);
			break;
		case 'z':
			f.size = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: send_floor [--watchers N] [--rate R] [--seconds S] "
					"[--size BYTES]\n");
			return 2;
		}
	}
	if (f.n <= 0 || f.rate <= 0 || f.secs <= 0 || !f.size) {
		fprintf(stderr, "send_floor: watchers, rate, seconds and size must be positive\n");
		return 2;
	}
	f.tx = calloc((size_t)f.n, sizeof(int));
	f.rx = calloc((size_t)f.n, sizeof(int));
	msg = malloc(f.size);
	if (!f.tx || !f.rx || !msg) {
		fprintf(stderr, "send_floor: out of memory\n");
		return 1;
	}
	memset(msg, 'x', f.size);
	err = connect_pairs(&f);
	if (err) {
		fprintf(stderr, "send_floor: connections: %s (raise the open files limit?)\n",
			strerror(-err));
		return 1;
	}
	if (pthread_create(&th, NULL, reader, &f) != 0)
		return 1;
	getrusage(RUSAGE_THREAD, &r0);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long k = 0; k < (long)f.rate * f.secs; k++) {
		for (int i = 0; i < f.n; i++, sends++)
			if (send(f.tx[i], msg, f.size, MSG_NOSIGNAL | MSG_DONTWAIT) !=
			    (ssize_t)f.size)
				short_sends++;
		next.tv_nsec += 1000000000L / f.rate;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	getrusage(RUSAGE_THREAD, &r1);
	atomic_store(&f.done, true);
	pthread_join(th, NULL);
	cpu = tv_s(r1.ru_utime) - tv_s(r0.ru_utime) + tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
	printf(
	    "{\"bench\":\"send_floor\",\"watchers\":%d,\"rate\":%d,\"size\":%zu,\"seconds\":%d,"
	    "\"sends\":%ld,\"short_sends\":%ld,\"sender_cpu_s\":%.4f,\"cpu_us_per_send\":%.2f}\n",
	    f.n, f.rate, f.size, f.secs, sends, short_sends, cpu, cpu * 1e6 / (double)sends);
	for (int i = 0; i < f.n; i++) {
		close(f.tx[i]);
		close(f.rx[i]);
	}
	free(f.tx);
	free(f.rx);
	free(msg);
	return 0;
}
