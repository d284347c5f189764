/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_crd_cel: x-kubernetes-validations rules (CEL) of a CRD over HTTP against an
 * in-process server, with the Kubernetes documentation's CronTab examples ("Validation
 * rules", tasks/extend-kubernetes/custom-resources/custom-resource-definitions): each with
 * the apiextensions-apiserver 1.32 function it follows — cel.Validator.validateExpressions
 * (pkg/apiserver/schema/cel/validation.go: messages, reasons, fieldPath, transition rules,
 * runtime errors), the customresource strategy's hasBlockingErr, and
 * validateCustomResourceDefinitionValidation's compile errors.
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

#define CRDS "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
#define CTS  "/apis/stable.example.com/v1/namespaces/default/crontabs"
#define BAD  "CronTab.stable.example.com \"c\" is invalid: "

/* The documentation's CronTab with rules at several nodes of its schema. */
static const char crontab_crd[] =
    "{`metadata`:{`name`:`crontabs.stable.example.com`},`spec`:{`group`:`stable.example.com`,"
    "`scope`:`Namespaced`,`names`:{`plural`:`crontabs`,`kind`:`CronTab`},`versions`:[{"
    "`name`:`v1`,`served`:true,`storage`:true,`schema`:{`openAPIV3Schema`:{`type`:`object`,"
    "`properties`:{`spec`:{`type`:`object`,`x-kubernetes-validations`:["
    "{`rule`:`self.minReplicas <= self.replicas`,"
    "`message`:`replicas should be greater than or equal to minReplicas.`},"
    "{`rule`:`self.replicas <= self.maxReplicas`,"
    "`message`:`replicas should be smaller than or equal to maxReplicas.`}],"
    "`properties`:{`cronSpec`:{`type`:`string`,`x-kubernetes-validations`:["
    "{`rule`:`self == oldSelf`,`message`:`Value is immutable`}]},"
    "`replicas`:{`type`:`integer`},`minReplicas`:{`type`:`integer`},"
    "`maxReplicas`:{`type`:`integer`},"
    "`tags`:{`type`:`array`,`items`:{`type`:`string`},`x-kubernetes-validations`:["
    "{`rule`:`self.all(x, x.startsWith('a'))`}]},"
    "`limits`:{`type`:`object`,`properties`:{`cpu`:{`type`:`string`}},"
    "`x-kubernetes-validations`:[{`rule`:`has(self.cpu)`,`reason`:`FieldValueRequired`,"
    "`fieldPath`:`.cpu`,`message`:`cpu is required`}]},"
    "`name`:{`type`:`string`,`x-kubernetes-validations`:[{`rule`:`self.size() <= 5`,"
    "`messageExpression`:`'name ' + self + ' is longer than 5'`}]},"
    "`mode`:{`type`:`string`,`x-kubernetes-validations`:[{`rule`:`self != 'bad'`,"
    "`reason`:`FieldValueForbidden`,`message`:`bad mode`}]},"
    "`ratio`:{`type`:`number`,`x-kubernetes-validations`:[{`rule`:`self / 0.0 > 1.0 || "
    "self == 0.0 || 1 / 0 == 1`}]}"
    "}}}}}}]}}";

#define CT(spec)                                                                          \
	"{`apiVersion`:`stable.example.com/v1`,`kind`:`CronTab`,`metadata`:{`name`:`c`}," \
	"`spec`:" spec "}"

