/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_crud: the API server's read and write verbs over HTTP: discovery and version,
 * create/get/update/delete with Kubernetes' Status errors and codes, optimistic concurrency,
 * generateName, strict decoding, validation, list selectors and pagination, Tables, Service
 * IP and port allocation, namespace deletion, request limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_http.h"
#include "helpers.h"

static void test_version_discovery(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tget(t, "/version", 200, &r);
	assert_string_equal(tstr(j, "gitVersion"), API_GIT_VERSION);
	assert_string_equal(tstr(j, "minor"), "32");
	tresp_free(&r);
	j = tget(t, "/api/v1", 200, &r);
	assert_string_equal(tstr(j, "kind"), "APIResourceList");
	assert_non_null(strstr(r.body, "\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":"
				       "true,\"kind\":\"Pod\""));
	assert_non_null(strstr(r.body, "\"shortNames\":[\"po\"],\"categories\":[\"all\"]"));
	assert_non_null(strstr(r.body, "\"name\":\"pods/log\""));
	tresp_free(&r);
	j = tget(t, "/apis", 200, &r);
	assert_string_equal(tstr(j, "kind"), "APIGroupList");
	assert_non_null(strstr(r.body, "\"groupVersion\":\"apps/v1\""));
	tresp_free(&r);
	treq(t, "GET", "/apis", NULL, NULL,
	     "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
	     "application/json",
	     &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.ctype,
			    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
	assert_non_null(strstr(r.body, "\"subresource\":\"scale\""));
	tresp_free(&r);
	treq(t, "GET", "/api", NULL, NULL,
	     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", &r);
	assert_string_equal(
	    r.ctype, "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList");
	assert_non_null(strstr(r.body, "\"apiVersion\":\"apidiscovery.k8s.io/v2beta1\""));
	tresp_free(&r);
	j = tget(t, "/apis/nope.example/v1", 404, &r);
	assert_string_equal(tstr(j, "kind"), "Status");
	assert_string_equal(tstr(j, "reason"), "NotFound");
	tresp_free(&r);
	tget(t, "/healthz", 200, &r);
	assert_string_equal(r.body, "ok");
	tresp_free(&r);
	treq(t, "POST", "/api/v1", NULL, "{}", NULL, &r);
	assert_int_equal(r.code, 405);
	tresp_free(&r);
}

#define CM(name)                                                                       \
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name \
	"\"},\"data\":{\"a\":\"1\"}}"

static void test_create_get_conflict(void **state)
{
	struct tsrv *t = *state;
	struct tresp r, r2;
	struct jv *j;
	char body[512], rv[32];

	j = tpost(t, "/api/v1/namespaces/default/configmaps", CM("c1"), 201, &r);
	assert_string_equal(tstr(j, "metadata.namespace"), "default");
	assert_int_equal(strlen(tstr(j, "metadata.uid")), 36);
	assert_non_null(jv_path_str(j, "metadata.creationTimestamp"));
	snprintf(rv, sizeof(rv), "%s", tstr(j, "metadata.resourceVersion"));
	tresp_free(&r);
	j = tpost(t, "/api/v1/namespaces/default/configmaps", CM("c1"), 409, &r);
	assert_string_equal(tstr(j, "reason"), "AlreadyExists");
	assert_string_equal(tstr(j, "message"), "configmaps \"c1\" already exists");
	tresp_free(&r);
	j = tget(t, "/api/v1/namespaces/default/configmaps/c1", 200, &r);
	assert_string_equal(tstr(j, "metadata.resourceVersion"), rv);
	tresp_free(&r);
	j = tget(t, "/api/v1/namespaces/default/configmaps/nope", 404, &r);
	assert_string_equal(tstr(j, "message"), "configmaps \"nope\" not found");
	assert_string_equal(tstr(j, "details.kind"), "configmaps");
	tresp_free(&r);
	/* update at the current version, then a stale one */
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c1\","
		 "\"resourceVersion\":\"%s\"},\"data\":{\"a\":\"2\"}}",
		 rv);
	treq(t, "PUT", "/api/v1/namespaces/default/configmaps/c1", NULL, body, NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_not_equal(tstr(r.json, "metadata.resourceVersion"), rv);
	assert_string_equal(tstr(r.json, "data.a"), "2");
	treq(t, "PUT", "/api/v1/namespaces/default/configmaps/c1", NULL, body, NULL, &r2);
	assert_int_equal(r2.code, 409);
	assert_string_equal(tstr(r2.json, "reason"), "Conflict");
	assert_string_equal(
	    tstr(r2.json, "message"),
	    "Operation cannot be fulfilled on configmaps \"c1\": the object has been "
	    "modified; please apply your changes to the latest version and try again");
	tresp_free(&r);
	tresp_free(&r2);
	/* without resourceVersion: unconditional; unchanged: no new version */
	treq(t, "PUT", "/api/v1/namespaces/default/configmaps/c1", NULL, CM("c1"), NULL, &r);
	assert_int_equal(r.code, 200);
	snprintf(rv, sizeof(rv), "%s", tstr(r.json, "metadata.resourceVersion"));
	tresp_free(&r);
	treq(t, "PUT", "/api/v1/namespaces/default/configmaps/c1", NULL, CM("c1"), NULL, &r);
	assert_string_equal(tstr(r.json, "metadata.resourceVersion"), rv);
	tresp_free(&r);
	/* name and namespace must match the path */
	treq(t, "PUT", "/api/v1/namespaces/default/configmaps/c1", NULL, CM("other"), NULL, &r);
	assert_int_equal(r.code, 400);
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/kube-system/configmaps", NULL,
	     "{\"metadata\":{\"name\":\"x\",\"namespace\":\"default\"}}", NULL, &r);
	assert_int_equal(r.code, 400);
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/nowhere/configmaps", NULL, CM("x"), NULL, &r);
	assert_int_equal(r.code, 404);
	assert_string_equal(tstr(r.json, "message"), "namespaces \"nowhere\" not found");
	tresp_free(&r);
	treq(t, "DELETE", "/api/v1/namespaces/default/configmaps/c1", NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	tget(t, "/api/v1/namespaces/default/configmaps/c1", 404, &r);
	tresp_free(&r);
}

static void test_generate_name_and_decode(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tpost(t, "/api/v1/namespaces/default/secrets",
		  "{\"metadata\":{\"generateName\":\"tok-\"},\"stringData\":{}}", 201, &r);
	assert_int_equal(strlen(tstr(j, "metadata.name")), 9);
	assert_memory_equal(tstr(j, "metadata.name"), "tok-", 4);
	assert_string_equal(tstr(j, "type"), "Opaque");
	tresp_free(&r);
	/* a name given beside generateName is the name: taken, it is a conflict, not a new name */
	for (int i = 0; i < 2; i++) {
		treq(t, "POST", "/api/v1/namespaces/default/secrets", NULL,
		     "{\"metadata\":{\"name\":\"given\",\"generateName\":\"tok-\"}}", NULL, &r);
		assert_int_equal(r.code, i == 0 ? 201 : 409);
		if (i == 0)
			assert_string_equal(tstr(r.json, "metadata.name"), "given");
		tresp_free(&r);
	}
	/* strict: unknown fields fail; warn: a Warning header */
	treq(t, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", NULL,
	     "{\"metadata\":{\"name\":\"s1\"},\"bogus\":1}", NULL, &r);
	assert_int_equal(r.code, 400);
	assert_string_equal(tstr(r.json, "message"),
			    "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict "
			    "decoding error: unknown field \"bogus\"");
	tresp_free(&r);
	/* transformDecodeError names the version alone, also for a kind of a named group */
	treq(t, "POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", NULL,
	     "{\"metadata\":{\"name\":\"d1\"},\"bogus\":1}", NULL, &r);
	assert_int_equal(r.code, 400);
	assert_string_equal(
	    tstr(r.json, "message"),
	    "Deployment in version \"v1\" cannot be handled as a Deployment: strict "
	    "decoding error: unknown field \"bogus\"");
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Warn", NULL,
	     "{\"metadata\":{\"name\":\"s1\"},\"bogus\":1}", NULL, &r);
	assert_int_equal(r.code, 201);
	assert_non_null(strstr(r.headers, "Warning: 299 - \"unknown field \\\"bogus\\\"\""));
	assert_null(jv_get(r.json, "bogus"));
	tresp_free(&r);
	/* the header quotes the text as NewWarningHeader does: as is, only " and \ escaped
	 * (not JSON's \u003c \u0026) */
	treq(t, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Warn", NULL,
	     "{\"metadata\":{\"name\":\"s2\"},\"<b>&c\":1}", NULL, &r);
	assert_int_equal(r.code, 201);
	if (!strstr(r.headers, "Warning: 299 - \"unknown field \\\"<b>&c\\\"\"\r\n"))
		fail_msg("Warning header not as kube's:\n%s", r.headers);
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/default/configmaps", NULL, "{\"metadata\":", NULL, &r);
	assert_int_equal(r.code, 400);
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/default/configmaps", "application/yaml",
	     "metadata:\n  name: y1\ndata:\n  on: yes\n  mode: 0755\n", NULL, &r);
	/* YAML 1.1 as Kubernetes reads it: keys on -> "true", values must be strings */
	assert_int_equal(r.code, 400);
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/default/configmaps", "application/yaml",
	     "metadata:\n  name: y1\ndata:\n  on: \"yes\"\n", NULL, &r);
	assert_int_equal(r.code, 201);
	assert_string_equal(tstr(r.json, "data[true]"), "yes");
	tresp_free(&r);
	/* YAML that crashes or hangs libfyaml 0.7.12: a 400, and the server carries on */
	treq(t, "POST", "/api/v1/namespaces/default/configmaps", "application/yaml",
	     "metadata:\n  name: y2\n? e:\t:\n", NULL, &r);
	assert_int_equal(r.code, 400);
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/default/configmaps", "application/yaml",
	     "%met\xc3\x28"
	     "a:\n",
	     NULL, &r);
	assert_int_equal(r.code, 400);
	assert_non_null(strstr(r.body, "invalid UTF-8"));
	tresp_free(&r);
	treq(t, "POST", "/api/v1/namespaces/default/configmaps", "text/plain", "x", NULL, &r);
	assert_int_equal(r.code, 415);
	tresp_free(&r);
}

