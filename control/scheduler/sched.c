/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched: the scheduler's public face (scheduler.h): its life, the informer handlers that route
 * objects to the cache or the queue as kube-scheduler's event handlers do, the scheduling
 * calls (pop, schedule = decide + assume, bind outcome) and the figures. The decision itself
 * is sched_decide.c.
 *
 * Routing a pod (sched_pod_upsert), as kube-scheduler's two pod informers do:
 *   - Succeeded/Failed: gone (its informer's field selector drops them);
 *   - spec.nodeName set: the cache (add, update, or confirm the assumed pod); it leaves the
 *     queue; the change is an event for the queue (an added pod, changed labels, requests
 *     scaled down);
 *   - unassigned, this scheduler's: the queue (added, or updated in place), unless it is
 *     being deleted or is assumed already (a stale event of a pod just bound).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched_int.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t sched_now(const struct sched *s)
{
	return s->o.clock ? s->o.clock(s->o.clock_arg) : mono_ns();
}

const char *sched_reason(struct sched *s, const char *fmt, ...)
{
	char buf[640];
	const char *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->reasons_mu);
	r = hmap_sget(s->reasons, buf);
	if (!r) {
		char *copy = sched_arena_strndup(&s->reason_arena, buf, strlen(buf));

		if (copy && hmap_sput(s->reasons, copy, copy, NULL) >= 0)
			r = copy;
	}
	pthread_mutex_unlock(&s->reasons_mu);
	/* without memory for a new text, a fixed one still names the plugin */
	return r ? r : "node(s) had untolerated taint";
}

struct sched *sched_new(const struct sched_opts *o)
{
	struct sched *s = calloc(1, sizeof(*s));
	const char *name;

	if (!s)
		return NULL;
	if (o)
		s->o = *o;
	if (s->o.percentage_of_nodes_to_score < 0 || s->o.percentage_of_nodes_to_score > 100) {
		free(s);
		errno = EINVAL;
		return NULL;
	}
	if (!s->o.backoff_initial_ns)
		s->o.backoff_initial_ns = 1000000000ull;
	if (!s->o.backoff_max_ns)
		s->o.backoff_max_ns = 10000000000ull;
	if (!s->o.unschedulable_max_ns)
		s->o.unschedulable_max_ns = 300000000000ull;
	if (s->o.parallelism <= 0)
		s->o.parallelism = 1;
	name =
	    s->o.scheduler_name && *s->o.scheduler_name ? s->o.scheduler_name : "default-scheduler";
	s->scheduler_name = strdup(name);
	s->o.scheduler_name = s->scheduler_name;
	s->rng = s->o.seed ? s->o.seed : mono_ns() | 1;
	pthread_mutex_init(&s->reasons_mu, NULL);
	s->strings = sched_intern_new();
	s->reasons = hmap_new();
	if (!s->scheduler_name || !s->strings || !s->reasons)
		goto fail;
	s->id_hostname = sched_intern(s->strings, "kubernetes.io/hostname", 22);
	s->id_zero_ip = sched_intern(s->strings, "0.0.0.0", 7);
	s->id_unschedulable = sched_intern(s->strings, "node.kubernetes.io/unschedulable", 32);
	if (s->id_hostname == SCHED_NOID || s->id_zero_ip == SCHED_NOID ||
	    s->id_unschedulable == SCHED_NOID)
		goto fail;
	if (sched_cache_init(&s->cache, s) < 0)
		goto fail;
	s->queue = sched_queue_new(s);
	if (!s->queue)
		goto fail;
	if (s->o.parallelism > 1 && !(s->pool = sched_pool_new(s->o.parallelism - 1)))
		goto fail;
	return s;
fail:
	sched_free(s);
	errno = ENOMEM;
	return NULL;
}

void sched_close(struct sched *s)
{
	if (s && s->queue)
		sched_queue_close(s->queue);
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	sched_pool_free(s->pool);
	sched_queue_free(s->queue);
	sched_preempt_free(s);
	if (s->cache.nodes)
		sched_cache_destroy(&s->cache);
	sched_cycle_free(&s->cy);
	hmap_free(s->reasons);
	sched_arena_free(&s->reason_arena);
	sched_intern_free(s->strings);
	pthread_mutex_destroy(&s->reasons_mu);
	free(s->scheduler_name);
	free(s);
}

