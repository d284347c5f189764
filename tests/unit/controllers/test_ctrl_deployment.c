/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctrl_deployment: the Deployment controller with the ReplicaSet controller, the test
 * playing kubelet (new pods made Ready as they appear, deleted pods finished): the new
 * ReplicaSet's name, labels and annotations; status and conditions as kube writes them; a
 * rolling update watched pod by pod never above replicas + maxSurge nor below replicas -
 * maxUnavailable available (numbers and percentages); Recreate never runs two templates at
 * once; pause and resume; rollback as kubectl undo does it; the progress deadline; cleanup
 * past revisionHistoryLimit; proportional scaling in the middle of a rollout; Events; the
 * claim of ReplicaSets (adopt, release, another's left alone, no adoption by a Deployment
 * being deleted or gone from the server while the cache still has it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl_workload.h"
#include "deployment.h"

#define NS "default"

/* Run the kubelet stand-in over sel until expr holds. */
#define KUBELET_UNTIL(e, sel, expr)                               \
	({                                                        \
		bool ok__ = false;                                \
		for (uint64_t end__ = mono_ms() + KC_WAIT_MS;;) { \
			cw_kubelet_step((e), NS, (sel), "n1");    \
			if ((expr)) {                             \
				ok__ = true;                      \
				break;                            \
			}                                         \
			if (mono_ms() >= end__)                   \
				break;                            \
			usleep(10000);                            \
		}                                                 \
		ok__;                                             \
	})

static void make_dep(struct cenv *e, const char *name, int replicas, const char *spec_extra,
		     const char *image)
{
	char json[4096];

	snprintf(
	    json, sizeof(json),
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\"},"
	    "\"spec\":{\"replicas\":%d,%s\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
	    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":"
	    "[{\"name\":\"c\",\"image\":\"%s\"}]}}}}",
	    name, replicas, spec_extra ? spec_extra : "", name, name, image);
	cenv_create(e, kind_deploy(), NS, json);
}

static int64_t dint(struct cenv *e, const char *name, const char *path)
{
	return cw_int(e, kind_deploy(), NS, name, path);
}

static const char *dstr(struct cenv *e, const char *name, const char *path, char *buf)
{
	return cw_str(e, kind_deploy(), NS, name, path, buf, 512);
}

/* kube's DeploymentComplete, as kubectl rollout status reads it */
static bool done(struct cenv *e, const char *name, int replicas)
{
	int64_t g = dint(e, name, "metadata.generation");

	return dint(e, name, "status.observedGeneration") == g &&
	       dint(e, name, "status.updatedReplicas") == replicas &&
	       dint(e, name, "status.replicas") == replicas &&
	       dint(e, name, "status.availableReplicas") == replicas;
}

/* The condition of type's field into buf. */
static const char *cond(struct cenv *e, const char *name, const char *type, const char *field,
			char *buf)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, kind_deploy(), NS, name);

	buf[0] = 0;
	for (const struct jv *c = jv_first(jv_path(o, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			snprintf(buf, 512, "%s", jv_path_str(c, field) ?: "");
	jv_doc_free(d);
	return buf;
}

/* The ReplicaSet of the Deployment with this revision annotation (name into buf; "" if
 * none); *replicas its spec.replicas. */
static const char *rs_of_rev(struct cenv *e, const char *app, const char *rev, char *buf,
			     int64_t *replicas)
{
	struct jv_doc *d = jv_doc_new();
	char sel[128];
	size_t n;
	struct jv **rss;

	snprintf(sel, sizeof(sel), "app=%s", app);
	rss = cenv_list(e, d, kind_rs(), NS, sel, &n);
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		if (jv_is_str(
			jv_path(rss[i], "metadata.annotations[deployment.kubernetes.io/revision]"),
			rev)) {
			snprintf(buf, 512, "%s", jv_path_str(rss[i], "metadata.name"));
			if (replicas)
				jv_path_int(rss[i], "spec.replicas", replicas);
		}
	jv_doc_free(d);
	return buf;
}

static void set_image(struct cenv *e, const char *name, const char *image)
{
	char p[512];

	snprintf(p, sizeof(p),
		 "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
		 "\"%s\"}]}}}}",
		 image);
	cw_patch(e, kind_deploy(), NS, name, p);
}

static size_t count_rs(struct cenv *e, const char *app)
{
	char sel[128];

	snprintf(sel, sizeof(sel), "app=%s", app);
	return cenv_count(e, kind_rs(), NS, sel);
}

/* ---- the new ReplicaSet, status, conditions ---- */

static void test_create(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	struct jv *dep, *rs, **pods;
	char rsname[512], buf[512], hash[16], hash2[16];
	int64_t coll = 1;
	size_t n;

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	make_dep(&e, "web", 3, NULL, "nginx:1");
	assert_true(WAIT_UNTIL(rs_of_rev(&e, "web", "1", rsname, NULL)[0], KC_WAIT_MS));
	dep = cenv_get(&e, d, kind_deploy(), NS, "web");
	rs = cenv_get(&e, d, kind_rs(), NS, rsname);
	/* <deployment>-<pod-template-hash>, the hash in labels, selector and template */
	dp_template_hash(jv_path(dep, "spec.template"), NULL, hash);
	snprintf(buf, sizeof(buf), "web-%s", hash);
	assert_string_equal(rsname, buf);
	assert_true(strlen(hash) >= 1 && strlen(hash) <= 10);
	assert_int_equal(strspn(hash, "456789bcdf"), strlen(hash));
	dp_template_hash(jv_path(dep, "spec.template"), &coll, hash2);
	assert_string_not_equal(hash, hash2);
	assert_string_equal(jv_path_str(rs, "metadata.labels[pod-template-hash]"), hash);
	assert_string_equal(jv_path_str(rs, "spec.selector.matchLabels[pod-template-hash]"), hash);
	assert_string_equal(jv_path_str(rs, "spec.template.metadata.labels[pod-template-hash]"),
			    hash);
	assert_string_equal(jv_path_str(rs, "metadata.ownerReferences[0].kind"), "Deployment");
	assert_string_equal(jv_path_str(rs, "metadata.ownerReferences[0].uid"),
			    jv_path_str(dep, "metadata.uid"));
	assert_string_equal(
	    jv_path_str(rs, "metadata.annotations[deployment.kubernetes.io/desired-replicas]"),
	    "3");
	/* 25% of 3 rounded up */
	assert_string_equal(
	    jv_path_str(rs, "metadata.annotations[deployment.kubernetes.io/max-replicas]"), "4");
	assert_true(KUBELET_UNTIL(&e, "app=web", done(&e, "web", 3)));
	assert_int_equal(dint(&e, "web", "status.readyReplicas"), 3);
	assert_int_equal(dint(&e, "web", "status.unavailableReplicas"), -1);
	assert_string_equal(
	    dstr(&e, "web", "metadata.annotations[deployment.kubernetes.io/revision]", buf), "1");
	assert_string_equal(cond(&e, "web", "Available", "status", buf), "True");
	assert_string_equal(cond(&e, "web", "Available", "reason", buf),
			    "MinimumReplicasAvailable");
	assert_string_equal(cond(&e, "web", "Available", "message", buf),
			    "Deployment has minimum availability.");
	assert_true(WAIT_UNTIL(
	    strcmp(cond(&e, "web", "Progressing", "reason", buf), "NewReplicaSetAvailable") == 0,
	    KC_WAIT_MS));
	snprintf(hash2, sizeof(hash2), "%s", "");
	{
		char want[600];

		snprintf(want, sizeof(want), "ReplicaSet \"%s\" has successfully progressed.",
			 rsname);
		assert_string_equal(cond(&e, "web", "Progressing", "message", buf), want);
		snprintf(want, sizeof(want), "Scaled up replica set %s to 3", rsname);
		assert_true(WAIT_UNTIL(cw_event(&e, NS, "ScalingReplicaSet", "web", want) == 1,
				       KC_WAIT_MS));
	}
	pods = cenv_list(&e, d, kind_pod(), NS, "app=web", &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(jv_path_str(pods[i], "metadata.labels[pod-template-hash]"),
				    hash);
	jv_doc_free(d);
	cenv_stop(&e);
}

/* A ReplicaSet of someone else already has the name the template's hash gives: the
 * collision is counted in status.collisionCount and the hash taken with it. */
static void test_hash_collision(void **state)
{
	struct cenv e;
	struct jv_doc *d = jv_doc_new();
	struct jv *dep;
	char hash[16], hash1[16], name[64], buf[512], json[1024];
	int64_t one = 1;

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	/* paused, a Deployment makes no ReplicaSet: its template (as the server defaulted it)
	 * gives the hash it will use */
	make_dep(&e, "col", 1, "\"paused\":true,", "app:v1");
	dep = cenv_get(&e, d, kind_deploy(), NS, "col");
	dp_template_hash(jv_path(dep, "spec.template"), NULL, hash);
	dp_template_hash(jv_path(dep, "spec.template"), &one, hash1);
	snprintf(name, sizeof(name), "col-%s", hash);
	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"other\":\"x\"}},\"spec\":"
		 "{\"replicas\":0,\"selector\":{\"matchLabels\":{\"other\":\"x\"}},\"template\":"
		 "{\"metadata\":{\"labels\":{\"other\":\"x\"}},\"spec\":{\"containers\":[{"
		 "\"name\":\"c\",\"image\":\"else\"}]}}}}",
		 name);
	cenv_create(&e, kind_rs(), NS, json);
	assert_int_equal(count_rs(&e, "col"), 0);
	cw_patch(&e, kind_deploy(), NS, "col", "{\"spec\":{\"paused\":false}}");
	snprintf(name, sizeof(name), "col-%s", hash1);
	assert_true(KUBELET_UNTIL(&e, "app=col",
				  dint(&e, "col", "status.collisionCount") == 1 &&
				      strcmp(rs_of_rev(&e, "col", "1", buf, NULL), name) == 0 &&
				      done(&e, "col", 1)));
	/* the other one is left as it was: not adopted, not scaled */
	snprintf(name, sizeof(name), "col-%s", hash);
	assert_string_equal(
	    cw_str(&e, kind_rs(), NS, name, "metadata.ownerReferences[0].uid", buf, 512), "");
	assert_int_equal(cw_int(&e, kind_rs(), NS, name, "spec.replicas"), 0);
	jv_doc_free(d);
	cenv_stop(&e);
}

/* ---- rolling update ---- */

/* v1 to v2 watched pod by pod: never more than replicas + surge pods, never fewer than
 * replicas - unavailable available; old ReplicaSet scaled to 0 with its Events. */
static void rolling(const char *strategy, int replicas, int surge, int unavail)
{
	struct cenv e;
	struct cw_watch w;
	char spec[640], r1[512], r2[512], buf[512];
	int64_t n1 = -1;

	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	snprintf(spec, sizeof(spec),
		 "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":%s},", strategy);
	make_dep(&e, "roll", replicas, spec, "app:v1");
	assert_true(KUBELET_UNTIL(&e, "app=roll", done(&e, "roll", replicas)));
	cw_watch_start(&e, &w, NS, "app=roll");
	assert_true(WAIT_UNTIL(({
				       pthread_mutex_lock(&w.lock);
				       bool b = w.avail == replicas;
				       pthread_mutex_unlock(&w.lock);
				       b;
			       }),
			       KC_WAIT_MS));
	cw_watch_reset(&w);
	set_image(&e, "roll", "app:v2");
	assert_true(KUBELET_UNTIL(&e, "app=roll",
				  rs_of_rev(&e, "roll", "2", r2, NULL)[0] &&
				      done(&e, "roll", replicas) &&
				      rs_of_rev(&e, "roll", "1", r1, &n1)[0] && n1 == 0 &&
				      cw_live_pods(&e, NS, "app=roll") == (size_t)replicas));
	pthread_mutex_lock(&w.lock);
	if (w.max_live > replicas + surge || w.min_avail < replicas - unavail)
		fail_msg("%s: pods %d at most (allowed %d), available %d at least (allowed %d)",
			 strategy, w.max_live, replicas + surge, w.min_avail, replicas - unavail);
	/* a rollout that took no surge or no unavailability would not test the bounds */
	assert_true(w.max_live > replicas || w.min_avail < replicas);
	pthread_mutex_unlock(&w.lock);
	cw_watch_stop(&w);
	snprintf(spec, sizeof(spec), "Scaled down replica set %s to 0 from", r1);
	assert_true(
	    WAIT_UNTIL(cw_event(&e, NS, "ScalingReplicaSet", "roll", spec) == 1, KC_WAIT_MS));
	snprintf(spec, sizeof(spec), "Scaled up replica set %s to", r2);
	assert_true(cw_event(&e, NS, "ScalingReplicaSet", "roll", spec) >= 1);
	assert_string_equal(
	    dstr(&e, "roll", "metadata.annotations[deployment.kubernetes.io/revision]", buf), "2");
	cenv_stop(&e);
}

static void test_rolling_numbers(void **state)
{
	(void)state;
	rolling("{\"maxSurge\":2,\"maxUnavailable\":1}", 5, 2, 1);
}

static void test_rolling_percent(void **state)
{
	(void)state;
	/* of 4: 50% surge rounds up to 2, 30% unavailable down to 1 */
	rolling("{\"maxSurge\":\"50%\",\"maxUnavailable\":\"30%\"}", 4, 2, 1);
}

static void test_rolling_no_unavailable(void **state)
{
	(void)state;
	rolling("{\"maxSurge\":1,\"maxUnavailable\":0}", 3, 1, 0);
}

/* ---- recreate ---- */

static void test_recreate(void **state)
{
	struct cenv e;
	struct cw_watch w;
	char r1[512], r2[512];
	int64_t n1 = -1;

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	make_dep(&e, "rec", 3, "\"strategy\":{\"type\":\"Recreate\"},", "app:v1");
	assert_true(KUBELET_UNTIL(&e, "app=rec", done(&e, "rec", 3)));
	cw_watch_start(&e, &w, NS, "app=rec");
	set_image(&e, "rec", "app:v2");
	assert_true(KUBELET_UNTIL(&e, "app=rec",
				  rs_of_rev(&e, "rec", "2", r2, NULL)[0] && done(&e, "rec", 3) &&
				      rs_of_rev(&e, "rec", "1", r1, &n1)[0] && n1 == 0 &&
				      cenv_count(&e, kind_pod(), NS, "app=rec") == 3));
	pthread_mutex_lock(&w.lock);
	/* old pods all gone (not only being deleted) before any new one */
	assert_int_equal(w.max_hashes, 1);
	pthread_mutex_unlock(&w.lock);
	cw_watch_stop(&w);
	cenv_stop(&e);
}

/* ---- pause, resume ---- */

static void test_pause_resume(void **state)
{
	struct cenv e;
	char buf[512], r1[512];
	int64_t n = 0;

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	make_dep(&e, "pz", 2, NULL, "app:v1");
	assert_true(KUBELET_UNTIL(&e, "app=pz", done(&e, "pz", 2)));
	cw_patch(&e, kind_deploy(), NS, "pz", "{\"spec\":{\"paused\":true}}");
	assert_true(WAIT_UNTIL(
	    strcmp(cond(&e, "pz", "Progressing", "reason", buf), "DeploymentPaused") == 0,
	    KC_WAIT_MS));
	assert_string_equal(cond(&e, "pz", "Progressing", "status", buf), "Unknown");
	assert_string_equal(cond(&e, "pz", "Progressing", "message", buf), "Deployment is paused");
	/* paused: a template change makes no ReplicaSet; a scale still scales */
	set_image(&e, "pz", "app:v2");
	cw_patch(&e, kind_deploy(), NS, "pz", "{\"spec\":{\"replicas\":3}}");
	assert_true(KUBELET_UNTIL(&e, "app=pz",
				  rs_of_rev(&e, "pz", "1", r1, &n)[0] && n == 3 &&
				      dint(&e, "pz", "status.availableReplicas") == 3 &&
				      dint(&e, "pz", "status.observedGeneration") ==
					  dint(&e, "pz", "metadata.generation")));
	assert_int_equal(count_rs(&e, "pz"), 1);
	/* resumed: the rollout goes on */
	cw_patch(&e, kind_deploy(), NS, "pz", "{\"spec\":{\"paused\":false}}");
	assert_true(KUBELET_UNTIL(&e, "app=pz",
				  rs_of_rev(&e, "pz", "2", buf, NULL)[0] && done(&e, "pz", 3)));
	assert_true(WAIT_UNTIL(
	    strcmp(cond(&e, "pz", "Progressing", "reason", buf), "NewReplicaSetAvailable") == 0,
	    KC_WAIT_MS));
	cenv_stop(&e);
}

/* ---- rollback as kubectl rollout undo ---- */

/* kubectl's DeploymentRollbacker: the ReplicaSet's template without pod-template-hash
 * replaces the Deployment's; the annotations become the Deployment's own kube ones
 * (revision, last-applied...) plus the ReplicaSet's others (its change-cause); a JSON patch. */
static bool kube_annotation(const char *key)
{
	return strncmp(key, "deployment.kubernetes.io/", 25) == 0 ||
	       strcmp(key, "kubectl.kubernetes.io/last-applied-configuration") == 0 ||
	       strcmp(key, "deprecated.deployment.rollback.to") == 0;
}

static void undo_to(struct cenv *e, const char *name, const char *rsname)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *rs = cenv_get(e, d, kind_rs(), NS, rsname);
	struct jv *dep = cenv_get(e, d, kind_deploy(), NS, name);
	struct jv *tmpl = jv_path(rs, "spec.template"), *ann = jv_new(d, JV_OBJECT), *patch;
	char *text;
	struct kc_status st;

	jv_del(jv_path(tmpl, "metadata.labels"), "pod-template-hash");
	for (const struct jv *a = jv_first(jv_path(dep, "metadata.annotations")); a; a = a->next)
		if (kube_annotation(a->key))
			jv_set(d, ann, a->key, jv_copy(d, a));
	for (const struct jv *a = jv_first(jv_path(rs, "metadata.annotations")); a; a = a->next)
		if (!kube_annotation(a->key))
			jv_set(d, ann, a->key, jv_copy(d, a));
	patch = Jf(d, "[{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":null},"
		      "{\"op\":\"replace\",\"path\":\"/metadata/annotations\",\"value\":null}]");
	jv_set(d, jv_at(patch, 0), "value", jv_copy(d, tmpl));
	jv_set(d, jv_at(patch, 1), "value", ann);
	text = jv_to_json(patch, NULL);
	assert_non_null(text);
	if (kc_patch(e->k.c, kind_deploy(), NS, name, NULL, KC_PATCH_JSON, text, strlen(text), NULL,
		     NULL, &st))
		fail_msg("undo: %s", st.message);
	free(text);
	jv_doc_free(d);
}

