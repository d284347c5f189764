/* SPDX-License-Identifier: Apache-2.0 */
/* tl_metrics: reading the telemetry maps into Prometheus text (tl_metrics.h). */
#include "tl_metrics.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hmap.h"
#include "tl_expo.h"

/* The labels of a series, in this order (HTTP series use all ten). */
enum {
	L_REPORTER,
	L_SRC_WORKLOAD,
	L_SRC_NS,
	L_SRC_POD,
	L_DST_SERVICE,
	L_DST_NS,
	L_DST_WORKLOAD,
	L_DST_POD,
	L_METHOD,
	L_CODE,
	L_MAX,
};

static const char *const label_names[L_MAX] = {"reporter",
					       "source_workload",
					       "source_namespace",
					       "source_pod",
					       "destination_service",
					       "destination_namespace",
					       "destination_workload",
					       "destination_pod",
					       "method",
					       "code"};

#define VAL_WORDS 16 /* u64 words of the larger value (struct drv_tl_http: 15) */

struct row {
	char *lab;	      /* the values, NUL-separated (one allocation) */
	const char *v[L_MAX]; /* into lab */
	uint64_t val[VAL_WORDS];
};

struct rows {
	struct row *v;
	size_t n, cap;
	size_t nlab; /* labels that count (8 TCP, 10 HTTP) */
};

void tl_maps_init(struct tl_maps *m)
{
	m->tcp = m->http = m->ctr = m->stats = m->names = m->ev = m->svc = m->be = -1;
}

