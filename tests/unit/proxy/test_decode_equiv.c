/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One decoder for both sources: the jv decoder (decode.c, what the API watch and the
 * manifests use) against the libfyaml decoder it replaced (decode_fy_ref.c), object by
 * object: the same result code, the same error message, the same Service / EndpointSlice
 * struct, and the same frontends in a model fed by each. The table is every manifest the
 * tree holds: tests/data (k8s-manifests, k8s-fixtures), the proxy fuzzer's corpus, the
 * kubectl suite's manifests, the manifests written inside the C sources of tests/unit/proxy (string
 * literals) and the scripts of tests/e2e/proxy (printf literals), and cases below that reach every
 * check of the decoder, each read with strict schema validation and again without it (so
 * that the decoder's own checks are reached where the schema would refuse first).
 *
 * Deliberate differences are tested on their own at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "decode_fy_ref.h"
#include "drover_abi.h"
#include "k8s.h"
#include "k8s_jv.h"
#include "model.h"

/* ---------- structs as text, for comparison with a readable diff ---------- */

struct text {
	char *p;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (t->p && t->len + (size_t)n < t->cap)
			break;
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	t->len += (size_t)n;
}

static void put_ip(struct text *t, uint32_t ip)
{
	char b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, b, sizeof(b));
	put(t, " %s", b);
}

static void describe_service(struct text *t, const struct k8s_service *s)
{
	put(t,
	    "Service %s/%s headless=%d otherproxy=%d extname=%d nodeports=%d affinity=%d/%u etp=%d "
	    "itp=%d\n",
	    s->ns, s->name, s->headless, s->other_proxy, s->external_name, s->node_ports,
	    s->affinity, s->affinity_timeout, s->etp_local, s->itp_local);
	put(t, " clusterIPs:");
	for (size_t i = 0; i < s->ncluster_ips; i++)
		put_ip(t, s->cluster_ips[i]);
	put(t, "\n externalIPs:");
	for (size_t i = 0; i < s->nexternal_ips; i++)
		put_ip(t, s->external_ips[i]);
	put(t, "\n lbIPs:");
	for (size_t i = 0; i < s->nlb_ips; i++)
		put_ip(t, s->lb_ips[i]);
	put(t, "\n lb=%d sourceRanges(filtered=%d):", s->load_balancer, s->src_filtered);
	for (size_t i = 0; i < s->nsrc_ranges; i++) {
		put_ip(t, s->src_ranges[i].addr);
		put(t, "/%u", s->src_ranges[i].len);
	}
	put(t, "\n");
	for (size_t i = 0; i < s->nports; i++) {
		const struct svc_port *p = &s->ports[i];

		put(t, " port name=%s proto=%u port=%u nodePort=%u target=%s/%u/%s\n", p->name,
		    p->proto, p->port, p->node_port, p->target_named ? "named" : "number",
		    p->target_port, p->target_name);
	}
}

static void describe_slice(struct text *t, const struct k8s_slice *s)
{
	put(t, "EndpointSlice %s/%s service=%s ipv4=%d\n", s->ns, s->name, s->service, s->ipv4);
	for (size_t i = 0; i < s->nports; i++)
		put(t, " port name=%s proto=%u port=%u\n", s->ports[i].name, s->ports[i].proto,
		    s->ports[i].port);
	for (size_t i = 0; i < s->neps; i++) {
		const struct slice_endpoint *e = &s->eps[i];

		put(t, " ep");
		put_ip(t, e->addr);
		put(t, " ready=%d serving=%d terminating=%d node=%s\n", e->ready, e->serving,
		    e->terminating, e->node);
	}
}

/* ---------- one input through both decoders ---------- */

#define MAX_SVCS 256

struct run {
	const char *label; /* where the input comes from, for failure messages */
	struct proxy_model *mref, *mjv;
	char svc_ns[MAX_SVCS][64], svc_name[MAX_SVCS][MODEL_NAME_MAX];
	size_t nsvcs;
	size_t objects, decoded; /* compared, and of those decoded without error */
	char last_err[512];	 /* the jv decoder's last error message */
	const char *want_label;
};

static size_t total_objects, total_decoded;

