/* SPDX-License-Identifier: Apache-2.0 */
/* agent_probe_int: the probe handlers (agent_probe_handlers.c) as the prober (agent_probe.c)
 * calls them: pkg/probe's http, tcp and exec probers. */
#ifndef DROVER_AGENT_PROBE_INT_H
#define DROVER_AGENT_PROBE_INT_H

#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "agent_probe.h"

/* Seconds on CLOCK_MONOTONIC (the workers' clock and the handlers' deadlines). */
static inline double probe_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* probe.Result */
enum outcome {
	O_SUCCESS,
	O_WARNING,
	O_FAILURE,
	O_UNKNOWN,
};

/* What one handler run says: an outcome with its output, or an error (err[0] set). The
 * lifecycle hooks (agent_hook.c) read more of it: the exec's exit status and where its stderr
 * starts in out, the HTTP status (0: no response); cancel (theirs, NULL for probes) ends a run
 * early: the exec is killed, the request dropped. */
struct run {
	enum outcome o;
	char out[PROBE_MAX_OUTPUT + 1];
	size_t outlen;
	char err[1024];
	int exit_code;	  /* exec: the command's exit status (-1: killed, not run) */
	size_t stderr_at; /* exec: out[stderr_at ..] is its stderr */
	long http_code;	  /* httpGet: the last response's status, 0 when none came */
	const atomic_bool *cancel;
};

/* One run of a handler against host (the pod IP unless the probe names one) into *r. */
void probe_tcp(const struct probe_spec *s, const char *host, struct run *r);
void probe_http(const struct probe_spec *s, const char *host, struct run *r);
/* grpc.health.v1.Health/Check over HTTP/2 cleartext with prior knowledge (pkg/probe/grpc):
 * success when the call's grpc-status is 0 and the response's status SERVING. An error when
 * libcurl has no HTTP/2. */
void probe_grpc(const struct probe_spec *s, const char *host, struct run *r);
/* The gRPC message of HealthCheckRequest{service} (5-byte length prefix, then the protobuf)
 * into buf: its length, 0 when it does not fit. */
size_t probe_grpc_request(const char *service, unsigned char *buf, size_t size);
/* The ServingStatus of a gRPC message holding a HealthCheckResponse (0 UNKNOWN when the field
 * is absent), or -1 when it is malformed. */
int probe_grpc_status(const unsigned char *msg, size_t len);
/* exec in the container whose init is target (its cgroup cg, working directory cwd). */
void probe_exec(const struct probe_spec *s, pid_t target, const struct cg *cg, const char *cwd,
		struct run *r);

#endif
