// SPDX-License-Identifier: GPL-2.0
/* tlfeed: a syscall program that writes the event it is given (BPF_PROG_TEST_RUN's ctx_in)
 * to the pinned ring buffer drv_tlev1, as telemetry.bpf.c would: the e2e tests' source of
 * flow events with known contents. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "drover_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DRV_TL_RINGBUF_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_tlev1 SEC(".maps");

SEC("syscall")
int tl_feed(struct drv_tl_event *ctx)
{
	struct drv_tl_event ev;

	__builtin_memcpy(&ev, ctx, sizeof(ev));
	/* no wake-up, as telemetry.bpf.c submits below a quarter full: the reader must find
	 * the event on its own timer */
	return bpf_ringbuf_output(&drv_tlev1, &ev, sizeof(ev), BPF_RB_NO_WAKEUP);
}

char LICENSE[] SEC("license") = "GPL";
