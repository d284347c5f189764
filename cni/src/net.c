/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-cni verbs: ADD wires a pod (a veth pair whose container end is created directly in
 * CNI_NETNS as CNI_IFNAME, an IPv4 address from the built-in IPAM or a delegated IPAM
 * plugin, routes), DEL undoes it best effort, CHECK compares the pod with prevResult, GC
 * releases attachments that are no longer valid, STATUS says whether ADD can work.
 *
 * The host side ("drv" + a hash of network, container and interface) carries the gateway
 * address as a /32 with proxy ARP on, and a /32 route to the pod: every pod of the subnet
 * reaches every other through the host, where drover's tc program sits (dataplane.c). No
 * default route is installed unless the configuration's routes ask for one. ADD turns IPv4
 * forwarding on in the namespace it runs in (the node's), as the reference bridge plugin does
 * for a gateway: pods reach each other through it.
 */
#include "cni.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ipam.h"
#include "nl.h"

#define DEFAULT_DATA_DIR "/var/lib/drover/cni"
#define MAX_ROUTES	 32

struct route4 {
	uint32_t dst; /* host byte order */
	int len;
	uint32_t gw; /* 0: the pod's gateway */
};

/* What ADD applies to a pod, from the built-in IPAM or a delegate's result. */
struct pod_ip {
	uint32_t addr, gw;
	int plen;
	struct route4 routes[MAX_ROUTES];
	int nroutes;
	struct jv *dns; /* a delegate's dns, or NULL */
};

void cni_host_ifname(const char *network, const char *id, const char *ifname, char out[16])
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	const char *parts[] = {network, id, ifname};

	for (int i = 0; i < 3; i++)
		for (const char *s = parts[i];; s++) {
			h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
			if (!*s)
				break;
		}
	snprintf(out, 16, "drv%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

int cni_parse_addr(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

static struct in_addr in4(uint32_t a)
{
	return (struct in_addr){.s_addr = htonl(a)};
}

const char *cni_ipam_type(struct cni *c)
{
	const char *t = jv_path_str(c->conf, "ipam.type");

	return t && strcmp(t, "drover") ? t : NULL; /* NULL: the built-in one */
}

/* Built-in IPAM: subnet and state directory from the configuration. */
struct ipam *cni_ipam_open(struct cni *c, int fail_code)
{
	const char *subnet = jv_path_str(c->conf, "ipam.subnet");
	const char *dir = jv_path_str(c->conf, "ipam.dataDir");
	char path[4096], err[512];
	uint32_t net;
	int plen;
	struct ipam *p;

	if (!subnet)
		subnet = jv_path_str(c->conf, "podCIDR");
	if (!subnet) {
		cni_fail(c, CNI_ERR_INVALID_CONFIG,
			 "no pod subnet: the configuration needs ipam.subnet or podCIDR");
		return NULL;
	}
	if (ipam_parse_cidr(subnet, &net, &plen) || plen < 8 || plen > 30) {
		cni_fail(c, CNI_ERR_INVALID_CONFIG,
			 "invalid pod subnet %.64s: want an IPv4 network of /8 to /30 (host bits "
			 "zero)",
			 subnet);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : DEFAULT_DATA_DIR, c->name);
	p = ipam_open(path, net, plen, err, sizeof(err));
	if (!p)
		cni_fail(c, fail_code, "IPAM: %s", err);
	return p;
}

/* Routes from the configuration (ipam.routes, else routes) plus the cluster CIDR. */
static int conf_routes(struct cni *c, struct pod_ip *ip)
{
	struct jv *list = jv_path(c->conf, "ipam.routes");
	const char *cluster = jv_path_str(c->conf, "clusterCIDR");

	if (!list)
		list = jv_get(c->conf, "routes");
	if (cluster) {
		struct route4 *r = &ip->routes[ip->nroutes++];

		if (ipam_parse_cidr(cluster, &r->dst, &r->len))
			return cni_fail(c, CNI_ERR_INVALID_CONFIG, "invalid clusterCIDR %.64s",
					cluster);
		r->gw = 0;
	}
	for (struct jv *e = jv_first(list); e; e = e->next) {
		const char *dst = jv_path_str(e, "dst"), *gw = jv_path_str(e, "gw");
		struct route4 *r;

		if (ip->nroutes == MAX_ROUTES)
			return cni_fail(c, CNI_ERR_INVALID_CONFIG, "more than %d routes",
					MAX_ROUTES);
		r = &ip->routes[ip->nroutes];
		if (!dst || ipam_parse_cidr(dst, &r->dst, &r->len))
			return cni_fail(c, CNI_ERR_INVALID_CONFIG,
					"invalid route dst %.64s: want an IPv4 network",
					dst ? dst : "(none)");
		r->gw = 0;
		if (gw && cni_parse_addr(gw, &r->gw))
			return cni_fail(c, CNI_ERR_INVALID_CONFIG, "invalid route gw %.64s", gw);
		ip->nroutes++;
	}
	return 0;
}

/* A delegate's ADD result: its first IPv4 address, gateway, routes and dns. */
static int ip_from_result(struct cni *c, struct jv *res, struct pod_ip *ip)
{
	struct jv *ips = jv_get(res, "ips");

	for (struct jv *e = jv_first(ips); e; e = e->next) {
		const char *a = jv_path_str(e, "address"), *gw = jv_path_str(e, "gateway");

		if (!a || ipam_parse_prefix(a, &ip->addr, &ip->plen))
			continue; /* IPv6 or malformed: not ours to apply */
		if (gw && cni_parse_addr(gw, &ip->gw))
			return cni_fail(c, CNI_ERR_DELEGATE, "IPAM result: invalid gateway %.64s",
					gw);
		if (!gw)
			ip->gw = (ip->addr & (ip->plen ? ~0u << (32 - ip->plen) : 0)) + 1;
		for (struct jv *r = jv_first(jv_get(res, "routes")); r; r = r->next) {
			const char *dst = jv_path_str(r, "dst"), *rgw = jv_path_str(r, "gw");
			struct route4 *rt = &ip->routes[ip->nroutes];

			if (ip->nroutes == MAX_ROUTES || !dst ||
			    ipam_parse_prefix(dst, &rt->dst, &rt->len) || strchr(dst, ':'))
				continue;
			rt->gw = 0;
			if (rgw && cni_parse_addr(rgw, &rt->gw))
				continue;
			ip->nroutes++;
		}
		ip->dns = jv_get(res, "dns");
		return 0;
	}
	return cni_fail(c, CNI_ERR_DELEGATE, "IPAM plugin returned no IPv4 address");
}

int cni_open_netns(struct cni *c, int *fd)
{
	struct statfs st;

	*fd = open(c->netns, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == ENOENT)
			return cni_fail(c, CNI_ERR_UNKNOWN_CONTAINER,
					"network namespace %.256s does not exist", c->netns);
		return cni_fail(c, CNI_ERR_INVALID_ENV, "open network namespace %.256s: %s",
				c->netns, strerror(errno));
	}
	if (fstatfs(*fd, &st) || st.f_type != NSFS_MAGIC) {
		close(*fd);
		*fd = -1;
		return cni_fail(c, CNI_ERR_INVALID_ENV,
				"CNI_NETNS %.256s is not a network namespace", c->netns);
	}
	return 0;
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* ---------- ADD ---------- */

struct in_pod {
	struct cni *c;
	const struct pod_ip *ip;
	struct nl_link link; /* out: the container interface */
};

/* Inside the pod's netns: the interface up, its address and routes. */
static int pod_side(void *arg)
{
	struct in_pod *p = arg;
	struct cni *c = p->c;
	const struct pod_ip *ip = p->ip;
	struct nl nl;
	int r;

	r = nl_open(&nl);
	if (r)
		return cni_fail(c, CNI_ERR_NETLINK, "netlink in the pod: %s", strerror(-r));
	if ((r = nl_link_by_name(&nl, c->ifname, &p->link))) {
		cni_fail(c, CNI_ERR_NETLINK, "pod interface %s: %s", c->ifname, strerror(-r));
		goto out;
	}
	if ((r = nl_link_set_up(&nl, p->link.ifindex, 1))) {
		cni_fail(c, CNI_ERR_NETLINK, "set %s up: %s", c->ifname, strerror(-r));
		goto out;
	}
	if ((r = nl_addr4_add(&nl, p->link.ifindex, in4(ip->addr), ip->plen))) {
		cni_fail(c, CNI_ERR_NETLINK, "add address to %s: %s", c->ifname, strerror(-r));
		goto out;
	}
	for (int i = 0; i < ip->nroutes; i++) {
		const struct route4 *rt = &ip->routes[i];

		r = nl_route4_add(&nl, in4(rt->dst), rt->len, in4(rt->gw ? rt->gw : ip->gw),
				  p->link.ifindex);
		if (r && r != -EEXIST) {
			char d[16];

			ipam_fmt_addr(rt->dst, d);
			cni_fail(c, CNI_ERR_NETLINK, "add route %s/%d in the pod: %s", d, rt->len,
				 strerror(-r));
			goto out;
		}
		r = 0;
	}
out:
	nl_close(&nl);
	return r ? -1 : 0;
}

static void fmt_mac(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static struct jv *iface_json(struct jv_doc *d, const struct nl_link *l, const char *sandbox,
			     const char *version)
{
	struct jv *o = jv_new(d, JV_OBJECT);
	char mac[18];

	fmt_mac(l->mac, mac);
	jv_set(d, o, "name", jv_new_strz(d, l->name));
	jv_set(d, o, "mac", jv_new_strz(d, mac));
	if (l->mtu && cni_version_cmp(version, "1.1.0") >= 0) /* a 1.1 result field */
		jv_set(d, o, "mtu", jv_new_int(d, l->mtu));
	if (sandbox)
		jv_set(d, o, "sandbox", jv_new_strz(d, sandbox));
	return o;
}

static struct jv *array_at(struct jv_doc *d, struct jv *o, const char *key)
{
	struct jv *a = jv_get(o, key);

	if (!a || a->type != JV_ARRAY) {
		a = jv_new(d, JV_ARRAY);
		jv_set(d, o, key, a);
	}
	return a;
}

/* The result: prevResult (when chained) plus this plugin's interfaces, ip and routes. */
static struct jv *build_result(struct cni *c, const struct nl_link *host, const struct nl_link *pod,
			       const struct pod_ip *ip)
{
	struct jv_doc *d = c->doc;
	struct jv *prev = jv_get(c->conf, "prevResult");
	struct jv *res = prev && prev->type == JV_OBJECT ? jv_copy(d, prev) : jv_new(d, JV_OBJECT);
	struct jv *ifs, *ips, *routes, *o;
	size_t base;
	char a[16], g[16];

	jv_set(d, res, "cniVersion", jv_new_strz(d, c->version)); /* first in a new result */
	ifs = array_at(d, res, "interfaces");
	ips = array_at(d, res, "ips");
	routes = array_at(d, res, "routes");
	base = jv_count(ifs);
	jv_push(ifs, iface_json(d, host, NULL, c->version));
	jv_push(ifs, iface_json(d, pod, c->netns, c->version));
	o = jv_new(d, JV_OBJECT);
	ipam_fmt_addr(ip->addr, a);
	ipam_fmt_addr(ip->gw, g);
	if (cni_version_cmp(c->version, "1.0.0") < 0)
		jv_set(d, o, "version", jv_new_strz(d, "4"));
	jv_set(d, o, "interface", jv_new_int(d, (int64_t)base + 1));
	jv_set(d, o, "address", jv_new_strf(d, "%s/%d", a, ip->plen));
	jv_set(d, o, "gateway", jv_new_strz(d, g));
	jv_push(ips, o);
	for (int i = 0; i < ip->nroutes; i++) {
		o = jv_new(d, JV_OBJECT);
		ipam_fmt_addr(ip->routes[i].dst, a);
		ipam_fmt_addr(ip->routes[i].gw ? ip->routes[i].gw : ip->gw, g);
		jv_set(d, o, "dst", jv_new_strf(d, "%s/%d", a, ip->routes[i].len));
		jv_set(d, o, "gw", jv_new_strz(d, g));
		jv_push(routes, o);
	}
	if (ip->dns && !jv_get(res, "dns"))
		jv_set(d, res, "dns", jv_copy(d, ip->dns));
	else if (jv_get(c->conf, "dns") && !jv_get(res, "dns"))
		jv_set(d, res, "dns", jv_copy(d, jv_get(c->conf, "dns")));
	return res;
}

/* The host side: up, the gateway /32, proxy ARP (answered at once), a /32 route to the pod. */
static int host_side(struct cni *c, struct nl *nl, const char *name, const struct pod_ip *ip,
		     struct nl_link *host)
{
	char path[128];
	int r;

	if ((r = nl_link_by_name(nl, name, host)))
		return cni_fail(c, CNI_ERR_NETLINK, "host interface %s: %s", name, strerror(-r));
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/proxy_arp", name);
	if ((r = write_sysctl(path, "1")))
		return cni_fail(c, CNI_ERR_IO, "write %s: %s", path, strerror(-r));
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/neigh/%s/proxy_delay", name);
	if ((r = write_sysctl(path, "0")))
		return cni_fail(c, CNI_ERR_IO, "write %s: %s", path, strerror(-r));
	if ((r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")))
		return cni_fail(c, CNI_ERR_IO, "enable IPv4 forwarding: %s", strerror(-r));
	if ((r = nl_link_set_up(nl, host->ifindex, 1)))
		return cni_fail(c, CNI_ERR_NETLINK, "set %s up: %s", name, strerror(-r));
	r = nl_addr4_add(nl, host->ifindex, in4(ip->gw), 32);
	if (r && r != -EEXIST)
		return cni_fail(c, CNI_ERR_NETLINK, "add gateway address to %s: %s", name,
				strerror(-r));
	r = nl_route4_add(nl, in4(ip->addr), 32, in4(0), host->ifindex);
	if (r)
		return cni_fail(c, CNI_ERR_NETLINK, "add host route to the pod via %s: %s", name,
				strerror(-r));
	return 0;
}

int cni_add(struct cni *c)
{
	const char *delegate = cni_ipam_type(c);
	struct pod_ip ip = {0};
	struct nl_link host;
	struct in_pod inpod = {.c = c, .ip = &ip};
	struct ipam *ipam = NULL;
	struct jv *dres = NULL;
	char hname[16];
	bool fresh = false, made = false;
	int64_t mtu = 0;
	struct nl nl = {.fd = -1};
	int netns = -1, r;

	if (jv_get(c->conf, "mtu") &&
	    (jv_int(jv_get(c->conf, "mtu"), &mtu) || mtu < 68 || mtu > 65535))
		return cni_fail(c, CNI_ERR_INVALID_CONFIG, "invalid mtu: want 68 to 65535");
	if (cni_dp_conf(c) || cni_open_netns(c, &netns))
		return -1;
	cni_host_ifname(c->name, c->container_id, c->ifname, hname);
	if ((r = nl_open(&nl))) {
		cni_fail(c, CNI_ERR_NETLINK, "netlink: %s", strerror(-r));
		goto fail;
	}
	/* a repeated ADD fails before IPAM: the earlier ADD's address stays its own, also
	 * with a delegate that would hand out a second one */
	if (!nl_link_by_name(&nl, hname, &host)) {
		cni_fail(
		    c, CNI_ERR_INTERFACE_EXISTS,
		    "host interface %s of container %.64s/%s exists already (ADD without DEL?)",
		    hname, c->container_id, c->ifname);
		goto fail;
	}
	if (delegate) {
		if (cni_delegate(c, delegate, "ADD", &dres))
			goto fail;
		if (!dres) {
			cni_fail(c, CNI_ERR_DELEGATE, "IPAM plugin %s printed no result", delegate);
			goto fail;
		}
		fresh = true; /* what the delegate gave is undone by its DEL on failure */
		if (ip_from_result(c, dres, &ip))
			goto fail;
	} else {
		if (conf_routes(c, &ip) || !(ipam = cni_ipam_open(c, CNI_ERR_IO)))
			goto fail;
		r = ipam_alloc(ipam, c->container_id, c->ifname, &ip.addr, &fresh);
		if (r == -ENOSPC) {
			char net[16];

			ipam_fmt_addr(ipam->net, net);
			cni_fail(c, CNI_ERR_IPAM_EXHAUSTED, "no free address in %s/%d", net,
				 ipam->prefixlen);
			goto fail;
		} else if (r) {
			cni_fail(c, CNI_ERR_IO, "IPAM: %s", strerror(-r));
			goto fail;
		}
		ip.gw = ipam_gateway(ipam);
		ip.plen = ipam->prefixlen;
		/* the state is written before the pod is wired: a crash leaks an address
		 * (GC finds it), it never hands one address out twice */
		r = ipam_close(ipam);
		ipam = NULL;
		if (r) {
			cni_fail(c, CNI_ERR_IO, "IPAM: write state: %s", strerror(-r));
			fresh = false;
			goto fail;
		}
	}
	r = nl_veth_add(&nl, hname, c->ifname, netns, (uint32_t)mtu);
	if (r == -EEXIST) {
		struct nl_link l;

		if (!nl_link_by_name(&nl, hname, &l))
			cni_fail(c, CNI_ERR_INTERFACE_EXISTS,
				 "host interface %s of container %.64s/%s exists already "
				 "(ADD without DEL?)",
				 hname, c->container_id, c->ifname);
		else
			cni_fail(c, CNI_ERR_INTERFACE_EXISTS,
				 "container interface %s exists already in %.256s", c->ifname,
				 c->netns);
		goto fail; /* an address the earlier ADD holds is not fresh: it stays */
	} else if (r) {
		cni_fail(c, CNI_ERR_NETLINK, "create veth %s/%s: %s", hname, c->ifname,
			 strerror(-r));
		goto fail;
	}
	made = true;
	if (host_side(c, &nl, hname, &ip, &host))
		goto fail;
	r = nl_in_netns(netns, pod_side, &inpod);
	if (r) {
		if (r != -1)
			cni_fail(c, CNI_ERR_INVALID_ENV, "enter %.256s: %s", c->netns,
				 strerror(-r));
		goto fail;
	}
	{
		struct cni_ep ep = {
		    .addr = ip.addr, .host_ifindex = host.ifindex, .host_name = hname};

		memcpy(ep.host_mac, host.mac, 6);
		memcpy(ep.pod_mac, inpod.link.mac, 6);
		if (cni_dp_add(c, &ep))
			goto fail;
	}
	c->result = build_result(c, &host, &inpod.link, &ip);
	nl_close(&nl);
	close(netns);
	return 0;
fail:
	if (made && !nl_link_by_name(&nl, hname, &host))
		nl_link_del(&nl, host.ifindex); /* takes the pod's end with it */
	if (fresh) {
		struct cni saved = *c;

		if (delegate) {
			struct jv *ignored;

			cni_delegate(c, delegate, "DEL", &ignored);
		} else if ((ipam = cni_ipam_open(c, CNI_ERR_IO))) {
			ipam_release(ipam, c->container_id, c->ifname);
			ipam_close(ipam);
			ipam = NULL;
		}
		*c = saved; /* the error the runtime sees is the first one */
	}
	ipam_abort(ipam);
	nl_close(&nl);
	if (netns >= 0)
		close(netns);
	return -1;
}
