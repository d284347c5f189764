/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbmap: state mirror of the service maps plus a write-ahead list of map operations that
 * lbmap_commit() (lbmap_commit.c) flushes phase by phase (see lbmap.h for the order and why).
 *
 * State: one fe_state per frontend (its rev-NAT id, flags and slot contents as they are in
 * the map after the last commit), one be_state per backend address and the flags the
 * datapath reads (its id and how many slots point at it). Ids are stable for as long as
 * something references them, so conntrack entries and affinity survive unrelated updates and
 * restarts, and an endpoint that starts terminating (a flag of its slot) keeps its id. An
 * endpoint that moves to another node in a service moves to another id: its affinity entries
 * move with it, and it is not reported as removed (lbmap_commit.c).
 */
#define _GNU_SOURCE
#include "lbmap_int.h"
#include "array.h"
#include "log.h"
#include "maglev.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP LBMAP_COMP

/* ---------- small helpers ---------- */

void lb_fe_key_str(const struct lb_fe_key *k, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = k->addr};

	inet_ntop(AF_INET, &in, a, sizeof(a));
	snprintf(buf, len, "%s:%u/%s%s", k->addr ? a : "*", ntohs(k->port),
		 k->proto == DRV_PROTO_UDP ? "UDP" : "TCP",
		 k->scope == DRV_SCOPE_INT ? " (internal)" : "");
}

static void op_vec_init(struct op_vec *v, size_t ksz, size_t vsz)
{
	memset(v, 0, sizeof(*v));
	v->ksz = ksz;
	v->vsz = vsz;
}

static void op_vec_free(struct op_vec *v)
{
	free(v->keys);
	free(v->vals);
	free(v->owner);
}

int lbm_op_push(struct op_vec *v, const void *key, const void *val, void *owner)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *k = realloc(v->keys, cap * v->ksz);

		if (!k)
			return -ENOMEM;
		v->keys = k;
		if (v->vsz) {
			void *nv = realloc(v->vals, cap * v->vsz);

			if (!nv)
				return -ENOMEM;
			v->vals = nv;
		}
		k = realloc(v->owner, cap * sizeof(void *));
		if (!k)
			return -ENOMEM;
		v->owner = k;
		v->cap = cap;
	}
	memcpy(v->keys + v->n * v->ksz, key, v->ksz);
	if (v->vsz)
		memcpy(v->vals + v->n * v->vsz, val, v->vsz);
	v->owner[v->n] = owner;
	v->n++;
	return 0;
}

void lbm_fe_touch(struct lbmap *m, struct fe_state *fe)
{
	if (fe->touched)
		return;
	if (ARRAY_GROW(m->touched, m->captouched, m->ntouched + 1))
		return; /* the commit then misses its cleanup; the next full sync repairs it */
	m->touched[m->ntouched++] = fe;
	fe->touched = true;
}

struct be_tuple lbm_be_tuple_of(const struct lb_backend *b)
{
	struct be_tuple t = {.addr = b->addr,
			     .port = b->port,
			     .proto = b->proto,
			     .flags = b->flags & LBM_BE_MAP_FLAGS};

	return t;
}

struct drv_svc_key lbm_svc_key(const struct lb_fe_key *k, uint16_t slot)
{
	struct drv_svc_key sk;

	memset(&sk, 0, sizeof(sk));
	sk.addr = k->addr;
	sk.dport = k->port;
	sk.proto = k->proto;
	sk.scope = k->scope;
	sk.slot = slot;
	return sk;
}

/* ---------- id allocation ---------- */

bool lbm_revnat_test(struct lbmap *m, uint32_t id)
{
	return m->revnat_used[id / 8] & (1u << (id % 8));
}

void lbm_revnat_set(struct lbmap *m, uint32_t id, bool used)
{
	if (used)
		m->revnat_used[id / 8] |= (uint8_t)(1u << (id % 8));
	else
		m->revnat_used[id / 8] &= (uint8_t) ~(1u << (id % 8));
}

/* Ids 1..limit: they index drv_pkts2, which is as large as drv_rnat4. */
static int revnat_alloc(struct lbmap *m, uint16_t *out)
{
	uint32_t limit = m->r_rnat.max - 1 < DRV_REVNAT_MAX ? m->r_rnat.max - 1 : DRV_REVNAT_MAX;

	for (uint32_t i = 0; i < limit; i++) {
		uint32_t id = (m->revnat_next + i) % limit + 1;

		if (!lbm_revnat_test(m, id)) {
			lbm_revnat_set(m, id, true);
			m->revnat_next = id;
			*out = (uint16_t)id;
			return 0;
		}
	}
	return -ENOSPC;
}

