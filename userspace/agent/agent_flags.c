/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_flags: `drover agent`'s command line into struct agent_config: required flags, label
 * syntax as kubelet's --node-labels (k=v,...; keys and values checked as Kubernetes checks
 * label keys and values), an IPv4 --node-ip, an absolute --pin-root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_dns_fwd.h"
#include "dataplane.h"

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int set(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

int agent_config_parse(int argc, char **argv, struct agent_config *c, char *err, size_t errlen)
{
	enum {
		O_KUBECONFIG = 256,
		O_NODE,
		O_ROOT,
		O_IMAGE_ROOT,
		O_CNI_BIN,
		O_CNI_CONF,
		O_CGROUP,
		O_NODE_IP,
		O_LABELS,
		O_LOG,
		O_PORT,
		O_PIN_ROOT,
		O_NO_PROXY,
		O_TL,
		O_NO_TL,
		O_TL_SERIES,
		O_TL_RINGBUF,
		O_BOOTSTRAP,
		O_CLUSTER_DOMAIN,
		O_CLUSTER_DNS,
		O_NO_DNS,
		O_DNS_UPSTREAM,
		O_START_WORKERS
	};
	static const struct option opts[] = {
	    {"kubeconfig", required_argument, NULL, O_KUBECONFIG},
	    {"node", required_argument, NULL, O_NODE},
	    {"root", required_argument, NULL, O_ROOT},
	    {"image-root", required_argument, NULL, O_IMAGE_ROOT},
	    {"cni-bin-dir", required_argument, NULL, O_CNI_BIN},
	    {"cni-conf", required_argument, NULL, O_CNI_CONF},
	    {"cgroup-parent", required_argument, NULL, O_CGROUP},
	    {"node-ip", required_argument, NULL, O_NODE_IP},
	    {"labels", required_argument, NULL, O_LABELS},
	    {"log-level", required_argument, NULL, O_LOG},
	    {"port", required_argument, NULL, O_PORT},
	    {"pin-root", required_argument, NULL, O_PIN_ROOT},
	    {"no-proxy", no_argument, NULL, O_NO_PROXY},
	    {"telemetry", no_argument, NULL, O_TL},
	    {"no-telemetry", no_argument, NULL, O_NO_TL},
	    {"telemetry-max-series", required_argument, NULL, O_TL_SERIES},
	    {"telemetry-ringbuf-bytes", required_argument, NULL, O_TL_RINGBUF},
	    {"bootstrap-kubeconfig", required_argument, NULL, O_BOOTSTRAP},
	    {"cluster-domain", required_argument, NULL, O_CLUSTER_DOMAIN},
	    {"cluster-dns", required_argument, NULL, O_CLUSTER_DNS},
	    {"no-dns", no_argument, NULL, O_NO_DNS},
	    {"dns-upstream", required_argument, NULL, O_DNS_UPSTREAM},
	    {"pod-start-workers", required_argument, NULL, O_START_WORKERS},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int o, rc = 0;

	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	c->tl_max_series = DRV_TL_SERIES_MAP_SIZE_DEFAULT;
	c->tl_ringbuf_bytes = DRV_TL_RINGBUF_SIZE_DEFAULT;
	c->start_workers = AGENT_START_WORKERS;
	optind = 1;
	opterr = 0;
	while (!rc && (o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case O_KUBECONFIG:
			rc = set(&c->kubeconfig, optarg);
			break;
		case O_NODE:
			if (!kubelet_dns_subdomain(optarg))
				rc = bad(err, errlen,
					 "--node: \"%s\" is not a DNS-1123 subdomain (lowercase "
					 "letters, digits, '-' and '.')",
					 optarg);
			else
				rc = set(&c->node, optarg);
			break;
		case O_ROOT:
			rc = set(&c->root, optarg);
			break;
		case O_IMAGE_ROOT:
			rc = set(&c->image_root, optarg);
			break;
		case O_CNI_BIN:
			rc = set(&c->cni_bin_dir, optarg);
			break;
		case O_CNI_CONF:
			rc = set(&c->cni_conf, optarg);
			break;
		case O_CGROUP:
			if (!optarg[0] || optarg[0] == '/' || strstr(optarg, ".."))
				rc = bad(err, errlen,
					 "--cgroup-parent %s: want a relative path without ..",
					 optarg);
			else
				rc = set(&c->cgroup_parent, optarg);
			break;
		case O_NODE_IP: {
			struct in_addr a;

			if (inet_pton(AF_INET, optarg, &a) != 1)
				rc = bad(err, errlen, "--node-ip %s: not an IPv4 address", optarg);
			else
				rc = set(&c->node_ip, optarg);
			break;
		}
		case O_LABELS:
			rc = kubelet_parse_labels(optarg, &c->labels, &c->nlabels, err, errlen);
			break;
		case O_LOG: {
			if (log_parse_level(optarg, &c->log_level))
				rc = bad(err, errlen,
					 "--log-level %s: want error, warn, info or debug", optarg);
			break;
		}
		case O_PORT: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!optarg[0] || *end || v < 1 || v > 65535)
				rc = bad(err, errlen, "--port %s: want a TCP port (1-65535)",
					 optarg);
			else
				c->port = (int)v;
			break;
		}
		case O_PIN_ROOT:
			/* drover-cni's configuration wants it absolute (drover.pinRoot) */
			if (optarg[0] != '/' || strlen(optarg) > 200)
				rc = bad(
				    err, errlen,
				    "--pin-root %s: want an absolute path (on a BPF filesystem) "
				    "of at most 200 bytes",
				    optarg);
			else
				rc = set(&c->pin_root, optarg);
			break;
		case O_NO_PROXY:
			c->no_proxy = true;
			break;
		case O_TL:
		case O_NO_TL:
			c->no_telemetry = o == O_NO_TL;
			break;
		case O_TL_SERIES:
			if (dp_tl_parse_series(optarg, &c->tl_max_series))
				rc = bad(err, errlen, "--telemetry-max-series %s: want 1-16777216",
					 optarg);
			break;
		case O_TL_RINGBUF:
			if (dp_tl_parse_ringbuf(optarg, &c->tl_ringbuf_bytes))
				rc = bad(
				    err, errlen,
				    "--telemetry-ringbuf-bytes %s: want a power of two from the "
				    "page size to 1 GiB",
				    optarg);
			break;
		case O_BOOTSTRAP:
			rc = set(&c->bootstrap_kubeconfig, optarg);
			break;
		case O_CLUSTER_DOMAIN:
			if (!kubelet_dns_subdomain(optarg) || strlen(optarg) > 200)
				rc =
				    bad(err, errlen,
					"--cluster-domain %s: want a DNS subdomain (cluster.local)",
					optarg);
			else
				rc = set(&c->cluster_domain, optarg);
			break;
		case O_CLUSTER_DNS: {
			struct in_addr a;

			if (inet_pton(AF_INET, optarg, &a) != 1)
				rc = bad(err, errlen, "--cluster-dns %s: not an IPv4 address",
					 optarg);
			else
				rc = set(&c->cluster_dns, optarg);
			break;
		}
		case O_NO_DNS:
			c->no_dns = true;
			break;
		case O_DNS_UPSTREAM: {
			struct sockaddr_in sa;
			char **v;

			if (strcmp(optarg, "none") && dns_fwd_parse(optarg, &sa)) {
				rc = bad(err, errlen, "--dns-upstream %s: want IPv4[:PORT] or none",
					 optarg);
				break;
			}
			if (c->n_dns_upstreams >= DNS_FWD_MAX) {
				rc = bad(err, errlen, "--dns-upstream: at most %d", DNS_FWD_MAX);
				break;
			}
			v = realloc(c->dns_upstreams, (c->n_dns_upstreams + 1) * sizeof(*v));
			if (!v) {
				rc = -ENOMEM;
				break;
			}
			c->dns_upstreams = v;
			v[c->n_dns_upstreams] = NULL;
			rc = set(&v[c->n_dns_upstreams], optarg);
			if (!rc)
				c->n_dns_upstreams++;
			break;
		}
		case O_START_WORKERS: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!optarg[0] || *end || v < 1 || v > AGENT_START_WORKERS_MAX)
				rc = bad(err, errlen, "--pod-start-workers %s: want 1-%d", optarg,
					 AGENT_START_WORKERS_MAX);
			else
				c->start_workers = (unsigned)v;
			break;
		}
		case 'h':
			return 1;
		default:
			rc = bad(err, errlen, "unknown or incomplete flag %s",
				 argv[optind - 1] ? argv[optind - 1] : "");
		}
	}
	for (size_t i = 0; !rc && c->n_dns_upstreams > 1 && i < c->n_dns_upstreams; i++)
		if (!strcmp(c->dns_upstreams[i], "none"))
			rc = bad(err, errlen, "--dns-upstream none: not with other upstreams");
	if (!rc && optind < argc)
		rc = bad(err, errlen, "unexpected argument %s", argv[optind]);
	if (!rc && !c->kubeconfig)
		rc = bad(err, errlen, "--kubeconfig is required");
	if (!rc && !c->node)
		rc = bad(err, errlen, "--node is required");
	if (!rc && !c->root)
		rc = set(&c->root, AGENT_ROOT);
	if (!c->port)
		c->port = KUBELET_PORT;
	if (!rc && !c->cluster_domain)
		rc = set(&c->cluster_domain, AGENT_CLUSTER_DOMAIN);
	if (!rc && !c->cluster_dns)
		rc = set(&c->cluster_dns, AGENT_CLUSTER_DNS);
	if (!rc && !c->pin_root)
		rc = set(&c->pin_root, DP_PIN_ROOT_DEFAULT);
	if (!rc && !c->cgroup_parent) {
		char buf[512];

		snprintf(buf, sizeof(buf), "drover/%s", c->node);
		rc = set(&c->cgroup_parent, buf);
	}
	if (rc == -ENOMEM)
		bad(err, errlen, "out of memory");
	return rc;
}

void agent_config_free(struct agent_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nlabels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	free(c->kubeconfig);
	free(c->bootstrap_kubeconfig);
	free(c->node);
	free(c->root);
	free(c->image_root);
	free(c->cni_bin_dir);
	free(c->cni_conf);
	free(c->cgroup_parent);
	free(c->node_ip);
	free(c->pin_root);
	free(c->cluster_domain);
	free(c->cluster_dns);
	for (size_t i = 0; i < c->n_dns_upstreams; i++)
		free(c->dns_upstreams[i]);
	free(c->dns_upstreams);
	memset(c, 0, sizeof(*c));
}
