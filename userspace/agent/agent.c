/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent: the node side of `drover agent` (agent.h): the Node registered as the kubelet's
 * registerWithAPIServer does (create; when it exists already, reconcile labels and post the
 * whole status), the wait for the podCIDR nodeipam allocates, the Lease renewed every 10 s
 * (the kubelet's lease controller: update on the last resourceVersion, re-read on conflict,
 * create when missing), and NodeReady: the conditions posted again whenever the server's
 * copy is not Ready (a node controller marked it Unknown) and every nodeStatusReportFrequency.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"
#include "cgroup.h"
#include "fsutil.h"

#define STATUS_REPORT_S 300 /* kubelet's nodeStatusReportFrequency */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *now_str(char *buf)
{
	return kubelet_time_str(time(NULL), buf);
}

/* Sleep up to s seconds, waking early when asked to stop; true when stopping. */
static bool nap(bool (*stopping)(void), double s)
{
	double end = mono_s() + s;

	while (!stopping()) {
		double left = end - mono_s();
		struct timespec ts = {0, 100 * 1000 * 1000};

		if (left <= 0)
			return false;
		if (left < 0.1)
			ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
	return true;
}

/* ---- the machine ---- */

/* cAdvisor's MachineInfo as the kubelet turns it into capacity: cpu = online CPUs, memory =
 * MemTotal, ephemeral-storage = the root directory's filesystem, pods = 110 (maxPods). */
static void machine(struct agent *a)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;
	struct statvfs sv;
	struct utsname u;
	char line[256];
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(a->cpu, sizeof(a->cpu), "%ld", n > 0 ? n : 1);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	snprintf(a->memory, sizeof(a->memory), "%lluKi", kb);
	snprintf(a->pods, sizeof(a->pods), "110");
	if (statvfs(a->cfg->root, &sv) == 0)
		snprintf(a->storage, sizeof(a->storage), "%lluKi",
			 (unsigned long long)sv.f_blocks * sv.f_frsize / 1024);
	else
		snprintf(a->storage, sizeof(a->storage), "0");
	kubelet_os_image(a->os_image, sizeof(a->os_image));
	snprintf(a->runtime_version, sizeof(a->runtime_version), "drover://%s",
		 a->cfg->version ? a->cfg->version : "0");
	a->kcfg = (struct kubelet_node_config){
	    .cpu = a->cpu,
	    .memory = a->memory,
	    .pods = a->pods,
	    .ephemeral_storage = a->storage,
	    .labels = a->cfg->labels,
	    .nlabels = a->cfg->nlabels,
	    .os_image = a->os_image[0] ? a->os_image : NULL,
	    .runtime_version = a->runtime_version,
	};
	if (uname(&u) == 0) {
		snprintf(a->kernel, sizeof(a->kernel), "%s", u.release);
		a->kcfg.kernel_version = a->kernel;
		a->kcfg.architecture = kubelet_goarch(u.machine);
	}
}

/* --node-ip, else the first global IPv4 address of this network namespace (the kubelet's
 * default picks the address of the default route's interface; a node namespace without a
 * default route has only its links'). */
static int node_ip(struct agent *a)
{
	struct ifaddrs *ifa, *i;

	if (a->cfg->node_ip) {
		snprintf(a->node_ip, sizeof(a->node_ip), "%s", a->cfg->node_ip);
		return 0;
	}
	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
		uint32_t h;

		if (!sin || sin->sin_family != AF_INET)
			continue;
		h = ntohl(sin->sin_addr.s_addr);
		if ((h >> 24) == 127 || (h >> 16) == 0xa9fe) /* loopback, link-local */
			continue;
		inet_ntop(AF_INET, &sin->sin_addr, a->node_ip, sizeof(a->node_ip));
		break;
	}
	freeifaddrs(ifa);
	return a->node_ip[0] ? 0 : -EADDRNOTAVAIL;
}

static void node_info(const struct agent *a, struct kubelet_node_info *n)
{
	*n = (struct kubelet_node_info){
	    .name = a->cfg->node,
	    .pod_cidr = NULL, /* nodeipam's */
	    .internal_ip = a->node_ip,
	    .kubelet_port = a->cfg->port,
	};
}

/* ---- the Node ---- */