static void test_rollback(void **state)
{
	struct cenv e;
	char r1[512], r2[512], buf[512];
	int64_t n = -1;

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	make_dep(&e, "rb", 2, NULL, "app:v1");
	assert_true(KUBELET_UNTIL(&e, "app=rb", done(&e, "rb", 2)));
	cw_patch(&e, kind_deploy(), NS, "rb",
		 "{\"metadata\":{\"annotations\":{\"kubernetes.io/change-cause\":\"to v2\"}},"
		 "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
		 "\"app:v2\"}]}}}}");
	assert_true(KUBELET_UNTIL(&e, "app=rb",
				  rs_of_rev(&e, "rb", "2", r2, NULL)[0] && done(&e, "rb", 2)));
	/* the change-cause travels to the new ReplicaSet, kube's own annotations do not */
	assert_string_equal(cw_str(&e, kind_rs(), NS, r2,
				   "metadata.annotations[kubernetes.io/change-cause]", buf, 512),
			    "to v2");
	assert_non_null(rs_of_rev(&e, "rb", "1", r1, NULL)[0] ? r1 : NULL);
	undo_to(&e, "rb", r1);
	/* the old ReplicaSet is the new one again, as revision 3 with its history */
	assert_true(KUBELET_UNTIL(&e, "app=rb",
				  strcmp(rs_of_rev(&e, "rb", "3", buf, &n), r1) == 0 && n == 2 &&
				      done(&e, "rb", 2) && cw_live_pods(&e, NS, "app=rb") == 2));
	assert_string_equal(
	    cw_str(&e, kind_rs(), NS, r1,
		   "metadata.annotations[deployment.kubernetes.io/revision-history]", buf, 512),
	    "1");
	assert_string_equal(
	    dstr(&e, "rb", "metadata.annotations[deployment.kubernetes.io/revision]", buf), "3");
	assert_int_equal(count_rs(&e, "rb"), 2);
	assert_true(WAIT_UNTIL(cw_int(&e, kind_rs(), NS, r2, "spec.replicas") == 0, KC_WAIT_MS));
	assert_string_equal(dstr(&e, "rb", "spec.template.spec.containers[0].image", buf),
			    "app:v1");
	cenv_stop(&e);
}

