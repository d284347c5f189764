/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_filter: the node-local filters on small clusters, each with kube-scheduler's
 * reason, and the FitError message of a mixed cluster.
 */
#include <string.h>

#include "helpers.h"

static void test_unschedulable(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p, *tol;
	const char *why;

	t_add_node(s, "n1", "4", "8Gi", 110, "", "\"spec\":{\"unschedulable\":true}");
	t_add_node(s, "n2", "4", "8Gi", 110, "", "");
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{}}");
	assert_false(t_fits(s, p, "n1", &why));
	assert_string_equal(why, "node(s) were unschedulable");
	assert_true(t_fits(s, p, "n2", NULL));
	/* tolerating the unschedulable taint tolerates spec.unschedulable */
	tol = t_parse(s, "{\"metadata\":{\"name\":\"q\",\"uid\":\"v\"},\"spec\":{\"tolerations\":"
			 "[{\"key\":\"node.kubernetes.io/unschedulable\",\"operator\":\"Exists\","
			 "\"effect\":\"NoSchedule\"}]}}");
	assert_true(t_fits(s, tol, "n1", NULL));
	sched_pod_unref(p);
	sched_pod_unref(tol);
	sched_free(s);
}

static void test_taints(void **state)
{
	struct sched *s = t_sched(NULL);
	char buf[256];
	const char *why;
	struct sched_pod *p;

	t_add_node(s, "ns", "4", "8Gi", 110, "",
		   "\"spec\":{\"taints\":[{\"key\":\"gpu\",\"value\":\"a100\",\"effect\":"
		   "\"NoSchedule\"}]}");
	t_add_node(s, "ne", "4", "8Gi", 110, "",
		   "\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"effect\":\"NoExecute\"}]}");
	t_add_node(s, "np", "4", "8Gi", 110, "",
		   "\"spec\":{\"taints\":[{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]}");
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{}}");
	assert_false(t_fits(s, p, "ns", &why));
	assert_string_equal(why, "node(s) had untolerated taint {gpu: a100}");
	assert_false(t_fits(s, p, "ne", &why));
	assert_string_equal(why, "node(s) had untolerated taint {dedicated: }");
	assert_true(t_fits(s, p, "np", NULL)); /* PreferNoSchedule only scores */
	sched_pod_unref(p);

	/* Equal needs the value; Exists any value; an effect limits what is tolerated */
	p = t_parse(s,
		    "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"tolerations\":["
		    "{\"key\":\"gpu\",\"operator\":\"Equal\",\"value\":\"h100\"},"
		    "{\"key\":\"dedicated\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]}}");
	assert_false(t_fits(s, p, "ns", NULL));
	assert_false(t_fits(s, p, "ne", NULL));
	sched_pod_unref(p);
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"tolerations\":["
		       "{\"key\":\"gpu\",\"value\":\"a100\",\"effect\":\"NoSchedule\"},"
		       "{\"key\":\"dedicated\",\"operator\":\"Exists\"}]}}");
	assert_true(t_fits(s, p, "ns", NULL));
	assert_true(t_fits(s, p, "ne", NULL));
	sched_pod_unref(p);
	/* an empty key with Exists tolerates everything */
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"tolerations\":["
		       "{\"operator\":\"Exists\"}]}}");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "ne,np,ns");
	sched_pod_unref(p);
	sched_free(s);
}

