/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stats.h: per-CPU counters per (frontend, path, kind); drop reasons double as kinds.
 * Forwarded and reply packets of tc and XDP go to the per-CPU array drv_pkts2, the rest to
 * the per-CPU hash drv_stats1 (see drover_abi.h). */
#ifndef DRV_BPF_STATS_H
#define DRV_BPF_STATS_H

#include "maps.h"

static __always_inline void drv_count(__u16 rev_nat, __u8 path, __u8 kind, __u64 bytes)
{
	struct drv_stats_key key = {.rev_nat = rev_nat, .path = path, .kind = kind};
	struct drv_stats_val *v, zero = {};

	if (((kind == DRV_STAT_FWD || kind == DRV_STAT_REPLY) &&
	     (path == DRV_PATH_TC || path == DRV_PATH_XDP)) ||
	    (kind == DRV_STAT_CONNECT && path == DRV_PATH_SOCK)) {
		__u32 idx = rev_nat;
		struct drv_fe_pkts *c = bpf_map_lookup_elem(&drv_pkts2, &idx);

		if (!c)
			return;
		if (path == DRV_PATH_SOCK) {
			c->sock_connects++;
		} else if (path == DRV_PATH_TC && kind == DRV_STAT_FWD) {
			c->tc_fwd_packets++;
			c->tc_fwd_bytes += bytes;
		} else if (path == DRV_PATH_TC) {
			c->tc_reply_packets++;
			c->tc_reply_bytes += bytes;
		} else if (kind == DRV_STAT_FWD) {
			c->xdp_fwd_packets++;
			c->xdp_fwd_bytes += bytes;
		} else {
			c->xdp_reply_packets++;
			c->xdp_reply_bytes += bytes;
		}
		return;
	}

	v = bpf_map_lookup_elem(&drv_stats1, &key);
	if (!v) {
		/* First event of this kind: insert, then count. A full map loses the count,
		 * never the packet. */
		bpf_map_update_elem(&drv_stats1, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&drv_stats1, &key);
		if (!v)
			return;
	}
	v->packets++;
	v->bytes += bytes;
}

#endif
