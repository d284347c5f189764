/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kclient_calls: kclient's calls over the HTTPS transport (plain HTTP here) against an
 * in-process drover API server: get/create/update/patch (merge, strategic, JSON, apply)/
 * delete and the error each failure maps to, list pages and selectors (escaped in the URL),
 * binding, subresources, cluster-scoped paths, dry runs, transport errors, and many threads
 * calling through one client over reused connections.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_helpers.h"
#include "kclient_int.h"

#define CM(name, extra) "{\"metadata\":{\"name\":\"" name "\"" extra "},\"data\":{\"k\":\"v\"}}"

static struct kclient *C(void **state)
{
	return ((struct ksrv *)*state)->c;
}

static void test_obj(void **state)
{
	struct jv_doc *d = jv_doc_new();
	const char *text = "{\"metadata\":{\"name\":\"a\"}}";
	struct kc_obj *o = kc_obj_new(text, strlen(text), 42), *o2;
	struct jv *t;

	(void)state;
	assert_non_null(o);
	assert_int_equal(o->len, strlen(text));
	assert_string_equal(o->json, text);
	t = kc_obj_parse(o, d);
	assert_non_null(t);
	/* rv is authoritative: spliced into the tree */
	assert_string_equal(jv_path_str(t, "metadata.resourceVersion"), "42");
	assert_string_equal(jv_path_str(t, "metadata.name"), "a");
	o2 = kc_obj_get(o);
	assert_ptr_equal(o, o2);
	kc_obj_put(o2);
	kc_obj_put(o);
	/* not an object */
	o = kc_obj_new("[1]", 3, 0);
	errno = 0;
	assert_null(kc_obj_parse(o, d));
	assert_int_equal(errno, EINVAL);
	kc_obj_put(o);
	text = "{\"metadata\":{\"resourceVersion\":\"7\"}}";
	o = kc_obj_new(text, strlen(text), 0);
	t = kc_obj_parse(o, d);
	assert_string_equal(jv_path_str(t, "metadata.resourceVersion"), "7");
	kc_obj_put(o);
	kc_obj_put(NULL);
	jv_doc_free(d);
}

static void test_error_mapping(void **state)
{
	(void)state;
	assert_int_equal(kc_error_of(404, "NotFound"), -ENOENT);
	assert_int_equal(kc_error_of(409, "AlreadyExists"), -EEXIST);
	assert_int_equal(kc_error_of(409, "Conflict"), -KC_ECONFLICT);
	assert_int_equal(kc_error_of(410, "Expired"), -KC_EGONE);
	assert_int_equal(kc_error_of(410, "Gone"), -KC_EGONE);
	assert_int_equal(kc_error_of(422, "Invalid"), -KC_EINVALID);
	assert_int_equal(kc_error_of(401, "Unauthorized"), -EACCES);
	assert_int_equal(kc_error_of(403, "Forbidden"), -EACCES);
	assert_int_equal(kc_error_of(500, "InternalError"), -KC_EAPI);
	assert_int_equal(kc_error_of(400, NULL), -KC_EAPI);
	assert_string_equal(kc_strerror(-KC_ECONFLICT),
			    "conflict (stale resourceVersion or precondition)");
	assert_string_equal(kc_strerror(-ENOENT), strerror(ENOENT));
}

