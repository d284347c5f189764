/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctrl_workload: what the ReplicaSet and Deployment tests share: a kubelet stand-in step
 * (pods not ready made Running and Ready, pods being deleted finished), integer fields of
 * objects, Events by reason, and a pod watch that records, at every event, how many pods
 * exist (not being deleted) and how many of them are available.
 */
#ifndef DROVER_TEST_CTRL_WORKLOAD_H
#define DROVER_TEST_CTRL_WORKLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctrl_helpers.h"

/* One kubelet round over the pods of ns matching sel: every pod being deleted is removed
 * (grace 0), every other pod not Ready is bound to node (if unbound) and made Running and
 * Ready. Returns how many pods it changed. */
size_t cw_kubelet_step(struct cenv *e, const char *ns, const char *sel, const char *node);
/* Finish (delete with grace 0) the pods of ns matching sel that are being deleted. */
size_t cw_finish_terminating(struct cenv *e, const char *ns, const char *sel);

/* An integer field (path) of ns/name; -1 if absent; -2 if the object is missing. */
int64_t cw_int(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
	       const char *path);
/* A string field of ns/name into buf ("" if absent); buf. */
const char *cw_str(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
		   const char *path, char *buf, size_t size);
/* An Event in ns with this reason whose message contains msg (NULL: any), about an object
 * named obj (NULL: any); its count (0: none). */
int64_t cw_event(struct cenv *e, const char *ns, const char *reason, const char *obj,
		 const char *msg);
/* Pods in ns matching sel that are not being deleted. */
size_t cw_live_pods(struct cenv *e, const char *ns, const char *sel);
/* Merge-patch ns/name of kind k (asserts success). */
void cw_patch(struct cenv *e, const struct k8s_kind *k, const char *ns, const char *name,
	      const char *patch);

/* A watch of the pods of ns matching sel that keeps, after every event, the number of pods
 * not being deleted (live) and of those Ready (available), and of the distinct
 * pod-template-hash labels among all pods there (being deleted or not), with their extremes
 * since cw_watch_reset. */
struct cw_watch {
	pthread_mutex_t lock;
	struct kc_watch *w;
	struct hmap *pods; /* name -> struct cw_pod */
	int live, avail, hashes;
	int max_live, min_avail, max_hashes;
	unsigned events;
	bool ended;
};
void cw_watch_start(struct cenv *e, struct cw_watch *w, const char *ns, const char *sel);
void cw_watch_reset(struct cw_watch *w);
void cw_watch_stop(struct cw_watch *w);

const struct k8s_kind *kind_rs(void);
const struct k8s_kind *kind_deploy(void);
const struct k8s_kind *kind_event(void);

#endif
