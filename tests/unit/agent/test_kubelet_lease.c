/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kubelet_lease: kubelet_lease_renew (shared by drover agent and drover sim) against an
 * in-process API server: the first renewal creates the Lease; a Lease another writer updated
 * (our resourceVersion stale: a conflict) is read again and updated on its version; a Lease
 * that exists while we know no version is read and updated; one deleted under us is made again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_helpers.h"
#include "kubelet_objects.h"

static const struct k8s_kind *kind_lease(void)
{
	return k8s_kind_find("coordination.k8s.io/v1", "Lease");
}

/* The server's resourceVersion of the Lease, 0 when it is not there. */
static uint64_t server_rv(struct ksrv *k)
{
	struct kc_obj *o = NULL;
	struct kc_status st;
	uint64_t rv;

	if (kc_get(k->c, kind_lease(), KUBELET_LEASE_NAMESPACE, "n1", &o, &st))
		return 0;
	rv = o->rv;
	kc_obj_put(o);
	return rv;
}

static void renew_ok(struct ksrv *k, char *rv, size_t rvlen)
{
	struct kc_status st;
	int err = kubelet_lease_renew(k->c, kind_lease(), "n1", NULL, rv, rvlen, &st);
	char want[32];

	if (err)
		fail_msg("renew: %d %s", err, st.message);
	snprintf(want, sizeof(want), "%" PRIu64, server_rv(k));
	assert_string_equal(rv, want); /* the version we hold is the server's latest */
}

static void test_renew(void **state)
{
	struct ksrv *k = *state;
	struct kc_status st;
	struct kc_obj *o = NULL;
	struct jv_doc *d = jv_doc_new();
	struct kc_delete_opts del = KC_DELETE_OPTS_INIT;
	char rv[32] = "", stale[32];

	/* no version known, no Lease: created */
	renew_ok(k, rv, sizeof(rv));
	assert_int_equal(kc_get(k->c, kind_lease(), KUBELET_LEASE_NAMESPACE, "n1", &o, &st), 0);
	assert_string_equal(ostr(d, o, "spec.holderIdentity"), "n1");
	kc_obj_put(o);
	o = NULL;

	/* an update on our version */
	snprintf(stale, sizeof(stale), "%s", rv);
	renew_ok(k, rv, sizeof(rv));
	assert_string_not_equal(rv, stale);

	/* someone else wrote it: our version is stale, the update conflicts; read again */
	snprintf(stale, sizeof(stale), "%s", rv);
	renew_ok(k, rv, sizeof(rv));
	renew_ok(k, stale, sizeof(stale));

	/* it exists, we know no version (a restart): the create fails, read again */
	rv[0] = 0;
	renew_ok(k, rv, sizeof(rv));

	/* deleted under us: made again */
	assert_int_equal(
	    kc_delete(k->c, kind_lease(), KUBELET_LEASE_NAMESPACE, "n1", &del, NULL, &st), 0);
	assert_int_equal(server_rv(k), 0);
	renew_ok(k, rv, sizeof(rv));
	jv_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_renew),
	};

	return cmocka_run_group_tests(tests, ksrv_group_setup, ksrv_group_teardown);
}
