/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_watch_hub: the watch fan-out (registry/reg_hub.c) over HTTP: a kubelet's watch
 * (fieldSelector=spec.nodeName=n1, filed under n1 by the index) gets ADDED when a pod is bound
 * to its node, MODIFIED on its updates, DELETED when it goes, and nothing of n2's pods, also
 * when the selector moves a pod in and out of it on another field; label selectors see moves
 * in and out (DELETED carrying the new state); 300 watchers of every kind each get exactly
 * their events in order; a bookmark of a selective watch carries the revision the hub passed,
 * not only the watch's own last event; a watcher that does not read is ended and the others
 * are not. The kubelet's list reads its node's pods through the store's index of pods by
 * node (registry.c), also after a binding, a deletion and a restart.
 *
 * The watches are open (their response headers came: they are registered with the hub) before
 * the writes start, so that the events reach them through the hub's index, not a replay.
 * Nothing waits for time to pass: a stream is read until it has the events it expects.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "helpers.h"
#include "registry.h"

/* ---- many watch streams in one curl multi loop, on a thread ---- */

struct mstream {
	CURL *c;
	char path[512];
	size_t want; /* complete events to read, then hang up (0: until a bookmark) */
	/* want 0: read until a BOOKMARK at or after this revision */
	_Atomic unsigned long long until_rv;
	char *buf;
	size_t len, events, seen; /* seen: events, as the curl thread last published them */
	bool headers, done;
	struct jv_doc *d;
	struct jv **ev; /* the events, parsed once the stream is done */
	size_t nev;
};

struct mwatch {
	struct tsrv *t;
	struct mstream *s;
	size_t n;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	size_t headers; /* streams whose headers came */
	bool finished;	/* every stream ended */
};

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct mstream *s = ud;

	(void)p;
	if (size * n == 2) /* the empty line that ends the headers */
		s->headers = true;
	return size * n;
}

#define BOOKMARK "{\"type\":\"BOOKMARK\""

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct mstream *s = ud;
	char *nb = realloc(s->buf, s->len + size * n + 1);

	if (!nb)
		return 0;
	s->buf = nb;
	memcpy(s->buf + s->len, p, size * n);
	for (size_t i = s->len; i < s->len + size * n; i++) {
		const char *start, *rv;
		unsigned long long until = atomic_load(&s->until_rv);

		if (s->buf[i] != '\n')
			continue;
		s->events++;
		/* the line just completed */
		start =
		    memrchr(s->buf, '\n', i) ? (const char *)memrchr(s->buf, '\n', i) + 1 : s->buf;
		rv = strstr(start, "\"resourceVersion\":\"");
		if (!s->want && until && strncmp(start, BOOKMARK, sizeof(BOOKMARK) - 1) == 0 &&
		    rv && strtoull(rv + 19, NULL, 10) >= until)
			s->done = true;
	}
	s->len += size * n;
	s->buf[s->len] = 0;
	if (s->done || (s->want && s->events >= s->want))
		return 0; /* enough: hang up */
	return size * n;
}

