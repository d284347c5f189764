/* SPDX-License-Identifier: Apache-2.0 */
/* tl_labels: pods and services as metric labels (tl_metrics.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "tl_metrics.h"

/* "<prefix>-<suffix>" with this suffix: the prefix's length, else 0. */
static size_t strip_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (!s || n < s + 2 || name[n - s - 1] != '-' || strcmp(name + n - s, suffix) != 0)
		return 0;
	return n - s - 1;
}

/* A Job name as the CronJob controller makes it: "<cronjob>-<minutes since the epoch>"
 * (Istio: cronJobNameRegexp `(.+)-\d{8,10}$`). */
static size_t cronjob_prefix(const char *name)
{
	size_t n = strlen(name), d = 0;

	while (d < n && isdigit((unsigned char)name[n - 1 - d]))
		d++;
	if (d < 8 || d > 10 || n < d + 2 || name[n - d - 1] != '-')
		return 0;
	return n - d - 1;
}

void tl_workload_of(const struct jv *pod, char *out, size_t size)
{
	const char *pname = jv_path_str(pod, "metadata.name");
	const struct jv *ctl = NULL;

	for (const struct jv *o = jv_first(jv_path(pod, "metadata.ownerReferences")); o;
	     o = o->next)
		if (jv_get(o, "controller") && jv_get(o, "controller")->type == JV_TRUE) {
			ctl = o;
			break;
		}
	if (ctl) {
		const char *kind = jv_path_str(ctl, "kind"), *name = jv_path_str(ctl, "name");
		const char *hash = jv_path_str(pod, "metadata.labels.pod-template-hash");
		size_t n = 0;

		if (name && kind && !strcmp(kind, "ReplicaSet") && hash)
			n = strip_suffix(name, hash);
		else if (name && kind && !strcmp(kind, "Job"))
			n = cronjob_prefix(name);
		if (name) {
			snprintf(out, size, "%.*s", (int)(n ? n : strlen(name)), name);
			return;
		}
	}
	snprintf(out, size, "%s", pname ? pname : TL_UNKNOWN);
}

void tl_pod_ident_of(const struct jv *pod, struct tl_pod_ident *out)
{
	const char *ns = jv_path_str(pod, "metadata.namespace"),
		   *name = jv_path_str(pod, "metadata.name");

	snprintf(out->ns, sizeof(out->ns), "%s", ns ? ns : TL_UNKNOWN);
	snprintf(out->pod, sizeof(out->pod), "%s", name ? name : TL_UNKNOWN);
	tl_workload_of(pod, out->workload, sizeof(out->workload));
}

bool tl_service_of(const char *entry, const char *domain, char *host, size_t hsize, char *ns,
		   size_t nsize)
{
	/* "namespace/name" ends at the first ':' (":port/proto" has a '/' of its own) */
	size_t end = strcspn(entry, ":");
	const char *slash = memchr(entry, '/', end);
	size_t nl;

	if (!slash || slash == entry)
		return false;
	nl = end - (size_t)(slash - entry) - 1;
	if (!nl)
		return false;
	snprintf(ns, nsize, "%.*s", (int)(slash - entry), entry);
	snprintf(host, hsize, "%.*s.%.*s.svc.%s", (int)nl, slash + 1, (int)(slash - entry), entry,
		 domain && domain[0] ? domain : "cluster.local");
	return true;
}

const char *tl_drop_reason(unsigned kind)
{
	/* Cilium's drop reasons are words; so are these, one per DRV_DROP_* */
	static const char *const names[] = {
	    [DRV_DROP_NO_BACKEND - DRV_STAT_DROP_FIRST] = "no_backend",
	    [DRV_DROP_BACKEND_GONE - DRV_STAT_DROP_FIRST] = "backend_gone",
	    [DRV_DROP_CT_FULL - DRV_STAT_DROP_FIRST] = "conntrack_full",
	    [DRV_DROP_NAT_EXHAUSTED - DRV_STAT_DROP_FIRST] = "nat_exhausted",
	    [DRV_DROP_MALFORMED - DRV_STAT_DROP_FIRST] = "malformed",
	    [DRV_DROP_CSUM - DRV_STAT_DROP_FIRST] = "checksum",
	    [DRV_DROP_FRAGMENT - DRV_STAT_DROP_FIRST] = "fragment",
	    [DRV_DROP_MAGLEV - DRV_STAT_DROP_FIRST] = "maglev",
	    [DRV_DROP_FIB - DRV_STAT_DROP_FIRST] = "fib",
	    [DRV_DROP_SOURCE_RANGE - DRV_STAT_DROP_FIRST] = "source_range",
	    [DRV_DROP_TOO_BIG - DRV_STAT_DROP_FIRST] = "too_big",
	    [DRV_DROP_NO_LOCAL - DRV_STAT_DROP_FIRST] = "no_local_endpoint",
	};

	if (kind < DRV_STAT_DROP_FIRST ||
	    kind - DRV_STAT_DROP_FIRST >= sizeof(names) / sizeof(*names))
		return NULL;
	return names[kind - DRV_STAT_DROP_FIRST];
}

const char *tl_method_name(unsigned m)
{
	static const char *const names[] = {"OTHER",  "GET",   "HEAD",	  "POST",    "PUT",
					    "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};

	return m < sizeof(names) / sizeof(*names) ? names[m] : "OTHER";
}
