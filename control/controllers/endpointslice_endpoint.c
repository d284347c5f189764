/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpointslice_endpoint: what an EndpointSlice holds, as k8s.io/endpointslice's utils
 * make it (endpointslice_int.h): a pod's endpoint (addresses of the slice's family, the
 * ready/serving/terminating conditions, hostname, targetRef, nodeName, zone), the
 * Service's ports resolved for a pod and their key, the slice's labels (the Service's and
 * the reserved ones), a new slice, and whether a slice is a Service's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpointslice_int.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* hashEndpoint: what identifies an endpoint across syncs, so that a change of its
 * conditions, node or zone rewrites it in place. */
const char *eps_endpoint_hash(struct jv_doc *d, const struct jv *ep)
{
	const struct jv *addrs = jv_get(ep, "addresses");
	size_t n = jv_count(addrs), k = 0, len = 4;
	const char **sorted = jv_alloc(d, (n + 1) * sizeof(*sorted));
	char *out, *p;

	if (!sorted)
		return NULL;
	for (const struct jv *a = jv_first(addrs); a; a = a->next)
		if (a->type == JV_STRING) {
			sorted[k++] = a->s;
			len += a->len + 1;
		}
	qsort(sorted, k, sizeof(*sorted), cmp_str);
	len += strlen(jv_path_str(ep, "hostname") ?: "") +
	       strlen(jv_path_str(ep, "targetRef.namespace") ?: "") +
	       strlen(jv_path_str(ep, "targetRef.name") ?: "");
	p = out = jv_alloc(d, len + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < k; i++)
		p += sprintf(p, "%s,", sorted[i]);
	sprintf(p, "|%s|%s/%s", jv_path_str(ep, "hostname") ?: "",
		jv_path_str(ep, "targetRef.namespace") ?: "",
		jv_path_str(ep, "targetRef.name") ?: "");
	return out;
}

static bool str_field_changed(const struct jv *a, const struct jv *b, const char *path)
{
	const struct jv *x = jv_path(a, path), *y = jv_path(b, path);

	if (!x || !y)
		return !x != !y;
	return !jv_equal(x, y);
}

/* EndpointsEqualBeyondHash: the same node, zone, conditions and target (its
 * resourceVersion aside). */
bool eps_endpoints_equal_beyond_hash(const struct jv *a, const struct jv *b)
{
	static const char *const fields[] = {
	    "nodeName",
	    "zone",
	    "conditions.ready",
	    "conditions.serving",
	    "conditions.terminating",
	    "targetRef.kind",
	    "targetRef.namespace",
	    "targetRef.name",
	    "targetRef.uid",
	    "targetRef.apiVersion",
	    "targetRef.fieldPath",
	};

	if (!jv_get(a, "targetRef") != !jv_get(b, "targetRef"))
		return false;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (str_field_changed(a, b, fields[i]))
			return false;
	return true;
}

struct addr_ctx {
	struct jv_doc *d;
	struct jv *arr;
};

static void add_addr(void *arg, const char *ip)
{
	struct addr_ctx *a = arg;

	jv_push(a->arr, jv_new_strz(a->d, ip));
}

/* podToEndpoint */
struct jv *eps_pod_endpoint(struct jv_doc *d, const struct jv *pod, const struct jv *node,
			    const struct jv *svc, int family)
{
	struct jv *ep = jv_new(d, JV_OBJECT), *cond = jv_new(d, JV_OBJECT);
	struct jv *ref = ep_pod_ref(d, pod);
	struct addr_ctx a = {.d = d, .arr = jv_new(d, JV_ARRAY)};
	bool serving = ctrl_pod_ready(pod);
	bool terminating = jv_path(pod, "metadata.deletionTimestamp") != NULL;
	/* ready is never true for a terminating pod unless publishNotReadyAddresses */
	bool ready =
	    ep_is_true(jv_path(svc, "spec.publishNotReadyAddresses")) || (serving && !terminating);
	const char *node_name = jv_path_str(pod, "spec.nodeName");
	const char *zone = jv_path_str(node, "metadata.labels[topology.kubernetes.io/zone]");

	if (!ep || !cond || !ref || !a.arr)
		return NULL;
	ep_pod_ips(pod, family, add_addr, &a);
	jv_set(d, ep, "addresses", a.arr);
	jv_set(d, cond, "ready", jv_new_bool(d, ready));
	jv_set(d, cond, "serving", jv_new_bool(d, serving));
	jv_set(d, cond, "terminating", jv_new_bool(d, terminating));
	jv_set(d, ep, "conditions", cond);
	if (ep_should_set_hostname(pod, svc))
		jv_set(d, ep, "hostname", jv_new_strz(d, jv_path_str(pod, "spec.hostname")));
	jv_set(d, ep, "targetRef", ref);
	if (node_name && node_name[0])
		jv_set(d, ep, "nodeName", jv_new_strz(d, node_name));
	if (zone && zone[0])
		jv_set(d, ep, "zone", jv_new_strz(d, zone));
	return ep;
}

/* ---- ports ---- */

static int cmp_port(const void *a, const void *b)
{
	const struct jv *x = *(struct jv *const *)a, *y = *(struct jv *const *)b;
	int64_t px = 0, py = 0;
	int c = strcmp(jv_path_str(x, "name") ?: "", jv_path_str(y, "name") ?: "");

	if (c)
		return c;
	c = strcmp(jv_path_str(x, "protocol") ?: "", jv_path_str(y, "protocol") ?: "");
	if (c)
		return c;
	jv_path_int(x, "port", &px);
	jv_path_int(y, "port", &py);
	if (px != py)
		return px < py ? -1 : 1;
	return strcmp(jv_path_str(x, "appProtocol") ?: "", jv_path_str(y, "appProtocol") ?: "");
}

