/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_bench: the store benchmark's load generator, for drover's embedded store (in
 * process, fsync on, through store.h) and for etcd (through its JSON gateway, etcd_client.c)
 * with the same operations, key sets and concurrency. Prints JSON on stdout, progress on
 * stderr. Driven by bench/store/bench.sh.
 *
 *   store_bench fsync DIR                        the disk's own fdatasync latency
 *   store_bench ops BACKEND... [--duration S] [--rounds N] [--create-cap S] [--sizes 1000,10000]
 *   store_bench watch BACKEND [--watchers N] [--rate R] [--duration S] [--watch-set 0|1]
 *   store_bench memory BACKEND [--keys N] [--value-size B] [--pid ETCD_PID]
 * BACKEND: --embedded DIR | --etcd URL; ops takes both and runs each phase for both back to
 * back.
 */
#include "bench.h"
#include "log.h"
#include "store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- latency samples ---- */

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void sample_add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = ns;
}

static double pct_us(struct samples *s, double p)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return (double)s->v[i] / 1000.0;
}

/* ---- backends ---- */

struct backend {
	struct store *store;  /* embedded */
	const char *endpoint; /* etcd */
	const char *name;
};

struct conn {
	struct backend *b;
	struct etcd_conn *etcd;
};

static void conn_init(struct conn *c, struct backend *b)
{
	c->b = b;
	c->etcd = b->endpoint ? etcd_conn_new(b->endpoint) : NULL;
}

static void conn_fini(struct conn *c)
{
	etcd_conn_free(c->etcd);
}

enum op { OP_CREATE, OP_UPDATE, OP_GET, OP_LIST };
static const char *const op_names[] = {"create", "update", "get", "list"};

static int do_op(struct conn *c, enum op op, const char *key, size_t klen, const uint8_t *val,
		 size_t vlen, size_t *count)
{
	struct store_kv kv;
	int err;

	if (c->etcd) {
		switch (op) {
		case OP_CREATE:
			return etcd_create(c->etcd, key, klen, val, vlen);
		case OP_UPDATE:
			return etcd_put(c->etcd, key, klen, val, vlen);
		case OP_GET:
			return etcd_get(c->etcd, key, klen);
		case OP_LIST:
			return etcd_list(c->etcd, key, klen, 500, count);
		}
		return -EINVAL;
	}
	switch (op) {
	case OP_CREATE:
		return store_create(c->b->store, key, klen, val, vlen, NULL);
	case OP_UPDATE:
		return store_update(c->b->store, key, klen, val, vlen, 0, NULL);
	case OP_GET:
		err = store_get(c->b->store, key, klen, 0, &kv);
		store_kv_release(&kv);
		return err;
	case OP_LIST: {
		struct store_list_opts o = {.prefix = key, .prefix_len = klen, .limit = 500};
		struct store_list l;
		char *tok = NULL;

		*count = 0;
		for (;;) {
			o.continue_token = tok;
			err = store_list(c->b->store, &o, &l);
			free(tok);
			tok = NULL;
			if (err)
				return err;
			*count += l.count;
			tok = l.next;
			l.next = NULL;
			store_list_free(&l);
			if (!tok)
				return 0;
		}
	}
	}
	return -EINVAL;
}

/* ---- one measured phase: c threads doing op for a while ---- */

struct phase {
	struct backend *b;
	enum op op;
	const char *prefix;
	size_t nkeys, conc;
	uint64_t deadline;
	const uint8_t *val;
	size_t vlen;
	atomic_size_t next_create; /* creates: next key index to take */
	atomic_size_t errors;
	pthread_barrier_t start; /* every worker ready before the clock starts */
};

struct worker {
	struct phase *p;
	pthread_t t;
	struct samples lat;
	uint64_t ops;
	uint64_t rng;
};

