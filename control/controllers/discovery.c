/* SPDX-License-Identifier: Apache-2.0 */
/*
 * discovery: which resource kinds the server serves, for the controllers that work on every
 * kind (the garbage collector watches each; the namespace controller empties each of a
 * namespace). The candidates are the kinds the client knows (the schema's table,
 * k8s_schema_kinds: every resource kind with a list kind); a kind is served when the server
 * answers a list of it (limit 1) and is not when it answers 404, as client-go's discovery
 * would have told from /api and /apis. This asks through kclient only, so it is the same
 * over either transport and against any server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"

#define COMP "controller-manager"

/* Kubernetes' version priority (apimachinery's version.CompareKubeAwareVersionStrings): GA
 * before beta before alpha, then the higher major, then the higher minor. <0 if a comes
 * first. */
static int version_rank(const char *v, int *major, int *minor)
{
	const char *p = v + 1;
	char *end;

	*major = (int)strtol(p, &end, 10);
	*minor = 0;
	if (!*end)
		return 2; /* GA */
	if (strncmp(end, "beta", 4) == 0) {
		*minor = (int)strtol(end + 4, NULL, 10);
		return 1;
	}
	if (strncmp(end, "alpha", 5) == 0)
		*minor = (int)strtol(end + 5, NULL, 10);
	return 0;
}

static int version_cmp(const char *a, const char *b)
{
	int amaj, amin, bmaj, bmin;
	int ra = version_rank(a, &amaj, &amin), rb = version_rank(b, &bmaj, &bmin);

	if (ra != rb)
		return rb - ra;
	if (amaj != bmaj)
		return bmaj - amaj;
	return bmin - amin;
}

int ctrl_served_kinds(struct ctrl_ctx *c, const struct k8s_kind ***out, size_t *n)
{
	const struct k8s_kind **kinds = calloc(k8s_schema_nkinds + 1, sizeof(*kinds));
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (!kinds)
		return -ENOMEM;
	for (size_t i = 0; i < k8s_schema_nkinds; i++) {
		const struct k8s_kind *k = &k8s_schema_kinds[i];
		struct kc_list_opts lo = {.limit = 1};
		struct kc_list l = {0};
		struct kc_status st;
		int err;

		if (!(k->flags & K8S_KIND_RESOURCE) || !k->resource || !k->list_kind)
			continue;
		err = kc_list(c->kc, k, NULL, &lo, &l, &st);
		kc_list_free(&l);
		if (err == -ENOENT || err == -KC_EAPI)
			continue; /* 404 (or 405): not served */
		if (err) {
			log_warn(COMP, "%s: discovery of %s.%s: %s", c->name, k->resource, k->group,
				 st.message[0] ? st.message : kc_strerror(err));
			continue;
		}
		kinds[cnt++] = k;
	}
	*out = kinds;
	*n = cnt;
	return 0;
}

bool ctrl_kind_preferred(const struct k8s_kind *const *kinds, size_t n, const struct k8s_kind *k)
{
	for (size_t i = 0; i < n; i++) {
		const struct k8s_kind *o = kinds[i];

		if (o != k && strcmp(o->group, k->group) == 0 &&
		    strcmp(o->resource, k->resource) == 0 &&
		    version_cmp(o->version, k->version) < 0)
			return false;
	}
	return true;
}

const struct k8s_kind *ctrl_kind_served(const struct k8s_kind *const *kinds, size_t n,
					const char *api_version, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (api_version && kind && strcmp(kinds[i]->api_version, api_version) == 0 &&
		    strcmp(kinds[i]->kind, kind) == 0)
			return kinds[i];
	return NULL;
}
