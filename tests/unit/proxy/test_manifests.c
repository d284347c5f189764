/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manifests source (source_manifests.c) against files that cannot be read whole: a read()
 * that fails part-way, a FIFO, a directory with a manifest's name.
 *
 * Test seam: this binary is linked with -Wl,--wrap=read (tests/unit/proxy/CMakeLists.txt), so
 * every read() of the proxy's code goes through __wrap_read below. For the one file named by
 * inject_cut() it returns the file's bytes up to a cut, then fails with EIO, as a disk error
 * in the middle of a file does; every other read() is the real one. No file system makes such
 * an error on demand without root and a device of its own, hence the seam.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest_docs.h"
#include "model.h"
#include "source.h"

/* ---------- the seam ---------- */

static struct {
	bool on;
	dev_t dev;
	ino_t ino;
	off_t cut;
	unsigned failures; /* reads failed so far */
	size_t chunk;	   /* when not 0: every read of a regular file returns at most this */
} inj;

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	struct stat st;

	if (inj.chunk && n > inj.chunk && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = inj.chunk;
	if (inj.on && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == inj.dev &&
	    st.st_ino == inj.ino) {
		off_t pos = lseek(fd, 0, SEEK_CUR);

		if (pos >= inj.cut) {
			inj.failures++;
			errno = EIO;
			return -1;
		}
		if ((off_t)n > inj.cut - pos)
			n = (size_t)(inj.cut - pos);
	}
	return __real_read(fd, buf, n);
}

/* Reads of path (the file there now) return its first cut bytes, then fail with EIO. */
static void inject_cut(const char *path, off_t cut)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(cut > 0 && cut < st.st_size);
	inj.dev = st.st_dev;
	inj.ino = st.st_ino;
	inj.cut = cut;
	inj.failures = 0;
	inj.on = true;
}

/* ---------- helpers ---------- */

struct fixture {
	char dir[64];
	char path[128]; /* dir/a.yaml */
	struct proxy_model *m;
	struct proxy_source *src;
};

static const char *service(const char *name, const char *ip)
{
	static char buf[4][256];
	static int i;
	char *b = buf[i++ % 4];

	snprintf(b, sizeof(buf[0]),
		 "apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\n"
		 "spec: {clusterIP: %s, ports: [{port: 80, targetPort: 8080}]}\n",
		 name, ip);
	return b;
}

