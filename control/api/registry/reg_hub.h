/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_hub: what reg_watch.c (a watch as its consumer sees it) and reg_hub.c (the fan-out that
 * feeds it) share: the watch itself, its bounded queue of shared events, its set, and the
 * calls between the two. Nothing outside the registry includes this.
 *
 * Locks, always in this order: reg_hubs.lock (every hub: its store watch, ring and index;
 * the hub thread holds it while it dispatches) -> reg_watch.lock (its queue, err, notified)
 * -> the set's ready list (store_ready.h).
 */
#ifndef DROVER_REG_HUB_H
#define DROVER_REG_HUB_H

#include <pthread.h>
#include <stdatomic.h>

#include "reg_int.h"
#include "store_ready.h"

/* How a watcher gets an event: which state and as what. */
enum hev_variant {
	HV_NONE = 0,
	HV_ADDED,     /* the new state: created, or moved into the selection */
	HV_MODIFIED,  /* the new state */
	HV_MOVED_OUT, /* DELETED with the new state: an update moved it out of the selection */
	HV_DELETED,   /* DELETED with the last state */
	HV_N
};

struct hline {
	size_t len;
	char *p;
};

/* One change of a hub's resource (or of a fallback watch's), shared by reference by every
 * watcher that gets it; its stream lines are encoded on first use, once per variant. */
struct reg_hev {
	atomic_uint refs;
	struct store_event *se; /* holds the store's reference */
	_Atomic(struct hline *) line[HV_N];
};

struct reg_watch_set {
	struct store_ready r; /* of struct reg_watch */
};

struct hub;
struct bucket;

struct reg_watch {
	struct registry *reg;
	const struct api_resource *res;	 /* stored */
	const struct api_resource *wire; /* requested, when served by conversion */
	struct api_selector *sel;
	bool tree;
	char prefix[1024]; /* the keys it sees: the collection's, in its namespace */
	size_t prefix_len;
	struct reg_watch_set *set;

	/* the queue a hub fills (lock) */
	pthread_mutex_t lock;
	struct hq {
		struct reg_hev *h;
		int v;
	} * q;
	size_t head, len, cap, limit;
	int err;       /* the end: -STORE_ESLOW, -STORE_ECLOSED; the queue is dropped */
	bool notified; /* on the set's ready list or handed out, not drained since */

	/* its source: a hub, or (a resourceVersion older than the hub's ring) its own store
	 * watch, whose readiness the hub thread forwards to the set */
	struct hub *hub;
	struct store_watch *sw;

	/* the hub's (under reg_hubs.lock) */
	uint64_t after; /* events after this revision */
	struct bucket *bucket;
	size_t bidx;
	bool touched;
	struct reg_watch *touched_next;

	/* the consumer's */
	struct store_list init; /* initial ADDED events, delivered first */
	size_t init_next;
	uint64_t rev;		/* latest revision reached */
	struct k8s_buf scratch; /* an initial event's line */
};

/* ---- reg_hev.c ---- */

/* Put w on set's ready list (caller holds w->lock): 0, or -ENOMEM (not put: the consumer's
 * periodic reg_watch_pending finds it); take it off (every occurrence). */
int reg_set_add(struct reg_watch_set *set, struct reg_watch *w);
void reg_set_remove(struct reg_watch_set *set, struct reg_watch *w);
void reg_hev_get(struct reg_hev *h);

/* ---- reg_hub.c ---- */

int reg_hubs_new(struct registry *reg);
/* Stops the hub thread and closes the hubs (every watch is closed already). */
void reg_hubs_free(struct registry *reg);
/* The hub of res exists (so that a list taken now is within what it holds). 0 or -errno. */
int reg_hub_prepare(struct registry *reg, const struct api_resource *res);
/* Attach w (set up, unattached) for the events after w->after: to the hub of w->res when its
 * ring reaches back that far (the ring's events after it are queued at once), else to a store
 * watch of its own. 0, -STORE_ECOMPACTED (older than the store keeps), another -errno. */
int reg_hub_join(struct reg_watch *w);
/* End every watch of res (stored or requested as it): its custom resource is served no more
 * (the consumers see -STORE_ECLOSED, as when the server stops). */
void reg_hub_end_resource(struct registry *reg, const struct api_resource *res);
/* Detach w from its source and its set. */
void reg_hub_leave(struct reg_watch *w);
/* The consumer's side of the queue: 1 (*h with a reference, *v), 0 (empty: no longer
 * notified, the next event signals the set) or w->err. */
int reg_hub_pop(struct reg_watch *w, struct reg_hev **h, int *v);
/* Latest revision the hub passed on to its watchers (all of w's up to it are queued). */
uint64_t reg_hub_progress(const struct reg_watch *w);
/* A fallback watch found its store watch drained: it is not notified any more (then check
 * the store watch once more: an event may have come in between). */
void reg_hub_unnotify(struct reg_watch *w);

/* The variant of event se for watch w (its namespace, its selector and the states the
 * event moves between): HV_NONE when w does not get it. The states are parsed into d (made
 * on first need: free it with hev_trees_done) at most once however many watches ask. */
struct hev_trees {
	const struct store_event *se;
	struct jv_doc *d;
	struct jv *cur, *prev;
	bool cur_done, prev_done;
};
int reg_hev_variant(const struct reg_watch *w, struct hev_trees *t);
/* The new state and the previous one (NULL: none, or corrupt), parsed on first use. */
struct jv *hev_cur(struct hev_trees *t);
struct jv *hev_prev(struct hev_trees *t);
void hev_trees_done(struct hev_trees *t);
struct reg_hev *reg_hev_new(struct store_event *se);
const struct hline *reg_hev_line(struct reg_hev *h, int v);

#endif
