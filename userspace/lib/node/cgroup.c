/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup: layout detection from mountinfo, cgroup paths in every hierarchy, limits as kubelet
 * converts them, joins, kill, removal and usage. See cgroup.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "fsutil.h"
#include "log.h"

static const char *const ctrl_names[CG_CTRL_N] = {"cpu", "cpuacct", "memory", "pids"};

const char *cg_mode_name(enum cg_mode mode)
{
	switch (mode) {
	case CG_MODE_V2:
		return "v2";
	case CG_MODE_HYBRID:
		return "hybrid";
	case CG_MODE_V1:
		return "v1";
	}
	return "?";
}

/* ---- Kubernetes' conversions ---- */

#define MIN_SHARES	 2
#define MAX_SHARES	 262144
#define SHARES_PER_CPU	 1024
#define MILLI_PER_CPU	 1000
#define MIN_QUOTA_PERIOD 1000

uint64_t cg_millicpu_to_shares(int64_t milli)
{
	int64_t shares;

	if (milli <= 0)
		return MIN_SHARES;
	/* Saturate instead of overflowing: anything this large is MAX_SHARES anyway. */
	if (milli > (int64_t)MAX_SHARES * MILLI_PER_CPU)
		return MAX_SHARES;
	shares = milli * SHARES_PER_CPU / MILLI_PER_CPU;
	if (shares < MIN_SHARES)
		return MIN_SHARES;
	if (shares > MAX_SHARES)
		return MAX_SHARES;
	return (uint64_t)shares;
}

int64_t cg_millicpu_to_quota(int64_t milli, int64_t period_us)
{
	int64_t quota;

	if (milli <= 0 || period_us <= 0)
		return 0;
	if (milli > INT64_MAX / period_us)
		return INT64_MAX / MILLI_PER_CPU;
	quota = milli * period_us / MILLI_PER_CPU;
	if (quota < MIN_QUOTA_PERIOD)
		quota = MIN_QUOTA_PERIOD;
	return quota;
}

uint64_t cg_shares_to_weight(uint64_t shares)
{
	if (shares < MIN_SHARES)
		shares = MIN_SHARES;
	if (shares > MAX_SHARES)
		shares = MAX_SHARES;
	return 1 + ((shares - 2) * 9999) / 262142;
}

/* ---- layout detection ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. In place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* list (mount options: ",", cgroup.controllers: " \n" separated) has the item tok. */
static bool has_item(const char *list, const char *seps, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; *p;) {
		size_t len;

		p += strspn(p, seps);
		len = strcspn(p, seps);
		if (len == n && memcmp(p, tok, n) == 0)
			return true;
		p += len;
	}
	return false;
}

static bool under_root(const char *mnt, const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	return strncmp(mnt, root, n) == 0 && (mnt[n] == '\0' || mnt[n] == '/');
}

/* One mountinfo line: the mount point, file system type and super options, or false. */
static bool parse_mountinfo_line(char *line, char **mnt, char **fstype, char **superopts)
{
	char *save = NULL, *tok;
	int field = 0;
	bool after_sep = false;
	int after = 0;

	*mnt = *fstype = *superopts = NULL;
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		if (!after_sep) {
			if (field == 4)
				*mnt = tok;
			if (field >= 6 && strcmp(tok, "-") == 0)
				after_sep = true;
			field++;
			continue;
		}
		if (after == 0)
			*fstype = tok;
		else if (after == 2)
			*superopts = tok;
		after++;
	}
	return *mnt && *fstype && *superopts;
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off + 1 < size && (n = read(fd, buf + off, size - 1 - off)) > 0)
		off += (size_t)n;
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[off] = '\0';
	return (int)off;
}

void cg_layout_free(struct cg_layout *l)
{
	if (!l)
		return;
	free(l->unified);
	for (int i = 0; i < CG_CTRL_N; i++)
		free(l->v1[i]);
	free(l);
}

struct cg_layout *cg_layout_detect(const char *mountinfo, const char *root)
{
	struct cg_layout *l;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	bool root_is_v2 = false, any_v1 = false;
	int err = 0;

