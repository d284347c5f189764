/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_bench: load generator of scripts/bench.sh api. Keep-alive HTTPS clients (GnuTLS,
 * bearer token) against drover server:
 *   ops    --op create|update|get|list --clients N --seconds S [--table] [--pods N]
 *          requests/s and latency percentiles of one verb (one connection per client);
 *   prepare --pods N: create N pods (64 clients) for the reads to find;
 *   watch  --watchers W --rate R --seconds S [--kubelets]: W watch streams of the namespace's
 *          pods, one writer updating pods at R/s with its send time in an annotation; delivery
 *          latency from the write sent and from the write acknowledged. --kubelets: each
 *          watcher i is a kubelet (fieldSelector=spec.nodeName=node-i) and the writer creates
 *          a pod and binds it to node-(n mod W), R bindings/s: each reaches one watcher.
 *          W 0: the writer alone (the server's CPU per write, to take out of the watchers').
 *          The streams are read by --readers threads (2: the machine's cores);
 * Lists read their (chunked) body as it streams and keep none of it, as a decoder that takes
 * items as they come would (--keep-body: each client keeps the whole body, growing a buffer
 * per response as the first version of this client did). Each run prints one JSON object. The pod is a Deployment's pod as kubectl apply leaves
 * it: one container with ports, resources and probes, managedFields, about 2 KiB of JSON.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static const char *host = "127.0.0.1";
static int port;
static char token[4096]; /* a ServiceAccount JWT is ~1 KiB */
static int server_pid;	 /* --server-pid: its CPU time is read around the measured watch window */
static char ns[64] = "bench";
static gnutls_certificate_credentials_t cred;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the pod ---- */

static const char pod_tmpl[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"generateName\":"
    "\"web-7d9c6b5f8-\",\"namespace\":\"%s\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":"
    "\"7d9c6b5f8\"},\"annotations\":{\"bench/t\":\"%s\"},\"ownerReferences\":[{\"apiVersion\":"
    "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7d9c6b5f8\",\"uid\":"
    "\"0b9a7c1e-2f33-4d55-8e6a-1c2b3d4e5f60\",\"controller\":true,\"blockOwnerDeletion\":true}],"
    "\"managedFields\":[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\","
    "\"apiVersion\":\"v1\",\"time\":\"2024-05-01T10:00:00Z\",\"fieldsType\":\"FieldsV1\","
    "\"fieldsV1\":{\"f:metadata\":{\"f:generateName\":{},\"f:labels\":{\".\":{},\"f:app\":{},"
    "\"f:pod-template-hash\":{}},\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":\\\"0b9a7c1e-"
    "2f33-4d55-8e6a-1c2b3d4e5f60\\\"}\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":"
    "\\\"web\\\"}\":{\".\":{},\"f:image\":{},\"f:imagePullPolicy\":{},\"f:name\":{},\"f:ports\":{"
    "\".\":{},\"k:{\\\"containerPort\\\":8080,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},"
    "\"f:containerPort\":{},\"f:name\":{},\"f:protocol\":{}}},\"f:resources\":{\".\":{},"
    "\"f:limits\":{\".\":{},\"f:cpu\":{},\"f:memory\":{}},\"f:requests\":{\".\":{},\"f:cpu\":{},"
    "\"f:memory\":{}}}}},\"f:dnsPolicy\":{},\"f:restartPolicy\":{}}}}]},\"spec\":{\"containers\":"
    "[{\"name\":\"web\",\"image\":\"registry.example/web:1.4.2\",\"ports\":[{\"name\":\"http\","
    "\"containerPort\":8080,\"protocol\":\"TCP\"}],\"resources\":{\"limits\":{\"cpu\":\"500m\","
    "\"memory\":\"256Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},"
    "\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":8080,\"scheme\":\"HTTP\"},"
    "\"initialDelaySeconds\":5,\"timeoutSeconds\":1,\"periodSeconds\":10,\"successThreshold\":1,"
    "\"failureThreshold\":3},\"readinessProbe\":{\"httpGet\":{\"path\":\"/ready\",\"port\":8080,"
    "\"scheme\":\"HTTP\"},\"timeoutSeconds\":1,\"periodSeconds\":5,\"successThreshold\":1,"
    "\"failureThreshold\":3},\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}],"
    "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":"
    "\"ClusterFirst\",\"serviceAccountName\":\"default\",\"securityContext\":{},"
    "\"schedulerName\":\"default-scheduler\",\"enableServiceLinks\":true}}";

static int pod_json(char *buf, size_t size, const char *name, const char *stamp)
{
	return snprintf(buf, size, pod_tmpl, name, ns, stamp);
}

/* ---- connections ---- */

struct conn {
	int fd;
	gnutls_session_t s;
	char *buf;
	size_t len, cap, off;
	char *body; /* a chunked response's body, de-chunked */
	size_t body_len, body_cap;
	bool sink;    /* count a chunked body's bytes, keep none (body stays NULL) */
	char tail[2]; /* its last two bytes */
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, ret;

	memset(c, 0, sizeof(*c));
	inet_pton(AF_INET, host, &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	gnutls_init(&c->s, GNUTLS_CLIENT);
	gnutls_set_default_priority(c->s);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(c->s, c->fd);
	do
		ret = gnutls_handshake(c->s);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		fprintf(stderr, "handshake: %s\n", gnutls_strerror(ret));
		return -1;
	}
	c->cap = 1 << 16;
	c->buf = malloc(c->cap);
	return c->buf ? 0 : -1;
}

static void conn_close(struct conn *c)
{
	if (c->s) {
		gnutls_bye(c->s, GNUTLS_SHUT_WR);
		gnutls_deinit(c->s);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->body);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int send_all(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = gnutls_record_send(c->s, p, n);

		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more into the buffer (blocking). */
static int fill(struct conn *c)
{
	ssize_t r;

	if (c->off && c->off == c->len)
		c->off = c->len = 0;
	if (c->len == c->cap) {
		if (c->off) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		} else {
			char *nb = realloc(c->buf, c->cap * 2);

			if (!nb)
				return -1;
			c->buf = nb;
			c->cap *= 2;
		}
	}
	do
		r = gnutls_record_recv(c->s, c->buf + c->len, c->cap - c->len);
	while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	return 0;
}

static const char *last_body; /* body of the last response (valid until the next read) */

/* One request; returns the HTTP status (or -1), the body length in *blen. */
/* The next line ("\r\n"-terminated) at c->off: its length, the terminator consumed too. */
static int read_line(struct conn *c, size_t *len)
{
	char *e;

	while (!(e = c->len > c->off ? memmem(c->buf + c->off, c->len - c->off, "\r\n", 2) : NULL))
		if (fill(c) != 0)
			return -1;
	*len = (size_t)(e - (c->buf + c->off));
	return 0;
}

/* A chunked body into c->body (streamed lists and watches are chunked). */
static int read_chunked(struct conn *c)
{
	c->body_len = 0;
	for (;;) {
		size_t line, size;

		if (read_line(c, &line) != 0)
			return -1;
		size = strtoul(c->buf + c->off, NULL, 16);
		c->off += line + 2;
		if (!size)
			return read_line(c, &line) == 0 ? (c->off += line + 2, 0) : -1;
		if (c->sink) {
			/* as it comes: nothing kept but the count and the last bytes */
			for (size_t left = size; left;) {
				size_t k;

				if (c->off == c->len && fill(c) != 0)
					return -1;
				k = c->len - c->off < left ? c->len - c->off : left;
				if (k >= 2) {
					memcpy(c->tail, c->buf + c->off + k - 2, 2);
				} else {
					c->tail[0] = c->tail[1];
					c->tail[1] = c->buf[c->off];
				}
				c->off += k;
				c->body_len += k;
				left -= k;
			}
			while (c->len - c->off < 2)
				if (fill(c) != 0)
					return -1;
			c->off += 2;
			continue;
		}
		if (c->body_len + size + 1 > c->body_cap) {
			size_t cap = c->body_cap ? c->body_cap : 65536;
			char *nb;

			while (cap < c->body_len + size + 1)
				cap *= 2;
			nb = realloc(c->body, cap);
			if (!nb)
				return -1;
			c->body = nb;
			c->body_cap = cap;
		}
		while (c->len - c->off < size + 2)
			if (fill(c) != 0)
				return -1;
		memcpy(c->body + c->body_len, c->buf + c->off, size);
		c->body_len += size;
		c->body[c->body_len] = 0;
		c->off += size + 2;
	}
}

static int request(struct conn *c, const char *method, const char *path, const char *ctype,
		   const char *body, size_t len, const char *accept, size_t *blen)
{
	char hdr[5120];
	int n = snprintf(hdr, sizeof(hdr),
			 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
			 "Accept: %s\r\nUser-Agent: api_bench\r\n%s%s%sContent-Length: %zu\r\n\r\n",
			 method, path, host, port, token, accept ? accept : "application/json",
			 ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
			 body ? len : 0);
	char *end, *cl;
	size_t hlen, want;
	int status;

	if (send_all(c, hdr, (size_t)n) != 0 || (body && send_all(c, body, len) != 0))
		return -1;
	for (;;) {
		c->buf[c->len < c->cap ? c->len : c->cap - 1] = 0;
		end = c->len > c->off ? memmem(c->buf + c->off, c->len - c->off, "\r\n\r\n", 4)
				      : NULL;
		if (end)
			break;
		if (fill(c) != 0)
			return -1;
	}
	hlen = (size_t)(end + 4 - (c->buf + c->off));
	status = atoi(c->buf + c->off + 9);
	*end = 0;
	if (strcasestr(c->buf + c->off, "Transfer-Encoding: chunked")) {
		c->off += hlen;
		if (read_chunked(c) != 0)
			return -1;
		last_body = c->body;
		if (blen)
			*blen = c->body_len;
		return status;
	}
	cl = strcasestr(c->buf + c->off, "Content-Length:");
	want = cl ? strtoul(cl + 15, NULL, 10) : 0;
	c->off += hlen;
	while (c->len - c->off < want)
		if (fill(c) != 0)
			return -1;
	last_body = c->buf + c->off;
	c->off += want;
	if (blen)
		*blen = want;
	return status;
}

/* ---- percentiles ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	return (double)v[(size_t)(p * (double)(n - 1))] / 1000.0;
}

/* ---- ops ---- */

enum op { OP_CREATE, OP_UPDATE, OP_GET, OP_LIST };

static bool keep_body; /* --keep-body: lists keep each whole body */

struct worker {
	pthread_t th;
	int id;
	enum op op;
	uint64_t deadline;
	bool table;
	size_t pods;
	uint64_t *lat;
	size_t n, cap;
	size_t errors;
	uint64_t bytes;
};

static atomic_int run_id;

static void record(struct worker *w, uint64_t ns_)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		uint64_t *nl = realloc(w->lat, cap * sizeof(*nl));

		if (!nl)
			return;
		w->lat = nl;
		w->cap = cap;
	}
	w->lat[w->n++] = ns_;
}

static const char table_accept[] =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
    "g=meta.k8s.io,application/json";

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn c;
	char *body = malloc(8192), path[512], name[128], stamp[32];
	unsigned seed = (unsigned)w->id * 7919u + (unsigned)now_ns();
	size_t i = 0, blen;
	int rid = atomic_load(&run_id);

	if (!body || conn_open(&c) != 0) {
		fprintf(stderr, "worker %d: cannot connect\n", w->id);
		free(body);
		return NULL;
	}
	c.sink = w->op == OP_LIST && !keep_body;
	while (now_ns() < w->deadline) {
		uint64_t t0 = now_ns();
		int st = -1, len;

		switch (w->op) {
		case OP_CREATE:
			/* unique across runs and processes: trials repeat into one namespace */
			snprintf(name, sizeof(name), "c%d-%d-%d-%zu", (int)getpid(), rid, w->id, i);
			len = pod_json(body, 8192, name, "0");
			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
			st = request(&c, "POST", path, "application/json", body, (size_t)len, NULL,
				     &blen);
			st = st == 201 ? 200 : st;
			break;
		case OP_UPDATE:
			snprintf(name, sizeof(name), "p%zu",
				 (size_t)w->id % (w->pods ? w->pods : 1));
			snprintf(stamp, sizeof(stamp), "%zu", i);
			len = pod_json(body, 8192, name, stamp);
			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns, name);
			st = request(&c, "PUT", path, "application/json", body, (size_t)len, NULL,
				     &blen);
			break;
		case OP_GET:
			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/p%u", ns,
				 (unsigned)(rand_r(&seed) % (w->pods ? w->pods : 1)));
			st = request(&c, "GET", path, NULL, NULL, 0, NULL, &blen);
			break;
		case OP_LIST:
			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
			st = request(&c, "GET", path, NULL, NULL, 0, w->table ? table_accept : NULL,
				     &blen);
			w->bytes += blen;
			/* a whole list: it ends its items and itself */
			if (st == 200 && c.sink && memcmp(c.tail, "]}", 2) != 0)
				st = 500;
			break;
		}
		if (st < 0) {
			w->errors++;
			conn_close(&c);
			if (conn_open(&c) != 0)
				break;
			c.sink = w->op == OP_LIST && !keep_body;
			continue;
		}
		if (st != 200)
			w->errors++;
		else
			record(w, now_ns() - t0);
		i++;
	}
	conn_close(&c);
	free(body);
	return NULL;
}

