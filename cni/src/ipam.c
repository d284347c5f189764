/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam: the built-in allocator's state file and its lock (see ipam.h).
 */
#include "fsutil.h"
#include "ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define STATE_MAGIC   "drover-cni-ipam"
#define STATE_VERSION 1

static uint32_t mask_of(int prefixlen)
{
	return prefixlen ? ~0u << (32 - prefixlen) : 0;
}

int ipam_parse_prefix(const char *s, uint32_t *addr, int *prefixlen)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	long len;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || len < 0 || len > 32)
		return -EINVAL;
	*addr = ntohl(a.s_addr);
	*prefixlen = (int)len;
	return 0;
}

int ipam_parse_cidr(const char *s, uint32_t *net, int *prefixlen)
{
	uint32_t a;
	int len;

	if (ipam_parse_prefix(s, &a, &len) || (a & ~mask_of(len)))
		return -EINVAL;
	*net = a;
	*prefixlen = len;
	return 0;
}

void ipam_fmt_addr(uint32_t addr, char buf[16])
{
	struct in_addr a = {.s_addr = htonl(addr)};

	inet_ntop(AF_INET, &a, buf, 16);
}

static int parse_addr(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* first and last address a pod may get */
static uint32_t first_host(const struct ipam *p)
{
	return p->net + 2;
}

static uint32_t last_host(const struct ipam *p)
{
	return (p->net | ~mask_of(p->prefixlen)) - 1;
}

uint32_t ipam_gateway(const struct ipam *p)
{
	return p->net + 1;
}

static bool valid_token(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int push(struct ipam *p, uint32_t addr, const char *id, const char *ifname)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct ipam_entry *e = realloc(p->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		p->e = e;
		p->cap = cap;
	}
	p->e[p->n].addr = addr;
	snprintf(p->e[p->n].id, sizeof(p->e[p->n].id), "%s", id);
	snprintf(p->e[p->n].ifname, sizeof(p->e[p->n].ifname), "%s", ifname);
	p->n++;
	return 0;
}

static struct ipam_entry *by_addr(const struct ipam *p, uint32_t addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].addr == addr)
			return &p->e[i];
	return NULL;
}

