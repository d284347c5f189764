/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_hook: lifecycle hooks (agent_hook.h) over the prober's handlers (agent_probe_int.h):
 * the exec and httpGet runs are probe_exec and probe_http with a cancel flag and no timeout of
 * their own, the messages handlers.go's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_hook.h"
#include "agent_probe_int.h"

#define HOOK_UA		"kube-lifecycle/1.32" /* NewRequestForHTTPGetAction(..., "lifecycle") */
#define HOOK_NO_TIMEOUT (24 * 3600) /* RunInContainer(..., 0): none; cancel ends it (ms in int) */

enum hook_type { H_EXEC, H_HTTP, H_SLEEP, H_INVALID };

struct ahook {
	pthread_t thread;
	atomic_bool cancel, done;
	bool ok;
	char msg[4096];
	enum hook_type type;
	struct probe_spec spec; /* exec, httpGet */
	int64_t sleep_s;
	char invalid[512]; /* the handler as Go's %v prints it, for H_INVALID */
	char ns[256], pod[256], uid[64], ctr[64], ip[64], cwd[512];
	pid_t pid;
	const struct cg *cg;
	struct run run;
};

static const char *const hook_key[] = {"postStart", "preStop"};

static const struct jv *handler_of(const struct jv *ctr, enum hook_kind k)
{
	const struct jv *h = jv_get(jv_get(ctr, "lifecycle"), hook_key[k]);

	return h && h->type == JV_OBJECT ? h : NULL;
}

bool ahook_defined(const struct jv *ctr, enum hook_kind k)
{
	return handler_of(ctr, k) != NULL;
}

void ahook_go_quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	if (size < 3)
		return;
	buf[o++] = '"';
	for (size_t i = 0; i < len && o + 6 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch == '\n' || ch == '\t' || ch == '\r') {
			buf[o++] = '\\';
			buf[o++] = ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r';
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o] = 0;
}

/* Go's %v of the command ([a b c]) or strings.Join(cmd, " ") (a b c) */
static void join(char *const *argv, bool brackets, char *buf, size_t size)
{
	size_t o = 0;

	o += (size_t)snprintf(buf, size, "%s", brackets ? "[" : "");
	for (size_t i = 0; argv && argv[i] && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " " : "", argv[i]);
	if (brackets && o < size)
		snprintf(buf + o, size - o, "]");
}

/* The handler's %v as handlers.go's "invalid handler: %v" prints a LifecycleHandler that has
 * none of exec/httpGet/sleep (tcpSocket, or nothing). */
static void invalid_text(const struct jv *h, char *buf, size_t size)
{
	const struct jv *t = jv_get(h, "tcpSocket"), *port = jv_get(t, "port");
	const char *host = jv_path_str(t, "host");
	char p[128] = "{0 0 }";

	if (port && port->type == JV_NUMBER)
		snprintf(p, sizeof(p), "{0 %.*s }", (int)port->len, port->s);
	else if (port && port->type == JV_STRING)
		snprintf(p, sizeof(p), "{1 0 %s}", port->s);
	if (t && t->type == JV_OBJECT)
		snprintf(
		    buf, size,
		    "&LifecycleHandler{Exec:nil,HTTPGet:nil,TCPSocket:&TCPSocketAction{Port:%s,"
		    "Host:%s,},Sleep:nil,}",
		    p, host ? host : "");
	else
		snprintf(buf, size,
			 "&LifecycleHandler{Exec:nil,HTTPGet:nil,TCPSocket:nil,Sleep:nil,}");
}

static bool cancelled(struct ahook *h)
{
	return atomic_load(&h->cancel);
}

static void run_exec(struct ahook *h)
{
	struct run *r = &h->run;
	char cmd[1024], out[PROBE_MAX_OUTPUT * 2 + 8], err[1400];

	r->exit_code = -1;
	probe_exec(&h->spec, h->pid, h->cg, h->cwd, r);
	if (!r->err[0] && r->o == O_SUCCESS) {
		h->ok = true;
		return;
	}
	/* cri-client's ExecSync: a non-zero exit is "command '%s' exited with %d: %s" (stderr) */
	if (r->err[0]) {
		snprintf(err, sizeof(err), "%.1200s", r->err);
	} else if (r->exit_code >= 0 && !cancelled(h)) {
		join(h->spec.command, false, cmd, sizeof(cmd));
		snprintf(err, sizeof(err), "command '%s' exited with %d: %.*s", cmd, r->exit_code,
			 (int)(r->outlen - r->stderr_at), r->out + r->stderr_at);
	} else {
		snprintf(err, sizeof(err), "%.1200s", cancelled(h) ? "context canceled" : r->out);
	}
	join(h->spec.command, true, cmd, sizeof(cmd));
	ahook_go_quote(r->out, r->err[0] ? 0 : r->outlen, out, sizeof(out));
	snprintf(h->msg, sizeof(h->msg),
		 "Exec lifecycle hook (%.300s) for Container \"%s\" in Pod \"%.200s_%.200s(%s)\" "
		 "failed - error: %.600s, message: %.600s",
		 cmd, h->ctr, h->pod, h->ns, h->uid, err, out);
}

