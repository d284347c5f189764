/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_pods: the pods side of `drover sim`, as N kubelets would do it: one list+watch of pods
 * per node with fieldSelector=spec.nodeName=<node> (a reflector: resumed from the last
 * resourceVersion, re-listed after 410 Gone with the difference delivered), and per pod the
 * state machine the pod workers run. A list is one list of every bound pod serving every
 * node that needs one (at start, and the nodes whose watch got 410 Gone meanwhile), their
 * watches starting from its resourceVersion: N lists of one node's pods would cost a server
 * without an index on spec.nodeName N scans of every pod (5,000 nodes with 4,000 pods:
 * 5,000 lists of 80 ms), and a server that drops slow watchers would get them all at once.
 *
 *
 *   bound, not reported  -> an IP from the node's podCIDR, status Running and Ready (one
 *                           strategic merge patch of pods/status, conditional on the uid)
 *   Running, of a Job    -> after --job-seconds, Succeeded (its IP is released)
 *   deletionTimestamp    -> after deletionGracePeriodSeconds (at most --max-grace) from
 *                           when it was seen, a delete with gracePeriodSeconds=0 and a uid
 *                           precondition, as the kubelet finalizes a pod
 *   DELETED              -> the record and its IP go
 *
 * A pod already Running with an IP of the node's range (the sim restarted) keeps it: its
 * address is taken before any new pod of that node gets one, so no live pod's IP is given
 * twice. A pod's object is kept only while a status is still to be built from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_int.h"
#include "kubelet_objects.h"

#define LIST_PAGE 500

/* The pod's object is needed until its last status is written. */
static bool needs_obj(const struct sim_pod *p)
{
	return !p->terminal && !p->terminating &&
	       (p->state == POD_NEW || (p->state == POD_RUNNING && p->job));
}

static void drop_ip(struct sim_pod *p)
{
	if (p->ip)
		sim_ranges_release(&p->node->ipam, p->ip);
	p->ip = 0;
}

static void pod_free(struct sim_pod *p)
{
	if (!p)
		return;
	kc_obj_put(p->obj);
	free(p);
}

static void reset(struct sim_pod *p, struct sim_node *n, const char *uid)
{
	drop_ip(p);
	kc_obj_put(p->obj);
	memset(p, 0, sizeof(*p));
	p->node = n;
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
}

/* What a watch event or a list item says about a pod of node n (any thread). */
static void pod_observe(struct sim *s, struct sim_node *n, enum kc_event_type t, struct kc_obj *o,
			unsigned gen)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = d ? kc_obj_parse(o, d) : NULL;
	const char *ns = jv_path_str(pod, "metadata.namespace");
	const char *name = jv_path_str(pod, "metadata.name");
	const char *uid = jv_path_str(pod, "metadata.uid");
	const char *phase = jv_path_str(pod, "status.phase");
	const char *ip_s = jv_path_str(pod, "status.podIP");
	struct sim_pod *p;
	char key[512];
	int64_t grace = 30;
	uint32_t ip;

	if (!ns || !name || !uid) {
		if (pod)
			log_warn(SIM_COMP, "node %s: a pod without namespace, name or uid",
				 n->name);
		jv_doc_free(d);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&s->mu);
	p = hmap_sget(s->pods, key);
	if (t == KC_DELETED) {
		if (p && !strcmp(p->uid, uid))
			p->deleted = true;
		goto queue;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || hmap_sput(s->pods, key, p, NULL) < 0) {
			free(p);
			pthread_mutex_unlock(&s->mu);
			log_error(SIM_COMP, "pod %s: out of memory", key);
			jv_doc_free(d);
			return;
		}
		reset(p, n, uid);
	} else if (strcmp(p->uid, uid) || p->node != n) {
		/* another pod under the same name: the old one is gone */
		reset(p, n, uid);
	}
	p->gen = gen;
	p->deleted = false;
	p->job = kubelet_pod_is_job(pod);
	p->terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	if (jv_path(pod, "metadata.deletionTimestamp")) {
		if (!p->terminating)
			p->term_seen_ms = sim_now_ms();
		p->terminating = true;
		jv_path_int(pod, "metadata.deletionGracePeriodSeconds", &grace);
		p->grace_s = grace < 0 ? 0 : grace;
	}
	if (p->state == POD_NEW && !p->ip && phase && !strcmp(phase, "Running") && ip_s &&
	    sim_ip_parse(ip_s, &ip) == 0 && sim_net_contains(&n->pod_net, ip)) {
		/* running before we came: it keeps its address */
		if (sim_ranges_take(&n->ipam, ip) == 0)
			p->ip = ip;
		p->state = POD_RUNNING;
		p->run_at_ms = sim_now_ms();
		snprintf(p->started, sizeof(p->started), "%s",
			 jv_path_str(pod, "status.startTime") ?: "");
	}
	if (p->terminal) {
		p->state = POD_DONE;
		drop_ip(p);
	}
	kc_obj_put(p->obj);
	p->obj = needs_obj(p) ? kc_obj_get(o) : NULL;
