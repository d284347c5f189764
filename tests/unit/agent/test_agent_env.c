/* SPDX-License-Identifier: Apache-2.0 */
/* test_agent_env: a container's environment as the kubelet makes it: $(VAR) expansion as
 * third_party/forked/golang/expansion's tests pin it, envFrom with prefixes (ConfigMap and
 * Secret, base64), env replacing envFrom, valueFrom configMapKeyRef/secretKeyRef/fieldRef,
 * optional sources skipped, and the kubelet's errors for a missing object or key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_env.h"

static void expand_case(const struct env_list *ctx, const char *in, const char *want)
{
	char *got = env_expand(in, ctx);

	assert_non_null(got);
	if (strcmp(got, want))
		fail_msg("expand \"%s\": got \"%s\", want \"%s\"", in, got, want);
	free(got);
}

static void test_expand(void **state)
{
	struct env_list ctx = {0};

	(void)state;
	assert_int_equal(env_set(&ctx, "VAR_A", "A"), 0);
	assert_int_equal(env_set(&ctx, "VAR_B", "B"), 0);
	assert_int_equal(env_set(&ctx, "VAR_EMPTY", ""), 0);
	/* the cases of expansion_test.go */
	expand_case(&ctx, "$(VAR_A)", "A");
	expand_case(&ctx, "___$(VAR_B)___", "___B___");
	expand_case(&ctx, "$(VAR_A)-$(VAR_A)", "A-A");
	expand_case(&ctx, "$(VAR_A)$(VAR_B)", "AB");
	expand_case(&ctx, "foo$(VAR_EMPTY)bar", "foobar");
	expand_case(&ctx, "$(VAR_DNE)", "$(VAR_DNE)");
	expand_case(&ctx, "$$(VAR_A)", "$(VAR_A)");
	expand_case(&ctx, "$$$(VAR_A)", "$A");
	expand_case(&ctx, "$$$$(VAR_A)", "$$(VAR_A)");
	expand_case(&ctx, "$(VAR_A", "$(VAR_A");
	expand_case(&ctx, "$VAR_A", "$VAR_A");
	expand_case(&ctx, "$", "$");
	expand_case(&ctx, "foo$", "foo$");
	expand_case(&ctx, "$()", "$()");
	expand_case(&ctx, "$(VAR_A)$", "A$");
	expand_case(&ctx, "", "");
	env_set(&ctx, "VAR_A", "A2"); /* replaced in place */
	assert_int_equal(ctx.n, 3);
	expand_case(&ctx, "$(VAR_A)", "A2");
	env_list_free(&ctx);
}

/* The API the test fakes: cm (a=1, b=2), sec (pw=hunter2 in base64); nothing else. */
static int fake_get(void *arg, const char *kind, const char *ns, const char *name, struct jv_doc *d,
		    struct jv **obj, char *err, size_t errlen)
{
	const char *json = NULL;

	(void)arg;
	(void)err;
	(void)errlen;
	assert_string_equal(ns, "team");
	if (!strcmp(kind, "ConfigMap") && !strcmp(name, "cm"))
		json = "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}";
	if (!strcmp(kind, "Secret") && !strcmp(name, "sec"))
		json = "{\"data\":{\"pw\":\"aHVudGVyMg==\"}}";
	if (!json)
		return -ENOENT;
	*obj = jv_parse(d, json, strlen(json), NULL);
	return *obj ? 0 : -ENOMEM;
}

static const char *fake_field(void *arg, const char *path)
{
	(void)arg;
	return !strcmp(path, "metadata.name") ? "pod-1" : NULL;
}

/* Build the environment of the container JSON; returns env_build's code. */
static int build(const char *json, struct env_list *out, char *err)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *ctr = jv_parse(d, json, strlen(json), NULL);
	int rc;

	assert_non_null(ctr);
	memset(out, 0, sizeof(*out));
	err[0] = 0;
	rc = env_build(ctr, "team", fake_get, fake_field, NULL, NULL, out, err, 256);
	jv_doc_free(d);
	return rc;
}

