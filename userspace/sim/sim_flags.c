/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_flags: `drover sim`'s command line into struct sim_config, every value checked before
 * anything reaches a server: quantities with Kubernetes' own parser, label keys and values
 * and taint effects with the API's syntax, node names as DNS-1123 subdomains, and the ranges
 * (N nodes must fit the cluster CIDR at the node mask; --pods must fit one node's range).
 * A bad flag is one line in err; the caller exits 2.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "sim_cidr.h"

#define MAX_NODES   100000
#define MAX_WORKERS 32

void sim_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: drover sim --nodes N | --name NAME [options]\n\n"
	    "Simulated nodes (like KWOK): registers Node objects as kubelets do, renews their\n"
	    "Leases, watches the pods bound to each node and marks them Running and Ready with\n"
	    "an IP from the node's podCIDR; pods of a Job succeed after --job-seconds; a deleted\n"
	    "pod is finalized after its grace period. Talks to any Kubernetes API server the\n"
	    "kubeconfig names (HTTPS, or plain HTTP to a loopback --insecure-loopback server).\n\n"
	    "  --nodes N                  simulate N nodes named PREFIX0..PREFIX<N-1>\n"
	    "  --name NAME                simulate one node called NAME\n"
	    "  --name-prefix P            prefix of the node names (default sim-)\n"
	    "  --cpu Q                    cpu capacity and allocatable (default 8)\n"
	    "  --memory Q                 memory (default 32Gi)\n"
	    "  --pods N                   pods per node (default 110)\n"
	    "  --ephemeral-storage Q      ephemeral-storage (default 100Gi)\n"
	    "  --zones Z                  topology.kubernetes.io/zone zone-0..zone-<Z-1> round\n"
	    "                             robin, and region \"region\" (default: no zone labels)\n"
	    "  --labels k=v,...           more node labels\n"
	    "  --taints k=v:Effect,...    node taints (NoSchedule, PreferNoSchedule, NoExecute)\n"
	    "  --cluster-cidr CIDR        pod network podCIDRs are cut from (default "
	    "10.244.0.0/16)\n"
	    "  --node-cidr-mask-size M    prefix length of each node's podCIDR (default 24)\n"
	    "  --node-ip-base CIDR        range of the nodes' InternalIPs (default 172.16.0.0/12)\n"
	    "  --lease-renew S            seconds between Lease renewals, +0-4%% jitter (default\n"
	    "                             2.5: keep it under a quarter of the node controller's\n"
	    "                             grace, drover server --node-grace 10 s by default)\n"
	    "  --job-seconds S            a Job's pod Succeeds S seconds after Running (default "
	    "1)\n"
	    "  --max-grace S              finalize a deleted pod after at most S seconds "
	    "(default:\n"
	    "                             its deletionGracePeriodSeconds)\n"
	    "  --kubeconfig FILE          kubeconfig (default $KUBECONFIG, else ~/.kube/config)\n"
	    "  --workers N                API writers per queue, nodes and pods (default 32, at\n"
	    "                             most 32: the client keeps 64 connections)\n"
	    "  --delete-on-exit           delete the nodes and their Leases on SIGINT/SIGTERM\n"
	    "  --log-level LEVEL          error, warn, info (default) or debug\n"
	    "  --help                     this text\n");
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_labels(struct sim_config *c, const char *arg, char *err, size_t errlen)
{
	return kubelet_parse_labels(arg, &c->labels, &c->nlabels, err, errlen);
}

static int parse_taints(struct sim_config *c, const char *arg, char *err, size_t errlen)
{
	static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
	char *copy = strdup(arg), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':'), *eq;
		struct kubelet_taint *n;
		bool known = false;

		if (!colon) {
			rc = fail(err, errlen, "--taints: \"%s\" is not key[=value]:Effect", tok);
			break;
		}
		*colon = 0;
		for (size_t i = 0; i < 3; i++)
			known |= !strcmp(colon + 1, effects[i]);
		if (!known) {
			rc = fail(err, errlen,
				  "--taints: effect \"%s\" is not one of NoSchedule, "
				  "PreferNoSchedule, NoExecute",
				  colon + 1);
			break;
		}
		eq = strchr(tok, '=');
		if (eq)
			*eq = 0;
		if (!kubelet_label_key(tok)) {
			rc = fail(err, errlen, "--taints: \"%s\" is not a valid taint key", tok);
			break;
		}
		if (eq && !kubelet_label_value(eq + 1, strlen(eq + 1), true)) {
			rc = fail(err, errlen, "--taints: \"%s\" is not a valid taint value",
				  eq + 1);
			break;
		}
		n = realloc(c->taints, (c->ntaints + 1) * sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			break;
		}
		c->taints = n;
		n[c->ntaints].key = strdup(tok);
		n[c->ntaints].value = strdup(eq ? eq + 1 : "");
		n[c->ntaints].effect = strdup(colon + 1);
		c->ntaints++;
		if (!n[c->ntaints - 1].key || !n[c->ntaints - 1].value ||
		    !n[c->ntaints - 1].effect) {
			rc = -ENOMEM;
			break;
		}
	}
	free(copy);
	if (rc == -ENOMEM)
		fail(err, errlen, "out of memory");
	return rc;
}

