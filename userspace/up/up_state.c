/* SPDX-License-Identifier: Apache-2.0 */
/*
 * up_state: the names of a cluster's parts, its state file (DIR/up.state: one line per fact,
 * appended and fsync'd before the thing it names is made), and the teardown `drover down`
 * and a failed `drover up` run. Teardown is idempotent and derives every name from the
 * cluster ID, so a crash between any two steps of up leaves nothing it cannot find.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "dataplane.h"
#include "nl.h"
#include "runtime.h"
#include "up.h"

void up_fabric_netns(unsigned id, char *buf, size_t size)
{
	snprintf(buf, size, "drover-up%u-fabric", id);
}

void up_node_netns(unsigned id, unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "drover-up%u-node-%u", id, i);
}

void up_host_link(unsigned id, char *buf, size_t size)
{
	snprintf(buf, size, "drvup%u", id);
}

void up_cgroup(unsigned id, char *buf, size_t size)
{
	snprintf(buf, size, "drover-up%u", id);
}

void up_pin_root(unsigned id, unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "/sys/fs/bpf/drover-up%u-node-%u", id, i);
}

void up_node_name(unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "node-%u", i);
}

void up_addr(unsigned id, unsigned host, char *buf, size_t size)
{
	snprintf(buf, size, "198.19.%u.%u", id, host);
}

/* ---- the state file ---- */

static int append(const char *dir, const char *line, bool create)
{
	char path[4096];
	int fd, err = 0;
	size_t len = strlen(line);

	snprintf(path, sizeof(path), "%s/" UP_STATE_FILE, dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, line, len) != (ssize_t)len || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

int up_state_begin(const char *dir, unsigned id, unsigned nodes)
{
	char line[128];

	snprintf(line, sizeof(line), "drover-up 1\ncluster %u %u\n", id, nodes);
	return append(dir, line, true);
}

int up_state_pid(const char *dir, pid_t pid, const char *what)
{
	char line[256];

	snprintf(line, sizeof(line), "pid %d %llu %s\n", (int)pid, rt_pid_starttime(pid), what);
	return append(dir, line, false);
}

int up_state_read(const char *dir, struct up_state *st)
{
	char path[4096], line[512];
	FILE *f;
	bool magic = false;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/" UP_STATE_FILE, dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned a, b;
		int pid;
		unsigned long long start;
		char what[64];

		if (!strcmp(line, "drover-up 1\n"))
			magic = true;
		else if (sscanf(line, "cluster %u %u", &a, &b) == 2 && a >= 1 && a <= UP_MAX_ID &&
			 b <= UP_MAX_NODES) {
			st->id = a;
			st->nodes = b;
		} else if (sscanf(line, "pid %d %llu %63s", &pid, &start, what) == 3 && pid > 1 &&
			   st->npids < UP_MAX_PIDS) {
			st->pids[st->npids].pid = pid;
			st->pids[st->npids].start = start;
			snprintf(st->pids[st->npids].what, sizeof(st->pids[0].what), "%s", what);
			st->npids++;
		}
	}
	fclose(f);
	return magic && st->id ? 0 : -EINVAL;
}

/* ---- teardown ---- */

struct tally {
	unsigned procs, netns, links, cgroups, mounts, pins;
	int err;
};

static void note_err(struct tally *t, int err)
{
	if (err && !t->err)
		t->err = err;
}

/* Kill every process of every cgroup under dir (depth first) and, unless kill_only, remove
 * the directories; the counts and the first error go to t. Processes are killed again until
 * none is left (a fork racing the kill), for a few seconds at most. */
