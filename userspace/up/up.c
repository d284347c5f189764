/* SPDX-License-Identifier: Apache-2.0 */
/*
 * up: bring a cluster up (up.h): claim an ID (its fabric namespace's name, made with O_EXCL),
 * record it, build the fabric and the nodes' namespaces over rtnetlink, start the server,
 * wait for it to answer, start one agent per node in its namespace, and wait until every
 * node is registered and Ready with a podCIDR, printing the progress as it changes. Any
 * failure (or SIGINT/SIGTERM) tears down what was made.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>

#include "fsutil.h"
#include "k8s_jv.h"
#include "kclient.h"
#include "kubelet_objects.h"
#include "log.h"
#include "nl.h"
#include "up.h"
#include "x509.h"

#define PREFIX_LEN 24

struct up {
	const struct up_config *c;
	unsigned id;
	int fabric_fd;
	int node_fd[UP_MAX_NODES + 1];
	pid_t server;
	pid_t agent[UP_MAX_NODES + 1];
	char kubeconfig[4096]; /* the server's admin kubeconfig */
	char bootstrap[4096];  /* the agents' bootstrap kubeconfig (a bootstrap token) */
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

static int ip4(unsigned id, unsigned host, struct in_addr *a)
{
	char buf[32];

	up_addr(id, host, buf, sizeof(buf));
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -EINVAL;
}

/* ---- the fabric ---- */

/* The first free ID: its fabric namespace's name taken with O_EXCL (two `drover up`s at once
 * cannot both get it), and no host link of that name left by someone else. */
static int claim_id(struct up *u)
{
	char ns[64], link[32];
	struct nl nl;
	struct nl_link l;
	int err;

	if ((err = nl_open(&nl)) != 0)
		return err;
	for (unsigned id = 1; id <= UP_MAX_ID; id++) {
		up_fabric_netns(id, ns, sizeof(ns));
		up_host_link(id, link, sizeof(link));
		if (nl_link_by_name(&nl, link, &l) == 0)
			continue;
		err = nl_netns_add(ns);
		if (err == -EEXIST)
			continue;
		nl_close(&nl);
		if (err)
			return err;
		u->id = id;
		return 0;
	}
	nl_close(&nl);
	return -EADDRINUSE;
}

struct in_ns_arg {
	unsigned id, i;
};

/* In the fabric: br0 up, with the host's uplink as a port. */
static int fabric_setup(void *arg)
{
	struct nl nl;
	struct nl_link br, up;
	int err;

	(void)arg;
	if ((err = nl_open(&nl)) != 0)
		return err;
	if (!(err = nl_bridge_add(&nl, "br0")) && !(err = nl_link_by_name(&nl, "br0", &br)) &&
	    !(err = nl_link_set_up(&nl, br.ifindex, 1)) &&
	    !(err = nl_link_by_name(&nl, "uplink", &up)) &&
	    !(err = nl_link_set_master(&nl, up.ifindex, br.ifindex)))
		err = nl_link_set_up(&nl, up.ifindex, 1);
	nl_close(&nl);
	return err;
}

struct port_arg {
	unsigned i;
	int node_fd;
};

/* In the fabric: port nI to br0, its peer eth0 made in the node's namespace. */
static int fabric_port(void *arg)
{
	struct port_arg *p = arg;
	struct nl nl;
	struct nl_link br, port;
	char name[16];
	int err;

	snprintf(name, sizeof(name), "n%u", p->i);
	if ((err = nl_open(&nl)) != 0)
		return err;
	if (!(err = nl_veth_add(&nl, name, "eth0", p->node_fd, 0)) &&
	    !(err = nl_link_by_name(&nl, "br0", &br)) &&
	    !(err = nl_link_by_name(&nl, name, &port)) &&
	    !(err = nl_link_set_master(&nl, port.ifindex, br.ifindex)))
		err = nl_link_set_up(&nl, port.ifindex, 1);
	nl_close(&nl);
	return err;
}

static int write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) != (ssize_t)strlen(v))
		err = -errno;
	close(fd);
	return err;
}

/* In a node: eth0 198.19.ID.(10+I)/24 up; forwarding on (pods' packets to other nodes). */
static int node_setup(void *arg)
{
	struct in_ns_arg *p = arg;
	struct nl nl;
	struct nl_link eth;
	struct in_addr a;
	int err;

	if ((err = ip4(p->id, UP_NODE_IP_BASE + p->i, &a)) != 0 || (err = nl_open(&nl)) != 0)
		return err;
	if (!(err = nl_link_by_name(&nl, "eth0", &eth)) &&
	    !(err = nl_addr4_add(&nl, eth.ifindex, a, PREFIX_LEN)))
		err = nl_link_set_up(&nl, eth.ifindex, 1);
	nl_close(&nl);
	/* /proc/sys/net is the network namespace of the thread that opens it */
	if (!err)
		err = write_file("/proc/sys/net/ipv4/ip_forward", "1");
	return err;
}

