/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_proxy: the manifests the eBPF proxy reads (tests/data/k8s-manifests): a multi-port
 * NodePort Service with a named targetPort and ClientIP affinity, a headless Service, an
 * EndpointSlice with ready/serving/terminating backends, and an EndpointSliceList as an API
 * server returns it. The getters must return what the proxy programs into its maps.
 */
#include "k8s_test.h"

#define MANIFESTS DROVER_TEST_DATA "/k8s-manifests"

static void load(const char *file, struct objs *s)
{
	char path[256];
	struct k8s_parse_opts o = {.validation = K8S_FV_STRICT, .origin = file};
	struct k8s_errors e = {0};
	size_t len = 0;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", MANIFESTS, file);
	text = read_file(path, &len);
	assert_non_null(text);
	if (k8s_parse_stream(text, len, &o, objs_cb, s, &e) != 0 || e.nwarn) {
		dump_errors(&e);
		fail_msg("%s does not parse", file);
	}
	free(text);
	k8s_errors_free(&e);
}

static void expect_str(struct fy_node *n, const char *path, const char *want)
{
	const char *got = NULL;
	int r = k8s_get_str(n, path, &got);

	if (r != 0 || strcmp(got, want) != 0)
		fail_msg("%s: got %s (%d), want %s", path, r ? "-" : got, r, want);
}

static void expect_int(struct fy_node *n, const char *path, int64_t want)
{
	int64_t got = 0;
	int r = k8s_get_int(n, path, &got);

	if (r != 0 || got != want)
		fail_msg("%s: got %lld (%d), want %lld", path, (long long)got, r, (long long)want);
}

static void expect_bool(struct fy_node *n, const char *path, bool want)
{
	bool got = false;
	int r = k8s_get_bool(n, path, &got);

	if (r != 0 || got != want)
		fail_msg("%s: got %d (%d), want %d", path, got, r, want);
}

