/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sched_preempt: DefaultPreemption (sched_preempt.c) on hand-built clusters, as
 * kube-scheduler 1.32's default_preemption_test.go and preemption_test.go check it: the
 * lowest priority victim on a full node, reprieve of the more important pods, no preemption
 * for preemptionPolicy Never nor of pods of equal or higher priority, pickOneNodeForPreemption's
 * order (lowest highest-victim priority, smallest sum, latest start), PDBs (a candidate that
 * violates none wins; PDB-violating victims reprieved first), nodes whose failure removal
 * cannot resolve (a nodeSelector mismatch) never chosen, the messages kube writes, the
 * nominator (the room of a nominated pod reserved against lower priority pods, a pod waiting
 * for its victims not preempting again, a useless nomination cleared).
 */
#include "helpers.h"

/* A pod with a priority, a cpu request, a start time and extra metadata/spec/status members. */
static const char *ppod(char *buf, size_t size, const char *name, int prio, const char *cpu,
			const char *node, const char *start, const char *labels, const char *spec,
			const char *meta, const char *status)
{
	snprintf(buf, size,
		 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\","
		 "\"uid\":\"uid-%s\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
		 "\"labels\":{%s}%s},\"spec\":{\"nodeName\":\"%s\",\"priority\":%d,"
		 "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"%s\"}}}]"
		 "%s},\"status\":{\"startTime\":\"%s\"%s}}",
		 name, name, labels, meta, node, prio, cpu, spec, start, status);
	return buf;
}

#define EARLY "2024-01-01T00:00:00Z"
#define LATE  "2024-01-01T01:00:00Z"

static void place(struct sched *s, const char *name, int prio, const char *cpu, const char *node,
		  const char *start, const char *labels)
{
	char b[4096];

	t_pod(s, "%s", ppod(b, sizeof(b), name, prio, cpu, node, start, labels, "", "", ""));
}

/* Schedule an unassigned pod (extra spec / status members) into r. */
static void attempt(struct sched *s, struct sched_result *r, const char *name, int prio,
		    const char *cpu, const char *spec, const char *status)
{
	char b[4096];
	struct sched_pod *p =
	    t_parse(s, "%s", ppod(b, sizeof(b), name, prio, cpu, "", EARLY, "", spec, "", status));

	assert_int_equal(sched_schedule(s, p, r), 0);
	sched_pod_unref(p);
}

static const char *victims(const struct sched_result *r, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < r->nvictims; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "",
					sched_pod_name(r->victims[i]));
	return buf;
}

