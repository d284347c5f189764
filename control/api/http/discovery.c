/* SPDX-License-Identifier: Apache-2.0 */
/*
 * discovery: /version, the legacy discovery documents (/api, /apis, /apis/<group>,
 * /api/v1 and /apis/<group>/<version>) and the aggregated ones (apidiscovery.k8s.io v2 and
 * v2beta1, served when the Accept header asks for them, with the Content-Type naming the
 * version served), all from the served resources table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_http.h"

static const char *const verb_names[] = {"create", "delete", "deletecollection", "get",
					 "list",   "patch",  "update",		 "watch"};

static void put_str(struct k8s_buf *b, const char *s)
{
	k8s_buf_json_string(b, s, strlen(s));
}

static void put_verbs(struct k8s_buf *b, unsigned verbs)
{
	bool first = true;

	k8s_buf_putc(b, '[');
	for (unsigned i = 0; i < 8; i++) {
		if (!(verbs & (1u << i)))
			continue;
		if (!first)
			k8s_buf_putc(b, ',');
		first = false;
		put_str(b, verb_names[i]);
	}
	k8s_buf_putc(b, ']');
}

static void put_list(struct k8s_buf *b, const char *key, const char *const *items)
{
	if (!items || !items[0])
		return;
	k8s_buf_printf(b, ",\"%s\":[", key);
	for (size_t i = 0; items[i]; i++) {
		if (i)
			k8s_buf_putc(b, ',');
		put_str(b, items[i]);
	}
	k8s_buf_putc(b, ']');
}

void api_serve_version(struct api_req *r)
{
	static const char body[] =
	    "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"" API_GIT_VERSION "\","
	    "\"gitCommit\":\"drover\",\"gitTreeState\":\"clean\","
	    "\"buildDate\":\"2025-04-22T00:00:00Z\",\"goVersion\":\"go1.23.6\","
	    "\"compiler\":\"gc\",\"platform\":\"linux/amd64\"}";

	api_reply_text(r, 200, "application/json", body);
}

/* The resources served while one document is written: the generated table's and the
 * custom ones (reg_resources). */
struct served {
	const struct api_resource **v;
	size_t n;
};

/* Groups in the order of the table, each once. */
static size_t served_groups(const struct served *sv, const char **groups, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sv->n; i++) {
		const char *g = sv->v[i]->kind->group;
		size_t j;

		if (!g[0])
			continue;
		for (j = 0; j < n && strcmp(groups[j], g) != 0; j++)
			;
		if (j == n && n < max)
			groups[n++] = g;
	}
	return n;
}

#define MAX_VERSIONS 4

/* The versions of a group in the table's order; the first is the preferred one (the stored
 * version: the table lists it before the versions served by conversion). */
static size_t group_versions(const struct served *sv, const char *group, const char **vers)
{
	size_t n = 0;

	for (size_t i = 0; i < sv->n; i++) {
		const struct k8s_kind *k = sv->v[i]->kind;
		size_t j;

		if (strcmp(k->group, group) != 0)
			continue;
		for (j = 0; j < n && strcmp(vers[j], k->version) != 0; j++)
			;
		if (j == n && n < MAX_VERSIONS)
			vers[n++] = k->version;
	}
	return n;
}

/* An APIGroup's fields (without braces). */
static void put_group_fields(struct k8s_buf *b, const struct served *sv, const char *g)
{
	const char *vers[MAX_VERSIONS];
	size_t n = group_versions(sv, g, vers);

	k8s_buf_puts(b, "\"name\":");
	put_str(b, g);
	k8s_buf_puts(b, ",\"versions\":[");
	for (size_t i = 0; i < n; i++)
		k8s_buf_printf(b, "%s{\"groupVersion\":\"%s/%s\",\"version\":\"%s\"}", i ? "," : "",
			       g, vers[i], vers[i]);
	k8s_buf_printf(b, "],\"preferredVersion\":{\"groupVersion\":\"%s/%s\",\"version\":\"%s\"}",
		       g, n ? vers[0] : "v1", n ? vers[0] : "v1");
}

