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
 * is a ProbeWarning and counts as success. The handlers are pkg/probe's: HTTP GET over
 * libcurl (User-Agent kube-probe/1.32, any media type accepted, redirects followed on the
 * same host only, up to 10, 200-399 success, at most 10 KiB of body read), a TCP connect, and exec through the runtime (rt_exec in the container's
 * namespaces and cgroup with its init's environment; stdout then stderr, 10 KiB; killed at
 * the timeout: "command \"...\" timed out").
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_probe.h"
#include "log.h"
#include "recorder.h"
#include "runtime.h"

#define COMP	      "probe"
#define MAX_RETRIES   3	 /* prober.go maxProbeRetries */
#define MAX_REDIRECTS 10 /* net/http's default, kept by the kubelet's redirect checker */
#define PROBE_UA      "kube-probe/1.32"
#define MAX_ENV_BYTES (256 * 1024)

enum outcome {
	O_SUCCESS,
	O_WARNING,
	O_FAILURE,
	O_UNKNOWN,
};

struct aprobe;

struct pworker {
	struct aprobe *ap;
	struct probe_spec spec;
	struct probe_sm sm;
	pthread_t thread;
	bool thread_started;
	bool trigger;  /* run now (a container just started) */
	unsigned gen;  /* the container the published result belongs to */
	bool has_res;  /* a result was set for gen */
	bool finished; /* stopped probing (pod deleting) */
};

struct aprobe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct kc_recorder *rec;
	char ns[256], name[256], uid[64], ctr[64], restart_policy[16];
	/* the container, as the sync thread last said */
	unsigned gen; /* 0: none yet; grows with each new container */
	bool running, deleting;
	char cid[200], ip[64], cwd[512];
	pid_t pid;
	const struct cg *cg;
	double started_at; /* monotonic */
	struct pworker *w[PROBE_KINDS];
};

static double g_agent_start;

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void aprobe_init_clock(void)
{
	if (!g_agent_start)
		g_agent_start = mono_s();
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

/* ---- handlers ---- */

/* What one handler run says: an outcome with its output, or an error (err[0] set). */
struct run {
	enum outcome o;
	char out[PROBE_MAX_OUTPUT + 1];
	size_t outlen;
	char err[1024];
};

/* Go's error text for a failed connect: "connect: connection refused" (lower case). */
static void go_errno(int e, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

static void host_port(const char *host, int port, char *buf, size_t size)
{
	snprintf(buf, size, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static void tcp_probe(const struct probe_spec *s, const char *host, struct run *r)
{
	struct addrinfo_like {
		struct sockaddr_storage ss;
		socklen_t len;
	} a = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a.ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a.ss;
	char hp[128], why[128];
	int fd, e = 0;

	host_port(host, s->port, hp, sizeof(hp));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)s->port);
		a.len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)s->port);
		a.len = sizeof(*in6);
	} else {
		r->o = O_FAILURE;
		r->outlen = (size_t)snprintf(r->out, sizeof(r->out),
					     "dial tcp %s: address is not an IP address", hp);
		return;
	}
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(r->err, sizeof(r->err), "socket: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) && errno != EINPROGRESS) {
		e = errno;
	} else {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n = poll(&p, 1, s->timeout * 1000);
		socklen_t el = sizeof(e);

		if (n == 0)
			e = ETIMEDOUT;
		else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el))
			e = errno;
	}
	close(fd);
	if (!e) {
		r->o = O_SUCCESS;
		return;
	}
	/* tcp.go turns every dial error into a failure with its text */
	r->o = O_FAILURE;
	if (e == ETIMEDOUT)
		snprintf(why, sizeof(why), "i/o timeout");
	else
		go_errno(e, why, sizeof(why));
	r->outlen = (size_t)snprintf(r->out, sizeof(r->out), "dial tcp %s: %s%s", hp,
				     e == ETIMEDOUT ? "" : "connect: ", why);
}

