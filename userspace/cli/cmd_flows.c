/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_flows: `drover flows [--follow] [--pod P] [--namespace N] [--service S] [--http]
 * [-o json] [--node NAME] [--kubeconfig F] [--server URL] [--url URL]`: TCP flows and HTTP requests, one
 * line each as `hubble observe` prints them, from every node's agent through the API server
 * (GET /api/v1/nodes/NODE/proxy/flows, one stream per node: RBAC's nodes/proxy), from one
 * node's (--node), or from an exporter reached directly (--url, `drover telemetry serve`).
 * Without --follow: the recent events the agents hold, oldest first; with it, then each new
 * one as it comes, until SIGINT.
 */
#ifdef HAVE_DROVER_KCLIENT
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "k8s.h"
#include "k8s_jv.h"
#include "kclient.h"

struct flows_opts {
	bool follow, http, json;
	const char *pod, *ns, *service;
};

struct node_stream {
	const struct flows_opts *o;
	struct kclient *kc;
	char path[512];
	char node[256];
	struct k8s_buf line;  /* a line not yet complete */
	struct k8s_buf *keep; /* without --follow: the lines kept to sort */
	pthread_t th;
	bool started;
	int rc;
	struct kc_status st;
};

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: drover flows [options]\n"
		"  -f, --follow          go on printing flows as they happen\n"
		"  --pod [NS/]POD        flows from or to this pod\n"
		"  --namespace NS        flows from or to pods of this namespace\n"
		"  --service [NS/]NAME   flows to this service\n"
		"  --http                HTTP requests only\n"
		"  -o json               one JSON object per line, as the agents serve them\n"
		"  --node NAME           this node's agent only (default: every node's)\n"
		"  --kubeconfig FILE     the API server to ask (default $KUBECONFIG, "
		"~/.kube/config)\n"
		"  --server URL          the API server's address (default: the kubeconfig's)\n"
		"  --url URL             an exporter to ask directly (drover telemetry serve)\n");
}

static bool side_is(const struct jv *ep, const char *ns, const char *pod)
{
	const char *s = jv_path_str(ep, "namespace"), *p = jv_path_str(ep, "pod");

	return (!ns || (s && !strcmp(s, ns))) && (!pod || (p && !strcmp(p, pod)));
}

/* The filters of o on one flow. */
static bool wanted(const struct flows_opts *o, const struct jv *f)
{
	const struct jv *src = jv_get(f, "source"), *dst = jv_get(f, "destination");

	if (o->http && !jv_is_str(jv_get(f, "type"), "http"))
		return false;
	if (o->ns && !side_is(src, o->ns, NULL) && !side_is(dst, o->ns, NULL))
		return false;
	if (o->pod) {
		const char *slash = strchr(o->pod, '/');
		char ns[256];

		snprintf(ns, sizeof(ns), "%.*s", slash ? (int)(slash - o->pod) : 0, o->pod);
		if (!side_is(src, slash ? ns : NULL, slash ? slash + 1 : o->pod) &&
		    !side_is(dst, slash ? ns : NULL, slash ? slash + 1 : o->pod))
			return false;
	}
	if (o->service) {
		/* drv_names1's "namespace/name:port/proto" */
		const char *svc = jv_path_str(dst, "service"), *colon, *slash;
		size_t n = strlen(o->service);

		if (!svc || !(slash = strchr(svc, '/')))
			return false;
		colon = strchr(slash, ':');
		if (strchr(o->service, '/')
			? !(strncmp(svc, o->service, n) == 0 && (svc[n] == ':' || !svc[n]))
			: !((size_t)((colon ? colon : slash + strlen(slash)) - slash - 1) == n &&
			    strncmp(slash + 1, o->service, n) == 0))
			return false;
	}
	return true;
}

static void endpoint_text(const struct jv *ep, char *buf, size_t size)
{
	const char *ns = jv_path_str(ep, "namespace"), *pod = jv_path_str(ep, "pod");
	const char *ip = jv_path_str(ep, "ip");
	int64_t port = 0;

	jv_path_int(ep, "port", &port);
	if (ns && pod)
		snprintf(buf, size, "%s/%s:%lld", ns, pod, (long long)port);
	else
		snprintf(buf, size, "%s:%lld", ip ? ip : "?", (long long)port);
}

