/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dp_telemetry: telemetry.bpf.c's lifecycle for the dataplane: open against the pins, size
 * its maps (--telemetry-max-series, --telemetry-ringbuf-bytes), load, attach to the socket
 * LB's cgroup with links pinned under <pin-root>/links/, so that the programs outlive the
 * proxy as the socket LB's do and a restart swaps its programs in (the per-socket state map
 * is pinned too: connections in flight carry on). Failures are warnings: the proxy runs on
 * without telemetry.
 */
#include "dataplane_int.h"
#include "fsutil.h"
#include "log.h"

#include "telemetry.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMP "dataplane"

#define TL_LINK_PREFIX "drv_tl_"

static int parse_u32(const char *arg, unsigned long min, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!arg || arg[0] < '0' || arg[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int dp_tl_parse_series(const char *arg, uint32_t *out)
{
	return parse_u32(arg, 1, 1ul << 24, out);
}

int dp_tl_parse_ringbuf(const char *arg, uint32_t *out)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t v;

	if (parse_u32(arg, page > 0 ? (unsigned long)page : 4096, 1ul << 30, &v) || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

struct telemetry_bpf *dp_tl_open(const char *pin_root, const struct dp_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_root);
	struct telemetry_bpf *tl = telemetry_bpf__open_opts(&oo);
	int err;

	if (!tl) {
		log_warn(COMP, "telemetry off: open telemetry_bpf: %s", strerror(errno));
		return NULL;
	}
	tl->rodata->drv_cfg = o->cfg;
	err = dp_size_maps(pin_root, o, tl->obj);
	/* the programs' wake-up threshold: a quarter of the ring as sized (flag or pin) */
	tl->rodata->tl_rb_quarter = bpf_map__max_entries(tl->maps.drv_tlev1) / 4;
	if (!err && telemetry_bpf__load(tl))
		err = -errno;
	if (err) {
		log_warn(COMP, "telemetry off: load telemetry_bpf: %s", strerror(-err));
		telemetry_bpf__destroy(tl);
		return NULL;
	}
	return tl;
}

void dp_tl_close(struct telemetry_bpf *tl)
{
	telemetry_bpf__destroy(tl);
}

int dp_tl_attach(struct telemetry_bpf *tl, const char *pin_root, const char *cgroup)
{
	struct bpf_program *prog;
	struct stat st;
	int cg_fd, err = 0;

	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		err = -errno;
		log_warn(COMP, "telemetry off: cgroup %s: %s", cgroup, strerror(errno));
		if (cg_fd >= 0)
			close(cg_fd);
		return err;
	}
	bpf_object__for_each_program(prog, tl->obj)
	{
		err = dp_attach_cgroup_prog(pin_root, cgroup, prog, cg_fd, st.st_ino);
		if (err)
			break;
	}
	close(cg_fd);
	if (err) {
		log_warn(COMP, "telemetry off: %s cannot attach (%s)", cgroup, strerror(-err));
		dp_tl_detach(pin_root);
		return err;
	}
	log_info(COMP, "telemetry attached to cgroup %s (HTTP/1.x on cgroup_skb, TCP on sockops)",
		 cgroup);
	return 0;
}

void dp_tl_detach(const char *pin_root)
{
	char dir[320], path[640];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/links", pin_root);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, TL_LINK_PREFIX, strlen(TL_LINK_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n += unlink(path) == 0;
	}
	closedir(d);
	if (n)
		log_info(COMP, "telemetry detached (%d links)", n);
}
