/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * drover_abi.h: every struct, enum value and limit shared by the BPF programs (bpf/) and
 * userspace (userspace/). There is exactly one copy; both sides include this file.
 *
 * Layout rules: fixed-width types, explicit padding, sizes checked with _Static_assert.
 * A map whose key or value layout changes gets a new name (the numeric suffix), so a map
 * pinned by an older drover is never read with the wrong layout.
 *
 * Service model (after Cilium's lb4 maps):
 *   drv_svc4   (addr, dport, proto, slot) -> value.  slot 0 is the "master" entry of a
 *              frontend: backend count, rev-NAT id, flags, affinity timeout. Slots 1..count
 *              hold backend ids. Writers put backends and slots in place before the master
 *              entry announces them (make-before-break), and shrink the master first.
 *   drv_be4    backend id -> address, port, flags. The flags are those the datapath reads
 *              (DRV_BE_F_LOCAL) and part of the backend's identity: an endpoint two
 *              services' slices place on different nodes has one id per node, so one
 *              address:port may hold several ids. Whether an endpoint is terminating is the
 *              service's word, not the endpoint's: it is in the slot (DRV_SLOT_F_TERMINATING),
 *              so the backend keeps its id when it starts terminating.
 *   drv_rnat4  rev-NAT id -> the frontend address (for replies and inspection).
 *   drv_mag4   rev-NAT id -> Maglev lookup table, for frontends reached from outside the
 *              node (NodePort, externalIPs, LoadBalancer IPs): an inner array whose entry 0
 *              is the table size M and entries 1..M the backend ids.
 */
#ifndef DROVER_ABI_H
#define DROVER_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* ---- limits (defaults; userspace may resize maps before load) ---- */
#define DRV_SVC_MAP_SIZE_DEFAULT       262144 /* frontend master entries + backend slots */
#define DRV_BACKEND_MAP_SIZE_DEFAULT   131072
#define DRV_REVNAT_MAP_SIZE_DEFAULT    65536
#define DRV_CT_MAP_SIZE_DEFAULT	       262144
#define DRV_AFFINITY_MAP_SIZE_DEFAULT  65536
#define DRV_SOCK_RNAT_MAP_SIZE_DEFAULT 262144
#define DRV_MAGLEV_OUTER_SIZE_DEFAULT  16384
#define DRV_STATS_MAP_SIZE_DEFAULT     65536
#define DRV_ENDPOINT_MAP_SIZE_DEFAULT  16384 /* local pods of one node */
#define DRV_SRCRANGE_MAP_SIZE_DEFAULT  16384 /* loadBalancerSourceRanges x LB frontends */
#define DRV_FRAG_MAP_SIZE_DEFAULT      8192  /* datagrams being fragmented at one time */
#define DRV_NEXTHOP_MAP_SIZE_DEFAULT   16384 /* (destination, ingress device) next hops */
#define DRV_NODEIP_MAP_SIZE	       64
#define DRV_MAX_BACKENDS_PER_SVC       65535
#define DRV_MAGLEV_MAX_TABLE	       131071 /* largest table size accepted (prime) */
#define DRV_MAGLEV_DEFAULT_TABLE       16381
#define DRV_REVNAT_MAX		       65535 /* rev-NAT ids are 1..65535 */

/* ---- pinned map names (<= 15 chars; a layout change bumps the suffix) ---- */
#define DRV_MAP_SVC	 "drv_svc4"
#define DRV_MAP_BACKEND	 "drv_be4"
#define DRV_MAP_REVNAT	 "drv_rnat4"
#define DRV_MAP_CT	 "drv_ct6"
#define DRV_MAP_AFFINITY "drv_aff4"
#define DRV_MAP_SOCKRNAT "drv_sknat5"
#define DRV_MAP_MAGLEV	 "drv_mag4"
#define DRV_MAP_NODEIP	 "drv_nodeip4"
#define DRV_MAP_STATS	 "drv_stats1"
#define DRV_MAP_NAMES	 "drv_names1"
#define DRV_MAP_ATTACH	 "drv_attach1"
#define DRV_MAP_EPOCH	 "drv_epoch1"
#define DRV_MAP_PKTS	 "drv_pkts2"
#define DRV_MAP_ENDPOINT "drv_ep1"
#define DRV_MAP_SOCKUDP	 "drv_skudp1"
#define DRV_MAP_SRCRANGE "drv_srcr1"
#define DRV_MAP_FRAG	 "drv_frag1"
#define DRV_MAP_DRAIN	 "drv_drain1"
#define DRV_MAP_NEXTHOP	 "drv_nh1"

/* Every map name above, for inspection and uninstall. */
#define DRV_MAP_NAMES_ALL                                                                   \
	DRV_MAP_SVC, DRV_MAP_BACKEND, DRV_MAP_REVNAT, DRV_MAP_CT, DRV_MAP_AFFINITY,         \
	    DRV_MAP_SOCKRNAT, DRV_MAP_MAGLEV, DRV_MAP_NODEIP, DRV_MAP_STATS, DRV_MAP_NAMES, \
	    DRV_MAP_ATTACH, DRV_MAP_EPOCH, DRV_MAP_PKTS, DRV_MAP_ENDPOINT, DRV_MAP_SOCKUDP, \
	    DRV_MAP_SRCRANGE, DRV_MAP_FRAG, DRV_MAP_DRAIN, DRV_MAP_NEXTHOP

/* The programs the proxy pins for other attachers (drover-cni): <pin-root>/progs/<name>.
 * A restarted proxy replaces the pins with its new programs. */
#define DRV_PIN_PROGS_DIR "progs"
#define DRV_PROG_TC_POD	  "drv_tc_pod"

/* tc filter identity of drover's programs on clsact ingress */
#define DRV_TC_HANDLE	0xd7
#define DRV_TC_PRIORITY 0xd7

/* ---- services ---- */
enum drv_l4_proto {
	DRV_PROTO_TCP = 6,
	DRV_PROTO_UDP = 17,
};

struct drv_svc_key {
	__be32 addr;  /* frontend address; 0 = any node address (NodePort) */
	__be16 dport; /* frontend port, network order */
	__u16 slot;   /* 0 = master entry, 1..count = backend slots */
	__u8 proto;   /* enum drv_l4_proto */
	__u8 scope;   /* enum drv_svc_scope */
	__u8 pad[2];
};

/* Lookup scopes of one frontend (after Cilium's SVC_FLAG_TWO_SCOPES). A frontend reached from
 * outside the node whose externalTrafficPolicy is Local has two: the external scope (the
 * master found first) holds the node-local endpoints and serves traffic from outside; the
 * internal scope, a second master and slots under the same address:port, holds every
 * endpoint of the cluster and serves the node's own processes and its pods, as kube-proxy's
 * KUBE-EXT-X chain sends them to KUBE-SVC-X. Every other frontend has only the external. */
enum drv_svc_scope {
	DRV_SCOPE_EXT = 0,
	DRV_SCOPE_INT = 1,
};

enum drv_svc_flags {
	DRV_SVC_F_CLUSTERIP = 1 << 0, /* ClusterIP frontend */
	DRV_SVC_F_NODEPORT = 1 << 1,  /* NodePort frontend (addr 0 = every node address) */
	DRV_SVC_F_EXTERNAL = 1 << 2,  /* externalIPs / LoadBalancer ingress IP */
	DRV_SVC_F_AFFINITY = 1 << 3,  /* sessionAffinity: ClientIP */
	DRV_SVC_F_LOCAL = 1 << 4, /* backends are node-local only (traffic policy Local): no SNAT */
	DRV_SVC_F_MAGLEV = 1 << 5, /* drv_mag4 holds a table for this rev-NAT id */
	/* LoadBalancer IP with loadBalancerSourceRanges: a new flow's source must match a
	 * drv_srcr1 entry of this frontend, others are dropped */
	DRV_SVC_F_SRC_RANGES = 1 << 6,
	/* external-scope master of a frontend that also has an internal scope (DRV_SCOPE_INT):
	 * with no backend in the external scope but some in the internal, traffic from outside
	 * is dropped (DRV_DROP_NO_LOCAL), as kube-proxy's "has no local endpoints" DROP */
	DRV_SVC_F_TWO_SCOPES = 1 << 7,
	/* internalTrafficPolicy Local with no endpoint on this node but some elsewhere: a new
	 * flow on the tc path is dropped (DRV_DROP_NO_LOCAL), as kube-proxy's "has no local
	 * endpoints" DROP, where a service with no endpoint at all is rejected */
	DRV_SVC_F_NO_LOCAL = 1 << 8,
};

struct drv_svc_val {
	__u32 backend_id;	/* slot > 0: the backend; master: 0 */
	__u16 count;		/* master: number of backend slots (0 = reject) */
	__u16 rev_nat;		/* frontend id, 1..65535 */
	__u32 affinity_timeout; /* master: seconds, when DRV_SVC_F_AFFINITY */
	__u32 maglev_size;	/* master: Maglev table size M (the table carries it too; userspace
			    * reads it back when it adopts pinned maps) */
	__u16 flags;		/* master: enum drv_svc_flags; slot: enum drv_slot_flags */
	__u16 pad;
};

/* A slot's flags: what its frontend's service says about the endpoint. Read by inspection
 * (`drover bpf services`, the e2e tests), not by the datapath: a terminating endpoint gets a
 * slot only while its service has no ready one, and is then used like any other. */
enum drv_slot_flags {
	DRV_SLOT_F_TERMINATING = 1 << 0, /* terminating (and serving) in this service's slice */
};

struct drv_backend {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 flags; /* enum drv_backend_flags */
};

enum drv_backend_flags {
	DRV_BE_F_LOCAL = 1 << 0, /* endpoint lives on this node */
	/* never in drv_be4: the proxy's own lb_backend says it, and lbmap writes it to the
	 * frontend's slot as DRV_SLOT_F_TERMINATING */
	DRV_BE_F_TERMINATING = 1 << 1,
};

struct drv_revnat {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct drv_svc_name {
	char name[64]; /* "namespace/name:port/proto", NUL-terminated, truncated if longer */
};

enum drv_attach_flags {
	DRV_ATT_TC_POD = 1 << 0,  /* drv_tc_pod on ingress */
	DRV_ATT_TC_NODE = 1 << 1, /* drv_tc_node on ingress */
	DRV_ATT_XDP_DRV = 1 << 2, /* drv_xdp_lb, native mode */
	DRV_ATT_XDP_SKB = 1 << 3, /* drv_xdp_lb, generic mode */
	DRV_ATT_CLSACT = 1 << 4,  /* the clsact qdisc was created by drover */
	/* recorded after the fact (found attached by the proxy's reconcile): who made the
	 * clsact qdisc is not known; uninstall removes it if drover's filter was all it held */
	DRV_ATT_CLSACT_UNKNOWN = 1 << 5,
};

struct drv_attach {
	__u32 flags; /* enum drv_attach_flags */
	char ifname[16];
};

/* ---- local endpoints (drv_ep1) ----
 * A pod on this node, by its IPv4 address, written by drover-cni on ADD and removed on DEL.
 * A packet for it seen at tc ingress (leaving another local pod, or entering the node) is
 * handed straight to the pod's interface with bpf_redirect_peer() on the host side of its
 * veth, as if routed there: destination MAC the pod's, source MAC the host side's, TTL - 1. */
enum drv_endpoint_flags {
	DRV_EP_F_NO_REDIRECT = 1 << 0, /* registered, but delivered by the host stack */
};

struct drv_endpoint {
	__u32 ifindex;	  /* host side of the pod's veth, in the node's netns */
	__u8 mac[6];	  /* the pod's interface */
	__u8 host_mac[6]; /* the host side */
	__u32 flags;	  /* enum drv_endpoint_flags */
};

/* ---- connection tracking (tc and XDP paths) ----
 * Two entries per translated flow in one key space: the packet as the client sent it
 * (before NAT, dir DRV_CT_SVC) and the reply as the backend sends it (dir DRV_CT_REPLY).
 * The tuples cannot coincide, so one lookup per packet finds either. Each value says what
 * to write into the packet, and caches where the translated packet goes (egress device and
 * MAC addresses from one bpf_fib_lookup) so that later packets skip the FIB. Reply entries
 * are inserted before forward ones: a reply never arrives before its translation exists. */
enum drv_ct_dir {
	DRV_CT_SVC = 1,
	DRV_CT_REPLY = 2,
};

struct drv_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

enum drv_ct_flags {
	DRV_CT_F_SNAT = 1 << 0,	    /* rewrite source to nat_saddr:nat_sport */
	DRV_CT_F_DNAT = 1 << 1,	    /* rewrite destination to nat_daddr:nat_dport */
	DRV_CT_F_NODEPORT = 1 << 2, /* flow entered through a NodePort/external frontend */
	DRV_CT_F_SEEN_FIN = 1 << 3, /* a FIN or RST was seen: entry may be collected soon */
	DRV_CT_F_XDP = 1 << 4,	    /* created by the XDP program */
	DRV_CT_F_L2 = 1 << 5,	    /* ifindex/dmac/smac hold a FIB answer of epoch l2_epoch */
	/* The TCP flow is over, as conntrack's TIME_WAIT/CLOSE: a RST, or FINs both ways and the
	 * last one acknowledged. Set on both entries; the flow's SNAT port may go to a new flow
	 * at once (drv_snat_reserve takes it over when no free port is found). */
	DRV_CT_F_CLOSED = 1 << 6,
	DRV_CT_F_FIN_BOTH = 1 << 7, /* FINs seen both ways; the last ACK closes the flow */
};

struct drv_ct_val {
	__be32 nat_saddr;
	__be32 nat_daddr;
	__be16 nat_sport;
	__be16 nat_dport;
	__u32 backend_id; /* DRV_CT_SVC: chosen backend */
	__u16 rev_nat;
	__u8 flags;	    /* enum drv_ct_flags */
	__u8 dir;	    /* enum drv_ct_dir */
	__u32 ifindex;	    /* egress device of the translated packet (DRV_CT_F_L2) */
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE) */
	__u64 packets;
	__u64 bytes;
	__u8 dmac[6];
	__u8 smac[6];
	__u32 l2_epoch; /* drv_epoch when the L2 answer was cached; a newer epoch re-resolves */
	/* With DRV_CT_F_L2: the egress device's MTU when cached (a packet of the flow within it
	 * needs no bpf_check_mtu; 0: always checked), and DRV_CT_L2_PEER when ifindex is a local
	 * pod's host-side veth (drv_ep1), reached by bpf_redirect_peer (no MTU check, no FIB). */
	__u16 mtu;
	__u8 l2_flags;
	__u8 pad2[5];
};

enum drv_ct_l2_flags {
	DRV_CT_L2_PEER = 1 << 0,
};

/* ---- next hops by destination (drv_nh1, LRU) ----
 * The next hop the tc program resolved (FIB + device MTU, or a local pod of drv_ep1) for a
 * translated packet to daddr that entered through device iif, for the new flows that follow:
 * their first packet copies it into its forward entry before the insert and skips the
 * endpoint lookup, bpf_fib_lookup and bpf_check_mtu. Good while epoch is the current
 * drv_epoch1 (bumped by drover-cni on every pod ADD/DEL, and by the proxy on link, route and
 * rule changes and every conntrack GC period) and the packet fits mtu. The FIB answer is
 * taken as the destination's, whatever the flow's source: drover's nodes route by
 * destination (no source policy rules). */
struct drv_nh_key {
	__be32 daddr; /* the packet's destination after translation */
	__u32 iif;    /* skb->ingress_ifindex (forwarding and the hairpin check depend on it) */
};

struct drv_nh_val {
	__u32 ifindex; /* egress device */
	__u8 dmac[6];
	__u8 smac[6];
	__u32 epoch; /* drv_epoch1 when resolved */
	/* the smaller of the route's MTU and the device's (a bigger first packet is resolved
	 * anew, so that the FIB answers it); unused with DRV_CT_L2_PEER */
	__u16 mtu;
	__u8 l2_flags; /* enum drv_ct_l2_flags */
	__u8 pad;
};

/* ---- fragments of translated flows (drv_frag1, LRU) ----
 * Only a datagram's first fragment carries the ports conntrack needs. When it is translated,
 * the translation of its addresses is remembered under the datagram's (source, destination,
 * IP id, protocol) as it arrived, so that its later fragments get the same addresses (after
 * Cilium's IPv4 fragment map). Entries are good for 30 s (Linux's ipfrag_time). */
struct drv_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 pad;
};

