/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_volumebinding: the scheduler's part of persistent volumes (sched_volume.c, the
 * minimal case of kube-scheduler 1.32's VolumeBinding plugin), the scheduler running over an
 * in-process server: a pod whose claim is bound goes only to a node its volume's required node
 * affinity allows (FindPodVolumes' checkBoundClaims), and an unbound claim of a
 * WaitForFirstConsumer class blocks nothing and gets volume.kubernetes.io/selected-node = the
 * pod's node when the pod is bound (BindPodVolumes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_workload.h"
#include "sched_run.h"

#define NS "default"

static const char *node_of(struct cenv *e, const char *pod, char *buf, size_t size)
{
	return cw_str(e, kind_pod(), NS, pod, "spec.nodeName", buf, size);
}

static bool scheduled(struct cenv *e, const char *pod)
{
	char buf[64];

	return node_of(e, pod, buf, sizeof(buf))[0] != 0;
}

static void pod_with_claim(struct cenv *e, const char *name, const char *claim)
{
	char json[512];

	snprintf(
	    json, sizeof(json),
	    "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"volumes\":[{\"name\":\"v\","
	    "\"persistentVolumeClaim\":{\"claimName\":\"%s\"}}],\"containers\":[{"
	    "\"name\":\"c\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}}",
	    name, claim);
	cenv_create(e, kind_pod(), NS, json);
}

static void test_volume_binding(void **state)
{
	const struct k8s_kind *kpv = k8s_kind_find("v1", "PersistentVolume"),
			      *kpvc = k8s_kind_find("v1", "PersistentVolumeClaim");
	struct scheduler_config sc = {0};
	struct scheduler *sched = NULL;
	struct cenv e;
	char buf[128], name[32];

	(void)state;
	cenv_start(&e, "namespace", NULL, NULL);
	cenv_node(&e, "n1", 8, 110, "{\"kubernetes.io/hostname\":\"n1\"}");
	cenv_node(&e, "n2", 8, 110, "{\"kubernetes.io/hostname\":\"n2\"}");
	/* n2 busier, so that without the volume's affinity n1 would score higher */
	cenv_create(&e, kpv, NULL,
		    "{\"metadata\":{\"name\":\"pv-n2\"},\"spec\":{\"capacity\":{\"storage\":"
		    "\"1Gi\"},\"accessModes\":[\"ReadWriteOnce\"],\"hostPath\":{\"path\":\"/x\"},"
		    "\"claimRef\":{\"namespace\":\"default\",\"name\":\"bound\"},\"nodeAffinity\":{"
		    "\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
		    "\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[\"n2\"]}]}]}}}}");
	cenv_create(&e, kpvc, NS,
		    "{\"metadata\":{\"name\":\"bound\"},\"spec\":{\"accessModes\":["
		    "\"ReadWriteOnce\"],\"volumeName\":\"pv-n2\",\"storageClassName\":\"\","
		    "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}");
	cenv_create(&e, k8s_kind_find("storage.k8s.io/v1", "StorageClass"), NULL,
		    "{\"metadata\":{\"name\":\"wait\"},\"provisioner\":\"example.com/x\","
		    "\"volumeBindingMode\":\"WaitForFirstConsumer\"}");
	cenv_create(&e, kpvc, NS,
		    "{\"metadata\":{\"name\":\"later\"},\"spec\":{\"accessModes\":["
		    "\"ReadWriteOnce\"],\"storageClassName\":\"wait\",\"resources\":{\"requests\":"
		    "{\"storage\":\"1Gi\"}}}}");
	assert_int_equal(scheduler_start(e.ctrl_c, &sc, &sched), 0);

	/* every pod of the bound claim on n2, though least-allocated prefers n1 after the first */
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "user-%d", i);
		pod_with_claim(&e, name, "bound");
		assert_true(WAIT_UNTIL(scheduled(&e, name), KC_WAIT_MS));
		assert_string_equal(node_of(&e, name, buf, sizeof(buf)), "n2");
	}
	/* the unbound WaitForFirstConsumer claim: scheduled, and the claim names the node */
	pod_with_claim(&e, "first", "later");
	assert_true(WAIT_UNTIL(scheduled(&e, "first"), KC_WAIT_MS));
	node_of(&e, "first", name, sizeof(name));
	{
		struct jv_doc *d = jv_doc_new();
		struct jv *cl = cenv_get(&e, d, kpvc, NS, "later");

		assert_true(jv_is_str(jv_get(jv_path(cl, "metadata.annotations"),
					     "volume.kubernetes.io/selected-node"),
				      name));
		jv_doc_free(d);
	}
	scheduler_stop(sched);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_volume_binding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
