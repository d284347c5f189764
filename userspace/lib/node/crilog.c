/* SPDX-License-Identifier: Apache-2.0 */
/* crilog: CRI-format container log records from stdout/stderr bytes. See crilog.h. */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "crilog.h"

void crilog_stream_init(struct crilog_stream *s, int fd, const char *name, size_t max_line)
{
	s->fd = fd;
	s->name = name;
	s->max_line = max_line && max_line <= CRILOG_MAX_LINE ? max_line : CRILOG_MAX_LINE;
	s->len = 0;
	s->now = NULL;
}

/* The civil date of a day count since 1970-01-01 (Howard Hinnant's days_from_civil
 * inverse): no gmtime_r, whose tz lock a forked child of a threaded process must not take. */
static void civil(long long days, int *y, int *m, int *d)
{
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static char *put_num(char *p, long long v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

size_t crilog_prefix(char *buf, size_t size, const struct timespec *ts, const char *stream,
		     char tag)
{
	char tmp[96], *p = tmp;
	long long sec = ts->tv_sec, days = sec / 86400, rem = sec % 86400;
	int y, m, d;
	size_t slen = strnlen(stream, 16), n;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil(days, &y, &m, &d);
	p = put_num(p, y, 4);
	*p++ = '-';
	p = put_num(p, m, 2);
	*p++ = '-';
	p = put_num(p, d, 2);
	*p++ = 'T';
	p = put_num(p, rem / 3600, 2);
	*p++ = ':';
	p = put_num(p, rem / 60 % 60, 2);
	*p++ = ':';
	p = put_num(p, rem % 60, 2);
	*p++ = '.';
	p = put_num(p, ts->tv_nsec, 9);
	*p++ = 'Z';
	*p++ = ' ';
	memcpy(p, stream, slen);
	p += slen;
	*p++ = ' ';
	*p++ = tag;
	*p++ = ' ';
	n = (size_t)(p - tmp);
	if (size == 0)
		return 0;
	if (n >= size)
		n = size - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

/* One record with one writev, so records of the two streams never interleave (O_APPEND). */
static int write_record(struct crilog_stream *s, const char *a, size_t alen, const char *b,
			size_t blen, char tag)
{
	char prefix[96];
	struct timespec ts;
	struct iovec iov[4];
	size_t total, done = 0;
	int cnt = 0;

	if (s->now)
		s->now(&ts);
	else
		clock_gettime(CLOCK_REALTIME, &ts);
	iov[cnt++] =
	    (struct iovec){prefix, crilog_prefix(prefix, sizeof(prefix), &ts, s->name, tag)};
	if (alen)
		iov[cnt++] = (struct iovec){(void *)a, alen};
	if (blen)
		iov[cnt++] = (struct iovec){(void *)b, blen};
	iov[cnt++] = (struct iovec){"\n", 1};
	total = iov[0].iov_len + alen + blen + 1;
	while (done < total) {
		ssize_t w = writev(s->fd, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)w;
		/* A short write (disk full, a signal): drop what was written and retry the
		 * rest, so the record is not repeated. */
		while (cnt > 0 && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			memmove(iov, iov + 1, sizeof(iov[0]) * (size_t)--cnt);
		}
		if (cnt > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
	return 0;
}

int crilog_feed(struct crilog_stream *s, const char *data, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		int err;

		if (s->len + take > s->max_line) {
			/* The buffered part plus what fits is a full-size P record. */
			size_t fit = s->max_line - s->len;

			err = write_record(s, s->buf, s->len, data, fit, 'P');
			if (err)
				return err;
			s->len = 0;
			data += fit;
			n -= fit;
			continue;
		}
		if (!nl) {
			memcpy(s->buf + s->len, data, take);
			s->len += take;
			return 0;
		}
		/* A whole line: the buffered part plus data up to the newline, "\r\n" as "\n". */
		size_t blen = take;
		size_t alen = s->len;

		if (blen > 0 && data[blen - 1] == '\r')
			blen--;
		else if (blen == 0 && alen > 0 && s->buf[alen - 1] == '\r')
			alen--;
		err = write_record(s, s->buf, alen, data, blen, 'F');
		if (err)
			return err;
		s->len = 0;
		data += take + 1;
		n -= take + 1;
	}
	return 0;
}

int crilog_end(struct crilog_stream *s)
{
	int err = 0;

	if (s->len)
		err = write_record(s, s->buf, s->len, NULL, 0, 'P');
	s->len = 0;
	return err;
}