struct body {
	char *buf;
	size_t len, cap;
	bool truncated;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = sz * n, room = b->cap - b->len;

	if (len > room) {
		/* ReadAtMost: the rest is not read, the probe goes on with what came */
		memcpy(b->buf + b->len, p, room);
		b->len += room;
		b->truncated = true;
		return 0;
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	return len;
}

static bool same_hostname(const char *a, const char *b)
{
	CURLU *ua = curl_url(), *ub = curl_url();
	char *ha = NULL, *hb = NULL;
	bool same = false;

	if (ua && ub && !curl_url_set(ua, CURLUPART_URL, a, 0) &&
	    !curl_url_set(ub, CURLUPART_URL, b, 0) && !curl_url_get(ua, CURLUPART_HOST, &ha, 0) &&
	    !curl_url_get(ub, CURLUPART_HOST, &hb, 0))
		same = !strcasecmp(ha, hb);
	curl_free(ha);
	curl_free(hb);
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

static struct curl_slist *http_headers(const struct probe_spec *s)
{
	struct curl_slist *l = NULL, *n;
	bool ua = false, accept = false;
	char line[1024];

	for (size_t i = 0; i < s->nheaders; i++) {
		const struct probe_header *h = &s->headers[i];

		ua |= !strcmp(h->name, "User-Agent");
		if (!strcmp(h->name, "Accept")) {
			accept = true;
			if (!h->value[0]) {
				/* overridden but empty: no Accept at all */
				snprintf(line, sizeof(line), "Accept:");
				goto add;
			}
		}
		/* curl sends "Name;" for an empty value, "Name:" would remove it */
		snprintf(line, sizeof(line), h->value[0] ? "%s: %s" : "%s;", h->name, h->value);
	add:
		if (!(n = curl_slist_append(l, line)))
			goto oom;
		l = n;
	}
	if (!ua && !(l = curl_slist_append(l, "User-Agent: " PROBE_UA)))
		goto oom;
	if (!accept && !(l = curl_slist_append(l, "Accept: */*")))
		goto oom;
	/* the probe transport disables keep-alives */
	if (!(n = curl_slist_append(l, "Connection: close")))
		goto oom;
	return n;
oom:
	curl_slist_free_all(l);
	return NULL;
}

static void http_url(const struct probe_spec *s, const char *host, char *buf, size_t size)
{
	char hp[160];

	host_port(host, s->port, hp, sizeof(hp));
	snprintf(buf, size, "%s://%s%s%s", s->scheme, hp,
		 s->path[0] && s->path[0] != '/' ? "/" : "", s->path);
}

static void http_probe(const struct probe_spec *s, const char *host, struct run *r)
{
	char url[2048], next[2048];
	struct curl_slist *hdrs = http_headers(s);
	struct body b = {.buf = r->out, .cap = PROBE_MAX_OUTPUT};
	double deadline = mono_s() + s->timeout;
	CURL *c = curl_easy_init();
	long code = 0;

	if (!c || !hdrs) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		goto out;
	}
	http_url(s, host, url, sizeof(url));
	for (int hops = 0;; hops++) {
		long left = (long)((deadline - mono_s()) * 1000);
		char *loc = NULL, why[256];
		CURLcode rc;

		b.len = 0;
		b.truncated = false;
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROXY, ""); /* Proxy: http.ProxyURL(nil) */
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L); /* InsecureSkipVerify */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		rc = curl_easy_perform(c);
		if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && b.truncated)) {
			long oserr = 0;

			curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
			if (rc == CURLE_OPERATION_TIMEDOUT)
				snprintf(why, sizeof(why),
					 "context deadline exceeded "
					 "(Client.Timeout exceeded while "
					 "awaiting headers)");
			else if (rc == CURLE_COULDNT_CONNECT && oserr) {
				char e[128], hp[160];

				go_errno((int)oserr, e, sizeof(e));
				host_port(host, s->port, hp, sizeof(hp));
				snprintf(why, sizeof(why), "dial tcp %s: connect: %s", hp, e);
			} else
				snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
			/* http.go: every transport error is a failure with its text */
			r->o = O_FAILURE;
			r->outlen =
			    (size_t)snprintf(r->out, sizeof(r->out), "Get \"%s\": %s", url, why);
			goto out;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code < 300 || code >= 400 ||
		    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
			break;
		if (!same_hostname(url, loc))
			break; /* http.ErrUseLastResponse: the 3xx is the answer */
		snprintf(next, sizeof(next), "%s", loc);
		if (hops + 1 >= MAX_REDIRECTS) {
			r->o = O_FAILURE;
			r->outlen = (size_t)snprintf(
			    r->out, sizeof(r->out), "Get \"%s\": stopped after 10 redirects", next);
			goto out;
		}
		snprintf(url, sizeof(url), "%s", next);
	}
	if (code >= 200 && code < 400) {
		if (code >= 300) {
			char body[PROBE_MAX_OUTPUT + 1];

			memcpy(body, r->out, b.len);
			body[b.len] = 0;
			r->o = O_WARNING;
			r->outlen =
			    (size_t)snprintf(r->out, sizeof(r->out),
					     "Probe terminated redirects, Response body: %s", body);
		} else {
			r->o = O_SUCCESS;
			r->outlen = b.len;
		}
	} else {
		/* the body never goes into the message (kubernetes#99425) */
		r->o = O_FAILURE;
		r->outlen = (size_t)snprintf(r->out, sizeof(r->out),
					     "HTTP probe failed with statuscode: %ld", code);
	}
