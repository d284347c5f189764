/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbmap: the one writer of the service maps (drv_svc4, drv_be4, drv_rnat4, drv_mag4,
 * drv_names1). Callers describe frontends as wanted; lbmap works out the map entries that
 * must change and writes only those, in an order that keeps every packet's view valid:
 *
 *   backends -> rev-NAT -> backend slots -> Maglev tables -> master entries
 *   -> removed masters -> surplus slots -> unused Maglev tables -> unused backends
 *
 * so a frontend is announced only after everything it points at exists, and nothing is
 * removed while a master entry can still lead to it (make-before-break). Changes are
 * collected between lbmap_begin() and lbmap_commit() and written with one batch syscall
 * per map and phase, so a single service costs a handful of syscalls and 10,000 services
 * programmed from scratch cost the same handful per phase.
 *
 * A failed write (a full map) is counted and logged; the frontend it belonged to keeps its
 * previous, consistent entries (its master is not written) and is reported back so that the
 * caller can retry it. A wrong backend is never announced.
 *
 * After a restart, lbmap_adopt() rebuilds the state from the pinned maps (ids stay stable,
 * so existing connections keep their translation); a full sync then touches only what
 * differs, and lbmap_sweep() removes what the new configuration no longer has.
 *
 * Not thread-safe: one owner (the proxy's event loop) calls it.
 */
#ifndef DROVER_LBMAP_H
#define DROVER_LBMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frontend identity. addr and port in network byte order (as in the maps). scope: enum
 * drv_svc_scope; the internal scope of a two-scope frontend is a frontend of its own here
 * (its own rev-NAT id, master and slots). */
struct lb_fe_key {
	uint32_t addr;
	uint16_t port;
	uint8_t proto;
	uint8_t scope;
};

struct lb_backend {
	uint32_t addr; /* network order */
	uint16_t port; /* network order */
	uint8_t proto;
	/* enum drv_backend_flags: as the frontend's service has the endpoint. LOCAL goes to
	 * drv_be4 (and makes another backend id), TERMINATING to the frontend's slot. */
	uint8_t flags;
};

struct lb_frontend {
	struct lb_fe_key key;
	uint16_t flags; /* enum drv_svc_flags */
	uint32_t affinity_timeout;
	size_t nbackends;
	struct lb_backend *backends; /* any order; lbmap sorts its own copy */
	char name[64];		     /* "ns/name:port/proto" for inspection */
};

struct lbmap_fds {
	int svc;
	int backend;
	int revnat;
	int maglev;
	int affinity; /* stale affinity entries are removed with their backend */
	int names;
	/* BTF for the Maglev tables created here (key and value a __u32 of the programs'
	 * BTF), so that bpftool shows them as numbers; btf <= 0: none. */
	int btf;
	uint32_t btf_u32;
};

struct lbmap_opts {
	uint32_t maglev_max; /* largest Maglev table (a listed prime); 0 = default 16381 */
};

struct lbmap_counters {
	uint64_t commits;
	uint64_t entries_written;
	uint64_t entries_deleted;
	uint64_t write_failures; /* map full or other update error */
	uint32_t frontends;
	uint32_t backends;
};

/* Called at commit for every (frontend, backend) pair that stopped being served, after the
 * maps no longer lead to it: the proxy closes UDP sockets still connected to it. */
typedef void (*lbmap_removed_fn)(const struct lb_fe_key *fe, const struct lb_backend *be, void *ud);

struct lbmap;

/* Test seam: called after every single map write or delete lbmap performs, in order
 * (batched writes are reported element by element, in the order the kernel applies them).
 * value is NULL for a delete; for drv_mag4 the value is the inner table's fd. */
enum lbmap_map { LBMAP_SVC, LBMAP_BACKEND, LBMAP_REVNAT, LBMAP_MAGLEV, LBMAP_NAMES };
typedef void (*lbmap_trace_fn)(enum lbmap_map map, const void *key, const void *value, void *ud);

struct lbmap *lbmap_new(const struct lbmap_fds *fds, const struct lbmap_opts *opts);
void lbmap_free(struct lbmap *m);
void lbmap_set_removed_cb(struct lbmap *m, lbmap_removed_fn fn, void *ud);
void lbmap_set_trace(struct lbmap *m, lbmap_trace_fn fn, void *ud);

/* Rebuild state from the maps' current contents; removes entries that are inconsistent
 * (slots without a master, unreferenced backends, orphan rev-NAT/Maglev/name entries). */
int lbmap_adopt(struct lbmap *m);

void lbmap_begin(struct lbmap *m);
int lbmap_upsert(struct lbmap *m, const struct lb_frontend *fe);
int lbmap_delete(struct lbmap *m, const struct lb_fe_key *key);
/* Full sync helpers: lbmap_mark() before upserting the whole configuration, lbmap_sweep()
 * (inside the same transaction) deletes every frontend not upserted since and returns how
 * many (or -errno). */
void lbmap_mark(struct lbmap *m);
int lbmap_sweep(struct lbmap *m);
/* Write everything collected since lbmap_begin(). Returns 0, or -ENOSPC/-errno if some
 * frontend could not be written (see lbmap_failed()). */
int lbmap_commit(struct lbmap *m);
/* Frontends whose last commit failed (valid until the next lbmap_begin()). */
size_t lbmap_failed(const struct lbmap *m, const struct lb_fe_key **keys);

bool lbmap_has(const struct lbmap *m, const struct lb_fe_key *key);
void lbmap_get_counters(const struct lbmap *m, struct lbmap_counters *c);
/* Whether some frontend's slot leads to addr:port/proto (network order), whatever node the
 * endpoint is on (after the last commit). */
bool lbmap_serves(const struct lbmap *m, uint32_t addr, uint16_t port, uint8_t proto);

/* "10.96.0.10:80/TCP" */
void lb_fe_key_str(const struct lb_fe_key *k, char *buf, size_t len);

#endif
