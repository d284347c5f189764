/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbmap against real maps:
 *  - make-before-break, exactly: every single map operation lbmap performs is replayed on a
 *    shadow copy, and after each one every announced frontend must lead only to slots,
 *    backends and Maglev entries that exist (what a packet could read at that instant);
 *  - the maps equal the wanted configuration after every commit (random changes);
 *  - one service changed among 10,000 touches only its own entries;
 *  - restart: adopt keeps ids, a full resync rewrites nothing unchanged and removes stale
 *    entries;
 *  - a full map: counted, reported, the frontend keeps its old consistent state, never a
 *    slot pointing nowhere;
 *  - one endpoint in two services that disagree about its flags: its node makes two
 *    backend entries, each service's own, and its terminating one, said in each slot,
 *    whatever the order and across a restart; an endpoint that starts terminating keeps
 *    its backend id.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drover_abi.h"
#include "fixture.h"
#include "hmap.h"
#include "lbmap_util.h"

/* ---------- the shadow ---------- */

struct shadow {
	struct hmap *svc;    /* drv_svc_key -> drv_svc_val copy */
	struct hmap *be;     /* u32 -> drv_backend copy */
	struct hmap *maglev; /* u32 rev_nat -> table copy (u32 count + ids) */
	size_t ops;
	size_t violations;
	char first[256];
};

static struct shadow S;

static void shadow_put(struct hmap *h, const void *k, size_t kl, const void *v, size_t vl)
{
	void *copy = malloc(vl), *old = NULL;

	memcpy(copy, v, vl);
	if (hmap_put(h, k, kl, copy, &old) == 1)
		free(old);
}

static void shadow_del(struct hmap *h, const void *k, size_t kl)
{
	free(hmap_del(h, k, kl));
}

static void violation(const char *fmt, ...)
{
	va_list ap;

	if (S.violations++ == 0) {
		va_start(ap, fmt);
		vsnprintf(S.first, sizeof(S.first), fmt, ap);
		va_end(ap);
	}
}

/* What any packet could see right now must be whole. */
static void shadow_check(void)
{
	for (struct hmap_entry *e = hmap_first(S.svc); e; e = hmap_next(S.svc, e)) {
		const struct drv_svc_key *k = hmap_entry_key(e, NULL);
		const struct drv_svc_val *v = hmap_entry_val(e);

		if (k->slot != 0)
			continue;
		for (uint16_t s = 1; s <= v->count; s++) {
			struct drv_svc_key sk = *k;
			struct drv_svc_val *sv;

			sk.slot = s;
			sv = hmap_get(S.svc, &sk, sizeof(sk));
			if (!sv) {
				violation("op %zu: master count %u but slot %u missing", S.ops,
					  v->count, s);
				continue;
			}
			if (!hmap_get(S.be, &sv->backend_id, sizeof(sv->backend_id)))
				violation("op %zu: slot %u -> backend %u missing", S.ops, s,
					  sv->backend_id);
		}
		if (v->flags & DRV_SVC_F_MAGLEV) {
			uint32_t id = v->rev_nat, *t = hmap_get(S.maglev, &id, sizeof(id));

			if (!t) {
				violation("op %zu: maglev flag but no table for %u", S.ops, id);
				continue;
			}
			for (uint32_t i = 1; i <= t[0]; i++) {
				if (!hmap_get(S.be, &t[i], sizeof(t[i]))) {
					violation("op %zu: maglev table %u -> backend %u missing",
						  S.ops, id, t[i]);
					break;
				}
			}
		}
	}
}

static void trace(enum lbmap_map map, const void *key, const void *value, void *ud)
{
	(void)ud;
	S.ops++;
	switch (map) {
	case LBMAP_SVC:
		if (value)
			shadow_put(S.svc, key, sizeof(struct drv_svc_key), value,
				   sizeof(struct drv_svc_val));
		else
			shadow_del(S.svc, key, sizeof(struct drv_svc_key));
		break;
	case LBMAP_BACKEND:
		if (value)
			shadow_put(S.be, key, 4, value, sizeof(struct drv_backend));
		else
			shadow_del(S.be, key, 4);
		break;
	case LBMAP_MAGLEV:
		if (value) {
			int fd = *(const int *)value;
			uint32_t k0 = 0, m = 0, *t;

			bpf_map_lookup_elem(fd, &k0, &m);
			t = calloc(m + 1, sizeof(*t));
			t[0] = m;
			for (uint32_t i = 1; i <= m; i++)
				bpf_map_lookup_elem(fd, &i, &t[i]);
			shadow_put(S.maglev, key, 4, t, (m + 1) * sizeof(*t));
			free(t);
		} else {
			shadow_del(S.maglev, key, 4);
		}
		break;
	default:
		break;
	}
	shadow_check();
}

static void shadow_reset(void)
{
	struct hmap *all[] = {S.svc, S.be, S.maglev};

	for (int i = 0; i < 3; i++) {
		if (!all[i])
			continue;
		for (struct hmap_entry *e = hmap_first(all[i]); e; e = hmap_next(all[i], e))
			free(hmap_entry_val(e));
		hmap_free(all[i]);
	}
	memset(&S, 0, sizeof(S));
	S.svc = hmap_new();
	S.be = hmap_new();
	S.maglev = hmap_new();
}

/* ---------- helpers ---------- */

static int setup(void **state)
{
	(void)state;
	shadow_reset();
	return fixture_setup(NULL);
}