static void key_name(char *buf, size_t n, const char *prefix, size_t i)
{
	snprintf(buf, n, "%sk%08zu", prefix, i);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct phase *p = w->p;
	struct conn c;
	char key[128];

	conn_init(&c, p->b);
	pthread_barrier_wait(&p->start);
	for (;;) {
		uint64_t t0 = now_ns();
		size_t i, count = 0;
		int err;

		if (t0 >= p->deadline)
			break;
		if (p->op == OP_CREATE) {
			i = atomic_fetch_add(&p->next_create, 1);
			if (i >= p->nkeys)
				break;
		} else {
			w->rng ^= w->rng << 13;
			w->rng ^= w->rng >> 7;
			w->rng ^= w->rng << 17;
			i = (size_t)(w->rng % p->nkeys);
		}
		if (p->op == OP_LIST)
			snprintf(key, sizeof(key), "%s", p->prefix);
		else
			key_name(key, sizeof(key), p->prefix, i);
		err = do_op(&c, p->op, key, strlen(key), p->val, p->vlen, &count);
		if (err || (p->op == OP_LIST && count != p->nkeys))
			atomic_fetch_add(&p->errors, 1);
		sample_add(&w->lat, now_ns() - t0);
		w->ops++;
	}
	conn_fini(&c);
	return NULL;
}

#define MAX_ROUNDS 5

struct result {
	double secs, ops_per_s, p50_us, p99_us, mean_us;
	double writes_per_sync; /* drover writes: group commit batch size */
	double round_ops_per_s[MAX_ROUNDS];
	size_t rounds;
	uint64_t ops, errors;
};

/* One timed phase; its latency samples are also appended to pool when given. */
static struct result run_phase(struct phase *p, double max_secs, struct samples *pool)
{
	struct worker *w = calloc(p->conc, sizeof(*w));
	struct samples all = {0};
	struct result r = {0};
	uint64_t t0, t1;
	double sum = 0;

	pthread_barrier_init(&p->start, NULL, (unsigned)p->conc + 1);
	for (size_t i = 0; i < p->conc; i++) {
		w[i].p = p;
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
	}
	t0 = now_ns();
	p->deadline = t0 + (uint64_t)(max_secs * 1e9);
	pthread_barrier_wait(&p->start); /* the workers read the deadline after this */
	for (size_t i = 0; i < p->conc; i++) {
		pthread_join(w[i].t, NULL);
		for (size_t j = 0; j < w[i].lat.n; j++) {
			sample_add(&all, w[i].lat.v[j]);
			if (pool)
				sample_add(pool, w[i].lat.v[j]);
			sum += (double)w[i].lat.v[j];
		}
		r.ops += w[i].ops;
		free(w[i].lat.v);
	}
	t1 = now_ns();
	qsort(all.v, all.n, sizeof(uint64_t), cmp_u64);
	r.secs = (double)(t1 - t0) / 1e9;
	r.ops_per_s = (double)r.ops / r.secs;
	r.p50_us = pct_us(&all, 0.50);
	r.p99_us = pct_us(&all, 0.99);
	r.mean_us = all.n ? sum / (double)all.n / 1000.0 : 0;
	r.errors = atomic_load(&p->errors);
	pthread_barrier_destroy(&p->start);
	free(all.v);
	free(w);
	return r;
}

/* ---- modes ---- */

static int mode_fsync(const char *dir)
{
	char path[512];
	uint8_t buf[4096];
	struct samples app = {0}, ovw = {0};
	int fd;

	snprintf(path, sizeof(path), "%s/fsync-probe", dir);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return 1;
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 400; i++) {
		uint64_t t0;

		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return 1;
		t0 = now_ns();
		fdatasync(fd);
		sample_add(&app, now_ns() - t0);
	}
	for (int i = 0; i < 400; i++) {
		uint64_t t0;

		if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
			return 1;
		t0 = now_ns();
		fdatasync(fd);
		sample_add(&ovw, now_ns() - t0);
	}
	close(fd);
	unlink(path);
	qsort(app.v, app.n, 8, cmp_u64);
	qsort(ovw.v, ovw.n, 8, cmp_u64);
	printf("{\"append_4k_fdatasync_p50_us\":%.1f,\"append_4k_fdatasync_p99_us\":%.1f,"
	       "\"overwrite_4k_fdatasync_p50_us\":%.1f,\"overwrite_4k_fdatasync_p99_us\":%.1f,"
	       "\"samples\":%zu}\n",
	       pct_us(&app, 0.5), pct_us(&app, 0.99), pct_us(&ovw, 0.5), pct_us(&ovw, 0.99), app.n);
	free(app.v);
	free(ovw.v);
	return 0;
}

