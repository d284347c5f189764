/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_routes: pod-to-pod across nodes by direct routes, as flannel's host-gw backend does:
 * an informer on every Node keeps, in the agent's network namespace, a route to each other
 * node's spec.podCIDR via that node's InternalIP (replaced when either changes, deleted when
 * the node goes or loses them). The nodes must share an L2 segment (a bridge of `drover up`,
 * or a real LAN), and the node must forward IPv4 (net.ipv4.ip_forward=1).
 *
 * The routes carry a routing protocol number of their own (AGENT_ROUTE_PROTO), so the agent
 * finds its own routes again: at start, those the informer's first list does not want (a node
 * deleted while the agent was down) are removed. A resync re-applies every route, which also
 * repairs one deleted by hand. One netlink socket, used only on the informer's thread (and
 * before it starts).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "informer.h"
#include "nl.h"

#define AGENT_ROUTE_PROTO 0xd7 /* not one of /etc/iproute2/rt_protos' */
#define RESYNC_S	  30

struct node_route {
	char node[256];
	struct in_addr dst, gw;
	int len;
};

struct agent_routes {
	struct agent *a;
	struct kc_informer *inf;
	struct nl nl;
	bool nl_open;
	struct node_route *v;
	size_t n, cap;
};

static struct node_route *find(struct agent_routes *r, const char *node)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].node, node))
			return &r->v[i];
	return NULL;
}

static void drop(struct agent_routes *r, const char *node)
{
	struct node_route *e = find(r, node);
	char dst[INET_ADDRSTRLEN];
	int err;

	if (!e)
		return;
	err = nl_route4_del(&r->nl, e->dst, e->len);
	inet_ntop(AF_INET, &e->dst, dst, sizeof(dst));
	if (err && err != -ESRCH)
		log_warn(AGENT_COMP, "route to node %s (%s/%d): delete: %s", node, dst, e->len,
			 strerror(-err));
	else
		log_info(AGENT_COMP, "route to node %s (%s/%d) removed", node, dst, e->len);
	*e = r->v[--r->n];
}

/* A Node's podCIDR and InternalIP; false when it has not both (yet). */
static bool node_target(const struct jv *node, struct in_addr *dst, int *len, struct in_addr *gw)
{
	const char *cidr = jv_path_str(node, "spec.podCIDR"), *slash;
	char net[INET_ADDRSTRLEN];
	char *end;
	long l;
	bool have_gw = false;

	if (!cidr || !(slash = strchr(cidr, '/')) || (size_t)(slash - cidr) >= sizeof(net))
		return false;
	snprintf(net, sizeof(net), "%.*s", (int)(slash - cidr), cidr);
	l = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || l < 0 || l > 32 || inet_pton(AF_INET, net, dst) != 1)
		return false;
	*len = (int)l;
	for (const struct jv *a = jv_first(jv_path(node, "status.addresses")); a; a = a->next) {
		const char *type = jv_path_str(a, "type"), *addr = jv_path_str(a, "address");

		if (type && addr && !strcmp(type, "InternalIP") &&
		    inet_pton(AF_INET, addr, gw) == 1) {
			have_gw = true;
			break;
		}
	}
	return have_gw;
}

static void apply(struct agent_routes *r, const struct jv *node)
{
	const char *name = jv_path_str(node, "metadata.name");
	struct node_route want = {0}, *e;
	char dst[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	int err;

	if (!name || !strcmp(name, r->a->cfg->node) || strlen(name) >= sizeof(want.node))
		return;
	if (!node_target(node, &want.dst, &want.len, &want.gw)) {
		drop(r, name);
		return;
	}
	snprintf(want.node, sizeof(want.node), "%s", name);
	e = find(r, name);
	if (e && (e->dst.s_addr != want.dst.s_addr || e->len != want.len))
		drop(r, name); /* a new podCIDR: the old route goes */
	inet_ntop(AF_INET, &want.dst, dst, sizeof(dst));
	inet_ntop(AF_INET, &want.gw, gw, sizeof(gw));
	err = nl_route4_set(&r->nl, want.dst, want.len, want.gw, 0, AGENT_ROUTE_PROTO);
	if (err) {
		/* kept out of the table: the next resync tries again */
		log_warn(AGENT_COMP, "route to node %s (%s/%d via %s): %s", name, dst, want.len, gw,
			 strerror(-err));
		drop(r, name);
		return;
	}
	if ((e = find(r, name))) {
		if (e->gw.s_addr != want.gw.s_addr)
			log_info(AGENT_COMP, "route to node %s: %s/%d now via %s", name, dst,
				 want.len, gw);
		*e = want;
		return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct node_route *nv = realloc(r->v, cap * sizeof(*nv));

		if (!nv) {
			log_warn(AGENT_COMP, "route to node %s: out of memory", name);
			return;
		}
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n++] = want;
	log_info(AGENT_COMP, "route to node %s: %s/%d via %s", name, dst, want.len, gw);
}

static void on_add(void *arg, const struct kc_obj *o, const struct jv *tree)
{
	(void)o;
	apply(arg, tree);
}

static void on_update(void *arg, const struct kc_obj *old, const struct jv *old_tree,
		      const struct kc_obj *cur, const struct jv *cur_tree)
{
	(void)old;
	(void)old_tree;
	(void)cur;
	apply(arg, cur_tree);
}

static void on_del(void *arg, const struct kc_obj *o, const struct jv *tree)
{
	const char *name = jv_path_str(tree, "metadata.name");

	(void)o;
	if (name)
		drop(arg, name);
}

/* Before the informer starts: routes of ours left by an earlier run. The informer's first
 * list puts back those still wanted, so a stale one (a node deleted while we were down)
 * cannot outlive the restart. */
static int flush_one(struct in_addr dst, int dst_len, struct in_addr gw, void *arg)
{
	struct agent_routes *r = arg;
	int err = nl_route4_del(&r->nl, dst, dst_len);

	(void)gw;
	return err == -ESRCH ? 0 : err;
}

int agent_routes_start(struct agent *a)
{
	struct agent_routes *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->a = a;
	a->routes = r;
	rc = nl_open(&r->nl);
	if (rc)
		return rc;
	r->nl_open = true;
	rc = nl_route4_list(&r->nl, AGENT_ROUTE_PROTO, flush_one, r);
	if (rc)
		return rc;
	r->inf = kc_informer_new(a->kc, &(struct kc_informer_opts){
					    .kind = a->k_node,
					    .resync_s = RESYNC_S,
					});
	if (!r->inf)
		return -ENOMEM;
	rc = kc_informer_add_handlers(r->inf, &(struct kc_handlers){
						  .add = on_add,
						  .update = on_update,
						  .del = on_del,
						  .arg = r,
					      });
	return rc ? rc : kc_informer_start(r->inf);
}

void agent_routes_stop(struct agent *a)
{
	struct agent_routes *r = a->routes;

	if (!r)
		return;
	/* the routes stay: pods keep running after the agent stops, and reach the others */
	kc_informer_free(r->inf);
	if (r->nl_open)
		nl_close(&r->nl);
	free(r->v);
	free(r);
	a->routes = NULL;
}