static void *mwatch_main(void *arg)
{
	struct mwatch *m = arg;
	CURLM *cm = curl_multi_init();
	int running = 1;

	for (size_t i = 0; i < m->n; i++)
		curl_multi_add_handle(cm, m->s[i].c);
	while (running) {
		size_t h = 0, ev = 0;
		CURLMsg *msg;
		int left;

		curl_multi_perform(cm, &running);
		while ((msg = curl_multi_info_read(cm, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_WRITE_ERROR)
				print_message("a watch ended: %s\n",
					      curl_easy_strerror(msg->data.result));
		/* publish what this perform read before waiting for more (publishing after the
		 * poll made every lockstep round wait out its 100 ms timeout) */
		for (size_t i = 0; i < m->n; i++) {
			h += m->s[i].headers;
			ev += m->s[i].events;
		}
		pthread_mutex_lock(&m->mu);
		m->headers = h;
		for (size_t i = 0; i < m->n; i++)
			m->s[i].seen = m->s[i].events;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->mu);
		(void)ev;
		if (running)
			curl_multi_poll(cm, NULL, 0, 100, NULL);
	}
	for (size_t i = 0; i < m->n; i++)
		curl_multi_remove_handle(cm, m->s[i].c);
	curl_multi_cleanup(cm);
	pthread_mutex_lock(&m->mu);
	m->finished = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* Open n watches of paths[i] (each read until want[i] events) and wait until every one
 * is registered. */
static void mwatch_start(struct mwatch *m, struct tsrv *t, size_t n, char (*paths)[512],
			 const size_t *want)
{
	memset(m, 0, sizeof(*m));
	m->t = t;
	m->n = n;
	m->s = calloc(n, sizeof(*m->s));
	assert_non_null(m->s);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cond, NULL);
	for (size_t i = 0; i < n; i++) {
		struct mstream *s = &m->s[i];
		char url[700];

		snprintf(s->path, sizeof(s->path), "%s", paths[i]);
		snprintf(url, sizeof(url), "%s%s", t->base, s->path);
		s->want = want[i];
		s->c = curl_easy_init();
		curl_easy_setopt(s->c, CURLOPT_URL, url);
		curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(s->c, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(s->c, CURLOPT_HEADERDATA, s);
		curl_easy_setopt(s->c, CURLOPT_TIMEOUT, 120L);
	}
	assert_int_equal(pthread_create(&m->th, NULL, mwatch_main, m), 0);
	pthread_mutex_lock(&m->mu);
	while (m->headers < n && !m->finished)
		pthread_cond_wait(&m->cond, &m->mu);
	pthread_mutex_unlock(&m->mu);
	assert_int_equal(m->headers, n);
}

/* Wait for every stream to end and parse its events. */
static void mwatch_finish(struct mwatch *m)
{
	pthread_join(m->th, NULL);
	for (size_t i = 0; i < m->n; i++) {
		struct mstream *s = &m->s[i];

		s->d = jv_doc_new();
		s->ev = calloc(s->events + 1, sizeof(*s->ev));
		assert_non_null(s->ev);
		/* the events asked for: a read may bring later ones along in the same chunk */
		for (char *line = s->buf, *nl;
		     line && (!s->want || s->nev < s->want) && (nl = strchr(line, '\n')) != NULL;
		     line = nl + 1) {
			s->ev[s->nev] = jv_parse(s->d, line, (size_t)(nl - line), NULL);
			assert_non_null(s->ev[s->nev]);
			s->nev++;
		}
		curl_easy_cleanup(s->c);
	}
}

static void mwatch_free(struct mwatch *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->s[i].buf);
		free(m->s[i].ev);
		jv_doc_free(m->s[i].d);
	}
	free(m->s);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cond);
}

/* ---- objects ---- */

static void mkns(struct tsrv *t, const char *ns)
{
	char body[128];
	struct tresp r;

	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", ns);
	tpost(t, "/api/v1/namespaces", body, 201, &r);
	tresp_free(&r);
}

static void mkpod(struct tsrv *t, const char *ns, const char *name, const char *labels)
{
	char path[256], body[1024];
	struct tresp r;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	snprintf(body, sizeof(body),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"spec\":{\"containers\":"
		 "[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
		 name, labels ? labels : "");
	tpost(t, path, body, 201, &r);
	tresp_free(&r);
}

static void bindpod(struct tsrv *t, const char *ns, const char *name, const char *node)
{
	char path[256], body[256];
	struct tresp r;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/binding", ns, name);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"%s\"},"
		 "\"target\":{\"kind\":\"Node\",\"name\":\"%s\"}}",
		 name, node);
	tpost(t, path, body, 201, &r);
	tresp_free(&r);
}

static void patch(struct tsrv *t, const char *ns, const char *name, const char *sub,
		  const char *body)
{
	char path[256];
	struct tresp r;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s%s%s", ns, name, sub ? "/" : "",
		 sub ? sub : "");
	treq(t, "PATCH", path, "application/merge-patch+json", body, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
}

static void delpod(struct tsrv *t, const char *ns, const char *name)
{
	char path[256];
	struct tresp r;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=0", ns,
		 name);
	treq(t, "DELETE", path, NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
}

static unsigned long long rv_of(const struct jv *ev)
{
	return strtoull(tstr(ev, "object.metadata.resourceVersion"), NULL, 10);
}

