/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_watch: watch streams over HTTP: replay from a resourceVersion, the initial ADDED
 * events of a watch from "now", live events, label and field selectors that drop most events,
 * Table events, a client that hangs up mid-stream, a client that stops reading while megabytes
 * of events are written (the server's writes block, then resume, and every byte arrives in
 * order), an HTTP/1.0 client (no chunked framing), 410 Expired for a history that is gone
 * (as the first and only event of a 200 stream) and the periodic compaction behind it (kept
 * across a restart), bookmarks (a server with a 1 s bookmark interval).
 * A stream is read until it has the events it expects (the client then hangs up) or until the
 * server ends it with timeoutSeconds; a test that waits for a condition (compaction) polls it
 * until a deadline. Only the timeoutSeconds of streams that must stay empty and the server's
 * own intervals (bookmarks, compaction) let time pass; nothing asserts how long anything took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* ---- a watch client: reads events until it has `want` of them, then hangs up ---- */

struct wstream {
	char *buf;
	size_t len;
	size_t want;   /* 0: read until the server ends the stream */
	size_t events; /* complete lines so far */
	struct jv_doc *d;
	struct jv **ev;
	size_t nev;
};

/* The events of the stream being read, for another thread to wait on. */
static atomic_size_t stream_events;

static size_t on_stream(char *p, size_t size, size_t n, void *ud)
{
	struct wstream *w = ud;
	char *nb = realloc(w->buf, w->len + size * n + 1);

	if (!nb)
		return 0;
	w->buf = nb;
	memcpy(w->buf + w->len, p, size * n);
	w->len += size * n;
	w->buf[w->len] = 0;
	w->events = 0;
	for (size_t i = 0; i < w->len; i++)
		w->events += w->buf[i] == '\n';
	atomic_store(&stream_events, w->events);
	if (w->want && w->events >= w->want)
		return 0; /* enough: hang up */
	return size * n;
}

/* GET path as a stream; accept may be NULL. Parses each line into w->ev. */
static void twatch_opt(struct tsrv *t, const char *path, const char *accept, size_t want, bool raw,
		       struct wstream *w)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], hdr[256];
	long code = 0;
	CURLcode rc;

	memset(w, 0, sizeof(*w));
	atomic_store(&stream_events, 0);
	w->want = want;
	snprintf(url, sizeof(url), "%s%s", t->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	if (raw)
		curl_easy_setopt(c, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
	if (accept) {
		snprintf(hdr, sizeof(hdr), "Accept: %s", accept);
		h = curl_slist_append(h, hdr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	rc = curl_easy_perform(c);
	if (want)
		assert_int_equal(rc, CURLE_WRITE_ERROR);
	else
		assert_int_equal(rc, CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 200);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (raw)
		return;
	w->d = jv_doc_new();
	w->ev = calloc(w->events + 1, sizeof(*w->ev));
	assert_non_null(w->ev);
	for (char *line = w->buf, *nl; line && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		w->ev[w->nev] = jv_parse(w->d, line, (size_t)(nl - line), NULL);
		assert_non_null(w->ev[w->nev]);
		w->nev++;
	}
}

static void twatch(struct tsrv *t, const char *path, const char *accept, size_t want,
		   struct wstream *w)
{
	twatch_opt(t, path, accept, want, false, w);
}

static void wstream_free(struct wstream *w)
{
	free(w->buf);
	free(w->ev);
	jv_doc_free(w->d);
}

static void mkns(struct tsrv *t, const char *ns)
{
	char body[128];
	struct tresp r;

	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", ns);
	tpost(t, "/api/v1/namespaces", body, 201, &r);
	tresp_free(&r);
}

static void mkcm(struct tsrv *t, const char *ns, const char *name, const char *labels)
{
	char path[256], body[512];
	struct tresp r;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
	snprintf(body, sizeof(body),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"data\":{\"k\":\"v\"}}", name,
		 labels ? labels : "");
	tpost(t, path, body, 201, &r);
	tresp_free(&r);
}

/* The list's resourceVersion: "now" */
static unsigned long long now_rv(struct tsrv *t, const char *ns)
{
	char path[256];
	struct tresp r;
	unsigned long long rv;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
	rv = strtoull(tstr(tget(t, path, 200, &r), "metadata.resourceVersion"), NULL, 10);
	tresp_free(&r);
	return rv;
}

/* Generous bound of a wait for a condition: it only turns a hang into a failure. */
#define DEADLINE_S 120

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests ---- */

/* ---- a raw HTTP client: what libcurl hides (a receive window kept small, HTTP/1.0) ---- */

/* Connect to t's port with a small receive buffer and send a GET of path. */
static int raw_get(struct tsrv *t, const char *path, const char *version, int rcvbuf)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = DEADLINE_S};
	const char *port = strrchr(t->base, ':');
	char req[1024];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n;

	assert_true(fd >= 0);
	assert_non_null(port);
	sa.sin_port = htons((uint16_t)atoi(port + 1));
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	/* a hang becomes a failed read, not a stuck test */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "GET %s %s\r\nHost: 127.0.0.1\r\n\r\n", path, version);
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	return fd;
}

