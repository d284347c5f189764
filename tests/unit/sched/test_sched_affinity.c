/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_affinity: InterPodAffinity on a two-zone cluster, with seed 003's symmetry:
 * pods already placed whose required anti-affinity matches the incoming pod keep it out of
 * their domain (hostname and zone); a placed pod's required affinity to the incoming pod's
 * labels raises its domain's score (the reverse of a hard affinity is soft); placed pods'
 * preferred (anti-)affinity raises or lowers it. Plus namespaces and namespaceSelector, the
 * first pod of a self-affine group, and the counts following pods and nodes as they change.
 */
#include "helpers.h"

#define ZONE "topology.kubernetes.io/zone"
#define HOST "kubernetes.io/hostname"

/* a, b in zone z1; c, d in zone z2 */
static struct sched *cluster(void)
{
	struct sched *s = t_sched(NULL);

	t_add_node(s, "a", "8", "16Gi", 110, "\"" ZONE "\":\"z1\"", "");
	t_add_node(s, "b", "8", "16Gi", 110, "\"" ZONE "\":\"z1\"", "");
	t_add_node(s, "c", "8", "16Gi", 110, "\"" ZONE "\":\"z2\"", "");
	t_add_node(s, "d", "8", "16Gi", 110, "\"" ZONE "\":\"z2\"", "");
	return s;
}

/* spec members for a pod affinity: kind podAffinity/podAntiAffinity, required or preferred */
static const char *req_term(char *buf, size_t size, const char *kind, const char *app,
			    const char *topo)
{
	snprintf(buf, size,
		 "\"affinity\":{\"%s\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
		 "\"labelSelector\":{\"matchLabels\":{\"app\":\"%s\"}},\"topologyKey\":\"%s\"}]}}",
		 kind, app, topo);
	return buf;
}

static const char *pref_term(char *buf, size_t size, const char *kind, int w, const char *app,
			     const char *topo)
{
	snprintf(buf, size,
		 "\"affinity\":{\"%s\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{"
		 "\"weight\":%d,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"app\":"
		 "\"%s\"}},\"topologyKey\":\"%s\"}}]}}",
		 kind, w, app, topo);
	return buf;
}

static struct sched_pod *pod(struct sched *s, const char *labels, const char *spec)
{
	char buf[4096];

	return t_parse(s, "%s", t_pod_json(buf, sizeof(buf), "new", labels, "", "", spec, ""));
}

static void test_pod_anti_affinity(void **state)
{
	struct sched *s = cluster();
	char spec[512], buf[128];
	struct sched_pod *p;
	const char *why;

	t_add_pod(s, "web1", "\"app\":\"web\"", "", "", "", "a");
	/* hostname: only a is out */
	p = pod(s, "\"app\":\"web\"", req_term(spec, sizeof(spec), "podAntiAffinity", "web", HOST));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b,c,d");
	assert_false(t_fits(s, p, "a", &why));
	assert_string_equal(why, "node(s) didn't match pod anti-affinity rules");
	sched_pod_unref(p);
	/* zone: all of z1 is out */
	p = pod(s, "", req_term(spec, sizeof(spec), "podAntiAffinity", "web", ZONE));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c,d");
	sched_pod_unref(p);
	/* a topology key no node has: no domain, no conflict */
	p = pod(s, "", req_term(spec, sizeof(spec), "podAntiAffinity", "web", "rack"));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	/* the counts follow the pod: gone, nothing excludes */
	t_pod_delete(s, "uid-web1");
	p = pod(s, "", req_term(spec, sizeof(spec), "podAntiAffinity", "web", ZONE));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	sched_free(s);
}

