/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services: the Service strategy's allocations: a ClusterIP from the service range and
 * NodePorts from the node port range (ipalloc.c), kept across updates, taken back when the
 * write that took them fails, released when the Service drops them or goes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alloc.h"
#include "api_strategy.h"
#include "registry.h"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

/* "ns/name": who holds a value (recorded with it in the store). */
static const char *owner_of(const struct api_admit *a, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", jv_path_str(a->obj, "metadata.namespace") ?: "",
		 jv_path_str(a->obj, "metadata.name") ?: "");
	return buf;
}

static void note_ip(struct api_admit *a, const char *ip, bool is_new)
{
	if (is_new && a->nnew_ips < API_ADMIT_MAX_ALLOC)
		snprintf(a->new_ips[a->nnew_ips++], 16, "%s", ip);
	else if (!is_new && a->nold_ips < API_ADMIT_MAX_ALLOC)
		snprintf(a->old_ips[a->nold_ips++], 16, "%s", ip);
}

static void note_port(struct api_admit *a, int port, bool is_new)
{
	if (is_new && a->nnew_ports < API_ADMIT_MAX_ALLOC)
		a->new_ports[a->nnew_ports++] = port;
	else if (!is_new && a->nold_ports < API_ADMIT_MAX_ALLOC)
		a->old_ports[a->nold_ports++] = port;
}

static bool wants_cluster_ip(const char *type)
{
	return !type || strcmp(type, "ExternalName") != 0;
}

static bool wants_node_ports(const struct jv *spec)
{
	const char *type = jv_path_str(spec, "type");
	const struct jv *alloc = jv_get(spec, "allocateLoadBalancerNodePorts");

	if (!type)
		return false;
	if (strcmp(type, "NodePort") == 0)
		return true;
	return strcmp(type, "LoadBalancer") == 0 && !(alloc && alloc->type == JV_FALSE);
}

static int old_node_port(const struct jv *old, const struct jv *p)
{
	EACH(q, jv_path(old, "spec.ports"))
	{
		int64_t np = 0;

		if (jv_path_int(q, "nodePort", &np) == 0 &&
		    jv_equal(jv_get(q, "port"), jv_get(p, "port")) &&
		    jv_equal(jv_get(q, "protocol"), jv_get(p, "protocol")))
			return (int)np;
	}
	return 0;
}

static void allocate_cluster_ip(struct api_admit *a, struct jv *spec)
{
	const char *want = jv_path_str(spec, "clusterIP");
	const char *had = a->old ? jv_path_str(a->old, "spec.clusterIP") : NULL;
	char ip[16], why[256], owner[320];
	struct jv *ips;
	int err;

	if (want && strcmp(want, "None") == 0)
		goto set_ips;
	if (had && had[0] && strcmp(had, "None") != 0 &&
	    (!want || !want[0] || !strcmp(want, had))) {
		jv_set(a->d, spec, "clusterIP", jv_new_strz(a->d, had));
		goto set_ips;
	}
	err = api_alloc_ip(a->reg->alloc, want, owner_of(a, owner, sizeof(owner)), a->dry_run, ip);
	if (err) {
		if (err == -EEXIST)
			snprintf(why, sizeof(why),
				 "failed to allocate IP %s: provided IP is already "
				 "allocated",
				 want);
		else if (err == -ERANGE)
			snprintf(
			    why, sizeof(why),
			    "failed to allocate IP %s: the provided IP (%s) is not in the valid "
			    "range. The range of valid IPs is %s",
			    want, want, api_alloc_cidr(a->reg->alloc));
		else if (err == -EINVAL)
			snprintf(why, sizeof(why),
				 "must be a valid IP address, (e.g. 10.9.8.7 or "
				 "2001:db8::ffff)");
		else
			snprintf(why, sizeof(why), "failed to allocate a serviceIP: range is full");
		api_cause_invalid(a, "spec.clusterIPs", jv_get(spec, "clusterIP"), why);
		return;
	}
	note_ip(a, ip, true);
	jv_set(a->d, spec, "clusterIP", jv_new_strz(a->d, ip));
set_ips:
	ips = jv_new(a->d, JV_ARRAY);
	jv_push(ips, jv_new_strz(a->d, jv_path_str(spec, "clusterIP")));
	jv_set(a->d, spec, "clusterIPs", ips);
}