static int status_post(struct agent *a, const struct jv *cur, bool full)
{
	struct kubelet_node_info info;
	struct kc_status st = {0};
	char now[32], *patch;
	size_t len;
	int err;

	node_info(a, &info);
	patch = kubelet_node_status_patch(&a->kcfg, &info, cur, now_str(now), full, &len);
	if (!patch)
		return -ENOMEM;
	err = kc_patch(a->kc, a->k_node, NULL, a->cfg->node, "status", KC_PATCH_STRATEGIC, patch,
		       len, &(struct kc_write_opts){0}, NULL, &st);
	free(patch);
	if (err)
		log_warn(AGENT_COMP, "node %s: status: %s", a->cfg->node,
			 st.message[0] ? st.message : kc_strerror(err));
	return err;
}

static void take_node(struct agent *a, const struct jv *node)
{
	const char *uid = jv_path_str(node, "metadata.uid");
	const char *cidr = jv_path_str(node, "spec.podCIDR");

	snprintf(a->node_uid, sizeof(a->node_uid), "%s", uid ? uid : "");
	if (cidr && cidr[0] && !a->pod_cidr[0])
		snprintf(a->pod_cidr, sizeof(a->pod_cidr), "%s", cidr);
}

static int node_register(struct agent *a)
{
	struct kubelet_node_info info;
	struct kc_status st = {0};
	struct kc_obj *o = NULL;
	struct jv_doc *d = jv_doc_new();
	struct jv *obj, *got;
	char now[32], *patch = NULL;
	size_t len;
	int err;

	if (!d)
		return -ENOMEM;
	node_info(a, &info);
	err = -ENOMEM;
	obj = kubelet_node_obj(d, &a->kcfg, &info, now_str(now));
	if (!obj)
		goto out;
	err = kc_create(a->kc, a->k_node, NULL, obj, &(struct kc_write_opts){0}, &o, &st);
	if (err == -EEXIST) {
		/* registered before (a restart): reconcile our labels, post the status */
		err = kc_get(a->kc, a->k_node, NULL, a->cfg->node, &o, &st);
		if (err)
			goto out;
		got = kc_obj_parse(o, d);
		err = -ENOMEM;
		patch = got ? kubelet_node_reconcile_patch(&a->kcfg, &info, got, &len) : NULL;
		if (!patch)
			goto out;
		kc_obj_put(o);
		o = NULL;
		err = kc_patch(a->kc, a->k_node, NULL, a->cfg->node, NULL, KC_PATCH_STRATEGIC,
			       patch, len, &(struct kc_write_opts){0}, &o, &st);
		if (err)
			goto out;
		log_info(AGENT_COMP, "node %s exists: labels reconciled", a->cfg->node);
	} else if (err) {
		goto out;
	} else {
		log_info(AGENT_COMP, "node %s registered", a->cfg->node);
	}
	got = kc_obj_parse(o, d);
	if (!got) {
		err = -ENOMEM;
		goto out;
	}
	take_node(a, got);
	err = status_post(a, got, true);
out:
	if (err && err != -ENOMEM)
		log_warn(AGENT_COMP, "node %s: register: %s", a->cfg->node,
			 st.message[0] ? st.message : kc_strerror(err));
	free(patch);
	kc_obj_put(o);
	jv_doc_free(d);
	return err;
}

/* The server's Node: its podCIDR, and whether it says Ready=True. */
static int node_check(struct agent *a, bool *ready)
{
	struct kc_status st = {0};
	struct kc_obj *o = NULL;
	struct jv_doc *d = jv_doc_new();
	struct jv *n;
	const char *r;
	int err;

	if (!d)
		return -ENOMEM;
	err = kc_get(a->kc, a->k_node, NULL, a->cfg->node, &o, &st);
	if (err == -ENOENT) {
		/* deleted under us: register again, as the kubelet does after a restart */
		log_warn(AGENT_COMP, "node %s is gone: registering again", a->cfg->node);
		a->lease_rv[0] = 0;
		err = node_register(a);
		*ready = true;
	} else if (!err && (n = kc_obj_parse(o, d))) {
		take_node(a, n);
		r = kubelet_node_ready(n);
		*ready = r && !strcmp(r, "True");
		if (!*ready)
			err = status_post(a, n, false);
	}
	kc_obj_put(o);
	jv_doc_free(d);
	return err;
}

/* ---- the Lease ---- */

static int lease_renew(struct agent *a)
{
	struct kc_status st;
	int err = kubelet_lease_renew(a->kc, a->k_lease, a->cfg->node, a->node_uid, a->lease_rv,
				      sizeof(a->lease_rv), &st);

	if (err)
		log_warn(AGENT_COMP, "node %s: Lease: %s", a->cfg->node,
			 st.message[0] ? st.message : kc_strerror(err));
	return err;
}

/* ---- setup ---- */

/* The CNI plugin's directory: --cni-bin-dir, else the drover binary's own (drover-cni is
 * built beside it), else /usr/lib/cni. */