/* seed 003: a placed pod anti-affine to the incoming one keeps it out of its domain */
static void test_existing_anti_affinity_symmetry(void **state)
{
	struct sched *s = cluster();
	char spec[512], buf[128];
	struct sched_pod *p;
	const char *why;

	t_add_pod(s, "db1", "\"app\":\"db\"", "", "",
		  req_term(spec, sizeof(spec), "podAntiAffinity", "batch", HOST), "a");
	t_add_pod(s, "db2", "\"app\":\"db\"", "", "",
		  req_term(spec, sizeof(spec), "podAntiAffinity", "batch", ZONE), "c");
	/* the incoming pod has no affinity at all: only the placed pods' rules apply */
	p = pod(s, "\"app\":\"batch\"", "");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b");
	assert_false(t_fits(s, p, "a", &why));
	assert_string_equal(why, "node(s) didn't satisfy existing pods anti-affinity rules");
	assert_false(t_fits(s, p, "d", &why));
	assert_string_equal(why, "node(s) didn't satisfy existing pods anti-affinity rules");
	sched_pod_unref(p);
	/* a pod the rules do not select goes anywhere */
	p = pod(s, "\"app\":\"web\"", "");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	/* the placed pod's term names its own namespace: another namespace is not selected */
	p = t_parse(
	    s, "%s",
	    t_pod_json((char[2048]){0}, 2048, "other/x", "\"app\":\"batch\"", "", "", "", ""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	/* gone, and so is the rule */
	t_pod_delete(s, "uid-db2");
	p = pod(s, "\"app\":\"batch\"", "");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b,c,d");
	sched_pod_unref(p);
	sched_free(s);
}

static void test_pod_affinity(void **state)
{
	struct sched *s = cluster();
	char spec[512], buf[128];
	struct sched_pod *p;
	const char *why;

	t_add_node(s, "nozone", "8", "16Gi", 110, "", "");
	/* nothing matches anywhere and the pod does not match itself: nowhere */
	p = pod(s, "", req_term(spec, sizeof(spec), "podAffinity", "cache", ZONE));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "");
	assert_false(t_fits(s, p, "a", &why));
	assert_string_equal(why, "node(s) didn't match pod affinity rules");
	sched_pod_unref(p);
	/* the first of a self-affine group: anywhere with the topology label */
	p = pod(s, "\"app\":\"cache\"", req_term(spec, sizeof(spec), "podAffinity", "cache", ZONE));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	/* once one is placed in z2, only z2 */
	t_add_pod(s, "cache1", "\"app\":\"cache\"", "", "", "", "d");
	p = pod(s, "\"app\":\"cache\"", req_term(spec, sizeof(spec), "podAffinity", "cache", ZONE));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c,d");
	sched_pod_unref(p);
	p = pod(s, "", req_term(spec, sizeof(spec), "podAffinity", "cache", HOST));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "d");
	sched_pod_unref(p);
	/* two terms: a pod must match both to count */
	t_add_pod(s, "x", "\"app\":\"cache\",\"tier\":\"hot\"", "", "", "", "a");
	p = pod(
	    s, "",
	    "\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
	    "{\"labelSelector\":{\"matchLabels\":{\"app\":\"cache\"}},\"topologyKey\":\"" ZONE
	    "\"},{\"labelSelector\":{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":"
	    "\"Exists\"}]},\"topologyKey\":\"" HOST "\"}]}}");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a");
	sched_pod_unref(p);
	sched_free(s);
}

static void test_namespaces(void **state)
{
	struct sched *s = cluster();
	char buf[128];
	struct sched_pod *p;

	t_ns(s, "{\"metadata\":{\"name\":\"prod\",\"labels\":{\"env\":\"prod\"}}}");
	t_ns(s, "{\"metadata\":{\"name\":\"dev\",\"labels\":{\"env\":\"dev\"}}}");
	t_add_pod(s, "prod/web", "\"app\":\"web\"", "", "", "", "a");
	t_add_pod(s, "dev/web", "\"app\":\"web\"", "", "", "", "c");
#define ANTI(extra)                                                                                \
	"\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{" \
	"\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"" HOST "\"" extra \
	"}]}}"
	/* no namespaces: the pod's own ("default"): neither counts */
	p = pod(s, "", ANTI(""));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	p = pod(s, "", ANTI(",\"namespaces\":[\"dev\"]"));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,d");
	sched_pod_unref(p);
	p = pod(s, "", ANTI(",\"namespaceSelector\":{\"matchLabels\":{\"env\":\"prod\"}}"));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b,c,d");
	sched_pod_unref(p);
	/* an empty namespaceSelector selects every namespace */
	p = pod(s, "", ANTI(",\"namespaceSelector\":{}"));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b,d");
	sched_pod_unref(p);
	/* relabel dev as prod: the selector now picks both */
	t_ns(s, "{\"metadata\":{\"name\":\"dev\",\"labels\":{\"env\":\"prod\"}}}");
	p = pod(s, "", ANTI(",\"namespaceSelector\":{\"matchLabels\":{\"env\":\"prod\"}}"));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b,d");
	sched_pod_unref(p);
	sched_free(s);
}

