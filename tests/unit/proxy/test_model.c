/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's Kubernetes semantics, from manifest text to frontends: decode (object model +
 * the proxy's semantic checks) and the model's endpoint selection rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "drover_abi.h"
#include "k8s.h"
#include "model.h"

struct load {
	struct proxy_model *m;
	char err[512];
	int rc;
};

static int on_obj(struct k8s_obj *o, void *ud)
{
	struct load *l = ud;
	const struct k8s_kind *k = k8s_obj_kind(o);

	if (!strcmp(k->kind, "Service")) {
		struct k8s_service *s;

		l->rc = decode_service_obj(o, &s, l->err, sizeof(l->err));
		if (!l->rc)
			model_set_service(l->m, s);
	} else if (!strcmp(k->kind, "EndpointSlice")) {
		struct k8s_slice *s;

		l->rc = decode_slice_obj(o, &s, l->err, sizeof(l->err));
		if (!l->rc)
			model_set_slice(l->m, s);
	}
	k8s_obj_free(o);
	return l->rc;
}

/* Load YAML into a model; returns 0, or the decode/parse error (message in l->err). */
static int load_yaml(struct load *l, const char *yaml)
{
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT, .origin = "test.yaml"};
	struct k8s_errors errs = {0};
	int rc;

	l->err[0] = '\0';
	l->rc = 0;
	rc = k8s_parse_stream(yaml, strlen(yaml), &po, on_obj, l, &errs);
	if (rc && !l->err[0])
		k8s_errors_format(&errs, "test.yaml", NULL, l->err, sizeof(l->err));
	k8s_errors_free(&errs);
	return rc;
}

static struct proxy_model *new_model(const char *node)
{
	struct model_opts o = {.node_name = node};

	return model_new(&o, NULL);
}

static const struct lb_frontend *find_fe(const struct lb_frontend *v, size_t n, const char *addr,
					 uint16_t port, uint8_t proto)
{
	struct in_addr a = {0};

	if (addr)
		inet_pton(AF_INET, addr, &a);
	for (size_t i = 0; i < n; i++) {
		if (v[i].key.addr == a.s_addr && v[i].key.port == htons(port) &&
		    v[i].key.proto == proto)
			return &v[i];
	}
	return NULL;
}

/* The frontend of one lookup scope (enum drv_svc_scope); find_fe finds the external one, the
 * first the model lists. */
static const struct lb_frontend *find_scope(const struct lb_frontend *v, size_t n, const char *addr,
					    uint16_t port, uint8_t scope)
{
	struct in_addr a = {0};

	if (addr)
		inet_pton(AF_INET, addr, &a);
	for (size_t i = 0; i < n; i++) {
		if (v[i].key.addr == a.s_addr && v[i].key.port == htons(port) &&
		    v[i].key.proto == DRV_PROTO_TCP && v[i].key.scope == scope)
			return &v[i];
	}
	return NULL;
}

static bool has_backend(const struct lb_frontend *fe, const char *addr, uint16_t port)
{
	struct in_addr a;

	inet_pton(AF_INET, addr, &a);
	for (size_t i = 0; i < fe->nbackends; i++) {
		if (fe->backends[i].addr == a.s_addr && fe->backends[i].port == htons(port))
			return true;
	}
	return false;
}

static const char *svc_web = "apiVersion: v1\n"
			     "kind: Service\n"
			     "metadata: {name: web, namespace: shop}\n"
			     "spec:\n"
			     "  type: NodePort\n"
			     "  clusterIP: 10.96.0.10\n"
			     "  clusterIPs: [10.96.0.10]\n"
			     "  externalIPs: [192.0.2.7]\n"
			     "  sessionAffinity: ClientIP\n"
			     "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n"
			     "  ports:\n"
			     "  - {name: http, port: 80, targetPort: web, nodePort: 30080}\n"
			     "  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}\n"
			     "status:\n"
			     "  loadBalancer:\n"
			     "    ingress:\n"
			     "    - {ip: 198.51.100.9}\n"
			     "    - {ip: 198.51.100.10, ipMode: Proxy}\n"
			     "    - {ip: 198.51.100.11, ipMode: VIP}\n"
			     "---\n"
			     "apiVersion: discovery.k8s.io/v1\n"
			     "kind: EndpointSlice\n"
			     "metadata:\n"
			     "  name: web-1\n"
			     "  namespace: shop\n"
			     "  labels: {kubernetes.io/service-name: web}\n"
			     "addressType: IPv4\n"
			     "ports:\n"
			     "- {name: http, port: 8080}\n"
			     "- {name: dns, port: 5353, protocol: UDP}\n"
			     "endpoints:\n"
			     "- addresses: [10.244.1.11]\n"
			     "  conditions: {ready: true}\n"
			     "  nodeName: n1\n"
			     "- addresses: [10.244.2.12]\n"
			     "  nodeName: n2\n"
			     "- addresses: [10.244.2.13]\n"
			     "  conditions: {ready: false, serving: true, terminating: true}\n"
			     "  nodeName: n2\n";

