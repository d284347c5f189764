/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_proxy: `drover proxy [flags]` and `drover proxy uninstall`. */
#include "cli.h"

#ifdef HAVE_DROVER_PROXY
#include "dataplane.h"
#include "log.h"
#include "maglev.h"
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void proxy_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: drover proxy --manifests PATH [options]\n"
	    "       drover proxy --kubeconfig FILE [options]\n"
	    "       drover proxy uninstall [--pin-root DIR]\n"
	    "\n"
	    "Programs the kernel's eBPF service load balancer from Kubernetes Service and\n"
	    "EndpointSlice objects: read from manifests, or watched on an API server (as\n"
	    "kube-proxy: every namespace, except objects labelled\n"
	    "service.kubernetes.io/service-proxy-name or service.kubernetes.io/headless).\n"
	    "Nothing in the kernel changes until the source has the whole picture. The\n"
	    "dataplane outlives the process.\n"
	    "\n"
	    "  --manifests PATH        a file or a directory of .yaml/.yml/.json, re-read on\n"
	    "                          change and on SIGHUP; an invalid one changes nothing\n"
	    "  --kubeconfig FILE       watch the API server of FILE's current context; \"\"\n"
	    "                          for the default ($KUBECONFIG, then ~/.kube/config).\n"
	    "                          An object the proxy cannot serve is logged and skipped.\n"
	    "                          Exactly one of --manifests and --kubeconfig.\n"
	    "  --node NAME             this node's name (endpoints' nodeName; Local policies)\n"
	    "  --pin-root DIR          where maps and links are pinned [/sys/fs/bpf/drover]\n"
	    "  --cgroup PATH           cgroup v2 directory for the socket LB [cgroup v2 root]\n"
	    "  --no-socket-lb          do not attach the socket-level load balancer\n"
	    "  --no-tc-lb              do not attach drv_tc_pod to pod devices\n"
	    "  --device DEV            node device for NodePort / external traffic (tc + XDP);\n"
	    "                          repeatable\n"
	    "  --pod-device DEV        pod-side device to attach drv_tc_pod to; repeatable\n"
	    "  --pod-device-prefix P   attach drv_tc_pod to every device named P*, also new ones\n"
	    "  --xdp-mode MODE         auto|native|generic|off [auto: generic on veth]\n"
	    "  --node-ip IP            node address answering NodePorts; repeatable\n"
	    "                          [every non-loopback IPv4 address]\n"
	    "  --snat-ip IP            masquerade source for external IPs [first --device addr]\n"
	    "  --snat-ports MIN-MAX    masquerade source ports [as many as\n"
	    "                          net.ipv4.ip_local_port_range, outside it]\n"
	    "  --nodeport-range A-B    nodePorts a manifest may use, as the API server's\n"
	    "                          --nodeport-range [30000-32767]\n"
	    "  --maglev-table-size M   largest Maglev table (a prime: 251 ... 131071) [16381]\n"
	    "  --map-size MAP=N        entries of svc|backend|revnat|ct|affinity|sock-rnat|\n"
	    "                          maglev|stats|endpoint|attach; repeatable\n"
	    "  --ct-timeout-tcp S      idle TCP flow lifetime in conntrack [21600]\n"
	    "  --ct-timeout-other S    idle UDP flow lifetime in conntrack [60]\n"
	    "  --gc-interval S         conntrack garbage collection period, 0 = none [30]\n"
	    "  --reconcile-interval S  attach pod devices that lack drv_tc_pod, forget gone\n"
	    "                          ones, retry frontends that did not fit [10]\n"
	    "  --no-fib-redirect       let the kernel route translated packets (no bpf_redirect)\n"
	    "  --telemetry, --no-telemetry\n"
	    "                          count the pods' TCP connections and HTTP/1.x requests\n"
	    "                          in the kernel (maps drv_tl*; a kernel that cannot runs\n"
	    "                          without, with a warning) [on]\n"
	    "  --telemetry-max-series N  series (client, server, method, code) each of the TCP\n"
	    "                          and HTTP maps hold; more count as overflows [16384]\n"
	    "  --telemetry-ringbuf-bytes N  size of the flow event ring buffer, a power of two\n"
	    "                          of at least a page [262144]\n"
	    "  --ready-file PATH       write the PID there once the first sync is in the kernel\n"
	    "  --log-level LEVEL       error|warn|info|debug [info]\n");
}

static int parse_map_size(struct proxy_config *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	uint32_t v, *dst = NULL;
	size_t klen;

	if (!eq || cli_parse_uint(eq + 1, 1, 1u << 26, &v))
		return -EINVAL;
	klen = (size_t)(eq - arg);
#define MAPSZ(name, field)                                     \
	if (klen == strlen(name) && !strncmp(arg, name, klen)) \
		dst = &c->dp.sizes.field;
	MAPSZ("svc", svc)
	MAPSZ("backend", backend)
	MAPSZ("revnat", revnat)
	MAPSZ("ct", ct)
	MAPSZ("affinity", affinity)
	MAPSZ("sock-rnat", sock_rnat)
	MAPSZ("maglev", maglev_outer)
	MAPSZ("stats", stats)
	MAPSZ("endpoint", endpoint)
	MAPSZ("attach", attach)
#undef MAPSZ
	if (!dst)
		return -EINVAL;
	*dst = v;
	return 0;
}

