/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_nodeipam: the range allocator gives Nodes the subnets of the cluster CIDR in
 * order (spec.podCIDR and spec.podCIDRs), knows after a restart which are taken, records
 * CIDRNotAvailable on a Node when none is left, and gives that Node a deleted Node's subnet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"

static const struct k8s_kind *node_kind(void)
{
	return k8s_kind_find("v1", "Node");
}

/* "<podCIDR> <podCIDRs[0]>" of node name ("" when it has none) */
static const char *cidr_of(struct cenv *e, const char *name, char *buf, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *n = cenv_get(e, d, node_kind(), NULL, name);
	const char *c = n ? jv_path_str(n, "spec.podCIDR") : NULL;
	const struct jv *cs = n ? jv_at(jv_path(n, "spec.podCIDRs"), 0) : NULL;

	snprintf(buf, size, "%s %s", c ? c : "", cs && cs->type == JV_STRING ? cs->s : "");
	if (!c)
		buf[0] = 0;
	jv_doc_free(d);
	return buf;
}

static bool cidr_is(struct cenv *e, const char *name, const char *want)
{
	char buf[128];

	return strcmp(cidr_of(e, name, buf, sizeof(buf)), want) == 0;
}

/* Events about node name with this reason and message */
static size_t events(struct cenv *e, const char *name, const char *reason, const char *msg)
{
	struct jv_doc *d = jv_doc_new();
	size_t n = 0, hits = 0;
	struct jv **ev = cenv_list(e, d, k8s_kind_find("v1", "Event"), NULL, NULL, &n);

	for (size_t i = 0; i < n; i++)
		if (jv_is_str(jv_path(ev[i], "involvedObject.name"), name) &&
		    jv_is_str(jv_path(ev[i], "involvedObject.kind"), "Node") &&
		    jv_is_str(jv_get(ev[i], "reason"), reason) &&
		    jv_is_str(jv_get(ev[i], "message"), msg))
			hits++;
	jv_doc_free(d);
	return hits;
}

static void test_range_allocator(void **state)
{
	struct cenv e;
	struct ctrl_config cfg = {.cluster_cidr = "10.244.0.0/22", .node_cidr_mask = 24};
	struct kc_status st;
	char buf[128];

	(void)state;
	cenv_start(&e, "nodeipam", NULL, &cfg);
	cenv_node(&e, "a", 4, 110, NULL);
	assert_true(WAIT_UNTIL(cidr_is(&e, "a", "10.244.0.0/24 10.244.0.0/24"), KC_WAIT_MS));
	cenv_node(&e, "b", 4, 110, NULL);
	assert_true(WAIT_UNTIL(cidr_is(&e, "b", "10.244.1.0/24 10.244.1.0/24"), KC_WAIT_MS));
	/* a new manager: what is taken comes from the Nodes */
	ctrl_manager_stop(e.m);
	e.m = NULL;
	assert_int_equal(ctrl_manager_start(e.ctrl_c, &e.cfg, &e.m), 0);
	cenv_node(&e, "c", 4, 110, NULL);
	assert_true(WAIT_UNTIL(cidr_is(&e, "c", "10.244.2.0/24 10.244.2.0/24"), KC_WAIT_MS));
	cenv_node(&e, "d", 4, 110, NULL);
	assert_true(WAIT_UNTIL(cidr_is(&e, "d", "10.244.3.0/24 10.244.3.0/24"), KC_WAIT_MS));
	/* none left */
	cenv_node(&e, "x", 4, 110, NULL);
	assert_true(WAIT_UNTIL(
	    events(&e, "x", "CIDRNotAvailable", "Node x status is now: CIDRNotAvailable") > 0,
	    KC_WAIT_MS));
	assert_string_equal(cidr_of(&e, "x", buf, sizeof(buf)), "");
	/* b's subnet is free again: x gets it */
	assert_int_equal(kc_delete(e.k.c, node_kind(), NULL, "b", NULL, NULL, &st), 0);
	assert_true(WAIT_UNTIL(cidr_is(&e, "x", "10.244.1.0/24 10.244.1.0/24"), KC_WAIT_MS));
	/* the others kept theirs */
	assert_true(cidr_is(&e, "a", "10.244.0.0/24 10.244.0.0/24"));
	assert_true(cidr_is(&e, "c", "10.244.2.0/24 10.244.2.0/24"));
	cenv_stop(&e);
}

static void test_no_cluster_cidr(void **state)
{
	struct cenv e;
	struct ctrl_config bad = {.cluster_cidr = "10.244.0.0/24", .node_cidr_mask = 16};
	struct kclient *c;
	struct ctrl_manager *m = NULL;

	(void)state;
	/* a node mask shorter than the cluster's: the controller refuses to start */
	cenv_start(&e, "", NULL, NULL);
	c = e.ctrl_c;
	bad.controllers = "nodeipam";
	assert_int_equal(ctrl_manager_start(c, &bad, &m), -EINVAL);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range_allocator),
	    cmocka_unit_test(test_no_cluster_cidr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