/* ---- numbers ---- */

static int parse_uint(const char *flag, const char *s, unsigned long lo, unsigned long hi,
		      unsigned long *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v < lo || v > hi)
		return fail(err, errlen, "%s: \"%s\" is not a whole number from %lu to %lu", flag,
			    s, lo, hi);
	*out = v;
	return 0;
}

static int parse_seconds(const char *flag, const char *s, double lo, double *out, char *err,
			 size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!s[0] || *end || errno || !isfinite(v) || v < lo || v > 86400)
		return fail(err, errlen, "%s: \"%s\" is not a number of seconds from %g to 86400",
			    flag, s, lo);
	*out = v;
	return 0;
}

static int parse_quantity(const char *flag, const char *s, char **out, char *err, size_t errlen)
{
	int64_t v, m;

	if (k8s_quantity_parse(s, strlen(s), &v, &m) != 0 || s[0] == '-' || m <= 0)
		return fail(err, errlen, "%s: \"%s\" is not a positive quantity (as 8, 500m, 32Gi)",
			    flag, s);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

void sim_node_name(const struct sim_config *c, unsigned i, char *buf, size_t size)
{
	if (c->name)
		snprintf(buf, size, "%s", c->name);
	else
		snprintf(buf, size, "%s%u", c->name_prefix, i);
}

static int defaults(struct sim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cluster_cidr = (struct sim_net){.addr = 0x0af40000u, .prefix = 16}; /* 10.244/16 */
	c->node_mask = 24;
	c->node_ips = (struct sim_net){.addr = 0xac100000u, .prefix = 12}; /* 172.16/12 */
	c->lease_renew_s = 2.5;
	c->job_seconds = 1;
	c->max_grace_s = -1;
	c->workers = MAX_WORKERS;
	c->log_level = LOG_INFO;
	if (set_str(&c->name_prefix, "sim-") || set_str(&c->cpu, "8") ||
	    set_str(&c->memory, "32Gi") || set_str(&c->pods, "110") ||
	    set_str(&c->ephemeral_storage, "100Gi"))
		return -ENOMEM;
	return 0;
}

/* What only the whole command line can tell. */
static int check(struct sim_config *c, bool nodes_given, char *err, size_t errlen)
{
	char first[300], last[300], buf[20];
	uint64_t ranges, per_node, ips;
	unsigned long pods = strtoul(c->pods, NULL, 10);

	if (c->name && nodes_given && c->nodes != 1)
		return fail(err, errlen, "--name runs one node: drop --nodes");
	if (c->name)
		c->nodes = 1;
	if (!c->nodes)
		return fail(err, errlen, "--nodes N or --name NAME is required");
	sim_node_name(c, 0, first, sizeof(first));
	sim_node_name(c, c->nodes - 1, last, sizeof(last));
	if (!kubelet_dns_subdomain(first) || !kubelet_dns_subdomain(last))
		return fail(err, errlen,
			    "node name \"%s\" is not a DNS-1123 subdomain (lowercase letters, "
			    "digits, '-' and '.')",
			    kubelet_dns_subdomain(first) ? last : first);
	if (c->node_mask < c->cluster_cidr.prefix || c->node_mask > 30 ||
	    c->node_mask - c->cluster_cidr.prefix > 24)
		return fail(
		    err, errlen,
		    "--node-cidr-mask-size %u: must be from the cluster CIDR's prefix (/%u) "
		    "to 30, at most 24 bits longer",
		    c->node_mask, c->cluster_cidr.prefix);
	ranges = 1ull << (c->node_mask - c->cluster_cidr.prefix);
	if (c->nodes > ranges)
		return fail(err, errlen,
			    "%u nodes do not fit --cluster-cidr %s: it holds %llu /%u node ranges; "
			    "widen it or lengthen --node-cidr-mask-size",
			    c->nodes, sim_net_str(&c->cluster_cidr, buf),
			    (unsigned long long)ranges, c->node_mask);
	/* a range's network, gateway (.1, the node's bridge) and broadcast addresses are not
	 * for pods */
	per_node = (1ull << (32 - c->node_mask)) - 3;
	if (pods > per_node)
		return fail(err, errlen,
			    "--pods %lu does not fit a /%u podCIDR (%llu pod addresses): lower "
			    "--node-cidr-mask-size",
			    pods, c->node_mask, (unsigned long long)per_node);
	ips = c->node_ips.prefix >= 31 ? 0 : (1ull << (32 - c->node_ips.prefix)) - 2;
	if (c->node_ips.prefix < 8 || c->nodes > ips)
		return fail(err, errlen,
			    "--node-ip-base %s: %u nodes need a range of /8 to /30 that holds them",
			    sim_net_str(&c->node_ips, buf), c->nodes);
	return 0;
}

int sim_config_parse(struct sim_config *c, int argc, char **argv, char *err, size_t errlen)
{
	enum {
		O_NODES = 256,
		O_NAME,
		O_PREFIX,
		O_CPU,
		O_MEMORY,
		O_PODS,
		O_EPH,
		O_ZONES,
		O_LABELS,
		O_TAINTS,
		O_CLUSTER,
		O_MASK,
		O_NODEIP,
		O_LEASE,
		O_JOB,
		O_GRACE,
		O_KUBECONFIG,
		O_WORKERS,
		O_LOG,
		O_DELETE,
	};
	static const struct option opts[] = {
	    {"nodes", required_argument, NULL, O_NODES},
	    {"name", required_argument, NULL, O_NAME},
	    {"name-prefix", required_argument, NULL, O_PREFIX},
	    {"cpu", required_argument, NULL, O_CPU},
	    {"memory", required_argument, NULL, O_MEMORY},
	    {"pods", required_argument, NULL, O_PODS},
	    {"ephemeral-storage", required_argument, NULL, O_EPH},
	    {"zones", required_argument, NULL, O_ZONES},
	    {"labels", required_argument, NULL, O_LABELS},
	    {"taints", required_argument, NULL, O_TAINTS},
	    {"cluster-cidr", required_argument, NULL, O_CLUSTER},
	    {"node-cidr-mask-size", required_argument, NULL, O_MASK},
	    {"node-ip-base", required_argument, NULL, O_NODEIP},
	    {"lease-renew", required_argument, NULL, O_LEASE},
	    {"job-seconds", required_argument, NULL, O_JOB},
	    {"max-grace", required_argument, NULL, O_GRACE},
	    {"kubeconfig", required_argument, NULL, O_KUBECONFIG},
	    {"workers", required_argument, NULL, O_WORKERS},
	    {"log-level", required_argument, NULL, O_LOG},
	    {"delete-on-exit", no_argument, NULL, O_DELETE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool nodes_given = false;
	unsigned long v;
	double sec;
	int o, rc = 0;

	err[0] = 0;
	if (defaults(c) != 0)
		return fail(err, errlen, "out of memory");
	optind = 1;
	opterr = 0;
	while (!rc && (o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case O_NODES:
			rc = parse_uint("--nodes", optarg, 1, MAX_NODES, &v, err, errlen);
			c->nodes = rc ? 0 : (unsigned)v;
			nodes_given = true;
			break;
		case O_NAME:
			if (!kubelet_dns_subdomain(optarg))
				rc = fail(err, errlen,
					  "--name: \"%s\" is not a DNS-1123 subdomain (lowercase "
					  "letters, digits, '-' and '.')",
					  optarg);
			else
				rc = set_str(&c->name, optarg);
			break;
		case O_PREFIX:
			rc = set_str(&c->name_prefix, optarg);
			break;
		case O_CPU:
			rc = parse_quantity("--cpu", optarg, &c->cpu, err, errlen);
			break;
		case O_MEMORY:
			rc = parse_quantity("--memory", optarg, &c->memory, err, errlen);
			break;
		case O_EPH:
			rc = parse_quantity("--ephemeral-storage", optarg, &c->ephemeral_storage,
					    err, errlen);
			break;
		case O_PODS:
			rc = parse_uint("--pods", optarg, 1, 1000000, &v, err, errlen);
			if (!rc)
				rc = set_str(&c->pods, optarg);
			break;
		case O_ZONES:
			rc = parse_uint("--zones", optarg, 0, 10000, &v, err, errlen);
			c->zones = rc ? 0 : (unsigned)v;
			break;
		case O_LABELS:
			rc = parse_labels(c, optarg, err, errlen);
			break;
		case O_TAINTS:
			rc = parse_taints(c, optarg, err, errlen);
			break;
		case O_CLUSTER:
			if (sim_net_parse(optarg, &c->cluster_cidr) != 0)
				rc = fail(err, errlen, "--cluster-cidr: \"%s\" is not an IPv4 CIDR",
					  optarg);
			break;
		case O_MASK:
			rc = parse_uint("--node-cidr-mask-size", optarg, 1, 30, &v, err, errlen);
			if (!rc)
				c->node_mask = (unsigned)v;
			break;
		case O_NODEIP:
			if (sim_net_parse(optarg, &c->node_ips) != 0)
				rc = fail(err, errlen, "--node-ip-base: \"%s\" is not an IPv4 CIDR",
					  optarg);
			break;
		case O_LEASE:
			rc = parse_seconds("--lease-renew", optarg, 0.1, &sec, err, errlen);
			if (!rc && sec >= 40)
				rc = fail(
				    err, errlen,
				    "--lease-renew: %s is not under the Lease's duration (40 s)",
				    optarg);
			if (!rc)
				c->lease_renew_s = sec;
			break;
		case O_JOB:
			rc =
			    parse_seconds("--job-seconds", optarg, 0, &c->job_seconds, err, errlen);
			break;
		case O_GRACE:
			rc = parse_uint("--max-grace", optarg, 0, 86400, &v, err, errlen);
			if (!rc)
				c->max_grace_s = (int64_t)v;
			break;
		case O_KUBECONFIG:
			rc = set_str(&c->kubeconfig, optarg);
			break;
		case O_WORKERS:
			rc = parse_uint("--workers", optarg, 1, MAX_WORKERS, &v, err, errlen);
			if (!rc)
				c->workers = (unsigned)v;
			break;
		case O_LOG:
			if (log_parse_level(optarg, &c->log_level) != 0)
				rc = fail(err, errlen,
					  "--log-level: \"%s\" is not error, warn, info or debug",
					  optarg);
			break;
		case O_DELETE:
			c->delete_on_exit = true;
			break;
		case 'h':
			return SIM_HELP;
		case ':':
			rc = fail(err, errlen, "flag %s needs a value", argv[optind - 1]);
			break;
		default:
			rc = fail(err, errlen, "unknown flag %s (see drover sim --help)",
				  argv[optind - 1]);
			break;
		}
		if (rc == -ENOMEM && !err[0])
			fail(err, errlen, "out of memory");
	}
	if (rc)
		return rc < 0 ? rc : -EINVAL;
	if (optind < argc)
		return fail(err, errlen, "unexpected argument \"%s\"", argv[optind]);
	return check(c, nodes_given, err, errlen);
}

void sim_config_free(struct sim_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nlabels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	for (size_t i = 0; i < c->ntaints; i++) {
		free(c->taints[i].key);
		free(c->taints[i].value);
		free(c->taints[i].effect);
	}
	free(c->labels);
	free(c->taints);
	free(c->name);
	free(c->name_prefix);
	free(c->cpu);
	free(c->memory);
	free(c->pods);
	free(c->ephemeral_storage);
	free(c->kubeconfig);
	memset(c, 0, sizeof(*c));
}

const char *sim_zone_of(const struct sim_config *c, unsigned i, char *buf, size_t size)
{
	if (!c->zones)
		return NULL;
	snprintf(buf, size, "zone-%u", i % c->zones);
	return buf;
}

void sim_kubelet_config(const struct sim_config *c, struct kubelet_node_config *out)
{
	*out = (struct kubelet_node_config){
	    .cpu = c->cpu,
	    .memory = c->memory,
	    .pods = c->pods,
	    .ephemeral_storage = c->ephemeral_storage,
	    .labels = c->labels,
	    .nlabels = c->nlabels,
	    .taints = c->taints,
	    .ntaints = c->ntaints,
	    .marker_label = SIM_LABEL,
	    .kernel_version = c->kernel_version,
	    .os_image = c->os_image,
	    .architecture = c->architecture,
	    .runtime_version = c->runtime_version,
	};
}