static void print_result(FILE *f, bool *first, const char *backend, const char *op, size_t nkeys,
			 size_t conc, struct result *r)
{
	char rounds[128] = "";
	int n = 0;

	for (size_t i = 0; i < r->rounds; i++)
		n += snprintf(rounds + n, sizeof(rounds) - (size_t)n, "%s%.1f", i ? "," : "",
			      r->round_ops_per_s[i]);
	fprintf(f,
		"%s{\"backend\":\"%s\",\"op\":\"%s\",\"keys\":%zu,\"concurrency\":%zu,"
		"\"ops\":%" PRIu64 ",\"secs\":%.3f,\"ops_per_s\":%.1f,\"p50_us\":%.1f,"
		"\"p99_us\":%.1f,\"mean_us\":%.1f,\"writes_per_sync\":%.1f,\"errors\":%" PRIu64
		",\"round_ops_per_s\":[%s]}",
		*first ? "" : ",\n", backend, op, nkeys, conc, r->ops, r->secs, r->ops_per_s,
		r->p50_us, r->p99_us, r->mean_us, r->writes_per_sync, r->errors, rounds);
	fflush(f);
	*first = false;
	fprintf(stderr,
		"  %-8s %-6s keys=%-5zu c=%-3zu %9.0f ops/s  p50 %8.0f us  p99 %8.0f us%s\n",
		backend, op, nkeys, conc, r->ops_per_s, r->p50_us, r->p99_us,
		r->errors ? "  (errors!)" : "");
}

/* Every phase runs for each backend back to back, so that both see the same disk weather. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs op for every backend: creates once (they use up their keys), other ops in `rounds`
 * short rounds that alternate between the backends, so that a stall of the shared machine or
 * disk hits one round of one backend rather than a whole figure. Throughput is the median of
 * the rounds; latency percentiles pool every sample of every round. */
static void measure(struct backend *bs, size_t nb, struct phase *tmpl, double secs, size_t rounds,
		    bool *first)
{
	struct result res[2] = {0};
	struct samples pool[2] = {0};
	uint64_t writes[2] = {0}, syncs[2] = {0};

	if (tmpl->op == OP_CREATE)
		rounds = 1;
	for (size_t r = 0; r < rounds; r++) {
		for (size_t bi = 0; bi < nb; bi++) {
			struct store_stats st0 = {0}, st1 = {0};
			struct phase p = *tmpl;
			struct result one;

			p.b = &bs[bi];
			atomic_store(&p.next_create, 0);
			atomic_store(&p.errors, 0);
			if (bs[bi].store)
				store_get_stats(bs[bi].store, &st0);
			one = run_phase(&p, secs / (double)rounds, &pool[bi]);
			if (bs[bi].store) {
				store_get_stats(bs[bi].store, &st1);
				writes[bi] += st1.writes - st0.writes;
				syncs[bi] += st1.batches - st0.batches;
			}
			res[bi].ops += one.ops;
			res[bi].secs += one.secs;
			res[bi].errors += one.errors;
			res[bi].round_ops_per_s[res[bi].rounds++] = one.ops_per_s;
			if (p.op == OP_CREATE && atomic_load(&p.next_create) < p.nkeys) {
				/* The time cap hit first: fill the rest unmeasured. */
				atomic_store(&p.errors, 0);
				p.conc = 64;
				run_phase(&p, 600, NULL);
			}
		}
	}
	for (size_t bi = 0; bi < nb; bi++) {
		struct result *r = &res[bi];
		double sorted[MAX_ROUNDS], sum = 0;

		if (syncs[bi])
			r->writes_per_sync = (double)writes[bi] / (double)syncs[bi];
		memcpy(sorted, r->round_ops_per_s, r->rounds * sizeof(double));
		qsort(sorted, r->rounds, sizeof(double), cmp_double);
		r->ops_per_s = sorted[r->rounds / 2];
		qsort(pool[bi].v, pool[bi].n, sizeof(uint64_t), cmp_u64);
		for (size_t i = 0; i < pool[bi].n; i++)
			sum += (double)pool[bi].v[i];
		r->p50_us = pct_us(&pool[bi], 0.50);
		r->p99_us = pct_us(&pool[bi], 0.99);
		r->mean_us = pool[bi].n ? sum / (double)pool[bi].n / 1000.0 : 0;
		print_result(stdout, first, bs[bi].name, op_names[tmpl->op], tmpl->nkeys,
			     tmpl->conc, r);
		free(pool[bi].v);
	}
}