static void cni_bin_dir(struct agent *a)
{
	char self[PATH_MAX], probe[PATH_MAX + 16];
	ssize_t n;

	if (a->cfg->cni_bin_dir) {
		snprintf(a->cni_bin_dir, sizeof(a->cni_bin_dir), "%s", a->cfg->cni_bin_dir);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(probe, sizeof(probe), "%s/drover-cni", self);
			if (access(probe, X_OK) == 0) {
				snprintf(a->cni_bin_dir, sizeof(a->cni_bin_dir), "%s", self);
				return;
			}
		}
	}
	snprintf(a->cni_bin_dir, sizeof(a->cni_bin_dir), "/usr/lib/cni");
}

/* --cni-conf, else a drover-cni configuration for the podCIDR under root/cni. */
static int cni_conf(struct agent *a)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 80], *json;
	struct jv_doc *d;
	struct jv *conf, *ipam, *dv, *routes, *dflt;
	const char *pin_root = agent_proxy_pin_root(a);
	size_t len;
	FILE *f;
	int err;

	if (a->cfg->cni_conf) {
		snprintf(a->cni_conf, sizeof(a->cni_conf), "%s", a->cfg->cni_conf);
		return access(a->cni_conf, R_OK) ? -errno : 0;
	}
	snprintf(dir, sizeof(dir), "%s/cni", a->cfg->root);
	if ((err = fs_mkdir_p(dir, 0755, NULL)) != 0)
		return err;
	snprintf(a->cni_conf, sizeof(a->cni_conf), "%s/drover.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", a->cni_conf);
	/* through jv: --root is a path, any byte of it escaped as JSON wants */
	d = jv_doc_new();
	conf = d ? jv_new(d, JV_OBJECT) : NULL;
	ipam = d ? jv_new(d, JV_OBJECT) : NULL;
	dv = d ? jv_new(d, JV_OBJECT) : NULL;
	/* a default route through the node, as Kubernetes pods have: Service IPs the socket LB
	 * did not translate (tc path) and masqueraded NodePort replies leave the pod by it */
	routes = d ? jv_new(d, JV_ARRAY) : NULL;
	dflt = d ? jv_new(d, JV_OBJECT) : NULL;
	if (routes && dflt)
		jv_push(routes, dflt);
	/* the proxy's pins: drover-cni attaches drv_tc_pod and registers the pod's endpoint */
	if (!conf || !ipam || !dv || !routes || !dflt ||
	    jv_set(d, dflt, "dst", jv_new_strz(d, "0.0.0.0/0")) ||
	    jv_set(d, ipam, "routes", routes) ||
	    (pin_root && (jv_set(d, dv, "pinRoot", jv_new_strz(d, pin_root)) ||
			  jv_set(d, conf, "drover", dv))) ||
	    jv_set(d, conf, "cniVersion", jv_new_strz(d, "1.0.0")) ||
	    jv_set(d, conf, "name", jv_new_strz(d, "drover")) ||
	    jv_set(d, conf, "type", jv_new_strz(d, "drover-cni")) ||
	    jv_set(d, ipam, "type", jv_new_strz(d, "drover")) ||
	    jv_set(d, ipam, "subnet", jv_new_strz(d, a->pod_cidr)) ||
	    jv_set(d, ipam, "dataDir", jv_new_strf(d, "%s/ipam", dir)) ||
	    jv_set(d, conf, "ipam", ipam) || !(json = jv_to_json(conf, &len))) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	jv_doc_free(d);
	f = fopen(tmp, "we");
	if (!f) {
		free(json);
		return -errno;
	}
	fwrite(json, 1, len, f);
	fputc('\n', f);
	free(json);
	if (fclose(f) || rename(tmp, a->cni_conf))
		return -errno;
	return 0;
}

