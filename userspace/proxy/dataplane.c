/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dataplane: skeleton lifecycle (open -> configure rodata and map sizes -> load -> attach),
 * attachment adoption across restarts, socket destruction, uninstall.
 */
#define _GNU_SOURCE
#include "cgroup.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "fsutil.h"
#include "lbmap.h"
#include "log.h"
#include "tc_attach.h"
#include "udp_reconnect.h"

#include "sock.skel.h"
#include "sockdestroy.skel.h"
#include "tc.skel.h"
#include "xdp.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#define COMP "dataplane"

/* In enum dp_map's order, which is drover_abi.h's: the one list of the maps drover pins. */
static const char *const map_names[] = {DRV_MAP_NAMES_ALL};
_Static_assert(sizeof(map_names) / sizeof(map_names[0]) == DP_MAP_COUNT,
	       "enum dp_map and DRV_MAP_NAMES_ALL name the same maps");

static int remove_map_pins(const char *pin_root, bool stale_only);

/* telemetry.bpf.c's maps: pinned beside the others, removed by uninstall, never stale */
static const char *const tl_map_names[] = {DRV_MAP_TL_NAMES_ALL};

static const char *const cgroup_progs[] = {"drv_connect4", "drv_sendmsg4", "drv_recvmsg4",
					   "drv_getpeer4"};

struct dataplane {
	struct dp_opts o;
	char pin_root[256];
	char cgroup[256];
	struct sock_bpf *sock;
	struct tc_bpf *tc;
	struct xdp_bpf *xdp;
	struct sockdestroy_bpf *sd;
	struct telemetry_bpf *tl; /* NULL: telemetry off (asked, or the kernel cannot) */
	int map_fd[DP_MAP_COUNT];
	bool attach_full_logged; /* drv_attach1 refused a record (uninstall still finds it) */
};

/* ---------- helpers ---------- */

/* The node's cgroup layout (cgroup.h) knows where the v2 tree is. */
int dp_cgroup2_root(char *buf, size_t len)
{
	struct cg_layout *l = cg_layout_detect(NULL, NULL);
	int err = !l ? -errno : !l->unified ? -ENOENT : 0;

	if (!err)
		snprintf(buf, len, "%s", l->unified);
	cg_layout_free(l);
	return err;
}

static int check_bpffs(const char *pin_root)
{
	char parent[256];
	struct statfs st;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_root);
	/* The pin root may not exist yet: check the nearest existing ancestor. */
	while (statfs(parent, &st) != 0) {
		slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			return -ENOENT;
		*slash = '\0';
	}
	if (st.f_type != BPF_FS_MAGIC) {
		log_error(COMP, "%s is not on a BPF filesystem (mount -t bpf bpf /sys/fs/bpf)",
			  pin_root);
		return -EINVAL;
	}
	return 0;
}

static bool dev_is_veth(const char *ifname)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool veth = false;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		veth = strcmp(info.driver, "veth") == 0;
	close(fd);
	return veth;
}

/* ---------- open / load ---------- */

/* Before load: size every map, taking the size of an already pinned map (a restart with
 * other flags must not fail to reuse; the pinned size wins and a warning says so). */
