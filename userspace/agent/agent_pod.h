/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_pod: one pod on the node as the agent runs it: its sandbox (a network namespace
 * bind-mounted under root/netns, wired by the CNI plugin) and its containers (drover's
 * runtime over the image store). agent_net.c owns the sandbox, agent_ctr.c the containers,
 * agent_pods.c the sync loop and the status.
 */
#ifndef DROVER_AGENT_POD_H
#define DROVER_AGENT_POD_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "agent_hook.h"
#include "agent_int.h"
#include "agent_probe.h"
#include "cgroup.h"
#include "image.h"
#include "runtime.h"

enum ctr_phase {
	CTR_WAITING = 0, /* not started yet, image missing, or in back-off */
	CTR_RUNNING,
	CTR_EXITED,   /* terminated, not to be restarted (or pod ending) */
	CTR_STARTING, /* its process runs, its postStart hook too: not Running yet (waiting) */
};

/* How far the stop of a container has come (agent_kill.c, kuberuntime's killContainer). */
enum ctr_stop {
	STOP_NONE = 0,
	STOP_PRESTOP, /* its preStop hook runs, until it ends or the grace period is spent */
	STOP_TURN,    /* a sidecar at pod termination waits for the containers after it */
	STOP_TERM,    /* SIGTERM sent, SIGKILL at kill_at */
	STOP_KILLED,  /* SIGKILL sent */
};

struct atoken;

struct actr {
	char name[64];
	char image[IMAGE_REF_MAX]; /* normalised */
	char image_id[160];
	char cid[200]; /* drover://HEX of the current (or last) run */
	enum ctr_phase phase;
	struct rt_proc proc;
	bool proc_live; /* proc holds a process not yet reaped */
	struct cg *cg;
	uint64_t oom_base; /* the cgroup's OOM kills when this run began (cg_oom_kills) */
	int restarts;
	char started[32], finished[32];
	int exit_code;
	char reason[48], message[1200];
	bool has_last;
	int last_exit;
	char last_reason[48], last_started[32], last_finished[32], last_cid[200];
	double next_start;    /* monotonic: back-off until then */
	double backoff;	      /* seconds of the next back-off; 0: none yet (image pulls too) */
	double backoff_at;    /* monotonic: the exit the crash back-off last counted */
	bool init;	      /* an init container (p->c[0 .. n_init-1]) */
	bool ephemeral;	      /* an ephemeral container (the last n_eph of p->c): never restarted */
	bool image_failed;    /* ErrImagePull was reported once: ImagePullBackOff from then on */
	char cwd[512];	      /* the working directory it runs in (exec probes run there too) */
	struct aprobe *probe; /* its probes (agent_probe.h), NULL when it has none */
	bool sidecar;	      /* an init container with restartPolicy Always */
	bool init_done;	      /* a sidecar that once ran and started: the next init may go */
	struct ahook *hook;   /* its postStart or preStop hook while it runs (agent_hook.h) */
	bool poststart_failed; /* killed for a failed postStart: message holds why */
	enum ctr_stop stop;    /* its stop (liveness, startup, postStart, pod termination) */
	bool ordered;	       /* a sidecar stopped with its pod: after the containers */
	int64_t grace;	       /* seconds of its grace period left */
	double step_at;	       /* monotonic: when the current stop step began */
	double kill_at;	       /* monotonic: SIGKILL then (STOP_TERM) */
};

struct apod {
	char key[512]; /* ns/name */
	char ns[256], name[256], uid[64];
	char netns[PATH_MAX];
	char ip[64];
	bool sandbox; /* netns made and CNI ADD done */
	/* a CNI ADD under way on a thread of its own (agent_sandbox_begin) while the pod's
	 * volumes and containers are set up: only its starter joins it (agent_sandbox_wait) */
	bool net_pending;
	struct agent *net_agent; /* set from begin to wait: an ADD's result to take */
	pthread_t net_thread;
	pthread_mutex_t net_mu; /* guards netns_done, netns_rc (the thread tells the starter) */
	pthread_cond_t net_cv;
	bool netns_done; /* the namespace is made (or failed: netns_rc) */
	int netns_rc;
	int net_rc;	   /* the ADD's result, once joined */
	char *net_out;	   /* the plugin's output */
	char net_err[512]; /* why the sandbox failed (its FailedCreatePodSandBox event) */
	char restart_policy[16];
	char start_time[32];
	/* the init containers first (n_init of them), the containers, then the ephemeral
	 * containers (n_eph, added as the pod gains them: agent_pods.c) */
	struct actr *c;
	size_t n, n_init, n_eph;
	bool deleting;
	bool
	    completing; /* its containers ended for good: its sidecars are stopped, not restarted */
	double kill_at; /* monotonic: a deleting pod is torn down then at the latest */
	bool finished;	/* Succeeded/Failed: nothing runs any more */
	char *last_patch;
	double ms[5];	       /* start phases in ms, summed over its containers (bench/podstart) */
	double seen_ms;	       /* monotonic ms: when the sync thread first saw it */
	bool vol_ready;	       /* its volumes are set up (agent_vol.h) */
	double vol_next;       /* monotonic: the next setup try (failed) or refresh (ready) */
	double vol_backoff;    /* seconds to the next try after a failed setup */
	struct atoken *tokens; /* its projected service account tokens (agent_token.c) */
};

