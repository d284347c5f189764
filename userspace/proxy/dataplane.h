/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dataplane: loads drover's BPF objects (skeletons) against the pinned maps, attaches them
 * and takes them down again.
 *
 *   cgroup/connect4, sendmsg4, recvmsg4, getpeername4 -> bpf_links pinned under
 *       <pin-root>/links/, so they outlive the proxy process (SIGKILL included); a restarted
 *       proxy swaps in its new programs with bpf_link__update_program(), never detaching.
 *   telemetry (cgroup_skb ingress/egress, sockops) -> the socket LB's cgroup, links pinned
 *       under <pin-root>/links/ as above.
 *   tc clsact ingress (drv_tc_node on node devices, drv_tc_pod on pod veths) and XDP
 *       (drv_xdp_lb on node devices) persist by themselves; they are replaced in place
 *       (BPF_TC_F_REPLACE, XDP_FLAGS_REPLACE). Where they were attached is recorded in the
 *       pinned map drv_attach1, which uninstall reads.
 *
 * Maps are pinned by name directly under <pin-root> (default /sys/fs/bpf/drover); drv_tc_pod
 * is pinned as <pin-root>/progs/drv_tc_pod for drover-cni, which attaches it to the host side
 * of each pod's veth and registers the pod in drv_ep1.
 */
#ifndef DROVER_DATAPLANE_H
#define DROVER_DATAPLANE_H

#include "drover_abi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_PIN_ROOT_DEFAULT "/sys/fs/bpf/drover"

enum dp_xdp_mode {
	DP_XDP_AUTO = 0, /* native, except generic on veth; tc where neither attaches */
	DP_XDP_NATIVE,
	DP_XDP_GENERIC,
	DP_XDP_OFF,
};

struct dp_map_sizes {
	uint32_t svc, backend, revnat, ct, affinity, sock_rnat, maglev_outer, stats, endpoint;
	uint32_t attach; /* drv_attach1; 0: the object's default (4096) */
};

struct dp_opts {
	const char *pin_root;
	const char *cgroup; /* NULL: the cgroup v2 root found at run time */
	bool sock_lb;
	bool tc_lb; /* attach drv_tc_pod on pod devices */
	enum dp_xdp_mode xdp_mode;
	const char *const *node_devs; /* NodePort / external devices (tc + XDP) */
	size_t nnode_devs;
	struct drv_config cfg;
	struct dp_map_sizes sizes;
	/* telemetry.bpf.c (drover_abi.h's telemetry maps): loaded and attached when set; a kernel
	 * that cannot (no fentry, no BTF) leaves it off with a warning, the proxy runs on */
	bool telemetry;
	uint32_t tl_max_series;	   /* entries of drv_tltcp1 and drv_tlhttp1 */
	uint32_t tl_ringbuf_bytes; /* drv_tlev1: a power of two, at least a page */
};

struct dataplane;

/* The telemetry flags' values (--telemetry-max-series: 1 .. 2^24;
 * --telemetry-ringbuf-bytes: a power of two from the page size to 1 GiB). 0 or -EINVAL. */
int dp_tl_parse_series(const char *arg, uint32_t *out);
int dp_tl_parse_ringbuf(const char *arg, uint32_t *out);

/* Open and load every object; pinned maps are reused, missing ones created and pinned. */
int dp_open(struct dataplane **out, const struct dp_opts *opts);
/* Attach everything the options ask for (adopting and replacing what is already there), and
 * pin drv_tc_pod under <pin-root>/progs/ (replacing an older proxy's pin). */
int dp_attach(struct dataplane *dp);
/* Attach drv_tc_pod to one pod-side device (idempotent). */
int dp_attach_pod_dev(struct dataplane *dp, const char *ifname);
/* The reconcile's step for one pod-side device: attach drv_tc_pod unless this proxy's
 * program is there already (and record an attachment found unrecorded). 1: attached now,
 * 0: was there, or -errno. */
int dp_ensure_pod_dev(struct dataplane *dp, const char *ifname);
/* Drop drv_attach1's record of a device (it went away). */
void dp_attach_forget(struct dataplane *dp, int ifindex);
/* Drop every drv_attach1 record whose device no longer exists. How many, or -errno. */
int dp_attach_prune(struct dataplane *dp);
/* Close userspace handles; attachments and pins stay. NULL-tolerant. */
void dp_close(struct dataplane *dp);

enum dp_map {
	DP_MAP_SVC,
	DP_MAP_BACKEND,
	DP_MAP_REVNAT,
	DP_MAP_CT,
	DP_MAP_AFFINITY,
	DP_MAP_SOCKRNAT,
	DP_MAP_MAGLEV,
	DP_MAP_NODEIP,
	DP_MAP_STATS,
	DP_MAP_NAMES,
	DP_MAP_ATTACH,
	DP_MAP_EPOCH,
	DP_MAP_PKTS,
	DP_MAP_ENDPOINT,
	DP_MAP_SOCKUDP,
	DP_MAP_SRCRANGE,
	DP_MAP_FRAG,
	DP_MAP_DRAIN,
	DP_MAP_NEXTHOP,
	DP_MAP_COUNT,
};
int dp_map_fd(const struct dataplane *dp, enum dp_map which);
/* The descriptors lbmap writes through. */
struct lbmap_fds;
void dp_lbmap_fds(const struct dataplane *dp, struct lbmap_fds *fds);
/* A loaded program by name (drv_tc_pod, drv_tc_node, drv_xdp_lb, drv_connect4, ...), for
 * BPF_PROG_TEST_RUN fixtures and benchmarks; -ENOENT if unknown. */
int dp_prog_fd(const struct dataplane *dp, const char *name);

/* UDP sockets connected through the socket LB to one of the given backends: those a process
 * holds are connected to their service again (a live backend, no error for the application);
 * the rest are destroyed, in every network namespace of the host. Returns the number
 * destroyed or -errno. */
struct lb_backend;
long dp_destroy_udp_sockets(struct dataplane *dp, const struct lb_backend *bes, size_t n);

/* Remove every attachment (cgroup links, tc filters, XDP programs, clsact qdiscs drover
 * created) and every pin under pin_root. Safe to run when nothing is installed. */
int dp_uninstall(const char *pin_root);

/* The cgroup v2 mount point: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a
 * hybrid one (cg_layout_detect's). Returns 0 or -errno (-ENOENT: none mounted). */
int dp_cgroup2_root(char *buf, size_t len);

#endif