/* Write path atomically (as an editor or kubectl-style tool does: rename over it). */
static void write_file(const char *path, const char *text)
{
	char tmp[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

/* Three services in a.yaml; returns the offset where the third document starts. */
static off_t write_three(const char *path, const char *ip1)
{
	char text[1024];
	int at;

	at = snprintf(text, sizeof(text), "%s---\n%s---\n", service("s1", ip1),
		      service("s2", "10.96.0.2"));
	snprintf(text + at, sizeof(text) - (size_t)at, "%s", service("s3", "10.96.0.3"));
	write_file(path, text);
	return at;
}

/* The clusterIP the model holds for service name, or 0 when it has no such service. */
static uint32_t cluster_ip(struct proxy_model *m, const char *name)
{
	struct lb_frontend *fes;
	size_t n;
	uint32_t ip;
	int rc = model_service_frontends(m, "default", name, &fes, &n);

	if (rc == -ENOENT)
		return 0;
	assert_int_equal(rc, 0);
	assert_int_equal(n, 1);
	ip = fes[0].key.addr;
	model_frontends_free(fes, n);
	return ip;
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	memset(&inj, 0, sizeof(inj));
	snprintf(f.dir, sizeof(f.dir), "/tmp/drover-manifests-XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	snprintf(f.path, sizeof(f.path), "%s/a.yaml", f.dir);
	f.m = model_new(NULL, NULL);
	*state = &f;
	return f.m ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	inj.on = false;
	source_free(f->src);
	model_free(f->m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Wait (generously) until the source's descriptor has a change to dispatch. */
static void wait_change(struct proxy_source *src)
{
	struct pollfd p = {.fd = src->ops->fd(src), .events = POLLIN};

	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, 60000), 1);
}

/* ---------- tests ---------- */

/* At start-up a manifest whose read fails after two of its three services is not applied at
 * all: start fails (the proxy then exits 1 before touching the kernel), the model is empty. */
static void test_start_read_error_applies_nothing(void **state)
{
	struct fixture *f = *state;
	struct source_delta d = {.changed = true};
	off_t third = write_three(f->path, "10.96.0.1");
	char other[160];

	snprintf(other, sizeof(other), "%s/b.yaml", f->dir);
	write_file(other, service("s4", "10.96.0.4"));
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	inject_cut(f->path, third);
	assert_int_equal(f->src->ops->start(f->src, f->m, &d), -EIO);
	assert_false(f->src->ops->synced(f->src));
	assert_true(inj.failures > 0);
	assert_false(d.changed);
	assert_int_equal(cluster_ip(f->m, "s1"), 0);
	assert_int_equal(cluster_ip(f->m, "s2"), 0);
	assert_int_equal(cluster_ip(f->m, "s3"), 0);
	assert_int_equal(cluster_ip(f->m, "s4"), 0);
}

/* A manifest's nodePort must lie in the NodePort range, as the API server would check it
 * (one of 22 would take the node's SSH port): the manifest is refused with kube-apiserver's
 * message, nothing applied; with a range that holds it, it is taken. */
static void test_nodeport_outside_range_refused(void **state)
{
	struct fixture *f = *state;
	struct source_delta d = {.changed = false};
	const char *np =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: ssh, namespace: default}\n"
	    "spec: {type: NodePort, clusterIP: 10.96.0.9, ports: [{name: a, port: 80}, "
	    "{name: b, port: 81, nodePort: 22}]}\n";
	struct lb_frontend *fes;
	char other[160];
	size_t n;

	write_file(f->path, np);
	snprintf(other, sizeof(other), "%s/b.yaml", f->dir);
	write_file(other, service("s4", "10.96.0.4"));
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->start(f->src, f->m, &d), -EINVAL);
	assert_false(d.changed);
	assert_int_equal(cluster_ip(f->m, "ssh"), 0);
	assert_int_equal(cluster_ip(f->m, "s4"), 0);
	source_free(f->src);

	f->src = source_manifests_new(f->dir, 1, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->start(f->src, f->m, &d), 0);
	assert_int_equal(model_service_frontends(f->m, "default", "ssh", &fes, &n), 0);
	assert_int_equal(n, 3); /* two ClusterIP ports and the nodePort */
	model_frontends_free(fes, n);
	assert_int_equal(cluster_ip(f->m, "s4"), ip4("10.96.0.4"));
}

/* A service with loadBalancerSourceRanges edited while running: the reload keeps a copy of
 * the last good objects (service_dup), which must own its ranges (a shared array was freed
 * twice: the proxy aborted on the first edit of such a service). Run under ASan too. */
static void test_reload_source_ranges(void **state)
{
	struct fixture *f = *state;
	struct source_delta d;
	const char *fmt =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: lb, namespace: default}\n"
	    "spec: {type: LoadBalancer, clusterIP: 10.96.0.9, "
	    "loadBalancerSourceRanges: [%s], ports: [{port: 80, nodePort: 30009}]}\n";
	struct lb_frontend *fes;
	char text[512];
	size_t n;

	snprintf(text, sizeof(text), fmt, "10.0.0.0/8, 192.168.0.0/16");
	write_file(f->path, text);
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->start(f->src, f->m, &d), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), fmt,
			 i % 2 ? "10.0.0.0/8" : "172.16.0.0/12, 10.0.0.0/8");
		write_file(f->path, text);
		wait_change(f->src);
		d.changed = false;
		assert_int_equal(f->src->ops->dispatch(f->src, f->m, &d), 0);
		assert_true(d.changed);
	}
	assert_int_equal(model_service_frontends(f->m, "default", "lb", &fes, &n), 0);
	assert_int_equal(n, 2); /* ClusterIP and NodePort (no LoadBalancer IP in its status) */
	model_frontends_free(fes, n);
}

/* While running, a reload (SIGHUP's and a file-change dispatch) that cannot read a file
 * to its end applies nothing: the previous state stays, the services after the cut too. Once
 * the file reads again, the edit applies. */
static void test_reload_read_error_keeps_state(void **state)
{
	struct fixture *f = *state;
	struct source_delta d;
	off_t third;

	write_three(f->path, "10.96.0.1");
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->start(f->src, f->m, &d), 0);
	assert_true(f->src->ops->synced(f->src));
	assert_true(d.changed);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));

	/* The edit changes s1; the read fails where s3 begins. */
	third = write_three(f->path, "10.96.1.1");
	inject_cut(f->path, third);
	wait_change(f->src);
	d.changed = true;
	assert_int_equal(f->src->ops->dispatch(f->src, f->m, &d), -EIO);
	assert_true(inj.failures > 0);
	assert_false(d.changed);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(cluster_ip(f->m, "s2"), ip4("10.96.0.2"));
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));

	/* SIGHUP's full reload, the read still failing. */
	inj.failures = 0;
	d.changed = true;
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), -EIO);
	assert_true(inj.failures > 0);
	assert_false(d.changed);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));

	/* The disk recovers: the edit applies, nothing else moves. */
	inj.on = false;
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_true(d.changed);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.1.1"));
	assert_int_equal(cluster_ip(f->m, "s2"), ip4("10.96.0.2"));
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));
}