queue:
	pthread_mutex_unlock(&s->mu);
	kc_queue_add(s->pq, key);
	jv_doc_free(d);
}

/* ---- the watches ---- */

static void on_pod_event(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct sim_node *n = arg;

	if (o->rv)
		atomic_store(&n->watch_rv, o->rv);
	if (t != KC_BOOKMARK)
		pod_observe(n->s, n, t, o, 0);
}

static void on_pod_end(void *arg, int err)
{
	struct sim_node *n = arg;

	atomic_fetch_add(&n->s->watch_ends, 1);
	if (err == -KC_EGONE) {
		atomic_fetch_add(&n->s->watch_gone, 1);
		atomic_store(&n->need_list, true);
	}
	if (err) {
		/* a stream that broke: again in a second or so, not in a hot loop */
		log_debug(SIM_COMP, "node %s: pods watch ended: %s", n->name, kc_strerror(err));
		sim_queue_node_after(n->s, 'w', n, 500 + (uint64_t)(sim_rand() * 1000));
	} else {
		sim_queue_node(n->s, 'w', n);
	}
}

/* After the list: the pods of the listed nodes that were known but are not in it were
 * deleted while no watch ran. */
static void diff(struct sim *s, unsigned gen)
{
	pthread_mutex_lock(&s->mu);
	for (struct hmap_entry *e = hmap_first(s->pods); e; e = hmap_next(s->pods, e)) {
		struct sim_pod *p = hmap_entry_val(e);

		if (p->node->relisting && p->node->listed && p->gen != gen && !p->deleted) {
			size_t klen;
			const char *k = hmap_entry_key(e, &klen);
			char key[512];

			p->deleted = true;
			snprintf(key, sizeof(key), "%.*s", (int)klen, k);
			kc_queue_add(s->pq, key);
		}
	}
	pthread_mutex_unlock(&s->mu);
}

int sim_pods_list_all(struct sim *s)
{
	struct kc_list_opts lo = {.field_selector = "spec.nodeName!=", .limit = LIST_PAGE};
	struct kc_status st = {0};
	struct kc_list l = {0};
	uint64_t rv = 0;
	char *next = NULL;
	unsigned gen, want = 0;
	size_t count = 0;
	int err;

	/* the nodes this list serves: those that need one now (one that needs one later
	 * queues the list again) */
	for (unsigned i = 0; i < s->nnodes; i++) {
		struct sim_node *n = &s->nodes[i];

		n->relisting = atomic_load(&n->need_list);
		want += n->relisting;
	}
	if (!want)
		return 0;
	pthread_mutex_lock(&s->mu);
	gen = ++s->list_gen;
	pthread_mutex_unlock(&s->mu);
	atomic_fetch_add(&s->relists, 1);
	do {
		struct jv_doc *d = jv_doc_new();

		lo.continue_token = next;
		err = d ? kc_list(s->kc, s->k_pod, NULL, &lo, &l, &st) : -ENOMEM;
		for (size_t i = 0; !err && i < l.count; i++) {
			struct jv *pod = kc_obj_parse(l.items[i], d);
			const char *node = jv_path_str(pod, "spec.nodeName");
			struct sim_node *n = node ? hmap_sget(s->by_name, node) : NULL;

			/* a node whose watch runs has seen newer than this list: not its pods */
			if (n && n->relisting) {
				pod_observe(s, n, KC_ADDED, l.items[i], gen);
				count++;
			}
		}
		if (!err && !rv)
			rv = l.rv;
		free(next);
		next = !err && l.next ? strdup(l.next) : NULL;
		kc_list_free(&l);
		memset(&l, 0, sizeof(l));
		jv_doc_free(d);
	} while (!err && next);
	free(next);
	if (err) {
		log_warn(SIM_COMP, "list pods: %s", st.message[0] ? st.message : kc_strerror(err));
		return err;
	}
	diff(s, gen);
	for (unsigned i = 0; i < s->nnodes; i++) {
		struct sim_node *n = &s->nodes[i];

		if (!n->relisting)
			continue;
		n->relisting = false;
		n->listed = true;
		atomic_store(&n->watch_rv, rv);
		atomic_store(&n->need_list, false);
		sim_queue_node(s, 'w', n);
	}
	log_info(SIM_COMP, "listed %zu pods of %u nodes; their watches start at %" PRIu64, count,
		 want, rv);
	return 0;
}

