/* SPDX-License-Identifier: Apache-2.0 */
/* test_agent_probe: the prober's pure part (a probe spec from jv with the API's defaults, the
 * kubelet's handler order and port resolution with its error texts, Go's header names, the
 * worker's threshold state machine), then the running probes against listeners of the test's
 * own on 127.0.0.1: TCP both ways, HTTP status codes, redirects (same host followed, another
 * host a warning that counts as success, 9 followed and the 10th refused), the request the kubelet
 * sends (User-Agent kube-probe/1.32, Accept, custom headers), startup gating readiness and
 * liveness, and a liveness failure reported for the kill; the gRPC probe's framing and its
 * calls against a grpc.health.v1.Health server on Node.js's http2 (grpc_health_server.js):
 * SERVING, NOT_SERVING, an unknown service, UNIMPLEMENTED, nothing listening, and a readiness
 * probe following the server's answer both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent_probe.h"
#include "agent_probe_int.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static struct jv *parse(struct jv_doc *d, const char *json)
{
	struct jv *v = jv_parse(d, json, strlen(json), NULL);

	assert_non_null(v);
	return v;
}

static void test_defaults_and_http(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *c = parse(d, "{\"name\":\"web\",\"ports\":[{\"name\":\"http\",\"containerPort\":"
				"8080}],\"readinessProbe\":{\"httpGet\":{\"port\":\"http\","
				"\"path\":\"/healthz\",\"scheme\":\"HTTPS\",\"httpHeaders\":"
				"[{\"name\":\"x-custom-header\",\"value\":\"v\"}]}}}");
	struct probe_spec s;

	(void)state;
	assert_int_equal(probe_spec_parse(c, PROBE_READINESS, &s), 0);
	assert_int_equal(s.handler, PROBE_H_HTTP);
	assert_int_equal(s.port, 8080); /* by the container port's name */
	assert_string_equal(s.port_err, "");
	assert_string_equal(s.scheme, "https");
	assert_string_equal(s.path, "/healthz");
	assert_null(s.host);
	assert_int_equal(s.nheaders, 1);
	assert_string_equal(s.headers[0].name, "X-Custom-Header");
	assert_int_equal(s.initial_delay, 0);
	assert_int_equal(s.timeout, 1);
	assert_int_equal(s.period, 10);
	assert_int_equal(s.success_threshold, 1);
	assert_int_equal(s.failure_threshold, 3);
	assert_false(s.has_grace);
	probe_spec_free(&s);
	/* no such probe */
	assert_int_equal(probe_spec_parse(c, PROBE_LIVENESS, &s), -ENOENT);
	probe_spec_free(&s);
	jv_doc_free(d);
}

static void test_fields_and_handlers(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *c =
	    parse(d, "{\"name\":\"c\",\"livenessProbe\":{\"exec\":{\"command\":[\"cat\","
		     "\"/tmp/x\"]},\"httpGet\":{\"port\":80},\"initialDelaySeconds\":5,"
		     "\"periodSeconds\":2,\"timeoutSeconds\":3,\"failureThreshold\":4,"
		     "\"terminationGracePeriodSeconds\":7},"
		     "\"startupProbe\":{\"httpGet\":{\"port\":81},\"tcpSocket\":{\"port\":82}},"
		     "\"readinessProbe\":{\"periodSeconds\":0,\"successThreshold\":-1}}");
	struct probe_spec s;

	(void)state;
	/* two handlers: the kubelet takes the first of exec, httpGet, tcpSocket, grpc */
	assert_int_equal(probe_spec_parse(c, PROBE_LIVENESS, &s), 0);
	assert_int_equal(s.handler, PROBE_H_EXEC);
	assert_int_equal(s.ncommand, 2);
	assert_string_equal(s.command[0], "cat");
	assert_string_equal(s.command[1], "/tmp/x");
	assert_null(s.command[2]);
	assert_int_equal(s.initial_delay, 5);
	assert_int_equal(s.period, 2);
	assert_int_equal(s.timeout, 3);
	assert_int_equal(s.failure_threshold, 4);
	assert_true(s.has_grace);
	assert_int_equal(s.grace, 7);
	probe_spec_free(&s);
	assert_int_equal(probe_spec_parse(c, PROBE_STARTUP, &s), 0);
	assert_int_equal(s.handler, PROBE_H_HTTP);
	assert_int_equal(s.port, 81);
	assert_string_equal(s.scheme, "http");
	probe_spec_free(&s);
	/* no handler: parsed (the kubelet reports "missing probe handler" at each run); zero and
	 * negative numbers take the defaults */
	assert_int_equal(probe_spec_parse(c, PROBE_READINESS, &s), 0);
	assert_int_equal(s.handler, PROBE_H_NONE);
	assert_int_equal(s.period, 10);
	assert_int_equal(s.success_threshold, 1);
	probe_spec_free(&s);
	jv_doc_free(d);
}

