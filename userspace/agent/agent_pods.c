/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_pods: the pod sync loop. An informer watches the pods with spec.nodeName=NODE (its
 * handlers only queue keys); one sync thread owns every pod's state, except a new pod's
 * while it starts: a new pod is handed to a starter thread (--pod-start-workers of them, so
 * pods that arrive together start side by side and a slow one, e.g. a CNI ADD that hangs,
 * holds up no other), which makes its sandbox, sets its volumes up, starts its first
 * containers and writes its status; meanwhile the sync thread leaves the pod alone (an
 * update or a deletion waits: the starter queues the key again when it is done). Then the
 * sync thread starts the rest (the init containers one after the other, each to success, then
 * the containers in order), reaps exited containers and restarts them per restartPolicy with the
 * kubelet's back-off (agent_init.c: the first restart at once, then 10 s doubling to 300 s,
 * CrashLoopBackOff while waiting, started over after 10 minutes without a crash; a failed
 * init container runs again unless restartPolicy is Never, which fails the pod), terminates
 * pods with a deletionTimestamp (SIGTERM, SIGKILL after the grace period, CNI DEL, netns and
 * cgroups removed, then the final delete with gracePeriodSeconds=0 and the uid as
 * precondition, as the kubelet's status manager does), and writes pods/status (through
 * kubelet_pod_status_patch) whenever what it would write changes.
 *
 * Probes (agent_probe.h) run in threads of their own; each pass reads their results into the
 * status (started, ready, so Ready/ContainersReady) and kills a container whose liveness or
 * startup probe failed (event Killing, SIGTERM, SIGKILL after its grace period; restarted as
 * restartPolicy says).
 *
 * After an agent restart a pod's sandbox and running containers are adopted from its state
 * file (agent_adopt.c), written in the passes that start or reap its containers; init
 * containers that succeeded stay done (they do not run again).
 *
 * Volumes (agent_vol.h: emptyDir, hostPath, configMap, secret, downwardAPI, projected) are
 * set up before the containers start; while one cannot be (a missing ConfigMap, a hostPath
 * type check) the containers wait in ContainerCreating and each failed try is a FailedMount
 * event with the kubelet's message, retried with the volume manager's back-off (0.5 s
 * doubling to 2m2s); once up, the projected files are refreshed every minute. They are
 * unmounted and removed with the pod's sandbox (done, deleted, or gone while the agent was
 * away).
 *
 * Lifecycle hooks (agent_hook.h): a postStart hook runs once the process started, the
 * container is Running only once it returned (a failure kills it: FailedPostStartHook); every
 * stop (pod deletion, liveness/startup failure, failed postStart) goes through agent_kill.c:
 * preStop, then SIGTERM with what is left of the grace period, SIGKILL at its end.
 *
 * Sidecars (init containers with restartPolicy Always) start in order with the others, the
 * next one once the sidecar started; they restart whenever they end, whatever restartPolicy
 * says, until the pod ends: once its containers ended for good they are stopped (the last
 * one first), and on deletion after the containers.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_pod.h"
#include "agent_vol.h"
#include "hmap.h"
#include "informer.h"
#include "recorder.h"
#include "workqueue.h"

#define BACKOFF_BASE_S 10.0
#define BACKOFF_MAX_S  300.0
#define TICK_MS	       200
#define BUSY_TICK_MS   20
#define MIN_GRACE_S    2 /* kuberuntime minimumGracePeriodInSeconds */

struct agent_pods {
	struct agent *a;
	struct kc_informer *inf;
	struct kc_queue *q;
	struct kc_recorder *rec; /* the kubelet's events (probes, kills) */
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	bool busy; /* a hook or a container stop was in progress at the last pass */
	struct apod **pods;
	size_t n, cap;
	struct kc_queue *startq;     /* keys of new pods for the starters */
	struct kc_workers *starters; /* the starter threads */
	pthread_mutex_t start_mu;    /* guards starting */
	struct hmap *starting;	     /* key -> the apod a starter owns until its start is done */
};

static const char *now_str(char *buf)
{
	return kubelet_time_str(time(NULL), buf);
}

/* ---- informer handlers: queue the key ---- */

static void enqueue(struct agent_pods *ps, const struct jv *tree)
{
	char key[512];

	if (kc_key_of(tree, key, sizeof(key)))
		kc_queue_add(ps->q, key);
}

static void on_add(void *arg, const struct kc_obj *o, const struct jv *tree)
{
	(void)o;
	enqueue(arg, tree);
}

static void on_update(void *arg, const struct kc_obj *old, const struct jv *old_tree,
		      const struct kc_obj *cur, const struct jv *cur_tree)
{
	(void)old;
	(void)old_tree;
	(void)cur;
	enqueue(arg, cur_tree);
}

static void on_del(void *arg, const struct kc_obj *o, const struct jv *tree)
{
	(void)o;
	enqueue(arg, tree);
}

/* ---- pod state ---- */

static struct apod *find(struct agent_pods *ps, const char *key)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->pods[i]->key, key))
			return ps->pods[i];
	return NULL;
}

static void pod_free(struct apod *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		ahook_free(p->c[i].hook);   /* before the cgroup its exec joins */
		aprobe_free(p->c[i].probe); /* before the cgroup its exec probes join */
		rt_proc_release(&p->c[i].proc);
		cg_free(p->c[i].cg);
	}
	free(p->c);
	free(p->last_patch);
	free(p->net_out);
	agent_tokens_free(p);
	free(p);
}

static void forget(struct agent_pods *ps, struct apod *p)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->pods[i] == p) {
			ps->pods[i] = ps->pods[--ps->n];
			break;
		}
	pod_free(p);
}