static int pin_open(int *fd, const char *root, const char *name)
{
	char path[4096];

	if (*fd >= 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s", root, name);
	*fd = bpf_obj_get(path);
	return *fd >= 0;
}

int tl_maps_open(struct tl_maps *m, const char *pin_root)
{
	if (!pin_root)
		return 0;
	return pin_open(&m->tcp, pin_root, DRV_MAP_TL_TCP) +
	       pin_open(&m->http, pin_root, DRV_MAP_TL_HTTP) +
	       pin_open(&m->ctr, pin_root, DRV_MAP_TL_CTR) +
	       pin_open(&m->stats, pin_root, DRV_MAP_STATS) +
	       pin_open(&m->names, pin_root, DRV_MAP_NAMES) +
	       pin_open(&m->ev, pin_root, DRV_MAP_TL_EV) +
	       pin_open(&m->svc, pin_root, DRV_MAP_SVC) +
	       pin_open(&m->be, pin_root, DRV_MAP_BACKEND);
}

void tl_maps_close(struct tl_maps *m)
{
	int *fds[] = {&m->tcp, &m->http, &m->ctr, &m->stats, &m->names, &m->ev, &m->svc, &m->be};

	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* ---- labels of a key ---- */

static void pod_labels(const struct tl_resolver *r, uint32_t addr, struct tl_pod_ident *id)
{
	if (!r || !r->pod_by_ip || r->pod_by_ip(r->arg, addr, id) != 0) {
		snprintf(id->ns, sizeof(id->ns), TL_UNKNOWN);
		snprintf(id->pod, sizeof(id->pod), TL_UNKNOWN);
		snprintf(id->workload, sizeof(id->workload), TL_UNKNOWN);
	}
}

/* ---- the server side's service ----
 * A server-side series has no frontend (the client's node chose the backend), as Istio's
 * destination reporter has one: the service whose frontends list this pod's address:port
 * as a backend (the proxy's drv_svc4 and drv_be4, read once per scrape). An endpoint of
 * several services is left unknown; the frontends of one service port (ClusterIP, NodePort,
 * external IPs) name the same service and count as one. */
#define BE_AMBIGUOUS UINT32_MAX

/* address (network order) and port (network order) as one key with no padding */
static uint64_t be_key(uint32_t addr, uint16_t port)
{
	return (uint64_t)addr << 16 | port;
}

static bool same_service(const struct tl_maps *m, uint32_t a, uint32_t b)
{
	struct drv_svc_name na, nb;

	if (a == b)
		return true;
	if (m->names < 0 || bpf_map_lookup_elem(m->names, &a, &na) ||
	    bpf_map_lookup_elem(m->names, &b, &nb))
		return false;
	na.name[sizeof(na.name) - 1] = nb.name[sizeof(nb.name) - 1] = 0;
	return !strcmp(na.name, nb.name);
}

/* address:port (network order) -> rev-NAT id + 1 (BE_AMBIGUOUS: several services); NULL when
 * the maps are not there or memory ran out. */
static struct hmap *be_index_new(const struct tl_maps *m)
{
	struct drv_svc_key key, next;
	struct hmap *h;
	bool have = false;

	if (m->svc < 0 || m->be < 0 || !(h = hmap_new()))
		return NULL;
	while (bpf_map_get_next_key(m->svc, have ? &key : NULL, &next) == 0) {
		struct drv_svc_key mk;
		struct drv_svc_val sv, mv;
		struct drv_backend be;
		uint64_t bk;
		uintptr_t cur, id;

		key = next;
		have = true;
		if (!key.slot || bpf_map_lookup_elem(m->svc, &key, &sv) ||
		    bpf_map_lookup_elem(m->be, &sv.backend_id, &be))
			continue;
		mk = key;
		mk.slot = 0;
		if (bpf_map_lookup_elem(m->svc, &mk, &mv) || !mv.rev_nat)
			continue;
		bk = be_key(be.addr, be.port);
		cur = (uintptr_t)hmap_get(h, &bk, sizeof(bk));
		id = (uintptr_t)mv.rev_nat + 1;
		if (cur == id || cur == BE_AMBIGUOUS)
			continue;
		if (cur && !same_service(m, (uint32_t)(cur - 1), mv.rev_nat))
			id = BE_AMBIGUOUS;
		else if (cur)
			continue;
		if (hmap_put(h, &bk, sizeof(bk), (void *)id, NULL) < 0) {
			hmap_free(h);
			return NULL;
		}
	}
	return h;
}

/* The rev-NAT id of the one service addr:port serves, or 0. */
static uint32_t be_index_service(const struct hmap *h, uint32_t addr, uint16_t port)
{
	uint64_t bk = be_key(addr, port);
	uintptr_t v;

	if (!h)
		return 0;
	v = (uintptr_t)hmap_get(h, &bk, sizeof(bk));
	return v && v != BE_AMBIGUOUS ? (uint32_t)(v - 1) : 0;
}

static int row_add(struct rows *rs, const struct tl_maps *m, const struct tl_resolver *r,
		   const struct hmap *beidx, const struct drv_tl_key *k, const uint64_t *val,
		   size_t words)
{
	struct tl_pod_ident src, dst;
	struct drv_svc_name nm;
	uint32_t id = k->rev_nat;
	char svc[256] = TL_UNKNOWN, svc_ns[64] = "", code[8];
	const char *v[L_MAX];
	size_t len = 0;
	struct row *row;
	char *p;

	pod_labels(r, k->saddr, &src);
	pod_labels(r, k->daddr, &dst);
	if (!id && k->reporter == DRV_TL_SERVER)
		id = be_index_service(beidx, k->daddr, k->dport);
	if (id && m->names >= 0 && bpf_map_lookup_elem(m->names, &id, &nm) == 0) {
		nm.name[sizeof(nm.name) - 1] = 0;
		if (!tl_service_of(nm.name, r ? r->cluster_domain : NULL, svc, sizeof(svc), svc_ns,
				   sizeof(svc_ns)))
			snprintf(svc, sizeof(svc), TL_UNKNOWN);
	}
	snprintf(code, sizeof(code), "%u", k->code);
	v[L_REPORTER] = k->reporter == DRV_TL_CLIENT   ? "source"
			: k->reporter == DRV_TL_SERVER ? "destination"
						       : TL_UNKNOWN;
	v[L_SRC_WORKLOAD] = src.workload;
	v[L_SRC_NS] = src.ns;
	v[L_SRC_POD] = src.pod;
	v[L_DST_SERVICE] = svc;
	/* the destination workload's namespace; the service's when no pod is known */
	v[L_DST_NS] = strcmp(dst.ns, TL_UNKNOWN) || !svc_ns[0] ? dst.ns : svc_ns;
	v[L_DST_WORKLOAD] = dst.workload;
	v[L_DST_POD] = dst.pod;
	v[L_METHOD] = tl_method_name(k->method);
	v[L_CODE] = code;
	for (size_t i = 0; i < rs->nlab; i++)
		len += strlen(v[i]) + 1;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		void *q = realloc(rs->v, cap * sizeof(*rs->v));

		if (!q)
			return -ENOMEM;
		rs->v = q;
		rs->cap = cap;
	}
	row = &rs->v[rs->n];
	memset(row, 0, sizeof(*row));
	row->lab = p = malloc(len);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < rs->nlab; i++) {
		size_t l = strlen(v[i]) + 1;

		memcpy(p, v[i], l);
		row->v[i] = p;
		p += l;
	}
	memcpy(row->val, val, words * sizeof(uint64_t));
	rs->n++;
	return 0;
}

