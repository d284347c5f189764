/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy: `drover proxy`, the event loop that ties a source (manifests, or a watch of the API
 * server), the model, the map layer and the dataplane together.
 *
 *   source --(model_set/del)--> model --(model_commit)--> lbmap --> pinned maps
 *
 * One thread owns the model and the maps; the loop waits on the source's descriptor (and
 * timeout), a signalfd (SIGHUP: reload, SIGINT/SIGTERM: exit leaving the dataplane in
 * place), a netlink socket (new pod devices to attach) and a timer (conntrack garbage
 * collection, retries). Embedded in another process (drover agent runs it on a thread of
 * its own), the caller gives a stop eventfd instead: the loop then leaves the process's
 * signals alone and returns once proxy_stop() was called. Start-up: load, adopt what is
 * pinned, then wait until the source has the whole picture before the first (full) commit
 * and the attachments; meanwhile whatever an earlier proxy left in the kernel keeps
 * serving.
 */
#ifndef DROVER_PROXY_H
#define DROVER_PROXY_H

#include "dataplane.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_MAX_DEVS 64
#define PROXY_MAX_IPS  64

struct proxy_source;

struct proxy_config {
	/* the source: exactly one of */
	const char *manifests;	     /* a manifest file or directory */
	const char *kubeconfig;	     /* the API server of a kubeconfig; "": the default one */
	struct proxy_source *source; /* one the caller made (source.h; the agent's: over its own
				      * client), which proxy_run frees, also when it fails */
	const char *node_name;
	struct dp_opts dp;
	const char *node_devs[PROXY_MAX_DEVS];
	size_t nnode_devs;
	const char *pod_devs[PROXY_MAX_DEVS];
	size_t npod_devs;
	const char *pod_dev_prefix;	  /* attach drv_tc_pod to every device starting with this */
	uint32_t node_ips[PROXY_MAX_IPS]; /* network order; none: every non-loopback IPv4 */
	size_t nnode_ips;
	uint32_t maglev_max;
	/* the manifest source's NodePort range (the API server checks its own) */
	uint16_t nodeport_min, nodeport_max;
	unsigned gc_interval_s;
	/* pod devices are reconciled with the links that exist (and frontends that did not
	 * fit retried) this often; 0: 10 s */
	unsigned reconcile_interval_s;
	const char *ready_file; /* written once the first sync is in the kernel (for scripts) */
	/* Called on the proxy's thread once the first sync is in the kernel and drv_tc_pod is
	 * pinned for drover-cni (the embedding process starts wiring pods then). */
	void (*on_ready)(void *arg);
	void *ready_arg;
	/* -1 (the default): the loop owns SIGHUP, SIGINT and SIGTERM through a signalfd, as
	 * `drover proxy` wants. Otherwise an eventfd (EFD_NONBLOCK) of the caller's: signals
	 * stay the process's, and proxy_run returns 0 once proxy_stop() wrote to it. */
	int stop_fd;
};

void proxy_config_defaults(struct proxy_config *c);
/* Run until a signal (stop_fd -1) or proxy_stop(). 0, or -errno on a start-up failure
 * (logged; nothing changed in the kernel when the configuration was invalid). */
int proxy_run(struct proxy_config *c);
/* From any thread, also before proxy_run began: make proxy_run return. 0 or -errno. */
int proxy_stop(const struct proxy_config *c);

/* The masquerade source ports when the configuration names none (dp.cfg.snat_port_min 0). */
#define PROXY_PORT_RANGE_FILE "/proc/sys/net/ipv4/ip_local_port_range"
/* Read a port range file of that format into min..max: 0, -EINVAL when it holds no valid
 * range (nothing written), or -errno of the open. */
int proxy_local_port_range(const char *path, uint16_t *min, uint16_t *max);
/* The masquerade source ports: a range as large as the ephemeral one (eph_min-eph_max), in
 * 1024-65535 outside it and outside the NodePort range (np_min-np_max; 0-0: none), at the top
 * of the largest free stretch (smaller if none is large enough). 0, or -ENOSPC when no
 * stretch of 1024 ports is free. */
int proxy_snat_window(uint16_t eph_min, uint16_t eph_max, uint16_t np_min, uint16_t np_max,
		      uint16_t *min, uint16_t *max);

#endif
