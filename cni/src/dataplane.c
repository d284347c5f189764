/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-cni and drover's eBPF dataplane: on ADD the host side of the pod's veth gets the
 * proxy's pinned drv_tc_pod on clsact ingress and the pod is registered in the pinned
 * endpoint map drv_ep1, so that pod-to-pod traffic on the node is delivered by
 * bpf_redirect_peer() without the host stack; DEL, GC and CHECK undo and verify that.
 *
 * Optional: only with the configuration's "drover": {"pinRoot": DIR}; "redirectPeer": false
 * there registers the pod with DRV_EP_F_NO_REDIRECT (attached, but packets for it go through
 * the host stack: for comparisons, and for debugging with the stack's tools). Without it, or
 * when nothing is pinned there (no proxy has run with that pin root), ADD wires the pod as before
 * and says on stderr that nothing is attached; DEL and GC then have nothing to remove.
 * The attachment is recorded in the pinned drv_attach1 as the proxy records its own, so that
 * `drover proxy uninstall` takes it down too.
 */
#include "cni.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "drover_abi.h"
#include "nl.h"
#include "tc_attach.h"

struct dp_fds {
	int prog, ep, attach;
	const char *root; /* the pin root they were opened from */
};

static void fds_close(struct dp_fds *f)
{
	if (f->prog >= 0)
		close(f->prog);
	if (f->ep >= 0)
		close(f->ep);
	if (f->attach >= 0)
		close(f->attach);
}

/* The configured pin root: 1 and *root, 0 when not configured, -1 on a bad configuration. */
static int pin_root(struct cni *c, const char **root)
{
	struct jv *d = jv_get(c->conf, "drover"), *p;

	*root = NULL;
	if (!d)
		return 0;
	if (d->type != JV_OBJECT)
		return cni_fail(c, CNI_ERR_INVALID_CONFIG, "drover: want an object");
	p = jv_get(d, "redirectPeer");
	if (p && p->type != JV_TRUE && p->type != JV_FALSE)
		return cni_fail(c, CNI_ERR_INVALID_CONFIG,
				"drover.redirectPeer: want true or false");
	p = jv_get(d, "pinRoot");
	if (!p)
		return 0;
	if (p->type != JV_STRING || p->s[0] != '/' || strlen(p->s) > 200)
		return cni_fail(c, CNI_ERR_INVALID_CONFIG,
				"drover.pinRoot: want an absolute path on a BPF filesystem");
	*root = p->s;
	return 1;
}

int cni_dp_conf(struct cni *c)
{
	const char *root;

	return pin_root(c, &root) < 0 ? -1 : 0;
}

/* Open the pins: 1 with fds, 0 when the dataplane is not configured or not pinned (why on
 * stderr when want_msg), -1 on another error (in c). */
static int fds_open(struct cni *c, struct dp_fds *f, bool need_prog, bool want_msg)
{
	const char *root;
	char path[320];
	int r = pin_root(c, &root);

	f->prog = f->ep = f->attach = -1;
	f->root = root;
	if (r <= 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", root, DRV_MAP_ENDPOINT);
	f->ep = bpf_obj_get(path);
	if (f->ep >= 0) {
		snprintf(path, sizeof(path), "%s/%s", root, DRV_MAP_ATTACH);
		f->attach = bpf_obj_get(path);
	}
	if (f->ep >= 0 && f->attach >= 0 && need_prog) {
		snprintf(path, sizeof(path), "%s/%s/%s", root, DRV_PIN_PROGS_DIR, DRV_PROG_TC_POD);
		f->prog = bpf_obj_get(path);
	}
	if (f->ep < 0 || f->attach < 0 || (need_prog && f->prog < 0)) {
		int e = errno;

		fds_close(f);
		f->prog = f->ep = f->attach = -1;
		if (e == ENOENT) {
			if (want_msg)
				fprintf(stderr,
					"drover-cni: nothing pinned at %s (%s): the pod is not "
					"attached to drover's dataplane\n",
					path, strerror(e));
			return 0;
		}
		return cni_fail(c, CNI_ERR_IO, "drover dataplane: open %s: %s", path, strerror(e));
	}
	return 1;
}

/* drv_ep1 changed: a new L2 epoch, so that flows whose conntrack entry cached this pod as
 * their next hop (or the FIB's answer in its place) look it up again (nat.h, drv_l2_store).
 * A racing bump may be lost to another's; the epoch still moved. Best effort: an old pin
 * root without the map only keeps cached answers until the proxy's next GC bumps it. */
static void epoch_bump(const char *root)
{
	char path[320];
	__u32 zero = 0, e = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, DRV_MAP_EPOCH);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (bpf_map_lookup_elem(fd, &zero, &e) == 0) {
		e++;
		bpf_map_update_elem(fd, &zero, &e, BPF_ANY);
	}
	close(fd);
}

static void attach_forget(int attach_fd, int ifindex)
{
	__u32 key = (__u32)ifindex;

	if (attach_fd >= 0 && ifindex > 0)
		bpf_map_delete_elem(attach_fd, &key);
}

int cni_dp_add(struct cni *c, const struct cni_ep *ep)
{
	struct drv_endpoint val = {.ifindex = (__u32)ep->host_ifindex};
	struct drv_attach rec = {.flags = DRV_ATT_TC_POD};
	__u32 key = (__u32)ep->host_ifindex;
	__be32 addr = htonl(ep->addr);
	bool created;
	struct dp_fds f;
	int r = fds_open(c, &f, true, true);

	if (r <= 0)
		return r;
	r = tca_clsact(ep->host_ifindex, &created);
	if (r) {
		cni_fail(c, CNI_ERR_NETLINK, "%s: create clsact: %s", ep->host_name, strerror(-r));
		goto out;
	}
	if (created)
		rec.flags |= DRV_ATT_CLSACT;
	/* recorded before the attach, so that an uninstall racing with us finds it */
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", ep->host_name);
	if (bpf_map_update_elem(f.attach, &key, &rec, BPF_ANY)) {
		r = -errno;
		cni_fail(c, CNI_ERR_IO, "record the attachment of %s: %s", ep->host_name,
			 strerror(errno));
		goto out;
	}
	r = tca_attach(ep->host_ifindex, f.prog);
	if (r) {
		cni_fail(c, CNI_ERR_NETLINK, "%s: attach %s: %s", ep->host_name, DRV_PROG_TC_POD,
			 strerror(-r));
		attach_forget(f.attach, ep->host_ifindex);
		goto out;
	}
	if (jv_path(c->conf, "drover.redirectPeer") &&
	    jv_path(c->conf, "drover.redirectPeer")->type == JV_FALSE)
		val.flags |= DRV_EP_F_NO_REDIRECT; /* registered, delivered by the host stack */
	memcpy(val.mac, ep->pod_mac, 6);
	memcpy(val.host_mac, ep->host_mac, 6);
	if (bpf_map_update_elem(f.ep, &addr, &val, BPF_ANY)) {
		r = -errno;
		cni_fail(c, CNI_ERR_IO, "register the pod in %s: %s", DRV_MAP_ENDPOINT,
			 strerror(errno));
		attach_forget(f.attach, ep->host_ifindex); /* the link goes with the failed ADD */
	} else {
		epoch_bump(f.root);
	}
out:
	fds_close(&f);
	return r ? -1 : 0;
}

/* Delete the entry of addr if it still points at the host side ifindex (0: whatever it
 * points at), then every other entry pointing at ifindex. */
static void ep_delete(int ep_fd, __be32 addr, int ifindex)
{
	struct drv_endpoint v;
	__be32 k, next;
	bool have = false;

	if (addr && !bpf_map_lookup_elem(ep_fd, &addr, &v) &&
	    (!ifindex || v.ifindex == (__u32)ifindex))
		bpf_map_delete_elem(ep_fd, &addr);
	if (ifindex <= 0)
		return;
	while (bpf_map_get_next_key(ep_fd, have ? &k : NULL, &next) == 0) {
		k = next;
		have = true;
		if (!bpf_map_lookup_elem(ep_fd, &k, &v) && v.ifindex == (__u32)ifindex)
			bpf_map_delete_elem(ep_fd, &k);
	}
}

int cni_dp_del(struct cni *c, int host_ifindex, uint32_t addr)
{
	struct dp_fds f;
	int r = fds_open(c, &f, false, false);

	if (r <= 0)
		return r; /* not configured or not pinned: nothing of ours left */
	ep_delete(f.ep, addr ? htonl(addr) : 0, host_ifindex);
	epoch_bump(f.root);
	attach_forget(f.attach, host_ifindex);
	fds_close(&f);
	return 0;
}

int cni_dp_check(struct cni *c, const struct cni_ep *ep)
{
	__be32 addr = htonl(ep->addr);
	struct drv_endpoint v;
	char name[TCA_NAME_LEN];
	__u32 prog_id;
	struct dp_fds f;
	int r = fds_open(c, &f, false, false);

	if (r <= 0)
		return r;
	r = -1;
	if (bpf_map_lookup_elem(f.ep, &addr, &v)) {
		cni_fail(c, CNI_ERR_CHECK, "the pod is not registered in %s", DRV_MAP_ENDPOINT);
		goto out;
	}
	if (v.ifindex != (__u32)ep->host_ifindex || memcmp(v.mac, ep->pod_mac, 6) ||
	    memcmp(v.host_mac, ep->host_mac, 6)) {
		cni_fail(c, CNI_ERR_CHECK,
			 "the pod's entry in %s names another interface (ifindex %u, host %d)",
			 DRV_MAP_ENDPOINT, v.ifindex, ep->host_ifindex);
		goto out;
	}
	if (tca_query(ep->host_ifindex, &prog_id)) {
		cni_fail(c, CNI_ERR_CHECK, "%s: %s is not attached on tc ingress", ep->host_name,
			 DRV_PROG_TC_POD);
		goto out;
	}
	/* the attached program must be a drv_tc_pod using this pin root's endpoint map (a
	 * restarted proxy pins a newer one; the one attached here still shares the maps) */
	if (!tca_prog_ours(prog_id, tca_map_id(f.ep), DRV_PROG_TC_POD, name)) {
		cni_fail(c, CNI_ERR_CHECK,
			 "%s: the program on tc ingress (%s, id %u) is not this dataplane's %s",
			 ep->host_name, name[0] ? name : "?", prog_id, DRV_PROG_TC_POD);
		goto out;
	}
	r = 0;
out:
	fds_close(&f);
	return r;
}

int cni_dp_gc(struct cni *c, const uint32_t *released, size_t nreleased)
{
	struct drv_endpoint v;
	__be32 k, next;
	bool have = false;
	struct dp_fds f;
	struct nl nl;
	int r = fds_open(c, &f, false, false);

	if (r <= 0)
		return r;
	for (size_t i = 0; i < nreleased; i++)
		ep_delete(f.ep, htonl(released[i]), 0);
	/* entries whose host side is gone (or whose ifindex now names another device) belong
	 * to no attachment at all, of this network or another */
	if ((r = nl_open(&nl))) {
		fds_close(&f);
		return cni_fail(c, CNI_ERR_NETLINK, "netlink: %s", strerror(-r));
	}
	while (bpf_map_get_next_key(f.ep, have ? &k : NULL, &next) == 0) {
		struct nl_link l;

		k = next;
		have = true;
		if (bpf_map_lookup_elem(f.ep, &k, &v))
			continue;
		r = nl_link_by_index(&nl, (int)v.ifindex, &l);
		if (r == -ENODEV || (!r && memcmp(l.mac, v.host_mac, 6))) {
			bpf_map_delete_elem(f.ep, &k);
			attach_forget(f.attach, (int)v.ifindex);
		}
	}
	nl_close(&nl);
	fds_close(&f);
	return 0;
}
