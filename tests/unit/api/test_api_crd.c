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

#include <pthread.h>
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

/* ---- custom resources ---- */

#define CT_CRD                                                                                   \
	"{\"metadata\":{\"name\":\"crontabs.stable.example.com\"},\"spec\":{\"group\":"          \
	"\"stable.example.com\",\"scope\":\"Namespaced\",\"names\":{\"plural\":\"crontabs\","    \
	"\"kind\":\"CronTab\",\"shortNames\":[\"ct\"],\"categories\":[\"all\"]},\"versions\":[{" \
	"\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}}}]}}"
#define CTS "/apis/stable.example.com/v1/namespaces/default/crontabs"
#define CT_A \
	"{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":"

/* The discovery entry of crontabs in /apis/stable.example.com/v1, or NULL. */
static const struct jv *crontabs_entry(struct tsrv *t, struct tresp *r)
{
	struct jv *j;

	treq(t, "GET", "/apis/stable.example.com/v1", NULL, NULL, NULL, r);
	if (r->code != 200)
		return NULL;
	j = r->json;
	for (const struct jv *x = jv_first(jv_get(j, "resources")); x; x = x->next)
		if (jv_is_str(jv_get(x, "name"), "crontabs"))
			return x;
	return NULL;
}

static uint64_t rv_of(const struct jv *j)
{
	return strtoull(tstr(j, "metadata.resourceVersion"), NULL, 10);
}

/* A custom resource served once its CRD is Established (apiextensions-apiserver's
 * crdHandler): discovery, every verb, the status subresource, watch events; and no more once
 * the CRD goes, its objects with it. */