static void test_rules(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", CRDS, tq(crontab_crd), 201, NULL);
	/* self.minReplicas <= self.replicas, with its message */
	texpect(t, "POST", CTS, tq(CT("{`replicas`:1,`minReplicas`:2,`maxReplicas`:5}")), 422,
		BAD "spec: Invalid value: \"object\": replicas should be greater than or equal "
		    "to minReplicas.");
	/* both rules of the node fail: both reported, in the rules' order */
	texpect(t, "POST", CTS, tq(CT("{`replicas`:9,`minReplicas`:10,`maxReplicas`:5}")), 422,
		BAD "[spec: Invalid value: \"object\": replicas should be greater than or equal "
		    "to minReplicas., spec: Invalid value: \"object\": replicas should be smaller "
		    "than or equal to maxReplicas.]");
	/* a runtime error: no such key, named with the rule's message (ruleErrorString) */
	texpect(t, "POST", CTS, tq(CT("{`replicas`:1,`maxReplicas`:5}")), 422,
		BAD "spec: Invalid value: \"object\": no such key: minReplicas evaluating rule: "
		    "replicas should be greater than or equal to minReplicas.");
#define OK_SPEC "`replicas`:2,`minReplicas`:1,`maxReplicas`:5"
	/* no message: "failed rule: <rule>", the value the schema's type */
	texpect(t, "POST", CTS, tq(CT("{" OK_SPEC ",`tags`:[`ab`,`b`]}")), 422,
		BAD "spec.tags: Invalid value: \"array\": failed rule: self.all(x, "
		    "x.startsWith('a'))");
	/* has(), reason FieldValueRequired and fieldPath */
	texpect(t, "POST", CTS, tq(CT("{" OK_SPEC ",`limits`:{}}")), 422,
		BAD "spec.limits.cpu: Required value: cpu is required");
	/* messageExpression */
	texpect(t, "POST", CTS, tq(CT("{" OK_SPEC ",`name`:`toolong`}")), 422,
		BAD "spec.name: Invalid value: \"string\": name toolong is longer than 5");
	/* reason FieldValueForbidden */
	texpect(t, "POST", CTS, tq(CT("{" OK_SPEC ",`mode`:`bad`}")), 422,
		BAD "spec.mode: Forbidden: bad mode");
	/* || absorbs an error when another side is true; a double by the schema's type */
	texpect(t, "POST", CTS, tq(CT("{" OK_SPEC ",`ratio`:0}")), 201, NULL);
	texpect(t, "DELETE", CTS "/c", NULL, 200, NULL);
	texpect(t, "POST", CTS, tq(CT("{" OK_SPEC ",`ratio`:-1}")), 422,
		BAD "spec.ratio: Invalid value: \"number\": division by zero evaluating rule: "
		    "self / 0.0 > 1.0 || self == 0.0 || 1 / 0 == 1");
	/* hasBlockingErr: a type error keeps the rules from running */
	texpect(t, "POST", CTS, tq(CT("{`replicas`:`x`,`minReplicas`:9,`maxReplicas`:5}")), 422,
		BAD "[spec.replicas: Invalid value: \"string\": spec.replicas in body must be of "
		    "type integer: \"string\", <nil>: Invalid value: \"null\": some validation "
		    "rules were not checked because the object was invalid; correct the existing "
		    "errors to complete validation]");
	/* all rules pass */
	texpect(t, "POST", CTS,
		tq(CT("{" OK_SPEC ",`cronSpec`:`* * * * */5`,`tags`:[`a`,`ab`],`limits`:{`cpu`:"
		      "`1`},`name`:`short`,`mode`:`good`}")),
		201, NULL);
	/* the transition rule self == oldSelf on update only */
	texpect(t, "PATCH", CTS "/c", tq("{`spec`:{`cronSpec`:`* * * * */6`}}"), 422,
		BAD "spec.cronSpec: Invalid value: \"string\": Value is immutable");
	texpect(t, "PATCH", CTS "/c", tq("{`spec`:{`replicas`:3}}"), 200, NULL);
	/* updates run the other rules too */
	texpect(t, "PATCH", CTS "/c", tq("{`spec`:{`replicas`:6}}"), 422,
		BAD "spec: Invalid value: \"object\": replicas should be smaller than or equal "
		    "to maxReplicas.");
}

/* A rule that does not compile refuses the CRD (validateCustomResourceDefinitionValidation);
 * a single version's schema is the internal spec.validation. */
