/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_crd: CustomResourceDefinitions (apiextensions.k8s.io/v1) over HTTP against an
 * in-process server, each case with the apiextensions-apiserver 1.32 function it follows:
 * SetDefaults_CustomResourceDefinitionSpec, ValidateCustomResourceDefinition(Update)
 * (pkg/apis/apiextensions/validation/validation.go), the strategy's storedVersions
 * (pkg/registry/customresourcedefinition/strategy.go), the naming controller's
 * calculateNamesAndConditions and the establishing controller (NamesAccepted, Established),
 * and the resource's facts (etcd.go: short names crd/crds, category api-extensions; the
 * default Table: Name, Created At). Each test has a server of its own: CRDs are cluster-wide.
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

/* A CRD of group example.com: name, plural, kind, scope and the versions' JSON. */
#define CRD(name, plural, kind, scope, versions)                                             \
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\"," \
	"\"metadata\":{\"name\":\"" name                                                     \
	"\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"" scope                         \
	"\",\"names\":{\"plural\":\"" plural "\",\"kind\":\"" kind "\"},"                    \
	"\"versions\":" versions "}}"
#define V1	"{\"name\":\"v1\",\"served\":true,\"storage\":true}"
#define V1BETA1 "{\"name\":\"v1beta1\",\"served\":true,\"storage\":false}"
#define WIDGETS CRD("widgets.example.com", "widgets", "Widget", "Namespaced", "[" V1 "]")
#define INVALID "CustomResourceDefinition.apiextensions.k8s.io "

/* The condition of type t: "status/reason/message". */
static const char *cond(const struct jv *crd, const char *t, char *buf, size_t len)
{
	for (const struct jv *c = jv_first(jv_path(crd, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), t)) {
			snprintf(buf, len, "%s/%s/%s", tstr(c, "status"), tstr(c, "reason"),
				 tstr(c, "message"));
			return buf;
		}
	return "(none)";
}

/* A new CRD: defaulted, its names accepted and Established at once, its storage version in
 * storedVersions, generation 1. */
static void test_create_established(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	char b[256];

	j = tcall(t, "POST", CRDS, WIDGETS, 201, NULL, &r);
	/* SetDefaults_CustomResourceDefinitionSpec */
	assert_string_equal(tstr(j, "spec.names.singular"), "widget");
	assert_string_equal(tstr(j, "spec.names.listKind"), "WidgetList");
	assert_string_equal(tstr(j, "spec.conversion.strategy"), "None");
	assert_string_equal(cond(j, "NamesAccepted", b, sizeof(b)),
			    "True/NoConflicts/no conflicts found");
	assert_string_equal(cond(j, "Established", b, sizeof(b)),
			    "True/InitialNamesAccepted/the initial names have been accepted");
	assert_string_equal(tstr(j, "status.acceptedNames.plural"), "widgets");
	assert_string_equal(tstr(j, "status.acceptedNames.kind"), "Widget");
	assert_string_equal(tstr(j, "status.storedVersions.0"), "v1");
	tresp_free(&r);
	j = tcall(t, "GET", CRDS "/widgets.example.com", NULL, 200, NULL, &r);
	assert_string_equal(cond(j, "Established", b, sizeof(b)),
			    "True/InitialNamesAccepted/the initial names have been accepted");
	tresp_free(&r);
	/* a status written by a client is not the create's: the server's replaces it */
	texpect(
	    t, "POST", CRDS,
	    "{\"metadata\":{\"name\":\"gizmos.example.com\"},\"spec\":{\"group\":\"example.com\","
	    "\"scope\":\"Cluster\",\"names\":{\"plural\":\"gizmos\",\"kind\":\"Gizmo\"},"
	    "\"versions\":[" V1 "]},\"status\":{\"storedVersions\":[\"v9\"]}}",
	    201, NULL);
	j = tcall(t, "GET", CRDS "/gizmos.example.com", NULL, 200, NULL, &r);
	assert_string_equal(tstr(j, "status.storedVersions.0"), "v1");
	assert_null(jv_path(j, "status.storedVersions.1"));
	tresp_free(&r);
	texpect(t, "DELETE", CRDS "/gizmos.example.com", NULL, 200, NULL);
	texpect(t, "GET", CRDS "/gizmos.example.com", NULL, 404, NULL);
}

