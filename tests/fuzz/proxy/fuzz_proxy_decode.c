/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: manifest bytes -> object model -> the proxy's decoder -> the model's
 * frontend computation, the path every manifest reload takes; and the same bytes as JSON
 * straight into the decoder with no schema check (a JSON object, or a List of them), as the
 * API source hands it what a server sent. Whatever the input, the proxy must answer with an
 * error or a consistent set of frontends, never crash or leak. The set is checked against the
 * decoded objects (a violation aborts with what differs):
 *   - a service has exactly one frontend per (port, ClusterIP / externalIP / LoadBalancer IP)
 *     and per nodePort, none when headless, ExternalName or another proxy's (an address
 *     listed twice: one frontend, of the first kind); each with a nonzero port, TCP or UDP,
 *     the flags of its kind (affinity, the Local policy of its side) and the service's
 *     affinity timeout; no two frontends of a service share a key;
 *   - the backends of a frontend are exactly those model.h promises: the endpoints of the
 *     service's IPv4 slices that carry the port (by name and protocol), ready ones, or the
 *     serving+terminating ones when none is ready, only this node's under a Local policy,
 *     each once, with the local and terminating flags of its endpoint;
 *   - when model_check_conflicts accepts the services, no two services share a ClusterIP
 *     or nodePort frontend.
 */
#include "decode.h"
#include "drover_abi.h"
#include "k8s.h"
#include "k8s_jv.h"
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE	"n1"
#define MAX_OBJ 64

/* The last definition of each object, as the model holds them (decoded a second time). */
struct ctx {
	struct proxy_model *m;
	struct k8s_service *svc[MAX_OBJ];
	struct k8s_slice *sl[MAX_OBJ];
	size_t nsvc, nsl;
	bool overflow;
};

static void bad(const struct k8s_service *s, const char *what, const struct lb_frontend *fe)
{
	char k[64] = "-";

	if (fe)
		lb_fe_key_str(&fe->key, k, sizeof(k));
	fprintf(stderr, "fuzz_proxy_decode: service %s/%s, frontend %s: %s\n", s->ns, s->name, k,
		what);
	abort();
}

static void keep_service(struct ctx *c, struct k8s_service *s)
{
	for (size_t i = 0; i < c->nsvc; i++) {
		if (!strcmp(c->svc[i]->ns, s->ns) && !strcmp(c->svc[i]->name, s->name)) {
			k8s_service_free(c->svc[i]);
			c->svc[i] = s;
			return;
		}
	}
	if (c->nsvc == MAX_OBJ) {
		c->overflow = true;
		k8s_service_free(s);
		return;
	}
	c->svc[c->nsvc++] = s;
}

static void keep_slice(struct ctx *c, struct k8s_slice *s)
{
	for (size_t i = 0; i < c->nsl; i++) {
		if (!strcmp(c->sl[i]->ns, s->ns) && !strcmp(c->sl[i]->name, s->name)) {
			k8s_slice_free(c->sl[i]);
			c->sl[i] = s;
			return;
		}
	}
	if (c->nsl == MAX_OBJ) {
		c->overflow = true;
		k8s_slice_free(s);
		return;
	}
	c->sl[c->nsl++] = s;
}

/* One object: decoded into the model, and decoded again for the oracle. */
static void take_service(struct ctx *c, int (*dec)(const void *, struct k8s_service **),
			 const void *obj)
{
	struct k8s_service *s, *mine;

	if (dec(obj, &s) == 0) {
		model_set_service(c->m, s);
		if (dec(obj, &mine) == 0)
			keep_service(c, mine);
		else
			c->overflow = true; /* out of memory: no oracle */
	}
}

static void take_slice(struct ctx *c, int (*dec)(const void *, struct k8s_slice **),
		       const void *obj)
{
	struct k8s_slice *s, *mine;

	if (dec(obj, &s) == 0) {
		model_set_slice(c->m, s);
		if (dec(obj, &mine) == 0)
			keep_slice(c, mine);
		else
			c->overflow = true;
	}
}

static int svc_of_obj(const void *o, struct k8s_service **out)
{
	char err[512];

	return decode_service_obj((struct k8s_obj *)o, out, err, sizeof(err));
}

static int slice_of_obj(const void *o, struct k8s_slice **out)
{
	char err[512];

	return decode_slice_obj((struct k8s_obj *)o, out, err, sizeof(err));
}

static int svc_of_tree(const void *t, struct k8s_service **out)
{
	char err[512];

	return decode_service(t, out, err, sizeof(err));
}