static void pdb(struct sched *s, const char *name, const char *app, int allowed)
{
	struct jv_doc *d = jv_doc_new();
	char text[512];
	struct jv_perr err;

	snprintf(text, sizeof(text),
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{"
		 "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}}},\"status\":{"
		 "\"disruptionsAllowed\":%d}}",
		 name, app, allowed);
	assert_int_equal(sched_pdb_upsert(s, jv_parse(d, text, strlen(text), &err)), 0);
	jv_doc_free(d);
}

/* Two empty nodes of 2 cpus. */
static struct sched *two_nodes(const char *n2_labels)
{
	struct sched *s = t_sched(NULL);

	t_add_node(s, "n1", "2", "8Gi", 110, "", "");
	t_add_node(s, "n2", "2", "8Gi", 110, n2_labels, "");
	return s;
}

/* Pod p (priority 10, cpu) preempts on node, these victims (NULL: not checked). */
static void expect_preempt(struct sched *s, const char *cpu, const char *node, const char *want)
{
	struct sched_result r;
	char v[256];

	attempt(s, &r, "p", 10, cpu, "", "");
	assert_false(r.scheduled);
	assert_string_equal(r.nominated_node, node);
	if (want)
		assert_string_equal(victims(&r, v, sizeof(v)), want);
	sched_result_clear(&r);
}

/* A full node: the lowest priority pod is the victim, the more important one reprieved; the
 * preemptor is nominated, waits while its victim terminates, and fits once it is gone. */
static void test_preempts_lowest(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;
	char b[4096], v[256];

	(void)state;
	t_add_node(s, "n1", "2", "8Gi", 110, "", "");
	place(s, "low", 0, "1", "n1", LATE, "\"app\":\"low\"");
	place(s, "mid", 5, "1", "n1", EARLY, "\"app\":\"mid\"");
	attempt(s, &r, "high", 10, "1", "", "");
	assert_false(r.scheduled);
	assert_true(r.nominate);
	assert_string_equal(r.nominated_node, "n1");
	assert_string_equal(victims(&r, v, sizeof(v)), "low");
	/* success: PostFilter's status has no message, the FitError's alone */
	assert_string_equal(r.message, "0/1 nodes are available: 1 Insufficient cpu.");
	sched_result_clear(&r);

	/* the victim terminating by preemption: the pod waits, it does not preempt again */
	t_pod(s, "%s",
	      ppod(b, sizeof(b), "low", 0, "1", "n1", LATE, "\"app\":\"low\"", "",
		   ",\"deletionTimestamp\":\"2024-01-01T02:00:00Z\"",
		   ",\"conditions\":[{\"type\":\"DisruptionTarget\",\"status\":\"True\","
		   "\"reason\":\"PreemptionByScheduler\"}]"));
	attempt(s, &r, "high", 10, "1", "", ",\"nominatedNodeName\":\"n1\"");
	assert_false(r.scheduled);
	assert_int_equal(r.nvictims, 0);
	assert_false(r.nominate);
	assert_string_equal(r.message,
			    "0/1 nodes are available: 1 Insufficient cpu. preemption: "
			    "not eligible due to a terminating pod on the nominated node..");
	sched_result_clear(&r);

	/* gone: it binds there */
	t_pod_delete(s, "uid-low");
	attempt(s, &r, "high", 10, "1", "", ",\"nominatedNodeName\":\"n1\"");
	assert_true(r.scheduled);
	assert_string_equal(r.node, "n1");
	sched_result_clear(&r);
	sched_free(s);
}

static void test_never(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;

	(void)state;
	t_add_node(s, "n1", "1", "8Gi", 110, "", "");
	place(s, "low", 0, "1", "n1", EARLY, "");
	attempt(s, &r, "high", 10, "1", ",\"preemptionPolicy\":\"Never\"", "");
	assert_false(r.scheduled);
	assert_false(r.nominate);
	assert_int_equal(r.nvictims, 0);
	assert_string_equal(r.message, "0/1 nodes are available: 1 Insufficient cpu. preemption: "
				       "not eligible due to preemptionPolicy=Never..");
	sched_result_clear(&r);
	sched_free(s);
}

/* Pods of equal or higher priority are never victims. */
static void test_equal_or_higher(void **state)
{
	struct sched *s = two_nodes("");
	struct sched_result r;

	(void)state;
	place(s, "same", 10, "2", "n1", EARLY, "");
	place(s, "above", 20, "2", "n2", EARLY, "");
	attempt(s, &r, "p", 10, "1", "", "");
	assert_false(r.scheduled);
	assert_false(r.nominate);
	assert_int_equal(r.nvictims, 0);
	assert_string_equal(
	    r.message, "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are "
		       "available: 2 No preemption victims found for incoming pod..");
	sched_result_clear(&r);
	sched_free(s);
}

/* pickOneNodeForPreemption: the lowest highest-victim priority, then the smallest sum of
 * priorities (fewer victims of the same priority), then the latest start. */
static void test_pick_node(void **state)
{
	(void)state;
	/* lowest highest priority: n2's victim (3) over n1's (5) */
	struct sched *s = two_nodes("");

	place(s, "a", 5, "2", "n1", LATE, "");
	place(s, "b", 3, "2", "n2", EARLY, "");
	expect_preempt(s, "2", "n2", "b");
	sched_free(s);

	/* same highest priority: the smaller sum (n2: 5 + 1 below n1: 5 + 4), though n1's
	 * victims started later */
	s = two_nodes("");
	place(s, "a1", 5, "1", "n1", LATE, "");
	place(s, "a2", 4, "1", "n1", LATE, "");
	place(s, "b1", 5, "1", "n2", EARLY, "");
	place(s, "b2", 1, "1", "n2", EARLY, "");
	expect_preempt(s, "2", "n2", "b1,b2");
	sched_free(s);

	/* same sum (a victim of priority MinInt32 adds 0 to it): the fewer victims, though
	 * n1's started later */
	s = two_nodes("");
	place(s, "a1", 3, "1", "n1", LATE, "");
	place(s, "a2", -2147483647 - 1, "1", "n1", LATE, "");
	place(s, "b", 3, "2", "n2", EARLY, "");
	expect_preempt(s, "2", "n2", "b");
	sched_free(s);

	/* all else equal: the node whose victims started last */
	s = two_nodes("");
	place(s, "a", 3, "2", "n1", EARLY, "");
	place(s, "b", 3, "2", "n2", LATE, "");
	expect_preempt(s, "2", "n2", NULL);
	sched_free(s);
}

/* A candidate violating no PDB beats one that does (which would win on start time); on one
 * node the PDB-protected victim is reprieved before a more important unprotected one. */
static void test_pdb(void **state)
{
	struct sched_result r;
	char v[256];

	(void)state;
	struct sched *s = two_nodes("");

	place(s, "guarded", 3, "2", "n1", LATE, "\"app\":\"guarded\"");
	place(s, "free", 3, "2", "n2", EARLY, "\"app\":\"free\"");
	pdb(s, "budget", "guarded", 0);
	expect_preempt(s, "2", "n2", "free");
	sched_free(s);

	s = t_sched(NULL);
	t_add_node(s, "n1", "2", "8Gi", 110, "", "");
	place(s, "guarded", 3, "1", "n1", LATE, "\"app\":\"guarded\"");
	place(s, "free", 3, "1", "n1", EARLY, "\"app\":\"free\"");
	pdb(s, "budget", "guarded", 0);
	expect_preempt(s, "1", "n1", "free");
	/* without the budget the more important (earlier) one is reprieved first */
	struct jv_doc *d = jv_doc_new();
	struct jv_perr err;
	const char *del = "{\"metadata\":{\"name\":\"budget\",\"namespace\":\"default\"}}";

	assert_int_equal(sched_pdb_delete(s, jv_parse(d, del, strlen(del), &err)), 0);
	jv_doc_free(d);
	attempt(s, &r, "p", 10, "1", "", "");
	assert_string_equal(victims(&r, v, sizeof(v)), "guarded");
	sched_result_clear(&r);
	sched_free(s);
}

/* A node that fails the nodeSelector is never a candidate, however cheap its victims; with
 * no candidate the message tells which nodes preemption could not help. */
static void test_unresolvable(void **state)
{
	struct sched *s = two_nodes("\"disk\":\"ssd\"");
	struct sched_result r;
	char v[256];
	const char *sel = ",\"nodeSelector\":{\"disk\":\"ssd\"}";

	(void)state;
	place(s, "cheap", 1, "2", "n1", LATE, "");
	place(s, "dear", 5, "2", "n2", EARLY, "");
	attempt(s, &r, "p", 10, "2", sel, "");
	assert_string_equal(r.nominated_node, "n2");
	assert_string_equal(victims(&r, v, sizeof(v)), "dear");
	sched_result_clear(&r);

	place(s, "dear", 50, "2", "n2", EARLY, "");
	attempt(s, &r, "p", 10, "2", sel, ",\"nominatedNodeName\":\"n2\"");
	assert_false(r.scheduled);
	assert_int_equal(r.nvictims, 0);
	/* the useless nomination is cleared */
	assert_true(r.nominate);
	assert_string_equal(r.nominated_node, "");
	assert_string_equal(
	    r.message,
	    "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
	    "affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found "
	    "for incoming pod, 1 Preemption is not helpful for scheduling..");
	sched_result_clear(&r);
	sched_free(s);
}

/* The room a nominated pod waits for is not taken by a lower priority pod; a higher priority
 * preemptor on that node takes the nomination away from the lower one. */
static void test_nominated_reserved(void **state)
{
	struct sched *s = t_sched(NULL);
	struct sched_result r;
	char v[256];

	(void)state;
	t_add_node(s, "n1", "2", "8Gi", 110, "", "");
	place(s, "low", 0, "1", "n1", LATE, "");
	place(s, "mid", 5, "1", "n1", EARLY, "");
	attempt(s, &r, "high", 10, "1", "", "");
	assert_string_equal(victims(&r, v, sizeof(v)), "low");
	sched_result_clear(&r);
	t_pod_delete(s, "uid-low");

	attempt(s, &r, "other", 5, "1", "", "");
	assert_false(r.scheduled);
	assert_string_equal(r.message, "0/1 nodes are available: 1 Insufficient cpu. preemption: "
				       "0/1 nodes are available: 1 No preemption victims found for "
				       "incoming pod..");
	sched_result_clear(&r);

	/* a higher one preempts mid there: high (10) loses its nomination */
	attempt(s, &r, "top", 20, "2", "", "");
	assert_string_equal(r.nominated_node, "n1");
	assert_string_equal(victims(&r, v, sizeof(v)), "mid");
	assert_int_equal(r.ndenominate, 1);
	assert_string_equal(sched_pod_name(r.denominate[0]), "high");
	sched_result_clear(&r);
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_preempts_lowest),
	    cmocka_unit_test(test_never),
	    cmocka_unit_test(test_equal_or_higher),
	    cmocka_unit_test(test_pick_node),
	    cmocka_unit_test(test_pdb),
	    cmocka_unit_test(test_unresolvable),
	    cmocka_unit_test(test_nominated_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