/* Parse the state file's text. 0, or -EBADMSG / -ESTALE with err filled. */
static int load(struct ipam *p, FILE *f, const char *path, char *err, size_t errlen)
{
	char line[IPAM_ID_MAX + 64], subnet[32], cur[32], last[32];
	unsigned lineno = 1;
	uint32_t net;
	int plen, version;

	if (!fgets(line, sizeof(line), f))
		return 0; /* an empty file: a fresh network (created, never written) */
	if (sscanf(line, STATE_MAGIC " %d %31s last=%31s", &version, subnet, last) != 3 ||
	    version != STATE_VERSION || ipam_parse_cidr(subnet, &net, &plen) ||
	    parse_addr(last, &p->last)) {
		seterr(err, errlen,
		       "corrupt IPAM state file %s: line 1: not a " STATE_MAGIC " %d header", path,
		       STATE_VERSION);
		return -EBADMSG;
	}
	if (net != p->net || plen != p->prefixlen) {
		ipam_fmt_addr(p->net, cur);
		seterr(err, errlen,
		       "IPAM state file %s is for subnet %s, the configuration names %s/%d", path,
		       subnet, cur, p->prefixlen);
		return -ESTALE;
	}
	while (fgets(line, sizeof(line), f)) {
		char a[32], id[IPAM_ID_MAX], ifname[IPAM_IFNAME_MAX], extra[2];
		uint32_t addr;
		size_t len = strlen(line);

		lineno++;
		if (!len || line[len - 1] != '\n') {
			seterr(err, errlen,
			       "corrupt IPAM state file %s: line %u: truncated or too long", path,
			       lineno);
			return -EBADMSG;
		}
		if (sscanf(line, "%31s %255s %15s %1s", a, id, ifname, extra) != 3 ||
		    parse_addr(a, &addr)) {
			seterr(err, errlen,
			       "corrupt IPAM state file %s: line %u: not \"ADDRESS CONTAINERID "
			       "IFNAME\"",
			       path, lineno);
			return -EBADMSG;
		}
		if (addr < first_host(p) || addr > last_host(p)) {
			seterr(err, errlen,
			       "corrupt IPAM state file %s: line %u: %s is not a pod address of %s",
			       path, lineno, a, subnet);
			return -EBADMSG;
		}
		if (by_addr(p, addr)) {
			seterr(err, errlen,
			       "corrupt IPAM state file %s: line %u: %s allocated twice", path,
			       lineno, a);
			return -EBADMSG;
		}
		if (push(p, addr, id, ifname))
			return -ENOMEM;
	}
	if (ferror(f)) {
		int e = errno;

		seterr(err, errlen, "read %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

struct ipam *ipam_open(const char *dir, uint32_t net, int prefixlen, char *err, size_t errlen)
{
	struct ipam *p;
	char path[4096];
	FILE *f;
	int r;

	if (prefixlen < 8 || prefixlen > 30 || (net & ~mask_of(prefixlen))) {
		seterr(err, errlen, "IPAM subnet must be a network of /8 to /30");
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->dir = strdup(dir))) {
		free(p);
		seterr(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p->lock_fd = -1;
	p->net = net;
	p->prefixlen = prefixlen;
	p->last = net + 1;
	r = fs_mkdir_p(dir, 0700, NULL);
	if (r) {
		seterr(err, errlen, "create IPAM directory %s: %s", dir, strerror(-r));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/lock", dir);
	p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0) {
		r = -errno;
		seterr(err, errlen, "open %s: %s", path, strerror(-r));
		goto fail;
	}
	while (flock(p->lock_fd, LOCK_EX)) {
		if (errno != EINTR) {
			r = -errno;
			seterr(err, errlen, "lock %s: %s", path, strerror(-r));
			goto fail;
		}
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return p;
		r = -errno;
		seterr(err, errlen, "open %s: %s", path, strerror(-r));
		goto fail;
	}
	r = load(p, f, path, err, errlen);
	fclose(f);
	if (r == -ENOMEM)
		seterr(err, errlen, "out of memory");
	if (!r)
		return p;
fail:
	ipam_abort(p);
	errno = -r;
	return NULL;
}

static int store(struct ipam *p)
{
	char tmp[4096], path[4096], a[16];
	FILE *f;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/state", p->dir);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", p->dir); /* only the lock holder writes it */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	ipam_fmt_addr(p->net, a);
	fprintf(f, STATE_MAGIC " %d %s/%d ", STATE_VERSION, a, p->prefixlen);
	ipam_fmt_addr(p->last, a);
	fprintf(f, "last=%s\n", a);
	for (size_t i = 0; i < p->n; i++) {
		ipam_fmt_addr(p->e[i].addr, a);
		fprintf(f, "%s %s %s\n", a, p->e[i].id, p->e[i].ifname);
	}
	if (fflush(f) || fsync(fd))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

int ipam_close(struct ipam *p)
{
	int r = 0;

	if (!p)
		return 0;
	if (p->dirty)
		r = store(p);
	ipam_abort(p);
	return r;
}

void ipam_abort(struct ipam *p)
{
	if (!p)
		return;
	if (p->lock_fd >= 0)
		close(p->lock_fd); /* drops the flock */
	free(p->e);
	free(p->dir);
	free(p);
}

int ipam_lookup(const struct ipam *p, const char *id, const char *ifname, uint32_t *addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].id, id) && !strcmp(p->e[i].ifname, ifname)) {
			*addr = p->e[i].addr;
			return 0;
		}
	return -ENOENT;
}

int ipam_alloc(struct ipam *p, const char *id, const char *ifname, uint32_t *addr, bool *fresh)
{
	uint32_t lo = first_host(p), hi = last_host(p), a;
	uint64_t span = (uint64_t)hi - lo + 1;
	int r;

	if (!valid_token(id, IPAM_ID_MAX) || !valid_token(ifname, IPAM_IFNAME_MAX))
		return -EINVAL;
	*fresh = false;
	if (!ipam_lookup(p, id, ifname, addr))
		return 0;
	a = p->last;
	for (uint64_t k = 0; k < span; k++) {
		a = (a >= hi || a < lo) ? lo : a + 1;
		if (by_addr(p, a))
			continue;
		r = push(p, a, id, ifname);
		if (r)
			return r;
		p->last = a;
		p->dirty = true;
		*addr = a;
		*fresh = true;
		return 0;
	}
	return -ENOSPC;
}

void ipam_release_at(struct ipam *p, size_t i)
{
	if (i >= p->n)
		return;
	p->e[i] = p->e[--p->n];
	p->dirty = true;
}

int ipam_release(struct ipam *p, const char *id, const char *ifname)
{
	int n = 0;

	for (size_t i = p->n; i-- > 0;)
		if (!strcmp(p->e[i].id, id) && !strcmp(p->e[i].ifname, ifname)) {
			ipam_release_at(p, i);
			n++;
		}
	return n;
}

size_t ipam_free_count(const struct ipam *p)
{
	return (size_t)((uint64_t)last_host(p) - first_host(p) + 1) - p->n;
}