/* Read from fd until the stream holds `until` (NULL: until the server closes). */
static char *raw_read(int fd, const char *until, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (;;) {
		ssize_t k;

		if (n + 4096 + 1 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		k = recv(fd, buf + n, cap - n - 1, 0);
		assert_true(k >= 0); /* a timeout here: the stream stalled */
		n += (size_t)k;
		buf[n] = 0;
		if (k == 0 || (until && strstr(buf, until)))
			break;
	}
	*len = n;
	return buf;
}

/* The body of a chunked response: the chunks joined; asserts the framing and that the stream
 * ends (the zero chunk) only if `ended`. */
static char *dechunk(const char *p, size_t len, bool ended, size_t *out_len)
{
	const char *end = p + len, *body = strstr(p, "\r\n\r\n");
	char *out = malloc(len + 1);
	size_t n = 0;
	bool last = false;

	assert_non_null(out);
	assert_non_null(body);
	assert_non_null(strstr(p, "Transfer-Encoding: chunked"));
	for (p = body + 4; p < end;) {
		char *nl;
		unsigned long size = strtoul(p, &nl, 16);

		assert_true(nl[0] == '\r' && nl[1] == '\n');
		p = nl + 2;
		if (!size) {
			last = true;
			break;
		}
		if ((size_t)(end - p) < size + 2)
			break; /* the rest is still on its way */
		memcpy(out + n, p, size);
		n += size;
		p += size;
		assert_true(p[0] == '\r' && p[1] == '\n');
		p += 2;
	}
	assert_int_equal(last, ended);
	out[n] = 0;
	*out_len = n;
	return out;
}

/* n ConfigMaps big<i> in ns, each with `data` bytes of one letter ('a' + i % 26): megabytes
 * of events for a watcher that does not read. */
static void post_big_configmaps(struct tsrv *t, const char *ns, int n, size_t data)
{
	char path[128], *body = malloc(data + 256);

	assert_non_null(body);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
	for (int k = 0; k < n; k++) {
		struct tresp r;
		int m =
		    snprintf(body, 128, "{\"metadata\":{\"name\":\"big%d\"},\"data\":{\"k\":\"", k);

		memset(body + m, 'a' + k % 26, data);
		strcpy(body + m + data, "\"}}");
		tpost(t, path, body, 201, &r);
		tresp_free(&r);
	}
	free(body);
}

/* A watcher that reads nothing while 6 MB of events are written: the server's writes would
 * block long before the end, and must carry on when the client reads again, every event
 * whole and in order, the chunked framing intact. */
static void test_watch_slow_reader(void **state)
{
	enum { N = 200, DATA = 30000 };
	struct tsrv *t = *state;
	char path[256], last[64], *body, *raw, *ev;
	size_t len, blen;
	int fd, i = 0;

	mkns(t, "ws");
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/ws/configmaps?watch=1&resourceVersion=%llu", now_rv(t, "ws"));
	fd = raw_get(t, path, "HTTP/1.1", 4096);
	post_big_configmaps(t, "ws", N, DATA);
	snprintf(last, sizeof(last), "\"name\":\"big%d\"", N - 1);
	raw = raw_read(fd, last, &len);
	close(fd);
	body = dechunk(raw, len, false, &blen);
	for (char *line = body, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1, i++) {
		char want[32];
		struct jv_doc *d = jv_doc_new();
		struct jv *v = jv_parse(d, line, (size_t)(nl - line), NULL);

		assert_non_null(v);
		snprintf(want, sizeof(want), "big%d", i);
		assert_string_equal(tstr(v, "type"), "ADDED");
		assert_string_equal(tstr(v, "object.metadata.name"), want);
		ev = (char *)tstr(v, "object.data.k");
		assert_int_equal(strlen(ev), DATA);
		assert_int_equal(ev[0], 'a' + i % 26);
		assert_int_equal(ev[DATA - 1], 'a' + i % 26);
		jv_doc_free(d);
	}
	/* the last event may still be partly on its way: all before it are whole */
	assert_true(i >= N - 1);
	free(body);
	free(raw);
}

/* A watcher that reads nothing at all, past its timeoutSeconds: the server gives up on it
 * (the stream is cut, the connection closed) instead of keeping it, its events and its
 * socket for as long as the client holds its window shut. */
static void test_watch_stalled_reader(void **state)
{
	enum { N = 200, DATA = 30000 };
	struct tsrv *t = *state;
	char path[256], *buf;
	size_t n = 0, cap = 16u << 20, events = 0;
	int fd;

	mkns(t, "wst");
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/wst/configmaps?watch=1&resourceVersion=%llu&timeoutSeconds=1",
		 now_rv(t, "wst"));
	fd = raw_get(t, path, "HTTP/1.1", 4096);
	post_big_configmaps(t, "wst", N, DATA);
	sleep(3); /* the deadline passes while the server cannot write */
	buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		ssize_t k = recv(fd, buf + n, cap - n - 1, 0);

		if (k < 0 && errno == ECONNRESET)
			break;
		assert_true(k >= 0); /* a timeout here: the server kept the stream */
		if (k == 0)
			break;
		n += (size_t)k;
		buf[n] = 0;
		assert_null(strstr(buf, "\r\n0\r\n\r\n")); /* not ended as a finished stream */
		assert_true(n + 1 < cap);
	}
	close(fd);
	for (char *p = buf; (p = strstr(p, "\"type\":\"ADDED\"")) != NULL; p++)
		events++;
	assert_true(events < N);
	free(buf);
}

