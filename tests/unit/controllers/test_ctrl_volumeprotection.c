/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_volumeprotection: StorageObjectInUseProtection as kube-apiserver and
 * kube-controller-manager 1.32 have it: the admission plugin
 * (plugin/pkg/admission/storage/storageobjectinuseprotection) gives new PVCs
 * kubernetes.io/pvc-protection and new PVs kubernetes.io/pv-protection; the pvc-protection
 * controller (pkg/controller/volume/pvcprotection) lets a deleted claim go only when no
 * scheduled, unfinished pod uses it, and puts the finalizer back on a claim that lost it; the
 * pv-protection controller (pkg/controller/volume/pvprotection) lets a deleted volume go
 * unless it is Bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_workload.h"

#define NS "default"

static const struct k8s_kind *kind_pvc(void)
{
	return k8s_kind_find("v1", "PersistentVolumeClaim");
}

static const struct k8s_kind *kind_pv(void)
{
	return k8s_kind_find("v1", "PersistentVolume");
}

static void pvc(struct cenv *e, const char *name)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
		 "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}",
		 name);
	cenv_create(e, kind_pvc(), NS, json);
}

/* The object's finalizers joined by ",", into buf ("-" when it is gone). */
static const char *fins(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
			char *buf, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, k, ns, name);
	size_t n = 0;

	buf[0] = 0;
	if (!o)
		snprintf(buf, size, "-");
	for (const struct jv *f = jv_first(jv_path(o, "metadata.finalizers")); f; f = f->next)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", f->s);
	jv_doc_free(d);
	return buf;
}

static void del(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name)
{
	struct kc_status st;

	if (kc_delete(e->k.c, k, ns, name, NULL, NULL, &st) != 0)
		fail_msg("delete %s: %s", name, st.message);
}

static bool gone(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name)
{
	char buf[256];

	return strcmp(fins(e, k, ns, name, buf, sizeof(buf)), "-") == 0;
}

/* The admission plugin alone (no protection controller running): new PVCs and PVs get
 * their finalizer; on a server without the plugin nothing is added. */
static void test_admission(void **state)
{
	struct cenv e;
	struct api_config acfg = {.storage_protection = true};
	char buf[256];

	(void)state;
	cenv_start(&e, "replicaset", &acfg, NULL);
	pvc(&e, "p");
	assert_string_equal(fins(&e, kind_pvc(), NS, "p", buf, sizeof(buf)),
			    "kubernetes.io/pvc-protection");
	cenv_create(&e, kind_pv(), NULL,
		    "{\"metadata\":{\"name\":\"pv0\",\"finalizers\":[\"example.com/x\"]},"
		    "\"spec\":{\"capacity\":{\"storage\":\"1Gi\"},\"accessModes\":["
		    "\"ReadWriteOnce\"],\"hostPath\":{\"path\":\"/tmp/pv0\"}}}");
	assert_string_equal(fins(&e, kind_pv(), NULL, "pv0", buf, sizeof(buf)),
			    "example.com/x,kubernetes.io/pv-protection");
	/* an update adds nothing */
	cw_patch(&e, kind_pvc(), NS, "p", "{\"metadata\":{\"finalizers\":null}}");
	assert_string_equal(fins(&e, kind_pvc(), NS, "p", buf, sizeof(buf)), "");
	cenv_stop(&e);

	cenv_start(&e, "replicaset", NULL, NULL);
	pvc(&e, "plain");
	assert_string_equal(fins(&e, kind_pvc(), NS, "plain", buf, sizeof(buf)), "");
	cenv_stop(&e);
}

static void test_pvc(void **state)
{
	struct cenv e;
	struct api_config acfg = {.storage_protection = true};
	char buf[256];

	(void)state;
	cenv_start(&e, "pvc-protection", &acfg, NULL);
	pvc(&e, "used");
	pvc(&e, "unused");
	assert_string_equal(fins(&e, kind_pvc(), NS, "used", buf, sizeof(buf)),
			    "kubernetes.io/pvc-protection");
	cenv_create(&e, kind_pod(), NS,
		    "{\"metadata\":{\"name\":\"user\"},\"spec\":{\"volumes\":[{\"name\":\"v\","
		    "\"persistentVolumeClaim\":{\"claimName\":\"used\"}}],\"containers\":[{"
		    "\"name\":\"c\",\"image\":\"x\"}]}}");
	cenv_pod_run(&e, NS, "user", "n1", true);
	del(&e, kind_pvc(), NS, "used");
	del(&e, kind_pvc(), NS, "unused");
	assert_true(WAIT_UNTIL(gone(&e, kind_pvc(), NS, "unused"), KC_WAIT_MS));
	/* a running pod holds its claim */
	assert_string_equal(fins(&e, kind_pvc(), NS, "used", buf, sizeof(buf)),
			    "kubernetes.io/pvc-protection");
	cenv_pod_finish(&e, NS, "user", "Succeeded");
	assert_true(WAIT_UNTIL(gone(&e, kind_pvc(), NS, "used"), KC_WAIT_MS));

	/* a claim that lost its finalizer gets it back */
	pvc(&e, "bare");
	cw_patch(&e, kind_pvc(), NS, "bare", "{\"metadata\":{\"finalizers\":null}}");
	assert_true(WAIT_UNTIL(strcmp(fins(&e, kind_pvc(), NS, "bare", buf, sizeof(buf)),
				      "kubernetes.io/pvc-protection") == 0,
			       KC_WAIT_MS));
	cenv_stop(&e);
}

static void test_pv(void **state)
{
	struct cenv e;
	struct api_config acfg = {.storage_protection = true};
	struct kc_status st;
	char buf[256];
	static const char bound[] = "{\"status\":{\"phase\":\"Bound\"}}",
			  released[] = "{\"status\":{\"phase\":\"Released\"}}";

	(void)state;
	cenv_start(&e, "pv-protection", &acfg, NULL);
	cenv_create(&e, kind_pv(), NULL,
		    "{\"metadata\":{\"name\":\"pv1\"},\"spec\":{\"capacity\":{\"storage\":\"1Gi\"},"
		    "\"accessModes\":[\"ReadWriteOnce\"],\"hostPath\":{\"path\":\"/tmp/pv1\"}}}");
	cenv_create(&e, kind_pv(), NULL,
		    "{\"metadata\":{\"name\":\"pv2\"},\"spec\":{\"capacity\":{\"storage\":\"1Gi\"},"
		    "\"accessModes\":[\"ReadWriteOnce\"],\"hostPath\":{\"path\":\"/tmp/pv2\"}}}");
	assert_string_equal(fins(&e, kind_pv(), NULL, "pv1", buf, sizeof(buf)),
			    "kubernetes.io/pv-protection");
	assert_int_equal(kc_patch(e.k.c, kind_pv(), NULL, "pv1", "status", KC_PATCH_MERGE, bound,
				  strlen(bound), NULL, NULL, &st),
			 0);
	del(&e, kind_pv(), NULL, "pv1");
	del(&e, kind_pv(), NULL, "pv2");
	assert_true(WAIT_UNTIL(gone(&e, kind_pv(), NULL, "pv2"), KC_WAIT_MS));
	/* a Bound volume stays until it is not */
	assert_false(gone(&e, kind_pv(), NULL, "pv1"));
	assert_int_equal(kc_patch(e.k.c, kind_pv(), NULL, "pv1", "status", KC_PATCH_MERGE, released,
				  strlen(released), NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(gone(&e, kind_pv(), NULL, "pv1"), KC_WAIT_MS));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_admission),
	    cmocka_unit_test(test_pvc),
	    cmocka_unit_test(test_pv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
