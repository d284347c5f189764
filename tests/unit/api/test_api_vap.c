/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_vap: ValidatingAdmissionPolicy and its bindings (admissionregistration.k8s.io/v1)
 * against an in-process server, after the Kubernetes documentation's examples
 * (reference/access-authn-authz/validating-admission-policy) and kube-apiserver 1.32's
 * plugin (k8s.io/apiserver/pkg/admission/plugin/policy/validating: dispatcher.go's denial
 * message and reasonToCode, validator.go's "failed expression" and "resulted in error",
 * failurePolicy, validationActions Deny and Warn, paramKind/paramRef).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define VAPS  "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
#define VAPBS "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
#define CMS   "/api/v1/namespaces/default/configmaps"

/* a policy over configmaps labelled guarded=yes with extra (JSON members) */
#define POLICY(name, extra)                                                                   \
	"{`metadata`:{`name`:`" name "`},`spec`:{`matchConstraints`:{`resourceRules`:[{"      \
	"`apiGroups`:[``],`apiVersions`:[`v1`],`operations`:[`CREATE`,`UPDATE`],`resources`:" \
	"[`configmaps`]}],`objectSelector`:{`matchLabels`:{`guarded`:`yes`}}}," extra "}}"
#define BINDING(name, policy, actions, extra)                           \
	"{`metadata`:{`name`:`" name "`},`spec`:{`policyName`:`" policy \
	"`,`validationActions`:[" actions "]" extra "}}"
#define CM(name, data) "{`metadata`:{`name`:`" name "`,`labels`:{`guarded`:`yes`}},`data`:" data "}"

static void test_deny_warn(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	texpect(t, "POST", VAPS,
		tq(POLICY("demo-policy.example.com",
			  "`failurePolicy`:`Fail`,`validations`:[{`expression`:`size(object.data) "
			  "<= 2`},{`expression`:`!('bad' in object.data)`,`message`:`no bad key`,"
			  "`reason`:`Forbidden`}]")),
		201, NULL);
	/* a policy without a binding does nothing */
	texpect(t, "POST", CMS, tq(CM("big", "{`a`:`1`,`b`:`2`,`c`:`3`}")), 201, NULL);
	texpect(
	    t, "POST", VAPBS,
	    tq(BINDING("demo-binding-test.example.com", "demo-policy.example.com", "`Deny`", "")),
	    201, NULL);
	texpect(
	    t, "POST", CMS, tq(CM("c", "{`a`:`1`,`b`:`2`,`c`:`3`}")), 422,
	    "configmaps \"c\" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' "
	    "with binding 'demo-binding-test.example.com' denied request: failed expression: "
	    "size(object.data) <= 2");
	/* the validation's reason and message: 403 Forbidden */
	texpect(
	    t, "POST", CMS, tq(CM("c", "{`bad`:`1`}")), 403,
	    "configmaps \"c\" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' "
	    "with binding 'demo-binding-test.example.com' denied request: no bad key");
	/* not matched: no label */
	texpect(t, "POST", CMS, tq("{`metadata`:{`name`:`free`},`data`:{`a`:`1`,`b`:`2`,`c`:`3`}}"),
		201, NULL);
	texpect(t, "POST", CMS, tq(CM("c", "{`a`:`1`}")), 201, NULL);
	/* updates too */
	texpect(
	    t, "PATCH", CMS "/c", tq("{`data`:{`b`:`2`,`c`:`3`}}"), 422,
	    "configmaps \"c\" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' "
	    "with binding 'demo-binding-test.example.com' denied request: failed expression: "
	    "size(object.data) <= 2");
	/* Warn: admitted with a warning */
	texpect(t, "DELETE", VAPBS "/demo-binding-test.example.com", NULL, 200, NULL);
	texpect(t, "POST", VAPBS, tq(BINDING("warn", "demo-policy.example.com", "`Warn`", "")), 201,
		NULL);
	tcall(t, "POST", CMS, tq(CM("w", "{`a`:`1`,`b`:`2`,`c`:`3`}")), 201, NULL, &r);
	assert_non_null(strstr(r.headers, "Validation failed for ValidatingAdmissionPolicy "
					  "'demo-policy.example.com' with binding 'warn': failed "
					  "expression: size(object.data) "));
	tresp_free(&r);
}

/* failurePolicy: an evaluation error denies (Fail) or is ignored (Ignore) */
static void test_failure_policy(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", VAPS,
		tq(POLICY("p", "`validations`:[{`expression`:`object.data.nope == '1'`}]")), 201,
		NULL);
	texpect(t, "POST", VAPBS, tq(BINDING("b", "p", "`Deny`", "")), 201, NULL);
	texpect(t, "POST", CMS, tq(CM("c", "{`a`:`1`}")), 422,
		"configmaps \"c\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' "
		"denied request: expression 'object.data.nope == '1'' resulted in error: no such "
		"key: nope");
	texpect(t, "PATCH", VAPS "/p", tq("{`spec`:{`failurePolicy`:`Ignore`}}"), 200, NULL);
	texpect(t, "POST", CMS, tq(CM("c", "{`a`:`1`}")), 201, NULL);
}