int sim_pods_watch(struct sim *s, struct sim_node *n)
{
	static const struct kc_watch_cb cb = {.event = on_pod_event, .end = on_pod_end};
	struct kc_watch_opts wo = {.bookmarks = true};
	struct kc_status st = {0};
	char fs[300], rv[32];
	int err;

	kc_watch_stop(n->watch);
	n->watch = NULL;
	if (atomic_load(&n->need_list)) {
		/* one list of every bound pod serves every node that needs one ("P") */
		kc_queue_add(s->wq, "P");
		return 0;
	}
	snprintf(fs, sizeof(fs), "spec.nodeName=%s", n->name);
	snprintf(rv, sizeof(rv), "%" PRIu64, atomic_load(&n->watch_rv));
	wo.field_selector = fs;
	wo.resource_version = rv;
	/* as client-go's reflector: 5-10 minutes, so that N watches do not end together */
	wo.timeout_s = 300 + (long)(sim_rand() * 300);
	err = kc_watch(s->kc, s->k_pod, NULL, &wo, &cb, n, &n->watch, &st);
	if (err) {
		if (err == -KC_EGONE) {
			atomic_fetch_add(&s->watch_gone, 1);
			atomic_store(&n->need_list, true);
		}
		log_debug(SIM_COMP, "node %s: watch pods: %s", n->name,
			  st.message[0] ? st.message : kc_strerror(err));
		return err;
	}
	if (!n->watching) {
		n->watching = true;
		atomic_fetch_add(&s->watching, 1);
	}
	return 0;
}

/* ---- the pod workers ---- */

static void split_key(const char *key, char *ns, char *name)
{
	const char *slash = strchr(key, '/');

	snprintf(ns, 254, "%.*s", slash ? (int)(slash - key) : 0, key);
	snprintf(name, 254, "%s", slash ? slash + 1 : key);
}

/* The kubelet's last act for a pod: a grace-0 delete that only this pod (uid) can take. */
static int finalize(struct sim *s, const char *key, const char *uid)
{
	struct kc_delete_opts o = {.grace_seconds = 0, .precondition_uid = uid};
	struct kc_status st = {0};
	char ns[254], name[254];
	struct sim_pod *p;
	int err;

	split_key(key, ns, name);
	err = kc_delete(s->kc, s->k_pod, ns, name, &o, NULL, &st);
	if (err == -ENOENT || err == -KC_ECONFLICT)
		err = 0; /* gone, or another pod under the name: nothing of ours is left */
	if (err) {
		log_warn(SIM_COMP, "pod %s: delete: %s", key,
			 st.message[0] ? st.message : kc_strerror(err));
		return err;
	}
	pthread_mutex_lock(&s->mu);
	p = hmap_sget(s->pods, key);
	if (p && !strcmp(p->uid, uid)) {
		p->finalized = true;
		drop_ip(p);
	}
	pthread_mutex_unlock(&s->mu);
	atomic_fetch_add(&s->pods_deleted, 1);
	return 0;
}

/* Write a status patch built from the pod; 0, or the error. */
static int write_status(struct sim *s, const char *key, const char *patch, size_t len)
{
	struct kc_status st = {0};
	char ns[254], name[254];
	int err;

	split_key(key, ns, name);
	err = kc_patch(s->kc, s->k_pod, ns, name, "status", KC_PATCH_STRATEGIC, patch, len,
		       &(struct kc_write_opts){0}, NULL, &st);
	if (err && err != -ENOENT && err != -KC_ECONFLICT) {
		atomic_fetch_add(&s->status_errors, 1);
		log_warn(SIM_COMP, "pod %s: status: %s", key,
			 st.message[0] ? st.message : kc_strerror(err));
	}
	return err;
}