static void test_compile_error(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	tcall(t, "POST", CRDS,
	      tq("{`metadata`:{`name`:`crontabs.stable.example.com`},`spec`:{`group`:"
		 "`stable.example.com`,`scope`:`Namespaced`,`names`:{`plural`:`crontabs`,`kind`:"
		 "`CronTab`},`versions`:[{`name`:`v1`,`served`:true,`storage`:true,`schema`:{"
		 "`openAPIV3Schema`:{`type`:`object`,`properties`:{`spec`:{`type`:`object`,"
		 "`x-kubernetes-validations`:[{`rule`:`self.replicas <`},{`rule`:`nope > 1`,"
		 "`messageExpression`:`'a' +`}]}}}}}]}}"),
	      422,
	      "CustomResourceDefinition.apiextensions.k8s.io \"crontabs.stable.example.com\" is "
	      "invalid: [spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-"
	      "validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:\"self."
	      "replicas <\", Message:\"\", MessageExpression:\"\", Reason:(*apiextensions."
	      "FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}: "
	      "compilation failed: ERROR: <input>:1:16: Syntax error: mismatched input '<EOF>' "
	      "expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, "
	      "NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | self.replicas <\n | "
	      "...............^, spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-"
	      "validations[1].rule: Invalid value: apiextensions.ValidationRule{Rule:\"nope > "
	      "1\", Message:\"\", MessageExpression:\"'a' +\", Reason:(*apiextensions."
	      "FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}: "
	      "compilation failed: ERROR: <input>:1:1: undeclared reference to 'nope' (in "
	      "container '')\n | nope > 1\n | ^, spec.validation.openAPIV3Schema.properties[spec]."
	      "x-kubernetes-validations[1].messageExpression: Invalid value: apiextensions."
	      "ValidationRule{Rule:\"nope > 1\", Message:\"\", MessageExpression:\"'a' +\", "
	      "Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", "
	      "OptionalOldSelf:(*bool)(nil)}: messageExpression compilation failed: ERROR: "
	      "<input>:1:6: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', "
	      "'-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, "
	      "IDENTIFIER}\n | 'a' +\n | .....^]",
	      &r);
	tresp_free(&r);
	/* cel-go's checker: a field the schema does not have */
	texpect(t, "POST", CRDS,
		tq("{`metadata`:{`name`:`crontabs.stable.example.com`},`spec`:{`group`:"
		   "`stable.example.com`,`scope`:`Namespaced`,`names`:{`plural`:`crontabs`,`kind`:"
		   "`CronTab`},`versions`:[{`name`:`v1`,`served`:true,`storage`:true,`schema`:{"
		   "`openAPIV3Schema`:{`type`:`object`,`properties`:{`spec`:{`type`:`object`,"
		   "`properties`:{`replicas`:{`type`:`integer`}},`x-kubernetes-validations`:[{"
		   "`rule`:`self.replicaz > 1`}]}}}}}]}}"),
		422,
		"CustomResourceDefinition.apiextensions.k8s.io \"crontabs.stable.example.com\" is "
		"invalid: spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-"
		"validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:\"self."
		"replicaz > 1\", Message:\"\", MessageExpression:\"\", Reason:(*apiextensions."
		"FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}: "
		"compilation failed: ERROR: <input>:1:5: undefined field 'replicaz'\n | "
		"self.replicaz > 1\n | ....^");
}

/* A rule that would run long stops at the per-call cost limit with Kubernetes' message. */
static void test_cost(void **state)
{
	struct tsrv *t = *state;

	texpect(t, "POST", CRDS,
		tq("{`metadata`:{`name`:`crontabs.stable.example.com`},`spec`:{`group`:"
		   "`stable.example.com`,`scope`:`Namespaced`,`names`:{`plural`:`crontabs`,`kind`:"
		   "`CronTab`},`versions`:[{`name`:`v1`,`served`:true,`storage`:true,`schema`:{"
		   "`openAPIV3Schema`:{`type`:`object`,`properties`:{`spec`:{`type`:`object`,"
		   "`properties`:{`l`:{`type`:`array`,`items`:{`type`:`integer`}}},"
		   "`x-kubernetes-validations`:[{`rule`:`self.l.all(a, self.l.all(b, self.l.all(c, "
		   "a + b + c >= 0)))`}]}}}}}]}}"),
		201, NULL);
	texpect(t, "POST", CTS, tq(CT("{`l`:[1,2,3]}")), 201, NULL);
	texpect(
	    t, "POST", CTS "?dryRun=All",
	    tq("{`apiVersion`:`stable.example.com/v1`,`kind`:`CronTab`,`metadata`:{`name`:"
	       "`c`},`spec`:{`l`:[" /* 120 items: 1.7 million turns */
	       "1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,"
	       "1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,"
	       "1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0"
	       "]}}"),
	    422,
	    BAD "spec: Invalid value: \"object\": 'operation cancelled: actual cost limit "
		"exceeded': no further validation rules will be run due to call cost exceeds "
		"limit for rule: self.l.all(a, self.l.all(b, self.l.all(c, a + b + c >= 0)))");
}

/* Ratcheting (CRDValidationRatcheting, on in 1.32; validateExpressions' addErr): a rule
 * added after an object was written does not refuse an update that leaves the failing value
 * as it was; the failure is a warning. A changed value is refused. */