static int mode_ops(struct backend *bs, size_t nb, double dur, double create_cap,
		    const size_t *sizes, size_t nsizes, size_t vlen, size_t rounds)
{
	static const size_t concs[] = {1, 16, 256};
	uint8_t *val = malloc(vlen);
	bool first = true;
	char prefix[64];

	for (size_t i = 0; i < vlen; i++)
		val[i] = (uint8_t)(i * 131 + 7);
	printf("[\n");
	for (size_t s = 0; s < nsizes; s++) {
		for (size_t ci = 0; ci < 3; ci++) {
			size_t conc = concs[ci];

			snprintf(prefix, sizeof(prefix), "/bench/n%zu/c%zu/", sizes[s], conc);
			for (enum op op = OP_CREATE; op <= OP_LIST; op++) {
				struct phase p = {.nkeys = sizes[s],
						  .conc = conc,
						  .val = val,
						  .vlen = vlen,
						  .prefix = prefix,
						  .op = op};

				if (op == OP_LIST && conc > 16)
					continue; /* 256 concurrent full lists: see the report */
				measure(bs, nb, &p, op == OP_CREATE ? create_cap : dur, rounds,
					&first);
			}
		}
	}
	printf("\n]\n");
	free(val);
	return 0;
}

/* ---- watch delivery ---- */

struct wconsumer {
	pthread_t t;
	struct store_watch **ws;
	size_t n;
	struct samples from_write, from_commit;
	struct store_watch_set *set;
	atomic_size_t *delivered;
	size_t expect;
	uint64_t deadline;
};

/* Takes every queued event of w, recording its delivery latency. */
static void drain(struct wconsumer *c, struct store_watch *w)
{
	struct store_event *ev;

	while (store_watch_next(w, &ev, 0) == 1) {
		uint64_t t = now_ns(), sent;

		memcpy(&sent, ev->kv.value, sizeof(sent));
		sample_add(&c->from_write, t - sent);
		sample_add(&c->from_commit, t - ev->commit_ns);
		store_event_put(ev);
		atomic_fetch_add(c->delivered, 1);
	}
}

static void *embedded_consumer(void *arg)
{
	struct wconsumer *c = arg;
	struct epoll_event evs[64];
	int ep = epoll_create1(0);

	for (size_t i = 0; i < c->n; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = c->ws[i]};

		epoll_ctl(ep, EPOLL_CTL_ADD, store_watch_fd(c->ws[i]), &e);
	}
	while (atomic_load(c->delivered) < c->expect && now_ns() < c->deadline) {
		int n = epoll_wait(ep, evs, 64, 100);

		for (int i = 0; i < n; i++) {
			drain(c, evs[i].data.ptr);
		}
	}
	close(ep);
	return NULL;
}

/* The same consumers with a watch set: one fd per consumer thread. */
static void *embedded_set_consumer(void *arg)
{
	struct wconsumer *c = arg;
	struct store_watch *ready[1024];

	while (atomic_load(c->delivered) < c->expect && now_ns() < c->deadline) {
		size_t n = store_watch_set_ready(c->set, ready, 1024, 100);

		for (size_t i = 0; i < n; i++) {
			drain(c, ready[i]);
		}
	}
	return NULL;
}

/* etcd watch streams: one HTTP connection each (the gateway cannot multiplex), driven by a
 * curl multi handle per consumer thread. */
struct estream {
	CURL *h;
	char *buf;
	size_t len, cap;
	struct wconsumer *c;
	atomic_size_t *created;
};

static void estream_line(struct estream *s, char *line)
{
	if (strstr(line, "\"created\":true"))
		atomic_fetch_add(s->created, 1);
	for (char *q = strstr(line, "\"value\":\""); q; q = strstr(q + 1, "\"value\":\"")) {
		char *v = q + 9, *e = strchr(v, '"');
		uint8_t raw[16];
		uint64_t sent;

		if (!e || b64_decode(v, (size_t)(e - v), raw, sizeof(raw)) < 8)
			continue;
		memcpy(&sent, raw, sizeof(sent));
		sample_add(&s->c->from_write, now_ns() - sent);
		atomic_fetch_add(s->c->delivered, 1);
	}
}