static int teardown(void **state)
{
	(void)state;
	fixture_cleanup();
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	if (F.lb)
		lbmap_set_trace(F.lb, NULL, NULL);
	return 0;
}

struct want {
	struct lb_frontend fe;
	struct lb_backend bes[16];
	bool present;
};

static void want_random(struct want *w, int idx, unsigned *seed)
{
	int n = rand_r(seed) % 9; /* 0..8 backends */
	bool used[30] = {0};

	memset(&w->fe, 0, sizeof(w->fe));
	w->fe.key.addr = htonl(0x0a600000 + (uint32_t)idx); /* 10.96.0.idx */
	w->fe.key.port = htons(80);
	w->fe.key.proto = DRV_PROTO_TCP;
	w->fe.flags = (idx % 3 == 0) ? DRV_SVC_F_EXTERNAL : DRV_SVC_F_CLUSTERIP;
	snprintf(w->fe.name, sizeof(w->fe.name), "test/svc-%d", idx);
	for (int i = 0; i < n; i++) {
		int b;

		do
			b = rand_r(seed) % 30;
		while (used[b]);
		used[b] = true;
		w->bes[i].addr = htonl(0x0af40100 + 10 + (uint32_t)b);
		w->bes[i].port = htons(8080);
		w->bes[i].proto = DRV_PROTO_TCP;
		/* now and then terminating: said in the slot, the same backend entry */
		w->bes[i].flags = (b + idx + n) % 5 == 0 ? DRV_BE_F_TERMINATING : 0;
	}
	w->fe.nbackends = (size_t)n;
	w->fe.backends = w->bes;
	w->present = true;
}

/* The maps hold what is wanted for w[0..n); exhaustive: and nothing else. */
static void check_maps(struct want *w, int n, bool exhaustive)
{
	int svc = dp_map_fd(F.dp, DP_MAP_SVC), be = dp_map_fd(F.dp, DP_MAP_BACKEND);
	size_t masters = 0, slots = 0;

	for (int i = 0; i < n; i++) {
		struct drv_svc_key mk = {.addr = w[i].fe.key.addr,
					 .dport = w[i].fe.key.port,
					 .proto = w[i].fe.key.proto};
		struct drv_svc_val mv;

		if (!w[i].present) {
			if (master_of(&w[i].fe.key, &mv))
				fail_msg("frontend %d: master present but not wanted", i);
			continue;
		}
		if (!master_of(&w[i].fe.key, &mv))
			fail_msg("frontend %d: master missing", i);
		if (mv.count != w[i].fe.nbackends)
			fail_msg("frontend %d: count %u, want %zu", i, mv.count, w[i].fe.nbackends);
		masters++;
		for (size_t s = 1; s <= w[i].fe.nbackends; s++) {
			struct drv_svc_val sv;
			struct drv_backend b;
			bool found = false;

			mk.slot = (uint16_t)s;
			assert_int_equal(bpf_map_lookup_elem(svc, &mk, &sv), 0);
			assert_int_equal(bpf_map_lookup_elem(be, &sv.backend_id, &b), 0);
			for (size_t j = 0; j < w[i].fe.nbackends && !found; j++) {
				const struct lb_backend *x = &w[i].bes[j];

				found = x->addr == b.addr && x->port == b.port;
				if (found && (b.flags != (x->flags & DRV_BE_F_LOCAL) ||
					      !(sv.flags & DRV_SLOT_F_TERMINATING) !=
						  !(x->flags & DRV_BE_F_TERMINATING)))
					fail_msg("frontend %d slot %zu: backend flags %#x, slot "
						 "flags %#x, want %#x",
						 i, s, b.flags, sv.flags, x->flags);
			}
			assert_true(found);
			slots++;
		}
	}
	/* No stray slot or master. */
	if (exhaustive)
		assert_int_equal(map_count(DP_MAP_SVC, sizeof(struct drv_svc_key)),
				 masters + slots);
}

static void check_maps_equal(struct want *w, int n)
{
	check_maps(w, n, true);
}

/* ---------- tests ---------- */

static void test_make_before_break_random(void **state)
{
	enum { N = 24, ROUNDS = 400 };
	struct want w[N];
	unsigned seed = 12345;

	(void)state;
	memset(w, 0, sizeof(w));
	lbmap_set_trace(F.lb, trace, NULL);
	for (int r = 0; r < ROUNDS; r++) {
		int changes = 1 + rand_r(&seed) % 4;

		lbmap_begin(F.lb);
		for (int c = 0; c < changes; c++) {
			int i = rand_r(&seed) % N;

			if (w[i].present && rand_r(&seed) % 4 == 0) {
				assert_int_equal(lbmap_delete(F.lb, &w[i].fe.key), 0);
				w[i].present = false;
				continue;
			}
			want_random(&w[i], i, &seed);
			/* Several upserts of one frontend in one transaction: the last wins. */
			assert_int_equal(lbmap_upsert(F.lb, &w[i].fe), 0);
		}
		assert_int_equal(lbmap_commit(F.lb), 0);
		check_maps_equal(w, N);
		if (S.violations)
			fail_msg("make-before-break violated %zu times; first: %s", S.violations,
				 S.first);
	}
	assert_true(S.ops > 1000); /* the check ran over real traffic of operations */
	/* Clean up for the next test. */
	lbmap_begin(F.lb);
	for (int i = 0; i < N; i++) {
		if (w[i].present)
			lbmap_delete(F.lb, &w[i].fe.key);
	}
	assert_int_equal(lbmap_commit(F.lb), 0);
	assert_int_equal(S.violations, 0);
	lbmap_set_trace(F.lb, NULL, NULL);
	/* Every backend is gone with the last frontend that used it. */
	assert_int_equal(map_count(DP_MAP_BACKEND, 4), 0);
}