static uint32_t be_id_alloc(struct lbmap *m)
{
	if (m->nfree)
		return m->free_ids[--m->nfree];
	if (m->be_next_id == UINT32_MAX)
		return 0;
	return ++m->be_next_id;
}

void lbm_be_id_release(struct lbmap *m, uint32_t id)
{
	if (ARRAY_GROW(m->free_ids, m->capfree, m->nfree + 1) == 0)
		m->free_ids[m->nfree++] = id;
}

/* ---------- construction ---------- */

static void room_init(struct room *r, int fd, const char *name)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(r, 0, sizeof(*r));
	r->name = name;
	r->max = UINT32_MAX;
	memset(&info, 0, sizeof(info));
	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.max_entries)
		r->max = info.max_entries;
}

static bool room_fits(const struct room *r, uint32_t more)
{
	return (uint64_t)r->used + r->pending + more <= r->max;
}

/* Entries in the maps according to the state (after adopt, and after a failed commit). */
void lbm_room_recount(struct lbmap *m)
{
	struct hmap_entry *e;

	m->r_svc.used = m->r_rnat.used = m->r_mag.used = m->r_be.used = 0;
	for (e = hmap_first(m->fes); e; e = hmap_next(m->fes, e)) {
		struct fe_state *fe = hmap_entry_val(e);

		m->r_svc.used += (fe->has_master ? 1 : 0) + fe->nslots;
		m->r_rnat.used++;
		m->r_mag.used += fe->maglev_size ? 1 : 0;
	}
	for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e))
		m->r_be.used += ((struct be_state *)hmap_entry_val(e))->in_map ? 1 : 0;
	m->r_svc.pending = m->r_be.pending = m->r_rnat.pending = m->r_mag.pending = 0;
}

struct lbmap *lbmap_new(const struct lbmap_fds *fds, const struct lbmap_opts *opts)
{
	struct lbmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->fd = *fds;
	m->maglev_max = opts && opts->maglev_max ? opts->maglev_max : DRV_MAGLEV_DEFAULT_TABLE;
	m->fes = hmap_new();
	m->bes = hmap_new();
	if (!m->fes || !m->bes) {
		lbmap_free(m);
		errno = ENOMEM;
		return NULL;
	}
	room_init(&m->r_svc, fds->svc, DRV_MAP_SVC);
	room_init(&m->r_be, fds->backend, DRV_MAP_BACKEND);
	room_init(&m->r_rnat, fds->revnat, DRV_MAP_REVNAT);
	room_init(&m->r_mag, fds->maglev, DRV_MAP_MAGLEV);
	op_vec_init(&m->be_put, sizeof(uint32_t), sizeof(struct drv_backend));
	op_vec_init(&m->rnat_put, sizeof(uint32_t), sizeof(struct drv_revnat));
	op_vec_init(&m->name_put, sizeof(uint32_t), sizeof(struct drv_svc_name));
	op_vec_init(&m->slot_put, sizeof(struct drv_svc_key), sizeof(struct drv_svc_val));
	op_vec_init(&m->master_put, sizeof(struct drv_svc_key), sizeof(struct drv_svc_val));
	op_vec_init(&m->master_del, sizeof(struct drv_svc_key), 0);
	op_vec_init(&m->slot_del, sizeof(struct drv_svc_key), 0);
	op_vec_init(&m->be_del, sizeof(uint32_t), 0);
	op_vec_init(&m->rnat_del, sizeof(uint32_t), 0);
	op_vec_init(&m->name_del, sizeof(uint32_t), 0);
	return m;
}

void lbm_fe_free(struct fe_state *fe)
{
	if (!fe)
		return;
	free(fe->slots);
	free(fe->slot_flags);
	free(fe);
}

void lbm_tx_reset(struct lbmap *m)
{
	m->be_put.n = m->rnat_put.n = m->name_put.n = m->slot_put.n = m->master_put.n = 0;
	m->master_del.n = m->slot_del.n = m->be_del.n = m->rnat_del.n = m->name_del.n = 0;
	for (size_t i = 0; i < m->nmag; i++) {
		if (m->mag[i].inner_fd >= 0)
			close(m->mag[i].inner_fd);
		free(m->mag[i].ids);
	}
	m->nmag = 0;
	m->nrm = 0;
	/* A transaction begun and never committed leaves no marks behind. */
	for (size_t i = 0; i < m->ntouched; i++)
		m->touched[i]->touched = false;
	m->ntouched = 0;
	for (size_t i = 0; i < m->nzero; i++)
		m->zero[i]->maybe_dead = false;
	m->nzero = 0;
}