/* c, the ephemeral container e of p (kubelet: never restarted, no probes, no hooks). */
static void eph_fill(struct actr *c, const struct jv *e)
{
	const char *cn = jv_path_str(e, "name"), *img = jv_path_str(e, "image");

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", cn ? cn : "");
	kubelet_image_normalize(img ? img : "", c->image, sizeof(c->image));
	c->proc.pidfd = -1;
	c->ephemeral = true;
}

/* The ephemeral containers the pod gained (the ephemeralcontainers subresource only adds
 * them) appended to p->c, waiting to start. -ENOMEM. */
static int eph_sync(struct apod *p, const struct jv *pod)
{
	const struct jv *list = jv_path(pod, "spec.ephemeralContainers");
	size_t want = jv_count(list), i = 0;
	struct actr *nc;

	if (!pod || want <= p->n_eph)
		return 0;
	nc = realloc(p->c, (p->n - p->n_eph + want) * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	p->c = nc;
	for (const struct jv *e = jv_first(list); e; e = e->next, i++) {
		bool known = false;

		for (size_t k = p->n - p->n_eph; k < p->n; k++)
			known |= jv_is_str(jv_get(e, "name"), p->c[k].name);
		if (known)
			continue;
		eph_fill(&p->c[p->n], e);
		p->n++;
		p->n_eph++;
	}
	return 0;
}

static struct apod *pod_new(struct agent_pods *ps, const char *key, const struct jv *pod)
{
	const char *ns = jv_path_str(pod, "metadata.namespace"),
		   *name = jv_path_str(pod, "metadata.name"),
		   *uid = jv_path_str(pod, "metadata.uid"),
		   *rp = jv_path_str(pod, "spec.restartPolicy");
	struct apod *p;
	size_t n_init = jv_count(jv_path(pod, "spec.initContainers")),
	       n = jv_count(jv_path(pod, "spec.containers")), i = 0;

	if (!ns || !name || !uid || !n)
		return NULL;
	n += n_init;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		struct apod **np = realloc(ps->pods, cap * sizeof(*np));

		if (!np)
			return NULL;
		ps->pods = np;
		ps->cap = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->c = calloc(n, sizeof(*p->c)))) {
		free(p);
		return NULL;
	}
	p->n = n;
	p->n_init = n_init;
	p->seen_ms = agent_mono_ms();
	snprintf(p->key, sizeof(p->key), "%s", key);
	snprintf(p->ns, sizeof(p->ns), "%s", ns);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	snprintf(p->restart_policy, sizeof(p->restart_policy), "%s", rp ? rp : "Always");
	for (int l = 0; l < 2; l++)
		for (const struct jv *c =
			 jv_first(jv_path(pod, l ? "spec.containers" : "spec.initContainers"));
		     c; c = c->next, i++) {
			const char *cn = jv_path_str(c, "name"), *img = jv_path_str(c, "image");

			snprintf(p->c[i].name, sizeof(p->c[i].name), "%s", cn ? cn : "");
			kubelet_image_normalize(img ? img : "", p->c[i].image,
						sizeof(p->c[i].image));
			p->c[i].proc.pidfd = -1;
			p->c[i].init = i < n_init;
			p->c[i].sidecar =
			    p->c[i].init && jv_is_str(jv_get(c, "restartPolicy"), "Always");
			if (p->c[i].init && !p->c[i].sidecar)
				continue; /* no probes: only sidecars may have them */
			p->c[i].probe = aprobe_new(
			    ps->rec,
			    &(struct aprobe_pod){.ns = p->ns, .name = p->name, .uid = p->uid}, c);
			if (!p->c[i].probe && errno)
				log_warn(AGENT_COMP, "pod %s: container %s: probes: %s", key,
					 p->c[i].name, strerror(errno));
		}
	if (eph_sync(p, pod)) {
		pod_free(p);
		return NULL;
	}
	ps->pods[ps->n++] = p;
	return p;
}

/* ---- status ---- */

/* waiting: the reason of a container that has none yet (the kubelet's default waiting state:
 * PodInitializing in a pod with init containers, else ContainerCreating). */
static void state_of(const struct actr *c, struct kubelet_ctr_status *s, const char *waiting)
{
	memset(s, 0, sizeof(*s));
	s->name = c->name;
	s->image = c->image;
	s->image_id = c->image_id;
	s->restart_count = c->restarts;
	if (c->cid[0])
		s->container_id = c->cid;
	s->sidecar = c->sidecar;
	switch (c->phase) {
	case CTR_RUNNING:
		s->cur.state = KUBELET_CTR_RUNNING;
		s->cur.started_at = c->started;
		/* the prober manager's UpdatePodStatus: started, then ready */
		aprobe_status(c->probe, &s->started, &s->ready);
		if (c->init && !c->sidecar)
			s->ready = false; /* ready once it succeeded */
		break;
	case CTR_EXITED:
		s->cur.state = KUBELET_CTR_TERMINATED;
		s->cur.exit_code = c->exit_code;
		s->cur.reason = c->reason[0] ? c->reason : NULL;
		s->cur.started_at = c->started;
		s->cur.finished_at = c->finished;
		s->cur.container_id = c->cid;
		/* an init container is ready once it succeeded */
		s->ready = c->init && !c->sidecar && c->exit_code == 0;
		break;
	case CTR_STARTING: /* its postStart runs: not started yet (kubelet's pod worker waits) */
	case CTR_WAITING:
		s->cur.state = KUBELET_CTR_WAITING;
		s->cur.reason = c->reason[0] ? c->reason : waiting;
		s->cur.message = c->message[0] ? c->message : NULL;
		break;
	}
	if (c->has_last) {
		s->has_last = true;
		s->last.state = KUBELET_CTR_TERMINATED;
		s->last.exit_code = c->last_exit;
		s->last.reason = c->last_reason;
		s->last.started_at = c->last_started;
		s->last.finished_at = c->last_finished;
		s->last.container_id = c->last_cid;
	}
}