/* Report the pod Running with an address of its node. */
static int run(struct sim *s, const char *key, struct sim_pod *snap, struct kc_obj *o)
{
	struct sim_node *n = snap->node;
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = d ? kc_obj_parse(o, d) : NULL;
	struct sim_pod *p;
	char now[32], ip[16], *patch;
	uint32_t addr = snap->ip;
	size_t len;
	int err = 0;

	if (!pod) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	if (!addr) {
		pthread_mutex_lock(&s->mu);
		p = hmap_sget(s->pods, key);
		if (p && !strcmp(p->uid, snap->uid) && !p->ip)
			err = sim_ranges_alloc(&n->ipam, &p->ip);
		addr = p ? p->ip : 0;
		pthread_mutex_unlock(&s->mu);
		if (err) {
			log_warn(SIM_COMP, "pod %s: node %s: no IP addresses available in range %s",
				 key, n->name, n->cidr);
			jv_doc_free(d);
			return -EAGAIN;
		}
		if (!addr) { /* gone meanwhile */
			jv_doc_free(d);
			return 0;
		}
	}
	sim_now_str(now);
	patch = kubelet_pod_running_patch(pod, n->ip, sim_ip_str(addr, ip), now, &len);
	jv_doc_free(d);
	if (!patch)
		return -ENOMEM;
	err = write_status(s, key, patch, len);
	free(patch);
	pthread_mutex_lock(&s->mu);
	p = hmap_sget(s->pods, key);
	if (p && !strcmp(p->uid, snap->uid)) {
		if (!err && p->state == POD_NEW) {
			p->state = POD_RUNNING;
			p->run_at_ms = sim_now_ms();
			snprintf(p->started, sizeof(p->started), "%s", now);
			if (!needs_obj(p)) {
				kc_obj_put(p->obj);
				p->obj = NULL;
			}
		} else if (err == -ENOENT || err == -KC_ECONFLICT) {
			drop_ip(p); /* gone, or replaced: a DELETED or new event follows */
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (err == -ENOENT || err == -KC_ECONFLICT)
		return 0;
	if (err)
		return err;
	atomic_fetch_add(&s->pods_running, 1);
	if (snap->job)
		kc_queue_add_after(s->pq, key, (uint64_t)(s->cfg->job_seconds * 1000));
	return 0;
}

/* A Job's pod whose time has come: Succeeded. */
static int succeed(struct sim *s, const char *key, struct sim_pod *snap, struct kc_obj *o)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = d ? kc_obj_parse(o, d) : NULL;
	struct sim_pod *p;
	char now[32], ip[16], *patch;
	size_t len;
	int err;

	if (snap->ip)
		sim_ip_str(snap->ip, ip);
	else /* running before we came, its address not ours to hold */
		snprintf(ip, sizeof(ip), "%s", jv_path_str(pod, "status.podIP") ?: "");
	patch =
	    pod ? kubelet_pod_succeeded_patch(pod, snap->node->ip, ip,
					      snap->started[0] ? snap->started : sim_now_str(now),
					      sim_now_str(now), &len)
		: NULL;
	jv_doc_free(d);
	if (!patch)
		return -ENOMEM;
	err = write_status(s, key, patch, len);
	free(patch);
	if (err == -ENOENT || err == -KC_ECONFLICT)
		return 0;
	if (err)
		return err;
	pthread_mutex_lock(&s->mu);
	p = hmap_sget(s->pods, key);
	if (p && !strcmp(p->uid, snap->uid)) {
		p->state = POD_DONE;
		drop_ip(p);
		kc_obj_put(p->obj);
		p->obj = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	atomic_fetch_add(&s->pods_succeeded, 1);
	return 0;
}

int sim_pod_sync(void *arg, const char *key)
{
	struct sim *s = arg;
	struct sim_pod *p, snap;
	struct kc_obj *o;
	uint64_t now = sim_now_ms();
	int err = 0;

	if (atomic_load(&s->stopping))
		return 0;
	pthread_mutex_lock(&s->mu);
	p = hmap_sget(s->pods, key);
	if (!p) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	if (p->deleted) {
		drop_ip(p);
		hmap_sdel(s->pods, key);
		pthread_mutex_unlock(&s->mu);
		pod_free(p);
		return 0;
	}
	snap = *p;
	o = kc_obj_get(p->obj);
	pthread_mutex_unlock(&s->mu);

	if (snap.terminating) {
		uint64_t grace = (uint64_t)snap.grace_s, at;

		if (s->cfg->max_grace_s >= 0 && grace > (uint64_t)s->cfg->max_grace_s)
			grace = (uint64_t)s->cfg->max_grace_s;
		/* nothing runs in a pod never reported or already finished: no wait */
		at = snap.state != POD_RUNNING ? 0 : snap.term_seen_ms + grace * 1000;
		if (snap.finalized)
			err = 0;
		else if (now < at)
			kc_queue_add_after(s->pq, key, at - now);
		else
			err = finalize(s, key, snap.uid);
	} else if (snap.state == POD_NEW && !snap.terminal) {
		err = o ? run(s, key, &snap, o) : 0;
	} else if (snap.state == POD_RUNNING && snap.job && !snap.terminal) {
		uint64_t at = snap.run_at_ms + (uint64_t)(s->cfg->job_seconds * 1000);

		if (now < at)
			kc_queue_add_after(s->pq, key, at - now);
		else if (o)
			err = succeed(s, key, &snap, o);
	}
	kc_obj_put(o);
	return err;
}

void sim_pods_free(struct sim *s)
{
	if (!s->pods)
		return;
	for (struct hmap_entry *e = hmap_first(s->pods); e; e = hmap_next(s->pods, e))
		pod_free(hmap_entry_val(e));
}
