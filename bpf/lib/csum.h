/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * csum.h: ones'-complement checksum arithmetic for the XDP and tc programs (cheaper than the
 * bpf_l3/l4_csum_replace helpers, which XDP does not have anyway). Incremental updates follow
 * RFC 1624: HC' = ~(~HC + ~m + m').
 */
#ifndef DRV_BPF_CSUM_H
#define DRV_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 drv_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Replace a 32-bit field covered by *check (network-order sum). */
static __always_inline void drv_csum_replace4(__sum16 *check, __be32 from, __be32 to)
{
	__u64 sum = (__u16) ~*check;

	sum += (__u16) ~(from & 0xffff) + (__u16) ~(from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	*check = drv_csum_fold(sum);
}

static __always_inline void drv_csum_replace2(__sum16 *check, __be16 from, __be16 to)
{
	__u64 sum = (__u16) ~*check;

	sum += (__u16)~from;
	sum += to;
	*check = drv_csum_fold(sum);
}

#endif