int dp_size_maps(const char *pin_root, const struct dp_opts *o, struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		const char *name = bpf_map__name(map);
		uint32_t want = 0;
		char path[320];
		int fd;

		if (!strcmp(name, DRV_MAP_SVC))
			want = o->sizes.svc;
		else if (!strcmp(name, DRV_MAP_BACKEND) || !strcmp(name, DRV_MAP_DRAIN))
			want = o->sizes.backend;
		else if (!strcmp(name, DRV_MAP_REVNAT) || !strcmp(name, DRV_MAP_NAMES) ||
			 !strcmp(name, DRV_MAP_PKTS))
			want = o->sizes.revnat;
		else if (!strcmp(name, DRV_MAP_CT))
			want = o->sizes.ct;
		else if (!strcmp(name, DRV_MAP_AFFINITY))
			want = o->sizes.affinity;
		else if (!strcmp(name, DRV_MAP_SOCKRNAT) || !strcmp(name, DRV_MAP_SOCKUDP))
			want = o->sizes.sock_rnat;
		else if (!strcmp(name, DRV_MAP_MAGLEV))
			want = o->sizes.maglev_outer;
		else if (!strcmp(name, DRV_MAP_STATS))
			want = o->sizes.stats;
		else if (!strcmp(name, DRV_MAP_ENDPOINT))
			want = o->sizes.endpoint;
		else if (!strcmp(name, DRV_MAP_ATTACH))
			want = o->sizes.attach;
		else if (!strcmp(name, DRV_MAP_TL_TCP) || !strcmp(name, DRV_MAP_TL_HTTP))
			want = o->tl_max_series;
		else if (!strcmp(name, DRV_MAP_TL_EV))
			want = o->tl_ringbuf_bytes;
		if (bpf_map__pin_path(map) == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, name);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			struct bpf_map_info info;
			__u32 len = sizeof(info);

			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
				if (want && info.max_entries != want)
					log_warn(COMP,
						 "map %s is pinned with %u entries, %u requested: "
						 "keeping %u (uninstall to resize)",
						 name, info.max_entries, want, info.max_entries);
				want = info.max_entries;
			}
			close(fd);
		}
		if (want && bpf_map__set_max_entries(map, want)) {
			log_error(COMP, "map %s: cannot size to %u", name, want);
			return -EINVAL;
		}
	}
	return 0;
}

#define OPEN_SKEL(dp, field, type)                                                      \
	({                                                                              \
		LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = (dp)->pin_root); \
		int __e = 0;                                                            \
		(dp)->field = type##__open_opts(&oo);                                   \
		if (!(dp)->field) {                                                     \
			__e = -errno;                                                   \
			log_error(COMP, "open %s: %s", #type, strerror(errno));         \
		} else {                                                                \
			(dp)->field->rodata->drv_cfg = (dp)->o.cfg;                     \
			__e = dp_size_maps((dp)->pin_root, &(dp)->o, (dp)->field->obj); \
			if (!__e && type##__load((dp)->field)) {                        \
				__e = -errno;                                           \
				log_error(COMP, "load %s: %s", #type, strerror(errno)); \
			}                                                               \
		}                                                                       \
		__e;                                                                    \
	})

int dp_open(struct dataplane **out, const struct dp_opts *opts)
{
	struct dataplane *dp = calloc(1, sizeof(*dp));
	int err;

	if (!dp)
		return -ENOMEM;
	dp->o = *opts;
	for (int i = 0; i < DP_MAP_COUNT; i++)
		dp->map_fd[i] = -1;
	snprintf(dp->pin_root, sizeof(dp->pin_root), "%s",
		 opts->pin_root ? opts->pin_root : DP_PIN_ROOT_DEFAULT);
	if (opts->cgroup) {
		snprintf(dp->cgroup, sizeof(dp->cgroup), "%s", opts->cgroup);
	} else if (opts->sock_lb && dp_cgroup2_root(dp->cgroup, sizeof(dp->cgroup))) {
		log_error(COMP, "no cgroup v2 hierarchy mounted under /sys/fs/cgroup; use --cgroup "
				"PATH");
		err = -ENOENT;
		goto fail;
	}
	err = check_bpffs(dp->pin_root);
	if (err)
		goto fail;
	err = fs_mkdir_p(dp->pin_root, 0700, NULL);
	if (err) {
		log_error(COMP, "create %s: %s", dp->pin_root, strerror(-err));
		goto fail;
	}
	/* tc first: it has every shared map; the others then reuse the pinned instances. */
	err = OPEN_SKEL(dp, tc, tc_bpf);
	if (!err)
		err = OPEN_SKEL(dp, xdp, xdp_bpf);
	if (!err)
		err = OPEN_SKEL(dp, sock, sock_bpf);
	if (!err)
		err = OPEN_SKEL(dp, sd, sockdestroy_bpf);
	if (err)
		goto fail;
	/* telemetry is not worth the service proxy: a kernel that cannot load it runs without */
	if (opts->telemetry)
		dp->tl = dp_tl_open(dp->pin_root, &dp->o);
	for (int i = 0; i < DP_MAP_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(dp->tc->obj, map_names[i]);

		dp->map_fd[i] = m ? bpf_map__fd(m) : -1;
		if (dp->map_fd[i] < 0) {
			log_error(COMP, "map %s missing from the tc object", map_names[i]);
			err = -ENOENT;
			goto fail;
		}
	}
	*out = dp;
	return 0;
fail:
	dp_close(dp);
	return err;
}

void dp_close(struct dataplane *dp)
{
	if (!dp)
		return;
	sock_bpf__destroy(dp->sock);
	tc_bpf__destroy(dp->tc);
	xdp_bpf__destroy(dp->xdp);
	sockdestroy_bpf__destroy(dp->sd);
	dp_tl_close(dp->tl);
	free(dp);
}

int dp_map_fd(const struct dataplane *dp, enum dp_map which)
{
	return which < DP_MAP_COUNT ? dp->map_fd[which] : -1;
}

int dp_prog_fd(const struct dataplane *dp, const char *name)
{
	struct bpf_object *objs[] = {dp->tc->obj, dp->xdp->obj, dp->sock->obj, dp->sd->obj};

	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(objs[i], name);

		if (p)
			return bpf_program__fd(p);
	}
	return -ENOENT;
}

