/* SPDX-License-Identifier: Apache-2.0 */
/* proxy: start-up (load, adopt, reconcile), the event loop, conntrack GC. */
#define _GNU_SOURCE
#include "proxy.h"
#include "array.h"
#include "healthcheck.h"
#include "lbmap.h"
#include "log.h"
#include "model.h"
#include "source.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define COMP "proxy"

struct proxy {
	struct proxy_config *c;
	bool active; /* the first commit is in the kernel and the programs attached */
	struct dataplane *dp;
	struct lbmap *lb;
	struct proxy_model *model;
	struct proxy_source *src;
	struct lb_backend *removed;
	size_t nremoved, capremoved;
	/* UDP backends gone from every slot while drv_drain1 lists them (terminating, still
	 * serving): their connected sockets stay until the endpoint leaves drv_drain1. */
	struct lb_backend *held;
	size_t nheld, capheld;
	int nl_fd;
	struct drv_ct_key *gc_keys, *gc_dead;
	struct drv_ct_val *gc_vals;
	uint64_t gc_removed;
	bool node_ips_logged;
	struct hc_server *hc;		   /* healthCheckNodePorts, made at the first one */
	uint64_t commit_ns, commit_map_ns; /* the last commit's: all of it, its map writes */
	/* start-up's phases, logged in one line when the proxy is ready */
	struct {
		uint64_t t0, source_ns, open_ns, adopt_ns;
		struct source_cost cost;
	} boot;
};

void proxy_config_defaults(struct proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->dp.sock_lb = true;
	c->dp.tc_lb = true;
	c->dp.xdp_mode = DP_XDP_AUTO;
	c->dp.cfg = (struct drv_config)DRV_CONFIG_DEFAULTS;
	c->dp.cfg.snat_port_min = c->dp.cfg.snat_port_max = 0; /* the node's, at start */
	c->dp.sizes.svc = DRV_SVC_MAP_SIZE_DEFAULT;
	c->dp.sizes.backend = DRV_BACKEND_MAP_SIZE_DEFAULT;
	c->dp.sizes.revnat = DRV_REVNAT_MAP_SIZE_DEFAULT;
	c->dp.sizes.ct = DRV_CT_MAP_SIZE_DEFAULT;
	c->dp.sizes.affinity = DRV_AFFINITY_MAP_SIZE_DEFAULT;
	c->dp.sizes.sock_rnat = DRV_SOCK_RNAT_MAP_SIZE_DEFAULT;
	c->dp.sizes.maglev_outer = DRV_MAGLEV_OUTER_SIZE_DEFAULT;
	c->dp.sizes.stats = DRV_STATS_MAP_SIZE_DEFAULT;
	c->dp.telemetry = true;
	c->dp.tl_max_series = DRV_TL_SERIES_MAP_SIZE_DEFAULT;
	c->dp.tl_ringbuf_bytes = DRV_TL_RINGBUF_SIZE_DEFAULT;
	c->maglev_max = DRV_MAGLEV_DEFAULT_TABLE;
	c->gc_interval_s = 30;
	c->reconcile_interval_s = 10;
	c->nodeport_min = 30000;
	c->nodeport_max = 32767;
	c->stop_fd = -1;
}