#define MODE_VERSION(rule)                                                                 \
	"[{`name`:`v1`,`served`:true,`storage`:true,`schema`:{`openAPIV3Schema`:{`type`:"  \
	"`object`,`properties`:{`spec`:{`type`:`object`,`properties`:{`replicas`:{`type`:" \
	"`integer`},`mode`:{`type`:`string`" rule "}}}}}}}]"

static void test_ratchet(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	texpect(t, "POST", CRDS,
		tq("{`metadata`:{`name`:`crontabs.stable.example.com`},`spec`:{`group`:"
		   "`stable.example.com`,`scope`:`Namespaced`,`names`:{`plural`:`crontabs`,`kind`:"
		   "`CronTab`},`versions`:" MODE_VERSION("") "}}"),
		201, NULL);
	texpect(t, "POST", CTS, tq(CT("{`replicas`:1,`mode`:`bad`}")), 201, NULL);
	texpect(t, "PATCH", CRDS "/crontabs.stable.example.com",
		tq("{`spec`:{`versions`:" MODE_VERSION(
		    ",`x-kubernetes-validations`:[{`rule`:`self.startsWith('good')`,`reason`:"
		    "`FieldValueForbidden`,`message`:`must start with good`}]") "}}"),
		200, NULL);
	tcall(t, "PATCH", CTS "/c", tq("{`spec`:{`replicas`:2}}"), 200, NULL, &r);
	assert_non_null(strstr(r.headers, "spec.mode: Forbidden: must start with good"));
	tresp_free(&r);
	texpect(t, "PATCH", CTS "/c", tq("{`spec`:{`mode`:`bad2`}}"), 422,
		BAD "spec.mode: Forbidden: must start with good");
	texpect(t, "PATCH", CTS "/c", tq("{`spec`:{`mode`:`good`}}"), 200, NULL);
}

/* Transition rules on list items: an item of an x-kubernetes-list-type map list has its old
 * self by its keys (validateArray's makeMapList), in any order; an item of another list has
 * none, so the rule is not evaluated (validateExpressions: UsesOldSelf without an old value). */
static void test_map_list(void **state)
{
	struct tsrv *t = *state;

#define PORT_ITEMS                                                                        \
	"`items`:{`type`:`object`,`properties`:{`name`:{`type`:`string`},`port`:{`type`:" \
	"`integer`}},`x-kubernetes-validations`:[{`rule`:`self.port == oldSelf.port`,"    \
	"`message`:`port is immutable`}]}"
	texpect(t, "POST", CRDS,
		tq("{`metadata`:{`name`:`crontabs.stable.example.com`},`spec`:{`group`:"
		   "`stable.example.com`,`scope`:`Namespaced`,`names`:{`plural`:`crontabs`,`kind`:"
		   "`CronTab`},`versions`:[{`name`:`v1`,`served`:true,`storage`:true,`schema`:{"
		   "`openAPIV3Schema`:{`type`:`object`,`properties`:{`spec`:{`type`:`object`,"
		   "`properties`:{`ports`:{`type`:`array`,`x-kubernetes-list-type`:`map`,"
		   "`x-kubernetes-list-map-keys`:[`name`]," PORT_ITEMS
		   "},`plain`:{`type`:`array`," PORT_ITEMS "}}}}}}}]}}"),
		201, NULL);
	texpect(t, "POST", CTS,
		tq(CT("{`ports`:[{`name`:`a`,`port`:1},{`name`:`b`,`port`:2}],`plain`:[{`name`:"
		      "`a`,`port`:1}]}")),
		201, NULL);
	/* reordered: each item meets its own old self */
	texpect(t, "PATCH", CTS "/c",
		tq("{`spec`:{`ports`:[{`name`:`b`,`port`:2},{`name`:`a`,`port`:1},{`name`:`c`,"
		   "`port`:3}]}}"),
		200, NULL);
	texpect(t, "PATCH", CTS "/c",
		tq("{`spec`:{`ports`:[{`name`:`b`,`port`:2},{`name`:`a`,`port`:5}]}}"), 422,
		BAD "spec.ports[1]: Invalid value: \"object\": port is immutable");
	/* a plain list's items have no old self */
	texpect(t, "PATCH", CTS "/c", tq("{`spec`:{`plain`:[{`name`:`a`,`port`:9}]}}"), 200, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rules, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_compile_error, tsrv_group_setup,
					    tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_cost, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_ratchet, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_map_list, tsrv_group_setup, tsrv_group_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
