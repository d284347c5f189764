/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_ctr: one container started as the kubelet and a CRI runtime would start it. The image
 * resolves in the local image store (no registry: a missing image is ErrImagePull, as a failed
 * pull); argv follows Kubernetes' rules over the image's Entrypoint/Cmd (command replaces the
 * Entrypoint and drops Cmd; args replace Cmd); env is the image's, then the container's
 * (agent_env.h: envFrom and configMapKeyRef/secretKeyRef read from the server, fieldRef
 * metadata.name/namespace/uid, spec.nodeName, spec.serviceAccountName, status.podIP/hostIP,
 * $(VAR) expanded in values, command and args; a missing source is
 * CreateContainerConfigError with the kubelet's message); workingDir over the image's; the
 * user, group and groups from securityContext over the image's User (agent_sec.c); an init
 * container (p->c[i] with i < p->n_init) from spec.initContainers (sidecars too);
 * cpu/memory limits and the cpu request in
 * the container's cgroup (<cgroup-parent>/pods/<uid>/<name>); a fresh overlay (upper/work) per
 * run, as a new container per restart; the volumeMounts bound in (agent_vol.h); logs under
 * root/pods/<ns>_<name>_<uid>/<name>/<n>.log.
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

#include "agent_attach.h"
#include "agent_env.h"
#include "agent_pod.h"
#include "agent_vol.h"
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

/* An array of strings (spec.containers[].command/args) appended to argv, $(VAR) expanded
 * with the container's env as kuberuntime's ExpandContainerCommandAndArgs does (malloc'd). */
static int push_strs(char **argv, size_t *n, const struct jv *a, const struct env_list *ctx)
{
	for (const struct jv *s = jv_first(a); s; s = s->next) {
		if (*n + 1 >= MAX_ARGS)
			return -E2BIG;
		if (s->type != JV_STRING)
			return -EINVAL;
		if (!(argv[(*n)++] = env_expand(s->s, ctx)))
			return -ENOMEM;
	}
	return 0;
}

static int push_strv(char **argv, size_t *n, char **v)
{
	for (; v && *v; v++) {
		if (*n + 1 >= MAX_ARGS)
			return -E2BIG;
		if (!(argv[(*n)++] = strdup(*v)))
			return -ENOMEM;
	}
	return 0;
}

/* The value of a fieldRef the downward API allows in env. */
static const char *field_ref(struct agent *a, struct apod *p, const struct jv *pod,
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
	if (!strcmp(path, "status.podIP")) {
		/* the one value of a container's set-up that waits for its CNI ADD */
		agent_sandbox_wait(a, p);
		return p->ip;
	}
	if (!strcmp(path, "status.hostIP"))
		return a->node_ip;
	return NULL;
}

struct env_src {
	struct agent *a;
	struct apod *p;
	const struct jv *pod;
};

/* ConfigMaps and Secrets for env and volumes, read from the server as the kubelet's
 * configMapManager does (its Get strategy); agent is the struct agent. */
int agent_api_obj(void *agent, const char *kind, const char *ns, const char *name, struct jv_doc *d,
		  struct jv **obj, char *err, size_t errlen)
{
	struct agent *a = agent;
	const struct k8s_kind *k = k8s_kind_find("v1", kind);
	struct kc_status st = {0};
	struct kc_obj *o = NULL;
	int rc;

	if (!k)
		return -ENOENT;
	rc = kc_get(a->kc, k, ns, name, &o, &st);
	if (rc == -ENOENT)
		return -ENOENT;
	if (rc) {
		snprintf(err, errlen, "%s", st.message[0] ? st.message : kc_strerror(rc));
		return -EINVAL;
	}
	*obj = kc_obj_parse(o, d);
	kc_obj_put(o);
	return *obj ? 0 : -ENOMEM;
}

static int env_get_obj(void *arg, const char *kind, const char *ns, const char *name,
		       struct jv_doc *d, struct jv **obj, char *err, size_t errlen)
{
	return agent_api_obj(((struct env_src *)arg)->a, kind, ns, name, d, obj, err, errlen);
}

static const char *env_field(void *arg, const char *path)
{
	struct env_src *src = arg;

	return field_ref(src->a, src->p, src->pod, path);
}

/* env: the image's, then the container's (agent_env.h: envFrom, env with valueFrom and
 * $(VAR) expansion; a later name replaces an earlier one). The strings are malloc'd into
 * env[]; *n of them. ctr_env gets the container's own (what command and args expand with). */
static int build_env(struct agent *a, struct apod *p, const struct jv *pod, const struct jv *ctr,
		     char **img_env, char **env, size_t *n, struct env_list *ctr_env)
{
	struct env_src src = {a, p, pod};
	struct actr *c = NULL;
	int rc;

	for (size_t i = 0; i < p->n; i++)
		if (jv_is_str(jv_get(ctr, "name"), p->c[i].name))
			c = &p->c[i];
	for (char **e = img_env; e && *e; e++) {
		if (*n + 1 >= MAX_ENV)
			return -E2BIG;
		if (!(env[(*n)++] = strdup(*e)))
			return -ENOMEM;
	}
	{
		const struct jv *links = jv_path(pod, "spec.enableServiceLinks");
		struct env_list svc = {0};
		char scratch[8];

		rc = agent_service_env(a, p->ns, !links || links->type != JV_FALSE, &svc,
				       c ? c->message : scratch, c ? sizeof(c->message) : 8);
		if (!rc)
			rc = env_build(ctr, p->ns, env_get_obj, env_field, &src, &svc, ctr_env,
				       c ? c->message : scratch, c ? sizeof(c->message) : 8);
		env_list_free(&svc);
	}
	if (rc)
		return rc; /* -EINVAL: CreateContainerConfigError with the kubelet's message */
	for (size_t k = 0; k < ctr_env->n; k++) {
		const char *name = ctr_env->v[k].name;
		size_t nl = strlen(name);
		char *kv;

		if (asprintf(&kv, "%s=%s", name, ctr_env->v[k].value) < 0)
			return -ENOMEM;
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

struct cg *agent_ctr_cgroup_open(struct agent *a, const struct apod *p, const char *name)
{
	char rel[1024];

	snprintf(rel, sizeof(rel), "%s/pods/%s/%s", a->cfg->cgroup_parent, p->uid, name);
	return cg_open(a->cg_layout, rel);
}

static struct cg *ctr_cgroup(struct agent *a, const struct apod *p, const struct jv *ctr,
			     const char *name)
{
	struct cg_limits lim = CG_LIMITS_NONE;
	char rel[1024];
	int64_t v, m;
	struct cg *cg;

	snprintf(rel, sizeof(rel), "%s/pods/%s/%s", a->cfg->cgroup_parent, p->uid, name);
	cg = cg_create(a->cg_layout, rel);
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
	const struct cg_layout *l = a->cg_layout;
	char rel[1024];
	struct cg *pod;
	DIR *dir;
	struct dirent *e;
	int rc = 0;

	snprintf(rel, sizeof(rel), "%s/pods/%s", a->cfg->cgroup_parent, uid);
	pod = cg_open(l, rel);
	if (!pod || access(pod->dir[0], F_OK)) {
		cg_free(pod);
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
	return rc;
}

const struct jv *agent_ctr_spec(const struct jv *pod, const struct apod *p, size_t i)
{
	/* p->c: the init containers first, the ephemeral containers last (found by name: their
	 * list only grows, but a spec read is the informer's of the moment) */
	if (i >= p->n - p->n_eph) {
		for (const struct jv *e = jv_first(jv_path(pod, "spec.ephemeralContainers")); e;
		     e = e->next)
			if (jv_is_str(jv_get(e, "name"), p->c[i].name))
				return e;
		return NULL;
	}
	const struct jv *ctr =
	    jv_first(jv_path(pod, i < p->n_init ? "spec.initContainers" : "spec.containers"));

	for (size_t k = i < p->n_init ? 0 : p->n_init; ctr && k < i; k++)
		ctr = ctr->next;
	return ctr;
}

/* The pod's resolv.conf (agent_resolv.c), written into its directory and mounted at
 * /etc/resolv.conf after the volumeMounts, unless one of them is already there (as
 * containerd leaves a user's mount of it alone). */
static int resolv_mount(struct agent *a, const struct jv *pod, const char *dir,
			struct rt_mount **mounts, size_t *n, char *msg, size_t msglen)
{
	char path[PATH_MAX + 32];
	struct rt_mount *m;

	for (size_t k = 0; k < *n; k++)
		if (!strcmp((*mounts)[k].dst, "/etc/resolv.conf"))
			return 0;
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	if (agent_resolv_write(a, pod, path, msg, msglen))
		return -EIO;
	m = realloc(*mounts, (*n + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	*mounts = m;
	m[*n] = (struct rt_mount){.src = strdup(path), .dst = strdup("/etc/resolv.conf")};
	if (!m[*n].src || !m[*n].dst) {
		free((char *)m[*n].src);
		free((char *)m[*n].dst);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

struct net_ready {
	struct agent *a;
	struct apod *p;
	double waited_ms;
};

/* rt_spec.ready: the pod's network, or -ENETDOWN (its CNI ADD failed). */
static int net_ready(void *arg)
{
	struct net_ready *nr = arg;
	double t0 = agent_mono_ms();
	int rc = agent_sandbox_wait(nr->a, nr->p);

	nr->waited_ms = agent_mono_ms() - t0;
	return rc ? -ENETDOWN : 0;
}

int agent_ctr_start(struct agent *a, struct apod *p, const struct jv *pod, size_t i)
{
	const struct jv *ctr;
	struct actr *c = &p->c[i];
	struct image_store *store = NULL;
	struct image_info *img = NULL;
	char dir[PATH_MAX], cdir[PATH_MAX + 128], rootfs[PATH_MAX + 160], upper[PATH_MAX + 160],
	    work[PATH_MAX + 160], logp[PATH_MAX + 160], exitp[PATH_MAX + 160];
	char *argv[MAX_ARGS] = {0}, *env[MAX_ENV] = {0};
	size_t argc = 0, envc = 0;
	struct env_list cenv = {0};
	struct rt_mount *mounts = NULL;
	size_t n_mounts = 0;
	struct rt_spec spec;
	struct timespec ts;
	const char *cwd;
	struct agent_ids ids;
	int rc;

	ctr = agent_ctr_spec(pod, p, i);
	if (!ctr)
		return -EINVAL;
	if (!p->sandbox && !p->net_agent)
		return -ENETDOWN; /* its CNI ADD failed: nothing runs before it is retried */
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

	/* the user (securityContext over the image's User; runAsNonRoot checked) */
	rc = agent_sec_ids(pod, ctr, c->name, img->user, (const char *const *)img->layers,
			   img->n_layers, &ids, c->message, sizeof(c->message));
	if (rc == -ENOENT)
		rc = -ESRCH; /* not the image's -ENOENT: CreateContainerError */
	if (rc)
		goto out;
	/* the environment first: command and args expand $(VAR) with it */
	rc = build_env(a, p, pod, ctr, img->env, env, &envc, &cenv);
	if (rc)
		goto out;
	/* argv: command replaces the Entrypoint (and drops Cmd), args replace Cmd */
	rc = jv_get(ctr, "command") && jv_count(jv_get(ctr, "command"))
		 ? push_strs(argv, &argc, jv_get(ctr, "command"), &cenv)
		 : push_strv(argv, &argc, img->entrypoint);
	if (!rc) {
		if (jv_get(ctr, "args") && jv_count(jv_get(ctr, "args")))
			rc = push_strs(argv, &argc, jv_get(ctr, "args"), &cenv);
		else if (!(jv_get(ctr, "command") && jv_count(jv_get(ctr, "command"))))
			rc = push_strv(argv, &argc, img->cmd);
	}
	argv[argc] = NULL;
	if (!rc && !argc) {
		snprintf(c->message, sizeof(c->message), "no command specified");
		rc = -EINVAL;
		goto out;
	}
	if (rc)
		goto out;
	/* the volumeMounts (the pod's volumes are set up before its containers start) */
	rc = agent_vol_mounts(a, p, pod, ctr, &cenv, &mounts, &n_mounts, c->message,
			      sizeof(c->message));
	if (rc)
		goto out;
	agent_pod_dir(a, p, dir, sizeof(dir));
	rc = resolv_mount(a, pod, dir, &mounts, &n_mounts, c->message, sizeof(c->message));
	if (rc)
		goto out;

	snprintf(cdir, sizeof(cdir), "%s/%s", dir, c->name);
	snprintf(rootfs, sizeof(rootfs), "%s/run/rootfs", cdir);
	snprintf(upper, sizeof(upper), "%s/run/upper", cdir);
	snprintf(work, sizeof(work), "%s/run/work", cdir);
	snprintf(exitp, sizeof(exitp), "%s/run/exit", cdir);
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
	c->oom_base = cg_oom_kills(c->cg); /* an OOM kill after it: OOMKilled */
	rt_spec_init(&spec);
	spec.rootfs = rootfs;
	spec.lowers = (const char *const *)img->layers;
	spec.n_lowers = img->n_layers;
	spec.upper = upper;
	spec.work = work;
	spec.hostname = p->name;
	spec.netns = p->netns;
	/* an ephemeral container with a target shares its pid namespace (the CRI's
	 * NamespaceMode TARGET); without one it has its own, as every container here */
	char pidns[64];
	const char *target = c->ephemeral ? jv_path_str(ctr, "targetContainerName") : NULL;

	for (size_t k = 0; target && k < p->n - p->n_eph; k++)
		if (!strcmp(p->c[k].name, target) && p->c[k].proc_live && p->c[k].proc.pid > 0) {
			snprintf(pidns, sizeof(pidns), "/proc/%d/ns/pid", (int)p->c[k].proc.pid);
			spec.pidns = pidns;
		}
	spec.cg = c->cg;
	spec.mounts = mounts;
	spec.n_mounts = n_mounts;
	spec.argv = argv;
	spec.env = env;
	spec.uid = ids.uid;
	spec.gid = ids.gid;
	spec.groups = ids.groups;
	spec.n_groups = ids.n_groups;
	cwd = jv_path_str(ctr, "workingDir");
	spec.cwd = cwd && cwd[0] ? cwd : img->working_dir;
	snprintf(c->cwd, sizeof(c->cwd), "%s", spec.cwd && spec.cwd[0] ? spec.cwd : "/");
	spec.log_path = logp;
	spec.exit_path = exitp; /* under a shim: adopted after an agent restart (agent_adopt.c) */
	char attachp[PATH_MAX + 160];
	agent_attach_spec(&spec, ctr, cdir, attachp, sizeof(attachp)); /* stdin, tty */
	/* the pod's CNI ADD may still run (agent_pods.c's start_pod): the process is set up
	 * meanwhile, and runs its program once the pod's interface and address are there */
	struct net_ready nr = {a, p, 0};

	if (p->net_pending || !p->sandbox) {
		spec.ready = net_ready;
		spec.ready_arg = &nr;
	}
	rc = agent_sandbox_netns(p); /* made meanwhile too: the process joins it */
	if (rc) {
		rc = -ENETDOWN;
		goto out;
	}
	t2 = agent_mono_ms();
	rc = rt_start(&spec, &c->proc);
	p->ms[AGENT_MS_IMAGE] += t1 - t0; /* resolve, the run's dirs; the overlay is rt_start's */
	p->ms[AGENT_MS_CGROUP] += t2 - t1;
	/* the process' own time: its wait for the network is the CNI ADD's (timed there) */
	p->ms[AGENT_MS_PROCESS] += agent_mono_ms() - t2 - nr.waited_ms;
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
	for (size_t k = 0; k < argc; k++)
		free(argv[k]);
	env_list_free(&cenv);
	agent_vol_mounts_free(mounts, n_mounts);
	image_info_free(img);
	return rc;
}