/* A FIFO with a manifest's name is refused at once (reading it would block the proxy until a
 * writer came, then take whatever it wrote as the whole file); the rest stays applied. */
static void test_fifo_refused(void **state)
{
	struct fixture *f = *state;
	char fifo[160];
	struct source_delta d;

	write_three(f->path, "10.96.0.1");
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	snprintf(fifo, sizeof(fifo), "%s/pipe.yaml", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	d.changed = true;
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), -EINVAL);
	assert_false(d.changed);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));
}

/* A subdirectory whose name ends in .yaml is not a manifest: skipped, as kubectl -f DIR does
 * without --recursive. */
static void test_subdirectory_skipped(void **state)
{
	struct fixture *f = *state;
	char sub[160];
	struct source_delta d;

	write_three(f->path, "10.96.0.1");
	snprintf(sub, sizeof(sub), "%s/sub.yaml", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_int_equal(cluster_ip(f->m, "s2"), ip4("10.96.0.2"));
}

/* A file that arrives in short reads is read to its end. */
static void test_large_file_read_whole(void **state)
{
	struct fixture *f = *state;
	size_t cap = 400 * 256, at = 0;
	char *text = malloc(cap);
	struct source_delta d;

	assert_non_null(text);
	for (int i = 0; i < 300; i++) {
		char name[16], ip[32];

		snprintf(name, sizeof(name), "s%d", i + 1);
		snprintf(ip, sizeof(ip), "10.96.%d.%d", i / 200, i % 200 + 1);
		at += (size_t)snprintf(text + at, cap - at, "---\n%s", service(name, ip));
	}
	write_file(f->path, text);
	free(text);
	inj.chunk = 100;
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(cluster_ip(f->m, "s300"), ip4("10.96.1.100"));
}

/* The services s1..s3 as three documents of a.yaml, with s1 and s2 at these addresses; s3's
 * port is port3 (as text, so that it can be made invalid). */
static void write_docs(const char *path, const char *ip1, const char *ip2, const char *port3)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "%s---\n%s---\napiVersion: v1\nkind: Service\nmetadata: {name: s3, namespace: "
		 "default}\nspec: {clusterIP: 10.96.0.3, ports: [{port: %s}]}\n",
		 service("s1", ip1), service("s2", ip2), port3);
	write_file(path, text);
}

static void dispatch_change(struct fixture *f, struct source_delta *d, int want)
{
	wait_change(f->src);
	memset(d, 0, sizeof(*d));
	assert_int_equal(f->src->ops->dispatch(f->src, f->m, d), want);
}

/* An edit of one document inside a file decodes that document only; the others come from
 * the last applied version's records. A file made invalid still applies nothing (also its
 * valid edit), and leaves the records as they were; two copies of one document are a
 * duplicate, as when each is decoded. */
static void test_unchanged_documents_not_decoded(void **state)
{
	struct fixture *f = *state;
	struct source_delta d = {0};
	char text[2048];

	write_docs(f->path, "10.96.0.1", "10.96.0.2", "80");
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->start(f->src, f->m, &d), 0);
	assert_int_equal(d.cost.docs, 3);
	assert_int_equal(d.cost.docs_decoded, 3);

	/* s2 edited: one document decoded, one service changed */
	write_docs(f->path, "10.96.0.1", "10.96.1.2", "80");
	dispatch_change(f, &d, 0);
	assert_true(d.changed);
	assert_int_equal(d.cost.docs, 3);
	assert_int_equal(d.cost.docs_decoded, 1);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(cluster_ip(f->m, "s2"), ip4("10.96.1.2"));
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));

	/* s1 edited and s3 made invalid: nothing applied */
	write_docs(f->path, "10.96.1.1", "10.96.1.2", "x");
	dispatch_change(f, &d, -EINVAL);
	assert_false(d.changed);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));

	/* s3 valid again: s1's edit applies, measured against the last applied version */
	write_docs(f->path, "10.96.1.1", "10.96.1.2", "80");
	dispatch_change(f, &d, 0);
	assert_true(d.changed);
	assert_int_equal(d.cost.docs_decoded, 1);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.1.1"));
	assert_int_equal(cluster_ip(f->m, "s2"), ip4("10.96.1.2"));

	/* s2's unchanged document twice: a duplicate, refused */
	snprintf(text, sizeof(text), "%s---\n%s---\n%s", service("s1", "10.96.1.1"),
		 service("s2", "10.96.1.2"), service("s2", "10.96.1.2"));
	write_file(f->path, text);
	dispatch_change(f, &d, -EINVAL);
	assert_false(d.changed);
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));

	/* an unchanged file: nothing decoded, nothing changed */
	write_docs(f->path, "10.96.1.1", "10.96.1.2", "80");
	dispatch_change(f, &d, 0);
	assert_false(d.changed);
	assert_int_equal(d.cost.docs_decoded, 0);
	assert_int_equal(d.cost.docs, 3);
}

