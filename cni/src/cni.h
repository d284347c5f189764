/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-cni: one plugin run (CNI spec 1.0.0/1.1.0: ADD, DEL, CHECK, VERSION, STATUS, GC).
 * main.c reads the environment and stdin, checks them and writes the result or the spec's
 * error object; net.c wires a pod (veth pair, addresses, routes) and the built-in IPAM;
 * delegate.c runs a delegated IPAM plugin.
 */
#ifndef DROVER_CNI_H
#define DROVER_CNI_H

#include <stddef.h>
#include <stdint.h>

#include "k8s_jv.h"

/* The spec's well-known error codes */
enum {
	CNI_ERR_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	/* drover-cni's own (100+) */
	CNI_ERR_IPAM_EXHAUSTED = 100,
	CNI_ERR_INTERFACE_EXISTS = 101,
	CNI_ERR_NETLINK = 102,
	CNI_ERR_DELEGATE = 103,
	CNI_ERR_CHECK = 104,
};

struct cni {
	const char *command, *container_id, *netns, *ifname, *args, *path;
	const char *stdin_buf; /* the configuration exactly as received (for delegates) */
	size_t stdin_len;
	struct jv_doc *doc;
	struct jv *conf;
	const char *version; /* the configuration's cniVersion */
	const char *name;
	/* the error, when a step fails */
	int code;
	char msg[512];
	char details[1024];
	struct jv *delegate_err; /* a delegate's own error object, passed through as is */
	struct jv *result;	 /* what ADD prints */
};

int cni_fail(struct cni *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cni_detail(struct cni *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "1.0.0" < "1.1.0": strcmp-like on dotted numbers */
int cni_version_cmp(const char *a, const char *b);

/* the verbs (0 or -1 with the error in c) */
int cni_add(struct cni *c);
int cni_del(struct cni *c);
int cni_check(struct cni *c);
int cni_gc(struct cni *c);
int cni_status(struct cni *c);

/* Run the plugin TYPE from CNI_PATH with the same environment (CNI_COMMAND replaced by
 * command) and the same stdin; on success *out is its parsed stdout (NULL if empty). -1
 * with its error copied into c on failure. */
int cni_delegate(struct cni *c, const char *type, const char *command, struct jv **out);

/* The host-side veth name of (network, container, ifname): "drv" + 12 hex digits. */
void cni_host_ifname(const char *network, const char *id, const char *ifname, char out[16]);

/* dataplane.c: drover's eBPF dataplane, when the configuration names its pin root
 * ("drover": {"pinRoot": DIR}). Each returns 0 when that is not configured or nothing is
 * pinned there (the pod is then wired without it), 0 when done, -1 with the error in c. */
struct cni_ep {
	uint32_t addr; /* the pod's IPv4 address, host byte order */
	int host_ifindex;
	const char *host_name;
	uint8_t host_mac[6], pod_mac[6];
};
/* Validate the configuration's drover member (before anything is wired). */
int cni_dp_conf(struct cni *c);
/* Attach the pinned drv_tc_pod to the host side's clsact ingress, register the pod. */
int cni_dp_add(struct cni *c, const struct cni_ep *ep);
/* Forget the pod (by address and/or host ifindex, either may be 0); idempotent. */
int cni_dp_del(struct cni *c, int host_ifindex, uint32_t addr);
/* Verify the registration and the attachment. */
int cni_dp_check(struct cni *c, const struct cni_ep *ep);
/* Remove the entries of the released addresses and of host sides that no longer exist. */
int cni_dp_gc(struct cni *c, const uint32_t *released, size_t nreleased);

/* net.c's helpers shared with verbs.c */
struct ipam;
struct in_addr;
int cni_parse_addr(const char *s, uint32_t *out);
const char *cni_ipam_type(struct cni *c);
struct ipam *cni_ipam_open(struct cni *c, int fail_code);
int cni_open_netns(struct cni *c, int *fd);

#endif
