/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_probe_handlers: pkg/probe's handlers (agent_probe_int.h). HTTP GET over libcurl
 * (User-Agent kube-probe/1.32, any media type accepted, redirects followed on the same host
 * only, up to 10, 200-399 success, a redirect elsewhere a warning, at most 10 KiB of body
 * read, the body never in a failure message); a TCP connect; exec through the runtime (rt_exec
 * in the container's namespaces and cgroup with its init's environment; stdout then stderr,
 * 10 KiB; killed at the timeout: "command \"...\" timed out"). Every transport error is a
 * failure carrying Go's text ("dial tcp IP:PORT: connect: connection refused").
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_pod.h"
#include "agent_probe_int.h"
#include "runtime.h"

#define MAX_REDIRECTS 10 /* net/http's default, kept by the kubelet's redirect checker */
#define PROBE_UA      "kube-probe/1.32"
#define MAX_ENV_BYTES (256 * 1024)

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

void probe_tcp(const struct probe_spec *s, const char *host, struct run *r)
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

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const atomic_bool *cancel = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return cancel && atomic_load(cancel); /* non-zero: curl aborts the transfer */
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
	if (!ua) {
		snprintf(line, sizeof(line), "User-Agent: %s",
			 s->user_agent ? s->user_agent : PROBE_UA);
		if (!(n = curl_slist_append(l, line)))
			goto oom;
		l = n;
	}
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

void probe_http(const struct probe_spec *s, const char *host, struct run *r)
{
	char url[2048], next[2048];
	struct curl_slist *hdrs = http_headers(s);
	struct body b = {.buf = r->out, .cap = PROBE_MAX_OUTPUT};
	double deadline = probe_mono_s() + s->timeout;
	CURL *c = curl_easy_init();
	long code = 0;

	if (!c || !hdrs) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		goto out;
	}
	http_url(s, host, url, sizeof(url));
	for (int hops = 0;; hops++) {
		long left = (long)((deadline - probe_mono_s()) * 1000);
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
		if (r->cancel) {
			curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
			curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)r->cancel);
			curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		}
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
		r->http_code = code;
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

void probe_exec(const struct probe_spec *s, pid_t target, const struct cg *cg, const char *cwd,
		struct run *r)
{
	struct agent_ids ids;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, rc, status = 0;
	char *blob = NULL, **env = NULL, ebuf[PROBE_MAX_OUTPUT];
	size_t elen = 0;
	double deadline = probe_mono_s() + s->timeout;
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
	/* as the container's user, as the runtime's exec of a probe */
	agent_proc_ids(target, &ids);
	rc = rt_exec(&(struct rt_exec_spec){.target = target,
					    .cg = cg,
					    .uid = ids.uid,
					    .gid = ids.gid,
					    .groups = ids.groups,
					    .n_groups = ids.n_groups,
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
		int left = (int)((deadline - probe_mono_s()) * 1000);

		if (!reaped && waitpid(pid, &status, WNOHANG) == pid)
			reaped = true;
		if (p[0].fd < 0 && p[1].fd < 0 && reaped)
			break;
		if (left <= 0 || (r->cancel && atomic_load(r->cancel))) {
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
	r->stderr_at = r->outlen;
	memcpy(r->out + r->outlen, ebuf, elen);
	r->outlen += elen;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
