/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_bpf: `drover bpf services|backends|ct|stats|endpoints`: the pinned maps as tables a
 * person reads (after `cilium bpf lb list`). Reads only; works whether or not a proxy is
 * running.
 */
#include "cli.h"

#ifdef HAVE_DROVER_PROXY
#include "dataplane.h"
#include "drover_abi.h"
#include "stats.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bpf_ctx {
	const char *pin_root;
};

static int open_map(const struct bpf_ctx *c, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", c->pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr,
			"drover bpf: %s: %s (is the proxy installed with this --pin-root?)\n", path,
			strerror(errno));
	return fd;
}

static const char *ip_str(uint32_t a, char *buf)
{
	struct in_addr in = {.s_addr = a};

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static const char *proto_str(uint8_t p)
{
	return p == DRV_PROTO_UDP ? "UDP" : p == DRV_PROTO_TCP ? "TCP" : "?";
}

static void frontend_str(uint32_t addr, uint16_t port, uint8_t proto, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	if (addr)
		snprintf(buf, len, "%s:%u/%s", ip_str(addr, a), ntohs(port), proto_str(proto));
	else
		snprintf(buf, len, "<node-ip>:%u/%s", ntohs(port), proto_str(proto));
}

static const char *svc_type(uint16_t flags)
{
	if (flags & DRV_SVC_F_NODEPORT)
		return "NodePort";
	if (flags & DRV_SVC_F_EXTERNAL)
		return "External";
	return "ClusterIP";
}

static void name_of(int names_fd, uint32_t rev_nat, char *buf, size_t len)
{
	struct drv_svc_name n;

	if (names_fd >= 0 && bpf_map_lookup_elem(names_fd, &rev_nat, &n) == 0)
		snprintf(buf, len, "%.*s", (int)sizeof(n.name), n.name);
	else
		snprintf(buf, len, "-");
}

/* Masters sorted for a stable listing. */
struct master {
	struct drv_svc_key k;
	struct drv_svc_val v;
};

static int cmp_master(const void *a, const void *b)
{
	const struct master *x = a, *y = b;

	if (x->v.rev_nat != y->v.rev_nat)
		return x->v.rev_nat < y->v.rev_nat ? -1 : 1;
	return 0;
}

static int list_services(const struct bpf_ctx *c)
{
	int svc = open_map(c, DRV_MAP_SVC), be = open_map(c, DRV_MAP_BACKEND);
	int names = open_map(c, DRV_MAP_NAMES);
	struct drv_svc_key key, next;
	struct drv_svc_val v;
	struct master *ms = NULL;
	size_t n = 0, cap = 0;
	bool have = false;

	if (svc < 0 || be < 0)
		return 1;
	while (bpf_map_get_next_key(svc, have ? &key : NULL, &next) == 0) {
		key = next;
		have = true;
		if (key.slot != 0 || bpf_map_lookup_elem(svc, &key, &v))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ms = realloc(ms, cap * sizeof(*ms));
			if (!ms)
				return 1;
		}
		ms[n].k = key;
		ms[n].v = v;
		n++;
	}
	qsort(ms, n, sizeof(*ms), cmp_master);
	printf("%-5s %-26s %-9s %-34s %-9s %s\n", "ID", "FRONTEND", "TYPE", "SERVICE", "FLAGS",
	       "BACKENDS");
	for (size_t i = 0; i < n; i++) {
		char fe[64], nm[80], flags[64] = "";

		frontend_str(ms[i].k.addr, ms[i].k.dport, ms[i].k.proto, fe, sizeof(fe));
		name_of(names, ms[i].v.rev_nat, nm, sizeof(nm));
		if (ms[i].v.flags & DRV_SVC_F_AFFINITY)
			strcat(flags, "affinity,");
		if (ms[i].v.flags & DRV_SVC_F_LOCAL)
			strcat(flags, "local,");
		if (ms[i].v.flags & DRV_SVC_F_MAGLEV)
			strcat(flags, "maglev,");
		if (ms[i].v.flags & DRV_SVC_F_TWO_SCOPES)
			strcat(flags, "2-scopes,");
		if (ms[i].v.flags & DRV_SVC_F_NO_LOCAL)
			strcat(flags, "no-local,");
		if (ms[i].k.scope == DRV_SCOPE_INT)
			strcat(flags, "internal,");
		if (flags[0])
			flags[strlen(flags) - 1] = '\0';
		else
			strcpy(flags, "-");
		printf("%-5u %-26s %-9s %-34s %-9s ", ms[i].v.rev_nat, fe, svc_type(ms[i].v.flags),
		       nm, flags);
		if (ms[i].v.count == 0)
			printf("(none: refused)");
		for (uint16_t s = 1; s <= ms[i].v.count; s++) {
			struct drv_svc_key sk = ms[i].k;
			struct drv_svc_val sv;
			struct drv_backend b;
			char a[INET_ADDRSTRLEN];

			sk.slot = s;
			if (bpf_map_lookup_elem(svc, &sk, &sv) ||
			    bpf_map_lookup_elem(be, &sv.backend_id, &b)) {
				printf("%s<slot %u missing>", s > 1 ? ", " : "", s);
				continue;
			}
			printf("%s%s:%u", s > 1 ? ", " : "", ip_str(b.addr, a), ntohs(b.port));
			if (sv.flags & DRV_SLOT_F_TERMINATING)
				printf("(terminating)");
		}
		printf("\n");
	}
	free(ms);
	close(svc);
	close(be);
	if (names >= 0)
		close(names);
	return 0;
}