/* ---- progress deadline ---- */

static void test_progress_deadline(void **state)
{
	struct cenv e;
	char buf[512], rs[512], want[600];

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	/* no kubelet: the pods never become ready */
	make_dep(&e, "pd", 2, "\"progressDeadlineSeconds\":2,", "app:v1");
	assert_true(WAIT_UNTIL(rs_of_rev(&e, "pd", "1", rs, NULL)[0], KC_WAIT_MS));
	assert_true(WAIT_UNTIL(
	    strcmp(cond(&e, "pd", "Progressing", "reason", buf), "ProgressDeadlineExceeded") == 0,
	    KC_WAIT_MS));
	assert_string_equal(cond(&e, "pd", "Progressing", "status", buf), "False");
	snprintf(want, sizeof(want), "ReplicaSet \"%s\" has timed out progressing.", rs);
	assert_string_equal(cond(&e, "pd", "Progressing", "message", buf), want);
	assert_string_equal(cond(&e, "pd", "Available", "status", buf), "False");
	assert_string_equal(cond(&e, "pd", "Available", "reason", buf),
			    "MinimumReplicasUnavailable");
	assert_string_equal(cond(&e, "pd", "Available", "message", buf),
			    "Deployment does not have minimum availability.");
	assert_int_equal(dint(&e, "pd", "status.unavailableReplicas"), 2);
	cenv_stop(&e);
}