void dp_lbmap_fds(const struct dataplane *dp, struct lbmap_fds *fds)
{
	fds->svc = dp->map_fd[DP_MAP_SVC];
	fds->backend = dp->map_fd[DP_MAP_BACKEND];
	fds->revnat = dp->map_fd[DP_MAP_REVNAT];
	fds->maglev = dp->map_fd[DP_MAP_MAGLEV];
	fds->affinity = dp->map_fd[DP_MAP_AFFINITY];
	fds->names = dp->map_fd[DP_MAP_NAMES];
	{
		const struct btf *b = bpf_object__btf(dp->tc->obj);
		int id = b ? btf__find_by_name_kind(b, "__u32", BTF_KIND_TYPEDEF) : -1;

		fds->btf = b && id > 0 ? btf__fd(b) : -1;
		fds->btf_u32 = id > 0 ? (uint32_t)id : 0;
	}
}

/* ---------- cgroup links ---------- */

int dp_attach_cgroup_prog(const char *pin_root, const char *cgroup, struct bpf_program *prog,
			  int cg_fd, __u64 cg_id)
{
	char dir[320], path[400];
	struct bpf_link *link;
	int err;

	snprintf(dir, sizeof(dir), "%s/links", pin_root);
	err = fs_mkdir_p(dir, 0700, NULL);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", dir, bpf_program__name(prog));

	link = access(path, F_OK) == 0 ? bpf_link__open(path) : NULL;
	if (link) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) == 0 &&
		    info.cgroup.cgroup_id == cg_id) {
			err = bpf_link__update_program(link, prog);
			if (err)
				log_error(COMP, "update pinned link %s: %s", path, strerror(-err));
			else
				log_info(COMP, "%s: new program swapped into the pinned link",
					 bpf_program__name(prog));
			bpf_link__disconnect(link);
			bpf_link__destroy(link);
			return err;
		}
		/* Pinned to another cgroup: move it. */
		log_info(COMP, "%s: pinned link is on another cgroup; re-attaching to %s",
			 bpf_program__name(prog), cgroup);
		bpf_link__unpin(link);
		bpf_link__detach(link);
		bpf_link__destroy(link);
	}
	link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!link) {
		err = -errno;
		log_error(COMP, "attach %s to %s: %s", bpf_program__name(prog), cgroup,
			  strerror(errno));
		return err;
	}
	err = bpf_link__pin(link, path);
	if (err) {
		log_error(COMP, "pin %s: %s", path, strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return 0;
}

static int attach_cgroup(struct dataplane *dp)
{
	struct stat st;
	int cg_fd, err = 0;

	cg_fd = open(dp->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		err = -errno;
		log_error(COMP, "cgroup %s: %s", dp->cgroup, strerror(errno));
		if (cg_fd >= 0)
			close(cg_fd);
		return err;
	}
	for (size_t i = 0; i < sizeof(cgroup_progs) / sizeof(cgroup_progs[0]) && !err; i++) {
		struct bpf_program *p =
		    bpf_object__find_program_by_name(dp->sock->obj, cgroup_progs[i]);

		err = p ? dp_attach_cgroup_prog(dp->pin_root, dp->cgroup, p, cg_fd, st.st_ino)
			: -ENOENT;
	}
	close(cg_fd);
	if (!err)
		log_info(COMP, "socket LB attached to cgroup %s", dp->cgroup);
	return err;
}

/* ---------- tc ---------- */

static void attach_record(struct dataplane *dp, int ifindex, const char *ifname, __u32 set,
			  __u32 clear)
{
	struct drv_attach a;
	__u32 key = (__u32)ifindex;

	memset(&a, 0, sizeof(a));
	bpf_map_lookup_elem(dp->map_fd[DP_MAP_ATTACH], &key, &a);
	a.flags = (a.flags & ~clear) | set;
	snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
	if (bpf_map_update_elem(dp->map_fd[DP_MAP_ATTACH], &key, &a, BPF_ANY) &&
	    !dp->attach_full_logged) {
		/* Not fatal: the record serves a restart's re-attach and uninstall's clean-up of
		 * the clsact qdisc; uninstall finds drover's filters on the links themselves. */
		log_warn(COMP, "%s: record the attachment in %s: %s", ifname, DRV_MAP_ATTACH,
			 strerror(errno));
		dp->attach_full_logged = true;
	}
}

static int attach_tc(struct dataplane *dp, const char *ifname, struct bpf_program *prog, __u32 flag)
{
	int ifindex = (int)if_nametoindex(ifname);
	bool created;
	int err;

	if (!ifindex) {
		log_error(COMP, "device %s: no such device", ifname);
		return -ENODEV;
	}
	err = tca_clsact(ifindex, &created);
	if (err) {
		log_error(COMP, "%s: create clsact: %s", ifname, strerror(-err));
		return err;
	}
	err = tca_attach(ifindex, bpf_program__fd(prog));
	if (err) {
		log_error(COMP, "%s: attach %s: %s", ifname, bpf_program__name(prog),
			  strerror(-err));
		return err;
	}
	attach_record(dp, ifindex, ifname, flag | (created ? DRV_ATT_CLSACT : 0),
		      (DRV_ATT_TC_POD | DRV_ATT_TC_NODE) & ~flag);
	log_info(COMP, "%s: %s on tc ingress", ifname, bpf_program__name(prog));
	return 0;
}

int dp_attach_pod_dev(struct dataplane *dp, const char *ifname)
{
	return attach_tc(dp, ifname, dp->tc->progs.drv_tc_pod, DRV_ATT_TC_POD);
}

int dp_ensure_pod_dev(struct dataplane *dp, const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	__u32 id = 0, key = (__u32)ifindex;
	struct drv_attach a;

	if (!ifindex)
		return -ENODEV;
	if (tca_query(ifindex, &id) != 0 ||
	    id != tca_prog_id(bpf_program__fd(dp->tc->progs.drv_tc_pod))) {
		int err = dp_attach_pod_dev(dp, ifname);

		return err ? err : 1;
	}
	/* attached (by an event, drover-cni or an earlier run): recorded too, now that the
	 * map may have room again */
	if (bpf_map_lookup_elem(dp->map_fd[DP_MAP_ATTACH], &key, &a) ||
	    !(a.flags & DRV_ATT_TC_POD) || strncmp(a.ifname, ifname, sizeof(a.ifname)))
		attach_record(dp, ifindex, ifname, DRV_ATT_TC_POD | DRV_ATT_CLSACT_UNKNOWN,
			      DRV_ATT_TC_NODE);
	return 0;
}

void dp_attach_forget(struct dataplane *dp, int ifindex)
{
	__u32 key = (__u32)ifindex;

	if (bpf_map_delete_elem(dp->map_fd[DP_MAP_ATTACH], &key) == 0)
		dp->attach_full_logged = false;
}

/* ---------- XDP ---------- */

static int attach_xdp(struct dataplane *dp, const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	int prog_fd = bpf_program__fd(dp->xdp->progs.drv_xdp_lb);
	__u32 svc_id = tca_map_id(dp->map_fd[DP_MAP_SVC]);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	enum dp_xdp_mode mode = dp->o.xdp_mode;
	__u32 modes[2], nmodes = 0;
	int err = -EOPNOTSUPP;

	if (!ifindex)
		return -ENODEV;
	if (mode == DP_XDP_OFF)
		return 0;
	if (bpf_xdp_query(ifindex, 0, &q) == 0) {
		__u32 cur[2] = {q.drv_prog_id, q.skb_prog_id};

		for (int i = 0; i < 2; i++) {
			if (cur[i] && !tca_prog_ours(cur[i], svc_id, "drv_xdp", NULL)) {
				log_error(COMP,
					  "%s: another XDP program (id %u) is attached; "
					  "NodePort is served by tc there",
					  ifname, cur[i]);
				return -EBUSY;
			}
		}
	}
	if (mode == DP_XDP_AUTO)
		mode = dev_is_veth(ifname) ? DP_XDP_GENERIC : DP_XDP_NATIVE;
	modes[nmodes++] = mode == DP_XDP_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	if (dp->o.xdp_mode == DP_XDP_AUTO && mode == DP_XDP_NATIVE)
		modes[nmodes++] = XDP_FLAGS_SKB_MODE;

	for (__u32 i = 0; i < nmodes; i++) {
		__u32 cur = modes[i] == XDP_FLAGS_DRV_MODE ? q.drv_prog_id : q.skb_prog_id;
		LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
		__u32 flags = modes[i];
		int old_fd = -1;

		if (cur) {
			old_fd = bpf_prog_get_fd_by_id(cur);
			ao.old_prog_fd = old_fd;
			flags |= XDP_FLAGS_REPLACE;
		} else {
			flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
		}
		err = bpf_xdp_attach(ifindex, prog_fd, flags, &ao);
		if (old_fd >= 0)
			close(old_fd);
		if (!err) {
			bool native = modes[i] == XDP_FLAGS_DRV_MODE;

			/* A program of ours left in the other mode by an earlier run goes. */
			if (native && q.skb_prog_id)
				bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
			if (!native && q.drv_prog_id)
				bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
			attach_record(dp, ifindex, ifname,
				      native ? DRV_ATT_XDP_DRV : DRV_ATT_XDP_SKB,
				      native ? DRV_ATT_XDP_SKB : DRV_ATT_XDP_DRV);
			log_info(COMP, "%s: drv_xdp_lb attached (%s XDP)", ifname,
				 native ? "native" : "generic");
			return 0;
		}
	}
	log_warn(COMP, "%s: XDP cannot attach (%s); NodePort is served by tc there", ifname,
		 strerror(-err));
	return err;
}

/* Pin drv_tc_pod as <pin-root>/progs/drv_tc_pod for drover-cni: pinned under a temporary
 * name, then renamed over the old pin, so that a concurrent ADD finds one or the other. */
static int pin_progs(struct dataplane *dp)
{
	char dir[320], path[400], tmp[420];
	int err;

	snprintf(dir, sizeof(dir), "%s/%s", dp->pin_root, DRV_PIN_PROGS_DIR);
	err = fs_mkdir_p(dir, 0700, NULL);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", dir, DRV_PROG_TC_POD);
	snprintf(tmp, sizeof(tmp), "%s_new_%d", path, (int)getpid()); /* bpffs: no dots */
	unlink(tmp);
	if (bpf_obj_pin(bpf_program__fd(dp->tc->progs.drv_tc_pod), tmp)) {
		err = -errno;
		log_error(COMP, "pin %s: %s", tmp, strerror(errno));
		return err;
	}
	if (rename(tmp, path)) {
		err = -errno;
		log_error(COMP, "rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return err;
	}
	return 0;
}

/* Every key of drv_attach1 (malloc'd; *n of them), or NULL. */
static __u32 *attach_keys(int fd, size_t *n)
{
	size_t cap = 256;
	__u32 *keys = malloc(cap * sizeof(*keys)), key, next;
	bool have = false;

	*n = 0;
	while (keys && bpf_map_get_next_key(fd, have ? &key : NULL, &next) == 0) {
		if (*n == cap) {
			__u32 *k = realloc(keys, 2 * cap * sizeof(*keys));

			if (!k)
				break; /* the rest waits for the next reconcile */
			keys = k;
			cap *= 2;
		}
		key = next;
		have = true;
		keys[(*n)++] = key;
	}
	return keys;
}

/* A record whose device is gone (or renamed: the index was reused). */
static bool attach_stale(__u32 ifindex, const struct drv_attach *a, char *name)
{
	return !if_indextoname(ifindex, name) || strncmp(name, a->ifname, sizeof(a->ifname));
}

int dp_attach_prune(struct dataplane *dp)
{
	int fd = dp->map_fd[DP_MAP_ATTACH], pruned = 0;
	size_t n;
	__u32 *keys = attach_keys(fd, &n);

	for (size_t i = 0; keys && i < n; i++) {
		char name[IF_NAMESIZE];
		struct drv_attach a;

		if (bpf_map_lookup_elem(fd, &keys[i], &a) == 0 && attach_stale(keys[i], &a, name))
			pruned += bpf_map_delete_elem(fd, &keys[i]) == 0;
	}
	free(keys);
	if (pruned)
		dp->attach_full_logged = false;
	return keys ? pruned : -ENOMEM;
}

/* Devices given drv_tc_pod by someone else (drover-cni, from the pin) or by an earlier run
 * are recorded in drv_attach1: a new proxy swaps its own program in there, so that every
 * pod runs one version. A record whose device is gone is dropped. */
static void reattach_recorded_pods(struct dataplane *dp)
{
	int fd = dp->map_fd[DP_MAP_ATTACH];
	size_t n;
	__u32 *keys = attach_keys(fd, &n);

	for (size_t i = 0; keys && i < n; i++) {
		char name[IF_NAMESIZE];
		struct drv_attach a;

		if (bpf_map_lookup_elem(fd, &keys[i], &a) || !(a.flags & DRV_ATT_TC_POD))
			continue;
		if (attach_stale(keys[i], &a, name)) {
			bpf_map_delete_elem(fd, &keys[i]);
			continue;
		}
		attach_tc(dp, name, dp->tc->progs.drv_tc_pod, DRV_ATT_TC_POD);
	}
	free(keys);
}

int dp_attach(struct dataplane *dp)
{
	int err;

	err = pin_progs(dp);
	if (err)
		return err;
	reattach_recorded_pods(dp);

	if (dp->o.sock_lb) {
		err = attach_cgroup(dp);
		if (err)
			return err;
	}
	for (size_t i = 0; i < dp->o.nnode_devs; i++) {
		err = attach_tc(dp, dp->o.node_devs[i], dp->tc->progs.drv_tc_node, DRV_ATT_TC_NODE);
		if (err)
			return err;
		attach_xdp(dp, dp->o.node_devs[i]);
	}
	if (dp->tl && !dp->cgroup[0] && dp_cgroup2_root(dp->cgroup, sizeof(dp->cgroup))) {
		log_warn(COMP, "telemetry off: no cgroup v2 hierarchy to attach to");
		dp_tl_close(dp->tl);
		dp->tl = NULL;
	}
	if (dp->tl && dp_tl_attach(dp->tl, dp->pin_root, dp->cgroup)) {
		dp_tl_close(dp->tl);
		dp->tl = NULL;
	}
	if (!dp->tl)
		dp_tl_detach(dp->pin_root); /* --no-telemetry: an earlier run's links go */
	/* Every attachment now runs this version's programs: maps of older layouts that they
	 * used are unpinned (they go away with the last program holding them). */
	remove_map_pins(dp->pin_root, true);
	return 0;
}

/* ---------- UDP socket destruction ---------- */

struct destroy_job {
	struct dataplane *dp;
	int link_fd;
	long destroyed;
	int err;
};

static int netns_seen(const struct stat *seen, size_t n, const struct stat *st)
{
	for (size_t i = 0; i < n; i++) {
		if (seen[i].st_dev == st->st_dev && seen[i].st_ino == st->st_ino)
			return 1;
	}
	return 0;
}

static void run_iter_here(struct destroy_job *job)
{
	char buf[64];
	int fd = bpf_iter_create(job->link_fd);

	if (fd < 0) {
		job->err = -errno;
		return;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* Runs in its own thread: setns() changes only this thread's network namespace. */
static void *destroy_thread(void *arg)
{
	struct destroy_job *job = arg;
	struct stat *seen = NULL;
	size_t nseen = 0, cap = 0;
	const char *dirs[] = {"/proc", "/run/netns"};

	for (size_t d = 0; d < 2; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			char path[300];
			struct stat st;
			int fd;

			if (e->d_name[0] == '.')
				continue;
			if (d == 0) {
				if (e->d_name[0] < '0' || e->d_name[0] > '9')
					continue;
				snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
			} else {
				snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
			}
			if (stat(path, &st) || netns_seen(seen, nseen, &st))
				continue;
			if (nseen == cap) {
				void *p = realloc(seen, (cap ? cap * 2 : 64) * sizeof(*seen));

				if (!p)
					break;
				seen = p;
				cap = cap ? cap * 2 : 64;
			}
			seen[nseen++] = st;
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (setns(fd, CLONE_NEWNET) == 0)
				run_iter_here(job);
			close(fd);
		}
		closedir(dir);
	}
	free(seen);
	return NULL;
}

long dp_destroy_udp_sockets(struct dataplane *dp, const struct lb_backend *bes, size_t n)
{
	int tgt = bpf_map__fd(dp->sd->maps.drv_destroy_tgt);
	struct destroy_job job = {.dp = dp};
	struct udp_reconnect_stats rs = {0};
	struct bpf_link *link;
	pthread_t th;
	size_t added = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		struct drv_destroy_key k = {.addr = bes[i].addr, .port = bes[i].port};
		__u8 one = 1;

		if (bes[i].proto != DRV_PROTO_UDP)
			continue;
		if (bpf_map_update_elem(tgt, &k, &one, BPF_ANY) == 0)
			added++;
	}
	if (!added)
		return 0;
	/* First the sockets that processes hold: connected again to their service, they carry
	 * on to a live backend with no error (kube-proxy's behaviour). What is left — no live
	 * backend to move to, or no process holding the socket — is destroyed below. */
	err = udp_reconnect_sockets(dp->sd, &rs);
	if (err)
		log_warn(COMP,
			 "UDP sockets of removed backends: cannot walk open files (%s); "
			 "destroying them",
			 strerror(-err));
	if (rs.reconnected)
		log_info(COMP,
			 "re-connected %ld UDP socket(s) of removed backends to their service",
			 rs.reconnected);
	if (rs.failed)
		log_info(COMP, "%ld UDP socket(s) of removed backends not re-connected (%s)",
			 rs.failed, strerror(-rs.last_err));
	dp->sd->bss->destroyed = 0;
	link = bpf_program__attach_iter(dp->sd->progs.drv_udp_destroy, NULL);
	if (!link) {
		log_warn(COMP, "UDP socket iterator: %s", strerror(errno));
		job.err = -errno;
		goto out;
	}
	job.link_fd = bpf_link__fd(link);
	if (pthread_create(&th, NULL, destroy_thread, &job) == 0)
		pthread_join(th, NULL);
	bpf_link__destroy(link);
	job.destroyed = (long)dp->sd->bss->destroyed;
	if (job.destroyed)
		log_info(COMP, "closed %ld UDP socket(s) connected to removed backends",
			 job.destroyed);
out:
	/* Empty the target set for next time. */
	for (size_t i = 0; i < n; i++) {
		struct drv_destroy_key k = {.addr = bes[i].addr, .port = bes[i].port};

		bpf_map_delete_elem(tgt, &k);
	}
	return job.err ? job.err : job.destroyed;
}

/* ---------- uninstall ---------- */

/* Unlink drover's map pins under pin_root: all of them, or (stale_only) those whose name is
 * not a map of this version (an older layout, superseded by a renamed map). A pin goes; the
 * map lives on while a program still uses it. Returns how many were removed. */
static int remove_map_pins(const char *pin_root, bool stale_only)
{
	char path[640];
	struct dirent *e;
	int removed = 0;
	DIR *d = opendir(pin_root);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		bool cur = false;

		if (strncmp(e->d_name, "drv_", 4) != 0)
			continue;
		for (size_t i = 0; i < DP_MAP_COUNT && !cur; i++)
			cur = strcmp(e->d_name, map_names[i]) == 0;
		for (size_t i = 0; i < sizeof(tl_map_names) / sizeof(tl_map_names[0]) && !cur; i++)
			cur = strcmp(e->d_name, tl_map_names[i]) == 0;
		if (stale_only && cur)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, e->d_name);
		if (unlink(path) == 0) {
			removed++;
			if (stale_only)
				log_info(COMP, "removed %s, a map of an older drover layout", path);
		}
	}
	closedir(d);
	return removed;
}

