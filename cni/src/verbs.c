/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-cni DEL, CHECK, GC and STATUS (ADD is in net.c). DEL is idempotent and best
 * effort: a container, netns, address or link that is already gone is not an error.
 */
#include "cni.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipam.h"
#include "nl.h"

/* The ifindex of the host side of (network, id, ifname), or 0 when it does not exist. */
static int host_link_index(struct nl *nl, const char *network, const char *id, const char *ifname)
{
	struct nl_link l;
	char name[16];

	cni_host_ifname(network, id, ifname, name);
	return nl_link_by_name(nl, name, &l) ? 0 : l.ifindex;
}

/* Delete the host side of (network, id, ifname) if present: 0, or -errno. */
static int del_host_link(struct nl *nl, const char *network, const char *id, const char *ifname)
{
	struct nl_link l;
	char name[16];
	int r;

	cni_host_ifname(network, id, ifname, name);
	r = nl_link_by_name(nl, name, &l);
	if (r == -ENODEV)
		return 0;
	if (!r)
		r = nl_link_del(nl, l.ifindex);
	return r == -ENODEV ? 0 : r;
}

int cni_del(struct cni *c)
{
	const char *delegate = cni_ipam_type(c);
	struct ipam *p = NULL;
	uint32_t addr = 0;
	struct nl nl;
	int r, host;

	/* the dataplane's entry first (by the address IPAM holds and by the host side's
	 * ifindex), then the link: a pod without its address is harmless, an address handed
	 * out again while the old pod still has it is not */
	if (!delegate) {
		if (!(p = cni_ipam_open(c, CNI_ERR_IO)))
			return -1;
		if (ipam_lookup(p, c->container_id, c->ifname, &addr))
			addr = 0;
	}
	if ((r = nl_open(&nl))) {
		ipam_abort(p);
		return cni_fail(c, CNI_ERR_NETLINK, "netlink: %s", strerror(-r));
	}
	host = host_link_index(&nl, c->name, c->container_id, c->ifname);
	if (cni_dp_del(c, host, addr)) {
		nl_close(&nl);
		ipam_abort(p);
		return -1;
	}
	r = del_host_link(&nl, c->name, c->container_id, c->ifname);
	nl_close(&nl);
	if (r) {
		ipam_abort(p);
		return cni_fail(c, CNI_ERR_NETLINK, "delete the host interface: %s", strerror(-r));
	}
	if (delegate) {
		struct jv *ignored;

		return cni_delegate(c, delegate, "DEL", &ignored);
	}
	ipam_release(p, c->container_id, c->ifname);
	if ((r = ipam_close(p)))
		return cni_fail(c, CNI_ERR_IO, "IPAM: write state: %s", strerror(-r));
	return 0;
}

/* ---------- CHECK ---------- */

struct check_pod {
	struct cni *c;
	struct jv *iface; /* the prevResult interface in the sandbox */
	int index;	  /* its index in prevResult.interfaces */
	struct jv *ips;
	uint8_t mac[6]; /* out: the interface's MAC */
	uint32_t addr;	/* out: its first IPv4 address of prevResult (host order), or 0 */
};

static int check_in_pod(void *arg)
{
	struct check_pod *p = arg;
	struct cni *c = p->c;
	const char *mac = jv_path_str(p->iface, "mac");
	struct nl_link l;
	struct nl nl;
	char have[18];
	int r;

	if ((r = nl_open(&nl)))
		return cni_fail(c, CNI_ERR_NETLINK, "netlink in the pod: %s", strerror(-r));
	r = nl_link_by_name(&nl, c->ifname, &l);
	if (r) {
		cni_fail(c, CNI_ERR_CHECK, "interface %s in %.256s: %s", c->ifname, c->netns,
			 strerror(-r));
		goto out;
	}
	memcpy(p->mac, l.mac, 6);
	snprintf(have, sizeof(have), "%02x:%02x:%02x:%02x:%02x:%02x", l.mac[0], l.mac[1], l.mac[2],
		 l.mac[3], l.mac[4], l.mac[5]);
	if (mac && strcasecmp(mac, have)) {
		r = cni_fail(c, CNI_ERR_CHECK, "interface %s has mac %s, prevResult says %.32s",
			     c->ifname, have, mac);
		goto out;
	}
	if (!(l.flags & 1 /* IFF_UP */)) {
		r = cni_fail(c, CNI_ERR_CHECK, "interface %s is down", c->ifname);
		goto out;
	}
	for (struct jv *e = jv_first(p->ips); e; e = e->next) {
		const char *a = jv_path_str(e, "address");
		int64_t idx;
		uint32_t addr;
		int plen;

		if (jv_int(jv_get(e, "interface"), &idx) || idx != p->index || !a || strchr(a, ':'))
			continue;
		if (ipam_parse_prefix(a, &addr, &plen)) {
			r = cni_fail(c, CNI_ERR_DECODE, "prevResult: invalid address %.64s", a);
			goto out;
		}
		r = nl_addr4_has(&nl, l.ifindex, (struct in_addr){.s_addr = htonl(addr)}, plen);
		if (r != 1) {
			r = cni_fail(c, CNI_ERR_CHECK, "interface %s lacks address %.64s",
				     c->ifname, a);
			goto out;
		}
		if (!p->addr)
			p->addr = addr;
		r = 0;
	}
out:
	nl_close(&nl);
	return r ? -1 : 0;
}