static int run_ops(enum op op, int clients, double seconds, bool table, size_t pods,
		   const char *label)
{
	struct worker *w = calloc((size_t)clients, sizeof(*w));
	uint64_t *all, t0, t1;
	size_t total = 0, errors = 0, k = 0;
	uint64_t bytes = 0;
	static const char *const names[] = {"create", "update", "get", "list"};

	if (!w)
		return 1;
	atomic_fetch_add(&run_id, 1);
	t0 = now_ns();
	for (int i = 0; i < clients; i++) {
		w[i] = (struct worker){.id = i,
				       .op = op,
				       .table = table,
				       .pods = pods,
				       .deadline = t0 + (uint64_t)(seconds * 1e9)};
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
		errors += w[i].errors;
		bytes += w[i].bytes;
	}
	t1 = now_ns();
	all = malloc((total + 1) * sizeof(*all));
	for (int i = 0; i < clients; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	printf("{\"bench\":\"ops\",\"op\":\"%s\",\"label\":\"%s\",\"clients\":%d,\"table\":%s,"
	       "\"keep_body\":%s,\"pods\":%zu,\"ops\":%zu,\"errors\":%zu,\"seconds\":%.3f,"
	       "\"rate\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
	       "\"bytes_per_op\":%.0f}\n",
	       names[op], label, clients, table ? "true" : "false",
	       op == OP_LIST && keep_body ? "true" : "false", pods, total, errors,
	       (double)(t1 - t0) / 1e9, (double)total / ((double)(t1 - t0) / 1e9),
	       pct(all, total, 0.5), pct(all, total, 0.99),
	       total ? (double)all[total - 1] / 1e3 : 0, total ? (double)bytes / (double)total : 0);
	fflush(stdout);
	free(all);
	free(w);
	return 0;
}

/* ---- prepare: N pods named p0..pN-1 ---- */

struct prep {
	pthread_t th;
	size_t from, to;
	size_t errors, created, body_bytes;
};

static void *prep_main(void *arg)
{
	struct prep *p = arg;
	struct conn c;
	char *body = malloc(8192), path[256], name[64];

	if (!body || conn_open(&c) != 0) {
		free(body);
		p->errors = p->to - p->from;
		return NULL;
	}
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	for (size_t i = p->from; i < p->to; i++) {
		int len, st;

		snprintf(name, sizeof(name), "p%zu", i);
		len = pod_json(body, 8192, name, "0");
		st = request(&c, "POST", path, "application/json", body, (size_t)len, NULL, NULL);
		p->body_bytes = (size_t)len;
		if (st == 201)
			p->created++;
		else if (st != 409) /* 409: there already (an earlier prepare) */
			p->errors++;
		if (st < 0) {
			conn_close(&c);
			if (conn_open(&c) != 0)
				break;
		}
	}
	conn_close(&c);
	free(body);
	return NULL;
}

static int run_prepare(size_t pods)
{
	struct prep p[64];
	size_t per = (pods + 63) / 64, errors = 0, created = 0, body_bytes = 0;
	uint64_t t0 = now_ns();
	struct conn c;
	char body[256];
	int n;

	if (conn_open(&c) == 0) {
		n = snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", ns);
		request(&c, "POST", "/api/v1/namespaces", "application/json", body, (size_t)n, NULL,
			NULL);
		conn_close(&c);
	}
	for (int i = 0; i < 64; i++) {
		p[i] = (struct prep){.from = (size_t)i * per,
				     .to = (size_t)(i + 1) * per > pods ? pods
									: (size_t)(i + 1) * per};
		if (p[i].from > p[i].to)
			p[i].from = p[i].to;
		pthread_create(&p[i].th, NULL, prep_main, &p[i]);
	}
	for (int i = 0; i < 64; i++) {
		pthread_join(p[i].th, NULL);
		errors += p[i].errors;
		created += p[i].created;
		body_bytes = p[i].body_bytes > body_bytes ? p[i].body_bytes : body_bytes;
	}
	printf("{\"bench\":\"prepare\",\"pods\":%zu,\"created\":%zu,\"errors\":%zu,"
	       "\"seconds\":%.3f,\"body_bytes\":%zu}\n",
	       pods, created, errors, (double)(now_ns() - t0) / 1e9, body_bytes);
	fflush(stdout);
	return errors ? 1 : 0;
}

/* ---- watch ---- */

#define MAX_SEQ (1u << 20)

static uint64_t *sent_at, *acked_at; /* by sequence number */

/* A watch stream, de-chunked as it arrives: headers, then chunks whose data is a stream of
 * event lines (a chunk may end in the middle of an event). */
enum { WS_HEADERS, WS_SIZE, WS_DATA, WS_CRLF, WS_END };

struct watcher {
	struct conn c;
	size_t scan; /* start of the unparsed raw bytes */
	int state;
	size_t chunk_left;
	char *line; /* the event line being assembled */
	size_t line_len, line_cap;
	bool closed;
	size_t got;
	unsigned long idx; /* a kubelet's node: node-<idx> */
};

static unsigned long kubelets; /* watch --kubelets: the watchers are this many kubelets */

struct wstats {
	uint64_t *from_send, *from_ack;
	size_t n, cap, events, late_ack;
	size_t misrouted; /* a kubelet given another node's pod */
};

static void wrecord(struct wstats *s, uint64_t a, uint64_t b)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1 << 16;

		s->from_send = realloc(s->from_send, cap * sizeof(uint64_t));
		s->from_ack = realloc(s->from_ack, cap * sizeof(uint64_t));
		s->cap = cap;
	}
	s->from_send[s->n] = a;
	s->from_ack[s->n] = b;
	s->n++;
}

