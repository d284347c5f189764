/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_kill: stopping a container as kuberuntime's killContainer does (kubelet 1.32,
 * kuberuntime_container.go): event Killing, the preStop hook run for at most the grace period
 * (executePreStopHook: a failure is a FailedPreStopHook event "PreStopHook failed", the
 * message only logged), the seconds it took (truncated) taken from the grace period; a sidecar
 * stopped with its pod then waits for its turn (kuberuntime_termination_order.go: after every
 * container and every sidecar after it, for the rest of the grace at most); then at least
 * minimumGracePeriodInSeconds (2) for SIGTERM before SIGKILL. The steps are driven from the
 * sync loop's passes (agent_pods.c), never waited for.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_pod.h"
#include "log.h"

#define MIN_GRACE_S 2 /* minimumGracePeriodInSeconds */

struct ahook *agent_ctr_hook(const struct apod *p, const struct actr *c, const struct jv *ctr,
			     enum hook_kind k)
{
	return ahook_start(ctr, k,
			   &(struct ahook_target){.ns = p->ns,
						  .pod = p->name,
						  .uid = p->uid,
						  .ctr = c->name,
						  .pid = c->proc.pid,
						  .cg = c->cg,
						  .pod_ip = p->ip,
						  .cwd = c->cwd});
}

int64_t agent_pod_grace(const struct jv *pod)
{
	int64_t g;

	if (!jv_path_int(pod, "metadata.deletionGracePeriodSeconds", &g))
		return g;
	if (!jv_path_int(pod, "spec.terminationGracePeriodSeconds", &g))
		return g;
	return MIN_GRACE_S;
}

bool agent_pod_busy(const struct apod *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].hook || p->c[i].stop != STOP_NONE)
			return true;
	return false;
}

/* An Event about pod p in the kubelet's words (printf-style message). */
void agent_pod_event(struct kc_recorder *rec, const struct apod *p, const char *type,
		     const char *reason, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	aprobe_event(rec, &(struct aprobe_pod){.ns = p->ns, .name = p->name, .uid = p->uid}, type,
		     reason, msg);
}

/* SIGTERM with the grace left (at least 2 s), SIGKILL at its end */
static void term(const struct apod *p, struct actr *c, double now)
{
	if (c->grace < MIN_GRACE_S)
		c->grace = MIN_GRACE_S;
	log_info(AGENT_COMP, "pod %s: container %s: SIGTERM, grace %llds", p->key, c->name,
		 (long long)c->grace);
	c->stop = STOP_TERM;
	c->kill_at = now + (double)c->grace;
	if (c->proc.pid > 0)
		kill(c->proc.pid, SIGTERM);
}

/* after the preStop hook: the turn (a sidecar with its pod) or SIGTERM */
static void after_prestop(const struct apod *p, struct actr *c, double now)
{
	if (c->ordered && c->grace > 0) {
		c->stop = STOP_TURN;
		c->step_at = now;
		return;
	}
	term(p, c, now);
}

void agent_ctr_stop(struct kc_recorder *rec, struct apod *p, size_t i, const struct jv *pod,
		    int64_t grace, const char *msg, bool ordered)
{
	struct actr *c = &p->c[i];
	const struct jv *ctr = pod ? agent_ctr_spec(pod, p, i) : NULL;
	double now = agent_mono_s();
	char m[256];

	if (!c->proc_live || c->stop != STOP_NONE)
		return;
	if (!msg) {
		snprintf(m, sizeof(m), "Stopping container %s", c->name);
		msg = m;
	}
	agent_pod_event(rec, p, "Normal", "Killing", "%s", msg);
	/* a postStart hook still running is abandoned (the pod worker's sync is cancelled) */
	ahook_free(c->hook);
	c->hook = NULL;
	c->grace = grace;
	c->ordered = ordered;
	c->step_at = now;
	if (ctr && ahook_defined(ctr, HOOK_PRE_STOP) && grace > 0 && c->proc.pid > 0) {
		c->hook = agent_ctr_hook(p, c, ctr, HOOK_PRE_STOP);
		if (c->hook) {
			log_info(AGENT_COMP, "pod %s: container %s: preStop hook (grace %llds)",
				 p->key, c->name, (long long)grace);
			c->stop = STOP_PRESTOP;
			return;
		}
		log_warn(AGENT_COMP, "pod %s: container %s: preStop hook: %m", p->key, c->name);
	}
	after_prestop(p, c, now);
}

/* kuberuntime_termination_order: a sidecar goes after every container and every sidecar
 * after it */
static bool turn_come(const struct apod *p, size_t i)
{
	for (size_t k = i + 1; k < p->n; k++)
		if ((k >= p->n_init || p->c[k].sidecar) && p->c[k].proc_live)
			return false;
	return true;
}

void agent_ctr_stop_step(struct kc_recorder *rec, struct apod *p)
{
	double now = agent_mono_s();

	for (size_t i = 0; i < p->n; i++) {
		struct actr *c = &p->c[i];
		char msg[2048];
		bool ok = true, done;

		if (!c->proc_live)
			continue;
		switch (c->stop) {
		case STOP_NONE:
		case STOP_KILLED:
			break;
		case STOP_PRESTOP:
			done = ahook_done(c->hook, &ok, msg, sizeof(msg));
			if (!done && now < c->step_at + (double)c->grace)
				break;
			if (!done)
				log_info(
				    AGENT_COMP,
				    "pod %s: container %s: preStop hook not completed in grace "
				    "period",
				    p->key, c->name);
			else if (!ok) {
				log_warn(AGENT_COMP, "pod %s: container %s: %s", p->key, c->name,
					 msg);
				/* the message stays out of the event (secrets) */
				agent_pod_event(rec, p, "Warning", "FailedPreStopHook",
						"PreStopHook failed");
			}
			ahook_free(c->hook);
			c->hook = NULL;
			c->grace -= (int64_t)(now - c->step_at);
			after_prestop(p, c, now);
			break;
		case STOP_TURN:
			if (!turn_come(p, i) && now < c->step_at + (double)c->grace)
				break;
			c->grace -= (int64_t)(now - c->step_at);
			term(p, c, now);
			break;
		case STOP_TERM:
			if (now < c->kill_at)
				break;
			log_info(AGENT_COMP, "pod %s: container %s: SIGKILL", p->key, c->name);
			c->stop = STOP_KILLED;
			if (c->proc.pid > 0)
				kill(c->proc.pid, SIGKILL);
			if (c->cg)
				cg_kill(c->cg, 0);
			break;
		}
	}
}