/* "2026-12-07T12:00:00.123456Z" as hubble's "Dec  7 12:00:00.123". */
static void time_text(const char *t, char *buf, size_t size)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int y, m, d, hh, mm, ss, us;

	if (!t || sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &y, &m, &d, &hh, &mm, &ss, &us) != 7 ||
	    m < 1 || m > 12) {
		snprintf(buf, size, "%s", t ? t : "?");
		return;
	}
	snprintf(buf, size, "%s %2d %02d:%02d:%02d.%03d", mon[m - 1], d, hh, mm, ss, us / 1000);
}

static void print_flow(const struct flows_opts *o, const char *line, size_t len, const struct jv *f)
{
	const struct jv *dst = jv_get(f, "destination");
	char when[64], src[320], to[320], svc[128] = "";
	int64_t code = 0, dur = 0, sent = 0, recv = 0;

	if (o->json) {
		printf("%.*s\n", (int)len, line);
		return;
	}
	time_text(jv_path_str(f, "time"), when, sizeof(when));
	endpoint_text(jv_get(f, "source"), src, sizeof(src));
	endpoint_text(dst, to, sizeof(to));
	if (jv_path_str(dst, "service"))
		snprintf(svc, sizeof(svc), " (%s)", jv_path_str(dst, "service"));
	printf("%s: %s -> %s%s ", when, src, to, svc);
	if (jv_is_str(jv_get(f, "type"), "http")) {
		jv_path_int(f, "http.code", &code);
		jv_path_int(f, "http.duration_us", &dur);
		printf("http-%s %s %s %lld %.1fms", jv_path_str(f, "reporter"),
		       jv_path_str(f, "http.method"), jv_path_str(f, "http.path"), (long long)code,
		       (double)dur / 1000.0);
	} else {
		const char *state = jv_path_str(f, "tcp.state");

		printf("tcp-%s %s", jv_path_str(f, "reporter"), state ? state : "?");
		if (jv_path(f, "tcp.bytes_sent")) {
			jv_path_int(f, "tcp.duration_us", &dur);
			jv_path_int(f, "tcp.bytes_sent", &sent);
			jv_path_int(f, "tcp.bytes_received", &recv);
			printf(" %.1fms sent %lld B received %lld B", (double)dur / 1000.0,
			       (long long)sent, (long long)recv);
		}
	}
	if (jv_path_str(f, "node"))
		printf(" [%s]", jv_path_str(f, "node"));
	putchar('\n');
}

/* One complete line of a node's stream: printed (--follow) or kept. */
static void on_line(struct node_stream *s, const char *p, size_t n)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *f = d ? jv_parse(d, p, n, NULL) : NULL;

	if (f && wanted(s->o, f)) {
		pthread_mutex_lock(&out_mu);
		if (s->keep) {
			k8s_buf_put(s->keep, p, n);
			k8s_buf_putc(s->keep, '\n');
		} else {
			print_flow(s->o, p, n, f);
			fflush(stdout);
		}
		pthread_mutex_unlock(&out_mu);
	}
	jv_doc_free(d);
}

static bool on_data(void *arg, const char *p, size_t n)
{
	struct node_stream *s = arg;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n') {
			k8s_buf_putc(&s->line, p[i]);
			continue;
		}
		if (s->line.len)
			on_line(s, s->line.p, s->line.len);
		s->line.len = 0;
	}
	return !cli_stopping();
}

static bool on_stop(void *arg)
{
	(void)arg;
	return cli_stopping();
}

static void *stream_main(void *arg)
{
	struct node_stream *s = arg;

	s->rc =
	    kc_get_raw(s->kc, s->path,
		       &(struct kc_stream_cb){.data = on_data, .stop = on_stop, .arg = s}, &s->st);
	return NULL;
}

/* The lines kept, sorted by their time (the first member of each). */
static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_sorted(const struct flows_opts *o, struct k8s_buf *keep)
{
	char **lines = NULL;
	size_t n = 0, cap = 0;

	for (char *p = keep->p, *nl; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = 0;
		if (n == cap) {
			void *q = realloc(lines, (cap = cap ? cap * 2 : 256) * sizeof(*lines));

			if (!q)
				break;
			lines = q;
		}
		lines[n++] = p;
	}
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *f = d ? jv_parse(d, lines[i], strlen(lines[i]), NULL) : NULL;

		if (f)
			print_flow(o, lines[i], strlen(lines[i]), f);
		jv_doc_free(d);
	}
	free(lines);
}

