/* SPDX-License-Identifier: Apache-2.0 */
/*
 * healthcheck: kube-proxy's service health server. For every LoadBalancer Service with
 * externalTrafficPolicy Local, its healthCheckNodePort answers any GET on every address of
 * the node with the number of the service's ready endpoints on this node: 200 when there is
 * one or more, 503 when none, so that the load balancer sends traffic only to nodes that
 * can serve it without a second hop (pkg/proxy/healthcheck/service_health.go: its body,
 * status codes and headers). One libmicrohttpd daemon per port, each on its own thread;
 * the proxy's loop opens and closes them on each sync and updates the counts they read.
 */
#include "healthcheck.h"
#include "log.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "healthcheck"

struct hc_inst {
	struct hc_server *srv;
	struct MHD_Daemon *d;
	char ns[64];
	char name[MODEL_NAME_MAX];
	uint16_t port;
	uint32_t endpoints; /* under srv->mu */
	bool failed_logged;
};

struct hc_server {
	pthread_mutex_t mu;
	struct hc_inst **v;
	size_t n, cap;
};

struct hc_server *hc_server_new(void)
{
	struct hc_server *s = calloc(1, sizeof(*s));

	if (s)
		pthread_mutex_init(&s->mu, NULL);
	return s;
}

static void inst_free(struct hc_inst *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	free(h);
}

void hc_server_free(struct hc_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		inst_free(s->v[i]);
	free(s->v);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **req)
{
	struct hc_inst *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	uint32_t count;
	char body[512];
	int len;

	(void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)req;
	pthread_mutex_lock(&h->srv->mu);
	count = h->endpoints;
	pthread_mutex_unlock(&h->srv->mu);
	len = snprintf(body, sizeof(body),
		       "{\n\t\"service\": {\n\t\t\"namespace\": \"%s\",\n\t\t\"name\": \"%s\"\n\t},"
		       "\n\t\"localEndpoints\": %u,\n\t\"serviceProxyHealthy\": true\n}",
		       h->ns, h->name, count);
	r = MHD_create_response_from_buffer((size_t)len, body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, count ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, r);
	MHD_destroy_response(r);
	return ret;
}

static struct hc_inst *find(struct hc_server *s, const struct model_hc *w)
{
	for (size_t i = 0; i < s->n; i++) {
		struct hc_inst *h = s->v[i];

		if (h->port == w->port && !strcmp(h->ns, w->ns) && !strcmp(h->name, w->name))
			return h;
	}
	return NULL;
}

static bool wanted(const struct hc_inst *h, const struct model_hc *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h->port == want[i].port && !strcmp(h->ns, want[i].ns) &&
		    !strcmp(h->name, want[i].name))
			return true;
	return false;
}

/* A listener on the port (every address, as kube-proxy's without --nodeport-addresses);
 * a port that cannot be had is logged once and tried again at the next sync. */
static void open_inst(struct hc_inst *h)
{
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, h->port, NULL,
				NULL, answer, h, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	if (h->d) {
		log_info(COMP, "service %s/%s: health check on port %u", h->ns, h->name, h->port);
		h->failed_logged = false;
	} else if (!h->failed_logged) {
		log_error(COMP, "service %s/%s: cannot listen on health check port %u: %s", h->ns,
			  h->name, h->port, strerror(errno));
		h->failed_logged = true;
	}
}

int hc_server_sync(struct hc_server *s, const struct model_hc *want, size_t n)
{
	size_t kept = 0;

	/* the ones no longer wanted (or on another port) close first: the port may move to
	 * another service */
	for (size_t i = 0; i < s->n; i++) {
		struct hc_inst *h = s->v[i];

		if (wanted(h, want, n)) {
			s->v[kept++] = h;
			continue;
		}
		log_info(COMP, "service %s/%s: health check on port %u closed", h->ns, h->name,
			 h->port);
		inst_free(h);
	}
	s->n = kept;
	for (size_t i = 0; i < n; i++) {
		struct hc_inst *h = find(s, &want[i]);

		if (!h) {
			if (s->n == s->cap) {
				size_t c = s->cap ? s->cap * 2 : 8;
				void *q = realloc(s->v, c * sizeof(*s->v));

				if (!q)
					return -ENOMEM;
				s->v = q;
				s->cap = c;
			}
			h = calloc(1, sizeof(*h));
			if (!h)
				return -ENOMEM;
			h->srv = s;
			snprintf(h->ns, sizeof(h->ns), "%s", want[i].ns);
			snprintf(h->name, sizeof(h->name), "%s", want[i].name);
			h->port = want[i].port;
			s->v[s->n++] = h;
		}
		pthread_mutex_lock(&s->mu);
		h->endpoints = want[i].local_endpoints;
		pthread_mutex_unlock(&s->mu);
		if (!h->d)
			open_inst(h);
	}
	return 0;
}