int proxy_stop(const struct proxy_config *c)
{
	uint64_t one = 1;

	if (c->stop_fd < 0)
		return -EINVAL;
	/* EAGAIN: the counter is full, so a stop is pending already */
	if (write(c->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* ---------- node addresses ---------- */

/* The node's addresses into drv_nodeip4 (a NodePort answers on each): --node-ip's, or every
 * non-loopback IPv4 address of the node, read again when netlink reports an address change
 * and at each timer tick (events are hints: one lost in an overrun is caught up). Logged
 * when the set changes. */
static int set_node_ips(struct proxy *p)
{
	int fd = dp_map_fd(p->dp, DP_MAP_NODEIP);
	uint32_t ips[PROXY_MAX_IPS], key, next;
	size_t n = 0, changed = 0;
	bool have = false;
	char buf[INET_ADDRSTRLEN], list[PROXY_MAX_IPS * 17] = "";

	if (p->c->nnode_ips) {
		memcpy(ips, p->c->node_ips, p->c->nnode_ips * sizeof(uint32_t));
		n = p->c->nnode_ips;
	} else {
		struct ifaddrs *ifa, *i;

		if (getifaddrs(&ifa))
			return -errno; /* keep what is there */
		for (i = ifa; i && n < PROXY_MAX_IPS; i = i->ifa_next) {
			struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
			bool dup = false;

			if (!sin || sin->sin_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
				continue;
			for (size_t j = 0; j < n && !dup; j++)
				dup = ips[j] == sin->sin_addr.s_addr;
			if (!dup)
				ips[n++] = sin->sin_addr.s_addr;
		}
		freeifaddrs(ifa);
	}
	for (size_t i = 0; i < n; i++) {
		__u32 one = 1, v;

		if (bpf_map_lookup_elem(fd, &ips[i], &v) != 0) {
			bpf_map_update_elem(fd, &ips[i], &one, BPF_ANY);
			changed++;
		}
		inet_ntop(AF_INET, &ips[i], buf, sizeof(buf));
		strcat(list, i ? " " : "");
		strcat(list, buf);
	}
	/* Addresses no longer ours. */
	while (bpf_map_get_next_key(fd, have ? &key : NULL, &next) == 0) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = ips[i] == next;
		if (!keep && bpf_map_delete_elem(fd, &next) == 0) {
			have = false;
			changed++;
			continue;
		}
		key = next;
		have = true;
	}
	if (changed || !p->node_ips_logged)
		log_info(COMP, "node addresses for NodePort: %s", n ? list : "(none)");
	p->node_ips_logged = true;
	return 0;
}

/* First address of the first node device: the masquerade source for frontends that are not
 * node addresses themselves (externalIPs, LoadBalancer IPs). */
static uint32_t pick_snat_ip(const struct proxy_config *c)
{
	struct ifaddrs *ifa, *i;
	uint32_t ip = 0;

	if (c->nnode_ips)
		return c->node_ips[0];
	if (getifaddrs(&ifa))
		return 0;
	for (size_t d = 0; d < c->nnode_devs && !ip; d++) {
		for (i = ifa; i && !ip; i = i->ifa_next) {
			if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
			    !strcmp(i->ifa_name, c->node_devs[d]))
				ip = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		}
	}
	freeifaddrs(ifa);
	return ip;
}

/* The node's ephemeral port range (net.ipv4.ip_local_port_range, "MIN<tab>MAX\n"): the
 * masquerade source ports of NodePort flows unless --snat-ports names others, so that a
 * backend has as many ports per node address as the kernel gives a client. */
int proxy_local_port_range(const char *path, uint16_t *min, uint16_t *max)
{
	char buf[64], extra;
	unsigned lo, hi;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (sscanf(buf, "%u %u %c", &lo, &hi, &extra) != 2 || lo < 1 || hi > 65535 || lo > hi)
		return -EINVAL;
	*min = (uint16_t)lo;
	*max = (uint16_t)hi;
	return 0;
}

int proxy_snat_window(uint16_t eph_min, uint16_t eph_max, uint16_t np_min, uint16_t np_max,
		      uint16_t *min, uint16_t *max)
{
	/* the excluded ranges in order; the free stretches of 1024-65535 between them */
	uint32_t ex[2][2] = {{eph_min, eph_max}, {np_min, np_max}};
	uint32_t want = (uint32_t)eph_max - eph_min + 1, best_lo = 0, best_hi = 0, at = 1024;

	if (np_min > np_max || !np_min)
		ex[1][0] = ex[1][1] = 0;
	if (ex[1][0] && ex[1][0] < ex[0][0]) {
		uint32_t t0 = ex[0][0], t1 = ex[0][1];

		ex[0][0] = ex[1][0];
		ex[0][1] = ex[1][1];
		ex[1][0] = t0;
		ex[1][1] = t1;
	}
	for (int i = 0; i <= 2; i++) {
		uint32_t end = i < 2 && ex[i][0] ? ex[i][0] : 65536; /* first port not free */

		if (i < 2 && !ex[i][0])
			continue;
		if (end > at && end - at > best_hi - best_lo) {
			best_lo = at;
			best_hi = end;
		}
		if (i < 2 && ex[i][1] + 1 > at)
			at = ex[i][1] + 1;
	}
	if (best_hi - best_lo < 1024)
		return -ENOSPC;
	/* the top of the largest stretch, as large as the kernel's range if it fits */
	*max = (uint16_t)(best_hi - 1);
	*min = (uint16_t)(best_hi - best_lo > want ? best_hi - want : best_lo);
	return 0;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* This network namespace's cookie (the node's: the proxy runs there), 0 if unknown: the
 * socket LB serves NodePorts on its 127.0.0.0/8. */
static uint64_t own_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
		cookie = 0;
	close(fd);
	return cookie;
}

static void pick_snat_ports(struct proxy_config *c)
{
	static const struct drv_config def = DRV_CONFIG_DEFAULTS;
	uint16_t lo, hi, elo, ehi;
	int rc;

	if (c->dp.cfg.snat_port_min)
		return; /* --snat-ports */
	/* As many ports as the kernel's ephemeral range, but outside it (and outside the
	 * NodePort range): the node's own connections take their source ports from that range,
	 * and drover, unlike conntrack, does not see them, so a shared port could carry one of
	 * them and a masqueraded flow on the same tuple. */
	rc = proxy_local_port_range(PROXY_PORT_RANGE_FILE, &elo, &ehi);
	if (!rc)
		rc = proxy_snat_window(elo, ehi, c->nodeport_min, c->nodeport_max, &lo, &hi);
	if (rc) {
		lo = def.snat_port_min;
		hi = def.snat_port_max;
		log_warn(COMP, "%s: %s; masquerade source ports %u-%u", PROXY_PORT_RANGE_FILE,
			 rc == -EINVAL	 ? "not a port range"
			 : rc == -ENOSPC ? "no room for ports outside it"
					 : strerror(-rc),
			 lo, hi);
	}
	c->dp.cfg.snat_port_min = lo;
	c->dp.cfg.snat_port_max = hi;
	log_info(COMP, "masquerade source ports %u-%u (%u per backend and node address)", lo, hi,
		 hi - lo + 1u);
}

/* ---------- pod devices ---------- */

static bool pod_dev_wanted(const struct proxy_config *c, const char *name)
{
	for (size_t i = 0; i < c->npod_devs; i++) {
		if (!strcmp(c->pod_devs[i], name))
			return true;
	}
	return c->pod_dev_prefix && c->pod_dev_prefix[0] &&
	       !strncmp(name, c->pod_dev_prefix, strlen(c->pod_dev_prefix));
}

/* The pod devices as they are, not as events said: list the links (an rtnetlink dump), put
 * drv_tc_pod on every wanted one that lacks it, drop the records of links that are gone.
 * At activation, on every timer tick, and when the event socket overran (events lost). */
static void reconcile_pod_devs(struct proxy *p)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int attached = 0, pruned;

	if (!ifs) {
		log_warn(COMP, "list links: %s", strerror(errno));
		return;
	}
	for (i = ifs; i->if_index; i++) {
		if (pod_dev_wanted(p->c, i->if_name))
			attached += dp_ensure_pod_dev(p->dp, i->if_name) > 0;
	}
	if_freenameindex(ifs);
	pruned = dp_attach_prune(p->dp);
	if (attached || pruned > 0)
		log_info(COMP, "pod devices reconciled: %d attached, %d gone", attached,
			 pruned > 0 ? pruned : 0);
}

