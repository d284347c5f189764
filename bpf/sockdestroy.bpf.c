// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sockdestroy.bpf.c: closes connected UDP sockets that the socket LB pinned to a backend
 * which has gone away (the known socket-LB pitfall: a DNS client connected to a deleted
 * CoreDNS pod keeps talking to it forever). Userspace fills drv_destroy_tgt with the removed
 * backends and runs this iterator in each network namespace; every UDP socket connected to
 * such a backend *through the socket LB* is destroyed with the
 * bpf_sock_destroy kfunc. The application sees ECONNABORTED and reconnects, which picks a
 * live backend. Sockets that connected to the backend's address directly are left alone (they
 * have no drv_sknat5 entry).
 *
 * Before that, drv_udp_holders lists the open files that are such sockets, with the process
 * holding each: the proxy connects them to their service again (pidfd_getfd + connect(), the
 * socket's own cgroup/connect4 picks a live backend), which is what kube-proxy's clients see —
 * the socket carries on, no error. Only sockets that could not be re-connected (service gone
 * or without a backend, socket held by no process) are then destroyed.
 */
#include "common.h"
#include "maps.h"
#include "lb.h"

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct drv_destroy_key);
	__type(value, __u8);
	__uint(max_entries, 1024);
} drv_destroy_tgt SEC(".maps");

__u64 destroyed = 0;

SEC("iter/udp")
int drv_udp_destroy(struct bpf_iter__udp *ctx)
{
	struct udp_sock *udp = ctx->udp_sk;
	struct sock_common *skc;
	struct drv_destroy_key k = {};
	struct drv_sock_rnat_key rk = {};

	if (!udp)
		return 0;
	skc = &udp->inet.sk.__sk_common;
	k.addr = skc->skc_daddr;
	k.port = skc->skc_dport;
	if (!k.addr || !bpf_map_lookup_elem(&drv_destroy_tgt, &k))
		return 0;
	rk.cookie = bpf_get_socket_cookie(&udp->inet.sk);
	rk.addr = k.addr;
	rk.port = k.port;
	if (!bpf_map_lookup_elem(&drv_sknat5, &rk))
		return 0;
	if (bpf_sock_destroy(skc) == 0)
		destroyed++;
	return 0;
}

#define IPPROTO_UDP_ 17

/* One record (struct drv_udp_holder) per open file that is a UDP socket connected through the
 * socket LB to a backend in drv_destroy_tgt. The iterator visits each process once (threads
 * sharing a file table are skipped by the kernel); userspace dedups sockets shared by several
 * processes by cookie. */
SEC("iter/task_file")
int drv_udp_holders(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct drv_udp_holder h = {};
	struct drv_sock_rnat_key rk = {};
	struct drv_sock_rnat_val *rv;
	struct drv_destroy_key k = {};
	struct drv_svc_key sk_key;
	struct drv_svc_val *svc;
	struct socket *sock;
	struct sock *sk;

	if (!task || !file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET ||
	    BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP_ ||
	    BPF_CORE_READ(sk, sk_type) != SOCK_DGRAM)
		return 0;
	k.addr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	k.port = BPF_CORE_READ(sk, __sk_common.skc_dport);
	if (!k.addr || !bpf_map_lookup_elem(&drv_destroy_tgt, &k))
		return 0;
	/* The cookie the socket LB keyed its entry with (assigned by that connect4's
	 * bpf_get_socket_cookie; 0 here means it never went through the socket LB). */
	rk.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	rk.addr = k.addr;
	rk.port = k.port;
	rv = rk.cookie ? bpf_map_lookup_elem(&drv_sknat5, &rk) : NULL;
	if (!rv)
		return 0;
	/* Its service gone or without a backend, the socket has nowhere to go: left to be
	 * destroyed (a connect() to a deleted frontend would not be translated at all). */
	svc = drv_lookup_service(&sk_key, rv->addr, rv->port, DRV_PROTO_UDP);
	if (!svc || !svc->count)
		return 0;
	h.cookie = rk.cookie;
	h.pid = BPF_CORE_READ(task, tgid);
	h.fd = ctx->fd;
	h.addr = k.addr;
	h.port = k.port;
	h.vip = rv->addr;
	h.vport = rv->port;
	bpf_seq_write(ctx->meta->seq, &h, sizeof(h));
	return 0;
}
