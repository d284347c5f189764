/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_server: `drover server --data-dir DIR [--listen ADDR:PORT] [--insecure-loopback]`:
 * runs the API server, and over an in-process client of it the controller manager and the
 * scheduler (as k3s runs them in one process), until SIGINT or SIGTERM, after printing where
 * its kubeconfig is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "controllers.h"
#include "kclient_local.h"
#include "log.h"
#include "sched_run.h"

#define CMD "server"

/* k3s: /var/lib/rancher/k3s/storage */
#define DEFAULT_LOCAL_PATH "/var/lib/drover/storage"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: drover server --data-dir DIR [options]\n\n"
	    "Serves the Kubernetes API over the store in DIR; writes DIR/kubeconfig.\n\n"
	    "  --data-dir DIR          store, certificates and kubeconfig (required)\n"
	    "  --listen ADDR:PORT      address to serve on (default 127.0.0.1:6443)\n"
	    "  --insecure-loopback     plain HTTP on 127.0.0.1, no authentication (tests)\n"
	    "  --service-cidr CIDR     ClusterIP range (default 10.96.0.0/16)\n"
	    "  --nodeport-range A-B    NodePort range (default 30000-32767)\n"
	    "  --threads N             HTTP threads (default: one per CPU)\n"
	    "  --workers N             write workers (default 128)\n"
	    "  --compact-interval S    seconds of history kept for watches (default 300)\n"
	    "  --controllers LIST      controllers to run: names, \"*\" (those on by default),\n"
	    "                          \"-name\" to leave one out (default \"*\"); \"\" for none\n"
	    "  --node-grace S          a node whose Lease is not renewed for S seconds goes\n"
	    "                          NotReady/Unknown and is tainted unreachable (default 10)\n"
	    "  --node-eviction-rate R  NoExecute taints per second per zone (default 0.1)\n"
	    "  --secondary-node-eviction-rate R\n"
	    "                          ... in a partially disrupted large zone (default 0.01)\n"
	    "  --unhealthy-zone-threshold F\n"
	    "                          share of not-Ready nodes that makes a zone partially\n"
	    "                          disrupted (default 0.55)\n"
	    "  --large-cluster-size-threshold N\n"
	    "                          zones up to N nodes stop evictions when partially\n"
	    "                          disrupted (default 50)\n"
	    "  --default-toleration-seconds S\n"
	    "                          tolerationSeconds of the not-ready/unreachable\n"
	    "                          tolerations new pods get (default 30)\n"
	    "  --cluster-cidr CIDR     the pods' IPv4 range: each Node gets a part of it as\n"
	    "                          spec.podCIDR (nodeipam; default: none given)\n"
	    "  --node-cidr-mask-size N prefix length of each Node's part (default 24)\n"
	    "  --service-account-issuer URL\n"
	    "                          iss of ServiceAccount tokens and their default audience\n"
	    "                          (default https://kubernetes.default.svc.cluster.local)\n"
	    "  --enable-admission-plugins LIST\n"
	    "                          admission plugins to run besides the default ones\n"
	    "  --disable-admission-plugins LIST\n"
	    "                          default admission plugins not to run: ServiceAccount\n"
	    "                          (pods need their service account and get the projected\n"
	    "                          kube-api-access token volume), PodSecurity (namespaces'\n"
	    "                          pod-security.kubernetes.io labels enforced),\n"
	    "                          StorageObjectInUseProtection (the pvc-protection and\n"
	    "                          pv-protection finalizers on new PVCs and PVs)\n"
	    "  --default-local-storage-path DIR\n"
	    "                          where the local-path provisioner (rancher.io/local-path)\n"
	    "                          makes volumes on their node (default " DEFAULT_LOCAL_PATH
	    ")\n"
	    "  --local-path-helper-image IMAGE\n"
	    "                          image of its helper pods (default busybox:latest)\n"
	    "  --disable local-storage no local-path provisioner and no default StorageClass\n"
	    "                          local-path (k3s's --disable local-storage)\n"
	    "  --disable coredns       no kube-dns Service (the 10th address of the service\n"
	    "                          range) and no EndpointSlice of the agents' cluster DNS\n"
	    "  --no-scheduler          do not run the scheduler\n"
	    "  --log-level LEVEL       error, warn, info (default) or debug\n"
	    "\ncontrollers:\n");
	ctrl_list(out);
}