static int list_backends(const struct bpf_ctx *c)
{
	int be = open_map(c, DRV_MAP_BACKEND);
	__u32 key, next;
	bool have = false;

	if (be < 0)
		return 1;
	printf("%-8s %-22s %-5s %s\n", "ID", "ADDRESS", "PROTO", "FLAGS");
	while (bpf_map_get_next_key(be, have ? &key : NULL, &next) == 0) {
		struct drv_backend b;
		char a[INET_ADDRSTRLEN], addr[40];

		key = next;
		have = true;
		if (bpf_map_lookup_elem(be, &key, &b))
			continue;
		snprintf(addr, sizeof(addr), "%s:%u", ip_str(b.addr, a), ntohs(b.port));
		/* terminating is a service's word: in its slots (list_services) */
		printf("%-8u %-22s %-5s %s\n", key, addr, proto_str(b.proto),
		       b.flags & DRV_BE_F_LOCAL ? "local" : "-");
	}
	close(be);
	return 0;
}

static int list_ct(const struct bpf_ctx *c)
{
	int ct = open_map(c, DRV_MAP_CT);
	struct drv_ct_key key, next;
	struct drv_ct_val v;
	struct timespec ts;
	uint64_t now;
	bool have = false;
	size_t n = 0;

	if (ct < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	printf("%-5s %-44s %-5s %-44s %-8s %-8s %-10s %s\n", "PROTO", "TUPLE", "DIR", "REWRITE",
	       "BACKEND", "IDLE(s)", "PACKETS", "FLAGS");
	while (bpf_map_get_next_key(ct, have ? &key : NULL, &next) == 0) {
		char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], tuple[64], rw[64] = "", part[40];

		key = next;
		have = true;
		if (bpf_map_lookup_elem(ct, &key, &v))
			continue;
		snprintf(tuple, sizeof(tuple), "%s:%u -> %s:%u", ip_str(key.saddr, s),
			 ntohs(key.sport), ip_str(key.daddr, d), ntohs(key.dport));
		if (v.flags & DRV_CT_F_SNAT) {
			snprintf(part, sizeof(part), "src=%s:%u ", ip_str(v.nat_saddr, s),
				 ntohs(v.nat_sport));
			strcat(rw, part);
		}
		if (v.flags & DRV_CT_F_DNAT) {
			snprintf(part, sizeof(part), "dst=%s:%u", ip_str(v.nat_daddr, d),
				 ntohs(v.nat_dport));
			strcat(rw, part);
		}
		printf("%-5s %-44s %-5s %-44s %-8u %-8.1f %-10llu %s%s%s\n", proto_str(key.proto),
		       tuple, v.dir == DRV_CT_SVC ? "svc" : "reply", rw, v.backend_id,
		       now > v.last_seen_ns ? (double)(now - v.last_seen_ns) / 1e9 : 0.0,
		       (unsigned long long)v.packets,
		       v.flags & DRV_CT_F_NODEPORT ? "nodeport " : "",
		       v.flags & DRV_CT_F_XDP ? "xdp " : "",
		       v.flags & DRV_CT_F_CLOSED     ? "closed"
		       : v.flags & DRV_CT_F_SEEN_FIN ? "closing"
						     : "");
		n++;
	}
	printf("%zu entries\n", n);
	close(ct);
	return 0;
}

