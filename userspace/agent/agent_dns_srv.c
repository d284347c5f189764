/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_dns_srv: the cluster DNS of a node (agent_dns.h's core) served on the node's
 * address, port 53, over UDP and TCP (RFC 1035 4.2.2: a two-byte length before each
 * message, several messages per connection). The records come from memory: the Service
 * informer of agent_svcenv.c (indexed by cluster IP for PTR) and an informer on every
 * EndpointSlice (indexed by label, for the endpoints of headless Services).
 *
 * Pods reach it through the kube-dns Service the server makes (10.96.0.10): its
 * EndpointSlice lists every node's address (the server's kubedns controller), so the
 * node's eBPF proxy sends a pod's query to one of the agents.
 *
 * Names that are not the cluster's go to the upstream resolvers (agent_dns_fwd.h): a UDP
 * query on a thread of its own (at most DNS_FWD_INFLIGHT at once; beyond, REFUSED as
 * CoreDNS's max_concurrent), so a slow upstream holds up no other query; a TCP one on its
 * connection's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent_dns.h"
#include "agent_dns_fwd.h"
#include "agent_int.h"
#include "agent_resolv.h"
#include "informer.h"
#include "k8s.h"
#include "k8s_jv.h"

#define DNS_PORT	  53
#define DNS_TCP_CONNS	  32 /* connections served at once; more wait in the backlog */
#define DNS_TCP_TIMEOUT_S 5  /* a connection idle this long is closed (RFC 7766: seconds) */
#define SVC_NAME_LABEL	  "kubernetes.io/service-name"
#define DNS_FWD_INFLIGHT  256	      /* forwarded UDP queries at once */
#define DNS_FWD_STACK	  (256 << 10) /* a forwarding thread's stack */
#define ADDR_INDEX	  "addresses" /* EndpointSlices by endpoint address: PTR records */

struct agent_dns {
	struct agent *a;
	struct kc_informer *eps; /* every EndpointSlice, indexed by label */
	struct dns_zone zone;
	int udp, tcp;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	atomic_int conns;
	struct dns_fwd fwd;
	atomic_int fwds; /* forwarding threads running */
};

/* ---- the records, from the informers ---- */

static void lower_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < size; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] - 'A' + 'a' : src[i]);
	dst[i] = 0;
}

static void port_fill(struct dns_port *p, const struct jv *v)
{
	int64_t port = 0;

	lower_copy(p->name, sizeof(p->name), jv_path_str(v, "name"));
	lower_copy(p->proto, sizeof(p->proto), jv_path_str(v, "protocol") ?: "TCP");
	jv_path_int(v, "port", &port);
	p->port = (uint16_t)port;
}

/* A ready endpoint with an IPv4 address (an IPv4 slice's) into *e. */
static bool ep_read(const struct jv *v, struct dns_ep *e)
{
	const struct jv *ready = jv_path(v, "conditions.ready");
	const struct jv *a0 = jv_first(jv_get(v, "addresses"));
	const char *ip = a0 && a0->type == JV_STRING ? a0->s : NULL;

	/* a nil ready is ready (discovery/v1 EndpointConditions) */
	if ((ready && ready->type == JV_FALSE) || !ip || inet_pton(AF_INET, ip, &e->ip) != 1)
		return false;
	lower_copy(e->hostname, sizeof(e->hostname), jv_path_str(v, "hostname"));
	return true;
}

/* A headless Service's ready endpoints and ports, from its EndpointSlices. */
static void slices_fill(struct agent_dns *dns, const char *ns, const char *name, struct dns_svc *s,
			struct jv_doc *d)
{
	char label[DNS_LABEL_MAX + sizeof(SVC_NAME_LABEL) + 2];
	struct kc_obj **objs = NULL;
	size_t n = 0;