/* A watch of ns from now that ends by timeoutSeconds=2 over a raw HTTP version, two
 * ConfigMaps ("one", "two") created while it runs; the stream read until `until` (NULL: the
 * server closes). */
static char *raw_watch_two(struct tsrv *t, const char *ns, const char *version, const char *until,
			   size_t *len)
{
	char path[256], *raw;
	int fd;

	mkns(t, ns);
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/%s/configmaps?watch=1&resourceVersion=%llu&timeoutSeconds=2",
		 ns, now_rv(t, ns));
	fd = raw_get(t, path, version, 0);
	mkcm(t, ns, "one", NULL);
	mkcm(t, ns, "two", NULL);
	raw = raw_read(fd, until, len);
	close(fd);
	return raw;
}

/* An HTTP/1.0 client gets the events unframed, the end of the stream is the connection's. */
static void test_watch_http10(void **state)
{
	size_t len;
	char *raw = raw_watch_two(*state, "w10", "HTTP/1.0", NULL, &len);
	char *body = strstr(raw, "\r\n\r\n");

	assert_null(strstr(raw, "chunked"));
	assert_non_null(body);
	body += 4;
	assert_int_equal(body[0], '{');
	assert_non_null(strstr(body, "\"name\":\"one\""));
	assert_non_null(strstr(body, "\"name\":\"two\""));
	assert_int_equal(body[strlen(body) - 1], '\n');
	free(raw);
}

/* A watch that ends by its timeout after events (written by the watch thread itself): the
 * stream closes with the zero chunk. */
