/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sim_objects: the documents `drover sim` writes, field by field as the kubelet writes
 * them: the Node (labels, podCIDR(s), taints, capacity and allocatable, the four conditions
 * with the kubelet's reasons and messages in its order, addresses, nodeInfo, the kubelet
 * port), the status patch (a condition keeps its lastTransitionTime while its status holds,
 * gets now when it changes), the Lease (holder, duration, MicroTime renewTime, the owner
 * reference to the Node), and the pod status patches: Running (conditions in
 * generateAPIPodStatus's order, PodScheduled's time kept, readiness gates, IPs, init
 * containers Completed, sidecars running, containers running/ready/started with IDs) and
 * Succeeded (terminated Completed, Ready False PodCompleted). Also image normalisation as
 * containerd reports it and the time formats.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "kubelet_objects.h"

#define NOW   "2026-01-02T03:04:05Z"
#define LATER "2026-01-02T03:09:00Z"

/* the shared documents' view of a sim config (static: pointers stay valid in a test) */
static const struct kubelet_node_config *kcfg(const struct sim_config *c)
{
	static struct kubelet_node_config k;

	sim_kubelet_config(c, &k);
	return &k;
}

static struct sim_config cfg(void)
{
	static struct kubelet_kv labels[] = {{"tier", "edge"}, {"kubernetes.io/os", "linux"}};
	static struct kubelet_taint taints[] = {{"dedicated", "gpu", "NoSchedule"},
						{"spot", "", "PreferNoSchedule"}};

	return (struct sim_config){
	    .nodes = 1,
	    .cpu = "8",
	    .memory = "32Gi",
	    .pods = "110",
	    .ephemeral_storage = "100Gi",
	    .zones = 3,
	    .labels = labels,
	    .nlabels = 2,
	    .taints = taints,
	    .ntaints = 2,
	    .kernel_version = "6.1.0-test",
	    .os_image = "Test OS",
	    .architecture = "amd64",
	    .runtime_version = "drover-sim://9.9.9",
	};
}

static const struct kubelet_node_info info = {
    .name = "sim-7",
    .pod_cidr = "10.244.7.0/24",
    .internal_ip = "172.16.0.8",
    .zone = "zone-1",
    .region = "region",
};

static struct jv *parse(struct jv_doc *d, const char *json)
{
	struct jv *v;

	assert_non_null(json);
	v = jv_parse(d, json, strlen(json), NULL);
	assert_non_null(v);
	return v;
}

static void assert_path(const struct jv *v, const char *path, const char *want)
{
	const char *got = jv_path_str(v, path);

	if (!got || strcmp(got, want))
		fail_msg("%s: \"%s\", expected \"%s\"", path, got ? got : "(absent)", want);
}

static int64_t int_at(const struct jv *v, const char *path)
{
	int64_t i = -12345;

	if (jv_path_int(v, path, &i) != 0)
		fail_msg("%s: not an integer", path);
	return i;
}

