/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_ctr: one container started as the kubelet and a CRI runtime would start it. The image
 * resolves in the local image store (no registry: a missing image is ErrImagePull, as a failed
 * pull); argv follows Kubernetes' rules over the image's Entrypoint/Cmd (command replaces the
 * Entrypoint and drops Cmd; args replace Cmd); env is the image's, then the container's
 * (literal values, fieldRef metadata.name/namespace/uid, spec.nodeName, spec.serviceAccountName,
 * status.podIP/hostIP); workingDir over the image's; cpu/memory limits and the cpu request in
 * the container's cgroup (<cgroup-parent>/pods/<uid>/<name>); a fresh overlay (upper/work) per
 * run, as a new container per restart; logs under root/pods/<ns>_<name>_<uid>/<name>/<n>.log.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_pod.h"
#include "fsutil.h"
#include "k8s.h"

#define MAX_ARGS 256
#define MAX_ENV	 512

void agent_pod_dir(const struct agent *a, const struct apod *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s/pods/%s_%s_%s", a->cfg->root, p->ns, p->name, p->uid);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT)
		log_warn(AGENT_COMP, "remove %s: %s", path, strerror(errno));
	return 0;
}

int agent_rm_rf(const char *path)
{
	if (access(path, F_OK))
		return 0;
	return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) ? -errno : 0;
}

/* An array of strings (spec.containers[].command/args) appended to argv. */
static int push_strs(char **argv, size_t *n, const struct jv *a)
{
	for (const struct jv *s = jv_first(a); s; s = s->next) {
		if (*n + 1 >= MAX_ARGS)
			return -E2BIG;
		if (s->type != JV_STRING)
			return -EINVAL;
		argv[(*n)++] = (char *)s->s;
	}
	return 0;
}

static int push_strv(char **argv, size_t *n, char **v)
{
	for (; v && *v; v++) {
		if (*n + 1 >= MAX_ARGS)
			return -E2BIG;
		argv[(*n)++] = *v;
	}
	return 0;
}

/* The value of a fieldRef the downward API allows in env. */
static const char *field_ref(const struct agent *a, const struct apod *p, const struct jv *pod,
			     const char *path)
{
	if (!strcmp(path, "metadata.name"))
		return p->name;
	if (!strcmp(path, "metadata.namespace"))
		return p->ns;
	if (!strcmp(path, "metadata.uid"))
		return p->uid;
	if (!strcmp(path, "spec.nodeName"))
		return a->cfg->node;
	if (!strcmp(path, "spec.serviceAccountName"))
		return jv_path_str(pod, "spec.serviceAccountName");
	if (!strcmp(path, "status.podIP"))
		return p->ip;
	if (!strcmp(path, "status.hostIP"))
		return a->node_ip;
	return NULL;
}

/* env: the image's, then the container's (a later name replaces an earlier one). The strings
 * are malloc'd into env[]; *n of them. */
static int build_env(const struct agent *a, const struct apod *p, const struct jv *pod,
		     const struct jv *ctr, char **img_env, char **env, size_t *n)
{
	for (char **e = img_env; e && *e; e++) {
		if (*n + 1 >= MAX_ENV)
			return -E2BIG;
		if (!(env[(*n)++] = strdup(*e)))
			return -ENOMEM;
	}
	for (const struct jv *e = jv_first(jv_get(ctr, "env")); e; e = e->next) {
		const char *name = jv_path_str(e, "name"), *v = jv_path_str(e, "value");
		const char *fr = jv_path_str(e, "valueFrom.fieldRef.fieldPath");
		size_t nl;
		char *kv;

		if (!name)
			continue;
		if (!v && fr)
			v = field_ref(a, p, pod, fr);
		if (!v && jv_get(e, "valueFrom")) {
			log_warn(AGENT_COMP,
				 "pod %s: env %s: only fieldRef is supported in valueFrom", p->key,
				 name);
			continue;
		}
		if (asprintf(&kv, "%s=%s", name, v ? v : "") < 0)
			return -ENOMEM;
		nl = strlen(name);
		for (size_t i = 0; i < *n; i++)
			if (!strncmp(env[i], name, nl) && env[i][nl] == '=') {
				free(env[i]);
				env[i] = env[--(*n)];
			}
		if (*n + 1 >= MAX_ENV) {
			free(kv);
			return -E2BIG;
		}
		env[(*n)++] = kv;
	}
	env[*n] = NULL;
	return 0;
}

