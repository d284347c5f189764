/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_validate: schema validation as Kubernetes' strict decoder does it: type errors at
 * any depth with exact field paths, unknown and duplicate fields by field validation level,
 * enums and required fields under Strict, the special types' syntax, null everywhere.
 */
#include "k8s_test.h"

#define DEPLOYMENT_HEAD                           \
	"apiVersion: apps/v1\n"                   \
	"kind: Deployment\n"                      \
	"metadata:\n"                             \
	"  name: web\n"                           \
	"  namespace: shop\n"                     \
	"spec:\n"                                 \
	"  selector: {matchLabels: {app: web}}\n" \
	"  template:\n"                           \
	"    metadata: {labels: {app: web}}\n"    \
	"    spec:\n"                             \
	"      containers:\n"                     \
	"      - name: sidecar\n"                 \
	"        image: busybox\n"                \
	"      - name: app\n"                     \
	"        image: nginx\n"

/* Parse text under v; expect failure (-EINVAL) with a cause (field, reason, message). */
static void expect_cause(const char *text, enum k8s_field_validation v, const char *field,
			 const char *reason, const char *message)
{
	struct objs s = {0};
	struct k8s_errors e = {0};
	const struct k8s_cause *c;
	int r = parse_text(text, v, &s, &e);

	c = find_cause(&e, field, reason);
	if (r != -EINVAL || !c) {
		dump_errors(&e);
		fail_msg("want cause %s %s, got r=%d", field, reason, r);
	}
	if (message)
		assert_string_equal(c->message, message);
	assert_int_equal(s.n, 0);
	objs_free(&s);
	k8s_errors_free(&e);
}

/* Parse text under v; expect success with no cause and no warning. */
static void expect_ok(const char *text, enum k8s_field_validation v)
{
	struct objs s = {0};
	struct k8s_errors e = {0};
	int r = parse_text(text, v, &s, &e);

	if (r != 0 || e.n || e.nwarn) {
		dump_errors(&e);
		fail_msg("want success, got r=%d", r);
	}
	assert_int_equal(s.n, 1);
	objs_free(&s);
	k8s_errors_free(&e);
}

static void test_type_errors_at_depth(void **state)
{
	(void)state;
	/* a quoted number is a string, and a string is not an int32 */
	expect_cause(DEPLOYMENT_HEAD "        ports:\n        - containerPort: \"80\"\n",
		     K8S_FV_STRICT, "spec.template.spec.containers[1].ports[0].containerPort",
		     K8S_REASON_TYPE_INVALID, "Invalid value: \"80\": must be of type int32");
	/* labels: {a: yes} is rejected, as Kubernetes rejects it */
	expect_cause("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: yes}\n",
		     K8S_FV_STRICT, "metadata.labels[a]", K8S_REASON_TYPE_INVALID,
		     "Invalid value: true: must be of type string");
	expect_cause("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
		     "    example.com/port: 8080\n",
		     K8S_FV_IGNORE, "metadata.annotations[example.com/port]",
		     K8S_REASON_TYPE_INVALID, "Invalid value: 8080: must be of type string");
	/* a bool field given a string, an object given a list, a list given an object */
	expect_cause(DEPLOYMENT_HEAD "      hostNetwork: \"true\"\n", K8S_FV_STRICT,
		     "spec.template.spec.hostNetwork", K8S_REASON_TYPE_INVALID,
		     "Invalid value: \"true\": must be of type boolean");
	expect_cause(DEPLOYMENT_HEAD "      securityContext: [1]\n", K8S_FV_STRICT,
		     "spec.template.spec.securityContext", K8S_REASON_TYPE_INVALID,
		     "Invalid value: \"array\": must be of type object");
	expect_cause(DEPLOYMENT_HEAD "        args: {a: b}\n", K8S_FV_STRICT,
		     "spec.template.spec.containers[1].args", K8S_REASON_TYPE_INVALID,
		     "Invalid value: \"object\": must be of type array");
	expect_cause(DEPLOYMENT_HEAD "        args: [ok, 1]\n", K8S_FV_STRICT,
		     "spec.template.spec.containers[1].args[1]", K8S_REASON_TYPE_INVALID, NULL);
	/* YAML 1.1 booleans are booleans where a boolean is wanted */
	expect_ok(DEPLOYMENT_HEAD "      hostNetwork: yes\n      hostPID: off\n", K8S_FV_STRICT);
}

