/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_attach: /attach/{ns}/{pod}/{container}?stdin=&stdout=&stderr=&tty=, `kubectl attach`
 * and `kubectl run -i -t`, over the WebSocket session /exec speaks (agent_stream.h). A
 * container whose spec asks for stdin gets a stdin kept open, one with tty a terminal: both are
 * held by its logger process (runtime_logger.c), which also serves the attach socket in the
 * container's run directory, so attaching survives an agent restart like the container does.
 *
 * As the kubelet and containerd answer: the terminal is the container's (kubelet's GetAttach
 * takes tty from the container's spec, not the request: a tty container's output is one
 * stream); a request's stdin is not copied to a container without stdin (containerd's
 * ContainerIO.Attach copies only when the container has a stdin; the output still streams);
 * the output from the attach on, to every session at once, and stdin from any of them; a
 * session's stdin that ends (v5's close of channel 0) ends the session, but with stdinOnce and
 * no terminal it closes the container's stdin instead and the output streams on until the
 * container ends (the logger closes it too when such a session goes). The end of the container
 * ends every session with a Success Status (ServeAttach's); detaching leaves it running.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_attach.h"
#include "agent_stream.h"
#include "runtime.h"
#include "websocket.h"

#define COMP	  "attach"
#define IN_CHUNK  32768
#define OUT_BYTES (1 + 65536)

void agent_attach_spec(struct rt_spec *spec, const struct jv *ctr, const char *run_dir, char *path,
		       size_t size)
{
	const struct jv *in = jv_get(ctr, "stdin"), *once = jv_get(ctr, "stdinOnce"),
			*tty = jv_get(ctr, "tty");

	snprintf(path, size, "%s/attach.sock", run_dir);
	spec->attach_path = path;
	spec->stdin_open = in && in->type == JV_TRUE;
	spec->stdin_once = spec->stdin_open && once && once->type == JV_TRUE;
	spec->tty = tty && tty->type == JV_TRUE;
}

void agent_attach_prepare(struct xsession *x, const struct ahttp_target *t)
{
	x->attach = true;
	snprintf(x->attach_path, sizeof(x->attach_path), "%s/run/attach.sock", t->dir);
	x->tty = t->tty;
	x->ctr_stdin = t->stdin;
	x->stdin_once = t->stdin_once;
}

/* One message to the logger; false when it is gone. */
static bool to_logger(int fd, char kind, const void *p, size_t n)
{
	unsigned char m[1 + IN_CHUNK];

	m[0] = (unsigned char)kind;
	memcpy(m + 1, p, n);
	return send(fd, m, n + 1, MSG_NOSIGNAL) == (ssize_t)(n + 1);
}

void agent_attach_run(struct xsession *x)
{
	int fd = rt_attach_connect(x->attach_path);
	bool want_in = x->in && x->ctr_stdin, client_gone = false, closed_in = false;
	unsigned char *buf = malloc(OUT_BYTES), hello = want_in;

	if (!x->rbuf)
		x->rbuf = malloc(MAX_MSG + 64);
	if (fd < 0 || !buf || !x->rbuf || !to_logger(fd, RT_ATTACH_HELLO, &hello, 1)) {
		xs_send_status(x, 0,
			       fd < 0 ? "container is not running (no attach socket)"
				      : "cannot set up the streams");
		xs_send_frame(x, WS_CLOSE, -1, "\x03\xe8", 2);
		goto out;
	}
	log_info(COMP, "pod %s/%s: container %s: attached (stdin %d, tty %d)", x->ns, x->pod,
		 x->ctr, want_in, x->tty);
	for (;;) {
		struct pollfd p[3] = {
		    {.fd = x->sock, .events = POLLIN},
		    {.fd = fd, .events = POLLIN},
		    /* libmicrohttpd does not pass the caller's close (TLS) on to the upgraded
		     * socket: the TCP socket's hang-up says the client is gone */
		    {.fd = x->conn_fd, .events = POLLRDHUP},
		};

		if (ahttp_stopping(x->a))
			break; /* the agent stops: the session ends, the container runs on */
		if (poll(p, 3, 200) < 0 && errno != EINTR)
			break;
		if (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			client_gone = true;
			break;
		}
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && xs_client_read(x) < 0) {
			client_gone = true;
			break;
		}
		if (x->winsz_new && !to_logger(fd, RT_ATTACH_RESIZE, &x->winsz, sizeof(x->winsz)))
			break;
		x->winsz_new = false;
		/* stdin to the logger, which writes it as the container takes it */
		for (size_t off = 0; off < x->stdin_len; off += IN_CHUNK) {
			size_t k = x->stdin_len - off < IN_CHUNK ? x->stdin_len - off : IN_CHUNK;

			if (want_in && !to_logger(fd, RT_ATTACH_STDIN, x->stdin_buf + off, k))
				break;
		}
		x->stdin_len = 0;
		if (x->stdin_close && !closed_in && want_in) {
			closed_in = true;
			to_logger(fd, RT_ATTACH_CLOSE, "", 0);
			/* containerd: a stdin that ended ends the session, unless it closed the
			 * container's (stdinOnce, no terminal): then the output streams on */
			if (!(x->stdin_once && !x->tty))
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, buf, OUT_BYTES, 0);

			if (n <= 0)
				break; /* the container's output ended: it has exited */
			if (n > 1 &&
			    ((buf[0] == CH_STDOUT && x->out) || (buf[0] == CH_STDERR && x->err)) &&
			    xs_send_frame(x, WS_BINARY, buf[0], buf + 1, (size_t)n - 1) != 0) {
				client_gone = true;
				break;
			}
		}
	}
	if (!client_gone) {
		xs_send_status(x, 0, NULL);
		xs_send_frame(x, WS_CLOSE, -1, "\x03\xe8", 2);
	}
	log_info(COMP, "pod %s/%s: container %s: detached", x->ns, x->pod, x->ctr);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}