static void test_validation(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	treq(t, "POST", "/apis/apps/v1/namespaces/default/deployments", NULL,
	     "{\"metadata\":{\"name\":\"Bad_Name\"},\"spec\":{\"selector\":{\"matchLabels\":{"
	     "\"app\":\"x\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"y\"}},\"spec\":{"
	     "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":80,"
	     "\"protocol\":\"XTP\"}]}]}}}}",
	     NULL, &r);
	assert_int_equal(r.code, 422);
	assert_string_equal(tstr(r.json, "reason"), "Invalid");
	assert_non_null(
	    strstr(tstr(r.json, "message"), "Deployment.apps \"Bad_Name\" is invalid: ["));
	assert_non_null(strstr(r.body, "spec.template.spec.containers[0].ports[0].protocol: "
				       "Unsupported value: \\\"XTP\\\""));
	assert_non_null(strstr(r.body, "`selector` does not match template `labels`"));
	assert_non_null(strstr(r.body, "metadata.name: Invalid value: \\\"Bad_Name\\\""));
	tresp_free(&r);
}

static void test_list_select_page_table(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	char path[512], cont[256];

	for (int i = 0; i < 5; i++) {
		char body[256];

		snprintf(
		    body, sizeof(body),
		    "{\"metadata\":{\"name\":\"p%d\",\"labels\":{\"app\":\"%s\",\"n\":\"%d\"}},"
		    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]%s}}",
		    i, i % 2 ? "odd" : "even", i, i == 3 ? ",\"nodeName\":\"n1\"" : "");
		tpost(t, "/api/v1/namespaces/default/pods", body, 201, &r);
		tresp_free(&r);
	}
	j = tget(t, "/api/v1/namespaces/default/pods?labelSelector=app%3Dodd", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 2);
	assert_string_equal(tstr(j, "kind"), "PodList");
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?labelSelector=app%20in%20(odd,even),n!%3D0", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 4);
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 1);
	assert_string_equal(tstr(j, "items[0].metadata.name"), "p3");
	tresp_free(&r);
	/* the kubelet's list skips pods by their stored bytes first: a pod on a longer name, one
	 * whose annotation spells the field and one nominated to n1 are not n1's */
	tpost(t, "/api/v1/namespaces/default/pods",
	      "{\"metadata\":{\"name\":\"q1\",\"annotations\":{\"x\":\"\\\"nodeName\\\":"
	      "\\\"n1\\\"\"}},\"spec\":{\"nodeName\":\"n1x\",\"containers\":[{\"name\":\"c\","
	      "\"image\":\"busybox\"}]}}",
	      201, &r);
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?fieldSelector=spec.nodeName%3D%3Dn1,metadata.namespace%3Ddefault",
		 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 1);
	assert_string_equal(tstr(j, "items[0].metadata.name"), "p3");
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1x", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 1);
	assert_string_equal(tstr(j, "items[0].metadata.name"), "q1");
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?fieldSelector=spec.nodeName%21%3Dn1x,spec.nodeName%21%3D", 200,
		 &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 1);
	tresp_free(&r);
	treq(t, "DELETE", "/api/v1/namespaces/default/pods/q1?gracePeriodSeconds=0", NULL, NULL,
	     NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1x", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 0);
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?fieldSelector=spec.bogus%3D1", 400, &r);
	assert_string_equal(tstr(j, "message"), "field label not supported: spec.bogus");
	tresp_free(&r);
	j = tget(t, "/api/v1/pods?labelSelector=a%20in%20b", 400, &r);
	tresp_free(&r);
	/* a key's prefix must be a DNS-1123 subdomain */
	j = tget(t, "/api/v1/pods?labelSelector=Bad_Prefix/app%3Dodd", 400, &r);
	assert_non_null(strstr(tstr(j, "message"), "prefix part a lowercase RFC 1123 subdomain"));
	tresp_free(&r);
	/* pages of 2 */
	j = tget(t, "/api/v1/namespaces/default/pods?limit=2", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 2);
	snprintf(cont, sizeof(cont), "%s", tstr(j, "metadata.continue"));
	tresp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods?limit=10&continue=%s", cont);
	j = tget(t, path, 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 3);
	assert_null(jv_path(j, "metadata.continue"));
	tresp_free(&r);
	/* a Table as kubectl asks for it */
	treq(t, "GET", "/api/v1/namespaces/default/pods", NULL, NULL,
	     "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
	     "g=meta.k8s.io,application/json",
	     &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "kind"), "Table");
	assert_string_equal(tstr(r.json, "columnDefinitions[1].name"), "Ready");
	assert_string_equal(tstr(r.json, "rows[0].cells[0]"), "p0");
	assert_string_equal(tstr(r.json, "rows[0].cells[1]"), "0/1");
	assert_string_equal(tstr(r.json, "rows[0].cells[2]"), "Pending");
	assert_string_equal(tstr(r.json, "rows[3].cells[6]"), "n1");
	assert_string_equal(tstr(r.json, "rows[0].object.kind"), "PartialObjectMetadata");
	assert_string_equal(tstr(r.json, "rows[0].object.metadata.labels.app"), "even");
	tresp_free(&r);
	/* pods got their defaults and admission */
	j = tget(t, "/api/v1/namespaces/default/pods/p0", 200, &r);
	assert_string_equal(tstr(j, "spec.serviceAccountName"), "default");
	assert_string_equal(tstr(j, "spec.containers[0].imagePullPolicy"), "Always");
	assert_string_equal(tstr(j, "status.qosClass"), "BestEffort");
	assert_int_equal(jv_count(jv_path(j, "spec.tolerations")), 2);
	tresp_free(&r);
	treq(t, "DELETE", "/api/v1/namespaces/default/pods?labelSelector=app%3Deven", NULL, NULL,
	     NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	j = tget(t, "/api/v1/namespaces/default/pods", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 2);
	tresp_free(&r);
}

