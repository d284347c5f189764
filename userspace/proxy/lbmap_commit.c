/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbmap_commit: writes one transaction: batch syscalls per map and phase, failures
 * attributed to their frontend (whose master is then not written), the state re-read from
 * the maps after a failure, and the clean-up of what the transaction left unused.
 */
#define _GNU_SOURCE
#include "lbmap_int.h"
#include "array.h"
#include "log.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP LBMAP_COMP

/* ---------- commit ---------- */

void lbm_fe_fail(struct lbmap *m, struct fe_state *fe)
{
	if (!fe || fe->failed)
		return;
	fe->failed = true;
	lbm_fe_touch(m, fe);
	if (ARRAY_GROW(m->failed, m->capfailed, m->nfailed + 1) == 0)
		m->failed[m->nfailed++] = fe->key;
}

/* Write ops[from..] one by one after a batch stopped; returns how many failed. */
static size_t flush_slow(struct lbmap *m, int fd, struct op_vec *v, size_t from, bool del,
			 const char *what, void (*on_fail)(struct lbmap *, struct op_vec *, size_t))
{
	bool fe_owned = v == &m->rnat_put || v == &m->slot_put || v == &m->master_put;
	size_t failed = 0;

	for (size_t i = from; i < v->n; i++) {
		void *k = v->keys + i * v->ksz;
		struct fe_state *owner = fe_owned ? v->owner[i] : NULL;
		int r;

		if (owner && owner->failed)
			continue; /* the rest of a failed frontend's writes are not made */
		r = del ? bpf_map_delete_elem(fd, k)
			: bpf_map_update_elem(fd, k, v->vals + i * v->vsz, BPF_ANY);

		if (r == 0) {
			if (del)
				m->ctr.entries_deleted++;
			else
				m->ctr.entries_written++;
			lbm_trace_op(m, fd, v, i, del);
			continue;
		}
		if (del && errno == ENOENT)
			continue;
		failed++;
		m->ctr.write_failures++;
		if (failed == 1)
			log_warn(COMP, "%s %s: %s%s", del ? "delete from" : "write to", what,
				 strerror(errno),
				 errno == E2BIG || errno == ENOMEM ? " (map full)" : "");
		if (on_fail)
			on_fail(m, v, i);
	}
	return failed;
}

/* Flush one op vector with batch syscalls. In the vectors whose owners are frontends
 * (fe_owned), ops of frontends that already failed in an earlier phase are skipped. */
static size_t flush(struct lbmap *m, int fd, struct op_vec *v, bool del, const char *what,
		    void (*on_fail)(struct lbmap *, struct op_vec *, size_t))
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	bool fe_owned = v == &m->rnat_put || v == &m->slot_put || v == &m->master_put;
	size_t w = 0;
	__u32 count;
	int r;

	for (size_t i = 0; i < v->n; i++) {
		struct fe_state *fe = fe_owned ? v->owner[i] : NULL;

		if (fe && fe->failed)
			continue;
		if (w != i) {
			memmove(v->keys + w * v->ksz, v->keys + i * v->ksz, v->ksz);
			if (v->vsz)
				memmove(v->vals + w * v->vsz, v->vals + i * v->vsz, v->vsz);
			v->owner[w] = v->owner[i];
		}
		w++;
	}
	v->n = w;
	if (!v->n)
		return 0;
	/* Deleting through the batch interface costs the kernel a round of synchronisation
	 * per call (measured: ~0.1 ms whatever the count); the few deletes of a single change
	 * are cheaper one by one. */
	if (del && v->n <= 16)
		return flush_slow(m, fd, v, 0, del, what, on_fail);
	count = (__u32)v->n;
	r = del ? bpf_map_delete_batch(fd, v->keys, &count, &opts)
		: bpf_map_update_batch(fd, v->keys, v->vals, &count, &opts);
	for (size_t i = 0; i < count && i < v->n; i++)
		lbm_trace_op(m, fd, v, i, del);
	if (del)
		m->ctr.entries_deleted += count;
	else
		m->ctr.entries_written += count;
	if (r == 0 && count == v->n)
		return 0;
	/* The batch stopped at the first failing element (map full, or a key already gone);
	 * the rest go one by one so that each failure is attributed. */
	return flush_slow(m, fd, v, count, del, what, on_fail);
}

static void fail_owner(struct lbmap *m, struct op_vec *v, size_t i)
{
	lbm_fe_fail(m, v->owner[i]);
}

static void fail_backend(struct lbmap *m, struct op_vec *v, size_t i)
{
	struct be_state *s = v->owner[i];

	s->failed = true;
}

