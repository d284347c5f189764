/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_probe: the running probes of a container (agent_probe.h), one thread per probe as the
 * kubelet runs a goroutine per worker. The sync thread publishes the container's state under
 * the mutex (aprobe_run / aprobe_exited / aprobe_deleting) and reads back the results
 * (aprobe_status, aprobe_failed); a probe itself runs with the mutex released, so neither a
 * slow probe nor a hung one (bounded by timeoutSeconds) holds the pod sync.
 *
 * Each probe run follows prober.go: errors are retried up to three times, then reported as
 * "<Kind> probe errored and resulted in unknown state: ..." and the result is thrown away;
 * a failure is an Unhealthy event "<Kind> probe failed: <output>"; a redirect to another host
 * is a ProbeWarning and counts as success. The handlers are in agent_probe_handlers.c, the
 * gRPC one in agent_probe_grpc.c.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_probe_int.h"
#include "log.h"
#include "recorder.h"

#define COMP	    "probe"
#define MAX_RETRIES 3 /* prober.go maxProbeRetries */

struct aprobe;

struct pworker {
	struct aprobe *ap;
	struct probe_spec spec;
	struct probe_sm sm;
	pthread_t thread;
	bool thread_started;
	bool trigger; /* run now (a container just started) */
	unsigned gen; /* the container the published result belongs to (0: none yet) */
};

struct aprobe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct kc_recorder *rec;
	char ns[256], name[256], uid[64], ctr[64];
	/* the container, as the sync thread last said */
	unsigned gen; /* 0: none yet; grows with each new container */
	bool running, deleting;
	char ip[64], cwd[512];
	pid_t pid;
	const struct cg *cg;
	double started_at; /* monotonic */
	struct pworker *w[PROBE_KINDS];
};

static double g_agent_start;

void aprobe_init_clock(void)
{
	if (!g_agent_start)
		g_agent_start = probe_mono_s();
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- events ---- */

void aprobe_event(struct kc_recorder *rec, const struct aprobe_pod *pod, const char *type,
		  const char *reason, const char *msg)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = d ? jv_new(d, JV_OBJECT) : NULL, *md = d ? jv_new(d, JV_OBJECT) : NULL;

	if (rec && o && md && !jv_set(d, o, "kind", jv_new_strz(d, "Pod")) &&
	    !jv_set(d, o, "apiVersion", jv_new_strz(d, "v1")) &&
	    !jv_set(d, md, "namespace", jv_new_strz(d, pod->ns)) &&
	    !jv_set(d, md, "name", jv_new_strz(d, pod->name)) &&
	    !jv_set(d, md, "uid", jv_new_strz(d, pod->uid)) && !jv_set(d, o, "metadata", md))
		kc_event(rec, o, type, reason, "%s", msg);
	jv_doc_free(d);
}

