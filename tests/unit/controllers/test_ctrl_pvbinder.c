/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_pvbinder: the persistentvolume-binder controller as kube-controller-manager 1.32
 * has it (pkg/controller/volume/persistentvolume/pv_controller.go syncUnboundClaim, bind,
 * syncVolume, reclaimVolume; the match of index.go findByClaim / FindMatchingVolume): the
 * smallest Available volume that fits binds (both sides written with their annotations), a
 * class, access mode or selector that does not match binds nothing (FailedBinding), a volume
 * pre-bound to a claim wins, a released volume is kept (Retain), left to its provisioner or
 * failed (Delete); and the built-in rancher.io/local-path provisioner (localpath.c):
 * WaitForFirstConsumer until a node is selected, then a hostPath volume with node affinity,
 * removed through a helper pod when its claim goes.
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

/* A volume: size, access modes (JSON list), class ("" none), labels JSON (NULL none),
 * reclaim policy, extra spec fields (",..." or ""), extra metadata fields. */
static void pv(struct cenv *e, const char *name, const char *size, const char *modes,
	       const char *class, const char *labels, const char *policy, const char *spec_extra,
	       const char *md_extra)
{
	char json[1536];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"%s%s%s},\"spec\":{\"capacity\":{\"storage\":"
		 "\"%s\"},\"accessModes\":%s,\"storageClassName\":\"%s\","
		 "\"persistentVolumeReclaimPolicy\":\"%s\",\"hostPath\":{\"path\":\"/tmp/%s\"}%s}}",
		 name, labels ? ",\"labels\":" : "", labels ? labels : "", md_extra, size, modes,
		 class, policy, name, spec_extra);
	cenv_create(e, kind_pv(), NULL, json);
}

/* A claim: request, access modes, class (NULL: none named), extra spec fields. */
static void pvc(struct cenv *e, const char *name, const char *size, const char *modes,
		const char *class, const char *spec_extra)
{
	char json[1024], cls[128] = "";

	if (class)
		snprintf(cls, sizeof(cls), ",\"storageClassName\":\"%s\"", class);
	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"accessModes\":%s,\"resources\":{"
		 "\"requests\":{\"storage\":\"%s\"}}%s%s}}",
		 name, modes, size, cls, spec_extra);
	cenv_create(e, kind_pvc(), NS, json);
}

static const char *str(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
		       const char *path, char *buf, size_t size)
{
	return cw_str(e, k, ns, name, path, buf, size);
}

/* An annotation of ns/name ("" if absent). */
static const char *ann(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
		       const char *key, char *buf, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, k, ns, name);
	const struct jv *v = jv_get(jv_path(o, "metadata.annotations"), key);

	snprintf(buf, size, "%s", v && v->type == JV_STRING ? v->s : "");
	jv_doc_free(d);
	return buf;
}

static bool field_is(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
		     const char *path, const char *want)
{
	char buf[256];

	return strcmp(str(e, k, ns, name, path, buf, sizeof(buf)), want) == 0;
}

#define WAIT_FIELD(k, ns, name, path, want) \
	assert_true(WAIT_UNTIL(field_is(&e, k, ns, name, path, want), KC_WAIT_MS))
#define WAIT_EVENT(reason, obj, msg) \
	assert_true(WAIT_UNTIL(cw_event(&e, NS, reason, obj, msg) > 0, KC_WAIT_MS))

static const char RWO[] = "[\"ReadWriteOnce\"]";