static int slice_of_tree(const void *t, struct k8s_slice **out)
{
	char err[512];

	return decode_slice(t, out, err, sizeof(err));
}

static int on_obj(struct k8s_obj *o, void *ud)
{
	struct ctx *c = ud;
	const struct k8s_kind *k = k8s_obj_kind(o);

	if (k && !strcmp(k->kind, "Service"))
		take_service(c, svc_of_obj, o);
	else if (k && !strcmp(k->kind, "EndpointSlice"))
		take_slice(c, slice_of_obj, o);
	k8s_obj_free(o);
	return 0;
}

/* A tree as the API source gets one: no schema check before the decoder. */
static void on_tree(struct ctx *c, const struct jv *t)
{
	const char *kind = jv_path_str(t, "kind");

	if (kind && !strcmp(kind, "Service"))
		take_service(c, svc_of_tree, t);
	else if (kind && !strcmp(kind, "EndpointSlice"))
		take_slice(c, slice_of_tree, t);
}

/* ---- the oracle ---- */

/* The port endpoints of slice sl serve service port sp on, as kube-proxy reads a slice: the
 * slice port of the same name and protocol; none when the slice lists no ports. */
static uint16_t slice_port(const struct k8s_slice *sl, const struct svc_port *sp)
{
	for (size_t i = 0; i < sl->nports; i++)
		if (sl->ports[i].proto == sp->proto && !strcmp(sl->ports[i].name, sp->name))
			return sl->ports[i].port;
	return 0;
}

struct want {
	struct lb_backend v[MAX_OBJ * 8];
	size_t n;
	bool full;
};

static void want_add(struct want *w, const struct slice_endpoint *ep, uint16_t port, uint8_t proto)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].addr == ep->addr && w->v[i].port == htons(port))
			return;
	if (w->n == sizeof(w->v) / sizeof(w->v[0])) {
		w->full = true;
		return;
	}
	w->v[w->n++] = (struct lb_backend){.addr = ep->addr,
					   .port = htons(port),
					   .proto = proto,
					   .flags = (!strcmp(ep->node, NODE) ? DRV_BE_F_LOCAL : 0) |
						    (ep->terminating ? DRV_BE_F_TERMINATING : 0)};
}

/* The backends service s's port sp must have on one side (local: its Local policy). */
static void expected_backends(const struct ctx *c, const struct k8s_service *s,
			      const struct svc_port *sp, bool local, struct want *ready)
{
	static struct want fallback;

	ready->n = 0;
	ready->full = false;
	fallback.n = 0;
	fallback.full = false;
	for (size_t i = 0; i < c->nsl; i++) {
		const struct k8s_slice *sl = c->sl[i];
		uint16_t port;

		if (strcmp(sl->ns, s->ns) || strcmp(sl->service, s->name) || !sl->ipv4)
			continue;
		port = slice_port(sl, sp);
		if (!port)
			continue;
		for (size_t e = 0; e < sl->neps; e++) {
			const struct slice_endpoint *ep = &sl->eps[e];

			if (local && strcmp(ep->node, NODE))
				continue;
			if (ep->ready)
				want_add(ready, ep, port, sp->proto);
			else if (ep->serving && ep->terminating)
				want_add(&fallback, ep, port, sp->proto);
		}
	}
	if (ready->n == 0) {
		memcpy(ready->v, fallback.v, fallback.n * sizeof(fallback.v[0]));
		ready->n = fallback.n;
		ready->full = fallback.full;
	}
}

static void check_backends(const struct ctx *c, const struct k8s_service *s,
			   const struct svc_port *sp, const struct lb_frontend *fe, bool local)
{
	static struct want w;

	expected_backends(c, s, sp, local, &w);
	if (w.full)
		return;
	if (fe->nbackends != w.n)
		bad(s, "backend count differs from its ready endpoints", fe);
	for (size_t i = 0; i < fe->nbackends; i++) {
		const struct lb_backend *b = &fe->backends[i];
		bool found = false;

		for (size_t j = 0; j < i; j++)
			if (fe->backends[j].addr == b->addr && fe->backends[j].port == b->port)
				bad(s, "a backend twice", fe);
		for (size_t j = 0; j < w.n && !found; j++)
			found = !memcmp(&w.v[j], b, sizeof(*b));
		if (!found)
			bad(s, "a backend that is no usable endpoint of the port (or wrong flags)",
			    fe);
	}
}