static void remember_service(struct run *r, const struct k8s_service *s)
{
	for (size_t i = 0; i < r->nsvcs; i++)
		if (!strcmp(r->svc_ns[i], s->ns) && !strcmp(r->svc_name[i], s->name))
			return;
	if (r->nsvcs == MAX_SVCS)
		return;
	snprintf(r->svc_ns[r->nsvcs], sizeof(r->svc_ns[0]), "%s", s->ns);
	snprintf(r->svc_name[r->nsvcs], sizeof(r->svc_name[0]), "%s", s->name);
	r->nsvcs++;
}

static int on_obj(struct k8s_obj *o, void *ud)
{
	struct run *r = ud;
	const struct k8s_kind *k = k8s_obj_kind(o);
	char eref[512] = "", ejv[512] = "";
	struct text tref = {0}, tjv = {0};
	bool svc;
	int rref, rjv;

	if (!k || (strcmp(k->kind, "Service") && strcmp(k->kind, "EndpointSlice"))) {
		k8s_obj_free(o);
		return 0;
	}
	svc = !strcmp(k->kind, "Service");
	if (svc) {
		struct k8s_service *a = NULL, *b = NULL;

		rref = ref_decode_service(o, &a, eref, sizeof(eref));
		rjv = decode_service_obj(o, &b, ejv, sizeof(ejv));
		if (a)
			describe_service(&tref, a);
		if (b)
			describe_service(&tjv, b);
		if (a && b) {
			remember_service(r, a);
			model_set_service(r->mref, a);
			model_set_service(r->mjv, b);
		} else {
			k8s_service_free(a);
			k8s_service_free(b);
		}
	} else {
		struct k8s_slice *a = NULL, *b = NULL;

		rref = ref_decode_slice(o, &a, eref, sizeof(eref));
		rjv = decode_slice_obj(o, &b, ejv, sizeof(ejv));
		if (a)
			describe_slice(&tref, a);
		if (b)
			describe_slice(&tjv, b);
		if (a && b) {
			model_set_slice(r->mref, a);
			model_set_slice(r->mjv, b);
		} else {
			k8s_slice_free(a);
			k8s_slice_free(b);
		}
	}
	k8s_obj_free(o);
	if (rref != rjv || strcmp(eref, ejv) || (tref.p && strcmp(tref.p, tjv.p)))
		print_message("%s: %s decoded differently:\n--- fy: %d %s\n%s--- jv: %d %s\n%s",
			      r->label, k->kind, rref, eref, tref.p ? tref.p : "", rjv, ejv,
			      tjv.p ? tjv.p : "");
	assert_int_equal(rref, rjv);
	assert_string_equal(eref, ejv);
	if (rjv == 0)
		assert_string_equal(tref.p, tjv.p);
	snprintf(r->last_err, sizeof(r->last_err), "%s", ejv);
	r->objects++;
	r->decoded += rjv == 0;
	free(tref.p);
	free(tjv.p);
	return 0;
}

/* Both models give every service the same frontends and backends. */
static void compare_models(struct run *r)
{
	for (size_t i = 0; i < r->nsvcs; i++) {
		struct lb_frontend *a, *b;
		size_t na, nb;

		assert_int_equal(
		    model_service_frontends(r->mref, r->svc_ns[i], r->svc_name[i], &a, &na), 0);
		assert_int_equal(
		    model_service_frontends(r->mjv, r->svc_ns[i], r->svc_name[i], &b, &nb), 0);
		assert_int_equal(na, nb);
		for (size_t f = 0; f < na; f++) {
			assert_memory_equal(&a[f].key, &b[f].key, sizeof(a[f].key));
			assert_int_equal(a[f].flags, b[f].flags);
			assert_int_equal(a[f].affinity_timeout, b[f].affinity_timeout);
			assert_int_equal(a[f].nbackends, b[f].nbackends);
			for (size_t j = 0; j < a[f].nbackends; j++)
				assert_memory_equal(&a[f].backends[j], &b[f].backends[j],
						    sizeof(a[f].backends[j]));
		}
		model_frontends_free(a, na);
		model_frontends_free(b, nb);
	}
}

/* Decode text under validation level v with both decoders; returns the run's counts. */
static void run_text(const char *label, const char *text, size_t len, enum k8s_field_validation v,
		     struct run *out)
{
	struct k8s_parse_opts po = {.validation = v, .origin = label};
	struct model_opts mo = {.node_name = "node1"};
	struct k8s_errors errs = {0};

