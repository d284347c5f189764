/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpointslice_reconcile: k8s.io/endpointslice's Reconciler. A Service's pods become
 * endpoints (addresses, ready/serving/terminating, nodeName, zone, targetRef) grouped by
 * their resolved ports (pods whose named ports resolve differently go to different slices),
 * then placed so that as few slices as possible are written: endpoints stay in the slice
 * that has them, a slice is rewritten only when one of its endpoints changed or left (or
 * its labels), new endpoints fill the slices already being rewritten (fullest first), then
 * the unchanged slice they would fill closest to 100, then new slices; a slice left empty
 * is deleted, or reused for one that would be created. A Service without endpoints keeps
 * one empty placeholder slice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpointslice_int.h"
#include "log.h"

#define COMP "endpointslice-controller"

/* ---- errors, aggregated as utilerrors.NewAggregate prints them ---- */

struct errs {
	char *buf;
	size_t len, size;
	unsigned n;
};

static void errs_add(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errs_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!e->size)
		return;
	if (e->n++ && e->len + 2 < e->size) {
		memcpy(e->buf + e->len, ", ", 3);
		e->len += 2;
	}
	va_start(ap, fmt);
	k = vsnprintf(e->buf + e->len, e->size - e->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		e->len = e->len + (size_t)k < e->size ? e->len + (size_t)k : e->size - 1;
}

/* ---- endpoints ---- */

struct dep {
	struct jv *v;	  /* the endpoint, unlinked until placed */
	const char *hash; /* addresses, hostname, targetRef namespace/name */
	bool placed;
};

/* The endpoints one group of ports wants: a set by hash (EndpointSet). */
struct group {
	const char *key;  /* the port map key */
	struct jv *ports; /* the group's ports array */
	struct dep *eps;
	size_t n, cap, left;
	struct hmap *by_hash;
	bool existing; /* existing slices have these ports */
};

/* ---- slices ---- */

enum op { OP_NONE, OP_UPDATE, OP_DELETE, OP_CREATE };

struct wslice {
	struct jv *obj;
	const char *name; /* NULL until created */
	const char *group;
	enum op op;
};

struct plan {
	struct wslice *v;
	size_t n, cap;
};

static struct wslice *plan_add(struct plan *p, struct jv *obj, const char *group, enum op op)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct wslice *nv = realloc(p->v, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		p->v = nv;
		p->cap = ncap;
	}
	p->v[p->n] = (struct wslice){
	    .obj = obj, .name = jv_path_str(obj, "metadata.name"), .group = group, .op = op};
	return &p->v[p->n++];
}

static size_t slice_len(const struct wslice *w)
{
	return jv_count(jv_get(w->obj, "endpoints"));
}

/* ---- one group of ports (reconcileByPortMapping) ---- */

static struct dep *group_get(struct group *g, const char *hash)
{
	struct dep *e = hash ? hmap_sget(g->by_hash, hash) : NULL;

	return e && !e->placed ? e : NULL;
}

static struct dep *group_pop(struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (!g->eps[i].placed && hmap_sget(g->by_hash, g->eps[i].hash) == &g->eps[i]) {
			g->eps[i].placed = true;
			g->left--;
			return &g->eps[i];
		}
	return NULL;
}

static void fill(struct jv_doc *d, struct group *g, struct wslice *w, unsigned max)
{
	struct jv *arr = jv_get(w->obj, "endpoints");

	if (!arr || arr->type != JV_ARRAY) {
		arr = jv_new(d, JV_ARRAY);
		jv_set(d, w->obj, "endpoints", arr);
	}
	while (g->left > 0 && arr->len < max) {
		struct dep *e = group_pop(g);

		if (!e)
			break;
		jv_push(arr, e->v);
	}
}

static int cmp_fullest(const void *a, const void *b)
{
	size_t x = slice_len(*(struct wslice *const *)a), y = slice_len(*(struct wslice *const *)b);

	return x > y ? -1 : x < y;
}