/* pod: the informer's copy of p (tick's, parsed once a pass). */
static void publish(struct agent_pods *ps, struct apod *p, const struct jv *pod)
{
	struct agent *a = ps->a;
	struct kubelet_ctr_status *cs = calloc(p->n, sizeof(*cs));
	struct kubelet_pod_status st;
	struct kc_status kst = {0};
	char now[32], *patch = NULL;
	size_t len;
	int err;

	if (!cs || !pod || !jv_is_str(jv_path(pod, "metadata.uid"), p->uid))
		goto out;
	for (size_t i = 0; i < p->n; i++)
		state_of(&p->c[i], &cs[i], p->n_init ? "PodInitializing" : "ContainerCreating");
	/* an ephemeral container is never ready, and waits as ContainerCreating */
	for (size_t i = p->n - p->n_eph; i < p->n; i++) {
		cs[i].ready = false;
		if (p->c[i].phase == CTR_WAITING && !p->c[i].reason[0])
			cs[i].cur.reason = "ContainerCreating";
	}
	st = (struct kubelet_pod_status){
	    .phase = agent_pod_phase(p),
	    .host_ip = a->node_ip,
	    .pod_ip = p->sandbox ? p->ip : NULL,
	    .start_time = p->start_time,
	    .sandbox_ready = p->sandbox,
	    .ctrs = cs + p->n_init,
	    .n_ctrs = p->n - p->n_init - p->n_eph,
	    .init_ctrs = cs,
	    .n_init = p->n_init,
	    .eph_ctrs = cs + p->n - p->n_eph,
	    .n_eph = p->n_eph,
	};
	patch = kubelet_pod_status_patch(pod, &st, now_str(now), &len);
	if (!patch || (p->last_patch && !strcmp(patch, p->last_patch)))
		goto out;
	err = kc_patch(a->kc, a->k_pod, p->ns, p->name, "status", KC_PATCH_STRATEGIC, patch, len,
		       &(struct kc_write_opts){0}, NULL, &kst);
	if (err) {
		log_warn(AGENT_COMP, "pod %s: status: %s", p->key,
			 kst.message[0] ? kst.message : kc_strerror(err));
		goto out;
	}
	free(p->last_patch);
	p->last_patch = patch;
	patch = NULL;
	if (!strcmp(st.phase, "Succeeded") || !strcmp(st.phase, "Failed"))
		p->finished = true;
out:
	free(patch);
	free(cs);
}

/* ---- containers ---- */

/* The image as the pod spec names it (the kubelet's events quote container.Image). */
static const char *spec_image(const struct jv *pod, const struct apod *p, size_t i,
			      const struct actr *c)
{
	const char *s = jv_path_str(agent_ctr_spec(pod, p, i), "image");

	return s ? s : c->image;
}

/* Start container i if it is due; true when it started. */
static bool try_start(struct agent_pods *ps, struct apod *p, const struct jv *pod, size_t i)
{
	struct actr *c = &p->c[i];
	char reason[sizeof(c->reason)], message[sizeof(c->message)];
	int rc;

	if (c->phase != CTR_WAITING || agent_mono_s() < c->next_start)
		return false;
	/* while its postStart runs, a container shows the waiting state it had (the kubelet's
	 * status is the one made before the sync that starts it) */
	memcpy(reason, c->reason, sizeof(reason));
	memcpy(message, c->message, sizeof(message));
	rc = agent_ctr_start(ps->a, p, pod, i);
	if (rc && agent_sandbox_wait(ps->a, p)) {
		/* the pod's CNI ADD, run alongside, failed: the sandbox's failure, not the
		 * container's (the kubelet starts no container without its sandbox) */
		memcpy(c->reason, reason, sizeof(reason));
		memcpy(c->message, message, sizeof(message));
		return false;
	}
	if (!rc) {
		const struct jv *spec = agent_ctr_spec(pod, p, i);

		/* no registry: an image in the local store is "present" whatever the policy */
		agent_pod_event(ps->rec, p, "Normal", "Pulled",
				"Container image \"%s\" already present on machine",
				spec_image(pod, p, i, c));
		agent_pod_event(ps->rec, p, "Normal", "Created", "Created container %s", c->name);
		agent_pod_event(ps->rec, p, "Normal", "Started", "Started container %s", c->name);

		c->reason[0] = 0;
		c->poststart_failed = false;
		if (c->image_failed) /* the image back-off is not the crash back-off */
			c->backoff = 0;
		c->image_failed = false;
		log_info(AGENT_COMP, "pod %s: container %s started (pid %d)", p->key, c->name,
			 (int)c->proc.pid);
		/* startContainer's step 4: the postStart hook; the container is Running (and
		 * probed) once it returned */
		if (spec && ahook_defined(spec, HOOK_POST_START)) {
			c->hook = agent_ctr_hook(p, c, spec, HOOK_POST_START);
			if (c->hook) {
				c->phase = CTR_STARTING;
				memcpy(c->reason, reason, sizeof(reason));
				memcpy(c->message, message, sizeof(message));
				return true;
			}
			log_warn(AGENT_COMP, "pod %s: container %s: postStart hook: %s", p->key,
				 c->name, strerror(errno));
		}
		c->phase = CTR_RUNNING;
		aprobe_run(c->probe, c->proc.pid, c->cg, p->ip, c->cwd);
		return true;
	}
	if (rc == -ENOENT) {
		/* ErrImagePull first, ImagePullBackOff while backing off (kubelet's image
		 * back-off: 10 s doubling to 300 s) */
		snprintf(c->reason, sizeof(c->reason), "%s",
			 c->image_failed ? "ImagePullBackOff" : "ErrImagePull");
		if (c->image_failed) {
			snprintf(c->message, sizeof(c->message), "Back-off pulling image \"%s\"",
				 c->image);
			agent_pod_event(ps->rec, p, "Normal", "BackOff",
					"Back-off pulling image \"%s\"", spec_image(pod, p, i, c));
		} else {
			/* the pull's error: agent_ctr_start's message past its own prefix */
			const char *why = strstr(c->message, "\": ");

			agent_pod_event(ps->rec, p, "Normal", "Pulling", "Pulling image \"%s\"",
					spec_image(pod, p, i, c));
			agent_pod_event(ps->rec, p, "Warning", "Failed",
					"Failed to pull image \"%s\": %s", spec_image(pod, p, i, c),
					why ? why + 3 : c->message);
		}
		agent_pod_event(ps->rec, p, "Warning", "Failed", "Error: %s", c->reason);
		c->image_failed = true;
	} else {
		snprintf(c->reason, sizeof(c->reason), "%s",
			 rc == -EINVAL ? "CreateContainerConfigError" : "CreateContainerError");
		log_warn(AGENT_COMP, "pod %s: container %s: %s", p->key, c->name, c->message);
		agent_pod_event(ps->rec, p, "Warning", "Failed", "Error: %s",
				c->message[0] ? c->message : c->reason);
		if (rc == -EINVAL) {
			/* a sync error, not a crash: the pod worker retries it after its flat
			 * backOffPeriod (10 s), so a ConfigMap made later is picked up soon */
			c->next_start = agent_mono_s() + BACKOFF_BASE_S;
			return false;
		}
	}
	c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_BASE_S;
	if (c->backoff > BACKOFF_MAX_S)
		c->backoff = BACKOFF_MAX_S;
	c->next_start = agent_mono_s() + (c->image_failed && !strcmp(c->reason, "ErrImagePull")
					      ? 1.0 /* report ErrImagePull, then back off */
					      : c->backoff);
	return false;
}