static void test_sources(void **state)
{
	struct env_list e;
	char err[256];

	(void)state;
	assert_int_equal(
	    build(
		"{\"envFrom\":[{\"configMapRef\":{\"name\":\"cm\"},\"prefix\":\"CM_\"},"
		"{\"secretRef\":{\"name\":\"sec\"}},"
		"{\"configMapRef\":{\"name\":\"gone\",\"optional\":true}}],"
		"\"env\":[{\"name\":\"CM_a\",\"value\":\"over\"},"
		"{\"name\":\"X\",\"value\":\"$(CM_b)-$(pw)-$(LATER)\"},"
		"{\"name\":\"LATER\",\"value\":\"l\"},"
		"{\"name\":\"K\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"b\"}"
		"}},"
		"{\"name\":\"S\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"pw\"}}"
		"},"
		"{\"name\":\"OPT\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":"
		"\"no\","
		"\"optional\":true}}},"
		"{\"name\":\"OPT2\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"nope\",\"key\":"
		"\"k\",\"optional\":true}}},"
		"{\"name\":\"N\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
		"{\"name\":\"E\"}]}",
		&e, err),
	    0);
	assert_string_equal(env_get(&e, "CM_a"), "over"); /* env replaces envFrom */
	assert_string_equal(env_get(&e, "CM_b"), "2");
	assert_string_equal(env_get(&e, "pw"), "hunter2");
	/* only what was declared before expands */
	assert_string_equal(env_get(&e, "X"), "2-hunter2-$(LATER)");
	assert_string_equal(env_get(&e, "K"), "2");
	assert_string_equal(env_get(&e, "S"), "hunter2");
	assert_null(env_get(&e, "OPT"));
	assert_null(env_get(&e, "OPT2"));
	assert_null(env_get(&e, "a")); /* the prefix applies */
	assert_string_equal(env_get(&e, "N"), "pod-1");
	assert_string_equal(env_get(&e, "E"), "");
	env_list_free(&e);
}

static void err_case(const char *json, const char *want)
{
	struct env_list e;
	char err[256];

	assert_int_equal(build(json, &e, err), -EINVAL);
	assert_string_equal(err, want);
	env_list_free(&e);
}

static void test_errors(void **state)
{
	(void)state;
	err_case("{\"envFrom\":[{\"configMapRef\":{\"name\":\"gone\"}}]}",
		 "configmap \"gone\" not found");
	err_case("{\"envFrom\":[{\"secretRef\":{\"name\":\"gone\",\"optional\":false}}]}",
		 "secret \"gone\" not found");
	err_case("{\"env\":[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":"
		 "\"cm\",\"key\":\"zz\"}}}]}",
		 "couldn't find key zz in ConfigMap team/cm");
	err_case("{\"env\":[{\"name\":\"A\",\"valueFrom\":{\"secretKeyRef\":{\"name\":"
		 "\"sec\",\"key\":\"zz\"}}}]}",
		 "couldn't find key zz in Secret team/sec");
	err_case("{\"env\":[{\"name\":\"A\",\"valueFrom\":{\"secretKeyRef\":{\"name\":"
		 "\"nosec\",\"key\":\"zz\"}}}]}",
		 "secret \"nosec\" not found");
	/* an optional object that exists but lacks the key: skipped, no error */
	{
		struct env_list e;
		char err[256];

		assert_int_equal(
		    build("{\"env\":[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":"
			  "{\"name\":\"cm\",\"key\":\"zz\",\"optional\":true}}}]}",
			  &e, err),
		    0);
		assert_int_equal(e.n, 0);
		env_list_free(&e);
	}
}

/* The services' variables (envvars.FromServices, kubelet_pods.go getServiceEnvVarMap, as
 * envvars_test.go pins them): the pod's namespace's services with a cluster IP (links on),
 * default/kubernetes always, headless and ExternalName services never; a container's own
 * env wins over them and expands against them. */
static const char *SVCS[] = {
    "{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":"
    "\"10.96.0.1\",\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\"}]}}",
    "{\"metadata\":{\"name\":\"web-api\",\"namespace\":\"team\"},\"spec\":{\"clusterIP\":"
    "\"10.96.5.5\",\"ports\":[{\"name\":\"http\",\"port\":80},{\"name\":\"dns-x\",\"port\":"
    "9053,\"protocol\":\"UDP\"}]}}",
    "{\"metadata\":{\"name\":\"v6\",\"namespace\":\"team\"},\"spec\":{\"clusterIP\":"
    "\"fd00::5\",\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}}",
    "{\"metadata\":{\"name\":\"headless\",\"namespace\":\"team\"},\"spec\":{\"clusterIP\":"
    "\"None\",\"ports\":[{\"port\":80}]}}",
    "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"team\"},\"spec\":{\"type\":"
    "\"ExternalName\",\"externalName\":\"example.org\"}}",
    "{\"metadata\":{\"name\":\"elsewhere\",\"namespace\":\"other\"},\"spec\":{\"clusterIP\":"
    "\"10.96.9.9\",\"ports\":[{\"port\":80}]}}",
};

