/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api: drover's Kubernetes-compatible API server over the store (libmicrohttpd, TLS through
 * GnuTLS). `drover server` (cmd_server.c) runs one; tests and benchmarks start them in
 * process. Ownership: the server owns its store, daemon, threads and TLS material; the
 * config's strings are copied.
 */
#ifndef DROVER_API_H
#define DROVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_server;

struct api_config {
	const char *data_dir; /* store, PKI and kubeconfig live here (created if missing) */
	const char *listen;   /* "ADDR:PORT"; default 127.0.0.1:6443; port 0 = any free port */
	/* Plain HTTP on 127.0.0.1, no authentication: for tests only. */
	bool insecure_loopback;
	unsigned threads;		     /* HTTP threads (0 = one per CPU) */
	unsigned workers;		     /* threads that run writes (0 = 128) */
	unsigned max_connections;	     /* 0 = 16384 */
	size_t max_body;		     /* 0 = 3 MiB, as kube-apiserver */
	unsigned idle_timeout_s;	     /* idle keep-alive connection timeout (0 = 120 s) */
	const char *service_cidr;	     /* ClusterIP range (default 10.96.0.0/16) */
	uint16_t nodeport_min, nodeport_max; /* default 30000-32767 */
	size_t store_history;		     /* watch history events (0 = store default) */
	/* Seconds between watch bookmarks when a client allows them (0 = 60). */
	unsigned bookmark_interval_s;
	/* Seconds between history compactions (0 = 300, as kube-apiserver): each keeps the
	 * versions of the last interval. */
	unsigned compact_interval_s;
	/* DefaultTolerationSeconds admission: tolerationSeconds of the not-ready/unreachable
	 * tolerations added to new pods (0 = 30; Kubernetes uses 300; -1 = none) */
	int64_t default_toleration_s;
	/* Events a watch may have queued and not yet written; a watch further behind (a client
	 * that does not read) is ended (0 = 10,000). */
	size_t watch_queue_max;
	/* iss of ServiceAccount tokens and their default audience (NULL: API_SA_ISSUER) */
	const char *sa_issuer;
	/* the ServiceAccount admission plugin: pods need their service account and get the
	 * projected kube-api-access volume (off: pods are admitted as before) */
	bool sa_admission;
	/* the StorageObjectInUseProtection admission plugin: new PersistentVolumeClaims get the
	 * kubernetes.io/pvc-protection finalizer, PersistentVolumes kubernetes.io/pv-protection
	 * (the pvc-protection and pv-protection controllers remove them) */
	bool storage_protection;
	/* --disable-admission-plugins PodSecurity: namespaces' pod-security.kubernetes.io labels
	 * are not enforced (the plugin is on by default, as in kube-apiserver 1.32) */
	bool no_pod_security;
};

#define API_SA_ISSUER "https://kubernetes.default.svc.cluster.local"

/* Opens the store, makes the PKI and kubeconfig on first start, bootstraps the default
 * namespaces and services, and starts serving. 0 or -errno (the reason is logged). */
int api_server_start(const struct api_config *cfg, struct api_server **out);
/* Ends every watch, waits for writes in flight, stops the daemon and the store; NULL-safe. */
void api_server_stop(struct api_server *s);
/* The port it listens on (the one picked when the config asked for port 0). */
uint16_t api_server_port(const struct api_server *s);
/* DIR/kubeconfig (NULL with --insecure-loopback, which writes one without credentials too). */
const char *api_server_kubeconfig(const struct api_server *s);
/* The admin bearer token (also in DIR/pki/token); NULL with --insecure-loopback. */
const char *api_server_token(const struct api_server *s);
/* The registry under the server: what in-process clients (kclient_local.h) call. */
struct registry *api_server_registry(const struct api_server *s);

/* The health of a component that runs beside the server, as `kubectl get componentstatuses`
 * shows it: "scheduler" or "controller-manager", healthy or the error why not (a component
 * never set is reported as not run by this server). */
void api_server_set_component(struct api_server *s, const char *name, bool healthy,
			      const char *error);

/* The gitVersion /version reports (the kubectl dispatcher picks the client by its minor). */
#define API_GIT_VERSION "v1.32.4"

#endif
