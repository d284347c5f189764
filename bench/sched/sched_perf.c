/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_perf: drover's scheduler on Kubernetes' scheduler_perf workloads
 * (test/integration/scheduler_perf: the same node and pod templates, node and pod counts and
 * namespaces), the way scheduler_perf runs them: an API server and its store in process, no
 * kubelets. The scheduler (the real one, over the in-process client, binding through the API)
 * schedules the init pods; then, with the scheduler stopped, the measured pods are created;
 * then the scheduler starts again and its throughput is sampled every second until every
 * measured pod is bound (p50/p90/p99 over the 1 s windows, as scheduler_perf's
 * SchedulingThroughput). A checker then reads every pod and node back through the API and
 * verifies that no node is over capacity and that every hard constraint holds; a failed check
 * fails the run (exit 1). With --streaming the measured pods are created while the scheduler
 * runs and create→bound latency is reported too. With --rss-pods N it instead fills the
 * cluster to N bound pods and reports the process' RSS (API server + store + scheduler +
 * controller manager).
 *
 * One JSON object per run on stdout; progress on stderr. A benchmark harness, not a test.
 */
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

#include "api.h"
#include "controllers.h"
#include "hmap.h"
#include "k8s.h"
#include "kclient.h"
#include "kclient_local.h"
#include "log.h"
#include "sched_run.h"

/* ---- workloads (the scheduler_perf templates, as JSON) ---- */

#define CONTAINER                                                                         \
	"\"containers\":[{\"image\":\"registry.k8s.io/pause:3.10.1\",\"name\":\"pause\"," \
	"\"ports\":[{\"containerPort\":80}],\"resources\":{\"limits\":{\"cpu\":\"100m\"," \
	"\"memory\":\"500Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]"

static const char POD_DEFAULT[] =
    "{\"metadata\":{\"generateName\":\"pod-\"},\"spec\":{" CONTAINER "}}";
static const char POD_NODE_AFFINITY[] =
    "{\"metadata\":{\"generateName\":\"node-affinity-\"},\"spec\":{\"affinity\":{"
    "\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
    "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\","
    "\"operator\":\"In\",\"values\":[\"zone1\",\"zone2\"]}]}]}}}," CONTAINER "}}";
static const char POD_ANTI_AFFINITY[] =
    "{\"metadata\":{\"generateName\":\"anti-affinity-pod-\",\"labels\":{\"color\":\"green\"}},"
    "\"spec\":{\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
    "\":[{\"labelSelector\":{\"matchLabels\":{\"color\":\"green\"}},\"topologyKey\":"
    "\"kubernetes.io/hostname\",\"namespaces\":[\"sched-1\",\"sched-0\"]}]}}," CONTAINER "}}";
static const char POD_AFFINITY[] =
    "{\"metadata\":{\"generateName\":\"affinity-pod-\",\"labels\":{\"color\":\"blue\"}},"
    "\"spec\":{\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
    "[{\"labelSelector\":{\"matchLabels\":{\"color\":\"blue\"}},\"topologyKey\":"
    "\"topology.kubernetes.io/zone\",\"namespaces\":[\"sched-1\",\"sched-0\"]}]}}," CONTAINER "}}";
static const char POD_PREF_AFFINITY[] =
    "{\"metadata\":{\"generateName\":\"preferred-affinity-pod-\",\"labels\":{\"color\":\"red\"}},"
    "\"spec\":{\"affinity\":{\"podAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":"
    "[{\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"color\":\"red\"}},"
    "\"topologyKey\":\"kubernetes.io/hostname\",\"namespaces\":[\"sched-1\",\"sched-0\"]},"
    "\"weight\":1}]}}," CONTAINER "}}";
static const char POD_PREF_ANTI_AFFINITY[] =
    "{\"metadata\":{\"generateName\":\"preferred-anti-affinity-pod-\",\"labels\":{\"color\":"
    "\"yellow\"}},\"spec\":{\"affinity\":{\"podAntiAffinity\":{"
    "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"podAffinityTerm\":{"
    "\"labelSelector\":{\"matchLabels\":{\"color\":\"yellow\"}},\"topologyKey\":"
    "\"kubernetes.io/"
    "hostname\",\"namespaces\":[\"sched-1\",\"sched-0\"]},\"weight\":1}]}}," CONTAINER "}}";