static void test_not_ready_is_a_taint(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p, *ds;
	const char *why;

	t_node(s, "{\"metadata\":{\"name\":\"down\"},\"status\":{\"allocatable\":{\"cpu\":\"4\","
		  "\"memory\":\"8Gi\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\","
		  "\"status\":\"False\"}]}}");
	t_node(s, "{\"metadata\":{\"name\":\"lost\"},\"status\":{\"allocatable\":{\"cpu\":\"4\","
		  "\"memory\":\"8Gi\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\","
		  "\"status\":\"Unknown\"},{\"type\":\"DiskPressure\",\"status\":\"True\"}]}}");
	/* already tainted by the controller: not doubled */
	t_node(s, "{\"metadata\":{\"name\":\"tainted\"},\"spec\":{\"taints\":[{\"key\":"
		  "\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"}]},\"status\":{"
		  "\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
		  "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}");
	t_node(s, "{\"metadata\":{\"name\":\"new\"},\"status\":{\"allocatable\":{\"cpu\":\"4\","
		  "\"memory\":\"8Gi\",\"pods\":\"110\"}}}");
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{}}");
	assert_false(t_fits(s, p, "down", &why));
	assert_string_equal(why, "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
	assert_false(t_fits(s, p, "lost", &why));
	assert_string_equal(why,
			    "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
	assert_false(t_fits(s, p, "tainted", NULL));
	assert_true(t_fits(s, p, "new", NULL)); /* no Ready condition yet: not tainted */
	ds = t_parse(s, "{\"metadata\":{\"name\":\"d\",\"uid\":\"d\"},\"spec\":{\"tolerations\":["
			"{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\"}]}}");
	assert_true(t_fits(s, ds, "down", NULL));
	assert_true(t_fits(s, ds, "tainted", NULL));
	assert_false(t_fits(s, ds, "lost", NULL));
	pthread_mutex_lock(&s->cache.mu);
	assert_int_equal(sched_cache_node(&s->cache, "tainted")->spec->ntaints, 1);
	assert_int_equal(sched_cache_node(&s->cache, "lost")->spec->ntaints, 2);
	pthread_mutex_unlock(&s->cache.mu);
	sched_pod_unref(p);
	sched_pod_unref(ds);
	sched_free(s);
}

static void test_node_affinity(void **state)
{
	struct sched *s = t_sched(NULL);
	char buf[256];
	struct sched_pod *p;
	const char *why;

	t_add_node(s, "a", "4", "8Gi", 110, "\"disk\":\"ssd\",\"cores\":\"16\",\"zone\":\"z1\"",
		   "");
	t_add_node(s, "b", "4", "8Gi", 110, "\"disk\":\"hdd\",\"cores\":\"8\",\"zone\":\"z2\"", "");
	t_add_node(s, "c", "4", "8Gi", 110, "\"cores\":\"x\"", "");

#define NAFF(terms)                                                                              \
	"{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"affinity\":{\"nodeAffinity\":" \
	"{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":" terms      \
	"}}}}}"
