/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipalloc: ClusterIP and NodePort allocation as Kubernetes allocates them (KEP-3070,
 * KEP-3668): each range has a static band at its start, kept for values users ask for (a
 * cluster DNS at 10.96.0.10, a NodePort written in a manifest), and dynamic allocation takes a
 * random free value from the band above it, the static band only once that is full. A value
 * is taken by creating its key in the store (create fails if it exists: the store is the one
 * authority, shared by every API server over it); the bitmap is a hint of taken values that
 * spares most store round trips. One range type serves both ranges.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_alloc.h"
#include "hmap.h"
#include "k8s_jv.h"
#include "log.h"

#define COMP "alloc"

#define IP_PREFIX   "/registry/ranges/serviceips/"
#define PORT_PREFIX "/registry/ranges/servicenodeports/"

struct range {
	const char *prefix;
	uint32_t first, split, end; /* usable [first, end); static band [first, split) */
	uint8_t *hint;		    /* bit set: taken (or being taken) */
};

struct api_alloc {
	pthread_mutex_t lock;
	struct store *st;
	uint32_t base; /* network address, host order */
	uint32_t size; /* addresses in the range (network and broadcast never given) */
	char cidr[32];
	int port_lo, port_hi;
	struct range ips, ports;
};

static bool bit(const uint8_t *m, uint32_t i)
{
	return m[i / 8] & (1u << (i % 8));
}