static void test_frontends_of_a_nodeport_service(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct lb_frontend *fes;
	const struct lb_frontend *fe;
	struct load l = {.m = m};
	size_t n;

	(void)state;
	assert_int_equal(load_yaml(&l, svc_web), 0);
	assert_int_equal(model_service_frontends(m, "shop", "web", &fes, &n), 0);
	/* 2 ports x (clusterIP + externalIP + 2 LB IPs) + 1 NodePort (TCP only has one); the
	 * ipMode Proxy ingress IP is the load balancer's, not taken (kube-proxy's rule). */
	assert_int_equal(n, 9);
	fe = find_fe(fes, n, "10.96.0.10", 80, DRV_PROTO_TCP);
	assert_non_null(fe);
	assert_true(fe->flags & DRV_SVC_F_CLUSTERIP);
	assert_true(fe->flags & DRV_SVC_F_AFFINITY);
	assert_int_equal(fe->affinity_timeout, 600);
	/* Ready endpoints only; the terminating one waits. Named targetPort resolved through
	 * the slice's port named like the service port. */
	assert_int_equal(fe->nbackends, 2);
	assert_true(has_backend(fe, "10.244.1.11", 8080));
	assert_true(has_backend(fe, "10.244.2.12", 8080));
	assert_false(has_backend(fe, "10.244.2.13", 8080));
	fe = find_fe(fes, n, NULL, 30080, DRV_PROTO_TCP);
	assert_non_null(fe);
	assert_true(fe->flags & DRV_SVC_F_NODEPORT);
	assert_int_equal(fe->nbackends, 2);
	fe = find_fe(fes, n, "192.0.2.7", 53, DRV_PROTO_UDP);
	assert_non_null(fe);
	assert_true(fe->flags & DRV_SVC_F_EXTERNAL);
	assert_true(has_backend(fe, "10.244.1.11", 5353));
	assert_non_null(find_fe(fes, n, "198.51.100.9", 80, DRV_PROTO_TCP));
	assert_non_null(find_fe(fes, n, "198.51.100.11", 80, DRV_PROTO_TCP));
	assert_null(find_fe(fes, n, "198.51.100.10", 80, DRV_PROTO_TCP));
	/* Local endpoint flag. */
	for (size_t i = 0; i < fe->nbackends; i++) {
		char a[16];

		inet_ntop(AF_INET, &fe->backends[i].addr, a, sizeof(a));
		assert_int_equal(!!(fe->backends[i].flags & DRV_BE_F_LOCAL),
				 !strcmp(a, "10.244.1.11"));
	}
	model_frontends_free(fes, n);
	model_free(m);
}

static void test_terminating_serve_when_none_ready(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct lb_frontend *fes;
	const struct lb_frontend *fe;
	struct load l = {.m = m};
	size_t n;

	(void)state;
	assert_int_equal(
	    load_yaml(&l, "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
			  "spec: {clusterIP: 10.96.0.20, ports: [{port: 80, targetPort: 8080}]}\n"
			  "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			  "metadata: {name: s-1, labels: {kubernetes.io/service-name: s}}\n"
			  "addressType: IPv4\nports: [{name: '', port: 8080}]\n"
			  "endpoints:\n"
			  "- {addresses: [10.0.0.1], conditions: {ready: false, serving: true, "
			  "terminating: true}}\n"
			  "- {addresses: [10.0.0.2], conditions: {ready: false, serving: false, "
			  "terminating: true}}\n"
			  "- {addresses: [10.0.0.3], conditions: {ready: false}}\n"),
	    0);
	assert_int_equal(model_service_frontends(m, "default", "s", &fes, &n), 0);
	fe = find_fe(fes, n, "10.96.0.20", 80, DRV_PROTO_TCP);
	assert_non_null(fe);
	assert_int_equal(fe->nbackends, 1);
	assert_true(has_backend(fe, "10.0.0.1", 8080));
	model_frontends_free(fes, n);
	model_free(m);
}