static void test_integers(void **state)
{
	(void)state;
	expect_ok(DEPLOYMENT_HEAD "  replicas: 2147483647\n", K8S_FV_STRICT);
	expect_ok(DEPLOYMENT_HEAD "  replicas: 0x10\n", K8S_FV_STRICT);
	/* a YAML float Go writes without a fraction decodes into an int (1.0 -> 1) */
	expect_ok(DEPLOYMENT_HEAD "  replicas: 1.0\n", K8S_FV_STRICT);
	expect_ok(DEPLOYMENT_HEAD "  replicas: 3e2\n", K8S_FV_STRICT);
	expect_cause(DEPLOYMENT_HEAD "  replicas: 2147483648\n", K8S_FV_STRICT, "spec.replicas",
		     K8S_REASON_INVALID, "Invalid value: 2147483648: out of range for int32");
	expect_cause(DEPLOYMENT_HEAD "  replicas: -2147483649\n", K8S_FV_STRICT, "spec.replicas",
		     K8S_REASON_INVALID, NULL);
	expect_cause(DEPLOYMENT_HEAD "  replicas: 1.5\n", K8S_FV_STRICT, "spec.replicas",
		     K8S_REASON_TYPE_INVALID, "Invalid value: 1.5: must be of type int32");
	expect_cause(DEPLOYMENT_HEAD "  replicas: three\n", K8S_FV_STRICT, "spec.replicas",
		     K8S_REASON_TYPE_INVALID, NULL);
	/* int64 */
	expect_ok(DEPLOYMENT_HEAD "      activeDeadlineSeconds: 9223372036854775807\n",
		  K8S_FV_STRICT);
	expect_cause(DEPLOYMENT_HEAD "      activeDeadlineSeconds: 9223372036854775808\n",
		     K8S_FV_STRICT, "spec.template.spec.activeDeadlineSeconds", K8S_REASON_INVALID,
		     "Invalid value: 9223372036854775808: out of range for int64");
	/* JSON keeps JSON's rules: 80.0 is not an integer there */
	expect_cause(
	    "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s\"},"
	    " \"spec\": {\"ports\": [{\"port\": 80.0}]}}",
	    K8S_FV_STRICT, "spec.ports[0].port", K8S_REASON_TYPE_INVALID,
	    "Invalid value: 80.0: must be of type int32");
}

static void test_int_or_string(void **state)
{
	static const char head[] = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
				   "  ports:\n  - port: 80\n";
	char buf[512];

	(void)state;
	snprintf(buf, sizeof(buf), "%s    targetPort: http\n", head);
	expect_ok(buf, K8S_FV_STRICT);
	snprintf(buf, sizeof(buf), "%s    targetPort: 8080\n", head);
	expect_ok(buf, K8S_FV_STRICT);
	snprintf(buf, sizeof(buf), "%s    targetPort: \"8080\"\n", head);
	expect_ok(buf, K8S_FV_STRICT);
	snprintf(buf, sizeof(buf), "%s    targetPort: true\n", head);
	expect_cause(buf, K8S_FV_STRICT, "spec.ports[0].targetPort", K8S_REASON_TYPE_INVALID,
		     "Invalid value: true: must be of type int32 or string");
	snprintf(buf, sizeof(buf), "%s    targetPort: 1.5\n", head);
	expect_cause(buf, K8S_FV_STRICT, "spec.ports[0].targetPort", K8S_REASON_TYPE_INVALID, NULL);
	snprintf(buf, sizeof(buf), "%s    targetPort: 99999999999\n", head);
	expect_cause(buf, K8S_FV_STRICT, "spec.ports[0].targetPort", K8S_REASON_INVALID,
		     "Invalid value: 99999999999: out of range for int32");
}

