/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc: ClusterIP and NodePort allocation over two bitmaps, as Kubernetes allocates them
 * (KEP-3070, KEP-3668): each range has a static band at its start, kept for values users ask
 * for (a cluster DNS at 10.96.0.10, a NodePort written in a manifest), and dynamic allocation
 * takes a random free value from the band above it, the static band only once that is full.
 * One mutex guards both bitmaps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alloc.h"
#include "api_int.h"

struct api_alloc {
	pthread_mutex_t lock;
	uint32_t base;	    /* network address, host order */
	uint32_t size;	    /* addresses in the range (network and broadcast never given) */
	uint8_t *ips;	    /* bitmap over [0, size) */
	uint32_t ip_static; /* indexes [1, ip_static) are the static band */
	char cidr[32];
	int port_lo, port_hi;
	uint8_t *ports;
	uint32_t port_static; /* offsets [0, port_static) are the static band */
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

int api_alloc_new(struct api_server *s)
{
	struct api_alloc *a = calloc(1, sizeof(*a));
	char net[32];
	const char *slash = strchr(s->cfg.service_cidr, '/');
	struct in_addr in;
	long bits;

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	s->alloc = a;
	if (!slash || (size_t)(slash - s->cfg.service_cidr) >= sizeof(net))
		return -EINVAL;
	memcpy(net, s->cfg.service_cidr, (size_t)(slash - s->cfg.service_cidr));
	net[slash - s->cfg.service_cidr] = 0;
	bits = strtol(slash + 1, NULL, 10);
	if (inet_pton(AF_INET, net, &in) != 1 || bits < 8 || bits > 30)
		return -EINVAL;
	a->size = 1u << (32 - bits);
	a->base = ntohl(in.s_addr) & ~(a->size - 1);
	a->ips = calloc(a->size / 8 + 1, 1);
	a->port_lo = s->cfg.nodeport_min;
	a->port_hi = s->cfg.nodeport_max;
	if (a->port_hi < a->port_lo)
		return -EINVAL;
	a->ports = calloc((size_t)(a->port_hi - a->port_lo + 1) / 8 + 1, 1);
	if (!a->ips || !a->ports)
		return -ENOMEM;
	snprintf(a->cidr, sizeof(a->cidr), "%s", s->cfg.service_cidr);
	/* network and broadcast addresses, and .1 (the kubernetes Service) until bootstrap */
	set_bit(a->ips, 0, true);
	set_bit(a->ips, a->size - 1, true);
	/* Kubernetes' band sizes: min(max(16, size/16), 256) addresses, min(max(16, size/32),
	 * 128) ports (the whole range when it is smaller than that) */
	a->ip_static = (a->size - 2) / 16;
	a->ip_static = a->ip_static < 16 ? 16 : a->ip_static > 256 ? 256 : a->ip_static;
	a->ip_static = a->ip_static + 1 > a->size - 1 ? a->size - 1 : a->ip_static + 1;
	a->port_static = (uint32_t)(a->port_hi - a->port_lo + 1) / 32;
	a->port_static = a->port_static < 16 ? 16 : a->port_static > 128 ? 128 : a->port_static;
	if (a->port_static > (uint32_t)(a->port_hi - a->port_lo + 1))
		a->port_static = (uint32_t)(a->port_hi - a->port_lo + 1);
	return 0;
}

/* A free index in [lo, hi) of m, from a random start; -1 when there is none. */
static int64_t pick(const uint8_t *m, uint32_t lo, uint32_t hi)
{
	uint32_t n = hi > lo ? hi - lo : 0, start = n ? arc4random_uniform(n) : 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = lo + (start + i) % n;

		if (!bit(m, idx))
			return idx;
	}
	return -1;
}

/* The upper (dynamic) band first, then the static band. */
static int64_t pick_banded(const uint8_t *m, uint32_t first, uint32_t split, uint32_t end)
{
	int64_t i = pick(m, split, end);

	return i >= 0 ? i : pick(m, first, split);
}