	if (!mountinfo)
		mountinfo = "/proc/self/mountinfo";
	if (!root)
		root = "/sys/fs/cgroup";
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	f = fopen(mountinfo, "re");
	if (!f) {
		err = errno;
		goto fail;
	}
	while (getline(&line, &cap, f) > 0) {
		char *mnt, *fstype, *opts;

		if (!parse_mountinfo_line(line, &mnt, &fstype, &opts))
			continue;
		unescape_octal(mnt);
		if (!under_root(mnt, root))
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			if (l->unified)
				continue; /* the first one wins */
			l->unified = strdup(mnt);
			if (!l->unified) {
				err = ENOMEM;
				break;
			}
			root_is_v2 = under_root(root, mnt);
		} else if (strcmp(fstype, "cgroup") == 0) {
			for (int c = 0; c < CG_CTRL_N; c++) {
				if (l->v1[c] || !has_item(opts, ",", ctrl_names[c]))
					continue;
				l->v1[c] = strdup(mnt);
				if (!l->v1[c]) {
					err = ENOMEM;
					break;
				}
				any_v1 = true;
			}
		}
	}
	free(line);
	fclose(f);
	if (err)
		goto fail;

	if (l->unified) {
		char path[PATH_MAX], buf[512];

		snprintf(path, sizeof(path), "%s/cgroup.controllers", l->unified);
		if (read_small(path, buf, sizeof(buf)) >= 0) {
			l->v2_ctrl[CG_CPU] = has_item(buf, " \n", "cpu");
			l->v2_ctrl[CG_MEMORY] = has_item(buf, " \n", "memory");
			l->v2_ctrl[CG_PIDS] = has_item(buf, " \n", "pids");
			/* v2 accounts cpu usage (cpu.stat) with or without the cpu controller. */
			l->v2_ctrl[CG_CPUACCT] = true;
		}
	}
	if (root_is_v2 || (l->unified && !any_v1)) {
		/* Pure v2. A v1 mount beside a cgroup2 root is not used. */
		l->mode = CG_MODE_V2;
		for (int c = 0; c < CG_CTRL_N; c++) {
			free(l->v1[c]);
			l->v1[c] = NULL;
		}
	} else if (any_v1) {
		l->mode = l->unified ? CG_MODE_HYBRID : CG_MODE_V1;
	} else {
		err = ENOENT;
		goto fail;
	}
	return l;
fail:
	cg_layout_free(l);
	errno = err;
	return NULL;
}

/* ---- one cgroup in every hierarchy ---- */

static bool rel_ok(const char *rel)
{
	if (!rel || !*rel || rel[0] == '/' || strlen(rel) >= PATH_MAX / 2)
		return false;
	for (const char *p = rel; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p == '/')
			p++;
	}
	return rel[strlen(rel) - 1] != '/';
}

static int add_dir(struct cg *cg, const char *base, const char *rel)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, rel) >= sizeof(path))
		return -ENAMETOOLONG;
	for (int i = 0; i < cg->n; i++) {
		if (strcmp(cg->dir[i], path) == 0)
			return i;
	}
	cg->dir[cg->n] = strdup(path);
	if (!cg->dir[cg->n])
		return -ENOMEM;
	return cg->n++;
}

static struct cg *cg_build(const struct cg_layout *l, const char *rel)
{
	struct cg *cg;
	int i;

	if (!l || !rel_ok(rel)) {
		errno = EINVAL;
		return NULL;
	}
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return NULL;
	cg->unified_dir = -1;
	for (int c = 0; c < CG_CTRL_N; c++)
		cg->ctrl_dir[c] = -1;
	cg->v2 = l->mode == CG_MODE_V2;
	for (int c = 0; c < CG_CTRL_N; c++) {
		const char *base = cg->v2 ? (l->v2_ctrl[c] ? l->unified : NULL) : l->v1[c];

		if (!base)
			continue;
		i = add_dir(cg, base, rel);
		if (i < 0)
			goto fail;
		cg->ctrl_dir[c] = i;
	}
	if (l->unified) {
		i = add_dir(cg, l->unified, rel);
		if (i < 0)
			goto fail;
		cg->unified_dir = i;
	}
	return cg;
fail:
	cg_free(cg);
	errno = -i;
	return NULL;
}

struct cg *cg_open(const struct cg_layout *l, const char *rel)
{
	return cg_build(l, rel);
}

void cg_free(struct cg *cg)
{
	if (!cg)
		return;
	for (int i = 0; i < cg->n; i++)
		free(cg->dir[i]);
	free(cg);
}

/* The directory of a controller, or NULL. */
static const char *cg_ctrl_dir(const struct cg *cg, enum cg_ctrl c)
{
	if (!cg || c >= CG_CTRL_N || cg->ctrl_dir[c] < 0)
		return NULL;
	return cg->dir[cg->ctrl_dir[c]];
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX];
	int fd, err = 0;
	size_t len = strlen(val);

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC); /* as `echo >` does */
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		err = -errno;
	close(fd);
	if (err)
		log_debug("cgroup", "%s = %s: %s", path, val, strerror(-err));
	return err;
}

