/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_parse: streams and objects: multi-document YAML, JSON streams, List expansion,
 * empty documents, unknown and missing kinds, malformed YAML and JSON, size, depth and alias
 * bounds, binary junk, k8s_obj_parse, the error line, and the path getters.
 */
#include "k8s_test.h"

static const char svc_a[] = "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ns}\n"
			    "spec: {ports: [{port: 80}]}\n";

static void test_multi_document(void **state)
{
	static const char text[] =
	    "---\n"
	    "# a comment-only document\n"
	    "---\n"
	    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
	    "---\n"
	    "---\n"
	    "~\n"
	    "---\n"
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"
	    "data: {k: v}\n"
	    "...\n"
	    "---\n"
	    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
	    "spec: {selector: {}, template: {}}\n"
	    "---\n";
	struct objs s = {0};
	struct k8s_errors e = {0};

	(void)state;
	assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(k8s_obj_kind(s.o[0])->kind, "Namespace");
	assert_true(k8s_obj_kind(s.o[0])->cluster_scoped);
	assert_string_equal(k8s_obj_name(s.o[0]), "shop");
	assert_null(k8s_obj_namespace(s.o[0]));
	assert_string_equal(k8s_obj_kind(s.o[1])->resource, "configmaps");
	assert_string_equal(k8s_obj_namespace(s.o[1]), "shop");
	assert_string_equal(k8s_obj_kind(s.o[2])->api_version, "apps/v1");
	assert_ptr_equal(k8s_obj_type(s.o[2]), &k8s_schema_types[K8S_T_apps_v1_Deployment]);
	assert_non_null(k8s_obj_doc(s.o[2]));
	objs_free(&s);
	/* nothing but empty documents is no object and no error */
	assert_int_equal(parse_text("---\n---\n\n# x\n", K8S_FV_STRICT, &s, &e), 0);
	assert_int_equal(parse_text("", K8S_FV_STRICT, &s, &e), 0);
	assert_int_equal(k8s_parse_stream(NULL, 0, NULL, objs_cb, &s, &e), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(e.n, 0);
	/* no callback: nothing to deliver to */
	assert_int_equal(k8s_parse_stream(svc_a, strlen(svc_a), NULL, NULL, NULL, &e), -EINVAL);
}

static void test_list_expansion(void **state)
{
	static const char text[] =
	    "apiVersion: v1\n"
	    "kind: List\n"
	    "metadata: {resourceVersion: \"7\"}\n"
	    "items:\n"
	    "- apiVersion: v1\n  kind: Service\n  metadata: {name: web}\n"
	    "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n"
	    "  metadata: {name: web-1}\n  addressType: IPv4\n  endpoints: []\n"
	    "---\n"
	    "apiVersion: v1\n"
	    "kind: ServiceList\n"
	    "items:\n"
	    "- metadata: {name: typed}\n  spec: {ports: [{port: 443}]}\n"
	    "- apiVersion: v1\n  kind: Service\n  metadata: {name: explicit}\n"
	    "---\n"
	    "apiVersion: v1\nkind: PodList\nitems: null\n"
	    "---\n"
	    "apiVersion: v1\nkind: List\nitems:\n"
	    "- apiVersion: v1\n  kind: ConfigMapList\n"
	    "  items: [{metadata: {name: nested}}]\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	char *j;

	(void)state;
	assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), 0);
	assert_int_equal(s.n, 5);
	assert_string_equal(k8s_obj_name(s.o[0]), "web");
	assert_string_equal(k8s_obj_kind(s.o[1])->kind, "EndpointSlice");
	/* items of a typed list get the list's item kind, written into their document */
	assert_string_equal(k8s_obj_kind(s.o[2])->kind, "Service");
	j = json_of(s.o[2]);
	assert_string_equal(j, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
			       "\"typed\"},\"spec\":{\"ports\":[{\"port\":443}]}}");
	free(j);
	assert_string_equal(k8s_obj_name(s.o[3]), "explicit");
	assert_string_equal(k8s_obj_kind(s.o[4])->kind, "ConfigMap");
	assert_string_equal(k8s_obj_name(s.o[4]), "nested");
	objs_free(&s);
	k8s_errors_free(&e);

	/* JSON lists too (as an API server answers a list) */
	assert_int_equal(
	    parse_text("{\"kind\": \"ServiceList\", \"apiVersion\": \"v1\", \"items\": "
		       "[{\"metadata\": {\"name\": \"x\"}}]}",
		       K8S_FV_STRICT, &s, &e),
	    0);
	assert_int_equal(s.n, 1);
	j = json_of(s.o[0]);
	assert_string_equal(
	    j, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"x\"}}");
	free(j);
	objs_free(&s);
}