static int build_net(struct up *u)
{
	char name[64], link[32];
	struct nl nl;
	struct nl_link l;
	struct in_addr a;
	int err;

	up_fabric_netns(u->id, name, sizeof(name));
	u->fabric_fd = nl_netns_open(name);
	if (u->fabric_fd < 0)
		return u->fabric_fd;
	/* the host's end */
	up_host_link(u->id, link, sizeof(link));
	if ((err = nl_open(&nl)) != 0)
		return err;
	if (!(err = nl_veth_add(&nl, link, "uplink", u->fabric_fd, 0)) &&
	    !(err = nl_link_by_name(&nl, link, &l)) && !(err = ip4(u->id, 1, &a)) &&
	    !(err = nl_addr4_add(&nl, l.ifindex, a, PREFIX_LEN)))
		err = nl_link_set_up(&nl, l.ifindex, 1);
	nl_close(&nl);
	if (!err)
		err = nl_in_netns(u->fabric_fd, fabric_setup, NULL);
	if (err) {
		fprintf(stderr, "drover up: fabric: %s\n", strerror(-err));
		return err;
	}
	for (unsigned i = 1; i <= u->c->nodes; i++) {
		struct port_arg pa = {.i = i};
		struct in_ns_arg na = {.id = u->id, .i = i};

		up_node_netns(u->id, i, name, sizeof(name));
		if ((err = nl_netns_add(name)) != 0 || (u->node_fd[i] = nl_netns_open(name)) < 0) {
			err = err ? err : u->node_fd[i];
			fprintf(stderr, "drover up: netns %s: %s\n", name, strerror(-err));
			return err;
		}
		pa.node_fd = u->node_fd[i];
		err = nl_in_netns(u->fabric_fd, fabric_port, &pa);
		if (!err)
			err = nl_in_netns(u->node_fd[i], node_setup, &na);
		if (err) {
			fprintf(stderr, "drover up: node %u's link: %s\n", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- processes ---- */

/* Start SELF argv... as a daemon of its own session (it outlives `drover up`), stdout and
 * stderr to log, in network namespace netns_fd (or here, -1). Its pid is recorded before
 * this returns. */
static pid_t spawn(struct up *u, const char *what, const char *log, int netns_fd,
		   char *const argv[])
{
	pid_t pid;
	int err;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
			_exit(126);
		setsid();
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execv(u->c->self, argv);
		_exit(127);
	}
	/* the exec may not have happened yet: the start time of the pid is the child's either
	 * way (exec keeps it) */
	err = up_state_pid(u->c->dir, pid, what);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return err;
	}
	return pid;
}

static int start_server(struct up *u)
{
	char data[4096], listen[64], log[4096], addr[32], storage[4096];
	/* the local-path provisioner's volumes: under the cluster's dir, removed by down */
	char *argv[] = {"drover",
			"server",
			"--data-dir",
			data,
			"--listen",
			listen,
			"--cluster-cidr",
			(char *)u->c->cluster_cidr,
			"--default-local-storage-path",
			storage,
			NULL};
	pid_t pid;

	snprintf(data, sizeof(data), "%s/server", u->c->dir);
	snprintf(storage, sizeof(storage), "%s/storage", u->c->dir);
	up_addr(u->id, 1, addr, sizeof(addr));
	snprintf(listen, sizeof(listen), "%s:%d", addr, UP_SERVER_PORT);
	snprintf(log, sizeof(log), "%s/logs/server.log", u->c->dir);
	snprintf(u->kubeconfig, sizeof(u->kubeconfig), "%s/server/kubeconfig", u->c->dir);
	pid = spawn(u, "server", log, -1, argv);
	if (pid < 0)
		return (int)pid;
	u->server = pid;
	return 0;
}

/* `drover token create` against the server (its own command: the token's Secret is made
 * exactly as an administrator would): the token, or -errno. */
static int token_create(struct up *u, char *tok, size_t size)
{
	char *argv[] = {"drover",	 "token",     "create", "--kubeconfig", u->kubeconfig,
			"--description", "drover up", "--ttl",	"24h",		NULL};
	int fds[2], st = 0;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (dup2(fds[1], 1) < 0)
			_exit(127);
		execv(u->c->self, argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], tok + got, size - 1 - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	tok[got] = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	tok[strcspn(tok, "\n")] = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) || strlen(tok) != 23)
		return -EIO;
	return 0;
}