	memset(out, 0, sizeof(*out));
	out->label = label;
	out->mref = model_new(&mo, NULL);
	out->mjv = model_new(&mo, NULL);
	assert_non_null(out->mref);
	assert_non_null(out->mjv);
	k8s_parse_stream(text, len, &po, on_obj, out, &errs);
	k8s_errors_free(&errs);
	compare_models(out);
	model_free(out->mref);
	model_free(out->mjv);
	total_objects += out->objects;
	total_decoded += out->decoded;
}

/* Both validation levels; the number of objects compared. */
static size_t run_both(const char *label, const char *text, size_t len)
{
	struct run r;
	size_t n;

	run_text(label, text, len, K8S_FV_STRICT, &r);
	n = r.objects;
	run_text(label, text, len, K8S_FV_IGNORE, &r);
	return n + r.objects;
}

/* ---------- the table: files ---------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	assert_non_null(f);
	do {
		if (n + 4096 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* fn over the text of every file of dir (not recursive) whose name ends with one of
 * suffixes (NULL-terminated); the sum of what fn returns. */
static size_t each_file(const char *dir, const char *const *suffixes,
			size_t (*fn)(const char *path, const char *text, size_t len))
{
	struct dirent *e;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		fail_msg("%s: cannot open", dir);
	while ((e = readdir(d))) {
		const char *const *sfx = suffixes;
		char path[4096];
		size_t len;
		char *text;

		while (*sfx && !ends_with(e->d_name, *sfx))
			sfx++;
		if (!*sfx)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = slurp(path, &len);
		n += fn(path, text, len);
		free(text);
	}
	closedir(d);
	return n;
}

/* Every manifest of dir; returns the objects compared. */
static size_t run_dir(const char *dir)
{
	static const char *const manifests[] = {".yaml", ".yml", ".json", NULL};

	return each_file(dir, manifests, run_both);
}

static void test_data_files(void **state)
{
	(void)state;
	assert_true(run_dir(DROVER_TEST_DATA "/k8s-manifests") > 0);
	assert_true(run_dir(DROVER_TEST_DATA "/k8s-fixtures") > 0);
	assert_true(run_dir(DROVER_SOURCE_DIR "/tests/fuzz/proxy/corpus") > 0);
	assert_true(run_dir(DROVER_SOURCE_DIR "/tests/e2e/kubectl/manifests") > 0);
}

/* ---------- the table: manifests written inside the tests' sources ---------- */

/* Each run of adjacent C string literals (or one shell '...' literal) that begins with
 * "apiVersion", unescaped, passed to fn. */
static size_t each_literal(const char *src, bool shell, size_t (*fn)(const char *, const char *),
			   const char *label)
{
	struct text lit = {0};
	size_t n = 0, found = 0;
	const char *p = src;

	while (*p) {
		bool in_lit = false;

		if (!shell && p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			p = e ? e + 2 : p + strlen(p);
			continue;
		}
		if (!shell && p[0] == '/' && p[1] == '/') {
			p += strcspn(p, "\n");
			continue;
		}
		if (!shell && *p == '\'') { /* a character literal */
			p += p[1] == '\\' ? 4 : 3;
			continue;
		}
		if (*p != (shell ? '\'' : '"')) {
			p++;
			continue;
		}
		/* one literal, and (C) those that follow it after white space */
		lit.len = 0;
		put(&lit, "%s", "");
		do {
			char q = *p++;

			in_lit = true;
			while (*p && *p != q) {
				char c = *p++;

				if (c == '\\' && *p) {
					c = *p++;
					c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
				}
				put(&lit, "%c", c);
			}
			if (*p)
				p++;
			if (shell)
				break;
			while (*p == ' ' || *p == '\t' || *p == '\n')
				p++;
		} while (*p == '"');
		if (in_lit && !strncmp(lit.p, "apiVersion", 10)) {
			char where[4200];

			snprintf(where, sizeof(where), "%s, literal %zu", label, ++found);
			n += fn(where, lit.p);
		}
	}
	free(lit.p);
	return n;
}

static size_t run_literal(const char *label, const char *text)
{
	return run_both(label, text, strlen(text));
}