/* One complete event line: the stamp "bench/t":"<seq>" it carries. */
static void event_line(struct watcher *w, struct wstats *st, uint64_t now, bool measure)
{
	char *mark = memmem(w->line, w->line_len, "\"bench/t\":\"", 11);

	if (mark && measure) {
		unsigned long seq = strtoul(mark + 11, NULL, 10);

		st->events++;
		w->got++;
		if (kubelets && seq % kubelets != w->idx)
			st->misrouted++;
		if (seq && seq < MAX_SEQ && sent_at[seq]) {
			uint64_t ack = acked_at[seq];

			if (!ack)
				st->late_ack++;
			wrecord(st, now - sent_at[seq], ack && now > ack ? now - ack : 0);
		}
	}
	w->line_len = 0;
}

static void line_add(struct watcher *w, const char *p, size_t n)
{
	if (w->line_len + n + 1 > w->line_cap) {
		size_t cap = w->line_cap ? w->line_cap : 4096;

		while (cap < w->line_len + n + 1)
			cap *= 2;
		w->line = realloc(w->line, cap);
		if (!w->line)
			abort();
		w->line_cap = cap;
	}
	memcpy(w->line + w->line_len, p, n);
	w->line_len += n;
}

/* Everything received so far: de-chunk it and record every complete event line. */
static void scan_events(struct watcher *w, struct wstats *st, uint64_t now, bool measure)
{
	for (;;) {
		char *p = w->c.buf + w->scan, *e;
		size_t left = w->c.len - w->scan;

		if (w->state == WS_HEADERS) {
			e = memmem(p, left, "\r\n\r\n", 4);
			if (!e)
				break;
			w->scan += (size_t)(e + 4 - p);
			w->state = WS_SIZE;
		} else if (w->state == WS_SIZE) {
			e = memmem(p, left, "\r\n", 2);
			if (!e)
				break;
			w->chunk_left = strtoul(p, NULL, 16);
			w->scan += (size_t)(e + 2 - p);
			w->state = w->chunk_left ? WS_DATA : WS_END;
		} else if (w->state == WS_DATA) {
			size_t k = left < w->chunk_left ? left : w->chunk_left;

			if (!k)
				break;
			for (size_t i = 0; i < k;) {
				char *nl = memchr(p + i, '\n', k - i);
				size_t upto = nl ? (size_t)(nl - p) : k;

				line_add(w, p + i, upto - i);
				if (nl)
					event_line(w, st, now, measure);
				i = nl ? upto + 1 : k;
			}
			w->scan += k;
			w->chunk_left -= k;
			if (!w->chunk_left)
				w->state = WS_CRLF;
		} else if (w->state == WS_CRLF) {
			if (left < 2)
				break;
			w->scan += 2;
			w->state = WS_SIZE;
		} else {
			w->scan = w->c.len;
			break;
		}
	}
	if (w->scan == w->c.len) {
		w->c.len = 0;
		w->scan = 0;
	} else if (w->scan > (1u << 20)) {
		memmove(w->c.buf, w->c.buf + w->scan, w->c.len - w->scan);
		w->c.len -= w->scan;
		w->scan = 0;
	}
}