static int bad(const char *flag, const char *val)
{
	fprintf(stderr, "drover proxy: invalid value for %s: '%s'\n", flag, val);
	return 2;
}

int cmd_proxy(int argc, char **argv)
{
	enum {
		O_MANIFESTS = 256,
		O_KUBECONFIG,
		O_NODE,
		O_PIN_ROOT,
		O_CGROUP,
		O_NO_SOCK,
		O_NO_TC,
		O_DEVICE,
		O_POD_DEVICE,
		O_POD_PREFIX,
		O_XDP_MODE,
		O_NODE_IP,
		O_SNAT_IP,
		O_SNAT_PORTS,
		O_NODEPORT_RANGE,
		O_MAGLEV,
		O_MAP_SIZE,
		O_CT_TCP,
		O_CT_OTHER,
		O_GC,
		O_RECONCILE,
		O_NO_FIB,
		O_TL,
		O_NO_TL,
		O_TL_SERIES,
		O_TL_RINGBUF,
		O_READY,
		O_LOG,
		O_HELP,
	};
	static const struct option opts[] = {
	    {"manifests", required_argument, 0, O_MANIFESTS},
	    {"kubeconfig", required_argument, 0, O_KUBECONFIG},
	    {"node", required_argument, 0, O_NODE},
	    {"pin-root", required_argument, 0, O_PIN_ROOT},
	    {"cgroup", required_argument, 0, O_CGROUP},
	    {"no-socket-lb", no_argument, 0, O_NO_SOCK},
	    {"no-tc-lb", no_argument, 0, O_NO_TC},
	    {"device", required_argument, 0, O_DEVICE},
	    {"pod-device", required_argument, 0, O_POD_DEVICE},
	    {"pod-device-prefix", required_argument, 0, O_POD_PREFIX},
	    {"xdp-mode", required_argument, 0, O_XDP_MODE},
	    {"node-ip", required_argument, 0, O_NODE_IP},
	    {"snat-ip", required_argument, 0, O_SNAT_IP},
	    {"snat-ports", required_argument, 0, O_SNAT_PORTS},
	    {"nodeport-range", required_argument, 0, O_NODEPORT_RANGE},
	    {"maglev-table-size", required_argument, 0, O_MAGLEV},
	    {"map-size", required_argument, 0, O_MAP_SIZE},
	    {"ct-timeout-tcp", required_argument, 0, O_CT_TCP},
	    {"ct-timeout-other", required_argument, 0, O_CT_OTHER},
	    {"gc-interval", required_argument, 0, O_GC},
	    {"reconcile-interval", required_argument, 0, O_RECONCILE},
	    {"no-fib-redirect", no_argument, 0, O_NO_FIB},
	    {"telemetry", no_argument, 0, O_TL},
	    {"no-telemetry", no_argument, 0, O_NO_TL},
	    {"telemetry-max-series", required_argument, 0, O_TL_SERIES},
	    {"telemetry-ringbuf-bytes", required_argument, 0, O_TL_RINGBUF},
	    {"ready-file", required_argument, 0, O_READY},
	    {"log-level", required_argument, 0, O_LOG},
	    {"help", no_argument, 0, O_HELP},
	    {0, 0, 0, 0},
	};
	static struct proxy_config c;
	char hostname[256];
	uint32_t v, v2;
	struct in_addr a;
	int o, rc;

	proxy_config_defaults(&c);
	if (argc >= 2 && !strcmp(argv[1], "uninstall")) {
		const char *pin_root = NULL;

		optind = 2;
		while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
			if (o == O_PIN_ROOT)
				pin_root = optarg;
			else if (o == O_HELP) {
				proxy_usage(stdout);
				return 0;
			} else {
				proxy_usage(stderr);
				return 2;
			}
		}
		log_route_libbpf();
		return dp_uninstall(pin_root) ? 1 : 0;
	}
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_MANIFESTS:
			c.manifests = optarg;
			break;
		case O_KUBECONFIG:
			c.kubeconfig = optarg;
			break;
		case O_NODE:
			c.node_name = optarg;
			break;
		case O_PIN_ROOT:
			c.dp.pin_root = optarg;
			break;
		case O_CGROUP:
			c.dp.cgroup = optarg;
			break;
		case O_NO_SOCK:
			c.dp.sock_lb = false;
			break;
		case O_NO_TC:
			c.dp.tc_lb = false;
			break;
		case O_DEVICE:
			if (c.nnode_devs == PROXY_MAX_DEVS)
				return bad("--device", optarg);
			c.node_devs[c.nnode_devs++] = optarg;
			break;
		case O_POD_DEVICE:
			if (c.npod_devs == PROXY_MAX_DEVS)
				return bad("--pod-device", optarg);
			c.pod_devs[c.npod_devs++] = optarg;
			break;
		case O_POD_PREFIX:
			c.pod_dev_prefix = optarg;
			break;
		case O_XDP_MODE:
			if (!strcmp(optarg, "auto"))
				c.dp.xdp_mode = DP_XDP_AUTO;
			else if (!strcmp(optarg, "native"))
				c.dp.xdp_mode = DP_XDP_NATIVE;
			else if (!strcmp(optarg, "generic"))
				c.dp.xdp_mode = DP_XDP_GENERIC;
			else if (!strcmp(optarg, "off"))
				c.dp.xdp_mode = DP_XDP_OFF;
			else
				return bad("--xdp-mode", optarg);
			break;
		case O_NODE_IP:
			if (inet_pton(AF_INET, optarg, &a) != 1 || c.nnode_ips == PROXY_MAX_IPS)
				return bad("--node-ip", optarg);
			c.node_ips[c.nnode_ips++] = a.s_addr;
			break;
		case O_SNAT_IP:
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return bad("--snat-ip", optarg);
			c.dp.cfg.snat_addr = a.s_addr;
			break;
		case O_SNAT_PORTS:
			if (sscanf(optarg, "%u-%u", &v, &v2) != 2 || v < 1024 || v2 > 65535 ||
			    v > v2)
				return bad("--snat-ports", optarg);
			c.dp.cfg.snat_port_min = (uint16_t)v;
			c.dp.cfg.snat_port_max = (uint16_t)v2;
			break;
		case O_NODEPORT_RANGE: {
			char extra;

			if (sscanf(optarg, "%u-%u%c", &v, &v2, &extra) != 2 || v < 1 ||
			    v2 > 65535 || v > v2)
				return bad("--nodeport-range", optarg);
			c.nodeport_min = (uint16_t)v;
			c.nodeport_max = (uint16_t)v2;
			break;
		}
		case O_MAGLEV:
			if (cli_parse_uint(optarg, 1, DRV_MAGLEV_MAX_TABLE, &v) ||
			    !maglev_size_valid(v))
				return bad(
				    "--maglev-table-size (one of 251 509 1021 2039 4093 8191 "
				    "16381 32749 65521 131071)",
				    optarg);
			c.maglev_max = v;
			break;
		case O_MAP_SIZE:
			if (parse_map_size(&c, optarg))
				return bad("--map-size", optarg);
			break;
		case O_CT_TCP:
			if (cli_parse_uint(optarg, 1, 7 * 86400, &c.dp.cfg.ct_tcp_timeout_s))
				return bad("--ct-timeout-tcp", optarg);
			break;
		case O_CT_OTHER:
			if (cli_parse_uint(optarg, 1, 86400, &c.dp.cfg.ct_other_timeout_s))
				return bad("--ct-timeout-other", optarg);
			break;
		case O_GC:
			if (cli_parse_uint(optarg, 0, 86400, &v))
				return bad("--gc-interval", optarg);
			c.gc_interval_s = v;
			break;
		case O_RECONCILE:
			if (cli_parse_uint(optarg, 1, 3600, &v))
				return bad("--reconcile-interval", optarg);
			c.reconcile_interval_s = v;
			break;
		case O_NO_FIB:
			c.dp.cfg.enable_fib_redirect = 0;
			break;
		case O_TL:
		case O_NO_TL:
			c.dp.telemetry = o == O_TL;
			break;
		case O_TL_SERIES:
			if (dp_tl_parse_series(optarg, &c.dp.tl_max_series))
				return bad("--telemetry-max-series", optarg);
			break;
		case O_TL_RINGBUF:
			if (dp_tl_parse_ringbuf(optarg, &c.dp.tl_ringbuf_bytes))
				return bad(
				    "--telemetry-ringbuf-bytes (a power of two, at least a page)",
				    optarg);
			break;
		case O_READY:
			c.ready_file = optarg;
			break;
		case O_LOG:
			if (cli_log_level("proxy", optarg))
				return 2;
			break;
		case O_HELP:
			proxy_usage(stdout);
			return 0;
		default:
			proxy_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drover proxy: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!c.manifests == !c.kubeconfig) {
		fprintf(stderr, "drover proxy: give exactly one source: --manifests PATH or "
				"--kubeconfig FILE\n");
		return 2;
	}
	if (!c.node_name && gethostname(hostname, sizeof(hostname)) == 0)
		c.node_name = hostname;
	log_route_libbpf();
	rc = proxy_run(&c);
	return rc ? 1 : 0;
}
#endif