static void scores(struct sched *s, struct sched_pod *p, int64_t *out)
{
	static const char *const nodes[] = {"a", "b", "c", "d", NULL};

	t_scores(s, p, T_INTERPOD, nodes, out);
}

#define ASSERT_SCORES(v, a, b, c, d)                                                      \
	do {                                                                              \
		if ((v)[0] != (a) || (v)[1] != (b) || (v)[2] != (c) || (v)[3] != (d))     \
			fail_msg("scores %lld %lld %lld %lld, want %d %d %d %d",          \
				 (long long)(v)[0], (long long)(v)[1], (long long)(v)[2], \
				 (long long)(v)[3], a, b, c, d);                          \
	} while (0)

static void test_score_preferred(void **state)
{
	struct sched *s = cluster();
	char spec[512];
	struct sched_pod *p;
	int64_t v[4];

	t_add_pod(s, "db", "\"app\":\"db\"", "", "", "", "d");
	t_add_pod(s, "web", "\"app\":\"web\"", "", "", "", "a");
	p = pod(s, "", pref_term(spec, sizeof(spec), "podAffinity", 80, "db", ZONE));
	scores(s, p, v);
	ASSERT_SCORES(v, 0, 0, 100, 100);
	sched_pod_unref(p);
	p = pod(s, "", pref_term(spec, sizeof(spec), "podAntiAffinity", 30, "web", HOST));
	scores(s, p, v);
	ASSERT_SCORES(v, 0, 100, 100, 100);
	sched_pod_unref(p);
	/* both: +80 on z2, -30 on a: min -30, max 80 */
	p = pod(
	    s, "",
	    "\"affinity\":{\"podAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":"
	    "[{\"weight\":80,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"app\":"
	    "\"db\"}},\"topologyKey\":\"" ZONE "\"}}]},\"podAntiAffinity\":{\"preferredDuring"
	    "SchedulingIgnoredDuringExecution\":[{\"weight\":30,\"podAffinityTerm\":{"
	    "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"" HOST
	    "\"}}]}}");
	scores(s, p, v);
	ASSERT_SCORES(v, 0, 27, 100, 100); /* 100 x 30/110 = 27.27 */
	sched_pod_unref(p);
	/* no terms and no holders: 0 everywhere */
	p = pod(s, "\"app\":\"x\"", "");
	scores(s, p, v);
	ASSERT_SCORES(v, 0, 0, 0, 0);
	sched_pod_unref(p);
	sched_free(s);
}

/* seed 003: the reverse of a hard affinity is soft; placed pods' preferences count too */
static void test_score_symmetry(void **state)
{
	struct sched *s = cluster();
	char spec[512];
	struct sched_pod *p;
	int64_t v[4];

	/* a placed pod requires affinity to app=web in its zone (z1) */
	t_add_pod(s, "front", "\"app\":\"front\"", "", "",
		  req_term(spec, sizeof(spec), "podAffinity", "web", ZONE), "b");
	p = pod(s, "\"app\":\"web\"", "");
	scores(s, p, v);
	ASSERT_SCORES(v, 100, 100, 0, 0);
	sched_pod_unref(p);
	/* a pod it does not select gets nothing from it */
	p = pod(s, "\"app\":\"other\"", "");
	scores(s, p, v);
	ASSERT_SCORES(v, 0, 0, 0, 0);
	sched_pod_unref(p);
	/* a placed pod prefers not to share its host with app=web (weight 40), another pod
	 * prefers web in its zone z2 (weight 10): raw a 1, b 1, c 10-40 = -30, d 10 */
	t_add_pod(s, "lonely", "\"app\":\"lonely\"", "", "",
		  pref_term(spec, sizeof(spec), "podAntiAffinity", 40, "web", HOST), "c");
	t_add_pod(s, "friend", "\"app\":\"friend\"", "", "",
		  pref_term(spec, sizeof(spec), "podAffinity", 10, "web", ZONE), "d");
	p = pod(s, "\"app\":\"web\"", "");
	scores(s, p, v);
	/* min -30, max 10: a, b = 100 x 31/40 = 77; c = 0; d = 100 */
	ASSERT_SCORES(v, 77, 77, 0, 100);
	sched_pod_unref(p);
	/* the holders follow their pods */
	t_pod_delete(s, "uid-lonely");
	t_pod_delete(s, "uid-friend");
	p = pod(s, "\"app\":\"web\"", "");
	scores(s, p, v);
	ASSERT_SCORES(v, 100, 100, 0, 0);
	sched_pod_unref(p);
	sched_free(s);
}

