/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source: where the proxy's Services and EndpointSlices come from. A source turns its input
 * into model_set_* / model_del_* calls; the proxy then commits the model. The map code never
 * sees a source, so an API-server watch plugs in as one more implementation of these ops.
 *
 * Implementations: manifests (YAML/JSON files, re-read on SIGHUP and on file change).
 */
#ifndef DROVER_SOURCE_H
#define DROVER_SOURCE_H

#include "model.h"

#include <stdbool.h>

struct proxy_source;

struct proxy_source_ops {
	const char *name;
	/* Read everything and bring the model in line with it. *changed: the model was touched.
	 * On invalid input or a file that cannot be read: log one clear line, leave the model as
	 * it was, return -EINVAL (or the read's error). -ENOMEM: the model was not brought fully
	 * in line (each object is old or new); the caller reloads everything again later. */
	int (*sync)(struct proxy_source *s, struct proxy_model *m, bool *changed);
	/* A descriptor to poll for input, or -1. */
	int (*fd)(struct proxy_source *s);
	/* The descriptor is readable: apply what arrived (errors as sync's). */
	int (*dispatch)(struct proxy_source *s, struct proxy_model *m, bool *changed);
	void (*free)(struct proxy_source *s);
};

struct proxy_source {
	const struct proxy_source_ops *ops;
};

/* path: a manifest file or a directory of *.yaml, *.yml, *.json files. */
struct proxy_source *source_manifests_new(const char *path);

static inline void source_free(struct proxy_source *s)
{
	if (s)
		s->ops->free(s);
}

#endif