static void test_node(void **state)
{
	struct sim_config c = cfg();
	struct jv_doc *d = jv_doc_new();
	struct jv *n;

	(void)state;
	n = kubelet_node_obj(d, kcfg(&c), &info, NOW);
	assert_non_null(n);
	assert_path(n, "apiVersion", "v1");
	assert_path(n, "kind", "Node");
	assert_path(n, "metadata.name", "sim-7");
	assert_path(n, "metadata.labels[kubernetes.io/hostname]", "sim-7");
	assert_path(n, "metadata.labels[kubernetes.io/os]", "linux");
	assert_path(n, "metadata.labels[kubernetes.io/arch]", "amd64");
	assert_path(n, "metadata.labels[beta.kubernetes.io/os]", "linux");
	assert_path(n, "metadata.labels[beta.kubernetes.io/arch]", "amd64");
	assert_path(n, "metadata.labels[topology.kubernetes.io/zone]", "zone-1");
	assert_path(n, "metadata.labels[topology.kubernetes.io/region]", "region");
	assert_path(n, "metadata.labels[" SIM_LABEL "]", "true");
	assert_path(n, "metadata.labels[tier]", "edge");
	assert_path(n,
		    "metadata.annotations[volumes.kubernetes.io/controller-managed-attach-detach]",
		    "true");
	assert_path(n, "spec.podCIDR", "10.244.7.0/24");
	assert_path(n, "spec.podCIDRs[0]", "10.244.7.0/24");
	assert_int_equal(jv_count(jv_path(n, "spec.podCIDRs")), 1);
	assert_int_equal(jv_count(jv_path(n, "spec.taints")), 2);
	assert_path(n, "spec.taints[0].key", "dedicated");
	assert_path(n, "spec.taints[0].value", "gpu");
	assert_path(n, "spec.taints[0].effect", "NoSchedule");
	assert_null(jv_path(n, "spec.taints[1].value"));
	assert_path(n, "spec.taints[1].effect", "PreferNoSchedule");
	for (int i = 0; i < 2; i++) {
		const char *r = i ? "status.allocatable" : "status.capacity";
		char p[64];

		snprintf(p, sizeof(p), "%s.cpu", r);
		assert_path(n, p, "8");
		snprintf(p, sizeof(p), "%s.memory", r);
		assert_path(n, p, "32Gi");
		snprintf(p, sizeof(p), "%s.pods", r);
		assert_path(n, p, "110");
		snprintf(p, sizeof(p), "%s[ephemeral-storage]", r);
		assert_path(n, p, "100Gi");
	}
	/* the kubelet's setters: the pressures, then Ready last */
	assert_int_equal(jv_count(jv_path(n, "status.conditions")), 4);
	assert_path(n, "status.conditions[0].type", "MemoryPressure");
	assert_path(n, "status.conditions[0].status", "False");
	assert_path(n, "status.conditions[0].reason", "KubeletHasSufficientMemory");
	assert_path(n, "status.conditions[0].message", "kubelet has sufficient memory available");
	assert_path(n, "status.conditions[1].type", "DiskPressure");
	assert_path(n, "status.conditions[1].reason", "KubeletHasNoDiskPressure");
	assert_path(n, "status.conditions[1].message", "kubelet has no disk pressure");
	assert_path(n, "status.conditions[2].type", "PIDPressure");
	assert_path(n, "status.conditions[2].reason", "KubeletHasSufficientPID");
	assert_path(n, "status.conditions[2].message", "kubelet has sufficient PID available");
	assert_path(n, "status.conditions[3].type", "Ready");
	assert_path(n, "status.conditions[3].status", "True");
	assert_path(n, "status.conditions[3].reason", "KubeletReady");
	assert_path(n, "status.conditions[3].message", "kubelet is posting ready status");
	assert_path(n, "status.conditions[3].lastHeartbeatTime", NOW);
	assert_path(n, "status.conditions[3].lastTransitionTime", NOW);
	assert_path(n, "status.addresses[0].type", "InternalIP");
	assert_path(n, "status.addresses[0].address", "172.16.0.8");
	assert_path(n, "status.addresses[1].type", "Hostname");
	assert_path(n, "status.addresses[1].address", "sim-7");
	assert_int_equal(int_at(n, "status.daemonEndpoints.kubeletEndpoint.Port"), 10250);
	assert_path(n, "status.nodeInfo.kubeletVersion", "v1.32.4");
	assert_path(n, "status.nodeInfo.containerRuntimeVersion", "drover-sim://9.9.9");
	assert_path(n, "status.nodeInfo.kernelVersion", "6.1.0-test");
	assert_path(n, "status.nodeInfo.osImage", "Test OS");
	assert_path(n, "status.nodeInfo.operatingSystem", "linux");
	assert_path(n, "status.nodeInfo.architecture", "amd64");
	assert_int_equal(strlen(jv_path_str(n, "status.nodeInfo.machineID")), 32);
	assert_int_equal(strlen(jv_path_str(n, "status.nodeInfo.systemUUID")), 36);
	assert_int_equal(strlen(jv_path_str(n, "status.nodeInfo.bootID")), 36);
	jv_doc_free(d);

	/* without zones: no topology labels */
	c.zones = 0;
	d = jv_doc_new();
	{
		struct kubelet_node_info plain = info;

		plain.zone = plain.region = NULL;
		n = kubelet_node_obj(d, kcfg(&c), &plain, NOW);
	}
	assert_null(jv_path(n, "metadata.labels[topology.kubernetes.io/zone]"));
	assert_null(jv_path(n, "metadata.labels[topology.kubernetes.io/region]"));
	jv_doc_free(d);
}

