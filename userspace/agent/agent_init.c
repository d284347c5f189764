/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_init: the kubelet's decisions that follow from a pod's container states alone, kept
 * apart from the sync loop (agent_pods.c) so unit tests pin them: which init container runs
 * next (kuberuntime's computePodActions: in order, each to success before the next, the
 * containers only after the last; a failed one runs again unless restartPolicy is Never),
 * the pod phase (kubelet's getPhase), and the crash back-off (flowcontrol.Backoff as
 * kuberuntime's doBackOff uses it).
 *
 * Restartable init containers (sidecars: restartPolicy Always on an init container) are not
 * run: agent_ctr.c refuses them with CreateContainerConfigError.
 */
#include <string.h>

#include "agent_pod.h"

#define BACKOFF_INITIAL_S 10.0
#define BACKOFF_MAX_S	  300.0

int agent_init_next(const struct apod *p)
{
	for (size_t i = 0; i < p->n_init; i++) {
		const struct actr *c = &p->c[i];

		if (c->phase == CTR_EXITED && c->exit_code == 0)
			continue;
		if (c->phase == CTR_RUNNING)
			return AGENT_INIT_WAIT;
		if (c->phase == CTR_EXITED)
			return AGENT_INIT_FAILED;
		return (int)i; /* waiting: not started yet, or backing off */
	}
	return AGENT_INIT_DONE;
}

const char *agent_pod_phase(const struct apod *p)
{
	size_t running = 0, waiting = 0, ok = 0, failed = 0;

	/* an init container failed for good: the pod failed (getPhase's failedInitialization
	 * with restartPolicy Never); one that failed and waits to run again keeps it Pending
	 * through its containers' PodInitializing */
	for (size_t i = 0; i < p->n_init; i++) {
		const struct actr *c = &p->c[i];

		if (c->phase == CTR_EXITED && c->exit_code != 0 &&
		    !strcmp(p->restart_policy, "Never"))
			return "Failed";
	}
	for (size_t i = p->n_init; i < p->n; i++) {
		const struct actr *c = &p->c[i];

		if (c->phase == CTR_RUNNING)
			running++;
		else if (c->phase == CTR_WAITING)
			waiting++;
		else if (c->exit_code == 0)
			ok++;
		else
			failed++;
	}
	if (waiting || (!running && !ok && !failed))
		return running || (ok + failed && strcmp(p->restart_policy, "Never")) ? "Running"
										      : "Pending";
	if (running)
		return "Running";
	/* every container terminated */
	if (!strcmp(p->restart_policy, "Always"))
		return "Running"; /* restarting */
	if (!failed)
		return "Succeeded";
	if (!strcmp(p->restart_policy, "OnFailure"))
		return "Running";
	return "Failed";
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