/* rmdir dir and its parents down to the first fs_mkdir_p made: made is its length (0: none). */
static void rmdir_up(char *dir, size_t made)
{
	if (!made)
		return;
	for (;;) {
		char *slash;

		rmdir(dir);
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < made)
			return;
		*slash = '\0';
	}
}

/* On v2, enable the controllers for the children of every ancestor from the root down. */
static int v2_enable(const struct cg_layout *l, const char *rel)
{
	char path[PATH_MAX], ctl[64] = "";
	size_t n;

	for (int c = 0; c < CG_CTRL_N; c++) {
		if (c != CG_CPUACCT && l->v2_ctrl[c]) {
			strcat(ctl, ctl[0] ? " +" : "+");
			strcat(ctl, ctrl_names[c]);
		}
	}
	if (!ctl[0])
		return 0;
	n = (size_t)snprintf(path, sizeof(path), "%s", l->unified);
	for (const char *p = rel;;) {
		const char *slash = strchr(p, '/');
		int err;

		err = write_file(path, "cgroup.subtree_control", ctl);
		if (err) {
			log_error("cgroup", "%s/cgroup.subtree_control: cannot enable %s: %s", path,
				  ctl, strerror(-err));
			return err;
		}
		if (!slash)
			return 0;
		n += (size_t)snprintf(path + n, sizeof(path) - n, "/%.*s", (int)(slash - p), p);
		p = slash + 1;
	}
}

struct cg *cg_create(const struct cg_layout *l, const char *rel)
{
	struct cg *cg = cg_build(l, rel);
	size_t made[CG_MAX_HIER];
	int err = 0, i;

	if (!cg)
		return NULL;
	for (i = 0; i < cg->n; i++) {
		err = fs_mkdir_p(cg->dir[i], 0755, &made[i]);
		if (err) {
			log_error("cgroup", "mkdir %s: %s", cg->dir[i], strerror(-err));
			goto fail;
		}
	}
	/* After the mkdirs: the ancestors' cgroup.subtree_control exist only then. */
	if (cg->v2 && (err = v2_enable(l, rel)) != 0) {
		i = cg->n - 1;
		goto fail;
	}
	return cg;
fail:
	for (; i >= 0; i--)
		rmdir_up(cg->dir[i], made[i]);
	cg_free(cg);
	errno = -err;
	return NULL;
}

/* ---- limits, joins, kill, removal, usage ---- */

int cg_set_limits(const struct cg *cg, const struct cg_limits *lim)
{
	char v[64];
	const char *cpu = cg_ctrl_dir(cg, CG_CPU), *mem = cg_ctrl_dir(cg, CG_MEMORY),
		   *pids = cg_ctrl_dir(cg, CG_PIDS);
	int64_t quota = cg_millicpu_to_quota(lim->cpu_limit_milli, CG_CPU_PERIOD_US);
	int err;

	if (lim->cpu_request_milli >= 0 || lim->cpu_limit_milli > 0) {
		if (!cpu)
			return -EOPNOTSUPP;
	}
	if ((lim->memory_bytes > 0 && !mem) || (lim->pids_max > 0 && !pids))
		return -EOPNOTSUPP;
	if (cpu && lim->cpu_request_milli >= 0) {
		uint64_t shares = cg_millicpu_to_shares(lim->cpu_request_milli);

		if (cg->v2) {
			snprintf(v, sizeof(v), "%llu",
				 (unsigned long long)cg_shares_to_weight(shares));
			err = write_file(cpu, "cpu.weight", v);
		} else {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)shares);
			err = write_file(cpu, "cpu.shares", v);
		}
		if (err)
			return err;
	}
	if (cpu) {
		if (cg->v2) {
			if (quota > 0)
				snprintf(v, sizeof(v), "%lld %d", (long long)quota,
					 CG_CPU_PERIOD_US);
			else
				snprintf(v, sizeof(v), "max %d", CG_CPU_PERIOD_US);
			err = write_file(cpu, "cpu.max", v);
		} else {
			snprintf(v, sizeof(v), "%d", CG_CPU_PERIOD_US);
			err = write_file(cpu, "cpu.cfs_period_us", v);
			if (!err) {
				snprintf(v, sizeof(v), "%lld", quota > 0 ? (long long)quota : -1LL);
				err = write_file(cpu, "cpu.cfs_quota_us", v);
			}
		}
		if (err)
			return err;
	}
	if (mem) {
		if (lim->memory_bytes > 0)
			snprintf(v, sizeof(v), "%lld", (long long)lim->memory_bytes);
		else
			snprintf(v, sizeof(v), "%s", cg->v2 ? "max" : "-1");
		err = write_file(mem, cg->v2 ? "memory.max" : "memory.limit_in_bytes", v);
		if (err)
			return err;
	}
	if (pids) {
		if (lim->pids_max > 0)
			snprintf(v, sizeof(v), "%lld", (long long)lim->pids_max);
		else
			snprintf(v, sizeof(v), "max");
		err = write_file(pids, "pids.max", v);
		if (err)
			return err;
	}
	return 0;
}