struct drv_frag_val {
	__be32 nat_saddr;
	__be32 nat_daddr;
	__u64 first_ns; /* bpf_ktime_get_coarse_ns() of the first fragment */
	__u16 rev_nat;
	__u8 flags; /* DRV_CT_F_SNAT | DRV_CT_F_DNAT */
	__u8 dir;   /* the flow entry's enum drv_ct_dir, for the counters */
	__u32 pad;
};

/* ---- session affinity ---- */
struct drv_affinity_key {
	__u64 client; /* network namespace cookie (socket path) or client IPv4 (tc/XDP) */
	__u16 rev_nat;
	__u8 netns; /* 1: client is a netns cookie */
	__u8 pad[5];
};

struct drv_affinity_val {
	__u32 backend_id;
	__u32 last_used_s; /* bpf_ktime_get_coarse_ns() / 1e9 */
};

/* ---- socket LB reverse translation (getpeername, recvmsg) ---- */
struct drv_sock_rnat_key {
	__u64 cookie; /* socket cookie */
	__be32 addr;  /* backend address */
	__be16 port;  /* backend port */
	__u16 pad;
};

struct drv_sock_rnat_val {
	__be32 addr; /* frontend address the application asked for */
	__be16 port;
	__u16 rev_nat;
};

/* ---- unconnected UDP flows of the socket LB (sendmsg4) ----
 * A (socket, frontend) flow keeps its backend, as kube-proxy's conntrack entry does, until
 * it idles out (ct_other_timeout_s, --ct-timeout-other) or its backend stops serving (the id
 * no longer names the same address:port, and the address:port is not in drv_drain1). */
