/* SPDX-License-Identifier: Apache-2.0 */
/* tl_flows: the ring buffer consumer, the ring of recent events, /metrics and /flows. */
#include "tl_flows.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tl_expo.h"

#define COMP	   "telemetry"
#define POLL_MS	   100
#define FOLLOW_MS  500
#define READ_BATCH 64

struct tl_exporter {
	char *pin_root, *node;
	struct tl_resolver res;
	pthread_mutex_t maps_mu; /* opening the pins */
	struct tl_maps maps;
	/* the ring of recent events: event seq s (1, 2, ...) is at ring[(s - 1) % cap] */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct drv_tl_event *ring;
	size_t cap;
	uint64_t head; /* events pushed */
	atomic_uint_least64_t lost;
	atomic_bool stop, shutdown;
	pthread_t th;
	bool started;
};

static void maps_open(struct tl_exporter *e)
{
	pthread_mutex_lock(&e->maps_mu);
	tl_maps_open(&e->maps, e->pin_root);
	pthread_mutex_unlock(&e->maps_mu);
}

void tl_exporter_push(struct tl_exporter *e, const struct drv_tl_event *ev)
{
	struct drv_tl_key sides[2];
	/* a request counted once for both ends of a connection on this node: one event each */
	int n = drv_tl_key_sides(&ev->key, sides);

	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < n; i++) {
		e->ring[e->head % e->cap] = *ev;
		e->ring[e->head % e->cap].key = sides[i];
		e->head++;
	}
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->mu);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct drv_tl_event ev = {0};

	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	tl_exporter_push(ctx, &ev);
	return 0;
}

static void *ring_main(void *arg)
{
	struct tl_exporter *e = arg;
	struct ring_buffer *rb = NULL;
	int fd;

	while (!atomic_load(&e->stop)) {
		if (!rb) {
			maps_open(e);
			pthread_mutex_lock(&e->maps_mu);
			fd = e->maps.ev;
			pthread_mutex_unlock(&e->maps_mu);
			if (fd >= 0 && !(rb = ring_buffer__new(fd, on_event, e, NULL)))
				log_warn(COMP, "%s/%s: ring buffer: %s", e->pin_root, DRV_MAP_TL_EV,
					 strerror(errno));
			if (!rb) {
				for (int i = 0; i < 5 && !atomic_load(&e->stop); i++)
					usleep(POLL_MS * 1000);
				continue;
			}
			log_info(COMP, "reading flow events from %s/%s", e->pin_root,
				 DRV_MAP_TL_EV);
		}
		/* telemetry.bpf.c wakes its reader only once the buffer is a quarter full: a quiet
		 * node's events are read on the timer (drover_abi.h, drv_tlev1's reader) */
		if ((ring_buffer__poll(rb, POLL_MS) < 0 && errno != EINTR) ||
		    ring_buffer__consume(rb) < 0) {
			ring_buffer__free(rb);
			rb = NULL;
		}
	}
	ring_buffer__free(rb);
	return NULL;
}

struct tl_exporter *tl_exporter_new(const struct tl_exporter_config *c)
{
	struct tl_exporter *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	pthread_mutex_init(&e->maps_mu, NULL);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cond, NULL);
	tl_maps_init(&e->maps);
	e->res = c->res;
	e->cap = c->ring_events ? c->ring_events : TL_RING_EVENTS_DEFAULT;
	e->ring = calloc(e->cap, sizeof(*e->ring));
	e->pin_root = c->pin_root ? strdup(c->pin_root) : NULL;
	e->node = strdup(c->node ? c->node : "");
	if (!e->ring || (c->pin_root && !e->pin_root) || !e->node)
		goto fail;
	if (e->pin_root) {
		if (pthread_create(&e->th, NULL, ring_main, e) != 0) {
			errno = EAGAIN;
			goto fail;
		}
		e->started = true;
	}
	return e;
fail:
	tl_exporter_free(e);
	errno = errno ? errno : ENOMEM;
	return NULL;
}

void tl_exporter_shutdown(struct tl_exporter *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	atomic_store(&e->shutdown, true);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->mu);
}

void tl_exporter_free(struct tl_exporter *e)
{
	if (!e)
		return;
	tl_exporter_shutdown(e);
	atomic_store(&e->stop, true);
	if (e->started)
		pthread_join(e->th, NULL);
	tl_maps_close(&e->maps);
	pthread_mutex_destroy(&e->maps_mu);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cond);
	free(e->ring);
	free(e->pin_root);
	free(e->node);
	free(e);
}

