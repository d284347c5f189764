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
 */
#include "common.h"
#include "maps.h"

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
