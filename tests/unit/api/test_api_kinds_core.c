/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_kinds_core: the kinds of issue 12's kinds-core part over HTTP, as kube-apiserver
 * 1.32 serves them: PersistentVolume, PodTemplate, ReplicationController, ComponentStatus,
 * StorageClass, CSIDriver, CSINode, CSIStorageCapacity, VolumeAttachment, IngressClass and
 * RuntimeClass. For each: create (a manifest in the Kubernetes documentation's style), get,
 * list, a merge patch, its Table as kubectl asks for it (the cells of
 * pkg/printers/internalversion/printers.go) and delete; discovery (short names and
 * categories of each storage.go, verbs); what a create resets and defaults; the fields that
 * never change, refused with the messages of pkg/apis/{core,storage,networking,node}/
 * validation; the scale subresource of a ReplicationController; ComponentStatus computed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define MERGE "application/merge-patch+json"
#define TABLE "application/json;as=Table;v=v1;g=meta.k8s.io"

struct kind_case {
	const char *coll; /* the collection's path */
	const char *name;
	const char *body;
	const char *patch;	 /* a merge patch */
	const char *patched;	 /* a path the patch set, and its value */
	const char *patched_val; /* (string) */
	/* the first row's cells up to the Age column, and those after it (NULL: none) */
	const char *cells, *cells_after_age;
};

static const struct kind_case cases[] = {
    {"/api/v1/persistentvolumes", "task-pv-volume",
     "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"task-pv-"
     "volume\",\"labels\":{\"type\":\"local\"}},\"spec\":{\"storageClassName\":\"manual\","
     "\"capacity\":{\"storage\":\"10Gi\"},\"accessModes\":[\"ReadWriteOnce\"],\"hostPath\":{"
     "\"path\":\"/mnt/data\"}}}",
     "{\"spec\":{\"persistentVolumeReclaimPolicy\":\"Delete\"}}",
     "spec.persistentVolumeReclaimPolicy", "Delete",
     "[\"task-pv-volume\",\"10Gi\",\"RWO\",\"Delete\",\"Pending\",\"\",\"manual\","
     "\"\\u003cunset\\u003e\","
     "\"\",",
     ",\"Filesystem\"]"},
    {"/api/v1/namespaces/default/podtemplates", "web-template",
     "{\"apiVersion\":\"v1\",\"kind\":\"PodTemplate\",\"metadata\":{\"name\":\"web-template\"},"
     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"
     "\"name\":\"nginx\",\"image\":\"nginx:1.25\"}]}}}",
     "{\"template\":{\"metadata\":{\"labels\":{\"tier\":\"front\"}}}}",
     "template.metadata.labels.tier", "front",
     "[\"web-template\",\"nginx\",\"nginx:1.25\",\"app=web,tier=front\"]", NULL},
    {"/api/v1/namespaces/default/replicationcontrollers", "nginx",
     "{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{\"name\":"
     "\"nginx\"},\"spec\":{\"replicas\":3,\"selector\":{\"app\":\"nginx\"},\"template\":{"
     "\"metadata\":{\"name\":\"nginx\",\"labels\":{\"app\":\"nginx\"}},\"spec\":{"
     "\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":"
     "80}]}]}}}}",
     "{\"spec\":{\"minReadySeconds\":5}}", NULL, NULL, "[\"nginx\",3,0,0,",
     ",\"nginx\",\"nginx\",\"app=nginx\"]"},
    {"/apis/storage.k8s.io/v1/storageclasses", "local-storage",
     "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":"
     "\"local-storage\",\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":"
     "\"true\"}},\"provisioner\":\"kubernetes.io/no-provisioner\",\"volumeBindingMode\":"
     "\"WaitForFirstConsumer\"}",
     "{\"allowVolumeExpansion\":true}", NULL, NULL,
     "[\"local-storage (default)\",\"kubernetes.io/no-provisioner\",\"Delete\","
     "\"WaitForFirstConsumer\",true,",
     NULL},
    {"/apis/storage.k8s.io/v1/csidrivers", "hostpath.csi.k8s.io",
     "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIDriver\",\"metadata\":{\"name\":"
     "\"hostpath.csi.k8s.io\"},\"spec\":{\"attachRequired\":false,\"podInfoOnMount\":true,"
     "\"volumeLifecycleModes\":[\"Persistent\",\"Ephemeral\"]}}",
     "{\"spec\":{\"podInfoOnMount\":false,\"tokenRequests\":[{\"audience\":\"vault\"}]}}", NULL,
     NULL, "[\"hostpath.csi.k8s.io\",false,false,false,\"vault\",false,\"Persistent,Ephemeral\",",
     NULL},
    {"/apis/storage.k8s.io/v1/csinodes", "node-1",
     "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSINode\",\"metadata\":{\"name\":"
     "\"node-1\"},\"spec\":{\"drivers\":[{\"name\":\"hostpath.csi.k8s.io\",\"nodeID\":"
     "\"node-1\",\"topologyKeys\":[\"topology.hostpath.csi/node\"]}]}}",
     "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", "metadata.labels.a", "b", "[\"node-1\",1,", NULL},
    {"/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities", "capacity-1",
     "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIStorageCapacity\",\"metadata\":{"
     "\"name\":\"capacity-1\"},\"storageClassName\":\"local-storage\",\"capacity\":\"100Gi\"}",
     "{\"capacity\":\"50Gi\"}", "capacity", "50Gi", "[\"capacity-1\",\"local-storage\",\"50Gi\"]",
     NULL},
    {"/apis/storage.k8s.io/v1/volumeattachments", "va-1",
     "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"VolumeAttachment\",\"metadata\":{"
     "\"name\":\"va-1\"},\"spec\":{\"attacher\":\"hostpath.csi.k8s.io\",\"nodeName\":\"node-1\","
     "\"source\":{\"persistentVolumeName\":\"task-pv-volume\"}}}",
     "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", "metadata.labels.a", "b",
     "[\"va-1\",\"hostpath.csi.k8s.io\",\"task-pv-volume\",\"node-1\",false,", NULL},
    {"/apis/networking.k8s.io/v1/ingressclasses", "external-lb",
     "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":{\"name\":"
     "\"external-lb\"},\"spec\":{\"controller\":\"example.com/ingress-controller\","
     "\"parameters\":{\"apiGroup\":\"k8s.example.com\",\"kind\":\"IngressParameters\",\"name\":"
     "\"external-lb\"}}}",
     "{\"spec\":{\"parameters\":{\"apiGroup\":null}}}", NULL, NULL,
     "[\"external-lb\",\"example.com/ingress-controller\",\"IngressParameters/external-lb\",",
     NULL},
    {"/apis/node.k8s.io/v1/runtimeclasses", "myclass",
     "{\"apiVersion\":\"node.k8s.io/v1\",\"kind\":\"RuntimeClass\",\"metadata\":{\"name\":"
     "\"myclass\"},\"handler\":\"myconfiguration\"}",
     "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", "metadata.labels.a", "b",
     "[\"myclass\",\"myconfiguration\",", NULL},
};

static void path_of(char *buf, size_t size, const struct kind_case *k, const char *sub)
{
	snprintf(buf, size, "%s/%s%s%s", k->coll, k->name, sub ? "/" : "", sub ? sub : "");
}

/* create, get, list, patch, Table, delete: each kind */
static void test_kinds_crud(void **state)
{
	struct tsrv *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct kind_case *k = &cases[i];
		struct tresp r;
		struct jv *j;
		char path[512];
		const char *cells;

		print_message("kind %s\n", k->coll);
		path_of(path, sizeof(path), k, NULL);
		j = tpost(t, k->coll, k->body, 201, &r);
		assert_string_equal(tstr(j, "metadata.name"), k->name);
		tresp_free(&r);
		j = tget(t, path, 200, &r);
		assert_string_equal(tstr(j, "metadata.name"), k->name);
		tresp_free(&r);
		j = tget(t, k->coll, 200, &r);
		assert_non_null(strstr(tstr(j, "kind"), "List"));
		assert_non_null(strstr(r.body, k->name));
		tresp_free(&r);
		treq(t, "PATCH", path, MERGE, k->patch, NULL, &r);
		if (r.code != 200)
			print_error("%s\n", r.body);
		assert_int_equal(r.code, 200);
		if (k->patched)
			assert_string_equal(tstr(r.json, k->patched), k->patched_val);
		tresp_free(&r);
		treq(t, "GET", k->coll, NULL, NULL, TABLE, &r);
		assert_int_equal(r.code, 200);
		cells = strstr(r.body, "\"cells\":");
		assert_non_null(cells);
		if (strncmp(cells + 8, k->cells, strlen(k->cells)) != 0)
			print_error("cells: %.300s\n want: %s\n", cells, k->cells);
		assert_int_equal(strncmp(cells + 8, k->cells, strlen(k->cells)), 0);
		if (k->cells_after_age)
			assert_non_null(strstr(cells, k->cells_after_age));
		tresp_free(&r);
		treq(t, "DELETE", path, NULL, NULL, NULL, &r);
		assert_int_equal(r.code, 200);
		tresp_free(&r);
		tget(t, path, 404, &r);
		tresp_free(&r);
	}
}

/* Discovery: short names and categories (storage.go), verbs, subresources, scope. */
static void test_discovery(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	tget(t, "/api/v1", 200, &r);
	assert_non_null(strstr(r.body, "{\"name\":\"persistentvolumes\",\"singularName\":"
				       "\"persistentvolume\",\"namespaced\":false,\"kind\":"
				       "\"PersistentVolume\",\"verbs\":[\"create\",\"delete\","
				       "\"deletecollection\",\"get\",\"list\",\"patch\",\"update\","
				       "\"watch\"],\"shortNames\":[\"pv\"]"));
	assert_non_null(strstr(r.body, "\"name\":\"persistentvolumes/status\""));
	assert_non_null(strstr(r.body, "\"kind\":\"ReplicationController\",\"verbs\":[\"create\","
				       "\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\","
				       "\"update\",\"watch\"],\"shortNames\":[\"rc\"],"
				       "\"categories\":[\"all\"]"));
	assert_non_null(strstr(r.body,
			       "{\"name\":\"replicationcontrollers/scale\",\"singularName\":"
			       "\"\",\"namespaced\":true,\"group\":\"autoscaling\","
			       "\"version\":\"v1\",\"kind\":\"Scale\""));
	assert_non_null(strstr(r.body, "\"kind\":\"ComponentStatus\",\"verbs\":[\"get\",\"list\"],"
				       "\"shortNames\":[\"cs\"]"));
	assert_non_null(strstr(r.body, "\"name\":\"podtemplates\",\"singularName\":\"podtemplate\","
				       "\"namespaced\":true"));
	tresp_free(&r);
	tget(t, "/apis/storage.k8s.io/v1", 200, &r);
	assert_non_null(strstr(r.body, "\"kind\":\"StorageClass\",\"verbs\":[\"create\","
				       "\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\","
				       "\"update\",\"watch\"],\"shortNames\":[\"sc\"]"));
	assert_non_null(strstr(r.body, "\"name\":\"csistoragecapacities\",\"singularName\":"
				       "\"csistoragecapacity\",\"namespaced\":true"));
	assert_non_null(strstr(r.body, "\"name\":\"volumeattachments/status\""));
	assert_non_null(strstr(r.body, "\"kind\":\"CSIDriver\""));
	assert_non_null(strstr(r.body, "\"kind\":\"CSINode\""));
	tresp_free(&r);
	tget(t, "/apis/networking.k8s.io/v1", 200, &r);
	assert_non_null(strstr(r.body, "\"name\":\"ingressclasses\",\"singularName\":"
				       "\"ingressclass\",\"namespaced\":false"));
	tresp_free(&r);
	tget(t, "/apis/node.k8s.io/v1", 200, &r);
	assert_non_null(strstr(r.body, "\"name\":\"runtimeclasses\",\"singularName\":"
				       "\"runtimeclass\",\"namespaced\":false"));
	tresp_free(&r);
	tget(t, "/apis", 200, &r);
	assert_non_null(strstr(r.body, "\"groupVersion\":\"storage.k8s.io/v1\""));
	assert_non_null(strstr(r.body, "\"groupVersion\":\"node.k8s.io/v1\""));
	tresp_free(&r);
}

/* persistentvolumeStrategy.PrepareForCreate: status {phase: Pending,
 * lastPhaseTransitionTime}, whatever the client sent; SetDefaults_PersistentVolume;
 * SetDefaults_StorageClass; SetDefaults_CSIDriver; SetDefaults_ReplicationController. */
static void test_create_resets_and_defaults(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tpost(t, "/api/v1/persistentvolumes",
		  "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":"
		  "\"pv-d\"},\"spec\":{\"capacity\":{\"storage\":\"1Gi\"},\"accessModes\":["
		  "\"ReadWriteOnce\"],\"nfs\":{\"server\":\"nfs.example.com\",\"path\":\"/x\"}},"
		  "\"status\":{\"phase\":\"Bound\",\"reason\":\"X\"}}",
		  201, &r);
	assert_string_equal(tstr(j, "status.phase"), "Pending");
	assert_string_equal(tstr(j, "status.reason"), "(null)");
	assert_string_not_equal(tstr(j, "status.lastPhaseTransitionTime"), "(null)");
	assert_string_equal(tstr(j, "spec.persistentVolumeReclaimPolicy"), "Retain");
	assert_string_equal(tstr(j, "spec.volumeMode"), "Filesystem");
	tresp_free(&r);
	/* a status write that changes the phase moves the transition time */
	treq(t, "PATCH", "/api/v1/persistentvolumes/pv-d/status", MERGE,
	     "{\"status\":{\"phase\":\"Available\",\"lastPhaseTransitionTime\":null}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "status.phase"), "Available");
	assert_string_not_equal(tstr(r.json, "status.lastPhaseTransitionTime"), "(null)");
	tresp_free(&r);
	j = tpost(t, "/apis/storage.k8s.io/v1/storageclasses",
		  "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{"
		  "\"name\":\"sc-d\"},\"provisioner\":\"example.com/p\"}",
		  201, &r);
	assert_string_equal(tstr(j, "reclaimPolicy"), "Delete");
	assert_string_equal(tstr(j, "volumeBindingMode"), "Immediate");
	tresp_free(&r);
	j = tpost(t, "/apis/storage.k8s.io/v1/csidrivers",
		  "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIDriver\",\"metadata\":{"
		  "\"name\":\"d.example.com\"},\"spec\":{}}",
		  201, &r);
	assert_non_null(strstr(r.body, "\"attachRequired\":true"));
	assert_non_null(strstr(r.body, "\"podInfoOnMount\":false"));
	assert_non_null(strstr(r.body, "\"fsGroupPolicy\":\"ReadWriteOnceWithFSType\""));
	assert_non_null(strstr(r.body, "\"volumeLifecycleModes\":[\"Persistent\"]"));
	(void)j;
	tresp_free(&r);
	j = tpost(t, "/api/v1/namespaces/default/replicationcontrollers",
		  "{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{"
		  "\"name\":\"rc-d\"},\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":"
		  "\"d\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}},"
		  "\"status\":{\"replicas\":7}}",
		  201, &r);
	assert_string_equal(tstr(j, "spec.selector.app"), "d");
	assert_string_equal(tstr(j, "metadata.labels.app"), "d");
	assert_non_null(strstr(r.body, "\"replicas\":1"));
	assert_non_null(strstr(r.body, "\"status\":{\"replicas\":0}"));
	assert_non_null(strstr(r.body, "\"generation\":1"));
	tresp_free(&r);
}

/* A write refused with 422 and exactly this Status message. */
static void refused(struct tsrv *t, const char *path, const char *patch, const char *msg)
{
	struct tresp r;

	treq(t, "PATCH", path, MERGE, patch, NULL, &r);
	if (r.code != 422 || strcmp(tstr(r.json, "message"), msg) != 0)
		print_error("%s: %ld %s\n want: %s\n", path, r.code, tstr(r.json, "message"), msg);
	assert_int_equal(r.code, 422);
	assert_string_equal(tstr(r.json, "message"), msg);
	tresp_free(&r);
}

static void create(struct tsrv *t, const char *coll, const char *body)
{
	struct tresp r;

	tpost(t, coll, body, 201, &r);
	tresp_free(&r);
}

/* The fields that never change, each refused as Kubernetes' validation refuses it. */
static void test_immutable(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	/* ValidateStorageClassUpdate */
	create(t, "/apis/storage.k8s.io/v1/storageclasses",
	       "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{"
	       "\"name\":\"fast\"},\"provisioner\":\"example.com/p\",\"parameters\":{\"type\":"
	       "\"ssd\"}}");
	refused(
	    t, "/apis/storage.k8s.io/v1/storageclasses/fast",
	    "{\"parameters\":{\"type\":\"hdd\"},\"provisioner\":\"example.com/q\","
	    "\"reclaimPolicy\":\"Retain\",\"volumeBindingMode\":\"WaitForFirstConsumer\"}",
	    "StorageClass.storage.k8s.io \"fast\" is invalid: [parameters: Forbidden: updates to "
	    "parameters are forbidden., provisioner: Forbidden: updates to provisioner are "
	    "forbidden., reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden., "
	    "volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable]");
	/* allowVolumeExpansion may change */
	treq(t, "PATCH", "/apis/storage.k8s.io/v1/storageclasses/fast", MERGE,
	     "{\"allowVolumeExpansion\":true}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	/* validateReclaimPolicy: a StorageClass may not Recycle */
	tpost(t, "/apis/storage.k8s.io/v1/storageclasses",
	      "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{"
	      "\"name\":\"rec\"},\"provisioner\":\"example.com/p\",\"reclaimPolicy\":\"Recycle\"}",
	      422, &r);
	assert_string_equal(
	    tstr(r.json, "message"),
	    "StorageClass.storage.k8s.io \"rec\" is invalid: reclaimPolicy: "
	    "Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"");
	tresp_free(&r);

	/* ValidateCSIDriverUpdate: attachRequired and volumeLifecycleModes; podInfoOnMount has
	 * been mutable since 1.29 */
	create(t, "/apis/storage.k8s.io/v1/csidrivers",
	       "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIDriver\",\"metadata\":{"
	       "\"name\":\"im.example.com\"},\"spec\":{\"attachRequired\":false}}");
	refused(t, "/apis/storage.k8s.io/v1/csidrivers/im.example.com",
		"{\"spec\":{\"attachRequired\":true}}",
		"CSIDriver.storage.k8s.io \"im.example.com\" is invalid: spec.attachedRequired: "
		"Invalid value: true: field is immutable");
	refused(
	    t, "/apis/storage.k8s.io/v1/csidrivers/im.example.com",
	    "{\"spec\":{\"volumeLifecycleModes\":[\"Ephemeral\"]}}",
	    "CSIDriver.storage.k8s.io \"im.example.com\" is invalid: spec.volumeLifecycleModes: "
	    "Invalid value: []storage.VolumeLifecycleMode{\"Ephemeral\"}: field is immutable");
	treq(t, "PATCH", "/apis/storage.k8s.io/v1/csidrivers/im.example.com", MERGE,
	     "{\"spec\":{\"podInfoOnMount\":true}}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);

	/* ValidateVolumeAttachmentUpdate: the spec (Kubernetes prints it with %#v) */
	create(t, "/apis/storage.k8s.io/v1/volumeattachments",
	       "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"VolumeAttachment\",\"metadata\":{"
	       "\"name\":\"va-im\"},\"spec\":{\"attacher\":\"a.example.com\",\"nodeName\":\"n1\","
	       "\"source\":{\"persistentVolumeName\":\"pv1\"}}}");
	treq(t, "PATCH", "/apis/storage.k8s.io/v1/volumeattachments/va-im", MERGE,
	     "{\"spec\":{\"nodeName\":\"n2\"}}", NULL, &r);
	assert_int_equal(r.code, 422);
	assert_non_null(
	    strstr(tstr(r.json, "message"),
		   "VolumeAttachment.storage.k8s.io \"va-im\" is invalid: spec: Invalid "
		   "value: storage.VolumeAttachmentSpec{Attacher:\"a.example.com\""));
	assert_non_null(strstr(tstr(r.json, "message"), "NodeName:\"n2\"}: field is immutable"));
	tresp_free(&r);
	/* its status is written through the subresource, and only there */
	treq(t, "PATCH", "/apis/storage.k8s.io/v1/volumeattachments/va-im/status", MERGE,
	     "{\"status\":{\"attached\":true}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.body, "\"attached\":true"));
	tresp_free(&r);

	/* ValidateIngressClassUpdate; ValidateRuntimeClassUpdate */
	create(t, "/apis/networking.k8s.io/v1/ingressclasses",
	       "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":{"
	       "\"name\":\"nginx\"},\"spec\":{\"controller\":\"k8s.io/ingress-nginx\"}}");
	refused(
	    t, "/apis/networking.k8s.io/v1/ingressclasses/nginx",
	    "{\"spec\":{\"controller\":\"example.com/other\"}}",
	    "IngressClass.networking.k8s.io \"nginx\" is invalid: spec.controller: Invalid value: "
	    "\"example.com/other\": field is immutable");
	create(t, "/apis/node.k8s.io/v1/runtimeclasses",
	       "{\"apiVersion\":\"node.k8s.io/v1\",\"kind\":\"RuntimeClass\",\"metadata\":{"
	       "\"name\":\"gvisor\"},\"handler\":\"runsc\"}");
	refused(t, "/apis/node.k8s.io/v1/runtimeclasses/gvisor", "{\"handler\":\"kata\"}",
		"RuntimeClass.node.k8s.io \"gvisor\" is invalid: handler: Invalid value: \"kata\": "
		"field is immutable");

	/* ValidatePersistentVolumeUpdate: the volume source (Kubernetes appends a diff) */
	create(t, "/api/v1/persistentvolumes",
	       "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":"
	       "\"pv-im\"},\"spec\":{\"capacity\":{\"storage\":\"1Gi\"},\"accessModes\":["
	       "\"ReadWriteOnce\"],\"hostPath\":{\"path\":\"/a\"}}}");
	treq(t, "PATCH", "/api/v1/persistentvolumes/pv-im", MERGE,
	     "{\"spec\":{\"hostPath\":{\"path\":\"/b\"}}}", NULL, &r);
	assert_int_equal(r.code, 422);
	assert_non_null(
	    strstr(tstr(r.json, "message"),
		   "PersistentVolume \"pv-im\" is invalid: spec.persistentvolumesource: "
		   "Forbidden: spec.persistentvolumesource is immutable after creation"));
	tresp_free(&r);
	refused(
	    t, "/api/v1/persistentvolumes/pv-im", "{\"spec\":{\"volumeMode\":\"Block\"}}",
	    "PersistentVolume \"pv-im\" is invalid: volumeMode: Invalid value: \"Block\": field "
	    "is immutable");

	/* ValidateCSINodeUpdate; ValidateCSIStorageCapacityUpdate */
	create(t, "/apis/storage.k8s.io/v1/csinodes",
	       "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSINode\",\"metadata\":{\"name\":"
	       "\"n-im\"},\"spec\":{\"drivers\":[{\"name\":\"d.example.com\",\"nodeID\":\"a\"}]}}");
	refused(
	    t, "/apis/storage.k8s.io/v1/csinodes/n-im",
	    "{\"spec\":{\"drivers\":[{\"name\":\"d.example.com\",\"nodeID\":\"b\"}]}}",
	    "CSINode.storage.k8s.io \"n-im\" is invalid: spec.drivers[0].nodeID: Invalid value: "
	    "\"b\": field is immutable");
	create(
	    t, "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
	    "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIStorageCapacity\",\"metadata\":{"
	    "\"name\":\"c-im\"},\"storageClassName\":\"fast\"}");
	refused(t, "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities/c-im",
		"{\"storageClassName\":\"slow\"}",
		"CSIStorageCapacity.storage.k8s.io \"c-im\" is invalid: storageClassName: Invalid "
		"value: \"slow\": field is immutable");
}

/* ValidateReplicationControllerSpec, ValidatePodTemplateSpecForRC */
static void test_rc_validation(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	tpost(t, "/api/v1/namespaces/default/replicationcontrollers",
	      "{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{\"name\":"
	      "\"bad\"},\"spec\":{\"selector\":{\"app\":\"x\"},\"template\":{\"metadata\":{"
	      "\"labels\":{\"app\":\"y\"}},\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{"
	      "\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
	      422, &r);
	assert_string_equal(
	    tstr(r.json, "message"),
	    "ReplicationController \"bad\" is invalid: [spec.template.metadata.labels: "
	    "Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match "
	    "template `labels`, spec.template.spec.restartPolicy: Unsupported value: "
	    "\"Never\": supported values: \"Always\"]");
	tresp_free(&r);
}

/* kubectl scale rc: the scale subresource over the rc's map selector */
static void test_rc_scale(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	const char *rc = "/api/v1/namespaces/default/replicationcontrollers/sc-rc";

	create(t, "/api/v1/namespaces/default/replicationcontrollers",
	       "{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{\"name\":"
	       "\"sc-rc\"},\"spec\":{\"replicas\":2,\"selector\":{\"app\":\"s\",\"tier\":\"a\"},"
	       "\"template\":{\"metadata\":{\"labels\":{\"app\":\"s\",\"tier\":\"a\"}},\"spec\":{"
	       "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}");
	j = tget(t, "/api/v1/namespaces/default/replicationcontrollers/sc-rc/scale", 200, &r);
	assert_string_equal(tstr(j, "kind"), "Scale");
	assert_string_equal(tstr(j, "apiVersion"), "autoscaling/v1");
	assert_string_equal(tstr(j, "status.selector"), "app=s,tier=a");
	assert_non_null(strstr(r.body, "\"spec\":{\"replicas\":2}"));
	tresp_free(&r);
	/* kubectl scale sends a merge patch of the scale subresource */
	treq(t, "PATCH", "/api/v1/namespaces/default/replicationcontrollers/sc-rc/scale", MERGE,
	     "{\"spec\":{\"replicas\":5}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.body, "\"spec\":{\"replicas\":5}"));
	tresp_free(&r);
	j = tget(t, rc, 200, &r);
	assert_non_null(strstr(r.body, "\"replicas\":5"));
	assert_non_null(strstr(r.body, "\"generation\":2"));
	(void)j;
	tresp_free(&r);
	treq(t, "PUT", "/api/v1/namespaces/default/replicationcontrollers/sc-rc/scale", NULL,
	     "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"Scale\",\"metadata\":{\"name\":"
	     "\"sc-rc\",\"namespace\":\"default\"},\"spec\":{\"replicas\":0}}",
	     NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	j = tget(t, rc, 200, &r);
	assert_non_null(strstr(r.body, "\"spec\":{\"replicas\":0"));
	(void)j;
	tresp_free(&r);
	/* field selector status.replicas (the rc registry's selectable fields) */
	tget(t,
	     "/api/v1/namespaces/default/replicationcontrollers?fieldSelector=status.replicas%3D0",
	     200, &r);
	assert_non_null(strstr(r.body, "\"sc-rc\""));
	tresp_free(&r);
}

/* ComponentStatus: computed on each read (get and list only), one Healthy condition per
 * server: etcd-0 (the store), scheduler and controller-manager as the process reports them. */
static void test_componentstatus(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tget(t, "/api/v1/componentstatuses", 200, &r);
	assert_string_equal(tstr(j, "kind"), "ComponentStatusList");
	/* ComponentStatus is +k8s:prerelease-lifecycle-gen:deprecated=1.19 */
	assert_non_null(
	    strstr(r.headers, "Warning: 299 - \"v1 ComponentStatus is deprecated in v1.19+\""));
	assert_non_null(strstr(r.body, "\"name\":\"etcd-0\""));
	tresp_free(&r);
	j = tget(t, "/api/v1/componentstatuses/etcd-0", 200, &r);
	assert_non_null(strstr(r.body, "\"conditions\":[{\"type\":\"Healthy\",\"status\":\"True\","
				       "\"message\":\"ok\"}]"));
	(void)j;
	tresp_free(&r);
	/* this test server runs no scheduler */
	tget(t, "/api/v1/componentstatuses/scheduler", 200, &r);
	assert_non_null(strstr(r.headers, "v1 ComponentStatus is deprecated in v1.19+"));
	assert_non_null(strstr(r.body, "\"status\":\"False\",\"error\":\"scheduler is not run by "
				       "this server\""));
	tresp_free(&r);
	api_server_set_component(t->s, "scheduler", true, NULL);
	treq(t, "GET", "/api/v1/componentstatuses", NULL, NULL, TABLE, &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.body, "\"cells\":[\"scheduler\",\"Healthy\",\"ok\",\"\"]"));
	assert_non_null(strstr(r.body, "\"cells\":[\"etcd-0\",\"Healthy\",\"ok\",\"\"]"));
	assert_non_null(strstr(r.body, "\"cells\":[\"controller-manager\",\"Unhealthy\",\"\","
				       "\"controller-manager is not run by this server\"]"));
	tresp_free(&r);
	api_server_set_component(t->s, "scheduler", false, NULL);
	/* get and list only */
	treq(t, "POST", "/api/v1/componentstatuses", NULL,
	     "{\"apiVersion\":\"v1\",\"kind\":\"ComponentStatus\",\"metadata\":{\"name\":\"x\"}}",
	     NULL, &r);
	assert_int_equal(r.code, 405);
	tresp_free(&r);
	treq(t, "DELETE", "/api/v1/componentstatuses/etcd-0", NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 405);
	tresp_free(&r);
	treq(t, "PATCH", "/api/v1/componentstatuses/etcd-0", MERGE, "{}", NULL, &r);
	assert_int_equal(r.code, 405);
	tresp_free(&r);
}

/* The DefaultStorageClass admission plugin: a new claim that names no class gets the default
 * StorageClass (storageclass.kubernetes.io/is-default-class); one that names a class, even
 * "", keeps it. */
static void test_default_storage_class(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	const char *pvcs = "/api/v1/namespaces/default/persistentvolumeclaims";

	j = tpost(
	    t, pvcs,
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
	    "\"before\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
	    "\"requests\":{\"storage\":\"1Gi\"}}}}",
	    201, &r);
	assert_string_equal(tstr(j, "spec.storageClassName"), "(null)");
	tresp_free(&r);
	create(t, "/apis/storage.k8s.io/v1/storageclasses",
	       "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{"
	       "\"name\":\"standard\",\"annotations\":{\"storageclass.kubernetes.io/"
	       "is-default-class\":\"true\"}},\"provisioner\":\"rancher.io/local-path\"}");
	j = tpost(
	    t, pvcs,
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
	    "\"after\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
	    "\"requests\":{\"storage\":\"1Gi\"}}}}",
	    201, &r);
	assert_string_equal(tstr(j, "spec.storageClassName"), "standard");
	tresp_free(&r);
	j = tpost(
	    t, pvcs,
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
	    "\"none\"},\"spec\":{\"storageClassName\":\"\",\"accessModes\":[\"ReadWriteOnce\"],"
	    "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}",
	    201, &r);
	assert_string_equal(tstr(j, "spec.storageClassName"), "");
	tresp_free(&r);
	treq(t, "DELETE", "/apis/storage.k8s.io/v1/storageclasses/standard", NULL, NULL, NULL, &r);
	tresp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discovery),
	    cmocka_unit_test(test_kinds_crud),
	    cmocka_unit_test(test_create_resets_and_defaults),
	    cmocka_unit_test(test_immutable),
	    cmocka_unit_test(test_rc_validation),
	    cmocka_unit_test(test_rc_scale),
	    cmocka_unit_test(test_componentstatus),
	    cmocka_unit_test(test_default_storage_class),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
