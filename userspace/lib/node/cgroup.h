/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup: the node's cgroup primitives. Detects the host's layout (pure cgroup v2 with
 * controllers, or v1 controller hierarchies beside an optional v2 tree, as on hybrid hosts),
 * creates one cgroup path in every hierarchy that matters, sets the cpu/memory/pids limits
 * kubelet would set, joins pids, kills everything inside, removes it and reads usage.
 *
 * "Every hierarchy that matters": on pure v2 the unified tree alone; otherwise the v1
 * hierarchies of cpu, cpuacct, memory and pids (co-mounted ones counted once) plus the v2
 * tree when one is mounted (cgroup.kill, BPF attach points).
 */
#ifndef DROVER_NODE_CGROUP_H
#define DROVER_NODE_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_mode {
	CG_MODE_V2 = 0, /* /sys/fs/cgroup is cgroup2 and lists memory, cpu and pids */
	CG_MODE_HYBRID, /* v1 controllers plus a v2 tree (typically /sys/fs/cgroup/unified) */
	CG_MODE_V1,	/* v1 controllers, no v2 tree */
};

enum cg_ctrl {
	CG_CPU = 0,
	CG_CPUACCT,
	CG_MEMORY,
	CG_PIDS,
	CG_CTRL_N,
};

#define CG_MAX_HIER (CG_CTRL_N + 1)

struct cg_layout {
	enum cg_mode mode;
	char *unified;		 /* mount point of the v2 tree, or NULL */
	char *v1[CG_CTRL_N];	 /* mount point of each v1 controller, or NULL */
	bool v2_ctrl[CG_CTRL_N]; /* controller available in the v2 tree (cpuacct: with cpu) */
};

/*
 * Read the cgroup mounts under root (default /sys/fs/cgroup) from a mountinfo file (default
 * /proc/self/mountinfo). Pure v2 needs root itself to be cgroup2 with memory, cpu and pids in
 * its cgroup.controllers; otherwise v1 mounts of memory, cpu and pids are needed. The layout,
 * or NULL with errno (ENOENT: no usable cgroup mounts; ENOMEM).
 */
struct cg_layout *cg_layout_detect(const char *mountinfo, const char *root);
void cg_layout_free(struct cg_layout *l);
const char *cg_mode_name(enum cg_mode mode);

/* Kubernetes' conversions (pkg/kubelet/cm/helpers_linux.go): millicores of a request to
 * cpu.shares (2..262144), of a limit to a CFS quota for a period (0: none; at least 1000 us),
 * and shares to a cgroup v2 cpu.weight (1..10000; kubelet's CpuSharesToCpuWeight). */
#define CG_CPU_PERIOD_US 100000
uint64_t cg_millicpu_to_shares(int64_t milli);
int64_t cg_millicpu_to_quota(int64_t milli, int64_t period_us);
uint64_t cg_shares_to_weight(uint64_t shares);

struct cg_limits {
	int64_t cpu_request_milli; /* < 0: not set (shares/weight left alone) */
	int64_t cpu_limit_milli;   /* <= 0: no quota */
	int64_t memory_bytes;	   /* <= 0: no limit */
	int64_t pids_max;	   /* <= 0: no limit */
};
#define CG_LIMITS_NONE      \
	{                   \
		-1, 0, 0, 0 \
	}

struct cg_usage {
	uint64_t memory_bytes; /* memory.current / memory.usage_in_bytes */
	uint64_t cpu_usec;     /* cpu.stat usage_usec / cpuacct.usage / 1000 */
};

/* One cgroup path, in every hierarchy of its layout. */
struct cg {
	char *dir[CG_MAX_HIER]; /* absolute directories; NULL-terminated, no duplicates */
	int n;
	int ctrl_dir[CG_CTRL_N]; /* index into dir of each controller, -1 when absent */
	int unified_dir;	 /* index of the v2 directory, -1 when none */
	bool v2;		 /* the controllers are v2 (file names differ) */
};

/*
 * Create rel (e.g. "drover/node-1/pods/<uid>/<container>"; no "..", no leading "/") in every
 * hierarchy (mkdir -p; existing directories are fine). On pure v2 the controllers are
 * enabled in cgroup.subtree_control of every ancestor below the root. The cgroup, or NULL
 * with errno (EINVAL for a bad path; the mkdir's errno), nothing left behind on failure.
 */
struct cg *cg_create(const struct cg_layout *l, const char *rel);
/* The same without creating anything (an existing cgroup, e.g. one to adopt). */
struct cg *cg_open(const struct cg_layout *l, const char *rel);
void cg_free(struct cg *cg);

int cg_set_limits(const struct cg *cg, const struct cg_limits *lim);
/* Move pid into the cgroup in every hierarchy. 0 or -errno. */
int cg_join(const struct cg *cg, pid_t pid);
/* Kill every process inside with SIGKILL: v2 cgroup.kill where present, else SIGKILL to
 * every pid of cgroup.procs until none is left (or timeout_ms passes: -ETIMEDOUT). */
int cg_kill(const struct cg *cg, int timeout_ms);
/* Number of processes inside (the first hierarchy's cgroup.procs), or -errno. */
int cg_nprocs(const struct cg *cg);
/* rmdir in every hierarchy, retrying EBUSY until timeout_ms; a missing directory is fine. */
int cg_remove(const struct cg *cg, int timeout_ms);
int cg_read_usage(const struct cg *cg, struct cg_usage *u);
/* OOM kills the kernel counted inside (memory.events / memory.oom_control "oom_kill"); 0 when
 * unknown. */
uint64_t cg_oom_kills(const struct cg *cg);

#endif