static int cmp_row(const void *a, const void *b, void *arg)
{
	const struct row *x = a, *y = b;
	size_t nlab = *(const size_t *)arg;

	for (size_t i = 0; i < nlab; i++) {
		int c = strcmp(x->v[i], y->v[i]);

		if (c)
			return c;
	}
	return 0;
}

/* Sort by labels and sum the rows that resolved alike. */
static void rows_merge(struct rows *rs)
{
	size_t o = 0;

	if (rs->n)
		qsort_r(rs->v, rs->n, sizeof(*rs->v), cmp_row, &rs->nlab);
	for (size_t i = 0; i < rs->n; i++) {
		if (o && cmp_row(&rs->v[o - 1], &rs->v[i], &rs->nlab) == 0) {
			for (size_t w = 0; w < VAL_WORDS; w++)
				rs->v[o - 1].val[w] += rs->v[i].val[w];
			free(rs->v[i].lab);
			continue;
		}
		rs->v[o++] = rs->v[i];
	}
	rs->n = o;
}

static void rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].lab);
	free(rs->v);
}

/* Every key of a per-CPU series map, summed over CPUs, as rows. */
static int read_series(const struct tl_maps *m, const struct tl_resolver *r,
		       const struct hmap *beidx, int fd, size_t words, struct rows *rs)
{
	int ncpu = libbpf_num_possible_cpus();
	struct drv_tl_key key, next;
	bool have = false;
	uint64_t *vals, sum[VAL_WORDS];
	int err = 0;

	if (fd < 0)
		return 0;
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, words * sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	while (!err && bpf_map_get_next_key(fd, have ? &key : NULL, &next) == 0) {
		key = next;
		have = true;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue; /* deleted meanwhile */
		struct drv_tl_key sides[2];
		int n = drv_tl_key_sides(&key, sides);

		memset(sum, 0, sizeof(sum));
		for (int c = 0; c < ncpu; c++)
			for (size_t w = 0; w < words; w++)
				sum[w] += vals[(size_t)c * words + w];
		/* a series counted once for both ends of a connection on this node is two */
		for (int i = 0; i < n && !err; i++)
			err = row_add(rs, m, r, beidx, &sides[i], sum, words);
	}
	free(vals);
	if (!err)
		rows_merge(rs);
	return err;
}

/* A per-CPU array or hash value at key, summed over CPUs (words u64 words). */
static void read_percpu(int fd, const void *key, size_t words, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	memset(out, 0, words * sizeof(uint64_t));
	if (fd < 0 || ncpu <= 0 || !(vals = calloc((size_t)ncpu, words * sizeof(uint64_t))))
		return;
	if (bpf_map_lookup_elem(fd, key, vals) == 0)
		for (int c = 0; c < ncpu; c++)
			for (size_t w = 0; w < words; w++)
				out[w] += vals[(size_t)c * words + w];
	free(vals);
}

static void labels_of(const struct row *row, size_t n, struct expo_label *l)
{
	for (size_t i = 0; i < n; i++)
		l[i] = (struct expo_label){label_names[i], row->v[i]};
}

#define TCP_W	 (sizeof(struct drv_tl_tcp) / sizeof(uint64_t))
#define HTTP_W	 (sizeof(struct drv_tl_http) / sizeof(uint64_t))
#define TCP_F(f) (offsetof(struct drv_tl_tcp, f) / sizeof(uint64_t))