static size_t c_literals(const char *path, const char *text, size_t len)
{
	(void)len;
	return each_literal(text, false, run_literal, path);
}

static size_t shell_literals(const char *path, const char *text, size_t len)
{
	(void)len;
	return each_literal(text, true, run_literal, path);
}

static void test_test_sources(void **state)
{
	static const char *const c[] = {".c", NULL}, *const sh[] = {".sh", NULL};

	(void)state;
	assert_true(each_file(DROVER_SOURCE_DIR "/tests/unit/proxy", c, c_literals) > 0);
	assert_true(each_file(DROVER_SOURCE_DIR "/tests/e2e/proxy", sh, shell_literals) > 0);
}

/* ---------- the table: every check of the decoder ---------- */

#define SVC(spec) "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ns}\n" spec
#define SLICE(body)                                                                             \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, namespace: " \
	"ns, labels: {kubernetes.io/service-name: s}}\n" body

static const struct {
	const char *text;
	const char *want; /* the jv decoder's error (a prefix), or NULL: decodes */
} cases[] = {
    /* Services that decode */
    {SVC("spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}"), NULL},
    {SVC("spec:\n"), NULL},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: nons}\nspec: {clusterIP: 10.96.0.2, "
     "ports: [{port: 80}]}",
     NULL},
    {SVC("spec: {clusterIP: None, ports: [{port: 80}]}"), NULL},
    {SVC("spec: {type: ExternalName, externalName: example.com}"), NULL},
    {SVC("spec: {type: LoadBalancer, clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, fd00::1],\n"
	 "  ports: [{name: a, port: 80, nodePort: 30080, targetPort: \"8080\"},\n"
	 "          {name: b, port: 80, protocol: UDP, targetPort: web},\n"
	 "          {name: c, port: 443, targetPort: 8443, nodePort: 30443}],\n"
	 "  externalIPs: [192.0.2.1, 2001:db8::1, 192.0.2.1], sessionAffinity: ClientIP,\n"
	 "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}},\n"
	 "  externalTrafficPolicy: Local, internalTrafficPolicy: Local}\n"
	 "status: {loadBalancer: {ingress: [{hostname: lb.example.com}, {ip: 198.51.100.1},"
	 " {ip: 2001:db8::2}]}}"),
     NULL},
    {SVC("spec: {clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, 10.96.0.9, 10.96.0.10]}"), NULL},
    {SVC("spec: {clusterIP: \"\", clusterIPs: [None]}"), NULL},
    {SVC("spec: {clusterIP: 10.96.0.1, ports: [{name: s, port: 9, protocol: SCTP},"
	 " {name: a, port: 80}]}"),
     NULL},
    {SVC("spec: {clusterIP: 10.96.0.1, sessionAffinity: None, externalTrafficPolicy: "
	 "Cluster,\n  internalTrafficPolicy: Cluster, ports: [{port: 80, nodePort: 0}]}"),
     NULL},
    {SVC("spec: {clusterIP: 10.96.0.1, ports: [{port: 80.0, targetPort: 0x1F90}]}"), NULL},
    /* Services the decoder refuses, in its order of checks */
    {"apiVersion: v1\nkind: Service\nmetadata: {namespace: ns}\nspec: {}",
     "metadata.name: Required value"},
    {SVC("spec: {type: Foo}"), "spec.type: Unsupported value: \"Foo\""},
    {SVC("spec: {clusterIP: 10.96.0.300}"), "spec.clusterIP: Invalid value: \"10.96.0.300\""},
    {SVC("spec: {clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, bogus]}"),
     "spec.clusterIPs[1]: Invalid value: \"bogus\""},
    {SVC("spec: {ports: [{port: 80, protocol: FOO}]}"),
     "spec.ports[0].protocol: Unsupported value: \"FOO\""},
    {SVC("spec: {ports: [{name: a}]}"), "spec.ports[0].port: Required value"},
    {SVC("spec: {ports: [{port: 70000}]}"), "spec.ports[0].port: Invalid value: 70000"},
    {SVC("spec: {ports: [{port: 0}]}"), "spec.ports[0].port: Invalid value: 0"},
    {SVC("spec: {type: NodePort, ports: [{port: 80, nodePort: 70000}]}"),
     "spec.ports[0].nodePort: Invalid value: 70000"},
    {SVC("spec: {ports: [{port: 80, targetPort: 0}]}"),
     "spec.ports[0].targetPort: Invalid value: 0"},
    {SVC("spec: {ports: [{port: 80, targetPort: 65536}]}"),
     "spec.ports[0].targetPort: Invalid value: 65536"},
    {SVC("spec: {ports: [{port: 80, targetPort: \"\"}]}"),
     "spec.ports[0].targetPort: Invalid value: \"\": must be a port name"},
    {SVC("spec: {ports: [{port: 80, targetPort: "
	 "a123456789012345678901234567890123456789012345678901234567890123}]}"),
     "spec.ports[0].targetPort: Invalid value: \"a1234"},
    {SVC("spec: {ports: [{name: a, port: 80}, {name: b, port: 80}]}"),
     "spec.ports[1]: Duplicate value: \"80/TCP\""},
    {SVC("spec: {ports: [{name: a, port: 80}, {name: a, port: 81}]}"),
     "spec.ports[1].name: Duplicate value: \"a\""},
    {SVC("spec: {type: NodePort, ports: [{name: a, port: 80, nodePort: 30000},"
	 " {name: b, port: 81, nodePort: 30000}]}"),
     "spec.ports[1].nodePort: Duplicate value: \"30000/TCP\""},
    {SVC("spec: {ports: [{name: a, port: 80}, {port: 81}]}"),
     "spec.ports[1].name: Required value: when multiple ports are specified"},
    {SVC("spec: {ports: [{port: 80}], externalIPs: [192.0.2.1, 192.0.2.x]}"),
     "spec.externalIPs[1]: Invalid value: \"192.0.2.x\""},
    {SVC("spec: {sessionAffinity: Sticky}"), "spec.sessionAffinity: Unsupported value"},
    {SVC("spec: {sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}}"),
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0"},
    {SVC("spec: {sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}}"),
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401"},
    {SVC("spec: {externalTrafficPolicy: Nearby}"),
     "spec.externalTrafficPolicy: Unsupported value: \"Nearby\""},
    {SVC("spec: {internalTrafficPolicy: Nearby}"),
     "spec.internalTrafficPolicy: Unsupported value: \"Nearby\""},
    {SVC("spec: {}\nstatus: {loadBalancer: {ingress: [{hostname: x}, {ip: nope}]}}"),
     "status.loadBalancer.ingress[1].ip: Invalid value: \"nope\""},
    {SVC("spec: {type: LoadBalancer, loadBalancerSourceRanges: [' 10.1.2.3/16 ', 10.0.0.0/8, "
	 "'fd00::/8', 0.0.0.0/0], ports: [{port: 80}]}"),
     NULL},
    {SVC("spec: {type: NodePort, loadBalancerSourceRanges: [10.0.0.0/8], ports: [{port: 80}]}"),
     "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"},
    {SVC("spec: {type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/8, 10.0.0.0/33]}"),
     "spec.LoadBalancerSourceRanges[1]: Invalid value: \"10.0.0.0/33\": must be a valid CIDR "
     "value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"},
    {SVC("spec: {type: LoadBalancer, loadBalancerSourceRanges: ['10.0.0.0/ 8']}"),
     "spec.LoadBalancerSourceRanges[0]: Invalid value: \"10.0.0.0/ 8\""},
    {SVC("spec: {type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0]}"),
     "spec.LoadBalancerSourceRanges[0]: Invalid value: \"10.0.0.0\""},
    {SVC("spec: {type: LoadBalancer, loadBalancerSourceRanges: ['fd00::/129']}"),
     "spec.LoadBalancerSourceRanges[0]: Invalid value: \"fd00::/129\""},
    {SVC("spec: {}\nstatus: {loadBalancer: {ingress: [{ip: 192.0.2.1, ipMode: Tunnel}]}}"),
     "status.loadBalancer.ingress[0].ipMode: Unsupported value: \"Tunnel\": supported values: "
     "\"Proxy\", \"VIP\""},
    /* EndpointSlices that decode */
    {SLICE("addressType: IPv4\nports: [{name: http, port: 8080}, {name: dns, port: 53, "
	   "protocol: UDP},\n  {name: x, protocol: SCTP, port: 9}, {name: any}]\n"
	   "endpoints:\n"
	   "- {addresses: [10.0.0.1], nodeName: n1}\n"
	   "- {addresses: [10.0.0.2], conditions: {ready: false}}\n"
	   "- {addresses: [10.0.0.3], conditions: {ready: false, serving: true, terminating: "
	   "true}}\n"
	   "- {addresses: [10.0.0.4, 10.0.0.5], conditions: {ready: null, serving: null}}\n"),
     NULL},
    {SLICE("addressType: IPv6\nendpoints: [{addresses: [\"fd00::1\"]}]"), NULL},
    {SLICE("addressType: FQDN\nendpoints: [{addresses: [a.example.com]}]"), NULL},
    {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: nolabel}\n"
     "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1]}]",
     NULL},
    /* EndpointSlices the decoder refuses */
    {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {namespace: ns}\n"
     "addressType: IPv4",
     "metadata.name: Required value"},
    {SLICE("endpoints: []"), "addressType: Required value"},
    {SLICE("addressType: IPv5"), "addressType: Unsupported value: \"IPv5\""},
    {SLICE("addressType: IPv4\nports: [{name: a, port: 70000}]"),
     "ports[0].port: Invalid value: 70000"},
    {SLICE("addressType: IPv4\nports: [{name: a, port: 80}, {name: b, port: 0}]"),
     "ports[1].port: Invalid value: 0"},
    {SLICE("addressType: IPv4\nendpoints: [{addresses: [10.0.0.1]}, {nodeName: n1}]"),
     "endpoints[1].addresses: Required value"},
    {SLICE("addressType: IPv4\nendpoints: [{addresses: [\"fd00::1\"]}]"),
     "endpoints[0].addresses[0]: Invalid value: \"fd00::1\""},
};