static void quantity(const struct jv *ctr, const char *path, int64_t *value, int64_t *milli)
{
	const char *q = jv_path_str(ctr, path);

	*value = *milli = -1;
	if (q && k8s_quantity_parse(q, strlen(q), value, milli))
		*value = *milli = -1;
}

static struct cg *ctr_cgroup(struct agent *a, const struct apod *p, const struct jv *ctr,
			     const char *name)
{
	static struct cg_layout *layout; /* the host's, read once (one sync thread) */
	struct cg_limits lim = CG_LIMITS_NONE;
	char rel[1024];
	int64_t v, m;
	struct cg *cg;

	if (!layout && !(layout = cg_layout_detect(NULL, NULL)))
		return NULL;
	snprintf(rel, sizeof(rel), "%s/pods/%s/%s", a->cfg->cgroup_parent, p->uid, name);
	cg = cg_create(layout, rel);
	if (!cg)
		return NULL;
	quantity(ctr, "resources.limits.cpu", &v, &m);
	if (m > 0)
		lim.cpu_limit_milli = m;
	quantity(ctr, "resources.requests.cpu", &v, &m);
	if (m < 0) /* kubelet: a limit without a request requests the limit */
		quantity(ctr, "resources.limits.cpu", &v, &m);
	lim.cpu_request_milli = m >= 0 ? m : -1;
	quantity(ctr, "resources.limits.memory", &v, &m);
	if (v > 0)
		lim.memory_bytes = v;
	if (cg_set_limits(cg, &lim))
		log_warn(AGENT_COMP, "pod %s: container %s: cgroup limits: %s", p->key, name,
			 strerror(errno));
	return cg;
}

int agent_pod_cgroup_purge(struct agent *a, const char *uid)
{
	struct cg_layout *l = cg_layout_detect(NULL, NULL);
	char rel[1024];
	struct cg *pod;
	DIR *dir;
	struct dirent *e;
	int rc = 0;

	if (!l)
		return -errno;
	snprintf(rel, sizeof(rel), "%s/pods/%s", a->cfg->cgroup_parent, uid);
	pod = cg_open(l, rel);
	if (!pod || access(pod->dir[0], F_OK)) {
		cg_free(pod);
		cg_layout_free(l);
		return 0;
	}
	/* the containers' cgroups are the pod's children */
	dir = opendir(pod->dir[0]);
	while (dir && (e = readdir(dir))) {
		char crel[1400];
		struct cg *c;

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(crel, sizeof(crel), "%s/%s", rel, e->d_name);
		c = cg_open(l, crel);
		if (c) {
			if (cg_nprocs(c) > 0)
				log_info(AGENT_COMP, "pod uid %s: killing what is left in %s", uid,
					 crel);
			cg_kill(c, 10000);
			if (cg_remove(c, 5000))
				rc = -EBUSY;
		}
		cg_free(c);
	}
	if (dir)
		closedir(dir);
	cg_kill(pod, 10000);
	if (cg_remove(pod, 5000))
		rc = -EBUSY;
	cg_free(pod);
	cg_layout_free(l);
	return rc;
}

