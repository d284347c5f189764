/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_probe: liveness, readiness and startup probes as the kubelet 1.32 runs them
 * (pkg/kubelet/prober, pkg/probe/{http,tcp,exec}).
 *
 * The pure part (agent_probe_spec.c, unit-tested): a probe spec from the container's jv with
 * the API's defaults, its handler chosen in the kubelet's order (exec, httpGet, tcpSocket,
 * grpc), named ports resolved as probe.ResolveContainerPort does (with its error texts), the
 * HTTP header names canonicalised as Go's net/http does, and the worker's threshold state
 * machine (worker.go doProbe: a result is published once it repeats successThreshold /
 * failureThreshold times; a liveness or startup failure puts the worker on hold until a new
 * container).
 *
 * The running part (agent_probe.c): one thread per probe of a container, so a slow probe never
 * holds the pod sync; the sync thread tells it when the container (re)starts, exits or is being
 * deleted, and reads back started/ready and whether liveness or startup failed.
 */
#ifndef DROVER_AGENT_PROBE_H
#define DROVER_AGENT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "k8s_jv.h"

enum probe_kind {
	PROBE_LIVENESS = 0,
	PROBE_READINESS,
	PROBE_STARTUP,
	PROBE_KINDS,
};

enum probe_handler {
	PROBE_H_NONE = 0, /* the kubelet: "missing probe handler" (errored on every run) */
	PROBE_H_EXEC,
	PROBE_H_HTTP,
	PROBE_H_TCP,
	PROBE_H_GRPC,
};

/* results.Result */
enum probe_result {
	PROBE_UNKNOWN = 0,
	PROBE_SUCCESS,
	PROBE_FAILURE,
};

/* The API's defaults (pkg/apis/core/v1/defaults.go SetDefaults_Probe). */
#define PROBE_DEF_TIMEOUT_S 1
#define PROBE_DEF_PERIOD_S  10
#define PROBE_DEF_SUCCESS   1
#define PROBE_DEF_FAILURE   3
#define PROBE_MAX_OUTPUT    (10 * 1024) /* exec and HTTP read at most this much */

struct probe_header {
	char *name, *value; /* name canonical (Go's CanonicalMIMEHeaderKey) */
};

struct probe_spec {
	enum probe_kind kind;
	enum probe_handler handler;
	int initial_delay, period, timeout, success_threshold, failure_threshold;
	bool has_grace; /* probe-level terminationGracePeriodSeconds */
	int64_t grace;
	/* exec */
	char **command; /* NULL-terminated */
	size_t ncommand;
	/* httpGet, tcpSocket, grpc */
	char *scheme; /* "http" or "https" (lower case, as the kubelet builds the URL) */
	char *host;   /* NULL: the pod IP */
	char *path;
	struct probe_header *headers;
	size_t nheaders;
	int port;		/* resolved; 0 when port_err says why not */
	char port_err[160];	/* the kubelet's error text, reported as "errored" on every run */
	char *grpc_service;	/* NULL: none */
	const char *user_agent; /* NULL: kube-probe/1.32 (a static string, not freed) */
};

/* The probe of kind in container ctr (a spec.containers[] item), parsed into *s (zeroed
 * first; free with probe_spec_free). 0, -ENOENT when the container has no such probe,
 * -ENOMEM. A probe the kubelet cannot run (no handler, an unknown port name) parses: the
 * failure is reported at each run, as the kubelet does. */
int probe_spec_parse(const struct jv *ctr, enum probe_kind kind, struct probe_spec *s);
void probe_spec_free(struct probe_spec *s);
/* The handler of h (a probe's or a lifecycle hook's object: exec, httpGet, tcpSocket, grpc,
 * the first set in that order) into s (its other fields kept). 0 (PROBE_H_NONE when none is
 * set) or -ENOMEM. */
int probe_handler_parse(const struct jv *h, const struct jv *ctr, struct probe_spec *s);

/* probe.ResolveContainerPort: an int port, or a name looked up in ctr.ports[].name, else a
 * number in a string. 0 and *port, or -EINVAL with the kubelet's error text in err
 * ("strconv.Atoi: parsing \"web\": invalid syntax", "invalid port number: 0"). */
int probe_resolve_port(const struct jv *port, const struct jv *ctr, int *out, char *err,
		       size_t errlen);

/* Go's textproto.CanonicalMIMEHeaderKey into buf ("x-custom-header" -> "X-Custom-Header";
 * a key with a byte outside token characters is kept as it is). */
void probe_header_canonical(const char *name, char *buf, size_t size);

/* "Liveness", "Readiness", "Startup" (probeType.String()). */
const char *probe_kind_name(enum probe_kind k);

/* The worker's state across runs. result: the published value (the results manager's). */
struct probe_sm {
	enum probe_result result;
	enum probe_result last;
	int run;
	bool on_hold; /* liveness/startup failed: no probing until a new container */
};

/* The initial published value for a new container (worker.go: readiness Failure, liveness
 * Success, startup Unknown). */
enum probe_result probe_initial(enum probe_kind k);
/* A new container: the initial value published, the hold lifted (the run count carries
 * over, as the kubelet's worker keeps it). */
void probe_sm_new_container(struct probe_sm *sm, enum probe_kind k);
/* One probe result r (Success or Failure). True when it was published (the threshold
 * reached), false when it is below the threshold and the published value stays. */
bool probe_sm_record(struct probe_sm *sm, const struct probe_spec *s, enum probe_result r);

/* ---- the running probes of one container (agent_probe.c) ---- */

struct kc_recorder;
struct cg;
struct aprobe;

/* Who the events are about. */
struct aprobe_pod {
	const char *ns, *name, *uid;
};

/* Mark the agent's start (the kubelet spreads first probes over a period when it has just
 * started); call once before any aprobe_new. */
void aprobe_init_clock(void);

/* The probes of container ctr (a spec.containers[] item), one thread each, idle until
 * aprobe_run. NULL with errno 0 when the container has no probe (it is started and ready
 * while it runs), NULL with errno set on failure. rec: where Unhealthy events go (borrowed). */
struct aprobe *aprobe_new(struct kc_recorder *rec, const struct aprobe_pod *pod,
			  const struct jv *ctr);
/* Stop and join the threads (a probe running ends within its timeout); NULL-tolerant. */
void aprobe_free(struct aprobe *ap);

/* A new container runs: its init's pid, its cgroup (exec probes join it; borrowed,
 * valid until aprobe_exited), the pod IP and its working directory. */
void aprobe_run(struct aprobe *ap, pid_t pid, const struct cg *cg, const char *pod_ip,
		const char *cwd);
/* The container is gone (readiness fails until the next one). */
void aprobe_exited(struct aprobe *ap);
/* The pod is being deleted: liveness and startup probing stops (readiness goes on). */
void aprobe_deleting(struct aprobe *ap);

/* The container's status as the prober manager's UpdatePodStatus sets it: started (no
 * startup probe, or it succeeded) and ready (started, and no readiness probe or it
 * succeeded). */
void aprobe_status(struct aprobe *ap, bool *started, bool *ready);
/* The kind (PROBE_LIVENESS or PROBE_STARTUP) whose failure means the running container must
 * be killed, or -1; *grace: the probe's terminationGracePeriodSeconds, -1 when unset. */
int aprobe_failed(struct aprobe *ap, int64_t *grace);

/* An Event about the pod (kind Pod, its ns/name/uid) through rec. */
void aprobe_event(struct kc_recorder *rec, const struct aprobe_pod *pod, const char *type,
		  const char *reason, const char *msg);

#endif