static size_t estream_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct estream *s = arg;
	size_t n = sz * nm, start = 0;

	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	/* The gateway ends each streamed message with a newline. */
	for (size_t i = 0; i < s->len; i++) {
		if (s->buf[i] == '\n') {
			s->buf[i] = '\0';
			estream_line(s, s->buf + start);
			start = i + 1;
		}
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
	return n;
}

struct etcd_watchers {
	struct wconsumer *c;
	const char *endpoint;
	size_t n;
	atomic_size_t *created, *closed;
};

static void *etcd_consumer(void *arg)
{
	struct etcd_watchers *ew = arg;
	struct wconsumer *c = ew->c;
	struct estream *ss = calloc(ew->n, sizeof(*ss));
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256], body[256], k[32], e[32];
	CURLM *m = curl_multi_init();
	int running = 1;

	hdrs = curl_slist_append(hdrs, "Grpc-Metadata-hasleader: true");
	snprintf(url, sizeof(url), "%s/v3/watch", ew->endpoint);
	b64_encode((const uint8_t *)"/watch/", 7, k);
	b64_encode((const uint8_t *)"/watch0", 7, e);
	snprintf(body, sizeof(body), "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\"}}",
		 k, e);
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	for (size_t i = 0; i < ew->n; i++) {
		ss[i].h = curl_easy_init();
		ss[i].c = c;
		ss[i].created = ew->created;
		curl_easy_setopt(ss[i].h, CURLOPT_URL, url);
		curl_easy_setopt(ss[i].h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(ss[i].h, CURLOPT_COPYPOSTFIELDS, body);
		curl_easy_setopt(ss[i].h, CURLOPT_WRITEFUNCTION, estream_data);
		curl_easy_setopt(ss[i].h, CURLOPT_WRITEDATA, &ss[i]);
		curl_easy_setopt(ss[i].h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(ss[i].h, CURLOPT_TCP_NODELAY, 1L);
		curl_multi_add_handle(m, ss[i].h);
	}
	while (running && atomic_load(c->delivered) < c->expect && now_ns() < c->deadline) {
		CURLMsg *msg;
		int left;

		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)))
			if (msg->msg == CURLMSG_DONE)
				atomic_fetch_add(ew->closed, 1); /* a stream the server ended */
		curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	for (size_t i = 0; i < ew->n; i++) {
		curl_multi_remove_handle(m, ss[i].h);
		curl_easy_cleanup(ss[i].h);
		free(ss[i].buf);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	free(ss);
	return NULL;
}

