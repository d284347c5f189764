/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_net: a pod's sandbox. The network namespace is made as iproute2 makes one (a child
 * unshares its network namespace and bind-mounts it on /run/netns/drv-<uid>), with lo up;
 * the CNI plugin named by the configuration's "type" is then run exactly as a runtime runs
 * one: CNI_COMMAND, CNI_CONTAINERID (the pod uid), CNI_NETNS, CNI_IFNAME=eth0, CNI_PATH and
 * CNI_ARGS (containerd's K8S_POD_* keys) in the environment, the configuration on stdin, the
 * result (or the spec's error object) on stdout. The pod IP is the result's first IPv4.
 * Every sandbox is recorded as root/sandboxes/<uid> while it exists, so that a restarted agent
 * cleans up its own (and only its own: several agents share /run/netns on one machine).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_pod.h"
#include "nl.h"

#define NETNS_DIR    "/run/netns"
#define NETNS_PREFIX "drv-"

extern char **environ;

static void netns_path(const char *uid, char *buf, size_t size)
{
	snprintf(buf, size, NETNS_DIR "/" NETNS_PREFIX "%s", uid);
}

void agent_pod_netns(const char *uid, char *buf, size_t size)
{
	netns_path(uid, buf, size);
}

static void record_path(const struct agent *a, const char *uid, char *buf, size_t size)
{
	snprintf(buf, size, "%s/sandboxes/%s", a->cfg->root, uid);
}

static int record(const struct agent *a, const char *uid, bool on)
{
	char path[PATH_MAX];
	int fd;

	record_path(a, uid, path, sizeof(path));
	if (!on)
		return unlink(path) && errno != ENOENT ? -errno : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* The pod's namespace by its name under /run/netns (nl.c makes it with lo up, as `ip netns
 * add` would, and removes it). */
static const char *netns_name(const char *path)
{
	return path + sizeof(NETNS_DIR);
}

static int netns_make(const char *path)
{
	return nl_netns_add(netns_name(path));
}

static void netns_remove(const char *path)
{
	int err = nl_netns_del(netns_name(path));

	if (err && err != -ENOENT)
		log_warn(AGENT_COMP, "remove %s: %s", path, strerror(-err));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 > cap) {
			char *nb = realloc(buf, cap = n + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);

		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/*
 * Run the plugin: verb for pod p, the configuration on stdin; *out gets its stdout (malloc'd).
 * 0 when it exited 0, else -EIO (its error object is in *out).
 */
static int cni_run(struct agent *a, const struct apod *p, const char *verb, char **out)
{
	char *conf = NULL, plugin[PATH_MAX * 2], e_cmd[32], e_id[128], e_ns[PATH_MAX + 16],
	     e_path[PATH_MAX + 16], e_args[1200];
	const char *type;
	struct jv_doc *d = NULL;
	struct jv *cj;
	size_t len = 0, olen = 0, ocap = 0;
	int in[2] = {-1, -1}, outp[2] = {-1, -1}, st = 0, rc = -EIO;
	char *envp[8], *argv[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;

	*out = NULL;
	conf = slurp(a->cni_conf, &len);
	if (!conf)
		return -errno ? -errno : -ENOMEM;
	d = jv_doc_new();
	cj = d ? jv_parse(d, conf, len, NULL) : NULL;
	type = jv_path_str(cj, "type");
	if (!type || strchr(type, '/')) {
		log_error(AGENT_COMP, "CNI configuration %s names no plugin type", a->cni_conf);
		rc = -EINVAL;
		goto out;
	}
	snprintf(plugin, sizeof(plugin), "%s/%s", a->cni_bin_dir, type);
	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", verb);
	snprintf(e_id, sizeof(e_id), "CNI_CONTAINERID=%s", p->uid);
	snprintf(e_ns, sizeof(e_ns), "CNI_NETNS=%s", p->netns);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", a->cni_bin_dir);
	snprintf(e_args, sizeof(e_args),
		 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
		 "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
		 p->ns, p->name, p->uid, p->uid);
	envp[0] = e_cmd;
	envp[1] = e_id;
	envp[2] = e_ns;
	envp[3] = (char *)"CNI_IFNAME=eth0";
	envp[4] = e_path;
	envp[5] = e_args;
	envp[6] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[7] = NULL;
	argv[0] = plugin;
	argv[1] = NULL;
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC)) {
		rc = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	rc = posix_spawn(&pid, plugin, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	in[0] = outp[1] = -1;
	if (rc) {
		log_error(AGENT_COMP, "CNI plugin %s: %s", plugin, strerror(rc));
		rc = -rc;
		goto out;
	}
	/* the configuration is small (well below a pipe's buffer) */
	if (write(in[1], conf, len) != (ssize_t)len)
		log_warn(AGENT_COMP, "CNI plugin %s: short write of its configuration", plugin);
	close(in[1]);
	in[1] = -1;
	for (;;) {
		ssize_t r;

		if (olen + 4096 >= ocap) {
			char *nb = realloc(*out, ocap = ocap ? ocap * 2 : 8192);

			if (!nb)
				break;
			*out = nb;
		}
		r = read(outp[0], *out + olen, ocap - olen - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		olen += (size_t)r;
	}
	if (*out)
		(*out)[olen] = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 && *out ? 0 : -EIO;
	if (rc)
		log_warn(AGENT_COMP, "pod %s: CNI %s: %s", p->key, verb,
			 *out ? *out : "(no output)");
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	jv_doc_free(d);
	free(conf);
	return rc;
}

/* The CNI ADD's thread (agent_sandbox_begin): the plugin run, its time, its output kept. */
/* p->net_err: a failed ADD's error object's msg (the CNI spec's), in containerd's words. */
static void net_error(struct apod *p, const char *out, int rc)
{
	struct jv_doc *d = out ? jv_doc_new() : NULL;
	const struct jv *e = d ? jv_parse(d, out, strlen(out), NULL) : NULL;
	const char *msg = jv_path_str(e, "msg");

	snprintf(p->net_err, sizeof(p->net_err), "failed to setup network for sandbox \"%s\": %s",
		 p->uid, msg ? msg : strerror(-rc));
	jv_doc_free(d);
}

/* The sandbox's thread (agent_sandbox_begin): the namespace (p->netns_rc, told to
 * agent_sandbox_netns), then the plugin's ADD, its output kept for agent_sandbox_wait. */
static void *sandbox_make(void *arg)
{
	struct apod *p = arg;
	double t0 = agent_mono_ms();
	int rc = record(p->net_agent, p->uid, true);

	if (!rc)
		rc = netns_make(p->netns);
	p->ms[AGENT_MS_NETNS] = agent_mono_ms() - t0;
	if (rc) {
		log_error(AGENT_COMP, "pod %s: network namespace %s: %s", p->key, p->netns,
			  strerror(-rc));
		snprintf(p->net_err, sizeof(p->net_err), "network namespace: %s", strerror(-rc));
	}
	pthread_mutex_lock(&p->net_mu);
	p->netns_rc = rc;
	p->netns_done = true;
	pthread_cond_broadcast(&p->net_cv);
	pthread_mutex_unlock(&p->net_mu);
	if (rc) {
		p->net_rc = rc;
		return NULL;
	}
	t0 = agent_mono_ms();
	p->net_rc = cni_run(p->net_agent, p, "ADD", &p->net_out);
	p->ms[AGENT_MS_CNI] = agent_mono_ms() - t0;
	if (p->net_rc)
		net_error(p, p->net_out, p->net_rc);
	return NULL;
}

int agent_sandbox_begin(struct agent *a, struct apod *p)
{
	netns_path(p->uid, p->netns, sizeof(p->netns));
	if (access(p->netns, F_OK) == 0) {
		/* a sandbox of an earlier run (the agent restarted): made again from scratch */
		log_info(AGENT_COMP, "pod %s: removing the sandbox of an earlier run", p->key);
		agent_sandbox_down(a, p);
	}
	memset(p->ms, 0, sizeof(p->ms));
	p->net_agent = a;
	p->net_out = NULL;
	p->netns_done = false;
	pthread_mutex_init(&p->net_mu, NULL);
	pthread_cond_init(&p->net_cv, NULL);
	p->net_pending = true;
	if (pthread_create(&p->net_thread, NULL, sandbox_make, p)) {
		/* no thread for it: made now, joined at once */
		p->net_pending = false;
		sandbox_make(p);
	}
	return 0;
}

int agent_sandbox_netns(struct apod *p)
{
	int rc;

	if (!p->net_agent)
		return p->sandbox ? 0 : -ENETDOWN;
	pthread_mutex_lock(&p->net_mu);
	while (!p->netns_done)
		pthread_cond_wait(&p->net_cv, &p->net_mu);
	rc = p->netns_rc;
	pthread_mutex_unlock(&p->net_mu);
	return rc;
}

int agent_sandbox_wait(struct agent *a, struct apod *p)
{
	struct jv_doc *d;
	struct jv *r;
	char *out;
	const char *addr = NULL;
	int rc;

	if (p->net_pending) {
		pthread_join(p->net_thread, NULL);
		p->net_pending = false;
	} else if (!p->net_agent) {
		return p->sandbox ? 0 : -ENETDOWN;
	}
	p->net_agent = NULL;
	pthread_cond_destroy(&p->net_cv);
	pthread_mutex_destroy(&p->net_mu);
	out = p->net_out;
	p->net_out = NULL;
	rc = p->net_rc;
	if (rc) {
		free(out);
		/* best effort, as the kubelet tears a failed sandbox down */
		agent_sandbox_down(a, p);
		return rc;
	}
	d = jv_doc_new();
	r = d ? jv_parse(d, out, strlen(out), NULL) : NULL;
	for (const struct jv *ip = jv_first(jv_get(r, "ips")); ip && !addr; ip = ip->next) {
		const char *s = jv_path_str(ip, "address");

		if (s && strchr(s, '.'))
			addr = s;
	}
	if (addr) {
		snprintf(p->ip, sizeof(p->ip), "%.*s", (int)strcspn(addr, "/"), addr);
		p->sandbox = true;
	} else {
		log_error(AGENT_COMP, "pod %s: the CNI result has no IPv4 address: %s", p->key,
			  out);
		rc = -EIO;
		net_error(p, "{\"msg\": \"the CNI result has no IPv4 address\"}", rc);
	}
	jv_doc_free(d);
	free(out);
	if (rc)
		agent_sandbox_down(a, p);
	return rc;
}

int agent_sandbox_up(struct agent *a, struct apod *p)
{
	int rc = agent_sandbox_begin(a, p);

	return rc ? rc : agent_sandbox_wait(a, p);
}

int agent_sandbox_down(struct agent *a, struct apod *p)
{
	char *out = NULL;
	int rc;

	if (!p->netns[0])
		netns_path(p->uid, p->netns, sizeof(p->netns));
	/* DEL is idempotent: also when ADD never finished */
	rc = cni_run(a, p, "DEL", &out);
	free(out);
	netns_remove(p->netns);
	if (rc == 0)
		record(a, p->uid, false); /* else a later start retries the DEL */
	p->sandbox = false;
	p->ip[0] = 0;
	return rc;
}

void agent_sandbox_gc(struct agent *a, bool (*keep)(void *arg, const char *uid), void *arg)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/sandboxes", a->cfg->root);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		struct apod p = {0};

		if (e->d_name[0] == '.')
			continue;
		snprintf(p.uid, sizeof(p.uid), "%.63s", e->d_name);
		if (keep(arg, p.uid))
			continue;
		snprintf(p.key, sizeof(p.key), "uid %s", p.uid);
		snprintf(p.ns, sizeof(p.ns), "unknown");
		snprintf(p.name, sizeof(p.name), "unknown");
		log_info(AGENT_COMP, "removing the sandbox of pod uid %s: not bound here any more",
			 p.uid);
		agent_pod_cgroup_purge(a, p.uid);
		agent_sandbox_down(a, &p);
	}
	closedir(dir);
}