static void test_every_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char label[64];
		bool seen = false;

		snprintf(label, sizeof(label), "case %zu", i);
		for (int v = 0; v < 2; v++) {
			struct run r;

			run_text(label, cases[i].text, strlen(cases[i].text),
				 v ? K8S_FV_IGNORE : K8S_FV_STRICT, &r);
			if (!r.objects)
				continue; /* the schema refused it first at this level */
			seen = true;
			if (!cases[i].want) {
				if (r.decoded != r.objects)
					fail_msg("%s: %s", label, r.last_err);
			} else if (strncmp(r.last_err, cases[i].want, strlen(cases[i].want))) {
				fail_msg("%s: got '%s', want '%s...'", label, r.last_err,
					 cases[i].want);
			}
		}
		if (!seen)
			fail_msg("%s never reached the decoders", label);
	}
}

/* ---------- the API source's input: trees no schema checked ---------- */

static const struct {
	const char *json;
	const char *want; /* NULL: decodes */
} raw[] = {
    {"{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":5}", NULL},
    {"{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":{\"port\":80}}}",
     NULL},
    {"{\"kind\":\"Service\",\"metadata\":{\"name\":7}}", "metadata.name: Required value"},
    {"{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"externalIPs\":[5]}}",
     "spec.externalIPs[0]: Invalid value: must be a string"},
    {"{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"port\":"
     "\"80\"}]}}",
     "spec.ports[0].port: Required value"},
    {"{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"port\":80,"
     "\"targetPort\":true}]}}",
     NULL},
    {"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"e\"},\"addressType\":\"IPv4\","
     "\"endpoints\":[{\"addresses\":[]}]}",
     "endpoints[0].addresses: Required value"},
    {"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"e\"},\"addressType\":\"IPv4\","
     "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":\"yes\"}}],"
     "\"ports\":[{\"port\":null,\"protocol\":7}]}",
     NULL},
};

static void test_raw_trees(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *t = jv_parse(d, raw[i].json, strlen(raw[i].json), NULL);
		const char *kind = jv_path_str(t, "kind");
		struct k8s_service *s = NULL;
		struct k8s_slice *sl = NULL;
		char err[512] = "";
		int rc;

		assert_non_null(t);
		rc = !strcmp(kind, "Service") ? decode_service(t, &s, err, sizeof(err))
					      : decode_slice(t, &sl, err, sizeof(err));
		if (!raw[i].want) {
			if (rc)
				fail_msg("raw %zu: %s", i, err);
			assert_true(s || sl);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_null(s);
			assert_null(sl);
			if (strncmp(err, raw[i].want, strlen(raw[i].want)))
				fail_msg("raw %zu: got '%s', want '%s...'", i, err, raw[i].want);
		}
		k8s_service_free(s);
		k8s_slice_free(sl);
		jv_doc_free(d);
	}
}