static int mode_watch(struct backend *b, size_t nwatch, double rate, double dur, bool use_set)
{
	enum { CONSUMERS = 2, KEYS = 100 };
	struct wconsumer c[CONSUMERS] = {0};
	struct etcd_watchers ew[CONSUMERS];
	struct store_watch **ws = NULL;
	atomic_size_t delivered = 0, created = 0, closed = 0;
	size_t writes = (size_t)(rate * dur), expect = writes * nwatch, errors = 0;
	struct samples fw = {0}, fc = {0};
	uint8_t val[256];
	struct conn conn;
	char key[64];
	double consume_secs = 0;
	uint64_t t0;

	memset(val, 'w', sizeof(val));
	conn_init(&conn, b);
	for (int i = 0; i < KEYS; i++) {
		snprintf(key, sizeof(key), "/watch/k%03d", i);
		do_op(&conn, OP_CREATE, key, strlen(key), val, sizeof(val), NULL);
	}
	if (b->store) {
		ws = calloc(nwatch, sizeof(*ws));
		for (int i = 0; i < CONSUMERS && use_set; i++)
			store_watch_set_new(&c[i].set);
		for (size_t i = 0; i < nwatch; i++) {
			struct store_watch_opts o = {.prefix = "/watch/", .prefix_len = 7};

			o.set = c[i / (nwatch / CONSUMERS) < CONSUMERS ? i / (nwatch / CONSUMERS)
								       : CONSUMERS - 1]
				    .set;
			if (store_watch_open(b->store, &o, &ws[i]))
				return 1;
		}
		atomic_store(&created, nwatch);
	}
	for (int i = 0; i < CONSUMERS; i++) {
		c[i].delivered = &delivered;
		c[i].expect = expect;
		c[i].deadline = now_ns() + (uint64_t)((dur + 60) * 1e9);
		if (b->store) {
			c[i].ws = ws + i * (nwatch / CONSUMERS);
			c[i].n = i == CONSUMERS - 1 ? nwatch - i * (nwatch / CONSUMERS)
						    : nwatch / CONSUMERS;
			pthread_create(&c[i].t, NULL,
				       use_set ? embedded_set_consumer : embedded_consumer, &c[i]);
		} else {
			ew[i] = (struct etcd_watchers){.c = &c[i],
						       .endpoint = b->endpoint,
						       .n = i == CONSUMERS - 1
								? nwatch - i * (nwatch / CONSUMERS)
								: nwatch / CONSUMERS,
						       .created = &created,
						       .closed = &closed};
			pthread_create(&c[i].t, NULL, etcd_consumer, &ew[i]);
		}
	}
	t0 = now_ns();
	while (atomic_load(&created) < nwatch && now_ns() - t0 < 60000000000ull)
		usleep(10000);
	fprintf(stderr, "  %s: %zu watchers ready in %.1f s; %zu writes at %.0f/s\n", b->name,
		(size_t)atomic_load(&created), (double)(now_ns() - t0) / 1e9, writes, rate);
	t0 = now_ns();
	for (size_t i = 0; i < writes; i++) {
		uint64_t due = t0 + (uint64_t)((double)i * 1e9 / rate), t;

		while ((t = now_ns()) < due)
			usleep((useconds_t)((due - t) / 1000));
		t = now_ns();
		memcpy(val, &t, sizeof(t));
		snprintf(key, sizeof(key), "/watch/k%03zu", i % KEYS);
		if (do_op(&conn, OP_UPDATE, key, strlen(key), val, sizeof(val), NULL))
			errors++;
	}
	for (int i = 0; i < CONSUMERS; i++) {
		pthread_join(c[i].t, NULL);
		if (i == CONSUMERS - 1)
			consume_secs = (double)(now_ns() - t0) / 1e9;
		for (size_t j = 0; j < c[i].from_write.n; j++)
			sample_add(&fw, c[i].from_write.v[j]);
		for (size_t j = 0; j < c[i].from_commit.n; j++)
			sample_add(&fc, c[i].from_commit.v[j]);
		free(c[i].from_write.v);
		free(c[i].from_commit.v);
	}
	qsort(fw.v, fw.n, 8, cmp_u64);
	qsort(fc.v, fc.n, 8, cmp_u64);
	printf("{\"backend\":\"%s\",\"mode\":\"%s\",\"watchers\":%zu,\"writes\":%zu,\"rate\":%.0f,"
	       "\"expected\":%zu,\"delivered\":%zu,\"secs_first_write_to_last_delivery\":%.2f,"
	       "\"streams_closed_early\":%zu,"
	       "\"write_errors\":%zu,"
	       "\"from_write_p50_us\":%.1f,\"from_write_p99_us\":%.1f,\"from_write_max_us\":%.1f,"
	       "\"from_commit_p50_us\":%.1f,\"from_commit_p99_us\":%.1f,\"from_commit_max_us\":%."
	       "1f}\n",
	       b->name,
	       b->store ? (use_set ? "watch set" : "fd per watch") : "HTTP stream per watch",
	       nwatch, writes, rate, expect, (size_t)atomic_load(&delivered), consume_secs,
	       (size_t)atomic_load(&closed), errors, pct_us(&fw, 0.5), pct_us(&fw, 0.99),
	       pct_us(&fw, 1.0), pct_us(&fc, 0.5), pct_us(&fc, 0.99), pct_us(&fc, 1.0));
	fprintf(stderr, "  %s: delivered %zu/%zu, from write p50 %.0f us p99 %.0f us\n", b->name,
		(size_t)atomic_load(&delivered), expect, pct_us(&fw, 0.5), pct_us(&fw, 0.99));
	if (ws) {
		for (size_t i = 0; i < nwatch; i++)
			store_watch_close(ws[i]);
		free(ws);
	}
	for (int i = 0; i < CONSUMERS; i++)
		store_watch_set_free(c[i].set);
	free(fw.v);
	free(fc.v);
	conn_fini(&conn);
	return 0;
}