/* A node relabelled moves its pods' counts to the new domain. */
static void test_node_relabel(void **state)
{
	struct sched *s = cluster();
	char spec[512], buf[128];
	struct sched_pod *p;

	t_add_pod(s, "web1", "\"app\":\"web\"", "", "", "", "a");
	t_add_pod(s, "db1", "\"app\":\"db\"", "", "",
		  req_term(spec, sizeof(spec), "podAntiAffinity", "batch", ZONE), "a");
	p = pod(s, "\"app\":\"batch\"",
		req_term(spec, sizeof(spec), "podAntiAffinity", "web", ZONE));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c,d");
	/* a moves to z2 */
	t_add_node(s, "a", "8", "16Gi", 110, "\"" ZONE "\":\"z2\"", "");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b");
	/* and loses its zone: only its own host is excluded by... nothing (hostname rules) */
	t_add_node(s, "a", "8", "16Gi", 110, "", "");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "a,b,c,d");
	sched_pod_unref(p);
	/* a deleted node takes its pods out of the counts */
	t_add_node(s, "a", "8", "16Gi", 110, "\"" ZONE "\":\"z1\"", "");
	assert_int_equal(sched_node_delete(s, "a"), 0);
	p = pod(s, "\"app\":\"batch\"",
		req_term(spec, sizeof(spec), "podAntiAffinity", "web", ZONE));
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "b,c,d");
	/* back again with its pods */
	t_add_node(s, "a", "8", "16Gi", 110, "\"" ZONE "\":\"z1\"", "");
	assert_string_equal(t_feasible(s, p, buf, sizeof(buf)), "c,d");
	sched_pod_unref(p);
	sched_free(s);
}

/* The case: 6 replicas anti-affine on hostname over 5 nodes leave one Pending. */
static void test_deployment_of_six(void **state)
{
	struct sched *s = t_sched(NULL);
	char spec[512];
	struct sched_result r;

	for (int i = 1; i <= 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		t_add_node(s, name, "4", "8Gi", 110, "", "");
	}
	req_term(spec, sizeof(spec), "podAntiAffinity", "web", HOST);
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "web-%d", i);
		t_place(s, name, "\"app\":\"web\"", "100m", "128Mi", spec, NULL);
	}
	t_schedule(s, &r, "web-5", "\"app\":\"web\"", "100m", "128Mi", spec);
	assert_false(r.scheduled);
	/* anti-affinity is Unschedulable, not Unresolvable: preemption tries every node, and
	 * finds only pods of the same priority */
	assert_string_equal(r.message,
			    "0/5 nodes are available: 5 node(s) didn't match pod anti-affinity "
			    "rules. preemption: 0/5 nodes are available: 5 No preemption victims "
			    "found for incoming pod..");
	sched_result_clear(&r);
	/* a pod without the rule but matched by theirs: the symmetric reason */
	t_schedule(s, &r, "web-6", "\"app\":\"web\"", "100m", "128Mi", "");
	assert_false(r.scheduled);
	assert_string_equal(r.message,
			    "0/5 nodes are available: 5 node(s) didn't satisfy existing "
			    "pods anti-affinity rules. preemption: 0/5 nodes are available: "
			    "5 No preemption victims found for incoming pod..");
	sched_result_clear(&r);
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pod_anti_affinity),
	    cmocka_unit_test(test_existing_anti_affinity_symmetry),
	    cmocka_unit_test(test_pod_affinity),
	    cmocka_unit_test(test_namespaces),
	    cmocka_unit_test(test_score_preferred),
	    cmocka_unit_test(test_score_symmetry),
	    cmocka_unit_test(test_node_relabel),
	    cmocka_unit_test(test_deployment_of_six),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
