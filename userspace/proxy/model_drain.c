/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model_drain.c: drv_drain1, the terminating endpoints that still serve. While a service has
 * ready endpoints its terminating ones get no slot (model.c's pick_endpoints), and their
 * drv_be4 entries may go; kube-proxy's conntrack cleanup still keeps the UDP flows to a
 * serving endpoint, so the tc/XDP paths and the socket LB's unconnected UDP flows keep such a
 * flow while its endpoint is listed here (TCP flows keep theirs regardless), and the proxy
 * leaves the connected UDP sockets on it until it leaves (proxy.c's on_removed). One entry
 * per address:port/protocol, counted over the services that list it; each service remembers
 * what it counted.
 */
#include "model_int.h"

#include "array.h"
#include "log.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COMP "model"

void model_set_drain_fd(struct proxy_model *m, int fd)
{
	m->drain_fd = fd;
}

static uint32_t refs_of(const struct proxy_model *m, const struct drv_drain_key *k)
{
	return (uint32_t)(uintptr_t)hmap_get(m->drain, k, sizeof(*k));
}

/* The endpoints of se's service that are terminating and serving, one per service port they
 * serve (duplicates are harmless: counted up and down alike). *out: malloc'd or NULL. */
static int draining_of(const struct svc_entry *se, struct drv_drain_key **out, size_t *nout)
{
	const struct k8s_service *svc = se->svc;
	struct drv_drain_key *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	if (!svc || svc->headless || svc->external_name || svc->other_proxy)
		return 0;
	for (size_t p = 0; p < svc->nports; p++) {
		for (size_t s = 0; s < se->nslices; s++) {
			const struct k8s_slice *sl = se->slices[s];
			uint16_t port = sl->ipv4 ? slice_port_for(sl, &svc->ports[p]) : 0;

			for (size_t i = 0; port && i < sl->neps; i++) {
				const struct slice_endpoint *ep = &sl->eps[i];

				if (ep->ready || !ep->serving || !ep->terminating)
					continue;
				if (ARRAY_GROW(v, cap, n + 1)) {
					free(v);
					return -ENOMEM;
				}
				memset(&v[n], 0, sizeof(v[n]));
				v[n].addr = ep->addr;
				v[n].port = htons(port);
				v[n].proto = svc->ports[p].proto;
				n++;
			}
		}
	}
	*out = v;
	*nout = n;
	return 0;
}

static int ref(struct proxy_model *m, const struct drv_drain_key *k)
{
	uint32_t r = refs_of(m, k);
	uint8_t one = 1;

	if (hmap_put(m->drain, k, sizeof(*k), (void *)(uintptr_t)(r + 1), NULL) < 0)
		return -ENOMEM;
	if (r == 0 && bpf_map_update_elem(m->drain_fd, k, &one, BPF_ANY))
		log_warn(COMP,
			 "drv_drain1: entry not written (%s): UDP flows to a terminating "
			 "endpoint move to a ready one",
			 strerror(errno));
	return 0;
}

static void unref(struct proxy_model *m, const struct drv_drain_key *k)
{
	uint32_t r = refs_of(m, k);

	if (r > 1) {
		hmap_put(m->drain, k, sizeof(*k), (void *)(uintptr_t)(r - 1), NULL); /* replaces */
		return;
	}
	hmap_del(m->drain, k, sizeof(*k));
	bpf_map_delete_elem(m->drain_fd, k);
}

int model_drain_update(struct proxy_model *m, struct svc_entry *se)
{
	struct drv_drain_key *v;
	size_t n, i;
	int err;

	if (m->drain_fd < 0)
		return 0;
	if (!m->drain && !(m->drain = hmap_new()))
		return -ENOMEM;
	err = draining_of(se, &v, &n);
	if (err)
		return err;
	/* New references first, so that an endpoint listed before and after never leaves the
	 * map; on failure the ones taken are given back and the old list stays. */
	for (i = 0; i < n; i++) {
		if (ref(m, &v[i]))
			break;
	}
	if (i < n) {
		while (i-- > 0)
			unref(m, &v[i]);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < se->ndrain; i++)
		unref(m, &se->drain[i]);
	free(se->drain);
	se->drain = v;
	se->ndrain = n;
	return 0;
}

void model_drain_sweep(struct proxy_model *m)
{
	struct drv_drain_key k, *gone = NULL;
	size_t n = 0, cap = 0;
	bool first = true;

	if (m->drain_fd < 0)
		return;
	while (bpf_map_get_next_key(m->drain_fd, first ? NULL : &k, &k) == 0) {
		first = false;
		if (m->drain && refs_of(m, &k))
			continue;
		if (ARRAY_GROW(gone, cap, n + 1))
			break; /* the rest at the next full sync */
		gone[n++] = k;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(m->drain_fd, &gone[i]);
	free(gone);
}