static void write_tcp(struct k8s_buf *b, const struct rows *rs)
{
	static const struct {
		const char *name, *help;
		size_t word;
	} simple[] = {
	    {"drover_tcp_sent_bytes_total",
	     "Bytes sent on TCP connections (by the client towards the server).",
	     TCP_F(bytes_sent)},
	    {"drover_tcp_received_bytes_total",
	     "Bytes received on TCP connections (by the client from the server).",
	     TCP_F(bytes_received)},
	    {"drover_tcp_sent_packets_total", "Segments sent on TCP connections.",
	     TCP_F(packets_sent)},
	    {"drover_tcp_received_packets_total", "Segments received on TCP connections.",
	     TCP_F(packets_received)},
	    {"drover_tcp_retransmits_total", "Segments retransmitted on TCP connections.",
	     TCP_F(retransmits)},
	    {"drover_tcp_syn_retransmits_total",
	     "SYNs retransmitted before TCP connections were established.", TCP_F(syn_retransmits)},
	};
	static const struct {
		const char *state;
		size_t word;
	} states[] = {{"opened", TCP_F(opened)},
		      {"closed", TCP_F(closed)},
		      {"refused", TCP_F(refused)},
		      {"reset", TCP_F(reset)}};
	struct expo_label l[L_MAX + 1];

	expo_family(b, "drover_tcp_connections_total", "counter",
		    "TCP connections by state: opened (established), closed, refused (the SYN "
		    "was answered by a reset), reset (after establishment).");
	for (size_t i = 0; i < rs->n; i++) {
		labels_of(&rs->v[i], rs->nlab, l);
		for (size_t s = 0; s < 4; s++) {
			l[rs->nlab] = (struct expo_label){"state", states[s].state};
			expo_u64(b, "drover_tcp_connections_total", l, rs->nlab + 1,
				 rs->v[i].val[states[s].word]);
		}
	}
	for (size_t f = 0; f < sizeof(simple) / sizeof(*simple); f++) {
		expo_family(b, simple[f].name, "counter", simple[f].help);
		for (size_t i = 0; i < rs->n; i++) {
			labels_of(&rs->v[i], rs->nlab, l);
			expo_u64(b, simple[f].name, l, rs->nlab, rs->v[i].val[simple[f].word]);
		}
	}
	/* a summary's _sum and _count, without quantiles: the mean RTT is rate(sum)/rate(count) */
	expo_family(b, "drover_tcp_srtt_seconds", "summary",
		    "Smoothed round-trip time of TCP connections, sampled when they close.");
	for (size_t i = 0; i < rs->n; i++) {
		labels_of(&rs->v[i], rs->nlab, l);
		expo_f64(b, "drover_tcp_srtt_seconds_sum", l, rs->nlab,
			 (double)rs->v[i].val[TCP_F(srtt_us_sum)] / 1e6);
		expo_u64(b, "drover_tcp_srtt_seconds_count", l, rs->nlab,
			 rs->v[i].val[TCP_F(srtt_samples)]);
	}
}

static void write_http(struct k8s_buf *b, const struct rows *rs)
{
	static const uint64_t bounds_us[DRV_TL_HTTP_BUCKETS] = DRV_TL_HTTP_BUCKET_BOUNDS_US;
	double bounds[DRV_TL_HTTP_BUCKETS];
	struct expo_label l[L_MAX];
	size_t b0 = offsetof(struct drv_tl_http, buckets) / sizeof(uint64_t);

	for (size_t i = 0; i < DRV_TL_HTTP_BUCKETS; i++)
		bounds[i] = (double)bounds_us[i] / 1e6;
	expo_family(b, "drover_http_requests_total", "counter",
		    "HTTP/1.x requests by method and response status code.");
	for (size_t i = 0; i < rs->n; i++) {
		labels_of(&rs->v[i], rs->nlab, l);
		expo_u64(b, "drover_http_requests_total", l, rs->nlab,
			 rs->v[i].val[offsetof(struct drv_tl_http, requests) / sizeof(uint64_t)]);
	}
	expo_family(b, "drover_http_request_duration_seconds", "histogram",
		    "HTTP/1.x request duration, from the request's first byte to the response's "
		    "first byte as the reporter sees them.");
	for (size_t i = 0; i < rs->n; i++) {
		labels_of(&rs->v[i], rs->nlab, l);
		/* buckets then over are adjacent words: the non-cumulative counts expo wants */
		expo_histogram(b, "drover_http_request_duration_seconds", l, rs->nlab, bounds,
			       &rs->v[i].val[b0], DRV_TL_HTTP_BUCKETS,
			       (double)rs->v[i].val[offsetof(struct drv_tl_http, duration_us_sum) /
						    sizeof(uint64_t)] /
				   1e6);
	}
}

