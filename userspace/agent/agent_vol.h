/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_vol: a pod's volumes as the kubelet's volume plugins make them (pkg/volume/...).
 *
 * The pure part (agent_vol_payload.c): the files a configMap, secret, downwardAPI or
 * projected volume holds (their makePayload / CollectData: every key or the items with
 * key->path and per-item mode over defaultMode, 0644 by default; optional sources skipped;
 * Secret data base64-decoded; downward API labels/annotations in fieldpath.FormatMap's
 * sorted `key="value"` lines, resourceFieldRef with its divisor and the node's allocatable
 * as the default limit; a projected serviceAccountToken's token from the caller,
 * agent_token.c, with defaultMode, or 0600 and the pod's FsUser / fsGroup), and the atomic
 * writer that puts them in a directory the kubelet's way (a `..<timestamp>` dir, `..data`
 * pointing at it swapped by rename, a symlink per top-level name), so a refresh never shows
 * a half-written volume.
 *
 * The agent part (agent_vol.c): root/pods/<ns>_<name>_<uid>/volumes/kubernetes.io~<kind>/
 * <name> made before the containers start (emptyDir, medium Memory and secret/projected on
 * a tmpfs; hostPath type checks), the container's bind mounts from its volumeMounts
 * (readOnly, subPath, subPathExpr), and the teardown with the pod.
 */
#ifndef DROVER_AGENT_VOL_H
#define DROVER_AGENT_VOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_env.h"
#include "k8s_jv.h"

struct vol_file {
	char *path; /* relative to the volume */
	unsigned char *data;
	size_t len;
	unsigned mode;
	bool set_uid, set_gid; /* the writer chowns the file to uid / gid */
	unsigned uid, gid;
};

struct vol_payload {
	struct vol_file *f;
	size_t n, cap;
};

/* What a payload is built from. */
struct vol_src {
	const struct jv *pod;
	const char *ns;
	env_get_obj_fn get; /* ConfigMaps and Secrets (agent_env.h) */
	void *arg;
	const char *node_cpu, *node_memory; /* allocatable: a resourceFieldRef's default limit */
	/* A projected serviceAccountToken source tp's token (malloc'd into *tok): 0, or -EINVAL
	 * with the message in err, -ENOMEM. NULL: such a source is an error. */
	int (*token)(void *arg, const struct jv *tp, char **tok, char *err, size_t errlen);
	void *token_arg;
};

/* token_manager.go requiresRefresh, for a token whose TokenRequest asked for exp_s seconds
 * and whose status.expirationTimestamp is exp (Unix seconds), at now, with jitter (the
 * manager's random 0-10 s): refresh once 80 % of exp_s has passed (jitter early), once it is
 * older than 24 h (jitter early), or when the clock is before its issue time (exp - exp_s). */
#define VOL_TOKEN_MAX_TTL_S    (24 * 3600)
#define VOL_TOKEN_MAX_JITTER_S 10
bool vol_token_requires_refresh(int64_t now, int64_t exp, int64_t exp_s, int64_t jitter);

/* Whether the volume (an item of spec.volumes) is one whose files the agent writes. */
bool vol_is_projection(const struct jv *vol);
/* The payload of such a volume into *out. 0; -EINVAL with the kubelet's message in err (the
 * volume cannot be set up: FailedMount); -ENOMEM. */
int vol_payload_build(const struct jv *vol, const struct vol_src *src, struct vol_payload *out,
		      char *err, size_t errlen);
void vol_payload_free(struct vol_payload *p);

/* fieldpath.FormatMap of a JSON object of strings (sorted `k="v"` lines, Go %q quoting, no
 * trailing newline); malloc'd, NULL on ENOMEM. */
char *vol_format_map(const struct jv *obj);

/* Write payload into dir (which exists) as the kubelet's AtomicWriter: nothing is written
 * when the files are already what it holds. 0 or -errno. */
int vol_atomic_write(const char *dir, const struct vol_payload *p);

/* hostpath.go checkType for type (DirectoryOrCreate and FileOrCreate make what is missing;
 * "" checks nothing, a missing path is made a directory as containerd does). 0, or -EINVAL
 * with the kubelet's message in err. */
int vol_host_path_check(const char *path, const char *type, char *err, size_t errlen);
/* ExpandContainerVolumeMounts: subPathExpr expanded with env (malloc'd), or NULL with
 * "missing value for A, B" in msg (msg empty: ENOMEM). */
char *vol_sub_path_expr(const char *expr, const struct env_list *env, char *msg, size_t msglen);

struct agent;
struct apod;
struct rt_mount;

/* The pod's volumes set up (idempotent: a refresh rewrites the projected files). 0, or
 * -EINVAL with `MountVolume.SetUp failed for volume "x" : ...` in msg (event FailedMount,
 * the containers keep waiting), other -errno. */
int agent_vol_setup(struct agent *a, struct apod *p, const struct jv *pod, char *msg,
		    size_t msglen);
/* The pod's volumes set up when due (first, after a failure with the volume manager's back-off
 * of 0.5 s doubling to 2m2s, or a refresh every minute); each failure is a FailedMount event
 * through rec. Whether its containers may start. */
struct kc_recorder;
bool agent_vol_ready(struct agent *a, struct kc_recorder *rec, struct apod *p,
		     const struct jv *pod);
/* The bind mounts of container ctr (its volumeMounts; subPathExpr expanded with env) into
 * *mounts (malloc'd, free with agent_vol_mounts_free). 0, or -EINVAL with the kubelet's
 * message in msg (CreateContainerConfigError), -ENOMEM. */
int agent_vol_mounts(struct agent *a, const struct apod *p, const struct jv *pod,
		     const struct jv *ctr, const struct env_list *env, struct rt_mount **mounts,
		     size_t *n, char *msg, size_t msglen);
void agent_vol_mounts_free(struct rt_mount *mounts, size_t n);
/* The pod's volumes unmounted and removed (the pod is gone or done). 0 or -errno (logged). */
int agent_vol_teardown(struct agent *a, const struct apod *p);
/* The volumes of pods under root/pods that are not in the keep set (uid), torn down. */
void agent_vol_gc(struct agent *a, bool (*keep)(void *arg, const char *uid), void *arg);

#endif
