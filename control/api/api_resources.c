/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_resources: lookups over the served resources table (api_resources_gen.c).
 */
#include <string.h>

#include "api_resources.h"

const struct api_resource *api_resource_find(const char *group, const char *version,
					     const char *resource)
{
	for (size_t i = 0; i < api_nresources; i++) {
		const struct k8s_kind *k = api_resources[i].kind;

		if (strcmp(k->resource, resource) == 0 && strcmp(k->group, group) == 0 &&
		    strcmp(k->version, version) == 0)
			return &api_resources[i];
	}
	return NULL;
}

const struct api_resource *api_resource_of_kind(const struct k8s_kind *k)
{
	for (size_t i = 0; k && i < api_nresources; i++)
		if (api_resources[i].kind == k && !api_resources[i].storage)
			return &api_resources[i];
	return NULL;
}

const struct api_subresource *api_subresource_find(const struct api_resource *res, const char *name)
{
	for (size_t i = 0; res && name && i < res->nsubresources; i++)
		if (strcmp(res->subresources[i].name, name) == 0)
			return &res->subresources[i];
	return NULL;
}