#define EXPR(k, op, v) "{\"key\":\"" k "\",\"operator\":\"" op "\"" v "}"
	static const struct {
		const char *pod, *want;
	} cases[] = {
	    {"{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"nodeSelector\":{\"disk\":"
	     "\"ssd\"}}}",
	     "a"},
	    {NAFF("[{\"matchExpressions\":[" EXPR("disk", "In",
						  ",\"values\":[\"ssd\",\"nvme\"]") "]}]"),
	     "a"},
	    {NAFF("[{\"matchExpressions\":[" EXPR("disk", "NotIn", ",\"values\":[\"ssd\"]") "]}]"),
	     "b,c"},
	    {NAFF("[{\"matchExpressions\":[" EXPR("disk", "Exists", "") "]}]"), "a,b"},
	    {NAFF("[{\"matchExpressions\":[" EXPR("disk", "DoesNotExist", "") "]}]"), "c"},
	    {NAFF("[{\"matchExpressions\":[" EXPR("cores", "Gt", ",\"values\":[\"8\"]") "]}]"),
	     "a"},
	    {NAFF("[{\"matchExpressions\":[" EXPR("cores", "Lt", ",\"values\":[\"16\"]") "]}]"),
	     "b"},
	    /* terms are ORed, expressions ANDed */
	    {NAFF("[{\"matchExpressions\":[" EXPR(
		 "zone", "In", ",\"values\":[\"z2\"]") "]},"
						       "{\"matchExpressions\":[" EXPR(
							   "disk", "DoesNotExist", "") "]}]"),
	     "b,c"},
	    {NAFF("[{\"matchExpressions\":[" EXPR("zone", "In", ",\"values\":[\"z2\"]") "," EXPR(
		 "disk", "In", ",\"values\":[\"ssd\"]") "]}]"),
	     ""},
	    /* matchFields metadata.name */
	    {NAFF("[{\"matchFields\":[" EXPR("metadata.name", "In", ",\"values\":[\"b\"]") "]}]"),
	     "b"},
	    {NAFF(
		 "[{\"matchFields\":[" EXPR("metadata.name", "NotIn", ",\"values\":[\"b\"]") "]}]"),
	     "a,c"},
	    /* invalid terms are dropped (Gt needs an integer); an empty term matches nothing */
	    {NAFF("[{\"matchExpressions\":[" EXPR(
		 "cores", "Gt", ",\"values\":[\"many\"]") "]},"
							  "{\"matchExpressions\":[" EXPR(
							      "disk", "In",
							      ",\"values\":[\"hdd\"]") "]}]"),
	     "b"},
	    {NAFF("[{}]"), ""},
	    /* nodeSelector and affinity both apply */
	    {"{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"nodeSelector\":{\"zone\":"
	     "\"z1\"},\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
	     "Execution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[" EXPR(
		 "disk", "In", ",\"values\":[\"hdd\"]") "]}]}}}}}",
	     ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = t_parse(s, "%s", cases[i].pod);
		t_feasible(s, p, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("case %zu: feasible '%s', want '%s'", i, buf, cases[i].want);
		sched_pod_unref(p);
	}
	p = t_parse(s, "%s", cases[0].pod);
	assert_false(t_fits(s, p, "b", &why));
	assert_string_equal(why, "node(s) didn't match Pod's node affinity/selector");
	sched_pod_unref(p);
	sched_free(s);
}

/* matchFields metadata.name: NodeAffinity's PreFilter narrows the nodes, and the others are
 * counted with its own reason in the message. */
static void test_node_name_prefilter(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;

	for (int i = 0; i < 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		t_add_node(s, name, "1", "1Gi", 110, "", "");
	}
	t_schedule(
	    s, &r, "p", "", "2", "",
	    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
	    "\":{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\","
	    "\"operator\":\"In\",\"values\":[\"n2\"]}]}]}}}");
	assert_false(r.scheduled);
	/* with DefaultPreemption's verdict (the node PreFilter left is the only candidate) */
	assert_string_equal(r.message,
			    "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) "
			    "didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/4 "
			    "nodes are available: 1 No preemption victims found for "
			    "incoming pod, 3 Preemption is not helpful for scheduling..");
	sched_result_clear(&r);
	t_schedule(
	    s, &r, "p", "", "", "",
	    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
	    "\":{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\","
	    "\"operator\":\"In\",\"values\":[\"n2\"]}]}]}}}");
	assert_true(r.scheduled);
	assert_string_equal(r.node, "n2");
	sched_result_clear(&r);
	/* two fields that cannot both hold: PreFilter fails the pod outright */
	t_schedule(
	    s, &r, "q", "", "", "",
	    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
	    "\":{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\","
	    "\"operator\":\"In\",\"values\":[\"n1\"]},{\"key\":\"metadata.name\","
	    "\"operator\":\"In\",\"values\":[\"n2\"]}]}]}}}");
	assert_false(r.scheduled);
	/* a PreFilter rejection leaves preemption no node */
	assert_string_equal(r.message, "0/4 nodes are available: pod affinity terms conflict. "
				       "preemption: 0/4 nodes are available: 4 Preemption is not "
				       "helpful for scheduling..");
	sched_result_clear(&r);
	sched_free(s);
}

static void test_ports(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	const char *why;

#define PORTS(list) "\"containers\":[{\"name\":\"c\",\"ports\":[" list "]}]"
	t_add_node(s, "a", "4", "8Gi", 110, "", "");
	t_add_node(s, "b", "4", "8Gi", 110, "", "");
	t_add_node(s, "c", "4", "8Gi", 110, "", "");
	t_add_pod(s, "web", "", "", "", PORTS("{\"containerPort\":80,\"hostPort\":8080}"), "a");
	t_add_pod(s, "dns", "", "", "",
		  PORTS("{\"containerPort\":53,\"hostPort\":53,\"protocol\":\"UDP\","
			"\"hostIP\":\"10.0.0.2\"}"),
		  "b");
	/* same port, TCP, any address: conflicts on a */
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{" PORTS(
			   "{\"containerPort\":1,\"hostPort\":8080}") "}}");
	assert_false(t_fits(s, p, "a", &why));
	assert_string_equal(why, "node(s) didn't have free ports for the requested pod ports");
	assert_true(t_fits(s, p, "b", NULL));
	sched_pod_unref(p);
	/* UDP 8080 does not conflict with TCP 8080 */
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{" PORTS(
			   "{\"containerPort\":1,\"hostPort\":8080,\"protocol\":\"UDP\"}") "}}");
	assert_true(t_fits(s, p, "a", NULL));
	sched_pod_unref(p);
	/* UDP 53 on another address does not conflict; on 0.0.0.0 or the same address it does */
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{" PORTS(
			   "{\"containerPort\":1,\"hostPort\":53,\"protocol\":\"UDP\",\"hostIP\":"
			   "\"10.0.0.3\"}") "}}");
	assert_true(t_fits(s, p, "b", NULL));
	sched_pod_unref(p);
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{" PORTS(
			   "{\"containerPort\":1,\"hostPort\":53,\"protocol\":\"UDP\"}") "}}");
	assert_false(t_fits(s, p, "b", NULL));
	sched_pod_unref(p);
	p = t_parse(s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{" PORTS(
			   "{\"containerPort\":1,\"hostPort\":53,\"protocol\":\"UDP\",\"hostIP\":"
			   "\"10.0.0.2\"}") "}}");
	assert_false(t_fits(s, p, "b", NULL));
	/* a containerPort without hostPort takes nothing */
	t_add_pod(s, "plain", "", "", "", PORTS("{\"containerPort\":53}"), "c");
	assert_true(t_fits(s, p, "c", NULL));
	/* the port is free again once its pod is gone */
	t_pod_delete(s, "uid-dns");
	assert_true(t_fits(s, p, "b", NULL));
	sched_pod_unref(p);
	sched_free(s);
}