int cni_check(struct cni *c)
{
	struct jv *prev = jv_get(c->conf, "prevResult");
	const char *delegate = cni_ipam_type(c);
	struct check_pod cp = {.c = c};
	struct nl_link host;
	char hname[16];
	struct nl nl;
	int netns, i = 0, r;

	if (!prev || prev->type != JV_OBJECT)
		return cni_fail(c, CNI_ERR_INVALID_CONFIG, "CHECK needs prevResult");
	for (struct jv *e = jv_first(jv_get(prev, "interfaces")); e; e = e->next, i++)
		if (jv_is_str(jv_get(e, "name"), c->ifname) &&
		    jv_is_str(jv_get(e, "sandbox"), c->netns)) {
			cp.iface = e;
			cp.index = i;
		}
	if (!cp.iface)
		return cni_fail(c, CNI_ERR_CHECK,
				"prevResult has no interface %s in sandbox %.256s", c->ifname,
				c->netns);
	cp.ips = jv_get(prev, "ips");
	if (cni_open_netns(c, &netns))
		return -1;
	r = nl_in_netns(netns, check_in_pod, &cp);
	close(netns);
	if (r) {
		if (r != -1)
			cni_fail(c, CNI_ERR_INVALID_ENV, "enter %.256s: %s", c->netns,
				 strerror(-r));
		return -1;
	}
	cni_host_ifname(c->name, c->container_id, c->ifname, hname);
	if ((r = nl_open(&nl)))
		return cni_fail(c, CNI_ERR_NETLINK, "netlink: %s", strerror(-r));
	r = nl_link_by_name(&nl, hname, &host);
	nl_close(&nl);
	if (r)
		return cni_fail(c, CNI_ERR_CHECK, "host interface %s: %s", hname, strerror(-r));
	if (!(host.flags & 1 /* IFF_UP */))
		return cni_fail(c, CNI_ERR_CHECK, "host interface %s is down", hname);
	if (cp.addr) {
		struct cni_ep ep = {
		    .addr = cp.addr, .host_ifindex = host.ifindex, .host_name = hname};

		memcpy(ep.host_mac, host.mac, 6);
		memcpy(ep.pod_mac, cp.mac, 6);
		if (cni_dp_check(c, &ep))
			return -1;
	}
	if (delegate) {
		struct jv *ignored;

		return cni_delegate(c, delegate, "CHECK", &ignored);
	}
	struct ipam *p = cni_ipam_open(c, CNI_ERR_IO);
	uint32_t addr;

	if (!p)
		return -1;
	r = ipam_lookup(p, c->container_id, c->ifname, &addr);
	ipam_abort(p);
	if (r)
		return cni_fail(c, CNI_ERR_CHECK, "IPAM holds no address for %.64s/%s",
				c->container_id, c->ifname);
	return 0;
}

/* ---------- GC and STATUS ---------- */

static bool attachment_valid(struct jv *valid, const char *id, const char *ifname)
{
	for (struct jv *e = jv_first(valid); e; e = e->next)
		if (jv_is_str(jv_get(e, "containerID"), id) &&
		    jv_is_str(jv_get(e, "ifname"), ifname))
			return true;
	return false;
}

int cni_gc(struct cni *c)
{
	struct jv *valid = jv_get(c->conf, "cni.dev/valid-attachments");
	const char *delegate = cni_ipam_type(c);
	struct ipam *p;
	struct nl nl;
	uint32_t released[1024];
	size_t nreleased = 0;
	int r, failed = 0;

	if (!valid || valid->type != JV_ARRAY)
		return cni_fail(c, CNI_ERR_INVALID_CONFIG,
				"GC needs cni.dev/valid-attachments (an array)");
	if (delegate) {
		struct jv *ignored;

		if (cni_dp_gc(c, NULL, 0))
			return -1;
		return cni_delegate(c, delegate, "GC", &ignored);
	}
	if ((r = nl_open(&nl)))
		return cni_fail(c, CNI_ERR_NETLINK, "netlink: %s", strerror(-r));
	p = cni_ipam_open(c, CNI_ERR_IO);
	if (!p) {
		nl_close(&nl);
		return -1;
	}
	/* GC goes on past an error (the spec's "continue past errors"); the address of an
	 * attachment whose link could not be deleted is kept for the next GC */
	for (size_t i = p->n; i-- > 0;) {
		struct ipam_entry *e = &p->e[i];

		if (attachment_valid(valid, e->id, e->ifname))
			continue;
		r = del_host_link(&nl, c->name, e->id, e->ifname);
		if (r) {
			if (!failed++)
				cni_fail(c, CNI_ERR_NETLINK,
					 "GC: delete the host interface of %.64s/%s: %s", e->id,
					 e->ifname, strerror(-r));
			continue;
		}
		if (nreleased < sizeof(released) / sizeof(released[0]))
			released[nreleased++] = e->addr;
		ipam_release_at(p, i);
	}
	nl_close(&nl);
	/* the dataplane entries of what was released (and of host sides gone otherwise: a
	 * release beyond the array is found that way too, its link is gone) */
	{
		struct cni saved = *c;

		if (cni_dp_gc(c, released, nreleased) && failed++)
			*c = saved; /* the first error is the one reported */
	}
	if ((r = ipam_close(p)))
		return cni_fail(c, CNI_ERR_IO, "IPAM: write state: %s", strerror(-r));
	return failed ? -1 : 0;
}

int cni_status(struct cni *c)
{
	const char *delegate = cni_ipam_type(c);
	struct ipam *p;
	size_t nfree;

	if (delegate) {
		struct jv *ignored;

		return cni_delegate(c, delegate, "STATUS", &ignored);
	}
	p = cni_ipam_open(c, CNI_ERR_NOT_AVAILABLE);
	if (!p)
		return -1;
	nfree = ipam_free_count(p);
	ipam_abort(p);
	if (!nfree)
		return cni_fail(c, CNI_ERR_NOT_AVAILABLE, "IPAM: no free address left");
	return 0;
}
