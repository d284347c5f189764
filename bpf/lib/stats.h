/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stats.h: per-CPU counters per (frontend, path, kind); drop reasons double as kinds. */
#ifndef DRV_BPF_STATS_H
#define DRV_BPF_STATS_H

#include "maps.h"

static __always_inline void drv_count(__u16 rev_nat, __u8 path, __u8 kind, __u64 bytes)
{
	struct drv_stats_key key = {.rev_nat = rev_nat, .path = path, .kind = kind};
	struct drv_stats_val *v, zero = {};

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