static const char *local_policies =
    "apiVersion: v1\nkind: Service\nmetadata: {name: loc}\n"
    "spec:\n"
    "  type: NodePort\n"
    "  clusterIP: 10.96.0.30\n"
    "  internalTrafficPolicy: Local\n"
    "  externalTrafficPolicy: Local\n"
    "  ports: [{port: 80, targetPort: 8080, nodePort: 30030}]\n"
    "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: loc-1, labels: {kubernetes.io/service-name: loc}}\n"
    "addressType: IPv4\nports: [{port: 8080}]\n"
    "endpoints:\n"
    "- {addresses: [10.0.1.1], nodeName: here}\n"
    "- {addresses: [10.0.2.1], nodeName: there}\n";

static void test_local_traffic_policies(void **state)
{
	struct lb_frontend *fes;
	const struct lb_frontend *fe;
	size_t n;

	(void)state;
	/* On node "here": only the local endpoint, on both frontends, flagged Local. */
	{
		struct proxy_model *m = new_model("here");
		struct load l = {.m = m};

		assert_int_equal(load_yaml(&l, local_policies), 0);
		assert_int_equal(model_service_frontends(m, "default", "loc", &fes, &n), 0);
		fe = find_fe(fes, n, "10.96.0.30", 80, DRV_PROTO_TCP);
		assert_int_equal(fe->nbackends, 1);
		assert_true(has_backend(fe, "10.0.1.1", 8080));
		assert_true(fe->flags & DRV_SVC_F_LOCAL);
		assert_false(fe->flags & DRV_SVC_F_NO_LOCAL);
		fe = find_fe(fes, n, NULL, 30030, DRV_PROTO_TCP);
		assert_int_equal(fe->nbackends, 1);
		assert_true(fe->flags & DRV_SVC_F_LOCAL);
		model_frontends_free(fes, n);
		model_free(m);
	}
	/* On a node with no endpoint: no backend at all (traffic not sent away); the ClusterIP
	 * says the service has endpoints elsewhere (dropped, not refused, as kube-proxy). */
	{
		struct proxy_model *m = new_model("elsewhere");
		struct load l = {.m = m};

		assert_int_equal(load_yaml(&l, local_policies), 0);
		assert_int_equal(model_service_frontends(m, "default", "loc", &fes, &n), 0);
		assert_int_equal(find_fe(fes, n, "10.96.0.30", 80, DRV_PROTO_TCP)->nbackends, 0);
		assert_true(find_fe(fes, n, "10.96.0.30", 80, DRV_PROTO_TCP)->flags &
			    DRV_SVC_F_NO_LOCAL);
		assert_int_equal(find_fe(fes, n, NULL, 30030, DRV_PROTO_TCP)->nbackends, 0);
		model_frontends_free(fes, n);
		model_free(m);
	}
}

/* externalTrafficPolicy Local, as kube-proxy's KUBE-EXT-X: each external frontend has two
 * scopes, the external one with the local endpoints (traffic from outside: none here means
 * dropped) and the internal one with every endpoint of the cluster (the node and its pods),
 * even when internalTrafficPolicy is Local too; the ClusterIP keeps one scope and its
 * internal policy. */