static const char POD_SPREAD[] =
    "{\"metadata\":{\"generateName\":\"spreading-pod-\",\"labels\":{\"color\":\"blue\"}},"
    "\"spec\":{\"topologySpreadConstraints\":[{\"maxSkew\":5,\"topologyKey\":"
    "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":"
    "{\"matchLabels\":{\"color\":\"blue\"}}}]," CONTAINER "}}";

struct workload {
	const char *name;
	const char *init_tmpl[5]; /* init pods: each template gets init_pods of them */
	const char *measure_tmpl;
	int nodes, init_pods, measure_pods;
	int zones;	      /* zone label values zone1..zoneN over the nodes (0: none) */
	double k8s_threshold; /* scheduler_perf's gate, pods/s */
};

static const struct workload workloads[] = {
    {"SchedulingBasic", {POD_DEFAULT}, POD_DEFAULT, 5000, 1000, 10000, 0, 680},
    {"SchedulingBasic50k", {POD_DEFAULT}, POD_DEFAULT, 5000, 5000, 50000, 0, 810},
    {"SchedulingNodeAffinity", {POD_NODE_AFFINITY}, POD_NODE_AFFINITY, 5000, 5000, 10000, 1, 220},
    {"SchedulingPreferredPodAffinity",
     {POD_PREF_AFFINITY},
     POD_PREF_AFFINITY,
     5000,
     5000,
     5000,
     0,
     90},
    {"SchedulingPreferredPodAntiAffinity",
     {POD_PREF_ANTI_AFFINITY},
     POD_PREF_ANTI_AFFINITY,
     5000,
     5000,
     5000,
     0,
     90},
    {"SchedulingPodAntiAffinity", {POD_ANTI_AFFINITY}, POD_ANTI_AFFINITY, 5000, 1000, 2000, 0, 60},
    {"SchedulingPodAffinity", {POD_AFFINITY}, POD_AFFINITY, 5000, 5000, 5000, 1, 35},
    /* scheduler_perf's TopologySpreading: nodes over 3 zones, a DoNotSchedule constraint;
     * it has no gate: the mixed one's is shown beside it */
    {"TopologySpreading", {POD_DEFAULT}, POD_SPREAD, 5000, 5000, 5000, 3, 0},
    {"MixedSchedulingBasePod",
     {POD_DEFAULT, POD_AFFINITY, POD_ANTI_AFFINITY, POD_PREF_AFFINITY, POD_PREF_ANTI_AFFINITY},
     POD_DEFAULT,
     5000,
     2000,
     5000,
     1,
     140},
};

/* ---- clock and output ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define say(...)                                             \
	do {                                                 \
		fprintf(stderr, "sched_perf: " __VA_ARGS__); \
		fputc('\n', stderr);                         \
	} while (0)

/* ---- creating objects in parallel ---- */

struct creator {
	struct kclient *c;
	const struct k8s_kind *kind;
	const char *ns;
	const char *const *tmpl; /* templates, round robin */
	size_t ntmpl;
	int first, count; /* nodes: indexes */
	int zones;
	atomic_int next, done, failed;
	/* streaming: create time of each pod by name */
	pthread_mutex_t mu;
	struct hmap *created; /* name -> uint64_t * (ns) */
};