static void test_special_types(void **state)
{
	char buf[1024];
	static const char *const good_q[] = {"500m",   "1Gi",  "2",  "0.5", "1e3", "1E-3",
					     "+1.5Ki", "100M", "1.", ".5",  " 3 "};
	static const char *const bad_q[] = {"abc", "1Gb", "", "1.5.5", "1Mi5", "--1", "1e"};

	(void)state;
	for (size_t i = 0; i < sizeof(good_q) / sizeof(good_q[0]); i++) {
		snprintf(buf, sizeof(buf),
			 DEPLOYMENT_HEAD "        resources: {limits: {cpu: \"%s\"}}\n", good_q[i]);
		expect_ok(buf, K8S_FV_STRICT);
	}
	for (size_t i = 0; i < sizeof(bad_q) / sizeof(bad_q[0]); i++) {
		snprintf(buf, sizeof(buf),
			 DEPLOYMENT_HEAD "        resources: {limits: {cpu: \"%s\"}}\n", bad_q[i]);
		expect_cause(buf, K8S_FV_STRICT,
			     "spec.template.spec.containers[1].resources.limits[cpu]",
			     K8S_REASON_INVALID, NULL);
	}
	/* a number is a quantity too */
	expect_ok(DEPLOYMENT_HEAD "        resources: {requests: {cpu: 0.25, memory: 64}}\n",
		  K8S_FV_STRICT);
	expect_cause(DEPLOYMENT_HEAD "        resources: {requests: {cpu: [1]}}\n", K8S_FV_STRICT,
		     "spec.template.spec.containers[1].resources.requests[cpu]",
		     K8S_REASON_TYPE_INVALID, NULL);

	/* Time: RFC 3339; an unquoted timestamp stays a string, so it is fine too */
	expect_ok("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
		  "  creationTimestamp: 2024-02-29T23:59:59Z\n"
		  "  deletionTimestamp: \"2024-01-01T00:00:00.123+02:00\"\n",
		  K8S_FV_STRICT);
	expect_cause("apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: "
		     "\"2023-02-29T00:00:00Z\"}\n",
		     K8S_FV_STRICT, "metadata.creationTimestamp", K8S_REASON_INVALID,
		     "Invalid value: \"2023-02-29T00:00:00Z\": must be an RFC 3339 date-time "
		     "(2006-01-02T15:04:05Z07:00)");
	expect_cause("apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: "
		     "\"2024-01-01 00:00:00Z\"}\n",
		     K8S_FV_STRICT, "metadata.creationTimestamp", K8S_REASON_INVALID, NULL);
	expect_cause("apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: 17}\n",
		     K8S_FV_STRICT, "metadata.creationTimestamp", K8S_REASON_TYPE_INVALID, NULL);
	/* MicroTime wants exactly six fractional digits */
	expect_ok("apiVersion: v1\nkind: Event\nmetadata: {name: e}\ninvolvedObject: {}\n"
		  "eventTime: \"2010-01-01T01:01:01.000010Z\"\n",
		  K8S_FV_STRICT);
	expect_cause("apiVersion: v1\nkind: Event\nmetadata: {name: e}\ninvolvedObject: {}\n"
		     "eventTime: \"2010-01-01T01:01:01Z\"\n",
		     K8S_FV_STRICT, "eventTime", K8S_REASON_INVALID, NULL);
	/* []byte: base64 */
	expect_ok("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
		  "data: {a: aGVsbG8=, b: '', c: \"aGVs\\nbG8=\"}\n",
		  K8S_FV_STRICT);
	expect_cause("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: aGVsbG8}\n",
		     K8S_FV_STRICT, "data[a]", K8S_REASON_INVALID,
		     "Invalid value: \"aGVsbG8\": must be base64 (standard encoding, padded)");
	expect_cause("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: 'a=bc'}\n",
		     K8S_FV_STRICT, "data[a]", K8S_REASON_INVALID, NULL);
	/* RawExtension and FieldsV1 take any JSON */
	expect_ok("apiVersion: apps/v1\nkind: ControllerRevision\nmetadata:\n  name: r\n"
		  "  managedFields: [{manager: m, fieldsV1: {\"f:metadata\": {\".\": {}}}}]\n"
		  "revision: 1\ndata: {anything: [1, {b: yes}], goes: ~}\n",
		  K8S_FV_STRICT);
	/* ... but still JSON: NaN has no JSON form */
	expect_cause("apiVersion: apps/v1\nkind: ControllerRevision\nmetadata: {name: r}\n"
		     "revision: 1\ndata: {x: [.nan]}\n",
		     K8S_FV_STRICT, "data.x[0]", K8S_REASON_INVALID,
		     "Invalid value: .nan: NaN and infinite numbers have no JSON form");
}