void lbmap_free(struct lbmap *m)
{
	struct hmap_entry *e;

	if (!m)
		return;
	lbm_tx_reset(m);
	if (m->fes) {
		for (e = hmap_first(m->fes); e; e = hmap_next(m->fes, e))
			lbm_fe_free(hmap_entry_val(e));
		hmap_free(m->fes);
	}
	if (m->bes) {
		for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e))
			free(hmap_entry_val(e));
		hmap_free(m->bes);
	}
	free(m->be_by_id);
	op_vec_free(&m->be_put);
	op_vec_free(&m->rnat_put);
	op_vec_free(&m->name_put);
	op_vec_free(&m->slot_put);
	op_vec_free(&m->master_put);
	op_vec_free(&m->master_del);
	op_vec_free(&m->slot_del);
	op_vec_free(&m->be_del);
	op_vec_free(&m->rnat_del);
	op_vec_free(&m->name_del);
	free(m->mag);
	free(m->rm);
	free(m->failed);
	free(m->touched);
	free(m->zero);
	free(m->free_ids);
	free(m);
}

void lbmap_set_removed_cb(struct lbmap *m, lbmap_removed_fn fn, void *ud)
{
	m->removed_cb = fn;
	m->removed_ud = ud;
}

void lbmap_set_trace(struct lbmap *m, lbmap_trace_fn fn, void *ud)
{
	m->trace = fn;
	m->trace_ud = ud;
}

static enum lbmap_map map_of_fd(const struct lbmap *m, int fd)
{
	if (fd == m->fd.backend)
		return LBMAP_BACKEND;
	if (fd == m->fd.revnat)
		return LBMAP_REVNAT;
	if (fd == m->fd.maglev)
		return LBMAP_MAGLEV;
	if (fd == m->fd.names)
		return LBMAP_NAMES;
	return LBMAP_SVC;
}

void lbm_trace_op(const struct lbmap *m, int fd, const struct op_vec *v, size_t i, bool del)
{
	if (m->trace)
		m->trace(map_of_fd(m, fd), v->keys + i * v->ksz, del ? NULL : v->vals + i * v->vsz,
			 m->trace_ud);
}

bool lbmap_has(const struct lbmap *m, const struct lb_fe_key *key)
{
	struct fe_state *fe = hmap_get(m->fes, key, sizeof(*key));

	return fe && !fe->deleting;
}

bool lbmap_serves(const struct lbmap *m, uint32_t addr, uint16_t port, uint8_t proto)
{
	static const uint8_t flags[] = {0, DRV_BE_F_LOCAL};

	for (size_t i = 0; i < sizeof(flags); i++) {
		struct be_tuple t = {.addr = addr, .port = port, .proto = proto, .flags = flags[i]};
		const struct be_state *s = hmap_get(m->bes, &t, sizeof(t));

		if (s && s->refs)
			return true;
	}
	return false;
}

void lbmap_get_counters(const struct lbmap *m, struct lbmap_counters *c)
{
	*c = m->ctr;
	c->frontends = (uint32_t)hmap_size(m->fes);
	c->backends = (uint32_t)hmap_size(m->bes);
}

size_t lbmap_failed(const struct lbmap *m, const struct lb_fe_key **keys)
{
	*keys = m->failed;
	return m->nfailed;
}

/* ---------- backends ---------- */

struct be_state *lbm_be_lookup_id(struct lbmap *m, uint32_t id)
{
	return id < m->nbe_by_id ? m->be_by_id[id] : NULL;
}

int lbm_be_id_set(struct lbmap *m, uint32_t id, struct be_state *s)
{
	if (id >= m->nbe_by_id) {
		size_t n = m->nbe_by_id ? m->nbe_by_id : 1024;
		void *p;

		if (!s)
			return 0;
		while (n <= id)
			n *= 2;
		p = realloc(m->be_by_id, n * sizeof(*m->be_by_id));
		if (!p)
			return -ENOMEM;
		m->be_by_id = p;
		memset(m->be_by_id + m->nbe_by_id, 0, (n - m->nbe_by_id) * sizeof(*m->be_by_id));
		m->nbe_by_id = n;
	}
	m->be_by_id[id] = s;
	return 0;
}

/* A backend nothing may point at any more: checked (and removed) at the end of the commit. */
void lbm_be_maybe_dead(struct lbmap *m, struct be_state *s)
{
	if (s->maybe_dead || s->refs != 0)
		return;
	if (ARRAY_GROW(m->zero, m->capzero, m->nzero + 1))
		return;
	m->zero[m->nzero++] = s;
	s->maybe_dead = true;
}

