/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_exec: /exec/{ns}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty= over
 * WebSocket, as the kubelet's streaming server answers kubectl (k8s.io/apiserver wsstream,
 * subprotocols v5.channel.k8s.io and v4.channel.k8s.io, binary frames): every message starts
 * with its channel (0 stdin, 1 stdout, 2 stderr, 3 the error channel, 4 terminal resize;
 * v5 adds 255, a client's "this channel is closed": [255, 0] ends stdin). The command runs in
 * the running container (its init's namespaces, root, cgroup, environment, uid and gid:
 * rt_exec), with pipes, or a pseudo-terminal for tty=true. At its end the error channel
 * carries the v4 Status: {"status":"Success"}, or for an exit code N
 * reason NonZeroExitCode with an ExitCode cause N (kubectl: "command terminated with exit
 * code N", and exits N); a command that cannot start is an InternalError Status. Then a close
 * frame. /attach shares the request and the session's frames: agent_attach.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent_http.h"
#include "agent_pod.h"
#include "agent_stream.h"
#include "cgroup.h"
#include "k8s_buf.h"
#include "runtime.h"
#include "websocket.h"

#define COMP "exec"

static void session_free(struct xsession *x)
{
	if (!x)
		return;
	for (size_t i = 0; x->argv[i]; i++)
		free(x->argv[i]);
	free(x->rbuf);
	free(x->stdin_buf);
	free(x);
}

/* ---- frames ---- */

int xs_send_frame(struct xsession *x, unsigned opcode, int ch, const void *p, size_t n)
{
	unsigned char h[WS_HEADER_MAX + 1];
	size_t hl = ws_header(h, opcode, n + (ch >= 0), NULL);

	if (ch >= 0)
		h[hl++] = (unsigned char)ch;
	if (ahttp_send_all(x->sock, h, hl))
		return -EIO;
	return n ? ahttp_send_all(x->sock, p, n) : 0;
}

/* The Status of the end on the error channel, as the kubelet's v4 error writer makes it. */
void xs_send_status(struct xsession *x, int status, const char *failure)
{
	struct k8s_buf b = {0};

	if (failure) {
		k8s_buf_printf(&b,
			       "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"error "
			       "%s container: %s\",\"reason\":\"InternalError\","
			       "\"code\":500}",
			       x->attach ? "attaching to" : "executing command in", failure);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		k8s_buf_printf(&b, "{\"metadata\":{},\"status\":\"Success\"}");
	} else {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

		k8s_buf_printf(&b, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command "
				   "terminated with non-zero exit code: error executing command [");
		for (size_t i = 0; x->argv[i]; i++) {
			k8s_buf_printf(&b, "%s", i ? " " : "");
			/* JSON-safe: quotes and backslashes escaped, controls dropped */
			for (const char *c = x->argv[i]; *c; c++) {
				if (*c == '"' || *c == '\\')
					k8s_buf_printf(&b, "\\%c", *c);
				else if ((unsigned char)*c >= 0x20)
					k8s_buf_put(&b, c, 1);
			}
		}
		k8s_buf_printf(&b,
			       "], exit code %d\",\"reason\":\"NonZeroExitCode\",\"details\":"
			       "{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"%d\"}]}}",
			       code, code);
	}
	if (!b.oom)
		xs_send_frame(x, WS_BINARY, CH_ERROR, b.p, b.len);
	k8s_buf_free(&b);
}

/* ---- the process ---- */

static char **read_environ(pid_t pid)
{
	char path[64], *buf = NULL, **env;
	size_t len = 0, n = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	{
		char chunk[4096];
		size_t k;

		while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			char *nb = realloc(buf, len + k + 1);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			memcpy(buf + len, chunk, k);
			len += k;
		}
	}
	fclose(f);
	for (size_t i = 0; i < len; i++)
		cap += buf[i] == 0;
	env = calloc(cap + 2, sizeof(*env));
	for (size_t i = 0; env && i < len; i += strlen(buf + i) + 1)
		if (buf[i] && !(env[n++] = strdup(buf + i)))
			break;
	free(buf);
	return env;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A terminal of the container's own devpts (runc too makes it there: the process sees
 * /dev/pts/N inside, so ttyname and stty work): its ptmx, the peer through TIOCGPTPEER. */
static int open_pty(pid_t init, int *master, int *slave)
{
	char path[64];
	int unlock = 0;

	snprintf(path, sizeof(path), "/proc/%d/root/dev/pts/ptmx", (int)init);
	*master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	if (ioctl(*master, TIOCSPTLCK, &unlock) != 0 ||
	    (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int err = -errno;

		close(*master);
		*master = -1;
		return err;
	}
	return 0;
}

/* ---- client messages ---- */

/* {"Width":W,"Height":H}: kept for the session to apply */
static void resize(struct xsession *x, const unsigned char *p, size_t n)
{
	char buf[128];
	const char *w, *h;

	if (n >= sizeof(buf))
		return;
	memcpy(buf, p, n);
	buf[n] = 0;
	w = strstr(buf, "\"Width\":");
	h = strstr(buf, "\"Height\":");
	if (!w || !h)
		return;
	x->winsz = (struct winsize){.ws_col = (unsigned short)atoi(w + 8),
				    .ws_row = (unsigned short)atoi(h + 9)};
	x->winsz_new = true;
}

static int queue_stdin(struct xsession *x, const unsigned char *p, size_t n)
{
	char *nb;

	if (!x->in || x->stdin_close || !n)
		return 0;
	nb = realloc(x->stdin_buf, x->stdin_len + n);
	if (!nb)
		return -ENOMEM;
	x->stdin_buf = nb;
	memcpy(x->stdin_buf + x->stdin_len, p, n);
	x->stdin_len += n;
	return 0;
}

static int client_input(struct xsession *x)
{
	size_t off = 0;
	int rc = 0;

	while (off < x->rlen && !rc) {
		struct ws_frame f;
		ssize_t n = ws_parse(x->rbuf + off, x->rlen - off, MAX_MSG, true, &f);
		const unsigned char *p;
		size_t len;
		int ch;

		if (n == 0)
			break;
		if (n < 0)
			return -1;
		off += (size_t)n;
		switch (f.opcode) {
		case WS_PING:
			xs_send_frame(x, WS_PONG, -1, f.payload, f.len);
			continue;
		case WS_PONG:
			continue;
		case WS_CLOSE:
			xs_send_frame(x, WS_CLOSE, -1, f.payload, f.len >= 2 ? 2 : 0);
			return -1;
		case WS_CONT:
			ch = x->cur_ch;
			p = f.payload;
			len = f.len;
			break;
		default:
			if (!f.len)
				continue;
			ch = f.payload[0];
			p = f.payload + 1;
			len = f.len - 1;
			x->cur_ch = ch;
		}
		if (ch == CH_STDIN)
			rc = queue_stdin(x, p, len);
		else if (ch == CH_RESIZE)
			resize(x, p, len);
		else if (ch == CH_CLOSE && x->v5 && len >= 1 && p[0] == CH_STDIN)
			x->stdin_close = true;
	}
	memmove(x->rbuf, x->rbuf + off, x->rlen - off);
	x->rlen -= off;
	return rc;
}

int xs_client_read(struct xsession *x)
{
	ssize_t n = recv(x->sock, x->rbuf + x->rlen, MAX_MSG + 64 - x->rlen, 0);

	if (n > 0)
		x->rlen += (size_t)n;
	return n <= 0 ? -1 : client_input(x);
}

/* ---- the session ---- */

static void run(struct xsession *x)
{
	struct cg *cg = ahttp_ctr_cgroup(x->a, x->cg_rel);
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	int master = -1, slave = -1, pidfd = -1, status = 0, rc;
	char **env = read_environ(x->init);
	struct rt_exec_spec spec = {0};
	struct agent_ids ids;
	bool exited = false, client_gone = false;
	pid_t pid = 0;
	char buf[32768];

	if (!x->rbuf)
		x->rbuf = malloc(MAX_MSG + 64);
	if (!x->rbuf || !env)
		goto fail;
	spec.target = x->init;
	spec.cg = cg;
	spec.argv = x->argv;
	spec.env = env;
	spec.cwd = x->cwd; /* the container's working directory, as the runtime's exec */
	agent_proc_ids(x->init, &ids); /* the container's user, groups included */
	spec.uid = ids.uid;
	spec.gid = ids.gid;
	spec.groups = ids.groups;
	spec.n_groups = ids.n_groups;
	spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = -1;
	if (x->tty) {
		if (open_pty(x->init, &master, &slave) != 0)
			goto fail;
		spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = slave;
		spec.tty = true;
	} else {
		if ((x->in && pipe2(in_p, O_CLOEXEC)) || pipe2(out_p, O_CLOEXEC) ||
		    pipe2(err_p, O_CLOEXEC))
			goto fail;
		spec.stdin_fd = x->in ? in_p[0] : -1;
		spec.stdout_fd = out_p[1];
		spec.stderr_fd = err_p[1];
	}
	rc = rt_exec(&spec, &pid);
	if (rc) {
		char msg[256];

		snprintf(msg, sizeof(msg), "exec: \\\"%s\\\": %s", x->argv[0],
			 rc == -ENOENT ? "executable file not found in $PATH" : strerror(-rc));
		xs_send_status(x, 0, msg);
		xs_send_frame(x, WS_CLOSE, -1, "\x03\xe8", 2);
		goto out;
	}
	log_info(COMP, "pod %s/%s: container %s: exec %s (pid %d)", x->ns, x->pod, x->ctr,
		 x->argv[0], (int)pid);
	/* our copies of the process's ends: EOF comes when it (and its children) close them */
	close_fd(&slave);
	close_fd(&in_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[1]);
	if (x->tty && x->in)
		in_p[1] = master; /* stdin goes to the terminal too */
	if (in_p[1] >= 0 && !x->tty)
		set_nonblock(in_p[1]);
	if (x->tty)
		set_nonblock(master);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		int outfd = x->tty ? master : out_p[0];
		int errfd = x->tty ? -1 : err_p[0];
		struct pollfd p[6] = {
		    {.fd = client_gone ? -1 : x->sock,
		     .events = (short)(x->stdin_len < STDIN_MAX ? POLLIN : 0)},
		    {.fd = outfd, .events = POLLIN},
		    {.fd = errfd, .events = POLLIN},
		    {.fd = (x->stdin_len && !x->tty) ? in_p[1] : -1, .events = POLLOUT},
		    {.fd = exited ? -1 : pidfd, .events = POLLIN},
		    /* libmicrohttpd does not pass the caller's close (TLS) on to the upgraded
		     * socket: the TCP socket's hang-up says the client is gone */
		    {.fd = client_gone ? -1 : x->conn_fd, .events = POLLRDHUP},
		};

		if (outfd < 0 && errfd < 0 && exited)
			break;
		if (ahttp_stopping(x->a) && !exited) {
			kill(pid, SIGKILL);
		}
		if (poll(p, 6, 200) < 0 && errno != EINTR)
			break;
		if (p[5].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			client_gone = true;
			if (!exited)
				kill(pid, SIGKILL); /* nobody reads it any more */
		}
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && xs_client_read(x) < 0) {
			client_gone = true;
			if (!exited)
				kill(pid, SIGKILL); /* nobody reads it any more */
		}
		if (x->winsz_new && master >= 0)
			ioctl(master, TIOCSWINSZ, &x->winsz);
		x->winsz_new = false;
		/* stdin: what the client sent, written as the process takes it */
		if (x->stdin_len && in_p[1] >= 0) {
			ssize_t w = write(in_p[1], x->stdin_buf, x->stdin_len);

			if (w > 0) {
				memmove(x->stdin_buf, x->stdin_buf + w, x->stdin_len - (size_t)w);
				x->stdin_len -= (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				x->stdin_len = 0; /* it closed its stdin */
			}
		}
		if (x->stdin_close && !x->stdin_len && in_p[1] >= 0 && !x->tty) {
			close_fd(&in_p[1]);
		}
		for (int k = 1; k <= 2; k++) {
			int *fdp = k == 1 ? (x->tty ? &master : &out_p[0]) : &err_p[0];
			ssize_t n;

			if (*fdp < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(*fdp, buf, sizeof(buf));
			if (n > 0) {
				bool want = k == 1 ? x->out : x->err;

				if (want && !client_gone &&
				    xs_send_frame(x, WS_BINARY, k, buf, (size_t)n) != 0) {
					client_gone = true;
					if (!exited)
						kill(pid, SIGKILL);
				}
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* EOF (a terminal whose last user went: EIO) */
				if (fdp == &master && in_p[1] == master)
					in_p[1] = -1;
				close_fd(fdp);
			}
		}
		if (!exited && (pidfd < 0 || (p[4].revents & POLLIN))) {
			pid_t w = waitpid(pid, &status, pidfd < 0 ? WNOHANG : 0);

			if (w == pid)
				exited = true;
		}
		if (exited && x->tty && master >= 0) {
			/* the terminal: read what is left, then done (its holders may linger) */
			ssize_t n;

			while ((n = read(master, buf, sizeof(buf))) > 0)
				if (x->out && !client_gone)
					xs_send_frame(x, WS_BINARY, CH_STDOUT, buf, (size_t)n);
			close_fd(&master);
			in_p[1] = -1;
		}
	}
	if (!client_gone) {
		xs_send_status(x, status, NULL);
		xs_send_frame(x, WS_CLOSE, -1, "\x03\xe8", 2);
	}
	log_info(COMP, "pod %s/%s: exec %s (pid %d) ended: %d", x->ns, x->pod, x->argv[0], (int)pid,
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	goto out;
fail:
	xs_send_status(x, 0, "cannot set up the streams");
	xs_send_frame(x, WS_CLOSE, -1, "\x03\xe8", 2);
out:
	if (pid > 0 && !exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (in_p[1] == master)
		in_p[1] = -1; /* the terminal's stdin is its master */
	close_fd(&in_p[0]);
	close_fd(&in_p[1]);
	close_fd(&out_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[0]);
	close_fd(&err_p[1]);
	close_fd(&master);
	close_fd(&slave);
	close_fd(&pidfd);
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
	cg_free(cg);
}

static void *session_main(void *arg)
{
	struct xsession *x = arg;
	int fl = fcntl(x->sock, F_GETFL);

	if (fl >= 0)
		fcntl(x->sock, F_SETFL, fl & ~O_NONBLOCK);
	if (x->attach)
		agent_attach_run(x);
	else
		run(x);
	MHD_upgrade_action(x->urh, MHD_UPGRADE_ACTION_CLOSE);
	ahttp_session_leave(x->a);
	session_free(x);
	return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
			size_t extra_in_size, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	struct xsession *x = cls;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_t t;

	(void)req_cls;
	x->conn_fd = ci ? ci->connect_fd : -1;
	x->sock = sock;
	x->urh = urh;
	if (extra_in_size && extra_in_size < MAX_MSG) {
		x->rbuf = malloc(MAX_MSG + 64);
		if (x->rbuf) {
			memcpy(x->rbuf, extra_in, extra_in_size);
			x->rlen = extra_in_size;
		}
	}
	ahttp_session_enter(x->a);
	if (pthread_create(&t, NULL, session_main, x) != 0) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		ahttp_session_leave(x->a);
		session_free(x);
		return;
	}
	pthread_detach(t);
}

/* ---- the request ---- */

static enum MHD_Result collect_command(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct xsession *x = cls;
	size_t n = 0;

	(void)kind;
	if (!key || strcmp(key, "command") != 0)
		return MHD_YES;
	while (x->argv[n])
		n++;
	if (n < MAX_ARGV)
		x->argv[n] = strdup(value ? value : "");
	return MHD_YES;
}

/* The subprotocol to answer with, of the client's list: v5, else v4; NULL if neither. */
static const char *pick_protocol(const char *offered)
{
	static const char *const ours[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", NULL};

	for (size_t i = 0; offered && ours[i]; i++) {
		size_t l = strlen(ours[i]);

		for (const char *p = offered; (p = strstr(p, ours[i])); p += l)
			if ((p == offered || p[-1] == ' ' || p[-1] == ',') &&
			    (p[l] == 0 || p[l] == ',' || p[l] == ' '))
				return ours[i];
	}
	return NULL;
}

enum MHD_Result agent_exec_serve(struct ahttp_req *r)
{
	const char *upgrade =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
	const char *key =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *proto = pick_protocol(
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Protocol"));
	struct ahttp_target t;
	struct xsession *x;
	struct MHD_Response *resp;
	char accept[29];
	enum MHD_Result ret;

	if (ahttp_resolve(r, &t, &ret))
		return ret;
	/* a container that does not run is the kubelet's GetExec/GetAttach error (findContainer
	 * finds none: 500 through streaming.WriteError), whatever the protocol: kubectl 1.32
	 * retries a refused WebSocket upgrade over SPDY and shows that second answer */
	if (!t.init)
		return ahttp_text(r->conn, 500, "container not found (\"%s\")\n", r->ctr);
	if (!upgrade || strcasecmp(upgrade, "websocket") != 0 || !key ||
	    ws_accept_key(key, accept) != 0)
		return ahttp_text(r->conn, 400,
				  "unable to upgrade: the kubelet endpoint of drover speaks "
				  "WebSocket (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY\n");
	if (!proto)
		return ahttp_text(
		    r->conn, 400,
		    "unable to upgrade: no supported protocol in "
		    "Sec-WebSocket-Protocol (v5.channel.k8s.io, v4.channel.k8s.io)\n");
	x = calloc(1, sizeof(*x));
	if (!x)
		return MHD_NO;
	x->a = r->a;
	snprintf(x->ns, sizeof(x->ns), "%s", r->ns);
	snprintf(x->pod, sizeof(x->pod), "%s", r->pod);
	snprintf(x->ctr, sizeof(x->ctr), "%s", r->ctr);
	snprintf(x->cg_rel, sizeof(x->cg_rel), "%s", t.cg_rel);
	x->init = t.init;
	snprintf(x->cwd, sizeof(x->cwd), "%s", t.cwd);
	x->v5 = !strcmp(proto, "v5.channel.k8s.io");
	x->cur_ch = -1;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_command, x);
	x->in = ahttp_arg_true(r, "stdin");
	x->out = ahttp_arg_true(r, "stdout");
	x->err = ahttp_arg_true(r, "stderr");
	x->tty = ahttp_arg_true(r, "tty");
	if (!strcmp(r->url_kind, "attach"))
		agent_attach_prepare(x, &t);
	if (x->tty)
		x->err = false; /* a terminal has one output stream */
	if (!x->argv[0] && !x->attach) {
		session_free(x);
		return ahttp_text(r->conn, 400,
				  "you must specify at least one command for the container\n");
	}
	if (!x->in && !x->out && !x->err) {
		session_free(x);
		return ahttp_text(r->conn, 400,
				  "you must specify at least 1 of stdin, stdout, stderr\n");
	}
	resp = MHD_create_response_for_upgrade(on_upgraded, x);
	if (!resp) {
		session_free(x);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	MHD_add_response_header(resp, "Sec-WebSocket-Protocol", proto);
	ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}
