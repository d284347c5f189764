/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_int: what sim.c (nodes, Leases, the node watch, the queues) and sim_pods.c (the pods
 * watches and the pod state machine) share.
 *
 * Work runs on three kclient work queues with their own workers, so that neither a flood
 * of pod updates nor thousands of watches starting delay a Lease renewal past the node
 * controller's grace:
 *   node queue:  "n/<node>" register, "l/<node>" renew the Lease (re-added every
 *                --lease-renew), "s/<node>" re-post the node's conditions, "d/<node>"
 *                delete the node and its Lease (--delete-on-exit);
 *   watch queue: "P" list the pods bound to the nodes that need it, "w/<node>" (re)start
 *                the node's pods watch, "W" (re)start the watch of the sim's Nodes;
 *   pod queue:   "<ns>/<name>" bring the pod's status to what its node would report.
 * Watch callbacks run on the client's one watch thread: they only record and queue.
 */
#ifndef DROVER_SIM_INT_H
#define DROVER_SIM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "hmap.h"
#include "kubelet_objects.h"
#include "sim.h"
#include "sim_cidr.h"
#include "workqueue.h"

struct sim;

struct sim_node {
	struct sim *s;
	unsigned index;
	char name[254];
	char cidr[20]; /* spec.podCIDR */
	char ip[16];   /* InternalIP */
	char zone[32]; /* or "" */
	bool existed;  /* found at start: reconciled, not created */
	atomic_bool registered;
	char uid[64]; /* written before registered is set */
	/* the Lease: only the "l/" key uses these */
	char lease_rv[32];
	unsigned lease_failures;
	bool lease_held; /* renewed once: counted in s->leases */
	/* the pods watch: the "w/" key, and the watch thread for watch_rv */
	struct kc_watch *watch;
	_Atomic uint64_t watch_rv;
	atomic_bool need_list;
	bool relisting; /* served by the list running now (the "P" key's) */
	bool listed;	/* listed once: a later list diffs against the records */
	bool watching;	/* watched once: counted in s->watching */
	/* pod addresses, under s->mu */
	struct sim_net pod_net;
	struct sim_ranges ipam;
};

enum sim_pod_state {
	POD_NEW,     /* not yet reported: gets an IP and a Running status */
	POD_RUNNING, /* reported Running (a Job's pod: until it succeeds) */
	POD_DONE,    /* Succeeded or Failed: holds no address */
};

/* One pod bound to a node of the sim, under s->mu. */
struct sim_pod {
	struct sim_node *node;
	char uid[64];
	struct kc_obj *obj; /* the latest seen while a status is still to be built, else NULL */
	uint32_t ip;	    /* held in node->ipam, or 0 */
	enum sim_pod_state state;
	bool job;
	bool deleted;			  /* its DELETED event came: drop it */
	bool terminating;		  /* deletionTimestamp set */
	bool finalized;			  /* our grace-0 delete went through */
	bool terminal;			  /* the server's phase is Succeeded or Failed */
	int64_t grace_s;		  /* deletionGracePeriodSeconds */
	uint64_t term_seen_ms, run_at_ms; /* monotonic */
	char started[32];		  /* startTime we reported */
	unsigned gen;			  /* list generation (re-list diff) */
};

struct sim {
	struct kclient *kc;
	const struct sim_config *cfg;
	struct kubelet_node_config kcfg; /* what kubelet_objects needs of cfg */
	const struct k8s_kind *k_node, *k_pod, *k_lease;
	struct sim_node *nodes;
	unsigned nnodes;
	struct hmap *by_name; /* name -> sim_node; read-only after sim_start */
	struct kc_queue *nq, *wq, *pq;
	struct kc_workers *nw, *ww, *pw;
	atomic_bool stopping;

	pthread_mutex_t mu;
	struct hmap *pods; /* "ns/name" -> sim_pod */
	unsigned list_gen;

	/* the watch of the sim's own Nodes (the "W" key and the watch thread) */
	struct kc_watch *node_watch;
	_Atomic uint64_t node_watch_rv;
	atomic_bool node_watch_list;

	uint64_t start_ms;
	_Atomic uint64_t registered_ms; /* when the last node registered, or 0 */
	atomic_uint registered, leases, watching;
	_Atomic uint64_t lease_renewals, lease_errors, pods_running, pods_succeeded, pods_deleted,
	    status_errors, node_reposts, watch_ends, watch_gone, relists;
	bool failed; /* under mu */
	char fail_msg[512];
};

#define SIM_COMP "sim"

uint64_t sim_now_ms(void);
/* now, as metav1.Time, into buf (32 bytes) */
const char *sim_now_str(char *buf);
/* A uniformly random double in [0, 1) (per-thread generator). */
double sim_rand(void);
/* Record an error no retry can mend; the command stops with it. */
void sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queue "<c>/<node>" on the node queue, now or after ms. */
void sim_queue_node(struct sim *s, char c, const struct sim_node *n);
void sim_queue_node_after(struct sim *s, char c, const struct sim_node *n, uint64_t ms);

/* sim_pods.c */
/* The "P" key: one list of every bound pod for the nodes that need a list (all at start;
 * then those whose watch got 410 Gone), whose watches then start from its
 * resourceVersion. */
int sim_pods_list_all(struct sim *s);
/* The "w/<node>" key: watch the node's pods (queues "P" when it needs a list first). */
int sim_pods_watch(struct sim *s, struct sim_node *n);
/* The pod queue's sync. */
int sim_pod_sync(void *arg, const char *key);
/* Free every pod record (after every watch and worker stopped). */
void sim_pods_free(struct sim *s);

#endif