static void services(bool links, const char *ns, struct env_list *out, struct jv_doc *d)
{
	const struct jv *v[sizeof(SVCS) / sizeof(SVCS[0])];

	for (size_t i = 0; i < sizeof(SVCS) / sizeof(SVCS[0]); i++)
		assert_non_null(v[i] = jv_parse(d, SVCS[i], strlen(SVCS[i]), NULL));
	memset(out, 0, sizeof(*out));
	assert_int_equal(env_services(v, sizeof(SVCS) / sizeof(SVCS[0]), ns, links, out), 0);
}

static void want(const struct env_list *e, const char *name, const char *value)
{
	const char *got = env_get(e, name);

	if (!value && got)
		fail_msg("%s=%s, want it unset", name, got);
	if (value && (!got || strcmp(got, value)))
		fail_msg("%s=%s, want %s", name, got ? got : "(unset)", value);
}

static void test_services(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct env_list e, out;
	struct jv *ctr;
	char err[256];
	const char *json;

	(void)state;
	services(true, "team", &e, d);
	want(&e, "KUBERNETES_SERVICE_HOST", "10.96.0.1");
	want(&e, "KUBERNETES_SERVICE_PORT", "443");
	want(&e, "KUBERNETES_SERVICE_PORT_HTTPS", "443");
	want(&e, "KUBERNETES_PORT", "tcp://10.96.0.1:443");
	want(&e, "KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443");
	want(&e, "KUBERNETES_PORT_443_TCP_PROTO", "tcp");
	want(&e, "KUBERNETES_PORT_443_TCP_PORT", "443");
	want(&e, "KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1");
	want(&e, "WEB_API_SERVICE_HOST", "10.96.5.5");
	want(&e, "WEB_API_SERVICE_PORT", "80");
	want(&e, "WEB_API_SERVICE_PORT_HTTP", "80");
	want(&e, "WEB_API_SERVICE_PORT_DNS_X", "9053");
	want(&e, "WEB_API_PORT", "tcp://10.96.5.5:80");
	want(&e, "WEB_API_PORT_80_TCP", "tcp://10.96.5.5:80");
	want(&e, "WEB_API_PORT_9053_UDP", "udp://10.96.5.5:9053");
	want(&e, "WEB_API_PORT_9053_UDP_PROTO", "udp");
	want(&e, "WEB_API_PORT_9053_UDP_PORT", "9053");
	want(&e, "WEB_API_PORT_9053_UDP_ADDR", "10.96.5.5");
	want(&e, "V6_PORT", "tcp://[fd00::5]:8080");
	want(&e, "V6_SERVICE_PORT", "8080");
	want(&e, "HEADLESS_SERVICE_HOST", NULL);
	want(&e, "EXT_SERVICE_HOST", NULL);
	want(&e, "ELSEWHERE_SERVICE_HOST", NULL);
	/* HOST, PORT and the link variables' 5 for a one-port service; 1 more per named port
	 * and 4 per further port: kubernetes 8, web-api 13, v6 7 */
	assert_int_equal(e.n, 8 + 13 + 7);

	/* a container's own value wins; $(VAR) expands against the services' */
	json = "{\"env\":[{\"name\":\"WEB_API_SERVICE_PORT\",\"value\":\"8\"},"
	       "{\"name\":\"URL\",\"value\":\"http://"
	       "$(WEB_API_SERVICE_HOST):$(WEB_API_SERVICE_PORT)\"}]}";
	ctr = jv_parse(d, json, strlen(json), NULL);
	memset(&out, 0, sizeof(out));
	assert_int_equal(env_build(ctr, "team", fake_get, fake_field, NULL, &e, &out, err, 256), 0);
	want(&out, "WEB_API_SERVICE_PORT", "8");
	want(&out, "URL", "http://10.96.5.5:8");
	want(&out, "WEB_API_SERVICE_HOST", "10.96.5.5");
	want(&out, "KUBERNETES_SERVICE_HOST", "10.96.0.1");
	env_list_free(&out);
	env_list_free(&e);

	/* enableServiceLinks false: the master service only */
	services(false, "team", &e, d);
	want(&e, "KUBERNETES_SERVICE_HOST", "10.96.0.1");
	want(&e, "WEB_API_SERVICE_HOST", NULL);
	assert_int_equal(e.n, 8);
	env_list_free(&e);
	jv_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_sources),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_services),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
