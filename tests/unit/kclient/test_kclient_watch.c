/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kclient_watch: watches over the HTTPS transport against an in-process API server that
 * sends bookmarks every second and compacts its history every second: events in order with
 * rising resourceVersions, the initial state of a watch from "0", bookmarks only when asked,
 * -KC_EGONE for a compacted resourceVersion (watch and continue token), start errors as the
 * call's error, the end of a timed-out stream, 1,000 concurrent watches on one client served
 * by one thread, kc_watch_stop racing a running callback and called from another watch's
 * callback, and kclient_free with watches still open. Every wait is for a condition.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_helpers.h"

/* ---- a recorder of events ---- */

#define MAXREC 256

struct rec {
	pthread_mutex_t mu;
	int n, bookmarks, ended, end_err;
	enum kc_event_type type[MAXREC];
	char name[MAXREC][64];
	char data[MAXREC][64];
	uint64_t rv[MAXREC];
	uint64_t bookmark_rv;
	char bookmark_kind[64];
};

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
}

static void on_rec_event(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct rec *r = arg;
	struct jv_doc *d = jv_doc_new();
	struct jv *v = kc_obj_parse(o, d);

	pthread_mutex_lock(&r->mu);
	if (t == KC_BOOKMARK) {
		r->bookmarks++;
		r->bookmark_rv = o->rv;
		snprintf(r->bookmark_kind, sizeof(r->bookmark_kind), "%s", tstr(v, "kind"));
	} else if (r->n < MAXREC) {
		r->type[r->n] = t;
		r->rv[r->n] = o->rv;
		snprintf(r->name[r->n], sizeof(r->name[0]), "%s", tstr(v, "metadata.name"));
		snprintf(r->data[r->n], sizeof(r->data[0]), "%s", tstr(v, "data.k"));
		r->n++;
	}
	pthread_mutex_unlock(&r->mu);
	jv_doc_free(d);
}

static void on_rec_end(void *arg, int err)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->mu);
	r->ended++;
	r->end_err = err;
	pthread_mutex_unlock(&r->mu);
}

static const struct kc_watch_cb rec_cb = {.event = on_rec_event, .end = on_rec_end};

static int rec_n(struct rec *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static int rec_get(struct rec *r, int *field)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = *field;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static struct kclient *C(void **state)
{
	return ((struct ksrv *)*state)->tc;
}

/* The current resourceVersion of configmaps in ns. */
static uint64_t list_rv(struct kclient *c, const char *ns)
{
	struct kc_list l;
	struct kc_status st;
	uint64_t rv;

	assert_int_equal(kc_list(c, kind_cm(), ns, NULL, &l, &st), 0);
	rv = l.rv;
	kc_list_free(&l);
	return rv;
}

static void merge(struct kclient *c, const char *ns, const char *name, const char *value)
{
	char patch[256];
	struct kc_status st;
	int err;

	snprintf(patch, sizeof(patch), "{\"data\":{\"k\":\"%s\"}}", value);
	err = kc_patch(c, kind_cm(), ns, name, NULL, KC_PATCH_MERGE, patch, strlen(patch), NULL,
		       NULL, &st);
	if (err)
		fail_msg("patch %s/%s: %s: %s", ns, name, kc_strerror(err), st.message);
}

static void test_events_in_order(void **state)
{
	struct kclient *c = C(state);
	struct kc_watch_opts wo = {0};
	struct kc_watch *w = NULL, *w0 = NULL;
	struct kc_status st;
	struct kc_stats s0, s1;
	static struct rec r, r0;
	char rv[32];

	rec_init(&r);
	rec_init(&r0);
	kc_make_ns(c, "order");
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)list_rv(c, "order"));
	wo.resource_version = rv;
	kclient_stats(c, &s0);
	assert_int_equal(kc_watch(c, kind_cm(), "order", &wo, &rec_cb, &r, &w, &st), 0);
	assert_non_null(w);
	kc_make(c, kind_cm(), "order", "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"1\"}}");
	merge(c, "order", "a", "2");
	assert_int_equal(kc_delete(c, kind_cm(), "order", "a", NULL, NULL, &st), 0);
	kc_make(c, kind_cm(), "order", "{\"metadata\":{\"name\":\"b\"},\"data\":{\"k\":\"3\"}}");
	assert_true(WAIT_UNTIL(rec_n(&r) >= 4, KC_WAIT_MS));
	kc_watch_stop(w);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.type[0], KC_ADDED);
	assert_int_equal(r.type[1], KC_MODIFIED);
	assert_int_equal(r.type[2], KC_DELETED);
	assert_int_equal(r.type[3], KC_ADDED);
	assert_string_equal(r.name[0], "a");
	assert_string_equal(r.data[0], "1");
	assert_string_equal(r.data[1], "2");
	assert_string_equal(r.name[2], "a");
	assert_string_equal(r.data[2], "2"); /* its last state */
	assert_string_equal(r.name[3], "b");
	for (int i = 1; i < 4; i++)
		assert_true(r.rv[i] > r.rv[i - 1]);
	assert_true(r.rv[0] > strtoull(rv, NULL, 10));
	assert_int_equal(r.ended, 0); /* stopped, not ended: no end callback */
	kclient_stats(c, &s1);
	assert_int_equal(s1.watches_opened - s0.watches_opened, 1);
	assert_true(s1.watch_events - s0.watch_events >= 4);

	/* from "0": the current state first */
	wo.resource_version = "0";
	assert_int_equal(kc_watch(c, kind_cm(), "order", &wo, &rec_cb, &r0, &w0, &st), 0);
	assert_true(WAIT_UNTIL(rec_n(&r0) >= 1, KC_WAIT_MS));
	kc_watch_stop(w0);
	assert_int_equal(r0.type[0], KC_ADDED);
	assert_string_equal(r0.name[0], "b");
	assert_int_equal(r0.rv[0], r.rv[3]);
}