int cg_join(const struct cg *cg, pid_t pid)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (int i = 0; i < cg->n; i++) {
		int err = write_file(cg->dir[i], "cgroup.procs", v);

		if (err) {
			log_error("cgroup", "join %s: pid %d: %s", cg->dir[i], (int)pid,
				  strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Calls fn for every pid of dir/cgroup.procs; the count, or -errno. */
static int for_each_pid(const char *dir, void (*fn)(pid_t))
{
	char path[PATH_MAX];
	FILE *f;
	int n = 0, pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1) {
		if (fn)
			fn(pid);
		n++;
	}
	fclose(f);
	return n;
}

static void kill_pid(pid_t pid)
{
	kill(pid, SIGKILL);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void nap(void)
{
	struct timespec ts = {0, 2 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

int cg_nprocs(const struct cg *cg)
{
	int n, total = 0;

	for (int i = 0; i < cg->n; i++) {
		n = for_each_pid(cg->dir[i], NULL);
		if (n == -ENOENT)
			continue;
		if (n < 0)
			return n;
		if (n > total)
			total = n;
	}
	return total;
}

int cg_kill(const struct cg *cg, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	bool v2kill = false;

	/* cgroup.kill (Linux 5.14) is missing on older kernels: the open fails, we sweep. */
	if (cg->unified_dir >= 0)
		v2kill = write_file(cg->dir[cg->unified_dir], "cgroup.kill", "1") == 0;
	for (;;) {
		int n = 0;

		/* Without cgroup.kill, a process may fork between the read and the kill: sweep
		 * every hierarchy until all are empty. */
		for (int i = 0; i < cg->n; i++) {
			int m = for_each_pid(cg->dir[i], v2kill ? NULL : kill_pid);

			if (m > 0)
				n += m;
		}
		if (n == 0)
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		nap();
	}
}

int cg_remove(const struct cg *cg, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int err = 0;

	for (int i = 0; i < cg->n; i++) {
		while (rmdir(cg->dir[i]) != 0) {
			if (errno == ENOENT)
				break;
			if (errno != EBUSY || now_ms() > deadline) {
				err = -errno;
				log_error("cgroup", "rmdir %s: %s", cg->dir[i], strerror(errno));
				break;
			}
			nap();
		}
	}
	return err;
}

static int read_u64(const char *dir, const char *name, const char *key, uint64_t *out)
{
	char path[PATH_MAX], buf[4096];
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (key) {
		size_t klen = strlen(key);

		for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
				return sscanf(p + klen + 1, "%llu", (unsigned long long *)out) == 1
					   ? 0
					   : -EINVAL;
		}
		return -ENOENT;
	}
	return sscanf(buf, "%llu", (unsigned long long *)out) == 1 ? 0 : -EINVAL;
}

int cg_read_usage(const struct cg *cg, struct cg_usage *u)
{
	const char *mem = cg_ctrl_dir(cg, CG_MEMORY), *acct = cg_ctrl_dir(cg, CG_CPUACCT);
	int err = 0;

	memset(u, 0, sizeof(*u));
	if (mem)
		err = read_u64(mem, cg->v2 ? "memory.current" : "memory.usage_in_bytes", NULL,
			       &u->memory_bytes);
	if (!err && acct) {
		if (cg->v2) {
			err = read_u64(acct, "cpu.stat", "usage_usec", &u->cpu_usec);
		} else {
			err = read_u64(acct, "cpuacct.usage", NULL, &u->cpu_usec);
			u->cpu_usec /= 1000;
		}
	}
	return err;
}

/* The kernel's count of OOM kills inside the cgroup: v2 memory.events "oom_kill", v1
 * memory.oom_control "oom_kill" (4.13+). containerd reports a container that exited after
 * one as OOMKilled (its CRI status reason); the agent compares the count before and after a
 * run. 0 when there is no memory controller or no such counter. */
uint64_t cg_oom_kills(const struct cg *cg)
{
	const char *mem = cg_ctrl_dir(cg, CG_MEMORY);
	uint64_t n = 0;

	if (mem &&
	    read_u64(mem, cg->v2 ? "memory.events" : "memory.oom_control", "oom_kill", &n) < 0)
		n = 0;
	return n;
}
