/* SPDX-License-Identifier: Apache-2.0 */
/* manifest_docs: a manifest file read whole and cut into documents (manifest_docs.h). */
#include "manifest_docs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mdoc_read_file(const char *path, char **buf, size_t *len, const char **why)
{
	struct stat st;
	size_t off = 0, cap;
	char *b;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	int err = 0;

	*buf = NULL;
	*len = 0;
	*why = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		err = -EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > MDOC_MAX_FILE) {
		*why = "file too large";
		err = -EFBIG;
		goto out;
	}
	/* The size is a hint: the file may grow or shrink while it is read. One byte more
	 * than the size, so that its end is seen without growing; one for the '\0'. */
	cap = (size_t)st.st_size + 2;
	b = malloc(cap);
	if (!b) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (off + 1 == cap) {
			char *q;

			if (off > MDOC_MAX_FILE) {
				*why = "file too large";
				err = -EFBIG;
				break;
			}
			cap = cap * 2 > MDOC_MAX_FILE + 2 ? MDOC_MAX_FILE + 2 : cap * 2;
			q = realloc(b, cap);
			if (!q) {
				err = -ENOMEM;
				break;
			}
			b = q;
		}
		r = read(fd, b + off, cap - 1 - off);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			*why = "read failed";
			break;
		}
		off += (size_t)r;
	}
	if (err) {
		free(b);
		goto out;
	}
	b[off] = '\0';
	*buf = b;
	*len = off;
out:
	close(fd);
	return err;
}

/* Eight bytes a step (a byte-wise hash, FNV's, takes a multiply per byte: 10 ms of the
 * 6.5 MB file of 10,000 services). Not for adversaries: the manifests are the node's own. */
uint64_t mdoc_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

/* buf[i..] starts with a document start marker: "---" then a blank or the line's end. */
static bool doc_start(const char *buf, size_t len, size_t i)
{
	return len - i >= 3 && !memcmp(buf + i, "---", 3) &&
	       (len - i == 3 || buf[i + 3] == ' ' || buf[i + 3] == '\t' || buf[i + 3] == '\r' ||
		buf[i + 3] == '\n');
}

static int push(struct mdoc **v, size_t *n, size_t *cap, size_t off, size_t len)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		void *p = realloc(*v, c * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = (struct mdoc){.off = off, .len = len};
	return 0;
}

int mdoc_split(const char *buf, size_t len, struct mdoc **out, size_t *n)
{
	struct mdoc *v = NULL;
	size_t cap = 0, start = 0, i = 0;
	bool whole = false;
	int err = 0;

	*out = NULL;
	*n = 0;
	/* JSON, as k8s_parse_stream tells it: the first character after a BOM and blanks */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	whole = i < len && (buf[i] == '{' || buf[i] == '[');
	for (i = 0; !whole && i < len;) {
		const char *nl;

		if (buf[i] == '%') {
			whole = true;
			break;
		}
		if (i > start && doc_start(buf, len, i)) {
			err = push(&v, n, &cap, start, i - start);
			if (err)
				break;
			start = i;
		}
		nl = memchr(buf + i, '\n', len - i);
		i = nl ? (size_t)(nl - buf) + 1 : len;
	}
	if (!err && whole) {
		*n = 0;
		start = 0;
	}
	if (!err)
		err = push(&v, n, &cap, start, len - start);
	if (err) {
		free(v);
		*n = 0;
		return err;
	}
	for (size_t k = 0; k < *n; k++)
		v[k].hash = mdoc_hash(buf + v[k].off, v[k].len);
	*out = v;
	return 0;
}