/* ValidateCustomResourceDefinition's essentials, with their messages. */
static void test_validation(void **state)
{
	struct tsrv *t = *state;

	/* the nameFn: metadata.name must be <plural>.<group> */
	texpect(t, "POST", CRDS,
		CRD("widget.example.com", "widgets", "Widget", "Namespaced", "[" V1 "]"), 422,
		INVALID "\"widget.example.com\" is invalid: metadata.name: Invalid value: "
			"\"widget.example.com\": must be spec.names.plural+\".\"+spec.group");
	/* exactly one storage version */
	texpect(t, "POST", CRDS,
		CRD("widgets.example.com", "widgets", "Widget", "Namespaced", "[" V1BETA1 "]"), 422,
		INVALID "\"widgets.example.com\" is invalid: spec.versions: Invalid value: "
			"\"array\": must have exactly one version marked as storage version");
	texpect(t, "POST", CRDS,
		CRD("widgets.example.com", "widgets", "Widget", "Namespaced",
		    "[" V1 ",{\"name\":\"v2\",\"served\":true,\"storage\":true}]"),
		422,
		INVALID "\"widgets.example.com\" is invalid: spec.versions: Invalid value: "
			"\"array\": must have exactly one version marked as storage version");
	/* scope Namespaced|Cluster */
	texpect(t, "POST", CRDS,
		CRD("widgets.example.com", "widgets", "Widget", "Global", "[" V1 "]"), 422,
		INVALID "\"widgets.example.com\" is invalid: spec.scope: Unsupported value: "
			"\"Global\": supported values: \"Cluster\", \"Namespaced\"");
	/* names.kind required (singular and listKind, defaulted from it, too); plural's absence
	 * also breaks the name rule */
	texpect(t, "POST", CRDS,
		CRD("widgets.example.com", "widgets", "", "Namespaced", "[" V1 "]"), 422,
		INVALID "\"widgets.example.com\" is invalid: [spec.names.singular: Required value, "
			"spec.names.kind: Required value, spec.names.listKind: Required value]");
	texpect(t, "POST", CRDS, CRD("widgets.example.com", "", "Widget", "Namespaced", "[" V1 "]"),
		422,
		INVALID "\"widgets.example.com\" is invalid: [metadata.name: Invalid value: "
			"\"widgets.example.com\": must be spec.names.plural+\".\"+spec.group, "
			"spec.names.plural: Required value]");
	/* nothing of these was stored */
	texpect(t, "GET", CRDS "/widgets.example.com", NULL, 404, NULL);
	/* ValidateCustomResourceDefinitionSpecUpdate: group and plural immutable */
	texpect(t, "POST", CRDS, WIDGETS, 201, NULL);
	texpect(t, "PATCH", CRDS "/widgets.example.com",
		"{\"spec\":{\"names\":{\"kind\":\"Other\"}}}", 422,
		INVALID "\"widgets.example.com\" is invalid: spec.names.kind: Invalid value: "
			"\"Other\": field is immutable");
	texpect(t, "PATCH", CRDS "/widgets.example.com", "{\"spec\":{\"scope\":\"Cluster\"}}", 422,
		INVALID "\"widgets.example.com\" is invalid: spec.scope: Invalid value: "
			"\"Cluster\": field is immutable");
}

/* calculateNamesAndConditions: names another CRD of the group accepted are refused, and the
 * CRD is not Established. */
static void test_name_conflict(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	char b[256];

	texpect(t, "POST", CRDS, WIDGETS, 201, NULL);
	j = tcall(t, "POST", CRDS,
		  CRD("gadgets.example.com", "gadgets", "Widget", "Namespaced", "[" V1 "]"), 201,
		  NULL, &r);
	assert_string_equal(cond(j, "NamesAccepted", b, sizeof(b)),
			    "False/ListKindConflict/\"WidgetList\" is already in use");
	assert_string_equal(cond(j, "Established", b, sizeof(b)),
			    "False/NotAccepted/not all names are accepted");
	/* the free names are accepted, the others not */
	assert_string_equal(tstr(j, "status.acceptedNames.plural"), "gadgets");
	assert_null(jv_path(j, "status.acceptedNames.kind"));
	assert_null(jv_path(j, "status.acceptedNames.singular"));
	tresp_free(&r);
	/* another group may use them */
	j = tcall(t, "POST", CRDS,
		  "{\"metadata\":{\"name\":\"widgets.other.io\"},\"spec\":{\"group\":\"other.io\","
		  "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"kind\":\"Widget\"},"
		  "\"versions\":[" V1 "]}}",
		  201, NULL, &r);
	assert_string_equal(cond(j, "Established", b, sizeof(b)),
			    "True/InitialNamesAccepted/the initial names have been accepted");
	tresp_free(&r);
	/* once the owner goes, the names are free on the next write */
	texpect(t, "DELETE", CRDS "/widgets.example.com", NULL, 200, NULL);
	j = tcall(t, "PATCH", CRDS "/gadgets.example.com",
		  "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", 200, NULL, &r);
	assert_string_equal(cond(j, "NamesAccepted", b, sizeof(b)),
			    "True/NoConflicts/no conflicts found");
	assert_string_equal(tstr(j, "status.acceptedNames.kind"), "Widget");
	tresp_free(&r);
}

/* The resource's facts: discovery (short names, category, status subresource) and the default
 * Table's columns. */
static void test_facts(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	const struct jv *res = NULL;

	j = tcall(t, "GET", "/apis/apiextensions.k8s.io/v1", NULL, 200, NULL, &r);
	for (const struct jv *x = jv_first(jv_get(j, "resources")); x; x = x->next)
		if (jv_is_str(jv_get(x, "name"), "customresourcedefinitions"))
			res = x;
	assert_non_null(res);
	assert_string_equal(tstr(res, "kind"), "CustomResourceDefinition");
	assert_false(jv_get(res, "namespaced")->type == JV_TRUE);
	assert_string_equal(tstr(res, "shortNames.0"), "crd");
	assert_string_equal(tstr(res, "shortNames.1"), "crds");
	assert_string_equal(tstr(res, "categories.0"), "api-extensions");
	tresp_free(&r);
	tcall(t, "GET", "/apis/apiextensions.k8s.io/v1", NULL, 200, NULL, &r);
	assert_non_null(strstr(r.body, "customresourcedefinitions/status"));
	tresp_free(&r);
	texpect(t, "POST", CRDS, WIDGETS, 201, NULL);
	treq(t, "GET", CRDS, NULL, NULL, "application/json;as=Table;v=v1;g=meta.k8s.io", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "columnDefinitions.0.name"), "Name");
	assert_string_equal(tstr(r.json, "columnDefinitions.1.name"), "Created At");
	assert_null(jv_path(r.json, "columnDefinitions.2"));
	assert_string_equal(tstr(r.json, "rows.0.cells.0"), "widgets.example.com");
	tresp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_established, tsrv_group_setup,
					    tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_validation, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_name_conflict, tsrv_group_setup,
					    tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_facts, tsrv_group_setup, tsrv_group_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