static void test_crud(void **state)
{
	struct kclient *c = C(state);
	struct jv_doc *d = jv_doc_new();
	struct kc_obj *o = NULL, *o2 = NULL;
	struct kc_status st;
	struct jv *t;
	char stale[32];
	uint64_t rv1;

	kc_make_ns(c, "crud");
	assert_int_equal(kc_create(c, kind_cm(), "crud", J(d, CM("a", "")), NULL, &o, &st), 0);
	assert_true(o->rv > 0);
	rv1 = o->rv;
	assert_string_equal(ostr(d, o, "metadata.namespace"), "crud");
	kc_obj_put(o);

	/* the namespace may also come from the object */
	assert_int_equal(kc_create(c, kind_cm(), NULL,
				   J(d, "{\"metadata\":{\"name\":\"b\",\"namespace\":\"crud\"}}"),
				   NULL, NULL, &st),
			 0);

	assert_int_equal(kc_get(c, kind_cm(), "crud", "a", &o, &st), 0);
	assert_int_equal(o->rv, rv1);
	assert_string_equal(ostr(d, o, "data.k"), "v");

	/* update with the rv just read: accepted, a newer rv */
	t = kc_obj_parse(o, d);
	jv_set(d, jv_get(t, "data"), "k", jv_new_strz(d, "v2"));
	assert_int_equal(kc_update(c, kind_cm(), "crud", NULL, t, NULL, &o2, &st), 0);
	assert_true(o2->rv > rv1);
	assert_string_equal(ostr(d, o2, "data.k"), "v2");
	kc_obj_put(o2);

	/* the same rv again is stale now */
	snprintf(stale, sizeof(stale), "%llu", (unsigned long long)rv1);
	jv_set(d, jv_get(t, "metadata"), "resourceVersion", jv_new_strz(d, stale));
	jv_set(d, jv_get(t, "data"), "k", jv_new_strz(d, "v3"));
	assert_int_equal(kc_update(c, kind_cm(), "crud", NULL, t, NULL, NULL, &st), -KC_ECONFLICT);
	assert_int_equal(st.code, 409);
	assert_string_equal(st.reason, "Conflict");
	assert_non_null(strstr(st.message, "the object has been modified"));
	kc_obj_put(o);

	/* exists already */
	assert_int_equal(kc_create(c, kind_cm(), "crud", J(d, CM("a", "")), NULL, NULL, &st),
			 -EEXIST);
	assert_int_equal(st.code, 409);
	assert_string_equal(st.reason, "AlreadyExists");
	assert_string_equal(st.message, "configmaps \"a\" already exists");

	/* not found */
	assert_int_equal(kc_get(c, kind_cm(), "crud", "nope", &o, &st), -ENOENT);
	assert_null(o);
	assert_int_equal(st.code, 404);
	assert_string_equal(st.reason, "NotFound");
	assert_string_equal(st.message, "configmaps \"nope\" not found");

	/* invalid: the causes are in the message */
	assert_int_equal(kc_create(c, kind_cm(), "crud", J(d, CM("Bad_Name", "")), NULL, NULL, &st),
			 -KC_EINVALID);
	assert_int_equal(st.code, 422);
	assert_string_equal(st.reason, "Invalid");
	assert_non_null(strstr(st.message, "metadata.name: Invalid value: \"Bad_Name\""));

	/* delete, then it is gone */
	assert_int_equal(kc_delete(c, kind_cm(), "crud", "a", NULL, &o, &st), 0);
	kc_obj_put(o);
	assert_int_equal(kc_get(c, kind_cm(), "crud", "a", &o, &st), -ENOENT);
	assert_int_equal(kc_delete(c, kind_cm(), "crud", "a", NULL, NULL, &st), -ENOENT);
	assert_int_equal(st.code, 404);

	/* arguments checked before any request */
	assert_int_equal(kc_get(c, kind_cm(), NULL, "a", &o, &st), -EINVAL);
	assert_int_equal(kc_get(c, kind_cm(), "crud", "", &o, &st), -EINVAL);
	assert_int_equal(kc_create(c, kind_cm(), NULL, J(d, CM("x", "")), NULL, NULL, &st),
			 -EINVAL);
	assert_int_equal(kc_get(NULL, kind_cm(), "crud", "a", &o, &st), -EINVAL);
	jv_doc_free(d);
}

