/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_sec: the user, group and supplementary groups a container runs as, decided as the
 * kubelet and containerd decide them together. The kubelet (kuberuntime's
 * determineEffectiveSecurityContext, getImageUser, verifyRunAsNonRoot): the container's
 * runAsUser / runAsGroup / runAsNonRoot over the pod's; with no runAsUser the image's User
 * (its uid when numeric, else its name; none: root); runAsNonRoot refuses root and a user it
 * cannot verify (a name) with its messages (CreateContainerConfigError); fsGroup, then the
 * pod's supplementalGroups, as supplementary groups (Kubernetes has no container-level
 * supplementalGroups). containerd (oci.WithUser, WithAdditionalGIDs): a uid's gid from the
 * image's etc/passwd (0 when it has none), a name's uid and gid from it (an unknown name is
 * an error), runAsGroup over that gid, and the groups of etc/group that list the user's name
 * first among the supplementary ones (SupplementalGroupsPolicy Merge). Only a uid:gid the
 * image's User names is taken as it is for the gid, as the kubelet passes the uid alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_pod.h"

/* The effective setting: the container's securityContext over the pod's. */
static const struct jv *eff(const struct jv *pod, const struct jv *ctr, const char *key)
{
	const struct jv *v = jv_get(jv_get(ctr, "securityContext"), key);

	return v && v->type != JV_NULL ? v : jv_get(jv_path(pod, "spec.securityContext"), key);
}

static bool eff_int(const struct jv *pod, const struct jv *ctr, const char *key, int64_t *out)
{
	const struct jv *v = eff(pod, ctr, key);

	return v && !jv_int(v, out);
}

/* A file of the image (etc/passwd, etc/group): the topmost layer that has it, NULL when none
 * has (or the top one whites it out). */