static void *create_main(void *arg)
{
	struct creator *cr = arg;
	char json[4096];

	for (;;) {
		int i = atomic_fetch_add(&cr->next, 1);
		struct jv_doc *d;
		struct jv *o;
		struct kc_obj *out = NULL;
		struct kc_status st;
		int err;

		if (i >= cr->count)
			return NULL;
		if (cr->kind == k8s_kind_find("v1", "Node")) {
			char zone[64] = "";

			if (cr->zones)
				snprintf(zone, sizeof(zone),
					 ",\"topology.kubernetes.io/zone\":\"zone%d\"",
					 (cr->first + i) % cr->zones + 1);
			snprintf(
			    json, sizeof(json),
			    "{\"metadata\":{\"name\":\"scheduler-perf-%d\",\"labels\":{"
			    "\"kubernetes.io/hostname\":\"scheduler-perf-%d\"%s}},\"spec\":{},"
			    "\"status\":{\"capacity\":{\"pods\":\"110\",\"cpu\":\"4\",\"memory\":"
			    "\"32Gi\"},\"allocatable\":{\"pods\":\"110\",\"cpu\":\"4\",\"memory\":"
			    "\"32Gi\"},\"conditions\":[{\"status\":\"True\",\"type\":\"Ready\"}],"
			    "\"phase\":\"Running\"}}",
			    cr->first + i, cr->first + i, zone);
		} else {
			snprintf(json, sizeof(json), "%s", cr->tmpl[(size_t)i % cr->ntmpl]);
		}
		d = jv_doc_new();
		o = d ? jv_parse(d, json, strlen(json), NULL) : NULL;
		err =
		    o ? kc_create(cr->c, cr->kind, cr->ns, o, NULL, cr->created ? &out : NULL, &st)
		      : -ENOMEM;
		if (err) {
			atomic_fetch_add(&cr->failed, 1);
			say("create %s: %s %s", cr->kind->kind, kc_strerror(err), st.message);
		} else if (out) {
			struct jv *t = kc_obj_parse(out, d);
			const char *name = jv_path_str(t, "metadata.name");
			uint64_t *at = malloc(sizeof(*at));

			if (at && name) {
				*at = now_ns();
				pthread_mutex_lock(&cr->mu);
				hmap_sput(cr->created, name, at, NULL);
				pthread_mutex_unlock(&cr->mu);
			} else {
				free(at);
			}
		}
		kc_obj_put(out);
		jv_doc_free(d);
		atomic_fetch_add(&cr->done, 1);
	}
}

#define MAX_CREATORS 64

/* Start threads (at most MAX_CREATORS) that create cr->count objects; returns how many. */
static int creators_start(struct creator *cr, int threads, pthread_t *t)
{
	int n = threads > MAX_CREATORS ? MAX_CREATORS : threads;

	atomic_store(&cr->next, 0);
	atomic_store(&cr->done, 0);
	atomic_store(&cr->failed, 0);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, create_main, cr);
	return n;
}

/* Create count objects with threads; returns how many failed. */
static int create_many(struct creator *cr, int threads)
{
	pthread_t t[MAX_CREATORS];
	int n = creators_start(cr, threads, t);

	/* a line a second while a large batch is made (150,000 pods take minutes) */
	while (cr->count >= 20000 && atomic_load(&cr->done) < cr->count) {
		sleep(1);
		fprintf(stderr, "\rcreating: %d/%d pods", (int)atomic_load(&cr->done), cr->count);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (cr->count >= 20000)
		fputc('\n', stderr);
	return atomic_load(&cr->failed);
}

/* ---- waiting for bindings ---- */

/* Bound pods of the scheduler so far. */
static uint64_t bound_of(struct scheduler *s)
{
	struct scheduler_stats st;

	scheduler_get_stats(s, &st);
	return st.bound;
}

/* ---- streaming latency: a watch of pods records when each is bound ---- */

struct lat {
	struct creator *cr;
	pthread_mutex_t mu;
	double *ms;
	size_t n, cap;
};

static void lat_event(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct lat *l = arg;
	struct jv_doc *d;
	struct jv *p;
	const char *node, *name;
	uint64_t *at, now = now_ns();

	if (t != KC_MODIFIED && t != KC_ADDED)
		return;
	d = jv_doc_new();
	p = d ? kc_obj_parse(o, d) : NULL;
	node = jv_path_str(p, "spec.nodeName");
	name = jv_path_str(p, "metadata.name");
	if (node && name) {
		pthread_mutex_lock(&l->cr->mu);
		at = hmap_sdel(l->cr->created, name);
		pthread_mutex_unlock(&l->cr->mu);
		if (at) {
			pthread_mutex_lock(&l->mu);
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 1024;
				l->ms = realloc(l->ms, l->cap * sizeof(*l->ms));
			}
			if (l->ms)
				l->ms[l->n++] = (double)(now - *at) / 1e6;
			pthread_mutex_unlock(&l->mu);
			free(at);
		}
	}
	jv_doc_free(d);
}