struct drv_sock_udp_key {
	__u64 cookie; /* socket cookie */
	__be32 vip;   /* frontend the datagram was sent to */
	__be16 vport;
	__u16 pad;
};

struct drv_sock_udp_val {
	__u32 backend_id;
	__u32 last_used_s; /* bpf_ktime_get_coarse_ns() in seconds */
	__be32 addr;	   /* the backend's address and port when chosen */
	__be16 port;
	__u16 pad;
};

/* ---- loadBalancerSourceRanges (drv_srcr1, an LPM trie) ----
 * One entry per (LoadBalancer frontend, source range): the frontend's address, port and
 * protocol match in full (64 bits), the source by the range's prefix; prefixlen is 64 + the
 * range's length, and a lookup gives 96. */
struct drv_srcrange_key {
	__u32 prefixlen;
	__be32 fe_addr;
	__be16 fe_port;
	__u8 proto;
	__u8 pad;
	__be32 saddr;
};

/* ---- terminating endpoints that still serve (drv_drain1) ----
 * An endpoint that is terminating but serving while its service has ready ones gets no slot
 * (and its drv_be4 entry may go), yet kube-proxy's conntrack cleanup keeps the UDP flows to
 * it: a UDP flow of the tc/XDP paths, or of the socket LB (drv_skudp1), whose backend is gone
 * keeps it while it is listed here.
 * Written by the model (one entry per address:port/protocol, whatever the services). */