static void allocate_node_ports(struct api_admit *a, struct jv *spec)
{
	size_t i = 0;

	EACH(p, jv_get(spec, "ports"))
	{
		int64_t want = 0;
		int had = a->old ? old_node_port(a->old, p) : 0, port = 0, lo, hi, err;
		char f[64], why[160], owner[320];

		jv_path_int(p, "nodePort", &want);
		if (had && (!want || want == had)) {
			jv_set(a->d, p, "nodePort", jv_new_int(a->d, had));
			i++;
			continue;
		}
		err = api_alloc_port(a->reg->alloc, (int)want, owner_of(a, owner, sizeof(owner)),
				     a->dry_run, &port);
		snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
		if (err == -EEXIST) {
			api_cause_invalid(a, f, jv_get(p, "nodePort"),
					  "provided port is already allocated");
		} else if (err == -ERANGE) {
			api_alloc_port_range(a->reg->alloc, &lo, &hi);
			snprintf(
			    why, sizeof(why),
			    "provided port is not in the valid range. The range of valid ports "
			    "is %d-%d",
			    lo, hi);
			api_cause_invalid(a, f, jv_get(p, "nodePort"), why);
		} else if (err) {
			api_cause_invalid(a, f, jv_get(p, "nodePort"), "range is full");
		} else {
			note_port(a, port, true);
			jv_set(a->d, p, "nodePort", jv_new_int(a->d, port));
		}
		i++;
	}
}

/* What the old Service held that the new one no longer does: freed after the write. */
static void note_released(struct api_admit *a, const struct jv *spec)
{
	const char *oip = jv_path_str(a->old, "spec.clusterIP");
	const char *nip = jv_path_str(spec, "clusterIP");

	if (oip && oip[0] && strcmp(oip, "None") != 0 && (!nip || strcmp(oip, nip) != 0))
		note_ip(a, oip, false);
	EACH(q, jv_path(a->old, "spec.ports"))
	{
		int64_t np = 0;
		bool kept = false;

		if (jv_path_int(q, "nodePort", &np) != 0 || !np)
			continue;
		EACH(p, jv_get(spec, "ports"))
		{
			int64_t n = 0;

			if (jv_path_int(p, "nodePort", &n) == 0 && n == np)
				kept = true;
		}
		if (!kept)
			note_port(a, (int)np, false);
	}
}

int api_service_allocate(struct api_admit *a)
{
	struct jv *spec;

	if (a->sub && strcmp(a->sub, "status") == 0)
		return 0;
	spec = jv_obj_at(a->d, a->obj, "spec");
	if (wants_cluster_ip(jv_path_str(spec, "type")))
		allocate_cluster_ip(a, spec);
	else {
		jv_del(spec, "clusterIP");
		jv_del(spec, "clusterIPs");
	}
	if (wants_node_ports(spec))
		allocate_node_ports(a, spec);
	else
		EACH(p, jv_get(spec, "ports"))
	jv_del(p, "nodePort");
	if (a->old)
		note_released(a, spec);
	if (a->errs.n) {
		api_admit_abort(a);
		return -EINVAL;
	}
	return 0;
}

void api_service_release(struct registry *reg, const struct jv *obj)
{
	const char *ip = jv_path_str(obj, "spec.clusterIP");

	if (ip && ip[0] && strcmp(ip, "None") != 0)
		api_alloc_ip_release(reg->alloc, ip);
	EACH(p, jv_path(obj, "spec.ports"))
	{
		int64_t np = 0;

		if (jv_path_int(p, "nodePort", &np) == 0 && np)
			api_alloc_port_release(reg->alloc, (int)np);
	}
}