static void test_bookmarks(void **state)
{
	struct kclient *c = C(state);
	struct kc_watch_opts wo = {.bookmarks = true};
	struct kc_watch *wb = NULL, *wn = NULL;
	struct kc_status st;
	static struct rec rb, rn;
	char rv[32];
	uint64_t start;

	rec_init(&rb);
	rec_init(&rn);
	kc_make_ns(c, "bm");
	start = list_rv(c, "bm");
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)start);
	wo.resource_version = rv;
	/* the one without bookmarks first: it has been open at least as long */
	wo.bookmarks = false;
	assert_int_equal(kc_watch(c, kind_cm(), "bm", &wo, &rec_cb, &rn, &wn, &st), 0);
	wo.bookmarks = true;
	assert_int_equal(kc_watch(c, kind_cm(), "bm", &wo, &rec_cb, &rb, &wb, &st), 0);
	assert_true(WAIT_UNTIL(rec_get(&rb, &rb.bookmarks) >= 2, KC_WAIT_MS));
	kc_watch_stop(wb);
	kc_watch_stop(wn);
	assert_true(rb.bookmark_rv >= start);
	assert_string_equal(rb.bookmark_kind, "ConfigMap");
	assert_int_equal(rb.n, 0);
	/* not asked for: none */
	assert_int_equal(rn.bookmarks, 0);
	assert_int_equal(rn.n, 0);
}

static void test_gone(void **state)
{
	struct kclient *c = C(state);
	struct kc_list_opts lo = {.limit = 1};
	struct kc_watch_opts wo = {.timeout_s = 2};
	struct kc_status st;
	struct kc_list l;
	char rv[32], *token;
	bool gone = false;
	int tries = 0;

	kc_make_ns(c, "gone");
	kc_make(c, kind_cm(), "gone", "{\"metadata\":{\"name\":\"a\"}}");
	kc_make(c, kind_cm(), "gone", "{\"metadata\":{\"name\":\"b\"}}");
	assert_int_equal(kc_list(c, kind_cm(), "gone", &lo, &l, &st), 0);
	assert_non_null(l.next);
	token = strdup(l.next);
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)l.rv);
	kc_list_free(&l);
	wo.resource_version = rv;
	/* each try writes (so compaction passes rv) and watches from rv: once the history is
	 * gone the stream's end says so */
	for (uint64_t end = mono_ms() + 60000; !gone && mono_ms() < end; tries++) {
		struct kc_watch *w = NULL;
		static struct rec r;
		char v[16];
		int err;

		snprintf(v, sizeof(v), "%d", tries);
		merge(c, "gone", "a", v);
		rec_init(&r);
		err = kc_watch(c, kind_cm(), "gone", &wo, &rec_cb, &r, &w, &st);
		if (err == -KC_EGONE) { /* a server may also refuse it outright */
			gone = true;
			break;
		}
		assert_int_equal(err, 0);
		assert_true(WAIT_UNTIL(rec_get(&r, &r.ended), KC_WAIT_MS));
		kc_watch_stop(w);
		if (r.end_err == -KC_EGONE) {
			gone = true;
			assert_int_equal(r.n, 0); /* nothing before the 410 */
		} else {
			assert_int_equal(r.end_err, 0); /* timed out cleanly */
			assert_true(r.n >= 1);		/* replayed the history */
		}
	}
	assert_true(gone);
	/* the continue token of that old list is gone too */
	lo.continue_token = token;
	assert_int_equal(kc_list(c, kind_cm(), "gone", &lo, &l, &st), -KC_EGONE);
	assert_int_equal(st.code, 410);
	assert_string_equal(st.reason, "Expired");
	free(token);
}

