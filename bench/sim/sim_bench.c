/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_bench: load generator of bench/sim/bench.sh, over kclient with $KUBECONFIG.
 *
 *   sim_bench create --pods P --nodes N [--prefix sim-] [--namespace NS] [--workers W]
 *       create P pods bound to nodes PREFIX0..PREFIX<N-1> round robin (spec.nodeName set:
 *       no scheduler in the way), W at a time; prints {"created", "seconds", "per_s"}.
 *   sim_bench running --pods P [--namespace NS] [--timeout S]
 *       watch the namespace's pods until P are Running with an IP; prints the time from the
 *       first to the last and the rate, and the rate of the busiest and p50 1-second
 *       windows.
 *   sim_bench run --pods P --nodes N ...
 *       both at once: pods/s created, pods/s turned Running, and each pod's create->Running
 *       latency (p50/p90/p99): whether the sim keeps up with what is created.
 *
 * Each prints one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hmap.h"
#include "kclient.h"

static unsigned npods = 1000, nnodes = 1, nworkers = 32;
static const char *prefix = "sim-", *ns = "bench";
static double timeout_s = 600;
static struct kclient *kc;
static const struct k8s_kind *k_pod, *k_ns;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- creating ---- */

static atomic_uint next_pod, created, create_errors;
static double *created_at; /* per pod index, for latencies */

static void *creator(void *arg)
{
	char json[1024];
	unsigned i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_pod, 1)) < npods) {
		struct jv_doc *d = jv_doc_new();
		struct kc_status st;
		struct jv *pod;
		int n, err;

		n = snprintf(json, sizeof(json),
			     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
			     "\"p%u\",\"namespace\":\"%s\",\"labels\":{\"app\":\"bench\"}},"
			     "\"spec\":{\"nodeName\":\"%s%u\",\"terminationGracePeriodSeconds\":0,"
			     "\"containers\":[{\"name\":\"c\",\"image\":\"registry.k8s.io/"
			     "pause:3.10\",\"resources\":{\"requests\":{\"cpu\":\"10m\","
			     "\"memory\":\"16Mi\"}}}]}}",
			     i, ns, prefix, i % nnodes);
		pod = d ? jv_parse(d, json, (size_t)n, NULL) : NULL;
		created_at[i] = now_s();
		err = pod ? kc_create(kc, k_pod, ns, pod, &(struct kc_write_opts){0}, NULL, &st)
			  : -ENOMEM;
		if (err) {
			if (atomic_fetch_add(&create_errors, 1) < 5)
				fprintf(stderr, "sim_bench: create p%u: %s\n", i,
					err == -ENOMEM ? "out of memory" : st.message);
		} else {
			atomic_fetch_add(&created, 1);
		}
		jv_doc_free(d);
	}
	return NULL;
}

static int ensure_ns(void)
{
	char json[256];
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	struct jv *o;
	int n, err;

	n = snprintf(
	    json, sizeof(json),
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
	o = d ? jv_parse(d, json, (size_t)n, NULL) : NULL;
	err = o ? kc_create(kc, k_ns, NULL, o, &(struct kc_write_opts){0}, NULL, &st) : -ENOMEM;
	jv_doc_free(d);
	if (err && err != -EEXIST) {
		fprintf(stderr, "sim_bench: namespace %s: %s\n", ns, st.message);
		return err;
	}
	return 0;
}

/* ---- watching ---- */

struct watcher {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct hmap *running; /* names seen Running */
	unsigned count;
	double first, last;
	double *lat; /* create -> Running, per pod seen (run mode) */
	unsigned nlat;
	unsigned *per_s; /* Running pods per second since start */
	unsigned nsec;
	double start;
	int ended;
	uint64_t rv;
};

static struct watcher w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void seen(struct kc_obj *o)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = d ? kc_obj_parse(o, d) : NULL;
	const char *name = jv_path_str(pod, "metadata.name");
	const char *phase = jv_path_str(pod, "status.phase");
	const char *ip = jv_path_str(pod, "status.podIP");
	double t = now_s();

	if (!name || !phase || strcmp(phase, "Running") || !ip || !ip[0]) {
		jv_doc_free(d);
		return;
	}
	pthread_mutex_lock(&w.mu);
	if (!hmap_sget(w.running, name) && hmap_sput(w.running, name, (void *)1, NULL) == 0) {
		unsigned idx, sec = (unsigned)(t - w.start);

		if (!w.count)
			w.first = t;
		w.last = t;
		w.count++;
		if (sec < w.nsec)
			w.per_s[sec]++;
		if (created_at && sscanf(name, "p%u", &idx) == 1 && idx < npods &&
		    created_at[idx] > 0)
			w.lat[w.nlat++] = t - created_at[idx];
		if (w.count >= npods)
			pthread_cond_broadcast(&w.cond);
	}
	pthread_mutex_unlock(&w.mu);
	jv_doc_free(d);
}

static void on_event(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	(void)arg;
	if (o->rv)
		w.rv = o->rv;
	if (t == KC_ADDED || t == KC_MODIFIED)
		seen(o);
}

static void on_end(void *arg, int err)
{
	(void)arg;
	pthread_mutex_lock(&w.mu);
	w.ended = err ? err : 1;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.mu);
}

/* Watch from rv ("" the first time: the pods there now come as ADDED), again after a
 * stream ends, until P are Running or the time is up. */
