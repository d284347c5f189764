/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_bench: what one scheduling decision costs in drover's scheduler core, on workloads
 * shaped as kube-scheduler's scheduler_perf ones (5,000 nodes by default): nodes are added,
 * "init" pods bound through the informer handler, then "measured" pods are each handed to
 * the queue, popped, scheduled, their binding reported done and their bound version fed back
 * (as the glue will do, minus the API). Prints one line per workload: decisions per second of
 * the scheduling thread, mean/p50/p99 of a decision, and of the handlers around it.
 *
 *   sched_bench [--nodes N] [--zones Z] [--init P] [--pods M] [--parallelism K]
 *               [--percentage PCT (percentageOfNodesToScore; 0 = adaptive)]
 *               [--workload basic|replicaset|nodeaffinity|antiaffinity|affinity|prefaffinity|
 *                           prefantiaffinity|spread|mixed|all] [--json]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* resident set size in MiB (VmRSS) */
static double rss_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atof(line + 6);
	if (f)
		fclose(f);
	return kb / 1024.0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct args {
	int nodes, zones, init, pods, parallelism, percentage;
	const char *workload;
	bool json;
};

/* The spec members and labels of a workload's pods; init pods may differ from measured. */
struct workload {
	const char *name;
	const char *labels, *spec;	     /* measured pods */
	const char *init_labels, *init_spec; /* init pods */
	int init_default, pods_default;	     /* scheduler_perf's 5000Nodes sizes */
	bool owned; /* pods of a ReplicaSet the scheduler knows: default spreading applies */
};

#define REQ                                                                                \
	"\"containers\":[{\"name\":\"c\",\"image\":\"pause\",\"resources\":{\"requests\":" \
	"{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]"
#define ZONE "topology.kubernetes.io/zone"