static void make_fe(struct want *w, int i, int nbackends, int be_base)
{
	fe_build(&w->fe, w->bes, 0x0a600000 + (uint32_t)i, DRV_SVC_F_CLUSTERIP, nbackends,
		 0x0a000000 + (uint32_t)be_base);
	snprintf(w->fe.name, sizeof(w->fe.name), "ns/svc-%d:80", i);
	w->present = true;
}

/* One service among 10,000: its own entries only. */
static void test_single_change_cost(void **state)
{
	enum { N = 10000 };
	static struct want w[N];
	struct lbmap_counters a, b;

	(void)state;
	lbmap_begin(F.lb);
	for (int i = 0; i < N; i++) {
		make_fe(&w[i], i, 3, i * 3);
		assert_int_equal(lbmap_upsert(F.lb, &w[i].fe), 0);
	}
	assert_int_equal(lbmap_commit(F.lb), 0);
	lbmap_get_counters(F.lb, &a);
	assert_int_equal(a.frontends, N);
	assert_int_equal(a.backends, 3 * N);

	/* Add a backend to one service: 1 backend + 1 slot + 1 master. */
	make_fe(&w[4242], 4242, 4, 4242 * 3);
	w[4242].bes[3].addr = htonl(0x0b000001);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[4242].fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	lbmap_get_counters(F.lb, &b);
	assert_int_equal(b.entries_written - a.entries_written, 3);
	assert_int_equal(b.entries_deleted - a.entries_deleted, 0);

	/* The same configuration again: nothing at all. */
	a = b;
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[4242].fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	lbmap_get_counters(F.lb, &b);
	assert_int_equal(b.entries_written - a.entries_written, 0);

	/* Delete one service: its master, 4 slots, 4 backends, rev-NAT and name. */
	a = b;
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_delete(F.lb, &w[4242].fe.key), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	lbmap_get_counters(F.lb, &b);
	assert_int_equal(b.entries_written - a.entries_written, 0);
	assert_int_equal(b.entries_deleted - a.entries_deleted, 1 + 4 + 4 + 2);
	assert_int_equal(b.frontends, N - 1);

	/* Everything else untouched: spot-check a neighbour. */
	w[4242].present = false;
	check_maps(&w[4240], 5, false);
}

/* A restart: a new lbmap adopts the maps; ids survive; a full resync writes nothing that did
 * not change and removes what is no longer configured. */
static void test_adopt_and_reconcile(void **state)
{
	enum { N = 10000 };
	struct lbmap_fds fds;
	struct lbmap *lb2;
	struct lbmap_counters c;
	uint32_t rn_before, rn_after;
	struct drv_svc_key mk = {
	    .addr = htonl(0x0a600000 + 7), .dport = htons(80), .proto = DRV_PROTO_TCP};
	struct drv_svc_val mv;
	static struct want w[N];

	(void)state;
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &mk, &mv), 0);
	rn_before = mv.rev_nat;

	dp_lbmap_fds(F.dp, &fds);
	lb2 = lbmap_new(&fds, NULL);
	assert_non_null(lb2);
	assert_int_equal(lbmap_adopt(lb2), 0);
	lbmap_get_counters(lb2, &c);
	assert_int_equal(c.frontends, N - 1);

	/* Resync: services 0..8999 unchanged, 9000..9999 gone, one new one. */
	lbmap_begin(lb2);
	lbmap_mark(lb2);
	for (int i = 0; i < 9000; i++) {
		if (i == 4242)
			continue;
		make_fe(&w[i], i, 3, i * 3);
		assert_int_equal(lbmap_upsert(lb2, &w[i].fe), 0);
	}
	make_fe(&w[9999], 20000, 2, 90000);
	assert_int_equal(lbmap_upsert(lb2, &w[9999].fe), 0);
	assert_int_equal(lbmap_sweep(lb2), 1000); /* 9000..9999 */
	assert_int_equal(lbmap_commit(lb2), 0);
	lbmap_get_counters(lb2, &c);
	/* Only the new frontend was written: 2 backends, 2 slots, master, rev-NAT, name. */
	assert_int_equal(c.entries_written, 7);
	assert_int_equal(c.frontends, 9000);
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &mk, &mv), 0);
	rn_after = mv.rev_nat;
	assert_int_equal(rn_before, rn_after);
	/* 9500 is gone from the maps. */
	mk.addr = htonl(0x0a600000 + 9500);
	assert_int_not_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &mk, &mv), 0);

	/* Hand the maps back to the fixture's lbmap for later tests: drop both, re-adopt. */
	lbmap_free(lb2);
	lbmap_free(F.lb);
	F.lb = lbmap_new(&fds, NULL);
	assert_int_equal(lbmap_adopt(F.lb), 0);
	lbmap_begin(F.lb);
	lbmap_mark(F.lb);
	assert_int_equal(lbmap_sweep(F.lb), 9000);
	assert_int_equal(lbmap_commit(F.lb), 0);
	lbmap_get_counters(F.lb, &c);
	assert_int_equal(c.frontends, 0);
}