/* The address the server is reached at (kube-apiserver's --advertise-address default): the
 * host --listen names, or for a wildcard the first address of an interface that is up and
 * not loopback. */
static void advertise_address(const char *listen, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	const char *colon;
	struct ifaddrs *ifa = NULL;
	bool any;

	if (listen) {
		if (listen[0] == '[' && strchr(listen, ']'))
			snprintf(host, sizeof(host), "%.*s",
				 (int)(strchr(listen, ']') - listen - 1), listen + 1);
		else if ((colon = strrchr(listen, ':')))
			snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
		else
			snprintf(host, sizeof(host), "%s", listen);
	}
	any = !host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
	snprintf(out, size, "%s", any ? "127.0.0.1" : host);
	if (!any || getifaddrs(&ifa) != 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
		    !(i->ifa_flags & IFF_LOOPBACK)) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out,
				  (socklen_t)size);
			break;
		}
	freeifaddrs(ifa);
}

/* A number > 0 (and at most max, if max > 0) for --flag; else one line on stderr and -1. */
static int positive(const char *flag, const char *arg, double max, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v > 0) || (max > 0 && v > max)) {
		if (max > 0)
			fprintf(stderr, "drover server: --%s: a number > 0 and <= %g\n", flag, max);
		else
			fprintf(stderr, "drover server: --%s: a number > 0\n", flag);
		return -1;
	}
	*out = v;
	return 0;
}

/* The admission plugins one may name (kube-apiserver's names), each on by default here as
 * in kube-apiserver 1.32's default set. */
static const char *const plugins[] = {"ServiceAccount", "PodSecurity",
				      "StorageObjectInUseProtection"};
#define N_PLUGINS (sizeof(plugins) / sizeof(plugins[0]))

/* An --enable/--disable-admission-plugins list into *set (bit i: plugins[i]). 0, or -1 after
 * a line on stderr. */
static int admission_plugins(const char *flag, const char *list, unsigned *set)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < N_PLUGINS; i++)
			if (n == strlen(plugins[i]) && strncmp(p, plugins[i], n) == 0)
				break;
		if (i < N_PLUGINS) {
			*set |= 1u << i;
		} else if (n) {
			fprintf(stderr,
				"drover server: --%s: unknown plugin %.*s (known: PodSecurity, "
				"ServiceAccount, StorageObjectInUseProtection)\n",
				flag, (int)n, p);
			return -1;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

/* k3s's local-storage manifest: the default StorageClass local-path of the rancher.io/local-path
 * provisioner (WaitForFirstConsumer, Delete), made unless it exists (a restart, or an
 * administrator's own). */
static void default_storage_class(struct kclient *kc)
{
	static const char body[] =
	    "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{"
	    "\"name\":\"local-path\",\"annotations\":{"
	    "\"storageclass.kubernetes.io/is-default-class\":\"true\"}},"
	    "\"provisioner\":\"rancher.io/local-path\",\"volumeBindingMode\":"
	    "\"WaitForFirstConsumer\",\"reclaimPolicy\":\"Delete\"}";
	const struct k8s_kind *k = k8s_kind_find("storage.k8s.io/v1", "StorageClass");
	struct jv_doc *d = jv_doc_new();
	struct jv *t = d ? jv_parse(d, body, sizeof(body) - 1, NULL) : NULL;
	struct kc_status st = {0};
	int err = t && k ? kc_create(kc, k, NULL, t, NULL, NULL, &st) : -ENOMEM;

	if (err && err != -EEXIST)
		log_warn("api", "the default StorageClass local-path: %s",
			 st.message[0] ? st.message : strerror(-err));
	jv_doc_free(d);
}

/* k3s's coredns manifest's Service, kube-system/kube-dns on the 10th address of the service
 * range (10.96.0.10: kubeadm's and the kubelet's --cluster-dns convention), without a
 * selector: its endpoints are the nodes' agents (the kubedns controller). Made unless it
 * exists. */
static void kube_dns_service(struct kclient *kc, const char *service_cidr)
{
	const struct k8s_kind *k = k8s_kind_find("v1", "Service");
	char body[1024], net[INET_ADDRSTRLEN], ip[INET_ADDRSTRLEN];
	struct in_addr a;
	struct jv_doc *d = jv_doc_new();
	struct kc_status st = {0};
	struct jv *t;
	int err;

	if (sscanf(service_cidr ? service_cidr : "10.96.0.0/16", "%15[0-9.]", net) != 1 ||
	    inet_pton(AF_INET, net, &a) != 1) {
		jv_doc_free(d);
		return;
	}
	a.s_addr = htonl(ntohl(a.s_addr) + 10);
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
		 "\"kube-dns\",\"namespace\":\"kube-system\",\"labels\":{\"k8s-app\":"
		 "\"kube-dns\",\"kubernetes.io/cluster-service\":\"true\","
		 "\"kubernetes.io/name\":\"CoreDNS\"}},\"spec\":{\"type\":\"ClusterIP\","
		 "\"clusterIP\":\"%s\",\"ports\":[{\"name\":\"dns\",\"port\":53,"
		 "\"protocol\":\"UDP\",\"targetPort\":53},{\"name\":\"dns-tcp\",\"port\":53,"
		 "\"protocol\":\"TCP\",\"targetPort\":53}]}}",
		 ip);
	t = d ? jv_parse(d, body, strlen(body), NULL) : NULL;
	err = t && k ? kc_create(kc, k, "kube-system", t, NULL, NULL, &st) : -ENOMEM;
	if (err && err != -EEXIST)
		log_warn("api", "the kube-dns Service %s: %s", ip,
			 st.message[0] ? st.message : strerror(-err));
	jv_doc_free(d);
}

int cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data-dir", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"insecure-loopback", no_argument, NULL, 'i'},
	    {"service-cidr", required_argument, NULL, 'c'},
	    {"nodeport-range", required_argument, NULL, 'n'},
	    {"threads", required_argument, NULL, 't'},
	    {"workers", required_argument, NULL, 'w'},
	    {"compact-interval", required_argument, NULL, 'C'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"controllers", required_argument, NULL, 'K'},
	    {"node-grace", required_argument, NULL, 'G'},
	    {"default-toleration-seconds", required_argument, NULL, 'T'},
	    {"node-eviction-rate", required_argument, NULL, 'E'},
	    {"secondary-node-eviction-rate", required_argument, NULL, 'e'},
	    {"unhealthy-zone-threshold", required_argument, NULL, 'U'},
	    {"large-cluster-size-threshold", required_argument, NULL, 'Z'},
	    {"cluster-cidr", required_argument, NULL, 'P'},
	    {"node-cidr-mask-size", required_argument, NULL, 'M'},
	    {"service-account-issuer", required_argument, NULL, 'I'},
	    {"enable-admission-plugins", required_argument, NULL, 'A'},
	    {"disable-admission-plugins", required_argument, NULL, 'X'},
	    {"no-scheduler", no_argument, NULL, 'S'},
	    {"default-local-storage-path", required_argument, NULL, 'V'},
	    {"local-path-helper-image", required_argument, NULL, 'H'},
	    {"disable", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct api_config cfg = {0};
	struct ctrl_config cc = {.component = "drover-controller-manager"};
	struct scheduler_config sc = {0};
	struct api_server *s = NULL;
	struct kclient *kc = NULL, *kcs = NULL;
	struct ctrl_manager *cm = NULL;
	struct scheduler *sched = NULL;
	bool run_sched = true, run_ctrl = true, cluster_dns = true;
	const char *local_path = DEFAULT_LOCAL_PATH;
	unsigned plugins_on = 0, plugins_off = 0;
	char apiserver_ip[INET6_ADDRSTRLEN], ca_crt[4200], ca_key[4200];
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cfg.data_dir = optarg;
			break;
		case 'l':
			cfg.listen = optarg;
			break;
		case 'i':
			cfg.insecure_loopback = true;
			break;
		case 'c':
			cfg.service_cidr = optarg;
			break;
		case 'n': {
			int lo, hi;

			if (sscanf(optarg, "%d-%d", &lo, &hi) != 2 || lo < 1 || hi > 65535 ||
			    lo > hi) {
				fprintf(stderr, "drover server: --nodeport-range: expected A-B\n");
				return 2;
			}
			cfg.nodeport_min = (uint16_t)lo;
			cfg.nodeport_max = (uint16_t)hi;
			break;
		}
		case 't': /* 0: the default, for these three */
			if (cli_uint(CMD, "threads", optarg, 0, UINT_MAX, &cfg.threads))
				return 2;
			break;
		case 'w':
			if (cli_uint(CMD, "workers", optarg, 0, UINT_MAX, &cfg.workers))
				return 2;
			break;
		case 'C':
			if (cli_uint(CMD, "compact-interval", optarg, 0, UINT_MAX,
				     &cfg.compact_interval_s))
				return 2;
			break;
		case 'L':
			if (cli_log_level(CMD, optarg))
				return 2;
			break;
		case 'K':
			if (cli_controllers(CMD, optarg))
				return 2;
			cc.controllers = optarg;
			run_ctrl = optarg[0] != 0;
			break;
		case 'G':
			if (cli_uint(CMD, "node-grace", optarg, 1, 86400, &cc.node_grace_s))
				return 2;
			break;
		case 'I':
			cfg.sa_issuer = optarg;
			break;
		case 'A':
			if (admission_plugins("enable-admission-plugins", optarg, &plugins_on))
				return 2;
			break;
		case 'X':
			if (admission_plugins("disable-admission-plugins", optarg, &plugins_off))
				return 2;
			break;
		case 'T': {
			char *end;

			cfg.default_toleration_s = strtoll(optarg, &end, 10);
			if (*end || cfg.default_toleration_s < 0) {
				fprintf(
				    stderr,
				    "drover server: --default-toleration-seconds: seconds >= 0\n");
				return 2;
			}
			if (!cfg.default_toleration_s)
				cfg.default_toleration_s = -1; /* 0 given: none added */
			break;
		}
		case 'E':
			if (positive("node-eviction-rate", optarg, 0, &cc.node_eviction_rate))
				return 2;
			break;
		case 'e':
			if (positive("secondary-node-eviction-rate", optarg, 0,
				     &cc.secondary_node_eviction_rate))
				return 2;
			break;
		case 'U':
			if (positive("unhealthy-zone-threshold", optarg, 1,
				     &cc.unhealthy_zone_threshold))
				return 2;
			break;
		case 'Z':
			if (cli_uint(CMD, "large-cluster-size-threshold", optarg, 1, UINT_MAX,
				     &cc.large_cluster_size))
				return 2;
			break;
		case 'P': {
			unsigned a, b, c4, d4, p;
			char tail;

			if (sscanf(optarg, "%u.%u.%u.%u/%u%c", &a, &b, &c4, &d4, &p, &tail) != 5 ||
			    a > 255 || b > 255 || c4 > 255 || d4 > 255 || p > 32) {
				fprintf(stderr,
					"drover server: --cluster-cidr: \"%s\" is not an IPv4 CIDR "
					"(10.244.0.0/16)\n",
					optarg);
				return 2;
			}
			cc.cluster_cidr = optarg;
			break;
		}
		case 'M':
			if (cli_uint(CMD, "node-cidr-mask-size", optarg, 1, 32, &cc.node_cidr_mask))
				return 2;
			break;
		case 'S':
			run_sched = false;
			break;
		case 'V':
			if (optarg[0] != '/') {
				fprintf(stderr,
					"drover server: --default-local-storage-path: want an "
					"absolute path\n");
				return 2;
			}
			local_path = optarg;
			break;
		case 'H':
			cc.local_path_helper_image = optarg;
			break;
		case 'D':
			if (!strcmp(optarg, "coredns")) {
				cluster_dns = false;
				break;
			}
			if (strcmp(optarg, "local-storage") != 0) {
				fprintf(stderr,
					"drover server: --disable: unknown component %s (known: "
					"local-storage, coredns)\n",
					optarg);
				return 2;
			}
			local_path = NULL;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!cfg.data_dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cc.cluster_cidr) {
		unsigned p = (unsigned)atoi(strchr(cc.cluster_cidr, '/') + 1);
		unsigned m = cc.node_cidr_mask ? cc.node_cidr_mask : 24;

		if (m < p || m - p > 20) {
			fprintf(
			    stderr,
			    "drover server: --node-cidr-mask-size %u does not cut --cluster-cidr "
			    "%s (it must be at least /%u and at most 20 bits longer)\n",
			    m, cc.cluster_cidr, p);
			return 2;
		}
	}
	/* kube-apiserver's default plugins include both (options.Validate: none may be both
	 * enabled and disabled) */
	for (size_t i = 0; i < N_PLUGINS; i++)
		if (plugins_on & plugins_off & (1u << i)) {
			fprintf(stderr,
				"drover server: %s in enable-admission-plugins and "
				"disable-admission-plugins overlapped\n",
				plugins[i]);
			return 2;
		}
	cfg.sa_admission = !(plugins_off & 1u);
	cfg.no_pod_security = (plugins_off & 2u) != 0;
	cfg.storage_protection = !(plugins_off & 4u);
	if (cfg.insecure_loopback && !cfg.listen)
		cfg.listen = "127.0.0.1:8080";
	cli_catch_stop();
	err = api_server_start(&cfg, &s);
	if (err) {
		fprintf(stderr, "drover server: %s\n", strerror(-err));
		return 1;
	}
	/* the control loop: clients of the API like any other, over the in-process transport;
	 * one client each, as each is its own process in Kubernetes */
	if (run_ctrl) {
		/* the `kubernetes` Service's endpoints: where this server listens */
		advertise_address(cfg.listen, apiserver_ip, sizeof(apiserver_ip));
		cc.apiserver_ip = apiserver_ip;
		cc.apiserver_port = api_server_port(s);
		kc = kclient_local_new(api_server_registry(s), NULL);
		if (!kc) {
			fprintf(stderr, "drover server: in-process client: %s\n", strerror(errno));
			goto fail;
		}
		kclient_set_field_manager(kc, "kube-controller-manager");
		cc.local_path_dir = local_path;
		if (local_path)
			default_storage_class(kc);
		cc.kube_dns_nodes = cluster_dns;
		if (cluster_dns)
			kube_dns_service(kc, cfg.service_cidr);
		/* csrsigning signs with the server's CA (none with --insecure-loopback) */
		snprintf(ca_crt, sizeof(ca_crt), "%s/pki/ca.crt", cfg.data_dir);
		snprintf(ca_key, sizeof(ca_key), "%s/pki/ca.key", cfg.data_dir);
		/* the root CA publisher's --root-ca-file */
		if (!cfg.insecure_loopback && access(ca_crt, R_OK) == 0)
			cc.root_ca_file = ca_crt;
		if (!cfg.insecure_loopback && access(ca_crt, R_OK) == 0 &&
		    access(ca_key, R_OK) == 0) {
			cc.signing_cert_file = ca_crt;
			cc.signing_key_file = ca_key;
		}
		err = ctrl_manager_start(kc, &cc, &cm);
		if (err) {
			fprintf(stderr, "drover server: controllers: %s\n", strerror(-err));
			goto fail;
		}
		api_server_set_component(s, "controller-manager", true, NULL);
	}
	if (run_sched) {
		kcs = kclient_local_new(api_server_registry(s), NULL);
		if (!kcs) {
			fprintf(stderr, "drover server: in-process client: %s\n", strerror(errno));
			goto fail;
		}
		kclient_set_field_manager(kcs, "kube-scheduler");
		err = scheduler_start(kcs, &sc, &sched);
		if (err) {
			fprintf(stderr, "drover server: scheduler: %s\n", strerror(-err));
			goto fail;
		}
		api_server_set_component(s, "scheduler", true, NULL);
	}
	printf("kubeconfig: %s\n", api_server_kubeconfig(s) ? api_server_kubeconfig(s) : "-");
	fflush(stdout);
	cli_wait_stop();
	log_info("api", "stopping");
	if (sched)
		api_server_set_component(s, "scheduler", false, "stopping");
	if (cm)
		api_server_set_component(s, "controller-manager", false, "stopping");
	scheduler_stop(sched);
	ctrl_manager_stop(cm);
	kclient_free(kcs);
	kclient_free(kc);
	api_server_stop(s);
	return 0;
fail:
	scheduler_stop(sched);
	ctrl_manager_stop(cm);
	kclient_free(kcs);
	kclient_free(kc);
	api_server_stop(s);
	return 1;
}