static void be_unref(struct lbmap *m, struct be_state *s)
{
	s->refs--;
	lbm_be_maybe_dead(m, s);
}

static struct be_state *be_get(struct lbmap *m, const struct lb_backend *b)
{
	struct be_tuple t = lbm_be_tuple_of(b);
	struct be_state *s = hmap_get(m->bes, &t, sizeof(t));

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->be = *b;
	s->be.flags &= LBM_BE_MAP_FLAGS;
	s->id = be_id_alloc(m);
	if (!s->id || hmap_put(m->bes, &t, sizeof(t), s, NULL) < 0) {
		free(s);
		return NULL;
	}
	if (lbm_be_id_set(m, s->id, s) < 0) {
		hmap_del(m->bes, &t, sizeof(t));
		free(s);
		return NULL;
	}
	lbm_be_maybe_dead(m, s); /* until a slot takes it */
	return s;
}

static int be_queue_put(struct lbmap *m, struct be_state *s)
{
	struct drv_backend v;

	if (s->queued || (s->in_map && !s->rewrite))
		return 0;
	if (!s->in_map)
		m->r_be.pending++;
	memset(&v, 0, sizeof(v));
	v.addr = s->be.addr;
	v.port = s->be.port;
	v.proto = s->be.proto;
	v.flags = s->be.flags;
	s->queued = true;
	return lbm_op_push(&m->be_put, &s->id, &v, s);
}

void lbm_be_forget(struct lbmap *m, struct be_state *s)
{
	struct be_tuple t = lbm_be_tuple_of(&s->be);

	hmap_del(m->bes, &t, sizeof(t));
	lbm_be_id_set(m, s->id, NULL);
	lbm_be_id_release(m, s->id);
	free(s);
}

/* ---------- upsert / delete ---------- */

/* By address:port/protocol: one slot per endpoint. */
static int cmp_backend_addr(const struct lb_backend *x, const struct lb_backend *y)
{
	uint32_t xa = ntohl(x->addr), ya = ntohl(y->addr);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	if (x->port != y->port)
		return ntohs(x->port) < ntohs(y->port) ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

/* ... and the flags last, so that an endpoint listed twice with different flags keeps the
 * same ones whatever the order it was given in. */
static int cmp_backend(const void *a, const void *b)
{
	const struct lb_backend *x = a, *y = b;
	int c = cmp_backend_addr(x, y);

	return c ? c : (int)x->flags - (int)y->flags;
}

static bool same_endpoint(const struct lb_backend *x, const struct lb_backend *y)
{
	return cmp_backend_addr(x, y) == 0;
}

/* Room for n slots in fe->slots and fe->slot_flags. */
int lbm_fe_reserve(struct fe_state *fe, uint32_t n)
{
	size_t cap = fe->cap;
	uint8_t *f;

	if (ARRAY_GROW(fe->slots, cap, n ? n : 1))
		return -ENOMEM;
	if (cap == fe->cap)
		return 0;
	f = realloc(fe->slot_flags, cap);
	if (!f)
		return -ENOMEM; /* slots grew, fe->cap did not: grown again next time */
	fe->slot_flags = f;
	fe->cap = (uint32_t)cap;
	return 0;
}

/* What a slot says about its endpoint: the service's, not the backend entry's. */
static uint8_t slot_flags_of(const struct lb_backend *b)
{
	return b->flags & DRV_BE_F_TERMINATING ? DRV_SLOT_F_TERMINATING : 0;
}

/* moved_to: the id fe now serves the same endpoint under (its node changed), or 0. */
static int remember_removed(struct lbmap *m, struct fe_state *fe, struct be_state *s,
			    uint32_t moved_to)
{
	struct removed *r;

	if (ARRAY_GROW(m->rm, m->caprm, m->nrm + 1))
		return -ENOMEM;
	r = &m->rm[m->nrm++];
	r->fe = fe->key;
	r->be = s->be;
	r->be_id = s->id;
	r->rev_nat = fe->rev_nat;
	r->moved_to = moved_to;
	r->affinity = fe->flags & DRV_SVC_F_AFFINITY;
	return 0;
}

static int queue_maglev(struct lbmap *m, struct fe_state *fe, const uint32_t *ids, size_t n,
			uint32_t *size_out)
{
	uint32_t msize = maglev_table_size(n, m->maglev_max);
	uint32_t *table = NULL, *vals = NULL, *keys = NULL;
	char **names = NULL;
	struct maglev_op *op;
	int fd = -1, err = -ENOMEM;
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t count;

	table = malloc(msize * sizeof(*table));
	vals = malloc((msize + 1) * sizeof(*vals));
	keys = malloc((msize + 1) * sizeof(*keys));
	names = calloc(n, sizeof(*names));
	if (!table || !vals || !keys || !names)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct be_state *s = lbm_be_lookup_id(m, ids[i]);
		char a[INET_ADDRSTRLEN];
		struct in_addr in = {.s_addr = s->be.addr};

		inet_ntop(AF_INET, &in, a, sizeof(a));
		if (asprintf(&names[i], "%s:%u/%u", a, ntohs(s->be.port), s->be.proto) < 0) {
			names[i] = NULL;
			goto out;
		}
	}
	err = maglev_build((const char *const *)names, n, msize, table);
	if (err)
		goto out;
	if (m->fd.btf > 0 && m->fd.btf_u32) {
		copts.btf_fd = (__u32)m->fd.btf;
		copts.btf_key_type_id = m->fd.btf_u32;
		copts.btf_value_type_id = m->fd.btf_u32;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "drv_maglev", sizeof(uint32_t), sizeof(uint32_t),
			    msize + 1, &copts);
	if (fd < 0) {
		err = -errno;
		log_warn(COMP, "maglev table for %s: create: %s", fe->name, strerror(errno));
		goto out;
	}
	keys[0] = 0;
	vals[0] = msize;
	for (uint32_t j = 0; j < msize; j++) {
		keys[j + 1] = j + 1;
		vals[j + 1] = ids[table[j]];
	}
	count = msize + 1;
	if (bpf_map_update_batch(fd, keys, vals, &count, &bopts) < 0) {
		err = -errno;
		log_warn(COMP, "maglev table for %s: fill: %s", fe->name, strerror(errno));
		goto out;
	}
	/* A table written in this transaction supersedes a deletion queued earlier in it. */
	{
		size_t w = 0;

		for (size_t i = 0; i < m->nmag; i++) {
			if (m->mag[i].inner_fd < 0 && m->mag[i].rev_nat == fe->rev_nat)
				continue;
			m->mag[w++] = m->mag[i];
		}
		m->nmag = w;
	}
	if (ARRAY_GROW(m->mag, m->capmag, m->nmag + 1))
		goto out;
	op = &m->mag[m->nmag++];
	op->fe = fe;
	op->rev_nat = fe->rev_nat;
	op->inner_fd = fd;
	op->ids = malloc(n * sizeof(uint32_t));
	op->nids = op->ids ? n : 0;
	if (op->ids)
		memcpy(op->ids, ids, n * sizeof(uint32_t));
	fd = -1;
	*size_out = msize;
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	if (names) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
	}
	free(names);
	free(table);
	free(vals);
	free(keys);
	return err;
}