static const struct workload workloads[] = {
    {"basic", "\"app\":\"basic\"", REQ, "\"app\":\"init\"", REQ, 5000, 10000, false},
    {"replicaset", "\"app\":\"rs\"", REQ, "\"app\":\"rs\"", REQ, 5000, 10000, true},
    {"nodeaffinity", "\"app\":\"na\"",
     REQ ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
	 "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"" ZONE "\",\"operator\":\"In\","
	 "\"values\":[\"zone1\",\"zone2\"]}]}]}}}",
     "\"app\":\"init\"", REQ, 5000, 5000, false},
    {"antiaffinity", "\"color\":\"green\"",
     REQ ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
	 "\":[{\"labelSelector\":{\"matchExpressions\":[{\"key\":\"color\",\"operator\":\"In\","
	 "\"values\":[\"green\"]}]},\"topologyKey\":\"kubernetes.io/hostname\",\"namespaces\":["
	 "\"sched-0\",\"sched-1\"]}]}}",
     "\"color\":\"green\"",
     REQ ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
	 "\":[{\"labelSelector\":{\"matchExpressions\":[{\"key\":\"color\",\"operator\":\"In\","
	 "\"values\":[\"green\"]}]},\"topologyKey\":\"kubernetes.io/hostname\",\"namespaces\":["
	 "\"sched-0\",\"sched-1\"]}]}}",
     1000, 1000, false},
    {"affinity", "\"foo\":\"bar\"",
     REQ ",\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
	 "\"labelSelector\":{\"matchExpressions\":[{\"key\":\"foo\",\"operator\":\"In\","
	 "\"values\":[\"bar\"]}]},\"topologyKey\":\"" ZONE "\",\"namespaces\":[\"sched-0\","
	 "\"sched-1\"]}]}}",
     "\"foo\":\"bar\"", REQ, 5000, 5000, false},
    {"prefaffinity", "\"foo\":\"bar\"",
     REQ ",\"affinity\":{\"podAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":["
	 "{\"weight\":1,\"podAffinityTerm\":{\"labelSelector\":{\"matchExpressions\":[{\"key\":"
	 "\"foo\",\"operator\":\"In\",\"values\":[\"bar\"]}]},\"topologyKey\":"
	 "\"kubernetes.io/hostname\",\"namespaces\":[\"sched-0\",\"sched-1\"]}}]}}",
     "\"foo\":\"bar\"",
     REQ ",\"affinity\":{\"podAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":["
	 "{\"weight\":1,\"podAffinityTerm\":{\"labelSelector\":{\"matchExpressions\":[{\"key\":"
	 "\"foo\",\"operator\":\"In\",\"values\":[\"bar\"]}]},\"topologyKey\":"
	 "\"kubernetes.io/hostname\",\"namespaces\":[\"sched-0\",\"sched-1\"]}}]}}",
     5000, 1000, false},
    {"prefantiaffinity", "\"color\":\"green\"",
     REQ ",\"affinity\":{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution"
	 "\":[{\"weight\":1,\"podAffinityTerm\":{\"labelSelector\":{\"matchExpressions\":[{\"key\":"
	 "\"color\",\"operator\":\"In\",\"values\":[\"green\"]}]},\"topologyKey\":"
	 "\"kubernetes.io/hostname\",\"namespaces\":[\"sched-0\",\"sched-1\"]}}]}}",
     "\"color\":\"green\"",
     REQ ",\"affinity\":{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution"
	 "\":[{\"weight\":1,\"podAffinityTerm\":{\"labelSelector\":{\"matchExpressions\":[{\"key\":"
	 "\"color\",\"operator\":\"In\",\"values\":[\"green\"]}]},\"topologyKey\":"
	 "\"kubernetes.io/hostname\",\"namespaces\":[\"sched-0\",\"sched-1\"]}}]}}",
     5000, 1000, false},
    {"spread", "\"color\":\"blue\"",
     REQ ",\"topologySpreadConstraints\":[{\"maxSkew\":5,\"topologyKey\":\"" ZONE "\","
	 "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":{\"color\":"
	 "\"blue\"}}}]",
     "\"color\":\"blue\"", REQ, 1000, 1000, false},
    {"mixed", "\"color\":\"green\",\"foo\":\"bar\"",
     REQ ",\"affinity\":{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution"
	 "\":[{\"weight\":1,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"color\":"
	 "\"green\"}},\"topologyKey\":\"kubernetes.io/hostname\"}}]},\"nodeAffinity\":{"
	 "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{"
	 "\"matchExpressions\":[{\"key\":\"" ZONE "\",\"operator\":\"NotIn\",\"values\":[\"zone0\"]"
	 "}]}]}}},\"topologySpreadConstraints\":[{\"maxSkew\":3,\"topologyKey\":\"" ZONE "\","
	 "\"whenUnsatisfiable\":\"ScheduleAnyway\",\"labelSelector\":{\"matchLabels\":{\"foo\":"
	 "\"bar\"}}}],\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\"}]",
     "\"color\":\"green\",\"foo\":\"bar\"", REQ, 5000, 2000, false},
};

static struct jv *parse(struct jv_doc *d, const char *text)
{
	struct jv_perr e;
	struct jv *v = jv_parse(d, text, strlen(text), &e);

	if (!v) {
		fprintf(stderr, "bad JSON (%s): %s\n", e.msg, text);
		exit(1);
	}
	return v;
}

static void pod_json(char *buf, size_t size, int i, const char *prefix, const char *labels,
		     const char *spec, const char *node, bool owned)
{
	snprintf(buf, size,
		 "{\"metadata\":{\"name\":\"%s-%d\",\"namespace\":\"sched-%d\",\"uid\":\"%s-%d\","
		 "\"creationTimestamp\":\"2024-01-01T00:00:00Z\",\"labels\":{%s}%s},\"spec\":{"
		 "\"nodeName\":\"%s\",\"schedulerName\":\"default-scheduler\",%s}}",
		 prefix, i,
		 owned		  ? 1
		 : *prefix == 'i' ? 0
				  : 1,
		 prefix, i, labels,
		 owned ? ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
			 "\"ReplicaSet\",\"name\":\"rs-1\",\"controller\":true}]"
		       : "",
		 node, spec);
}

static void run(const struct args *a, const struct workload *w)
{
	struct sched_opts o = {.parallelism = a->parallelism,
			       .percentage_of_nodes_to_score = a->percentage,
			       .seed = 1};
	struct sched *s = sched_new(&o);
	int init = a->init >= 0 ? a->init : w->init_default;
	int pods = a->pods >= 0 ? a->pods : w->pods_default;
	uint64_t *dec = calloc((size_t)pods, sizeof(*dec));
	uint64_t *hnd = calloc((size_t)pods, sizeof(*hnd));
	uint64_t t_all = 0, t0;
	int ok = 0;
	char buf[8192];

	if (!s || !dec || !hnd) {
		perror("sched_bench");
		exit(1);
	}
	for (int i = 0; i < a->nodes; i++) {
		struct jv_doc *d = jv_doc_new();

		snprintf(
		    buf, sizeof(buf),
		    "{\"metadata\":{\"name\":\"node-%d\",\"labels\":{\"kubernetes.io/hostname\":"
		    "\"node-%d\",\"" ZONE "\":\"zone%d\"}},\"spec\":{%s},\"status\":{"
		    "\"allocatable\":{\"cpu\":\"32\",\"memory\":\"256Gi\",\"pods\":\"110\"},"
		    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		    i, i, i % a->zones,
		    i % 10 == 0 ? "\"taints\":[{\"key\":\"dedicated\",\"value\":\"x\","
				  "\"effect\":\"PreferNoSchedule\"}]"
				: "");
		sched_node_upsert(s, parse(d, buf));
		jv_doc_free(d);
	}
	if (w->owned) {
		struct jv_doc *d = jv_doc_new();

		sched_controller_upsert(
		    s,
		    parse(d, "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
			     "\"name\":\"rs-1\",\"namespace\":\"sched-1\"},\"spec\":{\"selector\":{"
			     "\"matchLabels\":{\"app\":\"rs\"}}}}"));
		jv_doc_free(d);
	}
	for (int i = 0; i < init; i++) {
		struct jv_doc *d = jv_doc_new();
		char node[32];

		snprintf(node, sizeof(node), "node-%d", i % a->nodes);
		pod_json(buf, sizeof(buf), i, "init", w->init_labels, w->init_spec, node, w->owned);
		sched_pod_upsert(s, parse(d, buf));
		jv_doc_free(d);
	}
	for (int i = 0; i < pods; i++) {
		struct jv_doc *d = jv_doc_new(), *d2 = jv_doc_new();
		struct jv *unbound, *bound = NULL;
		struct sched_result r;
		struct sched_pod *p;
		uint64_t h0, h1;

		pod_json(buf, sizeof(buf), i, "pod", w->labels, w->spec, "", w->owned);
		unbound = parse(d, buf);
		h0 = now_ns();
		sched_pod_upsert(s, unbound);
		h1 = now_ns();
		t0 = h1;
		p = sched_pop(s, 0);
		if (!p || sched_schedule(s, p, &r) < 0) {
			fprintf(stderr, "pod %d: nothing popped or ENOMEM\n", i);
			exit(1);
		}
		dec[i] = now_ns() - t0;
		if (r.scheduled) {
			ok++;
			sched_bind_done(s, p, 0);
		}
		t_all += now_ns() - t0;
		if (r.scheduled) {
			pod_json(buf, sizeof(buf), i, "pod", w->labels, w->spec, r.node, w->owned);
			bound = parse(d2, buf);
			t0 = now_ns();
			sched_pod_upsert(s, bound);
			hnd[i] = h1 - h0 + now_ns() - t0;
		}
		sched_result_clear(&r);
		sched_pod_unref(p);
		jv_doc_free(d);
		jv_doc_free(d2);
	}
	qsort(dec, (size_t)pods, sizeof(*dec), cmp_u64);
	qsort(hnd, (size_t)pods, sizeof(*hnd), cmp_u64);
	double mean = pods ? (double)t_all / pods / 1000.0 : 0;
	double hsum = 0;

	for (int i = 0; i < pods; i++)
		hsum += (double)hnd[i];
	double rss = rss_mib(); /* the scheduler's state and the process around it */

	if (a->json)
		printf(
		    "{\"workload\":\"%s\",\"nodes\":%d,\"init\":%d,\"pods\":%d,\"parallelism\":%d,"
		    "\"scheduled\":%d,\"decisions_per_s\":%.0f,\"decision_us_mean\":%.2f,"
		    "\"decision_us_p50\":%.2f,\"decision_us_p99\":%.2f,\"handlers_us_mean\":%.2f,"
		    "\"rss_mib\":%.1f}\n",
		    w->name, a->nodes, init, pods, a->parallelism, ok, mean ? 1e6 / mean : 0, mean,
		    dec[pods / 2] / 1000.0, dec[pods * 99 / 100] / 1000.0,
		    pods ? hsum / pods / 1000.0 : 0, rss);
	else
		printf(
		    "%-17s nodes %5d init %5d pods %5d par %d: scheduled %5d  %8.0f decisions/s  "
		    "decision mean %7.2f us p50 %7.2f p99 %7.2f  handlers %6.2f us  rss %.0f MiB\n",
		    w->name, a->nodes, init, pods, a->parallelism, ok, mean ? 1e6 / mean : 0, mean,
		    dec[pods / 2] / 1000.0, dec[pods * 99 / 100] / 1000.0,
		    pods ? hsum / pods / 1000.0 : 0, rss);
	fflush(stdout);
	free(dec);
	free(hnd);
	sched_free(s);
}

int main(int argc, char **argv)
{
	struct args a = {
	    .nodes = 5000, .zones = 3, .init = -1, .pods = -1, .parallelism = 1, .workload = "all"};

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--nodes") == 0 && v)
			a.nodes = atoi(argv[++i]);
		else if (strcmp(argv[i], "--zones") == 0 && v)
			a.zones = atoi(argv[++i]);
		else if (strcmp(argv[i], "--init") == 0 && v)
			a.init = atoi(argv[++i]);
		else if (strcmp(argv[i], "--pods") == 0 && v)
			a.pods = atoi(argv[++i]);
		else if (strcmp(argv[i], "--percentage") == 0 && v)
			a.percentage = atoi(argv[++i]);
		else if (strcmp(argv[i], "--parallelism") == 0 && v)
			a.parallelism = atoi(argv[++i]);
		else if (strcmp(argv[i], "--workload") == 0 && v)
			a.workload = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			a.json = true;
		else {
			fprintf(stderr, "usage: see the header of sched_bench.c\n");
			return 2;
		}
	}
	if (a.nodes <= 0 || a.zones <= 0) {
		fprintf(stderr, "--nodes and --zones must be positive\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(a.workload, "all") == 0 || strcmp(a.workload, workloads[i].name) == 0)
			run(&a, &workloads[i]);
	return 0;
}