static void test_patch(void **state)
{
	struct kclient *c = C(state);
	struct jv_doc *d = jv_doc_new();
	struct kc_obj *o = NULL;
	struct kc_status st;
	struct kc_write_opts other = {.field_manager = "other"}, force = {.force = true};
	const char *merge = "{\"metadata\":{\"labels\":{\"m\":\"1\"}},\"data\":{\"k\":null}}";
	const char *smp = "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"img:2\"}]}}";
	const char *jp = "[{\"op\":\"add\",\"path\":\"/data\",\"value\":{\"j\":\"jv\"}}]";
	const char *jbad = "[{\"op\":\"test\",\"path\":\"/data/j\",\"value\":\"nope\"}]";
	const char *apply = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n"
			    "data:\n  owned: mine\n";
	const char *apply2 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n"
			     "data:\n  owned: theirs\n";
	struct jv *t;

	kc_make_ns(c, "patch");
	kc_make(c, kind_cm(), "patch", CM("p", ""));
	/* merge: a label added, a key removed by null */
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_MERGE, merge,
				  strlen(merge), NULL, &o, &st),
			 0);
	t = kc_obj_parse(o, d);
	assert_string_equal(jv_path_str(t, "metadata.labels.m"), "1");
	assert_null(jv_path(t, "data.k"));
	kc_obj_put(o);
	/* json patch */
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_JSON, jp, strlen(jp),
				  NULL, &o, &st),
			 0);
	assert_string_equal(ostr(d, o, "data.j"), "jv");
	kc_obj_put(o);
	/* a failed json-patch test is the request's fault */
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_JSON, jbad,
				  strlen(jbad), NULL, NULL, &st),
			 -KC_EINVALID);
	assert_int_equal(st.code, 422);

	/* strategic merge: a container merged by name, the other kept */
	kc_make(c, kind_pod(), "patch",
		"{\"metadata\":{\"name\":\"sp\"},\"spec\":{\"containers\":[{\"name\":\"c\","
		"\"image\":\"img:1\"},{\"name\":\"side\",\"image\":\"s:1\"}]}}");
	if (kc_patch(c, kind_pod(), "patch", "sp", NULL, KC_PATCH_STRATEGIC, smp, strlen(smp), NULL,
		     &o, &st) != 0)
		fail_msg("strategic: %d %s: %s", st.code, st.reason, st.message);
	t = kc_obj_parse(o, d);
	assert_int_equal(jv_count(jv_path(t, "spec.containers")), 2);
	assert_string_equal(jv_path_str(t, "spec.containers[0].image"), "img:2");
	assert_string_equal(jv_path_str(t, "spec.containers[1].name"), "side");
	kc_obj_put(o);

	/* apply: owned by the client's field manager */
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_APPLY, apply,
				  strlen(apply), NULL, &o, &st),
			 0);
	t = kc_obj_parse(o, d);
	assert_string_equal(jv_path_str(t, "data.owned"), "mine");
	{
		bool found = false;

		for (struct jv *m = jv_first(jv_path(t, "metadata.managedFields")); m; m = m->next)
			if (jv_is_str(jv_get(m, "manager"), "kclient-test") &&
			    jv_is_str(jv_get(m, "operation"), "Apply"))
				found = true;
		assert_true(found);
	}
	kc_obj_put(o);
	/* another manager conflicts on the field ... */
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_APPLY, apply2,
				  strlen(apply2), &other, NULL, &st),
			 -KC_ECONFLICT);
	assert_int_equal(st.code, 409);
	assert_non_null(strstr(st.message, "conflict"));
	/* ... unless it forces */
	other.force = true;
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_APPLY, apply2,
				  strlen(apply2), &other, &o, &st),
			 0);
	assert_string_equal(ostr(d, o, "data.owned"), "theirs");
	kc_obj_put(o);
	/* force with a merge patch is not sent (Kubernetes would refuse it) */
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_MERGE, merge,
				  strlen(merge), &force, NULL, &st),
			 0);
	/* bad patch body */
	assert_int_equal(
	    kc_patch(c, kind_cm(), "patch", "p", NULL, KC_PATCH_MERGE, "{", 1, NULL, NULL, &st),
	    -KC_EAPI);
	assert_int_equal(st.code, 400);
	assert_int_equal(kc_patch(c, kind_cm(), "patch", "nope", NULL, KC_PATCH_MERGE, merge,
				  strlen(merge), NULL, NULL, &st),
			 -ENOENT);
	jv_doc_free(d);
}

