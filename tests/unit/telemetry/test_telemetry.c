/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_telemetry: the exporter's pure parts and its reading of maps.
 *  - the Prometheus text format as expfmt writes it (golden text): HELP escaping, label
 *    values with a quote, a backslash and a newline, a histogram's buckets cumulative to
 *    "+Inf" with _sum and _count, floats as Go's shortest formatting;
 *  - labels: the workload of a pod by its controller (Istio's GetDeployMetaFromPod cases),
 *    a drv_names1 entry as a service host, drop reasons;
 *  - tl_metrics_write over per-CPU maps this test creates (root; skipped without): pods by
 *    address, "unknown" for the rest, two series that resolve alike summed into one line;
 *  - a flow event as a JSON line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tl_expo.h"
#include "tl_flows.h"
#include "tl_metrics.h"

static void test_expo_golden(void **state)
{
	static const char want[] =
	    "# HELP x_total A counter: \\\\ and a\\nnewline, \"quoted\" as is.\n"
	    "# TYPE x_total counter\n"
	    "x_total{a=\"plain\",b=\"q\\\"uo\\\\te\\nnl\"} 42\n"
	    "x_total 0\n"
	    "# HELP d_seconds Durations.\n"
	    "# TYPE d_seconds histogram\n"
	    "d_seconds_bucket{svc=\"s\",le=\"0.0005\"} 1\n"
	    "d_seconds_bucket{svc=\"s\",le=\"0.01\"} 1\n"
	    "d_seconds_bucket{svc=\"s\",le=\"5\"} 4\n"
	    "d_seconds_bucket{svc=\"s\",le=\"+Inf\"} 6\n"
	    "d_seconds_sum{svc=\"s\"} 12.0235\n"
	    "d_seconds_count{svc=\"s\"} 6\n"
	    "g 1e-05\n";
	const struct expo_label l[] = {{"a", "plain"}, {"b", "q\"uo\\te\nnl"}};
	const double bounds[] = {0.0005, 0.01, 5};
	const uint64_t counts[] = {1, 0, 3, 2};
	struct k8s_buf b = {0};

	(void)state;
	expo_family(&b, "x_total", "counter", "A counter: \\ and a\nnewline, \"quoted\" as is.");
	expo_u64(&b, "x_total", l, 2, 42);
	expo_u64(&b, "x_total", NULL, 0, 0);
	expo_family(&b, "d_seconds", "histogram", "Durations.");
	expo_histogram(&b, "d_seconds", &(struct expo_label){"svc", "s"}, 1, bounds, counts, 3,
		       12.0235);
	expo_f64(&b, "g", NULL, 0, 0.00001);
	assert_false(b.oom);
	if (strcmp(b.p, want))
		fail_msg("got:\n%s\nwant:\n%s", b.p, want);
	k8s_buf_free(&b);
}

static void test_expo_float(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {{0.0005, "0.0005"},  {0.0025, "0.0025"},  {5, "5"},	 {0.1, "0.1"},
		     {0.0235, "0.0235"},  {1e-05, "1e-05"},    {1e+06, "1e+06"}, {0, "0"},
		     {1.0 / 0.0, "+Inf"}, {-1.0 / 0.0, "-Inf"}};
	char buf[40];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		expo_float(buf, sizeof(buf), cases[i].v);
		if (strcmp(buf, cases[i].want))
			fail_msg("%.17g: got %s, want %s", cases[i].v, buf, cases[i].want);
	}
}

