/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl_workload.h"
#include "hmap.h"
#include "ctrl.h"

const struct k8s_kind *kind_rs(void)
{
	return k8s_kind_find("apps/v1", "ReplicaSet");
}

const struct k8s_kind *kind_deploy(void)
{
	return k8s_kind_find("apps/v1", "Deployment");
}

const struct k8s_kind *kind_event(void)
{
	return k8s_kind_find("v1", "Event");
}

static bool is_ready(const struct jv *pod)
{
	for (const struct jv *c = jv_first(jv_path(pod, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "Ready") && jv_is_str(jv_get(c, "status"), "True"))
			return true;
	return false;
}

size_t cw_finish_terminating(struct cenv *e, const char *ns, const char *sel)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, done = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), ns, sel, &n);

	for (size_t i = 0; i < n; i++) {
		struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
		struct kc_status st;
		int err;

		if (!jv_path(pods[i], "metadata.deletionTimestamp"))
			continue;
		o.grace_seconds = 0;
		err = kc_delete(e->k.c, kind_pod(), ns, jv_path_str(pods[i], "metadata.name"), &o,
				NULL, &st);
		if (err && err != -ENOENT)
			fail_msg("finish pod: %s", st.message);
		done++;
	}
	jv_doc_free(d);
	return done;
}

/* cenv_pod_run for a pod that a controller may delete meanwhile: gone is no failure */
static size_t pod_run(struct cenv *e, const char *ns, const struct jv *pod, const char *node)
{
	const char *name = jv_path_str(pod, "metadata.name");
	char now[32], patch[1024];
	struct kc_status st;
	int err = 0;

	if (!jv_path_str(pod, "spec.nodeName"))
		err = kc_bind(e->k.c, ns, name, jv_path_str(pod, "metadata.uid"), node, &st);
	if (err == -ENOENT)
		return 0;
	if (err)
		fail_msg("bind %s: %s", name, st.message);
	ctrl_time(ctrl_now(), now);
	snprintf(patch, sizeof(patch),
		 "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.9\",\"startTime\":"
		 "\"%s\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"},"
		 "{\"type\":\"Initialized\",\"status\":\"True\"},{\"type\":\"ContainersReady\","
		 "\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"True\","
		 "\"lastTransitionTime\":\"%s\"}]}}",
		 now, now);
	err = kc_patch(e->k.c, kind_pod(), ns, name, "status", KC_PATCH_MERGE, patch, strlen(patch),
		       NULL, NULL, &st);
	if (err == -ENOENT)
		return 0;
	if (err)
		fail_msg("pod %s status: %s", name, st.message);
	return 1;
}

size_t cw_kubelet_step(struct cenv *e, const char *ns, const char *sel, const char *node)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, changed = cw_finish_terminating(e, ns, sel);
	struct jv **pods = cenv_list(e, d, kind_pod(), ns, sel, &n);

	for (size_t i = 0; i < n; i++) {
		if (is_ready(pods[i]) || jv_path(pods[i], "metadata.deletionTimestamp"))
			continue;
		changed += pod_run(e, ns, pods[i], node);
	}
	jv_doc_free(d);
	return changed;
}

int64_t cw_int(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
	       const char *path)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, k, ns, name);
	int64_t v = -1;

	if (!o)
		v = -2;
	else if (jv_path_int(o, path, &v) != 0)
		v = -1;
	jv_doc_free(d);
	return v;
}

const char *cw_str(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
		   const char *path, char *buf, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = cenv_get(e, d, k, ns, name);

	snprintf(buf, size, "%s", o && jv_path_str(o, path) ? jv_path_str(o, path) : "");
	jv_doc_free(d);
	return buf;
}

int64_t cw_event(struct cenv *e, const char *ns, const char *reason, const char *obj,
		 const char *msg)
{
	struct jv_doc *d = jv_doc_new();
	size_t n;
	struct jv **evs = cenv_list(e, d, kind_event(), ns, NULL, &n);
	int64_t count = 0;

	for (size_t i = 0; i < n; i++) {
		const char *m = jv_path_str(evs[i], "message");
		int64_t c = 1;

		if (!jv_is_str(jv_get(evs[i], "reason"), reason))
			continue;
		if (obj && !jv_is_str(jv_path(evs[i], "involvedObject.name"), obj))
			continue;
		if (msg && (!m || !strstr(m, msg)))
			continue;
		jv_path_int(evs[i], "count", &c);
		count += c;
	}
	jv_doc_free(d);
	return count;
}