struct drv_drain_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

/* ---- statistics (per CPU) ----
 * One counter pair per (frontend, path, kind). Kinds below 16 are successes; the rest are
 * drop reasons. The BPF code returns negative DRV_DROP_* values internally; the stats key
 * stores the positive value. */
enum drv_path {
	DRV_PATH_SOCK = 1,
	DRV_PATH_TC = 2,
	DRV_PATH_XDP = 3,
};

enum drv_stat_kind {
	DRV_STAT_FWD = 0,	    /* packet translated towards a backend (tc, XDP) */
	DRV_STAT_REPLY = 1,	    /* reply translated back (tc, XDP) */
	DRV_STAT_CONNECT = 2,	    /* socket LB: connect()/sendmsg() translated */
	DRV_STAT_REFUSED = 3,	    /* socket LB: no backend, ECONNREFUSED */
	DRV_STAT_REJECTED = 4,	    /* tc/XDP: no backend, ICMP unreachable sent */
	DRV_STAT_REDIRECT_PEER = 5, /* tc: delivered to a local pod by bpf_redirect_peer */
	DRV_STAT_ICMP_ERROR = 6,    /* tc: ICMP error about a tracked flow translated */
	DRV_STAT_FRAG_NEEDED = 7,   /* tc: too big for the egress MTU with DF: ICMP sent back */
	DRV_STAT_DROP_FIRST = 16,
	DRV_DROP_NO_BACKEND = 16,    /* no backend and no reply could be sent */
	DRV_DROP_BACKEND_GONE = 17,  /* slot points to a backend that no longer exists */
	DRV_DROP_CT_FULL = 18,	     /* connection tracking insert failed */
	DRV_DROP_NAT_EXHAUSTED = 19, /* no free SNAT port */
	DRV_DROP_MALFORMED = 20,     /* truncated or malformed header */
	DRV_DROP_CSUM = 21,	     /* checksum/rewrite helper failed */
	DRV_DROP_FRAGMENT = 22,	     /* fragmented packet to a service address */
	DRV_DROP_MAGLEV = 23,	     /* Maglev table missing or empty */
	DRV_DROP_FIB = 24,	     /* no route to the backend */
	DRV_DROP_SOURCE_RANGE = 25,  /* source outside the loadBalancerSourceRanges */
	DRV_DROP_TOO_BIG = 26,	     /* too big for the egress MTU, no ICMP could be sent */
	DRV_DROP_NO_LOCAL = 27,	     /* externalTrafficPolicy Local, no endpoint on this node */
	DRV_STAT_MAX = 32,
};