/* Link events (new pod devices) when the tc path runs, with route and rule events (its
 * remembered next hops, see l2_epoch_bump); IPv4 address events when the node's addresses
 * are not fixed by --node-ip. -1 when neither is wanted. */
static int netlink_open(bool links, bool addrs)
{
	struct sockaddr_nl sa = {
	    .nl_family = AF_NETLINK,
	    .nl_groups = (links ? RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE : 0) |
			 (addrs ? RTMGRP_IPV4_IFADDR : 0)};
	int fd;

	if (!sa.nl_groups)
		return -1;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new L2 epoch: the next hops the datapath remembered, per flow (drv_ct6) and per backend
 * for new flows (drv_nh1), are looked up again (nat.h, drv_l2_store, drv_nh_valid). */
static void l2_epoch_bump(struct proxy *p)
{
	__u32 zero = 0, epoch = 0;
	int efd = dp_map_fd(p->dp, DP_MAP_EPOCH);

	bpf_map_lookup_elem(efd, &zero, &epoch);
	epoch++;
	bpf_map_update_elem(efd, &zero, &epoch, BPF_ANY);
}

/* Events are hints: a link event attaches (or forgets) at once, and an overrun socket
 * (ENOBUFS: events were dropped, as when hundreds of veths appear at once) makes a full
 * reconcile now instead of waiting for the timer. */
static void netlink_dispatch(struct proxy *p)
{
	char buf[16384];
	bool addrs = false, lost = false, hops = false;
	ssize_t n;

	while ((n = recv(p->nl_fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == ENOBUFS)) {
		if (n < 0) {
			lost = true;
			continue;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct ifinfomsg *ifi;
			char name[IF_NAMESIZE];

			if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR)
				addrs = true;
			/* a device (its MTU, its state), a route or a rule changed: what a
			 * remembered next hop was resolved from */
			if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK ||
			    h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE ||
			    h->nlmsg_type == RTM_NEWRULE || h->nlmsg_type == RTM_DELRULE)
				hops = true;
			if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
				continue;
			ifi = NLMSG_DATA(h);
			if (h->nlmsg_type == RTM_DELLINK) {
				dp_attach_forget(p->dp, ifi->ifi_index);
				continue;
			}
			if (!if_indextoname((unsigned)ifi->ifi_index, name))
				continue;
			if (pod_dev_wanted(p->c, name))
				dp_ensure_pod_dev(p->dp, name);
		}
	}
	if (lost && p->c->dp.tc_lb) {
		log_info(COMP, "link events were lost (netlink overrun): reconciling pod devices");
		reconcile_pod_devs(p);
	}
	if (addrs || lost)
		set_node_ips(p);
	if (hops || lost)
		l2_epoch_bump(p);
}

