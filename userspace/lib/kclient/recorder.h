/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recorder: client-go's EventRecorder: a component (a controller, the scheduler, a node
 * agent) records what it did to an object as a core/v1 Event, which `kubectl describe` and
 * `kubectl get events` show. As client-go's EventCorrelator: an Event identical to one
 * recorded in the last ten minutes (same object, type, reason and message) is not created
 * again: the existing one's count and lastTimestamp grow. Writes are asynchronous (a thread
 * per recorder); a full queue drops the event and counts it, never blocks the caller.
 */
#ifndef DROVER_KC_RECORDER_H
#define DROVER_KC_RECORDER_H

#include <stdint.h>

#include "kclient.h"

struct kc_recorder;

/* A recorder writing through c (borrowed; it outlives the recorder) as component (its
 * source.component and reportingController, "replicaset-controller"). NULL on ENOMEM. */
struct kc_recorder *kc_recorder_new(struct kclient *c, const char *component);
/* Write what is queued, stop and free; NULL-tolerant. */
void kc_recorder_free(struct kc_recorder *r);

/* Record an Event about obj (a tree with kind, apiVersion and metadata): type "Normal" or
 * "Warning", a CamelCase reason, a message. */
void kc_event(struct kc_recorder *r, const struct jv *obj, const char *type, const char *reason,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

struct kc_recorder_stats {
	uint64_t created, aggregated, dropped, failed;
};
void kc_recorder_stats(struct kc_recorder *r, struct kc_recorder_stats *out);
/* Wait until every event recorded so far was written (tests). */
void kc_recorder_flush(struct kc_recorder *r);

#endif