static void test_external_local_two_scopes(void **state)
{
	const char *nodes[] = {"here", "elsewhere"};
	const struct lb_frontend *ext, *in;
	struct lb_frontend *fes;
	size_t n;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct proxy_model *m = new_model(nodes[i]);
		struct load l = {.m = m};
		bool here = i == 0;

		assert_int_equal(load_yaml(&l, local_policies), 0);
		assert_int_equal(model_service_frontends(m, "default", "loc", &fes, &n), 0);
		assert_int_equal(n, 3);
		ext = find_scope(fes, n, NULL, 30030, DRV_SCOPE_EXT);
		in = find_scope(fes, n, NULL, 30030, DRV_SCOPE_INT);
		assert_non_null(ext);
		assert_non_null(in);
		assert_int_equal(ext->flags,
				 DRV_SVC_F_NODEPORT | DRV_SVC_F_LOCAL | DRV_SVC_F_TWO_SCOPES);
		assert_int_equal(ext->nbackends, here ? 1 : 0);
		assert_int_equal(in->flags, DRV_SVC_F_NODEPORT);
		assert_int_equal(in->nbackends, 2);
		assert_true(has_backend(in, "10.0.1.1", 8080));
		assert_true(has_backend(in, "10.0.2.1", 8080));
		assert_string_equal(in->name, ext->name);
		ext = find_scope(fes, n, "10.96.0.30", 80, DRV_SCOPE_EXT);
		assert_non_null(ext);
		assert_int_equal(ext->flags, DRV_SVC_F_CLUSTERIP | DRV_SVC_F_LOCAL |
						 (here ? 0 : DRV_SVC_F_NO_LOCAL));
		assert_int_equal(ext->nbackends, here ? 1 : 0);
		assert_null(find_scope(fes, n, "10.96.0.30", 80, DRV_SCOPE_INT));
		model_frontends_free(fes, n);
		model_free(m);
	}
	/* externalTrafficPolicy Cluster: one scope. */
	{
		struct proxy_model *m = new_model("n1");
		struct load l = {.m = m};

		assert_int_equal(load_yaml(&l, svc_web), 0);
		assert_int_equal(model_service_frontends(m, "shop", "web", &fes, &n), 0);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(fes[i].key.scope, DRV_SCOPE_EXT);
			assert_false(fes[i].flags & DRV_SVC_F_TWO_SCOPES);
		}
		model_frontends_free(fes, n);
		model_free(m);
	}
}

/* eTP Local alone: the ClusterIP still uses every endpoint. */
static void test_external_local_leaves_clusterip_alone(void **state)
{
	struct proxy_model *m = new_model("here");
	struct load l = {.m = m};
	struct lb_frontend *fes;
	size_t n;

	(void)state;
	assert_int_equal(
	    load_yaml(&l, "apiVersion: v1\nkind: Service\nmetadata: {name: loc}\n"
			  "spec:\n"
			  "  type: NodePort\n"
			  "  clusterIP: 10.96.0.30\n"
			  "  externalTrafficPolicy: Local\n"
			  "  ports: [{port: 80, targetPort: 8080, nodePort: 30030}]\n"
			  "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			  "metadata: {name: loc-1, labels: {kubernetes.io/service-name: loc}}\n"
			  "addressType: IPv4\nports: [{port: 8080}]\n"
			  "endpoints:\n"
			  "- {addresses: [10.0.1.1], nodeName: here}\n"
			  "- {addresses: [10.0.2.1], nodeName: there}\n"),
	    0);
	assert_int_equal(model_service_frontends(m, "default", "loc", &fes, &n), 0);
	assert_int_equal(find_fe(fes, n, "10.96.0.30", 80, DRV_PROTO_TCP)->nbackends, 2);
	assert_int_equal(find_fe(fes, n, NULL, 30030, DRV_PROTO_TCP)->nbackends, 1);
	model_frontends_free(fes, n);
	model_free(m);
}

/* Selector-less services with hand-written slices, read as kube-proxy's EndpointSliceCache
 * reads them: a slice port serves the service port of the same name (not the targetPort's
 * name) and a slice listing no ports serves nothing. Endpoints of
 * several slices merge, duplicates once; IPv6 slices are ignored. */