/* The stream's events are exactly want (type name pairs), in increasing resourceVersion. */
static void assert_events(const struct mstream *s, const char *const *want, size_t n)
{
	unsigned long long prev = 0;

	if (s->nev != n) {
		for (size_t i = 0; i < s->nev; i++)
			print_message("%s: %s %s\n", s->path, tstr(s->ev[i], "type"),
				      tstr(s->ev[i], "object.metadata.name"));
	}
	assert_int_equal(s->nev, n);
	for (size_t i = 0; i < n; i++) {
		char got[256];

		snprintf(got, sizeof(got), "%s %s", tstr(s->ev[i], "type"),
			 tstr(s->ev[i], "object.metadata.name"));
		assert_string_equal(got, want[i]);
		assert_true(rv_of(s->ev[i]) > prev);
		prev = rv_of(s->ev[i]);
	}
}

/* ---- tests ---- */

/* The kubelet's watch: its node's pods, from the binding on, and nothing of another node's;
 * with a second field in the selector, moves in and out of it. */
static void test_kubelet_watch(void **state)
{
	static const char *const want[] = {"ADDED a", "MODIFIED a", "DELETED a", "ADDED r"};
	static const char *const want_running[] = {"ADDED r", "DELETED r", "ADDED s"};
	struct tsrv *t = *state;
	char paths[2][512];
	size_t counts[2] = {4, 3};
	struct mwatch m;

	mkns(t, "k1");
	snprintf(paths[0], 512,
		 "/api/v1/namespaces/k1/pods?watch=1&fieldSelector=spec.nodeName%%3Dn1");
	snprintf(paths[1], 512,
		 "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%%3Dn1,status.phase%%3DRunning");
	mwatch_start(&m, t, 2, paths, counts);
	mkpod(t, "k1", "a", NULL);
	mkpod(t, "k1", "b", NULL);
	bindpod(t, "k1", "a", "n1"); /* moves into the selection: ADDED */
	bindpod(t, "k1", "b", "n2");
	patch(t, "k1", "a", NULL, "{\"metadata\":{\"labels\":{\"x\":\"1\"}}}");
	patch(t, "k1", "b", NULL, "{\"metadata\":{\"labels\":{\"x\":\"1\"}}}");
	delpod(t, "k1", "a");
	delpod(t, "k1", "b");
	/* r: bound to n1 (the first watch's last event), Running (in the second's selection),
	 * then Succeeded (out of it); s: the second's last */
	mkpod(t, "k1", "r", NULL);
	bindpod(t, "k1", "r", "n1");
	patch(t, "k1", "r", "status", "{\"status\":{\"phase\":\"Running\"}}");
	patch(t, "k1", "r", "status", "{\"status\":{\"phase\":\"Succeeded\"}}");
	mkpod(t, "k1", "s", NULL);
	bindpod(t, "k1", "s", "n1");
	patch(t, "k1", "s", "status", "{\"status\":{\"phase\":\"Running\"}}");
	mwatch_finish(&m);
	assert_events(&m.s[0], want, 4);
	assert_string_equal(tstr(m.s[0].ev[0], "object.spec.nodeName"), "n1");
	assert_string_equal(tstr(m.s[0].ev[1], "object.metadata.labels.x"), "1");
	assert_events(&m.s[1], want_running, 3);
	/* moved out: DELETED with the new state */
	assert_string_equal(tstr(m.s[1].ev[1], "object.status.phase"), "Succeeded");
	mwatch_free(&m);
}

/* Label selectors: an update moving a pod into the selection is ADDED, out of it DELETED
 * with the new state (the resourceVersion of the update); in every namespace and in one. */
static void test_label_moves(void **state)
{
	static const char *const want[] = {"ADDED x",	"DELETED x", "ADDED x",
					   "DELETED x", "ADDED y",   "ADDED end"};
	struct tsrv *t = *state;
	char paths[2][512];
	size_t counts[2] = {6, 6};
	struct mwatch m;

	mkns(t, "l1");
	mkns(t, "l2");
	snprintf(paths[0], 512, "/api/v1/namespaces/l1/pods?watch=1&labelSelector=app%%3Dweb");
	snprintf(paths[1], 512, "/api/v1/pods?watch=1&labelSelector=app%%3Dweb,tier%%21%%3Dx");
	mwatch_start(&m, t, 2, paths, counts);
	mkpod(t, "l1", "x", "\"app\":\"web\"");
	mkpod(t, "l2", "other", "\"app\":\"web\",\"tier\":\"x\"");
	patch(t, "l1", "x", NULL, "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}");
	patch(t, "l1", "x", NULL, "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}");
	delpod(t, "l1", "x");
	mkpod(t, "l1", "y", "\"app\":\"db\"");
	patch(t, "l1", "y", NULL, "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}");
	mkpod(t, "l1", "end", "\"app\":\"web\"");
	mwatch_finish(&m);
	assert_events(&m.s[0], want, 6);
	assert_events(&m.s[1], want, 6);
	assert_string_equal(tstr(m.s[0].ev[1], "object.metadata.labels.app"), "db");
	assert_string_equal(tstr(m.s[0].ev[3], "object.metadata.labels.app"), "web");
	mwatch_free(&m);
}

