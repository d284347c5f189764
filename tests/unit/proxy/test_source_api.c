/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API source (source_api.c) against an in-process API server (plain HTTP, bookmarks and
 * compaction every second), through its ops as the proxy's loop calls them, into a model
 * without maps (no BPF): nothing counts as synced before both lists are in; adds, updates
 * and deletes reach the model; kube-proxy's label selector keeps other proxies' Services
 * and headless Services' slices out; an object the decoder refuses is skipped and the
 * others apply; a re-list after 410 Gone replaces the model (deletes for what vanished while
 * the watch was down, replaced reported); changes that could not be queued are recovered
 * from the informers' caches; a reload replaces too. Every wait is for a condition, with a
 * generous deadline; each test has a server of its own (the source watches every
 * namespace).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "kc_helpers.h"
#include "model.h"
#include "registry.h"
#include "source.h"
#include "store.h"

struct fx {
	struct ksrv k;
	struct kclient *sc; /* the source's own client */
	struct proxy_model *m;
	struct proxy_source *src;
	struct source_delta seen; /* every dispatch's report, ORed since the last reset */
	int dispatches;
};

static const struct k8s_kind *kind_svc(void)
{
	return k8s_kind_find("v1", "Service");
}

static const struct k8s_kind *kind_es(void)
{
	return k8s_kind_find("discovery.k8s.io/v1", "EndpointSlice");
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct api_config cfg = {.bookmark_interval_s = 1, .compact_interval_s = 1};
	struct model_opts mo = {.node_name = "n1"};

	assert_non_null(f);
	ksrv_start(&f->k, &cfg);
	f->sc = kc_plain_client(f->k.t.base);
	f->m = model_new(&mo, NULL);
	f->src = source_api_new_client(f->sc);
	assert_non_null(f->m);
	assert_non_null(f->src);
	*state = f;
	return 0;
}

/* Also after a failed assertion: the source (its informers) before its client. */
static int teardown(void **state)
{
	struct fx *f = *state;

	source_free(f->src);
	kclient_free(f->sc);
	model_free(f->m);
	ksrv_stop(&f->k);
	free(f);
	return 0;
}

/* One turn of the proxy's loop: wait for input or the source's timeout, then dispatch. */
static void turn(struct fx *f)
{
	struct pollfd p = {.fd = f->src->ops->fd(f->src), .events = POLLIN};
	struct source_delta d = {.changed = true, .replaced = true};
	int timeout = f->src->ops->timeout_ms(f->src);

	assert_true(p.fd >= 0);
	poll(&p, 1, timeout < 0 || timeout > 200 ? 200 : timeout);
	assert_int_equal(f->src->ops->dispatch(f->src, f->m, &d), 0);
	f->seen.changed |= d.changed;
	f->seen.replaced |= d.replaced;
	f->dispatches++;
}