static void test_hand_written_slices(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct load l = {.m = m};
	struct lb_frontend *fes;
	const struct lb_frontend *fe;
	size_t n;

	(void)state;
	assert_int_equal(
	    load_yaml(&l,
		      "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\n"
		      "spec:\n  clusterIP: 10.96.0.40\n  ports:\n"
		      "  - {name: a, port: 80, targetPort: metrics}\n"
		      "  - {name: b, port: 81, targetPort: 9000}\n"
		      "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		      "metadata: {name: ext-named, labels: {kubernetes.io/service-name: ext}}\n"
		      "addressType: IPv4\nports: [{name: a, port: 9100}]\n"
		      "endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}]\n"
		      "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		      "metadata: {name: ext-dup, labels: {kubernetes.io/service-name: ext}}\n"
		      "addressType: IPv4\nports: [{name: a, port: 9100}]\n"
		      "endpoints: [{addresses: [10.1.0.2]}]\n"
		      "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		      "metadata: {name: ext-target, labels: {kubernetes.io/service-name: ext}}\n"
		      "addressType: IPv4\nports: [{name: metrics, port: 9101}]\n"
		      "endpoints: [{addresses: [10.1.0.4]}]\n"
		      "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		      "metadata: {name: ext-noports, labels: {kubernetes.io/service-name: ext}}\n"
		      "addressType: IPv4\n"
		      "endpoints: [{addresses: [10.1.0.3]}, {addresses: [10.1.0.3]}]\n"
		      "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		      "metadata: {name: ext-v6, labels: {kubernetes.io/service-name: ext}}\n"
		      "addressType: IPv6\nports: [{name: b, port: 9000}]\n"
		      "endpoints: [{addresses: ['fd00::1']}]\n"),
	    0);
	assert_int_equal(model_service_frontends(m, "default", "ext", &fes, &n), 0);
	fe = find_fe(fes, n, "10.96.0.40", 80, DRV_PROTO_TCP);
	assert_int_equal(fe->nbackends, 2);
	assert_true(has_backend(fe, "10.1.0.1", 9100));
	assert_true(has_backend(fe, "10.1.0.2", 9100));
	fe = find_fe(fes, n, "10.96.0.40", 81, DRV_PROTO_TCP);
	assert_int_equal(fe->nbackends, 0);
	model_frontends_free(fes, n);

	/* Deleting a slice takes its endpoints away. */
	assert_int_equal(model_del_slice(m, "default", "ext-named"), 0);
	assert_int_equal(model_service_frontends(m, "default", "ext", &fes, &n), 0);
	fe = find_fe(fes, n, "10.96.0.40", 80, DRV_PROTO_TCP);
	assert_int_equal(fe->nbackends, 1);
	assert_true(has_backend(fe, "10.1.0.2", 9100));
	model_frontends_free(fes, n);
	model_free(m);
}

/* A Service labelled service.kubernetes.io/service-proxy-name (any value, empty too) belongs
 * to another proxy: no frontend, as kube-proxy's "!service-proxy-name" selector leaves it. */
static void test_other_proxys_service(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct load l = {.m = m};
	struct lb_frontend *fes;
	size_t n;

	(void)state;
	assert_int_equal(
	    load_yaml(&l,
		      "apiVersion: v1\nkind: Service\nmetadata:\n  name: theirs\n"
		      "  labels: {service.kubernetes.io/service-proxy-name: ''}\n"
		      "spec: {clusterIP: 10.96.0.41, ports: [{port: 80}]}\n"
		      "---\napiVersion: v1\nkind: Service\nmetadata: {name: ours, labels: {a: b}}\n"
		      "spec: {clusterIP: 10.96.0.42, ports: [{port: 80}]}\n"),
	    0);
	assert_int_equal(model_service_frontends(m, "default", "theirs", &fes, &n), 0);
	assert_int_equal(n, 0);
	free(fes);
	assert_int_equal(model_service_frontends(m, "default", "ours", &fes, &n), 0);
	assert_int_equal(n, 1);
	model_frontends_free(fes, n);
	model_free(m);
}

/* The health checks kube-proxy's service health server answers: services with a
 * healthCheckNodePort and externalTrafficPolicy Local, each with its ready endpoints on this
 * node, an address counted once across slices, terminating and other nodes' not at all. */
