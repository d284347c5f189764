/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nl: rtnetlink requests built by hand over the kernel ABI (see nl.h). A request is one
 * message in a fixed buffer; attributes are appended with nla_put/nla_nest; the reply is
 * read until the kernel's ACK (NLMSG_ERROR with error 0) or error, or, for a dump, until
 * NLMSG_DONE.
 */
#include "nl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NL_BUFSZ 4096

struct nl_req {
	union {
		struct nlmsghdr h;
		char buf[NL_BUFSZ];
	};
};

int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int one = 1;

	nl->seq = 0;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	/* extended ACKs give better messages on some kernels; their absence is harmless */
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(nl->fd);
		nl->fd = -1;
		return err;
	}
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl && nl->fd >= 0) {
		close(nl->fd);
		nl->fd = -1;
	}
}

static void *req_init(struct nl_req *r, uint16_t type, uint16_t flags, size_t hdrlen)
{
	memset(r->buf, 0, NLMSG_SPACE(hdrlen));
	r->h.nlmsg_len = NLMSG_LENGTH(hdrlen);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&r->h);
}

/* Append an attribute; false when the buffer is full (a programming error: requests here
 * are small and fixed in shape). */
static struct rtattr *nla_put(struct nl_req *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->h.nlmsg_len);
	struct rtattr *a = (struct rtattr *)(r->buf + off);

	if (off + RTA_SPACE(len) > sizeof(r->buf))
		return NULL;
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = off + RTA_ALIGN(a->rta_len);
	return a;
}

static struct rtattr *nla_put_str(struct nl_req *r, uint16_t type, const char *s)
{
	return nla_put(r, type, s, strlen(s) + 1);
}

static struct rtattr *nla_nest(struct nl_req *r, uint16_t type)
{
	return nla_put(r, type, NULL, 0);
}

static void nla_nest_end(struct nl_req *r, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)(r->buf + r->h.nlmsg_len - (char *)nest);
}

/* Send a request and read replies (dump is explicit: NLM_F_DUMP's bits are NLM_F_EXCL's and
 * NLM_F_REPLACE's in a NEW request). For a dump, cb is called on every message until
 * NLMSG_DONE; otherwise the kernel's ACK gives the result. 0 or -errno. */
static int nl_talk_dump(struct nl *nl, struct nl_req *r, bool dump,
			int (*cb)(struct nlmsghdr *h, void *arg), void *arg)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	char buf[32768];
	int ret = 0;

	/* a request that is not a dump always asks for the ACK, which ends its replies */
	r->h.nlmsg_seq = ++nl->seq;
	if (!dump)
		r->h.nlmsg_flags |= NLM_F_ACK;
	if (sendto(nl->fd, r->buf, r->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue; /* a late reply to an earlier request */
			if (h->nlmsg_type == NLMSG_DONE)
				return ret;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : ret;
			}
			if (cb && !ret)
				ret = cb(h, arg);
		}
	}
}

static int nl_talk(struct nl *nl, struct nl_req *r, int (*cb)(struct nlmsghdr *h, void *arg),
		   void *arg)
{
	return nl_talk_dump(nl, r, false, cb, arg);
}

int nl_veth_add(struct nl *nl, const char *name, const char *peer, int peer_netns_fd, uint32_t mtu)
{
	struct nl_req r;
	struct rtattr *li, *data, *pe;
	struct ifinfomsg *pifi;

	if (strlen(name) >= IF_NAMESIZE || strlen(peer) >= IF_NAMESIZE)
		return -ENAMETOOLONG;
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	nla_put_str(&r, IFLA_IFNAME, name);
	if (mtu)
		nla_put(&r, IFLA_MTU, &mtu, sizeof(mtu));
	li = nla_nest(&r, IFLA_LINKINFO);
	nla_put_str(&r, IFLA_INFO_KIND, "veth");
	data = nla_nest(&r, IFLA_INFO_DATA);
	pe = nla_nest(&r, VETH_INFO_PEER);
	/* the peer's attributes follow its own struct ifinfomsg */
	pifi = (struct ifinfomsg *)(r.buf + r.h.nlmsg_len);
	memset(pifi, 0, sizeof(*pifi));
	r.h.nlmsg_len += NLMSG_ALIGN(sizeof(*pifi));
	nla_put_str(&r, IFLA_IFNAME, peer);
	if (mtu)
		nla_put(&r, IFLA_MTU, &mtu, sizeof(mtu));
	if (peer_netns_fd >= 0) {
		uint32_t fd = (uint32_t)peer_netns_fd;

		nla_put(&r, IFLA_NET_NS_FD, &fd, sizeof(fd));
	}
	nla_nest_end(&r, pe);
	nla_nest_end(&r, data);
	nla_nest_end(&r, li);
	return nl_talk(nl, &r, NULL, NULL);
}

int nl_link_set_up(struct nl *nl, int ifindex, int up)
{
	struct nl_req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return nl_talk(nl, &r, NULL, NULL);
}

int nl_link_del(struct nl *nl, int ifindex)
{
	struct nl_req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_DELLINK, 0, sizeof(*ifi));

	ifi->ifi_index = ifindex;
	return nl_talk(nl, &r, NULL, NULL);
}

