/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_informer: the reflector and informer over the HTTPS transport against an in-process
 * API server (bookmarks and compaction every second): synced after a paged list, handlers
 * with the right old and new states, the built-in namespace index and the label, owner and
 * node indexes as objects change, resuming after short watches with no duplicate add, the
 * re-list after a 410 that delivers exactly the difference (a delete for an object deleted
 * while the watch was down, an update for one changed, nothing for one unchanged), resync,
 * cluster-scoped keys, a stop that keeps the cache, and no hot loop against a server that
 * is down (attempts counted).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_helpers.h"

/* ---- a recorder of handler calls ---- */

#define MAXCALLS 512

struct call {
	char op;       /* 'a' add, 'u' update, 'd' delete */
	char name[64]; /* of cur (add, update) or of the deleted object */
	char old_data[64], data[64];
	uint64_t old_rv, rv;
	bool old_null, same; /* update: old == cur (a resync) */
};

struct hrec {
	pthread_mutex_t mu;
	struct call c[MAXCALLS];
	int n;
	struct kc_informer *inf;
	bool synced_at_first_add; /* the informer said synced before the first add? */
};

static void hrec_init(struct hrec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
}

static struct call *hrec_next(struct hrec *r)
{
	return r->n < MAXCALLS ? &r->c[r->n++] : NULL;
}

static void h_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct hrec *r = arg;
	struct call *c;

	pthread_mutex_lock(&r->mu);
	if (r->n == 0 && r->inf)
		r->synced_at_first_add = kc_informer_synced(r->inf);
	c = hrec_next(r);
	if (c) {
		c->op = 'a';
		c->rv = o->rv;
		snprintf(c->name, sizeof(c->name), "%s", tstr(t, "metadata.name"));
		snprintf(c->data, sizeof(c->data), "%s", tstr(t, "data.k"));
	}
	pthread_mutex_unlock(&r->mu);
}

static void h_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		     const struct kc_obj *cur, const struct jv *cur_t)
{
	struct hrec *r = arg;
	struct call *c;

	pthread_mutex_lock(&r->mu);
	c = hrec_next(r);
	if (c) {
		c->op = 'u';
		c->rv = cur->rv;
		c->old_null = !old;
		c->old_rv = old ? old->rv : 0;
		c->same = old == cur;
		snprintf(c->name, sizeof(c->name), "%s", tstr(cur_t, "metadata.name"));
		snprintf(c->data, sizeof(c->data), "%s", tstr(cur_t, "data.k"));
		snprintf(c->old_data, sizeof(c->old_data), "%s", tstr(old_t, "data.k"));
	}
	pthread_mutex_unlock(&r->mu);
}

static void h_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct hrec *r = arg;
	struct call *c;

	pthread_mutex_lock(&r->mu);
	c = hrec_next(r);
	if (c) {
		c->op = 'd';
		c->rv = o->rv;
		snprintf(c->name, sizeof(c->name), "%s", tstr(t, "metadata.name"));
		snprintf(c->data, sizeof(c->data), "%s", tstr(t, "data.k"));
	}
	pthread_mutex_unlock(&r->mu);
}

/* Calls of op for name (op 0: any). */
static int hcount(struct hrec *r, char op, const char *name)
{
	int n = 0;

	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n; i++)
		if ((!op || r->c[i].op == op) && (!name || !strcmp(r->c[i].name, name)))
			n++;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* The last call of op for name (a copy); false if none. */
static bool hlast(struct hrec *r, char op, const char *name, struct call *out)
{
	bool found = false;

	pthread_mutex_lock(&r->mu);
	for (int i = r->n - 1; i >= 0 && !found; i--)
		if (r->c[i].op == op && !strcmp(r->c[i].name, name)) {
			*out = r->c[i];
			found = true;
		}
	pthread_mutex_unlock(&r->mu);
	return found;
}

static struct ksrv *group;