size_t cw_live_pods(struct cenv *e, const char *ns, const char *sel)
{
	struct jv_doc *d = jv_doc_new();
	size_t n, live = 0;
	struct jv **pods = cenv_list(e, d, kind_pod(), ns, sel, &n);

	for (size_t i = 0; i < n; i++)
		live += !jv_path(pods[i], "metadata.deletionTimestamp");
	jv_doc_free(d);
	return live;
}

void cw_patch(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
	      const char *patch)
{
	struct kc_status st;
	int err = kc_patch(e->k.c, k, ns, name, NULL, KC_PATCH_MERGE, patch, strlen(patch), NULL,
			   NULL, &st);

	if (err)
		fail_msg("patch %s %s: %s", k->resource, name, st.message);
}

/* ---- the observing watch ---- */

enum { F_LIVE = 1, F_AVAIL = 2 };

struct cw_pod {
	unsigned flags;
	char hash[24];
};

static void recount(struct cw_watch *w)
{
	int live = 0, avail = 0, hashes = 0;

	for (struct hmap_entry *it = hmap_first(w->pods); it; it = hmap_next(w->pods, it)) {
		struct cw_pod *p = hmap_entry_val(it);
		bool seen = false;

		live += !!(p->flags & F_LIVE);
		avail += (p->flags & (F_LIVE | F_AVAIL)) == (F_LIVE | F_AVAIL);
		/* a hash not seen on an earlier entry counts once */
		for (struct hmap_entry *jt = hmap_first(w->pods); jt != it && !seen;
		     jt = hmap_next(w->pods, jt))
			seen = strcmp(((struct cw_pod *)hmap_entry_val(jt))->hash, p->hash) == 0;
		hashes += !seen;
	}
	w->live = live;
	w->avail = avail;
	w->hashes = hashes;
	if (live > w->max_live)
		w->max_live = live;
	if (avail < w->min_avail)
		w->min_avail = avail;
	if (hashes > w->max_hashes)
		w->max_hashes = hashes;
}

static void watch_event(void *arg, enum kc_event_type type, struct kc_obj *o)
{
	struct cw_watch *w = arg;
	struct jv_doc *d;
	struct jv *t;
	const char *name;

	if (type == KC_BOOKMARK)
		return;
	d = jv_doc_new();
	t = kc_obj_parse(o, d);
	name = jv_path_str(t, "metadata.name");
	pthread_mutex_lock(&w->lock);
	if (name) {
		struct cw_pod *p = calloc(1, sizeof(*p));
		void *old = NULL;

		assert_non_null(p);
		if (type != KC_DELETED && !jv_path(t, "metadata.deletionTimestamp"))
			p->flags |= F_LIVE;
		if (is_ready(t))
			p->flags |= F_AVAIL;
		snprintf(p->hash, sizeof(p->hash), "%s",
			 jv_path_str(t, "metadata.labels[pod-template-hash]") ?: "");
		if (type == KC_DELETED) {
			free(hmap_sdel(w->pods, name));
			free(p);
		} else {
			hmap_sput(w->pods, name, p, &old);
			free(old);
		}
		w->events++;
		recount(w);
	}
	pthread_mutex_unlock(&w->lock);
	jv_doc_free(d);
}

static void watch_end(void *arg, int err)
{
	struct cw_watch *w = arg;

	(void)err;
	pthread_mutex_lock(&w->lock);
	w->ended = true;
	pthread_mutex_unlock(&w->lock);
}

void cw_watch_start(struct cenv *e, struct cw_watch *w, const char *ns, const char *sel)
{
	struct kc_watch_opts o = {.label_selector = sel, .resource_version = "", .timeout_s = 3600};
	struct kc_watch_cb cb = {.event = watch_event, .end = watch_end};
	struct kc_status st;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->pods = hmap_new();
	assert_non_null(w->pods);
	w->min_avail = 1 << 30;
	if (kc_watch(e->k.c, kind_pod(), ns, &o, &cb, w, &w->w, &st) != 0)
		fail_msg("watch pods: %s", st.message);
}

void cw_watch_reset(struct cw_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->max_live = w->live;
	w->min_avail = w->avail;
	w->max_hashes = w->hashes;
	pthread_mutex_unlock(&w->lock);
}

void cw_watch_stop(struct cw_watch *w)
{
	kc_watch_stop(w->w);
	for (struct hmap_entry *it = hmap_first(w->pods); it; it = hmap_next(w->pods, it))
		free(hmap_entry_val(it));
	hmap_free(w->pods);
	pthread_mutex_destroy(&w->lock);
}