struct writer {
	pthread_t th;
	double rate;
	uint64_t deadline;
	size_t pods, sent, errors;
};

/* One write that the watchers see, stamped with seq: a patch of a pod's annotation, or (as
 * the kubelets' events) a new pod bound to node-<seq mod kubelets>. The bound pod's event is
 * what the latency is measured to: its clock starts at the binding. */
static int write_one(struct conn *c, const struct writer *w, unsigned long seq)
{
	char body[8192], path[256], name[64], stamp[48];
	int n, st;

	/* the run's nonce keeps a later run's patch from being a no-op (no event) */
	snprintf(stamp, sizeof(stamp), "%lu-%d", seq, (int)getpid());
	if (!kubelets) {
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/p%lu", ns,
			 seq % (w->pods ? w->pods : 1));
		n = snprintf(body, sizeof(body),
			     "{\"metadata\":{\"annotations\":{\"bench/t\":\"%s\"}}}", stamp);
		sent_at[seq] = now_ns();
		st = request(c, "PATCH", path, "application/merge-patch+json", body, (size_t)n,
			     NULL, NULL);
		acked_at[seq] = now_ns();
		return st == 200 ? 0 : -1;
	}
	snprintf(name, sizeof(name), "k%d-%lu", (int)getpid(), seq);
	n = pod_json(body, sizeof(body), name, stamp);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	if (request(c, "POST", path, "application/json", body, (size_t)n, NULL, NULL) != 201)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/binding", ns, name);
	n = snprintf(body, sizeof(body),
		     "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"%s\"},"
		     "\"target\":{\"kind\":\"Node\",\"name\":\"node-%lu\"}}",
		     name, seq % kubelets);
	sent_at[seq] = now_ns();
	st = request(c, "POST", path, "application/json", body, (size_t)n, NULL, NULL);
	acked_at[seq] = now_ns();
	return st == 201 ? 0 : -1;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct conn c;
	uint64_t next = now_ns(), period = (uint64_t)(1e9 / w->rate);
	unsigned long seq = 1;

	if (conn_open(&c) != 0)
		return NULL;
	while (now_ns() < w->deadline && seq < MAX_SEQ) {
		struct timespec ts;

		for (uint64_t now; (now = now_ns()) < next;) {
			uint64_t d = next - now; /* one reading: a second one could pass next */

			ts.tv_sec = (time_t)(d / 1000000000u);
			ts.tv_nsec = (long)(d % 1000000000u);
			nanosleep(&ts, NULL);
		}
		next += period;
		if (write_one(&c, w, seq) != 0)
			w->errors++;
		w->sent++;
		seq++;
	}
	conn_close(&c);
	return NULL;
}