out:
	if (r->outlen >= sizeof(r->out))
		r->outlen = sizeof(r->out) - 1;
	r->out[r->outlen] = 0;
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
}

/* The container init's environment (what runc exec gives a process: the container's). */
static char **proc_env(pid_t pid, char **blob)
{
	char path[64], **env;
	size_t len = 0, n = 0, k = 0;
	ssize_t got;
	int fd;

	*blob = NULL;
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !(*blob = malloc(MAX_ENV_BYTES + 1))) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (len < MAX_ENV_BYTES && (got = read(fd, *blob + len, MAX_ENV_BYTES - len)) > 0)
		len += (size_t)got;
	close(fd);
	(*blob)[len] = 0;
	for (size_t i = 0; i < len; i++)
		n += !(*blob)[i];
	env = calloc(n + 2, sizeof(char *));
	for (size_t i = 0; env && i < len; i += strlen(*blob + i) + 1)
		if ((*blob)[i])
			env[k++] = *blob + i;
	return env;
}

/* Go's %q of the command joined by spaces (close enough for the ASCII a probe holds). */
static void go_quote(char *const *argv, char *buf, size_t size)
{
	size_t o = 0;

	if (size < 4)
		return;
	buf[o++] = '"';
	for (size_t i = 0; argv[i]; i++) {
		if (i && o + 3 < size)
			buf[o++] = ' ';
		for (const char *p = argv[i]; *p && o + 4 < size; p++) {
			if (*p == '"' || *p == '\\')
				buf[o++] = '\\';
			buf[o++] = *p;
		}
	}
	buf[o++] = '"';
	buf[o] = 0;
}