static void test_cr_lifecycle(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	const struct jv *e;
	struct jv *j;
	char path[256];
	uint64_t rv;

	/* before: nothing */
	texpect(t, "GET", CTS, NULL, 404, NULL);
	assert_null(crontabs_entry(t, &r));
	tresp_free(&r);
	tcall(t, "GET", "/apis", NULL, 200, NULL, &r);
	assert_null(strstr(r.body, "stable.example.com"));
	tresp_free(&r);

	j = tcall(t, "POST", CRDS, CT_CRD, 201, NULL, &r);
	rv = rv_of(j);
	tresp_free(&r);
	/* discovery: the group, its version, the resource with the CRD's names and verbs */
	tcall(t, "GET", "/apis", NULL, 200, NULL, &r);
	assert_non_null(strstr(r.body, "\"name\":\"stable.example.com\""));
	tresp_free(&r);
	j = tcall(t, "GET", "/apis/stable.example.com", NULL, 200, NULL, &r);
	assert_string_equal(tstr(j, "preferredVersion.groupVersion"), "stable.example.com/v1");
	tresp_free(&r);
	e = crontabs_entry(t, &r);
	assert_non_null(e);
	assert_string_equal(tstr(e, "kind"), "CronTab");
	assert_string_equal(tstr(e, "singularName"), "crontab");
	assert_true(jv_get(e, "namespaced")->type == JV_TRUE);
	assert_string_equal(tstr(e, "shortNames.0"), "ct");
	assert_string_equal(tstr(e, "categories.0"), "all");
	assert_int_equal(jv_count(jv_get(e, "verbs")), 8);
	assert_non_null(strstr(r.body, "\"name\":\"crontabs/status\""));
	tresp_free(&r);
	treq(t, "GET", "/apis", NULL, NULL,
	     "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.body, "\"resource\":\"crontabs\""));
	tresp_free(&r);

	/* create, get, list */
	j = tcall(t, "POST", CTS,
		  CT_A "\"one\"},\"spec\":{\"cronSpec\":\"* * * * */5\",\"image\":\"img\"}}", 201,
		  NULL, &r);
	assert_string_equal(tstr(j, "spec.image"), "img");
	assert_string_equal(tstr(j, "metadata.namespace"), "default");
	assert_non_null(jv_path(j, "metadata.uid"));
	assert_null(jv_get(j, "status")); /* written through /status only */
	tresp_free(&r);
	texpect(t, "POST", CTS, CT_A "\"one\"}}", 409, NULL);
	j = tcall(t, "GET", CTS "/one", NULL, 200, NULL, &r);
	assert_string_equal(tstr(j, "kind"), "CronTab");
	assert_string_equal(tstr(j, "spec.cronSpec"), "* * * * */5");
	tresp_free(&r);
	j = tcall(t, "GET", CTS, NULL, 200, NULL, &r);
	assert_string_equal(tstr(j, "kind"), "CronTabList");
	assert_string_equal(tstr(j, "apiVersion"), "stable.example.com/v1");
	assert_string_equal(tstr(j, "items.0.metadata.name"), "one");
	tresp_free(&r);
	/* a namespaced resource across namespaces, and a kind that is not this one's */
	j = tcall(t, "GET", "/apis/stable.example.com/v1/crontabs", NULL, 200, NULL, &r);
	assert_string_equal(tstr(j, "items.0.metadata.name"), "one");
	tresp_free(&r);
	texpect(t, "POST", CTS,
		"{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"Other\","
		"\"metadata\":{\"name\":\"x\"}}",
		400, NULL);

	/* merge patch, JSON patch, update, apply */
	j = tcall(t, "PATCH", CTS "/one", "{\"spec\":{\"replicas\":2}}", 200, NULL, &r);
	assert_string_equal(tstr(j, "spec.image"), "img");
	assert_int_equal(jv_path(j, "spec.replicas")->type, JV_NUMBER);
	tresp_free(&r);
	treq(t, "PATCH", CTS "/one", "application/json-patch+json",
	     "[{\"op\":\"replace\",\"path\":\"/spec/image\",\"value\":\"img2\"}]", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "spec.image"), "img2");
	tresp_free(&r);
	treq(t, "PATCH", CTS "/one?fieldManager=tester&force=true", "application/apply-patch+yaml",
	     "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: one\n"
	     "spec:\n  image: img3\n",
	     NULL, &r);
	if (r.code != 200)
		fail_msg("apply: %ld %s", r.code, r.body);
	assert_string_equal(tstr(r.json, "spec.image"), "img3");
	/* the deduced schema's field set: objects granular (structured-merge-diff) */
	assert_non_null(strstr(r.body, "\"manager\":\"tester\",\"operation\":\"Apply\""));
	assert_non_null(strstr(r.body, "\"fieldsV1\":{\"f:spec\":{\".\":{},\"f:image\":{}}}"));
	tresp_free(&r);
	j = tcall(t, "GET", CTS "/one", NULL, 200, NULL, &r);
	snprintf(path, sizeof(path),
		 CT_A "\"one\",\"resourceVersion\":\"%s\"},\"spec\":{\"image\":\"img4\"}}",
		 tstr(j, "metadata.resourceVersion"));
	tresp_free(&r);
	j = tcall(t, "PUT", CTS "/one", path, 200, NULL, &r);
	assert_string_equal(tstr(j, "spec.image"), "img4");
	assert_null(jv_path(j, "spec.cronSpec"));
	tresp_free(&r);
	/* the status subresource: status changes there only */
	j = tcall(t, "PATCH", CTS "/one/status",
		  "{\"status\":{\"phase\":\"Ok\"},\"spec\":{\"image\":\"x\"}}", 200, NULL, &r);
	assert_string_equal(tstr(j, "status.phase"), "Ok");
	assert_string_equal(tstr(j, "spec.image"), "img4");
	tresp_free(&r);
	j = tcall(t, "PATCH", CTS "/one", "{\"status\":{\"phase\":\"No\"}}", 200, NULL, &r);
	assert_string_equal(tstr(j, "status.phase"), "Ok");
	tresp_free(&r);

	/* watch: every change since the CRD, then the end by timeoutSeconds */
	texpect(t, "DELETE", CTS "/one", NULL, 200, NULL);
	snprintf(path, sizeof(path), CTS "?watch=1&resourceVersion=%llu&timeoutSeconds=1",
		 (unsigned long long)rv);
	treq(t, "GET", path, NULL, NULL, NULL, &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.body, "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":"
				       "\"stable.example.com/v1\",\"kind\":\"CronTab\""));
	assert_non_null(strstr(r.body, "\"type\":\"MODIFIED\""));
	assert_non_null(strstr(r.body, "\"type\":\"DELETED\""));
	tresp_free(&r);

	/* deletecollection */
	texpect(t, "POST", CTS, CT_A "\"a\"}}", 201, NULL);
	texpect(t, "POST", CTS, CT_A "\"b\"}}", 201, NULL);
	texpect(t, "DELETE", CTS, NULL, 200, NULL);
	j = tcall(t, "GET", CTS, NULL, 200, NULL, &r);
	assert_null(jv_path(j, "items.0"));
	tresp_free(&r);

	/* the CRD goes: its objects with it, and it is served no more */
	texpect(t, "POST", CTS, CT_A "\"left\"}}", 201, NULL);
	texpect(t, "DELETE", CRDS "/crontabs.stable.example.com", NULL, 200, NULL);
	texpect(t, "GET", CTS "/left", NULL, 404, NULL);
	texpect(t, "GET", "/apis/stable.example.com/v1", NULL, 404, NULL);
	tcall(t, "GET", "/apis", NULL, 200, NULL, &r);
	assert_null(strstr(r.body, "stable.example.com"));
	tresp_free(&r);
	texpect(t, "POST", CRDS, CT_CRD, 201, NULL);
	j = tcall(t, "GET", CTS, NULL, 200, NULL, &r);
	assert_null(jv_path(j, "items.0"));
	tresp_free(&r);
}

