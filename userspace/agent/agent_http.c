/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_http: the kubelet endpoint's daemon, TLS, caller check, routes and container lookup
 * (agent_http.h).
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_http.h"
#include "agent_pod.h"
#include "fsutil.h"
#include "tl_flows.h"
#include "x509.h"

#define COMP "kubelet-http"

struct agent_http {
	struct MHD_Daemon *mhd;
	char *cert, *key, *ca;
	atomic_bool stopping;
	atomic_int sessions;
};

/* ---- helpers ---- */

enum MHD_Result ahttp_text(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	resp = MHD_create_response_from_buffer((size_t)n, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

const char *ahttp_arg(const struct ahttp_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool ahttp_arg_true(const struct ahttp_req *r, const char *key)
{
	const char *v = ahttp_arg(r, key);

	/* Go's strconv.ParseBool, as the kubelet decodes its query */
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "T") ||
		     !strcmp(v, "TRUE") || !strcmp(v, "True"));
}

bool ahttp_stopping(const struct agent *a)
{
	return !a->http || atomic_load(&a->http->stopping);
}

void ahttp_session_enter(struct agent *a)
{
	atomic_fetch_add(&a->http->sessions, 1);
}

void ahttp_session_leave(struct agent *a)
{
	atomic_fetch_sub(&a->http->sessions, 1);
}

struct cg *ahttp_ctr_cgroup(const struct agent *a, const char *cg_rel)
{
	return cg_open(a->cg_layout, cg_rel);
}

pid_t ahttp_ctr_init(const struct agent *a, const char *cg_rel)
{
	struct cg *cg = ahttp_ctr_cgroup(a, cg_rel);
	char path[PATH_MAX + 32], line[256];
	pid_t init = 0;
	FILE *f;

	if (cg) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[0]);
		f = fopen(path, "re");
		while (f && !init && fgets(line, sizeof(line), f)) {
			int pid = atoi(line);
			char sp[64], st[512];
			FILE *s;

			snprintf(sp, sizeof(sp), "/proc/%d/status", pid);
			s = fopen(sp, "re");
			while (s && fgets(st, sizeof(st), s)) {
				/* NSpid: its pid in each namespace, innermost last; 1: the init */
				if (strncmp(st, "NSpid:", 6) == 0) {
					char *last = strrchr(st, '\t');

					if (last && atoi(last + 1) == 1 &&
					    strchr(st + 6, '\t') != last)
						init = pid;
					break;
				}
			}
			if (s)
				fclose(s);
		}
		if (f)
			fclose(f);
	}
	cg_free(cg);
	return init;
}

/* The directory the container runs in, as its runtime config has it (exec runs there too):
 * workingDir, else the image's, else "/". */
static void ctr_cwd(const struct agent *a, const struct jv *ctr, char *buf, size_t size)
{
	const char *wd = jv_path_str(ctr, "workingDir");
	struct image_store *s = NULL;
	struct image_info *img = NULL;

	if (!wd || !wd[0]) {
		s = image_store_open(a->cfg->image_root);
		if (s && !image_store_resolve(s, jv_path_str(ctr, "image"), &img))
			wd = img->working_dir;
	}
	snprintf(buf, size, "%s", wd && wd[0] ? wd : "/");
	image_info_free(img);
	image_store_close(s);
}

