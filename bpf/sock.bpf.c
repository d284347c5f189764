// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sock.bpf.c: socket-level load balancing (cgroup/connect4, sendmsg4, recvmsg4,
 * getpeername4). A connect() or UDP sendmsg() to a service frontend is rewritten to a
 * backend before any packet exists: no per-packet NAT and no conntrack for east-west
 * traffic. getpeername() and recvmsg() show the frontend address back to the application.
 * The datagrams an unconnected UDP socket sends to one frontend are one flow: they keep the
 * backend the first one got (drv_skudp1) until the flow idles out or the backend stops
 * serving: gone from drv_be4 and not terminating-but-serving (drv_drain1), as kube-proxy's
 * conntrack cleanup keeps UDP flows to serving endpoints.
 *
 * A frontend with no backend refuses the connect() with ECONNREFUSED (bpf_set_retval),
 * as a closed port would, never EPERM and never a hang. An external frontend with
 * externalTrafficPolicy Local is used through its internal scope (all endpoints), as
 * kube-proxy sends the node's and the pods' traffic to it.
 */
#include "common.h"
#include "maps.h"
#include "stats.h"
#include "lb.h"

static __always_inline __u8 sock_proto(struct bpf_sock_addr *ctx)
{
	if (ctx->type == SOCK_STREAM)
		return DRV_PROTO_TCP;
	if (ctx->type == SOCK_DGRAM)
		return DRV_PROTO_UDP;
	return 0;
}

/* An unconnected UDP socket's earlier choice for this frontend, still usable: the flow has
 * not idled out and its endpoint serves (its backend id names the same address:port, or the
 * endpoint is terminating but serving: its service may have taken its slot, and its id,
 * away). Refreshed when used; *addr, *port: the endpoint. */
static __always_inline bool udp_flow_backend(const struct drv_sock_udp_key *uk, __be32 *addr,
					     __be16 *port)
{
	struct drv_sock_udp_val *uv = bpf_map_lookup_elem(&drv_skudp1, uk);
	struct drv_backend *be;
	__u32 now = drv_now_s();

	if (!uv || (uv->last_used_s < now && now - uv->last_used_s > drv_cfg.ct_other_timeout_s))
		return false;
	be = drv_lookup_backend(uv->backend_id);
	if (!be || be->addr != uv->addr || be->port != uv->port) {
		struct drv_drain_key k = {
		    .addr = uv->addr, .port = uv->port, .proto = DRV_PROTO_UDP};

		if (!bpf_map_lookup_elem(&drv_drain1, &k))
			return false;
	}
	uv->last_used_s = now;
	*addr = uv->addr;
	*port = uv->port;
	return true;
}

/* Forward translation. Returns the hook's verdict: 1 lets the call proceed (translated or
 * not ours), 0 refuses it with the error set by bpf_set_retval. dgram: a sendmsg() with an
 * address (unconnected UDP), whose datagrams to one frontend are one flow. */