/* A new informer with the recorder's handlers, freed by the test's teardown. */
static struct kc_informer *start_informer(struct kclient *c, struct kc_informer_opts *o,
					  struct hrec *r)
{
	struct kc_informer *inf = kc_informer_new(c, o);
	struct kc_handlers h = {.add = h_add, .update = h_update, .del = h_del, .arg = r};

	assert_non_null(inf);
	ksrv_track(group, inf);
	r->inf = inf;
	assert_int_equal(kc_informer_add_handlers(inf, &h), 0);
	return inf;
}

static struct kclient *C(void **state)
{
	return ((struct ksrv *)*state)->tc;
}

static void cm(struct kclient *c, const char *ns, const char *name, const char *value)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"k\":\"%s\"}}",
		 name, value);
	kc_make(c, kind_cm(), ns, json);
}

static void set(struct kclient *c, const char *ns, const char *name, const char *value)
{
	char patch[128];
	struct kc_status st;

	snprintf(patch, sizeof(patch), "{\"data\":{\"k\":\"%s\"}}", value);
	assert_int_equal(kc_patch(c, kind_cm(), ns, name, NULL, KC_PATCH_MERGE, patch,
				  strlen(patch), NULL, NULL, &st),
			 0);
}

static void del(struct kclient *c, const char *ns, const char *name)
{
	struct kc_status st;

	assert_int_equal(kc_delete(c, kind_cm(), ns, name, NULL, NULL, &st), 0);
}

/* The cached object's data.k, or "(none)". */
static const char *cached(struct kc_informer *inf, struct jv_doc *d, const char *ns,
			  const char *name)
{
	struct kc_obj *o = kc_informer_get(inf, ns, name);
	const char *s;

	if (!o)
		return "(none)";
	s = ostr(d, o, "data.k");
	kc_obj_put(o);
	return s;
}

static void test_synced_and_handlers(void **state)
{
	struct kclient *c = C(state);
	struct kc_informer_opts o = {.kind = kind_cm(), .ns = "inf", .page_size = 2};
	struct kc_informer *inf;
	struct kc_informer_stats s;
	struct jv_doc *d = jv_doc_new();
	struct call u, dl;
	static struct hrec r;

	hrec_init(&r);
	kc_make_ns(c, "inf");
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "pre%d", i);
		cm(c, "inf", name, "0");
	}
	inf = start_informer(c, &o, &r);
	assert_false(kc_informer_synced(inf));
	assert_int_equal(kc_informer_start(inf), 0);
	assert_int_equal(kc_informer_add_handlers(inf, &(struct kc_handlers){0}), -EBUSY);
	assert_true(kc_informer_wait_synced(inf, KC_WAIT_MS));
	/* synced: the whole list is in the cache and was handed to the handlers first */
	assert_int_equal(kc_informer_count(inf), 5);
	assert_int_equal(hcount(&r, 'a', NULL), 5);
	assert_false(r.synced_at_first_add);
	assert_string_equal(cached(inf, d, "inf", "pre3"), "0");
	assert_true(kc_informer_rv(inf) > 0);
	kc_informer_stats(inf, &s);
	assert_int_equal(s.lists, 1);

	cm(c, "inf", "x", "1");
	assert_true(WAIT_UNTIL(hcount(&r, 'a', "x") == 1, KC_WAIT_MS));
	set(c, "inf", "x", "2");
	assert_true(WAIT_UNTIL(hcount(&r, 'u', "x") == 1, KC_WAIT_MS));
	assert_true(hlast(&r, 'u', "x", &u));
	assert_false(u.old_null);
	assert_string_equal(u.old_data, "1");
	assert_string_equal(u.data, "2");
	assert_true(u.rv > u.old_rv);
	/* the cache was updated before the handler ran */
	assert_string_equal(cached(inf, d, "inf", "x"), "2");
	del(c, "inf", "x");
	assert_true(WAIT_UNTIL(hcount(&r, 'd', "x") == 1, KC_WAIT_MS));
	assert_true(hlast(&r, 'd', "x", &dl));
	assert_string_equal(dl.data, "2"); /* the last state */
	assert_null(kc_informer_get(inf, "inf", "x"));
	assert_int_equal(kc_informer_count(inf), 5);
	assert_true(kc_informer_rv(inf) >= dl.rv);
	jv_doc_free(d);
}

