/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tc_attach: drover's filter on a device's clsact ingress, and telling drover's programs
 * from others by the maps they use (see tc_attach.h).
 */
#include "tc_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drover_abi.h"

int tca_clsact(int ifindex, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	int err = bpf_tc_hook_create(&hook);

	*created = err == 0;
	return err == -EEXIST ? 0 : err;
}

int tca_attach(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DRV_TC_HANDLE, .priority = DRV_TC_PRIORITY,
		    .flags = BPF_TC_F_REPLACE, .prog_fd = prog_fd);

	return bpf_tc_attach(&hook, &opts);
}

static int count_filters(int fd, int ifindex, uint32_t parent, uint32_t seq);

int tca_query(int ifindex, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = DRV_TC_HANDLE, .priority = DRV_TC_PRIORITY);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), n, err;

	/* no clsact or no ingress filter: nothing of ours, asked quietly first (libbpf logs the
	 * kernel's "Parent Qdisc doesn't exists" as a warning for a device without clsact, such
	 * as every new pod veth the proxy checks) */
	if (fd < 0)
		return -errno;
	n = count_filters(fd, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	err = bpf_tc_query(&hook, &q);

	if (!err)
		*prog_id = q.prog_id;
	return err;
}

void tca_detach(int ifindex, bool clsact)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DRV_TC_HANDLE, .priority = DRV_TC_PRIORITY);

	bpf_tc_detach(&hook, &opts);
	if (clsact) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

uint32_t tca_map_id(int map_fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(map_fd, &info, &len) ? 0 : info.id;
}

bool tca_prog_ours(uint32_t prog_id, uint32_t map_id, const char *prefix, char *name)
{
	__u32 maps[64];
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	bool ours = false;
	int fd = bpf_prog_get_fd_by_id(prog_id);

	if (name)
		name[0] = '\0';
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(maps) / sizeof(maps[0]);
	info.map_ids = (__u64)(unsigned long)maps;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return false;
	}
	close(fd);
	if (name)
		snprintf(name, TCA_NAME_LEN, "%s", info.name);
	if (strncmp(info.name, prefix, strlen(prefix)))
		return false;
	for (__u32 i = 0; i < info.nr_map_ids && i < sizeof(maps) / sizeof(maps[0]); i++)
		ours |= maps[i] == map_id;
	return ours;
}

uint32_t tca_prog_id(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

/* Filters under one clsact parent: an RTM_GETTFILTER dump, counting the replies. */
static int count_filters(int fd, int ifindex, uint32_t parent, uint32_t seq)
{
	struct {
		struct nlmsghdr n;
		struct tcmsg t;
	} req;
	char buf[8192];
	int count = 0;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(req.t));
	req.n.nlmsg_type = RTM_GETTFILTER;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.n.nlmsg_seq = seq;
	req.t.tcm_family = AF_UNSPEC;
	req.t.tcm_ifindex = ifindex;
	req.t.tcm_parent = parent;
	if (send(fd, &req, req.n.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;

				return e ? e : count;
			}
			if (h->nlmsg_type == RTM_NEWTFILTER)
				count++;
		}
	}
}

int tca_clsact_filters(int ifindex)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int in, eg;

	if (fd < 0)
		return -errno;
	in = count_filters(fd, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 1);
	eg = in < 0 ? in : count_filters(fd, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), 2);
	close(fd);
	return in < 0 ? in : eg < 0 ? eg : in + eg;
}