/* s1's EndpointSlice e1 with one endpoint. */
static const char *slice(const char *ip)
{
	static char buf[2][320];
	static int i;
	char *b = buf[i++ % 2];

	snprintf(b, sizeof(buf[0]),
		 "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e1, "
		 "namespace: default, labels: {kubernetes.io/service-name: s1}}\naddressType: "
		 "IPv4\nendpoints: [{addresses: [%s]}]\nports: [{port: 8080}]\n",
		 ip);
	return b;
}

/* An object defined in two files is refused whether its document is unchanged or decoded,
 * whichever file is read first, on a change of one file and on a full reload (slices: no
 * frontend conflict check stands behind); a refused reload leaves the records as they were,
 * so that the next one decodes only what changed since the last applied version. */
static void test_duplicates_across_files(void **state)
{
	struct fixture *f = *state;
	struct source_delta d = {0};
	char a[2048], b[160];

	snprintf(b, sizeof(b), "%s/b.yaml", f->dir);
	snprintf(a, sizeof(a), "%s---\n%s", service("s1", "10.96.0.1"), slice("10.244.0.1"));
	write_file(f->path, a);
	write_file(b, service("s3", "10.96.0.3"));
	f->src = source_manifests_new(f->dir, 30000, 32767);
	assert_non_null(f->src);
	assert_int_equal(f->src->ops->start(f->src, f->m, &d), 0);

	/* b (read after a) gets e1, decoded, while a's e1 is unchanged */
	snprintf(a, sizeof(a), "%s---\n%s", service("s3", "10.96.0.3"), slice("10.244.0.2"));
	write_file(b, a);
	dispatch_change(f, &d, -EINVAL);
	memset(&d, 0, sizeof(d));
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), -EINVAL);

	/* e1 moves to b: valid; only that document is decoded */
	write_file(f->path, service("s1", "10.96.0.1"));
	memset(&d, 0, sizeof(d));
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_int_equal(d.cost.docs, 3);
	assert_int_equal(d.cost.docs_decoded, 1);

	/* a (read first) gets e1, decoded, while b's e1 is unchanged */
	snprintf(a, sizeof(a), "%s---\n%s", service("s1", "10.96.0.1"), slice("10.244.0.3"));
	write_file(f->path, a);
	memset(&d, 0, sizeof(d));
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), -EINVAL);

	/* a as it was: nothing decoded, nothing changed (the refusals left no mark) */
	write_file(f->path, service("s1", "10.96.0.1"));
	memset(&d, 0, sizeof(d));
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_false(d.changed);
	assert_int_equal(d.cost.docs, 3);
	assert_int_equal(d.cost.docs_decoded, 0);
	assert_int_equal(cluster_ip(f->m, "s1"), ip4("10.96.0.1"));
	assert_int_equal(cluster_ip(f->m, "s3"), ip4("10.96.0.3"));
}

/* How many pieces mdoc_split cuts text into. */
static size_t pieces(const char *text)
{
	struct mdoc *v;
	size_t n, at = 0;

	assert_int_equal(mdoc_split(text, strlen(text), &v, &n), 0);
	for (size_t i = 0; i < n; i++) { /* contiguous, covering the text */
		assert_int_equal(v[i].off, at);
		at += v[i].len;
	}
	assert_int_equal(at, strlen(text));
	free(v);
	return n;
}

/* Cuts only before a document start marker; none in JSON or after a directive. */
static void test_split_documents(void **state)
{
	(void)state;
	assert_int_equal(pieces(""), 1);
	assert_int_equal(pieces("a: 1\n"), 1);
	assert_int_equal(pieces("---\na: 1\n"), 1);
	assert_int_equal(pieces("a: 1\n---\nb: 2\n--- # c\nc: 3\n---"), 4);
	assert_int_equal(pieces("a: 1\r\n---\r\nb: 2\r\n"), 2);
	/* not markers: indented, or followed by more than a blank */
	assert_int_equal(pieces("a: |\n  ---\n  x\nb: ---x\n---x: 1\n"), 1);
	assert_int_equal(pieces("--- |\n  text\n---\nb: 2\n"), 2);
	/* JSON (also after a BOM and blanks), directives: whole */
	assert_int_equal(pieces("\xef\xbb\xbf \n{\"a\": 1}\n---\n{}"), 1);
	assert_int_equal(pieces("a: 1\n---\n%YAML 1.1\n---\nb: 2\n"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_start_read_error_applies_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_read_error_keeps_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nodeport_outside_range_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_source_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_subdirectory_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_file_read_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unchanged_documents_not_decoded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates_across_files, setup, teardown),
	    cmocka_unit_test(test_split_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