/* ---------- deliberate differences ---------- */

/* A port skipped as SCTP leaves nothing behind: the fy decoder wrote the skipped port's
 * name into the slot the next port then took, so an unnamed port after it carried that
 * name (and matched, or failed to match, slice ports by it). */
static void test_sctp_port_leaves_no_name(void **state)
{
	static const char svc[] = SVC("spec: {clusterIP: 10.96.0.1, ports: [{name: s, port: 9, "
				      "protocol: SCTP}, {port: 80}]}");
	static const char slice[] = SLICE("addressType: IPv4\nports: [{name: s, protocol: SCTP, "
					  "port: 9}, {port: 8080}]\nendpoints: [{addresses: "
					  "[10.0.0.1]}]");
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT};
	struct k8s_obj *o;
	struct k8s_service *a, *b;
	struct k8s_slice *c, *d;
	char err[256];

	(void)state;
	o = k8s_obj_parse(svc, strlen(svc), &po, NULL);
	assert_non_null(o);
	assert_int_equal(decode_service_obj(o, &b, err, sizeof(err)), 0);
	assert_int_equal(ref_decode_service(o, &a, err, sizeof(err)), 0);
	assert_int_equal(b->nports, 1);
	assert_int_equal(b->ports[0].port, 80);
	assert_string_equal(b->ports[0].name, "");
	assert_string_equal(a->ports[0].name, "s"); /* the reference's leftover */
	k8s_obj_free(o);
	k8s_service_free(a);
	k8s_service_free(b);

	o = k8s_obj_parse(slice, strlen(slice), &po, NULL);
	assert_non_null(o);
	assert_int_equal(decode_slice_obj(o, &d, err, sizeof(err)), 0);
	assert_int_equal(ref_decode_slice(o, &c, err, sizeof(err)), 0);
	assert_int_equal(d->nports, 1);
	assert_int_equal(d->ports[0].port, 8080);
	assert_string_equal(d->ports[0].name, "");
	assert_string_equal(c->ports[0].name, "s");
	k8s_obj_free(o);
	k8s_slice_free(c);
	k8s_slice_free(d);
}