/* The frontends a service must have, in the model's order, each key once (the first kind
 * that names it). */
struct expect {
	struct lb_fe_key key;
	uint16_t kind; /* DRV_SVC_F_CLUSTERIP, _EXTERNAL or _NODEPORT, | _SRC_RANGES for a
			* LoadBalancer IP of a service with loadBalancerSourceRanges */
	const struct svc_port *sp;
};

static size_t expect_add(struct expect *v, size_t n, size_t max, uint32_t addr, uint16_t port,
			 uint8_t proto, uint16_t kind, const struct svc_port *sp)
{
	struct lb_fe_key k = {.addr = addr, .port = htons(port), .proto = proto};

	for (size_t i = 0; i < n; i++)
		if (!memcmp(&v[i].key, &k, sizeof(k)))
			return n;
	if (n < max)
		v[n++] = (struct expect){k, kind, sp};
	return n;
}

/* An external frontend; with externalTrafficPolicy Local it has an internal scope too, right
 * after it (every endpoint, no source ranges). */
static size_t expect_ext(const struct k8s_service *s, struct expect *v, size_t n, size_t max,
			 uint32_t addr, uint16_t port, uint8_t proto, uint16_t kind,
			 const struct svc_port *sp)
{
	size_t m = expect_add(v, n, max, addr, port, proto, kind, sp);

	if (s->etp_local && m > n && m < max) {
		v[m] = v[m - 1];
		v[m].key.scope = DRV_SCOPE_INT;
		v[m].kind &= (uint16_t)~DRV_SVC_F_SRC_RANGES;
		m++;
	}
	return m;
}

static size_t expected_frontends(const struct k8s_service *s, struct expect *v, size_t max)
{
	size_t n = 0;

	if (s->headless || s->external_name || s->other_proxy)
		return 0;
	for (size_t p = 0; p < s->nports; p++) {
		const struct svc_port *sp = &s->ports[p];

		for (size_t i = 0; i < s->ncluster_ips; i++)
			n = expect_add(v, n, max, s->cluster_ips[i], sp->port, sp->proto,
				       DRV_SVC_F_CLUSTERIP, sp);
		for (size_t i = 0; i < s->nexternal_ips; i++)
			n = expect_ext(s, v, n, max, s->external_ips[i], sp->port, sp->proto,
				       DRV_SVC_F_EXTERNAL, sp);
		for (size_t i = 0; i < s->nlb_ips; i++)
			n = expect_ext(
			    s, v, n, max, s->lb_ips[i], sp->port, sp->proto,
			    DRV_SVC_F_EXTERNAL | (s->src_filtered ? DRV_SVC_F_SRC_RANGES : 0), sp);
		if (s->node_ports && sp->node_port)
			n = expect_ext(s, v, n, max, 0, sp->node_port, sp->proto,
				       DRV_SVC_F_NODEPORT, sp);
	}
	return n;
}

static void check_service(const struct ctx *c, const struct k8s_service *s,
			  const struct lb_frontend *fes, size_t n)
{
	static struct expect want[1024];
	size_t nwant = expected_frontends(s, want, sizeof(want) / sizeof(want[0]));

	if (nwant == sizeof(want) / sizeof(want[0]))
		return; /* too many to check */
	if (n != nwant)
		bad(s, "frontend count differs from its ports x addresses + nodePorts", NULL);
	for (size_t i = 0; i < n; i++) {
		const struct lb_frontend *fe = &fes[i];
		const struct expect *e = NULL;
		uint16_t kinds = DRV_SVC_F_CLUSTERIP | DRV_SVC_F_EXTERNAL | DRV_SVC_F_NODEPORT |
				 DRV_SVC_F_SRC_RANGES;
		bool external, internal, local;

		if (!fe->key.port ||
		    (fe->key.proto != DRV_PROTO_TCP && fe->key.proto != DRV_PROTO_UDP))
			bad(s, "port 0 or a protocol that is neither TCP nor UDP", fe);
		if ((fe->key.addr == 0) != !!(fe->flags & DRV_SVC_F_NODEPORT))
			bad(s, "address 0 on a frontend that is not a NodePort, or the reverse",
			    fe);
		for (size_t j = 0; j < i; j++)
			if (!memcmp(&fes[j].key, &fe->key, sizeof(fe->key)))
				bad(s, "two frontends with one key", fe);
		for (size_t j = 0; j < nwant && !e; j++)
			if (!memcmp(&want[j].key, &fe->key, sizeof(fe->key)))
				e = &want[j];
		if (!e)
			bad(s, "a frontend that is none of the service's ports and addresses", fe);
		if ((fe->flags & kinds) != e->kind)
			bad(s,
			    "not the kind (ClusterIP, external, NodePort; source-ranged) its "
			    "address "
			    "has first",
			    fe);
		if (!!(fe->flags & DRV_SVC_F_AFFINITY) != s->affinity ||
		    fe->affinity_timeout != s->affinity_timeout)
			bad(s, "affinity flag or timeout differs from the service's", fe);
		external = !(e->kind & DRV_SVC_F_CLUSTERIP);
		internal = fe->key.scope == DRV_SCOPE_INT;
		if (!!(fe->flags & DRV_SVC_F_TWO_SCOPES) != (external && s->etp_local && !internal))
			bad(s, "two-scopes flag differs from the external Local policy", fe);
		local = internal ? false : external ? s->etp_local : s->itp_local;
		if (!!(fe->flags & DRV_SVC_F_LOCAL) != local)
			bad(s, "Local flag differs from the service's policy for its side", fe);
		check_backends(c, s, e->sp, fe, local);
	}
}