static int by_group(struct jv_doc *d, struct plan *p, struct group *g, const struct jv *svc,
		    const char *addr_type, unsigned max)
{
	struct wslice **upd = calloc(p->n + 1, sizeof(*upd)), *best;
	size_t nupd = 0;
	int err = 0;

	if (!upd)
		return -ENOMEM;
	/* 1. existing slices keep the endpoints still wanted (updated in place), drop the rest */
	for (size_t i = 0; i < p->n && !err; i++) {
		struct wslice *w = &p->v[i];
		struct jv *keep, *labels;
		size_t had = slice_len(w);
		bool changed = false, labels_changed;

		if (w->op != OP_NONE || strcmp(w->group, g->key) != 0)
			continue;
		keep = jv_new(d, JV_ARRAY);
		if (!keep) {
			err = -ENOMEM;
			break;
		}
		for (const struct jv *ep = jv_first(jv_get(w->obj, "endpoints")); ep;
		     ep = ep->next) {
			struct dep *want = group_get(g, eps_endpoint_hash(d, ep));

			if (!want)
				continue;
			if (!eps_endpoints_equal_beyond_hash(want->v, ep))
				changed = true;
			want->placed = true;
			g->left--;
			jv_push(keep, want->v);
		}
		labels = eps_slice_labels(d, w->obj, svc, &labels_changed);
		if (changed || keep->len != had) {
			if (keep->len == 0) {
				w->op = OP_DELETE;
				continue;
			}
			jv_set(d, w->obj, "endpoints", keep);
			jv_set(d, jv_get(w->obj, "metadata"), "labels", labels);
			w->op = OP_UPDATE;
			upd[nupd++] = w;
		} else if (labels_changed) {
			jv_set(d, jv_get(w->obj, "metadata"), "labels", labels);
			w->op = OP_UPDATE;
			upd[nupd++] = w;
		}
	}
	/* 2. the slices being rewritten anyway take new endpoints first, fullest first */
	qsort(upd, nupd, sizeof(*upd), cmp_fullest);
	for (size_t i = 0; i < nupd && g->left > 0; i++)
		fill(d, g, upd[i], max);
	/* 3. the rest: into the unchanged slice they fill closest to full, else new slices */
	while (g->left > 0 && !err) {
		best = NULL;
		if (g->left < max) {
			size_t closest = max;

			for (size_t i = 0; i < p->n; i++) {
				struct wslice *w = &p->v[i];
				size_t n = slice_len(w);

				if (w->op != OP_NONE || !w->name || strcmp(w->group, g->key) != 0 ||
				    n + g->left > max)
					continue;
				if (max - (n + g->left) < closest) {
					closest = max - (n + g->left);
					best = w;
				}
			}
		}
		if (best) {
			best->op = OP_UPDATE;
		} else {
			struct jv *s = eps_new_slice(d, svc, g->ports, addr_type);

			best = s ? plan_add(p, s, g->key, OP_CREATE) : NULL;
			if (!best) {
				err = -ENOMEM;
				break;
			}
		}
		fill(d, g, best, max);
	}
	free(upd);
	return err;
}

/* ---- writes (finalize) ---- */

static void set_trigger(struct jv_doc *d, struct jv *slice, int64_t trigger)
{
	struct jv *ann = jv_obj_at(d, jv_obj_at(d, slice, "metadata"), "annotations");
	char ts[32];

	if (!ann)
		return;
	if (trigger >= 0)
		jv_set(d, ann, EPS_TRIGGER_TIME, jv_new_strz(d, ctrl_time(trigger, ts)));
	else
		jv_del(ann, EPS_TRIGGER_TIME);
}

/* Create or update (w->op) one slice with the trigger time; the tracker learns the version
 * written. 0 or -errno (st says why). */
static int write_slice(struct eps_ctrl *s, struct jv_doc *d, struct wslice *w, const char *ns,
		       const char *key, int64_t trigger, struct kc_status *st)
{
	struct kc_obj *out = NULL;
	int err;

	set_trigger(d, w->obj, trigger);
	if (w->op == OP_CREATE)
		err = kc_create(s->c->kc, ctrl_k_endpointslice, ns, w->obj, NULL, &out, st);
	else
		err = kc_update(s->c->kc, ctrl_k_endpointslice, ns, NULL, w->obj, NULL, &out, st);
	if (!err)
		eps_tracker_update(s->tracker, key,
				   jv_path_str(kc_obj_parse(out, d), "metadata.uid"), out->rv);
	kc_obj_put(out);
	return err;
}