int tl_exporter_metrics(struct tl_exporter *e, struct k8s_buf *out)
{
	struct tl_extra x = {.ring_lost = atomic_load(&e->lost)};

	maps_open(e);
	return tl_metrics_write(&e->maps, &e->res, &x, out);
}

/* ---- flows as JSON ---- */

static void json_kv(struct k8s_buf *b, const char *key, const char *v, bool comma)
{
	k8s_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
	k8s_buf_json_string(b, v, strlen(v));
}

static void endpoint_json(struct tl_exporter *e, struct k8s_buf *b, const char *key, uint32_t addr,
			  uint16_t port)
{
	struct tl_pod_ident id;
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	k8s_buf_printf(b, ",\"%s\":{", key);
	json_kv(b, "ip", ip, false);
	k8s_buf_printf(b, ",\"port\":%u", port);
	if (e->res.pod_by_ip && e->res.pod_by_ip(e->res.arg, addr, &id) == 0) {
		json_kv(b, "namespace", id.ns, true);
		json_kv(b, "pod", id.pod, true);
		json_kv(b, "workload", id.workload, true);
	}
}

static const char *const ev_types[] = {[DRV_TL_EV_TCP_OPEN] = "opened",
				       [DRV_TL_EV_TCP_CLOSE] = "closed",
				       [DRV_TL_EV_TCP_REFUSED] = "refused",
				       [DRV_TL_EV_TCP_RESET] = "reset",
				       [DRV_TL_EV_HTTP] = "http"};

void tl_exporter_flow_json(struct tl_exporter *e, const struct drv_tl_event *ev, struct k8s_buf *b)
{
	struct timespec mono, real;
	struct drv_svc_name nm;
	uint32_t id = ev->key.rev_nat;
	char t[64], path[sizeof(ev->path) + 1];
	int64_t ns;
	time_t s;
	struct tm tm;

	/* ts_ns is CLOCK_MONOTONIC: the wall time it was */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
	     ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec - (int64_t)ev->ts_ns);
	s = (time_t)(ns / 1000000000);
	gmtime_r(&s, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	k8s_buf_printf(b, "{\"time\":\"%s.%06dZ\"", t, (int)(ns % 1000000000 / 1000));
	if (e->node[0])
		json_kv(b, "node", e->node, true);
	json_kv(b, "type",
		ev->type < sizeof(ev_types) / sizeof(*ev_types) && ev_types[ev->type]
		    ? (ev->type == DRV_TL_EV_HTTP ? "http" : "tcp")
		    : "unknown",
		true);
	json_kv(b, "reporter",
		ev->key.reporter == DRV_TL_CLIENT   ? "client"
		: ev->key.reporter == DRV_TL_SERVER ? "server"
						    : "unknown",
		true);
	endpoint_json(e, b, "source", ev->key.saddr, ntohs(ev->sport));
	k8s_buf_putc(b, '}');
	endpoint_json(e, b, "destination", ev->key.daddr, ntohs(ev->key.dport));
	if (id && e->maps.names >= 0 && bpf_map_lookup_elem(e->maps.names, &id, &nm) == 0) {
		nm.name[sizeof(nm.name) - 1] = 0;
		json_kv(b, "service", nm.name, true);
	}
	k8s_buf_putc(b, '}');
	if (ev->type == DRV_TL_EV_HTTP) {
		memcpy(path, ev->path, sizeof(ev->path));
		path[sizeof(ev->path)] = 0;
		k8s_buf_puts(b, ",\"http\":{");
		json_kv(b, "method", tl_method_name(ev->key.method), false);
		json_kv(b, "path", path, true);
		k8s_buf_printf(b, ",\"code\":%u,\"duration_us\":%llu}", ev->key.code,
			       (unsigned long long)ev->duration_us);
	} else {
		k8s_buf_puts(b, ",\"tcp\":{");
		json_kv(b, "state",
			ev->type < sizeof(ev_types) / sizeof(*ev_types) && ev_types[ev->type]
			    ? ev_types[ev->type]
			    : "unknown",
			false);
		if (ev->type == DRV_TL_EV_TCP_CLOSE || ev->type == DRV_TL_EV_TCP_RESET)
			k8s_buf_printf(b,
				       ",\"duration_us\":%llu,\"bytes_sent\":%llu,"
				       "\"bytes_received\":%llu",
				       (unsigned long long)ev->duration_us,
				       (unsigned long long)ev->bytes_sent,
				       (unsigned long long)ev->bytes_received);
		k8s_buf_putc(b, '}');
	}
	if (ev->pid)
		k8s_buf_printf(b, ",\"pid\":%u", ev->pid);
	k8s_buf_putc(b, '}');
}

