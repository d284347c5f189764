/* SPDX-License-Identifier: Apache-2.0 */
/* model: Services + EndpointSlices -> frontends, recomputed per changed service. */
#include "model.h"
#include "model_int.h"
#include "array.h"
#include "drover_abi.h"
#include "hmap.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMP "model"

void k8s_service_free(struct k8s_service *s)
{
	if (!s)
		return;
	free(s->ports);
	free(s->external_ips);
	free(s->lb_ips);
	free(s->src_ranges);
	free(s);
}

void k8s_slice_free(struct k8s_slice *s)
{
	if (!s)
		return;
	free(s->ports);
	free(s->eps);
	free(s);
}

/* "ns/name" (snprintf's work without its format parsing: the conflict check makes one per
 * service on every reload, 10,000 of them a few ms), truncated as snprintf would. */
static void make_key(char *buf, size_t len, const char *ns, const char *name)
{
	size_t a = strlen(ns), b = strlen(name);

	if (a + 1 + b >= len) {
		snprintf(buf, len, "%s/%s", ns, name);
		return;
	}
	memcpy(buf, ns, a);
	buf[a] = '/';
	memcpy(buf + a + 1, name, b + 1);
}

struct proxy_model *model_new(const struct model_opts *opts, struct lbmap *lb)
{
	struct proxy_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	snprintf(m->node, sizeof(m->node), "%s", opts && opts->node_name ? opts->node_name : "");
	m->lb = lb;
	m->srcr_fd = -1;
	m->drain_fd = -1;
	m->dirty_tail = &m->dirty;
	m->svcs = hmap_new();
	m->slices = hmap_new();
	m->owner = hmap_new();
	m->hcs = hmap_new();
	if (!m->svcs || !m->slices || !m->owner || !m->hcs) {
		model_free(m);
		return NULL;
	}
	return m;
}

void model_set_lbmap(struct proxy_model *m, struct lbmap *lb)
{
	m->lb = lb;
}

void model_free(struct proxy_model *m)
{
	struct hmap_entry *e;

	if (!m)
		return;
	if (m->svcs) {
		for (e = hmap_first(m->svcs); e; e = hmap_next(m->svcs, e)) {
			struct svc_entry *se = hmap_entry_val(e);

			k8s_service_free(se->svc);
			free(se->slices);
			free(se->fes);
			free(se->drain);
			free(se);
		}
		hmap_free(m->svcs);
	}
	if (m->slices) {
		for (e = hmap_first(m->slices); e; e = hmap_next(m->slices, e))
			k8s_slice_free(hmap_entry_val(e));
		hmap_free(m->slices);
	}
	hmap_free(m->owner);
	hmap_free(m->hcs);
	hmap_free(m->drain);
	free(m);
}

static struct svc_entry *entry_get(struct proxy_model *m, const char *ns, const char *name,
				   bool create)
{
	char key[64 + MODEL_NAME_MAX + 2];
	struct svc_entry *se;

	make_key(key, sizeof(key), ns, name);
	se = hmap_sget(m->svcs, key);
	if (se || !create)
		return se;
	se = calloc(1, sizeof(*se));
	if (!se)
		return NULL;
	snprintf(se->key, sizeof(se->key), "%s", key);
	if (hmap_sput(m->svcs, key, se, NULL) < 0) {
		free(se);
		return NULL;
	}
	return se;
}

static void mark_dirty(struct proxy_model *m, struct svc_entry *se)
{
	if (se->dirty)
		return;
	se->dirty = true;
	se->dirty_next = NULL;
	*m->dirty_tail = se;
	m->dirty_tail = &se->dirty_next;
}

/* Free se if nothing needs it any more: no service, slices, pending change, frontends in the
 * maps or reserved slots (a deleted service after its last commit, or an entry entry_get
 * created for a set that then failed). */
static void entry_drop_unused(struct proxy_model *m, struct svc_entry *se)
{
	if (se->svc || se->nslices || se->dirty || se->nfes || se->reserved)
		return;
	hmap_sdel(m->svcs, se->key);
	free(se->slices);
	free(se->fes);
	free(se->drain);
	free(se);
}

