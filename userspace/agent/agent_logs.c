/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_logs: GET /containerLogs/{ns}/{pod}/{container}, as the kubelet serves it from the
 * CRI log files (pkg/kubelet/kuberuntime/logs): the container's current run is the highest
 * <n>.log of its directory (agent_ctr.c writes one per run), the previous run the one before;
 * each record ("<time> <stream> <P|F> <text>", crilog.h) gives its text, a newline after a
 * full line, and its time first with timestamps=true. tailLines keeps the last N records,
 * sinceSeconds / sinceTime drop the older ones, limitBytes cuts the output. follow=true
 * streams records as they are written and ends when the run ends (its container's init is
 * gone, or a newer run's file appears) or the caller hangs up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_http.h"

#define READ_CHUNK 65536
#define FOLLOW_MS  100

struct logstream {
	struct agent *a;
	int fd;
	int conn_fd;
	char path[PATH_MAX + 32];
	char next_path[PATH_MAX + 32]; /* the next run's file: the end of a follow */
	char cg_rel[1024];
	bool follow, timestamps;
	int64_t since_s, since_ns; /* records before it are dropped; since_s < 0: none */
	int64_t limit;		   /* bytes left to write, < 0: no limit */
	char *in;		   /* bytes read, not yet a whole record */
	size_t in_len, in_cap;
	char *out; /* formatted, not yet handed to MHD */
	size_t out_len, out_off, out_cap;
	bool draining, done;
};

/* "2016-10-06T00:17:09.669794202Z" (or with an offset) into seconds and nanoseconds. */
static int parse_time(const char *s, size_t n, int64_t *sec, int64_t *nsec)
{
	struct tm tm = {0};
	char buf[64];
	const char *p;
	int64_t ns = 0, digits = 0;

	if (n >= sizeof(buf) || n < 20)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*sec = (int64_t)timegm(&tm);
	p = buf + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*p - '0');
		for (; digits < 9; digits++)
			ns *= 10;
	}
	if (*p == '+' || *p == '-') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -EINVAL;
		*sec -= (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
	} else if (*p != 'Z') {
		return -EINVAL;
	}
	*nsec = ns;
	return 0;
}

static int out_put(struct logstream *s, const char *p, size_t n)
{
	if (s->limit >= 0 && (int64_t)n > s->limit) {
		n = (size_t)s->limit;
		s->done = true; /* limitBytes reached */
	}
	if (s->out_len + n > s->out_cap) {
		size_t cap = (s->out_len + n) * 2;
		char *o = realloc(s->out, cap);

		if (!o)
			return -ENOMEM;
		s->out = o;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
	if (s->limit >= 0)
		s->limit -= (int64_t)n;
	return 0;
}

/* One record (without its newline): false if it is not one. */
struct rec {
	const char *ts, *text;
	size_t ts_len, text_len;
	char tag;
};

static bool parse_rec(const char *l, size_t n, struct rec *r)
{
	const char *e = l + n, *sp1 = memchr(l, ' ', n), *sp2, *sp3;

	if (!sp1)
		return false;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1));
	if (!sp2)
		return false;
	sp3 = memchr(sp2 + 1, ' ', (size_t)(e - sp2 - 1));
	r->ts = l;
	r->ts_len = (size_t)(sp1 - l);
	r->tag = sp2 + 1 < e ? sp2[1] : 'F';
	r->text = sp3 ? sp3 + 1 : e;
	r->text_len = (size_t)(e - r->text);
	return true;
}

static bool rec_wanted(const struct logstream *s, const struct rec *r)
{
	int64_t sec, ns;

	if (s->since_s < 0)
		return true;
	if (parse_time(r->ts, r->ts_len, &sec, &ns))
		return true;
	return sec > s->since_s || (sec == s->since_s && ns >= s->since_ns);
}