/* drv_stats1's drop reasons, over every frontend and path. */
static void write_drops(struct k8s_buf *b, const struct tl_maps *m)
{
	uint64_t drops[DRV_STAT_MAX] = {0};
	int ncpu = libbpf_num_possible_cpus();
	struct drv_stats_key key, next;
	struct drv_stats_val *vals = NULL;
	bool have = false;

	if (m->stats >= 0 && ncpu > 0)
		vals = calloc((size_t)ncpu, sizeof(*vals));
	while (vals && bpf_map_get_next_key(m->stats, have ? &key : NULL, &next) == 0) {
		key = next;
		have = true;
		if (key.kind < DRV_STAT_DROP_FIRST || key.kind >= DRV_STAT_MAX ||
		    bpf_map_lookup_elem(m->stats, &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			drops[key.kind] += vals[c].packets;
	}
	free(vals);
	expo_family(b, "drover_drops_total", "counter",
		    "Packets (socket path: connections) the dataplane dropped, by reason.");
	for (unsigned k = DRV_STAT_DROP_FIRST; k < DRV_STAT_MAX; k++) {
		const char *reason = tl_drop_reason(k);

		if (reason)
			expo_u64(b, "drover_drops_total", &(struct expo_label){"reason", reason}, 1,
				 drops[k]);
	}
}

static void write_counters(struct k8s_buf *b, const struct tl_maps *m, const struct tl_extra *x)
{
	uint64_t ctr[DRV_TL_CTR_MAX];

	for (uint32_t i = 0; i < DRV_TL_CTR_MAX; i++)
		read_percpu(m->ctr, &i, 1, &ctr[i]);
	expo_family(
	    b, "drover_lost_events_total", "counter",
	    "Flow events lost: stage=\"kernel\" did not fit the ring buffer, stage=\"agent\" "
	    "were overwritten in the agent's ring before a follower read them.");
	expo_u64(b, "drover_lost_events_total", &(struct expo_label){"stage", "agent"}, 1,
		 x ? x->ring_lost : 0);
	expo_u64(b, "drover_lost_events_total", &(struct expo_label){"stage", "kernel"}, 1,
		 ctr[DRV_TL_CTR_EVENTS_LOST]);
	expo_family(b, "drover_telemetry_series_overflow_total", "counter",
		    "Connections or requests not counted because their map was full (the series "
		    "maps, or " DRV_MAP_TL_SK ": connections not followed).");
	expo_u64(b, "drover_telemetry_series_overflow_total",
		 &(struct expo_label){"map", DRV_MAP_TL_HTTP}, 1, ctr[DRV_TL_CTR_HTTP_OVERFLOW]);
	expo_u64(b, "drover_telemetry_series_overflow_total",
		 &(struct expo_label){"map", DRV_MAP_TL_TCP}, 1, ctr[DRV_TL_CTR_TCP_OVERFLOW]);
	expo_u64(b, "drover_telemetry_series_overflow_total",
		 &(struct expo_label){"map", DRV_MAP_TL_SK}, 1, ctr[DRV_TL_CTR_SOCK_OVERFLOW]);
	expo_family(b, "drover_http_unparsed_responses_total", "counter",
		    "HTTP responses with no request waiting for them (not counted as requests).");
	expo_u64(b, "drover_http_unparsed_responses_total", NULL, 0, ctr[DRV_TL_CTR_HTTP_UNPARSED]);
}

int tl_metrics_write(const struct tl_maps *m, const struct tl_resolver *r, const struct tl_extra *x,
		     struct k8s_buf *out)
{
	struct rows tcp = {.nlab = L_METHOD}, http = {.nlab = L_MAX};
	struct hmap *beidx = be_index_new(m);
	int err;

	err = read_series(m, r, beidx, m->http, HTTP_W, &http);
	if (!err)
		err = read_series(m, r, beidx, m->tcp, TCP_W, &tcp);
	hmap_free(beidx);
	if (!err) {
		write_drops(out, m);
		write_http(out, &http);
		write_counters(out, m, x);
		write_tcp(out, &tcp);
	}
	rows_free(&tcp);
	rows_free(&http);
	return err ? err : out->oom ? -ENOMEM : 0;
}
