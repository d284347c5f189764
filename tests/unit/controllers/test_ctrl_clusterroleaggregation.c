/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_clusterroleaggregation: the clusterrole-aggregation controller fills the bootstrap
 * view, edit and admin ClusterRoles from the system:aggregate-to-* roles (admin ⊇ edit ⊇
 * view), adds a new ClusterRole's rules to every role that selects it, and takes them away
 * when that role goes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"

static const struct k8s_kind *cr_kind(void)
{
	return k8s_kind_find("rbac.authorization.k8s.io/v1", "ClusterRole");
}

/* role name has a rule whose resources hold resource */
static bool has_rule(struct cenv *e, const char *name, const char *resource)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *r = cenv_get(e, d, cr_kind(), NULL, name);
	bool found = false;

	for (const struct jv *rule = jv_first(jv_get(r, "rules")); rule && !found;
	     rule = rule->next)
		for (const struct jv *v = jv_first(jv_get(rule, "resources")); v && !found;
		     v = v->next)
			found = jv_is_str(v, resource);
	jv_doc_free(d);
	return found;
}

static void test_aggregation(void **state)
{
	struct cenv e;
	struct kc_status st;

	(void)state;
	cenv_start(&e, "clusterrole-aggregation", NULL, NULL);
	/* view from system:aggregate-to-view; edit adds its own and view's; admin all */
	assert_true(WAIT_UNTIL(has_rule(&e, "view", "pods/log"), KC_WAIT_MS));
	assert_false(has_rule(&e, "view", "secrets"));
	assert_true(WAIT_UNTIL(has_rule(&e, "edit", "secrets"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_rule(&e, "edit", "pods/log"), KC_WAIT_MS));
	assert_false(has_rule(&e, "edit", "rolebindings"));
	assert_true(WAIT_UNTIL(has_rule(&e, "admin", "rolebindings"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_rule(&e, "admin", "pods/log"), KC_WAIT_MS));
	/* a new role selected by view: in view, edit and admin */
	cenv_create(&e, cr_kind(), NULL,
		    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
		    "\"metadata\":{\"name\":\"widgets-view\",\"labels\":{"
		    "\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"}},\"rules\":[{"
		    "\"verbs\":[\"get\"],\"apiGroups\":[\"example.com\"],\"resources\":"
		    "[\"widgets\"]}]}");
	assert_true(WAIT_UNTIL(has_rule(&e, "view", "widgets"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(has_rule(&e, "admin", "widgets"), KC_WAIT_MS));
	/* gone: out of them again */
	assert_int_equal(kc_delete(e.k.c, cr_kind(), NULL, "widgets-view", NULL, NULL, &st), 0);
	assert_true(WAIT_UNTIL(!has_rule(&e, "view", "widgets"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(!has_rule(&e, "admin", "widgets"), KC_WAIT_MS));
	assert_true(has_rule(&e, "view", "pods/log"));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aggregation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