/* CPU seconds (user + system) used so far by this process, or by pid when pid > 0. */
static double cpu_seconds(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	if (pid <= 0) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* fields after the command (which may hold spaces): state is 3, utime 14, stime 15 */
	if (!p || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int readers = 2; /* --readers: threads reading the watch streams */

/* One reader thread: its share of the streams, read until the deadline. */
struct reader {
	pthread_t th;
	struct watcher *ws;
	int ep;
	uint64_t until;
	struct wstats st;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct epoll_event evs[256];

	while (now_ns() < rd->until) {
		int n = epoll_wait(rd->ep, evs, 256, 100);
		uint64_t now = now_ns();

		for (int i = 0; i < n; i++) {
			struct watcher *w = &rd->ws[evs[i].data.u32];

			do {
				if (fill(&w->c) != 0) {
					/* the server ended the stream: counted, not polled again */
					epoll_ctl(rd->ep, EPOLL_CTL_DEL, w->c.fd, NULL);
					w->closed = true;
					break;
				}
				scan_events(w, &rd->st, now, true);
			} while (gnutls_record_check_pending(w->c.s));
		}
	}
	return NULL;
}

static int run_watch(int watchers, double rate, double seconds, size_t pods)
{
	struct watcher *ws = calloc((size_t)watchers + 1, sizeof(*ws));
	struct wstats st = {0};
	struct writer wr = {.rate = rate, .pods = pods};
	struct epoll_event ev, evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC), opened = 0, closed = 0, complete = 0;
	char path[256];
	uint64_t t0, settle;
	double ccpu0, scpu0, ccpu, scpu, window;
	size_t expected;

	sent_at = calloc(MAX_SEQ, sizeof(uint64_t));
	acked_at = calloc(MAX_SEQ, sizeof(uint64_t));
	if (!ws || !sent_at || !acked_at || ep < 0)
		return 1;
	/* watch from the collection's current revision: no initial ADDED events */
	{
		struct conn c;
		size_t blen = 0;
		const char *rv;

		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods?limit=1", ns);
		if (conn_open(&c) != 0 ||
		    request(&c, "GET", path, NULL, NULL, 0, NULL, &blen) != 200 ||
		    !(rv = memmem(last_body, blen, "\"resourceVersion\":\"", 19)))
			return 1;
		snprintf(path, sizeof(path), "%lu", strtoul(rv + 19, NULL, 10));
		conn_close(&c);
	}
	for (int i = 0; i < watchers; i++) {
		char req[5120], sel[64] = "";
		int n;

		if (conn_open(&ws[i].c) != 0)
			break;
		ws[i].idx = (unsigned long)i;
		if (kubelets) /* the kubelet's own watch: its node's pods */
			snprintf(sel, sizeof(sel), "&fieldSelector=spec.nodeName%%3Dnode-%d", i);
		n = snprintf(
		    req, sizeof(req),
		    "GET /api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s%s HTTP/1.1\r\n"
		    "Host: %s:%d\r\nAuthorization: Bearer %s\r\nAccept: application/json\r\n"
		    "User-Agent: api_bench\r\n\r\n",
		    ns, path, sel, host, port, token);
		if (send_all(&ws[i].c, req, (size_t)n) != 0)
			break;
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, ws[i].c.fd, &ev);
		opened++;
	}
	/* every watch started (its response headers came; a loaded server takes a while for a
	 * thousand) and one more quiet second: drained, not measured */
	settle = now_ns() + 120000000000ull;
	for (bool all = false; now_ns() < settle;) {
		int n = epoll_wait(ep, evs, 256, 100);

		if (!all) {
			all = true;
			for (int i = 0; i < opened; i++)
				all = all && (ws[i].state != WS_HEADERS || ws[i].closed);
			if (all)
				settle = now_ns() + 1000000000ull;
		}

		for (int i = 0; i < n; i++) {
			struct watcher *w = &ws[evs[i].data.u32];

			do {
				if (fill(&w->c) != 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, w->c.fd, NULL);
					w->closed = true;
					break;
				}
				scan_events(w, &st, now_ns(), false);
			} while (gnutls_record_check_pending(w->c.s));
		}
	}
	t0 = now_ns();
	ccpu0 = cpu_seconds(0);
	scpu0 = server_pid ? cpu_seconds(server_pid) : -1;
	wr.deadline = t0 + (uint64_t)(seconds * 1e9);
	/* the streams, read by as many threads (the client's own CPU is not the limit of one) */
	{
		struct reader *rd = calloc((size_t)readers, sizeof(*rd));

		if (!rd)
			return 1;
		for (int r = 0; r < readers; r++) {
			rd[r].ws = ws;
			rd[r].until = wr.deadline + 1000000000ull;
			rd[r].ep = epoll_create1(EPOLL_CLOEXEC);
		}
		for (int i = 0; i < opened; i++) {
			if (ws[i].closed)
				continue;
			ev.events = EPOLLIN;
			ev.data.u32 = (uint32_t)i;
			epoll_ctl(rd[i % readers].ep, EPOLL_CTL_ADD, ws[i].c.fd, &ev);
		}
		close(ep);
		ep = -1;
		pthread_create(&wr.th, NULL, writer_main, &wr);
		for (int r = 0; r < readers; r++)
			pthread_create(&rd[r].th, NULL, reader_main, &rd[r]);
		for (int r = 0; r < readers; r++) {
			pthread_join(rd[r].th, NULL);
			close(rd[r].ep);
			for (size_t k = 0; k < rd[r].st.n; k++)
				wrecord(&st, rd[r].st.from_send[k], rd[r].st.from_ack[k]);
			st.events += rd[r].st.events;
			st.late_ack += rd[r].st.late_ack;
			st.misrouted += rd[r].st.misrouted;
			free(rd[r].st.from_send);
			free(rd[r].st.from_ack);
		}
		free(rd);
	}
	pthread_join(wr.th, NULL);
	ccpu = cpu_seconds(0) - ccpu0;
	window = (double)(now_ns() - t0) / 1e9;
	scpu = scpu0 >= 0 ? cpu_seconds(server_pid) - scpu0 : -1;
	for (int i = 0; i < opened; i++)
		closed += ws[i].closed || ws[i].state == WS_END;
	/* a kubelet gets the bindings to its node (seq 1.. sent, node seq mod kubelets) */
	for (int i = 0; i < opened; i++) {
		size_t want = wr.sent;

		if (kubelets)
			want = wr.sent / kubelets +
			       ((unsigned long)i && (unsigned long)i <= wr.sent % kubelets);
		complete += ws[i].got == want;
	}
	expected = kubelets ? (opened ? wr.sent : 0) : wr.sent * (size_t)opened;
	qsort(st.from_send, st.n, sizeof(uint64_t), cmp_u64);
	qsort(st.from_ack, st.n, sizeof(uint64_t), cmp_u64);
	printf("{\"bench\":\"watch\",\"mode\":\"%s\",\"watchers\":%d,\"rate\":%.1f,"
	       "\"seconds\":%.1f,\"writes\":%zu,"
	       "\"write_errors\":%zu,\"expected\":%zu,\"delivered\":%zu,\"misrouted\":%zu,"
	       "\"p50_send_us\":%.1f,\"p99_send_us\":%.1f,\"max_send_us\":%.1f,"
	       "\"p50_ack_us\":%.1f,\"p99_ack_us\":%.1f,\"streams_ended\":%d,"
	       "\"watchers_with_every_event\":%d,\"window_s\":%.2f,\"client_cpu_s\":%.2f,"
	       "\"server_cpu_s\":%.2f}\n",
	       kubelets ? "kubelets" : "namespace", opened, rate, seconds, wr.sent, wr.errors,
	       expected, st.n, st.misrouted, pct(st.from_send, st.n, 0.5),
	       pct(st.from_send, st.n, 0.99), st.n ? (double)st.from_send[st.n - 1] / 1e3 : 0,
	       pct(st.from_ack, st.n, 0.5), pct(st.from_ack, st.n, 0.99), closed, complete, window,
	       ccpu, scpu);
	fflush(stdout);
	for (int i = 0; i < opened; i++) {
		conn_close(&ws[i].c);
		free(ws[i].line);
	}
	return 0;
}