struct drv_stats_key {
	__u16 rev_nat; /* 0 when no frontend is known */
	__u8 path;     /* enum drv_path */
	__u8 kind;     /* enum drv_stat_kind */
};

struct drv_stats_val {
	__u64 packets; /* or connections, on the socket path */
	__u64 bytes;
};

/* The per-packet counters of the tc and XDP paths live apart from drv_stats1, in a per-CPU
 * array indexed by rev-NAT id (drv_pkts2): an array element is an address computation where
 * a hash lookup costs a third of the hit path. drv_stats1 keeps everything per connection or
 * per exception (connects, refusals, rejects, drops by reason). */
struct drv_fe_pkts {
	__u64 sock_connects; /* socket LB: connect()/sendmsg() translated */
	__u64 tc_fwd_packets;
	__u64 tc_fwd_bytes;
	__u64 tc_reply_packets;
	__u64 tc_reply_bytes;
	__u64 xdp_fwd_packets;
	__u64 xdp_fwd_bytes;
	__u64 xdp_reply_packets;
	__u64 xdp_reply_bytes;
};

/* ---- load-time configuration (rodata of every program object) ---- */
struct drv_config {
	__u16 snat_port_min; /* NodePort SNAT source ports, host order (the proxy's default:
			      * the node's net.ipv4.ip_local_port_range) */
	__u16 snat_port_max;
	__u32 ct_tcp_timeout_s;
	__u32 ct_other_timeout_s;
	__u8 enable_fib_redirect; /* redirect translated packets after bpf_fib_lookup */
	__u8 pad[3];
	__be32 snat_addr; /* node address used as source when a flow is masqueraded and the
			   * frontend address is not itself a node address */
	__u64 host_netns; /* the node's network namespace cookie: there, 127.0.0.0/8 serves
			   * NodePorts on the socket path (kube-proxy's localhost NodePorts); 0: off */
};