int model_set_service(struct proxy_model *m, struct k8s_service *svc)
{
	struct svc_entry *se = entry_get(m, svc->ns, svc->name, true);

	if (!se) {
		k8s_service_free(svc);
		return -ENOMEM;
	}
	k8s_service_free(se->svc);
	se->svc = svc;
	if (!model_hc_wanted(svc))
		hmap_del(m->hcs, &se, sizeof(se));
	else if (hmap_put(m->hcs, &se, sizeof(se), se, NULL) < 0)
		m->hc_walk = true; /* correct, only slower */
	mark_dirty(m, se);
	return 0;
}

int model_del_service(struct proxy_model *m, const char *ns, const char *name)
{
	struct svc_entry *se = entry_get(m, ns, name, false);

	if (!se || !se->svc)
		return -ENOENT;
	k8s_service_free(se->svc);
	se->svc = NULL;
	hmap_del(m->hcs, &se, sizeof(se));
	mark_dirty(m, se);
	return 0;
}

static void entry_unlink_slice(struct svc_entry *se, struct k8s_slice *sl)
{
	for (size_t i = 0; i < se->nslices; i++) {
		if (se->slices[i] == sl) {
			se->slices[i] = se->slices[--se->nslices];
			return;
		}
	}
}

/* Room for `more` slices in se beyond those linked and reserved, so that linking them cannot
 * fail. */
static int entry_reserve_slice(struct svc_entry *se, size_t more)
{
	size_t need = se->nslices + se->reserved + more;

	if (need > se->capslices) {
		size_t cap = se->capslices ? se->capslices : 4;
		void *p;

		while (cap < need)
			cap *= 2;
		p = realloc(se->slices, cap * sizeof(*se->slices));
		if (!p)
			return -ENOMEM;
		se->slices = p;
		se->capslices = cap;
	}
	return 0;
}

int model_reserve_service(struct proxy_model *m, const char *ns, const char *name)
{
	return entry_get(m, ns, name, true) ? 0 : -ENOMEM;
}

int model_reserve_slice(struct proxy_model *m, const char *ns, const char *name,
			const char *service)
{
	char key[64 + MODEL_NAME_MAX + 2];
	struct svc_entry *se = entry_get(m, ns, service, true);

	if (!se || entry_reserve_slice(se, 1))
		return -ENOMEM;
	se->reserved++;
	make_key(key, sizeof(key), ns, name);
	/* the slice's name gets its slot now (empty until it is set) */
	if (!hmap_sget(m->slices, key) && hmap_sput(m->slices, key, NULL, NULL) < 0) {
		se->reserved--;
		return -ENOMEM;
	}
	return 0;
}

int model_set_slice(struct proxy_model *m, struct k8s_slice *sl)
{
	char key[64 + MODEL_NAME_MAX + 2];
	struct k8s_slice *old;
	struct svc_entry *se;
	int err;

	make_key(key, sizeof(key), sl->ns, sl->name);
	old = hmap_sget(m->slices, key);
	/* What can fail comes first: a failure leaves the model as it was (the old slice of
	 * that name included). */
	se = entry_get(m, sl->ns, sl->service, true);
	err = !se ? -ENOMEM : se->reserved ? 0 : entry_reserve_slice(se, 1);
	if (!err) {
		err = hmap_sput(m->slices, key, sl, NULL); /* a replace allocates nothing */
		err = err < 0 ? err : 0;
	}
	if (err) {
		if (se)
			entry_drop_unused(m, se);
		k8s_slice_free(sl);
		return err;
	}
	if (old) {
		struct svc_entry *ose = entry_get(m, old->ns, old->service, false);

		if (ose) {
			entry_unlink_slice(ose, old);
			mark_dirty(m, ose);
		}
		k8s_slice_free(old);
	}
	if (se->reserved)
		se->reserved--;
	se->slices[se->nslices++] = sl;
	mark_dirty(m, se);
	return 0;
}