/* The smallest volume that fits binds, and both sides say so. */
static void test_smallest(void **state)
{
	struct cenv e;
	char buf[256];

	(void)state;
	cenv_start(&e, "persistentvolume-binder", NULL, NULL);
	pv(&e, "pv-1g", "1Gi", RWO, "", NULL, "Retain", "", "");
	pv(&e, "pv-10g", "10Gi", RWO, "", NULL, "Retain", "", "");
	pv(&e, "pv-5g", "5Gi", RWO, "", NULL, "Retain", "", "");
	WAIT_FIELD(kind_pv(), NULL, "pv-5g", "status.phase", "Available");
	pvc(&e, "data", "3Gi", RWO, NULL, "");
	WAIT_FIELD(kind_pvc(), NS, "data", "status.phase", "Bound");
	WAIT_FIELD(kind_pv(), NULL, "pv-5g", "status.phase", "Bound");
	assert_string_equal(str(&e, kind_pvc(), NS, "data", "spec.volumeName", buf, sizeof(buf)),
			    "pv-5g");
	assert_string_equal(
	    str(&e, kind_pvc(), NS, "data", "status.capacity.storage", buf, sizeof(buf)), "5Gi");
	assert_string_equal(
	    str(&e, kind_pv(), NULL, "pv-5g", "spec.claimRef.name", buf, sizeof(buf)), "data");
	assert_string_equal(
	    ann(&e, kind_pvc(), NS, "data", "pv.kubernetes.io/bind-completed", buf, sizeof(buf)),
	    "yes");
	assert_string_equal(ann(&e, kind_pvc(), NS, "data", "pv.kubernetes.io/bound-by-controller",
				buf, sizeof(buf)),
			    "yes");
	assert_string_equal(ann(&e, kind_pv(), NULL, "pv-5g",
				"pv.kubernetes.io/bound-by-controller", buf, sizeof(buf)),
			    "yes");
	/* the others stay free */
	assert_true(field_is(&e, kind_pv(), NULL, "pv-1g", "status.phase", "Available"));
	assert_true(field_is(&e, kind_pv(), NULL, "pv-10g", "status.phase", "Available"));
	/* a second claim of 3Gi takes the next smallest */
	pvc(&e, "more", "3Gi", RWO, NULL, "");
	WAIT_FIELD(kind_pvc(), NS, "more", "spec.volumeName", "pv-10g");
	cenv_stop(&e);
}

/* A class, access mode, selector or volumeMode that does not match binds nothing; a volume
 * that matches, made later, binds. */
static void test_mismatch(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "persistentvolume-binder", NULL, NULL);
	pv(&e, "pv-fast", "5Gi", RWO, "fast", NULL, "Retain", "", "");
	pv(&e, "pv-rwo", "5Gi", RWO, "", "{\"app\":\"web\"}", "Retain", "", "");
	pv(&e, "pv-block", "5Gi", "[\"ReadWriteMany\"]", "", NULL, "Retain",
	   ",\"volumeMode\":\"Block\"", "");
	WAIT_FIELD(kind_pv(), NULL, "pv-block", "status.phase", "Available");
	/* no class named: pv-fast's class differs */
	pvc(&e, "noclass", "1Gi", "[\"ReadWriteOnce\"]", NULL,
	    ",\"selector\":{\"matchLabels\":{\"app\":\"db\"}}");
	/* ReadWriteMany: only pv-block has it, in Block mode */
	pvc(&e, "rwx", "1Gi", "[\"ReadWriteMany\"]", NULL, "");
	/* class slow: no volume has it (and no such StorageClass) */
	pvc(&e, "slow", "1Gi", RWO, "slow", "");
	WAIT_EVENT("FailedBinding", "noclass",
		   "no persistent volumes available for this claim and no storage class is set");
	WAIT_EVENT("FailedBinding", "rwx", NULL);
	assert_true(field_is(&e, kind_pvc(), NS, "noclass", "status.phase", "Pending"));
	assert_true(field_is(&e, kind_pvc(), NS, "noclass", "spec.volumeName", ""));
	WAIT_EVENT("ProvisioningFailed", "slow", "storageclass.storage.k8s.io \"slow\" not found");
	assert_true(field_is(&e, kind_pvc(), NS, "rwx", "spec.volumeName", ""));
	assert_true(field_is(&e, kind_pvc(), NS, "slow", "spec.volumeName", ""));
	assert_true(field_is(&e, kind_pv(), NULL, "pv-fast", "status.phase", "Available"));
	assert_true(field_is(&e, kind_pv(), NULL, "pv-rwo", "status.phase", "Available"));
	/* the selector's volume comes */
	pv(&e, "pv-db", "2Gi", RWO, "", "{\"app\":\"db\"}", "Retain", "", "");
	WAIT_FIELD(kind_pvc(), NS, "noclass", "spec.volumeName", "pv-db");
	pv(&e, "pv-rwx", "2Gi", "[\"ReadWriteMany\",\"ReadWriteOnce\"]", "", NULL, "Retain", "",
	   "");
	WAIT_FIELD(kind_pvc(), NS, "rwx", "spec.volumeName", "pv-rwx");
	cenv_stop(&e);
}

