/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_ephemeral: the pods/ephemeralcontainers subresource over HTTP as kube-apiserver
 * 1.32 serves it: GET answers the Pod; PUT and PATCH (strategic merge, as `kubectl debug`
 * sends, merge and JSON patch) change only spec.ephemeralContainers
 * (podEphemeralContainersStrategy.PrepareForUpdate: dropNonEphemeralContainerUpdates), validated
 * by ValidatePodEphemeralContainersUpdate (validateEphemeralContainers: names unique across
 * the pod's containers, targetContainerName naming one, the fields outside
 * allowedEphemeralContainerFields Forbidden; existing ones may not be changed or removed); the
 * pod resource itself refuses them (ValidatePodCreate: "cannot be set on create";
 * ValidatePodUpdate: a spec change outside what it allows). Kubernetes appends a go-cmp diff to
 * "may not be changed\n"; drover leaves it out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define SMP   "application/strategic-merge-patch+json"
#define MERGE "application/merge-patch+json"
#define JSONP "application/json-patch+json"
#define NS    "/api/v1/namespaces/default/"
#define EC    NS "pods/p/ephemeralcontainers"

static void ok_patch(struct tsrv *t, const char *path, const char *ctype, const char *body,
		     struct tresp *r)
{
	treq(t, "PATCH", path, ctype, body, NULL, r);
	if (r->code != 200)
		fail_msg("PATCH %s %s: %ld: %s", path, body, r->code, r->body);
}

/* A patch refused with 422 Invalid whose first cause has this field and message. */
static void refused(struct tsrv *t, const char *path, const char *ctype, const char *body,
		    const char *field, const char *reason, const char *msg)
{
	struct tresp r;

	treq(t, "PATCH", path, ctype, body, NULL, &r);
	if (r.code != 422)
		fail_msg("PATCH %s %s: %ld, want 422: %s", path, body, r.code, r.body);
	assert_string_equal(tstr(r.json, "reason"), "Invalid");
	assert_string_equal(tstr(r.json, "details.causes[0].field"), field);
	assert_string_equal(tstr(r.json, "details.causes[0].reason"), reason);
	assert_string_equal(tstr(r.json, "details.causes[0].message"), msg);
	tresp_free(&r);
}

/* One ephemeral container (JSON, ` for ") with extra members. */
static const char *ec_patch(const char *name, const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "{\"spec\":{\"ephemeralContainers\":[{\"name\":\"%s\",\"image\":\"busybox\","
		 "\"stdin\":true,\"tty\":true,\"resources\":{}%s%s}]}}",
		 name, extra[0] ? "," : "", tq(extra));
	return buf;
}