/* A cluster-scoped custom resource, and a CRD whose names are refused serves nothing. */
static void test_cr_cluster_scoped(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	texpect(t, "POST", CRDS,
		CRD("gizmos.example.com", "gizmos", "Gizmo", "Cluster", "[" V1 "]"), 201, NULL);
	j = tcall(t, "POST", "/apis/example.com/v1/gizmos",
		  "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Gizmo\",\"metadata\":{\"name\":"
		  "\"g\"},\"spec\":{\"size\":3}}",
		  201, NULL, &r);
	assert_null(jv_path(j, "metadata.namespace"));
	tresp_free(&r);
	texpect(t, "GET", "/apis/example.com/v1/gizmos/g", NULL, 200, NULL);
	texpect(t, "GET", "/apis/example.com/v1/namespaces/default/gizmos/g", NULL, 404, NULL);
	/* its kind is taken: not Established, not served */
	texpect(t, "POST", CRDS,
		CRD("others.example.com", "others", "Gizmo", "Cluster", "[" V1 "]"), 201, NULL);
	texpect(t, "GET", "/apis/example.com/v1/others", NULL, 404, NULL);
	/* the Table of a custom resource without additionalPrinterColumns: Name, Age */
	treq(t, "GET", "/apis/example.com/v1/gizmos", NULL, NULL,
	     "application/json;as=Table;v=v1;g=meta.k8s.io", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "columnDefinitions.0.name"), "Name");
	assert_string_equal(tstr(r.json, "columnDefinitions.1.name"), "Age");
	assert_string_equal(tstr(r.json, "rows.0.cells.0"), "g");
	tresp_free(&r);
}

/* ---- the version's openAPIV3Schema ---- */