static void event(struct aprobe *ap, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void event(struct aprobe *ap, const char *type, const char *reason, const char *fmt, ...)
{
	struct aprobe_pod pod = {.ns = ap->ns, .name = ap->name, .uid = ap->uid};
	char msg[1024];
	va_list va;

	va_start(va, fmt);
	vsnprintf(msg, sizeof(msg), fmt, va);
	va_end(va);
	log_info(COMP, "pod %s/%s container %s: %s: %s", ap->ns, ap->name, ap->ctr, reason, msg);
	aprobe_event(ap->rec, &pod, type, reason, msg);
}

/* What the sync thread last said about the container, copied for a run without the lock. */
struct target {
	char ip[64], cwd[512];
	pid_t pid;
	const struct cg *cg;
};

static void run_once(struct aprobe *ap, const struct probe_spec *s, const struct target *t,
		     struct run *r)
{
	r->o = O_UNKNOWN;
	r->out[0] = r->err[0] = 0;
	r->outlen = r->stderr_at = 0;
	r->exit_code = -1;
	r->http_code = 0;
	switch (s->handler) {
	case PROBE_H_EXEC:
		probe_exec(s, t->pid, t->cg, t->cwd, r);
		break;
	case PROBE_H_HTTP:
	case PROBE_H_TCP:
		if (s->port_err[0]) {
			snprintf(r->err, sizeof(r->err), "%s", s->port_err);
			break;
		}
		if (s->handler == PROBE_H_HTTP)
			probe_http(s, s->host ? s->host : t->ip, r);
		else
			probe_tcp(s, s->host ? s->host : t->ip, r);
		break;
	case PROBE_H_GRPC:
		if (s->port_err[0])
			snprintf(r->err, sizeof(r->err), "%s", s->port_err);
		else
			probe_grpc(s, t->ip, r);
		break;
	case PROBE_H_NONE:
		snprintf(r->err, sizeof(r->err), "missing probe handler for %.200s_%.200s(%s):%s",
			 ap->name, ap->ns, ap->uid, ap->ctr);
		break;
	}
}

/* prober.go probe(): a run with retries on error, its event, the result. false: an error,
 * the result is thrown away (worker.go). */
static bool prober_probe(struct aprobe *ap, const struct probe_spec *s, const struct target *t,
			 enum probe_result *res)
{
	struct run *r = calloc(1, sizeof(*r));
	const char *kind = probe_kind_name(s->kind);
	bool ok = true;

	if (!r)
		return false;
	for (int i = 0; i < MAX_RETRIES; i++) {
		run_once(ap, s, t, r);
		if (!r->err[0])
			break;
	}
	if (r->err[0]) {
		event(ap, "Warning", "Unhealthy",
		      "%s probe errored and resulted in unknown state: %s", kind, r->err);
		ok = false;
	} else if (r->o == O_SUCCESS) {
		*res = PROBE_SUCCESS;
	} else if (r->o == O_WARNING) {
		event(ap, "Warning", "ProbeWarning", "%s probe warning: %s", kind, r->out);
		*res = PROBE_SUCCESS;
	} else if (r->o == O_FAILURE) {
		event(ap, "Warning", "Unhealthy", "%s probe failed: %s", kind, r->out);
		*res = PROBE_FAILURE;
	} else {
		*res = PROBE_FAILURE;
	}
	free(r);
	return ok;
}

/* ---- workers ---- */

/* Whether w published r for the current container. */
static bool published_locked(const struct aprobe *ap, const struct pworker *w, enum probe_result r)
{
	return w->gen && w->gen == ap->gen && w->sm.result == r;
}

static bool started_locked(const struct aprobe *ap)
{
	const struct pworker *w = ap->w[PROBE_STARTUP];

	return !w || published_locked(ap, w, PROBE_SUCCESS);
}

static void wake_locked(struct aprobe *ap)
{
	for (int k = 0; k < PROBE_KINDS; k++)
		if (ap->w[k])
			ap->w[k]->trigger = true;
	pthread_cond_broadcast(&ap->cv);
}

/* worker.go doProbe, with ap->mu held (released while the probe runs). false: stop. */
static bool do_probe(struct pworker *w)
{
	struct aprobe *ap = w->ap;
	enum probe_kind k = w->spec.kind;
	enum probe_result res = PROBE_UNKNOWN;
	struct target t;
	unsigned gen = ap->gen;
	bool ok;

	if (!gen)
		return true; /* no container yet */
	if (w->gen != gen) {
		/* a new container: its initial value, resume probing */
		w->gen = gen;
		probe_sm_new_container(&w->sm, k);
	}
	if (w->sm.on_hold)
		return true;
	if (!ap->running) {
		w->sm.result = PROBE_FAILURE;
		return true;
	}
	if (ap->deleting && (k == PROBE_LIVENESS || k == PROBE_STARTUP)) {
		if (k == PROBE_STARTUP)
			w->sm.result = PROBE_FAILURE;
		return false;
	}
	if ((int)(probe_mono_s() - ap->started_at) < w->spec.initial_delay)
		return true;
	if (started_locked(ap)) {
		if (k == PROBE_STARTUP)
			return true; /* kept to serve the next container */
	} else if (k != PROBE_STARTUP) {
		return true; /* liveness and readiness wait for the startup probe */
	}
	snprintf(t.ip, sizeof(t.ip), "%s", ap->ip);
	snprintf(t.cwd, sizeof(t.cwd), "%s", ap->cwd);
	t.pid = ap->pid;
	t.cg = ap->cg;
	pthread_mutex_unlock(&ap->mu);
	ok = prober_probe(ap, &w->spec, &t, &res);
	pthread_mutex_lock(&ap->mu);
	if (!ok || ap->gen != gen || !ap->running)
		return true; /* errored (thrown away), or the container changed meanwhile */
	if (probe_sm_record(&w->sm, &w->spec, res) && k == PROBE_STARTUP && res == PROBE_SUCCESS)
		wake_locked(ap); /* started: liveness and readiness may run at once */
	return true;
}

static void *worker_main(void *arg)
{
	struct pworker *w = arg;
	struct aprobe *ap = w->ap;
	double period = w->spec.period, next;

	pthread_mutex_lock(&ap->mu);
	/* a just-started agent spreads its first probes over a period (worker.go run) */
	next = probe_mono_s();
	if (next - g_agent_start < period) {
		unsigned seed = (unsigned)(uintptr_t)w ^ (unsigned)time(NULL);

		next += period * ((double)rand_r(&seed) / RAND_MAX);
	}
	while (!ap->stop) {
		double now = probe_mono_s();

		if (now >= next || w->trigger) {
			w->trigger = false;
			if (!do_probe(w))
				break;
			next = probe_mono_s() + period;
			continue;
		}
		/* the condition variable's clock is CLOCK_MONOTONIC: next is its deadline */
		pthread_cond_timedwait(
		    &ap->cv, &ap->mu,
		    &(struct timespec){.tv_sec = (time_t)next,
				       .tv_nsec = (long)((next - (double)(time_t)next) * 1e9)});
	}
	pthread_mutex_unlock(&ap->mu);
	return NULL;
}

struct aprobe *aprobe_new(struct kc_recorder *rec, const struct aprobe_pod *pod,
			  const struct jv *ctr)
{
	struct aprobe *ap;
	pthread_condattr_t ca;
	const char *name = jv_path_str(ctr, "name");
	int n = 0, rc;

	ap = calloc(1, sizeof(*ap));
	if (!ap)
		return NULL;
	pthread_mutex_init(&ap->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ap->cv, &ca);
	pthread_condattr_destroy(&ca);
	ap->rec = rec;
	snprintf(ap->ns, sizeof(ap->ns), "%s", pod->ns);
	snprintf(ap->name, sizeof(ap->name), "%s", pod->name);
	snprintf(ap->uid, sizeof(ap->uid), "%s", pod->uid);
	snprintf(ap->ctr, sizeof(ap->ctr), "%s", name ? name : "");
	for (int k = 0; k < PROBE_KINDS; k++) {
		struct pworker *w = calloc(1, sizeof(*w));

		if (!w)
			goto fail;
		rc = probe_spec_parse(ctr, (enum probe_kind)k, &w->spec);
		if (rc) {
			probe_spec_free(&w->spec);
			free(w);
			if (rc == -ENOENT)
				continue;
			errno = -rc;
			goto fail;
		}
		w->ap = ap;
		ap->w[k] = w;
		n++;
	}
	if (!n) {
		aprobe_free(ap);
		errno = 0;
		return NULL;
	}
	pthread_mutex_lock(&ap->mu);
	for (int k = 0; k < PROBE_KINDS; k++) {
		struct pworker *w = ap->w[k];

		if (w && (rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
			pthread_mutex_unlock(&ap->mu);
			errno = rc;
			goto fail;
		}
		if (w)
			w->thread_started = true;
	}
	pthread_mutex_unlock(&ap->mu);
	return ap;
fail:
	aprobe_free(ap);
	return NULL;
}

void aprobe_free(struct aprobe *ap)
{
	if (!ap)
		return;
	pthread_mutex_lock(&ap->mu);
	ap->stop = true;
	pthread_cond_broadcast(&ap->cv);
	pthread_mutex_unlock(&ap->mu);
	/* every worker joined before any is freed: one still running wakes the others
	 * (wake_locked writes their trigger) */
	for (int k = 0; k < PROBE_KINDS; k++)
		if (ap->w[k] && ap->w[k]->thread_started)
			pthread_join(ap->w[k]->thread, NULL);
	for (int k = 0; k < PROBE_KINDS; k++) {
		if (!ap->w[k])
			continue;
		probe_spec_free(&ap->w[k]->spec);
		free(ap->w[k]);
	}
	pthread_cond_destroy(&ap->cv);
	pthread_mutex_destroy(&ap->mu);
	free(ap);
}

void aprobe_run(struct aprobe *ap, pid_t pid, const struct cg *cg, const char *pod_ip,
		const char *cwd)
{
	if (!ap)
		return;
	pthread_mutex_lock(&ap->mu);
	ap->gen++;
	ap->running = true;
	snprintf(ap->ip, sizeof(ap->ip), "%s", pod_ip ? pod_ip : "");
	snprintf(ap->cwd, sizeof(ap->cwd), "%s", cwd ? cwd : "/");
	ap->pid = pid;
	ap->cg = cg;
	ap->started_at = probe_mono_s();
	wake_locked(ap);
	pthread_mutex_unlock(&ap->mu);
}

void aprobe_exited(struct aprobe *ap)
{
	if (!ap)
		return;
	pthread_mutex_lock(&ap->mu);
	ap->running = false;
	ap->pid = 0;
	ap->cg = NULL;
	for (int k = 0; k < PROBE_KINDS; k++)
		if (ap->w[k] && ap->w[k]->gen == ap->gen)
			ap->w[k]->sm.result = PROBE_FAILURE;
	pthread_mutex_unlock(&ap->mu);
}

void aprobe_deleting(struct aprobe *ap)
{
	if (!ap)
		return;
	pthread_mutex_lock(&ap->mu);
	if (!ap->deleting) {
		ap->deleting = true;
		wake_locked(ap);
	}
	pthread_mutex_unlock(&ap->mu);
}

void aprobe_status(struct aprobe *ap, bool *started, bool *ready)
{
	const struct pworker *w;

	*started = *ready = true;
	if (!ap)
		return;
	pthread_mutex_lock(&ap->mu);
	*started = ap->running && started_locked(ap);
	w = ap->w[PROBE_READINESS];
	*ready = *started && (!w || published_locked(ap, w, PROBE_SUCCESS));
	pthread_mutex_unlock(&ap->mu);
}

int aprobe_failed(struct aprobe *ap, int64_t *grace)
{
	/* kuberuntime computePodActions: liveness first, then startup */
	static const enum probe_kind order[] = {PROBE_LIVENESS, PROBE_STARTUP};
	int kind = -1;

	*grace = -1;
	if (!ap)
		return -1;
	pthread_mutex_lock(&ap->mu);
	for (size_t i = 0; ap->running && i < 2 && kind < 0; i++) {
		const struct pworker *w = ap->w[order[i]];

		if (w && published_locked(ap, w, PROBE_FAILURE)) {
			kind = (int)order[i];
			*grace = w->spec.has_grace ? w->spec.grace : -1;
		}
	}
	pthread_mutex_unlock(&ap->mu);
	return kind;
}