/* ---- revision history ---- */

static void test_history_cleanup(void **state)
{
	struct cenv e;
	char buf[512];

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	make_dep(&e, "hc", 1, "\"revisionHistoryLimit\":1,", "app:v1");
	assert_true(KUBELET_UNTIL(&e, "app=hc", done(&e, "hc", 1)));
	set_image(&e, "hc", "app:v2");
	assert_true(KUBELET_UNTIL(&e, "app=hc",
				  rs_of_rev(&e, "hc", "2", buf, NULL)[0] && done(&e, "hc", 1)));
	set_image(&e, "hc", "app:v3");
	assert_true(KUBELET_UNTIL(&e, "app=hc",
				  rs_of_rev(&e, "hc", "3", buf, NULL)[0] && done(&e, "hc", 1)));
	/* revision 1 goes, 2 (one old ReplicaSet) stays */
	assert_true(KUBELET_UNTIL(&e, "app=hc", count_rs(&e, "hc") == 2));
	assert_string_equal(rs_of_rev(&e, "hc", "1", buf, NULL), "");
	assert_string_not_equal(rs_of_rev(&e, "hc", "2", buf, NULL), "");
	cenv_stop(&e);
}

/* ---- proportional scaling ---- */

/* In the middle of a rollout (new pods never ready) the Deployment goes from 10 to 20:
 * kube's proportions give the old ReplicaSet 14 and the new one 9. */