/* Turn the loop until expr holds (a generous deadline: the machine is shared). */
#define PUMP_UNTIL(f, expr)                                        \
	do {                                                       \
		uint64_t end__ = mono_ms() + KC_WAIT_MS;           \
		while (!(expr)) {                                  \
			if (mono_ms() > end__)                     \
				fail_msg("never true: %s", #expr); \
			turn(f);                                   \
		}                                                  \
	} while (0)

static bool synced(struct fx *f)
{
	return f->src->ops->synced(f->src);
}

static void start(struct fx *f)
{
	struct source_delta d;

	assert_int_equal(f->src->ops->start(f->src, f->m, &d), 0);
	assert_false(d.changed);
	assert_false(synced(f)); /* only a dispatch can find both lists in */
}

/* The backends of service ns/name's frontend ip:port, sorted, "a:p b:p"; "no frontend", or
 * "no service" when the model does not have the service. In buf (static: one at a time). */
static const char *backends(struct fx *f, const char *name, const char *ip, uint16_t port)
{
	static char buf[512];
	struct lb_frontend *fes;
	struct in_addr a;
	size_t n;
	int rc = model_service_frontends(f->m, "default", name, &fes, &n);

	if (rc == -ENOENT)
		return "no service";
	assert_int_equal(rc, 0);
	inet_pton(AF_INET, ip, &a);
	snprintf(buf, sizeof(buf), "no frontend");
	for (size_t i = 0; i < n; i++) {
		char v[16][32];
		size_t nv = 0, at = 0;

		if (fes[i].key.addr != a.s_addr || fes[i].key.port != htons(port))
			continue;
		for (size_t j = 0; j < fes[i].nbackends && nv < 16; j++) {
			char b[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &fes[i].backends[j].addr, b, sizeof(b));
			snprintf(v[nv++], sizeof(v[0]), "%s:%u", b, ntohs(fes[i].backends[j].port));
		}
		qsort(v, nv, sizeof(v[0]), (int (*)(const void *, const void *))strcmp);
		buf[0] = '\0';
		for (size_t j = 0; j < nv; j++)
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", j ? " " : "",
					       v[j]);
	}
	model_frontends_free(fes, n);
	return buf;
}

static void svc(struct fx *f, const char *name, const char *ip, const char *labels)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"spec\":{\"clusterIP\":\"%s\","
		 "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"web\"}]}}",
		 name, labels ? labels : "", ip);
	kc_make(f->k.c, kind_svc(), "default", json);
}

/* A slice of service with the given endpoint addresses ("10.0.0.1 10.0.0.2"). */
static void slice_json(char *json, size_t len, const char *name, const char *service,
		       const char *addrs, const char *labels)
{
	size_t at = (size_t)snprintf(
	    json, len,
	    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
	    "\"name\":\"%s\",\"labels\":{\"kubernetes.io/service-name\":\"%s\"%s%s}},"
	    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"web\",\"port\":8080},{\"name\":"
	    "\"http\",\"port\":8080}],\"endpoints\":[",
	    name, service, labels ? "," : "", labels ? labels : "");
	char copy[256], *save = NULL;
	bool first = true;

	snprintf(copy, sizeof(copy), "%s", addrs);
	for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
		at += (size_t)snprintf(json + at, len - at, "%s{\"addresses\":[\"%s\"]}",
				       first ? "" : ",", a);
		first = false;
	}
	snprintf(json + at, len - at, "]}");
}

static void slice(struct fx *f, const char *name, const char *service, const char *addrs,
		  const char *labels)
{
	char json[2048];

	slice_json(json, sizeof(json), name, service, addrs, labels);
	kc_make(f->k.c, kind_es(), "default", json);
}

static void slice_update(struct fx *f, const char *name, const char *service, const char *addrs)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	char json[2048];
	int err;

	slice_json(json, sizeof(json), name, service, addrs, NULL);
	err = kc_update(f->k.c, kind_es(), "default", NULL, J(d, json), NULL, NULL, &st);
	if (err)
		fail_msg("update %s: %s: %s", name, kc_strerror(err), st.message);
	jv_doc_free(d);
}

static void del(struct fx *f, const struct k8s_kind *k, const char *name)
{
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	int err = kc_delete(f->k.c, k, "default", name, &o, NULL, &st);

	if (err)
		fail_msg("delete %s: %s: %s", name, kc_strerror(err), st.message);
}

/* ---------- tests ---------- */

/* What exists before the start arrives with the sync; the sync is reported as a replace;
 * kube-proxy's selector keeps another proxy's Service and a headless Service's slice out. */