static void test_start_errors_and_timeout(void **state)
{
	struct kclient *c = C(state);
	struct kc_watch_opts wo = {.label_selector = "env in (a", .resource_version = "0"};
	struct kc_watch *w = (struct kc_watch *)1;
	struct kc_status st;
	static struct rec r;

	rec_init(&r);
	assert_int_equal(kc_watch(c, kind_cm(), "default", &wo, &rec_cb, &r, &w, &st), -KC_EAPI);
	assert_null(w);
	assert_int_equal(st.code, 400);
	assert_string_equal(st.reason, "BadRequest");
	wo.label_selector = NULL;
	wo.resource_version = "x";
	assert_int_equal(kc_watch(c, kind_cm(), "default", &wo, &rec_cb, &r, &w, &st), -KC_EAPI);
	assert_non_null(strstr(st.message, "invalid resource version"));
	assert_int_equal(kc_watch(c, kind_cm(), "default", &wo, NULL, &r, &w, &st), -EINVAL);
	assert_int_equal(r.ended, 0);

	/* timeoutSeconds: the stream ends cleanly */
	wo.resource_version = "";
	wo.timeout_s = 1;
	assert_int_equal(kc_watch(c, kind_cm(), "default", &wo, &rec_cb, &r, &w, &st), 0);
	assert_true(WAIT_UNTIL(rec_get(&r, &r.ended), KC_WAIT_MS));
	assert_int_equal(r.end_err, 0);
	kc_watch_stop(w);
	assert_int_equal(r.ended, 1);
}

/* ---- 1,000 watches, one client ---- */

#define NWATCH 1000

struct one {
	int i;
	atomic_int n, wrong, ended;
};

static void on_one(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct one *w = arg;
	struct jv_doc *d = jv_doc_new();
	char want[32];

	if (t == KC_BOOKMARK) {
		jv_doc_free(d);
		return;
	}
	snprintf(want, sizeof(want), "cm-%d", w->i);
	if (t != KC_ADDED || strcmp(ostr(d, o, "metadata.name"), want) != 0)
		atomic_fetch_add(&w->wrong, 1);
	atomic_fetch_add(&w->n, 1);
	jv_doc_free(d);
}

static void on_one_end(void *arg, int err)
{
	struct one *w = arg;

	(void)err;
	atomic_fetch_add(&w->ended, 1);
}

static void test_thousand_watches(void **state)
{
	struct ksrv *k = *state;
	struct kclient *c = kc_plain_client(k->t.base);
	static const struct kc_watch_cb cb = {.event = on_one, .end = on_one_end};
	struct one *ws = calloc(NWATCH, sizeof(*ws));
	struct kc_watch **h = calloc(NWATCH, sizeof(*h));
	struct kc_status st;
	struct kc_stats s;
	char rv[32], sel[64], json[128];
	int before, during, total;

	assert_non_null(ws);
	assert_non_null(h);
	kc_make_ns(k->c, "many");
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)list_rv(k->c, "many"));
	before = count_threads();
	for (int i = 0; i < NWATCH; i++) {
		struct kc_watch_opts wo = {.resource_version = rv, .field_selector = sel};

		ws[i].i = i;
		snprintf(sel, sizeof(sel), "metadata.name=cm-%d", i);
		if (kc_watch(c, kind_cm(), "many", &wo, &cb, &ws[i], &h[i], &st) != 0)
			fail_msg("watch %d: %s", i, st.message);
	}
	during = count_threads();
	for (int i = 0; i < NWATCH; i++) {
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"cm-%d\"}}", i);
		kc_make(k->c, kind_cm(), "many", json);
	}
	for (uint64_t end = mono_ms() + 120000;; usleep(10000)) {
		total = 0;
		for (int i = 0; i < NWATCH; i++)
			total += atomic_load(&ws[i].n) > 0;
		if (total == NWATCH || mono_ms() > end)
			break;
	}
	assert_int_equal(total, NWATCH);
	/* every watch its own object, exactly once; none ended */
	for (int i = 0; i < NWATCH; i++) {
		assert_int_equal(atomic_load(&ws[i].n), 1);
		assert_int_equal(atomic_load(&ws[i].wrong), 0);
		assert_int_equal(atomic_load(&ws[i].ended), 0);
	}
	/* one thread serves them all (the server in this process adds none per watch) */
	assert_true(during - before <= 1);
	kclient_stats(c, &s);
	assert_int_equal(s.watches_opened, NWATCH);
	assert_true(s.watch_events >= NWATCH);
	for (int i = 0; i < NWATCH; i++)
		kc_watch_stop(h[i]);
	kclient_free(c);
	free(ws);
	free(h);
}