static void test_ephemeral(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;

	j = tpost(t, NS "pods",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
		  "\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
		  "\"image\":\"busybox\"}],\"initContainers\":[{\"name\":\"i\",\"image\":"
		  "\"busybox\"}],\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}}",
		  201, &r);
	tresp_free(&r);
	(void)j;
	/* GET: the Pod */
	j = tget(t, EC, 200, &r);
	assert_string_equal(tstr(j, "kind"), "Pod");
	assert_string_equal(tstr(j, "metadata.name"), "p");
	tresp_free(&r);

	/* kubectl debug's strategic merge patch; what else it says is dropped */
	ok_patch(t, EC, SMP,
		 tq("{`metadata`:{`labels`:{`a`:`x`}},`spec`:{`activeDeadlineSeconds`:5,"
		    "`ephemeralContainers`:[{`name`:`dbg`,`image`:`busybox`,"
		    "`targetContainerName`:`c`,`stdin`:true,`tty`:true,`resources`:{},"
		    "`terminationMessagePolicy`:`File`}]}}"),
		 &r);
	assert_string_equal(tstr(r.json, "spec.ephemeralContainers[0].name"), "dbg");
	assert_string_equal(tstr(r.json, "spec.ephemeralContainers[0].targetContainerName"), "c");
	/* SetDefaults_EphemeralContainer */
	assert_string_equal(tstr(r.json, "spec.ephemeralContainers[0].terminationMessagePath"),
			    "/dev/termination-log");
	assert_string_equal(tstr(r.json, "spec.ephemeralContainers[0].imagePullPolicy"), "Always");
	assert_string_equal(tstr(r.json, "metadata.labels.a"), "b");
	assert_null(jv_path(r.json, "spec.activeDeadlineSeconds"));
	/* pods have no metadata.generation in 1.32 (no PodObservedGenerationTracking) */
	assert_null(jv_path(r.json, "metadata.generation"));
	tresp_free(&r);
	j = tget(t, NS "pods/p", 200, &r);
	assert_string_equal(tstr(j, "spec.ephemeralContainers[0].name"), "dbg");
	assert_string_equal(tstr(j, "metadata.labels.a"), "b");
	tresp_free(&r);

	/* names unique across containers, init containers and ephemeral containers */
	refused(t, EC, SMP, ec_patch("c", ""), "spec.ephemeralContainers[1].name",
		"FieldValueDuplicate", "Duplicate value: \"c\"");
	refused(t, EC, SMP, ec_patch("i", ""), "spec.ephemeralContainers[1].name",
		"FieldValueDuplicate", "Duplicate value: \"i\"");
	/* the same name again: a strategic merge changes the existing one */
	refused(t, EC, SMP, ec_patch("dbg", "`image`:`alpine`"), "spec.ephemeralContainers",
		"FieldValueForbidden",
		"Forbidden: existing ephemeral containers \"dbg\" may not be changed\n");
	refused(t, EC, JSONP,
		tq("[{`op`:`add`,`path`:`/spec/ephemeralContainers/-`,`value`:{`name`:`dbg`,"
		   "`image`:`busybox`}}]"),
		"spec.ephemeralContainers[1].name", "FieldValueDuplicate",
		"Duplicate value: \"dbg\"");
	/* removed, changed */
	refused(t, EC, JSONP, tq("[{`op`:`remove`,`path`:`/spec/ephemeralContainers/0`}]"),
		"spec.ephemeralContainers", "FieldValueForbidden",
		"Forbidden: existing ephemeral containers \"dbg\" may not be removed\n");
	refused(t, EC, JSONP,
		tq("[{`op`:`replace`,`path`:`/spec/ephemeralContainers/0/tty`,`value`:false}]"),
		"spec.ephemeralContainers", "FieldValueForbidden",
		"Forbidden: existing ephemeral containers \"dbg\" may not be changed\n");
	/* the target: a container or init container */
	refused(t, EC, SMP, ec_patch("d2", "`targetContainerName`:`nope`"),
		"spec.ephemeralContainers[1].targetContainerName", "FieldValueNotFound",
		"Not found: \"nope\"");
	refused(t, EC, SMP, ec_patch("d2", "`targetContainerName`:`dbg`"),
		"spec.ephemeralContainers[1].targetContainerName", "FieldValueNotFound",
		"Not found: \"dbg\"");
	/* the fields an ephemeral container may not have */
	{
		static const char *const bad[][2] = {
		    {"ports", "`ports`:[{`containerPort`:80}]"},
		    {"resources", "`resources`:{`limits`:{`cpu`:`1`}}"},
		    {"livenessProbe", "`livenessProbe`:{`exec`:{`command`:[`true`]}}"},
		    {"readinessProbe", "`readinessProbe`:{`exec`:{`command`:[`true`]}}"},
		    {"startupProbe", "`startupProbe`:{`exec`:{`command`:[`true`]}}"},
		    {"lifecycle", "`lifecycle`:{`preStop`:{`exec`:{`command`:[`true`]}}}"},
		    {"restartPolicy", "`restartPolicy`:`Always`"},
		};
		char f[128], body[2048];

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			/* ec_patch's buffer: resources given twice would be ambiguous */
			snprintf(body, sizeof(body),
				 "{\"spec\":{\"ephemeralContainers\":[{\"name\":\"d2\","
				 "\"image\":\"busybox\",%s}]}}",
				 tq(bad[k][1]));
			snprintf(f, sizeof(f), "spec.ephemeralContainers[1].%s", bad[k][0]);
			refused(t, EC, SMP, body, f, "FieldValueForbidden",
				"Forbidden: cannot be set for an Ephemeral Container");
		}
	}
	refused(t, EC, SMP,
		tq("{`spec`:{`ephemeralContainers`:[{`name`:`d2`,`image`:`busybox`,"
		   "`volumeMounts`:[{`name`:`v`,`mountPath`:`/v`,`subPath`:`x`}]}]}}"),
		"spec.ephemeralContainers[1].volumeMounts[0].subPath", "FieldValueForbidden",
		"Forbidden: cannot be set for an Ephemeral Container");
	/* the pod's volumes are the old pod's: one the patch adds is not there */
	refused(t, EC, SMP,
		tq("{`spec`:{`ephemeralContainers`:[{`name`:`d2`,`image`:`busybox`,"
		   "`volumeMounts`:[{`name`:`w`,`mountPath`:`/w`}]}],"
		   "`volumes`:[{`name`:`w`,`emptyDir`:{}}]}}"),
		"spec.ephemeralContainers[1].volumeMounts[0].name", "FieldValueNotFound",
		"Not found: \"w\"");
	/* a second one with another name is fine; the first stays */
	ok_patch(t, EC, SMP, ec_patch("d2", ""), &r);
	assert_int_equal(jv_count(jv_path(r.json, "spec.ephemeralContainers")), 2);
	tresp_free(&r);
	/* through the pod resource: refused as ValidatePodUpdate refuses a spec change */
	refused(t, NS "pods/p", SMP, ec_patch("d3", ""), "spec", "FieldValueForbidden",
		"Forbidden: pod updates may not change fields other than "
		"`spec.containers[*].image`,`spec.initContainers[*].image`,"
		"`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
		"existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to "
		"be set to 1 if it was previously negative)");
	/* ValidatePodCreate */
	treq(t, "POST", NS "pods", NULL,
	     tq("{`apiVersion`:`v1`,`kind`:`Pod`,`metadata`:{`name`:`q`},`spec`:{`containers`:"
		"[{`name`:`c`,`image`:`busybox`}],`ephemeralContainers`:[{`name`:`d`,`image`:"
		"`busybox`}]}}"),
	     NULL, &r);
	assert_int_equal(r.code, 422);
	assert_string_equal(tstr(r.json, "details.causes[0].field"), "spec.ephemeralContainers");
	assert_string_equal(tstr(r.json, "details.causes[0].message"),
			    "Forbidden: cannot be set on create");
	tresp_free(&r);
}