/* DIR/bootstrap/kubeconfig: the admin kubeconfig's server and CA, a bootstrap token as the
 * user (what `kubeadm join` hands the kubelet). */
static int write_bootstrap(struct up *u)
{
	struct kc_config kc = {0};
	gnutls_datum_t in, ca = {0};
	char tok[64], dir[4096], *text = NULL;
	int n = -1, err;

	if ((err = token_create(u, tok, sizeof(tok))) != 0) {
		fprintf(stderr, "drover up: drover token create failed\n");
		return err;
	}
	if ((err = kc_config_load(u->kubeconfig, &kc, NULL, 0)) != 0)
		return err;
	snprintf(dir, sizeof(dir), "%s/bootstrap", u->c->dir);
	snprintf(u->bootstrap, sizeof(u->bootstrap), "%s/bootstrap/kubeconfig", u->c->dir);
	in.data = (unsigned char *)kc.ca_data;
	in.size = kc.ca_data ? (unsigned)strlen(kc.ca_data) : 0;
	if (!kc.ca_data || gnutls_base64_encode2(&in, &ca)) {
		kc_config_free(&kc);
		return -EINVAL;
	}
	err = fs_mkdir_p(dir, 0700, NULL);
	if (!err &&
	    (n = asprintf(&text,
			  "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
			  "    certificate-authority-data: %.*s\n    server: %s\n  name: drover\n"
			  "contexts:\n- context:\n    cluster: drover\n    user: tls-bootstrap\n"
			  "  name: tls-bootstrap\ncurrent-context: tls-bootstrap\nusers:\n"
			  "- name: tls-bootstrap\n  user:\n    token: %s\n",
			  (int)ca.size, (char *)ca.data, kc.server, tok)) < 0)
		err = -ENOMEM;
	if (!err)
		err = x509_write_file(u->bootstrap, text, (size_t)n);
	free(text);
	gnutls_free(ca.data);
	kc_config_free(&kc);
	return err;
}

/*
 * Every per-node argument of `drover agent` is made here, and only here (what a node is:
 * its name, address, root, cgroup subtree, credentials, image store).
 */
#define AGENT_ARGS_MAX 32
struct agent_args {
	char *argv[AGENT_ARGS_MAX];
	char node[32], ip[32], root[4096], cgroup[128], kubeconfig[4096], pins[128];
};

static void agent_args(struct up *u, unsigned i, struct agent_args *a)
{
	size_t n = 0;

	up_node_name(i, a->node, sizeof(a->node));
	up_addr(u->id, UP_NODE_IP_BASE + i, a->ip, sizeof(a->ip));
	snprintf(a->root, sizeof(a->root), "%s/nodes/%s", u->c->dir, a->node);
	up_cgroup(u->id, a->cgroup, sizeof(a->cgroup));
	snprintf(a->cgroup + strlen(a->cgroup), sizeof(a->cgroup) - strlen(a->cgroup), "/%s",
		 a->node);
	/* its own credentials: a client certificate for system:node:NAME it gets by joining
	 * with the bootstrap token (TLS bootstrapping) */
	snprintf(a->kubeconfig, sizeof(a->kubeconfig), "%s/nodes/%s/kubeconfig", u->c->dir,
		 a->node);
	a->argv[n++] = "drover";
	a->argv[n++] = "agent";
	a->argv[n++] = "--node";
	a->argv[n++] = a->node;
	a->argv[n++] = "--node-ip";
	a->argv[n++] = a->ip;
	a->argv[n++] = "--kubeconfig";
	a->argv[n++] = a->kubeconfig;
	a->argv[n++] = "--bootstrap-kubeconfig";
	a->argv[n++] = (char *)u->bootstrap;
	a->argv[n++] = "--root";
	a->argv[n++] = a->root;
	a->argv[n++] = "--cgroup-parent";
	a->argv[n++] = a->cgroup;
	/* its own service proxy: its pins, its cgroup subtree (above), its node's device */
	up_pin_root(u->id, i, a->pins, sizeof(a->pins));
	a->argv[n++] = "--pin-root";
	a->argv[n++] = a->pins;
	if (u->c->image_root) {
		a->argv[n++] = "--image-root";
		a->argv[n++] = (char *)u->c->image_root;
	}
	a->argv[n] = NULL;
}

