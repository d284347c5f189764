/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-svcwatch: the e2e tests' clock for endpoint changes. Polls the pinned service map of
 * one TCP frontend every millisecond, in one process (a shell loop of `drover bpf services`
 * costs hundreds of milliseconds per turn on a loaded machine, which would be all it
 * measured), and reports when its serving backend set changes:
 *
 *   drover-svcwatch PIN_ROOT IP:PORT TIMEOUT_S
 *
 * prints "ready SET" once it has the first snapshot, then, when the set differs,
 * "changed NS SET" (NS: CLOCK_REALTIME nanoseconds of the first poll that saw it) and exits 0;
 * exit 1 after TIMEOUT_S without a change, 2 on bad arguments or an unreadable map. SET is
 * the backends "a.b.c.d:port" of the frontend's slots (those whose slot says terminating left
 * out: the service has no ready endpoint then), sorted, comma-separated; "-" without the
 * frontend.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover_abi.h"

#define MAX_BE 256

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The frontend's serving backends into buf (see the header). */
static void snapshot(int svc, int be, struct drv_svc_key key, char *buf, size_t len)
{
	static char names[MAX_BE][24];
	char *sorted[MAX_BE];
	struct drv_svc_val master, v;
	size_t n = 0, at = 0;

	key.slot = 0;
	if (bpf_map_lookup_elem(svc, &key, &master)) {
		snprintf(buf, len, "-");
		return;
	}
	for (uint16_t s = 1; s <= master.count && n < MAX_BE; s++) {
		struct drv_backend b;
		char a[INET_ADDRSTRLEN];

		key.slot = s;
		if (bpf_map_lookup_elem(svc, &key, &v) || (v.flags & DRV_SLOT_F_TERMINATING) ||
		    bpf_map_lookup_elem(be, &v.backend_id, &b))
			continue;
		inet_ntop(AF_INET, &b.addr, a, sizeof(a));
		snprintf(names[n], sizeof(names[n]), "%s:%u", a, ntohs(b.port));
		sorted[n] = names[n];
		n++;
	}
	qsort(sorted, n, sizeof(sorted[0]), cmp_str);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* Maglev/random slots repeat a backend: once in the set */
		if (i && !strcmp(sorted[i], sorted[i - 1]))
			continue;
		at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? "," : "", sorted[i]);
	}
	if (!n)
		snprintf(buf, len, "(none)");
}

int main(int argc, char **argv)
{
	struct drv_svc_key key = {.proto = DRV_PROTO_TCP};
	static char first[MAX_BE * 24], cur[MAX_BE * 24];
	char path[512], ip[64];
	unsigned port, timeout_s;
	struct in_addr a;
	uint64_t end;
	int svc, be = -1;

	if (argc != 4 || sscanf(argv[2], "%63[0-9.]:%u", ip, &port) != 2 || port > 65535 ||
	    inet_pton(AF_INET, ip, &a) != 1 || sscanf(argv[3], "%u", &timeout_s) != 1) {
		fprintf(stderr, "usage: drover-svcwatch PIN_ROOT IP:PORT TIMEOUT_S\n");
		return 2;
	}
	key.addr = a.s_addr;
	key.dport = htons((uint16_t)port);
	snprintf(path, sizeof(path), "%s/%s", argv[1], DRV_MAP_SVC);
	svc = bpf_obj_get(path);
	if (svc >= 0) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], DRV_MAP_BACKEND);
		be = bpf_obj_get(path);
	}
	if (svc < 0 || be < 0) {
		fprintf(stderr, "drover-svcwatch: %s: %s\n", path, strerror(errno));
		return 2;
	}
	snapshot(svc, be, key, first, sizeof(first));
	printf("ready %s\n", first);
	fflush(stdout);
	end = clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_s * 1000000000ull;
	while (clock_ns(CLOCK_MONOTONIC) < end) {
		snapshot(svc, be, key, cur, sizeof(cur));
		if (strcmp(cur, first)) {
			printf("changed %llu %s\n", (unsigned long long)clock_ns(CLOCK_REALTIME),
			       cur);
			return 0;
		}
		usleep(1000);
	}
	return 1;
}
