/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_patch: the patch engines on their own: JSON merge patch (RFC 7386's examples),
 * JSON patch (RFC 6902's operations and failures) and strategic merge patch (merge keys,
 * $patch delete/replace, $setElementOrder, $retainKeys, $deleteFromPrimitiveList, atomic and
 * set lists, unknown directives).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_patch.h"
#include "k8s.h"
#include "k8s_jv.h"

static struct jv *J(struct jv_doc *d, const char *s)
{
	struct jv_perr e;
	struct jv *v = jv_parse(d, s, strlen(s), &e);

	if (!v)
		fail_msg("bad test JSON %s: %s", s, e.msg);
	return v;
}

static void expect_json(const struct jv *got, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	char *s = jv_to_json(got, NULL);

	if (!jv_equal(got, J(d, want)))
		fail_msg("got %s\nwant %s", s, want);
	free(s);
	jv_doc_free(d);
}

static void merge_case(const char *orig, const char *patch, const char *want)
{
	struct jv_doc *d = jv_doc_new();

	expect_json(api_merge_patch(d, J(d, orig), J(d, patch)), want);
	jv_doc_free(d);
}

static void test_merge_patch(void **state)
{
	(void)state;
	/* RFC 7386 appendix A */
	merge_case("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	merge_case("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
	merge_case("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	merge_case("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
	merge_case("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	merge_case("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
	merge_case("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
		   "{\"a\":{\"b\":\"d\"}}");
	merge_case("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	merge_case("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
	merge_case("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static void json_patch_case(const char *orig, const char *patch, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	char msg[256] = "";
	struct jv *r = api_json_patch(d, J(d, orig), J(d, patch), msg, sizeof(msg));

	if (!want) {
		assert_null(r);
		assert_true(msg[0] != 0);
	} else {
		if (!r)
			fail_msg("json patch %s failed: %s", patch, msg);
		expect_json(r, want);
	}
	jv_doc_free(d);
}

static void test_json_patch(void **state)
{
	(void)state;
	json_patch_case("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":9}]",
			"{\"a\":[1,9,2]}");
	json_patch_case("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/-\",\"value\":3}]",
			"{\"a\":[1,2,3]}");
	json_patch_case("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}]",
			"{\"a\":[0,1,2]}");
	json_patch_case("{\"a\":{\"b\":1}}", "[{\"op\":\"remove\",\"path\":\"/a/b\"}]",
			"{\"a\":{}}");
	json_patch_case("{\"a\":{\"b\":1}}", "[{\"op\":\"replace\",\"path\":\"/a/b\",\"value\":2}]",
			"{\"a\":{\"b\":2}}");
	json_patch_case("{\"a\":{\"b\":1},\"c\":{}}",
			"[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/c/d\"}]",
			"{\"a\":{},\"c\":{\"d\":1}}");
	json_patch_case("{\"a\":[1]}", "[{\"op\":\"copy\",\"from\":\"/a/0\",\"path\":\"/b\"}]",
			"{\"a\":[1],\"b\":1}");
	json_patch_case("{\"a/b\":1,\"m~n\":2}",
			"[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":3},{\"op\":\"remove\","
			"\"path\":\"/m~0n\"}]",
			"{\"a/b\":3}");
	json_patch_case("{\"a\":1}",
			"[{\"op\":\"test\",\"path\":\"/a\",\"value\":1},{\"op\":\"add\","
			"\"path\":\"/b\",\"value\":2}]",
			"{\"a\":1,\"b\":2}");
	/* failures: the patch does not apply */
	json_patch_case("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", NULL);
	json_patch_case("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", NULL);
	json_patch_case("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]", NULL);
	json_patch_case("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]", NULL);
	json_patch_case("{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]",
			NULL);
	json_patch_case("{\"a\":1}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", NULL);
	json_patch_case("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL);
}

static const struct k8s_type *deploy_type(void)
{
	return k8s_kind_find("apps/v1", "Deployment")->type;
}

static void smp_case(const char *orig, const char *patch, const char *want)
{
	struct jv_doc *d = jv_doc_new();
	char msg[256] = "";
	struct jv *r =
	    api_strategic_patch(d, J(d, orig), J(d, patch), deploy_type(), msg, sizeof(msg));

	if (!want) {
		assert_null(r);
		assert_true(msg[0] != 0);
	} else {
		if (!r)
			fail_msg("strategic patch %s failed: %s", patch, msg);
		expect_json(r, want);
	}
	jv_doc_free(d);
}

#define POD(c) "{\"spec\":{\"template\":{\"spec\":{\"containers\":" c "}}}}"

static void test_strategic_patch(void **state)
{
	(void)state;
	/* containers merge by name */
	smp_case(POD("[{\"name\":\"a\",\"image\":\"1\"},{\"name\":\"b\",\"image\":\"1\"}]"),
		 POD("[{\"name\":\"b\",\"image\":\"2\"}]"),
		 POD("[{\"name\":\"a\",\"image\":\"1\"},{\"name\":\"b\",\"image\":\"2\"}]"));
	/* a new one is appended; $patch: delete removes by key */
	smp_case(POD("[{\"name\":\"a\"},{\"name\":\"b\"}]"),
		 POD("[{\"name\":\"c\"},{\"name\":\"a\",\"$patch\":\"delete\"}]"),
		 POD("[{\"name\":\"b\"},{\"name\":\"c\"}]"));
	/* $setElementOrder */
	smp_case(
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":"
	    "\"b\"}]}}}}",
	    "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},"
	    "{\"name\":\"a\"}],\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}}}",
	    POD("[{\"name\":\"b\"},{\"name\":\"a\",\"image\":\"x\"}]"));
	/* nested merge keys: env by name inside a container */
	smp_case(POD("[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\","
		     "\"value\":\"2\"}]}]"),
		 POD("[{\"name\":\"a\",\"env\":[{\"name\":\"Y\",\"value\":\"3\"}]}]"),
		 POD("[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\","
		     "\"value\":\"3\"}]}]"));
	/* atomic lists (args) are replaced, not merged */
	smp_case(POD("[{\"name\":\"a\",\"args\":[\"x\",\"y\"]}]"),
		 POD("[{\"name\":\"a\",\"args\":[\"z\"]}]"),
		 POD("[{\"name\":\"a\",\"args\":[\"z\"]}]"));
	/* $retainKeys on the strategy */
	smp_case("{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
		 "\"maxSurge\":1}}}}",
		 "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
		 "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}");
	/* $patch: replace on a map; null deletes */
	smp_case("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
		 "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"c\":\"3\"}}}",
		 "{\"metadata\":{\"labels\":{\"c\":\"3\"}}}");
	smp_case("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
		 "{\"metadata\":{\"labels\":{\"a\":null}}}",
		 "{\"metadata\":{\"labels\":{\"b\":\"2\"}}}");
	/* primitive lists with the merge strategy: union; $deleteFromPrimitiveList */
	smp_case("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
		 "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}",
		 "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}");
	smp_case("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
		 "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a\"]}}",
		 "{\"metadata\":{\"finalizers\":[\"b\"]}}");
	/* a list item replace */
	smp_case(POD("[{\"name\":\"a\"},{\"name\":\"b\"}]"),
		 POD("[{\"name\":\"z\"},{\"$patch\":\"replace\"}]"), POD("[{\"name\":\"z\"}]"));
	/* ... whose other items may delete themselves (crashed the server once) */
	smp_case(POD("[{\"name\":\"a\"}]"),
		 POD("[{\"$patch\":\"replace\"},{\"name\":\"x\",\"$patch\":\"delete\"},"
		     "{\"name\":\"y\"}]"),
		 POD("[{\"name\":\"y\"}]"));
	/* errors */
	smp_case("{}", "{\"$patch\":\"explode\"}", NULL);
	smp_case("{}", "{\"spec\":{\"$bogus\":1}}", NULL);
	smp_case(POD("[{\"name\":\"a\"}]"), POD("[{\"image\":\"no-key\"}]"), NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_patch),
	    cmocka_unit_test(test_json_patch),
	    cmocka_unit_test(test_strategic_patch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