static void test_service(void **state)
{
	struct objs s = {0};
	struct fy_node *r, *ports;
	const char *str;
	int64_t i;

	(void)state;
	load("web-service.yaml", &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(k8s_obj_kind(s.o[0])->kind, "Service");
	assert_string_equal(k8s_obj_name(s.o[0]), "web");
	assert_string_equal(k8s_obj_namespace(s.o[0]), "shop");
	r = k8s_obj_root(s.o[0]);
	expect_str(r, "spec.type", "NodePort");
	expect_str(r, "spec.clusterIP", "10.96.12.34");
	expect_str(r, "spec.clusterIPs[0]", "10.96.12.34");
	expect_str(r, "spec.externalTrafficPolicy", "Local");
	expect_str(r, "spec.sessionAffinity", "ClientIP");
	expect_int(r, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", 10800);
	expect_str(r, "spec.selector[app.kubernetes.io/name]", "web");
	expect_str(r, "metadata.annotations[drover.io/maglev-table-size]", "65537");
	ports = k8s_get(r, "spec.ports");
	assert_non_null(ports);
	assert_int_equal(fy_node_sequence_item_count(ports), 3);
	/* port 0: a named targetPort is a string, not an int */
	expect_str(r, "spec.ports[0].name", "http");
	expect_str(r, "spec.ports[0].protocol", "TCP");
	expect_int(r, "spec.ports[0].port", 80);
	expect_int(r, "spec.ports[0].nodePort", 30080);
	expect_str(r, "spec.ports[0].targetPort", "http-web");
	assert_int_equal(k8s_get_int(r, "spec.ports[0].targetPort", &i), -EINVAL);
	/* port 1: numeric targetPort, protocol left to its default */
	expect_int(r, "spec.ports[1].targetPort", 8443);
	assert_int_equal(k8s_get_str(r, "spec.ports[1].targetPort", &str), -EINVAL);
	assert_int_equal(k8s_get_str(r, "spec.ports[1].protocol", &str), -ENOENT);
	expect_int(r, "spec.ports[1].nodePort", 30443);
	expect_str(r, "spec.ports[1].appProtocol", "https");
	/* port 2: UDP, no nodePort */
	expect_str(r, "spec.ports[2].protocol", "UDP");
	expect_int(r, "spec.ports[2].port", 53);
	assert_int_equal(k8s_get_int(r, "spec.ports[2].nodePort", &i), -ENOENT);
	/* the headless one */
	r = k8s_obj_root(s.o[1]);
	expect_str(r, "spec.clusterIP", "None");
	expect_bool(r, "spec.publishNotReadyAddresses", true);
	expect_int(r, "spec.ports[0].targetPort", 8080);
	objs_free(&s);
}

static void test_endpointslice(void **state)
{
	struct objs s = {0};
	struct fy_node *r;
	const char *str;
	bool b;

	(void)state;
	load("web-endpointslice.yaml", &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(k8s_obj_kind(s.o[0])->api_version, "discovery.k8s.io/v1");
	assert_string_equal(k8s_obj_kind(s.o[0])->resource, "endpointslices");
	r = k8s_obj_root(s.o[0]);
	expect_str(r, "metadata.labels[kubernetes.io/service-name]", "web");
	expect_str(r, "metadata.ownerReferences[0].name", "web");
	expect_bool(r, "metadata.ownerReferences[0].controller", true);
	expect_str(r, "addressType", "IPv4");
	assert_int_equal(fy_node_sequence_item_count(k8s_get(r, "endpoints")), 3);
	/* ready */
	expect_str(r, "endpoints[0].addresses[0]", "10.244.1.7");
	expect_bool(r, "endpoints[0].conditions.ready", true);
	expect_bool(r, "endpoints[0].conditions.serving", true);
	expect_bool(r, "endpoints[0].conditions.terminating", false);
	expect_str(r, "endpoints[0].nodeName", "node-1");
	expect_str(r, "endpoints[0].zone", "zone-a");
	expect_str(r, "endpoints[0].targetRef.name", "web-6d9f7c8b5-abcde");
	expect_str(r, "endpoints[0].hints.forZones[0].name", "zone-a");
	/* terminating but serving: drained, not dropped */
	expect_str(r, "endpoints[1].addresses[0]", "10.244.2.9");
	expect_bool(r, "endpoints[1].conditions.ready", false);
	expect_bool(r, "endpoints[1].conditions.serving", true);
	expect_bool(r, "endpoints[1].conditions.terminating", true);
	expect_str(r, "endpoints[1].nodeName", "node-2");
	/* not ready: serving and terminating unset (nil in Go, "unknown") */
	expect_bool(r, "endpoints[2].conditions.ready", false);
	assert_int_equal(k8s_get_bool(r, "endpoints[2].conditions.serving", &b), -ENOENT);
	assert_int_equal(k8s_get_str(r, "endpoints[2].zone", &str), -ENOENT);
	/* ports, matched to the Service's by name */
	expect_str(r, "ports[0].name", "http");
	expect_int(r, "ports[0].port", 8080);
	expect_str(r, "ports[0].appProtocol", "http");
	expect_str(r, "ports[1].name", "https");
	expect_int(r, "ports[1].port", 8443);
	expect_str(r, "ports[2].protocol", "UDP");
	expect_int(r, "ports[2].port", 5353);
	objs_free(&s);
}

static void test_endpointslice_list(void **state)
{
	struct objs s = {0};
	struct fy_node *r;
	char *j;

	(void)state;
	load("endpointslice-list.json", &s);
	assert_int_equal(s.n, 2);
	/* items of a list from the API server carry no kind: they get the list's */
	assert_string_equal(k8s_obj_kind(s.o[0])->kind, "EndpointSlice");
	assert_string_equal(k8s_obj_name(s.o[0]), "web-v6-9qzrt");
	r = k8s_obj_root(s.o[0]);
	expect_str(r, "apiVersion", "discovery.k8s.io/v1");
	expect_str(r, "kind", "EndpointSlice");
	expect_str(r, "addressType", "IPv6");
	expect_str(r, "endpoints[0].addresses[0]", "fd00:10:244:1::7");
	expect_bool(r, "endpoints[0].conditions.ready", true);
	expect_int(r, "ports[0].port", 8080);
	/* an empty slice: endpoints null is no endpoint, and valid */
	r = k8s_obj_root(s.o[1]);
	assert_null(k8s_get(r, "endpoints[0]"));
	j = json_of(s.o[1]);
	assert_string_equal(j, "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
			       "\"metadata\":{\"name\":\"idle-5fwzc\",\"namespace\":\"shop\","
			       "\"labels\":{\"kubernetes.io/service-name\":\"idle\"}},"
			       "\"addressType\":\"IPv4\",\"endpoints\":null,\"ports\":null}");
	free(j);
	objs_free(&s);
}

/* Mistakes a Service manifest can hold, and what the proxy's log line says about them. */
static void test_service_mistakes(void **state)
{
	static const char bad[] = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: "
				  "shop}\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n"
				  "    nodePort: 70000\n    targetport: 8080\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	char line[512];

	(void)state;
	assert_int_equal(parse_text(bad, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(k8s_errors_format(&e, "web.yaml", NULL, line, sizeof(line)), 0);
	/* nodePort fits int32 (its range is the API server's business); targetport is a typo */
	assert_string_equal(line, "web.yaml: Service shop/web: spec.ports[0].targetport: unknown "
				  "field \"spec.ports[0].targetport\"");
	k8s_errors_free(&e);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_service),
	    cmocka_unit_test(test_endpointslice),
	    cmocka_unit_test(test_endpointslice_list),
	    cmocka_unit_test(test_service_mistakes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