int ahttp_resolve(struct ahttp_req *r, struct ahttp_target *t, enum MHD_Result *ret)
{
	struct agent *a = r->a;
	struct kc_status st = {0};
	struct kc_obj *o = NULL;
	struct jv_doc *d = jv_doc_new();
	struct jv *pod;
	const struct jv *ctr = NULL;
	struct apod p;
	bool found = false;
	int err;

	memset(t, 0, sizeof(*t));
	if (!d) {
		*ret = ahttp_text(r->conn, 500, "out of memory\n");
		return -1;
	}
	/* the kubelet asks its pod manager; the agent keeps no copy another thread may read,
	 * so it asks the API (its informer's source) */
	err = kc_get(a->kc, a->k_pod, r->ns, r->pod, &o, &st);
	pod = err ? NULL : kc_obj_parse(o, d);
	if (!pod || !jv_is_str(jv_path(pod, "spec.nodeName"), a->cfg->node)) {
		*ret = ahttp_text(r->conn, 404, "pod \"%s\" does not exist\n", r->pod);
		goto fail;
	}
	/* port-forward names no container */
	found = !r->ctr[0];
	for (int l = 0; l < 3 && !found; l++)
		for (ctr = jv_first(jv_path(pod, l == 2	  ? "spec.ephemeralContainers"
						 : l == 1 ? "spec.initContainers"
							  : "spec.containers"));
		     ctr && !found; ctr = found ? ctr : ctr->next)
			found = jv_is_str(jv_get(ctr, "name"), r->ctr);
	if (!found) {
		*ret = ahttp_text(r->conn, 404, "container \"%s\" not found in pod \"%s\"\n",
				  r->ctr, r->pod);
		goto fail;
	}
	memset(&p, 0, sizeof(p));
	snprintf(p.ns, sizeof(p.ns), "%s", r->ns);
	snprintf(p.name, sizeof(p.name), "%s", r->pod);
	snprintf(p.uid, sizeof(p.uid), "%s", jv_path_str(pod, "metadata.uid"));
	snprintf(t->uid, sizeof(t->uid), "%s", p.uid);
	agent_pod_dir(a, &p, t->dir, sizeof(t->dir));
	snprintf(t->dir + strlen(t->dir), sizeof(t->dir) - strlen(t->dir), "/%s", r->ctr);
	snprintf(t->cg_rel, sizeof(t->cg_rel), "%s/pods/%s/%s", a->cfg->cgroup_parent, t->uid,
		 r->ctr);
	t->init = ahttp_ctr_init(a, t->cg_rel);
	/* the reason it waits, as the status the agent reported says (the kubelet reads its
	 * status manager's copy: validateContainerLogStatus) */
	for (int l = 0; l < 3 && r->ctr[0] && !t->waiting[0]; l++)
		for (const struct jv *cs =
			 jv_first(jv_path(pod, l == 2	? "status.ephemeralContainerStatuses"
					       : l == 1 ? "status.initContainerStatuses"
							: "status.containerStatuses"));
		     cs; cs = cs->next)
			if (jv_is_str(jv_get(cs, "name"), r->ctr)) {
				const char *w = jv_path_str(cs, "state.waiting.reason");

				snprintf(t->waiting, sizeof(t->waiting), "%s", w ? w : "");
				break;
			}
	if (ctr) {
		ctr_cwd(a, ctr, t->cwd, sizeof(t->cwd));
		t->stdin = jv_get(ctr, "stdin") && jv_get(ctr, "stdin")->type == JV_TRUE;
		t->stdin_once =
		    jv_get(ctr, "stdinOnce") && jv_get(ctr, "stdinOnce")->type == JV_TRUE;
		t->tty = jv_get(ctr, "tty") && jv_get(ctr, "tty")->type == JV_TRUE;
	} else
		snprintf(t->cwd, sizeof(t->cwd), "/");
	kc_obj_put(o);
	jv_doc_free(d);
	return 0;
fail:
	kc_obj_put(o);
	jv_doc_free(d);
	return -1;
}

/* ---- requests ---- */

/* Only the API server's kubelet client may call (the kubelet authorizes it by
 * SubjectAccessReview; the agent knows that one identity). The subresource a refusal names
 * is the kubelet's (pkg/kubelet/server/auth.go, GetRequestAttributes): /metrics is
 * nodes/metrics, everything else here nodes/proxy. Others reach /metrics and /flows through
 * the API server (nodes/proxy), which RBAC authorizes. */