/* drv_cfg's defaults: the programs' own initialiser and the proxy's configuration both start
 * from them. */
#define DRV_CONFIG_DEFAULTS                                                                \
	{                                                                                  \
		.snat_port_min = 61000, .snat_port_max = 65000, .ct_tcp_timeout_s = 21600, \
		.ct_other_timeout_s = 60, .enable_fib_redirect = 1,                        \
	}

/* ---- UDP socket destruction (sockdestroy.bpf.c's drv_destroy_tgt) ---- */

/* A removed UDP backend: connected sockets whose peer it is are destroyed. */
struct drv_destroy_key {
	__be32 addr;
	__be16 port;
	__u16 pad;
};

/* One open file that is a UDP socket connected through the socket LB to a removed backend,
 * as sockdestroy.bpf.c's iter/task_file program writes it: the proxy duplicates the
 * descriptor (pidfd_getfd) and connects it to the service again, so that the socket carries on
 * to a live backend as it would under kube-proxy. A socket open in several processes shows
 * once per process. */
struct drv_udp_holder {
	__u64 cookie; /* socket cookie: the duplicate is checked against it */
	__u32 pid;    /* task->tgid: the process id in the host pid namespace */
	__u32 fd;
	__be32 addr; /* the removed backend the socket is connected to */
	__be32 vip;  /* the frontend it asked for (its drv_sknat5 entry) */
	__be16 port;
	__be16 vport;
	__u32 pad;
};

/* ---- telemetry (telemetry.bpf.c; read by the agent's /metrics and `drover flows`) ----
 * Maps pinned beside the proxy's under <pin-root>, named DRV_MAP_TL_*. Series maps are hashes
 * (not LRU: a full map must lose no existing series): an insert that fails counts in
 * drv_tlctr1[DRV_TL_CTR_*_OVERFLOW] and the event is not counted anywhere else. Per-socket
 * state lives in a hash by socket cookie (DRV_MAP_TL_SK: added when sockops sees the connection
 * established, removed at its close; connections that predate telemetry are not counted; a
 * full map counts in DRV_TL_CTR_SOCK_OVERFLOW). Flow and request events go to the
 * ring buffer drv_tlev1; an event that does not fit counts in DRV_TL_CTR_EVENTS_LOST.
 *
 * Addresses are the pod side's, as the socket sees them: on the client side (reporter
 * CLIENT) saddr is the local pod, daddr:dport the backend the socket is connected to (after
 * the socket LB), rev_nat the service frontend the application asked for (0: none known,
 * e.g. a connection straight to a pod); on the server side (reporter SERVER) saddr is the
 * remote peer, daddr:dport the local pod's listening address. Only sockets whose pod side is
 * a local endpoint of this node (drv_ep1) are counted, so several nodes on one machine count
 * each connection once per side. */
#define DRV_TL_SERIES_MAP_SIZE_DEFAULT 16384	    /* --telemetry-max-series */
#define DRV_TL_RINGBUF_SIZE_DEFAULT    (256 * 1024) /* --telemetry-ringbuf-bytes */
#define DRV_TL_HTTP_BUCKETS	       12

#define DRV_MAP_TL_TCP	"drv_tltcp1"
#define DRV_MAP_TL_HTTP "drv_tlhttp1"
#define DRV_MAP_TL_CTR	"drv_tlctr1"
#define DRV_MAP_TL_EV	"drv_tlev1"

/* Upper bounds of the request duration histogram's buckets in microseconds (the last,
 * +Inf, is implicit): le="0.0005", "0.001", … "5" in the exposition. */
#define DRV_TL_HTTP_BUCKET_BOUNDS_US                                                         \
	{                                                                                    \
		500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, \
		    5000000                                                                  \
	}