/* Re-read one frontend's entries from the map after a failed commit. */
static void fe_refresh(struct lbmap *m, struct fe_state *fe)
{
	struct drv_svc_key k = lbm_svc_key(&fe->key, 0);
	struct drv_svc_val v;
	uint32_t n = 0;

	fe->has_master = bpf_map_lookup_elem(m->fd.svc, &k, &v) == 0;
	if (fe->has_master) {
		fe->count = v.count;
		fe->flags = v.flags;
		fe->affinity_timeout = v.affinity_timeout;
		fe->maglev_size = v.maglev_size;
	} else {
		fe->count = 0;
	}
	fe->maglev_valid = false;
	for (uint32_t slot = 1; slot <= DRV_MAX_BACKENDS_PER_SVC; slot++) {
		k.slot = (uint16_t)slot;
		if (bpf_map_lookup_elem(m->fd.svc, &k, &v) != 0)
			break;
		if (lbm_fe_reserve(fe, slot))
			break;
		fe->slots[slot - 1] = v.backend_id;
		fe->slot_flags[slot - 1] = (uint8_t)v.flags;
		n = slot;
	}
	/* Slots past the master's count were written by the failed attempt and are
	 * unreachable: remove them (all of them when no master made it). */
	for (uint32_t slot = fe->count + 1; slot <= n; slot++) {
		k.slot = (uint16_t)slot;
		if (bpf_map_delete_elem(m->fd.svc, &k) == 0)
			m->ctr.entries_deleted++;
	}
	fe->nslots = n < fe->count ? n : fe->count;
}

void lbm_recount_refs(struct lbmap *m)
{
	struct hmap_entry *e;

	for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e))
		((struct be_state *)hmap_entry_val(e))->refs = 0;
	for (e = hmap_first(m->fes); e; e = hmap_next(m->fes, e)) {
		struct fe_state *fe = hmap_entry_val(e);

		for (uint32_t i = 0; i < fe->nslots; i++) {
			struct be_state *s = lbm_be_lookup_id(m, fe->slots[i]);

			if (s)
				s->refs++;
		}
	}
}

static void affinity_cleanup(struct lbmap *m)
{
	struct drv_affinity_key key, next;
	struct drv_affinity_val val;
	bool any = false, have = false;

	for (size_t i = 0; i < m->nrm; i++)
		any |= m->rm[i].affinity;
	if (!any || m->fd.affinity < 0)
		return;
	while (bpf_map_get_next_key(m->fd.affinity, have ? &key : NULL, &next) == 0) {
		const struct removed *r = NULL;

		if (bpf_map_lookup_elem(m->fd.affinity, &next, &val) == 0) {
			for (size_t i = 0; i < m->nrm && !r; i++) {
				if (m->rm[i].affinity && m->rm[i].rev_nat == next.rev_nat &&
				    m->rm[i].be_id == val.backend_id)
					r = &m->rm[i];
			}
		}
		/* The client keeps its endpoint when only the endpoint's node changed. */
		if (r && r->moved_to) {
			val.backend_id = r->moved_to;
			bpf_map_update_elem(m->fd.affinity, &next, &val, BPF_EXIST);
		} else if (r && bpf_map_delete_elem(m->fd.affinity, &next) == 0) {
			/* Deleted: continue from the previous key (or the start). */
			continue;
		}
		key = next;
		have = true;
	}
}