/* ---- stopping ---- */

struct slow {
	atomic_int in_cb, n;
};

static void on_slow(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct slow *s = arg;

	(void)o;
	if (t == KC_BOOKMARK)
		return;
	atomic_store(&s->in_cb, 1);
	usleep(2000); /* widens the window a stop could race into */
	atomic_fetch_add(&s->n, 1);
	atomic_store(&s->in_cb, 0);
}

static void on_slow_end(void *arg, int err)
{
	(void)arg;
	(void)err;
}

struct writer {
	struct kclient *c;
	const char *ns;
	atomic_int stop, n;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char v[16];

	while (!atomic_load(&w->stop)) {
		snprintf(v, sizeof(v), "%d", atomic_load(&w->n));
		merge(w->c, w->ns, "s", v);
		atomic_fetch_add(&w->n, 1);
	}
	return NULL;
}

static void test_stop_races_callback(void **state)
{
	struct kclient *c = C(state);
	static const struct kc_watch_cb cb = {.event = on_slow, .end = on_slow_end};
	struct kc_watch_opts wo = {.resource_version = "0"};
	struct kc_watch *w = NULL, *obs = NULL;
	static struct writer wr;
	struct kc_status st;
	static struct slow s;
	static struct rec r;
	pthread_t th;
	int n_at_stop, seen;

	memset(&s, 0, sizeof(s));
	memset(&wr, 0, sizeof(wr));
	wr.c = c;
	wr.ns = "stop";
	rec_init(&r);
	kc_make_ns(c, "stop");
	kc_make(c, kind_cm(), "stop", "{\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"x\"}}");
	assert_int_equal(kc_watch(c, kind_cm(), "stop", &wo, &cb, &s, &w, &st), 0);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &wr), 0);
	assert_true(WAIT_UNTIL(atomic_load(&s.n) >= 20, KC_WAIT_MS));
	kc_watch_stop(w);
	/* when it returns, no callback runs ... */
	assert_int_equal(atomic_load(&s.in_cb), 0);
	n_at_stop = atomic_load(&s.n);
	/* ... nor will: an observer sees later writes, the stopped watch does not */
	assert_int_equal(kc_watch(c, kind_cm(), "stop", &wo, &rec_cb, &r, &obs, &st), 0);
	seen = rec_n(&r);
	assert_true(WAIT_UNTIL(rec_n(&r) >= seen + 20, KC_WAIT_MS));
	atomic_store(&wr.stop, 1);
	pthread_join(th, NULL);
	kc_watch_stop(obs);
	assert_int_equal(atomic_load(&s.n), n_at_stop);
}

/* One flooded watch holds up neither the others nor a stop: curl reads up to 100 buffers
 * of a busy stream per call (thousands of events); the loop pauses a stream after its
 * share of a round. Measured in events of the flooded watch, not in time. */
struct fair {
	struct slow a;
	atomic_int b_seen;
};

static void on_fair_b(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct fair *f = arg;

	(void)o;
	if (t == KC_ADDED)
		atomic_store(&f->b_seen, 1);
}