static void test_dry_run_and_delete_options(void **state)
{
	struct kclient *c = C(state);
	struct jv_doc *d = jv_doc_new();
	struct kc_write_opts dry = {.dry_run = true};
	struct kc_delete_opts del = KC_DELETE_OPTS_INIT;
	struct kc_obj *o = NULL;
	struct kc_status st;
	char uid[128];

	kc_make_ns(c, "dry");
	assert_int_equal(kc_create(c, kind_cm(), "dry", J(d, CM("x", "")), &dry, &o, &st), 0);
	assert_string_equal(ostr(d, o, "metadata.name"), "x");
	kc_obj_put(o);
	assert_int_equal(kc_get(c, kind_cm(), "dry", "x", &o, &st), -ENOENT);

	kc_make(c, kind_cm(), "dry", CM("y", ""));
	assert_int_equal(kc_get(c, kind_cm(), "dry", "y", &o, &st), 0);
	snprintf(uid, sizeof(uid), "%s", ostr(d, o, "metadata.uid"));
	kc_obj_put(o);
	/* a dry-run delete keeps it */
	del.dry_run = true;
	assert_int_equal(kc_delete(c, kind_cm(), "dry", "y", &del, NULL, &st), 0);
	assert_int_equal(kc_get(c, kind_cm(), "dry", "y", &o, &st), 0);
	kc_obj_put(o);
	del.dry_run = false;
	/* a uid precondition that does not hold */
	del.precondition_uid = "00000000-0000-0000-0000-000000000000";
	assert_int_equal(kc_delete(c, kind_cm(), "dry", "y", &del, NULL, &st), -KC_ECONFLICT);
	assert_int_equal(st.code, 409);
	assert_non_null(strstr(st.message, "Precondition failed"));
	/* one that does, with a grace period and a propagation policy */
	del.precondition_uid = uid;
	del.grace_seconds = 0;
	del.propagation = "Background";
	assert_int_equal(kc_delete(c, kind_cm(), "dry", "y", &del, &o, &st), 0);
	kc_obj_put(o);
	assert_int_equal(kc_get(c, kind_cm(), "dry", "y", &o, &st), -ENOENT);

	/* a pod deleted gracefully answers with its deletionTimestamp */
	kc_make(c, kind_pod(), "dry",
		"{\"metadata\":{\"name\":\"gp\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":"
		"[{\"name\":\"c\",\"image\":\"i\"}]}}");
	del = (struct kc_delete_opts)KC_DELETE_OPTS_INIT;
	assert_int_equal(kc_delete(c, kind_pod(), "dry", "gp", &del, &o, &st), 0);
	assert_string_not_equal(ostr(d, o, "metadata.deletionTimestamp"), "(null)");
	kc_obj_put(o);
	jv_doc_free(d);
}

/* deletecollection: what the selector matches goes (a pod gracefully, as one delete would
 * do it), the rest stays; a resource without the verb answers 405; bad selectors 400. */