/* paramKind and paramRef: the binding's parameters as params */
static void test_params(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", VAPS,
		tq(POLICY("max", "`paramKind`:{`apiVersion`:`v1`,`kind`:`ConfigMap`},"
				 "`validations`:[{`expression`:`size(object.data) <= "
				 "int(params.data.max)`,`messageExpression`:`'at most ' + "
				 "params.data.max + ' keys'`}]")),
		201, NULL);
	texpect(t, "POST", VAPBS,
		tq(BINDING("max-b", "max", "`Deny`",
			   ",`paramRef`:{`name`:`limits`,`namespace`:`default`,"
			   "`parameterNotFoundAction`:`Deny`}")),
		201, NULL);
	texpect(t, "POST", CMS, tq(CM("c", "{`a`:`1`}")), 422,
		"configmaps \"c\" is forbidden: ValidatingAdmissionPolicy 'max' with binding "
		"'max-b' denied request: failed to configure binding: no params found for policy "
		"binding with `Deny` parameterNotFoundAction");
	texpect(t, "POST", CMS, tq("{`metadata`:{`name`:`limits`},`data`:{`max`:`1`}}"), 201, NULL);
	texpect(t, "POST", CMS, tq(CM("c", "{`a`:`1`}")), 201, NULL);
	texpect(t, "POST", CMS, tq(CM("d", "{`a`:`1`,`b`:`2`}")), 422,
		"configmaps \"d\" is forbidden: ValidatingAdmissionPolicy 'max' with binding "
		"'max-b' denied request: at most 1 keys");
}

/* variables: computed when read, one from another, in messageExpression too */
static void test_variables(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", VAPS,
		tq(POLICY("v", "`variables`:[{`name`:`n`,`expression`:`size(object.data)`},"
			       "{`name`:`tooMany`,`expression`:`variables.n > 2`},{`name`:`loop`,"
			       "`expression`:`variables.loop`}],`validations`:[{`expression`:"
			       "`!variables.tooMany`,`messageExpression`:`'has ' + "
			       "string(variables.n) + ' keys'`},{`expression`:`size(object.data) "
			       "< 2 || variables.loop`}]")),
		201, NULL);
	texpect(t, "POST", VAPBS, tq(BINDING("vb", "v", "`Deny`", "")), 201, NULL);
	texpect(t, "POST", CMS, tq(CM("c", "{`a`:`1`}")), 201, NULL);
	/* namespaceObject: the request's namespace */
	texpect(t, "POST", VAPS,
		tq(POLICY("ns", "`validations`:[{`expression`:`namespaceObject.metadata.name == "
				"object.metadata.namespace && request.namespace == 'default' && "
				"request.operation == 'CREATE' && oldObject == null`}]")),
		201, NULL);
	texpect(t, "POST", VAPBS, tq(BINDING("nsb", "ns", "`Deny`", "")), 201, NULL);
	texpect(t, "POST", CMS, tq(CM("n", "{`a`:`1`}")), 201, NULL);
	texpect(t, "POST", CMS, tq(CM("d", "{`a`:`1`,`b`:`2`,`c`:`3`}")), 422,
		"configmaps \"d\" is forbidden: ValidatingAdmissionPolicy 'v' with binding 'vb' "
		"denied request: has 3 keys");
	/* a variable that reads itself ends in an error, not a crash */
	texpect(t, "POST", CMS, tq(CM("e", "{`a`:`1`,`b`:`2`}")), 422,
		"configmaps \"e\" is forbidden: ValidatingAdmissionPolicy 'v' with binding 'vb' "
		"denied request: expression 'size(object.data) < 2 || variables.loop' resulted in "
		"error: variables nested too deep: loop");
}

/* validateValidatingAdmissionPolicy: the expressions compile (params only with a
 * paramKind) */
static void test_policy_compile(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", VAPS,
		tq(POLICY("bad", "`validations`:[{`expression`:`object.x +`},{`expression`:"
				 "`params.y`}]")),
		422,
		"ValidatingAdmissionPolicy.admissionregistration.k8s.io \"bad\" is invalid: "
		"[spec.validations[0].expression: Invalid value: \"object.x +\": compilation "
		"failed: ERROR: <input>:1:11: Syntax error: mismatched input '<EOF>' expecting "
		"{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, "
		"NUM_UINT, STRING, BYTES, IDENTIFIER}\n | object.x +\n | ..........^, "
		"spec.validations[1].expression: Invalid value: \"params.y\": compilation failed: "
		"ERROR: <input>:1:1: undeclared reference to 'params' (in container '')\n | "
		"params.y\n | ^]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_deny_warn, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_failure_policy, tsrv_group_setup,
					    tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_params, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_variables, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_compile, tsrv_group_setup,
					    tsrv_group_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