static void test_watch_timeout_after_events(void **state)
{
	size_t len, blen;
	char *raw = raw_watch_two(*state, "wt", "HTTP/1.1", "\r\n0\r\n\r\n", &len);
	char *body = dechunk(raw, len, true, &blen);

	assert_non_null(strstr(body, "\"name\":\"one\""));
	assert_non_null(strstr(body, "\"name\":\"two\""));
	assert_int_equal(body[blen - 1], '\n');
	free(body);
	free(raw);
}

static void test_watch_replay(void **state)
{
	struct tsrv *t = *state;
	struct wstream w;
	struct tresp r;
	char path[256];
	unsigned long long rv0, prev = 0;

	mkns(t, "w1");
	rv0 = now_rv(t, "w1");
	mkcm(t, "w1", "a", NULL);
	mkcm(t, "w1", "b", NULL);
	treq(t, "PUT", "/api/v1/namespaces/w1/configmaps/a", NULL,
	     "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"v2\"}}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	treq(t, "DELETE", "/api/v1/namespaces/w1/configmaps/b", NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	/* the server ends it (timeoutSeconds) after replaying the four changes */
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/w1/configmaps?watch=1&resourceVersion=%llu&timeoutSeconds=1",
		 rv0);
	twatch(t, path, NULL, 0, &w);
	assert_int_equal(w.nev, 4);
	assert_string_equal(tstr(w.ev[0], "type"), "ADDED");
	assert_string_equal(tstr(w.ev[0], "object.metadata.name"), "a");
	assert_string_equal(tstr(w.ev[0], "object.kind"), "ConfigMap");
	assert_string_equal(tstr(w.ev[0], "object.apiVersion"), "v1");
	assert_string_equal(tstr(w.ev[1], "type"), "ADDED");
	assert_string_equal(tstr(w.ev[1], "object.metadata.name"), "b");
	assert_string_equal(tstr(w.ev[2], "type"), "MODIFIED");
	assert_string_equal(tstr(w.ev[2], "object.data.k"), "v2");
	assert_string_equal(tstr(w.ev[3], "type"), "DELETED");
	assert_string_equal(tstr(w.ev[3], "object.metadata.name"), "b");
	for (size_t i = 0; i < w.nev; i++) {
		unsigned long long rv =
		    strtoull(tstr(w.ev[i], "object.metadata.resourceVersion"), NULL, 10);

		assert_true(rv > rv0 && rv > prev);
		prev = rv;
	}
	wstream_free(&w);
	/* on the wire: whole events per chunk, each ending in a newline; a backlog (the four
	 * replayed here, queued before the stream starts) goes out as one chunk, one TLS record
	 * and one send, not one per event */
	twatch_opt(t, path, NULL, 0, true, &w);
	{
		const char *p = w.buf;
		size_t chunks = 0, lines = 0;

		for (;;) {
			size_t size = strtoul(p, NULL, 16);
			const char *data = strstr(p, "\r\n") + 2;

			if (!size)
				break;
			assert_int_equal(data[size - 1], '\n');
			for (size_t i = 0; i < size; i++)
				lines += data[i] == '\n';
			p = data + size + 2;
			chunks++;
		}
		assert_int_equal(lines, 4);
		assert_int_equal(chunks, 1);
	}
	wstream_free(&w);
}

/* A watch of autoscaling/v1 HPAs (served from the stored v2 objects): every event in v1 (its
 * bookmarks: test_watch_bookmarks). */