static void run_http(struct ahook *h)
{
	struct run *r = &h->run;
	const char *why;

	if (h->spec.port_err[0]) {
		why = h->spec.port_err;
	} else {
		probe_http(&h->spec, h->spec.host ? h->spec.host : h->ip, r);
		/* the answer, whatever its status, is success: only the transport fails it */
		if (!r->err[0] && (r->o != O_FAILURE || r->http_code)) {
			h->ok = true;
			return;
		}
		why = r->err[0] ? r->err : r->out;
	}
	snprintf(h->msg, sizeof(h->msg),
		 "HTTP lifecycle hook (%.300s) for Container \"%s\" in Pod \"%.200s_%.200s(%s)\" "
		 "failed - error: %.1000s",
		 h->spec.path ? h->spec.path : "", h->ctr, h->pod, h->ns, h->uid, why);
}

static void run_sleep(struct ahook *h)
{
	double end = probe_mono_s() + (double)h->sleep_s;

	while (probe_mono_s() < end) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (cancelled(h)) {
			snprintf(h->msg, sizeof(h->msg),
				 "Sleep lifecycle hook (%lld) for Container \"%s\" in Pod "
				 "\"%s_%s(%s)\" failed - error: container terminated before sleep "
				 "hook finished",
				 (long long)h->sleep_s, h->ctr, h->pod, h->ns, h->uid);
			return;
		}
		nanosleep(&ts, NULL);
	}
	h->ok = true;
}

static void *hook_main(void *arg)
{
	struct ahook *h = arg;

	switch (h->type) {
	case H_EXEC:
		run_exec(h);
		break;
	case H_HTTP:
		run_http(h);
		break;
	case H_SLEEP:
		run_sleep(h);
		break;
	case H_INVALID:
		snprintf(h->msg, sizeof(h->msg), "Cannot run handler: invalid handler: %s",
			 h->invalid);
		break;
	}
	atomic_store(&h->done, true);
	return NULL;
}

struct ahook *ahook_start(const struct jv *ctr, enum hook_kind k, const struct ahook_target *t)
{
	const struct jv *hj = handler_of(ctr, k), *sl;
	struct ahook *h;
	int rc;

	if (!hj) {
		errno = ENOENT;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	snprintf(h->ns, sizeof(h->ns), "%s", t->ns);
	snprintf(h->pod, sizeof(h->pod), "%s", t->pod);
	snprintf(h->uid, sizeof(h->uid), "%s", t->uid);
	snprintf(h->ctr, sizeof(h->ctr), "%s", t->ctr);
	snprintf(h->ip, sizeof(h->ip), "%s", t->pod_ip ? t->pod_ip : "");
	snprintf(h->cwd, sizeof(h->cwd), "%s", t->cwd && t->cwd[0] ? t->cwd : "/");
	h->pid = t->pid;
	h->cg = t->cg;
	h->run.cancel = &h->cancel;
	h->spec.timeout = HOOK_NO_TIMEOUT;
	h->spec.user_agent = HOOK_UA;
	if (probe_handler_parse(hj, ctr, &h->spec)) {
		probe_spec_free(&h->spec);
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	/* handlers.go Run: exec, httpGet, sleep, else an invalid handler */
	if (h->spec.handler == PROBE_H_EXEC)
		h->type = H_EXEC;
	else if (h->spec.handler == PROBE_H_HTTP)
		h->type = H_HTTP;
	else if ((sl = jv_get(hj, "sleep")) && sl->type == JV_OBJECT) {
		h->type = H_SLEEP;
		if (jv_path_int(sl, "seconds", &h->sleep_s) || h->sleep_s < 0)
			h->sleep_s = 0;
	} else {
		h->type = H_INVALID;
		invalid_text(hj, h->invalid, sizeof(h->invalid));
	}
	rc = pthread_create(&h->thread, NULL, hook_main, h);
	if (rc) {
		probe_spec_free(&h->spec);
		free(h);
		errno = rc;
		return NULL;
	}
	return h;
}

bool ahook_done(struct ahook *h, bool *ok, char *msg, size_t len)
{
	if (!h || !atomic_load(&h->done))
		return false;
	*ok = h->ok;
	if (msg && len)
		snprintf(msg, len, "%s", h->ok ? "" : h->msg);
	return true;
}

void ahook_free(struct ahook *h)
{
	if (!h)
		return;
	atomic_store(&h->cancel, true);
	pthread_join(h->thread, NULL);
	h->spec.user_agent = NULL;
	probe_spec_free(&h->spec);
	free(h);
}