static void put_resource_list(struct k8s_buf *b, const struct served *sv, const char *group,
			      const char *version)
{
	bool first = true;

	if (group[0])
		k8s_buf_printf(b,
			       "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\","
			       "\"groupVersion\":\"%s/%s\",\"resources\":[",
			       group, version);
	else
		k8s_buf_printf(b,
			       "{\"kind\":\"APIResourceList\",\"groupVersion\":\"%s\","
			       "\"resources\":[",
			       version);
	for (size_t i = 0; i < sv->n; i++) {
		const struct api_resource *res = sv->v[i];
		const struct k8s_kind *k = res->kind;
		bool ns = api_resource_namespaced(res);

		if (strcmp(k->group, group) != 0 || strcmp(k->version, version) != 0)
			continue;
		if (!first)
			k8s_buf_putc(b, ',');
		first = false;
		k8s_buf_puts(b, "{\"name\":");
		put_str(b, k->resource);
		k8s_buf_puts(b, ",\"singularName\":");
		put_str(b, k->singular);
		k8s_buf_printf(b, ",\"namespaced\":%s,\"kind\":", ns ? "true" : "false");
		put_str(b, k->kind);
		k8s_buf_puts(b, ",\"verbs\":");
		put_verbs(b, res->verbs);
		put_list(b, "shortNames", res->short_names);
		put_list(b, "categories", res->categories);
		k8s_buf_putc(b, '}');
		for (size_t j = 0; j < res->nsubresources; j++) {
			const struct api_subresource *sub = &res->subresources[j];

			k8s_buf_printf(b, ",{\"name\":\"%s/%s\",\"singularName\":\"\",",
				       k->resource, sub->name);
			k8s_buf_printf(b, "\"namespaced\":%s,", ns ? "true" : "false");
			if (strcmp(sub->group, group) != 0 || strcmp(sub->version, version) != 0)
				k8s_buf_printf(b, "\"group\":\"%s\",\"version\":\"%s\",",
					       sub->group, sub->version);
			k8s_buf_printf(b, "\"kind\":\"%s\",\"verbs\":", sub->kind);
			put_verbs(b, sub->verbs);
			k8s_buf_putc(b, '}');
		}
	}
	k8s_buf_puts(b, "]}");
}

/* ---- aggregated discovery ---- */

static void put_response_kind(struct k8s_buf *b, const char *g, const char *v, const char *k)
{
	k8s_buf_printf(b, "\"responseKind\":{\"group\":\"%s\",\"version\":\"%s\",\"kind\":\"%s\"}",
		       g, v, k);
}

static void put_agg_version(struct k8s_buf *b, const struct served *sv, const char *group,
			    const char *version)
{
	bool first = true;

	k8s_buf_printf(b, "{\"version\":\"%s\",\"resources\":[", version);
	for (size_t i = 0; i < sv->n; i++) {
		const struct api_resource *res = sv->v[i];
		const struct k8s_kind *k = res->kind;

		if (strcmp(k->group, group) != 0 || strcmp(k->version, version) != 0)
			continue;
		if (!first)
			k8s_buf_putc(b, ',');
		first = false;
		k8s_buf_puts(b, "{\"resource\":");
		put_str(b, k->resource);
		k8s_buf_putc(b, ',');
		put_response_kind(b, k->group, k->version, k->kind);
		k8s_buf_printf(b, ",\"scope\":\"%s\",\"singularResource\":",
			       api_resource_namespaced(res) ? "Namespaced" : "Cluster");
		put_str(b, k->singular);
		k8s_buf_puts(b, ",\"verbs\":");
		put_verbs(b, res->verbs);
		put_list(b, "shortNames", res->short_names);
		put_list(b, "categories", res->categories);
		if (res->nsubresources) {
			k8s_buf_puts(b, ",\"subresources\":[");
			for (size_t j = 0; j < res->nsubresources; j++) {
				const struct api_subresource *sub = &res->subresources[j];

				k8s_buf_printf(b, "%s{\"subresource\":\"%s\",", j ? "," : "",
					       sub->name);
				put_response_kind(b, sub->group, sub->version, sub->kind);
				k8s_buf_puts(b, ",\"verbs\":");
				put_verbs(b, sub->verbs);
				k8s_buf_putc(b, '}');
			}
			k8s_buf_putc(b, ']');
		}
		k8s_buf_putc(b, '}');
	}
	k8s_buf_puts(b, "],\"freshness\":\"Current\"}");
}