/* targetPort: 8080.0 in YAML is the number 8080, as Kubernetes reads it (YAML to JSON writes
 * the float as 8080, which IntOrString takes as a number); the fy decoder saw a float and
 * ignored it, so the port's endpoints were looked up on port 80. */
static void test_float_target_port(void **state)
{
	static const char svc[] =
	    SVC("spec: {clusterIP: 10.96.0.1, ports: [{port: 80, targetPort: 8080.0}]}");
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT};
	struct k8s_obj *o = k8s_obj_parse(svc, strlen(svc), &po, NULL);
	struct k8s_service *a, *b;
	char err[256];

	(void)state;
	assert_non_null(o);
	assert_int_equal(decode_service_obj(o, &b, err, sizeof(err)), 0);
	assert_int_equal(ref_decode_service(o, &a, err, sizeof(err)), 0);
	assert_false(b->ports[0].target_named);
	assert_int_equal(b->ports[0].target_port, 8080);
	assert_int_equal(a->ports[0].target_port, 0); /* the reference's */
	k8s_obj_free(o);
	k8s_service_free(a);
	k8s_service_free(b);
}

/* Not a vacuous table. */
static void test_totals(void **state)
{
	(void)state;
	print_message("%zu objects compared, %zu of them decoded\n", total_objects, total_decoded);
	assert_true(total_objects >= 150);
	assert_true(total_decoded >= 60);
	assert_true(total_objects - total_decoded >= 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_files),
	    cmocka_unit_test(test_test_sources),
	    cmocka_unit_test(test_every_check),
	    cmocka_unit_test(test_raw_trees),
	    cmocka_unit_test(test_sctp_port_leaves_no_name),
	    cmocka_unit_test(test_float_target_port),
	    cmocka_unit_test(test_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
