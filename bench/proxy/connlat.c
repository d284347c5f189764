/* SPDX-License-Identifier: Apache-2.0 */
/*
 * connlat: the connect-latency client of `scripts/bench.sh proxy`. One connection at a time:
 * time from connect() to established (a blocking connect returns when the SYN-ACK is in), so
 * the figure is the proxy's first-packet cost (socket hook, or DNAT of the SYN and reverse
 * NAT of the SYN-ACK) and not the HTTP server's. Every connection is closed with an RST
 * (SO_LINGER {1,0}) so that TIME_WAIT never builds up on either side.
 *
 *   connlat lat   -n N [--warmup W] ADDR:PORT [ADDR:PORT...]   targets used round-robin
 *   connlat check -n N ADDR:PORT       N requests, a new connection each; prints how many
 *                                      each backend (response body) answered
 *
 * lat prints one JSON object: count, errors, p50/p90/p99/p999/min/max/mean in microseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 16
#define MAX_BODIES  16

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int parse_target(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl;

	if (!colon || (hl = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void close_rst(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* One connection; returns the connect time in ns, or 0 on error. A 3 s timeout keeps a
 * black-holed SYN from hanging the run (it counts as an error). */
static uint64_t connect_once(const struct sockaddr_in *sa, int *fd_out)
{
	struct timeval tv = {.tv_sec = 3};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint64_t t0, t1;

	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t0 = now_ns();
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		close_rst(fd);
		return 0;
	}
	t1 = now_ns();
	if (fd_out)
		*fd_out = fd;
	else
		close_rst(fd);
	return t1 > t0 ? t1 - t0 : 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	return (double)v[i < n ? i : n - 1] / 1000.0;
}

static int run_lat(struct sockaddr_in *t, int nt, long n, long warmup)
{
	uint64_t *v = calloc((size_t)n, sizeof(*v));
	long errors = 0, got = 0;
	double sum = 0;

	if (!v)
		return 1;
	for (long i = 0; i < warmup; i++)
		connect_once(&t[i % nt], NULL);
	for (long i = 0; i < n; i++) {
		uint64_t d = connect_once(&t[i % nt], NULL);

		if (!d) {
			errors++;
			continue;
		}
		v[got++] = d;
		sum += (double)d;
	}
	if (!got) {
		printf("{\"count\": 0, \"errors\": %ld}\n", errors);
		free(v);
		return 1;
	}
	qsort(v, (size_t)got, sizeof(*v), cmp_u64);
	printf("{\"count\": %ld, \"errors\": %ld, \"p50_us\": %.2f, \"p90_us\": %.2f, "
	       "\"p99_us\": %.2f, \"p999_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f, "
	       "\"mean_us\": %.2f}\n",
	       got, errors, pct(v, (size_t)got, 50), pct(v, (size_t)got, 90),
	       pct(v, (size_t)got, 99), pct(v, (size_t)got, 99.9), (double)v[0] / 1000.0,
	       (double)v[got - 1] / 1000.0, sum / (double)got / 1000.0);
	free(v);
	return errors ? 1 : 0;
}

/* The body of one response (after the blank line), trimmed. */
static int request_body(const struct sockaddr_in *sa, char *body, size_t len)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
	char buf[2048];
	size_t off = 0;
	ssize_t r;
	char *p;
	int fd = -1;
	struct timeval tv = {.tv_sec = 3};

	if (!connect_once(sa, &fd))
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		close_rst(fd);
		return -1;
	}
	while (off < sizeof(buf) - 1 && (r = recv(fd, buf + off, sizeof(buf) - 1 - off, 0)) > 0)
		off += (size_t)r;
	close(fd);
	buf[off] = '\0';
	p = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 200", 12) || !p)
		return -1;
	p += 4;
	p[strcspn(p, "\r\n")] = '\0';
	snprintf(body, len, "%s", p);
	return 0;
}

static int run_check(const struct sockaddr_in *t, long n)
{
	char names[MAX_BODIES][64], body[64];
	long counts[MAX_BODIES] = {0}, errors = 0;
	int nb = 0;

	for (long i = 0; i < n; i++) {
		int j;

		if (request_body(t, body, sizeof(body))) {
			errors++;
			continue;
		}
		for (j = 0; j < nb && strcmp(names[j], body); j++)
			;
		if (j == nb && nb < MAX_BODIES)
			snprintf(names[nb++], sizeof(names[0]), "%s", body);
		if (j < nb)
			counts[j]++;
	}
	printf("{\"requests\": %ld, \"errors\": %ld, \"backends\": {", n, errors);
	for (int j = 0; j < nb; j++)
		printf("%s\"%s\": %ld", j ? ", " : "", names[j], counts[j]);
	printf("}}\n");
	return errors ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: connlat lat -n N [--warmup W] ADDR:PORT [ADDR:PORT...]\n"
			"       connlat check -n N ADDR:PORT\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, 0, 'n'},
	    {"warmup", required_argument, 0, 'w'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct sockaddr_in t[MAX_TARGETS];
	long n = 1000, warmup = 0;
	const char *mode;
	int o, nt = 0;

	if (argc < 2) {
		usage();
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "n:w:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			n = atol(optarg);
			break;
		case 'w':
			warmup = atol(optarg);
			break;
		default:
			usage();
			return o == 'h' ? 0 : 2;
		}
	}
	for (; optind < argc && nt < MAX_TARGETS; optind++) {
		if (parse_target(argv[optind], &t[nt++])) {
			fprintf(stderr, "connlat: bad target %s\n", argv[optind]);
			return 2;
		}
	}
	if (!nt || n < 1 || warmup < 0) {
		usage();
		return 2;
	}
	if (!strcmp(mode, "lat"))
		return run_lat(t, nt, n, warmup);
	if (!strcmp(mode, "check"))
		return run_check(&t[0], n);
	usage();
	return 2;
}
