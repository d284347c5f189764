/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model_lb: what LoadBalancer Services add to the model.
 *  - health checks: the services kube-proxy's service health server answers for (a
 *    healthCheckNodePort and externalTrafficPolicy Local) with their ready endpoints on this
 *    node (healthcheck.c listens);
 *  - loadBalancerSourceRanges: the drv_srcr1 trie entries of their LoadBalancer frontends,
 *    (frontend, source prefix). A commit adds a service's entries before lbmap announces
 *    DRV_SVC_F_SRC_RANGES on its frontends and sweeps those nothing needs after it, so a
 *    source in range is never dropped while the entries change (make-before-break, as
 *    lbmap does for backends).
 */
#include "model_int.h"
#include "array.h"
#include "drover_abi.h"
#include "hmap.h"
#include "log.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "model"

static int hc_cmp(const void *a, const void *b)
{
	const struct model_hc *x = a, *y = b;

	return (x->port > y->port) - (x->port < y->port);
}

/* kube-proxy counts the service's ready endpoints on this node (each address once, whatever
 * its ports), terminating ones not. */
static uint32_t local_ready(const struct proxy_model *m, const struct svc_entry *se)
{
	uint32_t n = 0;

	for (size_t s = 0; s < se->nslices; s++) {
		const struct k8s_slice *sl = se->slices[s];

		for (size_t i = 0; sl->ipv4 && i < sl->neps; i++) {
			const struct slice_endpoint *ep = &sl->eps[i];
			bool seen = false;

			if (!ep->ready || !m->node[0] || strcmp(ep->node, m->node))
				continue;
			/* the same address earlier, in this slice or another */
			for (size_t t = 0; t <= s && !seen; t++) {
				const struct k8s_slice *o = se->slices[t];

				for (size_t j = 0; o->ipv4 && j < (t == s ? i : o->neps) && !seen;
				     j++)
					seen = o->eps[j].addr == ep->addr && o->eps[j].ready &&
					       !strcmp(o->eps[j].node, m->node);
			}
			n += !seen;
		}
	}
	return n;
}

bool model_hc_wanted(const struct k8s_service *svc)
{
	return svc && svc->hc_node_port && svc->etp_local && !svc->other_proxy;
}

int model_health_checks(const struct proxy_model *m, struct model_hc **out, size_t *n)
{
	const struct hmap *from = m->hc_walk ? m->svcs : m->hcs;
	struct model_hc *v = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	for (struct hmap_entry *e = hmap_first(from); e; e = hmap_next(from, e)) {
		const struct svc_entry *se = hmap_entry_val(e);
		const struct k8s_service *svc = se->svc;

		if (!model_hc_wanted(svc))
			continue;
		if (ARRAY_GROW(v, cap, cnt + 1)) {
			free(v);
			return -ENOMEM;
		}
		snprintf(v[cnt].ns, sizeof(v[cnt].ns), "%s", svc->ns);
		snprintf(v[cnt].name, sizeof(v[cnt].name), "%s", svc->name);
		v[cnt].port = svc->hc_node_port;
		v[cnt].local_endpoints = local_ready(m, se);
		cnt++;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), hc_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

void model_set_srcrange_fd(struct proxy_model *m, int fd)
{
	m->srcr_fd = fd;
	m->srcr_dirty = true; /* what is pinned from before is checked at the next commit */
}

static bool has_lb_ip(const struct k8s_service *svc, uint32_t addr)
{
	for (size_t i = 0; i < svc->nlb_ips; i++)
		if (svc->lb_ips[i] == addr)
			return true;
	return false;
}

int model_srcr_add(struct proxy_model *m, const struct svc_entry *se)
{
	const struct k8s_service *svc = se->svc;
	uint8_t one = 1;
	int err = 0;

	if (m->srcr_fd < 0 || !svc || !svc->src_filtered)
		return 0;
	for (size_t i = 0; i < svc->nlb_ips; i++)
		for (size_t p = 0; p < svc->nports; p++)
			for (size_t r = 0; r < svc->nsrc_ranges; r++) {
				struct drv_srcrange_key k = {
				    .prefixlen = 64 + svc->src_ranges[r].len,
				    .fe_addr = svc->lb_ips[i],
				    .fe_port = htons(svc->ports[p].port),
				    .proto = svc->ports[p].proto,
				    .saddr = svc->src_ranges[r].addr,
				};

				if (bpf_map_update_elem(m->srcr_fd, &k, &one, BPF_ANY) && !err) {
					err = -errno;
					log_error(COMP,
						  "service %s: loadBalancerSourceRanges entry not "
						  "written (%s): sources in that range are dropped",
						  se->key, strerror(errno));
				}
			}
	return err;
}

/* An entry is needed while a service owning its frontend in the maps is filtered by that
 * range and has the frontend's address as a LoadBalancer IP. */
static bool needed(const struct proxy_model *m, const struct drv_srcrange_key *k)
{
	struct lb_fe_key fk = {.addr = k->fe_addr, .port = k->fe_port, .proto = k->proto};
	const struct svc_entry *se = hmap_get(m->owner, &fk, sizeof(fk));
	const struct k8s_service *svc = se ? se->svc : NULL;

	if (!svc || !svc->src_filtered || !has_lb_ip(svc, k->fe_addr))
		return false;
	for (size_t r = 0; r < svc->nsrc_ranges; r++)
		if (svc->src_ranges[r].addr == k->saddr &&
		    64u + svc->src_ranges[r].len == k->prefixlen)
			return true;
	return false;
}

void model_srcr_sweep(struct proxy_model *m)
{
	struct drv_srcrange_key k, *gone = NULL;
	size_t n = 0, cap = 0;
	bool first = true, partial = false;

	if (m->srcr_fd < 0 || !m->srcr_dirty)
		return;
	while (bpf_map_get_next_key(m->srcr_fd, first ? NULL : &k, &k) == 0) {
		first = false;
		if (needed(m, &k))
			continue;
		if (ARRAY_GROW(gone, cap, n + 1)) {
			partial = true; /* the rest at the next commit */
			break;
		}
		gone[n++] = k;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(m->srcr_fd, &gone[i]);
	free(gone);
	m->srcr_dirty = partial;
}