/* A slot left behind by an interrupted write, an unreferenced backend: adopt removes them. */
static void test_adopt_removes_debris(void **state)
{
	struct drv_svc_key k = {
	    .addr = htonl(0x0a630001), .dport = htons(99), .slot = 3, .proto = DRV_PROTO_TCP};
	struct drv_svc_val v = {.backend_id = 777};
	struct drv_backend b = {.addr = htonl(0x0a000063), .port = htons(1), .proto = 6};
	uint32_t id = 778;
	struct lbmap_fds fds;
	struct lbmap *lb2;

	(void)state;
	assert_int_equal(bpf_map_update_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(dp_map_fd(F.dp, DP_MAP_BACKEND), &id, &b, BPF_ANY), 0);
	dp_lbmap_fds(F.dp, &fds);
	lb2 = lbmap_new(&fds, NULL);
	assert_int_equal(lbmap_adopt(lb2), 0);
	assert_int_not_equal(bpf_map_lookup_elem(fds.svc, &k, &v), 0);
	assert_int_not_equal(bpf_map_lookup_elem(fds.backend, &id, &b), 0);
	lbmap_free(lb2);
}

/* The two scopes of an externalTrafficPolicy Local frontend are two frontends under one
 * address: each its own master (the scope in the key), rev-NAT id and slots, a Maglev table
 * only for the external one; a restarted proxy adopts both with their ids. */
static void test_two_scopes_adopted(void **state)
{
	struct lb_backend bes[2] = {
	    {.addr = htonl(0x0af40101), .port = htons(8080), .proto = DRV_PROTO_TCP, .flags = 1},
	    {.addr = htonl(0x0af40201), .port = htons(8080), .proto = DRV_PROTO_TCP}};
	struct lb_frontend fe[2] = {0};
	struct drv_svc_key k = {.dport = htons(30099), .proto = DRV_PROTO_TCP};
	struct drv_svc_val ext, in, v;
	struct lbmap_counters c0, c;
	struct lbmap_fds fds;
	struct lbmap *lb2;

	(void)state;
	for (int s = 0; s < 2; s++) {
		fe[s].key = (struct lb_fe_key){.port = htons(30099),
					       .proto = DRV_PROTO_TCP,
					       .scope = s ? DRV_SCOPE_INT : DRV_SCOPE_EXT};
		fe[s].flags = DRV_SVC_F_NODEPORT | (s ? 0 : DRV_SVC_F_LOCAL | DRV_SVC_F_TWO_SCOPES);
		fe[s].backends = bes;
		fe[s].nbackends = s ? 2 : 1;
		snprintf(fe[s].name, sizeof(fe[s].name), "test/two-scopes");
	}
	lbmap_get_counters(F.lb, &c0);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &fe[0]), 0);
	assert_int_equal(lbmap_upsert(F.lb, &fe[1]), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &ext), 0);
	k.scope = DRV_SCOPE_INT;
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &in), 0);
	assert_int_equal(ext.count, 1);
	assert_int_equal(in.count, 2);
	assert_int_not_equal(ext.rev_nat, in.rev_nat);
	assert_true(ext.flags & DRV_SVC_F_MAGLEV);
	assert_int_equal(in.flags, DRV_SVC_F_NODEPORT);
	k.slot = 2;
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);

	dp_lbmap_fds(F.dp, &fds);
	lb2 = lbmap_new(&fds, NULL);
	assert_non_null(lb2);
	assert_int_equal(lbmap_adopt(lb2), 0);
	lbmap_get_counters(lb2, &c);
	assert_int_equal(c.frontends, c0.frontends + 2);
	lbmap_begin(lb2);
	assert_int_equal(lbmap_upsert(lb2, &fe[0]), 0);
	assert_int_equal(lbmap_upsert(lb2, &fe[1]), 0);
	assert_int_equal(lbmap_commit(lb2), 0);
	/* the same ids (so existing flows keep their translation), nothing deleted (adopting
	 * rewrites the external scope's Maglev table, as for every external frontend) */
	lbmap_get_counters(lb2, &c);
	assert_int_equal(c.frontends, c0.frontends + 2);
	assert_int_equal(c.entries_deleted, 0);
	k.slot = 0;
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);
	assert_int_equal(v.rev_nat, in.rev_nat);
	assert_int_equal(v.count, 2);
	k.scope = DRV_SCOPE_EXT;
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);
	assert_int_equal(v.rev_nat, ext.rev_nat);
	assert_int_equal(v.count, 1);
	lbmap_free(lb2);

	lbmap_begin(F.lb);
	assert_int_equal(lbmap_delete(F.lb, &fe[1].key), 0);
	assert_int_equal(lbmap_delete(F.lb, &fe[0].key), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	assert_int_not_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);
	k.scope = DRV_SCOPE_INT;
	assert_int_not_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);
}

/* A Maglev table carries BTF (its key and value a __u32), so `bpftool map dump` shows
 * numbers, not raw hex. */