static void workload_case(const char *json, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = jv_parse(d, json, strlen(json), NULL);
	char got[256];

	assert_non_null(pod);
	tl_workload_of(pod, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("%s: got %s, want %s", json, got, want);
	jv_doc_free(d);
}

#define OWNER(kind, name, ctl)                                                                    \
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"" kind "\",\"name\":\"" name \
	"\",\"uid\":\"u\",\"controller\":" ctl "}]"

static void test_workload(void **state)
{
	(void)state;
	/* ReplicaSet named <deployment>-<pod-template-hash>: the Deployment */
	workload_case("{\"metadata\":{\"name\":\"web-7d9f8-x2x\",\"labels\":{\"pod-template-hash\":"
		      "\"7d9f8\"}," OWNER("ReplicaSet", "web-7d9f8", "true") "}}",
		      "web");
	/* a ReplicaSet of no Deployment (its name does not end with the hash): itself */
	workload_case("{\"metadata\":{\"name\":\"rs-abc\",\"labels\":{\"pod-template-hash\":"
		      "\"zzz\"}," OWNER("ReplicaSet", "rs", "true") "}}",
		      "rs");
	/* a CronJob's Job "<cronjob>-<minutes>": the CronJob; another Job: itself */
	workload_case("{\"metadata\":{\"name\":\"backup-28930000-q\"," OWNER(
			  "Job", "backup-28930000", "true") "}}",
		      "backup");
	workload_case("{\"metadata\":{\"name\":\"once-q\"," OWNER("Job", "once-12", "true") "}}",
		      "once-12");
	workload_case("{\"metadata\":{\"name\":\"db-0\"," OWNER("StatefulSet", "db", "true") "}}",
		      "db");
	/* no controller among the owners: the pod */
	workload_case("{\"metadata\":{\"name\":\"lone\"," OWNER("StatefulSet", "db", "false") "}}",
		      "lone");
	workload_case("{\"metadata\":{\"name\":\"bare\"}}", "bare");
}

static void test_service_names(void **state)
{
	char host[256], ns[64];

	(void)state;
	assert_true(tl_service_of("shop/web:http/TCP", NULL, host, sizeof(host), ns, sizeof(ns)));
	assert_string_equal(host, "web.shop.svc.cluster.local");
	assert_string_equal(ns, "shop");
	assert_true(tl_service_of("a/b", "corp.example", host, sizeof(host), ns, sizeof(ns)));
	assert_string_equal(host, "b.a.svc.corp.example");
	assert_false(tl_service_of("noslash:80/TCP", NULL, host, sizeof(host), ns, sizeof(ns)));
	assert_false(tl_service_of("/x:80/TCP", NULL, host, sizeof(host), ns, sizeof(ns)));
	assert_string_equal(tl_drop_reason(DRV_DROP_NO_BACKEND), "no_backend");
	assert_string_equal(tl_drop_reason(DRV_DROP_NO_LOCAL), "no_local_endpoint");
	assert_null(tl_drop_reason(DRV_STAT_FWD));
	assert_null(tl_drop_reason(DRV_STAT_MAX));
	assert_string_equal(tl_method_name(DRV_TL_M_GET), "GET");
	assert_string_equal(tl_method_name(200), "OTHER");
}

/* ---- the maps ---- */

static int pod_by_ip(void *arg, uint32_t addr, struct tl_pod_ident *out)
{
	(void)arg;
	if (addr == inet_addr("10.0.0.1")) {
		snprintf(out->ns, sizeof(out->ns), "team");
		snprintf(out->pod, sizeof(out->pod), "client-5f-abc");
		snprintf(out->workload, sizeof(out->workload), "client");
		return 0;
	}
	if (addr == inet_addr("10.0.0.2")) {
		snprintf(out->ns, sizeof(out->ns), "shop");
		snprintf(out->pod, sizeof(out->pod), "web-0");
		snprintf(out->workload, sizeof(out->workload), "web");
		return 0;
	}
	return -ENOENT;
}

static void put_http_as(int fd, int ncpu, const char *src, const char *dst, uint64_t requests,
			uint8_t reporter)
{
	struct drv_tl_key k = {.saddr = inet_addr(src),
			       .daddr = inet_addr(dst),
			       .dport = htons(80),
			       .rev_nat = reporter == DRV_TL_SERVER ? 0 : 3,
			       .reporter = reporter,
			       .method = DRV_TL_M_GET,
			       .code = 404};
	struct drv_tl_http *v = calloc((size_t)ncpu, sizeof(*v));

	assert_non_null(v);
	/* on CPU 0 only: the sum over CPUs is this */
	v[0].requests = requests;
	v[0].buckets[0] = requests;
	v[0].duration_us_sum = 100 * requests;
	assert_int_equal(bpf_map_update_elem(fd, &k, v, BPF_ANY), 0);
	free(v);
}

static void put_http(int fd, int ncpu, const char *src, const char *dst, uint64_t requests)
{
	put_http_as(fd, ncpu, src, dst, requests, DRV_TL_CLIENT);
}

/* An HTTP series map and a service name map holding frontend 3 = shop/web; false when they
 * cannot be made (not root) */
static bool http_maps(struct tl_maps *m)
{
	struct drv_svc_name nm = {.name = "shop/web:http/TCP"};
	uint32_t id = 3;

	tl_maps_init(m);
	m->http = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "t_http", sizeof(struct drv_tl_key),
				 sizeof(struct drv_tl_http), 16, NULL);
	m->names = bpf_map_create(BPF_MAP_TYPE_HASH, "t_names", 4, sizeof(nm), 16, NULL);
	if (m->http < 0 || m->names < 0) {
		tl_maps_close(m);
		return false;
	}
	assert_int_equal(bpf_map_update_elem(m->names, &id, &nm, BPF_ANY), 0);
	return true;
}