static __always_inline int sock4_forward(struct bpf_sock_addr *ctx, bool dgram)
{
	struct drv_sock_udp_key uk = {};
	struct drv_svc_key key;
	struct drv_svc_val *svc;
	struct drv_backend *be = NULL;
	__be32 vip = ctx->user_ip4, baddr = 0;
	__be16 vport = (__be16)ctx->user_port, bport = 0;
	__u8 proto = sock_proto(ctx);
	bool kept = false;
	int reason = 0;
	__u32 id = 0;

	if (!proto)
		return 1;
	svc = drv_lookup_service(&key, vip, vport, proto);
	/* 127.0.0.0/8:<nodePort> from the node itself, as kube-proxy serves it (its localhost
	 * NodePorts); a pod's loopback is its own */
	if (!svc && (bpf_ntohl(vip) >> 24) == 127 && drv_cfg.host_netns &&
	    bpf_get_netns_cookie(ctx) == drv_cfg.host_netns) {
		svc = drv_lookup_service(&key, 0, vport, proto);
		if (svc && !(svc->flags & DRV_SVC_F_NODEPORT))
			svc = NULL;
	}
	if (!svc)
		return 1;
	/* loadBalancerSourceRanges: kube-proxy's firewall chain drops a pod outside the ranges
	 * too, but a socket's source address is not known at connect(). A pod's connection to
	 * such a LoadBalancer IP is left to the tc program of its device, which checks the
	 * range (drops, or translates); the node's own sockets are translated here. */
	if ((svc->flags & DRV_SVC_F_SRC_RANGES) && drv_cfg.host_netns &&
	    bpf_get_netns_cookie(ctx) != drv_cfg.host_netns)
		return 1;
	/* The node's processes and its pods: every endpoint, whatever the traffic policy of an
	 * external frontend says about traffic from outside. */
	svc = drv_lookup_internal(&key, svc);
	if (svc->count == 0) {
		drv_count(svc->rev_nat, DRV_PATH_SOCK, DRV_STAT_REFUSED, 0);
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	}
	dgram = dgram && proto == DRV_PROTO_UDP;
	if (dgram) {
		uk.cookie = bpf_get_socket_cookie(ctx);
		uk.vip = vip;
		uk.vport = vport;
		kept = udp_flow_backend(&uk, &baddr, &bport);
	}
	if (!kept) {
		id = drv_select_backend(
		    &key, svc, (svc->flags & DRV_SVC_F_AFFINITY) ? bpf_get_netns_cookie(ctx) : 0,
		    true, 0, false, &be, &reason);
		if (!id || !be) {
			drv_count(svc->rev_nat, DRV_PATH_SOCK,
				  reason ? reason : DRV_DROP_BACKEND_GONE, 0);
			bpf_set_retval(-ECONNREFUSED);
			return 0;
		}
		baddr = be->addr;
		bport = be->port;
	}
	if (dgram && !kept) {
		struct drv_sock_udp_val uv = {
		    .backend_id = id, .last_used_s = drv_now_s(), .addr = baddr, .port = bport};

		bpf_map_update_elem(&drv_skudp1, &uk, &uv, BPF_ANY);
	}

	/* Remember the frontend for getpeername()/recvmsg() before the address changes. An LRU
	 * map with per-CPU LRU lists (no shared lock on the connect path); entries of closed
	 * sockets age out. */
	{
		struct drv_sock_rnat_key rk = {
		    .cookie = bpf_get_socket_cookie(ctx),
		    .addr = baddr,
		    .port = bport,
		};
		struct drv_sock_rnat_val rv = {.addr = vip, .port = vport, .rev_nat = svc->rev_nat};

		bpf_map_update_elem(&drv_sknat5, &rk, &rv, BPF_ANY);
	}
	ctx->user_ip4 = baddr;
	ctx->user_port = (__u32)bport;
	drv_count(svc->rev_nat, DRV_PATH_SOCK, DRV_STAT_CONNECT, 0);
	return 1;
}

/* Reverse translation: a peer address that is a backend this socket was sent to is shown
 * as the frontend the application asked for. */
static __always_inline int sock4_reverse(struct bpf_sock_addr *ctx)
{
	struct drv_sock_rnat_key rk = {
	    .cookie = bpf_get_socket_cookie(ctx),
	    .addr = ctx->user_ip4,
	    .port = (__be16)ctx->user_port,
	};
	struct drv_sock_rnat_val *rv;

	rv = bpf_map_lookup_elem(&drv_sknat5, &rk);
	if (!rv)
		return 1;
	ctx->user_ip4 = rv->addr;
	ctx->user_port = (__u32)rv->port;
	return 1;
}

SEC("cgroup/connect4")
int drv_connect4(struct bpf_sock_addr *ctx)
{
	return sock4_forward(ctx, false);
}

SEC("cgroup/sendmsg4")
int drv_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock4_forward(ctx, true);
}

SEC("cgroup/recvmsg4")
int drv_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock4_reverse(ctx);
}

SEC("cgroup/getpeername4")
int drv_getpeer4(struct bpf_sock_addr *ctx)
{
	return sock4_reverse(ctx);
}