static int finalize(struct eps_ctrl *s, struct jv_doc *d, struct plan *p, const struct jv *svc,
		    const char *key, int64_t trigger, struct errs *errs)
{
	const char *ns = jv_path_str(svc, "metadata.namespace");
	const char *name = jv_path_str(svc, "metadata.name");
	struct kc_status st;

	/* a slice to create takes the place of one to delete (owned by this Service, of the
	 * same address type) instead */
	for (size_t i = 0; i < p->n; i++) {
		struct wslice *del = &p->v[i];

		if (del->op != OP_DELETE || !eps_owned_by(del->obj, svc))
			continue;
		for (size_t j = p->n; j-- > 0;) {
			struct wslice *cr = &p->v[j];

			if (cr->op != OP_CREATE || !jv_equal(jv_get(cr->obj, "addressType"),
							     jv_get(del->obj, "addressType")))
				continue;
			jv_set(d, jv_get(cr->obj, "metadata"), "name", jv_new_strz(d, del->name));
			cr->name = del->name;
			cr->op = OP_UPDATE;
			del->op = OP_NONE;
			break;
		}
	}
	/* no new slices for a Service being deleted: the garbage collector removes them */
	for (size_t i = 0; i < p->n && !jv_path(svc, "metadata.deletionTimestamp"); i++) {
		int err;

		if (p->v[i].op != OP_CREATE)
			continue;
		err = write_slice(s, d, &p->v[i], ns, key, trigger, &st);
		if (err && ctrl_ns_terminating(err, &st))
			return 0;
		if (err) {
			errs_add(errs, "failed to create EndpointSlice for Service %s/%s: %s", ns,
				 name, st.message[0] ? st.message : kc_strerror(err));
			return -EAGAIN;
		}
	}
	for (size_t i = 0; i < p->n; i++) {
		int err;

		if (p->v[i].op != OP_UPDATE)
			continue;
		err = write_slice(s, d, &p->v[i], ns, key, trigger, &st);
		if (err) {
			errs_add(errs, "failed to update %s EndpointSlice for Service %s/%s: %s",
				 p->v[i].name, ns, name,
				 st.message[0] ? st.message : kc_strerror(err));
			return -EAGAIN;
		}
	}
	for (size_t i = 0; i < p->n; i++) {
		struct wslice *w = &p->v[i];
		int err;

		if (w->op != OP_DELETE)
			continue;
		err = kc_delete(s->c->kc, ctrl_k_endpointslice, ns, w->name, NULL, NULL, &st);
		if (err && err != -ENOENT) {
			errs_add(errs, "failed to delete %s EndpointSlice for Service %s/%s: %s",
				 w->name, ns, name, st.message[0] ? st.message : kc_strerror(err));
			return -EAGAIN;
		}
		if (!err)
			eps_tracker_expect_deletion(s->tracker, key,
						    jv_path_str(w->obj, "metadata.uid"));
	}
	return 0;
}

/* ---- one address type (reconcileByAddressType) ---- */

static bool is_placeholder(struct jv_doc *d, const struct jv *slice, const struct jv *svc,
			   const char *addr_type)
{
	struct jv *want = eps_new_slice(d, svc, NULL, addr_type);
	const struct jv *a = jv_path(slice, "metadata.labels"),
			*b = jv_path(want, "metadata.labels");

	return want && jv_count(jv_get(slice, "endpoints")) == 0 &&
	       jv_count(jv_get(slice, "ports")) == 0 &&
	       jv_is_str(jv_get(slice, "addressType"), addr_type) &&
	       (jv_count(a) == 0 ? jv_count(b) == 0 : b && jv_equal(a, b)) &&
	       jv_equal(jv_path(slice, "metadata.ownerReferences"),
			jv_path(want, "metadata.ownerReferences"));
}

