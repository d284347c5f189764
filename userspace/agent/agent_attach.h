/* SPDX-License-Identifier: Apache-2.0 */
/* agent_attach: a container's attachable stdio (agent_attach.c). */
#ifndef DROVER_AGENT_ATTACH_H
#define DROVER_AGENT_ATTACH_H

#include <stddef.h>

#include "k8s_jv.h"
#include "runtime.h"

/* The container's stdin, stdinOnce and tty (its spec) into spec, with the attach socket in
 * its run directory run_dir: path (size bytes) holds its name and must outlive spec. */
void agent_attach_spec(struct rt_spec *spec, const struct jv *ctr, const char *run_dir, char *path,
		       size_t size);

#endif
