/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tl_flows: the exporter a node runs over its dataplane's telemetry: /metrics (tl_metrics.h)
 * and the flow events of the ring buffer drv_tlev1, consumed by a thread of its own
 * (libbpf's ring_buffer) into an in-memory ring of the most recent events, served as JSON
 * lines on /flows (all the ring holds) and /flows?follow=true (then each new one as it
 * comes). A follower that falls more than the ring's size behind loses the events
 * overwritten, and they are counted (drover_lost_events_total{stage="agent"}).
 *
 * The maps are opened by name under the pin root when first needed and retried until they
 * exist (the dataplane may load after the exporter starts, or run without telemetry).
 * Used by the agent's kubelet endpoint (agent_http.c) and by `drover telemetry serve`.
 */
#ifndef DROVER_TL_FLOWS_H
#define DROVER_TL_FLOWS_H

#include <microhttpd.h>
#include <stdbool.h>

#include "tl_metrics.h"

#define TL_RING_EVENTS_DEFAULT 4096

struct tl_exporter;

struct tl_exporter_config {
	const char *pin_root; /* copied */
	const char *node;     /* copied; the "node" of each flow, may be NULL */
	size_t ring_events;   /* 0: TL_RING_EVENTS_DEFAULT */
	struct tl_resolver res;
};

/* Start the ring buffer thread; NULL with errno set. */
struct tl_exporter *tl_exporter_new(const struct tl_exporter_config *c);
/* Followers end (before the HTTP daemon stops). */
void tl_exporter_shutdown(struct tl_exporter *e);
/* Stop the thread, free; NULL-tolerant. */
void tl_exporter_free(struct tl_exporter *e);

/* Prometheus text into out: 0 or -errno. */
int tl_exporter_metrics(struct tl_exporter *e, struct k8s_buf *out);
/* Add one event as the ring buffer would (tests; the ring thread). */
void tl_exporter_push(struct tl_exporter *e, const struct drv_tl_event *ev);
/* The events after *cursor (the count read so far; 0: from the first), up to max, into out;
 * the count. A cursor the ring has gone past more than its size moves to the oldest event
 * kept, and the events skipped count as lost. */
size_t tl_exporter_read(struct tl_exporter *e, uint64_t *cursor, struct drv_tl_event *out,
			size_t max);
/* The cursor of the oldest event the ring holds. */
uint64_t tl_exporter_oldest(struct tl_exporter *e);
/* One event as a JSON object (no newline). */
void tl_exporter_flow_json(struct tl_exporter *e, const struct drv_tl_event *ev,
			   struct k8s_buf *out);

/* The HTTP answers: GET /metrics; GET /flows[?follow=true]. */
enum MHD_Result tl_http_metrics(struct tl_exporter *e, struct MHD_Connection *c);
enum MHD_Result tl_http_flows(struct tl_exporter *e, struct MHD_Connection *c, bool follow);

#endif