static enum MHD_Result authorize(struct ahttp_req *r, const char *url, bool *ok)
{
	const char *sub =
	    !strncmp(url, "/metrics", 8) && (!url[8] || url[8] == '/') ? "metrics" : "proxy";
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	char user[256];
	int rc;

	*ok = false;
	rc = ci && ci->tls_session ? x509_peer_identity((gnutls_session_t)ci->tls_session, user,
							sizeof(user), NULL, NULL)
				   : -ENOENT;
	if (rc)
		return ahttp_text(r->conn, 401, "Unauthorized\n");
	if (strcmp(user, X509_KUBELET_CLIENT_CN) != 0) {
		log_info(COMP, "%s %s: refused for %s", r->method, url, user);
		return ahttp_text(r->conn, 403,
				  "Forbidden (user=%s, verb=%s, resource=nodes, "
				  "subresource=%s)\n",
				  user, strcmp(r->method, "GET") ? "create" : "get", sub);
	}
	*ok = true;
	return MHD_YES;
}

/* "/<kind>/<ns>/<pod>/<container>" into r; false if it does not split so. */
static bool split_path(const char *url, const char *kind, struct ahttp_req *r)
{
	size_t kl = strlen(kind);
	const char *p = url + kl, *s1, *s2;

	if (strncmp(url, kind, kl) != 0 || *p != '/')
		return false;
	p++;
	s1 = strchr(p, '/');
	if (!s1 || (size_t)(s1 - p) >= sizeof(r->ns) || s1 == p)
		return false;
	s2 = strchr(s1 + 1, '/');
	if (!s2 || (size_t)(s2 - s1 - 1) >= sizeof(r->pod) || s2 == s1 + 1)
		return false;
	if (!s2[1] || strchr(s2 + 1, '/') || strlen(s2 + 1) >= sizeof(r->ctr))
		return false;
	r->url_kind = kind + 1;
	snprintf(r->ns, sizeof(r->ns), "%.*s", (int)(s1 - p), p);
	snprintf(r->pod, sizeof(r->pod), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
	snprintf(r->ctr, sizeof(r->ctr), "%s", s2 + 1);
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct agent *a = cls;
	struct ahttp_req r = {.a = a, .conn = conn, .method = method};
	enum MHD_Result ret;
	bool ok;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = (void *)1; /* the headers: wait for the (empty) body */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* no endpoint takes a body */
		return MHD_YES;
	}
	if (!strcmp(url, "/healthz"))
		return ahttp_text(conn, 200, "ok");
	ret = authorize(&r, url, &ok);
	if (!ok)
		return ret;
	if (split_path(url, "/containerLogs", &r)) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return ahttp_text(conn, 405, "Method Not Allowed\n");
		return agent_logs_serve(&r);
	}
	if (split_path(url, "/exec", &r) || split_path(url, "/attach", &r)) {
		if (strcmp(method, "GET") && strcmp(method, "POST"))
			return ahttp_text(conn, 405, "Method Not Allowed\n");
		return agent_exec_serve(&r);
	}
	if (!strcmp(url, "/metrics") || !strcmp(url, "/flows")) {
		struct tl_exporter *ex = agent_telemetry_exporter(a);

		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return ahttp_text(conn, 405, "Method Not Allowed\n");
		if (!ex)
			return ahttp_text(conn, 503, "telemetry is not running\n");
		return url[1] == 'm' ? tl_http_metrics(ex, conn)
				     : tl_http_flows(ex, conn, ahttp_arg_true(&r, "follow"));
	}
	if (!strncmp(url, "/portForward/", 13)) {
		if (strcmp(method, "GET") && strcmp(method, "POST"))
			return ahttp_text(conn, 405, "Method Not Allowed\n");
		return agent_portforward_serve(&r, url + 13);
	}
	return ahttp_text(conn, 404, "404 page not found\n");
}

/* ---- TLS material ---- */