static void test_fair_between_watches(void **state)
{
	struct kclient *c = C(state);
	static const struct kc_watch_cb ca = {.event = on_slow, .end = on_slow_end};
	static const struct kc_watch_cb cbb = {.event = on_fair_b, .end = on_slow_end};
	struct kc_watch_opts wo = {.resource_version = "0"};
	struct kc_watch *wa = NULL, *wb = NULL;
	static struct writer wr;
	static struct fair f;
	struct kc_status st;
	pthread_t th;
	int a0, a1;

	memset(&f, 0, sizeof(f));
	memset(&wr, 0, sizeof(wr));
	wr.c = c;
	wr.ns = "fair1";
	kc_make_ns(c, "fair1");
	kc_make_ns(c, "fair2");
	kc_make(c, kind_cm(), "fair1", "{\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"x\"}}");
	assert_int_equal(kc_watch(c, kind_cm(), "fair1", &wo, &ca, &f.a, &wa, &st), 0);
	assert_int_equal(kc_watch(c, kind_cm(), "fair2", &wo, &cbb, &f, &wb, &st), 0);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &wr), 0);
	/* the flooded watch falls thousands of events behind the writer */
	assert_true(WAIT_UNTIL(atomic_load(&wr.n) - atomic_load(&f.a.n) > 4000, 60000));
	/* another watch still gets its event */
	kc_make(c, kind_cm(), "fair2", "{\"metadata\":{\"name\":\"b\"}}");
	assert_true(WAIT_UNTIL(atomic_load(&f.b_seen), KC_WAIT_MS));
	/* a stop waits for the flooded watch's share of a round or two, not for its backlog
	 * (without the rounds, curl's read loop delivers thousands of events first) */
	a0 = atomic_load(&f.a.n);
	kc_watch_stop(wa);
	a1 = atomic_load(&f.a.n);
	atomic_store(&wr.stop, 1);
	pthread_join(th, NULL);
	kc_watch_stop(wb);
	assert_true(a1 - a0 < 1000);
}

struct pair {
	struct kc_watch *victim;
	atomic_int a_events;
	int b_events, b_at_stop;
	bool stopped;
};

static void on_a(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct pair *p = arg;

	(void)o;
	if (t == KC_BOOKMARK)
		return;
	/* callbacks of one client run on one thread: no lock needed between a and b */
	p->a_events++;
	if (p->a_events == 3 && p->victim) {
		p->b_at_stop = p->b_events;
		kc_watch_stop(p->victim); /* from the watch thread: deferred */
		p->stopped = true;
	}
}

static void on_b(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct pair *p = arg;

	(void)o;
	if (t != KC_BOOKMARK)
		p->b_events++;
}

static void test_stop_from_another_callback(void **state)
{
	struct kclient *c = C(state);
	static const struct kc_watch_cb ca = {.event = on_a, .end = on_slow_end};
	static const struct kc_watch_cb cbb = {.event = on_b, .end = on_slow_end};
	struct kc_watch_opts wo = {0};
	struct kc_watch *wa = NULL, *wb = NULL;
	static struct pair p;
	struct kc_status st;
	char rv[32], v[16];

	memset(&p, 0, sizeof(p));
	kc_make_ns(c, "stop2");
	kc_make(c, kind_cm(), "stop2", "{\"metadata\":{\"name\":\"s\"}}");
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)list_rv(c, "stop2"));
	wo.resource_version = rv;
	assert_int_equal(kc_watch(c, kind_cm(), "stop2", &wo, &cbb, &p, &wb, &st), 0);
	p.victim = wb;
	assert_int_equal(kc_watch(c, kind_cm(), "stop2", &wo, &ca, &p, &wa, &st), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(v, sizeof(v), "%d", i);
		merge(c, "stop2", "s", v);
	}
	assert_true(WAIT_UNTIL(atomic_load(&p.a_events) >= 10, KC_WAIT_MS));
	kc_watch_stop(wa);
	assert_true(p.stopped);
	assert_int_equal(p.b_events, p.b_at_stop);
}

static void test_free_with_open_watches(void **state)
{
	struct ksrv *k = *state;
	struct kclient *c = kc_plain_client(k->t.base);
	struct kc_watch_opts wo = {.resource_version = "0"};
	struct kc_watch *w[3];
	struct kc_status st;
	static struct rec r;

	rec_init(&r);
	for (int i = 0; i < 3; i++)
		assert_int_equal(kc_watch(c, kind_cm(), NULL, &wo, &rec_cb, &r, &w[i], &st), 0);
	assert_true(WAIT_UNTIL(rec_n(&r) >= 3, KC_WAIT_MS));
	/* frees the watches too (ASan checks), calls no end */
	kclient_free(c);
	assert_int_equal(r.ended, 0);
}

static int group_setup(void **state)
{
	struct ksrv *k = calloc(1, sizeof(*k));
	struct api_config cfg = {.bookmark_interval_s = 1, .compact_interval_s = 1};

	assert_non_null(k);
	ksrv_start(k, &cfg);
	*state = k;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_events_in_order, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_bookmarks, ksrv_test_setup, ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_gone, ksrv_test_setup, ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_start_errors_and_timeout, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_thousand_watches, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_races_callback, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_fair_between_watches, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_from_another_callback, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_free_with_open_watches, ksrv_test_setup,
					    ksrv_test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, ksrv_group_teardown);
}
