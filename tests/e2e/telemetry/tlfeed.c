/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-tlfeed: one flow event into the telemetry ring buffer pinned under PIN_ROOT (the e2e
 * tests' stand-in for telemetry.bpf.c): tlfeed.bpf.o's syscall program is loaded with its
 * drv_tlev1 reusing the pin, and run once with the event as its context.
 *   drover-tlfeed PIN_ROOT TYPE SADDR SPORT DADDR DPORT REV_NAT REPORTER METHOD CODE
 *                 DURATION_US [PATH]
 * TYPE: opened, closed, refused, reset, http; REPORTER: client, server; METHOD: the number of
 * enum drv_tl_http_method.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover_abi.h"

int main(int argc, char **argv)
{
	static const char *const types[] = {[DRV_TL_EV_TCP_OPEN] = "opened",
					    [DRV_TL_EV_TCP_CLOSE] = "closed",
					    [DRV_TL_EV_TCP_REFUSED] = "refused",
					    [DRV_TL_EV_TCP_RESET] = "reset",
					    [DRV_TL_EV_HTTP] = "http"};
	struct drv_tl_event ev = {0};
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct timespec ts;
	int rc;

	if (argc < 12) {
		fprintf(stderr,
			"usage: drover-tlfeed PIN_ROOT TYPE SADDR SPORT DADDR DPORT REV_NAT "
			"REPORTER METHOD CODE DURATION_US [PATH]\n");
		return 2;
	}
	for (unsigned t = 1; t < sizeof(types) / sizeof(*types); t++)
		if (!strcmp(argv[2], types[t]))
			ev.type = (__u8)t;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ev.ts_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	ev.key.saddr = inet_addr(argv[3]);
	ev.sport = htons((uint16_t)atoi(argv[4]));
	ev.key.daddr = inet_addr(argv[5]);
	ev.key.dport = htons((uint16_t)atoi(argv[6]));
	ev.key.rev_nat = (__u16)atoi(argv[7]);
	ev.key.reporter = strcmp(argv[8], "server") ? DRV_TL_CLIENT : DRV_TL_SERVER;
	ev.key.method = (__u8)atoi(argv[9]);
	ev.key.code = (__u16)atoi(argv[10]);
	ev.duration_us = strtoull(argv[11], NULL, 10);
	if (argc > 12)
		snprintf(ev.path, sizeof(ev.path), "%s", argv[12]);
	obj = bpf_object__open_file(
	    TLFEED_OBJ, &(struct bpf_object_open_opts){.sz = sizeof(struct bpf_object_open_opts),
						       .pin_root_path = argv[1]});
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "drover-tlfeed: load %s over %s/%s failed\n", TLFEED_OBJ, argv[1],
			DRV_MAP_TL_EV);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "tl_feed");
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &ev, .ctx_size_in = sizeof(ev));
	rc = bpf_prog_test_run_opts(bpf_program__fd(prog), &run);
	bpf_object__close(obj);
	if (rc || run.retval) {
		fprintf(stderr, "drover-tlfeed: run: %d, ringbuf_output %d\n", rc, (int)run.retval);
		return 1;
	}
	return 0;
}