/* drover's tc filter and XDP program off one link (those of the pin root whose service map
 * is svc_id: another drover's stay). A clsact qdisc goes when drv_attach1 says drover made
 * it, or, for a link the record does not know (or knows only from a reconcile), when
 * drover's filter was all it held.
 * Returns how many attachments were removed. */
static int uninstall_link(int attach_fd, __u32 svc_id, int ifindex, const char *ifname)
{
	__u32 key = (__u32)ifindex, id = 0;
	struct drv_attach a;
	bool rec, ours;
	int removed = 0;

	memset(&a, 0, sizeof(a));
	rec = attach_fd >= 0 && bpf_map_lookup_elem(attach_fd, &key, &a) == 0 &&
	      strncmp(a.ifname, ifname, sizeof(a.ifname)) == 0;
	if (!rec)
		a.flags = 0;
	/* links without a clsact qdisc are passed over quietly (a query there makes the
	 * kernel complain through libbpf's log) */
	ours = tca_clsact_filters(ifindex) > 0 && tca_query(ifindex, &id) == 0 &&
	       tca_prog_ours(id, svc_id, "drv_tc", NULL);
	if (ours || (a.flags & DRV_ATT_CLSACT)) {
		/* a clsact qdisc drover created goes with drover (and with it any filter
		 * someone added to it later, at drover's handle or not) */
		tca_detach(ifindex, a.flags & DRV_ATT_CLSACT);
		if ((!rec || (a.flags & DRV_ATT_CLSACT_UNKNOWN)) && !(a.flags & DRV_ATT_CLSACT) &&
		    tca_clsact_filters(ifindex) == 0)
			tca_detach(ifindex, true);
		removed += ours;
	}
	for (int m = 0; m < 2; m++) {
		__u32 mode = m ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;

		id = 0;
		if (bpf_xdp_query_id(ifindex, (int)mode, &id) == 0 && id &&
		    tca_prog_ours(id, svc_id, "drv_xdp", NULL)) {
			bpf_xdp_detach(ifindex, mode, NULL);
			removed++;
		}
	}
	return removed;
}