static int watch_until_running(void)
{
	static const struct kc_watch_cb cb = {.event = on_event, .end = on_end};
	double deadline = now_s() + timeout_s;
	struct kc_watch *wa = NULL;
	int err = 0;

	pthread_mutex_lock(&w.mu);
	while (w.count < npods && now_s() < deadline) {
		struct timespec ts;
		char rv[32] = "";

		if (!wa || w.ended) {
			struct kc_watch_opts o = {.bookmarks = true, .timeout_s = 600};
			struct kc_status st;

			w.ended = 0;
			if (w.rv)
				snprintf(rv, sizeof(rv), "%" PRIu64, w.rv);
			o.resource_version = rv;
			pthread_mutex_unlock(&w.mu);
			kc_watch_stop(wa);
			wa = NULL;
			err = kc_watch(kc, k_pod, ns, &o, &cb, NULL, &wa, &st);
			if (err == -KC_EGONE)
				w.rv = 0;
			if (err)
				sleep(1);
			pthread_mutex_lock(&w.mu);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&w.cond, &w.mu, &ts);
	}
	pthread_mutex_unlock(&w.mu);
	kc_watch_stop(wa);
	return w.count >= npods ? 0 : -ETIMEDOUT;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmp_u(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

static void print_running(const char *sep)
{
	double span = w.last - w.first;
	unsigned *s = calloc(w.nsec ? w.nsec : 1, sizeof(*s)), n = 0, best = 0;
	unsigned first = (unsigned)(w.first - w.start), last = (unsigned)(w.last - w.start);

	/* the full 1-second windows between the first and the last pod */
	for (unsigned i = first + 1; s && i < last && i < w.nsec; i++) {
		s[n++] = w.per_s[i];
		if (w.per_s[i] > best)
			best = w.per_s[i];
	}
	if (s && n)
		qsort(s, n, sizeof(*s), cmp_u);
	printf("%s\"running\":%u,\"running_seconds\":%.3f,\"running_per_s\":%.1f,"
	       "\"window_p50_per_s\":%u,\"window_max_per_s\":%u",
	       sep, w.count, span, span > 0 ? w.count / span : 0.0, n ? s[n / 2] : 0, best);
	free(s);
	if (w.nlat) {
		qsort(w.lat, w.nlat, sizeof(*w.lat), cmp_d);
		printf(",\"latency_p50_ms\":%.1f,\"latency_p90_ms\":%.1f,\"latency_p99_ms\":%.1f",
		       w.lat[w.nlat / 2] * 1e3, w.lat[w.nlat * 9 / 10] * 1e3,
		       w.lat[w.nlat * 99 / 100] * 1e3);
	}
}

static int create_all(double *secs)
{
	pthread_t *t = calloc(nworkers, sizeof(*t));
	double t0 = now_s();

	if (!t)
		return -ENOMEM;
	for (unsigned i = 0; i < nworkers; i++)
		pthread_create(&t[i], NULL, creator, NULL);
	for (unsigned i = 0; i < nworkers; i++)
		pthread_join(t[i], NULL);
	free(t);
	*secs = now_s() - t0;
	return 0;
}

static void *create_thread(void *arg)
{
	create_all(arg);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: sim_bench create|running|run --pods P [--nodes N] [--prefix P] "
			"[--namespace NS] [--workers W] [--timeout S]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pods", required_argument, NULL, 'p'},
	    {"nodes", required_argument, NULL, 'n'},
	    {"prefix", required_argument, NULL, 'x'},
	    {"namespace", required_argument, NULL, 's'},
	    {"workers", required_argument, NULL, 'w'},
	    {"timeout", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	struct kc_config cfg = {0};
	char err[256];
	const char *mode;
	double secs = 0;
	int c, rc = 0;

	if (argc < 2) {
		usage();
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			npods = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			nnodes = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'x':
			prefix = optarg;
			break;
		case 's':
			ns = optarg;
			break;
		case 'w':
			nworkers = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout_s = strtod(optarg, NULL);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!npods || !nnodes || !nworkers || nworkers > 64) {
		usage();
		return 2;
	}
	if (kc_config_load(NULL, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "sim_bench: kubeconfig: %s\n", err);
		return 1;
	}
	kc = kclient_http_new(&cfg);
	k_pod = k8s_kind_find("v1", "Pod");
	k_ns = k8s_kind_find("v1", "Namespace");
	w.running = hmap_new();
	w.nsec = (unsigned)timeout_s + 2;
	w.per_s = calloc(w.nsec, sizeof(*w.per_s));
	w.lat = calloc(npods, sizeof(*w.lat));
	if (!kc || !w.running || !w.per_s || !w.lat) {
		fprintf(stderr, "sim_bench: out of memory\n");
		return 1;
	}
	w.start = now_s();
	if (!strcmp(mode, "create")) {
		created_at = calloc(npods, sizeof(*created_at));
		if (!created_at || ensure_ns() || create_all(&secs))
			return 1;
		printf("{\"created\":%u,\"errors\":%u,\"seconds\":%.3f,\"per_s\":%.1f}\n",
		       atomic_load(&created), atomic_load(&create_errors), secs,
		       atomic_load(&created) / secs);
	} else if (!strcmp(mode, "running")) {
		rc = watch_until_running();
		printf("{");
		print_running("");
		printf(",\"complete\":%s}\n", rc ? "false" : "true");
	} else if (!strcmp(mode, "run")) {
		pthread_t t;

		created_at = calloc(npods, sizeof(*created_at));
		if (!created_at || ensure_ns())
			return 1;
		pthread_create(&t, NULL, create_thread, &secs);
		rc = watch_until_running();
		pthread_join(t, NULL);
		printf(
		    "{\"created\":%u,\"errors\":%u,\"create_seconds\":%.3f,\"create_per_s\":%.1f",
		    atomic_load(&created), atomic_load(&create_errors), secs,
		    atomic_load(&created) / secs);
		print_running(",");
		printf(",\"complete\":%s}\n", rc ? "false" : "true");
	} else {
		usage();
		return 2;
	}
	kclient_free(kc);
	kc_config_free(&cfg);
	return rc ? 1 : 0;
}