static int emit(struct logstream *s, const char *l, size_t n)
{
	struct rec r;
	int rc = 0;

	if (!parse_rec(l, n, &r) || !rec_wanted(s, &r))
		return 0;
	if (s->timestamps) {
		/* Go's RFC3339Nano: trailing zeros of the fraction dropped */
		size_t tl = r.ts_len;
		const char *dot = memchr(r.ts, '.', tl);

		if (dot && r.ts[tl - 1] == 'Z') {
			size_t end = tl - 1;

			while (end > (size_t)(dot - r.ts) + 1 && r.ts[end - 1] == '0')
				end--;
			if (end == (size_t)(dot - r.ts) + 1)
				end--; /* no fraction left: no dot either */
			rc = out_put(s, r.ts, end);
			if (!rc)
				rc = out_put(s, "Z ", 2);
		} else {
			rc = out_put(s, r.ts, tl);
			if (!rc)
				rc = out_put(s, " ", 1);
		}
	}
	if (!rc)
		rc = out_put(s, r.text, r.text_len);
	if (!rc && r.tag == 'F')
		rc = out_put(s, "\n", 1);
	return rc;
}

/* Read what the file has and format its whole records; >0 if anything was read. */
static ssize_t pull(struct logstream *s)
{
	ssize_t n;
	size_t start = 0;

	if (s->in_cap - s->in_len < READ_CHUNK) {
		char *p = realloc(s->in, s->in_len + READ_CHUNK);

		if (!p)
			return -ENOMEM;
		s->in = p;
		s->in_cap = s->in_len + READ_CHUNK;
	}
	n = read(s->fd, s->in + s->in_len, READ_CHUNK);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	s->in_len += (size_t)n;
	for (size_t i = 0; i < s->in_len && !s->done; i++) {
		if (s->in[i] != '\n')
			continue;
		if (emit(s, s->in + start, i - start))
			return -ENOMEM;
		start = i + 1;
	}
	memmove(s->in, s->in + start, s->in_len - start);
	s->in_len -= start;
	return n;
}

/* The run being followed has ended: a newer run's file, or no init in its cgroup. */
static bool run_ended(const struct logstream *s)
{
	return access(s->next_path, F_OK) == 0 || ahttp_ctr_init(s->a, s->cg_rel) == 0;
}