/* ---- informer handlers ---- */

int sched_node_upsert(struct sched *s, const struct jv *node)
{
	struct sched_node_spec *spec = sched_node_parse(s, node);
	unsigned ev;
	int rc;

	if (!spec)
		return -errno;
	pthread_mutex_lock(&s->cache.mu);
	rc = sched_cache_node_upsert(&s->cache, spec, &ev);
	if (ev)
		sched_queue_event(s->queue, ev, NULL);
	pthread_mutex_unlock(&s->cache.mu);
	return rc;
}

int sched_node_delete(struct sched *s, const char *name)
{
	unsigned ev;
	int rc;

	if (!name)
		return -EINVAL;
	pthread_mutex_lock(&s->cache.mu);
	rc = sched_cache_node_delete(&s->cache, name, &ev);
	if (ev)
		sched_queue_event(s->queue, ev, NULL);
	pthread_mutex_unlock(&s->cache.mu);
	return rc;
}

static int namespace_set(struct sched *s, const char *name, const struct jv *labels)
{
	struct sched_arena a = {0};
	struct sched_labels l = {0};
	uint32_t id;
	int rc;

	if (!name || !*name)
		return -EINVAL;
	id = sched_intern(s->strings, name, strlen(name));
	if (id == SCHED_NOID || (labels && sched_labels_from(s, &a, labels, &l) < 0)) {
		sched_arena_free(&a);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->cache.mu);
	rc = sched_index_namespace(s->cache.ix, id, labels ? &l : NULL);
	pthread_mutex_unlock(&s->cache.mu);
	sched_arena_free(&a);
	return rc;
}

int sched_namespace_upsert(struct sched *s, const struct jv *ns)
{
	static const struct jv empty = {.type = JV_OBJECT};
	const struct jv *labels = jv_path(ns, "metadata.labels");

	return namespace_set(s, jv_path_str(ns, "metadata.name"), labels ? labels : &empty);
}

int sched_namespace_delete(struct sched *s, const char *name)
{
	return namespace_set(s, name, NULL);
}

static int pod_gone(struct sched *s, const char *uid)
{
	unsigned ev;
	int rc;

	pthread_mutex_lock(&s->cache.mu);
	rc = sched_cache_pod_delete(&s->cache, uid, &ev);
	sched_nominee_gone(s, uid);
	if (ev)
		sched_queue_event(s->queue, ev, NULL);
	pthread_mutex_unlock(&s->cache.mu);
	sched_queue_delete(s->queue, uid);
	return rc;
}

int sched_pod_upsert(struct sched *s, const struct jv *pod)
{
	struct sched_pod *p = sched_pod_parse(s, pod);
	unsigned ev;
	int rc = 0;

	if (!p)
		return -errno;
	if (p->terminal) {
		rc = pod_gone(s, p->uid);
	} else if (p->node_name[0]) {
		sched_queue_delete(s->queue, p->uid);
		pthread_mutex_lock(&s->cache.mu);
		rc = sched_cache_pod_upsert(&s->cache, p, &ev);
		sched_nominee_gone(s, p->uid);
		if (ev)
			sched_queue_event(s->queue, ev, p);
		pthread_mutex_unlock(&s->cache.mu);
	} else if (strcmp(p->sched_name, s->scheduler_name) != 0 || p->terminating) {
		pthread_mutex_lock(&s->cache.mu);
		sched_nominee_gone(s, p->uid);
		pthread_mutex_unlock(&s->cache.mu);
		sched_queue_delete(s->queue, p->uid);
	} else {
		bool assumed;

		pthread_mutex_lock(&s->cache.mu);
		assumed = sched_cache_is_assumed(&s->cache, p->uid);
		if (!assumed && (s->nnominees || p->nominated_id))
			rc = sched_nominee_seen(s, p);
		pthread_mutex_unlock(&s->cache.mu);
		if (!assumed && rc == 0)
			rc = sched_queue_upsert(s->queue, p);
	}
	sched_pod_unref(p);
	return rc;
}

int sched_pod_delete(struct sched *s, const struct jv *pod)
{
	const char *uid = jv_path_str(pod, "metadata.uid");

	if (!uid || !*uid)
		return -EINVAL;
	return pod_gone(s, uid);
}

