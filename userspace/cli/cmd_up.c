/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_up: `drover up --nodes N [--dir D]` and `drover down [--dir D]`: the command lines of
 * a cluster in network namespaces on this machine (userspace/up/up.h does the work).
 */
#ifdef HAVE_DROVER_UP
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "up.h"

static void up_usage(FILE *out)
{
	fprintf(out,
		"usage: drover up --nodes N [--dir D] [options]\n\n"
		"Builds a cluster in network namespaces on this machine: a fabric bridge, N\n"
		"nodes on it (198.19.ID.0/24, no route out of the machine), drover server on\n"
		"the host and one drover agent per node; waits until every node is Ready and\n"
		"prints the KUBECONFIG to use. `drover down` removes it.\n\n"
		"  --nodes N             number of nodes, 1..%d (required)\n"
		"  --dir D               state, logs and kubeconfig (default " UP_DEFAULT_DIR ")\n"
		"  --image-root DIR      the agents' image store (default: the agent's)\n"
		"  --cluster-cidr CIDR   the pods' range (default 10.244.0.0/16)\n"
		"  --timeout S           seconds to wait for the nodes (default 180)\n",
		UP_MAX_NODES);
}

static void down_usage(FILE *out)
{
	fprintf(out, "usage: drover down [--dir D]\n\n"
		     "Removes the cluster `drover up --dir D` made (default " UP_DEFAULT_DIR
		     "): its processes, network\nnamespaces, links, cgroups and mounts, also after "
		     "a crash. D/logs stays.\n");
}

/* realpath of a directory that may not exist yet (its parent must) */
static int abs_dir(const char *cmd, const char *d, char *out)
{
	char parent[PATH_MAX], *slash, *copy;

	if (realpath(d, out))
		return 0;
	copy = strdup(d);
	if (!copy)
		return -1;
	slash = strrchr(copy, '/');
	while (slash && slash > copy && !slash[1]) { /* trailing slashes */
		*slash = 0;
		slash = strrchr(copy, '/');
	}
	if (!slash) {
		if (!getcwd(parent, sizeof(parent)) ||
		    snprintf(out, PATH_MAX, "%s/%s", parent, copy) >= PATH_MAX)
			goto bad;
	} else {
		*slash = 0;
		if (!realpath(slash == copy ? "/" : copy, parent) ||
		    snprintf(out, PATH_MAX, "%s/%s", strcmp(parent, "/") ? parent : "",
			     slash + 1) >= PATH_MAX)
			goto bad;
	}
	free(copy);
	return 0;
bad:
	fprintf(stderr, "drover %s: --dir %s: %s\n", cmd, d,
		strerror(errno ? errno : ENAMETOOLONG));
	free(copy);
	return -1;
}

/* A.B.C.D/N, N 0..32 */
static bool ipv4_cidr(const char *s)
{
	const char *slash = strchr(s, '/');
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	char *end;
	long n;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
		return false;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
	n = strtol(slash + 1, &end, 10);
	return !*end && n >= 0 && n <= 32 && slash[1] != '-' && slash[1] != '+' &&
	       inet_pton(AF_INET, addr, &a) == 1;
}

static int need_root(const char *cmd)
{
	if (geteuid() != 0) {
		fprintf(stderr, "drover %s: needs root (network namespaces, cgroups)\n", cmd);
		return -1;
	}
	return 0;
}

int cmd_up(int argc, char **argv)
{
	enum { O_NODES = 256, O_DIR, O_IMAGE_ROOT, O_CIDR, O_TIMEOUT };
	static const struct option opts[] = {
	    {"nodes", required_argument, NULL, O_NODES},
	    {"dir", required_argument, NULL, O_DIR},
	    {"image-root", required_argument, NULL, O_IMAGE_ROOT},
	    {"cluster-cidr", required_argument, NULL, O_CIDR},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct up_config c = {.dir = UP_DEFAULT_DIR,
			      .cluster_cidr = "10.244.0.0/16",
			      .timeout_s = 180,
			      .stopping = cli_stopping};
	char dir[PATH_MAX], self[PATH_MAX], image_root[PATH_MAX];
	ssize_t n;
	int o;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case O_NODES:
			if (cli_uint("up", "nodes", optarg, 1, UP_MAX_NODES, &c.nodes))
				return 2;
			break;
		case O_DIR:
			if (!optarg[0]) {
				fprintf(stderr, "drover up: --dir: an empty path\n");
				return 2;
			}
			c.dir = optarg;
			break;
		case O_IMAGE_ROOT:
			if (!realpath(optarg, image_root)) {
				fprintf(stderr, "drover up: --image-root %s: %s\n", optarg,
					strerror(errno));
				return 2;
			}
			c.image_root = image_root;
			break;
		case O_CIDR:
			if (!ipv4_cidr(optarg)) {
				fprintf(stderr,
					"drover up: --cluster-cidr: \"%s\" is not an IPv4 CIDR "
					"(10.244.0.0/16)\n",
					optarg);
				return 2;
			}
			c.cluster_cidr = optarg; /* the server checks the rest (room for nodes) */
			break;
		case O_TIMEOUT:
			if (cli_uint("up", "timeout", optarg, 1, 86400, &c.timeout_s))
				return 2;
			break;
		case 'h':
			up_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "drover up: unknown or incomplete flag %s\n",
				argv[optind - 1] ? argv[optind - 1] : "");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drover up: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (!c.nodes) {
		fprintf(stderr, "drover up: --nodes is required\n");
		return 2;
	}
	if (need_root("up") || abs_dir("up", c.dir, dir))
		return 1;
	c.dir = dir;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "drover up: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	self[n] = 0;
	c.self = self;
	cli_catch_stop();
	return up_run(&c) ? 1 : 0;
}

int cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *d = UP_DEFAULT_DIR;
	char dir[PATH_MAX], summary[256];
	struct up_state st;
	int o, err;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			if (!optarg[0]) {
				fprintf(stderr, "drover down: --dir: an empty path\n");
				return 2;
			}
			d = optarg;
			break;
		case 'h':
			down_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "drover down: unknown or incomplete flag %s\n",
				argv[optind - 1] ? argv[optind - 1] : "");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drover down: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (need_root("down") || abs_dir("down", d, dir))
		return 1;
	err = up_state_read(dir, &st);
	if (err == -ENOENT) {
		printf("no cluster in %s (no %s/" UP_STATE_FILE "): nothing to do\n", dir, dir);
		return 0;
	}
	if (err) {
		fprintf(stderr, "drover down: %s/" UP_STATE_FILE ": not a drover up state file\n",
			dir);
		return 1;
	}
	err = up_teardown(dir, &st, summary, sizeof(summary));
	printf("cluster %u: %s\n", st.id, summary);
	if (err) {
		fprintf(stderr,
			"drover down: not everything went (%s); %s/" UP_STATE_FILE
			" kept: run drover down again\n",
			strerror(-err), dir);
		return 1;
	}
	return 0;
}
#endif