void api_alloc_free(struct api_server *s)
{
	struct api_alloc *a = s ? s->alloc : NULL;

	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->ips);
	free(a->ports);
	free(a);
	s->alloc = NULL;
}

const char *api_alloc_cidr(struct api_server *s)
{
	return s->alloc->cidr;
}

void api_alloc_ip_nth(struct api_server *s, uint32_t n, char *out)
{
	struct in_addr in = {.s_addr = htonl(s->alloc->base + n)};

	inet_ntop(AF_INET, &in, out, 16);
}

/* Index of ip in the range: 0 and *idx, -EINVAL, -ERANGE. */
static int ip_index(struct api_alloc *a, const char *ip, uint32_t *idx)
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

int api_alloc_ip(struct api_server *s, const char *want, char *out)
{
	struct api_alloc *a = s->alloc;
	uint32_t idx;
	int err = 0;

	pthread_mutex_lock(&a->lock);
	if (want && want[0]) {
		err = ip_index(a, want, &idx);
		if (!err && bit(a->ips, idx))
			err = -EEXIST;
	} else {
		int64_t i = pick_banded(a->ips, 1, a->ip_static, a->size - 1);

		err = i < 0 ? -ENOSPC : 0;
		idx = (uint32_t)(i < 0 ? 0 : i);
	}
	if (!err) {
		set_bit(a->ips, idx, true);
		api_alloc_ip_nth(s, idx, out);
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

bool api_alloc_ip_mark(struct api_server *s, const char *ip)
{
	struct api_alloc *a = s->alloc;
	uint32_t idx;
	bool fresh = false;

	pthread_mutex_lock(&a->lock);
	if (ip_index(a, ip, &idx) == 0) {
		fresh = !bit(a->ips, idx);
		set_bit(a->ips, idx, true);
	}
	pthread_mutex_unlock(&a->lock);
	return fresh;
}

void api_alloc_ip_release(struct api_server *s, const char *ip)
{
	struct api_alloc *a = s->alloc;
	uint32_t idx;

	pthread_mutex_lock(&a->lock);
	if (ip_index(a, ip, &idx) == 0)
		set_bit(a->ips, idx, false);
	pthread_mutex_unlock(&a->lock);
}

void api_alloc_port_range(struct api_server *s, int *lo, int *hi)
{
	*lo = s->alloc->port_lo;
	*hi = s->alloc->port_hi;
}

int api_alloc_port(struct api_server *s, int want, int *out)
{
	struct api_alloc *a = s->alloc;
	int n = a->port_hi - a->port_lo + 1, err = 0, port = want;

	pthread_mutex_lock(&a->lock);
	if (want) {
		if (want < a->port_lo || want > a->port_hi)
			err = -ERANGE;
		else if (bit(a->ports, (uint32_t)(want - a->port_lo)))
			err = -EEXIST;
	} else {
		int64_t i = pick_banded(a->ports, 0, a->port_static, (uint32_t)n);

		err = i < 0 ? -ENOSPC : 0;
		port = a->port_lo + (int)(i < 0 ? 0 : i);
	}
	if (!err) {
		set_bit(a->ports, (uint32_t)(port - a->port_lo), true);
		*out = port;
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

bool api_alloc_port_mark(struct api_server *s, int port)
{
	struct api_alloc *a = s->alloc;
	bool fresh = false;

	pthread_mutex_lock(&a->lock);
	if (port >= a->port_lo && port <= a->port_hi) {
		fresh = !bit(a->ports, (uint32_t)(port - a->port_lo));
		set_bit(a->ports, (uint32_t)(port - a->port_lo), true);
	}
	pthread_mutex_unlock(&a->lock);
	return fresh;
}

void api_alloc_port_release(struct api_server *s, int port)
{
	struct api_alloc *a = s->alloc;

	pthread_mutex_lock(&a->lock);
	if (port >= a->port_lo && port <= a->port_hi)
		set_bit(a->ports, (uint32_t)(port - a->port_lo), false);
	pthread_mutex_unlock(&a->lock);
}