/* ---- scheduling ---- */

struct sched_pod *sched_pop(struct sched *s, int timeout_ms)
{
	return sched_queue_pop(s->queue, timeout_ms);
}

int sched_schedule(struct sched *s, struct sched_pod *p, struct sched_result *r)
{
	struct sched_node *chosen = NULL;
	uint32_t rejectors = 0;
	uint64_t t0 = sched_now(s);
	int rc;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&s->cache.mu);
	if (hmap_sget(s->cache.pods, p->uid)) {
		/* bound or assumed already (a stale queue entry): kube's skipPodSchedule */
		pthread_mutex_unlock(&s->cache.mu);
		sched_queue_done(s->queue, p->uid);
		return -EEXIST;
	}
	atomic_fetch_add(&s->attempts, 1);
	s->cache.generation++;
	sched_index_gc(s->cache.ix, s->cache.generation);
	sched_cache_expire(&s->cache, t0);
	rc = sched_decide(s, p, r, &rejectors, &chosen);
	if (rc == 0 && r->scheduled) {
		rc = sched_cache_assume(&s->cache, p, chosen);
		if (rc < 0) {
			r->scheduled = false;
			r->node[0] = 0;
		} else {
			sched_nominee_gone(s, p->uid);
		}
	} else if (rc == 0) {
		/* PostFilter: DefaultPreemption */
		rc = sched_preempt(s, p, r);
		if (rc == 0 && r->nominate && r->nominated_node[0])
			atomic_fetch_add(&s->preemptions, 1);
	}
	pthread_mutex_unlock(&s->cache.mu);
	r->decision_ns = sched_now(s) - t0;
	if (rc == -ENODEV) {
		/* ErrNoNodesAvailable: UnschedulableAndUnresolvable without a plugin, so any
		 * cluster event (a node added) brings the pod back */
		r->message = strdup("no nodes available to schedule pods");
		sched_queue_unschedulable(s->queue, p->uid, 0);
		atomic_fetch_add(&s->unschedulable, 1);
		return r->message ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		sched_queue_error(s->queue, p->uid);
		sched_result_clear(r);
		return rc;
	}
	if (r->scheduled) {
		atomic_fetch_add(&s->scheduled, 1);
	} else {
		atomic_fetch_add(&s->unschedulable, 1);
		sched_queue_unschedulable(s->queue, p->uid, rejectors);
	}
	return 0;
}

void sched_bind_done(struct sched *s, struct sched_pod *p, int err)
{
	pthread_mutex_lock(&s->cache.mu);
	if (err == 0) {
		sched_cache_finish_binding(&s->cache, p->uid, sched_now(s));
	} else if (sched_cache_forget(&s->cache, p->uid) == 0) {
		/* its resources are free again: as an assigned pod deleted */
		sched_queue_event(s->queue, SCHED_EV_POD_DELETE, NULL);
	}
	pthread_mutex_unlock(&s->cache.mu);
	if (err == 0)
		sched_queue_done(s->queue, p->uid);
	else
		sched_queue_error(s->queue, p->uid);
}

void sched_result_clear(struct sched_result *r)
{
	for (size_t i = 0; i < r->nvictims; i++)
		sched_pod_unref(r->victims[i]);
	for (size_t i = 0; i < r->ndenominate; i++)
		sched_pod_unref(r->denominate[i]);
	free(r->victims);
	free(r->denominate);
	free(r->message);
	free(r->reasons);
	memset(r, 0, sizeof(*r));
}

void sched_get_stats(struct sched *s, struct sched_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->cache.mu);
	st->nodes = s->cache.nlive;
	st->pods = hmap_size(s->cache.pods);
	st->assumed = s->cache.nassumed;
	st->classes = sched_index_nclasses(s->cache.ix);
	st->nominated = s->nnominees;
	st->pdbs = s->npdbs;
	pthread_mutex_unlock(&s->cache.mu);
	sched_queue_stats(s->queue, st);
	st->attempts = atomic_load(&s->attempts);
	st->scheduled = atomic_load(&s->scheduled);
	st->unschedulable_attempts = atomic_load(&s->unschedulable);
	st->preemptions = atomic_load(&s->preemptions);
}