static void test_watch_converted_version(void **state)
{
	struct tsrv *t = *state;
	struct wstream w;
	struct tresp r;
	char path[256];

	mkns(t, "wv1");
	tpost(
	    t, "/apis/autoscaling/v2/namespaces/wv1/horizontalpodautoscalers",
	    "{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\","
	    "\"name\":\"d\"},\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":"
	    "{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":40}}}]}"
	    "}",
	    201, &r);
	tresp_free(&r);
	treq(t, "PATCH", "/apis/autoscaling/v2/namespaces/wv1/horizontalpodautoscalers/h",
	     "application/merge-patch+json", "{\"spec\":{\"maxReplicas\":4}}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	snprintf(path, sizeof(path),
		 "/apis/autoscaling/v1/namespaces/wv1/horizontalpodautoscalers?watch=1"
		 "&resourceVersion=1&timeoutSeconds=1");
	twatch(t, path, NULL, 0, &w);
	assert_int_equal(w.nev, 2);
	assert_string_equal(tstr(w.ev[0], "type"), "ADDED");
	assert_string_equal(tstr(w.ev[0], "object.apiVersion"), "autoscaling/v1");
	assert_string_equal(jv_path(w.ev[0], "object.spec.targetCPUUtilizationPercentage")->s,
			    "40");
	assert_null(jv_path(w.ev[0], "object.spec.metrics"));
	assert_string_equal(tstr(w.ev[1], "type"), "MODIFIED");
	assert_string_equal(jv_path(w.ev[1], "object.spec.maxReplicas")->s, "4");
	assert_string_equal(tstr(w.ev[1], "object.apiVersion"), "autoscaling/v1");
	wstream_free(&w);
}

/* A watch of one named object with a label selector: the name still narrows it. */
static void test_watch_named_with_selector(void **state)
{
	struct tsrv *t = *state;
	struct wstream w;
	char path[256];
	unsigned long long rv0;

	mkns(t, "wn");
	rv0 = now_rv(t, "wn");
	mkcm(t, "wn", "a", "\"x\":\"1\"");
	mkcm(t, "wn", "b", "\"x\":\"1\"");
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/wn/configmaps/a?watch=1&labelSelector=x%%3D1"
		 "&resourceVersion=%llu&timeoutSeconds=1",
		 rv0);
	twatch(t, path, NULL, 0, &w);
	assert_int_equal(w.nev, 1);
	assert_string_equal(tstr(w.ev[0], "object.metadata.name"), "a");
	wstream_free(&w);
}

/* most events filtered out: the stream must still drain the store watch and go on */
static void test_watch_selectors(void **state)
{
	struct tsrv *t = *state;
	struct wstream w;
	char path[256];
	unsigned long long rv0;

	mkns(t, "w2");
	rv0 = now_rv(t, "w2");
	for (int i = 0; i < 600; i++) {
		char name[32], labels[64];

		snprintf(name, sizeof(name), "cm%03d", i);
		snprintf(labels, sizeof(labels), "\"mod\":\"%d\"", i % 100);
		mkcm(t, "w2", name, labels);
	}
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/w2/configmaps?watch=1&resourceVersion=%llu&timeoutSeconds=1&"
		 "labelSelector=mod%%3D7",
		 rv0);
	twatch(t, path, NULL, 0, &w);
	assert_int_equal(w.nev, 6);
	for (size_t i = 0; i < w.nev; i++)
		assert_string_equal(tstr(w.ev[i], "object.metadata.labels.mod"), "7");
	assert_string_equal(tstr(w.ev[5], "object.metadata.name"), "cm507");
	wstream_free(&w);
	/* the cluster-wide watch with a field selector */
	snprintf(path, sizeof(path),
		 "/api/v1/configmaps?watch=1&resourceVersion=%llu&timeoutSeconds=1&"
		 "fieldSelector=metadata.name%%3Dcm599,metadata.namespace%%3Dw2",
		 rv0);
	twatch(t, path, NULL, 0, &w);
	assert_int_equal(w.nev, 1);
	assert_string_equal(tstr(w.ev[0], "object.metadata.name"), "cm599");
	wstream_free(&w);
}