int model_del_slice(struct proxy_model *m, const char *ns, const char *name)
{
	char key[64 + MODEL_NAME_MAX + 2];
	struct k8s_slice *sl;
	struct svc_entry *se;

	make_key(key, sizeof(key), ns, name);
	sl = hmap_sdel(m->slices, key);
	if (!sl)
		return -ENOENT;
	se = entry_get(m, sl->ns, sl->service, false);
	if (se) {
		entry_unlink_slice(se, sl);
		mark_dirty(m, se);
	}
	k8s_slice_free(sl);
	return 0;
}

/* ---------- frontends of one service ---------- */

/* The port an endpoint serves service port sp on, from one slice; 0 if the slice does not
 * carry it. As kube-proxy's EndpointSliceCache: a slice port serves the service port of the
 * same name and protocol (unnamed: ""), a port of 0 is ignored, and a slice listing no ports
 * serves none (its endpoints are used by no frontend). */
uint16_t slice_port_for(const struct k8s_slice *sl, const struct svc_port *sp)
{
	for (size_t i = 0; i < sl->nports; i++) {
		if (sl->ports[i].proto == sp->proto && strcmp(sl->ports[i].name, sp->name) == 0)
			return sl->ports[i].port;
	}
	return 0;
}

struct ep_pick {
	struct lb_backend *v;
	size_t n, cap;
};

static int pick_push(struct ep_pick *p, const struct slice_endpoint *ep, uint16_t port,
		     uint8_t proto, bool local)
{
	struct lb_backend *b;

	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].addr == ep->addr && p->v[i].port == htons(port))
			return 0; /* the same endpoint in two slices */
	}
	if (ARRAY_GROW(p->v, p->cap, p->n + 1))
		return -ENOMEM;
	b = &p->v[p->n++];
	b->addr = ep->addr;
	b->port = htons(port);
	b->proto = proto;
	b->flags = (local ? DRV_BE_F_LOCAL : 0) | (ep->terminating ? DRV_BE_F_TERMINATING : 0);
	return 0;
}

/* Endpoints for service port sp; local_only: the Local traffic policy. */
static int pick_endpoints(const struct proxy_model *m, const struct svc_entry *se,
			  const struct svc_port *sp, bool local_only, struct ep_pick *out)
{
	struct ep_pick fallback = {0};
	int err = 0;

	out->n = 0;
	for (size_t s = 0; s < se->nslices && !err; s++) {
		const struct k8s_slice *sl = se->slices[s];
		uint16_t port;

		if (!sl->ipv4)
			continue;
		port = slice_port_for(sl, sp);
		if (!port)
			continue;
		for (size_t i = 0; i < sl->neps && !err; i++) {
			const struct slice_endpoint *ep = &sl->eps[i];
			bool local = m->node[0] && strcmp(ep->node, m->node) == 0;

			if (local_only && !local)
				continue;
			if (ep->ready)
				err = pick_push(out, ep, port, sp->proto, local);
			else if (ep->serving && ep->terminating)
				err = pick_push(&fallback, ep, port, sp->proto, local);
		}
	}
	if (!err && out->n == 0 && fallback.n) {
		free(out->v);
		*out = fallback;
		return 0;
	}
	free(fallback.v);
	return err;
}

/* The name shown by `drover bpf`; a long one is cut at the map's 64 bytes on purpose. */
static void fe_name(char *buf, size_t len, const struct k8s_service *svc, const struct svc_port *sp)
{
	int n;

	if (sp->name[0])
		n = snprintf(buf, len, "%s/%s:%s", svc->ns, svc->name, sp->name);
	else
		n = snprintf(buf, len, "%s/%s:%u", svc->ns, svc->name, sp->port);
	if (n >= (int)len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static int fes_push(struct lb_frontend **v, size_t *n, size_t *cap, const struct lb_frontend *fe,
		    const struct ep_pick *eps)
{
	struct lb_frontend *f;

	/* An address listed twice (externalIPs may repeat, or repeat the clusterIP or an ingress
	 * IP): one frontend, of the first kind (clusterIP, then externalIPs, then ingress). */
	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&(*v)[i].key, &fe->key, sizeof(fe->key)))
			return 0;
	if (ARRAY_GROW(*v, *cap, *n + 1))
		return -ENOMEM;
	f = &(*v)[(*n)++];
	*f = *fe;
	f->nbackends = eps->n;
	f->backends = NULL;
	if (eps->n) {
		f->backends = malloc(eps->n * sizeof(*f->backends));
		if (!f->backends) {
			(*n)--;
			return -ENOMEM;
		}
		memcpy(f->backends, eps->v, eps->n * sizeof(*f->backends));
	}
	return 0;
}