static void test_maglev_btf(void **state)
{
	static struct want w;
	struct drv_svc_val mv;
	struct bpf_map_info info;
	__u32 rev_nat, inner_id, len = sizeof(info);
	int inner;

	(void)state;
	make_fe(&w, 31000, 3, 5000);
	w.fe.flags = DRV_SVC_F_EXTERNAL;
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w.fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	assert_true(master_of(&w.fe.key, &mv));
	assert_true(mv.flags & DRV_SVC_F_MAGLEV);
	rev_nat = mv.rev_nat;
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_MAGLEV), &rev_nat, &inner_id),
			 0);
	inner = bpf_map_get_fd_by_id(inner_id);
	assert_true(inner >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(inner, &info, &len), 0);
	close(inner);
	assert_int_not_equal(info.btf_id, 0);
	assert_int_not_equal(info.btf_key_type_id, 0);
	assert_int_equal(info.btf_value_type_id, info.btf_key_type_id);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_delete(F.lb, &w.fe.key), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
}

/* A full service map: the frontend that does not fit is reported and gets no master; one
 * that cannot grow keeps its old, whole state; freeing room lets the retry succeed. */
static void test_full_map(void **state)
{
	struct dp_map_sizes small = lbmap_small_sizes;
	static struct want w[16];
	const struct lb_fe_key *failed;
	struct lbmap_counters c;
	int rc, ok = 0;

	(void)state;
	small.svc = 64;
	fixture_cleanup();
	shadow_reset();
	assert_int_equal(fixture_setup(&small), 0);
	lbmap_set_trace(F.lb, trace, NULL);
	/* 6 entries per frontend (master + 5 slots): 10 fit in 64, the 11th cannot. */
	for (int i = 0; i < 11; i++) {
		make_fe(&w[i], i, 5, i * 5);
		lbmap_begin(F.lb);
		rc = lbmap_upsert(F.lb, &w[i].fe);
		/* lbmap knows the room left: a frontend that cannot fit is refused whole. */
		assert_true(rc == 0 || rc == -ENOSPC);
		assert_int_equal(lbmap_commit(F.lb), rc);
		if (rc == 0) {
			ok++;
			continue;
		}
		assert_int_equal(lbmap_failed(F.lb, &failed), 1);
		assert_memory_equal(failed, &w[i].fe.key, sizeof(w[i].fe.key));
		w[i].present = false;
	}
	assert_int_equal(ok, 10);
	assert_false(lbmap_has(F.lb, &w[10].fe.key));
	check_maps_equal(w, 11);
	lbmap_get_counters(F.lb, &c);
	assert_true(c.write_failures > 0);

	/* The map itself refuses too: fill the last free entries behind lbmap's back, and a
	 * frontend lbmap believes fits fails at the kernel; it still gets no master. */
	{
		struct drv_svc_key junk = {
		    .addr = htonl(0x0a0a0a0a), .dport = htons(1), .proto = 6};
		struct drv_svc_val jv = {0};

		for (uint16_t sl = 1; sl <= 4; sl++) {
			junk.slot = sl;
			assert_int_equal(bpf_map_update_elem(dp_map_fd(F.dp, DP_MAP_SVC), &junk,
							     &jv, BPF_NOEXIST),
					 0);
		}
		make_fe(&w[13], 13, 2, 900);
		lbmap_begin(F.lb);
		assert_int_equal(lbmap_upsert(F.lb, &w[13].fe), 0);
		assert_int_equal(lbmap_commit(F.lb), -ENOSPC);
		assert_false(lbmap_has(F.lb, &w[13].fe.key));
		for (uint16_t sl = 1; sl <= 4; sl++) {
			junk.slot = sl;
			bpf_map_delete_elem(dp_map_fd(F.dp, DP_MAP_SVC), &junk);
		}
	}

	/* Growing frontend 3 to 12 backends needs 7 more slots, 4 are free: it fails and stays
	 * as it was. */
	make_fe(&w[12], 3, 12, 500);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[12].fe), -ENOSPC);
	assert_int_equal(lbmap_commit(F.lb), -ENOSPC);
	check_maps_equal(w, 11); /* w[3] still has its 5 old backends */

	/* Make room, retry. */
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_delete(F.lb, &w[0].fe.key), 0);
	assert_int_equal(lbmap_delete(F.lb, &w[1].fe.key), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	w[0].present = w[1].present = false;
	make_fe(&w[10], 10, 5, 50);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[10].fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	check_maps_equal(w, 11);
	assert_int_equal(S.violations, 0);
}

/* ---------- one endpoint, two services that disagree about it ---------- */

#define SHARED_EP "10.244.9.9"

static void shared_fe(struct want *w, int idx, uint8_t be_flags, uint16_t fe_flags)
{
	memset(w, 0, sizeof(*w));
	w->fe.key.addr = htonl(0x0a600900 + (uint32_t)idx); /* 10.96.9.idx */
	w->fe.key.port = htons(80);
	w->fe.key.proto = DRV_PROTO_UDP;
	w->fe.flags = DRV_SVC_F_CLUSTERIP | fe_flags;
	w->fe.affinity_timeout = fe_flags & DRV_SVC_F_AFFINITY ? 600 : 0;
	snprintf(w->fe.name, sizeof(w->fe.name), "test/shared-%d:80", idx);
	w->bes[0] = (struct lb_backend){
	    .addr = ip4(SHARED_EP), .port = htons(53), .proto = DRV_PROTO_UDP, .flags = be_flags};
	w->fe.nbackends = 1;
	w->fe.backends = w->bes;
	w->present = true;
}

/* The backend frontend w's slot 1 leads to: its id, *be its drv_be4 entry, *sflags the
 * slot's own flags (enum drv_slot_flags). */