static void test_exec_expansion(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *c = parse(d, "{\"name\":\"c\",\"env\":[{\"name\":\"F\",\"value\":\"/tmp/x\"},"
				"{\"name\":\"R\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
				"\"metadata.name\"}}}],\"readinessProbe\":{\"exec\":{\"command\":"
				"[\"cat\",\"$(F)\",\"$(R)x\",\"$(NONE)\",\"$$(F)\"]}}}");
	struct probe_spec s;

	(void)state;
	/* ExpandContainerCommandOnlyStatic: values as written, a valueFrom one is "" */
	assert_int_equal(probe_spec_parse(c, PROBE_READINESS, &s), 0);
	assert_int_equal(s.ncommand, 5);
	assert_string_equal(s.command[1], "/tmp/x");
	assert_string_equal(s.command[2], "x");
	assert_string_equal(s.command[3], "$(NONE)");
	assert_string_equal(s.command[4], "$(F)");
	probe_spec_free(&s);
	jv_doc_free(d);
}

static void port_case(const char *port, int want, const char *err)
{
	struct jv_doc *d = jv_doc_new();
	char json[512], got_err[160] = "";
	struct jv *c;
	int p = -1, rc;

	snprintf(json, sizeof(json),
		 "{\"name\":\"c\",\"ports\":[{\"name\":\"metrics\",\"containerPort\":9090}],"
		 "\"port\":%s}",
		 port);
	c = parse(d, json);
	rc = probe_resolve_port(jv_get(c, "port"), c, &p, got_err, sizeof(got_err));
	if (err) {
		assert_int_equal(rc, -EINVAL);
		assert_string_equal(got_err, err);
		assert_int_equal(p, 0);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(p, want);
	}
	jv_doc_free(d);
}

static void test_ports(void **state)
{
	(void)state;
	port_case("8080", 8080, NULL);
	port_case("\"metrics\"", 9090, NULL);
	port_case("\"8081\"", 8081, NULL); /* an int stored as a string */
	port_case("\"web\"", 0, "strconv.Atoi: parsing \"web\": invalid syntax");
	port_case("\"\"", 0, "strconv.Atoi: parsing \"\": invalid syntax");
	port_case("0", 0, "invalid port number: 0");
	port_case("65536", 0, "invalid port number: 65536");
	port_case("\"-1\"", 0, "invalid port number: -1");
	port_case("\"99999999999999999999\"", 0,
		  "strconv.Atoi: parsing \"99999999999999999999\": value out of range");
	port_case("null", 0, "intOrString had no kind: not a port");
}

static void test_bad_port_spec(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *c = parse(d, "{\"name\":\"c\",\"readinessProbe\":{\"tcpSocket\":{\"port\":"
				"\"nope\"}}}");
	struct probe_spec s;

	(void)state;
	/* parses; the error is what each run reports */
	assert_int_equal(probe_spec_parse(c, PROBE_READINESS, &s), 0);
	assert_int_equal(s.handler, PROBE_H_TCP);
	assert_int_equal(s.port, 0);
	assert_string_equal(s.port_err, "strconv.Atoi: parsing \"nope\": invalid syntax");
	probe_spec_free(&s);
	jv_doc_free(d);
}

