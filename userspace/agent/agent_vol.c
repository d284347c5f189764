/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_vol: a pod's volumes on the node (agent_vol.h): set up under the pod's directory
 * before its containers start, bound into each container as its volumeMounts say, unmounted
 * and removed with the pod.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_pod.h"
#include "agent_vol.h"
#include "fsutil.h"
#include "k8s.h"

#define VOL_RETRY_S   0.5   /* nestedpendingoperations: initialDurationBeforeRetry */
#define VOL_RETRY_MAX 122.0 /* maxDurationBeforeRetry (2m2s) */
#define VOL_REFRESH_S 60.0  /* the kubelet's pod resync: projected files rewritten */

/* The kubelet's plugin directory names (kubernetes.io~empty-dir, ...). */
static const char *plugin_of(const struct jv *vol)
{
	if (jv_get(vol, "emptyDir"))
		return "empty-dir";
	if (jv_get(vol, "configMap"))
		return "configmap";
	if (jv_get(vol, "secret"))
		return "secret";
	if (jv_get(vol, "downwardAPI"))
		return "downward-api";
	if (jv_get(vol, "projected"))
		return "projected";
	if (jv_get(vol, "persistentVolumeClaim"))
		return "local-volume"; /* the claim's volume, bound here */
	return NULL;
}

static void vol_path(const struct agent *a, const struct apod *p, const struct jv *vol, char *buf,
		     size_t size)
{
	char dir[PATH_MAX - 512];
	const char *name = jv_path_str(vol, "name"), *hp = jv_path_str(vol, "hostPath.path");

	if (jv_get(vol, "hostPath")) {
		snprintf(buf, size, "%s", hp ? hp : "");
		return;
	}
	agent_pod_dir(a, p, dir, sizeof(dir));
	snprintf(buf, size, "%s/volumes/kubernetes.io~%s/%.255s", dir, plugin_of(vol),
		 name ? name : "");
}

static bool is_mountpoint(const char *dir)
{
	char parent[PATH_MAX + 4];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	return !stat(dir, &a) && !stat(parent, &b) && a.st_dev != b.st_dev;
}

/* The volume's directory, on a tmpfs for medium Memory (emptydir.go setupTmpfs: size from
 * sizeLimit) and for the memory-backed kinds (secret, projected, downwardAPI wrap one). */
static int make_dir(const char *dir, bool memory, const char *size_limit)
{
	int rc = fs_mkdir_p(dir, 0750, NULL);
	char opts[64] = "";
	int64_t bytes;

	if (rc)
		return rc;
	if (memory && !is_mountpoint(dir)) {
		if (size_limit &&
		    !k8s_quantity_parse(size_limit, strlen(size_limit), &bytes, NULL) && bytes > 0)
			snprintf(opts, sizeof(opts), "size=%lld", (long long)bytes);
		if (mount("tmpfs", dir, "tmpfs", 0, opts[0] ? opts : NULL))
			return -errno;
	}
	/* emptydir.go setupDir: 0777 (a tmpfs is 1777 already) */
	if (!memory && chmod(dir, 0777))
		return -errno;
	return 0;
}

/* hostpath.go checkType, with its messages; type "" checks nothing (the runtime then makes a
 * missing path a directory, as containerd does). */
