/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.h: every map of the dataplane, BTF-defined and pinned by name under the pin root
 * userspace chooses (/sys/fs/bpf/drover by default). Every program object includes this
 * file; libbpf reuses the pinned instance, so all programs share one set of maps.
 * Sizes are defaults; userspace resizes with bpf_map__set_max_entries() before load.
 */
#ifndef DRV_BPF_MAPS_H
#define DRV_BPF_MAPS_H

#include "common.h"
#include "icmp.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct drv_svc_key);
	__type(value, struct drv_svc_val);
	__uint(max_entries, DRV_SVC_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_svc4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct drv_backend);
	__uint(max_entries, DRV_BACKEND_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_be4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct drv_revnat);
	__uint(max_entries, DRV_REVNAT_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_rnat4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct drv_ct_key);
	__type(value, struct drv_ct_val);
	__uint(max_entries, DRV_CT_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_ct6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct drv_affinity_key);
	__type(value, struct drv_affinity_val);
	__uint(max_entries, DRV_AFFINITY_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_aff4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct drv_sock_rnat_key);
	__type(value, struct drv_sock_rnat_val);
	__uint(max_entries, DRV_SOCK_RNAT_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_sknat5 SEC(".maps");

/* (socket cookie, frontend) -> backend of an unconnected UDP flow; sized as drv_sknat5 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct drv_sock_udp_key);
	__type(value, struct drv_sock_udp_val);
	__uint(max_entries, DRV_SOCK_RNAT_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_skudp1 SEC(".maps");

/* (LoadBalancer frontend, source prefix) -> 1, for frontends with DRV_SVC_F_SRC_RANGES */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct drv_srcrange_key);
	__type(value, __u8);
	__uint(max_entries, DRV_SRCRANGE_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_srcr1 SEC(".maps");

/* (source, destination, IP id, protocol) of a fragmented datagram of a translated flow ->
 * the addresses its later fragments get (drover_abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct drv_frag_key);
	__type(value, struct drv_frag_val);
	__uint(max_entries, DRV_FRAG_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_frag1 SEC(".maps");
/* Terminating endpoints that still serve (drover_abi.h's drv_drain_key) -> 1 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct drv_drain_key);
	__type(value, __u8);
	__uint(max_entries, DRV_BACKEND_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_drain1 SEC(".maps");

/* Maglev: rev-NAT id -> inner array of backend ids. BPF_F_INNER_MAP lets each inner table
 * have its own size, so a service's memory is bounded by its own table, not the largest. */
struct drv_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, DRV_MAGLEV_OUTER_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct drv_maglev_inner);
} drv_mag4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, __u32);
	__uint(max_entries, DRV_NODEIP_MAP_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_nodeip4 SEC(".maps");

/* The L2 cache epoch: userspace bumps entry 0 now and then (the proxy at every conntrack GC
 * and on link, route and rule events, drover-cni on every pod ADD and DEL), and every cached
 * next hop in drv_ct6 and drv_nh1 older than it is looked up again, so a changed neighbour is
 * followed within one GC period even inside a long flow. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_epoch1 SEC(".maps");

/* Next hops by (destination, ingress device) for new flows (drover_abi.h's drv_nh_key):
 * written by the tc program when a new flow's first packet resolved one, valid for one L2
 * epoch. LRU: destinations come from traffic. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct drv_nh_key);
	__type(value, struct drv_nh_val);
	__uint(max_entries, DRV_NEXTHOP_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_nh1 SEC(".maps");

/* Room off the stack (the tc program's 512 bytes are all used), and state handed from
 * drv_lb_decide to the tc program's next-hop choice for the packet at hand: kept here, not on
 * the stack, because the verifier does not track a map's contents, so that the paths through
 * the rest of the program do not multiply by it. One per CPU, private to each object (not
 * pinned); programs do not nest on a CPU. */
struct drv_scratch {
	struct bpf_fib_lookup fib;
	struct drv_icmp_reply icmp;
	struct drv_nh_key nh_key;
	struct drv_nh_val nh; /* an entry being written to drv_nh1 */
	struct drv_ct_key ct_key;
	struct drv_nh_val hop; /* nh_state DRV_NH_HIT: the new flow's next hop */
	__u8 nh_state;	       /* enum drv_nh_state, for the packet at hand (read once) */
	__u8 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct drv_scratch);
	__uint(max_entries, 1);
} drv_scratch SEC(".maps");

static __always_inline struct drv_scratch *drv_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&drv_scratch, &zero);
}

/* Where this proxy attached tc/XDP programs (ifindex -> what), so that a restarted proxy and
 * `drover proxy uninstall` know what is theirs without a state file. Userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct drv_attach);
	__uint(max_entries, 4096);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_attach1 SEC(".maps");

/* Human names of frontends ("namespace/name:port/proto"), written by userspace for the
 * inspection commands only; no program reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct drv_svc_name);
	__uint(max_entries, DRV_REVNAT_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_names1 SEC(".maps");

/* Local pods (drover_abi.h's drv_endpoint), written by drover-cni. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, struct drv_endpoint);
	__uint(max_entries, DRV_ENDPOINT_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_ep1 SEC(".maps");

/* Indexed by rev-NAT id; sized like drv_rnat4, whose size bounds the ids. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct drv_fe_pkts);
	__uint(max_entries, DRV_REVNAT_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_pkts2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct drv_stats_key);
	__type(value, struct drv_stats_val);
	__uint(max_entries, DRV_STATS_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_stats1 SEC(".maps");

#endif