/* The containers that are due started; the pod's state file written once for them all (and
 * for a sandbox just made: save). Whether it was written. */
static bool start_due(struct agent_pods *ps, struct apod *p, const struct jv *pod, bool save)
{
	int next;

	if (pod && !p->finished && !agent_vol_ready(ps->a, ps->rec, p, pod))
		pod = NULL; /* the containers wait (ContainerCreating) */
	/* the init containers one at a time, each to success; the containers after the last */
	next = agent_init_next(p);
	if (pod && next >= 0)
		save |= try_start(ps, p, pod, (size_t)next);
	/* sidecars that ran and ended run again, whatever the pod's restartPolicy, until the
	 * pod ends (computeInitContainerActions) */
	for (size_t k = 0; pod && !p->completing && k < p->n_init; k++)
		if (p->c[k].sidecar && p->c[k].init_done && (int)k != next)
			save |= try_start(ps, p, pod, k);
	for (size_t k = p->n_init; pod && next == AGENT_INIT_DONE && k < p->n; k++)
		save |= try_start(ps, p, pod, k);
	if (save)
		agent_pod_save(ps->a, p);
	return save;
}

/* A container ended: record it, decide whether it runs again. */
static void exited(struct agent_pods *ps, struct apod *p, struct actr *c, int status)
{
	char now[32];
	bool restart;
	double wait;

	(void)ps;
	c->proc_live = false;
	c->stop = STOP_NONE;
	ahook_free(c->hook); /* a postStart or preStop still running ends with it */
	c->hook = NULL;
	if (c->phase == CTR_STARTING)
		c->phase = CTR_RUNNING; /* it ran, it ended */
	aprobe_exited(c->probe);
	rt_proc_release(&c->proc);
	c->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	snprintf(c->reason, sizeof(c->reason), "%s",
		 agent_exit_reason(c->exit_code, c->oom_base, c->cg ? cg_oom_kills(c->cg) : 0));
	snprintf(c->finished, sizeof(c->finished), "%s", now_str(now));
	log_info(AGENT_COMP, "pod %s: container %s exited with %d", p->key, c->name, c->exit_code);
	/* an init container that succeeded is done; one that failed runs again unless Never */
	restart = !p->deleting && !c->ephemeral &&
		  (c->sidecar ? !p->completing
		   : c->init  ? c->exit_code != 0 && strcmp(p->restart_policy, "Never")
			      : !strcmp(p->restart_policy, "Always") ||
				   (!strcmp(p->restart_policy, "OnFailure") && c->exit_code != 0));
	if (!restart) {
		c->phase = CTR_EXITED;
		return;
	}
	/* lastState, then CrashLoopBackOff while the back-off runs */
	c->has_last = true;
	c->last_exit = c->exit_code;
	snprintf(c->last_reason, sizeof(c->last_reason), "%s", c->reason);
	snprintf(c->last_started, sizeof(c->last_started), "%s", c->started);
	snprintf(c->last_finished, sizeof(c->last_finished), "%s", c->finished);
	snprintf(c->last_cid, sizeof(c->last_cid), "%s", c->cid);
	c->restarts++;
	c->phase = CTR_WAITING;
	wait = agent_crash_backoff(c, agent_mono_s());
	c->next_start = agent_mono_s() + wait;
	c->reason[0] = 0;
	if (c->poststart_failed && wait <= 0) {
		/* the reason cache's: PostStartHookError with the handler's message */
		snprintf(c->reason, sizeof(c->reason), "PostStartHookError");
		c->next_start = agent_mono_s() + 1.0; /* reported, then restarted (next sync) */
		return;
	}
	c->message[0] = 0;
	if (wait <= 0)
		return; /* restarted at once (this pass) */
	snprintf(c->reason, sizeof(c->reason), "CrashLoopBackOff");
	snprintf(c->message, sizeof(c->message),
		 "back-off %.0fs restarting failed container=%s pod=%s_%s(%s)", wait, c->name,
		 p->name, p->ns, p->uid);
	agent_pod_event(ps->rec, p, "Warning", "BackOff",
			"Back-off restarting failed container %s in pod %s_%s(%s)", c->name,
			p->name, p->ns, p->uid);
}

/* The containers that ended, and the state file once for them (what exited() decided); not
 * for a pod being deleted: after a restart it is deleted, not adopted. */