/* Accepted services never share a ClusterIP or nodePort frontend. */
static void check_conflicts(struct ctx *c)
{
	char msg[256];

	if (model_check_conflicts(c->svc, c->nsvc, msg, sizeof(msg)) != 0)
		return;
	for (size_t i = 0; i < c->nsvc; i++) {
		struct lb_frontend *a;
		size_t na;

		if (model_service_frontends(c->m, c->svc[i]->ns, c->svc[i]->name, &a, &na))
			continue;
		for (size_t j = 0; j < i; j++) {
			struct lb_frontend *b;
			size_t nb;

			if (model_service_frontends(c->m, c->svc[j]->ns, c->svc[j]->name, &b, &nb))
				continue;
			for (size_t x = 0; x < na; x++)
				for (size_t y = 0; y < nb; y++)
					if (!(a[x].flags & DRV_SVC_F_EXTERNAL) &&
					    !(b[y].flags & DRV_SVC_F_EXTERNAL) &&
					    !memcmp(&a[x].key, &b[y].key, sizeof(a[x].key)))
						bad(c->svc[i],
						    "shares a frontend with another service "
						    "although "
						    "the conflict check passed",
						    &a[x]);
			model_frontends_free(b, nb);
		}
		model_frontends_free(a, na);
	}
}

/* The oracle over everything c's model was given; frees c. */
static void check_and_free(struct ctx *c)
{
	for (size_t i = 0; i < c->nsvc; i++) {
		struct lb_frontend *fes;
		size_t n;
		int rc = model_service_frontends(c->m, c->svc[i]->ns, c->svc[i]->name, &fes, &n);

		if (rc == 0 && !c->overflow)
			check_service(c, c->svc[i], fes, n);
		if (rc == 0)
			model_frontends_free(fes, n);
		else if (rc != -ENOMEM)
			bad(c->svc[i], "a service given to the model has no frontends to show",
			    NULL);
	}
	if (!c->overflow)
		check_conflicts(c);
	for (size_t i = 0; i < c->nsvc; i++)
		k8s_service_free(c->svc[i]);
	for (size_t i = 0; i < c->nsl; i++)
		k8s_slice_free(c->sl[i]);
	model_free(c->m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT, .origin = "fuzz"};
	struct k8s_errors errs = {0};
	struct model_opts mo = {.node_name = NODE};
	struct ctx c = {0};
	struct jv_doc *d;
	struct jv *t;

	c.m = model_new(&mo, NULL);
	if (!c.m)
		return 0;
	k8s_parse_stream((const char *)data, size, &po, on_obj, &c, &errs);
	k8s_errors_free(&errs);
	check_and_free(&c);

	/* The bytes as JSON, straight into the decoder. */
	d = jv_doc_new();
	t = d ? jv_parse(d, (const char *)data, size, NULL) : NULL;
	memset(&c, 0, sizeof(c));
	c.m = t ? model_new(&mo, NULL) : NULL;
	if (c.m) {
		const struct jv *items = jv_get(t, "items");

		if (items && items->type == JV_ARRAY) {
			for (const struct jv *it = jv_first(items); it; it = it->next)
				on_tree(&c, it);
		} else {
			on_tree(&c, t);
		}
		check_and_free(&c);
	}
	jv_doc_free(d);
	return 0;
}