enum drv_tl_reporter {
	DRV_TL_CLIENT = 1,
	DRV_TL_SERVER = 2,
	/* HTTP only: a connection between two pods of this node, parsed once (by the server's
	 * socket) and counted once for both sides: the key is the client side's; the server
	 * side's is the same with reporter SERVER and rev_nat 0 (drv_tl_key_sides). A series or
	 * an event with this reporter stands for one of each side. */
	DRV_TL_BOTH = 3,
};

enum drv_tl_http_method {
	DRV_TL_M_OTHER = 0,
	DRV_TL_M_GET = 1,
	DRV_TL_M_HEAD = 2,
	DRV_TL_M_POST = 3,
	DRV_TL_M_PUT = 4,
	DRV_TL_M_DELETE = 5,
	DRV_TL_M_PATCH = 6,
	DRV_TL_M_OPTIONS = 7,
	DRV_TL_M_CONNECT = 8,
	DRV_TL_M_TRACE = 9,
};

/* One series key of both series maps. */
struct drv_tl_key {
	__be32 saddr;
	__be32 daddr;
	__be16 dport;
	__u16 rev_nat;
	__u8 reporter; /* enum drv_tl_reporter */
	__u8 method;   /* HTTP: enum drv_tl_http_method; TCP: 0 */
	__u16 code;    /* HTTP: status code (0: connection ended before a response); TCP: 0 */
};

#ifndef __VMLINUX_H__
/* The keys a series or event key stands for: itself, or for DRV_TL_BOTH the client side's and
 * the server side's. Returns how many (1 or 2) were written to out. */
static inline int drv_tl_key_sides(const struct drv_tl_key *k, struct drv_tl_key out[2])
{
	out[0] = *k;
	if (k->reporter != DRV_TL_BOTH)
		return 1;
	out[0].reporter = DRV_TL_CLIENT;
	out[1] = *k;
	out[1].reporter = DRV_TL_SERVER;
	out[1].rev_nat = 0;
	return 2;
}
#endif

/* drv_tltcp1 (per-CPU hash): TCP connections of the series. Counts are added when a
 * connection is established (opened) and when it ends (the rest, from the socket's own
 * tcp_sock counters at close). */
struct drv_tl_tcp {
	__u64 opened;	      /* reached ESTABLISHED */
	__u64 closed;	      /* ended after ESTABLISHED, without a reset */
	__u64 refused;	      /* client: the SYN was answered by a reset */
	__u64 reset;	      /* ended by a reset sent or received after ESTABLISHED */
	__u64 bytes_sent;     /* client: towards the server (request direction) */
	__u64 bytes_received; /* client: from the server */
	__u64 packets_sent;   /* segments */
	__u64 packets_received;
	__u64 retransmits;     /* segments retransmitted (total_retrans) */
	__u64 syn_retransmits; /* SYNs retransmitted before the connection was established */
	__u64 srtt_us_sum;     /* smoothed RTT at close, summed over the closed connections */
	__u64 srtt_samples;    /* closed connections that had an RTT sample */
};

/* drv_tlhttp1 (per-CPU hash): HTTP/1.x requests of the series, by method and code. Duration:
 * from the request's first byte to the response's first byte as this side sees them
 * (client: sent to received; server: received to sent). */
struct drv_tl_http {
	__u64 requests;
	__u64 duration_us_sum;
	__u64 buckets
	    [DRV_TL_HTTP_BUCKETS]; /* not cumulative: bucket i counts bound[i-1] < d <= bound[i] */
	__u64 over;		   /* d > the last bound (the +Inf bucket's own share) */
};

/* drv_tlctr1 (per-CPU array): telemetry's own counters. */
enum drv_tl_ctr {
	DRV_TL_CTR_TCP_OVERFLOW = 0,  /* a TCP series could not be added (map full) */
	DRV_TL_CTR_HTTP_OVERFLOW = 1, /* an HTTP series could not be added (map full) */
	DRV_TL_CTR_EVENTS_LOST = 2,   /* a ring buffer event did not fit */
	DRV_TL_CTR_HTTP_UNPARSED = 3, /* a response with no request waiting, or past the queue */
	DRV_TL_CTR_SOCK_OVERFLOW = 4, /* a connection not followed: drv_tlsk2 was full */
	/* a connection between two pods of this node whose HTTP both ends' series count from
	 * one parse, the server socket's (telemetry.bpf.c, enum tl_mirror) */
	DRV_TL_CTR_PAIRED = 5,
	DRV_TL_CTR_MAX = 8,
};

/* drv_tlev1 (ring buffer): one event per TCP connection state change and per HTTP request
 * (after its response began), for `drover flows`. */
enum drv_tl_event_type {
	DRV_TL_EV_TCP_OPEN = 1,
	DRV_TL_EV_TCP_CLOSE = 2,
	DRV_TL_EV_TCP_REFUSED = 3,
	DRV_TL_EV_TCP_RESET = 4,
	DRV_TL_EV_HTTP = 5,
};