static void test_delete_collection(void **state)
{
	struct kclient *c = C(state);
	struct kc_list_opts sel = {.label_selector = "dc=yes"};
	struct kc_status st;
	struct kc_obj *o = NULL;
	char json[256];
	int err;

	kc_make_ns(c, "dc");
	for (int i = 0; i < 4; i++) {
		snprintf(json, sizeof(json),
			 "{\"metadata\":{\"name\":\"c%d\",\"labels\":{\"dc\":\"%s\"}}}", i,
			 i < 3 ? "yes" : "no");
		kc_make(c, kind_cm(), "dc", json);
	}
	kc_make(c, kind_pod(), "dc",
		"{\"metadata\":{\"name\":\"p\",\"labels\":{\"dc\":\"yes\"}},\"spec\":{"
		"\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
	assert_int_equal(kc_delete_collection(c, kind_cm(), "dc", &sel, NULL, &st), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(json, sizeof(json), "c%d", i);
		err = kc_get(c, kind_cm(), "dc", json, &o, &st);
		assert_int_equal(err, i < 3 ? -ENOENT : 0);
		kc_obj_put(o);
	}
	assert_int_equal(kc_delete_collection(c, kind_pod(), "dc", NULL, NULL, &st), 0);
	assert_int_equal(kc_get(c, kind_pod(), "dc", "p", &o, &st), 0);
	assert_non_null(strstr(o->json, "deletionTimestamp"));
	kc_obj_put(o);
	/* namespaces serve no deletecollection */
	err = kc_delete_collection(c, kind_ns(), NULL, NULL, NULL, &st);
	assert_int_equal(err, -KC_EAPI);
	assert_int_equal(st.code, 405);
	sel.label_selector = "a in (";
	err = kc_delete_collection(c, kind_cm(), "dc", &sel, NULL, &st);
	assert_int_equal(st.code, 400);
	assert_int_equal(kc_get(c, kind_cm(), "dc", "c3", &o, &st), 0);
	kc_obj_put(o);
}

static void test_list_pages(void **state)
{
	struct kclient *c = C(state);
	struct kc_list_opts lo = {.limit = 3};
	struct kc_list l;
	struct kc_status st;
	char json[256], seen[8] = {0};
	size_t total = 0, pages = 0;
	uint64_t rv = 0;
	struct jv_doc *d = jv_doc_new();

	kc_make_ns(c, "pages");
	for (int i = 0; i < 7; i++) {
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"c%d\"}}", i);
		kc_make(c, kind_cm(), "pages", json);
	}
	do {
		assert_int_equal(kc_list(c, kind_cm(), "pages", &lo, &l, &st), 0);
		assert_true(l.count <= 3);
		if (!rv)
			rv = l.rv;
		assert_true(l.rv > 0);
		for (size_t i = 0; i < l.count; i++) {
			const char *n = ostr(d, l.items[i], "metadata.name");

			assert_true(l.items[i]->rv > 0);
			assert_int_equal(n[0], 'c');
			assert_false(seen[n[1] - '0']); /* no object twice */
			seen[n[1] - '0'] = 1;
		}
		total += l.count;
		pages++;
		free((char *)lo.continue_token);
		lo.continue_token = l.next ? strdup(l.next) : NULL;
		kc_list_free(&l);
	} while (lo.continue_token);
	assert_int_equal(total, 7);
	assert_int_equal(pages, 3);
	/* all namespaces; everything in one page */
	lo = (struct kc_list_opts){0};
	assert_int_equal(kc_list(c, kind_cm(), NULL, &lo, &l, &st), 0);
	assert_true(l.count >= 7);
	assert_null(l.next);
	kc_list_free(&l);
	/* a bad continue token */
	lo.continue_token = "not-a-token";
	assert_true(kc_list(c, kind_cm(), "pages", &lo, &l, &st) < 0);
	assert_int_equal(st.code, 400);
	assert_int_equal(l.count, 0);
	jv_doc_free(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names of a list's items, sorted and joined by ','. */
static void names_of(struct kclient *c, const struct kc_list_opts *lo, char *out, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	struct kc_list l;
	const char *names[64];

	assert_int_equal(kc_list(c, kind_cm(), "sel", lo, &l, &st), 0);
	assert_true(l.count < 64);
	for (size_t i = 0; i < l.count; i++)
		names[i] = ostr(d, l.items[i], "metadata.name");
	qsort(names, l.count, sizeof(*names), cmp_str);
	out[0] = 0;
	for (size_t i = 0; i < l.count; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "", names[i]);
	kc_list_free(&l);
	jv_doc_free(d);
}

static void test_selectors(void **state)
{
	struct kclient *c = C(state);
	struct kc_list_opts lo = {0};
	struct kc_status st;
	struct kc_list l;
	char got[512];

	kc_make_ns(c, "sel");
	kc_make(c, kind_cm(), "sel",
		"{\"metadata\":{\"name\":\"a\",\"labels\":{\"env\":\"a\","
		"\"tier\":\"web\"}}}");
	kc_make(c, kind_cm(), "sel",
		"{\"metadata\":{\"name\":\"b\",\"labels\":{\"env\":\"b\","
		"\"tier\":\"db\"}}}");
	kc_make(c, kind_cm(), "sel", "{\"metadata\":{\"name\":\"c\",\"labels\":{\"env\":\"c\"}}}");
	kc_make(c, kind_cm(), "sel", "{\"metadata\":{\"name\":\"d\"}}");

	lo.label_selector = "env in (a,b)";
	names_of(c, &lo, got, sizeof(got));
	assert_string_equal(got, "a,b");
	lo.label_selector = "tier!=web";
	names_of(c, &lo, got, sizeof(got));
	assert_string_equal(got, "b,c,d");
	lo.label_selector = "env in (a, b, c),tier!=db";
	names_of(c, &lo, got, sizeof(got));
	assert_string_equal(got, "a,c");
	lo.label_selector = "!tier";
	names_of(c, &lo, got, sizeof(got));
	assert_string_equal(got, "c,d");
	lo.label_selector = NULL;
	lo.field_selector = "metadata.name!=b,metadata.name!=c";
	names_of(c, &lo, got, sizeof(got));
	assert_string_equal(got, "a,d");
	lo.label_selector = "env notin (b)";
	lo.field_selector = "metadata.name!=a";
	names_of(c, &lo, got, sizeof(got));
	assert_string_equal(got, "c,d");
	/* a bad selector is the server's 400 */
	lo.label_selector = "env in (a";
	lo.field_selector = NULL;
	assert_int_equal(kc_list(c, kind_cm(), "sel", &lo, &l, &st), -KC_EAPI);
	assert_int_equal(st.code, 400);
}

static void test_bind_and_status(void **state)
{
	struct kclient *c = C(state);
	struct jv_doc *d = jv_doc_new();
	struct kc_obj *o = NULL;
	struct kc_status st;
	struct jv *t;
	char uid[128];

	kc_make_ns(c, "bind");
	kc_make(c, kind_pod(), "bind",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
		"\"image\":\"i\"}]}}");
	assert_int_equal(kc_get(c, kind_pod(), "bind", "p", &o, &st), 0);
	assert_string_equal(ostr(d, o, "spec.nodeName"), "(null)");
	snprintf(uid, sizeof(uid), "%s", ostr(d, o, "metadata.uid"));
	kc_obj_put(o);

	assert_int_equal(kc_bind(c, "bind", "p", uid, "node-1", &st), 0);
	assert_int_equal(kc_get(c, kind_pod(), "bind", "p", &o, &st), 0);
	t = kc_obj_parse(o, d);
	assert_string_equal(jv_path_str(t, "spec.nodeName"), "node-1");
	assert_string_equal(jv_path_str(t, "status.conditions[0].type"), "PodScheduled");
	kc_obj_put(o);
	/* a bound pod: conflict, with Kubernetes' words */
	assert_int_equal(kc_bind(c, "bind", "p", uid, "node-2", &st), -KC_ECONFLICT);
	assert_int_equal(st.code, 409);
	assert_non_null(strstr(st.message, "is already assigned to node \"node-1\""));
	assert_int_equal(kc_bind(c, "bind", "nope", NULL, "node-1", &st), -ENOENT);
	assert_int_equal(kc_bind(c, "bind", "p", NULL, "", &st), -EINVAL);

	/* the status subresource */
	assert_int_equal(kc_get(c, kind_pod(), "bind", "p", &o, &st), 0);
	t = kc_obj_parse(o, d);
	jv_set(d, jv_obj_at(d, t, "status"), "phase", jv_new_strz(d, "Running"));
	kc_obj_put(o);
	assert_int_equal(kc_update(c, kind_pod(), "bind", "status", t, NULL, &o, &st), 0);
	assert_string_equal(ostr(d, o, "status.phase"), "Running");
	kc_obj_put(o);
	jv_doc_free(d);
}

static void test_cluster_scoped(void **state)
{
	struct kclient *c = C(state);
	struct jv_doc *d = jv_doc_new();
	struct kc_obj *o = NULL;
	struct kc_status st;
	struct kc_list l;

	/* a namespace given for a cluster-scoped kind is not part of the path */
	assert_int_equal(kc_create(c, kind_ns(), "ignored",
				   J(d, "{\"metadata\":{\"name\":\"cs\"}}"), NULL, NULL, &st),
			 0);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "cs", &o, &st), 0);
	assert_string_equal(ostr(d, o, "metadata.name"), "cs");
	kc_obj_put(o);
	assert_int_equal(kc_list(c, kind_ns(), NULL, NULL, &l, &st), 0);
	assert_true(l.count >= 2); /* default, kube-system, cs ... */
	kc_list_free(&l);
	/* a non-core group */
	assert_int_equal(
	    kc_create(c, k8s_kind_find("apps/v1", "Deployment"), "cs",
		      J(d, "{\"metadata\":{\"name\":\"dep\"},\"spec\":{\"selector\":"
			   "{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":"
			   "{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{"
			   "\"name\":\"c\",\"image\":\"i\"}]}}}}"),
		      NULL, &o, &st),
	    0);
	assert_string_equal(ostr(d, o, "apiVersion"), "apps/v1");
	kc_obj_put(o);
	jv_doc_free(d);
}