static int link_parse(struct nlmsghdr *h, void *arg)
{
	struct nl_link *out = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)IFLA_PAYLOAD(h);

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case IFLA_IFNAME:
			snprintf(out->name, sizeof(out->name), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
			break;
		case IFLA_ADDRESS:
			if (RTA_PAYLOAD(a) == sizeof(out->mac))
				memcpy(out->mac, RTA_DATA(a), sizeof(out->mac));
			break;
		case IFLA_MTU:
			if (RTA_PAYLOAD(a) == sizeof(uint32_t))
				memcpy(&out->mtu, RTA_DATA(a), sizeof(uint32_t));
			break;
		}
	}
	return 0;
}

static int link_get(struct nl *nl, int ifindex, const char *name, struct nl_link *out)
{
	struct nl_req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_GETLINK, 0, sizeof(*ifi));
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;
	int err;

	ifi->ifi_index = ifindex;
	if (name) {
		if (strlen(name) >= IF_NAMESIZE)
			return -ENODEV;
		nla_put_str(&r, IFLA_IFNAME, name);
	}
	nla_put(&r, IFLA_EXT_MASK, &mask, sizeof(mask));
	out->ifindex = 0;
	/* a GET answers with the link, then (having NLM_F_ACK) an ACK or error */
	err = nl_talk(nl, &r, link_parse, out);
	if (!err && !out->ifindex)
		err = -ENODEV;
	return err;
}

int nl_link_by_name(struct nl *nl, const char *name, struct nl_link *out)
{
	return link_get(nl, 0, name, out);
}

int nl_link_by_index(struct nl *nl, int ifindex, struct nl_link *out)
{
	return link_get(nl, ifindex, NULL, out);
}

int nl_addr4_add(struct nl *nl, int ifindex, struct in_addr addr, int prefixlen)
{
	struct nl_req r;
	struct ifaddrmsg *ifa = req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));

	if (prefixlen < 0 || prefixlen > 32)
		return -EINVAL;
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_index = (unsigned)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	nla_put(&r, IFA_LOCAL, &addr, sizeof(addr));
	nla_put(&r, IFA_ADDRESS, &addr, sizeof(addr));
	return nl_talk(nl, &r, NULL, NULL);
}

struct addr_find {
	int ifindex;
	struct in_addr addr;
	int prefixlen;
	int found;
};

static int addr_match(struct nlmsghdr *h, void *arg)
{
	struct addr_find *f = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int len = (int)IFA_PAYLOAD(h);

	if (h->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
	    (int)ifa->ifa_index != f->ifindex || ifa->ifa_prefixlen != f->prefixlen)
		return 0;
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == sizeof(struct in_addr) &&
		    !memcmp(RTA_DATA(a), &f->addr, sizeof(f->addr)))
			f->found = 1;
	return 0;
}

int nl_addr4_has(struct nl *nl, int ifindex, struct in_addr addr, int prefixlen)
{
	struct nl_req r;
	struct ifaddrmsg *ifa = req_init(&r, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa));
	struct addr_find f = {.ifindex = ifindex, .addr = addr, .prefixlen = prefixlen};
	int err;

	ifa->ifa_family = AF_INET;
	err = nl_talk_dump(nl, &r, true, addr_match, &f);
	return err ? err : f.found;
}

static int route4_req(struct nl *nl, uint16_t type, uint16_t flags, struct in_addr dst, int dst_len,
		      struct in_addr gw, int ifindex, unsigned char proto);

int nl_route4_add(struct nl *nl, struct in_addr dst, int dst_len, struct in_addr gw, int ifindex)
{
	return route4_req(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, dst, dst_len, gw, ifindex,
			  RTPROT_BOOT);
}

int nl_in_netns(int netns_fd, int (*fn)(void *arg), void *arg)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int ret;

	if (self < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET)) {
		ret = -errno;
		close(self);
		return ret;
	}
	ret = fn(arg);
	if (setns(self, CLONE_NEWNET)) {
		fprintf(stderr,
			"nl_in_netns: cannot return to the original network namespace: %s\n",
			strerror(errno));
		abort();
	}
	close(self);
	return ret;
}

static int route4_req(struct nl *nl, uint16_t type, uint16_t flags, struct in_addr dst, int dst_len,
		      struct in_addr gw, int ifindex, unsigned char proto)
{
	struct nl_req r;
	struct rtmsg *rt = req_init(&r, type, flags, sizeof(*rt));
	uint32_t oif = (uint32_t)ifindex;