/* A volume pre-bound to a claim (claimRef) wins over a smaller free one; a claim naming a
 * volume (spec.volumeName) gets it. */
static void test_prebound(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "persistentvolume-binder", NULL, NULL);
	pv(&e, "pv-small", "1Gi", RWO, "", NULL, "Retain", "", "");
	pv(&e, "pv-mine", "8Gi", RWO, "", NULL, "Retain",
	   ",\"claimRef\":{\"namespace\":\"default\",\"name\":\"mine\"}", "");
	pv(&e, "pv-named", "8Gi", RWO, "", NULL, "Retain", "", "");
	WAIT_FIELD(kind_pv(), NULL, "pv-mine", "status.phase", "Available");
	pvc(&e, "mine", "1Gi", RWO, NULL, "");
	WAIT_FIELD(kind_pvc(), NS, "mine", "spec.volumeName", "pv-mine");
	WAIT_FIELD(kind_pvc(), NS, "mine", "status.phase", "Bound");
	WAIT_FIELD(kind_pv(), NULL, "pv-mine", "status.phase", "Bound");
	pvc(&e, "named", "1Gi", RWO, NULL, ",\"volumeName\":\"pv-named\"");
	WAIT_FIELD(kind_pvc(), NS, "named", "status.phase", "Bound");
	WAIT_FIELD(kind_pv(), NULL, "pv-named", "spec.claimRef.name", "named");
	/* a claim naming a volume too small for it */
	pv(&e, "pv-tiny", "1Gi", RWO, "", NULL, "Retain", "", "");
	pvc(&e, "big", "5Gi", RWO, NULL, ",\"volumeName\":\"pv-tiny\"");
	WAIT_EVENT("VolumeMismatch", "big",
		   "Cannot bind to requested volume \"pv-tiny\": requested PV is too small");
	assert_true(field_is(&e, kind_pvc(), NS, "big", "status.phase", "Pending"));
	assert_true(field_is(&e, kind_pv(), NULL, "pv-tiny", "spec.claimRef.name", ""));
	/* a claim naming a volume that comes later */
	pvc(&e, "early", "1Gi", RWO, NULL, ",\"volumeName\":\"pv-late\"");
	WAIT_FIELD(kind_pvc(), NS, "early", "status.phase", "Pending");
	pv(&e, "pv-late", "1Gi", RWO, "", NULL, "Retain", "", "");
	WAIT_FIELD(kind_pvc(), NS, "early", "status.phase", "Bound");
	WAIT_FIELD(kind_pv(), NULL, "pv-late", "spec.claimRef.name", "early");
	assert_true(field_is(&e, kind_pv(), NULL, "pv-small", "status.phase", "Available"));
	cenv_stop(&e);
}

static void del_claim(struct cenv *e, const char *name)
{
	struct kc_status st;

	if (kc_delete(e->k.c, kind_pvc(), NS, name, NULL, NULL, &st) != 0)
		fail_msg("delete %s: %s", name, st.message);
}

/* A claim deleted: its volume is Released; Retain keeps it, Delete of a provisioned volume
 * is left to its provisioner, Delete of another fails (no deleter plugin). */