/* 300 watchers of three kinds: every one gets exactly its events, in order. */
#define NW	300
#define NPODS	60
#define NGROUPS 10
static void test_many_watchers(void **state)
{
	struct tsrv *t = *state;
	char(*paths)[512] = calloc(NW, sizeof(*paths));
	size_t counts[NW];
	struct mwatch m;

	assert_non_null(paths);
	mkns(t, "many");
	for (size_t i = 0; i < NW; i++) {
		size_t g = i % NGROUPS;

		if (i < 100) {
			/* every pod: ADDED, MODIFIED (bound) */
			snprintf(paths[i], 512, "/api/v1/namespaces/many/pods?watch=1");
			counts[i] = 2 * NPODS;
		} else if (i < 200) {
			snprintf(paths[i], 512,
				 "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%%3Dmn%zu", g);
			counts[i] = NPODS / NGROUPS;
		} else {
			snprintf(paths[i], 512,
				 "/api/v1/namespaces/many/pods?watch=1&labelSelector=grp%%3Dg%zu",
				 g);
			counts[i] = 2 * NPODS / NGROUPS;
		}
	}
	mwatch_start(&m, t, NW, paths, counts);
	for (size_t k = 0; k < NPODS; k++) {
		char name[32], labels[32], node[16];

		snprintf(name, sizeof(name), "p%02zu", k);
		snprintf(labels, sizeof(labels), "\"grp\":\"g%zu\"", k % NGROUPS);
		snprintf(node, sizeof(node), "mn%zu", k % NGROUPS);
		mkpod(t, "many", name, labels);
		bindpod(t, "many", name, node);
	}
	mwatch_finish(&m);
	for (size_t i = 0; i < NW; i++) {
		struct mstream *s = &m.s[i];
		size_t g = i % NGROUPS, e = 0;
		unsigned long long prev = 0;

		assert_int_equal(s->nev, counts[i]);
		for (size_t k = 0; k < NPODS; k++) {
			char name[32];

			snprintf(name, sizeof(name), "p%02zu", k);
			if (i >= 100 && k % NGROUPS != g)
				continue;
			if (i < 100 || i >= 200) {
				assert_string_equal(tstr(s->ev[e], "type"), "ADDED");
				assert_string_equal(tstr(s->ev[e], "object.metadata.name"), name);
				e++;
			}
			assert_string_equal(tstr(s->ev[e], "type"),
					    i >= 100 && i < 200 ? "ADDED" : "MODIFIED");
			assert_string_equal(tstr(s->ev[e], "object.metadata.name"), name);
			e++;
		}
		assert_int_equal(e, s->nev);
		for (size_t k = 0; k < s->nev; k++) {
			assert_true(rv_of(s->ev[k]) > prev);
			prev = rv_of(s->ev[k]);
		}
	}
	mwatch_free(&m);
	free(paths);
}

/* The bookmarks of a kubelet's watch that gets no event carry the revision the hub passed:
 * read until one reaches the last write (only bookmarks come; a stuck revision never does). */
