/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_http: the agent's kubelet endpoint (HTTPS on --port, 10250 by default), as the
 * kubelet's server serves the API server: /containerLogs (agent_logs.c), /exec (agent_exec.c),
 * /attach (agent_attach.c), /portForward (agent_portforward.c), /metrics and
 * /flows (the node's telemetry, agent_telemetry.c). agent_http.c owns the daemon (libmicrohttpd, a thread per connection, so a
 * follow or an exec never holds up another request, and none touches the pod sync), TLS
 * (a serving certificate the agent signs itself, as the kubelet does without
 * --tls-cert-file: kube-apiserver does not verify it by default), who may call (a client
 * certificate of the cluster CA with CN kube-apiserver-kubelet-client; none: 401, another:
 * 403) and the lookup of the container a path names.
 */
#ifndef DROVER_AGENT_HTTP_H
#define DROVER_AGENT_HTTP_H

#include <limits.h>
#include <microhttpd.h>
#include <sys/types.h>

#include "agent_int.h"

struct ahttp_req {
	struct agent *a;
	struct MHD_Connection *conn;
	const char *method;
	const char *url_kind; /* "containerLogs", "exec", "attach", "portForward" */
	char ns[256], pod[256], ctr[64];
};

/* The container a request names. */
struct ahttp_target {
	char uid[64];
	char dir[PATH_MAX]; /* root/pods/<ns>_<name>_<uid>/<container>: its <n>.log files */
	char cg_rel[1024];  /* its cgroup, relative */
	pid_t init;	    /* its init while it runs (our pid namespace), else 0 */
	char cwd[512];	    /* its working directory (workingDir, else the image's; "/") */
	bool stdin, stdin_once, tty; /* its spec's */
	char waiting[64]; /* its status's state.waiting.reason in the API's copy, or "" */
};

/* Find the pod (the API's copy: its uid) and the container (init containers too; none when r->ctr is empty); on failure the kubelet's
 * answer (404 / 400, text) is queued and MHD's result is returned through *ret. 0 or -1. */
/* All of p on a (non-blocking) upgraded socket, waiting out EAGAIN; 0 or -EIO. */
int ahttp_send_all(int fd, const void *p, size_t n);
int ahttp_resolve(struct ahttp_req *r, struct ahttp_target *t, enum MHD_Result *ret);
/* The container's init while it runs (a process of its cgroup that is PID 1 of its pid
 * namespace), else 0. */
pid_t ahttp_ctr_init(const struct agent *a, const char *cg_rel);
/* The container's cgroup (the host's layout read once at start), or NULL. */
struct cg *ahttp_ctr_cgroup(const struct agent *a, const char *cg_rel);
/* A text/plain answer. */
enum MHD_Result ahttp_text(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value of a query argument, or NULL; a boolean one ("true", "1"). */
const char *ahttp_arg(const struct ahttp_req *r, const char *key);
bool ahttp_arg_true(const struct ahttp_req *r, const char *key);
/* True once the agent is stopping (long requests end). */
bool ahttp_stopping(const struct agent *a);
/* An upgraded session (exec) begins / ends: the daemon stops after the last one. */
void ahttp_session_enter(struct agent *a);
void ahttp_session_leave(struct agent *a);

enum MHD_Result agent_logs_serve(struct ahttp_req *r);
enum MHD_Result agent_exec_serve(struct ahttp_req *r);
/* path: what follows /portForward/ ({ns}/{pod}[/{uid}]) */
enum MHD_Result agent_portforward_serve(struct ahttp_req *r, const char *path);

#endif