void model_frontends_free(struct lb_frontend *fes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(fes[i].backends);
	free(fes);
}

/* An external frontend (NodePort, externalIP, LoadBalancer IP). With externalTrafficPolicy
 * Local (cluster != NULL) it has two scopes, as kube-proxy's KUBE-EXT-X chain: the frontend
 * itself holds the local endpoints, for traffic from outside, and its internal scope every
 * endpoint of the cluster (KUBE-SVC-X), for the node's processes and its pods. An address
 * already taken by an earlier frontend of the service gets neither. */
static int fes_push_external(struct lb_frontend **v, size_t *n, size_t *cap,
			     const struct lb_frontend *fe, const struct ep_pick *eps,
			     const struct ep_pick *cluster)
{
	struct lb_frontend in = *fe;
	size_t before = *n;
	int err;

	if (cluster)
		in.flags |= DRV_SVC_F_TWO_SCOPES;
	err = fes_push(v, n, cap, &in, eps);
	if (err || !cluster || *n == before)
		return err;
	in.key.scope = DRV_SCOPE_INT;
	in.flags = fe->flags & ~(DRV_SVC_F_LOCAL | DRV_SVC_F_SRC_RANGES);
	return fes_push(v, n, cap, &in, cluster);
}

static int compute_frontends(const struct proxy_model *m, const struct svc_entry *se,
			     struct lb_frontend **out, size_t *nout)
{
	const struct k8s_service *svc = se->svc;
	struct lb_frontend *v = NULL, fe;
	size_t n = 0, cap = 0;
	struct ep_pick internal = {0}, external = {0}, cluster = {0};
	int err = 0;

	*out = NULL;
	*nout = 0;
	if (!svc || svc->headless || svc->external_name || svc->other_proxy)
		return 0;
	for (size_t p = 0; p < svc->nports && !err; p++) {
		const struct svc_port *sp = &svc->ports[p];
		uint16_t aff = svc->affinity ? DRV_SVC_F_AFFINITY : 0;
		const struct ep_pick *cl;

		err = pick_endpoints(m, se, sp, svc->itp_local, &internal);
		if (!err)
			err = pick_endpoints(m, se, sp, svc->etp_local, &external);
		if (!err && (svc->etp_local || svc->itp_local))
			err = pick_endpoints(m, se, sp, false, &cluster);
		cl = svc->etp_local ? &cluster : NULL;
		memset(&fe, 0, sizeof(fe));
		fe.key.port = htons(sp->port);
		fe.key.proto = sp->proto;
		fe.affinity_timeout = svc->affinity_timeout;
		fe_name(fe.name, sizeof(fe.name), svc, sp);
		for (size_t i = 0; i < svc->ncluster_ips && !err; i++) {
			fe.key.addr = svc->cluster_ips[i];
			fe.flags =
			    DRV_SVC_F_CLUSTERIP | aff | (svc->itp_local ? DRV_SVC_F_LOCAL : 0);
			/* none here but some elsewhere: dropped, not refused (kube-proxy) */
			if (svc->itp_local && !internal.n && cluster.n)
				fe.flags |= DRV_SVC_F_NO_LOCAL;
			err = fes_push(&v, &n, &cap, &fe, &internal);
		}
		fe.flags = DRV_SVC_F_EXTERNAL | aff | (svc->etp_local ? DRV_SVC_F_LOCAL : 0);
		for (size_t i = 0; i < svc->nexternal_ips && !err; i++) {
			fe.key.addr = svc->external_ips[i];
			err = fes_push_external(&v, &n, &cap, &fe, &external, cl);
		}
		if (svc->src_filtered)
			fe.flags |= DRV_SVC_F_SRC_RANGES; /* LoadBalancer IPs only, as kube-proxy */
		for (size_t i = 0; i < svc->nlb_ips && !err; i++) {
			fe.key.addr = svc->lb_ips[i];
			err = fes_push_external(&v, &n, &cap, &fe, &external, cl);
		}
		if (svc->node_ports && sp->node_port && !err) {
			fe.key.addr = 0;
			fe.key.port = htons(sp->node_port);
			fe.flags =
			    DRV_SVC_F_NODEPORT | aff | (svc->etp_local ? DRV_SVC_F_LOCAL : 0);
			err = fes_push_external(&v, &n, &cap, &fe, &external, cl);
		}
	}
	free(internal.v);
	free(external.v);
	free(cluster.v);
	if (err) {
		model_frontends_free(v, n);
		return err;
	}
	*out = v;
	*nout = n;
	return 0;
}