static void set_bit(uint8_t *m, uint32_t i, bool v)
{
	if (v)
		m[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		m[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* ---- values and keys ---- */

static void ip_text(const struct api_alloc *a, uint32_t idx, char *out)
{
	struct in_addr in = {.s_addr = htonl(a->base + idx)};

	inet_ntop(AF_INET, &in, out, 16);
}

/* The store key of value idx of r. */
static int key_of(const struct api_alloc *a, const struct range *r, uint32_t idx, char *buf,
		  size_t size)
{
	char v[16];

	if (r == &a->ips)
		ip_text(a, idx, v);
	else
		snprintf(v, sizeof(v), "%d", a->port_lo + (int)idx);
	return snprintf(buf, size, "%s%s", r->prefix, v);
}

/* Index of ip in the range: 0 and *idx, -EINVAL, -ERANGE. */
static int ip_index(const struct api_alloc *a, const char *ip, uint32_t *idx)
{
	struct in_addr in;
	uint32_t h;

	if (!ip || inet_pton(AF_INET, ip, &in) != 1)
		return -EINVAL;
	h = ntohl(in.s_addr);
	if (h < a->base || h - a->base >= a->size || h == a->base || h - a->base == a->size - 1)
		return -ERANGE;
	*idx = h - a->base;
	return 0;
}

static int port_index(const struct api_alloc *a, int port, uint32_t *idx)
{
	if (port < a->port_lo || port > a->port_hi)
		return -ERANGE;
	*idx = (uint32_t)(port - a->port_lo);
	return 0;
}

/* ---- taking and releasing ---- */

/* Create the key of idx for owner. 0, -EEXIST, or the store's error. */
static int take_key(struct api_alloc *a, const struct range *r, uint32_t idx, const char *owner)
{
	char key[96], val[320];
	int n = key_of(a, r, idx, key, sizeof(key));
	int vn = snprintf(val, sizeof(val), "{\"owner\":\"%s\",\"time\":%lld}", owner ? owner : "",
			  (long long)time(NULL));

	return store_create(a->st, key, (size_t)n, val, (size_t)vn, NULL);
}

/* Take idx (a value the client asked for). */
static int take_one(struct api_alloc *a, struct range *r, uint32_t idx, const char *owner,
		    bool dry_run)
{
	char key[96];
	struct store_kv kv = {0};
	int n = key_of(a, r, idx, key, sizeof(key)), err;
	bool hinted;

	pthread_mutex_lock(&a->lock);
	hinted = bit(r->hint, idx);
	if (!dry_run)
		set_bit(r->hint, idx, true);
	pthread_mutex_unlock(&a->lock);
	if (dry_run || hinted) {
		/* the hint may be stale (another server released it): the store tells */
		err = store_get(a->st, key, (size_t)n, 0, &kv);
		store_kv_release(&kv);
		if (dry_run || err != -ENOENT)
			return err == 0 ? -EEXIST : err == -ENOENT ? 0 : err;
	}
	err = take_key(a, r, idx, owner);
	if (err && err != -EEXIST) {
		pthread_mutex_lock(&a->lock);
		set_bit(r->hint, idx, false);
		pthread_mutex_unlock(&a->lock);
	}
	return err;
}

/* A value free by the hint in [lo, hi), from a random start, claimed in the hint; -1 if none. */
static int64_t claim(struct api_alloc *a, struct range *r, uint32_t lo, uint32_t hi,
		     uint32_t *start)
{
	uint32_t n = hi > lo ? hi - lo : 0;

	pthread_mutex_lock(&a->lock);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = lo + (*start + i) % n;

		if (!bit(r->hint, idx)) {
			set_bit(r->hint, idx, true);
			*start = (*start + i + 1) % n;
			pthread_mutex_unlock(&a->lock);
			return idx;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return -1;
}

/* Any free value: the dynamic band, then the static one. A value another server took is
 * found taken by the store (-EEXIST): it stays marked and the next is tried. */
static int take_any(struct api_alloc *a, struct range *r, const char *owner, bool dry_run,
		    uint32_t *out)
{
	const uint32_t bands[2][2] = {{r->split, r->end}, {r->first, r->split}};

	for (int b = 0; b < 2; b++) {
		uint32_t lo = bands[b][0], hi = bands[b][1];
		uint32_t start = hi > lo ? arc4random_uniform(hi - lo) : 0;
		int64_t idx;

		while ((idx = claim(a, r, lo, hi, &start)) >= 0) {
			int err = dry_run ? 0 : take_key(a, r, (uint32_t)idx, owner);

			if (err == -EEXIST)
				continue;
			if (err || dry_run) {
				pthread_mutex_lock(&a->lock);
				set_bit(r->hint, (uint32_t)idx, false);
				pthread_mutex_unlock(&a->lock);
			}
			if (err)
				return err;
			*out = (uint32_t)idx;
			return 0;
		}
	}
	return -ENOSPC;
}

static void release(struct api_alloc *a, struct range *r, uint32_t idx)
{
	char key[96];
	int n = key_of(a, r, idx, key, sizeof(key));
	int err = store_delete(a->st, key, (size_t)n, 0, NULL);

	if (err && err != -ENOENT)
		log_warn(COMP, "releasing %s: %s", key, store_strerror(err));
	pthread_mutex_lock(&a->lock);
	set_bit(r->hint, idx, false);
	pthread_mutex_unlock(&a->lock);
}

/* ---- the API ---- */

int api_alloc_ip(struct api_alloc *a, const char *want, const char *owner, bool dry_run, char *out)
{
	uint32_t idx;
	int err;

	if (want && want[0]) {
		err = ip_index(a, want, &idx);
		if (!err)
			err = take_one(a, &a->ips, idx, owner, dry_run);
	} else {
		err = take_any(a, &a->ips, owner, dry_run, &idx);
	}
	if (!err)
		ip_text(a, idx, out);
	return err;
}

void api_alloc_ip_release(struct api_alloc *a, const char *ip)
{
	uint32_t idx;

	if (ip_index(a, ip, &idx) == 0)
		release(a, &a->ips, idx);
}

int api_alloc_port(struct api_alloc *a, int want, const char *owner, bool dry_run, int *out)
{
	uint32_t idx;
	int err;

	if (want) {
		err = port_index(a, want, &idx);
		if (!err)
			err = take_one(a, &a->ports, idx, owner, dry_run);
	} else {
		err = take_any(a, &a->ports, owner, dry_run, &idx);
	}
	if (!err)
		*out = a->port_lo + (int)idx;
	return err;
}

void api_alloc_port_release(struct api_alloc *a, int port)
{
	uint32_t idx;

	if (port_index(a, port, &idx) == 0)
		release(a, &a->ports, idx);
}

const char *api_alloc_cidr(const struct api_alloc *a)
{
	return a->cidr;
}

void api_alloc_ip_nth(const struct api_alloc *a, uint32_t n, char *out)
{
	ip_text(a, n, out);
}

void api_alloc_port_range(const struct api_alloc *a, int *lo, int *hi)
{
	*lo = a->port_lo;
	*hi = a->port_hi;
}

/* ---- repair ---- */

/* The value of a range key (after the prefix) as an index; -1 if it is not one. */
static int64_t index_of_key(const struct api_alloc *a, const struct range *r, const char *v)
{
	uint32_t idx;

	if (r == &a->ips ? ip_index(a, v, &idx) : port_index(a, atoi(v), &idx))
		return -1;
	return idx;
}

/* Release the keys of r nobody holds (held: hmap of key → owner), older than min_age_s;
 * load the hint with the rest. */
static int repair_range(struct api_alloc *a, struct range *r, struct hmap *held, unsigned min_age_s)
{
	struct store_list_opts lo = {.prefix = r->prefix, .prefix_len = strlen(r->prefix)};
	struct store_list l;
	int64_t now = (int64_t)time(NULL);
	int err = store_list(a->st, &lo, &l);

	if (err)
		return err;
	for (size_t i = 0; i < l.count; i++) {
		const struct store_kv *kv = &l.items[i];
		char v[64];
		int64_t idx, at = 0;
		struct jv_doc *d;
		struct jv *o;

		snprintf(v, sizeof(v), "%.*s", (int)(kv->key_len - lo.prefix_len),
			 (const char *)kv->key + lo.prefix_len);
		idx = index_of_key(a, r, v);
		if (idx < 0)
			continue; /* a range that no longer includes it: leave it */
		if (hmap_get(held, kv->key, kv->key_len)) {
			set_bit(r->hint, (uint32_t)idx, true);
			continue;
		}
		d = jv_doc_new();
		o = d ? jv_parse(d, (const char *)kv->value, kv->value_len, NULL) : NULL;
		if (o && jv_path_int(o, "time", &at) != 0)
			at = 0;
		jv_doc_free(d);
		if (now - at < (int64_t)min_age_s) {
			/* perhaps a create in flight on another server */
			set_bit(r->hint, (uint32_t)idx, true);
			continue;
		}
		err = store_delete(a->st, kv->key, kv->key_len, kv->mod_rev, NULL);
		if (err && err != -ENOENT && err != -STORE_ECONFLICT)
			log_warn(COMP, "repair: releasing %s: %s", v, store_strerror(err));
		else if (!err)
			log_info(COMP, "repair: released %s (no Service holds it)", v);
	}
	store_list_free(&l);
	return 0;
}

/* Make sure the key of idx exists for owner (a value a stored Service holds). */
static void retake(struct api_alloc *a, struct range *r, uint32_t idx, const char *owner,
		   struct hmap *held)
{
	char key[96];
	int n = key_of(a, r, idx, key, sizeof(key));
	const char *prev = hmap_get(held, key, (size_t)n);
	int err;

	if (prev && strcmp(prev, owner) != 0) {
		log_warn(COMP, "%s is held by two Services: %s and %s", key + strlen(r->prefix),
			 prev, owner);
		return;
	}
	hmap_put(held, key, (size_t)n, (void *)owner, NULL);
	err = take_key(a, r, idx, owner);
	if (err && err != -EEXIST)
		log_warn(COMP, "repair: taking %s for %s: %s", key, owner, store_strerror(err));
}

int api_alloc_repair(struct api_alloc *a, const struct api_alloc_holder *h, size_t n,
		     unsigned min_age_s)
{
	struct hmap *held = hmap_new();
	uint32_t idx;
	int err;

	if (!held)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (h[i].ip && h[i].ip[0] && strcmp(h[i].ip, "None") != 0 &&
		    ip_index(a, h[i].ip, &idx) == 0)
			retake(a, &a->ips, idx, h[i].owner, held);
		for (size_t p = 0; p < h[i].nports; p++)
			if (port_index(a, h[i].ports[p], &idx) == 0)
				retake(a, &a->ports, idx, h[i].owner, held);
	}
	err = repair_range(a, &a->ips, held, min_age_s);
	if (!err)
		err = repair_range(a, &a->ports, held, min_age_s);
	hmap_free(held);
	return err;
}

/* ---- lifecycle ---- */

int api_alloc_new(struct store *st, const char *cidr, int port_lo, int port_hi,
		  struct api_alloc **out)
{
	struct api_alloc *a = calloc(1, sizeof(*a));
	const char *slash = strchr(cidr, '/');
	uint32_t nports, band;
	struct in_addr in;
	char net[32];
	long bits;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	a->st = st;
	if (!slash || (size_t)(slash - cidr) >= sizeof(net) || port_hi < port_lo || port_lo < 1)
		goto inval;
	memcpy(net, cidr, (size_t)(slash - cidr));
	net[slash - cidr] = 0;
	bits = strtol(slash + 1, NULL, 10);
	if (inet_pton(AF_INET, net, &in) != 1 || bits < 8 || bits > 30)
		goto inval;
	snprintf(a->cidr, sizeof(a->cidr), "%s", cidr);
	a->size = 1u << (32 - bits);
	a->base = ntohl(in.s_addr) & ~(a->size - 1);
	a->port_lo = port_lo;
	a->port_hi = port_hi;
	nports = (uint32_t)(port_hi - port_lo + 1);
	/* Kubernetes' band sizes: min(max(16, size/16), 256) addresses, min(max(16, size/32),
	 * 128) ports (the whole range when it is smaller than that); .0 and the broadcast
	 * address are never given */
	band = (a->size - 2) / 16;
	band = band < 16 ? 16 : band > 256 ? 256 : band;
	a->ips = (struct range){.prefix = IP_PREFIX, .first = 1, .end = a->size - 1};
	a->ips.split = band + 1 > a->ips.end ? a->ips.end : band + 1;
	band = nports / 32;
	band = band < 16 ? 16 : band > 128 ? 128 : band;
	a->ports = (struct range){.prefix = PORT_PREFIX, .first = 0, .end = nports};
	a->ports.split = band > nports ? nports : band;
	a->ips.hint = calloc(a->size / 8 + 1, 1);
	a->ports.hint = calloc(nports / 8 + 1, 1);
	if (!a->ips.hint || !a->ports.hint) {
		api_alloc_free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
inval:
	api_alloc_free(a);
	return -EINVAL;
}

void api_alloc_free(struct api_alloc *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->ips.hint);
	free(a->ports.hint);
	free(a);
}