	if (dst_len < 0 || dst_len > 32)
		return -EINVAL;
	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = (unsigned char)dst_len;
	rt->rtm_table = RT_TABLE_MAIN;
	if (type == RTM_NEWROUTE) {
		rt->rtm_protocol = proto;
		rt->rtm_type = RTN_UNICAST;
		rt->rtm_scope = gw.s_addr ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	} else {
		rt->rtm_scope = RT_SCOPE_NOWHERE; /* a delete matches any scope */
	}
	if (dst_len)
		nla_put(&r, RTA_DST, &dst, sizeof(dst));
	if (gw.s_addr)
		nla_put(&r, RTA_GATEWAY, &gw, sizeof(gw));
	if (ifindex)
		nla_put(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(nl, &r, NULL, NULL);
}

int nl_route4_set(struct nl *nl, struct in_addr dst, int dst_len, struct in_addr gw, int ifindex,
		  unsigned char proto)
{
	return route4_req(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst, dst_len, gw, ifindex,
			  proto);
}

int nl_route4_del(struct nl *nl, struct in_addr dst, int dst_len)
{
	return route4_req(nl, RTM_DELROUTE, 0, dst, dst_len, (struct in_addr){0}, 0, 0);
}

struct route_dump {
	unsigned char proto;
	struct {
		struct in_addr dst, gw;
		int len;
	} * v;
	size_t n, cap;
	int err;
};

static int route_collect(struct nlmsghdr *h, void *arg)
{
	struct route_dump *d = arg;
	struct rtmsg *rt = NLMSG_DATA(h);
	int len = (int)RTM_PAYLOAD(h);
	struct in_addr dst = {0}, gw = {0};
	uint32_t table = rt->rtm_table;

	if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET ||
	    rt->rtm_protocol != d->proto)
		return 0;
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == sizeof(dst))
			memcpy(&dst, RTA_DATA(a), sizeof(dst));
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == sizeof(gw))
			memcpy(&gw, RTA_DATA(a), sizeof(gw));
		else if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) == sizeof(table))
			memcpy(&table, RTA_DATA(a), sizeof(table));
	}
	if (table != RT_TABLE_MAIN)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *nv = realloc(d->v, cap * sizeof(*d->v));

		if (!nv) {
			d->err = -ENOMEM;
			return 0;
		}
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n].dst = dst;
	d->v[d->n].gw = gw;
	d->v[d->n].len = rt->rtm_dst_len;
	d->n++;
	return 0;
}

int nl_route4_list(struct nl *nl, unsigned char proto,
		   int (*fn)(struct in_addr dst, int dst_len, struct in_addr gw, void *arg),
		   void *arg)
{
	struct nl_req r;
	struct rtmsg *rt = req_init(&r, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rt));
	struct route_dump d = {.proto = proto};
	int err;

	rt->rtm_family = AF_INET;
	err = nl_talk_dump(nl, &r, true, route_collect, &d);
	if (!err)
		err = d.err;
	for (size_t i = 0; !err && i < d.n; i++)
		err = fn(d.v[i].dst, d.v[i].len, d.v[i].gw, arg);
	free(d.v);
	return err;
}

int nl_bridge_add(struct nl *nl, const char *name)
{
	struct nl_req r;
	struct rtattr *li;

	if (strlen(name) >= IF_NAMESIZE)
		return -ENAMETOOLONG;
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	nla_put_str(&r, IFLA_IFNAME, name);
	li = nla_nest(&r, IFLA_LINKINFO);
	nla_put_str(&r, IFLA_INFO_KIND, "bridge");
	nla_nest_end(&r, li);
	return nl_talk(nl, &r, NULL, NULL);
}

int nl_link_set_master(struct nl *nl, int ifindex, int master_ifindex)
{
	struct nl_req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, 0, sizeof(*ifi));
	uint32_t m = (uint32_t)master_ifindex;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	nla_put(&r, IFLA_MASTER, &m, sizeof(m));
	return nl_talk(nl, &r, NULL, NULL);
}

/* ---- named network namespaces ---- */

#define NETNS_RUN_DIR "/run/netns"

static int netns_path(const char *name, char *buf, size_t size)
{
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    (size_t)snprintf(buf, size, NETNS_RUN_DIR "/%s", name) >= size)
		return -EINVAL;
	return 0;
}

/* The child of nl_netns_add: only system calls (it was forked from a threaded process). */
static int netns_child(const char *path)
{
	struct nl nl;
	struct nl_link lo;

	if (unshare(CLONE_NEWNET))
		return 1;
	if (nl_open(&nl))
		return 2;
	if (nl_link_by_name(&nl, "lo", &lo) || nl_link_set_up(&nl, lo.ifindex, 1))
		return 3;
	nl_close(&nl);
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL))
		return 4;
	return 0;
}

int nl_netns_add(const char *name)
{
	char path[256];
	int fd, st = 0, err;
	pid_t pid;

	if ((err = netns_path(name, path, sizeof(path))) != 0)
		return err;
	if (mkdir(NETNS_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		unlink(path);
		return err;
	}
	if (pid == 0)
		_exit(netns_child(path));
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		unlink(path);
		return -EIO;
	}
	return 0;
}

int nl_netns_del(const char *name)
{
	char path[256];
	int err;

	if ((err = netns_path(name, path, sizeof(path))) != 0)
		return err;
	if (access(path, F_OK))
		return -errno;
	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		return -errno;
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

int nl_netns_open(const char *name)
{
	char path[256];
	int fd, err;

	if ((err = netns_path(name, path, sizeof(path))) != 0)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