int agent_ctr_start(struct agent *a, struct apod *p, const struct jv *pod, size_t i)
{
	const struct jv *ctr = jv_first(jv_path(pod, "spec.containers"));
	struct actr *c = &p->c[i];
	struct image_store *store = NULL;
	struct image_info *img = NULL;
	char dir[PATH_MAX], cdir[PATH_MAX + 128], rootfs[PATH_MAX + 160], upper[PATH_MAX + 160],
	    work[PATH_MAX + 160], logp[PATH_MAX + 160];
	char *argv[MAX_ARGS], *env[MAX_ENV] = {0};
	size_t argc = 0, envc = 0;
	struct rt_spec spec;
	struct timespec ts;
	const char *cwd;
	int rc;

	for (size_t k = 0; ctr && k < i; k++)
		ctr = ctr->next;
	if (!ctr)
		return -EINVAL;
	double t0 = agent_mono_ms(), t1, t2;

	store = image_store_open(a->cfg->image_root);
	if (!store) {
		rc = -errno;
		snprintf(c->message, sizeof(c->message), "image store %s: %s",
			 a->cfg->image_root ? a->cfg->image_root : IMAGE_STORE_ROOT, strerror(-rc));
		return rc;
	}
	rc = image_store_resolve(store, jv_path_str(ctr, "image"), &img);
	if (rc) {
		/* the kubelet's ErrImagePull, then ImagePullBackOff while it backs off */
		snprintf(c->message, sizeof(c->message), "failed to pull image \"%s\": %s",
			 jv_path_str(ctr, "image"),
			 rc == -ENOENT ? "not in the node's image store (no registry is reachable: "
					 "drover image import it)"
				       : image_store_error(store));
		image_store_close(store);
		return rc == -ENOENT ? -ENOENT : -EINVAL;
	}
	image_store_close(store);
	snprintf(c->image_id, sizeof(c->image_id), "%s", img->digest);

	/* argv: command replaces the Entrypoint (and drops Cmd), args replace Cmd */
	rc = jv_get(ctr, "command") && jv_count(jv_get(ctr, "command"))
		 ? push_strs(argv, &argc, jv_get(ctr, "command"))
		 : push_strv(argv, &argc, img->entrypoint);
	if (!rc) {
		if (jv_get(ctr, "args") && jv_count(jv_get(ctr, "args")))
			rc = push_strs(argv, &argc, jv_get(ctr, "args"));
		else if (!(jv_get(ctr, "command") && jv_count(jv_get(ctr, "command"))))
			rc = push_strv(argv, &argc, img->cmd);
	}
	argv[argc] = NULL;
	if (!rc && !argc) {
		snprintf(c->message, sizeof(c->message), "no command specified");
		rc = -EINVAL;
		goto out;
	}
	if (!rc)
		rc = build_env(a, p, pod, ctr, img->env, env, &envc);
	if (rc)
		goto out;

	agent_pod_dir(a, p, dir, sizeof(dir));
	snprintf(cdir, sizeof(cdir), "%s/%s", dir, c->name);
	snprintf(rootfs, sizeof(rootfs), "%s/run/rootfs", cdir);
	snprintf(upper, sizeof(upper), "%s/run/upper", cdir);
	snprintf(work, sizeof(work), "%s/run/work", cdir);
	snprintf(logp, sizeof(logp), "%s/%d.log", cdir, c->restarts);
	snprintf(cdir + strlen(cdir), sizeof(cdir) - strlen(cdir), "/run");
	agent_rm_rf(cdir); /* the previous run's layer: a restart is a new container */
	if ((rc = fs_mkdir_p(rootfs, 0755, NULL)) || (rc = fs_mkdir_p(upper, 0755, NULL)) ||
	    (rc = fs_mkdir_p(work, 0755, NULL)))
		goto out;
	t1 = agent_mono_ms();
	if (!c->cg)
		c->cg = ctr_cgroup(a, p, ctr, c->name);
	if (!c->cg) {
		rc = -errno;
		snprintf(c->message, sizeof(c->message), "cgroup: %s", strerror(-rc));
		goto out;
	}
	rt_spec_init(&spec);
	spec.rootfs = rootfs;
	spec.lowers = (const char *const *)img->layers;
	spec.n_lowers = img->n_layers;
	spec.upper = upper;
	spec.work = work;
	spec.hostname = p->name;
	spec.netns = p->netns;
	spec.cg = c->cg;
	spec.argv = argv;
	spec.env = env;
	cwd = jv_path_str(ctr, "workingDir");
	spec.cwd = cwd && cwd[0] ? cwd : img->working_dir;
	spec.log_path = logp;
	t2 = agent_mono_ms();
	rc = rt_start(&spec, &c->proc);
	p->ms[AGENT_MS_IMAGE] += t1 - t0; /* resolve, the run's dirs; the overlay is rt_start's */
	p->ms[AGENT_MS_CGROUP] += t2 - t1;
	p->ms[AGENT_MS_PROCESS] += agent_mono_ms() - t2;
	if (rc) {
		snprintf(c->message, sizeof(c->message), "failed to start container \"%s\": %s",
			 c->name, strerror(-rc));
		goto out;
	}
	log_info(AGENT_COMP,
		 "pod %s: container %s start phases: netns %.2f ms, cni %.2f ms, cgroup %.2f ms, "
		 "image %.2f ms, process %.2f ms",
		 p->key, c->name, p->ms[AGENT_MS_NETNS], p->ms[AGENT_MS_CNI],
		 p->ms[AGENT_MS_CGROUP], p->ms[AGENT_MS_IMAGE], p->ms[AGENT_MS_PROCESS]);
	c->proc_live = true;
	clock_gettime(CLOCK_REALTIME, &ts);
	kubelet_time_str(ts.tv_sec, c->started);
	snprintf(c->cid, sizeof(c->cid), "drover://%s-%s-%d", p->uid, c->name, c->restarts);
	c->message[0] = 0;
out:
	for (size_t k = 0; k < envc; k++)
		free(env[k]);
	image_info_free(img);
	return rc;
}