static void test_sync_and_selector(void **state)
{
	struct fx *f = *state;

	svc(f, "web", "10.96.1.10", NULL);
	slice(f, "web-1", "web", "10.0.0.1 10.0.0.2", NULL);
	/* the same service's endpoints in a slice labelled as a headless service's */
	slice(f, "web-h", "web", "10.0.0.9", "\"service.kubernetes.io/headless\":\"\"");
	svc(f, "theirs", "10.96.1.11", "\"service.kubernetes.io/service-proxy-name\":\"other\"");
	slice(f, "theirs-1", "theirs", "10.0.1.1", NULL);
	start(f);
	PUMP_UNTIL(f, synced(f));
	assert_true(f->seen.replaced);
	assert_true(f->seen.changed);
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080 10.0.0.2:8080");
	assert_string_equal(backends(f, "theirs", "10.96.1.11", 80), "no service");
	/* synced stays synced, and an idle source wants no timeout */
	assert_int_equal(f->src->ops->timeout_ms(f->src), -1);
}

/* Nothing counts as synced while one of the two lists is missing, although what the other
 * delivered is in the model; once both are in, it is. */
static void test_not_synced_until_both(void **state)
{
	struct fx *f = *state;

	svc(f, "web", "10.96.1.10", NULL);
	slice(f, "web-1", "web", "10.0.0.1", NULL);
	source_api_hold(f->src, false, true); /* the EndpointSlices' informer lists nothing */
	start(f);
	PUMP_UNTIL(f, strcmp(backends(f, "web", "10.96.1.10", 80), "no service") != 0);
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "");
	for (int i = 0; i < 5; i++)
		turn(f);
	assert_false(synced(f));
	assert_false(f->seen.replaced);
	assert_int_equal(f->src->ops->timeout_ms(f->src) > 0, 1); /* it looks again */
	source_api_hold(f->src, false, false);
	PUMP_UNTIL(f, synced(f));
	assert_true(f->seen.replaced);
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080");
}

/* Adds, updates and deletes, as they happen. */
static void test_add_update_delete(void **state)
{
	struct fx *f = *state;

	start(f);
	PUMP_UNTIL(f, synced(f));
	f->seen = (struct source_delta){0};
	svc(f, "web", "10.96.1.10", NULL);
	PUMP_UNTIL(f, strcmp(backends(f, "web", "10.96.1.10", 80), "") == 0);
	assert_true(f->seen.changed);
	assert_false(f->seen.replaced);
	slice(f, "web-1", "web", "10.0.0.1 10.0.0.2", NULL);
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080 10.0.0.2:8080"));
	slice_update(f, "web-1", "web", "10.0.0.2 10.0.0.3 10.0.0.4");
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80),
			      "10.0.0.2:8080 10.0.0.3:8080 10.0.0.4:8080"));
	slice(f, "web-2", "web", "10.0.0.5", NULL);
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80),
			      "10.0.0.2:8080 10.0.0.3:8080 10.0.0.4:8080 10.0.0.5:8080"));
	del(f, kind_es(), "web-1");
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80), "10.0.0.5:8080"));
	del(f, kind_svc(), "web");
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80), "no service"));
	assert_false(f->seen.replaced);
}

/* The API server accepts a Service whose targetPort name has 64 characters (kube-apiserver
 * refuses it, IsValidPortName; drover's server does not check it yet) and a slice with an
 * address that is no IP; the decoder refuses both. Each is skipped, the rest applies, and an update that
 * turns a good object bad leaves its last good state in place. */
/* a port name the decoder refuses (64 characters: no room in svc_port.target_name) */
#define LONG_PORT_NAME "p123456789012345678901234567890123456789012345678901234567890123"

/* json written straight into the store under resource's key for name in "default": an
 * object this API server's validation refuses (a target port name past 15 characters, an
 * address that is no IPv4 address), as one stored before that validation or by another
 * server would be; the watches deliver it like any write. */