/* ---- the store alone: the same writes without the API server (same run, same disk) ---- */

struct swriter {
	pthread_t th;
	struct store *st;
	int id;
	uint64_t deadline;
	uint64_t *lat;
	size_t n, cap, errors;
	size_t vlen;
};

static void *swriter_main(void *arg)
{
	struct swriter *w = arg;
	char key[128], *val = malloc(w->vlen);
	size_t i = 0;

	if (!val)
		return NULL;
	memset(val, 'x', w->vlen);
	while (now_ns() < w->deadline) {
		uint64_t t0 = now_ns();
		int n = snprintf(key, sizeof(key), "/registry/pods/store/s-%d-%zu", w->id, i++);

		if (store_create(w->st, key, (size_t)n, val, w->vlen, NULL) != 0) {
			w->errors++;
			continue;
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof(uint64_t));
		}
		w->lat[w->n++] = now_ns() - t0;
	}
	free(val);
	return NULL;
}

static int run_store(const char *dir, int clients, double seconds, size_t vlen)
{
	struct store_embedded_opts o = {
	    .sz = sizeof(o), .dir = dir, .snapshot_bytes = 512ull << 20};
	struct store *st;
	struct swriter *w = calloc((size_t)clients, sizeof(*w));
	uint64_t t0, t1, *all;
	size_t total = 0, errors = 0, k = 0;

	if (!w || store_open_embedded(&o, &st) != 0)
		return 1;
	t0 = now_ns();
	for (int i = 0; i < clients; i++) {
		w[i] = (struct swriter){
		    .st = st, .id = i, .vlen = vlen, .deadline = t0 + (uint64_t)(seconds * 1e9)};
		pthread_create(&w[i].th, NULL, swriter_main, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	t1 = now_ns();
	all = malloc((total + 1) * sizeof(*all));
	for (int i = 0; i < clients; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	printf("{\"bench\":\"store\",\"op\":\"create\",\"clients\":%d,\"value_bytes\":%zu,"
	       "\"ops\":%zu,\"errors\":%zu,\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%.1f,"
	       "\"p99_us\":%.1f}\n",
	       clients, vlen, total, errors, (double)(t1 - t0) / 1e9,
	       (double)total / ((double)(t1 - t0) / 1e9), pct(all, total, 0.5),
	       pct(all, total, 0.99));
	fflush(stdout);
	store_close(st);
	free(all);
	free(w);
	return 0;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: api_bench --port P --token-file F [--ns NS] MODE [options]\n"
	    "  ops --op create|update|get|list --clients N --seconds S [--table] [--pods N]\n"
	    "      [--keep-body]\n"
	    "  prepare --pods N\n"
	    "  watch --watchers W --rate R --seconds S --pods N [--server-pid PID] [--kubelets]\n"
	    "  store --ns DIR --clients N --seconds S --pods VALUE_BYTES (no server)\n");
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *opname = "get", *label = "";
	int clients = 1, watchers = 100;
	double seconds = 5, rate = 100;
	size_t pods = 1000;
	bool table = false;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(a, "--port"))
			port = atoi(v), i++;
		else if (!strcmp(a, "--token-file")) {
			f = fopen(v, "r");
			if (!f || !fgets(token, sizeof(token), f)) {
				fprintf(stderr, "cannot read %s\n", v);
				return 2;
			}
			fclose(f);
			token[strcspn(token, "\r\n")] = 0;
			i++;
		} else if (!strcmp(a, "--ns"))
			snprintf(ns, sizeof(ns), "%s", v), i++;
		else if (!strcmp(a, "--op"))
			opname = v, i++;
		else if (!strcmp(a, "--label"))
			label = v, i++;
		else if (!strcmp(a, "--clients"))
			clients = atoi(v), i++;
		else if (!strcmp(a, "--server-pid"))
			server_pid = atoi(v), i++;
		else if (!strcmp(a, "--watchers"))
			watchers = atoi(v), i++;
		else if (!strcmp(a, "--seconds"))
			seconds = atof(v), i++;
		else if (!strcmp(a, "--rate"))
			rate = atof(v), i++;
		else if (!strcmp(a, "--pods"))
			pods = (size_t)atol(v), i++;
		else if (!strcmp(a, "--table"))
			table = true;
		else if (!strcmp(a, "--kubelets"))
			kubelets = 1;
		else if (!strcmp(a, "--readers"))
			readers = atoi(v) > 0 ? atoi(v) : 1, i++;
		else if (!strcmp(a, "--keep-body"))
			keep_body = true;
		else if (a[0] != '-' && !mode)
			mode = a;
		else {
			usage();
			return 2;
		}
	}
	if (mode && !strcmp(mode, "store"))
		return run_store(ns, clients, seconds, pods);
	if (!mode || !port || !token[0]) {
		usage();
		return 2;
	}
	gnutls_global_init();
	gnutls_certificate_allocate_credentials(&cred);
	if (!strcmp(mode, "prepare"))
		return run_prepare(pods);
	if (!strcmp(mode, "watch")) {
		if (kubelets)
			kubelets = watchers > 0 ? (unsigned long)watchers : 1;
		return run_watch(watchers, rate, seconds, pods);
	}
	if (!strcmp(mode, "ops")) {
		enum op op = !strcmp(opname, "create")	 ? OP_CREATE
			     : !strcmp(opname, "update") ? OP_UPDATE
			     : !strcmp(opname, "list")	 ? OP_LIST
							 : OP_GET;

		return run_ops(op, clients, seconds, table, pods, label);
	}
	usage();
	return 2;
}