	snprintf(label, sizeof(label), "%s=%s", SVC_NAME_LABEL, name);
	if (kc_informer_list(dns->eps, "labels", label, &objs, &n))
		return;
	s->n_ports = 0; /* a headless Service's SRV ports are its endpoints' */
	for (size_t i = 0; i < n; i++) {
		const struct jv *es = kc_obj_parse(objs[i], d), *v;

		if (!es || !jv_is_str(jv_path(es, "metadata.namespace"), ns) ||
		    !jv_is_str(jv_get(es, "addressType"), "IPv4"))
			continue;
		for (v = jv_first(jv_get(es, "ports")); v && s->n_ports < DNS_MAX_PORTS && i == 0;
		     v = v->next)
			port_fill(&s->ports[s->n_ports++], v);
		for (v = jv_first(jv_get(es, "endpoints")); v && s->n_eps < DNS_MAX_EPS;
		     v = v->next)
			if (ep_read(v, &s->eps[s->n_eps]))
				s->n_eps++;
	}
	kc_objs_free(objs, n);
}

static int dns_service(void *arg, const char *ns, const char *name, struct dns_svc *s)
{
	struct agent_dns *dns = arg;
	struct kc_obj **objs = NULL, *o;
	const struct jv *svc, *v;
	struct jv_doc *d;
	const char *ip, *ext;
	size_t n = 0;

	if (!name) {
		if (kc_informer_list(dns->a->svc_inf, "namespace", ns, &objs, &n))
			return -ENOENT;
		kc_objs_free(objs, n);
		return n ? 0 : -ENOENT;
	}
	if (!(o = kc_informer_get(dns->a->svc_inf, ns, name)))
		return -ENOENT;
	d = jv_doc_new();
	svc = d ? kc_obj_parse(o, d) : NULL;
	kc_obj_put(o);
	if (!svc) {
		jv_doc_free(d);
		return -ENOENT;
	}
	ip = jv_path_str(svc, "spec.clusterIP");
	ext = jv_path_str(svc, "spec.externalName");
	for (v = jv_first(jv_path(svc, "spec.ports")); v && s->n_ports < DNS_MAX_PORTS; v = v->next)
		port_fill(&s->ports[s->n_ports++], v);
	if (jv_is_str(jv_path(svc, "spec.type"), "ExternalName") && ext && ext[0]) {
		lower_copy(s->external_name, sizeof(s->external_name), ext);
		if (s->external_name[strlen(s->external_name) - 1] == '.')
			s->external_name[strlen(s->external_name) - 1] = 0;
	} else if (ip && !strcmp(ip, "None")) {
		s->headless = true;
		slices_fill(dns, ns, name, s, d);
	} else if (!ip || inet_pton(AF_INET, ip, &s->cluster_ip) != 1) {
		jv_doc_free(d);
		return -ENOENT; /* no IPv4 cluster IP (yet): no records */
	}
	jv_doc_free(d);
	return 0;
}

static int dns_service_by_ip(void *arg, uint32_t ip, char *ns, char *name)
{
	struct agent_dns *dns = arg;
	struct kc_obj **objs = NULL;
	char text[INET_ADDRSTRLEN], key[2 * DNS_LABEL_MAX + 2], *kns, *kname;
	size_t n = 0;
	int rc = -ENOENT;

	inet_ntop(AF_INET, &ip, text, sizeof(text));
	if (kc_informer_list(dns->a->svc_inf, AGENT_SVC_IP_INDEX, text, &objs, &n))
		return -ENOENT;
	if (n) {
		struct jv_doc *d = jv_doc_new();
		const struct jv *svc = d ? kc_obj_parse(objs[0], d) : NULL;

		if (svc && kc_key_of(svc, key, sizeof(key))) {
			kc_key_split(key, &kns, &kname);
			lower_copy(ns, DNS_LABEL_MAX + 1, kns);
			lower_copy(name, DNS_LABEL_MAX + 1, kname);
			rc = 0;
		}
		jv_doc_free(d);
	}
	kc_objs_free(objs, n);
	return rc;
}

