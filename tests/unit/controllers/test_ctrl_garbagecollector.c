/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_garbagecollector: the garbage collector over ConfigMaps that own ConfigMaps (no
 * other controller is needed): background deletion (dependents whose owners are gone go, a
 * dependent with another owner only loses the reference), foreground (the owner stays with
 * foregroundDeletion until the dependents that block it are gone), orphan (dependents lose
 * the reference and stay), references to owners that do not exist (dangling), a chain of
 * three levels both ways, and a cluster-scoped owner of namespaced dependents (kept while it
 * exists).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctrl_helpers.h"

#define NS "gc"

static bool exists(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	bool found = cenv_get(e, d, k, ns, name) != NULL;

	jv_doc_free(d);
	return found;
}

static bool cm_exists(struct cenv *e, const char *name)
{
	return exists(e, kind_cm(), NS, name);
}

/* The uid of a ConfigMap (asserts it exists), copied into buf. */
static const char *uid_of(struct cenv *e, const struct k8s_kind *k, const char *ns,
			  const char *name, char *buf)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, k, ns, name);

	assert_non_null(o);
	snprintf(buf, 64, "%s", jv_path_str(o, "metadata.uid"));
	jv_doc_free(d);
	return buf;
}

/* An ownerReference to the ConfigMap owner (uid given), as JSON. */
static const char *ref(char *buf, size_t size, const char *kind, const char *name, const char *uid,
		       bool block)
{
	snprintf(buf, size,
		 "{\"apiVersion\":\"v1\",\"kind\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\"%s}", kind,
		 name, uid, block ? ",\"blockOwnerDeletion\":true" : "");
	return buf;
}

/* A ConfigMap with these ownerReferences (a JSON array's items) and finalizers. */
static void cm(struct cenv *e, const char *name, const char *refs, const char *finalizers)
{
	char json[2048];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"ownerReferences\":[%s],\"finalizers\":[%s]}}",
		 name, refs ? refs : "", finalizers ? finalizers : "");
	cenv_create(e, kind_cm(), NS, json);
}

/* A plain ConfigMap owned by name (its current uid), blocking or not. */
static void cm_of(struct cenv *e, const char *name, const char *owner, bool block)
{
	char uid[64], r[512];

	cm(e, name,
	   ref(r, sizeof(r), "ConfigMap", owner, uid_of(e, kind_cm(), NS, owner, uid), block),
	   NULL);
}

static void del(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
		const char *policy, struct jv_doc *d, struct jv **answer)
{
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	struct kc_obj *out = NULL;

	o.propagation = policy;
	if (kc_delete(e->k.c, k, ns, name, &o, &out, &st) != 0)
		fail_msg("delete %s %s: %s", k->resource, name, st.message);
	if (answer)
		*answer = kc_obj_parse(out, d);
	kc_obj_put(out);
}

static bool has_finalizer(const struct jv *o, const char *f)
{
	for (const struct jv *i = jv_first(jv_path(o, "metadata.finalizers")); i; i = i->next)
		if (jv_is_str(i, f))
			return true;
	return false;
}

static void unhold(struct cenv *e, const char *name)
{
	const char *p = "{\"metadata\":{\"finalizers\":null}}";
	struct kc_status st;

	if (kc_patch(e->k.c, kind_cm(), NS, name, NULL, KC_PATCH_MERGE, p, strlen(p), NULL, NULL,
		     &st) != 0)
		fail_msg("unhold %s: %s", name, st.message);
}

static void start(struct cenv *e)
{
	cenv_start(e, "garbagecollector", NULL, NULL);
	kc_make_ns(e->k.c, NS);
}

/* Background: the owner goes at once; its dependents follow; a dependent with another owner
 * that exists only loses the reference to the one gone. */