static void lat_end(void *arg, int err)
{
	(void)arg;
	(void)err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

/* ---- the checker ---- */

struct node_use {
	int64_t cpu_m, mem, pods;
	char zone[64];
	int green; /* pods with color=green (required anti-affinity) */
};

/* Read everything back through the API and check capacity and hard constraints. Returns
 * the number of violations (each printed). */
static int check(struct kclient *c, const struct workload *w, int expect_bound)
{
	const struct k8s_kind *kn = k8s_kind_find("v1", "Node"), *kp = k8s_kind_find("v1", "Pod");
	struct kc_list nodes, pods;
	struct kc_status st;
	struct hmap *use = hmap_new();
	int64_t zone_blue[16] = {0};
	int bad = 0, bound = 0;
	bool has_spread = w->measure_tmpl == POD_SPREAD;

	if (kc_list(c, kn, NULL, NULL, &nodes, &st) || kc_list(c, kp, NULL, NULL, &pods, &st)) {
		say("check: list: %s", st.message);
		return 1;
	}
	for (size_t i = 0; i < nodes.count; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *n = kc_obj_parse(nodes.items[i], d);
		struct node_use *u = calloc(1, sizeof(*u));

		snprintf(u->zone, sizeof(u->zone), "%s",
			 jv_path_str(n, "metadata.labels[topology.kubernetes.io/zone]") ?: "");
		hmap_sput(use, jv_path_str(n, "metadata.name"), u, NULL);
		jv_doc_free(d);
	}
	for (size_t i = 0; i < pods.count; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *p = kc_obj_parse(pods.items[i], d);
		const char *node = jv_path_str(p, "spec.nodeName");
		const char *color = jv_path_str(p, "metadata.labels.color");
		const char *cpu = jv_path_str(p, "spec.containers[0].resources.requests.cpu");
		const char *mem = jv_path_str(p, "spec.containers[0].resources.requests.memory");
		struct node_use *u;
		int64_t v, m;

		if (!node) {
			jv_doc_free(d);
			continue;
		}
		bound++;
		u = hmap_sget(use, node);
		if (!u) {
			say("violation: pod %s bound to unknown node %s",
			    jv_path_str(p, "metadata.name"), node);
			bad++;
			jv_doc_free(d);
			continue;
		}
		u->pods++;
		if (cpu && k8s_quantity_parse(cpu, strlen(cpu), &v, &m) == 0)
			u->cpu_m += m;
		if (mem && k8s_quantity_parse(mem, strlen(mem), &v, &m) == 0)
			u->mem += v;
		if (color && strcmp(color, "green") == 0)
			u->green++;
		if (w->measure_tmpl == POD_NODE_AFFINITY && strcmp(u->zone, "zone1") != 0 &&
		    strcmp(u->zone, "zone2") != 0) {
			say("violation: node affinity: pod on %s (zone %s)", node, u->zone);
			bad++;
		}
		if (color && strcmp(color, "blue") == 0) {
			int z = u->zone[0] ? atoi(u->zone + 4) : 0;

			if (z >= 0 && z < 16)
				zone_blue[z]++;
		}
		jv_doc_free(d);
	}
	for (struct hmap_entry *e = hmap_first(use); e; e = hmap_next(use, e)) {
		struct node_use *u = hmap_entry_val(e);
		size_t kl;
		const char *name = hmap_entry_key(e, &kl);

		if (u->cpu_m > 4000 || u->mem > (32ll << 30) || u->pods > 110) {
			say("violation: node %.*s over capacity: cpu %" PRId64 "m, memory %" PRId64
			    ", pods %" PRId64,
			    (int)kl, name, u->cpu_m, u->mem, u->pods);
			bad++;
		}
		if (u->green > 1) {
			say("violation: anti-affinity: %d color=green pods on node %.*s", u->green,
			    (int)kl, name);
			bad++;
		}
		free(u);
	}
	/* topology spread: the blue pods' counts per zone differ by at most maxSkew (required
	 * pod affinity is not checked: with one zone every blue pod's zone holds a blue pod) */
	if (has_spread) {
		int64_t lo = INT64_MAX, hi = 0;

		for (int z = 1; z <= w->zones; z++) {
			lo = zone_blue[z] < lo ? zone_blue[z] : lo;
			hi = zone_blue[z] > hi ? zone_blue[z] : hi;
		}
		if (hi - lo > 5) {
			say("violation: topology spread: zone counts differ by %" PRId64
			    " (maxSkew 5)",
			    hi - lo);
			bad++;
		}
	}
	if (bound < expect_bound) {
		say("violation: %d pods bound, %d expected", bound, expect_bound);
		bad++;
	}
	hmap_free(use);
	kc_list_free(&nodes);
	kc_list_free(&pods);
	return bad;
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sched_perf --workload NAME [--nodes N] [--init-pods N] "
		"[--measure-pods N] [--scale F] [--streaming] [--rss-pods N] [--data-dir DIR]\n"
		"workloads:");
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		fprintf(out, " %s", workloads[i].name);
	fputc('\n', out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"workload", required_argument, NULL, 'w'},
	    {"nodes", required_argument, NULL, 'n'},
	    {"init-pods", required_argument, NULL, 'i'},
	    {"measure-pods", required_argument, NULL, 'm'},
	    {"streaming", no_argument, NULL, 's'},
	    {"rss-pods", required_argument, NULL, 'r'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"threads", required_argument, NULL, 't'},
	    {"scale", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	struct workload w = {0};
	const char *wname = NULL, *dir = NULL;
	int nodes = -1, init = -1, measure = -1, rss_pods = 0, threads = 32, scale = 1, c;
	bool streaming = false;
	char tmpdir[] = "/tmp/sched_perf.XXXXXX";
	struct api_config acfg = {.insecure_loopback = true, .listen = "127.0.0.1:0"};
	struct api_server *srv = NULL;
	struct kclient *kc, *kcs;
	struct scheduler *sched = NULL;
	struct scheduler_config scfg = {0};
	struct ctrl_manager *cm = NULL;
	struct creator cr = {0};
	struct lat lat = {0};
	struct kc_watch *lw = NULL;
	double *windows = NULL, t_total;
	size_t nwin = 0;
	uint64_t t0, last, prev;
	pthread_t creators[MAX_CREATORS];
	int ncreators = 0, ninit;
	double cpu0;
	int bad;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wname = optarg;
			break;
		case 'n':
			nodes = atoi(optarg);
			break;
		case 'i':
			init = atoi(optarg);
			break;
		case 'm':
			measure = atoi(optarg);
			break;
		case 's':
			streaming = true;
			break;
		case 'r':
			rss_pods = atoi(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'S':
			scale = atoi(optarg) > 0 ? atoi(optarg) : 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (size_t i = 0; wname && i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(workloads[i].name, wname) == 0)
			w = workloads[i];
	if (!w.name) {
		usage(stderr);
		return 2;
	}
	/* --scale F: the workload's nodes and pods divided by F (scheduler_perf's smaller
	 * workloads are the same shapes at 500 nodes) */
	w.nodes = w.nodes / scale > 0 ? w.nodes / scale : 1;
	w.init_pods /= scale;
	w.measure_pods = w.measure_pods / scale > 0 ? w.measure_pods / scale : 1;
	if (nodes > 0)
		w.nodes = nodes;
	if (init >= 0)
		w.init_pods = init;
	if (measure >= 0)
		w.measure_pods = measure;
	log_set_level(LOG_WARN);
	if (!dir) {
		dir = mkdtemp(tmpdir);
		if (!dir)
			return 1;
	}
	acfg.data_dir = dir;
	/* the RSS is measured as a long-running server holds it: its history compacted (every
	 * 5 min by default; here every 5 s, and the measure waits for two of them) */
	if (rss_pods)
		acfg.compact_interval_s = 5;
	if (api_server_start(&acfg, &srv) != 0)
		return 1;
	kc = kclient_local_new(api_server_registry(srv), NULL);
	kcs = kclient_local_new(api_server_registry(srv), NULL);
	kclient_set_field_manager(kc, "sched-perf");
	kclient_set_field_manager(kcs, "kube-scheduler");
	cr.c = kc;
	pthread_mutex_init(&cr.mu, NULL);
	for (int i = 0; i < 2; i++) {
		char ns[64];
		struct jv_doc *d = jv_doc_new();

		snprintf(ns, sizeof(ns), "{\"metadata\":{\"name\":\"sched-%d\"}}", i);
		kc_create(kc, k8s_kind_find("v1", "Namespace"), NULL,
			  jv_parse(d, ns, strlen(ns), NULL), NULL, NULL, NULL);
		jv_doc_free(d);
	}
	/* nodes */
	t0 = now_ns();
	cr.kind = k8s_kind_find("v1", "Node");
	cr.count = w.nodes;
	cr.zones = w.zones;
	if (create_many(&cr, threads))
		return 1;
	say("%s: %d nodes in %.1f s", w.name, w.nodes, (double)(now_ns() - t0) / 1e9);
	/* init pods, scheduled */
	cr.kind = k8s_kind_find("v1", "Pod");
	cr.ns = "sched-0";
	cr.tmpl = w.init_tmpl;
	for (cr.ntmpl = 0; cr.ntmpl < 5 && w.init_tmpl[cr.ntmpl]; cr.ntmpl++)
		;
	cr.count = w.init_pods * (int)cr.ntmpl;
	if (rss_pods)
		cr.count = rss_pods;
	ninit = cr.count;
	if (create_many(&cr, threads))
		return 1;
	if (scheduler_start(kcs, &scfg, &sched) != 0)
		return 1;
	t0 = now_ns();
	while (bound_of(sched) < (uint64_t)cr.count)
		usleep(100 * 1000);
	say("%s: %d init pods scheduled in %.1f s", w.name, cr.count,
	    (double)(now_ns() - t0) / 1e9);
	if (rss_pods) {
		struct ctrl_config cc = {.component = "drover-controller-manager"};
		struct kclient *kcc = kclient_local_new(api_server_registry(srv), NULL);
		long rss;

		/* the whole control plane: the controllers' informers too */
		ctrl_manager_start(kcc, &cc, &cm);
		say("RSS %.0f MiB before the history of the creates and bindings is compacted",
		    (double)rss_kib() / 1024.0);
		sleep(11);
		rss = rss_kib();
		bad = check(kc, &w, cr.count);
		printf("{\"workload\":\"rss\",\"nodes\":%d,\"pods\":%d,\"rss_mib\":%.1f,"
		       "\"violations\":%d}\n",
		       w.nodes, cr.count, (double)rss / 1024.0, bad);
		ctrl_manager_stop(cm);
		kclient_free(kcc);
		goto out;
	}
	/* measured pods: created with the scheduler stopped (or while it runs: --streaming) */
	cr.ns = "sched-1";
	cr.tmpl = &w.measure_tmpl;
	cr.ntmpl = 1;
	cr.count = w.measure_pods;
	if (!streaming) {
		scheduler_stop(sched);
		sched = NULL;
		if (create_many(&cr, threads))
			return 1;
		say("%s: %d measured pods created", w.name, w.measure_pods);
		/* the clock starts when the scheduler has listed and begins: a fresh scheduler,
		 * its bound counter from 0 */
		if (scheduler_start(kcs, &scfg, &sched) != 0)
			return 1;
		t0 = now_ns();
	} else {
		cr.created = hmap_new();
		lat.cr = &cr;
		pthread_mutex_init(&lat.mu, NULL);
		kc_watch(kc, cr.kind, "sched-1", &(struct kc_watch_opts){0},
			 &(struct kc_watch_cb){lat_event, lat_end}, &lat, &lw, NULL);
	}
	/* sample the throughput every second until every measured pod is bound */
	windows = calloc((size_t)w.measure_pods + 600, sizeof(*windows));
	cpu0 = cpu_seconds();
	if (streaming)
		t0 = now_ns();
	prev = streaming ? bound_of(sched) : 0;
	last = t0;
	if (streaming)
		ncreators = creators_start(&cr, threads, creators);
	{
		/* polled every 10 ms: the end is seen within 10 ms; a window closes every second
		 * (the last, partial one counts at its own length) */
		uint64_t target = prev + (uint64_t)w.measure_pods, stall_at = now_ns(), seen = prev;
		uint64_t b = prev, now = t0;

		while (b < target) {
			usleep(10 * 1000);
			now = now_ns();
			b = bound_of(sched);
			if (now - last >= 1000000000ull || b >= target) {
				windows[nwin++] = (double)(b - prev) * 1e9 / (double)(now - last);
				fprintf(stderr, "\r%s: %" PRIu64 "/%d bound, %.0f pods/s   ",
					w.name, b - (target - (uint64_t)w.measure_pods),
					w.measure_pods, windows[nwin - 1]);
				prev = b;
				last = now;
			}
			if (b != seen) {
				seen = b;
				stall_at = now;
			} else if (now - stall_at > 60ull * 1000000000ull) {
				struct scheduler_stats ss;

				scheduler_get_stats(sched, &ss);
				say("\nno progress for 60 s: giving up (bound %" PRIu64
				    ", queue: active "
				    "%zu backoff %zu unschedulable %zu in flight %zu; attempts "
				    "%" PRIu64 ", scheduled %" PRIu64
				    ", cache pods %zu assumed %zu)",
				    ss.bound, ss.core.active, ss.core.backoff,
				    ss.core.unschedulable, ss.core.in_flight, ss.core.attempts,
				    ss.core.scheduled, ss.core.pods, ss.core.assumed);
				break;
			}
		}
		fputc('\n', stderr);
	}
	t_total = (double)(now_ns() - t0) / 1e9;
	for (int i = 0; i < ncreators; i++)
		pthread_join(creators[i], NULL);
	{
		struct scheduler_stats ss;
		double cpu = cpu_seconds() - cpu0;
		double avg = (double)w.measure_pods / t_total;
		double p50 = pct(windows, nwin, 0.5), p90 = pct(windows, nwin, 0.9),
		       p99 = pct(windows, nwin, 0.99);
		long rss = rss_kib();

		scheduler_get_stats(sched, &ss);
		bad = check(kc, &w, ninit + w.measure_pods);
		/* as scheduler_perf's SchedulingThroughput: percentiles of the per-second rates
		 * sorted ascending; its gate compares the average */
		printf(
		    "{\"workload\":\"%s\",\"nodes\":%d,\"init_pods\":%d,\"measure_pods\":%d,"
		    "\"streaming\":%s,\"seconds\":%.3f,\"pods_per_s\":%.1f,\"p50\":%.1f,"
		    "\"p90\":%.1f,\"p99\":%.1f,\"windows\":%zu,\"k8s_threshold\":%.0f,"
		    "\"cpu_s\":%.2f,\"rss_mib\":%.1f,\"decision_us\":%.1f,\"bind_conflicts\":"
		    "%" PRIu64 ",\"bind_errors\":%" PRIu64 ",\"violations\":%d,"
		    "\"unschedulable_attempts\":%" PRIu64 ",\"preemptions\":%" PRIu64,
		    w.name, w.nodes, w.init_pods, w.measure_pods, streaming ? "true" : "false",
		    t_total, avg, p50, p90, p99, nwin, w.k8s_threshold, cpu, (double)rss / 1024.0,
		    ss.core.attempts ? (double)ss.decision_ns_total / 1e3 / (double)ss.core.attempts
				     : 0,
		    ss.bind_conflicts, ss.bind_errors, bad, ss.core.unschedulable_attempts,
		    ss.core.preemptions);
		printf(",\"series\":[");
		for (size_t i = 0; i < nwin; i++)
			printf("%s%.1f", i ? "," : "", windows[i]);
		printf("]");
		if (streaming) {
			pthread_mutex_lock(&lat.mu);
			printf(",\"latency_ms\":{\"n\":%zu,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f}",
			       lat.n, pct(lat.ms, lat.n, 0.5), pct(lat.ms, lat.n, 0.9),
			       pct(lat.ms, lat.n, 0.99));
			pthread_mutex_unlock(&lat.mu);
		}
		printf("}\n");
	}
out:
	fflush(stdout);
	kc_watch_stop(lw);
	scheduler_stop(sched);
	kclient_free(kcs);
	kclient_free(kc);
	api_server_stop(srv);
	if (dir == tmpdir) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			say("could not remove %s", tmpdir);
	}
	return bad ? 1 : 0;
}