int model_service_frontends(struct proxy_model *m, const char *ns, const char *name,
			    struct lb_frontend **out, size_t *n)
{
	struct svc_entry *se = entry_get(m, ns, name, false);

	if (!se || !se->svc)
		return -ENOENT;
	return compute_frontends(m, se, out, n);
}

/* ---------- commit ---------- */

bool model_pending(const struct proxy_model *m)
{
	return m->dirty != NULL;
}

static bool key_in(const struct lb_fe_key *k, const struct lb_frontend *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(&v[i].key, k, sizeof(*k)) == 0)
			return true;
	}
	return false;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Marks the waiting services; whether there were any. */
static bool wake_waiters(struct proxy_model *m)
{
	bool any = false;

	m->waiters = false;
	for (struct hmap_entry *e = hmap_first(m->svcs); e; e = hmap_next(m->svcs, e)) {
		struct svc_entry *se = hmap_entry_val(e);

		if (se->waiting && se->svc) {
			mark_dirty(m, se);
			any = true;
		}
	}
	return any;
}

static int commit_once(struct proxy_model *m, bool full, struct model_stats *st, bool *woke);

int model_commit(struct proxy_model *m, bool full, struct model_stats *st)
{
	struct model_stats local, more;
	bool woke = false;
	int err;

	if (!st)
		st = &local;
	err = commit_once(m, full, st, &woke);
	/* the services a freed frontend woke take it now, not at the next retry tick */
	if (woke) {
		int rc = commit_once(m, false, &more, &woke);

		err = err ? err : rc;
		st->services_changed += more.services_changed;
		st->frontends_upserted += more.frontends_upserted;
		st->frontends_deleted += more.frontends_deleted;
		st->frontends_failed += more.frontends_failed;
		st->entries_written += more.entries_written;
		st->entries_deleted += more.entries_deleted;
		st->map_update_ns += more.map_update_ns;
	}
	return err;
}