static void reap(struct agent_pods *ps, struct apod *p)
{
	bool ended = false;

	for (size_t i = 0; i < p->n; i++) {
		struct actr *c = &p->c[i];
		int status = 0;

		if (c->proc_live && rt_wait(&c->proc, 0, &status) == 0) {
			exited(ps, p, c, status);
			ended = true;
		}
	}
	if (ended && !p->deleting)
		agent_pod_save(ps->a, p);
}

/* A running container whose liveness or startup probe failed is killed as kuberuntime does
 * (computePodActions / computeInitContainerActions for a sidecar, killContainer: agent_kill.c)
 * with the probe's terminationGracePeriodSeconds over the pod's (setTerminationGracePeriod).
 * Its exit is then reaped and restarted as restartPolicy says. */
static void probe_kills(struct agent_pods *ps, struct apod *p, const struct jv *pod)
{
	for (size_t i = 0; i < p->n; i++) {
		struct actr *c = &p->c[i];
		int64_t grace, pg, g;
		int kind;
		char msg[256];

		if (c->phase != CTR_RUNNING || !c->proc_live || c->stop != STOP_NONE)
			continue;
		kind = aprobe_failed(c->probe, &pg);
		if (kind < 0)
			continue;
		grace = agent_pod_grace(pod);
		if (pg >= 0 && jv_path_int(pod, "metadata.deletionGracePeriodSeconds", &g))
			grace = pg;
		if (c->sidecar)
			snprintf(msg, sizeof(msg), "Init container %s failed %s probe", c->name,
				 kind == PROBE_LIVENESS ? "liveness" : "startup");
		else
			snprintf(msg, sizeof(msg), "Container %s failed %s probe%s", c->name,
				 kind == PROBE_LIVENESS ? "liveness" : "startup",
				 strcmp(p->restart_policy, "Never") ? ", will be restarted" : "");
		log_info(AGENT_COMP, "pod %s: %s (grace %llds)", p->key, msg, (long long)grace);
		agent_ctr_stop(ps->rec, p, i, pod, grace, msg, false);
	}
}

/* A postStart hook that ended: the container is Running (and probed), or it failed and is
 * killed (startContainer: event FailedPostStartHook "PostStartHook failed", killContainer
 * with the message "FailedPostStartHook"), to be restarted as restartPolicy says with the
 * waiting reason PostStartHookError. true when one became Running. */
static bool poststart_done(struct agent_pods *ps, struct apod *p, const struct jv *pod)
{
	bool started = false;

	for (size_t i = 0; i < p->n; i++) {
		struct actr *c = &p->c[i];
		bool ok;

		if (c->phase != CTR_STARTING || c->stop != STOP_NONE ||
		    !ahook_done(c->hook, &ok, c->message, sizeof(c->message)))
			continue;
		ahook_free(c->hook);
		c->hook = NULL;
		if (ok) {
			c->phase = CTR_RUNNING;
			c->reason[0] = c->message[0] = 0;
			aprobe_run(c->probe, c->proc.pid, c->cg, p->ip, c->cwd);
			log_info(AGENT_COMP, "pod %s: container %s: postStart hook done", p->key,
				 c->name);
			started = true;
			continue;
		}
		log_warn(AGENT_COMP, "pod %s: container %s: %s", p->key, c->name, c->message);
		/* the message stays out of the event (secrets) */
		agent_pod_event(ps->rec, p, "Warning", "FailedPostStartHook",
				"PostStartHook failed");
		c->poststart_failed = true;
		snprintf(c->reason, sizeof(c->reason), "PostStartHookError");
		agent_ctr_stop(ps->rec, p, i, pod, agent_pod_grace(pod), "FailedPostStartHook",
			       false);
	}
	return started;
}

/* Sidecars: one running and started is initialized (the next init container may go); once
 * every container ended for good (restartPolicy not Always), the pod is done and its
 * sidecars are stopped, after each other in reverse order (computePodActions' KillPod). */
static void sidecars(struct agent_pods *ps, struct apod *p, const struct jv *pod)
{
	bool any = false, done = p->n > p->n_init;

	for (size_t i = 0; i < p->n_init; i++) {
		struct actr *c = &p->c[i];
		bool started, ready;

		if (!c->sidecar)
			continue;
		any = true;
		if (!c->init_done && c->phase == CTR_RUNNING) {
			aprobe_status(c->probe, &started, &ready);
			c->init_done = started;
		}
	}
	if (!any || p->completing || p->deleting)
		return;
	for (size_t i = p->n_init; i < p->n; i++)
		done &= p->c[i].phase == CTR_EXITED;
	if (!done)
		return;
	p->completing = true;
	log_info(AGENT_COMP, "pod %s: its containers ended: stopping its sidecars", p->key);
	for (size_t i = p->n_init; i-- > 0;)
		if (p->c[i].sidecar)
			agent_ctr_stop(ps->rec, p, i, pod, agent_pod_grace(pod), NULL, true);
}

/* ---- teardown ---- */

static void cleanup(struct agent_pods *ps, struct apod *p)
{
	char dir[PATH_MAX];

	for (size_t i = 0; i < p->n; i++) {
		struct actr *c = &p->c[i];
		int status;

		if (c->proc_live) {
			if (c->proc.pid > 0) /* 0: adopted after it ended */
				kill(c->proc.pid, SIGKILL);
			if (c->cg)
				cg_kill(c->cg, 10000);
			if (rt_wait(&c->proc, 10000, &status) == 0)
				c->proc_live = false;
		}
		if (c->cg) {
			cg_kill(c->cg, 5000);
			if (cg_remove(c->cg, 5000))
				log_warn(AGENT_COMP, "pod %s: cgroup of %s stays", p->key, c->name);
		}
	}
	if (agent_pod_cgroup_purge(ps->a, p->uid))
		log_warn(AGENT_COMP, "pod %s: its cgroups stay", p->key);
	agent_sandbox_down(ps->a, p);
	/* once nothing runs in it: the kubelet's volume manager unmounts a terminated pod's */
	agent_vol_teardown(ps->a, p);
	p->vol_ready = false;
	p->vol_next = 0;
	agent_pod_dir(ps->a, p, dir, sizeof(dir));
	for (size_t i = 0; i < p->n; i++) {
		char run[PATH_MAX + 128];

		snprintf(run, sizeof(run), "%s/%s/run", dir, p->c[i].name);
		agent_rm_rf(run);
	}
}