static int queue_maglev_delete(struct lbmap *m, struct fe_state *fe)
{
	struct maglev_op *op;

	if (ARRAY_GROW(m->mag, m->capmag, m->nmag + 1))
		return -ENOMEM;
	op = &m->mag[m->nmag++];
	memset(op, 0, sizeof(*op));
	op->fe = fe; /* deletes run after masters; skipped if the frontend's update failed */
	op->rev_nat = fe->rev_nat;
	op->inner_fd = -1;
	return 0;
}

static void fe_undelete(struct lbmap *m, struct fe_state *fe);
static void slot_del_cancel(struct lbmap *m, struct fe_state *fe, const struct drv_svc_key *k);

void lbmap_begin(struct lbmap *m)
{
	lbm_tx_reset(m);
	m->nfailed = 0;
	m->full_logged = false;
	m->id_logged = false;
	m->r_svc.pending = m->r_be.pending = m->r_rnat.pending = m->r_mag.pending = 0;
	m->in_tx = true;
}

void lbmap_mark(struct lbmap *m)
{
	for (struct hmap_entry *e = hmap_first(m->fes); e; e = hmap_next(m->fes, e))
		((struct fe_state *)hmap_entry_val(e))->marked = false;
}

static int queue_slot(struct lbmap *m, struct fe_state *fe, size_t i, uint32_t backend_id,
		      uint8_t flags)
{
	struct drv_svc_key k = lbm_svc_key(&fe->key, (uint16_t)(i + 1));
	struct drv_svc_val v;

	memset(&v, 0, sizeof(v));
	v.backend_id = backend_id;
	v.rev_nat = fe->rev_nat;
	v.flags = flags;
	slot_del_cancel(m, fe, &k);
	return lbm_op_push(&m->slot_put, &k, &v, fe);
}