static int start_agents(struct up *u)
{
	for (unsigned i = 1; i <= u->c->nodes; i++) {
		struct agent_args a;
		char log[4096], what[64];
		pid_t pid;

		agent_args(u, i, &a);
		snprintf(log, sizeof(log), "%s/logs/%s.log", u->c->dir, a.node);
		snprintf(what, sizeof(what), "agent-%s", a.node);
		pid = spawn(u, what, log, u->node_fd[i], a.argv);
		if (pid < 0)
			return (int)pid;
		u->agent[i] = pid;
	}
	return 0;
}

/* A child that exited: its name, after a message with the end of its log. */
static bool died(pid_t pid, const char *what, const char *log)
{
	int st;
	char line[512];
	FILE *f;
	long size;

	if (pid <= 0 || waitpid(pid, &st, WNOHANG) != pid)
		return false;
	if (WIFEXITED(st))
		fprintf(stderr, "drover up: %s exited with status %d; its log %s ends:\n", what,
			WEXITSTATUS(st), log);
	else
		fprintf(stderr, "drover up: %s killed by signal %d; its log %s ends:\n", what,
			WTERMSIG(st), log);
	if ((f = fopen(log, "re"))) {
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		fseek(f, size > 2000 ? size - 2000 : 0, SEEK_SET);
		if (size > 2000 && !fgets(line, sizeof(line), f)) /* a partial line */
			line[0] = 0;
		while (fgets(line, sizeof(line), f))
			fprintf(stderr, "  %s", line);
		fclose(f);
	}
	return true;
}

static bool anything_died(struct up *u)
{
	char log[4096], node[32];

	snprintf(log, sizeof(log), "%s/logs/server.log", u->c->dir);
	if (died(u->server, "drover server", log))
		return true;
	for (unsigned i = 1; i <= u->c->nodes; i++) {
		up_node_name(i, node, sizeof(node));
		snprintf(log, sizeof(log), "%s/logs/%s.log", u->c->dir, node);
		if (died(u->agent[i], node, log))
			return true;
	}
	return false;
}

/* ---- waiting ---- */

static struct kclient *client(const char *kubeconfig)
{
	struct kc_config cfg = {0};
	struct kclient *kc;
	char err[256];

	if (kc_config_load(kubeconfig, &cfg, err, sizeof(err)))
		return NULL;
	kc = kclient_http_new(&cfg);
	kc_config_free(&cfg);
	return kc;
}

/* Nodes of ours registered, and Ready with a podCIDR. */
static int count_nodes(struct kclient *kc, unsigned *reg, unsigned *ready)
{
	const struct k8s_kind *k = k8s_kind_find("v1", "Node");
	struct kc_list l = {0};
	struct kc_status st = {0};
	int err = kc_list(kc, k, NULL, &(struct kc_list_opts){0}, &l, &st);

	*reg = *ready = 0;
	if (err)
		return err;
	for (size_t i = 0; i < l.count; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *n = d ? kc_obj_parse(l.items[i], d) : NULL;
		const char *r = n ? kubelet_node_ready(n) : NULL;
		const char *cidr = n ? jv_path_str(n, "spec.podCIDR") : NULL;

		if (n) {
			(*reg)++;
			if (r && !strcmp(r, "True") && cidr && cidr[0])
				(*ready)++;
		}
		jv_doc_free(d);
	}
	kc_list_free(&l);
	return 0;
}

