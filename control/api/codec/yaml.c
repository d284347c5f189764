/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yaml: YAML request bodies parsed in a child process. libfyaml 0.7.12 (Debian's) loops
 * forever or crashes on some malformed inputs (found by fuzzing: a directive with
 * non-UTF-8 bytes, an explicit key followed by a tab); a request body must never take the
 * server down, so the parse runs in a forked child that writes the canonical JSON of the
 * object (or the errors) to a pipe, under a deadline. YAML bodies are rare (kubectl sends
 * JSON), so the fork is affordable; JSON never comes here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_codec.h"

#define DEADLINE_MS 5000

static void put_clean(struct k8s_buf *b, const char *s)
{
	for (; s && *s; s++)
		k8s_buf_putc(b, *s == '\t' || *s == '\n' ? ' ' : *s);
}

/* The child: parse, write the result, exit. Never returns. */
static void child(int fd, const char *buf, size_t len, const struct k8s_parse_opts *po)
{
	struct k8s_errors e = {0};
	struct k8s_obj *o = k8s_obj_parse(buf, len, po, &e);
	struct k8s_buf b = {0};
	char *json = o ? k8s_obj_to_json(o) : NULL;

	for (size_t i = 0; i < e.nwarn; i++) {
		k8s_buf_puts(&b, "W\t");
		put_clean(&b, e.warnings[i]);
		k8s_buf_putc(&b, '\n');
	}
	if (json) {
		k8s_buf_puts(&b, "J\n");
		k8s_buf_puts(&b, json);
	} else {
		for (size_t i = 0; i < e.n; i++) {
			k8s_buf_printf(&b, "C\t%d\t%d\t", e.causes[i].line, e.causes[i].column);
			put_clean(&b, e.causes[i].field);
			k8s_buf_putc(&b, '\t');
			put_clean(&b, e.causes[i].reason);
			k8s_buf_putc(&b, '\t');
			put_clean(&b, e.causes[i].message);
			k8s_buf_putc(&b, '\n');
		}
		k8s_buf_puts(&b, "E\n");
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t n = write(fd, b.p + off, b.len - off);

		if (n <= 0)
			_exit(1);
		off += (size_t)n;
	}
	_exit(b.oom ? 1 : 0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read everything from fd until EOF or the deadline. */
static int read_all(int fd, struct k8s_buf *out)
{
	int64_t end = now_ms() + DEADLINE_MS;
	char tmp[16384];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		n = read(fd, tmp, sizeof(tmp));
		if (n == 0)
			return out->oom ? -ENOMEM : 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		k8s_buf_put(out, tmp, (size_t)n);
	}
}

/* Split the child's report into warnings, causes and the JSON. */
static int parse_report(char *p, struct k8s_errors *errs, char **json, size_t *jlen)
{
	while (*p) {
		char *nl = strchr(p, '\n');

		if (p[0] == 'J' && p[1] == '\n') {
			size_t n = strlen(p + 2);

			*json = malloc(n + 1);
			if (!*json)
				return -ENOMEM;
			memcpy(*json, p + 2, n + 1);
			*jlen = n;
			return 0;
		}
		if (!nl)
			break;
		*nl = 0;
		if (p[0] == 'W' && p[1] == '\t') {
			k8s_errors_warn(errs, "%s", p + 2);
		} else if (p[0] == 'C' && p[1] == '\t') {
			char *f[5] = {0};
			char *q = p + 2;

			for (int i = 0; i < 5 && q; i++) {
				f[i] = q;
				q = i < 4 ? strchr(q, '\t') : NULL;
				if (q)
					*q++ = 0;
			}
			if (f[4])
				k8s_errors_add(errs, f[2], f[3], atoi(f[0]), atoi(f[1]), "%s",
					       f[4]);
		} else if (p[0] == 'E') {
			return -EINVAL;
		}
		p = nl + 1;
	}
	k8s_errors_add(errs, "", K8S_REASON_INVALID, 0, 0, "yaml: the document cannot be parsed");
	return -EINVAL;
}

int api_yaml_parse(const char *buf, size_t len, const struct k8s_parse_opts *po,
		   struct k8s_errors *errs, char **json, size_t *jlen)
{
	struct k8s_buf out = {0};
	int fds[2], err, status;
	pid_t pid;

	*json = NULL;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], buf, len, po);
	}
	close(fds[1]);
	err = read_all(fds[0], &out);
	close(fds[0]);
	if (err == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!err && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		err = -EPIPE; /* the parser died: a malformed document */
	if (err == -ETIMEDOUT || err == -EPIPE) {
		k8s_errors_add(errs, "", K8S_REASON_INVALID, 0, 0,
			       "yaml: the document cannot be parsed");
		err = -EINVAL;
	} else if (!err) {
		err = parse_report(out.p ? out.p : (char *)"", errs, json, jlen);
	}
	k8s_buf_free(&out);
	return err;
}