static void test_reclaim(void **state)
{
	struct cenv e;

	(void)state;
	cenv_start(&e, "persistentvolume-binder", NULL, NULL);
	pv(&e, "pv-keep", "1Gi", RWO, "a", NULL, "Retain", "", "");
	pv(&e, "pv-prov", "1Gi", RWO, "b", NULL, "Delete", "",
	   ",\"annotations\":{\"pv.kubernetes.io/provisioned-by\":\"example.com/x\"}");
	pv(&e, "pv-del", "1Gi", RWO, "c", NULL, "Delete", "", "");
	WAIT_FIELD(kind_pv(), NULL, "pv-del", "status.phase", "Available");
	pvc(&e, "ca", "1Gi", RWO, "a", "");
	pvc(&e, "cb", "1Gi", RWO, "b", "");
	pvc(&e, "cc", "1Gi", RWO, "c", "");
	WAIT_FIELD(kind_pvc(), NS, "ca", "status.phase", "Bound");
	WAIT_FIELD(kind_pvc(), NS, "cb", "status.phase", "Bound");
	WAIT_FIELD(kind_pvc(), NS, "cc", "status.phase", "Bound");
	del_claim(&e, "ca");
	del_claim(&e, "cb");
	del_claim(&e, "cc");
	WAIT_FIELD(kind_pv(), NULL, "pv-keep", "status.phase", "Released");
	WAIT_FIELD(kind_pv(), NULL, "pv-prov", "status.phase", "Released");
	WAIT_FIELD(kind_pv(), NULL, "pv-del", "status.phase", "Failed");
	assert_true(WAIT_UNTIL(cw_event(&e, NULL, "VolumeFailedDelete", "pv-del",
					"no deletable volume plugin matched") > 0,
			       KC_WAIT_MS));
	/* Retain: the claimRef stays, the volume binds no new claim */
	assert_true(field_is(&e, kind_pv(), NULL, "pv-keep", "spec.claimRef.name", "ca"));
	pvc(&e, "ca2", "1Gi", RWO, "a", "");
	WAIT_EVENT("ProvisioningFailed", "ca2", "storageclass.storage.k8s.io \"a\" not found");
	assert_true(field_is(&e, kind_pvc(), NS, "ca2", "spec.volumeName", ""));
	assert_true(field_is(&e, kind_pv(), NULL, "pv-keep", "status.phase", "Released"));
	assert_true(field_is(&e, kind_pv(), NULL, "pv-prov", "status.phase", "Released"));
	cenv_stop(&e);
}

/* WaitForFirstConsumer over volumes made by hand (a kubernetes.io/no-provisioner class): no
 * binding until the node is chosen, then the volume whose node affinity admits that node. */
static void test_wffc_static(void **state)
{
	static const char aff[] =
	    ",\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{"
	    "\"key\":\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[\"%s\"]}]}]}}";
	char a1[256], a2[256];
	struct cenv e;

	(void)state;
	cenv_start(&e, "persistentvolume-binder", NULL, NULL);
	cenv_node(&e, "n1", 8, 110, "{\"kubernetes.io/hostname\":\"n1\"}");
	cenv_node(&e, "n2", 8, 110, "{\"kubernetes.io/hostname\":\"n2\"}");
	cenv_create(
	    &e, k8s_kind_find("storage.k8s.io/v1", "StorageClass"), NULL,
	    "{\"metadata\":{\"name\":\"local\"},\"provisioner\":"
	    "\"kubernetes.io/no-provisioner\",\"volumeBindingMode\":\"WaitForFirstConsumer\"}");
	snprintf(a1, sizeof(a1), aff, "n1");
	snprintf(a2, sizeof(a2), aff, "n2");
	/* the smaller one is on n1 */
	pv(&e, "local-n1", "1Gi", RWO, "local", NULL, "Retain", a1, "");
	pv(&e, "local-n2", "2Gi", RWO, "local", NULL, "Retain", a2, "");
	WAIT_FIELD(kind_pv(), NULL, "local-n2", "status.phase", "Available");
	pvc(&e, "wait", "1Gi", RWO, "local", "");
	WAIT_EVENT("WaitForFirstConsumer", "wait",
		   "waiting for first consumer to be created before binding");
	assert_true(field_is(&e, kind_pvc(), NS, "wait", "spec.volumeName", ""));
	cw_patch(
	    &e, kind_pvc(), NS, "wait",
	    "{\"metadata\":{\"annotations\":{\"volume.kubernetes.io/selected-node\":\"n2\"}}}");
	WAIT_FIELD(kind_pvc(), NS, "wait", "spec.volumeName", "local-n2");
	WAIT_FIELD(kind_pvc(), NS, "wait", "status.phase", "Bound");
	assert_true(field_is(&e, kind_pv(), NULL, "local-n1", "status.phase", "Available"));
	cenv_stop(&e);
}

static bool gone(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	bool g = cenv_get(e, d, k, ns, name) == NULL;

	jv_doc_free(d);
	return g;
}