/* The nodes to ask: --node, else every Node. */
static int node_names(struct kclient *kc, const char *node, char ***out, size_t *n)
{
	const struct k8s_kind *k = k8s_kind_find("v1", "Node");
	struct kc_list l = {0};
	struct kc_status st = {0};
	struct jv_doc *d;
	int rc;

	*n = 0;
	*out = calloc(node ? 1 : 1024, sizeof(char *));
	if (!*out)
		return -1;
	if (node) {
		(*out)[(*n)++] = strdup(node);
		return 0;
	}
	rc = kc_list(kc, k, NULL, &(struct kc_list_opts){0}, &l, &st);
	if (rc) {
		fprintf(stderr, "drover flows: list nodes: %s\n", st.message);
		return -1;
	}
	d = jv_doc_new();
	for (size_t i = 0; d && i < l.count && *n < 1024; i++) {
		struct jv *o = kc_obj_parse(l.items[i], d);
		const char *name = o ? jv_path_str(o, "metadata.name") : NULL;

		if (name)
			(*out)[(*n)++] = strdup(name);
	}
	jv_doc_free(d);
	kc_list_free(&l);
	return 0;
}

static struct kclient *url_client(const char *url)
{
	struct kc_config c = {.server = (char *)url, .insecure = true};

	return kclient_http_new(&c);
}

int cmd_flows(int argc, char **argv)
{
	static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
					     {"pod", required_argument, NULL, 'p'},
					     {"namespace", required_argument, NULL, 'n'},
					     {"service", required_argument, NULL, 's'},
					     {"http", no_argument, NULL, 'H'},
					     {"output", required_argument, NULL, 'o'},
					     {"node", required_argument, NULL, 'N'},
					     {"kubeconfig", required_argument, NULL, 'k'},
					     {"url", required_argument, NULL, 'u'},
					     {"server", required_argument, NULL, 'S'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct flows_opts o = {0};
	const char *node = NULL, *kubeconfig = NULL, *url = NULL, *server = NULL;
	struct node_stream *ss = NULL;
	struct k8s_buf keep = {0};
	struct kclient *kc;
	char **nodes = NULL;
	size_t n = 0;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fo:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.follow = true;
			break;
		case 'p':
			o.pod = optarg;
			break;
		case 'n':
			o.ns = optarg;
			break;
		case 's':
			o.service = optarg;
			break;
		case 'H':
			o.http = true;
			break;
		case 'o':
			if (strcmp(optarg, "json") != 0) {
				fprintf(stderr, "drover flows: -o %s: only json\n", optarg);
				return 2;
			}
			o.json = true;
			break;
		case 'N':
			node = optarg;
			break;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'S':
			server = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drover flows: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	kc = url ? url_client(url) : cli_client_at("flows", kubeconfig, server, "drover-flows");
	if (!kc)
		return 1;
	cli_catch_stop();
	if (url) {
		nodes = calloc(1, sizeof(char *));
		if (nodes)
			nodes[n++] = strdup("");
	} else if (node_names(kc, node, &nodes, &n)) {
		rc = 1;
		goto out;
	}
	ss = calloc(n ? n : 1, sizeof(*ss));
	for (size_t i = 0; ss && i < n; i++) {
		ss[i].o = &o;
		ss[i].kc = kc;
		ss[i].keep = o.follow ? NULL : &keep;
		snprintf(ss[i].node, sizeof(ss[i].node), "%s", nodes[i] ? nodes[i] : "");
		if (url)
			snprintf(ss[i].path, sizeof(ss[i].path), "/flows%s",
				 o.follow ? "?follow=true" : "");
		else
			snprintf(ss[i].path, sizeof(ss[i].path), "/api/v1/nodes/%s/proxy/flows%s",
				 ss[i].node, o.follow ? "?follow=true" : "");
		ss[i].started = pthread_create(&ss[i].th, NULL, stream_main, &ss[i]) == 0;
		if (!ss[i].started) {
			ss[i].rc = -1;
			snprintf(ss[i].st.message, sizeof(ss[i].st.message), "no thread");
		}
	}
	for (size_t i = 0; ss && i < n; i++) {
		if (ss[i].started)
			pthread_join(ss[i].th, NULL);
		if (ss[i].rc && !cli_stopping()) {
			fprintf(stderr, "drover flows: %s%s%s\n", ss[i].node,
				ss[i].node[0] ? ": " : "", ss[i].st.message);
			rc = 1;
		}
		k8s_buf_free(&ss[i].line);
	}
	if (!o.follow)
		print_sorted(&o, &keep);
out:
	for (size_t i = 0; i < n; i++)
		free(nodes[i]);
	free(nodes);
	free(ss);
	k8s_buf_free(&keep);
	kclient_free(kc);
	return rc;
}
#endif