static void test_metrics_maps(void **state)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tl_maps m;
	struct tl_resolver r = {.pod_by_ip = pod_by_ip};
	struct k8s_buf b = {0};
	const char *lab_known =
	    "reporter=\"source\",source_workload=\"client\",source_namespace=\"team\","
	    "source_pod=\"client-5f-abc\",destination_service=\"web.shop.svc.cluster.local\","
	    "destination_namespace=\"shop\",destination_workload=\"web\","
	    "destination_pod=\"web-0\",method=\"GET\",code=\"404\"";
	const char *lab_unknown =
	    "reporter=\"source\",source_workload=\"unknown\",source_namespace=\"unknown\","
	    "source_pod=\"unknown\",destination_service=\"web.shop.svc.cluster.local\","
	    "destination_namespace=\"shop\",destination_workload=\"web\","
	    "destination_pod=\"web-0\",method=\"GET\",code=\"404\"";
	char want[1024];

	(void)state;
	if (!http_maps(&m))
		skip(); /* not root */
	put_http(m.http, ncpu, "10.0.0.1", "10.0.0.2", 7);
	/* two clients no pod owns: one series of "unknown" with their sum */
	put_http(m.http, ncpu, "192.0.2.1", "10.0.0.2", 5);
	put_http(m.http, ncpu, "192.0.2.2", "10.0.0.2", 6);
	assert_int_equal(tl_metrics_write(&m, &r, NULL, &b), 0);
	snprintf(want, sizeof(want), "\ndrover_http_requests_total{%s} 7\n", lab_known);
	if (!strstr(b.p, want))
		fail_msg("no line %s in:\n%s", want, b.p);
	snprintf(want, sizeof(want), "\ndrover_http_requests_total{%s} 11\n", lab_unknown);
	if (!strstr(b.p, want))
		fail_msg("no line %s in:\n%s", want, b.p);
	snprintf(want, sizeof(want), "\ndrover_http_request_duration_seconds_sum{%s} 0.0011\n",
		 lab_unknown);
	if (!strstr(b.p, want))
		fail_msg("no line %s in:\n%s", want, b.p);
	/* no address as a label value, and exactly two series */
	assert_null(strstr(b.p, "192.0.2."));
	{
		size_t n = 0;

		for (const char *p = b.p; (p = strstr(p, "\ndrover_http_requests_total{")); p++)
			n++;
		assert_int_equal(n, 2);
	}
	k8s_buf_free(&b);
	tl_maps_close(&m);
}

/* A series of both ends of a connection between two pods of this node (DRV_TL_BOTH, counted
 * once by the server's socket) is a source series with the client's service and a destination
 * series (summed with a plain destination series of the same labels). */