enum { AGENT_MS_NETNS, AGENT_MS_CNI, AGENT_MS_CGROUP, AGENT_MS_IMAGE, AGENT_MS_PROCESS };

/* The agent's clock for back-offs, deadlines and start-phase timings (monotonic). */
static inline double agent_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double agent_mono_ms(void)
{
	return agent_mono_s() * 1e3;
}

/* agent_net.c: the pod's network namespace and its CNI ADD / DEL. 0 or -errno (logged). */
int agent_sandbox_up(struct agent *a, struct apod *p);
/* agent_sandbox_up in two halves: begin starts a thread (p->net_pending) that makes the
 * namespace, then runs the CNI ADD; wait joins it and takes the result (p->ip, p->sandbox; a
 * failed sandbox is torn down as agent_sandbox_up's is). wait without a sandbox under way: 0
 * when it is up, else -ENETDOWN. Whoever calls begin calls wait. netns: once the namespace is
 * made (what a container joins), 0 or -errno; whoever calls begin calls it (or wait). */
int agent_sandbox_begin(struct agent *a, struct apod *p);
int agent_sandbox_netns(struct apod *p);
int agent_sandbox_wait(struct agent *a, struct apod *p);
int agent_sandbox_down(struct agent *a, struct apod *p);
/* The path of the network namespace of the pod with this uid (whether it exists or not). */
void agent_pod_netns(const char *uid, char *buf, size_t size);
/* Remove leftovers (netns files, CNI state) of pods not in the keep set (uid -> anything). */
void agent_sandbox_gc(struct agent *a, bool (*keep)(void *arg, const char *uid), void *arg);

/* agent_ctr.c: the spec of container i (p->c[i]: init containers first) in pod. */
const struct jv *agent_ctr_spec(const struct jv *pod, const struct apod *p, size_t i);
/* agent_ctr.c: start container i of pod as its spec says; -ENOENT when the image is not in
 * the store (c->reason/message set as the kubelet reports it), other -errno on failure. */
int agent_ctr_start(struct agent *a, struct apod *p, const struct jv *pod, size_t i);
/* The pod's directory under root/pods (kubelet's <ns>_<name>_<uid> layout). */
void agent_pod_dir(const struct agent *a, const struct apod *p, char *buf, size_t size);
/* Kill whatever runs in the pod's cgroups (<cgroup-parent>/pods/<uid>/...) and remove them. */
int agent_pod_cgroup_purge(struct agent *a, const char *uid);
/* rm -rf path (no error when missing). */
int agent_rm_rf(const char *path);
/* The cgroup of a container that exists already (an adopted one), or NULL. */
struct cg *agent_ctr_cgroup_open(struct agent *a, const struct apod *p, const char *name);

/* agent_token.c: the token of the pod's projected serviceAccountToken source tp, from its
 * cache or a TokenRequest (malloc'd into *tok). 0, -EINVAL with the kubelet's message in err,
 * -ENOMEM. */
int agent_token_get(struct agent *a, struct apod *p, const struct jv *pod, const struct jv *tp,
		    char **tok, char *err, size_t errlen);
/* The pod's cached tokens dropped (NULL-safe). */
void agent_tokens_free(struct apod *p);

