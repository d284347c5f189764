/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_agent: `drover agent --kubeconfig F --node NAME [options]`: the node agent (userspace/
 * agent) until SIGINT or SIGTERM. Bad flags: one line and exit 2.
 */
#ifdef HAVE_DROVER_AGENT
#include <stdio.h>

#include "agent.h"
#include "cli.h"
#include "log.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: drover agent --kubeconfig FILE --node NAME [options]\n"
	    "  --bootstrap-kubeconfig F  when FILE has no usable client certificate, join\n"
	    "                        with F (a bootstrap token) and write FILE, as the kubelet\n"
	    "  --root DIR            state: sandboxes, pod dirs and logs (default " AGENT_ROOT ")\n"
	    "  --image-root DIR      the image store (default /var/lib/drover/images)\n"
	    "  --cni-bin-dir DIR     CNI plugins (default: drover's own directory, then "
	    "/usr/lib/cni)\n"
	    "  --cni-conf FILE       the CNI network configuration (default: a drover-cni one\n"
	    "                        written under ROOT/cni from the node's podCIDR)\n"
	    "  --cgroup-parent PATH  cgroup of the pods (default drover/NAME)\n"
	    "  --node-ip IP          the node's InternalIP (default: its first IPv4 address)\n"
	    "  --labels k=v,...      extra node labels\n"
	    "  --port PORT           the kubelet endpoint (HTTPS: logs, exec; default 10250)\n"
	    "  --pin-root DIR        the service proxy's BPF pins, this node's own\n"
	    "                        (default /sys/fs/bpf/drover)\n"
	    "  --no-proxy            no service proxy (another one, e.g. kube-proxy, serves\n"
	    "                        the node)\n"
	    "  --cluster-domain D    the cluster DNS zone (default cluster.local)\n"
	    "  --cluster-dns IP      the pods' nameserver, the kube-dns Service\n"
	    "                        (default 10.96.0.10)\n"
	    "  --no-dns              serve no cluster DNS on the node's address (port 53)\n"
	    "  --dns-upstream A[:P]  where the cluster DNS forwards names outside the\n"
	    "                        cluster (repeatable; default: the nameservers of\n"
	    "                        /etc/resolv.conf); none: answer them REFUSED\n"
	    "  --telemetry, --no-telemetry  count the pods' TCP connections and HTTP/1.x\n"
	    "                        requests in the kernel (default on)\n"
	    "  --telemetry-max-series N  series each telemetry map holds (default 16384)\n"
	    "  --telemetry-ringbuf-bytes N  flow event ring buffer, a power of two of at\n"
	    "                        least a page (default 262144)\n"
	    "  --pod-start-workers N  new pods started side by side (1-%d, default %d)\n"
	    "  --log-level LEVEL     error, warn, info (default) or debug\n",
	    AGENT_START_WORKERS_MAX, AGENT_START_WORKERS);
}

int cmd_agent(int argc, char **argv)
{
	struct agent_config cfg;
	char err[512] = "";
	int rc = agent_config_parse(argc, argv, &cfg, err, sizeof(err));

	if (rc == 1) {
		usage(stdout);
		agent_config_free(&cfg);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "drover agent: %s\n", err);
		agent_config_free(&cfg);
		return 2;
	}
	log_set_level(cfg.log_level);
	cfg.version = DROVER_VERSION;
	cli_catch_stop();
	rc = agent_run(&cfg, cli_stopping);
	agent_config_free(&cfg);
	return rc ? 1 : 0;
}
#endif