static int commit_once(struct proxy_model *m, bool full, struct model_stats *st, bool *woke)
{
	struct lb_fe_key *gone = NULL;
	size_t ngone = 0, capgone = 0;
	uint64_t t_lb = 0, t0;
	int err = 0, rc;
	struct lbmap_counters c0, c1;
	struct svc_entry *work;

	memset(st, 0, sizeof(*st));
	if (!m->lb)
		return -EINVAL;
	lbmap_get_counters(m->lb, &c0);
	if (full) {
		for (struct hmap_entry *e = hmap_first(m->svcs); e; e = hmap_next(m->svcs, e))
			mark_dirty(m, hmap_entry_val(e));
	}
	t0 = now_ns();
	lbmap_begin(m->lb);
	t_lb += now_ns() - t0;
	if (full)
		lbmap_mark(m->lb);

	/* Work on the pending list; a service that fails is marked again, for the next commit
	 * (the proxy's timer makes one while anything is pending). */
	work = m->dirty;
	for (struct svc_entry *se = work; se; se = se->dirty_next)
		se->work_next = se->dirty_next;
	m->dirty = NULL;
	m->dirty_tail = &m->dirty;
	for (struct svc_entry *se = work; se; se = se->work_next) {
		struct lb_frontend *fes = NULL;
		size_t nfes = 0, kept = 0;
		struct lb_fe_key *owned = NULL;
		bool redo = false;

		se->dirty = false;
		se->waiting = false;
		st->services_changed++;
		rc = compute_frontends(m, se, &fes, &nfes);
		/* terminating endpoints listed before their backends can leave drv_be4 */
		if (!rc)
			rc = model_drain_update(m, se);
		/* source ranges: entries in before the frontends that need them are announced;
		 * a service that had them (or has them now) may leave some to sweep after */
		if (!rc && model_srcr_add(m, se) == 0 && se->svc && se->svc->src_filtered)
			m->srcr_dirty = true;
		if (se->had_src)
			m->srcr_dirty = true;
		se->had_src = se->svc && se->svc->src_filtered;
		/* The memory this service's update needs, before anything of it changes. */
		if (!rc && nfes && !(owned = malloc(nfes * sizeof(*owned))))
			rc = -ENOMEM;
		if (!rc && ngone + se->nfes > capgone) {
			size_t c = capgone ? capgone : 16;
			void *p;

			while (c < ngone + se->nfes)
				c *= 2;
			p = realloc(gone, c * sizeof(*gone));
			if (p) {
				gone = p;
				capgone = c;
			} else {
				rc = -ENOMEM;
			}
		}
		if (rc) {
			err = rc;
			model_frontends_free(fes, nfes);
			free(owned);
			mark_dirty(m, se);
			continue;
		}
		/* Frontends this service no longer has become candidates for deletion; they are
		 * deleted after every dirty service is processed, unless another claimed them. */
		for (size_t i = 0; i < se->nfes; i++) {
			if (key_in(&se->fes[i], fes, nfes))
				continue;
			if (hmap_get(m->owner, &se->fes[i], sizeof(se->fes[i])) == se)
				hmap_del(m->owner, &se->fes[i], sizeof(se->fes[i]));
			gone[ngone++] = se->fes[i];
		}
		/* se->fes ends up as exactly the keys the owner map gives to se: a frontend whose
		 * write fails stays claimed (and is deleted with its service). */
		for (size_t i = 0; i < nfes; i++) {
			struct svc_entry *o = hmap_get(m->owner, &fes[i].key, sizeof(fes[i].key));
			char ks[64];

			/* an internal scope goes with its frontend (fes_push_external puts it
			 * right after): not without it */
			if (fes[i].key.scope == DRV_SCOPE_INT && i &&
			    (!kept || memcmp(&owned[kept - 1], &fes[i - 1].key, sizeof(*owned))))
				continue;
			if (o && o != se && o->svc) {
				lb_fe_key_str(&fes[i].key, ks, sizeof(ks));
				log_error(COMP,
					  "service %s: frontend %s is already used by %s; skipped",
					  se->key, ks, o->key);
				se->waiting = m->waiters = true;
				continue;
			}
			if (o != se &&
			    hmap_put(m->owner, &fes[i].key, sizeof(fes[i].key), se, NULL) < 0) {
				err = -ENOMEM;
				redo = true;
				continue;
			}
			owned[kept++] = fes[i].key;
			t0 = now_ns();
			rc = lbmap_upsert(m->lb, &fes[i]);
			t_lb += now_ns() - t0;
			if (rc) {
				err = rc;
				redo = true;
				continue;
			}
			st->frontends_upserted++;
		}
		free(se->fes);
		se->fes = owned;
		se->nfes = kept;
		model_frontends_free(fes, nfes);
		if (redo)
			mark_dirty(m, se);
	}

	for (size_t i = 0; i < ngone; i++) {
		if (hmap_get(m->owner, &gone[i], sizeof(gone[i])))
			continue; /* claimed by another service in this commit */
		t0 = now_ns();
		rc = lbmap_delete(m->lb, &gone[i]);
		t_lb += now_ns() - t0;
		if (rc == 0)
			st->frontends_deleted++;
	}
	/* A frontend freed: the services that were refused one (two services claiming one
	 * external IP) try again in the next commit, and the one still wanting it takes it. */
	if (ngone && m->waiters)
		*woke = wake_waiters(m);
	free(gone);
	t0 = now_ns();
	if (full) {
		rc = lbmap_sweep(m->lb);
		if (rc > 0)
			st->frontends_deleted += (size_t)rc;
	}
	rc = lbmap_commit(m->lb);
	t_lb += now_ns() - t0;
	if (rc) {
		const struct lb_fe_key *failed;

		st->frontends_failed = lbmap_failed(m->lb, &failed);
		/* Their services are retried on the next commit. */
		for (size_t i = 0; i < st->frontends_failed; i++) {
			struct svc_entry *o = hmap_get(m->owner, &failed[i], sizeof(failed[i]));

			if (o)
				mark_dirty(m, o);
		}
		err = err ? err : rc;
	}

	model_srcr_sweep(m);
	if (full)
		model_drain_sweep(m);

	/* Drop entries of deleted services that no longer own anything (only services of this
	 * commit can have become so). */
	for (struct svc_entry *se = work, *next; se; se = next) {
		next = se->work_next;
		entry_drop_unused(m, se);
	}
	st->map_update_ns = t_lb;
	lbmap_get_counters(m->lb, &c1);
	st->entries_written = c1.entries_written - c0.entries_written;
	st->entries_deleted = c1.entries_deleted - c0.entries_deleted;
	return err;
}