/* The last step of a graceful deletion: the object goes (kubelet's status manager). */
static void final_delete(struct agent_pods *ps, struct apod *p)
{
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st = {0};
	char dir[PATH_MAX];
	int err;

	o.grace_seconds = 0;
	o.precondition_uid = p->uid;
	err = kc_delete(ps->a->kc, ps->a->k_pod, p->ns, p->name, &o, NULL, &st);
	if (err && err != -ENOENT && err != -KC_ECONFLICT)
		log_warn(AGENT_COMP, "pod %s: delete: %s", p->key,
			 st.message[0] ? st.message : kc_strerror(err));
	agent_pod_dir(ps->a, p, dir, sizeof(dir));
	agent_rm_rf(dir); /* logs go with the pod, as the kubelet removes its pod dirs */
	log_info(AGENT_COMP, "pod %s: deleted", p->key);
}

static void terminate(struct agent_pods *ps, struct apod *p, const struct jv *pod, int64_t grace_s)
{
	if (p->deleting)
		return;
	p->deleting = true;
	if (grace_s < 0)
		grace_s = 30;
	/* each container's own SIGKILL comes after its preStop, its turn and the 2 s minimum;
	 * this is the backstop (the seconds the steps truncate, a hung exit) */
	p->kill_at = agent_mono_s() + (double)grace_s + 2 * MIN_GRACE_S + 1;
	for (size_t i = 0; i < p->n; i++)
		aprobe_deleting(p->c[i].probe);
	/* killPodWithSyncResult: every container at once, a sidecar after the containers */
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].proc_live && p->c[i].proc.pid > 0) /* 0: adopted after it ended */
			agent_ctr_stop(ps->rec, p, i, pod, grace_s, NULL, p->c[i].sidecar);
	log_info(AGENT_COMP, "pod %s: terminating (grace %llds)", p->key, (long long)grace_s);
}

/* A deleting pod: SIGKILL after the grace period; once nothing runs, tear down and delete. */
static bool deleting_step(struct agent_pods *ps, struct apod *p)
{
	bool live = false;

	for (size_t i = 0; i < p->n; i++)
		live |= p->c[i].proc_live;
	if (live && agent_mono_s() < p->kill_at)
		return false;
	cleanup(ps, p);
	final_delete(ps, p);
	return true;
}

/* ---- new pods: the starters ---- */

static bool starting(struct agent_pods *ps, const struct apod *p)
{
	bool r;

	pthread_mutex_lock(&ps->start_mu);
	r = hmap_sget(ps->starting, p->key) == p;
	pthread_mutex_unlock(&ps->start_mu);
	return r;
}

/* The kubelet's event for a sandbox that could not be made (kuberuntime_manager's SyncPod). */
static void sandbox_failed(struct agent_pods *ps, struct apod *p)
{
	agent_pod_event(ps->rec, p, "Warning", "FailedCreatePodSandBox",
			"Failed to create pod sandbox: %s", p->net_err);
}

/* A new pod started from scratch: an earlier run's cgroups purged, its sandbox, volumes, the
 * containers due and its first status, at once (not at the next tick, up to TICK_MS later).
 * Nothing when it is gone, replaced or deleted by now (the sync thread sees to that). */
static void start_pod(struct agent_pods *ps, struct apod *p)
{
	struct kc_obj *o = kc_informer_get(ps->inf, p->ns, p->name);
	struct jv_doc *d = o ? jv_doc_new() : NULL;
	struct jv *pod = d ? kc_obj_parse(o, d) : NULL;
	double t[7];
	bool saved;

	if (!pod || !jv_is_str(jv_path(pod, "metadata.uid"), p->uid) ||
	    jv_get(jv_path(pod, "metadata"), "deletionTimestamp"))
		goto out;
	t[0] = agent_mono_ms();
	agent_pod_cgroup_purge(ps->a, p->uid);
	t[1] = agent_mono_ms();
	/* the sandbox (netns, CNI ADD) is made on a thread of its own while the volumes (a
	 * ServiceAccount token's TokenRequest) and the containers are set up: a container
	 * joins the netns once it is made and runs its program once the ADD is done
	 * (agent_ctr.c's rt_spec.ready) */
	if (agent_sandbox_begin(ps->a, p)) {
		sandbox_failed(ps, p);
		goto out; /* retried by the sync thread's passes */
	}
	t[2] = agent_mono_ms();
	agent_vol_ready(ps->a, ps->rec, p, pod); /* start_due's first step: timed apart */
	t[3] = agent_mono_ms();
	saved = start_due(ps, p, pod, false);
	t[4] = agent_mono_ms();
	if (agent_sandbox_wait(ps->a, p)) {
		/* retried by the sync thread's passes: as before the ADD, the containers' cgroups
		 * go too (their processes, held before their programs, are gone) */
		agent_pod_cgroup_purge(ps->a, p->uid);
		for (size_t i = 0; i < p->n; i++) {
			cg_free(p->c[i].cg);
			p->c[i].cg = NULL;
		}
		sandbox_failed(ps, p);
		goto out;
	}
	t[5] = agent_mono_ms();
	log_info(AGENT_COMP, "pod %s: sandbox %s, IP %s", p->key, p->netns, p->ip);
	if (!saved)
		agent_pod_save(ps->a, p); /* the sandbox, for an agent that restarts */
	publish(ps, p, pod);
	t[6] = agent_mono_ms();
	/* where a start's time goes (bench/podstart joins it with the clients' clock: the
	 * same CLOCK_MONOTONIC); the sandbox's CNI ADD overlaps the volumes and containers */
	log_info(AGENT_COMP,
		 "pod %s: start: seen at %.3f ms, waited %.2f ms for a starter, cgroup purge "
		 "%.2f ms, sandbox %.2f ms (its netns %.2f ms and CNI ADD %.2f ms alongside, "
		 "waited %.2f ms after the containers), volumes %.2f ms, containers %.2f ms, "
		 "status %.2f ms",
		 p->key, p->seen_ms, t[0] - p->seen_ms, t[1] - t[0], t[2] - t[1],
		 p->ms[AGENT_MS_NETNS], p->ms[AGENT_MS_CNI], t[5] - t[4], t[3] - t[2], t[4] - t[3],
		 t[6] - t[5]);
out:
	jv_doc_free(d);
	kc_obj_put(o);
}