static uint32_t slot_backend(const struct want *w, struct drv_backend *be, uint16_t *sflags)
{
	struct drv_svc_key k = {
	    .addr = w->fe.key.addr, .dport = w->fe.key.port, .slot = 1, .proto = w->fe.key.proto};
	struct drv_svc_val v;

	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);
	assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_BACKEND), &v.backend_id, be),
			 0);
	if (sflags)
		*sflags = v.flags;
	return v.backend_id;
}

/* Each frontend's backend entry carries the flag the datapath reads (local) as its own
 * service gave it, never terminating; each slot says terminating as its own service does. */
static void check_own_flags(const struct want *w, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t want = w[i].bes[0].flags;
		struct drv_backend be;
		uint16_t sf;

		slot_backend(&w[i], &be, &sf);
		assert_int_equal(be.addr, ip4(SHARED_EP));
		if (be.flags != (want & DRV_BE_F_LOCAL))
			fail_msg("frontend %d: backend flags %#x, its service says %#x", i,
				 be.flags, want);
		if (!!(sf & DRV_SLOT_F_TERMINATING) != !!(want & DRV_BE_F_TERMINATING))
			fail_msg("frontend %d: slot flags %#x, its service says %#x", i, sf, want);
	}
}

static int removed_calls;

static void count_removed(const struct lb_fe_key *fe, const struct lb_backend *be, void *ud)
{
	(void)fe;
	(void)be;
	(void)ud;
	removed_calls++;
}

/* A restart: the maps adopted by a new lbmap, resynced in the order given, nothing rewritten
 * or deleted; then F.lb adopts them too (the caller's state is the maps'). */
static void restart_unchanged(struct want *w, int order)
{
	struct lbmap_counters c;
	struct lbmap_fds fds;
	struct lbmap *lb2;

	dp_lbmap_fds(F.dp, &fds);
	lb2 = lbmap_new(&fds, NULL);
	assert_non_null(lb2);
	assert_int_equal(lbmap_adopt(lb2), 0);
	lbmap_begin(lb2);
	lbmap_mark(lb2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(lbmap_upsert(lb2, &w[order ? 1 - i : i].fe), 0);
	assert_int_equal(lbmap_sweep(lb2), 0);
	assert_int_equal(lbmap_commit(lb2), 0);
	lbmap_get_counters(lb2, &c);
	assert_int_equal(c.entries_written, 0);
	assert_int_equal(c.entries_deleted, 0);
	lbmap_free(lb2);
	lbmap_free(F.lb);
	F.lb = lbmap_new(&fds, NULL);
	assert_non_null(F.lb);
	assert_int_equal(lbmap_adopt(F.lb), 0);
}

/* One endpoint serves two services whose slices disagree about it. On this node in one and
 * elsewhere in the other: two backend entries, each with its service's local flag (the tc
 * path masquerades by it). Terminating in one and ready in the other: one entry, the same
 * whichever service is written first, in one commit or two, and across a restart, and each
 * service's slot says what its slice does (kube-proxy keeps endpoint state per service). */
static void test_shared_endpoint_flags(void **state)
{
	static const struct {
		uint8_t fl[2];
		bool shared;
	} cases[] = {
	    {{DRV_BE_F_LOCAL, 0}, false},
	    {{DRV_BE_F_LOCAL, DRV_BE_F_LOCAL | DRV_BE_F_TERMINATING}, true},
	    {{0, DRV_BE_F_TERMINATING}, true},
	    {{DRV_BE_F_LOCAL, DRV_BE_F_TERMINATING}, false},
	};
	struct want w[2];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int order = 0; order < 2; order++) {
			for (int commits = 1; commits <= 2; commits++) {
				struct drv_backend be[2];
				uint32_t ids[2];

				shared_fe(&w[0], 1, cases[c].fl[0], 0);
				shared_fe(&w[1], 2, cases[c].fl[1], 0);
				lbmap_begin(F.lb);
				for (int i = 0; i < 2; i++) {
					if (i == 1 && commits == 2) {
						assert_int_equal(lbmap_commit(F.lb), 0);
						lbmap_begin(F.lb);
					}
					assert_int_equal(
					    lbmap_upsert(F.lb, &w[order ? 1 - i : i].fe), 0);
				}
				assert_int_equal(lbmap_commit(F.lb), 0);
				check_own_flags(w, 2);
				ids[0] = slot_backend(&w[0], &be[0], NULL);
				ids[1] = slot_backend(&w[1], &be[1], NULL);
				if ((ids[0] == ids[1]) != cases[c].shared)
					fail_msg("case %zu, order %d, %d commit(s): ids %u and %u",
						 c, order, commits, ids[0], ids[1]);

				restart_unchanged(w, !order);
				check_own_flags(w, 2);
				assert_int_equal(slot_backend(&w[0], &be[0], NULL), ids[0]);
				assert_int_equal(slot_backend(&w[1], &be[1], NULL), ids[1]);

				lbmap_begin(F.lb);
				assert_int_equal(lbmap_delete(F.lb, &w[0].fe.key), 0);
				assert_int_equal(lbmap_delete(F.lb, &w[1].fe.key), 0);
				assert_int_equal(lbmap_commit(F.lb), 0);
			}
		}
	}
}