static void stored(struct fx *f, const char *group, const char *resource, const char *name,
		   const char *json)
{
	struct store *st = api_server_registry(f->k.t.s)->store;
	const struct api_resource *res = api_resource_find(group, "v1", resource);
	char key[256];
	int n = api_key(res, "default", name, key, sizeof(key));
	struct store_kv cur;

	assert_true(n > 0 && (size_t)n < sizeof(key));
	if (store_get(st, key, (size_t)n, 0, &cur) == 0) {
		store_kv_release(&cur);
		assert_int_equal(store_update(st, key, (size_t)n, json, strlen(json), 0, NULL), 0);
	} else {
		assert_int_equal(store_create(st, key, (size_t)n, json, strlen(json), NULL), 0);
	}
}

#define BAD_SVC(name, ip)                                                                        \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name "\","       \
	"\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{\"clusterIP\":\"" ip "\","  \
	"\"type\":\"ClusterIP\",\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80," \
	"\"targetPort\":\"" LONG_PORT_NAME "\"}]}}"

static void test_bad_object_skipped(void **state)
{
	struct fx *f = *state;

	stored(f, "", "services", "dup", BAD_SVC("dup", "10.96.1.20"));
	svc(f, "web", "10.96.1.10", NULL);
	slice(f, "web-1", "web", "10.0.0.1", NULL);
	stored(f, "discovery.k8s.io", "endpointslices", "web-bad",
	       "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
	       "\"name\":\"web-bad\",\"namespace\":\"default\",\"uid\":\"u-web-bad\",\"labels\":{"
	       "\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\",\"ports\":[{"
	       "\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}],\"endpoints\":[{"
	       "\"addresses\":[\"10.0.0.x\"],\"conditions\":{\"ready\":true}}]}");
	start(f);
	PUMP_UNTIL(f, synced(f));
	assert_string_equal(backends(f, "dup", "10.96.1.20", 80), "no service");
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080");

	/* web turns bad: its last good state stays; a good change after it applies */
	stored(f, "", "services", "web", BAD_SVC("web", "10.96.1.10"));
	slice(f, "web-2", "web", "10.0.0.2", NULL);
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080 10.0.0.2:8080"));
	/* and the bad slice fixed applies */
	slice_update(f, "web-bad", "web", "10.0.0.3");
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80),
			      "10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:8080"));
}

static void on_ignore(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	(void)arg;
	(void)t;
	(void)o;
}

static void on_gone_end(void *arg, int err)
{
	__atomic_store_n((int *)arg, err == -KC_EGONE ? 2 : 1, __ATOMIC_SEQ_CST);
}

/* Is the history after rv compacted away? (a watch from it ends with -KC_EGONE) */
static bool compacted(struct kclient *c, uint64_t rv)
{
	static const struct kc_watch_cb cb = {.event = on_ignore, .end = on_gone_end};
	struct kc_watch_opts wo = {.timeout_s = 1};
	struct kc_watch *w = NULL;
	struct kc_status st;
	char rvs[32];
	int ended = 0, err;

	snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
	wo.resource_version = rvs;
	err = kc_watch(c, kind_svc(), "default", &wo, &cb, &ended, &w, &st);
	if (err)
		return err == -KC_EGONE;
	assert_true(WAIT_UNTIL(__atomic_load_n(&ended, __ATOMIC_SEQ_CST) != 0, KC_WAIT_MS));
	kc_watch_stop(w);
	return ended == 2;
}

/* The watches go down; meanwhile a Service and its slice are deleted, another slice changes,
 * a Service is added, and the history behind the watches is compacted away. Released, the
 * watches get 410, the informers list again, and the model holds exactly the new state:
 * the deleted ones gone, the replace reported. */