#define SCHEMA_CRD                                                                                \
	"{\"metadata\":{\"name\":\"dbs.example.com\"},\"spec\":{\"group\":\"example.com\","       \
	"\"scope\":\"Namespaced\",\"names\":{\"plural\":\"dbs\",\"kind\":\"Db\"},\"versions\":[{" \
	"\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":{"      \
	"\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"required\":["        \
	"\"engine\"],\"properties\":{\"engine\":{\"type\":\"string\",\"enum\":[\"postgres\","     \
	"\"mysql\"]},\"replicas\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5,"             \
	"\"default\":1},\"version\":{\"type\":\"string\",\"pattern\":\"^[0-9]+\\\\.[0-9]+$\"},"   \
	"\"name\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":8},\"note\":{\"type\":"      \
	"\"string\",\"nullable\":true},\"extra\":{\"type\":\"object\","                           \
	"\"x-kubernetes-preserve-unknown-fields\":true},\"hosts\":{\"type\":\"array\","           \
	"\"minItems\":1,"                                                                         \
	"\"maxItems\":3,\"x-kubernetes-list-type\":\"set\",\"items\":{\"type\":\"string\","       \
	"\"format\":"                                                                             \
	"\"ipv4\"}},\"tags\":{\"type\":\"object\",\"maxProperties\":1,\"additionalProperties\":{" \
	"\"type\":\"string\"}},\"step\":{\"type\":\"number\",\"multipleOf\":0.5},\"id\":{"        \
	"\"type\":"                                                                               \
	"\"string\",\"format\":\"uuid\"}}}}}}}]}}"
#define DBS	   "/apis/example.com/v1/namespaces/default/dbs"
#define DB_A	   "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Db\",\"metadata\":{\"name\":"
#define DB_INVALID "Db.example.com \"d\" is invalid: "

/* Structural defaulting, pruning and validation with kube-openapi's messages as
 * ConvertToFieldError reports them. */
static void test_cr_schema(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	texpect(t, "POST", CRDS, SCHEMA_CRD, 201, NULL);
	/* defaulted (replicas), pruned (unknown, spec.unknown), kept (extra's content) */
	j = tcall(t, "POST", DBS,
		  DB_A "\"ok\"},\"unknown\":1,\"spec\":{\"engine\":\"mysql\",\"unknown\":2,"
		       "\"note\":null,\"extra\":{\"any\":{\"thing\":1}}}}",
		  201, NULL, &r);
	assert_non_null(jv_path(j, "spec.replicas"));
	assert_string_equal(jv_path(j, "spec.replicas")->s, "1");
	assert_null(jv_get(j, "unknown"));
	assert_null(jv_path(j, "spec.unknown"));
	assert_non_null(jv_path(j, "spec.extra.any.thing"));
	/* fieldValidation Warn (the default): what pruning dropped is warned of */
	assert_non_null(strstr(r.headers, "unknown field \\\"spec.unknown\\\""));
	tresp_free(&r);
	/* Strict: refused as the decoder refuses a built-in kind's unknown fields */
	texpect(t, "POST", DBS "?fieldValidation=Strict",
		DB_A "\"d\"},\"unknown\":1,\"spec\":{\"engine\":\"mysql\",\"unknown\":2}}", 400,
		"Db in version \"v1\" cannot be handled as a Db: strict decoding error: unknown "
		"field \"unknown\", unknown field \"spec.unknown\"");
	/* type */
	texpect(t, "POST", DBS,
		DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"replicas\":\"three\"}}", 422,
		DB_INVALID "spec.replicas: Invalid value: \"string\": spec.replicas in body must "
			   "be of type integer: \"string\"");
	/* required, enum */
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{}}", 422,
		DB_INVALID "spec.engine: Required value");
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"oracle\"}}", 422,
		DB_INVALID "spec.engine: Unsupported value: \"oracle\": supported values: "
			   "\"postgres\", \"mysql\"");
	/* minimum, maximum */
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"replicas\":0}}", 422,
		DB_INVALID "spec.replicas: Invalid value: 0: spec.replicas in body should be "
			   "greater than or equal to 1");
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"replicas\":9}}", 422,
		DB_INVALID "spec.replicas: Invalid value: 9: spec.replicas in body should be less "
			   "than or equal to 5");
	/* pattern, minLength */
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"version\":\"x14\"}}",
		422,
		DB_INVALID "spec.version: Invalid value: \"x14\": spec.version in body should "
			   "match '^[0-9]+\\.[0-9]+$'");
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"name\":\"ab\"}}", 422,
		DB_INVALID "spec.name: Invalid value: \"ab\": spec.name in body should be at "
			   "least 3 chars long");
	/* minItems, maxItems (field.TooMany), list-type set, format, maxProperties, multipleOf */
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"hosts\":[]}}", 422,
		DB_INVALID
		"spec.hosts: Invalid value: 0: spec.hosts in body should have at least 1 "
		"items");
	texpect(t, "POST", DBS,
		DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"hosts\":[\"10.0.0.1\",\"10.0.0.2\","
		     "\"10.0.0.3\",\"10.0.0.4\"]}}",
		422, DB_INVALID "spec.hosts: Too many: 4: must have at most 3 items");
	texpect(t, "POST", DBS,
		DB_A
		"\"d\"},\"spec\":{\"engine\":\"mysql\",\"hosts\":[\"10.0.0.1\",\"10.0.0.1\"]}}",
		422, DB_INVALID "spec.hosts[1]: Duplicate value: \"10.0.0.1\"");
	texpect(t, "POST", DBS,
		DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"hosts\":[\"10.0.0.300\"]}}", 422,
		DB_INVALID
		"spec.hosts[0]: Invalid value: \"10.0.0.300\": spec.hosts[0] in body must "
		"be of type ipv4: \"10.0.0.300\"");
	texpect(t, "POST", DBS,
		DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"tags\":{\"a\":\"1\",\"b\":\"2\"}}}",
		422, DB_INVALID "spec.tags: Too many: 2: must have at most 1 items");
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"step\":0.7}}", 422,
		DB_INVALID "spec.step: Invalid value: 0.7: spec.step in body should be a multiple "
			   "of 0.5");
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"id\":\"nope\"}}", 422,
		DB_INVALID
		"spec.id: Invalid value: \"nope\": spec.id in body must be of type uuid: "
		"\"nope\"");
	texpect(t, "POST", DBS,
		DB_A
		"\"fmt\"},\"spec\":{\"engine\":\"mysql\",\"step\":1.5,\"hosts\":[\"10.0.0.1\"],"
		"\"id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"tags\":{\"a\":\"1\"}}}",
		201, NULL);
	/* nullable: null refused where the schema does not allow it */
	texpect(t, "POST", DBS, DB_A "\"d\"},\"spec\":{\"engine\":\"mysql\",\"name\":null}}", 422,
		DB_INVALID "spec.name: Invalid value: \"null\": spec.name in body must be of type "
			   "string: \"null\"");
	/* updates are validated too */
	texpect(t, "PATCH", DBS "/ok", "{\"spec\":{\"replicas\":7}}", 422,
		"Db.example.com \"ok\" is invalid: spec.replicas: Invalid value: 7: spec.replicas "
		"in body should be less than or equal to 5");
	texpect(t, "PATCH", DBS "/ok", "{\"spec\":{\"replicas\":3}}", 200, NULL);
}