int lbmap_upsert(struct lbmap *m, const struct lb_frontend *want)
{
	struct fe_state *fe = hmap_get(m->fes, &want->key, sizeof(want->key));
	struct lb_backend *sorted = NULL;
	uint32_t *ids = NULL;
	uint8_t *sflags = NULL;
	size_t n = 0;
	bool is_new = false, external, same;
	uint16_t flags = want->flags & ~DRV_SVC_F_MAGLEV;
	uint32_t be_new = 0;
	uint32_t msize = 0;
	int err = 0;

	if (want->nbackends > DRV_MAX_BACKENDS_PER_SVC)
		return -E2BIG;
	if (want->nbackends) {
		sorted = malloc(want->nbackends * sizeof(*sorted));
		ids = malloc(want->nbackends * sizeof(*ids));
		sflags = malloc(want->nbackends);
		if (!sorted || !ids || !sflags) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(sorted, want->backends, want->nbackends * sizeof(*sorted));
		qsort(sorted, want->nbackends, sizeof(*sorted), cmp_backend);
		for (size_t i = 0; i < want->nbackends; i++) {
			if (n && same_endpoint(&sorted[n - 1], &sorted[i]))
				continue;
			sorted[n++] = sorted[i];
		}
	}

	if (!fe) {
		fe = calloc(1, sizeof(*fe));
		if (!fe) {
			err = -ENOMEM;
			goto out;
		}
		fe->key = want->key;
		err = revnat_alloc(m, &fe->rev_nat);
		if (!err)
			err = hmap_put(m->fes, &fe->key, sizeof(fe->key), fe, NULL);
		if (err < 0) {
			if (fe->rev_nat)
				lbm_revnat_set(m, fe->rev_nat, false);
			free(fe);
			fe = NULL;
			/* As a full map: reported with the others that failed (the caller
			 * retries them once deletions free ids), logged once per commit. */
			if (!m->id_logged)
				log_warn(COMP,
					 "no free frontend id (%s has %u entries): frontend %s and "
					 "others not written; raise --map-size revnat",
					 m->r_rnat.name, m->r_rnat.max, want->name);
			m->id_logged = true;
			m->ctr.write_failures++;
			if (ARRAY_GROW(m->failed, m->capfailed, m->nfailed + 1) == 0)
				m->failed[m->nfailed++] = want->key;
			goto out;
		}
		is_new = true;
	}
	if (fe && fe->deleting)
		fe_undelete(m, fe);
	fe->marked = true;
	lbm_fe_touch(m, fe);
	/* Maglev serves traffic from outside the node, which never uses an internal scope. */
	external =
	    (flags & (DRV_SVC_F_NODEPORT | DRV_SVC_F_EXTERNAL)) && want->key.scope != DRV_SCOPE_INT;

	for (size_t i = 0; i < n; i++) {
		struct be_state *s = be_get(m, &sorted[i]);

		if (!s) {
			err = -ENOMEM;
			goto out;
		}
		ids[i] = s->id;
		sflags[i] = slot_flags_of(&sorted[i]);
		be_new += !s->in_map && !s->queued;
	}
	/* Room for everything new this frontend needs, or nothing of it is written. */
	{
		uint32_t svc_new =
		    (fe->has_master ? 0 : 1) + (n > fe->nslots ? (uint32_t)n - fe->nslots : 0);
		uint32_t rnat_new = is_new ? 1 : 0,
			 mag_new = external && n && !fe->maglev_size ? 1 : 0;
		struct room *full = !room_fits(&m->r_svc, svc_new)     ? &m->r_svc
				    : !room_fits(&m->r_be, be_new)     ? &m->r_be
				    : !room_fits(&m->r_rnat, rnat_new) ? &m->r_rnat
				    : !room_fits(&m->r_mag, mag_new)   ? &m->r_mag
								       : NULL;

		if (full) {
			if (!m->full_logged)
				log_warn(COMP,
					 "map %s is full (%u entries): frontend %s and others not "
					 "written; raise --map-size",
					 full->name, full->max, want->name);
			m->full_logged = true;
			m->ctr.write_failures++;
			lbm_fe_fail(m, fe);
			err = -ENOSPC;
			goto out;
		}
		m->r_svc.pending += svc_new;
		m->r_rnat.pending += rnat_new;
		m->r_mag.pending += mag_new;
	}
	for (size_t i = 0; i < n; i++) {
		err = be_queue_put(m, lbm_be_lookup_id(m, ids[i]));
		if (err)
			goto out;
	}

	same = !is_new && fe->has_master && fe->flags == flags &&
	       fe->affinity_timeout == want->affinity_timeout && fe->count == n &&
	       fe->nslots == n && (n == 0 || memcmp(fe->slots, ids, n * sizeof(*ids)) == 0) &&
	       strcmp(fe->name, want->name) == 0 && (!external || !n || fe->maglev_valid);
	if (same) {
		/* The same backends; only what the service says about some of them (terminating)
		 * may differ: those slots are written again in place, nothing else. */
		for (size_t i = 0; i < n && !err; i++) {
			if (fe->slot_flags[i] != sflags[i])
				err = queue_slot(m, fe, i, ids[i], sflags[i]);
		}
		if (!err && n)
			memcpy(fe->slot_flags, sflags, n);
		goto out;
	}

	if (is_new) {
		struct drv_revnat rv;
		uint32_t id = fe->rev_nat;

		memset(&rv, 0, sizeof(rv));
		rv.addr = want->key.addr;
		rv.port = want->key.port;
		rv.proto = want->key.proto;
		err = lbm_op_push(&m->rnat_put, &id, &rv, fe);
		if (err)
			goto out;
	}
	if (is_new || strcmp(fe->name, want->name) != 0) {
		struct drv_svc_name nm;
		uint32_t id = fe->rev_nat;

		memset(&nm, 0, sizeof(nm));
		snprintf(nm.name, sizeof(nm.name), "%s", want->name);
		err = lbm_op_push(&m->name_put, &id, &nm, NULL);
		if (err)
			goto out;
		snprintf(fe->name, sizeof(fe->name), "%s", want->name);
	}

	/* Slots that change: new slots first, then overwrites of existing ones. Only a new key
	 * can fail for lack of room, so a frontend that cannot grow fails before any of its
	 * live slots changed, and keeps its old backends. */
	for (size_t i = fe->nslots; i < n && !err; i++)
		err = queue_slot(m, fe, i, ids[i], sflags[i]);
	for (size_t i = 0; i < n && i < fe->nslots && !err; i++) {
		if (fe->slots[i] != ids[i] || fe->slot_flags[i] != sflags[i])
			err = queue_slot(m, fe, i, ids[i], sflags[i]);
	}
	if (err)
		goto out;

	/* Maglev table for frontends reached from outside the node. */
	if (external && n) {
		bool changed = !fe->maglev_valid || fe->count != n || fe->nslots < n ||
			       memcmp(fe->slots, ids, n * sizeof(*ids)) != 0;

		if (changed) {
			err = queue_maglev(m, fe, ids, n, &msize);
			if (err)
				goto out;
		} else {
			msize = fe->maglev_size;
		}
		flags |= DRV_SVC_F_MAGLEV;
	} else if (fe->maglev_size) {
		err = queue_maglev_delete(m, fe);
		if (err)
			goto out;
	}

	/* Master entry. */
	{
		struct drv_svc_key k = lbm_svc_key(&fe->key, 0);
		struct drv_svc_val v;

		memset(&v, 0, sizeof(v));
		v.count = (uint16_t)n;
		v.rev_nat = fe->rev_nat;
		v.affinity_timeout = want->affinity_timeout;
		v.maglev_size = msize;
		v.flags = flags;
		err = lbm_op_push(&m->master_put, &k, &v, fe);
		if (err)
			goto out;
	}
	/* Surplus slots, after the master shrank. */
	for (uint32_t i = (uint32_t)n; i < fe->nslots; i++) {
		struct drv_svc_key k = lbm_svc_key(&fe->key, (uint16_t)(i + 1));

		err = lbm_op_push(&m->slot_del, &k, NULL, fe);
		if (err)
			goto out;
		fe->slot_dels = true;
	}

	err = lbm_fe_reserve(fe, (uint32_t)n);
	if (err)
		goto out;
	/* Reference counts and removed backends: nothing can fail from here on. */
	for (size_t i = 0; i < n; i++)
		lbm_be_lookup_id(m, ids[i])->refs++;
	for (uint32_t i = 0; i < fe->nslots; i++) {
		struct be_state *s = lbm_be_lookup_id(m, fe->slots[i]);
		uint32_t moved_to = 0;
		bool kept = false;

		if (!s)
			continue;
		be_unref(m, s);
		for (size_t j = 0; j < n && !kept; j++) {
			kept = ids[j] == fe->slots[i];
			if (!kept && same_endpoint(&sorted[j], &s->be))
				moved_to = ids[j];
		}
		if (!kept && i < fe->count)
			remember_removed(m, fe, s, moved_to);
	}
	if (n) {
		memcpy(fe->slots, ids, n * sizeof(*ids));
		memcpy(fe->slot_flags, sflags, n);
	}
	fe->nslots = fe->count = (uint32_t)n;
	fe->flags = flags;
	fe->affinity_timeout = want->affinity_timeout;
	fe->has_master = true;
	fe->maglev_size = msize;
	fe->maglev_valid = msize != 0;
out:
	/* An update that stopped half-way (out of memory after some of its writes were
	 * queued) writes none of them: the frontend keeps its state as it is in the maps and
	 * is reported for the retry. Its state above is only changed once nothing can fail. */
	if (err && fe)
		lbm_fe_fail(m, fe);
	free(sorted);
	free(ids);
	free(sflags);
	return err;
}

