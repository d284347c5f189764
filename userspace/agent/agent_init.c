/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_init: the kubelet's decisions that follow from a pod's container states alone, kept
 * apart from the sync loop (agent_pods.c) so unit tests pin them: which init container runs
 * next (kuberuntime's computePodActions: in order, each to success before the next, the
 * containers only after the last; a failed one runs again unless restartPolicy is Never),
 * the pod phase (kubelet's getPhase), and the crash back-off (flowcontrol.Backoff as
 * kuberuntime's doBackOff uses it).
 *
 * Restartable init containers (sidecars: restartPolicy Always on an init container) follow
 * 1.32's computeInitContainerActions: the next init container starts once the sidecar is
 * started (running, its startup probe passed); getPhase leaves terminated sidecars out.
 */
#include <string.h>

#include "agent_pod.h"

#define BACKOFF_INITIAL_S 10.0
#define BACKOFF_MAX_S	  300.0

int agent_init_next(const struct apod *p)
{
	for (size_t i = 0; i < p->n_init; i++) {
		const struct actr *c = &p->c[i];

		if (c->sidecar) {
			/* computeInitContainerActions: a restartable one is initialized once it
			 * runs and started (its startup probe passed, if it has one); its later
			 * restarts hold nothing up (agent_pods.c restarts it) */
			if (c->init_done)
				continue;
			if (c->phase == CTR_WAITING)
				return (int)i;
			return AGENT_INIT_WAIT; /* starting, or running and not started yet */
		}
		if (c->phase == CTR_EXITED && c->exit_code == 0)
			continue;
		if (c->phase == CTR_RUNNING || c->phase == CTR_STARTING)
			return AGENT_INIT_WAIT;
		if (c->phase == CTR_EXITED)
			return AGENT_INIT_FAILED;
		return (int)i; /* waiting: not started yet, or backing off */
	}
	return AGENT_INIT_DONE;
}

/* The status the container reports: waiting (a starting one too: its postStart runs),
 * running, terminated. */
static enum ctr_phase shown(const struct actr *c)
{
	return c->phase == CTR_STARTING ? CTR_WAITING : c->phase;
}

const char *agent_pod_phase(const struct apod *p)
{
	size_t pending_init = 0, failed_init = 0, running = 0, waiting = 0, stopped = 0,
	       succeeded = 0;
	bool regular_started = false; /* HasAnyRegularContainerStarted */

	/* kubelet_pods.go getPhase (1.32), every status known (no "unknown") */
	for (size_t i = 0; i < p->n_init; i++) {
		const struct actr *c = &p->c[i];
		bool started, ready;

		switch (shown(c)) {
		case CTR_RUNNING:
			if (!c->sidecar) {
				pending_init++;
				break;
			}
			aprobe_status(c->probe, &started, &ready);
			if (!started)
				pending_init++;
			running++;
			break;
		case CTR_EXITED:
			/* a terminated sidecar does not count */
			if (!c->sidecar && c->exit_code != 0)
				failed_init++;
			break;
		default: /* waiting */
			if (c->has_last) {
				if (!c->sidecar && c->last_exit != 0)
					failed_init++;
			} else {
				pending_init++;
				if (c->sidecar)
					waiting++;
			}
			break;
		}
	}
	for (size_t i = p->n_init; i < p->n - p->n_eph; i++) {
		const struct actr *c = &p->c[i];

		switch (shown(c)) {
		case CTR_RUNNING:
			running++;
			regular_started = true;
			break;
		case CTR_EXITED:
			stopped++;
			succeeded += c->exit_code == 0;
			regular_started = true;
			break;
		default:
			if (c->has_last)
				stopped++;
			else
				waiting++;
			break;
		}
	}
	if (failed_init && !strcmp(p->restart_policy, "Never"))
		return "Failed";
	if ((pending_init && !regular_started) || waiting)
		return "Pending";
	if (running)
		return "Running";
	if (!stopped)
		return "Pending";
	/* every container terminated */
	if (!strcmp(p->restart_policy, "Always"))
		return "Running"; /* restarting */
	if (stopped == succeeded)
		return "Succeeded";
	if (!strcmp(p->restart_policy, "Never"))
		return "Failed";
	return "Running"; /* OnFailure: restarting */
}

double agent_crash_backoff(struct actr *c, double now)
{
	double wait;

	/* IsInBackOffSince: no entry, or one whose last update (the last restart) is more than
	 * 2 * max before this exit (the container ran long enough: hasExpired), is no back-off;
	 * Next then starts the entry over at the initial 10 s */
	if (c->backoff <= 0 || now - c->backoff_at > 2 * BACKOFF_MAX_S) {
		c->backoff = BACKOFF_INITIAL_S;
		c->backoff_at = now;
		return 0;
	}
	/* in back-off for the entry's current duration from this exit; Next, at the restart,
	 * doubles it and records the restart as the entry's last update */
	wait = c->backoff;
	c->backoff = c->backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->backoff * 2;
	c->backoff_at = now + wait;
	return wait;
}

const char *agent_exit_reason(int exit_code, uint64_t oom_base, uint64_t oom_now)
{
	if (oom_now > oom_base)
		return "OOMKilled"; /* containerd's oomExitReason, set by its TaskOOM event */
	return exit_code == 0 ? "Completed" : "Error";
}