/* Duration appears in no kind served here: validate a node against the type directly. */
static void test_duration(void **state)
{
	static const char *const good[] = {"0",	  "1h30m", "300ms", "1.5h",
					   "-2s", "+.5us", "1µs",   "2h45m0.5s"};
	static const char *const bad[] = {"", "1", "5 minutes", "1d", ".s", "1h-30m", "s"};
	const struct k8s_type *t = k8s_type_find("io.k8s.apimachinery.pkg.apis.meta.v1.Duration");

	(void)state;
	assert_non_null(t);
	assert_int_equal(t->kind, K8S_V_DURATION);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]) + sizeof(bad) / sizeof(bad[0]); i++) {
		bool ok = i < sizeof(good) / sizeof(good[0]);
		const char *v = ok ? good[i] : bad[i - sizeof(good) / sizeof(good[0])];
		struct fy_document *d = fy_document_buildf(NULL, "\"%s\"", v);
		struct k8s_errors e = {0};

		assert_non_null(d);
		if ((k8s_validate(fy_document_root(d), t, K8S_FV_STRICT, &e) == 0) != ok)
			fail_msg("duration \"%s\": want %s", v, ok ? "valid" : "invalid");
		k8s_errors_free(&e);
		fy_document_destroy(d);
	}
}

static void test_unknown_fields(void **state)
{
	static const char doc[] = DEPLOYMENT_HEAD "        foo: 1\n"
						  "  bar: {x: 1}\n"
						  "extra: true\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	const struct k8s_cause *c;

	(void)state;
	/* Strict: errors at every depth, Kubernetes' wording */
	assert_int_equal(parse_text(doc, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(s.n, 0);
	assert_int_equal(e.n, 3);
	c = find_cause(&e, "spec.template.spec.containers[1].foo", K8S_REASON_UNKNOWN);
	assert_non_null(c);
	assert_string_equal(c->message, "unknown field \"spec.template.spec.containers[1].foo\"");
	assert_int_equal(c->line, 16);
	assert_int_equal(c->column, 9);
	assert_non_null(find_cause(&e, "spec.bar", K8S_REASON_UNKNOWN));
	assert_non_null(find_cause(&e, "extra", K8S_REASON_UNKNOWN));
	k8s_errors_free(&e);

	/* Warn: the object passes, the warnings say what Kubernetes says */
	assert_int_equal(parse_text(doc, K8S_FV_WARN, &s, &e), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(e.n, 0);
	assert_int_equal(e.nwarn, 3);
	assert_true(has_warning(&e, "unknown field \"spec.template.spec.containers[1].foo\""));
	assert_true(has_warning(&e, "unknown field \"spec.bar\""));
	assert_true(has_warning(&e, "unknown field \"extra\""));
	objs_free(&s);
	k8s_errors_free(&e);

	/* Ignore: nothing */
	assert_int_equal(parse_text(doc, K8S_FV_IGNORE, &s, &e), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(e.n + e.nwarn, 0);
	objs_free(&s);
	k8s_errors_free(&e);

	/* an unknown field still needs a JSON form, and a type error is one at every level */
	expect_cause(DEPLOYMENT_HEAD "  bar: .inf\n", K8S_FV_IGNORE, "spec.bar", K8S_REASON_INVALID,
		     NULL);
	expect_cause(DEPLOYMENT_HEAD "  replicas: x\n", K8S_FV_IGNORE, "spec.replicas",
		     K8S_REASON_TYPE_INVALID, NULL);
	/* field names are case-sensitive, json:"-" fields are never JSON */
	expect_cause(DEPLOYMENT_HEAD "  Replicas: 1\n", K8S_FV_STRICT, "spec.Replicas",
		     K8S_REASON_UNKNOWN, NULL);
}

static void test_duplicate_keys(void **state)
{
	static const char doc[] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: first\n"
				  "  labels: {app: a, app: b}\n  name: second\nspec:\n  ports:\n"
				  "  - {port: 80, port: 81}\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	int64_t port;

	(void)state;
	assert_int_equal(parse_text(doc, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 3);
	assert_string_equal(find_cause(&e, "metadata.name", K8S_REASON_DUPLICATE)->message,
			    "duplicate field \"metadata.name\"");
	assert_non_null(find_cause(&e, "metadata.labels[app]", K8S_REASON_DUPLICATE));
	assert_non_null(find_cause(&e, "spec.ports[0].port", K8S_REASON_DUPLICATE));
	k8s_errors_free(&e);

	assert_int_equal(parse_text(doc, K8S_FV_WARN, &s, &e), 0);
	assert_int_equal(e.nwarn, 3);
	assert_true(has_warning(&e, "duplicate field \"metadata.labels[app]\""));
	/* as in Go, the last value wins */
	assert_string_equal(k8s_obj_name(s.o[0]), "second");
	assert_int_equal(k8s_get_int(k8s_obj_root(s.o[0]), "spec.ports[0].port", &port), 0);
	assert_int_equal(port, 81);
	objs_free(&s);
	k8s_errors_free(&e);

	assert_int_equal(parse_text(doc, K8S_FV_IGNORE, &s, &e), 0);
	assert_int_equal(e.n + e.nwarn, 0);
	objs_free(&s);
	k8s_errors_free(&e);

	/* keys that only convert to the same JSON key are duplicates too (`1` and "1") */
	expect_cause(
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {1: a, \"1\": b}\n",
	    K8S_FV_STRICT, "data[1]", K8S_REASON_DUPLICATE, NULL);
}

static void test_enums(void **state)
{
	static const char doc[] = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
				  "spec: {type: Balancer, ports: [{port: 80, protocol: tcp}],"
				  " sessionAffinity: ClientIP, ipFamilyPolicy: ''}\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	struct k8s_parse_opts o = {.validation = K8S_FV_STRICT, .checks = K8S_CHECK_NO_ENUMS};

	(void)state;
	assert_int_equal(parse_text(doc, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_string_equal(find_cause(&e, "spec.type", K8S_REASON_NOT_SUPPORTED)->message,
			    "Unsupported value: \"Balancer\": supported values: \"ClusterIP\", "
			    "\"NodePort\", \"LoadBalancer\", \"ExternalName\"");
	assert_string_equal(find_cause(&e, "spec.ports[0].protocol", NULL)->message,
			    "Unsupported value: \"tcp\": supported values: \"TCP\", \"UDP\", "
			    "\"SCTP\"");
	k8s_errors_free(&e);
	/* only Strict checks enums, and the API server may turn the check off */
	expect_ok(doc, K8S_FV_WARN);
	assert_int_equal(k8s_parse_stream(doc, strlen(doc), &o, objs_cb, &s, &e), 0);
	assert_int_equal(s.n, 1);
	objs_free(&s);
	k8s_errors_free(&e);
	/* an enum is a string first */
	expect_cause("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: 1}\n",
		     K8S_FV_WARN, "spec.type", K8S_REASON_TYPE_INVALID, NULL);
}

static void test_required(void **state)
{
	static const char doc[] = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
				  "metadata: {name: s}\nendpoints:\n- conditions: {ready: true}\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	struct k8s_parse_opts o = {.validation = K8S_FV_STRICT, .checks = K8S_CHECK_NO_REQUIRED};

	(void)state;
	assert_int_equal(parse_text(doc, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_string_equal(find_cause(&e, "addressType", K8S_REASON_REQUIRED)->message,
			    "Required value");
	assert_non_null(find_cause(&e, "endpoints[0].addresses", K8S_REASON_REQUIRED));
	k8s_errors_free(&e);
	expect_ok(doc, K8S_FV_WARN);
	assert_int_equal(k8s_parse_stream(doc, strlen(doc), &o, objs_cb, &s, &e), 0);
	objs_free(&s);
	k8s_errors_free(&e);
	/* present but null satisfies it (Go writes `"endpoints": null` for an empty slice) */
	expect_ok("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
		  "addressType: IPv4\nendpoints: null\n",
		  K8S_FV_STRICT);
}

/* null decodes into anything, as Go leaves the zero value. */
static void test_nulls(void **state)
{
	(void)state;
	expect_ok("apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {a: null}}\n"
		  "spec: {ports: [null, {port: 80, targetPort: ~}], selector: null}\nstatus:\n",
		  K8S_FV_STRICT);
}

/* k8s_validate on a sub-object, with a path prefix; a node of the wrong shape. */
static void test_validate_node(void **state)
{
	static const char yaml[] = "containers:\n- name: c\n  image: i\n  ports: [{containerPort: "
				   "x}]\nbogus: 1\n";
	struct fy_document *d = fy_document_build_from_string(NULL, yaml, FY_NT);
	const struct k8s_type *t = k8s_type_find("io.k8s.api.core.v1.PodSpec");
	struct k8s_validate_opts o = {.validation = K8S_FV_WARN, .path = "spec.template.spec"};
	struct k8s_errors e = {0};

	(void)state;
	assert_non_null(d);
	assert_non_null(t);
	assert_int_equal(k8s_validate_ex(fy_document_root(d), t, &o, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_non_null(find_cause(&e, "spec.template.spec.containers[0].ports[0].containerPort",
				   K8S_REASON_TYPE_INVALID));
	assert_true(has_warning(&e, "unknown field \"spec.template.spec.bogus\""));
	k8s_errors_free(&e);
	assert_int_equal(k8s_validate(fy_document_root(d), t, K8S_FV_IGNORE, &e), -EINVAL);
	assert_string_equal(e.causes[0].field, "containers[0].ports[0].containerPort");
	k8s_errors_free(&e);
	assert_int_equal(
	    k8s_validate(k8s_get(fy_document_root(d), "containers"), t, K8S_FV_STRICT, &e),
	    -EINVAL);
	assert_string_equal(e.causes[0].message,
			    "Invalid value: \"array\": must be of type object");
	k8s_errors_free(&e);
	assert_int_equal(k8s_validate(NULL, t, K8S_FV_STRICT, &e), -EINVAL);
	/* no errs: still a verdict */
	assert_int_equal(k8s_validate(fy_document_root(d), t, K8S_FV_STRICT, NULL), -EINVAL);
	fy_document_destroy(d);
}

/* Causes stop being kept at K8S_ERRORS_MAX; the rest are counted. */
static void test_many_causes(void **state)
{
	char *text = NULL;
	size_t len = 0;
	struct objs s = {0};
	struct k8s_errors e = {0};
	char msg[256];
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	fputs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n", f);
	for (int i = 0; i < 150; i++)
		fprintf(f, "  k%d: %d\n", i, i);
	fclose(f);
	assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, K8S_ERRORS_MAX);
	assert_int_equal(e.ndropped, 50);
	assert_int_equal(k8s_errors_format(&e, NULL, NULL, msg, sizeof(msg)), -ENOSPC);
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
	k8s_errors_free(&e);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_errors_at_depth),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_int_or_string),
	    cmocka_unit_test(test_special_types),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_enums),
	    cmocka_unit_test(test_required),
	    cmocka_unit_test(test_nulls),
	    cmocka_unit_test(test_validate_node),
	    cmocka_unit_test(test_many_causes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
