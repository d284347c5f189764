/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_run: the API side of the scheduler (sched_run.h). Three informers feed the core: pods
 * that are not finished (the field selector kube-scheduler's pod informer uses), nodes and
 * namespaces. One thread pops pods in priority order and decides; the binding cycle runs on
 * a pool of workers (as kube-scheduler binds in goroutines), so decisions never wait for the
 * store's commit: a pod is assumed on its node the moment it is chosen, counted before its
 * bound state comes back through the watch, and forgotten (back-off, retried) if its binding
 * fails. An unschedulable pod gets PodScheduled=False/Unschedulable with the core's message
 * (written only when it changed) and a FailedScheduling Event; the core parks it until a
 * cluster event may help. When the core's DefaultPreemption chose victims for it, the worker
 * preempts them first (DisruptionTarget condition, delete, Preempted Event), clears the
 * nominations the preemptor displaced and writes its status.nominatedNodeName; a fourth
 * informer feeds the core the PodDisruptionBudgets the choice honours.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "informer.h"
#include "k8s_buf.h"
#include "log.h"
#include "recorder.h"
#include "sched_run.h"
#include "sched_volume.h"
#include "workqueue.h"

#define COMP "scheduler"

/* A unit of work for the binding pool. */
struct job {
	struct job *next;
	struct sched_pod *pod;
	bool bind; /* bind to node; else write the unschedulable status */
	char node[254];
	char *message;
	struct sched_result post; /* the PostFilter's nomination, victims, denominated pods */
};

struct scheduler {
	struct kclient *kc;
	struct scheduler_config cfg;
	struct sched *core;
	struct kc_informer *pods, *nodes, *nss, *pdbs;
	struct kc_recorder *rec;
	const struct k8s_kind *k_pod, *k_node, *k_ns, *k_pdb;
	pthread_t loop;
	bool loop_started;
	pthread_t *workers;
	unsigned nworkers;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *head, *tail;
	bool stop;
	_Atomic uint64_t bound, conflicts, bind_errors, unsched_writes, decision_ns, preempted;
};

/* ---- informers -> core ---- */

static void pod_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;
	const char *node = jv_path_str(t, "spec.nodeName");
	/* VolumeBinding's filter: only an unscheduled pod with a claim can need it */
	bool vols = (!node || !node[0]) && sched_volume_has_claims(t);
	struct jv_doc *d = vols ? jv_doc_new() : NULL;
	const struct jv *p = d ? sched_volume_pod(s->kc, d, t) : t;

	(void)o;
	if (sched_pod_upsert(s->core, p) == -ENOMEM)
		log_warn(COMP, "pod %s: out of memory", jv_path_str(t, "metadata.name"));
	jv_doc_free(d);
}

static void pod_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	pod_add(arg, cur, cur_t);
}

static void pod_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;

	(void)o;
	sched_pod_delete(s->core, t);
}

static void node_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;

	(void)o;
	sched_node_upsert(s->core, t);
}

static void node_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
			const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	node_add(arg, cur, cur_t);
}

static void node_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;
	const char *name = jv_path_str(t, "metadata.name");

	(void)o;
	if (name)
		sched_node_delete(s->core, name);
}

static void ns_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;

	(void)o;
	sched_namespace_upsert(s->core, t);
}

static void ns_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	ns_add(arg, cur, cur_t);
}

static void ns_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;
	const char *name = jv_path_str(t, "metadata.name");

	(void)o;
	if (name)
		sched_namespace_delete(s->core, name);
}

static void pdb_add(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;

	(void)o;
	sched_pdb_upsert(s->core, t);
}

static void pdb_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		       const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	pdb_add(arg, cur, cur_t);
}

static void pdb_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct scheduler *s = arg;

	(void)o;
	sched_pdb_delete(s->core, t);
}

/* ---- the binding pool ---- */