static void test_fit(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	struct sched_status st = {0};
	struct sched_node *n;

	t_add_node(s, "small", "1", "1Gi", 2, "", "");
	t_add_node(s, "big", "8", "16Gi", 110, "", "");
	t_add_pod(s, "a", "", "600m", "512Mi", "", "small");
	/* 500m + 600m > 1 cpu; 600Mi + 512Mi > 1Gi */
	p = t_parse(s, "%s", t_pod_json((char[2048]){0}, 2048, "p", "", "500m", "600Mi", "", ""));
	pthread_mutex_lock(&s->cache.mu);
	n = sched_cache_node(&s->cache, "small");
	s->cy.p = p;
	assert_false(sched_filter_fit(s, &s->cy, n, &st));
	assert_int_equal(st.n, 2);
	assert_string_equal(st.reasons[0], "Insufficient cpu");
	assert_string_equal(st.reasons[1], "Insufficient memory");
	pthread_mutex_unlock(&s->cache.mu);
	assert_true(t_fits(s, p, "big", NULL));
	sched_pod_unref(p);
	/* exactly what is left fits */
	p = t_parse(s, "%s", t_pod_json((char[2048]){0}, 2048, "p", "", "400m", "512Mi", "", ""));
	assert_true(t_fits(s, p, "small", NULL));
	sched_pod_unref(p);
	/* pods: 2 allowed, one there, a second fits, a third does not */
	t_add_pod(s, "b", "", "", "", "", "small");
	p = t_parse(s, "%s", t_pod_json((char[2048]){0}, 2048, "p", "", "", "", "", ""));
	pthread_mutex_lock(&s->cache.mu);
	n = sched_cache_node(&s->cache, "small");
	s->cy.p = p;
	assert_false(sched_filter_fit(s, &s->cy, n, &st));
	assert_int_equal(st.n, 1);
	assert_string_equal(st.reasons[0], "Too many pods");
	pthread_mutex_unlock(&s->cache.mu);
	sched_pod_unref(p);
	sched_free(s);
}

/* requests of init containers (max), sidecars (sum), overhead; ephemeral-storage and an
 * extended resource */
static void test_fit_init_containers(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_pod *p;
	const char *why;

	t_node(s, "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"cpu\":\"2\","
		  "\"memory\":\"4Gi\",\"pods\":\"10\",\"ephemeral-storage\":\"10Gi\","
		  "\"example.com/gpu\":\"2\"}}}");
	/* containers 500m; init 1500m alone; sidecar 300m adds to both: max(800m, 1800m) */
	p = t_parse(s,
		    "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{"
		    "\"initContainers\":[{\"name\":\"side\",\"restartPolicy\":\"Always\","
		    "\"resources\":{\"requests\":{\"cpu\":\"300m\"}}},{\"name\":\"init\","
		    "\"resources\":{\"requests\":{\"cpu\":\"1500m\",\"memory\":\"1Gi\"}}}],"
		    "\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"250m\","
		    "\"memory\":\"2Gi\",\"ephemeral-storage\":\"1Gi\",\"example.com/gpu\":\"1\"}}},"
		    "{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"250m\"}}}],"
		    "\"overhead\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}");
	assert_int_equal(p->req.cpu, 1900);
	assert_int_equal(p->req.mem, 2 * 1073741824ll + 64 * 1048576ll);
	assert_int_equal(p->req.eph, 1073741824ll);
	assert_int_equal(p->req.nscalar, 1);
	assert_int_equal(p->req.scalar[0].v, 1);
	/* non-zero requests: container b and the sidecar have no memory: 200Mi each */
	assert_int_equal(p->nz_mem, 2 * 1073741824ll + 64 * 1048576ll + 2 * 200 * 1048576ll);
	assert_int_equal(p->nz_cpu, 1900);
	assert_true(t_fits(s, p, "n", NULL));
	sched_pod_unref(p);
	t_add_pod(s, "hog", "", "", "",
		  "\"overhead\":{\"cpu\":\"1\",\"ephemeral-storage\":\"9Gi\",\"example.com/gpu\":"
		  "\"2\"}",
		  "n");
	p = t_parse(s,
		    "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"containers\":[{"
		    "\"name\":\"a\",\"resources\":{\"requests\":{\"example.com/gpu\":\"1\"}}}]}}");
	assert_false(t_fits(s, p, "n", &why));
	assert_string_equal(why, "Insufficient example.com/gpu");
	sched_pod_unref(p);
	p = t_parse(
	    s, "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"containers\":[{"
	       "\"name\":\"a\",\"resources\":{\"requests\":{\"ephemeral-storage\":\"2Gi\"}}}]}}");
	assert_false(t_fits(s, p, "n", &why));
	assert_string_equal(why, "Insufficient ephemeral-storage");
	sched_pod_unref(p);
	sched_free(s);
}

