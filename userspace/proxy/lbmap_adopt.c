/* SPDX-License-Identifier: Apache-2.0 */
/* lbmap_adopt: after a restart, the state is rebuilt from the pinned maps (ids kept). */
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

/* ---------- adopt (restart) ---------- */

int lbmap_adopt(struct lbmap *m)
{
	struct drv_svc_key key, next;
	struct drv_svc_val val;
	bool have = false;
	size_t orphans = 0;
	struct hmap_entry *e;
	uint32_t id, nid;

	/* Backends first, so that slots can be resolved. Two ids for one tuple (maps of a
	 * proxy that kept an endpoint once per flag set): the first is kept, the others are
	 * deleted after the walk (a deleted key cannot be continued from); slots naming them
	 * are rewritten by the next commit, as any slot whose backend is gone. */
	{
		struct drv_backend b;
		bool hv = false;
		uint32_t *dups = NULL;
		size_t ndups = 0, capdups = 0;

		while (bpf_map_get_next_key(m->fd.backend, hv ? &id : NULL, &nid) == 0) {
			id = nid;
			hv = true;
			if (bpf_map_lookup_elem(m->fd.backend, &id, &b) != 0)
				continue;
			struct lb_backend lb = {
			    .addr = b.addr, .port = b.port, .proto = b.proto, .flags = b.flags};
			struct be_tuple t = lbm_be_tuple_of(&lb);
			struct be_state *s;

			if (hmap_get(m->bes, &t, sizeof(t))) {
				if (ARRAY_GROW(dups, capdups, ndups + 1) < 0) {
					free(dups);
					return -ENOMEM;
				}
				dups[ndups++] = id;
				continue;
			}
			s = calloc(1, sizeof(*s));
			if (!s) {
				free(dups);
				return -ENOMEM;
			}
			s->be = lb;
			s->be.flags &= LBM_BE_MAP_FLAGS;
			s->id = id;
			s->in_map = true;
			/* an older proxy's entry may say terminating: written again when used */
			s->rewrite = s->be.flags != b.flags;
			if (hmap_put(m->bes, &t, sizeof(t), s, NULL) < 0 ||
			    lbm_be_id_set(m, id, s) < 0) {
				free(s);
				free(dups);
				return -ENOMEM;
			}
			if (id > m->be_next_id)
				m->be_next_id = id;
		}
		for (size_t i = 0; i < ndups; i++) {
			bpf_map_delete_elem(m->fd.backend, &dups[i]);
			orphans++;
		}
		free(dups);
	}

	/* Masters, then slots. */
	for (int pass = 0; pass < 2; pass++) {
		have = false;
		while (bpf_map_get_next_key(m->fd.svc, have ? &key : NULL, &next) == 0) {
			struct lb_fe_key fk;
			struct fe_state *fe;

			key = next;
			have = true;
			if ((pass == 0) != (key.slot == 0))
				continue;
			if (bpf_map_lookup_elem(m->fd.svc, &key, &val) != 0)
				continue;
			memset(&fk, 0, sizeof(fk));
			fk.addr = key.addr;
			fk.port = key.dport;
			fk.proto = key.proto;
			fk.scope = key.scope;
			fe = hmap_get(m->fes, &fk, sizeof(fk));
			if (pass == 0) {
				if (fe || !val.rev_nat || lbm_revnat_test(m, val.rev_nat))
					continue;
				fe = calloc(1, sizeof(*fe));
				if (!fe)
					return -ENOMEM;
				fe->key = fk;
				fe->rev_nat = val.rev_nat;
				fe->flags = val.flags;
				fe->affinity_timeout = val.affinity_timeout;
				fe->count = val.count;
				fe->maglev_size = val.maglev_size;
				fe->has_master = true;
				fe->marked = true;
				if (hmap_put(m->fes, &fk, sizeof(fk), fe, NULL) < 0) {
					free(fe);
					return -ENOMEM;
				}
				lbm_revnat_set(m, fe->rev_nat, true);
				continue;
			}
			if (!fe || lbm_fe_reserve(fe, key.slot)) {
				/* A slot without a master: left over from an interrupted write. */
				struct drv_svc_key dk = key;

				if (bpf_map_delete_elem(m->fd.svc, &dk) == 0)
					orphans++;
				/* Deleting the current key restarts iteration from the start. */
				have = false;
				continue;
			}
			for (uint32_t i = fe->nslots; i < key.slot; i++) {
				fe->slots[i] = 0;
				fe->slot_flags[i] = 0;
			}
			fe->slots[key.slot - 1] = val.backend_id;
			fe->slot_flags[key.slot - 1] = (uint8_t)val.flags;
			if (key.slot > fe->nslots)
				fe->nslots = key.slot;
		}
	}
	for (e = hmap_first(m->fes); e; e = hmap_next(m->fes, e)) {
		struct fe_state *fe = hmap_entry_val(e);
		struct drv_svc_name nm;
		uint32_t rn = fe->rev_nat;

		if (m->fd.names >= 0 && bpf_map_lookup_elem(m->fd.names, &rn, &nm) == 0)
			snprintf(fe->name, sizeof(fe->name), "%.*s", (int)sizeof(nm.name) - 1,
				 nm.name);
		/* A hole among the slots, or a missing backend, means the next upsert must
		 * rewrite this frontend: make it look different. */
		for (uint32_t i = 0; i < fe->nslots; i++) {
			if (!fe->slots[i] || !lbm_be_lookup_id(m, fe->slots[i]))
				fe->count = UINT32_MAX;
		}
		fe->maglev_valid = false;
	}
	lbm_recount_refs(m);

	/* Unreferenced backends, orphan rev-NAT, name and Maglev entries. */
	{
		struct be_state **dead = NULL;
		size_t ndead = 0, capdead = 0;

		for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e)) {
			struct be_state *s = hmap_entry_val(e);

			if (s->refs == 0 && ARRAY_GROW(dead, capdead, ndead + 1) == 0)
				dead[ndead++] = s;
		}
		for (size_t i = 0; i < ndead; i++) {
			bpf_map_delete_elem(m->fd.backend, &dead[i]->id);
			lbm_be_forget(m, dead[i]);
			orphans++;
		}
		free(dead);
	}
	{
		int fds[3] = {m->fd.revnat, m->fd.names, m->fd.maglev};

		for (int f = 0; f < 3; f++) {
			bool hv = false;

			if (fds[f] < 0)
				continue;
			while (bpf_map_get_next_key(fds[f], hv ? &id : NULL, &nid) == 0) {
				if (nid <= DRV_REVNAT_MAX && lbm_revnat_test(m, nid)) {
					id = nid;
					hv = true;
					continue;
				}
				bpf_map_delete_elem(fds[f], &nid);
				orphans++;
				hv = false; /* restart: the deleted key cannot be continued from */
			}
		}
	}
	/* Backend ids below the highest in use that are free go to the free list. */
	for (uint32_t i = 1; i <= m->be_next_id && m->be_next_id < 1u << 24; i++) {
		if (!lbm_be_lookup_id(m, i))
			lbm_be_id_release(m, i);
	}
	lbm_room_recount(m);
	if (orphans)
		log_info(COMP, "adopt: removed %zu stale entries", orphans);
	log_info(COMP, "adopt: %zu frontends, %zu backends from pinned maps", hmap_size(m->fes),
		 hmap_size(m->bes));
	return 0;
}