static void test_background(void **state)
{
	struct jv_doc *d = jv_doc_new();
	char uid[64], uid2[64], r1[512], r2[512], refs[1100];
	struct cenv e;
	struct jv *o;

	(void)state;
	start(&e);
	cm(&e, "owner", NULL, NULL);
	cm(&e, "other", NULL, NULL);
	cm_of(&e, "d1", "owner", true);
	cm_of(&e, "d2", "owner", false);
	snprintf(refs, sizeof(refs), "%s,%s",
		 ref(r1, sizeof(r1), "ConfigMap", "owner", uid_of(&e, kind_cm(), NS, "owner", uid),
		     false),
		 ref(r2, sizeof(r2), "ConfigMap", "other", uid_of(&e, kind_cm(), NS, "other", uid2),
		     false));
	cm(&e, "both", refs, NULL);
	del(&e, kind_cm(), NS, "owner", NULL, d, NULL);
	assert_false(cm_exists(&e, "owner"));
	assert_true(WAIT_UNTIL(!cm_exists(&e, "d1") && !cm_exists(&e, "d2"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(jv_count(jv_path(cenv_get(&e, d, kind_cm(), NS, "both"),
						"metadata.ownerReferences")) == 1,
			       KC_WAIT_MS));
	o = cenv_get(&e, d, kind_cm(), NS, "both");
	assert_string_equal(jv_path_str(jv_first(jv_path(o, "metadata.ownerReferences")), "uid"),
			    uid2);
	assert_null(jv_path(o, "metadata.deletionTimestamp"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* Foreground: the owner stays, marked, with the foregroundDeletion finalizer, while a
 * dependent that blocks it stays; the dependents go first, then it. */
static void test_foreground(void **state)
{
	struct jv_doc *d = jv_doc_new();
	char uid[64], r[512];
	struct cenv e;
	struct jv *o;

	(void)state;
	start(&e);
	cm(&e, "fg", NULL, NULL);
	cm(&e, "blocker",
	   ref(r, sizeof(r), "ConfigMap", "fg", uid_of(&e, kind_cm(), NS, "fg", uid), true),
	   "\"example.com/hold\"");
	cm_of(&e, "plain", "fg", false);
	del(&e, kind_cm(), NS, "fg", "Foreground", d, &o);
	assert_non_null(jv_path(o, "metadata.deletionTimestamp"));
	assert_true(has_finalizer(o, "foregroundDeletion"));
	/* the dependents are deleted; the held one stays, and so does its owner */
	assert_true(WAIT_UNTIL(!cm_exists(&e, "plain"), KC_WAIT_MS));
	assert_true(WAIT_UNTIL(jv_path(cenv_get(&e, d, kind_cm(), NS, "blocker"),
				       "metadata.deletionTimestamp") != NULL,
			       KC_WAIT_MS));
	o = cenv_get(&e, d, kind_cm(), NS, "fg");
	assert_non_null(o);
	assert_true(has_finalizer(o, "foregroundDeletion"));
	unhold(&e, "blocker");
	assert_true(WAIT_UNTIL(!cm_exists(&e, "fg"), KC_WAIT_MS));
	assert_false(cm_exists(&e, "blocker"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* Orphan: the owner goes once its dependents no longer name it; they stay. */
static void test_orphan(void **state)
{
	struct jv_doc *d = jv_doc_new();
	char uid[64], uid2[64], r1[512], r2[512], refs[1100];
	struct cenv e;
	struct jv *o;

	(void)state;
	start(&e);
	cm(&e, "or", NULL, NULL);
	cm(&e, "keep", NULL, NULL);
	cm_of(&e, "o1", "or", true);
	snprintf(refs, sizeof(refs), "%s,%s",
		 ref(r1, sizeof(r1), "ConfigMap", "or", uid_of(&e, kind_cm(), NS, "or", uid), true),
		 ref(r2, sizeof(r2), "ConfigMap", "keep", uid_of(&e, kind_cm(), NS, "keep", uid2),
		     false));
	cm(&e, "o2", refs, NULL);
	del(&e, kind_cm(), NS, "or", "Orphan", d, &o);
	assert_true(has_finalizer(o, "orphan"));
	assert_true(WAIT_UNTIL(!cm_exists(&e, "or"), KC_WAIT_MS));
	o = cenv_get(&e, d, kind_cm(), NS, "o1");
	assert_non_null(o);
	assert_null(jv_path(o, "metadata.ownerReferences"));
	assert_null(jv_path(o, "metadata.deletionTimestamp"));
	o = cenv_get(&e, d, kind_cm(), NS, "o2");
	assert_non_null(o);
	assert_int_equal(jv_count(jv_path(o, "metadata.ownerReferences")), 1);
	assert_string_equal(jv_path_str(jv_first(jv_path(o, "metadata.ownerReferences")), "uid"),
			    uid2);
	jv_doc_free(d);
	cenv_stop(&e);
}

/* References to owners that do not exist: no object of that uid, or the name of one with
 * another uid. Dependents of real owners stay. */
static void test_dangling(void **state)
{
	char r[512];
	struct cenv e;

	(void)state;
	start(&e);
	cm(&e, "real", NULL, NULL);
	cm_of(&e, "ok", "real", false);
	cm(&e, "lost",
	   ref(r, sizeof(r), "ConfigMap", "ghost", "11111111-2222-3333-4444-555555555555", false),
	   NULL);
	cm(&e, "wrong-uid",
	   ref(r, sizeof(r), "ConfigMap", "real", "66666666-2222-3333-4444-555555555555", false),
	   NULL);
	assert_true(WAIT_UNTIL(!cm_exists(&e, "lost") && !cm_exists(&e, "wrong-uid"), KC_WAIT_MS));
	assert_true(cm_exists(&e, "real"));
	assert_true(cm_exists(&e, "ok"));
	/* made after the owner's absence was learnt: it goes too */
	cm(&e, "lost2",
	   ref(r, sizeof(r), "ConfigMap", "ghost", "11111111-2222-3333-4444-555555555555", false),
	   NULL);
	assert_true(WAIT_UNTIL(!cm_exists(&e, "lost2"), KC_WAIT_MS));
	cenv_stop(&e);
}

/* a <- b <- c: background takes the chain level by level; foreground keeps each owner
 * until what it owns is gone. */
static void test_chain(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct cenv e;

	(void)state;
	start(&e);
	cm(&e, "a", NULL, NULL);
	cm_of(&e, "b", "a", true);
	cm_of(&e, "c", "b", true);
	del(&e, kind_cm(), NS, "a", NULL, d, NULL);
	assert_true(WAIT_UNTIL(!cm_exists(&e, "b") && !cm_exists(&e, "c"), KC_WAIT_MS));

	cm(&e, "fa", NULL, NULL);
	cm_of(&e, "fb", "fa", true);
	cm_of(&e, "fc", "fb", true);
	del(&e, kind_cm(), NS, "fa", "Foreground", d, NULL);
	assert_true(WAIT_UNTIL(!cm_exists(&e, "fa"), KC_WAIT_MS));
	/* the owner went last */
	assert_false(cm_exists(&e, "fb"));
	assert_false(cm_exists(&e, "fc"));
	jv_doc_free(d);
	cenv_stop(&e);
}

/* A cluster-scoped owner (a Node) of a namespaced dependent. */
static void test_cluster_scoped_owner(void **state)
{
	const struct k8s_kind *node = k8s_kind_find("v1", "Node");
	struct jv_doc *d = jv_doc_new();
	char uid[64], r1[512], r2[512], refs[1100];
	struct cenv e;
	struct jv *o;

	(void)state;
	start(&e);
	cenv_node(&e, "owner-node", 2, 10, NULL);
	/* a second owner that does not exist makes the collector look at it */
	snprintf(refs, sizeof(refs), "%s,%s",
		 ref(r1, sizeof(r1), "Node", "owner-node",
		     uid_of(&e, node, NULL, "owner-node", uid), false),
		 ref(r2, sizeof(r2), "ConfigMap", "ghost", "11111111-2222-3333-4444-555555555555",
		     false));
	cm(&e, "on-node", refs, NULL);
	cm_of(&e, "witness", "on-node", false);
	/* the Node exists: only the reference to the ghost goes */
	assert_true(WAIT_UNTIL(jv_count(jv_path(cenv_get(&e, d, kind_cm(), NS, "on-node"),
						"metadata.ownerReferences")) == 1,
			       KC_WAIT_MS));
	o = cenv_get(&e, d, kind_cm(), NS, "on-node");
	assert_string_equal(jv_path_str(jv_first(jv_path(o, "metadata.ownerReferences")), "uid"),
			    uid);
	assert_null(jv_path(o, "metadata.deletionTimestamp"));
	assert_true(cm_exists(&e, "witness"));
	del(&e, node, NULL, "owner-node", NULL, d, NULL);
	assert_true(WAIT_UNTIL(!cm_exists(&e, "on-node") && !cm_exists(&e, "witness"), KC_WAIT_MS));
	jv_doc_free(d);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_background), cmocka_unit_test(test_foreground),
	    cmocka_unit_test(test_orphan),     cmocka_unit_test(test_dangling),
	    cmocka_unit_test(test_chain),      cmocka_unit_test(test_cluster_scoped_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
