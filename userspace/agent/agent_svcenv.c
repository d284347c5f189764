/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_svcenv: the services' environment variables of the kubelet (getServiceEnvVarMap):
 * an informer on every Service, and for a container being started the variables of its
 * namespace's services (spec.enableServiceLinks) and of default/kubernetes
 * (agent_env.c, env_services). As the kubelet, a container is not started before the
 * services were listed once: CreateContainerConfigError with its message until then.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_env.h"
#include "agent_int.h"
#include "informer.h"
#include "k8s.h"

/* spec.clusterIP, for the cluster DNS's PTR records */
static void index_cluster_ip(const struct jv *svc, void (*emit)(void *, const char *), void *ctx)
{
	const char *ip = jv_path_str(svc, "spec.clusterIP");

	if (ip && ip[0] && strcmp(ip, "None"))
		emit(ctx, ip);
}

int agent_svcenv_start(struct agent *a)
{
	const struct k8s_kind *k = k8s_kind_find("v1", "Service");
	int rc;

	if (!k)
		return -ENOENT;
	a->svc_inf = kc_informer_new(a->kc, &(struct kc_informer_opts){.kind = k});
	if (!a->svc_inf)
		return -ENOMEM;
	rc = kc_informer_add_index(a->svc_inf, AGENT_SVC_IP_INDEX, index_cluster_ip);
	return rc ? rc : kc_informer_start(a->svc_inf);
}

void agent_svcenv_stop(struct agent *a)
{
	kc_informer_free(a->svc_inf);
	a->svc_inf = NULL;
}

int agent_service_env(struct agent *a, const char *ns, bool links, struct env_list *out, char *err,
		      size_t errlen)
{
	struct kc_obj **objs = NULL, *master;
	const struct jv **svcs;
	struct jv_doc *d;
	size_t n = 0, m = 0;
	int rc;

	if (!a->svc_inf)
		return 0; /* not started (no API: nothing to add) */
	if (!kc_informer_wait_synced(a->svc_inf, 2000)) {
		snprintf(err, errlen,
			 "services have not yet been read at least once, cannot "
			 "construct envvars");
		return -EINVAL;
	}
	if (links && (rc = kc_informer_list(a->svc_inf, "namespace", ns, &objs, &n)))
		return rc;
	master = kc_informer_get(a->svc_inf, "default", "kubernetes");
	svcs = calloc(n + 1, sizeof(*svcs));
	d = jv_doc_new();
	rc = svcs && d ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < n + 1; i++) {
		const struct kc_obj *o = i < n ? objs[i] : master;
		const struct jv *v;

		if (!o)
			continue;
		if (!(v = kc_obj_parse(o, d)))
			rc = -ENOMEM;
		else
			svcs[m++] = v;
	}
	if (!rc)
		rc = env_services(svcs, m, ns, links, out);
	free(svcs);
	jv_doc_free(d);
	kc_objs_free(objs, n);
	if (master)
		kc_obj_put(master);
	return rc;
}