static FILE *image_file(const char *const *layers, size_t n, const char *rel)
{
	for (size_t i = n; i-- > 0;) {
		char path[PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", layers[i], rel);
		if (lstat(path, &st))
			continue;
		if (!S_ISREG(st.st_mode))
			return NULL; /* a whiteout (0/0 device), a link: none we follow */
		return fopen(path, "re");
	}
	return NULL;
}

/* The etc/passwd entry of name (or, name NULL, of uid): 0 with *uid, *gid and user set. */
static int passwd_find(FILE *f, const char *name, uid_t *uid, gid_t *gid, char *user, size_t ulen)
{
	char line[1024];

	while (f && fgets(line, sizeof(line), f)) {
		char *save = NULL, *n = strtok_r(line, ":", &save),
		     *pw = strtok_r(NULL, ":", &save), *u = strtok_r(NULL, ":", &save),
		     *g = strtok_r(NULL, ":", &save), *end;
		unsigned long lu, lg;

		(void)pw;
		if (!n || !u || !g)
			continue;
		lu = strtoul(u, &end, 10);
		if (*end)
			continue;
		lg = strtoul(g, &end, 10);
		if (*end)
			continue;
		if (name ? strcmp(n, name) : lu != *uid)
			continue;
		*uid = (uid_t)lu;
		*gid = (gid_t)lg;
		snprintf(user, ulen, "%s", n);
		return 0;
	}
	return -ENOENT;
}

static void add_group(struct agent_ids *ids, gid_t g)
{
	for (size_t i = 0; i < ids->n_groups; i++)
		if (ids->groups[i] == g)
			return;
	if (ids->n_groups < sizeof(ids->groups) / sizeof(ids->groups[0]))
		ids->groups[ids->n_groups++] = g;
}

/* The groups of etc/group whose member list names user. */
static void member_groups(FILE *f, const char *user, struct agent_ids *ids)
{
	char line[4096];

	while (f && user[0] && fgets(line, sizeof(line), f)) {
		char *save = NULL, *n = strtok_r(line, ":", &save),
		     *pw = strtok_r(NULL, ":", &save), *g = strtok_r(NULL, ":", &save),
		     *mem = strtok_r(NULL, ":\n", &save), *end;
		unsigned long lg;

		(void)n;
		(void)pw;
		if (!g || !mem)
			continue;
		lg = strtoul(g, &end, 10);
		if (*end)
			continue;
		for (char *s2 = NULL, *m = strtok_r(mem, ",", &s2); m; m = strtok_r(NULL, ",", &s2))
			if (!strcmp(m, user))
				add_group(ids, (gid_t)lg);
	}
}

/* The image's User: a uid (numeric; its gid too when "uid:gid") or a name. */
static void image_user(const char *u, int64_t *uid, int64_t *gid, char *name, size_t nlen)
{
	char buf[256], *colon, *end;
	long long v;

	*uid = *gid = -1;
	name[0] = 0;
	if (!u || !u[0])
		return;
	snprintf(buf, sizeof(buf), "%s", u);
	colon = strchr(buf, ':');
	if (colon) {
		*colon++ = 0;
		v = strtoll(colon, &end, 10);
		if (colon[0] && !*end && v >= 0)
			*gid = v;
	}
	v = strtoll(buf, &end, 10);
	if (buf[0] && !*end)
		*uid = v;
	else
		snprintf(name, nlen, "%s", buf);
}

int agent_sec_ids(const struct jv *pod, const struct jv *ctr, const char *ctr_name,
		  const char *img_user, const char *const *layers, size_t n_layers,
		  struct agent_ids *ids, char *msg, size_t msglen)
{
	const char *pname = jv_path_str(pod, "metadata.name"),
		   *pns = jv_path_str(pod, "metadata.namespace"),
		   *puid = jv_path_str(pod, "metadata.uid");
	const struct jv *nonroot = eff(pod, ctr, "runAsNonRoot");
	int64_t run_uid = -1, run_gid = -1, iuid, igid, v;
	char iname[256], user[256] = "";
	char fmtpod[800];
	FILE *pw, *gr;
	bool have_gid = false;

	memset(ids, 0, sizeof(*ids));
	/* format.Pod: name_namespace(uid) */
	snprintf(fmtpod, sizeof(fmtpod), "%s_%s(%s)", pname ? pname : "", pns ? pns : "",
		 puid ? puid : "");
	if (eff_int(pod, ctr, "runAsUser", &v))
		run_uid = v;
	if (eff_int(pod, ctr, "runAsGroup", &v))
		run_gid = v;
	image_user(img_user, &iuid, &igid, iname, sizeof(iname));
	if (run_uid < 0 && iuid < 0 && !iname[0])
		iuid = 0; /* getImageUser: none set is root */
	if (nonroot && nonroot->type == JV_TRUE) {
		if (run_uid == 0) {
			snprintf(msg, msglen,
				 "container's runAsUser breaks non-root policy (pod: \"%s\", "
				 "container: %s)",
				 fmtpod, ctr_name);
			return -EINVAL;
		}
		if (run_uid < 0 && iname[0]) {
			snprintf(msg, msglen,
				 "container has runAsNonRoot and image has non-numeric user (%s), "
				 "cannot verify user is non-root (pod: \"%s\", container: %s)",
				 iname, fmtpod, ctr_name);
			return -EINVAL;
		}
		if (run_uid < 0 && iuid == 0) {
			snprintf(
			    msg, msglen,
			    "container has runAsNonRoot and image will run as root (pod: \"%s\", "
			    "container: %s)",
			    fmtpod, ctr_name);
			return -EINVAL;
		}
	}
	pw = image_file(layers, n_layers, "etc/passwd");
	if (run_uid < 0 && iname[0]) {
		/* a user name: containerd's WithUsername */
		if (passwd_find(pw, iname, &ids->uid, &ids->gid, user, sizeof(user))) {
			snprintf(msg, msglen,
				 "unable to find user %s: no matching entries in passwd file",
				 iname);
			if (pw)
				fclose(pw);
			return -ENOENT;
		}
		have_gid = true;
	} else {
		ids->uid = (uid_t)(run_uid >= 0 ? run_uid : iuid);
		/* WithUserID: the gid of the uid's entry, 0 without one */
		have_gid = !passwd_find(pw, NULL, &ids->uid, &ids->gid, user, sizeof(user));
		if (!have_gid)
			ids->gid = 0;
		if (run_uid < 0 && igid >= 0)
			ids->gid = (gid_t)igid;
	}
	if (pw)
		fclose(pw);
	if (run_gid >= 0)
		ids->gid = (gid_t)run_gid;
	/* WithAdditionalGIDs: the gid, the groups naming the user; then the kubelet's */
	add_group(ids, ids->gid);
	gr = image_file(layers, n_layers, "etc/group");
	member_groups(gr, user, ids);
	if (gr)
		fclose(gr);
	if (!jv_path_int(pod, "spec.securityContext.fsGroup", &v) && v >= 0)
		add_group(ids, (gid_t)v);
	for (const struct jv *g = jv_first(jv_path(pod, "spec.securityContext.supplementalGroups"));
	     g; g = g->next)
		if (!jv_int(g, &v) && v >= 0)
			add_group(ids, (gid_t)v);
	return 0;
}

void agent_proc_ids(pid_t pid, struct agent_ids *ids)
{
	char path[64], line[4096];
	FILE *f;
	unsigned v;

	memset(ids, 0, sizeof(*ids));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u", &v) == 1) {
			ids->uid = v;
		} else if (sscanf(line, "Gid: %u", &v) == 1) {
			ids->gid = v;
		} else if (!strncmp(line, "Groups:", 7)) {
			char *save = NULL;

			for (char *t = strtok_r(line + 7, " \t\n", &save); t;
			     t = strtok_r(NULL, " \t\n", &save))
				add_group(ids, (gid_t)strtoul(t, NULL, 10));
		}
	}
	if (f)
		fclose(f);
}