/* The serving certificate: self-signed, for the node's name and IP (the kubelet's own
 * without --tls-cert-file is too: root/pki/kubelet.crt), made at every start. */
static int serving_cert(struct agent *a, struct agent_http *h)
{
	struct x509_pair k = {0};
	char dir[PATH_MAX], crt[PATH_MAX + 16], key[PATH_MAX + 16];
	const char *ips[] = {a->node_ip, "127.0.0.1", NULL};
	const char *dns[] = {a->cfg->node, "localhost", NULL};
	int rc;

	snprintf(dir, sizeof(dir), "%s/pki", a->cfg->root);
	if ((rc = fs_mkdir_p(dir, 0700, NULL)) != 0)
		return rc;
	snprintf(crt, sizeof(crt), "%s/kubelet.crt", dir);
	snprintf(key, sizeof(key), "%s/kubelet.key", dir);
	rc = x509_pair_make(&k, NULL, X509_SERVER, a->cfg->node, NULL, ips, dns) < 0 ? -EIO : 0;
	if (!rc)
		rc = x509_pair_save(&k, crt, key, &h->cert, &h->key);
	x509_pair_free(&k);
	return rc;
}

/* The cluster CA of the agent's kubeconfig: who signs the callers' certificates. */
static int client_ca(struct agent *a, struct agent_http *h)
{
	struct kc_config k = {0};
	char err[256];

	if (kc_config_load(a->cfg->kubeconfig, &k, err, sizeof(err)) != 0)
		return -EINVAL;
	if (k.ca_data)
		h->ca = strdup(k.ca_data);
	else if (k.ca_file)
		h->ca = x509_read_file(k.ca_file);
	kc_config_free(&k);
	return h->ca ? 0 : -ENOENT;
}

int agent_http_start(struct agent *a)
{
	struct agent_http *h = calloc(1, sizeof(*h));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)a->cfg->port),
				 .sin_addr.s_addr = htonl(INADDR_ANY)};
	int rc;

	if (!h)
		return -ENOMEM;
	a->http = h;
	rc = serving_cert(a, h);
	if (rc) {
		log_error(COMP, "serving certificate under %s/pki: %s", a->cfg->root,
			  strerror(-rc));
		return rc;
	}
	rc = client_ca(a, h);
	if (rc) {
		log_error(COMP, "%s: no certificate-authority to check callers against",
			  a->cfg->kubeconfig);
		return rc;
	}
	h->mhd = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
		MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_HTTPS_MEM_KEY, h->key, MHD_OPTION_HTTPS_MEM_CERT, h->cert,
	    MHD_OPTION_HTTPS_MEM_TRUST, h->ca, MHD_OPTION_HTTPS_PRIORITIES,
	    "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1", MHD_OPTION_CONNECTION_LIMIT, 256u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_EXTERNAL_LOGGER, log_debug_cb, (void *)COMP, MHD_OPTION_END);
	if (!h->mhd) {
		log_error(COMP, "cannot listen on port %d", a->cfg->port);
		return -EADDRINUSE;
	}
	log_info(COMP, "serving HTTPS on port %d (logs, exec, port-forward, metrics, flows)",
		 a->cfg->port);
	return 0;
}

void agent_http_stop(struct agent *a)
{
	struct agent_http *h = a->http;

	if (!h)
		return;
	atomic_store(&h->stopping, true);
	agent_telemetry_shutdown(a); /* /flows followers end */
	/* exec sessions see it within a poll round (200 ms), kill their process and end */
	for (int i = 0; i < 100 && atomic_load(&h->sessions) > 0; i++)
		usleep(50 * 1000);
	/* MHD_stop_daemon alone (see control/api/http/server.c: quiescing a thread pool races
	 * its threads in libmicrohttpd 0.9.75 and aborts) */
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h->cert);
	free(h->key);
	free(h->ca);
	free(h);
	a->http = NULL;
}

int ahttp_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};

			poll(&pf, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
