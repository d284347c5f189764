/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route: a request path to what it names: discovery and OpenAPI documents, health checks, or
 * a resource (/api/v1/namespaces/<ns>/<resource>/<name>/<subresource> and the cluster-scoped
 * and all-namespaces forms, /apis/<group>/<version>/...), and lookups over the served
 * resources table.
 */
#include <string.h>

#include "api_http.h"

/* The generated table's resources and the custom ones the registry serves now. */
static bool group_version_served(struct api_route *rt, const char *group, const char *version)
{
	return reg_group_version_served(rt->reg, group, version);
}

/* The OpenAPI documents describe the generated table's resources and the custom ones. */
static bool openapi_served(struct api_route *rt, const char *group, const char *version)
{
	return reg_group_version_served(rt->reg, group, version);
}

#define MAX_SEGS 12

static size_t split(char *p, char **segs)
{
	size_t n = 0;

	while (*p) {
		while (*p == '/')
			*p++ = 0;
		if (!*p)
			break;
		if (n == MAX_SEGS)
			return MAX_SEGS + 1;
		segs[n++] = p;
		while (*p && *p != '/')
			p++;
	}
	return n;
}

/* segs after /api/v1 or /apis/<g>/<v> */
static void route_resource(struct api_route *rt, char **segs, size_t n)
{
	const struct api_resource *res;

	if (n && strcmp(segs[0], "watch") == 0) {
		rt->watch_path = true;
		segs++;
		n--;
	}
	if (n == 0)
		return;
	/* /namespaces/<ns>/<resource>/... unless it is the namespace's own subresource */
	if (strcmp(segs[0], "namespaces") == 0 && n >= 3 && rt->group[0] == 0 &&
	    (strcmp(segs[2], "status") == 0 || strcmp(segs[2], "finalize") == 0) && n == 3) {
		rt->res = reg_resource_find(rt->reg, "", rt->version, "namespaces");
		rt->name = segs[1];
		rt->sub = segs[2];
		rt->type = rt->res ? ROUTE_RESOURCE : ROUTE_NOT_FOUND;
		return;
	}
	if (strcmp(segs[0], "namespaces") == 0 && n >= 3) {
		rt->ns = segs[1];
		segs += 2;
		n -= 2;
		res = reg_resource_find(rt->reg, rt->group, rt->version, segs[0]);
		if (!res || !api_resource_namespaced(res) || n > 3) {
			rt->unknown = res ? NULL : segs[0];
			return;
		}
	} else {
		res = reg_resource_find(rt->reg, rt->group, rt->version, segs[0]);
		/* {resource}/{name}/proxy/{path:*}: the rest is the proxied path (nodes) */
		if (res && n > 3 && strcmp(segs[2], "proxy") == 0 &&
		    !api_resource_namespaced(res)) {
			for (size_t i = 4; i < n; i++)
				segs[i][-1] = '/'; /* split's NULs back to slashes */
			rt->proxy_path = segs[3];
			n = 3;
		}
		if (!res || n > 3) {
			rt->unknown = res ? NULL : segs[0];
			return;
		}
		/* a namespaced object needs its namespace in the path */
		if (api_resource_namespaced(res) && n > 1)
			return;
	}
	rt->res = res;
	rt->name = n > 1 ? segs[1] : NULL;
	rt->sub = n > 2 ? segs[2] : NULL;
	rt->type = ROUTE_RESOURCE;
}

void api_route(struct api_req *r)
{
	struct api_route *rt = &r->rt;
	char *segs[MAX_SEGS + 1];
	size_t n = split(r->url, segs);

	memset(rt, 0, sizeof(*rt));
	rt->reg = r->srv->reg;
	rt->type = ROUTE_NOT_FOUND;
	if (n > MAX_SEGS)
		return;
	if (n == 1 && strcmp(segs[0], "version") == 0) {
		rt->type = ROUTE_VERSION;
	} else if (n >= 1 && (strcmp(segs[0], "healthz") == 0 || strcmp(segs[0], "livez") == 0 ||
			      strcmp(segs[0], "readyz") == 0)) {
		rt->type = ROUTE_HEALTH;
	} else if (n == 1 && strcmp(segs[0], "metrics") == 0) {
		rt->type = ROUTE_METRICS;
	} else if (n >= 2 && strcmp(segs[0], "openapi") == 0) {
		if (n == 2 && strcmp(segs[1], "v2") == 0) {
			rt->type = ROUTE_OPENAPI_V2;
		} else if (n == 2 && strcmp(segs[1], "v3") == 0) {
			rt->type = ROUTE_OPENAPI_V3;
		} else if (n == 4 && strcmp(segs[1], "v3") == 0 && strcmp(segs[2], "api") == 0 &&
			   openapi_served(rt, "", segs[3])) {
			rt->type = ROUTE_OPENAPI_V3_GV;
			rt->group = "";
			rt->version = segs[3];
		} else if (n == 5 && strcmp(segs[1], "v3") == 0 && strcmp(segs[2], "apis") == 0 &&
			   openapi_served(rt, segs[3], segs[4])) {
			rt->type = ROUTE_OPENAPI_V3_GV;
			rt->group = segs[3];
			rt->version = segs[4];
		}
	} else if (n >= 1 && strcmp(segs[0], "api") == 0) {
		if (n == 1) {
			rt->type = ROUTE_API;
		} else if (group_version_served(rt, "", segs[1])) {
			rt->group = "";
			rt->version = segs[1];
			if (n == 2)
				rt->type = ROUTE_GROUP_VERSION;
			else
				route_resource(rt, segs + 2, n - 2);
		}
	} else if (n >= 1 && strcmp(segs[0], "apis") == 0) {
		if (n == 1) {
			rt->type = ROUTE_APIS;
		} else if (segs[1][0] &&
			   group_version_served(rt, segs[1], n > 2 ? segs[2] : NULL)) {
			rt->group = segs[1];
			rt->version = n > 2 ? segs[2] : NULL;
			if (n == 2)
				rt->type = ROUTE_GROUP;
			else if (n == 3)
				rt->type = ROUTE_GROUP_VERSION;
			else
				route_resource(rt, segs + 3, n - 3);
		}
	}
}