static void test_proportional(void **state)
{
	struct cenv e;
	char r1[512], r2[512], sel[600], buf[512];
	int64_t n1 = -1, n2 = -1;

	(void)state;
	cenv_start(&e, "replicaset,deployment", NULL, NULL);
	make_dep(&e, "pr", 10,
		 "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":3,"
		 "\"maxUnavailable\":2}},",
		 "app:v1");
	assert_true(KUBELET_UNTIL(&e, "app=pr", done(&e, "pr", 10)));
	rs_of_rev(&e, "pr", "1", r1, NULL);
	snprintf(sel, sizeof(sel), "app=pr,pod-template-hash=%s",
		 cw_str(&e, kind_rs(), NS, r1, "metadata.labels[pod-template-hash]", buf, 512));
	set_image(&e, "pr", "app:v2");
	/* only the old pods are run: the rollout stops at old 8, new 5 (10 + 3 surge) */
	assert_true(
	    KUBELET_UNTIL(&e, sel,
			  rs_of_rev(&e, "pr", "2", r2, &n2)[0] && n2 == 5 &&
			      rs_of_rev(&e, "pr", "1", r1, &n1)[0] && n1 == 8 &&
			      cw_int(&e, kind_rs(), NS, r1, "status.availableReplicas") == 8));
	cw_patch(&e, kind_deploy(), NS, "pr", "{\"spec\":{\"replicas\":20}}");
	assert_true(KUBELET_UNTIL(&e, sel,
				  rs_of_rev(&e, "pr", "2", r2, &n2)[0] && n2 == 9 &&
				      rs_of_rev(&e, "pr", "1", r1, &n1)[0] && n1 == 14));
	assert_string_equal(
	    cw_str(&e, kind_rs(), NS, r1,
		   "metadata.annotations[deployment.kubernetes.io/desired-replicas]", buf, 512),
	    "20");
	assert_string_equal(cw_str(&e, kind_rs(), NS, r2,
				   "metadata.annotations[deployment.kubernetes.io/max-replicas]",
				   buf, 512),
			    "23");
	snprintf(sel, sizeof(sel), "Scaled up replica set %s to 14 from 8", r1);
	assert_true(WAIT_UNTIL(cw_event(&e, NS, "ScalingReplicaSet", "pr", sel) == 1, KC_WAIT_MS));
	cenv_stop(&e);
}

