/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbmap_int.h: lbmap's internals, shared by its three files: lbmap.c (state, ids, upsert,
 * delete), lbmap_commit.c (writing a transaction phase by phase), lbmap_adopt.c (rebuilding
 * the state from pinned maps after a restart). Nothing outside lbmap includes this.
 */
#ifndef DROVER_LBMAP_INT_H
#define DROVER_LBMAP_INT_H

#include "drover_abi.h"
#include "hmap.h"
#include "lbmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LBMAP_COMP "lbmap"

struct fe_state {
	struct lb_fe_key key;
	uint16_t rev_nat;
	uint16_t flags;
	uint32_t affinity_timeout;
	uint32_t count;	 /* master count */
	uint32_t nslots; /* slot entries present (== count after a successful commit) */
	uint32_t cap;
	uint32_t *slots;     /* backend id of slot i+1 */
	uint8_t *slot_flags; /* its enum drv_slot_flags (as large as slots) */
	uint32_t maglev_size;
	bool has_master;
	bool marked;
	bool failed;
	bool maglev_valid; /* the Maglev table in the map matches slots */
	bool deleting;
	bool slot_dels; /* slot deletions of this frontend are queued in this transaction */
	bool touched;	/* on m->touched */
	char name[64];
};

/* The backend flags drv_be4 holds: those the datapath reads. */
#define LBM_BE_MAP_FLAGS DRV_BE_F_LOCAL

/* One drv_be4 entry: an address:port/protocol with the flags the datapath reads
 * (LBM_BE_MAP_FLAGS), which are part of its identity, as kube-proxy keeps endpoint state per
 * service: two services whose slices place one endpoint on different nodes point at two
 * entries, each with its own flags, whatever order they are written in and across a
 * restart. Terminating is not among them: it is said by each service in its slot
 * (fe_state.slot_flags), so an endpoint that starts terminating keeps its id, and the flows
 * that hold the id (drv_skudp1, conntrack, affinity) keep it. */
struct be_state {
	struct lb_backend be; /* flags: LBM_BE_MAP_FLAGS only */
	uint32_t id;
	uint32_t refs;
	bool in_map;
	bool rewrite; /* in the map with other flags (an older proxy's): written again */
	bool queued;  /* a put is queued in this transaction */
	bool failed;
	bool maybe_dead; /* on m->zero: its count fell to 0 in this transaction */
};

struct op_vec {
	size_t n, cap, ksz, vsz;
	unsigned char *keys;
	unsigned char *vals;
	void **owner;
};

struct maglev_op {
	struct fe_state *fe;
	uint32_t rev_nat;
	int inner_fd;  /* -1: delete the table */
	uint32_t *ids; /* backend ids in the table, to check against failed backends */
	size_t nids;
};

struct removed {
	struct lb_fe_key fe;
	struct lb_backend be;
	uint16_t rev_nat;
	uint32_t be_id;
	/* the frontend still serves the address under this id (its node changed): affinity
	 * follows the endpoint there, and its UDP sockets are not the caller's business */
	uint32_t moved_to;
	bool affinity;
};

/* Room in a hash map: a write of a new key fails once max entries exist, so lbmap counts
 * and refuses a frontend that cannot fit before writing any of it ("what fits serves"). */
struct room {
	uint32_t max;
	uint32_t used;	  /* entries in the map after the last commit */
	uint32_t pending; /* new keys queued in this transaction */
	const char *name;
};

struct lbmap {
	struct lbmap_fds fd;
	uint32_t maglev_max;
	struct room r_svc, r_be, r_rnat, r_mag;
	bool full_logged;
	bool id_logged;	  /* "no free frontend id" said in this transaction */
	struct hmap *fes; /* lb_fe_key -> fe_state */
	struct hmap *bes; /* (addr, port, proto, LBM_BE_MAP_FLAGS) -> be_state */
	/* id -> be_state: ids are handed out densely (freed ones are reused first), so an
	 * array indexed by id is the cheapest lookup. */
	struct be_state **be_by_id;
	size_t nbe_by_id;
	uint8_t revnat_used[(DRV_REVNAT_MAX + 1) / 8 + 1];
	uint32_t revnat_next;
	uint32_t be_next_id;
	uint32_t *free_ids;
	size_t nfree, capfree;

	/* transaction */
	struct op_vec be_put, rnat_put, name_put, slot_put, master_put;
	struct op_vec master_del, slot_del, be_del, rnat_del, name_del;
	struct maglev_op *mag;
	size_t nmag, capmag;
	struct removed *rm;
	size_t nrm, caprm;
	struct lb_fe_key *failed;
	size_t nfailed, capfailed;
	/* What this transaction touched, so that a commit costs O(the change), not O(all). */
	struct fe_state **touched;
	size_t ntouched, captouched;
	struct be_state **zero;
	size_t nzero, capzero;
	bool in_tx;

	lbmap_removed_fn removed_cb;
	void *removed_ud;
	lbmap_trace_fn trace;
	void *trace_ud;
	struct lbmap_counters ctr;
};

/* m->bes key: a backend's identity (see be_state) */
struct be_tuple {
	uint32_t addr;
	uint16_t port;
	uint8_t proto;
	uint8_t flags; /* enum drv_backend_flags, LBM_BE_MAP_FLAGS only */
};

int lbm_op_push(struct op_vec *v, const void *key, const void *val, void *owner);
void lbm_fe_touch(struct lbmap *m, struct fe_state *fe);
struct be_tuple lbm_be_tuple_of(const struct lb_backend *b);
struct drv_svc_key lbm_svc_key(const struct lb_fe_key *k, uint16_t slot);
bool lbm_revnat_test(struct lbmap *m, uint32_t id);
void lbm_revnat_set(struct lbmap *m, uint32_t id, bool used);
void lbm_be_id_release(struct lbmap *m, uint32_t id);
void lbm_room_recount(struct lbmap *m);
void lbm_fe_free(struct fe_state *fe);
void lbm_tx_reset(struct lbmap *m);
void lbm_trace_op(const struct lbmap *m, int fd, const struct op_vec *v, size_t i, bool del);
struct be_state *lbm_be_lookup_id(struct lbmap *m, uint32_t id);
int lbm_be_id_set(struct lbmap *m, uint32_t id, struct be_state *s);
void lbm_be_maybe_dead(struct lbmap *m, struct be_state *s);
void lbm_be_forget(struct lbmap *m, struct be_state *s);
int lbm_fe_reserve(struct fe_state *fe, uint32_t n);
void lbm_fe_fail(struct lbmap *m, struct fe_state *fe);
void lbm_recount_refs(struct lbmap *m);

#endif