/* Queue the removal of a frontend. Its state (slots, master) is kept as it is in the map
 * until the commit forgets it, so that a later upsert in the same transaction can take the
 * removal back (fe_undelete). */
static int fe_queue_delete(struct lbmap *m, struct fe_state *fe)
{
	struct drv_svc_key k = lbm_svc_key(&fe->key, 0);
	uint32_t id = fe->rev_nat;
	int err;

	lbm_fe_touch(m, fe);
	if (fe->has_master) {
		err = lbm_op_push(&m->master_del, &k, NULL, fe);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < fe->nslots; i++) {
		struct be_state *s = lbm_be_lookup_id(m, fe->slots[i]);

		k = lbm_svc_key(&fe->key, (uint16_t)(i + 1));
		err = lbm_op_push(&m->slot_del, &k, NULL, fe);
		if (err)
			return err;
		fe->slot_dels = true;
		if (s) {
			be_unref(m, s);
			if (i < fe->count)
				remember_removed(m, fe, s, 0);
		}
	}
	if (fe->maglev_size) {
		err = queue_maglev_delete(m, fe);
		if (err)
			return err;
	}
	err = lbm_op_push(&m->rnat_del, &id, NULL, fe);
	if (!err)
		err = lbm_op_push(&m->name_del, &id, NULL, fe);
	fe->deleting = true;
	return err;
}

