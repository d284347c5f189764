/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-tl-events PINNED-RINGBUF: the telemetry e2e test's reader of drv_tlev1 (drover_abi.h's
 * struct drv_tl_event): prints "ready", then one line per event until stdin closes, after a
 * last read:
 *   http REPORTER METHOD CODE PATH DURATION_US SADDR DADDR:DPORT SPORT
 *   open|close|refused|reset REPORTER SADDR DADDR:DPORT SPORT
 */
#include "drover_abi.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const methods[] = {"OTHER",	"GET",	 "HEAD",    "POST",    "PUT",
				      "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
static const char *const types[] = {"?", "open", "close", "refused", "reset", "http"};

static void print_one(const struct drv_tl_event *e)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	const char *rep = e->key.reporter == DRV_TL_CLIENT ? "client" : "server";

	inet_ntop(AF_INET, &e->key.saddr, s, sizeof(s));
	inet_ntop(AF_INET, &e->key.daddr, d, sizeof(d));
	if (e->type == DRV_TL_EV_HTTP)
		printf("http %s %s %u %.64s %llu %s %s:%u %u\n", rep,
		       e->key.method < 10 ? methods[e->key.method] : "?", e->key.code, e->path,
		       (unsigned long long)e->duration_us, s, d, ntohs(e->key.dport),
		       ntohs(e->sport));
	else
		printf("%s %s %s %s:%u %u\n", types[e->type], rep, s, d, ntohs(e->key.dport),
		       ntohs(e->sport));
}

static int print_event(void *ctx, void *data, size_t len)
{
	struct drv_tl_event e;
	struct drv_tl_key sides[2];
	int n;

	(void)ctx;
	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.type > DRV_TL_EV_HTTP)
		return 0;
	/* an event of both ends of a connection on this node (DRV_TL_BOTH) is one of each */
	n = drv_tl_key_sides(&e.key, sides);
	for (int i = 0; i < n; i++) {
		e.key = sides[i];
		print_one(&e);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: drover-tl-events PINNED-RINGBUF\n");
		return 2;
	}
	fd = bpf_obj_get(argv[1]);
	rb = fd >= 0 ? ring_buffer__new(fd, print_event, NULL, NULL) : NULL;
	if (!rb) {
		fprintf(stderr, "drover-tl-events: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd in = {.fd = 0, .events = POLLIN};
		char c;

		ring_buffer__poll(rb, 20); /* no wake-up per event: read on a timer */
		fflush(stdout);
		if (poll(&in, 1, 0) > 0 && read(0, &c, 1) <= 0)
			break;
	}
	ring_buffer__consume(rb);
	fflush(stdout);
	ring_buffer__free(rb);
	return 0;
}