int vol_host_path_check(const char *path, const char *type, char *err, size_t errlen)
{
	static const struct {
		const char *type, *desc;
		mode_t fmt;
	} kinds[] = {
	    {"Directory", "directory", S_IFDIR},      {"File", "file", S_IFREG},
	    {"Socket", "socket file", S_IFSOCK},      {"CharDevice", "character device", S_IFCHR},
	    {"BlockDevice", "block device", S_IFBLK},
	};
	static const char *const names[] = {"Directory", "File", "Socket", "CharDevice",
					    "BlockDevice"};
	const char *want = type;
	struct stat st;

	if (strstr(path, "/../") || !strncmp(path, "../", 3) ||
	    (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")) || !strcmp(path, "..")) {
		snprintf(err, errlen, "invalid HostPath `%s`: must not contain '..'", path);
		return -EINVAL;
	}
	if (!type || !type[0]) {
		if (access(path, F_OK) && errno == ENOENT)
			return fs_mkdir_p(path, 0755, NULL);
		return 0;
	}
	if (!strcmp(type, "DirectoryOrCreate")) {
		if (access(path, F_OK) && fs_mkdir_p(path, 0755, NULL) == 0)
			return 0;
		want = "Directory";
	} else if (!strcmp(type, "FileOrCreate")) {
		if (access(path, F_OK)) {
			FILE *f = fopen(path, "ae");

			if (f) {
				fchmod(fileno(f), 0644);
				fclose(f);
			}
		}
		want = "File";
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *got = NULL;

		if (strcmp(want, kinds[i].type))
			continue;
		if (stat(path, &st)) {
			snprintf(err, errlen, "hostPath %s doesn't exist", path);
			return -EINVAL;
		}
		for (size_t k = 0; k < 5; k++)
			if ((st.st_mode & S_IFMT) == kinds[k].fmt)
				got = names[k];
		if (!got) {
			snprintf(
			    err, errlen,
			    "hostPath type check failed, %s is not a %s, unable to determine "
			    "its type: only recognise file, directory, socket, block device and "
			    "character device",
			    path, kinds[i].desc);
			return -EINVAL;
		}
		if (strcmp(got, want)) {
			snprintf(err, errlen,
				 "hostPath type check failed: %s is not a %s, it's a %s", path,
				 kinds[i].desc, got);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "%s is an invalid volume type", type);
	return -EINVAL;
}

struct token_ctx {
	struct agent *a;
	struct apod *p;
	const struct jv *pod;
};

static int token_of(void *arg, const struct jv *tp, char **tok, char *err, size_t errlen)
{
	struct token_ctx *c = arg;

	return agent_token_get(c->a, c->p, c->pod, tp, tok, err, errlen);
}

/* CheckNodeAffinity for the one key the agent knows its value of: a required term of the
 * volume's node affinity on kubernetes.io/hostname must name this node (terms are ORed). */
static bool pv_affinity_ok(const struct agent *a, const struct jv *pv)
{
	const struct jv *terms = jv_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms");

	if (!jv_count(terms))
		return true;
	for (const struct jv *t = jv_first(terms); t; t = t->next) {
		bool ok = true;

		for (const struct jv *e = jv_first(jv_get(t, "matchExpressions")); e; e = e->next) {
			bool in = false;

			if (!jv_is_str(jv_get(e, "key"), "kubernetes.io/hostname") ||
			    !jv_is_str(jv_get(e, "operator"), "In"))
				continue;
			for (const struct jv *v = jv_first(jv_get(e, "values")); v; v = v->next)
				in = in || jv_is_str(v, a->cfg->node);
			ok = ok && in;
		}
		if (ok)
			return true;
	}
	return false;
}

/* The same file (a bind mount of it is there already)? */
static bool same_inode(const char *x, const char *y)
{
	struct stat a, b;

	return !stat(x, &a) && !stat(y, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* A persistentVolumeClaim volume (kubelet's desired_state_of_world_populator
 * getPVCExtractPV, then the PV's plugin): the claim, bound, its volume's hostPath or local
 * path (made as DirectoryOrCreate; 0777 for one rancher.io/local-path provisioned, as k3s's
 * setup helper), bind-mounted on the pod's volume directory. The claim not there or not
 * bound yet is a FailedMount and a retry. */
static int setup_claim(struct agent *a, struct apod *p, const struct jv *vol, const char *dir,
		       char *err, size_t errlen)
{
	const char *cn = jv_path_str(vol, "persistentVolumeClaim.claimName"), *vn, *src, *type;
	struct jv_doc *d = jv_doc_new();
	struct jv *claim = NULL, *pv = NULL;
	char e2[512] = "";
	int rc;

	if (!d)
		return -ENOMEM;
	cn = cn ? cn : "";
	rc = agent_api_obj(a, "PersistentVolumeClaim", p->ns, cn, d, &claim, e2, sizeof(e2));
	if (rc) {
		if (rc == -ENOENT)
			snprintf(e2, sizeof(e2), "persistentvolumeclaim \"%s\" not found", cn);
		snprintf(err, errlen,
			 "error processing PVC %s/%s: failed to fetch PVC from API server: %s",
			 p->ns, cn, e2);
		rc = rc == -ENOMEM ? rc : -EINVAL;
		goto out;
	}
	vn = jv_path_str(claim, "spec.volumeName");
	if (jv_path(claim, "metadata.deletionTimestamp")) {
		snprintf(err, errlen, "error processing PVC %s/%s: PVC is being deleted", p->ns,
			 cn);
		rc = -EINVAL;
		goto out;
	}
	if (!jv_is_str(jv_path(claim, "status.phase"), "Bound") || !vn || !vn[0]) {
		snprintf(err, errlen,
			 "error processing PVC %s/%s: PVC %s/%s has non-bound phase (\"%s\") or "
			 "empty pvc.Spec.VolumeName (\"%s\")",
			 p->ns, cn, p->ns, cn, jv_path_str(claim, "status.phase") ?: "",
			 vn ? vn : "");
		rc = -EINVAL;
		goto out;
	}
	rc = agent_api_obj(a, "PersistentVolume", NULL, vn, d, &pv, e2, sizeof(e2));
	if (rc) {
		if (rc == -ENOENT)
			snprintf(e2, sizeof(e2), "persistentvolume \"%s\" not found", vn);
		snprintf(err, errlen,
			 "error processing PVC %s/%s: failed to fetch PV %s from API server: %s",
			 p->ns, cn, vn, e2);
		rc = rc == -ENOMEM ? rc : -EINVAL;
		goto out;
	}
	if (!jv_is_str(jv_path(pv, "spec.claimRef.uid"),
		       jv_path_str(claim, "metadata.uid") ?: "")) {
		snprintf(err, errlen,
			 "error processing PVC %s/%s: the PV's claimRef does not point to the PVC",
			 p->ns, cn);
		rc = -EINVAL;
		goto out;
	}
	if (!pv_affinity_ok(a, pv)) {
		snprintf(err, errlen, "volume %s: no matching NodeSelectorTerms", vn);
		rc = -EINVAL;
		goto out;
	}
	src = jv_path_str(pv, "spec.hostPath.path");
	type = jv_path_str(pv, "spec.hostPath.type");
	if (!src) {
		src = jv_path_str(pv, "spec.local.path");
		type = "Directory";
	}
	if (!src || src[0] != '/') {
		snprintf(err, errlen, "volume %s: only hostPath and local volumes are supported",
			 vn);
		rc = -EINVAL;
		goto out;
	}
	if (jv_is_str(
		jv_get(jv_path(pv, "metadata.annotations"), "pv.kubernetes.io/provisioned-by"),
		"rancher.io/local-path")) {
		rc = fs_mkdir_p(src, 0777, NULL);
		if (!rc && chmod(src, 0777))
			rc = -errno;
		if (rc)
			snprintf(err, errlen, "mkdir %s: %s", src, strerror(-rc));
	} else {
		rc = vol_host_path_check(src, type, err, errlen);
	}
	if (rc)
		goto out;
	rc = fs_mkdir_p(dir, 0750, NULL);
	if (!rc && !same_inode(dir, src) && mount(src, dir, NULL, MS_BIND | MS_REC, NULL))
		rc = -errno;
	if (rc)
		snprintf(err, errlen, "bind mount of %s: %s", src, strerror(-rc));
out:
	jv_doc_free(d);
	return rc;
}

static int setup_one(struct agent *a, struct apod *p, const struct jv *pod, const struct jv *vol,
		     char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int rc;

	vol_path(a, p, vol, dir, sizeof(dir));
	if (jv_get(vol, "hostPath"))
		return vol_host_path_check(dir, jv_path_str(vol, "hostPath.type"), err, errlen);
	if (jv_get(vol, "persistentVolumeClaim"))
		return setup_claim(a, p, vol, dir, err, errlen);
	if (jv_get(vol, "emptyDir"))
		return make_dir(dir, jv_is_str(jv_path(vol, "emptyDir.medium"), "Memory"),
				jv_path_str(vol, "emptyDir.sizeLimit"));
	if (!vol_is_projection(vol)) {
		snprintf(err, errlen, "volume kind not supported by drover agent");
		return -EINVAL;
	}
	struct vol_payload pl = {0};
	struct token_ctx tc = {a, p, pod};
	struct vol_src src = {
	    .pod = pod,
	    .ns = p->ns,
	    .get = agent_api_obj,
	    .arg = a,
	    .node_cpu = a->cpu,
	    .node_memory = a->memory,
	    .token = token_of,
	    .token_arg = &tc,
	};

	rc = vol_payload_build(vol, &src, &pl, err, errlen);
	if (!rc)
		rc = make_dir(dir, !jv_get(vol, "configMap"), NULL);
	if (!rc)
		rc = vol_atomic_write(dir, &pl);
	vol_payload_free(&pl);
	return rc;
}

/* A volume name as validation allows it (a DNS-1123 label): it names a directory here, so
 * nothing that could leave the pod's. */
static bool name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;

	if (!len || len > 63 || n[0] == '-' || n[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-'))
			return false;
	return true;
}

int agent_vol_setup(struct agent *a, struct apod *p, const struct jv *pod, char *msg, size_t msglen)
{
	for (const struct jv *v = jv_first(jv_path(pod, "spec.volumes")); v; v = v->next) {
		const char *name = jv_path_str(v, "name");
		char err[1024] = "";
		int rc = -EINVAL;

		if (name_ok(name))
			rc = setup_one(a, p, pod, v, err, sizeof(err));
		else
			snprintf(err, sizeof(err), "invalid volume name");

		if (rc) {
			/* operation_generator's GenerateError for MountVolume.SetUp */
			snprintf(msg, msglen, "MountVolume.SetUp failed for volume \"%s\" : %s",
				 name ? name : "", err[0] ? err : strerror(-rc));
			return rc == -ENOMEM ? rc : -EINVAL;
		}
	}
	return 0;
}

/* The pod's volumes set up when due (first, after a failure, or for a refresh); whether they
 * are ready for its containers. */
bool agent_vol_ready(struct agent *a, struct kc_recorder *rec, struct apod *p, const struct jv *pod)
{
	char msg[1400];
	int rc;

	if (agent_mono_s() < p->vol_next)
		return p->vol_ready;
	rc = agent_vol_setup(a, p, pod, msg, sizeof(msg));
	if (!rc) {
		p->vol_ready = true;
		p->vol_backoff = 0;
		p->vol_next = agent_mono_s() + VOL_REFRESH_S;
		return true;
	}
	log_warn(AGENT_COMP, "pod %s: %s", p->key, msg);
	agent_pod_event(rec, p, "Warning", "FailedMount", "%s", msg);
	if (p->vol_ready) { /* a refresh failed: what is mounted stays */
		p->vol_next = agent_mono_s() + VOL_REFRESH_S;
		return true;
	}
	p->vol_backoff = p->vol_backoff ? p->vol_backoff * 2 : VOL_RETRY_S;
	if (p->vol_backoff > VOL_RETRY_MAX)
		p->vol_backoff = VOL_RETRY_MAX;
	p->vol_next = agent_mono_s() + p->vol_backoff;
	return false;
}

void agent_vol_mounts_free(struct rt_mount *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free((char *)m[i].src);
		free((char *)m[i].dst);
	}
	free(m);
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* kubecontainer.ExpandContainerVolumeMounts: subPathExpr's $(VAR)s expanded with the
 * container's env; references to variables unset or empty are an error naming them (sorted,
 * once each). malloc'd, or NULL with msg set (ENOMEM: msg empty). */
char *vol_sub_path_expr(const char *expr, const struct env_list *env, char *msg, size_t msglen)
{
	char *miss[32];
	size_t nm = 0, off = 0;

	msg[0] = 0;
	for (const char *c = expr; *c; c++) {
		const char *close, *v;
		char *name;
		bool dup = false;

		if (c[0] != '$')
			continue;
		if (c[1] == '$') {
			c++;
			continue;
		}
		if (c[1] != '(' || !(close = strchr(c + 2, ')')))
			continue;
		name = strndup(c + 2, (size_t)(close - c - 2));
		c = close;
		if (!name)
			break;
		v = env_get(env, name);
		for (size_t i = 0; i < nm; i++)
			dup |= !strcmp(miss[i], name);
		if ((v && v[0]) || dup || nm == 32)
			free(name);
		else
			miss[nm++] = name;
	}
	if (!nm)
		return env_expand(expr, env);
	qsort(miss, nm, sizeof(*miss), str_cmp);
	off = (size_t)snprintf(msg, msglen, "missing value for ");
	for (size_t i = 0; i < nm; i++) {
		if (off < msglen)
			off += (size_t)snprintf(msg + off, msglen - off, "%s%s", i ? ", " : "",
						miss[i]);
		free(miss[i]);
	}
	return NULL;
}

/* ValidatePathNoBacksteps: no ".." component. */
static bool no_backsteps(const char *s)
{
	for (const char *c = s; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 2 && !strncmp(c, "..", 2))
			return false;
		c += n;
		if (*c)
			c++;
	}
	return true;
}

/* makeMounts' subPath: volume/sub, made a directory (with the volume's mode) when missing,
 * then resolved, symlinks too, inside the volume (subpath.PrepareSafeSubpath: no escape
 * through a link). The host path (malloc'd), or NULL with msg set. */
static char *sub_path(const char *vol, const char *sub, const char *mname, const char *cname,
		      char *msg, size_t msglen)
{
	char *full = NULL, *real_vol = realpath(vol, NULL), *real = NULL;
	struct stat st;
	size_t vl;

	if (sub[0] == '/') {
		snprintf(msg, msglen, "error SubPath `%s` must not be an absolute path", sub);
		return NULL;
	}
	if (!no_backsteps(sub)) {
		snprintf(msg, msglen, "unable to provision SubPath `%s`: must not contain '..'",
			 sub);
		return NULL;
	}
	if (!real_vol || stat(real_vol, &st) || asprintf(&full, "%s/%s", real_vol, sub) < 0)
		goto prepare;
	if (access(full, F_OK)) {
		/* made inside the volume: every existing component resolves inside it */
		char *parent = strdup(full), *slash;

		while (parent && access(parent, F_OK) && (slash = strrchr(parent, '/')))
			*slash = 0;
		real = parent ? realpath(parent, NULL) : NULL;
		vl = strlen(real_vol);
		if (!real || strncmp(real, real_vol, vl) || (real[vl] && real[vl] != '/') ||
		    fs_mkdir_p(full, st.st_mode & 07777, NULL)) {
			free(parent);
			free(real);
			free(full);
			free(real_vol);
			snprintf(msg, msglen,
				 "failed to create subPath directory for volumeMount \"%s\" of "
				 "container \"%s\"",
				 mname, cname);
			return NULL;
		}
		free(parent);
		free(real);
	}
	real = realpath(full, NULL);
	vl = strlen(real_vol);
	if (!real || strncmp(real, real_vol, vl) || (real[vl] && real[vl] != '/'))
		goto prepare;
	free(full);
	free(real_vol);
	return real;
prepare:
	free(real);
	free(full);
	free(real_vol);
	snprintf(msg, msglen,
		 "failed to prepare subPath for volumeMount \"%s\" of container \"%s\"", mname,
		 cname);
	return NULL;
}

int agent_vol_mounts(struct agent *a, const struct apod *p, const struct jv *pod,
		     const struct jv *ctr, const struct env_list *env, struct rt_mount **mounts,
		     size_t *n, char *msg, size_t msglen)
{
	size_t cap = jv_count(jv_get(ctr, "volumeMounts"));
	const char *cname = jv_path_str(ctr, "name");
	struct rt_mount *m;
	int rc = 0;

	*mounts = NULL;
	*n = 0;
	if (!cap)
		return 0;
	if (!cname)
		cname = "";
	m = calloc(cap, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* kubelet_pods.go makeMounts, its checks and messages in its order */
	for (const struct jv *vm = jv_first(jv_get(ctr, "volumeMounts")); vm; vm = vm->next) {
		const char *name = jv_path_str(vm, "name"), *path = jv_path_str(vm, "mountPath"),
			   *sub = jv_path_str(vm, "subPath"),
			   *expr = jv_path_str(vm, "subPathExpr");
		const struct jv *vol = NULL;
		char src[PATH_MAX], *expanded = NULL, *s;

		name = name ? name : "";
		for (const struct jv *v = jv_first(jv_path(pod, "spec.volumes")); v; v = v->next)
			if (jv_is_str(jv_get(v, "name"), name))
				vol = v;
		if (!vol || !name_ok(name)) {
			snprintf(msg, msglen,
				 "cannot find volume \"%s\" to mount into container \"%s\"", name,
				 cname);
			rc = -EINVAL;
			break;
		}
		vol_path(a, p, vol, src, sizeof(src));
		if (expr && expr[0]) {
			if (!(expanded = vol_sub_path_expr(expr, env, msg, msglen))) {
				rc = msg[0] ? -EINVAL : -ENOMEM;
				break;
			}
			sub = expanded;
		}
		if (sub && sub[0]) {
			s = sub_path(src, sub, name, cname, msg, msglen);
			free(expanded);
			if (!s) {
				rc = -EINVAL;
				break;
			}
		} else {
			free(expanded);
			s = strdup(src);
		}
		m[*n].src = s;
		/* a relative mountPath is made absolute (volumeutil.MakeAbsolutePath) */
		if (asprintf((char **)&m[*n].dst, "%s%s", path && path[0] == '/' ? "" : "/",
			     path ? path : "") < 0)
			m[*n].dst = NULL;
		/* mustMountRO: configMap, secret, downwardAPI and projected are read-only */
		m[*n].readonly = jv_get(vm, "readOnly") && jv_get(vm, "readOnly")->type == JV_TRUE;
		m[*n].readonly |= vol_is_projection(vol);
		/* a claim mounted readOnly in the pod's volume */
		m[*n].readonly |= jv_path(vol, "persistentVolumeClaim.readOnly") &&
				  jv_path(vol, "persistentVolumeClaim.readOnly")->type == JV_TRUE;
		(*n)++;
		if (!s || !m[*n - 1].dst) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc) {
		agent_vol_mounts_free(m, *n);
		*n = 0;
		return rc;
	}
	*mounts = m;
	return 0;
}

/* A mountinfo path (octal escapes: \040 a space) decoded in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* Unmount what is mounted under dir (deepest first), then remove dir. */
static int teardown_dir(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], **mps = NULL;
	size_t n = 0, dl = strlen(dir);
	int rc = 0;

	while (f && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX];
		char **nm;

		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (strncmp(mp, dir, dl) || (mp[dl] != '/' && mp[dl]))
			continue;
		nm = realloc(mps, (n + 1) * sizeof(*nm));
		if (!nm)
			break;
		mps = nm;
		if ((mps[n] = strdup(mp)))
			n++;
	}
	if (f)
		fclose(f);
	/* later mounts are the deeper (or stacked) ones */
	while (n--) {
		if (umount2(mps[n], MNT_DETACH) && errno != EINVAL && errno != ENOENT) {
			rc = -errno;
			log_warn(AGENT_COMP, "unmount %s: %s", mps[n], strerror(errno));
		}
		free(mps[n]);
	}
	free(mps);
	/* a bind mount left (a claim's volume) would let the removal reach its data */
	if (rc) {
		log_warn(AGENT_COMP, "volumes %s stay: something under it is still mounted", dir);
		return rc;
	}
	if (agent_rm_rf(dir))
		rc = rc ? rc : -EIO;
	if (!access(dir, F_OK)) {
		log_warn(AGENT_COMP, "volumes %s stay", dir);
		rc = rc ? rc : -EBUSY;
	}
	return rc;
}

int agent_vol_teardown(struct agent *a, const struct apod *p)
{
	char dir[PATH_MAX + 16];

	agent_pod_dir(a, p, dir, sizeof(dir) - 16);
	strcat(dir, "/volumes");
	return teardown_dir(dir);
}

void agent_vol_gc(struct agent *a, bool (*keep)(void *arg, const char *uid), void *arg)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/pods", a->cfg->root);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		const char *uid = strrchr(e->d_name, '_');
		char vols[PATH_MAX + 300];

		if (e->d_name[0] == '.' || !uid || keep(arg, uid + 1))
			continue;
		snprintf(vols, sizeof(vols), "%s/%s/volumes", path, e->d_name);
		if (access(vols, F_OK))
			continue;
		log_info(AGENT_COMP, "removing the volumes of pod uid %s: not bound here any more",
			 uid + 1);
		teardown_dir(vols);
	}
	if (d)
		closedir(d);
}