static long rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int mode_memory(struct backend *b, size_t keys, size_t vlen, int pid)
{
	uint8_t *val = malloc(vlen);
	struct phase p = {.b = b,
			  .op = OP_CREATE,
			  .nkeys = keys,
			  .conc = 16,
			  .val = val,
			  .vlen = vlen,
			  .prefix = "/mem/"};
	long before, after;
	struct result r;

	for (size_t i = 0; i < vlen; i++)
		val[i] = (uint8_t)(i * 131 + 7);
	if (!pid)
		pid = getpid();
	sleep(1);
	before = rss_kib(pid);
	r = run_phase(&p, 600, NULL);
	sleep(2); /* let etcd settle (GC, bbolt commit) */
	after = rss_kib(pid);
	printf("{\"backend\":\"%s\",\"keys\":%zu,\"value_bytes\":%zu,\"rss_before_kib\":%ld,"
	       "\"rss_after_kib\":%ld,\"rss_delta_kib\":%ld,\"errors\":%" PRIu64 "}\n",
	       b->name, keys, vlen, before, after, after - before, r.errors);
	fprintf(stderr, "  %s: RSS +%ld KiB for %zu keys of %zu B\n", b->name, after - before, keys,
		vlen);
	free(val);
	return 0;
}

int main(int argc, char **argv)
{
	struct backend bs[2] = {0}, b = {0};
	size_t nb = 0, rounds = 3;
	bool use_set = false;
	double dur = 3, create_cap = 10, rate = 50;
	size_t sizes[4] = {1000, 10000}, nsizes = 2, watchers = 1000, keys = 10000, vlen = 0;
	int pid = 0, ret;
	const char *mode;

	if (argc < 3) {
		fprintf(stderr, "usage: see the top of store_bench.c\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "fsync"))
		return mode_fsync(argv[2]);
	log_set_level(LOG_WARN);
	for (int i = 2; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(a, "--embedded")) {
			struct store_embedded_opts o = {.sz = sizeof(o), .dir = v};

			bs[nb].name = "drover";
			if ((ret = store_open_embedded(&o, &bs[nb].store))) {
				fprintf(stderr, "open %s: %s\n", v, store_strerror(ret));
				return 1;
			}
			nb++;
		} else if (!strcmp(a, "--etcd")) {
			bs[nb].endpoint = v;
			bs[nb++].name = "etcd";
		} else if (!strcmp(a, "--watch-set")) {
			use_set = atoi(v) != 0;
		} else if (!strcmp(a, "--duration")) {
			dur = atof(v);
		} else if (!strcmp(a, "--create-cap")) {
			create_cap = atof(v);
		} else if (!strcmp(a, "--rounds")) {
			rounds = (size_t)atol(v);
		} else if (!strcmp(a, "--rate")) {
			rate = atof(v);
		} else if (!strcmp(a, "--watchers")) {
			watchers = (size_t)atol(v);
		} else if (!strcmp(a, "--keys")) {
			keys = (size_t)atol(v);
		} else if (!strcmp(a, "--value-size")) {
			vlen = (size_t)atol(v);
		} else if (!strcmp(a, "--pid")) {
			pid = atoi(v);
		} else if (!strcmp(a, "--sizes")) {
			nsizes = (size_t)sscanf(v, "%zu,%zu", &sizes[0], &sizes[1]);
		} else {
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	if (!nb)
		return 2;
	b = bs[0];
	curl_global_init(CURL_GLOBAL_ALL);
	if (!strcmp(mode, "ops"))
		ret = mode_ops(bs, nb, dur, create_cap, sizes, nsizes, vlen ? vlen : 1024,
			       rounds < 1	     ? 1
			       : rounds > MAX_ROUNDS ? MAX_ROUNDS
						     : rounds);
	else if (!strcmp(mode, "watch"))
		ret = mode_watch(&b, watchers, rate, dur, use_set);
	else if (!strcmp(mode, "memory"))
		ret = mode_memory(&b, keys, vlen ? vlen : 2048, pid);
	else
		ret = 2;
	for (size_t i = 0; i < nb; i++)
		store_close(bs[i].store);
	curl_global_cleanup();
	return ret;
}
