/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_proxy: the eBPF service proxy (userspace/proxy, kube-proxy's job) on a thread of the
 * agent, fed by List-Watch of Services and EndpointSlices through the agent's own client.
 *
 * Per node, so that several agents on one machine (`drover up`: one per node namespace) do
 * not fight over one dataplane: the pins under the agent's --pin-root; the socket LB attached
 * to the node's own subtree of the cgroup v2 tree (<v2 mount>/<--cgroup-parent>, where the
 * pods' cgroups are; /sys/fs/cgroup/unified on a hybrid host, /sys/fs/cgroup on a pure v2
 * one); NodePorts answered on the node's InternalIP, with tc and XDP on the interface that
 * holds it. Pods are wired (CNI ADD) only once the proxy's first sync is in the kernel and
 * drv_tc_pod is pinned: drover-cni then attaches every pod veth and registers the pod in
 * the endpoint map (agent_proxy_state gates agent.c's pod sync).
 *
 * The proxy thread owns no signal: SIGINT/SIGTERM stay the agent's main thread's, and stop
 * reaches the proxy through its stop eventfd (proxy_stop). The dataplane outlives the agent,
 * as it outlives `drover proxy`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent_int.h"
#include "cgroup.h"
#include "proxy.h"
#include "source.h"

struct agent_proxy {
	struct proxy_config c;
	pthread_t th;
	atomic_int state; /* 0 syncing, 1 ready, -errno: the proxy ended with that error */
	bool waited;	  /* "waiting" said once */
	char dev[IF_NAMESIZE];
	char cgroup[PATH_MAX];
};

static void on_ready(void *arg)
{
	struct agent_proxy *px = arg;

	atomic_store(&px->state, 1);
}

static void *run(void *arg)
{
	struct agent_proxy *px = arg;
	sigset_t mask;
	int rc;

	/* the main thread's: its handlers set the stop flag agent_run polls */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	rc = proxy_run(&px->c);
	if (rc) {
		log_error(AGENT_COMP,
			  "service proxy: %s (--no-proxy when another proxy serves the node)",
			  strerror(-rc));
		atomic_store(&px->state, rc);
	}
	return NULL;
}

/* The interface holding ip (the node's InternalIP): NodePort traffic arrives there. */
static int node_dev(const char *ip, char *dev)
{
	struct ifaddrs *ifa, *i;
	struct in_addr want;
	int rc = -ENODEV;

	if (inet_pton(AF_INET, ip, &want) != 1)
		return -EINVAL;
	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i && rc; i = i->ifa_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;

		if (sin && sin->sin_family == AF_INET && sin->sin_addr.s_addr == want.s_addr &&
		    strlen(i->ifa_name) < IF_NAMESIZE) {
			snprintf(dev, IF_NAMESIZE, "%s", i->ifa_name);
			rc = 0;
		}
	}
	freeifaddrs(ifa);
	return rc;
}

/* The node's subtree of the cgroup v2 tree (created now if the pods have not made it yet),
 * or -ENOENT when the host has no v2 tree (the socket LB is then off; tc serves the pods). */
static int node_cgroup(const struct agent *a, char *buf, size_t len)
{
	struct cg *cg = NULL;
	int rc = 0;

	if (!a->cg_layout->unified)
		rc = -ENOENT;
	else if (!(cg = cg_create(a->cg_layout, a->cfg->cgroup_parent)))
		rc = -errno;
	else if (cg->unified_dir < 0)
		rc = -ENOENT;
	else
		snprintf(buf, len, "%s", cg->dir[cg->unified_dir]);
	cg_free(cg);
	return rc;
}

int agent_proxy_start(struct agent *a)
{
	const struct agent_config *cfg = a->cfg;
	struct agent_proxy *px;
	struct in_addr ip;
	int rc;

	if (cfg->no_proxy) {
		log_info(AGENT_COMP, "--no-proxy: Services are left to another proxy");
		return 0;
	}
	px = calloc(1, sizeof(*px));
	if (!px)
		return -ENOMEM;
	proxy_config_defaults(&px->c);
	px->c.node_name = cfg->node;
	px->c.dp.pin_root = cfg->pin_root;
	px->c.dp.telemetry = !cfg->no_telemetry;
	px->c.dp.tl_max_series = cfg->tl_max_series;
	px->c.dp.tl_ringbuf_bytes = cfg->tl_ringbuf_bytes;
	if (inet_pton(AF_INET, a->node_ip, &ip) == 1) {
		px->c.node_ips[0] = ip.s_addr;
		px->c.nnode_ips = 1;
	}
	if (node_dev(a->node_ip, px->dev) == 0) {
		px->c.node_devs[0] = px->dev;
		px->c.nnode_devs = 1;
	} else {
		log_warn(AGENT_COMP,
			 "no interface holds the node IP %s: NodePorts answer only to traffic "
			 "that reaches the node's socket LB",
			 a->node_ip);
	}
	rc = node_cgroup(a, px->cgroup, sizeof(px->cgroup));
	if (rc == -ENOENT) {
		log_warn(AGENT_COMP, "no cgroup v2 tree: socket LB off, tc serves the pods");
		px->c.dp.sock_lb = false;
	} else if (rc) {
		log_error(AGENT_COMP, "cgroup %s: %s", cfg->cgroup_parent, strerror(-rc));
		free(px);
		return rc;
	} else {
		px->c.dp.cgroup = px->cgroup;
	}
	px->c.on_ready = on_ready;
	px->c.ready_arg = px;
	px->c.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (px->c.stop_fd < 0) {
		rc = -errno;
		free(px);
		return rc;
	}
	log_route_libbpf();
	px->c.source = source_api_new_client(a->kc);
	rc = px->c.source ? -pthread_create(&px->th, NULL, run, px) : -ENOMEM;
	if (rc) {
		source_free(px->c.source);
		close(px->c.stop_fd);
		free(px);
		return rc;
	}
	log_info(AGENT_COMP, "service proxy: pins %s, cgroup %s, NodePort on %s %s", cfg->pin_root,
		 px->c.dp.sock_lb ? px->cgroup : "(no socket LB)",
		 px->c.nnode_devs ? px->dev : "(no device)", a->node_ip);
	a->px = px;
	return 0;
}

int agent_proxy_state(struct agent *a)
{
	struct agent_proxy *px = a->px;
	int st;

	if (!px)
		return 1; /* --no-proxy */
	st = atomic_load(&px->state);
	if (st == 0 && !px->waited) {
		log_info(AGENT_COMP,
			 "node %s: waiting for the service proxy's first sync before "
			 "wiring pods",
			 a->cfg->node);
		px->waited = true;
	}
	return st;
}

const char *agent_proxy_pin_root(const struct agent *a)
{
	return a->px ? a->cfg->pin_root : NULL;
}

void agent_proxy_stop(struct agent *a)
{
	struct agent_proxy *px = a->px;

	if (!px)
		return;
	proxy_stop(&px->c);
	pthread_join(px->th, NULL);
	close(px->c.stop_fd);
	free(px);
	a->px = NULL;
}
