/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats: the dataplane's counters, read from both maps that hold them (drv_stats1, the
 * per-CPU hash of connections and exceptions, and drv_pkts2, the per-CPU array of forwarded
 * and reply packets), summed over CPUs into one list of (frontend, path, kind) rows.
 */
#ifndef DROVER_STATS_H
#define DROVER_STATS_H

#include "drover_abi.h"

#include <stddef.h>
#include <stdint.h>

struct stats_row {
	uint16_t rev_nat;
	uint8_t path; /* enum drv_path */
	uint8_t kind; /* enum drv_stat_kind */
	uint64_t packets;
	uint64_t bytes;
};

/* Rows with a non-zero count, sorted by frontend, path, kind; *rows is malloc'd. revnat_fd
 * lists the frontends whose packet counters are read. Returns 0 or -errno. */
int stats_collect(int stats_fd, int pkts_fd, int revnat_fd, struct stats_row **rows, size_t *n);
/* Sum of one (path, kind) over all frontends. */
uint64_t stats_total(const struct stats_row *rows, size_t n, uint8_t path, uint8_t kind);
const char *stats_kind_name(uint8_t kind);
const char *stats_path_name(uint8_t path);

#endif
