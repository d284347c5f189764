/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_stream: what /exec (agent_exec.c) and /attach (agent_attach.c) share: the upgraded
 * WebSocket session (v5/v4.channel.k8s.io, binary frames, a channel byte first), its frames,
 * the Status on the error channel and the client's messages (stdin queued, a resize kept,
 * v5's close of stdin). Not a public header of the agent.
 */
#ifndef DROVER_AGENT_STREAM_H
#define DROVER_AGENT_STREAM_H

#include <limits.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "agent_http.h"

#define MAX_ARGV  256
#define MAX_MSG	  (1 << 20) /* a client message (stdin) */
#define STDIN_MAX (1 << 20) /* stdin bytes waiting for the process before we stop reading */
#define CH_STDIN  0
#define CH_STDOUT 1
#define CH_STDERR 2
#define CH_ERROR  3
#define CH_RESIZE 4
#define CH_CLOSE  255

struct xsession {
	struct agent *a;
	MHD_socket sock;
	int conn_fd; /* the caller's TCP socket (MHD's), watched for its end only */
	struct MHD_UpgradeResponseHandle *urh;
	bool attach; /* /attach: the container's own stdio (attach_path), no command */
	char ns[256], pod[256], ctr[64];
	char cg_rel[1024];
	char cwd[512];
	char attach_path[PATH_MAX + 32];
	bool ctr_stdin, stdin_once; /* attach: the container's stdin and stdinOnce */
	pid_t init;
	char *argv[MAX_ARGV + 1];
	bool in, out, err, tty, v5;
	unsigned char *rbuf; /* bytes from the client, not yet a whole frame */
	size_t rlen;
	int cur_ch; /* the channel of a fragmented message */
	char *stdin_buf;
	size_t stdin_len;
	bool stdin_close;
	struct winsize winsz; /* the last resize the client asked for */
	bool winsz_new;	      /* not applied yet */
};

/* A frame (ch >= 0: a channel byte first); 0 or -EIO. */
int xs_send_frame(struct xsession *x, unsigned opcode, int ch, const void *p, size_t n);
/* The end's Status on the error channel (exec: status is the wait status); failure: an
 * InternalError with that message. */
void xs_send_status(struct xsession *x, int status, const char *failure);
/* Read what the client sent (x->sock readable) and parse its whole messages: stdin queued
 * in x->stdin_buf, a resize in x->winsz, v5's close of stdin in x->stdin_close; -1 when it
 * closed or broke the protocol. */
int xs_client_read(struct xsession *x);

/* /attach's request (agent_attach.c): x takes the container's stdio settings from t. */
void agent_attach_prepare(struct xsession *x, const struct ahttp_target *t);
/* /attach's session (agent_attach.c), on the session's thread. */
void agent_attach_run(struct xsession *x);

#endif
