/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbmap: state mirror of the service maps plus a write-ahead list of map operations that
 * lbmap_commit() flushes phase by phase (see lbmap.h for the order and why).
 *
 * State: one fe_state per frontend (its rev-NAT id, flags and slot contents as they are in
 * the map after the last commit), one be_state per backend address (its id and how many
 * slots point at it). Ids are stable for as long as something references them, so conntrack
 * entries and affinity survive unrelated updates and restarts.
 */
#define _GNU_SOURCE
#include "lbmap.h"
#include "drover_abi.h"
#include "hmap.h"
#include "log.h"
#include "maglev.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "lbmap"

struct fe_state {
	struct lb_fe_key key;
	uint16_t rev_nat;
	uint16_t flags;
	uint32_t affinity_timeout;
	uint32_t count;	 /* master count */
	uint32_t nslots; /* slot entries present (== count after a successful commit) */
	uint32_t cap;
	uint32_t *slots; /* backend id of slot i+1 */
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

struct be_state {
	struct lb_backend be;
	uint32_t id;
	uint32_t refs;
	uint8_t map_flags; /* flags as written in drv_be4 */
	bool in_map;
	bool queued; /* a put is queued in this transaction */
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
	struct hmap *fes;    /* lb_fe_key -> fe_state */
	struct hmap *bes;    /* (addr, port, proto) -> be_state */
	struct hmap *be_ids; /* id -> be_state */
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

/* ---------- small helpers ---------- */

void lb_fe_key_str(const struct lb_fe_key *k, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = k->addr};