static void test_bookmark_progress(void **state)
{
	struct api_config cfg = {.bookmark_interval_s = 1};
	struct tsrv t2;
	char paths[1][512];
	size_t counts[1] = {0};
	struct mwatch m;
	struct tresp r;
	unsigned long long rv0;

	(void)state;
	tsrv_start_cfg(&t2, &cfg);
	mkns(&t2, "bm");
	rv0 = strtoull(
	    tstr(tget(&t2, "/api/v1/namespaces/bm/pods", 200, &r), "metadata.resourceVersion"),
	    NULL, 10);
	tresp_free(&r);
	snprintf(paths[0], 512,
		 "/api/v1/namespaces/bm/pods?watch=1&allowWatchBookmarks=true&resourceVersion=%llu&"
		 "fieldSelector=spec.nodeName%%3Dn1",
		 rv0);
	mwatch_start(&m, &t2, 1, paths, counts);
	mkpod(&t2, "bm", "b", NULL);
	bindpod(&t2, "bm", "b", "n2");
	atomic_store(&m.s[0].until_rv,
		     strtoull(tstr(tget(&t2, "/api/v1/namespaces/bm/pods/b", 200, &r),
				   "metadata.resourceVersion"),
			      NULL, 10));
	tresp_free(&r);
	mwatch_finish(&m);
	assert_true(m.s[0].nev >= 1);
	for (size_t i = 0; i < m.s[0].nev; i++)
		assert_string_equal(tstr(m.s[0].ev[i], "type"), "BOOKMARK");
	assert_true(rv_of(m.s[0].ev[m.s[0].nev - 1]) >= atomic_load(&m.s[0].until_rv));
	mwatch_free(&m);
	tsrv_stop(&t2);
}

/* ---- a watcher that does not read ---- */

static void wait_events(struct mwatch *m, size_t i, size_t n)
{
	/* the curl thread publishes after each perform; poll its count under the lock */
	for (;;) {
		size_t have;

		bool finished;

		pthread_mutex_lock(&m->mu);
		have = m->s[i].seen;
		finished = m->finished;
		if (have < n && !finished)
			pthread_cond_wait(&m->cond, &m->mu);
		pthread_mutex_unlock(&m->mu);
		if (have >= n)
			return;
		assert_false(finished);
	}
}

static void test_slow_watcher_ended(void **state)
{
	struct api_config cfg = {.watch_queue_max = 16};
	struct tsrv t2;
	char paths[1][512], req[512], *value, *body;
	size_t counts[1] = {200};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 60};
	struct mwatch m;
	int fd, small = 4096, n;
	size_t got = 0, cap = 1 << 20;
	char *in = malloc(cap);
	bool ended = false;

	(void)state;
	assert_non_null(in);
	tsrv_start_cfg(&t2, &cfg);
	mkns(&t2, "slow");
	/* the slow one: a small receive window, and it reads nothing until the end */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sa.sin_port = htons(api_server_port(t2.s));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req),
		     "GET /api/v1/namespaces/slow/configmaps?watch=1 HTTP/1.1\r\n"
		     "Host: 127.0.0.1\r\n\r\n");
	assert_int_equal(write(fd, req, (size_t)n), n);
	snprintf(paths[0], 512, "/api/v1/namespaces/slow/configmaps?watch=1");
	mwatch_start(&m, &t2, 1, paths, counts);
	value = malloc(32 * 1024 + 1);
	body = malloc(33 * 1024);
	assert_non_null(value);
	assert_non_null(body);
	memset(value, 'v', 32 * 1024);
	value[32 * 1024] = 0;
	/* in lockstep with the reading watcher: its queue never holds more than one */
	for (int i = 0; i < 200; i++) {
		struct tresp r;

		snprintf(body, 33 * 1024,
			 "{\"metadata\":{\"name\":\"c%03d\"},\"data\":{\"v\":\"%s\"}}", i, value);
		tpost(&t2, "/api/v1/namespaces/slow/configmaps", body, 201, &r);
		tresp_free(&r);
		wait_events(&m, 0, (size_t)i + 1);
	}
	mwatch_finish(&m);
	assert_int_equal(m.s[0].nev, 200);
	for (int i = 0; i < 200; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%03d", i);
		assert_string_equal(tstr(m.s[0].ev[i], "object.metadata.name"), name);
	}
	mwatch_free(&m);
	/* the slow one was ended: its stream closes after what it had buffered, short of 200 */
	for (;;) {
		ssize_t k;

		if (got + 65536 > cap) {
			/* keep the tail only: the end marker is what matters */
			memmove(in, in + got - 16, 16);
			got = 16;
		}
		k = read(fd, in + got, 65536);
		assert_true(k > 0); /* not a timeout: the server ends it */
		got += (size_t)k;
		if (got >= 7 && memcmp(in + got - 7, "\r\n0\r\n\r\n", 7) == 0) {
			ended = true;
			break;
		}
	}
	assert_true(ended);
	close(fd);
	free(in);
	free(value);
	free(body);
	tsrv_stop(&t2);
}

/* ---- the kubelet's list ---- */

/* The names of the pods a list of path gives, "a,b" (in the order listed), and how many
 * stored versions the store looked at for it into *visited. */