/* An endpoint that starts terminating while it still serves (a rollout) keeps its backend id
 * in every service: the flows that hold the id (the socket LB's unconnected UDP flows,
 * conntrack, affinity) keep their endpoint, only the service's slot changes, and nothing is
 * reported removed. One that moves to another node in one service moves to another id there:
 * that service's affinity follows it, its UDP sockets are left alone. Once both services
 * agree again they share one entry. */
static void test_endpoint_flags_change(void **state)
{
	struct drv_affinity_key ak = {.client = 0x0a0a0a0a};
	struct drv_affinity_val av;
	struct lbmap_counters c0, c1;
	struct drv_svc_val mv;
	struct drv_backend be;
	struct want w[2];
	uint32_t id0, id1;
	int aff = dp_map_fd(F.dp, DP_MAP_AFFINITY);

	(void)state;
	removed_calls = 0;
	lbmap_set_removed_cb(F.lb, count_removed, NULL);
	shared_fe(&w[0], 1, DRV_BE_F_LOCAL, 0);
	shared_fe(&w[1], 2, DRV_BE_F_LOCAL, DRV_SVC_F_AFFINITY);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[0].fe), 0);
	assert_int_equal(lbmap_upsert(F.lb, &w[1].fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	id0 = slot_backend(&w[0], &be, NULL);
	assert_int_equal(slot_backend(&w[1], &be, NULL), id0); /* agreeing services share it */
	assert_true(master_of(&w[1].fe.key, &mv));
	ak.rev_nat = mv.rev_nat;
	av = (struct drv_affinity_val){.backend_id = id0, .last_used_s = 1};
	assert_int_equal(bpf_map_update_elem(aff, &ak, &av, BPF_ANY), 0);

	/* Terminating, in one service then in both: the same id, one slot written each time. */
	for (int i = 1; i >= 0; i--) {
		w[i].bes[0].flags = DRV_BE_F_LOCAL | DRV_BE_F_TERMINATING;
		lbmap_get_counters(F.lb, &c0);
		lbmap_begin(F.lb);
		assert_int_equal(lbmap_upsert(F.lb, &w[i].fe), 0);
		assert_int_equal(lbmap_commit(F.lb), 0);
		lbmap_get_counters(F.lb, &c1);
		if (slot_backend(&w[i], &be, NULL) != id0)
			fail_msg(
			    "frontend %d: the endpoint turned terminating and left id %u for %u", i,
			    id0, slot_backend(&w[i], &be, NULL));
		assert_int_equal(slot_backend(&w[1 - i], &be, NULL), id0);
		check_own_flags(w, 2);
		assert_int_equal(c1.entries_written - c0.entries_written, 1);
		assert_int_equal(c1.entries_deleted - c0.entries_deleted, 0);
		assert_int_equal(bpf_map_lookup_elem(aff, &ak, &av), 0);
		assert_int_equal(av.backend_id, id0);
		assert_int_equal(removed_calls, 0);
	}
	restart_unchanged(w, 0);
	lbmap_set_removed_cb(F.lb, count_removed, NULL);
	check_own_flags(w, 2);
	assert_int_equal(slot_backend(&w[1], &be, NULL), id0);

	/* Elsewhere for one service: another id there, its affinity moved, nothing removed. */
	w[1].bes[0].flags = DRV_BE_F_TERMINATING;
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[1].fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	check_own_flags(w, 2);
	id1 = slot_backend(&w[1], &be, NULL);
	assert_int_not_equal(id1, id0);
	assert_int_equal(slot_backend(&w[0], &be, NULL), id0); /* the other keeps its own */
	assert_int_equal(bpf_map_lookup_elem(aff, &ak, &av), 0);
	assert_int_equal(av.backend_id, id1);
	assert_int_equal(removed_calls, 0);

	/* The other service agrees now: one entry again, the unused one gone. */
	w[0].bes[0].flags = 0;
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[0].fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	check_own_flags(w, 2);
	assert_int_equal(slot_backend(&w[0], &be, NULL), id1);
	assert_int_not_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_BACKEND), &id0, &be), 0);
	assert_int_equal(removed_calls, 0);

	/* Removed for real: reported, affinity gone. */
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_delete(F.lb, &w[0].fe.key), 0);
	assert_int_equal(lbmap_delete(F.lb, &w[1].fe.key), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	assert_int_equal(removed_calls, 2);
	assert_int_not_equal(bpf_map_lookup_elem(aff, &ak, &av), 0);
	lbmap_set_removed_cb(F.lb, NULL, NULL);
}

/* The entries of the backend map that name addr:port. */
static unsigned be_entries_of(int bfd, __be32 addr, __be16 port)
{
	struct drv_backend got;
	uint32_t key, next;
	bool have = false;
	unsigned n = 0;

	while (bpf_map_get_next_key(bfd, have ? &key : NULL, &next) == 0) {
		key = next;
		have = true;
		if (bpf_map_lookup_elem(bfd, &key, &got) == 0 && got.addr == addr &&
		    got.port == port)
			n++;
	}
	return n;
}

/* Two ids for one endpoint in the pinned backend map (a proxy that kept an endpoint once per
 * flag set wrote them), a slot naming the second: adopted, one entry is left — flows holding
 * the other id must not find the endpoint through it — and the resync points the slot at
 * that live entry of the endpoint. */