static void test_header_names(void **state)
{
	char b[64];

	(void)state;
	probe_header_canonical("user-agent", b, sizeof(b));
	assert_string_equal(b, "User-Agent");
	probe_header_canonical("ACCEPT", b, sizeof(b));
	assert_string_equal(b, "Accept");
	probe_header_canonical("x-b3-traceid", b, sizeof(b));
	assert_string_equal(b, "X-B3-Traceid");
	probe_header_canonical("bad header", b, sizeof(b));
	assert_string_equal(b, "bad header"); /* not a token: kept */
}

static void test_state_machine(void **state)
{
	struct probe_spec s = {
	    .kind = PROBE_READINESS, .success_threshold = 2, .failure_threshold = 3};
	struct probe_sm sm = {0};

	(void)state;
	probe_sm_new_container(&sm, PROBE_READINESS);
	assert_int_equal(sm.result, PROBE_FAILURE); /* not ready until a success */
	assert_false(probe_sm_record(&sm, &s, PROBE_SUCCESS));
	assert_int_equal(sm.result, PROBE_FAILURE);
	assert_true(probe_sm_record(&sm, &s, PROBE_SUCCESS));
	assert_int_equal(sm.result, PROBE_SUCCESS);
	/* failureThreshold 3: two failures keep it ready, the third does not */
	assert_false(probe_sm_record(&sm, &s, PROBE_FAILURE));
	assert_false(probe_sm_record(&sm, &s, PROBE_FAILURE));
	assert_int_equal(sm.result, PROBE_SUCCESS);
	assert_true(probe_sm_record(&sm, &s, PROBE_FAILURE));
	assert_int_equal(sm.result, PROBE_FAILURE);
	assert_false(sm.on_hold); /* readiness goes on probing */
	/* a success between failures starts the count again */
	assert_false(probe_sm_record(&sm, &s, PROBE_SUCCESS));
	assert_false(probe_sm_record(&sm, &s, PROBE_FAILURE));
	assert_int_equal(sm.result, PROBE_FAILURE);

	/* liveness: Success at first, a failure at the threshold holds until a new container */
	s = (struct probe_spec){
	    .kind = PROBE_LIVENESS, .success_threshold = 1, .failure_threshold = 2};
	sm = (struct probe_sm){0};
	probe_sm_new_container(&sm, PROBE_LIVENESS);
	assert_int_equal(sm.result, PROBE_SUCCESS);
	assert_false(probe_sm_record(&sm, &s, PROBE_FAILURE));
	assert_int_equal(sm.result, PROBE_SUCCESS);
	assert_true(probe_sm_record(&sm, &s, PROBE_FAILURE));
	assert_int_equal(sm.result, PROBE_FAILURE);
	assert_true(sm.on_hold);
	assert_int_equal(sm.run, 0);
	probe_sm_new_container(&sm, PROBE_LIVENESS);
	assert_false(sm.on_hold);
	assert_int_equal(sm.result, PROBE_SUCCESS);
	/* the run count restarted: one failure is below the threshold again */
	assert_false(probe_sm_record(&sm, &s, PROBE_FAILURE));

	/* startup: Unknown until it succeeds once */
	s = (struct probe_spec){
	    .kind = PROBE_STARTUP, .success_threshold = 1, .failure_threshold = 3};
	sm = (struct probe_sm){0};
	probe_sm_new_container(&sm, PROBE_STARTUP);
	assert_int_equal(sm.result, PROBE_UNKNOWN);
	assert_true(probe_sm_record(&sm, &s, PROBE_SUCCESS));
	assert_int_equal(sm.result, PROBE_SUCCESS);
}

/* ---- running probes against the test's own listeners ---- */

