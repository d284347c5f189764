/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_resolv: a pod's /etc/resolv.conf as the kubelet makes it (pkg/kubelet/network/dns,
 * GetPodDNS): the dnsPolicy picks the base (ClusterFirst: the cluster DNS, the namespace's
 * search path, ndots:5; Default: the node's resolv.conf; None: nothing), then spec.dnsConfig
 * is merged in (appendDNSConfig). Pure: the node's resolv.conf comes in as text.
 */
#ifndef DROVER_AGENT_RESOLV_H
#define DROVER_AGENT_RESOLV_H

#include <stddef.h>

struct jv;

#define RESOLV_MAX_NAMESERVERS 3   /* validation.MaxDNSNameservers */
#define RESOLV_MAX_SEARCHES    32  /* validation.MaxDNSSearchPaths */
#define RESOLV_ITEM_MAX	       256 /* a word of the file, with its NUL */

struct resolv_in {
	const struct jv *pod;	    /* spec.dnsPolicy, spec.hostNetwork, spec.dnsConfig */
	const char *ns;		    /* the pod's namespace */
	const char *cluster_domain; /* kubelet --cluster-domain */
	const char *cluster_dns;    /* kubelet --cluster-dns; NULL or "": the node's */
	const char *host_conf;	    /* the node's resolv.conf text, NULL: none */
};

/* The file's text into out (NUL-terminated). 0, or -ENOSPC. */
int resolv_build(const struct resolv_in *in, char *out, size_t size);

/* The nameservers of a resolv.conf text (NULL: none), in order, without duplicates: at most
 * max into out; how many. */
size_t resolv_nameservers(const char *text, char (*out)[RESOLV_ITEM_MAX], size_t max);
/* The node's /etc/resolv.conf (at most 64 KiB), malloc'd; NULL when there is none. */
char *resolv_host_read(void);

#endif