static void exec_probe(const struct probe_spec *s, pid_t target, const struct cg *cg,
		       const char *cwd, struct run *r)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1}, rc, status = 0;
	char *blob = NULL, **env = NULL, ebuf[PROBE_MAX_OUTPUT];
	size_t elen = 0;
	double deadline = mono_s() + s->timeout;
	bool timed_out = false, reaped = false;
	pid_t pid = 0;

	if (!s->ncommand) {
		snprintf(r->err, sizeof(r->err),
			 "OCI runtime exec failed: exec failed: "
			 "unable to start container process: exec: "
			 "\"\": executable file not found in $PATH: unknown");
		return;
	}
	env = proc_env(target, &blob);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		goto done;
	}
	rc = rt_exec(&(struct rt_exec_spec){.target = target,
					    .cg = cg,
					    .argv = s->command,
					    .env = env,
					    .cwd = cwd && cwd[0] ? cwd : "/",
					    .stdin_fd = -1,
					    .stdout_fd = out[1],
					    .stderr_fd = err[1]},
		     &pid);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (rc) {
		/* as containerd reports a failed exec: an error, not a failure */
		if (rc == -ENOENT)
			snprintf(r->err, sizeof(r->err),
				 "OCI runtime exec failed: exec failed: unable to start container "
				 "process: exec: \"%s\": executable file not found in $PATH: "
				 "unknown",
				 s->command[0]);
		else
			snprintf(r->err, sizeof(r->err), "OCI runtime exec failed: %s",
				 strerror(-rc));
		goto done;
	}
	/* stdout and stderr until both close or the deadline, then the exit status */
	for (;;) {
		struct pollfd p[2] = {{.fd = out[0], .events = POLLIN},
				      {.fd = err[0], .events = POLLIN}};
		int left = (int)((deadline - mono_s()) * 1000);

		if (!reaped && waitpid(pid, &status, WNOHANG) == pid)
			reaped = true;
		if (p[0].fd < 0 && p[1].fd < 0 && reaped)
			break;
		if (left <= 0) {
			timed_out = !reaped;
			break;
		}
		if (p[0].fd < 0 && p[1].fd < 0) {
			struct timespec ts = {0, 10 * 1000 * 1000};

			nanosleep(&ts, NULL); /* output closed, process still running */
			continue;
		}
		if (poll(p, 2, left < 50 ? left : 50) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			char tmp[4096];
			ssize_t n;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, tmp, sizeof(tmp));
			if (n <= 0) {
				close(i ? err[0] : out[0]);
				if (i)
					err[0] = -1;
				else
					out[0] = -1;
				continue;
			}
			/* CRI ExecSync: stdout, then stderr; LimitWriter: 10 KiB in all */
			if (!i) {
				size_t room = PROBE_MAX_OUTPUT - r->outlen;
				size_t take = (size_t)n < room ? (size_t)n : room;

				memcpy(r->out + r->outlen, tmp, take);
				r->outlen += take;
			} else {
				size_t room = sizeof(ebuf) - elen;
				size_t take = (size_t)n < room ? (size_t)n : room;

				memcpy(ebuf + elen, tmp, take);
				elen += take;
			}
		}
	}
	if (timed_out) {
		char q[512];

		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		go_quote(s->command, q, sizeof(q));
		r->o = O_FAILURE;
		r->outlen = (size_t)snprintf(r->out, sizeof(r->out), "command %s timed out", q);
		goto done;
	}
	if (!reaped)
		waitpid(pid, &status, 0);
	if (elen > PROBE_MAX_OUTPUT - r->outlen)
		elen = PROBE_MAX_OUTPUT - r->outlen;
	memcpy(r->out + r->outlen, ebuf, elen);
	r->outlen += elen;
	r->o = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? O_SUCCESS : O_FAILURE;