static const char *list_names(struct tsrv *t, const char *path, char *buf, size_t size,
			      uint64_t *visited)
{
	struct store *st = api_server_registry(t->s)->store;
	struct store_stats a, b;
	struct tresp r;
	struct jv *j;
	size_t n = 0;

	assert_int_equal(store_get_stats(st, &a), 0);
	j = tget(t, path, 200, &r);
	assert_int_equal(store_get_stats(st, &b), 0);
	buf[0] = 0;
	for (const struct jv *it = jv_first(jv_get(j, "items")); it; it = it->next)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "",
				      jv_path_str(it, "metadata.name") ?: "?");
	tresp_free(&r);
	if (visited)
		*visited = b.list_visited - a.list_visited;
	return buf;
}

#define N1 "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1"

/* A kubelet's list (spec.nodeName=n1) reads n1's pods from the store's index, not every pod:
 * right after creates, a binding that puts a pod on n1, a deletion, and a restart (the index
 * made again from what the store recovered). */
static void test_kubelet_list(void **state)
{
	struct tsrv t;
	char buf[512], old[256];
	uint64_t visited;
	struct tresp r;

	(void)state;
	tsrv_start(&t);
	mkns(&t, "kl");
	mkpod(&t, "kl", "a", NULL);
	mkpod(&t, "kl", "b", NULL);
	mkpod(&t, "kl", "c", NULL);
	mkpod(&t, "kl", "d", NULL);
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%02d", i);
		mkpod(&t, "kl", name, NULL);
	}
	bindpod(&t, "kl", "a", "n1");
	bindpod(&t, "kl", "c", "n2");
	bindpod(&t, "kl", "d", "n1");
	assert_string_equal(list_names(&t, N1, buf, sizeof(buf), &visited), "a,d");
	assert_int_equal(visited, 2); /* not the 24 pods */
	snprintf(old, sizeof(old), "%s&resourceVersion=%llu&resourceVersionMatch=Exact", N1,
		 (unsigned long long)store_revision(api_server_registry(t.s)->store));
	bindpod(&t, "kl", "b", "n1");
	assert_string_equal(list_names(&t, N1, buf, sizeof(buf), &visited), "a,b,d");
	assert_int_equal(visited, 3);
	/* the list before the binding (no index for an older revision) */
	assert_string_equal(list_names(&t, old, buf, sizeof(buf), NULL), "a,d");
	/* pages of two: the first from the index, the next at its revision */
	{
		struct tresp r2;
		struct jv *j = tget(&t, N1 "&limit=2", 200, &r2);
		char path[512];

		assert_int_equal(jv_count(jv_get(j, "items")), 2);
		snprintf(path, sizeof(path), "%s&limit=2&continue=%s", N1,
			 tstr(j, "metadata.continue"));
		tresp_free(&r2);
		assert_string_equal(list_names(&t, path, buf, sizeof(buf), NULL), "d");
	}
	assert_string_equal(
	    list_names(&t, "/api/v1/namespaces/kl/pods?fieldSelector=spec.nodeName%3Dn2", buf,
		       sizeof(buf), NULL),
	    "c");
	/* the unscheduled: the 20 others, b no longer */
	list_names(&t, "/api/v1/pods?fieldSelector=spec.nodeName%3D", buf, sizeof(buf), &visited);
	assert_int_equal(visited, 20);
	assert_null(strstr(buf, "b"));
	treq(&t, "DELETE", "/api/v1/namespaces/kl/pods/d?gracePeriodSeconds=0", NULL, NULL, NULL,
	     &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	assert_string_equal(list_names(&t, N1, buf, sizeof(buf), NULL), "a,b");
	tsrv_restart(&t);
	assert_string_equal(list_names(&t, N1, buf, sizeof(buf), &visited), "a,b");
	assert_int_equal(visited, 2);
	assert_string_equal(
	    list_names(&t,
		       "/api/v1/namespaces/kl/pods?fieldSelector=spec.nodeName%3Dn1,"
		       "metadata.name%21%3Da",
		       buf, sizeof(buf), NULL),
	    "b");
	tsrv_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kubelet_watch),      cmocka_unit_test(test_label_moves),
	    cmocka_unit_test(test_many_watchers),      cmocka_unit_test(test_bookmark_progress),
	    cmocka_unit_test(test_slow_watcher_ended), cmocka_unit_test(test_kubelet_list),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