static void test_adopt_duplicate_backend(void **state)
{
	int bfd = dp_map_fd(F.dp, DP_MAP_BACKEND), sfd = dp_map_fd(F.dp, DP_MAP_SVC);
	struct drv_svc_key k;
	struct drv_svc_val v;
	struct drv_backend be, got;
	struct lbmap_fds fds;
	struct want w;
	uint32_t id, dup;

	(void)state;
	shared_fe(&w, 3, DRV_BE_F_LOCAL, 0);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w.fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	id = slot_backend(&w, &be, NULL);
	dup = id + 500;
	be.flags |= DRV_BE_F_TERMINATING;
	assert_int_equal(bpf_map_update_elem(bfd, &dup, &be, BPF_NOEXIST), 0);
	k = (struct drv_svc_key){
	    .addr = w.fe.key.addr, .dport = w.fe.key.port, .slot = 1, .proto = w.fe.key.proto};
	assert_int_equal(bpf_map_lookup_elem(sfd, &k, &v), 0);
	v.backend_id = dup;
	assert_int_equal(bpf_map_update_elem(sfd, &k, &v, BPF_EXIST), 0);
	assert_int_equal(be_entries_of(bfd, be.addr, be.port), 2);

	lbmap_free(F.lb);
	dp_lbmap_fds(F.dp, &fds);
	F.lb = lbmap_new(&fds, NULL);
	assert_int_equal(lbmap_adopt(F.lb), 0);
	lbmap_begin(F.lb);
	lbmap_mark(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w.fe), 0);
	assert_int_equal(lbmap_sweep(F.lb), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	assert_int_equal(be_entries_of(bfd, be.addr, be.port), 1);
	id = slot_backend(&w, &got, NULL);
	assert_int_equal(bpf_map_lookup_elem(bfd, &id, &got), 0);
	assert_int_equal(got.addr, be.addr);

	lbmap_begin(F.lb);
	assert_int_equal(lbmap_delete(F.lb, &w.fe.key), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
}

/* Maps an older proxy wrote: the backend entry says terminating, the slot nothing. Adopted
 * with their ids; the first resync writes the entry without the flag and the slot with it,
 * and the next one nothing. */
static void test_adopt_terminating_backend_entry(void **state)
{
	struct lbmap_counters c;
	struct drv_backend be;
	struct want w[2];
	uint32_t id;
	int bfd = dp_map_fd(F.dp, DP_MAP_BACKEND);

	(void)state;
	shared_fe(&w[0], 1, DRV_BE_F_LOCAL | DRV_BE_F_TERMINATING, 0);
	shared_fe(&w[1], 2, DRV_BE_F_LOCAL | DRV_BE_F_TERMINATING, 0);
	lbmap_begin(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[0].fe), 0);
	assert_int_equal(lbmap_upsert(F.lb, &w[1].fe), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	id = slot_backend(&w[0], &be, NULL);
	be.flags |= DRV_BE_F_TERMINATING;
	assert_int_equal(bpf_map_update_elem(bfd, &id, &be, BPF_EXIST), 0);
	for (int i = 0; i < 2; i++) {
		struct drv_svc_key k = {.addr = w[i].fe.key.addr,
					.dport = w[i].fe.key.port,
					.slot = 1,
					.proto = w[i].fe.key.proto};
		struct drv_svc_val v;

		assert_int_equal(bpf_map_lookup_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v), 0);
		v.flags = 0;
		assert_int_equal(
		    bpf_map_update_elem(dp_map_fd(F.dp, DP_MAP_SVC), &k, &v, BPF_EXIST), 0);
	}

	lbmap_free(F.lb);
	{
		struct lbmap_fds fds;

		dp_lbmap_fds(F.dp, &fds);
		F.lb = lbmap_new(&fds, NULL);
	}
	assert_int_equal(lbmap_adopt(F.lb), 0);
	lbmap_begin(F.lb);
	lbmap_mark(F.lb);
	assert_int_equal(lbmap_upsert(F.lb, &w[1].fe), 0);
	assert_int_equal(lbmap_upsert(F.lb, &w[0].fe), 0);
	assert_int_equal(lbmap_sweep(F.lb), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
	lbmap_get_counters(F.lb, &c);
	assert_int_equal(c.entries_written, 3); /* the backend entry and two slots */
	assert_int_equal(c.entries_deleted, 0);
	check_own_flags(w, 2);
	assert_int_equal(slot_backend(&w[0], &be, NULL), id);
	assert_int_equal(slot_backend(&w[1], &be, NULL), id);
	restart_unchanged(w, 1);

	lbmap_begin(F.lb);
	assert_int_equal(lbmap_delete(F.lb, &w[0].fe.key), 0);
	assert_int_equal(lbmap_delete(F.lb, &w[1].fe.key), 0);
	assert_int_equal(lbmap_commit(F.lb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_make_before_break_random, test_teardown),
	    cmocka_unit_test(test_single_change_cost),
	    cmocka_unit_test(test_adopt_and_reconcile),
	    cmocka_unit_test(test_adopt_removes_debris),
	    cmocka_unit_test(test_adopt_duplicate_backend),
	    cmocka_unit_test(test_maglev_btf),
	    cmocka_unit_test(test_two_scopes_adopted),
	    cmocka_unit_test(test_shared_endpoint_flags),
	    cmocka_unit_test(test_endpoint_flags_change),
	    cmocka_unit_test(test_adopt_terminating_backend_entry),
	    cmocka_unit_test_teardown(test_full_map, test_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