/* ---------- conntrack GC ---------- */

#define GC_BATCH 4096

/* Expired conntrack entries go (LRU eviction alone would keep dead flows until the map is
 * full). Nothing waits for this to free a masquerade port: the datapath takes over the port of
 * a closed or expired flow itself when a new flow needs one (nat.h, drv_snat_reserve). The map is read in batches (one syscall per 4096 entries); the buffers are kept
 * from one run to the next. Then a new L2 epoch: flows look their next hop up again, so a
 * changed neighbour is followed within a GC period. */
static void ct_gc(struct proxy *p)
{
	int fd = dp_map_fd(p->dp, DP_MAP_CT);
	uint64_t now = clock_ns(CLOCK_MONOTONIC_COARSE); /* the datapath's clock */
	size_t scanned = 0, ndead = 0;
	__u32 in_batch = 0, out_batch = 0;
	bool first = true;

	if (!p->gc_keys) {
		p->gc_keys = malloc(GC_BATCH * sizeof(*p->gc_keys));
		p->gc_vals = malloc(GC_BATCH * sizeof(*p->gc_vals));
		p->gc_dead = malloc(GC_BATCH * sizeof(*p->gc_dead));
		if (!p->gc_keys || !p->gc_vals || !p->gc_dead)
			return;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 count = GC_BATCH;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, p->gc_keys,
					      p->gc_vals, &count, &o);

		if (rc && errno != ENOENT) {
			log_warn(COMP, "conntrack GC: %s", strerror(errno));
			break;
		}
		scanned += count;
		for (__u32 i = 0; i < count; i++) {
			const struct drv_ct_val *v = &p->gc_vals[i];
			uint64_t timeout;

			if (v->flags & DRV_CT_F_SEEN_FIN)
				timeout = 10ULL * 1000000000ULL;
			else if (p->gc_keys[i].proto == DRV_PROTO_TCP)
				timeout = (uint64_t)p->c->dp.cfg.ct_tcp_timeout_s * 1000000000ULL;
			else
				timeout = (uint64_t)p->c->dp.cfg.ct_other_timeout_s * 1000000000ULL;
			if (now > v->last_seen_ns && now - v->last_seen_ns > timeout)
				p->gc_dead[ndead++] = p->gc_keys[i];
			if (ndead == GC_BATCH) {
				for (size_t d = 0; d < ndead; d++)
					bpf_map_delete_elem(fd, &p->gc_dead[d]);
				p->gc_removed += ndead;
				ndead = 0;
			}
		}
		if (rc)
			break; /* ENOENT: that was the last batch */
		in_batch = out_batch;
		first = false;
	}
	for (size_t d = 0; d < ndead; d++)
		bpf_map_delete_elem(fd, &p->gc_dead[d]);
	p->gc_removed += ndead;
	log_debug(COMP, "conntrack GC: %zu entries scanned, %llu removed so far", scanned,
		  (unsigned long long)p->gc_removed);
	l2_epoch_bump(p);
}