static void test_list_errors(void **state)
{
	struct objs s = {0};
	struct k8s_errors e = {0};

	(void)state;
	/* an invalid item: its path inside the list */
	assert_int_equal(parse_text("apiVersion: v1\nkind: List\nitems:\n"
				    "- apiVersion: v1\n  kind: Service\n  metadata: {name: ok}\n"
				    "- apiVersion: v1\n  kind: Service\n  metadata: {name: bad}\n"
				    "  spec: {ports: [{port: http}]}\n",
				    K8S_FV_STRICT, &s, &e),
			 -EINVAL);
	assert_int_equal(s.n, 1); /* delivered before the bad one: the caller's */
	assert_non_null(find_cause(&e, "items[1].spec.ports[0].port", K8S_REASON_TYPE_INVALID));
	assert_string_equal(e.name, "bad");
	objs_free(&s);
	k8s_errors_free(&e);
	/* items of a v1 List must say what they are */
	assert_int_equal(parse_text("apiVersion: v1\nkind: List\nitems:\n- metadata: {name: x}\n",
				    K8S_FV_STRICT, &s, &e),
			 -EINVAL);
	assert_non_null(find_cause(&e, "items[0].kind", K8S_REASON_REQUIRED));
	assert_non_null(find_cause(&e, "items[0].apiVersion", K8S_REASON_REQUIRED));
	k8s_errors_free(&e);
	/* an item of a typed list of another kind */
	assert_int_equal(parse_text("apiVersion: v1\nkind: ServiceList\nitems:\n"
				    "- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
				    K8S_FV_STRICT, &s, &e),
			 -EINVAL);
	assert_non_null(find_cause(&e, "items[0].kind", K8S_REASON_INVALID));
	k8s_errors_free(&e);
	/* ... also when it leaves out the apiVersion the list would give it (it was checked as
	 * a Service while saying ConfigMap); an absent kind with another apiVersion likewise */
	assert_int_equal(parse_text("apiVersion: v1\nkind: ServiceList\nitems:\n"
				    "- {kind: ConfigMap, metadata: {name: c}}\n",
				    K8S_FV_STRICT, &s, &e),
			 -EINVAL);
	assert_non_null(find_cause(&e, "items[0].kind", K8S_REASON_INVALID));
	k8s_errors_free(&e);
	assert_int_equal(parse_text("apiVersion: v1\nkind: ServiceList\nitems:\n"
				    "- {apiVersion: apps/v1, metadata: {name: c}}\n",
				    K8S_FV_STRICT, &s, &e),
			 -EINVAL);
	assert_non_null(find_cause(&e, "items[0].apiVersion", K8S_REASON_INVALID));
	k8s_errors_free(&e);
	/* what agrees with the list stands */
	assert_int_equal(parse_text("apiVersion: v1\nkind: ServiceList\nitems:\n"
				    "- {kind: Service, metadata: {name: s}}\n"
				    "- {apiVersion: v1, metadata: {name: t}}\n",
				    K8S_FV_STRICT, &s, &e),
			 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(k8s_obj_kind(s.o[0])->kind, "Service");
	assert_string_equal(k8s_obj_kind(s.o[1])->kind, "Service");
	objs_free(&s);
	/* items that are not a list, a list-level unknown field */
	assert_int_equal(
	    parse_text("apiVersion: v1\nkind: List\nitems: {a: b}\n", K8S_FV_STRICT, &s, &e),
	    -EINVAL);
	assert_non_null(find_cause(&e, "items", K8S_REASON_TYPE_INVALID));
	k8s_errors_free(&e);
	assert_int_equal(
	    parse_text("apiVersion: v1\nkind: List\nitemz: []\n", K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_non_null(find_cause(&e, "itemz", K8S_REASON_UNKNOWN));
	k8s_errors_free(&e);
	assert_int_equal(s.n, 0);
}

static void test_kinds(void **state)
{
	struct objs s = {0};
	struct k8s_errors e = {0};
	const struct k8s_cause *c;

	(void)state;
	assert_int_equal(
	    parse_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
		       K8S_FV_STRICT, &s, &e),
	    -EINVAL);
	c = find_cause(&e, "kind", K8S_REASON_NOT_SUPPORTED);
	assert_non_null(c);
	assert_string_equal(c->message,
			    "no matches for kind \"Widget\" in version \"example.com/v1\"");
	assert_int_equal(c->line, 2);
	k8s_errors_free(&e);
	/* a known kind in another version */
	assert_int_equal(
	    parse_text("apiVersion: apps/v1beta1\nkind: Deployment\n", K8S_FV_STRICT, &s, &e),
	    -EINVAL);
	k8s_errors_free(&e);
	/* missing apiVersion and/or kind */
	assert_int_equal(parse_text("metadata: {name: x}\n", K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_non_null(find_cause(&e, "apiVersion", K8S_REASON_REQUIRED));
	assert_non_null(find_cause(&e, "kind", K8S_REASON_REQUIRED));
	k8s_errors_free(&e);
	assert_int_equal(parse_text("kind: Pod\n", K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_non_null(find_cause(&e, "apiVersion", K8S_REASON_REQUIRED));
	k8s_errors_free(&e);
	assert_int_equal(parse_text("apiVersion: v1\nkind: 7\n", K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_non_null(find_cause(&e, "kind", K8S_REASON_TYPE_INVALID));
	k8s_errors_free(&e);
	/* a document that is not a mapping */
	assert_int_equal(parse_text("- a\n- b\n", K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_non_null(find_cause(&e, "", K8S_REASON_TYPE_INVALID));
	k8s_errors_free(&e);
	assert_int_equal(parse_text("[1, 2]", K8S_FV_STRICT, &s, &e), -EINVAL);
	k8s_errors_free(&e);
	assert_int_equal(s.n, 0);
}

static void test_callback_stops(void **state)
{
	struct objs s = {.stop_after = 1};
	struct k8s_errors e = {0};
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "%s---\n%s", svc_a, svc_a);
	assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), -ECANCELED);
	assert_int_equal(s.n, 1);
	assert_int_equal(e.n, 0);
	objs_free(&s);
	/* a bad second document: the first is already the caller's */
	snprintf(text, sizeof(text), "%s---\nkind: Service\napiVersion: v1\nspec: 5\n", svc_a);
	assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(s.n, 1);
	assert_non_null(find_cause(&e, "spec", K8S_REASON_TYPE_INVALID));
	objs_free(&s);
	k8s_errors_free(&e);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *message; /* prefix */
		int line;
	} cases[] = {
	    {"apiVersion: v1\nkind: ConfigMap\ndata: [1, 2\nb: c\n", "yaml: line ", 0},
	    {"a: b: c\n", "yaml: line 1, column 5: ", 1},
	    {"a:\n\t- b\n", "yaml: line 2, column 1: ", 2},
	    {"key: \"unterminated\n", "yaml: line ", 0},
	    {"a: *nope\n", "yaml: unknown anchor referenced", 0},
	    {"{\"apiVersion\": \"v1\",,}", "json: line 1, column ", 1},
	    {"{\"a\": [}", "json: line 1, column ", 1},
	    {"{\"a\": 1", "json: line ", 0},
	    {"{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}\n"
	     "  garbage",
	     "json: line 2, column 3: invalid character after top-level value", 2},
	    {"{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}\n"
	     "{\"b\":\n tru}",
	     "json: line 3, column 2: ", 3},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct objs s = {0};
		struct k8s_errors e = {0};
		int r = parse_text(cases[i].text, K8S_FV_STRICT, &s, &e);

		if (r != -EINVAL || e.n != 1 ||
		    strncmp(e.causes[0].message, cases[i].message, strlen(cases[i].message)) != 0) {
			dump_errors(&e);
			fail_msg("case %zu: r=%d", i, r);
		}
		assert_string_equal(e.causes[0].field, "");
		if (cases[i].line)
			assert_int_equal(e.causes[0].line, cases[i].line);
		objs_free(&s);
		k8s_errors_free(&e);
	}
}

/* Input that starts with '{' is JSON; if it is not, it may be YAML in flow style. */
static void test_json_or_yaml(void **state)
{
	struct objs s = {0};
	struct k8s_errors e = {0};

	(void)state;
	assert_int_equal(parse_text("{apiVersion: v1, kind: Namespace, metadata: {name: x}}",
				    K8S_FV_STRICT, &s, &e),
			 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(e.n, 0);
	objs_free(&s);
	/* read as YAML, with YAML's scalars */
	assert_int_equal(parse_text("{apiVersion: v1, kind: ConfigMap, metadata: {name: x},\n"
				    " data: {a: yes}}",
				    K8S_FV_STRICT, &s, &e),
			 -EINVAL);
	assert_int_equal(e.n, 1);
	assert_non_null(find_cause(&e, "data[a]", K8S_REASON_TYPE_INVALID));
	assert_string_equal(e.kind, "ConfigMap");
	k8s_errors_free(&e);
	/* neither JSON nor YAML: the JSON error */
	assert_int_equal(parse_text("{\"apiVersion\": \"v1\", ]", K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_true(strncmp(e.causes[0].message, "json: line 1, column ", 21) == 0);
	k8s_errors_free(&e);
	assert_int_equal(s.n, 0);
}

static void test_size_limit(void **state)
{
	struct k8s_parse_opts o = {.max_bytes = 64};
	struct objs s = {0};
	struct k8s_errors e = {0};
	size_t big = K8S_DEFAULT_MAX_BYTES + 1;
	char *text;

	(void)state;
	assert_true(strlen(svc_a) > 64);
	assert_int_equal(k8s_parse_stream(svc_a, strlen(svc_a), &o, objs_cb, &s, &e), -EFBIG);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.causes[0].message, "more than the limit of 64"));
	k8s_errors_free(&e);
	errno = 0;
	assert_null(k8s_obj_parse(svc_a, strlen(svc_a), &o, &e));
	assert_int_equal(errno, EFBIG);
	k8s_errors_free(&e);
	/* the default limit: 3 MiB, as the API server's */
	text = malloc(big);
	assert_non_null(text);
	memset(text, ' ', big);
	memcpy(text, svc_a, strlen(svc_a));
	assert_int_equal(k8s_parse_stream(text, big, NULL, objs_cb, &s, &e), -EFBIG);
	k8s_errors_free(&e);
	assert_int_equal(k8s_parse_stream(text, big - 1, NULL, objs_cb, &s, &e), 0);
	assert_int_equal(s.n, 1);
	objs_free(&s);
	free(text);
}

static char *nested(const char *head, const char *open, const char *close, int depth)
{
	size_t ol = strlen(open), cl = strlen(close), hl = strlen(head);
	char *s = malloc(hl + (ol + cl) * (size_t)depth + 4);
	char *p = s;

	memcpy(p, head, hl);
	p += hl;
	for (int i = 0; i < depth; i++, p += ol)
		memcpy(p, open, ol);
	*p++ = '1';
	for (int i = 0; i < depth; i++, p += cl)
		memcpy(p, close, cl);
	*p++ = '\n';
	*p = 0;
	return s;
}

static void test_depth(void **state)
{
	static const char head[] = "apiVersion: apps/v1\nkind: ControllerRevision\nrevision: 1\n"
				   "metadata: {name: r}\ndata: ";
	struct objs s = {0};
	struct k8s_errors e = {0};
	char *text;

	(void)state;
	/* within the limit: fine, also in a schema-less part */
	text = nested(head, "[", "]", 40);
	assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), 0);
	assert_int_equal(s.n, 1);
	objs_free(&s);
	free(text);
	/* past it, in flow and in block style, and absurdly deep: one clear error */
	for (int depth = 100; depth <= 100000; depth *= 1000) {
		text = nested(head, "[", "]", depth);
		assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), -EINVAL);
		assert_int_equal(e.n, 1);
		assert_non_null(strstr(e.causes[0].message, "depth"));
		k8s_errors_free(&e);
		free(text);
	}
	text = nested(head, "\n- ", "", 200);
	assert_int_equal(parse_text(text, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	k8s_errors_free(&e);
	free(text);
	assert_int_equal(s.n, 0);
}

static void test_aliases(void **state)
{
	static const char ok[] = "apiVersion: v1\nkind: ConfigMap\n"
				 "metadata: &meta {name: c, labels: &labels {app: web}}\n"
				 "data:\n  <<: *labels\n  tier: front\n  copy: *labels\n";
	static const char bomb[] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
				   "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
				   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
				   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
				   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
				   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
				   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
	static const char recursive[] = "apiVersion: v1\nkind: ConfigMap\nx: &a [1, *a]\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	char *j;

	(void)state;
	/* anchors, aliases and merge keys resolve as go-yaml resolves them; `copy` is a map,
	 * which ConfigMap.data does not take */
	assert_int_equal(parse_text(ok, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_non_null(find_cause(&e, "data[copy]", K8S_REASON_TYPE_INVALID));
	k8s_errors_free(&e);
	assert_int_equal(parse_text("apiVersion: v1\nkind: ConfigMap\n"
				    "metadata: {name: c, labels: &l {app: web}}\n"
				    "data:\n  <<: *l\n  tier: front\n",
				    K8S_FV_STRICT, &s, &e),
			 0);
	j = json_of(s.o[0]);
	assert_string_equal(j,
			    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			    "\"c\",\"labels\":{\"app\":\"web\"}},\"data\":{\"app\":\"web\","
			    "\"tier\":\"front\"}}");
	free(j);
	objs_free(&s);
	/* a merge key whose value is no alias: go-yaml merges it, libfyaml cannot (an error) */
	assert_int_equal(parse_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
				    "data:\n  <<: {a: b}\n",
				    K8S_FV_STRICT, &s, &e),
			 -EINVAL);
	assert_string_equal(e.causes[0].message, "yaml: line 5, column 7: invalid merge key value");
	k8s_errors_free(&e);
	/* a billion laughs and a recursive alias are refused, fast */
	assert_int_equal(parse_text(bomb, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_non_null(strstr(e.causes[0].message, "excessive aliasing"));
	k8s_errors_free(&e);
	assert_int_equal(parse_text(recursive, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	k8s_errors_free(&e);
	assert_int_equal(s.n, 0);
}

/* Bytes that are no YAML at all: an error, never a crash. */
static void test_binary_junk(void **state)
{
	static const char nul[] = "apiVersion: v1\nkind: ConfigMap\n\0data: {}\n";
	static const char bad_utf8[] =
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"\xff\xfe\"}\n";
	unsigned char junk[4096];
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 64; round++) {
		struct objs s = {0};
		struct k8s_errors e = {0};
		size_t n = 1 + (size_t)(round * 61) % sizeof(junk);
		int r;

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (unsigned char)(seed >> 16);
		}
		if (round % 2)
			junk[0] = '{';
		r = k8s_parse_stream((const char *)junk, n, NULL, objs_cb, &s, &e);
		assert_true(r == -EINVAL || r == 0);
		if (r)
			assert_true(e.n >= 1);
		objs_free(&s);
		k8s_errors_free(&e);
	}
	{
		struct objs s = {0};
		struct k8s_errors e = {0};

		assert_int_not_equal(k8s_parse_stream(nul, sizeof(nul) - 1, NULL, objs_cb, &s, &e),
				     0);
		assert_true(e.n >= 1);
		k8s_errors_free(&e);
		assert_int_not_equal(parse_text(bad_utf8, K8S_FV_STRICT, &s, &e), 0);
		assert_true(e.n >= 1);
		k8s_errors_free(&e);
		objs_free(&s);
	}
}

static void test_obj_parse(void **state)
{
	const struct k8s_type *we =
	    k8s_type_find("io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent");
	struct k8s_parse_opts o = {.type = we};
	struct k8s_errors e = {0};
	struct k8s_obj *obj;
	char text[512];
	size_t text_len;
	const char *str;

	(void)state;
	obj = k8s_obj_parse(svc_a, strlen(svc_a), NULL, &e);
	assert_non_null(obj);
	assert_string_equal(k8s_obj_name(obj), "a");
	k8s_obj_free(obj);
	/* a List is one object here: not expanded */
	text_len = strlen(strcpy(text, "apiVersion: v1\nkind: List\nitems: []\n"));
	obj = k8s_obj_parse(text, text_len, NULL, &e);
	assert_non_null(obj);
	assert_string_equal(k8s_obj_kind(obj)->kind, "List");
	k8s_obj_free(obj);
	/* two objects, none */
	snprintf(text, sizeof(text), "%s---\n%s", svc_a, svc_a);
	errno = 0;
	assert_null(k8s_obj_parse(text, strlen(text), NULL, &e));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(e.causes[0].message,
			    "expected exactly one object, found more than one document");
	k8s_errors_free(&e);
	assert_null(k8s_obj_parse("---\n", 4, NULL, &e));
	assert_int_equal(e.n, 1);
	k8s_errors_free(&e);
	/* an expected type stands in for a missing apiVersion/kind */
	snprintf(text, sizeof(text), "type: ADDED\nobject: {kind: Anything, apiVersion: x/v1}\n");
	obj = k8s_obj_parse(text, strlen(text), &o, &e);
	assert_non_null(obj);
	assert_ptr_equal(k8s_obj_type(obj), we);
	assert_string_equal(k8s_obj_kind(obj)->kind, "WatchEvent");
	assert_int_equal(k8s_get_str(k8s_obj_root(obj), "object.kind", &str), 0);
	assert_string_equal(str, "Anything");
	k8s_obj_free(obj);
	/* ... and must agree with them when they are there */
	assert_null(k8s_obj_parse(svc_a, strlen(svc_a), &o, &e));
	assert_non_null(find_cause(&e, "kind", K8S_REASON_INVALID));
	k8s_errors_free(&e);
	o.type = k8s_type_find("io.k8s.api.core.v1.Service");
	obj = k8s_obj_parse(svc_a, strlen(svc_a), &o, &e);
	assert_non_null(obj);
	k8s_obj_free(obj);
	text_len = strlen(strcpy(text, "metadata: {name: x}\n"));
	obj = k8s_obj_parse(text, text_len, &o, &e);
	assert_non_null(obj);
	assert_string_equal(k8s_obj_kind(obj)->kind, "Service");
	k8s_obj_free(obj);
	/* NULL-tolerant accessors */
	k8s_obj_free(NULL);
	assert_null(k8s_obj_kind(NULL));
	assert_null(k8s_obj_root(NULL));
	assert_null(k8s_obj_name(NULL));
	assert_null(k8s_obj_to_json(NULL));
	k8s_errors_free(NULL);
}

static void test_errors_format(void **state)
{
	static const char bad[] = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: "
				  "default}\nspec:\n  ports:\n  - port: \"80\"\n    foo: 1\n";
	struct objs s = {0};
	struct k8s_errors e = {0};
	char line[512], small[16];

	(void)state;
	assert_int_equal(parse_text(bad, K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(k8s_errors_format(&e, "svc.yaml", NULL, line, sizeof(line)), 0);
	assert_string_equal(line,
			    "svc.yaml: Service default/web: spec.ports[0].port: Invalid "
			    "value: \"80\": must be of type int32; spec.ports[0].foo: unknown "
			    "field \"spec.ports[0].foo\"");
	assert_int_equal(k8s_errors_format(&e, NULL, NULL, small, sizeof(small)), -ENOSPC);
	assert_string_equal(small, "Service default");
	assert_int_equal(k8s_errors_format(&e, NULL, NULL, small, 0), -EINVAL);
	assert_int_equal(k8s_errors_format(NULL, NULL, NULL, line, sizeof(line)), -EINVAL);
	k8s_errors_free(&e);
	/* a cluster-scoped object, an object given by the caller, a malformed input */
	assert_int_equal(
	    parse_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\nx: 1\n",
		       K8S_FV_STRICT, &s, &e),
	    -EINVAL);
	assert_int_equal(k8s_errors_format(&e, "ns.yaml", NULL, line, sizeof(line)), 0);
	assert_string_equal(line, "ns.yaml: Namespace ns1: x: unknown field \"x\"");
	k8s_errors_free(&e);
	assert_int_equal(parse_text(svc_a, K8S_FV_STRICT, &s, &e), 0);
	k8s_errors_add(&e, "spec.clusterIP", K8S_REASON_INVALID, 0, 0, "Invalid value: \"%s\": %s",
		       "x", "must be a valid IP address");
	assert_int_equal(k8s_errors_format(&e, NULL, s.o[0], line, sizeof(line)), 0);
	assert_string_equal(line, "Service ns/a: spec.clusterIP: Invalid value: \"x\": must be a "
				  "valid IP address");
	objs_free(&s);
	k8s_errors_free(&e);
	assert_int_equal(parse_text("a: [\n", K8S_FV_STRICT, &s, &e), -EINVAL);
	assert_int_equal(k8s_errors_format(&e, "x.yaml", NULL, line, sizeof(line)), 0);
	assert_true(strncmp(line, "x.yaml: yaml: line ", 19) == 0);
	k8s_errors_free(&e);
}

static void test_getters(void **state)
{
	static const char text[] =
	    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n"
	    "    app.kubernetes.io/name: web\n    a~b/c: tilde\n"
	    "spec:\n  containers:\n  - name: c0\n    ports: [{containerPort: 80}]\n"
	    "  - name: c1\n    ports: [{containerPort: 0755}]\n"
	    "  hostNetwork: yes\n  nodeName: ~\n";
	struct k8s_obj *o = parse_one(text);
	struct fy_node *r = k8s_obj_root(o);
	const char *str;
	int64_t i;
	bool b;

	(void)state;
	assert_int_equal(k8s_get_str(r, "metadata.labels[app.kubernetes.io/name]", &str), 0);
	assert_string_equal(str, "web");
	assert_int_equal(k8s_get_str(r, "/metadata/labels/app.kubernetes.io~1name", &str), 0);
	assert_string_equal(str, "web");
	assert_int_equal(k8s_get_str(r, "/metadata/labels/a~0b~1c", &str), 0);
	assert_string_equal(str, "tilde");
	assert_int_equal(k8s_get_int(r, "spec.containers[1].ports[0].containerPort", &i), 0);
	assert_int_equal(i, 493);
	assert_int_equal(k8s_get_int(r, "spec.containers.1.ports.0.containerPort", &i), 0);
	assert_int_equal(k8s_get_int(r, "/spec/containers/0/ports/0/containerPort", &i), 0);
	assert_int_equal(i, 80);
	assert_int_equal(k8s_get_bool(r, "spec.hostNetwork", &b), 0);
	assert_true(b);
	assert_ptr_equal(k8s_get(r, ""), r);
	assert_ptr_equal(k8s_get(r, "/"), r);
	assert_true(fy_node_is_sequence(k8s_get(r, "spec.containers")));
	/* absent, null, of another type */
	assert_int_equal(k8s_get_str(r, "spec.nodeName", &str), -ENOENT);
	assert_int_equal(k8s_get_str(r, "spec.missing", &str), -ENOENT);
	assert_int_equal(k8s_get_str(r, "spec.containers[2].name", &str), -ENOENT);
	assert_int_equal(k8s_get_str(r, "spec.containers[x].name", &str), -ENOENT);
	assert_int_equal(k8s_get_str(r, "spec.hostNetwork", &str), -EINVAL);
	assert_int_equal(k8s_get_int(r, "metadata.name", &i), -EINVAL);
	assert_int_equal(k8s_get_bool(r, "spec.containers", &b), -EINVAL);
	assert_int_equal(k8s_get_int(r, "metadata..name", &i), -ENOENT);
	assert_int_equal(k8s_get_int(r, "metadata.", &i), -ENOENT);
	assert_int_equal(k8s_get_int(r, "metadata.labels[app", &i), -ENOENT);
	assert_null(k8s_get(NULL, "a"));
	assert_null(k8s_get(r, NULL));
	k8s_obj_free(o);
}

/* The outcome of parsing text (cache or not): the objects' JSON joined, or the error line. */
static char *outcome(const char *text, struct k8s_parse_cache *pc)
{
	struct k8s_parse_opts o = {.validation = K8S_FV_STRICT, .cache = pc};
	struct k8s_errors e = {0};
	struct objs s = {0};
	char *out = calloc(1, 8192);
	int rc = k8s_parse_stream(text, strlen(text), &o, objs_cb, &s, &e);

	assert_non_null(out);
	for (size_t i = 0; i < s.n; i++) {
		char *j = k8s_obj_to_json(s.o[i]);

		assert_non_null(j);
		strncat(out, j, 8191 - strlen(out));
		free(j);
	}
	if (rc)
		k8s_errors_format(&e, "t", NULL, out + strlen(out), 8192 - strlen(out));
	k8s_errors_free(&e);
	objs_free(&s);
	return out;
}

/* A parser kept between parses (opts.cache) gives every input the outcome a fresh one does:
 * after valid input, after a syntax error (that parser is dropped), from YAML to JSON (a
 * parser of the other mode is made) and back. */
static void test_parse_cache(void **state)
{
	static const char *const in[] = {
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
	    "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: 'x''''y'}\n",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [c\n",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n---\nkind: Nope\n",
	    "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"e\"}}",
	    "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": ",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f}\ndata: {n: 0755}\n",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"g\n",
	};
	struct k8s_parse_cache *pc = k8s_parse_cache_new();

	(void)state;
	assert_non_null(pc);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
			char *fresh = outcome(in[i], NULL), *kept = outcome(in[i], pc);

			assert_string_equal(kept, fresh);
			free(fresh);
			free(kept);
		}
	}
	k8s_parse_cache_free(pc);
	k8s_parse_cache_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_multi_document), cmocka_unit_test(test_list_expansion),
	    cmocka_unit_test(test_list_errors),	   cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_callback_stops), cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_json_or_yaml),   cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_depth),	   cmocka_unit_test(test_aliases),
	    cmocka_unit_test(test_binary_junk),	   cmocka_unit_test(test_obj_parse),
	    cmocka_unit_test(test_errors_format),  cmocka_unit_test(test_getters),
	    cmocka_unit_test(test_parse_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