/* additionalPrinterColumns: the Table is Name and those columns (tableconvertor.New). */
static void test_cr_columns(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;

	texpect(
	    t, "POST", CRDS,
	    "{\"metadata\":{\"name\":\"crontabs.stable.example.com\"},\"spec\":{\"group\":"
	    "\"stable.example.com\",\"scope\":\"Namespaced\",\"names\":{\"plural\":\"crontabs\","
	    "\"kind\":\"CronTab\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":"
	    "true,\"additionalPrinterColumns\":[{\"name\":\"Spec\",\"type\":\"string\","
	    "\"description\":\"The cron spec\",\"jsonPath\":\".spec.cronSpec\"},{\"name\":"
	    "\"Replicas\",\"type\":\"integer\",\"jsonPath\":\".spec.replicas\",\"priority\":1},"
	    "{\"name\":\"Age\",\"type\":\"date\",\"jsonPath\":\".metadata.creationTimestamp\"}]}]}"
	    "}",
	    201, NULL);
	texpect(t, "POST", CTS,
		CT_A "\"c\"},\"spec\":{\"cronSpec\":\"* * * * */5\",\"replicas\":3}}", 201, NULL);
	treq(t, "GET", CTS, NULL, NULL, "application/json;as=Table;v=v1;g=meta.k8s.io", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(tstr(r.json, "columnDefinitions.0.name"), "Name");
	assert_string_equal(tstr(r.json, "columnDefinitions.1.name"), "Spec");
	assert_string_equal(tstr(r.json, "columnDefinitions.1.description"), "The cron spec");
	assert_string_equal(tstr(r.json, "columnDefinitions.2.name"), "Replicas");
	assert_string_equal(tstr(r.json, "columnDefinitions.2.type"), "integer");
	assert_string_equal(tstr(r.json, "columnDefinitions.3.name"), "Age");
	assert_null(jv_path(r.json, "columnDefinitions.4"));
	assert_string_equal(tstr(r.json, "rows.0.cells.0"), "c");
	assert_string_equal(tstr(r.json, "rows.0.cells.1"), "* * * * */5");
	assert_string_equal(jv_path(r.json, "rows.0.cells.2")->s, "3");
	tresp_free(&r);
}

/* The scale subresource of a custom resource over the CRD's paths (subresources.scale). */
static void test_cr_scale(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	texpect(
	    t, "POST", CRDS,
	    "{\"metadata\":{\"name\":\"crontabs.stable.example.com\"},\"spec\":{\"group\":"
	    "\"stable.example.com\",\"scope\":\"Namespaced\",\"names\":{\"plural\":\"crontabs\","
	    "\"kind\":\"CronTab\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":"
	    "true,\"subresources\":{\"status\":{},\"scale\":{\"specReplicasPath\":"
	    "\".spec.size\",\"statusReplicasPath\":\".status.size\",\"labelSelectorPath\":"
	    "\".status.selector\"}}}]}}",
	    201, NULL);
	tcall(t, "GET", "/apis/stable.example.com/v1", NULL, 200, NULL, &r);
	assert_non_null(strstr(r.body, "{\"name\":\"crontabs/scale\",\"singularName\":\"\","
				       "\"namespaced\":true,\"group\":\"autoscaling\",\"version\":"
				       "\"v1\",\"kind\":\"Scale\""));
	tresp_free(&r);
	texpect(t, "POST", CTS, CT_A "\"s\"},\"spec\":{\"size\":2}}", 201, NULL);
	texpect(t, "PATCH", CTS "/s/status", "{\"status\":{\"size\":2,\"selector\":\"app=s\"}}",
		200, NULL);
	j = tcall(t, "GET", CTS "/s/scale", NULL, 200, NULL, &r);
	assert_string_equal(tstr(j, "kind"), "Scale");
	assert_string_equal(jv_path(j, "spec.replicas")->s, "2");
	assert_string_equal(jv_path(j, "status.replicas")->s, "2");
	assert_string_equal(tstr(j, "status.selector"), "app=s");
	tresp_free(&r);
	j = tcall(t, "PATCH", CTS "/s/scale", "{\"spec\":{\"replicas\":5}}", 200, NULL, &r);
	assert_string_equal(jv_path(j, "spec.replicas")->s, "5");
	tresp_free(&r);
	j = tcall(t, "GET", CTS "/s", NULL, 200, NULL, &r);
	assert_string_equal(jv_path(j, "spec.size")->s, "5");
	assert_null(jv_path(j, "spec.replicas"));
	tresp_free(&r);
}

/* Several served versions, one stored (conversion None: nopConverter): an object is the same
 * under each version, its apiVersion the one asked for. */
static void test_cr_versions(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	texpect(t, "POST", CRDS,
		CRD("widgets.example.com", "widgets", "Widget", "Namespaced",
		    "[" V1BETA1 ",{\"name\":\"v1\",\"served\":true,\"storage\":true}]"),
		201, NULL);
	j = tcall(t, "GET", "/apis/example.com", NULL, 200, NULL, &r);
	assert_non_null(strstr(r.body, "\"version\":\"v1beta1\""));
	assert_non_null(strstr(r.body, "\"version\":\"v1\""));
	tresp_free(&r);
	j = tcall(t, "POST", "/apis/example.com/v1beta1/namespaces/default/widgets",
		  "{\"apiVersion\":\"example.com/v1beta1\",\"kind\":\"Widget\",\"metadata\":{"
		  "\"name\":\"w\"},\"spec\":{\"a\":1}}",
		  201, NULL, &r);
	assert_string_equal(tstr(j, "apiVersion"), "example.com/v1beta1");
	tresp_free(&r);
	j = tcall(t, "GET", "/apis/example.com/v1/namespaces/default/widgets/w", NULL, 200, NULL,
		  &r);
	assert_string_equal(tstr(j, "apiVersion"), "example.com/v1");
	assert_string_equal(jv_path(j, "spec.a")->s, "1");
	tresp_free(&r);
	j = tcall(t, "GET", "/apis/example.com/v1beta1/namespaces/default/widgets", NULL, 200, NULL,
		  &r);
	assert_string_equal(tstr(j, "apiVersion"), "example.com/v1beta1");
	assert_string_equal(tstr(j, "items.0.apiVersion"), "example.com/v1beta1");
	tresp_free(&r);
	j = tcall(t, "PATCH", "/apis/example.com/v1beta1/namespaces/default/widgets/w",
		  "{\"spec\":{\"b\":2}}", 200, NULL, &r);
	assert_string_equal(tstr(j, "apiVersion"), "example.com/v1beta1");
	tresp_free(&r);
	/* v1beta1 no longer served: gone from discovery and routing, v1 still there */
	texpect(
	    t, "PATCH", CRDS "/widgets.example.com",
	    "{\"spec\":{\"versions\":[{\"name\":\"v1beta1\",\"served\":false,\"storage\":false},"
	    "{\"name\":\"v1\",\"served\":true,\"storage\":true}]}}",
	    200, NULL);
	texpect(t, "GET", "/apis/example.com/v1beta1/namespaces/default/widgets/w", NULL, 404,
		NULL);
	j = tcall(t, "GET", "/apis/example.com/v1/namespaces/default/widgets/w", NULL, 200, NULL,
		  &r);
	assert_string_equal(jv_path(j, "spec.b")->s, "2");
	tresp_free(&r);
}

/* ---- CRDs that change while requests run ---- */

struct churn {
	struct tsrv *t;
	volatile int stop;
	int bad; /* answers other than 200 and 404 */
	int served;
};

static void *churn_reader(void *arg)
{
	struct churn *c = arg;
	static const char *const paths[] = {CTS, CTS "/r", "/apis/stable.example.com/v1", "/apis",
					    "/apis/stable.example.com"};

	for (size_t i = 0; !c->stop; i++) {
		struct tresp r;

		treq(c->t, "GET", paths[i % 5], NULL, NULL, NULL, &r);
		if (r.code != 200 && r.code != 404)
			c->bad++;
		if (r.code == 200 && i % 5 == 1)
			c->served++;
		tresp_free(&r);
	}
	return NULL;
}

/* Requests look custom resources up while their CRD comes and goes (crd_table.c): every
 * answer is the resource served or 404, never a crash or another error; the same definition
 * served again takes its old entry back. */
static void test_crd_churn(void **state)
{
	struct churn c = {.t = *state};
	pthread_t th[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn_reader, &c), 0);
	for (int i = 0; i < 15; i++) {
		texpect(c.t, "POST", CRDS, CT_CRD, 201, NULL);
		texpect(c.t, "POST", CTS, CT_A "\"r\"}}", 201, NULL);
		texpect(c.t, "GET", CTS "/r", NULL, 200, NULL);
		texpect(c.t, "DELETE", CRDS "/crontabs.stable.example.com", NULL, 200, NULL);
		texpect(c.t, "GET", CTS "/r", NULL, 404, NULL);
	}
	c.stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(c.bad, 0);
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
	    cmocka_unit_test_setup_teardown(test_cr_lifecycle, tsrv_group_setup,
					    tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_cr_cluster_scoped, tsrv_group_setup,
					    tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_cr_schema, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_cr_columns, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_cr_scale, tsrv_group_setup, tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_cr_versions, tsrv_group_setup,
					    tsrv_group_teardown),
	    cmocka_unit_test_setup_teardown(test_crd_churn, tsrv_group_setup, tsrv_group_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
