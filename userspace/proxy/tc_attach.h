/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tc_attach: where drover's tc programs sit on a device (its clsact ingress, as the filter
 * with handle DRV_TC_HANDLE at priority DRV_TC_PRIORITY) and whether a program found there
 * is drover's. Shared by the proxy (dataplane.c) and drover-cni, which puts the proxy's
 * pinned drv_tc_pod on the host side of each pod's veth.
 */
#ifndef DROVER_TC_ATTACH_H
#define DROVER_TC_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#define TCA_NAME_LEN 16 /* BPF_OBJ_NAME_LEN */

/* Create the clsact qdisc on ifindex unless it has one (*created says which). 0 or -errno. */
int tca_clsact(int ifindex, bool *created);
/* Put prog_fd on ifindex's ingress as drover's filter, replacing drover's earlier one. 0 or
 * -errno. */
int tca_attach(int ifindex, int prog_fd);
/* The id of drover's filter's program on ifindex's ingress: 0 and *prog_id, or -errno. */
int tca_query(int ifindex, uint32_t *prog_id);
/* Remove drover's filter; with clsact also the clsact qdisc (and what else sits on it). */
void tca_detach(int ifindex, bool clsact);

/* The id of the map behind fd, or 0. */
uint32_t tca_map_id(int map_fd);
/* Is program prog_id drover's: its name starts with prefix and it uses the map map_id?
 * name (TCA_NAME_LEN, may be NULL) gets the program's name ("" when it cannot be read). */
bool tca_prog_ours(uint32_t prog_id, uint32_t map_id, const char *prefix, char *name);
/* The id of the program behind prog_fd, or 0. */
uint32_t tca_prog_id(int prog_fd);
/* How many filters sit on ifindex's clsact qdisc (ingress and egress), or -errno (-EINVAL,
 * -ENOENT: no clsact there). */
int tca_clsact_filters(int ifindex);

#endif
