/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy embedded as `drover agent` runs it: proxy_run on a thread of the test, fed through
 * a client the test owns (an in-process API server), stopped by proxy_stop() (no signal is
 * touched), with real maps under a pin root of its own (/sys/fs/bpf/drvtest-embed-PID; no
 * program attached: no socket LB, no tc, no device). Checked in the pinned service map:
 *  - the first sync programs the Service and calls on_ready; an EndpointSlice change reaches
 *    the map; stop returns 0 and leaves the map in place;
 *  - the synced contract, across a restart: with the Services' informer held (source_api_hold
 *    on the source the test gives the config) the proxy is not synced, so nothing is programmed:
 *    what the earlier run pinned keeps serving (a Service deleted meanwhile stays, a new one
 *    is not added, on_ready is not called) while the EndpointSlices stream in; released, the
 *    first commit is the full one: the new Service appears and the deleted one is swept;
 *  - a stop while never synced (held) and a stop before proxy_run even began both return 0;
 *  - two Services claiming one external IP: the first keeps it; deleted, the other takes it.
 * Needs root and bpffs (label bpf). The pin root is uninstalled by the teardown, also after a
 * failed assertion.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dataplane.h"
#include "kc_helpers.h"
#include "proxy.h"
#include "source.h"

struct fx {
	struct ksrv k;
	struct kclient *pc; /* the proxy's client (the agent's, in the agent) */
	char pin[128];
	struct proxy_config c;
	pthread_t th;
	bool running;
	int rc;
	atomic_bool ready;
	struct proxy_source *src; /* the running proxy's */
};

static const struct k8s_kind *kind_svc(void)
{
	return k8s_kind_find("v1", "Service");
}

static const struct k8s_kind *kind_es(void)
{
	return k8s_kind_find("discovery.k8s.io/v1", "EndpointSlice");
}

static void on_ready(void *arg)
{
	struct fx *f = arg;

	atomic_store(&f->ready, true);
}

static void *run(void *arg)
{
	struct fx *f = arg;

	f->rc = proxy_run(&f->c);
	return NULL;
}

/* Start the proxy on its thread, node_ip its NodePort address (written at start-up, before
 * it waits for the first picture); stop_now: proxy_stop before it runs. */
static void start(struct fx *f, const char *node_ip, bool hold, bool stop_now)
{
	struct in_addr lo;

	assert_int_equal(inet_pton(AF_INET, node_ip, &lo), 1);

	proxy_config_defaults(&f->c);
	f->src = source_api_new_client(f->pc);
	assert_non_null(f->src);
	if (hold)
		source_api_hold(f->src, true,
				false); /* the Services: never listed until released */
	f->c.source = f->src;
	f->c.node_name = "n1";
	f->c.dp.pin_root = f->pin;
	f->c.dp.sock_lb = false;
	f->c.dp.tc_lb = false;
	f->c.dp.xdp_mode = DP_XDP_OFF;
	f->c.node_ips[0] = lo.s_addr;
	f->c.nnode_ips = 1;
	f->c.on_ready = on_ready;
	f->c.ready_arg = f;
	f->c.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f->c.stop_fd >= 0);
	f->rc = -1;
	atomic_store(&f->ready, false);
	if (stop_now)
		assert_int_equal(proxy_stop(&f->c), 0);
	assert_int_equal(pthread_create(&f->th, NULL, run, f), 0);
	f->running = true;
}

static int stop(struct fx *f)
{
	if (!f->running)
		return 0;
	assert_int_equal(proxy_stop(&f->c), 0);
	pthread_join(f->th, NULL);
	f->running = false;
	close(f->c.stop_fd);
	return f->rc;
}

/* Whether ip is in the pinned node address map: the proxy's start-up got that far. */
static bool node_ip_set(struct fx *f, const char *ip)
{
	struct in_addr a;
	char path[256];
	__u32 one;
	int fd;
	bool set;

	inet_pton(AF_INET, ip, &a);
	snprintf(path, sizeof(path), "%s/%s", f->pin, DRV_MAP_NODEIP);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	set = bpf_map_lookup_elem(fd, &a.s_addr, &one) == 0;
	close(fd);
	return set;
}

