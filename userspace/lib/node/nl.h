/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nl: a small rtnetlink client over NETLINK_ROUTE (the kernel ABI of linux/rtnetlink.h, no
 * library): veth pairs (one end created directly in another network namespace), links up,
 * deleted and looked up, IPv4 addresses and routes, and running a function inside a network
 * namespace. Shared by drover-cni and the agent.
 *
 * A struct nl is one socket, bound to the network namespace it was opened in; to act in
 * another namespace, open one inside nl_in_netns(). Every call is synchronous (request,
 * then the kernel's ACK or error). Not thread-safe: one socket, one thread.
 */
#ifndef DROVER_NODE_NL_H
#define DROVER_NODE_NL_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>

struct nl {
	int fd;
	uint32_t seq;
};

struct nl_link {
	int ifindex;
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint32_t mtu;
	unsigned int flags; /* IFF_* */
};

/* Open a NETLINK_ROUTE socket in the calling thread's network namespace. 0 or -errno. */
int nl_open(struct nl *nl);
void nl_close(struct nl *nl);

/* Create a veth pair: NAME here and PEER in the namespace of peer_netns_fd (or here when it
 * is negative). mtu 0 keeps the kernel's default. 0 or -errno (-EEXIST if a name is taken
 * on either side). */
int nl_veth_add(struct nl *nl, const char *name, const char *peer, int peer_netns_fd, uint32_t mtu);
/* Set a link up (or down). 0 or -errno. */
int nl_link_set_up(struct nl *nl, int ifindex, int up);
/* Delete a link (a veth takes its peer with it). 0 or -errno (-ENODEV if absent). */
int nl_link_del(struct nl *nl, int ifindex);
/* Look a link up by name or by index. 0 and *out, or -errno (-ENODEV if absent). */
int nl_link_by_name(struct nl *nl, const char *name, struct nl_link *out);
int nl_link_by_index(struct nl *nl, int ifindex, struct nl_link *out);

/* Add an IPv4 address ADDR/PREFIXLEN to a link. 0 or -errno (-EEXIST if present). */
int nl_addr4_add(struct nl *nl, int ifindex, struct in_addr addr, int prefixlen);
/* 1 if the link has ADDR/PREFIXLEN, 0 if not, or -errno. */
int nl_addr4_has(struct nl *nl, int ifindex, struct in_addr addr, int prefixlen);

/* IPv4 route DST/DST_LEN out of ifindex, via gw unless gw is 0.0.0.0 (then a link-scope
 * route), in the main table. 0 or -errno (-EEXIST when it exists). */
int nl_route4_add(struct nl *nl, struct in_addr dst, int dst_len, struct in_addr gw, int ifindex);

/* The same, replacing a route to DST/DST_LEN that exists (NLM_F_REPLACE), marked with
 * routing protocol PROTO (RTPROT_*, or a number of one's own so that the routes can be told
 * apart later, as routing daemons do). 0 or -errno. */
int nl_route4_set(struct nl *nl, struct in_addr dst, int dst_len, struct in_addr gw, int ifindex,
		  unsigned char proto);
/* Delete the main table's route to DST/DST_LEN. 0 or -errno (-ESRCH when there is none). */
int nl_route4_del(struct nl *nl, struct in_addr dst, int dst_len);
/* Call fn for each IPv4 route of the main table marked with PROTO (its destination, prefix
 * length and gateway, 0.0.0.0 for none); fn's nonzero return stops the walk and is returned.
 * 0 or -errno. The routes are collected first: fn may change routes on the same socket. */
int nl_route4_list(struct nl *nl, unsigned char proto,
		   int (*fn)(struct in_addr dst, int dst_len, struct in_addr gw, void *arg),
		   void *arg);

/* Create a bridge NAME. 0 or -errno (-EEXIST if the name is taken). */
int nl_bridge_add(struct nl *nl, const char *name);
/* Enslave a link to a bridge (master_ifindex 0: release it). 0 or -errno. */
int nl_link_set_master(struct nl *nl, int ifindex, int master_ifindex);

/* A named network namespace as iproute2 makes one: a new namespace, lo up, bind-mounted on
 * /run/netns/NAME. 0, or -errno (-EEXIST when the name is taken, which claims a name
 * atomically). */
int nl_netns_add(const char *name);
/* Unmount and remove /run/netns/NAME (the namespace itself lives on while a process or a
 * mount holds it). 0 or -errno (-ENOENT when absent). */
int nl_netns_del(const char *name);
/* An O_RDONLY descriptor of /run/netns/NAME, or -errno. */
int nl_netns_open(const char *name);

/* Run fn(arg) with the calling thread inside the network namespace netns_fd, then return to
 * the namespace it was in. fn's return value, or -errno if entering or leaving fails (a
 * failure to return is fatal: the thread would be left in the wrong namespace, so the
 * process aborts). */
int nl_in_netns(int netns_fd, int (*fn)(void *arg), void *arg);

#endif