static void cg_tree_kill(const char *dir, struct tally *t, bool kill_only)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	FILE *f;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		cg_tree_kill(path, t, kill_only);
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int round = 0; round < 100; round++) {
		int pid, n = 0;

		f = fopen(path, "re");
		if (!f)
			break;
		while (fscanf(f, "%d", &pid) == 1) {
			if (kill(pid, SIGKILL) == 0 && round == 0)
				t->procs++;
			n++;
		}
		fclose(f);
		if (!n)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	if (kill_only)
		return;
	for (int round = 0; round < 100; round++) {
		if (!rmdir(dir) || errno == ENOENT) {
			t->cgroups++;
			return;
		}
		if (errno != EBUSY) {
			note_err(t, -errno);
			fprintf(stderr, "drover down: rmdir %s: %s\n", dir, strerror(errno));
			return;
		}
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	fprintf(stderr, "drover down: rmdir %s: %s\n", dir, strerror(EBUSY));
	note_err(t, -EBUSY);
}

/* The subtree in every hierarchy (the v1 controllers' and the v2 tree); kill_only for the
 * first pass (everything is killed before anything is removed). */
static void cgroups(unsigned id, struct tally *t, bool kill_only)
{
	struct cg_layout *l = cg_layout_detect(NULL, NULL);
	char rel[64];
	struct cg *cg;
	unsigned before = t->cgroups;

	if (!l)
		return;
	up_cgroup(id, rel, sizeof(rel));
	cg = cg_open(l, rel);
	for (int i = 0; cg && i < cg->n; i++)
		cg_tree_kill(cg->dir[i], t, kill_only);
	cg_free(cg);
	cg_layout_free(l);
	if (!kill_only && t->cgroups > before)
		t->cgroups = before + 1; /* one subtree, however many hierarchies */
}

static void kill_recorded(const struct up_state *st, struct tally *t)
{
	for (size_t i = 0; i < st->npids; i++) {
		pid_t pid = st->pids[i].pid;
		unsigned long long start = st->pids[i].start;

		if (!rt_pid_running(pid, start))
			continue; /* gone, or the pid was reused */
		if (kill(pid, SIGKILL) == 0)
			t->procs++;
		/* wait for it to die (200 x 20 ms at most): a netns it holds goes only then */
		for (int r = 0; r < 200 && rt_pid_running(pid, start); r++)
			nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
}

/* The pods' namespaces each agent recorded (root/sandboxes/<uid> <-> /run/netns/drv-<uid>) */
static void pod_netns(const char *dir, const struct up_state *st, struct tally *t)
{
	for (unsigned i = 1; i <= st->nodes; i++) {
		char path[4096], node[32], ns[300];
		struct dirent *e;
		DIR *d;

		up_node_name(i, node, sizeof(node));
		snprintf(path, sizeof(path), "%s/nodes/%s/sandboxes", dir, node);
		if (!(d = opendir(path)))
			continue;
		while ((e = readdir(d))) {
			int err;

			if (e->d_name[0] == '.')
				continue;
			snprintf(ns, sizeof(ns), "drv-%s", e->d_name);
			err = nl_netns_del(ns);
			if (!err)
				t->netns++;
			else if (err != -ENOENT)
				note_err(t, err);
		}
		closedir(d);
	}
}

/* Each node's service proxy: its attachments (cgroup links, tc filters, XDP) and pins; the
 * agents are gone, so nothing holds them but the pins. */
static void pin_roots(const struct up_state *st, struct tally *t)
{
	char path[128];

	for (unsigned i = 1; i <= st->nodes; i++) {
		up_pin_root(st->id, i, path, sizeof(path));
		if (access(path, F_OK))
			continue;
		note_err(t, dp_uninstall(path));
		if (rmdir(path) && errno != ENOENT)
			note_err(t, -errno);
		else
			t->pins++;
	}
}

static void netns_and_links(const struct up_state *st, struct tally *t)
{
	char name[64];
	struct nl nl;
	struct nl_link l;
	int err;

	for (unsigned i = 1; i <= st->nodes; i++) {
		up_node_netns(st->id, i, name, sizeof(name));
		err = nl_netns_del(name);
		if (!err)
			t->netns++;
		else if (err != -ENOENT)
			note_err(t, err);
	}
	up_host_link(st->id, name, sizeof(name));
	if (nl_open(&nl) == 0) {
		if (nl_link_by_name(&nl, name, &l) == 0) {
			err = nl_link_del(&nl, l.ifindex);
			if (!err)
				t->links++;
			else
				note_err(t, err);
		}
		nl_close(&nl);
	}
	up_fabric_netns(st->id, name, sizeof(name));
	err = nl_netns_del(name);
	if (!err)
		t->netns++;
	else if (err != -ENOENT)
		note_err(t, err);
}

/* Mounts under dir (the runtime's, should any be left in this mount namespace): deepest
 * first, lazily. */
static void mounts(const char *dir, struct tally *t)
{
	char line[8192], *v[256];
	size_t n = 0, dl = strlen(dir);
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return;
	while (n < 256 && fgets(line, sizeof(line), f)) {
		char mp[4096];

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (!strncmp(mp, dir, dl) && (mp[dl] == '/' || !mp[dl]))
			v[n++] = strdup(mp);
	}
	fclose(f);
	while (n--) {
		if (v[n] && umount2(v[n], MNT_DETACH) == 0)
			t->mounts++;
		free(v[n]);
	}
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) && errno != ENOENT ? -1 : 0;
	return unlink(path) && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path)
{
	if (access(path, F_OK))
		return 0;
	return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) ? -errno : 0;
}

int up_teardown(const char *dir, const struct up_state *st, char *out, size_t outlen)
{
	struct tally t = {0};
	char path[4096];
	static const char *const made[] = {"server",	"nodes", "kubeconfig",
					   "bootstrap", "tmp",	 "storage"};

	/* processes first (agents before their containers could be restarted by them), then
	 * what they held */
	kill_recorded(st, &t);
	cgroups(st->id, &t, true);
	pod_netns(dir, st, &t);
	pin_roots(st, &t);
	netns_and_links(st, &t);
	cgroups(st->id, &t, false);
	mounts(dir, &t);
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
		if (rm_rf(path))
			note_err(&t, -errno);
	}
	if (!t.err) {
		snprintf(path, sizeof(path), "%s/" UP_STATE_FILE, dir);
		if (unlink(path) && errno != ENOENT)
			note_err(&t, -errno);
	}
	snprintf(out, outlen,
		 "%u process(es) killed, %u network namespace(s), %u link(s), %u cgroup "
		 "tree(s), %u mount(s), %u pin root(s) removed",
		 t.procs, t.netns, t.links, t.cgroups, t.mounts, t.pins);
	return t.err;
}