/* Names behind an index value, sorted, joined by ','. */
static void by_index(struct kc_informer *inf, const char *index, const char *value, char *out,
		     size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_obj **v;
	const char *names[64];
	size_t n;

	assert_int_equal(kc_informer_list(inf, index, value, &v, &n), 0);
	assert_true(n < 64);
	for (size_t i = 0; i < n; i++)
		names[i] = ostr(d, v[i], "metadata.name");
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				const char *x = names[i];

				names[i] = names[j];
				names[j] = x;
			}
	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "", names[i]);
	kc_objs_free(v, n);
	jv_doc_free(d);
}

static void pod(struct kclient *c, const char *ns, const char *name, const char *labels,
		const char *owner, const char *node)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s},\"ownerReferences\":[{"
		 "\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":"
		 "\"%s\"}]},\"spec\":{%s%s%s\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
		 name, labels, owner, node ? "\"nodeName\":\"" : "", node ? node : "",
		 node ? "\"," : "");
	kc_make(c, kind_pod(), ns, json);
}

static void test_indexes(void **state)
{
	struct kclient *c = C(state);
	struct kc_informer_opts o = {.kind = kind_pod()};
	struct kc_informer *inf;
	struct kc_status st;
	struct kc_obj **v;
	size_t n;
	char got[512];
	const char *relabel = "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}";
	static struct hrec r;

	hrec_init(&r);
	kc_make_ns(c, "ix1");
	kc_make_ns(c, "ix2");
	pod(c, "ix1", "p1", "\"app\":\"web\"", "uid-a", "n1");
	pod(c, "ix1", "p2", "\"app\":\"web\",\"tier\":\"fe\"", "uid-b", "n2");
	pod(c, "ix2", "p3", "\"app\":\"db\"", "uid-a", NULL);
	inf = start_informer(c, &o, &r);
	assert_int_equal(kc_informer_add_index(inf, "labels", kc_index_labels), 0);
	assert_int_equal(kc_informer_add_index(inf, "owner", kc_index_owner_uid), 0);
	assert_int_equal(kc_informer_add_index(inf, "node", kc_index_node_name), 0);
	assert_int_equal(kc_informer_add_index(inf, "node", kc_index_node_name), -EEXIST);
	assert_int_equal(kc_informer_start(inf), 0);
	assert_int_equal(kc_informer_add_index(inf, "late", kc_index_node_name), -EBUSY);
	assert_true(kc_informer_wait_synced(inf, KC_WAIT_MS));

	by_index(inf, "namespace", "ix1", got, sizeof(got));
	assert_string_equal(got, "p1,p2");
	by_index(inf, "namespace", "ix2", got, sizeof(got));
	assert_string_equal(got, "p3");
	by_index(inf, "labels", "app=web", got, sizeof(got));
	assert_string_equal(got, "p1,p2");
	by_index(inf, "labels", "tier=fe", got, sizeof(got));
	assert_string_equal(got, "p2");
	by_index(inf, "owner", "uid-a", got, sizeof(got));
	assert_string_equal(got, "p1,p3");
	by_index(inf, "node", "n2", got, sizeof(got));
	assert_string_equal(got, "p2");
	by_index(inf, "node", "n9", got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(kc_informer_list(inf, "nope", "x", &v, &n), -ENOENT);

	/* a label changes: the old value no longer finds it */
	assert_int_equal(kc_patch(c, kind_pod(), "ix1", "p1", NULL, KC_PATCH_MERGE, relabel,
				  strlen(relabel), NULL, NULL, &st),
			 0);
	assert_int_equal(kc_bind(c, "ix2", "p3", NULL, "n2", &st), 0);
	assert_true(
	    WAIT_UNTIL(hcount(&r, 'u', "p3") >= 1 && hcount(&r, 'u', "p1") >= 1, KC_WAIT_MS));
	by_index(inf, "labels", "app=web", got, sizeof(got));
	assert_string_equal(got, "p2");
	by_index(inf, "labels", "app=db", got, sizeof(got));
	assert_string_equal(got, "p1,p3");
	by_index(inf, "node", "n2", got, sizeof(got));
	assert_string_equal(got, "p2,p3");

	/* deleted: gone from every index */
	assert_int_equal(kc_delete(c, kind_pod(), "ix1", "p2",
				   &(struct kc_delete_opts){.grace_seconds = 0}, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(hcount(&r, 'd', "p2") == 1, KC_WAIT_MS));
	by_index(inf, "node", "n2", got, sizeof(got));
	assert_string_equal(got, "p3");
	by_index(inf, "labels", "tier=fe", got, sizeof(got));
	assert_string_equal(got, "");
	by_index(inf, "owner", "uid-b", got, sizeof(got));
	assert_string_equal(got, "");
	by_index(inf, "namespace", "ix1", got, sizeof(got));
	assert_string_equal(got, "p1");
	by_index(inf, NULL, NULL, got, sizeof(got));
	assert_string_equal(got, "p1,p3");
}

static void test_resume_without_duplicates(void **state)
{
	struct kclient *c = C(state);
	struct kc_informer_opts o = {.kind = kind_cm(), .ns = "res", .watch_timeout_s = 2};
	struct kc_informer *inf;
	struct kc_informer_stats s;
	static struct hrec r;
	char name[16];

	hrec_init(&r);
	kc_make_ns(c, "res");
	cm(c, "res", "a", "0");
	inf = start_informer(c, &o, &r);
	assert_int_equal(kc_informer_start(inf), 0);
	assert_true(kc_informer_wait_synced(inf, KC_WAIT_MS));
	assert_true(WAIT_UNTIL((kc_informer_stats(inf, &s), s.watches >= 1), KC_WAIT_MS));
	/* objects made across several watches, each of them ended by its timeout */
	for (int i = 0; i < 4; i++) {
		uint64_t w;

		kc_informer_stats(inf, &s);
		w = s.watches;
		snprintf(name, sizeof(name), "n%d", i);
		cm(c, "res", name, "1");
		set(c, "res", "a", name);
		assert_true(WAIT_UNTIL(hcount(&r, 'a', name) == 1, KC_WAIT_MS));
		assert_true(WAIT_UNTIL((kc_informer_stats(inf, &s), s.watches > w), KC_WAIT_MS));
	}
	assert_true(WAIT_UNTIL(hcount(&r, 'u', "a") == 4, KC_WAIT_MS));
	kc_informer_stats(inf, &s);
	assert_true(s.watches >= 5);
	/* resumed, never re-listed: each object added once, each change once */
	assert_int_equal(s.lists, 1);
	assert_int_equal(s.relists, 0);
	assert_int_equal(hcount(&r, 'a', "a"), 1);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(hcount(&r, 'a', name), 1);
		assert_int_equal(hcount(&r, 'u', name), 0);
	}
	assert_int_equal(hcount(&r, 'u', "a"), 4);
	assert_int_equal(hcount(&r, 'd', NULL), 0);
}

static void on_gone_end(void *arg, int err)
{
	__atomic_store_n((int *)arg, err == -KC_EGONE ? 2 : 1, __ATOMIC_SEQ_CST);
}

static void on_ignore(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	(void)arg;
	(void)t;
	(void)o;
}

/* Is the history at rv compacted away? (a watch from it ends with -KC_EGONE) */
static bool compacted(struct kclient *c, const char *ns, uint64_t rv)
{
	static const struct kc_watch_cb cb = {.event = on_ignore, .end = on_gone_end};
	struct kc_watch_opts wo = {.timeout_s = 1};
	struct kc_watch *w = NULL;
	struct kc_status st;
	char rvs[32];
	int ended = 0, err;

	snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
	wo.resource_version = rvs;
	err = kc_watch(c, kind_cm(), ns, &wo, &cb, &ended, &w, &st);
	if (err)
		return err == -KC_EGONE;
	assert_true(WAIT_UNTIL(__atomic_load_n(&ended, __ATOMIC_SEQ_CST) != 0, KC_WAIT_MS));
	kc_watch_stop(w);
	return ended == 2;
}

static void test_relist_after_gone(void **state)
{
	struct kclient *c = C(state);
	struct kc_informer_opts o = {.kind = kind_cm(), .ns = "gone"};
	struct kc_informer *inf;
	struct kc_informer_stats s;
	struct jv_doc *d = jv_doc_new();
	struct call dl, u;
	uint64_t rv;
	static struct hrec r;
	int n_before;

	hrec_init(&r);
	kc_make_ns(c, "gone");
	kc_make_ns(c, "churn");
	cm(c, "churn", "x", "-");
	cm(c, "gone", "del", "d0");
	cm(c, "gone", "chg", "c0");
	cm(c, "gone", "same", "s0");
	inf = start_informer(c, &o, &r);
	assert_int_equal(kc_informer_start(inf), 0);
	assert_true(kc_informer_wait_synced(inf, KC_WAIT_MS));
	/* the watch goes down; meanwhile one object is deleted, one changed, and the history
	 * behind the informer's resourceVersion is compacted away */
	kc_informer_hold(inf, true);
	rv = kc_informer_rv(inf);
	n_before = r.n;
	del(c, "gone", "del");
	set(c, "gone", "chg", "c1");
	for (int i = 0; !compacted(c, "gone", rv); i++) {
		char v[16];

		assert_true(i < 60);
		snprintf(v, sizeof(v), "%d", i);
		set(c, "churn", "x", v); /* writes elsewhere move the compaction mark */
	}
	assert_int_equal(r.n, n_before); /* held: nothing seen yet */
	kc_informer_hold(inf, false);
	/* the watch from rv gets 410; the re-list delivers the difference */
	assert_true(
	    WAIT_UNTIL(hcount(&r, 'd', "del") == 1 && hcount(&r, 'u', "chg") == 1, KC_WAIT_MS));
	assert_true(hlast(&r, 'd', "del", &dl));
	assert_string_equal(dl.data, "d0"); /* its last known state */
	assert_true(hlast(&r, 'u', "chg", &u));
	assert_false(u.old_null);
	assert_string_equal(u.old_data, "c0");
	assert_string_equal(u.data, "c1");
	assert_null(kc_informer_get(inf, "gone", "del"));
	assert_string_equal(cached(inf, d, "gone", "chg"), "c1");
	assert_string_equal(cached(inf, d, "gone", "same"), "s0");
	kc_informer_stats(inf, &s);
	assert_int_equal(s.relists, 1);
	assert_int_equal(s.lists, 2);
	assert_true(kc_informer_rv(inf) > rv);
	/* nothing for the unchanged object, no add at all */
	assert_int_equal(hcount(&r, 0, "same"), 1); /* its first add */
	assert_int_equal(hcount(&r, 'a', NULL), 3);
	/* and it watches again from the new list */
	cm(c, "gone", "after", "a0");
	assert_true(WAIT_UNTIL(hcount(&r, 'a', "after") == 1, KC_WAIT_MS));
	jv_doc_free(d);
}

static void test_resync_and_cluster_scope(void **state)
{
	struct kclient *c = C(state);
	struct kc_informer_opts o = {.kind = kind_ns(), .resync_s = 1, .ns = "ignored"};
	struct kc_informer *inf;
	struct kc_obj *ob;
	static struct hrec r;
	struct call u;

	hrec_init(&r);
	kc_make_ns(c, "rsync");
	inf = start_informer(c, &o, &r);
	assert_int_equal(kc_informer_start(inf), 0);
	assert_true(kc_informer_wait_synced(inf, KC_WAIT_MS));
	/* cluster scope: the key is the name */
	ob = kc_informer_get(inf, NULL, "rsync");
	assert_non_null(ob);
	kc_obj_put(ob);
	/* resync: every cached object again as an update with old == cur */
	assert_true(WAIT_UNTIL(hcount(&r, 'u', "rsync") >= 2, KC_WAIT_MS));
	assert_true(hlast(&r, 'u', "rsync", &u));
	assert_true(u.same);
	assert_int_equal(u.rv, u.old_rv);
}

/* kc_informer_stop: no handler after it returns, the cache stays as it was and readable,
 * a second stop (and the free's) does nothing. Another informer sees the change the stopped
 * one no longer gets. */
static void test_stop_keeps_cache(void **state)
{
	struct kclient *c = C(state);
	struct kc_informer_opts o = {.kind = kind_cm(), .ns = "stp"};
	struct kc_informer *inf, *other;
	struct jv_doc *d = jv_doc_new();
	static struct hrec r, ro;

	hrec_init(&r);
	hrec_init(&ro);
	kc_make_ns(c, "stp");
	cm(c, "stp", "a", "1");
	inf = start_informer(c, &o, &r);
	other = start_informer(c, &o, &ro);
	assert_int_equal(kc_informer_start(inf), 0);
	assert_int_equal(kc_informer_start(other), 0);
	assert_true(kc_informer_wait_synced(inf, KC_WAIT_MS));
	assert_true(kc_informer_wait_synced(other, KC_WAIT_MS));
	kc_informer_stop(inf);
	kc_informer_stop(inf);
	set(c, "stp", "a", "2");
	cm(c, "stp", "b", "1");
	assert_true(WAIT_UNTIL(hcount(&ro, 'a', "b") == 1, KC_WAIT_MS));
	assert_string_equal(cached(other, d, "stp", "a"), "2");
	assert_int_equal(hcount(&r, 'u', NULL) + hcount(&r, 'a', "b"), 0);
	assert_string_equal(cached(inf, d, "stp", "a"), "1");
	assert_int_equal(kc_informer_count(inf), 1);
	jv_doc_free(d);
}

static void test_no_hot_loop(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct kc_informer_opts o = {.kind = kind_cm()};
	struct kc_informer *inf;
	struct kc_informer_stats s;
	struct kclient *c;
	struct kc_stats cs;
	char base[64];
	static struct hrec r;

	(void)state;
	hrec_init(&r);
	/* a port that refuses connections */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	c = kc_plain_client(base);
	/* not tracked: it goes before its own client, below */
	inf = kc_informer_new(c, &o);
	assert_non_null(inf);
	assert_int_equal(
	    kc_informer_add_handlers(
		inf,
		&(struct kc_handlers){.add = h_add, .update = h_update, .del = h_del, .arg = &r}),
	    0);
	assert_int_equal(kc_informer_start(inf), 0);
	assert_true(WAIT_UNTIL((kc_informer_stats(inf, &s), s.list_errors >= 2), KC_WAIT_MS));
	/* a window of 4 s, in which back-off (0.8 s, 1.6 s, 3.2 s ... each up to twice that)
	 * allows a handful of attempts and a hot loop would make thousands */
	assert_false(kc_informer_wait_synced(inf, 4000));
	kc_informer_stats(inf, &s);
	kclient_stats(c, &cs);
	assert_true(s.lists >= 2);
	assert_true(s.lists <= 6);
	assert_int_equal(s.list_errors, s.lists);
	assert_int_equal(s.watches, 0);
	assert_true(cs.requests <= 6);
	assert_int_equal(r.n, 0);
	kc_informer_free(inf);
	kclient_free(c);
	close(fd);
}

static int group_setup(void **state)
{
	struct ksrv *k = calloc(1, sizeof(*k));
	struct api_config cfg = {.bookmark_interval_s = 1, .compact_interval_s = 1};

	assert_non_null(k);
	ksrv_start(k, &cfg);
	group = k;
	*state = k;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_synced_and_handlers, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_indexes, ksrv_test_setup, ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_resume_without_duplicates, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_relist_after_gone, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_resync_and_cluster_scope, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_keeps_cache, ksrv_test_setup,
					    ksrv_test_teardown),
	    cmocka_unit_test_setup_teardown(test_no_hot_loop, ksrv_test_setup, ksrv_test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, ksrv_group_teardown);
}
