/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_serviceaccount: the serviceaccount controller gives every namespace, new or
 * there before it started, a "default" ServiceAccount, and makes one deleted again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "ctrl_helpers.h"

static const struct k8s_kind *sa_kind(void)
{
	return k8s_kind_find("v1", "ServiceAccount");
}

static bool has_default(struct cenv *e, const char *ns)
{
	struct jv_doc *d = jv_doc_new();
	bool found = cenv_get(e, d, sa_kind(), ns, "default") != NULL;

	jv_doc_free(d);
	return found;
}

static void test_default_serviceaccount(void **state)
{
	struct cenv e;
	struct kc_status st;

	(void)state;
	cenv_start(&e, "serviceaccount", NULL, NULL);
	/* the namespaces the server bootstrapped: made before the controller ran */
	assert_true(
	    WAIT_UNTIL(has_default(&e, "default") && has_default(&e, "kube-system"), KC_WAIT_MS));
	kc_make_ns(e.k.c, "team");
	assert_true(WAIT_UNTIL(has_default(&e, "team"), KC_WAIT_MS));
	/* deleted: made again (which no registry write does) */
	assert_int_equal(kc_delete(e.k.c, sa_kind(), "team", "default", NULL, NULL, &st), 0);
	assert_true(WAIT_UNTIL(has_default(&e, "team"), KC_WAIT_MS));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_serviceaccount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