/* A watch from "now" (no resourceVersion) starts with the current objects as ADDED */
static void test_watch_initial_table(void **state)
{
	struct tsrv *t = *state;
	struct wstream w;

	mkns(t, "w3");
	mkcm(t, "w3", "x", NULL);
	mkcm(t, "w3", "y", NULL);
	twatch(t, "/api/v1/namespaces/w3/configmaps?watch=1", NULL, 2, &w);
	assert_int_equal(w.nev, 2);
	assert_string_equal(tstr(w.ev[0], "type"), "ADDED");
	assert_string_equal(tstr(w.ev[1], "object.metadata.name"), "y");
	wstream_free(&w);
	/* kubectl get -w asks for Tables */
	twatch(t, "/api/v1/namespaces/w3/configmaps?watch=1",
	       "application/json;as=Table;v=v1;g=meta.k8s.io", 2, &w);
	assert_int_equal(w.nev, 2);
	assert_string_equal(tstr(w.ev[0], "object.kind"), "Table");
	assert_string_equal(tstr(w.ev[0], "object.columnDefinitions[0].name"), "Name");
	assert_string_equal(tstr(w.ev[0], "object.rows[0].cells[0]"), "x");
	/* the column definitions come once */
	assert_null(jv_path(w.ev[1], "object.columnDefinitions[0]"));
	assert_string_equal(tstr(w.ev[1], "object.rows[0].cells[0]"), "y");
	wstream_free(&w);
}

struct writer {
	struct tsrv *t;
	int n;
};

static void *write_some(void *arg)
{
	struct writer *wr = arg;

	for (int i = 0; i < wr->n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "live%d", i);
		mkcm(wr->t, "w4", name, "\"live\":\"yes\"");
	}
	return NULL;
}

/* events that happen while the stream is open (or before it registered: the resourceVersion
 * makes that the same stream) */
static void test_watch_live(void **state)
{
	struct tsrv *t = *state;
	struct writer wr = {.t = t, .n = 50};
	struct wstream w;
	pthread_t th;
	char path[256];

	mkns(t, "w4");
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/w4/configmaps?watch=1&resourceVersion=%llu&"
		 "labelSelector=live",
		 now_rv(t, "w4"));
	assert_int_equal(pthread_create(&th, NULL, write_some, &wr), 0);
	twatch(t, path, NULL, 50, &w);
	pthread_join(th, NULL);
	assert_int_equal(w.nev, 50);
	for (int i = 0; i < 50; i++) {
		char name[32];

		snprintf(name, sizeof(name), "live%d", i);
		assert_string_equal(tstr(w.ev[i], "object.metadata.name"), name);
	}
	wstream_free(&w);
}

/* a history older than the store keeps: the stream's one event is a 410 Status */
static void test_watch_expired(void **state)
{
	struct api_config cfg = {.store_history = 8};
	struct tsrv t2;
	struct wstream w;
	int64_t code = 0;

	(void)state;
	tsrv_start_cfg(&t2, &cfg);
	mkns(&t2, "w5");
	for (int i = 0; i < 30; i++) {
		char name[32];

		snprintf(name, sizeof(name), "e%d", i);
		mkcm(&t2, "w5", name, NULL);
	}
	twatch(&t2, "/api/v1/namespaces/w5/configmaps?watch=1&resourceVersion=2", NULL, 0, &w);
	assert_int_equal(w.nev, 1);
	assert_string_equal(tstr(w.ev[0], "type"), "ERROR");
	assert_string_equal(tstr(w.ev[0], "object.kind"), "Status");
	assert_string_equal(tstr(w.ev[0], "object.reason"), "Expired");
	assert_int_equal(jv_int(jv_path(w.ev[0], "object.code"), &code), 0);
	assert_int_equal(code, 410);
	wstream_free(&w);
	tsrv_stop(&t2);
}