static void test_zones(void **state)
{
	struct sim_config c = cfg();
	char buf[32];

	(void)state;
	assert_string_equal(sim_zone_of(&c, 0, buf, sizeof(buf)), "zone-0");
	assert_string_equal(sim_zone_of(&c, 4, buf, sizeof(buf)), "zone-1");
	c.zones = 0;
	assert_null(sim_zone_of(&c, 4, buf, sizeof(buf)));
}

/* A node the node lifecycle controller marked Unknown: Ready's transition is now, the
 * pressures that stayed False keep their time. */
static void test_node_status(void **state)
{
	static const char cur[] =
	    "{\"spec\":{\"podCIDR\":\"10.244.9.0/24\"},\"status\":{\"conditions\":["
	    "{\"type\":\"MemoryPressure\",\"status\":\"False\",\"lastTransitionTime\":\"" NOW "\"},"
	    "{\"type\":\"DiskPressure\",\"status\":\"Unknown\",\"lastTransitionTime\":\"" NOW "\"},"
	    "{\"type\":\"Ready\",\"status\":\"Unknown\",\"reason\":\"NodeStatusUnknown\","
	    "\"lastTransitionTime\":\"" NOW "\"}]}}";
	struct sim_config c = cfg();
	struct jv_doc *d = jv_doc_new();
	struct jv *node = parse(d, cur), *p;
	char *json;
	size_t len;

	(void)state;
	assert_string_equal(kubelet_node_ready(node), "Unknown");
	json = kubelet_node_status_patch(kcfg(&c), &info, node, LATER, false, &len);
	p = parse(d, json);
	free(json);
	assert_null(jv_path(p, "status.capacity"));
	assert_int_equal(jv_count(jv_path(p, "status.conditions")), 4);
	assert_int_equal(jv_count(jv_path(p, "status.$setElementOrder/conditions")), 4);
	assert_path(p, "status.$setElementOrder/conditions[3].type", "Ready");
	assert_path(p, "status.conditions[0].type", "MemoryPressure");
	assert_path(p, "status.conditions[0].lastTransitionTime", NOW);
	assert_path(p, "status.conditions[0].lastHeartbeatTime", LATER);
	assert_path(p, "status.conditions[1].type", "DiskPressure");
	assert_path(p, "status.conditions[1].status", "False");
	assert_path(p, "status.conditions[1].lastTransitionTime", LATER);
	assert_path(p, "status.conditions[2].lastTransitionTime", LATER); /* PIDPressure: new */
	assert_path(p, "status.conditions[3].status", "True");
	assert_path(p, "status.conditions[3].reason", "KubeletReady");
	assert_path(p, "status.conditions[3].lastTransitionTime", LATER);

	/* the full status also carries capacity, addresses and nodeInfo */
	json = kubelet_node_status_patch(kcfg(&c), &info, node, LATER, true, &len);
	p = parse(d, json);
	free(json);
	assert_path(p, "status.capacity.cpu", "8");
	assert_path(p, "status.addresses[0].address", "172.16.0.8");
	assert_path(p, "status.nodeInfo.kubeletVersion", "v1.32.4");

	/* a node with a podCIDR keeps it; one without gets ours */
	json = kubelet_node_reconcile_patch(kcfg(&c), &info, node, &len);
	p = parse(d, json);
	free(json);
	assert_null(jv_path(p, "spec"));
	assert_path(p, "metadata.labels[kubernetes.io/hostname]", "sim-7");
	json = kubelet_node_reconcile_patch(kcfg(&c), &info, NULL, &len);
	p = parse(d, json);
	free(json);
	assert_path(p, "spec.podCIDR", "10.244.7.0/24");
	assert_path(p, "spec.podCIDRs[0]", "10.244.7.0/24");
	jv_doc_free(d);
}

