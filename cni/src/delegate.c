/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-cni delegation: run another plugin (an IPAM plugin named by ipam.type) as the spec
 * says: found in CNI_PATH, with this plugin's environment (CNI_COMMAND set to the verb) and
 * the same configuration on stdin; its stdout is its result or its error object.
 */
#include "cni.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_MAX (1u << 20)

static int find_plugin(struct cni *c, const char *type, char *out, size_t outlen)
{
	const char *p = c->path;

	if (!*type || strchr(type, '/'))
		return cni_fail(c, CNI_ERR_INVALID_CONFIG, "invalid ipam.type %.64s", type);
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n && (size_t)snprintf(out, outlen, "%.*s/%s", (int)n, p, type) < outlen &&
		    !access(out, X_OK))
			return 0;
		p = end ? end + 1 : NULL;
	}
	return cni_fail(c, CNI_ERR_INVALID_CONFIG,
			"failed to find plugin \"%.64s\" in path [%.256s]", type, c->path);
}

/* Write all of stdin while reading stdout (either may block on a full pipe). */
static int pump(int in, const char *buf, size_t len, int out, char **res, size_t *reslen)
{
	size_t off = 0, cap = 4096, n = 0;
	char *r = malloc(cap);
	struct pollfd p[2];

	if (!r)
		return -ENOMEM;
	if (!len) {
		close(in);
		in = -1;
	}
	for (;;) {
		int np = 0;

		if (in >= 0)
			p[np++] = (struct pollfd){.fd = in, .events = POLLOUT};
		p[np++] = (struct pollfd){.fd = out, .events = POLLIN};
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (in >= 0 && p[0].revents) {
			ssize_t w = write(in, buf + off, len - off);

			if (w > 0)
				off += (size_t)w;
			if (w < 0 || off == len) {
				close(in);
				in = -1;
			}
		}
		if (p[np - 1].revents) {
			ssize_t got;

			if (n + 1 >= cap) {
				char *nr = cap >= OUT_MAX ? NULL : realloc(r, cap * 2);

				if (!nr)
					break;
				r = nr;
				cap *= 2;
			}
			got = read(out, r + n, cap - n - 1);
			if (got <= 0)
				break;
			n += (size_t)got;
		}
	}
	if (in >= 0)
		close(in);
	r[n] = 0;
	*res = r;
	*reslen = n;
	return 0;
}

int cni_delegate(struct cni *c, const char *type, const char *command, struct jv **out)
{
	char path[4096], *res = NULL;
	int to[2], from[2], status;
	size_t reslen = 0;
	struct jv_perr perr;
	pid_t pid;

	*out = NULL;
	if (find_plugin(c, type, path, sizeof(path)))
		return -1;
	if (pipe2(to, O_CLOEXEC))
		return cni_fail(c, CNI_ERR_IO, "pipe: %s", strerror(errno));
	if (pipe2(from, O_CLOEXEC)) {
		close(to[0]);
		close(to[1]);
		return cni_fail(c, CNI_ERR_IO, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		setenv("CNI_COMMAND", command, 1);
		execl(path, type, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	if (pid < 0) {
		close(to[1]);
		close(from[0]);
		return cni_fail(c, CNI_ERR_IO, "fork: %s", strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN); /* a delegate that exits without reading its stdin */
	if (pump(to[1], c->stdin_buf, c->stdin_len, from[0], &res, &reslen)) {
		close(from[0]);
		waitpid(pid, &status, 0);
		return cni_fail(c, CNI_ERR_IO, "out of memory");
	}
	close(from[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (reslen)
		*out = jv_parse(c->doc, res, reslen, &perr);
	free(res);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (*out && (*out)->type == JV_OBJECT && jv_get(*out, "code")) {
			int64_t code = CNI_ERR_DELEGATE;

			jv_int(jv_get(*out, "code"), &code);
			c->delegate_err = *out; /* the delegate's error, as it wrote it */
			cni_fail(c, (int)code, "%s", jv_path_str(*out, "msg") ?: "");
		} else {
			cni_fail(c, CNI_ERR_DELEGATE, "IPAM plugin %.64s %s failed (%s %d)", type,
				 command, WIFEXITED(status) ? "exit" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		}
		*out = NULL;
		return -1;
	}
	if (reslen && !*out)
		return cni_fail(c, CNI_ERR_DECODE, "IPAM plugin %.64s: undecodable result: %s",
				type, perr.msg);
	return 0;
}