static ssize_t log_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct logstream *s = cls;

	(void)pos;
	for (;;) {
		ssize_t n;

		if (s->out_off < s->out_len) {
			size_t k = s->out_len - s->out_off;

			if (k > max)
				k = max;
			memcpy(buf, s->out + s->out_off, k);
			s->out_off += k;
			if (s->out_off == s->out_len)
				s->out_off = s->out_len = 0;
			return (ssize_t)k;
		}
		if (s->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		n = pull(s);
		if (n < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (n > 0)
			continue;
		/* at the end of the file */
		if (!s->follow || s->draining || ahttp_stopping(s->a)) {
			s->done = true;
			continue;
		}
		if (run_ended(s)) {
			s->draining = true; /* one more read: what it wrote last */
			continue;
		}
		{
			struct pollfd p = {.fd = s->conn_fd, .events = POLLRDHUP};

			if (s->conn_fd >= 0 && poll(&p, 1, FOLLOW_MS) > 0 &&
			    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
				return MHD_CONTENT_READER_END_WITH_ERROR; /* the caller hung up */
			if (s->conn_fd < 0)
				usleep(FOLLOW_MS * 1000);
		}
	}
}

static void log_free(void *cls)
{
	struct logstream *s = cls;

	if (s->fd >= 0)
		close(s->fd);
	free(s->in);
	free(s->out);
	free(s);
}

/* The highest <n>.log of dir, or -1. */
static int last_run(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int best = -1;

	while (d && (e = readdir(d))) {
		char *end;
		long n = strtol(e->d_name, &end, 10);

		if (end != e->d_name && !strcmp(end, ".log") && n >= 0 && n > best && n < INT32_MAX)
			best = (int)n;
	}
	if (d)
		closedir(d);
	return best;
}

/* The offset of the tail'th record from the end, scanning the records the since filter
 * keeps. */
static off_t tail_offset(struct logstream *s, int64_t tail)
{
	FILE *f = fdopen(dup(s->fd), "re");
	off_t *ring, off = 0, start = 0;
	size_t cap = (size_t)tail, count = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t n;

	if (!f)
		return 0;
	if (tail == 0) {
		fseeko(f, 0, SEEK_END);
		start = ftello(f);
		fclose(f);
		return start;
	}
	ring = calloc(cap, sizeof(*ring));
	if (!ring) {
		fclose(f);
		return 0;
	}
	while ((n = getline(&line, &lcap, f)) > 0) {
		struct rec r;

		if (line[n - 1] == '\n' && parse_rec(line, (size_t)n - 1, &r) &&
		    rec_wanted(s, &r)) {
			ring[count % cap] = off;
			count++;
		}
		off += n;
	}
	start = count > cap ? ring[count % cap] : (count ? ring[0] : off);
	free(line);
	free(ring);
	fclose(f);
	return start;
}

static bool parse_int(const char *v, int64_t *out)
{
	char *end;
	long long n;

	if (!v)
		return true;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!v[0] || *end || errno)
		return false;
	*out = n;
	return true;
}

enum MHD_Result agent_logs_serve(struct ahttp_req *r)
{
	struct ahttp_target t;
	struct logstream *s;
	struct MHD_Response *resp;
	const union MHD_ConnectionInfo *ci;
	const char *since_time = ahttp_arg(r, "sinceTime");
	int64_t tail = -1, since_sec = -1;
	enum MHD_Result ret;
	int run;

	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->fd = -1;
	s->since_s = -1;
	s->limit = -1;
	s->a = r->a;
	if (!parse_int(ahttp_arg(r, "tailLines"), &tail) ||
	    !parse_int(ahttp_arg(r, "sinceSeconds"), &since_sec) ||
	    !parse_int(ahttp_arg(r, "limitBytes"), &s->limit)) {
		free(s);
		return ahttp_text(r->conn, 400, "invalid log options: a number is malformed\n");
	}
	if (since_time && since_sec >= 0) {
		free(s);
		return ahttp_text(r->conn, 400,
				  "at most one of sinceTime or sinceSeconds may be specified\n");
	}
	if (since_sec >= 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		s->since_s = (int64_t)now.tv_sec - since_sec;
		s->since_ns = now.tv_nsec;
	} else if (since_time &&
		   parse_time(since_time, strlen(since_time), &s->since_s, &s->since_ns)) {
		free(s);
		return ahttp_text(r->conn, 400, "invalid sinceTime %s\n", since_time);
	}
	if (ahttp_resolve(r, &t, &ret)) {
		free(s);
		return ret;
	}
	run = last_run(t.dir);
	if (ahttp_arg_true(r, "previous")) {
		run--;
		snprintf(s->path, sizeof(s->path), "%s/%d.log", t.dir, run);
		if (run < 0 || access(s->path, R_OK)) {
			free(s);
			return ahttp_text(r->conn, 400,
					  "previous terminated container \"%s\" in pod \"%s\" not "
					  "found\n",
					  r->ctr, r->pod);
		}
	} else if (run < 0) {
		/* validateContainerLogStatus: the most common pending failures said in words */
		const char *w = !strcmp(t.waiting, "ErrImagePull") ? "image can't be pulled"
				: !strcmp(t.waiting, "ImagePullBackOff")
				    ? "trying and failing to pull image"
				: t.waiting[0] ? t.waiting
					       : "ContainerCreating";

		free(s);
		return ahttp_text(r->conn, 400,
				  "container \"%s\" in pod \"%s\" is waiting to start: %s\n",
				  r->ctr, r->pod, w);
	} else {
		/* follow only the run that is current */
		s->follow = ahttp_arg_true(r, "follow");
	}
	snprintf(s->path, sizeof(s->path), "%s/%d.log", t.dir, run);
	snprintf(s->next_path, sizeof(s->next_path), "%s/%d.log", t.dir, run + 1);
	snprintf(s->cg_rel, sizeof(s->cg_rel), "%s", t.cg_rel);
	s->timestamps = ahttp_arg_true(r, "timestamps");
	s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		free(s);
		return ahttp_text(r->conn, 500, "failed to open log file \"%s\": %s\n", s->path,
				  strerror(errno));
	}
	if (tail >= 0 && lseek(s->fd, tail_offset(s, tail), SEEK_SET) < 0) {
		log_free(s);
		return ahttp_text(r->conn, 500, "seek: %s\n", strerror(errno));
	}
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->conn_fd = ci ? ci->connect_fd : -1;
	if (s->limit == 0)
		s->done = true;
	resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, log_read, s, log_free);
	if (!resp) {
		log_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}