static void test_lease(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *l;

	(void)state;
	l = kubelet_lease_obj(d, "sim-7", "u-1", "42", "2026-01-02T03:04:05.123456Z");
	assert_path(l, "apiVersion", "coordination.k8s.io/v1");
	assert_path(l, "kind", "Lease");
	assert_path(l, "metadata.name", "sim-7");
	assert_path(l, "metadata.namespace", "kube-node-lease");
	assert_path(l, "metadata.resourceVersion", "42");
	assert_path(l, "metadata.ownerReferences[0].apiVersion", "v1");
	assert_path(l, "metadata.ownerReferences[0].kind", "Node");
	assert_path(l, "metadata.ownerReferences[0].name", "sim-7");
	assert_path(l, "metadata.ownerReferences[0].uid", "u-1");
	assert_null(jv_path(l, "metadata.ownerReferences[0].controller"));
	assert_path(l, "spec.holderIdentity", "sim-7");
	assert_int_equal(int_at(l, "spec.leaseDurationSeconds"), 40);
	assert_path(l, "spec.renewTime", "2026-01-02T03:04:05.123456Z");
	l = kubelet_lease_obj(d, "sim-7", NULL, "", "2026-01-02T03:04:05.000000Z");
	assert_null(jv_path(l, "metadata.resourceVersion"));
	assert_null(jv_path(l, "metadata.ownerReferences"));
	jv_doc_free(d);
}

static void test_time(void **state)
{
	struct timespec ts = {.tv_sec = 1767323045, .tv_nsec = 7000};
	char buf[32];

	(void)state;
	assert_string_equal(kubelet_time_str(1767323045, buf), "2026-01-02T03:04:05Z");
	assert_string_equal(kubelet_microtime_str(&ts, buf), "2026-01-02T03:04:05.000007Z");
	assert_int_equal(kubelet_time_parse("2026-01-02T03:04:05Z"), 1767323045);
	assert_int_equal(kubelet_time_parse("2026-01-02T03:04:05.000007Z"), 1767323045);
	assert_int_equal(kubelet_time_parse("2026-01-02 03:04:05"), -1);
	assert_int_equal(kubelet_time_parse(NULL), -1);
}

static void test_images(void **state)
{
	static const char *const cases[][2] = {
	    {"nginx", "docker.io/library/nginx:latest"},
	    {"nginx:1.25", "docker.io/library/nginx:1.25"},
	    {"bitnami/redis:7", "docker.io/bitnami/redis:7"},
	    {"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"},
	    {"localhost:5000/app", "localhost:5000/app:latest"},
	    {"localhost/app:v1", "localhost/app:v1"},
	    {"quay.io/a/b@sha256:0123", "quay.io/a/b@sha256:0123"},
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kubelet_image_normalize(cases[i][0], buf, sizeof(buf));
		if (strcmp(buf, cases[i][1]))
			fail_msg("%s -> %s, expected %s", cases[i][0], buf, cases[i][1]);
	}
}

static const char pod_json[] =
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"u-9\"},"
    "\"spec\":{\"nodeName\":\"sim-7\",\"initContainers\":["
    "{\"name\":\"setup\",\"image\":\"busybox\"},"
    "{\"name\":\"proxy\",\"image\":\"envoy:v1\",\"restartPolicy\":\"Always\"}],"
    "\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.25\"},"
    "{\"name\":\"log\",\"image\":\"quay.io/x/log@sha256:ab\"}]},"
    "\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
    "\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"},"
    "{\"type\":\"DisruptionTarget\",\"status\":\"False\"}]}}";