int agent_run(const struct agent_config *cfg, bool (*stopping)(void))
{
	struct agent a0 = {.cfg = cfg}, *a = &a0;
	struct kc_config kcfg = {0};
	char err[512];
	double next_lease = 0, next_status, next_check = 0;
	bool waited = false;
	int rc;

	a->k_node = k8s_kind_find("v1", "Node");
	a->k_pod = k8s_kind_find("v1", "Pod");
	a->k_lease = k8s_kind_find("coordination.k8s.io/v1", "Lease");
	if (!a->k_node || !a->k_pod || !a->k_lease)
		return -ENOENT;
	rc = fs_mkdir_p(cfg->root, 0755, NULL);
	if (rc) {
		log_error(AGENT_COMP, "--root %s: %s", cfg->root, strerror(-rc));
		return rc;
	}
	rc = agent_join(cfg, stopping);
	if (rc)
		return rc;
	if (kc_config_load(cfg->kubeconfig, &kcfg, err, sizeof(err)) != 0) {
		log_error(AGENT_COMP, "kubeconfig %s: %s", cfg->kubeconfig, err);
		return -EINVAL;
	}
	a->kc = kclient_http_new(&kcfg);
	kc_config_free(&kcfg);
	if (!a->kc) {
		log_error(AGENT_COMP, "client: %s", strerror(errno));
		return -errno;
	}
	kclient_set_field_manager(a->kc, "kubelet");
	machine(a);
	rc = node_ip(a);
	if (rc) {
		log_error(AGENT_COMP, "no IPv4 address for the node: give --node-ip");
		goto out;
	}
	cni_bin_dir(a);
	a->cg_layout = cg_layout_detect(NULL, NULL);
	if (!a->cg_layout) {
		rc = -errno;
		log_error(AGENT_COMP, "no usable cgroup mounts: %s", strerror(-rc));
		goto out;
	}
	rc = agent_telemetry_start(a);
	if (rc) {
		log_error(AGENT_COMP, "telemetry: %s", strerror(-rc));
		goto out;
	}
	rc = agent_http_start(a);
	if (rc)
		goto out;
	rc = agent_proxy_start(a);
	if (rc) {
		log_error(AGENT_COMP, "service proxy: %s", strerror(-rc));
		goto out;
	}

	/* register, retrying as the kubelet does until the server answers */
	for (double backoff = 0.5; (rc = node_register(a)) != 0; backoff *= 2) {
		if (rc == -EACCES || rc == -KC_EINVALID || nap(stopping, backoff > 7 ? 7 : backoff))
			goto out;
	}
	next_status = mono_s() + STATUS_REPORT_S;
	while (!stopping()) {
		double now = mono_s();

		if (now >= next_lease) {
			lease_renew(a);
			next_lease = now + AGENT_LEASE_RENEW_S;
		}
		if (now >= next_check) {
			bool ready = true;

			if (node_check(a, &ready) == 0 && ready && now >= next_status) {
				status_post(a, NULL, false);
				next_status = now + STATUS_REPORT_S;
			}
			/* every second until the podCIDR comes, then with the lease */
			next_check = now + (a->pod_cidr[0] ? AGENT_LEASE_RENEW_S : 1);
		}
		if (!a->pod_cidr[0] && !waited) {
			log_info(AGENT_COMP,
				 "node %s: waiting for spec.podCIDR (server --cluster-cidr)",
				 cfg->node);
			waited = true;
		}
		if (a->pod_cidr[0] && !a->ps && (rc = agent_proxy_state(a)) < 0)
			goto out;
		if (a->pod_cidr[0] && !a->ps && rc > 0) {
			log_info(AGENT_COMP, "node %s: podCIDR %s, node IP %s", cfg->node,
				 a->pod_cidr, a->node_ip);
			rc = cni_conf(a);
			if (rc) {
				log_error(AGENT_COMP, "CNI configuration %s: %s", a->cni_conf,
					  strerror(-rc));
				goto out;
			}
			rc = agent_routes_start(a);
			if (rc) {
				log_error(AGENT_COMP, "node routes: %s", strerror(-rc));
				goto out;
			}
			rc = agent_svcenv_start(a);
			if (rc) {
				log_error(AGENT_COMP, "service informer: %s", strerror(-rc));
				goto out;
			}
			/* a node without its DNS still runs pods (another agent's answers
			 * through the kube-dns Service): a warning, not the end */
			rc = agent_dns_start(a);
			if (rc) {
				log_warn(AGENT_COMP, "cluster DNS on %s:53: %s: not served here",
					 a->node_ip, strerror(-rc));
				agent_dns_stop(a);
			}
			rc = agent_pods_start(a);
			if (rc) {
				log_error(AGENT_COMP, "pod sync: %s", strerror(-rc));
				goto out;
			}
		}
		nap(stopping, 0.5);
	}
	rc = 0;
	log_info(AGENT_COMP, "stopping: pods keep running, the Lease is no longer renewed");
out:
	agent_http_stop(a);
	agent_telemetry_stop(a);
	agent_pods_stop(a);
	agent_proxy_stop(a); /* before the client its watches use */
	agent_routes_stop(a);
	agent_dns_stop(a);
	agent_svcenv_stop(a);
	kclient_free(a->kc);
	cg_layout_free(a->cg_layout);
	return rc;
}