struct drv_tl_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when it happened */
	struct drv_tl_key key;
	__be16 sport; /* the client's port */
	__u8 type;    /* enum drv_tl_event_type */
	__u8 pad;
	__u32 pid;	 /* tgid of the task, in the host pid namespace (0: not in task context) */
	__u64 cgroup_id; /* cgroup v2 id of the socket */
	__u64 duration_us; /* HTTP: request to response; TCP close: connection lifetime */
	__u64 bytes_sent;  /* TCP close: as in struct drv_tl_tcp */
	__u64 bytes_received;
	char path[64]; /* HTTP: the request target, NUL-terminated, truncated */
};

/* telemetry.bpf.c's own per-socket state (a hash by socket cookie, layout private to it), pinned
 * so that a restarted proxy's programs carry on with the connections in flight. drv_tlsk1 was
 * its socket storage before: still removed by uninstall. */
#define DRV_MAP_TL_SK	  "drv_tlsk2"
#define DRV_MAP_TL_SK_OLD "drv_tlsk1"

/* drv_tlev1's reader: the programs wake it (epoll) only once the buffer is a quarter full,
 * so that a busy node pays no wake-up per event; read it on a timer too (100 ms or so) to
 * see a quiet node's events soon. */

/* Every telemetry map name, for uninstall. */
#define DRV_MAP_TL_NAMES_ALL                                                           \
	DRV_MAP_TL_TCP, DRV_MAP_TL_HTTP, DRV_MAP_TL_CTR, DRV_MAP_TL_EV, DRV_MAP_TL_SK, \
	    DRV_MAP_TL_SK_OLD

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct drv_svc_key) == 12, "drv_svc_key layout");
_Static_assert(sizeof(struct drv_svc_val) == 20, "drv_svc_val layout");
_Static_assert(sizeof(struct drv_backend) == 8, "drv_backend layout");
_Static_assert(sizeof(struct drv_revnat) == 8, "drv_revnat layout");
_Static_assert(sizeof(struct drv_ct_key) == 16, "drv_ct_key layout");
_Static_assert(sizeof(struct drv_ct_val) == 72, "drv_ct_val layout");
_Static_assert(sizeof(struct drv_nh_key) == 8, "drv_nh_key layout");
_Static_assert(sizeof(struct drv_nh_val) == 24, "drv_nh_val layout");
_Static_assert(sizeof(struct drv_frag_key) == 12, "drv_frag_key layout");
_Static_assert(sizeof(struct drv_frag_val) == 24, "drv_frag_val layout");
_Static_assert(sizeof(struct drv_affinity_key) == 16, "drv_affinity_key layout");
_Static_assert(sizeof(struct drv_affinity_val) == 8, "drv_affinity_val layout");
_Static_assert(sizeof(struct drv_sock_rnat_key) == 16, "drv_sock_rnat_key layout");
_Static_assert(sizeof(struct drv_destroy_key) == 8, "drv_destroy_key layout");
_Static_assert(sizeof(struct drv_udp_holder) == 32, "drv_udp_holder layout");
_Static_assert(sizeof(struct drv_sock_rnat_val) == 8, "drv_sock_rnat_val layout");
_Static_assert(sizeof(struct drv_sock_udp_key) == 16, "drv_sock_udp_key layout");
_Static_assert(sizeof(struct drv_sock_udp_val) == 16, "drv_sock_udp_val layout");
_Static_assert(sizeof(struct drv_srcrange_key) == 16, "drv_srcrange_key layout");
_Static_assert(sizeof(struct drv_drain_key) == 8, "drv_drain_key layout");
_Static_assert(sizeof(struct drv_stats_key) == 4, "drv_stats_key layout");
_Static_assert(sizeof(struct drv_stats_val) == 16, "drv_stats_val layout");
_Static_assert(sizeof(struct drv_svc_name) == 64, "drv_svc_name layout");
_Static_assert(sizeof(struct drv_fe_pkts) == 72, "drv_fe_pkts layout");
_Static_assert(sizeof(struct drv_attach) == 20, "drv_attach layout");
_Static_assert(sizeof(struct drv_endpoint) == 20, "drv_endpoint layout");
_Static_assert(sizeof(struct drv_tl_key) == 16, "drv_tl_key layout");
_Static_assert(sizeof(struct drv_tl_tcp) == 96, "drv_tl_tcp layout");
_Static_assert(sizeof(struct drv_tl_http) == 120, "drv_tl_http layout");
_Static_assert(sizeof(struct drv_tl_event) == 128, "drv_tl_event layout");
#endif

#endif /* DROVER_ABI_H */