/* Backend slots of TCP frontend ip:80 in the pinned map: -1 when the frontend is absent. */
static int slots(struct fx *f, const char *ip)
{
	struct drv_svc_key key = {.dport = htons(80), .proto = DRV_PROTO_TCP};
	struct drv_svc_val v;
	char path[256];
	int fd, n;

	inet_pton(AF_INET, ip, &key.addr);
	snprintf(path, sizeof(path), "%s/%s", f->pin, DRV_MAP_SVC);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	n = bpf_map_lookup_elem(fd, &key, &v) ? -1 : v.count;
	close(fd);
	return n;
}

static void svc(struct fx *f, const char *name, const char *ip)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"clusterIP\":\"%s\",\"ports\":[{"
		 "\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}",
		 name, ip);
	kc_make(f->k.c, kind_svc(), "default", json);
}

static void slice_json(char *json, size_t len, const char *svc_name, const char *addrs)
{
	size_t at = (size_t)snprintf(
	    json, len,
	    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
	    "\"name\":\"%s-1\",\"labels\":{\"kubernetes.io/service-name\":\"%s\"}},"
	    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080}],"
	    "\"endpoints\":[",
	    svc_name, svc_name);
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", addrs);
	for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save))
		at += (size_t)snprintf(json + at, len - at, "%s{\"addresses\":[\"%s\"]}",
				       json[at - 1] == '[' ? "" : ",", a);
	snprintf(json + at, len - at, "]}");
}

static void slice(struct fx *f, const char *svc_name, const char *addrs, bool update)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	char json[2048];
	int err;

	slice_json(json, sizeof(json), svc_name, addrs);
	if (!update) {
		kc_make(f->k.c, kind_es(), "default", json);
	} else {
		err = kc_update(f->k.c, kind_es(), "default", NULL, J(d, json), NULL, NULL, &st);
		if (err)
			fail_msg("update %s: %s: %s", svc_name, kc_strerror(err), st.message);
	}
	jv_doc_free(d);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct api_config cfg = {.bookmark_interval_s = 1, .compact_interval_s = 1};

	assert_non_null(f);
	snprintf(f->pin, sizeof(f->pin), "/sys/fs/bpf/drvtest-embed-%d", (int)getpid());
	dp_uninstall(f->pin); /* a crashed earlier run of this PID */
	ksrv_start(&f->k, &cfg);
	f->pc = kc_plain_client(f->k.t.base);
	assert_non_null(f->pc);
	*state = f;
	return 0;
}

/* Also after a failed assertion: the proxy (its watches) before its client, the pins. */
static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->running) {
		proxy_stop(&f->c);
		pthread_join(f->th, NULL);
		close(f->c.stop_fd);
	}
	kclient_free(f->pc);
	ksrv_stop(&f->k);
	dp_uninstall(f->pin);
	rmdir(f->pin);
	free(f);
	return 0;
}

static void test_sync_change_stop(void **state)
{
	struct fx *f = *state;

	svc(f, "web", "10.96.0.10");
	slice(f, "web", "10.0.0.1 10.0.0.2", false);
	start(f, "127.0.0.1", false, false);
	assert_true(WAIT_UNTIL(atomic_load(&f->ready), KC_WAIT_MS));
	assert_int_equal(slots(f, "10.96.0.10"), 2);
	slice(f, "web", "10.0.0.1 10.0.0.2 10.0.0.3", true);
	assert_true(WAIT_UNTIL(slots(f, "10.96.0.10") == 3, KC_WAIT_MS));
	assert_int_equal(stop(f), 0);
	assert_int_equal(slots(f, "10.96.0.10"), 3); /* the dataplane stays */
}