done:
	if (r->outlen >= sizeof(r->out))
		r->outlen = sizeof(r->out) - 1;
	r->out[r->outlen] = 0;
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(env);
	free(blob);
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
	memset(r, 0, offsetof(struct run, out) + 1);
	r->outlen = 0;
	r->err[0] = 0;
	r->o = O_UNKNOWN;
	switch (s->handler) {
	case PROBE_H_EXEC:
		exec_probe(s, t->pid, t->cg, t->cwd, r);
		break;
	case PROBE_H_HTTP:
	case PROBE_H_TCP:
		if (s->port_err[0]) {
			snprintf(r->err, sizeof(r->err), "%s", s->port_err);
			break;
		}
		if (s->handler == PROBE_H_HTTP)
			http_probe(s, s->host ? s->host : t->ip, r);
		else
			tcp_probe(s, s->host ? s->host : t->ip, r);
		break;
	case PROBE_H_GRPC:
		snprintf(r->err, sizeof(r->err), "grpc probes are not supported by this node");
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
	struct run *r = malloc(sizeof(*r));
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

static bool started_locked(const struct aprobe *ap)
{
	const struct pworker *w = ap->w[PROBE_STARTUP];

	return !w || (w->has_res && w->gen == ap->gen && w->sm.result == PROBE_SUCCESS);
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
		w->has_res = true;
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
	if ((int)(mono_s() - ap->started_at) < w->spec.initial_delay)
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
	next = mono_s();
	if (mono_s() - g_agent_start < period) {
		unsigned seed = (unsigned)(uintptr_t)w ^ (unsigned)time(NULL);

		next += period * ((double)rand_r(&seed) / RAND_MAX);
	}
	while (!ap->stop) {
		double now = mono_s();

		if (now >= next || w->trigger) {
			w->trigger = false;
			if (!do_probe(w)) {
				w->finished = true;
				break;
			}
			next = mono_s() + period;
			continue;
		}
		{
			struct timespec ts;
			double at = next;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (next - now);
			ts.tv_sec = (time_t)at;
			ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
			pthread_cond_timedwait(&ap->cv, &ap->mu, &ts);
		}
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

	for (int k = 0; k < PROBE_KINDS; k++) {
		struct probe_spec s;

		if (probe_spec_parse(ctr, (enum probe_kind)k, &s) == 0)
			n++;
		probe_spec_free(&s);
	}
	if (!n) {
		errno = 0;
		return NULL;
	}
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
	snprintf(ap->restart_policy, sizeof(ap->restart_policy), "%s",
		 pod->restart_policy ? pod->restart_policy : "Always");
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
	for (int k = 0; k < PROBE_KINDS; k++) {
		struct pworker *w = ap->w[k];

		if (!w)
			continue;
		if (w->thread_started)
			pthread_join(w->thread, NULL);
		probe_spec_free(&w->spec);
		free(w);
	}
	pthread_cond_destroy(&ap->cv);
	pthread_mutex_destroy(&ap->mu);
	free(ap);
}

void aprobe_run(struct aprobe *ap, const char *cid, pid_t pid, const struct cg *cg,
		const char *pod_ip, const char *cwd)
{
	if (!ap)
		return;
	pthread_mutex_lock(&ap->mu);
	ap->gen++;
	ap->running = true;
	snprintf(ap->cid, sizeof(ap->cid), "%s", cid);
	snprintf(ap->ip, sizeof(ap->ip), "%s", pod_ip ? pod_ip : "");
	snprintf(ap->cwd, sizeof(ap->cwd), "%s", cwd ? cwd : "/");
	ap->pid = pid;
	ap->cg = cg;
	ap->started_at = mono_s();
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
	*ready =
	    *started && (!w || (w->has_res && w->gen == ap->gen && w->sm.result == PROBE_SUCCESS));
	pthread_mutex_unlock(&ap->mu);
}

int aprobe_failed(struct aprobe *ap, int64_t *grace)
{
	int kind = -1;

	*grace = -1;
	if (!ap)
		return -1;
	pthread_mutex_lock(&ap->mu);
	/* kuberuntime computePodActions: liveness first, then startup */
	for (int k = PROBE_LIVENESS; ap->running && k <= PROBE_STARTUP && kind < 0;
	     k += PROBE_STARTUP - PROBE_LIVENESS) {
		const struct pworker *w = ap->w[k];

		if (w && w->has_res && w->gen == ap->gen && w->sm.result == PROBE_FAILURE) {
			kind = k;
			*grace = w->spec.has_grace ? w->spec.grace : -1;
		}
	}
	pthread_mutex_unlock(&ap->mu);
	return kind;
}