static void test_pod_running(void **state)
{
	static const char *const order[] = {"PodReadyToStartContainers", "Initialized", "Ready",
					    "ContainersReady", "PodScheduled"};
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = parse(d, pod_json), *p;
	char *json;
	size_t len;

	(void)state;
	json = kubelet_pod_running_patch(pod, "172.16.0.8", "10.244.7.2", NOW, &len);
	p = parse(d, json);
	free(json);
	assert_path(p, "metadata.uid", "u-9");
	assert_path(p, "status.phase", "Running");
	assert_path(p, "status.hostIP", "172.16.0.8");
	assert_path(p, "status.hostIPs[0].ip", "172.16.0.8");
	assert_path(p, "status.podIP", "10.244.7.2");
	assert_path(p, "status.podIPs[0].ip", "10.244.7.2");
	assert_int_equal(jv_count(jv_path(p, "status.podIPs")), 1);
	assert_path(p, "status.startTime", NOW);
	assert_int_equal(jv_count(jv_path(p, "status.conditions")), 5);
	for (int i = 0; i < 5; i++) {
		char path[64];

		snprintf(path, sizeof(path), "status.conditions[%d].type", i);
		assert_path(p, path, order[i]);
		snprintf(path, sizeof(path), "status.conditions[%d].status", i);
		assert_path(p, path, "True");
		snprintf(path, sizeof(path), "status.$setElementOrder/conditions[%d].type", i);
		assert_path(p, path, order[i]);
		snprintf(path, sizeof(path), "status.conditions[%d].lastProbeTime", i);
		assert_non_null(jv_path(p, path));
		assert_int_equal(jv_path(p, path)->type, JV_NULL);
	}
	assert_path(p, "status.conditions[0].lastTransitionTime", NOW);
	/* the scheduler's PodScheduled keeps its time */
	assert_path(p, "status.conditions[4].lastTransitionTime", "2026-01-01T00:00:00Z");
	/* init containers: the regular one Completed and ready, the sidecar running */
	assert_path(p, "status.initContainerStatuses[0].name", "setup");
	assert_int_equal(int_at(p, "status.initContainerStatuses[0].state.terminated.exitCode"), 0);
	assert_path(p, "status.initContainerStatuses[0].state.terminated.reason", "Completed");
	assert_int_equal(jv_path(p, "status.initContainerStatuses[0].ready")->type, JV_TRUE);
	assert_int_equal(jv_path(p, "status.initContainerStatuses[0].started")->type, JV_FALSE);
	assert_path(p, "status.initContainerStatuses[1].name", "proxy");
	assert_path(p, "status.initContainerStatuses[1].state.running.startedAt", NOW);
	assert_int_equal(jv_path(p, "status.initContainerStatuses[1].started")->type, JV_TRUE);
	/* containers */
	assert_int_equal(jv_count(jv_path(p, "status.containerStatuses")), 2);
	assert_path(p, "status.containerStatuses[0].name", "app");
	assert_path(p, "status.containerStatuses[0].state.running.startedAt", NOW);
	assert_int_equal(jv_path(p, "status.containerStatuses[0].ready")->type, JV_TRUE);
	assert_int_equal(jv_path(p, "status.containerStatuses[0].started")->type, JV_TRUE);
	assert_int_equal(int_at(p, "status.containerStatuses[0].restartCount"), 0);
	assert_path(p, "status.containerStatuses[0].image", "docker.io/library/nginx:1.25");
	assert_true(!strncmp(jv_path_str(p, "status.containerStatuses[0].imageID"),
			     "docker.io/library/nginx@sha256:", 31));
	assert_int_equal(strlen(jv_path_str(p, "status.containerStatuses[0].imageID")), 31 + 64);
	assert_true(!strncmp(jv_path_str(p, "status.containerStatuses[0].containerID"),
			     "drover-sim://", 13));
	assert_int_equal(strlen(jv_path_str(p, "status.containerStatuses[0].containerID")),
			 13 + 64);
	/* each container its own ID, the same for the same pod and name */
	assert_string_not_equal(jv_path_str(p, "status.containerStatuses[0].containerID"),
				jv_path_str(p, "status.containerStatuses[1].containerID"));
	assert_path(p, "status.containerStatuses[1].imageID", "quay.io/x/log@sha256:ab");
	assert_non_null(jv_path(p, "status.containerStatuses[0].lastState"));
	jv_doc_free(d);
}

static void test_pod_gates(void **state)
{
	static const char gated[] =
	    "{\"metadata\":{\"uid\":\"u\"},\"spec\":{\"readinessGates\":["
	    "{\"conditionType\":\"example.com/lb\"},{\"conditionType\":\"example.com/x\"}],"
	    "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]},\"status\":{\"conditions\":["
	    "{\"type\":\"example.com/x\",\"status\":\"False\"}]}}";
	static const char ok[] =
	    "{\"metadata\":{\"uid\":\"u\"},\"spec\":{\"readinessGates\":["
	    "{\"conditionType\":\"example.com/lb\"}],\"containers\":[{\"name\":\"c\","
	    "\"image\":\"i\"}]},\"status\":{\"conditions\":[{\"type\":\"example.com/lb\","
	    "\"status\":\"True\"}]}}";
	struct jv_doc *d = jv_doc_new();
	struct jv *p;
	char *json;
	size_t len;

	(void)state;
	json = kubelet_pod_running_patch(parse(d, gated), "1.1.1.1", "10.0.0.2", NOW, &len);
	p = parse(d, json);
	free(json);
	assert_path(p, "status.conditions[2].type", "Ready");
	assert_path(p, "status.conditions[2].status", "False");
	assert_path(p, "status.conditions[2].reason", "ReadinessGatesNotReady");
	assert_path(p, "status.conditions[2].message",
		    "corresponding condition of pod readiness gate \"example.com/lb\" does not "
		    "exist., the status of pod readiness gate \"example.com/x\" is not \"True\", "
		    "but False");
	assert_path(p, "status.conditions[3].status", "True"); /* ContainersReady */
	json = kubelet_pod_running_patch(parse(d, ok), "1.1.1.1", "10.0.0.2", NOW, &len);
	p = parse(d, json);
	free(json);
	assert_path(p, "status.conditions[2].status", "True");
	assert_null(jv_path(p, "status.conditions[2].reason"));
	jv_doc_free(d);
}