/* A starter thread's work on one key (kc_workers). */
static int starter(void *arg, const char *key)
{
	struct agent_pods *ps = arg;
	struct apod *p;

	pthread_mutex_lock(&ps->start_mu);
	p = hmap_sget(ps->starting, key);
	pthread_mutex_unlock(&ps->start_mu);
	if (p && !atomic_load(&ps->stop))
		start_pod(ps, p);
	pthread_mutex_lock(&ps->start_mu);
	hmap_sdel(ps->starting, key);
	pthread_mutex_unlock(&ps->start_mu);
	kc_queue_add(ps->q, key); /* back to the sync thread: what happened meanwhile */
	return 0;
}

/* Hand a new pod to the starters (without memory for that: start it here). */
static void start_new(struct agent_pods *ps, struct apod *p)
{
	int rc;

	pthread_mutex_lock(&ps->start_mu);
	rc = hmap_sput(ps->starting, p->key, p, NULL);
	pthread_mutex_unlock(&ps->start_mu);
	if (rc)
		start_pod(ps, p);
	else
		kc_queue_add(ps->startq, p->key);
}

/* ---- sync ---- */

static void sync_key(struct agent_pods *ps, const char *key)
{
	struct kc_obj *o;
	struct jv_doc *d = NULL;
	struct jv *pod = NULL;
	struct apod *p = find(ps, key);
	char ns[256], name[256];
	const char *slash = strchr(key, '/');

	if (!slash || (p && starting(ps, p)))
		return; /* a starter owns p: it queues the key again when it is done */
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
	snprintf(name, sizeof(name), "%s", slash + 1);
	o = kc_informer_get(ps->inf, ns, name);
	if (o && (d = jv_doc_new()))
		pod = kc_obj_parse(o, d);
	if (p && (!pod || !jv_is_str(jv_path(pod, "metadata.uid"), p->uid))) {
		/* gone at once (force delete) or replaced by another pod of that name */
		log_info(AGENT_COMP, "pod %s: gone from the API: stopping it", key);
		cleanup(ps, p);
		forget(ps, p);
		p = NULL;
	}
	if (!pod)
		goto out;
	if (!p) {
		const char *ph = jv_path_str(pod, "status.phase");

		if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")) &&
		    !jv_get(jv_path(pod, "metadata"), "deletionTimestamp"))
			goto out; /* finished before: nothing to run */
		p = pod_new(ps, key, pod);
		if (!p) {
			log_warn(AGENT_COMP, "pod %s: cannot track it (no containers?)", key);
			goto out;
		}
		if (jv_get(jv_path(pod, "metadata"), "deletionTimestamp")) {
			/* deleted before it ran here (or while the agent was down) */
			p->deleting = true;
			p->kill_at = 0;
			goto out;
		}
		snprintf(p->start_time, sizeof(p->start_time), "%s",
			 jv_path_str(pod, "status.startTime") ? jv_path_str(pod, "status.startTime")
							      : now_str((char[32]){0}));
		/* an earlier run's (the agent restarted): adopted, or started again from scratch */
		if (agent_pod_adopt(ps->a, p) == 0) {
			/* an adopted container's probes start over, as the kubelet's do for the
			 * containers it finds running when it starts */
			for (size_t k = 0; k < p->n; k++) {
				struct actr *c = &p->c[k];

				if (c->phase == CTR_RUNNING && c->proc.pid > 0)
					aprobe_run(c->probe, c->proc.pid, c->cg, p->ip, c->cwd);
			}
		} else {
			start_new(ps, p);
			goto out; /* the starter queues the key again when it is done */
		}
	}
	if (jv_get(jv_path(pod, "metadata"), "deletionTimestamp")) {
		int64_t g = 30;

		if (jv_path_int(pod, "metadata.deletionGracePeriodSeconds", &g))
			jv_path_int(pod, "spec.terminationGracePeriodSeconds", &g);
		terminate(ps, p, pod, g);
	}
out:
	jv_doc_free(d);
	kc_obj_put(o);
}

