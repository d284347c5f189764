/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_rootcacert: the root CA publisher (pkg/controller/certificates/
 * rootcacertpublisher) gives every namespace, new or there before it started, the ConfigMap
 * kube-root-ca.crt holding exactly the CA file as ca.crt and the description annotation; it
 * makes one deleted again and puts one changed back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrl_helpers.h"

#define CA "-----BEGIN CERTIFICATE-----\nMIIBdrover\n-----END CERTIFICATE-----\n"

static const struct k8s_kind *cm_kind(void)
{
	return k8s_kind_find("v1", "ConfigMap");
}

/* ns holds the published ConfigMap, as the publisher writes it */
static bool published(struct cenv *e, const char *ns)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *cm = cenv_get(e, d, cm_kind(), ns, "kube-root-ca.crt");
	bool ok =
	    cm && jv_count(jv_get(cm, "data")) == 1 &&
	    jv_is_str(jv_get(jv_get(cm, "data"), "ca.crt"), CA) &&
	    jv_is_str(jv_get(jv_path(cm, "metadata.annotations"), "kubernetes.io/description"),
		      "Contains a CA bundle that can be used to verify the kube-apiserver when "
		      "using internal endpoints such as the internal service IP or "
		      "kubernetes.default.svc. No other usage is guaranteed across "
		      "distributions of Kubernetes clusters.");

	jv_doc_free(d);
	return ok;
}

static void test_publisher(void **state)
{
	char path[] = "/tmp/drover-rootca-XXXXXX";
	int fd = mkstemp(path);
	struct ctrl_config cfg = {.root_ca_file = path};
	struct jv_doc *d;
	struct jv *cm;
	struct kc_status st;
	struct cenv e;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, CA, strlen(CA)), (ssize_t)strlen(CA));
	close(fd);
	cenv_start(&e, "root-ca-certificate-publisher-controller", NULL, &cfg);
	/* the namespaces the server bootstrapped, and a new one */
	assert_true(
	    WAIT_UNTIL(published(&e, "default") && published(&e, "kube-system"), KC_WAIT_MS));
	kc_make_ns(e.k.c, "team");
	assert_true(WAIT_UNTIL(published(&e, "team"), KC_WAIT_MS));
	/* deleted: made again */
	assert_int_equal(kc_delete(e.k.c, cm_kind(), "team", "kube-root-ca.crt", NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(published(&e, "team"), KC_WAIT_MS));
	/* changed (another CA, a key more): put back */
	d = jv_doc_new();
	cm = cenv_get(&e, d, cm_kind(), "team", "kube-root-ca.crt");
	assert_non_null(cm);
	jv_set(d, jv_get(cm, "data"), "ca.crt", jv_new_strz(d, "forged"));
	jv_set(d, jv_get(cm, "data"), "extra", jv_new_strz(d, "x"));
	assert_int_equal(kc_update(e.k.c, cm_kind(), "team", NULL, cm, NULL, NULL, &st), 0);
	jv_doc_free(d);
	assert_true(WAIT_UNTIL(published(&e, "team"), KC_WAIT_MS));
	cenv_stop(&e);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_publisher),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