int dp_uninstall(const char *pin_root)
{
	char path[640], links[320];
	int attach_fd, svc_fd;
	__u32 svc_id = 0;
	struct if_nameindex *ifs;
	int removed = 0;
	DIR *d;

	if (!pin_root)
		pin_root = DP_PIN_ROOT_DEFAULT;

	/* cgroup links */
	snprintf(links, sizeof(links), "%s/links", pin_root);
	d = opendir(links);
	if (d) {
		struct dirent *e;

		while ((e = readdir(d))) {
			struct bpf_link *l;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", links, e->d_name);
			l = bpf_link__open(path);
			if (l) {
				bpf_link__detach(l);
				bpf_link__destroy(l);
			}
			unlink(path);
			removed++;
		}
		closedir(d);
		rmdir(links);
	}

	/* tc and XDP: every link is looked at (a program attached while drv_attach1 was full,
	 * or by a CNI ADD that raced with us, is not in the record); the record only says
	 * which clsact qdiscs drover created. */
	snprintf(path, sizeof(path), "%s/%s", pin_root, DRV_MAP_SVC);
	svc_fd = bpf_obj_get(path);
	if (svc_fd >= 0) {
		svc_id = tca_map_id(svc_fd);
		close(svc_fd);
	}
	snprintf(path, sizeof(path), "%s/%s", pin_root, DRV_MAP_ATTACH);
	attach_fd = bpf_obj_get(path);
	ifs = if_nameindex();
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		removed += uninstall_link(attach_fd, svc_id, (int)i->if_index, i->if_name);
	if (ifs)
		if_freenameindex(ifs);
	if (attach_fd >= 0)
		close(attach_fd);

	/* program pins (drover-cni's source of drv_tc_pod) */
	snprintf(links, sizeof(links), "%s/%s", pin_root, DRV_PIN_PROGS_DIR);
	d = opendir(links);
	if (d) {
		struct dirent *e;

		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", links, e->d_name);
			if (unlink(path) == 0)
				removed++;
		}
		closedir(d);
		rmdir(links);
	}

	/* pins: every map drover pinned, of this layout or an older one (drv_*) */
	removed += remove_map_pins(pin_root, false);
	if (rmdir(pin_root) && errno != ENOENT)
		log_warn(COMP, "%s not removed: %s (something else is pinned there)", pin_root,
			 strerror(errno));
	log_info(COMP, "uninstall: removed %d attachments and pins under %s", removed, pin_root);
	return 0;
}
