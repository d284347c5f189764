/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dataplane_int: what dataplane.c shares with its telemetry loader (dp_telemetry.c). Not for
 * other modules.
 */
#ifndef DROVER_DATAPLANE_INT_H
#define DROVER_DATAPLANE_INT_H

#include "dataplane.h"

#include <linux/types.h>

struct bpf_object;
struct bpf_program;
struct telemetry_bpf;

/* Before load: size the object's maps as the options ask, or as their pinned instance is. */
int dp_size_maps(const char *pin_root, const struct dp_opts *o, struct bpf_object *obj);

/* Attach prog to the cgroup (cg_fd, its inode number cg_id) with a link pinned as
 * <pin-root>/links/<prog name>; a pinned link on the same cgroup gets the new program swapped
 * in (bpf_link__update_program: no moment without one), one on another cgroup is moved.
 * 0 or -errno (logged). */
int dp_attach_cgroup_prog(const char *pin_root, const char *cgroup, struct bpf_program *prog,
			  int cg_fd, __u64 cg_id);

/* telemetry.bpf.c opened and loaded against the pins under pin_root; NULL (warned) when the
 * kernel cannot. */
struct telemetry_bpf *dp_tl_open(const char *pin_root, const struct dp_opts *o);
/* Attach every program to the cgroup as dp_attach_cgroup_prog does. 0, or -errno (warned;
 * what was attached is detached again). */
int dp_tl_attach(struct telemetry_bpf *tl, const char *pin_root, const char *cgroup);
/* Detach the telemetry links an earlier run pinned (telemetry turned off). */
void dp_tl_detach(const char *pin_root);
void dp_tl_close(struct telemetry_bpf *tl);

#endif