/* One pass over every pod: reap, (re)start, delete, publish. */
static void tick(struct agent_pods *ps)
{
	bool busy = false;

	for (size_t i = 0; i < ps->n;) {
		struct apod *p = ps->pods[i];
		struct kc_obj *o;
		struct jv_doc *d;
		struct jv *pod;
		bool fresh = false; /* the sandbox came up in this pass */

		if (starting(ps, p)) {
			i++;
			continue;
		}
		reap(ps, p);
		if (p->deleting) {
			agent_ctr_stop_step(ps->rec, p);
			busy |= agent_pod_busy(p);
			if (deleting_step(ps, p)) {
				forget(ps, p);
				continue;
			}
			i++;
			continue;
		}
		if (!p->sandbox && !p->finished) {
			/* CNI ADD failed: retried with the pod's back-off */
			if (agent_mono_s() >= p->kill_at && agent_sandbox_up(ps->a, p)) {
				sandbox_failed(ps, p);
				p->kill_at = agent_mono_s() + BACKOFF_BASE_S;
			} else
				fresh = p->sandbox;
		}
		o = kc_informer_get(ps->inf, p->ns, p->name);
		d = o ? jv_doc_new() : NULL;
		pod = d ? kc_obj_parse(o, d) : NULL;
		if (eph_sync(p, pod))
			log_warn(AGENT_COMP, "pod %s: ephemeral containers: out of memory", p->key);
		if (p->sandbox) {
			fresh |= poststart_done(ps, p, pod);
			sidecars(ps, p, pod);
			start_due(ps, p, pod, fresh);
		}
		probe_kills(ps, p, pod);
		agent_ctr_stop_step(ps->rec, p);
		busy |= agent_pod_busy(p);
		if (!p->finished) {
			publish(ps, p, pod);
			if (p->finished) {
				/* as the kubelet: a pod that ended gives back its sandbox (its IP
				 * stays in the status); the object stays until it is deleted */
				log_info(AGENT_COMP, "pod %s: %s", p->key, agent_pod_phase(p));
				cleanup(ps, p);
			}
		}
		jv_doc_free(d);
		kc_obj_put(o);
		i++;
	}
	ps->busy = busy;
}

static bool bound_here(void *arg, const char *uid)
{
	struct agent_pods *ps = arg;
	struct kc_obj **objs = NULL;
	size_t n = 0;
	bool found = false;

	if (kc_informer_list(ps->inf, NULL, NULL, &objs, &n))
		return true; /* not sure: keep */
	for (size_t i = 0; i < n && !found; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *pod = d ? kc_obj_parse(objs[i], d) : NULL;

		/* a pod that ended keeps no sandbox */
		found = !pod || (jv_is_str(jv_path(pod, "metadata.uid"), uid) &&
				 !jv_is_str(jv_path(pod, "status.phase"), "Succeeded") &&
				 !jv_is_str(jv_path(pod, "status.phase"), "Failed"));
		jv_doc_free(d);
	}
	kc_objs_free(objs, n);
	return found;
}

static void *run(void *arg)
{
	struct agent_pods *ps = arg;

	kc_informer_wait_synced(ps->inf, -1);
	/* what an earlier run left of pods no longer bound here */
	agent_sandbox_gc(ps->a, bound_here, ps);
	agent_vol_gc(ps->a, bound_here, ps);
	while (!atomic_load(&ps->stop)) {
		char *key = NULL;
		/* a hook or a stop in progress: its next step is looked at sooner */
		double until = agent_mono_s() + (ps->busy ? BUSY_TICK_MS : TICK_MS) / 1000.0;

		while (!atomic_load(&ps->stop)) {
			int left = (int)((until - agent_mono_s()) * 1000);

			if (left <= 0 || kc_queue_get(ps->q, &key, left))
				break;
			sync_key(ps, key);
			kc_queue_done(ps->q, key);
			free(key);
		}
		tick(ps);
	}
	return NULL;
}

int agent_pods_start(struct agent *a)
{
	struct agent_pods *ps = calloc(1, sizeof(*ps));
	char sel[512], dir[PATH_MAX];
	int rc = -ENOMEM;

	if (!ps)
		return rc;
	pthread_mutex_init(&ps->start_mu, NULL);
	ps->a = a;
	a->ps = ps;
	snprintf(dir, sizeof(dir), "%s/sandboxes", a->cfg->root);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	snprintf(sel, sizeof(sel), "spec.nodeName=%s", a->cfg->node);
	ps->starting = hmap_new();
	ps->startq = kc_queue_new("agent-pod-starts");
	ps->q = kc_queue_new("agent-pods");
	ps->rec = kc_recorder_new(a->kc, "kubelet");
	aprobe_init_clock();
	ps->inf = kc_informer_new(a->kc, &(struct kc_informer_opts){
					     .kind = a->k_pod,
					     .field_selector = sel,
					 });
	if (!ps->q || !ps->inf || !ps->rec || !ps->starting || !ps->startq)
		return rc;
	ps->starters = kc_workers_start(
	    ps->startq, a->cfg->start_workers ? a->cfg->start_workers : AGENT_START_WORKERS,
	    starter, ps, "agent-pod-start");
	if (!ps->starters)
		return -errno ? -errno : -ENOMEM;
	rc = kc_informer_add_handlers(ps->inf, &(struct kc_handlers){
						   .add = on_add,
						   .update = on_update,
						   .del = on_del,
						   .arg = ps,
					       });
	if (!rc)
		rc = kc_informer_start(ps->inf);
	if (!rc) {
		rc = -pthread_create(&ps->thread, NULL, run, ps);
		ps->thread_started = !rc;
	}
	return rc;
}

void agent_pods_stop(struct agent *a)
{
	struct agent_pods *ps = a->ps;

	if (!ps)
		return;
	atomic_store(&ps->stop, true);
	kc_informer_stop(ps->inf);
	if (ps->q)
		kc_queue_shutdown(ps->q);
	if (ps->thread_started)
		pthread_join(ps->thread, NULL);
	/* after the sync thread, which hands them pods: each start under way ends (the queued
	 * ones are dropped) */
	kc_workers_stop(ps->starters);
	/* pods keep running: a stopped agent leaves its containers (their processes are our
	 * children and survive us, re-parented) */
	for (size_t i = 0; i < ps->n; i++)
		pod_free(ps->pods[i]);
	free(ps->pods);
	kc_recorder_free(ps->rec); /* after the probes: their last events are written */
	kc_informer_free(ps->inf);
	kc_queue_free(ps->q);
	kc_queue_free(ps->startq);
	hmap_free(ps->starting);
	pthread_mutex_destroy(&ps->start_mu);
	free(ps);
	a->ps = NULL;
}