/* ---- HTTP ---- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, const char *ctype,
			      char *body, size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result tl_http_metrics(struct tl_exporter *e, struct MHD_Connection *c)
{
	struct k8s_buf b = {0};
	size_t len;
	char *body;
	int rc = tl_exporter_metrics(e, &b);

	if (rc) {
		k8s_buf_free(&b);
		body = strdup("telemetry maps unreadable\n");
		return body ? answer(c, 500, "text/plain; charset=utf-8", body, strlen(body))
			    : MHD_NO;
	}
	body = k8s_buf_take(&b, &len);
	if (!body)
		return MHD_NO;
	return answer(c, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

struct follower {
	struct tl_exporter *e;
	uint64_t cursor; /* the last seq sent */
	bool follow;
	int conn_fd;
	struct k8s_buf out;
	size_t off;
};

size_t tl_exporter_read(struct tl_exporter *e, uint64_t *cursor, struct drv_tl_event *out,
			size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&e->mu);
	if (e->head - *cursor > e->cap) {
		atomic_fetch_add(&e->lost, e->head - *cursor - e->cap);
		*cursor = e->head - e->cap;
	}
	while (n < max && *cursor < e->head)
		out[n++] = e->ring[(*cursor)++ % e->cap];
	pthread_mutex_unlock(&e->mu);
	return n;
}

uint64_t tl_exporter_oldest(struct tl_exporter *e)
{
	uint64_t c;

	pthread_mutex_lock(&e->mu);
	c = e->head > e->cap ? e->head - e->cap : 0;
	pthread_mutex_unlock(&e->mu);
	return c;
}

/* Up to READ_BATCH events after the cursor, formatted; the count. */
static size_t fill(struct follower *f)
{
	struct drv_tl_event evs[READ_BATCH];
	size_t n = tl_exporter_read(f->e, &f->cursor, evs, READ_BATCH);

	f->out.len = 0;
	f->off = 0;
	for (size_t i = 0; i < n; i++) {
		tl_exporter_flow_json(f->e, &evs[i], &f->out);
		k8s_buf_putc(&f->out, '\n');
	}
	return n;
}

static ssize_t flows_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct follower *f = cls;
	struct tl_exporter *e = f->e;

	(void)pos;
	for (;;) {
		struct pollfd p = {.fd = f->conn_fd, .events = POLLRDHUP};

		if (f->off < f->out.len) {
			size_t k = f->out.len - f->off;

			if (k > max)
				k = max;
			memcpy(buf, f->out.p + f->off, k);
			f->off += k;
			return (ssize_t)k;
		}
		if (f->out.oom)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (fill(f))
			continue;
		if (!f->follow || atomic_load(&e->shutdown))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (f->conn_fd >= 0 && poll(&p, 1, 0) > 0 &&
		    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return MHD_CONTENT_READER_END_WITH_ERROR; /* the caller hung up */
		pthread_mutex_lock(&e->mu);
		if (f->cursor == e->head && !atomic_load(&e->shutdown)) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += FOLLOW_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&e->cond, &e->mu, &until);
		}
		pthread_mutex_unlock(&e->mu);
	}
}

static void flows_free(void *cls)
{
	struct follower *f = cls;

	k8s_buf_free(&f->out);
	free(f);
}

enum MHD_Result tl_http_flows(struct tl_exporter *e, struct MHD_Connection *c, bool follow)
{
	struct follower *f = calloc(1, sizeof(*f));
	const union MHD_ConnectionInfo *ci;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!f)
		return MHD_NO;
	maps_open(e); /* drv_names1 for the service names */
	f->e = e;
	f->follow = follow;
	f->cursor = tl_exporter_oldest(e);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	f->conn_fd = ci ? ci->connect_fd : -1;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, flows_read, f,
						 flows_free);
	if (!resp) {
		flows_free(f);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}