/* Each endpoint's address, for PTR records. */
static void index_addresses(const struct jv *es, void (*emit)(void *, const char *), void *ctx)
{
	for (const struct jv *v = jv_first(jv_get(es, "endpoints")); v; v = v->next) {
		const struct jv *a0 = jv_first(jv_get(v, "addresses"));

		if (a0 && a0->type == JV_STRING)
			emit(ctx, a0->s);
	}
}

static size_t dns_endpoints_by_ip(void *arg, uint32_t ip, struct dns_ep_ref *out, size_t max)
{
	struct agent_dns *dns = arg;
	struct kc_obj **objs = NULL;
	char text[INET_ADDRSTRLEN];
	struct jv_doc *d;
	size_t n = 0, found = 0;

	inet_ntop(AF_INET, &ip, text, sizeof(text));
	if (kc_informer_list(dns->eps, ADDR_INDEX, text, &objs, &n))
		return 0;
	d = jv_doc_new();
	for (size_t i = 0; d && i < n && found < max; i++) {
		const struct jv *es = kc_obj_parse(objs[i], d), *v;
		/* (jv_get: the label's key has dots, which jv_path would split at) */
		const struct jv *svc = jv_get(jv_path(es, "metadata.labels"), SVC_NAME_LABEL);
		const char *ns = jv_path_str(es, "metadata.namespace");

		if (!es || !svc || svc->type != JV_STRING || !ns ||
		    !jv_is_str(jv_get(es, "addressType"), "IPv4"))
			continue;
		for (v = jv_first(jv_get(es, "endpoints")); v && found < max; v = v->next) {
			struct dns_ep e;

			if (!ep_read(v, &e) || e.ip != ip)
				continue;
			lower_copy(out[found].ns, sizeof(out[found].ns), ns);
			lower_copy(out[found].svc, sizeof(out[found].svc), svc->s);
			snprintf(out[found].label, sizeof(out[found].label), "%s", e.hostname);
			found++;
		}
	}
	jv_doc_free(d);
	kc_objs_free(objs, n);
	return found;
}

/* ---- the sockets ---- */

static int listen_on(const char *ip, int type)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DNS_PORT)};
	int fd, one = 1;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct fwd_job {
	struct agent_dns *dns;
	struct sockaddr_storage from;
	socklen_t flen;
	size_t qlen;
	uint8_t q[];
};

static void *forward_job(void *arg)
{
	struct fwd_job *j = arg;
	uint8_t *out = malloc(DNS_UDP_MAX);
	size_t len = out ? dns_forward(&j->dns->fwd, j->q, j->qlen, false, out, DNS_UDP_MAX) : 0;

	if (len && !atomic_load(&j->dns->stop))
		sendto(j->dns->udp, out, len, MSG_DONTWAIT, (struct sockaddr *)&j->from, j->flen);
	free(out);
	atomic_fetch_sub(&j->dns->fwds, 1);
	free(j);
	return NULL;
}

/* A UDP query for the upstreams, on a thread of its own: 0 (answered there), or the length
 * of the answer to send now in out (REFUSED over the limit, SERVFAIL without a thread). */
static size_t forward_udp(struct agent_dns *dns, const uint8_t *q, size_t qlen,
			  const struct sockaddr_storage *from, socklen_t flen, uint8_t *out)
{
	struct fwd_job *j;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (atomic_fetch_add(&dns->fwds, 1) >= DNS_FWD_INFLIGHT) {
		atomic_fetch_sub(&dns->fwds, 1);
		return dns_answer_rcode(q, qlen, DNS_R_REFUSED, out, DNS_UDP_MAX);
	}
	j = malloc(sizeof(*j) + qlen);
	if (!j) {
		atomic_fetch_sub(&dns->fwds, 1);
		return dns_answer_rcode(q, qlen, DNS_R_SERVFAIL, out, DNS_UDP_MAX);
	}
	*j = (struct fwd_job){.dns = dns, .from = *from, .flen = flen, .qlen = qlen};
	memcpy(j->q, q, qlen);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, DNS_FWD_STACK);
	rc = pthread_create(&t, &attr, forward_job, j);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_fetch_sub(&dns->fwds, 1);
		free(j);
		return dns_answer_rcode(q, qlen, DNS_R_SERVFAIL, out, DNS_UDP_MAX);
	}
	return 0;
}