/* PUT of the subresource: the body's ephemeral containers, nothing else of it */
static void test_ephemeral_put(void **state)
{
	struct tsrv *t = *state;
	struct tresp r;
	struct jv *j;
	char *json;
	size_t len;

	j = tpost(t, NS "pods",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"u\"},"
		  "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
		  201, &r);
	jv_set(r.d, jv_obj_at(r.d, j, "metadata"), "labels",
	       jv_parse(r.d, "{\"z\":\"1\"}", 9, NULL));
	jv_set(r.d, jv_obj_at(r.d, j, "spec"), "ephemeralContainers",
	       jv_parse(r.d, "[{\"name\":\"e\",\"image\":\"busybox\"}]", 32, NULL));
	json = jv_to_json(j, &len);
	assert_non_null(json);
	tresp_free(&r);
	treq(t, "PUT", NS "pods/u/ephemeralcontainers", NULL, json, NULL, &r);
	if (r.code != 200)
		fail_msg("PUT: %ld: %s", r.code, r.body);
	assert_string_equal(tstr(r.json, "spec.ephemeralContainers[0].name"), "e");
	assert_null(jv_path(r.json, "metadata.labels"));
	tresp_free(&r);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ephemeral),
	    cmocka_unit_test(test_ephemeral_put),
	};

	return cmocka_run_group_tests(tests, tsrv_group_setup, tsrv_group_teardown);
}