int model_check_conflicts(struct k8s_service *const *svcs, size_t n, char *msg, size_t msglen)
{
	struct hmap *seen = hmap_new(), *names = hmap_new();
	int err = 0;

	if (!seen || !names) {
		hmap_free(seen);
		hmap_free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct k8s_service *s = svcs[i];
		char key[64 + MODEL_NAME_MAX + 2];

		make_key(key, sizeof(key), s->ns, s->name);
		if (hmap_sget(names, key)) {
			snprintf(msg, msglen, "Service %s is defined twice", key);
			err = -EINVAL;
			break;
		}
		hmap_sput(names, key, (void *)s, NULL);
		if (s->headless || s->external_name || s->other_proxy)
			continue;
		for (size_t p = 0; p < s->nports && !err; p++) {
			struct lb_fe_key k = {.port = htons(s->ports[p].port),
					      .proto = s->ports[p].proto};
			const struct k8s_service *o;
			char ks[64];

			/* clusterIPs, then externalIPs, then LoadBalancer IPs */
			for (size_t c = 0;
			     c < s->ncluster_ips + s->nexternal_ips + s->nlb_ips && !err; c++) {
				size_t ne = s->ncluster_ips + s->nexternal_ips;
				const char *what = c < s->ncluster_ips ? "clusterIP"
						   : c < ne	       ? "externalIP"
								       : "loadBalancer IP";

				k.addr = c < s->ncluster_ips ? s->cluster_ips[c]
					 : c < ne	     ? s->external_ips[c - s->ncluster_ips]
							     : s->lb_ips[c - ne];
				o = hmap_get(seen, &k, sizeof(k));
				if (o && o != s) {
					lb_fe_key_str(&k, ks, sizeof(ks));
					snprintf(msg, msglen,
						 "Service %s: %s %s is already used by Service "
						 "%s/%s",
						 key, what, ks, o->ns, o->name);
					err = -EINVAL;
				}
				hmap_put(seen, &k, sizeof(k), (void *)s, NULL);
			}
			if (s->node_ports && s->ports[p].node_port && !err) {
				k.addr = 0;
				k.port = htons(s->ports[p].node_port);
				o = hmap_get(seen, &k, sizeof(k));
				if (o && o != s) {
					snprintf(msg, msglen,
						 "Service %s: nodePort %u/%s is already used by "
						 "Service %s/%s",
						 key, s->ports[p].node_port,
						 k.proto == DRV_PROTO_UDP ? "UDP" : "TCP", o->ns,
						 o->name);
					err = -EINVAL;
				}
				hmap_put(seen, &k, sizeof(k), (void *)s, NULL);
			}
		}
	}
	hmap_free(seen);
	hmap_free(names);
	return err;
}