static void serve_udp(struct agent_dns *dns)
{
	uint8_t q[DNS_UDP_MAX], out[DNS_UDP_MAX];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(dns->udp, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	size_t len;

	if (n <= 0)
		return;
	len = dns_respond(&dns->zone, q, (size_t)n, false, out, sizeof(out));
	if (len == DNS_FORWARD)
		len = forward_udp(dns, q, (size_t)n, &from, flen, out);
	if (len)
		sendto(dns->udp, out, len, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

struct tcp_conn {
	struct agent_dns *dns;
	int fd;
};

/* One connection: messages until the client closes or idles (a thread of its own). */
static void *serve_tcp(void *arg)
{
	struct tcp_conn *c = arg;
	uint8_t *q = malloc(UINT16_MAX), *out = malloc(UINT16_MAX + 2);
	uint8_t lenb[2];

	while (q && out && !atomic_load(&c->dns->stop) && read_full(c->fd, lenb, 2)) {
		size_t qlen = (size_t)lenb[0] << 8 | lenb[1], len;

		if (!read_full(c->fd, q, qlen))
			break;
		len = dns_respond(&c->dns->zone, q, qlen, true, out + 2, UINT16_MAX);
		if (len == DNS_FORWARD)
			len = dns_forward(&c->dns->fwd, q, qlen, true, out + 2, UINT16_MAX);
		if (!len)
			break;
		out[0] = (uint8_t)(len >> 8);
		out[1] = (uint8_t)len;
		if (send(c->fd, out, len + 2, MSG_NOSIGNAL) != (ssize_t)(len + 2))
			break;
	}
	free(q);
	free(out);
	close(c->fd);
	atomic_fetch_sub(&c->dns->conns, 1);
	free(c);
	return NULL;
}

static void accept_tcp(struct agent_dns *dns)
{
	struct timeval tv = {.tv_sec = DNS_TCP_TIMEOUT_S};
	struct tcp_conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int fd = accept4(dns->tcp, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	/* blocking with timeouts: an idle or slow client costs its own thread only */
	if (atomic_load(&dns->conns) >= DNS_TCP_CONNS || fcntl(fd, F_SETFL, 0) ||
	    !(c = malloc(sizeof(*c)))) {
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->dns = dns;
	c->fd = fd;
	atomic_fetch_add(&dns->conns, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, serve_tcp, c)) {
		atomic_fetch_sub(&dns->conns, 1);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *dns_loop(void *arg)
{
	struct agent_dns *dns = arg;
	struct pollfd p[2] = {{.fd = dns->udp, .events = POLLIN},
			      {.fd = dns->tcp, .events = POLLIN}};

	while (!atomic_load(&dns->stop)) {
		if (poll(p, 2, 200) <= 0)
			continue;
		if (p[0].revents & POLLIN)
			serve_udp(dns);
		if (p[1].revents & POLLIN)
			accept_tcp(dns);
	}
	return NULL;
}

/* The upstreams: --dns-upstream, or the node's resolv.conf; never the agent itself. */
static int fwd_setup(struct agent *a, struct dns_fwd *f)
{
	const struct agent_config *c = a->cfg;
	char *conf = c->n_dns_upstreams ? NULL : resolv_host_read(), err[256] = "", list[256] = "";
	uint32_t self[2];
	size_t n_self = 0, off = 0;
	int rc;

	if (inet_pton(AF_INET, a->node_ip, &self[n_self]) == 1)
		n_self++;
	if (c->cluster_dns && inet_pton(AF_INET, c->cluster_dns, &self[n_self]) == 1)
		n_self++;
	rc = dns_fwd_config(f, (const char *const *)c->dns_upstreams, c->n_dns_upstreams, conf,
			    self, n_self, err, sizeof(err));
	free(conf);
	if (rc) {
		log_error(AGENT_COMP, "cluster DNS: %s", err);
		return rc;
	}
	for (size_t i = 0; i < f->n && off < sizeof(list); i++) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &f->up[i].sin_addr, ip, sizeof(ip));
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s:%u", i ? " " : "", ip,
					ntohs(f->up[i].sin_port));
	}
	if (f->skipped)
		log_warn(AGENT_COMP,
			 "cluster DNS: %zu upstream(s) skipped: the agent's own address (%s or %s)",
			 f->skipped, a->node_ip, c->cluster_dns);
	if (f->n)
		log_info(AGENT_COMP, "cluster DNS: other names forwarded to %s", list);
	else
		log_info(AGENT_COMP, "cluster DNS: no upstream%s: other names are REFUSED",
			 c->n_dns_upstreams ? " (--dns-upstream none)" : " in /etc/resolv.conf");
	return 0;
}

int agent_dns_start(struct agent *a)
{
	const struct k8s_kind *k = k8s_kind_find("discovery.k8s.io/v1", "EndpointSlice");
	struct agent_dns *dns;
	int rc;

	if (a->cfg->no_dns)
		return 0;
	if (!k || !a->svc_inf)
		return -ENOENT;
	dns = calloc(1, sizeof(*dns));
	if (!dns)
		return -ENOMEM;
	a->dns = dns;
	dns->a = a;
	dns->udp = dns->tcp = -1;
	if ((rc = fwd_setup(a, &dns->fwd)))
		return rc;
	dns->fwd.stop = &dns->stop;
	dns->zone = (struct dns_zone){.domain = a->cfg->cluster_domain,
				      .src = {.service = dns_service,
					      .service_by_ip = dns_service_by_ip,
					      .endpoints_by_ip = dns_endpoints_by_ip,
					      .arg = dns},
				      .forward = dns->fwd.n > 0};
	dns->eps = kc_informer_new(a->kc, &(struct kc_informer_opts){.kind = k});
	if (!dns->eps)
		return -ENOMEM;
	if ((rc = kc_informer_add_index(dns->eps, "labels", kc_index_labels)) ||
	    (rc = kc_informer_add_index(dns->eps, ADDR_INDEX, index_addresses)) ||
	    (rc = kc_informer_start(dns->eps)))
		return rc;
	dns->udp = listen_on(a->node_ip, SOCK_DGRAM);
	if (dns->udp < 0)
		return dns->udp;
	dns->tcp = listen_on(a->node_ip, SOCK_STREAM);
	if (dns->tcp < 0)
		return dns->tcp;
	rc = -pthread_create(&dns->thread, NULL, dns_loop, dns);
	if (rc)
		return rc;
	dns->running = true;
	log_info(AGENT_COMP, "cluster DNS for %s on %s:%d (udp, tcp)", a->cfg->cluster_domain,
		 a->node_ip, DNS_PORT);
	return 0;
}

void agent_dns_stop(struct agent *a)
{
	struct agent_dns *dns = a->dns;

	if (!dns)
		return;
	atomic_store(&dns->stop, true);
	if (dns->running)
		pthread_join(dns->thread, NULL);
	/* connection threads see stop at their next message or time out; they do not touch
	 * the informers after their answer, and the sockets close here */
	while (atomic_load(&dns->conns) > 0 || atomic_load(&dns->fwds) > 0)
		usleep(10000);
	if (dns->udp >= 0)
		close(dns->udp);
	if (dns->tcp >= 0)
		close(dns->tcp);
	kc_informer_free(dns->eps);
	free(dns);
	a->dns = NULL;
}
