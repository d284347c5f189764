/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crilog: the container log writer, in the CRI log format kubelet reads (and containerd and
 * CRI-O write): one record per line, `<RFC 3339 UTC time, 9 digits> <stream> <tag> <text>\n`,
 * tag F for a full line and P for a part of one: a line longer than the maximum is cut into P
 * records of the maximum size followed by its F rest, and text left without a newline when
 * the stream ends is a P record (containerd's redirectLogs). A "\r\n" ending counts as "\n".
 * No allocation after crilog_stream_init, so the logger can run in a forked child.
 */
#ifndef DROVER_NODE_CRILOG_H
#define DROVER_NODE_CRILOG_H

#include <stddef.h>
#include <time.h>

#define CRILOG_MAX_LINE 16384 /* containerd's default max_container_log_line_size */

struct crilog_stream {
	int fd;				  /* the log file, O_APPEND */
	const char *name;		  /* "stdout" or "stderr" */
	size_t max_line;		  /* <= CRILOG_MAX_LINE */
	size_t len;			  /* bytes of an unfinished line in buf */
	void (*now)(struct timespec *ts); /* clock (tests fix it); NULL: CLOCK_REALTIME */
	char buf[CRILOG_MAX_LINE];
};

/* name must outlive the stream; max_line 0 means CRILOG_MAX_LINE. */
void crilog_stream_init(struct crilog_stream *s, int fd, const char *name, size_t max_line);
/* Feed bytes read from the stream; complete records are written. 0 or -errno (write). */
int crilog_feed(struct crilog_stream *s, const char *data, size_t n);
/* The stream ended: what is left is written as a P record. 0 or -errno. */
int crilog_end(struct crilog_stream *s);
/* Format one record's prefix ("2016-10-06T00:17:09.669794202Z stdout F ") into buf
 * (at least 64 bytes); its length. */
size_t crilog_prefix(char *buf, size_t size, const struct timespec *ts, const char *stream,
		     char tag);

#endif
