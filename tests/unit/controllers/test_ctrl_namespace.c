/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_namespace: a deleted namespace is held Terminating by the API and emptied by the
 * namespace controller (every kind, also ones no other controller touches), then goes;
 * content held by a finalizer keeps it, with the conditions that say why, until the
 * finalizer goes; a pod's grace period is waited for; nothing new is created in it
 * meanwhile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"

static const struct k8s_kind *kind(const char *api_version, const char *k)
{
	const struct k8s_kind *r = k8s_kind_find(api_version, k);

	assert_non_null(r);
	return r;
}

static bool exists(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	bool found = cenv_get(e, d, k, ns, name) != NULL;

	jv_doc_free(d);
	return found;
}

/* The condition's field of the namespace, copied into buf ("" when absent). */
static const char *ns_cond(struct cenv *e, const char *ns, const char *type, const char *field,
			   char *buf, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, kind_ns(), NULL, ns);

	buf[0] = 0;
	for (const struct jv *c = jv_first(jv_path(o, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			snprintf(buf, size, "%s", jv_path_str(c, field) ?: "");
	jv_doc_free(d);
	return buf;
}

static bool ns_cond_is(struct cenv *e, const char *ns, const char *type, const char *field,
		       const char *want)
{
	char buf[1024];

	return strcmp(ns_cond(e, ns, type, field, buf, sizeof(buf)), want) == 0;
}

static void delete_ns(struct cenv *e, const char *ns)
{
	struct kc_status st;
	struct kc_obj *o = NULL;
	struct jv_doc *d = jv_doc_new();
	int err = kc_delete(e->k.c, kind_ns(), NULL, ns, NULL, &o, &st);

	if (err)
		fail_msg("delete namespace %s: %s", ns, st.message);
	/* the API holds it: marked Terminating, not removed (the controller empties it) */
	assert_string_equal(ostr(d, o, "status.phase"), "Terminating");
	assert_non_null(jv_path(kc_obj_parse(o, d), "metadata.deletionTimestamp"));
	kc_obj_put(o);
	jv_doc_free(d);
}

/* Every kind goes, also those no controller of theirs runs here. */
static void test_namespace_emptied(void **state)
{
	const struct k8s_kind *secret = kind("v1", "Secret"), *dep = kind("apps/v1", "Deployment");
	const struct k8s_kind *role = kind("rbac.authorization.k8s.io/v1", "Role");
	struct cenv e;

	(void)state;
	cenv_start(&e, "namespace", NULL, NULL);
	kc_make_ns(e.k.c, "tmp");
	cenv_create(&e, kind_cm(), "tmp", "{\"metadata\":{\"name\":\"x\"}}");
	cenv_create(&e, secret, "tmp", "{\"metadata\":{\"name\":\"s\"}}");
	cenv_create(&e, role, "tmp", "{\"metadata\":{\"name\":\"r\"}}");
	cenv_create(&e, kind_pod(), "tmp",
		    "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
		    "\"image\":\"nginx\"}]}}");
	cenv_create(&e, dep, "tmp",
		    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":"
		    "\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{"
		    "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}");
	delete_ns(&e, "tmp");
	assert_true(WAIT_UNTIL(!exists(&e, kind_ns(), NULL, "tmp"), KC_WAIT_MS));
	assert_false(exists(&e, kind_cm(), "tmp", "x"));
	assert_false(exists(&e, secret, "tmp", "s"));
	assert_false(exists(&e, role, "tmp", "r"));
	assert_false(exists(&e, kind_pod(), "tmp", "p"));
	assert_false(exists(&e, dep, "tmp", "d"));
	/* a namespace of the same name starts empty */
	kc_make_ns(e.k.c, "tmp");
	assert_int_equal(cenv_count(&e, kind_cm(), "tmp", NULL), 0);
	cenv_stop(&e);
}

/* An object held by a finalizer holds the namespace; the conditions say why; nothing new is
 * created meanwhile; when the finalizer goes, everything goes. */
static void test_namespace_waits_for_finalizers(void **state)
{
	struct cenv e;
	struct kc_status st;
	struct jv_doc *d = jv_doc_new();
	const char *unhold = "{\"metadata\":{\"finalizers\":null}}";
	char buf[1024];
	int err;

	(void)state;
	cenv_start(&e, "namespace", NULL, NULL);
	kc_make_ns(e.k.c, "fin");
	cenv_create(&e, kind_cm(), "fin",
		    "{\"metadata\":{\"name\":\"held\",\"finalizers\":[\"example.com/hold\"]}}");
	cenv_create(&e, kind_cm(), "fin", "{\"metadata\":{\"name\":\"free\"}}");
	delete_ns(&e, "fin");
	assert_true(WAIT_UNTIL(
	    ns_cond_is(&e, "fin", "NamespaceFinalizersRemaining", "status", "True"), KC_WAIT_MS));
	assert_string_equal(
	    ns_cond(&e, "fin", "NamespaceFinalizersRemaining", "message", buf, sizeof(buf)),
	    "Some finalizers are remaining: example.com/hold in 1 resource instances");
	assert_string_equal(
	    ns_cond(&e, "fin", "NamespaceFinalizersRemaining", "reason", buf, sizeof(buf)),
	    "SomeFinalizerRemain");
	assert_string_equal(
	    ns_cond(&e, "fin", "NamespaceContentRemaining", "message", buf, sizeof(buf)),
	    "Some resources are remaining: configmaps. has 1 resource instances");
	assert_string_equal(
	    ns_cond(&e, "fin", "NamespaceContentRemaining", "reason", buf, sizeof(buf)),
	    "SomeResourcesRemain");
	assert_string_equal(
	    ns_cond(&e, "fin", "NamespaceDeletionContentFailure", "reason", buf, sizeof(buf)),
	    "ContentDeleted");
	assert_string_equal(
	    ns_cond(&e, "fin", "NamespaceDeletionDiscoveryFailure", "status", buf, sizeof(buf)),
	    "False");
	assert_false(exists(&e, kind_cm(), "fin", "free"));
	assert_non_null(
	    jv_path(cenv_get(&e, d, kind_cm(), "fin", "held"), "metadata.deletionTimestamp"));
	assert_true(exists(&e, kind_ns(), NULL, "fin"));
	/* nothing new while it terminates */
	err = kc_create(e.k.c, kind_cm(), "fin", J(d, "{\"metadata\":{\"name\":\"late\"}}"), NULL,
			NULL, &st);
	assert_int_equal(err, -EACCES);
	assert_int_equal(st.code, 403);
	assert_string_equal(st.message,
			    "configmaps \"late\" is forbidden: unable to create new content in "
			    "namespace fin because it is being terminated");
	/* the finalizer's owner lets go: the object, then the namespace, go */
	err = kc_patch(e.k.c, kind_cm(), "fin", "held", NULL, KC_PATCH_MERGE, unhold,
		       strlen(unhold), NULL, NULL, &st);
	assert_int_equal(err, 0);
	assert_true(WAIT_UNTIL(!exists(&e, kind_ns(), NULL, "fin"), KC_WAIT_MS));
	assert_false(exists(&e, kind_cm(), "fin", "held"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* A pod on a node is deleted gracefully: the namespace waits for its kubelet. */
static void test_namespace_waits_for_pods(void **state)
{
	struct kc_delete_opts now = KC_DELETE_OPTS_INIT;
	struct cenv e;
	struct kc_status st;
	struct jv_doc *d = jv_doc_new();

	(void)state;
	cenv_start(&e, "namespace", NULL, NULL);
	cenv_node(&e, "n1", 4, 10, NULL);
	kc_make_ns(e.k.c, "pods");
	cenv_create(&e, kind_pod(), "pods",
		    "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"terminationGracePeriodSeconds\":2,"
		    "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
	cenv_pod_run(&e, "pods", "p", "n1", true);
	delete_ns(&e, "pods");
	assert_true(WAIT_UNTIL(
	    jv_path(cenv_get(&e, d, kind_pod(), "pods", "p"), "metadata.deletionTimestamp") != NULL,
	    KC_WAIT_MS));
	assert_true(exists(&e, kind_ns(), NULL, "pods"));
	/* the kubelet's part: its containers stopped, it deletes the pod for good */
	now.grace_seconds = 0;
	assert_int_equal(kc_delete(e.k.c, kind_pod(), "pods", "p", &now, NULL, &st), 0);
	assert_true(WAIT_UNTIL(!exists(&e, kind_ns(), NULL, "pods"), KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_namespace_emptied),
	    cmocka_unit_test(test_namespace_waits_for_finalizers),
	    cmocka_unit_test(test_namespace_waits_for_pods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