static void test_health_checks(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct load l = {.m = m};
	struct model_hc *hc;
	size_t n;

	(void)state;
	assert_int_equal(
	    load_yaml(
		&l,
		"apiVersion: v1\nkind: Service\nmetadata: {name: lb}\n"
		"spec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: "
		"32002, clusterIP: 10.96.0.50, ports: [{port: 80, nodePort: 30050}]}\n"
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: early}\n"
		"spec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: "
		"32001, clusterIP: 10.96.0.51, ports: [{port: 80, nodePort: 30051}]}\n"
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: cluster}\n"
		"spec: {type: LoadBalancer, healthCheckNodePort: 32003, clusterIP: 10.96.0.52,\n"
		"  ports: [{port: 80, nodePort: 30052}]}\n"
		"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: theirs\n"
		"  labels: {service.kubernetes.io/service-proxy-name: x}\n"
		"spec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: "
		"32004, clusterIP: 10.96.0.53, ports: [{port: 80, nodePort: 30053}]}\n"
		"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: lb-1, labels: {kubernetes.io/service-name: lb}}\n"
		"addressType: IPv4\nports: [{name: '', port: 8080}]\nendpoints:\n"
		"- {addresses: [10.0.0.1], nodeName: n1}\n"
		"- {addresses: [10.0.0.2], nodeName: n2}\n"
		"- {addresses: [10.0.0.3], nodeName: n1, conditions: {ready: false, serving: true, "
		"terminating: true}}\n"
		"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: lb-2, labels: {kubernetes.io/service-name: lb}}\n"
		"addressType: IPv4\nports: [{name: '', port: 8080}]\nendpoints:\n"
		"- {addresses: [10.0.0.1], nodeName: n1}\n"
		"- {addresses: [10.0.0.4], nodeName: n1}\n"),
	    0);
	assert_int_equal(model_health_checks(m, &hc, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(hc[0].name, "early");
	assert_int_equal(hc[0].port, 32001);
	assert_int_equal(hc[0].local_endpoints, 0);
	assert_string_equal(hc[1].name, "lb");
	assert_string_equal(hc[1].ns, "default");
	assert_int_equal(hc[1].port, 32002);
	assert_int_equal(hc[1].local_endpoints, 2);
	free(hc);
	/* lb turns to the Cluster policy, cluster to Local: the set follows */
	assert_int_equal(
	    load_yaml(&l, "apiVersion: v1\nkind: Service\nmetadata: {name: lb}\n"
			  "spec: {type: LoadBalancer, clusterIP: 10.96.0.50, ports: [{port: 80, "
			  "nodePort: 30050}]}\n"
			  "---\napiVersion: v1\nkind: Service\nmetadata: {name: cluster}\n"
			  "spec: {type: LoadBalancer, externalTrafficPolicy: Local, "
			  "healthCheckNodePort: 32003, clusterIP: 10.96.0.52,\n"
			  "  ports: [{port: 80, nodePort: 30052}]}\n"),
	    0);
	assert_int_equal(model_del_service(m, "default", "early"), 0);
	assert_int_equal(model_health_checks(m, &hc, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(hc[0].name, "cluster");
	assert_int_equal(hc[0].port, 32003);
	free(hc);
	model_free(m);
}

/* loadBalancerSourceRanges (as the API validates them: space-padded values, host bits set,
 * either family; only on type LoadBalancer): the LoadBalancer IP frontends carry
 * DRV_SVC_F_SRC_RANGES, the ClusterIP and NodePort ones do not. */
static void test_source_ranges(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct load l = {.m = m};
	struct lb_frontend *fes;
	const struct lb_frontend *fe;
	size_t n;

	(void)state;
	assert_int_equal(load_yaml(&l,
				   "apiVersion: v1\nkind: Service\nmetadata: {name: lb}\n"
				   "spec:\n  type: LoadBalancer\n  clusterIP: 10.96.0.60\n"
				   "  loadBalancerSourceRanges: [10.0.0.0/8, ' 192.168.1.7/24 ', "
				   "'2001:db8::/64']\n"
				   "  ports: [{port: 80, nodePort: 30060}]\n"
				   "status: {loadBalancer: {ingress: [{ip: 203.0.113.60}]}}\n"),
			 0);
	assert_int_equal(model_service_frontends(m, "default", "lb", &fes, &n), 0);
	assert_int_equal(n, 3);
	fe = find_fe(fes, n, "203.0.113.60", 80, DRV_PROTO_TCP);
	assert_non_null(fe);
	assert_true(fe->flags & DRV_SVC_F_SRC_RANGES);
	assert_false(find_fe(fes, n, "10.96.0.60", 80, DRV_PROTO_TCP)->flags &
		     DRV_SVC_F_SRC_RANGES);
	assert_false(find_fe(fes, n, NULL, 30060, DRV_PROTO_TCP)->flags & DRV_SVC_F_SRC_RANGES);
	model_frontends_free(fes, n);
	model_free(m);

	m = new_model("n1");
	l.m = m;
	assert_int_not_equal(
	    load_yaml(&l, "apiVersion: v1\nkind: Service\nmetadata: {name: np}\n"
			  "spec: {type: NodePort, loadBalancerSourceRanges: [10.0.0.0/8],\n"
			  "  ports: [{port: 80}]}\n"),
	    0);
	assert_non_null(strstr(l.err, "spec.LoadBalancerSourceRanges: Forbidden: may only be used "
				      "when `type` is 'LoadBalancer'"));
	assert_int_not_equal(
	    load_yaml(&l, "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\n"
			  "spec: {type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/8, "
			  "10.1.0.0/33],\n  ports: [{port: 80}]}\n"),
	    0);
	assert_non_null(strstr(l.err, "spec.LoadBalancerSourceRanges[1]: Invalid value: "
				      "\"10.1.0.0/33\": must be a valid CIDR value"));
	model_free(m);
}

static void test_headless_and_external_name(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct load l = {.m = m};
	struct lb_frontend *fes;
	size_t n;

	(void)state;
	assert_int_equal(load_yaml(&l,
				   "apiVersion: v1\nkind: Service\nmetadata: {name: h}\n"
				   "spec: {clusterIP: None, ports: [{port: 80}]}\n---\n"
				   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
				   "spec: {type: ExternalName, externalName: db.example.com}\n"),
			 0);
	assert_int_equal(model_service_frontends(m, "default", "h", &fes, &n), 0);
	assert_int_equal(n, 0);
	free(fes);
	assert_int_equal(model_service_frontends(m, "default", "x", &fes, &n), 0);
	assert_int_equal(n, 0);
	free(fes);
	model_free(m);
}

/* An address listed twice gives one frontend, of the first kind: an externalIP repeating
 * the clusterIP leaves the ClusterIP frontend (and its internal policy) alone. */
static void test_repeated_addresses(void **state)
{
	struct proxy_model *m = new_model("n1");
	struct load l = {.m = m};
	const struct lb_frontend *fe;
	struct lb_frontend *fes;
	size_t n;

	(void)state;
	assert_int_equal(load_yaml(&l,
				   "apiVersion: v1\nkind: Service\nmetadata: {name: r}\n"
				   "spec: {clusterIP: 10.96.0.50, externalTrafficPolicy: Local,\n"
				   "  type: LoadBalancer,\n"
				   "  externalIPs: [10.96.0.50, 192.0.2.9, 192.0.2.9],\n"
				   "  ports: [{port: 80, nodePort: 30050}]}\n"
				   "status: {loadBalancer: {ingress: [{ip: 192.0.2.9}]}}\n"),
			 0);
	assert_int_equal(model_service_frontends(m, "default", "r", &fes, &n), 0);
	/* externalTrafficPolicy Local: the two external frontends have an internal scope each,
	 * the address that stayed a ClusterIP has none */
	assert_int_equal(n, 5);
	assert_non_null(find_scope(fes, n, "192.0.2.9", 80, DRV_SCOPE_INT));
	assert_non_null(find_scope(fes, n, NULL, 30050, DRV_SCOPE_INT));
	assert_null(find_scope(fes, n, "10.96.0.50", 80, DRV_SCOPE_INT));
	fe = find_fe(fes, n, "10.96.0.50", 80, DRV_PROTO_TCP);
	assert_non_null(fe);
	assert_int_equal(fe->flags & (DRV_SVC_F_CLUSTERIP | DRV_SVC_F_EXTERNAL | DRV_SVC_F_LOCAL),
			 DRV_SVC_F_CLUSTERIP);
	fe = find_fe(fes, n, "192.0.2.9", 80, DRV_PROTO_TCP);
	assert_non_null(fe);
	assert_true(fe->flags & DRV_SVC_F_EXTERNAL);
	assert_non_null(find_fe(fes, n, NULL, 30050, DRV_PROTO_TCP));
	model_frontends_free(fes, n);
	model_free(m);
}

/* Bad input: one clear message naming the field. */
static void expect_error(const char *yaml, const char *needle)
{
	struct proxy_model *m = new_model("n1");
	struct load l = {.m = m};

	assert_int_not_equal(load_yaml(&l, yaml), 0);
	if (!strstr(l.err, needle))
		fail_msg("error '%s' does not contain '%s'", l.err, needle);
	model_free(m);
}

static void test_bad_input(void **state)
{
	(void)state;
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {clusterIP: 10.96.0.300, ports: [{port: 80}]}\n",
		     "spec.clusterIP: Invalid value: \"10.96.0.300\"");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {clusterIP: 10.96.0.3, ports: [{port: 70000}]}\n",
		     "spec.ports[0].port: Invalid value: 70000");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {ports: [{name: a, port: 80}, {name: b, port: 80}]}\n",
		     "spec.ports[1]: Duplicate value: \"80/TCP\"");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {ports: [{port: 80}, {port: 81}]}\n",
		     "spec.ports[1].name: Required value");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {ports: [{port: 80, targetPort: 0}]}\n",
		     "spec.ports[0].targetPort: Invalid value: 0");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: "
		     "{timeoutSeconds: 0}}}\n",
		     "timeoutSeconds: Invalid value: 0");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {externalIPs: [not-an-ip]}\n",
		     "spec.externalIPs[0]: Invalid value: \"not-an-ip\"");
	expect_error("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata: {name: e, labels: {kubernetes.io/service-name: s}}\n"
		     "addressType: IPv4\nendpoints: [{addresses: ['fd00::1']}]\n",
		     "endpoints[0].addresses[0]: Invalid value: \"fd00::1\"");
	/* Caught by the object model's schema: unknown field, wrong type, unknown kind. */
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {portz: [{port: 80}]}\n",
		     "portz");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {ports: [{port: eighty}]}\n",
		     "spec.ports[0].port");
	expect_error("apiVersion: v1\nkind: Servce\nmetadata: {name: s}\n", "Servce");
	expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [}\n",
		     "test.yaml");
}