/* agent_kill.c: stopping container i of p as kuberuntime's killContainer: event Killing with
 * msg ("Stopping container NAME" when NULL), its preStop hook (pod: the pod's jv with its
 * spec; grace > 0) for up to grace seconds, for a sidecar stopped with its pod (ordered) the
 * wait for the containers and the sidecars after it (the rest of the grace at most), then
 * SIGTERM with what is left of grace (at least 2 s), SIGKILL at its end. Nothing when it does
 * not run or is being stopped already. agent_ctr_stop_step moves every stop of p on (each
 * pass); a stop ends with the container's exit (reaped). */
struct kc_recorder;
/* An Event about pod p from the kubelet (agent_kill.c): a printf-style message. */
void agent_pod_event(struct kc_recorder *rec, const struct apod *p, const char *type,
		     const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void agent_ctr_stop(struct kc_recorder *rec, struct apod *p, size_t i, const struct jv *pod,
		    int64_t grace, const char *msg, bool ordered);
void agent_ctr_stop_step(struct kc_recorder *rec, struct apod *p);
/* Hook k of container c (its spec ctr) started against its process (agent_hook.h). */
struct ahook *agent_ctr_hook(const struct apod *p, const struct actr *c, const struct jv *ctr,
			     enum hook_kind k);
/* setTerminationGracePeriod without a probe: metadata.deletionGracePeriodSeconds, else
 * spec.terminationGracePeriodSeconds, else 2 (minimumGracePeriodInSeconds). */
int64_t agent_pod_grace(const struct jv *pod);
/* A hook or a stop of p is in progress (the sync loop then looks more often). */
bool agent_pod_busy(const struct apod *p);

/* agent_init.c: what the kubelet decides from the containers' states alone. */
#define AGENT_INIT_DONE	  (-1) /* every init container succeeded: the containers may start */
#define AGENT_INIT_WAIT	  (-2) /* an init container runs */
#define AGENT_INIT_FAILED (-3) /* one failed and is not restarted (restartPolicy Never) */
/* The init container to start next (its index), or AGENT_INIT_*. */
int agent_init_next(const struct apod *p);
/* The pod phase (kubelet's getPhase for init containers without restartPolicy). */
const char *agent_pod_phase(const struct apod *p);
/* A container that crashed at now (monotonic) is to run again: the seconds it waits (0: at
 * once), as the kubelet's flowcontrol back-off keyed by container: the first restart and one
 * after more than 600 s (twice the 300 s maximum) since the last counted exit at once, then
 * 10 s doubling to 300 s. Updates c->backoff and c->backoff_at. */
double agent_crash_backoff(struct actr *c, double now);
/* The reason of a container that ended with exit_code, its cgroup having counted oom_base OOM
 * kills when it started and oom_now at its end: containerd's CRI status reason (an OOM event
 * during the run: "OOMKilled", whatever the code; else "Completed" for 0, "Error"). */
const char *agent_exit_reason(int exit_code, uint64_t oom_base, uint64_t oom_now);

/* agent_sec.c: the user a container runs as (securityContext over the image's User). */
struct agent_ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[64]; /* supplementary: the gid, fsGroup, supplementalGroups */
	size_t n_groups;
};
/* ctr's effective runAsUser/runAsGroup/runAsNonRoot (the container's over the pod's), the
 * pod's fsGroup and supplementalGroups, over the image's User (image_user, NULL: root; a
 * name or a group name looked up in the image's etc/passwd and etc/group of layers, top
 * first). 0; -EINVAL with the kubelet's message in msg (CreateContainerConfigError, as
 * verifyRunAsNonRoot); -ENOENT with the runtime's message (CreateContainerError: a user name
 * the image does not have). */
int agent_sec_ids(const struct jv *pod, const struct jv *ctr, const char *ctr_name,
		  const char *image_user, const char *const *layers, size_t n_layers,
		  struct agent_ids *ids, char *msg, size_t msglen);

/* The ids a running process has (/proc/PID/status: Uid, Gid, Groups), what an exec into its
 * container (kubectl exec, exec probes) runs as; root when it cannot be read. */
void agent_proc_ids(pid_t pid, struct agent_ids *ids);

/* agent_adopt.c: the pod's state file (sandbox, containers and their process records),
 * written once per pass in which the sandbox came up or containers started or ended; read
 * back after a restart: 0 when the pod's sandbox and containers were adopted, -ENOENT when
 * it starts over. */
int agent_pod_save(struct agent *a, const struct apod *p);
int agent_pod_adopt(struct agent *a, struct apod *p);

#endif