/* A slot written again in the same transaction must not be deleted at its end. */
static void slot_del_cancel(struct lbmap *m, struct fe_state *fe, const struct drv_svc_key *k)
{
	size_t w = 0;

	if (!fe->slot_dels)
		return;
	for (size_t i = 0; i < m->slot_del.n; i++) {
		if (m->slot_del.owner[i] == fe &&
		    !memcmp(m->slot_del.keys + i * m->slot_del.ksz, k, sizeof(*k)))
			continue;
		if (w != i) {
			memmove(m->slot_del.keys + w * m->slot_del.ksz,
				m->slot_del.keys + i * m->slot_del.ksz, m->slot_del.ksz);
			m->slot_del.owner[w] = m->slot_del.owner[i];
		}
		w++;
	}
	m->slot_del.n = w;
}

static void op_vec_drop_owner(struct op_vec *v, const void *owner)
{
	size_t w = 0;

	for (size_t i = 0; i < v->n; i++) {
		if (v->owner[i] == owner)
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
}

/* Take back a removal queued in this transaction: the frontend is wanted again. */
static void fe_undelete(struct lbmap *m, struct fe_state *fe)
{
	size_t w = 0;

	op_vec_drop_owner(&m->master_del, fe);
	op_vec_drop_owner(&m->slot_del, fe);
	op_vec_drop_owner(&m->rnat_del, fe);
	op_vec_drop_owner(&m->name_del, fe);
	for (size_t i = 0; i < m->nmag; i++) {
		if (m->mag[i].fe == fe && m->mag[i].inner_fd < 0)
			continue;
		m->mag[w++] = m->mag[i];
	}
	m->nmag = w;
	w = 0;
	for (size_t i = 0; i < m->nrm; i++) {
		if (!memcmp(&m->rm[i].fe, &fe->key, sizeof(fe->key)))
			continue;
		m->rm[w++] = m->rm[i];
	}
	m->nrm = w;
	for (uint32_t i = 0; i < fe->nslots; i++) {
		struct be_state *s = lbm_be_lookup_id(m, fe->slots[i]);

		if (s)
			s->refs++;
	}
	fe->deleting = false;
}

int lbmap_delete(struct lbmap *m, const struct lb_fe_key *key)
{
	struct fe_state *fe = hmap_get(m->fes, key, sizeof(*key));

	if (!fe || fe->deleting)
		return -ENOENT;
	return fe_queue_delete(m, fe);
}

int lbmap_sweep(struct lbmap *m)
{
	int err, n = 0;

	for (struct hmap_entry *e = hmap_first(m->fes); e; e = hmap_next(m->fes, e)) {
		struct fe_state *fe = hmap_entry_val(e);

		if (!fe->marked && !fe->deleting) {
			err = fe_queue_delete(m, fe);
			if (err)
				return err;
			n++;
		}
	}
	return n;
}