int lbmap_commit(struct lbmap *m)
{
	struct hmap_entry *e;
	size_t failures = 0, n_master_del = 0, n_slot_del = 0, n_mag_del = 0;

	m->ctr.commits++;
	/* 1. backends */
	failures += flush(m, m->fd.backend, &m->be_put, false, DRV_MAP_BACKEND, fail_backend);
	for (size_t i = 0; i < m->be_put.n; i++) {
		struct be_state *s = m->be_put.owner[i];

		s->queued = false;
		if (!s->failed) {
			s->in_map = true;
			s->rewrite = false;
		}
	}
	/* Slots and Maglev tables that point at a backend that could not be written fail
	 * their frontend. */
	if (failures) {
		for (size_t i = 0; i < m->slot_put.n; i++) {
			struct drv_svc_val *v = (void *)(m->slot_put.vals + i * m->slot_put.vsz);
			struct be_state *s = lbm_be_lookup_id(m, v->backend_id);

			if (s && s->failed)
				lbm_fe_fail(m, m->slot_put.owner[i]);
		}
		for (size_t i = 0; i < m->nmag; i++) {
			for (size_t j = 0; j < m->mag[i].nids; j++) {
				struct be_state *s = lbm_be_lookup_id(m, m->mag[i].ids[j]);

				if (s && s->failed)
					lbm_fe_fail(m, m->mag[i].fe);
			}
		}
	}
	/* 2. rev-NAT and names */
	failures += flush(m, m->fd.revnat, &m->rnat_put, false, DRV_MAP_REVNAT, fail_owner);
	if (m->fd.names >= 0)
		flush(m, m->fd.names, &m->name_put, false, DRV_MAP_NAMES, NULL);
	/* 3. backend slots */
	failures += flush(m, m->fd.svc, &m->slot_put, false, DRV_MAP_SVC, fail_owner);
	/* 4. Maglev tables (fd-valued: no batch) */
	for (size_t i = 0; i < m->nmag; i++) {
		struct maglev_op *op = &m->mag[i];

		if (op->inner_fd < 0 || (op->fe && op->fe->failed))
			continue;
		if (bpf_map_update_elem(m->fd.maglev, &op->rev_nat, &op->inner_fd, BPF_ANY) != 0) {
			log_warn(COMP, "write to %s for %s: %s", DRV_MAP_MAGLEV, op->fe->name,
				 strerror(errno));
			m->ctr.write_failures++;
			failures++;
			lbm_fe_fail(m, op->fe);
		} else {
			m->ctr.entries_written++;
			if (m->trace)
				m->trace(LBMAP_MAGLEV, &op->rev_nat, &op->inner_fd, m->trace_ud);
		}
	}
	/* 5. masters: announce */
	failures += flush(m, m->fd.svc, &m->master_put, false, DRV_MAP_SVC, fail_owner);
	/* 6. removed masters, then surplus slots */
	flush(m, m->fd.svc, &m->master_del, true, DRV_MAP_SVC, NULL);
	flush(m, m->fd.svc, &m->slot_del, true, DRV_MAP_SVC, NULL);
	n_master_del = m->master_del.n;
	n_slot_del = m->slot_del.n;
	/* 7. unused Maglev tables */
	for (size_t i = 0; i < m->nmag; i++) {
		/* a failed update keeps its master, which may still need its table */
		if (m->mag[i].inner_fd >= 0 || (m->mag[i].fe && m->mag[i].fe->failed))
			continue;
		n_mag_del++;
		if (bpf_map_delete_elem(m->fd.maglev, &m->mag[i].rev_nat) == 0) {
			m->ctr.entries_deleted++;
			if (m->trace)
				m->trace(LBMAP_MAGLEV, &m->mag[i].rev_nat, NULL, m->trace_ud);
		}
	}

	/* Failed frontends: believe the map, not the plan. */
	if (failures) {
		for (size_t i = 0; i < m->nfailed; i++) {
			struct fe_state *fe = hmap_get(m->fes, &m->failed[i], sizeof(m->failed[i]));

			if (fe)
				fe_refresh(m, fe);
		}
		lbm_recount_refs(m);
		for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e)) {
			struct be_state *s = hmap_entry_val(e);

			if (s->failed) {
				s->failed = false;
				s->in_map = false;
			}
		}
	}

	/* 8. frontends gone: forget them (and failed new ones that never got a master). Only
	 * what this transaction touched can be gone. */
	for (size_t i = 0; i < m->ntouched; i++) {
		struct fe_state *fe = m->touched[i];
		uint32_t id = fe->rev_nat;

		fe->touched = false;
		fe->failed = false;
		fe->slot_dels = false;
		if (!fe->deleting && (fe->has_master || fe->nslots))
			continue;
		if (!fe->deleting) {
			/* A new frontend whose master never made it: drop its rev-NAT. */
			bpf_map_delete_elem(m->fd.revnat, &id);
			if (m->fd.names >= 0)
				bpf_map_delete_elem(m->fd.names, &id);
		}
		lbm_revnat_set(m, fe->rev_nat, false);
		hmap_del(m->fes, &fe->key, sizeof(fe->key));
		lbm_fe_free(fe);
	}
	m->ntouched = 0;
	flush(m, m->fd.revnat, &m->rnat_del, true, DRV_MAP_REVNAT, NULL);
	if (m->fd.names >= 0)
		flush(m, m->fd.names, &m->name_del, true, DRV_MAP_NAMES, NULL);

	/* 9. backends nothing points at any more */
	if (failures) {
		/* Counts were rebuilt from the maps: every backend is a candidate. */
		for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e))
			lbm_be_maybe_dead(m, hmap_entry_val(e));
	}
	for (size_t i = 0; i < m->nzero; i++) {
		struct be_state *s = m->zero[i];

		if (s->refs == 0 && s->in_map)
			lbm_op_push(&m->be_del, &s->id, NULL, NULL);
	}
	flush(m, m->fd.backend, &m->be_del, true, DRV_MAP_BACKEND, NULL);
	for (size_t i = 0; i < m->nzero; i++) {
		struct be_state *s = m->zero[i];

		s->maybe_dead = false;
		if (s->refs == 0)
			lbm_be_forget(m, s);
	}
	m->nzero = 0;

	/* Room accounting: exact from the state after a failure, incremental otherwise. */
	if (m->nfailed) {
		lbm_room_recount(m);
	} else {
		m->r_svc.used += m->r_svc.pending - (uint32_t)(n_master_del + n_slot_del);
		m->r_be.used += m->r_be.pending - (uint32_t)m->be_del.n;
		m->r_rnat.used += m->r_rnat.pending - (uint32_t)m->rnat_del.n;
		m->r_mag.used += m->r_mag.pending - (uint32_t)n_mag_del;
		m->r_svc.pending = m->r_be.pending = m->r_rnat.pending = m->r_mag.pending = 0;
	}

	/* 10. what stopped being served: affinity entries, then the caller (UDP sockets) */
	affinity_cleanup(m);
	if (m->removed_cb) {
		for (size_t i = 0; i < m->nrm; i++) {
			if (!m->rm[i].moved_to)
				m->removed_cb(&m->rm[i].fe, &m->rm[i].be, m->removed_ud);
		}
	}
	m->in_tx = false;
	lbm_tx_reset(m);
	return m->nfailed ? -ENOSPC : 0;
}