/* The FitError message of a mixed cluster: reasons counted per node (the first plugin that
 * rejects a node decides), "<n> <reason>" sorted as strings. */
static void test_message_mixed(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;

	t_add_node(s, "n1", "1", "4Gi", 110, "", "");
	t_add_node(s, "n2", "1", "4Gi", 110, "", "");
	t_add_node(s, "n3", "1", "4Gi", 110, "", "");
	t_add_node(s, "n4", "4", "4Gi", 110, "", "");
	t_add_node(s, "n5", "4", "4Gi", 110, "", "");
	t_add_pod(s, "w4", "\"app\":\"web\"", "", "", "", "n4");
	t_add_pod(s, "w5", "\"app\":\"web\"", "", "", "", "n5");
	t_schedule(s, &r, "p", "\"app\":\"web\"", "2", "",
		   "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
		   "Execution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
		   "\"topologyKey\":\"kubernetes.io/hostname\"}]}}");
	assert_false(r.scheduled);
	assert_string_equal(r.message, "0/5 nodes are available: 2 node(s) didn't match pod "
				       "anti-affinity rules, 3 Insufficient cpu. preemption: 0/5 "
				       "nodes are available: 5 No preemption victims found for "
				       "incoming pod..");
	assert_int_equal(r.nreasons, 2);
	assert_int_equal(r.reasons[1].nodes, 3);
	assert_string_equal(r.reasons[1].reason, "Insufficient cpu");
	sched_result_clear(&r);
	/* more than one reason per node, and "10 ..." sorts before "2 ..." */
	for (int i = 6; i <= 15; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		t_add_node(s, name, "1", "1Gi", 110, "", "");
	}
	t_schedule(s, &r, "q", "", "2", "2Gi",
		   "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
		   "Execution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
		   "\"topologyKey\":\"kubernetes.io/hostname\"}]}}");
	assert_false(r.scheduled);
	assert_string_equal(r.message, "0/15 nodes are available: 10 Insufficient memory, "
				       "13 Insufficient cpu, 2 node(s) didn't match pod "
				       "anti-affinity rules. preemption: 0/15 nodes are available: "
				       "15 No preemption victims found for incoming pod..");
	sched_result_clear(&r);
	sched_free(s);
}

static void test_no_nodes(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;
	struct sched_pod *p;

	t_add_pod(s, "p", "", "", "", "", "");
	p = sched_pop(s, 0);
	assert_int_equal(sched_schedule(s, p, &r), 0);
	assert_false(r.scheduled);
	assert_string_equal(r.message, "no nodes available to schedule pods");
	assert_int_equal(r.nreasons, 0);
	sched_result_clear(&r);
	sched_pod_unref(p);
	/* parked without a plugin: any event brings it back, a new node first of all */
	t_clock += 60 * T_SEC;
	assert_null(sched_pop(s, 0));
	t_add_node(s, "n", "1", "1Gi", 10, "", "");
	p = sched_pop(s, 0);
	assert_non_null(p);
	assert_int_equal(sched_schedule(s, p, &r), 0);
	assert_true(r.scheduled);
	sched_result_clear(&r);
	sched_pod_unref(p);
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unschedulable),
	    cmocka_unit_test(test_taints),
	    cmocka_unit_test(test_not_ready_is_a_taint),
	    cmocka_unit_test(test_node_affinity),
	    cmocka_unit_test(test_node_name_prefilter),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_fit),
	    cmocka_unit_test(test_fit_init_containers),
	    cmocka_unit_test(test_message_mixed),
	    cmocka_unit_test(test_no_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