/* ---- claiming ReplicaSets ---- */

/* A ReplicaSet of app's selector and template (image img); owner_refs JSON (may be NULL). */
static void make_rs_of(struct cenv *e, const char *name, const char *app, const char *img,
		       const char *owner_refs)
{
	char json[2048];

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}%s%s},\"spec\":"
		 "{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"template\":"
		 "{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{"
		 "\"name\":\"c\",\"image\":\"%s\"}]}}}}",
		 name, app, owner_refs ? ",\"ownerReferences\":" : "", owner_refs ?: "", app, app,
		 img);
	cenv_create(e, kind_rs(), NS, json);
}

static bool rs_controlled_by(struct cenv *e, const char *rs, const char *want)
{
	return cenv_controlled_by(e, kind_rs(), NS, rs, want);
}

/* What a Deployment's controller reference reads ("Deployment/<name>/<uid> block"). */
static const char *dep_ref(struct cenv *e, const char *name, char *buf, size_t len)
{
	char uid[512];

	snprintf(buf, len, "Deployment/%s/%s block", name, dstr(e, name, "metadata.uid", uid));
	return buf;
}

#define FOREIGN_REF                                                                       \
	"[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"else\",\"uid\":" \
	"\"00000000-0000-0000-0000-00000000beef\",\"controller\":true}]"
#define FOREIGN "Deployment/else/00000000-0000-0000-0000-00000000beef"

/* kube's getReplicaSetsForDeployment (ClaimReplicaSets): an orphan the selector matches is
 * adopted (a controller reference with blockOwnerDeletion) as an old ReplicaSet, one another controller owns is left alone, and one whose labels stop matching is
 * released. */
