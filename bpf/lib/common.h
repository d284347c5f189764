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

#endif