static int wait_up(struct up *u)
{
	double end = mono_s() + u->c->timeout_s;
	struct kclient *kc = NULL;
	unsigned reg = 0, ready = 0, last_reg = ~0u, last_ready = ~0u;
	bool answered = false;
	int err;

	printf("server: https://198.19.%u.1:%d (log %s/logs/server.log)\n", u->id, UP_SERVER_PORT,
	       u->c->dir);
	fflush(stdout);
	while (mono_s() < end) {
		if (u->c->stopping()) {
			fprintf(stderr, "drover up: interrupted\n");
			kclient_free(kc);
			return -EINTR;
		}
		if (anything_died(u)) {
			kclient_free(kc);
			return -ECHILD;
		}
		if (!kc && access(u->kubeconfig, R_OK) == 0)
			kc = client(u->kubeconfig);
		if (kc && count_nodes(kc, &reg, &ready) == 0) {
			if (!answered) {
				answered = true;
				printf("server answers; starting %u agent(s) (joining with a "
				       "bootstrap token)\n",
				       u->c->nodes);
				fflush(stdout);
				if ((err = write_bootstrap(u)) != 0 ||
				    (err = start_agents(u)) != 0) {
					fprintf(stderr, "drover up: agents: %s\n", strerror(-err));
					kclient_free(kc);
					return err;
				}
			}
			if (reg != last_reg || ready != last_ready) {
				printf("nodes: %u/%u registered, %u/%u Ready\n", reg, u->c->nodes,
				       ready, u->c->nodes);
				fflush(stdout);
				last_reg = reg;
				last_ready = ready;
			}
			if (ready >= u->c->nodes) {
				kclient_free(kc);
				return 0;
			}
		}
		nap_ms(250);
	}
	kclient_free(kc);
	fprintf(stderr, "drover up: %u/%u nodes Ready after %u s (%s); logs in %s/logs\n", ready,
		u->c->nodes, u->c->timeout_s, answered ? "server answers" : "server silent",
		u->c->dir);
	return -ETIMEDOUT;
}

/* DIR/kubeconfig: the server's admin kubeconfig, copied (the server rewrites its own). */
static int copy_kubeconfig(struct up *u)
{
	char dst[4096], *text = x509_read_file(u->kubeconfig);
	int err;

	if (!text)
		return errno ? -errno : -EIO;
	snprintf(dst, sizeof(dst), "%s/kubeconfig", u->c->dir);
	err = x509_write_file(dst, text, strlen(text));
	free(text);
	return err;
}

int up_run(const struct up_config *c)
{
	struct up u0 = {.c = c, .fabric_fd = -1}, *u = &u0;
	char path[4096], summary[256];
	struct up_state st;
	int err;

	for (unsigned i = 0; i <= UP_MAX_NODES; i++)
		u->node_fd[i] = -1;
	snprintf(path, sizeof(path), "%s/logs", c->dir);
	if ((err = fs_mkdir_p(path, 0755, NULL)) != 0) {
		fprintf(stderr, "drover up: %s: %s\n", path, strerror(-err));
		return err;
	}
	err = up_state_read(c->dir, &st);
	if (err != -ENOENT) {
		fprintf(stderr,
			"drover up: %s holds a cluster already (%s/" UP_STATE_FILE
			"): run drover down --dir %s first\n",
			c->dir, c->dir, c->dir);
		return -EEXIST;
	}
	/* the TMPDIR of this process and of all it starts (inherited): down removes it */
	snprintf(path, sizeof(path), "%s/tmp", c->dir);
	if ((err = fs_mkdir_p(path, 0700, NULL)) != 0 || setenv("TMPDIR", path, 1)) {
		err = err ? err : -errno;
		fprintf(stderr, "drover up: %s: %s\n", path, strerror(-err));
		return err;
	}
	if ((err = claim_id(u)) != 0) {
		fprintf(stderr, "drover up: no free cluster ID: %s\n", strerror(-err));
		return err;
	}
	err = up_state_begin(c->dir, u->id, c->nodes);
	if (err) {
		char ns[64];

		up_fabric_netns(u->id, ns, sizeof(ns));
		nl_netns_del(ns);
		fprintf(stderr, "drover up: %s/" UP_STATE_FILE ": %s\n", c->dir, strerror(-err));
		return err;
	}
	printf("cluster %u: %u node(s) in network namespaces drover-up%u-*, state in %s\n", u->id,
	       c->nodes, u->id, c->dir);
	fflush(stdout);
	err = build_net(u);
	if (!err) {
		err = start_server(u);
		if (err)
			fprintf(stderr, "drover up: server: %s\n", strerror(-err));
	}
	if (!err)
		err = wait_up(u);
	if (!err)
		err = copy_kubeconfig(u);
	if (u->fabric_fd >= 0)
		close(u->fabric_fd);
	for (unsigned i = 0; i <= UP_MAX_NODES; i++)
		if (u->node_fd[i] >= 0)
			close(u->node_fd[i]);
	if (!err) {
		printf("ready: %u node(s)\nexport KUBECONFIG=%s/kubeconfig\n", c->nodes, c->dir);
		fflush(stdout);
		return 0;
	}
	fprintf(stderr, "drover up: tearing down\n");
	if (up_state_read(c->dir, &st) == 0 && up_teardown(c->dir, &st, summary, sizeof(summary)))
		fprintf(stderr, "drover up: teardown incomplete (%s): run drover down --dir %s\n",
			summary, c->dir);
	/* reap what we started */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return err;
}