static void push(struct scheduler *s, struct job *j)
{
	pthread_mutex_lock(&s->mu);
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static struct job *pop(struct scheduler *s)
{
	struct job *j;

	pthread_mutex_lock(&s->mu);
	while (!s->head && !s->stop)
		pthread_cond_wait(&s->cond, &s->mu);
	j = s->head;
	if (j) {
		s->head = j->next;
		if (!s->head)
			s->tail = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	return j;
}

/* The pod's tree from the cache (for Events), or NULL. */
static struct jv *cached_pod(struct scheduler *s, struct sched_pod *p, struct jv_doc *d)
{
	struct kc_obj *o = kc_informer_get(s->pods, sched_pod_namespace(p), sched_pod_name(p));
	struct jv *t = o ? kc_obj_parse(o, d) : NULL;

	kc_obj_put(o);
	return t;
}

static void do_bind(struct scheduler *s, struct job *j)
{
	struct kc_status st = {0};
	struct jv_doc *d = jv_doc_new();
	struct jv *t = d ? cached_pod(s, j->pod, d) : NULL;
	int err;

	/* VolumeBinding's PreBind; the tree serves the Scheduled Event too */
	if (t)
		sched_volume_prebind(s->kc, t, j->node);
	err = kc_bind(s->kc, sched_pod_namespace(j->pod), sched_pod_name(j->pod),
		      sched_pod_uid(j->pod), j->node, &st);

	sched_bind_done(s->core, j->pod, err);
	if (err) {
		if (err == -KC_ECONFLICT || err == -EEXIST)
			atomic_fetch_add(&s->conflicts, 1);
		else
			atomic_fetch_add(&s->bind_errors, 1);
		if (err != -ENOENT)
			log_debug(COMP, "binding %s/%s to %s: %s", sched_pod_namespace(j->pod),
				  sched_pod_name(j->pod), j->node, st.message);
		jv_doc_free(d);
		return;
	}
	atomic_fetch_add(&s->bound, 1);
	if (t)
		kc_event(s->rec, t, "Normal", "Scheduled", "Successfully assigned %s/%s to %s",
			 sched_pod_namespace(j->pod), sched_pod_name(j->pod), j->node);
	jv_doc_free(d);
}

static void rfc3339_now(char *buf, size_t len)
{
	time_t tt = time(NULL);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Evaluator.PreemptPod (kube 1.32): the DisruptionTarget condition, then the deletion, then
 * the Preempted Event on the victim; a victim already gone is skipped. The deletion carries
 * the victim's uid as a precondition (kube's has none) so a pod recreated under the same name
 * is never the one deleted. */
static void preempt_victim(struct scheduler *s, struct job *j, struct sched_pod *v)
{
	struct kc_delete_opts del = KC_DELETE_OPTS_INIT;
	struct k8s_buf b = {0};
	struct jv_doc *d;
	struct jv *t;
	char now[32];
	int err;

	rfc3339_now(now, sizeof(now));
	k8s_buf_printf(&b,
		       "{\"status\":{\"conditions\":[{\"type\":\"DisruptionTarget\",\"status\":"
		       "\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":\"%s\",\"reason\":"
		       "\"PreemptionByScheduler\",\"message\":",
		       now);
	k8s_buf_printf(&b, "\"%s: preempting to accommodate a higher priority pod\"}]}}",
		       s->cfg.name);
	err = b.oom ? -ENOMEM
		    : kc_patch(s->kc, s->k_pod, sched_pod_namespace(v), sched_pod_name(v), "status",
			       KC_PATCH_STRATEGIC, b.p, b.len, NULL, NULL, NULL);
	k8s_buf_free(&b);
	if (err) {
		if (err != -ENOENT)
			log_warn(COMP, "preempting %s/%s: status: %d", sched_pod_namespace(v),
				 sched_pod_name(v), err);
		return;
	}
	d = jv_doc_new();
	t = d ? cached_pod(s, v, d) : NULL;
	del.precondition_uid = sched_pod_uid(v);
	err =
	    kc_delete(s->kc, s->k_pod, sched_pod_namespace(v), sched_pod_name(v), &del, NULL, NULL);
	if (err == 0) {
		atomic_fetch_add(&s->preempted, 1);
		if (t)
			kc_event(s->rec, t, "Normal", "Preempted", "Preempted by pod %s on node %s",
				 sched_pod_uid(j->pod), j->post.nominated_node);
	} else if (err != -ENOENT) {
		log_warn(COMP, "preempting %s/%s: delete: %d", sched_pod_namespace(v),
			 sched_pod_name(v), err);
	}
	jv_doc_free(d);
}

/* prepareCandidate: the victims (those not terminating already), then the lower priority
 * pods nominated to the node lose their nomination (clearNominatedNodeName). */
static void prepare_candidate(struct scheduler *s, struct job *j)
{
	static const char clear[] = "{\"status\":{\"nominatedNodeName\":null}}";

	for (size_t i = 0; i < j->post.nvictims; i++)
		if (!sched_pod_terminating(j->post.victims[i]))
			preempt_victim(s, j, j->post.victims[i]);
	for (size_t i = 0; i < j->post.ndenominate; i++) {
		struct sched_pod *p = j->post.denominate[i];

		if (*sched_pod_nominated(s->core, p))
			kc_patch(s->kc, s->k_pod, sched_pod_namespace(p), sched_pod_name(p),
				 "status", KC_PATCH_MERGE, clear, sizeof(clear) - 1, NULL, NULL,
				 NULL);
	}
}

/* PodScheduled=False, reason Unschedulable, as kube-scheduler's handleSchedulingFailure
 * writes it (a strategic merge patch of the status: conditions merge by type) with the
 * PostFilter's nominatedNodeName, unless the pod already says so; and the FailedScheduling
 * Event. A preemption's victims go first (the PostFilter runs before handleSchedulingFailure). */
static void do_unschedulable(struct scheduler *s, struct job *j)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *t = d ? cached_pod(s, j->pod, d) : NULL;
	const struct jv *cond = NULL;
	struct k8s_buf b = {0};
	char now[32];
	const char *nnn = t ? jv_path_str(t, "status.nominatedNodeName") : NULL;
	bool nnn_update = j->post.nominate && strcmp(nnn ? nnn : "", j->post.nominated_node) != 0;

	prepare_candidate(s, j);
	if (!t) {
		jv_doc_free(d);
		return; /* gone meanwhile */
	}
	for (const struct jv *c = jv_first(jv_path(t, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "PodScheduled"))
			cond = c;
	kc_event(s->rec, t, "Warning", "FailedScheduling", "%s", j->message);
	if (cond && jv_is_str(jv_get(cond, "status"), "False") &&
	    jv_is_str(jv_get(cond, "reason"), "Unschedulable") &&
	    jv_is_str(jv_get(cond, "message"), j->message) && !nnn_update) {
		jv_doc_free(d);
		return;
	}
	rfc3339_now(now, sizeof(now));
	k8s_buf_puts(&b, "{\"status\":{");
	if (nnn_update) {
		if (j->post.nominated_node[0])
			k8s_buf_printf(&b, "\"nominatedNodeName\":\"%s\",", j->post.nominated_node);
		else
			k8s_buf_puts(&b, "\"nominatedNodeName\":null,");
	}
	k8s_buf_puts(&b, "\"conditions\":[{\"type\":\"PodScheduled\",\"status\":"
			 "\"False\",\"lastProbeTime\":null,\"lastTransitionTime\":\"");
	k8s_buf_puts(&b, now);
	k8s_buf_puts(&b, "\",\"reason\":\"Unschedulable\",\"message\":");
	k8s_buf_json_string(&b, j->message, strlen(j->message));
	k8s_buf_puts(&b, "}]}}");
	if (!b.oom && kc_patch(s->kc, s->k_pod, sched_pod_namespace(j->pod), sched_pod_name(j->pod),
			       "status", KC_PATCH_STRATEGIC, b.p, b.len, NULL, NULL, NULL) == 0)
		atomic_fetch_add(&s->unsched_writes, 1);
	k8s_buf_free(&b);
	jv_doc_free(d);
}

static void job_free(struct job *j)
{
	sched_pod_unref(j->pod);
	sched_result_clear(&j->post);
	free(j->message);
	free(j);
}

static void *worker_main(void *arg)
{
	struct scheduler *s = arg;
	struct job *j;

	while ((j = pop(s))) {
		if (j->bind)
			do_bind(s, j);
		else
			do_unschedulable(s, j);
		job_free(j);
	}
	return NULL;
}

/* ---- the scheduling loop ---- */

static void *loop_main(void *arg)
{
	struct scheduler *s = arg;
	struct sched_pod *p;

	while ((p = sched_pop(s->core, -1))) {
		struct sched_result r = {0};
		struct job *j;

		if (sched_schedule(s->core, p, &r) != 0) {
			/* out of memory: back-off and try again */
			sched_bind_done(s->core, p, -ENOMEM);
			sched_pod_unref(p);
			continue;
		}
		atomic_fetch_add(&s->decision_ns, r.decision_ns);
		j = calloc(1, sizeof(*j));
		if (!j) {
			if (r.scheduled)
				sched_bind_done(s->core, p, -ENOMEM);
			sched_result_clear(&r);
			sched_pod_unref(p);
			continue;
		}
		j->pod = p;
		j->bind = r.scheduled;
		if (r.scheduled) {
			snprintf(j->node, sizeof(j->node), "%s", r.node);
		} else {
			j->message = strdup(r.message ? r.message : "");
			/* the PostFilter's outcome moves to the job */
			j->post.nominate = r.nominate;
			memcpy(j->post.nominated_node, r.nominated_node, sizeof(r.nominated_node));
			j->post.victims = r.victims;
			j->post.nvictims = r.nvictims;
			j->post.denominate = r.denominate;
			j->post.ndenominate = r.ndenominate;
			r.victims = r.denominate = NULL;
			r.nvictims = r.ndenominate = 0;
			if (!j->message) {
				sched_result_clear(&r);
				j->pod = p;
				job_free(j);
				continue;
			}
		}
		sched_result_clear(&r);
		push(s, j);
	}
	return NULL;
}

/* ---- lifecycle ---- */

static struct kc_informer *informer(struct scheduler *s, const struct k8s_kind *k, const char *fsel,
				    const struct kc_handlers *h)
{
	struct kc_informer_opts o = {.kind = k, .field_selector = fsel};
	struct kc_informer *inf = kc_informer_new(s->kc, &o);

	if (inf && kc_informer_add_handlers(inf, h) != 0) {
		kc_informer_free(inf);
		return NULL;
	}
	return inf;
}

int scheduler_start(struct kclient *kc, const struct scheduler_config *cfg, struct scheduler **out)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	struct sched_opts so = {0};
	int err = -ENOMEM;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->kc = kc;
	s->cfg = *cfg;
	if (!s->cfg.name)
		s->cfg.name = "default-scheduler";
	if (!s->cfg.bind_workers)
		s->cfg.bind_workers = 16;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->k_pod = k8s_kind_find("v1", "Pod");
	s->k_node = k8s_kind_find("v1", "Node");
	s->k_ns = k8s_kind_find("v1", "Namespace");
	s->k_pdb = k8s_kind_find("policy/v1", "PodDisruptionBudget");
	so.scheduler_name = s->cfg.name;
	so.percentage_of_nodes_to_score = s->cfg.percentage_of_nodes;
	so.parallelism = s->cfg.parallelism;
	s->core = sched_new(&so);
	s->rec = kc_recorder_new(kc, s->cfg.name);
	if (!s->core || !s->rec)
		goto fail;
	/* what kube-scheduler's informers see: pods not finished (assigned ones feed the
	 * cache, unassigned ones the queue), nodes, namespaces (namespaceSelector) */
	s->pods = informer(s, s->k_pod, "status.phase!=Succeeded,status.phase!=Failed",
			   &(struct kc_handlers){pod_add, pod_update, pod_del, s});
	s->nodes =
	    informer(s, s->k_node, NULL, &(struct kc_handlers){node_add, node_update, node_del, s});
	s->nss = informer(s, s->k_ns, NULL, &(struct kc_handlers){ns_add, ns_update, ns_del, s});
	/* PodDisruptionBudgets for preemption */
	s->pdbs =
	    informer(s, s->k_pdb, NULL, &(struct kc_handlers){pdb_add, pdb_update, pdb_del, s});
	if (!s->pods || !s->nodes || !s->nss || !s->pdbs)
		goto fail;
	/* nodes and namespaces first: a pod's decision needs them */
	if ((err = kc_informer_start(s->nss)) || (err = kc_informer_start(s->nodes)) ||
	    (err = kc_informer_start(s->pdbs)))
		goto fail;
	kc_informer_wait_synced(s->nss, -1);
	kc_informer_wait_synced(s->nodes, -1);
	kc_informer_wait_synced(s->pdbs, -1);
	if ((err = kc_informer_start(s->pods)))
		goto fail;
	kc_informer_wait_synced(s->pods, -1);
	s->workers = calloc(s->cfg.bind_workers, sizeof(*s->workers));
	if (!s->workers) {
		err = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < s->cfg.bind_workers; i++) {
		err = -pthread_create(&s->workers[i], NULL, worker_main, s);
		if (err)
			goto fail;
		s->nworkers++;
	}
	err = -pthread_create(&s->loop, NULL, loop_main, s);
	if (err)
		goto fail;
	s->loop_started = true;
	log_info(COMP, "%s: scheduling (%u binding workers)", s->cfg.name, s->cfg.bind_workers);
	*out = s;
	return 0;
fail:
	scheduler_stop(s);
	return err;
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	if (s->core)
		sched_close(s->core);
	if (s->loop_started)
		pthread_join(s->loop, NULL);
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	/* jobs never run: their pods' references */
	for (struct job *j = s->head, *n; j; j = n) {
		n = j->next;
		job_free(j);
	}
	kc_informer_free(s->pods);
	kc_informer_free(s->nodes);
	kc_informer_free(s->nss);
	kc_informer_free(s->pdbs);
	kc_recorder_free(s->rec);
	sched_free(s->core);
	free(s->workers);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void scheduler_get_stats(struct scheduler *s, struct scheduler_stats *out)
{
	memset(out, 0, sizeof(*out));
	sched_get_stats(s->core, &out->core);
	out->bound = atomic_load(&s->bound);
	out->bind_conflicts = atomic_load(&s->conflicts);
	out->bind_errors = atomic_load(&s->bind_errors);
	out->unschedulable_writes = atomic_load(&s->unsched_writes);
	out->decision_ns_total = atomic_load(&s->decision_ns);
	out->preempted = atomic_load(&s->preempted);
}
