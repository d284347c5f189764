/* SPDX-License-Identifier: Apache-2.0 */
/* stats: summing per-CPU counters of drv_stats1 and drv_pkts2. */
#include "stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct rows {
	struct stats_row *v;
	size_t n, cap;
};

static int push(struct rows *r, uint16_t rev_nat, uint8_t path, uint8_t kind, uint64_t packets,
		uint64_t bytes)
{
	if (!packets && !bytes)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		void *p = realloc(r->v, cap * sizeof(*r->v));

		if (!p)
			return -ENOMEM;
		r->v = p;
		r->cap = cap;
	}
	r->v[r->n++] = (struct stats_row){rev_nat, path, kind, packets, bytes};
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct stats_row *x = a, *y = b;

	if (x->rev_nat != y->rev_nat)
		return x->rev_nat < y->rev_nat ? -1 : 1;
	if (x->path != y->path)
		return x->path < y->path ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

int stats_collect(int stats_fd, int pkts_fd, int revnat_fd, struct stats_row **out, size_t *n)
{
	int ncpu = libbpf_num_possible_cpus();
	struct rows r = {0};
	void *vals;
	bool have = false;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(struct drv_fe_pkts));
	if (!vals)
		return -ENOMEM;
	if (stats_fd >= 0) {
		struct drv_stats_key key, next;
		struct drv_stats_val *sv = vals;

		while (!err && bpf_map_get_next_key(stats_fd, have ? &key : NULL, &next) == 0) {
			uint64_t p = 0, b = 0;

			key = next;
			have = true;
			if (bpf_map_lookup_elem(stats_fd, &key, sv))
				continue;
			for (int i = 0; i < ncpu; i++) {
				p += sv[i].packets;
				b += sv[i].bytes;
			}
			err = push(&r, key.rev_nat, key.path, key.kind, p, b);
		}
	}
	if (pkts_fd >= 0 && revnat_fd >= 0) {
		uint32_t id, next;

		have = false;
		while (!err && bpf_map_get_next_key(revnat_fd, have ? &id : NULL, &next) == 0) {
			struct drv_fe_pkts *pv = vals, t = {0};

			id = next;
			have = true;
			if (bpf_map_lookup_elem(pkts_fd, &id, pv))
				continue;
			for (int i = 0; i < ncpu; i++) {
				t.sock_connects += pv[i].sock_connects;
				t.tc_fwd_packets += pv[i].tc_fwd_packets;
				t.tc_fwd_bytes += pv[i].tc_fwd_bytes;
				t.tc_reply_packets += pv[i].tc_reply_packets;
				t.tc_reply_bytes += pv[i].tc_reply_bytes;
				t.xdp_fwd_packets += pv[i].xdp_fwd_packets;
				t.xdp_fwd_bytes += pv[i].xdp_fwd_bytes;
				t.xdp_reply_packets += pv[i].xdp_reply_packets;
				t.xdp_reply_bytes += pv[i].xdp_reply_bytes;
			}
			err = push(&r, (uint16_t)id, DRV_PATH_SOCK, DRV_STAT_CONNECT,
				   t.sock_connects, 0);
			if (!err)
				err = push(&r, (uint16_t)id, DRV_PATH_TC, DRV_STAT_FWD,
					   t.tc_fwd_packets, t.tc_fwd_bytes);
			if (!err)
				err = push(&r, (uint16_t)id, DRV_PATH_TC, DRV_STAT_REPLY,
					   t.tc_reply_packets, t.tc_reply_bytes);
			if (!err)
				err = push(&r, (uint16_t)id, DRV_PATH_XDP, DRV_STAT_FWD,
					   t.xdp_fwd_packets, t.xdp_fwd_bytes);
			if (!err)
				err = push(&r, (uint16_t)id, DRV_PATH_XDP, DRV_STAT_REPLY,
					   t.xdp_reply_packets, t.xdp_reply_bytes);
		}
	}
	free(vals);
	if (err) {
		free(r.v);
		return err;
	}
	if (r.n)
		qsort(r.v, r.n, sizeof(*r.v), cmp_row);
	*out = r.v;
	*n = r.n;
	return 0;
}

uint64_t stats_total(const struct stats_row *rows, size_t n, uint8_t path, uint8_t kind)
{
	uint64_t t = 0;

	for (size_t i = 0; i < n; i++) {
		if (rows[i].path == path && rows[i].kind == kind)
			t += rows[i].packets;
	}
	return t;
}

const char *stats_kind_name(uint8_t k)
{
	switch (k) {
	case DRV_STAT_FWD:
		return "forwarded";
	case DRV_STAT_REPLY:
		return "reply";
	case DRV_STAT_CONNECT:
		return "connect";
	case DRV_STAT_REFUSED:
		return "refused";
	case DRV_STAT_REJECTED:
		return "rejected(icmp)";
	case DRV_STAT_REDIRECT_PEER:
		return "redirect-peer";
	case DRV_STAT_ICMP_ERROR:
		return "icmp-error";
	case DRV_STAT_FRAG_NEEDED:
		return "frag-needed(icmp)";
	case DRV_DROP_NO_BACKEND:
		return "drop:no-backend";
	case DRV_DROP_BACKEND_GONE:
		return "drop:backend-gone";
	case DRV_DROP_CT_FULL:
		return "drop:ct-full";
	case DRV_DROP_NAT_EXHAUSTED:
		return "drop:nat-exhausted";
	case DRV_DROP_MALFORMED:
		return "drop:malformed";
	case DRV_DROP_CSUM:
		return "drop:csum";
	case DRV_DROP_FRAGMENT:
		return "drop:fragment";
	case DRV_DROP_MAGLEV:
		return "drop:maglev";
	case DRV_DROP_FIB:
		return "drop:fib";
	case DRV_DROP_SOURCE_RANGE:
		return "drop:source-range";
	case DRV_DROP_TOO_BIG:
		return "drop:too-big";
	case DRV_DROP_NO_LOCAL:
		return "drop:no-local-endpoint";
	default:
		return "?";
	}
}

const char *stats_path_name(uint8_t p)
{
	return p == DRV_PATH_SOCK  ? "socket"
	       : p == DRV_PATH_TC  ? "tc"
	       : p == DRV_PATH_XDP ? "xdp"
				   : "?";
}