static int list_stats(const struct bpf_ctx *c)
{
	int st = open_map(c, DRV_MAP_STATS), names = open_map(c, DRV_MAP_NAMES);
	int rn = open_map(c, DRV_MAP_REVNAT), pk = open_map(c, DRV_MAP_PKTS);
	struct stats_row *rows;
	size_t n;
	int err;

	if (st < 0 || pk < 0 || rn < 0)
		return 1;
	err = stats_collect(st, pk, rn, &rows, &n);
	if (err) {
		fprintf(stderr, "drover bpf stats: %s\n", strerror(-err));
		return 1;
	}
	printf("%-5s %-26s %-34s %-6s %-19s %12s %14s\n", "ID", "FRONTEND", "SERVICE", "PATH",
	       "COUNTER", "PACKETS/CONN", "BYTES");
	for (size_t i = 0; i < n; i++) {
		char nm[80], fe[64] = "-";
		uint32_t id = rows[i].rev_nat;
		struct drv_revnat r;

		name_of(names, id, nm, sizeof(nm));
		if (bpf_map_lookup_elem(rn, &id, &r) == 0)
			frontend_str(r.addr, r.port, r.proto, fe, sizeof(fe));
		printf("%-5u %-26s %-34s %-6s %-19s %12llu %14llu\n", id, fe, nm,
		       stats_path_name(rows[i].path), stats_kind_name(rows[i].kind),
		       (unsigned long long)rows[i].packets, (unsigned long long)rows[i].bytes);
	}
	free(rows);
	close(st);
	close(pk);
	close(rn);
	if (names >= 0)
		close(names);
	return 0;
}

/* drv_ep1: the local pods drover-cni registered, sorted by address. */
struct ep_row {
	uint32_t addr;
	struct drv_endpoint v;
};

static int cmp_ep(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct ep_row *)a)->addr);
	uint32_t y = ntohl(((const struct ep_row *)b)->addr);

	return x < y ? -1 : x > y;
}

static int list_endpoints(const struct bpf_ctx *c)
{
	int fd = open_map(c, DRV_MAP_ENDPOINT);
	struct ep_row *rows = NULL;
	size_t n = 0, cap = 0;
	uint32_t key, next;
	bool have = false;

	if (fd < 0)
		return 1;
	while (bpf_map_get_next_key(fd, have ? &key : NULL, &next) == 0) {
		key = next;
		have = true;
		if (n == cap) {
			void *p = realloc(rows, (cap = cap ? cap * 2 : 64) * sizeof(*rows));

			if (!p) {
				free(rows);
				close(fd);
				fprintf(stderr, "drover bpf endpoints: out of memory\n");
				return 1;
			}
			rows = p;
		}
		rows[n].addr = key;
		if (bpf_map_lookup_elem(fd, &key, &rows[n].v) == 0)
			n++;
	}
	close(fd);
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_ep);
	printf("%-15s %-8s %-16s %-17s %-17s %s\n", "POD", "IFINDEX", "HOST-SIDE", "POD-MAC",
	       "HOST-MAC", "DELIVERY");
	for (size_t i = 0; i < n; i++) {
		const struct drv_endpoint *v = &rows[i].v;
		char a[INET_ADDRSTRLEN], name[IF_NAMESIZE] = "(gone)";

		if_indextoname(v->ifindex, name);
		printf("%-15s %-8u %-16s %02x:%02x:%02x:%02x:%02x:%02x "
		       "%02x:%02x:%02x:%02x:%02x:%02x %s\n",
		       ip_str(rows[i].addr, a), v->ifindex, name, v->mac[0], v->mac[1], v->mac[2],
		       v->mac[3], v->mac[4], v->mac[5], v->host_mac[0], v->host_mac[1],
		       v->host_mac[2], v->host_mac[3], v->host_mac[4], v->host_mac[5],
		       (v->flags & DRV_EP_F_NO_REDIRECT) ? "host-stack" : "redirect-peer");
	}
	printf("%zu endpoints\n", n);
	free(rows);
	return 0;
}

static void bpf_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: drover bpf <services|backends|ct|stats|endpoints> [--pin-root DIR]\n"
	    "  services   frontends (VIP:port/proto) and their backends\n"
	    "  backends   backend ids and addresses\n"
	    "  ct         connection tracking of the tc and XDP paths\n"
	    "  stats      per-frontend counters per path (socket, tc, xdp) and drop reason\n"
	    "  endpoints  local pods delivered by bpf_redirect_peer (registered by drover-cni)\n");
}

int cmd_bpf(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pin-root", required_argument, 0, 'p'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct bpf_ctx c = {.pin_root = DP_PIN_ROOT_DEFAULT};
	const char *what;
	int o;

	if (argc < 2) {
		bpf_usage(stderr);
		return 2;
	}
	what = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'p')
			c.pin_root = optarg;
		else if (o == 'h') {
			bpf_usage(stdout);
			return 0;
		} else {
			bpf_usage(stderr);
			return 2;
		}
	}
	if (!strcmp(what, "services"))
		return list_services(&c);
	if (!strcmp(what, "backends"))
		return list_backends(&c);
	if (!strcmp(what, "ct"))
		return list_ct(&c);
	if (!strcmp(what, "stats"))
		return list_stats(&c);
	if (!strcmp(what, "endpoints"))
		return list_endpoints(&c);
	if (!strcmp(what, "--help") || !strcmp(what, "-h")) {
		bpf_usage(stdout);
		return 0;
	}
	fprintf(stderr, "drover bpf: unknown table '%s'\n", what);
	bpf_usage(stderr);
	return 2;
}
#endif