static int by_address_type(struct eps_ctrl *s, struct jv_doc *d, const struct jv *svc,
			   struct jv **pods, size_t npods, struct jv **existing, size_t nexisting,
			   const char *addr_type, int64_t trigger, const char *key,
			   struct errs *errs)
{
	int family = strcmp(addr_type, "IPv6") == 0 ? 6 : 4;
	bool publish = ep_is_true(jv_path(svc, "spec.publishNotReadyAddresses"));
	struct group *groups = calloc(npods + nexisting + 1, sizeof(*groups));
	struct plan p = {0};
	size_t ngroups = 0, ndelete = 0, ncreate = 0;
	int err = 0, rerr = 0;

	if (!groups)
		return -ENOMEM;
	/* existing state, by ports; slices not owned by this Service go */
	for (size_t i = 0; i < nexisting && !err; i++) {
		const char *g = eps_port_map_key(d, jv_get(existing[i], "ports"));

		if (!g || !plan_add(&p, existing[i], g,
				    eps_owned_by(existing[i], svc) ? OP_NONE : OP_DELETE))
			err = -ENOMEM;
	}
	/* desired state */
	for (size_t i = 0; i < npods && !err; i++) {
		const struct jv *pod = pods[i];
		const char *node_name = jv_path_str(pod, "spec.nodeName");
		struct kc_obj *no = NULL;
		struct jv *ports, *node = NULL, *ep;
		const char *gk, *hash;
		struct group *g = NULL;

		if (!ep_pod_in_endpoints(pod, true))
			continue;
		ports = eps_endpoint_ports(d, svc, pod);
		gk = ports ? eps_port_map_key(d, ports) : NULL;
		if (!gk) {
			err = -ENOMEM;
			break;
		}
		no = node_name ? kc_informer_get(s->nodes, NULL, node_name) : NULL;
		if (no) {
			node = kc_obj_parse(no, d);
			kc_obj_put(no);
		} else if (!publish) {
			/* the node is not known (yet): leave the pod out and try again */
			log_info(COMP, "skipping Pod %s/%s for Service %s, Node %s not found",
				 jv_path_str(pod, "metadata.namespace"),
				 jv_path_str(pod, "metadata.name"), key, node_name ?: "");
			errs_add(errs, "skipping Pod %s for Service %s: Node %s Not Found",
				 jv_path_str(pod, "metadata.name"), key, node_name ?: "");
			rerr = -EAGAIN;
			continue;
		}
		ep = eps_pod_endpoint(d, pod, node, svc, family);
		if (!ep) {
			err = -ENOMEM;
			break;
		}
		if (!jv_count(jv_get(ep, "addresses")))
			continue;
		for (size_t k = 0; k < ngroups && !g; k++)
			if (strcmp(groups[k].key, gk) == 0)
				g = &groups[k];
		if (!g) {
			g = &groups[ngroups++];
			g->key = gk;
			g->ports = ports;
			g->by_hash = hmap_new();
			if (!g->by_hash) {
				err = -ENOMEM;
				break;
			}
		}
		if (g->n == g->cap) {
			size_t ncap = g->cap ? g->cap * 2 : 16;
			struct dep *nv = realloc(g->eps, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			/* the set points into the array: rebuilt below after every growth */
			g->eps = nv;
			g->cap = ncap;
			for (size_t k = 0; k < g->n; k++)
				hmap_sput(g->by_hash, g->eps[k].hash, &g->eps[k], NULL);
		}
		hash = eps_endpoint_hash(d, ep);
		if (!hash) {
			err = -ENOMEM;
			break;
		}
		g->eps[g->n] = (struct dep){.v = ep, .hash = hash};
		/* Insert: the same hash again replaces the earlier endpoint */
		if (!hmap_sget(g->by_hash, hash))
			g->left++;
		else
			((struct dep *)hmap_sget(g->by_hash, hash))->placed = true;
		if (hmap_sput(g->by_hash, hash, &g->eps[g->n], NULL) < 0) {
			err = -ENOMEM;
			break;
		}
		g->n++;
	}
	for (size_t k = 0; k < ngroups && !err; k++)
		err = by_group(d, &p, &groups[k], svc, addr_type, s->max_per_slice);
	/* groups of ports no longer wanted: their slices go */
	for (size_t i = 0; i < p.n && !err; i++) {
		bool wanted = false;

		for (size_t k = 0; k < ngroups && !wanted; k++)
			wanted = strcmp(groups[k].key, p.v[i].group) == 0;
		if (!wanted && p.v[i].op == OP_NONE)
			p.v[i].op = OP_DELETE;
	}
	for (size_t i = 0; i < p.n; i++) {
		ndelete += p.v[i].op == OP_DELETE && p.v[i].name;
		ncreate += p.v[i].op == OP_CREATE;
	}
	/* nothing would be left: one empty placeholder slice stays (or is made) */
	if (!err && nexisting == ndelete && ncreate == 0) {
		struct wslice *del = NULL;

		for (size_t i = 0; i < p.n; i++)
			if (p.v[i].op == OP_DELETE)
				del = &p.v[i];
		if (ndelete == 1 && is_placeholder(d, del->obj, svc, addr_type)) {
			del->op = OP_NONE;
		} else {
			struct jv *ph = eps_new_slice(d, svc, NULL, addr_type);

			if (!ph || !plan_add(&p, ph, "", OP_CREATE))
				err = -ENOMEM;
		}
	}
	if (!err)
		err = finalize(s, d, &p, svc, key, trigger, errs);
	for (size_t k = 0; k < ngroups; k++) {
		hmap_free(groups[k].by_hash);
		free(groups[k].eps);
	}
	free(groups);
	free(p.v);
	return err ? err : rerr;
}

/* getAddressTypesForService: spec.ipFamilies, else the clusterIP's family, else both. */
static int address_types(const struct jv *svc, const char *types[2])
{
	int n = 0;

	for (const struct jv *f = jv_first(jv_path(svc, "spec.ipFamilies")); f && n < 2;
	     f = f->next) {
		if (jv_is_str(f, "IPv4"))
			types[n++] = "IPv4";
		else if (jv_is_str(f, "IPv6"))
			types[n++] = "IPv6";
	}
	if (n)
		return n;
	if (ep_service_ip_set(svc)) {
		types[0] = ep_ip_family(jv_path_str(svc, "spec.clusterIP")) == 6 ? "IPv6" : "IPv4";
		return 1;
	}
	types[0] = "IPv4";
	types[1] = "IPv6";
	return 2;
}

int eps_reconcile(struct eps_ctrl *s, struct jv_doc *d, const struct jv *svc, struct jv **pods,
		  size_t npods, struct jv **existing, size_t nexisting, int64_t trigger, char *err,
		  size_t errlen)
{
	struct errs errs = {.buf = err, .size = errlen};
	const char *types[2];
	int ntypes = address_types(svc, types), rc = 0;
	char key[512];
	struct jv **mine = jv_alloc(d, (nexisting + 1) * sizeof(*mine));

	if (errlen)
		err[0] = 0;
	if (!mine || !kc_key_of(svc, key, sizeof(key)))
		return -ENOMEM;
	for (int t = 0; t < ntypes; t++) {
		size_t n = 0;
		int e;

		for (size_t i = 0; i < nexisting; i++)
			if (jv_is_str(jv_get(existing[i], "addressType"), types[t]))
				mine[n++] = existing[i];
		e = by_address_type(s, d, svc, pods, npods, mine, n, types[t], trigger, key, &errs);
		if (e && !rc)
			rc = e == -ENOMEM ? e : -EAGAIN;
	}
	/* slices of an address type the Service no longer has go */
	for (size_t i = 0; i < nexisting; i++) {
		bool supported = false;
		struct kc_status st;
		int e;

		for (int t = 0; t < ntypes; t++)
			supported |= jv_is_str(jv_get(existing[i], "addressType"), types[t]);
		if (supported)
			continue;
		e = kc_delete(s->c->kc, ctrl_k_endpointslice,
			      jv_path_str(svc, "metadata.namespace"),
			      jv_path_str(existing[i], "metadata.name"), NULL, NULL, &st);
		if (e && e != -ENOENT) {
			errs_add(&errs, "error deleting %s EndpointSlice for Service %s: %s",
				 jv_path_str(existing[i], "metadata.name"), key, st.message);
			rc = -EAGAIN;
		} else if (!e) {
			eps_tracker_expect_deletion(s->tracker, key,
						    jv_path_str(existing[i], "metadata.uid"));
		}
	}
	return rc;
}