static void test_metrics_both(void **state)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tl_maps m;
	struct tl_resolver r = {.pod_by_ip = pod_by_ip};
	struct k8s_buf b = {0};
	const char *pods = "source_workload=\"client\",source_namespace=\"team\","
			   "source_pod=\"client-5f-abc\",destination_service=";
	const char *dst = "destination_namespace=\"shop\",destination_workload=\"web\","
			  "destination_pod=\"web-0\",method=\"GET\",code=\"404\"";
	char want[1024];

	(void)state;
	if (!http_maps(&m))
		skip(); /* not root */
	put_http_as(m.http, ncpu, "10.0.0.1", "10.0.0.2", 4, DRV_TL_BOTH);
	put_http_as(m.http, ncpu, "10.0.0.1", "10.0.0.2", 2, DRV_TL_SERVER);
	assert_int_equal(tl_metrics_write(&m, &r, NULL, &b), 0);
	snprintf(
	    want, sizeof(want),
	    "\ndrover_http_requests_total{reporter=\"source\",%s\"web.shop.svc.cluster.local\",%s} "
	    "4\n",
	    pods, dst);
	if (!strstr(b.p, want))
		fail_msg("no line %s in:\n%s", want, b.p);
	/* the destination side has no frontend id (no service map here: unknown) */
	snprintf(want, sizeof(want),
		 "\ndrover_http_requests_total{reporter=\"destination\",%s\"unknown\",%s} 6\n",
		 pods, dst);
	if (!strstr(b.p, want))
		fail_msg("no line %s in:\n%s", want, b.p);
	k8s_buf_free(&b);
	tl_maps_close(&m);
}

/* A server-side series (no frontend: the client's node chose the backend) names the service
 * whose frontends list its address:port as a backend; the frontends of one service port
 * count as one; an endpoint of two services stays unknown. */
static void server_series(int fd, int ncpu, const char *dst, uint16_t port)
{
	struct drv_tl_key k = {.saddr = inet_addr("10.0.0.1"),
			       .daddr = inet_addr(dst),
			       .dport = htons(port),
			       .reporter = DRV_TL_SERVER,
			       .method = DRV_TL_M_GET,
			       .code = 200};
	struct drv_tl_http *v = calloc((size_t)ncpu, sizeof(*v));

	assert_non_null(v);
	v[0].requests = 1;
	assert_int_equal(bpf_map_update_elem(fd, &k, v, BPF_ANY), 0);
	free(v);
}