/* ---------- sync ---------- */

static bool draining(struct proxy *p, const struct lb_backend *be)
{
	struct drv_drain_key k = {.addr = be->addr, .port = be->port, .proto = be->proto};
	__u8 v;

	return bpf_map_lookup_elem(dp_map_fd(p->dp, DP_MAP_DRAIN), &k, &v) == 0;
}

static bool same_endpoint(const struct lb_backend *x, const struct lb_backend *y)
{
	return x->addr == y->addr && x->port == y->port && x->proto == y->proto;
}

/* A terminating endpoint that still serves keeps its connected UDP sockets, as kube-proxy
 * keeps the UDP conntrack entries of a serving endpoint: they are held back (one entry per
 * address:port) until it leaves drv_drain1. */
static void on_removed(const struct lb_fe_key *fe, const struct lb_backend *be, void *ud)
{
	struct proxy *p = ud;

	if (be->proto != DRV_PROTO_UDP)
		return;
	if (draining(p, be)) {
		for (size_t i = 0; i < p->nheld; i++) {
			if (same_endpoint(&p->held[i], be))
				return;
		}
		/* out of memory: its sockets stay where they are */
		if (ARRAY_GROW(p->held, p->capheld, p->nheld + 1) == 0)
			p->held[p->nheld++] = *be;
		return;
	}
	if (ARRAY_GROW(p->removed, p->capremoved, p->nremoved + 1))
		return;
	p->removed[p->nremoved++] = *be;
}

/* After a commit: the held endpoints that left drv_drain1 (stopped serving, or removed) go
 * the way of removed backends unless a slot serves them again (ready once more). */
static void release_held(struct proxy *p)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->nheld; i++) {
		const struct lb_backend *be = &p->held[i];

		if (draining(p, be)) {
			p->held[kept++] = *be;
			continue;
		}
		if (lbmap_serves(p->lb, be->addr, be->port, be->proto))
			continue;
		if (ARRAY_GROW(p->removed, p->capremoved, p->nremoved + 1)) {
			p->held[kept++] = *be; /* out of memory: the next commit tries again */
			continue;
		}
		p->removed[p->nremoved++] = *be;
	}
	p->nheld = kept;
}

/* kube-proxy's service health server follows the model: the healthCheckNodePorts of the
 * Local-policy services it has now, with their local endpoint counts. */
static void sync_health_checks(struct proxy *p)
{
	struct model_hc *hcs;
	size_t n;

	if (model_health_checks(p->model, &hcs, &n))
		return; /* out of memory: the next sync does it */
	if (n && !p->hc)
		p->hc = hc_server_new();
	if (p->hc)
		hc_server_sync(p->hc, hcs, n);
	free(hcs);
}

static int commit(struct proxy *p, bool full)
{
	struct model_stats st;
	uint64_t t0 = mono_ns();
	int rc;

	p->nremoved = 0;
	rc = model_commit(p->model, full, &st);
	log_info(COMP,
		 "sync: %zu service(s), %zu frontend(s) checked, %zu removed; %llu map entries "
		 "written, %llu deleted%s in %.1f us (maps %.1f us)",
		 st.services_changed, st.frontends_upserted, st.frontends_deleted,
		 (unsigned long long)st.entries_written, (unsigned long long)st.entries_deleted,
		 st.frontends_failed ? "; some frontends failed (maps full?) and will be retried"
				     : "",
		 (double)(mono_ns() - t0) / 1000.0, (double)st.map_update_ns / 1000.0);
	p->commit_ns = mono_ns() - t0;
	p->commit_map_ns = st.map_update_ns;
	release_held(p);
	if (p->nremoved)
		dp_destroy_udp_sockets(p->dp, p->removed, p->nremoved);
	sync_health_checks(p);
	return rc;
}