struct srv {
	int fd, port;
	pthread_t th;
	atomic_int status;	 /* what /health answers */
	atomic_int hits;	 /* requests served */
	atomic_int chain_starts; /* requests for /chain10-0 */
	char last_req[2048];	 /* the last request's head */
	pthread_mutex_t mu;
};

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		char req[2048] = "", resp[512], path[256] = "";
		int len = 0, at = 0;
		ssize_t n = recv(c, req, sizeof(req) - 1, 0);

		if (n > 0) {
			req[n] = 0;
			sscanf(req, "GET %255s", path);
			if (!strcmp(path, "/chain10-0"))
				atomic_fetch_add(&s->chain_starts, 1);
			pthread_mutex_lock(&s->mu);
			snprintf(s->last_req, sizeof(s->last_req), "%s", req);
			pthread_mutex_unlock(&s->mu);
			if (!strcmp(path, "/same"))
				snprintf(
				    resp, sizeof(resp),
				    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/health\r\n"
				    "Content-Length: 0\r\n\r\n",
				    s->port);
			else if (!strcmp(path, "/other"))
				snprintf(
				    resp, sizeof(resp),
				    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:%d/fail\r\n"
				    "Content-Length: 2\r\n\r\nmv",
				    s->port);
			else if (sscanf(path, "/chain%d-%d", &len, &at) == 2 && at < len)
				/* /chainN-K: a relative redirect to K+1 until K is N */
				snprintf(resp, sizeof(resp),
					 "HTTP/1.1 302 Found\r\nLocation: /chain%d-%d\r\n"
					 "Content-Length: 0\r\n\r\n",
					 len, at + 1);
			else if (sscanf(path, "/chain%d-%d", &len, &at) == 2)
				snprintf(resp, sizeof(resp),
					 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
			else
				snprintf(resp, sizeof(resp),
					 "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok",
					 !strcmp(path, "/health") ? atomic_load(&s->status) : 500);
			(void)!write(c, resp, strlen(resp));
			atomic_fetch_add(&s->hits, 1);
		}
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	socklen_t len = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	atomic_store(&s->status, 200);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 64), 0);
	getsockname(s->fd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->th, NULL);
	pthread_mutex_destroy(&s->mu);
}

/* Wait (30 s at most) until the server has answered n requests. */
static void wait_hits(struct srv *s, int n)
{
	for (int i = 0; i < 3000 && atomic_load(&s->hits) < n; i++)
		usleep(10000);
	assert_true(atomic_load(&s->hits) >= n);
}

static const struct aprobe_pod POD = {.ns = "default", .name = "p", .uid = "u-1"};