static void test_relist_replaces(void **state)
{
	struct fx *f = *state;
	struct kc_list l;
	struct kc_list_opts lo = {0};
	struct kc_status st;
	uint64_t rv;

	svc(f, "web", "10.96.1.10", NULL);
	slice(f, "web-1", "web", "10.0.0.1 10.0.0.2", NULL);
	svc(f, "old", "10.96.1.11", NULL);
	slice(f, "old-1", "old", "10.0.1.1", NULL);
	start(f);
	PUMP_UNTIL(f, synced(f));
	assert_string_equal(backends(f, "old", "10.96.1.11", 80), "10.0.1.1:8080");

	source_api_hold(f->src, true, true);
	assert_int_equal(kc_list(f->k.c, kind_svc(), NULL, &lo, &l, &st), 0);
	rv = l.rv; /* at least as new as what the watches saw */
	kc_list_free(&l);
	del(f, kind_svc(), "old");
	del(f, kind_es(), "old-1");
	slice_update(f, "web-1", "web", "10.0.0.2 10.0.0.3");
	svc(f, "new", "10.96.1.12", NULL);
	for (int i = 0; !compacted(f->k.c, rv); i++) {
		char name[32];

		assert_true(i < 60);
		snprintf(name, sizeof(name), "churn-%d", i); /* writes move the compaction mark */
		slice(f, name, "churn", "10.0.9.1", NULL);
	}
	/* held: none of it reached the model */
	while (poll(&(struct pollfd){.fd = f->src->ops->fd(f->src), .events = POLLIN}, 1, 0) > 0)
		turn(f);
	assert_string_equal(backends(f, "old", "10.96.1.11", 80), "10.0.1.1:8080");
	f->seen = (struct source_delta){0};

	source_api_hold(f->src, false, false);
	PUMP_UNTIL(
	    f, f->seen.replaced && !strcmp(backends(f, "old", "10.96.1.11", 80), "no service") &&
		   !strcmp(backends(f, "new", "10.96.1.12", 80), "") &&
		   !strcmp(backends(f, "web", "10.96.1.10", 80), "10.0.0.2:8080 10.0.0.3:8080"));
}

/* Changes that could not be queued for the proxy's thread (out of memory there) are not
 * lost: the next dispatch replaces the model's objects with the informers' caches, deleting
 * what is gone. */
static void test_lost_changes_recovered(void **state)
{
	struct fx *f = *state;

	svc(f, "web", "10.96.1.10", NULL);
	slice(f, "web-1", "web", "10.0.0.1", NULL);
	slice(f, "web-2", "web", "10.0.0.2", NULL);
	start(f);
	PUMP_UNTIL(f, synced(f));
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080 10.0.0.2:8080");
	f->seen = (struct source_delta){0};

	/* a delete lost */
	source_api_fail_queue(f->src, 1);
	del(f, kind_es(), "web-2");
	PUMP_UNTIL(f, !strcmp(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080"));
	assert_true(f->seen.replaced);
	/* an add lost */
	f->seen = (struct source_delta){0};
	source_api_fail_queue(f->src, 1);
	svc(f, "new", "10.96.1.12", NULL);
	PUMP_UNTIL(f, !strcmp(backends(f, "new", "10.96.1.12", 80), ""));
	assert_true(f->seen.replaced);
}

/* A reload (SIGHUP) replaces the model with the caches: what the model lost since is set
 * again, and the reload is reported as a replace; before the sync it reports none. */
static void test_reload(void **state)
{
	struct fx *f = *state;
	struct source_delta d;

	svc(f, "web", "10.96.1.10", NULL);
	slice(f, "web-1", "web", "10.0.0.1", NULL);
	source_api_hold(f->src, true, true);
	start(f);
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_false(d.replaced); /* nothing listed yet: no complete picture */
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "no service");
	source_api_hold(f->src, false, false);
	PUMP_UNTIL(f, synced(f));
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080");
	/* the model drifts from the caches (as after a set that ran out of memory) */
	assert_int_equal(model_del_slice(f->m, "default", "web-1"), 0);
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "");
	assert_int_equal(f->src->ops->reload(f->src, f->m, &d), 0);
	assert_true(d.replaced);
	assert_true(d.changed);
	assert_string_equal(backends(f, "web", "10.96.1.10", 80), "10.0.0.1:8080");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sync_and_selector, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_synced_until_both, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_update_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_object_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relist_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_changes_recovered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