static void test_adopt_release(void **state)
{
	struct cenv e;
	char want[600], buf[512];

	(void)state;
	cenv_start(&e, "deployment", NULL, NULL);
	make_rs_of(&e, "stray", "adp", "old", NULL);
	make_rs_of(&e, "foreign", "adp", "old", FOREIGN_REF);
	make_dep(&e, "adp", 1, NULL, "app:v1");
	dep_ref(&e, "adp", want, sizeof(want));
	assert_true(WAIT_UNTIL(rs_controlled_by(&e, "stray", want), KC_WAIT_MS));
	/* the adopted one (another template, no revision) is an old one: a new one is made */
	assert_true(WAIT_UNTIL(rs_of_rev(&e, "adp", "1", buf, NULL)[0], KC_WAIT_MS));
	assert_string_not_equal(buf, "stray");
	assert_true(rs_controlled_by(&e, buf, want));
	assert_true(rs_controlled_by(&e, "foreign", FOREIGN));
	cw_patch(&e, kind_rs(), NS, "stray", "{\"metadata\":{\"labels\":{\"app\":\"gone\"}}}");
	assert_true(WAIT_UNTIL(rs_controlled_by(&e, "stray", ""), KC_WAIT_MS));
	assert_int_equal(cw_int(&e, kind_rs(), NS, "stray", "metadata.ownerReferences"), -1);
	assert_true(rs_controlled_by(&e, "foreign", FOREIGN));
	assert_true(rs_controlled_by(&e, buf, want));
	cenv_stop(&e);
}

/* A Deployment being deleted adopts nothing: the orphan made after the deletion stays an
 * orphan through a sync (status only) that reads the ReplicaSet made after it. */
static void test_adopt_not_while_deleting(void **state)
{
	struct cenv e;
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	char rsname[512];
	const char *unhold = "{\"metadata\":{\"finalizers\":null}}";
	const char *ready = "{\"status\":{\"replicas\":1,\"readyReplicas\":1}}";

	(void)state;
	cenv_start(&e, "deployment", NULL, NULL);
	make_dep(&e, "dying", 1, NULL, "app:v1");
	cw_patch(&e, kind_deploy(), NS, "dying",
		 "{\"metadata\":{\"finalizers\":[\"example.com/hold\"]}}");
	assert_true(WAIT_UNTIL(rs_of_rev(&e, "dying", "1", rsname, NULL)[0], KC_WAIT_MS));
	assert_true(WAIT_UNTIL(dint(&e, "dying", "status.observedGeneration") ==
				   dint(&e, "dying", "metadata.generation"),
			       KC_WAIT_MS));
	o.propagation = "Background";
	assert_int_equal(kc_delete(e.k.c, kind_deploy(), NS, "dying", &o, NULL, &st), 0);
	make_rs_of(&e, "late", "dying", "old", NULL);
	/* the ReplicaSet's status after the orphan: the sync writing it had the orphan */
	assert_int_equal(kc_patch(e.k.c, kind_rs(), NS, rsname, "status", KC_PATCH_MERGE, ready,
				  strlen(ready), NULL, NULL, &st),
			 0);
	assert_true(WAIT_UNTIL(dint(&e, "dying", "status.readyReplicas") == 1, KC_WAIT_MS));
	assert_true(rs_controlled_by(&e, "late", ""));
	assert_int_equal(kc_patch(e.k.c, kind_deploy(), NS, "dying", NULL, KC_PATCH_MERGE, unhold,
				  strlen(unhold), NULL, NULL, &st),
			 0);
	cenv_stop(&e);
}

/* A Deployment (metadata_patch: merged into it after, or NULL) synced (its ReplicaSet made,
 * its status written), then the controller's Deployment informer held: its cache keeps the
 * Deployment as it is now. */
static struct kc_informer *synced_then_held(struct cenv *e, const char *name,
					    const char *metadata_patch)
{
	struct kc_informer *inf = ctrl_manager_informer(e->m, kind_deploy());
	char rsname[512];

	make_dep(e, name, 1, NULL, "app:v1");
	if (metadata_patch)
		cw_patch(e, kind_deploy(), NS, name, metadata_patch);
	assert_true(WAIT_UNTIL(rs_of_rev(e, name, "1", rsname, NULL)[0], KC_WAIT_MS));
	assert_true(WAIT_UNTIL(dint(e, name, "status.observedGeneration") ==
				   dint(e, name, "metadata.generation"),
			       KC_WAIT_MS));
	assert_non_null(inf);
	kc_informer_hold(inf, true);
	return inf;
}

/* The controller's cache still has a Deployment the server no longer has (its watch held):
 * an orphan it selects is not adopted, for adoption reads the Deployment from the server
 * first (kube's RecheckDeletionTimestamp). The failed read (a 404) proves the sync ran. */
