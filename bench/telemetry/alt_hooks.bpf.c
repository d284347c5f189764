// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * alt_hooks.bpf.c: the hooks telemetry.bpf.c could have used instead, each reduced to its
 * floor (dispatch, the filter every call pays, a per-CPU count), for hooks.sh to measure
 * beside the real programs under the same load. What they would cost doing the real work is
 * at least this.
 *   raw_tp/sys_enter + raw_tp/sys_exit: syscall tracepoints, run on every syscall of the
 *       machine; the filter keeps read/write/sendto/recvfrom.
 *   tp_btf/inet_sock_set_state: the TCP state tracepoint (sockops' alternative).
 *   fentry/tcp_sendmsg: the expected HTTP hook; loaded only where the kernel has trampolines.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} alt_hits SEC(".maps");

static __always_inline void hit(__u32 i)
{
	__u64 *c = bpf_map_lookup_elem(&alt_hits, &i);

	if (c)
		*c += 1;
}

/* x86-64 numbers of read, write, sendto, recvfrom */
static __always_inline bool io_syscall(long nr)
{
	return nr == 0 || nr == 1 || nr == 44 || nr == 45;
}

SEC("raw_tp/sys_enter")
int alt_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (io_syscall((long)ctx->args[1]))
		hit(0);
	return 0;
}

SEC("raw_tp/sys_exit")
int alt_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = 0;

	bpf_probe_read_kernel(&nr, sizeof(nr), &regs->orig_ax);
	if (io_syscall(nr))
		hit(1);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(alt_set_state, struct sock *sk, int oldstate, int newstate)
{
	hit(2);
	return 0;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(alt_fentry_send, struct sock *sk)
{
	hit(3);
	return 0;
}