/* rancher.io/local-path: WaitForFirstConsumer until a node is selected, then a hostPath
 * volume with node affinity, bound; the claim deleted, a helper pod removes the directory
 * and the volume goes. */
static void test_local_path(void **state)
{
	struct cenv e;
	struct ctrl_config cfg = {.local_path_dir = "/srv/storage"};
	char uid[128], pvname[160], path[512], buf[512];
	struct jv_doc *d;
	struct jv *o;

	(void)state;
	cenv_start(&e, "persistentvolume-binder,local-path-provisioner", NULL, &cfg);
	cenv_create(&e, k8s_kind_find("storage.k8s.io/v1", "StorageClass"), NULL,
		    "{\"metadata\":{\"name\":\"local-path\"},\"provisioner\":"
		    "\"rancher.io/local-path\",\"volumeBindingMode\":\"WaitForFirstConsumer\","
		    "\"reclaimPolicy\":\"Delete\"}");
	pvc(&e, "www", "1Gi", RWO, "local-path", "");
	WAIT_EVENT("WaitForFirstConsumer", "www",
		   "waiting for first consumer to be created before binding");
	assert_true(field_is(&e, kind_pvc(), NS, "www", "spec.volumeName", ""));
	/* the scheduler's part */
	cw_patch(
	    &e, kind_pvc(), NS, "www",
	    "{\"metadata\":{\"annotations\":{\"volume.kubernetes.io/selected-node\":\"n1\"}}}");
	WAIT_FIELD(kind_pvc(), NS, "www", "status.phase", "Bound");
	WAIT_EVENT("ExternalProvisioning", "www", "'rancher.io/local-path'");
	WAIT_EVENT("ProvisioningSucceeded", "www", "Successfully provisioned volume pvc-");
	str(&e, kind_pvc(), NS, "www", "metadata.uid", uid, sizeof(uid));
	snprintf(pvname, sizeof(pvname), "pvc-%s", uid);
	assert_true(field_is(&e, kind_pvc(), NS, "www", "spec.volumeName", pvname));
	snprintf(path, sizeof(path), "/srv/storage/%s_default_www", pvname);
	assert_true(field_is(&e, kind_pv(), NULL, pvname, "spec.hostPath.path", path));
	assert_true(
	    field_is(&e, kind_pv(), NULL, pvname, "spec.persistentVolumeReclaimPolicy", "Delete"));
	d = jv_doc_new();
	o = cenv_get(&e, d, kind_pv(), NULL, pvname);
	o = jv_path(o, "spec.nodeAffinity.required.nodeSelectorTerms");
	assert_non_null(o);
	assert_string_equal(jv_path_str(jv_first(jv_get(jv_first(o), "matchExpressions")), "key"),
			    "kubernetes.io/hostname");
	assert_true(jv_is_str(
	    jv_first(jv_get(jv_first(jv_get(jv_first(o), "matchExpressions")), "values")), "n1"));
	jv_doc_free(d);
	assert_string_equal(
	    ann(&e, kind_pv(), NULL, pvname, "pv.kubernetes.io/provisioned-by", buf, sizeof(buf)),
	    "rancher.io/local-path");
	/* the claim goes: a helper pod on n1 removes the directory, then the volume goes */
	del_claim(&e, "www");
	snprintf(buf, sizeof(buf), "helper-pod-delete-%s", pvname);
	assert_true(WAIT_UNTIL(!gone(&e, kind_pod(), "kube-system", buf), KC_WAIT_MS));
	assert_true(field_is(&e, kind_pod(), "kube-system", buf, "spec.nodeName", "n1"));
	assert_true(!gone(&e, kind_pv(), NULL, pvname));
	cenv_pod_finish(&e, "kube-system", buf, "Succeeded");
	assert_true(WAIT_UNTIL(gone(&e, kind_pv(), NULL, pvname), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(gone(&e, kind_pod(), "kube-system", buf), KC_WAIT_MS));
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smallest),	cmocka_unit_test(test_mismatch),
	    cmocka_unit_test(test_prebound),	cmocka_unit_test(test_reclaim),
	    cmocka_unit_test(test_wffc_static), cmocka_unit_test(test_local_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