static void frontend(int svc, int be, uint32_t vip, uint16_t rev_nat, uint32_t be_id,
		     const char *be_addr, uint16_t be_port)
{
	struct drv_svc_key mk = {.addr = vip, .dport = htons(80), .proto = DRV_PROTO_TCP}, sk = mk;
	struct drv_svc_val mv = {.count = 1, .rev_nat = rev_nat}, sv = {.backend_id = be_id};
	struct drv_backend b = {
	    .addr = inet_addr(be_addr), .port = htons(be_port), .proto = DRV_PROTO_TCP};

	sk.slot = 1;
	assert_int_equal(bpf_map_update_elem(svc, &mk, &mv, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(svc, &sk, &sv, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(be, &be_id, &b, BPF_ANY), 0);
}

static void test_server_side_service(void **state)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tl_maps m;
	struct tl_resolver r = {.pod_by_ip = pod_by_ip};
	struct drv_svc_name web = {.name = "shop/web:http/TCP"}, db = {.name = "shop/db:sql/TCP"};
	uint32_t ids[] = {3, 4, 5};
	struct k8s_buf b = {0};

	(void)state;
	tl_maps_init(&m);
	m.http = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "t_http", sizeof(struct drv_tl_key),
				sizeof(struct drv_tl_http), 16, NULL);
	m.names = bpf_map_create(BPF_MAP_TYPE_HASH, "t_names", 4, sizeof(web), 16, NULL);
	m.svc = bpf_map_create(BPF_MAP_TYPE_HASH, "t_svc", sizeof(struct drv_svc_key),
			       sizeof(struct drv_svc_val), 16, NULL);
	m.be = bpf_map_create(BPF_MAP_TYPE_HASH, "t_be", 4, sizeof(struct drv_backend), 16, NULL);
	if (m.http < 0 || m.names < 0 || m.svc < 0 || m.be < 0) {
		tl_maps_close(&m);
		skip(); /* not root */
	}
	/* web: a ClusterIP (id 3) and a NodePort (id 4) frontend of one port, backend
	 * 10.0.0.2:8080; db (id 5) and web both list 10.0.0.3:8080 */
	assert_int_equal(bpf_map_update_elem(m.names, &ids[0], &web, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(m.names, &ids[1], &web, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(m.names, &ids[2], &db, BPF_ANY), 0);
	frontend(m.svc, m.be, inet_addr("10.96.0.10"), 3, 1, "10.0.0.2", 8080);
	frontend(m.svc, m.be, 0, 4, 2, "10.0.0.2", 8080);
	frontend(m.svc, m.be, inet_addr("10.96.0.11"), 5, 3, "10.0.0.3", 8080);
	{
		struct drv_svc_key sk = {.addr = inet_addr("10.96.0.10"),
					 .dport = htons(80),
					 .proto = DRV_PROTO_TCP,
					 .slot = 2};
		struct drv_svc_val sv = {.backend_id = 4};
		struct drv_backend bb = {
		    .addr = inet_addr("10.0.0.3"), .port = htons(8080), .proto = DRV_PROTO_TCP};
		uint32_t bid = 4;

		assert_int_equal(bpf_map_update_elem(m.svc, &sk, &sv, BPF_ANY), 0);
		assert_int_equal(bpf_map_update_elem(m.be, &bid, &bb, BPF_ANY), 0);
	}
	server_series(m.http, ncpu, "10.0.0.2", 8080);
	server_series(m.http, ncpu, "10.0.0.3", 8080);
	server_series(m.http, ncpu, "10.0.0.2", 9090); /* a port no service names */
	assert_int_equal(tl_metrics_write(&m, &r, NULL, &b), 0);
	{
		size_t n_web = 0, n_unknown = 0;

		for (const char *p = b.p; (p = strstr(p, "\ndrover_http_requests_total{")); p++) {
			const char *eol = strchr(p + 1, '\n');
			const char *d = strstr(p, "destination_service=\"");

			assert_non_null(d);
			assert_true(!eol || d < eol);
			const char *w = "destination_service=\"web.shop.svc.cluster.local\"";
			const char *u = "destination_service=\"unknown\"";

			if (!strncmp(d, w, strlen(w)))
				n_web++;
			else if (!strncmp(d, u, strlen(u)))
				n_unknown++;
		}
		/* 10.0.0.2:8080 is web's; 10.0.0.3:8080 (two services) and 10.0.0.2:9090 unknown */
		if (n_web != 1 || n_unknown != 2)
			fail_msg("want 1 series of web and 2 unknown, got %zu and %zu", n_web,
				 n_unknown);
	}
	k8s_buf_free(&b);
	tl_maps_close(&m);
}

static void test_flow_json(void **state)
{
	struct tl_exporter *e = tl_exporter_new(&(struct tl_exporter_config){
	    .node = "n1", .ring_events = 4, .res = {.pod_by_ip = pod_by_ip}});
	struct drv_tl_event ev = {.key = {.saddr = inet_addr("10.0.0.1"),
					  .daddr = inet_addr("10.0.0.2"),
					  .dport = htons(8080),
					  .reporter = DRV_TL_CLIENT,
					  .method = DRV_TL_M_POST,
					  .code = 201},
				  .sport = htons(40000),
				  .type = DRV_TL_EV_HTTP,
				  .duration_us = 12300,
				  .path = "/a\"b"};
	struct k8s_buf b = {0};
	const char *want =
	    "\"node\":\"n1\",\"type\":\"http\",\"reporter\":\"client\",\"source\":{\"ip\":"
	    "\"10.0.0.1\",\"port\":40000,\"namespace\":\"team\",\"pod\":\"client-5f-abc\","
	    "\"workload\":\"client\"},\"destination\":{\"ip\":\"10.0.0.2\",\"port\":8080,"
	    "\"namespace\":\"shop\",\"pod\":\"web-0\",\"workload\":\"web\"},\"http\":{\"method\":"
	    "\"POST\",\"path\":\"/a\\\"b\",\"code\":201,\"duration_us\":12300}}";

	(void)state;
	assert_non_null(e);
	ev.ts_ns = 1;
	tl_exporter_flow_json(e, &ev, &b);
	assert_false(b.oom);
	if (strncmp(b.p, "{\"time\":\"", 9) || !strstr(b.p, want))
		fail_msg("got %s\nwant ...%s", b.p, want);
	k8s_buf_free(&b);
	/* a TCP close carries its lifetime and bytes */
	ev.type = DRV_TL_EV_TCP_CLOSE;
	ev.bytes_sent = 10;
	ev.bytes_received = 20;
	tl_exporter_flow_json(e, &ev, &b);
	if (!strstr(b.p, "\"tcp\":{\"state\":\"closed\",\"duration_us\":12300,\"bytes_sent\":10,"
			 "\"bytes_received\":20}"))
		fail_msg("got %s", b.p);
	k8s_buf_free(&b);
	tl_exporter_free(e);
}

/* The ring keeps the newest events; a reader it went past loses the rest, counted in
 * drover_lost_events_total{stage="agent"}. */
static void test_ring(void **state)
{
	struct tl_exporter *e = tl_exporter_new(&(struct tl_exporter_config){.ring_events = 4});
	struct drv_tl_event ev = {.type = DRV_TL_EV_TCP_OPEN}, out[8];
	uint64_t cur = 0, late;
	struct k8s_buf b = {0};

	(void)state;
	assert_non_null(e);
	for (int i = 1; i <= 3; i++) {
		ev.duration_us = (uint64_t)i;
		tl_exporter_push(e, &ev);
	}
	assert_int_equal(tl_exporter_oldest(e), 0);
	assert_int_equal(tl_exporter_read(e, &cur, out, 8), 3);
	assert_int_equal(out[0].duration_us, 1);
	assert_int_equal(out[2].duration_us, 3);
	assert_int_equal(tl_exporter_read(e, &cur, out, 8), 0);
	late = cur;
	for (int i = 4; i <= 10; i++) {
		ev.duration_us = (uint64_t)i;
		tl_exporter_push(e, &ev);
	}
	/* a new reader starts at the oldest kept: 7..10 */
	assert_int_equal(tl_exporter_oldest(e), 6);
	/* the late reader (at 3) lost 4, 5 and 6 */
	assert_int_equal(tl_exporter_read(e, &late, out, 2), 2);
	assert_int_equal(out[0].duration_us, 7);
	assert_int_equal(out[1].duration_us, 8);
	assert_int_equal(tl_exporter_read(e, &late, out, 8), 2);
	assert_int_equal(out[1].duration_us, 10);
	assert_int_equal(tl_exporter_metrics(e, &b), 0);
	if (!strstr(b.p, "\ndrover_lost_events_total{stage=\"agent\"} 3\n"))
		fail_msg("no agent loss of 3 in:\n%s", b.p);
	k8s_buf_free(&b);
	tl_exporter_free(e);
}

/* An event of both ends of a connection on this node (DRV_TL_BOTH) is kept as the client's
 * (with its service) and the server's (rev_nat 0), in that order. */
static void test_ring_both(void **state)
{
	struct tl_exporter *e = tl_exporter_new(&(struct tl_exporter_config){.ring_events = 4});
	struct drv_tl_event ev = {.type = DRV_TL_EV_HTTP,
				  .key = {.saddr = 1,
					  .daddr = 2,
					  .rev_nat = 7,
					  .reporter = DRV_TL_BOTH},
				  .duration_us = 5},
			    out[4];
	uint64_t cur = 0;

	(void)state;
	assert_non_null(e);
	tl_exporter_push(e, &ev);
	assert_int_equal(tl_exporter_read(e, &cur, out, 4), 2);
	assert_int_equal(out[0].key.reporter, DRV_TL_CLIENT);
	assert_int_equal(out[0].key.rev_nat, 7);
	assert_int_equal(out[1].key.reporter, DRV_TL_SERVER);
	assert_int_equal(out[1].key.rev_nat, 0);
	assert_int_equal(out[1].key.saddr, 1);
	assert_int_equal(out[1].duration_us, 5);
	tl_exporter_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expo_golden),
	    cmocka_unit_test(test_expo_float),
	    cmocka_unit_test(test_workload),
	    cmocka_unit_test(test_service_names),
	    cmocka_unit_test(test_metrics_maps),
	    cmocka_unit_test(test_metrics_both),
	    cmocka_unit_test(test_server_side_service),
	    cmocka_unit_test(test_flow_json),
	    cmocka_unit_test(test_ring),
	    cmocka_unit_test(test_ring_both),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
