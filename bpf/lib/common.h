/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * common.h: the first include of every drover BPF program. Kernel types come from the
 * vmlinux.h generated from the running kernel's BTF (CO-RE); the constants vmlinux.h
 * lacks (they are #defines in the UAPI headers) are defined here, once.
 */
#ifndef DRV_BPF_COMMON_H
#define DRV_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "drover_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* UAPI constants absent from vmlinux.h */
#define ETH_P_IP	  0x0800
#define ETH_ALEN	  6
#define ETH_HLEN	  14
#define IP_DF		  0x4000
#define IP_MF		  0x2000
#define IP_OFFSET	  0x1fff
#define TC_ACT_OK	  0
#define TC_ACT_SHOT	  2
#define AF_INET		  2
#define AF_INET6	  10
#define SOCK_STREAM	  1
#define SOCK_DGRAM	  2
#define ECONNREFUSED	  111
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define IPPROTO_ICMP_	  1

#define NSEC_PER_SEC 1000000000ULL

/* Load-time configuration: userspace sets it through skel->rodata before load. */
const volatile struct drv_config drv_cfg = DRV_CONFIG_DEFAULTS;

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* CLOCK_MONOTONIC_COARSE in ns, as bpf_ktime_get_coarse_ns() reads it, for a fraction of its
 * cost (the helper call was ~25 ns of an established flow's ~220 in pktbench): the coarse
 * clock moves once per tick, as jiffies do, so its reading is kept with the jiffies it was
 * taken at and taken again only when they moved; bpf_jiffies64() is inlined by the verifier.
 * The pair is shared by the CPUs, unlocked: a reader racing a writer may pair new jiffies
 * with the previous reading, one tick old, as a coarse reading taken just before the tick
 * is. Readers comparing times allow a time a little ahead of theirs (drv_ct_alive). */
static __u64 drv_clk_jiffies, drv_clk_ns;

static __always_inline __u64 drv_now_coarse(void)
{
	__u64 j = bpf_jiffies64();

	if (j != drv_clk_jiffies) {
		drv_clk_ns = bpf_ktime_get_coarse_ns();
		drv_clk_jiffies = j;
	}
	return drv_clk_ns;
}

#endif