/* compaction: a read at a revision older than the last compaction gets 410 */
static void test_compaction(void **state)
{
	struct api_config cfg = {.compact_interval_s = 1};
	struct tsrv t2;
	struct tresp r;
	char path[256];
	unsigned long long rv0;
	double deadline = mono_s() + DEADLINE_S;

	(void)state;
	tsrv_start_cfg(&t2, &cfg);
	mkns(&t2, "w6");
	mkcm(&t2, "w6", "old", NULL);
	rv0 = now_rv(&t2, "w6");
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/w6/configmaps?resourceVersion=%llu&"
		 "resourceVersionMatch=Exact",
		 rv0);
	tget(&t2, path, 200, &r);
	tresp_free(&r);
	/* writes go on; within two intervals the history before them is compacted (the deadline
	 * only bounds a test that would otherwise never end) */
	for (int i = 0;; i++) {
		char name[32];

		if (mono_s() > deadline)
			fail_msg("no 410 for resourceVersion %llu after %d writes", rv0, i);

		snprintf(name, sizeof(name), "n%d", i);
		mkcm(&t2, "w6", name, NULL);
		treq(&t2, "GET", path, NULL, NULL, NULL, &r);
		if (r.code == 410)
			break;
		assert_int_equal(r.code, 200);
		tresp_free(&r);
		usleep(100 * 1000);
	}
	assert_string_equal(tstr(r.json, "reason"), "Expired");
	tresp_free(&r);
	/* a restart over the same data dir keeps the compaction (no compaction of its own for an
	 * hour): still 410 for the read and for a watch from there; a list's resourceVersion
	 * and a watch from it work */
	{
		struct api_config again = {.compact_interval_s = 3600};
		struct wstream w;
		char wpath[256];
		unsigned long long rv1;

		tsrv_restart_cfg(&t2, &again);
		treq(&t2, "GET", path, NULL, NULL, NULL, &r);
		assert_int_equal(r.code, 410);
		assert_string_equal(tstr(r.json, "reason"), "Expired");
		tresp_free(&r);
		snprintf(wpath, sizeof(wpath),
			 "/api/v1/namespaces/w6/configmaps?watch=1&resourceVersion=%llu", rv0);
		twatch(&t2, wpath, NULL, 0, &w);
		assert_int_equal(w.nev, 1);
		assert_string_equal(tstr(w.ev[0], "type"), "ERROR");
		assert_string_equal(tstr(w.ev[0], "object.reason"), "Expired");
		wstream_free(&w);
		rv1 = now_rv(&t2, "w6");
		mkcm(&t2, "w6", "after", NULL);
		snprintf(wpath, sizeof(wpath),
			 "/api/v1/namespaces/w6/configmaps?watch=1&resourceVersion=%llu", rv1);
		twatch(&t2, wpath, NULL, 1, &w);
		assert_string_equal(tstr(w.ev[0], "type"), "ADDED");
		assert_string_equal(tstr(w.ev[0], "object.metadata.name"), "after");
		wstream_free(&w);
	}
	tsrv_stop(&t2);
}

struct after_first {
	struct tsrv *t;
	bool ok;
};

/* Once the stream has its first event (the bookmark), a change. */
static void *create_after_first(void *arg)
{
	struct after_first *a = arg;
	double deadline = mono_s() + DEADLINE_S;

	while (atomic_load(&stream_events) < 1) {
		if (mono_s() > deadline)
			return NULL;
		usleep(10 * 1000);
	}
	mkcm(a->t, "wb", "b", NULL);
	a->ok = true;
	return NULL;
}

static void assert_bookmark(const struct jv *ev, const char *kind, const char *api_version,
			    unsigned long long rv)
{
	char want[32];

	snprintf(want, sizeof(want), "%llu", rv);
	assert_string_equal(tstr(ev, "type"), "BOOKMARK");
	assert_string_equal(tstr(ev, "object.kind"), kind);
	assert_string_equal(tstr(ev, "object.apiVersion"), api_version);
	assert_string_equal(tstr(ev, "object.metadata.resourceVersion"), want);
}

/* allowWatchBookmarks=true: with nothing to send, a BOOKMARK carrying the resourceVersion the
 * watch has reached comes within the bookmark interval (1 s here; the stream's 60 s timeout
 * is only the bound of the wait), and again after an event, with that event's version. A watch
 * that did not ask gets none, however long it stays open. */
static int bookmarks_setup(void **state)
{
	static struct tsrv t2;
	struct api_config cfg = {.bookmark_interval_s = 1};

	tsrv_start_cfg(&t2, &cfg);
	*state = &t2;
	return 0;
}

/* Also after a failed assertion. */
static int bookmarks_teardown(void **state)
{
	tsrv_stop(*state);
	return 0;
}