static void test_pod_succeeded(void **state)
{
	static const char running[] =
	    "{\"metadata\":{\"name\":\"j\",\"uid\":\"u-j\",\"ownerReferences\":[{\"apiVersion\":"
	    "\"batch/v1\",\"kind\":\"Job\",\"name\":\"j\",\"uid\":\"x\"}]},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]},"
	    "\"status\":{\"phase\":\"Running\",\"conditions\":["
	    "{\"type\":\"PodReadyToStartContainers\",\"status\":\"True\",\"lastTransitionTime\":"
	    "\"" NOW
	    "\"},{\"type\":\"Initialized\",\"status\":\"True\",\"lastTransitionTime\":\"" NOW "\"},"
	    "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"" NOW "\"},"
	    "{\"type\":\"PodScheduled\",\"status\":\"True\",\"lastTransitionTime\":\"" NOW "\"}]}}";
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = parse(d, running), *p;
	char *json;
	size_t len;

	(void)state;
	assert_true(kubelet_pod_is_job(pod));
	assert_false(kubelet_pod_is_job(parse(d, pod_json)));
	json = kubelet_pod_succeeded_patch(pod, "172.16.0.8", "10.244.7.3", NOW, LATER, &len);
	p = parse(d, json);
	free(json);
	assert_path(p, "status.phase", "Succeeded");
	assert_path(p, "status.podIP", "10.244.7.3");
	assert_path(p, "status.startTime", NOW);
	assert_path(p, "status.conditions[0].type", "PodReadyToStartContainers");
	assert_path(p, "status.conditions[0].status", "False");
	assert_path(p, "status.conditions[0].lastTransitionTime", LATER);
	assert_path(p, "status.conditions[1].type", "Initialized");
	assert_path(p, "status.conditions[1].status", "True");
	assert_path(p, "status.conditions[1].reason", "PodCompleted");
	assert_path(p, "status.conditions[1].lastTransitionTime", NOW); /* still True */
	assert_path(p, "status.conditions[2].type", "Ready");
	assert_path(p, "status.conditions[2].status", "False");
	assert_path(p, "status.conditions[2].reason", "PodCompleted");
	assert_path(p, "status.conditions[2].lastTransitionTime", LATER);
	assert_path(p, "status.conditions[3].type", "ContainersReady");
	assert_path(p, "status.conditions[3].reason", "PodCompleted");
	assert_path(p, "status.conditions[4].type", "PodScheduled");
	assert_path(p, "status.conditions[4].status", "True");
	assert_int_equal(int_at(p, "status.containerStatuses[0].state.terminated.exitCode"), 0);
	assert_path(p, "status.containerStatuses[0].state.terminated.reason", "Completed");
	assert_path(p, "status.containerStatuses[0].state.terminated.startedAt", NOW);
	assert_path(p, "status.containerStatuses[0].state.terminated.finishedAt", LATER);
	assert_non_null(jv_path_str(p, "status.containerStatuses[0].state.terminated.containerID"));
	assert_null(jv_path(p, "status.containerStatuses[0].state.running"));
	assert_int_equal(jv_path(p, "status.containerStatuses[0].ready")->type, JV_FALSE);
	assert_int_equal(jv_path(p, "status.containerStatuses[0].started")->type, JV_FALSE);
	jv_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node),	  cmocka_unit_test(test_zones),
	    cmocka_unit_test(test_node_status),	  cmocka_unit_test(test_lease),
	    cmocka_unit_test(test_time),	  cmocka_unit_test(test_images),
	    cmocka_unit_test(test_pod_running),	  cmocka_unit_test(test_pod_gates),
	    cmocka_unit_test(test_pod_succeeded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