/* The probes of the container fmt makes (printf-style), running against this process. */
static struct aprobe *probe_for(struct jv_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct aprobe *probe_for(struct jv_doc *d, const char *fmt, ...)
{
	char json[1024];
	struct aprobe *ap;
	va_list va;

	va_start(va, fmt);
	vsnprintf(json, sizeof(json), fmt, va);
	va_end(va);
	ap = aprobe_new(NULL, &POD, parse(d, json));
	assert_non_null(ap);
	aprobe_run(ap, getpid(), NULL, "127.0.0.1", "/");
	return ap;
}

/* A readiness httpGet probe of port and path, every second, failing at the first failure. */
#define HTTP_READINESS                                                                   \
	"{\"name\":\"c\",\"readinessProbe\":{\"httpGet\":{\"port\":%d,\"path\":\"%s\"}," \
	"\"periodSeconds\":1,\"failureThreshold\":1}}"

static bool is_ready(struct aprobe *ap)
{
	bool started, ready;

	aprobe_status(ap, &started, &ready);
	return ready;
}

/* Wait (30 s at most, polling) until the container's ready flag is want. */
static bool wait_ready(struct aprobe *ap, bool want)
{
	for (int i = 0; i < 3000; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (is_ready(ap) == want)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_tcp_both_ways(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct srv s;
	struct aprobe *ap;
	bool started, ready;

	(void)state;
	srv_start(&s);
	ap = probe_for(d,
		       "{\"name\":\"c\",\"readinessProbe\":{\"tcpSocket\":{\"port\":%d},"
		       "\"periodSeconds\":1,\"failureThreshold\":1}}",
		       s.port);
	aprobe_status(ap, &started, &ready);
	assert_true(started);
	assert_true(wait_ready(ap, true));
	srv_stop(&s); /* nothing listens: connection refused */
	assert_true(wait_ready(ap, false));
	aprobe_exited(ap);
	aprobe_status(ap, &started, &ready);
	assert_false(started);
	assert_false(ready);
	aprobe_free(ap);
	jv_doc_free(d);
}

static void test_http_codes_and_request(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct srv s;
	struct aprobe *ap;

	(void)state;
	srv_start(&s);
	atomic_store(&s.status, 500);
	ap = probe_for(d,
		       "{\"name\":\"c\",\"readinessProbe\":{\"httpGet\":{\"port\":%d,"
		       "\"path\":\"/health\",\"httpHeaders\":[{\"name\":\"x-probe\","
		       "\"value\":\"yes\"}]},\"periodSeconds\":1,\"failureThreshold\":1}}",
		       s.port);
	/* 500: not ready, however long it waits for a first success */
	wait_hits(&s, 2);
	assert_false(is_ready(ap));
	atomic_store(&s.status, 399); /* the top of the success range */
	assert_true(wait_ready(ap, true));
	pthread_mutex_lock(&s.mu);
	assert_non_null(strstr(s.last_req, "GET /health HTTP/1.1\r\n"));
	assert_non_null(strstr(s.last_req, "\r\nUser-Agent: kube-probe/1.32\r\n"));
	assert_non_null(strstr(s.last_req, "\r\nAccept: */*\r\n"));
	assert_non_null(strstr(s.last_req, "\r\nX-Probe: yes\r\n"));
	pthread_mutex_unlock(&s.mu);
	atomic_store(&s.status, 400);
	assert_true(wait_ready(ap, false));
	aprobe_free(ap);
	srv_stop(&s);
	jv_doc_free(d);
}

static void test_http_redirects(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct srv s;
	struct aprobe *ap;

	(void)state;
	srv_start(&s);
	/* same host: followed to /health (200) */
	ap = probe_for(d, HTTP_READINESS, s.port, "/same");
	assert_true(wait_ready(ap, true));
	atomic_store(&s.status, 503); /* the target fails: so does the probe */
	assert_true(wait_ready(ap, false));
	aprobe_free(ap);
	/* another host: not followed, the 302 is a warning that counts as success */
	ap = probe_for(d, HTTP_READINESS, s.port, "/other");
	assert_true(wait_ready(ap, true));
	aprobe_free(ap);
	/* net/http follows 9 redirects (the 10th request answers) ... */
	ap = probe_for(d, HTTP_READINESS, s.port, "/chain9-0");
	assert_true(wait_ready(ap, true));
	aprobe_free(ap);
	/* ... and stops at the 10th redirect: a failure (its run ended once a second starts) */
	ap = probe_for(d, HTTP_READINESS, s.port, "/chain10-0");
	for (int i = 0; i < 3000 && atomic_load(&s.chain_starts) < 2; i++)
		usleep(10000);
	assert_true(atomic_load(&s.chain_starts) >= 2);
	assert_false(is_ready(ap));
	aprobe_free(ap);
	srv_stop(&s);
	jv_doc_free(d);
}

static void test_startup_gates_and_liveness(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct srv s;
	struct aprobe *ap;
	bool started, ready;
	int64_t grace;

	(void)state;
	srv_start(&s);
	atomic_store(&s.status, 500);
	ap = probe_for(d,
		       "{\"name\":\"c\",\"startupProbe\":{\"httpGet\":{\"port\":%d,\"path\":"
		       "\"/health\"},\"periodSeconds\":1,\"failureThreshold\":1000},"
		       "\"livenessProbe\":{\"tcpSocket\":{\"port\":1},\"periodSeconds\":1,"
		       "\"failureThreshold\":1,\"terminationGracePeriodSeconds\":4}}",
		       s.port);
	wait_hits(&s, 3);
	/* not started: not ready, and the (failing) liveness probe held off */
	aprobe_status(ap, &started, &ready);
	assert_false(started);
	assert_false(ready);
	assert_int_equal(aprobe_failed(ap, &grace), -1);
	atomic_store(&s.status, 200);
	for (int i = 0; i < 3000 && aprobe_failed(ap, &grace) < 0; i++)
		usleep(10000);
	aprobe_status(ap, &started, &ready);
	assert_true(started);
	assert_true(ready); /* no readiness probe: ready once started */
	assert_int_equal(aprobe_failed(ap, &grace), PROBE_LIVENESS);
	assert_int_equal(grace, 4);
	/* a new container: liveness Success again until it fails anew */
	aprobe_exited(ap);
	aprobe_run(ap, getpid(), NULL, "127.0.0.1", "/");
	assert_int_equal(aprobe_failed(ap, &grace), -1);
	aprobe_free(ap);
	srv_stop(&s);
	jv_doc_free(d);
}

static void test_no_probes(void **state)
{
	struct jv_doc *d = jv_doc_new();
	bool started = false, ready = false;

	(void)state;
	errno = EINVAL;
	assert_null(aprobe_new(NULL, &POD, parse(d, "{\"name\":\"c\"}")));
	assert_int_equal(errno, 0);
	aprobe_status(NULL, &started, &ready);
	assert_true(started);
	assert_true(ready);
	jv_doc_free(d);
}

/* ---- gRPC ---- */

static void test_grpc_framing(void **state)
{
	unsigned char b[64];
	static const unsigned char empty[] = {0, 0, 0, 0, 0};
	static const unsigned char svc[] = {0, 0, 0, 0, 5, 0x0a, 3, 's', 'v', 'c'};
	static const unsigned char serving[] = {0, 0, 0, 0, 2, 0x08, 1};
	static const unsigned char unknown_field[] = {0, 0, 0, 0, 5, 0x12, 1, 'x', 0x08, 2};
	static const unsigned char truncated[] = {0, 0, 0, 0, 2, 0x08};
	static const unsigned char compressed[] = {1, 0, 0, 0, 0};

	(void)state;
	assert_int_equal(probe_grpc_request("", b, sizeof(b)), 5);
	assert_memory_equal(b, empty, 5);
	assert_int_equal(probe_grpc_request(NULL, b, sizeof(b)), 5);
	assert_int_equal(probe_grpc_request("svc", b, sizeof(b)), sizeof(svc));
	assert_memory_equal(b, svc, sizeof(svc));
	assert_int_equal(probe_grpc_request("svc", b, 9), 0); /* does not fit */
	assert_int_equal(probe_grpc_status(serving, sizeof(serving)), 1);
	assert_int_equal(probe_grpc_status(empty, sizeof(empty)), 0); /* absent: UNKNOWN */
	assert_int_equal(probe_grpc_status(unknown_field, sizeof(unknown_field)), 2);
	assert_int_equal(probe_grpc_status(truncated, sizeof(truncated)), -1);
	assert_int_equal(probe_grpc_status(compressed, sizeof(compressed)), -1);
	assert_int_equal(probe_grpc_status(empty, 3), -1);
}

struct gsrv {
	pid_t pid;
	int port;
	char state[64];
};

static void gsrv_state(struct gsrv *g, const char *lines)
{
	char tmp[80];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", g->state);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(lines, f);
	fclose(f);
	assert_int_equal(rename(tmp, g->state), 0);
}

/* the Node.js server (scripts/deps.sh installs Debian's nodejs) */
static void gsrv_start(struct gsrv *g)
{
	const char *node = access("/usr/bin/node", X_OK) ? "/usr/bin/nodejs" : "/usr/bin/node";
	char js[4096], line[32];
	int p[2];
	FILE *f;

	if (access(node, X_OK))
		fail_msg(
		    "no Node.js (node or nodejs in /usr/bin): scripts/deps.sh installs nodejs");
	snprintf(js, sizeof(js), "%s/tests/unit/agent/grpc_health_server.js", DROVER_SOURCE_DIR);
	snprintf(g->state, sizeof(g->state), "/tmp/test_agent_probe.%d.grpc", (int)getpid());
	gsrv_state(g, "- SERVING\ndown NOT_SERVING\nflip SERVING\n");
	assert_int_equal(pipe(p), 0);
	g->pid = fork();
	assert_true(g->pid >= 0);
	if (g->pid == 0) {
		/* gone with the test, also when a failed check leaves before gsrv_stop */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(node, node, js, "127.0.0.1", g->state, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		fail_msg("the gRPC test server did not start (%s %s)", node, js);
	fclose(f);
	g->port = atoi(line);
	assert_true(g->port > 0);
}

static void gsrv_stop(struct gsrv *g)
{
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, NULL, 0);
		g->pid = 0;
	}
	unlink(g->state);
}

/* one probe_grpc call for service; its outcome and text */
static void grpc_case(int port, const char *service, enum outcome want, const char *text)
{
	struct probe_spec s = {.handler = PROBE_H_GRPC, .port = port, .timeout = 5};
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	s.grpc_service = (char *)service;
	probe_grpc(&s, "127.0.0.1", r);
	if (r->err[0] || r->o != want || strcmp(r->out, text))
		fail_msg("service '%s': outcome %d err '%s' out '%s', want %d '%s'", service, r->o,
			 r->err, r->out, want, text);
	free(r);
}

static void test_grpc_calls(void **state)
{
	struct gsrv g = {0};
	char refused[256];
	int port;

	(void)state;
	gsrv_start(&g);
	port = g.port;
	grpc_case(port, "", O_SUCCESS, "service healthy");
	grpc_case(port, NULL, O_SUCCESS, "service healthy");
	grpc_case(port, "down", O_FAILURE, "service unhealthy (responded with \"NOT_SERVING\")");
	grpc_case(port, "nosuch", O_FAILURE,
		  "error: health rpc probe failed: rpc error: code = NotFound desc = unknown "
		  "service");
	grpc_case(port, "unimplemented", O_FAILURE,
		  "error: this server does not implement the grpc health protocol "
		  "(grpc.health.v1.Health): unknown service grpc.health.v1.Health");
	gsrv_stop(&g);
	snprintf(refused, sizeof(refused),
		 "error: health rpc probe failed: rpc error: code = Unavailable desc = connection "
		 "error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:%d: connect: "
		 "connection refused\"",
		 port);
	grpc_case(port, "", O_FAILURE, refused);
}

/* a readiness grpc probe through the prober follows the server's answer both ways */
static void test_grpc_readiness(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct gsrv g = {0};
	struct aprobe *ap;

	(void)state;
	gsrv_start(&g);
	ap = probe_for(d,
		       "{\"name\":\"c\",\"readinessProbe\":{\"grpc\":{\"port\":%d,"
		       "\"service\":\"flip\"},\"periodSeconds\":1,\"failureThreshold\":1}}",
		       g.port);
	assert_true(wait_ready(ap, true));
	gsrv_state(&g, "- SERVING\nflip NOT_SERVING\n");
	assert_true(wait_ready(ap, false));
	gsrv_state(&g, "- SERVING\nflip SERVING\n");
	assert_true(wait_ready(ap, true));
	gsrv_stop(&g);
	assert_true(wait_ready(ap, false));
	aprobe_free(ap);
	jv_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_http),
	    cmocka_unit_test(test_fields_and_handlers),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_exec_expansion),
	    cmocka_unit_test(test_bad_port_spec),
	    cmocka_unit_test(test_header_names),
	    cmocka_unit_test(test_state_machine),
	    cmocka_unit_test(test_no_probes),
	    cmocka_unit_test(test_tcp_both_ways),
	    cmocka_unit_test(test_http_codes_and_request),
	    cmocka_unit_test(test_http_redirects),
	    cmocka_unit_test(test_startup_gates_and_liveness),
	    cmocka_unit_test(test_grpc_framing),
	    cmocka_unit_test(test_grpc_calls),
	    cmocka_unit_test(test_grpc_readiness),
	};

	aprobe_init_clock();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