static void test_nothing_before_synced(void **state)
{
	struct fx *f = *state;
	uint64_t until;

	/* an earlier run's picture, pinned */
	svc(f, "old", "10.96.0.20");
	slice(f, "old", "10.0.0.1", false);
	start(f, "127.0.0.1", false, false);
	assert_true(WAIT_UNTIL(atomic_load(&f->ready), KC_WAIT_MS));
	assert_int_equal(stop(f), 0);
	assert_int_equal(slots(f, "10.96.0.20"), 1);

	/* while no proxy runs: old goes, new comes */
	assert_int_equal(kc_delete(f->k.c, kind_svc(), "default", "old", NULL, NULL, NULL), 0);
	svc(f, "new", "10.96.0.21");
	slice(f, "new", "10.0.0.5 10.0.0.6", false);

	/* restarted with the Services held: not synced, nothing programmed (the slices do
	 * come in meanwhile). Once its start-up wrote the new node address (the last step
	 * before it waits for the first picture), it is observed for a second, many of its
	 * loop's turns. */
	start(f, "127.0.0.2", true, false);
	assert_true(WAIT_UNTIL(node_ip_set(f, "127.0.0.2"), KC_WAIT_MS));
	until = mono_ms() + 1000;
	while (mono_ms() < until) {
		assert_false(atomic_load(&f->ready));
		assert_int_equal(slots(f, "10.96.0.20"), 1); /* the pinned state serves */
		assert_int_equal(slots(f, "10.96.0.21"), -1);
		usleep(5000);
	}

	/* released: the first commit is the full one */
	source_api_hold(f->src, false, false);
	assert_true(WAIT_UNTIL(atomic_load(&f->ready), KC_WAIT_MS));
	assert_int_equal(slots(f, "10.96.0.21"), 2);
	assert_int_equal(slots(f, "10.96.0.20"), -1); /* swept: no Service claims it */
	assert_int_equal(stop(f), 0);
}

/* Two Services claiming one external IP: one keeps it, the other waits; when the owner is
 * deleted the other takes the frontend over (it was deleted and never came back). */
static void test_shared_external_ip(void **state)
{
	struct fx *f = *state;
	struct kc_status st;
	char json[512];
	int owner;

	for (int i = 0; i < 2; i++) {
		snprintf(json, sizeof(json),
			 "{\"metadata\":{\"name\":\"x%d\"},\"spec\":{\"clusterIP\":\"10.96.0.%d\","
			 "\"externalIPs\":[\"10.0.9.9\"],\"ports\":[{\"name\":\"http\",\"port\":80,"
			 "\"targetPort\":8080}]}}",
			 i, 30 + i);
		kc_make(f->k.c, kind_svc(), "default", json);
		slice(f, i ? "x1" : "x0", i ? "10.0.1.1 10.0.1.2" : "10.0.0.1", false);
	}
	start(f, "127.0.0.1", false, false);
	assert_true(WAIT_UNTIL(atomic_load(&f->ready), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(slots(f, "10.96.0.31") == 2, KC_WAIT_MS));
	owner = slots(f, "10.0.9.9"); /* 1: x0's, 2: x1's */
	assert_true(owner == 1 || owner == 2);
	assert_int_equal(
	    kc_delete(f->k.c, kind_svc(), "default", owner == 1 ? "x0" : "x1", NULL, NULL, &st), 0);
	assert_true(
	    WAIT_UNTIL(slots(f, owner == 1 ? "10.96.0.30" : "10.96.0.31") == -1, KC_WAIT_MS));
	assert_true(WAIT_UNTIL(slots(f, "10.0.9.9") == 3 - owner, KC_WAIT_MS)); /* the other's */
	assert_int_equal(stop(f), 0);
}

static void test_stop_unsynced(void **state)
{
	struct fx *f = *state;

	/* held forever: stopped while waiting for the first picture */
	start(f, "127.0.0.3", true, false);
	assert_true(WAIT_UNTIL(node_ip_set(f, "127.0.0.3"), KC_WAIT_MS));
	assert_int_equal(stop(f), 0);
	assert_false(atomic_load(&f->ready));
	/* a stop that came before proxy_run began */
	start(f, "127.0.0.1", false, true);
	assert_int_equal(stop(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sync_change_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nothing_before_synced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_unsynced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shared_external_ip, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_proxy_embed: needs root (BPF maps under /sys/fs/bpf)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