static void test_transport_errors(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct kclient *c;
	struct kc_status st;
	struct kc_obj *o;
	struct kc_stats s;
	char base[64];

	(void)state;
	/* a port nobody listens on: bound, never listened */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	c = kc_plain_client(base);
	assert_int_equal(kc_get(c, kind_cm(), "default", "x", &o, &st), -ECONNREFUSED);
	assert_int_equal(st.code, 0);
	assert_non_null(strstr(st.message, base));
	kclient_stats(c, &s);
	assert_int_equal(s.requests, 1);
	assert_int_equal(s.errors, 1);
	kclient_free(c);
	close(fd);
	assert_null(kclient_http_new(&(struct kc_config){0}));
	kclient_free(NULL);
}

/* ---- many threads, one client ---- */

struct par {
	struct kclient *c;
	int id, ok;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	struct kc_status st;

	for (int i = 0; i < 40; i++) {
		struct kc_obj *o = NULL;
		char name[32];

		snprintf(name, sizeof(name), "m%d", (p->id + i) % 4);
		if (kc_get(p->c, kind_cm(), "par", name, &o, &st) == 0)
			p->ok++;
		kc_obj_put(o);
	}
	return NULL;
}

/* Client sides of TCP connections to port (any state, TIME_WAIT included). */
static int connections_to(unsigned port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned lp, rp, a, b;

		if (sscanf(line, " %*d: %x:%x %x:%x", &a, &lp, &b, &rp) != 4)
			continue;
		if (rp == port) /* the client's side */
			n++;
	}
	fclose(f);
	return n;
}