/* lists longer than a page of the stream are written as the connection takes them */
static void test_list_stream(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	tpost(t, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"big\"}}", 201, &r);
	tresp_free(&r);
	for (int i = 0; i < 600; i++) {
		char body[512];

		snprintf(body, sizeof(body),
			 "{\"metadata\":{\"name\":\"cm%03d\",\"labels\":{\"odd\":\"%d\"}},"
			 "\"data\":{\"k\":\"%0200d\"}}",
			 i, i % 2, i);
		tpost(t, "/api/v1/namespaces/big/configmaps", body, 201, &r);
		tresp_free(&r);
	}
	j = tget(t, "/api/v1/namespaces/big/configmaps", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 600);
	assert_string_equal(tstr(j, "kind"), "ConfigMapList");
	assert_string_equal(tstr(j, "items[599].metadata.name"), "cm599");
	assert_non_null(jv_path(j, "items[0].metadata.resourceVersion"));
	tresp_free(&r);
	j = tget(t, "/api/v1/configmaps?labelSelector=odd%3D1", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 300);
	assert_string_equal(tstr(j, "items[0].metadata.name"), "cm001");
	tresp_free(&r);
	treq(t, "GET", "/api/v1/namespaces/big/configmaps", NULL, NULL,
	     "application/json;as=Table;v=v1;g=meta.k8s.io", &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(jv_count(jv_get(r.json, "rows")), 600);
	tresp_free(&r);
	j = tget(t, "/api/v1/namespaces/big/configmaps?limit=500", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 500);
	assert_non_null(jv_path(j, "metadata.continue"));
	tresp_free(&r);
}

#define SVC(name, extra) \
	"{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"ports\":[{\"port\":80}]" extra "}}"

static void test_service_allocation(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	char ip[32];

	j = tpost(t, "/api/v1/namespaces/default/services", SVC("s1", ",\"type\":\"NodePort\""),
		  201, &r);
	snprintf(ip, sizeof(ip), "%s", tstr(j, "spec.clusterIP"));
	assert_memory_equal(ip, "10.96.", 6);
	assert_string_equal(tstr(j, "spec.clusterIPs[0]"), ip);
	assert_non_null(jv_path(j, "spec.ports[0].nodePort"));
	assert_int_equal(jv_path(j, "spec.ports[0].targetPort")->type, JV_NUMBER);
	tresp_free(&r);
	/* the same address requested again: taken */
	{
		char body[256];

		snprintf(body, sizeof(body), SVC("s2", ",\"clusterIP\":\"%s\""), ip);
		j = tpost(t, "/api/v1/namespaces/default/services", body, 422, &r);
		assert_non_null(strstr(tstr(j, "message"), "provided IP is already allocated"));
		tresp_free(&r);
	}
	j = tpost(t, "/api/v1/namespaces/default/services", SVC("s3", ",\"clusterIP\":\"1.2.3.4\""),
		  422, &r);
	assert_non_null(strstr(tstr(j, "message"), "is not in the valid range"));
	tresp_free(&r);
	j = tpost(t, "/api/v1/namespaces/default/services",
		  "{\"metadata\":{\"name\":\"s4\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{"
		  "\"port\":80,\"nodePort\":99}]}}",
		  422, &r);
	assert_non_null(strstr(tstr(j, "message"), "provided port is not in the valid range. The "
						   "range of valid ports is 30000-32767"));
	tresp_free(&r);
	/* deleted: the address is free again */
	treq(t, "DELETE", "/api/v1/namespaces/default/services/s1", NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	{
		char body[256];

		snprintf(body, sizeof(body), SVC("s5", ",\"clusterIP\":\"%s\""), ip);
		j = tpost(t, "/api/v1/namespaces/default/services", body, 201, &r);
		assert_string_equal(tstr(j, "spec.clusterIP"), ip);
		tresp_free(&r);
	}
}

/* Dynamic allocation stays out of the static bands (the first 256 addresses of the /16, the
 * first 86 ports of 30000-32767), so values users write in manifests stay free: a cluster DNS
 * at 10.96.0.10, a NodePort 30001. */
static void test_service_allocation_bands(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	for (int i = 0; i < 40; i++) {
		char body[256], name[16];
		struct in_addr in;
		uint32_t h;
		long port;

		snprintf(name, sizeof(name), "b%d", i);
		snprintf(body, sizeof(body),
			 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"type\":\"NodePort\","
			 "\"ports\":[{\"port\":80}]}}",
			 name);
		j = tpost(t, "/api/v1/namespaces/default/services", body, 201, &r);
		assert_int_equal(inet_pton(AF_INET, tstr(j, "spec.clusterIP"), &in), 1);
		h = ntohl(in.s_addr);
		assert_true(h > ((10u << 24) | (96u << 16) | 256u)); /* above 10.96.1.0 */
		assert_true(h < ((10u << 24) | (97u << 16)));
		port = strtol(jv_path(j, "spec.ports[0].nodePort")->s, NULL, 10);
		assert_true(port >= 30086 && port <= 32767);
		tresp_free(&r);
	}
	j = tpost(
	    t, "/api/v1/namespaces/default/services",
	    "{\"metadata\":{\"name\":\"dns\"},\"spec\":{\"clusterIP\":\"10.96.0.10\",\"type\":"
	    "\"NodePort\",\"ports\":[{\"port\":53,\"nodePort\":30001}]}}",
	    201, &r);
	assert_string_equal(tstr(j, "spec.clusterIP"), "10.96.0.10");
	assert_int_equal(strtol(jv_path(j, "spec.ports[0].nodePort")->s, NULL, 10), 30001);
	tresp_free(&r);
}

/* autoscaling/v1 HorizontalPodAutoscaler, served from the stored v2 objects: discovery lists
 * both versions (v2 preferred); a v1 create (what kubectl autoscale sends) reads back in v2
 * as a cpu Utilization metric and in v1 as targetCPUUtilizationPercentage; what v1 cannot
 * say (another metric, behavior) survives a v1 read-modify-write; patches and lists speak v1. */
static void test_hpa_v1_conversion(void **state)
{
	struct tsrv *t = *state;
	struct tresp r, r2;
	struct jv *j;
	char *v1obj;
	const char *v1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers";
	const char *v2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
	char path[256];

	j = tget(t, "/apis/autoscaling", 200, &r);
	assert_string_equal(tstr(j, "preferredVersion.version"), "v2");
	assert_string_equal(tstr(j, "versions[1].groupVersion"), "autoscaling/v1");
	tresp_free(&r);
	j = tget(t, "/apis/autoscaling/v1", 200, &r);
	assert_string_equal(tstr(j, "resources[0].name"), "horizontalpodautoscalers");
	tresp_free(&r);

	j = tpost(t, v1,
		  "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\","
		  "\"metadata\":{\"name\":\"web\"},\"spec\":{\"scaleTargetRef\":{\"apiVersion\":"
		  "\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"},\"minReplicas\":1,"
		  "\"maxReplicas\":10,\"targetCPUUtilizationPercentage\":50}}",
		  201, &r);
	assert_string_equal(tstr(j, "apiVersion"), "autoscaling/v1");
	assert_string_equal(jv_path(j, "spec.targetCPUUtilizationPercentage")->s, "50");
	assert_null(jv_path(j, "spec.metrics"));
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s/web", v2);
	j = tget(t, path, 200, &r);
	assert_string_equal(tstr(j, "apiVersion"), "autoscaling/v2");
	assert_string_equal(tstr(j, "spec.metrics[0].type"), "Resource");
	assert_string_equal(tstr(j, "spec.metrics[0].resource.name"), "cpu");
	assert_string_equal(tstr(j, "spec.metrics[0].resource.target.type"), "Utilization");
	assert_string_equal(jv_path(j, "spec.metrics[0].resource.target.averageUtilization")->s,
			    "50");
	assert_null(jv_path(j, "spec.targetCPUUtilizationPercentage"));
	tresp_free(&r);

	/* a v1 merge patch of v1's field */
	snprintf(path, sizeof(path), "%s/web", v1);
	treq(t, "PATCH", path, "application/merge-patch+json",
	     "{\"spec\":{\"targetCPUUtilizationPercentage\":65}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jv_path(r.json, "spec.targetCPUUtilizationPercentage")->s, "65");
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s/web", v2);
	j = tget(t, path, 200, &r);
	assert_string_equal(jv_path(j, "spec.metrics[0].resource.target.averageUtilization")->s,
			    "65");
	tresp_free(&r);

	/* v2 only: a memory metric and behavior, kept through a v1 PUT of what v1 read */
	j = tpost(
	    t, v2,
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
	    "\"metadata\":{\"name\":\"multi\"},\"spec\":{\"scaleTargetRef\":{\"apiVersion\":"
	    "\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"},\"maxReplicas\":5,"
	    "\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":"
	    "{\"type\":\"AverageValue\",\"averageValue\":\"500Mi\"}}},{\"type\":\"Resource\","
	    "\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","
	    "\"averageUtilization\":70}}}],\"behavior\":{\"scaleDown\":"
	    "{\"stabilizationWindowSeconds\":300}}}}",
	    201, &r);
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s/multi", v1);
	j = tget(t, path, 200, &r);
	assert_string_equal(jv_path(j, "spec.targetCPUUtilizationPercentage")->s, "70");
	assert_non_null(jv_path(j, "metadata.annotations[autoscaling.drover.dev/v2-metrics]"));
	assert_non_null(jv_path(j, "metadata.annotations[autoscaling.drover.dev/v2-behavior]"));
	jv_set(r.d, jv_get(j, "spec"), "maxReplicas", jv_new_int(r.d, 9));
	v1obj = jv_to_json(j, NULL);
	assert_non_null(v1obj);
	treq(t, "PUT", path, NULL, v1obj, NULL, &r2);
	assert_int_equal(r2.code, 200);
	free(v1obj);
	tresp_free(&r2);
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s/multi", v2);
	j = tget(t, path, 200, &r);
	assert_string_equal(jv_path(j, "spec.maxReplicas")->s, "9");
	assert_string_equal(tstr(j, "spec.metrics[0].resource.name"), "memory");
	assert_string_equal(tstr(j, "spec.metrics[0].resource.target.averageValue"), "500Mi");
	assert_string_equal(tstr(j, "spec.metrics[1].resource.name"), "cpu");
	assert_string_equal(jv_path(j, "spec.behavior.scaleDown.stabilizationWindowSeconds")->s,
			    "300");
	assert_null(jv_path(j, "metadata.annotations[autoscaling.drover.dev/v2-metrics]"));
	tresp_free(&r);

	/* lists and the status subresource in v1 */
	j = tget(t, v1, 200, &r);
	assert_string_equal(tstr(j, "kind"), "HorizontalPodAutoscalerList");
	assert_string_equal(tstr(j, "apiVersion"), "autoscaling/v1");
	assert_string_equal(tstr(j, "items[0].apiVersion"), "autoscaling/v1");
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s/web/status", v1);
	treq(t, "PATCH", path, "application/merge-patch+json",
	     "{\"status\":{\"currentReplicas\":2,\"desiredReplicas\":2,"
	     "\"currentCPUUtilizationPercentage\":33}}",
	     NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s/web", v2);
	j = tget(t, path, 200, &r);
	assert_string_equal(
	    jv_path(j, "status.currentMetrics[0].resource.current.averageUtilization")->s, "33");
	tresp_free(&r);
	/* v2's fields are unknown to v1 (Strict, as kubectl asks) */
	treq(t, "POST",
	     "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
	     "?fieldValidation=Strict",
	     NULL,
	     "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\","
	     "\"metadata\":{\"name\":\"bad\"},\"spec\":{\"scaleTargetRef\":{\"kind\":"
	     "\"Deployment\",\"name\":\"x\"},\"maxReplicas\":3,\"metrics\":[]}}",
	     NULL, &r);
	assert_int_equal(r.code, 400);
	assert_non_null(strstr(tstr(r.json, "message"), "unknown field \"spec.metrics\""));
	tresp_free(&r);
}

/* deletecollection: bad options are refused before anything goes; a dryRun in the body deletes
 * nothing; then the selected items go and the others stay. */
static void test_deletecollection(void **state)
{
	struct tsrv *t = *state;
	const char *base = "/api/v1/namespaces/default/configmaps";
	char path[256];
	struct tresp r;
	struct jv *j;

	for (int i = 0; i < 3; i++) {
		char body[160];

		snprintf(body, sizeof(body),
			 "{\"metadata\":{\"name\":\"dc%d\",\"labels\":{\"dc\":\"%s\"}}}", i,
			 i < 2 ? "yes" : "no");
		tpost(t, base, body, 201, &r);
		tresp_free(&r);
	}
	snprintf(path, sizeof(path), "%s?labelSelector=dc%%3Dyes", base);
	treq(t, "DELETE", path, NULL, "{\"propagationPolicy\":\"Sideways\"}", NULL, &r);
	assert_int_equal(r.code, 422);
	tresp_free(&r);
	treq(t, "DELETE", path, NULL, "{\"dryRun\":[\"All\"]}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s?labelSelector=dc", base);
	j = tget(t, path, 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 3);
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s?labelSelector=dc%%3Dyes", base);
	treq(t, "DELETE", path, NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	snprintf(path, sizeof(path), "%s?labelSelector=dc", base);
	j = tget(t, path, 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 1);
	assert_string_equal(tstr(j, "items[0].metadata.name"), "dc2");
	tresp_free(&r);
}

/* Graceful deletion pending (a pod on a node): a status update keeps the pod, a second
 * delete without a shorter grace period leaves it pending, one with grace 0 ends it. */
static void test_graceful_delete_pending(void **state)
{
	struct tsrv *t = *state;
	const char *pod = "/api/v1/namespaces/default/pods/gp";
	struct tresp r;
	struct jv *j;
	char ts[64];

	tpost(t, "/api/v1/namespaces/default/pods",
	      "{\"metadata\":{\"name\":\"gp\"},\"spec\":{\"nodeName\":\"n1\","
	      "\"terminationGracePeriodSeconds\":30,\"containers\":[{\"name\":\"c\",\"image\":"
	      "\"i\"}]}}",
	      201, &r);
	tresp_free(&r);
	treq(t, "DELETE", pod, NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	snprintf(ts, sizeof(ts), "%s", tstr(r.json, "metadata.deletionTimestamp"));
	assert_string_not_equal(ts, "(null)");
	tresp_free(&r);
	/* the kubelet reports while the containers stop */
	treq(t, "PATCH", "/api/v1/namespaces/default/pods/gp/status",
	     "application/merge-patch+json", "{\"status\":{\"phase\":\"Running\"}}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	j = tget(t, pod, 200, &r);
	assert_string_equal(tstr(j, "status.phase"), "Running");
	tresp_free(&r);
	/* deleted again: still pending, same deadline */
	treq(t, "DELETE", pod, NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	j = tget(t, pod, 200, &r);
	assert_string_equal(tstr(j, "metadata.deletionTimestamp"), ts);
	tresp_free(&r);
	/* the kubelet's last word */
	treq(t, "DELETE", pod, NULL, "{\"gracePeriodSeconds\":0}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	tget(t, pod, 404, &r);
	tresp_free(&r);
}

/* The "kubernetes" finalizer is the create's (kept beside others), not a default: finalize
 * removes it for good, and a terminating namespace then goes. */
static void test_namespace_finalize(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tpost(t, "/api/v1/namespaces",
		  "{\"metadata\":{\"name\":\"fz\"},\"spec\":{\"finalizers\":[\"example.com/x\"]}}",
		  201, &r);
	assert_int_equal(jv_count(jv_path(j, "spec.finalizers")), 2);
	assert_string_equal(tstr(j, "spec.finalizers[1]"), "kubernetes");
	tresp_free(&r);
	treq(t, "DELETE", "/api/v1/namespaces/fz", NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "status.phase"), "Terminating");
	tresp_free(&r);
	treq(t, "PUT", "/api/v1/namespaces/fz/finalize", NULL,
	     "{\"metadata\":{\"name\":\"fz\"},\"spec\":{\"finalizers\":[\"example.com/x\"]}}", NULL,
	     &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	j = tget(t, "/api/v1/namespaces/fz", 200, &r);
	assert_int_equal(jv_count(jv_path(j, "spec.finalizers")), 1);
	assert_string_equal(tstr(j, "spec.finalizers[0]"), "example.com/x");
	tresp_free(&r);
	treq(t, "PUT", "/api/v1/namespaces/fz/finalize", NULL,
	     "{\"metadata\":{\"name\":\"fz\"},\"spec\":{\"finalizers\":[]}}", NULL, &r);
	assert_int_equal(r.code, 200);
	tresp_free(&r);
	tget(t, "/api/v1/namespaces/fz", 404, &r);
	tresp_free(&r);
}

static void test_body_limit(void **state)
{
	struct tsrv *t = *state;
	size_t n = (3u << 20) + 100;
	char *big = malloc(n + 1);
	struct tresp r;

	memset(big, ' ', n);
	big[n] = 0;
	big[0] = '{';
	big[n - 1] = '}';
	treq(t, "POST", "/api/v1/namespaces/default/configmaps", NULL, big, NULL, &r);
	assert_int_equal(r.code, 413);
	assert_string_equal(tstr(r.json, "reason"), "RequestEntityTooLarge");
	tresp_free(&r);
	free(big);
}

/* The Priority admission plugin: the built-in classes resolve to their values; a class that
 * does not exist, or a priority given beside a class, is refused as Kubernetes refuses it. */
static void test_pod_priority_class(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	int64_t prio = -1;

	j = tpost(t, "/api/v1/namespaces/default/pods",
		  "{\"metadata\":{\"name\":\"crit\"},\"spec\":{\"priorityClassName\":"
		  "\"system-cluster-critical\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
		  201, &r);
	assert_int_equal(jv_path_int(j, "spec.priority", &prio), 0);
	assert_int_equal(prio, 2000000000);
	tresp_free(&r);
	j = tpost(t, "/api/v1/namespaces/default/pods",
		  "{\"metadata\":{\"name\":\"plain\"},\"spec\":{\"containers\":[{\"name\":"
		  "\"c\",\"image\":\"x\"}]}}",
		  201, &r);
	assert_int_equal(jv_path_int(j, "spec.priority", &prio), 0);
	assert_int_equal(prio, 0);
	tresp_free(&r);
	j = tpost(t, "/api/v1/namespaces/default/pods",
		  "{\"metadata\":{\"name\":\"nope\"},\"spec\":{\"priorityClassName\":\"gold\","
		  "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
		  403, &r);
	assert_string_equal(
	    tstr(j, "message"),
	    "pods \"nope\" is forbidden: no PriorityClass with name gold was found");
	assert_string_equal(tstr(j, "reason"), "Forbidden");
	tresp_free(&r);
	tget(t, "/api/v1/namespaces/default/pods/nope", 404, &r);
	tresp_free(&r);
}

/* DefaultTolerationSeconds adds its two tolerations only to pods that tolerate neither taint
 * (an empty key with Exists tolerates every one); podIP and podIPs agree after a status write,
 * as the v1 conversion makes them. */
static void test_pod_admission_details(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tpost(t, "/api/v1/namespaces/default/pods",
		  "{\"metadata\":{\"name\":\"tol-all\"},\"spec\":{\"tolerations\":[{\"operator\":"
		  "\"Exists\"}],\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
		  201, &r);
	assert_int_equal(jv_count(jv_path(j, "spec.tolerations")), 1);
	tresp_free(&r);
	j = tpost(t, "/api/v1/namespaces/default/pods",
		  "{\"metadata\":{\"name\":\"tol-none\"},\"spec\":{\"containers\":[{\"name\":"
		  "\"c\",\"image\":\"x\"}]}}",
		  201, &r);
	assert_int_equal(jv_count(jv_path(j, "spec.tolerations")), 2);
	assert_string_equal(tstr(j, "spec.tolerations[0].key"), "node.kubernetes.io/not-ready");
	tresp_free(&r);
	treq(t, "PATCH", "/api/v1/namespaces/default/pods/tol-none/status",
	     "application/merge-patch+json", "{\"status\":{\"podIP\":\"10.244.1.7\"}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "status.podIPs[0].ip"), "10.244.1.7");
	tresp_free(&r);
	treq(t, "PATCH", "/api/v1/namespaces/default/pods/tol-all/status",
	     "application/merge-patch+json",
	     "{\"status\":{\"hostIPs\":[{\"ip\":\"192.168.0.4\"}]}}", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "status.hostIP"), "192.168.0.4");
	tresp_free(&r);
}

/* The kubernetes Service points at the port the server serves on. */
static void test_kubernetes_service_port(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j = tget(t, "/api/v1/namespaces/default/services/kubernetes", 200, &r);
	int64_t port = 0;

	assert_int_equal(jv_path_int(j, "spec.ports[0].targetPort", &port), 0);
	assert_int_equal(port, api_server_port(t->s));
	assert_string_equal(tstr(j, "spec.clusterIP"), "10.96.0.1");
	tresp_free(&r);
}

/* SetDefaults_Job (pkg/apis/batch/v1/defaults.go): a Job without labels takes its template's
 * as written (not the controller-uid/job-name labels the create adds to the template); a Job
 * with labels keeps its own. */
static void test_job_labels_from_template(void **state)
{
	static const char fmt[] =
	    "{\"metadata\":{\"name\":\"%s\"%s},\"spec\":{\"template\":{\"metadata\":{"
	    "\"labels\":{\"team\":\"x\"}},\"spec\":{\"restartPolicy\":\"Never\",\"containers\":"
	    "[{\"name\":\"c\",\"image\":\"i\"}]}}}}";
	struct tsrv *t = *state;
	struct tresp r;
	char body[512];
	struct jv *j;

	snprintf(body, sizeof(body), fmt, "jl1", "");
	j = tpost(t, "/apis/batch/v1/namespaces/default/jobs", body, 201, &r);
	assert_string_equal(tstr(j, "metadata.labels.team"), "x");
	assert_int_equal(jv_path(j, "metadata.labels")->len, 1);
	/* the template got the controller's labels too */
	assert_string_equal(tstr(j, "spec.template.metadata.labels.job-name"), "jl1");
	tresp_free(&r);
	snprintf(body, sizeof(body), fmt, "jl2", ",\"labels\":{\"own\":\"y\"}");
	j = tpost(t, "/apis/batch/v1/namespaces/default/jobs", body, 201, &r);
	assert_string_equal(tstr(j, "metadata.labels.own"), "y");
	assert_null(jv_path(j, "metadata.labels.team"));
	tresp_free(&r);
}

/* kubectl get -A --field-selector metadata.name=X: the name in every namespace (the list
 * across namespaces cannot read one key); in one namespace, that one. */
static void test_name_selector_all_namespaces(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	tpost(t, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"fsa\"}}", 201, &r);
	tresp_free(&r);
	tpost(t, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"fsb\"}}", 201, &r);
	tresp_free(&r);
	tpost(t, "/api/v1/namespaces/fsa/configmaps", "{\"metadata\":{\"name\":\"same\"}}", 201,
	      &r);
	tresp_free(&r);
	tpost(t, "/api/v1/namespaces/fsb/configmaps", "{\"metadata\":{\"name\":\"same\"}}", 201,
	      &r);
	tresp_free(&r);
	j = tget(t, "/api/v1/configmaps?fieldSelector=metadata.name%3Dsame", 200, &r);
	assert_int_equal(jv_get(j, "items")->len, 2);
	tresp_free(&r);
	j = tget(t, "/api/v1/namespaces/fsb/configmaps?fieldSelector=metadata.name%3Dsame", 200,
		 &r);
	assert_int_equal(jv_get(j, "items")->len, 1);
	assert_string_equal(tstr(jv_get(j, "items")->head, "metadata.namespace"), "fsb");
	tresp_free(&r);
}

/* A field selector reads an absent field as kube's GetAttrs formats its Go zero value:
 * spec.unschedulable=false finds a node that does not set it, spec.hostNetwork=false a pod. */
static void test_field_selector_absent_bool(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	tpost(t, "/api/v1/nodes", "{\"metadata\":{\"name\":\"fsel-n\"}}", 201, &r);
	tresp_free(&r);
	j = tget(t, "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse,metadata.name%3Dfsel-n",
		 200, &r);
	assert_int_equal(jv_get(j, "items")->len, 1);
	tresp_free(&r);
	j = tget(t, "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue,metadata.name%3Dfsel-n",
		 200, &r);
	assert_int_equal(jv_get(j, "items")->len, 0);
	tresp_free(&r);
	tpost(t, "/api/v1/namespaces/default/pods",
	      "{\"metadata\":{\"name\":\"fsel-p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
	      "\"image\":\"i\"}]}}",
	      201, &r);
	tresp_free(&r);
	j = tget(t,
		 "/api/v1/namespaces/default/pods?fieldSelector=spec.hostNetwork%3Dfalse,"
		 "metadata.name%3Dfsel-p",
		 200, &r);
	assert_int_equal(jv_get(j, "items")->len, 1);
	tresp_free(&r);
	j = tget(t,
		 "/api/v1/namespaces/default/pods?fieldSelector=spec.hostNetwork!%3Dfalse,"
		 "metadata.name%3Dfsel-p",
		 200, &r);
	assert_int_equal(jv_get(j, "items")->len, 0);
	tresp_free(&r);
}

/* A streamed list with items larger than a chunk: they go out across chunks, whole. */
static void test_list_stream_big_items(void **state)
{
	struct tsrv *t = *state;
	size_t vlen = 40 * 1024;
	char *body = malloc(vlen + 256), *v = malloc(vlen + 1);
	struct tresp r;
	struct jv *j;

	assert_non_null(body);
	assert_non_null(v);
	memset(v, 'x', vlen);
	v[vlen] = 0;
	tpost(t, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"bigitems\"}}", 201, &r);
	tresp_free(&r);
	for (int i = 0; i < 300; i++) {
		snprintf(body, vlen + 256,
			 "{\"metadata\":{\"name\":\"cm%03d\"},\"data\":{\"k\":\"%s\"}}", i,
			 i % 50 == 7 ? v : "small");
		tpost(t, "/api/v1/namespaces/bigitems/configmaps", body, 201, &r);
		tresp_free(&r);
	}
	j = tget(t, "/api/v1/namespaces/bigitems/configmaps", 200, &r);
	assert_int_equal(jv_count(jv_get(j, "items")), 300);
	for (int i = 0; i < 300; i++) {
		char path[64];
		const struct jv *k;

		snprintf(path, sizeof(path), "items[%d].data.k", i);
		k = jv_path(j, path);
		assert_non_null(k);
		assert_int_equal(k->len, i % 50 == 7 ? vlen : 5);
		snprintf(path, sizeof(path), "items[%d].metadata.resourceVersion", i);
		assert_non_null(jv_path(j, path));
	}
	tresp_free(&r);
	free(body);
	free(v);
}

/* The warning recorder drops a text apimachinery's NewWarningHeader refuses (invalid UTF-8,
 * a control character, empty); the header quotes the rest as makeQuotedString does */
static void test_warning_texts(void **state)
{
	struct api_req r = {0};
	struct k8s_buf h = {0};

	api_warn(&r, "%s", "tab\there");
	api_warn(&r, "%s", "bad \xff byte");
	api_warn(&r, "%s", "C1 \xc2\x85 control");
	api_warn(&r, "%s", "");
	assert_int_equal(r.nwarnings, 0);
	api_warn(&r, "%s", "caf\xc3\xa9 <ok> & \"q\" \\");
	api_warn(&r, "%s", "caf\xc3\xa9 <ok> & \"q\" \\");
	assert_int_equal(r.nwarnings, 1);
	api_warning_header(&h, r.warnings.p, false);
	assert_string_equal(h.p, "299 - \"caf\xc3\xa9 <ok> & \\\"q\\\" \\\\\"");
	k8s_buf_free(&h);
	k8s_buf_free(&r.warnings);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_discovery),
	    cmocka_unit_test(test_create_get_conflict),
	    cmocka_unit_test(test_warning_texts),
	    cmocka_unit_test(test_generate_name_and_decode),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_list_select_page_table),
	    cmocka_unit_test(test_list_stream),
	    cmocka_unit_test(test_list_stream_big_items),
	    cmocka_unit_test(test_service_allocation),
	    cmocka_unit_test(test_service_allocation_bands),
	    cmocka_unit_test(test_hpa_v1_conversion),
	    cmocka_unit_test(test_deletecollection),
	    cmocka_unit_test(test_graceful_delete_pending),
	    cmocka_unit_test(test_namespace_finalize),
	    cmocka_unit_test(test_body_limit),
	    cmocka_unit_test(test_pod_priority_class),
	    cmocka_unit_test(test_pod_admission_details),
	    cmocka_unit_test(test_kubernetes_service_port),
	    cmocka_unit_test(test_job_labels_from_template),
	    cmocka_unit_test(test_name_selector_all_namespaces),
	    cmocka_unit_test(test_field_selector_absent_bool),
	};

	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