static void put_aggregated(struct k8s_buf *b, const struct served *sv, bool core, const char *av)
{
	k8s_buf_printf(
	    b,
	    "{\"kind\":\"APIGroupDiscoveryList\",\"apiVersion\":\"apidiscovery.k8s.io/%s\","
	    "\"metadata\":{},\"items\":[",
	    av);
	if (core) {
		k8s_buf_puts(b, "{\"metadata\":{\"creationTimestamp\":null},\"versions\":[");
		put_agg_version(b, sv, "", "v1");
		k8s_buf_puts(b, "]}");
	} else {
		const char *groups[32];
		size_t n = served_groups(sv, groups, 32);

		for (size_t i = 0; i < n; i++) {
			if (i)
				k8s_buf_putc(b, ',');
			k8s_buf_puts(b, "{\"metadata\":{\"name\":");
			put_str(b, groups[i]);
			k8s_buf_puts(b, ",\"creationTimestamp\":null},\"versions\":[");
			{
				const char *vers[MAX_VERSIONS];
				size_t nv = group_versions(sv, groups[i], vers);

				for (size_t j = 0; j < nv; j++) {
					if (j)
						k8s_buf_putc(b, ',');
					put_agg_version(b, sv, groups[i], vers[j]);
				}
			}
			k8s_buf_puts(b, "]}");
		}
	}
	k8s_buf_puts(b, "]}");
}

/* The aggregated version the Accept header asks for first ("v2", "v2beta1"), or NULL. */
static const char *aggregated_accept(const char *accept)
{
	const char *p = accept;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		char one[256];

		snprintf(one, sizeof(one), "%.*s", (int)(n < 255 ? n : 255), p);
		if (strstr(one, "g=apidiscovery.k8s.io") &&
		    strstr(one, "as=APIGroupDiscoveryList")) {
			if (strstr(one, "v=v2beta1"))
				return "v2beta1";
			if (strstr(one, "v=v2"))
				return "v2";
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return NULL;
}

void api_serve_discovery(struct api_req *r)
{
	struct k8s_buf b = {0};
	const char *agg = aggregated_accept(r->accept);
	static char ctype_v2[] =
	    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
	static char ctype_v2b[] =
	    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

	struct served svd = {0}, *sv = &svd;

	svd.n = reg_resources(r->srv->reg, &svd.v);
	if (!svd.v) {
		api_error(r, 500, "InternalError", "out of memory");
		return;
	}
	switch (r->rt.type) {
	case ROUTE_API:
		if (agg) {
			put_aggregated(&b, sv, true, agg);
			break;
		}
		k8s_buf_printf(&b,
			       "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
			       "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\","
			       "\"serverAddress\":\"%s:%u\"}]}",
			       r->srv->listen_host, r->srv->port);
		break;
	case ROUTE_APIS:
		if (agg) {
			put_aggregated(&b, sv, false, agg);
			break;
		}
		k8s_buf_puts(&b, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[");
		{
			const char *groups[32];
			size_t n = served_groups(sv, groups, 32);

			for (size_t i = 0; i < n; i++) {
				k8s_buf_puts(&b, i ? ",{" : "{");
				put_group_fields(&b, sv, groups[i]);
				k8s_buf_putc(&b, '}');
			}
		}
		k8s_buf_puts(&b, "]}");
		break;
	case ROUTE_GROUP:
		k8s_buf_puts(&b, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",");
		put_group_fields(&b, sv, r->rt.group);
		k8s_buf_putc(&b, '}');
		break;
	case ROUTE_GROUP_VERSION:
		put_resource_list(&b, sv, r->rt.group, r->rt.version);
		break;
	default:
		free(svd.v);
		api_error(r, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	free(svd.v);
	api_reply_buf(r, 200, &b);
	if (agg && (r->rt.type == ROUTE_API || r->rt.type == ROUTE_APIS))
		r->ctype = strcmp(agg, "v2") == 0 ? ctype_v2 : ctype_v2b;
}