/* NewPortMapKey: the same ports in any order make the same key. */
const char *eps_port_map_key(struct jv_doc *d, const struct jv *ports)
{
	size_t n = jv_count(ports), k = 0, len = 1;
	const struct jv **v = jv_alloc(d, (n + 1) * sizeof(*v));
	char *out, *p;

	if (!v)
		return NULL;
	for (const struct jv *x = jv_first(ports); x; x = x->next) {
		v[k++] = x;
		len += strlen(jv_path_str(x, "name") ?: "") +
		       strlen(jv_path_str(x, "protocol") ?: "") +
		       strlen(jv_path_str(x, "appProtocol") ?: "") + 32;
	}
	qsort(v, k, sizeof(*v), cmp_port);
	p = out = jv_alloc(d, len);
	if (!out)
		return NULL;
	for (size_t i = 0; i < k; i++) {
		int64_t port = 0;

		jv_path_int(v[i], "port", &port);
		p += sprintf(p, "%s/%s/%lld/%s;", jv_path_str(v[i], "name") ?: "",
			     jv_path_str(v[i], "protocol") ?: "", (long long)port,
			     jv_path_str(v[i], "appProtocol") ?: "");
	}
	*p = 0;
	return out;
}

/* getEndpointPorts: the Service's ports resolved for the pod (a headless Service may have
 * none). Ports the pod does not have are left out. */
struct jv *eps_endpoint_ports(struct jv_doc *d, const struct jv *svc, const struct jv *pod)
{
	struct jv *out = jv_new(d, JV_ARRAY);

	if (!out)
		return NULL;
	for (const struct jv *sp = jv_first(jv_path(svc, "spec.ports")); sp; sp = sp->next) {
		int port = ep_find_port(pod, sp);
		struct jv *p;

		if (port < 0)
			continue;
		p = ep_endpoint_port(d, sp, port);
		if (!p)
			return NULL;
		jv_push(out, p);
	}
	return out;
}

/* ---- labels ---- */

static bool reserved_label(const char *k)
{
	return strcmp(k, EPS_SERVICE_NAME) == 0 || strcmp(k, EPS_MANAGED_BY) == 0 ||
	       strcmp(k, EPS_HEADLESS) == 0;
}

/* setEndpointSliceLabels: the Service's labels and the reserved ones; *changed when the
 * slice's own (reserved aside) differ from the Service's. */
struct jv *eps_slice_labels(struct jv_doc *d, const struct jv *slice, const struct jv *svc,
			    bool *changed)
{
	struct jv *out = jv_new(d, JV_OBJECT);
	const struct jv *sl = jv_path(slice, "metadata.labels");
	const struct jv *vl = jv_path(svc, "metadata.labels");
	size_t nslice = 0, nsvc = 0;

	if (!out)
		return NULL;
	*changed = false;
	for (const struct jv *l = jv_first(sl); l; l = l->next)
		if (!reserved_label(l->key))
			nslice++;
	for (const struct jv *l = jv_first(vl); l; l = l->next) {
		const struct jv *mine;

		if (reserved_label(l->key))
			continue;
		nsvc++;
		mine = jv_get(sl, l->key);
		if (!mine || !jv_equal(mine, l))
			*changed = true;
		jv_set(d, out, l->key, jv_copy(d, l));
	}
	if (nslice != nsvc)
		*changed = true;
	if (!ep_service_ip_set(svc))
		jv_set(d, out, EPS_HEADLESS, jv_new_strz(d, ""));
	jv_set(d, out, EPS_SERVICE_NAME, jv_new_strz(d, jv_path_str(svc, "metadata.name")));
	jv_set(d, out, EPS_MANAGED_BY, jv_new_strz(d, EPS_CONTROLLER));
	return out;
}

struct jv *eps_new_slice(struct jv_doc *d, const struct jv *svc, const struct jv *ports,
			 const char *addr_type)
{
	struct jv *s = jv_new(d, JV_OBJECT), *m = jv_new(d, JV_OBJECT), *refs;
	bool changed;
	char prefix[300];

	if (!s || !m)
		return NULL;
	snprintf(prefix, sizeof(prefix), "%s-", jv_path_str(svc, "metadata.name") ?: "");
	jv_set(d, s, "apiVersion", jv_new_strz(d, "discovery.k8s.io/v1"));
	jv_set(d, s, "kind", jv_new_strz(d, "EndpointSlice"));
	jv_set(d, m, "generateName", jv_new_strz(d, prefix));
	jv_set(d, m, "namespace", jv_new_strz(d, jv_path_str(svc, "metadata.namespace") ?: ""));
	jv_set(d, s, "metadata", m);
	jv_set(d, m, "labels", eps_slice_labels(d, s, svc, &changed));
	refs = jv_new(d, JV_ARRAY);
	jv_push(refs, ctrl_owner_ref(d, svc, ctrl_k_service));
	jv_set(d, m, "ownerReferences", refs);
	jv_set(d, s, "addressType", jv_new_strz(d, addr_type));
	jv_set(d, s, "endpoints", jv_new(d, JV_ARRAY));
	jv_set(d, s, "ports", ports ? jv_copy(d, ports) : jv_new(d, JV_ARRAY));
	return s;
}

/* ownedBy */
bool eps_owned_by(const struct jv *slice, const struct jv *svc)
{
	const char *uid = jv_path_str(svc, "metadata.uid");

	for (const struct jv *r = jv_first(jv_path(slice, "metadata.ownerReferences")); r;
	     r = r->next)
		if (uid && jv_is_str(jv_get(r, "uid"), uid) &&
		    jv_is_str(jv_get(r, "kind"), "Service") &&
		    jv_is_str(jv_get(r, "apiVersion"), "v1"))
			return true;
	return false;
}