static void test_watch_bookmarks(void **state)
{
	struct tsrv *t = *state;
	struct wstream w;
	struct tresp r;
	char path[256];
	unsigned long long rv0, rv1;
	struct after_first a;
	pthread_t th;

	mkns(t, "wb");
	mkcm(t, "wb", "a", NULL);
	rv0 = now_rv(t, "wb");

	a = (struct after_first){.t = t};
	/* an earlier stream's count must not let the change go before the bookmark */
	atomic_store(&stream_events, 0);
	assert_int_equal(pthread_create(&th, NULL, create_after_first, &a), 0);
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/wb/configmaps?watch=1&allowWatchBookmarks=true"
		 "&resourceVersion=%llu&timeoutSeconds=60",
		 rv0);
	twatch(t, path, NULL, 3, &w);
	pthread_join(th, NULL);
	assert_true(a.ok);
	assert_int_equal(w.nev, 3);
	assert_bookmark(w.ev[0], "ConfigMap", "v1", rv0);
	assert_string_equal(tstr(w.ev[1], "type"), "ADDED");
	assert_string_equal(tstr(w.ev[1], "object.metadata.name"), "b");
	rv1 = strtoull(tstr(w.ev[1], "object.metadata.resourceVersion"), NULL, 10);
	assert_true(rv1 > rv0);
	assert_bookmark(w.ev[2], "ConfigMap", "v1", rv1);
	wstream_free(&w);

	/* A watch from "now" (its initial ADDED event first), then the bookmark at the list's
	 * version. */
	twatch(t, "/api/v1/namespaces/wb/configmaps?watch=1&allowWatchBookmarks=true", NULL, 3, &w);
	assert_string_equal(tstr(w.ev[0], "type"), "ADDED");
	assert_string_equal(tstr(w.ev[1], "type"), "ADDED");
	assert_bookmark(w.ev[2], "ConfigMap", "v1", now_rv(t, "wb"));
	wstream_free(&w);

	/* A converted version's bookmark names the version asked for. */
	tpost(t, "/apis/autoscaling/v2/namespaces/wb/horizontalpodautoscalers",
	      "{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":"
	      "\"Deployment\",\"name\":\"d\"},\"maxReplicas\":3}}",
	      201, &r);
	rv1 = strtoull(tstr(r.json, "metadata.resourceVersion"), NULL, 10);
	tresp_free(&r);
	snprintf(path, sizeof(path),
		 "/apis/autoscaling/v1/namespaces/wb/horizontalpodautoscalers?watch=1"
		 "&allowWatchBookmarks=true&resourceVersion=%llu&timeoutSeconds=60",
		 rv1);
	twatch(t, path, NULL, 1, &w);
	assert_bookmark(w.ev[0], "HorizontalPodAutoscaler", "autoscaling/v1", rv1);
	wstream_free(&w);

	/* Not asked for (absent, or false): three intervals pass without one. */
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/wb/configmaps?watch=1&resourceVersion=%llu&timeoutSeconds=3",
		 rv0);
	twatch(t, path, NULL, 0, &w);
	assert_int_equal(w.nev, 1);
	assert_string_equal(tstr(w.ev[0], "type"), "ADDED");
	assert_string_equal(tstr(w.ev[0], "object.metadata.name"), "b");
	wstream_free(&w);
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/wb/configmaps?watch=1&allowWatchBookmarks=false"
		 "&resourceVersion=%llu&timeoutSeconds=3",
		 rv1);
	twatch(t, path, NULL, 0, &w);
	assert_int_equal(w.nev, 0);
	wstream_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_watch_replay),
	    cmocka_unit_test(test_watch_named_with_selector),
	    cmocka_unit_test(test_watch_converted_version),
	    cmocka_unit_test(test_watch_selectors),
	    cmocka_unit_test(test_watch_initial_table),
	    cmocka_unit_test(test_watch_live),
	    cmocka_unit_test(test_watch_slow_reader),
	    cmocka_unit_test(test_watch_stalled_reader),
	    cmocka_unit_test(test_watch_http10),
	    cmocka_unit_test(test_watch_timeout_after_events),
	    cmocka_unit_test(test_watch_expired),
	    cmocka_unit_test(test_compaction),
	    cmocka_unit_test_setup_teardown(test_watch_bookmarks, bookmarks_setup,
					    bookmarks_teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