static void test_parallel_calls_reuse_connections(void **state)
{
	struct ksrv *k = *state;
	struct par p[8];
	pthread_t th[8];
	int before, after, ok = 0;

	kc_make_ns(k->c, "par");
	for (int i = 0; i < 4; i++) {
		char json[128];

		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"m%d\"}}", i);
		kc_make(k->c, kind_cm(), "par", json);
	}
	before = connections_to(api_server_port(k->t.s));
	for (int i = 0; i < 8; i++) {
		p[i] = (struct par){.c = k->c, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, par_main, &p[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += p[i].ok;
	}
	assert_int_equal(ok, 8 * 40);
	after = connections_to(api_server_port(k->t.s));
	/* 320 calls over at most one connection per thread (plus the ones before): a client
	 * that connected per call would leave hundreds here (TIME_WAIT included) */
	assert_true(after - before <= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_obj),
	    cmocka_unit_test(test_error_mapping),
	    cmocka_unit_test(test_crud),
	    cmocka_unit_test(test_patch),
	    cmocka_unit_test(test_dry_run_and_delete_options),
	    cmocka_unit_test(test_delete_collection),
	    cmocka_unit_test(test_list_pages),
	    cmocka_unit_test(test_selectors),
	    cmocka_unit_test(test_bind_and_status),
	    cmocka_unit_test(test_cluster_scoped),
	    cmocka_unit_test(test_transport_errors),
	    cmocka_unit_test(test_parallel_calls_reuse_connections),
	};

	return cmocka_run_group_tests(tests, ksrv_group_setup, ksrv_group_teardown);
}