static void write_ready(const struct proxy_config *c)
{
	FILE *f;

	if (!c->ready_file)
		return;
	f = fopen(c->ready_file, "w");
	if (f) {
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
}

/* The source has the whole picture: the first commit (full: it also removes what is pinned
 * and no longer configured), then the attachments. */
static int activate(struct proxy *p)
{
	const struct proxy_config *c = p->c;
	int rc = commit(p, true);
	uint64_t t1 = mono_ns(), t2;

	if (rc && rc != -ENOSPC)
		return rc;
	rc = dp_attach(p->dp);
	if (rc)
		return rc;
	/* events first, then the list: a link made in between is seen by one or the other */
	p->nl_fd = netlink_open(c->dp.tc_lb, !c->nnode_ips);
	if (c->dp.tc_lb)
		reconcile_pod_devs(p);
	t2 = mono_ns();
	/* where start-up's time went (an API source's picture arrives when it arrives: its
	 * wait is in "ready" but in no phase) */
	log_info(COMP,
		 "start-up phases: read %.1f ms, decode %.1f ms (%zu document(s), %zu object(s)), "
		 "model %.1f ms "
		 "(source %.1f ms), BPF load %.1f ms, adopt %.1f ms, first sync %.1f ms (map "
		 "writes %.1f ms), attach %.1f ms; ready %.1f ms after start",
		 (double)p->boot.cost.read_ns / 1e6, (double)p->boot.cost.decode_ns / 1e6,
		 p->boot.cost.docs, p->boot.cost.objs_decoded, (double)p->boot.cost.model_ns / 1e6,
		 (double)p->boot.source_ns / 1e6, (double)p->boot.open_ns / 1e6,
		 (double)p->boot.adopt_ns / 1e6, (double)p->commit_ns / 1e6,
		 (double)p->commit_map_ns / 1e6, (double)(t2 - t1) / 1e6,
		 (double)(t2 - p->boot.t0) / 1e6);
	p->active = true;
	write_ready(c);
	if (c->on_ready)
		c->on_ready(c->ready_arg);
	log_info(COMP, "ready: node %s, socket LB %s, tc LB %s, %zu node device(s)",
		 c->node_name ? c->node_name : "(none)", c->dp.sock_lb ? "on" : "off",
		 c->dp.tc_lb ? "on" : "off", c->nnode_devs);
	return 0;
}

/* After the source touched the model: commit what changed, once active. */
static void source_done(struct proxy *p, int rc, const struct source_delta *d, bool *resync)
{
	*resync |= rc == -ENOMEM;
	if (!p->active)
		return;
	if (d->replaced)
		commit(p, true); /* a whole new picture: also sweep what nothing claims */
	else if (d->changed)
		commit(p, false);
}

static struct proxy_source *source_new(const struct proxy_config *c)
{
	if (c->source)
		return c->source;
	if (c->kubeconfig)
		return source_api_new(c->kubeconfig[0] ? c->kubeconfig : NULL);
	return source_manifests_new(c->manifests, c->nodeport_min, c->nodeport_max);
}

int proxy_run(struct proxy_config *c)
{
	struct proxy p = {.c = c, .nl_fd = -1};
	struct lbmap_fds fds;
	struct lbmap_opts lo = {.maglev_max = c->maglev_max};
	struct model_opts mo = {.node_name = c->node_name};
	/* one timer, ticking at the reconcile period (or the GC's, if shorter): conntrack GC
	 * every gc_interval_s, and on every tick the pod devices reconciled and frontends
	 * that did not fit retried */
	long period = c->reconcile_interval_s ? c->reconcile_interval_s : 10;
	struct itimerspec its;
	uint64_t gc_ticks = 0;
	struct source_delta d = {0};
	uint64_t t;
	int sig_fd = -1, tfd = -1, rc;
	sigset_t mask;
	bool resync = false;

	p.boot.t0 = mono_ns();
	c->dp.node_devs = c->node_devs;
	c->dp.nnode_devs = c->nnode_devs;
	if (!c->dp.cfg.snat_addr)
		c->dp.cfg.snat_addr = pick_snat_ip(c);
	pick_snat_ports(c);
	c->dp.cfg.host_netns = own_netns_cookie();

	/* The configuration first: an invalid one changes nothing in the kernel. */
	p.model = model_new(&mo, NULL);
	p.src = source_new(c);
	if (!p.model || !p.src) {
		rc = !p.model ? -ENOMEM : -EINVAL;
		goto out;
	}
	t = mono_ns();
	rc = p.src->ops->start(p.src, p.model, &d);
	p.boot.source_ns = mono_ns() - t;
	p.boot.cost = d.cost;
	if (rc) {
		log_error(COMP, "initial configuration is invalid; nothing changed in the kernel");
		goto out;
	}

	t = mono_ns();
	rc = dp_open(&p.dp, &c->dp);
	p.boot.open_ns = mono_ns() - t;
	if (rc)
		goto out;
	dp_lbmap_fds(p.dp, &fds);
	p.lb = lbmap_new(&fds, &lo);
	if (!p.lb) {
		rc = -ENOMEM;
		goto out;
	}
	model_set_lbmap(p.model, p.lb);
	model_set_srcrange_fd(p.model, dp_map_fd(p.dp, DP_MAP_SRCRANGE));
	model_set_drain_fd(p.model, dp_map_fd(p.dp, DP_MAP_DRAIN));
	lbmap_set_removed_cb(p.lb, on_removed, &p);
	t = mono_ns();
	rc = lbmap_adopt(p.lb);
	p.boot.adopt_ns = mono_ns() - t;
	if (rc)
		goto out;
	/* Maps first, then attachments: the programs never run against empty maps after a
	 * restart, and a first start serves from its first packet. */
	set_node_ips(&p);
	if (p.src->ops->synced(p.src)) {
		rc = activate(&p);
		if (rc)
			goto out;
	} else {
		log_info(COMP,
			 "waiting for the %s source's first full picture before changing "
			 "anything in the kernel; what is pinned keeps serving",
			 p.src->ops->name);
	}

	if (c->stop_fd < 0) {
		/* `drover proxy`: the process is ours, and so are its signals */
		sigemptyset(&mask);
		sigaddset(&mask, SIGHUP);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	if (c->gc_interval_s && c->gc_interval_s < period)
		period = c->gc_interval_s;
	its = (struct itimerspec){{period, 0}, {period, 0}};
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd >= 0)
		timerfd_settime(tfd, 0, &its, NULL);

	for (;;) {
		struct pollfd pfd[5] = {
		    {.fd = sig_fd, .events = POLLIN},
		    {.fd = p.src->ops->fd(p.src), .events = POLLIN},
		    {.fd = tfd, .events = POLLIN},
		    {.fd = p.nl_fd, .events = POLLIN},
		    {.fd = c->stop_fd, .events = POLLIN},
		};
		int n = poll(pfd, 5, p.src->ops->timeout_ms(p.src));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (pfd[4].revents & POLLIN) {
			log_info(COMP, "stopping; the dataplane stays in place");
			rc = 0;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					log_info(COMP, "SIGHUP: reloading");
					rc = p.src->ops->reload(p.src, p.model, &d);
					resync = false;
					source_done(&p, rc, &d, &resync);
				} else {
					log_info(
					    COMP,
					    "exiting on signal %u; the dataplane stays in place",
					    si.ssi_signo);
					rc = 0;
					break;
				}
			}
		}
		/* input, or the source's timeout */
		if ((pfd[1].revents & POLLIN) || n == 0) {
			rc = p.src->ops->dispatch(p.src, p.model, &d);
			source_done(&p, rc, &d, &resync);
		}
		if (!p.active && p.src->ops->synced(p.src)) {
			rc = activate(&p);
			if (rc)
				break;
		}
		if (pfd[2].revents & POLLIN) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) > 0) {
				gc_ticks += ticks;
				if (c->gc_interval_s &&
				    gc_ticks * (uint64_t)period >= c->gc_interval_s) {
					ct_gc(&p);
					gc_ticks = 0;
				}
				set_node_ips(&p);
				if (p.active && c->dp.tc_lb)
					reconcile_pod_devs(&p);
				if (resync) {
					/* a reload ran out of memory: all of it again */
					log_info(COMP,
						 "reloading after a reload that ran out of memory");
					rc = p.src->ops->reload(p.src, p.model, &d);
					resync = false;
					source_done(&p, rc, &d, &resync);
				}
				if (p.active && model_pending(p.model))
					commit(&p, false); /* frontends that failed earlier */
			}
		}
		if (pfd[3].revents & POLLIN)
			netlink_dispatch(&p);
	}
out:
	if (sig_fd >= 0)
		close(sig_fd);
	if (tfd >= 0)
		close(tfd);
	if (p.nl_fd >= 0)
		close(p.nl_fd);
	hc_server_free(p.hc);
	source_free(p.src);
	model_free(p.model);
	lbmap_free(p.lb);
	dp_close(p.dp);
	free(p.removed);
	free(p.held);
	free(p.gc_keys);
	free(p.gc_vals);
	free(p.gc_dead);
	return rc;
}