static void test_conflicts(void **state)
{
	struct k8s_service a = {.ns = "default", .name = "a"}, b = a, c = a;
	struct svc_port pa = {.proto = DRV_PROTO_TCP, .port = 80, .node_port = 30001};
	struct svc_port pb = pa;
	struct k8s_service *v[2];
	char msg[256];

	(void)state;
	a.cluster_ips[0] = htonl(0x0a60000a);
	a.ncluster_ips = 1;
	a.ports = &pa;
	a.nports = 1;
	b = a;
	snprintf(b.name, sizeof(b.name), "b");
	b.ports = &pb;
	v[0] = &a;
	v[1] = &b;
	assert_int_equal(model_check_conflicts(v, 2, msg, sizeof(msg)), -EINVAL);
	assert_non_null(
	    strstr(msg, "clusterIP 10.96.0.10:80/TCP is already used by Service default/a"));
	/* Same name twice. */
	c = a;
	v[1] = &c;
	assert_int_equal(model_check_conflicts(v, 2, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "defined twice"));
	/* NodePort collision with different cluster IPs. */
	b.cluster_ips[0] = htonl(0x0a60000b);
	b.node_ports = a.node_ports = true;
	v[1] = &b;
	assert_int_equal(model_check_conflicts(v, 2, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "nodePort 30001/TCP"));
	/* No collision. */
	pb.node_port = 30002;
	assert_int_equal(model_check_conflicts(v, 2, msg, sizeof(msg)), 0);
	/* One external IP claimed by both (a reload applies nothing rather than half). */
	{
		uint32_t ext = htonl(0xc0a80a0a), lb = htonl(0xc0a80a0b);

		a.external_ips = &ext;
		a.nexternal_ips = 1;
		b.external_ips = &ext;
		b.nexternal_ips = 1;
		assert_int_equal(model_check_conflicts(v, 2, msg, sizeof(msg)), -EINVAL);
		assert_non_null(strstr(msg, "Service default/b: externalIP 192.168.10.10:80/TCP is "
					    "already used by Service default/a"));
		/* ... or one's LoadBalancer IP the other's external IP */
		b.nexternal_ips = 0;
		b.lb_ips = &lb;
		b.nlb_ips = 1;
		a.external_ips = &lb;
		assert_int_equal(model_check_conflicts(v, 2, msg, sizeof(msg)), -EINVAL);
		assert_non_null(strstr(msg, "loadBalancer IP 192.168.10.11:80/TCP"));
		/* a service repeating its own address is fine */
		a.external_ips = &ext;
		b.external_ips = &lb;
		b.nexternal_ips = 1;
		assert_int_equal(model_check_conflicts(v, 2, msg, sizeof(msg)), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frontends_of_a_nodeport_service),
	    cmocka_unit_test(test_terminating_serve_when_none_ready),
	    cmocka_unit_test(test_local_traffic_policies),
	    cmocka_unit_test(test_external_local_leaves_clusterip_alone),
	    cmocka_unit_test(test_external_local_two_scopes),
	    cmocka_unit_test(test_hand_written_slices),
	    cmocka_unit_test(test_other_proxys_service),
	    cmocka_unit_test(test_health_checks),
	    cmocka_unit_test(test_source_ranges),
	    cmocka_unit_test(test_headless_and_external_name),
	    cmocka_unit_test(test_repeated_addresses),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_conflicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
