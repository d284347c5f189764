/* SPDX-License-Identifier: Apache-2.0 */
/*
 * up: `drover up` / `drover down`, a cluster in network namespaces on this machine.
 *
 * Cluster ID (1..250, the first free one) names everything made:
 *   - netns drover-upID-fabric: a bridge br0; the host reaches it by a veth drvupID (host
 *     end, 198.19.ID.1/24) whose peer "uplink" is a bridge port;
 *   - netns drover-upID-node-I (I = 1..N): eth0, 198.19.ID.(10+I)/24, a bridge port's peer;
 *     IPv4 forwarding on; no default route (nothing leaves the machine);
 *   - `drover server` on the host, listening on 198.19.ID.1:6443 (its serving certificate
 *     covers the address it listens on), nodeipam from --cluster-cidr;
 *   - one `drover agent` per node inside its netns, node name node-I, root DIR/nodes/node-I,
 *     cgroups under drover-upID/node-I; it joins with a bootstrap token (`drover token
 *     create`, DIR/bootstrap/kubeconfig) and writes its own client certificate
 *     (system:node:node-I) to DIR/nodes/node-I/kubeconfig, as kubeadm join + the kubelet do;
 *   - DIR/up.state, appended (and synced) before each process starts, so `drover down` can
 *     undo everything after a crash or SIGKILL of `drover up` or of any process;
 *   - DIR/tmp, the TMPDIR of up and of every process it starts: the private directories
 *     their clients keep credentials in (kclient's drover-kclient-PID-*), which a process
 *     SIGKILLed by down cannot remove itself, go with it.
 *
 * Files: up_state.c (the state file, teardown), up.c (bring-up).
 */
#ifndef DROVER_UP_H
#define DROVER_UP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define UP_DEFAULT_DIR	"/var/lib/drover/up"
#define UP_MAX_NODES	50
#define UP_MAX_ID	250
#define UP_SERVER_PORT	6443
#define UP_STATE_FILE	"up.state"
#define UP_MAX_PIDS	(UP_MAX_NODES + 8)
#define UP_NODE_IP_BASE 10

struct up_config {
	unsigned nodes;
	const char *dir;
	const char *image_root;	  /* --image-root for every agent, or NULL (the agent's default) */
	const char *cluster_cidr; /* the server's --cluster-cidr */
	unsigned timeout_s;	  /* how long to wait for the nodes to be Ready */
	const char *self;	  /* the drover binary */
	bool (*stopping)(void);
};

/* What up.state records. */
struct up_state {
	unsigned id, nodes;
	struct {
		pid_t pid;
		unsigned long long start; /* /proc/PID/stat starttime: a reused pid is not ours */
		char what[64];
	} pids[UP_MAX_PIDS];
	size_t npids;
};

/* Names derived from the cluster ID. */
void up_fabric_netns(unsigned id, char *buf, size_t size);
void up_node_netns(unsigned id, unsigned i, char *buf, size_t size);
void up_host_link(unsigned id, char *buf, size_t size);
void up_cgroup(unsigned id, char *buf, size_t size);
void up_node_name(unsigned i, char *buf, size_t size);
/* node i's service proxy pins (bpffs): /sys/fs/bpf/drover-upID-node-I */
void up_pin_root(unsigned id, unsigned i, char *buf, size_t size);
/* 198.19.ID.HOST */
void up_addr(unsigned id, unsigned host, char *buf, size_t size);

/* The state file: read (0, -ENOENT when there is none, -EINVAL when it is not ours), and
 * the appends up makes (0 or -errno; each synced). */
int up_state_read(const char *dir, struct up_state *st);
int up_state_begin(const char *dir, unsigned id, unsigned nodes);
int up_state_pid(const char *dir, pid_t pid, const char *what);

/* Undo everything st records (and DIR's made files but DIR/logs): processes (recorded ones
 * by PID, then whatever runs in the cgroup subtree), the pods' namespaces the agents
 * recorded, the namespaces and the host link, cgroups, mounts under DIR. Counts go to out
 * (a line of text). 0 when all went, or -errno of the first thing that could not be
 * removed (the state file then stays, so that down can be run again). */
int up_teardown(const char *dir, const struct up_state *st, char *out, size_t outlen);

/* Bring the cluster up (up.c): 0, or -errno after a message on stderr (everything made is
 * torn down again). On success DIR/kubeconfig is the admin's kubeconfig. */
int up_run(const struct up_config *c);

#endif
