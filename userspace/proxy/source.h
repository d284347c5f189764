/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source: where the proxy's Services and EndpointSlices come from. A source turns its input
 * into model_set_* / model_del_* calls on the proxy's thread; the proxy then commits the
 * model. The map code never sees a source.
 *
 * Implementations:
 *   manifests  YAML/JSON files, re-read on change and on SIGHUP; a reload with anything
 *              invalid applies nothing (source_manifests.c). Documents whose bytes did not
 *              change are not decoded again (DROVER_MANIFESTS_DOC_CACHE=0 in the
 *              environment turns that off, for benchmarks).
 *   api        a list+watch of the API server through kclient's informers (source_api.c):
 *              a stream of objects the server already validated, so one bad object is
 *              logged and skipped, the others apply.
 *
 * The proxy's loop: start(); then poll fd() with timeout_ms() and call dispatch() when it is
 * readable or the timeout passed. Nothing is committed before synced(): the first commit is
 * a full one (it sweeps every pinned frontend the model lacks, the reconcile after a
 * restart), so a partial picture must never reach it; until then the pinned state keeps
 * serving.
 */
#ifndef DROVER_SOURCE_H
#define DROVER_SOURCE_H

#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proxy_source;
struct kclient;

/* What a call cost, for the log and the benchmarks (zero where a source does not measure). */
struct source_cost {
	uint64_t read_ns;    /* reading files */
	uint64_t decode_ns;  /* parsing and decoding them into objects */
	uint64_t model_ns;   /* checking the objects, and the model's set and delete calls */
	size_t docs;	     /* documents read */
	size_t docs_decoded; /* of those, parsed and decoded (the others were unchanged) */
	size_t objs_decoded; /* the objects in them (of other kinds too) */
};

/* What a call did to the model. */
struct source_delta {
	bool changed;  /* objects were set or deleted: commit */
	bool replaced; /* the model was brought in line with a complete new picture (a re-list
			* after the watch history expired, a reload): commit with full=true,
			* which also removes frontends in the maps that no service claims */
	struct source_cost cost;
};

struct proxy_source_ops {
	const char *name;
	/* Begin. manifests: read everything (errors as reload's; the proxy then exits with
	 * nothing changed in the kernel). api: start the watches (input arrives later). */
	int (*start)(struct proxy_source *s, struct proxy_model *m, struct source_delta *d);
	/* The model holds a complete picture (stays true once it is). */
	bool (*synced)(struct proxy_source *s);
	/* A descriptor to poll for input, or -1. */
	int (*fd)(struct proxy_source *s);
	/* Milliseconds until dispatch wants to run without input; -1: only on input. */
	int (*timeout_ms)(struct proxy_source *s);
	/* Apply what arrived. 0; -ENOMEM: some of it could not be applied (each object is
	 * old or new), the caller reloads later; manifests: -EINVAL on invalid input, nothing
	 * applied (one clear line logged). */
	int (*dispatch)(struct proxy_source *s, struct proxy_model *m, struct source_delta *d);
	/* Bring the model in line with everything again (SIGHUP; after -ENOMEM). manifests:
	 * re-read every file (all or nothing); api: replace the model's objects with what the
	 * watches' caches hold, deleting what they no longer have. Errors as dispatch's. */
	int (*reload)(struct proxy_source *s, struct proxy_model *m, struct source_delta *d);
	void (*free)(struct proxy_source *s);
};

struct proxy_source {
	const struct proxy_source_ops *ops;
};

/* path: a manifest file or a directory of *.yaml, *.yml, *.json files. */
struct proxy_source *source_manifests_new(const char *path, uint16_t nodeport_min,
					  uint16_t nodeport_max);

/* Services and EndpointSlices of every namespace from the API server of a kubeconfig
 * (kubeconfig NULL: $KUBECONFIG, then ~/.kube/config). NULL with one line logged when the
 * kubeconfig cannot be read. */
struct proxy_source *source_api_new(const char *kubeconfig);
/* The same over a client the caller owns (and frees after the source). */
struct proxy_source *source_api_new_client(struct kclient *c);
/* For tests: hold the Services' and the EndpointSlices' informer (true: its watch stops,
 * nothing is listed or watched until released; kc_informer_hold). */
void source_api_hold(struct proxy_source *s, bool services, bool slices);
/* For tests: the next n objects the watches deliver cannot be queued for the proxy's thread,
 * as when memory runs out there; the source must recover by itself. */
void source_api_fail_queue(struct proxy_source *s, unsigned n);

static inline void source_free(struct proxy_source *s)
{
	if (s)
		s->ops->free(s);
}

#endif