static void test_adopt_rechecks_owner(void **state)
{
	struct cenv e;
	struct kc_informer *inf;
	struct kc_status st;
	struct kc_stats before, now;
	struct jv_doc *d = jv_doc_new();

	(void)state;
	cenv_start(&e, "deployment", NULL, NULL);
	inf = synced_then_held(&e, "stale", NULL);
	assert_int_equal(kc_delete(e.k.c, kind_deploy(), NS, "stale", NULL, NULL, &st), 0);
	assert_null(cenv_get(&e, d, kind_deploy(), NS, "stale"));
	kclient_stats(e.ctrl_c, &before);
	make_rs_of(&e, "late", "stale", "old", NULL);
	assert_true(WAIT_UNTIL(({
				       kclient_stats(e.ctrl_c, &now);
				       now.errors > before.errors;
			       }) ||
				   !rs_controlled_by(&e, "late", ""),
			       KC_WAIT_MS));
	assert_true(rs_controlled_by(&e, "late", ""));
	kc_informer_hold(inf, false);
	jv_doc_free(d);
	cenv_stop(&e);
}

/* The same with the Deployment replaced by another of its name (another uid): the cached one
 * adopts nothing ("original Deployment ... is gone"); once the cache has the new one, that
 * one adopts the orphan. The controller's reads (the rechecks, retried) prove the syncs
 * ran. */
static void test_adopt_rechecks_uid(void **state)
{
	struct cenv e;
	struct kc_informer *inf;
	struct kc_status st;
	struct kc_stats before, now;
	char old_ref[600], new_ref[600];

	(void)state;
	cenv_start(&e, "deployment", NULL, NULL);
	inf = synced_then_held(&e, "swap", NULL);
	dep_ref(&e, "swap", old_ref, sizeof(old_ref));
	assert_int_equal(kc_delete(e.k.c, kind_deploy(), NS, "swap", NULL, NULL, &st), 0);
	make_dep(&e, "swap", 1, NULL, "app:v1");
	dep_ref(&e, "swap", new_ref, sizeof(new_ref));
	assert_string_not_equal(old_ref, new_ref);
	kclient_stats(e.ctrl_c, &before);
	make_rs_of(&e, "late", "swap", "old", NULL);
	assert_true(WAIT_UNTIL(({
				       kclient_stats(e.ctrl_c, &now);
				       now.requests >= before.requests + 3;
			       }) ||
				   rs_controlled_by(&e, "late", old_ref),
			       KC_WAIT_MS));
	assert_true(rs_controlled_by(&e, "late", ""));
	kc_informer_hold(inf, false);
	assert_true(WAIT_UNTIL(rs_controlled_by(&e, "late", new_ref), KC_WAIT_MS));
	cenv_stop(&e);
}

/* The same with the Deployment being deleted (a finalizer holds it): the cached one, not yet
 * deleting, adopts nothing ("has just been deleted"), and nor does it once the cache knows. */
static void test_adopt_rechecks_deleting(void **state)
{
	struct cenv e;
	struct kc_informer *inf;
	struct kc_status st;
	struct kc_stats before, now;
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	const char *unhold = "{\"metadata\":{\"finalizers\":null}}";

	(void)state;
	cenv_start(&e, "deployment", NULL, NULL);
	inf =
	    synced_then_held(&e, "held", "{\"metadata\":{\"finalizers\":[\"example.com/hold\"]}}");
	o.propagation = "Background";
	assert_int_equal(kc_delete(e.k.c, kind_deploy(), NS, "held", &o, NULL, &st), 0);
	kclient_stats(e.ctrl_c, &before);
	make_rs_of(&e, "late", "held", "old", NULL);
	assert_true(WAIT_UNTIL(({
				       kclient_stats(e.ctrl_c, &now);
				       now.requests >= before.requests + 3;
			       }) ||
				   !rs_controlled_by(&e, "late", ""),
			       KC_WAIT_MS));
	assert_true(rs_controlled_by(&e, "late", ""));
	kc_informer_hold(inf, false);
	assert_int_equal(kc_patch(e.k.c, kind_deploy(), NS, "held", NULL, KC_PATCH_MERGE, unhold,
				  strlen(unhold), NULL, NULL, &st),
			 0);
	cenv_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create),
	    cmocka_unit_test(test_hash_collision),
	    cmocka_unit_test(test_rolling_numbers),
	    cmocka_unit_test(test_rolling_percent),
	    cmocka_unit_test(test_rolling_no_unavailable),
	    cmocka_unit_test(test_recreate),
	    cmocka_unit_test(test_pause_resume),
	    cmocka_unit_test(test_rollback),
	    cmocka_unit_test(test_progress_deadline),
	    cmocka_unit_test(test_history_cleanup),
	    cmocka_unit_test(test_proportional),
	    cmocka_unit_test(test_adopt_release),
	    cmocka_unit_test(test_adopt_not_while_deleting),
	    cmocka_unit_test(test_adopt_rechecks_owner),
	    cmocka_unit_test(test_adopt_rechecks_uid),
	    cmocka_unit_test(test_adopt_rechecks_deleting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