	inet_ntop(AF_INET, &in, a, sizeof(a));
	snprintf(buf, len, "%s:%u/%s", k->addr ? a : "*", ntohs(k->port),
		 k->proto == DRV_PROTO_UDP ? "UDP" : "TCP");
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

static int op_push(struct op_vec *v, const void *key, const void *val, void *owner)
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

static int grow(void **arr, size_t *cap, size_t need, size_t elsz)
{
	size_t c;
	void *p;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	p = realloc(*arr, c * elsz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static void fe_touch(struct lbmap *m, struct fe_state *fe)
{
	if (fe->touched)
		return;
	if (grow((void **)&m->touched, &m->captouched, m->ntouched + 1, sizeof(*m->touched)))
		return; /* the commit then misses its cleanup; the next full sync repairs it */
	m->touched[m->ntouched++] = fe;
	fe->touched = true;
}

struct be_tuple {
	uint32_t addr;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};

static struct be_tuple be_tuple_of(const struct lb_backend *b)
{
	struct be_tuple t = {.addr = b->addr, .port = b->port, .proto = b->proto};

	return t;
}

static struct drv_svc_key svc_key(const struct lb_fe_key *k, uint16_t slot)
{
	struct drv_svc_key sk;

	memset(&sk, 0, sizeof(sk));
	sk.addr = k->addr;
	sk.dport = k->port;
	sk.proto = k->proto;
	sk.slot = slot;
	return sk;
}

/* ---------- id allocation ---------- */

static bool revnat_test(struct lbmap *m, uint32_t id)
{
	return m->revnat_used[id / 8] & (1u << (id % 8));
}

static void revnat_set(struct lbmap *m, uint32_t id, bool used)
{
	if (used)
		m->revnat_used[id / 8] |= (uint8_t)(1u << (id % 8));
	else
		m->revnat_used[id / 8] &= (uint8_t) ~(1u << (id % 8));
}

static int revnat_alloc(struct lbmap *m, uint16_t *out)
{
	for (uint32_t i = 0; i < DRV_REVNAT_MAX; i++) {
		uint32_t id = (m->revnat_next + i) % DRV_REVNAT_MAX + 1;

		if (!revnat_test(m, id)) {
			revnat_set(m, id, true);
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

static void be_id_release(struct lbmap *m, uint32_t id)
{
	if (grow((void **)&m->free_ids, &m->capfree, m->nfree + 1, sizeof(uint32_t)) == 0)
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
static void room_recount(struct lbmap *m)
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
	m->be_ids = hmap_new();
	if (!m->fes || !m->bes || !m->be_ids) {
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

static void fe_free(struct fe_state *fe)
{
	if (!fe)
		return;
	free(fe->slots);
	free(fe);
}

static void tx_reset(struct lbmap *m)
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
	tx_reset(m);
	if (m->fes) {
		for (e = hmap_first(m->fes); e; e = hmap_next(m->fes, e))
			fe_free(hmap_entry_val(e));
		hmap_free(m->fes);
	}
	if (m->bes) {
		for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e))
			free(hmap_entry_val(e));
		hmap_free(m->bes);
	}
	hmap_free(m->be_ids);
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

static void trace_op(const struct lbmap *m, int fd, const struct op_vec *v, size_t i, bool del)
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

static struct be_state *be_lookup_id(struct lbmap *m, uint32_t id)
{
	return hmap_get(m->be_ids, &id, sizeof(id));
}

/* A backend nothing may point at any more: checked (and removed) at the end of the commit. */
static void be_maybe_dead(struct lbmap *m, struct be_state *s)
{
	if (s->maybe_dead || s->refs != 0)
		return;
	if (grow((void **)&m->zero, &m->capzero, m->nzero + 1, sizeof(*m->zero)))
		return;
	m->zero[m->nzero++] = s;
	s->maybe_dead = true;
}

static void be_unref(struct lbmap *m, struct be_state *s)
{
	s->refs--;
	be_maybe_dead(m, s);
}

static struct be_state *be_get(struct lbmap *m, const struct lb_backend *b)
{
	struct be_tuple t = be_tuple_of(b);
	struct be_state *s = hmap_get(m->bes, &t, sizeof(t));

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->be = *b;
	s->id = be_id_alloc(m);
	if (!s->id || hmap_put(m->bes, &t, sizeof(t), s, NULL) < 0) {
		free(s);
		return NULL;
	}
	if (hmap_put(m->be_ids, &s->id, sizeof(s->id), s, NULL) < 0) {
		hmap_del(m->bes, &t, sizeof(t));
		free(s);
		return NULL;
	}
	be_maybe_dead(m, s); /* until a slot takes it */
	return s;
}

static int be_queue_put(struct lbmap *m, struct be_state *s, uint8_t flags)
{
	struct drv_backend v;

	s->be.flags = flags;
	if (s->queued || (s->in_map && s->map_flags == flags))
		return 0;
	if (!s->in_map)
		m->r_be.pending++;
	memset(&v, 0, sizeof(v));
	v.addr = s->be.addr;
	v.port = s->be.port;
	v.proto = s->be.proto;
	v.flags = flags;
	s->queued = true;
	return op_push(&m->be_put, &s->id, &v, s);
}

static void be_forget(struct lbmap *m, struct be_state *s)
{
	struct be_tuple t = be_tuple_of(&s->be);

	hmap_del(m->bes, &t, sizeof(t));
	hmap_del(m->be_ids, &s->id, sizeof(s->id));
	be_id_release(m, s->id);
	free(s);
}

/* ---------- upsert / delete ---------- */

static int cmp_backend(const void *a, const void *b)
{
	const struct lb_backend *x = a, *y = b;
	uint32_t xa = ntohl(x->addr), ya = ntohl(y->addr);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	if (x->port != y->port)
		return ntohs(x->port) < ntohs(y->port) ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

static int fe_reserve(struct fe_state *fe, uint32_t n)
{
	size_t cap = fe->cap;
	int err = grow((void **)&fe->slots, &cap, n ? n : 1, sizeof(uint32_t));

	fe->cap = (uint32_t)cap;
	return err;
}

static int remember_removed(struct lbmap *m, struct fe_state *fe, struct be_state *s)
{
	struct removed *r;

	if (grow((void **)&m->rm, &m->caprm, m->nrm + 1, sizeof(*m->rm)))
		return -ENOMEM;
	r = &m->rm[m->nrm++];
	r->fe = fe->key;
	r->be = s->be;
	r->be_id = s->id;
	r->rev_nat = fe->rev_nat;
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
		struct be_state *s = be_lookup_id(m, ids[i]);
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
	if (grow((void **)&m->mag, &m->capmag, m->nmag + 1, sizeof(*m->mag)))
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

	if (grow((void **)&m->mag, &m->capmag, m->nmag + 1, sizeof(*m->mag)))
		return -ENOMEM;
	op = &m->mag[m->nmag++];
	memset(op, 0, sizeof(*op));
	op->fe = NULL; /* deletes run after masters; not tied to a frontend's success */
	op->rev_nat = fe->rev_nat;
	op->inner_fd = -1;
	return 0;
}

static void fe_undelete(struct lbmap *m, struct fe_state *fe);
static void fe_fail(struct lbmap *m, struct fe_state *fe);
static void slot_del_cancel(struct lbmap *m, struct fe_state *fe, const struct drv_svc_key *k);

void lbmap_begin(struct lbmap *m)
{
	tx_reset(m);
	m->nfailed = 0;
	m->full_logged = false;
	m->r_svc.pending = m->r_be.pending = m->r_rnat.pending = m->r_mag.pending = 0;
	m->in_tx = true;
}

void lbmap_mark(struct lbmap *m)
{
	for (struct hmap_entry *e = hmap_first(m->fes); e; e = hmap_next(m->fes, e))
		((struct fe_state *)hmap_entry_val(e))->marked = false;
}

static int queue_slot(struct lbmap *m, struct fe_state *fe, size_t i, uint32_t backend_id)
{
	struct drv_svc_key k = svc_key(&fe->key, (uint16_t)(i + 1));
	struct drv_svc_val v;

	memset(&v, 0, sizeof(v));
	v.backend_id = backend_id;
	v.rev_nat = fe->rev_nat;
	slot_del_cancel(m, fe, &k);
	return op_push(&m->slot_put, &k, &v, fe);
}

int lbmap_upsert(struct lbmap *m, const struct lb_frontend *want)
{
	struct fe_state *fe = hmap_get(m->fes, &want->key, sizeof(want->key));
	struct lb_backend *sorted = NULL;
	uint32_t *ids = NULL;
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
		if (!sorted || !ids) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(sorted, want->backends, want->nbackends * sizeof(*sorted));
		qsort(sorted, want->nbackends, sizeof(*sorted), cmp_backend);
		for (size_t i = 0; i < want->nbackends; i++) {
			if (n && cmp_backend(&sorted[n - 1], &sorted[i]) == 0)
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
				revnat_set(m, fe->rev_nat, false);
			free(fe);
			log_warn(COMP, "frontend %s: no free frontend id", want->name);
			goto out;
		}
		is_new = true;
	}
	if (fe && fe->deleting)
		fe_undelete(m, fe);
	fe->marked = true;
	fe_touch(m, fe);
	external = flags & (DRV_SVC_F_NODEPORT | DRV_SVC_F_EXTERNAL);

	for (size_t i = 0; i < n; i++) {
		struct be_state *s = be_get(m, &sorted[i]);

		if (!s) {
			err = -ENOMEM;
			goto out;
		}
		ids[i] = s->id;
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
			fe_fail(m, fe);
			err = -ENOSPC;
			goto out;
		}
		m->r_svc.pending += svc_new;
		m->r_rnat.pending += rnat_new;
		m->r_mag.pending += mag_new;
	}
	for (size_t i = 0; i < n; i++) {
		err = be_queue_put(m, be_lookup_id(m, ids[i]), sorted[i].flags);
		if (err)
			goto out;
	}

	same = !is_new && fe->has_master && fe->flags == flags &&
	       fe->affinity_timeout == want->affinity_timeout && fe->count == n &&
	       fe->nslots == n && (n == 0 || memcmp(fe->slots, ids, n * sizeof(*ids)) == 0) &&
	       strcmp(fe->name, want->name) == 0 && (!external || !n || fe->maglev_valid);
	if (same)
		goto out;

	if (is_new) {
		struct drv_revnat rv;
		uint32_t id = fe->rev_nat;

		memset(&rv, 0, sizeof(rv));
		rv.addr = want->key.addr;
		rv.port = want->key.port;
		rv.proto = want->key.proto;
		err = op_push(&m->rnat_put, &id, &rv, fe);
		if (err)
			goto out;
	}
	if (is_new || strcmp(fe->name, want->name) != 0) {
		struct drv_svc_name nm;
		uint32_t id = fe->rev_nat;

		memset(&nm, 0, sizeof(nm));
		snprintf(nm.name, sizeof(nm.name), "%s", want->name);
		err = op_push(&m->name_put, &id, &nm, NULL);
		if (err)
			goto out;
		snprintf(fe->name, sizeof(fe->name), "%s", want->name);
	}

	/* Slots that change: new slots first, then overwrites of existing ones. Only a new key
	 * can fail for lack of room, so a frontend that cannot grow fails before any of its
	 * live slots changed, and keeps its old backends. */
	for (size_t i = fe->nslots; i < n && !err; i++)
		err = queue_slot(m, fe, i, ids[i]);
	for (size_t i = 0; i < n && i < fe->nslots && !err; i++) {
		if (fe->slots[i] != ids[i])
			err = queue_slot(m, fe, i, ids[i]);
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
		struct drv_svc_key k = svc_key(&fe->key, 0);
		struct drv_svc_val v;

		memset(&v, 0, sizeof(v));
		v.count = (uint16_t)n;
		v.rev_nat = fe->rev_nat;
		v.affinity_timeout = want->affinity_timeout;
		v.maglev_size = msize;
		v.flags = flags;
		err = op_push(&m->master_put, &k, &v, fe);
		if (err)
			goto out;
	}
	/* Surplus slots, after the master shrank. */
	for (uint32_t i = (uint32_t)n; i < fe->nslots; i++) {
		struct drv_svc_key k = svc_key(&fe->key, (uint16_t)(i + 1));

		err = op_push(&m->slot_del, &k, NULL, fe);
		if (err)
			goto out;
		fe->slot_dels = true;
	}

	/* Reference counts and removed backends. */
	for (size_t i = 0; i < n; i++)
		be_lookup_id(m, ids[i])->refs++;
	for (uint32_t i = 0; i < fe->nslots; i++) {
		struct be_state *s = be_lookup_id(m, fe->slots[i]);
		bool kept = false;

		if (!s)
			continue;
		be_unref(m, s);
		for (size_t j = 0; j < n && !kept; j++)
			kept = ids[j] == fe->slots[i];
		if (!kept && i < fe->count)
			remember_removed(m, fe, s);
	}
	err = fe_reserve(fe, (uint32_t)n);
	if (err)
		goto out;
	if (n)
		memcpy(fe->slots, ids, n * sizeof(*ids));
	fe->nslots = fe->count = (uint32_t)n;
	fe->flags = flags;
	fe->affinity_timeout = want->affinity_timeout;
	fe->has_master = true;
	fe->maglev_size = msize;
	fe->maglev_valid = msize != 0;
out:
	free(sorted);
	free(ids);
	return err;
}

/* Queue the removal of a frontend. Its state (slots, master) is kept as it is in the map
 * until the commit forgets it, so that a later upsert in the same transaction can take the
 * removal back (fe_undelete). */
static int fe_queue_delete(struct lbmap *m, struct fe_state *fe)
{
	struct drv_svc_key k = svc_key(&fe->key, 0);
	uint32_t id = fe->rev_nat;
	int err;

	fe_touch(m, fe);
	if (fe->has_master) {
		err = op_push(&m->master_del, &k, NULL, fe);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < fe->nslots; i++) {
		struct be_state *s = be_lookup_id(m, fe->slots[i]);

		k = svc_key(&fe->key, (uint16_t)(i + 1));
		err = op_push(&m->slot_del, &k, NULL, fe);
		if (err)
			return err;
		fe->slot_dels = true;
		if (s) {
			be_unref(m, s);
			if (i < fe->count)
				remember_removed(m, fe, s);
		}
	}
	if (fe->maglev_size) {
		err = queue_maglev_delete(m, fe);
		if (err)
			return err;
		m->mag[m->nmag - 1].fe = fe;
	}
	err = op_push(&m->rnat_del, &id, NULL, fe);
	if (!err)
		err = op_push(&m->name_del, &id, NULL, fe);
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
		struct be_state *s = be_lookup_id(m, fe->slots[i]);

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

/* ---------- commit ---------- */

static void fe_fail(struct lbmap *m, struct fe_state *fe)
{
	if (!fe || fe->failed)
		return;
	fe->failed = true;
	fe_touch(m, fe);
	if (grow((void **)&m->failed, &m->capfailed, m->nfailed + 1, sizeof(*m->failed)) == 0)
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
			trace_op(m, fd, v, i, del);
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
	count = (__u32)v->n;
	r = del ? bpf_map_delete_batch(fd, v->keys, &count, &opts)
		: bpf_map_update_batch(fd, v->keys, v->vals, &count, &opts);
	for (size_t i = 0; i < count && i < v->n; i++)
		trace_op(m, fd, v, i, del);
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
	fe_fail(m, v->owner[i]);
}

static void fail_backend(struct lbmap *m, struct op_vec *v, size_t i)
{
	struct be_state *s = v->owner[i];

	s->failed = true;
}

/* Re-read one frontend's entries from the map after a failed commit. */
static void fe_refresh(struct lbmap *m, struct fe_state *fe)
{
	struct drv_svc_key k = svc_key(&fe->key, 0);
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
		if (fe_reserve(fe, slot))
			break;
		fe->slots[slot - 1] = v.backend_id;
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

static void recount_refs(struct lbmap *m)
{
	struct hmap_entry *e;

	for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e))
		((struct be_state *)hmap_entry_val(e))->refs = 0;
	for (e = hmap_first(m->fes); e; e = hmap_next(m->fes, e)) {
		struct fe_state *fe = hmap_entry_val(e);

		for (uint32_t i = 0; i < fe->nslots; i++) {
			struct be_state *s = be_lookup_id(m, fe->slots[i]);

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
		bool drop = false;

		if (bpf_map_lookup_elem(m->fd.affinity, &next, &val) == 0) {
			for (size_t i = 0; i < m->nrm && !drop; i++)
				drop = m->rm[i].affinity && m->rm[i].rev_nat == next.rev_nat &&
				       m->rm[i].be_id == val.backend_id;
		}
		if (drop && bpf_map_delete_elem(m->fd.affinity, &next) == 0) {
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
			s->map_flags =
			    ((struct drv_backend *)(m->be_put.vals + i * m->be_put.vsz))->flags;
		}
	}
	/* Slots and Maglev tables that point at a backend that could not be written fail
	 * their frontend. */
	if (failures) {
		for (size_t i = 0; i < m->slot_put.n; i++) {
			struct drv_svc_val *v = (void *)(m->slot_put.vals + i * m->slot_put.vsz);
			struct be_state *s = be_lookup_id(m, v->backend_id);

			if (s && s->failed)
				fe_fail(m, m->slot_put.owner[i]);
		}
		for (size_t i = 0; i < m->nmag; i++) {
			for (size_t j = 0; j < m->mag[i].nids; j++) {
				struct be_state *s = be_lookup_id(m, m->mag[i].ids[j]);

				if (s && s->failed)
					fe_fail(m, m->mag[i].fe);
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
			fe_fail(m, op->fe);
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
		if (m->mag[i].inner_fd >= 0)
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
		recount_refs(m);
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
		revnat_set(m, fe->rev_nat, false);
		hmap_del(m->fes, &fe->key, sizeof(fe->key));
		fe_free(fe);
	}
	m->ntouched = 0;
	flush(m, m->fd.revnat, &m->rnat_del, true, DRV_MAP_REVNAT, NULL);
	if (m->fd.names >= 0)
		flush(m, m->fd.names, &m->name_del, true, DRV_MAP_NAMES, NULL);

	/* 9. backends nothing points at any more */
	if (failures) {
		/* Counts were rebuilt from the maps: every backend is a candidate. */
		for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e))
			be_maybe_dead(m, hmap_entry_val(e));
	}
	for (size_t i = 0; i < m->nzero; i++) {
		struct be_state *s = m->zero[i];

		if (s->refs == 0 && s->in_map)
			op_push(&m->be_del, &s->id, NULL, NULL);
	}
	flush(m, m->fd.backend, &m->be_del, true, DRV_MAP_BACKEND, NULL);
	for (size_t i = 0; i < m->nzero; i++) {
		struct be_state *s = m->zero[i];

		s->maybe_dead = false;
		if (s->refs == 0)
			be_forget(m, s);
	}
	m->nzero = 0;

	/* Room accounting: exact from the state after a failure, incremental otherwise. */
	if (m->nfailed) {
		room_recount(m);
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
		for (size_t i = 0; i < m->nrm; i++)
			m->removed_cb(&m->rm[i].fe, &m->rm[i].be, m->removed_ud);
	}
	m->in_tx = false;
	tx_reset(m);
	return m->nfailed ? -ENOSPC : 0;
}

/* ---------- adopt (restart) ---------- */

int lbmap_adopt(struct lbmap *m)
{
	struct drv_svc_key key, next;
	struct drv_svc_val val;
	bool have = false;
	size_t orphans = 0;
	struct hmap_entry *e;
	uint32_t id, nid;

	/* Backends first, so that slots can be resolved. */
	{
		struct drv_backend b;
		bool hv = false;

		while (bpf_map_get_next_key(m->fd.backend, hv ? &id : NULL, &nid) == 0) {
			id = nid;
			hv = true;
			if (bpf_map_lookup_elem(m->fd.backend, &id, &b) != 0)
				continue;
			struct lb_backend lb = {.addr = b.addr, .port = b.port, .proto = b.proto};
			struct be_tuple t = be_tuple_of(&lb);
			struct be_state *s;

			if (hmap_get(m->bes, &t, sizeof(t)))
				continue; /* duplicate tuple: the later id is dropped below */
			s = calloc(1, sizeof(*s));
			if (!s)
				return -ENOMEM;
			s->be = lb;
			s->be.flags = b.flags;
			s->id = id;
			s->in_map = true;
			s->map_flags = b.flags;
			if (hmap_put(m->bes, &t, sizeof(t), s, NULL) < 0 ||
			    hmap_put(m->be_ids, &id, sizeof(id), s, NULL) < 0) {
				free(s);
				return -ENOMEM;
			}
			if (id > m->be_next_id)
				m->be_next_id = id;
		}
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
			fe = hmap_get(m->fes, &fk, sizeof(fk));
			if (pass == 0) {
				if (fe || !val.rev_nat || revnat_test(m, val.rev_nat))
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
				revnat_set(m, fe->rev_nat, true);
				continue;
			}
			if (!fe || fe_reserve(fe, key.slot)) {
				/* A slot without a master: left over from an interrupted write. */
				struct drv_svc_key dk = key;

				if (bpf_map_delete_elem(m->fd.svc, &dk) == 0)
					orphans++;
				/* Deleting the current key restarts iteration from the start. */
				have = false;
				continue;
			}
			for (uint32_t i = fe->nslots; i < key.slot; i++)
				fe->slots[i] = 0;
			fe->slots[key.slot - 1] = val.backend_id;
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
			if (!fe->slots[i] || !be_lookup_id(m, fe->slots[i]))
				fe->count = UINT32_MAX;
		}
		fe->maglev_valid = false;
	}
	recount_refs(m);

	/* Unreferenced backends, orphan rev-NAT, name and Maglev entries. */
	{
		struct be_state **dead = NULL;
		size_t ndead = 0, capdead = 0;

		for (e = hmap_first(m->bes); e; e = hmap_next(m->bes, e)) {
			struct be_state *s = hmap_entry_val(e);

			if (s->refs == 0 &&
			    grow((void **)&dead, &capdead, ndead + 1, sizeof(*dead)) == 0)
				dead[ndead++] = s;
		}
		for (size_t i = 0; i < ndead; i++) {
			bpf_map_delete_elem(m->fd.backend, &dead[i]->id);
			be_forget(m, dead[i]);
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
				if (nid <= DRV_REVNAT_MAX && revnat_test(m, nid)) {
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
		if (!be_lookup_id(m, i))
			be_id_release(m, i);
	}
	room_recount(m);
	if (orphans)
		log_info(COMP, "adopt: removed %zu stale entries", orphans);
	log_info(COMP, "adopt: %zu frontends, %zu backends from pinned maps", hmap_size(m->fes),
		 hmap_size(m->bes));
	return 0;
}
